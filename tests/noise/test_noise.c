/* The Noise core (src/noise) against bad input and misuse: handshake
 * messages cut at every length and with every byte flipped (each placed
 * against a guard page), transport messages with a wrong nonce, tag, AD or
 * byte, the reserved nonce, missing keys, unknown protocol names, all-zero
 * DH results, the length limits; and, with fresh keys, a full handshake for
 * every pattern of the table with psk modifiers, both ciphers and hashes
 * (the known-answer test covers the patterns with vectors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/guard.h"
#include "noise/noise.h"

#define MSG_CAP 1024

/* Fixed keys for both sides (so a handshake can be replayed byte for byte). */
typedef struct keys {
    uint8_t si[32], si_pub[32], sr[32], sr_pub[32];
    uint8_t ei[32], er[32];
    uint8_t psk[5][32];
} keys;

static void make_keys(keys *k, uint8_t seed)
{
    for (int i = 0; i < 32; i++) {
        k->si[i] = (uint8_t)(seed + 1 + i);
        k->sr[i] = (uint8_t)(seed + 2 + 3 * i);
        k->ei[i] = (uint8_t)(seed + 5 + 7 * i);
        k->er[i] = (uint8_t)(seed + 11 + 13 * i);
        for (int p = 0; p < 5; p++)
            k->psk[p][i] = (uint8_t)(seed + 17 * p + i);
    }
    crypto_scalarmult_base(k->si_pub, k->si);
    crypto_scalarmult_base(k->sr_pub, k->sr);
}

/* One side, given every key it could use (the setters refuse the ones the
 * pattern has no use for, which is fine here), started.  `skip` names a key
 * not to give: 's', 'r' (remote static), 'p' (every psk), 0 none. */
static far_err side(far__noise_hs **out, const char *protocol, bool initiator, const keys *k,
                    bool inject_e, char skip)
{
    far__noise_hs *hs;
    far_err e = far__noise_hs_new(&hs, protocol, initiator);
    if (e != FAR_OK)
        return e;
    static const uint8_t prologue[] = "farcall test prologue";
    assert_int_equal(far__noise_hs_set_prologue(hs, prologue, sizeof prologue), FAR_OK);
    if (skip != 's')
        (void)far__noise_hs_set_static(hs, initiator ? k->si : k->sr);
    if (skip != 'r')
        (void)far__noise_hs_set_remote_static(hs, initiator ? k->sr_pub : k->si_pub);
    if (skip != 'p')
        for (unsigned p = 0; p < 5; p++)
            (void)far__noise_hs_set_psk(hs, p, k->psk[p]);
    if (inject_e)
        assert_int_equal(far__noise_hs_set_ephemeral(hs, initiator ? k->ei : k->er), FAR_OK);
    e = far__noise_hs_start(hs);
    if (e != FAR_OK) {
        far__noise_hs_free(hs);
        return e;
    }
    *out = hs;
    return FAR_OK;
}

typedef struct transcript {
    unsigned n;
    uint8_t msg[8][MSG_CAP];
    size_t len[8];
} transcript;

static const uint8_t payload_text[] = "a payload in the handshake";

/* Runs the handshake to the end, recording each message; checks both sides
 * agree on the hash and that transport works both ways. */
static void full_handshake(const char *protocol, const keys *k, bool inject_e, transcript *t)
{
    far__noise_hs *ini = NULL, *res = NULL;
    assert_int_equal(side(&ini, protocol, true, k, inject_e, 0), FAR_OK);
    assert_int_equal(side(&res, protocol, false, k, inject_e, 0), FAR_OK);
    t->n = 0;
    while (far__noise_hs_action(ini) != FAR__NOISE_SPLIT) {
        bool from_i = far__noise_hs_action(ini) == FAR__NOISE_WRITE;
        far__noise_hs *w = from_i ? ini : res, *r = from_i ? res : ini;
        assert_int_equal(far__noise_hs_action(w), FAR__NOISE_WRITE);
        assert_int_equal(far__noise_hs_action(r), FAR__NOISE_READ);
        assert_true(t->n < 8);
        size_t len, plen;
        uint8_t back[MSG_CAP];
        assert_int_equal(
            far__noise_hs_write(w, payload_text, sizeof payload_text, t->msg[t->n], MSG_CAP, &len),
            FAR_OK);
        t->len[t->n] = len;
        assert_int_equal(far__noise_hs_read(r, t->msg[t->n], len, back, sizeof back, &plen),
                         FAR_OK);
        assert_int_equal(plen, sizeof payload_text);
        assert_memory_equal(back, payload_text, plen);
        t->n++;
    }
    assert_int_equal(far__noise_hs_action(res), FAR__NOISE_SPLIT);
    uint8_t hi[64], hr[64], pub[32];
    size_t hil, hrl;
    far__noise_cs itx, irx, rtx, rrx;
    assert_int_equal(far__noise_hs_split(ini, &itx, &irx, hi, &hil), FAR_OK);
    assert_int_equal(far__noise_hs_split(res, &rtx, &rrx, hr, &hrl), FAR_OK);
    assert_int_equal(far__noise_hs_split(res, &rtx, &rrx, hr, &hrl), FAR_EMISUSE); /* once */
    assert_int_equal(hil, hrl);
    assert_memory_equal(hi, hr, hil);
    assert_memory_equal(itx.k, rrx.k, 32);
    assert_memory_equal(irx.k, rtx.k, 32);
    assert_memory_not_equal(itx.k, irx.k, 32);
    /* whoever has a static key, the other side knows it now */
    if (far__noise_hs_remote_static(res, pub))
        assert_memory_equal(pub, k->si_pub, 32);
    if (far__noise_hs_remote_static(ini, pub))
        assert_memory_equal(pub, k->sr_pub, 32);
    uint8_t ct[64], pt[64];
    assert_int_equal(far__noise_seal(&itx, 5, NULL, 0, payload_text, 10, ct), FAR_OK);
    assert_int_equal(far__noise_open(&rrx, 5, NULL, 0, ct, 26, pt), FAR_OK);
    assert_memory_equal(pt, payload_text, 10);
    assert_int_equal(far__noise_seal(&rtx, 9, NULL, 0, payload_text, 10, ct), FAR_OK);
    assert_int_equal(far__noise_open(&irx, 9, NULL, 0, ct, 26, pt), FAR_OK);
    far__noise_hs_free(ini);
    far__noise_hs_free(res);
}

