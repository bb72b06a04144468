/* Abusive clients: regression tests for server defects found under load.
 *
 * Each test reproduces one defect of the server (src/svc/svc.c) and asserts
 * what a correct server does:
 *
 *   1  connection churn against a short idle timeout: the idle sweep could
 *      free a connection accept had not finished making (use-after-free);
 *   2  hit-and-run callers (pipelined calls, then close without reading):
 *      every call of every closed connection was still run;
 *   3  a reset while replies are being flushed: a connection <-> request
 *      reference cycle leaked the descriptor and the memory;
 *   4  an empty (or truncated) UDP datagram: memcpy(NULL, ..., 0);
 *   5  slow handlers on every worker stalled even the NULL procedure;
 *   6  limits: the idle sweep closed at most 64 connections a tick; a client
 *      that never reads was never idle; a refused connection looked like a
 *      lost one; every refusal was logged;
 *   8  all of it at once, with a prober measuring the NULL call's latency.
 *
 * Everything is bounded in count and time, only loopback and /tmp are used,
 * and every thread, descriptor and server is released before a test asserts
 * (results are recorded first, checked after the clean-up), so a failing test
 * does not leave anything running for the next one.  Under a sanitizer
 * (ASan, TSan) durations and counts are scaled down.
 */
#include "rt_common.h"

#include <dirent.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "msg/msg.h"
#include "net/net.h"

/* ------------------------------------------------------------ environment */

/* Under ASan/TSan malloc is the sanitizer's and mallinfo2 reports nothing:
 * ask the sanitizer's allocator then (a weak reference, NULL without one). */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t heap_in_use(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static bool sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return true;
#else
    return __sanitizer_get_current_allocated_bytes != NULL;
#endif
}

/* A duration or count: the release figure, or the sanitizer figure. */
static unsigned scaled(unsigned release, unsigned san)
{
    return sanitized() ? san : release;
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

static long mb(size_t bytes)
{
    return (long)(bytes >> 20);
}

static size_t grown(size_t from, size_t to)
{
    return to > from ? to - from : 0;
}

/* Room for thousands of descriptors (the soft limit raised to the hard one,
 * at most 65536); returns the soft limit now in force. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

/* ------------------------------------------------------------ raw sockets */

static far__addr parse(const char *bound)
{
    far__addr a;
    assert_int_equal(far__addr_parse(bound, &a, NULL, 0), FAR_OK);
    return a;
}

/* A non-blocking TCP connection to a, made within timeout_ms, or -1.
 * rcvbuf > 0 sets SO_RCVBUF before connecting (so the window is small). */
static int tcp_open(const far__addr *a, int rcvbuf, int timeout_ms)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        struct pollfd pf = {fd, POLLOUT, 0};
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&pf, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
            err != 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Closes with a reset (SO_LINGER {1, 0}) instead of a FIN. */
static void rst_close(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* Sends all of buf on a non-blocking socket within timeout_ms; the bytes sent. */
static size_t send_all(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
    size_t off = 0;
    double until = now_ms() + timeout_ms;
    while (off < len) {
        ssize_t w = send(fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        double left = until - now_ms();
        if (left <= 0)
            break;
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, left < 50 ? (int)left + 1 : 50);
    }
    return off;
}

/* True if the server closes fd within ms (reads and discards anything else). */
static bool closed_within(int fd, int ms)
{
    double until = now_ms() + ms;
    for (;;) {
        uint8_t b[4096];
        ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n > 0)
            continue;
        double left = until - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pf = {fd, POLLIN, 0};
        poll(&pf, 1, left < 50 ? (int)left + 1 : 50);
    }
}

/* ------------------------------------------------------------ call records */

enum {
    HDR = 40,         /* call header with AUTH_NONE credential and verifier */
    ECHO_LEN = 16384, /* P_ECHO payload */
    ECHO_REC = 4 + HDR + 4 + ECHO_LEN,
    CONC_REC = 4 + HDR + 4,
    BATCH = 64, /* calls pipelined per connection */
};

/* Writes a record mark and a call header for `proc` with `arglen` bytes of
 * arguments to follow; returns where the arguments go. */
static uint8_t *call_rec(uint8_t *p, uint32_t xid, uint32_t proc, uint32_t arglen)
{
    uint32_t w[11] = {
        FAR__REC_LAST | (HDR + arglen), xid, 0 /* CALL */, 2, TPROG, 1, proc, 0, 0, 0, 0};
    for (int k = 0; k < 11; k++)
        far_xdr_store_u32(p + 4 * k, w[k]);
    return p + 4 + HDR;
}

static uint8_t g_conc_batch[BATCH * CONC_REC]; /* 64 x P_CONC(1 ms) */
static uint8_t g_echo_batch[BATCH * ECHO_REC]; /* 64 x P_ECHO(16 KiB) */

static void build_batches(void)
{
    for (uint32_t i = 0; i < BATCH; i++) {
        uint8_t *a = call_rec(g_conc_batch + i * CONC_REC, 1000 + i, P_CONC, 4);
        far_xdr_store_u32(a, 1); /* ms */
        a = call_rec(g_echo_batch + i * ECHO_REC, 2000 + i, P_ECHO, 4 + ECHO_LEN);
        far_xdr_store_u32(a, ECHO_LEN);
        memset(a + 4, (int)(0x41 + i % 26), ECHO_LEN);
    }
}

/* ------------------------------------------------------------ client helpers */

static far_client *client_open(const char *addr, uint32_t timeout_ms, far_err *rc)
{
    far_client_opts o = {.timeout_ms = timeout_ms, .retry_ms = 200};
    far_client *c = NULL;
    *rc = far_client_open(&c, addr, &o);
    return *rc == FAR_OK ? c : NULL;
}

/* ADD(40, 2) on c: FAR_OK only with the right sum; st (may be NULL) gets the detail. */
static far_err add_call(far_client *c, far_status *st)
{
    add_args x = {40, 2};
    int32_t r = 0;
    far_call_opts co = {.status = st};
    far_err rc = far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &r, NULL, &co);
    if (rc == FAR_OK && r != 42)
        return FAR_EPROTO;
    return rc;
}

