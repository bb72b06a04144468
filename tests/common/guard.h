/* Input buffers placed against a guard page (STYLE.md: "place buffers against
 * a guard page so an over-read crashes in the test rather than in the field").
 *
 *     guard_buf g;
 *     if (guard_init(&g, max_len) != 0) ...fail...
 *     const uint8_t *p = guard_place(&g, bytes, n);   // p[n] is unmapped
 *     ...decode p[0..n)...
 *     guard_fini(&g);
 *
 * guard_place leaves the readable pages read-only, so a decoder that writes
 * into its input crashes too.  The bytes before p are filled with 0xA5. */
#ifndef TESTS_GUARD_H
#define TESTS_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct guard_buf {
    uint8_t *map;   /* readable pages, then one PROT_NONE page */
    size_t map_len; /* whole mapping */
    size_t room;    /* readable bytes before the guard page */
} guard_buf;

/* Maps room for `max` bytes (rounded up to whole pages) and a guard page after
 * it.  Returns 0, or -1 with errno set. */
static inline int guard_init(guard_buf *g, size_t max)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = max / page + 1;
    memset(g, 0, sizeof *g);
    g->room = pages * page;
    g->map_len = g->room + page;
    void *m = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    g->map = m;
    if (mprotect(g->map + g->room, page, PROT_NONE) != 0) {
        munmap(g->map, g->map_len);
        g->map = NULL;
        return -1;
    }
    return 0;
}

/* Copies src[0..n) so that its last byte is the last readable byte before the
 * guard page, and makes the readable pages read-only.  Returns the copy, or
 * NULL if n is larger than the room or mprotect fails. */
static inline const uint8_t *guard_place(guard_buf *g, const void *src, size_t n)
{
    if (!g->map || n > g->room || mprotect(g->map, g->room, PROT_READ | PROT_WRITE) != 0)
        return NULL;
    uint8_t *p = g->map + g->room - n;
    memset(g->map, 0xA5, g->room - n);
    if (n)
        memcpy(p, src, n);
    if (mprotect(g->map, g->room, PROT_READ) != 0)
        return NULL;
    return p;
}

/* Unmaps the buffer.  guard_fini on a failed or finished guard does nothing. */
static inline void guard_fini(guard_buf *g)
{
    if (g->map)
        munmap(g->map, g->map_len);
    g->map = NULL;
}

#endif
