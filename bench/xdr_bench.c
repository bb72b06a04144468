/* xdr_bench - farcall's XDR codec against rpcgen + libtirpc, in one process.
 *
 *   xdr_bench [ITERS]      (default 1000000; 1000..100000000)
 *
 * Prints one line of key=value pairs; bench/run.sh runs it several times
 * pinned to one CPU and prints medians (bench/README.md explains each row).
 *
 * The record of bench.x (132 bytes of XDR), ITERS times each:
 *   far_enc_ns           record_encode into a fixed buffer (encoder reset each time)
 *   far_dec_alloc_ns     record_decode allocating from an arena, then far_arena_reset
 *   far_dec_prealloc_ns  decode into preallocated name/values buffers
 *   tirpc_*_ns           the same with xdrmem + rpcgen's xdr_record, as the
 *                        anchor's xdrbench (allocating decode: zeroed struct +
 *                        xdr_free)
 *   *_ratio              libtirpc ns / farcall ns (> 1: farcall is faster)
 * A 64 KiB opaque, ITERS/50 times each (GB/s = 10^9 bytes of payload per second):
 *   memcpy64k_gbps       plain memcpy, dst - src = 64 (mod 4096)
 *   memcpy64k_alias_gbps plain memcpy, dst - src = 4: the 4K-aliasing trap
 *   put64k_gbps          far_xdr_put_opaque, payload 64-byte aligned in the buffer
 *   put64k_alias_gbps    far_xdr_put_opaque, page-aligned source and buffer
 *                        (payload at +4: the trap's placement)
 *   get64k_gbps          far_xdr_get_opaque into an arena, dst - src = 4032
 *   get64k_alias_gbps    far_xdr_get_opaque into an arena, dst - src = 4
 *   getzc64k_ns          far_xdr_get_opaque zero-copy: ns per call (no copy)
 *   *64k*_ratio          farcall GB/s / memcpy64k_gbps
 *   tirpc_bytes64k_*     libtirpc xdr_bytes encode, both placements
 */
#include <string.h>

#include "bench_util.h"
#include "bench.h" /* fargen's, from bench.x */
#include "tirpc_record.h"

enum { BIG = 64 * 1024 };

static void fill(record *r, char *name, int32_t *vals)
{
    memset(r, 0, sizeof *r);
    r->id = BENCH_ID;
    r->stamp = BENCH_STAMP;
    strcpy(name, BENCH_NAME);
    r->name = name;
    memset(r->tag, BENCH_TAG, sizeof r->tag);
    for (int i = 0; i < BENCH_VALUES; i++)
        vals[i] = i * 1000;
    r->values.values_len = BENCH_VALUES;
    r->values.values_val = vals;
}

static void check(const record *o, const record *want)
{
    if (o->id != want->id || o->stamp != want->stamp || strcmp(o->name, want->name) ||
        memcmp(o->tag, want->tag, sizeof o->tag) ||
        o->values.values_len != want->values.values_len ||
        memcmp(o->values.values_val, want->values.values_val,
               sizeof(int32_t) * want->values.values_len))
        bench_die("farcall decoded something else");
}

/* One record per call, not inlined into the timing loop: the cost measured is
 * that of a generated codec in its own function, as rpcgen's xdr_record is. */
static __attribute__((noinline)) bool encode_one(far_xdr_enc *e, const record *r)
{
    far_xdr_enc_reset(e);
    return record_encode(e, r);
}

static __attribute__((noinline)) bool decode_one(far_arena *a, const uint8_t *buf, size_t len,
                                                 record *out)
{
    far_xdr_dec d;
    far_xdr_dec_init(&d, buf, len, a, 0);
    return record_decode(&d, out) && far_xdr_dec_done(&d);
}

/* The rpcgen pattern of a caller that provides name[65] and values[16]:
 * strings are read in place and copied, the array is read into the buffer. */
static __attribute__((noinline)) bool decode_prealloc_one(const uint8_t *buf, size_t len, record *v)
{
    far_xdr_dec d;
    far_xdr_dec_init(&d, buf, len, NULL, 0);
    const char *s;
    uint32_t n;
    if (!far_xdr_get_i32(&d, &v->id) || !far_xdr_get_i64(&d, &v->stamp) ||
        !far_xdr_get_string_ref(&d, &s, &n, 64))
        return false;
    memcpy(v->name, s, n);
    v->name[n] = '\0';
    if (!far_xdr_get_opaque_fixed(&d, v->tag, 16) || !far_xdr_get_count(&d, &n, 16, 4) ||
        !far_xdr_get_u32_array(&d, (uint32_t *)v->values.values_val, n))
        return false;
    v->values.values_len = n;
    return far_xdr_dec_done(&d);
}

