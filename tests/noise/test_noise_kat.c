/* Known answers for the Noise core (src/noise): every vector of
 * tests/noise/vectors/{cacophony,snow}.json whose pattern, DH, cipher and hash
 * the core supports is run on both sides with the vector's keys (ephemerals
 * injected).  Each handshake message must equal the vector's ciphertext byte
 * for byte and give back its payload; the handshake hash must equal the
 * vector's (cacophony has it, snow does not); the transport messages after
 * Split (implicit nonces 0, 1, 2, ... per direction in the vectors, passed
 * here explicitly) must match too.
 *
 *   test_noise_kat VECTORS_DIR
 *
 * Fails if a file is missing or unreadable, if any supported vector fails,
 * or if Noise_{NNpsk0,KKpsk0,XXpsk3}_25519_{ChaChaPoly,AESGCM}_SHA256 are not
 * all among those passed (so a loop that skipped everything cannot pass). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "noise/noise.h"

#define MAX_BYTES 70000

typedef struct suite_count {
    char suite[64]; /* the suite ("25519_AESGCM_SHA256") or the pattern ("NNpsk0") */
    unsigned passed, unsupported, failed;
} suite_count;

static suite_count suites[64], patterns[128];
static unsigned nsuites, npatterns;
static unsigned total_passed, total_unsupported, total_failed;

/* the protocols that must have passed (a check that the loop ran them) */
static const char *const required[] = {
    "Noise_NNpsk0_25519_ChaChaPoly_SHA256", "Noise_NNpsk0_25519_AESGCM_SHA256",
    "Noise_KKpsk0_25519_ChaChaPoly_SHA256", "Noise_KKpsk0_25519_AESGCM_SHA256",
    "Noise_XXpsk3_25519_ChaChaPoly_SHA256", "Noise_XXpsk3_25519_AESGCM_SHA256",
};
static unsigned required_passed[sizeof required / sizeof required[0]];

/* The count of protocol's pattern ("NNpsk0"). */
static suite_count *pattern_count(const char *protocol)
{
    const char *p = strchr(protocol, '_');
    p = p ? p + 1 : protocol;
    size_t n = strcspn(p, "_");
    for (unsigned i = 0; i < npatterns; i++)
        if (strlen(patterns[i].suite) == n && memcmp(patterns[i].suite, p, n) == 0)
            return &patterns[i];
    if (npatterns == sizeof patterns / sizeof patterns[0])
        return &patterns[npatterns - 1];
    snprintf(patterns[npatterns].suite, sizeof patterns[npatterns].suite, "%.*s", (int)n, p);
    return &patterns[npatterns++];
}

