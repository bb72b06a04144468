/* Differential tests: farcall's XDR codec against libtirpc's xdr_* routines.
 *
 * For every type, N_VALUES random values (fixed seed, printed; override with
 * FARCALL_TEST_SEED) go both ways:
 *   farcall encode  -> the same bytes as libtirpc's encode of the value,
 *                      and libtirpc decodes them back to the value;
 *   libtirpc encode -> farcall decodes the value, consuming every byte.
 * Floating-point values are compared as bit patterns (NaN payloads, -0,
 * infinities and subnormals included).
 *
 * farcall is stricter than libtirpc on decode in a few places, on purpose:
 * char/short values that do not fit their C type, bools other than 0/1 and
 * strings containing NUL are rejected.  The last tests pin those differences
 * down (libtirpc accepts, farcall refuses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include <rpc/xdr.h>

#include <farcall/xdr.h>

#include "common/prng.h"

#define N_VALUES 10000
#define SEED     0x5eedfa4ca11c0deull

/* Fails the test, naming the type and the iteration, if a and b differ. */
static void expect_bytes(const void *a, const void *b, size_t n, const char *what, unsigned i)
{
    if (memcmp(a, b, n) == 0)
        return;
    const uint8_t *x = a, *y = b;
    fprintf(stderr, "%s, value #%u: bytes differ\n  got ", what, i);
    for (size_t k = 0; k < n && k < 64; k++)
        fprintf(stderr, "%02x", x[k]);
    fprintf(stderr, "\n want ");
    for (size_t k = 0; k < n && k < 64; k++)
        fprintf(stderr, "%02x", y[k]);
    fprintf(stderr, "\n");
    fail_msg("%s: value #%u differs", what, i);
}

/* ------------------------------------------------------------ generators */

/* Edge values first (one draw in 8), then values of a random bit width so
 * small and large magnitudes are both common. */
static uint32_t gen_u32(prng *r)
{
    static const uint32_t edges[] = {0,           1,          0xffffffffu, 0x7fffffffu, 0x80000000u,
                                     0x7f,        0x80,       0xff,        0x100,       0x7fff,
                                     0x8000,      0xffff,     0x10000,     0xffffff80u, 0xffff8000u,
                                     0xffffff7fu, 0xffff7fffu};
    if (prng_below(r, 8) == 0)
        return edges[prng_below(r, sizeof edges / sizeof edges[0])];
    return prng_u32(r) >> prng_below(r, 32);
}

static uint64_t gen_u64(prng *r)
{
    static const uint64_t edges[] = {0,
                                     1,
                                     UINT64_MAX,
                                     INT64_MAX,
                                     (uint64_t)INT64_MIN,
                                     0xffffffffu,
                                     0x100000000u,
                                     0x80000000u,
                                     0xffffffff80000000u};
    if (prng_below(r, 8) == 0)
        return edges[prng_below(r, sizeof edges / sizeof edges[0])];
    return prng_u64(r) >> prng_below(r, 64);
}

static uint32_t gen_float_bits(prng *r)
{
    static const uint32_t special[] = {
        0x00000000u, 0x80000000u, /* +0, -0 */
        0x7f800000u, 0xff800000u, /* +inf, -inf */
        0x7fc00000u, 0xffc00000u, /* quiet NaNs */
        0x7f800001u, 0x7fa5a5a5u, /* signalling NaNs with payloads */
        0x00000001u, 0x807fffffu, /* smallest and largest subnormals */
        0x00800000u, 0x7f7fffffu, /* FLT_MIN, FLT_MAX */
    };
    switch (prng_below(r, 8)) {
    case 0:
        return special[prng_below(r, sizeof special / sizeof special[0])];
    case 1: /* subnormal */
        return (prng_u32(r) & 0x807fffffu);
    case 2: /* NaN or inf with a random payload */
        return (prng_u32(r) & 0x807fffffu) | 0x7f800000u;
    default:
        return prng_u32(r);
    }
}

