/* Interop, both directions, TCP and UDP: a farcall client against an rpcgen +
 * libtirpc server, and an rpcgen + libtirpc client against a farcall server,
 * including PROG_MISMATCH and PROC_UNAVAIL. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rpc/rpc.h>

#include <farcall/rpc.h>

#include "interop.h"

void interop_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

#define XDR_VOID ((xdrproc_t)(void (*)(void))xdr_void)

/* farcall's side of interop.x, hand-written (the pattern fargen follows). */
typedef struct fblob {
    uint32_t len;
    uint8_t *val;
} fblob;
typedef struct fadd {
    int32_t a, b;
} fadd;

static bool fblob_enc(far_xdr_enc *e, const void *v)
{
    const fblob *b = v;
    return far_xdr_put_opaque(e, b->val, b->len, FAR_XDR_UNBOUNDED);
}
static bool fblob_dec(far_xdr_dec *d, void *v)
{
    fblob *b = v;
    return far_xdr_get_opaque(d, &b->val, &b->len, FAR_XDR_UNBOUNDED);
}
static bool fadd_enc(far_xdr_enc *e, const void *v)
{
    const fadd *a = v;
    return far_xdr_put_i32(e, a->a) && far_xdr_put_i32(e, a->b);
}
static bool fadd_dec(far_xdr_dec *d, void *v)
{
    fadd *a = v;
    return far_xdr_get_i32(d, &a->a) && far_xdr_get_i32(d, &a->b);
}
static bool fint_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_i32(e, *(const int32_t *)v);
}
static bool fint_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_i32(d, (int32_t *)v);
}
static far_err f_echo(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    *(fblob *)res = *(const fblob *)a;
    return FAR_OK;
}

/* ---------------------------------------------------------- libtirpc server */

bool_t interop_null_1_svc(void *argp, void *result, struct svc_req *rq)
{
    (void)argp, (void)result, (void)rq;
    return TRUE;
}

bool_t interop_echo_1_svc(blob *argp, blob *result, struct svc_req *rq)
{
    (void)rq;
    result->blob_len = argp->blob_len;
    result->blob_val = malloc(argp->blob_len ? argp->blob_len : 1);
    memcpy(result->blob_val, argp->blob_val, argp->blob_len);
    return TRUE;
}

bool_t interop_add_1_svc(add_args *argp, int *result, struct svc_req *rq)
{
    /* AUTH_SYS callers get their uid added: shows the credential arrived. */
    int extra = 0;
    if (rq->rq_cred.oa_flavor == AUTH_SYS)
        extra = (int)((struct authunix_parms *)rq->rq_clntcred)->aup_uid * 1000;
    *result = argp->a + argp->b + extra;
    return TRUE;
}

int interop_prog_1_freeresult(SVCXPRT *transp, xdrproc_t xdr_result, caddr_t result)
{
    (void)transp;
    xdr_free(xdr_result, result);
    return 1;
}

static int bind_lo(int type)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
        _exit(2);
    if (type == SOCK_STREAM && listen(fd, 16) != 0)
        _exit(2);
    return fd;
}

static unsigned port_of(int fd)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    return ntohs(sin.sin_port);
}

/* Forks an rpcgen + libtirpc server (svc_run) on 127.0.0.1; ports[0] TCP,
 * ports[1] UDP.  The child is killed by the test; alarm() bounds its life. */
static pid_t tirpc_server_start(unsigned ports[2])
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(90);
        close(p[0]);
        int t = bind_lo(SOCK_STREAM), u = bind_lo(SOCK_DGRAM);
        SVCXPRT *xt = svc_vc_create(t, 0, 0), *xu = svc_dg_create(u, 0, 0);
        if (!xt || !xu || !svc_reg(xt, INTEROP_PROG, INTEROP_V1, interop_prog_1, NULL) ||
            !svc_reg(xu, INTEROP_PROG, INTEROP_V1, interop_prog_1, NULL))
            _exit(3);
        unsigned out[2] = {port_of(t), port_of(u)};
        if (write(p[1], out, sizeof out) != sizeof out)
            _exit(4);
        close(p[1]);
        svc_run();
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], ports, 2 * sizeof(unsigned)), 2 * sizeof(unsigned));
    close(p[0]);
    return pid;
}

