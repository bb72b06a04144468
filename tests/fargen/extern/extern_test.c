/* External types (issue 14, item 3): key_prot.x, the system's, uses
 * des_block, which no .x defines; fargen --extern des_block=des_block.h
 * generates code that calls the user's des_block_encode/_decode/_free
 * (des_block.c).  point.x declares its external types in a comment
 * (point_type.h/.c, and des_block again).  This program checks that
 *   - fargen's code with the user's codec puts rpcgen + libtirpc's bytes on
 *     the wire for key_prot.x's cryptkeyarg, and each side decodes the
 *     other's (extern_rg.c is the rpcgen side);
 *   - a value holding external types decodes in heap mode and into an
 *     arena, and T_free releases it, the external parts through the user's
 *     free function (ASan: nothing leaks, nothing is freed twice);
 *   - external types as a procedure's argument and result go through the
 *     generated stubs and dispatch tables over loopback TCP, for two .x
 *     files (key_prot.x and point.x) in one program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern_test.h"
#include "key_prot.h"
#include "point.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static const uint8_t key[8] = {1, 2, 3, 4, 0xfd, 0xfe, 0xff, 0};

static void bytes_as_rpcgen(void)
{
    uint8_t fb[256], rb[256];
    size_t fl, rl;
    cryptkeyarg a;
    memset(&a, 0, sizeof a);
    a.remotename = "unix.1000@example";
    memcpy(a.deskey.c, key, 8);
    far_xdr_enc e;
    far_xdr_enc_init(&e, fb, sizeof fb);
    CHECK(cryptkeyarg_encode(&e, &a));
    fl = far_xdr_enc_len(&e);
    CHECK(rg_encode_cryptkeyarg(a.remotename, key, rb, sizeof rb, &rl));
    CHECK(fl == rl && memcmp(fb, rb, fl) == 0);
    char name[64];
    uint8_t back[8];
    CHECK(rg_decode_cryptkeyarg(fb, fl, name, sizeof name, back));
    CHECK(strcmp(name, a.remotename) == 0 && memcmp(back, key, 8) == 0);

    /* rpcgen's cryptkeyres, decoded by fargen in heap mode and into an arena */
    CHECK(rg_encode_cryptkeyres(key, rb, sizeof rb, &rl));
    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);
    for (int heap = 0; heap < 2; heap++) {
        cryptkeyres r;
        far_xdr_dec d;
        far_xdr_dec_init(&d, rb, rl, heap ? NULL : &arena, 0);
        CHECK(cryptkeyres_decode(&d, &r) && far_xdr_dec_done(&d));
        CHECK(r.status == KEY_SUCCESS && memcmp(r.cryptkeyres_u.deskey.c, key, 8) == 0);
        if (heap)
            cryptkeyres_free(&r);
    }
    /* heap mode, truncated: fails, and cryptkeyarg_free takes what is left */
    for (size_t cut = 0; cut < fl; cut += 4) {
        cryptkeyarg t;
        far_xdr_dec d;
        far_xdr_dec_init(&d, fb, cut, NULL, 0);
        CHECK(!cryptkeyarg_decode(&d, &t));
        cryptkeyarg_free(&t);
    }
    far_arena_fini(&arena);
}

/* ---------------------------------------------------- the two servers */

static far_err key_gen(far_svc_req *req, des_block *resp)
{
    (void)req;
    memcpy(resp->c, key, 8);
    return FAR_OK;
}

static far_err key_encrypt(far_svc_req *req, const struct cryptkeyarg *argp,
                           struct cryptkeyres *resp)
{
    (void)req;
    resp->status = KEY_SUCCESS;
    for (int i = 0; i < 8; i++)
        resp->cryptkeyres_u.deskey.c[i] = (char)(argp->deskey.c[i] ^ 0x5a);
    return FAR_OK;
}

