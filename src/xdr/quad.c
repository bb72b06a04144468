/* quadruple (RFC 4506 §4.8): IEEE 754 binary128, converted from and to double
 * by bit manipulation so no platform binary128 type is needed. */
#include "internal.h"

#ifndef __SIZEOF_INT128__
#error "farcall's quadruple conversion needs a compiler with unsigned __int128"
#endif

typedef unsigned __int128 u128;

#define QBIAS 16383
#define DBIAS 1023
#define QFRAC 112 /* binary128 fraction bits */
#define DFRAC 52  /* binary64 fraction bits */

static far_quad quad_pack(u128 bits)
{
    far_quad q;
    for (int i = 15; i >= 0; i--) {
        q.bytes[i] = (uint8_t)bits;
        bits >>= 8;
    }
    return q;
}

static u128 quad_unpack(far_quad q)
{
    u128 bits = 0;
    for (int i = 0; i < 16; i++)
        bits = (bits << 8) | q.bytes[i];
    return bits;
}

FAR__API far_quad far_quad_from_double(double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    u128 sign = (u128)(b >> 63) << 127;
    uint64_t e = (b >> DFRAC) & 0x7ff;
    uint64_t m = b & (((uint64_t)1 << DFRAC) - 1);
    u128 qe, qm;
    if (e == 0x7ff) { /* infinity or NaN: keep the payload's top bits */
        qe = 0x7fff;
        qm = (u128)m << (QFRAC - DFRAC);
    } else if (e == 0 && m == 0) {
        qe = 0;
        qm = 0;
    } else if (e == 0) {                 /* subnormal double: normal in binary128 */
        int k = 63 - __builtin_clzll(m); /* value = 2^(k-1074) * 1.frac */
        qe = (u128)(k - 1074 + QBIAS);
        qm = ((u128)(m - ((uint64_t)1 << k))) << (QFRAC - k);
    } else {
        qe = e - DBIAS + QBIAS;
        qm = (u128)m << (QFRAC - DFRAC);
    }
    return quad_pack(sign | (qe << QFRAC) | qm);
}

/* Rounds sig >> shift to nearest, ties to even (shift >= 1). */
static uint64_t round_shift(u128 sig, int shift)
{
    u128 m = sig >> shift;
    u128 rem = sig & (((u128)1 << shift) - 1);
    u128 half = (u128)1 << (shift - 1);
    if (rem > half || (rem == half && (m & 1)))
        m++;
    return (uint64_t)m;
}

FAR__API double far_quad_to_double(far_quad q)
{
    u128 bits = quad_unpack(q);
    uint64_t sign = (uint64_t)(bits >> 127) << 63;
    int qe = (int)((bits >> QFRAC) & 0x7fff);
    u128 qm = bits & (((u128)1 << QFRAC) - 1);
    uint64_t out;
    if (qe == 0x7fff) {
        uint64_t m = (uint64_t)(qm >> (QFRAC - DFRAC));
        if (qm && !m)
            m = (uint64_t)1 << (DFRAC - 1); /* NaN whose payload was all low bits */
        out = sign | ((uint64_t)0x7ff << DFRAC) | m;
    } else if (qe == 0) {
        out = sign; /* zero, or a binary128 subnormal: far below double's range */
    } else {
        int E = qe - QBIAS;
        if (E > DBIAS) {
            out = sign | ((uint64_t)0x7ff << DFRAC);
        } else if (E >= 1 - DBIAS) {
            /* normal; a rounding carry into bit 52 bumps the exponent, and from
             * the top exponent gives infinity, both by the addition */
            out = sign + ((uint64_t)(E + DBIAS) << DFRAC) + round_shift(qm, QFRAC - DFRAC);
        } else {
            int shift = -962 - E; /* units of 2^-1074: subnormal double */
            u128 sig = ((u128)1 << QFRAC) | qm;
            out = sign | (shift > QFRAC + 1 ? 0 : round_shift(sig, shift));
        }
    }
    double v;
    memcpy(&v, &out, 8);
    return v;
}
