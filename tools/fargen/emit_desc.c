/* fargen — the far_desc of a program version (src/dyn/far_reflect.x), XDR
 * encoded, as foo_svc.c embeds it and fg_describe_file returns it.
 *
 * The conventions are far_reflect.x's ("How a .x becomes a far_desc"):
 * types begins with every struct, union, enum and typedef of the .x in
 * source order, then the types declared external (--extern, in their
 * order) and libtirpc's netobj when the .x uses it, all named; anonymous
 * types follow, each added where first needed and kept once (a primitive,
 * void, or the form of a declaration that is not a plain reference:
 * string<16>, int[3], shape *, an inline body).  Every definition is
 * described whether or not the version uses it, so that the text can be
 * rebuilt; only the procedures differ from version to version.
 *
 * The bytes come from a small XDR writer of our own (fargen does not link
 * libfarcall): RFC 4506 §4, big-endian 32-bit units, strings and opaque
 * data padded with zeros to a multiple of four.  Everything is allocated
 * from the unit's pool, so a failure (fg_fail) leaks nothing.
 */
#include <string.h>

#include "fargen.h"

/* far_reflect.x's bounds (FAR_REFLECT_MAX*) and kinds (far_tkind) */
enum {
    MAXNAME = 256,
    MAXTYPES = 65536,
    MAXITEMS = 65536,
    MAXARGS = 64,
};

enum {
    T_VOID = 0,
    T_INT = 1,
    T_UINT = 2,
    T_HYPER = 3,
    T_UHYPER = 4,
    T_FLOAT = 5,
    T_DOUBLE = 6,
    T_QUAD = 7,
    T_BOOL = 8,
    T_CHAR = 9,
    T_UCHAR = 10,
    T_SHORT = 11,
    T_USHORT = 12,
    T_ENUM = 13,
    T_STRUCT = 14,
    T_UNION = 15,
    T_OPAQUE_FIXED = 16,
    T_OPAQUE_VAR = 17,
    T_STRING = 18,
    T_ARRAY_FIXED = 19,
    T_ARRAY_VAR = 20,
    T_OPTIONAL = 21,
    T_ALIAS = 22,
    T_EXTERN = 23,
};

/* libtirpc's MAX_NETOBJ_SZ: netobj is opaque<1024> on the wire */
#define NETOBJ_MAX 1024u

/* ------------------------------------------------------------ XDR writer */

typedef struct wr {
    fg_unit *u;
    uint8_t *p;
    size_t len, cap;
} wr;

static void put(wr *w, const void *b, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = fg_alloc(w->u, cap); /* the old block stays in the pool */
        if (w->len)
            memcpy(p, w->p, w->len);
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void put_u32(wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 4);
}

/* RFC 4506 §4.5: hyper, most significant word first */
static void put_hyper(wr *w, int64_t v)
{
    put_u32(w, (uint32_t)((uint64_t)v >> 32));
    put_u32(w, (uint32_t)(uint64_t)v);
}

/* RFC 4506 §4.11: a string is its length, its bytes, zeros to a multiple of 4.
 * A name longer than far_rname allows would make the description one no
 * decoder accepts: an error, at `loc`. */
static void put_name(wr *w, const char *s, fg_loc loc)
{
    size_t n = s ? strlen(s) : 0;
    if (n > MAXNAME)
        fg_fail(w->u, loc,
                "the name '%.40s...' is longer than a type description allows (%d bytes); "
                "compile with --no-desc",
                s, MAXNAME);
    put_u32(w, (uint32_t)n);
    if (n)
        put(w, s, n);
    static const uint8_t zero[4];
    put(w, zero, (4 - (n & 3)) & 3);
}

/* the count of a variable-length array of at most `max` items */
static void put_count(wr *w, int n, uint32_t max, fg_loc loc, const char *what)
{
    if ((uint32_t)n > max)
        fg_fail(w->u, loc,
                "%d %s are more than a type description allows (%u); compile with "
                "--no-desc",
                n, what, max);
    put_u32(w, (uint32_t)n);
}

