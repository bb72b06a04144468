/* fargen_desc: the type descriptions fargen embeds in foo_svc.c, decoded
 * with the library's far_desc_decode and checked in detail against what
 * shapes.x (most kinds of type) and calc.x (lists, unions with a default
 * arm, rpcgen -N style procedures, two versions) say; the embedded source
 * is the .x text, also where it needs escaping in C (escapes.x);
 * fg_describe_file (fargen's front end as a library) gives the same bytes as
 * the embedded ones.
 *
 * Through fg_describe_file alone: lang.x (every primitive, typedef forms,
 * inline bodies, unsigned and bool discriminants), point.x (external types)
 * and the system's nlm_prot.x (netobj).
 *
 * usage: fargen_desc SHAPES.x CALC.x ESCAPES.x LANG.x POINT.x */
#include <farcall/rpc.h>
#include <unistd.h>

#include "calc.h"
#include "descutil.h"
#include "escapes.h"
#include "fg_desc.h"
#include "shapes.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* member i of struct t: its name, and its type returned */
static far_tref member(const far_desc *d, far_tref t, uint32_t i, const char *nm)
{
    const far_type *ty = type_at(d, t);
    if (ty->body.kind != FAR_T_STRUCT || i >= ty->body.far_tbody_u.members.members_len) {
        fprintf(stderr, "type %u (%s) has no member %u (%s)\n", t, ty->name, i, nm);
        failures++;
        return d->types.types_len;
    }
    const far_tmember *m = &ty->body.far_tbody_u.members.members_val[i];
    CHECK_STR(m->name, nm);
    return m->type;
}

/* Is r an anonymous sequence (array) of elem with bound? */
static bool is_seq(const far_desc *d, far_tref r, far_tkind k, far_tref elem, uint32_t bound)
{
    const far_type *t = type_at(d, r);
    return t->name[0] == '\0' && t->body.kind == k && t->body.far_tbody_u.seq.elem == elem &&
           t->body.far_tbody_u.seq.bound == bound;
}

static bool is_bytes(const far_desc *d, far_tref r, far_tkind k, uint32_t bound)
{
    const far_type *t = type_at(d, r);
    return t->name[0] == '\0' && t->body.kind == k && t->body.far_tbody_u.bound == bound;
}

static const far_tproc *proc(const far_desc *d, uint32_t i, const char *nm, uint32_t number,
                             uint32_t nargs)
{
    static const far_tproc none;
    if (i >= d->procs.procs_len) {
        fprintf(stderr, "no procedure %u (%s)\n", i, nm);
        failures++;
        return &none;
    }
    const far_tproc *p = &d->procs.procs_val[i];
    CHECK_STR(p->name, nm);
    CHECK_U(p->proc, number);
    CHECK_U(p->args.args_len, nargs);
    if (p->args.args_len != nargs)
        return &none;
    return p;
}

static void check_arm(const far_desc *d, const far_tarm *a, const int32_t *cases, uint32_t ncases,
                      const char *nm, far_tref type)
{
    CHECK_U(a->cases.cases_len, ncases);
    for (uint32_t i = 0; i < ncases && i < a->cases.cases_len; i++)
        CHECK_U((uint32_t)a->cases.cases_val[i], (uint32_t)cases[i]);
    CHECK_STR(a->name, nm);
    CHECK_U(a->type, type);
    (void)d;
}

static const far_tunion *union_of(const far_desc *d, far_tref r, uint32_t narms)
{
    static const far_tunion none;
    const far_type *t = type_at(d, r);
    CHECK_U(t->body.kind, FAR_T_UNION);
    if (t->body.kind != FAR_T_UNION || t->body.far_tbody_u.u.arms.arms_len != narms) {
        fprintf(stderr, "%s is no union of %u arms\n", t->name, narms);
        failures++;
        return &none;
    }
    return &t->body.far_tbody_u.u;
}

