/* The semantics of a call, chosen per procedure in the .x (sem.x, through
 * fargen's stubs and descriptors) and per call (far_call_opts.semantics),
 * over a bad UDP path.
 *
 * A farcall server counts how many times each call runs (every procedure
 * adds one to runs[id]); farcall clients reach it through faultproxy
 * (tests/tools) dropping 30% of the datagrams each way, duplicating 10% and
 * reordering 10% -- the load of test_drc_udp -- and the same load is made
 * with each semantics:
 *
 *   - at-most-once (COUNT, no annotation): retransmitted with the same
 *     xid, the duplicate request cache replays: no call ran twice;
 *   - at-least-once (COUNT_IDEM, / *@ idempotent * /): retransmitted, not
 *     cached: every answered call ran at least once, and some ran more;
 *   - may-be (COUNT_MAYBE, / *@ maybe * /): sent once, not cached: calls
 *     whose datagram or reply was lost are not answered, and a call runs
 *     more than once only when the network duplicated its datagram (runs
 *     past a call's first are at most the datagrams the proxy duplicated);
 *   - per call: COUNT with FAR_SEM_MAYBE is sent once (some unanswered;
 *     FAR_CTX tells the server, which does not cache it either),
 *     COUNT_MAYBE with FAR_SEM_AT_LEAST_ONCE is retransmitted (the server
 *     keeps no entry for the procedure, so some ran twice);
 *   - exactly-once asked of a server with no reply store fails with
 *     FAR_EUNSUPPORTED, before anything is sent.
 *
 * The table of executions is printed; no timing is asserted.
 * usage: test_sem_udp PATH-TO-FAULTPROXY */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <farcall/farcall.h>

#include "sem.h"

#include "../common/sanitized.h"

#define MAX_IDS 10000
/* The loads: 10,000 calls each, a fifth of that under a sanitizer. */
#define LOAD(n) (FAR_TEST_SANITIZED ? (n) / 5 : (n))

static const char *proxy_path;
static atomic_int runs[MAX_IDS];
static int failures;

#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------ the server */

static far_err count(far_svc_req *r, const uint32_t *id, uint32_t *res)
{
    (void)r;
    if (*id < MAX_IDS)
        atomic_fetch_add(&runs[*id], 1);
    *res = *id;
    return FAR_OK;
}

static const sem_prog_1_impl impl = {.count = count, .count_idem = count, .count_maybe = count};

static far_server *server_start(unsigned *port)
{
    far_server_opts o = {.workers = 4};
    far_server *s;
    char bound[128];
    if (far_server_create(&s, &o) != FAR_OK ||
        far_server_add_program(s, sem_prog_1_program(), &impl) != FAR_OK ||
        far_server_listen(s, "udp://127.0.0.1:0", bound, sizeof bound) != FAR_OK ||
        far_server_start(s) != FAR_OK) {
        fprintf(stderr, "server: %s\n", far_last_error());
        exit(1);
    }
    *port = (unsigned)atoi(strrchr(bound, ':') + 1);
    return s;
}

/* ------------------------------------------------------------ the proxy */

typedef struct proxy {
    pid_t pid;
    FILE *out;
    unsigned port;
    char stats[512];
} proxy;

