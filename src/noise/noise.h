/* The Noise Protocol Framework core (noiseprotocol.org, revision 34): the
 * handshake state machine for the interactive fundamental patterns with psk
 * modifiers, and transport encryption with explicit nonces.  Internal to
 * libfarcall; the security levels of issue 11 are built on it.
 *
 * Supported: the patterns NN NK NX KN KK KX XN XK XX IN IK IX, each with any
 * combination of psk0..psk3 modifiers ("NNpsk0", "XXpsk3", "NNpsk0+psk2");
 * DH 25519; ciphers ChaChaPoly and AESGCM (the latter only where the CPU has
 * AES-NI and PCLMUL, see far__noise_aesgcm_available); hashes SHA256 and
 * SHA512.  BLAKE2s/BLAKE2b and 448 are not supported (FAR_EUNSUPPORTED).
 *
 * Use: far__noise_hs_new, the setters, far__noise_hs_start; then while
 * far__noise_hs_action says WRITE or READ, far__noise_hs_write/_read one
 * handshake message at a time; at SPLIT, far__noise_hs_split gives the two
 * transport keys; far__noise_hs_free.  A handshake object belongs to one
 * thread at a time.  The transport functions (far__noise_seal/_open) take a
 * const key and keep no state: any number of threads may use one key at once.
 *
 * Secrets (keys, chaining key, PSKs) are wiped when the handshake is freed,
 * and by far__noise_cs_wipe for a transport key.
 *
 * AESGCM runs on GnuTLS (or libsodium, see far__noise_aesgcm_impl), the
 * rest on libsodium.
 */
#ifndef FARCALL_NOISE_H
#define FARCALL_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "farcall/err.h"

#define FAR__NOISE_DHLEN       32    /* Curve25519 public key and shared secret */
#define FAR__NOISE_KEYLEN      32    /* cipher key */
#define FAR__NOISE_TAGLEN      16    /* AEAD tag */
#define FAR__NOISE_MAX_HASHLEN 64    /* SHA512 */
#define FAR__NOISE_MAX_MSG     65535 /* Noise §3: no message is longer */

typedef enum { FAR__NOISE_CHACHAPOLY = 1, FAR__NOISE_AESGCM = 2 } far__noise_cipher;
typedef enum { FAR__NOISE_SHA256 = 1, FAR__NOISE_SHA512 = 2 } far__noise_hash;

/* What the handshake expects next. */
typedef enum {
    FAR__NOISE_WRITE,  /* this side writes the next handshake message */
    FAR__NOISE_READ,   /* this side reads the next handshake message */
    FAR__NOISE_SPLIT,  /* the handshake is complete: call far__noise_hs_split */
    FAR__NOISE_FAILED, /* a message was refused (or a call failed): start over */
} far__noise_action;

typedef struct far__noise_hs far__noise_hs; /* opaque, heap-allocated */

/* One direction's transport key (Noise §5.1 CipherState without its nonce:
 * the nonce is given per message, see far__noise_seal).  `prep` is NULL (a
 * key set by hand, e.g. {.cipher = ...}, or given by far__noise_hs_split)
 * or the state far__noise_cs_prepare made, which far__noise_cs_wipe frees:
 * a prepared key must not be copied. */
typedef struct far__noise_cs {
    uint8_t k[FAR__NOISE_KEYLEN];
    far__noise_cipher cipher;
    struct far__noise_prep *prep;
} far__noise_cs;

/* A new handshake for the full protocol name `protocol`, e.g.
 * "Noise_NNpsk0_25519_ChaChaPoly_SHA256", as initiator or responder.  The
 * caller owns *out (far__noise_hs_free).  FAR_EUNSUPPORTED for a pattern,
 * DH, cipher or hash not supported (AESGCM when
 * crypto_aead_aes256gcm_is_available() is false), FAR_EMISUSE for NULL
 * arguments (farcall has no FAR_EINVAL: misuse is FAR_EMISUSE), FAR_ENOMEM,
 * FAR_EIO if libsodium cannot be initialised. */
far_err far__noise_hs_new(far__noise_hs **out, const char *protocol, bool initiator);

/* The prologue (Noise §6), mixed into h at start.  Before start; the bytes
 * are copied (at most FAR__NOISE_MAX_MSG: FAR_ELIMIT). */
far_err far__noise_hs_set_prologue(far__noise_hs *hs, const uint8_t *p, size_t n);

