/* FAR_CTX (docs/runtime.md): the flavor on the wire between two farcall
 * ends (the deadline arrives, AUTH_SYS rides inside, no_ctx sends none), the
 * fallback to plain ONC RPC for a peer that denies the flavor as libtirpc
 * does, and require_ctx's refusal; timed termination (a 50 ms deadline on a
 * 5 s handler, a call whose deadline passes while it waits for a handler,
 * a nested call inheriting the time left); reincarnation (a client process
 * killed with SIGKILL and started again under its owner name cancels its
 * old life's call; a server killed with SIGKILL mid-call and restarted makes
 * the call FAR_EUNKNOWN_OUTCOME); at-most-once calls through faultproxy's TCP
 * resets are sent again and answered from the duplicate request cache, none
 * run twice.  Times are printed, never asserted but
 * against the handlers' own ends.
 *
 *   test_rt_ctx [FAULTPROXY]      (without it the TCP-reset test is skipped)
 *   test_rt_ctx serve ADDR           (the server process the restart test kills)
 *   test_rt_ctx hold ADDR OWNER MS   (the client process the restart test kills) */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctx_common.h"

extern char **environ;

typedef struct csrv {
    far_server *s;
    cstate st;
    char bound[128];
} csrv;

static void csrv_start(csrv *t, const char *addr, const far_server_opts *o)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(far_server_create(&t->s, o), FAR_OK);
    assert_int_equal(far_server_add_program(t->s, &cprog, &t->st), FAR_OK);
    assert_int_equal(far_server_listen(t->s, addr, t->bound, sizeof t->bound), FAR_OK);
    assert_int_equal(far_server_start(t->s), FAR_OK);
}

static bool wait_for(atomic_int *v, int want, unsigned ms)
{
    for (unsigned i = 0; i < ms / 5 && atomic_load(v) < want; i++)
        csleep_ms(5);
    return atomic_load(v) >= want;
}

/* ------------------------------------------------------------ the wire */

static uint32_t remaining_of(const char *addr, const far_client_opts *o, far_err *rc)
{
    far_client *c;
    uint32_t r = 0;
    *rc = far_client_open(&c, addr, o);
    if (*rc != FAR_OK)
        return 0;
    far_call_opts co = {.timeout_ms = 3000};
    *rc = far_client_call(c, CPROG, 1, C_REMAINING, NULL, NULL, cu32_dec, &r, NULL, &co);
    far_client_destroy(c);
    return r;
}

/* Between two farcall ends the deadline arrives (TCP and UDP); with no_ctx
 * the call is a classic one, with none; AUTH_SYS works inside FAR_CTX. */
static void test_ctx_carries_deadline(void **state)
{
    (void)state;
    const char *addrs[] = {"tcp://127.0.0.1:0", "udp://127.0.0.1:0"};
    for (size_t i = 0; i < 2; i++) {
        csrv t;
        csrv_start(&t, addrs[i], NULL);
        far_err rc;
        far_client_opts o = {0}, classic = {.no_ctx = true};
        uint32_t with = remaining_of(t.bound, &o, &rc);
        assert_int_equal(rc, FAR_OK);
        uint32_t without = remaining_of(t.bound, &classic, &rc);
        assert_int_equal(rc, FAR_OK);
        printf("# %s: a 3000 ms call arrives with %u ms left; with no_ctx: %s\n", t.bound, with,
               without == UINT32_MAX ? "no deadline" : "a deadline");
        assert_true(with > 0 && with <= 3000);
        assert_int_equal(without, UINT32_MAX);
        /* AUTH_SYS inside FAR_CTX: the handler sees the caller's uid */
        far_auth_sys me = {.uid = 4242, .gid = 7};
        snprintf(me.machinename, sizeof me.machinename, "ctx-test");
        far_client_opts so = {.auth_sys = true, .cred = &me, .require_ctx = true};
        far_client *c;
        assert_int_equal(far_client_open(&c, t.bound, &so), FAR_OK);
        uint32_t uid = 0;
        assert_int_equal(
            far_client_call(c, CPROG, 1, C_UID, NULL, NULL, cu32_dec, &uid, NULL, NULL), FAR_OK);
        assert_int_equal(uid, 4242);
        far_client_destroy(c);
        far_server_destroy(t.s);
    }
}

