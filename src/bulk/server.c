/* Bulk transfer, the server side: transfers bound to the calls being served
 * (far_bulk_start / wait / destroy) and the FAR_BULK program the client
 * moves their data with (far_bulk.x: OPEN, PULL, PUSH, DONE).
 *
 * FAR_BULK's calls run in handlers, as the user's do (they read and write
 * files), beside the handler of the call the transfer is bound to, which
 * waits in far_bulk_wait.  One mutex per bulk server guards its tables and
 * the transfers' state; the reading, writing and hashing of chunks happen
 * outside it, the transfer held by a count of its users.
 *
 * A store to a file writes a temporary file in the file's directory
 * (.NAME.far-XXXXXX) and renames it over NAME once DONE's checksum matches.
 * A store cut short (its call cancelled, its connection lost) keeps its
 * temporary file for resume_ms, named by its token: the next attempt's OPEN
 * names that token and goes on from the bytes received in order.  Those
 * files and the stores in progress count against the disk budget. */
#include "bulk/bulk.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

enum { T_RUNNING, T_OK, T_FAILED };

struct far_bulk {
    far_bulk_server *bs;
    far_bulk *next; /* bs->live */
    far_svc_req *r; /* the call it is bound to (until destroy) */
    uint64_t conn_key;
    uint32_t xid;
    uint64_t token;
    far_bulk_direction dir;
    far_bulk_kind kind;
    char *path, *tmp; /* a store to a file: its name and the temporary one */
    int own_fd;       /* opened here (-1: none) */
    far__bulk_io io;
    uint64_t size; /* a fetch: its bytes; a store: the most taken (total once done) */
    uint64_t etag;
    uint64_t high; /* a store to a file: bytes reserved of the disk budget */
    far__bulk_sum sum;
    int state;
    far_err err;
    bool opened, cancel_set;
    unsigned users;    /* PULL, PUSH, DONE handlers at work on it */
    unsigned out_refs; /* PULL replies not yet written that refer to its memory */
    pthread_cond_t cv;
    uint64_t last_ns; /* the last chunk (or the start) */
    _Atomic uint64_t done_bytes;
    far_bulk_progress_fn on_progress;
    void *user;
};

/* A store cut short, kept for the next attempt. */
typedef struct parked {
    struct parked *next;
    uint64_t token;
    char *path, *tmp;
    uint64_t acked, high, chunk;
    uint64_t expires_ns;
} parked;

struct far_bulk_server {
    far_server *s;
    far_bulk_server_opts o;
    pthread_mutex_t mu;
    pthread_cond_t started; /* a transfer started: OPEN looks again */
    far_bulk *live;
    unsigned nlive; /* transfers started and not destroyed (or being started) */
    far__ratelimit refusals;
    parked *parked;
    unsigned nparked;
    uint64_t disk_used;
    atomic_ulong checksum_errors; /* test knob */
};

/* ------------------------------------------------------------ helpers */

static uint64_t new_token(void)
{
    static _Atomic uint64_t ctr;
    uint64_t t = 0;
    if (getrandom(&t, sizeof t, GRND_NONBLOCK) != (ssize_t)sizeof t)
        t = far__now_ns() * 0x9e3779b97f4a7c15ull;
    t ^= atomic_fetch_add(&ctr, 1);
    return t ? t : 1;
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + ms * 1000000u;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(cv, mu, &ts);
}

static void fail_locked(far_bulk *t, far_err why)
{
    if (t->state != T_RUNNING)
        return;
    t->state = T_FAILED;
    t->err = why;
    pthread_cond_broadcast(&t->cv);
}

static far_bulk *find_token_locked(far_bulk_server *bs, uint64_t token, far_svc_req *r)
{
    uint64_t key = far__svc_req_conn_key(r);
    for (far_bulk *t = bs->live; t; t = t->next)
        if (t->token == token && t->opened && t->conn_key == key)
            return t;
    return NULL;
}

static void parked_free(far_bulk_server *bs, parked *p, bool unlink_tmp)
{
    if (unlink_tmp && p->tmp)
        unlink(p->tmp);
    bs->disk_used -= p->high;
    free(p->path);
    free(p->tmp);
    free(p);
}

/* Drops the parked stores past their time (bs->mu held). */
static void parked_expire_locked(far_bulk_server *bs, uint64_t now)
{
    for (parked **pp = &bs->parked; *pp;) {
        parked *p = *pp;
        if (p->expires_ns > now) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        bs->nparked--;
        parked_free(bs, p, true);
    }
}

