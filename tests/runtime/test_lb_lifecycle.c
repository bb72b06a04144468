/* The lifecycle of a balanced client (farcall/cluster.h, src/clnt/lb.c):
 * far_client_destroy of a client opened on several instances
 *   (a) from one of its own async callbacks, while other async calls are
 *       outstanding on every instance;
 *   (b) from a callback while another thread is blocked in a sync call on
 *       it: that call ends with FAR_ECANCELED at once, nothing is freed
 *       under it;
 *   (c) from another thread, with async calls another thread made in
 *       flight on every instance and a sync call blocked on it.
 * Every callback runs exactly once, the calls in flight end with
 * FAR_ECANCELED well before they would have finished, the client is freed
 * (far__lb_alive) and nothing leaks or is used after it is freed (run
 * under ASan with LeakSanitizer, and under TSan).
 *
 * The instances are three real farcall servers (two on 127.0.0.1, one on a
 * Unix socket); the client finds them as PROG/VERS@B1,B2,B3 through three
 * binders, each a small farcall server on a Unix socket in /tmp that
 * answers RPCBIND GETADDR with its own instance's address.  Every loop is
 * bounded in count and time; every server is stopped by the group's
 * teardown, whatever the tests did. */
#include "rt_common.h"

#include <stdatomic.h>
#include <sys/stat.h>

#include <farcall/bind.h>
#include <farcall/cluster.h>

/* Test knob of the library (src/clnt/clnt.h). */
unsigned far__lb_alive(void);

#define LPROG   0x20000123u
#define L_SLEEP 1 /* unsigned ms -> unsigned ms: sleeps, or less if the call is cancelled */
#define NINST   3
#define SLOW_MS 5000 /* a call the tests expect to be cancelled long before it ends */
#define MAXCB   32

/* ------------------------------------------------------------ instances */

typedef struct inst_state {
    atomic_int running; /* SLEEP handlers running now */
} inst_state;

/* Sleeps until `ms` have passed or the call is cancelled (its client went):
 * the servers stop at once at the end of a test. */
static far_err h_lsleep(const void *impl, far_svc_req *r, const void *a, void *res)
{
    inst_state *is = (inst_state *)impl;
    uint32_t ms = *(const uint32_t *)a;
    atomic_fetch_add(&is->running, 1);
    double until = now_ms() + ms;
    for (unsigned i = 0; i < ms / 2 + 1 && now_ms() < until && !far_svc_req_cancelled(r); i++)
        sleep_ms(2);
    atomic_fetch_sub(&is->running, 1);
    *(uint32_t *)res = ms;
    return FAR_OK;
}

static const far_proc_desc lprocs[] = {
    {0, "NULL", NULL, NULL, 0, 0, NULL},
    {L_SLEEP, "SLEEP", u32_dec, u32_enc, 4, 4, h_lsleep},
};
static const far_program_desc lprog = {FAR_DESC_SIZES,  .prog = LPROG,   .vers = 1,
                                       .name = "LPROG", .procs = lprocs, .nprocs = 2};

/* ------------------------------------------------------------ binders */

/* RFC 1833's rpcb, the argument of GETADDR. */
typedef struct rpcb {
    uint32_t prog, vers;
    char *netid, *addr, *owner;
} rpcb;

static bool rpcb_dec(far_xdr_dec *d, void *v)
{
    rpcb *a = v;
    return far_xdr_get_u32(d, &a->prog) && far_xdr_get_u32(d, &a->vers) &&
           far_xdr_get_string(d, &a->netid, 255) && far_xdr_get_string(d, &a->addr, 255) &&
           far_xdr_get_string(d, &a->owner, 255);
}

/* The one registration a test binder knows. */
typedef struct binder_state {
    char netid[16], uaddr[160];
} binder_state;

