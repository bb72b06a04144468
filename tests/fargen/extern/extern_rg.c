/* fargen_extern, the rpcgen side: key_prot.x through rpcgen + libtirpc,
 * whose des_block is libtirpc's own (xdr_des_block). */
#include <string.h>

#include <rpc/rpc.h>

#include "extern_test.h"
#include "key_prot.h"

bool rg_encode_cryptkeyarg(const char *name, const uint8_t key[8], uint8_t *buf, size_t cap,
                           size_t *len)
{
    cryptkeyarg a;
    memset(&a, 0, sizeof a);
    a.remotename = (char *)name;
    memcpy(a.deskey.c, key, 8);
    XDR x;
    xdrmem_create(&x, (char *)buf, (u_int)cap, XDR_ENCODE);
    bool ok = xdr_cryptkeyarg(&x, &a);
    *len = xdr_getpos(&x);
    xdr_destroy(&x);
    return ok;
}

bool rg_decode_cryptkeyarg(const uint8_t *buf, size_t len, char *name, size_t name_cap,
                           uint8_t key[8])
{
    cryptkeyarg a;
    memset(&a, 0, sizeof a);
    XDR x;
    xdrmem_create(&x, (char *)buf, (u_int)len, XDR_DECODE);
    bool ok = xdr_cryptkeyarg(&x, &a) && xdr_getpos(&x) == len && strlen(a.remotename) < name_cap;
    if (ok) {
        strcpy(name, a.remotename);
        memcpy(key, a.deskey.c, 8);
    }
    xdr_destroy(&x);
    xdr_free((xdrproc_t)xdr_cryptkeyarg, (char *)&a);
    return ok;
}

bool rg_encode_cryptkeyres(const uint8_t key[8], uint8_t *buf, size_t cap, size_t *len)
{
    cryptkeyres r;
    memset(&r, 0, sizeof r);
    r.status = KEY_SUCCESS;
    memcpy(r.cryptkeyres_u.deskey.c, key, 8);
    XDR x;
    xdrmem_create(&x, (char *)buf, (u_int)cap, XDR_ENCODE);
    bool ok = xdr_cryptkeyres(&x, &r);
    *len = xdr_getpos(&x);
    xdr_destroy(&x);
    return ok;
}