static suite_count *count_for(const char *protocol)
{
    /* the suite: what follows the pattern ("25519_ChaChaPoly_SHA256") */
    const char *p = strchr(protocol, '_');
    p = p ? strchr(p + 1, '_') : NULL;
    const char *suite = p ? p + 1 : "?";
    for (unsigned i = 0; i < nsuites; i++)
        if (strcmp(suites[i].suite, suite) == 0)
            return &suites[i];
    if (nsuites == sizeof suites / sizeof suites[0])
        return &suites[nsuites - 1];
    snprintf(suites[nsuites].suite, sizeof suites[nsuites].suite, "%s", suite);
    return &suites[nsuites++];
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The hex string field `key` of o into out[0..cap); its length, or -1 if
 * absent or malformed. */
static long hex_of(json_t *v, uint8_t *out, size_t cap)
{
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    return (long)(n / 2);
}

static long hex_field(json_t *o, const char *key, uint8_t *out, size_t cap)
{
    return hex_of(json_object_get(o, key), out, cap);
}

/* The N of each pskN modifier in the pattern, in the order of the name
 * (the order of the vectors' psk lists). */
static unsigned psk_indices(const char *protocol, unsigned idx[8])
{
    const char *pat = strchr(protocol, '_');
    const char *end = pat ? strchr(pat + 1, '_') : NULL;
    unsigned n = 0;
    if (!end)
        return 0;
    for (const char *p = pat; p + 4 <= end && n < 8; p++)
        if (memcmp(p, "psk", 3) == 0 && p[3] >= '0' && p[3] <= '9')
            idx[n++] = (unsigned)(p[3] - '0');
    return n;
}

static char why[512];
#define FAILV(...) (snprintf(why, sizeof why, __VA_ARGS__), -1)

/* One side's setup from the vector's keys ("init" or "resp"). */
static int setup(far__noise_hs *hs, json_t *v, const char *side, const char *protocol)
{
    char key[64];
    uint8_t buf[MAX_BYTES];
    long n;
    far_err e;

    snprintf(key, sizeof key, "%s_prologue", side);
    n = hex_field(v, key, buf, sizeof buf);
    if (n < 0)
        return FAILV("%s: no %s", protocol, key);
    if ((e = far__noise_hs_set_prologue(hs, buf, (size_t)n)) != FAR_OK)
        return FAILV("%s: set_prologue %s: %s", protocol, side, far_errname(e));

    static const char *const keys[] = {"static", "remote_static", "ephemeral"};
    for (unsigned i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "%s_%s", side, keys[i]);
        json_t *f = json_object_get(v, key);
        if (!f)
            continue;
        if (hex_of(f, buf, sizeof buf) != 32)
            return FAILV("%s: %s is not 32 bytes", protocol, key);
        e = i == 0   ? far__noise_hs_set_static(hs, buf)
            : i == 1 ? far__noise_hs_set_remote_static(hs, buf)
                     : far__noise_hs_set_ephemeral(hs, buf);
        if (e != FAR_OK)
            return FAILV("%s: setting %s: %s", protocol, key, far_errname(e));
    }

    unsigned idx[8];
    unsigned npsk = psk_indices(protocol, idx);
    snprintf(key, sizeof key, "%s_psks", side);
    json_t *psks = json_object_get(v, key);
    size_t have = psks ? json_array_size(psks) : 0;
    if (have != npsk)
        return FAILV("%s: %zu %s for %u psk modifiers", protocol, have, key, npsk);
    for (unsigned i = 0; i < npsk; i++) {
        if (hex_of(json_array_get(psks, i), buf, sizeof buf) != 32)
            return FAILV("%s: %s[%u] is not 32 bytes", protocol, key, i);
        if ((e = far__noise_hs_set_psk(hs, idx[i], buf)) != FAR_OK)
            return FAILV("%s: set_psk(%u): %s", protocol, idx[i], far_errname(e));
    }
    if ((e = far__noise_hs_start(hs)) != FAR_OK)
        return FAILV("%s: start %s: %s", protocol, side, far_errname(e));
    return 0;
}

/* Hex of b[0..n) (the first 64 bytes); two buffers in turn, for "got"
 * and "want" in one message. */
static const char *hexs(const uint8_t *b, size_t n)
{
    static char bufs[2][2 * 64 + 4];
    static unsigned turn;
    char *s = bufs[turn++ % 2];
    size_t i;
    for (i = 0; i < n && i < 64; i++)
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    if (n > 64)
        strcpy(s + 2 * i, "..");
    return s;
}

