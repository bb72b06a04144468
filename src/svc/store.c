/* Server: exactly-once calls through the durable reply store (farcall/store.h).
 * A call of an exactly-once procedure, on a server with a store, runs in a
 * transaction of the store opened before its handler and committed with its
 * results after it; a call the store knows is answered from it instead.
 * docs/semantics.md. */
#include "svc/svc.h"

#include <stdlib.h>
#include <string.h>

#include "farcall/store.h"

FAR__API far_err far_server_set_reply_store(far_server *s, const far_reply_store *ops, void *ctx)
{
    if (!s || !ops || ops->size < sizeof(far_reply_store) || !ops->begin || !ops->commit ||
        !ops->abort)
        return FAR_EMISUSE;
    pthread_mutex_lock(&s->mu);
    far_err rc = FAR_EMISUSE;
    if (atomic_load(&s->state) == ST_CREATED) {
        s->store = *ops;
        s->store_ctx = ctx;
        s->has_store = true;
        rc = FAR_OK;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

FAR__API void *far_svc_req_txn(far_svc_req *r)
{
    return r ? r->txn : NULL;
}

bool far__svc_has_store(const far_server *s)
{
    return s->has_store;
}

/* FNV-1a, and a second hash of 8-byte words (splitmix64's finaliser): two
 * independent 64-bit sums with the length tell arguments apart; a key
 * reused with other arguments is a client's mistake, not an attack. */
static void digest(const uint8_t *p, size_t n, uint8_t out[FAR_STORE_DIGEST])
{
    uint64_t a = 0xcbf29ce484222325ull, b = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++)
        a = (a ^ p[i]) * 0x100000001b3ull;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        b ^= w;
        b = (b ^ (b >> 30)) * 0xbf58476d1ce4e5b9ull;
        b = (b ^ (b >> 27)) * 0x94d049bb133111ebull;
        b ^= b >> 31;
    }
    a ^= (uint64_t)n * 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (8 * i));
        out[8 + i] = (uint8_t)(b >> (8 * i));
    }
}

void far__svc_req_idem(const far_svc_req *r, const uint8_t **owner, size_t *owner_len,
                       const uint8_t **key, size_t *key_len)
{
    /* Carried by the FAR_CTX flavor (the owner of its context, the key of
     * its credential); a classic call has none. */
    *owner = *key = NULL;
    *owner_len = *key_len = 0;
    if (!far__auth_is_ctx(r->auth.ops) || !r->ctx || !r->auth.ctx.key_len)
        return;
    *owner = r->ctx->owner;
    *owner_len = r->ctx->owner_len;
    *key = r->auth.ctx.key;
    *key_len = r->auth.ctx.key_len;
}

/* The key of r (its client's name and idempotency key, from its flavor). */
static void key_of(const far_svc_req *r, far_store_key *k)
{
    memset(k, 0, sizeof *k);
    far__svc_req_idem(r, &k->owner, &k->owner_len, &k->key, &k->key_len);
    k->prog = r->h.prog;
    k->vers = r->h.vers;
    k->proc = r->h.proc;
    /* of the arguments as the client encoded them: a protected call's
     * plaintext, the same in every send of it (its seal is not) */
    if (r->args)
        digest(r->args, r->args_len, k->digest);
    else
        digest(r->in + r->args_off, r->in_len - r->args_off, k->digest);
}

far__eo far__svc_eo_begin(far_server *s, far_svc_req *r, uint8_t **res, size_t *len)
{
    r->txn = NULL;
    /* A procedure marked exactly-once runs in a transaction whatever the
     * call asked for (its handler is written for one); only a call that
     * asked for exactly-once, with its key, has its reply kept. */
    bool proc_eo = r->pd && r->pd->semantics == FAR_SEM_EXACTLY_ONCE;
    if (!proc_eo && far__svc_req_semantics(r) != FAR_SEM_EXACTLY_ONCE)
        return FAR__EO_NONE;
    if (!s->has_store) {
        /* a call that asks for it is told; a procedure's is at-most-once */
        bool asked = far__auth_is_ctx(r->auth.ops) && (r->auth.ctx.flags & FAR__CTX_EXACTLY_ONCE);
        return asked ? FAR__EO_UNSUPPORTED : FAR__EO_NONE;
    }
    far_store_key k;
    key_of(r, &k);
    void *txn = NULL;
    bool found = false;
    *res = NULL;
    *len = 0;
    far_err rc = s->store.begin(s->store_ctx, &k, &txn, &found, res, len);
    if (rc == FAR_EIDEMPOTENCY) {
        far__log_warn("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                      ": idempotency key reused with other arguments: refused",
                      far__svc_req_who(r), r->h.prog, r->h.vers, r->h.proc);
        return FAR__EO_CONFLICT;
    }
    if (rc != FAR_OK) {
        far__log_warn("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                      ": the reply store failed (%s): SYSTEM_ERR, not run",
                      far__svc_req_who(r), r->h.prog, r->h.vers, r->h.proc, far_strerror(rc));
        return FAR__EO_FAILED;
    }
    if (found)
        return FAR__EO_REPLAY;
    r->txn = txn;
    r->eo_active = true;
    return FAR__EO_RUN;
}

bool far__svc_eo_end(far_server *s, far_svc_req *r, far_err hr, const void *result)
{
    if (!r->eo_active)
        return true;
    r->eo_active = false;
    void *txn = r->txn;
    r->txn = NULL;
    bool ok = false;
    far_xdr_enc e;
    bool have_enc = false;
    uint8_t *flat = NULL;
    if (hr != FAR_OK)
        goto out; /* rolled back: its effect never happened, a retry runs it */
    if (far_xdr_enc_init_grow(&e, 256, s->o.max_record ? s->o.max_record : (64u << 20)) != FAR_OK)
        goto out;
    have_enc = true;
    far_xdr_enc_set_ref_min(&e, 0);
    if (r->pd->encode_res && !r->pd->encode_res(&e, result))
        goto out;
    size_t n = far_xdr_enc_len(&e);
    flat = malloc(n ? n : 1);
    if (!flat || far_xdr_enc_flatten(&e, flat, n) != FAR_OK)
        goto out;
    far_store_key k;
    key_of(r, &k);
    far_err rc = s->store.commit(s->store_ctx, txn, &k, flat, n);
    txn = NULL; /* committed, or the store rolled it back */
    if (rc != FAR_OK) {
        far__log_warn("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                      ": the reply store did not commit (%s): no reply",
                      far__svc_req_who(r), r->h.prog, r->h.vers, r->h.proc, far_strerror(rc));
        goto out;
    }
    ok = true;
out:
    if (txn)
        s->store.abort(s->store_ctx, txn);
    if (have_enc)
        far_xdr_enc_fini(&e);
    free(flat);
    /* a handler's error is sent as it is; a failed commit is not sent */
    return ok || hr != FAR_OK;
}
