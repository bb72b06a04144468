/* Server: reading a connection.  The thread that gets an event becomes the
 * connection's reader (one at a time; the others note that more may have
 * arrived), reads until a short read says the socket is drained (no extra
 * read to find EAGAIN), and runs the first stages of each complete record
 * (dispatch.c) on a scratch call object, where the record lies.  Calls the
 * runtime answers by itself go into a batch of replies; the others go to the
 * connection's lane and its table of calls in flight.  Reading pauses while
 * calls in flight plus replies not yet written reach max_calls_per_conn, or
 * the bytes they hold the connection's budget. */
#include "svc/svc.h"

#include <errno.h>
#include <stdio.h>

#define STEAL_MIN (64 * 1024)

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
static far__front take_record(far_server *s, conn *c, uint8_t *p, size_t len, uint64_t *now,
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
    r->reading = c;
    r->clock = now;
    far__front v = far__svc_front(s, r);
    r->clock = NULL;
    if (v == FRONT_DROP)
        return v;
    if (v == FRONT_REPLY && s->frag == 0 && far__svc_batch_add(c, batch, r))
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

/* The calls a reader has taken and not yet counted in its connection. */
typedef struct burst {
    unsigned n;       /* calls (counted in c->inflight at the commit) */
    size_t bytes;     /* their records' bytes */
    far_svc_req *tab; /* the first handler call not yet in c's table */
    rbatch *batch;    /* replies the runtime answered, not yet queued */
    unsigned room;    /* calls it may take before it must look again */
    size_t room_bytes;
} burst;

/* Counts the burst's calls in c and enters its handler calls in c's table,
 * then says how many more the reader may take (c->mu held). */
static void burst_commit(far_server *s, conn *c, burst *b)
{
    c->inflight += b->n;
    c->held += b->bytes;
    for (far_svc_req *r = b->tab; r; r = r->next)
        far__svc_calls_insert(c, r);
    b->n = 0;
    b->bytes = 0;
    b->tab = NULL;
    if (b->batch && b->batch->n && !c->dead) {
        /* Written now, whatever else of this connection waits (the
         * runtime's own answers never wait for a handler); they make room
         * for more of this round.  A batch written whole is filled again. */
        if (far__svc_batch_send(s, c, b->batch)) {
            b->batch->n = 0;
            b->batch->len = 0;
        } else {
            b->batch = NULL;
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
    char killbuf[200];
    bool eof = false, drained = false, again = false;

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
    if ((b.batch = c->batch_spare) != NULL) { /* (far__svc_batch_add fills it) */
        c->batch_spare = NULL;
        b.batch->n = 0;
        b.batch->len = 0;
    }
    far_svc_req *scratch = NULL;
    /* When this read's bytes came: read once, when a call first asks
     * (far__svc_req_now), and again after each read from the socket. */
    uint64_t now = 0;
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
                if (far__svc_conn_full(s, c))
                    c->paused = paused = true;
                pthread_mutex_unlock(&c->mu);
                if (paused)
                    break;
            }
            int rc = far__recrd_next(&c->st.rd, &p, &len, &err);
            if (rc == 0)
                break;
            if (rc < 0) {
                if (err == FAR_ELIMIT) {
                    snprintf(
                        killbuf, sizeof killbuf,
                        "a request of %s%zu bytes is larger than the server's limit of %" PRIu32
                        " bytes (far_server_opts.max_record)",
                        c->st.rd.too_big_exact ? "" : "at least ", c->st.rd.too_big,
                        s->o.max_record);
                    kill = killbuf;
                } else {
                    kill = "malformed record marking";
                }
                break;
            }
            if (b.tab && far__svc_ctl_is_ctl(p, len)) {
                /* A CANCEL or STATUS is about the calls before it: they enter
                 * the table first. */
                pthread_mutex_lock(&c->mu);
                burst_commit(s, c, &b);
                pthread_mutex_unlock(&c->mu);
            }
            far_svc_req *r = NULL;
            far__front v = take_record(s, c, p, len, &now, &scratch, &b.batch, &r, &kill);
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
            ssize_t got = far__stream_recv(&c->st, c->st.fd, MSG_DONTWAIT, &rerr);
            if (got > 0) {
                now = 0;
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
        if (b.batch && !b.batch->n && !c->dead && !c->batch_spare) {
            c->batch_spare = b.batch; /* for the next round */
            b.batch = NULL;
        }
        if (!rfirst && !kill && !eof) {
            /* Replies handlers queued while we read and nobody wrote (they
             * leave them to a reader that is at work), and room made. */
            if (!c->dead && c->st.nq && !c->st.flushing) {
                c->st.flushing = true;
                far__svc_flush_locked(s, c);
            }
            again = far__svc_may_resume(s, c);
        }
        pthread_mutex_unlock(&c->mu);
        break;
    }
    if (n || nr)
        atomic_store(&c->last_active, now ? now : far__now_ns());
    /* The peer is gone (end of stream, reset): the calls it sent can never be
     * answered, so none of them runs (RFC 5531 has no half-closed stream; an
     * ONC RPC client that stops sending has stopped). */
    if (kill || eof)
        far__svc_conn_kill(c, kill);
    if (scratch)
        far__svc_req_put(s, scratch);
    if (b.batch) {
        /* the connection died before its batch went out, or a spare was kept */
        free(b.batch->buf);
        free(b.batch);
    }
    if (rfirst) {
        unsigned k = 0;
        for (far_svc_req *r = rfirst; r; r = r->next)
            k++;
        far__svc_send_replies(s, c, rfirst, k, &again);
    }
    (void)rlast;
    far__svc_dispatch(s, &c->ln, c, first, last, n);
    return again;
}
