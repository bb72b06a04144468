/* The runtime's seams ("Runtime seams"): connects bounded by the call's
 * deadline, the reply verifier checked through the auth-ops interface, the
 * registrar hook and stop, the per-connection table of calls in flight,
 * extensible descriptors, cancelling a call, lifecycle misuse that must not
 * crash or hang, and errors that tell the truth.  Loopback and Unix sockets
 * in /tmp only; every wait is bounded. */
#include "../common/sanitized.h"
#include "rt_common.h"

#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "hooks.h"
#include "msg/msg.h"
#include "net/net.h"
#include "svc/svc.h"

/* ------------------------------------------------------------ connect deadline */

/* A TCP listener that never accepts, its backlog full: a connect to it is
 * never answered (the kernel drops the SYNs), as with a host that drops
 * them.  The client's open and its calls return at their deadline. */
static void test_connect_deadline(void **s)
{
    (void)s;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 0), 0);
    socklen_t sl = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    /* Fill the backlog: connects that complete (the queue has room) until
     * one does not complete within 200 ms. */
    int fill[8], nfill = 0;
    bool full = false;
    while (nfill < 8 && !full) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        connect(fd, (struct sockaddr *)&sa, sizeof sa);
        struct pollfd pf = {fd, POLLOUT, 0};
        full = poll(&pf, 1, 200) == 0;
        fill[nfill++] = fd;
    }
    assert_true(full);
    char addr[64];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", ntohs(sa.sin_port));
    far_client_opts o = {.timeout_ms = 300};
    far_client *c = NULL;
    double t0 = now_ms();
    far_err rc = far_client_open(&c, addr, &o);
    double el = now_ms() - t0;
    assert_int_equal(rc, FAR_ETIMEDOUT);
    assert_null(c);
    assert_non_null(strstr(far_last_error(), "connecting"));
    print_message("connect to a listener that never answers: %s after %.0f ms\n", far_errname(rc),
                  el);
    assert_true(el >= 250 && el < 2500);
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    close(lfd);
}

/* ------------------------------------------------------------ a raw peer */

/* A one-shot server on a Unix socket that answers the first call it reads
 * with a reply whose verifier has flavor `verf`. */
typedef struct rawpeer {
    int lfd;
    char addr[128];
    uint32_t verf;
    pthread_t th;
} rawpeer;

