/* Client: FAR_CTX (src/msg/far_ctx.x) -- the probe each new connection
 * starts with, and what its answer makes of the connection.
 *
 * The probe is an INIT call to the NULL procedure, made on the fresh socket
 * by the thread that connected it, before any call can use it (the client
 * is still "connecting"): it carries this client's owner and the process's
 * boot epoch.  A farcall server answers SUCCESS with a FAR_CTX verifier
 * holding a context handle and its own boot epoch; a classic server denies
 * the unknown flavor (AUTH_ERROR), or answers with a verifier of its own:
 * either way it is classic, and the client remembers that for the address
 * (the probe is not paid again on that client).  A probe with no answer
 * within PROBE_NS (or the deadline) leaves the connection classic, and the
 * next connection probes again.  A stream connection that fails under the
 * probe (reset, closed) is made again (conn.c): once with the probe, then
 * once more without it -- a peer that hangs up on an unknown flavor is
 * spoken to classic rather than not at all.
 *
 * The program probed is FAR_REFLECT's (far_reflect.x), which every farcall
 * server knows; a server answers INIT for any program, and a classic one
 * looks at the flavor before the program (libtirpc's svc_getreq, the
 * kernel's svc_process), so the choice does not matter to it. */
#include "clnt/clnt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>

#define PROBE_PROG      0x20fa0b1eu   /* FAR_REFLECT_PROG */
#define PROBE_NS        2000000000ull /* a server silent this long is taken as classic */
#define PROBE_MAX_REPLY 512           /* an INIT reply is ~40 bytes (a handshake's ~110) */

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* 1: fd is readable; 0: `until` came first; -1: an error. */
static int wait_readable(int fd, uint64_t until)
{
    for (;;) {
        uint64_t now = far__now_ns();
        if (now >= until)
            return 0;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, (int)((until - now + 999999) / 1000000));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -1;
        if (pr > 0)
            return 1;
    }
}

/* A handshake in progress (security levels): the Noise state and what the
 * session will be. */
typedef struct sec_hs {
    far__noise_hs *hs;
    uint32_t suite;
} sec_hs;

/* What a reply to the probe says. */
static far__probe_res judge(far_client *c, const uint8_t *p, size_t n, uint32_t xid,
                            uint64_t *handle, uint64_t *boot, sec_hs *sh, far__sec_session **sess)
{
    far_xdr_dec d;
    far_xdr_dec_init(&d, p, n, NULL, 0);
    far__reply_hdr h;
    if (far__reply_hdr_decode(&d, &h) != FAR_OK)
        return FAR__PROBE_NONE;
    if (h.xid == 0 && h.reply_stat == FAR__MSG_ACCEPTED && h.stat == FAR__ACC_SYSTEM_ERR)
        return FAR__PROBE_REFUSED; /* a farcall server at max_conns (reply.c) */
    if (h.xid != xid)
        return FAR__PROBE_NONE;
    uint8_t hb[FAR__CTX_MAX_HANDLE];
    uint32_t hl = 0;
    if (sh && h.reply_stat == FAR__MSG_DENIED && h.stat == FAR__REJ_AUTH_ERROR &&
        (h.auth_stat == FAR_AUTH_TOOWEAK || h.auth_stat == FAR_AUTH_RPCSEC_GSS_CREDPROBLEM)) {
        /* (classic servers deny an unknown flavor REJECTEDCRED or BADCRED) */
        c->sec_stat = (int)h.auth_stat;
        return FAR__PROBE_SEC_DENIED;
    }
    if (h.reply_stat == FAR__MSG_ACCEPTED && h.stat == FAR__ACC_SUCCESS &&
        far__ctx_verf_decode(&h, boot, hb, &hl) == FAR_OK && hl == 8) {
        *handle = far_xdr_load_u64(hb);
        if (!sh)
            return FAR__PROBE_CTX;
        /* the handshake's second message, as the results */
        uint8_t tok[FAR__SEC_TOKEN_MAX];
        uint32_t tl = 0;
        if (!far_xdr_get_opaque_into(&d, tok, &tl, sizeof tok) || !far_xdr_dec_done(&d)) {
            far__log_debug("%s: FAR_CTX probe: a farcall server that did no handshake",
                           c->addr.text);
            return FAR__PROBE_SEC_FAILED;
        }
        far_err rc =
            far__sec_client_finish(sh->hs, tok, tl, c->sec_level, sh->suite, *handle, *boot, sess);
        sh->hs = NULL; /* (freed) */
        return rc == FAR_OK ? FAR__PROBE_CTX : FAR__PROBE_SEC_FAILED;
    }
    return FAR__PROBE_CLASSIC;
}

