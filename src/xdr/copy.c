/* The XDR codec's copy of large opaques placed at the 4K-aliasing trap:
 * timed once per process, in pieces or with one memcpy, whichever is faster.
 * Small copies take far__xdr_copy_bytes's inline path (xdr_impl.h). */
#include <stdatomic.h>

#include "xdr/xdr_impl.h"

/* Large copies whose destination lies 1..63 bytes after the source modulo
 * 4 KiB hit a slow path in glibc's memcpy on some CPUs (shared/bench/anchors
 * README, "The 4K-aliasing trap": ~3 GB/s instead of ~50 GB/s), and an opaque
 * lands exactly there (4 bytes after its length word) when both buffers are
 * page-aligned.  Copying in 2 KiB pieces avoids that path, but on CPUs without
 * the trap the pieces are slower than one memcpy (bench/README.md: 64 vs 89
 * GB/s).  So the first such copy in a process times both ways on a 64 KiB
 * scratch buffer (well under a millisecond) and keeps the faster. */
static void copy_pieces(uint8_t *dst, const uint8_t *src, size_t n)
{
    while (n) {
        size_t k = n < 2048 ? n : 2048;
        memcpy(dst, src, k);
        dst += k;
        src += k;
        n -= k;
    }
}

enum { SKEW_UNKNOWN = 0, SKEW_PLAIN = 1, SKEW_PIECES = 2 };
static _Atomic int skew_mode = SKEW_UNKNOWN; /* process-wide tuning, like an ifunc */

static int skew_calibrate(void)
{
    enum { N = 64 * 1024, REPS = 5 };
    uint8_t *src = aligned_alloc(4096, N + 4096), *dst = aligned_alloc(4096, N + 4096);
    int mode = SKEW_PIECES; /* if we cannot measure, avoid the worst case */
    if (src && dst) {
        memset(src, 0x5a, N + 4096);
        memset(dst, 0, N + 4096);
        uint64_t plain = UINT64_MAX, pieces = UINT64_MAX;
        for (int r = 0; r < REPS; r++) {
            uint64_t t0 = far__now_ns();
            memcpy(dst + 4, src, N);
            __asm__ volatile("" : : "r"(dst) : "memory");
            uint64_t t1 = far__now_ns();
            copy_pieces(dst + 4, src, N);
            __asm__ volatile("" : : "r"(dst) : "memory");
            uint64_t t2 = far__now_ns();
            plain = t1 - t0 < plain ? t1 - t0 : plain;
            pieces = t2 - t1 < pieces ? t2 - t1 : pieces;
        }
        /* pieces must win clearly: a tie keeps the simpler plain memcpy */
        mode = pieces * 10 < plain * 9 ? SKEW_PIECES : SKEW_PLAIN;
    }
    free(src);
    free(dst);
    return mode;
}

__attribute__((noinline)) void far__xdr_copy_skewed(uint8_t *dst, const uint8_t *src, size_t n)
{
    int mode = atomic_load_explicit(&skew_mode, memory_order_relaxed);
    if (mode == SKEW_UNKNOWN) {
        mode = skew_calibrate(); /* two threads may both measure: harmless */
        atomic_store_explicit(&skew_mode, mode, memory_order_relaxed);
    }
    if (mode == SKEW_PIECES)
        copy_pieces(dst, src, n);
    else
        memcpy(dst, src, n);
}