static uint64_t gen_double_bits(prng *r)
{
    static const uint64_t special[] = {
        0x0000000000000000u, 0x8000000000000000u, /* +0, -0 */
        0x7ff0000000000000u, 0xfff0000000000000u, /* +inf, -inf */
        0x7ff8000000000000u, 0xfff8000000000000u, /* quiet NaNs */
        0x7ff0000000000001u, 0x7ff4a5a5a5a5a5a5u, /* signalling NaNs with payloads */
        0x0000000000000001u, 0x800fffffffffffffu, /* smallest and largest subnormals */
        0x0010000000000000u, 0x7fefffffffffffffu, /* DBL_MIN, DBL_MAX */
    };
    switch (prng_below(r, 8)) {
    case 0:
        return special[prng_below(r, sizeof special / sizeof special[0])];
    case 1:
        return prng_u64(r) & 0x800fffffffffffffu;
    case 2:
        return (prng_u64(r) & 0x800fffffffffffffu) | 0x7ff0000000000000u;
    default:
        return prng_u64(r);
    }
}

/* ---------------------------------------------------- fixed-size scalars */

/* One scalar type seen from both libraries.  A value travels as the bytes of
 * its farcall C type in an 8-byte slot, compared with memcmp over `size`. */
typedef struct scalar_type {
    const char *name;
    size_t size; /* sizeof the farcall C type */
    size_t wire; /* bytes on the wire */
    void (*gen)(prng *r, void *v);
    bool (*far_put)(far_xdr_enc *e, const void *v);
    bool (*far_get)(far_xdr_dec *d, void *v);
    bool (*tirpc_put)(XDR *x, const void *v);
    bool (*tirpc_get)(XDR *x, void *v);
} scalar_type;

/* Defines the four adapters and the descriptor T_NAME.  CT is farcall's C
 * type, TT libtirpc's; GEN is an expression of type CT using `r`. */
#define DEF_SCALAR(NAME, CT, TT, WIRE, TPROC, FPUT, FGET, GEN)                                     \
    static void NAME##_gen(prng *r, void *v)                                                       \
    {                                                                                              \
        CT c = GEN;                                                                                \
        memcpy(v, &c, sizeof c);                                                                   \
    }                                                                                              \
    static bool NAME##_far_put(far_xdr_enc *e, const void *v)                                      \
    {                                                                                              \
        CT c;                                                                                      \
        memcpy(&c, v, sizeof c);                                                                   \
        return FPUT(e, c);                                                                         \
    }                                                                                              \
    static bool NAME##_far_get(far_xdr_dec *d, void *v)                                            \
    {                                                                                              \
        CT c;                                                                                      \
        if (!FGET(d, &c))                                                                          \
            return false;                                                                          \
        memcpy(v, &c, sizeof c);                                                                   \
        return true;                                                                               \
    }                                                                                              \
    static bool NAME##_tirpc_put(XDR *x, const void *v)                                            \
    {                                                                                              \
        CT c;                                                                                      \
        memcpy(&c, v, sizeof c);                                                                   \
        TT t = (TT)c;                                                                              \
        return TPROC(x, &t);                                                                       \
    }                                                                                              \
    static bool NAME##_tirpc_get(XDR *x, void *v)                                                  \
    {                                                                                              \
        TT t;                                                                                      \
        if (!TPROC(x, &t))                                                                         \
            return false;                                                                          \
        CT c = (CT)t;                                                                              \
        memcpy(v, &c, sizeof c);                                                                   \
        return true;                                                                               \
    }                                                                                              \
    static const scalar_type T_##NAME = {                                                          \
        #NAME " (" #TPROC ")", sizeof(CT),      WIRE, NAME##_gen, NAME##_far_put, NAME##_far_get,  \
        NAME##_tirpc_put,      NAME##_tirpc_get};

static float float_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double double_from_bits(uint64_t u)
{
    double f;
    memcpy(&f, &u, 8);
    return f;
}

DEF_SCALAR(int, int32_t, int, 4, xdr_int, far_xdr_put_i32, far_xdr_get_i32, (int32_t)gen_u32(r))
DEF_SCALAR(u_int, uint32_t, u_int, 4, xdr_u_int, far_xdr_put_u32, far_xdr_get_u32, gen_u32(r))
DEF_SCALAR(enum, int32_t, enum_t, 4, xdr_enum, far_xdr_put_enum, far_xdr_get_enum,
           (int32_t)gen_u32(r))