far__probe_res far__ctx_probe(far_client *c, int fd, uint64_t deadline, uint64_t *handle,
                              uint64_t *boot, far__sec_session **sess)
{
    bool stream = c->addr.t != FAR__UDP;
    uint8_t buf[512];
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, sizeof buf);
    uint32_t xid = (uint32_t)atomic_fetch_add(&c->next_id, 1);
    if (!xid)
        xid = (uint32_t)atomic_fetch_add(&c->next_id, 1);
    if ((stream && !far_xdr_reserve(&e, 4)) ||
        !far__call_hdr_put_fixed(&e, xid, PROBE_PROG, 1, 0) ||
        !far__ctx_put_init(&e, (const uint8_t *)c->owner, c->owner_len, far__boot_epoch(),
                           c->sec_level ? FAR__SEC_INIT_CAPS : 0))
        return FAR__PROBE_NONE;
    /* A security level: the handshake's first message as the arguments of
     * the NULL procedure (svc/sec.c has their shape), the level and suite
     * bound into its prologue.  (UDP: retransmitted as it is; the server
     * answers each copy with a handshake of its own, and the first reply
     * that verifies wins.) */
    sec_hs sh = {NULL, far__sec_suite_default()}, *shp = NULL;
    far__probe_res res = FAR__PROBE_NONE;
    c->sec_stat = 0;
    if (c->sec_level) {
        uint8_t pro[256], tok[FAR__SEC_TOKEN_MAX];
        size_t plen = far__sec_prologue(
            pro, sizeof pro, c->sec_level, sh.suite, FAR__SEC_INIT_CAPS, (const uint8_t *)c->owner,
            c->owner_len, (const uint8_t *)c->identity, c->identity_len, PROBE_PROG, 1);
        size_t tl = 0;
        if (!plen || far__sec_client_begin(&sh.hs, sh.suite, c->psk, pro, plen, tok, sizeof tok,
                                           &tl) != FAR_OK)
            return FAR__PROBE_SEC_FAILED;
        shp = &sh;
        if (!far_xdr_put_u32(&e, c->sec_level) || !far_xdr_put_u32(&e, sh.suite) ||
            !far_xdr_put_opaque(&e, (const uint8_t *)c->identity, c->identity_len,
                                FAR__SEC_MAX_IDENTITY) ||
            !far_xdr_put_opaque(&e, tok, (uint32_t)tl, FAR__SEC_TOKEN_MAX))
            goto out;
    }
    size_t len = far_xdr_enc_len(&e);
    if (stream)
        far_xdr_store_u32(buf, FAR__REC_LAST | (uint32_t)(len - 4));
    uint64_t until = far__now_ns() + PROBE_NS;
    if (deadline && deadline < until)
        until = deadline;
    uint8_t in[PROBE_MAX_REPLY + 4];
    size_t have = 0;
    uint64_t retry_ns = (uint64_t)c->o.retry_ms * 1000000u;
    for (;;) {
        if (!send_all(fd, buf, len)) {
            res = stream ? FAR__PROBE_BROKEN : FAR__PROBE_NONE;
            goto out;
        }
        uint64_t wait_until =
            stream || far__now_ns() + retry_ns > until ? until : far__now_ns() + retry_ns;
        for (;;) {
            int w = wait_readable(fd, wait_until);
            if (w < 0)
                goto out;
            if (w == 0)
                break;
            ssize_t n = recv(fd, in + have, sizeof in - have, MSG_DONTWAIT);
            if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                continue;
            if (n <= 0) {
                far__log_debug("%s: FAR_CTX probe: %s", c->addr.text,
                               n == 0 ? "the connection closed" : "the connection failed");
                /* (UDP: nothing listens) */
                res = stream ? FAR__PROBE_BROKEN : FAR__PROBE_NONE;
                goto out;
            }
            if (!stream) {
                far__probe_res v = judge(c, in, (size_t)n, xid, handle, boot, shp, sess);
                if (v == FAR__PROBE_SEC_FAILED && shp && !sh.hs)
                    goto failed_udp;
                if (v != FAR__PROBE_NONE) {
                    res = v;
                    goto out;
                }
                continue; /* a stray datagram */
            }
            have += (size_t)n;
            if (have < 4)
                continue;
            uint32_t mark = far_xdr_load_u32(in);
            uint32_t flen = mark & ~FAR__REC_LAST;
            if (!(mark & FAR__REC_LAST) || flen > PROBE_MAX_REPLY) {
                res = FAR__PROBE_CLASSIC; /* not an INIT reply of ours */
                goto out;
            }
            if (have < 4 + (size_t)flen)
                continue;
            if (have > 4 + (size_t)flen) {
                res = FAR__PROBE_CLASSIC; /* nothing else was asked */
                goto out;
            }
            res = judge(c, in + 4, flen, xid, handle, boot, shp, sess);
            goto out;
        }
        if (stream || far__now_ns() >= until) {
            far__log_debug("%s: FAR_CTX probe: no answer in time", c->addr.text);
            goto out;
        }
        retry_ns = retry_ns * 2 > (uint64_t)RETRY_CAP_MS * 1000000u
                       ? (uint64_t)RETRY_CAP_MS * 1000000u
                       : retry_ns * 2;
    }
failed_udp:
    /* (UDP: a reply that did not verify ends the handshake, whose state
     * is spent; the connect fails and the next one starts again) */
    res = FAR__PROBE_SEC_FAILED;
out:
    far__noise_hs_free(sh.hs);
    return res;
}