/* The temporary name of a store to `path`: .NAME.far-XXXXXX beside it. */
static char *tmp_template(const char *path)
{
    char *a = strdup(path), *b = strdup(path);
    char *out = NULL;
    if (a && b) {
        const char *dir = dirname(a), *base = basename(b);
        size_t n = strlen(dir) + strlen(base) + 16;
        out = malloc(n);
        if (out)
            snprintf(out, n, "%s/.%s.far-XXXXXX", dir, base);
    }
    free(a);
    free(b);
    return out;
}

static uint64_t file_etag(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 0;
    uint64_t v[5] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
                     (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec};
    uint64_t h = XXH3_64bits(v, sizeof v);
    return h ? h : 1;
}

static void progress(far_bulk *t, uint64_t done)
{
    uint64_t prev = atomic_load(&t->done_bytes);
    while (done > prev && !atomic_compare_exchange_weak(&t->done_bytes, &prev, done)) {
    }
    if (t->on_progress && done > prev)
        t->on_progress(done, t->dir == FAR_BULK_DIR_FETCH ? t->size : 0, t->user);
}

/* A FAR_BULK call is done with t (taken with users++ under bs->mu). */
static void release(far_bulk *t)
{
    pthread_mutex_lock(&t->bs->mu);
    if (--t->users == 0)
        pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->bs->mu);
}

/* A PULL reply that referred to t's memory is written or dropped. */
static void reply_done(void *arg)
{
    far_bulk *t = arg;
    pthread_mutex_lock(&t->bs->mu);
    if (--t->out_refs == 0)
        pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->bs->mu);
}

/* ------------------------------------------------------------ handler API */

static void on_cancel(void *user)
{
    far_bulk *t = user;
    pthread_mutex_lock(&t->bs->mu);
    fail_locked(t, FAR_ECANCELED);
    pthread_mutex_unlock(&t->bs->mu);
}

FAR__API far_err far_bulk_start(far_bulk_server *bs, far_svc_req *r, const far_bulk_desc *d,
                                far_bulk **out)
{
    if (out)
        *out = NULL;
    if (!bs || !r || !d || !out || (d->dir != FAR_BULK_DIR_FETCH && d->dir != FAR_BULK_DIR_STORE) ||
        (d->kind == FAR_BULK_PATH && !d->path) || (d->kind == FAR_BULK_FD && d->fd < 0) ||
        (d->kind == FAR_BULK_MEM && !d->mem && d->len) ||
        (d->kind != FAR_BULK_PATH && d->kind != FAR_BULK_FD && d->kind != FAR_BULK_MEM)) {
        far__set_last_error("far_bulk_start: NULL argument or a bad far_bulk_desc");
        return FAR_EMISUSE;
    }
    uint64_t key = far__svc_req_conn_key(r);
    if (!key) {
        far__set_last_error("far_bulk_start: prog %" PRIu32 " proc %" PRIu32
                            " from %s: a bulk transfer needs a stream (TCP or a Unix "
                            "socket), not UDP",
                            far_svc_req_prog(r), far_svc_req_proc(r), far_svc_req_peer(r));
        return FAR_EUNSUPPORTED;
    }
    /* A transfer's handler waits, its slot given back (far__svc_req_block_begin):
     * at most as many at once as the server may have handlers blocked so,
     * or the chunk calls they wait for could find no thread. */
    unsigned most = far__server_max_blocked(bs->s);
    pthread_mutex_lock(&bs->mu);
    bool room = bs->nlive < most;
    if (room)
        bs->nlive++;
    pthread_mutex_unlock(&bs->mu);
    if (!room) {
        unsigned long n;
        if (far__ratelimit_hit(&bs->refusals, 1000000000u, &n))
            far__log_warn("%s: bulk transfer refused: %u at once already "
                          "(far_server_opts.max_workers; %lu refused)",
                          far_svc_req_peer(r), most, n);
        far__set_last_error("far_bulk_start: %u transfers at once already, the most this server "
                            "takes (far_server_opts.max_workers)",
                            most);
        return FAR_ELIMIT;
    }
    far_bulk *t = calloc(1, sizeof *t);
    if (!t) {
        pthread_mutex_lock(&bs->mu);
        bs->nlive--;
        pthread_mutex_unlock(&bs->mu);
        return FAR_ENOMEM;
    }
    t->bs = bs;
    t->r = r;
    t->conn_key = key;
    t->xid = far_svc_req_xid(r);
    t->token = new_token();
    t->dir = d->dir;
    t->kind = d->kind;
    t->own_fd = -1;
    t->io.fd = -1;
    t->on_progress = d->on_progress;
    t->user = d->user;
    pthread_cond_init(&t->cv, NULL);
    far_err rc = far__bulk_sum_init(&t->sum, bs->o.chunk);
    if (rc != FAR_OK)
        goto out;
    uint64_t limit =
        d->max_bytes && d->max_bytes < bs->o.max_transfer ? d->max_bytes : bs->o.max_transfer;
    switch (d->kind) {
    case FAR_BULK_MEM:
        t->io.mem = d->mem;
        t->io.cap = d->len;
        t->size = d->dir == FAR_BULK_DIR_FETCH ? d->len : (d->len < limit ? d->len : limit);
        t->etag = d->etag;
        break;
    case FAR_BULK_FD:
    case FAR_BULK_PATH:
        if (d->dir == FAR_BULK_DIR_FETCH) {
            int fd = d->fd;
            if (d->kind == FAR_BULK_PATH) {
                fd = t->own_fd = open(d->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                    char eb[128];
                    far__set_last_error("far_bulk_start: %s: %s", d->path,
                                        far__errno_text(errno, eb, sizeof eb));
                    rc = FAR_EIO;
                    goto out;
                }
            }
            struct stat st;
            if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
                (uint64_t)st.st_size < (d->kind == FAR_BULK_FD ? d->offset : 0)) {
                far__set_last_error("far_bulk_start: not a regular file, or shorter than the "
                                    "offset");
                rc = FAR_EIO;
                goto out;
            }
            t->io.fd = fd;
            t->io.base = d->kind == FAR_BULK_FD ? d->offset : 0;
            t->size = (uint64_t)st.st_size - t->io.base;
            if (d->kind == FAR_BULK_FD && d->len && d->len < t->size)
                t->size = d->len;
            t->etag = file_etag(fd) ^ t->io.base ^ (t->size << 1);
        } else {
            t->size = limit;
            if (d->kind == FAR_BULK_PATH) {
                if (!(t->path = strdup(d->path))) {
                    rc = FAR_ENOMEM;
                    goto out;
                }
            } else {
                t->io.fd = d->fd;
                t->io.base = d->offset;
            }
        }
        break;
    default:
        break;
    }
    t->last_ns = far__now_ns();
    pthread_mutex_lock(&bs->mu);
    t->next = bs->live;
    bs->live = t;
    pthread_cond_broadcast(&bs->started);
    pthread_mutex_unlock(&bs->mu);
    /* the call's cancellation ends the transfer (it runs at once if the call
     * is cancelled already) */
    t->cancel_set = far_svc_req_on_cancel(r, on_cancel, t) == FAR_OK;
    *out = t;
    return FAR_OK;
