/* Dynamic calls' core (farcall/dyn.h): descriptions built here with the
 * generated far_desc structs and encoded with far_desc_encode, loaded and
 * checked by far_dyn_load; JSON to XDR with bytes computed by hand from RFC
 * 4506, XDR to JSON, round trips, every error naming its field, hostile
 * JSON and XDR, and far_dyn_to_x's text compiled by fargen and rpcgen
 * (their paths in FARGEN and RPCGEN). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "far_reflect.h"
#include "farcall/dyn.h"

/* ------------------------------------------------------------ building */

#define MAXT 96
static far_type T[MAXT];
static uint32_t NT;
static far_tmember MP[256];
static uint32_t NMP;
static far_tenumval EP[32];
static uint32_t NEP;
static far_tarm AP[32];
static uint32_t NAP;
static int32_t CP[64];
static uint32_t NCP;
static far_tproc PR[16];
static uint32_t NPR;
static far_tref ARGP[32];
static uint32_t NARGP;
static far_tconst CONSTS[4];
static uint32_t NCONSTS;

static void begin(void)
{
    NT = NMP = NEP = NAP = NCP = NPR = NARGP = NCONSTS = 0;
    memset(T, 0, sizeof T);
}

static uint32_t add(const char *name, far_tkind k)
{
    assert_true(NT < MAXT);
    T[NT].name = (char *)name;
    T[NT].body.kind = k;
    return NT++;
}

static uint32_t bounded(const char *name, far_tkind k, uint32_t bound)
{
    uint32_t t = add(name, k);
    T[t].body.far_tbody_u.bound = bound;
    return t;
}

static uint32_t seq(const char *name, far_tkind k, uint32_t elem, uint32_t bound)
{
    uint32_t t = add(name, k);
    T[t].body.far_tbody_u.seq.elem = elem;
    T[t].body.far_tbody_u.seq.bound = bound;
    return t;
}

static uint32_t ref(const char *name, far_tkind k, uint32_t elem)
{
    uint32_t t = add(name, k);
    T[t].body.far_tbody_u.elem = elem;
    return t;
}

/* struct: n pairs of (const char *name, uint32_t type) */
static uint32_t strct(const char *name, unsigned n, ...)
{
    uint32_t t = add(name, FAR_T_STRUCT);
    T[t].body.far_tbody_u.members.members_val = &MP[NMP];
    T[t].body.far_tbody_u.members.members_len = n;
    va_list ap;
    va_start(ap, n);
    for (unsigned i = 0; i < n; i++) {
        MP[NMP].name = va_arg(ap, char *);
        MP[NMP].type = va_arg(ap, uint32_t);
        NMP++;
    }
    va_end(ap);
    return t;
}

/* enum: n pairs of (const char *name, int value) */
static uint32_t enm(const char *name, unsigned n, ...)
{
    uint32_t t = add(name, FAR_T_ENUM);
    T[t].body.far_tbody_u.values.values_val = &EP[NEP];
    T[t].body.far_tbody_u.values.values_len = n;
    va_list ap;
    va_start(ap, n);
    for (unsigned i = 0; i < n; i++) {
        EP[NEP].name = va_arg(ap, char *);
        EP[NEP].value = va_arg(ap, int);
        NEP++;
    }
    va_end(ap);
    return t;
}

static far_tarm *arm(int ncases, const int32_t *cases, const char *name, uint32_t type)
{
    far_tarm *a = &AP[NAP++];
    a->cases.cases_val = &CP[NCP];
    a->cases.cases_len = (uint32_t)ncases;
    for (int i = 0; i < ncases; i++)
        CP[NCP++] = cases[i];
    a->name = (char *)name;
    a->type = type;
    return a;
}

static uint32_t onion(const char *name, const char *disc, uint32_t disc_type, unsigned narms,
                      far_tarm *arms, far_tarm *dflt)
{
    uint32_t t = add(name, FAR_T_UNION);
    far_tunion *u = &T[t].body.far_tbody_u.u;
    u->disc_name = (char *)disc;
    u->disc_type = disc_type;
    u->arms.arms_val = arms;
    u->arms.arms_len = narms;
    u->dflt = dflt;
    return t;
}

static void proc(const char *name, uint32_t num, uint32_t res, unsigned nargs, ...)
{
    far_tproc *p = &PR[NPR++];
    p->name = (char *)name;
    p->proc = num;
    p->res = res;
    p->args.args_val = &ARGP[NARGP];
    p->args.args_len = nargs;
    va_list ap;
    va_start(ap, nargs);
    for (unsigned i = 0; i < nargs; i++)
        ARGP[NARGP++] = va_arg(ap, uint32_t);
    va_end(ap);
}

/* The description so far, XDR-encoded (malloc'd). */
static uint8_t *desc_bytes(size_t *len)
{
    far_desc d = {0};
    d.prog = 0x20001234;
    d.vers = 2;
    d.prog_name = "TEST_PROG";
    d.vers_name = "TEST_V2";
    d.types.types_val = T;
    d.types.types_len = NT;
    d.consts.consts_val = CONSTS;
    d.consts.consts_len = NCONSTS;
    d.procs.procs_val = PR;
    d.procs.procs_len = NPR;
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, 256, 1 << 20), FAR_OK);
    assert_true(far_desc_encode(&e, &d));
    *len = far_xdr_enc_len(&e);
    uint8_t *p = malloc(*len + 1);
    memcpy(p, far_xdr_enc_data(&e), *len);
    far_xdr_enc_fini(&e);
    return p;
}

static far_err try_load(far_dyn **out)
{
    size_t len;
    uint8_t *b = desc_bytes(&len);
    far_err rc = far_dyn_load(out, b, len);
    free(b);
    return rc;
}

static far_dyn *load(void)
{
    far_dyn *d = NULL;
    far_err rc = try_load(&d);
    if (rc)
        fail_msg("far_dyn_load: %s: %s", far_errname(rc), far_last_error());
    return d;
}

/* The kitchen sink: every kind of type. */
enum {
    K_INT,
    K_UINT,
    K_HYPER,
    K_UHYPER,
    K_FLOAT,
    K_DOUBLE,
    K_QUAD,
    K_BOOL,
    K_CHAR,
    K_UCHAR,
    K_SHORT,
    K_USHORT,
    K_VOID,
    K_COLOR,
    K_STR16,
    K_OPQ3,
    K_OPQ8,
    K_INT2,
    K_INT3,
    K_KV,
    K_TAGS,
    K_COUNT,
    K_NODE,
    K_NODEP,
    K_SHAPE,
    K_RES,
    K_DES,
    K_ALL,
    K_MAYBE,
    K_STRING,
    K_NODEPTR,
    K_TREE,
    K_TREES,
    K_INTS,
};

