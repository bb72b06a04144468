/* Server: the duplicate request cache of UDP calls (see drc.h). */
#include "svc/drc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct drc_client drc_client;

struct far__drc_entry {
    far__drc_entry *hnext;         /* its bucket's chain */
    far__drc_entry *gprev, *gnext; /* done entries, oldest first */
    far__drc_entry *cprev, *cnext; /* its client's done entries, oldest first */
    drc_client *cl;
    uint64_t hash, sum;
    uint32_t xid, prog, vers, proc, args_len;
    bool done;
    bool unkept; /* done, its reply too large to keep (far__drc_store_unkept) */
    void *owner; /* in progress: the call it is (far__drc_own), for a cancel */
    uint8_t *reply;
    size_t reply_len;
};

struct drc_client {
    drc_client *hnext;
    uint64_t hash;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    uint32_t n;                    /* its entries, in progress and done */
    far__drc_entry *chead, *ctail; /* its done entries, oldest first */
};

struct far__drc {
    pthread_mutex_t mu;
    uint32_t max_entries, per_client, n;
    uint32_t nclients; /* clients with entries */
    size_t max_bytes, bytes;
    size_t mask; /* buckets - 1 */
    far__drc_entry **buckets;
    drc_client **clients;
    far__drc_entry *ghead, *gtail;
    far__drc_stats st;
};

/* FNV-1a, 64 bits: the key's hash (the arguments' checksum is XXH3).  Not a
 * defence against a client that wants its own calls to collide: the key
 * holds its address, so it could only confuse itself. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

far__drc *far__drc_create(uint32_t max_entries, size_t max_bytes)
{
    far__drc *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    size_t nb = 64;
    while (nb < max_entries && nb < ((size_t)1 << 24))
        nb <<= 1;
    d->buckets = calloc(nb, sizeof *d->buckets);
    d->clients = calloc(nb, sizeof *d->clients);
    if (!d->buckets || !d->clients) {
        free(d->buckets);
        free(d->clients);
        free(d);
        return NULL;
    }
    d->mask = nb - 1;
    d->max_entries = max_entries ? max_entries : 1;
    d->per_client = d->max_entries / 8 > 8 ? d->max_entries / 8 : 8;
    d->max_bytes = max_bytes;
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

void far__drc_destroy(far__drc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i <= d->mask; i++) {
        for (far__drc_entry *e = d->buckets[i], *n; e; e = n) {
            n = e->hnext;
            free(e->reply);
            free(e);
        }
        for (drc_client *c = d->clients[i], *n; c; c = n) {
            n = c->hnext;
            free(c);
        }
    }
    free(d->buckets);
    free(d->clients);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* ------------------------------------------------------------ lists */

static void done_link(far__drc *d, far__drc_entry *e)
{
    e->gnext = NULL;
    e->gprev = d->gtail;
    if (d->gtail)
        d->gtail->gnext = e;
    else
        d->ghead = e;
    d->gtail = e;
    drc_client *c = e->cl;
    e->cnext = NULL;
    e->cprev = c->ctail;
    if (c->ctail)
        c->ctail->cnext = e;
    else
        c->chead = e;
    c->ctail = e;
}

static void done_unlink(far__drc *d, far__drc_entry *e)
{
    if (e->gprev)
        e->gprev->gnext = e->gnext;
    else
        d->ghead = e->gnext;
    if (e->gnext)
        e->gnext->gprev = e->gprev;
    else
        d->gtail = e->gprev;
    drc_client *c = e->cl;
    if (e->cprev)
        e->cprev->cnext = e->cnext;
    else
        c->chead = e->cnext;
    if (e->cnext)
        e->cnext->cprev = e->cprev;
    else
        c->ctail = e->cprev;
}

static void client_unref(far__drc *d, drc_client *c)
{
    if (--c->n)
        return;
    drc_client **pp = &d->clients[c->hash & d->mask];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    d->nclients--;
    free(c);
}

/* Takes e out of the cache and frees it. */
static void drop(far__drc *d, far__drc_entry *e)
{
    far__drc_entry **pp = &d->buckets[e->hash & d->mask];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->done) {
        done_unlink(d, e);
        d->bytes -= e->reply_len;
    }
    d->n--;
    client_unref(d, e->cl);
    free(e->reply);
    free(e);
}

/* ------------------------------------------------------------ the operations */

static drc_client *client_of(far__drc *d, const struct sockaddr_storage *peer, socklen_t len,
                             uint64_t h)
{
    for (drc_client *c = d->clients[h & d->mask]; c; c = c->hnext)
        if (c->hash == h && c->peer_len == len && memcmp(&c->peer, peer, len) == 0)
            return c;
    return NULL;
}

