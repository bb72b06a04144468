/* The XDR decoder against hostile and broken input.
 *
 *  - truncation: a valid nested forest and an RFC 4506 file, cut at every
 *    length and placed against a guard page, always fail with FAR_ETRUNC
 *    and never read past the end;
 *  - hostile lengths and counts fail before anything is allocated: the
 *    arena's byte counter and the heap-mode counter stay near zero;
 *  - deep nesting is bounded by max_depth without deep recursion (checked
 *    on a thread with a 256 KiB stack), long lists by max_chain;
 *  - non-zero padding, bad bools, short hypers and misuse are reported with
 *    the right code, offset and text;
 *  - a failure deep inside the nested type names its field path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/guard.h"
#include "common/samples.h"

/* Encodes with the given function into a growable buffer; the caller frees
 * the returned bytes. */
static uint8_t *encode_alloc(far_xdr_encode_fn fn, const void *v, size_t *len)
{
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, 256, 64u << 20), FAR_OK);
    if (!fn(&e, v)) {
        char why[256];
        fail_msg("encode failed: %s", far_xdr_enc_strerror(&e, why, sizeof why));
    }
    *len = far_xdr_enc_len(&e);
    uint8_t *out = malloc(*len ? *len : 1);
    assert_non_null(out);
    assert_int_equal(far_xdr_enc_flatten(&e, out, *len), FAR_OK);
    far_xdr_enc_fini(&e);
    return out;
}

static const char *dec_why(const far_xdr_dec *d)
{
    static char why[512];
    return far_xdr_dec_strerror(d, why, sizeof why);
}

/* ---------------------------------------------------------- truncation */

typedef struct truncation_case {
    const char *name;
    far_xdr_encode_fn encode;
    far_xdr_decode_fn decode;
    const void *value;
    bool (*equal)(const void *a, const void *b);
} truncation_case;

/* Decodes every proper prefix of the value's encoding, each placed so that
 * its last byte is the last readable byte before a PROT_NONE page, in copying
 * and zero-copy modes: every one must fail with FAR_ETRUNC at an offset inside
 * the prefix.  The whole encoding, placed the same way, must decode to the
 * value. */
static void truncate_at_every_length(const truncation_case *c)
{
    size_t len;
    uint8_t *wire = encode_alloc(c->encode, c->value, &len);
    assert_true(len > 16);
    guard_buf g;
    assert_int_equal(guard_init(&g, len), 0);
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    union {
        forest f;
        file fi;
    } out;

    for (unsigned zc = 0; zc <= 1; zc++) {
        unsigned flags = zc ? FAR_XDR_ZEROCOPY : 0;
        for (size_t n = 0; n < len; n++) {
            const uint8_t *p = guard_place(&g, wire, n);
            assert_non_null(p);
            far_arena_reset(&a);
            far_xdr_dec d;
            far_xdr_dec_init(&d, p, n, &a, flags);
            memset(&out, 0, sizeof out);
            if (c->decode(&d, &out) && far_xdr_dec_done(&d))
                fail_msg("%s: the %zu-byte prefix of %zu decoded", c->name, n, len);
            if (d.err.code != FAR_ETRUNC || d.err.offset > n)
                fail_msg("%s: %zu-byte prefix: %s", c->name, n, dec_why(&d));
            assert_int_equal(d.depth, 0); /* every enter was paired with a leave */
        }
        const uint8_t *p = guard_place(&g, wire, len);
        assert_non_null(p);
        far_arena_reset(&a);
        far_xdr_dec d;
        far_xdr_dec_init(&d, p, len, &a, flags);
        memset(&out, 0, sizeof out);
        if (!c->decode(&d, &out) || !far_xdr_dec_done(&d))
            fail_msg("%s: the whole encoding failed: %s", c->name, dec_why(&d));
        assert_true(c->equal(&out, c->value));
    }
    far_arena_fini(&a);
    guard_fini(&g);
    free(wire);
}

