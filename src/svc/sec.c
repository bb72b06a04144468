/* Server: security levels (docs/security.md) -- the key lookup and failure
 * callbacks, the minimum levels per program and procedure, the handshake an
 * INIT call carries, and each protected call's checks before it may be
 * looked up: its verifier with its context's keys, its level, its place in
 * the replay window.  The cryptography is msg/sec.c's.
 *
 * The INIT call of a handshake (far_ctx_init.caps has FAR__SEC_INIT_CAPS)
 * goes to a NULL procedure as any INIT does; its arguments are
 *
 *   struct { unsigned level; unsigned suite; opaque identity<64>;
 *            opaque token<256>; }          -- token: Noise message 0
 *
 * and a SUCCESS reply's results `opaque token<256>` (message 1, whose
 * payload vouches for the handle and boot in the verifier).  A refusal is
 * AUTH_ERROR: AUTH_TOOWEAK for a level below the server's minimum,
 * RPCSEC_GSS_CREDPROBLEM for an identity with no key or a handshake that
 * does not verify (a wrong key, a message changed in transit: the level,
 * suite, caps, owner and identity are in the prologue) or is malformed
 * (not AUTH_BADCRED: classic servers deny the flavor so, and the client
 * must tell a refusal from a classic peer). */
#include "svc/svc.h"

#include <stdio.h>