/* -------------------------------------------------------------- the types */

typedef struct anon {
    uint8_t *p; /* the encoded far_type: name "" and the body */
    size_t len;
} anon;

typedef struct desc {
    fg_unit *u;
    const fg_def **named; /* types[0 .. nnamed-1] */
    int nnamed;
    anon *anons; /* types[nnamed ..] */
    int nanons, capanons;
    fg_loc loc; /* for errors: the program */
} desc;

/* The index of a type whose encoding (name "" included) is w's bytes:
 * an existing identical one, else a new one. */
static uint32_t intern(desc *d, const wr *w)
{
    for (int i = 0; i < d->nanons; i++)
        if (d->anons[i].len == w->len && memcmp(d->anons[i].p, w->p, w->len) == 0)
            return (uint32_t)(d->nnamed + i);
    if (d->nnamed + d->nanons >= MAXTYPES)
        fg_fail(d->u, d->loc,
                "more than %d types: more than a type description allows; compile "
                "with --no-desc",
                MAXTYPES);
    if (d->nanons == d->capanons) {
        int cap = d->capanons ? d->capanons * 2 : 32;
        anon *n = fg_alloc(d->u, (size_t)cap * sizeof *n);
        if (d->nanons)
            memcpy(n, d->anons, (size_t)d->nanons * sizeof *n);
        d->anons = n;
        d->capanons = cap;
    }
    d->anons[d->nanons].p = w->p;
    d->anons[d->nanons].len = w->len;
    return (uint32_t)(d->nnamed + d->nanons++);
}

static wr anon_start(desc *d)
{
    wr w = {d->u, NULL, 0, 0};
    put_u32(&w, 0); /* name "" */
    return w;
}

/* a primitive (or void): kind only */
static uint32_t prim(desc *d, uint32_t kind)
{
    wr w = anon_start(d);
    put_u32(&w, kind);
    return intern(d, &w);
}

static void body(desc *d, wr *w, const fg_def *def);
static void form(desc *d, wr *w, const fg_decl *x);

static uint32_t named(desc *d, const fg_def *def)
{
    for (int i = 0; i < d->nnamed; i++)
        if (d->named[i] == def)
            return (uint32_t)i;
    /* check resolved every reference to a definition registered above */
    fg_fail(d->u, def->loc, "internal error: '%s' is not among the described types",
            def->name ? def->name : "?");
}

static uint32_t base_kind(fg_base b)
{
    switch (b) {
    case FG_VOID:
        return T_VOID;
    case FG_INT:
        return T_INT;
    case FG_UINT:
        return T_UINT;
    case FG_HYPER:
        return T_HYPER;
    case FG_UHYPER:
        return T_UHYPER;
    case FG_FLOAT:
        return T_FLOAT;
    case FG_DOUBLE:
        return T_DOUBLE;
    case FG_QUAD:
        return T_QUAD;
    case FG_BOOL:
        return T_BOOL;
    case FG_CHAR:
        return T_CHAR;
    case FG_UCHAR:
        return T_UCHAR;
    case FG_SHORT:
        return T_SHORT;
    case FG_USHORT:
        return T_USHORT;
    default:
        return UINT32_MAX;
    }
}

/* The type a type specifier names: a primitive, a named type, an inline
 * body (anonymous), or -- a procedure's `string` -- string<>. */
static uint32_t ref_type(desc *d, const fg_type *t)
{
    switch (t->base) {
    case FG_NAMED:
        return named(d, t->def);
    case FG_INLINE: {
        wr w = anon_start(d);
        body(d, &w, t->def);
        return intern(d, &w);
    }
    case FG_STRING:
    case FG_OPAQUE: {
        wr w = anon_start(d);
        put_u32(&w, t->base == FG_STRING ? T_STRING : T_OPAQUE_VAR);
        put_u32(&w, UINT32_MAX);
        return intern(d, &w);
    }
    default:
        return prim(d, base_kind(t->base));
    }
}

/* The type of a member, arm or discriminant: what a plain declaration
 * names, else an anonymous type of the declaration's form. */
