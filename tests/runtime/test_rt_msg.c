/* Message layer without sockets: record marking, AUTH_SYS limits, headers,
 * address strings. */
#include "rt_common.h"

#include "farcall/bind.h"
#include "msg/msg.h"
#include "net/net.h"

/* Feeds `in` to a record reader `step` bytes at a time; collects records. */
static int feed(far__recrd *r, const uint8_t *in, size_t len, size_t step, uint8_t *out,
                size_t *outlen, far_err *err)
{
    size_t off = 0;
    int nrec = 0;
    *outlen = 0;
    for (;;) {
        uint8_t *p;
        size_t n;
        int rc;
        while ((rc = far__recrd_next(r, &p, &n, err)) == 1) {
            memcpy(out + *outlen, p, n);
            *outlen += n;
            nrec++;
        }
        if (rc < 0)
            return -1;
        if (off == len)
            return nrec;
        uint8_t *room;
        size_t space;
        assert_int_equal(far__recrd_room(r, &room, &space), FAR_OK);
        assert_true(space > 0);
        size_t k = len - off < step ? len - off : step;
        if (k > space)
            k = space;
        memcpy(room, in + off, k);
        far__recrd_commit(r, k);
        off += k;
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    far_xdr_store_u32(p, v);
}

static void test_record_multifragment(void **state)
{
    (void)state;
    /* Two records: the first in three fragments (5, 0x?,...), the second in one. */
    uint8_t in[256], out[256];
    size_t o = 0;
    const char *a = "hello", *b = "fragmented", *c = "world!!", *d = "second";
    put32(in + o, 5), o += 4, memcpy(in + o, a, 5), o += 5;
    put32(in + o, 10), o += 4, memcpy(in + o, b, 10), o += 10;
    put32(in + o, FAR__REC_LAST | 7), o += 4, memcpy(in + o, c, 7), o += 7;
    put32(in + o, FAR__REC_LAST | 6), o += 4, memcpy(in + o, d, 6), o += 6;
    for (size_t step = 1; step <= o; step++) {
        far__recrd r;
        far__recrd_init(&r, 1024, 16);
        size_t outlen;
        far_err err;
        assert_int_equal(feed(&r, in, o, step, out, &outlen, &err), 2);
        assert_int_equal(outlen, 28);
        assert_memory_equal(out, "hellofragmentedworld!!second", 28);
        far__recrd_fini(&r);
    }
}

static void test_record_limits(void **state)
{
    (void)state;
    uint8_t in[64], out[64];
    size_t outlen;
    far_err err = FAR_OK;
    far__recrd r;

    /* A fragment header announcing more than the maximum fails at once,
     * before any room is made for it. */
    far__recrd_init(&r, 1000, 16);
    put32(in, FAR__REC_LAST | 0x7fffffff);
    assert_int_equal(feed(&r, in, 4, 4, out, &outlen, &err), -1);
    assert_int_equal(err, FAR_ELIMIT);
    assert_true(r.cap <= 1000 + 8);
    far__recrd_fini(&r);

    /* Fragments that add up to more than the maximum. */
    far__recrd_init(&r, 10, 16);
    put32(in, 8), memset(in + 4, 'x', 8), put32(in + 12, FAR__REC_LAST | 8);
    assert_int_equal(feed(&r, in, 16, 16, out, &outlen, &err), -1);
    assert_int_equal(err, FAR_ELIMIT);
    far__recrd_fini(&r);

    /* An empty non-final fragment is refused. */
    far__recrd_init(&r, 10, 16);
    put32(in, 0);
    assert_int_equal(feed(&r, in, 4, 4, out, &outlen, &err), -1);
    assert_int_equal(err, FAR_EPROTO);
    far__recrd_fini(&r);

    /* The buffer never grows past the maximum for records that fit. */
    far__recrd_init(&r, 100000, 16);
    static uint8_t big[100004];
    put32(big, FAR__REC_LAST | 100000);
    static uint8_t bigout[100004];
    assert_int_equal(feed(&r, big, sizeof big, 7000, bigout, &outlen, &err), 1);
    assert_int_equal(outlen, 100000);
    assert_true(r.cap <= 100000 + 8);
    far__recrd_fini(&r);
}

/* A record sent as one big fragment and then thousands of tiny ones (found
 * by fuzz_svc_conn): the reader's buffer grows geometrically, not by a few
 * bytes per fragment (a realloc and a recv each). */
static void test_record_many_small_fragments(void **state)
{
    (void)state;
    enum { BIG = 32768, SMALL = 8, NSMALL = 4096 };
    size_t len = 4 + BIG + NSMALL * (4 + SMALL);
    uint8_t *in = malloc(len), *out = malloc(BIG + NSMALL * SMALL);
    assert_non_null(in);
    assert_non_null(out);
    size_t o = 0;
    put32(in, BIG);
    memset(in + 4, 'b', BIG);
    o = 4 + BIG;
    for (int i = 0; i < NSMALL; i++) {
        put32(in + o, (i == NSMALL - 1 ? FAR__REC_LAST : 0) | SMALL);
        memset(in + o + 4, 's', SMALL);
        o += 4 + SMALL;
    }
    far__recrd r;
    far__recrd_init(&r, 1u << 20, 4096);
    size_t off = 0, outlen = 0;
    int grows = 0, reads = 0, nrec = 0;
    size_t cap = 0;
    far_err err = FAR_OK;
    while (nrec == 0 && off <= len) {
        uint8_t *p, *room;
        size_t n, space;
        int rc;
        while ((rc = far__recrd_next(&r, &p, &n, &err)) == 1) {
            memcpy(out, p, n);
            outlen = n;
            nrec++;
        }
        assert_true(rc >= 0);
        if (nrec || off == len)
            break;
        assert_int_equal(far__recrd_room(&r, &room, &space), FAR_OK);
        if (r.cap != cap)
            grows++, cap = r.cap;
        size_t k = len - off < space ? len - off : space; /* a read takes all it has room for */
        memcpy(room, in + off, k);
        far__recrd_commit(&r, k);
        off += k;
        reads++;
    }
    assert_int_equal(nrec, 1);
    assert_int_equal(outlen, (size_t)BIG + NSMALL * SMALL);
    print_message("%d reads, %d buffer sizes for one record in %d fragments\n", reads, grows,
                  NSMALL + 1);
    assert_true(grows < 20);
    assert_true(reads < 40);
    far__recrd_fini(&r);
    free(in);
    free(out);
}

/* Large records back to back, every byte available at once: a read inside
 * a large fragment stops at its end and the next header, so the next large
 * record starts at the front of the buffer (none is moved there half-read). */
static void test_record_large_back_to_back(void **state)
{
    (void)state;
    enum { BIG = 3 * FAR__RECRD_EXACT / 2, N = 4, SMALL = 20 };
    size_t len = N * (4 + BIG) + 4 + SMALL;
    uint8_t *in = malloc(len);
    assert_non_null(in);
    for (int i = 0; i < N; i++) {
        put32(in + (size_t)i * (4 + BIG), FAR__REC_LAST | BIG);
        memset(in + (size_t)i * (4 + BIG) + 4, 'a' + i, BIG);
    }
    put32(in + N * (4 + BIG), FAR__REC_LAST | SMALL);
    memset(in + N * (4 + BIG) + 4, 'z', SMALL);
    far__recrd r;
    far__recrd_init(&r, 1u << 20, 4096);
    size_t off = 0;
    int nrec = 0;
    far_err err = FAR_OK;
    for (;;) {
        uint8_t *p, *room;
        size_t n, space;
        int rc;
        while ((rc = far__recrd_next(&r, &p, &n, &err)) == 1) {
            if (nrec < N) {
                assert_int_equal(n, BIG);
                assert_int_equal(p[0], 'a' + nrec);
                assert_int_equal(p[BIG - 1], 'a' + nrec);
                if (nrec > 0) /* where the buffer starts: nothing of it was moved */
                    assert_ptr_equal(p, r.buf);
            } else {
                assert_int_equal(n, SMALL);
                assert_int_equal(p[0], 'z');
            }
            nrec++;
        }
        assert_true(rc >= 0);
        if (off == len)
            break;
        assert_int_equal(far__recrd_room(&r, &room, &space), FAR_OK);
        if (r.in_frag && r.frag_left >= FAR__RECRD_EXACT)
            assert_true(space <= (size_t)r.frag_left + 4);
        size_t k = len - off < space ? len - off : space; /* a read takes all it has room for */
        memcpy(room, in + off, k);
        far__recrd_commit(&r, k);
        off += k;
    }
    assert_int_equal(nrec, N + 1);
    far__recrd_fini(&r);
    free(in);
}

/* A large record whose start came in one read with the end of the record
 * before it is not moved to the buffer's front while the rest of it comes
 * in (a copy of most of each bulk chunk, once per chunk). */
static void test_record_large_not_moved(void **state)
{
    (void)state;
    enum { BIG = 200 * 1024, FIRST = 300 * 1024, SMALL = 100, STEP = 10 * 1024 };
    size_t len = 4 + FIRST + 4 + SMALL + 4 + BIG;
    uint8_t *in = malloc(len);
    assert_non_null(in);
    size_t o = 0;
    put32(in, FAR__REC_LAST | FIRST); /* one that makes the buffer large */
    memset(in + 4, 'c', FIRST);
    o = 4 + FIRST;
    put32(in + o, FAR__REC_LAST | SMALL);
    memset(in + o + 4, 'a', SMALL);
    o += 4 + SMALL;
    put32(in + o, FAR__REC_LAST | BIG);
    for (size_t i = 0; i < BIG; i++)
        in[o + 4 + i] = (uint8_t)(i * 7);
    far__recrd r;
    far__recrd_init(&r, 1u << 20, 4096);
    size_t off = 0, at = SIZE_MAX;
    int nrec = 0;
    far_err err = FAR_OK;
    for (;;) {
        uint8_t *p, *room;
        size_t n, space;
        int rc;
        while ((rc = far__recrd_next(&r, &p, &n, &err)) == 1) {
            if (++nrec == 3) {
                assert_int_equal(n, BIG);
                assert_memory_equal(p, in + o + 4, BIG);
                assert_true(at != SIZE_MAX);
                assert_ptr_equal(p, r.buf + at); /* where its start was read */
            }
        }
        assert_true(rc == 0);
        if (off == len)
            break;
        if (nrec == 2 && at == SIZE_MAX)
            at = r.rec;
        if (at != SIZE_MAX)
            assert_int_equal(r.rec, at);
        assert_int_equal(far__recrd_room(&r, &room, &space), FAR_OK);
        if (at != SIZE_MAX)
            assert_int_equal(r.rec, at);
        /* the big one at once; then the small one and the start of the
         * next in one read; then the rest a little at a time */
        size_t k = len - off < space ? len - off : space;
        if (nrec >= 1 && k > STEP)
            k = nrec == 1 && off == 4 + FIRST ? 4 + SMALL + STEP : STEP;
        if (k > space)
            k = space;
        memcpy(room, in + off, k);
        far__recrd_commit(&r, k);
        off += k;
    }
    assert_int_equal(nrec, 3);
    far__recrd_fini(&r);
    free(in);
}

/* Direct spans (far__recrd_direct): a large record's range received
 * outside the buffer, as the client receives a bulk chunk into its sink.
 * Records: small; large with a span inside; small; large with a span to
 * its very end; large in two fragments (never offered); large looked at
 * and read as usual; small.  Whatever the reads' sizes, every record comes
 * out framed exactly, the span's bytes where they were sent. */
enum { SP_NREC = 7 };
static const size_t sp_len[SP_NREC] = {20, 100000, 8, 70000, 80000, 65536, 12};

static void span_case(size_t step, size_t peek)
{
    size_t total = 0;
    for (int i = 0; i < SP_NREC; i++)
        total += sp_len[i] + (i == 4 ? 8 : 4);
    uint8_t *in = malloc(total), *dst = malloc(100000);
    assert_non_null(in);
    assert_non_null(dst);
    size_t start[SP_NREC], o = 0; /* where each record's body starts in `in` (fragments apart) */
    for (int i = 0; i < SP_NREC; i++) {
        if (i == 4) {
            put32(in + o, 40000);
            o += 4;
            start[i] = o;
            for (size_t k = 0; k < 40000; k++)
                in[o + k] = (uint8_t)(k * 13 + (size_t)i);
            o += 40000;
            put32(in + o, FAR__REC_LAST | 40000);
            o += 4;
            for (size_t k = 0; k < 40000; k++)
                in[o + k] = (uint8_t)((k + 40000) * 13 + (size_t)i);
            o += 40000;
            continue;
        }
        put32(in + o, FAR__REC_LAST | (uint32_t)sp_len[i]);
        o += 4;
        start[i] = o;
        for (size_t k = 0; k < sp_len[i]; k++)
            in[o + k] = (uint8_t)(k * 13 + (size_t)i);
        o += sp_len[i];
    }
    assert_int_equal(o, total);
    far__recrd r;
    far__recrd_init(&r, 1u << 20, 4096);
    r.peek = peek;
    size_t off = 0, sp_at[SP_NREC] = {0}, sp_n[SP_NREC] = {0}, copied = 0, spans = 0;
    bool spanned[SP_NREC] = {false};
    int nrec = 0;
    for (;;) {
        uint8_t *p;
        size_t n;
        far_err err = FAR_OK;
        int rc;
        while ((rc = far__recrd_next(&r, &p, &n, &err)) == 1) {
            assert_true(nrec < SP_NREC);
            int i = nrec++;
            assert_int_equal(r.got_span, spanned[i]);
            const uint8_t *want = in + start[i];
            if (i == 4) {
                assert_int_equal(n, 80000);
                assert_memory_equal(p, want, 40000);
                assert_memory_equal(p + 40000, want + 40004, 40000);
                continue;
            }
            if (!spanned[i]) {
                assert_int_equal(n, sp_len[i]);
                assert_memory_equal(p, want, n);
                continue;
            }
            assert_int_equal(r.got_span_at, sp_at[i]);
            assert_int_equal(r.got_span_len, sp_n[i]);
            assert_int_equal(n, sp_len[i] - sp_n[i]);
            assert_memory_equal(p, want, sp_at[i]);
            assert_memory_equal(p + sp_at[i], want + sp_at[i] + sp_n[i], n - sp_at[i]);
            assert_memory_equal(dst, want + sp_at[i], sp_n[i]);
        }
        assert_int_equal(rc, 0);
        const uint8_t *hp;
        size_t have, left;
        if (far__recrd_partial(&r, &hp, &have, &left)) {
            int i = nrec;
            assert_true(i == 1 || i == 3 || i == 5); /* (never the one in two fragments) */
            assert_true(have >= peek);
            assert_int_equal(have + left, sp_len[i]);
            assert_memory_equal(hp, in + start[i], have);
            if (i == 5) {
                far__recrd_looked(&r);
            } else {
                size_t at = i == 1 ? (have < 60 ? have : 60) : 40;
                if (at > have)
                    at = have;
                size_t len = i == 1 ? sp_len[i] - 3 - at : sp_len[i] - at;
                /* a range past the record is refused */
                assert_false(far__recrd_direct(&r, at, dst, sp_len[i] - at + 1));
                assert_true(far__recrd_direct(&r, at, dst, len));
                assert_false(far__recrd_partial(&r, &hp, &have, &left));
                spanned[i] = true;
                sp_at[i] = at;
                sp_n[i] = len;
                copied += have - at < len ? have - at : len;
                spans += len;
            }
        }
        if (off == total)
            break;
        uint8_t *room, *sd;
        size_t space;
        assert_int_equal(far__recrd_room(&r, &room, &space), FAR_OK);
        size_t dn = far__recrd_span(&r, &sd);
        assert_true(space > 0);
        size_t k = total - off < step ? total - off : step;
        if (k > dn + space)
            k = dn + space;
        size_t d = k < dn ? k : dn;
        if (d)
            memcpy(sd, in + off, d); /* (as far__stream_recv's recvmsg) */
        far__recrd_span_commit(&r, d);
        memcpy(room, in + off + d, k - d);
        far__recrd_commit(&r, k - d);
        off += k;
    }
    assert_int_equal(nrec, SP_NREC);
    assert_false(far__recrd_pending(&r));
    assert_int_equal(r.direct + copied, spans);
    if (peek && step >= 4096)
        assert_true(spanned[1] && spanned[3]); /* the peek leaves the chunks to their spans */
    far__recrd_fini(&r);
    free(in);
    free(dst);
}

static void test_record_direct_span(void **state)
{
    (void)state;
    static const size_t steps[] = {1, 3, 100, 4096, 65536, 1u << 20};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        span_case(steps[i], 0);
        span_case(steps[i], 256);
    }
    /* a span cancelled (its memory gone): the reader reads no more */
    far__recrd r;
    far__recrd_init(&r, 1u << 20, 4096);
    uint8_t *room, *p, dst[100];
    size_t space, n, have, left;
    const uint8_t *hp;
    far_err err;
    assert_int_equal(far__recrd_room(&r, &room, &space), FAR_OK);
    put32(room, FAR__REC_LAST | 70000);
    memset(room + 4, 'x', 50);
    far__recrd_commit(&r, 54);
    assert_int_equal(far__recrd_next(&r, &p, &n, &err), 0);
    assert_true(far__recrd_partial(&r, &hp, &have, &left));
    assert_int_equal(have, 50);
    assert_true(far__recrd_direct(&r, 40, dst, 100));
    assert_memory_equal(dst, "xxxxxxxxxx", 10);
    far__recrd_span_cancel(&r);
    assert_int_equal(far__recrd_room(&r, &room, &space), FAR_EPROTO);
    assert_int_equal(far__recrd_next(&r, &p, &n, &err), 0);
    far__recrd_fini(&r);
    /* a span all buffered already: copied out, what follows it closes up */
    far__recrd_init(&r, 1u << 20, 4096);
    assert_int_equal(far__recrd_room(&r, &room, &space), FAR_OK);
    put32(room, FAR__REC_LAST | 70000);
    for (int i = 0; i < 50; i++)
        room[4 + i] = (uint8_t)i;
    far__recrd_commit(&r, 54);
    assert_int_equal(far__recrd_next(&r, &p, &n, &err), 0);
    assert_true(far__recrd_partial(&r, &hp, &have, &left));
    assert_true(far__recrd_direct(&r, 10, dst, 20));
    assert_int_equal(far__recrd_span(&r, &p), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(dst[i], 10 + i);
    size_t rest = 70000 - 50;
    while (rest) {
        assert_int_equal(far__recrd_room(&r, &room, &space), FAR_OK);
        size_t k = rest < space ? rest : space;
        memset(room, 0xee, k);
        far__recrd_commit(&r, k);
        rest -= k;
        if (rest)
            assert_int_equal(far__recrd_next(&r, &p, &n, &err), 0);
    }
    assert_int_equal(far__recrd_next(&r, &p, &n, &err), 1);
    assert_int_equal(n, 70000 - 20);
    assert_true(r.got_span && r.got_span_at == 10 && r.got_span_len == 20);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p[i], i);
    for (int i = 10; i < 30; i++)
        assert_int_equal(p[i], 20 + i);
    assert_int_equal(p[30], 0xee);
    assert_int_equal(r.direct, 0);
    far__recrd_fini(&r);
}

