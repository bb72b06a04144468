/* Errors that name their cause, limits that name themselves, and the log.
 *
 *   - the log: far_set_log receives the library's lines at the levels asked
 *     for, and none below them;
 *   - a request over the server's max_record: the client's error says how
 *     big the call was and which server option limits it; the server's log
 *     line gives the size, the limit, the option and the peer (for a Unix
 *     socket, the client's pid and uid);
 *   - a reply over the client's max_record: FAR_ELIMIT naming the option;
 *   - a list over max_list, on either side: FAR_ELIMIT (client) or
 *     GARBAGE_ARGS with a log line (server), both naming the option, and a
 *     larger max_list lets the same list through;
 *   - a zeroed arena ({0}) works with the default limit;
 *   - no binder, a missing Unix socket: their own codes and words;
 *   - far_call_opts.status is filled by a sync call that fails before it
 *     is sent, and by an async call's start (success or failure). */
#include "rt_common.h"

#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* ------------------------------------------------------------ the log, captured */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[16384];
static int log_lines;

static void capture(void *ctx, far_log_level level, const char *line)
{
    assert_ptr_equal(ctx, &log_lines);
    pthread_mutex_lock(&log_mu);
    size_t n = strlen(log_text);
    snprintf(log_text + n, sizeof log_text - n, "[%s] %s\n", far_log_level_name(level), line);
    log_lines++;
    pthread_mutex_unlock(&log_mu);
}

static void log_reset(far_log_level max)
{
    pthread_mutex_lock(&log_mu);
    log_text[0] = 0;
    log_lines = 0;
    pthread_mutex_unlock(&log_mu);
    far_set_log(capture, &log_lines, max);
}

/* True once the captured log holds `want` (waits up to 3 s: the server logs
 * on its own threads). */
static bool log_has(const char *want)
{
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&log_mu);
        bool found = strstr(log_text, want) != NULL;
        pthread_mutex_unlock(&log_mu);
        if (found)
            return true;
        sleep_ms(10);
    }
    return false;
}

static void log_show(void)
{
    pthread_mutex_lock(&log_mu);
    print_message("log:\n%s", log_text);
    pthread_mutex_unlock(&log_mu);
}

static void log_done(void)
{
    far_set_log(NULL, NULL, FAR_LOG_WARN);
}

/* ------------------------------------------------------------ the log */

/* An idle connection's close is logged at info: delivered with max INFO,
 * not with max WARN. */
