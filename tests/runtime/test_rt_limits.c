/* Server limits: maximum connections, idle timeout, calls in flight per
 * connection, slow and malicious clients, running out of descriptors. */
#include "rt_common.h"

#include <dirent.h>
#include <malloc.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "msg/msg.h"
#include "net/net.h"

static int raw_connect(const char *bound)
{
    far__addr a;
    far_err err;
    assert_int_equal(far__addr_parse(bound, &a, NULL, 0), FAR_OK);
    int fd = far__sock_connect(&a, 0, &err, NULL);
    assert_true(fd >= 0);
    return fd;
}

/* True if the server closes fd within ms (reads and discards anything else). */
static bool closed_within(int fd, int ms)
{
    double until = now_ms() + ms;
    while (now_ms() < until) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 50) == 1) {
            uint8_t b[256];
            ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno == ECONNRESET))
                return true;
        }
    }
    return false;
}

static int add_once(far_client *c)
{
    add_args x = {40, 2};
    int32_t r = 0;
    far_err rc = far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &r, NULL, NULL);
    return rc == FAR_OK && r == 42 ? 0 : (int)rc;
}

static void test_max_conns(void **s)
{
    (void)s;
    far_server_opts so = {.max_conns = 3};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    far_client *c[3], *extra;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(far_client_open(&c[i], t.bound, NULL), FAR_OK);
        assert_int_equal(add_once(c[i]), 0);
    }
    /* The fourth connection is refused: told so, then closed at once. */
    assert_int_equal(far_client_open(&extra, t.bound, NULL), FAR_OK);
    assert_int_equal(add_once(extra), FAR_ETOOMANY);
    assert_non_null(strstr(far_last_error(), "too many connections"));
    assert_non_null(strstr(far_last_error(), "refused"));
    /* The others are unaffected; when one leaves there is room again. */
    assert_int_equal(add_once(c[1]), 0);
    far_client_destroy(c[0]);
    int rc = -1;
    for (int i = 0; i < 50 && rc != 0; i++) {
        sleep_ms(10);
        rc = add_once(extra);
    }
    assert_int_equal(rc, 0);
    far_client_destroy(c[1]);
    far_client_destroy(c[2]);
    far_client_destroy(extra);
    tserver_stop(&t);
}

static void test_idle_timeout(void **s)
{
    (void)s;
    far_server_opts so = {.idle_timeout_ms = 200};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    int fd = raw_connect(t.bound);
    double t0 = now_ms();
    assert_true(closed_within(fd, 3000));
    assert_true(now_ms() - t0 >= 150);
    close(fd);
    /* A client whose connection was reaped reconnects. */
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    assert_int_equal(add_once(c), 0);
    sleep_ms(600);
    assert_int_equal(add_once(c), 0); /* noticed the close and reconnected */
    /* A connection with a call in flight longer than the idle timeout is
     * not reaped. */
    uint32_t ms = 600, r;
    assert_int_equal(far_client_call(c, TPROG, 1, P_SLEEP, u32_enc, &ms, u32_dec, &r, NULL, NULL),
                     FAR_OK);
    far_client_destroy(c);
    tserver_stop(&t);
}

typedef struct done_count {
    atomic_int n, ok;
} done_count;

static void count_cb(const far_status *st, void *res, void *user)
{
    (void)res;
    done_count *d = user;
    if (st->err == FAR_OK)
        atomic_fetch_add(&d->ok, 1);
    atomic_fetch_add(&d->n, 1);
}

static void test_max_calls_in_flight(void **s)
{
    (void)s;
    far_server_opts so = {.max_calls_per_conn = 2, .workers = 6};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    done_count d = {0};
    static uint32_t res[8];
    uint32_t ms = 150;
    for (int i = 0; i < 8; i++)
        assert_int_equal(far_client_call_async(c, TPROG, 1, P_CONC, u32_enc, &ms, u32_dec, &res[i],
                                               NULL, NULL, count_cb, &d),
                         FAR_OK);
    double until = now_ms() + 10000;
    while (atomic_load(&d.n) < 8 && now_ms() < until)
        sleep_ms(5);
    assert_int_equal(atomic_load(&d.ok), 8);
    assert_int_equal(t.st.peak, 2); /* never more than 2 at once on this connection */
    assert_int_equal(t.st.calls, 8);
    far_client_destroy(c);
    tserver_stop(&t);

    /* Without the limit the same calls do run side by side. */
    so.max_calls_per_conn = 0;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    memset(&d, 0, sizeof d);
    for (int i = 0; i < 4; i++)
        assert_int_equal(far_client_call_async(c, TPROG, 1, P_CONC, u32_enc, &ms, u32_dec, &res[i],
                                               NULL, NULL, count_cb, &d),
                         FAR_OK);
    until = now_ms() + 10000;
    while (atomic_load(&d.n) < 4 && now_ms() < until)
        sleep_ms(5);
    assert_true(t.st.peak > 2);
    far_client_destroy(c);
    tserver_stop(&t);
}