/* The done entry to make room with (d full).  A client at or over its fair
 * share of the entries (the entries over the clients that have some, at
 * least 8) pays with its own oldest.  Otherwise, among the oldest FAIR_LOOK
 * entries: the first of a client at or over its share that is not that
 * client's newest, else the first that is not its client's newest, else
 * the oldest of all.  A client's newest reply is the one it may still be
 * retransmitting for (its reply lost): a client that stopped to do that
 * keeps it while busier clients fill the cache (test_drc_udp: 100 clients
 * through 30% loss, where the oldest-of-all rule ran calls twice). */
#define FAIR_LOOK 256

static far__drc_entry *fair_victim(far__drc *d, drc_client *c)
{
    uint32_t fair = d->nclients ? d->max_entries / d->nclients : d->max_entries;
    if (fair < 8)
        fair = 8;
    if (c && c->n >= fair && c->chead && c->chead != c->ctail)
        return c->chead;
    far__drc_entry *e = d->ghead, *not_newest = NULL;
    for (int i = 0; e && i < FAIR_LOOK; i++, e = e->gnext) {
        if (e == e->cl->ctail)
            continue;
        if (e->cl->n >= fair)
            return e;
        if (!not_newest)
            not_newest = e;
    }
    return not_newest ? not_newest : d->ghead;
}

far__drc_res far__drc_lookup(far__drc *d, const struct sockaddr_storage *peer, socklen_t peer_len,
                             uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                             const uint8_t *args, size_t args_len, far__drc_entry **entry,
                             uint8_t **reply, size_t *reply_len)
{
    return far__drc_lookup_life(d, peer, peer_len, 0, xid, prog, vers, proc, args, args_len, entry,
                                reply, reply_len);
}

far__drc_res far__drc_lookup_life(far__drc *d, const struct sockaddr_storage *peer,
                                  socklen_t peer_len, uint64_t life, uint32_t xid, uint32_t prog,
                                  uint32_t vers, uint32_t proc, const uint8_t *args,
                                  size_t args_len, far__drc_entry **entry, uint8_t **reply,
                                  size_t *reply_len)
{
    *entry = NULL;
    if (peer_len > sizeof *peer)
        peer_len = sizeof *peer;
    uint64_t ch = fnv(FNV_INIT, peer, peer_len);
    uint64_t h = fnv(ch, &xid, sizeof xid); /* (the bucket: FAR_CTL STATUS knows no more) */
    /* (XXH3: the arguments may be megabytes; FNV's byte loop cost 5x the
     * throughput of a 1 MiB echo) */
    uint64_t sum = XXH3_64bits_withSeed(args, args_len, life);
    pthread_mutex_lock(&d->mu);
    drc_client *c = client_of(d, peer, peer_len, ch);
    for (far__drc_entry *e = c ? d->buckets[h & d->mask] : NULL; e; e = e->hnext) {
        if (e->hash != h || e->cl != c || e->xid != xid || e->prog != prog || e->vers != vers ||
            e->proc != proc || e->args_len != args_len || e->sum != sum)
            continue;
        if (!e->done) {
            d->st.inprog_drops++;
            pthread_mutex_unlock(&d->mu);
            return FAR__DRC_INPROG;
        }
        if (e->unkept) {
            *reply = NULL; /* it ran; its reply is not here */
            *reply_len = 0;
            d->st.hits++;
            pthread_mutex_unlock(&d->mu);
            return FAR__DRC_DONE;
        }
        uint8_t *copy = malloc(e->reply_len ? e->reply_len : 1);
        if (!copy)
            break; /* run it again rather than answer nothing */
        memcpy(copy, e->reply, e->reply_len);
        *reply = copy;
        *reply_len = e->reply_len;
        d->st.hits++;
        pthread_mutex_unlock(&d->mu);
        return FAR__DRC_DONE;
    }
    d->st.misses++;
    /* Room: the client's own oldest past its share, then the oldest of all. */
    if (c && c->n >= d->per_client) {
        if (!c->chead)
            goto uncached;
        drop(d, c->chead);
        d->st.evicted++;
        c = client_of(d, peer, peer_len, ch); /* it may have gone with its last entry */
    }
    while (d->n >= d->max_entries || d->bytes > d->max_bytes) {
        if (!d->ghead)
            goto uncached;
        far__drc_entry *victim = fair_victim(d, c);
        drc_client *victim_cl = victim->cl;
        drop(d, victim);
        d->st.evicted++;
        if (victim_cl == c)
            c = client_of(d, peer, peer_len, ch);
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            goto uncached;
        c->hash = ch;
        memcpy(&c->peer, peer, peer_len);
        c->peer_len = peer_len;
        c->hnext = d->clients[ch & d->mask];
        d->clients[ch & d->mask] = c;
        d->nclients++;
    }
    far__drc_entry *e = calloc(1, sizeof *e);
    if (!e) {
        if (c->n == 0) {
            c->n = 1;
            client_unref(d, c);
        }
        goto uncached;
    }
    e->cl = c;
    c->n++;
    e->hash = h, e->sum = sum;
    e->xid = xid, e->prog = prog, e->vers = vers, e->proc = proc;
    e->args_len = (uint32_t)args_len;
    e->hnext = d->buckets[h & d->mask];
    d->buckets[h & d->mask] = e;
    d->n++;
    *entry = e;
    pthread_mutex_unlock(&d->mu);
    return FAR__DRC_MISS;
uncached:
    d->st.uncached++;
    pthread_mutex_unlock(&d->mu);
    return FAR__DRC_MISS;
}

