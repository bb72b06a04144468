/* Security levels (docs/security.md): FAR_CTX's protected calls.  The
 * handshake (Noise NNpsk0 from a pre-shared key, src/noise) rides the INIT
 * call and its reply as RPCSEC_GSS tokens do (RFC 2203 §5.2.2); after it
 * every DATA call and its reply are protected with the two transport keys,
 * with explicit nonces made of the call's sequence number (Noise §11.4):
 *
 *   nonce(seq, 0)      the verifier: a MAC (an AEAD tag over no plaintext)
 *                      over the call's header from its xid through its
 *                      credential, or over the reply's xid, seq, accept_stat
 *   nonce(seq, 1)      INTEG: the tag over the body (the body as associated
 *                      data), appended to it
 *   nonce(seq, 1 + i)  PRIV: chunk i of the body, encrypted (Noise messages
 *                      are at most 65535 bytes, §3), each followed by its tag
 *
 * nonce(seq, i) = seq << 20 | i: seq below 2^43, at most 2^20 - 1 chunks.
 * Calls go client -> server under one key, replies under the other, so a
 * nonce is never used twice with one key.  AUTH protects the headers only
 * (RFC 2203's service "none" with its per-call MIC). */
#include "msg/msg.h"

#include <stdio.h>

#define CHUNK     65504u /* PRIV: plaintext bytes per chunk (+ 16 <= 65535) */
#define SEQ_LIMIT (1ull << 43)
#define TAG       FAR__NOISE_TAGLEN

static inline uint64_t nonce(uint64_t seq, uint64_t i)
{
    return seq << 20 | i;
}

/* ------------------------------------------------------------ sessions */

void far__wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

far__sec_session *far__sec_session_new(void)
{
    far__sec_session *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    atomic_init(&x->refs, 1);
    atomic_init(&x->seq, 0);
    pthread_mutex_init(&x->mu, NULL);
    return x;
}

void far__sec_session_ref(far__sec_session *x)
{
    atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
}

void far__sec_session_unref(far__sec_session *x)
{
    if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
        return;
    far__noise_cs_wipe(&x->tx);
    far__noise_cs_wipe(&x->rx);
    pthread_mutex_destroy(&x->mu);
    free(x);
}

int far__sec_window_check(far__sec_session *x, uint64_t seq)
{
    if (!seq)
        return -1;
    pthread_mutex_lock(&x->mu);
    int v = 0;
    if (seq > x->top) {
        uint64_t shift = seq - x->top;
        if (shift >= FAR__SEC_WINDOW) {
            memset(x->bits, 0, sizeof x->bits);
        } else {
            for (uint64_t s = x->top + 1; s < seq; s++)
                x->bits[(s % FAR__SEC_WINDOW) / 64] &= ~(1ull << (s % 64));
        }
        x->top = seq;
    } else if (x->top - seq >= FAR__SEC_WINDOW) {
        v = -1;
    } else if (x->bits[(seq % FAR__SEC_WINDOW) / 64] & (1ull << (seq % 64))) {
        v = 1;
    }
    if (v == 0)
        x->bits[(seq % FAR__SEC_WINDOW) / 64] |= 1ull << (seq % 64);
    pthread_mutex_unlock(&x->mu);
    return v;
}

uint32_t far__sec_suite_default(void)
{
    return far__noise_aesgcm_available() ? FAR__SEC_SUITE_AESGCM : FAR__SEC_SUITE_CHACHA;
}

