/* The XDR codec's encoder, decoder modes, arena and quadruple conversion.
 *
 *  - encoder: a full fixed buffer and a growable buffer at its maximum give
 *    FAR_ENOSPACE with a message; limits give FAR_ELIMIT, a NULL string
 *    FAR_EMISUSE; opaque data by reference produces a scatter list that
 *    concatenates (and flattens) to exactly the bytes of a copying encode,
 *    pointing at the caller's own bytes;
 *  - decoder: zero-copy opaque and strings point into the input when they
 *    can, string references never copy, heap mode is bounded by max_alloc
 *    and an arena by its maximum; a reset arena reuses its memory, and a
 *    caller's initial block is used before the heap;
 *  - quadruple: exact round trips for every double, known binary128
 *    encodings, rounding and range of binary128 -> double, and (where the
 *    compiler has __float128) agreement with the compiler's conversions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/guard.h"
#include "common/prng.h"
#include "common/samples.h"

#define SEED 0xc0dec5eedf00dull

static const char *enc_why(const far_xdr_enc *e)
{
    static char why[512];
    return far_xdr_enc_strerror(e, why, sizeof why);
}

static const char *dec_why(const far_xdr_dec *d)
{
    static char why[512];
    return far_xdr_dec_strerror(d, why, sizeof why);
}

/* ------------------------------------------------------------- encoder */

static void fixed_buffer_full_is_enospace(void **state)
{
    (void)state;
    uint8_t buf[6];
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_true(far_xdr_put_u32(&e, 0x01020304));
    assert_false(far_xdr_put_u32(&e, 5));
    assert_int_equal(e.err.code, FAR_ENOSPACE);
    assert_int_equal(far_xdr_enc_len(&e), 4); /* nothing partial was written */
    assert_string_equal(enc_why(&e),
                        "FAR_ENOSPACE at byte 4: needs 4 bytes, 2 left in a 6-byte buffer");
    assert_false(far_xdr_put_bool(&e, true)); /* and it stays failed */
    assert_int_equal(far_xdr_enc_len(&e), 4);

    /* reset clears the error and keeps the buffer */
    far_xdr_enc_reset(&e);
    assert_int_equal(e.err.code, FAR_OK);
    assert_true(far_xdr_put_u32(&e, 7));
    assert_int_equal(far_xdr_load_u32(buf), 7);

    /* a variable-length item that does not fit is not started */
    uint8_t small[16], data[20] = {0};
    far_xdr_enc_init(&e, small, sizeof small);
    assert_false(far_xdr_put_opaque(&e, data, sizeof data, 100));
    assert_int_equal(e.err.code, FAR_ENOSPACE);
    assert_int_equal(far_xdr_enc_len(&e), 0);
    far_xdr_enc_init(&e, small, sizeof small);
    assert_true(far_xdr_put_opaque_fixed(&e, data, 13)); /* 13 + 3 pad = 16 fits */
    assert_int_equal(far_xdr_enc_len(&e), 16);
    far_xdr_enc_init(&e, small, sizeof small);
    assert_false(far_xdr_put_opaque_fixed(&e, data, 17)); /* 17 + 3 does not */
    assert_int_equal(e.err.code, FAR_ENOSPACE);
    far_xdr_enc_init(&e, small, sizeof small);
    assert_false(far_xdr_put_quad(&e, &(far_quad){{0}}) && far_xdr_put_u32(&e, 1));
    assert_int_equal(e.err.code, FAR_ENOSPACE);

    /* no buffer at all */
    far_xdr_enc_init(&e, NULL, 100);
    assert_false(far_xdr_put_u32(&e, 1));
    assert_int_equal(e.err.code, FAR_ENOSPACE);

    /* the whole-value API names the field that did not fit */
    file f = sample_file();
    uint8_t out[40];
    size_t len = 0;
    char why[256];
    assert_int_equal(far_xdr_encode(file_encode_any, &f, out, sizeof out, &len, why, sizeof why),
                     FAR_ENOSPACE);
    assert_int_equal(len, 0);
    assert_string_equal(why, "FAR_ENOSPACE at byte 36 in owner: needs 8 bytes, 4 left in a "
                             "40-byte buffer");
}

static void growable_buffer_stops_at_max(void **state)
{
    (void)state;
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, 4, 64), FAR_OK);
    for (uint32_t i = 0; i < 16; i++)
        assert_true(far_xdr_put_u32(&e, i * 0x01010101u));
    assert_int_equal(far_xdr_enc_len(&e), 64);
    assert_true(e.cap <= 64);
    for (uint32_t i = 0; i < 16; i++)
        assert_int_equal(far_xdr_load_u32(far_xdr_enc_data(&e) + 4 * i), i * 0x01010101u);
    assert_false(far_xdr_put_u32(&e, 99));
    assert_int_equal(e.err.code, FAR_ENOSPACE);
    assert_int_equal(far_xdr_enc_len(&e), 64);
    assert_string_equal(enc_why(&e),
                        "FAR_ENOSPACE at byte 64: encoding would exceed its maximum of 64 bytes");
    far_xdr_enc_fini(&e);

    /* one large item grows the buffer in one step; the last byte of room is
     * usable; a start size above the maximum is clamped */
    uint8_t data[90];
    memset(data, 0x5a, sizeof data);
    assert_int_equal(far_xdr_enc_init_grow(&e, 1000, 100), FAR_OK);
    assert_true(e.cap <= 100);
    far_xdr_enc_fini(&e);
    assert_int_equal(far_xdr_enc_init_grow(&e, 8, 100), FAR_OK);
    assert_true(far_xdr_put_opaque(&e, data, sizeof data, 100)); /* 4 + 90 + 2 */
    assert_true(far_xdr_put_u32(&e, 1));                         /* 100 */
    assert_false(far_xdr_put_bool(&e, false));
    assert_int_equal(e.err.code, FAR_ENOSPACE);
    assert_int_equal(far_xdr_enc_len(&e), 100);
    assert_memory_equal(far_xdr_enc_data(&e) + 4, data, sizeof data);
    far_xdr_enc_fini(&e);
    far_xdr_enc_fini(&e); /* fini twice is harmless */
}

