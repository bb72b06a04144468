/* Client: many calls in flight on one connection, matched by xid.
 *
 * Sending.  A call is encoded by its own thread, entered in the xid table and
 * appended to the connection's send queue; whichever thread finds no one
 * writing writes everything queued with one writev (flat combining), so calls
 * from many threads leave in batches.  Async calls leave the writing to the
 * client's I/O thread, which batches them.
 *
 * Receiving.  One thread at a time reads the connection (the reader token).  A
 * synchronous caller takes the token itself when it is free and reads until
 * its own reply has come, handing other threads' replies to them: in the
 * common case a call costs one write and one read, with no thread switch.
 * When it leaves, it hands the token to another waiting caller.  The I/O
 * thread (started by the first async call) reads when no caller does and runs
 * the async callbacks.  The replies of one read are matched and completed
 * under one lock; while async calls are in flight the I/O thread yields once
 * before reading, so that calls and replies move in batches (see io_main).
 *
 * No lock is held while a thread writes, reads or waits for a reply.
 */
#include "farcall/bind.h"
#include "msg/msg.h"
#include "net/net.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS      20 /* how often a blocked reader looks at its deadline */
#define SEND_IOV     128
#define REF_MIN      4096
#define EV_WAKE      1
#define EV_SOCK      2
#define UDP_MAX      65536
#define RETRY_CAP_MS 8000
#define CALL_POOL    1024        /* call objects kept for reuse (a pipelined window) */
#define STEAL_MIN    (64 * 1024) /* replies this large are decoded in place */

typedef struct call call;
struct call {
    far_client *cl;
    uint32_t xid, prog, vers, proc;
    far_xdr_decode_fn dec;
    void *res;
    far_arena *arena;
    far_call_cb cb;
    void *user;
    bool async, done, in_table, in_outq, sending, decoding;
    int refs;
    uint64_t gen; /* connection it went out on */
    uint64_t deadline, next_retry;
    uint32_t retry_ms;
    far_status st;
    far_xdr_enc enc;
    struct iovec iov[8];
    size_t niov, total, sent;
    uint8_t *flat;
    pthread_cond_t cv;
    call *hnext;         /* xid table chain */
    call *qnext;         /* send queue */
    call *cnext;         /* completion queue, pool */
    call *wnext, *wprev; /* sync callers waiting to read */
};

struct far_client {
    far__addr addr;
    far_client_opts o;
    size_t frag;
    uint8_t cred[FAR__MAX_AUTH_BYTES];
    uint32_t credlen;
    uint32_t flavor;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* connecting, dead fd closed, active callers gone */
    int fd, dead_fd;
    uint64_t gen;
    uint64_t last_io; /* last reply received or connection made */
    bool connected, connecting, destroying;
    uint32_t next_xid;

    call **tab;
    size_t tabsize, ncalls, nasync;

    call *out_head, *out_tail;
    bool flushing, flush_again;

    bool reading, read_pending;
    far__recrd rd;
    uint8_t *ubuf;
    call *w_head, *w_tail;

    bool io_started, io_stop, io_flush, io_read;
    pthread_t io;
    far__poller p;
    int efd;
    call *comp_head, *comp_tail;
    uint64_t last_scan;

    int active;
    call *pool;
    unsigned npool;
};

static _Thread_local bool on_io_thread;

/* ------------------------------------------------------------ small helpers */

static uint64_t deadline_after(uint32_t ms)
{
    return far__now_ns() + (uint64_t)ms * 1000000u;
}

static void abs_time(uint64_t ns_mono, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns_mono / 1000000000u);
    ts->tv_nsec = (long)(ns_mono % 1000000000u);
}

static const char *reason_text(const far_status *st, char *buf, size_t n)
{
    switch (st->err) {
    case FAR_EPROG_MISMATCH:
        if (st->low == st->high)
            snprintf(buf, n, "%s (server has %" PRIu32 ")", far_strerror(st->err), st->low);
        else
            snprintf(buf, n, "%s (server has %" PRIu32 "-%" PRIu32 ")", far_strerror(st->err),
                     st->low, st->high);
        return buf;
    case FAR_ERPC_MISMATCH:
        snprintf(buf, n, "%s (server speaks %" PRIu32 "-%" PRIu32 ")", far_strerror(st->err),
                 st->low, st->high);
        return buf;
    case FAR_EAUTH:
        snprintf(buf, n, "%s (auth_stat %d)", far_strerror(st->err), st->auth_stat);
        return buf;
    default:
        return far_strerror(st->err);
    }
}

static char *put_str(char *o, char *end, const char *s)
{
    while (*s && o < end)
        *o++ = *s++;
    return o;
}

static char *put_u32(char *o, char *end, uint32_t v)
{
    char t[10];
    int n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n && o < end)
        *o++ = t[--n];
    return o;
}

/* Fills st->err and st->msg: "ADDR prog P vers V proc N: REASON[: detail]".
 * Runs for every call, successful ones too: no printf. */
