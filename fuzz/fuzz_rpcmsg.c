/* libFuzzer harness for the RPC message layer: everything a server or client
 * parses straight off the wire before any generated code runs.
 *
 * The first input byte picks the target, the rest is its input:
 *   0  call header (RFC 5531 §9), then the AUTH_SYS body when the credential
 *      says AUTH_SYS; a decoded header and body must re-encode to the same bytes
 *   1  reply header; accepted/denied replies must re-encode to the same bytes
 *   2  record marking (§11): the same bytes fed in random-sized pieces must give
 *      the same records (or the same error) as fed all at once, and nothing
 *      beyond the maximum record is ever buffered
 *   3  universal addresses from a binder (far_bind_uaddr_to_addr): pure
 *      parsing, no name resolution; an accepted address must round-trip
 *   4  a FAR_CTX credential body (far__ctx_cred_decode, src/msg/ctx.c): what
 *      it accepts stays within its bounds and points into the body
 *
 * Any mismatch aborts: that is a bug, not bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "farcall/bind.h"
#include "msg/msg.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_rpcmsg: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void call_header(const uint8_t *p, size_t n)
{
    far_xdr_dec d;
    far_xdr_dec_init(&d, p, n, NULL, 0);
    far__call_hdr h;
    if (far__call_hdr_decode(&d, &h) != FAR_OK)
        return;
    CHECK(h.cred_len <= FAR__MAX_AUTH_BYTES && h.verf_len <= FAR__MAX_AUTH_BYTES);
    size_t used = far_xdr_dec_pos(&d);
    CHECK(used <= n);
    if (h.cred_flavor == FAR_AUTH_SYS) {
        far_auth_sys a;
        if (far__auth_sys_decode(h.cred_body, h.cred_len, &a) == FAR_OK) {
            CHECK(strlen(a.machinename) <= FAR_AUTH_SYS_MAX_MACHINE);
            CHECK(a.ngids <= FAR_AUTH_SYS_MAX_GIDS);
            uint8_t body[FAR__MAX_AUTH_BYTES + 64];
            far_xdr_enc e;
            far_xdr_enc_init(&e, body, sizeof body);
            CHECK(far__auth_sys_encode(&e, &a));
            CHECK(far_xdr_enc_len(&e) == h.cred_len);
            CHECK(memcmp(body, h.cred_body, h.cred_len) == 0);
        }
    }
    /* The encoder writes RPC version 2 and an AUTH_NONE verifier; compare when
     * the input has them (the decoder accepts other versions so that a server
     * can answer RPC_MISMATCH). */
    if (h.rpcvers == 2 && h.verf_flavor == FAR_AUTH_NONE && h.verf_len == 0) {
        uint8_t out[FAR__MAX_AUTH_BYTES + 128];
        far_xdr_enc e;
        far_xdr_enc_init(&e, out, sizeof out);
        CHECK(far__call_hdr_encode(&e, h.xid, h.prog, h.vers, h.proc, h.cred_flavor, h.cred_body,
                                   h.cred_len));
        CHECK(far_xdr_enc_len(&e) == used);
        CHECK(memcmp(out, p, used) == 0);
    }
}

static void reply_header(const uint8_t *p, size_t n)
{
    far_xdr_dec d;
    far_xdr_dec_init(&d, p, n, NULL, 0);
    far__reply_hdr h;
    if (far__reply_hdr_decode(&d, &h) != FAR_OK)
        return;
    far_err e = far__reply_err(&h);
    CHECK(far_strerror(e) != NULL);
    size_t used = far_xdr_dec_pos(&d);
    CHECK(used <= n);
    uint8_t out[128];
    far_xdr_enc enc;
    far_xdr_enc_init(&enc, out, sizeof out);
    bool ok;
    if (h.reply_stat == FAR__MSG_ACCEPTED) {
        /* The encoder writes an AUTH_NONE verifier: compare only then. */
        if (used < 20 || far_xdr_load_u32(p + 12) != FAR_AUTH_NONE || far_xdr_load_u32(p + 16))
            return;
        ok = far__reply_accepted_encode(&enc, h.xid, h.stat, h.low, h.high);
    } else {
        uint32_t a = h.stat == FAR__REJ_RPC_MISMATCH ? h.low : h.auth_stat;
        ok = far__reply_denied_encode(&enc, h.xid, h.stat, a, h.high);
    }
    CHECK(ok);
    CHECK(far_xdr_enc_len(&enc) == used);
    CHECK(memcmp(out, p, used) == 0);
}

