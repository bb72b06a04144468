/* Server: FAR_CTX contexts (src/msg/far_ctx.x) -- which handle names which
 * life of which client, the INIT call that makes one, and what a DATA call
 * brings: its context and its deadline.
 *
 * A context is (owner, boot): a client process, by the name it keeps across
 * restarts and the random number it drew when it started.  INIT from an
 * owner already known with another boot is that client restarted: the old
 * life's context is marked dead, so its calls still running see themselves
 * cancelled (far_svc_req_cancelled) and their replies are not sent, and it
 * leaves the table.  The table is bounded (CTX_MAX); when it is full the
 * context used least recently leaves it, and its client, whose next call is
 * then denied RPCSEC_GSS_CTXPROBLEM, makes a new one on its next
 * connection.
 *
 * The boot epoch in the verifiers is the server's (drawn when it is made),
 * so a server stopped and another started in one process are two lives.
 *
 * Handles are 8 bytes: a counter through a bijective mix, so two contexts
 * of one server life never share one and a handle says nothing of the
 * table; a server that restarts knows none of its old handles. */
#include "svc/svc.h"

#include <stdio.h>
#include <sys/random.h>

#define CTX_BUCKETS     1024 /* a power of two */
#define CTX_MAX         65536
#define DEADLINE_MAX_US (366ull * 24 * 3600 * 1000000) /* a longer budget counts as none */

struct far__ctx_table {
    pthread_mutex_t mu;
    svc_ctx *by_handle[CTX_BUCKETS];
    svc_ctx *by_owner[CTX_BUCKETS];
    size_t n;
    uint64_t counter, key;
    uint64_t boot;          /* this server's boot epoch (FAR_CTX verifiers) */
    uint8_t data_verf[12];  /* a DATA reply's verifier: boot, no handle */
    unsigned long restarts; /* client lives ended by a newer boot */
};

static uint64_t mix(uint64_t x) /* splitmix64's finaliser: a bijection */
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static size_t owner_hash(const uint8_t *p, uint32_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return (size_t)(h & (CTX_BUCKETS - 1));
}

far__ctx_table *far__ctx_table_create(void)
{
    far__ctx_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    if (getrandom(&t->key, sizeof t->key, GRND_NONBLOCK) != sizeof t->key)
        t->key = far__now_ns() ^ far__boot_epoch();
    /* A server's boot epoch is its own, not its process's: another server
     * of the same process (one stopped and another started) has neither
     * its contexts nor its duplicate request cache. */
    t->boot = mix(far__boot_epoch() ^ mix(t->key));
    if (!t->boot)
        t->boot = 1;
    far_xdr_store_u64(t->data_verf, t->boot);
    far_xdr_store_u32(t->data_verf + 8, 0);
    return t;
}

void far__svc_ctx_put(svc_ctx *x)
{
    if (x && atomic_fetch_sub(&x->refs, 1) == 1) {
        far__sec_session_unref(x->sec);
        free(x);
    }
}