out:
    pthread_mutex_lock(&bs->mu);
    bs->nlive--;
    pthread_mutex_unlock(&bs->mu);
    far__bulk_sum_fini(&t->sum);
    if (t->own_fd >= 0)
        close(t->own_fd);
    free(t->path);
    pthread_cond_destroy(&t->cv);
    free(t);
    return rc;
}

FAR__API far_err far_bulk_wait(far_bulk *t, uint32_t timeout_ms)
{
    if (!t)
        return FAR_EMISUSE;
    far_bulk_server *bs = t->bs;
    uint64_t start = far__now_ns();
    uint64_t deadline =
        timeout_ms == UINT32_MAX ? UINT64_MAX : start + (uint64_t)timeout_ms * 1000000u;
    uint64_t stall = (uint64_t)bs->o.stall_ms * 1000000u;
    /* waiting for the chunk calls, which need a handler slot and a thread */
    bool blocked = timeout_ms && far__svc_req_block_begin(t->r);
    pthread_mutex_lock(&bs->mu);
    for (int i = 0; t->state == T_RUNNING; i++) {
        uint64_t now = far__now_ns();
        if (far_svc_req_cancelled(t->r)) {
            fail_locked(t, FAR_ECANCELED);
            break;
        }
        if (now - t->last_ns > stall && t->users == 0) {
            far__log_warn("%s: bulk transfer of xid %08" PRIx32 ": nothing for %" PRIu32
                          " ms: given up (far_bulk_server_opts.stall_ms)",
                          far_svc_req_peer(t->r), t->xid, bs->o.stall_ms);
            fail_locked(t, FAR_ETIMEDOUT);
            break;
        }
        if (now >= deadline) {
            pthread_mutex_unlock(&bs->mu);
            if (blocked)
                far__svc_req_block_end(t->r);
            return FAR_ECLOSED;
        }
        uint64_t left = (deadline - now) / 1000000u + 1;
        timed_wait(&t->cv, &bs->mu, left < 100 ? left : 100); /* a cancel is polled too */
        (void)i;
    }
    far_err rc = t->state == T_OK ? FAR_OK : t->err;
    pthread_mutex_unlock(&bs->mu);
    if (blocked)
        far__svc_req_block_end(t->r);
    return rc;
}