static far_dyn *sink(void)
{
    begin();
    for (far_tkind k = FAR_T_INT; k <= FAR_T_USHORT; k++)
        add("", k);
    add("", FAR_T_VOID);
    enm("color", 3, "RED", 0, "GREEN", 1, "BLUE", 2);
    bounded("", FAR_T_STRING, 16);
    bounded("", FAR_T_OPAQUE_FIXED, 3);
    bounded("", FAR_T_OPAQUE_VAR, 8);
    seq("", FAR_T_ARRAY_FIXED, K_INT, 2);
    seq("", FAR_T_ARRAY_VAR, K_INT, 3);
    strct("kv", 2, "key", K_STR16, "value", K_INT);
    seq("tags", FAR_T_ARRAY_VAR, K_KV, 4);
    ref("count", FAR_T_ALIAS, K_INT);
    strct("node", 2, "v", K_INT, "next", K_NODEP);
    ref("", FAR_T_OPTIONAL, K_NODE);
    {
        static const int32_t red[] = {0}, green[] = {1};
        far_tarm *a = arm(1, red, "i", K_INT);
        arm(1, green, "", K_VOID);
        onion("shape", "c", K_COLOR, 2, a, arm(0, NULL, "s", K_STR16));
    }
    {
        static const int32_t zero[] = {0}, one[] = {1, 2};
        far_tarm *a = arm(1, zero, "ok", K_KV);
        arm(2, one, "", K_VOID);
        onion("res", "code", K_INT, 2, a, NULL);
    }
    add("des_block", FAR_T_EXTERN);
    strct("all", 23, "i", K_INT, "u", K_UINT, "h", K_HYPER, "uh", K_UHYPER, "f", K_FLOAT, "d",
          K_DOUBLE, "q", K_QUAD, "b", K_BOOL, "c", K_CHAR, "uc", K_UCHAR, "s", K_SHORT, "us",
          K_USHORT, "e", K_COLOR, "str", K_STR16, "fo", K_OPQ3, "vo", K_OPQ8, "fa", K_INT2, "va",
          K_INT3, "tags", K_TAGS, "n", K_COUNT, "list", K_NODEP, "sh", K_SHAPE, "r", K_RES);
    {
        static const int32_t t[] = {1}, f[] = {0};
        far_tarm *a = arm(1, t, "val", K_INT);
        arm(1, f, "", K_VOID);
        onion("maybe", "has", K_BOOL, 2, a, NULL);
    }
    bounded("", FAR_T_STRING, FAR_REFLECT_UNBOUNDED);
    ref("nodeptr", FAR_T_OPTIONAL, K_NODE);
    strct("tree", 2, "name", K_STR16, "kids", K_TREES);
    seq("", FAR_T_ARRAY_VAR, K_TREE, FAR_REFLECT_UNBOUNDED);
    seq("ints", FAR_T_ARRAY_VAR, K_INT, FAR_REFLECT_UNBOUNDED);
    assert_int_equal(NT, K_INTS + 1);
    CONSTS[0] = (far_tconst){"MAXKEY", 16};
    CONSTS[1] = (far_tconst){"NEG", -5};
    NCONSTS = 2;
    proc("TEST_NULL", 0, K_VOID, 0);
    proc("TEST_ECHO", 1, K_ALL, 1, K_ALL);
    proc("TEST_TWO", 2, K_INT, 2, K_INT, K_STRING);
    proc("TEST_EXT", 3, K_DES, 1, K_DES);
    proc("TEST_LIST", 4, K_NODEPTR, 1, K_NODEPTR);
    proc("TEST_MAYBE", 5, K_MAYBE, 1, K_COLOR);
    proc("TEST_TREE", 6, K_TREE, 1, K_TREE);
    proc("TEST_STR", 7, K_STRING, 1, K_STRING);
    return load();
}

/* ------------------------------------------------------------ helpers */

typedef struct bytes {
    uint8_t b[4096];
    size_t n;
} bytes;

static void w32(bytes *b, uint32_t v)
{
    b->b[b->n++] = (uint8_t)(v >> 24);
    b->b[b->n++] = (uint8_t)(v >> 16);
    b->b[b->n++] = (uint8_t)(v >> 8);
    b->b[b->n++] = (uint8_t)v;
}

static void wraw(bytes *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
    while (b->n % 4)
        b->b[b->n++] = 0;
}

static void wstr(bytes *b, const char *s)
{
    w32(b, (uint32_t)strlen(s));
    wraw(b, s, strlen(s));
}

/* Encodes json as the named type; FAR_OK and the bytes in *out. */
static far_err enc_type(const far_dyn *d, const char *type, const char *json, bytes *out)
{
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, 64, 64 << 20), FAR_OK);
    far_err rc = far_dyn_encode_type(d, type, json, strlen(json), &e);
    if (rc == FAR_OK && out) {
        assert_true(far_xdr_enc_len(&e) <= sizeof out->b);
        out->n = far_xdr_enc_len(&e);
        memcpy(out->b, far_xdr_enc_data(&e), out->n);
    }
    far_xdr_enc_fini(&e);
    return rc;
}

static far_err dec_type(const far_dyn *d, const char *type, const void *p, size_t n, unsigned flags,
                        char **json)
{
    far_xdr_dec x;
    far_xdr_dec_init(&x, p, n, NULL, 0);
    return far_dyn_decode_type(d, type, &x, flags, json);
}

/* Expects json to fail as type with code and an error containing want. */
static void expect_fail(const far_dyn *d, const char *type, const char *json, far_err code,
                        const char *want)
{
    far_err rc = enc_type(d, type, json, NULL);
    if (rc != code || !strstr(far_last_error(), want))
        fail_msg("%s %.200s: got %s \"%s\", want %s \"%s\"", type, json, far_errname(rc),
                 far_last_error(), far_errname(code), want);
}

/* The canonical value of "all" (compact, in .x order, as decoded). */
static const char *all_members[][2] = {
    {"i", "-2"},
    {"u", "4294967295"},
    {"h", "\"-9223372036854775808\""},
    {"uh", "\"18446744073709551615\""},
    {"f", "1.5"},
    {"d", "-0.25"},
    {"q", "\"3fff8000000000000000000000000000\""},
    {"b", "true"},
    {"c", "-128"},
    {"uc", "255"},
    {"s", "-32768"},
    {"us", "65535"},
    {"e", "\"BLUE\""},
    {"str", "\"h\xc3\xa9llo\\n\""},
    {"fo", "\"AQID\""},
    {"vo", "\"/w==\""},
    {"fa", "[1,2]"},
    {"va", "[7]"},
    {"tags", "[{\"key\":\"a\",\"value\":1}]"},
    {"n", "5"},
    {"list", "{\"v\":1,\"next\":{\"v\":2,\"next\":null}}"},
    {"sh", "{\"c\":\"BLUE\",\"s\":\"x\"}"},
    {"r", "{\"code\":1}"},
};

/* "all" with member `name` set to `value` (NULL: left out); extra appends
 * a member text. */
static char *all_with(const char *name, const char *value, const char *extra)
{
    static char buf[8192];
    size_t at = 0;
    buf[at++] = '{';
    bool first = true;
    for (size_t i = 0; i < sizeof all_members / sizeof all_members[0]; i++) {
        const char *v = all_members[i][1];
        if (name && strcmp(name, all_members[i][0]) == 0) {
            if (!value)
                continue;
            v = value;
        }
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s\"%s\":%s", first ? "" : ",",
                               all_members[i][0], v);
        first = false;
    }
    if (extra)
        at += (size_t)snprintf(buf + at, sizeof buf - at, ",%s", extra);
    snprintf(buf + at, sizeof buf - at, "}");
    return buf;
}

static bytes all_bytes(void)
{
    bytes b = {.n = 0};
    w32(&b, 0xfffffffe);                                        /* i */
    w32(&b, 0xffffffff);                                        /* u */
    w32(&b, 0x80000000), w32(&b, 0);                            /* h */
    w32(&b, 0xffffffff), w32(&b, 0xffffffff);                   /* uh */
    w32(&b, 0x3fc00000);                                        /* f 1.5 */
    w32(&b, 0xbfd00000), w32(&b, 0);                            /* d -0.25 */
    w32(&b, 0x3fff8000), w32(&b, 0), w32(&b, 0), w32(&b, 0);    /* q 1.5 */
    w32(&b, 1);                                                 /* b */
    w32(&b, 0xffffff80);                                        /* c -128 */
    w32(&b, 0xff);                                              /* uc */
    w32(&b, 0xffff8000);                                        /* s -32768 */
    w32(&b, 0xffff);                                            /* us */
    w32(&b, 2);                                                 /* e BLUE */
    wstr(&b, "h\xc3\xa9llo\n");                                 /* str: 7 bytes */
    wraw(&b, "\x01\x02\x03", 3);                                /* fo */
    w32(&b, 1), wraw(&b, "\xff", 1);                            /* vo */
    w32(&b, 1), w32(&b, 2);                                     /* fa */
    w32(&b, 1), w32(&b, 7);                                     /* va */
    w32(&b, 1), wstr(&b, "a"), w32(&b, 1);                      /* tags */
    w32(&b, 5);                                                 /* n */
    w32(&b, 1), w32(&b, 1), w32(&b, 1), w32(&b, 2), w32(&b, 0); /* list */
    w32(&b, 2), wstr(&b, "x");                                  /* sh: default arm */
    w32(&b, 1);                                                 /* r: void arm */
    return b;
}

