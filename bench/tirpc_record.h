/* The libtirpc half of xdr_bench: rpcgen's xdr_record and xdr_bytes on an
 * xdrmem stream, measured exactly as the anchor's xdrbench does.  Kept in its
 * own file because rpcgen's bench.h and farcall's record_xdr.h both define
 * `struct record`. */
#ifndef BENCH_TIRPC_RECORD_H
#define BENCH_TIRPC_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Encodes the bench record `iters` times into buf[0..cap); returns ns per
 * record and sets *len to the encoded length (buf keeps the encoding). */
double tirpc_record_encode_ns(long iters, uint8_t *buf, size_t cap, size_t *len);

/* Decodes buf[0..len) `iters` times into preallocated name/values buffers;
 * returns ns per record.  Dies if the result is not the bench record. */
double tirpc_record_decode_ns(long iters, const uint8_t *buf, size_t len);

/* Decodes into a zeroed struct (libtirpc allocates) and xdr_free()s it, the
 * usual rpcgen pattern; returns ns per record. */
double tirpc_record_decode_alloc_ns(long iters, const uint8_t *buf, size_t len);

/* xdr_bytes of `n` bytes between the stream at `stream` and the user buffer
 * `user` (source when encoding, destination when decoding); GB/s of payload. */
double tirpc_bytes_gbps(int encode, uint8_t *stream, uint8_t *user, uint32_t n, long iters);

#endif
