/* Client: the connection -- connecting within the call's deadline, writing
 * calls, reading replies, and a synchronous caller's wait.
 *
 * Sending.  A call is encoded by its own thread (outside the client's lock),
 * entered in the xid table and queued on the connection's stream; whichever
 * thread finds no one writing writes everything queued with one writev (flat
 * combining), so calls from many threads leave in batches.  Async calls leave
 * the writing to the I/O thread, which batches them.
 *
 * Receiving.  One thread at a time reads the connection (the reader token).
 * A synchronous caller takes the token itself when it is free and reads until
 * its own reply has come, handing other threads' replies to them: in the
 * common case a call costs one write and one read, with no thread switch.
 * When it leaves, it hands the token to another waiting caller.  The I/O
 * thread reads when no caller does and runs the async callbacks.  The replies
 * of one read are matched and completed under one lock.
 *
 * Deadlines.  A waiting caller sleeps until its deadline (a condition wait);
 * the reader's recv is bounded by SO_RCVTIMEO, kept no longer than the
 * reader's own deadline (and its next UDP retransmission), so nothing polls.
 *
 * No lock is held while a thread connects, writes, reads or waits. */
#include "clnt/clnt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_BATCH 64 /* replies of one read matched and completed together */

static void abs_time(uint64_t ns_mono, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns_mono / 1000000000u);
    ts->tv_nsec = (long)(ns_mono % 1000000000u);
}

/* ------------------------------------------------------------ connecting */

/* The connection is gone.  Its fd is closed once no thread is reading or
 * writing it. */
void far__conn_lost(far_client *c, uint64_t gen, far_err err, const char *why)
{
    if (!c->connected || c->gen != gen)
        return;
    c->connected = false;
    int fd = c->st.fd;
    shutdown(fd, SHUT_RDWR);
    far__io_conn_down(c, fd);
    c->dead_fd = fd;
    c->st.fd = -1;
    far__call_fail_all(c, gen, err, why);
    /* Queued calls not being written go; a partly written one stays until
     * its writer lets go (the queue is dropped then, below). */
    if (!c->st.flushing) {
        for (far__wmsg *m = far__stream_take_all(&c->st), *nx; m; m = nx) {
            nx = m->next;
            call *k = FAR__CONTAINER_OF(m, call, wm);
            k->in_outq = false;
            far__call_unref(c, k);
        }
    }
    if (!c->reading && !c->st.flushing) {
        close(c->dead_fd);
        c->dead_fd = -1;
    }
    pthread_cond_broadcast(&c->cv);
}

void far__conn_maybe_close_dead(far_client *c)
{
    if (c->dead_fd >= 0 && !c->reading && !c->st.flushing) {
        close(c->dead_fd);
        c->dead_fd = -1;
        pthread_cond_broadcast(&c->cv);
    } else if (c->destroying) {
        pthread_cond_broadcast(&c->cv);
    }
}

/* Makes sure a connection exists, waiting at most until `deadline` (c->mu
 * held; dropped while connecting). */
far_err far__conn_ensure(far_client *c, uint64_t deadline)
{
    for (;;) {
        if (c->destroying)
            return FAR_ECLOSED;
        if (c->connected)
            return FAR_OK;
        if (!c->connecting && c->dead_fd < 0)
            break;
        struct timespec ts;
        abs_time(deadline, &ts);
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT && !c->connected) {
            far__set_last_error("%s: %s (connecting)", c->addr.text, far_strerror(FAR_ETIMEDOUT));
            return FAR_ETIMEDOUT;
        }
    }
    c->connecting = true;
    pthread_mutex_unlock(&c->mu);
    far_err err = FAR_OK;
    int fd = far__sock_connect(&c->addr, deadline, &err);
    if (fd >= 0 && c->addr.t == FAR__UDP) {
        int sz = 1 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    pthread_mutex_lock(&c->mu);
    c->connecting = false;
    pthread_cond_broadcast(&c->cv);
    if (fd < 0) {
        far__set_last_error("%s: %s%s", c->addr.text, far_strerror(err),
                            err == FAR_ETIMEDOUT ? " (connecting)" : "");
        return err;
    }
    if (c->destroying) {
        close(fd);
        return FAR_ECLOSED;
    }
    c->st.fd = fd;
    c->gen++;
    c->last_io = far__now_ns();
    c->connected = true;
    c->st.flush_again = false;
    c->read_pending = false;
    c->peer_hup = false;
    c->rcv_timeo_ms = 0;
    if (c->addr.t != FAR__UDP) {
        far__recrd_fini(&c->st.rd);
        far__recrd_init(&c->st.rd, c->o.max_record, 16384);
    }
    far__io_conn_up(c);
    return FAR_OK;
}

/* A stream connection that has been quiet for a while may have been closed by
 * the server (idle timeout, restart): look before sending on it, so the call
 * goes out on a fresh connection instead of failing with FAR_ECONNLOST. */
