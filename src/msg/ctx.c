/* FAR_CTX, farcall's flavor for call semantics (far_ctx.x): its credential
 * and verifier on the wire, and its place in the auth-ops interface.  The
 * contexts themselves -- which handle names which client life -- are the
 * server's (svc/ctx.c); what a client does with a classic peer is the
 * client's (clnt/conn.c).  This file only encodes, decodes and checks. */
#include "msg/msg.h"

#include <pthread.h>
#include <stdlib.h>

/* ------------------------------------------------------------ the number */

static uint32_t ctx_flavor = FAR__CTX_DEFAULT_FLAVOR;
static pthread_once_t flavor_once = PTHREAD_ONCE_INIT;
static atomic_bool flavor_known; /* set once flavor_read has run: every call asks */

static void flavor_read(void)
{
    const char *v = getenv("FARCALL_CTX_FLAVOR");
    if (!v || !*v)
        return;
    char *end;
    unsigned long n = strtoul(v, &end, 0);
    /* 0 and 1 are AUTH_NONE and AUTH_SYS: never taken for FAR_CTX */
    if (*end || n < 2 || n > UINT32_MAX) {
        far__log_warn("FARCALL_CTX_FLAVOR=%s is not a flavor number: using %u", v,
                      FAR__CTX_DEFAULT_FLAVOR);
        return;
    }
    ctx_flavor = (uint32_t)n;
}

static void flavor_init(void)
{
    flavor_read();
    atomic_store_explicit(&flavor_known, true, memory_order_release);
}

uint32_t far__ctx_flavor(void)
{
    if (!atomic_load_explicit(&flavor_known, memory_order_acquire))
        pthread_once(&flavor_once, flavor_init);
    return ctx_flavor;
}

/* ------------------------------------------------------------ client */

/* far_ctx_cred {version, DATA: handle<16> (8 bytes), seq, service,
 * deadline_us, flags, idem_key<16> (empty), inner}: 56 bytes and the inner
 * body. */
#define DATA_FIXED 56

uint8_t *far__ctx_put_data(const far__cauth *a, far_xdr_enc *e, const far__call_meta *m,
                           uint32_t service, uint64_t handle, uint64_t seq, uint32_t verf_len,
                           const uint8_t **cred)
{
    uint32_t klen = m && m->key ? m->key_len : 0; /* idem_key<16>, whole words */
    if (klen > FAR__CTX_MAX_KEY || klen % 4 || DATA_FIXED + klen + a->credlen > FAR__MAX_AUTH_BYTES)
        return NULL;
    uint32_t body = DATA_FIXED + klen + a->credlen;
    uint8_t *p = far_xdr_reserve(e, 8 + body + 8 + verf_len);
    if (!p)
        return NULL;
    if (cred)
        *cred = p;
    far_xdr_store_u32(p, far__ctx_flavor());
    far_xdr_store_u32(p + 4, body);
    p += 8;
    far_xdr_store_u32(p, FAR__CTX_VERSION);
    far_xdr_store_u32(p + 4, FAR__CTX_DATA);
    far_xdr_store_u32(p + 8, 8);
    far_xdr_store_u64(p + 12, handle);
    far_xdr_store_u64(p + 20, seq);
    far_xdr_store_u32(p + 28, service);
    far_xdr_store_u64(p + 32, m ? m->deadline_us : 0);
    far_xdr_store_u32(p + 40, m ? m->flags : FAR__CTX_AT_MOST_ONCE);
    far_xdr_store_u32(p + 44, klen); /* idem_key */
    if (klen)
        memcpy(p + 48, m->key, klen);
    far_xdr_store_u32(p + 48 + klen, a->inner->flavor);
    far_xdr_store_u32(p + 52 + klen, a->credlen);
    if (a->credlen)
        memcpy(p + 56 + klen, a->cred, a->credlen); /* AUTH_SYS bodies are whole words */
    p += body;
    /* verifier: AUTH_NONE, or FAR_CTX's of verf_len bytes (sec.c) */
    far_xdr_store_u32(p, verf_len ? far__ctx_flavor() : FAR_AUTH_NONE);
    far_xdr_store_u32(p + 4, verf_len);
    return p + 8;
}

static bool ctx_put(const far__cauth *a, far_xdr_enc *e, uint32_t xid, const far__call_meta *m)
{
    (void)xid;
    return far__ctx_put_data(a, e, m, FAR__CTX_SVC_NONE,
                             atomic_load_explicit(&a->ctx->handle, memory_order_acquire),
                             atomic_fetch_add_explicit(&a->ctx->seq, 1, memory_order_relaxed) + 1,
                             0, NULL) != NULL;
}

