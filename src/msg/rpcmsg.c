/* RPC call and reply headers and authentication flavors (RFC 5531 §8, §9, App. A). */
#include "msg/msg.h"

#include <grp.h>
#include <unistd.h>

static bool put_opaque_auth(far_xdr_enc *e, uint32_t flavor, const uint8_t *body, uint32_t len)
{
    return far_xdr_put_u32(e, flavor) && far_xdr_put_opaque(e, body, len, FAR__MAX_AUTH_BYTES);
}

bool far__opaque_auth_put(far_xdr_enc *e, const far__opaque_auth *a)
{
    return put_opaque_auth(e, a->flavor, a->body, a->len);
}

bool far__call_hdr_put_fixed(far_xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers,
                             uint32_t proc)
{
    uint8_t *p = far_xdr_reserve(e, 24);
    if (!p)
        return false;
    far_xdr_store_u32(p, xid);
    far_xdr_store_u32(p + 4, FAR__MSG_CALL);
    far_xdr_store_u32(p + 8, FAR__RPC_VERS);
    far_xdr_store_u32(p + 12, prog);
    far_xdr_store_u32(p + 16, vers);
    far_xdr_store_u32(p + 20, proc);
    return true;
}

bool far__call_hdr_encode(far_xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                          uint32_t cred_flavor, const uint8_t *cred_body, uint32_t cred_len)
{
    return far__call_hdr_put_fixed(e, xid, prog, vers, proc) &&
           put_opaque_auth(e, cred_flavor, cred_body, cred_len) &&
           put_opaque_auth(e, FAR_AUTH_NONE, NULL, 0);
}

/* An opaque_auth (RFC 5531 §8.2): flavor, then a body of at most 400 bytes
 * whose padding must be zero, as everywhere in XDR.  The body is opaque (may
 * hold NUL bytes), so its length is read by hand. */
static far_err get_opaque_auth(far_xdr_dec *d, uint32_t *flavor, uint32_t *len,
                               const uint8_t **body)
{
    if (!far_xdr_get_u32(d, flavor) || !far_xdr_get_u32(d, len))
        return FAR_ETRUNC;
    if (*len > FAR__MAX_AUTH_BYTES)
        return FAR_ELIMIT;
    size_t pad = far_xdr_pad(*len);
    const uint8_t *b = far_xdr_take(d, *len + pad);
    if (!b)
        return FAR_ETRUNC;
    for (size_t i = 0; i < pad; i++)
        if (b[*len + i])
            return FAR_EPADDING;
    *body = b;
    return FAR_OK;
}

far_err far__call_hdr_decode(far_xdr_dec *d, far__call_hdr *h)
{
    uint32_t mtype;
    const uint8_t *p = far_xdr_take(d, 24);
    if (!p)
        return FAR_ETRUNC;
    h->xid = far_xdr_load_u32(p);
    mtype = far_xdr_load_u32(p + 4);
    if (mtype != FAR__MSG_CALL)
        return FAR_EBADVALUE;
    h->rpcvers = far_xdr_load_u32(p + 8);
    h->prog = far_xdr_load_u32(p + 12);
    h->vers = far_xdr_load_u32(p + 16);
    h->proc = far_xdr_load_u32(p + 20);
    far_err rc = get_opaque_auth(d, &h->cred_flavor, &h->cred_len, &h->cred_body);
    if (rc == FAR_OK)
        rc = get_opaque_auth(d, &h->verf_flavor, &h->verf_len, &h->verf_body);
    return rc;
}

bool far__auth_sys_encode(far_xdr_enc *e, const far_auth_sys *a)
{
    if (a->ngids > FAR_AUTH_SYS_MAX_GIDS)
        return far_xdr_enc_fail(e, FAR_ELIMIT, "AUTH_SYS: %u gids (at most 16)", a->ngids);
    size_t ml = strnlen(a->machinename, sizeof a->machinename);
    if (ml > FAR_AUTH_SYS_MAX_MACHINE)
        return far_xdr_enc_fail(e, FAR_ELIMIT, "AUTH_SYS: machine name too long");
    return far_xdr_put_u32(e, a->stamp) &&
           far_xdr_put_string_n(e, a->machinename, (uint32_t)ml, FAR_AUTH_SYS_MAX_MACHINE) &&
           far_xdr_put_u32(e, a->uid) && far_xdr_put_u32(e, a->gid) &&
           far_xdr_put_count(e, a->ngids, FAR_AUTH_SYS_MAX_GIDS) &&
           far_xdr_put_u32_array(e, a->gids, a->ngids);
}