void far__conn_check_idle(far_client *c)
{
    if (c->addr.t == FAR__UDP || !c->connected || c->ncalls || c->reading || c->st.flushing)
        return;
    if (far__now_ns() - c->last_io < 100000000u)
        return;
    uint8_t b;
    ssize_t n = recv(c->st.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        far__conn_lost(c, c->gen, FAR_ECONNLOST, "the server closed the connection");
    else
        c->last_io = far__now_ns();
}

/* ------------------------------------------------------------ sending */

/* Writes the send queue (c->mu held, c->st.flushing set by the caller;
 * cleared here).  `me`: a synchronous caller that may wait for room until its
 * deadline. */
void far__conn_flush_locked(far_client *c, call *me)
{
    for (;;) {
        if (!c->connected || !c->st.nq)
            break;
        int fd = c->st.fd;
        uint64_t gen = c->gen;
        far__wmsg *done;
        int e;
        ssize_t w = far__stream_write(&c->st, &c->mu, &done, &e);
        pthread_cond_broadcast(&c->cv); /* a caller may wait for a writer to let go */
        if (w > 0) {
            for (far__wmsg *m = done, *nx; m; m = nx) {
                nx = m->next;
                call *k = FAR__CONTAINER_OF(m, call, wm);
                k->in_outq = false;
                far__call_unref(c, k);
            }
            continue;
        }
        if (w < 0 && e == EINTR)
            continue;
        if (w == 0 && e == EAGAIN) {
            if (c->st.flush_again) {
                c->st.flush_again = false;
                continue;
            }
            if (me && !me->done && far__now_ns() < me->deadline) {
                /* The socket is full: wait for room, at most until our deadline. */
                uint64_t now = far__now_ns();
                int ms = (int)((me->deadline - now + 999999) / 1000000);
                pthread_mutex_unlock(&c->mu);
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                poll(&pf, 1, ms);
                pthread_mutex_lock(&c->mu);
                continue;
            }
            break; /* EPOLLOUT (I/O thread) or the next caller goes on */
        }
        if (w == 0)
            break; /* nothing queued */
        char why[96], eb[64];
        snprintf(why, sizeof why, "send failed: %s", far__errno_text(e, eb, sizeof eb));
        far__conn_lost(c, gen, FAR_ECONNLOST, why);
        break;
    }
    c->st.flushing = false;
    /* Calls left for a connection that is gone were failed with it. */
    if (!c->connected) {
        for (far__wmsg *m = far__stream_take_all(&c->st), *nx; m; m = nx) {
            nx = m->next;
            call *k = FAR__CONTAINER_OF(m, call, wm);
            k->in_outq = false;
            far__call_unref(c, k);
        }
    }
    far__conn_maybe_close_dead(c);
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
    char why[256];
    if (rc != FAR_OK) {
        rc = FAR_EPROTO;
        detail = "malformed reply header";
    } else {
        rc = far__reply_err(&v->h);
        k->st.low = v->h.low;
        k->st.high = v->h.high;
        k->st.auth_stat = (int)v->h.auth_stat;
        if (v->h.reply_stat == FAR__MSG_ACCEPTED && c->auth.ops->check_reply_verf &&
            c->auth.ops->check_reply_verf(&c->auth, &v->h) != FAR_OK) {
            rc = FAR_EAUTH;
            k->st.auth_stat = FAR__AUTH_INVALIDRESP;
            snprintf(why, sizeof why, "the reply's verifier (flavor %" PRIu32 ") is not one "
                     "%s replies carry", v->h.verf_flavor, c->auth.ops->name);
            detail = why;
        }
        const uint8_t *p = v->d.p;
        size_t n = far_xdr_dec_left(&v->d);
        if (rc == FAR_OK && c->auth.ops->unwrap_results &&
            (rc = c->auth.ops->unwrap_results(&c->auth, k->xid, &p, &n, k->arena)) != FAR_OK)
            detail = "the results do not unwrap";
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
            if (!k->dec(&rd, k->res) || !far_xdr_dec_done(&rd)) {
                /* A limit of ours (the caller's arena, the decoder's allocation
                 * limit, memory) is not the peer's fault. */
                rc = rd.err.local ? rd.err.code : FAR_EPROTO;
                detail = far_xdr_dec_strerror(&rd, why, sizeof why);
            }
            free(own);
        }
    }
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
    ssize_t got = far__stream_recv(&c->st, flags, &rerr);
    if (got < 0 && rerr != FAR_OK)
        return false;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (got <= 0) {
        char eb[64];
        const char *why = got == 0 ? "the server closed the connection"
                                   : far__errno_text(errno, eb, sizeof eb);
        pthread_mutex_lock(&c->mu);
        far__conn_lost(c, gen, FAR_ECONNLOST, why);
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    uint64_t now = far__now_ns();
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
            pthread_mutex_lock(&c->mu);
            far__conn_lost(c, gen, FAR_EPROTO,
                           err == FAR_ELIMIT ? "reply larger than max_record" : "bad record marking");
            pthread_mutex_unlock(&c->mu);
            return false;
        }
        bool refused = false;
        if (n >= STEAL_MIN) {
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
    return (size_t)got == c->st.last_space ? true : !nowait;
}

/* Gives the reader token to the first caller still waiting for its reply
 * (c->mu held): a waiter whose reply we just delivered would wake, find its
 * call done and leave, and the token would be lost -- the others sleeping
 * until their deadlines. */
static void pass_reader_token(far_client *c)
{
    for (call *w = c->w_head; w; w = w->wnext) {
        if (!w->done) {
            pthread_cond_signal(&w->cv);
            return;
        }
    }
}

void far__conn_release_reader(far_client *c)
{
    c->reading = false;
    pass_reader_token(c);
    if (c->read_pending && c->io) {
        c->read_pending = false;
        c->io_read = true;
        far__io_post(c);
    }
    far__conn_maybe_close_dead(c);
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

/* Bounds the reader's blocking recv by `until` (c->mu held): SO_RCVTIMEO is
 * lowered when it is longer than that, raised when it is much shorter (so a
 * reader never wakes up over and over), and otherwise left alone -- callers
 * with the usual deadline cost no system call. */
static void bound_recv(far_client *c, int fd, uint64_t until)
{
    uint64_t now = far__now_ns();
    uint64_t left = until > now ? until - now : 0;
    int ms = (int)(left / 1000000u) + 1;
    if (c->rcv_timeo_ms && c->rcv_timeo_ms <= ms + 10 && c->rcv_timeo_ms * 2 >= ms)
        return;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0)
        c->rcv_timeo_ms = ms;
}

/* For a cancellable reader: waits until fd is readable (1), `until` passes
 * (0), or a cancel wakes it (-1). */
static int wait_readable(far_client *c, int fd, uint64_t until)
{
    uint64_t now = far__now_ns();
    int ms = until > now ? (int)((until - now + 999999) / 1000000) : 0;
    struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = c->wakefd, .events = POLLIN}};
    int n = poll(pf, 2, ms);
    if (n <= 0)
        return 0;
    if (pf[1].revents) {
        far__event_drain(c->wakefd);
        return -1;
    }
    return 1;
}

