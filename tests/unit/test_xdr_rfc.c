/* RFC 4506 §7: the "file" example encodes to exactly the RFC's bytes and
 * decodes back; error paths name the field and the offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xdrdemo/file_xdr.h"

/* The 48 bytes printed in RFC 4506 §7. */
static const uint8_t rfc_bytes[48] = {
    0x00, 0x00, 0x00, 0x09, 0x73, 0x69, 0x6c, 0x6c, 0x79, 0x70, 0x72, 0x6f, 0x67, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x6c, 0x69, 0x73, 0x70, 0x00, 0x00, 0x00, 0x04,
    0x6a, 0x6f, 0x68, 0x6e, 0x00, 0x00, 0x00, 0x06, 0x28, 0x71, 0x75, 0x69, 0x74, 0x29, 0x00, 0x00,
};

static file sample(void)
{
    file f = {.filename = "sillyprog",
              .type = {.kind = EXEC, .u.interpretor = "lisp"},
              .owner = "john",
              .data = {6, (uint8_t *)"(quit)"}};
    return f;
}

static void encodes_to_rfc_bytes(void **state)
{
    (void)state;
    file f = sample();
    uint8_t buf[64];
    size_t len = 0;
    assert_int_equal(far_xdr_encode(file_encode_any, &f, buf, sizeof buf, &len, NULL, 0), FAR_OK);
    assert_int_equal(len, sizeof rfc_bytes);
    assert_memory_equal(buf, rfc_bytes, sizeof rfc_bytes);
}

static void encodes_same_into_growable_buffer(void **state)
{
    (void)state;
    file f = sample();
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, 4, 1024), FAR_OK); /* forces growth */
    assert_true(file_encode(&e, &f));
    assert_int_equal(far_xdr_enc_len(&e), sizeof rfc_bytes);
    assert_memory_equal(far_xdr_enc_data(&e), rfc_bytes, sizeof rfc_bytes);
    far_xdr_enc_fini(&e);
    far_xdr_enc_fini(NULL); /* no-op */
}

static void decodes_rfc_bytes(void **state)
{
    (void)state;
    for (unsigned zc = 0; zc <= 1; zc++) {
        far_arena a;
        far_arena_init(&a, NULL, 0, 0);
        file f;
        memset(&f, 0, sizeof f);
        assert_int_equal(far_xdr_decode(file_decode_any, &f, rfc_bytes, sizeof rfc_bytes, &a,
                                        zc ? FAR_XDR_ZEROCOPY : 0, NULL, 0),
                         FAR_OK);
        assert_string_equal(f.filename, "sillyprog");
        assert_int_equal(f.type.kind, EXEC);
        assert_string_equal(f.type.u.interpretor, "lisp");
        assert_string_equal(f.owner, "john");
        assert_int_equal(f.data.len, 6);
        assert_memory_equal(f.data.val, "(quit)", 6);
        if (zc) /* zero-copy: opaque data points into the input */
            assert_ptr_equal(f.data.val, rfc_bytes + 40);
        else
            assert_true(far_arena_used(&a) > 0);
        far_arena_fini(&a);
    }
}

static void bad_union_arm_names_field_and_offset(void **state)
{
    (void)state;
    uint8_t bad[sizeof rfc_bytes];
    memcpy(bad, rfc_bytes, sizeof bad);
    bad[19] = 7; /* filekind 7 */
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    file f;
    char why[256];
    assert_int_equal(far_xdr_decode(file_decode_any, &f, bad, sizeof bad, &a, 0, why, sizeof why),
                     FAR_EBADVALUE);
    assert_non_null(strstr(why, "at byte 16"));
    assert_non_null(strstr(why, "type.kind"));
    assert_non_null(strstr(why, "filekind 7"));
    far_arena_fini(&a);
}

static void trailing_bytes_rejected(void **state)
{
    (void)state;
    uint8_t longer[sizeof rfc_bytes + 4] = {0};
    memcpy(longer, rfc_bytes, sizeof rfc_bytes);
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    file f;
    assert_int_equal(far_xdr_decode(file_decode_any, &f, longer, sizeof longer, &a, 0, NULL, 0),
                     FAR_ETRAILING);
    far_arena_fini(&a);
}

static void strerror_covers_every_code(void **state)
{
    (void)state;
    for (int e = 0; e <= FAR_ERR_LAST; e++) {
        assert_string_not_equal(far_strerror((far_err)e), "unknown farcall error");
        assert_string_not_equal(far_errname((far_err)e), "FAR_E?");
    }
    assert_string_equal(far_strerror((far_err)(FAR_ERR_LAST + 1)), "unknown farcall error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_to_rfc_bytes),
        cmocka_unit_test(encodes_same_into_growable_buffer),
        cmocka_unit_test(decodes_rfc_bytes),
        cmocka_unit_test(bad_union_arm_names_field_and_offset),
        cmocka_unit_test(trailing_bytes_rejected),
        cmocka_unit_test(strerror_covers_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
