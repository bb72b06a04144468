/* Bulk transfer bound to a call (farcall/bulk.h): a farcall server in this
 * process serves a test program whose handlers start a fetch or a store; a
 * farcall client calls it with far_call_opts.bulk.
 *
 * Sizes 0, 1, a chunk -1, a chunk, a chunk +1 and a few chunks, both ways,
 * files and memory; TCP on 127.0.0.1 and ::1 and a Unix socket; UDP refused;
 * 1 GiB from a sparse file, streamed (to /dev/null, checked by the chunk and
 * transfer checksums); a damaged chunk detected and sent again; a connection
 * cut mid-transfer and the transfer resumed by the next attempt, resending
 * at most one window; limits (the receiver's largest transfer, its disk
 * budget); a stalled sender; more transfers at once than the server has
 * handlers; a cancelled call; a handler that starts none.  At the security
 * levels auth, integ and priv: the sizes around the privacy level's AEAD
 * chunk and the bulk chunk, both ways, files and memory, on servers that
 * require the level of FAR_BULK; a chunk damaged in flight (a relay flips a
 * byte) caught by the checksum at auth and refused by the AEAD at integ and
 * priv, the transfer failing clearly and the next attempt completing it;
 * clients below the level FAR_BULK requires refused (AUTH_TOOWEAK). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <farcall/bulk.h>
#include <farcall/rpc.h>

#include "far_bulk.h"

#include "../common/sanitized.h"

/* Test knobs of the library (src/bulk/bulk.h, server.c). */
void far__bulk_test_corrupt(uint64_t off);
unsigned long far__bulk_server_checksum_errors(far_bulk_server *bs);
uint64_t far__bulk_test_pieces(void);
/* ... and of the client (clnt/reply.c): bytes its readers received straight
 * into memory sinks. */
uint64_t far__client_direct_bytes(void);

#define TPROG     0x20fa0bf1u
#define P_XFER    1 /* starts g_desc, waits, returns far_bulk_wait's outcome */
#define P_ECHO    2
#define P_NOSTART 3 /* returns at once: no transfer */
#define CHUNK     (256u << 10)

#define SANITIZED FAR_TEST_SANITIZED

static far_server *srv;
static far_bulk_server *bsrv;
static char addr4[128], addr6[128], addru[128];
static int port4;
static char dir[64];
static far_bulk_desc g_desc;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_rc = -1;
static atomic_int g_level = -1; /* the last transfer call's level, as its handler saw it */
static _Atomic uint64_t g_srv_progress;

static void cut_client_connections(void);
/* The connection is cut (from the client's side) once the server has moved
 * this many bytes: in the server's progress callback, which runs in the
 * PULL or PUSH handler before its reply, so the cut falls mid-transfer
 * whatever the threads' timing. */
static _Atomic uint64_t g_cut_at = UINT64_MAX;

static void srv_progress(uint64_t done, uint64_t total, void *user)
{
    (void)total;
    (void)user;
    atomic_store(&g_srv_progress, done);
    uint64_t at = atomic_load(&g_cut_at);
    if (done >= at && atomic_compare_exchange_strong(&g_cut_at, &at, UINT64_MAX))
        cut_client_connections();
}

static bool u32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static bool u32_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}

static far_err h_xfer(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    (void)a;
    pthread_mutex_lock(&g_mu);
    far_bulk_desc d = g_desc;
    pthread_mutex_unlock(&g_mu);
    d.on_progress = srv_progress;
    atomic_store(&g_level, (int)far_svc_req_security(r));
    far_bulk *t;
    far_err rc = far_bulk_start(bsrv, r, &d, &t);
    if (rc == FAR_OK) {
        /* polled, then waited for */
        rc = far_bulk_wait(t, 0);
        if (rc == FAR_ECLOSED)
            rc = far_bulk_wait(t, UINT32_MAX);
        far_bulk_destroy(t);
    }
    atomic_store(&g_rc, (int)rc);
    *(uint32_t *)res = (uint32_t)rc;
    return FAR_OK;
}

static far_err h_echo(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    (void)r;
    *(uint32_t *)res = *(const uint32_t *)a;
    return FAR_OK;
}

static const far_proc_desc tprocs[] = {
    {.proc = 0, .name = "NULL"},
    {.proc = P_XFER,
     .name = "XFER",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_xfer},
    {.proc = P_ECHO,
     .name = "ECHO",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_echo},
    {.proc = P_NOSTART,
     .name = "NOSTART",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_echo},
};
static const far_program_desc tprog = {
    FAR_DESC_SIZES,  .prog = TPROG,   .vers = 1,
    .name = "BULKT", .procs = tprocs, .nprocs = sizeof tprocs / sizeof tprocs[0],
};

static void set_desc(far_bulk_desc d)
{
    pthread_mutex_lock(&g_mu);
    g_desc = d;
    pthread_mutex_unlock(&g_mu);
}

/* ---------------------------------------------------------------- helpers */

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static void write_file(const char *p, uint64_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint8_t buf[65536];
    for (uint64_t off = 0; off < n;) {
        size_t k = n - off < sizeof buf ? (size_t)(n - off) : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = pattern(off + i);
        assert_int_equal(write(fd, buf, k), (ssize_t)k);
        off += k;
    }
    close(fd);
}

static void check_file(const char *p, uint64_t n)
{
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal((uint64_t)st.st_size, n);
    uint8_t buf[65536];
    for (uint64_t off = 0; off < n;) {
        ssize_t k = read(fd, buf, sizeof buf);
        assert_true(k > 0);
        for (ssize_t i = 0; i < k; i++)
            if (buf[i] != pattern(off + (uint64_t)i))
                fail_msg("%s: byte %llu differs", p, (unsigned long long)(off + (uint64_t)i));
        off += (uint64_t)k;
    }
    close(fd);
}

/* No temporary or partial file is left in the test directory. */
static void no_leftovers(void)
{
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    struct dirent *e;
    while ((e = readdir(dd)))
        if (strstr(e->d_name, ".far-"))
            fail_msg("left over: %s", e->d_name);
    closedir(dd);
}

static void clean_dir(void)
{
    DIR *dd = opendir(dir);
    struct dirent *e;
    char p[512];
    while (dd && (e = readdir(dd)))
        if (e->d_name[0] != '.' || strstr(e->d_name, ".far-")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (dd)
        closedir(dd);
}

static far_client *open_client(const char *addr)
{
    far_client *c = NULL;
    far_client_opts o = {.timeout_ms = 20000};
    assert_int_equal(far_client_open(&c, addr, &o), FAR_OK);
    return c;
}

/* Makes the call with spec sp; returns the call's outcome, *hrc the
 * handler's (far_bulk_wait's). */
static far_err xfer(far_client *c, far_bulk_spec *sp, uint32_t *hrc, uint64_t *call_id)
{
    uint32_t arg = 0, res = 0xffffffffu;
    far_status st;
    far_call_opts o = {.bulk = sp, .status = &st, .call_id = call_id};
    atomic_store(&g_rc, -1);
    far_err rc = far_client_call(c, TPROG, 1, P_XFER, u32_enc, &arg, u32_dec, &res, NULL, &o);
    if (rc != FAR_OK)
        print_message("  (call: %s: %s)\n", far_strerror(rc), st.msg);
    if (hrc)
        *hrc = res;
    return rc;
}

/* ---------------------------------------------------------------- the sizes */

static const uint64_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17};

/* Fetches an n-byte file on client c: every byte checked, nothing left. */
static void fetch_file_on(far_client *c, uint64_t n)
{
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    write_file(src, n);
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_PATH, .path = src});
    far_bulk_spec sp = {.kind = FAR_BULK_PATH, .path = dst};
    uint32_t h;
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp.err, FAR_OK);
    assert_int_equal(sp.size, n);
    assert_int_equal(sp.done, n);
    check_file(dst, n);
    no_leftovers();
    clean_dir();
}

static void fetch_file(const char *addr, uint64_t n)
{
    far_client *c = open_client(addr);
    fetch_file_on(c, n);
    far_client_destroy(c);
}

