/* bind_peer: the farcall side of the binder tests (driven by the scripts).
 *
 *   serve ADDR...            a server of TEST_PROG versions 2 and 3 on each
 *                            ADDR; registers itself, prints "ready", serves
 *                            until SIGTERM (serve-other: program 0x20000bb3 v1)
 *   call SPEC VERS           opens SPEC (PROG/VERS@WHERE or an address), calls
 *                            procedure 0 of VERS; prints "ok ADDR" or the error
 *   add1 SPEC VERS N         calls procedure 1 (int -> int) and prints the result
 *   set PROG VERS NETID UADDR [RPCBVERS] / unset PROG VERS [NETID [UADDR]]
 *                            RPCBPROC_SET / UNSET (rpcbind v4, or RPCBVERS
 *                            3) at $FARCALL_BINDER; prints "true" or "false"
 *   pmap-set PROG VERS tcp|udp PORT
 *                            PMAPPROC_SET (portmapper v2); "true" or "false"
 *   why PROG VERS NETID UADDR
 *                            farbind's FARBIND_WHY (names program, proc 5):
 *                            prints "STATUS limit=N holder=OWNER@UADDR|- fails=N"
 *   count PROG               registrations of PROG in the binder's DUMP
 *   flood FIRST N            SETs N programs FIRST.. (tcp), prints how many
 *                            the binder accepted
 *   hostile TCPADDR UDPADDR  malformed and oversized requests; checks each is
 *                            refused (GARBAGE_ARGS or a dropped connection)
 *                            and that a valid call works after each
 *   name set|unset|lookup NAME [PROG]
 *   blackhole                a TCP listener on 127.0.0.1 that never accepts,
 *                            its backlog full, so a connect to it hangs,
 *                            and a UDP socket that never answers; prints
 *                            "listening tcp://127.0.0.1:PORT", the same for
 *                            udp, and "ready", then waits for SIGTERM
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "farcall/farcall.h"

#define TEST_PROG 0x20000bb1u

static far_err nullproc(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)impl, (void)req, (void)args, (void)res;
    return FAR_OK;
}

static bool dec_i32(far_xdr_dec *d, void *v)
{
    return far_xdr_get_i32(d, v);
}
static bool enc_i32(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_i32(e, *(const int32_t *)v);
}

static far_err add1(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)impl, (void)req;
    *(int32_t *)res = *(const int32_t *)args + 1;
    return FAR_OK;
}

static const far_proc_desc procs[] = {
    {0, "null", NULL, NULL, 0, 0, nullproc},
    {1, "add1", dec_i32, enc_i32, sizeof(int32_t), sizeof(int32_t), add1},
};
static const far_program_desc p2 = {FAR_DESC_SIZES, .prog = TEST_PROG, .vers = 2,
                                    .name = "TEST", .procs = procs,    .nprocs = 2};
static const far_program_desc p3 = {FAR_DESC_SIZES, .prog = TEST_PROG, .vers = 3,
                                    .name = "TEST", .procs = procs,    .nprocs = 2};
static const far_program_desc p_other = {FAR_DESC_SIZES,  .prog = 0x20000bb3u, .vers = 1,
                                         .name = "OTHER", .procs = procs,      .nprocs = 2};

static far_server *srv;
static void on_term(int sig)
{
    (void)sig;
    far_server_stop(srv);
}

static int serve(int argc, char **argv, bool other)
{
    if (far_server_create(&srv, &(far_server_opts){.workers = 2}) != FAR_OK)
        return 1;
    if (other ? far_server_add_program(srv, &p_other, NULL) != FAR_OK
              : far_server_add_program(srv, &p2, NULL) != FAR_OK ||
                    far_server_add_program(srv, &p3, NULL) != FAR_OK)
        return 1;
    for (int i = 0; i < argc; i++) {
        char bound[256];
        if (far_server_listen(srv, argv[i], bound, sizeof bound) != FAR_OK) {
            fprintf(stderr, "bind_peer: cannot listen on %s: %s\n", argv[i], far_last_error());
            return 1;
        }
        printf("listening %s\n", bound);
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (far_server_start(srv) != FAR_OK)
        return 1;
    printf("ready\n");
    fflush(stdout);
    far_err rc = far_server_run(srv);
    far_server_destroy(srv);
    return rc == FAR_OK ? 0 : 1;
}

static int call(const char *spec, uint32_t vers, bool do_add, int32_t n)
{
    far_client *c;
    far_err rc = far_client_open(&c, spec, &(far_client_opts){.timeout_ms = 3000});
    if (rc != FAR_OK) {
        printf("error %s: %s\n", far_errname(rc), far_last_error());
        return 1;
    }
    char addr[256];
    snprintf(addr, sizeof addr, "%s", spec);
    if (far_bind_is_dynamic(spec))
        (void)!far_bind_resolve(spec, addr, sizeof addr);
    /* the program number: the part before the first '/' */
    char pbuf[80];
    uint32_t prog;
    snprintf(pbuf, sizeof pbuf, "%.*s", (int)strcspn(spec, "/"), spec);
    if (!far_bind_is_dynamic(spec) || far_bind_program(pbuf, NULL, &prog) != FAR_OK)
        prog = TEST_PROG;
    far_status st;
    int32_t res = 0;
    rc = do_add ? far_client_call(c, prog, vers, 1, enc_i32, &n, dec_i32, &res, NULL,
                                  &(far_call_opts){.status = &st})
                : far_client_call(c, prog, vers, 0, NULL, NULL, NULL, NULL, NULL,
                                  &(far_call_opts){.status = &st});
    far_client_destroy(c);
    if (rc != FAR_OK) {
        printf("error %s: %s\n", far_errname(rc), st.msg);
        return 1;
    }
    if (do_add)
        printf("ok %" PRId32 "\n", res);
    else
        printf("ok %s\n", addr);
    return 0;
}