/* ------------------------------------------------------------ a classic peer */

/* A TCP peer that answers as libtirpc does (svc_auth.c): AUTH_ERROR
 * AUTH_REJECTEDCRED for a flavor other than AUTH_NONE and AUTH_SYS, else
 * SUCCESS with an AUTH_NONE verifier and no results (a NULL procedure).
 * It serves one connection, up to 8 records. */
typedef struct classic_peer {
    int lfd;
    unsigned port;
    atomic_int calls, denied;
    pthread_t th;
} classic_peer;

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 5000) != 1)
            return false;
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void *classic_main(void *arg)
{
    classic_peer *p = arg;
    struct pollfd pf = {p->lfd, POLLIN, 0};
    if (poll(&pf, 1, 5000) != 1)
        return NULL;
    int fd = accept(p->lfd, NULL, NULL);
    for (int i = 0; fd >= 0 && i < 8; i++) {
        uint8_t mark[4], body[1024];
        if (!read_full(fd, mark, 4))
            break;
        uint32_t len = far_xdr_load_u32(mark) & 0x7fffffffu;
        if (len > sizeof body || len < 32 || !read_full(fd, body, len))
            break;
        uint32_t xid = far_xdr_load_u32(body), flavor = far_xdr_load_u32(body + 24);
        atomic_fetch_add(&p->calls, 1);
        uint32_t w[8];
        size_t nw;
        if (flavor > 1) {
            atomic_fetch_add(&p->denied, 1);
            uint32_t d[] = {0x80000000u | 20,   xid, 1, 1 /* DENIED */,
                            1 /* AUTH_ERROR */, 2 /* AUTH_REJECTEDCRED */};
            memcpy(w, d, sizeof d);
            nw = 6;
        } else {
            uint32_t a[] = {0x80000000u | 24, xid, 1, 0 /* ACCEPTED */, 0, 0, 0 /* SUCCESS */};
            memcpy(w, a, sizeof a);
            nw = 7;
        }
        uint8_t out[32];
        for (size_t k = 0; k < nw; k++)
            far_xdr_store_u32(out + 4 * k, w[k]);
        if (send(fd, out, 4 * nw, MSG_NOSIGNAL) != (ssize_t)(4 * nw))
            break;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void classic_start(classic_peer *p)
{
    memset(p, 0, sizeof *p);
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(p->lfd, 4), 0);
    socklen_t sl = sizeof sin;
    getsockname(p->lfd, (struct sockaddr *)&sin, &sl);
    p->port = ntohs(sin.sin_port);
    pthread_create(&p->th, NULL, classic_main, p);
}

static void classic_stop(classic_peer *p)
{
    pthread_join(p->th, NULL);
    close(p->lfd);
}

/* A peer that denies the flavor is spoken to in plain ONC RPC after one
 * probe; with require_ctx the client refuses it, and says why. */
static void test_classic_fallback(void **state)
{
    (void)state;
    classic_peer p;
    classic_start(&p);
    char addr[64];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", p.port);
    far_client *c;
    assert_int_equal(far_client_open(&c, addr, NULL), FAR_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(far_client_call(c, CPROG, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL),
                         FAR_OK);
    far_client_destroy(c);
    classic_stop(&p);
    printf("# a classic peer: %d records, %d denied (the probe); 3 calls OK in plain ONC RPC\n",
           atomic_load(&p.calls), atomic_load(&p.denied));
    assert_int_equal(atomic_load(&p.calls), 4);
    assert_int_equal(atomic_load(&p.denied), 1);

    classic_start(&p);
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", p.port);
    far_client_opts o = {.require_ctx = true, .timeout_ms = 3000};
    far_err rc = far_client_open(&c, addr, &o);
    char why[256];
    snprintf(why, sizeof why, "%s", far_last_error());
    classic_stop(&p);
    printf("# require_ctx against it: %s: %s\n", far_errname(rc), why);
    assert_int_equal(rc, FAR_EUNSUPPORTED);
    assert_non_null(strstr(why, "FAR_CTX"));
    assert_non_null(strstr(why, "require_ctx"));
}

/* ------------------------------------------------------------ timed termination */

/* A 50 ms deadline on a 5 s handler: the client gives up at its deadline,
 * the handler sees itself cancelled long before its own end, and its reply
 * is not sent. */
/* A 50 ms deadline on a 5 s handler `proc` (HOLD polls, WAIT sleeps on a
 * condition variable its cancel callback signals): the caller returns
 * FAR_ETIMEDOUT, the handler sees it before `bound_ms`. */
static void deadline_on_handler(uint32_t proc, const char *how, double bound_ms)
{
    const char *addrs[] = {"tcp://127.0.0.1:0", "udp://127.0.0.1:0"};
    for (size_t i = 0; i < 2; i++) {
        csrv t;
        csrv_start(&t, addrs[i], NULL);
        far_client *c;
        assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
        uint32_t ms = 5000, res = 7;
        far_call_opts co = {.timeout_ms = 50};
        double t0 = cnow_ms();
        far_err rc = far_client_call(c, CPROG, 1, proc, cu32_enc, &ms, cu32_dec, &res, NULL, &co);
        double took = cnow_ms() - t0;
        bool ended = wait_for(&t.st.hold_ended, 1, 7000);
        printf("# %s: a 50 ms deadline on a 5 s handler %s: %s after %.1f ms; it saw itself "
               "cancelled after %.1f ms\n",
               t.bound, how, far_errname(rc), took,
               atomic_load(&t.st.hold_cancelled) ? atomic_load(&t.st.hold_seen_ms) : -1.0);
        assert_int_equal(rc, FAR_ETIMEDOUT);
        assert_true(ended);
        assert_int_equal(atomic_load(&t.st.hold_cancelled), 1);
        assert_true(atomic_load(&t.st.hold_seen_ms) < bound_ms);
        far_client_destroy(c);
        far_server_destroy(t.s);
    }
}

static void test_deadline_cancels_handler(void **state)
{
    (void)state;
    deadline_on_handler(C_HOLD, "polling far_svc_req_cancelled", 5000);
}

/* The same with a handler that waits on its cancel callback instead of
 * polling: the deadline fires the callback (the server's deadline timer). */
static void test_deadline_fires_cancel_callback(void **state)
{
    (void)state;
    deadline_on_handler(C_WAIT, "waiting on its cancel callback", 1000);
}

typedef struct bg_call {
    far_client *c;
    uint32_t ms;
    far_err rc;
} bg_call;

static void *bg_count(void *arg)
{
    bg_call *b = arg;
    uint32_t res;
    b->rc = far_client_call(b->c, CPROG, 1, C_COUNT, cu32_enc, &b->ms, cu32_dec, &res, NULL, NULL);
    return NULL;
}

/* One handler busy for 400 ms; a call with a 50 ms deadline waits behind it
 * and, its deadline passed, is never started. */
static void test_expired_not_started(void **state)
{
    (void)state;
    far_server_opts so = {.workers = 1, .max_workers = 1};
    csrv t;
    csrv_start(&t, "tcp://127.0.0.1:0", &so);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    bg_call b = {c, 400, FAR_EIO};
    pthread_t th;
    pthread_create(&th, NULL, bg_count, &b);
    assert_true(wait_for(&t.st.counted, 1, 3000));
    uint32_t zero = 0, res;
    far_call_opts co = {.timeout_ms = 50};
    far_err rc = far_client_call(c, CPROG, 1, C_COUNT, cu32_enc, &zero, cu32_dec, &res, NULL, &co);
    pthread_join(th, NULL);
    csleep_ms(100); /* the queued call had its chance to run */
    int runs = atomic_load(&t.st.counted);
    printf("# a 50 ms call queued behind a 400 ms one: %s; handler runs %d (the busy one's "
           "only)\n",
           far_errname(rc), runs);
    assert_int_equal(b.rc, FAR_OK);
    assert_int_equal(rc, FAR_ETIMEDOUT);
    assert_int_equal(runs, 1);
    far_client_destroy(c);
    far_server_destroy(t.s);
}

/* A handler's own far_client_call waits no longer than its caller: the
 * server it calls sees the caller's 2 s, not the client's default 25 s. */
static void test_nested_call_inherits(void **state)
{
    (void)state;
    csrv back, front;
    csrv_start(&back, "tcp://127.0.0.1:0", NULL);
    csrv_start(&front, "tcp://127.0.0.1:0", NULL);
    assert_int_equal(far_client_open(&front.st.fwd, back.bound, NULL), FAR_OK);
    far_client *c;
    assert_int_equal(far_client_open(&c, front.bound, NULL), FAR_OK);
    uint32_t r = 0;
    far_call_opts co = {.timeout_ms = 2000};
    assert_int_equal(far_client_call(c, CPROG, 1, C_FWD, NULL, NULL, cu32_dec, &r, NULL, &co),
                     FAR_OK);
    printf("# a 2000 ms call's handler calls another server: that call arrives with %u ms left "
           "(its client's default is 25000)\n",
           r);
    assert_true(r > 0 && r <= 2000);
    far_client_destroy(c);
    far_server_destroy(front.s);
    far_client_destroy(front.st.fwd);
    far_server_destroy(back.s);
}

/* ------------------------------------------------------------ reincarnation */

static pid_t spawn_self(char **argv, int *out_fd)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    *out_fd = pfd[0];
    return pid;
}

/* Reads one line from fd into buf within 10 s. */
static bool read_line(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got + 1 < n) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 10000) != 1)
            break;
        ssize_t r = read(fd, buf + got, 1);
        if (r <= 0)
            break;
        if (buf[got] == '\n') {
            buf[got] = 0;
            return true;
        }
        got++;
    }
    buf[got] = 0;
    return false;
}