FAR__API void far_bulk_progress(const far_bulk *t, uint64_t *done, uint64_t *total)
{
    if (done)
        *done = t ? atomic_load(&((far_bulk *)t)->done_bytes) : 0;
    if (total)
        *total = !t ? 0 : t->dir == FAR_BULK_DIR_FETCH || t->state == T_OK ? t->size : 0;
}

FAR__API void far_bulk_destroy(far_bulk *t)
{
    if (!t)
        return;
    far_bulk_server *bs = t->bs;
    if (t->cancel_set)
        (void)!far_svc_req_on_cancel(t->r, NULL, NULL); /* waits for one running */
    pthread_mutex_lock(&bs->mu);
    fail_locked(t, FAR_ECANCELED);
    /* the calls at work on it, and the replies still referring to its
     * memory (written or dropped soon: a connection that takes no reply
     * bytes is closed by the server's idle sweep).  It stays among the live
     * ones (failed) until a cut store is kept: an OPEN resuming it waits
     * for that, and must not find it neither live nor kept (the wait lets
     * go of the lock). */
    for (int i = 0; (t->users > 0 || t->out_refs > 0) && i < 100000; i++)
        timed_wait(&t->cv, &bs->mu, 10);
    if (t->tmp && t->state != T_OK) {
        /* a store cut short: kept for the next attempt if it got anywhere */
        parked *p = t->sum.next > 0 && bs->o.max_parked ? calloc(1, sizeof *p) : NULL;
        if (p) {
            p->token = t->token;
            p->path = t->path;
            p->tmp = t->tmp;
            p->acked = t->sum.next;
            p->high = t->high;
            p->chunk = t->sum.chunk;
            p->expires_ns = far__now_ns() + (uint64_t)bs->o.resume_ms * 1000000u;
            t->path = t->tmp = NULL;
            t->high = 0;
            parked_expire_locked(bs, far__now_ns());
            p->next = bs->parked;
            bs->parked = p;
            if (++bs->nparked > bs->o.max_parked) { /* the oldest goes */
                parked **pp = &bs->parked;
                while ((*pp)->next)
                    pp = &(*pp)->next;
                parked *old = *pp;
                *pp = NULL;
                bs->nparked--;
                parked_free(bs, old, true);
            }
        } else {
            unlink(t->tmp);
        }
    }
    bs->disk_used -= t->high;
    for (far_bulk **pp = &bs->live; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            bs->nlive--;
            break;
        }
    pthread_cond_broadcast(&bs->started); /* an OPEN waiting for it to end */
    pthread_mutex_unlock(&bs->mu);
    if (t->own_fd >= 0)
        close(t->own_fd);
    far__bulk_sum_fini(&t->sum);
    free(t->path);
    free(t->tmp);
    pthread_cond_destroy(&t->cv);
    free(t);
}

/* ------------------------------------------------------------ FAR_BULK */

/* OPEN: waits for the handler of call `xid` on this connection to start a
 * transfer, then names it. */