/* ------------------------------------------------------------ raw binder calls */

typedef struct rpcb_a {
    uint32_t prog, vers;
    const char *netid, *uaddr, *owner;
} rpcb_a;

static bool enc_rpcb(far_xdr_enc *e, const void *v)
{
    const rpcb_a *a = v;
    return far_xdr_put_u32(e, a->prog) && far_xdr_put_u32(e, a->vers) &&
           far_xdr_put_string(e, a->netid, 1000) && far_xdr_put_string(e, a->uaddr, 1000) &&
           far_xdr_put_string(e, a->owner, 1000);
}
static bool dec_bool(far_xdr_dec *d, void *v)
{
    return far_xdr_get_bool(d, v);
}

static far_client *binder(void)
{
    far_client *c;
    if (far_bind_open(&c, NULL, NULL, 0) != FAR_OK) {
        printf("error no binder: %s\n", far_last_error());
        exit(1);
    }
    return c;
}

static int setunset(uint32_t proc, uint32_t prog, uint32_t vers, const char *netid,
                    const char *uaddr, uint32_t rpcbvers)
{
    far_client *c = binder();
    rpcb_a a = {prog, vers, netid, uaddr, "ignored"};
    bool ok = false;
    far_err rc =
        far_client_call(c, 100000, rpcbvers, proc, enc_rpcb, &a, dec_bool, &ok, NULL, NULL);
    far_client_destroy(c);
    if (rc != FAR_OK) {
        printf("error %s\n", far_errname(rc));
        return 1;
    }
    printf("%s\n", ok ? "true" : "false");
    return 0;
}

/* PMAPPROC_SET: mapping {prog, vers, prot, port}. */
static bool enc_mapping(far_xdr_enc *e, const void *v)
{
    const uint32_t *m = v;
    return far_xdr_put_u32(e, m[0]) && far_xdr_put_u32(e, m[1]) && far_xdr_put_u32(e, m[2]) &&
           far_xdr_put_u32(e, m[3]);
}

