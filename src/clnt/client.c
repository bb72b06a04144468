/* Client: the public API and the lifecycle -- open (dynamic addresses through
 * the resolver hook), destroy, synchronous and asynchronous calls, cancel.
 * See clnt.h for the other files. */
#include "clnt/clnt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define UDP_MAX_PAYLOAD4 65507 /* the largest datagram over IPv4: 65535 - 20 - 8 */
#define UDP_MAX_PAYLOAD6 65527 /* over IPv6: 65535 - 8 */

static uint64_t deadline_after(uint32_t ms)
{
    return far__now_ns() + (uint64_t)ms * 1000000u;
}

/* A call made while the thread serves one (a handler calling another
 * server) waits no longer than that call's own caller: the shorter of
 * `ms` and the time it has left (far__inherit_deadline_get; at least 1 ms,
 * so a call whose time is up fails at once). */
static uint32_t inherit(uint32_t ms)
{
    uint64_t d = far__inherit_deadline_get();
    if (!d)
        return ms;
    uint64_t now = far__now_ns();
    uint64_t left = d > now ? (d - now) / 1000000u : 0;
    return left < ms ? (left ? (uint32_t)left : 1) : ms;
}

/* ------------------------------------------------------------ lifecycle */

FAR__API far_err far_client_open(far_client **out, const char *addr, const far_client_opts *opts)
{
    if (!out || !addr)
        return FAR_EMISUSE;
    *out = NULL;
    /* several instances behind one name: a balanced client (lb.c) */
    const far__source *sources = far__source_get();
    if (sources && sources->is_multi(addr))
        return far__lb_open(out, addr, opts, sources);
    const far__resolver *resolver = far__resolver_get();
    const char *spec = addr;
    char dyn[256];
    if (resolver->is_dynamic(addr)) {
        far_err brc = resolver->resolve(addr, dyn, sizeof dyn);
        if (brc != FAR_OK)
            return brc;
        addr = dyn;
    }
    far_client *c = calloc(1, sizeof *c);
    if (!c)
        return FAR_ENOMEM;
    char why[256];
    far_err rc = far__addr_parse(addr, &c->addr, why, sizeof why);
    if (rc != FAR_OK) {
        far__set_last_error("%s", why);
        free(c);
        return rc;
    }
    static atomic_uint_fast64_t uids;
    c->uid = atomic_fetch_add(&uids, 1) + 1;
    snprintf(c->spec, sizeof c->spec, "%s", spec);
    c->resolver = resolver;
    c->conn_addr = c->addr;
    c->resolve_backoff_ms = RESOLVE_BACKOFF_MIN_MS;
    if (spec != addr) {
        /* Named by what it was opened on: the address it resolves to may
         * change (see far__conn_ensure). */
        c->dynamic = true;
        snprintf(c->addr.text, sizeof c->addr.text, "%s", spec);
    }
    if (opts)
        c->o = *opts;
    if (!c->o.timeout_ms)
        c->o.timeout_ms = 25000;
    if (!c->o.max_record)
        c->o.max_record = 64u << 20;
    if (!c->o.max_list)
        c->o.max_list = FAR_XDR_DEFAULT_MAX_CHAIN;
    if (!c->o.retry_ms)
        c->o.retry_ms = 500;
    if (!c->o.dead_after_ms)
        c->o.dead_after_ms = 10000;
    if (far__cauth_init(&c->auth, c->o.auth_sys, c->o.cred) != FAR_OK) {
        far__set_last_error("%s: AUTH_SYS credentials exceed the RFC 5531 limits", addr);
        free(c);
        return FAR_ELIMIT;
    }
    c->o.cred = NULL;
    /* FAR_CTX (ctx.c): the flavor around the classic one, unless it may not
     * be used or its inner credential would not fit */
    if (c->o.owner && strlen(c->o.owner) > FAR__CTX_MAX_OWNER) {
        far__set_last_error("%s: far_client_opts.owner is longer than %d bytes", addr,
                            FAR__CTX_MAX_OWNER);
        free(c);
        return FAR_ELIMIT;
    }
    if (c->o.owner)
        snprintf(c->owner, sizeof c->owner, "%s", c->o.owner);
    else
        snprintf(c->owner, sizeof c->owner, "farcall:%016" PRIx64 ":%ld", far__boot_epoch(),
                 (long)getpid());
    c->owner_len = (uint32_t)strlen(c->owner);
    c->o.owner = NULL;
    c->auth_ctx = c->auth;
    c->classic = c->o.no_ctx || !far__cauth_make_ctx(&c->auth_ctx, &c->ctx);
    /* A security level (docs/security.md): FAR_CTX with a handshake */
    if (c->o.security != FAR_SEC_NONE) {
        const char *bad =
            (unsigned)c->o.security > FAR_SEC_PRIV     ? "is not a level"
            : !c->o.identity || !c->o.identity[0]      ? "needs far_client_opts.identity"
            : strlen(c->o.identity) > FAR_MAX_IDENTITY ? "needs an identity of at most 64 bytes"
            : !c->o.key  ? "needs far_client_opts.key (32 bytes; far_key_load)"
            : c->classic ? (c->o.no_ctx ? "cannot be had with no_ctx"
                                        : "cannot be had: the AUTH_SYS credential is too large")
                         : NULL;
        if (bad) {
            far__set_last_error("%s: far_client_opts.security %s %s", addr,
                                far_security_name(c->o.security), bad);
            free(c);
            return FAR_EMISUSE;
        }
        c->sec_level = (uint32_t)c->o.security;
        snprintf(c->identity, sizeof c->identity, "%s", c->o.identity);
        c->identity_len = (uint32_t)strlen(c->identity);
        memcpy(c->psk, c->o.key, sizeof c->psk);
        c->auth_sec = c->auth_ctx;
        c->auth_sec.ops = &far__auth_sec;
    }
    c->o.identity = NULL;
    c->o.key = NULL;
    pthread_mutex_init(&c->sess_mu, NULL);
    if (c->classic && c->o.require_ctx) {
        far__set_last_error("%s: far_client_opts.require_ctx, but %s", addr,
                            c->o.no_ctx ? "no_ctx is set too"
                                        : "the AUTH_SYS credential is too large to fit in "
                                          "a FAR_CTX credential");
        free(c);
        return FAR_EUNSUPPORTED;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    far__stream_init(&c->st, -1, c->o.max_record, 16384);
    c->dead_fd = c->wakefd = -1;
    c->tabsize = 256;
    c->tab = calloc(c->tabsize, sizeof *c->tab);
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
        seed = far__now_ns() ^ ((uint64_t)getpid() << 32);
    atomic_init(&c->next_id, seed);
    if (c->addr.t == FAR__UDP)
        c->ubuf = malloc(UDP_MAX);
    if (!c->tab || (c->addr.t == FAR__UDP && !c->ubuf)) {
        far__client_free(c);
        return FAR_ENOMEM;
    }
    pthread_mutex_lock(&c->mu);
    rc = far__conn_ensure(c, deadline_after(c->o.timeout_ms));
    pthread_mutex_unlock(&c->mu);
    /* (a server at its connection limit is a call's error: the connection
     * was made, and the next call tries again) */
    if (rc != FAR_OK && rc != FAR_ETOOMANY) {
        far__client_free(c);
        return rc;
    }
    *out = c;
    return FAR_OK;
}

void far__client_free(far_client *c)
{
    for (far__wmsg *m = far__stream_take_all(&c->st), *nx; m; m = nx) {
        nx = m->next;
        call *k = FAR__CONTAINER_OF(m, call, wm);
        k->in_outq = false;
        far__call_unref(c, k);
    }
    if (c->st.fd >= 0)
        close(c->st.fd);
    if (c->dead_fd >= 0)
        close(c->dead_fd);
    if (c->wakefd >= 0)
        close(c->wakefd);
    while (c->pool) {
        call *k = c->pool;
        c->pool = k->cnext;
        far__call_free(k);
    }
    far__stream_fini(&c->st);
    free(c->ubuf);
    free(c->tab);
    far__sec_session_unref(c->sess);
    pthread_mutex_destroy(&c->sess_mu);
    far__wipe(c->psk, sizeof c->psk);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

/* Fails every call with FAR_ECANCELED and wakes every waiter (c->mu held). */
static void cancel_everything(far_client *c)
{
    /* A stream's close tells the server; over UDP a CANCEL of the calls
     * outstanding does (one datagram, best effort). */
    if (c->addr.t == FAR__UDP && !c->destroying)
        far__ctl_cancel_outstanding(c);
    c->destroying = true;
    far__call_fail_all(c, 0, FAR_ECANCELED, "client destroyed");
    far__call_resend_cancel_all(c, FAR_ECANCELED, "client destroyed");
    if (c->st.fd >= 0)
        shutdown(c->st.fd, SHUT_RDWR);
    for (call *k = c->w_head; k; k = k->wnext)
        pthread_cond_signal(&k->cv);
    pthread_cond_broadcast(&c->cv);
}

void far__client_cancel_all(far_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    cancel_everything(c);
    pthread_mutex_unlock(&c->mu);
}

void far__client_destroy_now(far_client *c)
{
    pthread_mutex_lock(&c->mu);
    cancel_everything(c);
    while (c->active > 0 || atomic_load(&c->preparing) > 0 || c->reading || c->st.flushing ||
           c->connecting || c->resender_on)
        pthread_cond_wait(&c->cv, &c->mu);
    far__direct_release(c, FAR_ECANCELED, "client destroyed");
    pthread_mutex_unlock(&c->mu);
    far__io_detach(c); /* the callbacks still due run before this returns */
    far__client_free(c);
}

FAR__API void far_client_destroy(far_client *c)
{
    if (!c)
        return;
    if (c->lb) { /* a balanced client: the balancer ends it, c with it (lb.c) */
        far__lb_destroy(c->lb);
        return;
    }
    if (far__io_on_thread()) {
        /* From a callback (this client's or another's): the calls are
         * cancelled now, the client goes once every callback of this round
         * has returned. */
        pthread_mutex_lock(&c->mu);
        bool again = c->destroy_deferred;
        c->destroy_deferred = true;
        if (!again)
            cancel_everything(c);
        pthread_mutex_unlock(&c->mu);
        if (!again)
            far__io_doom(c);
        return;
    }
    far__client_destroy_now(c);
}

/* ------------------------------------------------------------ calls */

/* Encodes call k (no lock: everything it reads of c is fixed once c is
 * open).  FAR_OK, or the encoder's error with k's status filled. */
static far_err prepare(far_client *c, call *k, far_xdr_encode_fn enc, const void *args,
                       uint64_t now)
{
    uint64_t id = atomic_fetch_add(&c->next_id, 1);
    if ((uint32_t)id == 0)
        id = atomic_fetch_add(&c->next_id, 1); /* xid 0 is a server's refusal (conn.c) */
    k->id = id;
    k->xid = (uint32_t)id;
    bool stream = c->addr.t != FAR__UDP;
    far_xdr_enc *e = &k->enc;
    far_xdr_enc_reset(e);
    /* Async calls copy their arguments (they may be freed once we return);
     * sync calls send large opaques by reference. */
    far_xdr_enc_set_ref_min(e, k->async ? 0 : REF_MIN);
    /* FAR_CTX once the probe said so (ctx.c); the handle is where
     * start() can put a newer one */
    bool ctx = atomic_load(&c->use_ctx);
    const far__cauth *a = ctx ? &c->auth_ctx : &c->auth;
    /* A protected call is sealed for the session of the connection now
     * (a reference it keeps until its reply is read); nothing by reference
     * but at the privacy level, which seals large opaques straight from
     * the caller's memory (msg/sec.c: seal_priv_refs) */
    far__sec_session_unref(k->sec.sess);
    k->sec.sess = NULL;
    if (c->sec_level) {
        if (!ctx || !(k->sec.sess = far__client_session(c))) {
            far__call_set_status(c, k, FAR_ECONNLOST,
                                 "no protected connection to seal the call for (far_client_opts."
                                 "security)");
            return FAR_ECONNLOST;
        }
        a = &c->auth_sec;
        if (c->sec_level != FAR_SEC_PRIV)
            far_xdr_enc_set_ref_min(e, 0);
    }
    /* the time left goes in FAR_CTX only; a fresh call was given the clock
     * its deadline was set from (one read of it per call, not two) */
    if (ctx && !now)
        now = far__now_ns();
    far__call_meta meta = {k->deadline > now ? (k->deadline - now) / 1000u : 1,
                           k->sem == FAR_SEM_MAYBE           ? FAR__CTX_MAYBE
                           : k->sem == FAR_SEM_AT_LEAST_ONCE ? FAR__CTX_IDEMPOTENT
                           : k->sem == FAR_SEM_EXACTLY_ONCE  ? FAR__CTX_EXACTLY_ONCE
                           : k->sem == FAR_SEM_AT_MOST_ONCE  ? FAR__CTX_AT_MOST_ONCE
                                                             : 0}; /* 0: the procedure's */
    if (k->sem == FAR_SEM_EXACTLY_ONCE) {
        meta.key = k->key; /* the same in every send of the call */
        meta.key_len = sizeof k->key;
    }
    meta.sec = k->sec.sess ? &k->sec : NULL;
    k->auth = a;
    k->handle_off = 0;
    size_t handle_off = 24 + 20; /* the fixed header; flavor .. the handle's length */
    if ((stream && !far_xdr_reserve(e, 4)) ||
        !far__call_hdr_put_fixed(e, k->xid, k->prog, k->vers, k->proc) ||
        !a->ops->put_cred_verf(a, e, k->xid, &meta)) {
        far__call_set_status(c, k, FAR_ENOMEM, "the call header does not encode");
        return FAR_ENOMEM;
    }
    k->args_off = far_xdr_enc_len(e);
    if ((enc && !enc(e, args)) ||
        (a->ops->wrap_args && !a->ops->wrap_args(a, e, k->args_off, &k->sec))) {
        char why[200], detail[240];
        if (e->err.offset >= k->args_off)
            e->err.offset -= k->args_off; /* counted from the start of the arguments */
        far_err rc = e->err.code ? e->err.code : FAR_EMISUSE;
        snprintf(detail, sizeof detail, "the arguments do not encode: %s",
                 far_xdr_enc_strerror(e, why, sizeof why));
        far__call_set_status(c, k, rc, detail);
        return rc;
    }
    far_err rc = far__msg_prepare(e, k->iov, &k->niov, &k->total, &k->flat, stream, c->frag);
    if (rc != FAR_OK) {
        far__call_set_status(c, k, rc, NULL);
        return rc;
    }
    if (a == &c->auth_ctx) { /* (not a protected call: its handle is sealed) */
        handle_off += stream ? 4 : 0;
        if (!c->frag && k->niov && k->iov[0].iov_len >= handle_off + 8) {
            k->handle_off = handle_off;
            k->handle = far_xdr_load_u64((const uint8_t *)k->iov[0].iov_base + handle_off);
            k->srv_boot = atomic_load(&c->srv_boot); /* (start() looks again) */
        }
    }
    if (!stream) {
        /* (the IPv4 bound for a dynamic client, whose address may change) */
        size_t max =
            c->addr.ss.ss_family == AF_INET6 && !c->dynamic ? UDP_MAX_PAYLOAD6 : UDP_MAX_PAYLOAD4;
        if (k->total > max) {
            char detail[160];
            snprintf(detail, sizeof detail,
                     "a call of %zu bytes does not fit in a UDP datagram (at most %zu): use TCP",
                     k->total, max);
            far__call_set_status(c, k, FAR_ELIMIT, detail);
            return FAR_ELIMIT;
        }
    }
    return FAR_OK;
}

/* True if exactly-once call k can be made on c's connection (c->mu held):
 * it was encoded with FAR_CTX, which carries its idempotency key, and the
 * server answers FAR_CTX (the server says if it has no reply store). */
static bool exactly_once_ok(far_client *c, const call *k)
{
    return atomic_load(&c->use_ctx) && (k->auth == &c->auth_ctx || k->auth == &c->auth_sec);
}

/* An exactly-once call's idempotency key: 16 random bytes, unique whatever
 * the client's name and however often its process restarts. */
static void new_key(far_client *c, call *k)
{
    if (atomic_exchange(&c->has_next_key, false)) {
        memcpy(k->key, c->next_key, sizeof k->key); /* (a test's) */
        return;
    }
    if (getrandom(k->key, sizeof k->key, GRND_NONBLOCK) != (ssize_t)sizeof k->key) {
        uint64_t a = far__boot_epoch() ^ c->uid, b = far__now_ns() ^ atomic_load(&c->next_id);
        memcpy(k->key, &a, 8);
        memcpy(k->key + 8, &b, 8);
    }
}

static far_err start(far_client *c, call *k, uint64_t *now);

/* True if at-most-once call k, whose connection was lost, may be sent again
 * (c->mu held): a FAR_CTX call on a stream, connected again to the server
 * life it was sent to (after_loss). */
static bool resend_at_most_once(far_client *c, const call *k)
{
    return (k->sem == FAR_SEM_DEFAULT || k->sem == FAR_SEM_AT_MOST_ONCE) && k->handle_off &&
           c->addr.t != FAR__UDP && c->connected && atomic_load(&c->use_ctx) &&
           atomic_load(&c->srv_boot) == k->srv_boot;
}

/* Sends exactly-once or at-least-once call k again after its connection
 * went (c->mu held), the same bytes -- the same idempotency key -- on the
 * connection made again: the server answers an exactly-once one from its
 * reply store if it ran. */
static far_err resend(far_client *c, call *k)
{
    if (k->in_table || k->in_outq)
        return k->st.err; /* (not finished with the last send: leave it) */
    k->done = false;
    k->st.err = FAR_OK;
    k->st.msg[0] = 0;
    far_err rc = start(c, k, NULL);
    if (rc != FAR_OK)
        return rc;
    if (c->addr.t != FAR__UDP && !c->st.flushing) {
        c->st.flushing = true;
        far__conn_flush_locked(c, k);
    }
    far__conn_wait_sync(c, k, 0);
    return k->st.err;
}

/* ------------------------------------------------------------ async calls sent again */

/* An async call whose connection was lost is sent again, as a sync one is
 * (far_client_call), when its semantics allow it: exactly-once (with its
 * key) and at-least-once calls, and at-most-once FAR_CTX calls over a
 * stream as long as the server is the same life (its duplicate request
 * cache knows the call by this client's context).  Connecting again may
 * take until the call's deadline, so it is not done by the I/O thread
 * (which serves every client of the process) but by a thread of this
 * client's, started when the first such call waits and gone when none is
 * left.  Its callback runs, as for every async call, on the I/O thread. */
#define RESEND_MAX 100 /* sends of one call after its first */

static bool may_resend(const far_client *c, const call *k)
{
    /* (a protected call is sealed for its connection's session, and an
     * async one's arguments are gone: it cannot be sealed again; a balanced
     * client's instance leaves it to the balancer, which sends it to another
     * instance, clnt/lb.c) */
    if (c->destroying || c->destroy_deferred || c->addr.t == FAR__UDP || k->ctl || k->sec.sess ||
        c->lb_member || k->resends >= RESEND_MAX || far__now_ns() >= k->deadline)
        return false;
    return k->sem == FAR_SEM_EXACTLY_ONCE || k->sem == FAR_SEM_AT_LEAST_ONCE ||
           ((k->sem == FAR_SEM_DEFAULT || k->sem == FAR_SEM_AT_MOST_ONCE) && k->handle_off);
}

static far_err after_loss(far_client *c, call *k);

static void *resender_main(void *arg)
{
    far_client *c = arg;
    pthread_mutex_lock(&c->mu);
    call *k;
    while ((k = c->resend_head) != NULL) {
        c->resend_head = k->cnext;
        if (!c->resend_head)
            c->resend_tail = NULL;
        k->cnext = NULL;
        /* a writer still holding part of its last send lets go first */
        struct timespec ts = {0, 5 * 1000000};
        for (int i = 0; i < 2000 && k->in_outq && !c->destroying && far__now_ns() < k->deadline;
             i++) {
            pthread_mutex_unlock(&c->mu);
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&c->mu);
        }
        far_err rc = k->st.err;
        if (!c->destroying && !k->in_outq && may_resend(c, k)) {
            if (k->handle_off)
                rc = after_loss(c, k); /* connects; the server's boot decides */
            bool again = ((k->sem == FAR_SEM_EXACTLY_ONCE || k->sem == FAR_SEM_AT_LEAST_ONCE) &&
                          (rc == FAR_ECONNLOST || rc == FAR_EUNKNOWN_OUTCOME)) ||
                         (rc == FAR_ECONNLOST && resend_at_most_once(c, k));
            if (again && may_resend(c, k)) {
                far__log_debug("%s: xid %08" PRIx32 ": async call sent again after its "
                               "connection was lost",
                               c->addr.text, k->xid);
                k->resends++;
                k->done = false;
                k->st.err = FAR_OK;
                k->st.msg[0] = 0;
                rc = start(c, k, NULL);
                if (rc == FAR_OK) {
                    far__io_arm(c, k);
                    bool post = false;
                    if (!c->io_flush && !c->st.flushing) {
                        c->io_flush = true;
                        post = true;
                    }
                    pthread_mutex_unlock(&c->mu);
                    if (post)
                        far__io_post(c);
                    pthread_mutex_lock(&c->mu);
                    continue; /* its reply (or a new loss) ends it */
                }
            }
        }
        if (c->destroying && (k->st.err == FAR_OK || k->st.err == FAR_ECONNLOST))
            far__call_set_status(c, k, FAR_ECANCELED, "client destroyed");
        far__call_complete_now(c, k);
    }
    c->resender_on = false;
    pthread_cond_broadcast(&c->cv); /* a destroy waits for this thread */
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

bool far__call_resend_async(far_client *c, call *k)
{
    if (!may_resend(c, k))
        return false;
    if (!c->resender_on) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int e = pthread_create(&t, &at, resender_main, c);
        pthread_attr_destroy(&at);
        if (e != 0)
            return false; /* no thread: it ends with its FAR_ECONNLOST */
        c->resender_on = true;
    }
    k->cnext = NULL;
    if (c->resend_tail)
        c->resend_tail->cnext = k;
    else
        c->resend_head = k;
    c->resend_tail = k;
    return true;
}

void far__call_resend_cancel_all(far_client *c, far_err err, const char *why)
{
    call *k = c->resend_head;
    c->resend_head = c->resend_tail = NULL;
    while (k) {
        call *nx = k->cnext;
        far__call_set_status(c, k, err, why);
        far__call_complete_now(c, k);
        k = nx;
    }
}

/* Sends (or queues) the encoded call k (c->mu held).  FAR_OK: k is in the
 * table and sent or queued.  *now (NULL, or 0: not known) is the time the
 * call was made, used instead of reading the clock again; set to 0 if
 * connecting made it stale. */
static far_err start(far_client *c, call *k, uint64_t *now)
{
    uint64_t t = now ? *now : 0;
    far__conn_check_idle(c, t);
    bool was_connected = c->connected;
    far_err rc = far__conn_ensure(c, k->deadline);
    if (!was_connected && now)
        t = *now = 0; /* (connecting took its time) */
    if (rc != FAR_OK) {
        far__call_set_status(c, k, rc,
                             rc == FAR_ETIMEDOUT      ? "no connection before the deadline"
                             : rc == FAR_ETOOMANY     ? "the server refused the connection (it is "
                                                        "at its connection limit)"
                             : rc == FAR_EUNSUPPORTED ? far_last_error()
                                                      : NULL);
        return rc;
    }
    if (k->sem == FAR_SEM_EXACTLY_ONCE && !exactly_once_ok(c, k)) {
        far__call_set_status(c, k, FAR_EUNSUPPORTED,
                             "exactly-once needs a farcall server with a reply store "
                             "(far_server_set_reply_store): this peer cannot be asked for it");
        return FAR_EUNSUPPORTED;
    }
    if (k->sec.sess && k->sec.sess != c->sess) {
        /* Sealed for the session of a connection that is gone (the
         * connection was made again, with a new handshake): sealed again
         * for this one -- a new xid and seq, under the lock, as this is
         * rare -- while its caller's arguments are still there. */
        if (!k->enc_args && k->enc_fn) {
            far__call_set_status(c, k, FAR_ECONNLOST,
                                 "the connection was made again (a new handshake) after the "
                                 "call was sealed: it was not sent");
            return FAR_ECONNLOST;
        }
        free(k->flat);
        k->flat = NULL;
        rc = prepare(c, k, k->enc_fn, k->enc_args, 0);
        if (rc != FAR_OK)
            return rc;
        if (k->sec.sess != c->sess) {
            far__call_set_status(c, k, FAR_ECONNLOST, "no protected connection");
            return FAR_ECONNLOST;
        }
    }
    k->gen = c->gen;
    if (k->handle_off) {
        /* encoded before a reconnect: the context of this connection */
        uint64_t h = atomic_load(&c->ctx.handle);
        if (h != k->handle)
            far_xdr_store_u64((uint8_t *)k->iov[0].iov_base + k->handle_off, h);
        k->handle = h;
        k->srv_boot = atomic_load(&c->srv_boot);
    }
    far__tab_insert(c, k, t);
    if (c->addr.t == FAR__UDP) {
        k->retry_ms = c->o.retry_ms;
        /* a may-be call is sent once: never retransmitted */
        k->next_retry = k->sem == FAR_SEM_MAYBE ? UINT64_MAX : deadline_after(k->retry_ms);
        far__udp_send(c, k);
        return FAR_OK;
    }
    k->wm.iov = k->iov;
    k->wm.niov = k->niov;
    k->wm.total = k->total;
    k->wm.sent = 0;
    k->in_outq = true;
    k->refs++;
    /* a bulk transfer's chunk of data lets small calls overtake it */
    far__stream_push(&c->st, &k->wm,
                     k->prog == FAR__BULK_PROG && k->proc == FAR__BULK_PROC_PUSH ? FAR__WMSG_BULK
                                                                                 : FAR__WMSG_SMALL);
    return FAR_OK;
}

bool far__client_is_stream(const far_client *c)
{
    return c->addr.t != FAR__UDP;
}

uint64_t far__client_small_last(const far_client *c)
{
    return atomic_load_explicit(&c->small_last, memory_order_relaxed);
}

/* A FAR_CTX call whose connection went while it was in flight (c->mu
 * held): once a connection is made again (within the call's deadline), the
 * server's boot tells whether it restarted -- then the call may or may not
 * have run, and says so (FAR_EUNKNOWN_OUTCOME) rather than be sent again. */
static far_err after_loss(far_client *c, call *k)
{
    for (int i = 0; i < 500 && far__now_ns() < k->deadline; i++) {
        far_err rc = far__conn_ensure(c, k->deadline);
        far__log_debug("%s: xid %08" PRIx32 ": connection lost in flight; connecting again: %s%s",
                       c->addr.text, k->xid, far_strerror(rc),
                       rc == FAR_OK && !atomic_load(&c->use_ctx) ? " (no FAR_CTX)" : "");
        if (rc == FAR_OK) {
            if (atomic_load(&c->use_ctx) && atomic_load(&c->srv_boot) != k->srv_boot)
                far__call_set_status(c, k, FAR_EUNKNOWN_OUTCOME,
                                     "its boot epoch changed while the call was in flight; "
                                     "the call was not sent again");
            break;
        }
        if (rc == FAR_ECLOSED || rc == FAR_ETIMEDOUT || rc == FAR_EUNSUPPORTED)
            break;
        if (c->lb_member && rc == FAR_ECONNREFUSED)
            break; /* the balancer has other instances (lb.c) */
        /* nothing listens yet (a restarting server), or it went again */
        pthread_mutex_unlock(&c->mu);
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&c->mu);
    }
    return k->st.err;
}

