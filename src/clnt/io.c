/* Client: the I/O thread all clients of a process share.
 *
 * It starts with the first client that makes an async call and ends when the
 * last such client is destroyed.  It waits in one event loop (net/loop.c) for
 * the sockets of those clients, for their calls' timers (an async call's
 * deadline, its next UDP retransmission) and for clients posted to it: a
 * client is posted when it has async calls to write, replies to read that a
 * synchronous reader left, or completed calls whose callbacks must run.
 * Callbacks run on this thread only, never under a client's lock, never in
 * the thread that made the call.
 *
 * A client's memory stays valid while this thread may touch it: a client
 * destroyed from another thread takes its socket out of the loop and waits
 * until this thread says it has let go (after running the callbacks still
 * due); one destroyed from a callback, i.e. on this thread, is destroyed
 * after the current round, once every callback of the round has returned. */
#include "clnt/clnt.h"

#include <errno.h>
#include <sched.h>

#define IO_EVENTS 64

typedef struct cio {
    far__loop loop;
    int refs;                /* clients attached (under io_mu) */
    bool stopping;           /* refs reached 0: the thread ends (under io_mu) */
    far_client *head, *tail; /* clients posted (under io_mu) */
    far_client *doomed;      /* destroyed from a callback (I/O thread only) */
} cio;

static pthread_mutex_t io_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t io_cv = PTHREAD_COND_INITIALIZER; /* detach acknowledged */
static cio *io_cur;                                     /* the running one (under io_mu) */
static _Thread_local cio *io_self;                      /* set on the I/O thread */

bool far__io_on_thread(void)
{
    return io_self != NULL;
}

/* ------------------------------------------------------------ timers */

/* An async call's timer: its deadline, or its next UDP retransmission. */
static void call_timer(far__timer *t, void *arg)
{
    (void)t;
    call *k = arg;
    far_client *c = k->cl;
    pthread_mutex_lock(&c->mu);
    if (k->in_table) {
        uint64_t now = far__now_ns();
        if (now >= k->deadline) {
            far__tab_remove(c, k);
            far__call_set_status(c, k, FAR_ETIMEDOUT, NULL);
            far__call_unlink_outq(c, k); /* a partly written one goes out whole */
            far__call_complete(c, k);
        } else {
            far__udp_maybe_retry(c, k, now);
            far__io_arm(c, k);
        }
    }
    pthread_mutex_unlock(&c->mu);
}

/* The client's deadline timer: times out the calls at the heads of its
 * deadline queues whose time has come, then waits for the next one. */
static void dq_timer_fired(far__timer *t, void *arg)
{
    (void)t;
    far_client *c = arg;
    pthread_mutex_lock(&c->mu);
    uint64_t now = far__now_ns(), next = 0;
    for (size_t q = 0; q < FAR__ARRAY_LEN(c->dq); q++) {
        call *k;
        while ((k = c->dq[q].head) != NULL && k->deadline <= now) {
            far__tab_remove(c, k); /* takes it off the queue */
            far__call_set_status(c, k, FAR_ETIMEDOUT, NULL);
            far__call_unlink_outq(c, k); /* a partly written one goes out whole */
            far__call_complete(c, k);
        }
        if (k && (!next || k->deadline < next))
            next = k->deadline;
    }
    if (next && !c->destroying)
        far__timer_start(&((cio *)c->io)->loop, &c->dq_timer, next);
    pthread_mutex_unlock(&c->mu);
}

/* The client's liveness timer (ctl.c). */
static void live_timer_fired(far__timer *t, void *arg)
{
    (void)t;
    far_client *c = arg;
    pthread_mutex_lock(&c->mu);
    if (!c->destroying)
        far__live_check(c, far__now_ns()); /* re-arms it if still needed */
    pthread_mutex_unlock(&c->mu);
}

void far__io_live_arm(far_client *c)
{
    cio *io = c->io;
    if (!io || !c->live_next || c->destroying)
        return;
    if (c->live_timer.fn != live_timer_fired)
        far__timer_init(&c->live_timer, live_timer_fired, c);
    if (!far__timer_armed(&io->loop, &c->live_timer) || c->live_next < c->live_timer.when)
        far__timer_start(&io->loop, &c->live_timer, c->live_next);
}