static void proxy_start(proxy *p, unsigned to_port)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    char to[64];
    snprintf(to, sizeof to, "127.0.0.1:%u", to_port);
    p->pid = fork();
    if (p->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(proxy_path, proxy_path, "-p", "udp", "-l", "127.0.0.1:0", "-t", to, "-L", "0.3", "-D",
              "0.1", "-R", "0.1", "-s", "12", "-c", "128", "-T", "300", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    p->out = fdopen(fds[0], "r");
    char line[256];
    if (!fgets(line, sizeof line, p->out) || strncmp(line, "ready udp://127.0.0.1:", 22) != 0) {
        fprintf(stderr, "faultproxy did not start\n");
        exit(1);
    }
    p->port = (unsigned)atoi(line + 22);
}

static void proxy_stop(proxy *p)
{
    kill(p->pid, SIGTERM);
    if (!fgets(p->stats, sizeof p->stats, p->out))
        p->stats[0] = 0;
    waitpid(p->pid, NULL, 0);
    fclose(p->out);
}

/* ------------------------------------------------------------ the clients */

typedef far_err (*stub_fn)(far_client *, const uint32_t *, uint32_t *, far_arena *,
                           const far_call_opts *);

typedef struct load {
    unsigned port;
    uint32_t first, n; /* ids first .. first+n-1 */
    stub_fn stub;
    far_semantics sem; /* the call's, FAR_SEM_DEFAULT: the procedure's */
    uint32_t timeout_ms;
    int answered, timed_out, other;
    bool *ok; /* answered[id] */
} load;

static void *client(void *arg)
{
    load *l = arg;
    char addr[64];
    snprintf(addr, sizeof addr, "udp://127.0.0.1:%u", l->port);
    far_client_opts o = {.retry_ms = 20, .timeout_ms = l->timeout_ms};
    far_client *c;
    if (far_client_open(&c, addr, &o) != FAR_OK) {
        l->other = (int)l->n;
        return NULL;
    }
    far_call_opts co = {.semantics = l->sem};
    for (uint32_t i = 0; i < l->n; i++) {
        uint32_t id = l->first + i, back = 0;
        far_err rc = l->stub(c, &id, &back, NULL, &co);
        if (rc == FAR_OK && back == id) {
            l->answered++;
            l->ok[id] = true;
        } else if (rc == FAR_ETIMEDOUT) {
            l->timed_out++;
        } else {
            l->other++;
        }
    }
    far_client_destroy(c);
    return NULL;
}

typedef struct row {
    const char *what;
    int n, answered, timed_out, other;
    int ran0, ran1, ranmore, max, executions;
    int answered_not_run; /* answered calls the server never ran */
    int duplicated;       /* datagrams the proxy duplicated (both ways) */
} row;

/* Runs n calls (ids 0..n-1) from `threads` clients through a fresh proxy. */
static row run_load(const char *what, stub_fn stub, far_semantics sem, uint32_t timeout_ms, int n,
                    int threads)
{
    static bool ok[MAX_IDS];
    for (int i = 0; i < MAX_IDS; i++) {
        atomic_store(&runs[i], 0);
        ok[i] = false;
    }
    unsigned sport;
    far_server *s = server_start(&sport);
    proxy p;
    proxy_start(&p, sport);
    load l[100];
    pthread_t th[100];
    if (threads > 100 || n % threads || n > MAX_IDS) {
        fprintf(stderr, "%s: %d calls do not split over %d threads\n", what, n, threads);
        exit(2);
    }
    for (int t = 0; t < threads; t++) {
        l[t] = (load){.port = p.port,
                      .first = (uint32_t)(t * (n / threads)),
                      .n = (uint32_t)(n / threads),
                      .stub = stub,
                      .sem = sem,
                      .timeout_ms = timeout_ms,
                      .ok = ok};
        pthread_create(&th[t], NULL, client, &l[t]);
    }
    row r = {.what = what, .n = n};
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        r.answered += l[t].answered, r.timed_out += l[t].timed_out, r.other += l[t].other;
    }
    proxy_stop(&p);
    far_server_destroy(s); /* (after it, no handler runs: the counts are final) */
    for (int i = 0; i < n; i++) {
        int k = atomic_load(&runs[i]);
        r.ran0 += k == 0, r.ran1 += k == 1, r.ranmore += k > 1;
        r.executions += k;
        if (k > r.max)
            r.max = k;
        r.answered_not_run += ok[i] && k == 0;
    }
    const char *dup = strstr(p.stats, "duplicated=");
    r.duplicated = dup ? atoi(dup + 11) : -1;
    printf("  %s: proxy %s", what, p.stats);
    CHECK(r.answered + r.timed_out == n, "%s: %d calls ended with an unclear error", what, r.other);
    CHECK(r.answered_not_run == 0, "%s: %d answered calls never ran", what, r.answered_not_run);
    return r;
}