static far_err h_getaddr(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r;
    const binder_state *b = impl;
    const rpcb *q = a;
    bool mine = q->prog == LPROG && q->vers == 1 && strcmp(q->netid, b->netid) == 0;
    *(const char **)res = mine ? b->uaddr : ""; /* "": not registered */
    return FAR_OK;
}

/* Version 2's NULL procedure (far_bind_open's probe), version 4's GETADDR. */
static const far_proc_desc bprocs_v2[] = {{0, "NULL", NULL, NULL, 0, 0, NULL}};
static const far_proc_desc bprocs_v4[] = {
    {0, "NULL", NULL, NULL, 0, 0, NULL},
    {3, "GETADDR", rpcb_dec, str_enc, sizeof(rpcb), sizeof(char *), h_getaddr},
};
static const far_program_desc bprog_v2 = {FAR_DESC_SIZES,     .prog = FAR_BIND_PROG, .vers = 2,
                                          .name = "RPCBPROG", .procs = bprocs_v2,    .nprocs = 1};
static const far_program_desc bprog_v4 = {FAR_DESC_SIZES,     .prog = FAR_BIND_PROG, .vers = 4,
                                          .name = "RPCBPROG", .procs = bprocs_v4,    .nprocs = 2};

/* ------------------------------------------------------------ the group's servers */

typedef struct fixture {
    char dir[64];
    far_server *inst[NINST], *binder[NINST];
    inst_state is[NINST];
    binder_state bs[NINST];
    char inst_addr[NINST][160], binder_addr[NINST][160];
    char spec[1024];
} fixture;

static fixture fx;

static int group_setup(void **s)
{
    (void)s;
    memset(&fx, 0, sizeof fx);
    snprintf(fx.dir, sizeof fx.dir, "/tmp/farcall-lb-XXXXXX");
    if (!mkdtemp(fx.dir))
        return -1;
    int off = snprintf(fx.spec, sizeof fx.spec, "%u/1@", LPROG);
    for (int i = 0; i < NINST; i++) {
        char addr[160];
        if (i < NINST - 1)
            snprintf(addr, sizeof addr, "tcp://127.0.0.1:0");
        else
            snprintf(addr, sizeof addr, "unix:%s/inst%d.sock", fx.dir, i);
        far_server_opts o = {.workers = 8};
        if (far_server_create(&fx.inst[i], &o) != FAR_OK ||
            far_server_add_program(fx.inst[i], &lprog, &fx.is[i]) != FAR_OK ||
            far_server_listen(fx.inst[i], addr, fx.inst_addr[i], sizeof fx.inst_addr[i]) !=
                FAR_OK ||
            far_server_start(fx.inst[i]) != FAR_OK)
            return -1;
        if (far_bind_addr_to_uaddr(fx.inst_addr[i], fx.bs[i].netid, sizeof fx.bs[i].netid,
                                   fx.bs[i].uaddr, sizeof fx.bs[i].uaddr) != FAR_OK)
            return -1;
        snprintf(addr, sizeof addr, "unix:%s/binder%d.sock", fx.dir, i);
        far_server_opts bo = {.workers = 2};
        if (far_server_create(&fx.binder[i], &bo) != FAR_OK ||
            far_server_add_program(fx.binder[i], &bprog_v2, &fx.bs[i]) != FAR_OK ||
            far_server_add_program(fx.binder[i], &bprog_v4, &fx.bs[i]) != FAR_OK ||
            far_server_listen(fx.binder[i], addr, fx.binder_addr[i], sizeof fx.binder_addr[i]) !=
                FAR_OK ||
            far_server_start(fx.binder[i]) != FAR_OK)
            return -1;
        off += snprintf(fx.spec + off, sizeof fx.spec - (size_t)off, "%s%s", i ? "," : "",
                        fx.binder_addr[i]);
    }
    return 0;
}

