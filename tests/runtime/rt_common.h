/* Shared pieces of the runtime tests: a test program with hand-written codecs
 * (the pattern fargen's output follows), server start-up helpers, timing. */
#ifndef TESTS_RT_COMMON_H
#define TESTS_RT_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <farcall/rpc.h>

#define TPROG          0x20000101u
#define FAR__TEST_N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    P_NULL = 0,
    P_ECHO = 1,   /* opaque<> -> opaque<> */
    P_ADD = 2,    /* {int a; int b;} -> int */
    P_SLEEP = 3,  /* unsigned ms -> unsigned ms, sleeping that long */
    P_WHOAMI = 4, /* void -> {uid, gid, ngids, gids<16>, string machine<255>} */
    P_FAIL = 5,   /* int far_err -> void: the handler returns that code */
    P_CONC = 6,   /* unsigned ms -> unsigned: sleeps, returns the peak concurrency seen */
    P_FWD = 7,    /* string addr -> int: calls ADD(20, 22) on addr from the handler */
    P_STOP = 8,   /* void -> void: far_server_stop from inside a handler */
};

typedef struct blob {
    uint32_t len;
    uint8_t *val;
} blob;

typedef struct add_args {
    int32_t a, b;
} add_args;

typedef struct whoami_res {
    uint32_t flavor, uid, gid, ngids;
    uint32_t gids[16];
    char *machine;
} whoami_res;

static inline bool blob_enc(far_xdr_enc *e, const void *v)
{
    const blob *b = v;
    return far_xdr_put_opaque(e, b->val, b->len, FAR_XDR_UNBOUNDED);
}
static inline bool blob_dec(far_xdr_dec *d, void *v)
{
    blob *b = v;
    return far_xdr_get_opaque(d, &b->val, &b->len, FAR_XDR_UNBOUNDED);
}
static inline bool add_enc(far_xdr_enc *e, const void *v)
{
    const add_args *a = v;
    return far_xdr_put_i32(e, a->a) && far_xdr_put_i32(e, a->b);
}
static inline bool add_dec(far_xdr_dec *d, void *v)
{
    add_args *a = v;
    return far_xdr_get_i32(d, &a->a) && far_xdr_get_i32(d, &a->b);
}
static inline bool u32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static inline bool u32_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}
static inline bool str_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_string(e, *(char *const *)v, 255);
}
static inline bool str_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_string(d, (char **)v, 255);
}
static inline bool who_enc(far_xdr_enc *e, const void *v)
{
    const whoami_res *w = v;
    return far_xdr_put_u32(e, w->flavor) && far_xdr_put_u32(e, w->uid) &&
           far_xdr_put_u32(e, w->gid) && far_xdr_put_count(e, w->ngids, 16) &&
           far_xdr_put_u32_array(e, w->gids, w->ngids) && far_xdr_put_string(e, w->machine, 255);
}
static inline bool who_dec(far_xdr_dec *d, void *v)
{
    whoami_res *w = v;
    return far_xdr_get_u32(d, &w->flavor) && far_xdr_get_u32(d, &w->uid) &&
           far_xdr_get_u32(d, &w->gid) && far_xdr_get_count(d, &w->ngids, 16, 4) &&
           far_xdr_get_u32_array(d, w->gids, w->ngids) && far_xdr_get_string(d, &w->machine, 255);
}

/* ------------------------------------------------------------ handlers */

typedef struct tstate {
    pthread_mutex_t mu;
    unsigned conc, peak;
    unsigned calls;
    far_server *self;
} tstate;