static far_err do_open(const void *impl, far_svc_req *r, const void *args, void *res)
{
    far_bulk_server *bs = (far_bulk_server *)impl;
    const far_bulk_open_args *a = args;
    far_bulk_open_res *o = res;
    uint64_t key = far__svc_req_conn_key(r);
    uint64_t until = far__now_ns() + (uint64_t)bs->o.stall_ms * 1000000u;
    o->stat = FAR_BULK_NOENT;
    o->dir = FAR_BULK_FETCH; /* (an enum: a valid value even when refused) */
    if (!key)
        return FAR_OK;
    bool blocked = false; /* waiting for the call's handler, which needs a slot */
    pthread_mutex_lock(&bs->mu);
    far_bulk *t = NULL;
    for (int i = 0; i < 1000000; i++) {
        for (t = bs->live; t; t = t->next)
            if (t->conn_key == key && t->xid == a->xid && !t->opened)
                break;
        /* resuming a store whose earlier attempt is still being ended (its
         * connection's loss seen after this one came): wait for it to be
         * kept for us */
        bool ending = false;
        for (far_bulk *e = bs->live; a->resume && e; e = e->next)
            ending = ending || e->token == a->resume;
        if ((t && !ending) || far_svc_req_cancelled(r))
            break;
        /* Only the handler of a call in flight on this connection may yet
         * start the transfer: an OPEN naming any other (gone, never sent)
         * is answered at once, so OPENs cannot hold the server's threads
         * for stall_ms each. */
        if (!t && !far__svc_req_conn_has_call(r, a->xid))
            break;
        if (far__now_ns() >= until) {
            o->stat = FAR_BULK_TIMEDOUT;
            break;
        }
        if (!blocked) {
            pthread_mutex_unlock(&bs->mu);
            blocked = far__svc_req_block_begin(r);
            pthread_mutex_lock(&bs->mu);
            continue; /* (look again: it may have started meanwhile) */
        }
        timed_wait(&bs->started, &bs->mu, 50);
    }
    if (!t)
        goto out;
    if (t->state != T_RUNNING) {
        o->stat = FAR_BULK_CANCELLED;
        goto out;
    }
    t->opened = true;
    o->offset = 0;
    if (t->dir == FAR_BULK_DIR_STORE && t->path) {
        /* a store to a file: the earlier attempt's partial file, or a new one */
        parked_expire_locked(bs, far__now_ns());
        parked **pp = &bs->parked;
        while (a->resume && *pp &&
               !((*pp)->token == a->resume && !strcmp((*pp)->path, t->path) &&
                 (*pp)->chunk == t->sum.chunk))
            pp = &(*pp)->next;
        if (a->resume && *pp) {
            parked *p = *pp;
            int fd = open(p->tmp, O_RDWR | O_CLOEXEC);
            if (fd >= 0) {
                *pp = p->next;
                bs->nparked--;
                t->own_fd = t->io.fd = fd;
                t->tmp = p->tmp;
                t->high = p->high;
                p->tmp = NULL;
                p->high = 0;
                far__bulk_io rd = t->io;
                if (far__bulk_sum_from(&t->sum, &rd, p->acked) == FAR_OK) {
                    o->offset = p->acked;
                } else {
                    far__bulk_sum_reset(&t->sum);
                    (void)!ftruncate(fd, 0);
                }
                parked_free(bs, p, false);
            }
        }
        if (t->io.fd < 0) {
            t->tmp = tmp_template(t->path);
            int fd = t->tmp ? mkostemp(t->tmp, O_CLOEXEC) : -1;
            if (fd < 0) {
                char eb[128];
                far__log_warn("%s: bulk store to %s: cannot create its temporary file: %s",
                              far_svc_req_peer(r), t->path, far__errno_text(errno, eb, sizeof eb));
                free(t->tmp);
                t->tmp = NULL;
                fail_locked(t, FAR_EIO);
                o->stat = FAR_BULK_IO;
                goto out;
            }
            (void)fchmod(fd, 0644); /* mkostemp's is 0600 */
            t->own_fd = t->io.fd = fd;
        }
    } else if (t->dir == FAR_BULK_DIR_FETCH && a->resume_from && t->etag && a->etag == t->etag &&
               a->resume_from % t->sum.chunk == 0 && a->resume_from <= t->size) {
        o->offset = a->resume_from; /* the client has the bytes before it */
    }
    t->last_ns = far__now_ns();
    o->stat = FAR_BULK_OK;
    o->token = t->token;
    o->dir = t->dir == FAR_BULK_DIR_FETCH ? FAR_BULK_FETCH : FAR_BULK_STORE;
    o->size = t->size;
    o->etag = t->dir == FAR_BULK_DIR_FETCH ? t->etag : 0;
    o->chunk = (uint32_t)t->sum.chunk;
    o->window = bs->o.window;
out:
    pthread_mutex_unlock(&bs->mu);
    if (blocked)
        far__svc_req_block_end(r);
    return FAR_OK;
}