/* A valid call record: ADD(1, 2). */
static size_t add_record(uint8_t *buf)
{
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, 256);
    far_xdr_reserve(&e, 4);
    far__call_hdr_encode(&e, 77, TPROG, 1, P_ADD, FAR_AUTH_NONE, NULL, 0);
    far_xdr_put_i32(&e, 1);
    far_xdr_put_i32(&e, 2);
    far_xdr_store_u32(buf, FAR__REC_LAST | (uint32_t)(e.pos - 4));
    return e.pos;
}

typedef struct dribble {
    int fd;
    int every_ms;
    atomic_bool stop;
    bool closed;
} dribble;

/* Sends a call one byte at a time until the server closes the connection. */
static void *dribbler(void *p)
{
    dribble *d = p;
    uint8_t rec[256];
    size_t n = add_record(rec);
    for (size_t i = 0; !atomic_load(&d->stop); i = (i + 1) % n) {
        if (send(d->fd, rec + i, 1, MSG_NOSIGNAL) != 1) {
            d->closed = true;
            break;
        }
        sleep_ms((unsigned)d->every_ms);
    }
    return NULL;
}

static void test_slow_clients(void **s)
{
    (void)s;
    far_server_opts so = {.idle_timeout_ms = 400, .workers = 1};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);

    /* Half a record, then silence. */
    int half = raw_connect(t.bound);
    uint8_t rec[256];
    size_t n = add_record(rec);
    assert_int_equal(send(half, rec, n / 2, 0), (ssize_t)(n / 2));
    /* A byte every 30 ms (a byte per second, sped up). */
    dribble d = {raw_connect(t.bound), 30, false, false};
    pthread_t th;
    pthread_create(&th, NULL, dribbler, &d);
    sleep_ms(50);

    /* Meanwhile everyone else is served at full speed. */
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    double t0 = now_ms();
    for (int i = 0; i < 200; i++)
        assert_int_equal(add_once(c), 0);
    assert_true(now_ms() - t0 < 1000);

    /* Neither slow client completes a call before the idle timeout, so both
     * are closed. */
    assert_true(closed_within(half, 3000));
    double until = now_ms() + 3000;
    while (!d.closed && now_ms() < until)
        sleep_ms(10);
    atomic_store(&d.stop, true);
    pthread_join(th, NULL);
    assert_true(d.closed);
    close(half);
    close(d.fd);
    assert_int_equal(add_once(c), 0);
    far_client_destroy(c);
    tserver_stop(&t);
}

