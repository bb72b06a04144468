/* Bulk transfer's internal header (farcall/bulk.h is the public one).  The
 * files, each one job:
 *   sum.c     the checksums: a chunk's XXH3-64 and the whole transfer's
 *             XXH3-128 of them, kept in offset order through a small reorder
 *             window; reading and writing the bytes of a place (file, memory)
 *   server.c  the server side: transfers bound to calls, the FAR_BULK
 *             program (OPEN, PULL, PUSH, DONE), stores' temporary files, the
 *             cut stores kept for resuming, the bounds
 *   client.c  the client side: a call made with far_call_opts.bulk -- the
 *             call, then a window of PULLs or PUSHes on its connection, DONE,
 *             the call's reply; resuming from a spec's outputs
 * docs/bulk.md says why it is built this way. */
#ifndef FARCALL_BULK_IMPL_H
#define FARCALL_BULK_IMPL_H

#include "farcall/bulk.h"
#include "farcall/rpc.h"
#include "hooks.h"
#include "internal.h"

#include "far_bulk.h"

#include <pthread.h>

#define FAR__BULK_CHUNK    (256u << 10) /* default chunk (docs/bulk.md: why 256 KiB) */
#define FAR__BULK_WINDOW   4u
#define FAR__BULK_STALL_MS 30000u
#define FAR__BULK_REORDER  64u /* chunk checksums held out of order, at most */
/* A fetch yields to the other calls of its client: while they come (one
 * made in the last FAR__BULK_YIELD_NS), its chunks are PULLed in pieces of
 * FAR__BULK_PIECE, one at a time (docs/bulk.md, "Small calls during a
 * transfer"). */
#define FAR__BULK_PIECE    (8u << 10)
#define FAR__BULK_YIELD_NS (20u * 1000000u)

/* The checksum of a whole transfer: XXH3-128 of its chunks' XXH3-64 values
 * in offset order (far_bulk.x).  Chunks may complete out of order (a window
 * of them is in flight); those ahead of the next one wait in a small table.
 * Its memory is fixed: no peer can make it grow. */
typedef struct far__bulk_sum {
    void *st; /* XXH3_state_t */
    uint64_t chunk;
    uint64_t next; /* offset of the next chunk to enter the checksum */
    uint64_t ahead_off[FAR__BULK_REORDER];
    uint64_t ahead_len[FAR__BULK_REORDER];
    uint64_t ahead_h[FAR__BULK_REORDER];
    bool ahead_used[FAR__BULK_REORDER];
    /* a chunk coming in pieces (a transfer that yields to small calls):
     * its XXH3-64 taken as they come, in order, [part_off, part_next) */
    void *part; /* XXH3_state_t, made at the first piece */
    uint64_t part_off, part_next;
    bool part_open;
} far__bulk_sum;

far_err far__bulk_sum_init(far__bulk_sum *s, uint64_t chunk);
/* A piece of a chunk, [off, off+n) of the transfer at p (not a whole
 * chunk): the chunk's checksum is taken across its pieces, which must come
 * in order from the chunk's start; once they reach the chunk's end, or
 * `last` (the transfer's end, if known), the chunk enters the checksum as a
 * whole one would.  False: out of order (or out of memory): not counted. */
bool far__bulk_sum_piece(far__bulk_sum *s, uint64_t off, const void *p, size_t n, uint64_t last);
/* A store's end: a chunk begun in pieces that ends at `size` is counted. */
void far__bulk_sum_piece_end(far__bulk_sum *s, uint64_t size);
/* The bytes had in order from 0: the chunks counted, and a chunk's pieces
 * that follow them. */
uint64_t far__bulk_sum_in_order(const far__bulk_sum *s);
void far__bulk_sum_fini(far__bulk_sum *s);
/* Starts over at offset 0. */
void far__bulk_sum_reset(far__bulk_sum *s);
/* The chunk at `off` (a multiple of the chunk size) of `len` bytes has
 * checksum h.  False if it is too far ahead of the next one to be held (the
 * caller refuses it); a chunk before `next` was counted already (true). */
bool far__bulk_sum_add(far__bulk_sum *s, uint64_t off, uint64_t len, uint64_t h);
/* XXH3-128 of what has entered, as two halves. */
void far__bulk_sum_digest(const far__bulk_sum *s, uint64_t *hi, uint64_t *lo);
/* A chunk's checksum: XXH3-64, with the processor's widest vectors. */
uint64_t far__bulk_hash(const void *p, size_t n);
#if defined(FAR__BULK_HASH_X86)
uint64_t far__bulk_hash_avx2(const void *p, size_t n);   /* hash_avx2.c */
uint64_t far__bulk_hash_avx512(const void *p, size_t n); /* hash_avx512.c */
#endif

/* A place the bytes are read from or written to: a descriptor from a base
 * offset, or memory. */
typedef struct far__bulk_io {
    int fd; /* -1: memory */
    uint64_t base;
    uint8_t *mem;
    uint64_t cap; /* memory: its bytes */
} far__bulk_io;

/* Reads [off, off+n) into buf (or, memory, points *p at it).  FAR_OK, or
 * FAR_EIO (a short file: the source changed). */
far_err far__bulk_read(const far__bulk_io *io, uint64_t off, void *buf, size_t n,
                       const uint8_t **p);
far_err far__bulk_write(const far__bulk_io *io, uint64_t off, const void *p, size_t n);
/* Feeds the checksums of [s->next, upto) of io into s, reading it (used to
 * resume, and by a sender whose chunks went out of order).  FAR_OK or
 * FAR_EIO / FAR_ENOMEM. */
far_err far__bulk_sum_from(far__bulk_sum *s, const far__bulk_io *io, uint64_t upto);

/* client.c: the driver of a call made with far_call_opts.bulk (hooks.c). */
far_err far__bulk_client_call(struct far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                              far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec,
                              void *res, far_arena *arena, const struct far_call_opts *opts);
/* client.c: decodes a PULL's result straight into the sink (the one
 * hand-written decoder of the bulk layer: fuzz/fuzz_bulk.c). */
typedef struct far__bulk_pull_slot {
    const far__bulk_io *sink;
    uint64_t off;   /* asked for */
    uint32_t count; /* asked for: the most bytes taken */
    uint32_t stat;  /* far_bulk_stat */
    uint32_t got;   /* bytes written */
    uint64_t h;     /* their checksum */
    bool damaged;   /* the checksum did not match: nothing written (or, placed, wiped) */
    bool placed;    /* far__bulk_pull_place took the data: it was opened into the sink */
} far__bulk_pull_slot;
bool far__bulk_pull_res_decode(far_xdr_dec *d, void *slot);
/* client.c: where a PULL reply's data may be opened straight to
 * (far__bulk_placer, hooks.h): a memory sink at the offset asked for, when
 * the results' first bytes are a whole chunk's header as asked and the
 * results are exactly that long.  Marks the slot placed; the decoder then
 * finds the data in the sink and checks it there. */
bool far__bulk_pull_place(void *slot, const uint8_t *head, size_t head_len, size_t plain_len,
                          size_t *at, size_t *len, uint8_t **dst);

/* Test knobs: the next chunk sent at `off` (a PUSH's data, a PULL reply's)
 * has one byte flipped after its checksum was taken (UINT64_MAX: none). */
void far__bulk_test_corrupt(uint64_t off);
/* Pieces of chunks a client sent or asked for (it yielded), in this process. */
uint64_t far__bulk_test_pieces(void);
void far__bulk_count_piece(void);
bool far__bulk_test_corrupt_take(uint64_t off);

#endif
