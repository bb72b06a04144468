/* XDR decoder (RFC 4506): the out-of-line parts of decoding.
 *
 * The fast paths (fixed-size primitives) are inline in farcall/xdr.h; this file
 * holds variable-length items, padding checks, allocation from the arena or
 * the heap and limits, and whole values decoded from one buffer
 * (far_xdr_decode). */
#include "xdr/xdr_impl.h"

FAR__API void far_xdr_dec_init(far_xdr_dec *d, const void *buf, size_t len, far_arena *arena,
                               unsigned flags)
{
    _Static_assert(offsetof(far_xdr_dec, err) + sizeof(far_xdr_error) == sizeof(far_xdr_dec),
                   "err must stay the decoder's last member");
    /* everything but err is zeroed; err only needs far__xdr_err_clear */
    memset(d, 0, offsetof(far_xdr_dec, err));
    far__xdr_err_clear(&d->err);
    d->start = d->p = buf;
    d->end = d->start + (buf ? len : 0);
    d->arena = arena;
    d->flags = flags;
    d->max_depth = FAR_XDR_DEFAULT_MAX_DEPTH;
    d->max_chain = FAR_XDR_DEFAULT_MAX_CHAIN;
    d->max_alloc = FAR_XDR_DEFAULT_MAX_ALLOC;
    if ((flags & FAR_XDR_ZEROCOPY) && !arena) {
        far__xdr_err_set(&d->err, FAR_EMISUSE, 0, "zero-copy decoding needs an arena");
        d->end = d->p; /* every read now fails, keeping this reason */
    }
}

FAR__API void far_xdr_dec_set_max_depth(far_xdr_dec *d, unsigned max_depth)
{
    d->max_depth = max_depth;
}

FAR__API void far_xdr_dec_set_max_chain(far_xdr_dec *d, uint32_t max_chain)
{
    d->max_chain = max_chain;
}

FAR__API void far_xdr_dec_set_max_alloc(far_xdr_dec *d, size_t max_alloc)
{
    d->max_alloc = max_alloc;
}

FAR__API bool far__xdr_dec_short(far_xdr_dec *d, size_t need)
{
    return far__xdr_err_set(&d->err, FAR_ETRUNC, far_xdr_dec_pos(d), "needs %zu bytes, %zu left",
                            need, far_xdr_dec_left(d));
}

FAR__API bool far_xdr_get_bool(far_xdr_dec *d, bool *v)
{
    uint32_t u;
    if (!far_xdr_get_u32(d, &u))
        return false;
    if (u > 1)
        return far__xdr_err_set(&d->err, FAR_EBADVALUE, far_xdr_dec_pos(d) - 4,
                                "bool must be 0 or 1, not %" PRIu32, u);
    *v = u != 0;
    return true;
}

static bool get_ranged(far_xdr_dec *d, int32_t *v, int32_t lo, int32_t hi, const char *type)
{
    if (!far_xdr_get_i32(d, v))
        return false;
    if (*v < lo || *v > hi)
        return far__xdr_err_set(&d->err, FAR_EBADVALUE, far_xdr_dec_pos(d) - 4,
                                "%s must be in %" PRId32 "..%" PRId32 ", not %" PRId32, type, lo,
                                hi, *v);
    return true;
}

FAR__API bool far_xdr_get_char(far_xdr_dec *d, int8_t *v)
{
    int32_t x;
    if (!get_ranged(d, &x, INT8_MIN, INT8_MAX, "char"))
        return false;
    *v = (int8_t)x;
    return true;
}

FAR__API bool far_xdr_get_u_char(far_xdr_dec *d, uint8_t *v)
{
    int32_t x;
    if (!get_ranged(d, &x, 0, UINT8_MAX, "u_char"))
        return false;
    *v = (uint8_t)x;
    return true;
}

FAR__API bool far_xdr_get_short(far_xdr_dec *d, int16_t *v)
{
    int32_t x;
    if (!get_ranged(d, &x, INT16_MIN, INT16_MAX, "short"))
        return false;
    *v = (int16_t)x;
    return true;
}

FAR__API bool far_xdr_get_u_short(far_xdr_dec *d, uint16_t *v)
{
    int32_t x;
    if (!get_ranged(d, &x, 0, UINT16_MAX, "u_short"))
        return false;
    *v = (uint16_t)x;
    return true;
}

FAR__API bool far_xdr_get_quad(far_xdr_dec *d, far_quad *v)
{
    const uint8_t *p = far_xdr_take(d, 16);
    if (!p)
        return false;
    memcpy(v->bytes, p, 16);
    return true;
}