/* shapes.x, both versions */
static void check_shapes(const far_desc *d, uint32_t vers)
{
    CHECK_U(d->prog, 0x2000c0e3);
    CHECK_U(d->vers, vers);
    CHECK_STR(d->prog_name, "SHAPES_PROG");
    CHECK_STR(d->vers_name, vers == 1 ? "SHAPES_V1" : "SHAPES_V2");

    /* the definitions, in source order, first */
    static const char *const names[] = {"color", "name", "note", "tag", "shade", "maybe", "shape"};
    CHECK(d->types.types_len > 7);
    if (d->types.types_len <= 7)
        return;
    for (uint32_t i = 0; i < 7; i++)
        CHECK_STR(d->types.types_val[i].name, names[i]);
    for (uint32_t i = 7; i < d->types.types_len; i++)
        CHECK_STR(d->types.types_val[i].name, "");
    const far_type *T = d->types.types_val;
    enum { COLOR, NAME, NOTE, TAG, SHADE, MAYBE, SHAPE };

    /* enum color { RED = 1, GREEN = 2, BLUE = 3 } */
    CHECK_U(T[COLOR].body.kind, FAR_T_ENUM);
    CHECK_U(T[COLOR].body.far_tbody_u.values.values_len, 3);
    if (T[COLOR].body.far_tbody_u.values.values_len == 3) {
        static const char *const vn[] = {"RED", "GREEN", "BLUE"};
        for (int i = 0; i < 3; i++) {
            CHECK_STR(T[COLOR].body.far_tbody_u.values.values_val[i].name, vn[i]);
            CHECK_U(T[COLOR].body.far_tbody_u.values.values_val[i].value, i + 1);
        }
    }
    /* typedef string name<16>;  typedef string note<8>; */
    CHECK_U(T[NAME].body.kind, FAR_T_STRING);
    CHECK_U(T[NAME].body.far_tbody_u.bound, 16);
    CHECK_U(T[NOTE].body.kind, FAR_T_STRING);
    CHECK_U(T[NOTE].body.far_tbody_u.bound, 8);

    /* struct tag { name key; string value<>; } */
    CHECK_U(T[TAG].body.kind, FAR_T_STRUCT);
    CHECK_U(T[TAG].body.far_tbody_u.members.members_len, 2);
    CHECK_U(member(d, TAG, 0, "key"), NAME);
    far_tref str_unbounded = member(d, TAG, 1, "value");
    CHECK(is_bytes(d, str_unbounded, FAR_T_STRING, 0xffffffffu));

    /* union shade switch (color c) { GREEN: string label<>; RED: int level; BLUE: void; } */
    const far_tunion *u = union_of(d, SHADE, 3);
    CHECK_STR(u->disc_name, "c");
    CHECK_U(u->disc_type, COLOR);
    if (u->arms.arms_len == 3) {
        far_tref i32 = u->arms.arms_val[1].type;
        CHECK(is_anon(d, i32, FAR_T_INT));
        far_tref v = u->arms.arms_val[2].type;
        CHECK(is_anon(d, v, FAR_T_VOID));
        check_arm(d, &u->arms.arms_val[0], (const int32_t[]){2}, 1, "label", str_unbounded);
        check_arm(d, &u->arms.arms_val[1], (const int32_t[]){1}, 1, "level", i32);
        check_arm(d, &u->arms.arms_val[2], (const int32_t[]){3}, 1, "", v);
    }
    CHECK(u->dflt == NULL);

    /* union maybe switch (int k) { case 7: tag t; default: void; } */
    u = union_of(d, MAYBE, 1);
    CHECK_STR(u->disc_name, "k");
    CHECK(is_anon(d, u->disc_type, FAR_T_INT));
    if (u->arms.arms_len == 1)
        check_arm(d, &u->arms.arms_val[0], (const int32_t[]){7}, 1, "t", TAG);
    CHECK(u->dflt != NULL);
    if (u->dflt) {
        CHECK_U(u->dflt->cases.cases_len, 0);
        CHECK_STR(u->dflt->name, "");
        CHECK(is_anon(d, u->dflt->type, FAR_T_VOID));
    }

    /* struct shape */
    CHECK_U(T[SHAPE].body.kind, FAR_T_STRUCT);
    CHECK_U(T[SHAPE].body.far_tbody_u.members.members_len, 12);
    far_tref int_t = d->types.types_len; /* the int of dims, below */
    CHECK_U(member(d, SHAPE, 0, "title"), NAME);
    CHECK_U(member(d, SHAPE, 1, "fill"), COLOR);
    CHECK_U(member(d, SHAPE, 2, "edge"), SHADE);
    CHECK(is_seq(d, member(d, SHAPE, 3, "tags"), FAR_T_ARRAY_FIXED, TAG, 2));
    CHECK(is_seq(d, member(d, SHAPE, 4, "notes"), FAR_T_ARRAY_FIXED, NOTE, 4));
    CHECK(is_seq(d, member(d, SHAPE, 5, "more"), FAR_T_ARRAY_VAR, TAG, 4));
    CHECK(is_bytes(d, member(d, SHAPE, 6, "raw"), FAR_T_OPAQUE_VAR, 0xffffffffu));
    far_tref dims = member(d, SHAPE, 7, "dims");
    const far_type *dt = type_at(d, dims);
    CHECK(dt->name[0] == '\0' && dt->body.kind == FAR_T_ARRAY_FIXED);
    if (dt->body.kind == FAR_T_ARRAY_FIXED) {
        int_t = dt->body.far_tbody_u.seq.elem;
        CHECK(is_anon(d, int_t, FAR_T_INT));
        CHECK_U(dt->body.far_tbody_u.seq.bound, 3);
    }
    far_tref next = member(d, SHAPE, 8, "next");
    CHECK(type_at(d, next)->name[0] == '\0');
    CHECK_U(type_at(d, next)->body.kind, FAR_T_OPTIONAL);
    CHECK_U(type_at(d, next)->body.far_tbody_u.elem, SHAPE);
    CHECK_U(member(d, SHAPE, 9, "extra"), MAYBE);
    far_tref inner = member(d, SHAPE, 10, "inner"); /* struct { color c; name n; } */
    CHECK(type_at(d, inner)->name[0] == '\0');
    CHECK_U(type_at(d, inner)->body.kind, FAR_T_STRUCT);
    CHECK_U(type_at(d, inner)->body.far_tbody_u.members.members_len, 2);
    if (type_at(d, inner)->body.far_tbody_u.members.members_len == 2) {
        CHECK_U(member(d, inner, 0, "c"), COLOR);
        CHECK_U(member(d, inner, 1, "n"), NAME);
    }
    CHECK(is_anon(d, member(d, SHAPE, 11, "flag"), FAR_T_BOOL));

    /* const SHAPES_MAX = 4; */
    CHECK_U(d->consts.consts_len, 1);
    if (d->consts.consts_len == 1) {
        CHECK_STR(d->consts.consts_val[0].name, "SHAPES_MAX");
        CHECK_U(d->consts.consts_val[0].value, 4);
    }

    /* procedures, in source order */
    const far_tproc *p;
    if (vers == 1) {
        CHECK_U(d->procs.procs_len, 7);
        p = proc(d, 0, "SHAPES_NULL", 0, 0);
        CHECK(is_anon(d, p->res, FAR_T_VOID));
        p = proc(d, 1, "SHAPES_ECHO", 1, 1);
        if (p->args.args_len == 1)
            CHECK_U(p->args.args_val[0], SHAPE);
        CHECK_U(p->res, SHAPE);
        p = proc(d, 2, "SHAPES_NAME", 2, 3); /* string SHAPES_NAME(color, name, int) */
        if (p->args.args_len == 3) {
            CHECK_U(p->args.args_val[0], COLOR);
            CHECK_U(p->args.args_val[1], NAME);
            CHECK_U(p->args.args_val[2], int_t);
        }
        CHECK_U(p->res, str_unbounded); /* string: string<>, the same type as tag.value */
        p = proc(d, 3, "SHAPES_PICK", 3, 1);
        if (p->args.args_len == 1)
            CHECK_U(p->args.args_val[0], SHADE);
        CHECK_U(p->res, COLOR);
        p = proc(d, 4, "SHAPES_MAYBE", 4, 1);
        if (p->args.args_len == 1)
            CHECK_U(p->args.args_val[0], TAG);
        CHECK_U(p->res, MAYBE);
        p = proc(d, 5, "SHAPES_TITLE", 5, 1);
        if (p->args.args_len == 1)
            CHECK_U(p->args.args_val[0], str_unbounded);
        CHECK_U(p->res, NAME);
        p = proc(d, 6, "SHAPES_DROP", 6, 1);
        if (p->args.args_len == 1)
            CHECK_U(p->args.args_val[0], MAYBE);
        CHECK(is_anon(d, p->res, FAR_T_VOID));
    } else {
        CHECK_U(d->procs.procs_len, 2);
        p = proc(d, 0, "SHAPES_SHADE", 1, 0);
        CHECK_U(p->res, SHADE);
        p = proc(d, 1, "SHAPES_COUNT", 2, 1);
        if (p->args.args_len == 1)
            CHECK_U(p->args.args_val[0], TAG);
        CHECK(is_anon(d, p->res, FAR_T_HYPER));
    }
}

