/* aead_bench: the privacy level's cipher alone, as the runtime calls it, and
 * what that allows a 1 MiB echo at the privacy level (issue #11 item 7).
 *
 *   aead_bench [BYTES [N]]      (default 1048576 and 300)
 *
 * Seals BYTES in the chunks a PRIV body is cut into (65504 bytes of
 * plaintext, each with its 16-byte tag: src/msg/sec.c) with a prepared
 * AES-256-GCM session key (far__noise_seal, explicit nonces), then opens
 * them (far__noise_open), N times, on one thread.  An echo makes four such
 * passes in all -- the client seals the call, the server opens it, seals the
 * reply, the client opens it -- so with the two processes on one core the
 * echo cannot beat BYTES / (4 passes' time), whatever else it does; on two
 * cores, only if the passes of the two sides overlap.  Which AES-GCM runs is
 * the runtime's choice (GnuTLS unless $FARCALL_AEAD=libsodium); run it once
 * each way to compare.  Output: one line of key=value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "noise/noise.h"

#define CHUNK 65504u /* as src/msg/sec.c */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t bytes = argc > 1 ? strtoull(argv[1], NULL, 0) : 1048576;
    long n = argc > 2 ? atol(argv[2]) : 300;
    if (bytes == 0 || bytes > (1u << 30) || n < 1 || n > 100000) {
        fprintf(stderr, "usage: aead_bench [BYTES (1..2^30) [N (1..100000)]]\n");
        return 2;
    }
    if (!far__noise_aesgcm_available()) {
        printf("aead impl=none (no AES-NI: the privacy level runs ChaChaPoly)\n");
        return 0;
    }
    size_t chunks = (bytes + CHUNK - 1) / CHUNK;
    uint8_t *pt = malloc(bytes), *ct = malloc(bytes + chunks * FAR__NOISE_TAGLEN),
            *back = malloc(bytes);
    if (!pt || !ct || !back)
        return 1;
    for (size_t i = 0; i < bytes; i++)
        pt[i] = (uint8_t)(i * 131);
    far__noise_cs cs = {.cipher = FAR__NOISE_AESGCM};
    for (int i = 0; i < FAR__NOISE_KEYLEN; i++)
        cs.k[i] = (uint8_t)(i + 1);
    far__noise_cs_prepare(&cs);
    double seal = 0, open = 0;
    for (long r = -3; r < n; r++) { /* three warm-up rounds, not counted */
        double t0 = now_s();
        for (size_t c = 0, off = 0; c < chunks; c++, off += CHUNK) {
            size_t k = bytes - off < CHUNK ? bytes - off : CHUNK;
            if (far__noise_seal(&cs, (uint64_t)r << 20 | c, NULL, 0, pt + off, k,
                                ct + off + c * FAR__NOISE_TAGLEN) != FAR_OK)
                return 1;
        }
        double t1 = now_s();
        for (size_t c = 0, off = 0; c < chunks; c++, off += CHUNK) {
            size_t k = bytes - off < CHUNK ? bytes - off : CHUNK;
            if (far__noise_open(&cs, (uint64_t)r << 20 | c, NULL, 0,
                                ct + off + c * FAR__NOISE_TAGLEN, k + FAR__NOISE_TAGLEN,
                                back + off) != FAR_OK)
                return 1;
        }
        double t2 = now_s();
        if (r >= 0)
            seal += t1 - t0, open += t2 - t1;
    }
    if (memcmp(pt, back, bytes) != 0) {
        fprintf(stderr, "aead_bench: the bytes opened are not the bytes sealed\n");
        return 1;
    }
    far__noise_cs_wipe(&cs);
    double ps = seal / (double)n, po = open / (double)n;
    /* the echo's four passes: two seals, two opens */
    double ceiling = (double)bytes / (2 * ps + 2 * po) / 1e6;
    printf("aead impl=%s bytes=%zu seal_MB_s=%.0f open_MB_s=%.0f four_passes_us=%.1f "
           "echo_ceiling_same_core_MB_s=%.0f\n",
           far__noise_aesgcm_impl(), bytes, (double)bytes / ps / 1e6, (double)bytes / po / 1e6,
           (2 * ps + 2 * po) * 1e6, ceiling);
    free(pt);
    free(ct);
    free(back);
    return 0;
}