static int pmap_set(uint32_t prog, uint32_t vers, const char *prot, uint32_t port)
{
    far_client *c = binder();
    uint32_t m[4] = {prog, vers, strcmp(prot, "udp") == 0 ? 17u : 6u, port};
    bool ok = false;
    far_err rc = far_client_call(c, 100000, 2, 1, enc_mapping, m, dec_bool, &ok, NULL, NULL);
    far_client_destroy(c);
    if (rc != FAR_OK) {
        printf("error %s\n", far_errname(rc));
        return 1;
    }
    printf("%s\n", ok ? "true" : "false");
    return 0;
}

/* FARBIND_WHY's answer, decoded by hand (rpcb_prot.x: farbind_why_res). */
typedef struct why_res {
    int32_t status;
    uint32_t limit, fails;
    char owner[80], addr[300];
} why_res;

static bool dec_why(far_xdr_dec *d, void *v)
{
    why_res *w = v;
    const char *s;
    uint32_t n;
    if (!far_xdr_get_i32(d, &w->status) || !far_xdr_get_u32(d, &w->limit) ||
        !far_xdr_get_string_ref(d, &s, &n, 64))
        return false;
    snprintf(w->owner, sizeof w->owner, "%.*s", (int)n, s);
    if (!far_xdr_get_string_ref(d, &s, &n, 256))
        return false;
    snprintf(w->addr, sizeof w->addr, "%.*s", (int)n, s);
    return far_xdr_get_u32(d, &w->fails);
}

static int why(uint32_t prog, uint32_t vers, const char *netid, const char *uaddr)
{
    static const char *const names[] = {"OK",       "NOT_LOCAL", "BAD_ADDR", "PORT_ZERO",
                                        "RESERVED", "TAKEN",     "FULL"};
    far_client *c = binder();
    rpcb_a a = {prog, vers, netid, uaddr, ""};
    why_res w = {0};
    far_err rc =
        far_client_call(c, FAR_BIND_NAMES_PROG, 1, 5, enc_rpcb, &a, dec_why, &w, NULL, NULL);
    far_client_destroy(c);
    if (rc != FAR_OK) {
        printf("error %s\n", far_errname(rc));
        return 1;
    }
    printf("%s limit=%" PRIu32 " holder=%s%s%s fails=%" PRIu32 "\n",
           w.status >= 0 && w.status < 7 ? names[w.status] : "?", w.limit,
           w.owner[0] ? w.owner : "-", w.owner[0] ? "@" : "", w.addr, w.fails);
    return 0;
}

/* Counts DUMP entries of prog by walking the reply by hand. */
typedef struct dumpcount {
    uint32_t prog;
    unsigned n, total;
} dumpcount;

static bool dec_dump(far_xdr_dec *d, void *v)
{
    dumpcount *dc = v;
    bool more;
    if (!far_xdr_get_bool(d, &more))
        return false;
    while (more) {
        uint32_t prog, vers;
        const char *s;
        uint32_t n;
        if (!far_xdr_get_u32(d, &prog) || !far_xdr_get_u32(d, &vers))
            return false;
        for (int i = 0; i < 3; i++)
            if (!far_xdr_get_string_ref(d, &s, &n, 1024))
                return false;
        dc->total++;
        if (prog == dc->prog)
            dc->n++;
        if (!far_xdr_get_bool(d, &more))
            return false;
    }
    return true;
}

static int count(uint32_t prog)
{
    far_client *c = binder();
    dumpcount dc = {prog, 0, 0};
    far_err rc = far_client_call(c, 100000, 4, 4, NULL, NULL, dec_dump, &dc, NULL, NULL);
    far_client_destroy(c);
    if (rc != FAR_OK) {
        printf("error %s\n", far_errname(rc));
        return 1;
    }
    printf("%u %u\n", dc.n, dc.total);
    return 0;
}