static void limits_and_misuse(void **state)
{
    (void)state;
    uint8_t buf[64];
    far_xdr_enc e;

    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_string(&e, "hello", 4));
    assert_int_equal(e.err.code, FAR_ELIMIT);
    assert_int_equal(far_xdr_enc_len(&e), 0);
    assert_string_equal(enc_why(&e), "FAR_ELIMIT at byte 0: string longer than its maximum 4");

    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_true(far_xdr_put_string(&e, "hello", 5));
    assert_int_equal(far_xdr_enc_len(&e), 12);
    assert_memory_equal(buf, "\0\0\0\5hello\0\0\0", 12);

    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_string_n(&e, "hello", 5, 4));
    assert_int_equal(e.err.code, FAR_ELIMIT);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_opaque(&e, "hello", 5, 4));
    assert_int_equal(e.err.code, FAR_ELIMIT);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_opaque_ref(&e, "hello", 5, 4));
    assert_int_equal(e.err.code, FAR_ELIMIT);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_count(&e, 9, 8));
    assert_int_equal(e.err.code, FAR_ELIMIT);
    assert_string_equal(enc_why(&e), "FAR_ELIMIT at byte 0: count 9 exceeds its maximum 8");
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_count(&e, (size_t)UINT32_MAX + 1, FAR_XDR_UNBOUNDED));
    assert_int_equal(e.err.code, FAR_ELIMIT);

    /* put_string reads at most max+1 bytes: an unterminated string against a
     * guard page is refused without reading past it */
    guard_buf g;
    assert_int_equal(guard_init(&g, 5), 0);
    const char *unterminated = (const char *)guard_place(&g, "abcde", 5);
    assert_non_null(unterminated);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_string(&e, unterminated, 4));
    assert_int_equal(e.err.code, FAR_ELIMIT);
    guard_fini(&g);

    /* NULL strings */
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_string(&e, NULL, 10));
    assert_int_equal(e.err.code, FAR_EMISUSE);
    assert_string_equal(enc_why(&e), "FAR_EMISUSE at byte 0: NULL string");
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far_xdr_put_string_n(&e, NULL, 3, 10));
    assert_int_equal(e.err.code, FAR_EMISUSE);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_true(far_xdr_put_string_n(&e, NULL, 0, 10)); /* empty: nothing to read */
    assert_int_equal(far_xdr_enc_len(&e), 4);

    /* whole-value API misuse */
    size_t len;
    file f = sample_file();
    assert_int_equal(far_xdr_encode(NULL, &f, buf, sizeof buf, &len, NULL, 0), FAR_EMISUSE);
    assert_int_equal(far_xdr_encode(file_encode_any, &f, buf, sizeof buf, NULL, NULL, 0),
                     FAR_EMISUSE);
    assert_int_equal(far_xdr_decode(file_decode_any, &f, NULL, 4, NULL, 0, NULL, 0), FAR_EMISUSE);
}

