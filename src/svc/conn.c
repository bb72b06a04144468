/* Server: one stream connection (TCP or Unix).
 *
 * Reading.  The thread that gets an event becomes the connection's reader
 * (one at a time; the others note that more may have arrived), reads until a
 * short read says the socket is drained (no extra read to find EAGAIN), and
 * runs the first stages of each complete record (dispatch.c).  Calls the
 * runtime answers by itself are queued as replies at once; the others go to
 * the connection's lane and into its table of calls in flight.  Reading
 * pauses while calls in flight plus replies not yet written reach
 * max_calls_per_conn, or the bytes they hold the connection's budget.
 *
 * Writing.  Replies are queued on the connection's stream and written with
 * one writev by whichever thread finds no one else writing (replies of a
 * pipelined batch go out together).  Nothing reads or writes in blocking mode.
 *
 * Lifetime.  Connections are reference counted (the slot table, a reader, each
 * call); epoll events name a connection by slot index and generation, so a
 * late event for a closed connection finds nothing.  A connection enters the
 * slot table only once it is fully made.  The fd is closed when the last
 * reference goes.  A connection whose peer has gone (end of stream, reset, or
 * a write error) is dead: its calls still waiting for a handler are dropped at
 * once (their replies could never be sent), replies not yet written are
 * dropped, and the slot is given back. */
#include "svc/svc.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define STEAL_MIN   (64 * 1024)
#define SWEEP_CHUNK 64

static far_svc_req *req_of(far__wmsg *m)
{
    return FAR__CONTAINER_OF(m, far_svc_req, wm);
}

/* ------------------------------------------------------------ calls in flight */

static size_t call_slot(const conn *c, uint32_t xid)
{
    return (xid * 2654435761u) & (c->calls_size - 1);
}

/* Enters r in the table of c's calls in flight (c->mu held).  The table
 * grows as it fills; without memory to grow, its chains grow instead. */
static void calls_insert(conn *c, far_svc_req *r)
{
    if (c->ncalls + 1 > c->calls_size) {
        size_t nsz = c->calls_size ? c->calls_size * 4 : 16;
        far_svc_req **nt = calloc(nsz, sizeof *nt);
        if (!nt)
            goto insert;
        far_svc_req **ot = c->calls;
        size_t old = c->calls_size;
        c->calls = nt;
        c->calls_size = nsz;
        for (size_t i = 0; i < old; i++) {
            for (far_svc_req *e = ot[i], *nx; e; e = nx) {
                nx = e->hnext;
                size_t h = call_slot(c, e->h.xid);
                e->hnext = c->calls[h];
                c->calls[h] = e;
            }
        }
        free(ot);
    }
insert:
    if (!c->calls_size) {
        r->in_table = false; /* no table at all (out of memory): not findable */
        return;
    }
    size_t h = call_slot(c, r->h.xid);
    r->hnext = c->calls[h];
    c->calls[h] = r;
    r->in_table = true;
    c->ncalls++;
}

static void calls_remove(conn *c, far_svc_req *r)
{
    if (!r->in_table)
        return;
    for (far_svc_req **pp = &c->calls[call_slot(c, r->h.xid)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == r) {
            *pp = r->hnext;
            break;
        }
    }
    r->in_table = false;
    r->hnext = NULL;
    c->ncalls--;
}

far_svc_req *far__svc_find_call(far_svc_req *r, uint32_t xid)
{
    conn *c = r->c;
    if (!c)
        return NULL;
    pthread_mutex_lock(&c->mu);
    far_svc_req *hit = NULL;
    if (c->calls_size)
        for (far_svc_req *e = c->calls[call_slot(c, xid)]; e && !hit; e = e->hnext)
            if (e->h.xid == xid)
                hit = e;
    pthread_mutex_unlock(&c->mu);
    return hit;
}

/* ------------------------------------------------------------ lifetime */

