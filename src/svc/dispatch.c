/* Server: one call's way through the stages.
 *
 *   parse -> authenticate -> lookup -> (cache lookup)      far__svc_front, on the
 *                                                           thread that read the call
 *   decode -> invoke -> encode -> (cache store) -> send    far__svc_run, with a
 *                                                           handler slot
 *
 * The front stages answer by themselves everything the runtime can: a
 * malformed or unauthenticated call, an unknown program, version or
 * procedure, the NULL procedure of a program with no function for it.  Such
 * calls never wait for a handler.  The two cache stages are the duplicate
 * request cache's (drc.h; UDP calls): a hit replays its reply instead of
 * invoking, a done call leaves its reply there. */
#include "svc/svc.h"

#include <stdio.h>

#define REF_MIN 4096 /* results this large are sent by reference, not copied */

static const svc_prog *find_prog(far_server *s, uint32_t prog, uint32_t vers, uint32_t *low,
                                 uint32_t *high, bool *prog_known)
{
    *prog_known = false;
    *low = UINT32_MAX, *high = 0;
    const svc_prog *hit = NULL;
    for (size_t i = 0; i < s->nprogs; i++) {
        const far_program_desc *d = s->progs[i].d;
        if (d->prog != prog)
            continue;
        *prog_known = true;
        if (d->vers < *low)
            *low = d->vers;
        if (d->vers > *high)
            *high = d->vers;
        if (d->vers == vers)
            hit = &s->progs[i];
    }
    return hit;
}

static const far_proc_desc *find_proc(const far_program_desc *d, uint32_t proc)
{
    if (proc < d->nprocs && d->procs[proc].proc == proc)
        return &d->procs[proc];
    for (size_t i = 0; i < d->nprocs; i++)
        if (d->procs[i].proc == proc)
            return &d->procs[i];
    return NULL;
}

/* Starts a reply in r->enc (after a reserved record mark on streams). */
static far_xdr_enc *reply_start(far_svc_req *r)
{
    far_xdr_enc *e = &r->enc;
    far_xdr_enc_reset(e);
    /* (a protected reply is sealed in place: nothing by reference, but at
     * the privacy level, which seals large results straight from the
     * handler's memory before it is freed: msg/sec.c) */
    far_xdr_enc_set_ref_min(
        e,
        r->auth.ops && r->auth.ops->wrap_results && !far__sec_seals_refs(&r->auth) ? 0 : REF_MIN);
    if (r->t != FAR__UDP)
        far_xdr_reserve(e, 4);
    return e;
}

/* An accepted reply header, with the verifier of the call's flavor. */
static bool put_accepted(far_svc_req *r, far_xdr_enc *e, uint32_t stat, uint32_t low, uint32_t high)
{
    far__opaque_auth v = {FAR_AUTH_NONE, NULL, 0};
    r->auth.xid = r->h.xid;
    r->auth.reply_stat = stat; /* (a protected reply's verifier covers it) */
    if (r->auth.ops && r->auth.ops->reply_verf)
        r->auth.ops->reply_verf(&r->auth, &v);
    return far__reply_accepted_encode_verf(e, r->h.xid, &v, stat, low, high);
}

static far__front reply_accepted(far_svc_req *r, uint32_t stat, uint32_t low, uint32_t high)
{
    far_xdr_enc *e = reply_start(r);
    if (!put_accepted(r, e, stat, low, high))
        return FRONT_DROP;
    /* a SUCCESS with no results (the NULL procedure) is protected too */
    if (stat == FAR__ACC_SUCCESS && r->auth.ops && r->auth.ops->wrap_results &&
        !r->auth.ops->wrap_results(&r->auth, e, far_xdr_enc_len(e)))
        return FRONT_DROP;
    return FRONT_REPLY;
}

static far__front reply_denied(far_svc_req *r, uint32_t stat, uint32_t a, uint32_t b)
{
    return far__reply_denied_encode(reply_start(r), r->h.xid, stat, a, b) ? FRONT_REPLY
                                                                          : FRONT_DROP;
}