/* Concatenates the encoder's iovecs into a new buffer of far_xdr_enc_len bytes. */
static uint8_t *gather(far_xdr_enc *e, struct iovec **iov_out, size_t *n_out)
{
    size_t n = far_xdr_enc_iov(e, NULL, 0);
    assert_true(n >= 1 && n < 1000);
    struct iovec *iov = calloc(n + 1, sizeof *iov);
    assert_non_null(iov);
    iov[n].iov_base = (void *)iov; /* sentinel: must stay untouched */
    assert_int_equal(far_xdr_enc_iov(e, iov, n), n);
    assert_ptr_equal(iov[n].iov_base, iov);
    size_t total = far_xdr_enc_len(e);
    uint8_t *out = malloc(total + 1);
    assert_non_null(out);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(iov[i].iov_len <= total - at);
        memcpy(out + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    assert_int_equal(at, total);
    *iov_out = iov;
    *n_out = n;
    return out;
}

/* The pieces of one message, written by copy or by reference. */
typedef struct ref_msg {
    uint8_t big1[1001], big2[4096], big3[3], below[511], at[512];
} ref_msg;

/* Writes the message; with by_ref, big1..big3 go through put_opaque_ref and
 * `below`/`at` through put_opaque with ref_min 512 (so `at` is referenced);
 * otherwise everything is copied. */
static void put_ref_msg(far_xdr_enc *e, const ref_msg *m, bool by_ref)
{
    bool (*put)(far_xdr_enc *, const void *, uint32_t, uint32_t) =
        by_ref ? far_xdr_put_opaque_ref : far_xdr_put_opaque;
    far_xdr_enc_set_ref_min(e, by_ref ? 512 : 0);
    assert_true(far_xdr_put_u32(e, 0xaabbccdd));
    assert_true(put(e, m->big1, sizeof m->big1, 5000)); /* 3 pad bytes inline */
    assert_true(far_xdr_put_string(e, "xy", 8));
    assert_true(put(e, m->big2, sizeof m->big2, 5000));
    assert_true(put(e, m->big3, sizeof m->big3, 5000)); /* ref right after a ref */
    assert_true(put(e, NULL, 0, 5000));                 /* empty: just the length */
    assert_true(far_xdr_put_u64(e, 0x0102030405060708));
    assert_true(far_xdr_put_opaque(e, m->below, sizeof m->below, 5000));
    assert_true(far_xdr_put_opaque(e, m->at, sizeof m->at, 5000));
    assert_true(put(e, m->big2, sizeof m->big2, 5000)); /* ends with referenced bytes */
}

/* An encode function that puts data by reference: far_xdr_encode must still
 * hand back one contiguous buffer equal to a copying encode. */
static const uint8_t ref_payload[37] = "by-reference payload, odd length....";

static bool refs_encode(far_xdr_enc *e, const void *v)
{
    (void)v;
    return far_xdr_put_u32(e, 0x11223344) &&
           far_xdr_put_opaque_ref(e, ref_payload, sizeof ref_payload, 100) &&
           far_xdr_put_string(e, "tail", 8) && far_xdr_put_opaque_ref(e, ref_payload, 5, 100) &&
           far_xdr_put_u32(e, 7);
}

static bool copies_encode(far_xdr_enc *e, const void *v)
{
    (void)v;
    return far_xdr_put_u32(e, 0x11223344) &&
           far_xdr_put_opaque(e, ref_payload, sizeof ref_payload, 100) &&
           far_xdr_put_string(e, "tail", 8) && far_xdr_put_opaque(e, ref_payload, 5, 100) &&
           far_xdr_put_u32(e, 7);
}

static void whole_value_encode_flattens_references(void **state)
{
    (void)state;
    uint8_t want[128], got[128];
    size_t wlen = 0, glen = 0;
    int dummy = 0;
    assert_int_equal(far_xdr_encode(copies_encode, &dummy, want, sizeof want, &wlen, NULL, 0),
                     FAR_OK);
    memset(got, 0xee, sizeof got);
    assert_int_equal(far_xdr_encode(refs_encode, &dummy, got, sizeof got, &glen, NULL, 0), FAR_OK);
    assert_int_equal(glen, wlen);
    assert_memory_equal(got, want, wlen);
    /* too small for the referenced bytes: refused, with a reason */
    char why[200];
    size_t inline_only = wlen - sizeof ref_payload - 5 + 4;
    assert_int_equal(far_xdr_encode(refs_encode, &dummy, got, inline_only, &glen, why, sizeof why),
                     FAR_ENOSPACE);
    assert_non_null(strstr(why, "referenced data"));
}

static void opaque_by_reference_matches_copy(void **state)
{
    (void)state;
    ref_msg *m = malloc(sizeof *m);
    assert_non_null(m);
    prng r;
    prng_init(&r, SEED, "opaque by reference");
    prng_fill(&r, m, sizeof *m);

    /* the reference encoding, copied into one buffer */
    far_xdr_enc c;
    assert_int_equal(far_xdr_enc_init_grow(&c, 64, 0), FAR_OK);
    put_ref_msg(&c, m, false);
    size_t total = far_xdr_enc_len(&c);
    assert_int_equal(c.ref_bytes, 0);
    assert_int_equal(far_xdr_enc_iov(&c, NULL, 0), 1);

    /* by reference, into a growable and into a fixed buffer */
    static uint8_t fixed[1024];
    for (unsigned grow = 0; grow <= 1; grow++) {
        far_xdr_enc e;
        if (grow)
            assert_int_equal(far_xdr_enc_init_grow(&e, 16, 0), FAR_OK);
        else
            far_xdr_enc_init(&e, fixed, sizeof fixed);
        put_ref_msg(&e, m, true);
        assert_int_equal(far_xdr_enc_len(&e), total);
        size_t refs = sizeof m->big1 + 2 * sizeof m->big2 + sizeof m->big3 + sizeof m->at;
        assert_int_equal(e.ref_bytes, refs);
        assert_int_equal(e.pos, total - refs); /* only the rest is inline */

        struct iovec *iov;
        size_t n;
        uint8_t *joined = gather(&e, &iov, &n);
        assert_memory_equal(joined, far_xdr_enc_data(&c), total);

        /* the referenced pieces are the caller's own bytes, in order */
        const void *want[] = {m->big1, m->big2, m->big3, m->at, m->big2};
        size_t want_len[] = {sizeof m->big1, sizeof m->big2, sizeof m->big3, sizeof m->at,
                             sizeof m->big2};
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *b = iov[i].iov_base;
            bool inline_part = b >= e.buf && b < e.buf + e.cap;
            if (inline_part)
                continue;
            assert_true(k < 5);
            assert_ptr_equal(b, want[k]);
            assert_int_equal(iov[i].iov_len, want_len[k]);
            k++;
        }
        assert_int_equal(k, 5);
        assert_int_equal(n, 10); /* 5 references, each preceded by inline bytes */

        free(iov);

        /* a short iovec array: the count needed, only `max` entries filled */
        struct iovec few[3];
        memset(few, 0, sizeof few);
        assert_int_equal(far_xdr_enc_iov(&e, few, 2), n);
        assert_ptr_equal(few[1].iov_base, m->big1);
        assert_null(few[2].iov_base);

        /* flatten gives the same bytes, and refuses a short destination */
        uint8_t *flat = malloc(total);
        assert_non_null(flat);
        assert_int_equal(far_xdr_enc_flatten(&e, flat, total), FAR_OK);
        assert_memory_equal(flat, far_xdr_enc_data(&c), total);
        assert_int_equal(far_xdr_enc_flatten(&e, flat, total - 1), FAR_ENOSPACE);

        /* the bytes decode (the references were not copied at encode time) */
        far_arena a;
        far_arena_init(&a, NULL, 0, 0);
        far_xdr_dec d;
        far_xdr_dec_init(&d, flat, total, &a, FAR_XDR_ZEROCOPY);
        uint32_t w, n1;
        uint8_t *p;
        assert_true(far_xdr_get_u32(&d, &w) && w == 0xaabbccdd);
        assert_true(far_xdr_get_opaque(&d, &p, &n1, 5000));
        assert_int_equal(n1, sizeof m->big1);
        assert_memory_equal(p, m->big1, n1);
        far_arena_fini(&a);

        /* reset forgets the scatter list */
        far_xdr_enc_reset(&e);
        assert_int_equal(far_xdr_enc_len(&e), 0);
        assert_int_equal(far_xdr_enc_iov(&e, few, 3), 1);
        assert_int_equal(few[0].iov_len, 0);
        put_ref_msg(&e, m, true);
        uint8_t *again = gather(&e, &iov, &n);
        assert_memory_equal(again, far_xdr_enc_data(&c), total);

        free(again);
        free(flat);
        free(iov);
        free(joined);
        far_xdr_enc_fini(&e);
    }
    far_xdr_enc_fini(&c);

    /* inline bytes after the last reference: its padding and a trailer */
    uint8_t copy[32], inl[32];
    far_xdr_enc_init(&c, copy, sizeof copy);
    assert_true(far_xdr_put_u32(&c, 1) && far_xdr_put_opaque(&c, m->big3, 3, 10) &&
                far_xdr_put_u32(&c, 2));
    far_xdr_enc e;
    far_xdr_enc_init(&e, inl, sizeof inl);
    assert_true(far_xdr_put_u32(&e, 1) && far_xdr_put_opaque_ref(&e, m->big3, 3, 10) &&
                far_xdr_put_u32(&e, 2));
    assert_int_equal(far_xdr_enc_len(&e), far_xdr_enc_len(&c));
    struct iovec *iov;
    size_t n;
    uint8_t *joined = gather(&e, &iov, &n);
    assert_int_equal(n, 3);
    assert_ptr_equal(iov[1].iov_base, m->big3);
    assert_int_equal(iov[2].iov_len, 1 + 4);
    assert_memory_equal(joined, copy, far_xdr_enc_len(&c));
    uint8_t flat[32];
    assert_int_equal(far_xdr_enc_flatten(&e, flat, sizeof flat), FAR_OK);
    assert_memory_equal(flat, copy, far_xdr_enc_len(&c));
    free(joined);
    free(iov);
    far_xdr_enc_fini(&e); /* a fixed-buffer encoder owns its scatter list */
    far_xdr_enc_fini(&c);

    /* references count against a growable encoder's maximum */
    assert_int_equal(far_xdr_enc_init_grow(&e, 16, 100), FAR_OK);
    assert_false(far_xdr_put_opaque_ref(&e, m->big1, 200, 5000));
    assert_int_equal(e.err.code, FAR_ENOSPACE);
    assert_int_equal(far_xdr_enc_len(&e), 0);
    far_xdr_enc_reset(&e);
    assert_true(far_xdr_put_opaque_ref(&e, m->big1, 92, 5000)); /* 96 */
    assert_false(far_xdr_put_opaque_ref(&e, m->big1, 1, 5000)); /* 96 + 8 > 100 */
    assert_int_equal(e.err.code, FAR_ENOSPACE);
    far_xdr_enc_fini(&e);
    free(m);
}

