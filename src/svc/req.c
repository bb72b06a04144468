/* Server: call objects (pooled: a call reuses its arena, encoder and input
 * buffer) and the accessors a handler uses on the call it serves. */
#include "svc/svc.h"

#include <sched.h>
#include <stdio.h>

#define INLINE_IN 512
#define POOL_MAX  1024
#define SPARE_MAX (4u << 20) /* a stolen buffer up to this size is reused */

/* Each of a server's threads keeps a few call objects of its own, so the
 * common case takes no lock; the server's pool is behind them. */
#define CACHE_MAX 32

static _Thread_local struct {
    far_server *s;
    far_svc_req *head;
    unsigned n;
} cache;

far_svc_req *far__svc_req_get(far_server *s)
{
    far_svc_req *r = NULL;
    if (cache.s == s && cache.head) {
        r = cache.head;
        cache.head = r->next;
        cache.n--;
    } else {
        pthread_mutex_lock(&s->pool_mu);
        if (s->pool) {
            r = s->pool;
            s->pool = r->next;
            s->npool--;
        }
        pthread_mutex_unlock(&s->pool_mu);
    }
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return NULL;
        r->s = s;
        far_arena_init(&r->arena, r->arena_block, sizeof r->arena_block, 0);
        if (far_xdr_enc_init_grow(&r->enc, 1024, 0) != FAR_OK) {
            free(r);
            return NULL;
        }
    }
    far__svc_req_reset(r);
    return r;
}

void far__svc_req_reset(far_svc_req *r)
{
    r->next = r->hnext = NULL;
    r->c = NULL;
    r->stolen = NULL;
    r->udp_counted = false;
    r->blocked = false;
    r->in_table = false;
    far__svc_ctx_put(r->ctx);
    r->ctx = NULL;
    r->deadline_ns = 0;
    atomic_store_explicit(&r->cancelled, false, memory_order_relaxed);
    r->reading = NULL;
    r->auth.ops = NULL;
    r->auth.has_sys = false;
    r->auth.state = NULL;
    r->auth.sec.sess = NULL;
    r->args = NULL;
    r->args_len = 0;
    r->auth.replayed = false;
    r->auth.init_res_len = 0;
    r->auth_stat = FAR_AUTH_TOOWEAK;
    atomic_store_explicit(&r->cancel_cb, CANCEL_CB_NONE, memory_order_relaxed);
    r->dl_ever = r->dl_watched = false;
    r->flat = NULL;
    r->held = 0;
    r->sp = NULL;
    r->pd = NULL;
    r->peerbuf[0] = 0;
}

void far__svc_req_free(far_svc_req *r)
{
    far_arena_fini(&r->arena);
    far_xdr_enc_fini(&r->enc);
    free(r->inbuf);
    free(r);
}

void far__svc_req_on_done(far_svc_req *r, void (*fn)(void *arg), void *arg)
{
    r->done_fn = fn;
    r->done_arg = arg;
}

void far__svc_req_put(far_server *s, far_svc_req *r)
{
    conn *c = r->c;
    if (r->dl_ever) {
        /* the deadline timer lets go of it (a callback it runs is waited for) */
        far__svc_dl_unwatch(r);
        far__svc_req_cancel_close(r);
        r->dl_ever = false;
    }
    if (r->done_fn) {
        void (*fn)(void *) = r->done_fn;
        r->done_fn = NULL;
        fn(r->done_arg); /* its reply has been written or dropped */
    }
    if (r->drc) {
        /* it ends with no reply cached: a retransmission runs it */
        far__drc_forget(s->drc, r->drc);
        r->drc = NULL;
        if (r->t == FAR__UDP)
            far__svc_req_cancel_close(r);
    }
    if (r->udp_counted) {
        r->udp_counted = false;
        atomic_fetch_sub(&s->udp_waiting, 1);
    }
    if (c && (r->held || (r->stolen && r->stolen_cap <= SPARE_MAX))) {
        pthread_mutex_lock(&c->mu);
        c->held -= r->held;
        /* Back to the connection's reader for its next big record: reading
         * into a fresh buffer faults in every page of it again. */
        if (r->stolen && r->stolen_cap <= SPARE_MAX && !c->dead && c->spare_cap < r->stolen_cap) {
            uint8_t *old = c->spare;
            c->spare = r->stolen;
            c->spare_cap = r->stolen_cap;
            r->stolen = old;
        }
        pthread_mutex_unlock(&c->mu);
    }
    far__svc_ctx_put(r->ctx);
    r->ctx = NULL;
    free(r->stolen);
    free(r->flat);
    r->stolen = r->flat = NULL;
    r->held = 0;
    far_arena_reset(&r->arena);
    far_xdr_enc_reset(&r->enc);
    r->c = NULL;
    if (c)
        far__svc_conn_put(c);
    if (r->inbuf_cap <= 65536 && r->enc.cap <= 65536 && far__svc_on_worker(s)) {
        if (cache.s != s && !cache.head)
            cache.s = s;
        if (cache.s == s && cache.n < CACHE_MAX) {
            r->next = cache.head;
            cache.head = r;
            cache.n++;
            return;
        }
    }
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool < POOL_MAX && r->inbuf_cap <= 65536 && r->enc.cap <= 65536) {
        r->next = s->pool;
        s->pool = r;
        s->npool++;
        r = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (r)
        far__svc_req_free(r);
}

