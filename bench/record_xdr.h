/* bench.x's `record` with its codec written by hand on farcall's XDR
 * primitives, in the shape fargen generates (examples/xdrdemo/file_xdr.h,
 * tests/common/nested_xdr.h).  Until fargen exists the benchmark uses this
 * file; fargen's output for bench.x will replace it with the same names. */
#ifndef BENCH_RECORD_XDR_H
#define BENCH_RECORD_XDR_H

#include <farcall/xdr.h>

/* bench.x:12 */
typedef struct record {
    int32_t id;
    int64_t stamp;
    char *name;
    uint8_t tag[16];
    struct {
        uint32_t len;
        int32_t *val;
    } values;
} record;

static inline bool record_encode(far_xdr_enc *e, const record *v)
{
    if (!far_xdr_put_i32(e, v->id))
        return far_xdr_enc_field(e, "id");
    if (!far_xdr_put_i64(e, v->stamp))
        return far_xdr_enc_field(e, "stamp");
    if (!far_xdr_put_string(e, v->name, 64))
        return far_xdr_enc_field(e, "name");
    if (!far_xdr_put_opaque_fixed(e, v->tag, 16))
        return far_xdr_enc_field(e, "tag");
    if (!far_xdr_put_count(e, v->values.len, 16) ||
        !far_xdr_put_u32_array(e, (const uint32_t *)v->values.val, v->values.len))
        return far_xdr_enc_field(e, "values");
    return true;
}

static inline bool record_decode(far_xdr_dec *d, record *v)
{
    if (!far_xdr_get_i32(d, &v->id))
        return far_xdr_dec_field(d, "id");
    if (!far_xdr_get_i64(d, &v->stamp))
        return far_xdr_dec_field(d, "stamp");
    if (!far_xdr_get_string(d, &v->name, 64))
        return far_xdr_dec_field(d, "name");
    if (!far_xdr_get_opaque_fixed(d, v->tag, 16))
        return far_xdr_dec_field(d, "tag");
    uint32_t n;
    if (!far_xdr_get_count(d, &n, 16, 4))
        return far_xdr_dec_field(d, "values");
    v->values.len = n;
    v->values.val = far_xdr_alloc_array(d, n, sizeof(int32_t));
    if (!v->values.val || !far_xdr_get_u32_array(d, (uint32_t *)v->values.val, n))
        return far_xdr_dec_field(d, "values");
    return true;
}

/* Adapters with the generic far_xdr_encode_fn / far_xdr_decode_fn shape. */
static inline bool record_encode_any(far_xdr_enc *e, const void *v)
{
    return record_encode(e, (const record *)v);
}
static inline bool record_decode_any(far_xdr_dec *d, void *v)
{
    return record_decode(d, (record *)v);
}

#endif