static void *rawpeer_main(void *arg)
{
    rawpeer *p = arg;
    struct pollfd pf = {p->lfd, POLLIN, 0};
    if (poll(&pf, 1, 5000) != 1)
        return NULL;
    int fd = accept(p->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    uint8_t buf[512];
    size_t got = 0;
    double until = now_ms() + 5000;
    while (got < 8 && now_ms() < until) {
        struct pollfd q = {fd, POLLIN, 0};
        if (poll(&q, 1, 100) == 1) {
            ssize_t n = recv(fd, buf + got, sizeof buf - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    if (got >= 8) {
        uint32_t xid = far_xdr_load_u32(buf + 4);
        uint32_t w[] = {0x80000000u | 28, xid, 1 /* REPLY */,   0 /* ACCEPTED */,
                        p->verf,          0,   0 /* SUCCESS */, 42};
        uint8_t out[sizeof w];
        for (size_t i = 0; i < FAR__TEST_N(w); i++)
            far_xdr_store_u32(out + 4 * i, w[i]);
        ssize_t n = send(fd, out, sizeof out, MSG_NOSIGNAL);
        (void)n;
        struct pollfd q = {fd, POLLIN, 0};
        poll(&q, 1, 2000); /* until the client closes */
    }
    close(fd);
    return NULL;
}

static void rawpeer_start(rawpeer *p, uint32_t verf)
{
    tmp_unix(p->addr, sizeof p->addr, "raw.sock");
    p->verf = verf;
    p->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", p->addr + 5);
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&un, sizeof un), 0);
    assert_int_equal(listen(p->lfd, 4), 0);
    pthread_create(&p->th, NULL, rawpeer_main, p);
}

static void rawpeer_stop(rawpeer *p)
{
    pthread_join(p->th, NULL);
    close(p->lfd);
    tmp_unix_cleanup(p->addr);
}

/* The reply verifier goes through the call's flavor (auth-ops): AUTH_NONE
 * takes only an AUTH_NONE verifier, AUTH_SYS also AUTH_SHORT. */
static void test_reply_verifier(void **s)
{
    (void)s;
    struct {
        bool sys;
        uint32_t verf;
        far_err want;
    } cases[] = {
        {false, FAR_AUTH_NONE, FAR_OK},
        {false, 7, FAR_EAUTH},
        {true, 2 /* AUTH_SHORT */, FAR_OK},
        {true, 6, FAR_EAUTH},
    };
    for (size_t i = 0; i < FAR__TEST_N(cases); i++) {
        rawpeer p;
        rawpeer_start(&p, cases[i].verf);
        /* (no_ctx: the raw peer answers one call, the first; a FAR_CTX probe
         * would be it) */
        far_client_opts o = {.timeout_ms = 3000, .auth_sys = cases[i].sys, .no_ctx = true};
        far_client *c;
        assert_int_equal(far_client_open(&c, p.addr, &o), FAR_OK);
        uint32_t r = 0;
        far_status st;
        far_call_opts co = {.status = &st};
        far_err rc = far_client_call(c, TPROG, 1, P_ADD, NULL, NULL, u32_dec, &r, NULL, &co);
        assert_int_equal(rc, cases[i].want);
        assert_int_equal(st.err, rc);
        if (rc == FAR_OK)
            assert_int_equal(r, 42);
        else
            assert_non_null(strstr(st.msg, "verifier"));
        far_client_destroy(c);
        rawpeer_stop(&p);
    }
}

/* ------------------------------------------------------------ hooks, stop */

typedef struct reg_probe {
    far_server *s;
    atomic_int ups, downs;
    atomic_bool down_on_worker, down_done;
    char addr0[128];
} reg_probe;

static reg_probe probe;

static far_err probe_up(const far__prog_vers *progs, size_t n, const char *const *addrs,
                        size_t naddrs, void **reg)
{
    (void)progs;
    if (n && naddrs)
        snprintf(probe.addr0, sizeof probe.addr0, "%s", addrs[0]);
    atomic_fetch_add(&probe.ups, 1);
    *reg = &probe;
    return FAR_OK;
}

static void probe_down(void *reg)
{
    assert_ptr_equal(reg, &probe);
    atomic_store(&probe.down_on_worker, far__svc_on_worker(probe.s));
    sleep_ms(300); /* a binder slow to answer */
    atomic_fetch_add(&probe.downs, 1);
    atomic_store(&probe.down_done, true);
}

static const far__registrar probe_registrar = {probe_up, probe_down};

/* Registration goes through the registrar hook; at stop the binder is told on
 * a thread of its own (no worker waits for it), and destroy returns only once
 * it is done. */
static void test_registrar_hook(void **s)
{
    (void)s;
    memset(&probe, 0, sizeof probe);
    far__hooks_set(NULL, &probe_registrar);
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    probe.s = t.s;
    assert_int_equal(atomic_load(&probe.ups), 1);
    assert_string_equal(probe.addr0, t.bound);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    /* a handler stops the server; its reply still comes */
    assert_int_equal(far_client_call(c, TPROG, 1, P_STOP, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_OK);
    far_client_destroy(c);
    assert_int_equal(far_server_run(t.s), FAR_OK);
    assert_true(atomic_load(&probe.down_done));
    assert_false(atomic_load(&probe.down_on_worker));
    tserver_stop(&t);
    assert_int_equal(atomic_load(&probe.downs), 1);
    far__hooks_set(NULL, NULL);
}

/* ------------------------------------------------------------ a program of our own */

enum { S_TABLE = 1, S_DESTROY = 2, S_RUN = 3, S_SLEEP = 4 };

typedef struct seams_state {
    far_server *s;
    atomic_int in_sleep;
    atomic_uint seen_xid_found; /* the S_TABLE handler found this xid in its table */
    far_err run_rc;
} seams_state;

static far_err h_table(const void *impl, far_svc_req *r, const void *a, void *res)
{
    seams_state *st = (seams_state *)impl;
    (void)res;
    /* its own xid is in the connection's table; so is the other one */
    uint32_t other = *(const uint32_t *)a;
    bool self = far__svc_find_call(r, far_svc_req_xid(r)) == r;
    bool peer = far__svc_find_call(r, other) != NULL;
    atomic_store(&st->seen_xid_found, (self ? 1u : 0u) | (peer ? 2u : 0u));
    return FAR_OK;
}

static far_err h_destroy(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r, (void)a, (void)res;
    far_server_destroy(((seams_state *)impl)->s); /* misuse: stops it instead */
    return FAR_OK;
}

static far_err h_run(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r, (void)a, (void)res;
    seams_state *st = (seams_state *)impl;
    st->run_rc = far_server_run(st->s); /* misuse: FAR_EMISUSE, no hang */
    return FAR_OK;
}

static far_err h_ssleep(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)r;
    seams_state *st = (seams_state *)impl;
    atomic_fetch_add(&st->in_sleep, 1);
    sleep_ms(*(const uint32_t *)a);
    *(uint32_t *)res = *(const uint32_t *)a;
    atomic_fetch_sub(&st->in_sleep, 1);
    return FAR_OK;
}

/* A procedure table as a newer compiler might lay it out: each entry with
 * fields this library does not know after the ones it does. */
typedef struct newer_proc {
    far_proc_desc d;
    uint64_t future[3];
} newer_proc;

static const newer_proc sprocs[] = {
    {{.proc = 0, .name = "NULL"}, {1, 2, 3}},
    {{S_TABLE, "TABLE", u32_dec, NULL, 4, 0, h_table}, {4, 5, 6}},
    {{S_DESTROY, "DESTROY", NULL, NULL, 0, 0, h_destroy}, {7, 8, 9}},
    {{S_RUN, "RUN", NULL, NULL, 0, 0, h_run}, {0}},
    {{S_SLEEP, "SLEEP", u32_dec, u32_enc, 4, 4, h_ssleep}, {0}},
};
#define SPROG 0x20000111u
static const far_program_desc sprog = {.size = sizeof(far_program_desc),
                                       .proc_size = sizeof(newer_proc),
                                       .prog = SPROG,
                                       .vers = 1,
                                       .name = "SEAMS",
                                       .procs = &sprocs[0].d,
                                       .nprocs = FAR__TEST_N(sprocs)};

static void seams_start(far_server **s, seams_state *st, char *bound, size_t n, unsigned workers)
{
    memset(st, 0, sizeof *st);
    far_server_opts o = {.workers = workers};
    assert_int_equal(far_server_create(s, &o), FAR_OK);
    st->s = *s;
    assert_int_equal(far_server_add_program(*s, &sprog, st), FAR_OK);
    assert_int_equal(far_server_listen(*s, "tcp://127.0.0.1:0", bound, n), FAR_OK);
    assert_int_equal(far_server_start(*s), FAR_OK);
}

/* Descriptors with a larger procedure stride (a newer layout) are read by
 * their recorded sizes; ones too short to be descriptors are refused. */
static void test_descriptor_sizes(void **s)
{
    (void)s;
    far_server *srv;
    seams_state st;
    char bound[128];
    seams_start(&srv, &st, bound, sizeof bound, 2);
    far_client *c;
    assert_int_equal(far_client_open(&c, bound, NULL), FAR_OK);
    uint32_t ms = 5, r = 0;
    assert_int_equal(far_client_call(c, SPROG, 1, S_SLEEP, u32_enc, &ms, u32_dec, &r, NULL, NULL),
                     FAR_OK);
    assert_int_equal(r, 5);
    assert_int_equal(far_client_call(c, SPROG, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL), FAR_OK);
    assert_int_equal(far_client_call(c, SPROG, 1, 9, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_EPROC_UNAVAIL);
    far_client_destroy(c);
    far_server_destroy(srv);

    far_server *t;
    assert_int_equal(far_server_create(&t, NULL), FAR_OK);
    far_program_desc old = sprog;
    old.size = 8; /* not even prog and vers */
    assert_int_equal(far_server_add_program(t, &old, NULL), FAR_EMISUSE);
    old = sprog;
    old.proc_size = 8;
    assert_int_equal(far_server_add_program(t, &old, NULL), FAR_EMISUSE);
    far_server_destroy(t);
}

static void cb_count(const far_status *st, void *res, void *user)
{
    (void)res;
    atomic_int *n = user;
    atomic_store(&n[1], st->err);
    atomic_fetch_add(&n[0], 1);
}

/* The server keeps a table of each connection's calls in flight, by xid. */
static void test_calls_in_flight_table(void **s)
{
    (void)s;
    far_server *srv;
    seams_state st;
    char bound[128];
    seams_start(&srv, &st, bound, sizeof bound, 2);
    far_client *c;
    assert_int_equal(far_client_open(&c, bound, NULL), FAR_OK);
    /* a slow call on the connection, then TABLE looking for it by xid */
    uint64_t slow_id = 0;
    uint32_t ms = 400, r = 0;
    far_call_opts so = {.call_id = &slow_id};
    atomic_int n[2] = {0, 0};
    assert_int_equal(far_client_call_async(c, SPROG, 1, S_SLEEP, u32_enc, &ms, u32_dec, &r, NULL,
                                           &so, cb_count, n),
                     FAR_OK);
    double until = now_ms() + 3000;
    while (atomic_load(&st.in_sleep) == 0 && now_ms() < until)
        sleep_ms(2);
    assert_int_equal(atomic_load(&st.in_sleep), 1);
    uint32_t xid = (uint32_t)slow_id;
    assert_int_equal(far_client_call(c, SPROG, 1, S_TABLE, u32_enc, &xid, NULL, NULL, NULL, NULL),
                     FAR_OK);
    assert_int_equal(atomic_load(&st.seen_xid_found), 3); /* itself, and the slow one */
    until = now_ms() + 3000;
    while (atomic_load(&n[0]) == 0 && now_ms() < until)
        sleep_ms(2);
    assert_int_equal(atomic_load(&n[1]), FAR_OK);
    assert_int_equal(r, 400);
    /* answered: no longer in the table */
    assert_int_equal(far_client_call(c, SPROG, 1, S_TABLE, u32_enc, &xid, NULL, NULL, NULL, NULL),
                     FAR_OK);
    assert_int_equal(atomic_load(&st.seen_xid_found), 1);
    far_client_destroy(c);
    far_server_destroy(srv);
}

/* ------------------------------------------------------------ cancel */

typedef struct cancel_arg {
    far_client *c;
    _Atomic uint64_t id;
    far_err rc;
    uint32_t r;
    double done_at;
} cancel_arg;

static void *cancel_caller(void *p)
{
    cancel_arg *a = p;
    uint64_t id = 0;
    uint32_t ms = 3000;
    a->r = 0x5eed;
    far_call_opts o = {.call_id = &id};
    a->rc = far_client_call(a->c, SPROG, 1, S_SLEEP, u32_enc, &ms, u32_dec, &a->r, NULL, &o);
    a->done_at = now_ms();
    atomic_store(&a->id, id);
    return NULL;
}

static void test_cancel(void **s)
{
    (void)s;
    far_server *srv;
    seams_state st;
    char bound[128];
    seams_start(&srv, &st, bound, sizeof bound, 2);
    far_client *c;
    assert_int_equal(far_client_open(&c, bound, NULL), FAR_OK);

    /* async: cancelled while the server runs it; the callback runs once with
     * FAR_ECANCELED, the late reply is dropped */
    uint64_t id = 0;
    uint32_t ms = 600, r = 0x5eed;
    far_call_opts o = {.call_id = &id};
    atomic_int n[2] = {0, 0};
    assert_int_equal(far_client_call_async(c, SPROG, 1, S_SLEEP, u32_enc, &ms, u32_dec, &r, NULL,
                                           &o, cb_count, n),
                     FAR_OK);
    assert_true(id != 0);
    double until = now_ms() + 3000;
    while (atomic_load(&st.in_sleep) == 0 && now_ms() < until)
        sleep_ms(2);
    assert_int_equal(atomic_load(&st.in_sleep), 1);
    double t0 = now_ms();
    assert_int_equal(far_client_cancel(c, id), FAR_OK);
    until = now_ms() + 3000;
    while (atomic_load(&n[0]) == 0 && now_ms() < until)
        sleep_ms(2);
    assert_int_equal(atomic_load(&n[0]), 1);
    assert_int_equal(atomic_load(&n[1]), FAR_ECANCELED);
    assert_true(now_ms() - t0 < 400);                        /* long before the handler's 600 ms */
    assert_int_equal(far_client_cancel(c, id), FAR_EMISUSE); /* done already */
    until = now_ms() + 3000;
    while (atomic_load(&st.in_sleep) && now_ms() < until)
        sleep_ms(5);
    sleep_ms(50);                /* the late reply has come and gone */
    assert_int_equal(r, 0x5eed); /* not written into the cancelled call's result */
    assert_int_equal(atomic_load(&n[0]), 1);

    /* sync, from another thread */
    cancel_arg a = {.c = c};
    pthread_t th;
    pthread_create(&th, NULL, cancel_caller, &a);
    until = now_ms() + 3000;
    while (atomic_load(&st.in_sleep) == 0 && now_ms() < until)
        sleep_ms(2);
    assert_int_equal(atomic_load(&st.in_sleep), 1);
    /* Its id is written into its own thread's variable; ids are consecutive
     * per client and the async call above had `id`, so the sync call is one
     * of the next few (only a call in flight can be cancelled). */
    t0 = now_ms();
    far_err crc = FAR_EMISUSE;
    for (uint64_t k = id + 1; k < id + 4 && crc != FAR_OK; k++)
        crc = far_client_cancel(c, k);
    assert_int_equal(crc, FAR_OK);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, FAR_ECANCELED);
    assert_int_equal(a.r, 0x5eed);
    assert_true(a.done_at - t0 < 1000);
    assert_true(atomic_load(&a.id) > id);
    /* the connection goes on */
    uint32_t ms2 = 1, r2 = 0;
    assert_int_equal(far_client_call(c, SPROG, 1, S_SLEEP, u32_enc, &ms2, u32_dec, &r2, NULL, NULL),
                     FAR_OK);
    assert_int_equal(r2, 1);
    assert_int_equal(far_client_cancel(c, 12345), FAR_EMISUSE);
    assert_int_equal(far_client_cancel(NULL, 1), FAR_EMISUSE);
    far_client_destroy(c);
    far_server_destroy(srv);
}

/* ------------------------------------------------------------ lifecycle */

typedef struct self_destroy {
    far_client *c, *other;
    atomic_int runs;
    atomic_int errs[4];
} self_destroy;

static self_destroy sd;

static void cb_destroy_self(const far_status *st, void *res, void *user)
{
    (void)res;
    intptr_t i = (intptr_t)user;
    atomic_store(&sd.errs[i], st->err);
    atomic_fetch_add(&sd.runs, 1);
    if (i == 0) {
        far_client_destroy(sd.c);     /* its own client: deferred */
        far_client_destroy(sd.c);     /* twice: still once */
        far_client_destroy(sd.other); /* another client, from here */
    }
}

/* Destroying a client from its own callback works (deferred until the
 * callback returns; its other calls complete with FAR_ECANCELED, once); so
 * does destroying another client from a callback. */
static void test_destroy_from_callback(void **s)
{
    (void)s;
    far_server *srv;
    seams_state st;
    char bound[128];
    seams_start(&srv, &st, bound, sizeof bound, 4);
    memset(&sd, 0, sizeof sd);
    assert_int_equal(far_client_open(&sd.c, bound, NULL), FAR_OK);
    assert_int_equal(far_client_open(&sd.other, bound, NULL), FAR_OK);
    uint32_t fast = 1, slow = 2000, r[4];
    assert_int_equal(far_client_call_async(sd.c, SPROG, 1, S_SLEEP, u32_enc, &fast, u32_dec, &r[0],
                                           NULL, NULL, cb_destroy_self, (void *)0),
                     FAR_OK);
    assert_int_equal(far_client_call_async(sd.c, SPROG, 1, S_SLEEP, u32_enc, &slow, u32_dec, &r[1],
                                           NULL, NULL, cb_destroy_self, (void *)1),
                     FAR_OK);
    assert_int_equal(far_client_call_async(sd.other, SPROG, 1, S_SLEEP, u32_enc, &slow, u32_dec,
                                           &r[2], NULL, NULL, cb_destroy_self, (void *)2),
                     FAR_OK);
    double until = now_ms() + 5000;
    while (atomic_load(&sd.runs) < 3 && now_ms() < until)
        sleep_ms(2);
    assert_int_equal(atomic_load(&sd.runs), 3);
    sleep_ms(100);
    assert_int_equal(atomic_load(&sd.runs), 3); /* each exactly once */
    assert_int_equal(atomic_load(&sd.errs[0]), FAR_OK);
    assert_int_equal(atomic_load(&sd.errs[1]), FAR_ECANCELED);
    assert_int_equal(atomic_load(&sd.errs[2]), FAR_ECANCELED);
    far_server_destroy(srv);
}

/* A handler that destroys its own server, or runs it: misuse, told, with no
 * crash and no hang; the server stops and is destroyed from outside. */
static void test_server_misuse_from_handler(void **s)
{
    (void)s;
    far_server *srv;
    seams_state st;
    char bound[128];
    seams_start(&srv, &st, bound, sizeof bound, 2);
    far_client *c;
    assert_int_equal(far_client_open(&c, bound, NULL), FAR_OK);
    assert_int_equal(far_client_call(c, SPROG, 1, S_RUN, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_OK);
    assert_int_equal(st.run_rc, FAR_EMISUSE);
    assert_int_equal(far_client_call(c, SPROG, 1, S_DESTROY, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_OK);
    far_client_destroy(c);
    assert_int_equal(far_server_run(srv), FAR_OK); /* it stopped */
    far_server_destroy(srv);
}

/* ------------------------------------------------------------ errors */

/* {int n; string name<4>;} with a name too long for its bound. */
static bool bad_enc(far_xdr_enc *e, const void *v)
{
    (void)v;
    if (!far_xdr_put_u32(e, 7))
        return false;
    if (!far_xdr_put_string(e, "too long for four", 4))
        return far_xdr_enc_field(e, "name");
    return true;
}

static void test_errors_told_truly(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);

    /* one code for an encode failure, offsets from the arguments */
    far_status st;
    far_call_opts co = {.status = &st};
    far_err rc = far_client_call(c, TPROG, 1, P_ADD, bad_enc, "", NULL, NULL, NULL, &co);
    assert_int_equal(rc, FAR_ELIMIT);
    assert_int_equal(st.err, FAR_ELIMIT);
    assert_non_null(strstr(st.msg, "arguments do not encode"));
    assert_non_null(strstr(st.msg, "at byte 4"));
    assert_null(strstr(st.msg, "misuse"));

    /* the caller's arena is too small: a local limit, not a bad message */
    enum { BIG = 8192 };
    uint8_t *payload = calloc(1, BIG);
    blob in = {BIG, payload}, out = {0, NULL};
    far_arena a;
    far_arena_init(&a, NULL, 0, 1024);
    rc = far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &in, blob_dec, &out, &a, &co);
    assert_int_equal(rc, FAR_ELIMIT);
    assert_non_null(strstr(st.msg, "arena"));
    far_arena_fini(&a);
    far_client_destroy(c);

    /* an address in use */
    far_server *t2;
    assert_int_equal(far_server_create(&t2, NULL), FAR_OK);
    assert_int_equal(far_server_listen(t2, t.bound, NULL, 0), FAR_EADDRINUSE);
    assert_non_null(strstr(far_last_error(), "address already in use"));
    assert_string_equal(far_strerror(FAR_EADDRINUSE), "address already in use");
    far_server_destroy(t2);
    tserver_stop(&t);

    /* a Unix socket a live server listens on is not taken over */
    char ux[128];
    tmp_unix(ux, sizeof ux, "live.sock");
    tserver u;
    tserver_start(&u, ux, NULL);
    assert_int_equal(far_server_create(&t2, NULL), FAR_OK);
    assert_int_equal(far_server_listen(t2, ux, NULL, 0), FAR_EADDRINUSE);
    far_server_destroy(t2);
    assert_int_equal(far_client_open(&c, ux, NULL), FAR_OK);
    add_args x = {2, 3};
    int32_t sum = 0;
    assert_int_equal(far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, NULL),
                     FAR_OK);
    assert_int_equal(sum, 5);
    far_client_destroy(c);
    tserver_stop(&u);
    /* ... but a stale one (no server) is */
    tserver_start(&u, ux, NULL);
    tserver_stop(&u);
    tmp_unix_cleanup(ux);

    /* a UDP call larger than a datagram fails at once */
    tserver_start(&u, "udp://127.0.0.1:0", NULL);
    far_client_opts uo = {.timeout_ms = 5000, .retry_ms = 1000};
    assert_int_equal(far_client_open(&c, u.bound, &uo), FAR_OK);
    uint8_t *huge = calloc(1, 70000);
    blob hin = {70000, huge};
    double t0 = now_ms();
    rc = far_client_call(c, TPROG, 1, P_ECHO, blob_enc, &hin, blob_dec, &out, NULL, &co);
    assert_int_equal(rc, FAR_ELIMIT);
    assert_true(now_ms() - t0 < 500);
    assert_non_null(strstr(st.msg, "does not fit in a UDP datagram"));
    free(huge);
    free(payload);
    far_client_destroy(c);
    tserver_stop(&u);
}

/* ------------------------------------------------------------ not behind handlers */

/* The NULL procedure on a connection whose other calls wait for the only
 * handler: answered at once, not after them. */
static void test_null_not_behind_queued_calls(void **s)
{
    (void)s;
    seams_state st;
    memset(&st, 0, sizeof st);
    far_server_opts o = {.workers = 1, .max_workers = 1};
    far_server *srv;
    assert_int_equal(far_server_create(&srv, &o), FAR_OK);
    st.s = srv;
    assert_int_equal(far_server_add_program(srv, &sprog, &st), FAR_OK);
    char bound[128];
    assert_int_equal(far_server_listen(srv, "tcp://127.0.0.1:0", bound, sizeof bound), FAR_OK);
    assert_int_equal(far_server_start(srv), FAR_OK);
    far_client *c;
    assert_int_equal(far_client_open(&c, bound, NULL), FAR_OK);
    uint32_t slow = 1500, quick = 1, r1 = 0, r2 = 0;
    atomic_int n1[2] = {0, 0}, n2[2] = {0, 0};
    assert_int_equal(far_client_call_async(c, SPROG, 1, S_SLEEP, u32_enc, &slow, u32_dec, &r1, NULL,
                                           NULL, cb_count, n1),
                     FAR_OK);
    double until = now_ms() + 3000;
    while (atomic_load(&st.in_sleep) == 0 && now_ms() < until)
        sleep_ms(2);
    assert_int_equal(atomic_load(&st.in_sleep), 1);
    /* queued behind it, on the same connection */
    assert_int_equal(far_client_call_async(c, SPROG, 1, S_SLEEP, u32_enc, &quick, u32_dec, &r2,
                                           NULL, NULL, cb_count, n2),
                     FAR_OK);
    sleep_ms(20);
    far_call_opts co = {.timeout_ms = 1000};
    assert_int_equal(far_client_call(c, SPROG, 1, 0, NULL, NULL, NULL, NULL, NULL, &co), FAR_OK);
    assert_int_equal(atomic_load(&n1[0]), 0); /* the slow one still runs */
    until = now_ms() + 5000;
    while ((atomic_load(&n1[0]) == 0 || atomic_load(&n2[0]) == 0) && now_ms() < until)
        sleep_ms(5);
    assert_int_equal(r1, 1500);
    assert_int_equal(r2, 1);
    far_client_destroy(c);
    far_server_destroy(srv);
}

/* ------------------------------------------------------------ the stream */

static size_t read_all_of(int fd, uint8_t *buf, size_t want)
{
    size_t got = 0;
    double until = now_ms() + 5000;
    while (got < want && now_ms() < until) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 50) == 1) {
            ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
            if (n > 0)
                got += (size_t)n;
        }
    }
    return got;
}

