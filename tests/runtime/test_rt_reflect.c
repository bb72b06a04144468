/* The reflection program FAR_REFLECT (src/svc/reflect.c) as a client of it
 * sees it: LIST names every program version but itself, DESCRIBE hands out
 * the description bytes as compiled (NOENT, NODESC otherwise), SOURCE the .x
 * text; far_server_opts.no_reflect turns it off (PROG_UNAVAIL); a user's
 * program at its number wins; its calls are answered while every handler is
 * busy; and many threads call it at once beside ordinary calls (the TSan run
 * has this test: label runtime).  Unix sockets in /tmp only; every wait is
 * bounded. */
#include "rt_common.h"

#include <stdatomic.h>

#include "far_reflect.h"

/* A third version of the test program, with a description (built here the
 * way fargen embeds one: a far_desc, XDR-encoded) and its source. */
static const far_proc_desc tprocs_v3[] = {
    {P_NULL, "NULL", NULL, NULL, 0, 0, NULL},
    {P_ADD, "ADD", add_dec, u32_enc, sizeof(add_args), sizeof(int32_t), h_add},
};
static const char v3_source[] = "struct add_args { int a; int b; };\n"
                                "program TPROG { version TPROG_V3 {\n"
                                "  void NULL(void) = 0;\n  int ADD(add_args) = 2;\n} = 3; } = "
                                "0x20000101;\n";

static uint8_t v3_desc[512];
static size_t v3_desc_len;

static void build_desc(void)
{
    far_tmember members[] = {{"a", 0}, {"b", 0}};
    far_type types[3] = {0};
    types[0] = (far_type){"", {.kind = FAR_T_INT}};
    types[1] = (far_type){"", {.kind = FAR_T_VOID}};
    types[2].name = "add_args";
    types[2].body.kind = FAR_T_STRUCT;
    types[2].body.far_tbody_u.members.members_len = 2;
    types[2].body.far_tbody_u.members.members_val = members;
    far_tref add_args_ref[] = {2};
    far_tproc procs[] = {{"NULL", 0, {0, NULL}, 1}, {"ADD", 2, {1, add_args_ref}, 0}};
    far_desc d = {.prog = TPROG, .vers = 3, .prog_name = "TPROG", .vers_name = "TPROG_V3"};
    d.types.types_len = 3;
    d.types.types_val = types;
    d.procs.procs_len = 2;
    d.procs.procs_val = procs;
    far_xdr_enc e;
    far_xdr_enc_init(&e, v3_desc, sizeof v3_desc);
    assert_true(far_desc_encode(&e, &d));
    v3_desc_len = far_xdr_enc_len(&e);
}

static far_program_desc tprog_v3(void)
{
    return (far_program_desc){FAR_DESC_SIZES,
                              .prog = TPROG,
                              .vers = 3,
                              .name = "TPROG",
                              .procs = tprocs_v3,
                              .nprocs = FAR__TEST_N(tprocs_v3),
                              .type_desc = v3_desc,
                              .type_desc_len = v3_desc_len,
                              .source = v3_source};
}

typedef struct rserver {
    far_server *s;
    tstate st;
    char addr[160], bound[160];
} rserver;

static void rserver_start(rserver *t, const far_server_opts *o)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->st.mu, NULL);
    tmp_unix(t->addr, sizeof t->addr, "reflect.sock");
    assert_int_equal(far_server_create(&t->s, o), FAR_OK);
    t->st.self = t->s;
    far_program_desc v3 = tprog_v3();
    assert_int_equal(far_server_add_program(t->s, &tprog_v1, &t->st), FAR_OK);
    assert_int_equal(far_server_add_program(t->s, &tprog_v2, &t->st), FAR_OK);
    assert_int_equal(far_server_add_program(t->s, &v3, &t->st), FAR_OK);
    assert_int_equal(far_server_listen(t->s, t->addr, t->bound, sizeof t->bound), FAR_OK);
    assert_int_equal(far_server_start(t->s), FAR_OK);
}

static void rserver_stop(rserver *t)
{
    far_server_destroy(t->s);
    pthread_mutex_destroy(&t->st.mu);
    tmp_unix_cleanup(t->addr);
}

/* ------------------------------------------------------------ LIST */