static void expect_bytes(const bytes *got, const bytes *want)
{
    if (got->n != want->n || memcmp(got->b, want->b, got->n) != 0) {
        for (size_t i = 0; i < got->n || i < want->n; i += 4)
            if (i >= got->n || i >= want->n || memcmp(got->b + i, want->b + i, 4) != 0) {
                fail_msg("bytes differ at %zu (got %zu bytes, want %zu)", i, got->n, want->n);
            }
    }
}

/* ------------------------------------------------------------ tests */

static void all_kinds_exact_bytes(void **state)
{
    (void)state;
    far_dyn *d = sink();
    bytes got, want = all_bytes();
    char *canon = strdup(all_with(NULL, NULL, NULL));
    far_err rc = enc_type(d, "all", canon, &got);
    if (rc)
        fail_msg("%s", far_last_error());
    expect_bytes(&got, &want);
    char *json = NULL;
    rc = dec_type(d, "all", got.b, got.n, 0, &json);
    if (rc)
        fail_msg("%s", far_last_error());
    assert_string_equal(json, canon);
    /* and once more: XDR -> JSON -> XDR is the identity */
    bytes again;
    assert_int_equal(enc_type(d, "all", json, &again), FAR_OK);
    expect_bytes(&again, &want);
    free(json);
    free(canon);
    far_dyn_free(d);
}

static void accessors_and_procs(void **state)
{
    (void)state;
    far_dyn *d = sink();
    assert_int_equal(far_dyn_prog(d), 0x20001234);
    assert_int_equal(far_dyn_vers(d), 2);
    assert_string_equal(far_dyn_prog_name(d), "TEST_PROG");
    assert_string_equal(far_dyn_vers_name(d), "TEST_V2");
    assert_int_equal(far_dyn_nprocs(d), 8);
    far_dyn_proc p = far_dyn_proc_at(d, 2);
    assert_string_equal(p.name, "TEST_TWO");
    assert_int_equal(p.nargs, 2);
    assert_false(p.void_result);
    assert_true(far_dyn_proc_at(d, 0).void_result);
    assert_int_equal(far_dyn_find_proc(d, "test_echo", &p), FAR_OK);
    assert_int_equal(p.proc, 1);
    assert_int_equal(far_dyn_find_proc(d, "0x2", &p), FAR_OK);
    assert_string_equal(p.name, "TEST_TWO");
    assert_int_equal(far_dyn_find_proc(d, "6", &p), FAR_OK);
    assert_string_equal(p.name, "TEST_TREE");
    assert_int_equal(far_dyn_find_proc(d, "NOPE", &p), FAR_EPROC_UNAVAIL);
    assert_non_null(strstr(far_last_error(), "TEST_ECHO (1)"));
    assert_non_null(strstr(far_last_error(), "NOPE"));
    assert_int_equal(far_dyn_find_proc(d, "99", &p), FAR_EPROC_UNAVAIL);
    assert_int_equal(far_dyn_find_proc(NULL, "1", &p), FAR_EMISUSE);

    far_xdr_enc e;
    uint8_t buf[256];
    /* void arguments: nothing, "", "null", white space */
    const char *voids[] = {NULL, "", "null", " \n"};
    for (size_t i = 0; i < 4; i++) {
        far_xdr_enc_init(&e, buf, sizeof buf);
        assert_int_equal(far_dyn_encode_args(d, 0, voids[i], voids[i] ? strlen(voids[i]) : 0, &e),
                         FAR_OK);
        assert_int_equal(far_xdr_enc_len(&e), 0);
    }
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_int_equal(far_dyn_encode_args(d, 0, "5", 1, &e), FAR_EJSON);
    assert_non_null(strstr(far_last_error(), "args: expected null"));
    /* several arguments: an array */
    far_xdr_enc_init(&e, buf, sizeof buf);
    const char *two = "[7, \"hi\"]";
    assert_int_equal(far_dyn_encode_args(d, 2, two, strlen(two), &e), FAR_OK);
    bytes want = {.n = 0};
    w32(&want, 7), wstr(&want, "hi");
    assert_int_equal(far_xdr_enc_len(&e), want.n);
    assert_memory_equal(buf, want.b, want.n);
    far_xdr_dec x;
    char *json;
    far_xdr_dec_init(&x, buf, want.n, NULL, 0);
    assert_int_equal(far_dyn_decode_args(d, 2, &x, 0, &json), FAR_OK);
    assert_string_equal(json, "[7,\"hi\"]");
    free(json);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_int_equal(far_dyn_encode_args(d, 2, "[7]", 3, &e), FAR_EJSON);
    assert_non_null(strstr(far_last_error(), "args: expected an array of the 2 arguments"));
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_int_equal(far_dyn_encode_args(d, 2, "[7, 8]", 6, &e), FAR_EJSON);
    assert_non_null(strstr(far_last_error(), "args[1]: expected a string"));
    /* results */
    far_xdr_dec_init(&x, buf, 0, NULL, 0);
    assert_int_equal(far_dyn_decode_res(d, 0, &x, 0, &json), FAR_OK);
    assert_string_equal(json, "null");
    free(json);
    far_xdr_dec_init(&x, buf, 0, NULL, 0);
    assert_int_equal(far_dyn_decode_args(d, 0, &x, 0, &json), FAR_OK);
    assert_string_equal(json, "null");
    free(json);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_int_equal(far_dyn_encode_res(d, 5, "{\"has\":true,\"val\":3}", 20, &e), FAR_OK);
    assert_int_equal(far_xdr_enc_len(&e), 8);
    far_xdr_dec_init(&x, buf, 8, NULL, 0);
    assert_int_equal(far_dyn_decode_res(d, 5, &x, 0, &json), FAR_OK);
    assert_string_equal(json, "{\"has\":true,\"val\":3}");
    free(json);
    /* trailing bytes after the value */
    far_xdr_dec_init(&x, buf, 8, NULL, 0);
    assert_int_equal(far_dyn_decode_args(d, 5, &x, 0, &json), FAR_ETRAILING);
    assert_null(json);
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_int_equal(far_dyn_encode_args(d, 42, "1", 1, &e), FAR_EPROC_UNAVAIL);
    assert_int_equal(far_dyn_encode_type(d, "nosuch", "1", 1, &e), FAR_EJSON);
    assert_non_null(strstr(far_last_error(), "no type named \"nosuch\""));
    /* extern */
    far_xdr_enc_init(&e, buf, sizeof buf);
    assert_int_equal(far_dyn_encode_args(d, 3, "\"AAAA\"", 6, &e), FAR_EJSON);
    assert_string_equal(far_last_error(), "args: type des_block is external: its XDR is not known");
    far_xdr_dec_init(&x, buf, 8, NULL, 0);
    assert_int_equal(far_dyn_decode_res(d, 3, &x, 0, &json), FAR_EJSON);
    assert_non_null(strstr(far_last_error(), "des_block is external"));
    assert_int_equal(far_dyn_encode_args(d, 1, "{}", 2, NULL), FAR_EMISUSE);
    far_dyn_free(d);
}

