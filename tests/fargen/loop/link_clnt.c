/* The client side of calc.x and tally.x alone (foo.h, foo_xdr.c,
 * foo_clnt.c; no foo_svc.c), linked with the shared library: the stubs'
 * adapters come from foo_xdr.c and, for int and string, from the library.
 * The server is described by hand, with the same adapters. */
#include <stdio.h>
#include <string.h>

#include "calc.h"
#include "tally.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static far_err add2(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)impl;
    (void)req;
    const calcproc_add2_1_argument *a = args;
    *(int32_t *)res = a->arg1 + a->arg2;
    return FAR_OK;
}

static far_err echo(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)impl;
    (void)req;
    *(char **)res = *(char *const *)args; /* the argument outlives the reply */
    return FAR_OK;
}

static far_err tally_add(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)impl;
    (void)req;
    const tally_item *it = args;
    *(int32_t *)res = it->count + (int32_t)strlen(it->name);
    return FAR_OK;
}

static far_err tally_label(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)impl;
    const tallyproc_label_1_argument *a = args;
    char *s = far_arena_alloc(far_svc_req_arena(req), strlen(a->arg2) + 16);
    if (!s)
        return FAR_ESYSTEM_ERR;
    sprintf(s, "%s #%d", a->arg2, (int)a->arg1);
    *(char **)res = s;
    return FAR_OK;
}

static const far_proc_desc calc_procs[] = {
    {.proc = CALCPROC_ADD2,
     .name = "CALCPROC_ADD2",
     .decode_args = calcproc_add2_1_argument_decode_any,
     .encode_res = far_xdr_int32_encode_any,
     .args_size = sizeof(calcproc_add2_1_argument),
     .res_size = sizeof(int32_t),
     .invoke = add2},
    {.proc = CALCPROC_ECHO,
     .name = "CALCPROC_ECHO",
     .decode_args = far_xdr_string_decode_any,
     .encode_res = far_xdr_string_encode_any,
     .args_size = sizeof(char *),
     .res_size = sizeof(char *),
     .invoke = echo},
};
static const far_program_desc calc_desc = {FAR_DESC_SIZES,      .prog = CALC_PROG,
                                           .vers = CALC_V1,     .name = "CALC_PROG",
                                           .procs = calc_procs, .nprocs = 2};

static const far_proc_desc tally_procs[] = {
    {.proc = TALLYPROC_ADD,
     .name = "TALLYPROC_ADD",
     .decode_args = tally_item_decode_any,
     .encode_res = far_xdr_int32_encode_any,
     .args_size = sizeof(tally_item),
     .res_size = sizeof(int32_t),
     .invoke = tally_add},
    {.proc = TALLYPROC_LABEL,
     .name = "TALLYPROC_LABEL",
     .decode_args = tallyproc_label_1_argument_decode_any,
     .encode_res = far_xdr_string_encode_any,
     .args_size = sizeof(tallyproc_label_1_argument),
     .res_size = sizeof(char *),
     .invoke = tally_label},
};
static const far_program_desc tally_desc = {FAR_DESC_SIZES,       .prog = TALLY_PROG,
                                            .vers = TALLY_V1,     .name = "TALLY_PROG",
                                            .procs = tally_procs, .nprocs = 2};

int main(void)
{
    far_server *srv;
    char addr[128];
    if (far_server_create(&srv, NULL) != FAR_OK ||
        far_server_add_program(srv, &calc_desc, NULL) != FAR_OK ||
        far_server_add_program(srv, &tally_desc, NULL) != FAR_OK ||
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

    int32_t sum = 0;
    CHECK(calcproc_add2_1(c, 40, 2, &sum, &arena, NULL) == FAR_OK && sum == 42);
    char *in = "hello", *out = NULL;
    CHECK(calcproc_echo_1(c, &in, &out, &arena, NULL) == FAR_OK && out &&
          strcmp(out, "hello") == 0);
    CHECK(calcproc_null_1(c, NULL) == FAR_OK); /* not in the table: the server answers */
    CHECK(calcproc_missing_1(c, &sum, NULL) == FAR_EPROC_UNAVAIL);

    tally_item item = {"apples", 3};
    int32_t total = 0;
    CHECK(tallyproc_add_1(c, &item, &total, &arena, NULL) == FAR_OK && total == 9);
    char *label = NULL;
    CHECK(tallyproc_label_1(c, 7, "pears", &label, &arena, NULL) == FAR_OK && label &&
          strcmp(label, "pears #7") == 0);

    far_arena_fini(&arena);
    far_client_destroy(c);
    far_server_destroy(srv);
    if (failures)
        return 1;
    printf("link_clnt: ok\n");
    return 0;
}
