/* bulk_bench: bulk transfer (farcall/bulk.h) against a raw TCP transfer of
 * the same bytes between the same two processes, in the same run.
 *
 *   bulk_bench [-n BYTES] [-r REPS] [-d DIR]
 *
 * A child process serves both: a farcall server whose handlers fetch from
 * memory or from a file (far_bulk_start), and a raw TCP server that writes
 * the same bytes from memory (write of 1 MiB slices) or from the file
 * (pread + write, the fastest raw file-to-socket loop on this machine per
 * next.md §3.2).  The parent receives: into memory (raw: recv into the
 * buffer; farcall: FAR_BULK_MEM), or into a file (raw: recv + pwrite;
 * farcall: FAR_BULK_PATH, its temporary file renamed).  Each row is the
 * median of REPS runs, raw and farcall alternating.
 *
 * Then small calls on the same connection: the p50 and p99 of a NULL-sized
 * call (ECHO of 4 bytes) on an idle connection, and while a memory fetch
 * runs on it from another thread.
 *
 * Loopback TCP on 127.0.0.1.  Placement as in anchors/README.md: pin the
 * parent with taskset and the child with $FAR_SERVER_CPU (same core:
 * `FAR_SERVER_CPU=0 taskset -c 0`; cross core: `FAR_SERVER_CPU=1 taskset -c
 * 0`); unset, the child stays where the parent may run.  BULK_LAT_ONLY=1
 * skips the throughput rows (the small calls only); BULK_LEVEL=priv runs
 * farcall's side at the privacy level. */
#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <farcall/bulk.h>
#include <farcall/rpc.h>

#define BPROG   0x20fa0bf3u
#define P_MEM   1
#define P_FILE  2
#define P_ECHO  3
#define P_SMEM  4 /* stores: client -> server */
#define P_SFILE 5
#define SLICE   (1u << 20)
#define MAXREPS 15

static uint64_t n_bytes = 1ull << 30;
static const char *src_path;
static char store_path[300];
static uint8_t *src_mem;
static far_bulk_server *bsrv;

/* BULK_LEVEL=auth|integ|priv: the farcall client at that security level
 * (docs/security.md; the chunks are calls of its connection, sealed at
 * priv), with this key on both sides.  Raw stays plain TCP: the issue's
 * baseline is the wire's speed. */
static const uint8_t bench_key[FAR_KEY_BYTES] = "bulk_bench's key: not a secret";

static bool bench_lookup(const char *id, size_t len, uint8_t key[FAR_KEY_BYTES], void *user)
{
    (void)id, (void)len, (void)user;
    memcpy(key, bench_key, sizeof bench_key);
    return true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bulk_bench: %s: %s\n", what, strerror(errno));
    exit(2);
}

static bool u32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static bool u32_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}

/* ------------------------------------------------------------ the child */

static far_err h_fetch(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)a;
    far_bulk_desc d = {.dir = FAR_BULK_DIR_FETCH};
    if (impl == (const void *)1) {
        d.kind = FAR_BULK_MEM;
        d.mem = src_mem;
        d.len = n_bytes;
    } else {
        d.kind = FAR_BULK_PATH;
        d.path = src_path;
    }
    far_bulk *t;
    far_err rc = far_bulk_start(bsrv, r, &d, &t);
    if (rc == FAR_OK) {
        rc = far_bulk_wait(t, UINT32_MAX);
        far_bulk_destroy(t);
    }
    *(uint32_t *)res = (uint32_t)rc;
    return FAR_OK;
}

static far_err h_fetch_mem(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    return h_fetch((const void *)1, r, a, res);
}

static far_err h_fetch_file(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    return h_fetch((const void *)2, r, a, res);
}

static far_err h_store(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)a;
    far_bulk_desc d = {.dir = FAR_BULK_DIR_STORE};
    if (impl == (const void *)1) {
        d.kind = FAR_BULK_MEM;
        d.mem = src_mem;
        d.len = n_bytes;
    } else {
        d.kind = FAR_BULK_PATH;
        d.path = store_path;
    }
    far_bulk *t;
    far_err rc = far_bulk_start(bsrv, r, &d, &t);
    if (rc == FAR_OK) {
        rc = far_bulk_wait(t, UINT32_MAX);
        far_bulk_destroy(t);
    }
    *(uint32_t *)res = (uint32_t)rc;
    return FAR_OK;
}

static far_err h_store_mem(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    return h_store((const void *)1, r, a, res);
}

