/* faultproxy — a seeded userspace fault injector for tests, on loopback only.
 *
 * These machines have no netem and no iptables, so the loss, duplication,
 * reordering, delay, resets and black holes the call-semantics and cluster
 * tests need come from this proxy, which sits between a client and a server:
 *
 *   faultproxy -p udp|tcp -l 127.0.0.1:0 -t 127.0.0.1:PORT [faults] [bounds]
 *
 * It prints "ready PROTO://ADDR:PORT" (the address it listens on) on stdout
 * once it listens, forwards until SIGTERM/SIGINT or its time limit, and then
 * prints one line of counters ("stats ...") and exits 0.  SIGUSR1 turns the
 * black hole on, SIGUSR2 off (a path that goes dead and comes back).
 *
 * Faults (probabilities 0..1, drawn from one seeded generator per direction,
 * so a run is reproducible for the same order of packets):
 *   -L P    UDP: drop a datagram
 *   -D P    UDP: send a datagram twice
 *   -R P    UDP: hold a datagram back and send it after the next one of its
 *           direction (or after 100 ms if none comes): reordering
 *   -d MS   delay every datagram or TCP chunk by MS milliseconds (-d A-B: a
 *           uniform delay in [A, B])
 *   -X P    TCP: reset the connection (both sides, SO_LINGER 0) before a chunk
 *   -B      start with the black hole on: everything is read and dropped, and
 *           TCP connections are accepted and never answered
 *   -s SEED the seed (default 1)
 * Bounds (every resource is bounded):
 *   -c N    most client addresses (UDP) or connections (TCP) at once (64)
 *   -T S    exit after S seconds (default 600): a test that forgets it
 *           still ends
 *   -q N    most datagrams or chunks waiting for their time (4096; more are
 *           dropped and counted)
 *
 * Loopback only: -l and -t must be 127.0.0.0/8 or ::1 (anything else is
 * refused): a test never sends to another address. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DGRAM 65536
#define CHUNK     16384
#define HOLD_NS   (100 * 1000000LL)

/* ------------------------------------------------------------ options */

static struct {
    bool udp;
    struct sockaddr_storage lst, to;
    socklen_t lst_len, to_len;
    double loss, dup, reorder, reset;
    long delay_lo, delay_hi; /* ms */
    bool blackhole;
    uint64_t seed;
    int max_peers;
    long max_seconds;
    int max_queue;
} o = {.seed = 1, .max_peers = 64, .max_seconds = 600, .max_queue = 4096};

static volatile sig_atomic_t stop_flag, hole;

static struct {
    unsigned long in, out, dropped, duplicated, reordered, delayed, resets, holed, overflow, conns,
        refused;
} st;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "faultproxy: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

/* "127.0.0.1:5000", "[::1]:5000": loopback only. */
static void parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
        die("bad address '%s' (HOST:PORT)", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *h = host;
    if (h[0] == '[') {
        size_t n = strlen(h);
        if (n < 2 || h[n - 1] != ']')
            die("bad address '%s'", s);
        h[n - 1] = 0;
        h++;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        die("bad port in '%s'", s);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
        if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
            die("'%s' is not a loopback address (127.0.0.0/8 or ::1 only)", s);
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof *in4;
    } else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            die("'%s' is not a loopback address (127.0.0.0/8 or ::1 only)", s);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof *in6;
    } else {
        die("'%s': the host must be a numeric loopback address", s);
    }
}

static double prob(const char *s)
{
    char *end;
    double p = strtod(s, &end);
    if (*end || !(p >= 0 && p <= 1))
        die("probability '%s' is not in 0..1", s);
    return p;
}

static long number(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < lo || v > hi)
        die("bad number '%s'", s);
    return v;
}

/* ------------------------------------------------------------ randomness */

