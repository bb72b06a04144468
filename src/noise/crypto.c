/* The Noise core's crypto functions (Noise §4, §12): HASH, HMAC and HKDF for
 * SHA256 and SHA512 and ChaChaPoly on libsodium; AESGCM on GnuTLS where it
 * works (its AES-GCM runs at about twice libsodium's speed on this project's
 * machines: docs/security.md), else on libsodium; and the explicit-nonce
 * transport functions of noise/noise.h.  Both AES-GCMs are the one standard
 * (NIST SP 800-38D): the bytes on the wire do not depend on which runs. */
#include <stdatomic.h>
#include <stdlib.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
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

/* ------------------------------------------------------------ AES-GCM on GnuTLS */

/* Which AES-GCM runs: decided once per process (aesgcm_gnutls), GnuTLS
 * unless $FARCALL_AEAD is "libsodium" or GnuTLS fails a known answer (then
 * libsodium: a GnuTLS that cannot do AES-256-GCM, e.g. a FIPS build that
 * refuses it, is not an error).  0 not decided, 1 GnuTLS, 2 libsodium. */
static atomic_int aes_impl;

static int gt_init(gnutls_aead_cipher_hd_t *h, const uint8_t k[32])
{
    gnutls_datum_t key = {(unsigned char *)k, FAR__NOISE_KEYLEN};
    return gnutls_aead_cipher_init(h, GNUTLS_CIPHER_AES_256_GCM, &key);
}

/* out[0..n+16) = AES-256-GCM(h, npub, ad, pt[0..n)); out may equal pt. */
static bool gt_seal(gnutls_aead_cipher_hd_t h, const uint8_t npub[12], const uint8_t *ad,
                    size_t adlen, const uint8_t *pt, size_t n, uint8_t *out)
{
    size_t olen = n + FAR__NOISE_TAGLEN;
    return gnutls_aead_cipher_encrypt(h, npub, 12, adlen ? ad : NULL, adlen, FAR__NOISE_TAGLEN, pt,
                                      n, out, &olen) == 0 &&
           olen == n + FAR__NOISE_TAGLEN;
}

/* out[0..n-16) = the plaintext of ct[0..n) (n >= 16), or false; out may
 * equal ct. */
static bool gt_open(gnutls_aead_cipher_hd_t h, const uint8_t npub[12], const uint8_t *ad,
                    size_t adlen, const uint8_t *ct, size_t n, uint8_t *out)
{
    size_t olen = n - FAR__NOISE_TAGLEN;
    return gnutls_aead_cipher_decrypt(h, npub, 12, adlen ? ad : NULL, adlen, FAR__NOISE_TAGLEN, ct,
                                      n, out, &olen) == 0 &&
           olen == n - FAR__NOISE_TAGLEN;
}

/* GnuTLS's AES-GCM against libsodium's on one message (with AD, across
 * several blocks, sealed and opened in place), before it is trusted. */
static bool gt_known_answer(void)
{
    uint8_t k[32], npub[12], ad[13], pt[100], a[116], b[116];
    for (size_t i = 0; i < sizeof k; i++)
        k[i] = (uint8_t)(7 * i + 1);
    memset(npub, 0, sizeof npub);
    npub[11] = 5;
    for (size_t i = 0; i < sizeof ad; i++)
        ad[i] = (uint8_t)(3 * i);
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * i);
    unsigned long long clen;
    crypto_aead_aes256gcm_encrypt(a, &clen, pt, sizeof pt, ad, sizeof ad, NULL, npub, k);
    gnutls_aead_cipher_hd_t h;
    if (gt_init(&h, k) != 0)
        return false;
    memcpy(b, pt, sizeof pt);
    bool ok = gt_seal(h, npub, ad, sizeof ad, b, sizeof pt, b) && !memcmp(a, b, sizeof a) &&
              gt_open(h, npub, ad, sizeof ad, b, sizeof b, b) && !memcmp(b, pt, sizeof pt);
    memcpy(b, a, sizeof a);
    b[3] ^= 1; /* a changed byte must not open */
    ok = ok && !gt_open(h, npub, ad, sizeof ad, b, sizeof b, b);
    gnutls_aead_cipher_deinit(h);
    return ok;
}

/* True if AES-GCM runs on GnuTLS (only asked where AES-GCM is available). */
static bool aesgcm_gnutls(void)
{
    int v = atomic_load_explicit(&aes_impl, memory_order_acquire);
    if (v == 0) {
        /* two threads may both decide: they decide alike */
        const char *e = getenv("FARCALL_AEAD");
        v = (e && !strcmp(e, "libsodium")) || !gt_known_answer() ? 2 : 1;
        atomic_store_explicit(&aes_impl, v, memory_order_release);
    }
    return v == 1;
}

const char *far__noise_aesgcm_impl(void)
{
    if (!far__noise_aesgcm_available())
        return "none";
    return aesgcm_gnutls() ? "gnutls" : "libsodium";
}

/* A prepared key (far__noise_cs_prepare): GnuTLS handles with the key
 * schedule and GHASH table computed once.  A handle holds per-message state,
 * so each is used by one thread at a time: a seal takes one from a slot (or
 * makes one when every slot is empty), and puts it back (or frees it when
 * every slot is full).  No lock: one atomic exchange each way. */
#define POOL 8
struct far__noise_prep {
    _Atomic(gnutls_aead_cipher_hd_t) slot[POOL];
};

static gnutls_aead_cipher_hd_t prep_take(const far__noise_cs *cs)
{
    for (int i = 0; i < POOL; i++) {
        gnutls_aead_cipher_hd_t h =
            atomic_exchange_explicit(&cs->prep->slot[i], NULL, memory_order_acquire);
        if (h)
            return h;
    }
    gnutls_aead_cipher_hd_t h;
    return gt_init(&h, cs->k) == 0 ? h : NULL;
}

