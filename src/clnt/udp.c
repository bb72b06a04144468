/* Client: datagrams.  A call is one datagram, retransmitted with the same
 * xid (first after retry_ms, doubling up to RETRY_CAP_MS) until its reply
 * comes or its deadline passes.  Calls too large for a datagram fail at once
 * (client.c). */
#include "clnt/clnt.h"

#include <errno.h>
#include <sys/socket.h>

void far__udp_send(far_client *c, call *k)
{
    struct msghdr mh = {.msg_iov = k->iov, .msg_iovlen = k->niov};
    ssize_t w = sendmsg(c->st.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w; /* a lost datagram is retransmitted */
}

/* Retransmits k if its time has come (c->mu held), same xid, doubling the
 * interval. */
void far__udp_maybe_retry(far_client *c, call *k, uint64_t now)
{
    if (c->addr.t != FAR__UDP || !k->in_table || now < k->next_retry || !c->connected)
        return;
    far__udp_send(c, k);
    k->retry_ms = k->retry_ms * 2 > RETRY_CAP_MS ? RETRY_CAP_MS : k->retry_ms * 2;
    k->next_retry = now + (uint64_t)k->retry_ms * 1000000u;
}

/* Reads one datagram (the reader token is held) and hands it over. */
bool far__udp_read_once(far_client *c, int fd, int flags)
{
    ssize_t got = recv(fd, c->ubuf, UDP_MAX, flags);
    if (got > 0) {
        /* anything from the server shows it is there (liveness, ctl.c) */
        atomic_store_explicit(&c->last_rx, far__now_ns(), memory_order_relaxed);
        far__udp_handle(c, c->ubuf, (size_t)got);
        return true;
    }
    if (got < 0 && errno == ECONNREFUSED) {
        pthread_mutex_lock(&c->mu);
        far__call_fail_all(c, 0, FAR_ECONNREFUSED, "ICMP port unreachable");
        pthread_mutex_unlock(&c->mu);
    }
    return false;
}