static far_err do_pull(const void *impl, far_svc_req *r, const void *args, void *res)
{
    far_bulk_server *bs = (far_bulk_server *)impl;
    const far_bulk_pull_args *a = args;
    far_bulk_pull_res *o = res;
    o->offset = a->offset;
    pthread_mutex_lock(&bs->mu);
    far_bulk *t = find_token_locked(bs, a->token, r);
    if (!t || t->state != T_RUNNING) {
        o->stat = t ? FAR_BULK_CANCELLED : FAR_BULK_NOENT;
        pthread_mutex_unlock(&bs->mu);
        return FAR_OK;
    }
    uint64_t chunk = t->sum.chunk;
    if (t->dir != FAR_BULK_DIR_FETCH) {
        o->stat = FAR_BULK_WRONGDIR;
    } else if (a->offset >= t->size || a->count == 0) {
        o->stat = FAR_BULK_BADOFF;
    } else {
        o->stat = FAR_BULK_OK;
        t->users++;
    }
    pthread_mutex_unlock(&bs->mu);
    if (o->stat != FAR_BULK_OK)
        return FAR_OK;
    /* a chunk, or a piece of one (a client that yields to its other calls,
     * bulk/client.c): never past the chunk's end */
    uint64_t in = a->offset % chunk, end = a->offset - in + chunk;
    if (end > t->size)
        end = t->size;
    uint64_t n = end - a->offset;
    if (n > a->count)
        n = a->count;
    bool whole = in == 0 && a->offset + n == end;
    /* A file's chunk is read into the call's arena, freed once the reply is
     * written; memory is referred to where it is, the reply counted until
     * it is written or dropped (far_bulk_destroy waits for it: the handler
     * may free the memory once it returns). */
    bool mem = t->io.fd < 0;
    uint8_t *buf = mem ? NULL : far_arena_alloc(far_svc_req_arena(r), (size_t)n);
    const uint8_t *p = NULL;
    far_err rc = mem || buf ? far__bulk_read(&t->io, a->offset, buf, (size_t)n, &p) : FAR_ENOMEM;
    uint64_t h = rc == FAR_OK ? far__bulk_hash(p, (size_t)n) : 0;
    if (rc == FAR_OK && far__bulk_test_corrupt_take(a->offset)) {
        /* test knob: damaged after its checksum was taken */
        if (mem && (buf = far_arena_alloc(far_svc_req_arena(r), (size_t)n)))
            memcpy(buf, p, (size_t)n);
        if (buf) {
            buf[0] ^= 0x5a;
            p = buf;
        }
    }
    if (rc == FAR_OK && p != buf) {
        pthread_mutex_lock(&bs->mu);
        t->out_refs++;
        pthread_mutex_unlock(&bs->mu);
        far__svc_req_on_done(r, reply_done, t);
    }
    pthread_mutex_lock(&bs->mu);
    if (rc == FAR_OK) {
        /* the transfer's checksum counts whole chunks: a chunk, or one
         * taken across its pieces; else (out of reach) DONE reads it */
        if (whole)
            (void)far__bulk_sum_add(&t->sum, a->offset, n, h);
        else
            (void)far__bulk_sum_piece(&t->sum, a->offset, p, (size_t)n, t->size);
        t->last_ns = far__now_ns();
    } else {
        far__log_warn("%s: bulk fetch of xid %08" PRIx32 ": reading at %" PRIu64 " failed",
                      far_svc_req_peer(r), t->xid, a->offset);
        fail_locked(t, FAR_EIO);
    }
    pthread_mutex_unlock(&bs->mu);
    if (rc == FAR_OK)
        progress(t, a->offset + n); /* (t is held: its users count this call) */
    release(t);
    if (rc != FAR_OK) {
        o->stat = FAR_BULK_IO;
        return FAR_OK;
    }
    o->xxh3 = h;
    o->data.data_len = (uint32_t)n;
    o->data.data_val = (uint8_t *)p;
    return FAR_OK;
}

static far_err do_push(const void *impl, far_svc_req *r, const void *args, void *res)
{
    far_bulk_server *bs = (far_bulk_server *)impl;
    const far_bulk_push_args *a = args;
    far_bulk_push_res *o = res;
    uint32_t n = a->data.data_len;
    pthread_mutex_lock(&bs->mu);
    far_bulk *t = find_token_locked(bs, a->token, r);
    if (!t || t->state != T_RUNNING) {
        o->stat = t ? FAR_BULK_CANCELLED : FAR_BULK_NOENT;
        pthread_mutex_unlock(&bs->mu);
        return FAR_OK;
    }
    o->acked = far__bulk_sum_in_order(&t->sum);
    uint64_t chunk = t->sum.chunk;
    /* a chunk, or a piece of one (a client that yields to its other calls,
     * bulk/client.c): never past the chunk's end */
    bool whole = a->offset % chunk == 0 && n == chunk;
    o->stat = FAR_BULK_OK;
    if (t->dir != FAR_BULK_DIR_STORE) {
        o->stat = FAR_BULK_WRONGDIR;
    } else if (n == 0 || a->offset % chunk + n > chunk ||
               (a->offset >= t->sum.next &&
                (a->offset - t->sum.next) / chunk >= FAR__BULK_REORDER)) {
        o->stat = FAR_BULK_BADOFF;
    } else if (a->offset + n > t->size) {
        far__log_warn("%s: bulk store of xid %08" PRIx32 ": past its limit of %" PRIu64
                      " bytes (far_bulk_desc.max_bytes, far_bulk_server_opts.max_transfer)",
                      far_svc_req_peer(r), t->xid, t->size);
        o->stat = FAR_BULK_TOOBIG;
        fail_locked(t, FAR_ELIMIT);
    } else if (t->io.fd >= 0 && a->offset + n > t->high) {
        uint64_t more = a->offset + n - t->high;
        if (bs->disk_used + more > bs->o.disk_budget) {
            far__log_warn("%s: bulk store of xid %08" PRIx32 ": over the disk budget of %" PRIu64
                          " bytes (far_bulk_server_opts.disk_budget)",
                          far_svc_req_peer(r), t->xid, bs->o.disk_budget);
            o->stat = FAR_BULK_TOOBIG;
            fail_locked(t, FAR_ELIMIT);
        } else {
            bs->disk_used += more;
            t->high += more;
        }
    }
    if (o->stat == FAR_BULK_OK)
        t->users++;
    pthread_mutex_unlock(&bs->mu);
    if (o->stat != FAR_BULK_OK)
        return FAR_OK;
    far_err rc = FAR_OK;
    uint64_t h = far__bulk_hash(a->data.data_val, n);
    if (h != a->xxh3) {
        atomic_fetch_add(&bs->checksum_errors, 1);
        far__log_debug("%s: bulk store of xid %08" PRIx32 ": chunk at %" PRIu64
                       " damaged (checksum): asked again",
                       far_svc_req_peer(r), t->xid, a->offset);
        o->stat = FAR_BULK_CHECKSUM;
    } else {
        rc = far__bulk_write(&t->io, a->offset, a->data.data_val, n);
    }
    pthread_mutex_lock(&bs->mu);
    if (o->stat == FAR_BULK_OK && rc == FAR_OK) {
        /* within reach: checked above; a short chunk is taken as a piece (a
         * store's last one is counted at DONE, which says where it ends) */
        if (whole)
            (void)far__bulk_sum_add(&t->sum, a->offset, n, h);
        else
            (void)far__bulk_sum_piece(&t->sum, a->offset, a->data.data_val, n, UINT64_MAX);
        t->last_ns = far__now_ns();
    } else if (rc != FAR_OK) {
        o->stat = rc == FAR_ELIMIT ? FAR_BULK_TOOBIG : FAR_BULK_IO;
        fail_locked(t, rc);
    }
    o->acked = far__bulk_sum_in_order(&t->sum);
    pthread_mutex_unlock(&bs->mu);
    if (o->stat == FAR_BULK_OK)
        progress(t, o->acked);
    release(t);
    return FAR_OK;
}