static void test_list(void **state)
{
    (void)state;
    rserver t;
    rserver_start(&t, NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.addr, NULL), FAR_OK);
    far_reflect_list l = {0};
    assert_int_equal(far_reflect_list_1(c, &l, NULL, NULL), FAR_OK);
    assert_int_equal(l.far_reflect_list_len, 3); /* not FAR_REFLECT itself */
    for (uint32_t i = 0; i < l.far_reflect_list_len; i++) {
        const far_reflect_entry *x = &l.far_reflect_list_val[i];
        assert_int_equal(x->prog, TPROG);
        assert_int_equal(x->vers, i + 1);
        assert_string_equal(x->prog_name, "TPROG");
        /* the version's name comes from its description */
        assert_string_equal(x->vers_name, x->vers == 3 ? "TPROG_V3" : "");
        assert_int_equal(x->has_desc, x->vers == 3);
    }
    far_reflect_list_free(&l);
    /* the null procedure, answered by the runtime */
    assert_int_equal(far_reflect_null_1(c, NULL), FAR_OK);
    far_client_destroy(c);
    rserver_stop(&t);
}

/* ------------------------------------------------------------ DESCRIBE, SOURCE */

/* DESCRIBE's reply, raw: the discriminant, then the bytes as compiled. */
typedef struct raw_res {
    uint32_t stat;
    uint8_t bytes[1024];
    size_t len;
} raw_res;

static bool raw_dec(far_xdr_dec *d, void *v)
{
    raw_res *r = v;
    if (!far_xdr_get_u32(d, &r->stat))
        return false;
    r->len = far_xdr_dec_left(d);
    if (r->len > sizeof r->bytes)
        return false;
    const uint8_t *p = far_xdr_take(d, r->len);
    if (r->len)
        memcpy(r->bytes, p, r->len);
    return true;
}

static void test_describe_source(void **state)
{
    (void)state;
    rserver t;
    rserver_start(&t, NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.addr, NULL), FAR_OK);

    far_reflect_which w = {TPROG, 3};
    raw_res raw;
    assert_int_equal(far_client_call(c, FAR_REFLECT_PROG, FAR_REFLECT_V1, FAR_REFLECT_DESCRIBE,
                                     far_reflect_which_encode_any, &w, raw_dec, &raw, NULL, NULL),
                     FAR_OK);
    assert_int_equal(raw.stat, FAR_REFLECT_OK);
    assert_int_equal(raw.len, v3_desc_len);
    assert_memory_equal(raw.bytes, v3_desc, v3_desc_len);

    /* ... which the generated decoder reads as a far_desc */
    far_reflect_desc_res dr = {0};
    assert_int_equal(far_reflect_describe_1(c, &w, &dr, NULL, NULL), FAR_OK);
    assert_int_equal(dr.stat, FAR_REFLECT_OK);
    const far_desc *d = &dr.far_reflect_desc_res_u.desc;
    assert_int_equal(d->prog, TPROG);
    assert_int_equal(d->vers, 3);
    assert_string_equal(d->vers_name, "TPROG_V3");
    assert_int_equal(d->types.types_len, 3);
    assert_string_equal(d->types.types_val[2].name, "add_args");
    assert_int_equal(d->procs.procs_len, 2);
    assert_string_equal(d->procs.procs_val[1].name, "ADD");
    far_reflect_desc_res_free(&dr);

    /* served with no description: NODESC; not served: NOENT */
    w.vers = 1;
    assert_int_equal(far_reflect_describe_1(c, &w, &dr, NULL, NULL), FAR_OK);
    assert_int_equal(dr.stat, FAR_REFLECT_NODESC);
    w = (far_reflect_which){TPROG, 9};
    assert_int_equal(far_reflect_describe_1(c, &w, &dr, NULL, NULL), FAR_OK);
    assert_int_equal(dr.stat, FAR_REFLECT_NOENT);
    w = (far_reflect_which){FAR_REFLECT_PROG, 1}; /* not one of the user's */
    assert_int_equal(far_reflect_describe_1(c, &w, &dr, NULL, NULL), FAR_OK);
    assert_int_equal(dr.stat, FAR_REFLECT_NOENT);

    far_reflect_source_res sr = {0};
    w = (far_reflect_which){TPROG, 3};
    assert_int_equal(far_reflect_source_1(c, &w, &sr, NULL, NULL), FAR_OK);
    assert_int_equal(sr.stat, FAR_REFLECT_OK);
    assert_string_equal(sr.far_reflect_source_res_u.text, v3_source);
    far_reflect_source_res_free(&sr);
    w.vers = 2;
    assert_int_equal(far_reflect_source_1(c, &w, &sr, NULL, NULL), FAR_OK);
    assert_int_equal(sr.stat, FAR_REFLECT_NODESC);
    w.vers = 7;
    assert_int_equal(far_reflect_source_1(c, &w, &sr, NULL, NULL), FAR_OK);
    assert_int_equal(sr.stat, FAR_REFLECT_NOENT);

    /* garbage arguments: GARBAGE_ARGS, and the connection goes on */
    uint32_t one = 1;
    assert_int_equal(far_client_call(c, FAR_REFLECT_PROG, 1, FAR_REFLECT_DESCRIBE, u32_enc, &one,
                                     NULL, NULL, NULL, NULL),
                     FAR_EGARBAGE_ARGS);
    assert_int_equal(far_client_call(c, FAR_REFLECT_PROG, 1, 9, NULL, NULL, NULL, NULL, NULL, NULL),
                     FAR_EPROC_UNAVAIL);
    far_status st;
    far_call_opts co = {.status = &st};
    assert_int_equal(far_client_call(c, FAR_REFLECT_PROG, 2, 0, NULL, NULL, NULL, NULL, NULL, &co),
                     FAR_EPROG_MISMATCH);
    assert_int_equal(st.low, 1);
    assert_int_equal(st.high, 1);
    assert_int_equal(far_reflect_null_1(c, NULL), FAR_OK);
    far_client_destroy(c);
    rserver_stop(&t);
}

