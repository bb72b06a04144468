/* rpc_bench: farcall's runtime on loopback -- null-call latency over TCP, UDP
 * and Unix sockets, pipelined null calls on one connection, concurrent client
 * processes, echo throughput.  The server is a forked child (pinned to
 * $FAR_SERVER_CPU if set); bench/run_rpc.sh pins the client and runs the
 * anchors (raw sockets, libtirpc) in the same run.
 *
 *   rpc_bench lat tcp|udp|unix N      p50/p99 of N sync NULL calls
 *   rpc_bench pipe tcp|unix N         N async NULL calls, up to 1024 in flight (the
 *                                     server with its default window per
 *                                     connection); fails if any call fails
 *   rpc_bench conc P SECONDS          P client processes, one sync call at a time each
 *   rpc_bench echo BYTES N            N sync echo calls of BYTES (MB/s one way)
 *   rpc_bench pecho BYTES N T         T threads sharing one client, N sync echo
 *                                     calls of BYTES each (MB/s one way, all
 *                                     threads together)
 *   rpc_bench ucall drc|nodrc N       p50/p99 of N sync 16-byte ECHO calls over UDP,
 *                                     the server's duplicate request cache on or off
 * FAR_BENCH_NO_CTX=1: the client speaks plain ONC RPC (no FAR_CTX flavor).
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <farcall/rpc.h>

#include "conc_harness.h"

#define BPROG 0x20049999u

typedef struct blob {
    uint32_t len;
    uint8_t *val;
} blob;

static bool blob_enc(far_xdr_enc *e, const void *v)
{
    const blob *b = v;
    return far_xdr_put_opaque(e, b->val, b->len, FAR_XDR_UNBOUNDED);
}
static bool blob_dec(far_xdr_dec *d, void *v)
{
    blob *b = v;
    return far_xdr_get_opaque(d, &b->val, &b->len, FAR_XDR_UNBOUNDED);
}
static far_err h_echo(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    *(blob *)res = *(const blob *)a;
    return FAR_OK;
}
static const far_proc_desc procs[] = {
    {0, "NULL", NULL, NULL, 0, 0, NULL},
    {1, "ECHO", blob_dec, blob_enc, sizeof(blob), sizeof(blob), h_echo},
};
static const far_program_desc prog = {FAR_DESC_SIZES,  .prog = BPROG,  .vers = 1,
                                      .name = "BENCH", .procs = procs, .nprocs = 2};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t server_pid;
static bool server_no_drc; /* ucall nodrc */

/* The key of the security-level runs (FAR_BENCH_LEVEL), both sides. */
static const uint8_t bench_key[FAR_KEY_BYTES] = "rpc_bench's key: not a secret!!";

static bool bench_lookup(const char *id, size_t len, uint8_t key[FAR_KEY_BYTES], void *user)
{
    (void)id, (void)len, (void)user;
    memcpy(key, bench_key, sizeof bench_key);
    return true;
}

/* The client's options: FAR_BENCH_NO_CTX=1 makes it a plain ONC RPC client
 * (no FAR_CTX flavor), for the flavor's cost against the plain path;
 * FAR_BENCH_LEVEL=auth|integ|priv a client at that security level. */
static const far_client_opts *client_opts(void)
{
    static far_client_opts o;
    const char *v = getenv("FAR_BENCH_NO_CTX");
    o.no_ctx = v && *v == '1';
    const char *l = getenv("FAR_BENCH_LEVEL");
    if (l && far_security_parse(l, &o.security) == FAR_OK && o.security) {
        o.identity = "rpc_bench";
        o.key = bench_key;
    }
    return &o;
}

/* Starts the server in a child; returns the address to call. */
static void start_server(const char *transport, char *addr, size_t n)
{
    int p[2];
    if (pipe(p) != 0)
        exit(1);
    char ux[64];
    snprintf(ux, sizeof ux, "unix:/tmp/rpc_bench.%d.sock", (int)getpid());
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, &old); /* the child's threads inherit it */
    server_pid = fork();
    if (server_pid != 0)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (server_pid == 0) {
        const char *cpu = getenv("FAR_SERVER_CPU");
        if (cpu) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(atoi(cpu), &set);
            sched_setaffinity(0, sizeof set, &set);
        }
        /* The server's defaults, but for records big enough for the echo
         * runs and room for the 32-process run: the pipelined run gets the
         * default window (max_calls_per_conn). */
        far_server_opts o = {.max_record = 64u << 20, .max_conns = 1024, .no_drc = server_no_drc};
        const char *w = getenv("FAR_BENCH_WINDOW"); /* (an experiment's knob: not the default) */
        if (w)
            o.max_calls_per_conn = (unsigned)atoi(w);
        far_server *s;
        char bound[160];
        const char *la = strcmp(transport, "unix") == 0  ? ux
                         : strcmp(transport, "udp") == 0 ? "udp://127.0.0.1:0"
                                                         : "tcp://127.0.0.1:0";
        if (far_server_create(&s, &o) || far_server_set_key_lookup(s, bench_lookup, NULL) ||
            far_server_add_program(s, &prog, NULL) ||
            far_server_listen(s, la, bound, sizeof bound) || far_server_start(s))
            _exit(1);
        if (write(p[1], bound, sizeof bound) != sizeof bound)
            _exit(1);
        /* Until the parent's SIGTERM: an exit (not a kill) lets a profiler
         * such as callgrind write the server's figures too. */
        int sig;
        sigwait(&term, &sig);
        _exit(0);
    }
    char bound[160];
    if (read(p[0], bound, sizeof bound) != sizeof bound)
        exit(1);
    snprintf(addr, n, "%s", bound);
}