static int flood(uint32_t first, unsigned n)
{
    far_client *c = binder();
    unsigned accepted = 0;
    for (unsigned i = 0; i < n; i++) {
        rpcb_a a = {first + i, 1, "tcp", "127.0.0.1.200.1", ""};
        bool ok = false;
        if (far_client_call(c, 100000, 4, 1, enc_rpcb, &a, dec_bool, &ok, NULL, NULL) != FAR_OK) {
            printf("error call %u failed\n", i);
            far_client_destroy(c);
            return 1;
        }
        accepted += ok;
    }
    far_client_destroy(c);
    printf("%u\n", accepted);
    return 0;
}

/* ------------------------------------------------------------ hostile input */

static int failures;
#define EXPECT(cond, what)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s (line %d)\n", what, __LINE__);                                         \
            failures++;                                                                            \
        } else {                                                                                   \
            printf("ok   %s\n", what);                                                             \
        }                                                                                          \
    } while (0)

/* rpcbomb: a string claiming 4 GiB - 16 bytes, followed by nothing. */
static bool enc_bomb(far_xdr_enc *e, const void *v)
{
    (void)v;
    return far_xdr_put_u32(e, 1) && far_xdr_put_u32(e, 1) && far_xdr_put_u32(e, 0xfffffff0u);
}
/* A netid of 1000 bytes: longer than the .x allows (64). */
static bool enc_long_netid(far_xdr_enc *e, const void *v)
{
    (void)v;
    static char big[1001];
    memset(big, 'a', 1000);
    return far_xdr_put_u32(e, 1) && far_xdr_put_u32(e, 1) && far_xdr_put_string(e, big, 1000) &&
           far_xdr_put_string(e, "", 10) && far_xdr_put_string(e, "", 10);
}
/* A truncated rpcb: program only. */
static bool enc_trunc(far_xdr_enc *e, const void *v)
{
    (void)v;
    return far_xdr_put_u32(e, 1);
}
/* PMAP CALLIT with a valid body: must not be forwarded. */
static bool enc_callit(far_xdr_enc *e, const void *v)
{
    (void)v;
    return far_xdr_put_u32(e, 100000) && far_xdr_put_u32(e, 2) && far_xdr_put_u32(e, 4) &&
           far_xdr_put_opaque(e, "", 0, 10);
}

static bool valid_call_works(const char *addr)
{
    far_client *c;
    if (far_client_open(&c, addr, &(far_client_opts){.timeout_ms = 3000}) != FAR_OK)
        return false;
    dumpcount dc = {0, 0, 0};
    far_err rc = far_client_call(c, 100000, 4, 4, NULL, NULL, dec_dump, &dc, NULL, NULL);
    far_client_destroy(c);
    return rc == FAR_OK && dc.total > 0;
}

static far_err raw_call(const char *addr, uint32_t vers, uint32_t proc, far_xdr_encode_fn enc)
{
    far_client *c;
    far_err rc = far_client_open(&c, addr, &(far_client_opts){.timeout_ms = 3000});
    if (rc != FAR_OK)
        return rc;
    bool ok;
    rc = far_client_call(c, 100000, vers, proc, enc, "", dec_bool, &ok, NULL, NULL);
    far_client_destroy(c);
    return rc;
}

static int tcp_connect(const char *addr)
{
    /* tcp://127.0.0.1:PORT only */
    const char *colon = strrchr(addr, ':');
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
        return -1;
    return fd;
}

/* true if the peer closes the connection within 3 s */
static bool closed_by_peer(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char b[256];
    for (int i = 0; i < 30; i++) {
        if (poll(&p, 1, 100) > 0) {
            ssize_t n = recv(fd, b, sizeof b, 0);
            if (n <= 0)
                return true;
        }
    }
    return false;
}