static far_err h_store_file(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    return h_store((const void *)2, r, a, res);
}

static far_err h_echo(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    (void)r;
    (void)a;
    /* when the handler ran (microseconds, CLOCK_MONOTONIC: the same clock
     * in both processes), so the client can split the call's time into
     * the way there and the way back */
    *(uint32_t *)res = (uint32_t)(uint64_t)(now_s() * 1e6);
    return FAR_OK;
}

static const far_proc_desc procs[] = {
    {.proc = 0, .name = "NULL"},
    {.proc = P_MEM,
     .name = "MEM",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_fetch_mem},
    {.proc = P_FILE,
     .name = "FILE",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_fetch_file},
    {.proc = P_ECHO,
     .name = "ECHO",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_echo},
    {.proc = P_SMEM,
     .name = "SMEM",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_store_mem},
    {.proc = P_SFILE,
     .name = "SFILE",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_store_file},
};
static const far_program_desc prog = {
    FAR_DESC_SIZES, .prog = BPROG, .vers = 1, .name = "BULKB", .procs = procs, .nprocs = 6,
};

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* The raw server: per connection one command byte, 'm' (from memory) or
 * 'f' (from the file), then n_bytes; or 'M' (into memory) or 'F' (into a
 * file: recv + pwrite), n_bytes received, then one byte back when all is
 * in (as a store's reply comes once the data is). */
static void *raw_server(void *arg)
{
    int ls = *(int *)arg;
    uint8_t *buf = malloc(SLICE);
    int ffd = open(src_path, O_RDONLY);
    for (;;) {
        int s = accept(ls, NULL, NULL);
        if (s < 0)
            break;
        char cmd;
        if (read(s, &cmd, 1) != 1) {
            close(s);
            continue;
        }
        if (cmd == 'M' || cmd == 'F') {
            int out = cmd == 'F' ? open(store_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
            for (uint64_t off = 0; off < n_bytes;) {
                size_t k = n_bytes - off < SLICE ? (size_t)(n_bytes - off) : SLICE;
                ssize_t got = recv(s, cmd == 'M' ? src_mem + off : buf, k, 0);
                if (got <= 0)
                    break;
                if (out >= 0 && pwrite(out, buf, (size_t)got, (off_t)off) != got)
                    break;
                off += (uint64_t)got;
            }
            if (out >= 0)
                close(out);
            write_all(s, (const uint8_t *)"k", 1);
            close(s);
            continue;
        }
        for (uint64_t off = 0; off < n_bytes;) {
            size_t k = n_bytes - off < SLICE ? (size_t)(n_bytes - off) : SLICE;
            if (cmd == 'm') {
                write_all(s, src_mem + off, k);
            } else {
                ssize_t r = pread(ffd, buf, k, (off_t)off);
                if (r <= 0)
                    break;
                k = (size_t)r;
                write_all(s, buf, k);
            }
            off += k;
        }
        close(s);
    }
    return NULL;
}

static void child(int wfd)
{
    const char *cpu = getenv("FAR_SERVER_CPU");
    if (cpu && *cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(atoi(cpu), &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            die("sched_setaffinity");
    }
    src_mem = malloc(n_bytes);
    if (!src_mem)
        die("malloc");
    for (uint64_t i = 0; i < n_bytes; i += 4096)
        src_mem[i] = (uint8_t)(i >> 12);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    if (bind(ls, (struct sockaddr *)&sin, sizeof sin) || listen(ls, 8) ||
        getsockname(ls, (struct sockaddr *)&sin, &sl))
        die("raw listen");
    pthread_t th;
    pthread_create(&th, NULL, raw_server, &ls);
    far_server *s;
    far_server_opts so = {.workers = 2};
    char bound[128];
    /* BULK_CHUNK, BULK_WINDOW: the server's chunk and window (0: defaults) */
    far_bulk_server_opts bo = {
        .chunk = getenv("BULK_CHUNK") ? (uint32_t)strtoul(getenv("BULK_CHUNK"), NULL, 0) : 0,
        .window = getenv("BULK_WINDOW") ? (uint32_t)strtoul(getenv("BULK_WINDOW"), NULL, 0) : 0};
    if (far_server_create(&s, &so) || far_server_set_key_lookup(s, bench_lookup, NULL) ||
        far_server_add_program(s, &prog, NULL) || far_bulk_server_create(&bsrv, s, &bo) ||
        far_server_listen(s, "tcp://127.0.0.1:0", bound, sizeof bound) || far_server_start(s))
        die("farcall server");
    char line[200];
    int n = snprintf(line, sizeof line, "%d %s\n", ntohs(sin.sin_port), bound);
    write_all(wfd, (const uint8_t *)line, (size_t)n);
    close(wfd);
    pause(); /* until SIGTERM */
}

/* ------------------------------------------------------------ the parent */

static int raw_port;
static char faddr[128];

static int raw_connect(char cmd)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)raw_port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&sin, sizeof sin) || write(s, &cmd, 1) != 1)
        die("raw connect");
    return s;
}

