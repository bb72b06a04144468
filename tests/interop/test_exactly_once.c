/* Exactly-once on SQLite: the durable reply store (farcall/store.h,
 * farcall/sqlite.h).
 *
 *   - the store itself: a new key runs, its reply is kept with the effect
 *     in one transaction and found again with the same results; the key
 *     with other arguments is FAR_EIDEMPOTENCY; a rolled-back call left
 *     nothing and runs again;
 *   - kill -9: a worker process runs 2,000 keyed calls through the store (an
 *     effect row and the counter updated in the call's transaction), and the
 *     test kills it with SIGKILL at random moments and starts it again,
 *     until one life finishes; each life goes through every key from the
 *     first, and the keys the store knows are answered from it, not run.  At
 *     the end the counter equals the number of keys, the effect rows are one
 *     per key, and `sqlite3` itself counts one far_reply row per key;
 *   - through a server (eo.x): an idempotency key sent again (a test knob)
 *     gets the stored reply without running the call, and with other
 *     arguments FAR_EIDEMPOTENCY; an exactly-once procedure's handler runs in
 *     the store's transaction (far_svc_req_txn), a handler that fails has
 *     its effect rolled back, and a client that requires exactly-once gets
 *     FAR_EUNSUPPORTED from a server without a store -- and, until the
 *     FAR_CTX flavor carries the idempotency key, from one with a store.
 *
 * usage: test_exactly_once (sqlite3 on PATH for the last check) */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <farcall/farcall.h>
#include <farcall/sqlite.h>

#include "clnt/clnt.h" /* far__client_set_next_key, a test knob */

#include "eo.h"

#define NKEYS 2000

static int failures;
static char dir[256];

#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static far_sqlite_store *open_store(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    far_sqlite_store *st;
    if (far_sqlite_store_open(&st, path) != FAR_OK) {
        fprintf(stderr, "open %s: %s\n", path, far_last_error());
        exit(1);
    }
    if (sqlite3_exec(far_sqlite_store_db(st),
                     "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER);"
                     "INSERT OR IGNORE INTO counter VALUES (1, 0);"
                     "CREATE TABLE IF NOT EXISTS effect (key INTEGER);",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "schema: %s\n", sqlite3_errmsg(far_sqlite_store_db(st)));
        exit(1);
    }
    return st;
}

static far_store_key key_for(uint32_t *kb, uint32_t i, uint8_t salt)
{
    *kb = i;
    far_store_key k = {.owner = (const uint8_t *)"test-client",
                       .owner_len = 11,
                       .key = (const uint8_t *)kb,
                       .key_len = sizeof *kb,
                       .prog = 1,
                       .vers = 1,
                       .proc = 1};
    memset(k.digest, salt, sizeof k.digest);
    memcpy(k.digest, &i, sizeof i);
    return k;
}

/* ------------------------------------------------------- the store itself */

