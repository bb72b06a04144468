/* The program the FAR_CTX tests serve (test_rt_ctx.c, and the server
 * process test_rt_ctx_helper.c): calls that hold, poll their cancellation,
 * report their deadline, count their runs. */
#ifndef TESTS_RT_CTX_COMMON_H
#define TESTS_RT_CTX_COMMON_H

#include <farcall/rpc.h>

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#define CPROG 0x20000131u
enum { C_NULL = 0, C_HOLD = 1, C_REMAINING = 2, C_COUNT = 3, C_FWD = 4, C_UID = 5, C_MARK = 6 };
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
};
static const far_program_desc cprog = {FAR_DESC_SIZES,  .prog = CPROG,
                                       .vers = 1,       .name = "CPROG",
                                       .procs = cprocs, .nprocs = sizeof cprocs / sizeof cprocs[0]};

#endif