static uint32_t ref_decl(desc *d, const fg_decl *x)
{
    if (x->type.base == FG_VOID)
        return prim(d, T_VOID);
    if (x->kind == FG_D_PLAIN)
        return ref_type(d, &x->type);
    wr w = anon_start(d);
    form(d, &w, x);
    return intern(d, &w);
}

/* The body (far_tbody) of a declaration's form: `typedef FORM name;` and the
 * anonymous type of a member's declaration. */
static void form(desc *d, wr *w, const fg_decl *x)
{
    bool bytes = x->type.base == FG_OPAQUE || x->type.base == FG_STRING;
    switch (x->kind) {
    case FG_D_PLAIN: {
        uint32_t t = ref_type(d, &x->type);
        put_u32(w, T_ALIAS);
        put_u32(w, t);
        return;
    }
    case FG_D_OPT: {
        uint32_t t = ref_type(d, &x->type);
        put_u32(w, T_OPTIONAL);
        put_u32(w, t);
        return;
    }
    case FG_D_FIXED:
    case FG_D_VAR:
        break;
    }
    bool fixed = x->kind == FG_D_FIXED;
    if (bytes) {
        put_u32(w, x->type.base == FG_STRING ? T_STRING : fixed ? T_OPAQUE_FIXED : T_OPAQUE_VAR);
        put_u32(w, x->max);
        return;
    }
    uint32_t t = ref_type(d, &x->type);
    put_u32(w, fixed ? T_ARRAY_FIXED : T_ARRAY_VAR);
    put_u32(w, t);
    put_u32(w, x->max);
}

/* one far_tarm: cases, name ("" for void), type */
static void arm(desc *d, wr *w, const fg_arm *a)
{
    put_count(w, a->nlabels, MAXITEMS, a->loc, "case labels");
    for (int l = 0; l < a->nlabels; l++)
        put_u32(w, (uint32_t)a->labels[l]->v); /* as 32 bits: an unsigned one too */
    uint32_t t = ref_decl(d, &a->decl);
    put_name(w, a->decl.type.base == FG_VOID ? "" : a->decl.name, a->loc);
    put_u32(w, t);
}

/* The body (far_tbody) of a struct, union or enum definition (named or
 * inline), of an external type and of netobj.  References are made before
 * anything is written, so that anonymous types they need are complete. */
static void body(desc *d, wr *w, const fg_def *def)
{
    if (def->is_extern) {
        put_u32(w, T_EXTERN);
        return;
    }
    if (def->is_netobj) {
        put_u32(w, T_OPAQUE_VAR);
        put_u32(w, NETOBJ_MAX);
        return;
    }
    switch (def->kind) {
    case FG_ENUM:
        put_u32(w, T_ENUM);
        put_count(w, def->nvals, MAXITEMS, def->loc, "enum values");
        for (int i = 0; i < def->nvals; i++) {
            put_name(w, def->vals[i].name, def->vals[i].loc);
            put_u32(w, (uint32_t)(int32_t)def->vals[i].v);
        }
        return;
    case FG_STRUCT:
        put_u32(w, T_STRUCT);
        put_count(w, def->nmembers, MAXITEMS, def->loc, "members");
        for (int i = 0; i < def->nmembers; i++) {
            uint32_t t = ref_decl(d, &def->members[i]);
            put_name(w, def->members[i].name, def->members[i].loc);
            put_u32(w, t);
        }
        return;
    case FG_UNION: {
        uint32_t dt = ref_decl(d, &def->disc);
        int narms = def->narms - (def->has_default ? 1 : 0);
        put_u32(w, T_UNION);
        put_name(w, def->disc.name, def->disc.loc);
        put_u32(w, dt);
        put_count(w, narms, MAXITEMS, def->loc, "arms");
        for (int i = 0; i < narms; i++)
            arm(d, w, &def->arms[i]);
        put_u32(w, def->has_default); /* far_tarm *dflt */
        if (def->has_default)
            arm(d, w, &def->arms[def->narms - 1]);
        return;
    }
    case FG_TYPEDEF:
        form(d, w, &def->decl);
        return;
    default:
        fg_fail(d->u, def->loc, "internal error: '%s' is no type", def->name ? def->name : "?");
    }
}