/* ------------------------------------------------------- decoder modes */

static void zero_copy_points_into_input(void **state)
{
    (void)state;
    static const uint8_t opq[12] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    far_xdr_dec d;
    uint8_t *p;
    uint32_t n;

    far_xdr_dec_init(&d, opq, sizeof opq, &a, FAR_XDR_ZEROCOPY);
    assert_true(far_xdr_get_opaque(&d, &p, &n, 100));
    assert_ptr_equal(p, opq + 4);
    assert_int_equal(n, 5);
    assert_int_equal(far_arena_used(&a), 0);

    far_xdr_dec_init(&d, opq, sizeof opq, &a, 0); /* copying mode copies */
    assert_true(far_xdr_get_opaque(&d, &p, &n, 100));
    assert_true(p < opq || p >= opq + sizeof opq);
    assert_memory_equal(p, "hello", 5);
    assert_int_equal(far_arena_used(&a), 8);

    /* string of 5: its first pad byte terminates it in place */
    far_arena_reset(&a);
    char *s;
    far_xdr_dec_init(&d, opq, sizeof opq, &a, FAR_XDR_ZEROCOPY);
    assert_true(far_xdr_get_string(&d, &s, 100));
    assert_ptr_equal(s, opq + 4);
    assert_string_equal(s, "hello");
    assert_int_equal(far_arena_used(&a), 0);

    /* string of 4: no pad byte, so it is copied and terminated */
    static const uint8_t four[8] = {0, 0, 0, 4, 'a', 'b', 'c', 'd'};
    far_xdr_dec_init(&d, four, sizeof four, &a, FAR_XDR_ZEROCOPY);
    assert_true(far_xdr_get_string(&d, &s, 100));
    assert_true((const uint8_t *)s < four || (const uint8_t *)s >= four + sizeof four);
    assert_string_equal(s, "abcd");
    assert_int_equal(far_arena_used(&a), 8);

    /* the empty string is copied too (no byte to point at) */
    static const uint8_t empty[4] = {0};
    far_xdr_dec_init(&d, empty, sizeof empty, &a, FAR_XDR_ZEROCOPY);
    assert_true(far_xdr_get_string(&d, &s, 100));
    assert_string_equal(s, "");
    assert_true(far_xdr_dec_done(&d));

    /* a string reference never copies, in any mode */
    for (unsigned mode = 0; mode < 3; mode++) {
        far_arena_reset(&a);
        far_xdr_dec_init(&d, four, sizeof four, mode == 2 ? NULL : &a,
                         mode == 1 ? FAR_XDR_ZEROCOPY : 0);
        const char *ref = NULL;
        assert_true(far_xdr_get_string_ref(&d, &ref, &n, 4));
        assert_ptr_equal(ref, four + 4);
        assert_int_equal(n, 4);
        assert_true(far_xdr_dec_done(&d));
        assert_int_equal(far_arena_used(&a), 0);
        assert_int_equal(d.heap_used, 0);
    }
    far_xdr_dec_init(&d, four, sizeof four, NULL, 0);
    const char *ref;
    assert_false(far_xdr_get_string_ref(&d, &ref, &n, 3));
    assert_int_equal(d.err.code, FAR_ELIMIT);
    far_arena_fini(&a);
}

