/* Client: the replies -- one read of the connection, its records matched to
 * their calls by xid (under one lock for the whole read), checked through the
 * call's flavor, decoded outside the lock (large results in place, into the
 * caller's arena), completed under one lock; a server's refusal of the
 * connection recognised; a bulk PULL's chunk received straight into its
 * memory sink (try_direct).  The caller holds the reader token. */
#include "clnt/clnt.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#define REPLY_BATCH 64 /* replies of one read matched and completed together */

/* ------------------------------------------------------------ receiving */

/* A reply read and not yet handed to its caller. */
typedef struct reply {
    const uint8_t *p;
    size_t n;
    call *k;
    far_err rc;
    far__reply_hdr h;
    far_xdr_dec d;
    uint8_t *wipe;   /* received straight into its sink (try_direct): the range, */
    size_t wipe_len; /* wiped unless the reply and its chunk verify */
} reply;

static _Atomic uint64_t direct_bytes;

uint64_t far__client_direct_bytes(void)
{
    return atomic_load_explicit(&direct_bytes, memory_order_relaxed);
}

/* What raises a limit of this client that a reply ran into. */
static const char *limit_hint(unsigned limit)
{
    switch (limit) {
    case FAR_XDR_LIMIT_CHAIN:
        return " (a limit of this client: far_client_opts.max_list)";
    case FAR_XDR_LIMIT_ARENA:
        return " (a limit of this client: the max of the call's arena, far_arena_init)";
    case FAR_XDR_LIMIT_ALLOC:
        return " (a limit of this client: decoding without an arena takes at most 64 MiB; "
               "decode into an arena with a larger max)";
    default:
        return " (a limit of this client)";
    }
}

/* Decodes one matched reply into its call (no lock: the call is out of the
 * table and marked decoding, so nobody else touches it).  A large reply
 * (`steal`: it is in the stream's read buffer) decoded into an arena is
 * decoded in place: the buffer goes to the arena (freed at its reset) and
 * opaques and strings point into it, no copy. */
static void decode_reply(far_client *c, reply *v, bool steal)
{
    call *k = v->k;
    far_err rc = v->rc;
    const char *detail = NULL;
    char why[400];
    if (rc != FAR_OK) {
        rc = FAR_EPROTO;
        detail = "malformed reply header";
    } else {
        rc = far__reply_err(&v->h);
        k->st.low = v->h.low;
        k->st.high = v->h.high;
        k->st.auth_stat = (int)v->h.auth_stat;
        const far__cauth *a = k->auth ? k->auth : &c->auth;
        uint64_t srv_boot;
        if (v->h.reply_stat == FAR__MSG_ACCEPTED && a->ops->check_reply_verf &&
            a->ops->check_reply_verf(a, &v->h, &k->sec) != FAR_OK) {
            rc = FAR_EAUTH;
            k->st.auth_stat = FAR_AUTH_INVALIDRESP;
            snprintf(why, sizeof why,
                     "the reply's verifier (flavor %" PRIu32 ") is not one "
                     "%s replies carry",
                     v->h.verf_flavor, a->ops->name);
            detail = why;
        } else if (v->h.reply_stat == FAR__MSG_ACCEPTED && k->handle_off &&
                   far__ctx_verf_decode(&v->h, &srv_boot, NULL, NULL) == FAR_OK &&
                   srv_boot != k->srv_boot) {
            /* (UDP: a retransmission reached a server that restarted) */
            rc = FAR_EUNKNOWN_OUTCOME;
            detail = "its boot epoch changed while the call was in flight (a "
                     "retransmission reached the new one)";
        } else if (rc == FAR_EAUTH && (a == &c->auth_ctx || a == &c->auth_sec) &&
                   v->h.auth_stat == FAR_AUTH_RPCSEC_GSS_CTXPROBLEM) {
            detail = "the server does not know this client's FAR_CTX context (it restarted, or "
                     "forgot the context): the call was not run";
        }
        const uint8_t *p = v->d.p;
        size_t n = far_xdr_dec_left(&v->d);
        if (rc == FAR_OK && a->ops->unwrap_results) {
            /* a bulk PULL's chunk may be opened straight into its sink
             * (hooks.h); one received there already is plaintext as sent */
            far__body_place pl = {0};
            if (k->prog == FAR__BULK_PROG && k->proc == FAR__BULK_PROC_PULL && k->res && !v->wipe) {
                const far__bulk_placer *bp = far__bulk_placer_get();
                if (k->dec == bp->dec)
                    pl = (far__body_place){bp->place, k->res};
            }
            if ((rc = a->ops->unwrap_results(a, &k->sec, &p, &n, pl.place ? &pl : NULL)) !=
                FAR_OK) {
                k->st.auth_stat = FAR_AUTH_INVALIDRESP;
                detail = "the results do not unwrap (their protection does not verify)";
            }
        }
        if (rc == FAR_OK && k->dec) {
            unsigned flags = 0;
            uint8_t *own = NULL;
            if (steal && k->arena && (own = far__recrd_steal(&c->st.rd, NULL)) != NULL &&
                far__arena_adopt(k->arena, own)) {
                flags = FAR_XDR_ZEROCOPY;
                own = NULL;
            }
            far_xdr_dec rd;
            far_xdr_dec_init(&rd, p, n, k->arena, flags);
            far_xdr_dec_set_max_chain(&rd, c->o.max_list);
            if (!k->dec(&rd, k->res) || !far_xdr_dec_done(&rd)) {
                /* A limit of ours (the caller's arena, the decoder's allocation
                 * limit, memory) is not the peer's fault: it is named, with
                 * what raises it. */
                rc = rd.err.local ? rd.err.code : FAR_EPROTO;
                char e[200];
                far_xdr_dec_strerror(&rd, e, sizeof e);
                snprintf(why, sizeof why, "%s%s", e, rd.err.local ? limit_hint(rd.err.limit) : "");
                detail = why;
            }
            free(own);
        }
    }
    /* (the bulk decoder wipes a chunk it finds damaged; this, one whose
     * reply failed before it was decoded) */
    if (v->wipe && rc != FAR_OK)
        memset(v->wipe, 0, v->wipe_len);
    far__call_set_status(c, k, rc, detail);
}