static void kill_wait(pid_t pid)
{
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
}

/* A client process killed in the middle of a 5 s call (over UDP: no
 * connection closes to tell the server) and started again under the same
 * owner: its first contact cancels the old life's call. */
static void test_client_restart_cancels(void **state)
{
    (void)state;
    csrv t;
    csrv_start(&t, "udp://127.0.0.1:0", NULL);
    char *argv[] = {"test_rt_ctx", "hold", t.bound, "ctx-test-owner", "5000", NULL};
    int out;
    pid_t pid = spawn_self(argv, &out);
    char line[64];
    assert_true(read_line(out, line, sizeof line));
    assert_true(wait_for(&t.st.hold_started, 1, 5000));
    kill_wait(pid);
    close(out);
    csleep_ms(100);
    int before = atomic_load(&t.st.hold_cancelled);
    /* the next life: its probe (INIT) names the owner with a new boot */
    far_client_opts o = {.owner = "ctx-test-owner", .require_ctx = true};
    far_client *c;
    double t0 = cnow_ms();
    assert_int_equal(far_client_open(&c, t.bound, &o), FAR_OK);
    double t_init = cnow_ms() - t0;
    bool seen = wait_for(&t.st.hold_cancelled, 1, 3000);
    double after = cnow_ms() - t0;
    printf("# a client killed mid-call and restarted under its owner name: the old call %s "
           "(%.1f ms after the new life's open, which took %.1f ms)\n",
           seen ? "was cancelled" : "ran on", after, t_init);
    assert_int_equal(before, 0);
    assert_true(seen);
    assert_true(wait_for(&t.st.hold_ended, 1, 6000));
    far_client_destroy(c);
    far_server_destroy(t.s);
}