static void errors_name_the_field(void **state)
{
    (void)state;
    far_dyn *d = sink();
    static const struct {
        const char *member, *value;
        far_err code;
        const char *want;
    } cases[] = {
        {"tags", "[{\"key\":\"a\",\"value\":1},{\"key\":\"0123456789abcdefg\",\"value\":2}]",
         FAR_EJSON, "all.tags[1].key: expected a string of at most 16 bytes, got 17"},
        {"i", NULL, FAR_EJSON, "all.i: missing"},
        {"i", "\"x\"", FAR_EJSON, "all.i: expected an int (an integer from -2147483648"},
        {"i", "2147483648", FAR_EJSON, "all.i: expected an int"},
        {"i", "1.5", FAR_EJSON, "all.i: expected an int"},
        {"i", "5.0", FAR_EJSON,
         "all.i: expected an int (an integer from -2147483648 to 2147483647), got 5.0"},
        {"u", "-1", FAR_EJSON, "all.u: expected an unsigned int"},
        {"u", "4294967296", FAR_EJSON, "all.u: expected an unsigned int"},
        {"c", "128", FAR_EJSON, "all.c: expected a char"},
        {"uc", "256", FAR_EJSON, "all.uc: expected an unsigned char"},
        {"s", "32768", FAR_EJSON, "all.s: expected a short"},
        {"us", "-1", FAR_EJSON, "all.us: expected an unsigned short"},
        {"h", "9007199254740993", FAR_EJSON, "all.h: expected a hyper: as a JSON number it must"},
        {"h", "-9007199254740993", FAR_EJSON, "all.h: expected a hyper"},
        {"h", "\"9223372036854775808\"", FAR_EJSON, "all.h: expected a hyper (a decimal"},
        {"h", "\"-9223372036854775809\"", FAR_EJSON, "all.h: expected a hyper"},
        {"h", "\"12x\"", FAR_EJSON, "all.h: expected a hyper"},
        {"h", "\"\"", FAR_EJSON, "all.h: expected a hyper"},
        {"h", "\"+1\"", FAR_EJSON, "all.h: expected a hyper"},
        {"h", "true", FAR_EJSON, "all.h: expected a hyper"},
        {"uh", "\"18446744073709551616\"", FAR_EJSON, "all.uh: expected an unsigned hyper"},
        {"uh", "\"-1\"", FAR_EJSON, "all.uh: expected an unsigned hyper"},
        {"uh", "-1", FAR_EJSON, "all.uh: expected an unsigned hyper"},
        {"uh", "9007199254740993", FAR_EJSON, "all.uh: expected an unsigned hyper"},
        {"f", "1e39", FAR_EJSON, "all.f: expected a float, got 1"},
        {"f", "3.4028235677973366e38", FAR_EJSON,
         "all.f: expected a float, got 3.4028235677973366e+38 (beyond"},
        {"f", "\"nan\"", FAR_EJSON, "all.f: expected a float (a number, \"NaN\""},
        {"d", "null", FAR_EJSON, "all.d: expected a double"},
        {"q", "\"3fff80000000000000000000000000zz\"", FAR_EJSON, "all.q: expected a quadruple"},
        {"q", "[]", FAR_EJSON, "all.q: expected a quadruple"},
        {"b", "1", FAR_EJSON, "all.b: expected a bool (true or false), got 1"},
        {"e", "\"PURPLE\"", FAR_EJSON,
         "all.e: expected enum color (RED, GREEN, BLUE, or a number), got \"PURPLE\""},
        {"e", "4294967296", FAR_EJSON, "all.e: expected enum color"},
        {"str", "5", FAR_EJSON, "all.str: expected a string, got 5"},
        {"fo", "\"AQ==\"", FAR_EJSON, "all.fo: expected exactly 3 bytes of opaque data, got 1"},
        {"fo", "\"AQIDBA==\"", FAR_EJSON, "all.fo: expected exactly 3 bytes"},
        {"vo", "\"AAAAAAAAAAAA\"", FAR_EJSON,
         "all.vo: expected at most 8 bytes of opaque data, got 9"},
        {"vo", "\"A\"", FAR_EJSON, "all.vo: expected base64 text (opaque): 1 characters"},
        {"vo", "\"!!!!\"", FAR_EJSON, "all.vo: expected base64 text (opaque): bad character at 0"},
        {"vo", "\"AA=A\"", FAR_EJSON, "all.vo: expected base64 text (opaque): bad character"},
        {"vo", "{}", FAR_EJSON, "all.vo: expected base64 text (opaque), got an object"},
        {"fa", "[1]", FAR_EJSON, "all.fa: expected an array of exactly 2 elements, got 1"},
        {"fa", "[1,2,3]", FAR_EJSON, "all.fa: expected an array of exactly 2 elements, got 3"},
        {"fa", "[1,\"2\"]", FAR_EJSON, "all.fa[1]: expected an int"},
        {"va", "[1,2,3,4]", FAR_EJSON, "all.va: expected an array of at most 3 elements, got 4"},
        {"va", "{}", FAR_EJSON, "all.va: expected an array, got an object"},
        {"tags", "[{\"key\":\"a\"}]", FAR_EJSON, "all.tags[0].value: missing"},
        {"tags", "[{\"key\":\"a\",\"value\":1,\"zz\":2}]", FAR_EJSON,
         "all.tags[0]: unknown member \"zz\""},
        {"tags", "[5]", FAR_EJSON, "all.tags[0]: expected an object (struct kv), got 5"},
        {"n", "\"5\"", FAR_EJSON, "all.n: expected an int"},
        {"list", "{\"v\":1,\"next\":{\"v\":\"x\",\"next\":null}}", FAR_EJSON,
         "all.list.next.v: expected an int"},
        {"list", "{\"v\":1}", FAR_EJSON, "all.list.next: missing"},
        {"sh", "{\"c\":\"RED\"}", FAR_EJSON, "all.sh.i: missing (the arm for 0)"},
        {"sh", "{\"c\":\"GREEN\",\"i\":1}", FAR_EJSON, "all.sh: unknown member \"i\""},
        {"sh", "{\"i\":1}", FAR_EJSON, "all.sh.c: missing (the union's discriminant)"},
        {"sh", "{\"c\":\"BLUE\",\"s\":17}", FAR_EJSON, "all.sh.s: expected a string"},
        {"sh", "[]", FAR_EJSON, "all.sh: expected an object (union shape"},
        {"r", "{\"code\":5}", FAR_EJSON, "all.r.code: no arm of the union for 5"},
        {"r", "{\"code\":0,\"ok\":{\"key\":1,\"value\":1}}", FAR_EJSON,
         "all.r.ok.key: expected a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_fail(d, "all", all_with(cases[i].member, cases[i].value, NULL), cases[i].code,
                    cases[i].want);
    expect_fail(d, "all", all_with(NULL, NULL, "\"zz\":1"), FAR_EJSON,
                "all: unknown member \"zz\"");
    /* values at the limits are accepted */
    static const char *ok[][2] = {
        {"h", "9007199254740992"},
        {"h", "-9007199254740992"},
        {"uh", "9007199254740992"},
        {"uh", "0"},
        {"h", "\"9223372036854775807\""},
        {"e", "7"},
        {"f", "3.4028234663852886e38"},
        {"f", "-3.4028235e+38"},
        {"f", "3.4028235677973362e38"},
        {"i", "-2147483648"},
        {"q", "1.5"},
        {"q", "\"3FFF8000000000000000000000000000\""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        far_err rc = enc_type(d, "all", all_with(ok[i][0], ok[i][1], NULL), NULL);
        if (rc)
            fail_msg("%s=%s: %s", ok[i][0], ok[i][1], far_last_error());
    }
    far_dyn_free(d);
}

static void hostile_json(void **state)
{
    (void)state;
    far_dyn *d = sink();
    /* not JSON, duplicate keys, invalid UTF-8, numbers jansson cannot hold */
    expect_fail(d, "kv", "{\"key\":\"a\",", FAR_EJSON, "kv: invalid JSON at line 1");
    expect_fail(d, "kv", "{\"key\":\"a\",\"key\":\"b\",\"value\":1}", FAR_EJSON, "duplicate");
    expect_fail(d, "kv", "{\"key\":\"\xff\",\"value\":1}", FAR_EJSON, "kv.key: invalid JSON");
    expect_fail(d, "kv", "{\"key\":\"\xc0\x80\",\"value\":1}", FAR_EJSON, "kv.key: invalid JSON");
    expect_fail(d, "kv", "{\"key\":\"a\\u0000b\",\"value\":1}", FAR_EJSON, "kv.key: invalid JSON");
    expect_fail(
        d, "kv", "{\"key\":\"a\",\"value\":1e400}", FAR_EJSON,
        "kv.value: a number beyond any XDR type (at line 1 column 24: real number overflow");
    expect_fail(d, "kv", "{\"key\":\"a\",\"value\":99999999999999999999}", FAR_EJSON,
                "kv.value: a number beyond any XDR type");
    expect_fail(d, "tags", "[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":-1e999}]",
                FAR_EJSON, "tags[1].value: a number beyond any XDR type");
    expect_fail(d, "tags", "[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":[1,2,x]}]",
                FAR_EJSON, "tags[1].value[2]: invalid JSON at line 1 column 48: invalid token");
    expect_fail(d, "tags", "[{\"k\\\"ey\":\"a\",\"value\":[1,{\"x\":1}, 1e400]}]", FAR_EJSON,
                "tags[0].value[2]: a number beyond");
    expect_fail(d, "kv", "{\"key\":\"a\",\"value\":1} x", FAR_EJSON, "kv: invalid JSON");
    expect_fail(d, "all", all_with("h", "99999999999999999999", NULL), FAR_EJSON,
                "all.h: a number beyond any XDR type");
    /* deep nesting: 100000 '[' */
    size_t n = 100000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    expect_fail(d, "kv", deep, FAR_ELIMIT, "FAR_DYN_MAX_DEPTH");
    free(deep);
    /* a list nested as deep as allowed, and one deeper */
    for (unsigned len = FAR_DYN_MAX_DEPTH; len <= FAR_DYN_MAX_DEPTH + 1; len++) {
        char *list = malloc(len * 16 + 16);
        size_t at = 0;
        for (unsigned i = 0; i < len; i++)
            at += (size_t)sprintf(list + at, "{\"v\":%u,\"next\":", i % 10);
        at += (size_t)sprintf(list + at, "null");
        memset(list + at, '}', len);
        list[at + len] = '\0';
        bytes *b = malloc(sizeof *b);
        far_xdr_enc e;
        assert_int_equal(far_xdr_enc_init_grow(&e, 64, 1 << 20), FAR_OK);
        far_err rc = far_dyn_encode_type(d, "node", list, strlen(list), &e);
        if (len == FAR_DYN_MAX_DEPTH) {
            if (rc)
                fail_msg("%s", far_last_error());
            /* and the XDR decodes back to the same text */
            char *json;
            assert_int_equal(
                dec_type(d, "node", far_xdr_enc_data(&e), far_xdr_enc_len(&e), 0, &json), FAR_OK);
            assert_string_equal(json, list);
            free(json);
            /* one more element on the wire is too deep for JSON */
            far_xdr_enc e2;
            assert_int_equal(far_xdr_enc_init_grow(&e2, 64, 1 << 20), FAR_OK);
            assert_true(far_xdr_put_u32(&e2, 0) && far_xdr_put_u32(&e2, 1));
            for (size_t i = 0; i < far_xdr_enc_len(&e); i++)
                assert_true(far_xdr_reserve(&e2, 1) != NULL);
            memcpy(e2.buf + 8, far_xdr_enc_data(&e), far_xdr_enc_len(&e));
            assert_int_equal(
                dec_type(d, "node", far_xdr_enc_data(&e2), far_xdr_enc_len(&e2), 0, &json),
                FAR_ELIMIT);
            assert_non_null(strstr(far_last_error(), "FAR_DYN_MAX_DEPTH (2000)"));
            assert_non_null(
                strstr(far_last_error(), "node...")); /* the root, then the last steps */
            assert_non_null(strstr(far_last_error(), ".next.next.next: nesting"));
            far_xdr_enc_fini(&e2);
        } else {
            assert_int_equal(rc, FAR_ELIMIT);
            assert_non_null(strstr(far_last_error(), "FAR_DYN_MAX_DEPTH (2000)"));
        }
        far_xdr_enc_fini(&e);
        free(b);
        free(list);
    }
    far_dyn_free(d);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void huge_string_against_bound(void **state)
{
    (void)state;
    far_dyn *d = sink();
    size_t n = 100u << 20;
    char *json = malloc(n + 64);
    memcpy(json, "{\"key\":\"", 8);
    memset(json + 8, 'a', n);
    strcpy(json + 8 + n, "\",\"value\":1}");
    long before = max_rss_kb();
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, 64, 1 << 20), FAR_OK);
    assert_int_equal(far_dyn_encode_type(d, "kv", json, strlen(json), &e), FAR_EJSON);
    assert_non_null(strstr(far_last_error(), "kv.key: a JSON string of 104857600 bytes"));
    long after = max_rss_kb();
    /* refused without a copy: well under one more input's worth */
    assert_true(after - before < (long)(n / 1024 / 2));
    far_xdr_enc_fini(&e);
    free(json);
    far_dyn_free(d);
}

