/* The Noise handshake (Noise §5.2 SymmetricState, §5.3 HandshakeState) for
 * the patterns of §7.4, §7.5 and §18.1 with psk modifiers (§9), driven by a
 * table of the spec's pattern text. */
#include <sodium.h>

#include "internal.h"
#include "noise/noise_impl.h"

/* ------------------------------------------------------------ patterns */

/* The spec's patterns as written there (tokens separated by ", ", messages
 * by " | "; messages alternate, the initiator's first).  pre_i / pre_r: the
 * initiator's and responder's pre-messages ("s" or ""). */
typedef struct pattern_def {
    const char *name;
    const char *pre_i;
    const char *pre_r;
    const char *msgs;
} pattern_def;

static const pattern_def patterns[] = {
    /* §7.4 one-way */
    {"N", "", "s", "e, es"},
    {"K", "s", "s", "e, es, ss"},
    {"X", "", "s", "e, es, s, ss"},
    /* §7.5 fundamental interactive */
    {"NN", "", "", "e | e, ee"},
    {"NK", "", "s", "e, es | e, ee"},
    {"NX", "", "", "e | e, ee, s, es"},
    {"KN", "s", "", "e | e, ee, se"},
    {"KK", "s", "s", "e, es, ss | e, ee, se"},
    {"KX", "s", "", "e | e, ee, se, s, es"},
    {"XN", "", "", "e | e, ee | s, se"},
    {"XK", "", "s", "e, es | e, ee | s, se"},
    {"XX", "", "", "e | e, ee, s, es | s, se"},
    {"IN", "", "", "e, s | e, ee, se"},
    {"IK", "", "s", "e, es, s, ss | e, ee, se"},
    {"IX", "", "", "e, s | e, ee, se, s, es"},
    /* §18.1 deferred */
    {"NK1", "", "s", "e | e, ee, es"},
    {"NX1", "", "", "e | e, ee, s | es"},
    {"X1N", "", "", "e | e, ee | s | se"},
    {"X1K", "", "s", "e, es | e, ee | s | se"},
    {"XK1", "", "s", "e | e, ee, es | s, se"},
    {"X1K1", "", "s", "e | e, ee, es | s | se"},
    {"X1X", "", "", "e | e, ee, s, es | s | se"},
    {"XX1", "", "", "e | e, ee, s | es, s, se"},
    {"X1X1", "", "", "e | e, ee, s | es, s | se"},
    {"K1N", "s", "", "e | e, ee | se"},
    {"K1K", "s", "s", "e, es | e, ee | se"},
    {"KK1", "s", "s", "e | e, ee, se, es"},
    {"K1K1", "s", "s", "e | e, ee, es | se"},
    {"K1X", "s", "", "e | e, ee, s, es | se"},
    {"KX1", "s", "", "e | e, ee, se, s | es"},
    {"K1X1", "s", "", "e | e, ee, s | se, es"},
    {"I1N", "", "", "e, s | e, ee | se"},
    {"I1K", "", "s", "e, es, s | e, ee | se"},
    {"IK1", "", "s", "e, s | e, ee, se, es"},
    {"I1K1", "", "s", "e, s | e, ee, es | se"},
    {"I1X", "", "", "e, s | e, ee, s, es | se"},
    {"IX1", "", "", "e, s | e, ee, se, s | es"},
    {"I1X1", "", "", "e, s | e, ee, s | se, es"},
};

enum { T_E, T_S, T_EE, T_ES, T_SE, T_SS, T_PSK /* + the N of pskN */ };

#define MAX_MSGS   4  /* the longest pattern above */
#define MAX_TOKENS 12 /* per message: 5 of the pattern, psk tokens */
#define MAX_PSK    (MAX_MSGS + 1)
#define MAX_NAME   255

struct far__noise_hs {
    bool initiator;
    bool started;
    bool failed;
    bool split_done;
    bool psk_mode; /* Noise §9.2: "e" also calls MixKey */
    far__noise_cipher cipher;
    far__noise_hash hash;
    size_t hashlen;

