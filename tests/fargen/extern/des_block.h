/* key_prot.x's des_block, as a user supplies an external type to fargen
 * (fargen --extern des_block=des_block.h key_prot.x): the C type is
 * libtirpc's (<rpc/auth.h>), as rpcgen's output has it; des_block.c has its
 * codec in fargen's signatures, on the wire opaque[8] as libtirpc's
 * xdr_des_block. */
#ifndef DES_BLOCK_H
#define DES_BLOCK_H

#include <rpc/auth.h>

#include <farcall/xdr.h>

#ifdef __cplusplus
extern "C" {
#endif

bool des_block_encode(far_xdr_enc *e, const des_block *v);
bool des_block_decode(far_xdr_dec *d, des_block *v);
void des_block_free(des_block *v);

#ifdef __cplusplus
}
#endif

#endif