void far__drc_store(far__drc *d, far__drc_entry *e, uint8_t *reply, size_t len)
{
    pthread_mutex_lock(&d->mu);
    if (!reply || len > d->max_bytes) {
        free(reply);
        drop(d, e);
        d->st.uncached++;
        pthread_mutex_unlock(&d->mu);
        return;
    }
    e->done = true;
    e->owner = NULL;
    e->reply = reply;
    e->reply_len = len;
    d->bytes += len;
    done_link(d, e);
    while (d->bytes > d->max_bytes && d->ghead && d->ghead != e) {
        drop(d, d->ghead);
        d->st.evicted++;
    }
    pthread_mutex_unlock(&d->mu);
}

void far__drc_store_unkept(far__drc *d, far__drc_entry *e)
{
    pthread_mutex_lock(&d->mu);
    e->done = true;
    e->unkept = true;
    e->owner = NULL;
    done_link(d, e);
    pthread_mutex_unlock(&d->mu);
}

void far__drc_forget(far__drc *d, far__drc_entry *e)
{
    pthread_mutex_lock(&d->mu);
    drop(d, e);
    pthread_mutex_unlock(&d->mu);
}

void far__drc_own(far__drc *d, far__drc_entry *e, void *owner)
{
    pthread_mutex_lock(&d->mu);
    e->owner = owner;
    pthread_mutex_unlock(&d->mu);
}

unsigned far__drc_cancel(far__drc *d, const struct sockaddr_storage *peer, socklen_t peer_len,
                         uint32_t xid, void (*fn)(void *owner, void *arg), void *arg)
{
    if (peer_len > sizeof *peer)
        peer_len = sizeof *peer;
    uint64_t ch = fnv(FNV_INIT, peer, peer_len);
    uint64_t h = fnv(ch, &xid, sizeof xid);
    unsigned n = 0;
    pthread_mutex_lock(&d->mu);
    drc_client *c = client_of(d, peer, peer_len, ch);
    for (far__drc_entry *e = c ? d->buckets[h & d->mask] : NULL; e; e = e->hnext)
        if (e->hash == h && e->cl == c && e->xid == xid && !e->done && e->owner) {
            fn(e->owner, arg);
            n++;
        }
    pthread_mutex_unlock(&d->mu);
    return n;
}

far__drc_res far__drc_peek(far__drc *d, const struct sockaddr_storage *peer, socklen_t peer_len,
                           uint32_t xid)
{
    if (peer_len > sizeof *peer)
        peer_len = sizeof *peer;
    uint64_t ch = fnv(FNV_INIT, peer, peer_len);
    uint64_t h = fnv(ch, &xid, sizeof xid);
    far__drc_res res = FAR__DRC_MISS;
    pthread_mutex_lock(&d->mu);
    drc_client *c = client_of(d, peer, peer_len, ch);
    for (far__drc_entry *e = c ? d->buckets[h & d->mask] : NULL; e; e = e->hnext) {
        if (e->hash == h && e->cl == c && e->xid == xid) {
            res = e->done ? FAR__DRC_DONE : FAR__DRC_INPROG;
            if (!e->done)
                break; /* one in progress says most */
        }
    }
    pthread_mutex_unlock(&d->mu);
    return res;
}

void far__drc_stats_get(far__drc *d, far__drc_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->st;
    out->entries = d->n;
    out->bytes = d->bytes;
    pthread_mutex_unlock(&d->mu);
}
