/* raw_bench: the raw-socket baselines beside rpc_bench (bench/run_rpc.sh), for
 * what shared/bench/anchors/phys/netbench does not measure.  No RPC, no XDR:
 * the same bytes on the wire as farcall's calls, and nothing else.
 *
 *   raw_bench conc P SECONDS   a raw epoll echo server (one thread, level-
 *                              triggered, every complete 40-byte request found
 *                              by one read answered with 28 bytes, all in one
 *                              write), driven by P client processes doing one
 *                              blocking 40/28-byte round trip at a time -- the
 *                              harness of rpc_bench conc (conc_harness.h)
 *   raw_bench echo BYTES N     N round trips of a record-marked message the
 *                              size of an RPC echo call of BYTES (mark + 40-byte
 *                              call header + length + payload) answered by the
 *                              size of its reply (mark + 24-byte reply header +
 *                              length + payload).  The server reads the record
 *                              into a buffer sized from the mark and writes the
 *                              payload back from it (writev, no copy); the
 *                              client writes from its buffer and reads the reply
 *                              into a buffer, where it is used (no copy)
 *   raw_bench pp udp N         UDP ping-pong, 40-byte request, 28-byte reply
 *   raw_bench pp tcp-epoll N   TCP ping-pong as netbench's, its server waiting
 *                              in epoll_wait (edge-triggered, non-blocking) as
 *                              farcall's does, then reading and answering
 *
 * The server is a forked child, pinned to $FAR_SERVER_CPU if set (the client
 * is pinned by the caller with taskset).  Output: one line of key=value.
 * Every loop ends after its count or 20 s; the server also ends by alarm(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "conc_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

enum { REQ = 40, REP = 28, CALL_HDR = 40, REPLY_HDR = 24, MAX_SECONDS = 20 };

static void die(const char *what)
{
    fprintf(stderr, "raw_bench: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void pin_server(void)
{
    const char *v = getenv("FAR_SERVER_CPU");
    if (!v || !*v)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(atoi(v), &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        die("sched_setaffinity");
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int listener(int type, struct sockaddr_in *a)
{
    socklen_t len = sizeof *a;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, type, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)a, len) < 0 ||
        getsockname(fd, (struct sockaddr *)a, &len) < 0)
        die("bind");
    if (type == SOCK_STREAM && listen(fd, 1024) < 0)
        die("listen");
    return fd;
}

static int connect_to(const struct sockaddr_in *a, int type)
{
    int fd = socket(AF_INET, type, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof *a) < 0)
        return -1;
    if (type == SOCK_STREAM)
        nodelay(fd);
    return fd;
}

static bool write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool writev_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++, n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return true;
}

static bool read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static pid_t server;

static void stop_server(void)
{
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
}

/* ------------------------------------------------------------ conc */

static void epoll_server(int lfd)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll");
    static char in[65536], out[65536 / REQ * REP + REP];
    static unsigned pending[65536];
    memset(out, 'r', sizeof out);
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (c < 0 || c >= 65536)
                    continue;
                nodelay(c);
                pending[c] = 0;
                struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                continue;
            }
            ssize_t r = read(fd, in, sizeof in);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                close(fd);
                continue;
            }
            pending[fd] += (unsigned)r;
            unsigned k = pending[fd] / REQ;
            pending[fd] %= REQ;
            /* The clients have one request out at a time: the reply fits in
             * the socket buffer. */
            if (k && !write_all(fd, out, k * REP))
                close(fd);
        }
    }
}

static void *raw_open(const char *addr)
{
    static struct sockaddr_in a;
    memcpy(&a, addr, sizeof a);
    int fd = connect_to(&a, SOCK_STREAM);
    return fd < 0 ? NULL : (void *)(intptr_t)(fd + 1);
}
static bool raw_call(void *ctx)
{
    int fd = (int)(intptr_t)ctx - 1;
    char req[REQ], rep[REP];
    memset(req, 'q', sizeof req);
    return write_all(fd, req, REQ) && read_all(fd, rep, REP);
}
static void raw_close(void *ctx)
{
    close((int)(intptr_t)ctx - 1);
}

static int conc(int procs, double secs)
{
    struct sockaddr_in a;
    int lfd = listener(SOCK_STREAM, &a);
    server = fork();
    if (server == 0) {
        alarm((unsigned)secs + 60);
        pin_server();
        epoll_server(lfd);
        _exit(0);
    }
    close(lfd);
    conc_ops ops = {raw_open, raw_call, raw_close};
    double r = conc_run(procs, secs, (const char *)&a, &ops);
    stop_server();
    if (r < 0)
        return 1;
    printf("raw_conc%d calls_s=%.0f\n", procs, r);
    return 0;
}

