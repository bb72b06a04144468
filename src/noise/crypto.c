/* The Noise core's crypto functions on libsodium (Noise §4, §12): HASH, HMAC
 * and HKDF for SHA256 and SHA512, ENCRYPT/DECRYPT for ChaChaPoly and AESGCM,
 * and the explicit-nonce transport functions of noise/noise.h. */
#include <stdatomic.h>

#include <sodium.h>

#include "internal.h"
#include "noise/noise_impl.h"

static atomic_int sodium_state; /* 0 not yet, 1 ready, -1 failed */

bool far__noise_init(void)
{
    int st = atomic_load_explicit(&sodium_state, memory_order_acquire);
    if (st == 0) {
        /* sodium_init is itself thread-safe and idempotent; the flag only
         * saves its lock on every later call */
        st = sodium_init() < 0 ? -1 : 1;
        atomic_store_explicit(&sodium_state, st, memory_order_release);
    }
    return st == 1;
}

size_t far__noise_hashlen(far__noise_hash hash)
{
    return hash == FAR__NOISE_SHA512 ? 64 : 32;
}

void far__noise_hash2(far__noise_hash hash, const uint8_t *a, size_t an, const uint8_t *b,
                      size_t bn, uint8_t *out)
{
    if (hash == FAR__NOISE_SHA512) {
        crypto_hash_sha512_state st;
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, a, an);
        if (bn)
            crypto_hash_sha512_update(&st, b, bn);
        crypto_hash_sha512_final(&st, out);
        sodium_memzero(&st, sizeof st);
    } else {
        crypto_hash_sha256_state st;
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, a, an);
        if (bn)
            crypto_hash_sha256_update(&st, b, bn);
        crypto_hash_sha256_final(&st, out);
        sodium_memzero(&st, sizeof st);
    }
}

/* HMAC-HASH(key[0..HASHLEN), a || b) (Noise §4.3: the key is always HASHLEN
 * bytes here, libsodium takes any length). */
static void hmac(far__noise_hash hash, const uint8_t *key, const uint8_t *a, size_t an,
                 const uint8_t *b, size_t bn, uint8_t *out)
{
    if (hash == FAR__NOISE_SHA512) {
        crypto_auth_hmacsha512_state st;
        crypto_auth_hmacsha512_init(&st, key, 64);
        if (an)
            crypto_auth_hmacsha512_update(&st, a, an);
        if (bn)
            crypto_auth_hmacsha512_update(&st, b, bn);
        crypto_auth_hmacsha512_final(&st, out);
        sodium_memzero(&st, sizeof st);
    } else {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, key, 32);
        if (an)
            crypto_auth_hmacsha256_update(&st, a, an);
        if (bn)
            crypto_auth_hmacsha256_update(&st, b, bn);
        crypto_auth_hmacsha256_final(&st, out);
        sodium_memzero(&st, sizeof st);
    }
}

void far__noise_hkdf(far__noise_hash hash, const uint8_t *ck, const uint8_t *ikm, size_t ikmlen,
                     unsigned num, uint8_t *out1, uint8_t *out2, uint8_t *out3)
{
    size_t hl = far__noise_hashlen(hash);
    uint8_t temp_key[FAR__NOISE_MAX_HASHLEN];
    const uint8_t one = 1, two = 2, three = 3;

    /* temp_key first: out1 may be ck itself ("ck, temp_k = HKDF(ck, ...)") */
    hmac(hash, ck, ikm, ikmlen, NULL, 0, temp_key);
    hmac(hash, temp_key, &one, 1, NULL, 0, out1);
    hmac(hash, temp_key, out1, hl, &two, 1, out2);
    if (num == 3)
        hmac(hash, temp_key, out2, hl, &three, 1, out3);
    sodium_memzero(temp_key, sizeof temp_key);
}

/* Noise §12.3: 32 bits of zeros, then n little-endian; §12.4: 32 bits of
 * zeros, then n big-endian. */
static void nonce_bytes(far__noise_cipher cipher, uint64_t n, uint8_t out[12])
{
    memset(out, 0, 4);
    for (int i = 0; i < 8; i++) {
        uint8_t b = (uint8_t)(n >> (8 * i));
        if (cipher == FAR__NOISE_AESGCM)
            out[11 - i] = b;
        else
            out[4 + i] = b;
    }
}

