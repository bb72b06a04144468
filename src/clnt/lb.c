/* The balancer: a client opened on a name several servers provide
 * (farcall/cluster.h).  It holds one ordinary client per instance, keeps
 * the set as its source (hooks.h: etcd, a list of binders) reports it,
 * checks every instance with the NULL procedure from a thread of its own,
 * and gives each call to one healthy instance by its policy -- by default
 * the power of two choices on calls in flight (Mitzenmacher; gRPC's
 * least_request, Envoy's LEAST_REQUEST), weighted by each instance's
 * recent latency (Finagle's and Linkerd's p2c; see cost()), so a slow
 * instance is picked less.  A call (sync or async) that fails on an
 * instance is made again on another one when its semantics allow it
 * (docs/semantics.md; far__lb_call below).  client.c hands every call of
 * a balanced client here (c->lb). */
#include "clnt/clnt.h"

#include "farcall/cluster.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#define HEALTH_MS       250 /* between two rounds of NULL calls */
#define PING_TIMEOUT_MS 250
#define EJECT_PINGS     2 /* failed NULL calls in a row that eject */
#define ADMIT_PINGS     2 /* answered ones that let an ejected instance back */
#define EJECT_CALLS     3 /* failed calls in a row that eject */
#define MAX_TRIES       8 /* instances one sync call is tried on */
#define WAIT_HEALTHY_MS 20
#define DECAY_NS        1000000000u /* a latency not measured again counts half after 1 s */
#define MAX_SET         256         /* instances a client balances over (the sources' bound) */

typedef struct inst {
    char addr[256];
    far_client *cl; /* opened by the health thread (under lb->mu once set) */
    _Atomic uint32_t in_flight;
    _Atomic uint64_t calls, failures;
    _Atomic uint64_t ewma_us; /* answered calls' latency, smoothed (1/8); 0: none yet */
    _Atomic uint64_t ewma_at; /* when it was last updated (far__now_ns) */
    atomic_int fails_in_row;
    atomic_bool healthy;
    bool ever_healthy;      /* (health thread) */
    int ping_fail, ping_ok; /* (health thread) */
    bool gone;              /* out of the set (under mu) ... */
    struct inst *gone_next; /* ... and on lb->gone until its last user lets go */
    int refs;               /* the set's, plus each user (under mu) */
} inst;

struct far__lb {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the health thread's sleep; an instance became healthy */
    inst **v;          /* the set, by address */
    size_t n, cap;
    uint32_t prog, vers;
    atomic_int policy;
    _Atomic uint64_t rr;
    far_client_opts o; /* for the instances' clients */
    far_auth_sys cred; /* (o.cred points here) */
    char owner[FAR__CTX_MAX_OWNER + 1];
    const far__source *sops;
    void *src;
    inst *gone; /* out of the set, still used (under mu) */
    pthread_t health;
    bool health_started, stop, destroying;
    bool reap; /* destroyed from a callback: the health thread ends it (under mu) */
    /* Callers that may still touch an instance's client (under mu): sync
     * callers for their whole call, async starts (and the retries in their
     * callbacks) until the instance's client has the call.  A destroy frees
     * nothing before they are out. */
    int active;
    far_client *self; /* the handle far_client_open gave out: freed with lb */
};

/* Balanced clients opened and not yet freed (far__lb_alive: a test's way to
 * see that a destroy has finished). */
static atomic_uint lb_alive;

unsigned far__lb_alive(void)
{
    return atomic_load(&lb_alive);
}

/* ------------------------------------------------------------ instances */

static void inst_free(inst *i)
{
    far_client_destroy(i->cl);
    free(i);
}

/* Drops one reference (mu held); returns the instance to free after the
 * lock is dropped, if it was the last -- not while the client is being
 * destroyed: lb_free then frees every instance, in the set or gone. */
static inst *inst_unref(far__lb *lb, inst *i)
{
    if (--i->refs > 0 || lb->destroying)
        return NULL;
    /* (the set's reference is gone: so is i) */
    for (inst **pp = &lb->gone; *pp; pp = &(*pp)->gone_next)
        if (*pp == i) {
            *pp = i->gone_next;
            break;
        }
    return i;
}

