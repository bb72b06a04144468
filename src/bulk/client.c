/* Bulk transfer, the client side: a sync call made with far_call_opts.bulk.
 *
 * The call goes out async; on its connection OPEN (far_bulk.x) waits for
 * its handler to start the transfer; then a window of PULLs (a fetch) or
 * PUSHes (a store) moves the chunks, each completion (on the I/O thread the
 * process's clients share) sending the next one, so the window stays full
 * without a wake-up per chunk; DONE compares the whole transfer's checksum;
 * and the call's reply, which the handler sends once the transfer has
 * ended, completes the call.  The calling thread waits, runs the progress
 * callback (never under a lock) and cleans up.
 *
 * A PULL's result is decoded straight into the sink (far__bulk_pull_res_decode):
 * the chunk is checked and written where it lies in the reply's record; at
 * the privacy level a memory sink's chunk is decrypted where it belongs
 * (far__bulk_pull_place, offered to the flavor through hooks.h) and checked
 * there.
 *
 * A transfer cut short leaves in the spec how far it got (done, token,
 * etag): the next call with the same spec asks OPEN to go on from there. */
#include "bulk/bulk.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RETRY     8          /* chunks sent again after arriving damaged, per transfer */
#define PROGRESS_STEP (4u << 20) /* bytes between two progress callbacks, at least */

typedef struct drv drv;

typedef struct slot {
    drv *d;
    bool busy;
    uint64_t off;
    uint32_t len;
    uint64_t call_id;
    far__bulk_pull_slot pull;
    far_bulk_push_args push;
    far_bulk_push_res push_res;
    uint8_t *buf; /* a store from memory: a damaged copy (the test knob) */
} slot;

struct drv {
    far_client *c;
    far_bulk_spec *sp;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool parent_done;
    far_status pst;
    uint64_t parent_id;
    bool open_done;
    far_err open_rc;
    char open_why[300]; /* OPEN's status text when it failed (a level refused, say) */
    uint64_t open_id;
    far_bulk_open_res open;
    bool fetch;
    uint64_t token, size, chunk;
    unsigned window;
    uint32_t stall_ms;
    far__bulk_io io;
    int own_fd;
    char *tmp; /* a fetch to a path: path.far-part */
    far__bulk_sum sum;
    uint64_t next_off;   /* the next chunk (or piece of one) to send or ask for */
    uint64_t small_base; /* far__client_small_last once the call was made: its own */
    unsigned inflight;
    unsigned cbs;     /* chunk callbacks running: d is freed once none is */
    bool no_transfer; /* the call ended without one: its outcome stands */
    uint64_t woke_at; /* d->done when the calling thread was last woken */
    bool failed;
    far_err err;
    char why[512];
    uint64_t done;  /* in order from 0 */
    uint64_t acked; /* a store: what the server has in order */
    uint64_t sent_bytes;
    unsigned retries;
    slot *slots;
};

static void fail_locked(drv *d, far_err e, const char *why)
{
    if (d->failed)
        return;
    d->failed = true;
    d->err = e;
    snprintf(d->why, sizeof d->why, "%s", why);
}

static far_err stat_err(uint32_t st)
{
    switch (st) {
    case FAR_BULK_OK:
        return FAR_OK;
    case FAR_BULK_CANCELLED:
    case FAR_BULK_NOENT:
        return FAR_ECANCELED;
    case FAR_BULK_TOOBIG:
        return FAR_ELIMIT;
    case FAR_BULK_IO:
        return FAR_EIO;
    case FAR_BULK_TIMEDOUT:
        return FAR_ETIMEDOUT;
    default:
        return FAR_EPROTO;
    }
}

/* ------------------------------------------------------------ a PULL's result */

/* far_bulk_pull_res before its data: stat, offset, xxh3, the data's length */
#define PULL_HEAD 24u

bool far__bulk_pull_place(void *v, const uint8_t *head, size_t head_len, size_t plain_len,
                          size_t *at, size_t *len, uint8_t **dst)
{
    far__bulk_pull_slot *s = v;
    s->placed = false;
    if (!s->sink || s->sink->fd >= 0 || head_len < PULL_HEAD)
        return false;
    uint32_t n = far_xdr_load_u32(head + 20);
    uint64_t off = far_xdr_load_u64(head + 4);
    /* what the decoder would accept, and no more than the sink holds */
    if (far_xdr_load_u32(head) != FAR_BULK_OK || off != s->off || n == 0 || n > s->count ||
        plain_len != PULL_HEAD + (size_t)n + far_xdr_pad(n) || off > s->sink->cap ||
        n > s->sink->cap - off)
        return false;
    *at = PULL_HEAD;
    *len = n;
    *dst = s->sink->mem + off;
    s->placed = true;
    return true;
}

