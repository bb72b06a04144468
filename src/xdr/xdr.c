/* XDR codec (RFC 4506): the out-of-line parts of encoding and decoding.
 *
 * The fast paths (fixed-size primitives) are inline in farcall/xdr.h; this file
 * holds growth, scatter lists, variable-length items, limits and error text.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "internal.h"

/* ----------------------------------------------------------- error records */

static void err_setv(far_xdr_error *err, far_err code, size_t off, const char *fmt, va_list ap)
{
    if (err->code != FAR_OK)
        return; /* the first failure is the one that explains the others */
    err->code = code;
    err->offset = off;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    err->path_at = sizeof err->path - 1;
    err->path[err->path_at] = '\0';
}

static bool err_set(far_xdr_error *err, far_err code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool err_set(far_xdr_error *err, far_err code, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(err, code, off, fmt, ap);
    va_end(ap);
    return false;
}

/* Forgets a recorded failure.  Only `code` tells whether there is one (err_setv
 * fills in the rest), so the ~250 bytes of text are not cleared: a decoder is
 * initialised and an encoder reset once per message. */
static void err_clear(far_xdr_error *err)
{
    err->code = FAR_OK;
    err->offset = 0;
    err->msg[0] = '\0';
    err->path_at = 0;
    err->path[0] = '\0';
    err->local = false;
}

/* Prepends `seg` to the path; once full, marks the cut with "..." and stops.
 * Three bytes stay free for the mark, so a cut path always shows it. */
static bool err_prepend(far_xdr_error *err, const char *seg)
{
    if (err->code == FAR_OK || strncmp(err->path + err->path_at, "...", 3) == 0)
        return false;
    size_t n = strlen(seg);
    if (err->path_at >= n + 3) {
        err->path_at -= n;
        memcpy(err->path + err->path_at, seg, n);
    } else {
        err->path_at -= 3;
        memcpy(err->path + err->path_at, "...", 3);
    }
    return false;
}

static bool err_field(far_xdr_error *err, const char *name)
{
    char seg[72];
    snprintf(seg, sizeof seg, ".%s", name);
    return err_prepend(err, seg);
}

static bool err_index(far_xdr_error *err, size_t i)
{
    char seg[24];
    snprintf(seg, sizeof seg, "[%zu]", i);
    return err_prepend(err, seg);
}

static const char *err_format(const far_xdr_error *err, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    if (err->code == FAR_OK) {
        snprintf(buf, n, "no error");
        return buf;
    }
    const char *path = err->path + err->path_at;
    const char *cut = "";
    if (strncmp(path, "...", 3) == 0) {
        cut = "...";
        path += 3;
    }
    if (*path == '.')
        path++;
    if (*path)
        snprintf(buf, n, "%s at byte %zu in %s%s: %s", far_errname(err->code), err->offset, cut,
                 path, err->msg);
    else
        snprintf(buf, n, "%s at byte %zu: %s", far_errname(err->code), err->offset, err->msg);
    return buf;
}

/* ------------------------------------------------------------- copy helper */

/* Large copies whose destination lies 1..63 bytes after the source modulo
 * 4 KiB hit a slow path in glibc's memcpy on some CPUs (shared/bench/anchors
 * README, "The 4K-aliasing trap": ~3 GB/s instead of ~50 GB/s), and an opaque
 * lands exactly there (4 bytes after its length word) when both buffers are
 * page-aligned.  Copying in 2 KiB pieces avoids that path, but on CPUs without
 * the trap the pieces are slower than one memcpy (bench/README.md: 64 vs 89
 * GB/s).  So the first such copy in a process times both ways on a 64 KiB
 * scratch buffer (well under a millisecond) and keeps the faster. */
static void copy_pieces(uint8_t *dst, const uint8_t *src, size_t n)
{
    while (n) {
        size_t k = n < 2048 ? n : 2048;
        memcpy(dst, src, k);
        dst += k;
        src += k;
        n -= k;
    }
}

enum { SKEW_UNKNOWN = 0, SKEW_PLAIN = 1, SKEW_PIECES = 2 };
static _Atomic int skew_mode = SKEW_UNKNOWN; /* process-wide tuning, like an ifunc */

static int skew_calibrate(void)
{
    enum { N = 64 * 1024, REPS = 5 };
    uint8_t *src = aligned_alloc(4096, N + 4096), *dst = aligned_alloc(4096, N + 4096);
    int mode = SKEW_PIECES; /* if we cannot measure, avoid the worst case */
    if (src && dst) {
        memset(src, 0x5a, N + 4096);
        memset(dst, 0, N + 4096);
        uint64_t plain = UINT64_MAX, pieces = UINT64_MAX;
        for (int r = 0; r < REPS; r++) {
            uint64_t t0 = far__now_ns();
            memcpy(dst + 4, src, N);
            __asm__ volatile("" : : "r"(dst) : "memory");
            uint64_t t1 = far__now_ns();
            copy_pieces(dst + 4, src, N);
            __asm__ volatile("" : : "r"(dst) : "memory");
            uint64_t t2 = far__now_ns();
            plain = t1 - t0 < plain ? t1 - t0 : plain;
            pieces = t2 - t1 < pieces ? t2 - t1 : pieces;
        }
        /* pieces must win clearly: a tie keeps the simpler plain memcpy */
        mode = pieces * 10 < plain * 9 ? SKEW_PIECES : SKEW_PLAIN;
    }
    free(src);
    free(dst);
    return mode;
}

static __attribute__((noinline)) void copy_skewed(uint8_t *dst, const uint8_t *src, size_t n)
{
    int mode = atomic_load_explicit(&skew_mode, memory_order_relaxed);
    if (mode == SKEW_UNKNOWN) {
        mode = skew_calibrate(); /* two threads may both measure: harmless */
        atomic_store_explicit(&skew_mode, mode, memory_order_relaxed);
    }
    if (mode == SKEW_PIECES)
        copy_pieces(dst, src, n);
    else
        memcpy(dst, src, n);
}

/* Small copies (every field of an ordinary message) take the inline path. */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t skew = ((uintptr_t)dst - (uintptr_t)src) & 4095;
    if (n >= 4096 && skew != 0 && skew < 64)
        copy_skewed(dst, src, n);
    else
        memcpy(dst, src, n);
}