/* A fresh client making one ADD call with a timeout; the call's outcome. */
static far_err add_fresh(const char *addr, uint32_t timeout_ms, char *msg, size_t msglen)
{
    far_err rc;
    far_client *c = client_open(addr, timeout_ms, &rc);
    far_status st = {0};
    if (c)
        rc = add_call(c, &st);
    if (rc != FAR_OK && msg)
        snprintf(msg, msglen, "%s: %.250s", far_errname(rc), c ? st.msg : far_last_error());
    far_client_destroy(c);
    return rc;
}

static unsigned calls_run(tserver *t)
{
    pthread_mutex_lock(&t->st.mu);
    unsigned n = t->st.calls;
    pthread_mutex_unlock(&t->st.mu);
    return n;
}

static unsigned conc_now(tserver *t)
{
    pthread_mutex_lock(&t->st.mu);
    unsigned n = t->st.conc;
    pthread_mutex_unlock(&t->st.mu);
    return n;
}

/* ------------------------------------------------------------ abusers */

/* What every abusing thread shares: where, until when, and a stop flag. */
typedef struct abuse {
    far__addr addr;
    double until;
    atomic_bool stop;
    unsigned pace_ms; /* hit-and-run: a connection per thread every pace_ms (0: at once) */
} abuse;

typedef struct abuser {
    abuse *ctl;
    unsigned max; /* connections at most; 0: no limit */
    unsigned id;
    void *(*fn)(void *);
    /* results, read after the join */
    unsigned long conns, fails, short_sends;
    pthread_t th;
} abuser;

static bool go_on(const abuser *a)
{
    return !atomic_load(&a->ctl->stop) && now_ms() < a->ctl->until &&
           (a->max == 0 || a->conns < a->max);
}

/* Whether the kernel reuses TIME_WAIT ports for new loopback connections
 * (net.ipv4.tcp_tw_reuse, 2 by default: loopback only). */
static bool tw_reuse(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_tw_reuse", "r");
    int v = 0;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v != 0;
}

static bool g_tw_reuse;

/* Connect and close as fast as possible: every other close is a reset, the
 * rest a plain close, which leaves the port in TIME_WAIT: only where the
 * kernel reuses those (else tens of thousands of them would use up the
 * ephemeral ports for a minute), otherwise every close is a reset. */
static void *churn_main(void *p)
{
    abuser *a = p;
    for (unsigned long i = 0; go_on(a); i++) {
        int fd = tcp_open(&a->ctl->addr, 0, 200);
        if (fd < 0) {
            a->fails++;
            sleep_ms(1);
            continue;
        }
        a->conns++;
        if ((i & 1) || !g_tw_reuse)
            rst_close(fd);
        else
            close(fd);
    }
    return NULL;
}

/* Hit and run: 64 pipelined P_CONC(1 ms) calls in one send, then close
 * without reading a reply.  Paced (ctl->pace_ms): a few hundred connections a
 * second already bring ten times the calls two workers can run, and a server
 * that runs them all must still be stopped (it runs every queued call first)
 * in a bounded time. */
static void *hitrun_main(void *p)
{
    abuser *a = p;
    double next = now_ms();
    while (go_on(a)) {
        if (a->ctl->pace_ms) {
            double wait = next - now_ms();
            if (wait >= 1)
                sleep_ms((unsigned)wait);
            next += a->ctl->pace_ms;
            if (next < now_ms())
                next = now_ms(); /* no bursts to catch up */
        }
        int fd = tcp_open(&a->ctl->addr, 0, 500);
        if (fd < 0) {
            a->fails++;
            sleep_ms(1);
            continue;
        }
        if (send_all(fd, g_conc_batch, sizeof g_conc_batch, 1000) < sizeof g_conc_batch)
            a->short_sends++;
        close(fd);
        a->conns++;
    }
    return NULL;
}

/* Reset mid-flush: a small receive window, 64 pipelined 16 KiB echoes (the
 * replies cannot all be written), then a reset.  Two connections in three
 * reset without reading a byte, after a pseudo-random 0-1.5 ms (while the
 * server reads, runs or writes the batch); the third first reads some of the
 * replies, so that the server is writing (on the thread that took the
 * window update) when the reset comes in (on another).  That is when the old
 * server's kill left the queued replies to a writer that then gave up. */
static void *rstflush_main(void *p)
{
    abuser *a = p;
    for (unsigned long i = a->id * 7919u; go_on(a); i++) {
        int fd = tcp_open(&a->ctl->addr, 4096, 1000);
        if (fd < 0) {
            a->fails++;
            sleep_ms(1);
            continue;
        }
        if (send_all(fd, g_echo_batch, sizeof g_echo_batch, 3000) < sizeof g_echo_batch)
            a->short_sends++;
        if (i % 3 == 0) {
            /* Read 4 KiB .. 256 KiB of the replies, then reset at once. */
            size_t want = (size_t)4096 << (i / 3 % 7), got = 0;
            double until = now_ms() + 500;
            while (got < want && now_ms() < until) {
                uint8_t b[4096];
                ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
                if (n > 0) {
                    got += (size_t)n;
                    continue;
                }
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                    break;
                struct pollfd pf = {fd, POLLIN, 0};
                poll(&pf, 1, 20);
            }
        } else {
            unsigned r = (unsigned)(i * 2654435761u) >> 8;
            if (r % 1500)
                usleep(r % 1500);
        }
        rst_close(fd);
        a->conns++;
    }
    return NULL;
}

/* Fills a connection with 16 KiB echoes, never reading, until its send
 * blocks (no progress for 300 ms) or limit_ms pass; the bytes sent. */