/* ------------------------------------------------------------ front stages */

static far__front stage_parse(far_svc_req *r)
{
    far_xdr_dec d;
    far_xdr_dec_init(&d, r->in, r->in_len, NULL, 0);
    far_err rc = far__call_hdr_decode(&d, &r->h);
    if (rc == FAR_ELIMIT || rc == FAR_EPADDING) /* an oversized or ill-padded auth body */
        return reply_denied(r, FAR__REJ_AUTH_ERROR, FAR_AUTH_BADCRED, 0);
    if (rc != FAR_OK)
        return FRONT_DROP; /* not a call, or too short to answer */
    r->args_off = r->in_len - far_xdr_dec_left(&d);
    if (r->h.rpcvers != FAR__RPC_VERS)
        return reply_denied(r, FAR__REJ_RPC_MISMATCH, FAR__RPC_VERS, FAR__RPC_VERS);
    return FRONT_HANDLER;
}

static far__front stage_authenticate(far_svc_req *r)
{
    r->auth.ops = far__auth_find(r->h.cred_flavor);
    if (!r->auth.ops)
        return reply_denied(r, FAR__REJ_AUTH_ERROR, FAR_AUTH_REJECTEDCRED, 0);
    int stat = r->auth.ops->authenticate(&r->auth, &r->h);
    if (stat != FAR_AUTH_OK)
        return reply_denied(r, FAR__REJ_AUTH_ERROR, (uint32_t)stat, 0);
    if (r->auth.ops == &far__auth_ctx) {
        /* FAR_CTX (ctx.c): INIT answered here; a DATA call's context */
        switch (far__svc_ctx_attach(r->s, r)) {
        case FAR__CTX_R_INIT: {
            far_xdr_enc *e = reply_start(r);
            if (!put_accepted(r, e, FAR__ACC_SUCCESS, 0, 0))
                return FRONT_DROP;
            /* a handshake's reply message (svc/sec.c) */
            if (r->auth.init_res_len &&
                !far_xdr_put_opaque_fixed(e, r->auth.init_res, r->auth.init_res_len))
                return FRONT_DROP;
            return FRONT_REPLY;
        }
        case FAR__CTX_R_DENY:
            return reply_denied(r, FAR__REJ_AUTH_ERROR, (uint32_t)r->auth_stat, 0);
        case FAR__CTX_R_UNKNOWN:
            return reply_denied(r, FAR__REJ_AUTH_ERROR, FAR_AUTH_RPCSEC_GSS_CTXPROBLEM, 0);
        case FAR__CTX_R_DROP:
            return FRONT_DROP;
        case FAR__CTX_R_DATA:
            break;
        }
    }
    return FRONT_HANDLER;
}

static bool stage_encode(far_svc_req *r, far_err hr, const void *res);

/* A call of the runtime's own programs (FAR_REFLECT, FAR_CTL) is answered
 * here, on the thread that read it, as the NULL procedure is: it never
 * waits behind the user's handlers.  Its arguments and results are small
 * structures on this stack (the results point into the server's program
 * table, which is immutable while serving), so the scratch call object's
 * arena is not touched.  A flavor that wraps arguments or results takes the
 * ordinary way, through a handler slot. */
#define RUNTIME_MAX 320 /* FAR_CTL STATUS's result: two bits for each of 1024 xids */

static far__front stage_runtime(far_svc_req *r)
{
    const far_proc_desc *pd = r->pd;
    if (r->auth.ops->unwrap_args || r->auth.ops->wrap_results || pd->args_size > RUNTIME_MAX ||
        pd->res_size > RUNTIME_MAX)
        return FRONT_HANDLER;
    uint64_t args[RUNTIME_MAX / 8] = {0}, res[RUNTIME_MAX / 8] = {0};
    far_xdr_dec d;
    far_xdr_dec_init(&d, r->in + r->args_off, r->in_len - r->args_off, NULL, 0);
    if (pd->decode_args && (!pd->decode_args(&d, args) || !far_xdr_dec_done(&d)))
        return reply_accepted(r, FAR__ACC_GARBAGE_ARGS, 0, 0);
    far_err hr = pd->invoke(r->sp->impl, r, args, res);
    return stage_encode(r, hr, res) ? FRONT_REPLY : FRONT_DROP;
}