/* Runs one supported vector; 0 if every check holds. */
static int run_vector(json_t *v, const char *protocol, far__noise_hs *ini, far__noise_hs *res)
{
    static uint8_t payload[MAX_BYTES], want[MAX_BYTES], got[MAX_BYTES], back[MAX_BYTES];
    if (setup(ini, v, "init", protocol) || setup(res, v, "resp", protocol))
        return -1;
    json_t *msgs = json_object_get(v, "messages");
    size_t nmsg = json_array_size(msgs);
    if (nmsg == 0)
        return FAILV("%s: no messages", protocol);
    /* one-way patterns (a one-letter base name) send everything from the initiator */
    const char *pat = protocol + strlen("Noise_");
    bool one_way = (pat[1] < 'A' || pat[1] > 'Z') && (pat[1] < '0' || pat[1] > '9');

    far__noise_cs itx, irx, rtx, rrx;
    uint64_t nonce_i2r = 0, nonce_r2i = 0;
    bool split = false;
    size_t handshake_msgs = 0;
    for (size_t i = 0; i < nmsg; i++) {
        json_t *m = json_array_get(msgs, i);
        long pl = hex_field(m, "payload", payload, sizeof payload);
        long wl = hex_field(m, "ciphertext", want, sizeof want);
        if (pl < 0 || wl < 0)
            return FAILV("%s: message %zu malformed", protocol, i);
        size_t len = 0, blen = 0;
        far_err e;
        if (!split && far__noise_hs_action(ini) != FAR__NOISE_SPLIT) {
            bool from_i = far__noise_hs_action(ini) == FAR__NOISE_WRITE;
            far__noise_hs *w = from_i ? ini : res, *r = from_i ? res : ini;
            if (far__noise_hs_action(w) != FAR__NOISE_WRITE ||
                far__noise_hs_action(r) != FAR__NOISE_READ)
                return FAILV("%s: message %zu: the sides disagree on whose turn it is", protocol,
                             i);
            if ((e = far__noise_hs_write(w, payload, (size_t)pl, got, sizeof got, &len)) != FAR_OK)
                return FAILV("%s: write of handshake message %zu: %s", protocol, i, far_errname(e));
            if (len != (size_t)wl || memcmp(got, want, len) != 0)
                return FAILV("%s: handshake message %zu differs:\n  got  %s (%zu)\n  want %s",
                             protocol, i, hexs(got, len), len, hexs(want, (size_t)wl));
            if ((e = far__noise_hs_read(r, got, len, back, sizeof back, &blen)) != FAR_OK)
                return FAILV("%s: read of handshake message %zu: %s", protocol, i, far_errname(e));
            if (blen != (size_t)pl || memcmp(back, payload, blen) != 0)
                return FAILV("%s: handshake message %zu: payload read back differs", protocol, i);
            handshake_msgs++;
            continue;
        }
        if (!split) {
            if (far__noise_hs_action(res) != FAR__NOISE_SPLIT)
                return FAILV("%s: initiator done, responder not", protocol);
            uint8_t hi[FAR__NOISE_MAX_HASHLEN], hr[FAR__NOISE_MAX_HASHLEN];
            size_t hil = 0, hrl = 0;
            if (far__noise_hs_split(ini, &itx, &irx, hi, &hil) != FAR_OK ||
                far__noise_hs_split(res, &rtx, &rrx, hr, &hrl) != FAR_OK)
                return FAILV("%s: split failed", protocol);
            if (hil != hrl || memcmp(hi, hr, hil) != 0)
                return FAILV("%s: the two sides' handshake hashes differ", protocol);
            json_t *hh = json_object_get(v, "handshake_hash");
            if (hh) {
                uint8_t wh[FAR__NOISE_MAX_HASHLEN];
                long hl = hex_of(hh, wh, sizeof wh);
                if (hl != (long)hil || memcmp(wh, hi, hil) != 0)
                    return FAILV("%s: handshake hash differs:\n  got  %s\n  want %s", protocol,
                                 hexs(hi, hil), hexs(wh, hl > 0 ? (size_t)hl : 0));
            }
            split = true;
        }
        bool from_i = one_way || i % 2 == 0;
        const far__noise_cs *tx = from_i ? &itx : &rtx, *rx = from_i ? &rrx : &irx;
        uint64_t *nonce = from_i ? &nonce_i2r : &nonce_r2i;
        if ((size_t)wl != (size_t)pl + FAR__NOISE_TAGLEN)
            return FAILV("%s: transport message %zu: ciphertext length", protocol, i);
        if ((e = far__noise_seal(tx, *nonce, NULL, 0, payload, (size_t)pl, got)) != FAR_OK)
            return FAILV("%s: seal of message %zu: %s", protocol, i, far_errname(e));
        if (memcmp(got, want, (size_t)wl) != 0)
            return FAILV("%s: transport message %zu (nonce %llu) differs:\n  got  %s\n  want %s",
                         protocol, i, (unsigned long long)*nonce, hexs(got, (size_t)wl),
                         hexs(want, (size_t)wl));
        if ((e = far__noise_open(rx, *nonce, NULL, 0, got, (size_t)wl, back)) != FAR_OK ||
            memcmp(back, payload, (size_t)pl) != 0)
            return FAILV("%s: open of message %zu: %s", protocol, i, far_errname(e));
        (*nonce)++;
    }
    if (!split && far__noise_hs_action(ini) != FAR__NOISE_SPLIT)
        return FAILV("%s: the vector ended inside the handshake", protocol);
    if (handshake_msgs == 0)
        return FAILV("%s: no handshake message was checked", protocol);
    return 0;
}