/* A deadline queue for timeout `ms`: the one in use for it, or a free one;
 * -1 if all are taken by other timeouts. */
static int dq_for(far_client *c, uint32_t ms)
{
    int free_q = -1;
    for (size_t q = 0; q < FAR__ARRAY_LEN(c->dq); q++) {
        if (c->dq[q].head && c->dq[q].ms == ms)
            return (int)q;
        if (!c->dq[q].head && free_q < 0)
            free_q = (int)q;
    }
    if (free_q >= 0)
        c->dq[free_q].ms = ms;
    return free_q;
}

void far__io_arm(far_client *c, call *k)
{
    cio *io = c->io;
    int q = c->addr.t == FAR__UDP ? -1 : dq_for(c, k->timeout_ms);
    if (q >= 0) {
        /* Deadlines of one timeout only grow: the call goes at the tail. */
        k->dq = q;
        k->dnext = NULL;
        k->dprev = c->dq[q].tail;
        if (c->dq[q].tail)
            c->dq[q].tail->dnext = k;
        else
            c->dq[q].head = k;
        c->dq[q].tail = k;
        if (c->dq_timer.fn != dq_timer_fired)
            far__timer_init(&c->dq_timer, dq_timer_fired, c);
        if (!far__timer_armed(&io->loop, &c->dq_timer) || k->deadline < c->dq_timer.when)
            far__timer_start(&io->loop, &c->dq_timer, k->deadline);
        return;
    }
    k->dq = -1;
    uint64_t when = k->deadline;
    if (c->addr.t == FAR__UDP && k->next_retry && k->next_retry < when)
        when = k->next_retry;
    if (k->timer.fn != call_timer)
        far__timer_init(&k->timer, call_timer, k); /* a call object's first async use */
    far__timer_start(&io->loop, &k->timer, when);
}

void far__io_disarm(far_client *c, call *k)
{
    if (k->dq >= 0) {
        /* Off its queue; the client's timer may go off for it, and find the
         * next one (or nothing) then. */
        int q = k->dq;
        if (k->dprev)
            k->dprev->dnext = k->dnext;
        else
            c->dq[q].head = k->dnext;
        if (k->dnext)
            k->dnext->dprev = k->dprev;
        else
            c->dq[q].tail = k->dprev;
        k->dnext = k->dprev = NULL;
        k->dq = -1;
        return;
    }
    if (c->io)
        far__timer_stop(&((cio *)c->io)->loop, &k->timer);
}

/* ------------------------------------------------------------ sockets */

void far__io_conn_up(far_client *c)
{
    if (!c->io || c->io_fd || c->st.fd < 0)
        return;
    if (far__loop_add(&((cio *)c->io)->loop, c->st.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                      (uint64_t)(uintptr_t)c) == 0)
        c->io_fd = true;
}

void far__io_conn_down(far_client *c, int fd)
{
    if (!c->io_fd)
        return;
    far__loop_del(&((cio *)c->io)->loop, fd);
    c->io_fd = false;
}

/* ------------------------------------------------------------ posting */

void far__io_post(far_client *c)
{
    cio *io = c->io;
    /* Posted already: the thread takes c's work under c->mu after taking c
     * off its list, so whatever was queued before this is seen. */
    if (!io || atomic_load(&c->io_posted))
        return;
    pthread_mutex_lock(&io_mu);
    bool add = !c->io_posted && !c->io_detached;
    if (add) {
        c->io_posted = true;
        c->io_next = NULL;
        if (io->tail)
            io->tail->io_next = c;
        else
            io->head = c;
        io->tail = c;
    }
    pthread_mutex_unlock(&io_mu);
    if (add && io_self != io)
        far__loop_wake(&io->loop);
}

/* Takes c off the posted list (io_mu held). */
static void unpost(cio *io, far_client *c)
{
    if (!c->io_posted)
        return;
    far_client *prev = NULL;
    for (far_client *x = io->head; x; prev = x, x = x->io_next) {
        if (x != c)
            continue;
        if (prev)
            prev->io_next = c->io_next;
        else
            io->head = c->io_next;
        if (io->tail == c)
            io->tail = prev;
        break;
    }
    c->io_posted = false;
    c->io_next = NULL;
}

