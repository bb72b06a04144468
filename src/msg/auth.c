/* The auth-ops interface's first two flavors: AUTH_NONE and AUTH_SYS
 * (RFC 5531 §10 and Appendix A), and the table a server finds flavors in. */
#include "msg/msg.h"

/* ------------------------------------------------------------ AUTH_NONE */

static bool none_put(const far__cauth *a, far_xdr_enc *e, uint32_t xid)
{
    (void)a, (void)xid;
    uint8_t *p = far_xdr_reserve(e, 16); /* credential and verifier: flavor 0, empty */
    if (!p)
        return false;
    memset(p, 0, 16);
    return true;
}

static int none_authenticate(far__sauth *a, const far__call_hdr *h)
{
    (void)a, (void)h;
    return FAR__AUTH_OK;
}

/* A server answers an AUTH_NONE call (and, RFC 5531 Appendix A, an AUTH_SYS
 * one) with an AUTH_NONE verifier; for AUTH_SYS it may instead hand out an
 * AUTH_SHORT credential in it, which this client does not use.  Anything
 * else is a server this client cannot vouch for. */
static far_err none_check_verf(const far__cauth *a, const far__reply_hdr *h)
{
    (void)a;
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

static bool sys_put(const far__cauth *a, far_xdr_enc *e, uint32_t xid)
{
    (void)xid;
    far__opaque_auth cred = {FAR_AUTH_SYS, a->cred, a->credlen};
    far__opaque_auth verf = {FAR_AUTH_NONE, NULL, 0};
    return far__opaque_auth_put(e, &cred) && far__opaque_auth_put(e, &verf);
}

static int sys_authenticate(far__sauth *a, const far__call_hdr *h)
{
    if (far__auth_sys_decode(h->cred_body, h->cred_len, &a->sys) != FAR_OK)
        return FAR__AUTH_BADCRED;
    a->has_sys = true;
    return FAR__AUTH_OK;
}

static far_err sys_check_verf(const far__cauth *a, const far__reply_hdr *h)
{
    (void)a;
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
        return NULL;
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