static void test_rec_frame(void **state)
{
    (void)state;
    uint8_t msg[4 + 10] = {0, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'};
    struct iovec iov[1] = {{msg, sizeof msg}};
    size_t n = 1;
    uint8_t *flat;
    assert_int_equal(far__rec_frame(iov, &n, sizeof msg, 4, &flat), FAR_OK);
    assert_non_null(flat);
    assert_int_equal(iov[0].iov_len, 10 + 3 * 4);
    far__recrd r;
    far__recrd_init(&r, 100, 16);
    uint8_t out[32];
    size_t outlen;
    far_err err;
    assert_int_equal(feed(&r, flat, iov[0].iov_len, 3, out, &outlen, &err), 1);
    assert_memory_equal(out, "abcdefghij", 10);
    far__recrd_fini(&r);
    free(flat);
}

static size_t auth_body(uint8_t *buf, uint32_t namelen, uint32_t ngids)
{
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, 2048);
    char name[512];
    memset(name, 'm', sizeof name);
    far_xdr_put_u32(&e, 1);
    far_xdr_put_string_n(&e, name, namelen, FAR_XDR_UNBOUNDED);
    far_xdr_put_u32(&e, 10);
    far_xdr_put_u32(&e, 20);
    far_xdr_put_u32(&e, ngids);
    for (uint32_t i = 0; i < ngids; i++)
        far_xdr_put_u32(&e, i);
    return e.pos;
}