static void stop_server(void)
{
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int lat(const char *t, int n)
{
    char addr[160];
    start_server(t, addr, sizeof addr);
    far_client *c;
    if (far_client_open(&c, addr, client_opts()))
        return 1;
    double *v = malloc(sizeof *v * (size_t)n);
    for (int i = 0; i < 2000 + n; i++) {
        double t0 = now_s();
        if (far_client_call(c, BPROG, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL) != FAR_OK) {
            fprintf(stderr, "%s\n", far_last_error());
            return 1;
        }
        if (i >= 2000)
            v[i - 2000] = now_s() - t0;
    }
    double total = 0;
    for (int i = 0; i < n; i++)
        total += v[i];
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    printf("null_%s p50_us=%.2f p99_us=%.2f calls_s=%.0f\n", t, v[n / 2] * 1e6,
           v[n * 99 / 100] * 1e6, n / total);
    far_client_destroy(c);
    stop_server();
    free(v);
    return 0;
}

/* The cost of the duplicate request cache: a call that is cached (ECHO,
 * not the NULL procedure, which never is) with the cache on and off. */
static int ucall(const char *mode, int n)
{
    server_no_drc = strcmp(mode, "nodrc") == 0;
    char addr[160];
    start_server("udp", addr, sizeof addr);
    far_client *c;
    if (far_client_open(&c, addr, client_opts()))
        return 1;
    uint8_t payload[16] = {1, 2, 3};
    blob in = {sizeof payload, payload}, out;
    far_arena ar;
    far_arena_init(&ar, NULL, 0, 0);
    double *v = malloc(sizeof *v * (size_t)n);
    for (int i = 0; i < 2000 + n; i++) {
        double t0 = now_s();
        if (far_client_call(c, BPROG, 1, 1, blob_enc, &in, blob_dec, &out, &ar, NULL) != FAR_OK) {
            fprintf(stderr, "%s\n", far_last_error());
            return 1;
        }
        if (i >= 2000)
            v[i - 2000] = now_s() - t0;
        far_arena_reset(&ar);
    }
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    printf("ucall_%s p50_us=%.2f p99_us=%.2f\n", mode, v[n / 2] * 1e6, v[n * 99 / 100] * 1e6);
    far_arena_fini(&ar);
    far_client_destroy(c);
    stop_server();
    free(v);
    return 0;
}

static atomic_int inflight, done_n, failed_n;
static void on_done(const far_status *st, void *res, void *user)
{
    (void)res, (void)user;
    if (st->err != FAR_OK && atomic_fetch_add(&failed_n, 1) == 0)
        fprintf(stderr, "pipe: %s\n", st->msg);
    atomic_fetch_sub(&inflight, 1);
    atomic_fetch_add(&done_n, 1);
}

static int pipe_bench(const char *t, int n)
{
    char addr[160];
    start_server(t, addr, sizeof addr);
    far_client *c;
    if (far_client_open(&c, addr, client_opts()))
        return 1;
    double t0 = 0;
    for (int round = 0; round < 2; round++) { /* the first round warms up */
        atomic_store(&done_n, 0);
        t0 = now_s();
        for (int i = 0; i < n; i++) {
            while (atomic_load(&inflight) >= 1024)
                sched_yield();
            atomic_fetch_add(&inflight, 1);
            if (far_client_call_async(c, BPROG, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL, on_done,
                                      NULL) != FAR_OK)
                return 1;
        }
        while (atomic_load(&done_n) < n)
            sched_yield();
    }
    double secs = now_s() - t0;
    if (atomic_load(&failed_n)) {
        fprintf(stderr, "pipe: %d calls failed\n", atomic_load(&failed_n));
        return 1;
    }
    printf("pipe_%s calls_s=%.0f\n", t, n / secs);
    far_client_destroy(c);
    stop_server();
    return 0;
}

static void *far_open(const char *addr)
{
    far_client *c;
    return far_client_open(&c, addr, client_opts()) == FAR_OK ? c : NULL;
}
static bool far_null(void *c)
{
    return far_client_call(c, BPROG, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL) == FAR_OK;
}
static void far_close(void *c)
{
    far_client_destroy(c);
}

/* The same harness as raw_bench conc (conc_harness.h). */
static int conc(int nproc, double secs)
{
    char addr[160];
    start_server("tcp", addr, sizeof addr);
    conc_ops ops = {far_open, far_null, far_close};
    double r = conc_run(nproc, secs, addr, &ops);
    stop_server();
    if (r < 0)
        return 1;
    printf("conc%d calls_s=%.0f\n", nproc, r);
    return 0;
}

/* The echo runs' server (TCP) and client (records up to 64 MiB). */
static far_client *echo_open(void)
{
    char addr[160];
    start_server("tcp", addr, sizeof addr);
    far_client *c;
    far_client_opts o = *client_opts();
    o.max_record = 64u << 20;
    return far_client_open(&c, addr, &o) == FAR_OK ? c : NULL;
}

static int echo(size_t bytes, int n)
{
    far_client *c = echo_open();
    if (!c)
        return 1;
    blob in = {(uint32_t)bytes, aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095)}, out;
    memset(in.val, 7, bytes);
    far_arena ar;
    far_arena_init(&ar, NULL, 0, 128u << 20);
    double t0 = 0;
    for (int i = 0; i < n + n / 10 + 1; i++) {
        if (i == n / 10 + 1)
            t0 = now_s();
        far_arena_reset(&ar);
        if (far_client_call(c, BPROG, 1, 1, blob_enc, &in, blob_dec, &out, &ar, NULL)) {
            fprintf(stderr, "%s\n", far_last_error());
            return 1;
        }
    }
    printf("echo_%zu MB_s=%.1f\n", bytes, (double)bytes * n / (now_s() - t0) / 1e6);
    far_arena_fini(&ar);
    far_client_destroy(c);
    free(in.val);
    stop_server();
    return 0;
}