static void set_status(far_client *c, call *k, far_err err, const char *detail)
{
    char rb[160];
    k->st.err = err;
    const char *r = err == FAR_OK ? far_strerror(err) : reason_text(&k->st, rb, sizeof rb);
    char *o = k->st.msg, *end = k->st.msg + sizeof k->st.msg - 1;
    o = put_str(o, end, c->addr.text);
    o = put_str(o, end, " prog ");
    o = put_u32(o, end, k->prog);
    o = put_str(o, end, " vers ");
    o = put_u32(o, end, k->vers);
    o = put_str(o, end, " proc ");
    o = put_u32(o, end, k->proc);
    o = put_str(o, end, ": ");
    o = put_str(o, end, r);
    if (detail) {
        o = put_str(o, end, ": ");
        o = put_str(o, end, detail);
    }
    *o = 0;
}

/* ------------------------------------------------------------ call objects */

static call *call_get(far_client *c)
{
    call *k = NULL;
    if (c->pool) {
        k = c->pool;
        c->pool = k->cnext;
        c->npool--;
    }
    if (!k) {
        k = calloc(1, sizeof *k);
        if (!k)
            return NULL;
        if (far_xdr_enc_init_grow(&k->enc, 512, 0) != FAR_OK) {
            free(k);
            return NULL;
        }
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&k->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    k->cl = c;
    k->done = k->in_table = k->in_outq = k->sending = k->decoding = false;
    k->refs = 1;
    k->sent = 0;
    k->flat = NULL;
    k->hnext = k->qnext = k->cnext = k->wnext = k->wprev = NULL;
    memset(&k->st, 0, sizeof k->st);
    far_xdr_enc_reset(&k->enc);
    return k;
}

static void call_free(call *k)
{
    far_xdr_enc_fini(&k->enc);
    pthread_cond_destroy(&k->cv);
    free(k->flat);
    free(k);
}

/* Drops a reference (c->mu held). */
static void call_unref(far_client *c, call *k)
{
    if (--k->refs > 0)
        return;
    free(k->flat);
    k->flat = NULL;
    if (c->npool < CALL_POOL && k->enc.cap <= 65536) {
        k->cnext = c->pool;
        c->pool = k;
        c->npool++;
    } else {
        call_free(k);
    }
}

/* ------------------------------------------------------------ xid table */

static size_t slot_of(far_client *c, uint32_t xid)
{
    return (xid * 2654435761u) & (c->tabsize - 1);
}

static void tab_insert(far_client *c, call *k)
{
    if (c->ncalls >= c->tabsize * 2) {
        size_t nsz = c->tabsize * 4;
        call **nt = calloc(nsz, sizeof *nt);
        if (nt) {
            size_t old = c->tabsize;
            call **ot = c->tab;
            c->tab = nt;
            c->tabsize = nsz;
            for (size_t i = 0; i < old; i++) {
                for (call *e = ot[i], *nx; e; e = nx) {
                    nx = e->hnext;
                    size_t h = slot_of(c, e->xid);
                    e->hnext = c->tab[h];
                    c->tab[h] = e;
                }
            }
            free(ot);
        }
    }
    size_t h = slot_of(c, k->xid);
    k->hnext = c->tab[h];
    c->tab[h] = k;
    k->in_table = true;
    c->ncalls++;
    if (k->async)
        c->nasync++;
}

static void tab_remove(far_client *c, call *k)
{
    if (!k->in_table)
        return;
    for (call **pp = &c->tab[slot_of(c, k->xid)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == k) {
            *pp = k->hnext;
            break;
        }
    }
    k->in_table = false;
    k->hnext = NULL;
    c->ncalls--;
    if (k->async)
        c->nasync--;
}

static call *tab_find(far_client *c, uint32_t xid)
{
    for (call *e = c->tab[slot_of(c, xid)]; e; e = e->hnext)
        if (e->xid == xid)
            return e;
    return NULL;
}

/* ------------------------------------------------------------ completion */

static void io_kick(far_client *c)
{
    if (c->io_started)
        far__event_wake(c->efd);
}

/* Marks k finished (c->mu held; k is out of the table).  Async completions go
 * to the I/O thread's queue: callbacks never run in the thread that started
 * the call, nor under the client's lock. */
static void complete(far_client *c, call *k)
{
    k->done = true;
    if (!k->async) {
        pthread_cond_signal(&k->cv);
        return;
    }
    k->cnext = NULL;
    if (c->comp_tail)
        c->comp_tail->cnext = k;
    else
        c->comp_head = k;
    c->comp_tail = k;
    if (!on_io_thread)
        io_kick(c);
}

static void unlink_outq(far_client *c, call *k)
{
    for (call **pp = &c->out_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->qnext) {
        if (*pp == k) {
            *pp = k->qnext;
            if (c->out_tail == k)
                c->out_tail = prev;
            k->qnext = NULL;
            k->in_outq = false;
            call_unref(c, k);
            return;
        }
    }
}

/* Fails every call sent on connection `gen` (or all with gen 0). */
static void fail_all(far_client *c, uint64_t gen, far_err err, const char *why)
{
    for (size_t i = 0; i < c->tabsize; i++) {
        for (call *k = c->tab[i], *nx; k; k = nx) {
            nx = k->hnext;
            if (gen && k->gen != gen)
                continue;
            tab_remove(c, k);
            set_status(c, k, err, why);
            complete(c, k);
        }
    }
    /* Queued requests: drop those not being written now. */
    for (call *k = c->out_head, *nx; k; k = nx) {
        nx = k->qnext;
        if (!k->sending && (!gen || k->gen == gen))
            unlink_outq(c, k);
    }
}

/* The connection is gone (c->mu held).  Its fd is closed once no thread is
 * reading or writing it. */
static void conn_lost(far_client *c, uint64_t gen, far_err err, const char *why)
{
    if (!c->connected || c->gen != gen)
        return;
    c->connected = false;
    shutdown(c->fd, SHUT_RDWR);
    if (c->io_started)
        far__poller_del(&c->p, c->fd);
    c->dead_fd = c->fd;
    c->fd = -1;
    fail_all(c, gen, err, why);
    if (!c->reading && !c->flushing) {
        close(c->dead_fd);
        c->dead_fd = -1;
    }
    pthread_cond_broadcast(&c->cv);
}

static void maybe_close_dead(far_client *c)
{
    if (c->dead_fd >= 0 && !c->reading && !c->flushing) {
        close(c->dead_fd);
        c->dead_fd = -1;
        pthread_cond_broadcast(&c->cv);
    } else if (c->destroying) {
        pthread_cond_broadcast(&c->cv);
    }
}

/* ------------------------------------------------------------ connecting */

/* Makes sure a connection exists (c->mu held; may drop it while connecting). */
static far_err ensure_connected(far_client *c)
{
    for (;;) {
        if (c->destroying)
            return FAR_ECLOSED;
        if (c->connected)
            return FAR_OK;
        if (!c->connecting && c->dead_fd < 0)
            break;
        pthread_cond_wait(&c->cv, &c->mu);
    }
    c->connecting = true;
    pthread_mutex_unlock(&c->mu);
    far_err err = FAR_OK;
    int fd = far__sock_connect(&c->addr, &err);
    if (fd >= 0) {
        struct timeval tv = {0, TICK_MS * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (c->addr.t == FAR__UDP) {
            int sz = 1 << 20;
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        }
    }
    pthread_mutex_lock(&c->mu);
    c->connecting = false;
    pthread_cond_broadcast(&c->cv);
    if (fd < 0) {
        far__set_last_error("%s: %s", c->addr.text, far_strerror(err));
        return err;
    }
    if (c->destroying) {
        close(fd);
        return FAR_ECLOSED;
    }
    c->fd = fd;
    c->gen++;
    c->last_io = far__now_ns();
    c->connected = true;
    c->flush_again = false;
    c->read_pending = false;
    if (c->addr.t != FAR__UDP) {
        far__recrd_fini(&c->rd);
        far__recrd_init(&c->rd, c->o.max_record, 16384);
    }
    if (c->io_started)
        far__poller_add(&c->p, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, EV_SOCK);
    return FAR_OK;
}

/* ------------------------------------------------------------ sending */

/* Writes the send queue (c->mu held, c->flushing set by the caller; cleared
 * here).  `me`: a synchronous caller that may block until its deadline. */
static void flush_locked(far_client *c, call *me)
{
    for (;;) {
        if (!c->connected || !c->out_head)
            break;
        struct iovec iov[SEND_IOV];
        int n = 0;
        call *lastk = NULL;
        for (call *k = c->out_head; k; k = k->qnext) {
            if (n + (int)k->niov > SEND_IOV)
                break;
            n += far__iov_rest(iov + n, k->iov, k->niov, k->sent);
            k->sending = true;
            lastk = k;
        }
        int fd = c->fd;
        uint64_t gen = c->gen;
        pthread_mutex_unlock(&c->mu);
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        int e = errno;
        pthread_mutex_lock(&c->mu);
        for (call *k = c->out_head; k; k = k->qnext) {
            k->sending = false;
            if (k == lastk)
                break;
        }
        pthread_cond_broadcast(&c->cv);
        if (w < 0) {
            if (e == EINTR)
                continue;
            if (e == EAGAIN || e == EWOULDBLOCK) {
                if (c->flush_again) {
                    c->flush_again = false;
                    continue;
                }
                if (me && !me->done && far__now_ns() < me->deadline) {
                    pthread_mutex_unlock(&c->mu);
                    struct pollfd pf = {.fd = fd, .events = POLLOUT};
                    poll(&pf, 1, TICK_MS);
                    pthread_mutex_lock(&c->mu);
                    continue;
                }
                break; /* EPOLLOUT (I/O thread) or the next caller goes on */
            }
            char why[96];
            snprintf(why, sizeof why, "send failed: %s", strerror(e));
            conn_lost(c, gen, FAR_ECONNLOST, why);
            break;
        }
        size_t left = (size_t)w;
        while (c->out_head && left) {
            call *k = c->out_head;
            size_t rem = k->total - k->sent;
            if (left < rem) {
                k->sent += left;
                break;
            }
            left -= rem;
            c->out_head = k->qnext;
            if (!c->out_head)
                c->out_tail = NULL;
            k->qnext = NULL;
            k->in_outq = false;
            call_unref(c, k);
        }
    }
    c->flushing = false;
    /* Requests left for a connection that is gone were failed with it. */
    if (!c->connected)
        while (c->out_head)
            unlink_outq(c, c->out_head);
    maybe_close_dead(c);
}

/* ------------------------------------------------------------ receiving */

/* A reply read and not yet handed to its caller. */
typedef struct reply {
    const uint8_t *p;
    size_t n;
    call *k;
    far_err rc;
    far__reply_hdr h;
    far_xdr_dec d;
} reply;

#define REPLY_BATCH 64 /* replies of one read matched and completed together */

/* Decodes one matched reply into its call (no lock: the call is out of the
 * table and marked decoding, so nobody else touches it).  A large reply
 * (`steal`: it is in c->rd's buffer) decoded into an arena is decoded in
 * place: the buffer goes to the arena (freed at its reset) and opaques and
 * strings point into it, no copy. */
static void decode_reply(far_client *c, reply *v, bool steal)
{
    call *k = v->k;
    far_err rc = v->rc;
    const char *detail = NULL;
    char why[256];
    if (rc != FAR_OK) {
        rc = FAR_EPROTO;
        detail = "malformed reply header";
    } else {
        rc = far__reply_err(&v->h);
        k->st.low = v->h.low;
        k->st.high = v->h.high;
        k->st.auth_stat = (int)v->h.auth_stat;
        if (rc == FAR_OK && k->dec) {
            unsigned flags = 0;
            uint8_t *own = NULL;
            if (steal && k->arena && (own = far__recrd_steal(&c->rd, NULL)) != NULL &&
                far__arena_adopt(k->arena, own)) {
                flags = FAR_XDR_ZEROCOPY;
                own = NULL;
            }
            far_xdr_dec rd;
            far_xdr_dec_init(&rd, v->d.p, far_xdr_dec_left(&v->d), k->arena, flags);
            if (!k->dec(&rd, k->res) || !far_xdr_dec_done(&rd)) {
                rc = FAR_EPROTO;
                detail = far_xdr_dec_strerror(&rd, why, sizeof why);
            }
            free(own);
        }
    }
    set_status(c, k, rc, detail);
}

/* The replies of one read (the reader token is held, c->mu is not); `now`:
 * when they were read.  Matched to their calls under one lock, decoded
 * without it, completed under one lock.  `steal`: see decode_reply (n is 1). */
static void handle_replies(far_client *c, reply *v, int n, uint64_t now, bool steal)
{
    for (int i = 0; i < n; i++) {
        far_xdr_dec_init(&v[i].d, v[i].p, v[i].n, NULL, 0);
        v[i].rc = far__reply_hdr_decode(&v[i].d, &v[i].h);
        v[i].k = NULL;
    }
    int found = 0;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < n; i++) {
        if (v[i].n < 4)
            continue;
        call *k = tab_find(c, far_xdr_load_u32(v[i].p));
        if (!k)
            continue; /* a late reply to a call that timed out, or a stray */
        tab_remove(c, k);
        k->decoding = true;
        v[i].k = k;
        found++;
    }
    pthread_mutex_unlock(&c->mu);
    if (!found)
        return;
    for (int i = 0; i < n; i++)
        if (v[i].k)
            decode_reply(c, &v[i], steal);
    pthread_mutex_lock(&c->mu);
    c->last_io = now;
    for (int i = 0; i < n; i++) {
        if (v[i].k) {
            v[i].k->decoding = false;
            complete(c, v[i].k);
        }
    }
    pthread_mutex_unlock(&c->mu);
}

/* Reads once (blocking up to TICK_MS unless `nowait`) and handles every
 * complete reply.  Returns false when the socket had nothing (or is gone). */
static bool read_once(far_client *c, int fd, uint64_t gen, bool nowait)
{
    int flags = nowait ? MSG_DONTWAIT : 0;
    if (c->addr.t == FAR__UDP) {
        ssize_t got = recv(fd, c->ubuf, UDP_MAX, flags);
        if (got > 0) {
            reply v = {.p = c->ubuf, .n = (size_t)got};
            handle_replies(c, &v, 1, far__now_ns(), false);
            return true;
        }
        if (got < 0 && errno == ECONNREFUSED) {
            pthread_mutex_lock(&c->mu);
            fail_all(c, 0, FAR_ECONNREFUSED, "ICMP port unreachable");
            pthread_mutex_unlock(&c->mu);
        }
        return false;
    }
    uint8_t *buf;
    size_t space;
    if (far__recrd_room(&c->rd, &buf, &space) != FAR_OK)
        return false;
    ssize_t got = recv(fd, buf, space, flags);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (got <= 0) {
        pthread_mutex_lock(&c->mu);
        conn_lost(c, gen, FAR_ECONNLOST,
                  got == 0 ? "the server closed the connection" : strerror(errno));
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    far__recrd_commit(&c->rd, (size_t)got);
    uint64_t now = far__now_ns();
    /* Records stay where they are until the next far__recrd_room, so the
     * small replies of this read are collected and handled together; a large
     * one (whose buffer may be handed to an arena) is handled on its own. */
    reply v[REPLY_BATCH];
    int nv = 0;
    for (;;) {
        uint8_t *p;
        size_t n;
        far_err err;
        int rc = far__recrd_next(&c->rd, &p, &n, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            handle_replies(c, v, nv, now, false);
            pthread_mutex_lock(&c->mu);
            conn_lost(c, gen, FAR_EPROTO,
                      err == FAR_ELIMIT ? "reply larger than max_record" : "bad record marking");
            pthread_mutex_unlock(&c->mu);
            return false;
        }
        if (n >= STEAL_MIN) {
            handle_replies(c, v, nv, now, false);
            nv = 0;
            reply big = {.p = p, .n = n};
            handle_replies(c, &big, 1, now, true);
            continue;
        }
        v[nv].p = p;
        v[nv].n = n;
        if (++nv == REPLY_BATCH) {
            handle_replies(c, v, nv, now, false);
            nv = 0;
        }
    }
    handle_replies(c, v, nv, now, false);
    return (size_t)got == space ? true : !nowait;
}

/* Gives the reader token back (c->mu held) and lets someone else read. */
static void pass_reader_token(far_client *c)
{
    /* To the first caller still waiting for its reply: a waiter whose reply
     * we just delivered would wake, find its call done and leave, and the
     * token would be lost -- the others sleeping until their deadlines. */
    for (call *w = c->w_head; w; w = w->wnext) {
        if (!w->done) {
            pthread_cond_signal(&w->cv);
            return;
        }
    }
}

static void release_reader(far_client *c)
{
    c->reading = false;
    pass_reader_token(c);
    if (c->read_pending && c->io_started) {
        c->read_pending = false;
        c->io_read = true;
        io_kick(c);
    }
    maybe_close_dead(c);
}

static void waiter_add(far_client *c, call *k)
{
    k->wnext = NULL;
    k->wprev = c->w_tail;
    if (c->w_tail)
        c->w_tail->wnext = k;
    else
        c->w_head = k;
    c->w_tail = k;
}

static void waiter_del(far_client *c, call *k)
{
    if (k->wprev)
        k->wprev->wnext = k->wnext;
    else
        c->w_head = k->wnext;
    if (k->wnext)
        k->wnext->wprev = k->wprev;
    else
        c->w_tail = k->wprev;
    k->wnext = k->wprev = NULL;
}

static void udp_send(far_client *c, call *k)
{
    struct msghdr mh = {.msg_iov = k->iov, .msg_iovlen = k->niov};
    ssize_t w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w; /* a lost datagram is retransmitted */
}

/* UDP: retransmits k if its time has come (c->mu held), same xid, doubling
 * the interval. */
static void udp_maybe_retry(far_client *c, call *k, uint64_t now)
{
    if (c->addr.t != FAR__UDP || !k->in_table || now < k->next_retry || !c->connected)
        return;
    udp_send(c, k);
    k->retry_ms = k->retry_ms * 2 > RETRY_CAP_MS ? RETRY_CAP_MS : k->retry_ms * 2;
    k->next_retry = now + (uint64_t)k->retry_ms * 1000000u;
}

/* A synchronous caller waits for its reply, reading when it may (c->mu held). */
static void wait_sync(far_client *c, call *k)
{
    while (!k->done) {
        uint64_t now = far__now_ns();
        if (now >= k->deadline || c->destroying) {
            if (k->in_table) {
                tab_remove(c, k);
                set_status(c, k, c->destroying ? FAR_ECANCELED : FAR_ETIMEDOUT,
                           c->destroying ? "client destroyed" : NULL);
                k->done = true;
                if (k->in_outq) {
                    if (k->sent > 0 || k->sending)
                        /* Half written: the stream cannot be resumed. */
                        conn_lost(c, k->gen, FAR_ECONNLOST, "a call timed out half sent");
                    if (k->in_outq && !k->sending)
                        unlink_outq(c, k);
                }
                break;
            }
            /* Being decoded by the reader: it signals when done. */
            waiter_add(c, k);
            pthread_cond_wait(&k->cv, &c->mu);
            waiter_del(c, k);
            continue;
        }
        udp_maybe_retry(c, k, now);
        if (!c->reading && c->connected && k->in_table && !c->destroying) {
            c->reading = true;
            int fd = c->fd;
            uint64_t gen = c->gen;
            pthread_mutex_unlock(&c->mu);
            while (read_once(c, fd, gen, false)) {
                /* Keep reading while data flows and our reply is not here. */
                pthread_mutex_lock(&c->mu);
                bool stop = k->done || c->gen != gen;
                pthread_mutex_unlock(&c->mu);
                if (stop)
                    break;
            }
            pthread_mutex_lock(&c->mu);
            release_reader(c);
            continue;
        }
        if (k->in_outq && !c->flushing && c->connected) {
            c->flushing = true;
            flush_locked(c, k);
            continue;
        }
        uint64_t until = k->deadline;
        if (c->addr.t == FAR__UDP && k->next_retry < until)
            until = k->next_retry;
        struct timespec ts;
        abs_time(until, &ts);
        waiter_add(c, k);
        pthread_cond_timedwait(&k->cv, &c->mu, &ts);
        waiter_del(c, k);
    }
    /* Wait until no writer still points at our arguments. */
    while (k->sending)
        pthread_cond_wait(&c->cv, &c->mu);
    /* We may have been woken to read just as our reply came (read by the I/O
     * thread, say): if nobody reads now, pass that on. */
    if (!c->reading)
        pass_reader_token(c);
}

/* ------------------------------------------------------------ I/O thread */

/* Runs the callbacks, then drops their calls under one lock. */
static void run_completions(far_client *c, call *list)
{
    for (call *k = list; k; k = k->cnext)
        k->cb(&k->st, k->res, k->user);
    if (!list)
        return;
    pthread_mutex_lock(&c->mu);
    while (list) {
        call *nx = list->cnext;
        call_unref(c, list);
        list = nx;
    }
    pthread_mutex_unlock(&c->mu);
}

static void io_read_all(far_client *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->reading || !c->connected) {
        if (c->reading)
            c->read_pending = true;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->reading = true;
    int fd = c->fd;
    uint64_t gen = c->gen;
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < 64 && read_once(c, fd, gen, true); i++) {
    }
    pthread_mutex_lock(&c->mu);
    c->reading = false;
    maybe_close_dead(c);
    if (c->w_head)
        pthread_cond_signal(&c->w_head->cv);
    pthread_mutex_unlock(&c->mu);
}

static void scan_timeouts(far_client *c)
{
    uint64_t now = far__now_ns();
    for (size_t i = 0; i < c->tabsize; i++) {
        for (call *k = c->tab[i], *nx; k; k = nx) {
            nx = k->hnext;
            if (!k->async)
                continue;
            if (now >= k->deadline) {
                tab_remove(c, k);
                set_status(c, k, FAR_ETIMEDOUT, NULL);
                if (k->in_outq && !k->sending && k->sent == 0)
                    unlink_outq(c, k);
                complete(c, k);
            } else {
                udp_maybe_retry(c, k, now);
            }
        }
    }
}

static void *io_main(void *arg)
{
    far_client *c = arg;
    on_io_thread = true;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool had_async = c->nasync != 0;
        int timeout = had_async ? TICK_MS / 2 : -1;
        bool stop = c->io_stop && !c->comp_head;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        struct epoll_event ev[8];
        int n = far__poller_wait(&c->p, ev, 8, timeout);
        bool rd = false, wr = false;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == EV_WAKE) {
                far__event_drain(c->efd);
            } else {
                if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
                    rd = true;
                if (ev[i].events & EPOLLOUT)
                    wr = true;
            }
        }
        if (rd && had_async)
            /* Replies have come.  Let the threads that are runnable on this
             * core -- the peer still writing replies, callers queueing more
             * calls -- go on first: the replies are then read in one recv
             * and the calls queued meanwhile leave in one sendmsg, instead of
             * one wake-up, read and write per call (pipelined calls on one
             * core: 0.9 -> 1.9 M calls/s).  With nothing else runnable the
             * yield returns at once. */
            sched_yield();
        pthread_mutex_lock(&c->mu);
        if (c->io_read)
            rd = true, c->io_read = false;
        if (c->io_flush || wr) {
            c->io_flush = false;
            if (c->flushing) {
                c->flush_again = true;
            } else if (c->out_head) {
                c->flushing = true;
                flush_locked(c, NULL);
            }
        }
        pthread_mutex_unlock(&c->mu);
        if (rd)
            io_read_all(c);
        pthread_mutex_lock(&c->mu);
        uint64_t now = far__now_ns();
        if (c->nasync && now - c->last_scan >= TICK_MS / 2 * 1000000u) {
            c->last_scan = now;
            scan_timeouts(c);
        }
        call *list = c->comp_head;
        c->comp_head = c->comp_tail = NULL;
        pthread_mutex_unlock(&c->mu);
        run_completions(c, list);
    }
    return NULL;
}

