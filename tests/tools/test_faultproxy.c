/* faultproxy's own test: each fault does what it says, counted exactly.
 *
 * An echo server (UDP and TCP, on 127.0.0.1 or ::1) runs in this process;
 * faultproxy runs as a child between it and a client of this process.  Each
 * case sends a bounded number of messages and checks what arrived against
 * the proxy's own counters (its "stats" line at SIGTERM) and against what
 * the fault must do: nothing lost without faults; with loss, what the
 * proxy forwarded is exactly what the two ends received; duplication
 * doubles; reordering with probability 1 swaps each pair; a reset reaches
 * the client; a black hole answers nothing until SIGUSR2; a non-loopback
 * address is refused.  No timing is asserted (waits are bounds only).
 *
 * usage: test_faultproxy PATH-TO-FAULTPROXY */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *proxy_path;
static int failures;

#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------ echo server */

typedef struct echo {
    int fd;
    bool tcp;
    atomic_int got; /* datagrams (UDP) received */
    int order[64];  /* the first datagrams' first byte, in arrival order */
    atomic_bool stop;
    pthread_t th;
    char port[16];
    int family;
} echo;

static void *echo_main(void *arg)
{
    echo *e = arg;
    unsigned char buf[65536];
    while (!atomic_load(&e->stop)) {
        struct pollfd pf = {e->fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        if (!e->tcp) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(e->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (n <= 0)
                continue;
            int i = atomic_fetch_add(&e->got, 1);
            if (i < 64)
                e->order[i] = buf[0];
            sendto(e->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
            continue;
        }
        int c = accept(e->fd, NULL, NULL);
        if (c < 0)
            continue;
        /* one connection at a time, echoed until EOF (bounded by the tests) */
        for (;;) {
            struct pollfd cp = {c, POLLIN, 0};
            if (poll(&cp, 1, 100) <= 0) {
                if (atomic_load(&e->stop))
                    break;
                continue;
            }
            ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            ssize_t off = 0;
            while (off < n) {
                ssize_t w = send(c, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
                if (w <= 0)
                    break;
                off += w;
            }
        }
        close(c);
    }
    return NULL;
}

static void echo_start(echo *e, bool tcp, int family)
{
    memset(e, 0, sizeof *e);
    e->tcp = tcp;
    e->family = family;
    e->fd = socket(family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    if (bind(e->fd, (struct sockaddr *)&ss, len) != 0 || (tcp && listen(e->fd, 8) != 0)) {
        perror("echo bind");
        exit(1);
    }
    getsockname(e->fd, (struct sockaddr *)&ss, &len);
    unsigned port = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                      : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    snprintf(e->port, sizeof e->port, "%u", port);
    pthread_create(&e->th, NULL, echo_main, e);
}

static void echo_stop(echo *e)
{
    atomic_store(&e->stop, true);
    pthread_join(e->th, NULL);
    close(e->fd);
}

/* ------------------------------------------------------------ the proxy */

typedef struct proxy {
    pid_t pid;
    FILE *out;
    char host[64];
    unsigned port;
    char stats[512];
} proxy;

/* Starts faultproxy with args (NULL-terminated after the fixed ones);
 * false if it did not say "ready" (its exit status in *status then). */
static bool proxy_start(proxy *p, char *const args[], int *status)
{
    memset(p, 0, sizeof *p);
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    p->pid = fork();
    if (p->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        char *argv[32];
        int n = 0;
        argv[n++] = (char *)proxy_path;
        for (int i = 0; args[i] && n < 30; i++)
            argv[n++] = args[i];
        argv[n++] = (char *)"-T";
        argv[n++] = (char *)"60";
        argv[n] = NULL;
        execv(proxy_path, argv);
        _exit(127);
    }
    close(fds[1]);
    p->out = fdopen(fds[0], "r");
    char line[256];
    if (!fgets(line, sizeof line, p->out)) {
        waitpid(p->pid, status, 0);
        fclose(p->out);
        p->pid = 0;
        return false;
    }
    /* "ready udp://127.0.0.1:PORT" or "ready tcp://[::1]:PORT" */
    char *h = strstr(line, "://");
    char *colon = h ? strrchr(h, ':') : NULL;
    if (!h || !colon)
        return false;
    h += 3;
    if (*h == '[')
        h++;
    size_t hl = (size_t)(colon - h);
    if (hl && h[hl - 1] == ']')
        hl--;
    snprintf(p->host, sizeof p->host, "%.*s", (int)hl, h);
    p->port = (unsigned)atoi(colon + 1);
    return true;
}

/* Stops it and keeps its stats line; returns its exit status. */
static int proxy_stop(proxy *p)
{
    kill(p->pid, SIGTERM);
    if (!fgets(p->stats, sizeof p->stats, p->out))
        p->stats[0] = 0;
    int status = -1;
    waitpid(p->pid, &status, 0);
    fclose(p->out);
    return status;
}

static long stat_of(const proxy *p, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, " %s=", name);
    const char *s = strstr(p->stats, key);
    return s ? atol(s + strlen(key)) : -1;
}

static int client_socket(const proxy *p, bool tcp)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    int family = strchr(p->host, ':') ? AF_INET6 : AF_INET;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, p->host, &a->sin_addr);
        a->sin_port = htons((uint16_t)p->port);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, p->host, &a->sin6_addr);
        a->sin6_port = htons((uint16_t)p->port);
        len = sizeof *a;
    }
    int fd = socket(family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) != 0) {
        perror("client connect");
        exit(1);
    }
    return fd;
}

