/* libFuzzer harness for the server's connection code (src/svc): one
 * far_server, started once, serves a test program on a Unix socket; every
 * input is one client connection driven by the harness with raw bytes.
 *
 * The first input byte picks the mode:
 *   even: raw -- the rest goes to the socket as it is, in writes whose sizes
 *     come from the input (byte 1: how many size bytes are taken from the
 *     end, and their scale), then the harness shuts down its side and reads
 *     until the server closes: record marking and header parsing;
 *   odd: framed -- byte 0 & 2: a lazy reader (replies are read only once
 *     everything is sent, or writing has made no progress for LAZY_MS), so
 *     that the server's writes and reads back up; byte 0 & 4: the harness
 *     shuts down its side right after the last byte instead of waiting for
 *     the replies (the server then drops the calls it has not started, so
 *     replies may be missing -- never wrong).  The rest is a list of chunks
 *     [flags][len:2][bytes], each sent as one record with a correct record
 *     mark:
 *       flags & 3     0: one fragment, 1: two, 2: fragments of 1/8/15/22
 *                     bytes (by (flags >> 4) & 3), 3: one non-final fragment
 *                     then an empty final one
 *       flags & 4     the record starts a new write
 *       flags & 8     zero-padded to 65536 - 4 * ((flags >> 4) & 3) bytes
 *                     (the server's maximum is 65536): large records
 *       flags & 0x40  the bytes follow a call header the harness makes: the
 *                     first byte picks prog/vers/proc (below), so that
 *                     mutations go straight to the arguments
 *       flags & 0x80  ... with AUTH_SYS credentials instead of AUTH_NONE
 *     then one well-formed sentinel call (ADD, xid SENTINEL_XID).  The
 *     harness reads until every reply it expects has come, then shuts down
 *     and reads until the server closes.
 *
 * Every request record is judged by a model of the server written from RFC
 * 5531 and the test program below (model_reply): it says whether the record
 * gets a reply and, if so, its exact bytes.  A reply that is not expected
 * (wrong xid, wrong bytes, one reply too many), a reply record that is
 * malformed or larger than the server may send, a connection the server
 * closes in framed mode before every reply has come, and a server that
 * neither answers nor closes within STALL_MS, are bugs: the harness aborts.
 * In raw mode replies may be missing (the server drops the calls it had not
 * started when the stream ends), never wrong. */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "farcall/rpc.h"
#include "fuzz_net_common.h"
#include "svc/svc.h" /* far__server_set_max_fragment */

/* RFC 5531 §9 (the numbers are the RFC's). */
enum {
    ACC_SUCCESS,
    ACC_PROG_UNAVAIL,
    ACC_PROG_MISMATCH,
    ACC_PROC_UNAVAIL,
    ACC_GARBAGE_ARGS,
    ACC_SYSTEM_ERR
};
enum { REJ_RPC_MISMATCH, REJ_AUTH_ERROR };
enum {
    AUTHSTAT_OK,
    AUTHSTAT_BADCRED,
    AUTHSTAT_REJECTEDCRED,
    AUTHSTAT_BADVERF,
    AUTHSTAT_REJECTEDVERF,
    AUTHSTAT_TOOWEAK
};

#define TPROG  0x20000101u
#define TPROG2 0x20000102u

#define MAX_RECORD   65536u /* the server's max_record */
#define SERVER_FRAG  32768u /* replies longer than this go in fragments */
#define STALL_MS     3000   /* no progress for this long: the server hangs */
#define LAZY_MS      20     /* a lazy reader starts reading after this long stuck */
#define INPUT_MS     8000   /* one input, at most (libFuzzer's -timeout is 10 s) */
#define MAX_RECORDS  2048
#define MAX_PADDED   8
#define MAX_STREAM   (2u << 20)
#define SENTINEL_XID 0x5E471E11u
#define TEMPLATE_XID 0x7E000000u

/* ------------------------------------------------------------ the test program */

enum {
    P_NULL = 0,   /* void -> void, no handler: the runtime answers */
    P_ECHO = 1,   /* opaque<> -> opaque<> (by reference when large) */
    P_ADD = 2,    /* {int a; int b;} -> int */
    P_FAIL = 3,   /* unsigned: the handler returns far_err (x & 0xffff); auth_stat x >> 16 */
    P_STR = 4,    /* unsigned n -> string<255> of n % 300 letters from the arena */
    P_WHOAMI = 5, /* void -> AUTH_SYS credentials; AUTH_ERROR without them */
    P_NAME = 6,   /* string<16> -> string<16> */
    P_SUM = 7,    /* int<64> -> unsigned hyper */
};
#define NOBODY_UID 0xdeadu /* WHOAMI refuses this uid with AUTH_REJECTEDCRED */

