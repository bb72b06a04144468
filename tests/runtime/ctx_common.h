/* The program the FAR_CTX tests serve (test_rt_ctx.c, and the server
 * process test_rt_ctx_helper.c): calls that hold, poll their cancellation,
 * report their deadline, count their runs. */
#ifndef TESTS_RT_CTX_COMMON_H
#define TESTS_RT_CTX_COMMON_H

#include <farcall/rpc.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#define CPROG 0x20000131u
enum {
    C_NULL = 0,
    C_HOLD = 1,
    C_REMAINING = 2,
    C_COUNT = 3,
    C_FWD = 4,
    C_UID = 5,
    C_MARK = 6,
    C_WAIT = 7
};
#define C_MARKS 4096

static inline bool cu32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static inline bool cu32_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}

static inline double cnow_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void csleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* What the handlers saw. */
typedef struct cstate {
    atomic_int hold_started, hold_cancelled, hold_ended;
    _Atomic double hold_seen_ms; /* when a HOLD saw itself cancelled, after it started */
    atomic_int counted;
    far_client *fwd;           /* FWD calls REMAINING through it */
    atomic_int marks[C_MARKS]; /* MARK(i): how often call i ran */
} cstate;

/* HOLD(ms): up to ms milliseconds, polling far_svc_req_cancelled every
 * millisecond; 1 if it saw itself cancelled. */
static inline far_err c_hold(const void *impl, far_svc_req *r, const void *a, void *res)
{
    cstate *s = (cstate *)impl;
    uint32_t ms = *(const uint32_t *)a;
    double t0 = cnow_ms();
    atomic_fetch_add(&s->hold_started, 1);
    uint32_t seen = 0;
    while (cnow_ms() - t0 < ms) {
        if (far_svc_req_cancelled(r)) {
            atomic_store(&s->hold_seen_ms, cnow_ms() - t0);
            atomic_fetch_add(&s->hold_cancelled, 1);
            seen = 1;
            break;
        }
        csleep_ms(1);
    }
    atomic_fetch_add(&s->hold_ended, 1);
    *(uint32_t *)res = seen;
    return FAR_OK;
}

/* WAIT(ms): up to ms milliseconds on a condition variable that only its
 * cancel callback (far_svc_req_on_cancel) signals -- no polling; 1 if the
 * callback ran. */
typedef struct cwait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool fired;
} cwait;

static inline void c_wait_cb(void *user)
{
    cwait *w = user;
    pthread_mutex_lock(&w->mu);
    w->fired = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static inline far_err c_wait(const void *impl, far_svc_req *r, const void *a, void *res)
{
    cstate *s = (cstate *)impl;
    uint32_t ms = *(const uint32_t *)a;
    double t0 = cnow_ms();
    atomic_fetch_add(&s->hold_started, 1);
    cwait w = {.fired = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (far_svc_req_on_cancel(r, c_wait_cb, &w) != FAR_OK)
        ms = 0; /* (refused: nothing to wait for; the test sees no callback) */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w.mu);
    while (!w.fired && pthread_cond_timedwait(&w.cv, &w.mu, &until) == 0)
        ;
    bool fired = w.fired;
    pthread_mutex_unlock(&w.mu);
    far_err un = far_svc_req_on_cancel(r, NULL, NULL); /* (waits for a callback running) */
    (void)un;
    if (fired) {
        atomic_store(&s->hold_seen_ms, cnow_ms() - t0);
        atomic_fetch_add(&s->hold_cancelled, 1);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    atomic_fetch_add(&s->hold_ended, 1);
    *(uint32_t *)res = fired;
    return FAR_OK;
}

static inline far_err c_remaining(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)a;
    *(uint32_t *)res = far_svc_req_remaining_ms(r);
    return FAR_OK;
}

/* COUNT(ms): counts the run, then sleeps ms (not polling). */
static inline far_err c_count(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r;
    cstate *s = (cstate *)impl;
    atomic_fetch_add(&s->counted, 1);
    csleep_ms(*(const uint32_t *)a);
    *(uint32_t *)res = 0;
    return FAR_OK;
}

/* FWD: REMAINING of the server s->fwd is open to, called from here. */
static inline far_err c_fwd(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r, (void)a;
    cstate *s = (cstate *)impl;
    return far_client_call(s->fwd, CPROG, 1, C_REMAINING, NULL, NULL, cu32_dec, res, NULL, NULL);
}

static inline far_err c_uid(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)a;
    const far_auth_sys *sys = far_svc_req_auth_sys(r);
    *(uint32_t *)res = sys ? sys->uid : UINT32_MAX;
    return FAR_OK;
}

/* MARK(i): counts a run of call i (at-most-once: never more than one). */
static inline far_err c_mark(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r;
    cstate *s = (cstate *)impl;
    uint32_t i = *(const uint32_t *)a;
    if (i < C_MARKS)
        atomic_fetch_add(&s->marks[i], 1);
    *(uint32_t *)res = i;
    return FAR_OK;
}

static const far_proc_desc cprocs[] = {
    {C_NULL, "NULL", NULL, NULL, 0, 0, NULL},
    {C_HOLD, "HOLD", cu32_dec, cu32_enc, 4, 4, c_hold},
    {C_REMAINING, "REMAINING", NULL, cu32_enc, 0, 4, c_remaining},
    {C_COUNT, "COUNT", cu32_dec, cu32_enc, 4, 4, c_count},
    {C_FWD, "FWD", NULL, cu32_enc, 0, 4, c_fwd},
    {C_UID, "UID", NULL, cu32_enc, 0, 4, c_uid},
    {C_MARK, "MARK", cu32_dec, cu32_enc, 4, 4, c_mark},
    {C_WAIT, "WAIT", cu32_dec, cu32_enc, 4, 4, c_wait},
};
static const far_program_desc cprog = {FAR_DESC_SIZES,  .prog = CPROG,
                                       .vers = 1,       .name = "CPROG",
                                       .procs = cprocs, .nprocs = sizeof cprocs / sizeof cprocs[0]};

#endif
