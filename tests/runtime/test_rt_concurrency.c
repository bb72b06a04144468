/* Threads and time: many threads on one client, async completions, timeouts,
 * reconnect, UDP retransmission, blocking handlers, nested calls, stop. */
#include "rt_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "msg/msg.h"

/* ---------------------------------------------------------- many threads */

typedef struct worker_arg {
    far_client *c;
    int id, calls, errors;
    far_err first_rc; /* the first failing call's code, for the report */
    char first_msg[256];
} worker_arg;

static void *adder(void *p)
{
    worker_arg *w = p;
    for (int i = 0; i < w->calls; i++) {
        add_args x = {w->id * 100000, i};
        int32_t r = -1;
        far_err rc = far_client_call(w->c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &r, NULL, NULL);
        if (rc != FAR_OK || r != x.a + x.b) {
            if (w->errors++ == 0) {
                w->first_rc = rc;
                snprintf(w->first_msg, sizeof w->first_msg, "call %d: %s (got %d)", i,
                         rc == FAR_OK ? "wrong sum" : far_last_error(), (int)r);
            }
        }
    }
    return NULL;
}

static void many_threads(const char *addr)
{
    tserver t;
    tserver_start(&t, addr, NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    enum { NT = 8 };
    pthread_t th[NT];
    worker_arg w[NT];
    for (int i = 0; i < NT; i++) {
        w[i] = (worker_arg){c, i + 1, 300, 0, FAR_OK, ""};
        pthread_create(&th[i], NULL, adder, &w[i]);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        if (w[i].errors)
            fail_msg("%s: thread %d: %d failed calls, first %s: %s", addr, i, w[i].errors,
                     far_errname(w[i].first_rc), w[i].first_msg);
    }
    far_client_destroy(c);
    tserver_stop(&t);
}

static void test_many_threads_tcp(void **s)
{
    (void)s;
    many_threads("tcp://127.0.0.1:0");
}
static void test_many_threads_udp(void **s)
{
    (void)s;
    many_threads("udp://127.0.0.1:0");
}
static void test_many_threads_unix(void **s)
{
    (void)s;
    char ux[200];
    tmp_unix(ux, sizeof ux, "m.sock");
    many_threads(ux);
    tmp_unix_cleanup(ux);
}

/* A slow call and fast calls from two threads on one connection: the fast
 * ones finish first (pipelined, matched by xid, no lock held across a call). */
typedef struct slow_arg {
    far_client *c;
    double done_at;
    far_err rc;
} slow_arg;

/* A slow call (700 ms) through P_CONC: the server's tstate counts it while
 * its handler runs, so the test can see when it is being served. */
static void *conc_caller(void *p)
{
    slow_arg *a = p;
    uint32_t ms = 700, peak = 0;
    a->rc = far_client_call(a->c, TPROG, 1, P_CONC, u32_enc, &ms, u32_dec, &peak, NULL, NULL);
    a->done_at = now_ms();
    return NULL;
}

/* The number of P_CONC handlers running on t now. */
static unsigned conc_running(tserver *t)
{
    pthread_mutex_lock(&t->st.mu);
    unsigned n = t->st.conc;
    pthread_mutex_unlock(&t->st.mu);
    return n;
}

/* True once nothing accepts connections at addr (a TCP address). */
static bool listener_closed(const char *addr)
{
    far_client_opts o = {.timeout_ms = 500};
    far_client *c = NULL;
    far_err rc = far_client_open(&c, addr, &o);
    far_client_destroy(c);
    return rc == FAR_ECONNREFUSED;
}

/* Waits (at most `ms`) until n P_CONC handlers run on t. */
static bool wait_conc(tserver *t, unsigned n, int ms)
{
    double until = now_ms() + ms;
    while (conc_running(t) != n) {
        if (now_ms() > until)
            return false;
        sleep_ms(1);
    }
    return true;
}

static void test_out_of_order(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    slow_arg a = {c, 0, FAR_EIO};
    pthread_t th;
    pthread_create(&th, NULL, conc_caller, &a);
    /* The fast calls start only once the slow one is in its handler. */
    assert_true(wait_conc(&t, 1, 5000));
    worker_arg w = {c, 1, 50, 0, FAR_OK, ""};
    adder(&w);
    double fast_done = now_ms();
    /* The slow handler still runs, so its reply is not sent yet: the fast
     * calls were answered before it on the same connection. */
    assert_int_equal(conc_running(&t), 1);
    pthread_join(th, NULL);
    assert_int_equal(w.errors, 0);
    assert_int_equal(a.rc, FAR_OK);
    assert_true(fast_done < a.done_at);
    far_client_destroy(c);
    tserver_stop(&t);
}

/* ---------------------------------------------------------- async */

static _Thread_local bool inside_call;
static pthread_t main_thread;

typedef struct acall {
    atomic_int runs;
    far_err err;
    bool from_inside, on_main;
    int32_t res;
    add_args args;
} acall;

static void on_done(const far_status *st, void *res, void *user)
{
    acall *a = user;
    (void)res;
    a->err = st->err;
    a->from_inside = inside_call;
    a->on_main = pthread_equal(pthread_self(), main_thread);
    atomic_fetch_add(&a->runs, 1);
}

static bool wait_runs(acall *a, int n, int expect, int ms)
{
    double until = now_ms() + ms;
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += atomic_load(&a[i].runs) >= expect;
        if (done == n)
            return true;
        if (now_ms() > until)
            return false;
        sleep_ms(2);
    }
}

