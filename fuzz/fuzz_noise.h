/* What fuzz_noise.c and its seed writer (seeds_noise.c) share: the fixed
 * keys, the protocols, and the input format.
 *
 * Input: byte 0 picks the target (mod 3), byte 1 the protocol (mod
 * NOISE_FUZZ_NPROTOCOLS), then frames of a 2-byte big-endian length and
 * that many bytes:
 *   0  the harness is the responder: the frames are the initiator's
 *      handshake messages, then transport messages from it (nonces 0, 1, ...)
 *   1  the harness is the initiator: the frames are the responder's
 *   2  far__noise_open on one key of the protocol's cipher: each frame is
 *      8 bytes of nonce (big-endian), 1 byte of AD length, the AD, the
 *      ciphertext
 * Keys (static, ephemeral, PSK) are fixed, so a recorded transcript stays
 * valid and the fuzzer can start past the first authenticated message. */
#ifndef FUZZ_NOISE_H
#define FUZZ_NOISE_H

#include <stdint.h>
#include <string.h>

#include "noise/noise.h"

static const char *const noise_fuzz_protocols[] = {
    "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
    "Noise_NNpsk0_25519_AESGCM_SHA256",
    "Noise_KKpsk0_25519_ChaChaPoly_SHA256",
    "Noise_XXpsk3_25519_ChaChaPoly_SHA256",
    "Noise_IK_25519_AESGCM_SHA512",
    "Noise_NX_25519_ChaChaPoly_SHA512",
    "Noise_XXpsk0+psk2_25519_ChaChaPoly_SHA256",
    "Noise_X1K1_25519_ChaChaPoly_SHA256",
};
#define NOISE_FUZZ_NPROTOCOLS (sizeof noise_fuzz_protocols / sizeof noise_fuzz_protocols[0])

static const uint8_t noise_fuzz_payload[] = "fuzz payload";

static void noise_fuzz_key(uint8_t k[32], uint8_t seed)
{
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* One side of protocol p with the fixed keys, started; NULL if it cannot
 * be (AESGCM on a CPU without it). */
static far__noise_hs *noise_fuzz_side(unsigned p, bool initiator)
{
    far__noise_hs *hs;
    if (far__noise_hs_new(&hs, noise_fuzz_protocols[p], initiator) != FAR_OK)
        return NULL;
    uint8_t k[32], pub[32];
    bool s, rs;
    unsigned psks;
    far__noise_hs_needs(hs, &s, &rs, &psks);
    noise_fuzz_key(k, initiator ? 1 : 2);
    if (s)
        (void)far__noise_hs_set_static(hs, k);
    if (rs) {
        noise_fuzz_key(k, initiator ? 2 : 1);
        far__noise_public_key(k, pub);
        (void)far__noise_hs_set_remote_static(hs, pub);
    }
    for (unsigned i = 0; i < 8; i++) {
        if (psks & (1u << i)) {
            noise_fuzz_key(k, (uint8_t)(10 + i));
            (void)far__noise_hs_set_psk(hs, i, k);
        }
    }
    noise_fuzz_key(k, initiator ? 3 : 4);
    (void)far__noise_hs_set_ephemeral(hs, k);
    static const uint8_t prologue[] = "fuzz";
    (void)far__noise_hs_set_prologue(hs, prologue, sizeof prologue);
    if (far__noise_hs_start(hs) != FAR_OK) {
        far__noise_hs_free(hs);
        return NULL;
    }
    return hs;
}

#endif