static const char *const hostile_protocols[] = {
    "Noise_NNpsk0_25519_ChaChaPoly_SHA256", "Noise_NNpsk0_25519_AESGCM_SHA256",
    "Noise_KKpsk0_25519_ChaChaPoly_SHA256", "Noise_XXpsk3_25519_ChaChaPoly_SHA256",
    "Noise_XXpsk3_25519_AESGCM_SHA512",     "Noise_IK_25519_ChaChaPoly_SHA512",
    "Noise_NX_25519_ChaChaPoly_SHA256",     "Noise_XX_25519_ChaChaPoly_SHA256",
};

static bool protocol_usable(const char *protocol)
{
    return strstr(protocol, "AESGCM") == NULL || far__noise_aesgcm_available();
}

/* Replays messages 0..m-1 of t on a fresh pair (fixed keys: the same bytes);
 * *w / *r are the writer and reader of message m. */
static void replay_to(const char *protocol, const keys *k, const transcript *t, unsigned m,
                      far__noise_hs **ini, far__noise_hs **res)
{
    assert_int_equal(side(ini, protocol, true, k, true, 0), FAR_OK);
    assert_int_equal(side(res, protocol, false, k, true, 0), FAR_OK);
    for (unsigned i = 0; i < m; i++) {
        far__noise_hs *w = i % 2 == 0 ? *ini : *res, *r = i % 2 == 0 ? *res : *ini;
        uint8_t out[MSG_CAP], back[MSG_CAP];
        size_t len, plen;
        assert_int_equal(
            far__noise_hs_write(w, payload_text, sizeof payload_text, out, MSG_CAP, &len), FAR_OK);
        assert_int_equal(len, t->len[i]);
        assert_memory_equal(out, t->msg[i], len);
        assert_int_equal(far__noise_hs_read(r, out, len, back, sizeof back, &plen), FAR_OK);
    }
}

/* Feeds the bad message bad[0..n) (message m of a replayed handshake) to its
 * reader.  It must be refused: by that read (FAR_EPROTO or FAR_EAUTH, the
 * reader FAILED after), or, when nothing in it was authenticated yet (an
 * ephemeral key and payload in the clear), by the writer when it reads the
 * answer, whose keys no longer match (FAR_EAUTH).  True if refused at once. */
static bool refused(const char *protocol, const keys *k, const transcript *t, unsigned m,
                    const uint8_t *bad, size_t n, const char *what, size_t where)
{
    far__noise_hs *ini, *res;
    replay_to(protocol, k, t, m, &ini, &res);
    far__noise_hs *r = m % 2 == 0 ? res : ini, *w = m % 2 == 0 ? ini : res;
    uint8_t back[MSG_CAP], out[MSG_CAP];
    size_t plen, len;
    bool at_once;
    /* the writer sends message m (the good bytes, fixed keys), the reader
     * gets the bad ones */
    assert_int_equal(far__noise_hs_write(w, payload_text, sizeof payload_text, out, MSG_CAP, &len),
                     FAR_OK);
    assert_int_equal(len, t->len[m]);
    assert_memory_equal(out, t->msg[m], len);
    far_err e = far__noise_hs_read(r, bad, n, back, sizeof back, &plen);
    if (e != FAR_OK) {
        if (e != FAR_EPROTO && e != FAR_EAUTH)
            fail_msg("%s: message %u %s %zu: %s", protocol, m, what, where, far_errname(e));
        assert_int_equal(far__noise_hs_action(r), FAR__NOISE_FAILED);
        /* and it stays failed: even the good message is refused now */
        assert_int_equal(far__noise_hs_read(r, t->msg[m], t->len[m], back, sizeof back, &plen),
                         FAR_EMISUSE);
        at_once = true;
    } else {
        if (far__noise_hs_action(r) != FAR__NOISE_WRITE)
            fail_msg("%s: message %u %s %zu was accepted as the last one", protocol, m, what,
                     where);
        e = far__noise_hs_write(r, payload_text, sizeof payload_text, out, MSG_CAP, &len);
        if (e == FAR_OK) {
            e = far__noise_hs_read(w, out, len, back, sizeof back, &plen);
            if (e != FAR_EAUTH)
                fail_msg("%s: message %u %s %zu: the answer was read with %s", protocol, m, what,
                         where, far_errname(e));
            assert_int_equal(far__noise_hs_action(w), FAR__NOISE_FAILED);
        } else if (e != FAR_EAUTH) { /* EAUTH: a flipped ephemeral gave an all-zero DH */
            fail_msg("%s: message %u %s %zu: the answer gave %s", protocol, m, what, where,
                     far_errname(e));
        }
        at_once = false;
    }
    far__noise_hs_free(ini);
    far__noise_hs_free(res);
    return at_once;
}

