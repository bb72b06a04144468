/* A small deterministic PRNG for tests (splitmix64, Steele et al. 2014).
 *
 * Runs must be reproducible: every test seeds from a fixed default, which the
 * FARCALL_TEST_SEED environment variable (decimal or 0x-hex) overrides, and
 * prints the seed it used so a failure can be replayed. */
#ifndef TESTS_PRNG_H
#define TESTS_PRNG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct prng {
    uint64_t s;
} prng;

static inline uint64_t prng_u64(prng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline uint32_t prng_u32(prng *r)
{
    return (uint32_t)(prng_u64(r) >> 32);
}

/* A value in [0, n) (n > 0); the tiny modulo bias does not matter here. */
static inline uint32_t prng_below(prng *r, uint32_t n)
{
    return (uint32_t)(prng_u64(r) % n);
}

/* Fills n bytes with random data. */
static inline void prng_fill(prng *r, void *dst, size_t n)
{
    uint8_t *p = dst;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(prng_u64(r) >> 56);
}

/* Seeds `r` from FARCALL_TEST_SEED, or `dflt`, and prints what was used
 * under `what` (the test's name). */
static inline void prng_init(prng *r, uint64_t dflt, const char *what)
{
    const char *env = getenv("FARCALL_TEST_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 0) : dflt;
    r->s = seed;
    printf("# %s: seed 0x%016llx (set FARCALL_TEST_SEED to replay)\n", what,
           (unsigned long long)seed);
}

#endif