/* A farcall server at its connection limit says so before it closes the
 * connection: a reply to xid 0 (which this client never uses) with
 * SYSTEM_ERR.  Classic peers never send one unasked. */
static bool is_refusal(const reply *v)
{
    return v->rc == FAR_OK && v->h.xid == 0 && v->h.reply_stat == FAR__MSG_ACCEPTED &&
           v->h.stat == FAR__ACC_SYSTEM_ERR;
}

/* The replies of one read (the reader token is held, c->mu is not); `now`:
 * when they were read.  Matched to their calls under one lock, decoded
 * without it, completed under one lock.  `steal`: see decode_reply (n is 1).
 * Returns true if the server refused the connection (is_refusal). */
static bool handle_replies(far_client *c, reply *v, int n, uint64_t now, bool steal)
{
    for (int i = 0; i < n; i++) {
        far_xdr_dec_init(&v[i].d, v[i].p, v[i].n, NULL, 0);
        v[i].rc = far__reply_hdr_decode(&v[i].d, &v[i].h);
        v[i].k = NULL;
        v[i].wipe = NULL; /* (handle_direct's replies only) */
    }
    int found = 0;
    bool refused = false;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < n; i++) {
        if (v[i].n < 4)
            continue;
        call *k = far__tab_find(c, far_xdr_load_u32(v[i].p));
        if (!k) {
            /* a late reply to a call that timed out or was cancelled, or a stray */
            refused = refused || is_refusal(&v[i]);
            continue;
        }
        far__tab_remove(c, k);
        k->decoding = true;
        v[i].k = k;
        found++;
    }
    pthread_mutex_unlock(&c->mu);
    if (!found)
        return refused;
    for (int i = 0; i < n; i++)
        if (v[i].k)
            decode_reply(c, &v[i], steal);
    pthread_mutex_lock(&c->mu);
    c->last_io = now;
    for (int i = 0; i < n; i++) {
        if (v[i].k) {
            v[i].k->decoding = false;
            if (v[i].k == c->reader)
                c->reader_got = true; /* (read by the reader, without the lock) */
            far__call_complete(c, v[i].k);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return refused;
}

#define REFUSED_WHY "the server refused the connection (it is at its connection limit)"

static void refused_conn(far_client *c, uint64_t gen)
{
    pthread_mutex_lock(&c->mu);
    far__conn_lost(c, gen, FAR_ETOOMANY, REFUSED_WHY);
    far__direct_release(c, FAR_ETOOMANY, REFUSED_WHY);
    pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------ straight into a sink
 *
 * A bulk PULL's reply is a large record: the reply header, the result's
 * fields, the chunk, its padding.  Once its first DIRECT_PEEK bytes are in
 * (the record reader reads no more of it before: far__recrd_partial), and
 * if it answers a PULL in flight on this connection whose decoder is the
 * bulk layer's, whose flavor leaves the results plaintext in place (no
 * level, or the authentication level: far__auth_results_plain) and whose
 * placer names where the chunk goes (a memory sink: far__bulk_placer,
 * the one the privacy level decrypts into), the chunk's bytes are
 * received there (a direct span of the reader), not into the read buffer
 * and then copied.  The decoder then finds the chunk placed and checks its
 * XXH3 there, as at the privacy level; a chunk that does not verify, or a
 * reply that does not, is wiped.
 *
 * Unverified bytes written into the sink are harmless: the range is the
 * chunk's own, which is not had until its checksum verifies.  The sink
 * must outlive the span: the call is taken out of the table as its reply
 * would be to be decoded, so no deadline, cancel or lost connection
 * completes it -- and lets its sync bulk caller return -- until the reader
 * has let go of the sink (far__direct_release).  A server that stops in
 * the middle of a chunk is found by the connection's liveness check (the
 * bulk call itself is in flight all along). */

