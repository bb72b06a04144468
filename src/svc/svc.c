/* Server: programs x versions dispatch over TCP, UDP and Unix sockets.
 *
 * Threads.  workers + 1 threads wait on one epoll set (leader/followers).  Every
 * socket is registered edge-triggered; a thread that gets an event for a
 * connection becomes its reader (one at a time, the others just note that more
 * may have arrived), reads until a short read says the socket is drained (no
 * extra read to find EAGAIN), parses the complete records, runs the first call
 * inline and queues the rest.  Queueing wakes nobody: the reader comes back to
 * the queue after its call and runs the batch itself, one thread, no
 * wake-ups, replies going out together.  A one-shot timer (KICK_NS) wakes an
 * idle thread when queued work is waiting, so a handler that blocks only
 * delays the calls queued behind it by that much.  At most `workers` handlers
 * run at once, so one thread is always free to accept, read and write: a
 * handler that blocks for seconds stalls only its own call.
 *
 * Replies are queued on their connection and written with one writev by
 * whichever thread finds no one else writing (replies of a pipelined batch go
 * out together).  Nothing reads or writes in blocking mode.
 *
 * Lifetime.  Connections are reference counted (the slot table, a reader, each
 * request); epoll events name a connection by slot index and generation, so a
 * late event for a closed connection finds nothing.  The fd is closed when the
 * last reference goes.
 */
#include "bind/bind.h"
#include "msg/msg.h"
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define EV_TAG(v)        ((unsigned)((v) >> 56))
#define EV_GEN(v)        ((uint32_t)((v) >> 24))
#define EV_IDX(v)        ((uint32_t)((v)&0xffffff))
#define EV_MAKE(t, g, i) (((uint64_t)(t) << 56) | ((uint64_t)(g) << 24) | (uint64_t)(i))
enum { TAG_CONN = 1, TAG_LISTEN, TAG_QUEUE, TAG_STOP, TAG_EXIT, TAG_TIMER, TAG_KICK };

#define MAX_LISTENERS 32
#define INLINE_IN     512
#define STEAL_MIN     (64 * 1024)
#define SEND_BATCH    64
#define POOL_MAX      1024
#define REF_MIN       4096
#define KICK_NS       1000000    /* queued work waits at most this for a helper */
#define SPARE_MAX     (4u << 20) /* a stolen buffer up to this size is reused */
#define UDP_WAIT_MAX  1024 /* UDP requests waiting to be served; past it datagrams are dropped */
#define TRIM_NS       1000000000u /* a connection quiet this long gives back big buffers */

enum { ST_CREATED, ST_RUNNING, ST_STOPPING, ST_STOPPED };

typedef struct conn conn;

struct far_svc_req {
    far_server *s;
    conn *c;    /* NULL for UDP */
    int udp_fd; /* UDP: the socket it came in on */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    far__transport t;
    const uint8_t *in; /* the record / datagram */
    size_t in_len;
    uint8_t *inbuf; /* owned copy space (kept across uses) */
    size_t inbuf_cap;
    uint8_t *stolen;  /* a large record's buffer, freed after the reply */
    bool udp_counted; /* counted in s->udp_waiting */
    size_t stolen_cap;
    far__call_hdr h;
    far_auth_sys cred;
    bool has_cred;
    int auth_stat;
    far_arena arena;
    far_xdr_enc enc;
    struct iovec iov[8];
    size_t niov, total, sent;
    uint8_t *flat;
    far_svc_req *next;
    char peerbuf[80];
    uint64_t arena_block[256];
};

struct conn {
    far_server *s;
    int fd;
    uint32_t idx, gen;
    far__transport t;
    atomic_int refs;
    atomic_int queued; /* requests of this connection waiting in the work queue */
    atomic_bool hup;   /* the peer hung up (or an error): read until EOF is seen */
    pthread_mutex_t mu;
    bool reading, read_again, paused, dead;
    bool flushing, flush_again;
    unsigned inflight;
    unsigned outq; /* replies queued and not yet written: they count against
                    * max_calls_per_conn too, or a client that never reads
                    * its replies would make the server queue them without end */
    far__recrd rd;
    uint8_t *spare; /* a stolen record buffer given back (under mu), for rd */
    size_t spare_cap;
    far_svc_req *out_head, *out_tail;
    _Atomic uint64_t last_active;
    char peer[80];
};

typedef struct svc_prog {
    const far_program_desc *d;
    const void *impl;
} svc_prog;

typedef struct listener {
    int fd;
    far__transport t;
    bool accepting, again, starved; /* under far_server.mu */
    char path[128];                 /* unix: unlinked at stop */
} listener;

typedef struct slot {
    conn *c;
    uint32_t gen;
} slot;

struct far_server {
    far_server_opts o;
    /* UDP requests read and not yet finished.  UDP has no connection to stop
     * reading, so past UDP_WAIT_MAX further datagrams are read and dropped
     * (as a full socket buffer would; clients retransmit) rather than queued
     * without end behind slow handlers. */
    atomic_uint udp_waiting;
    atomic_ulong udp_dropped;
    size_t frag;
    svc_prog *progs;
    size_t nprogs;
    far__poller p;
    int qfd, stopfd, exitfd, timerfd, reserve_fd;
    int kickfd; /* one-shot timer: wakes a helper for queued work */
    atomic_bool kick_armed;
    listener lst[MAX_LISTENERS];
    unsigned nlst;

    pthread_mutex_t slots_mu;
    slot *slots;
    uint32_t *free_idx;
    uint32_t nfree;
    unsigned nconns;

    pthread_mutex_t qmu;
    far_svc_req *q_head, *q_tail;
    atomic_int qlen;
    atomic_uint idle;
    atomic_uint busy;

    pthread_mutex_t pool_mu;
    far_svc_req *pool;
    unsigned npool;

    pthread_mutex_t mu; /* state, threads */
    pthread_cond_t cv;
    atomic_int state;
    atomic_long inflight; /* requests parsed and not yet answered */
    atomic_bool stop_done;
    pthread_t *threads;
    unsigned nthreads;
    bool joined;
    uint64_t last_emfile_log;
    far__bind_set *bind; /* binder registrations (src/bind) */
};

static void conn_put(conn *c);
static void conn_kill(conn *c, const char *why);
static void conn_read(far_server *s, conn *c);
static void finish_stop(far_server *s);

/* ------------------------------------------------------------ requests */