bool far__svc_req_copy_in(far_svc_req *r, const uint8_t *p, size_t n)
{
    if (n > r->inbuf_cap) {
        size_t cap = n < INLINE_IN ? INLINE_IN : n;
        uint8_t *b = realloc(r->inbuf, cap);
        if (!b)
            return false;
        r->inbuf = b;
        r->inbuf_cap = cap;
    }
    if (n)
        memcpy(r->inbuf, p, n);
    r->in = r->inbuf;
    r->in_len = n;
    return true;
}

/* A thread of s that ends gives its cached call objects back to the pool. */
void far__svc_req_cache_flush(far_server *s)
{
    if (cache.s != s)
        return;
    while (cache.head) {
        far_svc_req *r = cache.head;
        cache.head = r->next;
        pthread_mutex_lock(&s->pool_mu);
        r->next = s->pool;
        s->pool = r;
        s->npool++;
        pthread_mutex_unlock(&s->pool_mu);
    }
    cache.n = 0;
    cache.s = NULL;
}

/* A request is answered (or dropped): it no longer counts as in flight. */
void far__svc_req_done_count(far_server *s)
{
    if (atomic_fetch_sub(&s->inflight, 1) == 1 && atomic_load(&s->state) == ST_STOPPING)
        far__svc_finish_stop(s);
}

/* ------------------------------------------------------------ accessors */

FAR__API uint32_t far_svc_req_prog(const far_svc_req *r)
{
    return r ? r->h.prog : 0;
}

FAR__API uint32_t far_svc_req_vers(const far_svc_req *r)
{
    return r ? r->h.vers : 0;
}

FAR__API uint32_t far_svc_req_proc(const far_svc_req *r)
{
    return r ? r->h.proc : 0;
}

FAR__API uint32_t far_svc_req_xid(const far_svc_req *r)
{
    return r ? r->h.xid : 0;
}

bool far__svc_req_expired(const far_svc_req *r)
{
    return (r->ctx && atomic_load_explicit(&r->ctx->dead, memory_order_relaxed)) ||
           (r->deadline_ns && far__now_ns() >= r->deadline_ns);
}

FAR__API bool far_svc_req_cancelled(const far_svc_req *r)
{
    if (!r)
        return false;
    return atomic_load(&r->cancelled) || (r->c && atomic_load(&r->c->dead)) ||
           far__svc_req_expired(r);
}

FAR__API uint32_t far_svc_req_remaining_ms(const far_svc_req *r)
{
    if (!r || !r->deadline_ns)
        return UINT32_MAX;
    uint64_t now = far__now_ns();
    if (now >= r->deadline_ns)
        return 0;
    uint64_t ms = (r->deadline_ns - now) / 1000000u;
    return ms >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)ms;
}

FAR__API const far_auth_sys *far_svc_req_auth_sys(const far_svc_req *r)
{
    return r && r->auth.has_sys ? &r->auth.sys : NULL;
}

FAR__API const char *far_svc_req_peer(const far_svc_req *r)
{
    if (!r)
        return "";
    if (r->c)
        return r->c->peer;
    far_svc_req *m = (far_svc_req *)r;
    if (!m->peerbuf[0])
        far__addr_format(FAR__UDP, (struct sockaddr *)&m->peer, m->peer_len, m->peerbuf,
                         sizeof m->peerbuf);
    return m->peerbuf;
}

const char *far__svc_req_who(const far_svc_req *r)
{
    return r && r->c ? r->c->who : far_svc_req_peer(r);
}

FAR__API far_arena *far_svc_req_arena(far_svc_req *r)
{
    return r ? &r->arena : NULL;
}

FAR__API void far_svc_req_set_auth_stat(far_svc_req *r, int auth_stat)
{
    if (r)
        r->auth_stat = auth_stat;
}

static void dl_watch(far_svc_req *r);