/* The record-stream connection's write queue: a small message overtakes a
 * bulk one that has not started; one that has started goes on first, whole;
 * everything arrives once, in that order. */
static void test_stream_two_classes(void **s)
{
    (void)s;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small_buf = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small_buf, sizeof small_buf);
    enum { BULK = 256 * 1024, SMALL = 16 };
    uint8_t *bulk = malloc(BULK), s1[SMALL], s2[SMALL];
    memset(bulk, 'B', BULK);
    memset(s1, '1', SMALL);
    memset(s2, '2', SMALL);
    struct iovec ib = {bulk, BULK}, i1 = {s1, SMALL}, i2 = {s2, SMALL};
    far__wmsg mb = {.iov = &ib, .niov = 1, .total = BULK};
    far__wmsg m1 = {.iov = &i1, .niov = 1, .total = SMALL};
    far__wmsg m2 = {.iov = &i2, .niov = 1, .total = SMALL};
    far__stream st;
    far__stream_init(&st, sv[0], 1 << 20, 4096);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    far__stream_push(&st, &mb, FAR__WMSG_BULK);
    far__stream_push(&st, &m1, FAR__WMSG_SMALL); /* queued after, sent before */
    far__wmsg *done;
    int err;
    ssize_t w = far__stream_write(&st, &mu, &done, &err);
    assert_true(w > SMALL && w < BULK); /* the socket takes only part of it */
    assert_ptr_equal(done, &m1);        /* the small one went out first, whole */
    assert_null(m1.next);
    assert_true(far__stream_remove(&st, &mb) == false); /* started: it must go on */
    far__stream_push(&st, &m2, FAR__WMSG_SMALL);        /* now it waits for the bulk one */
    uint8_t *in = malloc(BULK + 2 * SMALL);
    size_t got = 0;
    int retired = 1;
    double until = now_ms() + 5000;
    while (st.nq && now_ms() < until) {
        w = far__stream_write(&st, &mu, &done, &err);
        for (far__wmsg *m = done; m; m = m->next)
            retired++;
        ssize_t n = recv(sv[1], in + got, BULK + 2 * SMALL - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
    }
    pthread_mutex_unlock(&mu);
    assert_int_equal(st.nq, 0);
    assert_int_equal(retired, 3);
    got += read_all_of(sv[1], in + got, BULK + 2 * SMALL - got);
    assert_int_equal(got, BULK + 2 * SMALL);
    assert_memory_equal(in, s1, SMALL);
    for (size_t i = SMALL; i < SMALL + BULK; i++)
        if (in[i] != 'B')
            fail_msg("byte %zu is '%c', not the bulk message's", i, in[i]);
    assert_memory_equal(in + SMALL + BULK, s2, SMALL);
    far__stream_fini(&st);
    close(sv[0]);
    close(sv[1]);
    free(bulk);
    free(in);
}

