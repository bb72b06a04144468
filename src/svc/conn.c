/* Server: one stream connection -- its lifetime, the table of its calls in
 * flight, closing it, and the idle sweep.  Reading is read.c, writing
 * write.c.
 *
 * Connections are reference counted (the slot table, a reader, each call);
 * epoll events name a connection by slot index and generation, so a late
 * event for a closed connection finds nothing.  A connection enters the slot
 * table only once it is fully made.  The fd is closed when the last
 * reference goes.  A connection whose peer has gone (end of stream, reset, or
 * a write error) is dead: its calls still waiting for a handler are dropped at
 * once (their replies could never be sent), replies not yet written are
 * dropped, and the slot is given back. */
#include "svc/svc.h"

#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define SWEEP_CHUNK 64

/* ------------------------------------------------------------ calls in flight */

static size_t call_slot(const conn *c, uint32_t xid)
{
    return (xid * 2654435761u) & (c->calls_size - 1);
}

/* Enters r in the table of c's calls in flight (c->mu held).  The table
 * grows as it fills; without memory to grow, its chains grow instead. */
void far__svc_calls_insert(conn *c, far_svc_req *r)
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

far_svc_req *far__svc_calls_find(conn *c, uint32_t xid)
{
    if (!c->calls_size)
        return NULL;
    for (far_svc_req *e = c->calls[call_slot(c, xid)]; e; e = e->hnext)
        if (e->h.xid == xid)
            return e;
    return NULL;
}

bool far__svc_req_conn_has_call(const far_svc_req *r, uint32_t xid)
{
    conn *c = r->c;
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool has = far__svc_calls_find(c, xid) != NULL;
    pthread_mutex_unlock(&c->mu);
    return has;
}

void far__svc_calls_remove(conn *c, far_svc_req *r)
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
    far__svc_req_cancel_close(r);
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
                        socklen_t plen, const char *local)
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
    struct ucred uc;
    socklen_t ul = sizeof uc;
    if (t == FAR__UNIX && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0)
        snprintf(c->who, sizeof c->who, "%s (client pid %ld, uid %lu)", local, (long)uc.pid,
                 (unsigned long)uc.uid);
    else
        snprintf(c->who, sizeof c->who, "%s", c->peer);
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
    far__svc_ctx_put(c->ctx_last);
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
void far__svc_drop_list(far_server *s, conn *c, far_svc_req *r, bool waiting)
{
    if (!waiting && r) {
        /* The bytes they held, given back under one lock. */
        size_t held = 0;
        for (far_svc_req *x = r; x; x = x->next)
            held += x->held, x->held = 0;
        if (held) {
            pthread_mutex_lock(&c->mu);
            c->held -= held;
            pthread_mutex_unlock(&c->mu);
        }
    }
    while (r) {
        far_svc_req *n = r->next;
        if (waiting) {
            pthread_mutex_lock(&c->mu);
            c->inflight--;
            far__svc_calls_remove(c, r);
            pthread_mutex_unlock(&c->mu);
        }
        far__svc_req_put(s, r);
        if (waiting)
            far__svc_req_done_count(s);
        r = n;
    }
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
    /* Its calls are cancelled: their handlers' callbacks run below. */
    far_svc_req *cbs = far__svc_cancel_all_locked(c);
    /* A writer at work keeps its queue and drops it when it sees `dead`. */
    far_svc_req *out = NULL;
    rbatch *outb = NULL;
    unsigned nout = 0;
    size_t outbytes = 0;
    if (!c->st.flushing) {
        out = far__svc_split_msgs(far__stream_take_all(&c->st), &outb, &nout, &outbytes);
        c->outq = 0;
    }
    rbatch *spare_b = c->batch_spare;
    c->batch_spare = NULL;
    pthread_mutex_unlock(&c->mu);
    if (spare_b) {
        free(spare_b->buf);
        free(spare_b);
    }
    far__svc_run_cancel_cbs(cbs);
    if (why)
        far__log_warn("%s: connection closed: %s", c->who, why);
    shutdown(c->st.fd, SHUT_RDWR);
    far__loop_del(&s->loop, c->st.fd);
    atomic_fetch_add(&c->refs, 1); /* the calls below may hold the last references */
    pthread_mutex_lock(&s->qmu);
    far_svc_req *waiting = far__svc_lane_take_all(s, &c->ln);
    atomic_store(&c->queued, 0);
    pthread_mutex_unlock(&s->qmu);
    far__svc_drop_list(s, c, waiting, true);
    far__svc_drop_msgs(s, c, out, outb, outbytes);
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
            /* Routine housekeeping, not a fault: logged at info. */
            far__log_info("%s: connection closed: idle timeout (no call received and no reply "
                          "taken for %" PRIu32 " ms: far_server_opts.idle_timeout_ms)",
                          victims[k]->who, s->o.idle_timeout_ms);
            far__svc_conn_kill(victims[k], NULL);
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
