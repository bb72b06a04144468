/* farcall — per-message arena allocator.
 *
 * Decoded variable-length data (strings, opaques, arrays, optional data) is
 * allocated from an arena and freed all at once with far_arena_reset() or
 * far_arena_fini().  The arena counts every byte it hands out (far_arena_used)
 * and refuses to go past its maximum, so a hostile message can never make the
 * process allocate more than the configured bound.
 *
 * The struct is public so it can live on the stack; its fields are private.
 * A zeroed arena (`far_arena a = {0};`) is ready to use, with no initial
 * block and the default maximum; far_arena_init sets either.
 * An arena is not thread-safe: one thread uses it at a time.  Async calls
 * each need their own (the reply is decoded into it on the client's I/O
 * thread); several sync calls of one thread may share one, reset between
 * them when their results are no longer needed.
 */
#ifndef FARCALL_ARENA_H
#define FARCALL_ARENA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default maximum for an arena initialised with max == 0: 64 MiB. */
#define FAR_ARENA_DEFAULT_MAX ((size_t)64 << 20)

struct far__arena_chunk;

typedef struct far_arena {
    uint8_t *cur;                    /* next free byte in the current block */
    uint8_t *end;                    /* end of the current block */
    struct far__arena_chunk *chunks; /* heap blocks, newest first */
    size_t used;                     /* bytes handed out since the last reset */
    size_t max;                      /* limit on `used` */
    size_t peak;                     /* largest `used` seen (statistics) */
    uint8_t *initial;                /* caller's block, or NULL */
    size_t initial_len;
} far_arena;

/* Prepares `a`.  `initial` (may be NULL) is a caller-owned block used before any
 * heap block; it must outlive the arena.  `max` bounds the bytes handed out
 * between resets (0 means FAR_ARENA_DEFAULT_MAX).  Never fails. */
void far_arena_init(far_arena *a, void *initial, size_t initial_len, size_t max);

/* Frees every heap block.  far_arena_fini(NULL) does nothing. */
void far_arena_fini(far_arena *a);

/* Forgets every allocation at once.  Keeps one heap block for reuse so a
 * decode-reset loop does not call malloc after its first message. */
void far_arena_reset(far_arena *a);

/* Slow path of far_arena_alloc; do not call directly. */
void *far__arena_alloc_slow(far_arena *a, size_t n);

/* Returns `n` bytes aligned to 8, or NULL when the arena's maximum would be
 * exceeded or the system allocator fails.  n == 0 returns a valid pointer
 * (before the first block exists, cur is NULL: the slow path makes one). */
static inline void *far_arena_alloc(far_arena *a, size_t n)
{
    size_t r = (n + 7) & ~(size_t)7;
    if (r >= n && a->cur && (size_t)(a->end - a->cur) >= r && a->max - a->used >= r) {
        void *p = a->cur;
        a->cur += r;
        a->used += r;
        return p;
    }
    return far__arena_alloc_slow(a, n);
}

/* Bytes handed out since the last reset (rounded to 8 each). */
static inline size_t far_arena_used(const far_arena *a)
{
    return a->used;
}

#ifdef __cplusplus
}
#endif
#endif