/* splitmix64: small, seedable, good enough to decide faults. */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next64(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool chance(rng *r, double p)
{
    return p > 0 && (double)(next64(r) >> 11) * 0x1.0p-53 < p;
}

static long delay_ms(rng *r)
{
    if (o.delay_hi <= o.delay_lo)
        return o.delay_lo;
    return o.delay_lo + (long)(next64(r) % (uint64_t)(o.delay_hi - o.delay_lo + 1));
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* ------------------------------------------------------------ the queue */

/* A datagram or chunk waiting for its time.  Sent in order of `at`; for
 * TCP the order within a connection is kept by giving each chunk a time no
 * earlier than the one before it. */
typedef struct pkt {
    struct pkt *next;
    int64_t at;
    int fd;                     /* where it goes */
    struct sockaddr_storage to; /* UDP: to whom (to_len 0: connected socket) */
    socklen_t to_len;
    unsigned conn_gen; /* TCP: the connection it belongs to, to drop it if gone */
    size_t len;
    unsigned char data[];
} pkt;

static pkt *queue; /* sorted by at */
static int queued;

static void enqueue(int64_t at, int fd, const struct sockaddr_storage *to, socklen_t to_len,
                    unsigned gen, const void *p, size_t n)
{
    if (queued >= o.max_queue) {
        st.overflow++;
        return;
    }
    pkt *k = malloc(sizeof *k + n);
    if (!k) {
        st.overflow++;
        return;
    }
    k->at = at, k->fd = fd, k->to_len = to_len, k->conn_gen = gen, k->len = n;
    if (to_len)
        memcpy(&k->to, to, to_len);
    memcpy(k->data, p, n);
    pkt **pp = &queue;
    while (*pp && (*pp)->at <= at)
        pp = &(*pp)->next;
    k->next = *pp;
    *pp = k;
    queued++;
}

/* ------------------------------------------------------------ UDP */

typedef struct upeer {
    bool used;
    struct sockaddr_storage addr; /* the client */
    socklen_t addr_len;
    int fd; /* connected to the server */
    int64_t last;
    pkt *held[2]; /* reordering: one held back per direction */
    int64_t held_at[2];
} upeer;

static upeer *peers;
static int lfd;
static rng dir_rng[2]; /* 0: client -> server, 1: server -> client */

static void udp_send_now(int fd, const struct sockaddr_storage *to, socklen_t to_len, const void *p,
                         size_t n)
{
    ssize_t w =
        to_len ? sendto(fd, p, n, 0, (const struct sockaddr *)to, to_len) : send(fd, p, n, 0);
    if (w == (ssize_t)n)
        st.out++;
}

static pkt *copy_pkt(int fd, const struct sockaddr_storage *to, socklen_t to_len, const void *p,
                     size_t n)
{
    pkt *k = malloc(sizeof *k + n);
    if (!k)
        return NULL;
    memset(k, 0, sizeof *k);
    k->fd = fd, k->to_len = to_len, k->len = n;
    if (to_len)
        memcpy(&k->to, to, to_len);
    memcpy(k->data, p, n);
    return k;
}

/* One datagram of direction dir, through the faults. */
static void udp_forward(upeer *u, int dir, const void *p, size_t n)
{
    rng *r = &dir_rng[dir];
    int fd = dir == 0 ? u->fd : lfd;
    const struct sockaddr_storage *to = dir == 0 ? NULL : &u->addr;
    socklen_t to_len = dir == 0 ? 0 : u->addr_len;
    st.in++;
    if (hole) {
        st.holed++;
        return;
    }
    if (chance(r, o.loss)) {
        st.dropped++;
        return;
    }
    int copies = 1;
    if (chance(r, o.dup)) {
        copies = 2;
        st.duplicated++;
    }
    if (!u->held[dir] && chance(r, o.reorder)) {
        /* kept aside: it goes after the next datagram of this direction
         * (or HOLD_NS from now) */
        u->held[dir] = copy_pkt(fd, to, to_len, p, n);
        u->held_at[dir] = now_ns() + HOLD_NS;
        if (u->held[dir]) {
            st.reordered++;
            copies--;
        }
    }
    long d = delay_ms(r);
    if (d)
        st.delayed++;
    int64_t at = now_ns() + d * 1000000LL;
    for (int i = 0; i < copies; i++) {
        if (d)
            enqueue(at, fd, to, to_len, 0, p, n);
        else
            udp_send_now(fd, to, to_len, p, n);
    }
    pkt *h = u->held[dir];
    if (h && copies > 0) {
        /* a datagram went past the held one: now the held one */
        u->held[dir] = NULL;
        if (d)
            enqueue(at + 1, h->fd, &h->to, h->to_len, 0, h->data, h->len);
        else
            udp_send_now(h->fd, &h->to, h->to_len, h->data, h->len);
        free(h);
    }
}

static upeer *udp_peer(const struct sockaddr_storage *from, socklen_t len)
{
    upeer *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < o.max_peers; i++) {
        upeer *u = &peers[i];
        if (u->used && u->addr_len == len && memcmp(&u->addr, from, len) == 0)
            return u;
        if (!u->used && !free_slot)
            free_slot = u;
        if (u->used && (!oldest || u->last < oldest->last))
            oldest = u;
    }
    upeer *u = free_slot;
    if (!u) {
        /* at the bound: the least recently seen client goes */
        u = oldest;
        close(u->fd);
        for (int d = 0; d < 2; d++)
            free(u->held[d]);
        st.refused++;
    }
    memset(u, 0, sizeof *u);
    u->fd = socket(o.to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0 || connect(u->fd, (struct sockaddr *)&o.to, o.to_len) != 0) {
        if (u->fd >= 0)
            close(u->fd);
        return NULL;
    }
    u->used = true;
    memcpy(&u->addr, from, len);
    u->addr_len = len;
    st.conns++;
    return u;
}

/* ------------------------------------------------------------ TCP */

typedef struct tconn {
    bool used;
    int fd[2];          /* 0: the client's, 1: the server's */
    unsigned gen;       /* distinguishes a slot's successive connections */
    int64_t last_at[2]; /* the latest time a chunk of each direction is due */
    bool eof[2];        /* direction d's reader saw EOF (shut down the other side once flushed) */
} tconn;

static tconn *conns;
static unsigned next_gen = 1;

static void set_linger0(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static void tcp_close(tconn *t, bool reset)
{
    for (int i = 0; i < 2; i++) {
        if (t->fd[i] < 0)
            continue;
        if (reset)
            set_linger0(t->fd[i]);
        close(t->fd[i]);
        t->fd[i] = -1;
    }
    t->used = false;
    /* queued chunks of this connection are dropped when their time comes
     * (their gen no longer matches) */
}

static tconn *conn_of_fd(int fd, unsigned gen)
{
    for (int i = 0; i < o.max_peers; i++)
        if (conns[i].used && conns[i].gen == gen && (conns[i].fd[0] == fd || conns[i].fd[1] == fd))
            return &conns[i];
    return NULL;
}

static bool write_all(int fd, const unsigned char *p, size_t n)
{
    /* blocking writes with a bound: the sockets are non-blocking, so poll */
    int64_t until = now_ns() + 5000000000LL;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w, n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        if (now_ns() > until)
            return false;
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, 100);
    }
    return true;
}