static bool forest_equal_any(const void *a, const void *b)
{
    return sample_forest_equal(a, b);
}

static bool file_equal_any(const void *a, const void *b)
{
    return sample_file_equal(a, b);
}

static void truncated_forest_fails_at_every_length(void **state)
{
    (void)state;
    sample_forest s;
    sample_forest_init(&s);
    truncation_case c = {"forest", forest_encode_any, forest_decode_any, &s.f, forest_equal_any};
    truncate_at_every_length(&c);
}

static void truncated_file_fails_at_every_length(void **state)
{
    (void)state;
    file f = sample_file();
    truncation_case c = {"file", file_encode_any, file_decode_any, &f, file_equal_any};
    truncate_at_every_length(&c);
}

/* ------------------------------------------------------ hostile lengths */

/* Every hostile-length test asserts that the arena handed out almost nothing. */
#define SMALL_ARENA 64

/* A string<> whose length word says 0xFFFFFFF0 in an 8-byte message.  The
 * maximum is FAR_XDR_UNBOUNDED, so only the remaining-bytes check can stop it,
 * and it must do so before allocating, in every mode. */
static void huge_string_length_fails_before_allocating(void **state)
{
    (void)state;
    static const uint8_t msg[8] = {0xff, 0xff, 0xff, 0xf0, 'a', 'b', 'c', 'd'};
    guard_buf g;
    assert_int_equal(guard_init(&g, sizeof msg), 0);
    const uint8_t *p = guard_place(&g, msg, sizeof msg);
    assert_non_null(p);
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);

    for (unsigned mode = 0; mode < 3; mode++) {
        far_xdr_dec d;
        far_xdr_dec_init(&d, p, sizeof msg, mode == 2 ? NULL : &a,
                         mode == 1 ? FAR_XDR_ZEROCOPY : 0);
        far_xdr_dec_set_max_alloc(&d, SIZE_MAX); /* heap mode: no limit to hide behind */
        char *s = NULL;
        assert_false(far_xdr_get_string(&d, &s, FAR_XDR_UNBOUNDED));
        assert_null(s);
        assert_int_equal(d.err.code, FAR_ETRUNC);
        assert_int_equal(d.err.offset, 0);
        assert_string_equal(
            dec_why(&d), "FAR_ETRUNC at byte 0: string length 4294967280 exceeds the 4 bytes left");
        assert_int_equal(d.heap_used, 0);
        assert_true(far_arena_used(&a) < SMALL_ARENA);

        /* the same word as opaque<> and as a string reference */
        far_xdr_dec_init(&d, p, sizeof msg, mode == 2 ? NULL : &a,
                         mode == 1 ? FAR_XDR_ZEROCOPY : 0);
        far_xdr_dec_set_max_alloc(&d, SIZE_MAX);
        uint8_t *o = NULL;
        uint32_t n = 0;
        assert_false(far_xdr_get_opaque(&d, &o, &n, FAR_XDR_UNBOUNDED));
        assert_int_equal(d.err.code, FAR_ETRUNC);
        assert_int_equal(d.heap_used, 0);

        far_xdr_dec_init(&d, p, sizeof msg, mode == 2 ? NULL : &a,
                         mode == 1 ? FAR_XDR_ZEROCOPY : 0);
        const char *ref = NULL;
        assert_false(far_xdr_get_string_ref(&d, &ref, &n, FAR_XDR_UNBOUNDED));
        assert_int_equal(d.err.code, FAR_ETRUNC);
        assert_null(ref);
    }
    assert_int_equal(far_arena_used(&a), 0);

    /* lengths just past what is there, where "len + pad" matters: 4 bytes
     * left, length 3 needs 4 (fits), length 4 fits, length 5 needs 8 */
    static const struct {
        uint32_t len;
        far_err want;
    } edge[] = {{3, FAR_OK}, {4, FAR_OK}, {5, FAR_ETRUNC}, {0xfffffffdu, FAR_ETRUNC}};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        uint8_t m[8] = {0, 0, 0, 0, 'w', 'x', 'y', 0};
        far_xdr_store_u32(m, edge[i].len);
        if (edge[i].len == 4)
            m[7] = 'z';
        p = guard_place(&g, m, sizeof m);
        far_xdr_dec d;
        far_xdr_dec_init(&d, p, sizeof m, &a, 0);
        char *s = NULL;
        bool ok = far_xdr_get_string(&d, &s, FAR_XDR_UNBOUNDED);
        assert_int_equal(ok, edge[i].want == FAR_OK);
        assert_int_equal(d.err.code, edge[i].want);
    }
    far_arena_fini(&a);
    guard_fini(&g);
}

