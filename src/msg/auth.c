/* The auth-ops interface's first two flavors: AUTH_NONE and AUTH_SYS
 * (RFC 5531 §10 and Appendix A), and the table a server finds flavors in. */
#include "msg/msg.h"

/* ------------------------------------------------------------ AUTH_NONE */

static bool none_put(const far__cauth *a, far_xdr_enc *e, uint32_t xid, const far__call_meta *m)
{
    (void)a, (void)xid, (void)m;
    uint8_t *p = far_xdr_reserve(e, 16); /* credential and verifier: flavor 0, empty */
    if (!p)
        return false;
    memset(p, 0, 16);
    return true;
}

static int none_authenticate(far__sauth *a, const far__call_hdr *h)
{
    (void)a, (void)h;
    return FAR_AUTH_OK;
}

/* A server answers an AUTH_NONE call (and, RFC 5531 Appendix A, an AUTH_SYS
 * one) with an AUTH_NONE verifier; for AUTH_SYS it may instead hand out an
 * AUTH_SHORT credential in it, which this client does not use.  Anything
 * else is a server this client cannot vouch for. */
static far_err none_check_verf(const far__cauth *a, const far__reply_hdr *h,
                               const far__sec_call *sc)
{
    (void)a, (void)sc;
    return h->verf_flavor == FAR_AUTH_NONE ? FAR_OK : FAR_EAUTH;
}

const far__auth_ops far__auth_none = {
    .flavor = FAR_AUTH_NONE,
    .name = "AUTH_NONE",
    .put_cred_verf = none_put,
    .check_reply_verf = none_check_verf,
    .authenticate = none_authenticate,
};

/* ------------------------------------------------------------ AUTH_SYS */

static bool sys_put(const far__cauth *a, far_xdr_enc *e, uint32_t xid, const far__call_meta *m)
{
    (void)xid, (void)m;
    far__opaque_auth cred = {FAR_AUTH_SYS, a->cred, a->credlen};
    far__opaque_auth verf = {FAR_AUTH_NONE, NULL, 0};
    return far__opaque_auth_put(e, &cred) && far__opaque_auth_put(e, &verf);
}

static int sys_authenticate(far__sauth *a, const far__call_hdr *h)
{
    if (far__auth_sys_decode(h->cred_body, h->cred_len, &a->sys) != FAR_OK)
        return FAR_AUTH_BADCRED;
    a->has_sys = true;
    return FAR_AUTH_OK;
}

static far_err sys_check_verf(const far__cauth *a, const far__reply_hdr *h, const far__sec_call *sc)
{
    (void)a, (void)sc;
    return h->verf_flavor == FAR_AUTH_NONE || h->verf_flavor == FAR__AUTH_SHORT ? FAR_OK
                                                                                : FAR_EAUTH;
}

const far__auth_ops far__auth_sys = {
    .flavor = FAR_AUTH_SYS,
    .name = "AUTH_SYS",
    .put_cred_verf = sys_put,
    .check_reply_verf = sys_check_verf,
    .authenticate = sys_authenticate,
};

/* ------------------------------------------------------------ the table */

const far__auth_ops *far__auth_find(uint32_t flavor)
{
    switch (flavor) {
    case FAR_AUTH_NONE:
        return &far__auth_none;
    case FAR_AUTH_SYS:
        return &far__auth_sys;
    default:
        return flavor == far__ctx_flavor() ? &far__auth_ctx : NULL;
    }
}

far_err far__cauth_init(far__cauth *a, bool auth_sys, const far_auth_sys *sys)
{
    memset(a, 0, sizeof *a);
    a->ops = &far__auth_none;
    if (!auth_sys)
        return FAR_OK;
    far_auth_sys self;
    if (!sys) {
        far__auth_sys_self(&self);
        sys = &self;
    }
    far_xdr_enc e;
    far_xdr_enc_init(&e, a->cred, sizeof a->cred);
    if (!far__auth_sys_encode(&e, sys))
        return FAR_ELIMIT;
    a->credlen = (uint32_t)e.pos;
    a->ops = &far__auth_sys;
    return FAR_OK;
}

/* ------------------------------------------------------------ auth_stat */

static const struct {
    const char *name, *text;
} stat_tab[] = {
    [FAR_AUTH_OK] = {"AUTH_OK", "success"},
    [FAR_AUTH_BADCRED] = {"AUTH_BADCRED", "bad credential"},
    [FAR_AUTH_REJECTEDCRED] = {"AUTH_REJECTEDCRED", "credential rejected: begin a new session"},
    [FAR_AUTH_BADVERF] = {"AUTH_BADVERF", "bad verifier"},
    [FAR_AUTH_REJECTEDVERF] = {"AUTH_REJECTEDVERF", "verifier expired or replayed"},
    [FAR_AUTH_TOOWEAK] = {"AUTH_TOOWEAK", "credentials too weak for the server"},
    [FAR_AUTH_INVALIDRESP] = {"AUTH_INVALIDRESP", "bogus response verifier"},
    [FAR_AUTH_FAILED] = {"AUTH_FAILED", "authentication failed, reason unknown"},
    [FAR_AUTH_KERB_GENERIC] = {"AUTH_KERB_GENERIC", "kerberos error"},
    [FAR_AUTH_TIMEEXPIRE] = {"AUTH_TIMEEXPIRE", "credential expired"},
    [FAR_AUTH_TKT_FILE] = {"AUTH_TKT_FILE", "problem with the ticket file"},
    [FAR_AUTH_DECODE] = {"AUTH_DECODE", "authenticator could not be decoded"},
    [FAR_AUTH_NET_ADDR] = {"AUTH_NET_ADDR", "wrong network address in the ticket"},
    [FAR_AUTH_RPCSEC_GSS_CREDPROBLEM] = {"RPCSEC_GSS_CREDPROBLEM", "no credentials for the user"},
    [FAR_AUTH_RPCSEC_GSS_CTXPROBLEM] = {"RPCSEC_GSS_CTXPROBLEM", "problem with the context"},
};

FAR__API const char *far_auth_stat_name(int stat)
{
    return stat >= 0 && (size_t)stat < FAR__ARRAY_LEN(stat_tab) ? stat_tab[stat].name : "AUTH_?";
}

FAR__API const char *far_auth_stat_text(int stat)
{
    return stat >= 0 && (size_t)stat < FAR__ARRAY_LEN(stat_tab)
               ? stat_tab[stat].text
               : "an auth_stat the RFC does not define";
}