bool far__ctx_put_init(far_xdr_enc *e, const uint8_t *owner, uint32_t owner_len, uint64_t boot,
                       uint32_t caps)
{
    if (owner_len > FAR__CTX_MAX_OWNER)
        return false;
    uint32_t body = 4 + 4 + 4 + owner_len + (uint32_t)far_xdr_pad(owner_len) + 8 + 4;
    far__opaque_auth none = {FAR_AUTH_NONE, NULL, 0};
    return far_xdr_put_u32(e, far__ctx_flavor()) && far_xdr_put_u32(e, body) &&
           far_xdr_put_u32(e, FAR__CTX_VERSION) && far_xdr_put_u32(e, FAR__CTX_INIT) &&
           far_xdr_put_opaque(e, owner, owner_len, FAR__CTX_MAX_OWNER) &&
           far_xdr_put_u64(e, boot) && far_xdr_put_u32(e, caps) && far__opaque_auth_put(e, &none);
}

far_err far__ctx_verf_decode(const far__reply_hdr *h, uint64_t *server_boot, uint8_t *handle,
                             uint32_t *handle_len)
{
    if (h->verf_flavor != far__ctx_flavor())
        return FAR_EAUTH;
    if (h->verf_len == 12 && far_xdr_load_u32(h->verf_body + 8) == 0) {
        /* a DATA call's reply: the server's boot and no handle */
        *server_boot = far_xdr_load_u64(h->verf_body);
        if (handle_len)
            *handle_len = 0;
        return FAR_OK;
    }
    far_xdr_dec d;
    far_xdr_dec_init(&d, h->verf_body, h->verf_len, NULL, 0);
    uint8_t hb[FAR__CTX_MAX_HANDLE];
    uint32_t hl = 0;
    if (!far_xdr_get_u64(&d, server_boot) ||
        !far_xdr_get_opaque_into(&d, handle ? handle : hb, &hl, FAR__CTX_MAX_HANDLE) ||
        !far_xdr_dec_done(&d))
        return FAR_EAUTH;
    if (handle_len)
        *handle_len = hl;
    return FAR_OK;
}

static far_err ctx_check_verf(const far__cauth *a, const far__reply_hdr *h, const far__sec_call *sc)
{
    (void)sc;
    (void)a;
    if (h->verf_len == 12 && h->verf_flavor == far__ctx_flavor() &&
        far_xdr_load_u32(h->verf_body + 8) == 0)
        return FAR_OK; /* a DATA call's reply: the server's boot and no handle */
    uint64_t boot;
    return far__ctx_verf_decode(h, &boot, NULL, NULL);
}

bool far__cauth_make_ctx(far__cauth *a, far__ctx_client *ctx)
{
    if (a->credlen > FAR__CTX_MAX_INNER)
        return false;
    a->inner = a->ops;
    a->ctx = ctx;
    a->ops = &far__auth_ctx;
    return true;
}

/* ------------------------------------------------------------ server */

/* A reader of XDR at fixed places: the credential's body is at most
 * FAR__MAX_AUTH_BYTES, so its fields are read in place, each bounds-checked,
 * without a decoder's calls per field (this runs for every call). */
typedef struct rd {
    const uint8_t *p;
    uint32_t left;
} rd;

static inline bool rd_u32(rd *r, uint32_t *v)
{
    if (r->left < 4)
        return false;
    *v = far_xdr_load_u32(r->p);
    r->p += 4, r->left -= 4;
    return true;
}

static inline bool rd_u64(rd *r, uint64_t *v)
{
    if (r->left < 8)
        return false;
    *v = far_xdr_load_u64(r->p);
    r->p += 8, r->left -= 8;
    return true;
}

/* An opaque<max>: its length and a pointer to its bytes; the padding must
 * be zero (RFC 4506 §4.10, as far_xdr_get_opaque checks it). */
static inline bool rd_opaque(rd *r, uint32_t max, const uint8_t **bytes, uint32_t *len)
{
    uint32_t n;
    if (!rd_u32(r, &n) || n > max)
        return false;
    uint32_t padded = (n + 3u) & ~3u;
    if (r->left < padded)
        return false;
    for (uint32_t i = n; i < padded; i++)
        if (r->p[i])
            return false;
    *bytes = r->p, *len = n;
    r->p += padded, r->left -= padded;
    return true;
}