static void specials_and_base64(void **state)
{
    (void)state;
    far_dyn *d = sink();
    bytes got;
    char *json;
    /* floats */
    static const struct {
        const char *f, *dbl;
        uint32_t fb;
        uint32_t db0;
    } sp[] = {
        {"\"NaN\"", "\"NaN\"", 0x7fc00000, 0x7ff80000},
        {"\"Infinity\"", "\"-Infinity\"", 0x7f800000, 0xfff00000},
        {"\"-Infinity\"", "\"Infinity\"", 0xff800000, 0x7ff00000},
    };
    for (size_t i = 0; i < 3; i++) {
        char *src = strdup(all_with("f", sp[i].f, NULL));
        /* both f and d set: splice d in by hand */
        char buf[8192];
        snprintf(buf, sizeof buf, "%s", src);
        char *dpos = strstr(buf, "\"d\":-0.25");
        assert_non_null(dpos);
        char rest[8192];
        snprintf(rest, sizeof rest, "%s", dpos + strlen("\"d\":-0.25"));
        snprintf(dpos, sizeof buf - (size_t)(dpos - buf), "\"d\":%s%s", sp[i].dbl, rest);
        assert_int_equal(enc_type(d, "all", buf, &got), FAR_OK);
        assert_int_equal((uint32_t)got.b[24] << 24 | got.b[25] << 16 | got.b[26] << 8 | got.b[27],
                         sp[i].fb);
        assert_int_equal((uint32_t)got.b[28] << 24 | got.b[29] << 16 | got.b[30] << 8 | got.b[31],
                         sp[i].db0);
        assert_int_equal(dec_type(d, "all", got.b, got.n, 0, &json), FAR_OK);
        assert_string_equal(json, buf);
        free(json);
        free(src);
    }
    /* negative zero stays negative */
    assert_int_equal(enc_type(d, "all", all_with("d", "-0.0", NULL), &got), FAR_OK);
    assert_int_equal(got.b[28], 0x80);
    assert_int_equal(dec_type(d, "all", got.b, got.n, 0, &json), FAR_OK);
    assert_non_null(strstr(json, "\"d\":-0.0,"));
    free(json);
    /* floats print shortest */
    assert_int_equal(enc_type(d, "all", all_with("d", "0.1", NULL), &got), FAR_OK);
    assert_int_equal(dec_type(d, "all", got.b, got.n, 0, &json), FAR_OK);
    assert_non_null(strstr(json, "\"d\":0.1,"));
    free(json);
    /* base64: padded, unpadded, url-safe; output standard and padded */
    static const char *vo[] = {"\"+/8=\"", "\"+/8\"", "\"-_8=\"", "\"-_8\""};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(enc_type(d, "all", all_with("vo", vo[i], NULL), &got), FAR_OK);
        assert_int_equal(dec_type(d, "all", got.b, got.n, 0, &json), FAR_OK);
        assert_non_null(strstr(json, "\"vo\":\"+/8=\""));
        free(json);
    }
    static const char *sizes[][2] = {{"\"\"", "\"\""},
                                     {"\"AA\"", "\"AA==\""},
                                     {"\"AAA\"", "\"AAA=\""},
                                     {"\"AAAA\"", "\"AAAA\""},
                                     {"\"AAAAAAAAAAA\"", "\"AAAAAAAAAAA=\""}};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(enc_type(d, "all", all_with("vo", sizes[i][0], NULL), &got), FAR_OK);
        assert_int_equal(dec_type(d, "all", got.b, got.n, 0, &json), FAR_OK);
        char want[64];
        snprintf(want, sizeof want, "\"vo\":%s,", sizes[i][1]);
        assert_non_null(strstr(json, want));
        free(json);
    }
    /* enums: a number with a name prints the name, one without the number */
    assert_int_equal(enc_type(d, "all", all_with("e", "1", NULL), &got), FAR_OK);
    assert_int_equal(dec_type(d, "all", got.b, got.n, 0, &json), FAR_OK);
    assert_non_null(strstr(json, "\"e\":\"GREEN\""));
    free(json);
    assert_int_equal(enc_type(d, "all", all_with("e", "-7", NULL), &got), FAR_OK);
    assert_int_equal(dec_type(d, "all", got.b, got.n, 0, &json), FAR_OK);
    assert_non_null(strstr(json, "\"e\":-7,"));
    free(json);
    /* quad from a number; NaN as a quad */
    assert_int_equal(enc_type(d, "all", all_with("q", "-2", NULL), &got), FAR_OK);
    assert_int_equal(dec_type(d, "all", got.b, got.n, 0, &json), FAR_OK);
    assert_non_null(strstr(json, "\"q\":\"c0000000000000000000000000000000\""));
    free(json);
    /* union arms: the named arm, the default arm, the void arm; bool */
    assert_int_equal(enc_type(d, "shape", "{\"c\":\"RED\",\"i\":-1}", &got), FAR_OK);
    bytes want = {.n = 0};
    w32(&want, 0), w32(&want, 0xffffffff);
    expect_bytes(&got, &want);
    assert_int_equal(enc_type(d, "shape", "{\"c\":1}", &got), FAR_OK);
    want.n = 0;
    w32(&want, 1);
    expect_bytes(&got, &want);
    assert_int_equal(dec_type(d, "shape", got.b, got.n, 0, &json), FAR_OK);
    assert_string_equal(json, "{\"c\":\"GREEN\"}");
    free(json);
    assert_int_equal(enc_type(d, "shape", "{\"c\":9,\"s\":\"z\"}", &got), FAR_OK);
    assert_int_equal(dec_type(d, "shape", got.b, got.n, 0, &json), FAR_OK);
    assert_string_equal(json, "{\"c\":9,\"s\":\"z\"}");
    free(json);
    assert_int_equal(enc_type(d, "maybe", "{\"has\":false}", &got), FAR_OK);
    assert_int_equal(got.n, 4);
    /* trees: recursion through a variable-length array */
    const char *tree = "{\"name\":\"r\",\"kids\":[{\"name\":\"a\",\"kids\":[]},{\"name\":\"b\","
                       "\"kids\":[{\"name\":\"c\",\"kids\":[]}]}]}";
    assert_int_equal(enc_type(d, "tree", tree, &got), FAR_OK);
    assert_int_equal(dec_type(d, "tree", got.b, got.n, 0, &json), FAR_OK);
    assert_string_equal(json, tree);
    free(json);
    /* pretty */
    assert_int_equal(enc_type(d, "kv", "{\"key\":\"k\",\"value\":1}", &got), FAR_OK);
    assert_int_equal(dec_type(d, "kv", got.b, got.n, FAR_DYN_PRETTY, &json), FAR_OK);
    assert_string_equal(json, "{\n  \"key\": \"k\",\n  \"value\": 1\n}\n");
    free(json);
    assert_int_equal(enc_type(d, "tree", "{\"name\":\"r\",\"kids\":[]}", &got), FAR_OK);
    assert_int_equal(dec_type(d, "tree", got.b, got.n, FAR_DYN_PRETTY, &json), FAR_OK);
    assert_string_equal(json, "{\n  \"name\": \"r\",\n  \"kids\": []\n}\n");
    free(json);
    /* pretty output is JSON too, and its indentation stops growing */
    char list[2048];
    size_t at = 0;
    for (unsigned i = 0; i < 40; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "{\"v\":%u,\"next\":", i);
    at += (size_t)snprintf(list + at, sizeof list - at, "null");
    memset(list + at, '}', 40);
    list[at + 40] = '\0';
    assert_int_equal(enc_type(d, "node", list, &got), FAR_OK);
    assert_int_equal(dec_type(d, "node", got.b, got.n, FAR_DYN_PRETTY, &json), FAR_OK);
    assert_non_null(strstr(
        json, "\n                                                                \"v\": 39"));
    assert_null(
        strstr(json, "\n                                                                 "));
    bytes again;
    assert_int_equal(enc_type(d, "node", json, &again), FAR_OK);
    expect_bytes(&again, &got);
    free(json);
    far_dyn_free(d);
}