/* The 32-byte pre-shared key of the pattern's pskN modifier, N = index.
 * FAR_EMISUSE if the pattern has no pskN modifier or after start. */
far_err far__noise_hs_set_psk(far__noise_hs *hs, unsigned index /* the N of pskN */,
                              const uint8_t psk[32]);

/* Where the PSK depends on who the peer is and the peer says so only in
 * the handshake (XXpsk3: the initiator's static key arrives in the very
 * message that mixes the PSK), a callback gives it when the psk token is
 * reached: index is the N of pskN, rs the peer's static public key if
 * known by then (else NULL).  It returns FAR_OK with psk[0..32) filled, or
 * an error (FAR_EAUTH: an unknown peer) that fails the handshake and is
 * returned by far__noise_hs_read/_write.  Called on the thread that calls
 * those.  With a callback, start does not require the PSKs set; a PSK set
 * with far__noise_hs_set_psk is used without calling it.  Before start.
 * (An addition to the first API.) */
typedef far_err (*far__noise_psk_cb)(void *user, unsigned index, const uint8_t *rs,
                                     uint8_t psk[32]);
far_err far__noise_hs_set_psk_callback(far__noise_hs *hs, far__noise_psk_cb cb, void *user);

/* This side's static private key (s); the public key is derived.  Before
 * start; FAR_EMISUSE if this side has no static key in the pattern. */
far_err far__noise_hs_set_static(far__noise_hs *hs, const uint8_t priv[32]);

/* The peer's static public key (rs), for the patterns where it is known
 * before the handshake (NK KK XK IK as initiator, KN KK KX as responder).
 * Before start; FAR_EMISUSE for any other pattern and role. */
far_err far__noise_hs_set_remote_static(far__noise_hs *hs, const uint8_t pub[32]);

/* This side's ephemeral private key, instead of a fresh random one: for
 * known-answer tests only (reusing an ephemeral breaks Noise's security).
 * Before start. */
far_err far__noise_hs_set_ephemeral(far__noise_hs *hs, const uint8_t priv[32]);

/* Which keys the pattern needs from this side before start: *s its own
 * static key (far__noise_hs_set_static), *rs the peer's static public key
 * (far__noise_hs_set_remote_static), *psks bit N for pskN
 * (far__noise_hs_set_psk).  Any pointer may be NULL.  (An addition to the
 * first API: callers that handle many patterns need not guess.) */
void far__noise_hs_needs(const far__noise_hs *hs, bool *s, bool *rs, unsigned *psks);

/* Initialize() (Noise §5.3): mixes the protocol name, the prologue and the
 * pre-message keys.  After the setters; FAR_EMISUSE if a key the pattern
 * needs (s, rs, a psk) was not given, or if started already. */
far_err far__noise_hs_start(far__noise_hs *hs);

/* What to do next (FAR__NOISE_FAILED also before start). */
far__noise_action far__noise_hs_action(const far__noise_hs *hs);

/* WriteMessage (Noise §5.3): the next handshake message, carrying `payload`
 * (n bytes, may be NULL if n is 0), into out[0..cap); *len its length.
 * FAR_EMISUSE if it is not this side's turn; FAR_ENOSPACE if cap is too
 * small (the handshake state is unchanged); FAR_ELIMIT if the message would
 * exceed FAR__NOISE_MAX_MSG; FAR_EAUTH if a DH gives the all-zero result,
 * or the PSK callback's error (the handshake is then FAILED). */
far_err far__noise_hs_write(far__noise_hs *hs, const uint8_t *payload, size_t n, uint8_t *out,
                            size_t cap, size_t *len);

/* ReadMessage (Noise §5.3): the peer's handshake message msg[0..n), its
 * payload into payload[0..cap), *len its length.  FAR_EMISUSE if it is not
 * this side's turn; FAR_ELIMIT if n > FAR__NOISE_MAX_MSG; FAR_EPROTO if the
 * message is too short for the pattern; FAR_ENOSPACE if the payload does
 * not fit; FAR_EAUTH for a failed decryption or DH; the PSK callback's
 * error if it refused.  After any error but
 * FAR_EMISUSE and FAR_ENOSPACE (which change nothing) the handshake is
 * FAILED (Noise §5.3: a failed handshake is not resumed).  msg and payload
 * must not overlap (nor payload and out in far__noise_hs_write). */
