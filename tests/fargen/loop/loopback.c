/* A fargen-generated client calls a fargen-generated server over loopback
 * TCP: sync and async stubs, lists, unions, strings, several arguments, two
 * versions, an unimplemented procedure and the implicit null procedure; the
 * far_call_opts a stub is given (deadline, status) reach the call; and three
 * .x files' generated code (calc.x, tally.x, unions.x) in one program.
 *
 * Every result is decoded in heap mode (arena NULL: malloc) as well as into
 * an arena, and the heap one is released with the generated T_free (free()
 * for a string): under ASan a T_free that frees the wrong union arm or
 * misses memory fails the test.  UNIONS_PROG echoes random values of every
 * union of unions.x (built by its --test-support generator, released with
 * T_free too), each compared with what came back.
 *
 * The server has one handler, and CALCPROC_WAIT holds it until the test
 * opens the gate: calls answered while it is held were answered without a
 * handler (an unimplemented procedure, the null procedure with no function),
 * and calls that need one time out by their opts' deadline. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calc.h"
#include "tally.h"
#include "unions.h"

/* unions.x's random values and equality (fargen --test-support) */
#include "fgt_fargen.h"
#include "unions_fgtest.c"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static far_err eval(far_svc_req *req, const request *argp, reply *resp)
{
    (void)req;
    int64_t acc = argp->what == MUL ? 1 : 0;
    for (const operand *o = argp->args; o; o = o->next)
        acc = argp->what == MUL ? acc * o->value : acc + o->value;
    if (argp->what == NEG && argp->args) {
        acc = -argp->args->value;
    } else if (argp->what == NEG) {
        resp->status = 2;
        resp->reply_u.why = "NEG needs an operand";
        return FAR_OK;
    }
    resp->status = 0;
    resp->reply_u.result = acc;
    return FAR_OK;
}

static far_err add2(far_svc_req *req, int32_t arg1, int32_t arg2, int32_t *resp)
{
    (void)req;
    *resp = arg1 + arg2;
    return FAR_OK;
}

static far_err echo(far_svc_req *req, char *const *argp, char **resp)
{
    far_arena *a = far_svc_req_arena(req);
    size_t n = strlen(*argp);
    char *s = far_arena_alloc(a, n + 2);
    if (!s)
        return FAR_ESYSTEM_ERR;
    memcpy(s, *argp, n);
    s[n] = '!';
    s[n + 1] = '\0';
    *resp = s;
    return FAR_OK;
}

/* The gate CALCPROC_WAIT waits at (10 s at most, so that a failing test
 * still ends). */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int waits_entered;

