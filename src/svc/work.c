/* Server: the threads.
 *
 * Up to max_workers + 1 threads wait in one event loop (leader/followers).
 * A thread that gets an event for a connection becomes its reader (conn.c);
 * calls that need a handler go to their connection's lane.  Lanes with work
 * wait in one ready ring; a thread takes one call from the lane at the head
 * and moves that lane to the back, so a connection with many calls queued
 * does not hold up the others.  At most `cap` handlers run at once (workers
 * to start with), so one thread is always free to accept, read and write.
 *
 * Queueing wakes nobody: the thread that queued a batch usually runs it
 * itself next, one thread, no wake-ups.  A one-shot timer (KICK_NS) makes sure
 * a thread looks at the queue when that thread is held up; if when it fires
 * every handler is busy and none has returned since it last looked, the
 * handlers are stuck (blocked, or running long), and the pool grows by one
 * handler and one thread, up to max_workers: a handler that blocks for
 * seconds delays the others by about a millisecond. */
#include "svc/svc.h"

#include <signal.h>

bool far__svc_slot_acquire(far_server *s)
{
    unsigned b = atomic_load(&s->busy);
    while (b < atomic_load(&s->cap)) {
        if (atomic_compare_exchange_weak(&s->busy, &b, b + 1))
            return true;
    }
    return false;
}

void far__svc_kick_later(far_server *s)
{
    if (atomic_load(&s->kick_armed) || atomic_exchange(&s->kick_armed, true))
        return;
    if (!far__timer_start(&s->loop, &s->kick_timer, far__now_ns() + KICK_NS))
        atomic_store(&s->kick_armed, false);
}

/* Starts one more thread (s->mu held).  The threads are the handlers', one
 * free for I/O, and one per handler blocked on others
 * (far__svc_req_block_begin); so at most max_workers + 1 + blocked, and none
 * once the server stops. */
static bool add_thread_locked(far_server *s)
{
    if (atomic_load(&s->state) != ST_RUNNING ||
        s->nthreads >= s->o.max_workers + 1 + atomic_load(&s->blocked) ||
        pthread_create(&s->threads[s->nthreads], NULL, far__svc_worker, s) != 0)
        return false;
    s->nthreads++;
    return true;
}

/* The pool grows when the handlers are stuck (see the top of this file). */
static void grow_pool(far_server *s)
{
    if (atomic_load(&s->qlen) == 0 || atomic_load(&s->busy) < atomic_load(&s->cap))
        return;
    pthread_mutex_lock(&s->mu);
    unsigned long done = atomic_load(&s->completed);
    bool stuck = done == s->seen_completed;
    s->seen_completed = done;
    unsigned cap = atomic_load(&s->cap);
    /* A thread a blocked handler started and no longer needs is taken
     * before a new one is started. */
    if (stuck && atomic_load(&s->state) == ST_RUNNING && cap < s->o.max_workers &&
        (s->nthreads > cap + 1 + atomic_load(&s->blocked) || add_thread_locked(s)))
        atomic_fetch_add(&s->cap, 1);
    pthread_mutex_unlock(&s->mu);
    if (atomic_load(&s->qlen))
        far__svc_kick_later(s); /* look again a millisecond from now */
}

void far__svc_kick_fired(far__timer *t, void *arg)
{
    (void)t;
    far_server *s = arg;
    atomic_store(&s->kick_armed, false);
    grow_pool(s); /* then the thread that fired it looks at the queue */
}

/* ------------------------------------------------------------ handlers blocked on others */

/* A handler that waits for other calls of its server to run -- a bulk
 * transfer's handler for its chunks, an OPEN for the handler of its call --
 * must not hold a handler slot (or the last thread) meanwhile: with enough
 * of them waiting, the calls they wait for would never run.  Blocked so, it
 * gives its slot back, and if no thread is idle to take the calls queued,
 * one more is started: up to one per such handler past the pool's
 * max_workers + 1, and at most max_workers of them at once (then it waits
 * holding its slot, as any handler). */
bool far__svc_req_block_begin(far_svc_req *r)
{
    far_server *s = r->s;
    if (r->blocked || !far__svc_on_worker(s))
        return false;
    unsigned p = atomic_load(&s->blocked);
    do {
        if (p >= s->o.max_workers)
            return false;
    } while (!atomic_compare_exchange_weak(&s->blocked, &p, p + 1));
    r->blocked = true;
    atomic_fetch_sub(&s->busy, 1);
    if (atomic_load(&s->idle) > 0) {
        if (atomic_load(&s->qlen) > 0)
            far__loop_wake(&s->loop); /* an idle thread takes what waits */
        return true;
    }
    pthread_mutex_lock(&s->mu);
    (void)add_thread_locked(s);
    pthread_mutex_unlock(&s->mu);
    return true;
}

unsigned far__server_max_blocked(const far_server *s)
{
    return s->o.max_workers;
}

void far__svc_req_block_end(far_svc_req *r)
{
    if (!r->blocked)
        return;
    r->blocked = false;
    /* its slot back (for a moment past cap, if others took them meanwhile:
     * it is let go when the handler returns) */
    atomic_fetch_add(&r->s->busy, 1);
    atomic_fetch_sub(&r->s->blocked, 1);
}