/* pecho: T threads, one client (one connection), each its own calls. */
typedef struct pecho_th {
    pthread_t th;
    far_client *c;
    size_t bytes;
    int n;
    pthread_barrier_t *go;
    int failed;
} pecho_th;

static void *pecho_main(void *p)
{
    pecho_th *t = p;
    blob in = {(uint32_t)t->bytes, aligned_alloc(4096, (t->bytes + 4095) & ~(size_t)4095)}, out;
    memset(in.val, 7, t->bytes);
    far_arena ar;
    far_arena_init(&ar, NULL, 0, 128u << 20);
    for (int i = 0; i < 2 + t->n; i++) {
        if (i == 2) /* (two to warm up, then all threads start together) */
            pthread_barrier_wait(t->go);
        far_arena_reset(&ar);
        if (far_client_call(t->c, BPROG, 1, 1, blob_enc, &in, blob_dec, &out, &ar, NULL)) {
            fprintf(stderr, "%s\n", far_last_error());
            t->failed = 1;
            break;
        }
    }
    far_arena_fini(&ar);
    free(in.val);
    return NULL;
}

static int pecho(size_t bytes, int n, int nth)
{
    if (nth < 1 || nth > 64)
        return 2;
    far_client *c = echo_open();
    if (!c)
        return 1;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)nth + 1);
    pecho_th th[64];
    for (int i = 0; i < nth; i++) {
        th[i] = (pecho_th){.c = c, .bytes = bytes, .n = n, .go = &go};
        if (pthread_create(&th[i].th, NULL, pecho_main, &th[i]) != 0)
            return 1;
    }
    pthread_barrier_wait(&go);
    double t0 = now_s();
    int failed = 0;
    for (int i = 0; i < nth; i++) {
        pthread_join(th[i].th, NULL);
        failed |= th[i].failed;
    }
    double secs = now_s() - t0;
    pthread_barrier_destroy(&go);
    far_client_destroy(c);
    stop_server();
    if (failed)
        return 1;
    printf("pecho_%zu_%d MB_s=%.1f\n", bytes, nth, (double)bytes * n * nth / secs / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: see the top of rpc_bench.c\n");
        return 2;
    }
    if (!strcmp(argv[1], "lat"))
        return lat(argv[2], atoi(argv[3]));
    if (!strcmp(argv[1], "pipe"))
        return pipe_bench(argv[2], atoi(argv[3]));
    if (!strcmp(argv[1], "conc"))
        return conc(atoi(argv[2]), atof(argv[3]));
    if (!strcmp(argv[1], "echo"))
        return echo((size_t)atol(argv[2]), atoi(argv[3]));
    if (!strcmp(argv[1], "pecho") && argc >= 5)
        return pecho((size_t)atol(argv[2]), atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(argv[1], "ucall"))
        return ucall(argv[2], atoi(argv[3]));
    return 2;
}