/* A handshake message cut at every length is refused (see refused()); the
 * reader never reads past the bytes given (guard page). */
static void test_truncated(void **state)
{
    (void)state;
    keys k;
    make_keys(&k, 1);
    guard_buf g;
    assert_int_equal(guard_init(&g, MSG_CAP), 0);
    unsigned tried = 0, at_once = 0;
    for (size_t p = 0; p < sizeof hostile_protocols / sizeof hostile_protocols[0]; p++) {
        const char *protocol = hostile_protocols[p];
        if (!protocol_usable(protocol))
            continue;
        transcript t;
        full_handshake(protocol, &k, true, &t);
        for (unsigned m = 0; m < t.n; m++) {
            for (size_t cut = 0; cut < t.len[m]; cut++) {
                const uint8_t *in = guard_place(&g, t.msg[m], cut);
                assert_non_null(in);
                at_once += refused(protocol, &k, &t, m, in, cut, "cut to", cut);
                tried++;
            }
        }
    }
    guard_fini(&g);
    printf("cut: %u messages refused, %u by their read, the rest by the answer's\n", tried,
           at_once);
    assert_true(tried > 500);
    assert_true(at_once > tried / 2);
}

/* A flipped byte anywhere in any handshake message is refused (see
 * refused()). */
static void test_flipped(void **state)
{
    (void)state;
    keys k;
    make_keys(&k, 2);
    guard_buf g;
    assert_int_equal(guard_init(&g, MSG_CAP), 0);
    unsigned tried = 0, at_once = 0;
    for (size_t p = 0; p < sizeof hostile_protocols / sizeof hostile_protocols[0]; p++) {
        const char *protocol = hostile_protocols[p];
        if (!protocol_usable(protocol))
            continue;
        transcript t;
        full_handshake(protocol, &k, true, &t);
        for (unsigned m = 0; m < t.n; m++) {
            for (size_t pos = 0; pos < t.len[m]; pos++) {
                uint8_t bad[MSG_CAP];
                memcpy(bad, t.msg[m], t.len[m]);
                bad[pos] ^= 0x01;
                const uint8_t *in = guard_place(&g, bad, t.len[m]);
                assert_non_null(in);
                at_once += refused(protocol, &k, &t, m, in, t.len[m], "flipped at", pos);
                tried++;
            }
        }
    }
    guard_fini(&g);
    printf("flipped: %u messages refused, %u by their read, the rest by the answer's\n", tried,
           at_once);
    assert_true(tried > 500);
    assert_true(at_once > tried / 2);
}

static void test_transport(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++) {
        far__noise_cs cs = {.cipher = c ? FAR__NOISE_AESGCM : FAR__NOISE_CHACHAPOLY};
        if (c && !far__noise_aesgcm_available())
            continue;
        for (int i = 0; i < 32; i++)
            cs.k[i] = (uint8_t)(0x40 + i);
        static const uint8_t ad[] = "ad", pt[] = "transport plaintext";
        uint8_t ct[sizeof pt + 16], out[sizeof pt + 16];
        size_t n = sizeof pt, cn = n + 16;
        assert_int_equal(far__noise_seal(&cs, 7, ad, sizeof ad, pt, n, ct), FAR_OK);
        assert_int_equal(far__noise_open(&cs, 7, ad, sizeof ad, ct, cn, out), FAR_OK);
        assert_memory_equal(out, pt, n);
        /* wrong nonce, wrong AD, no AD, a flipped byte anywhere (tag included) */
        assert_int_equal(far__noise_open(&cs, 8, ad, sizeof ad, ct, cn, out), FAR_EAUTH);
        assert_int_equal(far__noise_open(&cs, 7 + (1ull << 32), ad, sizeof ad, ct, cn, out),
                         FAR_EAUTH);
        assert_int_equal(far__noise_open(&cs, 7, (const uint8_t *)"ae", 3, ct, cn, out), FAR_EAUTH);
        assert_int_equal(far__noise_open(&cs, 7, NULL, 0, ct, cn, out), FAR_EAUTH);
        for (size_t i = 0; i < cn; i++) {
            ct[i] ^= 0x80;
            assert_int_equal(far__noise_open(&cs, 7, ad, sizeof ad, ct, cn, out), FAR_EAUTH);
            ct[i] ^= 0x80;
        }
        /* a cut message */
        assert_int_equal(far__noise_open(&cs, 7, ad, sizeof ad, ct, cn - 1, out), FAR_EAUTH);
        assert_int_equal(far__noise_open(&cs, 7, ad, sizeof ad, ct, 15, out), FAR_EPROTO);
        assert_int_equal(far__noise_open(&cs, 7, ad, sizeof ad, ct, 0, out), FAR_EPROTO);
        /* the reserved nonce, both ways */
        assert_int_equal(far__noise_seal(&cs, UINT64_MAX, ad, sizeof ad, pt, n, out), FAR_ELIMIT);
        assert_int_equal(far__noise_open(&cs, UINT64_MAX, ad, sizeof ad, ct, cn, out), FAR_ELIMIT);
        assert_int_equal(far__noise_seal(&cs, UINT64_MAX - 1, ad, sizeof ad, pt, n, out), FAR_OK);
        /* the Noise §3 limit */
        static uint8_t big[FAR__NOISE_MAX_MSG + 1];
        assert_int_equal(far__noise_seal(&cs, 1, NULL, 0, big, FAR__NOISE_MAX_MSG - 16, big),
                         FAR_OK);
        assert_int_equal(far__noise_seal(&cs, 1, NULL, 0, big, FAR__NOISE_MAX_MSG - 15, big),
                         FAR_ELIMIT);
        assert_int_equal(far__noise_open(&cs, 1, NULL, 0, big, FAR__NOISE_MAX_MSG + 1, big),
                         FAR_ELIMIT);
        /* in place equals out of place */
        uint8_t inplace[sizeof pt + 16];
        memcpy(inplace, pt, n);
        assert_int_equal(far__noise_seal(&cs, 7, ad, sizeof ad, inplace, n, inplace), FAR_OK);
        assert_memory_equal(inplace, ct, cn);
        assert_int_equal(far__noise_open(&cs, 7, ad, sizeof ad, inplace, cn, inplace), FAR_OK);
        assert_memory_equal(inplace, pt, n);
        /* an empty plaintext is a bare tag */
        uint8_t tag[16];
        assert_int_equal(far__noise_seal(&cs, 3, NULL, 0, NULL, 0, tag), FAR_OK);
        assert_int_equal(far__noise_open(&cs, 3, NULL, 0, tag, 16, NULL), FAR_OK);
        tag[0] ^= 1;
        assert_int_equal(far__noise_open(&cs, 3, NULL, 0, tag, 16, NULL), FAR_EAUTH);
        /* a bad cipher value is misuse */
        far__noise_cs bad = cs;
        bad.cipher = (far__noise_cipher)9;
        assert_int_equal(far__noise_seal(&bad, 1, NULL, 0, pt, n, out), FAR_EMISUSE);
    }
}