/* The source's report: the whole set (from its thread, or from open). */
static void on_set(void *user, const char *const *addrs, size_t n)
{
    far__lb *lb = user;
    inst *drop[MAX_SET];
    size_t ndrop = 0;
    pthread_mutex_lock(&lb->mu);
    if (lb->destroying) { /* (the set is lb_free's now) */
        pthread_mutex_unlock(&lb->mu);
        return;
    }
    /* what is no longer there */
    for (size_t i = 0; i < lb->n;) {
        bool keep = false;
        for (size_t j = 0; j < n && !keep; j++)
            keep = strcmp(lb->v[i]->addr, addrs[j]) == 0;
        if (keep) {
            i++;
            continue;
        }
        inst *x = lb->v[i];
        memmove(&lb->v[i], &lb->v[i + 1], (lb->n - i - 1) * sizeof *lb->v);
        lb->n--;
        x->gone = true;
        x->gone_next = lb->gone;
        lb->gone = x;
        atomic_store(&x->healthy, false);
        inst *f = inst_unref(lb, x);
        if (f && ndrop < FAR__ARRAY_LEN(drop))
            drop[ndrop++] = f;
        far__log_info("balancer: %s left the set", x->addr);
    }
    /* what is new: not healthy until the health thread has heard it */
    for (size_t j = 0; j < n; j++) {
        size_t at = 0;
        bool have = false;
        while (at < lb->n && !have) {
            int c = strcmp(lb->v[at]->addr, addrs[j]);
            if (c == 0)
                have = true;
            else if (c > 0)
                break;
            else
                at++;
        }
        if (have)
            continue;
        if (lb->n == lb->cap) {
            size_t cap = lb->cap ? lb->cap * 2 : 8;
            inst **nv = realloc(lb->v, cap * sizeof *nv);
            if (!nv)
                break;
            lb->v = nv, lb->cap = cap;
        }
        inst *x = calloc(1, sizeof *x);
        if (!x)
            break;
        snprintf(x->addr, sizeof x->addr, "%s", addrs[j]);
        x->refs = 1;
        memmove(&lb->v[at + 1], &lb->v[at], (lb->n - at) * sizeof *lb->v);
        lb->v[at] = x;
        lb->n++;
    }
    pthread_cond_broadcast(&lb->cv); /* the health thread looks at the new ones */
    pthread_mutex_unlock(&lb->mu);
    for (size_t i = 0; i < ndrop; i++)
        inst_free(drop[i]);
}

/* ------------------------------------------------------------ health */

static void eject(far__lb *lb, inst *x, const char *why)
{
    if (atomic_exchange(&x->healthy, false))
        far__log_info("balancer: %s ejected (%s)", x->addr, why);
    (void)lb;
}

/* One NULL call to x (the health thread's). */
static void check(far__lb *lb, inst *x)
{
    far_err rc = FAR_OK;
    if (!x->cl) {
        far_client_opts o = lb->o;
        o.timeout_ms = PING_TIMEOUT_MS;
        far_client *cl;
        rc = far_client_open(&cl, x->addr, &o);
        if (rc == FAR_OK) {
            cl->lb_member = true;
            pthread_mutex_lock(&lb->mu);
            x->cl = cl;
            pthread_mutex_unlock(&lb->mu);
        }
    }
    if (rc == FAR_OK) {
        far_call_opts co = {.timeout_ms = PING_TIMEOUT_MS, .semantics = FAR_SEM_AT_LEAST_ONCE};
        rc = far_client_call(x->cl, lb->prog, lb->vers, 0, NULL, NULL, NULL, NULL, NULL, &co);
    }
    if (rc == FAR_OK) {
        x->ping_fail = 0;
        x->ping_ok++;
        /* a new one at its first answer; an ejected one after ADMIT_PINGS */
        if (!atomic_load(&x->healthy) && (!x->ever_healthy || x->ping_ok >= ADMIT_PINGS)) {
            atomic_store(&x->fails_in_row, 0);
            if (x->ever_healthy)
                far__log_info("balancer: %s let back (it answers again)", x->addr);
            x->ever_healthy = true;
            atomic_store(&x->healthy, true);
            pthread_mutex_lock(&lb->mu);
            pthread_cond_broadcast(&lb->cv);
            pthread_mutex_unlock(&lb->mu);
        }
    } else {
        x->ping_ok = 0;
        if (++x->ping_fail >= EJECT_PINGS)
            eject(lb, x, "no answer to the NULL procedure");
    }
}