static inline void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline far_err h_echo(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    *(blob *)res = *(const blob *)a; /* points into the request: no copy */
    return FAR_OK;
}
static inline far_err h_add(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    const add_args *x = a;
    *(int32_t *)res = x->a + x->b;
    return FAR_OK;
}
static inline far_err h_sleep(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    sleep_ms(*(const uint32_t *)a);
    *(uint32_t *)res = *(const uint32_t *)a;
    return FAR_OK;
}
static inline far_err h_whoami(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)a;
    whoami_res *w = res;
    const far_auth_sys *cr = far_svc_req_auth_sys(r);
    if (!cr) {
        w->flavor = FAR_AUTH_NONE;
        w->machine = "";
        return FAR_OK;
    }
    w->flavor = FAR_AUTH_SYS;
    w->uid = cr->uid, w->gid = cr->gid, w->ngids = cr->ngids;
    memcpy(w->gids, cr->gids, sizeof w->gids);
    char *m = far_arena_alloc(far_svc_req_arena(r), strlen(cr->machinename) + 1);
    if (!m)
        return FAR_ESYSTEM_ERR;
    strcpy(m, cr->machinename);
    w->machine = m;
    return FAR_OK;
}
static inline far_err h_fail(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)res;
    int32_t code = *(const int32_t *)a;
    if (code == FAR_EAUTH)
        far_svc_req_set_auth_stat(r, 7 /* AUTH_FAILED */);
    return (far_err)code;
}
static inline far_err h_conc(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r;
    tstate *t = (tstate *)impl;
    pthread_mutex_lock(&t->mu);
    t->calls++;
    if (++t->conc > t->peak)
        t->peak = t->conc;
    pthread_mutex_unlock(&t->mu);
    sleep_ms(*(const uint32_t *)a);
    pthread_mutex_lock(&t->mu);
    t->conc--;
    *(uint32_t *)res = t->peak;
    pthread_mutex_unlock(&t->mu);
    return FAR_OK;
}
static inline far_err h_fwd(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    far_client *c;
    far_err rc = far_client_open(&c, *(char *const *)a, NULL);
    if (rc != FAR_OK)
        return FAR_ESYSTEM_ERR;
    add_args x = {20, 22};
    rc = far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, res, NULL, NULL);
    far_client_destroy(c);
    return rc == FAR_OK ? FAR_OK : FAR_ESYSTEM_ERR;
}
static inline far_err h_stop(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r, (void)a, (void)res;
    far_server_stop(((tstate *)impl)->self);
    return FAR_OK;
}

static const far_proc_desc tprocs_v1[] = {
    {P_NULL, "NULL", NULL, NULL, 0, 0, NULL},
    {P_ECHO, "ECHO", blob_dec, blob_enc, sizeof(blob), sizeof(blob), h_echo},
    {P_ADD, "ADD", add_dec, u32_enc, sizeof(add_args), sizeof(int32_t), h_add},
    {P_SLEEP, "SLEEP", u32_dec, u32_enc, 4, 4, h_sleep},
    {P_WHOAMI, "WHOAMI", NULL, who_enc, 0, sizeof(whoami_res), h_whoami},
    {P_FAIL, "FAIL", u32_dec, NULL, 4, 0, h_fail},
    {P_CONC, "CONC", u32_dec, u32_enc, 4, 4, h_conc},
    {P_FWD, "FWD", str_dec, u32_enc, sizeof(char *), 4, h_fwd},
    {P_STOP, "STOP", NULL, NULL, 0, 0, h_stop},
};
static const far_program_desc tprog_v1 = {FAR_DESC_SIZES,     .prog = TPROG,
                                          .vers = 1,          .name = "TPROG",
                                          .procs = tprocs_v1, .nprocs = FAR__TEST_N(tprocs_v1)};
static const far_proc_desc tprocs_v2[] = {{P_NULL, "NULL", NULL, NULL, 0, 0, NULL}};
static const far_program_desc tprog_v2 = {FAR_DESC_SIZES,  .prog = TPROG,      .vers = 2,
                                          .name = "TPROG", .procs = tprocs_v2, .nprocs = 1};

/* A running test server with the test program (versions 1 and 2) listening
 * on `addr`; its bound address is written to bound. */
typedef struct tserver {
    far_server *s;
    tstate st;
    char bound[128];
} tserver;

static inline void tserver_start(tserver *t, const char *addr, const far_server_opts *o)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->st.mu, NULL);
    assert_int_equal(far_server_create(&t->s, o), FAR_OK);
    t->st.self = t->s;
    assert_int_equal(far_server_add_program(t->s, &tprog_v1, &t->st), FAR_OK);
    assert_int_equal(far_server_add_program(t->s, &tprog_v2, &t->st), FAR_OK);
    assert_int_equal(far_server_listen(t->s, addr, t->bound, sizeof t->bound), FAR_OK);
    assert_int_equal(far_server_start(t->s), FAR_OK);
}

static inline void tserver_stop(tserver *t)
{
    far_server_destroy(t->s);
    t->s = NULL;
    pthread_mutex_destroy(&t->st.mu);
}

/* A unix socket path in a fresh temporary directory. */
static inline void tmp_unix(char *buf, size_t n, const char *name)
{
    char dir[] = "/tmp/farcall-rt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(buf, n, "unix:%s/%s", dir, name);
}

static inline void tmp_unix_cleanup(const char *addr)
{
    char path[256];
    snprintf(path, sizeof path, "%s", addr + 5);
    unlink(path);
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = 0;
        rmdir(path);
    }
}

#endif