/* A prepared AES-GCM key (far__noise_cs_prepare: GnuTLS's precomputed
 * state, kept per key) seals the very bytes an unprepared one and libsodium
 * called directly do, opens them, survives Rekey, and is wiped.  Run with
 * $FARCALL_AEAD=libsodium too (ctest test_noise_libsodium). */
static void test_prepared(void **state)
{
    (void)state;
    if (!far__noise_aesgcm_available())
        skip();
    printf("AES-256-GCM on %s\n", far__noise_aesgcm_impl());
    far__noise_cs a = {.cipher = FAR__NOISE_AESGCM}, b = {.cipher = FAR__NOISE_AESGCM};
    for (int i = 0; i < 32; i++)
        a.k[i] = b.k[i] = (uint8_t)(0x11 * i + 3);
    far__noise_cs_prepare(&b);
    far__noise_cs_prepare(&b); /* twice is once */
    far__noise_cs_prepare(NULL);
    static uint8_t pt[65519], x[65535], y[65535], z[65535];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * 7 + (i >> 8));
    static const size_t sizes[] = {0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 4097, 65503, 65519};
    uint8_t npub[12] = {0};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        uint64_t nonce = (uint64_t)si << 20 | (si + 1);
        for (int j = 0; j < 8; j++)
            npub[4 + j] = (uint8_t)(nonce >> (56 - 8 * j)); /* §12.4: big-endian */
        unsigned long long clen;
        crypto_aead_aes256gcm_encrypt(z, &clen, pt, n, pt + 1, si, NULL, npub, a.k);
        assert_int_equal(far__noise_seal(&a, nonce, pt + 1, si, pt, n, x), FAR_OK);
        memcpy(y, pt, n); /* in place, as the security levels seal */
        assert_int_equal(far__noise_seal(&b, nonce, pt + 1, si, y, n, y), FAR_OK);
        assert_memory_equal(x, z, n + 16);
        assert_memory_equal(y, z, n + 16);
        assert_int_equal(far__noise_open(&b, nonce, pt + 1, si, y, n + 16, y), FAR_OK);
        assert_memory_equal(y, pt, n);
        x[n / 2] ^= 4;
        assert_int_equal(far__noise_open(&b, nonce, pt + 1, si, x, n + 16, y), FAR_EAUTH);
    }
    assert_int_equal(far__noise_rekey(&a), FAR_OK);
    assert_int_equal(far__noise_rekey(&b), FAR_OK);
    assert_memory_equal(a.k, b.k, 32);
    assert_int_equal(far__noise_seal(&a, 9, NULL, 0, pt, 100, x), FAR_OK);
    assert_int_equal(far__noise_seal(&b, 9, NULL, 0, pt, 100, y), FAR_OK);
    assert_memory_equal(x, y, 116);
    far__noise_cs_wipe(&b);
    assert_null(b.prep);
    static const uint8_t zero[32];
    assert_memory_equal(b.k, zero, 32);
    far__noise_cs_wipe(&a);
}

/* The nonce encodings (Noise §12.3 little-endian, §12.4 big-endian) and
 * REKEY (§4.2), against libsodium called directly with the bytes the spec
 * describes (the vectors only use nonces 0..3, whose encodings barely
 * differ). */