/* A million elements each way: nothing is quadratic (it would not finish). */
static void large_values(void **state)
{
    (void)state;
    far_dyn *d = sink();
    size_t n = 1000000;
    char *json = malloc(n * 8 + 3);
    size_t at = 0;
    json[at++] = '[';
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(json + at, "%s%d", i ? "," : "", (int)(i % 2000) - 1000);
    json[at++] = ']';
    json[at] = '\0';
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, 64, 64 << 20), FAR_OK);
    assert_int_equal(far_dyn_encode_type(d, "ints", json, at, &e), FAR_OK);
    assert_int_equal(far_xdr_enc_len(&e), 4 + 4 * n);
    char *back;
    assert_int_equal(dec_type(d, "ints", far_xdr_enc_data(&e), far_xdr_enc_len(&e), 0, &back),
                     FAR_OK);
    assert_string_equal(back, json);
    free(back);
    far_xdr_enc_fini(&e);
    free(json);
    far_dyn_free(d);
}

static void hostile_xdr(void **state)
{
    (void)state;
    far_dyn *d = sink();
    bytes all = all_bytes();
    char *json;
    /* every truncation fails, naming where */
    for (size_t n = 0; n < all.n; n++) {
        far_err rc = dec_type(d, "all", all.b, n, 0, &json);
        assert_int_not_equal(rc, FAR_OK);
        assert_null(json);
        assert_non_null(strstr(far_last_error(), "all"));
    }
    /* invalid UTF-8 cannot go out as JSON: named field */
    static const char *badutf[] = {"\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                   "a\xe2\x82"};
    for (size_t i = 0; i < 5; i++) {
        bytes b = {.n = 0};
        wstr(&b, badutf[i]);
        w32(&b, 1);
        assert_int_equal(dec_type(d, "kv", b.b, b.n, 0, &json), FAR_EJSON);
        assert_non_null(strstr(far_last_error(), "kv.key: the string is not valid UTF-8"));
    }
    /* valid multibyte and control characters escape properly */
    bytes b = {.n = 0};
    wstr(&b, "\xf0\x9f\x98\x80\"\\\x01");
    w32(&b, 1);
    assert_int_equal(dec_type(d, "kv", b.b, b.n, 0, &json), FAR_OK);
    assert_string_equal(json, "{\"key\":\"\xf0\x9f\x98\x80\\\"\\\\\\u0001\",\"value\":1}");
    free(json);
    /* a string over its bound, a count over its bound, a huge count */
    b.n = 0;
    wstr(&b, "0123456789abcdefg");
    w32(&b, 1);
    assert_int_equal(dec_type(d, "kv", b.b, b.n, 0, &json), FAR_ELIMIT);
    assert_non_null(strstr(far_last_error(), "kv.key"));
    b.n = 0;
    w32(&b, 5);
    assert_int_equal(dec_type(d, "tags", b.b, b.n, 0, &json), FAR_ELIMIT);
    b.n = 0;
    wstr(&b, "t"), w32(&b, 0x7fffffff);
    assert_int_equal(dec_type(d, "tree", b.b, b.n, 0, &json), FAR_ETRUNC);
    assert_non_null(strstr(far_last_error(), "tree.kids"));
    /* bad bool, bad optional flag, no arm, bad padding, trailing */
    b.n = 0;
    w32(&b, 2);
    assert_int_equal(dec_type(d, "maybe", b.b, b.n, 0, &json), FAR_EBADVALUE);
    assert_non_null(strstr(far_last_error(), "maybe.has"));
    b.n = 0;
    w32(&b, 1), w32(&b, 2);
    assert_int_equal(dec_type(d, "node", b.b, b.n, 0, &json), FAR_EBADVALUE);
    assert_non_null(strstr(far_last_error(), "node.next"));
    b.n = 0;
    w32(&b, 9);
    assert_int_equal(dec_type(d, "res", b.b, b.n, 0, &json), FAR_EBADVALUE);
    assert_non_null(strstr(far_last_error(), "res.code: no arm of the union for 9"));
    b.n = 0;
    w32(&b, 1), w32(&b, 0xff000100);
    far_xdr_dec x;
    far_xdr_dec_init(&x, b.b, b.n, NULL, 0);
    assert_int_equal(far_dyn_decode_args(d, 7, &x, 0, &json), FAR_EPADDING);
    b.n = 0;
    w32(&b, 0), w32(&b, 0);
    assert_int_equal(dec_type(d, "maybe", b.b, b.n, 0, &json), FAR_ETRAILING);
    far_dyn_free(d);
}

static void load_refuses(void **state)
{
    (void)state;
    far_dyn *d = NULL;
    far_dyn_free(NULL);
    static const struct {
        int which;
        const char *want;
    } faults[] = {
        {0, "refers to type 99 of"},
        {1, "contains itself by value"},
        {2, "two members named key"},
        {3, "is a typedef of itself"},
        {4, "case 1 appears twice"},
        {5, "the discriminant is string"},
        {6, "two values named RED"},
        {7, "through optional data alone"},
        {8, "its elements take no bytes"},
        {9, "name \"9lives\" is not an identifier"},
        {10, "procedures TEST_NULL and TEST_ECHO have the same number"},
        {11, "argument 1 is void"},
        {12, "two types named kv"},
        {13, "a void arm has a name"},
        {14, "case 2 of a bool discriminant"},
        {15, "contains itself by value"},
        {16, "member 1 has no valid name"},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        far_dyn *ok = sink();
        far_dyn_free(ok);
        switch (faults[i].which) {
        case 0:
            MP[0].type = 99;
            break;
        case 1: /* kv { key; kv value } by value */
            MP[1].type = K_KV;
            break;
        case 2:
            MP[1].name = "key";
            break;
        case 3: /* count -> count2 -> count */
            T[K_COUNT].body.far_tbody_u.elem = ref("count2", FAR_T_ALIAS, K_COUNT);
            break;
        case 4: /* res: case 0 and case 1,2; make the first arm 0 -> 1 */
            T[K_RES].body.far_tbody_u.u.arms.arms_val[0].cases.cases_val[0] = 1;
            break;
        case 5:
            T[K_SHAPE].body.far_tbody_u.u.disc_type = K_STR16;
            break;
        case 6:
            T[K_COLOR].body.far_tbody_u.values.values_val[2].name = "RED";
            break;
        case 7: /* p -> *q, q -> *p */
        {
            uint32_t p = add("p", FAR_T_OPTIONAL);
            uint32_t q = ref("q", FAR_T_OPTIONAL, p);
            T[p].body.far_tbody_u.elem = q;
            break;
        }
        case 8:
            seq("voids", FAR_T_ARRAY_VAR, K_VOID, 4);
            break;
        case 9:
            T[K_KV].name = "9lives";
            break;
        case 10:
            PR[1].proc = 0;
            break;
        case 11:
            PR[1].args.args_val[0] = K_VOID;
            break;
        case 12:
            T[K_ALL].name = "kv";
            break;
        case 13:
            T[K_RES].body.far_tbody_u.u.arms.arms_val[1].name = "nothing";
            break;
        case 14:
            T[K_MAYBE].body.far_tbody_u.u.arms.arms_val[0].cases.cases_val[0] = 2;
            break;
        case 16: /* a keyword of the RPC language */
            MP[1].name = "opaque";
            break;
        case 15: /* a fixed array of itself, through an alias */
        {
            uint32_t a = add("loop", FAR_T_ARRAY_FIXED);
            T[a].body.far_tbody_u.seq.elem = ref("loop2", FAR_T_ALIAS, a);
            T[a].body.far_tbody_u.seq.bound = 2;
            break;
        }
        }
        far_err rc = try_load(&d);
        if (rc != FAR_EPROTO || !strstr(far_last_error(), faults[i].want))
            fail_msg("fault %d: got %s \"%s\", want \"%s\"", faults[i].which, far_errname(rc),
                     far_last_error(), faults[i].want);
        assert_null(d);
    }
    /* truncated at every length, one byte more */
    far_dyn_free(sink());
    size_t len;
    uint8_t *b = desc_bytes(&len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n + 1);
        memcpy(copy, b, n);
        assert_int_equal(far_dyn_load(&d, copy, n), FAR_EPROTO);
        free(copy);
    }
    uint8_t *longer = malloc(len + 4);
    memcpy(longer, b, len);
    memset(longer + len, 0, 4);
    assert_int_equal(far_dyn_load(&d, longer, len + 4), FAR_EPROTO);
    free(longer);
    assert_int_equal(far_dyn_load(&d, b, len), FAR_OK);
    far_dyn_free(d);
    assert_int_equal(far_dyn_load(NULL, b, len), FAR_EMISUSE);
    free(b);
}

