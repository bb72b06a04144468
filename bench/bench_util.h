/* Shared by the benchmark's two halves: the clock, the values of the record
 * both codecs encode, and a fatal-error exit. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The record of the libtirpc anchor's xdrbench: 132 bytes of XDR. */
#define BENCH_ID     42
#define BENCH_STAMP  0x0123456789abcdefLL
#define BENCH_NAME   "a-typical-record-name-of-32-char"
#define BENCH_TAG    0xab /* every byte of tag[16] */
#define BENCH_VALUES 16   /* values[i] = i * 1000 */

/* Keeps the compiler from merging or dropping loop iterations that write
 * memory nobody reads inside the loop. */
#define BENCH_CLOBBER() __asm__ volatile("" ::: "memory")

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bench_die(const char *what)
{
    fprintf(stderr, "xdr_bench: %s\n", what);
    exit(2);
}

#endif
