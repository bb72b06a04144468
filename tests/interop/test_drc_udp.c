/* At-most-once over a bad UDP path: the server's duplicate request cache.
 *
 * A farcall server counts how many times each call runs: the procedure
 * COUNT(id) is not idempotent (it adds one to runs[id]).  Its clients reach
 * it through faultproxy (tests/tools) dropping 30% of the datagrams each
 * way, duplicating 10% and reordering 10%, so calls and replies are lost
 * and the clients send calls again with the same xid:
 *
 *   - 10,000 calls from libtirpc clients (clntudp_create, 25 threads, a
 *     retransmission every 20 ms): no call runs twice, and every call is
 *     answered or fails with a clear error (RPC_TIMEDOUT), counted;
 *   - 10,000 calls from farcall's own UDP clients (100 of them, retry_ms 20):
 *     the same;
 *   - 10,000 calls from one socket with only 8 xids among them (each xid
 *     reused 1,250 times with other arguments, every tenth call sent twice):
 *     0 false cache hits (each reply is its own call's), each call ran once;
 *   - with the cache turned off (far_server_opts.no_drc), 1,000 libtirpc
 *     calls through the same faults: calls do run twice (the test checks
 *     that this happens, so the figures above are the cache's doing).
 *
 * Every run count is checked per call; no timing is asserted.
 * usage: test_drc_udp PATH-TO-FAULTPROXY */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <rpc/rpc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <farcall/farcall.h>

#include "../common/sanitized.h"

#define PROG    0x20000dcc
#define VERS    1
#define P_COUNT 1
#define MAX_IDS 10000
/* The loads: 10,000 calls each, a fifth of that under a sanitizer. */
#define LOAD(n) (FAR_TEST_SANITIZED ? (n) / 5 : (n))

static const char *proxy_path;
static atomic_int runs[MAX_IDS];
static int failures;

#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------ the server */

static bool u32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static bool u32_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, v);
}

static far_err count(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    uint32_t id = *(const uint32_t *)a;
    if (id < MAX_IDS)
        atomic_fetch_add(&runs[id], 1);
    *(uint32_t *)res = id;
    return FAR_OK;
}

static const far_proc_desc procs[] = {
    {0, "NULL", NULL, NULL, 0, 0, NULL},
    {P_COUNT, "COUNT", u32_dec, u32_enc, sizeof(uint32_t), sizeof(uint32_t), count},
};
static const far_program_desc prog = {FAR_DESC_SIZES,     .prog = PROG,   .vers = VERS,
                                      .name = "DRC_PROG", .procs = procs, .nprocs = 2};

static far_server *server_start(bool no_drc, unsigned *port)
{
    far_server_opts o = {.workers = 4, .no_drc = no_drc};
    far_server *s;
    char bound[128];
    if (far_server_create(&s, &o) != FAR_OK || far_server_add_program(s, &prog, NULL) != FAR_OK ||
        far_server_listen(s, "udp://127.0.0.1:0", bound, sizeof bound) != FAR_OK ||
        far_server_start(s) != FAR_OK) {
        fprintf(stderr, "server: %s\n", far_last_error());
        exit(1);
    }
    *port = (unsigned)atoi(strrchr(bound, ':') + 1);
    return s;
}

/* ------------------------------------------------------------ the proxy */

typedef struct proxy {
    pid_t pid;
    FILE *out;
    unsigned port;
    char stats[512];
} proxy;

static void proxy_start(proxy *p, unsigned to_port)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    char to[64];
    snprintf(to, sizeof to, "127.0.0.1:%u", to_port);
    p->pid = fork();
    if (p->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(proxy_path, proxy_path, "-p", "udp", "-l", "127.0.0.1:0", "-t", to, "-L", "0.3", "-D",
              "0.1", "-R", "0.1", "-s", "11", "-c", "128", "-T", "300", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    p->out = fdopen(fds[0], "r");
    char line[256];
    if (!fgets(line, sizeof line, p->out) || strncmp(line, "ready udp://127.0.0.1:", 22) != 0) {
        fprintf(stderr, "faultproxy did not start\n");
        exit(1);
    }
    p->port = (unsigned)atoi(line + 22);
}

static void proxy_stop(proxy *p)
{
    kill(p->pid, SIGTERM);
    if (!fgets(p->stats, sizeof p->stats, p->out))
        p->stats[0] = 0;
    waitpid(p->pid, NULL, 0);
    fclose(p->out);
}

/* ------------------------------------------------------------ the clients */

typedef struct load {
    unsigned port;
    uint32_t first, n; /* ids first .. first+n-1 */
    int answered, timed_out, other;
    bool farcall;
} load;

static void *tirpc_client(void *arg)
{
    load *l = arg;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)l->port);
    int sock = RPC_ANYSOCK;
    struct timeval wait = {0, 20000}; /* retransmit every 20 ms */
    CLIENT *cl = clntudp_create(&sin, PROG, VERS, wait, &sock);
    if (!cl) {
        l->other = (int)l->n;
        return NULL;
    }
    for (uint32_t i = 0; i < l->n; i++) {
        uint32_t id = l->first + i, back = 0;
        struct timeval total = {5, 0};
        enum clnt_stat st = clnt_call(cl, P_COUNT, (xdrproc_t)xdr_u_int, (char *)&id,
                                      (xdrproc_t)xdr_u_int, (char *)&back, total);
        if (st == RPC_SUCCESS && back == id)
            l->answered++;
        else if (st == RPC_TIMEDOUT)
            l->timed_out++;
        else
            l->other++;
    }
    clnt_destroy(cl);
    return NULL;
}

