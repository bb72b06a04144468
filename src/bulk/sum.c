/* Bulk transfer: the checksums (a chunk's XXH3-64, the whole transfer's
 * XXH3-128 of them in offset order) and reading and writing a place's bytes. */
#include "bulk/bulk.h"

#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>
#include <xxhash.h>

uint64_t far__bulk_hash(const void *p, size_t n)
{
#if defined(FAR__BULK_HASH_X86)
    /* (one cpuid each, the first time; then cached by the compiler's runtime) */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
        return far__bulk_hash_avx512(p, n);
    if (__builtin_cpu_supports("avx2"))
        return far__bulk_hash_avx2(p, n);
#endif
    return XXH3_64bits(p, n);
}

far_err far__bulk_sum_init(far__bulk_sum *s, uint64_t chunk)
{
    memset(s, 0, sizeof *s);
    s->chunk = chunk;
    s->st = XXH3_createState();
    if (!s->st)
        return FAR_ENOMEM;
    XXH3_128bits_reset(s->st);
    return FAR_OK;
}

void far__bulk_sum_fini(far__bulk_sum *s)
{
    if (s->st)
        XXH3_freeState(s->st);
    if (s->part)
        XXH3_freeState(s->part);
    s->st = s->part = NULL;
}

void far__bulk_sum_reset(far__bulk_sum *s)
{
    XXH3_128bits_reset(s->st);
    s->next = 0;
    s->part_open = false;
    memset(s->ahead_used, 0, sizeof s->ahead_used);
}

static void feed(far__bulk_sum *s, uint64_t len, uint64_t h)
{
    uint8_t b[8];
    far_xdr_store_u64(b, h);
    XXH3_128bits_update(s->st, b, sizeof b);
    s->next += len;
}

bool far__bulk_sum_add(far__bulk_sum *s, uint64_t off, uint64_t len, uint64_t h)
{
    if (off < s->next)
        return true; /* counted already (a chunk sent again) */
    if (off != s->next) {
        uint64_t k = (off - s->next) / s->chunk;
        if (k >= FAR__BULK_REORDER)
            return false;
        unsigned i = (unsigned)((off / s->chunk) % FAR__BULK_REORDER);
        if (s->ahead_used[i] && s->ahead_off[i] != off)
            return false;
        s->ahead_used[i] = true;
        s->ahead_off[i] = off;
        s->ahead_len[i] = len;
        s->ahead_h[i] = h;
        return true;
    }
    feed(s, len, h);
    /* the chunks that were waiting for this one */
    for (;;) {
        unsigned i = (unsigned)((s->next / s->chunk) % FAR__BULK_REORDER);
        if (!s->ahead_used[i] || s->ahead_off[i] != s->next)
            break;
        s->ahead_used[i] = false;
        feed(s, s->ahead_len[i], s->ahead_h[i]);
    }
    return true;
}

void far__bulk_sum_digest(const far__bulk_sum *s, uint64_t *hi, uint64_t *lo)
{
    XXH128_hash_t d = XXH3_128bits_digest(s->st);
    *hi = d.high64;
    *lo = d.low64;
}

far_err far__bulk_read(const far__bulk_io *io, uint64_t off, void *buf, size_t n, const uint8_t **p)
{
    if (io->fd < 0) {
        if (off > io->cap || n > io->cap - off)
            return FAR_EIO;
        *p = io->mem + off;
        return FAR_OK;
    }
    size_t got = 0;
    for (int i = 0; got < n && i < 1000; i++) {
        ssize_t r = pread(io->fd, (uint8_t *)buf + got, n - got, (off_t)(io->base + off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return FAR_EIO;
        got += (size_t)r;
    }
    if (got < n)
        return FAR_EIO;
    *p = buf;
    return FAR_OK;
}

far_err far__bulk_write(const far__bulk_io *io, uint64_t off, const void *p, size_t n)
{
    if (io->fd < 0) {
        if (off > io->cap || n > io->cap - off)
            return FAR_ELIMIT;
        memcpy(io->mem + off, p, n);
        return FAR_OK;
    }
    size_t put = 0;
    for (int i = 0; put < n && i < 1000; i++) {
        ssize_t w =
            pwrite(io->fd, (const uint8_t *)p + put, n - put, (off_t)(io->base + off + put));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return FAR_EIO;
        put += (size_t)w;
    }
    return put == n ? FAR_OK : FAR_EIO;
}

static void part_close(far__bulk_sum *s)
{
    s->part_open = false;
    (void)far__bulk_sum_add(s, s->part_off, s->part_next - s->part_off,
                            XXH3_64bits_digest(s->part));
}

bool far__bulk_sum_piece(far__bulk_sum *s, uint64_t off, const void *p, size_t n, uint64_t last)
{
    uint64_t start = off - off % s->chunk, end = start + s->chunk;
    if (end > last)
        end = last;
    if (n == 0 || off + n > end)
        return false;
    if (off == start) {
        if (!s->part && !(s->part = XXH3_createState()))
            return false;
        XXH3_64bits_reset(s->part);
        s->part_off = s->part_next = start;
        s->part_open = true;
    } else if (!s->part_open || s->part_off != start || off != s->part_next) {
        return off < s->part_next && off >= s->part_off; /* (a piece had already) */
    }
    XXH3_64bits_update(s->part, p, n);
    s->part_next = off + n;
    if (s->part_next == end)
        part_close(s);
    return true;
}

void far__bulk_sum_piece_end(far__bulk_sum *s, uint64_t size)
{
    if (s->part_open && s->part_next == size)
        part_close(s);
}

uint64_t far__bulk_sum_in_order(const far__bulk_sum *s)
{
    return s->part_open && s->part_off == s->next ? s->part_next : s->next;
}

far_err far__bulk_sum_from(far__bulk_sum *s, const far__bulk_io *io, uint64_t upto)
{
    uint8_t *buf = io->fd >= 0 ? malloc(s->chunk) : NULL;
    if (io->fd >= 0 && !buf)
        return FAR_ENOMEM;
    far_err rc = FAR_OK;
    memset(s->ahead_used, 0, sizeof s->ahead_used);
    s->part_open = false;
    while (s->next < upto && rc == FAR_OK) {
        size_t n = (size_t)(upto - s->next < s->chunk ? upto - s->next : s->chunk);
        const uint8_t *p;
        rc = far__bulk_read(io, s->next, buf, n, &p);
        if (rc == FAR_OK)
            feed(s, n, far__bulk_hash(p, n));
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ test knob */

static _Atomic uint64_t pieces;

uint64_t far__bulk_test_pieces(void)
{
    return atomic_load(&pieces);
}

void far__bulk_count_piece(void)
{
    atomic_fetch_add_explicit(&pieces, 1, memory_order_relaxed);
}

static _Atomic uint64_t corrupt_at = UINT64_MAX;

void far__bulk_test_corrupt(uint64_t off)
{
    atomic_store(&corrupt_at, off);
}

bool far__bulk_test_corrupt_take(uint64_t off)
{
    uint64_t want = off;
    return atomic_load_explicit(&corrupt_at, memory_order_relaxed) == off &&
           atomic_compare_exchange_strong(&corrupt_at, &want, UINT64_MAX);
}
