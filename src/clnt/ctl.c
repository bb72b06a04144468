/* Client: the control program FAR_CTL (src/svc/far_ctl.x), which the
 * runtime calls by itself on a stream connection, and liveness.
 *
 * CANCEL.  A call cancelled once (part of) it was sent (far_client_cancel)
 * is named to the server in a CANCEL on the same connection, so its handler
 * is told and its reply never sent.  (A client destroyed, or its process
 * killed, closes the connection, which tells a farcall server the same.)
 *
 * STATUS: liveness, DCE's ping, RPC2's BUSY.  A connection with calls
 * outstanding from which nothing has come for a third of
 * far_client_opts.dead_after_ms (UDP: a twentieth, probe_ns) asks STATUS of
 * those calls; its answer (any
 * bytes from the server) shows the server is there.  Nothing at all for
 * dead_after_ms -- no reply, no answer to STATUS -- and the connection is
 * given up: its calls fail with FAR_EPEER_DEAD.  A call the server says it
 * does not know (UNKNOWN: it read it, since the STATUS came after it on the
 * stream, and has no reply coming) fails with FAR_EUNKNOWN_OUTCOME.  A
 * call's own deadline applies as ever.
 *
 * A server that answers FAR_CTL with PROG_UNAVAIL (a classic one) is not
 * asked again on that connection: no CANCEL, no STATUS.  The connection is
 * given up only once its server is known to be a farcall one (it answered
 * FAR_CTL on it, or the connection's FAR_CTX probe): a classic
 * server busy with a long call (libtirpc's svc_run serves one call at a
 * time) cannot answer the first STATUS, and looks dead when it is not --
 * so a classic server gets no liveness bound at all.
 *
 * These calls are calls of the client like any other (the xid table, the
 * send queue, the reader), marked `ctl`: nobody waits for them; their
 * completion is handled here, under the client's lock, where a caller's
 * would be woken.  Everything here runs with c->mu held. */
#include "clnt/clnt.h"

#include "far_ctl.h"

#include <stdio.h>

#define STATUS_MAX 64 /* xids asked about in one STATUS */

typedef struct xids_arg {
    const uint32_t *v;
    uint32_t n;
} xids_arg;

/* What a STATUS asked and was told. */
typedef struct status_res {
    uint32_t nasked, ntold;
    uint32_t xid[STATUS_MAX];
    uint32_t st[STATUS_MAX];
} status_res;

static bool encode_xids(far_xdr_enc *e, const void *v)
{
    const xids_arg *a = v;
    return far_xdr_put_count(e, a->n, FAR_CTL_MAXXIDS) && far_xdr_put_u32_array(e, a->v, a->n);
}

static bool decode_states(far_xdr_dec *d, void *v)
{
    status_res *r = v;
    uint32_t n;
    if (!far_xdr_get_count(d, &n, r->nasked, 4))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!far_xdr_get_u32(d, &r->st[i]))
            return false;
    r->ntold = n;
    return true;
}

static uint64_t dead_ns(const far_client *c)
{
    return (uint64_t)c->o.dead_after_ms * 1000000u;
}

/* How long a quiet server is left before a STATUS asks it: a third of
 * dead_after_ms on a stream (TCP loses nothing: one unanswered STATUS
 * says much), a twentieth over UDP, where a datagram and its answer are
 * both lost often on a bad path -- at 30% loss each way, 20 STATUS all
 * unanswered from a live server happens about once in 700,000. */
static uint64_t probe_ns(const far_client *c)
{
    return dead_ns(c) / (c->addr.t == FAR__UDP ? 20 : 3);
}

/* True if FAR_CTL may be sent on c's connection now. */
static bool ctl_usable(const far_client *c)
{
    return c->connected && !c->destroying && c->ctl_off_gen != c->gen;
}

/* Sends a FAR_CTL call of xids on c's connection; NULL if it could not be
 * made (out of memory, a call that does not encode). */