static void test_auth_sys_limits(void **state)
{
    (void)state;
    uint8_t buf[2048];
    far_auth_sys a;
    size_t n = auth_body(buf, 255, 16);
    assert_true(n <= 400);
    assert_int_equal(far__auth_sys_decode(buf, (uint32_t)n, &a), FAR_OK);
    assert_int_equal(a.uid, 10);
    assert_int_equal(a.ngids, 16);
    assert_int_equal(strlen(a.machinename), 255);
    /* Machine name of 256 bytes. */
    n = auth_body(buf, 256, 0);
    assert_int_not_equal(far__auth_sys_decode(buf, (uint32_t)n, &a), FAR_OK);
    /* 17 gids. */
    n = auth_body(buf, 8, 17);
    assert_int_not_equal(far__auth_sys_decode(buf, (uint32_t)n, &a), FAR_OK);
    /* Body over 400 bytes. */
    assert_int_equal(far__auth_sys_decode(buf, 401, &a), FAR_ELIMIT);
    /* Every truncation of a valid body fails. */
    n = auth_body(buf, 13, 3);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(far__auth_sys_decode(buf, (uint32_t)i, &a), FAR_OK);
    /* Trailing bytes. */
    assert_int_equal(far__auth_sys_decode(buf, (uint32_t)n + 4, &a), FAR_ETRAILING);

    /* The encoder refuses what the RFC forbids. */
    far_auth_sys big = {0};
    big.ngids = 17;
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_false(far__auth_sys_encode(&e, &big));
}

