/* farcall/sqlite.h — the durable reply store on SQLite (library
 * farcall_sqlite; link it and SQLite, libsqlite3-dev).
 *
 *   far_sqlite_store *st;
 *   far_sqlite_store_open(&st, "/var/lib/bank/bank.db");  // WAL mode
 *   // the application's own tables, through far_sqlite_store_db(st)
 *   far_sqlite_store_attach(st, server);                  // before far_server_start
 *   ...
 *   static far_err transfer(far_svc_req *req, const transfer_args *a, receipt *r)
 *   {
 *       sqlite3 *db = far_svc_req_txn(req);   // a transaction is open on it
 *       ... UPDATE accounts ... through db; return FAR_OK to commit ...
 *   }
 *
 * The handler's statements and the reply's row commit in one SQLite
 * transaction (farcall/store.h): a server killed with `kill -9` either did
 * both or neither.  The replies are kept in the table far_reply (one row per
 * client and idempotency key) until far_sqlite_store_prune removes them.
 * Exactly-once handlers of one store run one at a time (one connection, one
 * transaction at a time: SQLite has one writer anyway). */
#ifndef FARCALL_SQLITE_H
#define FARCALL_SQLITE_H

#include <stdint.h>

#include "farcall/err.h"
#include "farcall/rpc.h"
#include "farcall/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct far_sqlite_store far_sqlite_store;
struct sqlite3;

/* Opens (creating if need be) the database at `path` in WAL mode, with the
 * table far_reply.  FAR_OK with *out (release it with
 * far_sqlite_store_close after the server is destroyed), or FAR_EIO (the
 * reason in far_last_error()), FAR_ENOMEM, FAR_EMISUSE.  Thread: any. */
FAR_NODISCARD far_err far_sqlite_store_open(far_sqlite_store **out, const char *path);
/* Closes it; NULL does nothing.  No server may use it any more. */
void far_sqlite_store_close(far_sqlite_store *st);
/* The connection, for the application's setup (its tables) before the
 * server starts, and reads outside exactly-once calls; not inside a handler
 * of one (use far_svc_req_txn there). */
struct sqlite3 *far_sqlite_store_db(far_sqlite_store *st);
/* The store's functions (far_reply_store), with st as their ctx. */
const far_reply_store *far_sqlite_store_ops(void);
/* far_server_set_reply_store(s, far_sqlite_store_ops(), st). */
FAR_NODISCARD far_err far_sqlite_store_attach(far_sqlite_store *st, far_server *s);
/* Deletes the replies kept more than `age_s` seconds: a retransmission of
 * such a call would run it again, so keep them longer than any client
 * retries.  FAR_OK with *deleted (may be NULL), or FAR_EIO. */
FAR_NODISCARD far_err far_sqlite_store_prune(far_sqlite_store *st, uint32_t age_s,
                                             uint64_t *deleted);

#ifdef __cplusplus
}
#endif

#endif