static far_err do_done(const void *impl, far_svc_req *r, const void *args, void *res)
{
    far_bulk_server *bs = (far_bulk_server *)impl;
    const far_bulk_done_args *a = args;
    far_bulk_done_res *o = res;
    pthread_mutex_lock(&bs->mu);
    far_bulk *t = find_token_locked(bs, a->token, r);
    if (!t || t->state != T_RUNNING) {
        o->stat = t ? FAR_BULK_CANCELLED : FAR_BULK_NOENT;
        pthread_mutex_unlock(&bs->mu);
        return FAR_OK;
    }
    o->stat = FAR_BULK_OK;
    t->users++;
    far_err why = FAR_OK;
    if (t->dir == FAR_BULK_DIR_FETCH) {
        /* chunks whose checksums were out of reach (or never asked for: a
         * resumed fetch) are read again here */
        if (a->size != t->size)
            o->stat = FAR_BULK_BADOFF;
        else if (t->sum.next < t->size && far__bulk_sum_from(&t->sum, &t->io, t->size) != FAR_OK)
            o->stat = FAR_BULK_IO;
    } else {
        far__bulk_sum_piece_end(&t->sum, a->size); /* a last chunk that came short */
        if (a->size != t->sum.next || a->size > t->size)
            o->stat = FAR_BULK_BADOFF; /* chunks missing */
    }
    if (o->stat == FAR_BULK_OK) {
        far__bulk_sum_digest(&t->sum, &o->xxh3_hi, &o->xxh3_lo);
        if (o->xxh3_hi != a->xxh3_hi || o->xxh3_lo != a->xxh3_lo)
            o->stat = FAR_BULK_CHECKSUM;
    }
    if (o->stat == FAR_BULK_OK && t->dir == FAR_BULK_DIR_STORE) {
        if (t->tmp) {
            /* complete and checked: only now under its name */
            if (ftruncate(t->io.fd, (off_t)a->size) != 0 || rename(t->tmp, t->path) != 0) {
                char eb[128];
                far__log_warn("%s: bulk store to %s: %s", far_svc_req_peer(r), t->path,
                              far__errno_text(errno, eb, sizeof eb));
                o->stat = FAR_BULK_IO;
            } else {
                free(t->tmp);
                t->tmp = NULL;
            }
        }
        t->size = a->size;
    }
    if (o->stat == FAR_BULK_OK) {
        t->state = T_OK;
        pthread_cond_broadcast(&t->cv);
    } else {
        why = o->stat == FAR_BULK_IO ? FAR_EIO : FAR_EPROTO;
        if (o->stat == FAR_BULK_CHECKSUM)
            far__log_warn("%s: bulk transfer of xid %08" PRIx32
                          ": the whole transfer's checksum does not match",
                          far_svc_req_peer(r), t->xid);
        fail_locked(t, why);
    }
    uint64_t done = t->dir == FAR_BULK_DIR_FETCH ? t->size : t->sum.next;
    pthread_mutex_unlock(&bs->mu);
    if (o->stat == FAR_BULK_OK && t->on_progress)
        t->on_progress(done, done, t->user);
    release(t);
    return FAR_OK;
}