/* calc.x: version 1 and 2 */
static void check_calc(const far_desc *d, uint32_t vers)
{
    CHECK_U(d->prog, 0x2000c0de);
    CHECK_U(d->vers, vers);
    CHECK_STR(d->prog_name, "CALC_PROG");
    CHECK_STR(d->vers_name, vers == 1 ? "CALC_V1" : "CALC_V2");
    static const char *const names[] = {"op", "operand", "request", "reply"};
    CHECK(d->types.types_len > 4);
    if (d->types.types_len <= 4)
        return;
    for (uint32_t i = 0; i < 4; i++)
        CHECK_STR(d->types.types_val[i].name, names[i]);
    enum { OP, OPERAND, REQUEST, REPLY };
    const far_type *T = d->types.types_val;
    /* enum op { ADD = 1, MUL = 2, NEG = 3 } */
    CHECK_U(T[OP].body.kind, FAR_T_ENUM);
    CHECK_U(T[OP].body.far_tbody_u.values.values_len, 3);
    if (T[OP].body.far_tbody_u.values.values_len == 3) {
        CHECK_STR(T[OP].body.far_tbody_u.values.values_val[2].name, "NEG");
        CHECK_U(T[OP].body.far_tbody_u.values.values_val[2].value, 3);
    }
    /* struct operand { hyper value; operand *next; } */
    CHECK_U(T[OPERAND].body.kind, FAR_T_STRUCT);
    far_tref hyper = member(d, OPERAND, 0, "value");
    CHECK(is_anon(d, hyper, FAR_T_HYPER));
    far_tref opt = member(d, OPERAND, 1, "next");
    CHECK_U(type_at(d, opt)->body.kind, FAR_T_OPTIONAL);
    CHECK_U(type_at(d, opt)->body.far_tbody_u.elem, OPERAND);
    /* struct request { op what; operand *args; string label<CALC_MAX>; } */
    CHECK_U(member(d, REQUEST, 0, "what"), OP);
    CHECK_U(member(d, REQUEST, 1, "args"), opt); /* the same anonymous operand * */
    CHECK(is_bytes(d, member(d, REQUEST, 2, "label"), FAR_T_STRING, 16));
    /* union reply switch (int status) { 0: hyper result; 1, 2: string why<>; default: void; } */
    const far_tunion *u = union_of(d, REPLY, 2);
    CHECK_STR(u->disc_name, "status");
    CHECK(is_anon(d, u->disc_type, FAR_T_INT));
    if (u->arms.arms_len == 2) {
        check_arm(d, &u->arms.arms_val[0], (const int32_t[]){0}, 1, "result", hyper);
        check_arm(d, &u->arms.arms_val[1], (const int32_t[]){1, 2}, 2, "why",
                  u->arms.arms_val[1].type);
        CHECK(is_bytes(d, u->arms.arms_val[1].type, FAR_T_STRING, 0xffffffffu));
    }
    CHECK(u->dflt && u->dflt->cases.cases_len == 0 && is_anon(d, u->dflt->type, FAR_T_VOID));
    CHECK_U(d->consts.consts_len, 1);
    if (d->consts.consts_len == 1) {
        CHECK_STR(d->consts.consts_val[0].name, "CALC_MAX");
        CHECK_U(d->consts.consts_val[0].value, 16);
    }
    const far_tproc *p;
    if (vers == 1) {
        CHECK_U(d->procs.procs_len, 6);
        p = proc(d, 0, "CALCPROC_NULL", 0, 0);
        CHECK(is_anon(d, p->res, FAR_T_VOID));
        p = proc(d, 1, "CALCPROC_EVAL", 1, 1);
        if (p->args.args_len == 1)
            CHECK_U(p->args.args_val[0], REQUEST);
        CHECK_U(p->res, REPLY);
        p = proc(d, 2, "CALCPROC_ADD2", 2, 2); /* int CALCPROC_ADD2(int, int) */
        if (p->args.args_len == 2) {
            CHECK(is_anon(d, p->args.args_val[0], FAR_T_INT));
            CHECK_U(p->args.args_val[1], p->args.args_val[0]);
            CHECK_U(p->res, p->args.args_val[0]);
            CHECK_U(p->res, u->disc_type); /* int, once */
        }
        p = proc(d, 3, "CALCPROC_ECHO", 3, 1);
        if (p->args.args_len == 1) {
            CHECK(is_bytes(d, p->args.args_val[0], FAR_T_STRING, 0xffffffffu));
            CHECK_U(p->res, p->args.args_val[0]);
        }
        p = proc(d, 4, "CALCPROC_MISSING", 4, 1);
        if (p->args.args_len == 1)
            CHECK(is_anon(d, p->args.args_val[0], FAR_T_INT));
        CHECK(is_anon(d, p->res, FAR_T_VOID));
        p = proc(d, 5, "CALCPROC_WAIT", 5, 0);
        CHECK(is_anon(d, p->res, FAR_T_VOID));
    } else {
        CHECK_U(d->procs.procs_len, 1);
        p = proc(d, 0, "CALCPROC_COUNT", 1, 0);
        CHECK(is_anon(d, p->res, FAR_T_UHYPER));
    }
}

