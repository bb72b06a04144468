/* farcall — XDR codec (RFC 4506).
 *
 * Encoding writes into a caller buffer (fixed size) or a growable buffer with a
 * maximum size.  Large opaque data can be encoded by reference: the encoder then
 * holds a scatter list (far_xdr_enc_iov) instead of copying the bytes.
 *
 * Decoding reads from a byte buffer and is safe against hostile input:
 *   - every length is checked against the bytes actually remaining and against
 *     the declared maximum before anything is allocated; count x size is checked
 *     for overflow;
 *   - nesting of optional data and unions is bounded (far_xdr_dec_enter), and
 *     linked lists decoded iteratively are bounded in length (max_chain);
 *   - padding must be zero, bools must be 0 or 1, strings may not contain NUL;
 *   - variable-length data comes from a far_arena (freed in one call) or, with
 *     no arena, from malloc bounded by max_alloc; in zero-copy mode opaque data
 *     points into the input;
 *   - a failure records which field (a path such as "record.values[3]"), which
 *     byte offset, and why; far_xdr_dec_strerror() formats it.
 *
 * All put/get functions return true on success and false on failure, with the
 * reason kept in the stream (e->err / d->err): a chain of calls can stop at the
 * first false.  Encoders and decoders are not thread-safe; use one per thread
 * (the functions keep no global state: any thread may use its own).
 * The structs are public so they can live on the stack; fields are private
 * unless documented here.
 */
#ifndef FARCALL_XDR_H
#define FARCALL_XDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "farcall/arena.h"
#include "farcall/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest length an XDR variable-length item can declare ("<>"). */
#define FAR_XDR_UNBOUNDED UINT32_MAX

/* Defaults for a decoder; change them with the setters below. */
#define FAR_XDR_DEFAULT_MAX_DEPTH 100         /* nested optional data / unions */
#define FAR_XDR_DEFAULT_MAX_CHAIN 65536       /* elements of one iterative list */
#define FAR_XDR_DEFAULT_MAX_ALLOC (64u << 20) /* heap-mode bytes per message */

/* Bytes of padding after `n` bytes of opaque data (RFC 4506 §4.9, §4.10). */
static inline size_t far_xdr_pad(size_t n)
{
    return (4 - (n & 3)) & 3;
}

/* An IEEE 754 binary128 value (RFC 4506 §4.8) held as its 16 wire bytes, most
 * significant first.  C has no portable binary128 type; far_quad_from_double and
 * far_quad_to_double convert exactly for every double value. */
typedef struct far_quad {
    uint8_t bytes[16];
} far_quad;

far_quad far_quad_from_double(double v);
double far_quad_to_double(far_quad q); /* rounds to nearest; overflow gives inf */

/* Where a failure happened and why.  Kept by encoders and decoders alike. */
typedef struct far_xdr_error {
    far_err code;   /* FAR_OK while nothing failed */
    size_t offset;  /* byte offset in the message where the failing item starts */
    char msg[112];  /* why, in words ("length 4294967280 exceeds the 4 bytes left") */
    char path[128]; /* field path, built from the end backwards as calls unwind */
    size_t path_at; /* path[path_at..] is the current path */
    bool local;     /* a limit of the decoding side (an arena's, the allocation maximum, memory),
                     * not a fault of the data */
    unsigned char limit; /* with local: which limit (FAR_XDR_LIMIT_*), so the runtime can
                          * name the option that raises it */
} far_xdr_error;

/* far_xdr_error.limit */
enum {
    FAR_XDR_LIMIT_NONE = 0,
    FAR_XDR_LIMIT_ARENA = 1, /* the arena's maximum (far_arena_init) */
    FAR_XDR_LIMIT_ALLOC = 2, /* heap mode: max_alloc (far_xdr_dec_set_max_alloc) */
    FAR_XDR_LIMIT_CHAIN = 3, /* elements of one list: max_chain (far_xdr_dec_set_max_chain) */
};

/* ------------------------------------------------------------------ encoder */

/* One piece of a scatter list: inline bytes of the encoder's own buffer, or a
 * caller's opaque data encoded by reference. */
typedef struct far__xdr_seg {
    const uint8_t *ref; /* NULL: inline, bytes [off, off+len) of the buffer */
    size_t off;
    size_t len;
} far__xdr_seg;