void far__direct_release(far_client *c, far_err err, const char *why)
{
    call *k = c->direct_k;
    if (!k)
        return;
    c->direct_k = NULL;
    far__recrd_span_cancel(&c->st.rd);
    memset(c->direct_dst, 0, c->direct_len); /* not had: nothing of it is left */
    k->decoding = false;
    far__call_set_status(c, k, err, why);
    far__call_complete(c, k);
}

/* Looks at the large reply being read (reader token held, c->mu not). */
static void try_direct(far_client *c, uint64_t gen)
{
    far__recrd *r = &c->st.rd;
    const uint8_t *p;
    size_t have, left;
    if (!far__recrd_partial(r, &p, &have, &left))
        return;
    far__recrd_looked(r); /* once, whatever it is */
    far_xdr_dec d;
    far__reply_hdr h;
    far_xdr_dec_init(&d, p, have, NULL, 0);
    if (far__reply_hdr_decode(&d, &h) != FAR_OK || h.reply_stat != FAR__MSG_ACCEPTED ||
        h.stat != FAR__ACC_SUCCESS)
        return;
    const uint8_t *head = d.p;
    size_t head_len = far_xdr_dec_left(&d), hdr_len = have - head_len;
    const far__bulk_placer *bp = far__bulk_placer_get();
    size_t at = 0, len = 0;
    uint8_t *dst = NULL;
    pthread_mutex_lock(&c->mu);
    call *k = c->connected && c->gen == gen && !c->direct_k ? far__tab_find(c, h.xid) : NULL;
    if (k && k->gen == gen && k->prog == FAR__BULK_PROG && k->proc == FAR__BULK_PROC_PULL &&
        k->res && k->dec == bp->dec &&
        far__auth_results_plain(k->auth ? k->auth : &c->auth, &k->sec) &&
        bp->place(k->res, head, head_len, head_len + left, &at, &len, &dst)) {
        far__tab_remove(c, k);
        k->decoding = true;
        if (far__recrd_direct(r, hdr_len + at, dst, len)) {
            c->direct_k = k;
            c->direct_dst = dst;
            c->direct_len = len;
            c->direct_gen = gen;
        } else {
            /* (never: the placer names a range of the results it was told of) */
            k->decoding = false;
            far__call_set_status(c, k, FAR_EPROTO, "a bulk chunk's placement is not in its reply");
            far__call_complete(c, k);
        }
    }
    pthread_mutex_unlock(&c->mu);
}

/* The reply whose chunk went straight to its sink, now complete (reader
 * token held, c->mu not). */
static void handle_direct(far_client *c, const uint8_t *p, size_t n, uint64_t now)
{
    pthread_mutex_lock(&c->mu);
    reply v = {.p = p, .n = n, .k = c->direct_k, .wipe = c->direct_dst, .wipe_len = c->direct_len};
    c->direct_k = NULL;
    pthread_mutex_unlock(&c->mu);
    if (!v.k)
        return;
    far_xdr_dec_init(&v.d, p, n, NULL, 0);
    v.rc = far__reply_hdr_decode(&v.d, &v.h);
    decode_reply(c, &v, false);
    pthread_mutex_lock(&c->mu);
    c->last_io = now;
    v.k->decoding = false;
    if (v.k == c->reader)
        c->reader_got = true;
    far__call_complete(c, v.k);
    pthread_mutex_unlock(&c->mu);
}

