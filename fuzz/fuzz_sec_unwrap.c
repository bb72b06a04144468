/* libFuzzer: the server's unwrap of a protected call (security levels,
 * src/msg/sec.c) -- its header and credential decoded, its verifier checked
 * with the session's key, the replay window, its body opened at the level.
 *
 * Sessions for the three levels come from a real NNpsk0 handshake (client
 * and server in process, once).  The first byte picks the level and the
 * mode:
 *   raw     the rest is a call record, fed to the server's path as it is:
 *           it must be refused unless it verifies (it never does by chance)
 *   sealed  the rest is the arguments: sealed by the client's path, one byte
 *           of the sealed call changed (where the second and third bytes
 *           say, unless they say "none"), then fed to the server's path:
 *           untouched it must open to the very arguments; changed in the
 *           protected part it must be refused.
 * An abort marks a broken property. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/msg.h"

static far__sec_session *cli[4], *srv[4];

static void make_sessions(void)
{
    static const uint8_t psk[32] = "fuzzing key, 32 bytes, not rand";
    for (uint32_t lvl = 1; lvl <= 3; lvl++) {
        uint8_t pro[128], m0[256], m1[256];
        size_t plen = far__sec_prologue(pro, sizeof pro, lvl, FAR__SEC_SUITE_CHACHA,
                                        FAR__SEC_INIT_CAPS, (const uint8_t *)"owner", 5,
                                        (const uint8_t *)"alice", 5, 0x20fa0b1eu, 1);
        far__noise_hs *hs = NULL;
        size_t l0 = 0, l1 = 0;
        if (!plen ||
            far__sec_client_begin(&hs, FAR__SEC_SUITE_CHACHA, psk, pro, plen, m0, sizeof m0, &l0) !=
                FAR_OK ||
            far__sec_server_respond(m0, l0, lvl, FAR__SEC_SUITE_CHACHA, psk, pro, plen, 42, 7, m1,
                                    sizeof m1, &l1, &srv[lvl]) != FAR_OK ||
            far__sec_client_finish(hs, m1, l1, lvl, FAR__SEC_SUITE_CHACHA, 42, 7, &cli[lvl]) !=
                FAR_OK)
            abort();
    }
}

/* The server's path (svc/sec.c's checks, without a server): FAR_OK with the
 * arguments at *args, or a refusal. */
static far_err server_unwrap(uint32_t lvl, const uint8_t *rec, size_t n, far_arena *arena,
                             const uint8_t **args, size_t *args_len)
{
    far_xdr_dec d;
    far_xdr_dec_init(&d, rec, n, NULL, 0);
    far__call_hdr h;
    if (far__call_hdr_decode(&d, &h) != FAR_OK)
        return FAR_EPROTO;
    if (h.cred_flavor != far__ctx_flavor())
        return FAR_EAUTH;
    /* the flavor's own checks (msg/ctx.c), then svc/sec.c's */
    far__sauth a;
    memset(&a, 0, sizeof a);
    if (far__auth_ctx.authenticate(&a, &h) != FAR_AUTH_OK)
        return FAR_EAUTH;
    const far__ctx_cred *cr = &a.ctx;
    if (cr->proc != FAR__CTX_DATA || cr->service != lvl)
        return FAR_EAUTH;
    const uint8_t *hdr = h.cred_body - 8 - 24;
    if (!far__sec_check_call(srv[lvl], cr->seq, hdr, h.cred_body + h.cred_len, h.verf_body,
                             h.verf_len))
        return FAR_EAUTH;
    if (far__sec_window_check(srv[lvl], cr->seq) != 0)
        return FAR_EAUTH;
    a.sec.sess = srv[lvl];
    a.sec.seq = cr->seq;
    size_t off = n - far_xdr_dec_left(&d);
    *args = rec + off;
    *args_len = n - off;
    return far__auth_sec.unwrap_args(&a, args, args_len, arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        make_sessions();
        ready = 1;
    }
    if (size < 3)
        return 0;
    uint32_t lvl = 1 + data[0] % 3;
    bool sealed = data[0] & 0x80;
    uint64_t arena_buf[512];
    far_arena arena;
    far_arena_init(&arena, arena_buf, sizeof arena_buf, 1u << 24);
    const uint8_t *args;
    size_t args_len;
    if (!sealed) {
        uint8_t *rec = malloc(size - 1 ? size - 1 : 1);
        if (!rec)
            return 0;
        memcpy(rec, data + 1, size - 1);
        far_err rc = server_unwrap(lvl, rec, size - 1, &arena, &args, &args_len);
        if (rc == FAR_OK)
            abort(); /* a forged call verified */
        free(rec);
        far_arena_fini(&arena);
        return 0;
    }
    size_t flip = (size_t)data[1] << 8 | data[2];
    const uint8_t *pt = data + 3;
    size_t ptn = size - 3;
    far__cauth ca;
    far__ctx_client ctxc = {0};
    if (far__cauth_init(&ca, false, NULL) != FAR_OK || !far__cauth_make_ctx(&ca, &ctxc))
        abort();
    ca.ops = &far__auth_sec;
    far__sec_call sc = {cli[lvl], 0};
    far__call_meta m = {0, FAR__CTX_AT_MOST_ONCE, NULL, 0, &sc};
    far_xdr_enc e;
    if (far_xdr_enc_init_grow(&e, 512, 1u << 22) != FAR_OK)
        return 0;
    if (!far__call_hdr_put_fixed(&e, 0x1234, 0x20000151u, 1, 1) ||
        !ca.ops->put_cred_verf(&ca, &e, 0x1234, &m))
        abort();
    size_t args_off = far_xdr_enc_len(&e);
    if (!far_xdr_put_opaque_fixed(&e, pt, ptn) || !ca.ops->wrap_args(&ca, &e, args_off, &sc))
        abort();
    size_t n = far_xdr_enc_len(&e);
    uint8_t *rec = malloc(n);
    if (!rec || far_xdr_enc_flatten(&e, rec, n) != FAR_OK)
        abort();
    far_xdr_enc_fini(&e);
    /* pt is padded to whole words by put_opaque_fixed (the encoder pads) */
    size_t padded = (ptn + 3) & ~(size_t)3;
    bool changed = flip != 0xffff && flip < n;
    /* the protected part: all but the xid (bytes 0..3, which the MAC covers
     * too) -- at AUTH the body is not protected */
    bool protected_byte = changed && (lvl > 1 || flip < args_off);
    if (changed)
        rec[flip] ^= 0x01;
    far_err rc = server_unwrap(lvl, rec, n, &arena, &args, &args_len);
    if (!changed) {
        if (rc != FAR_OK || args_len != padded || memcmp(args, pt, ptn) != 0)
            abort(); /* a sealed call did not open to its arguments */
        for (size_t i = ptn; i < padded; i++)
            if (args[i])
                abort();
    } else if (protected_byte && rc == FAR_OK) {
        abort(); /* a changed call was taken */
    }
    free(rec);
    far_arena_fini(&arena);
    return 0;
}
