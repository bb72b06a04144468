/* Writes the seed corpus of fuzz_noise: for every protocol of fuzz_noise.h,
 * the valid transcript as each side sees it (the peer's handshake messages
 * and two transport messages), and sealed transport messages.  The seeds
 * are committed in fuzz/corpus/noise/; rerun this only when fuzz_noise.h
 * changes:
 *
 *   cmake --build build --target seeds_noise
 *   build/fuzz/seeds_noise fuzz/corpus/noise
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_noise.h"

typedef struct seed {
    uint8_t b[8192];
    size_t n;
} seed;

static void frame(seed *s, const uint8_t *p, size_t n)
{
    if (s->n + 2 + n > sizeof s->b) {
        fprintf(stderr, "seeds_noise: seed too long\n");
        exit(1);
    }
    s->b[s->n++] = (uint8_t)(n >> 8);
    s->b[s->n++] = (uint8_t)n;
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void save(const char *dir, const char *name, const seed *s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(s->b, 1, s->n, fp) != s->n || fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds_noise DIR\n");
        return 2;
    }
    for (unsigned p = 0; p < NOISE_FUZZ_NPROTOCOLS; p++) {
        far__noise_hs *ini = noise_fuzz_side(p, true), *res = noise_fuzz_side(p, false);
        if (!ini || !res) {
            fprintf(stderr, "seeds_noise: %s cannot start here\n", noise_fuzz_protocols[p]);
            return 1;
        }
        seed to_res = {.b = {0, (uint8_t)p}, .n = 2}, to_ini = {.b = {1, (uint8_t)p}, .n = 2};
        uint8_t msg[1024], pl[1024];
        size_t len, plen;
        while (far__noise_hs_action(ini) != FAR__NOISE_SPLIT) {
            bool from_i = far__noise_hs_action(ini) == FAR__NOISE_WRITE;
            far__noise_hs *w = from_i ? ini : res, *r = from_i ? res : ini;
            if (far__noise_hs_write(w, noise_fuzz_payload, sizeof noise_fuzz_payload, msg,
                                    sizeof msg, &len) != FAR_OK ||
                far__noise_hs_read(r, msg, len, pl, sizeof pl, &plen) != FAR_OK) {
                fprintf(stderr, "seeds_noise: %s: handshake failed\n", noise_fuzz_protocols[p]);
                return 1;
            }
            frame(from_i ? &to_res : &to_ini, msg, len);
        }
        far__noise_cs itx, irx, rtx, rrx;
        if (far__noise_hs_split(ini, &itx, &irx, NULL, NULL) != FAR_OK ||
            far__noise_hs_split(res, &rtx, &rrx, NULL, NULL) != FAR_OK)
            return 1;
        for (uint64_t nonce = 0; nonce < 2; nonce++) {
            far__noise_seal(&itx, nonce, NULL, 0, noise_fuzz_payload, sizeof noise_fuzz_payload,
                            msg);
            frame(&to_res, msg, sizeof noise_fuzz_payload + 16);
            far__noise_seal(&rtx, nonce, NULL, 0, noise_fuzz_payload, sizeof noise_fuzz_payload,
                            msg);
            frame(&to_ini, msg, sizeof noise_fuzz_payload + 16);
        }
        char name[64];
        snprintf(name, sizeof name, "resp_%u", p);
        save(argv[1], name, &to_res);
        snprintf(name, sizeof name, "init_%u", p);
        save(argv[1], name, &to_ini);
        far__noise_hs_free(ini);
        far__noise_hs_free(res);

        /* transport: a sealed message with AD, one without */
        far__noise_cs cs = {.cipher = strstr(noise_fuzz_protocols[p], "AESGCM")
                                          ? FAR__NOISE_AESGCM
                                          : FAR__NOISE_CHACHAPOLY};
        noise_fuzz_key(cs.k, 20);
        seed t = {.b = {2, (uint8_t)p}, .n = 2};
        static const uint8_t ad[] = "call 7";
        uint8_t f[256];
        size_t fl = 0;
        const uint64_t nonce = 7;
        for (int i = 7; i >= 0; i--)
            f[fl++] = (uint8_t)(nonce >> (8 * i));
        f[fl++] = sizeof ad;
        memcpy(f + fl, ad, sizeof ad);
        fl += sizeof ad;
        far__noise_seal(&cs, nonce, ad, sizeof ad, noise_fuzz_payload, sizeof noise_fuzz_payload,
                        f + fl);
        fl += sizeof noise_fuzz_payload + 16;
        frame(&t, f, fl);
        fl = 0;
        for (int i = 7; i >= 0; i--)
            f[fl++] = 0;
        f[fl++] = 0;
        far__noise_seal(&cs, 0, NULL, 0, NULL, 0, f + fl);
        frame(&t, f, fl + 16);
        snprintf(name, sizeof name, "open_%u", p);
        save(argv[1], name, &t);
    }
    return 0;
}