far_err far__noise_hs_read(far__noise_hs *hs, const uint8_t *msg, size_t n, uint8_t *payload,
                           size_t cap, size_t *len);

/* Split (Noise §5.2): the two transport keys; tx is this side's sending
 * key, rx its receiving key.  hash (may be NULL, else FAR__NOISE_MAX_HASHLEN
 * bytes) receives the handshake hash, *hash_len its length (hash_len may be
 * NULL).  FAR_EMISUSE unless the action is SPLIT.  The handshake keeps its
 * hash and remote static key for the calls below; free it afterwards. */
far_err far__noise_hs_split(far__noise_hs *hs, far__noise_cs *tx, far__noise_cs *rx, uint8_t *hash,
                            size_t *hash_len);

/* The peer's static public key, if known (given or received): true and
 * pub, else false. */
bool far__noise_hs_remote_static(const far__noise_hs *hs, uint8_t pub[32]);

/* The handshake hash h so far (channel binding, Noise §11.2) into
 * h[0..FAR__NOISE_MAX_HASHLEN); returns its length (0 before start). */
size_t far__noise_hs_hash(const far__noise_hs *hs, uint8_t *h);

/* Wipes and frees; NULL does nothing. */
void far__noise_hs_free(far__noise_hs *hs);

/* Transport messages with EXPLICIT nonces (Noise §11.4 "out-of-order
 * transport messages"): the caller gives the 64-bit nonce (farcall uses the
 * call's sequence number), so UDP, pipelining and many threads are safe.
 * The caller must never use a nonce twice with one key.  2^64-1 is refused
 * (FAR_ELIMIT, Noise §5.1).  out may equal in (exact overlap only).
 *
 * seal: out receives n + FAR__NOISE_TAGLEN bytes; FAR_ELIMIT if n +
 * FAR__NOISE_TAGLEN > FAR__NOISE_MAX_MSG.
 * open: n >= FAR__NOISE_TAGLEN (else FAR_EPROTO), out receives n - 16
 * bytes; FAR_EAUTH if the tag does not verify (out is then zeroed). */
far_err far__noise_seal(const far__noise_cs *cs, uint64_t nonce, const uint8_t *ad, size_t adlen,
                        const uint8_t *pt, size_t n, uint8_t *out /* n + 16 */);
far_err far__noise_open(const far__noise_cs *cs, uint64_t nonce, const uint8_t *ad, size_t adlen,
                        const uint8_t *ct, size_t n /* >= 16 */, uint8_t *out /* n - 16 */);

/* Rekey (Noise §11.3): k = the first 32 bytes of ENCRYPT(k, 2^64-1, "",
 * 32 zero bytes). */
far_err far__noise_rekey(far__noise_cs *cs);

/* A fresh Curve25519 key pair (libsodium's random generator). */
void far__noise_keypair(uint8_t priv[32], uint8_t pub[32]);

/* The Curve25519 public key of priv (an addition to the first API: for
 * showing or distributing a configured static key). */
void far__noise_public_key(const uint8_t priv[32], uint8_t pub[32]);

/* True if AES-256-GCM is usable on this CPU (libsodium 1.0.18 needs AES-NI
 * and PCLMUL). */
bool far__noise_aesgcm_available(void);

/* Which AES-256-GCM runs in this process: "gnutls" (GnuTLS, the default:
 * about twice libsodium's speed), "libsodium" ($FARCALL_AEAD=libsodium, or
 * a GnuTLS that fails a known answer against libsodium at first use), or
 * "none" (no AES-NI: AESGCM is FAR_EUNSUPPORTED).  The bytes are the same
 * whichever runs. */
const char *far__noise_aesgcm_impl(void);

/* Precomputes a transport key's state for the messages to come (GnuTLS's
 * key schedule and GHASH table, once instead of per message), for a key
 * used for many messages (a session's).  Optional: seal and open work the
 * same without it, and where it cannot be done (ChaChaPoly, libsodium's
 * AES-GCM, out of memory) it does nothing.  Before the key is shared with
 * other threads; far__noise_cs_wipe releases it.  seal and open on a
 * prepared key stay lock-free and safe from any number of threads. */
void far__noise_cs_prepare(far__noise_cs *cs);

/* Wipes a transport key (and frees its prepared state: GnuTLS wipes its key
 * schedule when a handle is freed).  Not while another thread uses it. */
void far__noise_cs_wipe(far__noise_cs *cs);

#endif