/* The library's own description of far_reflect.x (fargen embeds it): a far_desc
 * goes to JSON by the description of far_desc and back to the same bytes. */
static void self_description(void **state)
{
    (void)state;
    const far_program_desc *pd = far_reflect_prog_1_program();
    if (!pd->type_desc)
        fail_msg("far_reflect.x was compiled with no description");
    far_dyn *self = NULL;
    if (far_dyn_load(&self, pd->type_desc, pd->type_desc_len) != FAR_OK)
        fail_msg("%s", far_last_error());
    assert_int_equal(far_dyn_prog(self), FAR_REFLECT_PROGRAM);
    assert_string_equal(far_dyn_prog_name(self), "FAR_REFLECT_PROG");
    far_dyn_free(sink());
    size_t len;
    uint8_t *b = desc_bytes(&len);
    char *json;
    assert_int_equal(dec_type(self, "far_desc", b, len, 0, &json), FAR_OK);
    assert_non_null(strstr(json, "\"prog_name\":\"TEST_PROG\""));
    assert_non_null(
        strstr(json, "{\"name\":\"kv\",\"body\":{\"kind\":\"FAR_T_STRUCT\",\"members\":"));
    far_xdr_enc e;
    assert_int_equal(far_xdr_enc_init_grow(&e, 64, 1 << 20), FAR_OK);
    assert_int_equal(far_dyn_encode_type(self, "far_desc", json, strlen(json), &e), FAR_OK);
    assert_int_equal(far_xdr_enc_len(&e), len);
    assert_memory_equal(far_xdr_enc_data(&e), b, len);
    far_xdr_enc_fini(&e);
    free(json);
    free(b);
    /* its text */
    char *text;
    assert_int_equal(far_dyn_to_x(self, &text), FAR_OK);
    static const char *want[] = {
        "const FAR_REFLECT_MAXNAME = 256;",
        "typedef string far_rname<256>;",
        "typedef unsigned int far_tref;",
        "union far_tbody switch (far_tkind kind) {\ncase FAR_T_ENUM:\n    far_tenumval "
        "values<65536>;",
        "case FAR_T_OPAQUE_FIXED:\ncase FAR_T_OPAQUE_VAR:\ncase FAR_T_STRING:\n    unsigned int "
        "bound;",
        "default:\n    void;\n};",
        "    far_tarm *dflt;",
        "        far_reflect_desc_res FAR_REFLECT_DESCRIBE(far_reflect_which) = 2;",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("far_dyn_to_x lacks \"%s\" in:\n%s", want[i], text);
    char dir[] = "/tmp/test_dyn_self_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/far_reflect.x", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    const char *fargen = getenv("FARGEN");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' --stdout -h '%s' > /dev/null", fargen ? fargen : "fargen",
             path);
    int st = system(cmd);
    unlink(path);
    rmdir(dir);
    if (st != 0)
        fail_msg("fargen refused far_reflect.x as far_dyn_to_x writes it:\n%s", text);
    free(text);
    far_dyn_free(self);
}