static size_t fill_unread(int fd, int limit_ms)
{
    size_t sent = 0;
    double until = now_ms() + limit_ms, last = now_ms();
    while (now_ms() < until && now_ms() - last < 300) {
        size_t off = sent % sizeof g_echo_batch;
        ssize_t w =
            send(fd, g_echo_batch + off, sizeof g_echo_batch - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w;
            last = now_ms();
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break; /* closed by the server already */
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, 20);
    }
    return sent;
}

/* Never reads: fills a connection until its send blocks, holds it a while
 * (the server should close it), then resets it and starts again. */
static void *noread_main(void *p)
{
    abuser *a = p;
    while (go_on(a)) {
        int fd = tcp_open(&a->ctl->addr, 4096, 1000);
        if (fd < 0) {
            a->fails++;
            sleep_ms(5);
            continue;
        }
        fill_unread(fd, 1000);
        for (int k = 0; k < 50 && go_on(a); k++)
            sleep_ms(20);
        rst_close(fd);
        a->conns++;
    }
    return NULL;
}

/* An abuser runs at the lowest priority (nice 19): the clients attacking the
 * server share this process and its two cores with the server and the
 * prober, and what is measured is how the server copes with their traffic,
 * not how their own threads crowd the CPU.  (They still send as fast as
 * the machine lets them.) */
static void *abuser_trampoline(void *p)
{
    abuser *a = p;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    return a->fn(a);
}

static void abusers_start(abuser *a, unsigned n, abuse *ctl, void *(*fn)(void *), unsigned max)
{
    for (unsigned i = 0; i < n; i++) {
        a[i] = (abuser){.ctl = ctl, .max = max, .id = i, .fn = fn};
        assert_int_equal(pthread_create(&a[i].th, NULL, abuser_trampoline, &a[i]), 0);
    }
}

/* Joins the threads; adds up their results. */
static void abusers_join(abuser *a, unsigned n, abuser *sum)
{
    memset(sum, 0, sizeof *sum);
    for (unsigned i = 0; i < n; i++) {
        pthread_join(a[i].th, NULL);
        sum->conns += a[i].conns;
        sum->fails += a[i].fails;
        sum->short_sends += a[i].short_sends;
    }
}

/* Watches the heap while clients abuse the server: records the peak and, as
 * a safety net, stops the abuse when the heap has grown by `cutoff` (a
 * server that queues without end must not take the machine with it, nor
 * keep the test waiting for minutes while its stop runs every queued call). */
typedef struct heapwatch {
    size_t base, peak, cutoff;
    abuse *ctl;
    atomic_bool done;
    bool cut; /* the abuse was stopped by the cutoff */
    pthread_t th;
} heapwatch;

static void *heapwatch_main(void *p)
{
    heapwatch *h = p;
    while (!atomic_load(&h->done)) {
        size_t now = heap_in_use();
        if (now > h->peak)
            h->peak = now;
        if (h->cutoff && grown(h->base, now) > h->cutoff && !h->cut) {
            h->cut = true;
            atomic_store(&h->ctl->stop, true);
        }
        sleep_ms(10);
    }
    return NULL;
}

static void heapwatch_start(heapwatch *h, abuse *ctl, size_t base, size_t cutoff)
{
    *h = (heapwatch){.base = base, .peak = base, .cutoff = cutoff, .ctl = ctl};
    assert_int_equal(pthread_create(&h->th, NULL, heapwatch_main, h), 0);
}

static void heapwatch_stop(heapwatch *h)
{
    atomic_store(&h->done, true);
    pthread_join(h->th, NULL);
}

/* Waits (at most ms) for the descriptor count and the heap to come back
 * within the given margins of their baselines; leaves the last readings. */
static void settle(int fd0, int fd_margin, size_t heap0, size_t heap_margin, int ms, int *fds,
                   size_t *heap)
{
    double until = now_ms() + ms;
    for (;;) {
        *fds = count_fds();
        *heap = heap_in_use();
        if ((*fds <= fd0 + fd_margin && grown(heap0, *heap) <= heap_margin) || now_ms() > until)
            return;
        sleep_ms(50);
    }
}

/* ------------------------------------------------------------ 1: churn */

/* Defect 1: accept put a connection into the slot table before it was made
 * (zeroed last_active, no reference yet); the idle sweep, every 10 ms with a
 * 40 ms idle timeout, could take it for idle and free it while accept went on
 * writing into it (SIGSEGV; ASan heap-use-after-free).  A fixed server
 * survives the churn and serves a normal call afterwards. */
static void test_churn_idle_sweep(void **state)
{
    (void)state;
    far_server_opts so = {.idle_timeout_ms = 40};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    abuse ctl = {.addr = parse(t.bound)};
    unsigned secs = scaled(8, 6), nt = scaled(4, 3);
    ctl.until = now_ms() + secs * 1000.0;
    abuser a[4], sum;
    double t0 = now_ms();
    abusers_start(a, nt, &ctl, churn_main, 0);
    abusers_join(a, nt, &sum);
    double took = now_ms() - t0;
    char msg[300] = "";
    far_err rc = add_fresh(t.bound, 3000, msg, sizeof msg);
    tserver_stop(&t);
    print_message("churn: %lu connections in %.1f s (%.0f/s), %lu failed connects\n", sum.conns,
                  took / 1e3, sum.conns / (took / 1e3), sum.fails);
    if (rc != FAR_OK)
        fail_msg("a call after the churn failed: %s", msg);
    /* Not a property of the server, but without churn this tests nothing. */
    assert_true(sum.conns >= 1000);
}

/* ------------------------------------------------------------ 2: hit and run */

/* Defect 2: the calls of a connection whose client has gone were all run
 * anyway: hit-and-run callers grew the work queue without end (GBs of
 * memory, all 4096 connection slots held, new clients refused or waiting for
 * minutes).  A fixed server drops the calls of a connection that is gone
 * before running them: (a) other clients are served during the abuse,
 * (b) the handlers stop running soon after the abusers stop, (c) memory
 * stays bounded. */
