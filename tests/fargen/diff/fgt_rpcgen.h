/* Differential tests, rpcgen side: codec adapters on rpcgen + libtirpc. */
#ifndef FGT_RPCGEN_H
#define FGT_RPCGEN_H
#include <rpc/rpc.h>

#include "fgt.h"

#define FGT_TYPES  fgt_rpcgen_types
#define FGT_NTYPES fgt_rpcgen_ntypes

/* (void *) because rpcgen's xdr_T takes a T* except for array typedefs */
#define FGT_CODEC(T)                                                                               \
    static bool fgt_enc_##T(const void *v, uint8_t *buf, size_t cap, size_t *len)                  \
    {                                                                                              \
        XDR x;                                                                                     \
        xdrmem_create(&x, (char *)buf, (u_int)cap, XDR_ENCODE);                                    \
        bool ok = xdr_##T(&x, (void *)v);                                                          \
        *len = xdr_getpos(&x);                                                                     \
        xdr_destroy(&x);                                                                           \
        return ok;                                                                                 \
    }                                                                                              \
    static bool fgt_dec_##T(const uint8_t *buf, size_t len, void *v, void *arena, bool quiet)      \
    {                                                                                              \
        (void)arena, (void)quiet;                                                                  \
        XDR x;                                                                                     \
        xdrmem_create(&x, (char *)buf, (u_int)len, XDR_DECODE);                                    \
        bool ok = xdr_##T(&x, v) && xdr_getpos(&x) == len;                                         \
        xdr_destroy(&x);                                                                           \
        return ok;                                                                                 \
    }                                                                                              \
    static void fgt_release_##T(void *v, bool from_arena)                                          \
    {                                                                                              \
        (void)from_arena;                                                                          \
        xdr_free((xdrproc_t)xdr_##T, (char *)v);                                                   \
    }

#endif