static far__front stage_lookup(far_server *s, far_svc_req *r)
{
    uint32_t low, high;
    bool known;
    if (s->sec_any_rules) {
        /* a level this server or the program requires (svc/sec.c) */
        int stat = far__svc_sec_level_check(s, r);
        if (stat)
            return reply_denied(r, FAR__REJ_AUTH_ERROR, (uint32_t)stat, 0);
    }
    r->sp = find_prog(s, r->h.prog, r->h.vers, &low, &high, &known);
    if (!r->sp && !known)
        return reply_accepted(r, FAR__ACC_PROG_UNAVAIL, 0, 0);
    if (!r->sp)
        return reply_accepted(r, FAR__ACC_PROG_MISMATCH, low, high);
    const far_program_desc *d = r->sp->d;
    r->pd = find_proc(d, r->h.proc);
    bool has_fn =
        r->pd && r->pd->invoke && (!d->implemented || d->implemented(r->sp->impl, r->h.proc));
    if (!has_fn) {
        /* The NULL procedure (RFC 5531 §12.1 convention) of a program with
         * no function for it: the runtime answers, with no handler. */
        if (r->h.proc == 0 && (!r->pd || (!r->pd->decode_args && !r->pd->encode_res)))
            return reply_accepted(r, FAR__ACC_SUCCESS, 0, 0);
        if (!r->pd || r->pd->invoke)
            return reply_accepted(r, FAR__ACC_PROC_UNAVAIL, 0, 0);
    }
    if (r->sp->runtime)
        return stage_runtime(r);
    return FRONT_HANDLER;
}

far_semantics far__svc_req_semantics(const far_svc_req *r)
{
    if (far__auth_is_ctx(r->auth.ops)) {
        /* the call's own (FAR_CTX), over its procedure's */
        uint32_t f = r->auth.ctx.flags;
        if (f & FAR__CTX_EXACTLY_ONCE)
            return FAR_SEM_EXACTLY_ONCE;
        if (f & FAR__CTX_MAYBE)
            return FAR_SEM_MAYBE;
        if (f & FAR__CTX_IDEMPOTENT)
            return FAR_SEM_AT_LEAST_ONCE;
        if (f & FAR__CTX_AT_MOST_ONCE)
            return FAR_SEM_AT_MOST_ONCE;
    }
    far_semantics sem = r->pd ? r->pd->semantics : FAR_SEM_DEFAULT;
    return sem == FAR_SEM_DEFAULT ? FAR_SEM_AT_MOST_ONCE : sem;
}

bool far__svc_req_cached(const far_svc_req *r)
{
    far_semantics sem = far__svc_req_semantics(r);
    return sem != FAR_SEM_MAYBE && sem != FAR_SEM_AT_LEAST_ONCE;
}

/* The duplicate request cache (drc.h), for UDP calls: a retransmission of a
 * call in progress is dropped, of a call done is answered with its reply as
 * it was sent; a new call gets an entry in progress (r->drc), done in
 * stage_cache_store or forgotten when the call ends with no reply.  The NULL
 * procedure has no effect to protect. */
