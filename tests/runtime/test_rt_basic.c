/* Clients and servers on real sockets: every transport, every reply status,
 * AUTH_SYS, multi-fragment records both ways, oversize records, error text. */
#include "rt_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "clnt/clnt.h"
#include "msg/msg.h"
#include "svc/svc.h"
#include "net/net.h"

static void call_add(far_client *c, int32_t a, int32_t b)
{
    add_args x = {a, b};
    int32_t r = 0;
    assert_int_equal(far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &r, NULL, NULL),
                     FAR_OK);
    assert_int_equal(r, a + b);
}

static void call_echo(far_client *c, size_t n)
{
    blob in, out = {0};
    in.len = (uint32_t)n;
    in.val = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        in.val[i] = (uint8_t)(i * 7 + 3);
    far_arena ar;
    far_arena_init(&ar, NULL, 0, 0);
    far_status st;
    far_call_opts o = {.status = &st};
    far_err rc = far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, &ar, &o);
    if (rc != FAR_OK)
        fail_msg("echo %zu: %s", n, st.msg);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.val, in.val, n);
    far_arena_fini(&ar);
    free(in.val);
}

/* One server listening on TCP/UDP over IPv4 and IPv6 and a Unix socket. */
static void test_transports(void **state)
{
    (void)state;
    char ux[200];
    tmp_unix(ux, sizeof ux, "t.sock");
    const char *addrs[] = {"tcp://127.0.0.1:0", "tcp://[::1]:0", "udp://127.0.0.1:0",
                           "udp://[::1]:0", ux};
    far_server *s;
    tstate st = {0};
    pthread_mutex_init(&st.mu, NULL);
    assert_int_equal(far_server_create(&s, NULL), FAR_OK);
    assert_int_equal(far_server_add_program(s, &tprog_v1, &st), FAR_OK);
    assert_int_equal(far_server_add_program(s, &tprog_v1, &st), FAR_EMISUSE);
    char bound[5][128];
    for (int i = 0; i < 5; i++)
        assert_int_equal(far_server_listen(s, addrs[i], bound[i], sizeof bound[i]), FAR_OK);
    assert_non_null(strstr(bound[1], "tcp://[::1]:"));
    assert_int_not_equal(strcmp(bound[0], "tcp://127.0.0.1:0"), 0);
    assert_int_equal(far_server_start(s), FAR_OK);
    for (int i = 0; i < 5; i++) {
        far_client *c;
        assert_int_equal(far_client_open(&c, bound[i], NULL), FAR_OK);
        assert_int_equal(far_client_call(c, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                         FAR_OK);
        call_add(c, 2, 40);
        call_echo(c, 0);
        call_echo(c, 1001);
        call_echo(c, i == 2 || i == 3 ? 30000 : 1000000); /* UDP: one datagram */
        far_client_destroy(c);
    }
    far_server_destroy(s);
    far_client_destroy(NULL);
    far_server_destroy(NULL);
    tmp_unix_cleanup(ux);
    pthread_mutex_destroy(&st.mu);
}

static far_err call_status(far_client *c, uint32_t vers, uint32_t proc, far_xdr_encode_fn enc,
                           const void *args, far_status *st)
{
    far_call_opts o = {.status = st};
    return far_client_call(c, TPROG, vers, proc, enc, args, NULL, NULL, NULL, &o);
}

static bool half_add_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_i32(e, *(const int32_t *)v); /* ADD needs two */
}

