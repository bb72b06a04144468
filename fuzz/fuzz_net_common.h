/* Shared pieces of the network-level harnesses (fuzz_svc_conn.c,
 * fuzz_clnt_reply.c): checks that abort, big-endian helpers, a growable byte
 * buffer, an independent RFC 5531 §11 record-marking parser, bounded waits on
 * sockets, and a malloc/free balance the harness waits for at the end of an
 * input (see net_wait_balanced).
 *
 * Everything here is written against the RFCs, not against src/: the
 * harnesses use it to judge what the library sends and receives. */
#ifndef FUZZ_NET_COMMON_H
#define FUZZ_NET_COMMON_H

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NET_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline uint32_t net_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void net_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------ byte buffer */

typedef struct nbuf {
    uint8_t *p;
    size_t len, cap;
} nbuf;

static inline void nbuf_reserve(nbuf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more)
        cap *= 2;
    uint8_t *np = realloc(b->p, cap);
    NET_CHECK(np != NULL, "out of memory (%zu bytes)", cap);
    b->p = np;
    b->cap = cap;
}

static inline void nbuf_add(nbuf *b, const void *p, size_t n)
{
    nbuf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void nbuf_zero(nbuf *b, size_t n)
{
    nbuf_reserve(b, n);
    memset(b->p + b->len, 0, n);
    b->len += n;
}

static inline void nbuf_u32(nbuf *b, uint32_t v)
{
    uint8_t w[4];
    net_put32(w, v);
    nbuf_add(b, w, 4);
}

/* XDR opaque<> / string<>: length, bytes, zero padding. */
static inline void nbuf_opaque(nbuf *b, const void *p, uint32_t n)
{
    nbuf_u32(b, n);
    nbuf_add(b, p, n);
    nbuf_zero(b, (4 - (n & 3)) & 3);
}

static inline void nbuf_free(nbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Appends body[0..n) to out as one record: in one fragment (frag == 0), or
 * in fragments of at most `frag` bytes; with `empty_last` the body goes as
 * one non-final fragment followed by an empty final one.  n must be > 0. */
static inline void net_frame(nbuf *out, const uint8_t *body, size_t n, size_t frag, bool empty_last)
{
    if (empty_last) {
        nbuf_u32(out, (uint32_t)n);
        nbuf_add(out, body, n);
        nbuf_u32(out, 0x80000000u);
        return;
    }
    if (frag == 0 || frag >= n) {
        nbuf_u32(out, 0x80000000u | (uint32_t)n);
        nbuf_add(out, body, n);
        return;
    }
    for (size_t off = 0; off < n; off += frag) {
        size_t k = n - off < frag ? n - off : frag;
        nbuf_u32(out, (off + k == n ? 0x80000000u : 0) | (uint32_t)k);
        nbuf_add(out, body + off, k);
    }
}

/* ------------------------------------------------------------ record parser */

/* A record-marking parser (RFC 5531 §11) of its own, to judge the library's.
 * Bodies are reassembled into `bodies`; recs[i] = {offset, length}. */
typedef struct nrec {
    size_t off, len;
} nrec;

typedef struct nrecs {
    nbuf bodies;
    nrec *r;
    size_t n, cap;
    /* Parse state (for incremental use). */
    size_t cur_off; /* start of the record being assembled in bodies */
    bool in_rec;
    /* Why strict parsing stopped (0: it did not). */
    int error; /* NREC_ELIMIT, NREC_EPROTO */
} nrecs;

enum { NREC_OK = 0, NREC_ELIMIT = 1, NREC_EPROTO = 2 };

static inline void nrecs_push(nrecs *s, size_t off, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        nrec *nr = realloc(s->r, cap * sizeof *nr);
        NET_CHECK(nr != NULL, "out of memory");
        s->r = nr;
        s->cap = cap;
    }
    s->r[s->n].off = off;
    s->r[s->n].len = len;
    s->n++;
}

static inline void nrecs_free(nrecs *s)
{
    nbuf_free(&s->bodies);
    free(s->r);
    memset(s, 0, sizeof *s);
}

/* Parses the whole stream p[0..n).
 *   strict == false: every fragment is taken as the RFC frames it, whatever its
 *     size (an empty fragment or record included), until the bytes run out --
 *     a superset of the records any reader with limits finds.
 *   strict == true: the rules of a reader with a maximum record of `max`
 *     bytes: a fragment that would take the record past max is an error
 *     (NREC_ELIMIT), an empty non-final fragment or an empty record is one
 *     (NREC_EPROTO); parsing stops at the first error.
 * Returns the number of bytes consumed (complete fragments: the state of a
 * record still being assembled is kept in s, so the caller may drop them and
 * call again with more bytes after the rest). */
static inline size_t nrecs_parse(nrecs *s, const uint8_t *p, size_t n, bool strict, size_t max)
{
    size_t pos = 0, done = 0;
    while (!s->error && n - pos >= 4) {
        uint32_t h = net_be32(p + pos);
        uint32_t flen = h & 0x7fffffffu;
        bool last = (h & 0x80000000u) != 0;
        if (!s->in_rec) {
            s->cur_off = s->bodies.len;
            s->in_rec = true;
        }
        size_t have = s->bodies.len - s->cur_off;
        if (strict && (flen > max || have + flen > max)) {
            s->error = NREC_ELIMIT;
            break;
        }
        if (strict && flen == 0 && !last) {
            s->error = NREC_EPROTO;
            break;
        }
        if (n - pos - 4 < flen)
            break; /* incomplete fragment */
        nbuf_add(&s->bodies, p + pos + 4, flen);
        pos += 4 + (size_t)flen;
        done = pos;
        if (last) {
            size_t len = s->bodies.len - s->cur_off;
            s->in_rec = false;
            if (strict && len == 0) {
                s->error = NREC_EPROTO;
                break;
            }
            nrecs_push(s, s->cur_off, len);
        }
    }
    return done;
}

/* ------------------------------------------------------------ sockets */

/* Waits for `events` on fd for at most ms milliseconds; the revents, or 0 on
 * timeout. */
static inline short net_poll1(int fd, short events, int ms)
{
    struct pollfd pf = {.fd = fd, .events = events};
    for (;;) {
        int rc = poll(&pf, 1, ms);
        if (rc < 0 && errno == EINTR)
            continue;
        return rc > 0 ? pf.revents : 0;
    }
}

/* ------------------------------------------------------------ malloc balance */

/* libFuzzer counts mallocs and frees (of every thread) while an input runs and
 * looks for a leak when they differ.  The library's threads free what an
 * input made them allocate (a connection, its buffers) a moment after the
 * harness has seen the effect (the end of the stream), so a harness that
 * returned at once would look unbalanced every time: libFuzzer would rerun
 * each input and soon turn leak detection off.  The harness counts too and,
 * before it returns, waits (bounded) until frees have caught up. */
extern int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                                     void (*f)(const volatile void *))
    __attribute__((weak));

