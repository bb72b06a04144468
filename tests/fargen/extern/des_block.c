/* The codec of the external type des_block (des_block.h). */
#include "des_block.h"

bool des_block_encode(far_xdr_enc *e, const des_block *v)
{
    return far_xdr_put_opaque_fixed(e, v->c, sizeof v->c);
}

bool des_block_decode(far_xdr_dec *d, des_block *v)
{
    return far_xdr_get_opaque_fixed(d, v->c, sizeof v->c);
}

void des_block_free(des_block *v)
{
    (void)v; /* owns nothing */
}