static bool is_type_def(const fg_def *def)
{
    return def->kind == FG_TYPEDEF || def->kind == FG_ENUM || def->kind == FG_STRUCT ||
           def->kind == FG_UNION;
}

const uint8_t *fg_desc_build(fg_unit *u, const fg_def *prog, const fg_version *v, size_t *len)
{
    desc d;
    memset(&d, 0, sizeof d);
    d.u = u;
    d.loc = prog->loc;
    int cap = u->nexts + 1;
    for (int i = 0; i < u->ndefs; i++)
        cap += is_type_def(u->defs[i]);
    d.named = fg_alloc(u, (size_t)cap * sizeof *d.named);
    for (int i = 0; i < u->ndefs; i++)
        if (is_type_def(u->defs[i]))
            d.named[d.nnamed++] = u->defs[i];
    for (int i = 0; i < u->nexts; i++)
        d.named[d.nnamed++] = u->exts[i];
    if (u->netobj)
        d.named[d.nnamed++] = u->netobj;
    if (d.nnamed > MAXTYPES)
        fg_fail(u, prog->loc,
                "more than %d types: more than a type description allows; compile "
                "with --no-desc",
                MAXTYPES);

    /* the named types' bodies, then the procedures: both add anonymous types */
    wr *bodies = fg_alloc(u, (size_t)(d.nnamed ? d.nnamed : 1) * sizeof *bodies);
    for (int i = 0; i < d.nnamed; i++) {
        const fg_def *def = d.named[i];
        wr *w = &bodies[i];
        w->u = u;
        put_name(w, def->name, def->loc);
        body(&d, w, def);
    }
    wr procs = {u, NULL, 0, 0};
    put_count(&procs, v->nprocs, MAXITEMS, v->loc, "procedures");
    for (int i = 0; i < v->nprocs; i++) {
        const fg_proc *p = &v->procs[i];
        bool none = p->nargs == 1 && p->args[0].base == FG_VOID;
        int nargs = none ? 0 : p->nargs;
        uint32_t *args = fg_alloc(u, ((size_t)nargs + 1) * sizeof *args);
        for (int a = 0; a < nargs; a++)
            args[a] = ref_type(&d, &p->args[a]);
        uint32_t res = ref_type(&d, &p->res);
        put_name(&procs, p->name, p->loc);
        put_u32(&procs, p->number);
        put_count(&procs, nargs, MAXARGS, p->loc, "arguments");
        for (int a = 0; a < nargs; a++)
            put_u32(&procs, args[a]);
        put_u32(&procs, res);
    }

    /* far_desc, in order */
    wr w = {u, NULL, 0, 0};
    put_u32(&w, prog->number);
    put_u32(&w, v->number);
    put_name(&w, prog->name, prog->loc);
    put_name(&w, v->name, v->loc);
    put_u32(&w, (uint32_t)(d.nnamed + d.nanons));
    for (int i = 0; i < d.nnamed; i++)
        put(&w, bodies[i].p, bodies[i].len);
    for (int i = 0; i < d.nanons; i++)
        put(&w, d.anons[i].p, d.anons[i].len);
    /* consts: the .x's own, with a value known here (not a string constant,
     * not one defined by C code the .x leaves to the compiler) */
    int nconsts = 0;
    for (int i = 0; i < u->ndefs; i++) {
        const fg_def *c = u->defs[i];
        nconsts += c->kind == FG_CONST && !c->value.is_string && !c->value.unknown;
    }
    put_count(&w, nconsts, MAXITEMS, prog->loc, "constants");
    for (int i = 0; i < u->ndefs; i++) {
        const fg_def *c = u->defs[i];
        if (c->kind != FG_CONST || c->value.is_string || c->value.unknown)
            continue;
        put_name(&w, c->name, c->loc);
        put_hyper(&w, c->value.v);
    }
    put(&w, procs.p, procs.len);
    *len = w.len;
    return w.p;
}