static void array_count_overflow_fails_before_allocating(void **state)
{
    (void)state;
    static const uint8_t msg[8] = {0x40, 0x00, 0x00, 0x01, 0, 0, 0, 7};
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);

    /* count x size overflows size_t: FAR_EOVERFLOW, nothing allocated */
    static const struct {
        size_t count, size;
    } big[] = {{SIZE_MAX / 4 + 1, 4}, {(size_t)1 << 62, 8}, {SIZE_MAX, 2}, {3, SIZE_MAX / 2}};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        for (unsigned heap = 0; heap <= 1; heap++) {
            far_xdr_dec d;
            far_xdr_dec_init(&d, msg, sizeof msg, heap ? NULL : &a, 0);
            far_xdr_dec_set_max_alloc(&d, SIZE_MAX);
            assert_null(far_xdr_alloc_array(&d, big[i].count, big[i].size));
            assert_int_equal(d.err.code, FAR_EOVERFLOW);
            assert_int_equal(d.heap_used, 0);
        }
    }
    assert_int_equal(far_arena_used(&a), 0);

    /* count 0x40000001 of 4-byte elements (0x40000001 x 4 wraps a uint32)
     * with 4 bytes left: FAR_ETRUNC at the count, before any allocation */
    guard_buf g;
    assert_int_equal(guard_init(&g, sizeof msg), 0);
    const uint8_t *p = guard_place(&g, msg, sizeof msg);
    far_xdr_dec d;
    far_xdr_dec_init(&d, p, sizeof msg, &a, 0);
    uint32_t n = 12345;
    assert_false(far_xdr_get_count(&d, &n, FAR_XDR_UNBOUNDED, 4));
    assert_int_equal(n, 12345);
    assert_int_equal(d.err.code, FAR_ETRUNC);
    assert_int_equal(d.err.offset, 0);
    assert_string_equal(
        dec_why(&d),
        "FAR_ETRUNC at byte 0: count 1073741825 of 4-byte elements exceeds the 4 bytes left");

    /* the maximum is checked first */
    far_xdr_dec_init(&d, p, sizeof msg, &a, 0);
    assert_false(far_xdr_get_count(&d, &n, 1000, 4));
    assert_int_equal(d.err.code, FAR_ELIMIT);

    /* and the edge: one 4-byte element with 4 bytes left is fine */
    static const uint8_t one[8] = {0, 0, 0, 1, 0, 0, 0, 9};
    p = guard_place(&g, one, sizeof one);
    far_xdr_dec_init(&d, p, sizeof one, &a, 0);
    assert_true(far_xdr_get_count(&d, &n, FAR_XDR_UNBOUNDED, 4));
    assert_int_equal(n, 1);
    far_xdr_dec_init(&d, p, sizeof one, &a, 0);
    assert_false(far_xdr_get_count(&d, &n, FAR_XDR_UNBOUNDED, 8));
    assert_int_equal(d.err.code, FAR_ETRUNC);

    /* get_u32_array / get_u64_array check the bytes left themselves */
    far_xdr_dec_init(&d, one, sizeof one, &a, 0);
    uint32_t w[3];
    assert_false(far_xdr_get_u32_array(&d, w, 3));
    assert_int_equal(d.err.code, FAR_ETRUNC);
    far_xdr_dec_init(&d, one, sizeof one, &a, 0);
    uint64_t h[1];
    assert_false(far_xdr_get_u64_array(&d, h, SIZE_MAX / 4));
    assert_int_equal(d.err.code, FAR_ETRUNC);

    assert_true(far_arena_used(&a) < SMALL_ARENA);
    far_arena_fini(&a);
    guard_fini(&g);
}