DEF_SCALAR(bool, bool, bool_t, 4, xdr_bool, far_xdr_put_bool, far_xdr_get_bool,
           prng_below(r, 2) == 1)
DEF_SCALAR(hyper, int64_t, int64_t, 8, xdr_int64_t, far_xdr_put_i64, far_xdr_get_i64,
           (int64_t)gen_u64(r))
DEF_SCALAR(hyper_q, int64_t, quad_t, 8, xdr_hyper, far_xdr_put_i64, far_xdr_get_i64,
           (int64_t)gen_u64(r))
DEF_SCALAR(u_hyper, uint64_t, u_int64_t, 8, xdr_u_int64_t, far_xdr_put_u64, far_xdr_get_u64,
           gen_u64(r))
DEF_SCALAR(u_hyper_q, uint64_t, u_quad_t, 8, xdr_u_hyper, far_xdr_put_u64, far_xdr_get_u64,
           gen_u64(r))
DEF_SCALAR(float, float, float, 4, xdr_float, far_xdr_put_float, far_xdr_get_float,
           float_from_bits(gen_float_bits(r)))
DEF_SCALAR(double, double, double, 8, xdr_double, far_xdr_put_double, far_xdr_get_double,
           double_from_bits(gen_double_bits(r)))
DEF_SCALAR(char, int8_t, char, 4, xdr_char, far_xdr_put_char, far_xdr_get_char, (int8_t)gen_u32(r))
DEF_SCALAR(u_char, uint8_t, u_char, 4, xdr_u_char, far_xdr_put_u_char, far_xdr_get_u_char,
           (uint8_t)gen_u32(r))
DEF_SCALAR(short, int16_t, short, 4, xdr_short, far_xdr_put_short, far_xdr_get_short,
           (int16_t)gen_u32(r))
DEF_SCALAR(u_short, uint16_t, u_short, 4, xdr_u_short, far_xdr_put_u_short, far_xdr_get_u_short,
           (uint16_t)gen_u32(r))

static void run_scalar(const scalar_type *t)
{
    prng r;
    prng_init(&r, SEED, t->name);
    for (unsigned i = 0; i < N_VALUES; i++) {
        uint8_t v[8] = {0}, back[8] = {0};
        uint8_t fb[16], tb[16];
        t->gen(&r, v);

        /* farcall encode == libtirpc encode */
        far_xdr_enc e;
        far_xdr_enc_init(&e, fb, sizeof fb);
        assert_true(t->far_put(&e, v));
        XDR x;
        xdrmem_create(&x, (char *)tb, sizeof tb, XDR_ENCODE);
        assert_true(t->tirpc_put(&x, v));
        size_t n = far_xdr_enc_len(&e);
        assert_int_equal(n, t->wire);
        assert_int_equal(xdr_getpos(&x), n);
        expect_bytes(fb, tb, n, t->name, i);
        xdr_destroy(&x);

        /* libtirpc decodes farcall's bytes to the value */
        xdrmem_create(&x, (char *)fb, (u_int)n, XDR_DECODE);
        assert_true(t->tirpc_get(&x, back));
        assert_int_equal(xdr_getpos(&x), n);
        expect_bytes(back, v, t->size, t->name, i);
        xdr_destroy(&x);

        /* farcall decodes libtirpc's bytes to the value, using them all */
        memset(back, 0, sizeof back);
        far_xdr_dec d;
        far_xdr_dec_init(&d, tb, n, NULL, 0);
        assert_true(t->far_get(&d, back));
        assert_true(far_xdr_dec_done(&d));
        expect_bytes(back, v, t->size, t->name, i);
    }
}

static void tirpc_int(void **state)
{
    (void)state;
    run_scalar(&T_int);
}
static void tirpc_u_int(void **state)
{
    (void)state;
    run_scalar(&T_u_int);
}
static void tirpc_enum(void **state)
{
    (void)state;
    run_scalar(&T_enum);
}
static void tirpc_bool(void **state)
{
    (void)state;
    run_scalar(&T_bool);
}
static void tirpc_hyper(void **state)
{
    (void)state;
    run_scalar(&T_hyper);
    run_scalar(&T_hyper_q);
}
static void tirpc_u_hyper(void **state)
{
    (void)state;
    run_scalar(&T_u_hyper);
    run_scalar(&T_u_hyper_q);
}
static void tirpc_float_bits(void **state)
{
    (void)state;
    run_scalar(&T_float);
}
static void tirpc_double_bits(void **state)
{
    (void)state;
    run_scalar(&T_double);
}
static void tirpc_char(void **state)
{
    (void)state;
    run_scalar(&T_char);
}
static void tirpc_u_char(void **state)
{
    (void)state;
    run_scalar(&T_u_char);
}
static void tirpc_short(void **state)
{
    (void)state;
    run_scalar(&T_short);
}
static void tirpc_u_short(void **state)
{
    (void)state;
    run_scalar(&T_u_short);
}