FAR__API far_err far_server_set_key_lookup(far_server *s, far_key_lookup_fn fn, void *user)
{
    if (!s)
        return FAR_EMISUSE;
    pthread_mutex_lock(&s->mu);
    far_err rc = FAR_EMISUSE;
    if (atomic_load(&s->state) == ST_CREATED) {
        s->key_lookup = fn;
        s->key_lookup_user = user;
        rc = FAR_OK;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

FAR__API far_err far_server_set_auth_fail(far_server *s, far_auth_fail_fn fn, void *user)
{
    if (!s)
        return FAR_EMISUSE;
    pthread_mutex_lock(&s->mu);
    far_err rc = FAR_EMISUSE;
    if (atomic_load(&s->state) == ST_CREATED) {
        s->auth_fail = fn;
        s->auth_fail_user = user;
        rc = FAR_OK;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

FAR__API far_err far_server_set_min_security(far_server *s, uint32_t prog, uint32_t vers,
                                             int32_t proc, far_security level)
{
    if (!s || (unsigned)level > FAR_SEC_PRIV || proc < -1)
        return FAR_EMISUSE;
    pthread_mutex_lock(&s->mu);
    far_err rc = FAR_EMISUSE;
    if (atomic_load(&s->state) == ST_CREATED) {
        rc = FAR_ELIMIT;
        if (s->nsec_rules < FAR__ARRAY_LEN(s->sec_rules)) {
            s->sec_rules[s->nsec_rules].prog = prog;
            s->sec_rules[s->nsec_rules].vers = vers;
            s->sec_rules[s->nsec_rules].proc = proc;
            s->sec_rules[s->nsec_rules].level = (uint32_t)level;
            s->nsec_rules++;
            s->sec_any_rules = true;
            rc = FAR_OK;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

FAR__API far_security far_svc_req_security(const far_svc_req *r)
{
    return r && r->auth.sec.sess ? (far_security)r->auth.sec.sess->level : FAR_SEC_NONE;
}

FAR__API const char *far_svc_req_identity(const far_svc_req *r)
{
    return r && r->auth.sec.sess ? r->auth.sec.sess->identity : NULL;
}

void far__svc_sec_fail(far_server *s, far_svc_req *r, const char *identity, const char *why)
{
    atomic_fetch_add(&s->sec_failures, 1);
    /* (in the front stages a stream call's connection is r->reading) */
    const char *peer = !r->c && r->reading ? r->reading->peer : far_svc_req_peer(r);
    far__log_debug(
        "%s: security: %s%s%s%s", !r->c && r->reading ? r->reading->who : far__svc_req_who(r), why,
        identity ? " (identity \"" : "", identity ? identity : "", identity ? "\")" : "");
    if (s->auth_fail)
        s->auth_fail(peer, identity ? identity : "", why, s->auth_fail_user);
}

static far__ctx_res deny(far_svc_req *r, int stat)
{
    r->auth_stat = stat;
    return FAR__CTX_R_DENY;
}

far__ctx_res far__svc_sec_init(far_server *s, far_svc_req *r)
{
    far__ctx_cred *cr = &r->auth.ctx;
    far_xdr_dec d;
    far_xdr_dec_init(&d, r->in + r->args_off, r->in_len - r->args_off, NULL, 0);
    uint32_t level, suite, id_len = 0, tok_len = 0;
    char id[FAR__SEC_MAX_IDENTITY + 1];
    uint8_t tok[FAR__SEC_TOKEN_MAX];
    if (!far_xdr_get_u32(&d, &level) || !far_xdr_get_u32(&d, &suite) ||
        !far_xdr_get_opaque_into(&d, (uint8_t *)id, &id_len, FAR__SEC_MAX_IDENTITY) ||
        !far_xdr_get_opaque_into(&d, tok, &tok_len, sizeof tok) || !far_xdr_dec_done(&d) ||
        level < FAR__CTX_SVC_AUTH || level > FAR__CTX_SVC_PRIV ||
        r->h.verf_flavor != FAR_AUTH_NONE || r->h.verf_len) {
        far__svc_sec_fail(s, r, NULL, "a malformed handshake");
        return deny(r, FAR_AUTH_RPCSEC_GSS_CREDPROBLEM); /* (BADCRED is what classic ones say) */
    }
    id[id_len] = 0;
    if (memchr(id, 0, id_len)) {
        far__svc_sec_fail(s, r, NULL, "an identity with a NUL byte");
        return deny(r, FAR_AUTH_RPCSEC_GSS_CREDPROBLEM);
    }
    if (level < (uint32_t)s->o.min_security) {
        char why[96];
        snprintf(why, sizeof why, "level %s asked, the server's minimum is %s",
                 far_security_name((far_security)level), far_security_name(s->o.min_security));
        far__svc_sec_fail(s, r, id, why);
        return deny(r, FAR_AUTH_TOOWEAK);
    }
    uint8_t psk[FAR_KEY_BYTES];
    if (!s->key_lookup || !s->key_lookup(id, id_len, psk, s->key_lookup_user)) {
        far__wipe(psk, sizeof psk);
        far__svc_sec_fail(s, r, id,
                          s->key_lookup ? "unknown identity (the key lookup refused it)"
                                        : "no key lookup set (far_server_set_key_lookup)");
        return deny(r, FAR_AUTH_RPCSEC_GSS_CREDPROBLEM);
    }
    uint8_t pro[256];
    size_t plen =
        far__sec_prologue(pro, sizeof pro, level, suite, cr->caps, cr->owner, cr->owner_len,
                          (const uint8_t *)id, id_len, r->h.prog, r->h.vers);
    uint64_t handle = far__svc_ctx_new_handle(s), boot = far__svc_ctx_boot(s);
    far__sec_session *x = NULL;
    size_t out_len = 0;
    far_err rc =
        plen ? far__sec_server_respond(tok, tok_len, level, suite, psk, pro, plen, handle, boot,
                                       r->auth.init_res + 4, FAR__SEC_TOKEN_MAX, &out_len, &x)
             : FAR_EAUTH;
    far__wipe(psk, sizeof psk);
    if (rc == FAR_ENOMEM)
        return FAR__CTX_R_DROP;
    if (rc != FAR_OK) {
        far__svc_sec_fail(
            s, r, id,
            rc == FAR_EUNSUPPORTED
                ? "a cipher suite this server cannot do"
                : "the handshake does not verify (a wrong key, or a changed message)");
        return deny(r, rc == FAR_EUNSUPPORTED ? FAR_AUTH_TOOWEAK : FAR_AUTH_RPCSEC_GSS_CREDPROBLEM);
    }
    memcpy(x->identity, id, id_len + 1);
    if (far__svc_ctx_add_secure(s, cr->owner, cr->owner_len, cr->boot, handle, x) != FAR_OK) {
        far__sec_session_unref(x);
        return FAR__CTX_R_DROP;
    }
    /* results: opaque token<256> */
    far_xdr_store_u32(r->auth.init_res, (uint32_t)out_len);
    size_t padded = (out_len + 3) & ~(size_t)3;
    memset(r->auth.init_res + 4 + out_len, 0, padded - out_len);
    r->auth.init_res_len = (uint32_t)(4 + padded);
    uint8_t hb[8];
    far_xdr_store_u64(hb, handle);
    far__ctx_set_verf(&r->auth, boot, hb, sizeof hb);
    return FAR__CTX_R_INIT;
}

far__ctx_res far__svc_sec_check(far_server *s, far_svc_req *r, svc_ctx *x)
{
    far__sauth *a = &r->auth;
    far__sec_session *ss = x->sec;
    if (!ss) {
        far__svc_sec_fail(s, r, NULL, "a protected call naming a context with no handshake");
        return deny(r, FAR_AUTH_BADCRED);
    }
    if (a->ctx.service == FAR__CTX_SVC_NONE) {
        far__svc_sec_fail(s, r, ss->identity, "an unprotected call in a protected context");
        return deny(r, FAR_AUTH_TOOWEAK);
    }
    const uint8_t *hdr = r->h.cred_body - 8 - 24; /* xid .. proc, the credential's flavor, length */
    if (!far__sec_check_call(ss, a->ctx.seq, hdr, r->h.cred_body + r->h.cred_len, r->h.verf_body,
                             r->h.verf_len)) {
        far__svc_sec_fail(s, r, ss->identity, "a call whose verifier does not verify");
        return deny(r, FAR_AUTH_BADVERF);
    }
    if (a->ctx.service != ss->level) {
        /* (authenticated: the client's own doing, not a change in transit) */
        far__svc_sec_fail(s, r, ss->identity, "a call at another level than its handshake's");
        return deny(r, FAR_AUTH_TOOWEAK);
    }
    int w = far__sec_window_check(ss, a->ctx.seq);
    if (w < 0) {
        far__svc_sec_fail(s, r, ss->identity, "a call older than the replay window");
        return deny(r, FAR_AUTH_REJECTEDVERF);
    }
    a->replayed = w > 0;
    a->ops = &far__auth_sec;
    a->sec.sess = ss;
    a->sec.seq = a->ctx.seq;
    return FAR__CTX_R_DATA;
}

int far__svc_sec_level_check(far_server *s, far_svc_req *r)
{
    uint32_t need = (uint32_t)s->o.min_security;
    for (unsigned i = 0; i < s->nsec_rules; i++) {
        const struct far__sec_rule *u = &s->sec_rules[i];
        if (u->prog == r->h.prog && (!u->vers || u->vers == r->h.vers) &&
            (u->proc < 0 || (uint32_t)u->proc == r->h.proc) && u->level > need)
            need = u->level;
    }
    uint32_t have = r->auth.sec.sess ? r->auth.sec.sess->level : 0;
    if (have >= need)
        return 0;
    char why[120];
    snprintf(why, sizeof why, "prog %u vers %u proc %u needs level %s, the call has %s", r->h.prog,
             r->h.vers, r->h.proc, far_security_name((far_security)need),
             far_security_name((far_security)have));
    far__svc_sec_fail(s, r, r->auth.sec.sess ? r->auth.sec.sess->identity : NULL, why);
    return FAR_AUTH_TOOWEAK;
}
