/* The durable reply store on SQLite (farcall/sqlite.h): exactly-once calls
 * run in one transaction with their reply's row.  One connection, one
 * transaction at a time (a mutex held from begin to commit or abort): SQLite
 * has one writer, and the handler's statements go through this connection.
 * Built into farcall_sqlite (a static library beside libfarcall, so
 * libfarcall needs no SQLite), on libfarcall's public API and the error
 * text of far_last_error(). */
#include "internal.h"

#include <pthread.h>
#include <time.h>

#include <sqlite3.h>

#include "farcall/farcall.h"
#include "farcall/sqlite.h"

struct far_sqlite_store {
    sqlite3 *db;
    pthread_mutex_t mu; /* held while a transaction is open */
    sqlite3_stmt *find, *put, *begin, *commit, *rollback;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS far_reply ("
                             " owner BLOB NOT NULL,"
                             " key BLOB NOT NULL,"
                             " prog INTEGER NOT NULL, vers INTEGER NOT NULL, proc INTEGER NOT NULL,"
                             " digest BLOB NOT NULL,"
                             " results BLOB NOT NULL,"
                             " at INTEGER NOT NULL," /* unix seconds, for pruning */
                             " PRIMARY KEY (owner, key))";

static far_err fail(far_sqlite_store *st, const char *what)
{
    far__set_last_error("the SQLite reply store: %s: %s", what,
                        st && st->db ? sqlite3_errmsg(st->db) : "out of memory");
    return FAR_EIO;
}

static bool step_done(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE;
}

FAR__API far_err far_sqlite_store_open(far_sqlite_store **out, const char *path)
{
    if (!out || !path)
        return FAR_EMISUSE;
    *out = NULL;
    far_sqlite_store *st = calloc(1, sizeof *st);
    if (!st)
        return FAR_ENOMEM;
    pthread_mutex_init(&st->mu, NULL);
    far_err rc = FAR_EIO;
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        rc = fail(st, path);
        goto out;
    }
    sqlite3_busy_timeout(st->db, 10000); /* another process on the file */
    /* WAL: a commit is one append and fsync; synchronous FULL (the default)
     * makes it durable past a power loss, not only a killed process. */
    if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail(st, "setting up far_reply");
        goto out;
    }
    if (sqlite3_prepare_v2(st->db,
                           "SELECT prog, vers, proc, digest, results FROM far_reply "
                           "WHERE owner = ? AND key = ?",
                           -1, &st->find, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO far_reply (owner, key, prog, vers, proc, digest, "
                           "results, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "BEGIN IMMEDIATE", -1, &st->begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "COMMIT", -1, &st->commit, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "ROLLBACK", -1, &st->rollback, NULL) != SQLITE_OK) {
        rc = fail(st, "preparing statements");
        goto out;
    }
    *out = st;
    return FAR_OK;
out:
    far_sqlite_store_close(st);
    return rc;
}

FAR__API void far_sqlite_store_close(far_sqlite_store *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->find);
    sqlite3_finalize(st->put);
    sqlite3_finalize(st->begin);
    sqlite3_finalize(st->commit);
    sqlite3_finalize(st->rollback);
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

FAR__API sqlite3 *far_sqlite_store_db(far_sqlite_store *st)
{
    return st ? st->db : NULL;
}

static void rollback_locked(far_sqlite_store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        step_done(st->rollback);
}

static far_err sq_begin(void *ctx, const far_store_key *k, void **txn, bool *found, uint8_t **reply,
                        size_t *len)
{
    far_sqlite_store *st = ctx;
    *found = false;
    pthread_mutex_lock(&st->mu);
    if (!step_done(st->begin)) {
        far_err rc = fail(st, "BEGIN");
        pthread_mutex_unlock(&st->mu);
        return rc;
    }
    if (k->key) {
        sqlite3_bind_blob(st->find, 1, k->owner ? (const void *)k->owner : "", (int)k->owner_len,
                          SQLITE_STATIC);
        sqlite3_bind_blob(st->find, 2, k->key, (int)k->key_len, SQLITE_STATIC);
        int rc = sqlite3_step(st->find);
        far_err out = FAR_OK;
        if (rc == SQLITE_ROW) {
            const void *d = sqlite3_column_blob(st->find, 3);
            int dn = sqlite3_column_bytes(st->find, 3);
            if ((uint32_t)sqlite3_column_int64(st->find, 0) != k->prog ||
                (uint32_t)sqlite3_column_int64(st->find, 1) != k->vers ||
                (uint32_t)sqlite3_column_int64(st->find, 2) != k->proc || dn != FAR_STORE_DIGEST ||
                memcmp(d, k->digest, FAR_STORE_DIGEST) != 0) {
                out = FAR_EIDEMPOTENCY;
            } else {
                int n = sqlite3_column_bytes(st->find, 4);
                const void *b = sqlite3_column_blob(st->find, 4);
                *reply = malloc(n > 0 ? (size_t)n : 1);
                if (!*reply) {
                    out = FAR_ENOMEM;
                } else {
                    if (n > 0)
                        memcpy(*reply, b, (size_t)n);
                    *len = (size_t)n;
                    *found = true;
                }
            }
        } else if (rc != SQLITE_DONE) {
            out = fail(st, "looking the key up");
        }
        sqlite3_reset(st->find);
        sqlite3_clear_bindings(st->find);
        if (out != FAR_OK || *found) {
            rollback_locked(st);
            pthread_mutex_unlock(&st->mu);
            return out;
        }
    }
    *txn = st->db; /* the handler's (far_svc_req_txn); the mutex stays held */
    return FAR_OK;
}

static far_err sq_commit(void *ctx, void *txn, const far_store_key *k, const uint8_t *res,
                         size_t len)
{
    far_sqlite_store *st = ctx;
    (void)txn;
    far_err rc = FAR_OK;
    if (k->key) {
        sqlite3_stmt *q = st->put;
        sqlite3_bind_blob(q, 1, k->owner ? (const void *)k->owner : "", (int)k->owner_len,
                          SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, k->key, (int)k->key_len, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, k->prog);
        sqlite3_bind_int64(q, 4, k->vers);
        sqlite3_bind_int64(q, 5, k->proc);
        sqlite3_bind_blob(q, 6, k->digest, FAR_STORE_DIGEST, SQLITE_STATIC);
        sqlite3_bind_blob(q, 7, len ? (const void *)res : "", (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(q, 8, (sqlite3_int64)time(NULL));
        if (!step_done(q))
            rc = fail(st, "keeping the reply");
        sqlite3_clear_bindings(q);
    }
    if (rc == FAR_OK && !step_done(st->commit))
        rc = fail(st, "COMMIT");
    if (rc != FAR_OK)
        rollback_locked(st);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static void sq_abort(void *ctx, void *txn)
{
    far_sqlite_store *st = ctx;
    (void)txn;
    rollback_locked(st);
    pthread_mutex_unlock(&st->mu);
}

static const far_reply_store ops = {
    .size = sizeof(far_reply_store),
    .begin = sq_begin,
    .commit = sq_commit,
    .abort = sq_abort,
};

FAR__API const far_reply_store *far_sqlite_store_ops(void)
{
    return &ops;
}

FAR__API far_err far_sqlite_store_attach(far_sqlite_store *st, far_server *s)
{
    if (!st)
        return FAR_EMISUSE;
    return far_server_set_reply_store(s, &ops, st);
}

FAR__API far_err far_sqlite_store_prune(far_sqlite_store *st, uint32_t age_s, uint64_t *deleted)
{
    if (!st)
        return FAR_EMISUSE;
    sqlite3_stmt *q = NULL;
    far_err rc = FAR_OK;
    pthread_mutex_lock(&st->mu);
    if (sqlite3_prepare_v2(st->db, "DELETE FROM far_reply WHERE at < ?", -1, &q, NULL) !=
        SQLITE_OK) {
        rc = fail(st, "pruning");
    } else {
        sqlite3_bind_int64(q, 1, (sqlite3_int64)time(NULL) - (sqlite3_int64)age_s);
        if (sqlite3_step(q) != SQLITE_DONE)
            rc = fail(st, "pruning");
        else if (deleted)
            *deleted = (uint64_t)sqlite3_changes(st->db);
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->mu);
    return rc;
}