typedef struct bg_hold {
    far_client *c;
    far_err rc;
    far_status st;
    double took;
} bg_hold;

static void *bg_hold_main(void *arg)
{
    bg_hold *b = arg;
    uint32_t ms = 3000, res = 0;
    far_call_opts co = {.timeout_ms = 15000, .status = &b->st};
    double t0 = cnow_ms();
    b->rc = far_client_call(b->c, CPROG, 1, C_HOLD, cu32_enc, &ms, cu32_dec, &res, NULL, &co);
    b->took = cnow_ms() - t0;
    return NULL;
}

/* A server process killed with SIGKILL in the middle of a call and started
 * again on its port: the call ends FAR_EUNKNOWN_OUTCOME, not sent again. */
static void test_server_restart_unknown_outcome(void **state)
{
    (void)state;
    char *argv[] = {"test_rt_ctx", "serve", "tcp://127.0.0.1:0", NULL};
    int out;
    pid_t pid = spawn_self(argv, &out);
    char line[160];
    assert_true(read_line(out, line, sizeof line));
    assert_memory_equal(line, "ready ", 6);
    char addr[sizeof line];
    snprintf(addr, sizeof addr, "%s", line + 6);
    close(out);
    far_client *c;
    far_client_opts o = {.require_ctx = true};
    assert_int_equal(far_client_open(&c, addr, &o), FAR_OK);
    bg_hold b = {.c = c};
    pthread_t th;
    pthread_create(&th, NULL, bg_hold_main, &b);
    csleep_ms(300); /* the call is running */
    kill_wait(pid);
    char *argv2[] = {"test_rt_ctx", "serve", addr, NULL};
    pid = spawn_self(argv2, &out);
    assert_true(read_line(out, line, sizeof line));
    close(out);
    pthread_join(th, NULL);
    printf("# a server killed mid-call and restarted: %s after %.0f ms (\"%s\")\n",
           far_errname(b.rc), b.took, b.st.msg);
    assert_int_equal(b.rc, FAR_EUNKNOWN_OUTCOME);
    assert_non_null(strstr(b.st.msg, "restarted"));
    /* the client goes on with the new life */
    assert_int_equal(far_client_call(c, CPROG, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL), FAR_OK);
    far_client_destroy(c);
    kill_wait(pid);
}