static void test_log_levels(void **s)
{
    (void)s;
    assert_string_equal(far_log_level_name(FAR_LOG_ERROR), "error");
    assert_string_equal(far_log_level_name(FAR_LOG_WARN), "warning");
    assert_string_equal(far_log_level_name(FAR_LOG_INFO), "info");
    assert_string_equal(far_log_level_name(FAR_LOG_DEBUG), "debug");
    far_server_opts o = {.idle_timeout_ms = 200};
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", &o);

    log_reset(FAR_LOG_INFO);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    assert_int_equal(far_client_call(c, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_OK);
    if (!log_has("[info] tcp://127.0.0.1:") || !log_has("idle timeout") ||
        !log_has("far_server_opts.idle_timeout_ms")) {
        log_show();
        fail_msg("no info line for the idle connection's close");
    }
    far_client_destroy(c);

    log_reset(FAR_LOG_WARN);
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    assert_int_equal(far_client_call(c, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_OK);
    sleep_ms(900); /* the sweep closes it after 200-400 ms */
    far_status st = {0};
    far_call_opts co = {.status = &st};
    /* the connection was closed under it: the call makes a new one */
    assert_int_equal(far_client_call(c, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL, &co),
                     FAR_OK);
    pthread_mutex_lock(&log_mu);
    int n = log_lines;
    pthread_mutex_unlock(&log_mu);
    if (n != 0) {
        log_show();
        fail_msg("%d lines below the level asked for were delivered", n);
    }
    far_client_destroy(c);
    tserver_stop(&t);
    log_done();
}

/* ------------------------------------------------------------ max_record */

static void record_limit_on(const char *addr)
{
    far_server_opts o = {.max_record = 65536};
    tserver t;
    tserver_start(&t, addr, &o);
    log_reset(FAR_LOG_WARN);
    far_client *c;
    /* (no_ctx: the sizes below are a classic call's; FAR_CTX's credential
     * is 64 bytes longer) */
    far_client_opts copts = {.no_ctx = true};
    assert_int_equal(far_client_open(&c, t.bound, &copts), FAR_OK);
    size_t n = 100000;
    uint8_t *buf = calloc(1, n);
    assert_non_null(buf);
    blob in = {(uint32_t)n, buf}, out = {0};
    far_arena a = {0};
    far_status st = {0};
    far_call_opts co = {.status = &st};
    far_err rc = far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, &a, &co);
    assert_int_equal(rc, FAR_ECONNLOST);
    if (!strstr(st.msg, "this call is 1000") || !strstr(st.msg, "far_server_opts.max_record"))
        fail_msg("the client's error does not point at the server's limit: %s", st.msg);
    /* the call's record: 40 bytes of header, 4 of length, 100000 of data */
    if (!log_has("a request of 100044 bytes is larger than the server's limit of 65536 bytes "
                 "(far_server_opts.max_record)")) {
        log_show();
        fail_msg("no server log line with the size, the limit and the option");
    }
    char peer[256];
    if (strncmp(addr, "unix:", 5) == 0)
        snprintf(peer, sizeof peer, "%s (client pid %ld, uid %lu): connection closed", t.bound,
                 (long)getpid(), (unsigned long)getuid());
    else
        snprintf(peer, sizeof peer, "tcp://127.0.0.1:");
    if (!log_has(peer)) {
        log_show();
        fail_msg("the log line does not name the peer as \"%s\"", peer);
    }
    /* under the limit: fine */
    in.len = 60000;
    assert_int_equal(far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, &a, NULL),
                     FAR_OK);
    assert_int_equal(out.len, 60000);
    far_arena_fini(&a);
    free(buf);
    far_client_destroy(c);
    tserver_stop(&t);
    log_done();
}

static void test_request_over_max_record_tcp(void **s)
{
    (void)s;
    record_limit_on("tcp://127.0.0.1:0");
}

static void test_request_over_max_record_unix(void **s)
{
    (void)s;
    char addr[160];
    tmp_unix(addr, sizeof addr, "rec.sock");
    record_limit_on(addr);
    tmp_unix_cleanup(addr);
}

static void test_reply_over_client_max_record(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    /* (no_ctx: the size below is a classic reply's; a FAR_CTX verifier is 12
     * bytes longer) */
    far_client_opts o = {.max_record = 32768, .no_ctx = true};
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, &o), FAR_OK);
    uint8_t buf[50000] = {0};
    blob in = {sizeof buf, buf}, out = {0};
    far_arena a = {0};
    far_status st = {0};
    far_call_opts co = {.status = &st};
    assert_int_equal(far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, &a, &co),
                     FAR_ELIMIT);
    if (!strstr(st.msg, "a reply of 50028 bytes is larger than this client's limit of 32768 "
                        "bytes (far_client_opts.max_record)"))
        fail_msg("reply limit not named: %s", st.msg);
    far_arena_fini(&a);
    far_client_destroy(c);
    tserver_stop(&t);
}

/* ------------------------------------------------------------ max_list */

/* A list of u32 as fargen codes `struct l { unsigned v; l *next; }`: each
 * element preceded by TRUE, the end by FALSE; decoded by a loop bounded by
 * max_chain. */
typedef struct ulist {
    uint32_t n;
    uint64_t sum;
} ulist;