static void test_nonce_and_rekey(void **state)
{
    (void)state;
    const uint64_t nonce = 0x0102030405060708ull;
    uint8_t key[32], pt[20], a[36], b[36];
    unsigned long long clen;
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 3);
    memset(pt, 0x5a, sizeof pt);
    far__noise_cs cs = {.cipher = FAR__NOISE_CHACHAPOLY};
    memcpy(cs.k, key, 32);
    const uint8_t le[12] = {0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
    const uint8_t be[12] = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(far__noise_seal(&cs, nonce, NULL, 0, pt, sizeof pt, a), FAR_OK);
    crypto_aead_chacha20poly1305_ietf_encrypt(b, &clen, pt, sizeof pt, NULL, 0, NULL, le, key);
    assert_memory_equal(a, b, sizeof a);
    if (far__noise_aesgcm_available()) {
        cs.cipher = FAR__NOISE_AESGCM;
        assert_int_equal(far__noise_seal(&cs, nonce, NULL, 0, pt, sizeof pt, a), FAR_OK);
        crypto_aead_aes256gcm_encrypt(b, &clen, pt, sizeof pt, NULL, 0, NULL, be, key);
        assert_memory_equal(a, b, sizeof a);
    }
    /* rekey: the first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros[32]) */
    for (int c = 0; c < 2; c++) {
        if (c && !far__noise_aesgcm_available())
            continue;
        far__noise_cs r = {.cipher = c ? FAR__NOISE_AESGCM : FAR__NOISE_CHACHAPOLY};
        memcpy(r.k, key, 32);
        uint8_t zeros[32] = {0}, want[48];
        const uint8_t max[12] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        if (c)
            crypto_aead_aes256gcm_encrypt(want, &clen, zeros, 32, NULL, 0, NULL, max, key);
        else
            crypto_aead_chacha20poly1305_ietf_encrypt(want, &clen, zeros, 32, NULL, 0, NULL, max,
                                                      key);
        assert_int_equal(far__noise_rekey(&r), FAR_OK);
        assert_memory_equal(r.k, want, 32);
        far__noise_cs_wipe(&r);
        uint8_t z[sizeof r] = {0};
        assert_memory_equal(&r, z, sizeof r);
    }
}

/* start() refuses when a key the pattern needs is missing. */
static void test_missing_keys(void **state)
{
    (void)state;
    keys k;
    make_keys(&k, 3);
    far__noise_hs *hs = NULL;
    static const struct {
        const char *protocol;
        bool initiator;
        char skip;
    } cases[] = {
        {"Noise_KK_25519_ChaChaPoly_SHA256", true, 's'},
        {"Noise_KK_25519_ChaChaPoly_SHA256", true, 'r'},
        {"Noise_KK_25519_ChaChaPoly_SHA256", false, 's'},
        {"Noise_KK_25519_ChaChaPoly_SHA256", false, 'r'},
        {"Noise_NK_25519_ChaChaPoly_SHA256", true, 'r'},
        {"Noise_NK_25519_ChaChaPoly_SHA256", false, 's'},
        {"Noise_XX_25519_ChaChaPoly_SHA256", true, 's'},
        {"Noise_XX_25519_ChaChaPoly_SHA256", false, 's'},
        {"Noise_NNpsk0_25519_ChaChaPoly_SHA256", true, 'p'},
        {"Noise_NNpsk0_25519_ChaChaPoly_SHA256", false, 'p'},
        {"Noise_XXpsk3_25519_ChaChaPoly_SHA256", false, 'p'},
        {"Noise_KKpsk0_25519_ChaChaPoly_SHA256", true, 'p'},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        far_err e = side(&hs, cases[i].protocol, cases[i].initiator, &k, false, cases[i].skip);
        if (e != FAR_EMISUSE)
            fail_msg("%s %s without '%c': start gave %s", cases[i].protocol,
                     cases[i].initiator ? "initiator" : "responder", cases[i].skip, far_errname(e));
        /* and with it, it starts */
        assert_int_equal(side(&hs, cases[i].protocol, cases[i].initiator, &k, false, 0), FAR_OK);
        far__noise_hs_free(hs);
    }
    /* one psk of two missing */
    assert_int_equal(far__noise_hs_new(&hs, "Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256", true),
                     FAR_OK);
    assert_int_equal(far__noise_hs_set_psk(hs, 0, k.psk[0]), FAR_OK);
    assert_int_equal(far__noise_hs_set_psk(hs, 1, k.psk[1]), FAR_EMISUSE); /* no psk1 */
    assert_int_equal(far__noise_hs_start(hs), FAR_EMISUSE);
    assert_int_equal(far__noise_hs_action(hs), FAR__NOISE_FAILED); /* not started */
    assert_int_equal(far__noise_hs_set_psk(hs, 2, k.psk[2]), FAR_OK);
    assert_int_equal(far__noise_hs_start(hs), FAR_OK);
    assert_int_equal(far__noise_hs_action(hs), FAR__NOISE_WRITE);
    /* setters after start, start twice */
    assert_int_equal(far__noise_hs_set_psk(hs, 2, k.psk[2]), FAR_EMISUSE);
    assert_int_equal(far__noise_hs_set_prologue(hs, NULL, 0), FAR_EMISUSE);
    assert_int_equal(far__noise_hs_start(hs), FAR_EMISUSE);
    far__noise_hs_free(hs);
    /* keys the pattern has no place for */
    assert_int_equal(far__noise_hs_new(&hs, "Noise_NN_25519_ChaChaPoly_SHA256", true), FAR_OK);
    assert_int_equal(far__noise_hs_set_static(hs, k.si), FAR_EMISUSE);
    assert_int_equal(far__noise_hs_set_remote_static(hs, k.sr_pub), FAR_EMISUSE);
    assert_int_equal(far__noise_hs_set_psk(hs, 0, k.psk[0]), FAR_EMISUSE);
    far__noise_hs_free(hs);
    assert_int_equal(far__noise_hs_new(&hs, "Noise_XX_25519_ChaChaPoly_SHA256", true), FAR_OK);
    assert_int_equal(far__noise_hs_set_remote_static(hs, k.sr_pub), FAR_EMISUSE); /* sent */
    far__noise_hs_free(hs);
    far__noise_hs_free(NULL);
}