/* ------------------------------------------------------------ sent again */

static const char *faultproxy; /* argv[1], if given */

/* Starts faultproxy (TCP) in front of `to` with `args`; its address in
 * `addr`. */
static pid_t proxy_start(const char *to, const char *reset_p, char *addr, size_t n)
{
    const char *hp = strstr(to, "//");
    char target[160];
    snprintf(target, sizeof target, "%s", hp ? hp + 2 : to);
    char *argv[] = {(char *)faultproxy, "-p", "tcp", "-l", "127.0.0.1:0", "-t", target, "-X",
                    (char *)reset_p,    "-s", "7",   "-T", "120",         NULL};
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, faultproxy, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    char line[160];
    assert_true(read_line(pfd[0], line, sizeof line));
    close(pfd[0]);
    assert_memory_equal(line, "ready ", 6);
    snprintf(addr, n, "%s", line + 6);
    return pid;
}

/* n MARK calls through c: how many succeeded; *errs counts the others. */
static int mark_calls(far_client *c, uint32_t first, int n, int *errs)
{
    int ok = 0;
    *errs = 0;
    for (int i = 0; i < n; i++) {
        uint32_t id = first + (uint32_t)i, res = 0;
        far_call_opts co = {.timeout_ms = 3000};
        if (far_client_call(c, CPROG, 1, C_MARK, cu32_enc, &id, cu32_dec, &res, NULL, &co) ==
                FAR_OK &&
            res == id)
            ok++;
        else
            (*errs)++;
    }
    return ok;
}