static int count_fds(void)
{
    int n = 0;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    while (readdir(dir))
        n++;
    closedir(dir);
    return n - 3; /* ".", ".." and the DIR's own fd */
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Every handler slot busy (one worker, a sleeping call) with more calls of the
 * same connection queued behind it: the thread that is free must wait, not
 * spin on the queue (it did: epoll_wait with a zero timeout in a loop). */
static atomic_int spin_done;
static void spin_cb(const far_status *st, void *res, void *user)
{
    (void)res, (void)user;
    if (st->err == FAR_OK)
        atomic_fetch_add(&spin_done, 1);
}

static void test_no_spin_while_handlers_busy(void **s)
{
    (void)s;
    far_server_opts o = {.workers = 1};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &o);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    atomic_store(&spin_done, 0);
    uint32_t ms = 700, slept = 0;
    add_args x[3] = {{1, 2}, {3, 4}, {5, 6}};
    uint32_t sums[3] = {0};
    assert_int_equal(far_client_call_async(c, TPROG, 1, P_SLEEP, u32_enc, &ms, u32_dec, &slept,
                                           NULL, NULL, spin_cb, NULL),
                     FAR_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(far_client_call_async(c, TPROG, 1, P_ADD, add_enc, &x[i], u32_dec,
                                               &sums[i], NULL, NULL, spin_cb, NULL),
                         FAR_OK);
    sleep_ms(150); /* the sleep runs, the adds wait in the queue */
    double c0 = cpu_ms();
    sleep_ms(400);
    double used = cpu_ms() - c0;
    double until = now_ms() + 5000;
    while (atomic_load(&spin_done) < 4 && now_ms() < until)
        sleep_ms(10);
    assert_int_equal(atomic_load(&spin_done), 4);
    assert_int_equal(slept, 700);
    assert_int_equal(sums[0], 3);
    assert_int_equal(sums[2], 11);
    far_client_destroy(c);
    tserver_stop(&t);
    if (used >= 150) /* a spinning thread burns the whole 400 ms */
        fail_msg("%.0f ms of CPU in 400 ms while every handler slot was busy", used);
}

/* After a big request the server keeps buffers for the next one (a spare, a
 * grown read buffer); a connection that goes quiet gives them back, so idle
 * connections stay cheap.  Measured as the process's heap in use. */
/* Under ASan/TSan malloc is the sanitizer's, and mallinfo2 reports nothing:
 * ask the sanitizer allocator then (a weak reference, NULL without one). */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t heap_in_use(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_idle_conn_gives_back_buffers(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    enum { BIG = 600 * 1024 };
    uint8_t *payload = malloc(BIG);
    assert_non_null(payload);
    memset(payload, 0x5c, BIG);
    for (int i = 0; i < 2; i++) { /* the second reuses the spare: the steady state */
        blob in = {BIG, payload}, out = {0, NULL};
        far_arena a;
        far_arena_init(&a, NULL, 0, 0);
        assert_int_equal(
            far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, &a, NULL), FAR_OK);
        assert_int_equal(out.len, BIG);
        assert_memory_equal(out.val, payload, BIG);
        far_arena_fini(&a);
    }
    size_t busy = heap_in_use();
    /* The connection stays open and quiet: within a few sweeps (one a
     * second at most) the server lets go of at least one 600 KiB buffer. */
    size_t now = busy;
    double until = now_ms() + 6000;
    while (busy - now < 500 * 1024 && now_ms() < until) {
        sleep_ms(100);
        size_t h = heap_in_use();
        now = h < busy ? h : busy;
    }
    if (busy - now < 500 * 1024)
        fail_msg("heap in use %zu -> %zu after the connection went idle", busy, now);
    /* and the connection still works */
    blob in = {5, (uint8_t *)"again"}, out = {0, NULL};
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    assert_int_equal(far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, &a, NULL),
                     FAR_OK);
    assert_memory_equal(out.val, "again", 5);
    far_arena_fini(&a);
    free(payload);
    far_client_destroy(c);
    tserver_stop(&t);
}

/* A client that sends calls and never reads the replies: the server stops
 * reading it once max_calls_per_conn replies wait to be written, instead of
 * queueing replies without end (it did: 18 MB of null calls grew the server's
 * heap to 884 MB in 4 s).  Other clients are still served, and the stalled
 * connection goes on once its client reads. */
static void test_client_not_reading_replies(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far__addr a;
    assert_int_equal(far__addr_parse(t.bound, &a, NULL, 0), FAR_OK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a.ss, a.len), 0);
    enum { N = 1000, CALL = 44 };
    static uint8_t batch[N * CALL];
    for (int i = 0; i < N; i++) {
        uint32_t w[11] = {0x80000028u, (uint32_t)i, 0, 2, TPROG, 1, P_NULL, 0, 0, 0, 0};
        for (int k = 0; k < 11; k++)
            far_xdr_store_u32(batch + i * CALL + 4 * k, w[k]);
    }
    size_t before = heap_in_use(), sent = 0;
    double until = now_ms() + 2000;
    while (now_ms() < until) {
        size_t off = sent % sizeof batch;
        ssize_t w = send(fd, batch + off, sizeof batch - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0)
            sent += (size_t)w;
        else
            sleep_ms(1);
    }
    size_t after = heap_in_use();
    size_t grown = after > before ? after - before : 0;
    /* other clients are served meanwhile */
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    assert_int_equal(add_once(c), 0);
    far_client_destroy(c);
    /* the stalled connection answers once its client reads */
    size_t got = 0;
    uint8_t buf[65536];
    until = now_ms() + 3000;
    while (got < 10 * 28 && now_ms() < until) {
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
        else
            sleep_ms(5);
    }
    close(fd);
    tserver_stop(&t);
    if (grown > (16u << 20))
        fail_msg("server heap grew by %zu MB while a client sent %zu MB of calls and read nothing",
                 grown >> 20, sent >> 20);
    if (got < 10 * 28)
        fail_msg("only %zu reply bytes once the client started reading", got);
}

