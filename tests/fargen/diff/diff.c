/* Differential test driver: for every type of one .x file, random values
 * built identically on both sides must encode to the same bytes with
 * fargen's code and with rpcgen + libtirpc's, and each side must decode the
 * other's bytes to a value equal to its own.  fargen decodes every value
 * twice, with an arena and in heap mode (no arena: malloc), and releases the
 * heap one with the generated T_free; it also decodes a truncated copy in
 * heap mode, which must fail, and frees what that left.  The random values
 * themselves (built with malloc) are released with T_free too, so under ASan
 * a T_free that frees the wrong union arm, or misses one, is caught.
 *
 * usage: fargen_diff_NAME [ITERATIONS]   (default 1000 per type) */
#include <stdio.h>
#include <stdlib.h>

#include <farcall/arena.h>

#include "fgt.h"

extern const fgt_type fgt_fargen_types[], fgt_rpcgen_types[];
extern const size_t fgt_fargen_ntypes, fgt_rpcgen_ntypes;

static uint8_t buf_f[1 << 20], buf_r[1 << 20];

static void dump(const char *who, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s (%zu bytes):", who, n);
    for (size_t i = 0; i < n && i < 256; i++)
        fprintf(stderr, "%s%02x", i % 4 ? "" : " ", p[i]);
    fprintf(stderr, "%s\n", n > 256 ? " ..." : "");
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    if (fgt_fargen_ntypes != fgt_rpcgen_ntypes || fgt_fargen_ntypes == 0) {
        fprintf(stderr, "type tables differ: %zu vs %zu\n", fgt_fargen_ntypes, fgt_rpcgen_ntypes);
        return 1;
    }
    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);
    long total = 0, failures = 0;
    for (size_t t = 0; t < fgt_fargen_ntypes; t++) {
        const fgt_type *F = &fgt_fargen_types[t], *R = &fgt_rpcgen_types[t];
        if (strcmp(F->name, R->name) != 0) {
            fprintf(stderr, "type %zu: %s vs %s\n", t, F->name, R->name);
            return 1;
        }
        long bad = 0;
        for (long i = 0; i < iters && bad < 3; i++) {
            uint64_t seed = (uint64_t)t * 1000003u + (uint64_t)i + 1;
            fgt_rng rf = {seed, 8}, rr = {seed, 8};
            void *a = calloc(1, F->size), *b = calloc(1, R->size);
            void *ah = calloc(1, F->size), *aa = calloc(1, F->size), *at = calloc(1, F->size);
            void *b2 = calloc(1, R->size);
            if (!a || !b || !ah || !aa || !at || !b2)
                abort();
            F->rand(&rf, a);
            R->rand(&rr, b);
            size_t lf = 0, lr = 0;
            bool ok = true;
            if (!F->enc(a, buf_f, sizeof buf_f, &lf) || !R->enc(b, buf_r, sizeof buf_r, &lr)) {
                fprintf(stderr, "%s #%ld: encoding failed\n", F->name, i);
                ok = false;
            } else if (lf != lr || memcmp(buf_f, buf_r, lf) != 0) {
                fprintf(stderr, "%s #%ld: encodings differ\n", F->name, i);
                dump("fargen", buf_f, lf);
                dump("rpcgen", buf_r, lr);
                ok = false;
            }
            if (ok) {
                /* heap mode: freed below with T_free, also after a failure */
                bool h_ok = F->dec(buf_r, lr, ah, NULL, false);
                if (!h_ok || !F->eq(a, ah)) {
                    fprintf(stderr, "%s #%ld: fargen's heap-mode decoding of rpcgen's bytes %s\n",
                            F->name, i, h_ok ? "differs" : "failed");
                    ok = false;
                }
                bool a_ok = F->dec(buf_r, lr, aa, &arena, false);
                if (!a_ok || !F->eq(a, aa)) {
                    fprintf(stderr, "%s #%ld: fargen's arena decoding of rpcgen's bytes %s\n",
                            F->name, i, a_ok ? "differs" : "failed");
                    ok = false;
                }
                bool b_ok = R->dec(buf_f, lf, b2, NULL, false);
                if (!b_ok || !R->eq(b, b2)) {
                    fprintf(stderr, "%s #%ld: rpcgen's decoding of fargen's bytes %s\n", F->name, i,
                            b_ok ? "differs" : "failed");
                    ok = false;
                }
                /* a truncated copy: the heap-mode decode fails part way, and
                 * T_free releases exactly what it allocated */
                if (lr >= 4) {
                    size_t cut = (size_t)(seed % (lr / 4)) * 4;
                    if (F->dec(buf_r, cut, at, NULL, true)) {
                        fprintf(stderr, "%s #%ld: %zu of %zu bytes decoded\n", F->name, i, cut, lr);
                        ok = false;
                    }
                }
            }
            F->release(a, false);
            F->release(ah, false);
            F->release(at, false);
            R->release(b, false);
            R->release(b2, false);
            free(a), free(ah), free(aa), free(at), free(b), free(b2);
            far_arena_reset(&arena);
            total++;
            if (!ok)
                bad++;
        }
        failures += bad;
        printf("%-24s %s\n", F->name, bad ? "FAILED" : "ok");
    }
    far_arena_fini(&arena);
    printf("%zu types, %ld values, %ld failures\n", fgt_fargen_ntypes, total, failures);
    return failures ? 1 : 0;
}
