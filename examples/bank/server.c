/* bank server: accounts in SQLite; DEPOSIT is exactly-once, its effect and
 * its reply kept in one transaction by the SQLite reply store.  The database
 * is bank.db beside the Unix socket (or in the current directory). */
#include <sqlite3.h>
#include <stdlib.h>

#include <farcall/sqlite.h>

#include "bank.h"
#include "common/example_server.h"

static far_sqlite_store *store;

static int64_t balance_of(sqlite3 *db, const char *who)
{
    sqlite3_stmt *q;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, "SELECT amount FROM accounts WHERE name = ?", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(q, 1, who, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            v = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    return v;
}

static far_err add(sqlite3 *db, const char *who, int64_t amount, int64_t *res)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO accounts VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE "
                           "SET amount = amount + ?2",
                           -1, &q, NULL) != SQLITE_OK)
        return FAR_ESYSTEM_ERR;
    sqlite3_bind_text(q, 1, who, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, amount);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return FAR_ESYSTEM_ERR;
    *res = balance_of(db, who);
    return FAR_OK;
}

static far_err balance(far_svc_req *req, const account *who, int64_t *res)
{
    (void)req;
    *res = balance_of(far_sqlite_store_db(store), *who);
    return FAR_OK;
}

/* exactly-once: through the transaction the server opened for the call */
static far_err deposit_(far_svc_req *req, const deposit *d, int64_t *res)
{
    sqlite3 *db = far_svc_req_txn(req);
    return db ? add(db, d->to, d->amount, res) : FAR_ESYSTEM_ERR;
}

static far_err withdraw(far_svc_req *req, const deposit *d, int64_t *res)
{
    (void)req;
    return add(far_sqlite_store_db(store), d->to, -d->amount, res);
}

static far_err note(far_svc_req *req, char *const *text)
{
    (void)req;
    printf("bank_server: note: %s\n", *text);
    fflush(stdout);
    return FAR_OK;
}

int main(int argc, char **argv)
{
    char path[512] = "bank.db";
    if (argc > 1 && strncmp(argv[1], "unix:", 5) == 0) {
        snprintf(path, sizeof path, "%s", argv[1] + 5);
        char *slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
                 "bank.db");
    }
    if (far_sqlite_store_open(&store, path) != FAR_OK ||
        sqlite3_exec(far_sqlite_store_db(store),
                     "CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, amount INTEGER)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "bank_server: %s: %s\n", path, far_last_error());
        return 1;
    }
    static const bank_prog_1_impl impl = {
        .balance = balance, .deposit = deposit_, .note = note, .withdraw = withdraw};
    if (!example_server_create() ||
        far_server_add_program(example_server, bank_prog_1_program(), &impl) != FAR_OK ||
        far_sqlite_store_attach(store, example_server) != FAR_OK)
        return 1;
    int rc = example_serve("bank_server", argc, argv);
    far_sqlite_store_close(store);
    return rc;
}