/* Runs `cmd`; its exit status. */
static int run(const char *cmd)
{
    int st = system(cmd);
    return st == -1 ? -1 : WEXITSTATUS(st);
}

static void to_x_compiles(void **state)
{
    (void)state;
    far_dyn *d = sink();
    char *text = NULL;
    assert_int_equal(far_dyn_to_x(d, &text), FAR_OK);
    static const char *want[] = {
        "const MAXKEY = 16;",
        "const NEG = -5;",
        "enum color {\n    RED = 0,\n    GREEN = 1,\n    BLUE = 2\n};",
        "struct kv {\n    string key<16>;\n    int value;\n};",
        "typedef kv tags<4>;",
        "typedef int count;",
        "    node *next;",
        "union shape switch (color c) {\ncase RED:\n    int i;\ncase GREEN:\n    void;\ndefault:\n"
        "    string s<16>;\n};",
        "union res switch (int code) {\ncase 0:\n    kv ok;\ncase 1:\ncase 2:\n    void;\n};",
        "/*@ extern des_block */",
        "    opaque fo[3];\n    opaque vo<8>;\n    int fa[2];\n    int va<3>;",
        "    unsigned hyper uh;",
        "    quadruple q;",
        "case TRUE:\n    int val;\ncase FALSE:\n    void;",
        "typedef node *nodeptr;",
        "    tree kids<>;",
        "typedef int ints<>;",
        "program TEST_PROG {\n    version TEST_V2 {\n        void TEST_NULL(void) = 0;\n"
        "        all TEST_ECHO(all) = 1;\n        int TEST_TWO(int, string) = 2;",
        "        string TEST_STR(string) = 7;\n    } = 2;\n} = 0x20001234;",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("far_dyn_to_x lacks \"%s\" in:\n%s", want[i], text);
    char dir[] = "/tmp/test_dyn_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], cmd[1024];
    snprintf(path, sizeof path, "%s/sink.x", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    const char *fargen = getenv("FARGEN");
    if (fargen && *fargen) {
        snprintf(cmd, sizeof cmd, "'%s' --stdout -h '%s' > /dev/null", fargen, path);
        if (run(cmd) != 0)
            fail_msg("fargen refused far_dyn_to_x's text:\n%s", text);
        snprintf(cmd, sizeof cmd, "'%s' -o '%s' '%s'", fargen, dir, path);
        assert_int_equal(run(cmd), 0);
    } else {
        fail_msg("FARGEN is not set (the test is registered with it)");
    }
    const char *rpcgen = getenv("RPCGEN");
    if (rpcgen && *rpcgen) {
        /* several arguments: rpcgen -N */
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' -N -h -o sink_r.h sink.x", dir, rpcgen);
        if (run(cmd) != 0)
            fail_msg("rpcgen refused far_dyn_to_x's text:\n%s", text);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(run(cmd), 0);
    free(text);
    far_dyn_free(d);

    /* anonymous bodies get typedefs of their own */
    begin();
    add("", FAR_T_INT);
    strct("", 1, "x", 0);
    uint32_t str8 = bounded("", FAR_T_STRING, 8);
    uint32_t many = seq("", FAR_T_ARRAY_VAR, str8, 5);
    uint32_t outer = strct("outer", 2, "in", 1, "many", many);
    uint32_t vd = add("", FAR_T_VOID);
    uint32_t arr = seq("", FAR_T_ARRAY_VAR, outer, 10);
    proc("P_NULL", 0, vd, 0);
    proc("P_GET", 1, outer, 1, arr);
    d = load();
    assert_int_equal(far_dyn_to_x(d, &text), FAR_OK);
    if (!strstr(text, "struct far_anon_1 {\n    int x;\n};") ||
        !strstr(text, "typedef string far_anon_2<8>;") || !strstr(text, "far_anon_1 in;") ||
        !strstr(text, "far_anon_2 many<5>;") || !strstr(text, "typedef outer far_anon_6<10>;") ||
        !strstr(text, "outer P_GET(far_anon_6) = 1;"))
        fail_msg("anonymous types:\n%s", text);
    f = fopen("/tmp/test_dyn_anon.x", "w");
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' --stdout -h /tmp/test_dyn_anon.x > /dev/null", fargen);
    if (run(cmd) != 0)
        fail_msg("fargen refused:\n%s", text);
    unlink("/tmp/test_dyn_anon.x");
    free(text);
    far_dyn_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_kinds_exact_bytes),
        cmocka_unit_test(accessors_and_procs),
        cmocka_unit_test(errors_name_the_field),
        cmocka_unit_test(hostile_json),
        cmocka_unit_test(huge_string_against_bound),
        cmocka_unit_test(specials_and_base64),
        cmocka_unit_test(hostile_xdr),
        cmocka_unit_test(large_values),
        cmocka_unit_test(load_refuses),
        cmocka_unit_test(to_x_compiles),
        cmocka_unit_test(self_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
