/* Sockets, the epoll poller, eventfds. */
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
        return FAR_EADDRINUSE;
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
        /* A stale socket file from an earlier run is removed -- but only if it
         * is a socket and no server answers there: a live server's socket is
         * not taken over. */
        struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
        struct stat st;
        if (un->sun_path[0] && stat(un->sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            bool live = probe >= 0 && connect(probe, (struct sockaddr *)un, a->len) == 0;
            if (probe >= 0)
                close(probe);
            if (live) {
                close(fd);
                *err = FAR_EADDRINUSE;
                return -1;
            }
            unlink(un->sun_path);
        }
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

int far__sock_connect(const far__addr *a, uint64_t deadline, far_err *err, int *sys_errno)
{
    int dummy;
    if (!sys_errno)
        sys_errno = &dummy;
    *sys_errno = 0;
    int type = a->t == FAR__UDP ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(a->ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *err = errno_err(errno);
        return -1;
    }
    int rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    if (rc != 0 && (errno == EINPROGRESS || errno == EINTR || errno == EAGAIN)) {
        /* Wait for it to complete, up to the deadline: a host that drops the
         * SYNs would otherwise hold the caller for the kernel's timeout.  A
         * Unix socket whose listener's backlog is full says EAGAIN: it gets
         * the same wait (for room), then one more try. */
        bool unix_again = errno == EAGAIN;
        for (;;) {
            uint64_t now = far__now_ns();
            if (deadline && now >= deadline) {
                close(fd);
                *err = FAR_ETIMEDOUT;
                *sys_errno = ETIMEDOUT;
                return -1;
            }
            int ms = deadline ? (int)((deadline - now + 999999) / 1000000) : -1;
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            int pr = poll(&pf, 1, unix_again && (ms < 0 || ms > 10) ? 10 : ms);
            if (pr < 0 && errno != EINTR) {
                rc = -1;
                break;
            }
            if (unix_again) {
                rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
                if (rc == 0 || errno != EAGAIN)
                    break;
                continue;
            }
            if (pr > 0) {
                int e = 0;
                socklen_t el = sizeof e;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
                rc = e ? -1 : 0;
                errno = e;
                break;
            }
        }
    }
    if (rc != 0) {
        *sys_errno = errno;
        *err = errno_err(errno);
        close(fd);
        return -1;
    }
    /* Back to blocking mode: the client's reader blocks in recv (sends are
     * MSG_DONTWAIT). */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (a->t == FAR__TCP) {
        /* A connect to a local port nothing listens on can meet itself: the
         * kernel picked that very port as the source, and TCP's simultaneous
         * open joined the socket to itself (a client retrying while its
         * server restarts finds it).  Nothing listens: say so. */
        struct sockaddr_storage self, peer;
        socklen_t sl = sizeof self, pl = sizeof peer;
        if (getsockname(fd, (struct sockaddr *)&self, &sl) == 0 &&
            getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 && sl == pl &&
            memcmp(&self, &peer, sl) == 0) {
            close(fd);
            *sys_errno = ECONNREFUSED;
            *err = FAR_ECONNREFUSED;
            return -1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
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
