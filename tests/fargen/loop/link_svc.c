/* The server side of calc.x and tally.x alone (foo.h, foo_xdr.c,
 * foo_svc.c; no foo_clnt.c), linked with the shared library.  The client
 * calls far_client_call with the adapters of foo_xdr.c and the library's;
 * the generated PROG_V_implemented functions say which procedures the
 * implementation structs have. */
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

static far_err add2(far_svc_req *req, int32_t arg1, int32_t arg2, int32_t *resp)
{
    (void)req;
    *resp = arg1 + arg2;
    return FAR_OK;
}

static far_err tally_add(far_svc_req *req, const struct tally_item *argp, int32_t *resp)
{
    (void)req;
    *resp = argp->count + (int32_t)strlen(argp->name);
    return FAR_OK;
}

static const calc_prog_1_impl calc = {.calcproc_add2 = add2};
static const tally_prog_1_impl tally = {.tallyproc_add = tally_add};

int main(void)
{
    const far_program_desc *cd = calc_prog_1_program(), *td = tally_prog_1_program();
    CHECK(cd->implemented && td->implemented);
    if (failures)
        return 1;
    CHECK(cd->implemented(&calc, CALCPROC_ADD2));
    CHECK(!cd->implemented(&calc, CALCPROC_NULL));
    CHECK(!cd->implemented(&calc, CALCPROC_EVAL));
    CHECK(!cd->implemented(&calc, 99)); /* not a procedure of the version */
    CHECK(td->implemented(&tally, TALLYPROC_ADD));
    CHECK(!td->implemented(&tally, TALLYPROC_LABEL));

    far_server *srv;
    char addr[128];
    if (far_server_create(&srv, NULL) != FAR_OK ||
        far_server_add_program(srv, cd, &calc) != FAR_OK ||
        far_server_add_program(srv, td, &tally) != FAR_OK ||
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

    calcproc_add2_1_argument a = {40, 2};
    int32_t sum = 0;
    CHECK(far_client_call(c, CALC_PROG, CALC_V1, CALCPROC_ADD2, calcproc_add2_1_argument_encode_any,
                          &a, far_xdr_int32_decode_any, &sum, NULL, NULL) == FAR_OK &&
          sum == 42);
    CHECK(far_client_call(c, CALC_PROG, CALC_V1, CALCPROC_NULL, NULL, NULL, NULL, NULL, NULL,
                          NULL) == FAR_OK);
    char *in = "hello", *out = NULL;
    CHECK(far_client_call(c, CALC_PROG, CALC_V1, CALCPROC_ECHO, far_xdr_string_encode_any, &in,
                          far_xdr_string_decode_any, &out, NULL, NULL) == FAR_EPROC_UNAVAIL);

    tally_item item = {"apples", 3};
    int32_t total = 0;
    CHECK(far_client_call(c, TALLY_PROG, TALLY_V1, TALLYPROC_ADD, tally_item_encode_any, &item,
                          far_xdr_int32_decode_any, &total, NULL, NULL) == FAR_OK &&
          total == 9);
    tallyproc_label_1_argument la = {7, "pears"};
    char *label = NULL;
    CHECK(far_client_call(c, TALLY_PROG, TALLY_V1, TALLYPROC_LABEL,
                          tallyproc_label_1_argument_encode_any, &la, far_xdr_string_decode_any,
                          &label, NULL, NULL) == FAR_EPROC_UNAVAIL);

    far_client_destroy(c);
    far_server_destroy(srv);
    if (failures)
        return 1;
    printf("link_svc: ok\n");
    return 0;
}