static void test_hit_and_run(void **state)
{
    (void)state;
    far_server_opts so = {.workers = 2};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    assert_int_equal(add_fresh(t.bound, 3000, NULL, 0), FAR_OK);
    unsigned ms = scaled(4000, 3000), nt = 3;
    abuse ctl = {.addr = parse(t.bound), .pace_ms = 10}; /* 300 connections/s */
    size_t heap0 = heap_in_use();
    heapwatch hw;
    heapwatch_start(&hw, &ctl, heap0, 80u << 20);
    double t0 = now_ms();
    ctl.until = t0 + ms;
    abuser a[3], sum;
    abusers_start(a, nt, &ctl, hitrun_main, 0);

    /* (a) Fresh clients, each with a 3 s deadline, while the abuse runs
     * (from 1 s in: a server that queues every call is seconds behind by
     * then). */
    int probes = 0, probe_fail = 0;
    double worst = 0;
    char first[700] = "";
    sleep_ms(1000);
    while (now_ms() < t0 + ms - 200 && probes < 10) {
        double p0 = now_ms();
        char msg[300];
        far_err rc = add_fresh(t.bound, 3000, msg, sizeof msg);
        double lat = now_ms() - p0;
        probes++;
        if (lat > worst)
            worst = lat;
        if (rc != FAR_OK && probe_fail++ == 0)
            snprintf(first, sizeof first, "probe %d at %.1f s: %s", probes, (p0 - t0) / 1e3, msg);
        sleep_ms(300);
    }
    abusers_join(a, nt, &sum);
    double t_stop = now_ms();
    heapwatch_stop(&hw);

    /* (b) Within 1.5 s of the abusers stopping, no handler runs any more. */
    sleep_ms(1500);
    unsigned c1 = calls_run(&t);
    sleep_ms(500);
    unsigned c2 = calls_run(&t);
    double stopped_at = (t_stop - t0) / 1e3;
    print_message("hit-and-run: %lu connections (%lu x 64 calls) in %.1f s%s, %u handler runs, "
                  "%d probes (worst %.0f ms), heap +%ld MB at peak\n",
                  sum.conns, sum.conns, stopped_at, hw.cut ? " (stopped early: heap cutoff)" : "",
                  c2, probes, worst, mb(grown(heap0, hw.peak)));
    double d0 = now_ms();
    tserver_stop(&t); /* a server that runs every queued call takes a while here */
    if (now_ms() - d0 > 1000)
        print_message("hit-and-run: stopping the server took %.1f s\n", (now_ms() - d0) / 1e3);

    if (probe_fail)
        fail_msg("%d of %d fresh clients failed during the abuse; first: %s", probe_fail, probes,
                 first);
    assert_true(probes >= 1);
    if (c1 != c2)
        fail_msg("handlers still running 1.5 s after the abusers stopped: %u then %u runs 500 ms "
                 "later",
                 c1, c2);
    if (grown(heap0, hw.peak) >= (64u << 20))
        fail_msg("heap grew by %ld MB during the abuse", mb(grown(heap0, hw.peak)));
    assert_true(sum.conns >= 100);
}

/* ------------------------------------------------------------ 3: reset mid-flush */

/* Defect 3: a connection reset while its replies were being written left
 * the queued replies (each holding a reference to the connection) on the
 * connection: a cycle that leaked the descriptor and the requests' memory.
 * It takes a race between the writer and the thread that sees the reset, so
 * the test makes many connections (up to 10000 in 5 s) to a server with
 * many workers (on 2 cores the old server leaked about one connection in 100
 * that way).  A fixed server gets both back once the clients are gone. */
static void test_reset_mid_flush(void **state)
{
    (void)state;
    /* More handler threads than cores: the writer and the thread that sees
     * the reset then often run at the same moment (the old server leaked ten
     * times as often with 8 workers as with 2). */
    far_server_opts so = {.workers = 8};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    assert_int_equal(add_fresh(t.bound, 3000, NULL, 0), FAR_OK);
    unsigned nt = 3;
    abuse ctl = {.addr = parse(t.bound)};
    abuser a[3], sum;

    /* Warm-up: the same traffic briefly, so that the server's request pool
     * and buffers are at their working size before the baseline. */
    ctl.until = now_ms() + 1500;
    abusers_start(a, nt, &ctl, rstflush_main, 150);
    abusers_join(a, nt, &sum);
    sleep_ms(500);
    int fd0 = count_fds();
    size_t heap0 = heap_in_use();

    unsigned total = scaled(10000, 6000);
    heapwatch hw;
    heapwatch_start(&hw, &ctl, heap0, 128u << 20);
    double t0 = now_ms();
    ctl.until = t0 + scaled(5000, 4000);
    abusers_start(a, nt, &ctl, rstflush_main, total / nt);
    abusers_join(a, nt, &sum);
    double took = now_ms() - t0;
    heapwatch_stop(&hw);

    int fds;
    size_t heap;
    settle(fd0, 2, heap0, 8u << 20, 3000, &fds, &heap);
    char msg[300] = "";
    far_err rc = add_fresh(t.bound, 3000, msg, sizeof msg);
    tserver_stop(&t);
    print_message("reset mid-flush: %lu connections in %.1f s (%lu short sends, %lu failed "
                  "connects); fds %d -> %d, heap %+ld MB after settling (peak +%ld MB)\n",
                  sum.conns, took / 1e3, sum.short_sends, sum.fails, fd0, fds,
                  (long)((long long)heap - (long long)heap0) / (1 << 20),
                  mb(grown(heap0, hw.peak)));
    if (fds > fd0 + 2)
        fail_msg("%d descriptors leaked by %lu reset connections", fds - fd0, sum.conns);
    if (grown(heap0, heap) > (8u << 20))
        fail_msg("heap still %ld MB above its baseline after the clients were gone",
                 mb(grown(heap0, heap)));
    if (rc != FAR_OK)
        fail_msg("a call after the abuse failed: %s", msg);
    assert_true(sum.conns >= 100);
}