far_err far__auth_sys_decode(const uint8_t *body, uint32_t len, far_auth_sys *out)
{
    far_xdr_dec d;
    const char *name;
    uint32_t nlen, n;
    if (len > FAR__MAX_AUTH_BYTES)
        return FAR_ELIMIT;
    far_xdr_dec_init(&d, body, len, NULL, 0);
    memset(out, 0, sizeof *out);
    if (!far_xdr_get_u32(&d, &out->stamp) ||
        !far_xdr_get_string_ref(&d, &name, &nlen, FAR_AUTH_SYS_MAX_MACHINE))
        return d.err.code ? d.err.code : FAR_EPROTO;
    if (memchr(name, 0, nlen))
        return FAR_EBADVALUE;
    memcpy(out->machinename, name, nlen);
    out->machinename[nlen] = 0;
    if (!far_xdr_get_u32(&d, &out->uid) || !far_xdr_get_u32(&d, &out->gid) ||
        !far_xdr_get_count(&d, &n, FAR_AUTH_SYS_MAX_GIDS, 4) ||
        !far_xdr_get_u32_array(&d, out->gids, n))
        return d.err.code ? d.err.code : FAR_EPROTO;
    out->ngids = n;
    if (far_xdr_dec_left(&d) != 0)
        return FAR_ETRAILING;
    return FAR_OK;
}

void far__auth_sys_self(far_auth_sys *a)
{
    gid_t groups[64];
    memset(a, 0, sizeof *a);
    a->stamp = (uint32_t)getpid();
    if (gethostname(a->machinename, sizeof a->machinename) != 0)
        strcpy(a->machinename, "localhost");
    a->machinename[FAR_AUTH_SYS_MAX_MACHINE] = 0;
    a->uid = (uint32_t)geteuid();
    a->gid = (uint32_t)getegid();
    int n = getgroups((int)FAR__ARRAY_LEN(groups), groups);
    for (int i = 0; i < n && a->ngids < FAR_AUTH_SYS_MAX_GIDS; i++)
        a->gids[a->ngids++] = (uint32_t)groups[i];
}

bool far__reply_accepted_encode_verf(far_xdr_enc *e, uint32_t xid, const far__opaque_auth *verf,
                                     uint32_t accept_stat, uint32_t low, uint32_t high)
{
    if (!verf || (verf->flavor == FAR_AUTH_NONE && verf->len == 0))
        return far__reply_accepted_encode(e, xid, accept_stat, low, high);
    if (verf->len > FAR__MAX_AUTH_BYTES)
        return false;
    bool mm = accept_stat == FAR__ACC_PROG_MISMATCH;
    uint32_t padded = verf->len + (uint32_t)far_xdr_pad(verf->len);
    uint8_t *p = far_xdr_reserve(e, 12 + 8 + padded + (mm ? 12 : 4)); /* one reservation */
    if (!p)
        return false;
    far_xdr_store_u32(p, xid);
    far_xdr_store_u32(p + 4, FAR__MSG_REPLY);
    far_xdr_store_u32(p + 8, FAR__MSG_ACCEPTED);
    far_xdr_store_u32(p + 12, verf->flavor);
    far_xdr_store_u32(p + 16, verf->len);
    if (verf->len)
        memcpy(p + 20, verf->body, verf->len);
    memset(p + 20 + verf->len, 0, padded - verf->len);
    p += 20 + padded;
    far_xdr_store_u32(p, accept_stat);
    if (mm) {
        far_xdr_store_u32(p + 4, low);
        far_xdr_store_u32(p + 8, high);
    }
    return true;
}