/* ----------------------------------------------------------------- encoder */

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
        err_set(&e->err, FAR_ENOMEM, 0, "cannot allocate %zu bytes", initial);
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
    err_clear(&e->err);
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
        return err_set(&e->err, FAR_ENOSPACE, total,
                       "needs %zu bytes, %zu left in a %zu-byte buffer", n, e->cap - e->pos,
                       e->cap);
    if (n > e->max - total)
        return err_set(&e->err, FAR_ENOSPACE, total,
                       "encoding would exceed its maximum of %zu bytes", e->max);
    size_t want = e->cap * 2;
    if (want < e->pos + n)
        want = e->pos + n;
    if (want > e->max - e->ref_bytes)
        want = e->max - e->ref_bytes;
    uint8_t *nb = realloc(e->buf, want);
    if (!nb)
        return err_set(&e->err, FAR_ENOMEM, total, "cannot grow the buffer to %zu bytes", want);
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
        return err_set(&e->err, FAR_EOVERFLOW, far_xdr_enc_len(e), "opaque of %zu bytes", n);
    uint8_t *dst = far_xdr_reserve(e, n + pad);
    if (!dst)
        return false;
    if (pad)
        memset(dst + n + pad - 4, 0, 4); /* the last word; the data then covers its head */
    if (n)
        copy_bytes(dst, p, n);
    return true;
}

static bool add_seg(far_xdr_enc *e, const uint8_t *ref, size_t off, size_t len)
{
    if (e->nsegs == e->segcap) {
        unsigned ncap = e->segcap ? e->segcap * 2 : 8;
        far__xdr_seg *ns = realloc(e->segs, ncap * sizeof *ns);
        if (!ns)
            return err_set(&e->err, FAR_ENOMEM, far_xdr_enc_len(e), "cannot grow the scatter list");
        e->segs = ns;
        e->segcap = ncap;
    }
    e->segs[e->nsegs++] = (far__xdr_seg){ref, off, len};
    return true;
}