/* ------------------------------------------------------------ 4: UDP */

/* Defect 4: an empty datagram was copied with memcpy(NULL, buf, 0) into a
 * fresh request (undefined behaviour: UBSan stops the server).  A fixed
 * server ignores it, and truncated call headers (1..43 bytes) too. */
static void test_udp_empty_and_truncated(void **state)
{
    (void)state;
    tserver t;
    tserver_start(&t, "udp://127.0.0.1:0", NULL);
    far__addr a = parse(t.bound);
    int fd = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a.ss, a.len), 0);
    /* First of all (the server's first request is a fresh one): 0 bytes. */
    bool sent0 = send(fd, "", 0, 0) == 0;
    sleep_ms(100);
    char msg[300] = "";
    far_err rc0 = add_fresh(t.bound, 3000, msg, sizeof msg);

    /* Then every truncation of an ADD call datagram, and 0 bytes again. */
    uint8_t dg[48];
    uint32_t w[12] = {77, 0, 2, TPROG, 1, P_ADD, 0, 0, 0, 0, 1, 2};
    for (int k = 0; k < 12; k++)
        far_xdr_store_u32(dg + 4 * k, w[k]);
    int sent = 0;
    for (size_t n = 1; n <= 43; n++)
        sent += send(fd, dg, n, 0) == (ssize_t)n;
    sent += send(fd, "", 0, 0) == 0;
    sleep_ms(100);
    char msg2[300] = "";
    far_err rc1 = add_fresh(t.bound, 3000, msg2, sizeof msg2);
    close(fd);
    tserver_stop(&t);
    assert_true(sent0);
    assert_int_equal(sent, 44);
    if (rc0 != FAR_OK)
        fail_msg("after an empty datagram: %s", msg);
    if (rc1 != FAR_OK)
        fail_msg("after truncated datagrams: %s", msg2);
}

/* ------------------------------------------------------------ 5: slow handlers */

typedef struct slow_call {
    atomic_int done, ok;
    uint32_t res[2];
} slow_call;

static void slow_cb(const far_status *st, void *res, void *user)
{
    (void)res;
    slow_call *s = user;
    if (st->err == FAR_OK)
        atomic_fetch_add(&s->ok, 1);
    atomic_fetch_add(&s->done, 1);
}

/* Defect 5: with every worker in a slow handler, every other call waited,
 * even the NULL procedure, which needs no handler.  A fixed server answers
 * NULL without a worker and grows its pool (up to a bound) when every
 * worker is busy and work waits: both quick calls, on a new connection,
 * complete before the slow ones do. */
static void test_slow_handlers_do_not_stall(void **state)
{
    (void)state;
    far_server_opts so = {.workers = 2};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    far_err rc;
    far_client *slow = client_open(t.bound, 10000, &rc);
    assert_non_null(slow);
    slow_call sc = {0};
    uint32_t ms = 2500;
    far_err rs0 = far_client_call_async(slow, TPROG, 1, P_CONC, u32_enc, &ms, u32_dec, &sc.res[0],
                                        NULL, NULL, slow_cb, &sc);
    far_err rs1 = far_client_call_async(slow, TPROG, 1, P_CONC, u32_enc, &ms, u32_dec, &sc.res[1],
                                        NULL, NULL, slow_cb, &sc);
    /* Wait until both slow calls are running: every worker is busy. */
    double until = now_ms() + 2000;
    while (conc_now(&t) < 2 && now_ms() < until)
        sleep_ms(5);
    bool both_running = conc_now(&t) == 2;

    far_client *quick = client_open(t.bound, 2000, &rc);
    far_err rn = rc, ra = rc;
    int done_at_null = -1, done_at_add = -1;
    double lat_null = 0, lat_add = 0;
    far_status stn = {0}, sta = {0};
    if (quick) {
        far_call_opts co = {.timeout_ms = 2000, .status = &stn};
        double q0 = now_ms();
        rn = far_client_call(quick, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL, &co);
        done_at_null = atomic_load(&sc.done);
        lat_null = now_ms() - q0;
        q0 = now_ms();
        ra = add_call(quick, &sta);
        done_at_add = atomic_load(&sc.done);
        lat_add = now_ms() - q0;
    }
    until = now_ms() + 6000;
    while (atomic_load(&sc.done) < 2 && now_ms() < until)
        sleep_ms(10);
    int slow_ok = atomic_load(&sc.ok);
    far_client_destroy(quick);
    far_client_destroy(slow);
    tserver_stop(&t);
    print_message("slow handlers: NULL %s in %.0f ms, ADD %s in %.0f ms\n", far_errname(rn),
                  lat_null, far_errname(ra), lat_add);
    assert_int_equal(rs0, FAR_OK);
    assert_int_equal(rs1, FAR_OK);
    assert_true(both_running);
    if (rn != FAR_OK)
        fail_msg("NULL call while every worker was busy: %s (%s)", far_errname(rn), stn.msg);
    if (done_at_null != 0)
        fail_msg("NULL call completed only after the slow calls");
    if (ra != FAR_OK)
        fail_msg("ADD call while every worker was busy: %s (%s)", far_errname(ra), sta.msg);
    if (done_at_add != 0)
        fail_msg("ADD call completed only after the slow calls");
    assert_int_equal(slow_ok, 2);
}

/* ------------------------------------------------------------ 6: limits */

/* Defect 6a: the idle sweep closed at most 64 connections a tick, so with
 * 1500 idle connections the last ones stayed open for seconds past the
 * timeout.  A fixed server closes every one of them on time. */