/* Feeds `n` bytes into a reader in pieces whose sizes come from `sizes`, and
 * writes a digest of the records found (lengths and bytes) into out.  Returns
 * the error (FAR_OK if the input simply ended). */
enum { MAX_RECORD = 4096, DIGEST = 1 << 16 };
typedef struct digest {
    uint8_t buf[DIGEST];
    size_t len;
    size_t records;
} digest;

static void digest_add(digest *g, const uint8_t *p, size_t n)
{
    uint8_t hdr[4];
    far_xdr_store_u32(hdr, (uint32_t)n);
    for (size_t i = 0; i < 4 && g->len < DIGEST; i++)
        g->buf[g->len++] = hdr[i];
    size_t k = n < DIGEST - g->len ? n : DIGEST - g->len;
    memcpy(g->buf + g->len, p, k);
    g->len += k;
    g->records++;
}

static far_err feed(const uint8_t *p, size_t n, const uint8_t *sizes, size_t nsizes, digest *g)
{
    far__recrd r;
    far__recrd_init(&r, MAX_RECORD, 16);
    far_err err = FAR_OK;
    size_t off = 0, si = 0;
    while (off < n && err == FAR_OK) {
        uint8_t *room;
        size_t space;
        CHECK(far__recrd_room(&r, &room, &space) == FAR_OK);
        CHECK(space > 0);
        /* nothing beyond the maximum (plus a header and slack) is buffered */
        CHECK(r.cap <= MAX_RECORD + 8 || r.cap <= 16);
        size_t want = nsizes ? (size_t)sizes[si++ % nsizes] + 1 : n - off;
        if (want > space)
            want = space;
        if (want > n - off)
            want = n - off;
        memcpy(room, p + off, want);
        far__recrd_commit(&r, want);
        off += want;
        for (;;) {
            uint8_t *rec;
            size_t len;
            int rc = far__recrd_next(&r, &rec, &len, &err);
            if (rc <= 0)
                break;
            CHECK(len > 0 && len <= MAX_RECORD);
            digest_add(g, rec, len);
        }
    }
    far__recrd_fini(&r);
    return err;
}

/* As feed, with the record reader's direct spans (far__recrd_direct, as
 * the client receives a bulk chunk into its sink): a peek limit, and of
 * every record of 16 bytes or more in one fragment a range the sizes pick
 * received outside the buffer (or none: read as usual).  Each record put
 * together again (its body before the span, the span, the rest) must be
 * what the plain reader returned, and so must the error. */
static far_err feed_spans(const uint8_t *p, size_t n, const uint8_t *sizes, size_t nsizes,
                          digest *g)
{
    static uint8_t dst[MAX_RECORD], whole[MAX_RECORD];
    far__recrd r;
    far__recrd_init(&r, MAX_RECORD, 16);
    r.span_min = 16;
    r.peek = nsizes ? sizes[0] % 32 : 0;
    far_err err = FAR_OK;
    size_t off = 0, si = 0;
    uint64_t spanned = 0, copied = 0;
    while (off < n && err == FAR_OK) {
        uint8_t *room, *sd;
        size_t space;
        CHECK(far__recrd_room(&r, &room, &space) == FAR_OK);
        CHECK(space > 0);
        CHECK(r.cap <= MAX_RECORD + 8 || r.cap <= 16);
        size_t dn = far__recrd_span(&r, &sd);
        size_t want = nsizes ? (size_t)sizes[si++ % nsizes] + 1 : n - off;
        if (want > dn + space)
            want = dn + space;
        if (want > n - off)
            want = n - off;
        size_t d = want < dn ? want : dn;
        if (d)
            memcpy(sd, p + off, d);
        far__recrd_span_commit(&r, d);
        memcpy(room, p + off + d, want - d);
        far__recrd_commit(&r, want - d);
        off += want;
        for (;;) {
            uint8_t *rec;
            size_t len;
            int rc = far__recrd_next(&r, &rec, &len, &err);
            if (rc < 0)
                break;
            if (rc == 0) {
                const uint8_t *hp;
                size_t have, left;
                if (!far__recrd_partial(&r, &hp, &have, &left))
                    break;
                CHECK(have >= r.peek && have + left >= 16);
                if (nsizes && sizes[(si + 2) % nsizes] % 4 == 0) {
                    far__recrd_looked(&r); /* (read as usual) */
                    break;
                }
                size_t at = nsizes ? sizes[si % nsizes] % (have + 1) : 0;
                size_t most = have - at + left;
                size_t k = nsizes ? (size_t)sizes[(si + 1) % nsizes] * most / 255 : most;
                CHECK(!far__recrd_direct(&r, at, dst, most + 1));
                CHECK(far__recrd_direct(&r, at, dst, k));
                copied += have - at < k ? have - at : k;
                spanned += k;
                break;
            }
            if (!r.got_span) {
                CHECK(len > 0 && len <= MAX_RECORD);
                digest_add(g, rec, len);
                continue;
            }
            size_t at = r.got_span_at, k = r.got_span_len;
            CHECK(at <= len && len + k <= MAX_RECORD);
            memcpy(whole, rec, at);
            memcpy(whole + at, dst, k);
            memcpy(whole + at + k, rec + at, len - at);
            digest_add(g, whole, len + k);
        }
    }
    CHECK(r.direct + copied <= spanned);
    far__recrd_fini(&r);
    return err;
}