static struct timespec after_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static far_err wait_at_gate(far_svc_req *req)
{
    (void)req;
    struct timespec until = after_ms(10000);
    pthread_mutex_lock(&gate_mu);
    waits_entered++;
    pthread_cond_broadcast(&gate_cv);
    while (!gate_open)
        if (pthread_cond_timedwait(&gate_cv, &gate_mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&gate_mu);
    return FAR_OK;
}

static far_err count(far_svc_req *req, uint64_t *resp)
{
    *resp = far_svc_req_vers(req) * 1000u;
    return FAR_OK;
}

/* calcproc_null and calcproc_missing have no function. */
static const calc_prog_1_impl v1 = {
    .calcproc_eval = eval,
    .calcproc_add2 = add2,
    .calcproc_echo = echo,
    .calcproc_wait = wait_at_gate,
};
static const calc_prog_2_impl v2 = {.calcproc_count = count};

static far_err tally_add(far_svc_req *req, const struct tally_item *argp, int32_t *resp)
{
    (void)req;
    *resp = argp->count + (int32_t)strlen(argp->name);
    return FAR_OK;
}

static far_err tally_label(far_svc_req *req, int32_t arg1, char *arg2, char **resp)
{
    char *s = far_arena_alloc(far_svc_req_arena(req), strlen(arg2) + 16);
    if (!s)
        return FAR_ESYSTEM_ERR;
    sprintf(s, "%s #%d", arg2, (int)arg1);
    *resp = s;
    return FAR_OK;
}

static const tally_prog_1_impl tally = {.tallyproc_add = tally_add, .tallyproc_label = tally_label};

/* UNIONS_PROG: every procedure sends its argument back (the argument lives
 * in the call's arena, as the result must, until the reply is sent). */
#define ECHO(T)                                                                                    \
    static far_err echo_##T(far_svc_req *req, const struct T *argp, struct T *resp)                \
    {                                                                                              \
        (void)req;                                                                                 \
        *resp = *argp;                                                                             \
        return FAR_OK;                                                                             \
    }
ECHO(u)
ECHO(mixed)
ECHO(dflt)
ECHO(voids)
ECHO(ptrs)
ECHO(outer)
ECHO(tree)
ECHO(bag)

static const unions_prog_1_impl unions = {
    .unionsproc_u = echo_u,
    .unionsproc_mixed = echo_mixed,
    .unionsproc_dflt = echo_dflt,
    .unionsproc_voids = echo_voids,
    .unionsproc_ptrs = echo_ptrs,
    .unionsproc_outer = echo_outer,
    .unionsproc_tree = echo_tree,
    .unionsproc_bag = echo_bag,
};

/* ROUNDS random values of T through UNIONSPROC_*: decoded in heap mode
 * (freed with T_free) and into the arena, each equal to what was sent. */
#define ROUNDS 200
#define ROUND_TRIP(T, stub, arena)                                                                 \
    for (int i = 0; i < ROUNDS; i++) {                                                             \
        fgt_rng r = {(uint64_t)i * 7919u + 1, 8};                                                  \
        T sent, heap, in_arena;                                                                    \
        memset(&sent, 0, sizeof sent);                                                             \
        memset(&heap, 0, sizeof heap);                                                             \
        memset(&in_arena, 0, sizeof in_arena);                                                     \
        fgt_rand_##T(&r, &sent);                                                                   \
        bool heap_ok = stub(c, &sent, &heap, NULL, NULL) == FAR_OK;                                \
        CHECK(heap_ok &&fgt_eq_##T(&sent, &heap));                                                 \
        T##_free(&heap); /* also after a failure: a heap-mode decode zeroes first */               \
        CHECK(stub(c, &sent, &in_arena, arena, NULL) == FAR_OK && fgt_eq_##T(&sent, &in_arena));   \
        far_arena_reset(arena);                                                                    \
        T##_free(&sent); /* built with malloc by fgt_rand */                                       \
        if (failures)                                                                              \
            break;                                                                                 \
    }

static void union_round_trips(far_client *c, far_arena *arena)
{
    /* the value first: {k = 1, n = 3}, whose u_free once freed 3 */
    u one = {.k = 1, .u_u = {.n = 3}}, back;
    memset(&back, 0, sizeof back);
    CHECK(unionsproc_u_1(c, &one, &back, NULL, NULL) == FAR_OK && back.k == 1 && back.u_u.n == 3);
    u_free(&back);
    u_free(&one);
    ROUND_TRIP(u, unionsproc_u_1, arena)
    ROUND_TRIP(mixed, unionsproc_mixed_1, arena)
    ROUND_TRIP(dflt, unionsproc_dflt_1, arena)
    ROUND_TRIP(voids, unionsproc_voids_1, arena)
    ROUND_TRIP(ptrs, unionsproc_ptrs_1, arena)
    ROUND_TRIP(outer, unionsproc_outer_1, arena)
    ROUND_TRIP(tree, unionsproc_tree_1, arena)
    ROUND_TRIP(bag, unionsproc_bag_1, arena)
}

/* calc.x's and tally.x's results in heap mode, released as a user would:
 * T_free for a type of the .x, free() for a string. */
static void heap_mode_calls(far_client *c)
{
    operand o2 = {5, NULL}, o1 = {4, &o2};
    request rq = {ADD, &o1, "sum"};
    reply rp;
    memset(&rp, 0, sizeof rp);
    CHECK(calcproc_eval_1(c, &rq, &rp, NULL, NULL) == FAR_OK && rp.status == 0 &&
          rp.reply_u.result == 9);
    reply_free(&rp); /* an arm that owns nothing */
    rq.what = NEG;
    rq.args = NULL;
    CHECK(calcproc_eval_1(c, &rq, &rp, NULL, NULL) == FAR_OK && rp.status == 2 && rp.reply_u.why &&
          strcmp(rp.reply_u.why, "NEG needs an operand") == 0);
    reply_free(&rp); /* an arm that owns a string */

    char *in = "heap", *out = NULL;
    CHECK(calcproc_echo_1(c, &in, &out, NULL, NULL) == FAR_OK && out && strcmp(out, "heap!") == 0);
    free(out);
    int32_t sum = 0;
    CHECK(calcproc_add2_1(c, 2, 3, &sum, NULL, NULL) == FAR_OK && sum == 5);
    uint64_t n = 0;
    CHECK(calcproc_count_2(c, &n, NULL, NULL) == FAR_OK && n == 2000);
    tally_item item = {"figs", 1};
    int32_t total = 0;
    CHECK(tallyproc_add_1(c, &item, &total, NULL, NULL) == FAR_OK && total == 5);
    char *label = NULL;
    CHECK(tallyproc_label_1(c, 3, "plums", &label, NULL, NULL) == FAR_OK && label &&
          strcmp(label, "plums #3") == 0);
    free(label);
}

/* The server's log, for the line naming far_server_opts.max_list. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_seen[4096];

static void on_log(void *ctx, far_log_level level, const char *line)
{
    (void)ctx, (void)level;
    pthread_mutex_lock(&log_mu);
    size_t n = strlen(log_seen);
    snprintf(log_seen + n, sizeof log_seen - n, "%s\n", line);
    pthread_mutex_unlock(&log_mu);
}

/* A generated list as long as the server's max_list (LIST_MAX) goes
 * through; one element more is refused by the generated decoder as a limit
 * of the server's (GARBAGE_ARGS to the client), and the server's log names
 * far_server_opts.max_list, not bad data. */
#define LIST_MAX 64
static void list_limit(far_client *c)
{
    operand ops[LIST_MAX + 1];
    for (int i = 0; i <= LIST_MAX; i++)
        ops[i] = (operand){1, i < LIST_MAX ? &ops[i + 1] : NULL};
    ops[LIST_MAX - 1].next = NULL; /* LIST_MAX elements */
    request rq = {ADD, &ops[0], "list"};
    reply rp;
    memset(&rp, 0, sizeof rp);
    CHECK(calcproc_eval_1(c, &rq, &rp, NULL, NULL) == FAR_OK && rp.status == 0 &&
          rp.reply_u.result == LIST_MAX);
    reply_free(&rp);

    far_set_log(on_log, NULL, FAR_LOG_WARN);
    ops[LIST_MAX - 1].next = &ops[LIST_MAX]; /* one more */
    CHECK(calcproc_eval_1(c, &rq, &rp, NULL, NULL) == FAR_EGARBAGE_ARGS);
    far_set_log(NULL, NULL, FAR_LOG_WARN);
    pthread_mutex_lock(&log_mu);
    bool named = strstr(log_seen, "far_server_opts.max_list") != NULL;
    pthread_mutex_unlock(&log_mu);
    if (!named)
        fprintf(stderr, "server log: %s\n", log_seen);
    CHECK(named);
}

/* One async call's completion. */
typedef struct done {
    bool done;
    far_err err;
    char msg[256];
} done;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void on_reply(const far_status *st, void *res, void *user)
{
    (void)res;
    done *d = user;
    pthread_mutex_lock(&mu);
    d->err = st->err;
    snprintf(d->msg, sizeof d->msg, "%.255s", st->msg);
    d->done = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits (10 s at most) for an async call's callback; false if it never came. */
static bool await(done *d)
{
    struct timespec until = after_ms(10000);
    pthread_mutex_lock(&mu);
    while (!d->done)
        if (pthread_cond_timedwait(&cv, &mu, &until) == ETIMEDOUT)
            break;
    bool ok = d->done;
    pthread_mutex_unlock(&mu);
    return ok;
}

/* "prog P vers V proc N", as a far_status message names a call. */
static bool names_call(const char *msg, uint32_t prog, uint32_t vers, uint32_t proc)
{
    char want[96];
    snprintf(want, sizeof want, "prog %u vers %u proc %u", (unsigned)prog, (unsigned)vers,
             (unsigned)proc);
    return strstr(msg, want) != NULL;
}

/* The calls that need no handler, and the deadlines of those that do, while
 * the server's one handler is held at the gate. */
static void while_held(far_client *c)
{
    done first = {0};
    CHECK(calcproc_wait_1_async(c, NULL, on_reply, &first) == FAR_OK);
    struct timespec until = after_ms(10000);
    pthread_mutex_lock(&gate_mu);
    while (waits_entered == 0)
        if (pthread_cond_timedwait(&gate_cv, &gate_mu, &until) == ETIMEDOUT)
            break;
    bool held = waits_entered > 0;
    pthread_mutex_unlock(&gate_mu);
    CHECK(held);

    /* answered by the server itself, well within a deadline that would
     * expire (twice) before the gate's 10 s if they waited for the handler */
    far_status st;
    far_call_opts opts = {.timeout_ms = 3000, .status = &st};
    int32_t x = 1;
    st.err = FAR_EIO;
    CHECK(calcproc_missing_1(c, &x, &opts) == FAR_EPROC_UNAVAIL);
    CHECK(st.err == FAR_EPROC_UNAVAIL);
    CHECK(names_call(st.msg, CALC_PROG, CALC_V1, CALCPROC_MISSING));
    st.err = FAR_EIO;
    CHECK(calcproc_null_1(c, &opts) == FAR_OK);
    CHECK(st.err == FAR_OK && names_call(st.msg, CALC_PROG, CALC_V1, CALCPROC_NULL));

    /* needs the handler: the stubs' short deadlines expire */
    opts.timeout_ms = 100;
    st.err = FAR_OK;
    CHECK(calcproc_wait_1(c, &opts) == FAR_ETIMEDOUT);
    CHECK(st.err == FAR_ETIMEDOUT && names_call(st.msg, CALC_PROG, CALC_V1, CALCPROC_WAIT));
    done late = {0};
    far_call_opts aopts = {.timeout_ms = 100};
    CHECK(calcproc_wait_1_async(c, &aopts, on_reply, &late) == FAR_OK);
    CHECK(await(&late) && late.err == FAR_ETIMEDOUT);
    CHECK(names_call(late.msg, CALC_PROG, CALC_V1, CALCPROC_WAIT));

    pthread_mutex_lock(&gate_mu);
    gate_open = true;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    CHECK(await(&first) && first.err == FAR_OK);
}

int main(void)
{
    far_server *srv;
    far_server_opts so = {.workers = 1, .max_workers = 1, .max_list = LIST_MAX};
    char addr[128];
    if (far_server_create(&srv, &so) != FAR_OK ||
        far_server_add_program(srv, calc_prog_1_program(), &v1) != FAR_OK ||
        far_server_add_program(srv, calc_prog_2_program(), &v2) != FAR_OK ||
        far_server_add_program(srv, tally_prog_1_program(), &tally) != FAR_OK ||
        far_server_add_program(srv, unions_prog_1_program(), &unions) != FAR_OK ||
        far_server_listen(srv, "tcp://127.0.0.1:0", addr, sizeof addr) != FAR_OK ||
        far_server_start(srv) != FAR_OK) {
        fprintf(stderr, "server: %s\n", far_last_error());
        return 1;
    }
    far_client *c;
    if (far_client_open(&c, addr, NULL) != FAR_OK) {
        fprintf(stderr, "client: %s\n", far_last_error());
        return 1;
    }
    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);

    CHECK(calcproc_null_1(c, NULL) == FAR_OK); /* not implemented: the null procedure answers */

    operand o3 = {3, NULL}, o2 = {2, &o3}, o1 = {7, &o2};
    request rq = {MUL, &o1, "product"};
    reply rp;
    CHECK(calcproc_eval_1(c, &rq, &rp, &arena, NULL) == FAR_OK);
    CHECK(rp.status == 0 && rp.reply_u.result == 42);
    rq.what = NEG;
    rq.args = NULL;
    CHECK(calcproc_eval_1(c, &rq, &rp, NULL, NULL) == FAR_OK); /* heap mode */
    CHECK(rp.status == 2 && strcmp(rp.reply_u.why, "NEG needs an operand") == 0);
    reply_free(&rp);

    /* opts reach the call: its status says how it went and names it */
    far_status st;
    memset(&st, 0, sizeof st);
    st.err = FAR_EIO;
    const far_call_opts opts = {.timeout_ms = 5000, .status = &st};
    int32_t sum = 0;
    CHECK(calcproc_add2_1(c, 40, 2, &sum, &arena, &opts) == FAR_OK && sum == 42);
    CHECK(st.err == FAR_OK);
    CHECK(names_call(st.msg, CALC_PROG, CALC_V1, CALCPROC_ADD2));

    char *in = "hello", *out = NULL;
    CHECK(calcproc_echo_1(c, &in, &out, &arena, NULL) == FAR_OK && out &&
          strcmp(out, "hello!") == 0);

    CHECK(calcproc_missing_1(c, &sum, &opts) == FAR_EPROC_UNAVAIL);
    CHECK(st.err == FAR_EPROC_UNAVAIL && names_call(st.msg, CALC_PROG, CALC_V1, CALCPROC_MISSING));

    uint64_t n = 0;
    CHECK(calcproc_count_2(c, &n, &arena, NULL) == FAR_OK && n == 2000);

    /* a label over CALC_MAX: the client refuses to encode it */
    rq.label = "a label longer than sixteen bytes";
    CHECK(calcproc_eval_1(c, &rq, &rp, &arena, NULL) != FAR_OK);
    rq.label = "ok";

    int32_t asum = 0;
    done d = {0};
    CHECK(calcproc_add2_1_async(c, 1, 2, &asum, &arena, NULL, on_reply, &d) == FAR_OK);
    CHECK(await(&d) && d.err == FAR_OK && asum == 3);

    /* the second .x file's stubs, on the same client */
    tally_item item = {"apples", 3};
    int32_t total = 0;
    CHECK(tallyproc_add_1(c, &item, &total, &arena, NULL) == FAR_OK && total == 9);
    char *label = NULL;
    CHECK(tallyproc_label_1(c, 7, "pears", &label, &arena, NULL) == FAR_OK && label &&
          strcmp(label, "pears #7") == 0);

    heap_mode_calls(c);
    list_limit(c);
    union_round_trips(c, &arena);

    while_held(c);

    far_arena_fini(&arena);
    far_client_destroy(c);
    far_server_stop(srv);
    far_server_destroy(srv);
    if (failures)
        return 1;
    printf("loopback: all calls ok\n");
    return 0;
}