bool far__reply_accepted_encode(far_xdr_enc *e, uint32_t xid, uint32_t accept_stat, uint32_t low,
                                uint32_t high)
{
    bool mm = accept_stat == FAR__ACC_PROG_MISMATCH;
    uint8_t *p = far_xdr_reserve(e, mm ? 32 : 24);
    if (!p)
        return false;
    far_xdr_store_u32(p, xid);
    far_xdr_store_u32(p + 4, FAR__MSG_REPLY);
    far_xdr_store_u32(p + 8, FAR__MSG_ACCEPTED);
    far_xdr_store_u32(p + 12, FAR_AUTH_NONE); /* verifier: AUTH_NONE, empty */
    far_xdr_store_u32(p + 16, 0);
    far_xdr_store_u32(p + 20, accept_stat);
    if (mm) {
        far_xdr_store_u32(p + 24, low);
        far_xdr_store_u32(p + 28, high);
    }
    return true;
}

bool far__reply_denied_encode(far_xdr_enc *e, uint32_t xid, uint32_t reject_stat, uint32_t a,
                              uint32_t b)
{
    bool mm = reject_stat == FAR__REJ_RPC_MISMATCH;
    uint8_t *p = far_xdr_reserve(e, mm ? 24 : 20);
    if (!p)
        return false;
    far_xdr_store_u32(p, xid);
    far_xdr_store_u32(p + 4, FAR__MSG_REPLY);
    far_xdr_store_u32(p + 8, FAR__MSG_DENIED);
    far_xdr_store_u32(p + 12, reject_stat);
    far_xdr_store_u32(p + 16, a);
    if (mm)
        far_xdr_store_u32(p + 20, b);
    return true;
}

far_err far__reply_hdr_decode(far_xdr_dec *d, far__reply_hdr *h)
{
    uint32_t mtype;
    memset(h, 0, sizeof *h);
    if (!far_xdr_get_u32(d, &h->xid) || !far_xdr_get_u32(d, &mtype) ||
        !far_xdr_get_u32(d, &h->reply_stat))
        return FAR_EPROTO;
    if (mtype != FAR__MSG_REPLY)
        return FAR_EPROTO;
    if (h->reply_stat == FAR__MSG_ACCEPTED) {
        if (get_opaque_auth(d, &h->verf_flavor, &h->verf_len, &h->verf_body) != FAR_OK ||
            !far_xdr_get_u32(d, &h->stat))
            return FAR_EPROTO;
        if (h->stat == FAR__ACC_PROG_MISMATCH &&
            (!far_xdr_get_u32(d, &h->low) || !far_xdr_get_u32(d, &h->high)))
            return FAR_EPROTO;
        if (h->stat > FAR__ACC_SYSTEM_ERR)
            return FAR_EPROTO;
        return FAR_OK;
    }
    if (h->reply_stat != FAR__MSG_DENIED || !far_xdr_get_u32(d, &h->stat))
        return FAR_EPROTO;
    if (h->stat == FAR__REJ_RPC_MISMATCH)
        return far_xdr_get_u32(d, &h->low) && far_xdr_get_u32(d, &h->high) ? FAR_OK : FAR_EPROTO;
    if (h->stat == FAR__REJ_AUTH_ERROR)
        return far_xdr_get_u32(d, &h->auth_stat) ? FAR_OK : FAR_EPROTO;
    return FAR_EPROTO;
}

far_err far__reply_err(const far__reply_hdr *h)
{
    if (h->reply_stat == FAR__MSG_DENIED) {
        if (h->stat == FAR__REJ_RPC_MISMATCH)
            return FAR_ERPC_MISMATCH;
        if (h->auth_stat == FAR__AUTH_NO_STORE)
            return FAR_EUNSUPPORTED;
        return h->auth_stat == FAR__AUTH_IDEMPOTENCY ? FAR_EIDEMPOTENCY : FAR_EAUTH;
    }
    switch (h->stat) {
    case FAR__ACC_SUCCESS:
        return FAR_OK;
    case FAR__ACC_PROG_UNAVAIL:
        return FAR_EPROG_UNAVAIL;
    case FAR__ACC_PROG_MISMATCH:
        return FAR_EPROG_MISMATCH;
    case FAR__ACC_PROC_UNAVAIL:
        return FAR_EPROC_UNAVAIL;
    case FAR__ACC_GARBAGE_ARGS:
        return FAR_EGARBAGE_ARGS;
    default:
        return FAR_ESYSTEM_ERR;
    }
}