/* ------------------------------------------------------------ turned off, taken over */

static void test_no_reflect(void **state)
{
    (void)state;
    far_server_opts o = {.no_reflect = true};
    rserver t;
    rserver_start(&t, &o);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.addr, NULL), FAR_OK);
    far_reflect_list l = {0};
    assert_int_equal(far_reflect_list_1(c, &l, NULL, NULL), FAR_EPROG_UNAVAIL);
    assert_int_equal(far_reflect_null_1(c, NULL), FAR_EPROG_UNAVAIL);
    add_args a = {2, 3};
    int32_t sum = 0;
    assert_int_equal(far_client_call(c, TPROG, 3, P_ADD, add_enc, &a, u32_dec, &sum, NULL, NULL),
                     FAR_OK);
    assert_int_equal(sum, 5);
    far_client_destroy(c);
    rserver_stop(&t);
}

static far_err h_mine(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r, (void)a;
    *(uint32_t *)res = 0x4d494e45; /* "MINE" */
    return FAR_OK;
}

/* A user's program at FAR_REFLECT's number (here version 2 only) replaces
 * the server's reflection: the user's is served, and none of the runtime's. */
static void test_user_program_wins(void **state)
{
    (void)state;
    static const far_proc_desc mine_procs[] = {
        {0, "NULL", NULL, NULL, 0, 0, NULL},
        {1, "LIST", NULL, u32_enc, 0, 4, h_mine},
    };
    far_program_desc mine = {FAR_DESC_SIZES, .prog = FAR_REFLECT_PROG, .vers = 2,
                             .name = "MINE", .procs = mine_procs,      .nprocs = 2};
    char addr[160];
    tmp_unix(addr, sizeof addr, "mine.sock");
    far_server *s;
    assert_int_equal(far_server_create(&s, NULL), FAR_OK);
    assert_int_equal(far_server_add_program(s, &tprog_v1, NULL), FAR_OK);
    assert_int_equal(far_server_add_program(s, &mine, NULL), FAR_OK);
    assert_int_equal(far_server_listen(s, addr, NULL, 0), FAR_OK);
    assert_int_equal(far_server_start(s), FAR_OK);
    far_client *c;
    assert_int_equal(far_client_open(&c, addr, NULL), FAR_OK);
    uint32_t v = 0;
    assert_int_equal(
        far_client_call(c, FAR_REFLECT_PROG, 2, 1, NULL, NULL, u32_dec, &v, NULL, NULL), FAR_OK);
    assert_int_equal(v, 0x4d494e45);
    far_reflect_list l = {0};
    assert_int_equal(far_reflect_list_1(c, &l, NULL, NULL), FAR_EPROG_MISMATCH);
    far_client_destroy(c);
    far_server_destroy(s);
    tmp_unix_cleanup(addr);
}

/* ------------------------------------------------------------ never behind handlers */

typedef struct sleeper {
    const char *addr;
    uint32_t ms;
    far_err rc;
} sleeper;

static void *sleep_call(void *arg)
{
    sleeper *z = arg;
    far_client *c;
    z->rc = far_client_open(&c, z->addr, NULL);
    if (z->rc != FAR_OK)
        return NULL;
    uint32_t out = 0;
    z->rc = far_client_call(c, TPROG, 1, P_SLEEP, u32_enc, &z->ms, u32_dec, &out, NULL, NULL);
    far_client_destroy(c);
    return NULL;
}

/* With the one handler busy (and the pool unable to grow), LIST and
 * DESCRIBE are answered at once, as the NULL procedure is. */
