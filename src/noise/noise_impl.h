/* The Noise core's private primitives (src/noise/crypto.c), shared with the
 * handshake state machine (src/noise/handshake.c).  Not for other layers:
 * they use noise/noise.h. */
#ifndef FARCALL_NOISE_IMPL_H
#define FARCALL_NOISE_IMPL_H

#include "noise/noise.h"

/* sodium_init() once per process; false if libsodium cannot start. */
bool far__noise_init(void);

/* HASHLEN of `hash` (32 or 64). */
size_t far__noise_hashlen(far__noise_hash hash);

/* HASH(a || b) into out[0..HASHLEN) (b may be NULL when bn is 0). */
void far__noise_hash2(far__noise_hash hash, const uint8_t *a, size_t an, const uint8_t *b,
                      size_t bn, uint8_t *out);

/* Noise §4.3 HKDF(chaining_key, input_key_material, num_outputs): out1,
 * out2 and (if num is 3) out3, each HASHLEN bytes; ck is HASHLEN bytes. */
void far__noise_hkdf(far__noise_hash hash, const uint8_t *ck, const uint8_t *ikm, size_t ikmlen,
                     unsigned num, uint8_t *out1, uint8_t *out2, uint8_t *out3);

/* ENCRYPT(k, n, ad, plaintext) (Noise §4.2, §12.3, §12.4): out gets n + 16
 * bytes.  No check of the nonce: the reserved 2^64-1 is legal here (rekey). */
void far__noise_encrypt(far__noise_cipher cipher, const uint8_t k[32], uint64_t nonce,
                        const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t n, uint8_t *out);

/* DECRYPT: n >= 16; out gets n - 16 bytes; false if the tag does not verify
 * (out is then zeroed). */
bool far__noise_decrypt(far__noise_cipher cipher, const uint8_t k[32], uint64_t nonce,
                        const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t n, uint8_t *out);

#endif