void far__ctx_table_destroy(far__ctx_table *t)
{
    if (!t)
        return;
    for (size_t b = 0; b < CTX_BUCKETS; b++)
        for (svc_ctx *x = t->by_handle[b], *nx; x; x = nx) {
            nx = x->hnext;
            far__svc_ctx_put(x);
        }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Takes x out of both chains (t->mu held); the table's reference goes. */
static void unlink_ctx(far__ctx_table *t, svc_ctx *x)
{
    svc_ctx **pp = &t->by_handle[x->handle & (CTX_BUCKETS - 1)];
    while (*pp && *pp != x)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = x->hnext;
    pp = &t->by_owner[owner_hash(x->owner, x->owner_len)];
    while (*pp && *pp != x)
        pp = &(*pp)->onext;
    if (*pp)
        *pp = x->onext;
    t->n--;
    atomic_store(&x->gone, true);
    far__svc_ctx_put(x);
}

static void evict_oldest(far__ctx_table *t)
{
    svc_ctx *old = NULL;
    for (size_t b = 0; b < CTX_BUCKETS; b++)
        for (svc_ctx *x = t->by_handle[b]; x; x = x->hnext)
            if (!old || atomic_load_explicit(&x->last_ns, memory_order_relaxed) <
                            atomic_load_explicit(&old->last_ns, memory_order_relaxed))
                old = x;
    if (old)
        unlink_ctx(t, old);
}

far_err far__svc_ctx_init(far_server *s, const uint8_t *owner, uint32_t owner_len, uint64_t boot,
                          uint64_t *handle)
{
    far__ctx_table *t = s->ctxs;
    size_t ob = owner_hash(owner, owner_len);
    uint64_t now = far__now_ns();
    pthread_mutex_lock(&t->mu);
    svc_ctx *x = t->by_owner[ob];
    while (x && (x->owner_len != owner_len || memcmp(x->owner, owner, owner_len) != 0))
        x = x->onext;
    if (x && x->boot == boot) {
        /* another connection of the same life */
        atomic_store_explicit(&x->last_ns, now, memory_order_relaxed);
        *handle = x->handle;
        pthread_mutex_unlock(&t->mu);
        return FAR_OK;
    }
    if (x) {
        /* The owner restarted: its old life is over.  Calls of it still
         * running see the context dead (far_svc_req_cancelled). */
        atomic_store(&x->dead, true);
        t->restarts++;
        far__log_debug("FAR_CTX: client \"%.*s\" restarted (boot %016" PRIx64 " -> %016" PRIx64
                       "): its earlier calls are cancelled",
                       (int)owner_len, (const char *)owner, x->boot, boot);
        unlink_ctx(t, x);
    }
    if (t->n >= CTX_MAX)
        evict_oldest(t);
    x = calloc(1, sizeof *x);
    if (!x) {
        pthread_mutex_unlock(&t->mu);
        return FAR_ENOMEM;
    }
    x->handle = mix(++t->counter ^ t->key);
    if (!x->handle)
        x->handle = mix(++t->counter ^ t->key); /* (0 is never sent) */
    memcpy(x->owner, owner, owner_len);
    x->owner_len = owner_len;
    x->boot = boot;
    atomic_init(&x->last_ns, now);
    atomic_init(&x->refs, 1);
    atomic_init(&x->dead, false);
    atomic_init(&x->gone, false);
    size_t hb = x->handle & (CTX_BUCKETS - 1);
    x->hnext = t->by_handle[hb];
    t->by_handle[hb] = x;
    x->onext = t->by_owner[ob];
    t->by_owner[ob] = x;
    t->n++;
    *handle = x->handle;
    pthread_mutex_unlock(&t->mu);
    return FAR_OK;
}

uint64_t far__svc_ctx_new_handle(far_server *s)
{
    far__ctx_table *t = s->ctxs;
    pthread_mutex_lock(&t->mu);
    uint64_t h = mix(++t->counter ^ t->key);
    if (!h)
        h = mix(++t->counter ^ t->key); /* (0 is never sent) */
    pthread_mutex_unlock(&t->mu);
    return h;
}

uint64_t far__svc_ctx_boot(far_server *s)
{
    return s->ctxs->boot;
}

far_err far__svc_ctx_add_secure(far_server *s, const uint8_t *owner, uint32_t owner_len,
                                uint64_t boot, uint64_t handle, far__sec_session *sess)
{
    far__ctx_table *t = s->ctxs;
    svc_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return FAR_ENOMEM;
    x->handle = handle;
    memcpy(x->owner, owner, owner_len);
    x->owner_len = owner_len;
    x->boot = boot;
    x->sec = sess;
    atomic_init(&x->last_ns, far__now_ns());
    atomic_init(&x->refs, 1);
    atomic_init(&x->dead, false);
    atomic_init(&x->gone, false);
    pthread_mutex_lock(&t->mu);
    if (t->n >= CTX_MAX)
        evict_oldest(t);
    size_t hb = x->handle & (CTX_BUCKETS - 1);
    x->hnext = t->by_handle[hb];
    t->by_handle[hb] = x;
    t->n++;
    pthread_mutex_unlock(&t->mu);
    return FAR_OK;
}

svc_ctx *far__svc_ctx_get(far_server *s, uint64_t handle, uint64_t now)
{
    far__ctx_table *t = s->ctxs;
    pthread_mutex_lock(&t->mu);
    svc_ctx *x = t->by_handle[handle & (CTX_BUCKETS - 1)];
    while (x && x->handle != handle)
        x = x->hnext;
    if (x) {
        atomic_fetch_add(&x->refs, 1);
        atomic_store_explicit(&x->last_ns, now, memory_order_relaxed);
    }
    pthread_mutex_unlock(&t->mu);
    return x;
}

unsigned long far__svc_ctx_restarts(far_server *s)
{
    pthread_mutex_lock(&s->ctxs->mu);
    unsigned long n = s->ctxs->restarts;
    pthread_mutex_unlock(&s->ctxs->mu);
    return n;
}

/* The authenticate stage's part for FAR_CTX (after the flavor's own
 * checks, msg/ctx.c).  INIT is answered by the runtime for any program, as
 * a NULL procedure is (RFC 2203 §5.2.2), its verifier carrying the handle
 * and this server's boot; a DATA call gets its context and its deadline,
 * or is denied RPCSEC_GSS_CTXPROBLEM if its handle is not one of this
 * server life's. */
far__ctx_res far__svc_ctx_attach(far_server *s, far_svc_req *r)
{
    far__ctx_cred *cr = &r->auth.ctx;
    if (cr->proc == FAR__CTX_INIT && (cr->caps & FAR__SEC_INIT_CAPS))
        return far__svc_sec_init(s, r); /* a handshake (sec.c) */
    if (cr->proc == FAR__CTX_INIT) {
        uint64_t h;
        if (far__svc_ctx_init(s, cr->owner, cr->owner_len, cr->boot, &h) != FAR_OK)
            return FAR__CTX_R_DROP; /* out of memory: the client's probe times out */
        uint8_t hb[8];
        far_xdr_store_u64(hb, h);
        far__ctx_set_verf(&r->auth, s->ctxs->boot, hb, sizeof hb);
        return FAR__CTX_R_INIT;
    }
    uint64_t now = far__svc_req_now(r); /* the context's use and the deadline */
    if (cr->handle_len != 8)
        return FAR__CTX_R_UNKNOWN;
    uint64_t handle = far_xdr_load_u64(cr->handle);
    /* The connection's last context first (no lock: a connection's calls
     * are nearly always one client's); the table's otherwise. */
    conn *c = r->reading;
    svc_ctx *x = c ? c->ctx_last : NULL;
    if (x && x->handle == handle && !atomic_load_explicit(&x->gone, memory_order_acquire)) {
        atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
        atomic_store_explicit(&x->last_ns, now, memory_order_relaxed);
    } else {
        if (!(x = far__svc_ctx_get(s, handle, now)))
            return FAR__CTX_R_UNKNOWN;
        if (c) {
            far__svc_ctx_put(c->ctx_last);
            atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
            c->ctx_last = x;
        }
    }
    far__svc_ctx_put(r->ctx);
    r->ctx = x;
    memcpy(r->auth.verf, s->ctxs->data_verf, sizeof s->ctxs->data_verf);
    r->auth.verf_len = sizeof s->ctxs->data_verf;
    if ((x->sec || cr->service != FAR__CTX_SVC_NONE) &&
        far__svc_sec_check(s, r, x) != FAR__CTX_R_DATA)
        return FAR__CTX_R_DENY; /* (r->ctx is let go with r) */
    r->deadline_ns =
        cr->deadline_us && cr->deadline_us < DEADLINE_MAX_US ? now + cr->deadline_us * 1000u : 0;
    return FAR__CTX_R_DATA;
}