/* escapes.x: a source full of what a C literal escapes; the consts a
 * description has (a char constant, a negative one) and leaves out */
static void check_escapes(const far_desc *d, uint32_t vers)
{
    CHECK_U(d->prog, 0x2000e5c0);
    CHECK_U(vers, 1);
    CHECK_STR(d->prog_name, "ESC_PROG");
    CHECK_STR(d->vers_name, "ESC_V1");
    CHECK(d->types.types_len >= 1);
    if (d->types.types_len < 1)
        return;
    CHECK_STR(d->types.types_val[0].name, "esc_text");
    CHECK_U(d->types.types_val[0].body.kind, FAR_T_STRING);
    CHECK_U(d->types.types_val[0].body.far_tbody_u.bound, 'A');
    CHECK_U(d->consts.consts_len, 2); /* not ESC_GREETING (a string), ESC_FROM_C (C's) */
    if (d->consts.consts_len == 2) {
        CHECK_STR(d->consts.consts_val[0].name, "ESC_MAX");
        CHECK_U(d->consts.consts_val[0].value, 65);
        CHECK_STR(d->consts.consts_val[1].name, "ESC_CR");
        CHECK(d->consts.consts_val[1].value == -1);
    }
    CHECK_U(d->procs.procs_len, 1);
    const far_tproc *p = proc(d, 0, "ESC_ECHO", 1, 1);
    if (p->args.args_len == 1)
        CHECK_U(p->args.args_val[0], 0);
    CHECK_U(p->res, 0);
}