static void tcp_accept(void)
{
    int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    tconn *t = NULL;
    for (int i = 0; i < o.max_peers && !t; i++)
        if (!conns[i].used)
            t = &conns[i];
    if (!t) {
        st.refused++;
        close(c);
        return;
    }
    int s = socket(o.to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&o.to, o.to_len) != 0) {
        /* the server is not there: the client sees its connection reset */
        if (s >= 0)
            close(s);
        set_linger0(c);
        close(c);
        st.refused++;
        return;
    }
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(t, 0, sizeof *t);
    t->used = true;
    t->fd[0] = c, t->fd[1] = s;
    t->gen = next_gen++;
    st.conns++;
}

/* Reads what side `from` sent and passes it on through the faults. */
static void tcp_read(tconn *t, int from)
{
    unsigned char buf[CHUNK];
    ssize_t n = recv(t->fd[from], buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* EOF or error: pass the close on (after what is queued) */
        t->eof[from] = true;
        if (n < 0 || t->eof[1 - from]) {
            tcp_close(t, n < 0);
            return;
        }
        enqueue(t->last_at[from] > now_ns() ? t->last_at[from] : now_ns(), t->fd[1 - from], NULL, 0,
                t->gen, "", 0); /* a zero-length chunk: shut down writing */
        return;
    }
    st.in++;
    if (hole) {
        st.holed++;
        return;
    }
    rng *r = &dir_rng[from];
    if (chance(r, o.reset)) {
        st.resets++;
        tcp_close(t, true);
        return;
    }
    long d = delay_ms(r);
    int64_t at = now_ns() + d * 1000000LL;
    if (at < t->last_at[from])
        at = t->last_at[from]; /* never before the chunk ahead of it */
    t->last_at[from] = at;
    if (d || queue) {
        if (d)
            st.delayed++;
        enqueue(at, t->fd[1 - from], NULL, 0, t->gen, buf, (size_t)n);
    } else if (write_all(t->fd[1 - from], buf, (size_t)n)) {
        st.out++;
    } else {
        tcp_close(t, true);
    }
}