/* Stores an n-byte file on client c: every byte checked, nothing left. */
static void store_file_on(far_client *c, uint64_t n)
{
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    write_file(src, n);
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = dst});
    far_bulk_spec sp = {.kind = FAR_BULK_PATH, .path = src};
    uint32_t h;
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp.size, n);
    check_file(dst, n);
    no_leftovers();
    clean_dir();
}

static void store_file(const char *addr, uint64_t n)
{
    far_client *c = open_client(addr);
    store_file_on(c, n);
    far_client_destroy(c);
}

static void test_sizes_fetch_file(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        fetch_file(addr4, sizes[i]);
}

static void test_sizes_store_file(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        store_file(addr4, sizes[i]);
}

/* The least of an n-byte memory fetch that must come straight into its
 * sink (clnt/reply.c, try_direct): every chunk whose reply is 64 KiB or
 * more but the bytes read with its head (at most DIRECT_PEEK, 256), and
 * 16 KiB (the reader's first buffer) once, for a reply read before the
 * reader knew of PULLs in flight. */
static uint64_t direct_min(uint64_t n)
{
    uint64_t min = 0;
    for (uint64_t off = 0; off < n; off += CHUNK) {
        uint64_t len = n - off < CHUNK ? n - off : CHUNK;
        if (len >= 64 * 1024)
            min += len - 256;
    }
    return min > 16384 ? min - 16384 : 0;
}

/* Fetches an n-byte memory source into memory on client c, every byte
 * checked; `direct`: received straight into the sink (levels none and
 * auth), else never (the body is protected: it is verified first). */
static void fetch_memory_on(far_client *c, uint64_t n, bool direct)
{
    uint8_t *a = malloc(n + 1), *b = calloc(1, n + 1);
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t k = 0; k < n; k++)
        a[k] = pattern(k);
    uint32_t h;
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = a, .len = n});
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = n};
    uint64_t before = far__client_direct_bytes();
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    uint64_t got = far__client_direct_bytes() - before;
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp.done, n);
    assert_memory_equal(a, b, n);
    assert_int_equal(b[n], 0);
    print_message("  %llu bytes: %llu straight into the sink (at least %llu)\n",
                  (unsigned long long)n, (unsigned long long)got,
                  (unsigned long long)direct_min(n));
    assert_true(got <= n);
    if (direct)
        assert_true(got >= direct_min(n));
    else
        assert_int_equal(got, 0);
    free(a);
    free(b);
}

/* Fetches and stores n bytes of memory on client c, every byte checked. */
static void memory_on(far_client *c, uint64_t n)
{
    uint8_t *a = malloc(n + 1), *b = calloc(1, n + 1);
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t k = 0; k < n; k++)
        a[k] = pattern(k);
    uint32_t h;
    /* fetch: server memory -> client memory */
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = a, .len = n});
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = n};
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp.done, n);
    assert_memory_equal(a, b, n);
    /* store: client memory -> server memory */
    memset(b, 0, n + 1);
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_MEM, .mem = b, .len = n});
    far_bulk_spec sp2 = {.kind = FAR_BULK_MEM, .mem = a, .len = n};
    assert_int_equal(xfer(c, &sp2, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_memory_equal(a, b, n);
    free(a);
    free(b);
}

static void test_sizes_memory(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        far_client *c = open_client(addr4);
        memory_on(c, sizes[i]);
        far_client_destroy(c);
    }
}

/* A memory fetch receives its chunks straight into the sink (level none):
 * one byte, a chunk and one either side, a few MiB, 64 MiB; over TCP and a
 * Unix socket, on one client one after the other. */
static void test_direct_memory(void **state)
{
    (void)state;
    static const uint64_t n[] = {1, CHUNK - 1, CHUNK, CHUNK + 1, (3u << 20) + 17, 64ull << 20};
    const char *addrs[] = {addr4, addru};
    for (size_t j = 0; j < 2; j++) {
        far_client *c = open_client(addrs[j]);
        for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
            fetch_memory_on(c, n[i], true);
        far_client_destroy(c);
    }
}

/* IPv6 and a Unix socket, both ways. */
static void test_families(void **state)
{
    (void)state;
    fetch_file(addr6, 2 * CHUNK + 5);
    store_file(addr6, 2 * CHUNK + 5);
    fetch_file(addru, 2 * CHUNK + 5);
    store_file(addru, 2 * CHUNK + 5);
}

static void test_udp_refused(void **state)
{
    (void)state;
    char a[160];
    snprintf(a, sizeof a, "udp://127.0.0.1:%d", port4);
    far_client *c = open_client(a);
    uint8_t b[16];
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = sizeof b};
    far_status st;
    uint32_t arg = 0, res = 0;
    far_call_opts o = {.bulk = &sp, .status = &st};
    assert_int_equal(far_client_call(c, TPROG, 1, P_XFER, u32_enc, &arg, u32_dec, &res, NULL, &o),
                     FAR_EUNSUPPORTED);
    assert_non_null(strstr(st.msg, "UDP"));
    far_client_destroy(c);
}

/* 1 GiB from a sparse file, both ways, streamed: the other side writes to
 * /dev/null, the chunk and transfer checksums check the bytes. */
static void test_one_gib(void **state)
{
    (void)state;
    uint64_t n = SANITIZED ? (64ull << 20) : (1ull << 30);
    char src[256];
    path_in(src, sizeof src, "sparse");
    int fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)n), 0);
    assert_int_equal(pwrite(fd, "x", 1, (off_t)(n / 2)), 1); /* not all zeros */
    close(fd);
    int null = open("/dev/null", O_RDWR);
    assert_true(null >= 0);
    far_client *c = open_client(addr4);
    uint32_t h;
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_PATH, .path = src});
    far_bulk_spec sp = {.kind = FAR_BULK_FD, .fd = null};
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp.size, n);
    assert_int_equal(sp.sent_bytes, n);
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_FD, .fd = null});
    far_bulk_spec sp2 = {.kind = FAR_BULK_PATH, .path = src};
    assert_int_equal(xfer(c, &sp2, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp2.size, n);
    assert_int_equal(atomic_load(&g_srv_progress), n);
    far_client_destroy(c);
    close(null);
    clean_dir();
}

/* A chunk damaged on the way is detected (its checksum) and sent again. */
static void test_corrupt_chunk(void **state)
{
    (void)state;
    uint64_t n = 4 * CHUNK + 3;
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    write_file(src, n);
    far_client *c = open_client(addr4);
    uint32_t h;
    /* fetch: the server damages the PULL reply at 2 chunks */
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_PATH, .path = src});
    far_bulk_spec sp = {.kind = FAR_BULK_PATH, .path = dst};
    far__bulk_test_corrupt(2 * CHUNK);
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    assert_int_equal(sp.checksum_errors, 1);
    check_file(dst, n);
    unlink(dst);
    /* store: the client damages its PUSH at 1 chunk */
    unsigned long before = far__bulk_server_checksum_errors(bsrv);
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = dst});
    far_bulk_spec sp2 = {.kind = FAR_BULK_PATH, .path = src};
    far__bulk_test_corrupt(CHUNK);
    assert_int_equal(xfer(c, &sp2, &h, NULL), FAR_OK);
    assert_int_equal(sp2.checksum_errors, 1);
    assert_int_equal(far__bulk_server_checksum_errors(bsrv), before + 1);
    check_file(dst, n);
    no_leftovers();
    far__bulk_test_corrupt(UINT64_MAX);
    far_client_destroy(c);
    clean_dir();
}

/* ------------------------------------------------------------ resumption */

/* Checks a memory sink after a cut fetch: what it has in order is right,
 * and past it each chunk is all there (it verified) or all zeros (it was
 * wiped, or never came) -- never part of a chunk, as a chunk cut while it
 * was received straight into the sink would leave. */