/* ------------------------------------------------------- deep and long */

#define DEEP 100000

/* The start of a tree with an empty label and blob: id, label, tag, blob,
 * counts (40 bytes with the body's kind and, for SK_CHILD, the present bool). */
static void put_tree_head(far_xdr_enc *e, int32_t id)
{
    static const uint8_t tag[5] = {'t', 'a', 'g', '!', '?'};
    static const uint32_t counts[3] = {7, 8, 9};
    assert_true(far_xdr_put_i32(e, id) && far_xdr_put_string(e, "", 64) &&
                far_xdr_put_opaque_fixed(e, tag, 5) && far_xdr_put_opaque(e, NULL, 0, 100) &&
                far_xdr_put_u32_array(e, counts, 3));
}

static void put_tree_tail(far_xdr_enc *e)
{
    assert_true(far_xdr_put_bool(e, false) && far_xdr_put_double(e, 0.5));
}

enum { TREE_HEAD = 32, CHILD_HEAD = TREE_HEAD + 8, MIN_TREE = TREE_HEAD + 4 + 12 };

/* A valid tree whose body is SK_CHILD nested `levels` times, written
 * iteratively: every head, the innermost tree, then every tail. */
static uint8_t *deep_tree_bytes(unsigned levels, size_t *len)
{
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, (size_t)levels * 52 + 64, 64u << 20), FAR_OK);
    for (unsigned i = 0; i < levels; i++) {
        put_tree_head(&e, (int32_t)i);
        assert_true(far_xdr_put_enum(&e, SK_CHILD) && far_xdr_put_bool(&e, true));
    }
    put_tree_head(&e, -1);
    assert_true(far_xdr_put_enum(&e, SK_EMPTY));
    put_tree_tail(&e);
    for (unsigned i = 0; i < levels; i++)
        put_tree_tail(&e);
    *len = far_xdr_enc_len(&e);
    assert_int_equal(*len, (size_t)levels * (CHILD_HEAD + 12) + MIN_TREE);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    memcpy(out, far_xdr_enc_data(&e), *len);
    far_xdr_enc_fini(&e);
    return out;
}

typedef struct deep_job {
    const uint8_t *buf;
    size_t len;
    unsigned max_depth; /* 0: the default */
    far_arena *arena;
    bool ok;
    far_xdr_dec d; /* the decoder's state after the attempt */
} deep_job;

static void *deep_decode(void *arg)
{
    deep_job *j = arg;
    far_xdr_dec_init(&j->d, j->buf, j->len, j->arena, 0);
    if (j->max_depth)
        far_xdr_dec_set_max_depth(&j->d, j->max_depth);
    tree t;
    j->ok = tree_decode(&j->d, &t);
    return NULL;
}

/* Runs deep_decode on a thread with a 256 KiB stack: a decoder that
 * recursed once per level of the input would overflow it and crash. */
static void run_on_small_stack(deep_job *j)
{
    pthread_attr_t attr;
    pthread_t th;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    assert_int_equal(pthread_create(&th, &attr, deep_decode, j), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);
}