bool far__bulk_pull_res_decode(far_xdr_dec *d, void *v)
{
    far__bulk_pull_slot *s = v;
    uint32_t st, n;
    uint64_t off, h;
    bool placed = s->placed;
    s->placed = false;
    s->got = 0;
    s->damaged = false;
    if (!far_xdr_get_u32(d, &st) || !far_xdr_get_u64(d, &off) || !far_xdr_get_u64(d, &h) ||
        !far_xdr_get_u32(d, &n))
        return false;
    s->stat = st;
    if (st != FAR_BULK_OK)
        return n == 0 || far_xdr_dec_fail(d, FAR_EBADVALUE, "a failed PULL with data");
    /* the bytes asked for, at the offset asked for, before anything is written */
    if (off != s->off || n > s->count || n == 0)
        return far_xdr_dec_fail(d, FAR_EBADVALUE, "a PULL answered with other bytes");
    size_t pad = far_xdr_pad(n);
    /* placed: the data was opened straight into the sink (far__bulk_pull_place,
     * which checked the same header), and the results hold the rest */
    const uint8_t *p = placed ? s->sink->mem + off : far_xdr_take(d, n);
    const uint8_t *z = p ? far_xdr_take(d, pad) : NULL;
    bool ok = p && (!pad || z);
    for (size_t i = 0; ok && i < pad; i++)
        ok = z[i] == 0 || far_xdr_dec_fail(d, FAR_EPADDING, "padding not zero");
    bool damaged = ok && far__bulk_hash(p, n) != h;
    if (placed && (!ok || damaged))
        memset(s->sink->mem + off, 0, n); /* not had: nothing of it is left */
    if (!ok)
        return false;
    if (damaged) {
        s->damaged = true; /* asked for again */
        return true;
    }
    if (!placed && far__bulk_write(s->sink, off, p, n) != FAR_OK) {
        s->stat = FAR_BULK_IO;
        return true;
    }
    s->got = n;
    s->h = h;
    return true;
}

/* ------------------------------------------------------------ the window */

static void chunk_cb(const far_status *st, void *res, void *user);

/* True while the fetch yields to its client's other calls: one was made in
 * the last FAR__BULK_YIELD_NS, after the transfer's own call. */
static bool yielding(const drv *d)
{
    uint64_t last = far__client_small_last(d->c);
    return last != d->small_base && last + FAR__BULK_YIELD_NS > far__now_ns();
}

/* The next chunk for a free slot (d->mu held), or NULL.  While the fetch
 * yields, the chunk is asked for in pieces, one at a time: a small call's
 * reply then waits behind at most a piece, not the window's bytes in the
 * sockets.  A piece goes only once everything asked for before it is in,
 * and after one the rest of its chunk comes as one piece, so the window's
 * chunks stay on the chunk grid (the checksums and reorder tables of both
 * sides count whole chunks). */
static slot *take_slot_locked(drv *d, bool yield)
{
    /* the window is anchored at the first byte not yet had in order: a slow
     * chunk holds the others back, so no chunk is ever more than a window
     * ahead of it (the receiver's reorder table is bounded) */
    if (d->failed || d->next_off >= d->size || d->next_off >= d->done + d->window * d->chunk)
        return NULL;
    uint64_t in = d->next_off % d->chunk, end = d->next_off - in + d->chunk;
    if (end > d->size)
        end = d->size;
    bool piece = yield || in != 0;
    if (piece && d->inflight)
        return NULL;
    for (unsigned i = 0; i < d->window; i++) {
        slot *s = &d->slots[i];
        if (s->busy)
            continue;
        s->busy = true;
        s->off = d->next_off;
        uint64_t n = piece ? end - d->next_off : d->size - d->next_off;
        if (n > (yield ? FAR__BULK_PIECE : d->chunk))
            n = yield ? FAR__BULK_PIECE : d->chunk;
        s->len = (uint32_t)n;
        d->next_off += s->len;
        d->inflight++;
        if (piece)
            far__bulk_count_piece();
        return s;
    }
    return NULL;
}