static void check_cut_sink(const uint8_t *a, const uint8_t *b, uint64_t n, uint64_t done)
{
    assert_memory_equal(a, b, done);
    for (uint64_t off = done; off < n; off += CHUNK) {
        uint64_t len = n - off < CHUNK ? n - off : CHUNK;
        bool all = memcmp(a + off, b + off, len) == 0, none = true;
        for (uint64_t k = 0; none && k < len; k++)
            none = b[off + k] == 0;
        if (!all && !none)
            fail_msg("the chunk at %llu of a cut transfer is there in part",
                     (unsigned long long)off);
    }
}

/* Cuts this process's client connections to the test server (a
 * connection lost mid-transfer), from the client's side. */
static void cut_client_connections(void)
{
    for (int fd = 3; fd < 1024; fd++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
            continue;
        if ((ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&ss)->sin_port) == port4) ||
            (ss.ss_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) + 1))
            shutdown(fd, SHUT_RDWR);
    }
}

static void resume_case(bool fetch)
{
    uint64_t n = 64 * CHUNK + 123;
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    write_file(src, n);
    far_client *c = open_client(addr4);
    if (fetch)
        set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_PATH, .path = src});
    else
        set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = dst});
    atomic_store(&g_cut_at, n / 2);
    far_bulk_spec sp = {.kind = FAR_BULK_PATH, .path = fetch ? dst : src};
    uint32_t h;
    far_err rc = xfer(c, &sp, &h, NULL);
    assert_int_equal(atomic_load(&g_cut_at), UINT64_MAX); /* it was cut */
    assert_int_not_equal(rc, FAR_OK);
    assert_int_not_equal(sp.err, FAR_OK);
    uint64_t had = sp.done;
    print_message("  cut after %llu of %llu bytes (%s)\n", (unsigned long long)had,
                  (unsigned long long)n, far_strerror(rc));
    assert_true(had >= n / 2 - 9 * CHUNK && had < n);
    assert_int_equal(access(dst, F_OK), -1); /* never a partial file under its name */
    /* the next attempt: only the rest, and at most one window again */
    rc = xfer(c, &sp, &h, NULL);
    assert_int_equal(rc, FAR_OK);
    assert_int_equal(h, FAR_OK);
    print_message("  resumed: sent %llu bytes (the rest: %llu)\n",
                  (unsigned long long)sp.sent_bytes, (unsigned long long)(n - had));
    assert_true(sp.sent_bytes <= n - had + 8ull * CHUNK);
    assert_true(sp.sent_bytes >= n - had - 8ull * CHUNK);
    check_file(dst, n);
    no_leftovers();
    far_client_destroy(c);
    clean_dir();
}

static void test_resume_fetch(void **state)
{
    (void)state;
    resume_case(true);
}

/* ------------------------------------------------------- small calls meanwhile */

/* Small calls on the transfer's own client, from a thread of their own,
 * back to back until told to stop (bounded in count and time). */
typedef struct chatter {
    far_client *c;
    pthread_t th;
    atomic_bool stop;
    atomic_uint ok, failed;
} chatter;

static void *chatter_main(void *arg)
{
    chatter *ch = arg;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < 5000000 && !atomic_load(&ch->stop); i++) {
        uint32_t a = i, r = 0;
        far_call_opts o = {.timeout_ms = 2000};
        if (far_client_call(ch->c, TPROG, 1, P_ECHO, u32_enc, &a, u32_dec, &r, NULL, &o) ==
                FAR_OK &&
            r == a)
            atomic_fetch_add(&ch->ok, 1);
        else
            atomic_fetch_add(&ch->failed, 1);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 60)
            break;
    }
    return NULL;
}

/* Starts the chatter and waits until its calls flow. */
static void chatter_start(chatter *ch, far_client *c)
{
    ch->c = c;
    atomic_store(&ch->stop, false);
    atomic_store(&ch->ok, 0);
    atomic_store(&ch->failed, 0);
    assert_int_equal(pthread_create(&ch->th, NULL, chatter_main, ch), 0);
    for (int i = 0; i < 2000 && atomic_load(&ch->ok) < 20; i++)
        usleep(1000);
    assert_true(atomic_load(&ch->ok) >= 20);
}

static void chatter_stop(chatter *ch)
{
    atomic_store(&ch->stop, true);
    pthread_join(ch->th, NULL);
}

/* A transfer yields to the small calls of its client: while they come, its
 * chunks move in pieces, one at a time (bulk/client.c), both ways, to memory
 * and to files; every byte and the whole checksum right; and once the small
 * calls stop, whole chunks again. */
static void test_yield_to_small_calls(void **state)
{
    (void)state;
    far_client *c = open_client(addr4);
    const uint64_t ns[] = {1, 3 * CHUNK + 17, 12 * CHUNK + 5};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        uint64_t n = ns[i];
        chatter ch;
        chatter_start(&ch, c);
        uint64_t p0 = far__bulk_test_pieces();
        memory_on(c, n);     /* a fetch and a store, memory to memory */
        fetch_file_on(c, n); /* and files both ways */
        store_file_on(c, n);
        uint64_t pieces = far__bulk_test_pieces() - p0;
        unsigned during = atomic_load(&ch.ok);
        chatter_stop(&ch);
        print_message("  %llu bytes: %llu pieces, %u small calls meanwhile, %u failed\n",
                      (unsigned long long)n, (unsigned long long)pieces, during,
                      atomic_load(&ch.failed));
        assert_int_equal(atomic_load(&ch.failed), 0);
        /* four transfers of n bytes, each in pieces of at most 8 KiB (at
         * least half of them, for a start before the small calls counted) */
        if (n > 1)
            assert_true(pieces >= 4 * ((n + (8u << 10) - 1) / (8u << 10)) / 2);
        else
            assert_true(pieces >= 1);
    }
    /* no small calls (and the last one long enough ago): whole chunks */
    usleep(100 * 1000);
    uint64_t p0 = far__bulk_test_pieces();
    memory_on(c, 12 * CHUNK + 5);
    assert_int_equal(far__bulk_test_pieces() - p0, 0);
    far_client_destroy(c);
}

/* A fetch cut while it yields resumes right: its pieces' chunk is had
 * again from its start, and the whole checksum still matches. */
static void test_yield_resume(void **state)
{
    (void)state;
    uint64_t n = 24 * CHUNK + 123;
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    write_file(src, n);
    far_client *c = open_client(addr4);
    for (int fetch = 1; fetch >= 0; fetch--) {
        chatter ch;
        chatter_start(&ch, c);
        uint64_t p0 = far__bulk_test_pieces();
        if (fetch)
            set_desc(
                (far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_PATH, .path = src});
        else
            set_desc(
                (far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = dst});
        atomic_store(&g_cut_at, n / 2 + 5000); /* (inside a chunk) */
        far_bulk_spec sp = {.kind = FAR_BULK_PATH, .path = fetch ? dst : src};
        uint32_t h;
        far_err rc = xfer(c, &sp, &h, NULL);
        assert_int_equal(atomic_load(&g_cut_at), UINT64_MAX); /* it was cut */
        assert_int_not_equal(rc, FAR_OK);
        assert_int_equal(access(dst, F_OK), -1);
        uint64_t had = sp.done;
        rc = xfer(c, &sp, &h, NULL);
        uint64_t pieces = far__bulk_test_pieces() - p0;
        chatter_stop(&ch);
        print_message("  %s: cut after %llu of %llu bytes, resumed: %s; %llu pieces\n",
                      fetch ? "fetch" : "store", (unsigned long long)had, (unsigned long long)n,
                      far_strerror(rc), (unsigned long long)pieces);
        assert_int_equal(rc, FAR_OK);
        assert_int_equal(h, FAR_OK);
        assert_true(pieces > 0);
        check_file(dst, n);
        unlink(dst);
        no_leftovers();
    }
    far_client_destroy(c);
    clean_dir();
}

/* A memory fetch received straight into its sink, cut in the middle: what
 * it has in order is right, past it only chunks that verified (a chunk cut
 * while it came straight in is wiped), and the next attempt resumes it. */