/* ------------------------------------------------------------ lanes */

static void ring_add(far_server *s, lane *l)
{
    l->ready = true;
    if (!s->ready) {
        l->rnext = l->rprev = l;
        s->ready = l;
        return;
    }
    lane *tail = s->ready->rprev;
    l->rnext = s->ready;
    l->rprev = tail;
    tail->rnext = l;
    s->ready->rprev = l;
}

static void ring_del(far_server *s, lane *l)
{
    l->ready = false;
    if (l->rnext == l) {
        s->ready = NULL;
    } else {
        l->rprev->rnext = l->rnext;
        l->rnext->rprev = l->rprev;
        if (s->ready == l)
            s->ready = l->rnext;
    }
    l->rnext = l->rprev = NULL;
}

void far__svc_queue_push(far_server *s, lane *l, conn *c, far_svc_req *first, far_svc_req *last,
                         int n, bool wake)
{
    pthread_mutex_lock(&s->qmu);
    if (l->tail)
        l->tail->next = first;
    else
        l->head = first;
    l->tail = last;
    l->n += (unsigned)n;
    if (c)
        atomic_store(&c->queued, l->n);
    if (!l->ready)
        ring_add(s, l);
    atomic_fetch_add(&s->qlen, n);
    pthread_mutex_unlock(&s->qmu);
    if (!wake)
        far__svc_kick_later(s);
    else if (atomic_load(&s->idle) > 0)
        far__loop_wake(&s->loop);
}

far_svc_req *far__svc_lane_take_all(far_server *s, lane *l)
{
    far_svc_req *all = l->head;
    atomic_fetch_sub(&s->qlen, (int)l->n);
    l->head = l->tail = NULL;
    l->n = 0;
    if (l->ready)
        ring_del(s, l);
    return all;
}

/* Pops a request if one is queued and a handler slot is free: from the lane at
 * the head of the ring, which then goes to the back. */
static far_svc_req *queue_pop(far_server *s)
{
    if (atomic_load(&s->qlen) == 0)
        return NULL;
    if (!far__svc_slot_acquire(s)) {
        far__svc_kick_later(s); /* every handler busy: the kick may grow the pool */
        return NULL;
    }
    pthread_mutex_lock(&s->qmu);
    lane *l = s->ready;
    far_svc_req *r = NULL;
    if (l) {
        r = l->head;
        l->head = r->next;
        if (!l->head)
            l->tail = NULL;
        l->n--;
        if (r->c)
            atomic_store(&r->c->queued, l->n);
        r->next = NULL;
        atomic_fetch_sub(&s->qlen, 1);
        if (l->n == 0)
            ring_del(s, l);
        else
            s->ready = l->rnext; /* round robin */
    }
    bool more = s->ready != NULL;
    pthread_mutex_unlock(&s->qmu);
    if (!r) {
        atomic_fetch_sub(&s->busy, 1);
        return NULL;
    }
    if (more)
        far__svc_kick_later(s); /* we come back for the rest; help if we are slow */
    return r;
}

/* ------------------------------------------------------------ the threads */

static _Thread_local far_server *worker_of; /* the server whose thread this is */

bool far__svc_on_worker(const far_server *s)
{
    return worker_of == s;
}

void *far__svc_worker(void *arg)
{
    far_server *s = arg;
    worker_of = s;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        far_svc_req *r = queue_pop(s);
        if (r) {
            far__svc_run(s, r);
            continue;
        }
        /* Queued work and a free handler slot: only look at the sockets, then
         * take it.  Queued work but every slot busy: block like an idle
         * thread; the thread that frees a slot comes back to the queue itself
         * (above), and the kick timer grows the pool if that takes too long
         * -- polling here would spin. */
        bool runnable = atomic_load(&s->qlen) && atomic_load(&s->busy) < atomic_load(&s->cap);
        struct epoll_event ev;
        atomic_fetch_add(&s->idle, 1);
        int n = far__loop_wait(&s->loop, &ev, 1, runnable ? 0 : -1);
        atomic_fetch_sub(&s->idle, 1);
        if (n != 1)
            continue;
        uint64_t v = ev.data.u64;
        switch (EV_TAG(v)) {
        case TAG_CONN: {
            conn *c = far__svc_conn_lookup(s, v);
            if (!c)
                break;
            if (ev.events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                atomic_store(&c->hup, true);
            if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                far__svc_conn_read(s, c);
            if (ev.events & EPOLLOUT)
                far__svc_conn_flush(s, c, true);
            far__svc_conn_put(c);
            break;
        }
        case TAG_LISTEN: {
            listener *l = &s->lst[EV_IDX(v)];
            if (l->t == FAR__UDP)
                far__svc_udp_read(s, l);
            else
                far__svc_accept_all(s, l);
            break;
        }
        case TAG_STOP:
            far__event_drain(s->stopfd);
            far__svc_begin_stop(s);
            break;
        case TAG_EXIT:
            far__svc_req_cache_flush(s);
            worker_of = NULL;
            return NULL;
        default: /* a wake-up: the loop looks at the queue */
            break;
        }
    }
}