typedef struct far_xdr_enc {
    uint8_t *buf;       /* inline bytes */
    size_t pos;         /* inline bytes written */
    size_t cap;         /* inline capacity */
    size_t max;         /* growable: maximum total encoded size */
    size_t ref_bytes;   /* bytes held by reference */
    size_t ref_min;     /* put_opaque of >= ref_min bytes goes by reference; 0 = never */
    unsigned growable;  /* buf is ours and may be reallocated */
    far__xdr_seg *segs; /* scatter list, only once a reference was added */
    unsigned nsegs, segcap;
    size_t seg_from; /* inline bytes before this offset are already in segs */
    far_xdr_error err;
} far_xdr_enc;

/* Encodes into the caller's `buf` of `cap` bytes; never reallocates.  Call
 * far_xdr_enc_fini when done if anything was encoded by reference (it frees the
 * scatter list; the caller's buffer is left alone). */
void far_xdr_enc_init(far_xdr_enc *e, void *buf, size_t cap);

/* Encodes into a buffer the encoder owns, starting at `initial` bytes and
 * growing up to `max` total bytes (0: 64 MiB).  Returns FAR_ENOMEM if the first
 * block cannot be had (the encoder is then usable and fails on first put). */
far_err far_xdr_enc_init_grow(far_xdr_enc *e, size_t initial, size_t max);

/* Releases what the encoder owns.  far_xdr_enc_fini(NULL) does nothing. */
void far_xdr_enc_fini(far_xdr_enc *e);

/* Forgets everything encoded (keeps the buffer) and clears the error. */
void far_xdr_enc_reset(far_xdr_enc *e);

/* Opaque data of `min` bytes or more passed to far_xdr_put_opaque is encoded
 * by reference instead of copied (0, the default, turns this off).  The caller
 * must keep such data alive and unchanged until the encoding is sent. */
void far_xdr_enc_set_ref_min(far_xdr_enc *e, size_t min);

/* Total encoded length: inline bytes plus bytes held by reference. */
static inline size_t far_xdr_enc_len(const far_xdr_enc *e)
{
    return e->pos + e->ref_bytes;
}

/* The inline bytes.  When nothing was encoded by reference this is the whole
 * encoding, far_xdr_enc_len() bytes long. */
static inline const uint8_t *far_xdr_enc_data(const far_xdr_enc *e)
{
    return e->buf;
}

/* Fills up to `max` iovecs describing the whole encoding in order and returns
 * how many are needed (call again with more room if that is > max). */
size_t far_xdr_enc_iov(far_xdr_enc *e, struct iovec *iov, size_t max);

/* Copies the whole encoding (inline and referenced parts) to `dst`.
 * FAR_ENOSPACE if `cap` is too small. */
far_err far_xdr_enc_flatten(far_xdr_enc *e, void *dst, size_t cap);

/* Slow path: makes room for n more inline bytes (grows or fails). */
bool far__xdr_enc_room(far_xdr_enc *e, size_t n);

/* Returns a pointer to `n` inline bytes that the caller fills, or NULL (error
 * recorded).  Lets generated code write a fixed-size run with one check. */
static inline uint8_t *far_xdr_reserve(far_xdr_enc *e, size_t n)
{
    if (e->cap - e->pos < n && !far__xdr_enc_room(e, n))
        return NULL;
    uint8_t *p = e->buf + e->pos;
    e->pos += n;
    return p;
}

static inline void far_xdr_store_u32(uint8_t *p, uint32_t v)
{
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}