static void prep_give(const far__noise_cs *cs, gnutls_aead_cipher_hd_t h)
{
    for (int i = 0; i < POOL; i++) {
        gnutls_aead_cipher_hd_t empty = NULL;
        if (atomic_compare_exchange_strong_explicit(&cs->prep->slot[i], &empty, h,
                                                    memory_order_release, memory_order_relaxed))
            return;
    }
    gnutls_aead_cipher_deinit(h); /* (wipes its key schedule) */
}

static void prep_free(far__noise_cs *cs)
{
    if (!cs->prep)
        return;
    for (int i = 0; i < POOL; i++) {
        gnutls_aead_cipher_hd_t h = atomic_exchange(&cs->prep->slot[i], NULL);
        if (h)
            gnutls_aead_cipher_deinit(h);
    }
    free(cs->prep);
    cs->prep = NULL;
}

void far__noise_cs_prepare(far__noise_cs *cs)
{
    if (!cs || cs->prep || cs->cipher != FAR__NOISE_AESGCM || !far__noise_aesgcm_available() ||
        !aesgcm_gnutls())
        return;
    struct far__noise_prep *p = malloc(sizeof *p);
    if (!p)
        return; /* the key works unprepared */
    for (int i = 0; i < POOL; i++)
        atomic_init(&p->slot[i], NULL);
    cs->prep = p;
}

/* ------------------------------------------------------------ ENCRYPT, DECRYPT */

/* A handle for one message: one of cs's prepared ones, else a new one for
 * k; NULL when GnuTLS is not used or cannot make one (out of memory: then
 * libsodium seals, with the same bytes).  Back with aes_done. */
static gnutls_aead_cipher_hd_t aes_handle(const far__noise_cs *cs, const uint8_t k[32])
{
    if (!aesgcm_gnutls())
        return NULL;
    if (cs && cs->prep)
        return prep_take(cs);
    gnutls_aead_cipher_hd_t h;
    return gt_init(&h, k) == 0 ? h : NULL;
}

static void aes_done(const far__noise_cs *cs, gnutls_aead_cipher_hd_t h)
{
    if (cs && cs->prep)
        prep_give(cs, h);
    else
        gnutls_aead_cipher_deinit(h);
}

static void aes_seal(const far__noise_cs *cs, const uint8_t k[32], const uint8_t npub[12],
                     const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t n, uint8_t *out)
{
    gnutls_aead_cipher_hd_t h = aes_handle(cs, k);
    if (h) {
        bool ok = gt_seal(h, npub, ad, adlen, pt, n, out);
        aes_done(cs, h);
        if (ok)
            return;
        /* (GnuTLS refuses a length or nonce size before it writes: pt is
         * still the plaintext when it sealed in place) */
    }
    unsigned long long clen;
    crypto_aead_aes256gcm_encrypt(out, &clen, pt, n, ad, adlen, NULL, npub, k);
}

static bool aes_open(const far__noise_cs *cs, const uint8_t k[32], const uint8_t npub[12],
                     const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t n, uint8_t *out)
{
    gnutls_aead_cipher_hd_t h = aes_handle(cs, k);
    if (h) {
        bool ok = gt_open(h, npub, ad, adlen, ct, n, out);
        aes_done(cs, h);
        return ok;
    }
    unsigned long long mlen;
    return crypto_aead_aes256gcm_decrypt(out, &mlen, NULL, ct, n, ad, adlen, npub, k) == 0;
}

static void encrypt_cs(const far__noise_cs *cs, far__noise_cipher cipher, const uint8_t k[32],
                       uint64_t nonce, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t n,
                       uint8_t *out)
{
    uint8_t npub[12];
    nonce_bytes(cipher, nonce, npub);
    if (cipher == FAR__NOISE_AESGCM) {
        aes_seal(cs, k, npub, ad, adlen, pt, n, out);
    } else {
        unsigned long long clen;
        crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, n, ad, adlen, NULL, npub, k);
    }
}

static bool decrypt_cs(const far__noise_cs *cs, far__noise_cipher cipher, const uint8_t k[32],
                       uint64_t nonce, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t n,
                       uint8_t *out)
{
    uint8_t npub[12];
    unsigned long long mlen;
    bool ok;
    nonce_bytes(cipher, nonce, npub);
    if (cipher == FAR__NOISE_AESGCM)
        ok = aes_open(cs, k, npub, ad, adlen, ct, n, out);
    else
        ok = crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, n, ad, adlen, npub,
                                                       k) == 0;
    if (!ok)
        sodium_memzero(out, n - FAR__NOISE_TAGLEN);
    return ok;
}

void far__noise_encrypt(far__noise_cipher cipher, const uint8_t k[32], uint64_t nonce,
                        const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t n, uint8_t *out)
{
    encrypt_cs(NULL, cipher, k, nonce, ad, adlen, pt, n, out);
}

bool far__noise_decrypt(far__noise_cipher cipher, const uint8_t k[32], uint64_t nonce,
                        const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t n, uint8_t *out)
{
    return decrypt_cs(NULL, cipher, k, nonce, ad, adlen, ct, n, out);
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
    encrypt_cs(cs, cs->cipher, cs->k, nonce, ad, adlen, pt, n, out);
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
    if (!decrypt_cs(cs, cs->cipher, cs->k, nonce, ad, adlen, ct, n, out ? out : &dummy))
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
    prep_free(cs); /* its handles hold the old key; */
    memcpy(cs->k, out, FAR__NOISE_KEYLEN);
    far__noise_cs_prepare(cs); /* (prepared again for the new one) */
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
    if (!cs)
        return;
    prep_free(cs);
    sodium_memzero(cs, sizeof *cs);
}