static far_svc_req *req_get(far_server *s)
{
    far_svc_req *r = NULL;
    pthread_mutex_lock(&s->pool_mu);
    if (s->pool) {
        r = s->pool;
        s->pool = r->next;
        s->npool--;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return NULL;
        r->s = s;
        far_arena_init(&r->arena, r->arena_block, sizeof r->arena_block, 0);
        if (far_xdr_enc_init_grow(&r->enc, 1024, 0) != FAR_OK) {
            free(r);
            return NULL;
        }
    }
    r->next = NULL;
    r->c = NULL;
    r->stolen = NULL;
    r->udp_counted = false;
    r->has_cred = false;
    r->auth_stat = FAR__AUTH_TOOWEAK;
    r->flat = NULL;
    r->sent = 0;
    r->peerbuf[0] = 0;
    return r;
}

static void req_put(far_server *s, far_svc_req *r)
{
    conn *c = r->c;
    if (r->udp_counted) {
        r->udp_counted = false;
        atomic_fetch_sub(&s->udp_waiting, 1);
    }
    if (r->stolen && c && r->stolen_cap <= SPARE_MAX) {
        /* Back to the connection's reader for its next big record: reading
         * into a fresh buffer faults in every page of it again. */
        pthread_mutex_lock(&c->mu);
        if (!c->dead && c->spare_cap < r->stolen_cap) {
            uint8_t *old = c->spare;
            c->spare = r->stolen;
            c->spare_cap = r->stolen_cap;
            r->stolen = old;
        }
        pthread_mutex_unlock(&c->mu);
    }
    free(r->stolen);
    free(r->flat);
    r->stolen = r->flat = NULL;
    far_arena_reset(&r->arena);
    far_xdr_enc_reset(&r->enc);
    r->c = NULL;
    if (c)
        conn_put(c);
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool < POOL_MAX && r->inbuf_cap <= 65536 && r->enc.cap <= 65536) {
        r->next = s->pool;
        s->pool = r;
        s->npool++;
        r = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (r) {
        far_arena_fini(&r->arena);
        far_xdr_enc_fini(&r->enc);
        free(r->inbuf);
        free(r);
    }
}

static bool req_copy_in(far_svc_req *r, const uint8_t *p, size_t n)
{
    if (n > r->inbuf_cap) {
        size_t cap = n < INLINE_IN ? INLINE_IN : n;
        uint8_t *b = realloc(r->inbuf, cap);
        if (!b)
            return false;
        r->inbuf = b;
        r->inbuf_cap = cap;
    }
    memcpy(r->inbuf, p, n);
    r->in = r->inbuf;
    r->in_len = n;
    return true;
}

/* A request is answered (or dropped): it no longer counts as in flight. */
static void req_done_count(far_server *s)
{
    if (atomic_fetch_sub(&s->inflight, 1) == 1 && atomic_load(&s->state) == ST_STOPPING)
        finish_stop(s);
}

/* ------------------------------------------------------------ work queue */

static bool slot_acquire(far_server *s)
{
    unsigned b = atomic_load(&s->busy);
    while (b < s->o.workers) {
        if (atomic_compare_exchange_weak(&s->busy, &b, b + 1))
            return true;
    }
    return false;
}

/* Makes sure an idle thread looks at the work queue within KICK_NS, without
 * waking one now: the thread that queued the work usually runs it itself
 * next (see the worker loop), so a wake-up per batch would be wasted; the
 * timer only matters when that thread is held up by a slow handler. */
static void kick_later(far_server *s)
{
    if (atomic_load(&s->idle) == 0 || atomic_load(&s->kick_armed) ||
        atomic_exchange(&s->kick_armed, true))
        return;
    struct itimerspec its = {.it_value = {0, KICK_NS}};
    timerfd_settime(s->kickfd, 0, &its, NULL);
}

/* Queues requests for the worker loop; `wake`: wake an idle thread now. */
static void queue_push(far_server *s, far_svc_req *first, far_svc_req *last, int n, bool wake)
{
    if (first->c)
        atomic_fetch_add(&first->c->queued, n);
    pthread_mutex_lock(&s->qmu);
    if (s->q_tail)
        s->q_tail->next = first;
    else
        s->q_head = first;
    s->q_tail = last;
    atomic_fetch_add(&s->qlen, n);
    pthread_mutex_unlock(&s->qmu);
    if (!wake)
        kick_later(s);
    else if (atomic_load(&s->idle) > 0)
        far__event_wake(s->qfd);
}

/* Pops a request if one is queued and a handler slot is free. */
static far_svc_req *queue_pop(far_server *s)
{
    if (atomic_load(&s->qlen) == 0 || !slot_acquire(s))
        return NULL;
    pthread_mutex_lock(&s->qmu);
    far_svc_req *r = s->q_head;
    if (r) {
        s->q_head = r->next;
        if (!s->q_head)
            s->q_tail = NULL;
        r->next = NULL;
        atomic_fetch_sub(&s->qlen, 1);
    }
    bool more = s->q_head != NULL;
    pthread_mutex_unlock(&s->qmu);
    if (!r) {
        atomic_fetch_sub(&s->busy, 1);
        return NULL;
    }
    if (more)
        kick_later(s); /* we come back for the rest; help if we are slow */
    return r;
}

/* ------------------------------------------------------------ connections */