/* One round over a snapshot of the set (references held). */
static void health_round(far__lb *lb)
{
    pthread_mutex_lock(&lb->mu);
    size_t n = lb->n;
    inst **snap = calloc(n ? n : 1, sizeof *snap);
    if (!snap) {
        pthread_mutex_unlock(&lb->mu);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        snap[i] = lb->v[i];
        snap[i]->refs++;
    }
    pthread_mutex_unlock(&lb->mu);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&lb->mu);
        bool stop = lb->stop; /* (destroyed: its instances' clients are cancelled) */
        pthread_mutex_unlock(&lb->mu);
        if (stop)
            break;
        check(lb, snap[i]);
    }
    pthread_mutex_lock(&lb->mu);
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        if ((snap[nf] = inst_unref(lb, snap[i])))
            nf++;
    pthread_mutex_unlock(&lb->mu);
    for (size_t i = 0; i < nf; i++)
        inst_free(snap[i]);
    free(snap);
}

static void lb_free(far__lb *lb);

static void *health_main(void *arg)
{
    far__lb *lb = arg;
    pthread_mutex_lock(&lb->mu);
    while (!lb->stop) {
        pthread_mutex_unlock(&lb->mu);
        health_round(lb);
        pthread_mutex_lock(&lb->mu);
        if (lb->stop)
            break;
        /* sooner when an instance is new, never faster than every 10 ms */
        bool fresh = false;
        for (size_t i = 0; i < lb->n && !fresh; i++)
            fresh = !lb->v[i]->cl;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long add = (fresh ? 10 : HEALTH_MS) * 1000000L;
        ts.tv_nsec += add;
        while (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&lb->cv, &lb->mu, &ts);
    }
    bool reap = lb->reap;
    pthread_mutex_unlock(&lb->mu);
    if (reap) {
        /* Destroyed from an async callback, i.e. on the I/O thread, which
         * can wait neither for this thread nor for what the end waits for
         * (the source's thread, the instances' clients): this thread ends
         * the client, once that callback has returned. */
        pthread_detach(pthread_self());
        lb_free(lb);
    }
    return NULL;
}

/* ------------------------------------------------------------ picking */