static void test_resume_fetch_memory(void **state)
{
    (void)state;
    uint64_t n = 64 * CHUNK + 123;
    uint8_t *a = malloc(n), *b = calloc(1, n);
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t k = 0; k < n; k++)
        a[k] = pattern(k);
    far_client *c = open_client(addr4);
    set_desc((far_bulk_desc){
        .dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = a, .len = n, .etag = 9});
    atomic_store(&g_cut_at, n / 2);
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = n};
    uint32_t h;
    uint64_t before = far__client_direct_bytes();
    far_err rc = xfer(c, &sp, &h, NULL);
    assert_int_equal(atomic_load(&g_cut_at), UINT64_MAX); /* it was cut */
    assert_int_not_equal(rc, FAR_OK);
    uint64_t had = sp.done;
    print_message("  cut after %llu of %llu bytes (%s)\n", (unsigned long long)had,
                  (unsigned long long)n, far_strerror(rc));
    assert_true(had >= n / 2 - 9 * CHUNK && had < n);
    check_cut_sink(a, b, n, had);
    rc = xfer(c, &sp, &h, NULL);
    assert_int_equal(rc, FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_true(sp.sent_bytes <= n - had + 8ull * CHUNK);
    assert_memory_equal(a, b, n);
    uint64_t got = far__client_direct_bytes() - before;
    print_message("  %llu bytes straight into the sink\n", (unsigned long long)got);
    assert_true(got >= direct_min(n) - 8ull * CHUNK);
    far_client_destroy(c);
    free(a);
    free(b);
}

static void test_resume_store(void **state)
{
    (void)state;
    resume_case(false);
}

/* --------------------------------------------------------------- bounds */

static void test_limits(void **state)
{
    (void)state;
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    write_file(src, 3 * CHUNK);
    far_client *c = open_client(addr4);
    uint32_t h;
    /* the server takes at most 2 chunks */
    set_desc((far_bulk_desc){
        .dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = dst, .max_bytes = 2 * CHUNK});
    far_bulk_spec sp = {.kind = FAR_BULK_PATH, .path = src};
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_ELIMIT);
    assert_int_equal(access(dst, F_OK), -1);
    /* the client takes at most 2 chunks */
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_PATH, .path = src});
    far_bulk_spec sp2 = {.kind = FAR_BULK_PATH, .path = dst, .max_bytes = 2 * CHUNK};
    assert_int_equal(xfer(c, &sp2, &h, NULL), FAR_ELIMIT);
    assert_int_equal(access(dst, F_OK), -1);
    /* a memory sink too small */
    uint8_t small[100];
    far_bulk_spec sp3 = {.kind = FAR_BULK_MEM, .mem = small, .len = sizeof small};
    assert_int_equal(xfer(c, &sp3, &h, NULL), FAR_ELIMIT);
    /* the calls go on working */
    uint32_t a = 7, r = 0;
    assert_int_equal(far_client_call(c, TPROG, 1, P_ECHO, u32_enc, &a, u32_dec, &r, NULL, NULL),
                     FAR_OK);
    assert_int_equal(r, 7);
    no_leftovers();
    far_client_destroy(c);
    clean_dir();
}

/* A second server with its own far_server and bulk server options, started
 * on 127.0.0.1; the test program's handlers use bsrv, so it is swapped for
 * the second's until second_stop. */
typedef struct second {
    far_server *s;
    far_bulk_server *b, *keep;
    char bound[128];
} second;
/* The one running, for second_teardown (a copy: a failed test's frame is gone). */
static second g_second;
static bool g_second_on;

#define SEC_ID "bulk-test"
static const uint8_t sec_key[FAR_KEY_BYTES] = {
    0x6b, 0x1f, 0x93, 0x0e, 0x52, 0xa8, 0x3d, 0xc4, 0x07, 0xe9, 0x71, 0x2a, 0xbd, 0x58, 0x16, 0xf0,
    0x8c, 0x34, 0xd2, 0x65, 0x9a, 0x0b, 0xe7, 0x4f, 0x21, 0xc6, 0x7d, 0x38, 0xaf, 0x50, 0x13, 0x99};

/* The key of the one identity a protected test server knows. */
static bool sec_lookup(const char *id, size_t len, uint8_t key[FAR_KEY_BYTES], void *user)
{
    (void)user;
    if (len != strlen(SEC_ID) || memcmp(id, SEC_ID, len) != 0)
        return false;
    memcpy(key, sec_key, FAR_KEY_BYTES);
    return true;
}

/* A second server that requires level `call` of the test program and
 * `bulk` of FAR_BULK (whose calls are the chunks), keys by sec_lookup. */
static void second_start_at(second *x, const far_server_opts *so, const far_bulk_server_opts *bo,
                            far_security call, far_security bulk)
{
    assert_int_equal(far_server_create(&x->s, so), FAR_OK);
    if (call != FAR_SEC_NONE || bulk != FAR_SEC_NONE) {
        assert_int_equal(far_server_set_key_lookup(x->s, sec_lookup, NULL), FAR_OK);
        assert_int_equal(far_server_set_min_security(x->s, TPROG, 0, -1, call), FAR_OK);
        assert_int_equal(far_server_set_min_security(x->s, FAR_BULK_PROG, 0, -1, bulk), FAR_OK);
    }
    assert_int_equal(far_server_add_program(x->s, &tprog, NULL), FAR_OK);
    assert_int_equal(far_bulk_server_create(&x->b, x->s, bo), FAR_OK);
    assert_int_equal(far_server_listen(x->s, "tcp://127.0.0.1:0", x->bound, sizeof x->bound),
                     FAR_OK);
    x->keep = bsrv;
    bsrv = x->b;
    g_second = *x;
    g_second_on = true;
    assert_int_equal(far_server_start(x->s), FAR_OK);
}

static void second_start(second *x, const far_server_opts *so, const far_bulk_server_opts *bo)
{
    second_start_at(x, so, bo, FAR_SEC_NONE, FAR_SEC_NONE);
}

static void second_stop(second *x)
{
    g_second_on = false;
    far_server_destroy(x->s);
    far_bulk_server_destroy(x->b);
    bsrv = x->keep;
}

static void relay_teardown(void);

/* A test that failed with a second server (or a relay) running: stopped here. */
static int second_teardown(void **state)
{
    (void)state;
    relay_teardown();
    far__bulk_test_corrupt(UINT64_MAX);
    if (g_second_on)
        second_stop(&g_second);
    clean_dir();
    return 0;
}

/* The disk budget of a second bulk server (its own far_server). */
static void test_disk_budget(void **state)
{
    (void)state;
    second x;
    second_start(&x, &(far_server_opts){.workers = 2},
                 &(far_bulk_server_opts){.disk_budget = CHUNK + 10});
    const char *bound = x.bound;
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    write_file(src, 2 * CHUNK);
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = dst});
    far_client *c = open_client(bound);
    far_bulk_spec sp = {.kind = FAR_BULK_PATH, .path = src};
    uint32_t h;
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_ELIMIT);
    assert_int_equal(access(dst, F_OK), -1);
    far_client_destroy(c);
    second_stop(&x);
    no_leftovers();
    clean_dir();
}

static void parent_done_cb(const far_status *st, void *res, void *user)
{
    (void)res;
    assert_int_equal(st->err, FAR_OK);
    atomic_store((atomic_int *)user, 1);
}

/* A client that OPENs and then sends nothing: the handler gives up after the
 * server's stall_ms (the second server's: 300 ms). */
