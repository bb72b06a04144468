/* farcall/store.h — exactly-once: the server's durable reply store.
 *
 * A procedure marked exactly-once (`/ *@ exactly_once * /` in the .x,
 * FAR_SEM_EXACTLY_ONCE) runs inside a transaction of the store, and its
 * reply is kept in that same transaction: the handler's effect and the
 * reply commit together or not at all.  A retransmission of the call --
 * after a lost reply, a reconnect, a server killed with `kill -9` and
 * restarted -- is answered from the store and never runs the call again.
 * The client names the call with an idempotency key (carried by FAR_CTX,
 * kept across its retries until the deadline); a key reused with other
 * arguments fails with FAR_EIDEMPOTENCY.
 *
 * farcall ships one store on SQLite (farcall/sqlite.h, library
 * farcall_sqlite); any database with transactions can be one.
 * docs/semantics.md says what "exactly" covers and what it cannot. */
#ifndef FARCALL_STORE_H
#define FARCALL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "farcall/err.h"
#include "farcall/rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FAR_STORE_MAX_OWNER 64 /* bytes of a client's name */
#define FAR_STORE_MAX_KEY   16 /* bytes of an idempotency key */
#define FAR_STORE_DIGEST    16 /* bytes of far_store_key.digest */

/* What names one exactly-once call.  owner and key point into the call (valid
 * until the store's function returns: copy them to keep them). */
typedef struct far_store_key {
    const uint8_t *owner; /* the client's name, stable across its restarts */
    size_t owner_len;
    const uint8_t *key; /* its idempotency key for the call; NULL: the client
                         * sent none (a classic client: the call runs in a
                         * transaction, but nothing is kept for it) */
    size_t key_len;
    uint32_t prog, vers, proc;
    /* Of the call's arguments as encoded (their length and two 64-bit
     * hashes): the same key with another digest is FAR_EIDEMPOTENCY. */
    uint8_t digest[FAR_STORE_DIGEST];
} far_store_key;

/* A durable reply store.  The functions are called from the server's handler
 * threads, several at once; a store that cannot run transactions side by
 * side serialises them itself (the SQLite one does). */
typedef struct far_reply_store {
    uint32_t size; /* sizeof(far_reply_store) */
    /* Opens a transaction and looks the call up in it.  FAR_OK and
     * *found false: a new call, *txn the transaction it runs in (the
     * handler's far_svc_req_txn).  FAR_OK and *found true: the call ran and
     * committed before; *reply (malloc'ed: the server frees it) and *len are
     * its stored results, and no transaction is left open.
     * FAR_EIDEMPOTENCY: the key is stored with another digest (no
     * transaction left open).  Any other error: the call is answered
     * SYSTEM_ERR and not run. */
    far_err (*begin)(void *ctx, const far_store_key *k, void **txn, bool *found, uint8_t **reply,
                     size_t *len);
    /* Keeps the results (the XDR of the procedure's result, `len` bytes) for
     * k and commits txn with the handler's effect.  FAR_OK, or an error:
     * nothing was committed, and no reply is sent (the client retries and
     * the call runs again). */
    far_err (*commit)(void *ctx, void *txn, const far_store_key *k, const uint8_t *res, size_t len);
    /* Rolls txn back: the handler failed (returned an error), or its
     * results did not encode. */
    void (*abort)(void *ctx, void *txn);
} far_reply_store;

/* Gives s a reply store for its exactly-once procedures: ops is copied, ctx
 * is passed to each function and must outlive the server.  Before
 * far_server_start; FAR_OK, or FAR_EMISUSE (NULL, serving already, ops too
 * small).  Without a store an exactly-once procedure is served at-most-once
 * and a client that requires exactly-once is told FAR_EUNSUPPORTED.
 * Thread: the one setting the server up. */
FAR_NODISCARD far_err far_server_set_reply_store(far_server *s, const far_reply_store *ops,
                                                 void *ctx);

/* The transaction an exactly-once call runs in (the store's handle: for
 * the SQLite store, the `sqlite3 *` with the transaction open), or NULL for
 * any other call.  The handler does its work through it and neither commits
 * nor rolls back: the server commits it with the reply if the handler
 * returns FAR_OK, and rolls it back otherwise.  Thread: the handler's. */
void *far_svc_req_txn(far_svc_req *r);

#ifdef __cplusplus
}
#endif

#endif