static int run_file(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        fprintf(stderr, "FAIL: %s: %s (line %d)\n", path, jerr.text, jerr.line);
        return -1;
    }
    json_t *vecs = json_object_get(root, "vectors");
    size_t nv = json_array_size(vecs);
    if (nv == 0) {
        fprintf(stderr, "FAIL: %s: no vectors\n", path);
        json_decref(root);
        return -1;
    }
    unsigned passed = 0, unsup = 0, failed = 0;
    for (size_t i = 0; i < nv; i++) {
        json_t *v = json_array_get(vecs, i);
        const char *protocol = json_string_value(json_object_get(v, "protocol_name"));
        if (!protocol) {
            fprintf(stderr, "FAIL: %s: vector %zu has no protocol_name\n", file, i);
            failed++;
            continue;
        }
        suite_count *c = count_for(protocol), *pc = pattern_count(protocol);
        far__noise_hs *ini = NULL, *res = NULL;
        far_err e1 = far__noise_hs_new(&ini, protocol, true);
        far_err e2 = far__noise_hs_new(&res, protocol, false);
        if (e1 == FAR_EUNSUPPORTED && e2 == FAR_EUNSUPPORTED) {
            unsup++, c->unsupported++, pc->unsupported++;
            continue;
        }
        int rc;
        if (e1 != FAR_OK || e2 != FAR_OK)
            rc = FAILV("%s: new: %s / %s", protocol, far_errname(e1), far_errname(e2));
        else
            rc = run_vector(v, protocol, ini, res);
        far__noise_hs_free(ini);
        far__noise_hs_free(res);
        if (rc != 0) {
            fprintf(stderr, "FAIL: %s vector %zu: %s\n", file, i, why);
            failed++, c->failed++, pc->failed++;
            continue;
        }
        passed++, c->passed++, pc->passed++;
        for (unsigned r = 0; r < sizeof required / sizeof required[0]; r++)
            if (strcmp(protocol, required[r]) == 0)
                required_passed[r]++;
    }
    printf("%s: %zu vectors: %u passed, %u unsupported, %u failed\n", file, nv, passed, unsup,
           failed);
    total_passed += passed, total_unsupported += unsup, total_failed += failed;
    json_decref(root);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_noise_kat VECTORS_DIR\n");
        return 2;
    }
    int rc = 0;
    if (run_file(argv[1], "cacophony.json") != 0)
        rc = 1;
    if (run_file(argv[1], "snow.json") != 0)
        rc = 1;
    printf("\nper suite (passed / unsupported / failed):\n");
    for (unsigned i = 0; i < nsuites; i++)
        printf("  %-26s %4u / %4u / %u\n", suites[i].suite, suites[i].passed, suites[i].unsupported,
               suites[i].failed);
    printf("\nper pattern, both files (passed / unsupported / failed):\n");
    for (unsigned i = 0; i < npatterns; i++)
        printf("  %-26s %4u / %4u / %u\n", patterns[i].suite, patterns[i].passed,
               patterns[i].unsupported, patterns[i].failed);
    printf("total: %u passed, %u unsupported, %u failed\n", total_passed, total_unsupported,
           total_failed);
    if (total_failed)
        rc = 1;
    for (unsigned r = 0; r < sizeof required / sizeof required[0]; r++) {
        if (!required_passed[r]) {
            fprintf(stderr, "FAIL: %s was not among the vectors passed\n", required[r]);
            rc = 1;
        }
    }
    if (!far__noise_aesgcm_available())
        fprintf(stderr, "note: AES-256-GCM is not available on this CPU\n");
    printf(rc ? "FAIL\n" : "ok\n");
    return rc;
}