/* At-most-once calls over TCP through faultproxy resetting 5% of the
 * chunks: a farcall client sends a call whose connection was reset again,
 * with its xid, and the server's duplicate request cache (keyed by the
 * client's FAR_CTX context, not its address, which changed) answers it if
 * it ran: no call runs twice, and more succeed than a classic client's. */
static void test_tcp_resend_answered_from_cache(void **state)
{
    (void)state;
    if (!faultproxy) {
        printf("# no faultproxy given: skipped\n");
        return;
    }
    csrv t;
    csrv_start(&t, "tcp://127.0.0.1:0", NULL);
    char addr[160];
    pid_t pp = proxy_start(t.bound, "0.05", addr, sizeof addr);
    enum { N = 1000 };
    far_client *c;
    far_client_opts o = {.require_ctx = true, .timeout_ms = 3000};
    assert_int_equal(far_client_open(&c, addr, &o), FAR_OK);
    int errs_ctx, ok_ctx = mark_calls(c, 0, N, &errs_ctx);
    far_client_destroy(c);
    far_client_opts classic = {.no_ctx = true, .timeout_ms = 3000};
    assert_int_equal(far_client_open(&c, addr, &classic), FAR_OK);
    int errs_classic, ok_classic = mark_calls(c, N, N, &errs_classic);
    far_client_destroy(c);
    kill(pp, SIGTERM);
    int st;
    waitpid(pp, &st, 0);
    int ran_ctx = 0, twice_ctx = 0, ran_classic = 0, twice_classic = 0;
    for (int i = 0; i < N; i++) {
        int m = atomic_load(&t.st.marks[i]), k = atomic_load(&t.st.marks[N + i]);
        ran_ctx += m > 0, twice_ctx += m > 1;
        ran_classic += k > 0, twice_classic += k > 1;
    }
    printf("# %d at-most-once calls through 5%% TCP resets: FAR_CTX client %d OK, %d failed, "
           "%d ran, %d ran twice; classic client %d OK, %d failed, %d ran, %d ran twice\n",
           N, ok_ctx, errs_ctx, ran_ctx, twice_ctx, ok_classic, errs_classic, ran_classic,
           twice_classic);
    assert_int_equal(twice_ctx, 0);
    assert_int_equal(twice_classic, 0);
    assert_true(ok_ctx >= ok_classic);
    far_server_destroy(t.s);
}

/* Async at-most-once calls through the same resets: each call whose
 * connection goes is sent again on the next one by the client (as a sync
 * call is), not failed with FAR_ECONNLOST, and the duplicate request cache
 * answers the ones that ran: none fails with FAR_ECONNLOST, none runs
 * twice. */
typedef struct async_run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight, ok, lost, other;
    far_err first_other;
} async_run;

typedef struct async_call {
    async_run *run;
    uint32_t id, res;
} async_call;