static bool list_put(far_xdr_enc *e, uint32_t n)
{
    bool ok = true;
    for (uint32_t i = 0; i < n && ok; i++)
        ok = far_xdr_put_bool(e, true) && far_xdr_put_u32(e, i);
    return ok && far_xdr_put_bool(e, false);
}

static bool list_get(far_xdr_dec *d, ulist *l)
{
    l->n = 0;
    l->sum = 0;
    for (uint32_t i = 0;; i++) {
        bool more;
        if (!far_xdr_get_bool(d, &more))
            return false;
        if (!more)
            return true;
        if (i + 1 > d->max_chain)
            return far_xdr_dec_chain_over(d);
        uint32_t v;
        if (!far_xdr_get_u32(d, &v))
            return false;
        l->n++;
        l->sum += v;
    }
}

static bool nlist_enc(far_xdr_enc *e, const void *v)
{
    return list_put(e, *(const uint32_t *)v);
}
static bool ulist_dec(far_xdr_dec *d, void *v)
{
    return list_get(d, v);
}
static bool ulist_enc(far_xdr_enc *e, const void *v)
{
    return list_put(e, ((const ulist *)v)->n);
}

#define LPROG 0x20000102u
enum { L_MAKE = 1, L_SUM = 2 };

/* MAKE: u32 n -> a list of n elements; SUM: a list -> u32 sum. */
static far_err h_make(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    ((ulist *)res)->n = *(const uint32_t *)a;
    return FAR_OK;
}
static far_err h_sum(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    *(uint32_t *)res = (uint32_t)((const ulist *)a)->sum;
    return FAR_OK;
}

static const far_proc_desc lprocs[] = {
    {P_NULL, "NULL", NULL, NULL, 0, 0, NULL},
    {L_MAKE, "MAKE", u32_dec, ulist_enc, 4, sizeof(ulist), h_make},
    {L_SUM, "SUM", ulist_dec, u32_enc, sizeof(ulist), 4, h_sum},
};
static const far_program_desc lprog = {FAR_DESC_SIZES,  .prog = LPROG,
                                       .vers = 1,       .name = "LPROG",
                                       .procs = lprocs, .nprocs = FAR__TEST_N(lprocs)};