static far_err io_start(far_client *c)
{
    if (c->io_started)
        return FAR_OK;
    if (far__poller_init(&c->p) != 0)
        return FAR_EIO;
    c->efd = far__event_open();
    if (c->efd < 0 || far__poller_add(&c->p, c->efd, EPOLLIN | EPOLLET, EV_WAKE) != 0)
        goto fail;
    if (c->connected &&
        far__poller_add(&c->p, c->fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, EV_SOCK) != 0)
        goto fail;
    if (pthread_create(&c->io, NULL, io_main, c) != 0)
        goto fail;
    c->io_started = true;
    return FAR_OK;
fail:
    if (c->efd >= 0)
        close(c->efd);
    c->efd = -1;
    far__poller_fini(&c->p);
    return FAR_EIO;
}

/* ------------------------------------------------------------ public API */

FAR__API far_err far_client_open(far_client **out, const char *addr, const far_client_opts *opts)
{
    if (!out || !addr)
        return FAR_EMISUSE;
    *out = NULL;
    char dyn[FAR_BIND_MAX_ADDR]; /* PROG/VERS@HOST: ask the binder (src/bind) */
    if (far_bind_is_dynamic(addr)) {
        far_err brc = far_bind_resolve(addr, dyn, sizeof dyn);
        if (brc != FAR_OK)
            return brc;
        addr = dyn;
    }
    far_client *c = calloc(1, sizeof *c);
    if (!c)
        return FAR_ENOMEM;
    char why[256];
    far_err rc = far__addr_parse(addr, &c->addr, why, sizeof why);
    if (rc != FAR_OK) {
        far__set_last_error("%s", why);
        free(c);
        return rc;
    }
    if (opts)
        c->o = *opts;
    if (!c->o.timeout_ms)
        c->o.timeout_ms = 25000;
    if (!c->o.max_record)
        c->o.max_record = 64u << 20;
    if (!c->o.retry_ms)
        c->o.retry_ms = 500;
    c->flavor = FAR_AUTH_NONE;
    if (c->o.auth_sys) {
        far_auth_sys self;
        const far_auth_sys *a = c->o.cred;
        if (!a) {
            far__auth_sys_self(&self);
            a = &self;
        }
        far_xdr_enc e;
        far_xdr_enc_init(&e, c->cred, sizeof c->cred);
        if (!far__auth_sys_encode(&e, a)) {
            far__set_last_error("%s: AUTH_SYS credentials exceed the RFC 5531 limits", addr);
            free(c);
            return FAR_ELIMIT;
        }
        c->credlen = (uint32_t)e.pos;
        c->flavor = FAR_AUTH_SYS;
        c->o.cred = NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    c->fd = c->dead_fd = c->efd = -1;
    c->p.fd = -1;
    c->tabsize = 256;
    c->tab = calloc(c->tabsize, sizeof *c->tab);
    uint32_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
        seed = (uint32_t)far__now_ns() ^ (uint32_t)getpid();
    c->next_xid = seed;
    far__recrd_init(&c->rd, c->o.max_record, 16384);
    if (c->addr.t == FAR__UDP)
        c->ubuf = malloc(UDP_MAX);
    if (!c->tab || (c->addr.t == FAR__UDP && !c->ubuf)) {
        far_client_destroy(c);
        return FAR_ENOMEM;
    }
    pthread_mutex_lock(&c->mu);
    rc = ensure_connected(c);
    pthread_mutex_unlock(&c->mu);
    if (rc != FAR_OK) {
        far_client_destroy(c);
        return rc;
    }
    *out = c;
    return FAR_OK;
}

FAR__API void far_client_destroy(far_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->destroying = true;
    fail_all(c, 0, FAR_ECANCELED, "client destroyed");
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
    for (call *k = c->w_head; k; k = k->wnext)
        pthread_cond_signal(&k->cv);
    while (c->active > 0 || c->reading || c->flushing || c->connecting)
        pthread_cond_wait(&c->cv, &c->mu);
    c->io_stop = true;
    io_kick(c);
    pthread_mutex_unlock(&c->mu);
    if (c->io_started)
        pthread_join(c->io, NULL);
    /* Everything is quiet now. */
    while (c->out_head)
        unlink_outq(c, c->out_head);
    if (c->fd >= 0)
        close(c->fd);
    if (c->dead_fd >= 0)
        close(c->dead_fd);
    if (c->efd >= 0)
        close(c->efd);
    far__poller_fini(&c->p);
    while (c->pool) {
        call *k = c->pool;
        c->pool = k->cnext;
        call_free(k);
    }
    far__recrd_fini(&c->rd);
    free(c->ubuf);
    free(c->tab);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

/* Encodes and queues a call (c->mu held).  FAR_OK: k is in the table and sent
 * or queued. */
/* A stream connection that has been quiet for a while may have been closed by
 * the server (idle timeout, restart): look before sending on it, so the call
 * goes out on a fresh connection instead of failing with FAR_ECONNLOST. */
static void check_idle_conn(far_client *c)
{
    if (c->addr.t == FAR__UDP || !c->connected || c->ncalls || c->reading || c->flushing)
        return;
    if (far__now_ns() - c->last_io < 100000000u)
        return;
    uint8_t b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        conn_lost(c, c->gen, FAR_ECONNLOST, "the server closed the connection");
    else
        c->last_io = far__now_ns();
}

static far_err start_call(far_client *c, call *k, far_xdr_encode_fn enc, const void *args)
{
    check_idle_conn(c);
    far_err rc = ensure_connected(c);
    if (rc != FAR_OK) {
        set_status(c, k, rc, NULL);
        return rc;
    }
    k->xid = c->next_xid++;
    k->gen = c->gen;
    bool stream = c->addr.t != FAR__UDP;
    /* Encoding outside the lock would be nicer; it is short and the xid must
     * be fixed first.  Async calls copy their arguments (they may be freed
     * once we return); sync calls reference large opaques in place. */
    far_xdr_enc *e = &k->enc;
    far_xdr_enc_reset(e);
    far_xdr_enc_set_ref_min(e, k->async ? 0 : REF_MIN);
    if ((stream && !far_xdr_reserve(e, 4)) ||
        !far__call_hdr_encode(e, k->xid, k->prog, k->vers, k->proc, c->flavor, c->cred,
                              c->credlen) ||
        (enc && !enc(e, args))) {
        char why[200];
        set_status(c, k, FAR_EMISUSE, far_xdr_enc_strerror(e, why, sizeof why));
        return e->err.code ? e->err.code : FAR_EMISUSE;
    }
    k->total = far_xdr_enc_len(e);
    k->niov = far_xdr_enc_iov(e, k->iov, FAR__ARRAY_LEN(k->iov));
    if (k->niov > FAR__ARRAY_LEN(k->iov)) {
        k->flat = malloc(k->total);
        if (!k->flat || far_xdr_enc_flatten(e, k->flat, k->total) != FAR_OK) {
            set_status(c, k, FAR_ENOMEM, NULL);
            return FAR_ENOMEM;
        }
        k->iov[0].iov_base = k->flat;
        k->iov[0].iov_len = k->total;
        k->niov = 1;
    }
    if (stream) {
        uint8_t *flat = NULL;
        if (far__rec_frame(k->iov, &k->niov, k->total, c->frag, &flat) != FAR_OK) {
            set_status(c, k, FAR_ENOMEM, NULL);
            return FAR_ENOMEM;
        }
        if (flat) {
            free(k->flat);
            k->flat = flat;
            k->total = k->iov[0].iov_len;
        }
    }
    uint32_t tmo = k->deadline ? 0 : c->o.timeout_ms;
    if (tmo)
        k->deadline = deadline_after(tmo);
    tab_insert(c, k);
    if (!stream) {
        k->retry_ms = c->o.retry_ms;
        k->next_retry = deadline_after(k->retry_ms);
        udp_send(c, k);
        return FAR_OK;
    }
    k->in_outq = true;
    k->refs++;
    if (c->out_tail)
        c->out_tail->qnext = k;
    else
        c->out_head = k;
    c->out_tail = k;
    return FAR_OK;
}

static far_err check_args(far_client *c, far_xdr_encode_fn enc, const void *args,
                          far_xdr_decode_fn dec, void *res)
{
    if (!c || (enc && !args) || (dec && !res))
        return FAR_EMISUSE;
    return FAR_OK;
}

FAR__API far_err far_client_call(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                                 far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec,
                                 void *res, far_arena *arena, const far_call_opts *opts)
{
    if (check_args(c, enc, args, dec, res) != FAR_OK) {
        far__set_last_error("far_client_call: NULL client, or NULL args/result with a codec");
        return FAR_EMISUSE;
    }
    pthread_mutex_lock(&c->mu);
    if (c->destroying) {
        pthread_mutex_unlock(&c->mu);
        return FAR_ECLOSED;
    }
    call *k = call_get(c);
    if (!k) {
        pthread_mutex_unlock(&c->mu);
        return FAR_ENOMEM;
    }
    c->active++;
    k->async = false;
    k->prog = prog, k->vers = vers, k->proc = proc;
    k->dec = dec, k->res = res, k->arena = arena;
    k->deadline = opts && opts->timeout_ms ? deadline_after(opts->timeout_ms) : 0;
    far_err rc = start_call(c, k, enc, args);
    if (rc == FAR_OK) {
        if (c->addr.t != FAR__UDP && !c->flushing) {
            c->flushing = true;
            flush_locked(c, k);
        }
        wait_sync(c, k);
        rc = k->st.err;
    }
    if (rc != FAR_OK)
        far__set_last_error("%s", k->st.msg);
    if (opts && opts->status)
        *opts->status = k->st;
    call_unref(c, k);
    if (--c->active == 0 && c->destroying)
        pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

FAR__API far_err far_client_call_async(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                                       far_xdr_encode_fn enc, const void *args,
                                       far_xdr_decode_fn dec, void *res, far_arena *arena,
                                       const far_call_opts *opts, far_call_cb cb, void *user)
{
    if (check_args(c, enc, args, dec, res) != FAR_OK || !cb)
        return FAR_EMISUSE;
    pthread_mutex_lock(&c->mu);
    far_err rc = FAR_OK;
    int kick = -1; /* the I/O thread's event fd, to wake it after unlocking */
    if (c->destroying) {
        rc = FAR_ECLOSED;
        goto out;
    }
    rc = io_start(c);
    if (rc != FAR_OK)
        goto out;
    call *k = call_get(c);
    if (!k) {
        rc = FAR_ENOMEM;
        goto out;
    }
    k->async = true;
    k->prog = prog, k->vers = vers, k->proc = proc;
    k->dec = dec, k->res = res, k->arena = arena;
    k->cb = cb, k->user = user;
    k->deadline = opts && opts->timeout_ms ? deadline_after(opts->timeout_ms) : 0;
    rc = start_call(c, k, enc, args);
    if (rc != FAR_OK) {
        far__set_last_error("%s", k->st.msg);
        call_unref(c, k);
        goto out;
    }
    if (opts && opts->status)
        opts->status->err = FAR_OK;
    /* The I/O thread writes; calls queued meanwhile go in the same writev.
     * It is woken after the lock is dropped: woken under it, on the same
     * core, it would run at once and block on the lock. */
    if (c->addr.t != FAR__UDP && !c->io_flush && !c->flushing) {
        c->io_flush = true;
        kick = c->efd;
    }
out:
    pthread_mutex_unlock(&c->mu);
    if (kick >= 0)
        far__event_wake(kick);
    return rc;
}

void far__client_set_max_fragment(far_client *c, size_t frag)
{
    c->frag = frag;
}