/* ------------------------------------------------------------ the loop */

static void send_due(void)
{
    int64_t now = now_ns();
    while (queue && queue->at <= now) {
        pkt *k = queue;
        queue = k->next;
        queued--;
        if (o.udp) {
            udp_send_now(k->fd, &k->to, k->to_len, k->data, k->len);
        } else {
            tconn *t = conn_of_fd(k->fd, k->conn_gen);
            if (t && k->len == 0) {
                shutdown(k->fd, SHUT_WR);
            } else if (t) {
                if (write_all(k->fd, k->data, k->len))
                    st.out++;
                else
                    tcp_close(t, true);
            }
        }
        free(k);
    }
    if (o.udp) {
        for (int i = 0; i < o.max_peers; i++)
            for (int d = 0; d < 2; d++) {
                pkt *h = peers[i].used ? peers[i].held[d] : NULL;
                if (h && peers[i].held_at[d] <= now) {
                    udp_send_now(h->fd, &h->to, h->to_len, h->data, h->len);
                    peers[i].held[d] = NULL;
                    free(h);
                }
            }
    }
}

static int timeout_ms(void)
{
    int64_t next = queue ? queue->at : INT64_MAX;
    for (int i = 0; o.udp && i < o.max_peers; i++)
        for (int d = 0; d < 2; d++)
            if (peers[i].used && peers[i].held[d] && peers[i].held_at[d] < next)
                next = peers[i].held_at[d];
    if (next == INT64_MAX)
        return 200;
    int64_t ms = (next - now_ns()) / 1000000 + 1;
    return ms < 0 ? 0 : ms > 200 ? 200 : (int)ms;
}

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}
static void on_hole(int sig)
{
    hole = sig == SIGUSR1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: faultproxy -p udp|tcp -l LISTEN_ADDR:PORT -t TARGET_ADDR:PORT\n"
               "                  [-L loss] [-D dup] [-R reorder] [-d MS[-MS]] [-X reset] [-B]\n"
               "                  [-s seed] [-c max-peers] [-T seconds] [-q max-queued]\n"
               "loopback addresses only; SIGUSR1/SIGUSR2 turn the black hole on/off\n");
}