static void test_store(void)
{
    far_sqlite_store *st = open_store("store.db");
    const far_reply_store *ops = far_sqlite_store_ops();
    sqlite3 *db = far_sqlite_store_db(st);
    uint32_t kb;
    far_store_key k = key_for(&kb, 7, 0);
    void *txn = NULL;
    bool found = true;
    uint8_t *rep = NULL;
    size_t n = 0;
    CHECK(ops->begin(st, &k, &txn, &found, &rep, &n) == FAR_OK && !found && txn == db,
          "a new key: a transaction");
    CHECK(sqlite3_exec(txn, "UPDATE counter SET n = n + 1", NULL, NULL, NULL) == SQLITE_OK,
          "the effect");
    CHECK(ops->commit(st, txn, &k, (const uint8_t *)"results", 7) == FAR_OK, "commit");
    CHECK(ops->begin(st, &k, &txn, &found, &rep, &n) == FAR_OK && found && n == 7 &&
              memcmp(rep, "results", 7) == 0,
          "the key again: its results");
    free(rep);
    rep = NULL;
    far_store_key other = key_for(&kb, 7, 1);
    CHECK(ops->begin(st, &other, &txn, &found, &rep, &n) == FAR_EIDEMPOTENCY,
          "the key with other arguments");
    uint32_t kb2;
    far_store_key k2 = key_for(&kb2, 8, 0);
    CHECK(ops->begin(st, &k2, &txn, &found, &rep, &n) == FAR_OK && !found, "key 8");
    CHECK(sqlite3_exec(txn, "UPDATE counter SET n = n + 100", NULL, NULL, NULL) == SQLITE_OK,
          "the effect");
    ops->abort(st, txn);
    CHECK(query_int(db, "SELECT n FROM counter") == 1, "the aborted effect is gone");
    CHECK(ops->begin(st, &k2, &txn, &found, &rep, &n) == FAR_OK && !found, "key 8 runs again");
    ops->abort(st, txn);
    CHECK(query_int(db, "SELECT count(*) FROM far_reply") == 1, "one reply kept");
    char journal[32] = "";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        snprintf(journal, sizeof journal, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    CHECK(strcmp(journal, "wal") == 0, "journal mode %s", journal);
    uint64_t pruned = 99;
    CHECK(far_sqlite_store_prune(st, 3600, &pruned) == FAR_OK && pruned == 0, "prune: none old");
    far_sqlite_store_close(st);
    printf("store: new, found, other arguments, rolled back: ok\n");
}

/* ------------------------------------------------------------ kill -9 */

/* One life of the worker: every key from the first, each one through the
 * store; exits 0 when done. */
static int worker(void)
{
    far_sqlite_store *st = open_store("kill.db");
    const far_reply_store *ops = far_sqlite_store_ops();
    int ran = 0, answered = 0;
    for (uint32_t i = 0; i < NKEYS; i++) {
        uint32_t kb;
        far_store_key k = key_for(&kb, i, 0);
        void *txn = NULL;
        bool found = false;
        uint8_t *rep = NULL;
        size_t n = 0;
        if (ops->begin(st, &k, &txn, &found, &rep, &n) != FAR_OK)
            return 2;
        if (found) {
            answered++;
            free(rep);
            continue;
        }
        char sql[128];
        snprintf(sql, sizeof sql, "UPDATE counter SET n = n + 1; INSERT INTO effect VALUES (%u);",
                 i);
        if (sqlite3_exec(txn, sql, NULL, NULL, NULL) != SQLITE_OK)
            return 3;
        uint64_t v = i;
        if (ops->commit(st, txn, &k, (const uint8_t *)&v, sizeof v) != FAR_OK)
            return 4;
        ran++;
    }
    far_sqlite_store_close(st);
    printf("  the last life: %d keys answered from the store, %d run\n", answered, ran);
    return 0;
}

static void test_kill(const char *self)
{
    srand(12345);
    int lives = 0, killed = 0;
    for (int life = 0; life < 200; life++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl(self, self, "--worker", dir, (char *)NULL);
            _exit(127);
        }
        lives++;
        /* a random moment, mostly inside a life (each key is an fsync) */
        struct timespec ts = {0, (long)(rand() % 150) * 1000000L};
        nanosleep(&ts, NULL);
        int status;
        if (life < 199 && waitpid(pid, &status, WNOHANG) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            killed++;
            continue;
        }
        if (waitpid(pid, &status, 0) < 0)
            status = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            break;
        CHECK(WIFSIGNALED(status), "worker exit status %d", WEXITSTATUS(status));
    }
    printf("kill -9: %d lives, %d killed\n", lives, killed);
    CHECK(killed > 0, "no life was killed: the test showed nothing");
    far_sqlite_store *st = open_store("kill.db");
    sqlite3 *db = far_sqlite_store_db(st);
    int64_t counter = query_int(db, "SELECT n FROM counter");
    int64_t effects = query_int(db, "SELECT count(*) FROM effect");
    int64_t distinct = query_int(db, "SELECT count(DISTINCT key) FROM effect");
    int64_t rows = query_int(db, "SELECT count(*) FROM far_reply");
    printf("  counter %lld, effect rows %lld (%lld keys), reply rows %lld, for %d keys\n",
           (long long)counter, (long long)effects, (long long)distinct, (long long)rows, NKEYS);
    CHECK(counter == NKEYS, "counter %lld", (long long)counter);
    CHECK(effects == NKEYS && distinct == NKEYS, "effects %lld", (long long)effects);
    CHECK(rows == NKEYS, "reply rows %lld", (long long)rows);
    far_sqlite_store_close(st);
    /* and as sqlite3 sees it: one reply row per key */
    char cmd[700];
    snprintf(cmd, sizeof cmd,
             "sqlite3 %s/kill.db 'SELECT count(*), count(DISTINCT owner || key) FROM far_reply'",
             dir);
    FILE *p = popen(cmd, "r");
    char line[128] = "";
    if (p) {
        if (!fgets(line, sizeof line, p))
            line[0] = 0;
        pclose(p);
    }
    char want[64];
    snprintf(want, sizeof want, "%d|%d\n", NKEYS, NKEYS);
    CHECK(strcmp(line, want) == 0, "sqlite3 says '%s', not '%s'", line, want);
}