static void test_idle_sweep_closes_all(void **state)
{
    (void)state;
    rlim_t lim = raise_nofile();
    int have = count_fds();
    int n = 1500;
    if ((long)lim < have + 2 * n + 64)
        n = ((int)lim - have - 64) / 2;
    if (n < 200)
        skip(); /* not enough descriptors for a meaningful test */
    far_server_opts so = {.idle_timeout_ms = 1000};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    far__addr a = parse(t.bound);
    struct pollfd *pf = calloc((size_t)n, sizeof *pf);
    double *opened = calloc((size_t)n, sizeof *opened);
    double *closed = calloc((size_t)n, sizeof *closed);
    assert_non_null(pf);
    assert_non_null(opened);
    assert_non_null(closed);
    int made = 0;
    for (int i = 0; i < n; i++) {
        int fd = tcp_open(&a, 0, 2000);
        if (fd < 0)
            break;
        pf[made].fd = fd;
        pf[made].events = POLLIN;
        opened[made++] = now_ms();
    }
    double last_open = made ? opened[made - 1] : now_ms();
    int fds[2000];
    for (int i = 0; i < made; i++)
        fds[i] = pf[i].fd;
    /* Wait until every one is closed, or 3.5 s after the last was opened. */
    int nclosed = 0;
    while (nclosed < made && now_ms() < last_open + 3500) {
        if (poll(pf, (nfds_t)made, 50) <= 0)
            continue;
        for (int i = 0; i < made; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            uint8_t b[64];
            ssize_t r = recv(pf[i].fd, b, sizeof b, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                closed[i] = now_ms();
                pf[i].fd = -1;
                nclosed++;
            }
        }
    }
    double worst = 0, earliest = 1e9;
    int late = 0;
    for (int i = 0; i < made; i++) {
        double d = closed[i] ? closed[i] - opened[i] : now_ms() - opened[i];
        if (!closed[i] || d > 3000)
            late++;
        if (d > worst)
            worst = d;
        if (closed[i] && d < earliest)
            earliest = d;
    }
    for (int i = 0; i < made; i++)
        close(fds[i]);
    free(pf);
    free(opened);
    free(closed);
    char msg[300] = "";
    far_err rc = add_fresh(t.bound, 3000, msg, sizeof msg);
    tserver_stop(&t);
    print_message("idle sweep: %d connections, %d closed in time; first after %.0f ms, last "
                  "after %.0f ms%s\n",
                  made, made - late, earliest, worst, nclosed < made ? " (or still open)" : "");
    assert_int_equal(made, n);
    if (late)
        fail_msg("%d of %d idle connections not closed within 3 s (idle timeout 1 s)", late, made);
    if (earliest < 500)
        fail_msg("an idle connection was closed after %.0f ms (idle timeout 1 s)", earliest);
    if (rc != FAR_OK)
        fail_msg("a call afterwards failed: %s", msg);
}

/* Reads what is buffered on fd to tell whether the server has closed it:
 * 1 if the data end in EOF or a reset, 0 if no more data come for quiet_ms
 * with the connection still open, -1 if neither within max_ms.  quiet_ms
 * must be shorter than the server's idle timeout: once drained, even a
 * server that never closes never-reading clients closes an idle one. */
static int server_closed(int fd, int quiet_ms, int max_ms, size_t *drained)
{
    double until = now_ms() + max_ms;
    *drained = 0;
    while (now_ms() < until) {
        uint8_t b[65536];
        ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n > 0) {
            *drained += (size_t)n;
            continue;
        }
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 1;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return 1;
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, quiet_ms) == 0)
            return 0;
    }
    return -1;
}

/* Defect 6b: a connection with replies waiting to be written was never
 * idle, so a client that sends calls and never reads held its connection
 * (and the replies) for ever.  A fixed server closes it on the idle timeout. */
static void test_unread_replies_idle_timeout(void **state)
{
    (void)state;
    far_server_opts so = {.idle_timeout_ms = 500};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    far__addr a = parse(t.bound);
    int fd = tcp_open(&a, 4096, 2000);
    assert_true(fd >= 0);
    size_t sent = fill_unread(fd, 3000);
    double blocked = now_ms();
    /* Read nothing for 3 s, then look: a closed connection gives EOF or a
     * reset after the replies buffered; an open one runs dry. */
    sleep_ms(3000);
    size_t got = 0;
    int verdict = server_closed(fd, 250, 5000, &got);
    close(fd);
    char msg[300] = "";
    far_err rc = add_fresh(t.bound, 3000, msg, sizeof msg);
    tserver_stop(&t);
    print_message("never-reading client: %zu KiB sent until blocked; after %.1f s: %s (%zu KiB "
                  "of replies read)\n",
                  sent >> 10, (now_ms() - blocked) / 1e3,
                  verdict == 1   ? "closed by the server"
                  : verdict == 0 ? "still open"
                                 : "undecided",
                  got >> 10);
    assert_true(sent >= 2 * ECHO_REC);
    if (verdict != 1)
        fail_msg("a client that never read its replies was %s 3 s after it stalled (idle "
                 "timeout 500 ms)",
                 verdict == 0 ? "still connected" : "not seen closed");
    if (rc != FAR_OK)
        fail_msg("a call afterwards failed: %s", msg);
}

/* Defect 6c: a connection refused past max_conns was closed without a word,
 * so its client saw FAR_ECONNLOST like any lost connection.  A fixed server
 * lets the client tell: FAR_ETOOMANY, "too many connections". */