typedef struct blob {
    uint32_t len;
    uint8_t *val;
} blob;
typedef struct add_args {
    int32_t a, b;
} add_args;
typedef struct ints {
    uint32_t n;
    uint32_t v[64];
} ints;
typedef struct who {
    uint32_t flavor, uid, gid, ngids;
    uint32_t gids[16];
    char *machine;
} who;

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
static bool add_dec(far_xdr_dec *d, void *v)
{
    add_args *a = v;
    return far_xdr_get_i32(d, &a->a) && far_xdr_get_i32(d, &a->b);
}
static bool u32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static bool u32_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}
static bool u64_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u64(e, *(const uint64_t *)v);
}
static bool str255_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_string(e, *(char *const *)v, 255);
}
static bool str16_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_string(e, *(char *const *)v, 16);
}
static bool str16_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_string(d, (char **)v, 16);
}
static bool ints_dec(far_xdr_dec *d, void *v)
{
    ints *x = v;
    return far_xdr_get_count(d, &x->n, 64, 4) && far_xdr_get_u32_array(d, x->v, x->n);
}
static bool who_enc(far_xdr_enc *e, const void *v)
{
    const who *w = v;
    return far_xdr_put_u32(e, w->flavor) && far_xdr_put_u32(e, w->uid) &&
           far_xdr_put_u32(e, w->gid) && far_xdr_put_count(e, w->ngids, 16) &&
           far_xdr_put_u32_array(e, w->gids, w->ngids) && far_xdr_put_string(e, w->machine, 255);
}

static far_err h_echo(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    *(blob *)res = *(const blob *)a; /* points into the request */
    return FAR_OK;
}
static far_err h_add(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    const add_args *x = a;
    *(uint32_t *)res = (uint32_t)x->a + (uint32_t)x->b;
    return FAR_OK;
}
static far_err h_fail(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)res;
    uint32_t x = *(const uint32_t *)a;
    if (x >> 16)
        far_svc_req_set_auth_stat(r, (int)(x >> 16));
    return (far_err)(x & 0xffff);
}
static far_err h_str(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl;
    uint32_t n = *(const uint32_t *)a % 300;
    char *s = far_arena_alloc(far_svc_req_arena(r), n + 1);
    if (!s)
        return FAR_ESYSTEM_ERR;
    for (uint32_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    s[n] = 0;
    *(char **)res = s; /* longer than 255: does not encode, SYSTEM_ERR */
    return FAR_OK;
}
static far_err h_whoami(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)a;
    const far_auth_sys *cr = far_svc_req_auth_sys(r);
    if (!cr)
        return FAR_EAUTH; /* the default auth_stat: AUTH_TOOWEAK */
    if (cr->uid == NOBODY_UID) {
        far_svc_req_set_auth_stat(r, AUTHSTAT_REJECTEDCRED);
        return FAR_EAUTH;
    }
    who *w = res;
    w->flavor = FAR_AUTH_SYS;
    w->uid = cr->uid, w->gid = cr->gid, w->ngids = cr->ngids;
    memcpy(w->gids, cr->gids, sizeof w->gids);
    size_t ml = strlen(cr->machinename);
    char *m = far_arena_alloc(far_svc_req_arena(r), ml + 1);
    if (!m)
        return FAR_ESYSTEM_ERR;
    memcpy(m, cr->machinename, ml + 1);
    w->machine = m;
    return FAR_OK;
}
static far_err h_name(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    *(char **)res = *(char *const *)a;
    return FAR_OK;
}
static far_err h_sum(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r;
    const ints *x = a;
    uint64_t s = 0;
    for (uint32_t i = 0; i < x->n; i++)
        s += x->v[i];
    *(uint64_t *)res = s;
    return FAR_OK;
}
static far_err h_null(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r, (void)a, (void)res;
    return FAR_OK;
}

/* Procedure ids for the model (one per descriptor below). */
enum {
    M_NULL_RT,
    M_ECHO,
    M_ADD,
    M_FAIL,
    M_STR,
    M_WHOAMI,
    M_NAME,
    M_SUM,
    M_NULL_H,
    M_NOIMPL,
    M_UNIMPL
};

#define PROC(num, nm, dec, enc, asz, rsz, fn)                                                      \
    {                                                                                              \
        .proc = (num), .name = (nm), .decode_args = (dec), .encode_res = (enc),                    \
        .args_size = (asz), .res_size = (rsz), .invoke = (fn)                                      \
    }

