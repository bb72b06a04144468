/* Client: call objects, the xid table, per-call state and status text,
 * completing and failing calls.  Everything here runs with the client's
 * mutex held unless said otherwise. */
#include "clnt/clnt.h"

#include <stdio.h>
#include <time.h>

/* ------------------------------------------------------------ status text */

static const char *reason_text(const far_status *st, char *buf, size_t n)
{
    switch (st->err) {
    case FAR_EPROG_MISMATCH:
        if (st->low == st->high)
            snprintf(buf, n, "%s (server has %" PRIu32 ")", far_strerror(st->err), st->low);
        else
            snprintf(buf, n, "%s (server has %" PRIu32 "-%" PRIu32 ")", far_strerror(st->err),
                     st->low, st->high);
        return buf;
    case FAR_ERPC_MISMATCH:
        snprintf(buf, n, "%s (server speaks %" PRIu32 "-%" PRIu32 ")", far_strerror(st->err),
                 st->low, st->high);
        return buf;
    case FAR_EAUTH:
        snprintf(buf, n, "%s: %s (%s, auth_stat %d)", far_strerror(st->err),
                 far_auth_stat_text(st->auth_stat), far_auth_stat_name(st->auth_stat),
                 st->auth_stat);
        return buf;
    default:
        return far_strerror(st->err);
    }
}

static char *put_str(char *o, char *end, const char *s)
{
    while (*s && o < end)
        *o++ = *s++;
    return o;
}

static char *put_u32(char *o, char *end, uint32_t v)
{
    char t[10];
    int n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n && o < end)
        *o++ = t[--n];
    return o;
}

/* The "ADDR prog P vers V proc N: " that starts every status text, kept per
 * thread for the last client and procedure it was made for: a thread making
 * call after call to one procedure copies it instead of building it again;
 * with it the whole text of a success (ok_len bytes, its NUL included). */
static _Thread_local struct {
    uint64_t client; /* far_client.uid */
    uint32_t prog, vers, proc;
    size_t len, ok_len;
    char text[200];
    char ok[sizeof((far_status *)0)->msg];
} prefix;

/* Fills st->err and st->msg: "ADDR prog P vers V proc N: REASON[: detail]".
 * Runs for every call, successful ones too: no printf.  Needs no lock. */
void far__call_set_status(far_client *c, call *k, far_err err, const char *detail)
{
    char rb[160];
    k->st.err = err;
    const char *r = err == FAR_OK ? far_strerror(err) : reason_text(&k->st, rb, sizeof rb);
    if (prefix.client != c->uid || prefix.prog != k->prog || prefix.vers != k->vers ||
        prefix.proc != k->proc || !prefix.len) {
        char *o = prefix.text, *end = prefix.text + sizeof prefix.text - 1;
        o = put_str(o, end, c->addr.text);
        o = put_str(o, end, " prog ");
        o = put_u32(o, end, k->prog);
        o = put_str(o, end, " vers ");
        o = put_u32(o, end, k->vers);
        o = put_str(o, end, " proc ");
        o = put_u32(o, end, k->proc);
        o = put_str(o, end, ": ");
        prefix.len = (size_t)(o - prefix.text);
        prefix.client = c->uid;
        prefix.prog = k->prog, prefix.vers = k->vers, prefix.proc = k->proc;
        prefix.ok_len = 0;
    }
    if (err == FAR_OK && !detail) {
        if (!prefix.ok_len) {
            size_t n = prefix.len < sizeof prefix.ok - 1 ? prefix.len : sizeof prefix.ok - 1;
            memcpy(prefix.ok, prefix.text, n);
            char *q = put_str(prefix.ok + n, prefix.ok + sizeof prefix.ok - 1, r);
            *q = 0;
            prefix.ok_len = (size_t)(q - prefix.ok) + 1;
        }
        memcpy(k->st.msg, prefix.ok, prefix.ok_len);
        return;
    }
    memcpy(k->st.msg, prefix.text, prefix.len);
    char *o = k->st.msg + prefix.len, *end = k->st.msg + sizeof k->st.msg - 1;
    o = put_str(o, end, r);
    if (detail) {
        o = put_str(o, end, ": ");
        o = put_str(o, end, detail);
    }
    *o = 0;
}

/* ------------------------------------------------------------ call objects */

