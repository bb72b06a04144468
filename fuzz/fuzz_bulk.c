/* libFuzzer harness: the bulk layer's decoders (src/bulk).
 *
 * The first bytes choose what the rest is: a PULL's result for the client's
 * hand-written decoder (far__bulk_pull_res_decode, which writes a chunk
 * straight into the sink), with the offset and count asked for and the
 * sink's size from the input; or the arguments and results of FAR_BULK's
 * procedures through fargen's decoders, as the server and client use them
 * (zero-copy, from an arena); and the whole transfer's checksum fed chunks
 * at the offsets the input names (its reorder table).  Nothing may read or
 * write outside the input, the sink or the table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulk/bulk.h"

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 10)
        return 0;
    unsigned what = data[0] % 6;
    uint32_t count = (uint32_t)(data[1] << 16 | data[2] << 8 | data[3]) % (2u << 20);
    uint32_t cap = (uint32_t)(data[4] << 16 | data[5] << 8 | data[6]) % (2u << 20);
    uint64_t off = (uint64_t)(data[7] << 8 | data[8]) * 4096u;
    const uint8_t *p = data + 10;
    size_t n = size - 10;
    /* exactly the input's bytes, on the heap: ASan sees an over-read */
    uint8_t *in = malloc(n ? n : 1);
    memcpy(in, p, n);
    far_arena arena_s, *arena = &arena_s;
    far_arena_init(arena, NULL, 0, 8u << 20);
    far_xdr_dec d;
    switch (what) {
    case 0: {
        uint8_t *sink = malloc(cap ? cap : 1);
        far__bulk_io io = {.fd = -1, .mem = sink, .cap = cap};
        far__bulk_pull_slot s = {.sink = &io, .off = off, .count = count};
        far_xdr_dec_init(&d, in, n, NULL, 0);
        if (far__bulk_pull_res_decode(&d, &s) && s.got > 0 &&
            (s.got > count || s.off + s.got > cap))
            abort(); /* wrote more than asked for, or past the sink */
        free(sink);
        break;
    }
    case 1: {
        far_bulk_open_res r;
        far_xdr_dec_init(&d, in, n, arena, FAR_XDR_ZEROCOPY);
        (void)far_bulk_open_res_decode_any(&d, &r);
        far_bulk_open_args a;
        far_xdr_dec_init(&d, in, n, arena, FAR_XDR_ZEROCOPY);
        (void)far_bulk_open_args_decode_any(&d, &a);
        break;
    }
    case 2: {
        far_bulk_push_args a;
        far_xdr_dec_init(&d, in, n, arena, FAR_XDR_ZEROCOPY);
        if (far_bulk_push_args_decode_any(&d, &a) && a.data.data_len > FAR_BULK_MAXCHUNK)
            abort();
        far_bulk_push_res r;
        far_xdr_dec_init(&d, in, n, arena, FAR_XDR_ZEROCOPY);
        (void)far_bulk_push_res_decode_any(&d, &r);
        break;
    }
    case 3: {
        far_bulk_pull_args a;
        far_xdr_dec_init(&d, in, n, arena, FAR_XDR_ZEROCOPY);
        (void)far_bulk_pull_args_decode_any(&d, &a);
        far_bulk_pull_res r;
        far_xdr_dec_init(&d, in, n, arena, FAR_XDR_ZEROCOPY);
        if (far_bulk_pull_res_decode_any(&d, &r) && r.data.data_len > FAR_BULK_MAXCHUNK)
            abort();
        break;
    }
    case 4: {
        far_bulk_done_args a;
        far_bulk_done_res r;
        far_xdr_dec_init(&d, in, n, arena, FAR_XDR_ZEROCOPY);
        (void)far_bulk_done_args_decode_any(&d, &a);
        far_xdr_dec_init(&d, in, n, arena, FAR_XDR_ZEROCOPY);
        (void)far_bulk_done_res_decode_any(&d, &r);
        break;
    }
    default: {
        /* chunks at the offsets the input names, out of order */
        far__bulk_sum s;
        uint64_t chunk = 1 + count % 65536;
        if (far__bulk_sum_init(&s, chunk) != FAR_OK)
            abort();
        for (size_t i = 0; i + 9 <= n; i += 9) {
            uint64_t o = (load64(in + i) % 256) * chunk;
            uint64_t len = in[i + 8] % 2 ? chunk : 1 + in[i + 8] % chunk;
            (void)far__bulk_sum_add(&s, o, len, load64(in + i) ^ o);
        }
        uint64_t hi, lo;
        far__bulk_sum_digest(&s, &hi, &lo);
        far__bulk_sum_fini(&s);
        break;
    }
    }
    far_arena_fini(arena);
    free(in);
    return 0;
}