static int group_teardown(void **s)
{
    (void)s;
    for (int i = 0; i < NINST; i++) {
        far_server_destroy(fx.inst[i]);
        far_server_destroy(fx.binder[i]);
    }
    char path[256];
    for (int i = 0; i < NINST; i++) {
        snprintf(path, sizeof path, "%s/inst%d.sock", fx.dir, i);
        unlink(path);
        snprintf(path, sizeof path, "%s/binder%d.sock", fx.dir, i);
        unlink(path);
    }
    rmdir(fx.dir);
    return 0;
}

/* ------------------------------------------------------------ helpers */

/* What each callback saw, by the index passed as its user pointer. */
static atomic_int cb_runs[MAXCB], cb_err[MAXCB], cb_total;
static uint32_t cb_res[MAXCB];
static far_client *_Atomic destroy_me; /* the client cb_destroy destroys */
static unsigned alive_base;            /* balanced clients alive before the test's */

static void cb_count(const far_status *st, void *res, void *user)
{
    (void)res;
    intptr_t i = (intptr_t)user;
    atomic_store(&cb_err[i], st->err);
    atomic_fetch_add(&cb_runs[i], 1);
    atomic_fetch_add(&cb_total, 1);
}

/* Counts, then destroys its own balanced client. */
static void cb_destroy(const far_status *st, void *res, void *user)
{
    cb_count(st, res, user);
    far_client_destroy(atomic_exchange(&destroy_me, NULL));
}

static void reset_counts(void)
{
    for (int i = 0; i < MAXCB; i++) {
        atomic_store(&cb_runs[i], 0);
        atomic_store(&cb_err[i], -1);
        cb_res[i] = 0;
    }
    atomic_store(&cb_total, 0);
}

static int running_total(void)
{
    int n = 0;
    for (int i = 0; i < NINST; i++)
        n += atomic_load(&fx.is[i].running);
    return n;
}

/* Waits (bounded) until every instance runs at least `each` SLEEP calls
 * and `total` run in all. */
static void wait_running(int each, int total)
{
    double until = now_ms() + 5000;
    for (int k = 0; k < 2500 && now_ms() < until; k++) {
        bool ok = running_total() >= total;
        for (int i = 0; i < NINST && ok; i++)
            ok = atomic_load(&fx.is[i].running) >= each;
        if (ok)
            return;
        sleep_ms(2);
    }
    for (int i = 0; i < NINST; i++)
        print_message("instance %s: %d running\n", fx.inst_addr[i], atomic_load(&fx.is[i].running));
    fail_msg("the calls did not reach the instances (%d running, %d wanted)", running_total(),
             total);
}

/* A balanced client on the three instances, all healthy, round robin (so
 * that calls made in a row go to every instance). */
static far_client *open_balanced(void)
{
    far_client *c = NULL;
    far_client_opts o = {.timeout_ms = 20000};
    alive_base = far__lb_alive(); /* (0 unless an earlier test failed) */
    assert_int_equal(far_client_open(&c, fx.spec, &o), FAR_OK);
    assert_int_equal(far__lb_alive(), alive_base + 1);
    assert_int_equal(far_client_set_lb(c, FAR_LB_ROUND_ROBIN), FAR_OK);
    double until = now_ms() + 5000;
    size_t healthy = 0;
    for (int k = 0; k < 500 && now_ms() < until && healthy < NINST; k++) {
        far_instance_info v[8];
        size_t n = 0;
        assert_int_equal(far_client_instances(c, v, 8, &n), FAR_OK);
        healthy = 0;
        for (size_t i = 0; i < n && i < 8; i++)
            healthy += v[i].healthy;
        if (healthy < NINST)
            sleep_ms(10);
    }
    assert_int_equal(healthy, NINST);
    return c;
}

static void call_async(far_client *c, uint32_t *ms, intptr_t i, far_call_cb cb)
{
    far_call_opts o = {.timeout_ms = 20000};
    assert_int_equal(far_client_call_async(c, LPROG, 1, L_SLEEP, u32_enc, ms, u32_dec, &cb_res[i],
                                           NULL, &o, cb, (void *)i),
                     FAR_OK);
}