static void check_statuses(const char *addr)
{
    tserver t;
    tserver_start(&t, addr, NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    far_status st;
    far_call_opts o = {.status = &st};

    assert_int_equal(far_client_call(c, 999, 1, 0, NULL, NULL, NULL, NULL, NULL, &o),
                     FAR_EPROG_UNAVAIL);
    assert_non_null(strstr(far_last_error(), "prog 999 vers 1 proc 0"));

    assert_int_equal(call_status(c, 7, 0, NULL, NULL, &st), FAR_EPROG_MISMATCH);
    assert_int_equal(st.low, 1);
    assert_int_equal(st.high, 2);
    assert_non_null(strstr(st.msg, "(server has 1-2)"));
    assert_non_null(strstr(st.msg, t.bound));
    assert_string_equal(far_last_error(), st.msg);

    assert_int_equal(call_status(c, 1, 99, NULL, NULL, &st), FAR_EPROC_UNAVAIL);
    assert_int_equal(call_status(c, 2, 1, NULL, NULL, &st), FAR_EPROC_UNAVAIL);

    int32_t one = 1;
    assert_int_equal(call_status(c, 1, P_ADD, half_add_enc, &one, &st), FAR_EGARBAGE_ARGS);

    uint32_t code = FAR_ESYSTEM_ERR;
    assert_int_equal(call_status(c, 1, P_FAIL, u32_enc, &code, &st), FAR_ESYSTEM_ERR);
    code = FAR_EIO; /* any other code: SYSTEM_ERR */
    assert_int_equal(call_status(c, 1, P_FAIL, u32_enc, &code, &st), FAR_ESYSTEM_ERR);
    code = FAR_EGARBAGE_ARGS;
    assert_int_equal(call_status(c, 1, P_FAIL, u32_enc, &code, &st), FAR_EGARBAGE_ARGS);
    code = FAR_EPROC_UNAVAIL;
    assert_int_equal(call_status(c, 1, P_FAIL, u32_enc, &code, &st), FAR_EPROC_UNAVAIL);
    code = FAR_EAUTH;
    assert_int_equal(call_status(c, 1, P_FAIL, u32_enc, &code, &st), FAR_EAUTH);
    assert_int_equal(st.auth_stat, FAR_AUTH_FAILED);
    /* the reason in words and by the RFC's name, not as a bare number */
    assert_non_null(strstr(st.msg, "AUTH_FAILED"));
    assert_non_null(strstr(st.msg, "reason unknown"));
    code = FAR_OK;
    assert_int_equal(call_status(c, 1, P_FAIL, u32_enc, &code, &st), FAR_OK);
    assert_int_equal(st.err, FAR_OK);
    /* The connection survived every error. */
    call_add(c, 1, 2);
    far_client_destroy(c);
    tserver_stop(&t);
}

static void test_reply_statuses_tcp(void **state)
{
    (void)state;
    check_statuses("tcp://127.0.0.1:0");
}

static void test_reply_statuses_udp(void **state)
{
    (void)state;
    check_statuses("udp://127.0.0.1:0");
}

/* ---- raw sockets: what the farcall client never sends ---- */

static int raw_connect(const char *bound)
{
    far__addr a;
    far_err err;
    assert_int_equal(far__addr_parse(bound, &a, NULL, 0), FAR_OK);
    int fd = far__sock_connect(&a, 0, &err, NULL);
    assert_true(fd >= 0);
    return fd;
}

/* Sends one record and reads one reply record (or returns 0 if closed). */
static size_t raw_rpc(int fd, const uint8_t *msg, size_t n, uint8_t *reply, size_t cap)
{
    uint8_t mark[4];
    far_xdr_store_u32(mark, FAR__REC_LAST | (uint32_t)n);
    assert_int_equal(send(fd, mark, 4, MSG_NOSIGNAL), 4);
    assert_int_equal(send(fd, msg, n, MSG_NOSIGNAL), (ssize_t)n);
    size_t got = 0;
    while (got < 4) {
        struct pollfd pf = {fd, POLLIN, 0};
        assert_int_equal(poll(&pf, 1, 5000), 1);
        ssize_t r = recv(fd, reply + got, 4 - got, 0);
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    size_t len = far_xdr_load_u32(reply) & 0x7fffffff;
    assert_true(len <= cap);
    got = 0;
    while (got < len) {
        ssize_t r = recv(fd, reply + got, len - got, 0);
        assert_true(r > 0);
        got += (size_t)r;
    }
    return len;
}

static size_t build_call(uint8_t *buf, uint32_t rpcvers, uint32_t flavor, const uint8_t *cred,
                         uint32_t credlen)
{
    size_t o = 0;
    uint32_t w[] = {0x1234, 0, rpcvers, TPROG, 1, P_WHOAMI, flavor, credlen};
    for (size_t i = 0; i < 8; i++, o += 4)
        far_xdr_store_u32(buf + o, w[i]);
    if (credlen)
        memcpy(buf + o, cred, credlen);
    o += credlen + far_xdr_pad(credlen);
    far_xdr_store_u32(buf + o, 0), o += 4;
    far_xdr_store_u32(buf + o, 0), o += 4;
    return o;
}

static far_err raw_outcome(int fd, const uint8_t *msg, size_t n, far__reply_hdr *h)
{
    uint8_t reply[4096];
    size_t len = raw_rpc(fd, msg, n, reply, sizeof reply);
    assert_true(len > 0);
    far_xdr_dec d;
    far_xdr_dec_init(&d, reply, len, NULL, 0);
    assert_int_equal(far__reply_hdr_decode(&d, h), FAR_OK);
    assert_int_equal(h->xid, 0x1234);
    return far__reply_err(h);
}

static size_t sys_body(uint8_t *buf, uint32_t namelen, uint32_t ngids)
{
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, 2048);
    char name[300];
    memset(name, 'n', sizeof name);
    far_xdr_put_u32(&e, 1);
    far_xdr_put_string_n(&e, name, namelen, FAR_XDR_UNBOUNDED);
    far_xdr_put_u32(&e, 501);
    far_xdr_put_u32(&e, 20);
    far_xdr_put_u32(&e, ngids);
    for (uint32_t i = 0; i < ngids; i++)
        far_xdr_put_u32(&e, 100 + i);
    return e.pos;
}

static void test_denied(void **state)
{
    (void)state;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    int fd = raw_connect(t.bound);
    uint8_t msg[4096], body[2048];
    far__reply_hdr h;

    /* RPC version 3: denied RPC_MISMATCH with the versions served (2-2). */
    size_t n = build_call(msg, 3, FAR_AUTH_NONE, NULL, 0);
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_ERPC_MISMATCH);
    assert_int_equal(h.low, 2);
    assert_int_equal(h.high, 2);

    /* AUTH_SYS within the limits: accepted. */
    size_t bl = sys_body(body, 255, 16);
    n = build_call(msg, 2, FAR_AUTH_SYS, body, (uint32_t)bl);
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_OK);

    /* Machine name of 256 bytes, 17 gids, a body over 400 bytes, an unknown
     * flavor: denied AUTH_ERROR. */
    bl = sys_body(body, 256, 0);
    n = build_call(msg, 2, FAR_AUTH_SYS, body, (uint32_t)bl);
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_EAUTH);
    assert_int_equal(h.auth_stat, FAR_AUTH_BADCRED);
    bl = sys_body(body, 4, 17);
    n = build_call(msg, 2, FAR_AUTH_SYS, body, (uint32_t)bl);
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_EAUTH);
    bl = sys_body(body, 4, 0);
    n = build_call(msg, 2, FAR_AUTH_SYS, body, 404);
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_EAUTH);
    n = build_call(msg, 2, FAR_AUTH_SYS, body, 8); /* truncated */
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_EAUTH);
    /* Non-zero padding after a credential body: as malformed as an oversized
     * one (BADCRED), not silence. */
    n = build_call(msg, 2, FAR_AUTH_NONE, body, 5);
    memset(msg + 32 + 5, 0, 3);
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_OK);
    msg[32 + 5 + 2] = 0x7f;
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_EAUTH);
    assert_int_equal(h.auth_stat, FAR_AUTH_BADCRED);
    n = build_call(msg, 2, 6 /* RPCSEC_GSS */, body, 8);
    assert_int_equal(raw_outcome(fd, msg, n, &h), FAR_EAUTH);
    assert_int_equal(h.auth_stat, FAR_AUTH_REJECTEDCRED);
    close(fd);
    tserver_stop(&t);
}

