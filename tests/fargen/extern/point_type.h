/* The external type point of point.x, as a user supplies it: the C type and
 * its codec in fargen's signatures (point_type.c).  A point owns memory (its
 * label), so the generated free functions must call point_free. */
#ifndef POINT_TYPE_H
#define POINT_TYPE_H

#include <stdint.h>

#include <farcall/xdr.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct point {
    int32_t x, y;
    char *label; /* string<16> on the wire */
} point;

bool point_encode(far_xdr_enc *e, const point *v);
bool point_decode(far_xdr_dec *d, point *v);
void point_free(point *v);

#ifdef __cplusplus
}
#endif

#endif