static far_err start_async(far_client *c, uint32_t vers, uint32_t proc, far_xdr_encode_fn enc,
                           const void *args, far_xdr_decode_fn dec, void *res, uint32_t tmo,
                           acall *a)
{
    far_call_opts o = {.timeout_ms = tmo};
    inside_call = true;
    far_err rc =
        far_client_call_async(c, TPROG, vers, proc, enc, args, dec, res, NULL, &o, on_done, a);
    inside_call = false;
    return rc;
}

static void test_async_exactly_once(void **s)
{
    (void)s;
    main_thread = pthread_self();
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    enum { N = 500 };
    acall *a = calloc(N, sizeof *a);
    for (int i = 0; i < N; i++) {
        add_args x = {i, 1000}; /* on the stack: encoded before the call returns */
        assert_int_equal(start_async(c, 1, P_ADD, add_enc, &x, u32_dec, &a[i].res, 0, &a[i]),
                         FAR_OK);
    }
    assert_true(wait_runs(a, N, 1, 10000));
    sleep_ms(50); /* a second run would show up here */
    for (int i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&a[i].runs), 1);
        assert_int_equal(a[i].err, FAR_OK);
        assert_int_equal(a[i].res, i + 1000);
        assert_false(a[i].from_inside);
        assert_false(a[i].on_main);
    }

    /* Errors are delivered the same way: once, never from inside. */
    memset(a, 0, 3 * sizeof *a);
    assert_int_equal(start_async(c, 9, 0, NULL, NULL, NULL, NULL, 0, &a[0]), FAR_OK);
    uint32_t ms = 2000;
    assert_int_equal(start_async(c, 1, P_SLEEP, u32_enc, &ms, NULL, NULL, 100, &a[1]), FAR_OK);
    double t0 = now_ms();
    assert_true(wait_runs(a, 2, 1, 5000));
    assert_int_equal(a[0].err, FAR_EPROG_MISMATCH);
    assert_int_equal(a[1].err, FAR_ETIMEDOUT);
    assert_true(now_ms() - t0 < 1500);

    /* Destroy with a call in flight: its callback runs (ECANCELED) before
     * destroy returns. */
    assert_int_equal(start_async(c, 1, P_SLEEP, u32_enc, &ms, NULL, NULL, 0, &a[2]), FAR_OK);
    far_client_destroy(c);
    assert_int_equal(atomic_load(&a[2].runs), 1);
    assert_int_equal(a[2].err, FAR_ECANCELED);
    for (int i = 0; i < 3; i++)
        assert_int_equal(atomic_load(&a[i].runs), 1);
    free(a);
    tserver_stop(&t);
}