/* Listed out of order on purpose (find_proc's slow path). */
static const far_proc_desc v1_procs[] = {
    PROC(P_NULL, "NULL", NULL, NULL, 0, 0, NULL),
    PROC(P_ECHO, "ECHO", blob_dec, blob_enc, sizeof(blob), sizeof(blob), h_echo),
    PROC(P_ADD, "ADD", add_dec, u32_enc, sizeof(add_args), 4, h_add),
    PROC(P_FAIL, "FAIL", u32_dec, NULL, 4, 0, h_fail),
    PROC(P_STR, "STR", u32_dec, str255_enc, 4, sizeof(char *), h_str),
    PROC(P_WHOAMI, "WHOAMI", NULL, who_enc, 0, sizeof(who), h_whoami),
    PROC(P_SUM, "SUM", ints_dec, u64_enc, sizeof(ints), 8, h_sum),
    PROC(P_NAME, "NAME", str16_dec, str16_enc, sizeof(char *), sizeof(char *), h_name),
};
static const int v1_model[] = {M_NULL_RT, M_ECHO, M_ADD, M_FAIL, M_STR, M_WHOAMI, M_SUM, M_NAME};
/* Version 3: a NULL procedure with a handler, a procedure without a function
 * (it succeeds with a zeroed result), and one whose function the program's
 * `implemented` says is missing (PROC_UNAVAIL). */
static const far_proc_desc v3_procs[] = {
    PROC(0, "NULL", NULL, NULL, 0, 0, h_null),
    PROC(1, "NOIMPL", u32_dec, u32_enc, 4, 4, NULL),
    PROC(2, "UNIMPL", add_dec, u32_enc, sizeof(add_args), 4, h_add),
};
static const int v3_model[] = {M_NULL_H, M_NOIMPL, M_UNIMPL};
static bool v3_implemented(const void *impl, uint32_t proc)
{
    (void)impl;
    return proc != 2;
}
/* A second program with no procedure 0 listed (the runtime answers it). */
static const far_proc_desc p2_procs[] = {PROC(P_ADD, "ADD", add_dec, u32_enc, 8, 4, h_add)};
static const int p2_model[] = {M_ADD};

static const far_program_desc progs[] = {
    {FAR_DESC_SIZES, .prog = TPROG, .vers = 1, .name = "TPROG", .procs = v1_procs,
     .nprocs = sizeof v1_procs / sizeof v1_procs[0]},
    {FAR_DESC_SIZES, .prog = TPROG, .vers = 3, .name = "TPROG", .procs = v3_procs,
     .nprocs = sizeof v3_procs / sizeof v3_procs[0], .implemented = v3_implemented},
    {FAR_DESC_SIZES, .prog = TPROG2, .vers = 1, .name = "TPROG2", .procs = p2_procs, .nprocs = 1},
};
static const int *const progs_model[] = {v1_model, v3_model, p2_model};

/* ------------------------------------------------------------ the model */

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static bool rd_u32(rd *r, uint32_t *v)
{
    if (r->n < 4)
        return false;
    *v = net_be32(r->p);
    r->p += 4, r->n -= 4;
    return true;
}

/* opaque<max> / string<max> (RFC 4506 §4.10-11): length <= max, the bytes
 * and zero padding present. */
static bool rd_opaque(rd *r, uint32_t max, const uint8_t **b, uint32_t *len)
{
    uint32_t n;
    if (!rd_u32(r, &n) || n > max)
        return false;
    uint64_t pad = (4 - (n & 3)) & 3;
    if ((uint64_t)n + pad > r->n)
        return false;
    for (uint64_t i = 0; i < pad; i++)
        if (r->p[n + i])
            return false;
    *b = r->p;
    *len = n;
    r->p += n + pad, r->n -= n + pad;
    return true;
}

static void rep_accepted(nbuf *o, uint32_t xid, uint32_t stat)
{
    nbuf_u32(o, xid), nbuf_u32(o, 1), nbuf_u32(o, 0), nbuf_u32(o, 0), nbuf_u32(o, 0);
    nbuf_u32(o, stat);
}

static void rep_denied(nbuf *o, uint32_t xid, uint32_t stat, uint32_t a)
{
    nbuf_u32(o, xid), nbuf_u32(o, 1), nbuf_u32(o, 1), nbuf_u32(o, stat), nbuf_u32(o, a);
}

typedef struct mcred {
    uint32_t uid, gid, ngids;
    uint32_t gids[16];
    const uint8_t *machine;
    uint32_t mlen;
} mcred;

/* RFC 5531 Appendix A, with the RFC's limits. */
static bool model_auth_sys(const uint8_t *p, uint32_t n, mcred *c)
{
    rd r = {p, n};
    uint32_t stamp, count;
    if (!rd_u32(&r, &stamp) || !rd_opaque(&r, 255, &c->machine, &c->mlen) ||
        memchr(c->machine, 0, c->mlen) || !rd_u32(&r, &c->uid) || !rd_u32(&r, &c->gid) ||
        !rd_u32(&r, &count) || count > 16 || (uint64_t)count * 4 > r.n)
        return false;
    c->ngids = count;
    for (uint32_t i = 0; i < count; i++)
        rd_u32(&r, &c->gids[i]);
    return r.n == 0;
}