static void heap_mode_bounded_by_max_alloc(void **state)
{
    (void)state;
    static const uint8_t msg[24] = {0, 0,  0,  12, 1, 2, 3, 4, 5,   6,   7,   8,
                                    9, 10, 11, 12, 0, 0, 0, 8, 'a', 'b', 'c', 'd'};
    far_xdr_dec d;
    far_xdr_dec_init(&d, msg, sizeof msg, NULL, 0);
    far_xdr_dec_set_max_alloc(&d, 16);
    uint8_t *p, *q = NULL;
    uint32_t n;
    assert_true(far_xdr_get_opaque(&d, &p, &n, 100));
    assert_int_equal(n, 12);
    assert_int_equal(d.heap_used, 12);
    assert_memory_equal(p, msg + 4, 12);
    /* 8 more bytes would be 20 of 16 (the length is checked first: only 4
     * bytes are left, so use the allocator directly for the limit) */
    assert_null(far_xdr_alloc(&d, 8));
    assert_int_equal(d.err.code, FAR_ELIMIT);
    assert_string_equal(dec_why(&d), "FAR_ELIMIT at byte 16: allocating 8 bytes would pass the "
                                     "decoder's limit (12 of 16 used)");
    assert_int_equal(d.heap_used, 12);
    free(p);

    /* exactly at the limit is fine; a string needs length + 1 */
    static const uint8_t str[12] = {0, 0, 0, 7, 's', 'e', 'v', 'e', 'n', '!', '!', 0};
    far_xdr_dec_init(&d, str, sizeof str, NULL, 0);
    far_xdr_dec_set_max_alloc(&d, 8);
    char *s;
    assert_true(far_xdr_get_string(&d, &s, 100));
    assert_string_equal(s, "seven!!");
    assert_int_equal(d.heap_used, 8);
    free(s);
    far_xdr_dec_init(&d, str, sizeof str, NULL, 0);
    far_xdr_dec_set_max_alloc(&d, 7);
    assert_false(far_xdr_get_string(&d, &s, 100));
    assert_int_equal(d.err.code, FAR_ELIMIT);
    assert_int_equal(d.heap_used, 0);

    /* arrays: the limit applies to count x size */
    far_xdr_dec_init(&d, msg, sizeof msg, NULL, 0);
    far_xdr_dec_set_max_alloc(&d, 100);
    q = far_xdr_alloc_array(&d, 25, 4);
    assert_non_null(q);
    assert_null(far_xdr_alloc_array(&d, 1, 1));
    assert_int_equal(d.err.code, FAR_ELIMIT);
    free(q);
}

static void arena_limit_is_elimit(void **state)
{
    (void)state;
    static const uint8_t msg[80] = {0, 0, 0, 40, [44] = 0, 0, 0, 30};
    far_arena a;
    far_arena_init(&a, NULL, 0, 64);
    far_xdr_dec d;
    far_xdr_dec_init(&d, msg, sizeof msg, &a, 0);
    uint8_t *p;
    uint32_t n;
    assert_true(far_xdr_get_opaque(&d, &p, &n, 100));
    assert_int_equal(far_arena_used(&a), 40);
    assert_false(far_xdr_get_opaque(&d, &p, &n, 100));
    assert_int_equal(d.err.code, FAR_ELIMIT);
    assert_string_equal(dec_why(&d), "FAR_ELIMIT at byte 48: allocating 30 bytes would pass the "
                                     "arena's limit (40 of 64 used)");
    assert_int_equal(far_arena_used(&a), 40);
    far_arena_fini(&a);

    /* a maximum that is not a multiple of 8: the rounding must not turn the
     * limit into a reported allocation failure */
    far_arena_init(&a, NULL, 0, 60);
    far_xdr_dec_init(&d, msg, sizeof msg, &a, 0);
    assert_non_null(far_xdr_alloc(&d, 40));
    assert_null(far_xdr_alloc(&d, 17)); /* 24 after rounding, 20 left */
    if (d.err.code != FAR_ELIMIT)
        fail_msg("over the arena's maximum: %s", dec_why(&d));
    far_arena_fini(&a);

    /* the arena alone: never more than max handed out */
    far_arena_init(&a, NULL, 0, 1000);
    size_t got = 0;
    for (int i = 0; i < 1000 && far_arena_alloc(&a, 24); i++)
        got += 24;
    assert_int_equal(got, 984);
    assert_true(far_arena_used(&a) <= 1000);
    assert_null(far_arena_alloc(&a, SIZE_MAX));
    assert_null(far_arena_alloc(&a, SIZE_MAX - 6)); /* rounding would wrap */
    far_arena_fini(&a);
    far_arena_fini(NULL);
}

static void zero_sized_allocations_succeed(void **state)
{
    (void)state;
    /* numbers<8> with no element as the very first thing a fresh arena
     * allocates: alloc_array(0, 8) must give a pointer, not a failure */
    static const uint8_t zero[4] = {0};
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    far_xdr_dec d;
    far_xdr_dec_init(&d, zero, sizeof zero, &a, 0);
    uint32_t n;
    assert_true(far_xdr_get_count(&d, &n, 8, 8));
    assert_int_equal(n, 0);
    void *v = far_xdr_alloc_array(&d, n, 8);
    if (!v)
        fail_msg("empty array in a fresh arena: %s", dec_why(&d));
    assert_true(far_xdr_dec_done(&d));
    far_arena_fini(&a);

    far_arena_init(&a, NULL, 0, 0);
    assert_non_null(far_arena_alloc(&a, 0));
    far_arena_fini(&a);

    /* a shape with an empty numbers<> array decodes in a fresh arena */
    sample_forest s;
    sample_forest_init(&s);
    s.f.items = NULL;
    s.root.body.kind = SK_NUMBERS;
    s.root.body.u.numbers.len = 0;
    s.root.blob.len = 0;
    s.root.label = "";
    uint8_t buf[256];
    size_t len;
    assert_int_equal(far_xdr_encode(forest_encode_any, &s.f, buf, sizeof buf, &len, NULL, 0),
                     FAR_OK);
    forest f;
    char why[256] = "";
    far_arena_init(&a, NULL, 0, 0);
    far_err rc = far_xdr_decode(forest_decode_any, &f, buf, len, &a, 0, why, sizeof why);
    if (rc != FAR_OK)
        fail_msg("forest with an empty numbers<>: %s", why);
    assert_true(sample_forest_equal(&f, &s.f));
    far_arena_fini(&a);

    /* heap mode */
    far_xdr_dec_init(&d, zero, sizeof zero, NULL, 0);
    v = far_xdr_alloc_array(&d, 0, 8);
    assert_non_null(v);
    free(v);
}

