/* Server: writing a connection's replies.  Replies are queued on the
 * connection's stream and written with one writev by whichever thread finds
 * no one else writing (replies of a pipelined batch go out together).
 * Replies the runtime answered itself while reading go out as one batch per
 * read.  A reply written makes room in the connection's window, which may
 * let a paused reader go on.  Nothing writes in blocking mode. */
#include "svc/svc.h"

#include <errno.h>

static far_svc_req *req_of(far__wmsg *m)
{
    return FAR__CONTAINER_OF(m, far_svc_req, wm);
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
bool far__svc_batch_add(conn *c, rbatch **bp, far_svc_req *r)
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
far_svc_req *far__svc_split_msgs(far__wmsg *m, rbatch **batches, unsigned *nreplies, size_t *bytes)
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
void far__svc_drop_msgs(far_server *s, conn *c, far_svc_req *reqs, rbatch *batches, size_t bytes)
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
    far__svc_drop_list(s, c, reqs, false);
}

/* Queues the round's batch of replies (c->mu held): it counts in outq and in
 * the bytes held until written. */
void far__svc_batch_queue(conn *c, rbatch *b)
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

/* Sends a reader's batch of replies (c->mu held, and held again on return).
 * When nothing else is queued and nobody writes -- a lone call's answer, the
 * usual case -- it is written straight from the batch with one send (the
 * lock let go meanwhile, the connection marked as being written), never
 * queued: true, and the batch is still the caller's, to fill again.  What is
 * not written so (a full socket, an error, others writing) is queued and
 * flushed as any reply: false, the batch is the writer's now. */
/* Writes one message straight from its iovecs, nothing being queued or
 * written (c->mu held, let go meanwhile, held again on return; the
 * connection marked as being written).  Written whole: what others queued
 * meanwhile (they found us writing) goes now, or a kill meanwhile left its
 * queue to us; else the caller queues the rest and flushes (it is the
 * writer).  Returns what sendmsg returned. */
static inline __attribute__((always_inline)) ssize_t
write_straight(far_server *s, conn *c, struct iovec *iov, int niov, size_t total)
{
    c->st.flushing = true;
    int fd = c->st.fd;
    pthread_mutex_unlock(&c->mu);
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
    ssize_t w = niov == 1 ? send(fd, iov->iov_base, iov->iov_len, MSG_DONTWAIT | MSG_NOSIGNAL)
                          : sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    pthread_mutex_lock(&c->mu);
    if (w == (ssize_t)total) {
        if (c->st.nq || c->dead)
            far__svc_flush_locked(s, c);
        else
            c->st.flushing = false;
    }
    return w;
}

bool far__svc_batch_send(far_server *s, conn *c, rbatch *b)
{
    if (c->st.flushing || c->st.nq) {
        far__svc_batch_queue(c, b);
        if (!c->st.flushing) {
            c->st.flushing = true;
            far__svc_flush_locked(s, c);
        }
        return false;
    }
    struct iovec v = {b->buf, b->len};
    ssize_t w = write_straight(s, c, &v, 1, b->len);
    if (w == (ssize_t)b->len)
        return true;
    /* The rest, queued ahead of anything queued meanwhile (a record begun
     * must be finished first); the flush finds a full socket (EPOLLOUT
     * calls it back) or the error, as for any reply. */
    far__svc_batch_queue(c, b);
    if (w > 0) {
        b->wm.sent = (size_t)w;
        c->st.cur = &b->wm;
    }
    far__svc_flush_locked(s, c);
    return false;
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
        far_svc_req *out = far__svc_split_msgs(far__stream_take_all(&c->st), &b, &n, &bytes);
        c->outq = 0;
        pthread_mutex_unlock(&c->mu);
        far__svc_drop_msgs(s, c, out, b, bytes);
        pthread_mutex_lock(&c->mu);
    }
}

/* Writes queued replies.  Called with c->mu held and c->st.flushing set by the
 * caller; returns with c->mu held and flushing cleared.  Every way out of here
 * drops the queue if the connection died meanwhile (a kill that finds a
 * writer at work leaves the queue to it). */
void far__svc_flush_locked(far_server *s, conn *c)
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
                far_svc_req *reqs = far__svc_split_msgs(done, &b, &n, &bytes);
                c->outq -= n;
                /* the bytes they held, given back here, under this lock */
                c->held -= bytes;
                for (far_svc_req *x = reqs; x; x = x->next) {
                    c->held -= x->held;
                    x->held = 0;
                }
                pthread_mutex_unlock(&c->mu);
                far__svc_drop_msgs(s, c, reqs, b, 0);
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
bool far__svc_conn_full(far_server *s, conn *c)
{
    return c->inflight + c->outq >= s->o.max_calls_per_conn || c->held >= s->held_max;
}