/* A store: slot s's bytes at p (checksum h) enter the transfer's checksum
 * before they are sent (d->mu held): a whole chunk as it is, a piece
 * (take_slot_locked) across its chunk's pieces, as the server takes them. */
static void count_sent_locked(drv *d, const slot *s, const uint8_t *p, uint64_t h)
{
    if (s->off % d->chunk == 0 && (s->len == d->chunk || s->off + s->len == d->size))
        (void)far__bulk_sum_add(&d->sum, s->off, s->len, h);
    else
        (void)far__bulk_sum_piece(&d->sum, s->off, p, s->len, d->size);
}

/* A store from a file: FAR_BULK_PUSH's arguments encoded with the chunk
 * read straight into the call's encoder (not into the slot's buffer and
 * then copied in), its checksum taken there and written into the field
 * before it, and the chunk counted in the transfer's checksum before the
 * call can be sent (as for a chunk from memory).  Encoded once, in the
 * thread that starts the call. */
typedef struct push_src {
    drv *d;
    slot *s;
    bool counted;
    far_err rc; /* FAR_EIO: the file could not be read */
} push_src;

static bool push_encode_file(far_xdr_enc *e, const void *v)
{
    push_src *ps = (push_src *)v; /* (the caller's, encoded once: writable) */
    drv *d = ps->d;
    slot *s = ps->s;
    size_t at = e->pos, pad = ((size_t)s->len + 3) & ~(size_t)3;
    if (!far_xdr_reserve(e, 28) || !far_xdr_reserve(e, pad))
        return false;
    uint8_t *hdr = e->buf + at, *data = hdr + 28;
    const uint8_t *p = NULL;
    if (far__bulk_read(&d->io, s->off, data, s->len, &p) != FAR_OK) {
        ps->rc = FAR_EIO;
        return false;
    }
    memset(data + s->len, 0, pad - s->len);
    uint64_t h = far__bulk_hash(data, s->len);
    if (!ps->counted) {
        pthread_mutex_lock(&d->mu);
        count_sent_locked(d, s, data, h);
        pthread_mutex_unlock(&d->mu);
        ps->counted = true;
    }
    if (far__bulk_test_corrupt_take(s->off))
        data[0] ^= 0x5a; /* test knob: damaged after its checksum was taken */
    far_xdr_store_u64(hdr, d->token);
    far_xdr_store_u64(hdr + 8, s->off);
    far_xdr_store_u64(hdr + 16, h);
    far_xdr_store_u32(hdr + 24, s->len);
    return true;
}

/* Sends slot s's chunk (d->mu not held).  A failure to start fails the
 * transfer. */
static void send_slot(drv *d, slot *s)
{
    /* may-be: sent once, never again by the runtime after a lost connection
     * (the transfer resumes by its own protocol: a new OPEN with the spec's
     * token and offset), and not kept by the server's duplicate request
     * cache (a chunk is read again at no cost) */
    far_call_opts o = {
        .timeout_ms = d->stall_ms, .call_id = &s->call_id, .semantics = FAR_SEM_MAYBE};
    far_err rc;
    if (d->fetch) {
        s->pull.sink = &d->io;
        s->pull.off = s->off;
        s->pull.count = s->len;
        s->pull.placed = false;
        far_bulk_pull_args a = {d->token, s->off, s->len};
        rc = far_client_call_async(d->c, FAR_BULK_PROG, FAR_BULK_V1, FAR_BULK_PULL,
                                   far_bulk_pull_args_encode_any, &a, far__bulk_pull_res_decode,
                                   &s->pull, NULL, &o, chunk_cb, s);
    } else if (d->io.fd >= 0) {
        push_src ps = {.d = d, .s = s};
        rc = far_client_call_async(d->c, FAR_BULK_PROG, FAR_BULK_V1, FAR_BULK_PUSH,
                                   push_encode_file, &ps, far_bulk_push_res_decode_any,
                                   &s->push_res, NULL, &o, chunk_cb, s);
        if (rc != FAR_OK && ps.rc != FAR_OK) {
            pthread_mutex_lock(&d->mu);
            fail_locked(d, ps.rc, "reading the file to store failed");
            pthread_mutex_unlock(&d->mu);
        }
    } else {
        const uint8_t *p = NULL;
        rc = far__bulk_read(&d->io, s->off, s->buf, s->len, &p);
        if (rc == FAR_OK) {
            uint64_t h = far__bulk_hash(p, s->len);
            pthread_mutex_lock(&d->mu);
            count_sent_locked(d, s, p, h);
            pthread_mutex_unlock(&d->mu);
            if (far__bulk_test_corrupt_take(s->off) &&
                (s->buf || (s->buf = malloc(d->chunk)) != NULL)) {
                memcpy(s->buf, p, s->len);
                s->buf[0] ^= 0x5a; /* test knob: damaged after its checksum was taken */
                p = s->buf;
            }
            s->push = (far_bulk_push_args){d->token, s->off, h, {s->len, (uint8_t *)p}};
            /* (async: the arguments are copied before this returns) */
            rc = far_client_call_async(
                d->c, FAR_BULK_PROG, FAR_BULK_V1, FAR_BULK_PUSH, far_bulk_push_args_encode_any,
                &s->push, far_bulk_push_res_decode_any, &s->push_res, NULL, &o, chunk_cb, s);
        }
    }
    if (rc != FAR_OK) {
        pthread_mutex_lock(&d->mu);
        fail_locked(d, rc, "a chunk could not be sent");
        s->busy = false;
        d->inflight--;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
    } else {
        pthread_mutex_lock(&d->mu);
        d->sent_bytes += s->len;
        pthread_mutex_unlock(&d->mu);
    }
}