static void test_not_behind_handlers(void **state)
{
    (void)state;
    far_server_opts o = {.workers = 1, .max_workers = 1};
    rserver t;
    rserver_start(&t, &o);
    sleeper z[2] = {{t.addr, 1500, FAR_OK}, {t.addr, 1500, FAR_OK}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sleep_call, &z[i]), 0);
    sleep_ms(200); /* both sent: one runs, one waits for the handler */
    far_client *c;
    assert_int_equal(far_client_open(&c, t.addr, NULL), FAR_OK);
    double t0 = now_ms();
    far_reflect_list l = {0};
    far_call_opts co = {.timeout_ms = 1000};
    assert_int_equal(far_reflect_list_1(c, &l, NULL, &co), FAR_OK);
    assert_int_equal(l.far_reflect_list_len, 3);
    far_reflect_list_free(&l);
    far_reflect_which w = {TPROG, 3};
    far_reflect_desc_res dr = {0};
    assert_int_equal(far_reflect_describe_1(c, &w, &dr, NULL, &co), FAR_OK);
    assert_int_equal(dr.stat, FAR_REFLECT_OK);
    far_reflect_desc_res_free(&dr);
    double el = now_ms() - t0;
    print_message("LIST + DESCRIBE with every handler busy: %.1f ms\n", el);
    assert_true(el < 900);
    far_client_destroy(c);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(z[i].rc, FAR_OK);
    }
    rserver_stop(&t);
}

/* ------------------------------------------------------------ many threads */

#define NTHREADS 8
#define NROUNDS  150

typedef struct worker {
    far_client *shared;
    const char *addr;
    int id;
    atomic_int *bad;
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    far_client *own = NULL;
    if (far_client_open(&own, w->addr, NULL) != FAR_OK) {
        atomic_fetch_add(w->bad, 1);
        return NULL;
    }
    for (int i = 0; i < NROUNDS; i++) {
        far_client *c = (i + w->id) % 2 ? w->shared : own;
        switch ((i + w->id) % 4) {
        case 0: {
            far_reflect_list l = {0};
            if (far_reflect_list_1(c, &l, NULL, NULL) != FAR_OK || l.far_reflect_list_len != 3)
                atomic_fetch_add(w->bad, 1);
            far_reflect_list_free(&l);
            break;
        }
        case 1: {
            far_reflect_which q = {TPROG, 3};
            raw_res raw;
            if (far_client_call(c, FAR_REFLECT_PROG, 1, FAR_REFLECT_DESCRIBE,
                                far_reflect_which_encode_any, &q, raw_dec, &raw, NULL,
                                NULL) != FAR_OK ||
                raw.stat != FAR_REFLECT_OK || raw.len != v3_desc_len ||
                memcmp(raw.bytes, v3_desc, v3_desc_len) != 0)
                atomic_fetch_add(w->bad, 1);
            break;
        }
        case 2: {
            add_args a = {w->id, i};
            int32_t sum = 0;
            if (far_client_call(c, TPROG, 1, P_ADD, add_enc, &a, u32_dec, &sum, NULL, NULL) !=
                    FAR_OK ||
                sum != w->id + i)
                atomic_fetch_add(w->bad, 1);
            break;
        }
        default: {
            uint32_t ms = 1, out = 0;
            far_reflect_source_res sr = {0};
            far_reflect_which q = {TPROG, 3};
            if (far_client_call(c, TPROG, 1, P_SLEEP, u32_enc, &ms, u32_dec, &out, NULL, NULL) !=
                    FAR_OK ||
                far_reflect_source_1(c, &q, &sr, NULL, NULL) != FAR_OK ||
                sr.stat != FAR_REFLECT_OK ||
                strcmp(sr.far_reflect_source_res_u.text, v3_source) != 0)
                atomic_fetch_add(w->bad, 1);
            far_reflect_source_res_free(&sr);
        }
        }
    }
    far_client_destroy(own);
    return NULL;
}

static void test_many_threads(void **state)
{
    (void)state;
    far_server_opts o = {.workers = 2};
    rserver t;
    rserver_start(&t, &o);
    far_client *shared;
    assert_int_equal(far_client_open(&shared, t.addr, NULL), FAR_OK);
    atomic_int bad = 0;
    pthread_t th[NTHREADS];
    worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){shared, t.addr, i, &bad};
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&bad), 0);
    far_client_destroy(shared);
    rserver_stop(&t);
}

int main(void)
{
    build_desc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_describe_source),
        cmocka_unit_test(test_no_reflect),
        cmocka_unit_test(test_user_program_wins),
        cmocka_unit_test(test_not_behind_handlers),
        cmocka_unit_test(test_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