static void test_refused_is_distinct(void **state)
{
    (void)state;
    far_server_opts so = {.max_conns = 2};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    far_err rc;
    far_client *c0 = client_open(t.bound, 3000, &rc);
    assert_non_null(c0);
    far_client *c1 = client_open(t.bound, 3000, &rc);
    assert_non_null(c1);
    far_err r0 = add_call(c0, NULL), r1 = add_call(c1, NULL);
    far_err ropen;
    far_client *c2 = client_open(t.bound, 3000, &ropen);
    far_status st = {0};
    far_err r2 = ropen == FAR_OK ? add_call(c2, &st) : ropen;
    char last[256];
    snprintf(last, sizeof last, "%s", far_last_error());
    bool says = strstr(st.msg, "too many connections") || strstr(last, "too many connections");
    /* When one of the two leaves there is room for the third. */
    far_client_destroy(c0);
    far_err again = FAR_EIO;
    for (int i = 0; i < 50 && again != FAR_OK && c2; i++) {
        sleep_ms(20);
        again = add_call(c2, NULL);
    }
    far_err r1b = add_call(c1, NULL);
    far_client_destroy(c1);
    far_client_destroy(c2);
    tserver_stop(&t);
    assert_int_equal(r0, FAR_OK);
    assert_int_equal(r1, FAR_OK);
    assert_int_equal(ropen, FAR_OK); /* the TCP connection itself is made */
    if (r2 != FAR_ETOOMANY)
        fail_msg("a call past max_conns: %s, expected FAR_ETOOMANY (status \"%s\")",
                 far_errname(r2), st.msg);
    if (!says)
        fail_msg("neither far_status.msg (\"%s\") nor far_last_error() (\"%s\") says \"too "
                 "many connections\"",
                 st.msg, last);
    if (again != FAR_OK)
        fail_msg("the refused client was not served after a slot was freed: %s",
                 far_errname(again));
    assert_int_equal(r1b, FAR_OK);
}

/* Defect 6d: every refused connection was logged, so a flood of them
 * flooded the log.  A fixed server rate-limits the message. */
static void test_refusal_log_rate_limited(void **state)
{
    (void)state;
    char path[] = "/tmp/farcall-abuse-log-XXXXXX";
    int logfd = mkstemp(path);
    assert_true(logfd >= 0);
    unlink(path);
    char *quiet = getenv("FARCALL_QUIET");
    char saved_quiet[16] = "";
    if (quiet)
        snprintf(saved_quiet, sizeof saved_quiet, "%s", quiet);
    unsetenv("FARCALL_QUIET"); /* no server thread runs yet */
    far_server_opts so = {.max_conns = 1};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    /* From here to the server's end, standard error goes to the file. */
    fflush(stderr);
    int saved = dup(2);
    bool redirected = saved >= 0 && dup2(logfd, 2) == 2;
    far_err rc;
    far_client *held = client_open(t.bound, 3000, &rc);
    far_err rh = held ? add_call(held, NULL) : rc;
    far__addr a = parse(t.bound);
    enum { N = 300 };
    int fds[N], made = 0, closed = 0;
    for (int i = 0; i < N; i++) {
        int fd = tcp_open(&a, 0, 1000);
        if (fd >= 0)
            fds[made++] = fd;
    }
    double until = now_ms() + 3000;
    for (int i = 0; i < made; i++) {
        double left = until - now_ms();
        if (closed_within(fds[i], left > 0 ? (int)left : 0))
            closed++;
    }
    for (int i = 0; i < made; i++)
        close(fds[i]);
    sleep_ms(200);
    far_client_destroy(held);
    tserver_stop(&t);

    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (quiet)
        setenv("FARCALL_QUIET", saved_quiet, 1);
    else
        setenv("FARCALL_QUIET", "1", 1);

    static char logbuf[1 << 20];
    ssize_t len = pread(logfd, logbuf, sizeof logbuf - 1, 0);
    close(logfd);
    logbuf[len > 0 ? len : 0] = 0;
    int lines = 0, about = 0;
    static char first[256];
    first[0] = 0;
    for (char *l = logbuf; *l;) {
        char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        char save = l[n];
        l[n] = 0;
        lines++;
        if (strcasestr(l, "connection") || strcasestr(l, "refus")) {
            if (about++ == 0)
                snprintf(first, sizeof first, "%.200s", l);
        }
        l[n] = save;
        l += n + (save ? 1 : 0);
    }
    print_message("refusal log: %d of %d connections refused (closed by the server), %d log "
                  "lines about connections (%d lines in all); first: \"%s\"\n",
                  closed, made, about, lines, first);
    assert_true(redirected);
    assert_int_equal(rh, FAR_OK);
    assert_int_equal(made, N);
    if (about > 5)
        fail_msg("%d log lines about refused connections for %d refusals (at most 5 expected)",
                 about, made);
    if (about < 1)
        fail_msg("nothing logged about %d refused connections", made);
}

/* ------------------------------------------------------------ 8: everything at once */

typedef struct prober {
    const char *addr;
    uint32_t idle_ms; /* the server's idle timeout */
    atomic_bool stop;
    /* results, read after the join */
    int calls, failures, idle_races;
    double worst, worst_gap;
    char first[300];
    pthread_t th;
} prober;

/* A NULL call every 20 ms on its own client; the worst latency, failures.
 * A connection left quiet for the idle timeout (the prober thread held up
 * that long) may be closed by the server just as the next call goes out:
 * that FAR_ECONNLOST is the idle timeout doing its job, so it is counted
 * apart and the call made again.  Under a sanitizer the server itself can
 * be that slow to read a call (it is not "received" until read), so there
 * any FAR_ECONNLOST that a retry cures counts as such an idle close. */
static void *prober_main(void *p)
{
    prober *pr = p;
    far_err rc;
    far_client *c = client_open(pr->addr, 2000, &rc);
    if (!c) {
        pr->failures++;
        snprintf(pr->first, sizeof pr->first, "open: %s", far_last_error());
        return NULL;
    }
    double last_done = now_ms();
    while (!atomic_load(&pr->stop)) {
        far_status st = {0};
        far_call_opts co = {.status = &st};
        double t0 = now_ms(), gap = t0 - last_done;
        rc = far_client_call(c, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL, &co);
        if (rc == FAR_ECONNLOST && (gap >= pr->idle_ms * 3 / 4 || sanitized())) {
            pr->idle_races++;
            t0 = now_ms();
            rc = far_client_call(c, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL, &co);
        }
        last_done = now_ms();
        double lat = last_done - t0;
        pr->calls++;
        if (lat > pr->worst)
            pr->worst = lat;
        if (gap > pr->worst_gap)
            pr->worst_gap = gap;
        if (rc != FAR_OK && pr->failures++ == 0)
            snprintf(pr->first, sizeof pr->first, "call %d (%.0f ms after the last): %s: %.200s",
                     pr->calls, gap, far_errname(rc), st.msg);
        sleep_ms(20);
    }
    far_client_destroy(c);
    return NULL;
}