conn *far__svc_conn_new(far_server *s, int fd, far__transport t, const struct sockaddr *peer,
                        socklen_t plen)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s = s;
    c->t = t;
    atomic_init(&c->refs, 1);
    atomic_init(&c->queued, 0);
    atomic_init(&c->hup, false);
    atomic_init(&c->dead, false);
    pthread_mutex_init(&c->mu, NULL);
    far__stream_init(&c->st, fd, s->o.max_record, 4096);
    atomic_init(&c->last_active, far__now_ns());
    if (t == FAR__TCP) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    far__addr_format(t, peer, plen, c->peer, sizeof c->peer);
    return c;
}

void far__svc_conn_put(conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    close(c->st.fd);
    far__stream_fini(&c->st);
    free(c->spare);
    free(c->calls);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

conn *far__svc_conn_lookup(far_server *s, uint64_t v)
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

/* Frees calls of c that will never run (`waiting`: they were counted in
 * flight), or replies that will never be written. */
static void drop_list(far_server *s, conn *c, far_svc_req *r, bool waiting)
{
    if (!waiting && r) {
        /* The bytes they held, given back under one lock. */
        size_t held = 0;
        for (far_svc_req *x = r; x; x = x->next)
            held += x->held, x->held = 0;
        pthread_mutex_lock(&c->mu);
        c->held -= held;
        pthread_mutex_unlock(&c->mu);
    }
    while (r) {
        far_svc_req *n = r->next;
        if (waiting) {
            pthread_mutex_lock(&c->mu);
            c->inflight--;
            calls_remove(c, r);
            pthread_mutex_unlock(&c->mu);
        }
        far__svc_req_put(s, r);
        if (waiting)
            far__svc_req_done_count(s);
        r = n;
    }
}

/* ------------------------------------------------------------ reply batches */

static void batch_free(conn *c, rbatch *b)
{
    pthread_mutex_lock(&c->mu);
    if (!c->batch_spare && b->cap <= 65536 && !c->dead) {
        c->batch_spare = b;
        b = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (b) {
        free(b->buf);
        free(b);
    }
}

/* Appends the reply built in r->enc (a record mark reserved in front) to the
 * batch *bp, made if needed.  False if out of memory. */
static bool batch_add(conn *c, rbatch **bp, far_svc_req *r)
{
    size_t len = far_xdr_enc_len(&r->enc);
    rbatch *b = *bp;
    if (!b) {
        pthread_mutex_lock(&c->mu);
        b = c->batch_spare;
        c->batch_spare = NULL;
        pthread_mutex_unlock(&c->mu);
        if (!b && !(b = calloc(1, sizeof *b)))
            return false;
        b->n = 0;
        b->len = 0;
        b->wm.kind = WM_BATCH;
        *bp = b;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *nb = realloc(b->buf, cap);
        if (!nb)
            return false;
        b->buf = nb;
        b->cap = cap;
    }
    if (far_xdr_enc_flatten(&r->enc, b->buf + b->len, len) != FAR_OK)
        return false;
    far_xdr_store_u32(b->buf + b->len, FAR__REC_LAST | (uint32_t)(len - 4));
    b->len += len;
    b->n++;
    return true;
}

/* Splits messages taken off the stream into the replies (returned, linked by
 * next) and the batches (*batches, linked by wm.next); *nreplies counts the
 * replies in both, *bytes the batches' bytes. */
static far_svc_req *split_msgs(far__wmsg *m, rbatch **batches, unsigned *nreplies,
                               size_t *bytes)
{
    far_svc_req *first = NULL, **t = &first;
    far__wmsg *bl = NULL;
    *nreplies = 0;
    *bytes = 0;
    while (m) {
        far__wmsg *n = m->next;
        if (m->kind == WM_BATCH) {
            rbatch *b = FAR__CONTAINER_OF(m, rbatch, wm);
            *nreplies += b->n;
            *bytes += b->len;
            m->next = bl;
            bl = m;
        } else {
            far_svc_req *r = req_of(m);
            r->next = NULL;
            *t = r;
            t = &r->next;
            (*nreplies)++;
        }
        m = n;
    }
    *batches = bl ? FAR__CONTAINER_OF(bl, rbatch, wm) : NULL;
    return first;
}

/* Frees what split_msgs gave (c->mu not held): replies and batches never to
 * be written again, their counts already taken off outq. */
static void drop_msgs(far_server *s, conn *c, far_svc_req *reqs, rbatch *batches, size_t bytes)
{
    if (bytes) {
        pthread_mutex_lock(&c->mu);
        c->held -= bytes;
        pthread_mutex_unlock(&c->mu);
    }
    while (batches) {
        far__wmsg *n = batches->wm.next;
        batch_free(c, batches);
        batches = n ? FAR__CONTAINER_OF(n, rbatch, wm) : NULL;
    }
    drop_list(s, c, reqs, false);
}

void far__svc_conn_kill(conn *c, const char *why)
{
    far_server *s = c->s;
    pthread_mutex_lock(&c->mu);
    if (c->dead) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->dead = true;
    /* A writer at work keeps its queue and drops it when it sees `dead`. */
    far_svc_req *out = NULL;
    rbatch *outb = NULL;
    unsigned nout = 0;
    size_t outbytes = 0;
    if (!c->st.flushing) {
        out = split_msgs(far__stream_take_all(&c->st), &outb, &nout, &outbytes);
        c->outq = 0;
    }
    rbatch *spare_b = c->batch_spare;
    c->batch_spare = NULL;
    pthread_mutex_unlock(&c->mu);
    if (spare_b) {
        free(spare_b->buf);
        free(spare_b);
    }
    if (why)
        far__log("%s: connection closed: %s", c->peer, why);
    shutdown(c->st.fd, SHUT_RDWR);
    far__loop_del(&s->loop, c->st.fd);
    atomic_fetch_add(&c->refs, 1); /* the calls below may hold the last references */
    pthread_mutex_lock(&s->qmu);
    far_svc_req *waiting = far__svc_lane_take_all(s, &c->ln);
    atomic_store(&c->queued, 0);
    pthread_mutex_unlock(&s->qmu);
    drop_list(s, c, waiting, true);
    drop_msgs(s, c, out, outb, outbytes);
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
        far__svc_conn_put(c);
    far__svc_conn_put(c);
}

/* ------------------------------------------------------------ writing */

/* Drops the replies of a dead connection (c->mu held, the caller the
 * writer); returns with c->mu held. */
static void drain_dead_locked(far_server *s, conn *c)
{
    while (c->st.nq) {
        rbatch *b;
        unsigned n;
        size_t bytes;
        far_svc_req *out = split_msgs(far__stream_take_all(&c->st), &b, &n, &bytes);
        c->outq = 0;
        pthread_mutex_unlock(&c->mu);
        drop_msgs(s, c, out, b, bytes);
        pthread_mutex_lock(&c->mu);
    }
}

/* Writes queued replies.  Called with c->mu held and c->st.flushing set by the
 * caller; returns with c->mu held and flushing cleared.  Every way out of here
 * drops the queue if the connection died meanwhile (a kill that finds a
 * writer at work leaves the queue to it). */
static void flush_locked(far_server *s, conn *c)
{
    for (;;) {
        if (c->dead) {
            drain_dead_locked(s, c);
            break;
        }
        far__wmsg *done;
        int err;
        ssize_t w = far__stream_write(&c->st, &c->mu, &done, &err);
        if (w > 0) {
            atomic_store(&c->last_active, far__now_ns());
            if (done) {
                rbatch *b;
                unsigned n;
                size_t bytes;
                far_svc_req *reqs = split_msgs(done, &b, &n, &bytes);
                c->outq -= n;
                pthread_mutex_unlock(&c->mu);
                drop_msgs(s, c, reqs, b, bytes);
                pthread_mutex_lock(&c->mu);
            }
            continue;
        }
        if (w < 0 && err == EINTR)
            continue;
        if (c->dead)
            continue; /* the top of the loop drops the queue of a dead one */
        if (w == 0) {
            if (err == EAGAIN && c->st.flush_again) {
                c->st.flush_again = false;
                continue;
            }
            break; /* empty, or full: EPOLLOUT calls us back */
        }
        /* The peer is gone.  Kill it as the writer: the queue is ours to drop. */
        pthread_mutex_unlock(&c->mu);
        far__svc_conn_kill(c, NULL);
        pthread_mutex_lock(&c->mu);
    }
    c->st.flushing = false;
}

/* True when reading must pause (c->mu held). */
static bool conn_full(far_server *s, conn *c)
{
    return c->inflight + c->outq >= s->o.max_calls_per_conn || c->held >= s->held_max;
}

/* True (and no longer paused) when a connection whose reading was paused may
 * be read again.  c->mu held; the caller calls conn_read after unlocking. */
static bool may_resume(far_server *s, conn *c)
{
    if (!c->paused || c->dead || conn_full(s, c))
        return false;
    c->paused = false;
    return true;
}

void far__svc_conn_flush(far_server *s, conn *c, bool from_event)
{
    pthread_mutex_lock(&c->mu);
    if (c->st.flushing) {
        if (from_event)
            c->st.flush_again = true;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->st.flushing = true;
    flush_locked(s, c);
    bool resume = may_resume(s, c); /* replies written: room again */
    pthread_mutex_unlock(&c->mu);
    if (resume)
        far__svc_conn_read(s, c);
}

/* Queues the replies first..last (n of them, each counted in c->inflight);
 * writes them unless more of this connection's calls are queued (their
 * replies then go out together).  If that makes room to read again, reads --
 * or, with `resume` not NULL, says so there for the caller (the reader) to
 * go round again, so readers never nest. */
static void send_replies(far_server *s, conn *c, far_svc_req *first, unsigned n, bool *resume_out)
{
    if (resume_out)
        *resume_out = false;
    pthread_mutex_lock(&c->mu);
    c->inflight -= n;
    for (far_svc_req *r = first; r; r = r->next)
        calls_remove(c, r);
    if (c->dead) {
        pthread_mutex_unlock(&c->mu);
        drop_list(s, c, first, false);
        return;
    }
    for (far_svc_req *r = first, *nx; r; r = nx) {
        nx = r->next;
        r->held += r->total;
        c->held += r->total;
        r->wm.iov = r->iov;
        r->wm.niov = r->niov;
        r->wm.total = r->total;
        r->wm.sent = 0;
        far__stream_push(&c->st, &r->wm, FAR__WMSG_SMALL);
    }
    c->outq += n;                  /* still counted against max_calls_per_conn until written */
    atomic_fetch_add(&c->refs, 1); /* keep c alive past req_put in the flush */
    if (!c->st.flushing && atomic_load(&c->queued) == 0) {
        c->st.flushing = true;
        flush_locked(s, c);
    }
    bool resume = may_resume(s, c);
    pthread_mutex_unlock(&c->mu);
    if (resume_out)
        *resume_out = resume;
    else if (resume)
        far__svc_conn_read(s, c);
    far__svc_conn_put(c);
}

void far__svc_conn_send(far_server *s, conn *c, far_svc_req *first, far_svc_req *last, unsigned n)
{
    (void)last;
    send_replies(s, c, first, n, NULL);
}

void far__svc_conn_drop_call(far_server *s, conn *c, far_svc_req *r)
{
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    calls_remove(c, r);
    bool resume = may_resume(s, c);
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(&c->refs, 1);
    far__svc_req_put(s, r);
    if (resume)
        far__svc_conn_read(s, c);
    far__svc_conn_put(c);
}

/* ------------------------------------------------------------ reading */

/* Appends r to the list first..last. */
static void append(far_svc_req **first, far_svc_req **last, far_svc_req *r)
{
    r->next = NULL;
    if (*last)
        (*last)->next = r;
    else
        *first = r;
    *last = r;
}

/* Points the call header's credential and verifier at r's own copy of the
 * record, which was read from `from`. */
static void rebase_hdr(far_svc_req *r, const uint8_t *from)
{
    if (r->h.cred_body)
        r->h.cred_body = r->in + (r->h.cred_body - from);
    if (r->h.verf_body)
        r->h.verf_body = r->in + (r->h.verf_body - from);
}

/* Turns one complete record at p into a call of c.  The first stages run on
 * the reader's scratch call object, reading the record where it lies; a
 * call the runtime answers goes into the round's batch of replies and the
 * scratch object is used again (*out is then NULL).  A call that needs a
 * handler (or a reply that cannot be batched) takes the scratch object with
 * a copy of its record (*out).  *kill is set when the connection must close.
 * The call is not yet counted in c (the reader counts a burst at once). */
static far__front take_record(far_server *s, conn *c, uint8_t *p, size_t len,
                              far_svc_req **scratch, rbatch **batch, far_svc_req **out,
                              const char **kill)
{
    *out = NULL;
    far_svc_req *r = *scratch;
    if (r) {
        far__svc_req_reset(r);
    } else if (!(r = *scratch = far__svc_req_get(s))) {
        *kill = "out of memory";
        return FRONT_DROP;
    }
    r->t = c->t;
    r->in = p;
    r->in_len = len;
    far__front v = far__svc_front(s, r);
    if (v == FRONT_DROP)
        return v;
    if (v == FRONT_REPLY && s->frag == 0 && batch_add(c, batch, r))
        return v; /* batched; the scratch object goes on */
    /* It leaves the scratch slot with a record of its own. */
    *scratch = NULL;
    if (len >= STEAL_MIN) {
        /* The read buffer itself, which holds the record at p. */
        r->stolen = far__recrd_steal(&c->st.rd, &r->stolen_cap);
        if (!r->stolen) {
            far__svc_req_put(s, r);
            *kill = "out of memory";
            return FRONT_DROP;
        }
    } else if (far__svc_req_copy_in(r, p, len)) {
        rebase_hdr(r, p);
    } else {
        far__svc_req_put(s, r);
        *kill = "out of memory";
        return FRONT_DROP;
    }
    if (v == FRONT_REPLY && !far__svc_reply_finish(s, r)) {
        far__svc_req_put(s, r);
        return FRONT_DROP;
    }
    atomic_fetch_add(&c->refs, 1);
    r->c = c;
    r->held = len;
    if (v == FRONT_HANDLER)
        atomic_fetch_add(&s->inflight, 1);
    *out = r;
    return v;
}

/* Queues the round's batch of replies (c->mu held): it counts in outq and in
 * the bytes held until written. */
static void batch_queue(conn *c, rbatch *b)
{
    b->iov.iov_base = b->buf;
    b->iov.iov_len = b->len;
    b->wm.iov = &b->iov;
    b->wm.niov = 1;
    b->wm.total = b->len;
    b->wm.sent = 0;
    c->outq += b->n;
    c->held += b->len;
    far__stream_push(&c->st, &b->wm, FAR__WMSG_SMALL);
}

/* The calls a reader has taken and not yet counted in its connection. */
typedef struct burst {
    unsigned n;          /* calls (counted in c->inflight at the commit) */
    size_t bytes;        /* their records' bytes */
    far_svc_req *tab;    /* the first handler call not yet in c's table */
    rbatch *batch;       /* replies the runtime answered, not yet queued */
    unsigned room;       /* calls it may take before it must look again */
    size_t room_bytes;
} burst;

/* Counts the burst's calls in c and enters its handler calls in c's table,
 * then says how many more the reader may take (c->mu held). */
static void burst_commit(far_server *s, conn *c, burst *b)
{
    c->inflight += b->n;
    c->held += b->bytes;
    for (far_svc_req *r = b->tab; r; r = r->next)
        calls_insert(c, r);
    b->n = 0;
    b->bytes = 0;
    b->tab = NULL;
    if (b->batch && !c->dead) {
        batch_queue(c, b->batch);
        b->batch = NULL;
        if (!c->st.flushing && atomic_load(&c->queued) == 0) {
            /* written now, they make room for more of this round */
            c->st.flushing = true;
            flush_locked(s, c);
        }
    }
    unsigned used = c->inflight + c->outq;
    b->room = used < s->o.max_calls_per_conn ? s->o.max_calls_per_conn - used : 0;
    b->room_bytes = c->held < s->held_max ? s->held_max - c->held : 0;
}

static bool read_round(far_server *s, conn *c);

void far__svc_conn_read(far_server *s, conn *c)
{
    /* Round after round while answering calls in one makes room for the
     * next: a loop, not recursion (a pipelining client would otherwise take
     * the stack one round deeper per window). */
    while (read_round(s, c)) {
    }
}

/* One round of reading c; true if it should go round again at once. */
static bool read_round(far_server *s, conn *c)
{
    far_svc_req *first = NULL, *last = NULL;   /* calls for handlers */
    far_svc_req *rfirst = NULL, *rlast = NULL; /* calls the runtime answered */
    int n = 0;
    unsigned nr = 0;
    const char *kill = NULL;
    bool eof = false, drained = false;

    pthread_mutex_lock(&c->mu);
    if (c->reading || c->paused || c->dead) {
        /* A paused connection whose peer has gone is not read again (so its
         * end of stream would never be seen): close it now. */
        bool gone = c->paused && !c->reading && !c->dead && atomic_load(&c->hup);
        c->read_again = true;
        pthread_mutex_unlock(&c->mu);
        if (gone)
            far__svc_conn_kill(c, NULL);
        return false;
    }
    c->reading = true;
    c->read_again = false;
    uint8_t *spare = c->spare;
    size_t spare_cap = c->spare_cap;
    c->spare = NULL;
    c->spare_cap = 0;
    burst b = {0};
    far_svc_req *scratch = NULL;
    burst_commit(s, c, &b);
    pthread_mutex_unlock(&c->mu);
    if (spare)
        far__recrd_give_spare(&c->st.rd, spare, spare_cap);

    for (;;) {
        bool stopping = atomic_load(&s->state) >= ST_STOPPING;
        bool paused = false;
        /* Complete records already buffered. */
        while (!stopping && !kill) {
            uint8_t *p;
            size_t len;
            far_err err = FAR_OK;
            unsigned taken = b.n + (b.batch ? b.batch->n : 0);
            size_t taken_bytes = b.bytes + (b.batch ? b.batch->len : 0);
            if (taken >= b.room || taken_bytes >= b.room_bytes) {
                /* The window the connection had is used up: count what was
                 * taken, and look again (replies written meanwhile make room). */
                pthread_mutex_lock(&c->mu);
                burst_commit(s, c, &b);
                if (conn_full(s, c))
                    c->paused = paused = true;
                pthread_mutex_unlock(&c->mu);
                if (paused)
                    break;
            }
            int rc = far__recrd_next(&c->st.rd, &p, &len, &err);
            if (rc == 0)
                break;
            if (rc < 0) {
                kill = err == FAR_ELIMIT ? "record larger than the server's maximum"
                                         : "malformed record marking";
                break;
            }
            far_svc_req *r = NULL;
            far__front v = take_record(s, c, p, len, &scratch, &b.batch, &r, &kill);
            if (v == FRONT_REPLY) {
                nr++;
                if (r)
                    append(&rfirst, &rlast, r);
            } else if (v == FRONT_HANDLER) {
                append(&first, &last, r);
                if (!b.tab)
                    b.tab = r;
                n++;
            }
            if (r) {
                b.n++;
                b.bytes += len;
            }
        }
        /* Then the socket, until it is drained: a read that returns less than
         * it asked for has emptied the socket (data arriving after it is a
         * new edge, which finds us reading and sets read_again), unless the
         * peer has hung up -- then read on until EOF. */
        if (!kill && !paused && !stopping && !drained) {
            far_err rerr;
            ssize_t got = far__stream_recv(&c->st, MSG_DONTWAIT, &rerr);
            if (got > 0) {
                drained = (size_t)got < c->st.last_space && !atomic_load(&c->hup);
                continue;
            }
            if (rerr != FAR_OK)
                kill = "out of memory";
            else if (got == 0)
                eof = true;
            else if (errno == EINTR)
                continue;
            else if (errno == EAGAIN || errno == EWOULDBLOCK)
                drained = true;
            else
                eof = true;
        }
        /* Stop reading, unless an event came in meanwhile (it found us
         * reading and left the work to us) or reading was resumed. */
        pthread_mutex_lock(&c->mu);
        burst_commit(s, c, &b);
        if (!kill && !eof && !c->dead && !c->paused && c->read_again && !stopping) {
            c->read_again = false;
            drained = false;
            pthread_mutex_unlock(&c->mu);
            continue;
        }
        c->reading = false;
        /* Paused with the peer gone: its end of stream would not be read. */
        if (c->paused && atomic_load(&c->hup))
            eof = true;
        pthread_mutex_unlock(&c->mu);
        break;
    }
    if (n || nr)
        atomic_store(&c->last_active, far__now_ns());
    /* The peer is gone (end of stream, reset): the calls it sent can never be
     * answered, so none of them runs (RFC 5531 has no half-closed stream; an
     * ONC RPC client that stops sending has stopped). */
    if (kill || eof)
        far__svc_conn_kill(c, kill);
    if (scratch)
        far__svc_req_put(s, scratch);
    bool again = false;
    if (b.batch) {
        /* the connection died before its batch went out */
        free(b.batch->buf);
        free(b.batch);
    }
    if (rfirst) {
        unsigned k = 0;
        for (far_svc_req *r = rfirst; r; r = r->next)
            k++;
        send_replies(s, c, rfirst, k, &again);
    } else {
        pthread_mutex_lock(&c->mu);
        if (!c->dead && c->st.nq && !c->st.flushing && atomic_load(&c->queued) == 0) {
            c->st.flushing = true;
            flush_locked(s, c);
        }
        again = may_resume(s, c);
        pthread_mutex_unlock(&c->mu);
    }
    (void)rlast;
    far__svc_dispatch(s, &c->ln, c, first, last, n);
    return again;
}

/* ------------------------------------------------------------ the idle sweep */

/* Closes the connections that have made no progress (no complete call
 * received, no reply bytes written) for idle_timeout_ms and have no call
 * waiting or running -- every one of them, in chunks -- and trims the buffers
 * of connections gone quiet.  Runs from a timer and re-arms it. */
void far__svc_sweep(far__timer *t, void *arg)
{
    far_server *s = arg;
    uint64_t now = far__now_ns(), idle = (uint64_t)s->o.idle_timeout_ms * 1000000u;
    uint32_t i = 0;
    while (i < s->o.max_conns) {
        conn *victims[SWEEP_CHUNK];
        int nv = 0;
        pthread_mutex_lock(&s->slots_mu);
        for (; i < s->o.max_conns && nv < SWEEP_CHUNK; i++) {
            conn *c = s->slots[i].c;
            if (!c)
                continue;
            pthread_mutex_lock(&c->mu);
            uint64_t last = atomic_load(&c->last_active);
            uint64_t quiet = now > last ? now - last : 0;
            bool idle_now = c->inflight == 0 && !c->reading && quiet > idle;
            int unread = 0;
            /* A call waiting unread in the socket of a connection being read
             * (the server is slow to get to it, not the client quiet) is
             * progress the sweep cannot see in last_active.  A paused one is
             * not read on purpose: what waits there is the client's excess. */
            if (idle_now && !c->paused && ioctl(c->st.fd, FIONREAD, &unread) == 0 && unread > 0)
                idle_now = false;
            if (!c->reading && quiet > TRIM_NS) {
                /* Buffers kept for the next big record (a spare, a grown read
                 * buffer) are not kept for a connection gone quiet: idle
                 * connections must stay cheap.  c->mu keeps a reader out. */
                free(c->spare);
                c->spare = NULL;
                c->spare_cap = 0;
                far__recrd_trim(&c->st.rd);
            }
            pthread_mutex_unlock(&c->mu);
            if (idle_now) {
                atomic_fetch_add(&c->refs, 1);
                victims[nv++] = c;
            }
        }
        pthread_mutex_unlock(&s->slots_mu);
        for (int k = 0; k < nv; k++) {
            far__svc_conn_kill(victims[k], "idle timeout (no call received and no reply taken)");
            far__svc_conn_put(victims[k]);
        }
    }
    /* Listeners that ran out of descriptors try again. */
    pthread_mutex_lock(&s->mu);
    unsigned nl = s->nlst;
    pthread_mutex_unlock(&s->mu);
    for (unsigned k = 0; k < nl; k++) {
        pthread_mutex_lock(&s->mu);
        bool retry = s->lst[k].starved && s->lst[k].fd >= 0;
        s->lst[k].starved = false;
        pthread_mutex_unlock(&s->mu);
        if (retry)
            far__svc_accept_all(s, &s->lst[k]);
    }
    if (atomic_load(&s->state) == ST_RUNNING)
        far__timer_start(&s->loop, t, far__now_ns() + s->sweep_ns);
}
