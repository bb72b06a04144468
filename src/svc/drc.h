/* Server: the duplicate request cache (DRC) of UDP calls.
 *
 * A UDP client that hears no reply sends the call again with the same xid
 * (libtirpc's clnt_dg, farcall's own UDP client): without a cache the
 * server runs it again, so a lost reply makes a non-idempotent procedure run
 * twice.  The cache remembers each call by who sent it (address and port),
 * its xid, program, version, procedure and a checksum of its arguments (a
 * reused xid with other arguments is another call), in one of two states:
 *
 *   in progress  a retransmission is dropped (the call is running; its
 *                reply will answer both)
 *   done         a retransmission is answered with the reply as it was
 *                sent, and the procedure is not run again
 *
 * Bounded in entries and in reply bytes (far_server_opts.drc_entries,
 * drc_bytes).  A client holding more than an eighth of the entries (at
 * least 8) loses its own oldest first, so one busy client cannot push every
 * other client's replies out.  When full, a client at its fair share (the
 * entries over the clients that have some) pays with its own oldest;
 * otherwise the oldest entry of a client at its share goes, never a
 * client's newest while another will do: that is the reply a client that
 * stopped to retransmit needs (drc.c fair_victim).
 * An entry in progress is never evicted (there are at most as many as
 * calls in flight); with none to evict, a call runs uncached.
 *
 * The NULL procedure and the runtime's own programs are not cached (they
 * have no effect).  Streams are not cached yet: a classic TCP client never
 * sends a call twice, and a farcall client that retransmits after a
 * reconnect needs an identity that outlives the connection (the farcall
 * flavor of "Call semantics"). */
#ifndef FAR_SVC_DRC_H
#define FAR_SVC_DRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct far__drc far__drc;
typedef struct far__drc_entry far__drc_entry;

/* NULL if out of memory. */
far__drc *far__drc_create(uint32_t max_entries, size_t max_bytes);
void far__drc_destroy(far__drc *d);

typedef enum far__drc_res {
    FAR__DRC_MISS,   /* new: *entry is its in-progress entry (NULL: uncached) */
    FAR__DRC_INPROG, /* a retransmission of a call that is running: drop it */
    FAR__DRC_DONE,   /* a retransmission of a call done: its reply is in *reply */
} far__drc_res;

/* Looks the call up.  On FAR__DRC_DONE, *reply (malloc'd, *reply_len bytes)
 * is a copy of the reply as it was sent: the caller frees it (NULL: the call
 * ran and its reply was not kept, far__drc_store_unkept). */
far__drc_res far__drc_lookup(far__drc *d, const struct sockaddr_storage *peer, socklen_t peer_len,
                             uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                             const uint8_t *args, size_t args_len, far__drc_entry **entry,
                             uint8_t **reply, size_t *reply_len);
/* The same, for a call of one life of its client (a FAR_CTX context's
 * handle, which names its owner and boot epoch; 0: none): a call of
 * another life from the same address -- a client process restarted on the
 * same port -- is another call, never answered from the old life's entry. */
far__drc_res far__drc_lookup_life(far__drc *d, const struct sockaddr_storage *peer,
                                  socklen_t peer_len, uint64_t life, uint32_t xid, uint32_t prog,
                                  uint32_t vers, uint32_t proc, const uint8_t *args,
                                  size_t args_len, far__drc_entry **entry, uint8_t **reply,
                                  size_t *reply_len);

/* The call of `e` is done: its reply (taken: malloc'd, or NULL if it could
 * not be copied, which forgets the entry) answers retransmissions from now. */
void far__drc_store(far__drc *d, far__drc_entry *e, uint8_t *reply, size_t len);

/* The call of `e` is done and its reply is not kept (too large to copy for
 * every call: FAR__DRC_STREAM_KEEP_MAX): a retransmission finds it done, with
 * no reply (FAR__DRC_DONE, *reply NULL), and is not run again. */
#define FAR__DRC_STREAM_KEEP_MAX (64u * 1024)
void far__drc_store_unkept(far__drc *d, far__drc_entry *e);

/* The call of `e` ended with no reply (dropped, stopped): forgotten, so a
 * retransmission runs it. */
void far__drc_forget(far__drc *d, far__drc_entry *e);

/* The call an entry in progress is (a far_svc_req), for far__drc_cancel;
 * store and forget clear it, under the cache's lock. */
void far__drc_own(far__drc *d, far__drc_entry *e, void *owner);

/* FAR_CTL CANCEL over UDP: calls fn(owner, arg) under the cache's lock for
 * each call in progress from `peer` with `xid` that has an owner (so the
 * owner cannot end meanwhile); how many. */
unsigned far__drc_cancel(far__drc *d, const struct sockaddr_storage *peer, socklen_t peer_len,
                         uint32_t xid, void (*fn)(void *owner, void *arg), void *arg);

/* What the cache knows of a call from `peer` with `xid` (any program,
 * version, procedure): FAR__DRC_INPROG, FAR__DRC_DONE, or FAR__DRC_MISS if
 * nothing (FAR_CTL STATUS). */
far__drc_res far__drc_peek(far__drc *d, const struct sockaddr_storage *peer, socklen_t peer_len,
                           uint32_t xid);

/* Counters, for the log and the tests. */
typedef struct far__drc_stats {
    unsigned long hits, inprog_drops, misses, uncached, evicted;
    uint32_t entries;
    size_t bytes;
} far__drc_stats;
void far__drc_stats_get(far__drc *d, far__drc_stats *out);

#endif