static void conn_put(conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    close(c->fd);
    far__recrd_fini(&c->rd);
    free(c->spare);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static conn *conn_lookup(far_server *s, uint64_t v)
{
    uint32_t idx = EV_IDX(v), gen = EV_GEN(v);
    conn *c = NULL;
    pthread_mutex_lock(&s->slots_mu);
    if (idx < s->o.max_conns && s->slots[idx].c && s->slots[idx].gen == gen) {
        c = s->slots[idx].c;
        atomic_fetch_add(&c->refs, 1);
    }
    pthread_mutex_unlock(&s->slots_mu);
    return c;
}

/* Closes the connection: no more reads or writes; queued replies dropped. */
static void conn_kill(conn *c, const char *why)
{
    far_server *s = c->s;
    pthread_mutex_lock(&c->mu);
    if (c->dead) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->dead = true;
    far_svc_req *out = c->flushing ? NULL : c->out_head;
    if (out) {
        c->out_head = c->out_tail = NULL;
        c->outq = 0;
    }
    pthread_mutex_unlock(&c->mu);
    if (why)
        far__log("%s: connection closed: %s", c->peer, why);
    shutdown(c->fd, SHUT_RDWR);
    far__poller_del(&s->p, c->fd);
    while (out) {
        far_svc_req *n = out->next;
        req_put(s, out);
        out = n;
    }
    pthread_mutex_lock(&s->slots_mu);
    bool had = s->slots[c->idx].c == c;
    if (had) {
        s->slots[c->idx].c = NULL;
        s->slots[c->idx].gen++;
        s->free_idx[s->nfree++] = c->idx;
        s->nconns--;
    }
    pthread_mutex_unlock(&s->slots_mu);
    if (had)
        conn_put(c);
}

/* Writes queued replies.  Called with c->mu held and c->flushing set by the
 * caller; returns with c->mu held and flushing cleared. */
static void conn_flush_locked(far_server *s, conn *c)
{
    for (;;) {
        if (c->dead && c->out_head) {
            far_svc_req *out = c->out_head;
            c->out_head = c->out_tail = NULL;
            c->outq = 0;
            pthread_mutex_unlock(&c->mu);
            while (out) {
                far_svc_req *nx = out->next;
                req_put(s, out);
                out = nx;
            }
            pthread_mutex_lock(&c->mu);
            continue;
        }
        if (c->dead || !c->out_head) {
            c->flushing = false;
            return;
        }
        struct iovec iov[SEND_BATCH * 2];
        int n = 0;
        for (far_svc_req *r = c->out_head; r && n + (int)r->niov <= (int)FAR__ARRAY_LEN(iov);
             r = r->next) {
            n += far__iov_rest(iov + n, r->iov, r->niov, r->sent);
        }
        pthread_mutex_unlock(&c->mu);
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        int e = errno;
        pthread_mutex_lock(&c->mu);
        if (w < 0) {
            if (e == EINTR)
                continue;
            if (e == EAGAIN || e == EWOULDBLOCK) {
                if (c->flush_again) {
                    c->flush_again = false;
                    continue;
                }
                c->flushing = false; /* EPOLLOUT will call us back */
                return;
            }
            c->flushing = false;
            pthread_mutex_unlock(&c->mu);
            conn_kill(c, NULL);
            pthread_mutex_lock(&c->mu);
            return;
        }
        /* Retire what was written; free outside the lock. */
        far_svc_req *done = NULL, **dt = &done;
        size_t left = (size_t)w;
        while (c->out_head && left) {
            far_svc_req *r = c->out_head;
            size_t rem = r->total - r->sent;
            if (left < rem) {
                r->sent += left;
                left = 0;
                break;
            }
            left -= rem;
            c->out_head = r->next;
            if (!c->out_head)
                c->out_tail = NULL;
            c->outq--;
            r->next = NULL;
            *dt = r;
            dt = &r->next;
        }
        if (done) {
            pthread_mutex_unlock(&c->mu);
            while (done) {
                far_svc_req *nx = done->next;
                req_put(s, done);
                done = nx;
            }
            pthread_mutex_lock(&c->mu);
        }
    }
}

/* True (and no longer paused) when a connection whose reading was paused for
 * its calls in flight or replies not yet written may be read again.  c->mu
 * held; the caller calls conn_read after unlocking. */
static bool conn_may_resume(far_server *s, conn *c)
{
    if (!c->paused || c->dead || c->inflight + c->outq >= s->o.max_calls_per_conn)
        return false;
    c->paused = false;
    return true;
}

static void conn_flush(far_server *s, conn *c, bool from_event)
{
    pthread_mutex_lock(&c->mu);
    if (c->flushing) {
        if (from_event)
            c->flush_again = true;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->flushing = true;
    conn_flush_locked(s, c);
    bool resume = conn_may_resume(s, c); /* replies written: room again */
    pthread_mutex_unlock(&c->mu);
    if (resume)
        conn_read(s, c);
}

/* Queues a reply; writes it unless more of this connection's calls are queued
 * (their replies then go out together). */
static void conn_send(far_server *s, conn *c, far_svc_req *r)
{
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    if (c->dead) {
        pthread_mutex_unlock(&c->mu);
        req_put(s, r);
        return;
    }
    if (c->out_tail)
        c->out_tail->next = r;
    else
        c->out_head = r;
    c->out_tail = r;
    c->outq++;                     /* still counted against max_calls_per_conn until written */
    atomic_fetch_add(&c->refs, 1); /* keep c alive past req_put in the flush */
    if (!c->flushing && atomic_load(&c->queued) == 0) {
        c->flushing = true;
        conn_flush_locked(s, c);
    }
    bool resume = conn_may_resume(s, c);
    pthread_mutex_unlock(&c->mu);
    if (resume)
        conn_read(s, c);
    conn_put(c);
}

/* ------------------------------------------------------------ dispatch */

static const svc_prog *find_prog(far_server *s, uint32_t prog, uint32_t vers, uint32_t *low,
                                 uint32_t *high, bool *prog_known)
{
    *prog_known = false;
    *low = UINT32_MAX, *high = 0;
    const svc_prog *hit = NULL;
    for (size_t i = 0; i < s->nprogs; i++) {
        const far_program_desc *d = s->progs[i].d;
        if (d->prog != prog)
            continue;
        *prog_known = true;
        if (d->vers < *low)
            *low = d->vers;
        if (d->vers > *high)
            *high = d->vers;
        if (d->vers == vers)
            hit = &s->progs[i];
    }
    return hit;
}

static const far_proc_desc *find_proc(const far_program_desc *d, uint32_t proc)
{
    if (proc < d->nprocs && d->procs[proc].proc == proc)
        return &d->procs[proc];
    for (size_t i = 0; i < d->nprocs; i++)
        if (d->procs[i].proc == proc)
            return &d->procs[i];
    return NULL;
}

/* Builds the reply in r->enc (after a reserved record mark on streams).
 * Returns false when the call is to be dropped without a reply. */
static bool serve(far_server *s, far_svc_req *r)
{
    far_xdr_enc *e = &r->enc;
    far_xdr_dec d;
    bool stream = r->t != FAR__UDP;
    far_xdr_enc_reset(e);
    far_xdr_enc_set_ref_min(e, REF_MIN);
    if (stream)
        far_xdr_reserve(e, 4);

    far_xdr_dec_init(&d, r->in, r->in_len, &r->arena, FAR_XDR_ZEROCOPY);
    far_err rc = far__call_hdr_decode(&d, &r->h);
    if (rc == FAR_ELIMIT || rc == FAR_EPADDING) /* an oversized or ill-padded auth body */
        return far__reply_denied_encode(e, r->h.xid, FAR__REJ_AUTH_ERROR, FAR__AUTH_BADCRED, 0);
    if (rc != FAR_OK)
        return false; /* not a call, or too short to answer */
    uint32_t xid = r->h.xid;
    if (r->h.rpcvers != FAR__RPC_VERS)
        return far__reply_denied_encode(e, xid, FAR__REJ_RPC_MISMATCH, FAR__RPC_VERS,
                                        FAR__RPC_VERS);
    if (r->h.cred_flavor == FAR_AUTH_SYS) {
        if (far__auth_sys_decode(r->h.cred_body, r->h.cred_len, &r->cred) != FAR_OK)
            return far__reply_denied_encode(e, xid, FAR__REJ_AUTH_ERROR, FAR__AUTH_BADCRED, 0);
        r->has_cred = true;
    } else if (r->h.cred_flavor != FAR_AUTH_NONE) {
        return far__reply_denied_encode(e, xid, FAR__REJ_AUTH_ERROR, FAR__AUTH_REJECTEDCRED, 0);
    }

    uint32_t low, high;
    bool known;
    const svc_prog *sp = find_prog(s, r->h.prog, r->h.vers, &low, &high, &known);
    if (!sp && !known)
        return far__reply_accepted_encode(e, xid, FAR__ACC_PROG_UNAVAIL, 0, 0);
    if (!sp)
        return far__reply_accepted_encode(e, xid, FAR__ACC_PROG_MISMATCH, low, high);
    const far_proc_desc *pd = find_proc(sp->d, r->h.proc);
    if (!pd) {
        if (r->h.proc == 0) /* NULL procedure (RFC 5531 §12.1 convention) */
            return far__reply_accepted_encode(e, xid, FAR__ACC_SUCCESS, 0, 0);
        return far__reply_accepted_encode(e, xid, FAR__ACC_PROC_UNAVAIL, 0, 0);
    }
    void *args = far_arena_alloc(&r->arena, pd->args_size ? pd->args_size : 1);
    void *res = far_arena_alloc(&r->arena, pd->res_size ? pd->res_size : 1);
    if (!args || !res)
        return far__reply_accepted_encode(e, xid, FAR__ACC_SYSTEM_ERR, 0, 0);
    memset(args, 0, pd->args_size);
    memset(res, 0, pd->res_size);
    if (pd->decode_args && (!pd->decode_args(&d, args) || !far_xdr_dec_done(&d)))
        return far__reply_accepted_encode(e, xid, FAR__ACC_GARBAGE_ARGS, 0, 0);
    far_err hr = pd->invoke ? pd->invoke(sp->impl, r, args, res) : FAR_OK;
    switch (hr) {
    case FAR_OK:
        if (far__reply_accepted_encode(e, xid, FAR__ACC_SUCCESS, 0, 0) &&
            (!pd->encode_res || pd->encode_res(e, res)))
            return true;
        far__log("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                 ": result does not encode (%s): SYSTEM_ERR",
                 far_svc_req_peer(r), r->h.prog, r->h.vers, r->h.proc, far_errname(e->err.code));
        far_xdr_enc_reset(e);
        if (stream)
            far_xdr_reserve(e, 4);
        return far__reply_accepted_encode(e, xid, FAR__ACC_SYSTEM_ERR, 0, 0);
    case FAR_EGARBAGE_ARGS:
        return far__reply_accepted_encode(e, xid, FAR__ACC_GARBAGE_ARGS, 0, 0);
    case FAR_EPROC_UNAVAIL:
        return far__reply_accepted_encode(e, xid, FAR__ACC_PROC_UNAVAIL, 0, 0);
    case FAR_EAUTH:
        return far__reply_denied_encode(e, xid, FAR__REJ_AUTH_ERROR, (uint32_t)r->auth_stat, 0);
    default:
        return far__reply_accepted_encode(e, xid, FAR__ACC_SYSTEM_ERR, 0, 0);
    }
}

/* Runs one request and sends (or queues) its reply.  The caller holds a
 * handler slot, released here. */
static void run_req(far_server *s, far_svc_req *r)
{
    conn *c = r->c;
    if (c) {
        /* Replies held back for this batch go out before a call that may
         * block, once no other call of the connection is waiting. */
        if (atomic_load(&c->queued) == 0)
            conn_flush(s, c, false);
    }
    bool reply = serve(s, r);
    atomic_fetch_sub(&s->busy, 1);
    if (reply && r->enc.err.code == FAR_OK) {
        r->niov = far_xdr_enc_iov(&r->enc, r->iov, FAR__ARRAY_LEN(r->iov));
        if (r->niov > FAR__ARRAY_LEN(r->iov)) {
            /* Many referenced pieces: copy them into one block. */
            size_t len = far_xdr_enc_len(&r->enc);
            r->flat = malloc(len);
            if (!r->flat || far_xdr_enc_flatten(&r->enc, r->flat, len) != FAR_OK) {
                reply = false;
            } else {
                r->iov[0].iov_base = r->flat;
                r->iov[0].iov_len = len;
                r->niov = 1;
            }
        }
        r->total = far_xdr_enc_len(&r->enc);
    } else {
        reply = false;
    }
    if (reply && c) {
        uint8_t *flat = NULL;
        if (far__rec_frame(r->iov, &r->niov, r->total, s->frag, &flat) != FAR_OK) {
            reply = false;
        } else if (flat) {
            free(r->flat);
            r->flat = flat;
            r->total = r->iov[0].iov_len;
        }
    }
    if (c) {
        if (reply) {
            conn_send(s, c, r);
        } else {
            pthread_mutex_lock(&c->mu);
            c->inflight--;
            bool resume = conn_may_resume(s, c);
            pthread_mutex_unlock(&c->mu);
            atomic_fetch_add(&c->refs, 1);
            req_put(s, r);
            if (resume)
                conn_read(s, c);
            conn_put(c);
        }
    } else {
        if (reply) {
            struct msghdr mh = {.msg_name = &r->peer,
                                .msg_namelen = r->peer_len,
                                .msg_iov = r->iov,
                                .msg_iovlen = r->niov};
            ssize_t w = sendmsg(r->udp_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
            (void)w; /* UDP: a lost reply is retransmitted by the client */
        }
        req_put(s, r);
    }
    req_done_count(s);
}

/* Runs a batch: the first inline if a handler slot is free, the rest queued
 * for the other threads. */
static _Thread_local int dispatch_depth;

static void dispatch(far_server *s, far_svc_req *first, far_svc_req *last, int n)
{
    if (!first)
        return;
    /* A reply can resume reading its connection, which dispatches again:
     * below the top level everything is queued, so the stack stays flat. */
    if (dispatch_depth > 0 || !slot_acquire(s)) {
        queue_push(s, first, last, n, false);
        return;
    }
    if (n > 1)
        queue_push(s, first->next, last, n - 1, false);
    first->next = NULL;
    dispatch_depth++;
    run_req(s, first);
    dispatch_depth--;
}

/* ------------------------------------------------------------ reading */

static void conn_read(far_server *s, conn *c)
{
    far_svc_req *first = NULL, *last = NULL;
    int n = 0;
    const char *kill = NULL;
    bool eof = false, drained = false;

    pthread_mutex_lock(&c->mu);
    if (c->reading || c->paused || c->dead) {
        c->read_again = true;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->reading = true;
    c->read_again = false;
    uint8_t *spare = c->spare;
    size_t spare_cap = c->spare_cap;
    c->spare = NULL;
    c->spare_cap = 0;
    pthread_mutex_unlock(&c->mu);
    if (spare)
        far__recrd_give_spare(&c->rd, spare, spare_cap);

    for (;;) {
        bool stopping = atomic_load(&s->state) >= ST_STOPPING;
        bool paused = false;
        /* Complete records already buffered. */
        while (!stopping) {
            uint8_t *p;
            size_t len;
            far_err err = FAR_OK;
            pthread_mutex_lock(&c->mu);
            if (c->inflight + c->outq >= s->o.max_calls_per_conn) {
                c->paused = paused = true;
                pthread_mutex_unlock(&c->mu);
                break;
            }
            pthread_mutex_unlock(&c->mu);
            int rc = far__recrd_next(&c->rd, &p, &len, &err);
            if (rc == 0)
                break;
            if (rc < 0) {
                kill = err == FAR_ELIMIT ? "record larger than the server's maximum"
                                         : "malformed record marking";
                break;
            }
            far_svc_req *r = req_get(s);
            if (!r) {
                kill = "out of memory";
                break;
            }
            r->t = c->t;
            if (len >= STEAL_MIN) {
                r->stolen = far__recrd_steal(&c->rd, &r->stolen_cap);
                r->in = p;
                r->in_len = len;
                if (!r->stolen) {
                    req_put(s, r);
                    kill = "out of memory";
                    break;
                }
            } else if (!req_copy_in(r, p, len)) {
                req_put(s, r);
                kill = "out of memory";
                break;
            }
            atomic_fetch_add(&c->refs, 1);
            r->c = c;
            pthread_mutex_lock(&c->mu);
            c->inflight++;
            pthread_mutex_unlock(&c->mu);
            atomic_fetch_add(&s->inflight, 1);
            if (last)
                last->next = r;
            else
                first = r;
            last = r;
            n++;
        }
        /* Then the socket, until it is drained: a read that returns less than
         * it asked for has emptied the socket (data arriving after it is a
         * new edge, which finds us reading and sets read_again), unless the
         * peer has hung up -- then read on until EOF. */
        if (!kill && !paused && !stopping && !drained) {
            uint8_t *buf;
            size_t space;
            if (far__recrd_room(&c->rd, &buf, &space) != FAR_OK) {
                kill = "out of memory";
            } else {
                ssize_t got = recv(c->fd, buf, space, MSG_DONTWAIT);
                if (got > 0) {
                    far__recrd_commit(&c->rd, (size_t)got);
                    drained = (size_t)got < space && !atomic_load(&c->hup);
                    continue;
                }
                if (got == 0)
                    eof = true;
                else if (errno == EINTR)
                    continue;
                else if (errno == EAGAIN || errno == EWOULDBLOCK)
                    drained = true;
                else
                    eof = true;
            }
        }
        /* Stop reading, unless an event came in meanwhile (it found us
         * reading and left the work to us) or reading was resumed. */
        pthread_mutex_lock(&c->mu);
        if (!kill && !eof && !c->dead && !c->paused && c->read_again && !stopping) {
            c->read_again = false;
            drained = false;
            pthread_mutex_unlock(&c->mu);
            continue;
        }
        c->reading = false;
        pthread_mutex_unlock(&c->mu);
        break;
    }
    if (n)
        atomic_store(&c->last_active, far__now_ns());
    if (kill || eof)
        conn_kill(c, kill);
    dispatch(s, first, last, n);
}

/* ------------------------------------------------------------ UDP */

static void udp_read(far_server *s, listener *l)
{
    static _Thread_local uint8_t buf[65536];
    far_svc_req *first = NULL, *last = NULL;
    int n = 0;
    for (;;) {
        if (atomic_load(&s->state) >= ST_STOPPING)
            break;
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        ssize_t got =
            recvfrom(l->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&peer, &plen);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if ((size_t)got > s->o.max_record)
            continue;
        if (atomic_load(&s->udp_waiting) >= UDP_WAIT_MAX) {
            if (atomic_fetch_add(&s->udp_dropped, 1) % 100000 == 0)
                far__log("udp: %u requests waiting (the maximum): dropping datagrams",
                         UDP_WAIT_MAX);
            continue;
        }
        far_svc_req *r = req_get(s);
        if (!r)
            break;
        r->udp_counted = true;
        atomic_fetch_add(&s->udp_waiting, 1);
        if (!req_copy_in(r, buf, (size_t)got)) {
            req_put(s, r);
            break;
        }
        r->t = FAR__UDP;
        r->udp_fd = l->fd;
        r->peer = peer;
        r->peer_len = plen;
        atomic_fetch_add(&s->inflight, 1);
        if (last)
            last->next = r;
        else
            first = r;
        last = r;
        /* Hand full batches to the other threads as we go. */
        if (++n == 64) {
            queue_push(s, first, last, n, true);
            first = last = NULL;
            n = 0;
        }
    }
    dispatch(s, first, last, n);
}

/* ------------------------------------------------------------ accepting */

static void accept_some(far_server *s, listener *l);

/* One thread accepts on a listener at a time (so the reserve descriptor
 * cannot be taken by a concurrent accept); an edge that finds it busy asks it
 * to go round again. */
static void accept_all(far_server *s, listener *l)
{
    pthread_mutex_lock(&s->mu);
    if (l->accepting) {
        l->again = true;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    l->accepting = true;
    do {
        l->again = false;
        pthread_mutex_unlock(&s->mu);
        accept_some(s, l);
        pthread_mutex_lock(&s->mu);
    } while (l->again);
    l->accepting = false;
    pthread_mutex_unlock(&s->mu);
}

static void accept_some(far_server *s, listener *l)
{
    for (;;) {
        if (atomic_load(&s->state) >= ST_STOPPING)
            return;
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: accept with the reserve and close at
                 * once, so the backlog drains instead of waking us forever
                 * (CVE-2018-14621). */
                pthread_mutex_lock(&s->mu);
                uint64_t now = far__now_ns();
                if (now - s->last_emfile_log > 1000000000u) {
                    s->last_emfile_log = now;
                    far__log("accept: out of file descriptors; refusing connections");
                }
                if (s->reserve_fd < 0)
                    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (s->reserve_fd < 0) {
                    /* The timer retries once descriptors are free again. */
                    l->starved = true;
                    pthread_mutex_unlock(&s->mu);
                    return;
                }
                close(s->reserve_fd);
                fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0)
                    close(fd);
                s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (s->reserve_fd < 0)
                    l->starved = true;
                pthread_mutex_unlock(&s->mu);
                if (fd < 0)
                    return;
                continue;
            }
            return; /* EAGAIN, or an error the next edge retries */
        }
        pthread_mutex_lock(&s->slots_mu);
        if (s->nconns >= s->o.max_conns || s->nfree == 0) {
            pthread_mutex_unlock(&s->slots_mu);
            far__log("accept: %u connections (the maximum): refusing one", s->o.max_conns);
            close(fd);
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            pthread_mutex_unlock(&s->slots_mu);
            close(fd);
            continue;
        }
        c->idx = s->free_idx[--s->nfree];
        c->gen = s->slots[c->idx].gen;
        s->slots[c->idx].c = c;
        s->nconns++;
        pthread_mutex_unlock(&s->slots_mu);

        c->s = s;
        c->fd = fd;
        c->t = l->t;
        atomic_init(&c->refs, 1); /* the slot's */
        atomic_init(&c->queued, 0);
        atomic_init(&c->hup, false);
        pthread_mutex_init(&c->mu, NULL);
        far__recrd_init(&c->rd, s->o.max_record, 4096);
        c->last_active = far__now_ns();
        if (l->t == FAR__TCP) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        far__addr_format(l->t, (struct sockaddr *)&peer, plen, c->peer, sizeof c->peer);
        if (far__poller_add(&s->p, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                            EV_MAKE(TAG_CONN, c->gen, c->idx)) != 0)
            conn_kill(c, "epoll_ctl failed");
    }
}

/* ------------------------------------------------------------ timers, stop */

static void sweep(far_server *s)
{
    uint64_t now = far__now_ns(), idle = (uint64_t)s->o.idle_timeout_ms * 1000000u;
    conn *victims[64];
    int nv = 0;
    pthread_mutex_lock(&s->slots_mu);
    for (uint32_t i = 0; i < s->o.max_conns && nv < 64; i++) {
        conn *c = s->slots[i].c;
        if (!c)
            continue;
        pthread_mutex_lock(&c->mu);
        uint64_t quiet = now - c->last_active;
        bool idle_now = c->inflight == 0 && !c->out_head && quiet > idle;
        if (!c->reading && quiet > TRIM_NS) {
            /* Buffers kept for the next big record (a spare, a grown read
             * buffer) are not kept for a connection gone quiet: idle
             * connections must stay cheap.  c->mu keeps a reader out. */
            free(c->spare);
            c->spare = NULL;
            c->spare_cap = 0;
            far__recrd_trim(&c->rd);
        }
        pthread_mutex_unlock(&c->mu);
        if (idle_now) {
            atomic_fetch_add(&c->refs, 1);
            victims[nv++] = c;
        }
    }
    pthread_mutex_unlock(&s->slots_mu);
    for (int i = 0; i < nv; i++) {
        conn_kill(victims[i], "idle timeout (no complete call received)");
        conn_put(victims[i]);
    }
}

static void close_listeners(far_server *s)
{
    pthread_mutex_lock(&s->mu);
    for (unsigned i = 0; i < s->nlst; i++) {
        if (s->lst[i].fd < 0)
            continue;
        far__poller_del(&s->p, s->lst[i].fd);
        /* Shut down, not closed: a thread may still be inside accept() on it;
         * destroy closes it.  New connections are refused from here on. */
        if (s->lst[i].t != FAR__UDP)
            shutdown(s->lst[i].fd, SHUT_RDWR);
        if (s->lst[i].path[0]) {
            unlink(s->lst[i].path);
            s->lst[i].path[0] = 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void begin_stop(far_server *s)
{
    int st = ST_RUNNING;
    if (!atomic_compare_exchange_strong(&s->state, &st, ST_STOPPING))
        return;
    close_listeners(s);
    far__bind_server_down(s->bind);
    if (atomic_load(&s->inflight) == 0)
        finish_stop(s);
}

/* Every call in flight has been answered: write what is still queued (for a
 * bounded time), close every connection, let the threads exit. */
static void finish_stop(far_server *s)
{
    bool expect = false;
    if (!atomic_compare_exchange_strong(&s->stop_done, &expect, true))
        return;
    uint64_t until = far__now_ns() + 2000000000u;
    for (;;) {
        conn *c = NULL;
        pthread_mutex_lock(&s->slots_mu);
        for (uint32_t i = 0; i < s->o.max_conns && !c; i++) {
            if (s->slots[i].c) {
                c = s->slots[i].c;
                atomic_fetch_add(&c->refs, 1);
            }
        }
        pthread_mutex_unlock(&s->slots_mu);
        if (!c)
            break;
        for (;;) {
            pthread_mutex_lock(&c->mu);
            bool pending = c->out_head != NULL && !c->dead;
            pthread_mutex_unlock(&c->mu);
            if (!pending || far__now_ns() > until)
                break;
            conn_flush(s, c, true);
            usleep(1000);
        }
        conn_kill(c, NULL);
        conn_put(c);
    }
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->state, ST_STOPPED);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    far__event_wake(s->exitfd);
}

/* ------------------------------------------------------------ threads */

static void *worker(void *arg)
{
    far_server *s = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        far_svc_req *r = queue_pop(s);
        if (r) {
            if (r->c)
                atomic_fetch_sub(&r->c->queued, 1);
            run_req(s, r);
            continue;
        }
        /* Queued work and a free handler slot: only look at the sockets, then
         * take it.  Queued work but every slot busy: block like an idle
         * thread; the thread that frees a slot comes back to the queue itself
         * (above), so nothing waits for us — polling here would spin. */
        bool runnable = atomic_load(&s->qlen) && atomic_load(&s->busy) < s->o.workers;
        struct epoll_event ev;
        atomic_fetch_add(&s->idle, 1);
        int n = far__poller_wait(&s->p, &ev, 1, runnable ? 0 : -1);
        atomic_fetch_sub(&s->idle, 1);
        if (n != 1)
            continue;
        uint64_t v = ev.data.u64;
        switch (EV_TAG(v)) {
        case TAG_CONN: {
            conn *c = conn_lookup(s, v);
            if (!c)
                break;
            if (ev.events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                atomic_store(&c->hup, true);
            if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                conn_read(s, c);
            if (ev.events & EPOLLOUT)
                conn_flush(s, c, true);
            conn_put(c);
            break;
        }
        case TAG_LISTEN: {
            listener *l = &s->lst[EV_IDX(v)];
            if (l->t == FAR__UDP)
                udp_read(s, l);
            else
                accept_all(s, l);
            break;
        }
        case TAG_QUEUE:
            break;
        case TAG_KICK: {
            uint64_t x;
            ssize_t rr = read(s->kickfd, &x, sizeof x);
            (void)rr;
            atomic_store(&s->kick_armed, false);
            break; /* the loop looks at the queue */
        }
        case TAG_STOP:
            far__event_drain(s->stopfd);
            begin_stop(s);
            break;
        case TAG_TIMER: {
            uint64_t x;
            ssize_t rr = read(s->timerfd, &x, sizeof x);
            (void)rr;
            sweep(s);
            pthread_mutex_lock(&s->mu);
            unsigned nl = s->nlst;
            pthread_mutex_unlock(&s->mu);
            for (unsigned i = 0; i < nl; i++) {
                pthread_mutex_lock(&s->mu);
                bool retry = s->lst[i].starved && s->lst[i].fd >= 0;
                s->lst[i].starved = false;
                pthread_mutex_unlock(&s->mu);
                if (retry)
                    accept_all(s, &s->lst[i]);
            }
            break;
        }
        case TAG_EXIT:
            return NULL;
        }
    }
}

/* ------------------------------------------------------------ public API */

FAR__API far_err far_server_create(far_server **out, const far_server_opts *opts)
{
    if (!out)
        return FAR_EMISUSE;
    *out = NULL;
    far_server *s = calloc(1, sizeof *s);
    if (!s)
        return FAR_ENOMEM;
    if (opts)
        s->o = *opts;
    if (!s->o.workers) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->o.workers = n > 0 ? (unsigned)n : 2;
    }
    if (!s->o.max_conns)
        s->o.max_conns = 4096;
    if (s->o.max_conns > 0xffffff)
        s->o.max_conns = 0xffffff;
    if (!s->o.max_record)
        s->o.max_record = 1u << 20;
    if (!s->o.idle_timeout_ms)
        s->o.idle_timeout_ms = 120000;
    if (!s->o.max_calls_per_conn)
        s->o.max_calls_per_conn = 64;
    s->qfd = s->stopfd = s->exitfd = s->timerfd = s->reserve_fd = s->kickfd = -1;
    s->p.fd = -1;
    pthread_mutex_init(&s->slots_mu, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    atomic_init(&s->state, ST_CREATED);
    s->slots = calloc(s->o.max_conns, sizeof *s->slots);
    s->free_idx = calloc(s->o.max_conns, sizeof *s->free_idx);
    if (!s->slots || !s->free_idx)
        goto fail;
    for (uint32_t i = 0; i < s->o.max_conns; i++)
        s->free_idx[i] = s->o.max_conns - 1 - i;
    s->nfree = s->o.max_conns;
    if (far__poller_init(&s->p) != 0)
        goto fail;
    s->qfd = far__event_open();
    s->stopfd = far__event_open();
    s->exitfd = far__event_open();
    s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    s->kickfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->qfd < 0 || s->stopfd < 0 || s->exitfd < 0 || s->timerfd < 0 || s->kickfd < 0)
        goto fail;
    uint64_t tick = s->o.idle_timeout_ms / 4;
    if (tick < 10)
        tick = 10;
    if (tick > 1000)
        tick = 1000;
    struct itimerspec its = {.it_interval = {(time_t)(tick / 1000), (long)(tick % 1000) * 1000000},
                             .it_value = {(time_t)(tick / 1000), (long)(tick % 1000) * 1000000}};
    timerfd_settime(s->timerfd, 0, &its, NULL);
    if (far__poller_add(&s->p, s->qfd, EPOLLIN | EPOLLET, EV_MAKE(TAG_QUEUE, 0, 0)) ||
        far__poller_add(&s->p, s->stopfd, EPOLLIN | EPOLLET, EV_MAKE(TAG_STOP, 0, 0)) ||
        far__poller_add(&s->p, s->exitfd, EPOLLIN, EV_MAKE(TAG_EXIT, 0, 0)) ||
        far__poller_add(&s->p, s->timerfd, EPOLLIN | EPOLLET, EV_MAKE(TAG_TIMER, 0, 0)) ||
        far__poller_add(&s->p, s->kickfd, EPOLLIN | EPOLLET, EV_MAKE(TAG_KICK, 0, 0)))
        goto fail;
    *out = s;
    return FAR_OK;
fail:
    far_server_destroy(s);
    return FAR_EIO;
}

FAR__API far_err far_server_add_program(far_server *s, const far_program_desc *desc,
                                        const void *impl)
{
    if (!s || !desc || (desc->nprocs && !desc->procs))
        return FAR_EMISUSE;
    pthread_mutex_lock(&s->mu);
    far_err rc = FAR_OK;
    if (atomic_load(&s->state) != ST_CREATED) {
        rc = FAR_EMISUSE; /* the program table is read without locks once serving */
        goto out;
    }
    for (size_t i = 0; i < s->nprogs; i++) {
        if (s->progs[i].d->prog == desc->prog && s->progs[i].d->vers == desc->vers) {
            rc = FAR_EMISUSE;
            goto out;
        }
    }
    svc_prog *np = realloc(s->progs, (s->nprogs + 1) * sizeof *np);
    if (!np) {
        rc = FAR_ENOMEM;
        goto out;
    }
    s->progs = np;
    s->progs[s->nprogs].d = desc;
    s->progs[s->nprogs].impl = impl;
    s->nprogs++;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

FAR__API far_err far_server_listen(far_server *s, const char *addr, char *bound, size_t bound_len)
{
    if (!s || !addr)
        return FAR_EMISUSE;
    far__addr a;
    char why[256];
    far_err rc = far__addr_parse(addr, &a, why, sizeof why);
    if (rc != FAR_OK) {
        far__set_last_error("%s", why);
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    if (s->nlst >= MAX_LISTENERS || atomic_load(&s->state) >= ST_STOPPING) {
        pthread_mutex_unlock(&s->mu);
        return s->nlst >= MAX_LISTENERS ? FAR_ELIMIT : FAR_ECLOSED;
    }
    int fd = far__sock_listen(&a, &rc);
    if (fd < 0) {
        pthread_mutex_unlock(&s->mu);
        far__set_last_error("%s: cannot listen: %s", addr, far_strerror(rc));
        return rc;
    }
    unsigned i = s->nlst++;
    listener *l = &s->lst[i];
    l->fd = fd;
    l->t = a.t;
    l->path[0] = 0;
    if (a.t == FAR__UNIX)
        snprintf(l->path, sizeof l->path, "%s", ((struct sockaddr_un *)&a.ss)->sun_path);
    if (bound && bound_len) {
        if (a.t == FAR__UNIX)
            snprintf(bound, bound_len, "%s", a.text);
        else
            far__addr_format(a.t, (struct sockaddr *)&a.ss, a.len, bound, bound_len);
    }
    rc =
        far__poller_add(&s->p, fd, EPOLLIN | EPOLLET, EV_MAKE(TAG_LISTEN, 0, i)) ? FAR_EIO : FAR_OK;
    if (rc == FAR_OK)
        far__bind_note_listener(&s->bind, &a);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

FAR__API far_err far_server_start(far_server *s)
{
    if (!s)
        return FAR_EMISUSE;
    pthread_mutex_lock(&s->mu);
    if (atomic_load(&s->state) != ST_CREATED) {
        pthread_mutex_unlock(&s->mu);
        return FAR_EMISUSE;
    }
    s->threads = calloc(s->o.workers + 1, sizeof *s->threads);
    if (!s->threads) {
        pthread_mutex_unlock(&s->mu);
        return FAR_ENOMEM;
    }
    atomic_store(&s->state, ST_RUNNING);
    for (unsigned i = 0; i < s->o.workers + 1; i++) {
        if (pthread_create(&s->threads[i], NULL, worker, s) != 0)
            break;
        s->nthreads++;
    }
    pthread_mutex_unlock(&s->mu);
    if (s->nthreads == 0) {
        atomic_store(&s->state, ST_STOPPED);
        return FAR_EIO;
    }
    far__bind_server_up(&s->bind, &s->progs[0].d, s->nprogs, sizeof *s->progs);
    return FAR_OK;
}

static void join_all(far_server *s)
{
    pthread_mutex_lock(&s->mu);
    while (atomic_load(&s->state) != ST_STOPPED)
        pthread_cond_wait(&s->cv, &s->mu);
    bool join = !s->joined;
    s->joined = true;
    pthread_mutex_unlock(&s->mu);
    if (join)
        for (unsigned i = 0; i < s->nthreads; i++)
            pthread_join(s->threads[i], NULL);
}

FAR__API far_err far_server_run(far_server *s)
{
    if (!s)
        return FAR_EMISUSE;
    if (atomic_load(&s->state) == ST_CREATED) {
        far_err rc = far_server_start(s);
        if (rc != FAR_OK)
            return rc;
    }
    join_all(s);
    return FAR_OK;
}

FAR__API void far_server_stop(far_server *s)
{
    if (s && s->stopfd >= 0) {
        uint64_t one = 1;
        ssize_t r = write(s->stopfd, &one, sizeof one);
        (void)r;
    }
}

FAR__API void far_server_destroy(far_server *s)
{
    if (!s)
        return;
    int st = atomic_load(&s->state);
    if (st != ST_CREATED) {
        far_server_stop(s);
        join_all(s);
    } else {
        close_listeners(s);
    }
    /* Requests still queued (never run: the server was stopped first). */
    while (s->q_head) {
        far_svc_req *r = s->q_head;
        s->q_head = r->next;
        req_put(s, r);
    }
    if (s->slots) {
        for (uint32_t i = 0; i < s->o.max_conns; i++)
            if (s->slots[i].c)
                conn_kill(s->slots[i].c, NULL);
    }
    while (s->pool) {
        far_svc_req *r = s->pool;
        s->pool = r->next;
        far_arena_fini(&r->arena);
        far_xdr_enc_fini(&r->enc);
        free(r->inbuf);
        free(r);
    }
    for (unsigned i = 0; i < s->nlst; i++)
        if (s->lst[i].fd >= 0)
            close(s->lst[i].fd);
    far__poller_fini(&s->p);
    int fds[] = {s->qfd, s->stopfd, s->exitfd, s->timerfd, s->reserve_fd, s->kickfd};
    for (size_t i = 0; i < FAR__ARRAY_LEN(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(s->threads);
    free(s->slots);
    free(s->free_idx);
    free(s->progs);
    far__bind_free(s->bind);
    pthread_mutex_destroy(&s->slots_mu);
    pthread_mutex_destroy(&s->qmu);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

void far__server_set_max_fragment(far_server *s, size_t frag)
{
    s->frag = frag;
}

/* ------------------------------------------------------------ request accessors */

FAR__API uint32_t far_svc_req_prog(const far_svc_req *r)
{
    return r ? r->h.prog : 0;
}
FAR__API uint32_t far_svc_req_vers(const far_svc_req *r)
{
    return r ? r->h.vers : 0;
}
FAR__API uint32_t far_svc_req_proc(const far_svc_req *r)
{
    return r ? r->h.proc : 0;
}
FAR__API uint32_t far_svc_req_xid(const far_svc_req *r)
{
    return r ? r->h.xid : 0;
}
FAR__API const far_auth_sys *far_svc_req_auth_sys(const far_svc_req *r)
{
    return r && r->has_cred ? &r->cred : NULL;
}
FAR__API const char *far_svc_req_peer(const far_svc_req *r)
{
    if (!r)
        return "";
    if (r->c)
        return r->c->peer;
    far_svc_req *m = (far_svc_req *)r;
    if (!m->peerbuf[0])
        far__addr_format(FAR__UDP, (struct sockaddr *)&m->peer, m->peer_len, m->peerbuf,
                         sizeof m->peerbuf);
    return m->peerbuf;
}
FAR__API far_arena *far_svc_req_arena(far_svc_req *r)
{
    return r ? &r->arena : NULL;
}
FAR__API void far_svc_req_set_auth_stat(far_svc_req *r, int auth_stat)
{
    if (r)
        r->auth_stat = auth_stat;
}
FAR__API far_err far_svc_req_peer_cred(const far_svc_req *r, uint32_t *uid, uint32_t *gid)
{
    if (!r || !r->c || r->t != FAR__UNIX)
        return FAR_EMISUSE;
    struct ucred uc;
    socklen_t len = sizeof uc;
    if (getsockopt(r->c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
        return FAR_EIO;
    if (uid)
        *uid = (uint32_t)uc.uid;
    if (gid)
        *gid = (uint32_t)uc.gid;
    return FAR_OK;
}