static void arena_reset_reuses_memory(void **state)
{
    (void)state;
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    void *p1 = far_arena_alloc(&a, 100);
    assert_non_null(p1);
    assert_int_equal(far_arena_used(&a), 104);
    far_arena_reset(&a);
    assert_int_equal(far_arena_used(&a), 0);
    void *p2 = far_arena_alloc(&a, 100);
    assert_ptr_equal(p2, p1); /* the kept block, from its start */
    far_arena_fini(&a);

    /* a decode-reset loop: the same use each time, back to 0 after reset,
     * and after the first round the same memory */
    sample_forest s;
    sample_forest_init(&s);
    uint8_t buf[2048];
    size_t len;
    assert_int_equal(far_xdr_encode(forest_encode_any, &s.f, buf, sizeof buf, &len, NULL, 0),
                     FAR_OK);
    far_arena_init(&a, NULL, 0, 0);
    size_t used = 0;
    const item *first = NULL;
    for (int round = 0; round < 100; round++) {
        forest f;
        assert_int_equal(far_xdr_decode(forest_decode_any, &f, buf, len, &a, 0, NULL, 0), FAR_OK);
        assert_true(sample_forest_equal(&f, &s.f));
        if (round == 0) {
            used = far_arena_used(&a);
            assert_true(used > 0);
        } else {
            assert_int_equal(far_arena_used(&a), used);
        }
        if (round == 1)
            first = f.items;
        else if (round > 1)
            assert_ptr_equal(f.items, first);
        far_arena_reset(&a);
        assert_int_equal(far_arena_used(&a), 0);
    }
    assert_true(a.peak >= used);

    /* many blocks: reset keeps one and starts over */
    for (int i = 0; i < 50; i++)
        assert_non_null(far_arena_alloc(&a, 3000));
    assert_int_equal(far_arena_used(&a), 50 * 3000);
    far_arena_reset(&a);
    assert_int_equal(far_arena_used(&a), 0);
    assert_non_null(far_arena_alloc(&a, 3000));
    far_arena_fini(&a);
}

static void arena_with_initial_block(void **state)
{
    (void)state;
    _Alignas(8) uint8_t block[256];
    far_arena a;
    far_arena_init(&a, block, sizeof block, 0);
    uint8_t *p = far_arena_alloc(&a, 10);
    assert_ptr_equal(p, block);
    for (int i = 0; i < 14; i++) /* 16 more bytes each: fills 240 of 256 */
        assert_ptr_equal(far_arena_alloc(&a, 16), block + 16 + 16 * i);
    uint8_t *last = far_arena_alloc(&a, 16);
    assert_ptr_equal(last, block + 240);
    uint8_t *heap = far_arena_alloc(&a, 8); /* the block is full: the heap */
    assert_non_null(heap);
    assert_true(heap < block || heap >= block + sizeof block);
    assert_int_equal(far_arena_used(&a), 264);
    far_arena_reset(&a);
    assert_ptr_equal(far_arena_alloc(&a, 1), block); /* the block again first */
    far_arena_fini(&a);

    /* a misaligned block is aligned, and the arena stays inside it */
    far_arena_init(&a, block + 3, 100, 0);
    p = far_arena_alloc(&a, 8);
    assert_ptr_equal(p, block + 8);
    assert_int_equal((uintptr_t)p % 8, 0);
    for (int i = 0; i < 100; i++) {
        uint8_t *q = far_arena_alloc(&a, 8);
        assert_non_null(q);
        if (q >= block && q < block + sizeof block)
            assert_true(q + 8 <= block + 103);
    }
    far_arena_fini(&a);

    /* a decode that fits the block allocates everything from it */
    file f = sample_file();
    uint8_t wire[256];
    size_t len;
    assert_int_equal(far_xdr_encode(file_encode_any, &f, wire, sizeof wire, &len, NULL, 0), FAR_OK);
    far_arena_init(&a, block, sizeof block, 0);
    file out;
    assert_int_equal(far_xdr_decode(file_decode_any, &out, wire, len, &a, 0, NULL, 0), FAR_OK);
    assert_true(sample_file_equal(&out, &f));
    const void *ptrs[] = {out.filename, out.type.u.creator, out.owner, out.data.val};
    for (size_t i = 0; i < 4; i++)
        assert_true((const uint8_t *)ptrs[i] >= block &&
                    (const uint8_t *)ptrs[i] < block + sizeof block);
    assert_null(a.chunks); /* no heap block was needed */
    far_arena_fini(&a);
}

/* ----------------------------------------------------------- quadruple */

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

