/* XDR encoder (RFC 4506): the out-of-line parts of encoding.
 *
 * The fast paths (fixed-size primitives) are inline in farcall/xdr.h; this file
 * holds growth, scatter lists, variable-length items and limits, and whole
 * values encoded into one buffer (far_xdr_encode). */
#include "xdr/xdr_impl.h"

FAR__API void far_xdr_enc_init(far_xdr_enc *e, void *buf, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->buf = buf;
    e->cap = buf ? cap : 0;
    e->max = SIZE_MAX;
}

FAR__API far_err far_xdr_enc_init_grow(far_xdr_enc *e, size_t initial, size_t max)
{
    memset(e, 0, sizeof *e);
    e->growable = 1;
    e->max = max ? max : ((size_t)64 << 20);
    if (initial == 0)
        initial = 256;
    if (initial > e->max)
        initial = e->max;
    e->buf = malloc(initial);
    if (!e->buf) {
        far__xdr_err_set(&e->err, FAR_ENOMEM, 0, "cannot allocate %zu bytes", initial);
        return FAR_ENOMEM;
    }
    e->cap = initial;
    return FAR_OK;
}

FAR__API void far_xdr_enc_fini(far_xdr_enc *e)
{
    if (!e)
        return;
    if (e->growable)
        free(e->buf);
    free(e->segs);
    memset(e, 0, sizeof *e);
}

FAR__API void far_xdr_enc_reset(far_xdr_enc *e)
{
    e->pos = 0;
    e->ref_bytes = 0;
    e->nsegs = 0;
    e->seg_from = 0;
    far__xdr_err_clear(&e->err);
}

FAR__API void far_xdr_enc_set_ref_min(far_xdr_enc *e, size_t min)
{
    e->ref_min = min;
}

FAR__API bool far__xdr_enc_room(far_xdr_enc *e, size_t n)
{
    size_t total = e->pos + e->ref_bytes;
    if (e->err.code != FAR_OK)
        return false;
    if (!e->growable)
        return far__xdr_err_set(&e->err, FAR_ENOSPACE, total,
                                "needs %zu bytes, %zu left in a %zu-byte buffer", n,
                                e->cap - e->pos, e->cap);
    if (n > e->max - total)
        return far__xdr_err_set(&e->err, FAR_ENOSPACE, total,
                                "encoding would exceed its maximum of %zu bytes", e->max);
    size_t want = e->cap * 2;
    if (want < e->pos + n)
        want = e->pos + n;
    if (want > e->max - e->ref_bytes)
        want = e->max - e->ref_bytes;
    uint8_t *nb = realloc(e->buf, want);
    if (!nb)
        return far__xdr_err_set(&e->err, FAR_ENOMEM, total, "cannot grow the buffer to %zu bytes",
                                want);
    e->buf = nb;
    e->cap = want;
    return true;
}

FAR__API bool far_xdr_put_quad(far_xdr_enc *e, const far_quad *v)
{
    uint8_t *p = far_xdr_reserve(e, 16);
    if (!p)
        return false;
    memcpy(p, v->bytes, 16);
    return true;
}

FAR__API bool far_xdr_put_opaque_fixed(far_xdr_enc *e, const void *p, size_t n)
{
    size_t pad = far_xdr_pad(n);
    if (n > SIZE_MAX - 4)
        return far__xdr_err_set(&e->err, FAR_EOVERFLOW, far_xdr_enc_len(e), "opaque of %zu bytes",
                                n);
    uint8_t *dst = far_xdr_reserve(e, n + pad);
    if (!dst)
        return false;
    if (pad)
        memset(dst + n + pad - 4, 0, 4); /* the last word; the data then covers its head */
    if (n)
        far__xdr_copy_bytes(dst, p, n);
    return true;
}

static bool add_seg(far_xdr_enc *e, const uint8_t *ref, size_t off, size_t len)
{
    if (e->nsegs == e->segcap) {
        unsigned ncap = e->segcap ? e->segcap * 2 : 8;
        far__xdr_seg *ns = realloc(e->segs, ncap * sizeof *ns);
        if (!ns)
            return far__xdr_err_set(&e->err, FAR_ENOMEM, far_xdr_enc_len(e),
                                    "cannot grow the scatter list");
        e->segs = ns;
        e->segcap = ncap;
    }
    e->segs[e->nsegs++] = (far__xdr_seg){ref, off, len};
    return true;
}