static void *farcall_client(void *arg)
{
    load *l = arg;
    char addr[64];
    snprintf(addr, sizeof addr, "udp://127.0.0.1:%u", l->port);
    far_client_opts o = {.retry_ms = 20, .timeout_ms = 10000};
    far_client *c;
    if (far_client_open(&c, addr, &o) != FAR_OK) {
        l->other = (int)l->n;
        return NULL;
    }
    for (uint32_t i = 0; i < l->n; i++) {
        uint32_t id = l->first + i, back = 0;
        far_err rc =
            far_client_call(c, PROG, VERS, P_COUNT, u32_enc, &id, u32_dec, &back, NULL, NULL);
        if (rc == FAR_OK && back == id)
            l->answered++;
        else if (rc == FAR_ETIMEDOUT)
            l->timed_out++;
        else
            l->other++;
    }
    far_client_destroy(c);
    return NULL;
}

/* Runs n calls (ids 0..n-1) from `threads` clients through a fresh proxy;
 * returns the calls that ran more than once. */
static int run_load(const char *what, bool no_drc, bool farcall, int n, int threads)
{
    for (int i = 0; i < MAX_IDS; i++)
        atomic_store(&runs[i], 0);
    unsigned sport;
    far_server *s = server_start(no_drc, &sport);
    proxy p;
    proxy_start(&p, sport);
    load l[100];
    pthread_t th[100];
    if (threads > 100 || n % threads) {
        fprintf(stderr, "%s: %d calls do not split over %d threads\n", what, n, threads);
        exit(2);
    }
    for (int t = 0; t < threads; t++) {
        l[t] = (load){.port = p.port,
                      .first = (uint32_t)(t * (n / threads)),
                      .n = (uint32_t)(n / threads),
                      .farcall = farcall};
        pthread_create(&th[t], NULL, farcall ? farcall_client : tirpc_client, &l[t]);
    }
    int answered = 0, timed_out = 0, other = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        answered += l[t].answered, timed_out += l[t].timed_out, other += l[t].other;
    }
    proxy_stop(&p);
    far_server_destroy(s);
    int twice = 0, never_answered_ran = 0, max = 0;
    for (int i = 0; i < n; i++) {
        int k = atomic_load(&runs[i]);
        if (k > 1)
            twice++;
        if (k > max)
            max = k;
        never_answered_ran += k == 0;
    }
    printf("%s: %d calls: %d answered, %d timed out, %d other errors; %d ran more than once "
           "(most runs of one call: %d), %d never ran\n  proxy %s",
           what, n, answered, timed_out, other, twice, max, never_answered_ran, p.stats);
    CHECK(answered + timed_out == n, "%s: %d calls ended with an unclear error", what, other);
    /* an answered call ran (exactly once, with the cache) */
    CHECK(n - never_answered_ran >= answered, "%s: answered calls that never ran", what);
    return twice;
}

/* ------------------------------------------------------------ forced xid collisions */

/* One datagram: a COUNT(id) call with `xid`, AUTH_NONE both ways. */
static size_t put_call(uint8_t *b, uint32_t xid, uint32_t id)
{
    uint32_t w[] = {xid, 0 /* CALL */, 2, PROG, VERS, P_COUNT, 0, 0, 0, 0, id};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        far_xdr_store_u32(b + 4 * i, w[i]);
    return sizeof w;
}