static far__front stage_cache_lookup(far_server *s, far_svc_req *r)
{
    /* (r->c is not set yet in the front stages: the transport tells.)  A
     * may-be or at-least-once call is not cached: running it again is what
     * its semantics allow, and it saves the cache the entry. */
    /* A protected call whose seq was seen (svc/sec.c) is a replay or a
     * retransmission (UDP, the same bytes): only the cache may answer it,
     * with the reply it sent; it is never run again. */
    bool replayed = r->auth.replayed;
    if (!s->drc || (r->t != FAR__UDP && !r->ctx) || r->h.proc == 0 || !far__svc_req_cached(r)) {
        if (replayed) {
            far__svc_sec_fail(s, r, far_svc_req_identity(r), "a replayed call");
            return reply_denied(r, FAR__REJ_AUTH_ERROR, FAR_AUTH_REJECTEDVERF, 0);
        }
        return FRONT_HANDLER;
    }
    /* A FAR_CTX caller's stream calls are known by its context (owner and
     * boot: its handle), not its address, so a call it sends again on a new
     * connection finds its entry; the key's family (AF_UNSPEC) is no
     * address's.  (Over UDP the address stays the key: each client of a
     * process has its own socket, and its own fair share of the cache.) */
    struct sockaddr_storage who;
    const struct sockaddr_storage *key = &r->peer;
    socklen_t key_len = r->peer_len;
    if (r->ctx && r->t != FAR__UDP) {
        memset(&who, 0, sizeof who);
        who.ss_family = AF_UNSPEC;
        memcpy((uint8_t *)&who + offsetof(struct sockaddr_storage, ss_family) +
                   sizeof who.ss_family,
               &r->ctx->handle, sizeof r->ctx->handle);
        key = &who;
        key_len = (socklen_t)(offsetof(struct sockaddr_storage, ss_family) + sizeof who.ss_family +
                              sizeof r->ctx->handle);
    }
    uint8_t *rep = NULL;
    size_t n = 0;
    switch (far__drc_lookup_life(s->drc, key, key_len, r->ctx ? r->ctx->handle : 0, r->h.xid,
                                 r->h.prog, r->h.vers, r->h.proc, r->in + r->args_off,
                                 r->in_len - r->args_off, &r->drc, &rep, &n)) {
    case FAR__DRC_INPROG:
        return FRONT_DROP;
    case FAR__DRC_DONE: {
        if (!rep) {
            far__log_debug("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32 " xid %08" PRIx32
                           ": sent again; it ran, and its reply was too large to keep: SYSTEM_ERR",
                           far__svc_req_who(r), r->h.prog, r->h.vers, r->h.proc, r->h.xid);
            return reply_accepted(r, FAR__ACC_SYSTEM_ERR, 0, 0);
        }
        far_xdr_enc *e = reply_start(r);
        far_xdr_enc_set_ref_min(e, 0); /* copied: rep is freed below */
        bool ok = far_xdr_put_opaque_fixed(e, rep, n);
        free(rep);
        return ok ? FRONT_REPLY : FRONT_DROP;
    }
    default:
        if (replayed) {
            far__drc_store(s->drc, r->drc, NULL, 0); /* (forgotten: never run) */
            r->drc = NULL;
            far__svc_sec_fail(s, r, far_svc_req_identity(r), "a replayed call");
            return reply_denied(r, FAR__REJ_AUTH_ERROR, FAR_AUTH_REJECTEDVERF, 0);
        }
        /* A UDP call is found by a FAR_CTL CANCEL through its entry (ctl.c). */
        if (r->drc && r->t == FAR__UDP)
            far__drc_own(s->drc, r->drc, r);
        return FRONT_HANDLER;
    }
}

far__front far__svc_front(far_server *s, far_svc_req *r)
{
    far__front v = stage_parse(r);
    if (v == FRONT_HANDLER)
        v = stage_authenticate(r);
    if (v == FRONT_HANDLER)
        v = stage_lookup(s, r);
    if (v == FRONT_HANDLER)
        v = stage_cache_lookup(s, r);
    return v;
}

/* ------------------------------------------------------------ back stages */

/* Decodes the arguments into *args (allocated from the call's arena).
 * False with the reply built (GARBAGE_ARGS, SYSTEM_ERR) if they do not. */