int main(int argc, char **argv)
{
    const char *proto = NULL, *lst = NULL, *to = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "p:l:t:L:D:R:d:X:Bs:c:T:q:h")) != -1) {
        switch (opt) {
        case 'p':
            proto = optarg;
            break;
        case 'l':
            lst = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'L':
            o.loss = prob(optarg);
            break;
        case 'D':
            o.dup = prob(optarg);
            break;
        case 'R':
            o.reorder = prob(optarg);
            break;
        case 'X':
            o.reset = prob(optarg);
            break;
        case 'B':
            hole = 1;
            break;
        case 's':
            o.seed = (uint64_t)number(optarg, 0, 0x7fffffffffffffffL);
            break;
        case 'c':
            o.max_peers = (int)number(optarg, 1, 4096);
            break;
        case 'T':
            o.max_seconds = number(optarg, 1, 86400);
            break;
        case 'q':
            o.max_queue = (int)number(optarg, 1, 1 << 20);
            break;
        case 'd': {
            char *dash = strchr(optarg, '-');
            if (dash) {
                *dash = 0;
                o.delay_lo = number(optarg, 0, 60000);
                o.delay_hi = number(dash + 1, o.delay_lo, 60000);
            } else {
                o.delay_lo = o.delay_hi = number(optarg, 0, 60000);
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!proto || !lst || !to || optind != argc || (strcmp(proto, "udp") && strcmp(proto, "tcp"))) {
        usage(stderr);
        return 2;
    }
    o.udp = strcmp(proto, "udp") == 0;
    parse_addr(lst, &o.lst, &o.lst_len);
    parse_addr(to, &o.to, &o.to_len);
    if (!o.udp && (o.loss || o.dup || o.reorder))
        die("%s: -L, -D and -R are for UDP (TCP does not lose, duplicate or reorder)", proto);
    dir_rng[0].s = o.seed * 2 + 1;
    dir_rng[1].s = o.seed * 2 + 2;

    lfd = socket(o.lst.ss_family, (o.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&o.lst, o.lst_len) != 0 ||
        (!o.udp && listen(lfd, 128) != 0))
        die("cannot listen on %s", lst);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(lfd, (struct sockaddr *)&bound, &blen);
    char host[64];
    uint16_t port;
    if (bound.ss_family == AF_INET) {
        struct sockaddr_in *b = (struct sockaddr_in *)&bound;
        inet_ntop(AF_INET, &b->sin_addr, host, sizeof host);
        port = ntohs(b->sin_port);
        printf("ready %s://%s:%u\n", proto, host, port);
    } else {
        struct sockaddr_in6 *b = (struct sockaddr_in6 *)&bound;
        inet_ntop(AF_INET6, &b->sin6_addr, host, sizeof host);
        port = ntohs(b->sin6_port);
        printf("ready %s://[%s]:%u\n", proto, host, port);
    }
    fflush(stdout);

    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hole;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    peers = calloc((size_t)o.max_peers, sizeof *peers);
    conns = calloc((size_t)o.max_peers, sizeof *conns);
    struct pollfd *pf = calloc((size_t)o.max_peers * 2 + 1, sizeof *pf);
    if (!peers || !conns || !pf)
        die("%s", "out of memory");
    int64_t end = now_ns() + o.max_seconds * 1000000000LL;
    static unsigned char buf[MAX_DGRAM];

    while (!stop_flag && now_ns() < end) {
        int n = 0;
        pf[n++] = (struct pollfd){lfd, POLLIN, 0};
        for (int i = 0; i < o.max_peers; i++) {
            if (o.udp && peers[i].used)
                pf[n++] = (struct pollfd){peers[i].fd, POLLIN, 0};
            if (!o.udp && conns[i].used)
                for (int d = 0; d < 2; d++)
                    if (!conns[i].eof[d])
                        pf[n++] = (struct pollfd){conns[i].fd[d], POLLIN, 0};
        }
        int r = poll(pf, (nfds_t)n, timeout_ms());
        if (r < 0 && errno != EINTR)
            break;
        for (int k = 0; r > 0 && k < n; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int fd = pf[k].fd;
            if (fd == lfd && o.udp) {
                for (int burst = 0; burst < 64; burst++) {
                    struct sockaddr_storage from;
                    socklen_t flen = sizeof from;
                    ssize_t got =
                        recvfrom(lfd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
                    if (got < 0)
                        break;
                    upeer *u = udp_peer(&from, flen);
                    if (u) {
                        u->last = now_ns();
                        udp_forward(u, 0, buf, (size_t)got);
                    }
                }
            } else if (fd == lfd) {
                tcp_accept();
            } else if (o.udp) {
                for (int i = 0; i < o.max_peers; i++) {
                    if (!peers[i].used || peers[i].fd != fd)
                        continue;
                    for (int burst = 0; burst < 64; burst++) {
                        ssize_t got = recv(fd, buf, sizeof buf, 0);
                        if (got < 0)
                            break;
                        udp_forward(&peers[i], 1, buf, (size_t)got);
                    }
                }
            } else {
                for (int i = 0; i < o.max_peers; i++)
                    for (int d = 0; d < 2; d++)
                        if (conns[i].used && conns[i].fd[d] == fd && !conns[i].eof[d])
                            tcp_read(&conns[i], d);
            }
        }
        send_due();
    }
    printf("stats in=%lu out=%lu dropped=%lu duplicated=%lu reordered=%lu delayed=%lu resets=%lu "
           "holed=%lu overflow=%lu peers=%lu refused=%lu\n",
           st.in, st.out, st.dropped, st.duplicated, st.reordered, st.delayed, st.resets, st.holed,
           st.overflow, st.conns, st.refused);
    fflush(stdout);
    for (int i = 0; i < o.max_peers; i++) {
        if (peers[i].used) {
            close(peers[i].fd);
            for (int d = 0; d < 2; d++)
                free(peers[i].held[d]);
        }
        if (conns[i].used)
            tcp_close(&conns[i], false);
    }
    while (queue) {
        pkt *k = queue;
        queue = k->next;
        free(k);
    }
    free(peers);
    free(conns);
    free(pf);
    close(lfd);
    return 0;
}