/* Fills the window. */
static void fill(drv *d)
{
    bool yield = yielding(d);
    for (unsigned i = 0; i < d->window; i++) {
        pthread_mutex_lock(&d->mu);
        slot *s = take_slot_locked(d, yield);
        pthread_mutex_unlock(&d->mu);
        if (!s)
            return;
        send_slot(d, s);
    }
}

/* A chunk's call completed (the I/O thread). */
static void chunk_cb(const far_status *st, void *res, void *user)
{
    (void)res;
    slot *s = user;
    drv *d = s->d;
    bool again = false;
    bool yield = yielding(d);
    pthread_mutex_lock(&d->mu);
    d->cbs++;
    if (st->err != FAR_OK) {
        fail_locked(d, st->err, st->msg);
    } else if (d->fetch) {
        if (s->pull.damaged || s->pull.stat == FAR_BULK_CHECKSUM) {
            d->sp->checksum_errors++;
            again = ++d->retries <= MAX_RETRY;
            if (!again)
                fail_locked(d, FAR_EPROTO, "chunks keep arriving damaged (checksum)");
        } else if (s->pull.stat != FAR_BULK_OK) {
            fail_locked(d, stat_err(s->pull.stat), "the server ended the transfer");
        } else if (s->pull.got != s->len) {
            fail_locked(d, FAR_EPROTO, "a chunk came short");
        } else if (s->off % d->chunk == 0 && (s->len == d->chunk || s->off + s->len == d->size)) {
            if (!far__bulk_sum_add(&d->sum, s->off, s->len, s->pull.h))
                fail_locked(d, FAR_EPROTO, "a chunk came too far out of order");
        } else if ((s->off + s->len) % d->chunk == 0 || s->off + s->len == d->size) {
            /* the last piece of a chunk (take_slot_locked): everything
             * before the chunk is in, so the chunk's checksum -- the one
             * the transfer's counts, as the server's does -- is taken from
             * the sink, where its pieces were checked in */
            if (far__bulk_sum_from(&d->sum, &d->io, s->off + s->len) != FAR_OK)
                fail_locked(d, FAR_EIO, "a fetched chunk could not be read back for its checksum");
        }
    } else {
        if (s->push_res.stat == FAR_BULK_CHECKSUM) {
            d->sp->checksum_errors++;
            again = ++d->retries <= MAX_RETRY;
            if (!again)
                fail_locked(d, FAR_EPROTO, "chunks keep arriving damaged (checksum)");
        } else if (s->push_res.stat != FAR_BULK_OK) {
            fail_locked(d, stat_err(s->push_res.stat),
                        s->push_res.stat == FAR_BULK_TOOBIG
                            ? "larger than the server takes (its limit or disk budget)"
                            : "the server ended the transfer");
        }
    }
    if (!again) {
        s->busy = false;
        d->inflight--;
    }
    if (!d->fetch && st->err == FAR_OK && s->push_res.stat == FAR_BULK_OK &&
        s->push_res.acked > d->acked)
        d->acked = s->push_res.acked <= d->size ? s->push_res.acked : d->size;
    /* a fetch has what entered its checksum; a store what the server has */
    d->done = d->fetch ? d->sum.next : d->acked;
    slot *next = again ? s : take_slot_locked(d, yield);
    pthread_mutex_unlock(&d->mu);
    if (next)
        send_slot(d, next);
    if (!again)
        fill(d); /* the first chunk in order may open room for several */
    pthread_mutex_lock(&d->mu);
    d->cbs--;
    /* the calling thread is woken for what it waits for -- the end, a
     * failure, the progress callback every PROGRESS_STEP bytes -- not for
     * every chunk (a wake-up per chunk costs a context switch per chunk) */
    bool wake = d->failed || d->inflight == 0 || d->parent_done ||
                (d->sp->on_progress && d->done - d->woke_at >= PROGRESS_STEP);
    if (wake) {
        d->woke_at = d->done;
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
}

/* ------------------------------------------------------------ the call */

static void parent_cb(const far_status *st, void *res, void *user)
{
    (void)res;
    drv *d = user;
    pthread_mutex_lock(&d->mu);
    d->pst = *st;
    d->parent_done = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void open_cb(const far_status *st, void *res, void *user)
{
    (void)res;
    drv *d = user;
    pthread_mutex_lock(&d->mu);
    d->open_rc = st->err;
    if (st->err != FAR_OK)
        snprintf(d->open_why, sizeof d->open_why, "OPEN (FAR_BULK) failed: %.270s", st->msg);
    d->open_done = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

/* Where the data comes from or goes: d->io, and for a fetch to a path its
 * partial file (kept from an earlier attempt when resuming). */
static far_err place_open(drv *d, bool resuming)
{
    far_bulk_spec *sp = d->sp;
    d->io.fd = -1;
    switch (sp->kind) {
    case FAR_BULK_MEM:
        d->io.mem = sp->mem;
        d->io.cap = sp->len;
        return FAR_OK;
    case FAR_BULK_FD:
        d->io.fd = sp->fd;
        d->io.base = sp->offset;
        return FAR_OK;
    case FAR_BULK_PATH:
        if (!d->fetch) {
            d->own_fd = d->io.fd = open(sp->path, O_RDONLY | O_CLOEXEC);
        } else {
            size_t n = strlen(sp->path) + 10;
            if (!(d->tmp = malloc(n)))
                return FAR_ENOMEM;
            snprintf(d->tmp, n, "%s.far-part", sp->path);
            d->own_fd = d->io.fd =
                open(d->tmp, O_RDWR | O_CREAT | O_CLOEXEC | (resuming ? 0 : O_TRUNC), 0644);
        }
        if (d->io.fd < 0) {
            char eb[128];
            far__set_last_error("bulk: %s: %s", d->tmp ? d->tmp : sp->path,
                                far__errno_text(errno, eb, sizeof eb));
            return FAR_EIO;
        }
        return FAR_OK;
    default:
        return FAR_EMISUSE;
    }
}

/* The source's bytes (a store). */
static far_err source_size(drv *d, uint64_t *n)
{
    far_bulk_spec *sp = d->sp;
    if (sp->kind == FAR_BULK_MEM) {
        *n = sp->len;
        return FAR_OK;
    }
    struct stat st;
    if (fstat(d->io.fd, &st) != 0 || (uint64_t)st.st_size < d->io.base)
        return FAR_EIO;
    *n = (uint64_t)st.st_size - d->io.base;
    if (sp->kind == FAR_BULK_FD && sp->len && sp->len < *n)
        *n = sp->len;
    return FAR_OK;
}

static void wait_locked(drv *d, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000u;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

far_err far__bulk_client_call(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                              far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec,
                              void *res, far_arena *arena, const far_call_opts *opts)
{
    far_bulk_spec *sp = opts->bulk;
    far_status *ust = opts->status;
    if (!far__client_is_stream(c)) {
        if (ust) {
            memset(ust, 0, sizeof *ust);
            ust->err = FAR_EUNSUPPORTED;
            snprintf(ust->msg, sizeof ust->msg,
                     "prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                     ": a bulk transfer needs a stream (TCP or a Unix socket), not UDP",
                     prog, vers, proc);
        }
        far__set_last_error("a bulk transfer needs a stream (TCP or a Unix socket), not UDP");
        return sp->err = FAR_EUNSUPPORTED;
    }
    if (far__io_on_thread()) {
        /* its chunks complete on this very thread: it would wait for itself */
        far__set_last_error("a call with a bulk transfer cannot be made from an async callback");
        if (ust) {
            memset(ust, 0, sizeof *ust);
            ust->err = FAR_EMISUSE;
            snprintf(ust->msg, sizeof ust->msg,
                     "prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                     ": a call with a bulk transfer cannot be made from an async callback",
                     prog, vers, proc);
        }
        return sp->err = FAR_EMISUSE;
    }
    drv *d = calloc(1, sizeof *d);
    if (!d)
        return sp->err = FAR_ENOMEM;
    d->c = c;
    d->sp = sp;
    d->own_fd = -1;
    d->stall_ms = sp->stall_ms ? sp->stall_ms : FAR__BULK_STALL_MS;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    far_err rc = FAR_OK;
    bool resuming = sp->done > 0 && sp->token;
    sp->sent_bytes = 0;
    sp->err = FAR_OK;

    /* the call itself: its deadline covers the whole transfer (none given:
     * as long as the data keeps moving -- each chunk has stall_ms) */
    far_call_opts po = *opts;
    po.bulk = NULL;
    po.status = NULL;
    po.call_id = &d->parent_id;
    if (!po.timeout_ms)
        po.timeout_ms = UINT32_MAX / 2;
    rc = far_client_call_async(c, prog, vers, proc, enc, args, dec, res, arena, &po, parent_cb, d);
    d->small_base = far__client_small_last(c); /* (the call's own, as a rule) */
    if (rc != FAR_OK) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return sp->err = rc;
    }
    if (opts->call_id)
        *opts->call_id = d->parent_id; /* far_client_cancel of it ends the transfer too */

    /* OPEN: its xid is the call's (the client's xid is its call id's low
     * half, clnt/client.c prepare) */
    far_bulk_open_args oa = {(uint32_t)d->parent_id, resuming ? sp->token : 0,
                             resuming ? sp->done : 0, resuming ? sp->etag : 0};
    far_call_opts oo = {
        .timeout_ms = d->stall_ms + 5000, .call_id = &d->open_id, .semantics = FAR_SEM_MAYBE};
    rc = far_client_call_async(c, FAR_BULK_PROG, FAR_BULK_V1, FAR_BULK_OPEN,
                               far_bulk_open_args_encode_any, &oa, far_bulk_open_res_decode_any,
                               &d->open, NULL, &oo, open_cb, d);
    pthread_mutex_lock(&d->mu);
    if (rc != FAR_OK) {
        fail_locked(d, rc, "OPEN could not be sent");
        d->open_done = true;
    }
    while (!d->open_done && !d->parent_done)
        wait_locked(d, 1000);
    if (!d->open_done) {
        /* the call ended with no transfer (its handler started none) */
        pthread_mutex_unlock(&d->mu);
        (void)!far_client_cancel(c, d->open_id);
        pthread_mutex_lock(&d->mu);
        while (!d->open_done)
            wait_locked(d, 1000);
        /* the call's outcome stands as it is (a handler that refused says
         * why in its reply); the spec says no transfer took place */
        fail_locked(d, FAR_ECANCELED, "the call's handler started no bulk transfer");
        d->no_transfer = true;
    } else if (d->open_rc != FAR_OK) {
        fail_locked(d, d->open_rc,
                    d->open_rc == FAR_EPROG_UNAVAIL || d->open_rc == FAR_EPROG_MISMATCH
                        ? "the server does not serve FAR_BULK (bulk transfer): a classic ONC RPC "
                          "server, or one without far_bulk_server_create"
                        : d->open_why);
    } else if (d->open.stat == FAR_BULK_NOENT) {
        /* the server has no call of that xid in flight on this connection
         * (its handler ended, starting none): the call's reply is on its
         * way, and its outcome stands as above */
        while (!d->parent_done)
            wait_locked(d, 1000);
        fail_locked(d, FAR_ECANCELED, "the call's handler started no bulk transfer");
        d->no_transfer = true;
    } else if (d->open.stat != FAR_BULK_OK) {
        fail_locked(d, stat_err(d->open.stat),
                    d->open.stat == FAR_BULK_TIMEDOUT ? "the handler started no transfer in time"
                                                      : "OPEN refused");
    }
    bool failed = d->failed;
    pthread_mutex_unlock(&d->mu);

    if (!failed) {
        far_bulk_open_res *o = &d->open;
        d->fetch = o->dir == FAR_BULK_FETCH;
        d->token = o->token;
        d->chunk = o->chunk;
        unsigned want = sp->window ? sp->window : FAR__BULK_WINDOW;
        d->window = o->window && o->window < want ? o->window : want;
        if (d->window > FAR__BULK_REORDER)
            d->window = FAR__BULK_REORDER;
        sp->token = o->token;
        bool resumed = o->offset > 0;
        const char *why = NULL;
        if (o->chunk == 0 || o->chunk > FAR_BULK_MAXCHUNK || o->offset % o->chunk ||
            (o->dir != FAR_BULK_FETCH && o->dir != FAR_BULK_STORE)) {
            rc = FAR_EPROTO;
            why = "OPEN answered with a bad chunk size or direction";
        } else if ((rc = far__bulk_sum_init(&d->sum, o->chunk)) != FAR_OK ||
                   (rc = place_open(d, resumed && d->fetch)) != FAR_OK) {
            why = "the data's place could not be opened";
        } else if (d->fetch) {
            d->size = o->size;
            uint64_t cap = sp->kind == FAR_BULK_MEM ? sp->len : UINT64_MAX;
            if (sp->max_bytes && sp->max_bytes < cap)
                cap = sp->max_bytes;
            if (o->size > cap || o->offset > o->size) {
                rc = FAR_ELIMIT;
                why = "the server sends more than this side takes (far_bulk_spec.max_bytes, "
                      "the buffer)";
            } else if (resumed && (o->etag != sp->etag || o->offset != sp->done)) {
                rc = FAR_EPROTO;
                why = "OPEN resumed from elsewhere than asked";
            }
            sp->etag = o->etag;
        } else {
            rc = source_size(d, &d->size);
            if (rc != FAR_OK)
                why = "the source's size is unknown";
            else if (d->size > o->size) {
                rc = FAR_ELIMIT;
                why = "larger than the server takes (its limit for this transfer)";
            } else if (o->offset > d->size) {
                rc = FAR_EPROTO;
                why = "OPEN resumed past the end of the data";
            }
        }
        /* resuming: the bytes before the offset enter the checksum from here */
        if (rc == FAR_OK && resumed && (rc = far__bulk_sum_from(&d->sum, &d->io, o->offset)))
            why = "the bytes kept for resuming could not be read";
        if (rc == FAR_OK && !(d->slots = calloc(d->window, sizeof *d->slots)))
            rc = FAR_ENOMEM;
        for (unsigned i = 0; rc == FAR_OK && i < d->window; i++)
            d->slots[i].d = d;
        sp->size = d->size;
        d->next_off = d->done = d->acked = rc == FAR_OK ? o->offset : 0;
        pthread_mutex_lock(&d->mu);
        if (rc != FAR_OK)
            fail_locked(d, rc, why ? why : "out of memory");
        pthread_mutex_unlock(&d->mu);
    }

    /* the window: the calling thread reports progress while it moves */
    fill(d);
    uint64_t shown = UINT64_MAX;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        /* the call ended first: the chunks in flight say why (a limit, a
         * cancel), or else it ended too soon */
        if (d->parent_done && !d->failed && d->done < d->size && d->inflight == 0)
            fail_locked(d, d->pst.err != FAR_OK ? d->pst.err : FAR_EPROTO,
                        d->pst.err != FAR_OK ? d->pst.msg : "the call ended before its transfer");
        if (d->inflight == 0 && d->cbs == 0 && (d->failed || d->done >= d->size) &&
            (!sp->on_progress || d->done == shown || d->failed))
            break;
        if (d->failed) {
            /* stop the chunks in flight (each ends by its deadline anyway) */
            uint64_t ids[FAR__BULK_REORDER];
            unsigned n = 0;
            for (unsigned i = 0; i < d->window; i++)
                if (d->slots[i].busy)
                    ids[n++] = d->slots[i].call_id;
            pthread_mutex_unlock(&d->mu);
            for (unsigned i = 0; i < n; i++)
                (void)!far_client_cancel(c, ids[i]);
            pthread_mutex_lock(&d->mu);
        }
        if (sp->on_progress && d->done != shown) {
            uint64_t now = d->done, total = d->size;
            shown = now;
            pthread_mutex_unlock(&d->mu);
            sp->on_progress(now, total, sp->user);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        wait_locked(d, 1000);
    }
    sp->done = d->done;
    sp->sent_bytes = d->sent_bytes;
    bool ok = !d->failed;
    pthread_mutex_unlock(&d->mu);

    /* DONE: the whole transfer's checksum, both sides */
    if (ok) {
        far_bulk_done_args da = {d->token, d->size, 0, 0};
        far__bulk_sum_digest(&d->sum, &da.xxh3_hi, &da.xxh3_lo);
        far_bulk_done_res dr = {0};
        far_call_opts dopt = {.timeout_ms = d->stall_ms + 5000, .semantics = FAR_SEM_MAYBE};
        rc = far_client_call(c, FAR_BULK_PROG, FAR_BULK_V1, FAR_BULK_DONE,
                             far_bulk_done_args_encode_any, &da, far_bulk_done_res_decode_any, &dr,
                             NULL, &dopt);
        pthread_mutex_lock(&d->mu);
        if (rc != FAR_OK)
            fail_locked(d, rc, "DONE failed");
        else if (dr.stat == FAR_BULK_CHECKSUM || dr.xxh3_hi != da.xxh3_hi ||
                 dr.xxh3_lo != da.xxh3_lo)
            fail_locked(d, FAR_EPROTO, "the whole transfer's checksum does not match");
        else if (dr.stat != FAR_BULK_OK)
            fail_locked(d, stat_err(dr.stat), "DONE refused");
        ok = !d->failed;
        pthread_mutex_unlock(&d->mu);
    }
    if (ok && d->tmp) {
        /* complete and checked: only now under its name */
        if (rename(d->tmp, sp->path) != 0) { /* (no fsync: docs/bulk.md) */
            pthread_mutex_lock(&d->mu);
            fail_locked(d, FAR_EIO, "the file received could not be renamed to its name");
            pthread_mutex_unlock(&d->mu);
            ok = false;
        } else {
            free(d->tmp);
            d->tmp = NULL;
        }
    }
    if (!ok && !d->no_transfer) {
        /* the server's handler is told (unless the call is over already) */
        (void)!far_client_cancel(c, d->parent_id);
    }
    pthread_mutex_lock(&d->mu);
    while (!d->parent_done)
        wait_locked(d, 1000);
    pthread_mutex_unlock(&d->mu);

    far_err out = ok || d->no_transfer ? d->pst.err : d->err;
    if (ust) {
        *ust = d->pst;
        if (!ok && !d->no_transfer) {
            ust->err = d->err;
            snprintf(ust->msg, sizeof ust->msg,
                     "prog %" PRIu32 " vers %" PRIu32 " proc %" PRIu32
                     ": bulk transfer failed after %" PRIu64 " of %" PRIu64 " bytes: %.300s",
                     prog, vers, proc, d->done, d->size, d->why);
        }
    }
    if (!ok && !d->no_transfer)
        far__set_last_error("prog %" PRIu32 " proc %" PRIu32 ": bulk transfer failed after %" PRIu64
                            " of %" PRIu64 " bytes: %s",
                            prog, proc, d->done, d->size, d->why);
    sp->err = ok ? FAR_OK : d->err;
    if (ok) {
        sp->done = d->size;
    } else if (d->tmp && (sp->done == 0 || !sp->etag)) {
        unlink(d->tmp); /* nothing worth keeping for a second attempt */
        sp->done = 0;
    }
    if (d->own_fd >= 0)
        close(d->own_fd);
    for (unsigned i = 0; d->slots && i < d->window; i++)
        free(d->slots[i].buf);
    free(d->slots);
    free(d->tmp);
    far__bulk_sum_fini(&d->sum);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return out;
}

FAR__API void far_bulk_spec_reset(far_bulk_spec *sp)
{
    if (!sp)
        return;
    if (sp->kind == FAR_BULK_PATH && sp->path) {
        size_t n = strlen(sp->path) + 10;
        char *t = malloc(n);
        if (t) {
            snprintf(t, n, "%s.far-part", sp->path);
            unlink(t);
            free(t);
        }
    }
    sp->size = sp->done = sp->sent_bytes = sp->token = sp->etag = 0;
    sp->checksum_errors = 0;
    sp->err = FAR_OK;
}