/* ---------------------------------------------------------- timeouts */

static void test_timeout(void **s)
{
    (void)s;
    for (int udp = 0; udp < 2; udp++) {
        tserver t;
        tserver_start(&t, udp ? "udp://127.0.0.1:0" : "tcp://127.0.0.1:0", NULL);
        far_client *c;
        far_client_opts co = {.timeout_ms = 5000, .retry_ms = 2000};
        assert_int_equal(far_client_open(&c, t.bound, &co), FAR_OK);
        /* The server answers SLEEP(800) with 800, at t0 + 800 ms: after
         * the call timed out (150 ms). */
        enum { SENTINEL = 0x5eeded };
        uint32_t ms = 800, r = SENTINEL;
        far_call_opts o = {.timeout_ms = 150};
        double t0 = now_ms();
        assert_int_equal(far_client_call(c, TPROG, 1, P_SLEEP, u32_enc, &ms, u32_dec, &r, NULL, &o),
                         FAR_ETIMEDOUT);
        double el = now_ms() - t0;
        assert_true(el >= 140 && el < 700);
        assert_non_null(strstr(far_last_error(), "timed out"));
        assert_int_equal(r, SENTINEL);
        /* The client goes on: a call at once gets its own result. */
        add_args x = {1000, 2};
        int32_t sum = SENTINEL;
        assert_int_equal(
            far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, NULL), FAR_OK);
        assert_int_equal(sum, 1002);
        /* A call in flight when the late reply comes: the server answers
         * SLEEP(900) at t0 + 150 + 900 ms at the earliest, after the late
         * reply (sent first on the same connection or socket), so the client
         * has read the late reply by the time this call completes. */
        uint32_t ms2 = 900, r2 = SENTINEL;
        assert_int_equal(
            far_client_call(c, TPROG, 1, P_SLEEP, u32_enc, &ms2, u32_dec, &r2, NULL, NULL), FAR_OK);
        assert_int_equal(r2, 900); /* its own reply, not the late one (800) */
        assert_true(now_ms() - t0 >= ms + 100);
        /* The late reply was dropped: not decoded into the timed-out call's
         * result, nor matched to another call. */
        assert_int_equal(r, SENTINEL);
        x = (add_args){7, 8000};
        sum = SENTINEL;
        assert_int_equal(
            far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, NULL), FAR_OK);
        assert_int_equal(sum, 8007);
        far_client_destroy(c);
        tserver_stop(&t);
    }
}

/* ---------------------------------------------------------- reconnect */

static void reconnect(const char *addr)
{
    tserver t;
    tserver_start(&t, addr, NULL);
    char bound[128];
    strcpy(bound, t.bound);
    far_client *c;
    /* (a call in flight when its server goes waits, until its deadline, for
     * the server to come back: 1.5 s here, not the default 10 s) */
    far_client_opts o = {.timeout_ms = 1500};
    assert_int_equal(far_client_open(&c, bound, &o), FAR_OK);
    add_args x = {3, 4};
    int32_t sum;
    assert_int_equal(far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, NULL),
                     FAR_OK);
    tserver_stop(&t);
    /* The server is gone: the call fails, naming the reason. */
    far_err rc = far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, NULL);
    assert_true(rc == FAR_ECONNLOST || rc == FAR_ECONNREFUSED);
    rc = far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, NULL);
    assert_true(rc == FAR_ECONNLOST || rc == FAR_ECONNREFUSED);
    /* A new server at the same address: the client reconnects by itself. */
    tserver_start(&t, bound, NULL);
    rc = FAR_EIO;
    for (int i = 0; i < 3 && rc != FAR_OK; i++)
        rc = far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, NULL);
    assert_int_equal(rc, FAR_OK);
    assert_int_equal(sum, 7);
    far_client_destroy(c);
    tserver_stop(&t);
}