/* ------------------------------------------------------- through a server */

static far_sqlite_store *server_store;

static atomic_int saw_txn, saw_no_txn;

static far_err add(far_svc_req *r, const uint32_t *n, uint64_t *res)
{
    sqlite3 *db = far_svc_req_txn(r);
    if (!db) {
        atomic_fetch_add(&saw_no_txn, 1);
        return FAR_ESYSTEM_ERR;
    }
    atomic_fetch_add(&saw_txn, 1);
    char sql[96];
    snprintf(sql, sizeof sql, "UPDATE counter SET n = n + %u", *n);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return FAR_ESYSTEM_ERR;
    *res = (uint64_t)query_int(db, "SELECT n FROM counter");
    return FAR_OK;
}

static far_err add_fail(far_svc_req *r, const uint32_t *n, uint64_t *res)
{
    far_err rc = add(r, n, res);
    return rc == FAR_OK ? FAR_ESYSTEM_ERR : rc; /* after the effect: rolled back */
}

static atomic_bool adders_done;

static far_err get(far_svc_req *r, uint64_t *res)
{
    (void)r;
    struct timespec ts = {0, 2 * 1000000}; /* in flight when the server is killed */
    nanosleep(&ts, NULL);
    *res = (uint64_t)query_int(far_sqlite_store_db(server_store), "SELECT n FROM counter");
    return FAR_OK;
}

static const eo_prog_1_impl impl = {.add = add, .add_fail = add_fail, .get = get};

static far_server *server(far_sqlite_store *st, char *bound, size_t cap)
{
    far_server *s;
    if (far_server_create(&s, NULL) != FAR_OK ||
        far_server_add_program(s, eo_prog_1_program(), &impl) != FAR_OK ||
        (st && far_sqlite_store_attach(st, s) != FAR_OK) ||
        far_server_listen(s, "tcp://127.0.0.1:0", bound, cap) != FAR_OK ||
        far_server_start(s) != FAR_OK) {
        fprintf(stderr, "server: %s\n", far_last_error());
        exit(1);
    }
    return s;
}