FAR__API far_err far_svc_req_on_cancel(far_svc_req *r, void (*fn)(void *user), void *user)
{
    if (!r)
        return FAR_EMISUSE;
    if (!fn) {
        /* Unregistered: a callback running is waited for. */
        for (;;) {
            int st = atomic_load(&r->cancel_cb);
            if (st == CANCEL_CB_RUNNING) {
                sched_yield();
                continue;
            }
            if (st != CANCEL_CB_SET ||
                atomic_compare_exchange_weak(&r->cancel_cb, &st, CANCEL_CB_NONE))
                return FAR_OK;
        }
    }
    if (atomic_load(&r->cancel_cb) != CANCEL_CB_NONE)
        return FAR_EMISUSE; /* one at a time; a fired one is not set again */
    r->cancel_fn = fn;
    r->cancel_user = user;
    atomic_store(&r->cancel_cb, CANCEL_CB_SET);
    /* Cancelled already (before, or while it was being set): run it here. */
    int set = CANCEL_CB_SET;
    if (far_svc_req_cancelled(r) &&
        atomic_compare_exchange_strong(&r->cancel_cb, &set, CANCEL_CB_RUNNING)) {
        fn(user);
        atomic_store(&r->cancel_cb, CANCEL_CB_FIRED);
        return FAR_OK;
    }
    if (r->deadline_ns && r->s && !r->dl_ever)
        dl_watch(r); /* its deadline fires it too (timed termination) */
    return FAR_OK;
}

/* ------------------------------------------------------------ deadlines */

/* A handler waiting on its cancel callback (a condition variable, say)
 * rather than polling far_svc_req_cancelled learns of its deadline the same
 * way: the call is watched by one timer of the server's, armed for the
 * earliest deadline watched, and the callback runs on the loop thread the
 * timer fires on.  The list holds at most one call per running handler. */
static void dl_arm_locked(far_server *s)
{
    uint64_t first = 0;
    for (far_svc_req *r = s->dl_head; r; r = r->dl_next)
        if (!first || r->deadline_ns < first)
            first = r->deadline_ns;
    if (first)
        far__timer_start(&s->loop, &s->dl_timer, first);
    else
        far__timer_stop(&s->loop, &s->dl_timer);
}

static void dl_watch(far_svc_req *r)
{
    far_server *s = r->s;
    r->dl_ever = true;
    pthread_mutex_lock(&s->dlmu);
    r->dl_prev = NULL;
    r->dl_next = s->dl_head;
    if (s->dl_head)
        s->dl_head->dl_prev = r;
    s->dl_head = r;
    r->dl_watched = true;
    if (!far__timer_armed(&s->loop, &s->dl_timer) || r->deadline_ns < s->dl_timer.when)
        far__timer_start(&s->loop, &s->dl_timer, r->deadline_ns);
    pthread_mutex_unlock(&s->dlmu);
}

static void dl_unlink_locked(far_server *s, far_svc_req *r)
{
    if (r->dl_prev)
        r->dl_prev->dl_next = r->dl_next;
    else
        s->dl_head = r->dl_next;
    if (r->dl_next)
        r->dl_next->dl_prev = r->dl_prev;
    r->dl_next = r->dl_prev = NULL;
    r->dl_watched = false;
}

void far__svc_dl_unwatch(far_svc_req *r)
{
    far_server *s = r->s;
    pthread_mutex_lock(&s->dlmu);
    if (r->dl_watched)
        dl_unlink_locked(s, r);
    pthread_mutex_unlock(&s->dlmu);
}

void far__svc_dl_fired(far__timer *t, void *arg)
{
    (void)t;
    far_server *s = arg;
    uint64_t now = far__now_ns();
    far_svc_req *run = NULL;
    pthread_mutex_lock(&s->dlmu);
    for (far_svc_req *r = s->dl_head, *nx; r; r = nx) {
        nx = r->dl_next;
        if (r->deadline_ns > now)
            continue;
        dl_unlink_locked(s, r);
        /* (taken under dlmu: its call waits for it before it ends) */
        int set = CANCEL_CB_SET;
        if (atomic_compare_exchange_strong(&r->cancel_cb, &set, CANCEL_CB_RUNNING)) {
            r->cancel_next = run;
            run = r;
        }
    }
    dl_arm_locked(s);
    pthread_mutex_unlock(&s->dlmu);
    far__svc_run_cancel_cbs(run);
}

uint64_t far__svc_req_conn_key(const far_svc_req *r)
{
    /* a slot's index and its generation: the same pair never names two
     * connections of one server */
    return r->c ? ((uint64_t)r->c->gen << 24 | r->c->idx) + 1 : 0;
}

FAR__API far_err far_svc_req_peer_cred(const far_svc_req *r, uint32_t *uid, uint32_t *gid)
{
    if (!r || !r->c || r->t != FAR__UNIX)
        return FAR_EMISUSE;
    struct ucred uc;
    socklen_t len = sizeof uc;
    if (getsockopt(r->c->st.fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
        return FAR_EIO;
    if (uid)
        *uid = (uint32_t)uc.uid;
    if (gid)
        *gid = (uint32_t)uc.gid;
    return FAR_OK;
}