static void test_list_limits(void **s)
{
    (void)s;
    far_server *srv;
    far_server_opts so = {.max_list = 100};
    assert_int_equal(far_server_create(&srv, &so), FAR_OK);
    assert_int_equal(far_server_add_program(srv, &lprog, NULL), FAR_OK);
    char bound[128];
    assert_int_equal(far_server_listen(srv, "tcp://127.0.0.1:0", bound, sizeof bound), FAR_OK);
    assert_int_equal(far_server_start(srv), FAR_OK);

    /* the client's limit */
    far_client_opts co = {.max_list = 100};
    far_client *c;
    assert_int_equal(far_client_open(&c, bound, &co), FAR_OK);
    uint32_t n = 150;
    ulist l;
    far_status st = {0};
    far_call_opts o = {.status = &st};
    assert_int_equal(far_client_call(c, LPROG, 1, L_MAKE, u32_enc, &n, ulist_dec, &l, NULL, &o),
                     FAR_ELIMIT);
    if (!strstr(st.msg, "list longer than 100 elements") ||
        !strstr(st.msg, "far_client_opts.max_list"))
        fail_msg("client list limit not named: %s", st.msg);
    n = 100; /* at the limit: fine */
    assert_int_equal(far_client_call(c, LPROG, 1, L_MAKE, u32_enc, &n, ulist_dec, &l, NULL, NULL),
                     FAR_OK);
    assert_int_equal(l.n, 100);
    far_client_destroy(c);
    co.max_list = 200; /* raised: the same list goes through */
    assert_int_equal(far_client_open(&c, bound, &co), FAR_OK);
    n = 150;
    assert_int_equal(far_client_call(c, LPROG, 1, L_MAKE, u32_enc, &n, ulist_dec, &l, NULL, NULL),
                     FAR_OK);
    assert_int_equal(l.n, 150);

    /* the server's limit */
    log_reset(FAR_LOG_WARN);
    uint32_t sum = 0;
    assert_int_equal(far_client_call(c, LPROG, 1, L_SUM, nlist_enc, &n, u32_dec, &sum, NULL, NULL),
                     FAR_EGARBAGE_ARGS);
    if (!log_has("arguments refused (GARBAGE_ARGS) by a limit of this server") ||
        !log_has("list longer than 100 elements") || !log_has("far_server_opts.max_list")) {
        log_show();
        fail_msg("no server log line naming max_list");
    }
    n = 100;
    assert_int_equal(far_client_call(c, LPROG, 1, L_SUM, nlist_enc, &n, u32_dec, &sum, NULL, NULL),
                     FAR_OK);
    assert_int_equal(sum, 99 * 100 / 2);
    far_client_destroy(c);
    far_server_destroy(srv);
    log_done();

    /* the default is 65536 on both sides */
    assert_int_equal(far_server_create(&srv, NULL), FAR_OK);
    assert_int_equal(far_server_add_program(srv, &lprog, NULL), FAR_OK);
    assert_int_equal(far_server_listen(srv, "tcp://127.0.0.1:0", bound, sizeof bound), FAR_OK);
    assert_int_equal(far_server_start(srv), FAR_OK);
    assert_int_equal(far_client_open(&c, bound, NULL), FAR_OK);
    n = FAR_XDR_DEFAULT_MAX_CHAIN;
    far_arena a = {0};
    assert_int_equal(far_client_call(c, LPROG, 1, L_MAKE, u32_enc, &n, ulist_dec, &l, &a, NULL),
                     FAR_OK);
    assert_int_equal(l.n, FAR_XDR_DEFAULT_MAX_CHAIN);
    n = FAR_XDR_DEFAULT_MAX_CHAIN + 1;
    assert_int_equal(far_client_call(c, LPROG, 1, L_MAKE, u32_enc, &n, ulist_dec, &l, &a, &o),
                     FAR_ELIMIT);
    assert_non_null(strstr(st.msg, "list longer than 65536 elements"));
    far_arena_fini(&a);
    far_client_destroy(c);
    far_server_destroy(srv);
}

/* ------------------------------------------------------------ arenas */

/* A zeroed arena is an arena with the default limit. */
static void test_zeroed_arena(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    far_arena a = {0};
    uint8_t buf[3000];
    memset(buf, 0x5a, sizeof buf);
    for (int i = 0; i < 3; i++) {
        blob in = {sizeof buf, buf}, out = {0};
        assert_int_equal(
            far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, &a, NULL), FAR_OK);
        assert_int_equal(out.len, sizeof buf);
        assert_memory_equal(out.val, buf, sizeof buf);
        assert_true(far_arena_used(&a) >= sizeof buf);
        far_arena_reset(&a);
    }
    /* and direct use */
    far_arena b = {0};
    void *p = far_arena_alloc(&b, 100);
    assert_non_null(p);
    memset(p, 1, 100);
    assert_int_equal(far_arena_used(&b), 104);
    far_arena_fini(&b);
    far_arena_fini(&a);
    far_client_destroy(c);
    tserver_stop(&t);
}

/* ------------------------------------------------------------ causes */