/* ------------------------------------------------------------ the thread */

/* Reads what the socket has, unless a synchronous caller holds the reader
 * token (it is then asked to hand the reading back).  A short read means the
 * socket is drained (more data is a new edge) -- unless the peer has hung up
 * (`hup`): its end of stream came with this edge, so read on until it is
 * seen.  After READ_ROUNDS reads with more to come, c is posted again rather
 * than holding up the other clients. */
#define READ_ROUNDS 64

static void read_all(far_client *c, bool hup)
{
    pthread_mutex_lock(&c->mu);
    c->io_read = false;
    if (hup)
        c->peer_hup = true; /* also for a sync reader that holds the token now */
    hup = c->peer_hup;
    if (c->reading || !c->connected) {
        if (c->reading)
            c->read_pending = true;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->reading = true;
    int fd = c->st.fd;
    uint64_t gen = c->gen;
    pthread_mutex_unlock(&c->mu);
    bool more = true;
    for (int i = 0; i < READ_ROUNDS && more; i++) {
        more = far__conn_read_once(c, fd, gen, true);
        if (!more && hup) {
            pthread_mutex_lock(&c->mu);
            more = c->connected && c->gen == gen; /* not at its end yet */
            pthread_mutex_unlock(&c->mu);
        }
    }
    pthread_mutex_lock(&c->mu);
    c->reading = false;
    if (more && c->connected && c->gen == gen) {
        c->io_read = true; /* the rest in the next round */
        far__io_post(c);
    }
    far__conn_maybe_close_dead(c);
    if (c->w_head)
        pthread_cond_signal(&c->w_head->cv);
    pthread_mutex_unlock(&c->mu);
}

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
        far__call_unref(c, list);
        list = nx;
    }
    pthread_mutex_unlock(&c->mu);
}

/* Does what c was posted for: reading, writing, callbacks. */
static void service(far_client *c, bool wr)
{
    pthread_mutex_lock(&c->mu);
    bool rd = c->io_read;
    if (c->io_flush || wr) {
        c->io_flush = false;
        if (c->st.flushing) {
            c->st.flush_again = true;
        } else if (c->st.nq) {
            c->st.flushing = true;
            far__conn_flush_locked(c, NULL);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (rd)
        read_all(c, false);
    pthread_mutex_lock(&c->mu);
    call *list = c->comp_head;
    c->comp_head = c->comp_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    run_completions(c, list);
}

/* A thread waiting in far__io_detach for c: c's last callbacks have run;
 * after this, this thread does not touch c. */
static void ack_detach(cio *io, far_client *c)
{
    pthread_mutex_lock(&io_mu);
    unpost(io, c);
    c->io_detached = true;
    pthread_cond_broadcast(&io_cv);
    pthread_mutex_unlock(&io_mu);
}

static void *io_main(void *arg)
{
    cio *io = arg;
    io_self = io;
    for (;;) {
        struct epoll_event ev[IO_EVENTS];
        int n = far__loop_wait(&io->loop, ev, IO_EVENTS, -1);
        bool any_read = false;
        for (int i = 0; i < n; i++)
            any_read |= ev[i].data.u64 != FAR__LOOP_WOKEN &&
                        (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP));
        if (any_read)
            /* Replies have come.  Let the threads that are runnable on this
             * core -- the peer still writing replies, callers queueing more
             * calls -- go on first: the replies are then read in one recv and
             * the calls queued meanwhile leave in one sendmsg, instead of one
             * wake-up, read and write per call (pipelined calls on one core:
             * 0.9 -> 1.9 M calls/s).  With nothing else runnable the yield
             * returns at once. */
            sched_yield();
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == FAR__LOOP_WOKEN)
                continue;
            far_client *c = (far_client *)(uintptr_t)ev[i].data.u64;
            if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
                read_all(c, ev[i].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP));
            if (ev[i].events & EPOLLOUT)
                service(c, true);
            else
                service(c, false);
        }
        /* The clients posted to us, until none is left. */
        for (;;) {
            pthread_mutex_lock(&io_mu);
            far_client *c = io->head;
            if (c) {
                io->head = c->io_next;
                if (!io->head)
                    io->tail = NULL;
                c->io_posted = false;
                c->io_next = NULL;
            }
            bool detach = c && c->io_detach_wanted;
            pthread_mutex_unlock(&io_mu);
            if (!c)
                break;
            service(c, false);
            if (detach)
                ack_detach(io, c);
        }
        /* Clients destroyed from a callback: every callback of this round
         * has returned. */
        while (io->doomed) {
            far_client *c = io->doomed;
            io->doomed = c->io_next;
            c->io_next = NULL;
            far__client_destroy_now(c);
        }
        pthread_mutex_lock(&io_mu);
        bool stop = io->stopping && !io->head;
        pthread_mutex_unlock(&io_mu);
        if (stop)
            break;
    }
    io_self = NULL;
    far__loop_fini(&io->loop);
    free(io);
    return NULL;
}