static const char *protocol(uint32_t suite)
{
    switch (suite) {
    case FAR__SEC_SUITE_CHACHA:
        return "Noise_NNpsk0_25519_ChaChaPoly_SHA256";
    case FAR__SEC_SUITE_AESGCM:
        return "Noise_NNpsk0_25519_AESGCM_SHA256";
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------ handshake */

size_t far__sec_prologue(uint8_t *out, size_t cap, uint32_t level, uint32_t suite, uint32_t caps,
                         const uint8_t *owner, uint32_t owner_len, const uint8_t *id,
                         uint32_t id_len, uint32_t prog, uint32_t vers)
{
    /* Noise §6: whatever both sides must agree on that the messages do not
     * carry; a level or suite changed in transit breaks the handshake. */
    far_xdr_enc e;
    far_xdr_enc_init(&e, out, cap);
    static const uint8_t tag[12] = "farcall-v1\0\0";
    if (!far_xdr_put_opaque_fixed(&e, tag, sizeof tag) || !far_xdr_put_u32(&e, level) ||
        !far_xdr_put_u32(&e, suite) || !far_xdr_put_u32(&e, caps) ||
        !far_xdr_put_opaque(&e, owner, owner_len, FAR__CTX_MAX_OWNER) ||
        !far_xdr_put_opaque(&e, id, id_len, FAR__SEC_MAX_IDENTITY) || !far_xdr_put_u32(&e, prog) ||
        !far_xdr_put_u32(&e, vers))
        return 0;
    return e.pos;
}

static far_err hs_make(far__noise_hs **hs, uint32_t suite, bool initiator, const uint8_t psk[32],
                       const uint8_t *prologue, size_t plen)
{
    const char *name = protocol(suite);
    if (!name)
        return FAR_EUNSUPPORTED;
    far_err rc = far__noise_hs_new(hs, name, initiator);
    if (rc != FAR_OK)
        return rc;
    if ((rc = far__noise_hs_set_prologue(*hs, prologue, plen)) != FAR_OK ||
        (rc = far__noise_hs_set_psk(*hs, 0, psk)) != FAR_OK ||
        (rc = far__noise_hs_start(*hs)) != FAR_OK) {
        far__noise_hs_free(*hs);
        *hs = NULL;
    }
    return rc;
}

far_err far__sec_client_begin(far__noise_hs **hs, uint32_t suite, const uint8_t psk[32],
                              const uint8_t *prologue, size_t plen, uint8_t *msg, size_t cap,
                              size_t *len)
{
    far_err rc = hs_make(hs, suite, true, psk, prologue, plen);
    if (rc != FAR_OK)
        return rc;
    /* message 0 carries nothing: it can be replayed (Noise §9 on psk0) */
    rc = far__noise_hs_write(*hs, NULL, 0, msg, cap, len);
    if (rc != FAR_OK) {
        far__noise_hs_free(*hs);
        *hs = NULL;
    }
    return rc;
}

far_err far__sec_client_finish(far__noise_hs *hs, const uint8_t *msg, size_t n, uint32_t level,
                               uint32_t suite, uint64_t handle, uint64_t boot,
                               far__sec_session **out)
{
    uint8_t pl[64];
    size_t pn = 0;
    far__sec_session *x = NULL;
    far_err rc = far__noise_hs_read(hs, msg, n, pl, sizeof pl, &pn);
    if (rc != FAR_OK || far__noise_hs_action(hs) != FAR__NOISE_SPLIT) {
        rc = FAR_EAUTH;
        goto out;
    }
    /* The payload vouches for the handle and boot of the (unauthenticated)
     * verifier. */
    if (pn != 16 || far_xdr_load_u64(pl) != handle || far_xdr_load_u64(pl + 8) != boot) {
        rc = FAR_EAUTH;
        goto out;
    }
    if (!(x = far__sec_session_new())) {
        rc = FAR_ENOMEM;
        goto out;
    }
    if ((rc = far__noise_hs_split(hs, &x->tx, &x->rx, NULL, NULL)) != FAR_OK) {
        far__sec_session_unref(x);
        x = NULL;
        goto out;
    }
    far__noise_cs_prepare(&x->tx);
    far__noise_cs_prepare(&x->rx);
    x->level = level;
    x->suite = suite;
    x->handle = handle;
    *out = x;
out:
    far__noise_hs_free(hs);
    far__wipe(pl, sizeof pl);
    return rc;
}

far_err far__sec_server_respond(const uint8_t *msg, size_t n, uint32_t level, uint32_t suite,
                                const uint8_t psk[32], const uint8_t *prologue, size_t plen,
                                uint64_t handle, uint64_t boot, uint8_t *out, size_t cap,
                                size_t *len, far__sec_session **sess)
{
    far__noise_hs *hs = NULL;
    far__sec_session *x = NULL;
    far_err rc = hs_make(&hs, suite, false, psk, prologue, plen);
    if (rc != FAR_OK)
        return rc == FAR_EUNSUPPORTED ? rc : FAR_EAUTH;
    uint8_t pl[16];
    size_t pn = 0;
    if (far__noise_hs_read(hs, msg, n, pl, sizeof pl, &pn) != FAR_OK || pn != 0) {
        rc = FAR_EAUTH;
        goto out;
    }
    far_xdr_store_u64(pl, handle);
    far_xdr_store_u64(pl + 8, boot);
    if ((rc = far__noise_hs_write(hs, pl, sizeof pl, out, cap, len)) != FAR_OK ||
        far__noise_hs_action(hs) != FAR__NOISE_SPLIT) {
        rc = FAR_EAUTH;
        goto out;
    }
    if (!(x = far__sec_session_new())) {
        rc = FAR_ENOMEM;
        goto out;
    }
    /* the responder sends with the second key (Noise §5.2 Split) */
    if ((rc = far__noise_hs_split(hs, &x->tx, &x->rx, NULL, NULL)) != FAR_OK) {
        far__sec_session_unref(x);
        goto out;
    }
    far__noise_cs_prepare(&x->tx);
    far__noise_cs_prepare(&x->rx);
    x->level = level;
    x->suite = suite;
    x->handle = handle;
    *sess = x;
out:
    far__noise_hs_free(hs);
    return rc;
}

/* ------------------------------------------------------------ verifiers */

static bool mac(const far__noise_cs *cs, uint64_t seq, const uint8_t *ad, size_t n,
                uint8_t tag[TAG])
{
    return far__noise_seal(cs, nonce(seq, 0), ad, n, NULL, 0, tag) == FAR_OK;
}

static bool mac_ok(const far__noise_cs *cs, uint64_t seq, const uint8_t *ad, size_t n,
                   const uint8_t *tag)
{
    uint8_t none[1];
    return far__noise_open(cs, nonce(seq, 0), ad, n, tag, TAG, none) == FAR_OK;
}

bool far__sec_check_call(const far__sec_session *x, uint64_t seq, const uint8_t *hdr,
                         const uint8_t *cred_end, const uint8_t *verf, uint32_t verf_len)
{
    return verf_len == TAG && seq && seq < SEQ_LIMIT &&
           mac_ok(&x->rx, seq, hdr, (size_t)(cred_end - hdr), verf);
}

/* A reply's verifier covers its xid, its call's seq and its accept_stat
 * (RFC 2203 §5.3.3.2 covers the seq; the rest costs nothing more). */
static void reply_ad(uint8_t ad[16], uint32_t xid, uint64_t seq, uint32_t stat)
{
    far_xdr_store_u32(ad, xid);
    far_xdr_store_u64(ad + 4, seq);
    far_xdr_store_u32(ad + 12, stat);
}

/* ------------------------------------------------------------ bodies */

/* The number of PRIV chunks of an n-byte body (an empty body is one empty
 * chunk: its tag). */
static size_t chunks(size_t n)
{
    return n ? (n + CHUNK - 1) / CHUNK : 1;
}

/* One piece of a body being sealed by seal_priv_refs. */
typedef struct piece {
    const uint8_t *p;
    size_t len;
} piece;

/* Piece j (0 .. nsegs) of e's body: scatter list entry j, or (j == nsegs)
 * the inline bytes after the last entry; inline bytes are read where
 * seal_priv_refs moved them (`moved`: the body's inline bytes from off on),
 * and the header's (before off) are left out. */
static void body_piece(const far_xdr_enc *e, unsigned j, size_t off, size_t pos0,
                       const uint8_t *moved, piece *out)
{
    size_t o, len;
    if (j < e->nsegs) {
        const far__xdr_seg *g = &e->segs[j];
        if (g->ref) { /* (a reference is never in the header) */
            *out = (piece){g->ref, g->len};
            return;
        }
        o = g->off, len = g->len;
    } else {
        o = e->seg_from, len = pos0 - e->seg_from;
    }
    if (o + len <= off) {
        *out = (piece){moved, 0};
        return;
    }
    if (o < off)
        len -= off - o, o = off;
    *out = (piece){moved + (o - off), len};
}

/* PRIV for a body with bytes held by reference (a large opaque of the
 * caller's, far_xdr_put_opaque_ref): sealed straight from where its bytes
 * are into the inline buffer, so the body is read once (by the cipher)
 * instead of copied in, moved for the tags and then sealed in place.  The
 * inline buffer becomes
 *
 *   [0, off)                  the header, unchanged
 *   [off, off + sealed)       the sealed chunks: the new body
 *   [off + sealed, + inl)     the body's inline bytes (length words,
 *                             padding, small fields), moved out of the way
 *   [.., + CHUNK)             room to gather a chunk that spans pieces
 *
 * and then only its first off + sealed bytes are kept: nothing is held by
 * reference any more (the caller may free what it referred to). */
static bool seal_priv_refs(const far__noise_cs *cs, uint64_t seq, far_xdr_enc *e, size_t off,
                           size_t k)
{
    size_t n = far_xdr_enc_len(e) - off, sealed = n + TAG * k, pos0 = e->pos, inl = pos0 - off;
    if (sealed > e->max - off)
        return far_xdr_enc_fail(e, FAR_ENOSPACE, "the sealed body would exceed the maximum");
    /* the scratch space is not part of the encoding: no maximum for it */
    size_t max = e->max;
    e->max = SIZE_MAX;
    bool room = far_xdr_reserve(e, off + sealed + inl + CHUNK - pos0) != NULL;
    e->max = max;
    if (!room)
        return false;
    uint8_t *b = e->buf, *moved = b + off + sealed, *scratch = moved + inl;
    memcpy(moved, b + off, inl);
    unsigned j = 0;  /* the piece being read (body_piece) */
    piece pc = {0};  /* its bytes */
    size_t used = 0; /* of them, already sealed */
    body_piece(e, 0, off, pos0, moved, &pc);
    for (size_t i = 0; i < k; i++) {
        size_t len = i + 1 < k ? CHUNK : n - i * CHUNK, got = 0;
        const uint8_t *src = scratch;
        while (got < len) {
            while (used == pc.len) { /* (an empty chunk reads nothing) */
                if (++j > e->nsegs)
                    return far_xdr_enc_fail(e, FAR_EMISUSE, "a scatter list short of the body");
                body_piece(e, j, off, pos0, moved, &pc);
                used = 0;
            }
            size_t t = pc.len - used < len - got ? pc.len - used : len - got;
            if (!got && t == len)
                src = pc.p + used; /* the whole chunk in one piece: no copy */
            else
                memcpy(scratch + got, pc.p + used, t);
            got += t, used += t;
        }
        uint8_t *dst = b + off + i * (CHUNK + TAG);
        if (far__noise_seal(cs, nonce(seq, 1 + i), NULL, 0, src, len, dst) != FAR_OK)
            return far_xdr_enc_fail(e, FAR_EMISUSE, "the body does not seal");
    }
    e->pos = off + sealed;
    e->ref_bytes = 0;
    e->nsegs = 0;
    e->seg_from = 0;
    return true;
}

/* Protects the body at [off, end) of e for `level`: inline bytes only,
 * but at PRIV, which also seals bytes held by reference. */
static bool seal_body(const far__noise_cs *cs, uint32_t level, uint64_t seq, far_xdr_enc *e,
                      size_t off)
{
    if (level < FAR__CTX_SVC_INTEG)
        return true;
    if (off > far_xdr_enc_len(e) || off > e->pos ||
        ((e->ref_bytes || e->nsegs) && level != FAR__CTX_SVC_PRIV))
        return far_xdr_enc_fail(e, FAR_EMISUSE, "a protected body held by reference");
    size_t n = far_xdr_enc_len(e) - off;
    if (level == FAR__CTX_SVC_INTEG) {
        uint8_t *t = far_xdr_reserve(e, TAG);
        if (!t)
            return false;
        return far__noise_seal(cs, nonce(seq, 1), e->buf + off, n, NULL, 0, t) == FAR_OK ||
               far_xdr_enc_fail(e, FAR_EMISUSE, "the body does not seal");
    }
    size_t k = chunks(n);
    if (k >= (1u << 20) - 1)
        return far_xdr_enc_fail(e, FAR_ELIMIT, "a body too large to seal");
    if (e->nsegs)
        return seal_priv_refs(cs, seq, e, off, k);
    if (!far_xdr_reserve(e, TAG * k))
        return false;
    uint8_t *b = e->buf + off;
    for (size_t i = k; i-- > 0;) {
        size_t len = i + 1 < k ? CHUNK : n - i * CHUNK;
        uint8_t *dst = b + i * (CHUNK + TAG);
        memmove(dst, b + i * CHUNK, len);
        if (far__noise_seal(cs, nonce(seq, 1 + i), NULL, 0, dst, len, dst) != FAR_OK)
            return far_xdr_enc_fail(e, FAR_EMISUSE, "the body does not seal");
    }
    return true;
}

/* Opens the body p[0..n) for `level`: FAR_OK with the plaintext at *out
 * (*outn bytes): in place (out NULL: p's bytes are rewritten) or into out
 * (n bytes of room).  FAR_EAUTH if it does not verify. */
static far_err open_body(const far__noise_cs *cs, uint32_t level, uint64_t seq, uint8_t *p,
                         size_t n, uint8_t *out, const uint8_t **res, size_t *outn)
{
    if (level < FAR__CTX_SVC_INTEG) {
        *res = p, *outn = n;
        return FAR_OK;
    }
    if (level == FAR__CTX_SVC_INTEG) {
        uint8_t none[1];
        if (n < TAG || far__noise_open(cs, nonce(seq, 1), p, n - TAG, p + n - TAG, TAG, none))
            return FAR_EAUTH;
        *res = p, *outn = n - TAG;
        return FAR_OK;
    }
    size_t full = n / (CHUNK + TAG), rem = n % (CHUNK + TAG);
    size_t k = full + (rem ? 1 : 0);
    if (!k || (rem && rem < TAG) || (rem == TAG && k != 1) || k >= (1u << 20) - 1)
        return FAR_EAUTH;
    uint8_t *dst0 = out ? out : p;
    size_t total = 0;
    for (size_t i = 0; i < k; i++) {
        size_t clen = i + 1 < k || !rem ? CHUNK + TAG : rem;
        uint8_t *ct = p + i * (CHUNK + TAG);
        uint8_t *dst = out ? dst0 + i * CHUNK : ct;
        if (far__noise_open(cs, nonce(seq, 1 + i), NULL, 0, ct, clen, dst) != FAR_OK)
            return FAR_EAUTH;
        if (!out && i)
            memmove(dst0 + i * CHUNK, ct, clen - TAG);
        total += clen - TAG;
    }
    *res = dst0, *outn = total;
    return FAR_OK;
}

/* PRIV: opens the body p[0..n) with part of its plaintext placed by the
 * caller (far__body_place): chunk 0 is opened in place and shown to
 * pl->place; then every chunk wholly inside the range it names is opened
 * straight into its destination -- no move over the tags before it, no
 * copy out of the read buffer afterwards -- and a chunk that straddles an
 * end of the range is opened in place and split, its bytes outside the
 * range moved down to follow the rest.  *res, *outn: the rest of the
 * plaintext.  FAR_EAUTH if any chunk does not verify: the range is wiped,
 * so nothing of a body that failed is left in the destination. */
static far_err open_priv_placed(const far__noise_cs *cs, uint64_t seq, uint8_t *p, size_t n,
                                const far__body_place *pl, const uint8_t **res, size_t *outn)
{
    size_t full = n / (CHUNK + TAG), rem = n % (CHUNK + TAG);
    size_t k = full + (rem ? 1 : 0);
    if (!k || (rem && rem < TAG) || (rem == TAG && k != 1) || k >= (1u << 20) - 1)
        return FAR_EAUTH;
    size_t plain = n - k * TAG, c0 = k > 1 || !rem ? CHUNK : rem - TAG;
    if (far__noise_open(cs, nonce(seq, 1), NULL, 0, p, c0 + TAG, p) != FAR_OK)
        return FAR_EAUTH;
    size_t at = 0, len = 0;
    uint8_t *dst = NULL;
    if (!pl->place(pl->user, p, c0, plain, &at, &len, &dst) || !dst || at > plain ||
        len > plain - at) {
        /* not placed: the other chunks as open_body does */
        for (size_t i = 1; i < k; i++) {
            size_t clen = i + 1 < k || !rem ? CHUNK + TAG : rem;
            uint8_t *ct = p + i * (CHUNK + TAG);
            if (far__noise_open(cs, nonce(seq, 1 + i), NULL, 0, ct, clen, ct) != FAR_OK)
                return FAR_EAUTH;
            memmove(p + i * CHUNK, ct, clen - TAG);
        }
        *res = p, *outn = plain;
        return FAR_OK;
    }
    size_t rest = 0; /* the plaintext outside the range, gathered at p */
    for (size_t i = 0; i < k; i++) {
        size_t from = i * CHUNK, clen = i + 1 < k || !rem ? CHUNK : rem - TAG;
        uint8_t *pt = p + i * (CHUNK + TAG);
        if (i > 0 && from >= at && from + clen <= at + len) {
            if (far__noise_open(cs, nonce(seq, 1 + i), NULL, 0, pt, clen + TAG,
                                dst + (from - at)) != FAR_OK)
                goto bad;
            continue;
        }
        if (i > 0 && far__noise_open(cs, nonce(seq, 1 + i), NULL, 0, pt, clen + TAG, pt) != FAR_OK)
            goto bad;
        /* [0, b) before the range, [b, e) in it, [e, clen) after it */
        size_t b = at > from ? (at - from < clen ? at - from : clen) : 0;
        size_t e = at + len > from ? (at + len - from < clen ? at + len - from : clen) : 0;
        if (e < b)
            e = b;
        memmove(p + rest, pt, b);
        rest += b;
        if (e > b)
            memcpy(dst + (from + b - at), pt + b, e - b);
        memmove(p + rest, pt + e, clen - e);
        rest += clen - e;
    }
    *res = p, *outn = rest;
    return FAR_OK;
bad:
    far__wipe(dst, len);
    return FAR_EAUTH;
}

/* ------------------------------------------------------------ client ops */

static bool sec_put(const far__cauth *a, far_xdr_enc *e, uint32_t xid, const far__call_meta *m)
{
    (void)xid;
    far__sec_call *sc = m ? m->sec : NULL;
    if (!sc || !sc->sess)
        return false;
    far__sec_session *x = sc->sess;
    uint64_t seq = atomic_fetch_add_explicit(&x->seq, 1, memory_order_relaxed) + 1;
    if (seq >= SEQ_LIMIT)
        return false; /* a session this old needs a new handshake */
    sc->seq = seq;
    const uint8_t *cred;
    uint8_t *v = far__ctx_put_data(a, e, m, x->level, x->handle, seq, TAG, &cred);
    if (!v)
        return false;
    /* the header: its 24 fixed bytes before the credential, through it */
    const uint8_t *start = cred - 24, *cred_end = v - 8;
    return mac(&x->tx, seq, start, (size_t)(cred_end - start), v);
}

static far_err sec_check_verf(const far__cauth *a, const far__reply_hdr *h, const far__sec_call *sc)
{
    (void)a;
    if (!sc || !sc->sess || h->verf_flavor != far__ctx_flavor() || h->verf_len != TAG)
        return FAR_EAUTH;
    uint8_t ad[16];
    reply_ad(ad, h->xid, sc->seq, h->stat);
    return mac_ok(&sc->sess->rx, sc->seq, ad, sizeof ad, h->verf_body) ? FAR_OK : FAR_EAUTH;
}

static bool sec_wrap_args(const far__cauth *a, far_xdr_enc *e, size_t args_off,
                          const far__sec_call *sc)
{
    (void)a;
    return sc && sc->sess && seal_body(&sc->sess->tx, sc->sess->level, sc->seq, e, args_off);
}

/* The reply's bytes are the client's read buffer: opened in place, or at
 * PRIV with the range a placement names opened straight into its
 * destination. */
static far_err sec_unwrap_results(const far__cauth *a, const far__sec_call *sc, const uint8_t **p,
                                  size_t *n, const far__body_place *pl)
{
    (void)a;
    if (!sc || !sc->sess)
        return FAR_EAUTH;
    if (pl && sc->sess->level == FAR__CTX_SVC_PRIV)
        return open_priv_placed(&sc->sess->rx, sc->seq, (uint8_t *)*p, *n, pl, p, n);
    return open_body(&sc->sess->rx, sc->sess->level, sc->seq, (uint8_t *)*p, *n, NULL, p, n);
}

bool far__auth_results_plain(const far__cauth *a, const far__sec_call *sc)
{
    if (!a->ops->unwrap_results)
        return true;
    return a->ops == &far__auth_sec && sc && sc->sess && sc->sess->level < FAR__CTX_SVC_INTEG;
}

/* ------------------------------------------------------------ server ops */

static int sec_authenticate(far__sauth *a, const far__call_hdr *h)
{
    (void)a, (void)h;
    return FAR_AUTH_BADCRED; /* (found as FAR_CTX; this table is set once a context is) */
}

static void sec_reply_verf(far__sauth *a, far__opaque_auth *v)
{
    far__sec_session *x = a->sec.sess;
    uint8_t ad[16];
    reply_ad(ad, a->xid, a->sec.seq, a->reply_stat);
    if (!x || !mac(&x->tx, a->sec.seq, ad, sizeof ad, a->verf))
        memset(a->verf, 0, TAG); /* (cannot happen: a tag the client refuses) */
    v->flavor = far__ctx_flavor();
    v->body = a->verf;
    v->len = TAG;
}

static far_err sec_unwrap_args(far__sauth *a, const uint8_t **p, size_t *n, far_arena *arena)
{
    far__sec_session *x = a->sec.sess;
    if (!x)
        return FAR_EAUTH;
    if (x->level < FAR__CTX_SVC_PRIV)
        return open_body(&x->rx, x->level, a->sec.seq, (uint8_t *)*p, *n, NULL, p, n);
    uint8_t *out = far_arena_alloc(arena, *n ? *n : 1);
    if (!out)
        return FAR_ENOMEM;
    return open_body(&x->rx, x->level, a->sec.seq, (uint8_t *)*p, *n, out, p, n);
}

bool far__sec_seals_refs(const far__sauth *a)
{
    return a->ops == &far__auth_sec && a->sec.sess && a->sec.sess->level == FAR__CTX_SVC_PRIV;
}

static bool sec_wrap_results(const far__sauth *a, far_xdr_enc *e, size_t res_off)
{
    far__sec_session *x = a->sec.sess;
    return x && seal_body(&x->tx, x->level, a->sec.seq, e, res_off);
}

const far__auth_ops far__auth_sec = {
    .flavor = FAR__CTX_DEFAULT_FLAVOR, /* far__ctx_flavor() is the one in use */
    .name = "FAR_CTX (protected)",
    .put_cred_verf = sec_put,
    .check_reply_verf = sec_check_verf,
    .wrap_args = sec_wrap_args,
    .unwrap_results = sec_unwrap_results,
    .authenticate = sec_authenticate,
    .reply_verf = sec_reply_verf,
    .unwrap_args = sec_unwrap_args,
    .wrap_results = sec_wrap_results,
};