static void deep_optional_chain_stops_at_max_depth(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = deep_tree_bytes(DEEP, &len);
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);

    static const unsigned depths[] = {0, 10, 1};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        unsigned max = depths[i] ? depths[i] : FAR_XDR_DEFAULT_MAX_DEPTH;
        far_arena_reset(&a);
        deep_job j = {.buf = buf, .len = len, .max_depth = depths[i], .arena = &a};
        run_on_small_stack(&j);
        assert_false(j.ok);
        if (j.d.err.code != FAR_EDEPTH)
            fail_msg("max depth %u: %s", max, dec_why(&j.d));
        /* the tree at level max+1 is refused right after its present flag */
        assert_int_equal(j.d.err.offset, (size_t)(max + 1) * CHILD_HEAD);
        assert_int_equal(j.d.depth, 0);
        /* at most max+1 trees and their 1-byte labels were allocated */
        assert_true(far_arena_used(&a) <= (size_t)(max + 1) * (sizeof(tree) + 16));
        char want[64];
        snprintf(want, sizeof want, ": nesting deeper than %u", max);
        const char *why = dec_why(&j.d);
        assert_non_null(strstr(why, want));
        /* the path names the innermost fields; when too long for the record
         * it is cut at the outer end and marked "..." */
        const char *path = j.d.err.path + j.d.err.path_at;
        size_t plen = strlen(path);
        assert_true(plen >= 11);
        assert_string_equal(path + plen - 11, ".body.child");
        if (max == FAR_XDR_DEFAULT_MAX_DEPTH) { /* 101 x 11 bytes do not fit */
            if (strncmp(path, "...", 3) != 0)
                fail_msg("a cut path is not marked: \"%s\" (%s)", path, why);
            assert_non_null(strstr(why, "in ...body.child.body.child"));
        } else {
            assert_int_equal(plen, (size_t)(max + 1) * 11);
        }
    }
    /* the same bytes with nesting one level short of the limit decode fine */
    free(buf);
    buf = deep_tree_bytes(FAR_XDR_DEFAULT_MAX_DEPTH, &len);
    far_arena_reset(&a);
    deep_job j = {.buf = buf, .len = len, .arena = &a};
    run_on_small_stack(&j);
    if (!j.ok || !far_xdr_dec_done(&j.d))
        fail_msg("%u levels: %s", FAR_XDR_DEFAULT_MAX_DEPTH, dec_why(&j.d));
    far_arena_fini(&a);
    free(buf);
}

/* A forest whose list holds `n` minimal items (52 bytes each), no root. */
static uint8_t *long_list_bytes(unsigned n, size_t *len)
{
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, (size_t)n * 52 + 64, 64u << 20), FAR_OK);
    for (unsigned i = 0; i < n; i++) {
        assert_true(far_xdr_put_bool(&e, true));
        put_tree_head(&e, (int32_t)i);
        assert_true(far_xdr_put_enum(&e, SK_EMPTY));
        put_tree_tail(&e);
    }
    assert_true(far_xdr_put_bool(&e, false) && far_xdr_put_bool(&e, false));
    *len = far_xdr_enc_len(&e);
    assert_int_equal(*len, (size_t)n * (4 + MIN_TREE) + 8);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    memcpy(out, far_xdr_enc_data(&e), *len);
    far_xdr_enc_fini(&e);
    return out;
}

/* Bytes one list element costs in the arena: the item and its "" label. */
#define ITEM_COST (((sizeof(item) + 7) & ~(size_t)7) + 8)

static void long_list_stops_at_max_chain(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = long_list_bytes(DEEP, &len);
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);

    static const uint32_t chains[] = {1000, FAR_XDR_DEFAULT_MAX_CHAIN};
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
        uint32_t max = chains[i];
        far_arena_reset(&a);
        far_xdr_dec d;
        far_xdr_dec_init(&d, buf, len, &a, 0);
        if (max != FAR_XDR_DEFAULT_MAX_CHAIN)
            far_xdr_dec_set_max_chain(&d, max);
        forest f;
        assert_false(forest_decode(&d, &f));
        assert_int_equal(d.err.code, FAR_ELIMIT);
        /* reported right after element max's "more" flag */
        assert_int_equal(d.err.offset, (size_t)max * (4 + MIN_TREE) + 4);
        char want[128];
        snprintf(want, sizeof want,
                 "FAR_ELIMIT at byte %zu in items[%u]: list longer than %u elements", d.err.offset,
                 max, max);
        assert_string_equal(dec_why(&d), want);
        /* the arena holds exactly the max elements decoded before the stop */
        assert_int_equal(far_arena_used(&a), (size_t)max * ITEM_COST);
    }

    /* a list of exactly max_chain elements is accepted */
    free(buf);
    buf = long_list_bytes(1000, &len);
    far_arena_reset(&a);
    far_xdr_dec d;
    far_xdr_dec_init(&d, buf, len, &a, 0);
    far_xdr_dec_set_max_chain(&d, 1000);
    forest f;
    if (!forest_decode(&d, &f) || !far_xdr_dec_done(&d))
        fail_msg("1000 items with max_chain 1000: %s", dec_why(&d));
    unsigned n = 0;
    for (const item *it = f.items; it && n <= 1000; it = it->next)
        assert_int_equal(it->value.id, (int32_t)n++);
    assert_int_equal(n, 1000);
    assert_null(f.root);
    far_arena_fini(&a);
    free(buf);
}