static void test_headers(void **state)
{
    (void)state;
    uint8_t buf[512];
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_true(far__call_hdr_encode(&e, 77, 100003, 3, 4, FAR_AUTH_NONE, NULL, 0));
    far_xdr_dec d;
    far__call_hdr h;
    far_xdr_dec_init(&d, buf, e.pos, NULL, 0);
    assert_int_equal(far__call_hdr_decode(&d, &h), FAR_OK);
    assert_int_equal(h.xid, 77);
    assert_int_equal(h.prog, 100003);
    assert_int_equal(h.rpcvers, 2);
    for (size_t i = 0; i < e.pos; i++) {
        far_xdr_dec_init(&d, buf, i, NULL, 0);
        assert_int_not_equal(far__call_hdr_decode(&d, &h), FAR_OK);
    }
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_true(far__reply_accepted_encode(&e, 9, FAR__ACC_PROG_MISMATCH, 2, 4));
    far__reply_hdr rh;
    far_xdr_dec_init(&d, buf, e.pos, NULL, 0);
    assert_int_equal(far__reply_hdr_decode(&d, &rh), FAR_OK);
    assert_int_equal(far__reply_err(&rh), FAR_EPROG_MISMATCH);
    assert_int_equal(rh.low, 2);
    assert_int_equal(rh.high, 4);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_true(far__reply_denied_encode(&e, 9, FAR__REJ_AUTH_ERROR, FAR_AUTH_BADCRED, 0));
    far_xdr_dec_init(&d, buf, e.pos, NULL, 0);
    assert_int_equal(far__reply_hdr_decode(&d, &rh), FAR_OK);
    assert_int_equal(far__reply_err(&rh), FAR_EAUTH);
    assert_int_equal(rh.auth_stat, FAR_AUTH_BADCRED);
}