/* A new call object (no lock needed). */
static call *call_new(void)
{
    call *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    if (far_xdr_enc_init_grow(&k->enc, 512, 0) != FAR_OK) {
        free(k);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    return k;
}

/* Makes k a fresh call of client c. */
static void call_reset(far_client *c, call *k)
{
    k->cl = c;
    k->done = k->in_table = k->in_outq = k->decoding = false;
    k->ctl = 0;
    k->refs = 1;
    k->flat = NULL;
    k->wm.sent = 0;
    k->wm.writing = false;
    k->wm.kind = 0;
    k->hnext = k->cnext = k->wnext = k->wprev = NULL;
    k->deadline = k->next_retry = 0;
    k->dq = -1;
    k->dnext = k->dprev = NULL;
    k->st.err = FAR_OK;
    k->st.low = k->st.high = 0;
    k->st.auth_stat = 0;
    k->st.msg[0] = 0;
}

call *far__call_get(far_client *c)
{
    call *k = NULL;
    if (c->pool) {
        k = c->pool;
        c->pool = k->cnext;
        c->npool--;
        c->npool_big -= k->enc.cap > 65536;
    }
    if (!k && !(k = call_new()))
        return NULL;
    call_reset(c, k);
    return k;
}

/* Each thread making calls keeps one call object of its own, which it fills
 * and encodes without any client's lock; under the lock, when the call
 * starts, the client's pool gives it its next one.  (Call objects are alike
 * whichever client they were last used by.)  Freed when the thread ends: the
 * key is set once per thread, to a non-NULL mark, only so that its
 * destructor runs and frees what the thread-local slot then holds. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local call *scratch;
static _Thread_local bool scratch_keyed;

static void scratch_free(void *mark)
{
    (void)mark;
    if (scratch)
        far__call_free(scratch);
    scratch = NULL;
}

static void scratch_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

call *far__call_scratch(far_client *c)
{
    call *k = scratch;
    if (!k && !(k = call_new()))
        return NULL;
    scratch = NULL;
    call_reset(c, k);
    return k;
}

void far__call_refill_scratch(far_client *c)
{
    if (scratch || !c->pool)
        return;
    if (!scratch_keyed) {
        pthread_once(&scratch_once, scratch_init);
        if (pthread_setspecific(scratch_key, &scratch_keyed) != 0)
            return; /* (no destructor: keep none, rather than leak it) */
        scratch_keyed = true;
    }
    call *k = c->pool;
    c->pool = k->cnext;
    c->npool--;
    c->npool_big -= k->enc.cap > 65536;
    scratch = k;
}

void far__call_free(call *k)
{
    far__sec_session_unref(k->sec.sess);
    far_xdr_enc_fini(&k->enc);
    pthread_cond_destroy(&k->cv);
    free(k->flat);
    free(k);
}

/* Drops a reference.  The last one returns the call to the pool: by then no
 * writer points at it (the queue holds a reference while it does). */
void far__call_unref(far_client *c, call *k)
{
    if (--k->refs > 0)
        return;
    far__sec_session_unref(k->sec.sess); /* (its keys go with the last call) */
    k->sec.sess = NULL;
    free(k->flat);
    k->flat = NULL;
    /* A few keep a large encoder: a large call at the privacy level seals
     * its arguments into it (msg/sec.c), and a fresh megabyte per call
     * costs more in page faults than the cipher does. */
    bool big = k->enc.cap > 65536;
    if (c->npool < CALL_POOL &&
        (!big || (k->enc.cap <= CALL_BIG_MAX && c->npool_big < CALL_POOL_BIG))) {
        k->cnext = c->pool;
        c->pool = k;
        c->npool++;
        c->npool_big += big;
    } else {
        far__call_free(k);
    }
}

/* A call that will not finish writing while its caller waits (it timed out
 * or was cancelled with part of it sent): the rest of its bytes must still go
 * out, or the stream is cut, but its caller's memory (arguments sent by
 * reference) may go away.  Copies what is left into memory of its own. */
bool far__call_detach_args(far_client *c, call *k)
{
    (void)c;
    size_t left = k->wm.total - k->wm.sent;
    uint8_t *b = malloc(left ? left : 1);
    if (!b)
        return false; /* left referenced: the caller waits for the writer instead */
    struct iovec rest[8];
    int n = far__iov_rest(rest, k->iov, k->niov, k->wm.sent);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        memcpy(b + o, rest[i].iov_base, rest[i].iov_len);
        o += rest[i].iov_len;
    }
    free(k->flat);
    k->flat = b;
    k->iov[0].iov_base = b;
    k->iov[0].iov_len = left;
    k->niov = 1;
    k->wm.iov = k->iov;
    k->wm.niov = 1;
    k->wm.total = left;
    k->wm.sent = 0;
    return true;
}

/* ------------------------------------------------------------ xid table */