/* ------------------------------------------- padding, values, misuse */

static void nonzero_padding_rejected(void **state)
{
    (void)state;
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    char why[256];

    /* string<> "abc" with its pad byte (offset 7) set */
    static const uint8_t str[8] = {0, 0, 0, 3, 'a', 'b', 'c', 0x01};
    for (unsigned mode = 0; mode < 3; mode++) {
        far_xdr_dec d;
        far_xdr_dec_init(&d, str, sizeof str, mode == 2 ? NULL : &a,
                         mode == 1 ? FAR_XDR_ZEROCOPY : 0);
        char *s = NULL;
        assert_false(far_xdr_get_string(&d, &s, 10));
        assert_int_equal(d.err.code, FAR_EPADDING);
        assert_int_equal(d.err.offset, 7);
        assert_string_equal(far_xdr_dec_strerror(&d, why, sizeof why),
                            "FAR_EPADDING at byte 7: padding byte is 0x01, not zero");
        assert_int_equal(d.heap_used, 0);
    }
    far_xdr_dec d;
    far_xdr_dec_init(&d, str, sizeof str, NULL, 0);
    const char *ref;
    uint32_t n;
    assert_false(far_xdr_get_string_ref(&d, &ref, &n, 10));
    assert_int_equal(d.err.code, FAR_EPADDING);
    assert_int_equal(d.err.offset, 7);

    /* opaque<> of 5 bytes with the second of its three pad bytes set */
    static const uint8_t opq[12] = {0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0x80, 0};
    for (unsigned mode = 0; mode < 3; mode++) {
        far_xdr_dec_init(&d, opq, sizeof opq, mode == 2 ? NULL : &a,
                         mode == 1 ? FAR_XDR_ZEROCOPY : 0);
        uint8_t *p = NULL;
        assert_false(far_xdr_get_opaque(&d, &p, &n, 10));
        assert_int_equal(d.err.code, FAR_EPADDING);
        assert_string_equal(far_xdr_dec_strerror(&d, why, sizeof why),
                            "FAR_EPADDING at byte 10: padding byte is 0x80, not zero");
    }
    uint8_t into[8];
    far_xdr_dec_init(&d, opq, sizeof opq, NULL, 0);
    assert_false(far_xdr_get_opaque_into(&d, into, &n, sizeof into));
    assert_int_equal(d.err.code, FAR_EPADDING);
    assert_int_equal(d.err.offset, 10);

    /* opaque[5] with its last pad byte set */
    static const uint8_t fix[8] = {1, 2, 3, 4, 5, 0, 0, 0x7f};
    far_xdr_dec_init(&d, fix, sizeof fix, NULL, 0);
    assert_false(far_xdr_get_opaque_fixed(&d, into, 5));
    assert_int_equal(d.err.code, FAR_EPADDING);
    assert_string_equal(far_xdr_dec_strerror(&d, why, sizeof why),
                        "FAR_EPADDING at byte 7: padding byte is 0x7f, not zero");
    assert_int_equal(far_arena_used(&a), 0);
    far_arena_fini(&a);
}