    /* the pattern, with psk tokens placed */
    unsigned nmsgs;
    unsigned msg; /* the next message */
    uint8_t ntok[MAX_MSGS];
    uint8_t tok[MAX_MSGS][MAX_TOKENS];
    bool pre_s_i, pre_s_r;
    bool need_s;                 /* this side has a static key */
    unsigned psk_need, psk_have; /* bit N: pskN */
    uint8_t psk[MAX_PSK][32];
    far__noise_psk_cb psk_cb;
    void *psk_user;

    /* SymmetricState */
    uint8_t ck[FAR__NOISE_MAX_HASHLEN];
    uint8_t h[FAR__NOISE_MAX_HASHLEN];
    uint8_t k[FAR__NOISE_KEYLEN];
    bool has_k;
    uint64_t n;

    /* HandshakeState keys */
    uint8_t s_priv[32], s_pub[32];
    uint8_t e_priv[32], e_pub[32];
    uint8_t rs[32], re[32];
    bool has_s, has_e, has_rs, has_re;

    uint8_t *prologue;
    size_t prologue_len;
    size_t name_len;
    char name[MAX_NAME + 1];
};

static const pattern_def *find_pattern(const char *name, size_t len)
{
    for (size_t i = 0; i < FAR__ARRAY_LEN(patterns); i++)
        if (strlen(patterns[i].name) == len && memcmp(patterns[i].name, name, len) == 0)
            return &patterns[i];
    return NULL;
}

/* The messages of `def` into hs->tok.  False if the table text is bad (a
 * bug here, not the caller's). */
static bool load_messages(far__noise_hs *hs, const pattern_def *def)
{
    const char *p = def->msgs;
    hs->nmsgs = 0;
    for (;;) {
        if (hs->nmsgs == MAX_MSGS)
            return false;
        unsigned m = hs->nmsgs++;
        hs->ntok[m] = 0;
        for (;;) {
            size_t len = strcspn(p, ", |");
            static const char *const names[] = {"e", "s", "ee", "es", "se", "ss"};
            unsigned t = 0;
            while (t < FAR__ARRAY_LEN(names) &&
                   !(strlen(names[t]) == len && !memcmp(names[t], p, len)))
                t++;
            if (t == FAR__ARRAY_LEN(names) || hs->ntok[m] == MAX_TOKENS)
                return false;
            hs->tok[m][hs->ntok[m]++] = (uint8_t)t;
            p += len;
            while (*p == ' ')
                p++;
            if (*p == ',') {
                p++;
                while (*p == ' ')
                    p++;
                continue;
            }
            break;
        }
        if (*p == '\0')
            return true;
        if (*p != '|')
            return false;
        p++;
        while (*p == ' ')
            p++;
    }
}

/* Modifiers after the base pattern name ("psk0+psk2"): only pskN
 * (Noise §9.4), each at most once.  psk0 goes at the beginning of the first
 * message, pskN at the end of the Nth. */
static far_err load_modifiers(far__noise_hs *hs, const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end) {
        const char *plus = memchr(p, '+', (size_t)(end - p));
        size_t mlen = plus ? (size_t)(plus - p) : (size_t)(end - p);
        if (mlen != 4 || memcmp(p, "psk", 3) != 0 || p[3] < '0' || p[3] > '9')
            return FAR_EUNSUPPORTED; /* fallback, hfs, or junk */
        unsigned idx = (unsigned)(p[3] - '0');
        if (idx > hs->nmsgs || (hs->psk_need & (1u << idx)))
            return FAR_EUNSUPPORTED;
        unsigned m = idx == 0 ? 0 : idx - 1;
        if (hs->ntok[m] == MAX_TOKENS)
            return FAR_EUNSUPPORTED;
        if (idx == 0) {
            memmove(&hs->tok[m][1], &hs->tok[m][0], hs->ntok[m]);
            hs->tok[m][0] = T_PSK;
        } else {
            hs->tok[m][hs->ntok[m]] = (uint8_t)(T_PSK + idx);
        }
        hs->ntok[m]++;
        hs->psk_need |= 1u << idx;
        hs->psk_mode = true;
        p += mlen;
        if (plus) {
            p++;
            if (p == end)
                return FAR_EUNSUPPORTED; /* a trailing '+' */
        }
    }
    return FAR_OK;
}

