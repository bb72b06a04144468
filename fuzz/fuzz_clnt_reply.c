/* libFuzzer harness for the client's reply path (src/clnt): for every input a
 * far_client connects to a Unix socket the harness listens on, makes 1-4
 * async calls, and the harness -- playing the server -- answers with reply
 * records made from the input, then closes the connection.
 *
 * Input:
 *   byte 0     (b & 3) + 1 calls; b & 4: the client sends its calls in
 *              8-byte fragments; b & 8: with AUTH_SYS credentials
 *   1 byte per call: (b % 7) picks the result decoder (void, opaque<> into an
 *              arena, opaque<> into malloc, a struct of ints, string<32> into
 *              an arena, string<32> into malloc, unsigned<16> into malloc);
 *              (b >> 3) % 3 the argument (void, an unsigned, an opaque)
 *   the rest   reply chunks [flags][len:2][bytes], each one record:
 *     flags & 1     the record's first 4 bytes become the xid of call
 *                   (flags >> 1) & 3 (modulo the number of calls)
 *     flags & 8     the bytes follow a SUCCESS reply header for that call, so
 *                   that mutations go straight to result decoding
 *     (flags >> 4) & 3  framing: 0 one fragment, 1 two, 2 fragments of 8
 *                   bytes, 3 the chunk's first 4 bytes are the record mark
 *                   (fuzzed), the rest the body
 *     flags & 0x40  the record starts a new write
 *     flags & 0x80  zero-padded to 65534 + (len & 3) bytes: at and past the
 *                   client's max_record (65536), the in-place decoding of
 *                   large replies
 *
 * Judged by a model written from RFC 5531 §9/§11 and the documented client
 * behaviour: the harness parses the byte stream it sent the way a reader
 * with max_record must (stopping at the first framing error), finds for each
 * call the first record with its xid, and derives the exact outcome -- the
 * far_err, low/high/auth_stat, and the decoded result (an accepted reply's
 * verifier must be one of the client's flavor: AUTH_NONE, or AUTH_SHORT too
 * for AUTH_SYS).  Every callback must run exactly once with that outcome,
 * long before the client's deadline (the stream ends within milliseconds:
 * FAR_ETIMEDOUT means the client missed something); a call
 * whose reply never came must fail with the transport error the stream
 * implies (connection lost, bad record marking, or a refusal).  The calls'
 * own records are checked byte for byte as well.  Anything else aborts. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "clnt/clnt.h" /* far__client_set_max_fragment */
#include "farcall/rpc.h"
#include "fuzz_net_common.h"

#define TPROG      0x20000101u
#define MAX_RECORD 65536u
#define TIMEOUT_MS 2000u /* the client's deadline */
#define WAIT_MS    3000  /* every callback must have run by then */
#define MAX_CALLS  4
#define MAX_RECS   1024
#define MAX_PADDED 4
#define MAX_STREAM (1u << 20)

/* ------------------------------------------------------------ result types */

enum { K_VOID, K_BLOB_ARENA, K_BLOB_HEAP, K_INTS, K_STR_ARENA, K_STR_HEAP, K_LIST_HEAP, K_N };
enum { A_VOID, A_U32, A_BLOB };

typedef struct blob {
    uint32_t len;
    uint8_t *val;
} blob;
typedef struct ints3 {
    int32_t a;
    uint32_t b;
    uint64_t c;
} ints3;
typedef struct list {
    uint32_t n;
    uint32_t *val;
} list;

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
static bool u32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static bool ints_dec(far_xdr_dec *d, void *v)
{
    ints3 *x = v;
    return far_xdr_get_i32(d, &x->a) && far_xdr_get_u32(d, &x->b) && far_xdr_get_u64(d, &x->c);
}
static bool str_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_string(d, (char **)v, 32);
}
/* Heap mode: leaves a value that list_free releases after a failure too. */
static bool list_dec(far_xdr_dec *d, void *v)
{
    list *l = v;
    l->n = 0;
    l->val = NULL;
    uint32_t n;
    if (!far_xdr_get_count(d, &n, 16, 4))
        return false;
    l->val = far_xdr_alloc_array(d, n, sizeof *l->val);
    if (!l->val)
        return false;
    l->n = n;
    return far_xdr_get_u32_array(d, l->val, n);
}