static void test_server(void)
{
    server_store = open_store("server.db");
    char bound[128];
    far_server *s = server(server_store, bound, sizeof bound);
    far_client *c;
    CHECK(far_client_open(&c, bound, NULL) == FAR_OK, "open: %s", far_last_error());
    uint32_t five = 5;
    uint64_t v = 0;
    far_status st;
    far_call_opts eo = {.status = &st};
    far_err rc = add_1(c, &five, &v, NULL, &eo);
    CHECK(rc == FAR_OK && v == 5, "exactly-once add: %s (%s), %llu", far_strerror(rc), st.msg,
          (unsigned long long)v);
    CHECK(query_int(far_sqlite_store_db(server_store), "SELECT count(*) FROM far_reply") == 1,
          "one reply row for the exactly-once call");
    rc = add_fail_1(c, &five, &v, NULL, NULL);
    CHECK(rc == FAR_ESYSTEM_ERR, "add_fail: %s", far_strerror(rc));
    rc = get_1(c, &v, NULL, NULL);
    CHECK(rc == FAR_OK && v == 5, "the failed call's effect was rolled back: %llu",
          (unsigned long long)v);
    /* made at-most-once: no key, but still the store's transaction */
    far_call_opts amo = {.semantics = FAR_SEM_AT_MOST_ONCE};
    rc = add_1(c, &five, &v, NULL, &amo);
    CHECK(rc == FAR_OK && v == 10, "add at-most-once: %s, %llu", far_strerror(rc),
          (unsigned long long)v);
    CHECK(atomic_load(&saw_txn) == 3 && atomic_load(&saw_no_txn) == 0,
          "handlers in a transaction: %d, without: %d", atomic_load(&saw_txn),
          atomic_load(&saw_no_txn));
    CHECK(query_int(far_sqlite_store_db(server_store), "SELECT count(*) FROM far_reply") == 1,
          "no key, no reply row");
    /* a key used again: with the same arguments the stored reply, and the
     * call does not run again; with others FAR_EIDEMPOTENCY */
    static const uint8_t key[16] = "same key, twice";
    uint32_t seven = 7;
    far__client_set_next_key(c, key);
    rc = add_1(c, &seven, &v, NULL, NULL);
    CHECK(rc == FAR_OK && v == 17, "add 7 with a key: %s, %llu", far_strerror(rc),
          (unsigned long long)v);
    far__client_set_next_key(c, key);
    rc = add_1(c, &seven, &v, NULL, NULL);
    CHECK(rc == FAR_OK && v == 17, "the key again: %s, %llu (the stored reply)", far_strerror(rc),
          (unsigned long long)v);
    CHECK(atomic_load(&saw_txn) == 4, "the key again ran the handler (%d runs)",
          atomic_load(&saw_txn));
    far__client_set_next_key(c, key);
    rc = add_1(c, &five, &v, NULL, &eo);
    printf("an idempotency key reused with other arguments: %s (%s)\n", far_strerror(rc), st.msg);
    CHECK(rc == FAR_EIDEMPOTENCY, "the key with other arguments: %s", far_strerror(rc));
    rc = get_1(c, &v, NULL, NULL);
    CHECK(rc == FAR_OK && v == 17, "the counter is %llu", (unsigned long long)v);
    far_client_destroy(c);
    /* a classic client (no FAR_CTX): exactly-once cannot be asked for */
    far_client_opts classic = {.no_ctx = true};
    CHECK(far_client_open(&c, bound, &classic) == FAR_OK, "open: %s", far_last_error());
    rc = add_1(c, &five, &v, NULL, NULL);
    CHECK(rc == FAR_EUNSUPPORTED, "classic client, exactly-once: %s", far_strerror(rc));
    far_client_destroy(c);
    far_server_destroy(s);

    /* no store: exactly-once is refused by the client, and an at-most-once
     * call of the procedure runs with no transaction */
    s = server(NULL, bound, sizeof bound);
    CHECK(far_client_open(&c, bound, NULL) == FAR_OK, "open: %s", far_last_error());
    rc = add_1(c, &five, &v, NULL, &eo);
    printf("exactly-once against a server with no store: %s (%s)\n", far_strerror(rc), st.msg);
    CHECK(rc == FAR_EUNSUPPORTED, "no store: %s", far_strerror(rc));
    rc = add_1(c, &five, &v, NULL, &amo);
    CHECK(rc == FAR_ESYSTEM_ERR && atomic_load(&saw_no_txn) == 1, "no store, no transaction: %s",
          far_strerror(rc));
    far_client_destroy(c);
    far_server_destroy(s);
    far_sqlite_store_close(server_store);
    printf("server: handlers in the store's transaction, failures rolled back: ok\n");
}

/* --------------------------------------------- kill -9 of a real server */

/* The server process: a counter on SQLite, exactly-once, until killed. */
static int server_main(const char *port)
{
    server_store = open_store("e2e.db");
    char addr[64], bound[128];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%s", port);
    far_server_opts o = {.workers = 4};
    far_server *s;
    if (far_server_create(&s, &o) != FAR_OK ||
        far_server_add_program(s, eo_prog_1_program(), &impl) != FAR_OK ||
        far_sqlite_store_attach(server_store, s) != FAR_OK ||
        far_server_listen(s, addr, bound, sizeof bound) != FAR_OK) {
        fprintf(stderr, "server: %s\n", far_last_error());
        return 1;
    }
    printf("listening on %s\n", bound);
    fflush(stdout);
    return far_server_run(s) == FAR_OK ? 0 : 1;
}

static pid_t spawn_server(const char *self, const char *port)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "--server", dir, port, (char *)NULL);
        _exit(127);
    }
    return pid;
}

#define E2E_THREADS 4
#define E2E_CALLS   150 /* per thread */

typedef struct e2e_load {
    char addr[64];
    int ok, failed;
    far_err last;
    far_semantics reads; /* FAR_SEM_DEFAULT: ADD calls; else GET calls made so */
} e2e_load;

static void *e2e_client(void *arg)
{
    e2e_load *l = arg;
    far_client_opts o = {.timeout_ms = 30000};
    far_client *c;
    if (far_client_open(&c, l->addr, &o) != FAR_OK) {
        l->failed = E2E_CALLS;
        return NULL;
    }
    for (int i = 0; l->reads ? i < 100000 && !atomic_load(&adders_done) : i < E2E_CALLS; i++) {
        uint32_t one = 1;
        uint64_t v;
        far_call_opts co = {.semantics = l->reads};
        far_err rc = l->reads ? get_1(c, &v, NULL, &co) : add_1(c, &one, &v, NULL, NULL);
        if (rc == FAR_OK) {
            l->ok++;
        } else {
            l->failed++;
            l->last = rc;
        }
    }
    far_client_destroy(c);
    return NULL;
}