static void test_auth_sys_visible(void **state)
{
    (void)state;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_auth_sys cred = {.stamp = 9, .uid = 1234, .gid = 55, .ngids = 3, .gids = {7, 8, 9}};
    strcpy(cred.machinename, "box.example");
    far_client_opts o = {.auth_sys = true, .cred = &cred};
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, &o), FAR_OK);
    whoami_res w = {0};
    far_arena ar;
    far_arena_init(&ar, NULL, 0, 0);
    assert_int_equal(far_client_call(c, TPROG, 1, P_WHOAMI, NULL, NULL, who_dec, &w, &ar, NULL),
                     FAR_OK);
    assert_int_equal(w.flavor, FAR_AUTH_SYS);
    assert_int_equal(w.uid, 1234);
    assert_int_equal(w.gid, 55);
    assert_int_equal(w.ngids, 3);
    assert_int_equal(w.gids[2], 9);
    assert_string_equal(w.machine, "box.example");
    far_client_destroy(c);

    /* The process's own credentials by default. */
    o.cred = NULL;
    assert_int_equal(far_client_open(&c, t.bound, &o), FAR_OK);
    assert_int_equal(far_client_call(c, TPROG, 1, P_WHOAMI, NULL, NULL, who_dec, &w, &ar, NULL),
                     FAR_OK);
    assert_int_equal(w.uid, geteuid());
    far_client_destroy(c);

    /* AUTH_NONE: no credentials. */
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    assert_int_equal(far_client_call(c, TPROG, 1, P_WHOAMI, NULL, NULL, who_dec, &w, &ar, NULL),
                     FAR_OK);
    assert_int_equal(w.flavor, FAR_AUTH_NONE);
    far_client_destroy(c);

    /* Out of the RFC's limits: refused before anything is sent. */
    cred.ngids = 17;
    o.cred = &cred;
    assert_int_equal(far_client_open(&c, t.bound, &o), FAR_ELIMIT);
    far_arena_fini(&ar);
    tserver_stop(&t);
}