/* ------------------------------------------------ variable-length items */

#define MAX_BYTES 300
#define MAX_ELEMS 64

/* Decoding modes cycled through by the variable-length tests. */
enum { MODE_ARENA, MODE_ZEROCOPY, MODE_HEAP, N_MODES };

static void dec_init_mode(far_xdr_dec *d, const void *buf, size_t n, far_arena *a, unsigned mode)
{
    far_arena_reset(a);
    far_xdr_dec_init(d, buf, n, mode == MODE_HEAP ? NULL : a,
                     mode == MODE_ZEROCOPY ? FAR_XDR_ZEROCOPY : 0);
}

/* opaque[n] with random n in 0..300, including non-multiples of 4. */
static void tirpc_opaque_fixed(void **state)
{
    (void)state;
    prng r;
    prng_init(&r, SEED, "opaque[n] (xdr_opaque)");
    for (unsigned i = 0; i < N_VALUES; i++) {
        uint8_t data[MAX_BYTES], back[MAX_BYTES + 1];
        uint8_t fb[MAX_BYTES + 4], tb[MAX_BYTES + 4];
        uint32_t len = prng_below(&r, MAX_BYTES + 1);
        prng_fill(&r, data, len);
        size_t wire = len + far_xdr_pad(len);

        far_xdr_enc e;
        far_xdr_enc_init(&e, fb, sizeof fb);
        assert_true(far_xdr_put_opaque_fixed(&e, data, len));
        XDR x;
        xdrmem_create(&x, (char *)tb, sizeof tb, XDR_ENCODE);
        assert_true(xdr_opaque(&x, (char *)data, len));
        assert_int_equal(far_xdr_enc_len(&e), wire);
        assert_int_equal(xdr_getpos(&x), wire);
        expect_bytes(fb, tb, wire, "opaque[n] encode", i);
        xdr_destroy(&x);

        memset(back, 0xee, sizeof back);
        xdrmem_create(&x, (char *)fb, (u_int)wire, XDR_DECODE);
        assert_true(xdr_opaque(&x, (char *)back, len));
        assert_int_equal(xdr_getpos(&x), wire);
        expect_bytes(back, data, len, "opaque[n] libtirpc decode", i);
        xdr_destroy(&x);

        memset(back, 0xee, sizeof back);
        far_xdr_dec d;
        far_xdr_dec_init(&d, tb, wire, NULL, 0);
        assert_true(far_xdr_get_opaque_fixed(&d, back, len));
        assert_true(far_xdr_dec_done(&d));
        expect_bytes(back, data, len, "opaque[n] farcall decode", i);
        assert_int_equal(back[len], 0xee); /* wrote exactly len bytes */
    }
}