void far__noise_encrypt(far__noise_cipher cipher, const uint8_t k[32], uint64_t nonce,
                        const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t n, uint8_t *out)
{
    uint8_t npub[12];
    unsigned long long clen;
    nonce_bytes(cipher, nonce, npub);
    if (cipher == FAR__NOISE_AESGCM)
        crypto_aead_aes256gcm_encrypt(out, &clen, pt, n, ad, adlen, NULL, npub, k);
    else
        crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, n, ad, adlen, NULL, npub, k);
}

bool far__noise_decrypt(far__noise_cipher cipher, const uint8_t k[32], uint64_t nonce,
                        const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t n, uint8_t *out)
{
    uint8_t npub[12];
    unsigned long long mlen;
    int rc;
    nonce_bytes(cipher, nonce, npub);
    if (cipher == FAR__NOISE_AESGCM)
        rc = crypto_aead_aes256gcm_decrypt(out, &mlen, NULL, ct, n, ad, adlen, npub, k);
    else
        rc = crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, n, ad, adlen, npub, k);
    if (rc != 0) {
        sodium_memzero(out, n - FAR__NOISE_TAGLEN);
        return false;
    }
    return true;
}

/* A transport key's cipher is one this process can run. */
static bool cipher_ok(far__noise_cipher c)
{
    if (c == FAR__NOISE_CHACHAPOLY)
        return far__noise_init();
    if (c == FAR__NOISE_AESGCM)
        return far__noise_aesgcm_available();
    return false;
}

far_err far__noise_seal(const far__noise_cs *cs, uint64_t nonce, const uint8_t *ad, size_t adlen,
                        const uint8_t *pt, size_t n, uint8_t *out)
{
    if (!cs || !out || (!pt && n) || (!ad && adlen) || !cipher_ok(cs->cipher))
        return FAR_EMISUSE;
    if (nonce == UINT64_MAX) /* Noise §5.1: reserved (rekey) */
        return FAR_ELIMIT;
    if (n > FAR__NOISE_MAX_MSG - FAR__NOISE_TAGLEN) /* Noise §3 */
        return FAR_ELIMIT;
    far__noise_encrypt(cs->cipher, cs->k, nonce, ad, adlen, pt, n, out);
    return FAR_OK;
}

far_err far__noise_open(const far__noise_cs *cs, uint64_t nonce, const uint8_t *ad, size_t adlen,
                        const uint8_t *ct, size_t n, uint8_t *out)
{
    if (!cs || !ct || (!out && n > FAR__NOISE_TAGLEN) || (!ad && adlen) || !cipher_ok(cs->cipher))
        return FAR_EMISUSE;
    if (nonce == UINT64_MAX)
        return FAR_ELIMIT;
    if (n > FAR__NOISE_MAX_MSG)
        return FAR_ELIMIT;
    if (n < FAR__NOISE_TAGLEN)
        return FAR_EPROTO;
    /* libsodium writes nothing for an empty plaintext, but wants a pointer */
    uint8_t dummy;
    if (!far__noise_decrypt(cs->cipher, cs->k, nonce, ad, adlen, ct, n, out ? out : &dummy))
        return FAR_EAUTH;
    return FAR_OK;
}

far_err far__noise_rekey(far__noise_cs *cs)
{
    if (!cs || !cipher_ok(cs->cipher))
        return FAR_EMISUSE;
    /* Noise §4.2 REKEY: ENCRYPT(k, maxnonce, zerolen, zeros), first 32 bytes */
    uint8_t zeros[FAR__NOISE_KEYLEN] = {0};
    uint8_t out[FAR__NOISE_KEYLEN + FAR__NOISE_TAGLEN];
    far__noise_encrypt(cs->cipher, cs->k, UINT64_MAX, NULL, 0, zeros, sizeof zeros, out);
    memcpy(cs->k, out, FAR__NOISE_KEYLEN);
    sodium_memzero(out, sizeof out);
    return FAR_OK;
}

void far__noise_keypair(uint8_t priv[32], uint8_t pub[32])
{
    /* randombytes and scalarmult also work before sodium_init (they start
     * their generator themselves); init only picks the fastest code */
    (void)far__noise_init();
    randombytes_buf(priv, 32);
    crypto_scalarmult_base(pub, priv);
}

void far__noise_public_key(const uint8_t priv[32], uint8_t pub[32])
{
    (void)far__noise_init();
    crypto_scalarmult_base(pub, priv);
}

bool far__noise_aesgcm_available(void)
{
    return far__noise_init() && crypto_aead_aes256gcm_is_available();
}

void far__noise_cs_wipe(far__noise_cs *cs)
{
    if (cs)
        sodium_memzero(cs, sizeof *cs);
}