static double far_encode_ns(long iters, uint8_t *buf, size_t cap, size_t *len)
{
    char name[65];
    int32_t vals[BENCH_VALUES];
    record r;
    far_xdr_enc e;
    fill(&r, name, vals);
    far_xdr_enc_init(&e, buf, cap);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        if (!encode_one(&e, &r))
            bench_die("farcall encode");
    }
    double ns = (double)(bench_now_ns() - t0) / (double)iters;
    *len = far_xdr_enc_len(&e);
    far_xdr_enc_fini(&e);
    return ns;
}

static double far_decode_alloc_ns(long iters, const uint8_t *buf, size_t len)
{
    char name[65];
    int32_t vals[BENCH_VALUES];
    record r, o;
    far_arena a;
    fill(&r, name, vals);
    far_arena_init(&a, NULL, 0, 0);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        if (!decode_one(&a, buf, len, &o))
            bench_die("farcall decode");
        far_arena_reset(&a);
    }
    double ns = (double)(bench_now_ns() - t0) / (double)iters;
    if (!decode_one(&a, buf, len, &o))
        bench_die("farcall decode");
    check(&o, &r);
    far_arena_fini(&a);
    return ns;
}

static double far_decode_prealloc_ns(long iters, const uint8_t *buf, size_t len)
{
    char name[65], rname[65];
    int32_t vals[BENCH_VALUES], rvals[BENCH_VALUES];
    record r, o;
    fill(&r, name, vals);
    memset(&o, 0, sizeof o);
    o.name = rname;
    o.values.values_val = rvals;
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        if (!decode_prealloc_one(buf, len, &o))
            bench_die("farcall decode (preallocated)");
    }
    double ns = (double)(bench_now_ns() - t0) / (double)iters;
    check(&o, &r);
    return ns;
}

/* ------------------------------------------------------- 64 KiB opaque */

static size_t skew(const void *dst, const void *src)
{
    return ((uintptr_t)dst - (uintptr_t)src) & 4095;
}

static double gbps(long iters, uint64_t t0)
{
    return (double)BIG * (double)iters / (double)(bench_now_ns() - t0);
}

static double memcpy_gbps(uint8_t *dst, const uint8_t *src, long iters)
{
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        memcpy(dst, src, BIG);
        BENCH_CLOBBER();
    }
    return gbps(iters, t0);
}

/* far_xdr_put_opaque of the payload into an encoder on `stream`. */
static double put_gbps(uint8_t *stream, const uint8_t *payload, long iters)
{
    far_xdr_enc e;
    far_xdr_enc_init(&e, stream, BIG + 8);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        far_xdr_enc_reset(&e);
        if (!far_xdr_put_opaque(&e, payload, BIG, FAR_XDR_UNBOUNDED))
            bench_die("far_xdr_put_opaque");
        BENCH_CLOBBER();
    }
    double r = gbps(iters, t0);
    if (memcmp(stream + 4, payload, BIG) != 0)
        bench_die("far_xdr_put_opaque wrote something else");
    far_xdr_enc_fini(&e);
    return r;
}

/* far_xdr_get_opaque of the opaque encoded at `stream`, from an arena whose
 * block is `block` (so the copy's destination is known); *ns_per_call gets
 * the time per call.  Returns GB/s. */
