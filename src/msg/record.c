/* Record marking (RFC 5531 §11): a record is one or more fragments, each
 * preceded by a 4-byte header whose top bit marks the last fragment and whose
 * low 31 bits give the fragment's length. */
#include "msg/msg.h"

void far__recrd_init(far__recrd *r, size_t max_record, size_t min_cap)
{
    memset(r, 0, sizeof *r);
    r->max_record = max_record;
    r->min_cap = min_cap ? min_cap : 4096;
}

void far__recrd_fini(far__recrd *r)
{
    free(r->buf);
    free(r->spare);
    r->buf = r->spare = NULL;
    r->cap = r->len = r->spare_cap = 0;
}

void far__recrd_give_spare(far__recrd *r, uint8_t *buf, size_t cap)
{
    if (r->spare_cap >= cap) {
        free(buf);
        return;
    }
    free(r->spare);
    r->spare = buf;
    r->spare_cap = cap;
}

size_t far__recrd_trim(far__recrd *r)
{
    size_t freed = 0;
    if (r->spare) {
        freed += r->spare_cap;
        free(r->spare);
        r->spare = NULL;
        r->spare_cap = 0;
    }
    bool pending = r->len > r->pos || r->in_frag || r->wr > r->rec;
    if (!pending && r->buf && r->cap > r->min_cap) {
        freed += r->cap;
        free(r->buf); /* far__recrd_room makes a min_cap buffer when needed */
        r->buf = NULL;
        r->cap = r->len = r->pos = r->rec = r->wr = 0;
    }
    return freed;
}

int far__recrd_next(far__recrd *r, uint8_t **p, size_t *n, far_err *err)
{
    if (r->span_left || r->span_dead)
        return 0; /* (the span's bytes come first: nothing else is buffered) */
    for (;;) {
        if (!r->in_frag) {
            if (r->len - r->pos < 4)
                return 0;
            uint32_t h = far_xdr_load_u32(r->buf + r->pos);
            uint32_t flen = h & ~FAR__REC_LAST;
            size_t have = r->wr - r->rec;
            if (flen > r->max_record || have + flen > r->max_record) {
                r->too_big = have + flen;
                r->too_big_exact = (h & FAR__REC_LAST) != 0;
                *err = FAR_ELIMIT;
                return -1;
            }
            if (flen == 0 && !(h & FAR__REC_LAST)) {
                *err = FAR_EPROTO; /* an empty non-final fragment (libtirpc rejects it too) */
                return -1;
            }
            if (have == 0) {
                r->rec = r->wr = r->pos + 4;
                r->looked = false;
            }
            r->frag_len = flen;
            r->pos += 4;
            r->in_frag = true;
            r->last = (h & FAR__REC_LAST) != 0;
            r->frag_left = flen;
        }
        size_t n_in = r->len - r->pos;
        if (n_in > r->frag_left)
            n_in = r->frag_left;
        if (r->wr != r->pos && n_in)
            memmove(r->buf + r->wr, r->buf + r->pos, n_in);
        r->wr += n_in;
        r->pos += n_in;
        r->frag_left -= (uint32_t)n_in;
        if (r->frag_left)
            return 0;
        r->in_frag = false;
        if (r->last) {
            *p = r->buf + r->rec;
            *n = r->wr - r->rec;
            r->got_span = r->span_on;
            r->got_span_at = r->span_at;
            r->got_span_len = r->span_len;
            r->span_on = false;
            r->rec = r->wr = r->pos;
            if (*n == 0 && !r->got_span) {
                *err = FAR_EPROTO;
                return -1;
            }
            return 1;
        }
    }
}

/* The size from which a record is large enough to be looked at before the
 * rest of it is read (far__recrd_partial). */
static size_t span_min(const far__recrd *r)
{
    return r->span_min ? r->span_min : FAR__RECRD_EXACT;
}

/* True while the last fragment of a one-fragment record is being read and
 * everything read so far is buffered (no span yet): the only state in which
 * its owner may look at it or give it a span. */
static bool lone_frag_reading(const far__recrd *r)
{
    return r->in_frag && r->last && !r->span_on && !r->span_dead && r->pos == r->len &&
           r->wr - r->rec + r->frag_left == r->frag_len;
}