static double bitsd(uint64_t u)
{
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* A binary128 from sign, biased exponent, and the 112-bit fraction as its
 * top 48 and low 64 bits. */
static far_quad quad_make(unsigned sign, unsigned exp, uint64_t hi48, uint64_t lo64)
{
    far_quad q;
    q.bytes[0] = (uint8_t)(sign << 7 | exp >> 8);
    q.bytes[1] = (uint8_t)exp;
    for (int i = 0; i < 6; i++)
        q.bytes[2 + i] = (uint8_t)(hi48 >> (40 - 8 * i));
    for (int i = 0; i < 8; i++)
        q.bytes[8 + i] = (uint8_t)(lo64 >> (56 - 8 * i));
    return q;
}

static void expect_quad(far_quad q, const char *hex, const char *what)
{
    char got[33];
    for (int i = 0; i < 16; i++)
        snprintf(got + 2 * i, 3, "%02x", q.bytes[i]);
    if (strcmp(got, hex) != 0)
        fail_msg("%s: got %s, want %s", what, got, hex);
}

static void expect_double(double got, uint64_t want, const char *what)
{
    if (dbits(got) != want)
        fail_msg("%s: got %016llx (%a), want %016llx (%a)", what, (unsigned long long)dbits(got),
                 got, (unsigned long long)want, bitsd(want));
}

static void quad_known_encodings(void **state)
{
    (void)state;
    static const struct {
        uint64_t d;
        const char *q;
    } known[] = {
        {0x3ff0000000000000u, "3fff0000000000000000000000000000"}, /* 1.0 */
        {0xc000000000000000u, "c0000000000000000000000000000000"}, /* -2.0 */
        {0x3fe0000000000000u, "3ffe0000000000000000000000000000"}, /* 0.5 */
        {0x4008000000000000u, "40008000000000000000000000000000"}, /* 3.0 */
        {0x0000000000000000u, "00000000000000000000000000000000"}, /* +0 */
        {0x8000000000000000u, "80000000000000000000000000000000"}, /* -0 */
        {0x7ff0000000000000u, "7fff0000000000000000000000000000"}, /* +inf */
        {0xfff0000000000000u, "ffff0000000000000000000000000000"}, /* -inf */
        {0x7fefffffffffffffu, "43fefffffffffffff000000000000000"}, /* DBL_MAX */
        {0x0010000000000000u, "3c010000000000000000000000000000"}, /* DBL_MIN */
        {0x0000000000000001u, "3bcd0000000000000000000000000000"}, /* 2^-1074 */
        {0x000fffffffffffffu, "3c00ffffffffffffe000000000000000"}, /* largest subnormal */
        {0x0008000000000000u, "3c000000000000000000000000000000"}, /* 2^-1023 */
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "double %016llx", (unsigned long long)known[i].d);
        far_quad q = far_quad_from_double(bitsd(known[i].d));
        expect_quad(q, known[i].q, what);
        expect_double(far_quad_to_double(q), known[i].d, what);
    }
    assert_true(isnan(far_quad_to_double(far_quad_from_double(NAN))));
    /* a NaN whose payload is only in the low bits stays NaN */
    assert_true(isnan(far_quad_to_double(quad_make(0, 0x7fff, 0, 1))));
    assert_true(isnan(far_quad_to_double(quad_make(1, 0x7fff, 1, 0))));
}

static void quad_round_trips_every_double(void **state)
{
    (void)state;
    prng r;
    prng_init(&r, SEED, "quad round trip");
    const double fixed[] = {0.0,       -0.0,     INFINITY,
                            -INFINITY, DBL_MAX,  -DBL_MAX,
                            DBL_MIN,   bitsd(1), bitsd(0x800fffffffffffffu),
                            1.0,       -1.0,     M_PI};
    for (unsigned i = 0; i < 10000 + sizeof fixed / sizeof fixed[0]; i++) {
        double v;
        if (i < sizeof fixed / sizeof fixed[0])
            v = fixed[i];
        else if (i % 4 == 0) /* subnormals often: the one tricky branch */
            v = bitsd(prng_u64(&r) & 0x800fffffffffffffu);
        else
            v = bitsd(prng_u64(&r));
        far_quad q = far_quad_from_double(v);
        double back = far_quad_to_double(q);
        if (isnan(v)) {
            assert_true(isnan(back));
            assert_int_equal(signbit(back) != 0, signbit(v) != 0);
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, "round trip #%u", i);
        expect_double(back, dbits(v), what);
    }
}