/* opaque<300> with random lengths, decoded in arena, zero-copy and heap modes. */
static void tirpc_bytes(void **state)
{
    (void)state;
    prng r;
    prng_init(&r, SEED, "opaque<> (xdr_bytes)");
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    for (unsigned i = 0; i < N_VALUES; i++) {
        uint8_t data[MAX_BYTES], back[MAX_BYTES];
        uint8_t fb[MAX_BYTES + 8], tb[MAX_BYTES + 8];
        uint32_t len = prng_below(&r, MAX_BYTES + 1);
        prng_fill(&r, data, len);
        size_t wire = 4 + len + far_xdr_pad(len);

        far_xdr_enc e;
        far_xdr_enc_init(&e, fb, sizeof fb);
        assert_true(far_xdr_put_opaque(&e, data, len, MAX_BYTES));
        XDR x;
        xdrmem_create(&x, (char *)tb, sizeof tb, XDR_ENCODE);
        char *dp = (char *)data;
        u_int dn = len;
        assert_true(xdr_bytes(&x, &dp, &dn, MAX_BYTES));
        assert_int_equal(far_xdr_enc_len(&e), wire);
        assert_int_equal(xdr_getpos(&x), wire);
        expect_bytes(fb, tb, wire, "opaque<> encode", i);
        xdr_destroy(&x);

        char *bp = (char *)back;
        u_int bn = 0;
        xdrmem_create(&x, (char *)fb, (u_int)wire, XDR_DECODE);
        assert_true(xdr_bytes(&x, &bp, &bn, MAX_BYTES));
        assert_int_equal(xdr_getpos(&x), wire);
        assert_int_equal(bn, len);
        expect_bytes(back, data, len, "opaque<> libtirpc decode", i);
        xdr_destroy(&x);

        unsigned mode = i % N_MODES;
        far_xdr_dec d;
        dec_init_mode(&d, tb, wire, &a, mode);
        uint8_t *got = (uint8_t *)"x";
        uint32_t gn = UINT32_MAX;
        assert_true(far_xdr_get_opaque(&d, &got, &gn, MAX_BYTES));
        assert_true(far_xdr_dec_done(&d));
        assert_int_equal(gn, len);
        if (len == 0)
            assert_null(got);
        else
            expect_bytes(got, data, len, "opaque<> farcall decode", i);
        if (mode == MODE_ZEROCOPY && len)
            assert_ptr_equal(got, tb + 4);
        if (mode == MODE_HEAP)
            free(got);
    }
    far_arena_fini(&a);
}

/* string<300>: random non-NUL bytes (printable half of the time), lengths
 * 0..300, encoded from a C string or from (pointer, length). */
static void tirpc_string(void **state)
{
    (void)state;
    prng r;
    prng_init(&r, SEED, "string<> (xdr_string)");
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    for (unsigned i = 0; i < N_VALUES; i++) {
        char s[MAX_BYTES + 1], back[MAX_BYTES + 1];
        uint8_t fb[MAX_BYTES + 8], tb[MAX_BYTES + 8];
        uint32_t len = prng_below(&r, MAX_BYTES + 1);
        bool printable = prng_below(&r, 2);
        for (uint32_t k = 0; k < len; k++)
            s[k] = (char)(printable ? 0x20 + prng_below(&r, 0x5f) : 1 + prng_below(&r, 255));
        s[len] = '\0';
        size_t wire = 4 + len + far_xdr_pad(len);

        far_xdr_enc e;
        far_xdr_enc_init(&e, fb, sizeof fb);
        if (i & 1)
            assert_true(far_xdr_put_string(&e, s, MAX_BYTES));
        else
            assert_true(far_xdr_put_string_n(&e, s, len, MAX_BYTES));
        XDR x;
        xdrmem_create(&x, (char *)tb, sizeof tb, XDR_ENCODE);
        char *sp = s;
        assert_true(xdr_string(&x, &sp, MAX_BYTES));
        assert_int_equal(far_xdr_enc_len(&e), wire);
        assert_int_equal(xdr_getpos(&x), wire);
        expect_bytes(fb, tb, wire, "string encode", i);
        xdr_destroy(&x);

        char *bp = back;
        xdrmem_create(&x, (char *)fb, (u_int)wire, XDR_DECODE);
        assert_true(xdr_string(&x, &bp, MAX_BYTES));
        assert_int_equal(xdr_getpos(&x), wire);
        assert_int_equal(strlen(back), len);
        expect_bytes(back, s, len + 1, "string libtirpc decode", i);
        xdr_destroy(&x);

        unsigned mode = i % N_MODES;
        far_xdr_dec d;
        dec_init_mode(&d, tb, wire, &a, mode);
        char *got = NULL;
        assert_true(far_xdr_get_string(&d, &got, MAX_BYTES));
        assert_true(far_xdr_dec_done(&d));
        assert_non_null(got);
        assert_int_equal(strlen(got), len);
        expect_bytes(got, s, len + 1, "string farcall decode", i);
        if (mode == MODE_HEAP)
            free(got);
    }
    far_arena_fini(&a);
}

