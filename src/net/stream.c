/* The record-stream connection object shared by client and server: a socket,
 * its record reader, and a write queue of generic messages in two classes.
 *
 * Order on the wire.  A message that has begun to go out must be finished
 * before any other starts (a record cannot be interleaved), so a partly
 * written message goes first; then every queued small message, in order;
 * then the bulk ones.  A small message queued behind a large bulk message
 * that has not started yet therefore overtakes it; bulk data sent as a
 * sequence of chunk messages lets small calls through between chunks.
 *
 * Locking.  The owner's mutex (client or server connection) protects the
 * stream; far__stream_write drops it around the sendmsg only.  While a
 * message's iovecs are in a sendmsg it is marked `writing`, so the owner must
 * not free its memory (the client's sync caller waits for that). */
#include "net/net.h"

#include <errno.h>
#include <sys/socket.h>

#define GATHER_IOV 128 /* iovecs in one sendmsg */

void far__stream_init(far__stream *st, int fd, size_t max_record, size_t min_cap)
{
    memset(st, 0, sizeof *st);
    st->fd = fd;
    far__recrd_init(&st->rd, max_record, min_cap);
}

void far__stream_fini(far__stream *st)
{
    far__recrd_fini(&st->rd);
}

void far__stream_push(far__stream *st, far__wmsg *m, unsigned cls)
{
    m->next = NULL;
    m->cls = (uint8_t)(cls ? 1 : 0);
    m->writing = false;
    if (st->tail[m->cls])
        st->tail[m->cls]->next = m;
    else
        st->head[m->cls] = m;
    st->tail[m->cls] = m;
    st->nq++;
}

/* Unlinks m, which must be in class queue `cls` (and not writing). */
static void unlink_msg(far__stream *st, far__wmsg *m)
{
    unsigned cls = m->cls;
    far__wmsg *prev = NULL;
    for (far__wmsg *x = st->head[cls]; x; prev = x, x = x->next) {
        if (x != m)
            continue;
        if (prev)
            prev->next = m->next;
        else
            st->head[cls] = m->next;
        if (st->tail[cls] == m)
            st->tail[cls] = prev;
        m->next = NULL;
        st->nq--;
        if (st->cur == m)
            st->cur = NULL;
        return;
    }
}

bool far__stream_remove(far__stream *st, far__wmsg *m)
{
    if (m->writing || m->sent > 0 || st->cur == m)
        return false; /* on the wire already: taking it out would cut the stream */
    unlink_msg(st, m);
    return true;
}

far__wmsg *far__stream_take_all(far__stream *st)
{
    far__wmsg *all = st->head[0], **tail = &all;
    while (*tail)
        tail = &(*tail)->next;
    *tail = st->head[1];
    st->head[0] = st->head[1] = st->tail[0] = st->tail[1] = NULL;
    st->cur = NULL;
    st->nq = 0;
    return all;
}

/* The messages in send order, at most `max` of them, into out[]. */
static int send_order(far__stream *st, far__wmsg **out, int max)
{
    int n = 0;
    if (st->cur)
        out[n++] = st->cur;
    for (unsigned cls = 0; cls < 2; cls++)
        for (far__wmsg *m = st->head[cls]; m && n < max; m = m->next)
            if (m != st->cur)
                out[n++] = m;
    return n;
}

ssize_t far__stream_write(far__stream *st, pthread_mutex_t *mu, far__wmsg **done, int *err)
{
    far__wmsg *order[GATHER_IOV];
    struct iovec iov[GATHER_IOV];
    *done = NULL;
    *err = 0;
    int nm = send_order(st, order, GATHER_IOV);
    int ni = 0, used = 0;
    for (; used < nm; used++) {
        far__wmsg *m = order[used];
        if (ni + (int)m->niov > GATHER_IOV && used > 0)
            break;
        ni += far__iov_rest(iov + ni, m->iov, m->niov, m->sent);
        m->writing = true;
    }
    if (ni == 0)
        return 0;
    int fd = st->fd;
    pthread_mutex_unlock(mu);
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)ni};
    ssize_t w = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    int e = errno;
    pthread_mutex_lock(mu);
    for (int i = 0; i < used; i++)
        order[i]->writing = false;
    if (w < 0) {
        *err = e == EWOULDBLOCK ? EAGAIN : e;
        return e == EAGAIN || e == EWOULDBLOCK ? 0 : -1;
    }
    /* Retire what was written, in the order it went out. */
    far__wmsg **dt = done;
    size_t left = (size_t)w;
    for (int i = 0; i < used && left; i++) {
        far__wmsg *m = order[i];
        size_t rem = m->total - m->sent;
        if (left < rem) {
            m->sent += left;
            st->cur = m;
            break;
        }
        left -= rem;
        m->sent = m->total;
        unlink_msg(st, m);
        *dt = m;
        dt = &m->next;
    }
    return w;
}

ssize_t far__stream_recv(far__stream *st, int fd, int flags, far_err *err)
{
    uint8_t *buf;
    size_t space;
    *err = FAR_OK;
    if ((*err = far__recrd_room(&st->rd, &buf, &space)) != FAR_OK)
        return -1;
    uint8_t *dst;
    size_t dn = far__recrd_span(&st->rd, &dst);
    if (dn == 0) {
        ssize_t got = recv(fd, buf, space, flags);
        if (got > 0) {
            far__recrd_commit(&st->rd, (size_t)got);
            st->last_space = space;
        }
        return got;
    }
    /* A direct span (far__recrd_direct): its bytes straight where they
     * belong, then the rest of the record and what follows into buf. */
    struct iovec iov[2] = {{dst, dn}, {buf, space}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t got = recvmsg(fd, &mh, flags);
    if (got > 0) {
        size_t d = (size_t)got < dn ? (size_t)got : dn;
        far__recrd_span_commit(&st->rd, d);
        far__recrd_commit(&st->rd, (size_t)got - d);
        st->last_space = dn + space;
    }
    return got;
}