static void test_unsupported_names(void **state)
{
    (void)state;
    static const char *const names[] = {
        "",
        "Noise",
        "Noise_NN",
        "Noise_NN_25519_ChaChaPoly",
        "Noise_QQ_25519_ChaChaPoly_SHA256",
        "Noise_nn_25519_ChaChaPoly_SHA256",
        "Noise_NN_448_ChaChaPoly_SHA256",
        "Noise_NN_25519_ChaChaPoly_BLAKE2s",
        "Noise_NN_25519_ChaChaPoly_BLAKE2b",
        "Noise_NN_25519_AES_SHA256",
        "Noise_NN_25519_ChaChaPoly_SHA256_",
        "Noise_NN_25519_ChaChaPoly_SHA256_x",
        "Noise_NN_25519_ChaChaPoly_SHA2566",
        "noise_NN_25519_ChaChaPoly_SHA256",
        "NoiseX_NN_25519_ChaChaPoly_SHA256",
        "Noise_NNpsk_25519_ChaChaPoly_SHA256",
        "Noise_NNpsk3_25519_ChaChaPoly_SHA256", /* NN has two messages */
        "Noise_NNpsk10_25519_ChaChaPoly_SHA256",
        "Noise_NNpsk0+psk0_25519_ChaChaPoly_SHA256",
        "Noise_NNpsk0+_25519_ChaChaPoly_SHA256",
        "Noise_NNpsk0psk2_25519_ChaChaPoly_SHA256",
        "Noise_XXfallback_25519_ChaChaPoly_SHA256",
        "Noise_NNhfs_25519+Kyber1024_ChaChaPoly_SHA256",
        "Noise_NN+psk0_25519_ChaChaPoly_SHA256",
        "Noise__25519_ChaChaPoly_SHA256",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        far__noise_hs *hs = (far__noise_hs *)&hs;
        far_err e = far__noise_hs_new(&hs, names[i], true);
        if (e != FAR_EUNSUPPORTED)
            fail_msg("\"%s\": %s, not FAR_EUNSUPPORTED", names[i], far_errname(e));
        assert_null(hs);
    }
    /* a name longer than any real one */
    char longname[400];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    far__noise_hs *hs;
    assert_int_equal(far__noise_hs_new(&hs, longname, true), FAR_EUNSUPPORTED);
    assert_int_equal(far__noise_hs_new(NULL, "Noise_NN_25519_ChaChaPoly_SHA256", true),
                     FAR_EMISUSE);
    assert_int_equal(far__noise_hs_new(&hs, NULL, true), FAR_EMISUSE);
}

/* Turn order, buffer sizes, the length limits. */
static void test_misuse_and_limits(void **state)
{
    (void)state;
    keys k;
    make_keys(&k, 4);
    const char *protocol = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";
    far__noise_hs *ini, *res;
    assert_int_equal(side(&ini, protocol, true, &k, true, 0), FAR_OK);
    assert_int_equal(side(&res, protocol, false, &k, true, 0), FAR_OK);
    uint8_t out[MSG_CAP], back[MSG_CAP];
    size_t len = 0, plen;
    assert_int_equal(far__noise_hs_read(ini, out, 48, back, sizeof back, &plen), FAR_EMISUSE);
    assert_int_equal(far__noise_hs_write(res, NULL, 0, out, sizeof out, &len), FAR_EMISUSE);
    far__noise_cs tx, rx;
    assert_int_equal(far__noise_hs_split(ini, &tx, &rx, NULL, NULL), FAR_EMISUSE);
    /* psk0: e (32) + an encrypted empty payload (16) */
    assert_int_equal(far__noise_hs_write(ini, NULL, 0, out, 47, &len), FAR_ENOSPACE);
    assert_int_equal(far__noise_hs_action(ini), FAR__NOISE_WRITE); /* unchanged */
    assert_int_equal(far__noise_hs_write(ini, payload_text, 10, out, sizeof out, &len), FAR_OK);
    assert_int_equal(len, 32 + 10 + 16);
    assert_int_equal(far__noise_hs_read(res, out, len, back, 9, &plen), FAR_ENOSPACE);
    assert_int_equal(far__noise_hs_action(res), FAR__NOISE_READ); /* unchanged */
    assert_int_equal(far__noise_hs_read(res, out, len, back, 10, &plen), FAR_OK);
    /* a payload that would make the message longer than 65535 */
    static uint8_t big[FAR__NOISE_MAX_MSG + 64];
    assert_int_equal(
        far__noise_hs_write(res, big, FAR__NOISE_MAX_MSG - 32 - 16 + 1, big, sizeof big, &len),
        FAR_ELIMIT);
    assert_int_equal(far__noise_hs_write(res, big, FAR__NOISE_MAX_MSG - 32 - 16, out + 0, 0, &len),
                     FAR_ENOSPACE);
    static uint8_t msg2[FAR__NOISE_MAX_MSG];
    assert_int_equal(
        far__noise_hs_write(res, big, FAR__NOISE_MAX_MSG - 32 - 16, msg2, sizeof msg2, &len),
        FAR_OK);
    assert_int_equal(len, FAR__NOISE_MAX_MSG);
    assert_int_equal(far__noise_hs_read(ini, msg2, len, big, sizeof big, &plen), FAR_OK);
    assert_int_equal(plen, FAR__NOISE_MAX_MSG - 48);
    assert_int_equal(far__noise_hs_action(ini), FAR__NOISE_SPLIT);
    far__noise_hs_free(ini);
    far__noise_hs_free(res);
    /* a message longer than 65535 is refused before anything else */
    assert_int_equal(side(&res, protocol, false, &k, true, 0), FAR_OK);
    assert_int_equal(far__noise_hs_read(res, big, FAR__NOISE_MAX_MSG + 1, back, sizeof back, &plen),
                     FAR_ELIMIT);
    assert_int_equal(far__noise_hs_action(res), FAR__NOISE_FAILED);
    far__noise_hs_free(res);
}