/* Decodes an embedded description, validates it, checks it, compares it
 * with fg_describe_file's for the same program version. */
static void check_one(const far_program_desc *pd, const char *src_text,
                      void (*check)(const far_desc *, uint32_t), const fg_described *ds, size_t nds,
                      const char *what)
{
    CHECK(pd->type_desc != NULL);
    CHECK(pd->type_desc_len > 0);
    CHECK(pd->source != NULL);
    if (!pd->type_desc || !pd->source)
        return;
    CHECK_STR(pd->source, src_text);
    far_desc d;
    if (!desc_decode(pd->type_desc, pd->type_desc_len, &d, what)) {
        failures++;
        return;
    }
    desc_validate(&d, pd->type_desc, pd->type_desc_len, what);
    check(&d, pd->vers);
    CHECK_U(d.prog, pd->prog);
    bool found = false;
    for (size_t i = 0; i < nds; i++)
        if (ds[i].prog == pd->prog && ds[i].vers == pd->vers) {
            found = true;
            CHECK_STR(ds[i].prog_name, d.prog_name);
            CHECK_STR(ds[i].vers_name, d.vers_name);
            CHECK(ds[i].len == pd->type_desc_len &&
                  memcmp(ds[i].desc, pd->type_desc, ds[i].len) == 0);
        }
    CHECK(found);
    far_desc_free(&d);
}

/* path's versions 1 and (v2 not NULL) 2 */
static void file(const char *path, const far_program_desc *v1, const far_program_desc *v2,
                 void (*check)(const far_desc *, uint32_t))
{
    char *text = slurp(path);
    CHECK(text != NULL);
    if (!text)
        return;
    fg_described *ds = NULL;
    size_t nds = 0;
    char *source = NULL;
    char err[512];
    bool ok = fg_describe_file(path, NULL, &ds, &nds, &source, err, sizeof err);
    if (!ok)
        fprintf(stderr, "fg_describe_file %s: %s\n", path, err);
    CHECK(ok);
    CHECK_U(nds, v2 ? 2 : 1);
    if (ok && nds == (v2 ? 2u : 1u)) {
        CHECK_STR(source, text);
        CHECK_U(ds[0].vers, 1);
        if (v2)
            CHECK_U(ds[1].vers, 2);
    }
    check_one(v1, text, check, ds, nds, path);
    if (v2) {
        check_one(v2, text, check, ds, nds, path);
        CHECK(v1->source == v2->source); /* one copy of the text */
    }
    fg_described_free(ds, nds);
    free(source);
    free(text);
}

/* Version `vers` of the first program of `path`, through fg_describe_file
 * (externs: --extern names), decoded into *d and validated.  False: failed. */
static bool described(const char *path, uint32_t vers, const char *const *externs, int nexterns,
                      far_desc *d)
{
    fg_describe_opts o;
    memset(&o, 0, sizeof o);
    o.externs = externs;
    o.nexterns = nexterns;
    fg_described *ds;
    size_t nds;
    char err[512];
    if (!fg_describe_file(path, &o, &ds, &nds, NULL, err, sizeof err)) {
        fprintf(stderr, "fg_describe_file %s: %s\n", path, err);
        failures++;
        return false;
    }
    bool ok = false;
    for (size_t i = 0; i < nds && !ok; i++)
        if (ds[i].vers == vers && ds[i].prog == ds[0].prog) {
            ok = desc_decode(ds[i].desc, ds[i].len, d, path);
            if (ok)
                desc_validate(d, ds[i].desc, ds[i].len, path);
        }
    if (!ok) {
        fprintf(stderr, "%s: no version %u that decodes\n", path, vers);
        failures++;
    }
    fg_described_free(ds, nds);
    return ok;
}

static void check_members(const far_desc *d, far_tref t, const char *const *names,
                          const far_tkind *kinds, uint32_t n)
{
    CHECK_U(type_at(d, t)->body.far_tbody_u.members.members_len, n);
    for (uint32_t i = 0; i < n; i++)
        CHECK_U(type_at(d, member(d, t, i, names[i]))->body.kind, kinds[i]);
}

/* tests/golden/lang.x: every primitive kind, typedef forms, inline bodies,
 * unsigned and bool discriminants, octal and hex case labels, consts */