static void bad_bool_short_hyper_and_misuse(void **state)
{
    (void)state;
    far_xdr_dec d;
    char why[256];
    bool b;

    static const uint8_t bools[12] = {0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff};
    far_xdr_dec_init(&d, bools, sizeof bools, NULL, 0);
    assert_true(far_xdr_get_bool(&d, &b));
    assert_true(b);
    assert_false(far_xdr_get_bool(&d, &b));
    assert_int_equal(d.err.code, FAR_EBADVALUE);
    assert_string_equal(far_xdr_dec_strerror(&d, why, sizeof why),
                        "FAR_EBADVALUE at byte 4: bool must be 0 or 1, not 2");
    far_xdr_dec_init(&d, bools + 8, 4, NULL, 0);
    assert_false(far_xdr_get_bool(&d, &b));
    assert_int_equal(d.err.code, FAR_EBADVALUE);
    assert_int_equal(d.err.offset, 0);

    /* a hyper, unsigned hyper or double with 7 bytes left */
    static const uint8_t seven[7] = {1, 2, 3, 4, 5, 6, 7};
    int64_t h;
    uint64_t u;
    double x;
    far_xdr_dec_init(&d, seven, sizeof seven, NULL, 0);
    assert_false(far_xdr_get_i64(&d, &h));
    assert_int_equal(d.err.code, FAR_ETRUNC);
    assert_string_equal(far_xdr_dec_strerror(&d, why, sizeof why),
                        "FAR_ETRUNC at byte 0: needs 8 bytes, 7 left");
    assert_int_equal(far_xdr_dec_left(&d), 7); /* nothing consumed */
    far_xdr_dec_init(&d, seven, sizeof seven, NULL, 0);
    assert_false(far_xdr_get_u64(&d, &u));
    assert_int_equal(d.err.code, FAR_ETRUNC);
    far_xdr_dec_init(&d, seven, sizeof seven, NULL, 0);
    assert_false(far_xdr_get_double(&d, &x));
    assert_int_equal(d.err.code, FAR_ETRUNC);

    /* a zero-copy decoder without an arena refuses every get */
    static const uint8_t ok[8] = {0, 0, 0, 1, 'z', 0, 0, 0};
    far_xdr_dec_init(&d, ok, sizeof ok, NULL, FAR_XDR_ZEROCOPY);
    uint32_t w;
    assert_false(far_xdr_get_u32(&d, &w));
    assert_int_equal(d.err.code, FAR_EMISUSE);
    assert_string_equal(far_xdr_dec_strerror(&d, why, sizeof why),
                        "FAR_EMISUSE at byte 0: zero-copy decoding needs an arena");
    far_xdr_dec_init(&d, ok, sizeof ok, NULL, FAR_XDR_ZEROCOPY);
    uint8_t *p;
    assert_false(far_xdr_get_opaque(&d, &p, &w, 10));
    assert_int_equal(d.err.code, FAR_EMISUSE);
    forest f;
    assert_int_equal(
        far_xdr_decode(forest_decode_any, &f, ok, sizeof ok, NULL, FAR_XDR_ZEROCOPY, NULL, 0),
        FAR_EMISUSE);
}

/* ------------------------------------------------------- error paths */

static size_t find(const uint8_t *hay, size_t n, const void *needle, size_t k)
{
    const uint8_t *p = memmem(hay, n, needle, k);
    if (!p)
        fail_msg("pattern not found in the encoding");
    return (size_t)(p - hay);
}

/* Decodes `wire` as a forest with far_xdr_decode and checks the code and the
 * whole error text. */
static void expect_forest_error(const uint8_t *wire, size_t len, far_err code, const char *want)
{
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    forest f;
    char why[256] = ""; /* left alone on success */
    assert_int_equal(far_xdr_decode(forest_decode_any, &f, wire, len, &a, 0, why, sizeof why),
                     code);
    assert_string_equal(why, want);
    far_arena_fini(&a);
}