far__sec_session *far__client_session(far_client *c)
{
    pthread_mutex_lock(&c->sess_mu);
    far__sec_session *x = c->sess;
    if (x)
        far__sec_session_ref(x);
    pthread_mutex_unlock(&c->sess_mu);
    return x;
}

/* A protected client with no session (its connection was lost): connects
 * before the call is sealed, within the call's time (the call says why if
 * it cannot). */
static void connect_first(far_client *c, const far_call_opts *opts)
{
    uint64_t dl =
        deadline_after(inherit(opts && opts->timeout_ms ? opts->timeout_ms : c->o.timeout_ms));
    pthread_mutex_lock(&c->mu);
    if (!c->destroying)
        (void)far__conn_ensure(c, dl);
    pthread_mutex_unlock(&c->mu);
}

static far_err check_args(far_client *c, far_xdr_encode_fn enc, const void *args,
                          far_xdr_decode_fn dec, void *res)
{
    if (!c || (enc && !args) || (dec && !res))
        return FAR_EMISUSE;
    return FAR_OK;
}

/* A call that ends before it is made still tells opts->status why. */
static far_err early_status(const far_call_opts *opts, far_err err, uint32_t prog, uint32_t vers,
                            uint32_t proc, const char *why)
{
    far__set_last_error("%s", why);
    if (opts && opts->status) {
        memset(opts->status, 0, sizeof *opts->status);
        opts->status->err = err;
        snprintf(opts->status->msg, sizeof opts->status->msg,
                 "prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32 ": %s", prog, vers, proc, why);
    }
    return err;
}

/* Takes the lock after encoding a call outside it: a destroy waiting for
 * callers that encode is told when the last one is done. */
static void lock_after_prepare(far_client *c)
{
    pthread_mutex_lock(&c->mu);
    if (atomic_fetch_sub(&c->preparing, 1) == 1 && c->destroying)
        pthread_cond_broadcast(&c->cv);
}

FAR__API far_err far_client_call(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                                 far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec,
                                 void *res, far_arena *arena, const far_call_opts *opts)
{
    if (check_args(c, enc, args, dec, res) != FAR_OK)
        return early_status(opts, FAR_EMISUSE, prog, vers, proc,
                            "far_client_call: NULL client, or NULL args/result with a codec");
    if (c->lb) /* a balanced client: the balancer picks the instance */
        return far__lb_call(c->lb, prog, vers, proc, enc, args, dec, res, arena, opts);
    if (opts && opts->bulk) /* a transfer bound to the call: the bulk layer makes it */
        return far__bulk_call_get()(c, prog, vers, proc, enc, args, dec, res, arena, opts);
    if (c->sec_level && !c->sess) /* (a racy peek: prepare looks again) */
        connect_first(c, opts);
    if (opts && opts->semantics == FAR_SEM_EXACTLY_ONCE && !atomic_load(&c->use_ctx)) {
        /* connect first: its probe chooses the flavor the call is encoded
         * with, and only FAR_CTX carries the key (a server that is
         * restarting is waited for, as a call in flight waits, until the
         * deadline; the call says why if it cannot be made) */
        uint64_t dl =
            deadline_after(inherit(opts->timeout_ms ? opts->timeout_ms : c->o.timeout_ms));
        pthread_mutex_lock(&c->mu);
        for (int i = 0; i < 1000 && !atomic_load(&c->use_ctx) && far__now_ns() < dl; i++) {
            far_err crc = far__conn_ensure(c, dl);
            if (crc != FAR_ECONNREFUSED && crc != FAR_ECONNLOST)
                break;
            pthread_mutex_unlock(&c->mu);
            struct timespec ts = {0, 20 * 1000000};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&c->mu);
        }
        pthread_mutex_unlock(&c->mu);
    }
    atomic_fetch_add(&c->preparing, 1); /* destroy waits while we encode */
    call *k = far__call_scratch(c);
    far_err rc = FAR_ENOMEM;
    uint64_t now = 0; /* when the call was made (read once) */
    if (k) {
        k->async = false;
        k->cancellable = opts && opts->call_id;
        k->prog = prog, k->vers = vers, k->proc = proc;
        k->dec = dec, k->res = res, k->arena = arena;
        k->timeout_ms = inherit(opts && opts->timeout_ms ? opts->timeout_ms : c->o.timeout_ms);
        now = far__now_ns();
        k->deadline = now + (uint64_t)k->timeout_ms * 1000000u;
        k->sem = opts ? opts->semantics : FAR_SEM_DEFAULT;
        if (k->sem == FAR_SEM_EXACTLY_ONCE)
            new_key(c, k);
        k->enc_fn = enc, k->enc_args = args;
        rc = prepare(c, k, enc, args, now);
        if (opts && opts->call_id)
            *opts->call_id = k->id;
    }
    lock_after_prepare(c);
    if (!k) {
        pthread_mutex_unlock(&c->mu);
        return early_status(opts, FAR_ENOMEM, prog, vers, proc, "out of memory for the call");
    }
    far__call_refill_scratch(c);
    if (c->destroying) {
        far__call_unref(c, k);
        pthread_mutex_unlock(&c->mu);
        return early_status(opts, FAR_ECLOSED, prog, vers, proc, "the client is being destroyed");
    }
    c->active++;
    if (rc == FAR_OK)
        rc = start(c, k, &now);
    if (rc == FAR_OK) {
        if (c->addr.t != FAR__UDP && !c->st.flushing) {
            c->st.flushing = true;
            far__conn_flush_locked(c, k);
        }
        far__conn_wait_sync(c, k, now);
        rc = k->st.err;
        if (rc == FAR_ECONNLOST && k->handle_off)
            rc = after_loss(c, k);
        /* exactly-once: sent again with its key until its deadline (the
         * server's store answers it if it ran, even in an earlier life);
         * at-least-once: sent again, running again is what it allows;
         * at-most-once over a stream to the same server life: sent again
         * with the same xid (its duplicate request cache knows the call by
         * this client's context, and answers it if it ran) */
        for (int i = 0; i < 100 && far__now_ns() < k->deadline &&
                        (((k->sem == FAR_SEM_EXACTLY_ONCE || k->sem == FAR_SEM_AT_LEAST_ONCE) &&
                          (rc == FAR_ECONNLOST || rc == FAR_EUNKNOWN_OUTCOME)) ||
                         (rc == FAR_ECONNLOST && resend_at_most_once(c, k)));
             i++) {
            rc = resend(c, k);
            if (rc == FAR_ECONNLOST && k->handle_off)
                rc = after_loss(c, k);
        }
    }
    if (rc != FAR_OK)
        far__set_last_error("%s", k->st.msg);
    if (opts && opts->status)
        *opts->status = k->st;
    far__call_unref(c, k);
    if (--c->active == 0 && c->destroying)
        pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

FAR__API far_err far_client_call_async(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                                       far_xdr_encode_fn enc, const void *args,
                                       far_xdr_decode_fn dec, void *res, far_arena *arena,
                                       const far_call_opts *opts, far_call_cb cb, void *user)
{
    if (check_args(c, enc, args, dec, res) != FAR_OK || !cb)
        return early_status(opts, FAR_EMISUSE, prog, vers, proc,
                            "far_client_call_async: NULL client or callback, or NULL "
                            "args/result with a codec");
    if (c->lb) /* a balanced client: the balancer picks the instance */
        return far__lb_call_async(c->lb, prog, vers, proc, enc, args, dec, res, arena, opts, cb,
                                  user);
    if (opts && opts->bulk)
        return early_status(opts, FAR_EMISUSE, prog, vers, proc,
                            "far_client_call_async: a bulk transfer (far_call_opts.bulk) needs "
                            "a sync call");
    if (c->sec_level && !c->sess) /* (a racy peek: prepare looks again) */
        connect_first(c, opts);
    atomic_fetch_add(&c->preparing, 1); /* destroy waits while we encode */
    call *k = far__call_scratch(c);
    far_err rc = FAR_ENOMEM;
    bool post = false;
    uint64_t now = 0; /* when the call was made (read once) */
    if (k) {
        k->async = true;
        k->cancellable = false;
        k->prog = prog, k->vers = vers, k->proc = proc;
        k->dec = dec, k->res = res, k->arena = arena;
        k->cb = cb, k->user = user;
        k->timeout_ms = inherit(opts && opts->timeout_ms ? opts->timeout_ms : c->o.timeout_ms);
        now = far__now_ns();
        k->deadline = now + (uint64_t)k->timeout_ms * 1000000u;
        k->sem = opts ? opts->semantics : FAR_SEM_DEFAULT;
        if (k->sem == FAR_SEM_EXACTLY_ONCE)
            new_key(c, k);
        k->enc_fn = enc, k->enc_args = args;
        rc = prepare(c, k, enc, args, now);
        if (opts && opts->call_id)
            *opts->call_id = k->id;
    }
    lock_after_prepare(c);
    if (!k) {
        pthread_mutex_unlock(&c->mu);
        return early_status(opts, FAR_ENOMEM, prog, vers, proc, "out of memory for the call");
    }
    far__call_refill_scratch(c);
    if (rc == FAR_OK && c->destroying)
        rc = FAR_ECLOSED;
    if (rc == FAR_OK)
        rc = far__io_attach(c);
    if (rc == FAR_OK)
        rc = start(c, k, &now);
    if (rc != FAR_OK) {
        far__set_last_error("%s", k->st.msg[0] ? k->st.msg : far_strerror(rc));
        if (opts && opts->status) {
            *opts->status = k->st;
            opts->status->err = rc;
            if (!k->st.msg[0])
                snprintf(opts->status->msg, sizeof opts->status->msg,
                         "prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32 ": %s", prog, vers, proc,
                         far_strerror(rc));
        }
        far__call_unref(c, k);
        goto out;
    }
    far__io_arm(c, k);
    if (opts && opts->status) {
        /* the start; the outcome is the callback's (its far_status) */
        memset(opts->status, 0, sizeof *opts->status);
        snprintf(opts->status->msg, sizeof opts->status->msg,
                 "prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32 ": started", prog, vers, proc);
    }
    /* The I/O thread writes; calls queued meanwhile go in the same writev.
     * It is woken after the lock is dropped: woken under it, on the same
     * core, it would run at once and block on the lock. */
    if (c->addr.t != FAR__UDP && !c->io_flush && !c->st.flushing) {
        c->io_flush = true;
        post = true;
    }
out:
    pthread_mutex_unlock(&c->mu);
    if (post)
        far__io_post(c);
    return rc;
}

FAR__API far_err far_client_cancel(far_client *c, uint64_t call_id)
{
    if (!c)
        return FAR_EMISUSE;
    if (c->lb)
        return far__lb_cancel(c->lb, call_id);
    pthread_mutex_lock(&c->mu);
    call *k = far__tab_find(c, (uint32_t)call_id);
    if (!k || k->id != call_id) {
        /* waiting to be sent again on a new connection? */
        for (call **pp = &c->resend_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->cnext) {
            if ((*pp)->id != call_id)
                continue;
            k = *pp;
            *pp = k->cnext;
            if (c->resend_tail == k)
                c->resend_tail = prev;
            far__call_set_status(c, k, FAR_ECANCELED, "cancelled by the caller");
            far__call_complete_now(c, k);
            pthread_mutex_unlock(&c->mu);
            return FAR_OK;
        }
        pthread_mutex_unlock(&c->mu);
        return FAR_EMISUSE; /* done already, or not a call of this client */
    }
    far__tab_remove(c, k);
    far__call_set_status(c, k, FAR_ECANCELED, "cancelled by the caller");
    /* Not a byte of it sent: it never will be (taken off the queue here, or
     * by its sync caller), and the server need not hear of it. */
    bool unsent = k->in_outq && k->wm.sent == 0 && !k->wm.writing;
    if (k->async)
        far__call_unlink_outq(c, k); /* a partly written one goes out whole */
    far__call_complete(c, k);        /* a sync caller wakes and lets go of the queue itself */
    if (c->reader == k && c->wakefd >= 0)
        far__event_wake(c->wakefd); /* it is the reader, in poll: wake it */
    if (!unsent)
        far__ctl_cancel(c, k->gen, &k->xid, 1); /* its handler is told (clnt/ctl.c) */
    pthread_mutex_unlock(&c->mu);
    return FAR_OK;
}

far_err far__call_encode(far_client *c, call *k, far_xdr_encode_fn enc, const void *args)
{
    k->enc_fn = enc, k->enc_args = NULL; /* (not sealed again: see start) */
    return prepare(c, k, enc, args, 0);
}

void far__client_set_next_key(far_client *c, const uint8_t *key)
{
    memcpy(c->next_key, key, sizeof c->next_key);
    atomic_store(&c->has_next_key, true);
}

void far__client_set_max_fragment(far_client *c, size_t frag)
{
    c->frag = frag;
}
