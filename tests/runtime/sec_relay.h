/* A test-only TCP relay on loopback for the security-level tests: it cuts
 * the stream each way into records (RFC 5531 §11 record marking) and shows
 * each to a hook that may change it, cut it short, drop it, send it twice
 * or hold it back behind the next one -- a man in the middle, in-process.
 * Every loop is bounded; relay_stop ends the thread and closes everything. */
#ifndef TESTS_SEC_RELAY_H
#define TESTS_SEC_RELAY_H

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { RELAY_C2S = 0, RELAY_S2C = 1 };
typedef enum { R_FWD, R_DROP, R_DUP, R_HOLD } relay_action;
#define RELAY_MAX_REC (4u << 20)

/* dir, the record's index in that direction on this connection (0: the
 * first), its body (writable; *len may be made smaller). */
typedef relay_action (*relay_hook)(void *user, int dir, unsigned idx, uint8_t *rec, size_t *len);

typedef struct relay {
    int lfd, stop[2];
    uint16_t port;
    int target_port;
    relay_hook hook;
    void *user;
    pthread_t th;
    atomic_int conns;
    /* the records of the last connection, kept for replaying: at most 8 each way */
    uint8_t *kept[2][8];
    size_t kept_len[2][8];
    pthread_mutex_t mu;
} relay;

typedef struct relay_side {
    uint8_t *buf;
    size_t have;
    unsigned idx;
    uint8_t *held;
    size_t held_len;
} relay_side;

static inline bool relay_send_rec(int fd, const uint8_t *p, size_t n)
{
    uint8_t mark[4];
    uint32_t m = htonl(0x80000000u | (uint32_t)n);
    memcpy(mark, &m, 4);
    if (send(fd, mark, 4, MSG_NOSIGNAL | MSG_MORE) != 4)
        return false;
    size_t off = 0;
    for (int i = 0; off < n && i < 100000; i++) {
        ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    return off == n;
}

/* Cuts what `sd` holds into records, each through the hook, out to `to`.
 * False: the connection is to be closed. */
static inline bool relay_pump(relay *r, relay_side *sd, int dir, int to)
{
    for (;;) {
        if (sd->have < 4)
            return true;
        uint32_t m;
        memcpy(&m, sd->buf, 4);
        m = ntohl(m);
        size_t flen = m & 0x7fffffffu;
        if (!(m & 0x80000000u) || flen > RELAY_MAX_REC - 4)
            return false; /* (farcall sends single-fragment records) */
        if (sd->have < 4 + flen)
            return true;
        uint8_t *rec = malloc(flen ? flen : 1);
        if (!rec)
            return false;
        memcpy(rec, sd->buf + 4, flen);
        memmove(sd->buf, sd->buf + 4 + flen, sd->have - 4 - flen);
        sd->have -= 4 + flen;
        size_t len = flen;
        pthread_mutex_lock(&r->mu);
        if (sd->idx < 8 && !r->kept[dir][sd->idx]) {
            r->kept[dir][sd->idx] = malloc(flen ? flen : 1);
            if (r->kept[dir][sd->idx]) {
                memcpy(r->kept[dir][sd->idx], rec, flen);
                r->kept_len[dir][sd->idx] = flen;
            }
        }
        pthread_mutex_unlock(&r->mu);
        relay_action a = r->hook ? r->hook(r->user, dir, sd->idx, rec, &len) : R_FWD;
        sd->idx++;
        bool ok = true;
        if (a == R_HOLD && !sd->held) {
            sd->held = rec, sd->held_len = len;
            continue;
        }
        if (a != R_DROP)
            ok = relay_send_rec(to, rec, len);
        if (ok && a == R_DUP)
            ok = relay_send_rec(to, rec, len);
        if (ok && sd->held) {
            ok = relay_send_rec(to, sd->held, sd->held_len);
            free(sd->held);
            sd->held = NULL;
        }
        free(rec);
        if (!ok)
            return false;
    }
}

static inline void relay_one(relay *r, int cfd)
{
    int sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->target_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sfd < 0 || connect(sfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (sfd >= 0)
            close(sfd);
        return;
    }
    int one = 1;
    setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_mutex_lock(&r->mu);
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 8; i++) {
            free(r->kept[d][i]);
            r->kept[d][i] = NULL;
        }
    pthread_mutex_unlock(&r->mu);
    relay_side sd[2] = {{0}, {0}};
    sd[0].buf = malloc(RELAY_MAX_REC);
    sd[1].buf = malloc(RELAY_MAX_REC);
    int fds[2] = {cfd, sfd};
    /* at most 5 minutes of relaying, and a million reads */
    for (int it = 0; it < 1000000 && sd[0].buf && sd[1].buf; it++) {
        struct pollfd pf[3] = {{cfd, POLLIN, 0}, {sfd, POLLIN, 0}, {r->stop[0], POLLIN, 0}};
        int n = poll(pf, 3, 300000);
        if (n <= 0 || pf[2].revents)
            break;
        bool done = false;
        for (int d = 0; d < 2 && !done; d++) {
            if (!(pf[d].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = recv(fds[d], sd[d].buf + sd[d].have, RELAY_MAX_REC - sd[d].have, 0);
            if (got <= 0) {
                done = true;
                break;
            }
            sd[d].have += (size_t)got;
            if (!relay_pump(r, &sd[d], d, fds[1 - d]))
                done = true;
        }
        if (done)
            break;
    }
    for (int d = 0; d < 2; d++) {
        free(sd[d].buf);
        free(sd[d].held);
    }
    close(sfd);
}

static inline void *relay_main(void *arg)
{
    relay *r = arg;
    for (int i = 0; i < 10000; i++) {
        struct pollfd pf[2] = {{r->lfd, POLLIN, 0}, {r->stop[0], POLLIN, 0}};
        if (poll(pf, 2, 300000) <= 0 || pf[1].revents)
            break;
        int cfd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0)
            continue;
        atomic_fetch_add(&r->conns, 1);
        relay_one(r, cfd);
        close(cfd);
    }
    return NULL;
}

/* Listens on 127.0.0.1 (an ephemeral port: r->port) and relays each
 * connection, one at a time, to 127.0.0.1:target_port. */
static inline bool relay_start(relay *r, int target_port, relay_hook hook, void *user)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->target_port = target_port;
    r->hook = hook;
    r->user = user;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(r->lfd, 16) != 0 || getsockname(r->lfd, (struct sockaddr *)&sa, &sl) != 0 ||
        pipe(r->stop) != 0)
        return false;
    r->port = ntohs(sa.sin_port);
    return pthread_create(&r->th, NULL, relay_main, r) == 0;
}

static inline void relay_stop(relay *r)
{
    if (write(r->stop[1], "x", 1) != 1) {
    }
    pthread_join(r->th, NULL);
    close(r->lfd);
    close(r->stop[0]);
    close(r->stop[1]);
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 8; i++)
            free(r->kept[d][i]);
    pthread_mutex_destroy(&r->mu);
}

/* A copy of kept record `idx` of direction `dir` (malloc'ed) or NULL. */
static inline uint8_t *relay_kept(relay *r, int dir, unsigned idx, size_t *len)
{
    pthread_mutex_lock(&r->mu);
    uint8_t *p = NULL;
    if (idx < 8 && r->kept[dir][idx]) {
        *len = r->kept_len[dir][idx];
        p = malloc(*len ? *len : 1);
        if (p)
            memcpy(p, r->kept[dir][idx], *len);
    }
    pthread_mutex_unlock(&r->mu);
    return p;
}

#endif