static double raw_mem(uint8_t *dst)
{
    double t0 = now_s();
    int s = raw_connect('m');
    uint64_t got = 0;
    while (got < n_bytes) {
        ssize_t r = recv(s, dst + got, n_bytes - got < SLICE ? n_bytes - got : SLICE, 0);
        if (r <= 0)
            die("raw recv");
        got += (uint64_t)r;
    }
    close(s);
    return now_s() - t0;
}

static double raw_file(const char *dst)
{
    double t0 = now_s();
    int s = raw_connect('f');
    int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    uint8_t *buf = malloc(SLICE);
    uint64_t got = 0;
    while (got < n_bytes) {
        ssize_t r = recv(s, buf, SLICE, 0);
        if (r <= 0)
            die("raw recv");
        if (pwrite(fd, buf, (size_t)r, (off_t)got) != r)
            die("raw pwrite");
        got += (uint64_t)r;
    }
    close(fd);
    close(s);
    free(buf);
    return now_s() - t0;
}

/* A raw store: from memory, or from the file (pread + write). */
static double raw_store(const uint8_t *src, bool file)
{
    double t0 = now_s();
    int s = raw_connect(file ? 'F' : 'M');
    int fd = file ? open(src_path, O_RDONLY) : -1;
    uint8_t *buf = file ? malloc(SLICE) : NULL;
    for (uint64_t off = 0; off < n_bytes;) {
        size_t k = n_bytes - off < SLICE ? (size_t)(n_bytes - off) : SLICE;
        const uint8_t *p = src + off;
        if (file) {
            if (pread(fd, buf, k, (off_t)off) != (ssize_t)k)
                die("raw pread");
            p = buf;
        }
        write_all(s, p, k);
        off += k;
    }
    char ack;
    if (read(s, &ack, 1) != 1)
        die("raw store ack");
    close(s);
    if (fd >= 0)
        close(fd);
    free(buf);
    return now_s() - t0;
}

static double far_fetch(far_client *c, uint32_t proc, far_bulk_spec *sp)
{
    uint32_t a = 0, res = 1;
    far_call_opts o = {.bulk = sp};
    double t0 = now_s();
    far_err rc = far_client_call(c, BPROG, 1, proc, u32_enc, &a, u32_dec, &res, NULL, &o);
    double t = now_s() - t0;
    if (rc != FAR_OK || res != 0) {
        fprintf(stderr, "bulk_bench: fetch: %s / %u (%s)\n", far_strerror(rc), res,
                far_last_error());
        exit(2);
    }
    return t;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Small calls: latencies (microseconds) of `count` ECHO calls, or of as
 * many as fit while *running holds; up[i]: of lat[i], the part until the
 * server's handler ran (the call's way there; the rest is the reply's way
 * back). */
static int echo_lat(far_client *c, double *lat, double *up, int max, atomic_bool *running)
{
    int n = 0;
    for (; n < max && (!running || atomic_load(running)); n++) {
        uint32_t a = (uint32_t)n, r = 0;
        double t0 = now_s();
        if (far_client_call(c, BPROG, 1, P_ECHO, u32_enc, &a, u32_dec, &r, NULL, NULL) != FAR_OK)
            die("echo");
        double t1 = now_s();
        lat[n] = (t1 - t0) * 1e6;
        up[n] = (double)(uint32_t)(r - (uint32_t)(uint64_t)(t0 * 1e6));
    }
    return n;
}

typedef struct during {
    far_client *c;
    uint8_t *dst;
    atomic_bool running;
} during;

static void *fetch_thread(void *arg)
{
    during *d = arg;
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = d->dst, .len = n_bytes};
    far_fetch(d->c, P_MEM, &sp);
    atomic_store(&d->running, false);
    return NULL;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1));
    return v[i];
}

/* One row: raw's and farcall's medians (times in seconds), their ratio,
 * and the median of each run's own ratio (raw and farcall back to back:
 * steadier on a shared machine whose speed moves from one run to the
 * next). */