/* True (and no longer paused) when a connection whose reading was paused may
 * be read again.  c->mu held; the caller calls conn_read after unlocking. */
bool far__svc_may_resume(far_server *s, conn *c)
{
    if (!c->paused || c->dead || far__svc_conn_full(s, c))
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
    far__svc_flush_locked(s, c);
    bool resume = far__svc_may_resume(s, c); /* replies written: room again */
    pthread_mutex_unlock(&c->mu);
    if (resume)
        far__svc_conn_read(s, c);
}

/* A bulk transfer's chunk of data (a PULL's reply) lets small replies
 * overtake it. */
static unsigned reply_class(const far_svc_req *r)
{
    return r->h.prog == FAR__BULK_PROG && r->h.proc == FAR__BULK_PROC_PULL ? FAR__WMSG_BULK
                                                                           : FAR__WMSG_SMALL;
}

/* Queues the replies first..last (n of them, each counted in c->inflight);
 * writes them unless more of this connection's calls are queued (their
 * replies then go out together).  If that makes room to read again, reads --
 * or, with `resume` not NULL, says so there for the caller (the reader) to
 * go round again, so readers never nest. */
void far__svc_send_replies(far_server *s, conn *c, far_svc_req *first, unsigned n, bool *resume_out)
{
    if (resume_out)
        *resume_out = false;
    pthread_mutex_lock(&c->mu);
    c->inflight -= n;
    for (far_svc_req *r = first; r; r = r->next) {
        far__svc_calls_remove(c, r);
        /* remembered for FAR_CTL STATUS (ctl.c) */
        c->done_xids[c->done_pos] = r->h.xid;
        c->done_pos = (c->done_pos + 1) % FAR__SVC_DONE_RING;
        if (c->done_n < FAR__SVC_DONE_RING)
            c->done_n++;
    }
    if (c->dead) {
        pthread_mutex_unlock(&c->mu);
        far__svc_drop_list(s, c, first, false);
        return;
    }
    atomic_fetch_add(&c->refs, 1); /* keep c alive past req_put in the flush */
    /* A lone reply with nothing queued before it and nobody writing, the
     * usual case: written straight from its own iovecs, never queued (as a
     * reader's batch is).  What that leaves goes through the queue, the
     * rest of a record begun first. */
    bool direct =
        n == 1 && first->niov <= 64 && !c->st.flushing && !c->st.nq && atomic_load(&c->queued) == 0;
    ssize_t w = direct ? write_straight(s, c, first->iov, (int)first->niov, first->total) : -1;
    bool written = direct && w == (ssize_t)first->total;
    if (written) {
        atomic_store(&c->last_active, far__now_ns());
    } else {
        for (far_svc_req *r = first, *nx; r; r = nx) {
            nx = r->next;
            r->held += r->total;
            c->held += r->total;
            r->wm.iov = r->iov;
            r->wm.niov = r->niov;
            r->wm.total = r->total;
            r->wm.sent = 0;
            far__stream_push(&c->st, &r->wm, reply_class(r));
        }
        if (w > 0) {
            first->wm.sent = (size_t)w;
            c->st.cur = &first->wm;
        }
        c->outq += n; /* still counted against max_calls_per_conn until written */
        if (direct) { /* (we are the writer) */
            far__svc_flush_locked(s, c);
        } else if (!c->st.flushing && atomic_load(&c->queued) == 0) {
            c->st.flushing = true;
            far__svc_flush_locked(s, c);
        }
    }
    bool resume = far__svc_may_resume(s, c);
    pthread_mutex_unlock(&c->mu);
    if (written)
        far__svc_drop_list(s, c, first, false);
    if (resume_out)
        *resume_out = resume;
    else if (resume)
        far__svc_conn_read(s, c);
    far__svc_conn_put(c);
}

void far__svc_conn_send(far_server *s, conn *c, far_svc_req *first, far_svc_req *last, unsigned n)
{
    (void)last;
    far__svc_send_replies(s, c, first, n, NULL);
}

void far__svc_conn_drop_call(far_server *s, conn *c, far_svc_req *r)
{
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    far__svc_calls_remove(c, r);
    bool resume = far__svc_may_resume(s, c);
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(&c->refs, 1);
    far__svc_req_put(s, r);
    if (resume)
        far__svc_conn_read(s, c);
    far__svc_conn_put(c);
}