/* Reads as the holder of the reader token until k is done, the connection
 * changes, or there is nothing more for now (c->mu not held). */
static void read_for(far_client *c, call *k, int fd, uint64_t gen, bool cancellable,
                     uint64_t until)
{
    for (;;) {
        if (cancellable) {
            /* A cancel must be able to wake us: wait in poll (with the
             * wake-up fd) rather than in a blocking recv. */
            if (wait_readable(c, fd, until) <= 0)
                return;
            far__conn_read_once(c, fd, gen, true);
        } else if (!far__conn_read_once(c, fd, gen, false)) {
            return;
        }
        /* Keep reading while data flows and our reply is not here. */
        pthread_mutex_lock(&c->mu);
        bool stop = k->done || c->gen != gen;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            return;
    }
}

/* A synchronous caller waits for its reply, reading when it may (c->mu
 * held). */
void far__conn_wait_sync(far_client *c, call *k)
{
    while (!k->done) {
        uint64_t now = far__now_ns();
        if (now >= k->deadline || c->destroying) {
            if (k->in_table) {
                far__tab_remove(c, k);
                far__call_set_status(c, k, c->destroying ? FAR_ECANCELED : FAR_ETIMEDOUT,
                                     c->destroying ? "client destroyed" : NULL);
                k->done = true;
                break;
            }
            /* Being decoded by the reader: it signals when done. */
            waiter_add(c, k);
            pthread_cond_wait(&k->cv, &c->mu);
            waiter_del(c, k);
            continue;
        }
        far__udp_maybe_retry(c, k, now);
        if (!c->reading && c->connected && k->in_table && !c->destroying) {
            c->reading = true;
            c->reader = k;
            int fd = c->st.fd;
            uint64_t gen = c->gen;
            uint64_t until = k->deadline;
            if (c->addr.t == FAR__UDP && k->next_retry < until)
                until = k->next_retry;
            if (k->cancellable && c->wakefd < 0)
                c->wakefd = far__event_open();
            bool cancellable = k->cancellable && c->wakefd >= 0;
            if (!cancellable)
                bound_recv(c, fd, until);
            pthread_mutex_unlock(&c->mu);
            read_for(c, k, fd, gen, cancellable, until);
            pthread_mutex_lock(&c->mu);
            c->reader = NULL;
            far__conn_release_reader(c);
            continue;
        }
        if (k->in_outq && !c->st.flushing && c->connected) {
            c->st.flushing = true;
            far__conn_flush_locked(c, k);
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
    /* Not sent in full: take it out of the queue, or, if part of it is on the
     * wire already, let the rest go out from memory of its own (the stream
     * must not be cut, and our arguments may go away once we return). */
    if (k->in_outq) {
        while (k->wm.writing)
            pthread_cond_wait(&c->cv, &c->mu);
        far__call_unlink_outq(c, k);
        if (k->in_outq && !far__call_detach_args(c, k))
            while (k->in_outq && c->connected) /* no memory to detach: the writer sends it */
                pthread_cond_wait(&c->cv, &c->mu);
    }
    /* We may have been woken to read just as our reply came (read by the I/O
     * thread, say): if nobody reads now, pass that on. */
    if (!c->reading)
        pass_reader_token(c);
}
