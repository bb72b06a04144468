/* The built-in types' adapters to far_xdr_encode_fn / far_xdr_decode_fn,
 * which generated stubs and server tables use for a procedure argument or
 * result of a built-in type.  Provided once here rather than in every
 * generated file, so that any number of .x files' code links into one
 * program. */
#include "internal.h"

/* int, long */
FAR__API bool far_xdr_int32_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_i32(e, *(const int32_t *)v);
}

FAR__API bool far_xdr_int32_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_i32(d, (int32_t *)v);
}

/* unsigned, unsigned long */
FAR__API bool far_xdr_uint32_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}

FAR__API bool far_xdr_uint32_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}

/* hyper */
FAR__API bool far_xdr_int64_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_i64(e, *(const int64_t *)v);
}

FAR__API bool far_xdr_int64_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_i64(d, (int64_t *)v);
}

/* unsigned hyper */
FAR__API bool far_xdr_uint64_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u64(e, *(const uint64_t *)v);
}

FAR__API bool far_xdr_uint64_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u64(d, (uint64_t *)v);
}

/* float */
FAR__API bool far_xdr_float_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_float(e, *(const float *)v);
}

FAR__API bool far_xdr_float_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_float(d, (float *)v);
}

/* double */
FAR__API bool far_xdr_double_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_double(e, *(const double *)v);
}

FAR__API bool far_xdr_double_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_double(d, (double *)v);
}

/* quadruple */
FAR__API bool far_xdr_quad_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_quad(e, (const far_quad *)v);
}

FAR__API bool far_xdr_quad_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_quad(d, (far_quad *)v);
}

/* bool */
FAR__API bool far_xdr_bool_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_bool(e, *(const bool *)v);
}

FAR__API bool far_xdr_bool_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_bool(d, (bool *)v);
}

/* char */
FAR__API bool far_xdr_char_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_char(e, *(const int8_t *)v);
}

FAR__API bool far_xdr_char_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_char(d, (int8_t *)v);
}

/* unsigned char */
FAR__API bool far_xdr_u_char_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u_char(e, *(const uint8_t *)v);
}

FAR__API bool far_xdr_u_char_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u_char(d, (uint8_t *)v);
}

/* short */
FAR__API bool far_xdr_short_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_short(e, *(const int16_t *)v);
}

FAR__API bool far_xdr_short_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_short(d, (int16_t *)v);
}

/* unsigned short */
FAR__API bool far_xdr_u_short_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u_short(e, *(const uint16_t *)v);
}

FAR__API bool far_xdr_u_short_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u_short(d, (uint16_t *)v);
}

/* string<> */
FAR__API bool far_xdr_string_encode_any(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_string(e, *(char *const *)v, FAR_XDR_UNBOUNDED);
}

FAR__API bool far_xdr_string_decode_any(far_xdr_dec *d, void *v)
{
    return far_xdr_get_string(d, (char **)v, FAR_XDR_UNBOUNDED);
}