static void print_table(const row *rows, int n)
{
    printf("\n%-44s %6s %9s %9s %6s %6s %7s %4s %11s %11s\n",
           "semantics (30% loss, 10% dup, 10% reorder)", "calls", "answered", "timed out", "ran 0",
           "ran 1", "ran >1", "max", "executions", "duplicated");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        printf("%-44s %6d %9d %9d %6d %6d %7d %4d %11d %11d\n", r->what, r->n, r->answered,
               r->timed_out, r->ran0, r->ran1, r->ranmore, r->max, r->executions, r->duplicated);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_sem_udp FAULTPROXY\n");
        return 2;
    }
    proxy_path = argv[1];
    setenv("FARCALL_BINDER", "none", 1);
    signal(SIGPIPE, SIG_IGN);

    /* A call not answered waits out its deadline: may-be calls get a short
     * one (a lost one is never sent again, so waiting longer gains nothing). */
    row rows[5];
    rows[0] = run_load("at-most-once (COUNT, the default)", count_1, FAR_SEM_DEFAULT, 3000,
                       LOAD(10000), 100);
    rows[1] = run_load("at-least-once (COUNT_IDEM, idempotent)", count_idem_1, FAR_SEM_DEFAULT,
                       3000, LOAD(10000), 100);
    rows[2] = run_load("may-be (COUNT_MAYBE, maybe)", count_maybe_1, FAR_SEM_DEFAULT, 100,
                       LOAD(10000), 100);
    rows[3] = run_load("COUNT called FAR_SEM_MAYBE", count_1, FAR_SEM_MAYBE, 100, 800, 16);
    rows[4] = run_load("COUNT_MAYBE called FAR_SEM_AT_LEAST_ONCE", count_maybe_1,
                       FAR_SEM_AT_LEAST_ONCE, 3000, 800, 16);
    print_table(rows, 5);

    CHECK(rows[0].ranmore == 0, "at-most-once: %d calls ran more than once", rows[0].ranmore);
    CHECK(rows[1].ranmore > 0, "at-least-once: no call ran twice (not cached: with these "
                               "faults some must)");
    CHECK(rows[1].answered + rows[1].timed_out == rows[1].n, "at-least-once: unclear errors");
    /* A may-be call is sent once and not cached: it runs once for each copy
     * of its datagram the network delivers -- more than once only when the
     * network duplicated it (each run past a call's first needs a datagram
     * the proxy duplicated), never because the client sent it again. */
    int extra = rows[2].executions - (rows[2].n - rows[2].ran0);
    CHECK(rows[2].duplicated >= 0 && extra <= rows[2].duplicated,
          "may-be: %d runs past a call's first, more than the %d datagrams duplicated: the "
          "client sent calls again",
          extra, rows[2].duplicated);
    CHECK(rows[2].answered < rows[2].n, "may-be: every call answered (was it retransmitted?)");
    /* (the call's may-be reaches the server in FAR_CTX: not cached either) */
    int extra3 = rows[3].executions - (rows[3].n - rows[3].ran0);
    CHECK(rows[3].duplicated >= 0 && extra3 <= rows[3].duplicated,
          "COUNT as may-be: %d runs past a call's first, more than the %d datagrams duplicated",
          extra3, rows[3].duplicated);
    CHECK(rows[3].answered < rows[3].n, "COUNT as may-be: every call answered");
    CHECK(rows[4].ranmore > 0, "COUNT_MAYBE as at-least-once: no call ran twice");
    CHECK(rows[4].answered > rows[2].answered * rows[4].n / rows[2].n,
          "COUNT_MAYBE as at-least-once: answered no more often than as may-be");

    /* exactly-once against a server with no reply store */
    {
        unsigned port;
        far_server *s = server_start(&port);
        char addr[64];
        snprintf(addr, sizeof addr, "udp://127.0.0.1:%u", port);
        far_client *c;
        CHECK(far_client_open(&c, addr, NULL) == FAR_OK, "open: %s", far_last_error());
        uint32_t id = 0, back = 0;
        atomic_store(&runs[0], 0);
        far_status st;
        far_call_opts co = {.semantics = FAR_SEM_EXACTLY_ONCE, .status = &st};
        far_err rc = count_1(c, &id, &back, NULL, &co);
        printf("exactly-once with no reply store: %s (%s)\n", far_strerror(rc), st.msg);
        CHECK(rc == FAR_EUNSUPPORTED, "exactly-once with no store: %s", far_strerror(rc));
        far_client_destroy(c);
        far_server_destroy(s);
        CHECK(atomic_load(&runs[0]) == 0, "the exactly-once call ran");
    }

    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("may-be, at-least-once and at-most-once over UDP through loss, duplication and "
           "reordering: ok\n");
    return 0;
}