static void check_lang(const char *path)
{
    far_desc d;
    if (!described(path, 1, NULL, 0, &d))
        return;
    static const char *const names[] = {
        "color", "count", "ucount",  "digest", "blob", "name",  "counts",       "bigs", "nodeptr",
        "node",  "tree",  "scalars", "result", "flag", "coded", "inline_forms", "pair"};
    enum { NNAMED = sizeof names / sizeof names[0] };
    enum {
        COLOR,
        COUNT,
        UCOUNT,
        DIGEST,
        BLOB,
        NAME_,
        COUNTS,
        BIGS,
        NODEPTR,
        NODE,
        TREE,
        SCALARS,
        RESULT,
        FLAG,
        CODED,
        INLINE_FORMS,
        PAIR
    };
    CHECK(d.types.types_len > NNAMED);
    if (d.types.types_len <= NNAMED) {
        far_desc_free(&d);
        return;
    }
    for (uint32_t i = 0; i < NNAMED; i++)
        CHECK_STR(d.types.types_val[i].name, names[i]);
    CHECK_STR(d.types.types_val[NNAMED].name, "");
    const far_type *T = d.types.types_val;

    /* enum color { RED = 1, GREEN = HEX, BLUE }: rpcgen's previous + 1 */
    CHECK_U(T[COLOR].body.far_tbody_u.values.values_len, 3);
    if (T[COLOR].body.far_tbody_u.values.values_len == 3) {
        CHECK_U(T[COLOR].body.far_tbody_u.values.values_val[1].value, 32);
        CHECK_STR(T[COLOR].body.far_tbody_u.values.values_val[2].name, "BLUE");
        CHECK_U(T[COLOR].body.far_tbody_u.values.values_val[2].value, 33);
    }
    /* typedef forms */
    CHECK_U(T[COUNT].body.kind, FAR_T_ALIAS);
    CHECK(is_anon(&d, T[COUNT].body.far_tbody_u.elem, FAR_T_INT));
    CHECK_U(T[UCOUNT].body.kind, FAR_T_ALIAS);
    CHECK(is_anon(&d, T[UCOUNT].body.far_tbody_u.elem, FAR_T_UINT));
    CHECK_U(T[DIGEST].body.kind, FAR_T_OPAQUE_FIXED);
    CHECK_U(T[DIGEST].body.far_tbody_u.bound, 16);
    CHECK_U(T[BLOB].body.kind, FAR_T_OPAQUE_VAR);
    CHECK_U(T[BLOB].body.far_tbody_u.bound, 10);
    CHECK_U(T[NAME_].body.kind, FAR_T_STRING);
    CHECK_U(T[NAME_].body.far_tbody_u.bound, 0xffffffffu);
    CHECK_U(T[COUNTS].body.kind, FAR_T_ARRAY_VAR);
    CHECK_U(T[COUNTS].body.far_tbody_u.seq.elem, COUNT);
    CHECK_U(T[COUNTS].body.far_tbody_u.seq.bound, 15); /* OCT = 017 */
    CHECK_U(T[BIGS].body.kind, FAR_T_ARRAY_FIXED);
    CHECK(is_anon(&d, T[BIGS].body.far_tbody_u.seq.elem, FAR_T_HYPER));
    CHECK_U(T[BIGS].body.far_tbody_u.seq.bound, 2);
    CHECK_U(T[NODEPTR].body.kind, FAR_T_OPTIONAL); /* typedef struct node *nodeptr; */
    CHECK_U(T[NODEPTR].body.far_tbody_u.elem, NODE);
    CHECK_U(member(&d, NODE, 1, "next"), NODEPTR);
    /* struct tree { int id; tree kids<>; tree *parent_hint; bool leaf; } */
    CHECK(is_seq(&d, member(&d, TREE, 1, "kids"), FAR_T_ARRAY_VAR, TREE, 0xffffffffu));
    /* every primitive */
    static const char *const sn[] = {"c",  "uc", "s", "us", "l", "ul",    "u",    "h",
                                     "uh", "f",  "d", "q",  "b", "shade", "first"};
    static const far_tkind sk[] = {FAR_T_CHAR,   FAR_T_UCHAR, FAR_T_SHORT,  FAR_T_USHORT,
                                   FAR_T_INT,    FAR_T_UINT,  FAR_T_UINT,   FAR_T_HYPER,
                                   FAR_T_UHYPER, FAR_T_FLOAT, FAR_T_DOUBLE, FAR_T_QUAD,
                                   FAR_T_BOOL,   FAR_T_ENUM,  FAR_T_STRUCT};
    check_members(&d, SCALARS, sn, sk, 15);
    CHECK_U(member(&d, SCALARS, 13, "shade"), COLOR);
    CHECK_U(member(&d, SCALARS, 14, "first"), NODE);
    CHECK_U(member(&d, SCALARS, 4, "l"), T[COUNT].body.far_tbody_u.elem); /* one int */
    CHECK_U(member(&d, SCALARS, 5, "ul"), member(&d, SCALARS, 6, "u"));   /* one unsigned */

    /* union result switch (color which) { RED, GREEN: counts; BLUE: void; default: digest } */
    const far_tunion *u = union_of(&d, RESULT, 2);
    CHECK_U(u->disc_type, COLOR);
    if (u->arms.arms_len == 2) {
        check_arm(&d, &u->arms.arms_val[0], (const int32_t[]){1, 32}, 2, "values", COUNTS);
        check_arm(&d, &u->arms.arms_val[1], (const int32_t[]){33}, 1, "", u->arms.arms_val[1].type);
        CHECK(is_anon(&d, u->arms.arms_val[1].type, FAR_T_VOID));
    }
    CHECK(u->dflt != NULL);
    if (u->dflt)
        check_arm(&d, u->dflt, NULL, 0, "sum", DIGEST);
    /* union flag switch (bool set) { TRUE: name why; FALSE: void; } */
    u = union_of(&d, FLAG, 2);
    CHECK(is_anon(&d, u->disc_type, FAR_T_BOOL));
    if (u->arms.arms_len == 2) {
        check_arm(&d, &u->arms.arms_val[0], (const int32_t[]){1}, 1, "why", NAME_);
        CHECK_U(u->arms.arms_val[1].cases.cases_len, 1);
        if (u->arms.arms_val[1].cases.cases_len == 1)
            CHECK_U(u->arms.arms_val[1].cases.cases_val[0], 0);
    }
    CHECK(u->dflt == NULL);
    /* union coded switch (unsigned code) { 0: void; 0x10, 021: int small; } */
    u = union_of(&d, CODED, 2);
    CHECK(is_anon(&d, u->disc_type, FAR_T_UINT));
    if (u->arms.arms_len == 2)
        check_arm(&d, &u->arms.arms_val[1], (const int32_t[]){16, 17}, 2, "small",
                  T[COUNT].body.far_tbody_u.elem);
    /* inline bodies: struct { int x; int y; }, union switch (int k) {...}, enum {...} */
    far_tref pt = member(&d, INLINE_FORMS, 0, "point");
    CHECK_STR(type_at(&d, pt)->name, "");
    check_members(&d, pt, (const char *const[]){"x", "y"},
                  (const far_tkind[]){FAR_T_INT, FAR_T_INT}, 2);
    far_tref either = member(&d, INLINE_FORMS, 1, "either");
    CHECK_STR(type_at(&d, either)->name, "");
    u = union_of(&d, either, 1);
    CHECK_STR(u->disc_name, "k");
    CHECK(u->dflt != NULL && is_anon(&d, u->dflt->type, FAR_T_VOID));
    far_tref level = member(&d, INLINE_FORMS, 2, "level");
    CHECK_STR(type_at(&d, level)->name, "");
    CHECK_U(type_at(&d, level)->body.kind, FAR_T_ENUM);
    if (type_at(&d, level)->body.far_tbody_u.values.values_len == 2) {
        CHECK_STR(type_at(&d, level)->body.far_tbody_u.values.values_val[0].name, "LOW");
        CHECK(type_at(&d, level)->body.far_tbody_u.values.values_val[0].value == -5);
    }
    /* typedef struct { int a; float b; } pair;  is a named struct */
    check_members(&d, PAIR, (const char *const[]){"a", "b"},
                  (const far_tkind[]){FAR_T_INT, FAR_T_FLOAT}, 2);
    /* consts, in source order */
    static const char *const cn[] = {"DEC", "HEX", "OCT", "NEG", "ALIAS"};
    static const int64_t cv[] = {10, 32, 15, -5, 10};
    CHECK_U(d.consts.consts_len, 5);
    for (uint32_t i = 0; i < 5 && i < d.consts.consts_len; i++) {
        CHECK_STR(d.consts.consts_val[i].name, cn[i]);
        CHECK(d.consts.consts_val[i].value == cv[i]);
    }
    /* int LANG_SUM(int, hyper, name) = 2; */
    CHECK_U(d.procs.procs_len, 4);
    const far_tproc *p = proc(&d, 2, "LANG_SUM", 2, 3);
    if (p->args.args_len == 3) {
        CHECK(is_anon(&d, p->args.args_val[0], FAR_T_INT));
        CHECK_U(p->args.args_val[1], T[BIGS].body.far_tbody_u.seq.elem); /* one hyper */
        CHECK_U(p->args.args_val[2], NAME_);
    }
    far_desc_free(&d);
    if (described(path, 2, NULL, 0, &d)) {
        CHECK_U(d.procs.procs_len, 2);
        p = proc(&d, 1, "LANG_ALL", 5, 1);
        if (p->args.args_len == 1)
            CHECK_U(p->args.args_val[0], INLINE_FORMS);
        CHECK_U(p->res, SCALARS);
        far_desc_free(&d);
    }
}