static size_t slot_of(far_client *c, uint32_t xid)
{
    return (xid * 2654435761u) & (c->tabsize - 1);
}

void far__tab_insert(far_client *c, call *k, uint64_t now)
{
    if (c->ncalls >= c->tabsize * 2) {
        size_t nsz = c->tabsize * 4;
        call **nt = calloc(nsz, sizeof *nt);
        if (nt) {
            size_t old = c->tabsize;
            call **ot = c->tab;
            c->tab = nt;
            c->tabsize = nsz;
            for (size_t i = 0; i < old; i++) {
                for (call *e = ot[i], *nx; e; e = nx) {
                    nx = e->hnext;
                    size_t h = slot_of(c, e->xid);
                    e->hnext = c->tab[h];
                    c->tab[h] = e;
                }
            }
            free(ot);
        }
    }
    size_t h = slot_of(c, k->xid);
    k->hnext = c->tab[h];
    c->tab[h] = k;
    k->in_table = true;
    c->ncalls++;
    if (k->prog == FAR__BULK_PROG && k->proc == FAR__BULK_PROC_PULL)
        atomic_fetch_add_explicit(&c->npull, 1, memory_order_relaxed);
    if (k->async)
        c->nasync++;
    if (!k->ctl) {
        far__live_note_call(c, now);
        if (now && k->prog != FAR__BULK_PROG)
            atomic_store_explicit(&c->small_last, now, memory_order_relaxed);
    }
}

void far__tab_remove(far_client *c, call *k)
{
    if (!k->in_table)
        return;
    for (call **pp = &c->tab[slot_of(c, k->xid)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == k) {
            *pp = k->hnext;
            break;
        }
    }
    k->in_table = false;
    k->hnext = NULL;
    c->ncalls--;
    if (k->prog == FAR__BULK_PROG && k->proc == FAR__BULK_PROC_PULL)
        atomic_fetch_sub_explicit(&c->npull, 1, memory_order_relaxed);
    if (k->async) {
        c->nasync--;
        far__io_disarm(c, k);
    }
}

call *far__tab_find(far_client *c, uint32_t xid)
{
    for (call *e = c->tab[slot_of(c, xid)]; e; e = e->hnext)
        if (e->xid == xid)
            return e;
    return NULL;
}

/* ------------------------------------------------------------ completion */

/* Marks k finished (k is out of the table).  Async completions go to the I/O
 * thread's queue: callbacks never run in the thread that started the call,
 * nor under the client's lock. */
void far__call_complete(far_client *c, call *k)
{
    if (k->ctl) {
        far__ctl_done(c, k); /* the runtime's own: nobody waits for it */
        return;
    }
    if (k->async && k->st.err == FAR_ECONNLOST && far__call_resend_async(c, k))
        return; /* sent again on a new connection (client.c) */
    far__call_complete_now(c, k);
}

void far__call_complete_now(far_client *c, call *k)
{
    k->done = true;
    if (!k->async) {
        pthread_cond_signal(&k->cv);
        return;
    }
    k->cnext = NULL;
    if (c->comp_tail)
        c->comp_tail->cnext = k;
    else
        c->comp_head = k;
    c->comp_tail = k;
    far__io_post(c);
}

/* Takes k out of the send queue (it must not be partly written). */
void far__call_unlink_outq(far_client *c, call *k)
{
    if (!k->in_outq || !far__stream_remove(&c->st, &k->wm))
        return;
    k->in_outq = false;
    far__call_unref(c, k);
}

/* Fails every call sent on connection `gen` (or all with gen 0). */
/* A call this big that loses its connection may have been over the server's
 * limit; its status says so. */
#define BIG_CALL (64u * 1024)

void far__call_fail_all(far_client *c, uint64_t gen, far_err err, const char *why)
{
    for (size_t i = 0; i < c->tabsize; i++) {
        for (call *k = c->tab[i], *nx; k; k = nx) {
            nx = k->hnext;
            if (gen && k->gen != gen)
                continue;
            far__tab_remove(c, k);
            char hint[300];
            if (err == FAR_ECONNLOST && k->total > BIG_CALL) {
                /* The likeliest reason: a server's limit on requests. */
                snprintf(hint, sizeof hint,
                         "%s (this call is %zu bytes: a server closes the connection on a "
                         "request over its limit -- far_server_opts.max_record, 1 MiB by "
                         "default -- and logs it)",
                         why ? why : "", k->total);
                far__call_set_status(c, k, err, hint);
            } else {
                far__call_set_status(c, k, err, why);
            }
            far__call_complete(c, k);
        }
    }
}
