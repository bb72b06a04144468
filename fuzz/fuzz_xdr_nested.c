/* libFuzzer harness: decodes arbitrary bytes as a `forest` (tests/common/nested.x)
 * and, whenever decoding succeeds, encodes the decoded value again and insists
 * on getting back exactly the bytes it consumed.  XDR has one encoding per
 * value (zero padding, RFC 4506 §3; bools 0 or 1, §4.4; exact lengths), so
 * any difference is a bug in the decoder or the encoder.
 *
 * input[0] chooses how to decode and re-encode; input[1..] is the XDR:
 *   0x01  zero-copy decoding (opaque data and strings point into the input)
 *   0x02  heap-less: the arena is a caller block and may not grow past it
 *   0x04  tight limits: max_depth 3, max_chain 4 (the tests' hostile bounds)
 *   0x08  decode through far_xdr_decode() (default limits, needs every byte)
 *   0x10  re-encode into a growable buffer that starts at 4 bytes
 *   0x20  re-encode opaque data by reference, then flatten the scatter list
 *   0x40  zero-copy without an arena: must fail with FAR_EMISUSE, reading nothing
 *   0x80  use the low bits of input[0] as the error-text buffer size (0..15)
 */
#include <inttypes.h> /* nested_xdr.h uses PRIu32 */
#include <stdio.h>
#include <stdlib.h>

#include "nested_xdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    M_ZEROCOPY = 0x01,
    M_HEAPLESS = 0x02,
    M_TIGHT = 0x04,
    M_WHOLE = 0x08,
    M_GROW = 0x10,
    M_BYREF = 0x20,
    M_NOARENA = 0x40,
    M_SHORTMSG = 0x80,
};

#define HEAPLESS_BYTES 4096

static void fail(const char *what, size_t n)
{
    fprintf(stderr, "fuzz_xdr_nested: %s (%zu input bytes)\n", what, n);
    abort();
}

static void fail_enc(const char *what, const far_xdr_enc *e, size_t n)
{
    char why[300];
    fprintf(stderr, "fuzz_xdr_nested: %s: %s (%zu bytes)\n", what,
            far_xdr_enc_strerror(e, why, sizeof why), n);
    abort();
}

/* Re-encodes `f` and checks the result is exactly want[0..n). */
static void reencode(const forest *f, const uint8_t *want, size_t n, unsigned mode)
{
    far_xdr_enc e;
    if (mode & M_GROW) {
        /* the maximum is exactly the size needed: growth must land on it */
        if (far_xdr_enc_init_grow(&e, 4, n ? n : 1) != FAR_OK)
            fail("growable encoder could not start", n);
    } else {
        far_xdr_enc_init(&e, malloc(n ? n : 1), n); /* exact size: ASan sees overruns */
        if (!e.buf)
            fail("malloc", n);
    }
    if (mode & M_BYREF)
        far_xdr_enc_set_ref_min(&e, 1);
    if (!forest_encode(&e, f))
        fail_enc("re-encoding a decoded value failed", &e, n);
    if (far_xdr_enc_len(&e) != n)
        fail_enc("re-encoded length differs", &e, n);

    uint8_t *flat = malloc(n ? n : 1);
    if (!flat)
        fail("malloc", n);
    if (far_xdr_enc_flatten(&e, flat, n) != FAR_OK)
        fail_enc("flatten failed", &e, n);
    if (n && memcmp(flat, want, n) != 0)
        fail_enc("re-encoded bytes differ from the input", &e, n);

    /* the iovec view covers the same bytes, in order */
    struct iovec iov[64];
    size_t k = far_xdr_enc_iov(&e, iov, 64), at = 0;
    if (k <= 64) {
        for (size_t i = 0; i < k; i++) {
            if (iov[i].iov_len > n - at || memcmp(iov[i].iov_base, want + at, iov[i].iov_len))
                fail_enc("iovec view differs from the input", &e, n);
            at += iov[i].iov_len;
        }
        if (at != n)
            fail_enc("iovec view has the wrong length", &e, n);
    }
    free(flat);
    if (!(mode & M_GROW))
        free(e.buf);
    far_xdr_enc_fini(&e);

    /* one byte less room must fail cleanly, naming where */
    if (n && !(mode & M_BYREF)) {
        uint8_t *small = malloc(n - 1 ? n - 1 : 1);
        if (!small)
            fail("malloc", n);
        far_xdr_enc_init(&e, small, n - 1);
        if (forest_encode(&e, f))
            fail("encoding into a buffer one byte short succeeded", n);
        if (e.err.code != FAR_ENOSPACE)
            fail_enc("encoding into a short buffer gave the wrong error", &e, n);
        char why[200];
        far_xdr_enc_strerror(&e, why, sizeof why);
        free(small);
        far_xdr_enc_fini(&e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static _Alignas(16) uint8_t block[HEAPLESS_BYTES];
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    size_t why_len = (mode & M_SHORTMSG) ? (mode & 0x0f) : 256;
    char why[256];
    forest f;

    if (mode & M_NOARENA) {
        far_xdr_dec d;
        far_xdr_dec_init(&d, in, n, NULL, FAR_XDR_ZEROCOPY);
        if (forest_decode(&d, &f) || d.err.code != FAR_EMISUSE || far_xdr_dec_pos(&d) != 0)
            fail("zero-copy without an arena did not fail with FAR_EMISUSE", n);
        far_xdr_dec_strerror(&d, why, why_len);
        return 0;
    }

    far_arena a;
    if (mode & M_HEAPLESS)
        far_arena_init(&a, block, sizeof block, sizeof block);
    else
        far_arena_init(&a, NULL, 0, 0);
    unsigned flags = (mode & M_ZEROCOPY) ? FAR_XDR_ZEROCOPY : 0;

    size_t used;
    bool ok;
    if (mode & M_WHOLE) {
        far_err rc = far_xdr_decode(forest_decode_any, &f, in, n, &a, flags, why, why_len);
        ok = rc == FAR_OK;
        used = n;
        if (!ok && why_len && strlen(why) >= why_len)
            fail("far_xdr_decode overran its message buffer", n);
    } else {
        far_xdr_dec d;
        far_xdr_dec_init(&d, in, n, &a, flags);
        if (mode & M_TIGHT) {
            far_xdr_dec_set_max_depth(&d, 3);
            far_xdr_dec_set_max_chain(&d, 4);
        }
        ok = forest_decode(&d, &f);
        used = far_xdr_dec_pos(&d);
        if (ok && used > n)
            fail("decoder consumed more than its input", n);
        if (ok && !far_xdr_dec_done(&d) && (used == n || d.err.code != FAR_ETRAILING))
            fail("far_xdr_dec_done disagrees with the position", n);
        if (!ok && d.err.code == FAR_OK)
            fail("decoding failed without a reason", n);
        if (!ok || used != n)
            far_xdr_dec_strerror(&d, why, why_len);
    }
    if ((mode & M_HEAPLESS) && a.chunks)
        fail("heap-less arena went to the heap", n);
    if (ok)
        reencode(&f, in, used, mode);
    far_arena_fini(&a);
    return 0;
}