static int hostile(const char *tcp, const char *udp)
{
    far_err rc;
    rc = raw_call(tcp, 4, 1, enc_bomb);
    EXPECT(rc == FAR_EGARBAGE_ARGS || rc == FAR_ECONNLOST, "rpcbomb string length in SET (tcp)");
    EXPECT(valid_call_works(tcp), "valid DUMP after rpcbomb");
    rc = raw_call(udp, 3, 3, enc_bomb);
    EXPECT(rc == FAR_EGARBAGE_ARGS || rc == FAR_ETIMEDOUT,
           "rpcbomb string length in GETADDR (udp)");
    rc = raw_call(tcp, 4, 1, enc_long_netid);
    EXPECT(rc == FAR_EGARBAGE_ARGS, "1000-byte netid in SET refused");
    rc = raw_call(tcp, 3, 3, enc_trunc);
    EXPECT(rc == FAR_EGARBAGE_ARGS, "truncated GETADDR refused");
    rc = raw_call(tcp, 4, 4, enc_trunc);
    EXPECT(rc == FAR_OK || rc == FAR_EGARBAGE_ARGS || rc == FAR_EPROTO,
           "DUMP with stray arguments answered");
    rc = raw_call(tcp, 2, 5, enc_callit);
    EXPECT(rc == FAR_EPROC_UNAVAIL, "PMAP CALLIT refused (PROC_UNAVAIL)");
    rc = raw_call(tcp, 3, 5, enc_callit);
    EXPECT(rc == FAR_EPROC_UNAVAIL, "RPCB CALLIT refused");
    rc = raw_call(tcp, 4, 10, enc_callit);
    EXPECT(rc == FAR_EPROC_UNAVAIL, "RPCB INDIRECT refused");
    rc = raw_call(udp, 4, 5, enc_callit);
    EXPECT(rc == FAR_EPROC_UNAVAIL, "RPCB BCAST refused (udp)");

    /* an oversized record: the marker claims 2 GiB */
    int fd = tcp_connect(tcp);
    uint8_t mark[4] = {0xff, 0xff, 0xff, 0xf0};
    EXPECT(fd >= 0 && send(fd, mark, 4, 0) == 4 && closed_by_peer(fd),
           "2 GiB record: connection dropped");
    if (fd >= 0)
        close(fd);
    /* garbage that is no RPC message at all: no reply is possible (RFC 5531
     * §9: the message type is not CALL), so it is dropped; the server goes on */
    fd = tcp_connect(tcp);
    uint8_t junk[16] = {0x80, 0, 0, 12, 'n', 'o', 't', ' ', 'a', 'n', ' ', 'r', 'p', 'c', '!', '!'};
    EXPECT(fd >= 0 && send(fd, junk, sizeof junk, 0) == (ssize_t)sizeof junk &&
               valid_call_works(tcp),
           "garbage record dropped, valid DUMP still served");
    if (fd >= 0)
        close(fd);
    /* many half-open connections at once, then valid clients */
    int fds[64];
    for (int i = 0; i < 64; i++) {
        fds[i] = tcp_connect(tcp);
        if (fds[i] >= 0)
            (void)!send(fds[i], mark, 2, 0);
    }
    EXPECT(valid_call_works(tcp), "valid DUMP with 64 half-sent records pending");
    for (int i = 0; i < 64; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    EXPECT(valid_call_works(tcp) && valid_call_works(udp),
           "valid DUMP over tcp and udp at the end");
    return failures ? 1 : 0;
}

static int names(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    far_err rc;
    if (!strcmp(argv[0], "set") && argc == 3) {
        rc = far_bind_name_set(argv[1], (uint32_t)strtoul(argv[2], NULL, 0));
    } else if (!strcmp(argv[0], "unset")) {
        rc = far_bind_name_unset(argv[1]);
    } else if (!strcmp(argv[0], "lookup")) {
        uint32_t prog;
        rc = far_bind_name_lookup(NULL, argv[1], &prog);
        if (rc == FAR_OK) {
            printf("%" PRIu32 "\n", prog);
            return 0;
        }
    } else {
        return 2;
    }
    printf("%s\n", rc == FAR_OK ? "ok" : far_errname(rc));
    return rc == FAR_OK ? 0 : 1;
}

/* A connect to a listener whose accept queue is full hangs (Linux drops the
 * SYN): listen(0) holds one connection; fill it, and check that the next
 * connect does not complete. */
static int blackhole(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    socklen_t len = sizeof sin;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(l, 0) != 0 ||
        getsockname(l, (struct sockaddr *)&sin, &len) != 0) {
        perror("bind_peer: blackhole");
        return 1;
    }
    int nfd = 0; /* the connections stay open (and pending) until exit */
    bool full = false;
    while (!full && nfd++ < 8) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return 1;
        if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0)
            continue;
        if (errno != EINPROGRESS)
            return 1;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        full = poll(&p, 1, 300) == 0; /* not connected in 300 ms: the SYN was dropped */
    }
    if (!full) {
        fprintf(stderr, "bind_peer: blackhole: the backlog does not fill\n");
        return 1;
    }
    /* and a UDP socket that takes datagrams and never answers */
    struct sockaddr_in u = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &u.sin_addr);
    len = sizeof u;
    int ufd = socket(AF_INET, SOCK_DGRAM, 0);
    if (ufd < 0 || bind(ufd, (struct sockaddr *)&u, sizeof u) != 0 ||
        getsockname(ufd, (struct sockaddr *)&u, &len) != 0)
        return 1;
    printf("listening tcp://127.0.0.1:%u\nlistening udp://127.0.0.1:%u\nready\n",
           ntohs(sin.sin_port), ntohs(u.sin_port));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sig;
    sigwait(&set, &sig);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        return 2;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve"))
        return serve(argc - 2, argv + 2, false);
    if (!strcmp(cmd, "serve-other"))
        return serve(argc - 2, argv + 2, true);
    if (!strcmp(cmd, "call") && argc == 4)
        return call(argv[2], (uint32_t)strtoul(argv[3], NULL, 0), false, 0);
    if (!strcmp(cmd, "add1") && argc == 5)
        return call(argv[2], (uint32_t)strtoul(argv[3], NULL, 0), true, atoi(argv[4]));
    if (!strcmp(cmd, "set") && (argc == 6 || argc == 7))
        return setunset(1, (uint32_t)strtoul(argv[2], NULL, 0), (uint32_t)strtoul(argv[3], NULL, 0),
                        argv[4], argv[5], argc == 7 ? (uint32_t)strtoul(argv[6], NULL, 0) : 4);
    if (!strcmp(cmd, "unset") && argc >= 4 && argc <= 6)
        return setunset(2, (uint32_t)strtoul(argv[2], NULL, 0), (uint32_t)strtoul(argv[3], NULL, 0),
                        argc >= 5 ? argv[4] : "", argc == 6 ? argv[5] : "", 4);
    if (!strcmp(cmd, "pmap-set") && argc == 6)
        return pmap_set((uint32_t)strtoul(argv[2], NULL, 0), (uint32_t)strtoul(argv[3], NULL, 0),
                        argv[4], (uint32_t)strtoul(argv[5], NULL, 0));
    if (!strcmp(cmd, "why") && argc == 6)
        return why((uint32_t)strtoul(argv[2], NULL, 0), (uint32_t)strtoul(argv[3], NULL, 0),
                   argv[4], argv[5]);
    if (!strcmp(cmd, "count") && argc == 3)
        return count((uint32_t)strtoul(argv[2], NULL, 0));
    if (!strcmp(cmd, "flood") && argc == 4)
        return flood((uint32_t)strtoul(argv[2], NULL, 0), (unsigned)strtoul(argv[3], NULL, 0));
    if (!strcmp(cmd, "hostile") && argc == 4)
        return hostile(argv[2], argv[3]);
    if (!strcmp(cmd, "blackhole") && argc == 2)
        return blackhole();
    if (!strcmp(cmd, "name"))
        return names(argc - 2, argv + 2);
    fprintf(stderr, "bind_peer: bad arguments\n");
    return 2;
}