/* Credential and verifier bodies follow XDR's rule: padding must be zero. */
static void test_auth_padding(void **state)
{
    (void)state;
    uint8_t m[64];
    far_xdr_enc e;
    far_xdr_enc_init(&e, m, sizeof m);
    const uint8_t body[5] = {1, 2, 3, 4, 5}; /* 3 bytes of padding */
    assert_true(far__call_hdr_encode(&e, 7, 100, 1, 0, 9, body, sizeof body));
    size_t len = far_xdr_enc_len(&e);
    far__call_hdr h;
    far_xdr_dec d;
    far_xdr_dec_init(&d, m, len, NULL, 0);
    assert_int_equal(far__call_hdr_decode(&d, &h), FAR_OK);
    assert_int_equal(h.cred_len, 5);
    assert_memory_equal(h.cred_body, body, 5);
    m[24 + 8 + 5 + 1] = 0x80; /* second pad byte of the credential */
    far_xdr_dec_init(&d, m, len, NULL, 0);
    assert_int_equal(far__call_hdr_decode(&d, &h), FAR_EPADDING);

    /* an accepted reply whose verifier has non-zero padding is malformed */
    uint8_t r[] = {0, 0, 0, 7, 0, 0, 0,    1, 0, 0, 0, 0, 0, 0,
                   0, 9, 0, 0, 0, 1, 0xaa, 0, 0, 0, 0, 0, 0, 0};
    far__reply_hdr rh;
    far_xdr_dec_init(&d, r, sizeof r, NULL, 0);
    assert_int_equal(far__reply_hdr_decode(&d, &rh), FAR_OK);
    r[21] = 1;
    far_xdr_dec_init(&d, r, sizeof r, NULL, 0);
    assert_int_equal(far__reply_hdr_decode(&d, &rh), FAR_EPROTO);
}

