/* Server: datagrams.  A UDP socket has a lane of its own, like a connection.
 * UDP has no connection to stop reading, so past UDP_WAIT_MAX requests
 * waiting to be served further datagrams are read and dropped (as a full
 * socket buffer would; clients retransmit) rather than queued without end
 * behind slow handlers. */
#include "svc/svc.h"

#include <errno.h>

#define UDP_WAIT_MAX 1024
#define UDP_BATCH    64

void far__svc_udp_reply(far_svc_req *r)
{
    struct msghdr mh = {
        .msg_name = &r->peer, .msg_namelen = r->peer_len, .msg_iov = r->iov, .msg_iovlen = r->niov};
    ssize_t w = sendmsg(r->udp_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w; /* UDP: a lost reply is retransmitted by the client */
}

void far__svc_udp_read(far_server *s, listener *l)
{
    static _Thread_local uint8_t buf[65536];
    far_svc_req *first = NULL, *last = NULL;
    int n = 0;
    for (;;) {
        if (atomic_load(&s->state) >= ST_STOPPING)
            break;
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        ssize_t got =
            recvfrom(l->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&peer, &plen);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        /* Too short to hold an xid (an empty datagram, say): nothing to answer. */
        if ((size_t)got < 4 || (size_t)got > s->o.max_record)
            continue;
        if (atomic_load(&s->udp_waiting) >= UDP_WAIT_MAX) {
            unsigned long k;
            if (far__ratelimit_hit(&s->udp_drops, 1000000000u, &k))
                far__log_warn("udp: %u requests waiting (the maximum): %lu datagram%s dropped",
                              UDP_WAIT_MAX, k, k == 1 ? "" : "s");
            continue;
        }
        far_svc_req *r = far__svc_req_get(s);
        if (!r)
            break;
        if (!far__svc_req_copy_in(r, buf, (size_t)got)) {
            far__svc_req_put(s, r);
            break;
        }
        r->t = FAR__UDP;
        r->udp_fd = l->fd;
        r->peer = peer;
        r->peer_len = plen;
        far__front v = far__svc_front(s, r);
        if (v != FRONT_HANDLER) {
            if (v == FRONT_REPLY && far__svc_reply_finish(s, r))
                far__svc_udp_reply(r);
            far__svc_req_put(s, r);
            continue;
        }
        r->udp_counted = true;
        atomic_fetch_add(&s->udp_waiting, 1);
        atomic_fetch_add(&s->inflight, 1);
        r->next = NULL;
        if (last)
            last->next = r;
        else
            first = r;
        last = r;
        /* Hand full batches to the other threads as we go. */
        if (++n == UDP_BATCH) {
            far__svc_queue_push(s, &l->ln, NULL, first, last, n, true);
            first = last = NULL;
            n = 0;
        }
    }
    far__svc_dispatch(s, &l->ln, NULL, first, last, n);
}