/* Waits up to ms for a datagram; its length or -1. */
static ssize_t recv_within(int fd, void *buf, size_t n, int ms)
{
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, ms) <= 0)
        return -1;
    return recv(fd, buf, n, 0);
}

/* Sends n datagrams one at a time, each waiting up to `wait_ms` for its
 * echo(es), then drains; returns the datagrams received. */
static int udp_ping(int fd, int n, int wait_ms)
{
    unsigned char buf[2048];
    int got = 0;
    for (int i = 0; i < n; i++) {
        memset(buf, 0, 64);
        buf[0] = (unsigned char)i;
        buf[1] = (unsigned char)(i >> 8);
        send(fd, buf, 64, 0);
        int w = wait_ms;
        while (recv_within(fd, buf, sizeof buf, w) > 0) {
            got++;
            w = 2; /* then a little for a duplicate */
        }
    }
    while (recv_within(fd, buf, sizeof buf, 100) > 0)
        got++;
    return got;
}

/* ------------------------------------------------------------ cases */

static void udp_case(int family, char *const faults[], int n, const char *what,
                     void (*check)(const echo *, const proxy *, int sent, int got))
{
    echo e;
    echo_start(&e, false, family);
    char lst[80], to[80];
    snprintf(lst, sizeof lst, family == AF_INET ? "127.0.0.1:0" : "[::1]:0");
    snprintf(to, sizeof to, family == AF_INET ? "127.0.0.1:%s" : "[::1]:%s", e.port);
    char *args[24] = {"-p", "udp", "-l", lst, "-t", to};
    int k = 6;
    for (int i = 0; faults[i] && k < 22; i++)
        args[k++] = faults[i];
    args[k] = NULL;
    proxy p;
    int status = 0;
    if (!proxy_start(&p, args, &status)) {
        CHECK(false, "%s: faultproxy did not start (status %d)", what, status);
        echo_stop(&e);
        return;
    }
    int fd = client_socket(&p, false);
    int got = udp_ping(fd, n, 20);
    close(fd);
    status = proxy_stop(&p);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: proxy exit status %d", what, status);
    check(&e, &p, n, got);
    printf("ok   %s: sent %d, server got %d, client got %d; %s", what, n, atomic_load(&e.got), got,
           p.stats);
    echo_stop(&e);
}

static void check_clean(const echo *e, const proxy *p, int sent, int got)
{
    CHECK(atomic_load(&e->got) == sent && got == sent, "clean: %d/%d", atomic_load(&e->got), got);
    CHECK(stat_of(p, "in") == 2 * sent && stat_of(p, "out") == 2 * sent, "clean: %s", p->stats);
}

