/* The libtirpc half of xdr_bench (see tirpc_record.h).  The loops are those of
 * shared/bench/anchors/tirpc/xdrbench.c. */
#include <string.h>

#include "bench.h" /* rpcgen -M -h bench.x */
#include "bench_util.h"
#include "tirpc_record.h"

static void fill(record *r, char *name, int *vals)
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

double tirpc_record_encode_ns(long iters, uint8_t *buf, size_t cap, size_t *len)
{
    char name[65];
    int vals[BENCH_VALUES];
    record r;
    XDR x;
    fill(&r, name, vals);
    xdrmem_create(&x, (char *)buf, (u_int)cap, XDR_ENCODE);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        XDR_SETPOS(&x, 0);
        if (!xdr_record(&x, &r))
            bench_die("libtirpc encode");
    }
    double ns = (double)(bench_now_ns() - t0) / (double)iters;
    *len = XDR_GETPOS(&x);
    xdr_destroy(&x);
    return ns;
}

static void check(const record *o, const record *want)
{
    if (o->id != want->id || o->stamp != want->stamp || strcmp(o->name, want->name) ||
        memcmp(o->tag, want->tag, sizeof o->tag) ||
        o->values.values_len != want->values.values_len ||
        memcmp(o->values.values_val, want->values.values_val, sizeof(int) * BENCH_VALUES))
        bench_die("libtirpc decoded something else");
}

double tirpc_record_decode_ns(long iters, const uint8_t *buf, size_t len)
{
    char name[65], rname[65];
    int vals[BENCH_VALUES], rvals[BENCH_VALUES];
    record r, out;
    XDR x;
    fill(&r, name, vals);
    memset(&out, 0, sizeof out);
    out.name = rname;
    out.values.values_val = rvals;
    xdrmem_create(&x, (char *)buf, (u_int)len, XDR_DECODE);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        XDR_SETPOS(&x, 0);
        if (!xdr_record(&x, &out))
            bench_die("libtirpc decode");
    }
    double ns = (double)(bench_now_ns() - t0) / (double)iters;
    xdr_destroy(&x);
    check(&out, &r);
    return ns;
}

double tirpc_record_decode_alloc_ns(long iters, const uint8_t *buf, size_t len)
{
    char name[65];
    int vals[BENCH_VALUES];
    record r, last;
    XDR x;
    fill(&r, name, vals);
    xdrmem_create(&x, (char *)buf, (u_int)len, XDR_DECODE);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        record o;
        memset(&o, 0, sizeof o);
        XDR_SETPOS(&x, 0);
        if (!xdr_record(&x, &o))
            bench_die("libtirpc decode");
        xdr_free((xdrproc_t)xdr_record, (char *)&o);
    }
    double ns = (double)(bench_now_ns() - t0) / (double)iters;
    memset(&last, 0, sizeof last);
    XDR_SETPOS(&x, 0);
    if (!xdr_record(&x, &last))
        bench_die("libtirpc decode");
    check(&last, &r);
    xdr_free((xdrproc_t)xdr_record, (char *)&last);
    xdr_destroy(&x);
    return ns;
}

double tirpc_bytes_gbps(int encode, uint8_t *stream, uint8_t *user, uint32_t n, long iters)
{
    XDR x;
    char *p = (char *)user;
    u_int len = n;
    xdrmem_create(&x, (char *)stream, n + 8, encode ? XDR_ENCODE : XDR_DECODE);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        XDR_SETPOS(&x, 0);
        if (!xdr_bytes(&x, &p, &len, ~0u) || len != n)
            bench_die("libtirpc xdr_bytes");
        BENCH_CLOBBER();
    }
    double gbps = (double)n * (double)iters / (double)(bench_now_ns() - t0);
    xdr_destroy(&x);
    return gbps;
}