static call *send_ctl(far_client *c, uint32_t proc, const uint32_t *xids, uint32_t n,
                      far_xdr_decode_fn dec, void *res)
{
    call *k = far__call_get(c);
    if (!k)
        return NULL;
    k->ctl = (uint8_t)proc;
    k->async = false;
    k->cancellable = false;
    k->prog = FAR_CTL_PROG, k->vers = FAR_CTL_V1, k->proc = proc;
    k->dec = dec, k->res = res, k->arena = NULL;
    k->sem = FAR_SEM_DEFAULT; /* (FAR_CTL procedures have no effect to protect) */
    k->timeout_ms = c->o.dead_after_ms;
    k->deadline = far__now_ns() + dead_ns(c);
    xids_arg a = {xids, n};
    if (far__call_encode(c, k, encode_xids, &a) != FAR_OK) {
        far__call_unref(c, k);
        return NULL;
    }
    /* Straight onto the connection it is about (no reconnect: on another
     * connection the xids mean nothing). */
    k->gen = c->gen;
    far__tab_insert(c, k, 0);
    c->nctl++;
    if (c->addr.t == FAR__UDP) {
        /* one datagram, never sent again: the next STATUS, a third of
         * dead_after_ms later, is the retransmission */
        k->next_retry = UINT64_MAX;
        far__udp_send(c, k);
        return k;
    }
    k->wm.iov = k->iov;
    k->wm.niov = k->niov;
    k->wm.total = k->total;
    k->wm.sent = 0;
    k->in_outq = true;
    k->refs++;
    far__stream_push(&c->st, &k->wm, FAR__WMSG_SMALL);
    if (!c->st.flushing) {
        c->st.flushing = true;
        far__conn_flush_locked(c, NULL);
    } else if (c->io && !c->io_flush) {
        c->io_flush = true; /* the writer at work may have finished its batch */
        far__io_post(c);
    }
    return k;
}

void far__ctl_cancel_outstanding(far_client *c)
{
    uint32_t xids[STATUS_MAX];
    uint32_t n = 0;
    for (size_t i = 0; i < c->tabsize && n < STATUS_MAX; i++)
        for (call *k = c->tab[i]; k && n < STATUS_MAX; k = k->hnext)
            if (!k->ctl && k->gen == c->gen)
                xids[n++] = k->xid;
    far__ctl_cancel(c, c->gen, xids, n);
}

void far__ctl_cancel(far_client *c, uint64_t gen, const uint32_t *xids, uint32_t n)
{
    if (!n || gen != c->gen || !ctl_usable(c))
        return;
    if (send_ctl(c, FAR_CTL_CANCEL, xids, n, NULL, NULL))
        c->ctl_cancels_sent++;
}

static void send_status(far_client *c)
{
    status_res *r = calloc(1, sizeof *r);
    if (!r)
        return;
    for (size_t i = 0; i < c->tabsize && r->nasked < STATUS_MAX; i++)
        for (call *k = c->tab[i]; k && r->nasked < STATUS_MAX; k = k->hnext)
            if (!k->ctl && k->gen == c->gen)
                r->xid[r->nasked++] = k->xid;
    if (!r->nasked) {
        free(r);
        return;
    }
    call *k = send_ctl(c, FAR_CTL_STATUS, r->xid, r->nasked, decode_states, r);
    if (!k) {
        free(r);
        return;
    }
    c->status_k = k;
    c->status_sent_ns = far__now_ns();
    c->ctl_statuses_sent++;
}

/* What a STATUS was told, for calls still waiting on connection `gen`. */
static void status_told(far_client *c, uint64_t gen, const status_res *r)
{
    for (uint32_t i = 0; i < r->ntold; i++) {
        call *k = far__tab_find(c, r->xid[i]);
        if (!k || k->ctl || k->gen != gen || gen != c->gen)
            continue;
        const char *why = NULL;
        far_err err = FAR_OK;
        if (r->st[i] == FAR_CTL_UNKNOWN && c->addr.t == FAR__UDP) {
            /* the datagram may be lost, or its call one the server does not
             * cache (may-be, at-least-once): it is sent again as ever */
        } else if (r->st[i] == FAR_CTL_UNKNOWN) {
            err = FAR_EUNKNOWN_OUTCOME;
            why = "the server does not know the call (FAR_CTL STATUS: UNKNOWN), and no reply "
                  "came before that answer: it may or may not have run";
        } else if (r->st[i] == FAR_CTL_CANCELLED) {
            err = FAR_ECANCELED;
            why = "the server cancelled the call (FAR_CTL STATUS: CANCELLED)";
        }
        if (!why)
            continue;
        far__tab_remove(c, k);
        far__call_set_status(c, k, err, why);
        far__call_unlink_outq(c, k);
        far__call_complete(c, k);
    }
}