static void check_loss(const echo *e, const proxy *p, int sent, int got)
{
    long in = stat_of(p, "in"), out = stat_of(p, "out"), dropped = stat_of(p, "dropped");
    int srv = atomic_load(&e->got);
    /* what the proxy passed on is exactly what the two ends received */
    CHECK(out == srv + got, "loss: out %ld != server %d + client %d", out, srv, got);
    CHECK(in == sent + srv && in == out + dropped, "loss: %s", p->stats);
    /* seeded: the drop rate is near 30% (a loose band, not a timing) */
    CHECK(dropped > in / 5 && dropped < in * 2 / 5, "loss: dropped %ld of %ld", dropped, in);
}

static void check_dup(const echo *e, const proxy *p, int sent, int got)
{
    CHECK(atomic_load(&e->got) == 2 * sent, "dup: server got %d of %d", atomic_load(&e->got),
          2 * sent);
    CHECK(got == 4 * sent, "dup: client got %d, not %d", got, 4 * sent);
    CHECK(stat_of(p, "duplicated") == 3 * sent, "dup: %s", p->stats);
}

static void reorder_case(void)
{
    echo e;
    echo_start(&e, false, AF_INET);
    char to[80];
    snprintf(to, sizeof to, "127.0.0.1:%s", e.port);
    char *args[] = {"-p", "udp", "-l", "127.0.0.1:0", "-t", to, "-R", "1", NULL};
    proxy p;
    int status;
    if (!proxy_start(&p, args, &status)) {
        CHECK(false, "reorder: faultproxy did not start");
        echo_stop(&e);
        return;
    }
    int fd = client_socket(&p, false);
    unsigned char buf[64] = {0};
    for (int i = 1; i <= 10; i++) {
        buf[0] = (unsigned char)i;
        send(fd, buf, sizeof buf, 0); /* back to back: all queued at the proxy at once */
    }
    int got = 0;
    while (got < 10 && recv_within(fd, buf, sizeof buf, 500) > 0)
        got++;
    close(fd);
    proxy_stop(&p);
    /* with probability 1, each datagram is held until the next passes */
    static const int want[10] = {2, 1, 4, 3, 6, 5, 8, 7, 10, 9};
    CHECK(atomic_load(&e.got) == 10, "reorder: server got %d", atomic_load(&e.got));
    bool same = true;
    for (int i = 0; i < 10; i++)
        same = same && e.order[i] == want[i];
    CHECK(same, "reorder: order %d %d %d %d ...", e.order[0], e.order[1], e.order[2], e.order[3]);
    CHECK(got == 10, "reorder: client got %d", got);
    printf("ok   UDP reordering: the server saw 2 1 4 3 6 5 8 7 10 9; %s", p.stats);
    echo_stop(&e);
}