static uint64_t rnd(void)
{
    static _Thread_local uint64_t x;
    if (!x)
        x = far__now_ns() ^ (uint64_t)(uintptr_t)&x ^ 0x9e3779b97f4a7c15u;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* What a call on x is expected to cost: its calls in flight, plus this
 * one, times its recent latency (Finagle's and Linkerd's p2c "peak EWMA",
 * without the peak).  Counts in flight alone tie often -- they are small
 * integers -- and only even out the counts: an instance ten times slower
 * still got 8% of the calls in cluster_balance (1 ms and 10 ms servers, 8
 * callers); weighted by latency it gets next to none (0.5%) while the
 * others keep up.  A latency that is not
 * measured again (an instance that gets no calls) decays by half every
 * second, so that instance is tried again and measured anew; one never
 * measured costs least, and is tried at once. */
static uint64_t cost(inst *x, uint64_t now)
{
    uint64_t e = atomic_load(&x->ewma_us), at = atomic_load(&x->ewma_at);
    uint64_t halvings = now > at ? (now - at) / DECAY_NS : 0;
    e = halvings >= 32 ? 0 : e >> halvings;
    return ((uint64_t)atomic_load(&x->in_flight) + 1) * (e + 1);
}

/* A healthy instance for a call, not one of tried[] if another will do
 * (mu held): a reference taken and the call counted in flight; NULL if
 * none is healthy. */
static inst *pick(far__lb *lb, inst *const *tried, size_t ntried)
{
    inst *cand[MAX_SET];
    size_t m = 0;
    for (int pass = 0; pass < 2 && m == 0; pass++)
        for (size_t i = 0; i < lb->n && m < FAR__ARRAY_LEN(cand); i++) {
            inst *x = lb->v[i];
            if (!atomic_load(&x->healthy) || !x->cl)
                continue;
            bool was = false;
            for (size_t j = 0; pass == 0 && j < ntried && !was; j++)
                was = tried[j] == x;
            if (!was)
                cand[m++] = x;
        }
    if (m == 0)
        return NULL;
    inst *x;
    switch (atomic_load(&lb->policy)) {
    case FAR_LB_PICK_FIRST:
        x = cand[0];
        break;
    case FAR_LB_ROUND_ROBIN:
        x = cand[atomic_fetch_add(&lb->rr, 1) % m];
        break;
    default: {
        /* the power of two choices, by (calls in flight + 1) x latency */
        size_t a = rnd() % m, b = m > 1 ? (a + 1 + rnd() % (m - 1)) % m : a;
        uint64_t now = far__now_ns();
        x = cost(cand[b], now) < cost(cand[a], now) ? cand[b] : cand[a];
        break;
    }
    }
    x->refs++;
    atomic_fetch_add(&x->in_flight, 1);
    atomic_fetch_add(&x->calls, 1);
    return x;
}

static bool transport_failure(far_err rc)
{
    return rc == FAR_ECONNREFUSED || rc == FAR_ECONNLOST || rc == FAR_ETIMEDOUT ||
           rc == FAR_EPEER_DEAD || rc == FAR_ETOOMANY || rc == FAR_EUNKNOWN_OUTCOME ||
           rc == FAR_ECLOSED;
}

/* A call on x, made at `t0` (far__now_ns; 0: unknown), has ended with rc:
 * the instance's record, and ejection. */
static void account(far__lb *lb, inst *x, far_err rc, uint64_t t0)
{
    atomic_fetch_sub(&x->in_flight, 1);
    if (rc == FAR_OK && t0) {
        uint64_t us = (far__now_ns() - t0) / 1000u + 1, e = atomic_load(&x->ewma_us);
        /* (a racing update may be lost: it is an estimate) */
        atomic_store(&x->ewma_us, e ? e - e / 8 + us / 8 : us);
        atomic_store(&x->ewma_at, far__now_ns());
    }
    if (!transport_failure(rc)) {
        atomic_store(&x->fails_in_row, 0);
        return;
    }
    atomic_fetch_add(&x->failures, 1);
    int f = atomic_fetch_add(&x->fails_in_row, 1) + 1;
    if (rc == FAR_ECONNREFUSED)
        eject(lb, x, "connection refused"); /* nothing listens: no need to wait */
    else if (f >= EJECT_CALLS)
        eject(lb, x, far_strerror(rc));
}

/* True if a call that failed with rc may be made again on another instance:
 * it certainly did not run (never sent, or refused by the RPC layer), or it
 * is idempotent (at-least-once). */
static bool may_retry(far_semantics sem, far_err rc)
{
    if (rc == FAR_ECONNREFUSED || rc == FAR_ETOOMANY)
        return true; /* not sent: whatever its semantics, it did not run */
    if (rc == FAR_EPROG_UNAVAIL || rc == FAR_EPROG_MISMATCH || rc == FAR_EPROC_UNAVAIL)
        return true; /* refused before it ran (an instance of another version, as in a
                      * rolling upgrade): another instance may serve it */
    return sem == FAR_SEM_AT_LEAST_ONCE && transport_failure(rc) && rc != FAR_ECLOSED;
}

static void release(far__lb *lb, inst *x)
{
    pthread_mutex_lock(&lb->mu);
    inst *f = inst_unref(lb, x);
    pthread_mutex_unlock(&lb->mu);
    if (f)
        inst_free(f);
}

/* A caller counted in lb->active is done: it must not touch lb after this
 * (a destroy waiting for it may free lb at once). */
static void leave(far__lb *lb)
{
    pthread_mutex_lock(&lb->mu);
    if (--lb->active == 0 && lb->destroying)
        pthread_cond_broadcast(&lb->cv);
    pthread_mutex_unlock(&lb->mu);
}

/* Ends every call in flight on the instances' clients now (mu held): sync
 * callers return FAR_ECANCELED, async callbacks run with it on the I/O
 * thread, new calls are refused; the clients stay until lb_free. */
static void cancel_instances(far__lb *lb)
{
    for (size_t i = 0; i < lb->n; i++)
        far__client_cancel_all(lb->v[i]->cl);
    for (inst *x = lb->gone; x; x = x->gone_next)
        far__client_cancel_all(x->cl);
}

/* The end of a balanced client that is being destroyed (lb->destroying),
 * whose health thread has ended (joined, or it is this thread): its source
 * stops, the callers still inside get out (their calls were cancelled), the
 * instances' clients are destroyed -- their callbacks still due run
 * meanwhile, and they may touch lb -- and everything is freed.  Never on
 * the I/O thread: the source's thread and the instances' clients may wait
 * for it. */
static void lb_free(far__lb *lb)
{
    if (lb->src)
        lb->sops->close(lb->src); /* no more reports */
    pthread_mutex_lock(&lb->mu);
    while (lb->active > 0)
        pthread_cond_wait(&lb->cv, &lb->mu);
    /* Nobody changes the lists now (on_set ignores a destroyed client's
     * reports, inst_unref leaves its instances to this function); the
     * callbacks that run while the clients go only drop references. */
    pthread_mutex_unlock(&lb->mu);
    for (size_t i = 0; i < lb->n; i++)
        far_client_destroy(lb->v[i]->cl);
    for (inst *x = lb->gone; x; x = x->gone_next)
        far_client_destroy(x->cl);
    for (size_t i = 0; i < lb->n; i++)
        free(lb->v[i]);
    for (inst *x = lb->gone, *nx; x; x = nx) {
        nx = x->gone_next;
        free(x);
    }
    free(lb->v);
    pthread_mutex_destroy(&lb->mu);
    pthread_cond_destroy(&lb->cv);
    free(lb->self);
    free(lb);
    atomic_fetch_sub(&lb_alive, 1);
}

/* ------------------------------------------------------------ API */

far_err far__lb_open(far_client **out, const char *spec, const far_client_opts *opts,
                     const far__source *sops)
{
    far_client *c = calloc(1, sizeof *c);
    far__lb *lb = calloc(1, sizeof *lb);
    if (!c || !lb) {
        free(c);
        free(lb);
        return FAR_ENOMEM;
    }
    atomic_fetch_add(&lb_alive, 1);
    c->lb = lb;
    snprintf(c->spec, sizeof c->spec, "%s", spec);
    pthread_mutex_init(&lb->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&lb->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (opts)
        lb->o = *opts;
    if (lb->o.cred) {
        lb->cred = *lb->o.cred;
        lb->o.cred = &lb->cred;
    }
    if (lb->o.owner) {
        snprintf(lb->owner, sizeof lb->owner, "%s", lb->o.owner);
        lb->o.owner = lb->owner;
    }
    if (!lb->o.timeout_ms)
        lb->o.timeout_ms = 25000;
    const char *pol = getenv("FARCALL_LB");
    atomic_init(&lb->policy, pol && strcmp(pol, "pick_first") == 0    ? FAR_LB_PICK_FIRST
                             : pol && strcmp(pol, "round_robin") == 0 ? FAR_LB_ROUND_ROBIN
                                                                      : FAR_LB_P2C);
    lb->sops = sops;
    far_err rc = sops->open(spec, on_set, lb, &lb->prog, &lb->vers, &lb->src);
    if (rc != FAR_OK)
        goto fail;
    pthread_mutex_lock(&lb->mu);
    size_t n = lb->n;
    pthread_mutex_unlock(&lb->mu);
    if (n == 0) {
        far__set_last_error("%s: no instance is registered (is a server running?)", spec);
        rc = FAR_ENOTREG;
        goto fail;
    }
    /* the first round of checks before the first call: it finds the live ones */
    health_round(lb);
    if (pthread_create(&lb->health, NULL, health_main, lb) != 0) {
        rc = FAR_EIO;
        goto fail;
    }
    lb->health_started = true;
    lb->self = c;
    *out = c;
    return FAR_OK;
fail : {
    char why[512];
    snprintf(why, sizeof why, "%s", far_last_error());
    pthread_mutex_lock(&lb->mu); /* (the source's thread may be reporting) */
    lb->destroying = true;
    pthread_mutex_unlock(&lb->mu);
    lb_free(lb); /* (no health thread) */
    free(c);
    far__set_last_error("%s", why);
    return rc;
}
}

void far__lb_destroy(far__lb *lb)
{
    pthread_mutex_lock(&lb->mu);
    if (lb->destroying) { /* (again, from the same callback: once) */
        pthread_mutex_unlock(&lb->mu);
        return;
    }
    lb->destroying = true; /* no more picks, no more reports taken */
    lb->stop = true;
    cancel_instances(lb);
    /* From an async callback (the I/O thread): the health thread ends it
     * (health_main), this thread may not wait. */
    bool io = far__io_on_thread();
    lb->reap = io;
    pthread_cond_broadcast(&lb->cv); /* the health thread, callers waiting for an instance */
    pthread_mutex_unlock(&lb->mu);
    if (io)
        return;
    pthread_join(lb->health, NULL);
    lb_free(lb);
}

/* Picks for a sync call, waiting (until the deadline) for an instance to be
 * healthy when none is. */
static inst *pick_wait(far__lb *lb, inst *const *tried, size_t ntried, uint64_t deadline)
{
    pthread_mutex_lock(&lb->mu);
    inst *x = NULL;
    for (int i = 0; i < 100000 && !lb->destroying; i++) {
        if ((x = pick(lb, tried, ntried)))
            break;
        uint64_t now = far__now_ns();
        if (now >= deadline)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += WAIT_HEALTHY_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&lb->cv, &lb->mu, &ts);
    }
    pthread_mutex_unlock(&lb->mu);
    return x;
}

far_err far__lb_call(far__lb *lb, uint32_t prog, uint32_t vers, uint32_t proc,
                     far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec, void *res,
                     far_arena *arena, const far_call_opts *opts)
{
    pthread_mutex_lock(&lb->mu);
    if (lb->destroying) {
        pthread_mutex_unlock(&lb->mu);
        return FAR_ECLOSED;
    }
    lb->active++;
    pthread_mutex_unlock(&lb->mu);
    uint32_t ms = opts && opts->timeout_ms ? opts->timeout_ms : lb->o.timeout_ms;
    uint64_t deadline = far__now_ns() + (uint64_t)ms * 1000000u;
    far_semantics sem = opts ? opts->semantics : FAR_SEM_DEFAULT;
    inst *tried[MAX_TRIES];
    size_t ntried = 0;
    far_status st = {0};
    far_err rc = FAR_ENOTREG;
    snprintf(st.msg, sizeof st.msg, "%s: no healthy instance before the deadline", "balancer");
    st.err = FAR_ETIMEDOUT;
    rc = FAR_ETIMEDOUT;
    for (size_t attempt = 0; attempt < MAX_TRIES; attempt++) {
        inst *x = pick_wait(lb, tried, ntried, deadline);
        if (!x)
            break;
        uint64_t now = far__now_ns();
        far_call_opts co = {0};
        if (opts)
            co = *opts;
        co.status = &st;
        co.timeout_ms = deadline > now ? (uint32_t)((deadline - now + 999999) / 1000000u) : 1;
        uint64_t t0 = far__now_ns();
        rc = far_client_call(x->cl, prog, vers, proc, enc, args, dec, res, arena, &co);
        account(lb, x, rc, t0);
        tried[ntried++] = x; /* (compared by address only: the reference goes now) */
        bool again = rc != FAR_OK && may_retry(sem, rc) && far__now_ns() < deadline;
        if (again)
            far__log_debug("balancer: %s: %s; trying another instance", x->addr, st.msg);
        release(lb, x);
        if (!again)
            break;
    }
    pthread_mutex_lock(&lb->mu);
    if (rc != FAR_OK && lb->destroying) {
        /* its instance's call was cancelled, or refused, by the destroy;
         * or it waited for a healthy instance */
        rc = st.err = FAR_ECANCELED;
        snprintf(st.msg, sizeof st.msg,
                 "prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                 ": cancelled: the client was destroyed (balancer)",
                 prog, vers, proc);
    }
    if (--lb->active == 0 && lb->destroying)
        pthread_cond_broadcast(&lb->cv);
    pthread_mutex_unlock(&lb->mu); /* (lb may be freed from here) */
    if (opts && opts->status)
        *opts->status = st;
    if (rc != FAR_OK)
        far__set_last_error("%s", st.msg);
    return rc;
}

/* An async call of a balanced client.  Its arguments are encoded once,
 * here, so that it can be sent to another instance from the callback of a
 * failed attempt (the caller may free them once the call is made). */
typedef struct async_ctx {
    far__lb *lb;
    inst *x; /* this attempt's instance */
    far_call_cb cb;
    void *user;
    uint64_t t0, deadline;
    uint32_t prog, vers, proc;
    far_xdr_decode_fn dec;
    void *res;
    far_arena *arena;
    far_call_opts o; /* (no status, no call_id: the first attempt's are the caller's) */
    uint8_t *args;
    size_t nargs;
    inst *tried[MAX_TRIES];
    size_t ntried;
} async_ctx;

typedef struct raw_args {
    const uint8_t *p;
    size_t n;
} raw_args;

static bool enc_raw(far_xdr_enc *e, const void *v)
{
    const raw_args *r = v;
    return !r->n || far_xdr_put_opaque_fixed(e, r->p, r->n);
}

static void async_free(async_ctx *a)
{
    free(a->args);
    free(a);
}

static void async_done(const far_status *st, void *res, void *user);

/* Starts attempt `a` on an instance not tried yet if one is healthy (any
 * other: the tried ones), counted in lb->active (async_start).  FAR_OK:
 * async_done will run -- and may have run already. */
static far_err attempt(async_ctx *a, const far_call_opts *first)
{
    far__lb *lb = a->lb;
    for (;;) {
        pthread_mutex_lock(&lb->mu);
        bool closed = lb->destroying;
        inst *x = closed ? NULL : pick(lb, a->tried, a->ntried);
        pthread_mutex_unlock(&lb->mu);
        a->x = x;
        if (!x) {
            far__set_last_error(closed ? "balancer: the client is being destroyed"
                                       : "balancer: no healthy instance");
            return closed ? FAR_ECLOSED : FAR_ECONNREFUSED;
        }
        a->t0 = far__now_ns();
        far_call_opts co = first ? *first : a->o;
        uint64_t now = a->t0;
        co.timeout_ms = a->deadline > now ? (uint32_t)((a->deadline - now + 999999) / 1000000u) : 1;
        raw_args r = {a->args, a->nargs};
        far_err rc = far_client_call_async(x->cl, a->prog, a->vers, a->proc, enc_raw, &r, a->dec,
                                           a->res, a->arena, &co, async_done, a);
        if (rc == FAR_OK)
            return FAR_OK;
        account(lb, x, rc, 0);
        release(lb, x);
        /* Not started at all (an instance that died before the health
         * check saw it: its connect refused): nothing was sent, so any
         * call may go to another instance. */
        bool unsent = rc == FAR_ECONNREFUSED || rc == FAR_ECONNLOST || rc == FAR_ETOOMANY;
        if (!unsent || a->ntried >= MAX_TRIES || far__now_ns() >= a->deadline)
            return rc;
        a->tried[a->ntried++] = x;
    }
}

/* attempt(), inside lb->active: a destroy frees no instance's client while
 * the call is on its way to one.  (From the caller's thread, before any
 * destroy; or from async_done, i.e. from a callback of an instance's
 * client, which lb outlives.) */
static far_err async_start(async_ctx *a, const far_call_opts *first)
{
    far__lb *lb = a->lb;
    pthread_mutex_lock(&lb->mu);
    lb->active++;
    pthread_mutex_unlock(&lb->mu);
    far_err rc = attempt(a, first); /* (on FAR_OK, `a` may be gone already) */
    leave(lb);
    return rc;
}

static void async_done(const far_status *st, void *res, void *user)
{
    async_ctx *a = user;
    far__lb *lb = a->lb;
    inst *x = a->x;
    account(lb, x, st->err, a->t0);
    if (a->ntried < MAX_TRIES)
        a->tried[a->ntried++] = x; /* (compared by address only) */
    /* sent again, from this callback (the I/O thread), when its semantics
     * allow it and time is left; the caller's callback runs once, at the
     * end */
    bool again = st->err != FAR_OK && may_retry(a->o.semantics, st->err) && a->ntried < MAX_TRIES &&
                 far__now_ns() < a->deadline;
    if (again)
        far__log_debug("balancer: %s: %s; trying another instance", x->addr, st->msg);
    release(lb, x); /* (x may be freed from here) */
    if (again && async_start(a, NULL) == FAR_OK)
        return;
    a->cb(st, res, a->user);
    async_free(a);
}

far_err far__lb_call_async(far__lb *lb, uint32_t prog, uint32_t vers, uint32_t proc,
                           far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec,
                           void *res, far_arena *arena, const far_call_opts *opts, far_call_cb cb,
                           void *user)
{
    async_ctx *a = calloc(1, sizeof *a);
    if (!a)
        return FAR_ENOMEM;
    if (enc) {
        far_xdr_enc e;
        if (far_xdr_enc_init_grow(&e, 256, 0) != FAR_OK || !enc(&e, args)) {
            far_err rc = e.err.code ? e.err.code : FAR_ENOMEM;
            far__set_last_error("prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                                ": the arguments do not encode",
                                prog, vers, proc);
            far_xdr_enc_fini(&e);
            free(a);
            return rc;
        }
        a->nargs = far_xdr_enc_len(&e);
        a->args = malloc(a->nargs ? a->nargs : 1);
        if (a->args)
            memcpy(a->args, far_xdr_enc_data(&e), a->nargs);
        far_xdr_enc_fini(&e);
        if (!a->args) {
            free(a);
            return FAR_ENOMEM;
        }
    }
    a->lb = lb;
    a->cb = cb, a->user = user;
    a->prog = prog, a->vers = vers, a->proc = proc;
    a->dec = dec, a->res = res, a->arena = arena;
    if (opts)
        a->o = *opts;
    a->o.status = NULL;
    a->o.call_id = NULL;
    uint32_t ms = opts && opts->timeout_ms ? opts->timeout_ms : lb->o.timeout_ms;
    a->deadline = far__now_ns() + (uint64_t)ms * 1000000u;
    far_err rc = async_start(a, opts);
    if (rc != FAR_OK) {
        if (opts && opts->status && !a->x) { /* (else the instance's client said why) */
            memset(opts->status, 0, sizeof *opts->status);
            opts->status->err = rc;
            snprintf(opts->status->msg, sizeof opts->status->msg,
                     "prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32 ": %s (balancer)", prog,
                     vers, proc,
                     rc == FAR_ECLOSED ? "the client is being destroyed" : "no healthy instance");
        }
        async_free(a);
    }
    return rc;
}

far_err far__lb_cancel(far__lb *lb, uint64_t call_id)
{
    far_err rc = FAR_EMISUSE;
    pthread_mutex_lock(&lb->mu);
    for (size_t i = 0; i < lb->n && rc != FAR_OK; i++)
        if (lb->v[i]->cl)
            rc = far_client_cancel(lb->v[i]->cl, call_id);
    for (inst *x = lb->gone; x && rc != FAR_OK; x = x->gone_next) /* (one that just left) */
        if (x->cl)
            rc = far_client_cancel(x->cl, call_id);
    pthread_mutex_unlock(&lb->mu);
    return rc;
}

FAR__API far_err far_client_set_lb(far_client *c, far_lb_policy policy)
{
    if (!c || !c->lb || (unsigned)policy > FAR_LB_ROUND_ROBIN)
        return FAR_EMISUSE;
    atomic_store(&c->lb->policy, (int)policy);
    return FAR_OK;
}

FAR__API far_err far_client_instances(far_client *c, far_instance_info *out, size_t max, size_t *n)
{
    if (!c || !c->lb || !n || (max && !out))
        return FAR_EMISUSE;
    far__lb *lb = c->lb;
    pthread_mutex_lock(&lb->mu);
    *n = lb->n;
    for (size_t i = 0; i < lb->n && i < max; i++) {
        inst *x = lb->v[i];
        far_instance_info *o = &out[i];
        memset(o, 0, sizeof *o);
        snprintf(o->addr, sizeof o->addr, "%s", x->addr);
        o->healthy = atomic_load(&x->healthy) && x->cl;
        o->in_flight = atomic_load(&x->in_flight);
        o->calls = atomic_load(&x->calls);
        o->failures = atomic_load(&x->failures);
    }
    pthread_mutex_unlock(&lb->mu);
    return FAR_OK;
}
