/* The XDR codec's internal header (RFC 4506): what its files share.  The
 * files, each one job:
 *   enc.c    the encoder's out-of-line parts: growth, scatter lists,
 *            variable-length items, limits, whole values (far_xdr_encode)
 *   dec.c    the decoder's out-of-line parts: variable-length items, padding,
 *            allocation, limits, whole values (far_xdr_decode)
 *   err.c    error records: the first failure, the field and index path to
 *            it, its text (far_xdr_enc_strerror, far_xdr_dec_strerror)
 *   copy.c   the copy of large opaques placed at the 4K-aliasing trap
 *   arena.c  the per-message arena
 *   quad.c   quadruple <-> double
 *   any.c    the built-in types' adapters generated stubs use
 * The fast paths (fixed-size primitives) are inline in farcall/xdr.h, the
 * only header of this layer the layers above use.  What is here is inline
 * when the encode and decode paths use it on every message. */
#ifndef FARCALL_XDR_IMPL_H
#define FARCALL_XDR_IMPL_H

#include "internal.h"

/* ----------------------------------------------------------- error records */

/* Records a failure in *err (the first one only: it explains the others) with
 * printf-style text; returns false. */
bool far__xdr_err_set(far_xdr_error *err, far_err code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Forgets a recorded failure.  Only `code` tells whether there is one (err_setv in err.c
 * fills in the rest), so the ~250 bytes of text are not cleared: a decoder is
 * initialised and an encoder reset once per message. */
static inline void far__xdr_err_clear(far_xdr_error *err)
{
    err->code = FAR_OK;
    err->offset = 0;
    err->msg[0] = '\0';
    err->path_at = 0;
    err->path[0] = '\0';
    err->local = false;
}

/* ------------------------------------------------------------- copy helper */

/* A large copy whose destination lies 1..63 bytes after its source modulo
 * 4 KiB (copy.c). */
void far__xdr_copy_skewed(uint8_t *dst, const uint8_t *src, size_t n);

/* Small copies (every field of an ordinary message) take the inline path. */
static inline void far__xdr_copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t skew = ((uintptr_t)dst - (uintptr_t)src) & 4095;
    if (n >= 4096 && skew != 0 && skew < 64)
        far__xdr_copy_skewed(dst, src, n);
    else
        memcpy(dst, src, n);
}

#endif