static void test_stalled_sender(void **state)
{
    (void)state;
    second x;
    second_start(&x, &(far_server_opts){.workers = 2}, &(far_bulk_server_opts){.stall_ms = 300});
    const char *bound = x.bound;
    uint8_t room[64];
    set_desc((far_bulk_desc){
        .dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_MEM, .mem = room, .len = sizeof room});
    far_client *c = open_client(bound);
    /* by hand: the call, then OPEN on its connection, then nothing */
    uint32_t arg = 0, res = 0;
    uint64_t id = 0;
    far_call_opts po = {.call_id = &id};
    atomic_store(&g_rc, -1);
    atomic_int got = 0;
    assert_int_equal(far_client_call_async(c, TPROG, 1, P_XFER, u32_enc, &arg, u32_dec, &res, NULL,
                                           &po, parent_done_cb, &got),
                     FAR_OK);
    far_bulk_open_args oa = {.xid = (uint32_t)id};
    far_bulk_open_res ores = {0};
    assert_int_equal(far_client_call(c, FAR_BULK_PROG, FAR_BULK_V1, FAR_BULK_OPEN,
                                     far_bulk_open_args_encode_any, &oa,
                                     far_bulk_open_res_decode_any, &ores, NULL, NULL),
                     FAR_OK);
    assert_int_equal(ores.stat, FAR_BULK_OK);
    assert_int_equal(ores.dir, FAR_BULK_STORE);
    assert_int_equal(ores.size, sizeof room);
    for (int i = 0; i < 1000 && !atomic_load(&got); i++)
        usleep(10000);
    assert_int_equal(atomic_load(&got), 1);
    assert_int_equal(res, FAR_ETIMEDOUT);
    /* a PUSH now is refused */
    far_bulk_push_args pa = {.token = ores.token, .offset = 0, .xxh3 = 0, .data = {1, room}};
    far_bulk_push_res pr = {0};
    assert_int_equal(far_client_call(c, FAR_BULK_PROG, FAR_BULK_V1, FAR_BULK_PUSH,
                                     far_bulk_push_args_encode_any, &pa,
                                     far_bulk_push_res_decode_any, &pr, NULL, NULL),
                     FAR_OK);
    assert_int_equal(pr.stat, FAR_BULK_NOENT);
    /* An OPEN naming a call that is not in flight on its connection is
     * answered at once (before, it waited out stall_ms in a handler:
     * TIMEDOUT), so OPENs cannot hold the server's threads. */
    oa.xid = (uint32_t)id + 12345;
    assert_int_equal(far_client_call(c, FAR_BULK_PROG, FAR_BULK_V1, FAR_BULK_OPEN,
                                     far_bulk_open_args_encode_any, &oa,
                                     far_bulk_open_res_decode_any, &ores, NULL, NULL),
                     FAR_OK);
    assert_int_equal(ores.stat, FAR_BULK_NOENT);
    far_client_destroy(c);
    second_stop(&x);
}

/* More transfers at once than the server has handlers.  A transfer's
 * handler waits in far_bulk_wait for its chunk calls, which need handler
 * slots and threads too: handlers waiting so must not hold them all (they
 * give their slot back while they wait), and past max_workers transfers at
 * once far_bulk_start refuses at once (FAR_ELIMIT) instead of letting the
 * calls stall.  Before, with max_workers 2 and six clients, five calls
 * failed after the stall timeout and the sixth took as long. */
enum { MANY = 6, MANY_BYTES = 3 * CHUNK + 5 };
typedef struct many_arg {
    const char *addr;
    far_err rc;
    uint32_t hrc;
    bool same;
    double secs;
} many_arg;

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint8_t many_src[MANY_BYTES];

static void *many_thread(void *v)
{
    many_arg *a = v;
    far_client *c = NULL;
    far_client_opts o = {.timeout_ms = 20000};
    if (far_client_open(&c, a->addr, &o) != FAR_OK) {
        a->rc = FAR_EIO;
        return NULL;
    }
    uint8_t *dst = calloc(1, MANY_BYTES);
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = dst, .len = MANY_BYTES};
    uint32_t arg = 0, res = 0xffffffffu;
    far_call_opts co = {.bulk = &sp};
    double t0 = mono_s();
    a->rc = far_client_call(c, TPROG, 1, P_XFER, u32_enc, &arg, u32_dec, &res, NULL, &co);
    a->secs = mono_s() - t0;
    a->hrc = res;
    a->same = dst && memcmp(dst, many_src, MANY_BYTES) == 0;
    free(dst);
    far_client_destroy(c);
    return NULL;
}

static void test_more_transfers_than_handlers(void **state)
{
    (void)state;
    for (size_t i = 0; i < MANY_BYTES; i++)
        many_src[i] = pattern(i);
    second x;
    /* (a stall would be seen within the test's bounds) */
    second_start(&x, &(far_server_opts){.workers = 1, .max_workers = 2},
                 &(far_bulk_server_opts){.stall_ms = 3000});
    const char *bound = x.bound;
    set_desc((far_bulk_desc){
        .dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = many_src, .len = MANY_BYTES});
    many_arg a[MANY];
    pthread_t th[MANY];
    for (int i = 0; i < MANY; i++) {
        a[i] = (many_arg){.addr = bound, .rc = FAR_EIO};
        assert_int_equal(pthread_create(&th[i], NULL, many_thread, &a[i]), 0);
    }
    int done = 0, refused = 0;
    for (int i = 0; i < MANY; i++) {
        pthread_join(th[i], NULL);
        print_message("  client %d: %s, handler %u, %.3f s\n", i, far_strerror(a[i].rc), a[i].hrc,
                      a[i].secs);
        assert_int_equal(a[i].rc, FAR_OK);
        /* no call waits out the stall timeout */
        assert_true(a[i].secs < 2.5);
        if (a[i].hrc == FAR_OK) {
            assert_true(a[i].same);
            done++;
        } else {
            assert_int_equal(a[i].hrc, FAR_ELIMIT);
            refused++;
        }
    }
    /* as many at once as max_workers: at least that many went through */
    assert_true(done >= 2);
    assert_int_equal(done + refused, MANY);
    second_stop(&x);
}

/* A transfer whose call is cancelled ends: both sides see FAR_ECANCELED. */
static far_client *g_cancel_client;
static uint64_t g_cancel_id;
static void cancel_progress(uint64_t done, uint64_t total, void *user)
{
    (void)total;
    bool *once = user;
    if (!*once && done > 0) {
        *once = true;
        assert_int_equal(far_client_cancel(g_cancel_client, g_cancel_id), FAR_OK);
    }
}

static void test_cancel(void **state)
{
    (void)state;
    uint64_t n = 64 * CHUNK;
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    write_file(src, n);
    g_cancel_client = open_client(addr4);
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = dst});
    bool once = false;
    far_bulk_spec sp = {
        .kind = FAR_BULK_PATH, .path = src, .on_progress = cancel_progress, .user = &once};
    uint32_t h;
    assert_int_equal(xfer(g_cancel_client, &sp, &h, &g_cancel_id), FAR_ECANCELED);
    /* the handler saw it (it returns soon after) */
    for (int i = 0; i < 500 && atomic_load(&g_rc) == -1; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&g_rc), FAR_ECANCELED);
    assert_int_equal(access(dst, F_OK), -1);
    far_client_destroy(g_cancel_client);
    clean_dir();
}

/* A handler that starts no transfer (it refused, say): the call completes
 * as it is, and the spec says nothing moved. */
static void test_no_transfer(void **state)
{
    (void)state;
    far_client *c = open_client(addr4);
    uint8_t b[8];
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = sizeof b};
    uint32_t a = 5, r = 0;
    far_status st;
    far_call_opts o = {.bulk = &sp, .status = &st};
    far_err rc = far_client_call(c, TPROG, 1, P_NOSTART, u32_enc, &a, u32_dec, &r, NULL, &o);
    assert_int_equal(rc, FAR_OK); /* the call's own outcome */
    assert_int_equal(r, 5);
    assert_int_equal(sp.err, FAR_ECANCELED); /* and no transfer */
    assert_int_equal(sp.size, 0);
    far_client_destroy(c);
}

/* From an async callback (the I/O thread its chunks would complete on) a
 * call with a bulk transfer is refused, not a deadlock. */
static atomic_int g_cb_rc = -1;
static far_client *g_cb_client;
static void bulk_from_cb(const far_status *st, void *res, void *user)
{
    (void)st;
    (void)res;
    (void)user;
    uint8_t b[8];
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = sizeof b};
    uint32_t a = 0, r = 0;
    far_call_opts o = {.bulk = &sp};
    atomic_store(&g_cb_rc, (int)far_client_call(g_cb_client, TPROG, 1, P_XFER, u32_enc, &a, u32_dec,
                                                &r, NULL, &o));
}