/* tests/fargen/extern/point.x: types declared external follow the .x's own;
 * nlm_prot.x: libtirpc's netobj, opaque<1024>, follows them */
static void check_extern_netobj(const char *point_x)
{
    far_desc d;
    if (described(point_x, 1, NULL, 0, &d)) {
        CHECK(d.types.types_len > 4);
        if (d.types.types_len > 4) {
            const far_type *T = d.types.types_val;
            CHECK_STR(T[0].name, "segment");
            CHECK_STR(T[1].name, "path");
            CHECK_STR(T[2].name, "point"); /* in the order of the comment */
            CHECK_U(T[2].body.kind, FAR_T_EXTERN);
            CHECK_STR(T[3].name, "des_block");
            CHECK_U(T[3].body.kind, FAR_T_EXTERN);
            CHECK_STR(T[4].name, "");
            CHECK_U(member(&d, 0, 0, "from"), 2);
            far_tref mid = member(&d, 0, 3, "mid");
            CHECK_U(type_at(&d, mid)->body.kind, FAR_T_OPTIONAL);
            CHECK_U(type_at(&d, mid)->body.far_tbody_u.elem, 2);
            CHECK_U(T[1].body.kind, FAR_T_ARRAY_VAR);
            CHECK_U(T[1].body.far_tbody_u.seq.elem, 2);
            CHECK_U(T[1].body.far_tbody_u.seq.bound, 8);
            const far_tproc *p = proc(&d, 3, "POINT_SEAL", 4, 1);
            CHECK_U(p->res, 3);
        }
        far_desc_free(&d);
    }
    /* --extern on the command line: the same */
    const char *const ext[] = {"point"};
    if (described(point_x, 1, ext, 1, &d)) {
        CHECK(d.types.types_len > 3 && strcmp(d.types.types_val[2].name, "point") == 0 &&
              d.types.types_val[2].body.kind == FAR_T_EXTERN);
        far_desc_free(&d);
    }
    if (described("/usr/include/rpcsvc/nlm_prot.x", 1, NULL, 0, &d)) {
        far_tref n = named(&d, "netobj");
        const far_type *t = type_at(&d, n);
        CHECK_U(t->body.kind, FAR_T_OPAQUE_VAR);
        CHECK_U(t->body.far_tbody_u.bound, 1024);
        CHECK(n + 1 < d.types.types_len && d.types.types_val[n + 1].name[0] == '\0');
        far_tref cookie = member(&d, named(&d, "nlm_res"), 0, "cookie");
        CHECK_U(cookie, n);
        far_desc_free(&d);
    }
}

