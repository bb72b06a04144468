/* Sockets, the epoll poller, eventfds, time, logging, last-error text. */
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "farcall/rpc.h"

static far_err errno_err(int e)
{
    switch (e) {
    case ECONNREFUSED:
    case ENOENT:
        return FAR_ECONNREFUSED;
    case ENOMEM:
    case ENOBUFS:
        return FAR_ENOMEM;
    case EMFILE:
    case ENFILE:
        return FAR_ETOOMANY;
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        return FAR_EADDR;
    default:
        return FAR_EIO;
    }
}

int far__sock_listen(far__addr *a, far_err *err)
{
    int type = a->t == FAR__UDP ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno_err(errno);
        return -1;
    }
    int one = 1;
    if (a->t == FAR__UNIX) {
        /* A stale socket file from an earlier run: remove it, but only if it
         * is a socket. */
        struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
        struct stat st;
        if (un->sun_path[0] && stat(un->sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(un->sun_path);
    } else {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (a->ss.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (bind(fd, (struct sockaddr *)&a->ss, a->len) != 0 ||
        (type == SOCK_STREAM && listen(fd, 1024) != 0)) {
        *err = errno_err(errno);
        close(fd);
        return -1;
    }
    if (a->t != FAR__UNIX) {
        a->len = sizeof a->ss;
        getsockname(fd, (struct sockaddr *)&a->ss, &a->len);
    }
    if (a->t == FAR__UDP) {
        int sz = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    return fd;
}

int far__sock_connect(const far__addr *a, far_err *err)
{
    int type = a->t == FAR__UDP ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(a->ss.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno_err(errno);
        return -1;
    }
    int rc;
    do
        rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        *err = errno_err(errno);
        close(fd);
        return -1;
    }
    if (a->t == FAR__TCP) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int far__poller_init(far__poller *p)
{
    p->fd = epoll_create1(EPOLL_CLOEXEC);
    return p->fd < 0 ? -1 : 0;
}

void far__poller_fini(far__poller *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

static int ctl(far__poller *p, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(p->fd, op, fd, &ev);
}

int far__poller_add(far__poller *p, int fd, uint32_t events, uint64_t data)
{
    return ctl(p, EPOLL_CTL_ADD, fd, events, data);
}

int far__poller_mod(far__poller *p, int fd, uint32_t events, uint64_t data)
{
    return ctl(p, EPOLL_CTL_MOD, fd, events, data);
}

int far__poller_del(far__poller *p, int fd)
{
    return ctl(p, EPOLL_CTL_DEL, fd, 0, 0);
}

int far__poller_wait(far__poller *p, struct epoll_event *ev, int max, int timeout_ms)
{
    int n = epoll_wait(p->fd, ev, max, timeout_ms);
    return n < 0 ? 0 : n;
}

int far__event_open(void)
{
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void far__event_wake(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
}

void far__event_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}

uint64_t far__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void far__log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (getenv("FARCALL_QUIET"))
        return;
    fprintf(stderr, "farcall: %s\n", line);
}

static _Thread_local char last_error[256];

void far__set_last_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

FAR__API const char *far_last_error(void)
{
    return last_error;
}
