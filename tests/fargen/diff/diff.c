/* Differential test driver: for every type of one .x file, random values
 * built identically on both sides must encode to the same bytes with
 * fargen's code and with rpcgen + libtirpc's, and each side must decode the
 * other's bytes to a value equal to its own.  Half of the fargen decodes use
 * an arena, half the heap (then released with the generated free function).
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
            void *a2 = calloc(1, F->size), *b2 = calloc(1, R->size);
            if (!a || !b || !a2 || !b2)
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
            bool use_arena = i & 1;
            bool a2_ok = false, b2_ok = false;
            if (ok) {
                a2_ok = F->dec(buf_r, lr, a2, use_arena ? &arena : NULL);
                if (!a2_ok || !F->eq(a, a2)) {
                    fprintf(stderr, "%s #%ld: fargen's decoding of rpcgen's bytes %s\n", F->name, i,
                            a2_ok ? "differs" : "failed");
                    ok = false;
                }
                b2_ok = R->dec(buf_f, lf, b2, NULL);
                if (!b2_ok || !R->eq(b, b2)) {
                    fprintf(stderr, "%s #%ld: rpcgen's decoding of fargen's bytes %s\n", F->name, i,
                            b2_ok ? "differs" : "failed");
                    ok = false;
                }
            }
            F->release(a, false);
            F->release(a2, use_arena); /* a failed heap decode is freed too */
            R->release(b, false);
            R->release(b2, false);
            free(a), free(a2), free(b), free(b2);
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