/* An ephemeral key that makes X25519 all zeros (the identity) is refused:
 * on the read that does the DH, and on the write. */
static void test_zero_dh(void **state)
{
    (void)state;
    keys k;
    make_keys(&k, 5);
    const char *protocol = "Noise_NN_25519_ChaChaPoly_SHA256";
    far__noise_hs *ini, *res;
    uint8_t out[MSG_CAP], back[MSG_CAP];
    size_t len, plen;
    /* the responder gets e = 0: its answer (e, ee) cannot be made */
    assert_int_equal(side(&res, protocol, false, &k, true, 0), FAR_OK);
    memset(out, 0, 32);
    assert_int_equal(far__noise_hs_read(res, out, 32, back, sizeof back, &plen), FAR_OK);
    assert_int_equal(far__noise_hs_write(res, NULL, 0, out, sizeof out, &len), FAR_EAUTH);
    assert_int_equal(far__noise_hs_action(res), FAR__NOISE_FAILED);
    far__noise_hs_free(res);
    /* the initiator gets e = 0 in the answer */
    assert_int_equal(side(&ini, protocol, true, &k, true, 0), FAR_OK);
    assert_int_equal(far__noise_hs_write(ini, NULL, 0, out, sizeof out, &len), FAR_OK);
    memset(out, 0, 48);
    assert_int_equal(far__noise_hs_read(ini, out, 48, back, sizeof back, &plen), FAR_EAUTH);
    assert_int_equal(far__noise_hs_action(ini), FAR__NOISE_FAILED);
    far__noise_hs_free(ini);
}

/* The PSK callback: XXpsk3's responder learns the initiator's static key in
 * the message that mixes the PSK, and looks the PSK up by it. */
typedef struct psk_lookup {
    const keys *k;
    unsigned calls;
    bool saw_rs;
    far_err answer; /* FAR_OK: the right PSK; FAR_ETRUNC: a wrong one */
} psk_lookup;

static far_err lookup_psk(void *user, unsigned index, const uint8_t *rs, uint8_t psk[32])
{
    psk_lookup *l = user;
    l->calls++;
    l->saw_rs = rs != NULL;
    if (rs && memcmp(rs, l->k->si_pub, 32) != 0)
        return FAR_EAUTH; /* not the client we know */
    if (l->answer == FAR_ETRUNC) {
        memcpy(psk, l->k->psk[index], 32);
        psk[5] ^= 1;
        return FAR_OK;
    }
    if (l->answer != FAR_OK)
        return l->answer;
    memcpy(psk, l->k->psk[index], 32);
    return FAR_OK;
}