static void test_e2e(const char *self)
{
    /* a free port, for every life of the server */
    far_server *probe;
    char bound[128];
    if (far_server_create(&probe, NULL) != FAR_OK ||
        far_server_listen(probe, "tcp://127.0.0.1:0", bound, sizeof bound) != FAR_OK) {
        fprintf(stderr, "no port\n");
        exit(1);
    }
    far_server_destroy(probe);
    const char *port = strrchr(bound, ':') + 1;
    pid_t pid = spawn_server(self, port);
    /* E2E_THREADS adders, and two readers: at-least-once and at-most-once */
    e2e_load l[E2E_THREADS + 2];
    pthread_t th[E2E_THREADS + 2];
    for (int t = 0; t < E2E_THREADS + 2; t++) {
        memset(&l[t], 0, sizeof l[t]);
        snprintf(l[t].addr, sizeof l[t].addr, "tcp://127.0.0.1:%s", port);
    }
    l[E2E_THREADS].reads = FAR_SEM_AT_LEAST_ONCE;
    l[E2E_THREADS + 1].reads = FAR_SEM_AT_MOST_ONCE;
    struct timespec boot = {0, 300 * 1000000L};
    nanosleep(&boot, NULL);
    for (int t = 0; t < E2E_THREADS + 2; t++)
        pthread_create(&th[t], NULL, e2e_client, &l[t]);
    int kills = 0;
    srand(4242);
    for (int k = 0; k < 4; k++) {
        struct timespec ts = {0, (long)(100 + rand() % 300) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        kills++;
        pid = spawn_server(self, port);
    }
    int ok = 0, failed = 0;
    far_err last = FAR_OK;
    for (int t = 0; t < E2E_THREADS; t++) {
        pthread_join(th[t], NULL);
        ok += l[t].ok, failed += l[t].failed;
        if (l[t].failed)
            last = l[t].last;
    }
    atomic_store(&adders_done, true);
    for (int t = E2E_THREADS; t < E2E_THREADS + 2; t++)
        pthread_join(th[t], NULL);
    const e2e_load *alo = &l[E2E_THREADS], *amo = &l[E2E_THREADS + 1];
    printf("  meanwhile GET at-least-once: %d ok, %d failed (%s); at-most-once: %d ok, %d failed "
           "(%s)\n",
           alo->ok, alo->failed, alo->failed ? far_strerror(alo->last) : "-", amo->ok, amo->failed,
           amo->failed ? far_strerror(amo->last) : "-");
    /* at-least-once is sent again across the restarts; at-most-once may
     * fail (lost connection, unknown outcome), which is what it promises */
    CHECK(alo->failed == 0, "at-least-once GET failed %d times (%s)", alo->failed,
          far_strerror(alo->last));
    CHECK(amo->failed == 0 || amo->last == FAR_ECONNLOST || amo->last == FAR_EUNKNOWN_OUTCOME,
          "at-most-once GET: %s", far_strerror(amo->last));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    far_sqlite_store *st = open_store("e2e.db");
    sqlite3 *db = far_sqlite_store_db(st);
    int64_t counter = query_int(db, "SELECT n FROM counter");
    int64_t rows = query_int(db, "SELECT count(*) FROM far_reply");
    far_sqlite_store_close(st);
    printf("kill -9 of the server %d times mid-load: %d exactly-once calls succeeded, %d failed "
           "(%s); counter %lld, reply rows %lld\n",
           kills, ok, failed, failed ? far_strerror(last) : "-", (long long)counter,
           (long long)rows);
    CHECK(counter == ok, "the counter %lld is not the %d calls that succeeded", (long long)counter,
          ok);
    CHECK(rows == counter, "%lld reply rows for a counter of %lld", (long long)rows,
          (long long)counter);
    CHECK(failed == 0, "%d calls failed", failed);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--server") == 0) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        return server_main(argv[3]);
    }
    if (argc == 3 && strcmp(argv[1], "--worker") == 0) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        return worker();
    }
    setenv("FARCALL_BINDER", "none", 1);
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/test_exactly_once.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_store();
    test_kill(argv[0]);
    test_server();
    test_e2e(argv[0]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("exactly-once on SQLite: ok\n");
    return 0;
}