/* int[n] (xdr_vector): fixed-length arrays of random length 0..64. */
static void tirpc_vector_int(void **state)
{
    (void)state;
    prng r;
    prng_init(&r, SEED, "int[n] (xdr_vector)");
    for (unsigned i = 0; i < N_VALUES; i++) {
        int32_t v[MAX_ELEMS], back[MAX_ELEMS];
        uint8_t fb[4 * MAX_ELEMS], tb[4 * MAX_ELEMS];
        uint32_t n = prng_below(&r, MAX_ELEMS + 1);
        for (uint32_t k = 0; k < n; k++)
            v[k] = (int32_t)gen_u32(&r);

        far_xdr_enc e;
        far_xdr_enc_init(&e, fb, sizeof fb);
        assert_true(far_xdr_put_u32_array(&e, (const uint32_t *)v, n));
        XDR x;
        xdrmem_create(&x, (char *)tb, sizeof tb, XDR_ENCODE);
        assert_true(xdr_vector(&x, (char *)v, n, sizeof(int), (xdrproc_t)xdr_int));
        assert_int_equal(far_xdr_enc_len(&e), 4 * n);
        assert_int_equal(xdr_getpos(&x), 4 * n);
        expect_bytes(fb, tb, 4 * n, "int[n] encode", i);
        xdr_destroy(&x);

        memset(back, 0, sizeof back);
        xdrmem_create(&x, (char *)fb, 4 * n, XDR_DECODE);
        assert_true(xdr_vector(&x, (char *)back, n, sizeof(int), (xdrproc_t)xdr_int));
        expect_bytes(back, v, 4 * n, "int[n] libtirpc decode", i);
        xdr_destroy(&x);

        memset(back, 0, sizeof back);
        far_xdr_dec d;
        far_xdr_dec_init(&d, tb, 4 * n, NULL, 0);
        assert_true(far_xdr_get_u32_array(&d, (uint32_t *)back, n));
        assert_true(far_xdr_dec_done(&d));
        expect_bytes(back, v, 4 * n, "int[n] farcall decode", i);
    }
}

/* T<64> (xdr_array) of 4-byte or 8-byte elements: count, then the bodies. */
static void run_array(size_t elsize, const char *what)
{
    prng r;
    prng_init(&r, SEED, what);
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    xdrproc_t proc = elsize == 4 ? (xdrproc_t)xdr_int : (xdrproc_t)xdr_int64_t;
    for (unsigned i = 0; i < N_VALUES; i++) {
        uint64_t v64[MAX_ELEMS], back64[MAX_ELEMS];
        uint32_t v32[MAX_ELEMS], back32[MAX_ELEMS];
        uint8_t fb[4 + 8 * MAX_ELEMS], tb[4 + 8 * MAX_ELEMS];
        uint32_t n = prng_below(&r, MAX_ELEMS + 1);
        for (uint32_t k = 0; k < n; k++) {
            v64[k] = gen_u64(&r);
            v32[k] = gen_u32(&r);
        }
        void *v = elsize == 4 ? (void *)v32 : (void *)v64;
        void *back = elsize == 4 ? (void *)back32 : (void *)back64;
        size_t wire = 4 + elsize * n;

        far_xdr_enc e;
        far_xdr_enc_init(&e, fb, sizeof fb);
        assert_true(far_xdr_put_count(&e, n, MAX_ELEMS));
        if (elsize == 4)
            assert_true(far_xdr_put_u32_array(&e, v32, n));
        else
            assert_true(far_xdr_put_u64_array(&e, v64, n));
        XDR x;
        xdrmem_create(&x, (char *)tb, sizeof tb, XDR_ENCODE);
        char *vp = v;
        u_int vn = n;
        assert_true(xdr_array(&x, &vp, &vn, MAX_ELEMS, (u_int)elsize, proc));
        assert_int_equal(far_xdr_enc_len(&e), wire);
        assert_int_equal(xdr_getpos(&x), wire);
        expect_bytes(fb, tb, wire, what, i);
        xdr_destroy(&x);

        memset(back, 0, elsize * MAX_ELEMS);
        char *bp = back;
        u_int bn = 0;
        xdrmem_create(&x, (char *)fb, (u_int)wire, XDR_DECODE);
        assert_true(xdr_array(&x, &bp, &bn, MAX_ELEMS, (u_int)elsize, proc));
        assert_int_equal(xdr_getpos(&x), wire);
        assert_int_equal(bn, n);
        expect_bytes(back, v, elsize * n, what, i);
        xdr_destroy(&x);

        far_arena_reset(&a);
        far_xdr_dec d;
        far_xdr_dec_init(&d, tb, wire, &a, 0);
        uint32_t got_n = UINT32_MAX;
        assert_true(far_xdr_get_count(&d, &got_n, MAX_ELEMS, elsize));
        assert_int_equal(got_n, n);
        void *got = far_xdr_alloc_array(&d, got_n, elsize);
        assert_non_null(got);
        if (elsize == 4)
            assert_true(far_xdr_get_u32_array(&d, got, got_n));
        else
            assert_true(far_xdr_get_u64_array(&d, got, got_n));
        assert_true(far_xdr_dec_done(&d));
        expect_bytes(got, v, elsize * n, what, i);
    }
    far_arena_fini(&a);
}

