/* libFuzzer harness for the Noise core (src/noise): far__noise_hs_read on
 * the responder and the initiator side of several protocols with fixed
 * keys (the harness writes its own messages, the input supplies the
 * peer's, then transport messages for far__noise_open after the split),
 * and far__noise_open on its own.  Input format: fuzz_noise.h.
 *
 * Checks beyond the sanitizers: a refused handshake message (or a write
 * refused for an all-zero DH with the peer's key) leaves the handshake
 * FAILED; an accepted one gives a payload of the message's
 * length minus the pattern's overhead, inside the buffer; an opened
 * transport message seals back to the same bytes. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_noise.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_noise: %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The next frame of the input, or false at its end. */
static bool next_frame(const uint8_t **p, size_t *n, const uint8_t **f, size_t *fl)
{
    if (*n < 2)
        return false;
    size_t len = (size_t)(*p)[0] << 8 | (*p)[1];
    if (len > *n - 2)
        len = *n - 2; /* a cut frame: what is there */
    *f = *p + 2;
    *fl = len;
    *p += 2 + len;
    *n -= 2 + len;
    return true;
}

static void open_check(const far__noise_cs *cs, uint64_t nonce, const uint8_t *ad, size_t adlen,
                       const uint8_t *ct, size_t n)
{
    static uint8_t out[FAR__NOISE_MAX_MSG], again[FAR__NOISE_MAX_MSG + 16];
    far_err e = far__noise_open(cs, nonce, ad, adlen, ct, n, out);
    if (n < FAR__NOISE_TAGLEN)
        CHECK(e == FAR_EPROTO || e == FAR_ELIMIT);
    if (e != FAR_OK)
        return;
    CHECK(far__noise_seal(cs, nonce, ad, adlen, out, n - 16, again) == FAR_OK);
    CHECK(memcmp(again, ct, n) == 0);
}

static void handshake(unsigned p, bool initiator, const uint8_t *in, size_t n)
{
    far__noise_hs *hs = noise_fuzz_side(p, initiator);
    if (!hs)
        return;
    static uint8_t out[FAR__NOISE_MAX_MSG], payload[FAR__NOISE_MAX_MSG];
    for (;;) {
        far__noise_action a = far__noise_hs_action(hs);
        if (a == FAR__NOISE_WRITE) {
            size_t len;
            far_err e = far__noise_hs_write(hs, noise_fuzz_payload, sizeof noise_fuzz_payload, out,
                                            sizeof out, &len);
            if (e == FAR_OK)
                continue;
            /* the peer's ephemeral (or static) key gave an all-zero DH */
            CHECK(e == FAR_EAUTH && far__noise_hs_action(hs) == FAR__NOISE_FAILED);
            break;
        }
        if (a != FAR__NOISE_READ)
            break;
        const uint8_t *f;
        size_t fl, plen = 0;
        if (!next_frame(&in, &n, &f, &fl))
            break;
        /* a copy of just the frame's bytes: an over-read leaves the heap block */
        uint8_t *msg = malloc(fl ? fl : 1);
        CHECK(msg != NULL);
        memcpy(msg, f, fl);
        far_err e = far__noise_hs_read(hs, msg, fl, payload, sizeof payload, &plen);
        free(msg);
        if (e != FAR_OK) {
            CHECK(e == FAR_EPROTO || e == FAR_EAUTH);
            CHECK(far__noise_hs_action(hs) == FAR__NOISE_FAILED);
            break;
        }
        CHECK(plen <= fl);
    }
    if (far__noise_hs_action(hs) == FAR__NOISE_SPLIT) {
        far__noise_cs tx, rx;
        uint8_t h[FAR__NOISE_MAX_HASHLEN];
        size_t hl;
        CHECK(far__noise_hs_split(hs, &tx, &rx, h, &hl) == FAR_OK);
        CHECK(hl == 32 || hl == 64);
        const uint8_t *f;
        size_t fl;
        for (uint64_t nonce = 0; next_frame(&in, &n, &f, &fl); nonce++) {
            uint8_t *msg = malloc(fl ? fl : 1);
            CHECK(msg != NULL);
            memcpy(msg, f, fl);
            open_check(&rx, nonce, NULL, 0, msg, fl);
            free(msg);
        }
        far__noise_cs_wipe(&tx);
        far__noise_cs_wipe(&rx);
    }
    far__noise_hs_free(hs);
}

static void transport(unsigned p, const uint8_t *in, size_t n)
{
    far__noise_cs cs = {.cipher = strstr(noise_fuzz_protocols[p], "AESGCM")
                                      ? FAR__NOISE_AESGCM
                                      : FAR__NOISE_CHACHAPOLY};
    if (cs.cipher == FAR__NOISE_AESGCM && !far__noise_aesgcm_available())
        return;
    noise_fuzz_key(cs.k, 20);
    const uint8_t *f;
    size_t fl;
    while (next_frame(&in, &n, &f, &fl)) {
        if (fl < 9)
            continue;
        uint64_t nonce = 0;
        for (int i = 0; i < 8; i++)
            nonce = nonce << 8 | f[i];
        size_t adlen = f[8];
        if (adlen > fl - 9)
            adlen = fl - 9;
        uint8_t *buf = malloc(fl - 9 ? fl - 9 : 1);
        CHECK(buf != NULL);
        memcpy(buf, f + 9, fl - 9);
        open_check(&cs, nonce, buf, adlen, buf + adlen, fl - 9 - adlen);
        free(buf);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned target = data[0] % 3, p = data[1] % NOISE_FUZZ_NPROTOCOLS;
    if (target == 2)
        transport(p, data + 2, size - 2);
    else
        handshake(p, target == 1, data + 2, size - 2);
    return 0;
}