static bool stage_decode(far_svc_req *r, void **args, void **res)
{
    const far_proc_desc *pd = r->pd;
    const uint8_t *p = r->in + r->args_off;
    size_t n = r->in_len - r->args_off;
    *args = far_arena_alloc(&r->arena, pd->args_size ? pd->args_size : 1);
    *res = far_arena_alloc(&r->arena, pd->res_size ? pd->res_size : 1);
    if (!*args || !*res) {
        put_accepted(r, reply_start(r), FAR__ACC_SYSTEM_ERR, 0, 0);
        return false;
    }
    memset(*args, 0, pd->args_size);
    memset(*res, 0, pd->res_size);
    if (r->auth.ops->unwrap_args && r->auth.ops->unwrap_args(&r->auth, &p, &n, &r->arena)) {
        put_accepted(r, reply_start(r), FAR__ACC_GARBAGE_ARGS, 0, 0);
        return false;
    }
    r->args = p, r->args_len = n; /* (the reply store's digest: not the sealed bytes) */
    far_xdr_dec d;
    far_xdr_dec_init(&d, p, n, &r->arena, FAR_XDR_ZEROCOPY);
    far_xdr_dec_set_max_chain(&d, r->s->o.max_list);
    if (pd->decode_args && (!pd->decode_args(&d, *args) || !far_xdr_dec_done(&d))) {
        /* A limit of this server refused what may be a good call: the
         * operator hears of it (a malformed call is the peer's business). */
        unsigned long nlog;
        if (d.err.local && far__ratelimit_hit(&r->s->arg_limits, 1000000000u, &nlog)) {
            char e[200];
            far__log_warn("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                          ": arguments refused (GARBAGE_ARGS) by a limit of this server: %s "
                          "(%s)%s",
                          far__svc_req_who(r), r->h.prog, r->h.vers, r->h.proc,
                          far_xdr_dec_strerror(&d, e, sizeof e),
                          d.err.limit == FAR_XDR_LIMIT_CHAIN ? "far_server_opts.max_list"
                          : d.err.limit == FAR_XDR_LIMIT_ARENA
                              ? "the call's arena: at most 64 MiB per call"
                              : "memory",
                          nlog > 1 ? " (and others in the last second)" : "");
        }
        put_accepted(r, reply_start(r), FAR__ACC_GARBAGE_ARGS, 0, 0);
        return false;
    }
    return true;
}

/* A call the handler makes to another server while it runs waits no longer
 * than this call's caller does (far__inherit_deadline_get, the client). */
static far_err stage_invoke(far_svc_req *r, const void *args, void *res)
{
    if (!r->pd->invoke)
        return FAR_OK;
    far__inherit_deadline_set(r->deadline_ns);
    far_err hr = r->pd->invoke(r->sp->impl, r, args, res);
    far__inherit_deadline_set(0);
    return hr;
}

/* Builds the reply for the handler's outcome.  False: no reply at all. */
static bool stage_encode(far_svc_req *r, far_err hr, const void *res)
{
    far_xdr_enc *e = reply_start(r);
    uint32_t xid = r->h.xid;
    switch (hr) {
    case FAR_OK: {
        if (!put_accepted(r, e, FAR__ACC_SUCCESS, 0, 0))
            return false;
        size_t res_off = far_xdr_enc_len(e);
        if ((!r->pd->encode_res || r->pd->encode_res(e, res)) &&
            (!r->auth.ops->wrap_results || r->auth.ops->wrap_results(&r->auth, e, res_off)))
            return true;
        char why[200];
        if (e->err.offset >= res_off)
            e->err.offset -= res_off; /* counted from the start of the results */
        far__log_warn("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                      ": result does not encode (%s): SYSTEM_ERR",
                      far__svc_req_who(r), r->h.prog, r->h.vers, r->h.proc,
                      far_xdr_enc_strerror(e, why, sizeof why));
        return put_accepted(r, reply_start(r), FAR__ACC_SYSTEM_ERR, 0, 0);
    }
    case FAR_EGARBAGE_ARGS:
        return put_accepted(r, e, FAR__ACC_GARBAGE_ARGS, 0, 0);
    case FAR_EPROC_UNAVAIL:
        return put_accepted(r, e, FAR__ACC_PROC_UNAVAIL, 0, 0);
    case FAR_EAUTH:
        return far__reply_denied_encode(e, xid, FAR__REJ_AUTH_ERROR, (uint32_t)r->auth_stat, 0);
    default:
        return put_accepted(r, e, FAR__ACC_SYSTEM_ERR, 0, 0);
    }
}