static void test_multifragment(void **state)
{
    (void)state;
    for (int dir = 0; dir < 3; dir++) {
        tserver t;
        tserver_start(&t, "tcp://127.0.0.1:0", NULL);
        if (dir & 1)
            far__server_set_max_fragment(t.s, 100); /* replies in fragments */
        far_client *c;
        assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
        if (dir != 1)
            far__client_set_max_fragment(c, 64); /* calls in fragments */
        call_echo(c, 10000);
        call_echo(c, 3);
        call_add(c, 5, 6);
        call_echo(c, 200000);
        far_client_destroy(c);
        tserver_stop(&t);
    }
}

static void test_oversize(void **state)
{
    (void)state;
    far_server_opts so = {.max_record = 4096};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &so);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    call_echo(c, 3000);
    blob in = {8000, calloc(1, 8000)}, out;
    far_status st;
    far_call_opts o = {.status = &st, .timeout_ms = 5000};
    assert_int_equal(far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, NULL, &o),
                     FAR_ECONNLOST);
    free(in.val);
    /* The client reconnects for the next call. */
    call_echo(c, 100);
    far_client_destroy(c);

    /* A header announcing 2 GiB: closed at once, nothing allocated for it. */
    int fd = raw_connect(t.bound);
    uint8_t mark[4];
    far_xdr_store_u32(mark, 0xffffffffu);
    assert_int_equal(send(fd, mark, 4, 0), 4);
    struct pollfd pf = {fd, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 5000), 1);
    uint8_t b;
    assert_int_equal(recv(fd, &b, 1, 0), 0);
    close(fd);

    /* A client with a small max_record refuses a large reply. */
    far_client_opts co = {.max_record = 1024};
    assert_int_equal(far_client_open(&c, t.bound, &co), FAR_OK);
    in.len = 2000;
    in.val = calloc(1, 2000);
    /* a limit of this side, not a malformed message */
    assert_int_equal(far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, NULL, &o),
                     FAR_ELIMIT);
    free(in.val);
    far_client_destroy(c);
    tserver_stop(&t);
}

static void test_refused_named(void **state)
{
    (void)state;
    /* A bound TCP socket that does not listen: connections are refused. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    char addr[64];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", ntohs(sin.sin_port));
    far_client *c = (far_client *)1;
    assert_int_equal(far_client_open(&c, addr, NULL), FAR_ECONNREFUSED);
    assert_null(c);
    assert_non_null(strstr(far_last_error(), addr));
    assert_non_null(strstr(far_last_error(), "is the server running?"));
    close(fd);
    assert_int_equal(far_client_open(&c, "unix:/tmp/farcall-no-such-dir/x.sock", NULL),
                     FAR_ECONNREFUSED);
    assert_int_equal(far_client_open(&c, "bogus://x", NULL), FAR_EADDR);
    assert_int_equal(far_client_open(NULL, "tcp://127.0.0.1:1", NULL), FAR_EMISUSE);
    assert_int_equal(far_client_call(NULL, 1, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_EMISUSE);
}

int main(void)
{
    setenv("FARCALL_QUIET", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transports),         cmocka_unit_test(test_reply_statuses_tcp),
        cmocka_unit_test(test_reply_statuses_udp), cmocka_unit_test(test_denied),
        cmocka_unit_test(test_auth_sys_visible),   cmocka_unit_test(test_multifragment),
        cmocka_unit_test(test_oversize),           cmocka_unit_test(test_refused_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