static void row(const char *name, double *raw, double *far, int reps)
{
    if (raw[0] < 0) { /* a row not run (BULK_*_ONLY) */
        printf("| %s | (not run) | | | |\n", name);
        return;
    }
    double gb = (double)n_bytes / 1e9, r[MAXREPS];
    for (int i = 0; i < reps; i++)
        r[i] = raw[i] / far[i];
    double mr = median(raw, reps), mf = median(far, reps);
    printf("| %s | %.2f | %.2f | %.0f%% | %.0f%% |\n", name, gb / mr, gb / mf, 100 * mr / mf,
           100 * median(r, reps));
}

int main(int argc, char **argv)
{
    int reps = 5;
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n"))
            n_bytes = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "-r"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-d"))
            dir = argv[i + 1];
    }
    if (reps < 1 || reps > MAXREPS)
        reps = 5;
    static char sp_[256], dp_[256], rp_[256];
    snprintf(sp_, sizeof sp_, "%s/bulk_bench_src.%d", dir, (int)getpid());
    snprintf(dp_, sizeof dp_, "%s/bulk_bench_dst.%d", dir, (int)getpid());
    snprintf(rp_, sizeof rp_, "%s/bulk_bench_raw.%d", dir, (int)getpid());
    src_path = sp_;
    snprintf(store_path, sizeof store_path, "%s/bulk_bench_stored.%d", dir, (int)getpid());
    {
        /* the source file: real bytes, in the page cache once written */
        int fd = open(src_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        uint8_t *b = malloc(SLICE);
        for (size_t i = 0; i < SLICE; i++)
            b[i] = (uint8_t)(i * 131);
        for (uint64_t off = 0; off < n_bytes; off += SLICE)
            if (write(fd, b, n_bytes - off < SLICE ? n_bytes - off : SLICE) < 0)
                die("write source");
        close(fd);
        free(b);
    }
    int pfd[2];
    if (pipe(pfd))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        child(pfd[1]);
        _exit(0);
    }
    close(pfd[1]);
    char line[256] = {0};
    ssize_t got = 0;
    for (int i = 0; i < 100 && got < (ssize_t)sizeof line - 1; i++) {
        ssize_t r = read(pfd[0], line + got, sizeof line - 1 - (size_t)got);
        if (r <= 0)
            break;
        got += r;
        if (strchr(line, '\n'))
            break;
    }
    if (sscanf(line, "%d %127s", &raw_port, faddr) != 2)
        die("child did not start");

    uint8_t *dst = mmap(NULL, n_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (dst == MAP_FAILED)
        die("mmap");
    memset(dst, 1, n_bytes); /* faulted in once, for both */
    far_client *c;
    far_client_opts co = {.timeout_ms = 60000};
    const char *lv = getenv("BULK_LEVEL");
    if (lv && (far_security_parse(lv, &co.security) != FAR_OK))
        die("BULK_LEVEL: none, auth, integ or priv");
    if (co.security) {
        co.identity = "bulk_bench";
        co.key = bench_key;
    }
    if (far_client_open(&c, faddr, &co) != FAR_OK)
        die("client");
    double rm[MAXREPS], fm[MAXREPS], rf[MAXREPS], ff[MAXREPS];
    double rsm[MAXREPS], fsm[MAXREPS], rsf[MAXREPS], fsf[MAXREPS];
    /* warm-up: one of each */
    raw_mem(dst);
    far_bulk_spec w = {.kind = FAR_BULK_MEM, .mem = dst, .len = n_bytes};
    far_fetch(c, P_MEM, &w);
    for (int i = 0; i < reps && !getenv("BULK_LAT_ONLY"); i++) {
        if (getenv("BULK_FILE_ONLY")) {
            rm[i] = fm[i] = -1;
        } else {
            rm[i] = raw_mem(dst);
            far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = dst, .len = n_bytes};
            fm[i] = far_fetch(c, P_MEM, &sp);
        }
        if (getenv("BULK_MEM_ONLY")) { /* (profiling one path) */
            rf[i] = ff[i] = rsm[i] = fsm[i] = rsf[i] = fsf[i] = -1;
            continue;
        }
        /* Each file contender starts with no file at its destination
         * (removed here, outside the timing): raw would otherwise truncate
         * its last run's file and write into the pages that freed, while
         * farcall writes a temporary file beside the last run's and frees
         * those pages only at the rename -- on a VM whose guest pages are
         * slow the first time they are touched, a bias of up to 2x. */
        unlink(rp_);
        sync(); /* (and none of the last one's dirty pages left to write back) */
        rf[i] = raw_file(rp_);
        unlink(dp_);
        sync();
        far_bulk_spec sf = {.kind = FAR_BULK_PATH, .path = dp_};
        ff[i] = far_fetch(c, P_FILE, &sf);
        if (getenv("BULK_FETCH_ONLY")) {
            rsm[i] = fsm[i] = rsf[i] = fsf[i] = -1;
            continue;
        }
        /* stores */
        rsm[i] = raw_store(dst, false);
        far_bulk_spec ssm = {.kind = FAR_BULK_MEM, .mem = dst, .len = n_bytes};
        fsm[i] = far_fetch(c, P_SMEM, &ssm);
        unlink(store_path); /* (the child's destination, as above) */
        sync();
        rsf[i] = raw_store(NULL, true);
        unlink(store_path);
        sync();
        far_bulk_spec ssf = {.kind = FAR_BULK_PATH, .path = src_path};
        fsf[i] = far_fetch(c, P_SFILE, &ssf);
    }
    if (getenv("BULK_LAT_ONLY"))
        reps = 1, rm[0] = fm[0] = rf[0] = ff[0] = rsm[0] = fsm[0] = rsf[0] = fsf[0] = -1;
    printf("bulk_bench: %llu bytes, %d runs each (median), loopback TCP 127.0.0.1, farcall at "
           "level %s\n",
           (unsigned long long)n_bytes, reps, lv ? lv : "none");
    printf("| transfer | raw TCP GB/s | farcall GB/s | farcall / raw | median of the runs' "
           "ratios |\n");
    printf("|---|---|---|---|---|\n");
    row("memory -> memory", rm, fm, reps);
    row("file -> file", rf, ff, reps);
    row("store: memory -> memory", rsm, fsm, reps);
    row("store: file -> file", rsf, fsf, reps);

    /* small calls: idle, then during a memory fetch on the same client */
    enum { MAXLAT = 200000 };
    double *idle = malloc(MAXLAT * sizeof *idle), *busy = malloc(MAXLAT * sizeof *busy);
    double *iup = malloc(MAXLAT * sizeof *iup), *bup = malloc(MAXLAT * sizeof *bup);
    int ni = echo_lat(c, idle, iup, 20000, NULL);
    during d = {.c = c, .dst = dst};
    atomic_store(&d.running, true);
    pthread_t th;
    pthread_create(&th, NULL, fetch_thread, &d);
    int nb = echo_lat(c, busy, bup, MAXLAT, &d.running);
    pthread_join(th, NULL);
    double *iback = malloc(MAXLAT * sizeof *iback), *bback = malloc(MAXLAT * sizeof *bback);
    for (int i = 0; i < ni; i++)
        iback[i] = idle[i] - iup[i];
    for (int i = 0; i < nb; i++)
        bback[i] = busy[i] - bup[i];
    double i50 = pct(idle, ni, 0.5), i99 = pct(idle, ni, 0.99);
    double b50 = pct(busy, nb, 0.5), b99 = pct(busy, nb, 0.99);
    printf("\n| small call (4-byte ECHO), same connection | calls | p50 us | p99 us |\n");
    printf("|---|---|---|---|\n");
    printf("| idle | %d | %.1f | %.1f |\n", ni, i50, i99);
    printf("| during a %llu-byte fetch | %d | %.1f | %.1f |\n", (unsigned long long)n_bytes, nb,
           b50, b99);
    printf("p99 during / idle: %.2fx\n", b99 / i99);
    /* where the time goes: the way there (call sent -> handler) and back */
    printf("way there (call -> handler) p50/p99 us: idle %.1f / %.1f, during %.1f / %.1f\n",
           pct(iup, ni, 0.5), pct(iup, ni, 0.99), pct(bup, nb, 0.5), pct(bup, nb, 0.99));
    printf("way back (handler -> reply) p50/p99 us: idle %.1f / %.1f, during %.1f / %.1f\n",
           pct(iback, ni, 0.5), pct(iback, ni, 0.99), pct(bback, nb, 0.5), pct(bback, nb, 0.99));

    far_client_destroy(c);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    unlink(src_path);
    unlink(dp_);
    unlink(rp_);
    unlink(store_path);
    munmap(dst, n_bytes);
    return 0;
}