far_err far__recrd_room(far__recrd *r, uint8_t **p, size_t *space)
{
    if (r->span_dead)
        return FAR_EPROTO;
    /* the current fragment's bytes still to come into buf (a span's go elsewhere) */
    size_t fl = r->frag_left - r->span_left;
    /* Close the gap left by squeezed-out headers, then drop consumed bytes. */
    if (r->wr < r->pos) {
        memmove(r->buf + r->wr, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos - r->wr;
        r->pos = r->wr;
    }
    /* Consumed bytes are dropped by moving the rest to the front -- but not
     * a record being read whose rest fits after it: that would move all of
     * it so far on every read (its own header first of all, which every
     * large record leaves in front of it), a copy of up to every byte of a
     * 256 KiB bulk chunk.  Moved when it costs at most what it frees. */
    size_t keep = r->len - r->rec;
    bool fits = r->in_frag && r->pos + fl + 4 <= r->cap;
    if (r->rec > 0 && (!fits || keep <= r->rec || keep <= 4096)) {
        memmove(r->buf, r->buf + r->rec, keep);
        r->len -= r->rec;
        r->pos -= r->rec;
        r->wr -= r->rec;
        r->rec = 0;
    }
    /* Room for the rest of the current fragment and the next header, at most
     * max_record plus a header; at least min_cap. */
    size_t want = r->min_cap;
    if (r->in_frag) {
        size_t need = r->pos + fl + 4;
        if (need > want)
            want = need;
    }
    if (r->cap - r->len < 512 && r->cap >= want)
        want = r->cap * 2; /* the buffer keeps filling up: read bigger chunks */
    else if (want > r->cap && want < r->cap * 2)
        want = r->cap * 2; /* grow geometrically: a record sent as many small fragments
                            * after a big one must not cost a realloc (and a recv) each */
    size_t hard = r->max_record + 8;
    if (hard < r->min_cap)
        hard = r->min_cap;
    if (want > hard)
        want = hard;
    if (want > r->cap && r->spare && r->spare_cap >= want) {
        /* A big buffer given back (far__recrd_give_spare): its pages are
         * already mapped, and nothing but the bytes buffered is copied. */
        memcpy(r->spare, r->buf, r->len);
        free(r->buf);
        r->buf = r->spare;
        r->cap = r->spare_cap;
        r->spare = NULL;
        r->spare_cap = 0;
    }
    if (want > r->cap) {
        uint8_t *nb = realloc(r->buf, want);
        if (!nb)
            return FAR_ENOMEM;
        r->buf = nb;
        r->cap = want;
    }
    *p = r->buf + r->len;
    *space = r->cap - r->len;
    /* In a large record, read up to its fragment's end and the next header
     * only: a
     * read that ran on into the next large record would leave its start to
     * be moved to the front of the buffer by the next call (a copy of up to
     * a whole record per record, the bulk layer's 256 KiB chunks) -- and,
     * with `peek`, that many bytes more: the next record's first bytes,
     * for its owner to look at before the rest of it is read. */
    size_t exact = fl + 4 + r->peek;
    if (r->in_frag && (r->wr - r->rec + r->frag_left >= FAR__RECRD_EXACT || r->span_on) &&
        r->pos == r->len && *space > exact)
        *space = exact;
    /* Between records (a large one may come next), and of a large record
     * not looked at yet: no more than `peek` bytes of its body before its
     * owner has looked at them (far__recrd_partial). */
    size_t buffered = r->len - r->pos;
    if (r->peek && !r->in_frag && (buffered < 4 + r->peek) && (*space > 4 + r->peek - buffered))
        *space = 4 + r->peek - buffered;
    size_t have = r->wr - r->rec;
    if (r->peek && r->in_frag && r->last && !r->span_on && !r->looked &&
        r->frag_len >= span_min(r) && have + r->frag_left == r->frag_len && (have < r->peek) &&
        (*space > r->peek - have))
        *space = r->peek - have;
    return FAR_OK;
}

bool far__recrd_partial(const far__recrd *r, const uint8_t **p, size_t *have, size_t *left)
{
    size_t h = r->wr - r->rec;
    if (!lone_frag_reading(r) || r->looked || r->frag_len < span_min(r) || h < r->peek)
        return false;
    *p = r->buf + r->rec;
    *have = h;
    *left = r->frag_left;
    return true;
}

bool far__recrd_direct(far__recrd *r, size_t at, uint8_t *dst, size_t len)
{
    size_t have = r->wr - r->rec;
    if (!lone_frag_reading(r) || at > have || len > have - at + r->frag_left)
        return false;
    /* what of the range is buffered already goes now; what follows it in
     * the buffer (if the range ends there) closes up */
    size_t in = have - at < len ? have - at : len;
    uint8_t *s = r->buf + r->rec + at;
    if (in)
        memcpy(dst, s, in);
    if (have - at > in)
        memmove(s, s + in, have - at - in);
    r->wr -= in;
    r->span_dst = dst + in;
    r->span_left = len - in;
    r->span_on = r->looked = true;
    r->span_at = at;
    r->span_len = len;
    return true;
}

uint8_t *far__recrd_steal(far__recrd *r, size_t *old_cap)
{
    size_t left = r->len - r->pos;
    size_t cap = left > r->min_cap ? left : r->min_cap;
    uint8_t *nb;
    if (r->spare && r->spare_cap >= cap) {
        nb = r->spare;
        cap = r->spare_cap;
        r->spare = NULL;
        r->spare_cap = 0;
    } else if ((nb = malloc(cap)) == NULL) {
        return NULL;
    }
    memcpy(nb, r->buf + r->pos, left);
    uint8_t *old = r->buf;
    if (old_cap)
        *old_cap = r->cap;
    r->buf = nb;
    r->cap = cap;
    r->len = left;
    r->pos = r->rec = r->wr = 0;
    return old;
}

far_err far__rec_frame(struct iovec *iov, size_t *n, size_t total, size_t frag, uint8_t **flat)
{
    size_t body = total - 4;
    *flat = NULL;
    if (body > 0x7fffffffu && frag == 0)
        frag = 0x7fffffffu;
    if (frag == 0 || body <= frag) {
        far_xdr_store_u32(iov[0].iov_base, FAR__REC_LAST | (uint32_t)body);
        return FAR_OK;
    }
    size_t nfrag = (body + frag - 1) / frag;
    uint8_t *out = malloc(body + 4 * nfrag);
    if (!out)
        return FAR_ENOMEM;
    size_t o = 0, done = 0, vi = 0, voff = 4; /* skip the reserved mark */
    while (done < body) {
        size_t fl = body - done < frag ? body - done : frag;
        far_xdr_store_u32(out + o, (done + fl == body ? FAR__REC_LAST : 0) | (uint32_t)fl);
        o += 4;
        size_t need = fl;
        while (need) {
            size_t avail = iov[vi].iov_len - voff;
            if (avail == 0) {
                vi++, voff = 0;
                continue;
            }
            size_t c = avail < need ? avail : need;
            memcpy(out + o, (uint8_t *)iov[vi].iov_base + voff, c);
            o += c, voff += c, need -= c;
        }
        done += fl;
    }
    iov[0].iov_base = out;
    iov[0].iov_len = o;
    *n = 1;
    *flat = out;
    return FAR_OK;
}

far_err far__msg_prepare(far_xdr_enc *e, struct iovec iov[8], size_t *niov, size_t *total,
                         uint8_t **flat, bool stream, size_t frag)
{
    *flat = NULL;
    if (e->err.code != FAR_OK)
        return e->err.code;
    *total = far_xdr_enc_len(e);
    *niov = far_xdr_enc_iov(e, iov, 8);
    if (*niov > 8) {
        /* Many referenced pieces: copy them into one block. */
        uint8_t *b = malloc(*total);
        if (!b)
            return FAR_ENOMEM;
        far_err rc = far_xdr_enc_flatten(e, b, *total);
        if (rc != FAR_OK) {
            free(b);
            return rc;
        }
        iov[0].iov_base = b;
        iov[0].iov_len = *total;
        *niov = 1;
        *flat = b;
    }
    if (!stream)
        return FAR_OK;
    uint8_t *framed = NULL;
    if (far__rec_frame(iov, niov, *total, frag, &framed) != FAR_OK) {
        free(*flat);
        *flat = NULL;
        return FAR_ENOMEM;
    }
    if (framed) {
        free(*flat);
        *flat = framed;
        *total = iov[0].iov_len;
    }
    return FAR_OK;
}