FAR__API bool far_xdr_put_opaque_ref(far_xdr_enc *e, const void *p, uint32_t n, uint32_t max)
{
    if (n > max)
        return far__xdr_err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                                "opaque length %" PRIu32 " exceeds its maximum %" PRIu32, n, max);
    if (n > e->max - far_xdr_enc_len(e) || 4 + (size_t)n > e->max - far_xdr_enc_len(e))
        return far__xdr_err_set(&e->err, FAR_ENOSPACE, far_xdr_enc_len(e),
                                "encoding would exceed its maximum of %zu bytes", e->max);
    if (!far_xdr_put_u32(e, n))
        return false;
    if (n == 0)
        return true;
    if (e->pos > e->seg_from && !add_seg(e, NULL, e->seg_from, e->pos - e->seg_from))
        return false;
    if (!add_seg(e, p, 0, n))
        return false;
    e->seg_from = e->pos;
    e->ref_bytes += n;
    size_t pad = far_xdr_pad(n);
    if (pad) {
        uint8_t *z = far_xdr_reserve(e, pad);
        if (!z)
            return false;
        memset(z, 0, pad);
    }
    return true;
}

/* far_xdr_put_opaque's body, inlined into the string encoders too. */
static inline bool put_opaque(far_xdr_enc *e, const void *p, uint32_t n, uint32_t max)
{
    if (n > max)
        return far__xdr_err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                                "opaque length %" PRIu32 " exceeds its maximum %" PRIu32, n, max);
    if (e->ref_min && n >= e->ref_min)
        return far_xdr_put_opaque_ref(e, p, n, max);
    size_t pad = far_xdr_pad(n);
    uint8_t *dst = far_xdr_reserve(e, 4 + (size_t)n + pad);
    if (!dst)
        return false;
    if (pad)
        memset(dst + n + pad, 0, 4); /* the last word; the data then covers its head */
    far_xdr_store_u32(dst, n);
    if (n)
        far__xdr_copy_bytes(dst + 4, p, n);
    return true;
}

FAR__API bool far_xdr_put_opaque(far_xdr_enc *e, const void *p, uint32_t n, uint32_t max)
{
    return put_opaque(e, p, n, max);
}

FAR__API bool far_xdr_put_string_n(far_xdr_enc *e, const char *s, uint32_t n, uint32_t max)
{
    if (!s && n)
        return far__xdr_err_set(&e->err, FAR_EMISUSE, far_xdr_enc_len(e), "NULL string");
    if (n > max)
        return far__xdr_err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                                "string length %" PRIu32 " exceeds its maximum %" PRIu32, n, max);
    if (n && memchr(s, 0, n))
        return far__xdr_err_set(&e->err, FAR_EBADVALUE, far_xdr_enc_len(e),
                                "string contains a NUL byte");
    return put_opaque(e, s, n, max);
}

FAR__API bool far_xdr_put_string(far_xdr_enc *e, const char *s, uint32_t max)
{
    if (!s)
        return far__xdr_err_set(&e->err, FAR_EMISUSE, far_xdr_enc_len(e), "NULL string");
    /* strnlen bounded one past the maximum: no scan of a huge buffer */
    size_t n = strnlen(s, (size_t)max + 1);
    if (n > max)
        return far__xdr_err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                                "string longer than its maximum %" PRIu32, max);
    return put_opaque(e, s, (uint32_t)n, max);
}

FAR__API bool far_xdr_put_count(far_xdr_enc *e, size_t n, uint32_t max)
{
    if (n > max)
        return far__xdr_err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                                "count %zu exceeds its maximum %" PRIu32, n, max);
    return far_xdr_put_u32(e, (uint32_t)n);
}

FAR__API bool far_xdr_put_u32_array(far_xdr_enc *e, const uint32_t *v, size_t n)
{
    if (n > SIZE_MAX / 4)
        return far__xdr_err_set(&e->err, FAR_EOVERFLOW, far_xdr_enc_len(e), "array of %zu words",
                                n);
    uint8_t *p = far_xdr_reserve(e, n * 4);
    if (!p)
        return false;
    for (size_t i = 0; i < n; i++)
        far_xdr_store_u32(p + 4 * i, v[i]);
    return true;
}