/* Waits (bounded) for `n` callbacks in all; then checks that no more come
 * and that each of the n ran once. */
static void wait_callbacks(int n, double bound_ms)
{
    double until = now_ms() + bound_ms;
    for (int k = 0; k < 10000 && atomic_load(&cb_total) < n && now_ms() < until; k++)
        sleep_ms(2);
    assert_int_equal(atomic_load(&cb_total), n);
    sleep_ms(200);
    assert_int_equal(atomic_load(&cb_total), n);
    for (int i = 0; i < n; i++)
        assert_int_equal(atomic_load(&cb_runs[i]), 1);
}

/* Waits (bounded) until no balanced client is left: the destroy has
 * finished (its threads ended, its instances' clients and memory freed). */
static void wait_freed(double bound_ms)
{
    double until = now_ms() + bound_ms;
    for (int k = 0; k < 10000 && far__lb_alive() > alive_base && now_ms() < until; k++)
        sleep_ms(2);
    assert_int_equal(far__lb_alive(), alive_base);
}

/* A thread blocked in a sync SLEEP call on a balanced client (static: a
 * failed test leaves it running past the test's frame). */
typedef struct syncer {
    far_client *c;
    uint32_t ms;
    far_err rc;
    double elapsed;
    atomic_bool done;
    pthread_t th;
    bool started;
} syncer;

static syncer sy;

static void *sync_main(void *arg)
{
    syncer *s = arg;
    uint32_t r = 0;
    far_call_opts o = {.timeout_ms = 20000};
    double t0 = now_ms();
    s->rc = far_client_call(s->c, LPROG, 1, L_SLEEP, u32_enc, &s->ms, u32_dec, &r, NULL, &o);
    s->elapsed = now_ms() - t0;
    atomic_store(&s->done, true);
    return NULL;
}

static void sync_start(far_client *c)
{
    memset(&sy, 0, sizeof sy);
    sy.c = c;
    sy.ms = SLOW_MS;
    assert_int_equal(pthread_create(&sy.th, NULL, sync_main, &sy), 0);
    sy.started = true;
}

/* Waits (bounded) for the sync caller to return, then joins it. */
static void sync_wait(double bound_ms)
{
    double until = now_ms() + bound_ms;
    for (int k = 0; k < 10000 && !atomic_load(&sy.done) && now_ms() < until; k++)
        sleep_ms(2);
    assert_true(atomic_load(&sy.done));
    pthread_join(sy.th, NULL);
    sy.started = false;
}

/* A test that failed may leave its sync caller running: once the servers
 * are stopped its call ends, and it is joined here. */
static int test_teardown(void **s)
{
    (void)s;
    if (sy.started) {
        double until = now_ms() + SLOW_MS + 2000;
        for (int k = 0; k < 10000 && !atomic_load(&sy.done) && now_ms() < until; k++)
            sleep_ms(2);
        if (!atomic_load(&sy.done))
            for (int i = 0; i < NINST; i++)
                far_server_stop(fx.inst[i]);
        pthread_join(sy.th, NULL);
        sy.started = false;
    }
    return 0;
}

/* ------------------------------------------------------------ (a) */

/* Destroyed from one of its own callbacks while two slow calls are
 * outstanding on each instance: the destroy is deferred past the callback,
 * the outstanding calls end with FAR_ECANCELED (their callbacks once each,
 * long before the calls would have ended), and the client is freed. */