static inline void far_xdr_store_u64(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

static inline uint32_t far_xdr_load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

static inline uint64_t far_xdr_load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline bool far_xdr_put_u32(far_xdr_enc *e, uint32_t v)
{
    if (e->cap - e->pos < 4 && !far__xdr_enc_room(e, 4))
        return false;
    far_xdr_store_u32(e->buf + e->pos, v);
    e->pos += 4;
    return true;
}

static inline bool far_xdr_put_u64(far_xdr_enc *e, uint64_t v)
{
    if (e->cap - e->pos < 8 && !far__xdr_enc_room(e, 8))
        return false;
    far_xdr_store_u64(e->buf + e->pos, v);
    e->pos += 8;
    return true;
}

static inline bool far_xdr_put_i32(far_xdr_enc *e, int32_t v)
{
    return far_xdr_put_u32(e, (uint32_t)v);
}
static inline bool far_xdr_put_i64(far_xdr_enc *e, int64_t v)
{
    return far_xdr_put_u64(e, (uint64_t)v);
}
/* enum: any int32 value; generated code validates against the enum's members. */
static inline bool far_xdr_put_enum(far_xdr_enc *e, int32_t v)
{
    return far_xdr_put_u32(e, (uint32_t)v);
}
static inline bool far_xdr_put_bool(far_xdr_enc *e, bool v)
{
    return far_xdr_put_u32(e, v ? 1u : 0u);
}
/* rpcgen's char, short, u_char, u_short: 4 bytes on the wire, sign- or
 * zero-extended as libtirpc does. */
static inline bool far_xdr_put_char(far_xdr_enc *e, int8_t v)
{
    return far_xdr_put_i32(e, v);
}
static inline bool far_xdr_put_u_char(far_xdr_enc *e, uint8_t v)
{
    return far_xdr_put_u32(e, v);
}
static inline bool far_xdr_put_short(far_xdr_enc *e, int16_t v)
{
    return far_xdr_put_i32(e, v);
}
static inline bool far_xdr_put_u_short(far_xdr_enc *e, uint16_t v)
{
    return far_xdr_put_u32(e, v);
}
static inline bool far_xdr_put_float(far_xdr_enc *e, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return far_xdr_put_u32(e, u);
}
static inline bool far_xdr_put_double(far_xdr_enc *e, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return far_xdr_put_u64(e, u);
}
bool far_xdr_put_quad(far_xdr_enc *e, const far_quad *v);

/* Fixed-length opaque[n]: n bytes and zero padding. */
bool far_xdr_put_opaque_fixed(far_xdr_enc *e, const void *p, size_t n);
/* Variable-length opaque<max>: length, bytes, zero padding.  By reference when
 * n >= the encoder's ref_min.  n > max fails with FAR_ELIMIT. */
bool far_xdr_put_opaque(far_xdr_enc *e, const void *p, uint32_t n, uint32_t max);
/* As far_xdr_put_opaque but always by reference: the bytes are not copied and
 * must stay alive and unchanged until the encoding has been sent. */
bool far_xdr_put_opaque_ref(far_xdr_enc *e, const void *p, uint32_t n, uint32_t max);
/* string<max> from a NUL-terminated C string.  s == NULL fails (FAR_EMISUSE). */
bool far_xdr_put_string(far_xdr_enc *e, const char *s, uint32_t max);
/* string<max> from `n` bytes (need not be NUL-terminated; must contain no NUL). */
bool far_xdr_put_string_n(far_xdr_enc *e, const char *s, uint32_t n, uint32_t max);
/* The count of a variable-length array: fails with FAR_ELIMIT if n > max. */
bool far_xdr_put_count(far_xdr_enc *e, size_t n, uint32_t max);
/* n 32-bit values in one go (int[], unsigned int[] bodies). */
bool far_xdr_put_u32_array(far_xdr_enc *e, const uint32_t *v, size_t n);
/* n 64-bit values in one go (hyper[] bodies). */
bool far_xdr_put_u64_array(far_xdr_enc *e, const uint64_t *v, size_t n);

/* Records a failure: sets the code and message (printf-style) at the current
 * offset and returns false.  For generated code (bad enum or union arm). */
bool far_xdr_enc_fail(far_xdr_enc *e, far_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* On the way out of a failed call: prepends ".name" to the error's field path
 * and returns false.  Use as `return far_xdr_enc_field(e, "name");`. */
bool far_xdr_enc_field(far_xdr_enc *e, const char *name);
/* As far_xdr_enc_field for array element `i` ("[i]"). */
bool far_xdr_enc_index(far_xdr_enc *e, size_t i);
/* Formats the error as "at byte N in PATH: MESSAGE" into buf; returns buf. */
const char *far_xdr_enc_strerror(const far_xdr_enc *e, char *buf, size_t n);

/* ------------------------------------------------------------------ decoder */

/* Decoder flags. */
#define FAR_XDR_ZEROCOPY 1u /* opaque (and terminated strings) point into the input */

typedef struct far_xdr_dec {
    const uint8_t *p;     /* next byte */
    const uint8_t *end;   /* one past the last byte */
    const uint8_t *start; /* first byte, for offsets */
    far_arena *arena;     /* NULL: heap mode (malloc, bounded by max_alloc) */
    unsigned flags;
    unsigned depth, max_depth;
    uint32_t max_chain;
    size_t heap_used, max_alloc;
    far_xdr_error err;
} far_xdr_dec;

/* Decodes `len` bytes at `buf`, allocating from `arena` (or, with arena NULL,
 * from malloc; the generated free functions then release what was decoded).
 * `flags`: 0 or FAR_XDR_ZEROCOPY.  Zero-copy needs an arena and an input that
 * outlives the decoded value; without an arena the first get fails with
 * FAR_EMISUSE. */
void far_xdr_dec_init(far_xdr_dec *d, const void *buf, size_t len, far_arena *arena,
                      unsigned flags);
void far_xdr_dec_set_max_depth(far_xdr_dec *d, unsigned max_depth);
void far_xdr_dec_set_max_chain(far_xdr_dec *d, uint32_t max_chain);
void far_xdr_dec_set_max_alloc(far_xdr_dec *d, size_t max_alloc);

/* Bytes not yet decoded. */
static inline size_t far_xdr_dec_left(const far_xdr_dec *d)
{
    return (size_t)(d->end - d->p);
}
/* Offset of the next byte from the start of the input. */
static inline size_t far_xdr_dec_pos(const far_xdr_dec *d)
{
    return (size_t)(d->p - d->start);
}

/* Slow paths and failure recording (return false). */
bool far__xdr_dec_short(far_xdr_dec *d, size_t need);
bool far_xdr_dec_fail(far_xdr_dec *d, far_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records that a list (linked through optional data) is longer than
 * d->max_chain: a local FAR_ELIMIT, a limit of this side rather than a fault
 * of the data.  Returns false.  For generated code. */
bool far_xdr_dec_chain_over(far_xdr_dec *d);
bool far_xdr_dec_field(far_xdr_dec *d, const char *name);
bool far_xdr_dec_index(far_xdr_dec *d, size_t i);
const char *far_xdr_dec_strerror(const far_xdr_dec *d, char *buf, size_t n);

/* Returns a pointer to the next `n` input bytes and consumes them, or NULL
 * (FAR_ETRUNC recorded).  For fixed-size runs in generated code. */
static inline const uint8_t *far_xdr_take(far_xdr_dec *d, size_t n)
{
    if ((size_t)(d->end - d->p) < n) {
        far__xdr_dec_short(d, n);
        return NULL;
    }
    const uint8_t *p = d->p;
    d->p += n;
    return p;
}

static inline bool far_xdr_get_u32(far_xdr_dec *d, uint32_t *v)
{
    if ((size_t)(d->end - d->p) < 4) {
        far__xdr_dec_short(d, 4); /* records FAR_ETRUNC */
        return false;
    }
    *v = far_xdr_load_u32(d->p);
    d->p += 4;
    return true;
}
static inline bool far_xdr_get_u64(far_xdr_dec *d, uint64_t *v)
{
    if ((size_t)(d->end - d->p) < 8) {
        far__xdr_dec_short(d, 8); /* records FAR_ETRUNC */
        return false;
    }
    *v = far_xdr_load_u64(d->p);
    d->p += 8;
    return true;
}
static inline bool far_xdr_get_i32(far_xdr_dec *d, int32_t *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}
static inline bool far_xdr_get_i64(far_xdr_dec *d, int64_t *v)
{
    return far_xdr_get_u64(d, (uint64_t *)v);
}
/* enum: reads an int32; the caller validates the value (far_xdr_dec_fail with
 * FAR_EBADVALUE for one that is not a member). */
static inline bool far_xdr_get_enum(far_xdr_dec *d, int32_t *v)
{
    return far_xdr_get_u32(d, (uint32_t *)v);
}
bool far_xdr_get_bool(far_xdr_dec *d, bool *v); /* 0 or 1, else FAR_EBADVALUE */
/* rpcgen's char/short forms: the 4-byte value must fit the C type. */
bool far_xdr_get_char(far_xdr_dec *d, int8_t *v);
bool far_xdr_get_u_char(far_xdr_dec *d, uint8_t *v);
bool far_xdr_get_short(far_xdr_dec *d, int16_t *v);
bool far_xdr_get_u_short(far_xdr_dec *d, uint16_t *v);
static inline bool far_xdr_get_float(far_xdr_dec *d, float *v)
{
    uint32_t u;
    if (!far_xdr_get_u32(d, &u))
        return false;
    memcpy(v, &u, 4);
    return true;
}
static inline bool far_xdr_get_double(far_xdr_dec *d, double *v)
{
    uint64_t u;
    if (!far_xdr_get_u64(d, &u))
        return false;
    memcpy(v, &u, 8);
    return true;
}
bool far_xdr_get_quad(far_xdr_dec *d, far_quad *v);

/* Allocates `n` bytes for decoded data (arena or bounded heap); NULL on
 * failure with FAR_ELIMIT or FAR_ENOMEM recorded. */
void *far_xdr_alloc(far_xdr_dec *d, size_t n);
/* count x size bytes, checked for overflow (FAR_EOVERFLOW), zeroed. */
void *far_xdr_alloc_array(far_xdr_dec *d, size_t count, size_t size);

/* Fixed-length opaque[n] into dst (n bytes), checking the zero padding. */
bool far_xdr_get_opaque_fixed(far_xdr_dec *d, void *dst, size_t n);
/* Variable-length opaque<max>: *p gets the bytes (allocated, or in zero-copy
 * mode a pointer into the input) and *n their count.  A zero-length opaque
 * gives *p == NULL. */
bool far_xdr_get_opaque(far_xdr_dec *d, uint8_t **p, uint32_t *n, uint32_t max);
/* Variable-length opaque<max> into a caller buffer of `cap` bytes. */
bool far_xdr_get_opaque_into(far_xdr_dec *d, void *dst, uint32_t *n, uint32_t cap);
/* string<max> as a NUL-terminated C string.  Allocated; in zero-copy mode it
 * points into the input when the wire form is already terminated (a length not
 * a multiple of 4 has a zero pad byte after it) and is copied otherwise.
 * Strings containing a NUL byte are rejected (FAR_EBADVALUE). */
bool far_xdr_get_string(far_xdr_dec *d, char **s, uint32_t max);
/* string<max> without copying: *s points into the input, *n is its length; not
 * NUL-terminated.  Works in any mode. */
bool far_xdr_get_string_ref(far_xdr_dec *d, const char **s, uint32_t *n, uint32_t max);
/* The count of a variable-length array of elements that take at least
 * `min_wire` bytes each on the wire: fails if count > max (FAR_ELIMIT) or
 * count x min_wire > bytes left (FAR_ETRUNC), before anything is allocated. */
bool far_xdr_get_count(far_xdr_dec *d, uint32_t *n, uint32_t max, size_t min_wire);
/* n 32-bit / 64-bit values in one go. */
bool far_xdr_get_u32_array(far_xdr_dec *d, uint32_t *v, size_t n);
bool far_xdr_get_u64_array(far_xdr_dec *d, uint64_t *v, size_t n);

/* Nesting guard around recursive decoding (optional data, union arms).  enter
 * fails with FAR_EDEPTH beyond max_depth; every successful enter is paired
 * with one leave. */
static inline bool far_xdr_dec_enter(far_xdr_dec *d)
{
    if (d->depth >= d->max_depth)
        return far_xdr_dec_fail(d, FAR_EDEPTH, "nesting deeper than %u", d->max_depth);
    d->depth++;
    return true;
}
static inline void far_xdr_dec_leave(far_xdr_dec *d)
{
    d->depth--;
}

/* Succeeds only if every input byte was consumed (FAR_ETRAILING otherwise). */
bool far_xdr_dec_done(far_xdr_dec *d);

/* ------------------------------------------------------------ whole values */

/* The shape of a type's generated (or hand-written) codec functions. */
typedef bool (*far_xdr_encode_fn)(far_xdr_enc *e, const void *v);
typedef bool (*far_xdr_decode_fn)(far_xdr_dec *d, void *v);

/* Adapters of the built-in types to the two shapes above: what generated
 * stubs pass to far_client_call and put in a far_proc_desc when a procedure's
 * argument or result is a built-in type (the .x file's own types get
 * T_encode_any / T_decode_any in foo_xdr.c).  far_xdr_TAG_encode_any and
 * _decode_any, for TAG int32 (.x int, long), uint32 (unsigned), int64
 * (hyper), uint64 (unsigned hyper), float, double, quad (quadruple), bool,
 * char, u_char, short, u_short (rpcgen's char and short forms) and string
 * (string<>, unbounded); `v` points at the C type fargen maps the .x type to
 * (int32_t, ..., char *: see docs/fargen.md). */
bool far_xdr_int32_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_int32_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_uint32_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_uint32_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_int64_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_int64_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_uint64_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_uint64_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_float_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_float_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_double_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_double_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_quad_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_quad_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_bool_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_bool_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_char_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_char_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_u_char_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_u_char_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_short_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_short_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_u_short_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_u_short_decode_any(far_xdr_dec *d, void *v);
bool far_xdr_string_encode_any(far_xdr_enc *e, const void *v);
bool far_xdr_string_decode_any(far_xdr_dec *d, void *v);

/* Decodes one complete value from buf[0..len) into *v, allocating from
 * `arena`, and requires that no bytes are left over.  On failure, returns the
 * code and, if `why` is not NULL, writes a description into why[0..why_len). */
far_err far_xdr_decode(far_xdr_decode_fn fn, void *v, const void *buf, size_t len, far_arena *arena,
                       unsigned flags, char *why, size_t why_len);

/* Encodes *v into buf[0..cap) as one contiguous run (data the encode function
 * put by reference is copied in); *len gets the encoded length. */
far_err far_xdr_encode(far_xdr_encode_fn fn, const void *v, void *buf, size_t cap, size_t *len,
                       char *why, size_t why_len);

#ifdef __cplusplus
}
#endif
#endif