FAR__API bool far_xdr_put_u64_array(far_xdr_enc *e, const uint64_t *v, size_t n)
{
    if (n > SIZE_MAX / 8)
        return far__xdr_err_set(&e->err, FAR_EOVERFLOW, far_xdr_enc_len(e), "array of %zu hypers",
                                n);
    uint8_t *p = far_xdr_reserve(e, n * 8);
    if (!p)
        return false;
    for (size_t i = 0; i < n; i++)
        far_xdr_store_u64(p + 8 * i, v[i]);
    return true;
}

FAR__API size_t far_xdr_enc_iov(far_xdr_enc *e, struct iovec *iov, size_t max)
{
    size_t k = 0;
    for (unsigned i = 0; i < e->nsegs; i++, k++) {
        if (k < max) {
            const far__xdr_seg *s = &e->segs[i];
            iov[k].iov_base = (void *)(s->ref ? s->ref : e->buf + s->off);
            iov[k].iov_len = s->len;
        }
    }
    if (e->pos > e->seg_from || k == 0) {
        if (k < max) {
            iov[k].iov_base = e->buf + e->seg_from;
            iov[k].iov_len = e->pos - e->seg_from;
        }
        k++;
    }
    return k;
}

FAR__API far_err far_xdr_enc_flatten(far_xdr_enc *e, void *dst, size_t cap)
{
    size_t total = far_xdr_enc_len(e);
    if (cap < total)
        return FAR_ENOSPACE;
    uint8_t *out = dst;
    for (unsigned i = 0; i < e->nsegs; i++) {
        const far__xdr_seg *s = &e->segs[i];
        far__xdr_copy_bytes(out, s->ref ? s->ref : e->buf + s->off, s->len);
        out += s->len;
    }
    if (e->pos > e->seg_from)
        memcpy(out, e->buf + e->seg_from, e->pos - e->seg_from);
    return FAR_OK;
}

/* ------------------------------------------------------------ whole values */

/* Lays a scatter-list encoding out contiguously in its own buffer: the inline
 * pieces move towards the end (never towards the start, since references only
 * add bytes before them), so walking from the last piece back is safe. */
static far_err flatten_in_place(far_xdr_enc *e)
{
    size_t total = far_xdr_enc_len(e);
    if (total > e->cap) {
        far__xdr_err_set(&e->err, FAR_ENOSPACE, total,
                         "needs %zu bytes with its referenced data, the buffer has %zu", total,
                         e->cap);
        return FAR_ENOSPACE;
    }
    size_t out = total;
    if (e->pos > e->seg_from) { /* inline tail after the last reference */
        size_t n = e->pos - e->seg_from;
        out -= n;
        memmove(e->buf + out, e->buf + e->seg_from, n);
    }
    for (unsigned i = e->nsegs; i-- > 0;) {
        const far__xdr_seg *s = &e->segs[i];
        out -= s->len;
        if (s->ref)
            memcpy(e->buf + out, s->ref, s->len);
        else
            memmove(e->buf + out, e->buf + s->off, s->len);
    }
    return FAR_OK;
}

FAR__API far_err far_xdr_encode(far_xdr_encode_fn fn, const void *v, void *buf, size_t cap,
                                size_t *len, char *why, size_t why_len)
{
    if (!fn || !v || !len)
        return FAR_EMISUSE;
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, cap);
    far_err rc = FAR_OK;
    if (!fn(&e, v)) {
        if (e.err.code == FAR_OK)
            far__xdr_err_set(&e.err, FAR_EBADVALUE, far_xdr_enc_len(&e),
                             "the encode function gave no reason");
        rc = e.err.code;
    } else if (e.nsegs > 0) {
        rc = flatten_in_place(&e); /* the caller asked for one contiguous buffer */
    }
    if (rc == FAR_OK)
        *len = far_xdr_enc_len(&e);
    else if (why)
        far_xdr_enc_strerror(&e, why, why_len);
    free(e.segs);
    return rc;
}