static void test_from_callback(void **state)
{
    (void)state;
    g_cb_client = open_client(addr4);
    uint32_t a = 1, r = 0;
    assert_int_equal(far_client_call_async(g_cb_client, TPROG, 1, P_ECHO, u32_enc, &a, u32_dec, &r,
                                           NULL, NULL, bulk_from_cb, NULL),
                     FAR_OK);
    for (int i = 0; i < 500 && atomic_load(&g_cb_rc) == -1; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&g_cb_rc), FAR_EMISUSE);
    /* and an async call with one, likewise */
    uint8_t b[8];
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = sizeof b};
    far_call_opts o = {.bulk = &sp};
    assert_int_equal(far_client_call_async(g_cb_client, TPROG, 1, P_XFER, u32_enc, &a, u32_dec, &r,
                                           NULL, &o, bulk_from_cb, NULL),
                     FAR_EMISUSE);
    far_client_destroy(g_cb_client);
}

/* ------------------------------------------------------- security levels */

/* A transfer runs at its connection's level: its chunks are calls of that
 * connection (docs/bulk.md).  Each level's server requires the level of the
 * test program and of FAR_BULK, so a chunk sent below it would be refused
 * (AUTH_TOOWEAK), and the handler checks the call's level. */

#define SEAL (65504u) /* the privacy level's AEAD chunk (src/msg/sec.c) */

static const uint64_t sec_sizes[] = {
    0, 1, SEAL - 1, SEAL, SEAL + 1, CHUNK - 1, CHUNK + 1, (3ull << 20) + 17,
};

static far_client *open_client_at(const char *addr, far_security level)
{
    far_client *c = NULL;
    far_client_opts o = {.timeout_ms = 20000, .security = level};
    if (level != FAR_SEC_NONE) {
        o.identity = SEC_ID;
        o.key = sec_key;
    }
    assert_int_equal(far_client_open(&c, addr, &o), FAR_OK);
    return c;
}

static void sizes_at(far_security level)
{
    second x;
    second_start_at(&x, &(far_server_opts){.workers = 2}, &(far_bulk_server_opts){.stall_ms = 5000},
                    level, level);
    far_client *c = open_client_at(x.bound, level);
    for (size_t i = 0; i < sizeof sec_sizes / sizeof sec_sizes[0]; i++) {
        uint64_t n = sec_sizes[i];
        atomic_store(&g_level, -1);
        fetch_file_on(c, n);
        assert_int_equal(atomic_load(&g_level), level);
        atomic_store(&g_level, -1);
        store_file_on(c, n);
        assert_int_equal(atomic_load(&g_level), level);
        atomic_store(&g_level, -1);
        memory_on(c, n);
        assert_int_equal(atomic_load(&g_level), level);
        fetch_memory_on(c, n, level < FAR_SEC_INTEG);
    }
    far_client_destroy(c);
    second_stop(&x);
}

static void test_level_auth_sizes(void **state)
{
    (void)state;
    sizes_at(FAR_SEC_AUTH);
}

static void test_level_integ_sizes(void **state)
{
    (void)state;
    sizes_at(FAR_SEC_INTEG);
}

static void test_level_priv_sizes(void **state)
{
    (void)state;
    sizes_at(FAR_SEC_PRIV);
}

/* A TCP relay on 127.0.0.1 between the client and a server that flips one
 * byte in flight: in the middle of the nth record fragment of 64 KiB or
 * more going one way (to_client: the PULL replies; else the PUSH calls),
 * once.  The byte is past the call's header, in its sealed body. */
typedef struct relay {
    int ls, to_port;
    bool to_client;
    unsigned nth;
    bool cut; /* cut the connection in the middle of that record instead */
    char addr[64];
    atomic_int flipped;
    atomic_bool stop;
    pthread_t th;
} relay;

static relay g_relay;   /* the one relay (its thread uses it: not on a test's stack) */
static bool g_relay_on; /* running, for second_teardown */

typedef struct relay_way {
    uint8_t mark[4];
    unsigned nmark;
    uint32_t len, pos; /* the fragment being forwarded: its length, bytes gone */
    unsigned big;      /* fragments of 64 KiB or more seen */
    bool armed;
    uint32_t flip_at;
} relay_way;

/* Returns how many of the n bytes to forward: all, or with r->cut up to the
 * middle of the record chosen (the connection is then closed). */
static size_t relay_scan(relay *r, relay_way *w, uint8_t *b, size_t n, bool flip_way)
{
    for (size_t i = 0; i < n;) {
        if (w->pos == w->len) { /* a record mark (RFC 5531 §11) */
            w->mark[w->nmark++] = b[i++];
            if (w->nmark == 4) {
                w->len = ((uint32_t)w->mark[0] << 24 | (uint32_t)w->mark[1] << 16 |
                          (uint32_t)w->mark[2] << 8 | w->mark[3]) &
                         0x7fffffffu;
                w->pos = 0;
                w->nmark = 0;
                if (flip_way && w->len >= 65536 && ++w->big == r->nth &&
                    !atomic_load(&r->flipped)) {
                    w->armed = true;
                    w->flip_at = w->len / 2;
                }
            }
            continue;
        }
        size_t t = n - i < w->len - w->pos ? n - i : w->len - w->pos;
        if (w->armed && w->flip_at >= w->pos && w->flip_at < w->pos + t) {
            w->armed = false;
            atomic_store(&r->flipped, 1);
            if (r->cut)
                return i + (w->flip_at - w->pos);
            b[i + (w->flip_at - w->pos)] ^= 0x01;
        }
        w->pos += (uint32_t)t;
        i += t;
    }
    return n;
}

static bool write_all_fd(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* One connection at a time, until stopped. */
static void *relay_main(void *v)
{
    relay *r = v;
    uint8_t *buf = malloc(65536);
    assert_non_null(buf);
    while (!atomic_load(&r->stop)) {
        struct pollfd pl = {.fd = r->ls, .events = POLLIN};
        if (poll(&pl, 1, 50) <= 0)
            continue;
        int a = accept(r->ls, NULL, NULL);
        if (a < 0)
            continue;
        int b = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->to_port)};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (b < 0 || connect(b, (struct sockaddr *)&sin, sizeof sin) != 0) {
            close(a);
            if (b >= 0)
                close(b);
            continue;
        }
        relay_way w[2] = {{{0}}}; /* 0: client to server, 1: server to client */
        bool end = false;
        while (!end && !atomic_load(&r->stop)) {
            struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
            int k = poll(p, 2, 50);
            if (k < 0)
                break;
            for (int j = 0; k > 0 && j < 2 && !end; j++) {
                if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t got = read(p[j].fd, buf, 65536);
                if (got <= 0) {
                    end = true;
                    break;
                }
                size_t fw = relay_scan(r, &w[j], buf, (size_t)got, (j == 1) == r->to_client);
                end = !write_all_fd(p[1 - j].fd, buf, fw) || fw < (size_t)got;
            }
        }
        close(a);
        close(b);
    }
    free(buf);
    return NULL;
}