FAR__API void *far_xdr_alloc(far_xdr_dec *d, size_t n)
{
    void *p;
    bool first = d->err.code == FAR_OK; /* a failure here is recorded, and local */
    if (d->arena) {
        p = far_arena_alloc(d->arena, n);
        if (!p) {
            far_arena *a = d->arena;
            if (n > a->max - a->used)
                far__xdr_err_set(
                    &d->err, FAR_ELIMIT, far_xdr_dec_pos(d),
                    "allocating %zu bytes would pass the arena's limit (%zu of %zu used)", n,
                    a->used, a->max);
            if (first && n > a->max - a->used)
                d->err.limit = FAR_XDR_LIMIT_ARENA;
            else
                far__xdr_err_set(&d->err, FAR_ENOMEM, far_xdr_dec_pos(d),
                                 "cannot allocate %zu bytes", n);
            d->err.local = d->err.local || first;
        }
        return p;
    }
    if (n > d->max_alloc - d->heap_used) {
        far__xdr_err_set(&d->err, FAR_ELIMIT, far_xdr_dec_pos(d),
                         "allocating %zu bytes would pass the decoder's limit (%zu of %zu used)", n,
                         d->heap_used, d->max_alloc);
        d->err.local = d->err.local || first;
        if (first)
            d->err.limit = FAR_XDR_LIMIT_ALLOC;
        return NULL;
    }
    p = malloc(n ? n : 1);
    if (!p) {
        far__xdr_err_set(&d->err, FAR_ENOMEM, far_xdr_dec_pos(d), "cannot allocate %zu bytes", n);
        d->err.local = d->err.local || first;
        return NULL;
    }
    d->heap_used += n;
    return p;
}