static void error_names_field_path_and_offset(void **state)
{
    (void)state;
    sample_forest s;
    sample_forest_init(&s);
    size_t len;
    uint8_t *wire = encode_alloc(forest_encode_any, &s.f, &len);
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    char want[256];

    /* a NUL inside items[2]'s name */
    memcpy(bad, wire, len);
    size_t at = find(bad, len, "needle-name", 11) + 3;
    bad[at] = 0;
    snprintf(want, sizeof want,
             "FAR_EBADVALUE at byte %zu in items[2].value.body.name: "
             "string contains a NUL byte at index 3",
             at);
    expect_forest_error(bad, len, FAR_EBADVALUE, want);

    /* items[1]'s numbers<8> claiming 9 elements */
    memcpy(bad, wire, len);
    uint8_t first[8];
    far_xdr_store_u64(first, (uint64_t)s.numbers[0]);
    at = find(bad, len, first, 8) - 4;
    assert_int_equal(far_xdr_load_u32(bad + at), 5);
    far_xdr_store_u32(bad + at, 9);
    snprintf(want, sizeof want,
             "FAR_ELIMIT at byte %zu in items[1].value.body.numbers: count 9 exceeds its maximum 8",
             at);
    expect_forest_error(bad, len, FAR_ELIMIT, want);

    /* the root's child's name<32> claiming 33 bytes */
    memcpy(bad, wire, len);
    at = find(bad, len, "leafname", 8) - 4;
    far_xdr_store_u32(bad + at, 33);
    snprintf(want, sizeof want,
             "FAR_ELIMIT at byte %zu in root.body.child.body.name: "
             "string length 33 exceeds its maximum 32",
             at);
    expect_forest_error(bad, len, FAR_ELIMIT, want);

    /* non-zero padding after the root's child's tag ("LMNOP") */
    memcpy(bad, wire, len);
    at = find(bad, len, "LMNOP", 5) + 6;
    bad[at] = 0x20;
    snprintf(want, sizeof want,
             "FAR_EPADDING at byte %zu in root.body.child.tag: padding byte is 0x20, not zero", at);
    expect_forest_error(bad, len, FAR_EPADDING, want);

    /* a bad union arm in items[0] ("BCDEF" is its tag; the body's kind
     * follows the blob of 7+1 bytes and the counts) */
    memcpy(bad, wire, len);
    at = find(bad, len, "BCDEF", 5) + 8 + 4 + 8 + 12;
    assert_int_equal(far_xdr_load_u32(bad + at), SK_EMPTY);
    far_xdr_store_u32(bad + at, 4);
    snprintf(want, sizeof want,
             "FAR_EBADVALUE at byte %zu in items[0].value.body.kind: shape_kind 4 is not a member",
             at);
    expect_forest_error(bad, len, FAR_EBADVALUE, want);

    /* the unchanged bytes decode, and one more byte is FAR_ETRAILING */
    expect_forest_error(wire, len, FAR_OK, "");
    free(bad);
    bad = calloc(1, len + 4);
    assert_non_null(bad);
    memcpy(bad, wire, len);
    snprintf(want, sizeof want, "FAR_ETRAILING at byte %zu: 4 bytes left over", len);
    expect_forest_error(bad, len + 4, FAR_ETRAILING, want);
    free(bad);
    free(wire);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncated_forest_fails_at_every_length),
        cmocka_unit_test(truncated_file_fails_at_every_length),
        cmocka_unit_test(huge_string_length_fails_before_allocating),
        cmocka_unit_test(array_count_overflow_fails_before_allocating),
        cmocka_unit_test(deep_optional_chain_stops_at_max_depth),
        cmocka_unit_test(long_list_stops_at_max_chain),
        cmocka_unit_test(nonzero_padding_rejected),
        cmocka_unit_test(bad_bool_short_hyper_and_misuse),
        cmocka_unit_test(error_names_field_path_and_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