/* Defects 1, 2, 3 and 6b together, as a busy server meets them: churn,
 * resets mid-flush, hit-and-run callers and never-reading clients at once.
 * A fixed server keeps answering a prober's NULL calls quickly throughout,
 * and gets its descriptors and memory back afterwards. */
static void test_everything_at_once(void **state)
{
    (void)state;
    far_server_opts so = {.idle_timeout_ms = 200, .workers = 2};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    assert_int_equal(add_fresh(t.bound, 3000, NULL, 0), FAR_OK);
    abuse ctl = {.addr = parse(t.bound), .pace_ms = 10};
    enum { NCHURN = 2, NRST = 1, NHIT = 2, NNOREAD = 1 };
    abuser churn[NCHURN], rst[NRST], hit[NHIT], noread[NNOREAD], s_churn, s_rst, s_hit, s_noread;

    /* Warm-up, as in the reset test: pools at their working size. */
    ctl.until = now_ms() + 1500;
    abusers_start(rst, NRST, &ctl, rstflush_main, 150);
    abusers_join(rst, NRST, &s_rst);
    sleep_ms(500);
    int fd0 = count_fds();
    size_t heap0 = heap_in_use();

    heapwatch hw;
    heapwatch_start(&hw, &ctl, heap0, 96u << 20);
    prober pr = {.addr = t.bound, .idle_ms = so.idle_timeout_ms};
    assert_int_equal(pthread_create(&pr.th, NULL, prober_main, &pr), 0);
    double t0 = now_ms();
    ctl.until = t0 + scaled(6000, 4000);
    abusers_start(churn, NCHURN, &ctl, churn_main, 0);
    abusers_start(rst, NRST, &ctl, rstflush_main, 0);
    abusers_start(hit, NHIT, &ctl, hitrun_main, 0);
    abusers_start(noread, NNOREAD, &ctl, noread_main, 0);
    abusers_join(churn, NCHURN, &s_churn);
    abusers_join(rst, NRST, &s_rst);
    abusers_join(hit, NHIT, &s_hit);
    abusers_join(noread, NNOREAD, &s_noread);
    double took = now_ms() - t0;
    atomic_store(&pr.stop, true);
    pthread_join(pr.th, NULL);
    heapwatch_stop(&hw);

    int fds;
    size_t heap;
    settle(fd0, 4, heap0, 16u << 20, 3000, &fds, &heap);
    char msg[300] = "";
    far_err rc = add_fresh(t.bound, 3000, msg, sizeof msg);
    double d0 = now_ms();
    tserver_stop(&t);
    double stop_s = (now_ms() - d0) / 1e3;
    print_message("everything at once for %.1f s%s: churn %lu, reset mid-flush %lu, hit-and-run "
                  "%lu, never-reading %lu connections; prober: %d NULL calls, %d failed, worst "
                  "%.1f ms (longest pause %.0f ms, %d idle closes); fds %d -> %d, heap %+ld MB "
                  "after settling (peak +%ld MB); server stop %.1f s\n",
                  took / 1e3, hw.cut ? " (stopped early: heap cutoff)" : "", s_churn.conns,
                  s_rst.conns, s_hit.conns, s_noread.conns, pr.calls, pr.failures, pr.worst,
                  pr.worst_gap, pr.idle_races, fd0, fds,
                  (long)((long long)heap - (long long)heap0) / (1 << 20), mb(grown(heap0, hw.peak)),
                  stop_s);
    if (pr.failures)
        fail_msg("%d of %d prober NULL calls failed; first: %s", pr.failures, pr.calls, pr.first);
    assert_true(pr.calls > 0);
    if (fds > fd0 + 4)
        fail_msg("%d descriptors still open after the abuse", fds - fd0);
    if (grown(heap0, heap) > (16u << 20))
        fail_msg("heap still %ld MB above its baseline after the abuse", mb(grown(heap0, heap)));
    if (rc != FAR_OK)
        fail_msg("a call after the abuse failed: %s", msg);
    /* Not a timing of the code: a starved server (a worker held by a client
     * that never reads, an accept loop buried in churn) leaves the prober
     * waiting for seconds.  Typically 5-50 ms; the bound leaves room for a
     * machine that ctest also loads with other tests. */
    if (!sanitized() && pr.worst > 1000)
        fail_msg("worst NULL call latency %.1f ms during the abuse (at most 1000 ms)", pr.worst);
}

/* An argument runs only the tests whose names match it (cmocka's pattern:
 * `*` and `?`), e.g. test_rt_abuse 'test_udp*'. */
int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    setenv("FARCALL_QUIET", "1", 0);
    raise_nofile();
    build_batches();
    g_tw_reuse = tw_reuse();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_churn_idle_sweep),
        cmocka_unit_test(test_hit_and_run),
        cmocka_unit_test(test_reset_mid_flush),
        cmocka_unit_test(test_udp_empty_and_truncated),
        cmocka_unit_test(test_slow_handlers_do_not_stall),
        cmocka_unit_test(test_idle_sweep_closes_all),
        cmocka_unit_test(test_unread_replies_idle_timeout),
        cmocka_unit_test(test_refused_is_distinct),
        cmocka_unit_test(test_refusal_log_rate_limited),
        cmocka_unit_test(test_everything_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