/* opaque_auth: 1 ok, 0 truncated (no reply), -1 bad (AUTH_BADCRED). */
static int model_auth(rd *r, uint32_t *flavor, const uint8_t **body, uint32_t *len)
{
    if (!rd_u32(r, flavor) || !rd_u32(r, len))
        return 0;
    if (*len > 400)
        return -1;
    uint32_t pad = (4 - (*len & 3)) & 3;
    if ((size_t)*len + pad > r->n)
        return 0;
    *body = r->p;
    for (uint32_t i = 0; i < pad; i++)
        if (r->p[*len + i])
            return -1;
    r->p += *len + pad, r->n -= *len + pad;
    return 1;
}

/* The arguments and results of procedure `m` (after a SUCCESS-able dispatch):
 * appends the reply. */
static void model_proc(nbuf *o, uint32_t xid, int m, rd a, const mcred *cred)
{
    const uint8_t *b;
    uint32_t n, x, y;
    switch (m) {
    case M_NULL_RT:
    case M_NULL_H:
        rep_accepted(o, xid, 0); /* void arguments: whatever follows is not looked at */
        return;
    case M_ECHO:
        if (!rd_opaque(&a, UINT32_MAX, &b, &n) || a.n)
            break;
        rep_accepted(o, xid, 0);
        nbuf_opaque(o, b, n);
        return;
    case M_ADD:
        if (!rd_u32(&a, &x) || !rd_u32(&a, &y) || a.n)
            break;
        rep_accepted(o, xid, 0);
        nbuf_u32(o, x + y);
        return;
    case M_FAIL:
        if (!rd_u32(&a, &x) || a.n)
            break;
        switch (x & 0xffff) {
        case FAR_OK:
            rep_accepted(o, xid, ACC_SUCCESS);
            return;
        case FAR_EGARBAGE_ARGS:
            rep_accepted(o, xid, ACC_GARBAGE_ARGS);
            return;
        case FAR_EPROC_UNAVAIL:
            rep_accepted(o, xid, ACC_PROC_UNAVAIL);
            return;
        case FAR_EAUTH:
            rep_denied(o, xid, REJ_AUTH_ERROR, x >> 16 ? x >> 16 : AUTHSTAT_TOOWEAK);
            return;
        default:
            rep_accepted(o, xid, ACC_SYSTEM_ERR);
            return;
        }
    case M_STR: {
        if (!rd_u32(&a, &x) || a.n)
            break;
        x %= 300;
        if (x > 255) {
            rep_accepted(o, xid, ACC_SYSTEM_ERR);
            return;
        }
        char s[256];
        for (uint32_t i = 0; i < x; i++)
            s[i] = (char)('a' + i % 26);
        rep_accepted(o, xid, 0);
        nbuf_opaque(o, s, x);
        return;
    }
    case M_WHOAMI:
        if (!cred) {
            rep_denied(o, xid, REJ_AUTH_ERROR, AUTHSTAT_TOOWEAK);
            return;
        }
        if (cred->uid == NOBODY_UID) {
            rep_denied(o, xid, REJ_AUTH_ERROR, AUTHSTAT_REJECTEDCRED);
            return;
        }
        rep_accepted(o, xid, 0);
        nbuf_u32(o, FAR_AUTH_SYS), nbuf_u32(o, cred->uid), nbuf_u32(o, cred->gid);
        nbuf_u32(o, cred->ngids);
        for (uint32_t i = 0; i < cred->ngids; i++)
            nbuf_u32(o, cred->gids[i]);
        nbuf_opaque(o, cred->machine, cred->mlen);
        return;
    case M_NAME:
        if (!rd_opaque(&a, 16, &b, &n) || a.n || memchr(b, 0, n))
            break;
        rep_accepted(o, xid, 0);
        nbuf_opaque(o, b, n);
        return;
    case M_SUM: {
        if (!rd_u32(&a, &n) || n > 64 || (uint64_t)n * 4 != a.n)
            break;
        uint64_t s = 0;
        for (uint32_t i = 0; i < n; i++) {
            rd_u32(&a, &x);
            s += x;
        }
        rep_accepted(o, xid, 0);
        nbuf_u32(o, (uint32_t)(s >> 32)), nbuf_u32(o, (uint32_t)s);
        return;
    }
    case M_UNIMPL:
        rep_accepted(o, xid, ACC_PROC_UNAVAIL);
        return;
    case M_NOIMPL:
        if (!rd_u32(&a, &x) || a.n)
            break;
        rep_accepted(o, xid, 0);
        nbuf_u32(o, 0); /* no function: the zeroed result */
        return;
    }
    rep_accepted(o, xid, ACC_GARBAGE_ARGS);
}

/* What the server must answer to the request record p[0..n): false for no
 * reply at all, true with the reply's bytes appended to o. */