/* True if the message m is written by the initiator. */
static bool by_initiator(unsigned m)
{
    return m % 2 == 0;
}

far_err far__noise_hs_new(far__noise_hs **out, const char *protocol, bool initiator)
{
    if (!out || !protocol)
        return FAR_EMISUSE;
    *out = NULL;
    size_t nlen = strnlen(protocol, MAX_NAME + 1);
    if (nlen > MAX_NAME)
        return FAR_EUNSUPPORTED;

    /* Noise_<pattern>_<dh>_<cipher>_<hash> (Noise §8) */
    const char *f[5];
    size_t fl[5];
    const char *p = protocol;
    for (int i = 0; i < 5; i++) {
        const char *u = strchr(p, '_');
        if ((u == NULL) != (i == 4))
            return FAR_EUNSUPPORTED;
        f[i] = p;
        fl[i] = u ? (size_t)(u - p) : strlen(p);
        p = u ? u + 1 : p;
    }
#define FIELD_IS(i, s) (fl[i] == strlen(s) && memcmp(f[i], s, fl[i]) == 0)
    if (!FIELD_IS(0, "Noise") || !FIELD_IS(2, "25519"))
        return FAR_EUNSUPPORTED;
    far__noise_cipher cipher;
    if (FIELD_IS(3, "ChaChaPoly"))
        cipher = FAR__NOISE_CHACHAPOLY;
    else if (FIELD_IS(3, "AESGCM"))
        cipher = FAR__NOISE_AESGCM;
    else
        return FAR_EUNSUPPORTED;
    far__noise_hash hash;
    if (FIELD_IS(4, "SHA256"))
        hash = FAR__NOISE_SHA256;
    else if (FIELD_IS(4, "SHA512"))
        hash = FAR__NOISE_SHA512;
    else
        return FAR_EUNSUPPORTED;
#undef FIELD_IS

    if (!far__noise_init())
        return FAR_EIO;
    if (cipher == FAR__NOISE_AESGCM && !crypto_aead_aes256gcm_is_available())
        return FAR_EUNSUPPORTED;

    /* the base pattern is upper case and digits, the modifiers lower case */
    size_t blen = 0;
    while (blen < fl[1] &&
           ((f[1][blen] >= 'A' && f[1][blen] <= 'Z') || (f[1][blen] >= '0' && f[1][blen] <= '9')))
        blen++;
    const pattern_def *def = find_pattern(f[1], blen);
    if (!def)
        return FAR_EUNSUPPORTED;

    far__noise_hs *hs = calloc(1, sizeof *hs);
    if (!hs)
        return FAR_ENOMEM;
    hs->initiator = initiator;
    hs->cipher = cipher;
    hs->hash = hash;
    hs->hashlen = far__noise_hashlen(hash);
    if (!load_messages(hs, def)) {
        free(hs);
        return FAR_EUNSUPPORTED;
    }
    far_err err = load_modifiers(hs, f[1] + blen, fl[1] - blen);
    if (err != FAR_OK) {
        free(hs);
        return err;
    }
    hs->pre_s_i = def->pre_i[0] == 's';
    hs->pre_s_r = def->pre_r[0] == 's';
    hs->need_s = initiator ? hs->pre_s_i : hs->pre_s_r;
    for (unsigned m = 0; m < hs->nmsgs; m++)
        if (by_initiator(m) == initiator)
            for (unsigned t = 0; t < hs->ntok[m]; t++)
                if (hs->tok[m][t] == T_S)
                    hs->need_s = true;
    memcpy(hs->name, protocol, nlen);
    hs->name_len = nlen;
    *out = hs;
    return FAR_OK;
}

static bool settable(const far__noise_hs *hs)
{
    return hs && !hs->started;
}