static void tirpc_array_int(void **state)
{
    (void)state;
    run_array(4, "int<64> (xdr_array of xdr_int)");
}

static void tirpc_array_hyper(void **state)
{
    (void)state;
    run_array(8, "hyper<64> (xdr_array of xdr_int64_t)");
}

/* ------------------------------------------------ deliberate differences */

/* Decodes the 4-byte word w with libtirpc's routine (which must accept it)
 * and with farcall's (which must refuse it with FAR_EBADVALUE at byte 0). */
static void expect_stricter(uint32_t w, bool_t (*tproc)(XDR *, void *),
                            bool (*fget)(far_xdr_dec *, void *), const char *what)
{
    uint8_t buf[4];
    far_xdr_store_u32(buf, w);
    uint8_t slot[8];
    XDR x;
    xdrmem_create(&x, (char *)buf, 4, XDR_DECODE);
    if (!tproc(&x, slot))
        fail_msg("libtirpc refused %s 0x%08x; this test expects it to accept", what, w);
    xdr_destroy(&x);

    far_xdr_dec d;
    far_xdr_dec_init(&d, buf, 4, NULL, 0);
    if (fget(&d, slot))
        fail_msg("farcall accepted %s 0x%08x", what, w);
    assert_int_equal(d.err.code, FAR_EBADVALUE);
    assert_int_equal(d.err.offset, 0);
}

/* Thin adapters so one helper can drive every type. */
static bool_t t_char(XDR *x, void *v)
{
    return xdr_char(x, v);
}
static bool_t t_u_char(XDR *x, void *v)
{
    return xdr_u_char(x, v);
}
static bool_t t_short(XDR *x, void *v)
{
    return xdr_short(x, v);
}
static bool_t t_u_short(XDR *x, void *v)
{
    return xdr_u_short(x, v);
}
static bool_t t_bool(XDR *x, void *v)
{
    return xdr_bool(x, v);
}
static bool f_char(far_xdr_dec *d, void *v)
{
    return far_xdr_get_char(d, v);
}
static bool f_u_char(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u_char(d, v);
}
static bool f_short(far_xdr_dec *d, void *v)
{
    return far_xdr_get_short(d, v);
}
static bool f_u_short(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u_short(d, v);
}
static bool f_bool(far_xdr_dec *d, void *v)
{
    return far_xdr_get_bool(d, v);
}