static atomic_long net_mallocs, net_frees;
static atomic_ulong net_balance_timeouts;

static void net_malloc_hook(const volatile void *p, size_t n)
{
    (void)p, (void)n;
    atomic_fetch_add_explicit(&net_mallocs, 1, memory_order_relaxed);
}

static void net_free_hook(const volatile void *p)
{
    (void)p;
    atomic_fetch_add_explicit(&net_frees, 1, memory_order_relaxed);
}

static inline void net_hooks_install(void)
{
    if (__sanitizer_install_malloc_and_free_hooks)
        __sanitizer_install_malloc_and_free_hooks(net_malloc_hook, net_free_hook);
}

typedef struct net_mark {
    long m, f;
} net_mark;

static inline net_mark net_balance_mark(void)
{
    net_mark k = {atomic_load(&net_mallocs), atomic_load(&net_frees)};
    return k;
}

/* Waits up to max_ms until as many frees as mallocs happened since `k`. */
static inline void net_wait_balanced(net_mark k, unsigned max_ms)
{
    if (!__sanitizer_install_malloc_and_free_hooks)
        return;
    uint64_t until = 0;
    for (unsigned i = 0;; i++) {
        long dm = atomic_load(&net_mallocs) - k.m, df = atomic_load(&net_frees) - k.f;
        if (dm <= df)
            return;
        if (i < 200) {
            sched_yield();
            continue;
        }
        uint64_t now = net_now_ms();
        if (!until)
            until = now + max_ms;
        if (now >= until) {
            /* Legitimate growth of state kept for the whole run (a request
             * pool filling up, a worker thread started). */
            atomic_fetch_add(&net_balance_timeouts, 1);
            if (getenv("FUZZ_NET_DEBUG"))
                fprintf(stderr, "net_wait_balanced: %ld mallocs, %ld frees\n", dm, df);
            return;
        }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

#endif
