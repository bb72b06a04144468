/* Client: FAR_CTX (src/msg/far_ctx.x) -- the probe each new connection
 * starts with, and what its answer makes of the connection.
 *
 * The probe is an INIT call to the NULL procedure, made on the fresh socket
 * by the thread that connected it, before any call can use it (the client
 * is still "connecting"): it carries this client's owner and the process's
 * boot epoch.  A farcall server answers SUCCESS with a FAR_CTX verifier
 * holding a context handle and its own boot epoch; a classic server denies
 * the unknown flavor (AUTH_ERROR), or answers with a verifier of its own:
 * either way it is classic, and the client remembers that for the address
 * (the probe is not paid again on that client).  A probe with no answer
 * within PROBE_NS (or the deadline) leaves the connection classic, and the
 * next connection probes again.  A stream connection that fails under the
 * probe (reset, closed) is made again (conn.c): once with the probe, then
 * once more without it -- a peer that hangs up on an unknown flavor is
 * spoken to classic rather than not at all.
 *
 * The program probed is FAR_REFLECT's (far_reflect.x), which every farcall
 * server knows; a server answers INIT for any program, and a classic one
 * looks at the flavor before the program (libtirpc's svc_getreq, the
 * kernel's svc_process), so the choice does not matter to it. */
#include "clnt/clnt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>

#define PROBE_PROG      0x20fa0b1eu   /* FAR_REFLECT_PROG */
#define PROBE_NS        2000000000ull /* a server silent this long is taken as classic */
#define PROBE_MAX_REPLY 512           /* an INIT reply is ~40 bytes */

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* 1: fd is readable; 0: `until` came first; -1: an error. */
static int wait_readable(int fd, uint64_t until)
{
    for (;;) {
        uint64_t now = far__now_ns();
        if (now >= until)
            return 0;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, (int)((until - now + 999999) / 1000000));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -1;
        if (pr > 0)
            return 1;
    }
}

/* What a reply to the probe says. */
static far__probe_res judge(const uint8_t *p, size_t n, uint32_t xid, uint64_t *handle,
                            uint64_t *boot)
{
    far_xdr_dec d;
    far_xdr_dec_init(&d, p, n, NULL, 0);
    far__reply_hdr h;
    if (far__reply_hdr_decode(&d, &h) != FAR_OK)
        return FAR__PROBE_NONE;
    if (h.xid == 0 && h.reply_stat == FAR__MSG_ACCEPTED && h.stat == FAR__ACC_SYSTEM_ERR)
        return FAR__PROBE_REFUSED; /* a farcall server at max_conns (reply.c) */
    if (h.xid != xid)
        return FAR__PROBE_NONE;
    uint8_t hb[FAR__CTX_MAX_HANDLE];
    uint32_t hl = 0;
    if (h.reply_stat == FAR__MSG_ACCEPTED && h.stat == FAR__ACC_SUCCESS &&
        far__ctx_verf_decode(&h, boot, hb, &hl) == FAR_OK && hl == 8) {
        *handle = far_xdr_load_u64(hb);
        return FAR__PROBE_CTX;
    }
    return FAR__PROBE_CLASSIC;
}

far__probe_res far__ctx_probe(far_client *c, int fd, uint64_t deadline, uint64_t *handle,
                              uint64_t *boot)
{
    bool stream = c->addr.t != FAR__UDP;
    uint8_t buf[256];
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, sizeof buf);
    uint32_t xid = (uint32_t)atomic_fetch_add(&c->next_id, 1);
    if (!xid)
        xid = (uint32_t)atomic_fetch_add(&c->next_id, 1);
    if ((stream && !far_xdr_reserve(&e, 4)) ||
        !far__call_hdr_put_fixed(&e, xid, PROBE_PROG, 1, 0) ||
        !far__ctx_put_init(&e, (const uint8_t *)c->owner, c->owner_len, far__boot_epoch()))
        return FAR__PROBE_NONE;
    size_t len = far_xdr_enc_len(&e);
    if (stream)
        far_xdr_store_u32(buf, FAR__REC_LAST | (uint32_t)(len - 4));
    uint64_t until = far__now_ns() + PROBE_NS;
    if (deadline && deadline < until)
        until = deadline;
    uint8_t in[PROBE_MAX_REPLY + 4];
    size_t have = 0;
    uint64_t retry_ns = (uint64_t)c->o.retry_ms * 1000000u;
    for (;;) {
        if (!send_all(fd, buf, len))
            return stream ? FAR__PROBE_BROKEN : FAR__PROBE_NONE;
        uint64_t wait_until =
            stream || far__now_ns() + retry_ns > until ? until : far__now_ns() + retry_ns;
        for (;;) {
            int w = wait_readable(fd, wait_until);
            if (w < 0)
                return FAR__PROBE_NONE;
            if (w == 0)
                break;
            ssize_t n = recv(fd, in + have, sizeof in - have, MSG_DONTWAIT);
            if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                continue;
            if (n <= 0) {
                far__log_debug("%s: FAR_CTX probe: %s", c->addr.text,
                               n == 0 ? "the connection closed" : "the connection failed");
                /* (UDP: nothing listens) */
                return stream ? FAR__PROBE_BROKEN : FAR__PROBE_NONE;
            }
            if (!stream) {
                far__probe_res v = judge(in, (size_t)n, xid, handle, boot);
                if (v != FAR__PROBE_NONE)
                    return v;
                continue; /* a stray datagram */
            }
            have += (size_t)n;
            if (have < 4)
                continue;
            uint32_t mark = far_xdr_load_u32(in);
            uint32_t flen = mark & ~FAR__REC_LAST;
            if (!(mark & FAR__REC_LAST) || flen > PROBE_MAX_REPLY)
                return FAR__PROBE_CLASSIC; /* not an INIT reply of ours */
            if (have < 4 + (size_t)flen)
                continue;
            if (have > 4 + (size_t)flen)
                return FAR__PROBE_CLASSIC; /* nothing else was asked */
            return judge(in + 4, flen, xid, handle, boot);
        }
        if (stream || far__now_ns() >= until) {
            far__log_debug("%s: FAR_CTX probe: no answer in time", c->addr.text);
            return FAR__PROBE_NONE;
        }
        retry_ns = retry_ns * 2 > (uint64_t)RETRY_CAP_MS * 1000000u
                       ? (uint64_t)RETRY_CAP_MS * 1000000u
                       : retry_ns * 2;
    }
}