/* UDP: one datagram (udp.c calls this). */
bool far__udp_handle(far_client *c, const uint8_t *p, size_t n)
{
    reply v = {.p = p, .n = n};
    return handle_replies(c, &v, 1, far__now_ns(), false);
}

/* Reads once (blocking, within the socket's SO_RCVTIMEO, unless `nowait`)
 * and handles every complete reply.  Returns false when the socket had
 * nothing (or is gone). */
bool far__conn_read_once(far_client *c, int fd, uint64_t gen, bool nowait)
{
    int flags = nowait ? MSG_DONTWAIT : 0;
    if (c->addr.t == FAR__UDP)
        return far__udp_read_once(c, fd, flags);
    far_err rerr;
    uint64_t direct0 = c->st.rd.direct;
    /* with PULLs in flight, the reader looks at a large reply's head
     * before it reads the rest (try_direct) */
    c->st.rd.peek = atomic_load_explicit(&c->npull, memory_order_relaxed) ? DIRECT_PEEK : 0;
    ssize_t got = far__stream_recv(&c->st, fd, flags, &rerr);
    if (c->st.rd.direct != direct0)
        atomic_fetch_add_explicit(&direct_bytes, c->st.rd.direct - direct0, memory_order_relaxed);
    if (got < 0 && rerr != FAR_OK)
        return false;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (got <= 0) {
        char eb[64];
        const char *why =
            got == 0 ? "the server closed the connection" : far__errno_text(errno, eb, sizeof eb);
        pthread_mutex_lock(&c->mu);
        far__conn_lost(c, gen, FAR_ECONNLOST, why);
        far__direct_release(c, FAR_ECONNLOST, why);
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    uint64_t now = far__now_ns();
    atomic_store_explicit(&c->last_rx, now, memory_order_relaxed); /* liveness (ctl.c) */
    /* Records stay where they are until the next read makes room, so the
     * small replies of this read are collected and handled together; a large
     * one (whose buffer may be handed to an arena) is handled on its own. */
    reply v[REPLY_BATCH];
    int nv = 0;
    for (;;) {
        uint8_t *p;
        size_t n;
        far_err err;
        int rc = far__recrd_next(&c->st.rd, &p, &n, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (handle_replies(c, v, nv, now, false)) {
                refused_conn(c, gen);
                return false;
            }
            char big[200];
            if (err == FAR_ELIMIT)
                snprintf(big, sizeof big,
                         "a reply of %s%zu bytes is larger than this client's limit of %" PRIu32
                         " bytes (far_client_opts.max_record); the connection is closed",
                         c->st.rd.too_big_exact ? "" : "at least ", c->st.rd.too_big,
                         c->o.max_record);
            pthread_mutex_lock(&c->mu);
            far__conn_lost(c, gen, err == FAR_ELIMIT ? FAR_ELIMIT : FAR_EPROTO,
                           err == FAR_ELIMIT ? big : "bad record marking");
            far__direct_release(c, FAR_EPROTO, "bad record marking");
            pthread_mutex_unlock(&c->mu);
            return false;
        }
        bool refused = false;
        if (c->st.rd.got_span) {
            refused = handle_replies(c, v, nv, now, false);
            nv = 0;
            handle_direct(c, p, n, now);
        } else if (n >= STEAL_MIN) {
            refused = handle_replies(c, v, nv, now, false);
            nv = 0;
            reply big = {.p = p, .n = n};
            refused = handle_replies(c, &big, 1, now, true) || refused;
        } else {
            v[nv].p = p;
            v[nv].n = n;
            if (++nv == REPLY_BATCH) {
                refused = handle_replies(c, v, nv, now, false);
                nv = 0;
            }
        }
        if (refused) {
            refused_conn(c, gen);
            return false;
        }
    }
    if (handle_replies(c, v, nv, now, false)) {
        refused_conn(c, gen);
        return false;
    }
    try_direct(c, gen);
    return (size_t)got == c->st.last_space ? true : !nowait;
}