/* The reply to xid, if b is one: its result in *res. */
static bool get_reply(const uint8_t *b, ssize_t n, uint32_t xid, uint32_t *res)
{
    /* xid REPLY MSG_ACCEPTED verf(AUTH_NONE, 0) SUCCESS result */
    if (n != 28 || far_xdr_load_u32(b) != xid || far_xdr_load_u32(b + 4) != 1 ||
        far_xdr_load_u32(b + 8) != 0 || far_xdr_load_u32(b + 20) != 0)
        return false;
    *res = far_xdr_load_u32(b + 24);
    return true;
}

/* 10,000 COUNT(id) calls from one socket, each id once, with only 8 xids
 * among them: every xid is reused 1,250 times with other arguments while
 * the cache holds its earlier calls (same client, program, version,
 * procedure).  Every tenth call is sent twice at once (a retransmission).
 * A false hit would answer a call with another's reply (a result that is
 * not its id) and not run it; a missed hit would run a retransmission
 * again.  Direct, no proxy: the collisions are the only fault. */
static void run_collisions(void)
{
    enum { XIDS = 8 };
    const int N = LOAD(10000);
    for (int i = 0; i < MAX_IDS; i++)
        atomic_store(&runs[i], 0);
    unsigned sport;
    far_server *s = server_start(false, &sport);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sport)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&to, sizeof to) == 0, "socket: %s",
          strerror(errno));
    struct timeval tv = {0, 100 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int answered = 0, wrong = 0, unanswered = 0, resent = 0;
    for (uint32_t id = 0; id < N; id++) {
        uint32_t xid = 0x5eed0000u + id % XIDS;
        uint8_t b[64], r[256];
        size_t len = put_call(b, xid, id);
        int copies = id % 10 == 0 ? 2 : 1;
        bool got = false;
        for (int attempt = 0; attempt < 20 && !got; attempt++) {
            for (int k = 0; k < copies; k++)
                if (send(fd, b, len, 0) != (ssize_t)len)
                    CHECK(0, "send: %s", strerror(errno));
            resent += attempt > 0;
            for (int w = 0; w < 4 && !got; w++) {
                ssize_t n = recv(fd, r, sizeof r, 0);
                if (n < 0)
                    break; /* 100 ms: send again, the same bytes */
                uint32_t res;
                if (!get_reply(r, n, xid, &res))
                    continue; /* an earlier call's reply */
                if (res != id && res < id && res % 10 == 0)
                    continue; /* the late second reply of an earlier call sent twice (a
                               * false hit instead would leave this call not run: the run
                               * counts below catch it) */
                got = true;
                answered++;
                if (res != id && wrong++ < 5)
                    fprintf(stderr, "call %u (xid %08x): the reply of call %u\n", id, xid, res);
            }
        }
        unanswered += !got;
        if (copies > 1) {
            /* its second copy: answered from the cache or dropped as in
             * progress; its reply, if any, is read here, not by the next call */
            struct timeval w = {0, 2 * 1000};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &w, sizeof w);
            while (recv(fd, r, sizeof r, 0) > 0)
                ;
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        }
    }
    close(fd);
    far_server_destroy(s);
    int ran_once = 0, twice = 0, never = 0;
    for (int i = 0; i < N; i++) {
        int k = atomic_load(&runs[i]);
        ran_once += k == 1, twice += k > 1, never += k == 0;
    }
    printf("forced xid collisions: %d calls over %d xids (every tenth sent twice): %d answered, "
           "%d with another call's reply (false hits), %d unanswered, %d sent again after a "
           "timeout; %d ran once, %d ran twice, %d never ran\n",
           N, XIDS, answered, wrong, unanswered, resent, ran_once, twice, never);
    CHECK(wrong == 0, "%d false cache hits", wrong);
    CHECK(answered == N, "%d calls unanswered", N - answered);
    CHECK(ran_once == N, "%d calls ran twice, %d never ran", twice, never);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_drc_udp FAULTPROXY\n");
        return 2;
    }
    proxy_path = argv[1];
    setenv("FARCALL_BINDER", "none", 1);
    signal(SIGPIPE, SIG_IGN);

    int twice = run_load("libtirpc clients, cache on", false, false, LOAD(10000), 25);
    CHECK(twice == 0, "libtirpc: %d calls ran more than once with the cache on", twice);
    twice = run_load("farcall clients, cache on", false, true, LOAD(10000), 100);
    CHECK(twice == 0, "farcall: %d calls ran more than once with the cache on", twice);
    run_collisions();
    twice = run_load("libtirpc clients, cache off (no_drc)", true, false, 1000, 10);
    CHECK(twice > 0, "with the cache off no call ran twice: the faults did not bite, so the "
                     "figures above show nothing");
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("at-most-once over UDP through loss, duplication and reordering: ok\n");
    return 0;
}