/* A reply of results kept by the reply store (exactly-once: a call that
 * ran and committed before), built as stage_encode builds a new one. */
static bool stage_replay(far_svc_req *r, const uint8_t *res, size_t n)
{
    far_xdr_enc *e = reply_start(r);
    if (!put_accepted(r, e, FAR__ACC_SUCCESS, 0, 0))
        return false;
    size_t res_off = far_xdr_enc_len(e);
    far_xdr_enc_set_ref_min(e, 0); /* copied: res is freed by the caller */
    if (far_xdr_put_opaque_fixed(e, res, n) &&
        (!r->auth.ops->wrap_results || r->auth.ops->wrap_results(&r->auth, e, res_off)))
        return true;
    return put_accepted(r, reply_start(r), FAR__ACC_SYSTEM_ERR, 0, 0);
}

/* Invoke and encode; an exactly-once call through the reply store
 * (store.c): run in its transaction and committed with its results, or
 * answered from the store.  False: no reply. */
static bool stage_run(far_server *s, far_svc_req *r, const void *args, void *res)
{
    uint8_t *kept = NULL;
    size_t kept_len = 0;
    switch (far__svc_eo_begin(s, r, &kept, &kept_len)) {
    case FAR__EO_REPLAY: {
        bool ok = stage_replay(r, kept, kept_len);
        free(kept);
        return ok;
    }
    case FAR__EO_CONFLICT:
        return far__reply_denied_encode(reply_start(r), r->h.xid, FAR__REJ_AUTH_ERROR,
                                        FAR__AUTH_IDEMPOTENCY, 0);
    case FAR__EO_FAILED:
        return stage_encode(r, FAR_ESYSTEM_ERR, res);
    case FAR__EO_UNSUPPORTED:
        return far__reply_denied_encode(reply_start(r), r->h.xid, FAR__REJ_AUTH_ERROR,
                                        FAR__AUTH_NO_STORE, 0);
    case FAR__EO_RUN: {
        far_err hr = stage_invoke(r, args, res);
        bool reply = stage_encode(r, hr, res);
        return far__svc_eo_end(s, r, hr, res) && reply;
    }
    default:
        return stage_encode(r, stage_invoke(r, args, res), res);
    }
}

/* The reply of a call with an entry in the duplicate request cache is kept
 * there (a copy of r->enc: a UDP reply, no record mark) before it is sent. */
static void stage_cache_store(far_server *s, far_svc_req *r)
{
    if (!r->drc)
        return;
    size_t n = far_xdr_enc_len(&r->enc);
    if (r->t != FAR__UDP && n > FAR__DRC_STREAM_KEEP_MAX + 4) {
        /* A large stream reply is not copied for every call (a 1 MiB echo
         * lost half its throughput to it): a retransmission after a
         * reconnect is answered SYSTEM_ERR -- the call ran, once -- rather
         * than run again. */
        far__drc_store_unkept(s->drc, r->drc);
        r->drc = NULL;
        return;
    }
    uint8_t *b = r->enc.err.code == FAR_OK ? malloc(n ? n : 1) : NULL;
    if (b && far_xdr_enc_flatten(&r->enc, b, n) != FAR_OK) {
        free(b);
        b = NULL;
    }
    if (b && r->t != FAR__UDP) {
        /* kept without its record mark: the replay frames it anew */
        memmove(b, b + 4, n - 4);
        n -= 4;
    }
    far__drc_store(s->drc, r->drc, b, n); /* b NULL: forgotten */
    r->drc = NULL;
    if (r->t == FAR__UDP)
        far__svc_req_cancel_close(r); /* a CANCEL finds it no more (ctl.c) */
}