/* Universal addresses from a binder come back in canonical form, whatever the
 * spelling (found by fuzz_rpcmsg: "::0" was passed through as written). */
/* Every auth_stat of RFC 5531 §9 has its name and a text; others say so. */
static void test_auth_stat_names(void **state)
{
    (void)state;
    static const char *const names[] = {
        "AUTH_OK",           "AUTH_BADCRED",           "AUTH_REJECTEDCRED",    "AUTH_BADVERF",
        "AUTH_REJECTEDVERF", "AUTH_TOOWEAK",           "AUTH_INVALIDRESP",     "AUTH_FAILED",
        "AUTH_KERB_GENERIC", "AUTH_TIMEEXPIRE",        "AUTH_TKT_FILE",        "AUTH_DECODE",
        "AUTH_NET_ADDR",     "RPCSEC_GSS_CREDPROBLEM", "RPCSEC_GSS_CTXPROBLEM"};
    for (int i = 0; i <= FAR_AUTH_RPCSEC_GSS_CTXPROBLEM; i++) {
        assert_string_equal(far_auth_stat_name(i), names[i]);
        assert_true(strlen(far_auth_stat_text(i)) > 3);
    }
    assert_string_equal(far_auth_stat_name(FAR_AUTH_TOOWEAK), "AUTH_TOOWEAK");
    assert_string_equal(far_auth_stat_name(15), "AUTH_?");
    assert_string_equal(far_auth_stat_name(-1), "AUTH_?");
    assert_non_null(strstr(far_auth_stat_text(99), "does not define"));
}