static bool model_reply(const uint8_t *p, size_t n, nbuf *o)
{
    rd r = {p, n};
    uint32_t xid, mtype, rpcvers, prog, vers, proc;
    if (n < 24)
        return false;
    rd_u32(&r, &xid), rd_u32(&r, &mtype), rd_u32(&r, &rpcvers);
    rd_u32(&r, &prog), rd_u32(&r, &vers), rd_u32(&r, &proc);
    if (mtype != 0)
        return false;
    uint32_t cfl, clen, vfl, vlen;
    const uint8_t *cbody, *vbody;
    int ok = model_auth(&r, &cfl, &cbody, &clen);
    if (ok > 0)
        ok = model_auth(&r, &vfl, &vbody, &vlen);
    if (ok == 0)
        return false;
    if (ok < 0) {
        rep_denied(o, xid, REJ_AUTH_ERROR, AUTHSTAT_BADCRED);
        return true;
    }
    if (rpcvers != 2) {
        rep_denied(o, xid, REJ_RPC_MISMATCH, 2);
        nbuf_u32(o, 2);
        return true;
    }
    mcred cred;
    bool has_cred = false;
    if (cfl == FAR_AUTH_SYS) {
        if (!model_auth_sys(cbody, clen, &cred)) {
            rep_denied(o, xid, REJ_AUTH_ERROR, AUTHSTAT_BADCRED);
            return true;
        }
        has_cred = true;
    } else if (cfl != FAR_AUTH_NONE) {
        rep_denied(o, xid, REJ_AUTH_ERROR, AUTHSTAT_REJECTEDCRED);
        return true;
    }
    const far_program_desc *d = NULL;
    const int *ids = NULL;
    uint32_t low = UINT32_MAX, high = 0;
    bool known = false;
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        if (progs[i].prog != prog)
            continue;
        known = true;
        low = progs[i].vers < low ? progs[i].vers : low;
        high = progs[i].vers > high ? progs[i].vers : high;
        if (progs[i].vers == vers)
            d = &progs[i], ids = progs_model[i];
    }
    if (!known) {
        rep_accepted(o, xid, ACC_PROG_UNAVAIL);
        return true;
    }
    if (!d) {
        rep_accepted(o, xid, ACC_PROG_MISMATCH);
        nbuf_u32(o, low), nbuf_u32(o, high);
        return true;
    }
    for (size_t i = 0; i < d->nprocs; i++) {
        if (d->procs[i].proc == proc) {
            model_proc(o, xid, ids[i], r, has_cred ? &cred : NULL);
            return true;
        }
    }
    /* Procedure 0 is answered even when the program does not list it. */
    rep_accepted(o, xid, proc == 0 ? ACC_SUCCESS : ACC_PROC_UNAVAIL);
    return true;
}

/* ------------------------------------------------------------ the server */

static far_server *server;
static struct sockaddr_un server_sa;
static char server_dir[64];

static void cleanup_dir(void)
{
    /* The server unlinks its socket when it stops; it runs until exit. */
    unlink(server_sa.sun_path);
    rmdir(server_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("FARCALL_QUIET", "1", 1);
    setenv("FARCALL_BINDER", "none", 1); /* no registration with a binder */
    signal(SIGPIPE, SIG_IGN);
    snprintf(server_dir, sizeof server_dir, "/tmp/farcall-fuzz-svc-XXXXXX");
    NET_CHECK(mkdtemp(server_dir) != NULL, "mkdtemp: %s", strerror(errno));
    char addr[128];
    snprintf(addr, sizeof addr, "unix:%s/s", server_dir);
    server_sa.sun_family = AF_UNIX;
    snprintf(server_sa.sun_path, sizeof server_sa.sun_path, "%s/s", server_dir);
    far_server_opts o = {.workers = 2,
                         .max_workers = 4,
                         .max_record = MAX_RECORD,
                         .max_calls_per_conn = 8,
                         .idle_timeout_ms = 600000};
    NET_CHECK(far_server_create(&server, &o) == FAR_OK, "far_server_create");
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++)
        NET_CHECK(far_server_add_program(server, &progs[i], NULL) == FAR_OK, "add_program");
    far__server_set_max_fragment(server, SERVER_FRAG);
    NET_CHECK(far_server_listen(server, addr, NULL, 0) == FAR_OK, "listen %s: %s", addr,
              far_last_error());
    NET_CHECK(far_server_start(server) == FAR_OK, "far_server_start");
    atexit(cleanup_dir);
    net_hooks_install();
    return 0;
}

/* ------------------------------------------------------------ one input */

/* A reply the model expects, its bytes at off in the expectations buffer. */
typedef struct expect {
    uint32_t xid;
    size_t off, len;
    bool matched;
    int next; /* chain of the same hash bucket */
} expect;

#define NBUCKET 1024