static void tirpc_server_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
}

/* ---------------------------------------------------------- farcall client -> tirpc */

static void farcall_client_checks(const char *addr, bool udp)
{
    far_client *c;
    assert_int_equal(far_client_open(&c, addr, NULL), FAR_OK);
    assert_int_equal(far_client_call(c, INTEROP_PROG, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_OK);
    fadd x = {19, 23};
    int32_t sum = 0;
    assert_int_equal(
        far_client_call(c, INTEROP_PROG, 1, INTEROP_ADD, fadd_enc, &x, fint_dec, &sum, NULL, NULL),
        FAR_OK);
    assert_int_equal(sum, 42);
    /* Large echo over TCP: libtirpc answers in many record fragments. */
    size_t n = udp ? 1000 : 300000;
    fblob in = {(uint32_t)n, malloc(n)}, out = {0};
    for (size_t i = 0; i < n; i++)
        in.val[i] = (uint8_t)(i ^ (i >> 8));
    far_arena ar;
    far_arena_init(&ar, NULL, 0, 0);
    assert_int_equal(far_client_call(c, INTEROP_PROG, 1, INTEROP_ECHO, fblob_enc, &in, fblob_dec,
                                     &out, &ar, NULL),
                     FAR_OK);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.val, in.val, n);
    far_arena_fini(&ar);
    free(in.val);

    far_status st;
    far_call_opts o = {.status = &st};
    assert_int_equal(far_client_call(c, INTEROP_PROG, 7, 0, NULL, NULL, NULL, NULL, NULL, &o),
                     FAR_EPROG_MISMATCH);
    assert_int_equal(st.low, 1);
    assert_int_equal(st.high, 1);
    assert_int_equal(far_client_call(c, INTEROP_PROG, 1, 99, NULL, NULL, NULL, NULL, NULL, &o),
                     FAR_EPROC_UNAVAIL);
    assert_int_equal(far_client_call(c, 0x20000999, 1, 0, NULL, NULL, NULL, NULL, NULL, &o),
                     FAR_EPROG_UNAVAIL);
    far_client_destroy(c);

    /* AUTH_SYS credentials as libtirpc's server decodes them. */
    far_auth_sys cred = {.uid = 7, .gid = 8, .ngids = 2, .gids = {1, 2}};
    strcpy(cred.machinename, "farcall-test");
    far_client_opts co = {.auth_sys = true, .cred = &cred};
    assert_int_equal(far_client_open(&c, addr, &co), FAR_OK);
    assert_int_equal(
        far_client_call(c, INTEROP_PROG, 1, INTEROP_ADD, fadd_enc, &x, fint_dec, &sum, NULL, NULL),
        FAR_OK);
    assert_int_equal(sum, 42 + 7000);
    far_client_destroy(c);
}

static void test_farcall_client_tirpc_server(void **s)
{
    (void)s;
    unsigned ports[2];
    pid_t pid = tirpc_server_start(ports);
    char addr[64];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", ports[0]);
    farcall_client_checks(addr, false);
    snprintf(addr, sizeof addr, "udp://127.0.0.1:%u", ports[1]);
    farcall_client_checks(addr, true);
    tirpc_server_stop(pid);
}

/* ---------------------------------------------------------- tirpc client -> farcall */

static atomic_uint seen_uid;

static far_err f_add(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    const far_auth_sys *cr = far_svc_req_auth_sys(r);
    if (cr)
        atomic_store(&seen_uid, cr->uid + 1);
    const fadd *x = a;
    *(int32_t *)res = x->a + x->b;
    return FAR_OK;
}