static void async_done(const far_status *st, void *res, void *user)
{
    async_call *a = user;
    async_run *r = a->run;
    pthread_mutex_lock(&r->mu);
    if (st->err == FAR_OK && *(uint32_t *)res == a->id)
        r->ok++;
    else if (st->err == FAR_ECONNLOST)
        r->lost++;
    else if (r->other++ == 0)
        r->first_other = st->err;
    r->inflight--;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void test_tcp_async_resend(void **state)
{
    (void)state;
    if (!faultproxy) {
        printf("# no faultproxy given: skipped\n");
        return;
    }
    csrv t;
    csrv_start(&t, "tcp://127.0.0.1:0", NULL);
    char addr[160];
    pid_t pp = proxy_start(t.bound, "0.05", addr, sizeof addr);
    enum { N = 1000, FIRST = 2000, WINDOW = 16 };
    far_client *c;
    far_client_opts o = {.require_ctx = true, .timeout_ms = 5000};
    assert_int_equal(far_client_open(&c, addr, &o), FAR_OK);
    static async_call calls[N];
    async_run r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    int refused = 0;
    for (int i = 0; i < N; i++) {
        pthread_mutex_lock(&r.mu);
        while (r.inflight >= WINDOW)
            pthread_cond_wait(&r.cv, &r.mu);
        r.inflight++;
        pthread_mutex_unlock(&r.mu);
        calls[i] = (async_call){&r, FIRST + (uint32_t)i, 0};
        far_call_opts co = {.timeout_ms = 5000};
        if (far_client_call_async(c, CPROG, 1, C_MARK, cu32_enc, &calls[i].id, cu32_dec,
                                  &calls[i].res, NULL, &co, async_done, &calls[i]) != FAR_OK) {
            pthread_mutex_lock(&r.mu);
            r.inflight--;
            refused++;
            pthread_mutex_unlock(&r.mu);
        }
    }
    pthread_mutex_lock(&r.mu);
    while (r.inflight > 0)
        pthread_cond_wait(&r.cv, &r.mu);
    pthread_mutex_unlock(&r.mu);
    far_client_destroy(c);
    kill(pp, SIGTERM);
    int st;
    waitpid(pp, &st, 0);
    int ran = 0, twice = 0;
    for (int i = 0; i < N; i++) {
        int m = atomic_load(&t.st.marks[FIRST + i]);
        ran += m > 0, twice += m > 1;
    }
    printf("# %d async at-most-once calls through 5%% TCP resets, %d in flight: %d OK, "
           "%d FAR_ECONNLOST, %d other (first: %s), %d refused at the start; %d ran, %d ran "
           "twice\n",
           N, WINDOW, r.ok, r.lost, r.other, r.other ? far_strerror(r.first_other) : "-", refused,
           ran, twice);
    assert_int_equal(twice, 0);
    assert_int_equal(r.lost, 0);
    assert_int_equal(refused, 0);
    assert_true(r.ok >= N * 9 / 10);
    far_server_destroy(t.s);
}

/* ------------------------------------------------------------ the processes */

static int serve_main(const char *addr)
{
    alarm(60);
    static cstate st;
    far_server *s;
    char bound[128];
    if (far_server_create(&s, NULL) != FAR_OK || far_server_add_program(s, &cprog, &st) != FAR_OK ||
        far_server_listen(s, addr, bound, sizeof bound) != FAR_OK ||
        far_server_start(s) != FAR_OK) {
        fprintf(stderr, "serve: %s: %s\n", addr, far_last_error());
        return 2;
    }
    printf("ready %s\n", bound);
    fflush(stdout);
    for (;;)
        pause();
}

static int hold_main(const char *addr, const char *owner, const char *ms_text)
{
    alarm(60);
    far_client_opts o = {.owner = owner, .timeout_ms = 30000};
    far_client *c;
    if (far_client_open(&c, addr, &o) != FAR_OK) {
        fprintf(stderr, "hold: %s: %s\n", addr, far_last_error());
        return 2;
    }
    printf("calling\n");
    fflush(stdout);
    uint32_t ms = (uint32_t)strtoul(ms_text, NULL, 10), res = 0;
    far_err rc = far_client_call(c, CPROG, 1, C_HOLD, cu32_enc, &ms, cu32_dec, &res, NULL, NULL);
    far_client_destroy(c);
    return rc == FAR_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return serve_main(argv[2]);
    if (argc == 5 && strcmp(argv[1], "hold") == 0)
        return hold_main(argv[2], argv[3], argv[4]);
    if (argc == 2)
        faultproxy = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_carries_deadline),
        cmocka_unit_test(test_classic_fallback),
        cmocka_unit_test(test_deadline_cancels_handler),
        cmocka_unit_test(test_deadline_fires_cancel_callback),
        cmocka_unit_test(test_expired_not_started),
        cmocka_unit_test(test_nested_call_inherits),
        cmocka_unit_test(test_client_restart_cancels),
        cmocka_unit_test(test_server_restart_unknown_outcome),
        cmocka_unit_test(test_tcp_resend_answered_from_cache),
        cmocka_unit_test(test_tcp_async_resend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