static void test_destroy_from_own_callback(void **s)
{
    (void)s;
    reset_counts();
    far_client *c = open_balanced();
    uint32_t slow = SLOW_MS, fast = 1;
    for (intptr_t i = 0; i < 2 * NINST; i++)
        call_async(c, &slow, i, cb_count);
    wait_running(2, 2 * NINST);
    atomic_store(&destroy_me, c);
    double t0 = now_ms();
    call_async(c, &fast, 2 * NINST, cb_destroy);
    c = NULL; /* the callback destroys it */
    wait_callbacks(2 * NINST + 1, 4000);
    double el = now_ms() - t0;
    print_message("destroyed from its callback: %d callbacks in %.0f ms\n", 2 * NINST + 1, el);
    assert_int_equal(atomic_load(&cb_err[2 * NINST]), FAR_OK);
    assert_int_equal(cb_res[2 * NINST], 1);
    for (int i = 0; i < 2 * NINST; i++)
        assert_int_equal(atomic_load(&cb_err[i]), FAR_ECANCELED);
    assert_true(el < SLOW_MS - 1000);
    wait_freed(5000);
}

/* ------------------------------------------------------------ (b) */

/* Destroyed from a callback while another thread is blocked in a sync call
 * on it (and async calls are outstanding): the sync call returns
 * FAR_ECANCELED at once -- the destroy neither waits for it to end nor
 * frees what it uses; the client is freed once it has returned. */
static void test_destroy_from_callback_sync_caller(void **s)
{
    (void)s;
    reset_counts();
    far_client *c = open_balanced();
    uint32_t slow = SLOW_MS, fast = 1;
    sync_start(c);
    wait_running(0, 1);
    for (intptr_t i = 0; i < NINST - 1; i++)
        call_async(c, &slow, i, cb_count);
    wait_running(1, NINST); /* the sync call on one instance, an async one on each other */
    atomic_store(&destroy_me, c);
    double t0 = now_ms();
    call_async(c, &fast, NINST - 1, cb_destroy);
    c = NULL;
    sync_wait(4000);
    double el = now_ms() - t0;
    print_message("sync caller: %s after %.0f ms (%.0f ms in the call)\n", far_errname(sy.rc), el,
                  sy.elapsed);
    assert_int_equal(sy.rc, FAR_ECANCELED);
    assert_true(sy.elapsed < SLOW_MS - 1000);
    wait_callbacks(NINST, 4000);
    assert_int_equal(atomic_load(&cb_err[NINST - 1]), FAR_OK);
    for (int i = 0; i < NINST - 1; i++)
        assert_int_equal(atomic_load(&cb_err[i]), FAR_ECANCELED);
    wait_freed(5000);
}

/* ------------------------------------------------------------ (c) */

typedef struct maker {
    far_client *c;
    int n;
    far_err rc[MAXCB];
} maker;

static uint32_t maker_ms = SLOW_MS;

static void *maker_main(void *arg)
{
    maker *m = arg;
    far_call_opts o = {.timeout_ms = 20000};
    for (intptr_t i = 0; i < m->n; i++)
        m->rc[i] = far_client_call_async(m->c, LPROG, 1, L_SLEEP, u32_enc, &maker_ms, u32_dec,
                                         &cb_res[i], NULL, &o, cb_count, (void *)i);
    return NULL;
}

/* Destroyed from the main thread while another thread's async calls are in
 * flight on every instance and a third thread is blocked in a sync call:
 * the callbacks have all run (FAR_ECANCELED) when far_client_destroy
 * returns, the sync call returns FAR_ECANCELED, and the client is freed by
 * then. */