static const far_proc_desc iprocs[] = {
    {0, "INTEROP_NULL", NULL, NULL, 0, 0, NULL},
    {1, "INTEROP_ECHO", fblob_dec, fblob_enc, sizeof(fblob), sizeof(fblob), f_echo},
    {2, "INTEROP_ADD", fadd_dec, fint_enc, sizeof(fadd), sizeof(int32_t), f_add},
};
static const far_program_desc iprog1 = {FAR_DESC_SIZES,         .prog = INTEROP_PROG, .vers = 1,
                                        .name = "INTEROP_PROG", .procs = iprocs,      .nprocs = 3};
static const far_program_desc iprog3 = {FAR_DESC_SIZES,         .prog = INTEROP_PROG, .vers = 3,
                                        .name = "INTEROP_PROG", .procs = iprocs,      .nprocs = 1};

static CLIENT *tirpc_client(const char *bound, bool udp, unsigned long vers)
{
    unsigned port = (unsigned)atoi(strrchr(bound, ':') + 1);
    static struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct netbuf nb = {sizeof sin, sizeof sin, &sin};
    int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    assert_true(fd >= 0);
    CLIENT *cl;
    if (udp) {
        cl = clnt_dg_create(fd, &nb, INTEROP_PROG, vers, 0, 0);
    } else {
        assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
        cl = clnt_vc_create(fd, &nb, INTEROP_PROG, vers, 0, 0);
    }
    assert_non_null(cl);
    clnt_control(cl, CLSET_FD_CLOSE, NULL);
    struct timeval tv = {5, 0};
    clnt_control(cl, CLSET_TIMEOUT, (char *)&tv);
    if (udp) {
        struct timeval rt = {0, 200000};
        clnt_control(cl, CLSET_RETRY_TIMEOUT, (char *)&rt);
    }
    return cl;
}

static void tirpc_client_checks(const char *bound, bool udp)
{
    CLIENT *cl = tirpc_client(bound, udp, 1);
    struct timeval tv = {5, 0};
    assert_int_equal(interop_null_1(NULL, NULL, cl), RPC_SUCCESS);
    add_args x = {40, 2};
    int sum = 0;
    assert_int_equal(interop_add_1(&x, &sum, cl), RPC_SUCCESS);
    assert_int_equal(sum, 42);
    /* Large echo over TCP: libtirpc sends the call in many fragments. */
    size_t n = udp ? 2000 : 300000;
    blob in = {(u_int)n, malloc(n)}, out = {0, NULL};
    for (size_t i = 0; i < n; i++)
        in.blob_val[i] = (char)(i * 13);
    assert_int_equal(interop_echo_1(&in, &out, cl), RPC_SUCCESS);
    assert_int_equal(out.blob_len, n);
    assert_memory_equal(out.blob_val, in.blob_val, n);
    xdr_free((xdrproc_t)xdr_blob, (char *)&out);
    free(in.blob_val);

    assert_int_equal(clnt_call(cl, 99, XDR_VOID, NULL, XDR_VOID, NULL, tv), RPC_PROCUNAVAIL);
    /* AUTH_SYS from libtirpc, decoded by farcall and shown to the handler. */
    atomic_store(&seen_uid, 0);
    cl->cl_auth = authunix_create_default();
    assert_int_equal(interop_add_1(&x, &sum, cl), RPC_SUCCESS);
    assert_int_equal(atomic_load(&seen_uid), geteuid() + 1);
    auth_destroy(cl->cl_auth);
    clnt_destroy(cl);

    /* Version 7: PROG_MISMATCH with the versions served, 1 to 3. */
    cl = tirpc_client(bound, udp, 7);
    assert_int_equal(clnt_call(cl, 0, XDR_VOID, NULL, XDR_VOID, NULL, tv), RPC_PROGVERSMISMATCH);
    struct rpc_err err;
    clnt_geterr(cl, &err);
    assert_int_equal(err.re_vers.low, 1);
    assert_int_equal(err.re_vers.high, 3);
    clnt_destroy(cl);
}