far_err far__noise_hs_set_prologue(far__noise_hs *hs, const uint8_t *p, size_t n)
{
    if (!settable(hs) || (!p && n))
        return FAR_EMISUSE;
    if (n > FAR__NOISE_MAX_MSG)
        return FAR_ELIMIT;
    uint8_t *copy = NULL;
    if (n) {
        copy = malloc(n);
        if (!copy)
            return FAR_ENOMEM;
        memcpy(copy, p, n);
    }
    free(hs->prologue);
    hs->prologue = copy;
    hs->prologue_len = n;
    return FAR_OK;
}

far_err far__noise_hs_set_psk(far__noise_hs *hs, unsigned index, const uint8_t psk[32])
{
    if (!settable(hs) || !psk || index >= MAX_PSK || !(hs->psk_need & (1u << index)))
        return FAR_EMISUSE;
    memcpy(hs->psk[index], psk, 32);
    hs->psk_have |= 1u << index;
    return FAR_OK;
}

far_err far__noise_hs_set_psk_callback(far__noise_hs *hs, far__noise_psk_cb cb, void *user)
{
    if (!settable(hs) || !cb || !hs->psk_need)
        return FAR_EMISUSE;
    hs->psk_cb = cb;
    hs->psk_user = user;
    return FAR_OK;
}

far_err far__noise_hs_set_static(far__noise_hs *hs, const uint8_t priv[32])
{
    if (!settable(hs) || !priv || !hs->need_s)
        return FAR_EMISUSE;
    memcpy(hs->s_priv, priv, 32);
    crypto_scalarmult_base(hs->s_pub, hs->s_priv);
    hs->has_s = true;
    return FAR_OK;
}

far_err far__noise_hs_set_remote_static(far__noise_hs *hs, const uint8_t pub[32])
{
    if (!settable(hs) || !pub || !(hs->initiator ? hs->pre_s_r : hs->pre_s_i))
        return FAR_EMISUSE;
    memcpy(hs->rs, pub, 32);
    hs->has_rs = true;
    return FAR_OK;
}

far_err far__noise_hs_set_ephemeral(far__noise_hs *hs, const uint8_t priv[32])
{
    if (!settable(hs) || !priv)
        return FAR_EMISUSE;
    memcpy(hs->e_priv, priv, 32);
    crypto_scalarmult_base(hs->e_pub, hs->e_priv);
    hs->has_e = true;
    return FAR_OK;
}

void far__noise_hs_needs(const far__noise_hs *hs, bool *s, bool *rs, unsigned *psks)
{
    if (s)
        *s = hs && hs->need_s;
    if (rs)
        *rs = hs && (hs->initiator ? hs->pre_s_r : hs->pre_s_i);
    if (psks)
        *psks = hs ? hs->psk_need : 0;
}

/* ------------------------------------------------------ SymmetricState */

static void mix_hash(far__noise_hs *hs, const uint8_t *data, size_t n)
{
    far__noise_hash2(hs->hash, hs->h, hs->hashlen, data, n, hs->h);
}

static void mix_key(far__noise_hs *hs, const uint8_t *ikm, size_t n)
{
    uint8_t temp_k[FAR__NOISE_MAX_HASHLEN];
    far__noise_hkdf(hs->hash, hs->ck, ikm, n, 2, hs->ck, temp_k, NULL);
    memcpy(hs->k, temp_k, FAR__NOISE_KEYLEN); /* truncated if HASHLEN is 64 */
    hs->has_k = true;
    hs->n = 0;
    sodium_memzero(temp_k, sizeof temp_k);
}

static void mix_key_and_hash(far__noise_hs *hs, const uint8_t psk[32])
{
    uint8_t temp_h[FAR__NOISE_MAX_HASHLEN], temp_k[FAR__NOISE_MAX_HASHLEN];
    far__noise_hkdf(hs->hash, hs->ck, psk, 32, 3, hs->ck, temp_h, temp_k);
    mix_hash(hs, temp_h, hs->hashlen);
    memcpy(hs->k, temp_k, FAR__NOISE_KEYLEN);
    hs->has_k = true;
    hs->n = 0;
    sodium_memzero(temp_h, sizeof temp_h);
    sodium_memzero(temp_k, sizeof temp_k);
}