/* ------------------------------------------------------------ outside the lock */

typedef struct reenter {
    far_client *c;
    far_err inner, outer;
    int32_t sum;
} reenter;

static reenter re;

/* An argument encoder that makes a call on the same client: if arguments
 * were encoded under the client's lock, this would deadlock on it. */
static bool enc_reentrant(far_xdr_enc *e, const void *v)
{
    (void)v;
    re.inner = far_client_call(re.c, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    return far_xdr_put_i32(e, 40) && far_xdr_put_i32(e, 2);
}

static void *reenter_main(void *p)
{
    (void)p;
    re.outer =
        far_client_call(re.c, TPROG, 1, P_ADD, enc_reentrant, "", u32_dec, &re.sum, NULL, NULL);
    return NULL;
}

static void test_args_encoded_outside_lock(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client_opts o = {.timeout_ms = 3000};
    memset(&re, 0, sizeof re);
    re.inner = re.outer = FAR_EIO;
    assert_int_equal(far_client_open(&re.c, t.bound, &o), FAR_OK);
    pthread_t th;
    pthread_create(&th, NULL, reenter_main, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    if (pthread_timedjoin_np(th, NULL, &ts) != 0)
        fail_msg("a call made from inside an argument encoder hung (encoded under the lock?)");
    assert_int_equal(re.inner, FAR_OK);
    assert_int_equal(re.outer, FAR_OK);
    assert_int_equal(re.sum, 42);
    far_client_destroy(re.c);
    tserver_stop(&t);
}

/* ------------------------------------------------------------ a long pipeline */

static atomic_int pipe_done, pipe_failed, pipe_inflight;

static void cb_pipe(const far_status *st, void *res, void *user)
{
    (void)res, (void)user;
    if (st->err != FAR_OK)
        atomic_fetch_add(&pipe_failed, 1);
    atomic_fetch_sub(&pipe_inflight, 1);
    atomic_fetch_add(&pipe_done, 1);
}

/* Hundreds of thousands of pipelined NULL calls against a server with its
 * default settings, all answered: the calls the runtime answers itself are
 * answered by the reader, window after window of max_calls_per_conn. */
static void test_long_pipeline(void **s)
{
    (void)s;
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    far_client_opts o = {.timeout_ms = 20000};
    assert_int_equal(far_client_open(&c, t.bound, &o), FAR_OK);
    int n = FAR_TEST_SANITIZED ? 60000 : 300000;
    atomic_store(&pipe_done, 0);
    atomic_store(&pipe_failed, 0);
    atomic_store(&pipe_inflight, 0);
    double t0 = now_ms(), until = t0 + 60000;
    for (int i = 0; i < n && now_ms() < until; i++) {
        while (atomic_load(&pipe_inflight) >= 1024 && now_ms() < until)
            sched_yield();
        atomic_fetch_add(&pipe_inflight, 1);
        assert_int_equal(far_client_call_async(c, TPROG, 1, P_NULL, NULL, NULL, NULL, NULL, NULL,
                                               NULL, cb_pipe, NULL),
                         FAR_OK);
    }
    while (atomic_load(&pipe_done) < n && now_ms() < until)
        sleep_ms(1);
    double el = now_ms() - t0;
    print_message("%d pipelined NULL calls (server defaults) in %.0f ms: %.0f k calls/s\n", n, el,
                  n / el);
    assert_int_equal(atomic_load(&pipe_done), n);
    assert_int_equal(atomic_load(&pipe_failed), 0);
    far_client_destroy(c);
    tserver_stop(&t);
}

int main(void)
{
    setenv("FARCALL_QUIET", "1", 0);
    setenv("FARCALL_BINDER", "none", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_deadline),
        cmocka_unit_test(test_reply_verifier),
        cmocka_unit_test(test_registrar_hook),
        cmocka_unit_test(test_descriptor_sizes),
        cmocka_unit_test(test_calls_in_flight_table),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_destroy_from_callback),
        cmocka_unit_test(test_server_misuse_from_handler),
        cmocka_unit_test(test_errors_told_truly),
        cmocka_unit_test(test_long_pipeline),
        cmocka_unit_test(test_stream_two_classes),
        cmocka_unit_test(test_null_not_behind_queued_calls),
        cmocka_unit_test(test_args_encoded_outside_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