/* UDP has no connection to stop reading: datagrams arriving faster than slow
 * handlers finish are dropped past a bound instead of queued without end (they
 * were: a 3 s flood against a 2 ms handler grew the heap to 963 MB).  A real
 * client, retransmitting, is still answered once the backlog drains. */
static void test_udp_flood_bounded(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "udp://127.0.0.1:0", NULL);
    far__addr a;
    assert_int_equal(far__addr_parse(t.bound, &a, NULL, 0), FAR_OK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a.ss, a.len), 0);
    uint8_t dg[44];
    uint32_t w[11] = {0, 0, 2, TPROG, 1, P_SLEEP, 0, 0, 0, 0, 5 /* ms */};
    size_t before = heap_in_use(), sent = 0;
    double until = now_ms() + 1500;
    while (now_ms() < until) {
        w[0] = (uint32_t)sent;
        for (int k = 0; k < 11; k++)
            far_xdr_store_u32(dg + 4 * k, w[k]);
        if (send(fd, dg, sizeof dg, MSG_DONTWAIT) > 0)
            sent++;
    }
    size_t after = heap_in_use();
    close(fd);
    size_t grown = after > before ? after - before : 0;
    far_client_opts o = {.timeout_ms = 20000, .retry_ms = 200};
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, &o), FAR_OK);
    assert_int_equal(add_once(c), 0);
    far_client_destroy(c);
    tserver_stop(&t);
    if (grown > (32u << 20))
        fail_msg("server heap grew by %zu MB under a flood of %zu datagrams", grown >> 20, sent);
}

static void test_emfile(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    assert_int_equal(add_once(c), 0);
    far__addr a;
    assert_int_equal(far__addr_parse(t.bound, &a, NULL, 0), FAR_OK);
    enum { N = 30 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fds[i] >= 0);
    }
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = (rlim_t)count_fds() + 2; /* room for two more connections */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    for (int i = 0; i < N; i++)
        connect(fds[i], (struct sockaddr *)&a.ss, a.len);
    sleep_ms(100);
    /* Out of descriptors: no busy loop, and the existing connection works. */
    double c0 = cpu_ms();
    sleep_ms(400);
    double used = cpu_ms() - c0;
    assert_true(used < 150);
    assert_int_equal(add_once(c), 0);
    /* Connections beyond the limit were closed, not left hanging. */
    int closed = 0;
    bool is_closed[N] = {false};
    double until = now_ms() + 3000;
    while (closed < N - 4 && now_ms() < until) {
        for (int i = 0; i < N; i++)
            if (!is_closed[i] && closed_within(fds[i], 1))
                is_closed[i] = true, closed++;
    }
    setrlimit(RLIMIT_NOFILE, &old);
    if (closed < N - 4)
        fail_msg("only %d of %d connections over the limit were closed", closed, N);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    /* With descriptors back, new clients are served. */
    far_client *c2;
    assert_int_equal(far_client_open(&c2, t.bound, NULL), FAR_OK);
    assert_int_equal(add_once(c2), 0);
    far_client_destroy(c2);
    far_client_destroy(c);
    tserver_stop(&t);
}

int main(void)
{
    setenv("FARCALL_QUIET", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_conns),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_max_calls_in_flight),
        cmocka_unit_test(test_slow_clients),
        cmocka_unit_test(test_emfile),
        cmocka_unit_test(test_no_spin_while_handlers_busy),
        cmocka_unit_test(test_idle_conn_gives_back_buffers),
        cmocka_unit_test(test_client_not_reading_replies),
        cmocka_unit_test(test_udp_flood_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