static char *arena_str(far_svc_req *req, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = far_arena_alloc(far_svc_req_arena(req), n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static far_err point_mid(far_svc_req *req, const struct segment *argp, point *resp)
{
    resp->x = (argp->from.x + argp->to.x) / 2;
    resp->y = (argp->from.y + argp->to.y) / 2;
    resp->label = arena_str(req, argp->name);
    return resp->label ? FAR_OK : FAR_ESYSTEM_ERR;
}

static far_err point_flip(far_svc_req *req, const struct segment *argp, struct segment *resp)
{
    (void)req;
    *resp = *argp; /* pointers into the arguments: they live as long as the call */
    resp->from = argp->to;
    resp->to = argp->from;
    return FAR_OK;
}

static far_err point_path(far_svc_req *req, const point *argp, path *resp)
{
    point *p = far_arena_alloc(far_svc_req_arena(req), 3 * sizeof *p);
    if (!p)
        return FAR_ESYSTEM_ERR;
    for (int i = 0; i < 3; i++) {
        p[i] = *argp;
        p[i].x += i;
    }
    resp->path_len = 3;
    resp->path_val = p;
    return FAR_OK;
}

static far_err point_seal(far_svc_req *req, const point *argp, des_block *resp)
{
    (void)req;
    for (int i = 0; i < 8; i++)
        resp->c[i] = (char)(argp->x + i);
    return FAR_OK;
}

static const key_prog_1_impl key_v1 = {.key_gen = key_gen, .key_encrypt = key_encrypt};
static const point_prog_1_impl point_v1 = {.point_mid = point_mid,
                                           .point_flip = point_flip,
                                           .point_path = point_path,
                                           .point_seal = point_seal};

/* ---------------------------------------------------- calls, both modes */

static void calls(far_client *c, far_arena *arena)
{
    char from_l[] = "a", to_l[] = "b", mid_l[] = "m", name[] = "seg";
    point mid = {5, 6, mid_l};
    segment s = {{0, 0, from_l}, {10, 20, to_l}, name, &mid};
    for (int heap = 0; heap < 2; heap++) {
        far_arena *a = heap ? NULL : arena;
        des_block k;
        memset(&k, 0, sizeof k);
        CHECK(key_gen_1(c, &k, a, NULL) == FAR_OK && memcmp(k.c, key, 8) == 0);
        des_block_free(&k);

        cryptkeyarg arg = {"someone", k};
        cryptkeyres res;
        memset(&res, 0, sizeof res);
        CHECK(key_encrypt_1(c, &arg, &res, a, NULL) == FAR_OK && res.status == KEY_SUCCESS &&
              (uint8_t)res.cryptkeyres_u.deskey.c[0] == (key[0] ^ 0x5a));
        if (heap)
            cryptkeyres_free(&res);

        point p;
        memset(&p, 0, sizeof p);
        CHECK(point_mid_1(c, &s, &p, a, NULL) == FAR_OK && p.x == 5 && p.y == 10 && p.label &&
              strcmp(p.label, "seg") == 0);
        if (heap)
            point_free(&p); /* the user's free: the label */

        segment f;
        memset(&f, 0, sizeof f);
        CHECK(point_flip_1(c, &s, &f, a, NULL) == FAR_OK && f.from.x == 10 && f.to.y == 0 &&
              f.from.label && strcmp(f.from.label, "b") == 0 && f.mid && f.mid->x == 5 &&
              f.mid->label && strcmp(f.mid->label, "m") == 0);
        if (heap)
            segment_free(&f); /* calls point_free for from, to and *mid */

        path pa;
        memset(&pa, 0, sizeof pa);
        CHECK(point_path_1(c, &mid, &pa, a, NULL) == FAR_OK && pa.path_len == 3 && pa.path_val &&
              pa.path_val[2].x == 7 && pa.path_val[2].label &&
              strcmp(pa.path_val[2].label, "m") == 0);
        if (heap)
            path_free(&pa);

        des_block sealed;
        CHECK(point_seal_1(c, &mid, &sealed, a, NULL) == FAR_OK && sealed.c[7] == 12);
        if (!heap)
            far_arena_reset(arena);
    }
}

int main(void)
{
    bytes_as_rpcgen();

    far_server *srv;
    char addr[128];
    if (far_server_create(&srv, NULL) != FAR_OK ||
        far_server_add_program(srv, key_prog_1_program(), &key_v1) != FAR_OK ||
        far_server_add_program(srv, point_prog_1_program(), &point_v1) != FAR_OK ||
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
    calls(c, &arena);
    far_arena_fini(&arena);
    far_client_destroy(c);
    far_server_stop(srv);
    far_server_destroy(srv);
    if (failures)
        return 1;
    printf("extern: all checks ok\n");
    return 0;
}