/* ------------------------------------------------------------ echo */

static void echo_server(int lfd)
{
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
        die("accept");
    nodelay(c);
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    uint8_t hdr[4 + REPLY_HDR + 4];
    memset(hdr, 0, sizeof hdr);
    for (;;) {
        uint32_t mark;
        if (!read_all(c, &mark, 4))
            _exit(0);
        size_t len = ntohl(mark) & 0x7fffffffu;
        if (len > cap) {
            free(buf);
            cap = len;
            buf = malloc(cap);
            if (!buf)
                die("malloc");
        }
        /* Read the record: as much as the socket has, up to its end. */
        if (!read_all(c, buf, len))
            _exit(0);
        size_t payload = len - CALL_HDR - 4;
        uint32_t rmark = htonl(0x80000000u | (uint32_t)(REPLY_HDR + 4 + payload));
        memcpy(hdr, &rmark, 4);
        memcpy(hdr + 4 + REPLY_HDR, buf + CALL_HDR, 4);
        struct iovec iov[2] = {{hdr, sizeof hdr}, {buf + CALL_HDR + 4, payload}};
        if (!writev_all(c, iov, 2))
            _exit(0);
    }
}

static int echo(size_t bytes, long n)
{
    struct sockaddr_in a;
    int lfd = listener(SOCK_STREAM, &a);
    server = fork();
    if (server == 0) {
        alarm(MAX_SECONDS * 3);
        pin_server();
        echo_server(lfd);
        _exit(0);
    }
    close(lfd);
    int fd = connect_to(&a, SOCK_STREAM);
    if (fd < 0)
        die("connect");
    size_t pad = (bytes + 3) & ~(size_t)3;
    uint8_t *in = aligned_alloc(4096, (pad + 4095) & ~(size_t)4095);
    size_t rcap = 4 + REPLY_HDR + 4 + pad;
    uint8_t *rbuf = aligned_alloc(4096, (rcap + 4095) & ~(size_t)4095);
    if (!in || !rbuf)
        die("malloc");
    memset(in, 7, pad);
    uint8_t hdr[4 + CALL_HDR + 4];
    memset(hdr, 0, sizeof hdr);
    uint32_t mark = htonl(0x80000000u | (uint32_t)(CALL_HDR + 4 + pad));
    uint32_t blen = htonl((uint32_t)bytes);
    memcpy(hdr, &mark, 4);
    memcpy(hdr + 4 + CALL_HDR, &blen, 4);
    long warm = n / 10 + 1;
    uint64_t t0 = 0, dl = 0;
    long done = 0;
    for (long i = -warm; i < n; i++) {
        if (i == 0) {
            t0 = conc_now_ns();
            dl = t0 + (uint64_t)MAX_SECONDS * 1000000000u;
        }
        struct iovec iov[2] = {{hdr, sizeof hdr}, {in, pad}};
        if (!writev_all(fd, iov, 2))
            die("write");
        /* Read whatever has arrived, up to the end of the record its mark
         * announces. */
        size_t got = 0, want = rcap;
        while (got < want) {
            ssize_t r = read(fd, rbuf + got, rcap - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                die("read");
            got += (size_t)r;
            if (got >= 4) {
                uint32_t m;
                memcpy(&m, rbuf, 4);
                want = 4 + (ntohl(m) & 0x7fffffffu);
            }
        }
        uint32_t rl;
        memcpy(&rl, rbuf + 4 + REPLY_HDR, 4);
        if (ntohl(rl) != bytes || rbuf[4 + REPLY_HDR + 4] != 7)
            die("short echo");
        if (i >= 0 && ++done && conc_now_ns() > dl)
            break;
    }
    double secs = (double)(conc_now_ns() - t0) / 1e9;
    printf("raw_echo_%zu MB_s=%.1f\n", bytes, (double)bytes * (double)done / secs / 1e6);
    close(fd);
    stop_server();
    free(in);
    free(rbuf);
    return 0;
}

/* ------------------------------------------------------------ UDP ping-pong */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The client side of a ping-pong: n round trips of REQ / REP bytes (after
 * 2000 not counted), at most MAX_SECONDS; one line of key=value, its name
 * first. */
static void pp_client(int fd, int recv_flags, const char *name, long n)
{
    uint64_t *lat = malloc(sizeof *lat * (size_t)n);
    if (!lat)
        die("malloc");
    char req[REQ], rep[REP];
    memset(req, 'q', sizeof req);
    long done = 0;
    uint64_t t0 = 0, dl = 0;
    for (long i = -2000; i < n; i++) {
        if (i == 0) {
            t0 = conc_now_ns();
            dl = t0 + (uint64_t)MAX_SECONDS * 1000000000u;
        }
        uint64_t s = conc_now_ns();
        if (send(fd, req, REQ, 0) != REQ || recv(fd, rep, REP, recv_flags) != REP)
            die(name);
        uint64_t e = conc_now_ns();
        if (i >= 0) {
            lat[done++] = e - s;
            if (e > dl)
                break;
        }
    }
    double secs = (double)(conc_now_ns() - t0) / 1e9;
    qsort(lat, (size_t)done, sizeof *lat, cmp_u64);
    printf("%s p50_us=%.2f p99_us=%.2f calls_s=%.0f\n", name, (double)lat[done / 2] / 1e3,
           (double)lat[done * 99 / 100] / 1e3, (double)done / secs);
    free(lat);
}

static int pp_udp(long n)
{
    struct sockaddr_in a;
    int sfd = listener(SOCK_DGRAM, &a);
    server = fork();
    if (server == 0) {
        alarm(MAX_SECONDS * 3);
        pin_server();
        char buf[2048], rep[REP];
        memset(rep, 'r', sizeof rep);
        for (;;) {
            struct sockaddr_in peer;
            socklen_t pl = sizeof peer;
            ssize_t r = recvfrom(sfd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &pl);
            if (r == REQ)
                sendto(sfd, rep, REP, 0, (struct sockaddr *)&peer, pl);
        }
    }
    close(sfd);
    int fd = connect_to(&a, SOCK_DGRAM);
    if (fd < 0)
        die("connect");
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    pp_client(fd, 0, "raw_pp_udp", n);
    stop_server();
    return 0;
}

/* ------------------------------------------------------------ TCP ping-pong, epoll server */

/* The TCP ping-pong of anchors/phys/netbench (40-byte request, 28-byte
 * reply, the client blocking in recv), with a server shaped as farcall's
 * is: the connection non-blocking and edge-triggered in an epoll set, the
 * server waiting in epoll_wait, then reading until a short read, then
 * answering -- and nothing else.  Against netbench's blocking server, it
 * shows what the event loop costs a round trip; against farcall's, what
 * the runtime's own code does. */
static int pp_tcp_epoll(long n)
{
    struct sockaddr_in a;
    int lfd = listener(SOCK_STREAM, &a);
    server = fork();
    if (server == 0) {
        alarm(MAX_SECONDS * 3);
        pin_server();
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            _exit(1);
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK);
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = cfd};
        epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
        char buf[4096], rep[REP];
        memset(rep, 'r', sizeof rep);
        size_t have = 0;
        for (;;) {
            struct epoll_event got;
            if (epoll_wait(ep, &got, 1, -1) != 1)
                continue;
            for (;;) {
                size_t room = sizeof buf - have;
                ssize_t r = recv(cfd, buf + have, room, 0);
                if (r == 0)
                    _exit(0);
                if (r < 0)
                    break; /* EAGAIN: drained (or an error: the client is gone) */
                have += (size_t)r;
                size_t k = have / REQ;
                for (size_t i = 0; i < k; i++)
                    if (send(cfd, rep, REP, MSG_NOSIGNAL) != REP)
                        _exit(0);
                memmove(buf, buf + k * REQ, have - k * REQ);
                have -= k * REQ;
                if ((size_t)r < room)
                    break; /* a short read: drained, no read to find EAGAIN */
            }
        }
    }
    close(lfd);
    int fd = connect_to(&a, SOCK_STREAM);
    if (fd < 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pp_client(fd, MSG_WAITALL, "raw_pp_tcp_epoll", n);
    close(fd);
    stop_server();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: see the top of raw_bench.c\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(MAX_SECONDS * 4);
    if (!strcmp(argv[1], "conc"))
        return conc(atoi(argv[2]), atof(argv[3]));
    if (!strcmp(argv[1], "echo"))
        return echo((size_t)atol(argv[2]), atol(argv[3]));
    if (!strcmp(argv[1], "pp") && !strcmp(argv[2], "udp"))
        return pp_udp(atol(argv[3]));
    if (!strcmp(argv[1], "pp") && !strcmp(argv[2], "tcp-epoll"))
        return pp_tcp_epoll(atol(argv[3]));
    return 2;
}
