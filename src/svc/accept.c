/* Server: accepting connections -- running out of descriptors, and refusing
 * connections past max_conns in a way the client can tell from a crash. */
#include "svc/svc.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static void accept_some(far_server *s, listener *l);

/* One thread accepts on a listener at a time (so the reserve descriptor
 * cannot be taken by a concurrent accept); an edge that finds it busy asks it
 * to go round again. */
void far__svc_accept_all(far_server *s, listener *l)
{
    pthread_mutex_lock(&s->mu);
    if (l->accepting) {
        l->again = true;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    l->accepting = true;
    do {
        l->again = false;
        pthread_mutex_unlock(&s->mu);
        accept_some(s, l);
        pthread_mutex_lock(&s->mu);
    } while (l->again);
    l->accepting = false;
    pthread_mutex_unlock(&s->mu);
}

/* A connection past max_conns.  Closing it outright looks to the client like
 * a crash ("connection lost"), so it is told first: one reply record, xid 0
 * (farcall clients never use xid 0), SYSTEM_ERR -- a farcall client fails its
 * calls with FAR_ETOOMANY; a classic client skips a reply whose xid it does
 * not know and then sees the connection close, as before.  What the client
 * already sent is read and thrown away so that the close is a FIN, not a
 * reset that could destroy the record before the client reads it. */
static void refuse_conn(far_server *s, int fd)
{
    uint8_t rec[4 + 24];
    far_xdr_enc e;
    far_xdr_enc_init(&e, rec + 4, sizeof rec - 4);
    if (far__reply_accepted_encode(&e, 0, FAR__ACC_SYSTEM_ERR, 0, 0)) {
        far_xdr_store_u32(rec, FAR__REC_LAST | (uint32_t)e.pos);
        ssize_t w = send(fd, rec, 4 + e.pos, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)w; /* a fresh socket's buffer takes 28 bytes */
    }
    shutdown(fd, SHUT_WR);
    uint8_t junk[4096];
    for (int i = 0; i < 16 && recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0; i++) {
    }
    close(fd);
    unsigned long n;
    if (far__ratelimit_hit(&s->refusals, 1000000000u, &n))
        far__log_warn("accept: at max_conns (%u connections): %lu connection%s refused",
                      s->o.max_conns, n, n == 1 ? "" : "s");
}

/* Out of descriptors: accept with the reserve and close at once, so the
 * backlog drains instead of waking us forever (CVE-2018-14621).  False when
 * the listener must wait (the sweep timer retries it). */
static bool shed_one(far_server *s, listener *l)
{
    pthread_mutex_lock(&s->mu);
    uint64_t now = far__now_ns();
    if (now - s->last_emfile_log > 1000000000u) {
        s->last_emfile_log = now;
        far__log_warn("accept: out of file descriptors; refusing connections");
    }
    if (s->reserve_fd < 0)
        s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->reserve_fd < 0) {
        l->starved = true;
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    close(s->reserve_fd);
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->reserve_fd < 0)
        l->starved = true;
    pthread_mutex_unlock(&s->mu);
    return fd >= 0;
}

static void accept_some(far_server *s, listener *l)
{
    for (;;) {
        if (atomic_load(&s->state) >= ST_STOPPING)
            return;
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && shed_one(s, l))
                continue;
            return; /* EAGAIN, or an error the next edge retries */
        }
        /* Made in full before anyone else can see it: the idle sweep and
         * event handlers find it only once it is in the slot table. */
        conn *c = far__svc_conn_new(s, fd, l->t, (struct sockaddr *)&peer, plen, l->bound);
        if (!c) {
            close(fd);
            continue;
        }
        atomic_fetch_add(&c->refs, 1); /* the slot's; ours until registered */
        pthread_mutex_lock(&s->slots_mu);
        if (s->nconns >= s->o.max_conns || s->nfree == 0) {
            pthread_mutex_unlock(&s->slots_mu);
            c->st.fd = -1; /* refuse_conn closes it */
            atomic_store(&c->refs, 1);
            far__svc_conn_put(c);
            refuse_conn(s, fd);
            continue;
        }
        c->idx = s->free_idx[--s->nfree];
        c->gen = s->slots[c->idx].gen;
        s->slots[c->idx].c = c;
        s->nconns++;
        pthread_mutex_unlock(&s->slots_mu);
        if (far__loop_add(&s->loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                          EV_MAKE(TAG_CONN, c->gen, c->idx)) != 0)
            far__svc_conn_kill(c, "epoll_ctl failed");
        far__svc_conn_put(c);
    }
}