static void tcp_cases(void)
{
    echo e;
    echo_start(&e, true, AF_INET);
    char to[80];
    snprintf(to, sizeof to, "127.0.0.1:%s", e.port);

    /* pass-through with a delay: 1 MiB echoed intact */
    {
        char *args[] = {"-p", "tcp", "-l", "127.0.0.1:0", "-t", to, "-d", "1-3", NULL};
        proxy p;
        int status;
        CHECK(proxy_start(&p, args, &status), "tcp: did not start");
        int fd = client_socket(&p, true);
        enum { N = 1 << 20 };
        unsigned char *out = malloc(N), *in = malloc(N);
        for (int i = 0; i < N; i++)
            out[i] = (unsigned char)(i * 7 + (i >> 9));
        size_t sent = 0, got = 0;
        for (int rounds = 0; got < N && rounds < 100000; rounds++) {
            struct pollfd pf = {fd, POLLIN | (sent < N ? POLLOUT : 0), 0};
            if (poll(&pf, 1, 1000) <= 0)
                break;
            if ((pf.revents & POLLOUT) && sent < N) {
                ssize_t w = send(fd, out + sent, N - sent > 65536 ? 65536 : N - sent, MSG_DONTWAIT);
                if (w > 0)
                    sent += (size_t)w;
            }
            if (pf.revents & POLLIN) {
                ssize_t r = recv(fd, in + got, N - got, MSG_DONTWAIT);
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
        }
        CHECK(got == N && memcmp(in, out, N) == 0, "tcp: %zu of %d bytes back intact", got, N);
        close(fd);
        proxy_stop(&p);
        CHECK(stat_of(&p, "delayed") > 0 && stat_of(&p, "resets") == 0, "tcp: %s", p.stats);
        printf("ok   TCP with a 1-3 ms delay: 1 MiB echoed intact; %s", p.stats);
        free(out);
        free(in);
    }
    /* a reset before the first chunk: the client sees its connection reset */
    {
        char *args[] = {"-p", "tcp", "-l", "127.0.0.1:0", "-t", to, "-X", "1", NULL};
        proxy p;
        int status;
        CHECK(proxy_start(&p, args, &status), "reset: did not start");
        int fd = client_socket(&p, true);
        send(fd, "hello", 5, MSG_NOSIGNAL);
        char b[16];
        struct pollfd pf = {fd, POLLIN, 0};
        poll(&pf, 1, 3000);
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        int err = errno;
        CHECK(r < 0 && err == ECONNRESET, "reset: recv %zd (%s)", r, strerror(err));
        close(fd);
        proxy_stop(&p);
        CHECK(stat_of(&p, "resets") == 1, "reset: %s", p.stats);
        printf("ok   TCP reset: the client's recv fails with ECONNRESET; %s", p.stats);
    }
    /* a black hole, then SIGUSR2: nothing comes back, then the echo does */
    {
        char *args[] = {"-p", "tcp", "-l", "127.0.0.1:0", "-t", to, "-B", NULL};
        proxy p;
        int status;
        CHECK(proxy_start(&p, args, &status), "hole: did not start");
        int fd = client_socket(&p, true);
        send(fd, "lost", 4, MSG_NOSIGNAL);
        char b[16];
        CHECK(recv_within(fd, b, sizeof b, 300) < 0, "hole: an answer came through");
        kill(p.pid, SIGUSR2);
        ssize_t r = -1;
        for (int i = 0; i < 30 && r <= 0; i++) { /* the signal is asynchronous: retry */
            send(fd, "back", 4, MSG_NOSIGNAL);
            r = recv_within(fd, b, sizeof b, 100);
        }
        CHECK(r >= 4 && memcmp(b, "back", 4) == 0, "hole: no echo after SIGUSR2 (%zd)", r);
        close(fd);
        proxy_stop(&p);
        CHECK(stat_of(&p, "holed") >= 1, "hole: %s", p.stats);
        printf("ok   TCP black hole: nothing back until SIGUSR2, then the echo; %s", p.stats);
    }
    echo_stop(&e);
}

static void refuses(char *const args[], const char *what)
{
    proxy p;
    int status = 0;
    bool started = proxy_start(&p, args, &status);
    if (started)
        proxy_stop(&p);
    CHECK(!started && WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s: not refused (%d)", what,
          status);
    printf("ok   refused: %s\n", what);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_faultproxy FAULTPROXY\n");
        return 2;
    }
    proxy_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    char *none[] = {NULL};
    udp_case(AF_INET, none, 500, "UDP, no faults", check_clean);
    udp_case(AF_INET6, none, 200, "UDP over ::1, no faults", check_clean);
    char *loss[] = {"-L", "0.3", "-s", "7", NULL};
    udp_case(AF_INET, loss, 1000, "UDP, 30% loss", check_loss);
    char *dup[] = {"-D", "1", NULL};
    udp_case(AF_INET, dup, 200, "UDP, every datagram duplicated", check_dup);
    reorder_case();
    tcp_cases();
    char *far1[] = {"-p", "udp", "-l", "127.0.0.1:0", "-t", "10.1.2.3:53", NULL};
    refuses(far1, "a target that is not loopback");
    char *far2[] = {"-p", "tcp", "-l", "0.0.0.0:0", "-t", "127.0.0.1:1", NULL};
    refuses(far2, "listening on all addresses");
    char *far3[] = {"-p", "tcp", "-l", "127.0.0.1:0", "-t", "127.0.0.1:1", "-L", "0.1", NULL};
    refuses(far3, "loss on TCP");
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("all faultproxy checks passed\n");
    return 0;
}