static void records(const uint8_t *p, size_t n)
{
    if (n < 1)
        return;
    /* First byte: how many piece sizes follow (taken from the end). */
    size_t nsizes = p[0] % 16;
    p++, n--;
    if (nsizes > n)
        nsizes = n;
    const uint8_t *sizes = p + n - nsizes;
    n -= nsizes;
    static digest whole, pieces, spans;
    memset(&whole, 0, sizeof whole);
    memset(&pieces, 0, sizeof pieces);
    memset(&spans, 0, sizeof spans);
    far_err e1 = feed(p, n, NULL, 0, &whole);
    far_err e2 = feed(p, n, sizes, nsizes, &pieces);
    far_err e3 = feed_spans(p, n, sizes, nsizes, &spans);
    CHECK(e1 == e2 && e1 == e3);
    CHECK(whole.records == pieces.records && whole.records == spans.records);
    CHECK(whole.len == pieces.len && memcmp(whole.buf, pieces.buf, whole.len) == 0);
    CHECK(whole.len == spans.len && memcmp(whole.buf, spans.buf, whole.len) == 0);
}

static void uaddr(const uint8_t *p, size_t n)
{
    /* "netid\0uaddr" */
    char in[256];
    if (n >= sizeof in)
        n = sizeof in - 1;
    memcpy(in, p, n);
    in[n] = '\0';
    const char *netid = in;
    size_t nl = strlen(in);
    const char *ua = nl < n ? in + nl + 1 : "";
    char addr[FAR_BIND_MAX_ADDR];
    if (far_bind_uaddr_to_addr(netid, ua, addr, sizeof addr) != FAR_OK)
        return;
    CHECK(strlen(addr) < sizeof addr);
    /* Only literal addresses come back, so the reverse needs no resolver. */
    if (strncmp(addr, "unix:", 5) == 0)
        return;
    char netid2[16], ua2[FAR_BIND_MAX_ADDR];
    CHECK(far_bind_addr_to_uaddr(addr, netid2, sizeof netid2, ua2, sizeof ua2) == FAR_OK);
    char addr2[FAR_BIND_MAX_ADDR];
    CHECK(far_bind_uaddr_to_addr(netid2, ua2, addr2, sizeof addr2) == FAR_OK);
    CHECK(strcmp(addr, addr2) == 0);
}

static bool inside(const uint8_t *q, uint32_t qn, const uint8_t *p, size_t n)
{
    return qn == 0 || (q >= p && qn <= n && (size_t)(q - p) <= n - qn);
}

static void ctx_cred(const uint8_t *p, size_t n)
{
    if (n > FAR__MAX_AUTH_BYTES)
        n = FAR__MAX_AUTH_BYTES; /* the header decoder never passes more */
    far__ctx_cred c;
    if (far__ctx_cred_decode(p, (uint32_t)n, &c) != FAR_OK)
        return;
    CHECK(c.proc == FAR__CTX_INIT || c.proc == FAR__CTX_DATA || c.proc == FAR__CTX_DESTROY ||
          c.proc == FAR__CTX_CONTINUE_INIT);
    CHECK(c.owner_len <= FAR__CTX_MAX_OWNER && inside(c.owner, c.owner_len, p, n));
    CHECK(c.handle_len <= FAR__CTX_MAX_HANDLE && c.key_len <= FAR__CTX_MAX_KEY);
    CHECK(c.inner_len <= FAR__CTX_MAX_INNER && inside(c.inner, c.inner_len, p, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0:
        call_header(p, n);
        break;
    case 1:
        reply_header(p, n);
        break;
    case 2:
        records(p, n);
        break;
    case 3:
        uaddr(p, n);
        break;
    case 4:
        ctx_cred(p, n);
        break;
    }
    return 0;
}