typedef struct session {
    nbuf stream;    /* bytes to send */
    size_t *bounds; /* offsets in stream where a new write starts, ascending */
    size_t nbounds, capbounds;
    nbuf exp_bytes;
    expect *exp;
    size_t nexp, capexp, unmatched;
    int bucket[NBUCKET];
    bool framed;
    bool lazy;       /* read only when everything is sent or writing is stuck */
    bool early_shut; /* shut down after the last byte; replies may be missing */
    /* reading */
    nbuf in;       /* raw bytes received, not yet parsed */
    nrecs replies; /* reply records */
    size_t replies_seen;
} session;

static void add_bound(session *s, size_t at)
{
    if (s->nbounds && s->bounds[s->nbounds - 1] >= at)
        return;
    if (s->nbounds == s->capbounds) {
        s->capbounds = s->capbounds ? s->capbounds * 2 : 16;
        s->bounds = realloc(s->bounds, s->capbounds * sizeof *s->bounds);
        NET_CHECK(s->bounds != NULL, "out of memory");
    }
    s->bounds[s->nbounds++] = at;
}

/* Records what the server must answer to request p[0..n). */
static void expect_request(session *s, const uint8_t *p, size_t n)
{
    size_t off = s->exp_bytes.len;
    if (!model_reply(p, n, &s->exp_bytes))
        return;
    if (s->nexp == s->capexp) {
        s->capexp = s->capexp ? s->capexp * 2 : 64;
        s->exp = realloc(s->exp, s->capexp * sizeof *s->exp);
        NET_CHECK(s->exp != NULL, "out of memory");
    }
    expect *e = &s->exp[s->nexp];
    e->xid = net_be32(p);
    e->off = off;
    e->len = s->exp_bytes.len - off;
    e->matched = false;
    e->next = s->bucket[e->xid % NBUCKET];
    s->bucket[e->xid % NBUCKET] = (int)s->nexp;
    s->nexp++;
    s->unmatched++;
}

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "%s (%zu bytes):", what, n);
    for (size_t i = 0; i < n && i < 96; i++)
        fprintf(stderr, "%s%02x", i % 4 ? "" : " ", p[i]);
    fprintf(stderr, "%s\n", n > 96 ? " ..." : "");
}

/* A reply record arrived: it must be one the model expects. */
static void check_reply(session *s, const uint8_t *p, size_t n)
{
    NET_CHECK(n >= 20, "a reply record of %zu bytes cannot hold a reply header", n);
    NET_CHECK(n <= MAX_RECORD, "a reply record of %zu bytes (more than any request)", n);
    uint32_t xid = net_be32(p);
    int first_same = -1;
    for (int i = s->bucket[xid % NBUCKET]; i >= 0; i = s->exp[i].next) {
        expect *e = &s->exp[i];
        if (e->xid != xid || e->matched)
            continue;
        if (first_same < 0)
            first_same = i;
        if (e->len == n && memcmp(s->exp_bytes.p + e->off, p, n) == 0) {
            e->matched = true;
            s->unmatched--;
            return;
        }
    }
    hexdump("unexpected reply", p, n);
    if (first_same >= 0)
        hexdump("expected", s->exp_bytes.p + s->exp[first_same].off, s->exp[first_same].len);
    else
        fprintf(stderr, "no reply (or no further reply) expected for xid %08x\n", xid);
    NET_CHECK(0, "the server sent a reply the model does not allow (xid %08x)", xid);
}

/* Parses what has been received; checks every complete reply record. */
static void take_replies(session *s)
{
    size_t used = nrecs_parse(&s->replies, s->in.p, s->in.len, false, 0);
    /* The server frames as it says: no fragment longer than its fragment
     * size, none empty, records within bounds. */
    if (s->in.len - used >= 4) {
        uint32_t h = net_be32(s->in.p + used);
        NET_CHECK((h & 0x7fffffffu) <= SERVER_FRAG && (h & 0x7fffffffu) > 0,
                  "reply fragment header %08x (fragments are 1..%u bytes)", h, SERVER_FRAG);
        NET_CHECK(s->replies.bodies.len - (s->replies.in_rec ? s->replies.cur_off : 0) <=
                      MAX_RECORD,
                  "a reply record growing past %u bytes", MAX_RECORD);
    }
    for (size_t off = 0; off < used;) {
        uint32_t h = net_be32(s->in.p + off);
        NET_CHECK((h & 0x7fffffffu) <= SERVER_FRAG && (h & 0x7fffffffu) > 0,
                  "reply fragment header %08x (fragments are 1..%u bytes)", h, SERVER_FRAG);
        off += 4 + (h & 0x7fffffffu);
    }
    memmove(s->in.p, s->in.p + used, s->in.len - used);
    s->in.len -= used;
    for (; s->replies_seen < s->replies.n; s->replies_seen++) {
        nrec *r = &s->replies.r[s->replies_seen];
        check_reply(s, s->replies.bodies.p + r->off, r->len);
    }
    /* Reply bodies are checked: forget them. */
    if (!s->replies.in_rec) {
        s->replies.bodies.len = 0;
        s->replies.n = s->replies_seen = 0;
    }
}