static relay *relay_start(const char *to, bool to_client, unsigned nth)
{
    relay *r = &g_relay;
    assert_false(g_relay_on);
    memset(r, 0, sizeof *r);
    r->to_port = atoi(strrchr(to, ':') + 1);
    r->to_client = to_client;
    r->nth = nth;
    r->ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->ls >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    assert_int_equal(bind(r->ls, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(r->ls, 4), 0);
    assert_int_equal(getsockname(r->ls, (struct sockaddr *)&sin, &sl), 0);
    snprintf(r->addr, sizeof r->addr, "tcp://127.0.0.1:%d", ntohs(sin.sin_port));
    assert_int_equal(pthread_create(&r->th, NULL, relay_main, r), 0);
    g_relay_on = true;
    return r;
}

static void relay_stop(relay *r)
{
    g_relay_on = false;
    atomic_store(&r->stop, true);
    pthread_join(r->th, NULL);
    close(r->ls);
}

static void relay_teardown(void)
{
    if (g_relay_on)
        relay_stop(&g_relay);
}

/* One transfer through a relay that damages its second chunk in flight.
 * Without protection of the bodies (AUTH) the chunk checksum sees it and
 * the chunk is asked for or sent again; at INTEG and PRIV the AEAD refuses
 * the message and the transfer fails with the call's error -- never with
 * wrong bytes delivered as complete; what it has in order is right, and the
 * next attempt (resuming) completes it with every byte right. */
static void corrupt_case(const char *bound, far_security level, bool fetch, bool mem)
{
    uint64_t n = 4 * CHUNK + 3;
    char src[256], dst[256];
    path_in(src, sizeof src, "src");
    path_in(dst, sizeof dst, "dst");
    uint8_t *a = malloc(n), *b = calloc(1, n);
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t k = 0; k < n; k++)
        a[k] = pattern(k);
    relay *r = relay_start(bound, fetch, 2);
    far_client *c = open_client_at(r->addr, level);
    far_bulk_spec sp = {.kind = mem ? FAR_BULK_MEM : FAR_BULK_PATH};
    if (fetch) {
        if (mem)
            set_desc((far_bulk_desc){
                .dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = a, .len = n, .etag = 7});
        else
            set_desc(
                (far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_PATH, .path = src});
        sp.mem = b, sp.len = n, sp.path = dst;
    } else {
        if (mem)
            set_desc((far_bulk_desc){
                .dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_MEM, .mem = b, .len = n});
        else
            set_desc(
                (far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = dst});
        sp.mem = a, sp.len = n, sp.path = src;
    }
    if (!mem || !fetch)
        write_file(src, n);
    uint32_t h = 0;
    atomic_store(&g_level, -1);
    far_err rc = xfer(c, &sp, &h, NULL);
    print_message("  %s %s %s: %s, %u checksum errors, %llu bytes in order\n",
                  far_security_name(level), fetch ? "fetch" : "store", mem ? "memory" : "file",
                  far_strerror(rc), sp.checksum_errors, (unsigned long long)sp.done);
    assert_int_equal(atomic_load(&r->flipped), 1); /* it was damaged */
    assert_int_equal(atomic_load(&g_level), level);
    if (level < FAR_SEC_INTEG) {
        /* the body is not protected: the chunk checksum catches it */
        assert_int_equal(rc, FAR_OK);
        assert_int_equal(h, FAR_OK);
        assert_int_equal(sp.checksum_errors, 1);
    } else {
        /* the AEAD refuses it: the reply's results do not open (a fetch),
         * the server cannot decode the call's arguments (a store) */
        assert_int_equal(rc, fetch ? FAR_EAUTH : FAR_EGARBAGE_ARGS);
        assert_int_equal(sp.err, rc);
        assert_int_equal(sp.checksum_errors, 0);
        assert_true(sp.done < n);
        if (!mem)
            assert_int_equal(access(dst, F_OK), -1); /* never a partial file under its name */
        if (fetch && mem) {
            assert_memory_equal(a, b, sp.done); /* what it has in order is right */
            /* and past it, the bytes of chunks that verified or nothing: the
             * chunk refused left nothing of itself in the sink */
            for (uint64_t k = sp.done; k < n; k++)
                if (b[k] != 0 && b[k] != a[k])
                    fail_msg("byte %llu of a refused transfer is wrong", (unsigned long long)k);
        }
        /* the next attempt goes on from there and completes it */
        rc = xfer(c, &sp, &h, NULL);
        assert_int_equal(rc, FAR_OK);
        assert_int_equal(h, FAR_OK);
    }
    if (fetch && !mem)
        check_file(dst, n);
    else if (!fetch && !mem)
        check_file(dst, n);
    else
        assert_memory_equal(a, b, n);
    /* (a store cut with nothing in order is not resumed: its partial file
     * stays parked on the server until it expires or the server ends --
     * corrupt_at looks after second_stop) */
    if (fetch)
        no_leftovers();
    far_client_destroy(c);
    relay_stop(r);
    unlink(src);
    unlink(dst);
    free(a);
    free(b);
}

static void corrupt_at(far_security level)
{
    second x;
    second_start_at(&x, &(far_server_opts){.workers = 2}, &(far_bulk_server_opts){.stall_ms = 5000},
                    level, level);
    for (int fetch = 1; fetch >= 0; fetch--)
        for (int mem = 0; mem < 2; mem++)
            corrupt_case(x.bound, level, fetch, mem);
    /* damaged before it was sealed (the test knob: after its checksum was
     * taken): the AEAD passes it, the chunk checksum sees it, and the chunk
     * is asked for or sent again */
    uint64_t n = 4 * CHUNK + 3;
    uint8_t *a = malloc(n), *b = calloc(1, n);
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t k = 0; k < n; k++)
        a[k] = pattern(k);
    far_client *c = open_client_at(x.bound, level);
    uint32_t h;
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = a, .len = n});
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = n};
    far__bulk_test_corrupt(2 * CHUNK);
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp.checksum_errors, 1);
    assert_memory_equal(a, b, n);
    memset(b, 0, n);
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_MEM, .mem = b, .len = n});
    far_bulk_spec sp2 = {.kind = FAR_BULK_MEM, .mem = a, .len = n};
    far__bulk_test_corrupt(CHUNK);
    assert_int_equal(xfer(c, &sp2, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp2.checksum_errors, 1);
    assert_memory_equal(a, b, n);
    far__bulk_test_corrupt(UINT64_MAX);
    far_client_destroy(c);
    free(a);
    free(b);
    second_stop(&x);
    no_leftovers(); /* the server removed what it kept for resuming */
}

static void test_level_auth_corrupt(void **state)
{
    (void)state;
    corrupt_at(FAR_SEC_AUTH);
}

static void test_level_integ_corrupt(void **state)
{
    (void)state;
    corrupt_at(FAR_SEC_INTEG);
}

static void test_level_priv_corrupt(void **state)
{
    (void)state;
    corrupt_at(FAR_SEC_PRIV);
}

/* A server that requires the privacy level of FAR_BULK (and nothing of the
 * test program): a client below it gets its call through to the handler,
 * whose transfer cannot run -- OPEN is refused (AUTH_TOOWEAK) and the call
 * fails with FAR_EAUTH saying so, nothing moved; a client at PRIV moves. */
static void test_level_refused(void **state)
{
    (void)state;
    second x;
    second_start_at(&x, &(far_server_opts){.workers = 2}, &(far_bulk_server_opts){.stall_ms = 3000},
                    FAR_SEC_NONE, FAR_SEC_PRIV);
    uint8_t a[3000], b[sizeof a];
    for (size_t k = 0; k < sizeof a; k++)
        a[k] = pattern(k);
    set_desc((far_bulk_desc){
        .dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = a, .len = sizeof a});
    static const far_security below[] = {FAR_SEC_NONE, FAR_SEC_AUTH, FAR_SEC_INTEG};
    for (size_t i = 0; i < sizeof below / sizeof below[0]; i++) {
        far_client *c = open_client_at(x.bound, below[i]);
        memset(b, 0, sizeof b);
        far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = sizeof b};
        uint32_t arg = 0, res = 0xffffffffu;
        far_status st;
        far_call_opts o = {.bulk = &sp, .status = &st};
        atomic_store(&g_level, -1);
        atomic_store(&g_rc, -1);
        far_err rc = far_client_call(c, TPROG, 1, P_XFER, u32_enc, &arg, u32_dec, &res, NULL, &o);
        print_message("  %s: %s: %s\n", far_security_name(below[i]), far_strerror(rc), st.msg);
        assert_int_equal(rc, FAR_EAUTH);
        assert_int_equal(st.err, FAR_EAUTH);
        assert_int_equal(sp.err, FAR_EAUTH);
        assert_non_null(strstr(st.msg, "AUTH_TOOWEAK"));
        assert_int_equal(sp.done, 0);
        for (size_t k = 0; k < sizeof b; k++)
            assert_int_equal(b[k], 0);
        assert_int_equal(atomic_load(&g_level), below[i]); /* the call itself ran */
        /* its handler's transfer ended (cancelled by the client) */
        for (int t = 0; t < 500 && atomic_load(&g_rc) == -1; t++)
            usleep(10000);
        assert_int_not_equal(atomic_load(&g_rc), -1);
        assert_int_not_equal(atomic_load(&g_rc), FAR_OK);
        /* and the connection goes on working */
        uint32_t e = 9, er = 0;
        assert_int_equal(
            far_client_call(c, TPROG, 1, P_ECHO, u32_enc, &e, u32_dec, &er, NULL, NULL), FAR_OK);
        assert_int_equal(er, 9);
        far_client_destroy(c);
    }
    far_client *c = open_client_at(x.bound, FAR_SEC_PRIV);
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = sizeof b};
    uint32_t h;
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(atomic_load(&g_level), FAR_SEC_PRIV);
    far_client_destroy(c);
    second_stop(&x);
}