/* ------------------------------------------------------------ attach, detach */

far_err far__io_attach(far_client *c)
{
    if (c->io)
        return FAR_OK;
    pthread_mutex_lock(&io_mu);
    cio *io = io_cur;
    if (!io) {
        io = calloc(1, sizeof *io);
        pthread_t t;
        pthread_attr_t at;
        if (!io || far__loop_init(&io->loop) != 0) {
            free(io);
            pthread_mutex_unlock(&io_mu);
            return FAR_EIO;
        }
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &at, io_main, io);
        pthread_attr_destroy(&at);
        if (rc != 0) {
            far__loop_fini(&io->loop);
            free(io);
            pthread_mutex_unlock(&io_mu);
            return FAR_EIO;
        }
        io_cur = io;
    }
    io->refs++;
    c->io_detached = false;
    c->io_detach_wanted = false;
    pthread_mutex_unlock(&io_mu);
    c->io = io;
    far__io_conn_up(c);
    far__io_live_arm(c); /* liveness of calls made before it */
    return FAR_OK;
}

/* Lets go of the I/O thread (c is being destroyed: no calls in flight, no
 * caller inside, c->mu not held).  Returns once the thread will not touch c
 * again, c's callbacks still due having run. */
void far__io_detach(far_client *c)
{
    cio *io = c->io;
    if (!io)
        return;
    pthread_mutex_lock(&c->mu);
    far__io_conn_down(c, c->st.fd >= 0 ? c->st.fd : c->dead_fd);
    /* c->destroying is set: a firing deadline timer does not arm itself
     * again, and one armed is taken off here. */
    if (c->dq_timer.fn)
        far__timer_stop(&io->loop, &c->dq_timer);
    if (c->live_timer.fn)
        far__timer_stop(&io->loop, &c->live_timer);
    pthread_mutex_unlock(&c->mu);
    if (io_self == io) {
        /* On the thread itself (a destroy deferred from a callback): run
         * what is due here. */
        service(c, false);
        pthread_mutex_lock(&io_mu);
        unpost(io, c);
        c->io_detached = true;
    } else {
        pthread_mutex_lock(&io_mu);
        c->io_detach_wanted = true;
        if (!c->io_posted) {
            c->io_posted = true;
            c->io_next = NULL;
            if (io->tail)
                io->tail->io_next = c;
            else
                io->head = c;
            io->tail = c;
        }
        far__loop_wake(&io->loop);
        while (!c->io_detached)
            pthread_cond_wait(&io_cv, &io_mu);
    }
    if (--io->refs == 0) {
        /* The last one: the thread ends (and frees io); the next client to
         * need one starts another. */
        io->stopping = true;
        if (io_cur == io)
            io_cur = NULL;
        if (io_self != io)
            far__loop_wake(&io->loop);
    }
    pthread_mutex_unlock(&io_mu);
    c->io = NULL;
}

/* far_client_destroy on the I/O thread: after this round. */
void far__io_doom(far_client *c)
{
    cio *io = io_self;
    c->io_next = io->doomed;
    io->doomed = c;
}