FAR__API bool far_xdr_put_opaque_ref(far_xdr_enc *e, const void *p, uint32_t n, uint32_t max)
{
    if (n > max)
        return err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                       "opaque length %" PRIu32 " exceeds its maximum %" PRIu32, n, max);
    if (n > e->max - far_xdr_enc_len(e) || 4 + (size_t)n > e->max - far_xdr_enc_len(e))
        return err_set(&e->err, FAR_ENOSPACE, far_xdr_enc_len(e),
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
        return err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
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
        copy_bytes(dst + 4, p, n);
    return true;
}

FAR__API bool far_xdr_put_opaque(far_xdr_enc *e, const void *p, uint32_t n, uint32_t max)
{
    return put_opaque(e, p, n, max);
}

FAR__API bool far_xdr_put_string_n(far_xdr_enc *e, const char *s, uint32_t n, uint32_t max)
{
    if (!s && n)
        return err_set(&e->err, FAR_EMISUSE, far_xdr_enc_len(e), "NULL string");
    if (n > max)
        return err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                       "string length %" PRIu32 " exceeds its maximum %" PRIu32, n, max);
    if (n && memchr(s, 0, n))
        return err_set(&e->err, FAR_EBADVALUE, far_xdr_enc_len(e), "string contains a NUL byte");
    return put_opaque(e, s, n, max);
}

FAR__API bool far_xdr_put_string(far_xdr_enc *e, const char *s, uint32_t max)
{
    if (!s)
        return err_set(&e->err, FAR_EMISUSE, far_xdr_enc_len(e), "NULL string");
    /* strnlen bounded one past the maximum: no scan of a huge buffer */
    size_t n = strnlen(s, (size_t)max + 1);
    if (n > max)
        return err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                       "string longer than its maximum %" PRIu32, max);
    return put_opaque(e, s, (uint32_t)n, max);
}

FAR__API bool far_xdr_put_count(far_xdr_enc *e, size_t n, uint32_t max)
{
    if (n > max)
        return err_set(&e->err, FAR_ELIMIT, far_xdr_enc_len(e),
                       "count %zu exceeds its maximum %" PRIu32, n, max);
    return far_xdr_put_u32(e, (uint32_t)n);
}

FAR__API bool far_xdr_put_u32_array(far_xdr_enc *e, const uint32_t *v, size_t n)
{
    if (n > SIZE_MAX / 4)
        return err_set(&e->err, FAR_EOVERFLOW, far_xdr_enc_len(e), "array of %zu words", n);
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
        return err_set(&e->err, FAR_EOVERFLOW, far_xdr_enc_len(e), "array of %zu hypers", n);
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
        copy_bytes(out, s->ref ? s->ref : e->buf + s->off, s->len);
        out += s->len;
    }
    if (e->pos > e->seg_from)
        memcpy(out, e->buf + e->seg_from, e->pos - e->seg_from);
    return FAR_OK;
}

FAR__API bool far_xdr_enc_fail(far_xdr_enc *e, far_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(&e->err, code, far_xdr_enc_len(e), fmt, ap);
    va_end(ap);
    return false;
}

FAR__API bool far_xdr_enc_field(far_xdr_enc *e, const char *name)
{
    return err_field(&e->err, name);
}

FAR__API bool far_xdr_enc_index(far_xdr_enc *e, size_t i)
{
    return err_index(&e->err, i);
}

FAR__API const char *far_xdr_enc_strerror(const far_xdr_enc *e, char *buf, size_t n)
{
    return err_format(&e->err, buf, n);
}

/* ----------------------------------------------------------------- decoder */