FAR__API void *far_xdr_alloc_array(far_xdr_dec *d, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        far__xdr_err_set(&d->err, FAR_EOVERFLOW, far_xdr_dec_pos(d),
                         "%zu elements of %zu bytes overflow", count, size);
        return NULL;
    }
    void *p = far_xdr_alloc(d, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

/* Checks that the `pad` bytes at p are zero (RFC 4506 §3: "the residual
 * bytes ... must be zero"). */
static bool pad_ok(far_xdr_dec *d, const uint8_t *p, size_t pad)
{
    for (size_t i = 0; i < pad; i++)
        if (p[i])
            return far__xdr_err_set(&d->err, FAR_EPADDING, (size_t)(p + i - d->start),
                                    "padding byte is 0x%02x, not zero", p[i]);
    return true;
}

FAR__API bool far_xdr_get_opaque_fixed(far_xdr_dec *d, void *dst, size_t n)
{
    size_t pad = far_xdr_pad(n);
    if (n > far_xdr_dec_left(d) || pad > far_xdr_dec_left(d) - n)
        return far__xdr_err_set(&d->err, FAR_ETRUNC, far_xdr_dec_pos(d),
                                "opaque[%zu] needs %zu bytes, %zu left", n, n + pad,
                                far_xdr_dec_left(d));
    if (!pad_ok(d, d->p + n, pad))
        return false;
    if (n)
        far__xdr_copy_bytes(dst, d->p, n);
    d->p += n + pad;
    return true;
}

/* Reads a length word and checks it against `max` and the input left
 * (including padding), before anything is allocated.  On success d->p points
 * at the data, which is followed by verified zero padding.  *n is written only
 * on success; callers initialise it anyway (gcc -O2 -Wmaybe-uninitialized
 * cannot follow the error paths through far__xdr_err_set). */
static bool get_len(far_xdr_dec *d, uint32_t *n, uint32_t max, const char *what)
{
    size_t off = far_xdr_dec_pos(d);
    uint32_t len;
    if (!far_xdr_get_u32(d, &len))
        return false;
    if (len > max)
        return far__xdr_err_set(&d->err, FAR_ELIMIT, off,
                                "%s length %" PRIu32 " exceeds its maximum %" PRIu32, what, len,
                                max);
    size_t pad = far_xdr_pad(len);
    if (len > far_xdr_dec_left(d) || pad > far_xdr_dec_left(d) - len)
        return far__xdr_err_set(&d->err, FAR_ETRUNC, off,
                                "%s length %" PRIu32 " exceeds the %zu bytes left", what, len,
                                far_xdr_dec_left(d));
    if (!pad_ok(d, d->p + len, pad))
        return false;
    *n = len;
    return true;
}

FAR__API bool far_xdr_get_opaque(far_xdr_dec *d, uint8_t **p, uint32_t *n, uint32_t max)
{
    uint32_t len = 0;
    if (!get_len(d, &len, max, "opaque"))
        return false;
    uint8_t *out = NULL;
    if (len && (d->flags & FAR_XDR_ZEROCOPY)) {
        out = (uint8_t *)d->p;
    } else if (len) {
        out = far_xdr_alloc(d, len);
        if (!out)
            return false;
        far__xdr_copy_bytes(out, d->p, len);
    }
    d->p += len + far_xdr_pad(len);
    *p = out;
    *n = len;
    return true;
}

FAR__API bool far_xdr_get_opaque_into(far_xdr_dec *d, void *dst, uint32_t *n, uint32_t cap)
{
    uint32_t len = 0;
    if (!get_len(d, &len, cap, "opaque"))
        return false;
    if (len)
        far__xdr_copy_bytes(dst, d->p, len);
    d->p += len + far_xdr_pad(len);
    *n = len;
    return true;
}

static bool string_ok(far_xdr_dec *d, uint32_t len)
{
    const uint8_t *nul = len ? memchr(d->p, 0, len) : NULL;
    if (nul)
        return far__xdr_err_set(&d->err, FAR_EBADVALUE, (size_t)(nul - d->start),
                                "string contains a NUL byte at index %zu", (size_t)(nul - d->p));
    return true;
}

FAR__API bool far_xdr_get_string(far_xdr_dec *d, char **s, uint32_t max)
{
    uint32_t len = 0;
    if (!get_len(d, &len, max, "string") || !string_ok(d, len))
        return false;
    size_t pad = far_xdr_pad(len);
    char *out;
    if ((d->flags & FAR_XDR_ZEROCOPY) && pad) {
        out = (char *)d->p; /* the first (verified zero) pad byte terminates it */
    } else {
        out = far_xdr_alloc(d, (size_t)len + 1);
        if (!out)
            return false;
        if (len)
            memcpy(out, d->p, len);
        out[len] = '\0';
    }
    d->p += len + pad;
    *s = out;
    return true;
}

FAR__API bool far_xdr_get_string_ref(far_xdr_dec *d, const char **s, uint32_t *n, uint32_t max)
{
    uint32_t len = 0;
    if (!get_len(d, &len, max, "string") || !string_ok(d, len))
        return false;
    *s = (const char *)d->p;
    *n = len;
    d->p += len + far_xdr_pad(len);
    return true;
}

FAR__API bool far_xdr_get_count(far_xdr_dec *d, uint32_t *n, uint32_t max, size_t min_wire)
{
    size_t off = far_xdr_dec_pos(d);
    uint32_t c;
    if (!far_xdr_get_u32(d, &c))
        return false;
    if (c > max)
        return far__xdr_err_set(&d->err, FAR_ELIMIT, off,
                                "count %" PRIu32 " exceeds its maximum %" PRIu32, c, max);
    if (min_wire && c > far_xdr_dec_left(d) / min_wire)
        return far__xdr_err_set(&d->err, FAR_ETRUNC, off,
                                "count %" PRIu32 " of %zu-byte elements exceeds the %zu bytes left",
                                c, min_wire, far_xdr_dec_left(d));
    *n = c;
    return true;
}

FAR__API bool far_xdr_get_u32_array(far_xdr_dec *d, uint32_t *v, size_t n)
{
    if (n > far_xdr_dec_left(d) / 4)
        return far__xdr_err_set(&d->err, FAR_ETRUNC, far_xdr_dec_pos(d),
                                "%zu words need %zu bytes left", n, far_xdr_dec_left(d));
    const uint8_t *p = d->p;
    for (size_t i = 0; i < n; i++)
        v[i] = far_xdr_load_u32(p + 4 * i);
    d->p += 4 * n;
    return true;
}

FAR__API bool far_xdr_get_u64_array(far_xdr_dec *d, uint64_t *v, size_t n)
{
    if (n > far_xdr_dec_left(d) / 8)
        return far__xdr_err_set(&d->err, FAR_ETRUNC, far_xdr_dec_pos(d),
                                "%zu hypers need %zu bytes left", n, far_xdr_dec_left(d));
    const uint8_t *p = d->p;
    for (size_t i = 0; i < n; i++)
        v[i] = far_xdr_load_u64(p + 8 * i);
    d->p += 8 * n;
    return true;
}

FAR__API bool far_xdr_dec_done(far_xdr_dec *d)
{
    if (d->err.code != FAR_OK)
        return false;
    if (d->p != d->end)
        return far__xdr_err_set(&d->err, FAR_ETRAILING, far_xdr_dec_pos(d), "%zu bytes left over",
                                far_xdr_dec_left(d));
    return true;
}

/* ------------------------------------------------------------ whole values */

FAR__API far_err far_xdr_decode(far_xdr_decode_fn fn, void *v, const void *buf, size_t len,
                                far_arena *arena, unsigned flags, char *why, size_t why_len)
{
    if (!fn || !v || (!buf && len))
        return FAR_EMISUSE;
    far_xdr_dec d;
    far_xdr_dec_init(&d, buf, len, arena, flags);
    bool ok = fn(&d, v) && far_xdr_dec_done(&d);
    if (ok)
        return FAR_OK;
    if (d.err.code == FAR_OK)
        far__xdr_err_set(&d.err, FAR_EBADVALUE, far_xdr_dec_pos(&d),
                         "the decode function gave no reason");
    if (why)
        far_xdr_dec_strerror(&d, why, why_len);
    return d.err.code;
}