/* ---------------------------------------------------------------- setup */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/far-bulk-%d", (int)getpid());
    mkdir(dir, 0755);
    far_server_opts so = {.workers = 2};
    assert_int_equal(far_server_create(&srv, &so), FAR_OK);
    assert_int_equal(far_server_add_program(srv, &tprog, NULL), FAR_OK);
    assert_int_equal(far_bulk_server_create(&bsrv, srv, NULL), FAR_OK);
    assert_int_equal(far_server_listen(srv, "tcp://127.0.0.1:0", addr4, sizeof addr4), FAR_OK);
    assert_int_equal(far_server_listen(srv, "tcp://[::1]:0", addr6, sizeof addr6), FAR_OK);
    char u[128];
    snprintf(u, sizeof u, "unix:%s.sock", dir);
    assert_int_equal(far_server_listen(srv, u, addru, sizeof addru), FAR_OK);
    char udp[160];
    port4 = atoi(strrchr(addr4, ':') + 1);
    snprintf(udp, sizeof udp, "udp://127.0.0.1:%d", port4);
    assert_int_equal(far_server_listen(srv, udp, NULL, 0), FAR_OK);
    assert_int_equal(far_server_start(srv), FAR_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    far_server_destroy(srv);
    far_bulk_server_destroy(bsrv);
    clean_dir();
    rmdir(dir);
    return 0;
}

/* A chunk received straight into a memory sink (level none) and damaged:
 * the server's knob damages it after its checksum was taken, then a relay
 * flips a byte of it on the way.  Its XXH3, checked in the sink, sees it;
 * the range is wiped, the chunk asked for again, and every byte is right. */
static void test_direct_corrupt(void **state)
{
    (void)state;
    uint64_t n = 4 * CHUNK + 3;
    uint8_t *a = malloc(n), *b = calloc(1, n);
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t k = 0; k < n; k++)
        a[k] = pattern(k);
    far_client *c = open_client(addr4);
    uint32_t h;
    set_desc((far_bulk_desc){.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = a, .len = n});
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = n};
    uint64_t before = far__client_direct_bytes();
    far__bulk_test_corrupt(2 * CHUNK);
    assert_int_equal(xfer(c, &sp, &h, NULL), FAR_OK);
    far__bulk_test_corrupt(UINT64_MAX);
    uint64_t got = far__client_direct_bytes() - before;
    assert_int_equal(h, FAR_OK);
    assert_int_equal(sp.checksum_errors, 1);
    assert_memory_equal(a, b, n);
    /* (the damaged chunk came straight in too, and again) */
    assert_true(got >= direct_min(n) + CHUNK - 256 && got <= n + CHUNK);
    far_client_destroy(c);
    /* through a relay that flips a byte of the second chunk */
    second x;
    second_start_at(&x, &(far_server_opts){.workers = 2}, &(far_bulk_server_opts){.stall_ms = 5000},
                    FAR_SEC_NONE, FAR_SEC_NONE);
    before = far__client_direct_bytes();
    corrupt_case(x.bound, FAR_SEC_NONE, true, true);
    got = far__client_direct_bytes() - before;
    assert_true(got >= direct_min(n) + CHUNK - 256 && got <= n + CHUNK);
    second_stop(&x);
    free(a);
    free(b);
}

/* A relay cuts the connection in the middle of a chunk being received
 * straight into a memory sink (level none): the reader lets go of the sink
 * (far__direct_release), the part of the chunk that came is wiped, the
 * call fails with the connection, and the next attempt resumes it. */
static void test_direct_cut(void **state)
{
    (void)state;
    uint64_t n = 8 * CHUNK + 5;
    uint8_t *a = malloc(n), *b = calloc(1, n);
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t k = 0; k < n; k++)
        a[k] = (uint8_t)(pattern(k) | 1); /* (no zeros: a wiped byte shows) */
    second x;
    second_start_at(&x, &(far_server_opts){.workers = 2}, &(far_bulk_server_opts){.stall_ms = 5000},
                    FAR_SEC_NONE, FAR_SEC_NONE);
    relay *r = relay_start(x.bound, true, 3);
    r->cut = true;
    far_client *c = open_client_at(r->addr, FAR_SEC_NONE);
    set_desc((far_bulk_desc){
        .dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_MEM, .mem = a, .len = n, .etag = 11});
    far_bulk_spec sp = {.kind = FAR_BULK_MEM, .mem = b, .len = n};
    uint32_t h;
    uint64_t before = far__client_direct_bytes();
    far_err rc = xfer(c, &sp, &h, NULL);
    assert_int_equal(atomic_load(&r->flipped), 1); /* it was cut */
    assert_int_equal(rc, FAR_ECONNLOST);
    assert_true(sp.done < n);
    print_message("  cut: %llu bytes in order, %llu straight into the sink\n",
                  (unsigned long long)sp.done,
                  (unsigned long long)(far__client_direct_bytes() - before));
    check_cut_sink(a, b, n, sp.done);
    rc = xfer(c, &sp, &h, NULL);
    assert_int_equal(rc, FAR_OK);
    assert_int_equal(h, FAR_OK);
    assert_memory_equal(a, b, n);
    far_client_destroy(c);
    relay_stop(r);
    second_stop(&x);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_fetch_file),
        cmocka_unit_test(test_sizes_store_file),
        cmocka_unit_test(test_sizes_memory),
        cmocka_unit_test(test_direct_memory),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_udp_refused),
        cmocka_unit_test(test_corrupt_chunk),
        cmocka_unit_test(test_resume_fetch),
        cmocka_unit_test(test_resume_fetch_memory),
        cmocka_unit_test(test_resume_store),
        cmocka_unit_test(test_yield_to_small_calls),
        cmocka_unit_test(test_yield_resume),
        cmocka_unit_test(test_limits),
        cmocka_unit_test_teardown(test_disk_budget, second_teardown),
        cmocka_unit_test_teardown(test_stalled_sender, second_teardown),
        cmocka_unit_test_teardown(test_more_transfers_than_handlers, second_teardown),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_no_transfer),
        cmocka_unit_test(test_from_callback),
        cmocka_unit_test_teardown(test_level_auth_sizes, second_teardown),
        cmocka_unit_test_teardown(test_level_integ_sizes, second_teardown),
        cmocka_unit_test_teardown(test_level_priv_sizes, second_teardown),
        cmocka_unit_test_teardown(test_level_auth_corrupt, second_teardown),
        cmocka_unit_test_teardown(test_level_integ_corrupt, second_teardown),
        cmocka_unit_test_teardown(test_level_priv_corrupt, second_teardown),
        cmocka_unit_test_teardown(test_level_refused, second_teardown),
        cmocka_unit_test_teardown(test_direct_corrupt, second_teardown),
        cmocka_unit_test_teardown(test_direct_cut, second_teardown),
        cmocka_unit_test(test_one_gib),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