static void test_reconnect_tcp(void **s)
{
    (void)s;
    reconnect("tcp://127.0.0.1:0");
}

static void test_reconnect_unix(void **s)
{
    (void)s;
    char ux[200];
    tmp_unix(ux, sizeof ux, "r.sock");
    reconnect(ux);
    tmp_unix_cleanup(ux);
}

/* ---------------------------------------------------------- UDP retransmit */

typedef struct udp_peer {
    int fd;
    double t[3];
    uint8_t first[512];
    size_t first_len;
    bool same;
} udp_peer;

/* Ignores the first two datagrams, answers the third. */
static void *udp_ignorer(void *p)
{
    udp_peer *u = p;
    u->same = true;
    for (int i = 0; i < 3; i++) {
        uint8_t buf[512];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        struct pollfd pf = {u->fd, POLLIN, 0};
        if (poll(&pf, 1, 5000) != 1)
            return NULL;
        ssize_t n = recvfrom(u->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        u->t[i] = now_ms();
        if (i == 0) {
            memcpy(u->first, buf, (size_t)n);
            u->first_len = (size_t)n;
        } else if ((size_t)n != u->first_len || memcmp(buf, u->first, (size_t)n) != 0) {
            u->same = false; /* a retransmission must be the same message, same xid */
        }
        if (i == 2) {
            uint8_t rep[64];
            far_xdr_enc e;
            far_xdr_enc_init(&e, rep, sizeof rep);
            far__reply_accepted_encode(&e, far_xdr_load_u32(buf), FAR__ACC_SUCCESS, 0, 0);
            far_xdr_put_u32(&e, 99);
            sendto(u->fd, rep, e.pos, 0, (struct sockaddr *)&from, fl);
        }
    }
    return NULL;
}

static void test_udp_retransmit(void **s)
{
    (void)s;
    udp_peer u = {0};
    u.fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(u.fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    getsockname(u.fd, (struct sockaddr *)&sin, &sl);
    char addr[64];
    snprintf(addr, sizeof addr, "udp://127.0.0.1:%u", ntohs(sin.sin_port));
    pthread_t th;
    pthread_create(&th, NULL, udp_ignorer, &u);
    far_client *c;
    /* (no_ctx: the peer counts datagrams; a FAR_CTX probe would be the first) */
    far_client_opts co = {.retry_ms = 100, .timeout_ms = 5000, .no_ctx = true};
    assert_int_equal(far_client_open(&c, addr, &co), FAR_OK);
    add_args x = {1, 1};
    uint32_t r = 0;
    assert_int_equal(far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &r, NULL, NULL),
                     FAR_OK);
    assert_int_equal(r, 99);
    pthread_join(th, NULL);
    assert_true(u.same);
    double d1 = u.t[1] - u.t[0], d2 = u.t[2] - u.t[1];
    assert_true(d1 >= 80 && d1 < 1000);
    assert_true(d2 >= 170 && d2 < 2000); /* the interval doubles */
    far_client_destroy(c);
    close(u.fd);
}

/* ---------------------------------------------------------- blocking handler */

static void test_blocking_handler(void **s)
{
    (void)s;
    tserver t;
    far_server_opts so = {.workers = 2};
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    far_client *slow, *fast;
    assert_int_equal(far_client_open(&slow, t.bound, NULL), FAR_OK);
    assert_int_equal(far_client_open(&fast, t.bound, NULL), FAR_OK);
    slow_arg a = {slow, 0, FAR_EIO};
    pthread_t th;
    pthread_create(&th, NULL, conc_caller, &a); /* blocks a handler for 700 ms */
    assert_true(wait_conc(&t, 1, 5000));        /* ... and does, now */
    double t0 = now_ms();
    worker_arg w = {fast, 2, 100, 0};
    adder(&w);
    double el = now_ms() - t0;
    assert_int_equal(w.errors, 0);
    assert_true(el < 500);
    /* A new connection is accepted and served meanwhile too. */
    far_client *third;
    assert_int_equal(far_client_open(&third, t.bound, NULL), FAR_OK);
    worker_arg w3 = {third, 3, 10, 0};
    adder(&w3);
    assert_int_equal(w3.errors, 0);
    assert_int_equal(conc_running(&t), 1); /* all of it while the slow handler ran */
    pthread_join(th, NULL);
    assert_int_equal(a.rc, FAR_OK);
    far_client_destroy(slow);
    far_client_destroy(fast);
    far_client_destroy(third);
    tserver_stop(&t);
}

/* ---------------------------------------------------------- nested */

static void test_handler_is_client(void **s)
{
    (void)s;
    tserver front, back;
    far_server_opts so = {.workers = 1}; /* even with a single worker */
    tserver_start(&front, "tcp://127.0.0.1:0", &so);
    char ux[200];
    tmp_unix(ux, sizeof ux, "b.sock");
    tserver_start(&back, ux, NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, front.bound, NULL), FAR_OK);
    char *target = back.bound;
    uint32_t r = 0;
    assert_int_equal(far_client_call(c, TPROG, 1, P_FWD, str_enc, &target, u32_dec, &r, NULL, NULL),
                     FAR_OK);
    assert_int_equal(r, 42);
    /* A handler calling its own server (needs a second handler slot). */
    far_server_opts so2 = {.workers = 2};
    tserver self;
    tserver_start(&self, "tcp://127.0.0.1:0", &so2);
    far_client *c2;
    assert_int_equal(far_client_open(&c2, self.bound, NULL), FAR_OK);
    target = self.bound;
    assert_int_equal(
        far_client_call(c2, TPROG, 1, P_FWD, str_enc, &target, u32_dec, &r, NULL, NULL), FAR_OK);
    assert_int_equal(r, 42);
    far_client_destroy(c2);
    tserver_stop(&self);
    far_client_destroy(c);
    tserver_stop(&front);
    tserver_stop(&back);
    tmp_unix_cleanup(ux);
}