static void build_raw(session *s, const uint8_t *p, size_t n)
{
    if (n < 1)
        return;
    size_t nsizes = p[0] & 15;
    size_t scale = (size_t)1 << (((p[0] >> 4) & 3) * 3);
    p++, n--;
    if (nsizes > n)
        nsizes = n;
    const uint8_t *sizes = p + n - nsizes;
    n -= nsizes;
    nbuf_add(&s->stream, p, n);
    for (size_t at = 0, i = 0; nsizes && at < n; i++) {
        at += ((size_t)sizes[i % nsizes] + 1) * scale;
        add_bound(s, at);
    }
    /* The requests the server may answer: every record the stream holds
     * (a superset of what a reader with limits finds before it gives up). */
    nrecs rs = {0};
    nrecs_parse(&rs, p, n, false, 0);
    for (size_t i = 0; i < rs.n; i++)
        if (rs.r[i].len) /* (an empty record gets no reply) */
            expect_request(s, rs.bodies.p + rs.r[i].off, rs.r[i].len);
    nrecs_free(&rs);
}

static void auth_sys_body(nbuf *b, uint32_t idx)
{
    static const char name[] = "fuzzhost";
    nbuf_u32(b, idx);
    nbuf_opaque(b, name, sizeof name - 1);
    nbuf_u32(b, idx % 4 == 3 ? NOBODY_UID : 1000 + idx % 4);
    nbuf_u32(b, 100);
    uint32_t ng = idx % 17;
    nbuf_u32(b, ng);
    for (uint32_t i = 0; i < ng; i++)
        nbuf_u32(b, 200 + i);
}

static void add_record(session *s, const uint8_t *body, size_t n, size_t frag, bool empty_last,
                       bool new_write)
{
    if (new_write)
        add_bound(s, s->stream.len);
    net_frame(&s->stream, body, n, frag, empty_last);
    expect_request(s, body, n);
}

static void build_framed(session *s, const uint8_t *p, size_t n)
{
    nbuf rec = {0};
    unsigned padded = 0;
    for (uint32_t idx = 0; n >= 3 && idx < MAX_RECORDS && s->stream.len < MAX_STREAM; idx++) {
        uint8_t fl = p[0];
        size_t len = (size_t)p[1] << 8 | p[2];
        p += 3, n -= 3;
        if (len > n)
            len = n;
        const uint8_t *b = p;
        p += len, n -= len;
        rec.len = 0;
        if (fl & 0x40) {
            uint8_t sel = 0;
            if (len)
                sel = b[0], b++, len--;
            uint32_t prog = sel & 0x40 ? TPROG2 : TPROG;
            uint32_t vers = sel & 0x80 ? 2 : sel & 0x20 ? 3 : 1;
            nbuf_u32(&rec, TEMPLATE_XID | idx), nbuf_u32(&rec, 0), nbuf_u32(&rec, 2);
            nbuf_u32(&rec, prog), nbuf_u32(&rec, vers), nbuf_u32(&rec, sel & 0x1f);
            if (fl & 0x80) {
                nbuf cred = {0};
                auth_sys_body(&cred, idx);
                nbuf_u32(&rec, FAR_AUTH_SYS);
                nbuf_opaque(&rec, cred.p, (uint32_t)cred.len);
                nbuf_free(&cred);
            } else {
                nbuf_u32(&rec, 0), nbuf_u32(&rec, 0);
            }
            nbuf_u32(&rec, 0), nbuf_u32(&rec, 0);
        }
        nbuf_add(&rec, b, len);
        size_t param = (fl >> 4) & 3;
        if ((fl & 8) && padded < MAX_PADDED) {
            size_t target = MAX_RECORD - 4 * param;
            if (rec.len < target) {
                nbuf_zero(&rec, target - rec.len);
                padded++;
            }
        }
        if (rec.len == 0)
            continue; /* an empty record is a framing error: not this mode's business */
        size_t frag = 0;
        switch (fl & 3) {
        case 1:
            frag = (rec.len + 1) / 2;
            break;
        case 2:
            frag = 1 + param * 7;
            if (frag < rec.len / 256)
                frag = rec.len / 256; /* a padded record in at most 256 fragments */
            break;
        }
        add_record(s, rec.p, rec.len, frag, (fl & 3) == 3, (fl & 4) != 0);
    }
    /* The sentinel: ADD(0x12345678, 0x0fedcba9), its reply expected as well. */
    rec.len = 0;
    nbuf_u32(&rec, SENTINEL_XID), nbuf_u32(&rec, 0), nbuf_u32(&rec, 2);
    nbuf_u32(&rec, TPROG), nbuf_u32(&rec, 1), nbuf_u32(&rec, P_ADD);
    nbuf_u32(&rec, 0), nbuf_u32(&rec, 0), nbuf_u32(&rec, 0), nbuf_u32(&rec, 0);
    nbuf_u32(&rec, 0x12345678), nbuf_u32(&rec, 0x0fedcba9);
    add_record(s, rec.p, rec.len, 0, false, true);
    nbuf_free(&rec);
}