static void quad_rounding_and_range(void **state)
{
    (void)state;
    static const struct {
        unsigned sign, exp;
        uint64_t hi, lo, want;
        const char *what;
    } cases[] = {
        {0, 0x7ffe, 0, 0, 0x7ff0000000000000u, "largest exponent -> inf"},
        {1, 0x7ffe, 0xffffffffffffu, ~0ull, 0xfff0000000000000u, "-max quad -> -inf"},
        {0, 16383 + 1024, 0, 0, 0x7ff0000000000000u, "2^1024 -> inf"},
        {0, 0x0001, 0, 0, 0x0000000000000000u, "smallest normal quad -> 0"},
        {1, 0x0001, 0, 0, 0x8000000000000000u, "-smallest normal quad -> -0"},
        {0, 0x0000, 0xffffffffffffu, 1, 0x0000000000000000u, "subnormal quad -> 0"},
        {1, 0x0000, 0, 1, 0x8000000000000000u, "-subnormal quad -> -0"},
        {0, 16383, 0, 1ull << 59, 0x3ff0000000000000u, "1 + 2^-53 ties to even: 1"},
        {0, 16383, 0, (1ull << 59) | 1, 0x3ff0000000000001u, "1 + 2^-53 + tiny rounds up"},
        {0, 16383, 0, 3ull << 59, 0x3ff0000000000002u, "1 + 3*2^-53 ties to even: up"},
        {0, 16383, 0, (1ull << 59) - 1, 0x3ff0000000000000u, "just under half: down"},
        {0, 16383 + 1023, 0xffffffffffffu, 0xf800000000000000u, 0x7ff0000000000000u,
         "DBL_MAX + half ulp -> inf"},
        {0, 16383 + 1023, 0xffffffffffffu, 0xf7ffffffffffffffu, 0x7fefffffffffffffu,
         "DBL_MAX + under half ulp -> DBL_MAX"},
        {0, 16383 - 1075, 0, 0, 0x0000000000000000u, "2^-1075 ties to even: 0"},
        {0, 16383 - 1075, 0, 1, 0x0000000000000001u, "2^-1075 + tiny -> 2^-1074"},
        {0, 16383 - 1074, 1ull << 47, 0, 0x0000000000000002u, "1.5 * 2^-1074 -> 2 * 2^-1074"},
        {0, 16383 - 1076, 0xffffffffffffu, ~0ull, 0x0000000000000000u, "under 2^-1075 -> 0"},
        {0, 16383 - 1023, 0xffffffffffffu, 0xffe0000000000000u, 0x0010000000000000u,
         "subnormal rounding up into DBL_MIN"},
        {1, 16383 - 1030, 0x123456789abcu, 0, 0x80001123456789acu, "negative subnormal"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got =
            far_quad_to_double(quad_make(cases[i].sign, cases[i].exp, cases[i].hi, cases[i].lo));
        expect_double(got, cases[i].want, cases[i].what);
    }
}

static void quad_put_get_moves_bytes_unchanged(void **state)
{
    (void)state;
    prng r;
    prng_init(&r, SEED, "quad put/get");
    for (int i = 0; i < 1000; i++) {
        far_quad q, back;
        prng_fill(&r, q.bytes, 16);
        uint8_t buf[20];
        far_xdr_enc e;
        far_xdr_enc_init(&e, buf, sizeof buf);
        assert_true(far_xdr_put_u32(&e, 7) && far_xdr_put_quad(&e, &q));
        assert_int_equal(far_xdr_enc_len(&e), 20);
        assert_memory_equal(buf + 4, q.bytes, 16);
        far_xdr_dec d;
        far_xdr_dec_init(&d, buf, sizeof buf, NULL, 0);
        uint32_t w;
        assert_true(far_xdr_get_u32(&d, &w) && far_xdr_get_quad(&d, &back));
        assert_true(far_xdr_dec_done(&d));
        assert_memory_equal(back.bytes, q.bytes, 16);
    }
    uint8_t short15[15] = {0};
    far_xdr_dec d;
    far_xdr_dec_init(&d, short15, sizeof short15, NULL, 0);
    far_quad q;
    assert_false(far_xdr_get_quad(&d, &q));
    assert_int_equal(d.err.code, FAR_ETRUNC);
}

#ifdef __SIZEOF_FLOAT128__
/* The compiler's binary128 (libgcc soft-fp) as a reference: from_double must
 * give its bytes, to_double its rounding, for random values. */
static far_quad quad_of_f128(__float128 x)
{
    uint8_t le[16];
    memcpy(le, &x, 16);
    far_quad q;
    for (int i = 0; i < 16; i++)
        q.bytes[i] = le[15 - i];
    return q;
}

static __float128 f128_of_quad(far_quad q)
{
    uint8_t le[16];
    for (int i = 0; i < 16; i++)
        le[i] = q.bytes[15 - i];
    __float128 x;
    memcpy(&x, le, 16);
    return x;
}

static void quad_matches_compiler_float128(void **state)
{
    (void)state;
    prng r;
    prng_init(&r, SEED, "quad vs __float128");
    for (unsigned i = 0; i < 10000; i++) {
        double v = bitsd(i % 4 == 0 ? prng_u64(&r) & 0x800fffffffffffffu : prng_u64(&r));
        if (isnan(v))
            continue; /* the compiler quiets signalling NaNs */
        far_quad got = far_quad_from_double(v), want = quad_of_f128((__float128)v);
        if (memcmp(got.bytes, want.bytes, 16) != 0)
            fail_msg("from_double(%a) differs from the compiler's", v);
    }
    for (unsigned i = 0; i < 10000; i++) {
        far_quad q;
        prng_fill(&r, q.bytes, 16);
        /* mostly exponents near double's range, where rounding happens */
        unsigned exp =
            i % 8 == 0 ? prng_below(&r, 0x8000) : 16383 - 1100 + prng_below(&r, 1100 + 1030);
        if (i % 16 == 1) { /* exact ties at the double's last bit */
            memset(q.bytes + 8, 0, 8);
            q.bytes[8] = (uint8_t)(q.bytes[8] | 0x08);
        }
        q.bytes[0] = (uint8_t)((q.bytes[0] & 0x80) | exp >> 8);
        q.bytes[1] = (uint8_t)exp;
        double got = far_quad_to_double(q);
        double want = (double)f128_of_quad(q);
        if (isnan(want)) {
            assert_true(isnan(got));
            continue;
        }
        char what[96];
        snprintf(what, sizeof what, "to_double #%u (exponent 0x%04x)", i, exp);
        expect_double(got, dbits(want), what);
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_buffer_full_is_enospace),
        cmocka_unit_test(growable_buffer_stops_at_max),
        cmocka_unit_test(limits_and_misuse),
        cmocka_unit_test(opaque_by_reference_matches_copy),
        cmocka_unit_test(whole_value_encode_flattens_references),
        cmocka_unit_test(zero_copy_points_into_input),
        cmocka_unit_test(heap_mode_bounded_by_max_alloc),
        cmocka_unit_test(arena_limit_is_elimit),
        cmocka_unit_test(zero_sized_allocations_succeed),
        cmocka_unit_test(arena_reset_reuses_memory),
        cmocka_unit_test(arena_with_initial_block),
        cmocka_unit_test(quad_known_encodings),
        cmocka_unit_test(quad_round_trips_every_double),
        cmocka_unit_test(quad_rounding_and_range),
        cmocka_unit_test(quad_put_get_moves_bytes_unchanged),
#ifdef __SIZEOF_FLOAT128__
        cmocka_unit_test(quad_matches_compiler_float128),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
