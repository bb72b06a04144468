/* Per-message arena: bump allocation from a caller block, then heap blocks. */
#include "internal.h"

struct far__arena_chunk {
    struct far__arena_chunk *next;
    size_t size; /* usable bytes after the header */
    void *ext;   /* an adopted block (far__arena_adopt): size 0, freed with the node */
    _Alignas(16) uint8_t data[];
};

enum { CHUNK_MIN = 4096 - sizeof(struct far__arena_chunk) };

FAR__API void far_arena_init(far_arena *a, void *initial, size_t initial_len, size_t max)
{
    memset(a, 0, sizeof *a);
    /* Every allocation is a multiple of 8, so a maximum rounded down to 8
     * bounds the same allocations, and "n > max - used" then tells exactly
     * when the limit is what refused n bytes (far_xdr_alloc's FAR_ELIMIT). */
    a->max = (max ? max : FAR_ARENA_DEFAULT_MAX) & ~(size_t)7;
    /* keep the caller's block 8-aligned */
    if (initial && initial_len >= 8) {
        uintptr_t p = ((uintptr_t)initial + 7) & ~(uintptr_t)7;
        size_t skip = p - (uintptr_t)initial;
        a->initial = (uint8_t *)p;
        a->initial_len = (initial_len - skip) & ~(size_t)7;
    }
    a->cur = a->initial;
    a->end = a->initial ? a->initial + a->initial_len : NULL;
}

FAR__API void far_arena_fini(far_arena *a)
{
    if (!a)
        return;
    struct far__arena_chunk *c = a->chunks, *next;
    for (; c; c = next) {
        next = c->next;
        free(c->ext);
        free(c);
    }
    a->chunks = NULL;
    a->cur = a->end = NULL;
    a->used = 0;
}

bool far__arena_adopt(far_arena *a, void *block)
{
    struct far__arena_chunk *n = malloc(sizeof *n);
    if (!n)
        return false;
    n->size = 0;
    n->ext = block;
    /* Behind the newest heap block, which stays the head (the block reset
     * keeps and allocation continues in). */
    struct far__arena_chunk *h = a->chunks;
    if (h && !h->ext) {
        n->next = h->next;
        h->next = n;
    } else {
        n->next = h;
        a->chunks = n;
    }
    return true;
}

FAR__API void far_arena_reset(far_arena *a)
{
    if (a->used > a->peak)
        a->peak = a->used;
    a->used = 0;
    /* Keep the newest (largest) heap block for the next message; free the
     * rest, adopted blocks included. */
    struct far__arena_chunk *keep = NULL, *c = a->chunks, *next;
    for (; c; c = next) {
        next = c->next;
        if (!keep && !c->ext) {
            keep = c;
            continue;
        }
        free(c->ext);
        free(c);
    }
    a->chunks = keep;
    if (keep)
        keep->next = NULL;
    if (a->initial) {
        a->cur = a->initial;
        a->end = a->initial + a->initial_len;
        /* the kept block is used once the initial block is full */
    } else if (keep) {
        a->cur = keep->data;
        a->end = keep->data + keep->size;
    } else {
        a->cur = a->end = NULL;
    }
}

FAR__API void *far__arena_alloc_slow(far_arena *a, size_t n)
{
    if (a->max == 0)
        a->max = FAR_ARENA_DEFAULT_MAX; /* a zeroed arena ({0}): the default limit */
    size_t r = (n + 7) & ~(size_t)7;
    if (r < n || a->max - a->used < r)
        return NULL; /* over the arena's limit: never ask the system */
    /* A kept block that is not current yet (after reset with an initial block). */
    struct far__arena_chunk *c = a->chunks;
    if (c && !(a->cur >= c->data && a->cur <= c->data + c->size) && c->size >= r) {
        a->cur = c->data;
        a->end = c->data + c->size;
    } else {
        size_t want = r > CHUNK_MIN ? r : CHUNK_MIN;
        if (c && c->size * 2 > want)
            want = c->size * 2; /* grow geometrically with the arena's use */
        if (want > a->max - a->used)
            want = a->max - a->used; /* never reserve past the limit (>= r here) */
        c = malloc(sizeof *c + want);
        if (!c)
            return NULL;
        c->size = want;
        c->ext = NULL;
        c->next = a->chunks;
        a->chunks = c;
        a->cur = c->data;
        a->end = c->data + want;
    }
    void *p = a->cur;
    a->cur += r;
    a->used += r;
    return p;
}