/* ---------------------------------------------------------- graceful stop */

static void *runner(void *p)
{
    far_server *s = p;
    far_err rc = far_server_run(s);
    return (void *)(intptr_t)rc;
}

static void test_graceful_stop(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    slow_arg a = {c, 0, FAR_EIO};
    pthread_t th;
    pthread_create(&th, NULL, conc_caller, &a); /* in flight when we stop */
    assert_true(wait_conc(&t, 1, 5000));
    far_server_stop(t.s);
    far_server_stop(t.s); /* idempotent */
    /* The listener goes at once (a thread takes the stop event): wait for
     * it, bounded, instead of sleeping a guess. */
    for (int i = 0; i < 200 && conc_running(&t) == 1 && !listener_closed(t.bound); i++)
        sleep_ms(5);
    /* New connections are refused at once. */
    far_client *late;
    assert_int_equal(far_client_open(&late, t.bound, NULL), FAR_ECONNREFUSED);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, FAR_OK); /* the call in flight finished and was answered */
    far_client_destroy(c);
    tserver_stop(&t);

    /* far_server_run returns after a handler stops the server. */
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    pthread_create(&th, NULL, runner, t.s);
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    assert_int_equal(far_client_call(c, TPROG, 1, P_STOP, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_OK);
    void *ret;
    pthread_join(th, &ret);
    assert_int_equal((intptr_t)ret, FAR_OK);
    far_client_destroy(c);
    tserver_stop(&t);
}

int main(void)
{
    setenv("FARCALL_QUIET", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_threads_tcp),   cmocka_unit_test(test_many_threads_udp),
        cmocka_unit_test(test_many_threads_unix),  cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_async_exactly_once), cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_reconnect_tcp),      cmocka_unit_test(test_reconnect_unix),
        cmocka_unit_test(test_udp_retransmit),     cmocka_unit_test(test_blocking_handler),
        cmocka_unit_test(test_handler_is_client),  cmocka_unit_test(test_graceful_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