static double get_gbps(const uint8_t *stream, uint8_t *block, unsigned flags,
                       const uint8_t *payload, long iters, size_t want_skew, double *ns_per_call)
{
    far_arena a;
    far_arena_init(&a, block, BIG + 64, 0);
    uint8_t *p = NULL;
    uint32_t n = 0;
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        far_xdr_dec d;
        far_arena_reset(&a);
        far_xdr_dec_init(&d, stream, BIG + 4, &a, flags);
        if (!far_xdr_get_opaque(&d, &p, &n, FAR_XDR_UNBOUNDED) || n != BIG)
            bench_die("far_xdr_get_opaque");
        BENCH_CLOBBER();
    }
    double r = gbps(iters, t0);
    if (ns_per_call)
        *ns_per_call = (double)BIG / r;
    if (memcmp(p, payload, BIG) != 0)
        bench_die("far_xdr_get_opaque read something else");
    if (!(flags & FAR_XDR_ZEROCOPY) && skew(p, stream + 4) != want_skew)
        bench_die("get_opaque: the copy is not placed as intended");
    far_arena_fini(&a);
    return r;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    if (iters < 1000 || iters > 100000000)
        bench_die("ITERS must be in 1000..100000000");
    long warm = iters / 10;
    static uint8_t far_wire[1024], tirpc_wire[1024];
    size_t far_len = 0, tirpc_len = 0;

    /* record: farcall and libtirpc alternate, each after a warm-up run */
    far_encode_ns(warm, far_wire, sizeof far_wire, &far_len);
    double far_enc = far_encode_ns(iters, far_wire, sizeof far_wire, &far_len);
    tirpc_record_encode_ns(warm, tirpc_wire, sizeof tirpc_wire, &tirpc_len);
    double tirpc_enc = tirpc_record_encode_ns(iters, tirpc_wire, sizeof tirpc_wire, &tirpc_len);
    if (far_len != tirpc_len || memcmp(far_wire, tirpc_wire, far_len) != 0)
        bench_die("farcall and libtirpc encode the record differently");

    far_decode_alloc_ns(warm, far_wire, far_len);
    double far_deca = far_decode_alloc_ns(iters, far_wire, far_len);
    tirpc_record_decode_alloc_ns(warm, far_wire, far_len);
    double tirpc_deca = tirpc_record_decode_alloc_ns(iters, far_wire, far_len);

    far_decode_prealloc_ns(warm, far_wire, far_len);
    double far_dec = far_decode_prealloc_ns(iters, far_wire, far_len);
    tirpc_record_decode_ns(warm, far_wire, far_len);
    double tirpc_dec = tirpc_record_decode_ns(iters, far_wire, far_len);

    /* 64 KiB opaque.  payload, wire and back are page aligned. */
    long big = iters / 50;
    uint8_t *payload = aligned_alloc(4096, BIG), *wire = aligned_alloc(4096, BIG + 4096),
            *back = aligned_alloc(4096, BIG + 4096);
    if (!payload || !wire || !back)
        bench_die("out of memory");
    for (size_t i = 0; i < BIG; i++)
        payload[i] = (uint8_t)(i * 131 + 7);
    memset(wire, 0, BIG + 4096);
    memset(back, 0, BIG + 4096);

    memcpy_gbps(wire + 64, payload, big / 10);
    double mc = memcpy_gbps(wire + 64, payload, big);
    double mc_alias = memcpy_gbps(wire + 4, payload, big);

    put_gbps(wire + 60, payload, big / 10);
    double put = put_gbps(wire + 60, payload, big);  /* payload at wire + 64 */
    double put_alias = put_gbps(wire, payload, big); /* payload at wire + 4 */

    /* decode from the stream at wire + 60 into back (dst - src = -64), and from
     * the stream at wire into back + 8 (dst - src = +4, the trap) */
    put_gbps(wire + 60, payload, 1);
    double get = get_gbps(wire + 60, back, 0, payload, big, 4096 - 64, NULL);
    double zc_ns = 0;
    get_gbps(wire + 60, back, FAR_XDR_ZEROCOPY, payload, big, 0, &zc_ns);
    put_gbps(wire, payload, 1);
    double get_alias = get_gbps(wire, back + 8, 0, payload, big, 4, NULL);

    double t_enc = tirpc_bytes_gbps(1, wire + 60, payload, BIG, big);
    double t_enc_alias = tirpc_bytes_gbps(1, wire, payload, BIG, big);

    printf("wire_bytes=%zu far_enc_ns=%.1f tirpc_enc_ns=%.1f enc_ratio=%.2f "
           "far_dec_alloc_ns=%.1f tirpc_dec_alloc_ns=%.1f dec_alloc_ratio=%.2f "
           "far_dec_prealloc_ns=%.1f tirpc_dec_ns=%.1f dec_prealloc_ratio=%.2f "
           "memcpy64k_gbps=%.2f memcpy64k_alias_gbps=%.2f "
           "put64k_gbps=%.2f put64k_ratio=%.3f put64k_alias_gbps=%.2f put64k_alias_ratio=%.3f "
           "get64k_gbps=%.2f get64k_ratio=%.3f get64k_alias_gbps=%.2f get64k_alias_ratio=%.3f "
           "getzc64k_ns=%.1f tirpc_bytes64k_enc_gbps=%.2f tirpc_bytes64k_enc_alias_gbps=%.2f\n",
           far_len, far_enc, tirpc_enc, tirpc_enc / far_enc, far_deca, tirpc_deca,
           tirpc_deca / far_deca, far_dec, tirpc_dec, tirpc_dec / far_dec, mc, mc_alias, put,
           put / mc, put_alias, put_alias / mc, get, get / mc, get_alias, get_alias / mc, zc_ns,
           t_enc, t_enc_alias);
    free(payload);
    free(wire);
    free(back);
    return 0;
}
