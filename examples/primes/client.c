/* primes client: primes_client ADDRESS [CALLS]
 *
 * Counts the primes below CALLS x 25000 (default 8 calls) by sending every
 * range at once as an async call, waiting until every callback has run, and
 * printing the results in order.  Does it twice: the second round reuses the
 * first round's arenas, which is allowed once their callbacks have run.
 * Then shows a deadline that expires (NAP 500 ms with a 100 ms deadline) and
 * the detailed status of a call the server refuses (a bad range).
 *
 * Arenas and async calls: the reply of an async call is decoded on the I/O
 * thread, into the arena given to the call, while other calls' replies may be
 * decoded at the same time.  An arena is not thread-safe, so each call in
 * flight gets its own (or calls share one only one after another: the next
 * call that uses it starts after the callback of the previous one ran).  A
 * result lives in its arena until far_arena_reset or far_arena_fini.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/example_server.h"
#include "primes.h"

#define CHUNK     25000
#define MAX_CALLS 64

/* Calls whose callbacks have not run yet, and a condition to wait for zero. */
typedef struct batch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned pending;
} batch;

/* One async call: its argument, its result, the arena the result is decoded
 * into, and what the callback saw. */
typedef struct job {
    range arg;
    primes res;
    far_arena arena;
    far_err err;
    char msg[sizeof(((far_status *)0)->msg)];
    batch *b;
} job;

static void batch_done(batch *b)
{
    pthread_mutex_lock(&b->mu);
    if (--b->pending == 0)
        pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Runs on the I/O thread that every client of the process shares: it must
 * not block, so it only records the outcome and counts down. */
static void on_reply(const far_status *st, void *res, void *user)
{
    job *j = user;
    (void)res; /* == &j->res, filled when st->err == FAR_OK */
    j->err = st->err;
    snprintf(j->msg, sizeof j->msg, "%s", st->msg);
    batch_done(j->b);
}

/* Waits (at most 30 s) until every callback of the batch has run. */
static bool batch_wait(batch *b)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    while (b->pending && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&b->cv, &b->mu, &until);
    bool done = b->pending == 0;
    pthread_mutex_unlock(&b->mu);
    return done;
}

/* One round: every range as an async call, then the results. */
static int count_all(far_client *c, job *jobs, unsigned n, batch *b, int round)
{
    b->pending = n; /* before the first call: a callback may run at once */
    for (unsigned i = 0; i < n; i++) {
        job *j = &jobs[i];
        j->arg = (range){(uint64_t)i * CHUNK, (uint64_t)(i + 1) * CHUNK};
        j->b = b;
        const far_call_opts opts = {.timeout_ms = 10000}; /* this call's deadline */
        far_err rc = count_1_async(c, &j->arg, &j->res, &j->arena, &opts, on_reply, j);
        if (rc != FAR_OK) { /* the callback will not run */
            j->err = rc;
            snprintf(j->msg, sizeof j->msg, "%s", far_last_error());
            batch_done(b);
        }
    }
    if (!batch_wait(b)) {
        fprintf(stderr, "primes_client: callbacks still missing after 30 s\n");
        return -1;
    }
    unsigned total = 0, failed = 0;
    for (unsigned i = 0; i < n; i++) {
        const job *j = &jobs[i];
        if (j->err != FAR_OK) {
            fprintf(stderr, "primes_client: [%" PRIu64 ", %" PRIu64 "): %s: %s\n", j->arg.lo,
                    j->arg.hi, far_errname(j->err), j->msg);
            failed++;
            continue;
        }
        total += j->res.count;
        if (round == 1) {
            printf("[%6" PRIu64 ", %6" PRIu64 "): %4" PRIu32 " primes, the largest", j->arg.lo,
                   j->arg.hi, j->res.count);
            for (uint32_t k = 0; k < j->res.last.last_len; k++)
                printf(" %" PRIu64, j->res.last.last_val[k]);
            printf("\n");
        }
    }
    printf("round %d: %u primes below %u in %u async calls\n", round, total, n * CHUNK, n);
    return failed ? -1 : (int)total;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: primes_client ADDRESS [CALLS]\n");
        return 2;
    }
    unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 8;
    if (n < 1 || n > MAX_CALLS) {
        fprintf(stderr, "primes_client: CALLS is 1 to %d\n", MAX_CALLS);
        return 2;
    }
    far_client *c = example_connect("primes_client", argv[1]);
    if (!c)
        return 1;
    static job jobs[MAX_CALLS];
    for (unsigned i = 0; i < n; i++)
        far_arena_init(&jobs[i].arena, NULL, 0, 0); /* one arena per call in flight */
    batch b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    int status = 1;

    int first = count_all(c, jobs, n, &b, 1);
    if (first < 0)
        goto out;
    /* Every callback has run: the arenas (and the results in them) are ours
     * again.  Reset them and use them for the next round. */
    for (unsigned i = 0; i < n; i++)
        far_arena_reset(&jobs[i].arena);
    int second = count_all(c, jobs, n, &b, 2);
    if (second != first) {
        fprintf(stderr, "primes_client: round 2 found %d primes, round 1 %d\n", second, first);
        goto out;
    }

    /* A deadline: the server naps 500 ms, the call gives up after 100. */
    job napper = {.b = &b};
    uint32_t ms = 500;
    const far_call_opts nap_opts = {.timeout_ms = 100};
    b.pending = 1;
    if (nap_1_async(c, &ms, &nap_opts, on_reply, &napper) != FAR_OK || !batch_wait(&b)) {
        fprintf(stderr, "primes_client: nap: %s\n", far_last_error());
        goto out;
    }
    printf("nap of %" PRIu32 " ms with a %" PRIu32 " ms deadline: %s (%s)\n", ms,
           nap_opts.timeout_ms, far_errname(napper.err), napper.msg);
    if (napper.err != FAR_ETIMEDOUT)
        goto out;

    /* A status: the outcome of a call in detail (a sync call here; an async
     * callback gets the same far_status). */
    far_status st = {0};
    const far_call_opts opts = {.timeout_ms = 2000, .status = &st};
    primes res;
    range bad = {10, 5};
    far_err rc = count_1(c, &bad, &res, NULL, &opts);
    printf("count of [10, 5): %s (%s)\n", far_errname(rc), st.msg);
    if (rc == FAR_EGARBAGE_ARGS)
        status = 0;
out:
    far_client_destroy(c);
    for (unsigned i = 0; i < n; i++)
        far_arena_fini(&jobs[i].arena);
    return status;
}