static void test_causes_named(void **s)
{
    (void)s;
    char dir[] = "/tmp/farcall-rt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char nobinder[128], addr[160];
    snprintf(nobinder, sizeof nobinder, "unix:%s/nobinder.sock", dir);
    setenv("FARCALL_BINDER", nobinder, 1);
    far_client *c;
    char spec[64];
    snprintf(spec, sizeof spec, "%u/1", TPROG);
    assert_int_equal(far_client_open(&c, spec, NULL), FAR_ENOBINDER);
    if (!strstr(far_last_error(), "no binder answered") || !strstr(far_last_error(), nobinder))
        fail_msg("no-binder message: %s", far_last_error());
    assert_null(strstr(far_last_error(), "connection refused"));
    setenv("FARCALL_BINDER", "none", 1);

    /* a Unix socket whose file does not exist */
    snprintf(addr, sizeof addr, "unix:%s/absent.sock", dir);
    assert_int_equal(far_client_open(&c, addr, NULL), FAR_ECONNREFUSED);
    if (!strstr(far_last_error(), "no such socket") || !strstr(far_last_error(), addr + 5))
        fail_msg("missing socket message: %s", far_last_error());
    /* a socket file that is there, with nobody listening: refused */
    snprintf(addr, sizeof addr, "unix:%s/stale.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%.100s", addr + 5);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    close(fd);
    assert_int_equal(far_client_open(&c, addr, NULL), FAR_ECONNREFUSED);
    if (!strstr(far_last_error(), "connection refused") || strstr(far_last_error(), "no such"))
        fail_msg("stale socket message: %s", far_last_error());
    unlink(addr + 5);
    assert_int_equal(rmdir(dir), 0);
    assert_string_equal(far_errname(FAR_ENOBINDER), "FAR_ENOBINDER");
    assert_string_equal(far_errname(FAR_ENOTREG), "FAR_ENOTREG");
    assert_non_null(strstr(far_strerror(FAR_ENOBINDER), "binder"));
    assert_non_null(strstr(far_strerror(FAR_ENOTREG), "not registered"));
}

/* ------------------------------------------------------------ opts.status */

static void async_done(const far_status *st, void *res, void *user)
{
    (void)res;
    atomic_store((_Atomic int *)user, st->err == FAR_OK ? 1 : 2);
}

static void test_status_always_filled(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    far_status st;
    far_call_opts o = {.status = &st};
    uint32_t res = 0;

    /* a sync call refused before it is made: the status says so */
    memset(&st, 0x5a, sizeof st);
    assert_int_equal(far_client_call(c, TPROG, 1, P_ADD, add_enc, NULL, u32_dec, &res, NULL, &o),
                     FAR_EMISUSE);
    assert_int_equal(st.err, FAR_EMISUSE);
    if (!strstr(st.msg, "proc 2") || !strstr(st.msg, "NULL"))
        fail_msg("status msg: %.100s", st.msg);

    /* an async call refused at its start (no callback) */
    memset(&st, 0x5a, sizeof st);
    add_args ab = {1, 2};
    assert_int_equal(far_client_call_async(c, TPROG, 1, P_ADD, add_enc, &ab, u32_dec, &res, NULL,
                                           &o, NULL, NULL),
                     FAR_EMISUSE);
    assert_int_equal(st.err, FAR_EMISUSE);
    assert_non_null(strstr(st.msg, "callback"));

    /* an async call that starts: FAR_OK and "started"; the callback has the outcome */
    _Atomic int done = 0;
    memset(&st, 0x5a, sizeof st);
    assert_int_equal(far_client_call_async(c, TPROG, 1, P_ADD, add_enc, &ab, u32_dec, &res, NULL,
                                           &o, async_done, &done),
                     FAR_OK);
    assert_int_equal(st.err, FAR_OK);
    assert_non_null(strstr(st.msg, "started"));
    for (int i = 0; i < 500 && !atomic_load(&done); i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&done), 1);
    assert_int_equal(res, 3);
    far_client_destroy(c);
    tserver_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_request_over_max_record_tcp),
        cmocka_unit_test(test_request_over_max_record_unix),
        cmocka_unit_test(test_reply_over_client_max_record),
        cmocka_unit_test(test_list_limits),
        cmocka_unit_test(test_zeroed_arena),
        cmocka_unit_test(test_causes_named),
        cmocka_unit_test(test_status_always_filled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