static void out_of_range_char_short_bool_rejected(void **state)
{
    (void)state;
    static const uint32_t bad_char[] = {128, 255, 0xffffff7fu, 0x7fffffffu, 0x80000000u};
    static const uint32_t bad_u_char[] = {256, 0xffffffffu, 0x80000000u, 0x100000ffu};
    static const uint32_t bad_short[] = {32768, 65535, 0xffff7fffu, 0x7fffffffu, 0x80000000u};
    static const uint32_t bad_u_short[] = {65536, 0xffffffffu, 0x80000000u};
    static const uint32_t bad_bool[] = {2, 0xffffffffu, 0x80000000u, 0x100};
    for (size_t i = 0; i < sizeof bad_char / sizeof bad_char[0]; i++)
        expect_stricter(bad_char[i], t_char, f_char, "char");
    for (size_t i = 0; i < sizeof bad_u_char / sizeof bad_u_char[0]; i++)
        expect_stricter(bad_u_char[i], t_u_char, f_u_char, "u_char");
    for (size_t i = 0; i < sizeof bad_short / sizeof bad_short[0]; i++)
        expect_stricter(bad_short[i], t_short, f_short, "short");
    for (size_t i = 0; i < sizeof bad_u_short / sizeof bad_u_short[0]; i++)
        expect_stricter(bad_u_short[i], t_u_short, f_u_short, "u_short");
    for (size_t i = 0; i < sizeof bad_bool / sizeof bad_bool[0]; i++)
        expect_stricter(bad_bool[i], t_bool, f_bool, "bool");

    /* the edges themselves are accepted */
    static const struct {
        uint32_t w;
        bool (*fget)(far_xdr_dec *, void *);
    } good[] = {{0xffffff80u, f_char},
                {127, f_char},
                {0, f_u_char},
                {255, f_u_char},
                {0xffff8000u, f_short},
                {32767, f_short},
                {0, f_u_short},
                {65535, f_u_short},
                {0, f_bool},
                {1, f_bool}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t buf[4], slot[8];
        far_xdr_store_u32(buf, good[i].w);
        far_xdr_dec d;
        far_xdr_dec_init(&d, buf, 4, NULL, 0);
        assert_true(good[i].fget(&d, slot));
    }
}

static void string_with_nul_rejected(void **state)
{
    (void)state;
    /* "ab\0d" as string<>: libtirpc decodes it (as "ab"), farcall refuses */
    static const uint8_t wire[8] = {0, 0, 0, 4, 'a', 'b', 0, 'd'};
    char back[8];
    char *bp = back;
    XDR x;
    xdrmem_create(&x, (char *)wire, sizeof wire, XDR_DECODE);
    assert_true(xdr_string(&x, &bp, 100));
    xdr_destroy(&x);

    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    for (unsigned mode = 0; mode < N_MODES; mode++) {
        far_xdr_dec d;
        dec_init_mode(&d, wire, sizeof wire, &a, mode);
        char *s = NULL;
        assert_false(far_xdr_get_string(&d, &s, 100));
        assert_null(s);
        assert_int_equal(d.err.code, FAR_EBADVALUE);
        assert_int_equal(d.err.offset, 6); /* the NUL byte itself */
        assert_int_equal(d.heap_used, 0);
    }
    assert_int_equal(far_arena_used(&a), 0);
    far_arena_fini(&a);

    far_xdr_dec d;
    far_xdr_dec_init(&d, wire, sizeof wire, NULL, 0);
    const char *ref = NULL;
    uint32_t n = 0;
    assert_false(far_xdr_get_string_ref(&d, &ref, &n, 100));
    assert_int_equal(d.err.code, FAR_EBADVALUE);
    assert_int_equal(d.err.offset, 6);

    /* and farcall will not encode one either */
    uint8_t buf[16];
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_string_n(&e, "ab\0d", 4, 100));
    assert_int_equal(e.err.code, FAR_EBADVALUE);
    assert_int_equal(far_xdr_enc_len(&e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tirpc_int),
        cmocka_unit_test(tirpc_u_int),
        cmocka_unit_test(tirpc_enum),
        cmocka_unit_test(tirpc_bool),
        cmocka_unit_test(tirpc_hyper),
        cmocka_unit_test(tirpc_u_hyper),
        cmocka_unit_test(tirpc_float_bits),
        cmocka_unit_test(tirpc_double_bits),
        cmocka_unit_test(tirpc_char),
        cmocka_unit_test(tirpc_u_char),
        cmocka_unit_test(tirpc_short),
        cmocka_unit_test(tirpc_u_short),
        cmocka_unit_test(tirpc_opaque_fixed),
        cmocka_unit_test(tirpc_bytes),
        cmocka_unit_test(tirpc_string),
        cmocka_unit_test(tirpc_vector_int),
        cmocka_unit_test(tirpc_array_int),
        cmocka_unit_test(tirpc_array_hyper),
        cmocka_unit_test(out_of_range_char_short_bool_rejected),
        cmocka_unit_test(string_with_nul_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
