/* Differential tests: what the generated test support (fargen
 * --test-support) needs, shared by the fargen side, the rpcgen side and the
 * driver.  The random stream is deterministic, so both sides build the same
 * value from the same seed. */
#ifndef FGT_H
#define FGT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fgt_rng {
    uint64_t s;
    int budget; /* optional data and recursive arrays still allowed */
} fgt_rng;

static inline uint64_t fgt_u64(fgt_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint32_t fgt_u32(fgt_rng *r)
{
    return (uint32_t)(fgt_u64(r) >> 32);
}

/* a length in 0..min(max, cap); the maximum itself now and then */
static inline uint32_t fgt_len(fgt_rng *r, uint32_t max, uint32_t cap)
{
    uint32_t m = max < cap ? max : cap;
    uint32_t k = fgt_u32(r);
    if ((k & 15) == 0 && max <= 64)
        return max;
    return (k >> 4) % (m + 1);
}

/* the length of an array of a recursive type, charged to the budget */
static inline uint32_t fgt_rlen(fgt_rng *r, uint32_t max)
{
    uint32_t n = fgt_len(r, max, 3);
    if ((int)n > r->budget)
        n = r->budget > 0 ? (uint32_t)r->budget : 0;
    r->budget -= (int)n;
    return n;
}

static inline bool fgt_more(fgt_rng *r)
{
    if (r->budget <= 0 || !(fgt_u32(r) & 1))
        return false;
    r->budget--;
    return true;
}

static inline void fgt_fill(fgt_rng *r, void *p, size_t n)
{
    uint8_t *b = (uint8_t *)p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)fgt_u32(r);
}

static inline void *fgt_calloc(size_t n, size_t size)
{
    return n ? calloc(n, size) : NULL;
}

static inline void *fgt_bytes(fgt_rng *r, uint32_t n)
{
    if (!n)
        return NULL;
    void *p = malloc(n);
    if (p)
        fgt_fill(r, p, n);
    return p;
}

static inline char *fgt_string(fgt_rng *r, uint32_t max)
{
    uint32_t n = fgt_len(r, max, 24);
    char *s = (char *)malloc((size_t)n + 1);
    if (!s)
        abort();
    for (uint32_t i = 0; i < n; i++)
        s[i] = (char)(1 + fgt_u32(r) % 255);
    s[n] = '\0';
    return s;
}

static inline bool fgt_same_bytes(const void *a, uint32_t na, const void *b, uint32_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na) == 0);
}

/* One type, as seen by one side. */
typedef struct fgt_type {
    const char *name;
    size_t size;
    void (*rand)(fgt_rng *r, void *v);
    bool (*eq)(const void *a, const void *b);
    bool (*enc)(const void *v, uint8_t *buf, size_t cap, size_t *len);
    /* arena: fargen only (NULL: heap mode); quiet: no message on failure */
    bool (*dec)(const uint8_t *buf, size_t len, void *v, void *arena, bool quiet);
    void (*release)(void *v, bool from_arena);
} fgt_type;

#define FGT_ENTRY(T)                                                                               \
    {                                                                                              \
#T, sizeof(T), fgt_rand_##T##_any, fgt_eq_##T##_any, fgt_enc_##T, fgt_dec_##T,             \
            fgt_release_##T                                                                        \
    }

#endif