static const far_proc_desc bulk_procs[] = {
    {.proc = 0, .name = "FAR_BULK_NULL"},
    {.proc = 1,
     .name = "FAR_BULK_OPEN",
     .decode_args = far_bulk_open_args_decode_any,
     .encode_res = far_bulk_open_res_encode_any,
     .args_size = sizeof(far_bulk_open_args),
     .res_size = sizeof(far_bulk_open_res),
     .invoke = do_open,
     .semantics = FAR_SEM_AT_LEAST_ONCE},
    {.proc = 2,
     .name = "FAR_BULK_PULL",
     .decode_args = far_bulk_pull_args_decode_any,
     .encode_res = far_bulk_pull_res_encode_any,
     .args_size = sizeof(far_bulk_pull_args),
     .res_size = sizeof(far_bulk_pull_res),
     .invoke = do_pull,
     .semantics = FAR_SEM_AT_LEAST_ONCE},
    {.proc = 3,
     .name = "FAR_BULK_PUSH",
     .decode_args = far_bulk_push_args_decode_any,
     .encode_res = far_bulk_push_res_encode_any,
     .args_size = sizeof(far_bulk_push_args),
     .res_size = sizeof(far_bulk_push_res),
     .invoke = do_push,
     .semantics = FAR_SEM_AT_LEAST_ONCE},
    {.proc = 4,
     .name = "FAR_BULK_DONE",
     .decode_args = far_bulk_done_args_decode_any,
     .encode_res = far_bulk_done_res_encode_any,
     .args_size = sizeof(far_bulk_done_args),
     .res_size = sizeof(far_bulk_done_res),
     .invoke = do_done},
};

static const far_program_desc bulk_prog = {
    FAR_DESC_SIZES,          .prog = FAR_BULK_PROG, .vers = FAR_BULK_V1,
    .name = "FAR_BULK_PROG", .procs = bulk_procs,   .nprocs = FAR__ARRAY_LEN(bulk_procs),
};

FAR__API far_err far_bulk_server_create(far_bulk_server **out, far_server *s,
                                        const far_bulk_server_opts *opts)
{
    if (!out || !s)
        return FAR_EMISUSE;
    *out = NULL;
    far_bulk_server *bs = calloc(1, sizeof *bs);
    if (!bs)
        return FAR_ENOMEM;
    if (opts)
        bs->o = *opts;
    if (!bs->o.max_transfer)
        bs->o.max_transfer = (uint64_t)1 << 40;
    if (!bs->o.disk_budget)
        bs->o.disk_budget = (uint64_t)16 << 30;
    if (!bs->o.chunk)
        bs->o.chunk = FAR__BULK_CHUNK;
    if (bs->o.chunk > FAR_BULK_MAXCHUNK)
        bs->o.chunk = FAR_BULK_MAXCHUNK;
    if (!bs->o.window)
        bs->o.window = FAR__BULK_WINDOW;
    if (bs->o.window > FAR__BULK_REORDER)
        bs->o.window = FAR__BULK_REORDER;
    if (!bs->o.stall_ms)
        bs->o.stall_ms = FAR__BULK_STALL_MS;
    if (!bs->o.resume_ms)
        bs->o.resume_ms = 60000;
    if (!bs->o.max_parked)
        bs->o.max_parked = 64;
    bs->s = s;
    pthread_mutex_init(&bs->mu, NULL);
    pthread_cond_init(&bs->started, NULL);
    far_err rc = far__server_add_own(s, &bulk_prog, bs);
    if (rc != FAR_OK) {
        pthread_cond_destroy(&bs->started);
        pthread_mutex_destroy(&bs->mu);
        free(bs);
        return rc;
    }
    *out = bs;
    return FAR_OK;
}

FAR__API void far_bulk_server_destroy(far_bulk_server *bs)
{
    if (!bs)
        return;
    while (bs->parked) {
        parked *p = bs->parked;
        bs->parked = p->next;
        parked_free(bs, p, true);
    }
    pthread_cond_destroy(&bs->started);
    pthread_mutex_destroy(&bs->mu);
    free(bs);
}

/* Test knob: chunks a store found damaged. */
unsigned long far__bulk_server_checksum_errors(far_bulk_server *bs);
unsigned long far__bulk_server_checksum_errors(far_bulk_server *bs)
{
    return atomic_load(&bs->checksum_errors);
}