static void test_psk_callback(void **state)
{
    (void)state;
    keys k;
    make_keys(&k, 7);
    static const struct {
        const char *protocol;
        bool rs_known; /* the responder knows the initiator's key when the psk is mixed */
        unsigned msg;  /* the message the responder reads with the psk */
    } cases[] = {
        {"Noise_XXpsk3_25519_ChaChaPoly_SHA256", true, 2},
        {"Noise_NNpsk0_25519_ChaChaPoly_SHA256", false, 0},
        {"Noise_KKpsk0_25519_ChaChaPoly_SHA256", true, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        static const far_err answers[] = {FAR_OK, FAR_EAUTH, FAR_ETRUNC};
        for (size_t a = 0; a < 3; a++) {
            psk_lookup l = {.k = &k, .answer = answers[a]};
            far__noise_hs *ini, *res;
            assert_int_equal(side(&ini, cases[c].protocol, true, &k, false, 0), FAR_OK);
            assert_int_equal(far__noise_hs_new(&res, cases[c].protocol, false), FAR_OK);
            bool s, rs;
            far__noise_hs_needs(res, &s, &rs, NULL);
            if (s)
                assert_int_equal(far__noise_hs_set_static(res, k.sr), FAR_OK);
            if (rs)
                assert_int_equal(far__noise_hs_set_remote_static(res, k.si_pub), FAR_OK);
            static const uint8_t prologue[] = "farcall test prologue";
            assert_int_equal(far__noise_hs_set_prologue(res, prologue, sizeof prologue), FAR_OK);
            assert_int_equal(far__noise_hs_start(res), FAR_EMISUSE); /* no psk, no callback */
            assert_int_equal(far__noise_hs_set_psk_callback(res, lookup_psk, &l), FAR_OK);
            assert_int_equal(far__noise_hs_start(res), FAR_OK);
            far_err last = FAR_OK;
            unsigned m = 0;
            for (; far__noise_hs_action(ini) != FAR__NOISE_SPLIT; m++) {
                bool from_i = m % 2 == 0;
                far__noise_hs *w = from_i ? ini : res, *r = from_i ? res : ini;
                uint8_t out[MSG_CAP], back[MSG_CAP];
                size_t len, plen;
                assert_int_equal(far__noise_hs_write(w, NULL, 0, out, sizeof out, &len), FAR_OK);
                last = far__noise_hs_read(r, out, len, back, sizeof back, &plen);
                if (last != FAR_OK)
                    break;
            }
            assert_int_equal(l.calls, 1);
            assert_int_equal(l.saw_rs, cases[c].rs_known);
            if (answers[a] == FAR_OK) {
                assert_int_equal(last, FAR_OK);
                assert_int_equal(far__noise_hs_action(res), FAR__NOISE_SPLIT);
            } else {
                /* refused (the callback's FAR_EAUTH) or a wrong PSK (decryption) */
                assert_int_equal(last, FAR_EAUTH);
                assert_int_equal(m, cases[c].msg);
                assert_int_equal(far__noise_hs_action(res), FAR__NOISE_FAILED);
            }
            far__noise_hs_free(ini);
            far__noise_hs_free(res);
        }
    }
    /* no psk modifier: no callback */
    far__noise_hs *hs;
    assert_int_equal(far__noise_hs_new(&hs, "Noise_XX_25519_ChaChaPoly_SHA256", false), FAR_OK);
    psk_lookup l = {.k = &k};
    assert_int_equal(far__noise_hs_set_psk_callback(hs, lookup_psk, &l), FAR_EMISUSE);
    far__noise_hs_free(hs);
}

/* Every pattern of the table with fresh random ephemerals, with psk
 * modifiers, both ciphers and both hashes. */
static void test_all_patterns(void **state)
{
    (void)state;
    static const char *const bases[] = {
        "N",    "K",   "X",   "NN",   "NK",   "NX",  "KN",  "KK",   "KX",  "XN",
        "XK",   "XX",  "IN",  "IK",   "IX",   "NK1", "NX1", "X1N",  "X1K", "XK1",
        "X1K1", "X1X", "XX1", "X1X1", "K1N",  "K1K", "KK1", "K1K1", "K1X", "KX1",
        "K1X1", "I1N", "I1K", "IK1",  "I1K1", "I1X", "IX1", "I1X1",
    };
    static const char *const mods[] = {"", "psk0", "psk1", "psk2", "psk0+psk2", "psk1+psk3"};
    static const char *const suites[] = {"25519_ChaChaPoly_SHA256", "25519_AESGCM_SHA512",
                                         "25519_ChaChaPoly_SHA512", "25519_AESGCM_SHA256"};
    keys k;
    make_keys(&k, 6);
    unsigned ran = 0, refused = 0;
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        /* the unmodified pattern first: its number of messages bounds pskN */
        char name[128];
        transcript t;
        snprintf(name, sizeof name, "Noise_%s_25519_ChaChaPoly_SHA256", bases[b]);
        full_handshake(name, &k, false, &t);
        unsigned nmsgs = t.n;
        for (size_t m = 0; m < sizeof mods / sizeof mods[0]; m++) {
            const char *last = strrchr(mods[m], 'k');
            unsigned max_psk = last ? (unsigned)(last[1] - '0') : 0;
            for (size_t s = 0; s < sizeof suites / sizeof suites[0]; s++) {
                snprintf(name, sizeof name, "Noise_%s%s_%s", bases[b], mods[m], suites[s]);
                if (!protocol_usable(name))
                    continue;
                far__noise_hs *hs;
                far_err e = far__noise_hs_new(&hs, name, true);
                if (max_psk > nmsgs) {
                    if (e != FAR_EUNSUPPORTED)
                        fail_msg("%s (%u messages) accepted: %s", name, nmsgs, far_errname(e));
                    refused++;
                    continue;
                }
                if (e != FAR_OK)
                    fail_msg("%s: %s", name, far_errname(e));
                far__noise_hs_free(hs);
                full_handshake(name, &k, false, &t);
                assert_int_equal(t.n, nmsgs);
                ran++;
            }
        }
    }
    printf("all patterns: %u handshakes run, %u names refused (psk beyond the last message)\n", ran,
           refused);
    assert_true(ran > 700);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated),         cmocka_unit_test(test_flipped),
        cmocka_unit_test(test_transport),         cmocka_unit_test(test_prepared),
        cmocka_unit_test(test_nonce_and_rekey),   cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_unsupported_names), cmocka_unit_test(test_misuse_and_limits),
        cmocka_unit_test(test_zero_dh),           cmocka_unit_test(test_psk_callback),
        cmocka_unit_test(test_all_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
