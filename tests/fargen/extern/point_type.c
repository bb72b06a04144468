/* The codec of the external type point (point_type.h): x, y, then the label as
 * string<16>.  far_xdr_get_string allocates from the decoder's arena, or
 * with malloc in heap mode, where point_free releases it. */
#include <stdlib.h>

#include "point_type.h"

bool point_encode(far_xdr_enc *e, const point *v)
{
    return far_xdr_put_i32(e, v->x) && far_xdr_put_i32(e, v->y) &&
           far_xdr_put_string(e, v->label, 16);
}

bool point_decode(far_xdr_dec *d, point *v)
{
    v->label = NULL; /* point_free takes what a failed decode leaves */
    return far_xdr_get_i32(d, &v->x) && far_xdr_get_i32(d, &v->y) &&
           far_xdr_get_string(d, &v->label, 16);
}

void point_free(point *v)
{
    free(v->label);
}