/* EncryptAndHash: out gets n (+ 16 with a key) bytes; pt and out do not
 * overlap. */
static size_t encrypt_and_hash(far__noise_hs *hs, const uint8_t *pt, size_t n, uint8_t *out)
{
    size_t len = n;
    if (hs->has_k) {
        far__noise_encrypt(hs->cipher, hs->k, hs->n++, hs->h, hs->hashlen, pt, n, out);
        len += FAR__NOISE_TAGLEN;
    } else if (n) {
        memcpy(out, pt, n);
    }
    mix_hash(hs, out, len);
    return len;
}

/* DecryptAndHash of ct[0..n) (n >= 16 with a key) into out; false if the
 * tag does not verify. */
static bool decrypt_and_hash(far__noise_hs *hs, const uint8_t *ct, size_t n, uint8_t *out)
{
    if (hs->has_k) {
        if (!far__noise_decrypt(hs->cipher, hs->k, hs->n, hs->h, hs->hashlen, ct, n, out))
            return false;
        hs->n++;
    } else if (n) {
        memcpy(out, ct, n);
    }
    mix_hash(hs, ct, n);
    return true;
}

/* ------------------------------------------------------ HandshakeState */

far_err far__noise_hs_start(far__noise_hs *hs)
{
    if (!settable(hs))
        return FAR_EMISUSE;
    if (hs->need_s && !hs->has_s)
        return FAR_EMISUSE;
    if ((hs->initiator ? hs->pre_s_r : hs->pre_s_i) && !hs->has_rs)
        return FAR_EMISUSE;
    if (hs->psk_have != hs->psk_need && !hs->psk_cb)
        return FAR_EMISUSE;

    /* InitializeSymmetric (Noise §5.2) */
    memset(hs->h, 0, sizeof hs->h);
    if (hs->name_len <= hs->hashlen)
        memcpy(hs->h, hs->name, hs->name_len);
    else
        far__noise_hash2(hs->hash, (const uint8_t *)hs->name, hs->name_len, NULL, 0, hs->h);
    memcpy(hs->ck, hs->h, hs->hashlen);
    hs->has_k = false;
    mix_hash(hs, hs->prologue, hs->prologue_len);
    /* pre-messages, the initiator's first (Noise §5.3) */
    if (hs->pre_s_i)
        mix_hash(hs, hs->initiator ? hs->s_pub : hs->rs, 32);
    if (hs->pre_s_r)
        mix_hash(hs, hs->initiator ? hs->rs : hs->s_pub, 32);
    hs->started = true;
    return FAR_OK;
}

far__noise_action far__noise_hs_action(const far__noise_hs *hs)
{
    if (!hs || !hs->started || hs->failed)
        return FAR__NOISE_FAILED;
    if (hs->msg == hs->nmsgs)
        return FAR__NOISE_SPLIT;
    return by_initiator(hs->msg) == hs->initiator ? FAR__NOISE_WRITE : FAR__NOISE_READ;
}

/* The bytes of message m before its payload, and whether the payload is
 * encrypted: computed from the pattern and the current key state, so a
 * length is known before anything changes. */
static size_t fixed_len(const far__noise_hs *hs, unsigned m, bool *payload_keyed)
{
    bool k = hs->has_k;
    size_t len = 0;
    for (unsigned t = 0; t < hs->ntok[m]; t++) {
        switch (hs->tok[m][t]) {
        case T_E:
            len += FAR__NOISE_DHLEN;
            if (hs->psk_mode)
                k = true;
            break;
        case T_S:
            len += FAR__NOISE_DHLEN + (k ? FAR__NOISE_TAGLEN : 0);
            break;
        default: /* the DHs and psk: MixKey */
            k = true;
            break;
        }
    }
    *payload_keyed = k;
    return len;
}

/* DH for token t, into MixKey.  False for an all-zero result (libsodium
 * refuses it; Noise §12.1 allows signalling an error). */
