/* The event loop: epoll, a timer heap behind one timerfd, and a wake-up
 * eventfd.  Any number of threads may wait in one loop at once (the server's
 * leader/followers); a timer's callback runs on whichever thread finds it due,
 * with no lock of the loop held, so it may arm or stop timers itself.
 *
 * The heap is a binary min-heap on `when`; each armed timer knows its index,
 * so stopping one is O(log n).  The timerfd is armed for the earliest timer
 * only when that changes, so arming a later timer costs no system call. */
#include "net/net.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define TAG_TIMERFD UINT64_MAX
#define TAG_WAKE    (UINT64_MAX - 1)

static void swap_at(far__loop *l, size_t a, size_t b)
{
    far__timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->idx = a + 1;
    l->heap[b]->idx = b + 1;
}

static void sift_up(far__loop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->when <= l->heap[i]->when)
            break;
        swap_at(l, i, p);
        i = p;
    }
}

static void sift_down(far__loop *l, size_t i)
{
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->n && l->heap[a]->when < l->heap[m]->when)
            m = a;
        if (b < l->n && l->heap[b]->when < l->heap[m]->when)
            m = b;
        if (m == i)
            return;
        swap_at(l, i, m);
        i = m;
    }
}

static void heap_remove(far__loop *l, far__timer *t)
{
    size_t i = t->idx - 1;
    t->idx = 0;
    l->n--;
    if (i == l->n)
        return;
    l->heap[i] = l->heap[l->n];
    l->heap[i]->idx = i + 1;
    sift_down(l, i);
    sift_up(l, i);
}

/* Arms the timerfd for the earliest timer (tmu held) -- only when that is
 * earlier than what it is armed for.  A timer stopped or moved later leaves
 * the timerfd armed for its old time: when it goes off with nothing due,
 * fire_due arms it for the earliest again.  So arming and stopping timers that
 * are later than the earliest (a deadline per call, most of them never
 * reached) costs no system call. */
static void rearm(far__loop *l)
{
    uint64_t when = l->n ? l->heap[0]->when : 0;
    if (!when || (l->armed_for && l->armed_for <= when))
        return;
    l->armed_for = when;
    struct itimerspec its = {{0, 0}, {0, 0}};
    its.it_value.tv_sec = (time_t)(when / 1000000000u);
    its.it_value.tv_nsec = (long)(when % 1000000000u);
    timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int far__loop_init(far__loop *l)
{
    memset(l, 0, sizeof *l);
    l->epfd = l->tfd = l->wakefd = -1;
    pthread_mutex_init(&l->tmu, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    l->wakefd = far__event_open();
    if (l->epfd < 0 || l->tfd < 0 || l->wakefd < 0 ||
        far__loop_add(l, l->tfd, EPOLLIN | EPOLLET, TAG_TIMERFD) != 0 ||
        far__loop_add(l, l->wakefd, EPOLLIN | EPOLLET, TAG_WAKE) != 0) {
        far__loop_fini(l);
        return -1;
    }
    return 0;
}

void far__loop_fini(far__loop *l)
{
    int fds[] = {l->epfd, l->tfd, l->wakefd};
    for (size_t i = 0; i < FAR__ARRAY_LEN(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    l->epfd = l->tfd = l->wakefd = -1;
    for (size_t i = 0; i < l->n; i++)
        l->heap[i]->idx = 0;
    free(l->heap);
    l->heap = NULL;
    l->n = l->cap = 0;
    pthread_mutex_destroy(&l->tmu);
}

static int ctl(far__loop *l, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(l->epfd, op, fd, &ev);
}

int far__loop_add(far__loop *l, int fd, uint32_t events, uint64_t data)
{
    return ctl(l, EPOLL_CTL_ADD, fd, events, data);
}

int far__loop_mod(far__loop *l, int fd, uint32_t events, uint64_t data)
{
    return ctl(l, EPOLL_CTL_MOD, fd, events, data);
}

int far__loop_del(far__loop *l, int fd)
{
    return ctl(l, EPOLL_CTL_DEL, fd, 0, 0);
}

void far__loop_wake(far__loop *l)
{
    far__event_wake(l->wakefd);
}

void far__timer_init(far__timer *t, far__timer_fn fn, void *arg)
{
    t->when = 0;
    t->idx = 0;
    t->fn = fn;
    t->arg = arg;
}

static bool grow_heap(far__loop *l)
{
    size_t cap = l->cap ? l->cap * 2 : 64;
    far__timer **h = realloc(l->heap, cap * sizeof *h);
    if (!h)
        return false;
    l->heap = h;
    l->cap = cap;
    return true;
}

bool far__timer_start(far__loop *l, far__timer *t, uint64_t when)
{
    if (when == 0)
        when = 1; /* 0 means "not armed" to rearm() */
    pthread_mutex_lock(&l->tmu);
    bool ok = true;
    if (t->idx) {
        uint64_t old = t->when;
        t->when = when;
        if (when < old)
            sift_up(l, t->idx - 1);
        else
            sift_down(l, t->idx - 1);
    } else if (l->n == l->cap && !(ok = grow_heap(l))) {
        /* out of memory: the timer is not armed */
    } else {
        t->when = when;
        l->heap[l->n] = t;
        t->idx = ++l->n;
        sift_up(l, l->n - 1);
    }
    if (ok)
        rearm(l);
    pthread_mutex_unlock(&l->tmu);
    return ok;
}

bool far__timer_stop(far__loop *l, far__timer *t)
{
    pthread_mutex_lock(&l->tmu);
    bool armed = t->idx != 0;
    if (armed) {
        heap_remove(l, t);
        rearm(l);
    }
    pthread_mutex_unlock(&l->tmu);
    return armed;
}

bool far__timer_armed(far__loop *l, far__timer *t)
{
    pthread_mutex_lock(&l->tmu);
    bool armed = t->idx != 0;
    pthread_mutex_unlock(&l->tmu);
    return armed;
}

/* Runs the timers that are due.  Each is taken off the heap under the lock and
 * fired without it, one at a time, so a callback may arm or stop timers. */
static void fire_due(far__loop *l)
{
    uint64_t x;
    ssize_t rr = read(l->tfd, &x, sizeof x);
    (void)rr;
    for (;;) {
        pthread_mutex_lock(&l->tmu);
        far__timer *t = NULL;
        uint64_t now = far__now_ns();
        if (l->n && l->heap[0]->when <= now) {
            t = l->heap[0];
            heap_remove(l, t);
        }
        if (!t) {
            l->armed_for = 0; /* the timerfd fired: arm it afresh */
            rearm(l);
        }
        pthread_mutex_unlock(&l->tmu);
        if (!t)
            return;
        t->fn(t, t->arg);
    }
}

int far__loop_wait(far__loop *l, struct epoll_event *ev, int max, int timeout_ms)
{
    int n = epoll_wait(l->epfd, ev, max, timeout_ms);
    if (n <= 0)
        return 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == TAG_TIMERFD) {
            fire_due(l);
        } else if (ev[i].data.u64 == TAG_WAKE) {
            far__event_drain(l->wakefd);
            ev[k].events = 0;
            ev[k].data.u64 = FAR__LOOP_WOKEN;
            k++;
        } else {
            ev[k++] = ev[i];
        }
    }
    return k;
}