static void report_stall(session *s, const char *what, size_t sent)
{
    fprintf(stderr,
            "fuzz_svc_conn: %s (mode %s, %zu of %zu bytes sent, %zu of %zu expected replies "
            "still missing)\n",
            what, s->framed ? "framed" : "raw", sent, s->stream.len, s->unmatched, s->nexp);
    for (size_t i = 0, k = 0; i < s->nexp && k < 8; i++) {
        if (!s->exp[i].matched) {
            k++;
            fprintf(stderr, "  missing: xid %08x\n", s->exp[i].xid);
        }
    }
    abort();
}

/* Sends the stream (write by write), reads and checks replies; in framed
 * mode until every expected reply has come, then shuts down; reads until the
 * server closes. */
static void converse(session *s, int fd)
{
    size_t sent = 0, bi = 0;
    bool shut = false, eof = false, write_dead = false;
    uint64_t start = net_now_ms(), last = start;
    uint8_t buf[65536];
    while (!eof) {
        if (!shut && (sent == s->stream.len || write_dead) &&
            (!s->framed || s->early_shut || s->unmatched == 0)) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        uint64_t now = net_now_ms();
        bool writing = sent < s->stream.len && !write_dead;
        bool reading = !s->lazy || !writing || now - last >= LAZY_MS;
        short want = (short)((reading ? POLLIN : 0) | (writing ? POLLOUT : 0));
        if (now - last >= STALL_MS)
            report_stall(s,
                         shut ? "the server did not close the connection after the end of "
                                "the stream"
                              : "the server neither answered nor closed the connection",
                         sent);
        if (now - start >= INPUT_MS)
            report_stall(s, "the input took too long (the server is live but slow)", sent);
        int wait_ms = (int)(STALL_MS - (now - last));
        if (!reading && wait_ms > LAZY_MS)
            wait_ms = LAZY_MS;
        short ev = net_poll1(fd, want, wait_ms);
        if (!ev)
            continue;
        if ((ev & POLLOUT) && sent < s->stream.len && !write_dead) {
            while (bi < s->nbounds && s->bounds[bi] <= sent)
                bi++;
            size_t end = bi < s->nbounds ? s->bounds[bi] : s->stream.len;
            if (end > s->stream.len)
                end = s->stream.len;
            ssize_t w = send(fd, s->stream.p + sent, end - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                sent += (size_t)w;
                last = net_now_ms();
            } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                write_dead = true; /* the server closed: reading tells */
            }
        }
        if (ev & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (got > 0) {
                nbuf_add(&s->in, buf, (size_t)got);
                take_replies(s);
                last = net_now_ms();
            } else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                eof = true;
            }
        }
    }
    /* A connection the server kills (our end of stream means the peer is
     * gone; malformed input) may end inside a reply it was writing.  In
     * framed mode without an early shutdown it has no reason to kill it. */
    NET_CHECK((s->in.len == 0 && !s->replies.in_rec) || !s->framed || s->early_shut,
              "the server closed the connection in the middle of a reply record (%zu bytes "
              "left over)",
              s->in.len);
    if (s->framed && !s->early_shut && s->unmatched)
        report_stall(s, "the server closed the connection before answering every call", sent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    net_mark mark = net_balance_mark();
    session s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < NBUCKET; i++)
        s.bucket[i] = -1;
    s.framed = data[0] & 1;
    s.lazy = s.framed && (data[0] & 2);
    s.early_shut = s.framed && (data[0] & 4);
    if (s.framed)
        build_framed(&s, data + 1, size - 1);
    else
        build_raw(&s, data + 1, size - 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    NET_CHECK(fd >= 0, "socket: %s", strerror(errno));
    NET_CHECK(connect(fd, (struct sockaddr *)&server_sa, sizeof server_sa) == 0, "connect: %s",
              strerror(errno));
    converse(&s, fd);
    close(fd);
    if (getenv("FUZZ_NET_DEBUG"))
        fprintf(stderr, "%s: %zu bytes sent, %zu of %zu expected replies came\n",
                s.framed ? "framed" : "raw", s.stream.len, s.nexp - s.unmatched, s.nexp);
    nrecs_free(&s.replies);
    nbuf_free(&s.stream);
    nbuf_free(&s.exp_bytes);
    nbuf_free(&s.in);
    free(s.bounds);
    free(s.exp);
    net_wait_balanced(mark, 20);
    return 0;
}
