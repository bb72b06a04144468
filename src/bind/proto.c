/* The binder protocol (RFC 1833) as registration, lookup and names speak it:
 * the codecs they share, one call to a binder, falling back from one version
 * to an older one, the owner a binder records, and the PMAP v2 form of an
 * address.  The few codecs the layer needs are written out (here and beside
 * their one user), so the library carries no generated code. */
#include "bind/bind.h"

#include <stdio.h>
#include <unistd.h>

/* ------------------------------------------------------------ codecs */

bool far__bind_enc_rpcb(far_xdr_enc *e, const void *v)
{
    const rpcb_args *a = v;
    return far_xdr_put_u32(e, a->prog) && far_xdr_put_u32(e, a->vers) &&
           far_xdr_put_string(e, a->netid, MAX_STR) && far_xdr_put_string(e, a->addr, MAX_STR) &&
           far_xdr_put_string(e, a->owner, MAX_STR);
}

bool far__bind_enc_mapping(far_xdr_enc *e, const void *v)
{
    const mapping_args *m = v;
    return far_xdr_put_u32(e, m->prog) && far_xdr_put_u32(e, m->vers) &&
           far_xdr_put_u32(e, m->prot) && far_xdr_put_u32(e, m->port);
}

bool far__bind_dec_bool(far_xdr_dec *d, void *v)
{
    return far_xdr_get_bool(d, v);
}

bool far__bind_dec_u32(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, v);
}

/* ------------------------------------------------------------ calls */

far_err far__bind_call(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                       far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec, void *res)
{
    far_call_opts o = {.timeout_ms = BIND_TIMEOUT_MS};
    return far_client_call(c, prog, vers, proc, enc, args, dec, res, NULL, &o);
}

bool far__bind_version_missing(far_err rc)
{
    return rc == FAR_EPROG_MISMATCH || rc == FAR_EPROG_UNAVAIL || rc == FAR_EPROC_UNAVAIL;
}

void far__bind_owner_of_self(char *buf, size_t n)
{
    uid_t u = geteuid();
    if (u == 0)
        snprintf(buf, n, "superuser");
    else
        snprintf(buf, n, "%u", (unsigned)u);
}

/* PMAP v2 only knows IPv4 TCP and UDP. */
bool far__bind_pmap_form(const char *netid, const char *uaddr, uint32_t *prot, uint32_t *port)
{
    char addr[FAR_BIND_MAX_ADDR];
    if (strcmp(netid, "tcp") != 0 && strcmp(netid, "udp") != 0)
        return false;
    *prot = netid[0] == 't' ? 6 : 17;
    if (!uaddr)
        return true;
    if (far_bind_uaddr_to_addr(netid, uaddr, addr, sizeof addr) != FAR_OK)
        return false;
    *port = (uint32_t)strtoul(strrchr(addr, ':') + 1, NULL, 10);
    return true;
}