static void test_uaddr_canonical(void **state)
{
    (void)state;
    char a[FAR_BIND_MAX_ADDR];
    assert_int_equal(far_bind_uaddr_to_addr("tcp6", "::0.27.6", a, sizeof a), FAR_OK);
    assert_string_equal(a, "tcp://[::]:6918");
    assert_int_equal(far_bind_uaddr_to_addr("udp6", "0:0:0:0:0:0:0:1.0.111", a, sizeof a), FAR_OK);
    assert_string_equal(a, "udp://[::1]:111");
    assert_int_equal(far_bind_uaddr_to_addr("tcp", "127.0.0.1.156.125", a, sizeof a), FAR_OK);
    assert_string_equal(a, "tcp://127.0.0.1:40061");
    assert_int_equal(far_bind_uaddr_to_addr("tcp", "127.0.0.1.256.1", a, sizeof a), FAR_EADDR);
    assert_int_equal(far_bind_uaddr_to_addr("tcp", "localhost.0.111", a, sizeof a), FAR_EADDR);
}

static void test_addr_parse(void **state)
{
    (void)state;
    far__addr a;
    char why[256];
    assert_int_equal(far__addr_parse("tcp://127.0.0.1:111", &a, why, sizeof why), FAR_OK);
    assert_int_equal(a.t, FAR__TCP);
    assert_int_equal(far__addr_parse("udp://[::1]:2049", &a, why, sizeof why), FAR_OK);
    assert_int_equal(a.t, FAR__UDP);
    assert_int_equal(a.ss.ss_family, AF_INET6);
    assert_int_equal(far__addr_parse("unix:/tmp/x.sock", &a, why, sizeof why), FAR_OK);
    assert_int_equal(a.t, FAR__UNIX);
    assert_int_equal(far__addr_parse("tcp://localhost:7", &a, why, sizeof why), FAR_OK);
    const char *bad[] = {
        "",      "http://x:1", "tcp://127.0.0.1", "tcp://127.0.0.1:99999", "tcp://[::1:5",
        "unix:", "tcp://:5",   "udp://1.2.3.4:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(far__addr_parse(bad[i], &a, why, sizeof why), FAR_EADDR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_multifragment),
        cmocka_unit_test(test_record_limits),
        cmocka_unit_test(test_record_many_small_fragments),
        cmocka_unit_test(test_record_large_back_to_back),
        cmocka_unit_test(test_record_large_not_moved),
        cmocka_unit_test(test_record_direct_span),
        cmocka_unit_test(test_rec_frame),
        cmocka_unit_test(test_auth_sys_limits),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_auth_padding),
        cmocka_unit_test(test_uaddr_canonical),
        cmocka_unit_test(test_auth_stat_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