static bool dh_token(far__noise_hs *hs, uint8_t t)
{
    const uint8_t *priv, *pub;
    switch (t) {
    case T_EE:
        priv = hs->e_priv, pub = hs->re;
        break;
    case T_ES:
        priv = hs->initiator ? hs->e_priv : hs->s_priv;
        pub = hs->initiator ? hs->rs : hs->re;
        break;
    case T_SE:
        priv = hs->initiator ? hs->s_priv : hs->e_priv;
        pub = hs->initiator ? hs->re : hs->rs;
        break;
    default: /* T_SS */
        priv = hs->s_priv, pub = hs->rs;
        break;
    }
    uint8_t shared[FAR__NOISE_DHLEN];
    bool ok = crypto_scalarmult(shared, priv, pub) == 0;
    if (ok)
        mix_key(hs, shared, sizeof shared);
    sodium_memzero(shared, sizeof shared);
    return ok;
}

static far_err fail(far__noise_hs *hs, far_err err)
{
    hs->failed = true;
    return err;
}

/* The psk token (Noise §9.2): MixKeyAndHash(psk), the PSK asked of the
 * callback if it was not set. */
static far_err psk_token(far__noise_hs *hs, unsigned index)
{
    if (!(hs->psk_have & (1u << index))) {
        far_err e =
            hs->psk_cb ? hs->psk_cb(hs->psk_user, index, hs->has_rs ? hs->rs : NULL, hs->psk[index])
                       : FAR_EMISUSE;
        if (e != FAR_OK) {
            sodium_memzero(hs->psk[index], 32);
            return e;
        }
        hs->psk_have |= 1u << index;
    }
    mix_key_and_hash(hs, hs->psk[index]);
    return FAR_OK;
}

far_err far__noise_hs_write(far__noise_hs *hs, const uint8_t *payload, size_t n, uint8_t *out,
                            size_t cap, size_t *len)
{
    if (!hs || !out || !len || (!payload && n) || far__noise_hs_action(hs) != FAR__NOISE_WRITE)
        return FAR_EMISUSE;
    unsigned m = hs->msg;
    bool keyed;
    size_t fixed = fixed_len(hs, m, &keyed);
    if (n > FAR__NOISE_MAX_MSG)
        return FAR_ELIMIT;
    size_t total = fixed + n + (keyed ? FAR__NOISE_TAGLEN : 0);
    if (total > FAR__NOISE_MAX_MSG)
        return FAR_ELIMIT;
    if (total > cap)
        return FAR_ENOSPACE;

    size_t at = 0;
    for (unsigned i = 0; i < hs->ntok[m]; i++) {
        uint8_t t = hs->tok[m][i];
        switch (t) {
        case T_E:
            if (!hs->has_e) /* else injected (known answers) */
                far__noise_keypair(hs->e_priv, hs->e_pub);
            hs->has_e = true;
            memcpy(out + at, hs->e_pub, 32);
            at += 32;
            mix_hash(hs, hs->e_pub, 32);
            if (hs->psk_mode)
                mix_key(hs, hs->e_pub, 32);
            break;
        case T_S:
            at += encrypt_and_hash(hs, hs->s_pub, 32, out + at);
            break;
        case T_EE:
        case T_ES:
        case T_SE:
        case T_SS:
            if (!dh_token(hs, t)) {
                sodium_memzero(out, total);
                return fail(hs, FAR_EAUTH);
            }
            break;
        default: {
            far_err e = psk_token(hs, (unsigned)(t - T_PSK));
            if (e != FAR_OK) {
                sodium_memzero(out, total);
                return fail(hs, e);
            }
            break;
        }
        }
    }
    at += encrypt_and_hash(hs, payload, n, out + at);
    *len = at;
    hs->msg++;
    return FAR_OK;
}