far_err far__ctx_cred_decode(const uint8_t *body, uint32_t len, far__ctx_cred *out)
{
    rd r = {body, len};
    uint32_t version;
    out->owner = NULL, out->owner_len = 0, out->boot = 0, out->caps = 0;
    out->handle_len = out->key_len = out->inner_len = 0;
    out->inner = NULL;
    if (!rd_u32(&r, &version) || !rd_u32(&r, &out->proc))
        return FAR_EPROTO;
    if (version != FAR__CTX_VERSION)
        return FAR_EBADVALUE;
    const uint8_t *p;
    uint32_t n;
    if (out->proc == FAR__CTX_DATA && len >= DATA_FIXED && far_xdr_load_u32(body + 8) == 8 &&
        far_xdr_load_u32(body + 44) == 0) {
        /* The shape every farcall client sends: an 8-byte handle, no
         * idempotency key; the fields at fixed places. */
        uint32_t il = far_xdr_load_u32(body + 52);
        uint32_t ip = (il + 3u) & ~3u;
        if (il > FAR__CTX_MAX_INNER || len - DATA_FIXED != ip)
            return FAR_EPROTO;
        for (uint32_t i = il; i < ip; i++)
            if (body[DATA_FIXED + i])
                return FAR_EPROTO;
        memcpy(out->handle, body + 12, 8);
        out->handle_len = 8;
        out->seq = far_xdr_load_u64(body + 20);
        out->service = far_xdr_load_u32(body + 28);
        out->deadline_us = far_xdr_load_u64(body + 32);
        out->flags = far_xdr_load_u32(body + 40);
        out->inner_flavor = far_xdr_load_u32(body + 48);
        out->inner = body + DATA_FIXED;
        out->inner_len = il;
        return FAR_OK;
    }
    switch (out->proc) {
    case FAR__CTX_INIT:
        if (!rd_opaque(&r, FAR__CTX_MAX_OWNER, &out->owner, &out->owner_len) ||
            !rd_u64(&r, &out->boot) || !rd_u32(&r, &out->caps) || r.left)
            return FAR_EPROTO;
        return FAR_OK;
    case FAR__CTX_DATA:
        if (!rd_opaque(&r, FAR__CTX_MAX_HANDLE, &p, &n))
            return FAR_EPROTO;
        memcpy(out->handle, p, n);
        out->handle_len = n;
        if (!rd_u64(&r, &out->seq) || !rd_u32(&r, &out->service) ||
            !rd_u64(&r, &out->deadline_us) || !rd_u32(&r, &out->flags) ||
            !rd_opaque(&r, FAR__CTX_MAX_KEY, &p, &n))
            return FAR_EPROTO;
        memcpy(out->key, p, n);
        out->key_len = n;
        if (!rd_u32(&r, &out->inner_flavor) ||
            !rd_opaque(&r, FAR__CTX_MAX_INNER, &out->inner, &out->inner_len) || r.left)
            return FAR_EPROTO;
        return FAR_OK;
    default:
        return FAR_EBADVALUE;
    }
}

void far__ctx_set_verf(far__sauth *a, uint64_t server_boot, const uint8_t *handle,
                       uint32_t handle_len)
{
    if (handle_len > FAR__CTX_MAX_HANDLE)
        handle_len = FAR__CTX_MAX_HANDLE;
    far_xdr_store_u64(a->verf, server_boot);
    far_xdr_store_u32(a->verf + 8, handle_len);
    size_t padded = handle_len + far_xdr_pad(handle_len);
    memset(a->verf + 12, 0, padded);
    if (handle_len)
        memcpy(a->verf + 12, handle, handle_len);
    a->verf_len = 12 + (uint32_t)padded;
}

/* The credential's checks that need no server state: a well-formed body,
 * INIT only to a NULL procedure (RFC 2203 §5.2.2), DATA with no protection
 * (the only service defined yet) and an inner flavor this server takes.
 * Which context a handle names is the server's to check (svc/ctx.c). */
static int ctx_authenticate(far__sauth *a, const far__call_hdr *h)
{
    if (far__ctx_cred_decode(h->cred_body, h->cred_len, &a->ctx) != FAR_OK)
        return FAR_AUTH_BADCRED;
    a->verf_len = 0; /* set with the context, which is the server's to find */
    if (a->ctx.proc == FAR__CTX_INIT)
        return h->proc == 0 ? FAR_AUTH_OK : FAR_AUTH_BADCRED;
    /* A protected call (sec.c): its verifier is checked with its context's
     * keys (svc/ctx.c). */
    if (a->ctx.service > FAR__CTX_SVC_PRIV)
        return FAR_AUTH_BADCRED;
    if (a->ctx.service != FAR__CTX_SVC_NONE &&
        (h->verf_flavor != far__ctx_flavor() || h->verf_len != FAR__NOISE_TAGLEN))
        return FAR_AUTH_BADVERF;
    switch (a->ctx.inner_flavor) {
    case FAR_AUTH_NONE:
        return FAR_AUTH_OK;
    case FAR_AUTH_SYS:
        if (far__auth_sys_decode(a->ctx.inner, a->ctx.inner_len, &a->sys) != FAR_OK)
            return FAR_AUTH_BADCRED;
        a->has_sys = true;
        return FAR_AUTH_OK;
    default:
        return FAR_AUTH_BADCRED;
    }
}

static void ctx_reply_verf(far__sauth *a, far__opaque_auth *v)
{
    v->flavor = far__ctx_flavor();
    v->body = a->verf;
    v->len = a->verf_len;
}

const far__auth_ops far__auth_ctx = {
    .flavor = FAR__CTX_DEFAULT_FLAVOR, /* far__ctx_flavor() is the one in use */
    .name = "FAR_CTX",
    .put_cred_verf = ctx_put,
    .check_reply_verf = ctx_check_verf,
    .authenticate = ctx_authenticate,
    .reply_verf = ctx_reply_verf,
};