void far__ctl_done(far_client *c, call *k)
{
    k->done = true;
    c->nctl--;
    far_err e = k->st.err;
    if ((e == FAR_EPROG_UNAVAIL || e == FAR_EPROG_MISMATCH || e == FAR_EPROC_UNAVAIL) &&
        c->ctl_off_gen != k->gen) {
        /* a classic server: not asked again on this connection */
        c->ctl_off_gen = k->gen;
        far__log_debug("%s: the server does not serve FAR_CTL (%s): no cancel or status sent to "
                       "it, no liveness bound",
                       c->addr.text, far_strerror(e));
    }
    if (e == FAR_OK)
        c->ctl_on_gen = k->gen; /* a farcall server: its silence can mean death */
    if (k->ctl == FAR_CTL_STATUS) {
        if (c->status_k == k)
            c->status_k = NULL;
        if (e == FAR_OK) {
            c->ctl_statuses_answered++;
            status_told(c, k->gen, k->res);
        }
        free(k->res);
        k->res = NULL;
    }
    far__call_unref(c, k);
}

/* ------------------------------------------------------------ liveness */

static void live_arm(far_client *c)
{
    if (c->live_next)
        far__io_live_arm(c);
}

void far__live_note_call(far_client *c, uint64_t now)
{
    bool first = c->ncalls - c->nctl == 1;
    if (c->ctl_off_gen == c->gen || (!first && c->live_next))
        return; /* (the common case of a pipelined window: no clock read) */
    if (!now)
        now = far__now_ns();
    if (first)
        c->live_base = now; /* the first call outstanding: quiet is counted from here */
    if (!c->live_next) {
        c->live_next = now + probe_ns(c);
        live_arm(c);
    }
}

void far__live_check(far_client *c, uint64_t now)
{
    if (!c->live_next || now < c->live_next)
        return;
    c->live_next = 0;
    if (!ctl_usable(c) || c->ncalls <= c->nctl)
        return;
    uint64_t rx = atomic_load_explicit(&c->last_rx, memory_order_relaxed);
    uint64_t base = rx > c->live_base ? rx : c->live_base;
    uint64_t quiet = now > base ? now - base : 0, dead = dead_ns(c), probe = probe_ns(c);
    /* A farcall server: it answered FAR_CTL here, or the FAR_CTX probe of
     * this connection (clnt/ctx.c). */
    bool farcall = c->ctl_on_gen == c->gen || atomic_load(&c->use_ctx);
    if (quiet >= dead && farcall) {
        char why[300];
        if (c->status_k)
            snprintf(why, sizeof why,
                     "nothing from the server for %" PRIu64 " ms, and no answer to the FAR_CTL "
                     "STATUS sent %" PRIu64 " ms ago (far_client_opts.dead_after_ms is %" PRIu32
                     "): the server is dead or hung, or the path to it is cut",
                     quiet / 1000000u, (now - c->status_sent_ns) / 1000000u, c->o.dead_after_ms);
        else
            snprintf(why, sizeof why,
                     "nothing from the server for %" PRIu64
                     " ms (far_client_opts.dead_after_ms is %" PRIu32
                     "), and no FAR_CTL STATUS could be sent: the server is dead or hung, or "
                     "the path to it is cut",
                     quiet / 1000000u, c->o.dead_after_ms);
        far__log_warn("%s: %s given up: %s", c->addr.text,
                      c->addr.t == FAR__UDP ? "calls in flight" : "connection", why);
        if (c->addr.t == FAR__UDP)
            far__call_fail_all(c, 0, FAR_EPEER_DEAD, why); /* (no connection to close) */
        else
            far__conn_lost(c, c->gen, FAR_EPEER_DEAD, why);
        return;
    }
    if (c->status_k && c->addr.t == FAR__UDP && now - c->status_sent_ns >= probe) {
        /* a STATUS datagram (or its answer) lost: it goes, another is sent */
        call *sk = c->status_k;
        far__tab_remove(c, sk);
        far__call_set_status(c, sk, FAR_ETIMEDOUT, NULL);
        far__call_complete(c, sk); /* (clears status_k) */
    }
    if (quiet >= probe && !c->status_k)
        send_status(c);
    uint64_t next = now + (probe ? probe : 1000000u);
    c->live_next = next < base + dead || base + dead <= now ? next : base + dead;
    live_arm(c);
}

void far__client_ctl_stats(far_client *c, unsigned long *cancels, unsigned long *statuses,
                           unsigned long *answered)
{
    pthread_mutex_lock(&c->mu);
    if (cancels)
        *cancels = c->ctl_cancels_sent;
    if (statuses)
        *statuses = c->ctl_statuses_sent;
    if (answered)
        *answered = c->ctl_statuses_answered;
    pthread_mutex_unlock(&c->mu);
}
