/* A fargen-generated client calls a fargen-generated server over loopback
 * TCP: sync and async stubs, lists, unions, strings, several arguments, two
 * versions, an unimplemented procedure and the implicit null procedure. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calc.h"

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

static far_err count(far_svc_req *req, uint64_t *resp)
{
    *resp = far_svc_req_vers(req) * 1000u;
    return FAR_OK;
}

static const calc_prog_1_impl v1 = {
    .calcproc_eval = eval,
    .calcproc_add2 = add2,
    .calcproc_echo = echo,
};
static const calc_prog_2_impl v2 = {.calcproc_count = count};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int async_done;
static far_err async_err;

static void on_reply(const far_status *st, void *res, void *user)
{
    (void)res;
    (void)user;
    pthread_mutex_lock(&mu);
    async_err = st->err;
    async_done++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

int main(void)
{
    far_server *srv;
    char addr[128];
    if (far_server_create(&srv, NULL) != FAR_OK ||
        far_server_add_program(srv, calc_prog_1_program(), &v1) != FAR_OK ||
        far_server_add_program(srv, calc_prog_2_program(), &v2) != FAR_OK ||
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

    CHECK(calcproc_null_1(c) == FAR_OK); /* not implemented: the null procedure answers */

    operand o3 = {3, NULL}, o2 = {2, &o3}, o1 = {7, &o2};
    request rq = {MUL, &o1, "product"};
    reply rp;
    CHECK(calcproc_eval_1(c, &rq, &rp, &arena) == FAR_OK);
    CHECK(rp.status == 0 && rp.reply_u.result == 42);
    rq.what = NEG;
    rq.args = NULL;
    CHECK(calcproc_eval_1(c, &rq, &rp, NULL) == FAR_OK); /* heap mode */
    CHECK(rp.status == 2 && strcmp(rp.reply_u.why, "NEG needs an operand") == 0);
    reply_free(&rp);

    int32_t sum = 0;
    CHECK(calcproc_add2_1(c, 40, 2, &sum, &arena) == FAR_OK && sum == 42);

    char *in = "hello", *out = NULL;
    CHECK(calcproc_echo_1(c, &in, &out, &arena) == FAR_OK && out && strcmp(out, "hello!") == 0);

    CHECK(calcproc_missing_1(c, &sum) == FAR_EPROC_UNAVAIL);

    uint64_t n = 0;
    CHECK(calcproc_count_2(c, &n, &arena) == FAR_OK && n == 2000);

    /* a label over CALC_MAX: the client refuses to encode it */
    rq.label = "a label longer than sixteen bytes";
    CHECK(calcproc_eval_1(c, &rq, &rp, &arena) != FAR_OK);
    rq.label = "ok";

    int32_t asum = 0;
    CHECK(calcproc_add2_1_async(c, 1, 2, &asum, &arena, on_reply, NULL) == FAR_OK);
    pthread_mutex_lock(&mu);
    while (!async_done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    CHECK(async_done == 1 && async_err == FAR_OK && asum == 3);

    far_arena_fini(&arena);
    far_client_destroy(c);
    far_server_stop(srv);
    far_server_destroy(srv);
    if (failures)
        return 1;
    printf("loopback: all calls ok\n");
    return 0;
}
