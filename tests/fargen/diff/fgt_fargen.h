/* Differential tests, fargen side: codec adapters on fargen's generated code. */
#ifndef FGT_FARGEN_H
#define FGT_FARGEN_H
#include <stdio.h>

#include <farcall/xdr.h>

#include "fgt.h"

#define FGT_TYPES  fgt_fargen_types
#define FGT_NTYPES fgt_fargen_ntypes

#define FGT_CODEC(T)                                                                               \
    static bool fgt_enc_##T(const void *v, uint8_t *buf, size_t cap, size_t *len)                  \
    {                                                                                              \
        far_xdr_enc e;                                                                             \
        far_xdr_enc_init(&e, buf, cap);                                                            \
        if (!T##_encode(&e, (const T *)v)) {                                                       \
            char why[256];                                                                         \
            fprintf(stderr, "fargen encode %s: %s\n", #T, far_xdr_enc_strerror(&e, why, 256));     \
            return false;                                                                          \
        }                                                                                          \
        *len = far_xdr_enc_len(&e);                                                                \
        return true;                                                                               \
    }                                                                                              \
    static bool fgt_dec_##T(const uint8_t *buf, size_t len, void *v, void *arena, bool quiet)      \
    {                                                                                              \
        far_xdr_dec d;                                                                             \
        far_xdr_dec_init(&d, buf, len, (far_arena *)arena, 0);                                     \
        bool ok = T##_decode(&d, (T *)v) && far_xdr_dec_done(&d);                                  \
        if (!ok && !quiet) {                                                                       \
            char why[256];                                                                         \
            fprintf(stderr, "fargen decode %s: %s\n", #T, far_xdr_dec_strerror(&d, why, 256));     \
        }                                                                                          \
        return ok;                                                                                 \
    }                                                                                              \
    static void fgt_release_##T(void *v, bool from_arena)                                          \
    {                                                                                              \
        if (!from_arena)                                                                           \
            T##_free((T *)v);                                                                      \
    }

#endif