far_err far__noise_hs_read(far__noise_hs *hs, const uint8_t *msg, size_t n, uint8_t *payload,
                           size_t cap, size_t *len)
{
    if (!hs || (!msg && n) || !len || (!payload && cap) ||
        far__noise_hs_action(hs) != FAR__NOISE_READ)
        return FAR_EMISUSE;
    unsigned m = hs->msg;
    bool keyed;
    size_t fixed = fixed_len(hs, m, &keyed);
    size_t tag = keyed ? FAR__NOISE_TAGLEN : 0;
    if (n > FAR__NOISE_MAX_MSG)
        return fail(hs, FAR_ELIMIT);
    if (n < fixed + tag)
        return fail(hs, FAR_EPROTO);
    size_t plen = n - fixed - tag;
    if (plen > cap)
        return FAR_ENOSPACE; /* nothing changed: the caller may retry */

    size_t at = 0;
    for (unsigned i = 0; i < hs->ntok[m]; i++) {
        uint8_t t = hs->tok[m][i];
        switch (t) {
        case T_E:
            memcpy(hs->re, msg + at, 32);
            hs->has_re = true;
            at += 32;
            mix_hash(hs, hs->re, 32);
            if (hs->psk_mode)
                mix_key(hs, hs->re, 32);
            break;
        case T_S: {
            size_t sl = 32 + (hs->has_k ? FAR__NOISE_TAGLEN : 0);
            if (!decrypt_and_hash(hs, msg + at, sl, hs->rs))
                return fail(hs, FAR_EAUTH);
            hs->has_rs = true;
            at += sl;
            break;
        }
        case T_EE:
        case T_ES:
        case T_SE:
        case T_SS:
            if (!dh_token(hs, t))
                return fail(hs, FAR_EAUTH);
            break;
        default: {
            far_err e = psk_token(hs, (unsigned)(t - T_PSK));
            if (e != FAR_OK)
                return fail(hs, e);
            break;
        }
        }
    }
    uint8_t dummy;
    if (!decrypt_and_hash(hs, msg + at, n - at, plen ? payload : &dummy)) {
        return fail(hs, FAR_EAUTH);
    }
    *len = plen;
    hs->msg++;
    return FAR_OK;
}

far_err far__noise_hs_split(far__noise_hs *hs, far__noise_cs *tx, far__noise_cs *rx, uint8_t *hash,
                            size_t *hash_len)
{
    if (!hs || !tx || !rx || hs->split_done || far__noise_hs_action(hs) != FAR__NOISE_SPLIT)
        return FAR_EMISUSE;
    uint8_t k1[FAR__NOISE_MAX_HASHLEN], k2[FAR__NOISE_MAX_HASHLEN];
    far__noise_hkdf(hs->hash, hs->ck, NULL, 0, 2, k1, k2, NULL);
    /* c1 carries initiator -> responder (Noise §5.2) */
    memcpy(tx->k, hs->initiator ? k1 : k2, FAR__NOISE_KEYLEN);
    memcpy(rx->k, hs->initiator ? k2 : k1, FAR__NOISE_KEYLEN);
    tx->cipher = rx->cipher = hs->cipher;
    tx->prep = rx->prep = NULL;
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    if (hash)
        memcpy(hash, hs->h, hs->hashlen);
    if (hash_len)
        *hash_len = hs->hashlen;
    /* what is left is h and rs (Noise §5: delete all but h) */
    sodium_memzero(hs->ck, sizeof hs->ck);
    sodium_memzero(hs->k, sizeof hs->k);
    sodium_memzero(hs->e_priv, sizeof hs->e_priv);
    sodium_memzero(hs->s_priv, sizeof hs->s_priv);
    sodium_memzero(hs->psk, sizeof hs->psk);
    hs->split_done = true;
    return FAR_OK;
}

bool far__noise_hs_remote_static(const far__noise_hs *hs, uint8_t pub[32])
{
    if (!hs || !pub || !hs->has_rs)
        return false;
    memcpy(pub, hs->rs, 32);
    return true;
}

size_t far__noise_hs_hash(const far__noise_hs *hs, uint8_t *h)
{
    if (!hs || !h || !hs->started)
        return 0;
    memcpy(h, hs->h, hs->hashlen);
    return hs->hashlen;
}

void far__noise_hs_free(far__noise_hs *hs)
{
    if (!hs)
        return;
    if (hs->prologue) {
        sodium_memzero(hs->prologue, hs->prologue_len);
        free(hs->prologue);
    }
    sodium_memzero(hs, sizeof *hs);
    free(hs);
}