/* fg_describe_file on a .x of `text` must fail with `want` in the message,
 * returning nothing (and, under ASan, leaking nothing). */
static void bad_file(const char *text, const char *want)
{
    char path[] = "/tmp/fargen_desc_XXXXXX.x";
    int fd = mkstemps(path, 2);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    fg_described *ds = (fg_described *)&ds;
    size_t nds = 7;
    char *source = (char *)&source;
    char err[512] = "";
    CHECK(!fg_describe_file(path, NULL, &ds, &nds, &source, err, sizeof err));
    CHECK(ds == NULL && nds == 0 && source == NULL);
    if (!strstr(err, want)) {
        fprintf(stderr, "%s: error \"%s\", expected \"%s\"\n", path, err, want);
        failures++;
    }
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: fargen_desc SHAPES.x CALC.x ESCAPES.x LANG.x POINT.x\n");
        return 2;
    }
    check_lang(argv[4]);
    check_extern_netobj(argv[5]);
    file(argv[1], shapes_prog_1_program(), shapes_prog_2_program(), check_shapes);
    file(argv[2], calc_prog_1_program(), calc_prog_2_program(), check_calc);
    file(argv[3], esc_prog_1_program(), NULL, check_escapes);

    /* a failure is reported, with nothing returned */
    fg_described *ds = (fg_described *)&ds;
    size_t nds = 7;
    char *source = (char *)&source;
    char err[512] = "";
    CHECK(!fg_describe_file("/nonexistent/x.x", NULL, &ds, &nds, &source, err, sizeof err));
    CHECK(ds == NULL && nds == 0 && source == NULL);
    CHECK(strstr(err, "/nonexistent/x.x: No such file") != NULL);
    fg_described_free(NULL, 0);
    bad_file("struct s { int a; }\n", ":2:1: error: expected ';'");
    bad_file("struct s { nosuch a; };\n", "unknown type 'nosuch'"); /* check */
    /* a name no description can hold: the builder's error, after parsing */
    char big[600];
    snprintf(big, sizeof big, "program P { version V { void %0300d(void) = 1; } = 1; } = 1;\n", 0);
    memcpy(big + 29, "PROC", 4);
    bad_file(big, "longer than a type description allows");

    if (failures) {
        fprintf(stderr, "fargen_desc: %d checks failed\n", failures);
        return 1;
    }
    printf("fargen_desc: ok\n");
    return 0;
}