bool far__svc_reply_finish(far_server *s, far_svc_req *r)
{
    uint8_t *flat = NULL;
    far_err rc =
        far__msg_prepare(&r->enc, r->iov, &r->niov, &r->total, &flat, r->t != FAR__UDP, s->frag);
    free(r->flat);
    r->flat = flat;
    return rc == FAR_OK;
}

/* The send stage: the reply goes to its connection's writer, or out on UDP;
 * a call with no reply is dropped. */
static void stage_send(far_server *s, far_svc_req *r, bool reply)
{
    conn *c = r->c;
    if (c) {
        if (reply) {
            r->next = NULL;
            far__svc_conn_send(s, c, r, r, 1);
        } else {
            far__svc_conn_drop_call(s, c, r);
        }
    } else {
        if (reply)
            far__svc_udp_reply(r);
        far__svc_req_put(s, r);
    }
}

void far__svc_run(far_server *s, far_svc_req *r)
{
    if (far__svc_req_expired(r)) {
        /* Its caller stopped waiting before it started (the deadline
         * passed while it waited for a handler, its client restarted). */
        far__log_debug("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32 " xid %08" PRIx32
                       ": not run: its caller stopped waiting before it started",
                       far__svc_req_who(r), r->h.prog, r->h.vers, r->h.proc, r->h.xid);
        atomic_fetch_sub(&s->busy, 1);
        stage_send(s, r, false);
        far__svc_req_done_count(s);
        return;
    }
    conn *c = r->c;
    if ((c && c->dead) || atomic_load(&r->cancelled)) {
        /* Its connection is gone (the reply could never be sent), or it was
         * cancelled before it started. */
        atomic_fetch_sub(&s->busy, 1);
        far__svc_conn_drop_call(s, c, r);
        far__svc_req_done_count(s);
        return;
    }
    /* Replies held back for this batch go out before a call that may block,
     * once no other call of the connection is waiting. */
    if (c && atomic_load(&c->queued) == 0)
        far__svc_conn_flush(s, c, false);
    void *args, *res;
    bool reply = true;
    if (stage_decode(r, &args, &res))
        reply = stage_run(s, r, args, res);
    far__svc_req_block_end(r); /* (a handler that returned blocked) */
    atomic_fetch_add(&s->completed, 1);
    atomic_fetch_sub(&s->busy, 1);
    /* (cached even when cancelled -- a FAR_CTX call of a connection that
     * closed -- so the same call sent again is answered, not run again) */
    if (reply)
        stage_cache_store(s, r);
    if (atomic_load(&r->cancelled))
        reply = false; /* its caller is gone or has given up: the reply is discarded */
    if (reply && far__svc_req_expired(r)) {
        /* (cached all the same: a retransmission is answered, not run) */
        far__log_debug("%s: prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32 " xid %08" PRIx32
                       ": reply discarded: its caller stopped waiting while it ran",
                       far__svc_req_who(r), r->h.prog, r->h.vers, r->h.proc, r->h.xid);
        reply = false;
    }
    reply = reply && far__svc_reply_finish(s, r);
    stage_send(s, r, reply);
    far__svc_req_done_count(s);
}

/* Runs a batch: the first inline if a handler slot is free, the rest queued
 * for the other threads. */
static _Thread_local int dispatch_depth;

void far__svc_dispatch(far_server *s, lane *l, conn *c, far_svc_req *first, far_svc_req *last,
                       int n)
{
    if (!first)
        return;
    /* A reply can resume reading its connection, which dispatches again:
     * below the top level everything is queued, so the stack stays flat. */
    if (dispatch_depth > 0 || !far__svc_slot_acquire(s)) {
        far__svc_queue_push(s, l, c, first, last, n, false);
        return;
    }
    if (n > 1)
        far__svc_queue_push(s, l, c, first->next, last, n - 1, false);
    first->next = NULL;
    dispatch_depth++;
    far__svc_run(s, first);
    dispatch_depth--;
}