FAR__API void far_xdr_dec_init(far_xdr_dec *d, const void *buf, size_t len, far_arena *arena,
                               unsigned flags)
{
    _Static_assert(offsetof(far_xdr_dec, err) + sizeof(far_xdr_error) == sizeof(far_xdr_dec),
                   "err must stay the decoder's last member");
    /* everything but err is zeroed; err only needs err_clear */
    memset(d, 0, offsetof(far_xdr_dec, err));
    err_clear(&d->err);
    d->start = d->p = buf;
    d->end = d->start + (buf ? len : 0);
    d->arena = arena;
    d->flags = flags;
    d->max_depth = FAR_XDR_DEFAULT_MAX_DEPTH;
    d->max_chain = FAR_XDR_DEFAULT_MAX_CHAIN;
    d->max_alloc = FAR_XDR_DEFAULT_MAX_ALLOC;
    if ((flags & FAR_XDR_ZEROCOPY) && !arena) {
        err_set(&d->err, FAR_EMISUSE, 0, "zero-copy decoding needs an arena");
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
    return err_set(&d->err, FAR_ETRUNC, far_xdr_dec_pos(d), "needs %zu bytes, %zu left", need,
                   far_xdr_dec_left(d));
}

FAR__API bool far_xdr_dec_fail(far_xdr_dec *d, far_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(&d->err, code, far_xdr_dec_pos(d), fmt, ap);
    va_end(ap);
    return false;
}

FAR__API bool far_xdr_dec_field(far_xdr_dec *d, const char *name)
{
    return err_field(&d->err, name);
}

FAR__API bool far_xdr_dec_index(far_xdr_dec *d, size_t i)
{
    return err_index(&d->err, i);
}

FAR__API const char *far_xdr_dec_strerror(const far_xdr_dec *d, char *buf, size_t n)
{
    return err_format(&d->err, buf, n);
}

FAR__API bool far_xdr_get_bool(far_xdr_dec *d, bool *v)
{
    uint32_t u;
    if (!far_xdr_get_u32(d, &u))
        return false;
    if (u > 1)
        return err_set(&d->err, FAR_EBADVALUE, far_xdr_dec_pos(d) - 4,
                       "bool must be 0 or 1, not %" PRIu32, u);
    *v = u != 0;
    return true;
}

static bool get_ranged(far_xdr_dec *d, int32_t *v, int32_t lo, int32_t hi, const char *type)
{
    if (!far_xdr_get_i32(d, v))
        return false;
    if (*v < lo || *v > hi)
        return err_set(&d->err, FAR_EBADVALUE, far_xdr_dec_pos(d) - 4,
                       "%s must be in %" PRId32 "..%" PRId32 ", not %" PRId32, type, lo, hi, *v);
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
                err_set(&d->err, FAR_ELIMIT, far_xdr_dec_pos(d),
                        "allocating %zu bytes would pass the arena's limit (%zu of %zu used)", n,
                        a->used, a->max);
            else
                err_set(&d->err, FAR_ENOMEM, far_xdr_dec_pos(d), "cannot allocate %zu bytes", n);
            d->err.local = d->err.local || first;
        }
        return p;
    }
    if (n > d->max_alloc - d->heap_used) {
        err_set(&d->err, FAR_ELIMIT, far_xdr_dec_pos(d),
                "allocating %zu bytes would pass the decoder's limit (%zu of %zu used)", n,
                d->heap_used, d->max_alloc);
        d->err.local = d->err.local || first;
        return NULL;
    }
    p = malloc(n ? n : 1);
    if (!p) {
        err_set(&d->err, FAR_ENOMEM, far_xdr_dec_pos(d), "cannot allocate %zu bytes", n);
        d->err.local = d->err.local || first;
        return NULL;
    }
    d->heap_used += n;
    return p;
}

FAR__API void *far_xdr_alloc_array(far_xdr_dec *d, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        err_set(&d->err, FAR_EOVERFLOW, far_xdr_dec_pos(d), "%zu elements of %zu bytes overflow",
                count, size);
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
            return err_set(&d->err, FAR_EPADDING, (size_t)(p + i - d->start),
                           "padding byte is 0x%02x, not zero", p[i]);
    return true;
}

FAR__API bool far_xdr_get_opaque_fixed(far_xdr_dec *d, void *dst, size_t n)
{
    size_t pad = far_xdr_pad(n);
    if (n > far_xdr_dec_left(d) || pad > far_xdr_dec_left(d) - n)
        return err_set(&d->err, FAR_ETRUNC, far_xdr_dec_pos(d),
                       "opaque[%zu] needs %zu bytes, %zu left", n, n + pad, far_xdr_dec_left(d));
    if (!pad_ok(d, d->p + n, pad))
        return false;
    if (n)
        copy_bytes(dst, d->p, n);
    d->p += n + pad;
    return true;
}