static void test_destroy_with_calls_from_other_threads(void **s)
{
    (void)s;
    reset_counts();
    far_client *c = open_balanced();
    static maker m;
    memset(&m, 0, sizeof m);
    m.c = c;
    m.n = 3 * NINST;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, maker_main, &m), 0);
    pthread_join(th, NULL);
    for (int i = 0; i < m.n; i++)
        assert_int_equal(m.rc[i], FAR_OK);
    wait_running(3, m.n);
    sync_start(c);
    wait_running(3, m.n + 1);
    double t0 = now_ms();
    far_client_destroy(c);
    double el = now_ms() - t0;
    print_message("destroyed from another thread in %.0f ms\n", el);
    /* its callbacks ran before it returned, and it is freed */
    assert_int_equal(atomic_load(&cb_total), m.n);
    assert_int_equal(far__lb_alive(), alive_base);
    sync_wait(2000);
    assert_int_equal(sy.rc, FAR_ECANCELED);
    assert_true(el < SLOW_MS - 1000);
    wait_callbacks(m.n, 1000);
    for (int i = 0; i < m.n; i++)
        assert_int_equal(atomic_load(&cb_err[i]), FAR_ECANCELED);
}

/* ------------------------------------------------------------ (d) */

static int start_binder(int i)
{
    far_server_opts bo = {.workers = 2};
    char addr[160];
    snprintf(addr, sizeof addr, "unix:%s/binder%d.sock", fx.dir, i);
    if (far_server_create(&fx.binder[i], &bo) != FAR_OK ||
        far_server_add_program(fx.binder[i], &bprog_v2, &fx.bs[i]) != FAR_OK ||
        far_server_add_program(fx.binder[i], &bprog_v4, &fx.bs[i]) != FAR_OK ||
        far_server_listen(fx.binder[i], addr, fx.binder_addr[i], sizeof fx.binder_addr[i]) !=
            FAR_OK ||
        far_server_start(fx.binder[i]) != FAR_OK)
        return -1;
    return 0;
}

/* Destroyed from a callback while a sync call is blocked on an instance
 * that has left the set (its binder stopped answering) and is kept only by
 * that call, and async calls are outstanding on the others: the sync call
 * is cancelled too, and that instance is freed with the rest. */
static void test_destroy_with_an_instance_gone(void **s)
{
    (void)s;
    reset_counts();
    far_client *c = open_balanced();
    uint32_t slow = SLOW_MS, fast = 1;
    sync_start(c);
    wait_running(0, 1);
    int k = 0; /* the sync call's instance */
    while (k < NINST - 1 && atomic_load(&fx.is[k].running) == 0)
        k++;
    for (intptr_t i = 0; i < NINST - 1; i++)
        call_async(c, &slow, i, cb_count);
    wait_running(1, NINST);
    far_server_destroy(fx.binder[k]); /* its instance leaves at the next look-up */
    fx.binder[k] = NULL;
    double until = now_ms() + 5000;
    size_t n = NINST;
    for (int j = 0; j < 500 && now_ms() < until && n == NINST; j++) {
        far_instance_info v[8];
        assert_int_equal(far_client_instances(c, v, 8, &n), FAR_OK);
        if (n == NINST)
            sleep_ms(10);
    }
    assert_int_equal(n, NINST - 1);
    assert_int_equal(atomic_load(&fx.is[k].running), 1); /* still in the call */
    atomic_store(&destroy_me, c);
    double t0 = now_ms();
    call_async(c, &fast, NINST - 1, cb_destroy);
    c = NULL;
    sync_wait(4000);
    print_message("an instance gone: the sync call on it %s after %.0f ms\n", far_errname(sy.rc),
                  now_ms() - t0);
    assert_int_equal(sy.rc, FAR_ECANCELED);
    wait_callbacks(NINST, 4000);
    assert_int_equal(atomic_load(&cb_err[NINST - 1]), FAR_OK);
    for (int i = 0; i < NINST - 1; i++)
        assert_int_equal(atomic_load(&cb_err[i]), FAR_ECANCELED);
    wait_freed(5000);
    assert_int_equal(start_binder(k), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_destroy_from_own_callback, test_teardown),
        cmocka_unit_test_teardown(test_destroy_from_callback_sync_caller, test_teardown),
        cmocka_unit_test_teardown(test_destroy_with_calls_from_other_threads, test_teardown),
        cmocka_unit_test_teardown(test_destroy_with_an_instance_gone, test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