static void test_tirpc_client_farcall_server(void **s)
{
    (void)s;
    far_server *srv;
    assert_int_equal(far_server_create(&srv, NULL), FAR_OK);
    assert_int_equal(far_server_add_program(srv, &iprog1, NULL), FAR_OK);
    assert_int_equal(far_server_add_program(srv, &iprog3, NULL), FAR_OK);
    char tcp[128], udp[128];
    assert_int_equal(far_server_listen(srv, "tcp://127.0.0.1:0", tcp, sizeof tcp), FAR_OK);
    assert_int_equal(far_server_listen(srv, "udp://127.0.0.1:0", udp, sizeof udp), FAR_OK);
    assert_int_equal(far_server_start(srv), FAR_OK);
    tirpc_client_checks(tcp, false);
    tirpc_client_checks(udp, true);
    far_server_destroy(srv);
}

/* ---------------------------------------------------------- security levels */

/* A farcall client asking a libtirpc server for a security level: the
 * server denies FAR_CTX (AUTH_REJECTEDCRED), the client says it is a
 * classic server (FAR_EUNSUPPORTED) and sends nothing unprotected. */
static void test_level_tirpc_server(void **s)
{
    (void)s;
    static const uint8_t key[32] = "interop test key, 32 bytes long";
    unsigned ports[2];
    pid_t pid = tirpc_server_start(ports);
    for (int udp = 0; udp < 2; udp++)
        for (far_security lvl = FAR_SEC_AUTH; lvl <= FAR_SEC_PRIV; lvl++) {
            char addr[64];
            snprintf(addr, sizeof addr, "%s://127.0.0.1:%u", udp ? "udp" : "tcp", ports[udp]);
            far_client_opts o = {.timeout_ms = 3000, .security = lvl, .identity = "i", .key = key};
            far_client *c = NULL;
            assert_int_equal(far_client_open(&c, addr, &o), FAR_EUNSUPPORTED);
            assert_null(c);
            assert_non_null(strstr(far_last_error(), "classic ONC RPC"));
        }
    tirpc_server_stop(pid);
}

/* A libtirpc client (AUTH_NONE, AUTH_SYS) against a farcall server that
 * requires a level: AUTH_ERROR, AUTH_TOOWEAK, and NULL too. */
static void test_tirpc_client_level_server(void **s)
{
    (void)s;
    far_server *srv;
    far_server_opts so = {.min_security = FAR_SEC_AUTH};
    assert_int_equal(far_server_create(&srv, &so), FAR_OK);
    assert_int_equal(far_server_add_program(srv, &iprog1, NULL), FAR_OK);
    char tcp[128], udp[128];
    assert_int_equal(far_server_listen(srv, "tcp://127.0.0.1:0", tcp, sizeof tcp), FAR_OK);
    assert_int_equal(far_server_listen(srv, "udp://127.0.0.1:0", udp, sizeof udp), FAR_OK);
    assert_int_equal(far_server_start(srv), FAR_OK);
    for (int u = 0; u < 2; u++) {
        CLIENT *cl = tirpc_client(u ? udp : tcp, u, 1);
        add_args x = {40, 2};
        int sum = 0;
        assert_int_equal(interop_add_1(&x, &sum, cl), RPC_AUTHERROR);
        struct rpc_err err;
        clnt_geterr(cl, &err);
        assert_int_equal(err.re_why, AUTH_TOOWEAK);
        cl->cl_auth = authunix_create_default();
        assert_int_equal(interop_null_1(NULL, NULL, cl), RPC_AUTHERROR);
        auth_destroy(cl->cl_auth);
        clnt_destroy(cl);
    }
    far_server_destroy(srv);
}

int main(void)
{
    setenv("FARCALL_QUIET", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_farcall_client_tirpc_server),
        cmocka_unit_test(test_tirpc_client_farcall_server),
        cmocka_unit_test(test_level_tirpc_server),
        cmocka_unit_test(test_tirpc_client_level_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