/* Reads a length word and checks it against `max` and the input left
 * (including padding), before anything is allocated.  On success d->p points
 * at the data, which is followed by verified zero padding.  *n is written only
 * on success; callers initialise it anyway (gcc -O2 -Wmaybe-uninitialized
 * cannot follow the error paths through err_set). */
static bool get_len(far_xdr_dec *d, uint32_t *n, uint32_t max, const char *what)
{
    size_t off = far_xdr_dec_pos(d);
    uint32_t len;
    if (!far_xdr_get_u32(d, &len))
        return false;
    if (len > max)
        return err_set(&d->err, FAR_ELIMIT, off,
                       "%s length %" PRIu32 " exceeds its maximum %" PRIu32, what, len, max);
    size_t pad = far_xdr_pad(len);
    if (len > far_xdr_dec_left(d) || pad > far_xdr_dec_left(d) - len)
        return err_set(&d->err, FAR_ETRUNC, off, "%s length %" PRIu32 " exceeds the %zu bytes left",
                       what, len, far_xdr_dec_left(d));
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
        copy_bytes(out, d->p, len);
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
        copy_bytes(dst, d->p, len);
    d->p += len + far_xdr_pad(len);
    *n = len;
    return true;
}

static bool string_ok(far_xdr_dec *d, uint32_t len)
{
    const uint8_t *nul = len ? memchr(d->p, 0, len) : NULL;
    if (nul)
        return err_set(&d->err, FAR_EBADVALUE, (size_t)(nul - d->start),
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
        return err_set(&d->err, FAR_ELIMIT, off, "count %" PRIu32 " exceeds its maximum %" PRIu32,
                       c, max);
    if (min_wire && c > far_xdr_dec_left(d) / min_wire)
        return err_set(&d->err, FAR_ETRUNC, off,
                       "count %" PRIu32 " of %zu-byte elements exceeds the %zu bytes left", c,
                       min_wire, far_xdr_dec_left(d));
    *n = c;
    return true;
}

FAR__API bool far_xdr_get_u32_array(far_xdr_dec *d, uint32_t *v, size_t n)
{
    if (n > far_xdr_dec_left(d) / 4)
        return err_set(&d->err, FAR_ETRUNC, far_xdr_dec_pos(d), "%zu words need %zu bytes left", n,
                       far_xdr_dec_left(d));
    const uint8_t *p = d->p;
    for (size_t i = 0; i < n; i++)
        v[i] = far_xdr_load_u32(p + 4 * i);
    d->p += 4 * n;
    return true;
}

FAR__API bool far_xdr_get_u64_array(far_xdr_dec *d, uint64_t *v, size_t n)
{
    if (n > far_xdr_dec_left(d) / 8)
        return err_set(&d->err, FAR_ETRUNC, far_xdr_dec_pos(d), "%zu hypers need %zu bytes left", n,
                       far_xdr_dec_left(d));
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
        return err_set(&d->err, FAR_ETRAILING, far_xdr_dec_pos(d), "%zu bytes left over",
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
        err_set(&d.err, FAR_EBADVALUE, far_xdr_dec_pos(&d), "the decode function gave no reason");
    if (why)
        far_xdr_dec_strerror(&d, why, why_len);
    return d.err.code;
}

/* Lays a scatter-list encoding out contiguously in its own buffer: the inline
 * pieces move towards the end (never towards the start, since references only
 * add bytes before them), so walking from the last piece back is safe. */
static far_err flatten_in_place(far_xdr_enc *e)
{
    size_t total = far_xdr_enc_len(e);
    if (total > e->cap) {
        err_set(&e->err, FAR_ENOSPACE, total,
                "needs %zu bytes with its referenced data, the buffer has %zu", total, e->cap);
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
            err_set(&e.err, FAR_EBADVALUE, far_xdr_enc_len(&e),
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