static const far_xdr_decode_fn decoders[K_N] = {NULL,    blob_dec, blob_dec, ints_dec,
                                                str_dec, str_dec,  list_dec};

/* ------------------------------------------------------------ one call */

typedef struct tcall {
    int kind, argmode;
    uint32_t proc, xid;
    uint32_t arg_u32;
    uint8_t arg_bytes[32];
    blob arg_blob;
    union {
        blob b;
        ints3 i;
        char *s;
        list l;
    } res;
    far_arena arena;
    uint64_t started_ms;
    /* Written by the callback (the client's I/O thread), under run.mu. */
    int ncb;
    far_status st;
    void *cb_res;
    uint64_t done_ms;
} tcall;

typedef struct run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ncalls, ndone;
    tcall calls[MAX_CALLS];
} run;

typedef struct cb_user {
    run *r;
    int i;
} cb_user;

static void on_done(const far_status *st, void *res, void *user)
{
    cb_user *u = user;
    run *r = u->r;
    tcall *k = &r->calls[u->i];
    pthread_mutex_lock(&r->mu);
    k->ncb++;
    NET_CHECK(k->ncb == 1, "call %d (xid %08x): its callback ran %d times", u->i, k->xid, k->ncb);
    NET_CHECK(st != NULL, "callback without a status");
    k->st = *st;
    k->cb_res = res;
    k->done_ms = net_now_ms();
    r->ndone++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------ listener */

static int lfd = -1;
static char sock_dir[64], sock_path[108], sock_addr[128];

static void cleanup_dir(void)
{
    unlink(sock_path);
    rmdir(sock_dir);
}

static const far_auth_sys client_cred = {.stamp = 7,
                                         .machinename = "fuzzclient",
                                         .uid = 1234,
                                         .gid = 5678,
                                         .ngids = 3,
                                         .gids = {1, 2, 3}};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("FARCALL_QUIET", "1", 1);
    setenv("FARCALL_BINDER", "none", 1);
    signal(SIGPIPE, SIG_IGN);
    snprintf(sock_dir, sizeof sock_dir, "/tmp/farcall-fuzz-clnt-XXXXXX");
    NET_CHECK(mkdtemp(sock_dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(sock_path, sizeof sock_path, "%s/s", sock_dir);
    snprintf(sock_addr, sizeof sock_addr, "unix:%s", sock_path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    NET_CHECK(lfd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    NET_CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind: %s", strerror(errno));
    NET_CHECK(listen(lfd, 16) == 0, "listen: %s", strerror(errno));
    atexit(cleanup_dir);
    net_hooks_install();
    return 0;
}

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

/* The outcome a reply record must give a call of `kind`. */
typedef struct outcome {
    far_err err;
    uint32_t low, high;
    int auth_stat;
    /* err == FAR_OK: the result */
    const uint8_t *bytes; /* blob / string / list words */
    uint32_t len;
    ints3 ints;
} outcome;

/* RFC 5531 §9 reply header.  Returns false for a malformed one; *r is left
 * at the results of a SUCCESS reply. */
static bool model_header(rd *r, outcome *o, uint32_t *reply_stat, uint32_t *stat,
                         uint32_t *verf_flavor)
{
    uint32_t xid, mtype;
    memset(o, 0, sizeof *o);
    *verf_flavor = 0;
    if (!rd_u32(r, &xid) || !rd_u32(r, &mtype) || !rd_u32(r, reply_stat) || mtype != 1)
        return false;
    if (*reply_stat == 0) {
        uint32_t len;
        const uint8_t *body;
        if (!rd_u32(r, verf_flavor) || !rd_opaque(r, 400, &body, &len) || !rd_u32(r, stat))
            return false;
        if (*stat == 2 && (!rd_u32(r, &o->low) || !rd_u32(r, &o->high)))
            return false;
        if (*stat > 5)
            return false;
        static const far_err map[] = {FAR_OK,
                                      FAR_EPROG_UNAVAIL,
                                      FAR_EPROG_MISMATCH,
                                      FAR_EPROC_UNAVAIL,
                                      FAR_EGARBAGE_ARGS,
                                      FAR_ESYSTEM_ERR};
        o->err = map[*stat];
        return true;
    }
    if (*reply_stat != 1 || !rd_u32(r, stat))
        return false;
    if (*stat == 0) {
        o->err = FAR_ERPC_MISMATCH;
        return rd_u32(r, &o->low) && rd_u32(r, &o->high);
    }
    if (*stat == 1) {
        uint32_t a;
        o->err = FAR_EAUTH;
        if (!rd_u32(r, &a))
            return false;
        o->auth_stat = (int)a;
        return true;
    }
    return false;
}

/* `auth_sys`: the client sends AUTH_SYS credentials. */
static void model_outcome(const uint8_t *p, size_t n, int kind, bool auth_sys, outcome *o)
{
    rd r = {p, n};
    uint32_t rs, stat, vfl;
    if (!model_header(&r, o, &rs, &stat, &vfl)) {
        memset(o, 0, sizeof *o);
        o->err = FAR_EPROTO;
        return;
    }
    /* An accepted reply carries the verifier of the client's flavor:
     * AUTH_NONE, or for AUTH_SYS also AUTH_SHORT (RFC 5531 Appendix A);
     * any other is AUTH_INVALIDRESP. */
    if (rs == 0 && vfl != 0 && !(auth_sys && vfl == 2)) {
        o->err = FAR_EAUTH;
        o->auth_stat = 6;
        return;
    }
    if (o->err != FAR_OK || kind == K_VOID)
        return; /* a void result: whatever follows is not looked at */
    bool ok = false;
    uint32_t c, x;
    switch (kind) {
    case K_BLOB_ARENA:
    case K_BLOB_HEAP:
        ok = rd_opaque(&r, UINT32_MAX, &o->bytes, &o->len) && r.n == 0;
        break;
    case K_INTS:
        ok = r.n == 16;
        if (ok) {
            rd_u32(&r, &x), o->ints.a = (int32_t)x;
            rd_u32(&r, &o->ints.b);
            rd_u32(&r, &x), o->ints.c = (uint64_t)x << 32;
            rd_u32(&r, &x), o->ints.c |= x;
        }
        break;
    case K_STR_ARENA:
    case K_STR_HEAP:
        ok = rd_opaque(&r, 32, &o->bytes, &o->len) && r.n == 0 && !memchr(o->bytes, 0, o->len);
        break;
    case K_LIST_HEAP:
        ok = rd_u32(&r, &c) && c <= 16 && (uint64_t)c * 4 == r.n;
        o->bytes = r.p, o->len = c;
        break;
    }
    if (!ok) {
        memset(o, 0, sizeof *o);
        o->err = FAR_EPROTO;
    }
}

/* A farcall server's refusal at its connection limit: xid 0, SYSTEM_ERR. */
static bool is_refusal(const uint8_t *p, size_t n)
{
    if (n < 4 || net_be32(p) != 0)
        return false;
    rd r = {p, n};
    outcome o;
    uint32_t rs, stat, vfl;
    return model_header(&r, &o, &rs, &stat, &vfl) && rs == 0 && stat == 5;
}

static void check_result(const tcall *k, const outcome *o, int i)
{
    switch (k->kind) {
    case K_BLOB_ARENA:
    case K_BLOB_HEAP:
        NET_CHECK(
            k->res.b.len == o->len && (o->len == 0 || memcmp(k->res.b.val, o->bytes, o->len) == 0),
            "call %d: opaque result of %u bytes, the reply holds %u", i, k->res.b.len, o->len);
        NET_CHECK(o->len || !k->res.b.val, "call %d: empty opaque with a pointer", i);
        break;
    case K_INTS:
        NET_CHECK(k->res.i.a == o->ints.a && k->res.i.b == o->ints.b && k->res.i.c == o->ints.c,
                  "call %d: struct result differs from the reply", i);
        break;
    case K_STR_ARENA:
    case K_STR_HEAP:
        NET_CHECK(k->res.s && strlen(k->res.s) == o->len && memcmp(k->res.s, o->bytes, o->len) == 0,
                  "call %d: string result differs from the reply", i);
        break;
    case K_LIST_HEAP:
        NET_CHECK(k->res.l.n == o->len, "call %d: list of %u, the reply has %u", i, k->res.l.n,
                  o->len);
        for (uint32_t j = 0; j < o->len; j++)
            NET_CHECK(k->res.l.val[j] == net_be32(o->bytes + 4 * j), "call %d: list[%u]", i, j);
        break;
    }
}

/* ------------------------------------------------------------ the harness's side */

static void expected_args(const tcall *k, nbuf *b)
{
    if (k->argmode == A_U32)
        nbuf_u32(b, k->arg_u32);
    else if (k->argmode == A_BLOB)
        nbuf_opaque(b, k->arg_blob.val, k->arg_blob.len);
}

/* Reads the calls' records from fd and checks each byte for byte; learns
 * their xids. */
static void read_calls(run *r, int fd, bool auth_sys)
{
    nrecs rs = {0};
    nbuf in = {0}, want = {0};
    uint8_t buf[4096];
    uint64_t until = net_now_ms() + WAIT_MS;
    while (rs.n < (size_t)r->ncalls) {
        uint64_t now = net_now_ms();
        NET_CHECK(now < until, "the client sent %zu of %d calls within %d ms", rs.n, r->ncalls,
                  WAIT_MS);
        if (!net_poll1(fd, POLLIN, (int)(until - now)))
            continue;
        ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        NET_CHECK(got > 0, "the client closed its connection before sending its calls (%s)",
                  got ? strerror(errno) : "end of stream");
        nbuf_add(&in, buf, (size_t)got);
        size_t used = nrecs_parse(&rs, in.p, in.len, true, MAX_RECORD);
        NET_CHECK(!rs.error, "the client's record marking is malformed");
        memmove(in.p, in.p + used, in.len - used);
        in.len -= used;
    }
    NET_CHECK(rs.n == (size_t)r->ncalls && in.len == 0 && !rs.in_rec,
              "the client sent more than its %d calls", r->ncalls);
    nbuf cred = {0};
    if (auth_sys) {
        const far_auth_sys *a = &client_cred;
        nbuf_u32(&cred, a->stamp);
        nbuf_opaque(&cred, a->machinename, (uint32_t)strlen(a->machinename));
        nbuf_u32(&cred, a->uid), nbuf_u32(&cred, a->gid), nbuf_u32(&cred, a->ngids);
        for (uint32_t i = 0; i < a->ngids; i++)
            nbuf_u32(&cred, a->gids[i]);
    }
    for (size_t j = 0; j < rs.n; j++) {
        const uint8_t *p = rs.bodies.p + rs.r[j].off;
        size_t n = rs.r[j].len;
        NET_CHECK(n >= 24, "a call record of %zu bytes", n);
        uint32_t proc = net_be32(p + 20);
        int i = (int)proc - 10;
        NET_CHECK(i >= 0 && i < r->ncalls && r->calls[i].xid == 0, "call record for proc %u", proc);
        tcall *k = &r->calls[i];
        want.len = 0;
        nbuf_u32(&want, net_be32(p)), nbuf_u32(&want, 0), nbuf_u32(&want, 2);
        nbuf_u32(&want, TPROG), nbuf_u32(&want, 1), nbuf_u32(&want, k->proc);
        nbuf_u32(&want, auth_sys ? FAR_AUTH_SYS : FAR_AUTH_NONE);
        nbuf_opaque(&want, cred.p, (uint32_t)cred.len);
        nbuf_u32(&want, 0), nbuf_u32(&want, 0);
        expected_args(k, &want);
        NET_CHECK(n == want.len && memcmp(p, want.p, n) == 0,
                  "call %d: the record (%zu bytes) is not the call it should be (%zu bytes)", i, n,
                  want.len);
        k->xid = net_be32(p);
        NET_CHECK(k->xid != 0, "call %d has xid 0 (a server's refusal)", i);
        for (int m = 0; m < r->ncalls; m++)
            NET_CHECK(m == i || r->calls[m].xid != k->xid, "calls %d and %d share xid %08x", m, i,
                      k->xid);
    }
    nbuf_free(&cred);
    nbuf_free(&want);
    nbuf_free(&in);
    nrecs_free(&rs);
}

typedef struct replies {
    nbuf stream;
    size_t bounds[MAX_RECS + 1];
    size_t nbounds;
} replies;

static void build_replies(replies *out, const run *r, const uint8_t *p, size_t n)
{
    nbuf rec = {0};
    unsigned padded = 0;
    for (unsigned idx = 0; n >= 3 && idx < MAX_RECS && out->stream.len < MAX_STREAM; idx++) {
        uint8_t fl = p[0];
        size_t len = (size_t)p[1] << 8 | p[2];
        p += 3, n -= 3;
        if (len > n)
            len = n;
        const uint8_t *b = p;
        p += len, n -= len;
        uint32_t xid = r->calls[((fl >> 1) & 3) % r->ncalls].xid;
        int framing = (fl >> 4) & 3;
        uint32_t mark = 0;
        if (framing == 3) {
            if (len < 4)
                continue;
            mark = net_be32(b);
            b += 4, len -= 4;
        }
        rec.len = 0;
        if (fl & 8) {
            nbuf_u32(&rec, xid), nbuf_u32(&rec, 1), nbuf_u32(&rec, 0);
            nbuf_u32(&rec, 0), nbuf_u32(&rec, 0), nbuf_u32(&rec, 0);
        }
        nbuf_add(&rec, b, len);
        if ((fl & 1) && !(fl & 8)) {
            if (rec.len < 4)
                nbuf_zero(&rec, 4 - rec.len);
            net_put32(rec.p, xid);
        }
        if ((fl & 0x80) && padded < MAX_PADDED) {
            size_t target = MAX_RECORD - 2 + (len & 3);
            if (rec.len < target) {
                nbuf_zero(&rec, target - rec.len);
                padded++;
            }
        }
        if ((fl & 0x40) && out->nbounds < MAX_RECS)
            out->bounds[out->nbounds++] = out->stream.len;
        switch (framing) {
        case 0:
        case 1:
        case 2:
            if (rec.len == 0) {
                nbuf_u32(&out->stream, 0x80000000u); /* an empty record */
                break;
            }
            net_frame(&out->stream, rec.p, rec.len,
                      framing == 1   ? (rec.len + 1) / 2
                      : framing == 2 ? 8
                                     : 0,
                      false);
            break;
        case 3:
            nbuf_u32(&out->stream, mark);
            nbuf_add(&out->stream, rec.p, rec.len);
            break;
        }
    }
    nbuf_free(&rec);
}

/* Writes the stream to fd (write by write); stops early if the client has
 * closed its end (it found the stream malformed, or a refusal). */
static void send_replies(const replies *rp, int fd)
{
    size_t sent = 0, bi = 0;
    uint64_t last = net_now_ms();
    while (sent < rp->stream.len) {
        NET_CHECK(net_now_ms() - last < WAIT_MS,
                  "the client stopped reading (%zu of %zu bytes taken) without closing", sent,
                  rp->stream.len);
        short ev = net_poll1(fd, POLLOUT, 100);
        if (!(ev & (POLLOUT | POLLERR | POLLHUP)))
            continue;
        while (bi < rp->nbounds && rp->bounds[bi] <= sent)
            bi++;
        size_t end = bi < rp->nbounds ? rp->bounds[bi] : rp->stream.len;
        ssize_t w = send(fd, rp->stream.p + sent, end - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            sent += (size_t)w;
            last = net_now_ms();
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return; /* the client has closed: what it saw decides */
        }
    }
}

/* Checks every call's outcome against the model of the stream. */
static void judge(run *r, const replies *rp, bool auth_sys)
{
    nrecs rs = {0};
    nrecs_parse(&rs, rp->stream.p, rp->stream.len, true, MAX_RECORD);
    size_t refusal = SIZE_MAX;
    for (size_t j = 0; j < rs.n && refusal == SIZE_MAX; j++)
        if (is_refusal(rs.bodies.p + rs.r[j].off, rs.r[j].len))
            refusal = j;
    for (int i = 0; i < r->ncalls; i++) {
        tcall *k = &r->calls[i];
        NET_CHECK(k->cb_res == (k->kind == K_VOID ? NULL : (void *)&k->res),
                  "call %d: the callback got res %p, not the one passed", i, k->cb_res);
        const far_status *st = &k->st;
        if (getenv("FUZZ_NET_DEBUG"))
            fprintf(stderr, "call %d xid %08x kind %d: %s after %llu ms: %s\n", i, k->xid, k->kind,
                    far_errname(st->err), (unsigned long long)(k->done_ms - k->started_ms),
                    st->msg);
        /* The harness ends the stream within milliseconds of the calls: the
         * client must see that (or a reply) long before the deadline. */
        NET_CHECK(st->err != FAR_ETIMEDOUT,
                  "call %d (xid %08x): FAR_ETIMEDOUT after %llu ms, but the stream had ended "
                  "long before (the client stopped reading, or missed the end of the stream)",
                  i, k->xid, (unsigned long long)(k->done_ms - k->started_ms));
        size_t first = SIZE_MAX;
        for (size_t j = 0; j < rs.n && first == SIZE_MAX; j++)
            if (rs.r[j].len >= 4 && net_be32(rs.bodies.p + rs.r[j].off) == k->xid)
                first = j;
        if (first == SIZE_MAX) {
            /* a record over the client's max_record is a limit of its own
             * (FAR_ELIMIT naming the option), other framing errors the peer's */
            far_err want = refusal != SIZE_MAX       ? FAR_ETOOMANY
                           : rs.error == NREC_ELIMIT ? FAR_ELIMIT
                           : rs.error                ? FAR_EPROTO
                                                     : FAR_ECONNLOST;
            NET_CHECK(st->err == want, "call %d (xid %08x): no reply to it, so %s, not %s (%s)", i,
                      k->xid, far_errname(want), far_errname(st->err), st->msg);
            continue;
        }
        outcome o;
        model_outcome(rs.bodies.p + rs.r[first].off, rs.r[first].len, k->kind, auth_sys, &o);
        if (first > refusal && st->err == FAR_ETOOMANY)
            continue; /* the refusal may be seen first */
        NET_CHECK(st->err == o.err,
                  "call %d (xid %08x, kind %d): reply record %zu (%zu bytes) gives %s, the "
                  "callback got %s (%s)",
                  i, k->xid, k->kind, first, rs.r[first].len, far_errname(o.err),
                  far_errname(st->err), st->msg);
        NET_CHECK(st->low == o.low && st->high == o.high && st->auth_stat == o.auth_stat,
                  "call %d: low/high/auth_stat %u/%u/%d, the reply says %u/%u/%d", i, st->low,
                  st->high, st->auth_stat, o.low, o.high, o.auth_stat);
        if (o.err == FAR_OK)
            check_result(k, &o, i);
    }
    nrecs_free(&rs);
}

static void free_results(run *r)
{
    for (int i = 0; i < r->ncalls; i++) {
        tcall *k = &r->calls[i];
        if (k->kind == K_BLOB_HEAP)
            free(k->res.b.val);
        else if (k->kind == K_STR_HEAP)
            free(k->res.s);
        else if (k->kind == K_LIST_HEAP)
            free(k->res.l.val);
        far_arena_fini(&k->arena);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    net_mark mark = net_balance_mark();
    static run r; /* (static: the callbacks' user data must outlive nothing else) */
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r.cv, &ca);
    pthread_condattr_destroy(&ca);
    uint8_t b0 = data[0];
    r.ncalls = (b0 & 3) + 1;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    for (int i = 0; i < r.ncalls; i++) {
        uint8_t spec = n ? p[0] : 0;
        if (n)
            p++, n--;
        tcall *k = &r.calls[i];
        k->kind = spec % K_N;
        k->argmode = (spec >> 3) % 3;
        k->proc = 10 + (uint32_t)i;
        k->arg_u32 = 0xA0000000u | (uint32_t)i;
        k->arg_blob.len = (uint32_t)i * 5 + 1;
        memset(k->arg_bytes, 0x40 + i, sizeof k->arg_bytes);
        k->arg_blob.val = k->arg_bytes;
        far_arena_init(&k->arena, NULL, 0, 1u << 20);
    }

    /* plain ONC RPC: the model knows no FAR_CTX probe (a peer that answers
     * it is a farcall server, which this harness does not play) */
    far_client_opts co = {.timeout_ms = TIMEOUT_MS, .max_record = MAX_RECORD, .no_ctx = true};
    if (b0 & 8) {
        co.auth_sys = true;
        co.cred = &client_cred;
    }
    far_client *c = NULL;
    NET_CHECK(far_client_open(&c, sock_addr, &co) == FAR_OK, "far_client_open: %s",
              far_last_error());
    if (b0 & 4)
        far__client_set_max_fragment(c, 8);
    NET_CHECK(net_poll1(lfd, POLLIN, WAIT_MS) & POLLIN, "no connection to accept");
    int afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    NET_CHECK(afd >= 0, "accept: %s", strerror(errno));

    static cb_user users[MAX_CALLS];
    for (int i = 0; i < r.ncalls; i++) {
        tcall *k = &r.calls[i];
        users[i].r = &r;
        users[i].i = i;
        far_xdr_encode_fn enc = k->argmode == A_U32    ? u32_enc
                                : k->argmode == A_BLOB ? blob_enc
                                                       : NULL;
        const void *args = k->argmode == A_U32 ? (const void *)&k->arg_u32 : &k->arg_blob;
        bool arena = k->kind == K_BLOB_ARENA || k->kind == K_STR_ARENA;
        k->started_ms = net_now_ms();
        far_err rc = far_client_call_async(c, TPROG, 1, k->proc, enc, enc ? args : NULL,
                                           decoders[k->kind], k->kind ? &k->res : NULL,
                                           arena ? &k->arena : NULL, NULL, on_done, &users[i]);
        NET_CHECK(rc == FAR_OK, "far_client_call_async: %s", far_errname(rc));
    }
    read_calls(&r, afd, (b0 & 8) != 0);

    replies rp;
    memset(&rp, 0, sizeof rp);
    build_replies(&rp, &r, p, n);
    send_replies(&rp, afd);
    /* Whatever the client still sent is read first, so that the close is an
     * orderly end of stream. */
    uint8_t junk[512];
    while (recv(afd, junk, sizeof junk, MSG_DONTWAIT) > 0) {
    }
    close(afd);

    pthread_mutex_lock(&r.mu);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += WAIT_MS / 1000;
    while (r.ndone < r.ncalls) {
        if (pthread_cond_timedwait(&r.cv, &r.mu, &ts) != 0 && r.ndone < r.ncalls) {
            for (int i = 0; i < r.ncalls; i++)
                if (!r.calls[i].ncb)
                    fprintf(stderr, "call %d (xid %08x): no callback\n", i, r.calls[i].xid);
            NET_CHECK(0, "%d of %d callbacks ran within %d ms", r.ndone, r.ncalls, WAIT_MS);
        }
    }
    pthread_mutex_unlock(&r.mu);
    judge(&r, &rp, (b0 & 8) != 0);
    far_client_destroy(c);
    for (int i = 0; i < r.ncalls; i++)
        NET_CHECK(r.calls[i].ncb == 1, "call %d: callback ran %d times", i, r.calls[i].ncb);
    free_results(&r);
    nbuf_free(&rp.stream);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    net_wait_balanced(mark, 20);
    return 0;
}
