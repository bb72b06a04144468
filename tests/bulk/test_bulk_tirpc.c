/* An rpcgen + libtirpc client pulls a file from a farcall server: bulk
 * transfer is plain ONC RPC.  Its stubs are rpcgen's, generated from
 * src/bulk/far_bulk.x; the call the transfer is bound to is sent with
 * libtirpc's zero-timeout send on the same connection (a second CLIENT on
 * the descriptor speaks FAR_BULK), its xid read back with CLGET_XID.  Each
 * chunk's XXH3-64 and the whole transfer's XXH3-128 (of the chunk checksums,
 * far_bulk.x) are checked here with libxxhash, the bytes compared with the
 * file, and the handler's outcome read on the server side. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <rpc/rpc.h>
#include <xxhash.h>

#include <farcall/bulk.h>
#include <farcall/rpc.h>

#include "bulk_tirpc.h"

#define TPROG 0x20fa0bf2u
#define N     (3u * (256u << 10) + 5u)

static far_bulk_server *bsrv;
static char path[64];
static atomic_int g_rc = -1;

static bool u32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static bool u32_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}

static far_err h_get(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    (void)a;
    far_bulk_desc d = {.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_PATH, .path = path};
    far_bulk *t;
    far_err rc = far_bulk_start(bsrv, r, &d, &t);
    if (rc == FAR_OK) {
        rc = far_bulk_wait(t, UINT32_MAX);
        far_bulk_destroy(t);
    }
    atomic_store(&g_rc, (int)rc);
    *(uint32_t *)res = (uint32_t)rc;
    return FAR_OK;
}

static const far_proc_desc procs[] = {
    {.proc = 0, .name = "NULL"},
    {.proc = 1,
     .name = "GET",
     .decode_args = u32_dec,
     .encode_res = u32_enc,
     .args_size = 4,
     .res_size = 4,
     .invoke = h_get},
};
static const far_program_desc prog = {
    FAR_DESC_SIZES, .prog = TPROG, .vers = 1, .name = "BULKG", .procs = procs, .nprocs = 2,
};

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 11);
}

static void test_tirpc_pull(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/far-bulk-tirpc-%d", (int)getpid());
    uint8_t *src = malloc(N), *got = calloc(1, N);
    assert_non_null(src);
    assert_non_null(got);
    for (uint32_t i = 0; i < N; i++)
        src[i] = pattern(i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, src, N), (ssize_t)N);
    close(fd);

    far_server *s;
    char bound[128];
    assert_int_equal(far_server_create(&s, NULL), FAR_OK);
    assert_int_equal(far_server_add_program(s, &prog, NULL), FAR_OK);
    assert_int_equal(far_bulk_server_create(&bsrv, s, NULL), FAR_OK);
    assert_int_equal(far_server_listen(s, "tcp://127.0.0.1:0", bound, sizeof bound), FAR_OK);
    assert_int_equal(far_server_start(s), FAR_OK);

    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)atoi(strrchr(bound, ':') + 1));
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(sock, (struct sockaddr *)&sin, sizeof sin), 0);
    struct netbuf nb = {.maxlen = sizeof sin, .len = sizeof sin, .buf = &sin};
    CLIENT *call = clnt_vc_create(sock, &nb, TPROG, 1, 0, 0);
    CLIENT *bulk = clnt_vc_create(sock, &nb, FAR_BULK_PROG, FAR_BULK_V1, 0, 0);
    assert_non_null(call);
    assert_non_null(bulk);
    struct timeval zero = {0, 0}, tv = {10, 0};
    clnt_control(bulk, CLSET_TIMEOUT, (char *)&tv);
    u_int arg = 0, res = 0, xid = 0;
    /* the call: sent, not waited for */
    assert_int_equal(clnt_call(call, 1, (xdrproc_t)xdr_u_int, (caddr_t)&arg, (xdrproc_t)xdr_u_int,
                               (caddr_t)&res, zero),
                     RPC_TIMEDOUT);
    assert_true(clnt_control(call, CLGET_XID, (char *)&xid));

    far_bulk_open_args oa = {.xid = xid};
    far_bulk_open_res o;
    memset(&o, 0, sizeof o);
    assert_int_equal(far_bulk_open_1(&oa, &o, bulk), RPC_SUCCESS);
    assert_int_equal(o.stat, FAR_BULK_OK);
    assert_int_equal(o.dir, FAR_BULK_FETCH);
    assert_int_equal(o.size, N);
    assert_true(o.chunk > 0);

    XXH3_state_t *whole = XXH3_createState();
    XXH3_128bits_reset(whole);
    for (uint64_t off = 0; off < o.size; off += o.chunk) {
        far_bulk_pull_args pa = {.token = o.token, .offset = off, .count = o.chunk};
        far_bulk_pull_res pr;
        memset(&pr, 0, sizeof pr);
        assert_int_equal(far_bulk_pull_1(&pa, &pr, bulk), RPC_SUCCESS);
        assert_int_equal(pr.stat, FAR_BULK_OK);
        assert_int_equal(pr.offset, off);
        uint64_t want = o.size - off < o.chunk ? o.size - off : o.chunk;
        assert_int_equal(pr.data.data_len, want);
        assert_int_equal(XXH3_64bits(pr.data.data_val, pr.data.data_len), pr.xxh3);
        memcpy(got + off, pr.data.data_val, pr.data.data_len);
        uint8_t be[8];
        for (int i = 0; i < 8; i++)
            be[i] = (uint8_t)(pr.xxh3 >> (56 - 8 * i));
        XXH3_128bits_update(whole, be, sizeof be);
        xdr_free((xdrproc_t)xdr_far_bulk_pull_res, (char *)&pr);
    }
    XXH128_hash_t h = XXH3_128bits_digest(whole);
    XXH3_freeState(whole);
    far_bulk_done_args da = {
        .token = o.token, .size = o.size, .xxh3_hi = h.high64, .xxh3_lo = h.low64};
    far_bulk_done_res dr;
    memset(&dr, 0, sizeof dr);
    assert_int_equal(far_bulk_done_1(&da, &dr, bulk), RPC_SUCCESS);
    assert_int_equal(dr.stat, FAR_BULK_OK);
    assert_int_equal(dr.xxh3_hi, h.high64);
    assert_int_equal(dr.xxh3_lo, h.low64);
    assert_memory_equal(src, got, N);
    /* the handler's far_bulk_wait saw it complete */
    for (int i = 0; i < 500 && atomic_load(&g_rc) == -1; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&g_rc), FAR_OK);

    clnt_destroy(bulk);
    clnt_destroy(call);
    close(sock);
    far_server_destroy(s);
    far_bulk_server_destroy(bsrv);
    unlink(path);
    free(src);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tirpc_pull)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
