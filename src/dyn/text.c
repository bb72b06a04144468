/* A description as .x source text (far_dyn_to_x): its constants, its named
 * types in order, then the program with its one version, in the RPC
 * language of RFC 5531 §12 that fargen and rpcgen read.
 *
 * A description made by fargen names every type a declaration cannot spell
 * inline, so its text is the .x it came from less comments and constant
 * names in bounds.  An anonymous type that no .x declaration can write in
 * place (a struct, union or enum body, or an array or optional element that
 * is not a name or a primitive) gets a typedef "far_anon_N" (N its index),
 * written before the first definition that uses it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "dyn/dyn.h"

typedef struct tx {
    const far_dyn *d;
    far__dyn_buf *b;
    uint8_t *state; /* anonymous types: 0, 1 being written, 2 written */
    unsigned depth;
    far_err rc;
} tx;

static bool oom(tx *x)
{
    if (!x->rc)
        x->rc = FAR_ENOMEM;
    return false;
}

static bool put(tx *x, const char *s)
{
    return far__dyn_buf_str(x->b, s) || oom(x);
}

__attribute__((format(printf, 2, 3))) static bool putf(tx *x, const char *fmt, ...);

static bool putf(tx *x, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return put(x, buf);
}

static const char *name_of(const tx *x, uint32_t t)
{
    return x->d->desc.types.types_val[t].name;
}

static far_tkind kind_of(const tx *x, uint32_t t)
{
    return far__dyn_body(x->d, t)->kind;
}

/* The keyword of a primitive, or NULL. */
static const char *keyword(far_tkind k)
{
    switch (k) {
    case FAR_T_VOID:
        return "void";
    case FAR_T_INT:
        return "int";
    case FAR_T_UINT:
        return "unsigned int";
    case FAR_T_HYPER:
        return "hyper";
    case FAR_T_UHYPER:
        return "unsigned hyper";
    case FAR_T_FLOAT:
        return "float";
    case FAR_T_DOUBLE:
        return "double";
    case FAR_T_QUAD:
        return "quadruple";
    case FAR_T_BOOL:
        return "bool";
    case FAR_T_CHAR:
        return "char";
    case FAR_T_UCHAR:
        return "unsigned char";
    case FAR_T_SHORT:
        return "short";
    case FAR_T_USHORT:
        return "unsigned short";
    default:
        return NULL;
    }
}

/* --------------------------------------------------- synthetic names */

static bool define(tx *x, uint32_t t, const char *name);
static bool prepare_body(tx *x, uint32_t t);

static bool synth(tx *x, uint32_t t)
{
    if (x->state[t])
        return true; /* written, or being written (a reference back through optional data) */
    if (x->depth >= FAR_DYN_MAX_DEPTH) {
        far__set_last_error("far_dyn_to_x: anonymous types nested deeper than "
                            "FAR_DYN_MAX_DEPTH (%d)",
                            FAR_DYN_MAX_DEPTH);
        x->rc = FAR_ELIMIT;
        return false;
    }
    x->state[t] = 1;
    x->depth++;
    char name[32];
    snprintf(name, sizeof name, "far_anon_%" PRIu32, t);
    bool ok = prepare_body(x, t) && define(x, t, name) && put(x, "\n");
    x->depth--;
    x->state[t] = 2;
    return ok;
}

/* t where a type specifier goes (an array's or optional's element). */
static bool prepare_spec(tx *x, uint32_t t)
{
    if (name_of(x, t)[0] || keyword(kind_of(x, t)))
        return true;
    return synth(x, t);
}

/* t where a declaration goes (a member, an arm, a typedef's body). */
static bool prepare_decl(tx *x, uint32_t t)
{
    if (name_of(x, t)[0])
        return true;
    switch (kind_of(x, t)) {
    case FAR_T_STRUCT:
    case FAR_T_UNION:
    case FAR_T_ENUM:
        return synth(x, t);
    default:
        return prepare_body(x, t);
    }
}

/* What the definition of t refers to, written first when anonymous. */
static bool prepare_body(tx *x, uint32_t t)
{
    const far_tbody *b = far__dyn_body(x->d, t);
    switch (b->kind) {
    case FAR_T_STRUCT:
        for (uint32_t i = 0; i < b->far_tbody_u.members.members_len; i++)
            if (!prepare_decl(x, b->far_tbody_u.members.members_val[i].type))
                return false;
        return true;
    case FAR_T_UNION: {
        const far_tunion *u = &b->far_tbody_u.u;
        if (!prepare_decl(x, u->disc_type))
            return false;
        for (uint32_t i = 0; i < u->arms.arms_len; i++)
            if (!prepare_decl(x, u->arms.arms_val[i].type))
                return false;
        return !u->dflt || prepare_decl(x, u->dflt->type);
    }
    case FAR_T_ARRAY_FIXED:
    case FAR_T_ARRAY_VAR:
        return prepare_spec(x, b->far_tbody_u.seq.elem);
    case FAR_T_OPTIONAL:
        return prepare_spec(x, b->far_tbody_u.elem);
    case FAR_T_ALIAS:
        return prepare_decl(x, b->far_tbody_u.elem);
    default:
        return true;
    }
}

/* --------------------------------------------------- declarations */

static bool spec(tx *x, uint32_t t)
{
    if (name_of(x, t)[0])
        return put(x, name_of(x, t));
    if (keyword(kind_of(x, t)))
        return put(x, keyword(kind_of(x, t)));
    return putf(x, "far_anon_%" PRIu32, t);
}

static bool bound(tx *x, uint32_t n, bool fixed)
{
    if (fixed)
        return putf(x, "[%" PRIu32 "]", n);
    if (n == FAR_REFLECT_UNBOUNDED)
        return put(x, "<>");
    return putf(x, "<%" PRIu32 ">", n);
}

static bool decl(tx *x, uint32_t t, const char *name);

/* The declaration of `name` with t's own form (t's name not used). */
static bool decl_form(tx *x, uint32_t t, const char *name)
{
    const far_tbody *b = far__dyn_body(x->d, t);
    switch (b->kind) {
    case FAR_T_VOID:
        return put(x, "void");
    case FAR_T_OPAQUE_FIXED:
    case FAR_T_OPAQUE_VAR:
    case FAR_T_STRING:
        return put(x, b->kind == FAR_T_STRING ? "string " : "opaque ") && put(x, name) &&
               bound(x, b->far_tbody_u.bound, b->kind == FAR_T_OPAQUE_FIXED);
    case FAR_T_ARRAY_FIXED:
    case FAR_T_ARRAY_VAR:
        return spec(x, b->far_tbody_u.seq.elem) && put(x, " ") && put(x, name) &&
               bound(x, b->far_tbody_u.seq.bound, b->kind == FAR_T_ARRAY_FIXED);
    case FAR_T_OPTIONAL:
        return spec(x, b->far_tbody_u.elem) && put(x, " *") && put(x, name);
    case FAR_T_ALIAS:
        return decl(x, b->far_tbody_u.elem, name);
    default: /* primitives; bodies have names (their own or far_anon_N) */
        return spec(x, t) && put(x, " ") && put(x, name);
    }
}

static bool decl(tx *x, uint32_t t, const char *name)
{
    if (name_of(x, t)[0] && kind_of(x, t) != FAR_T_VOID)
        return put(x, name_of(x, t)) && put(x, " ") && put(x, name);
    return decl_form(x, t, name);
}

static bool case_label(tx *x, uint32_t disc, int32_t v)
{
    const far_tbody *db = far__dyn_body(x->d, disc);
    if (db->kind == FAR_T_ENUM) {
        const char *n = far__dyn_enum_name(x->d, disc, v);
        if (n)
            return putf(x, "case %s:\n", n);
    }
    if (db->kind == FAR_T_BOOL)
        return put(x, v ? "case TRUE:\n" : "case FALSE:\n");
    if (db->kind == FAR_T_UINT)
        return putf(x, "case %" PRIu32 ":\n", (uint32_t)v);
    return putf(x, "case %" PRId32 ":\n", v);
}

static bool arm(tx *x, const far_tarm *a)
{
    if (!a->name[0])
        return put(x, "    void;\n");
    return put(x, "    ") && decl(x, a->type, a->name) && put(x, ";\n");
}

/* The definition of type t under `name`. */
static bool define(tx *x, uint32_t t, const char *name)
{
    const far_tbody *b = far__dyn_body(x->d, t);
    switch (b->kind) {
    case FAR_T_STRUCT:
        if (!putf(x, "struct %s {\n", name))
            return false;
        for (uint32_t i = 0; i < b->far_tbody_u.members.members_len; i++) {
            const far_tmember *m = &b->far_tbody_u.members.members_val[i];
            if (!put(x, "    ") || !decl(x, m->type, m->name) || !put(x, ";\n"))
                return false;
        }
        return put(x, "};\n");
    case FAR_T_UNION: {
        const far_tunion *u = &b->far_tbody_u.u;
        uint32_t disc = far__dyn_res(x->d, u->disc_type);
        if (!putf(x, "union %s switch (", name) || !decl(x, u->disc_type, u->disc_name) ||
            !put(x, ") {\n"))
            return false;
        for (uint32_t i = 0; i < u->arms.arms_len; i++) {
            const far_tarm *a = &u->arms.arms_val[i];
            for (uint32_t j = 0; j < a->cases.cases_len; j++)
                if (!case_label(x, disc, a->cases.cases_val[j]))
                    return false;
            if (!arm(x, a))
                return false;
        }
        if (u->dflt && (!put(x, "default:\n") || !arm(x, u->dflt)))
            return false;
        return put(x, "};\n");
    }
    case FAR_T_ENUM:
        if (!putf(x, "enum %s {\n", name))
            return false;
        for (uint32_t i = 0; i < b->far_tbody_u.values.values_len; i++) {
            const far_tenumval *v = &b->far_tbody_u.values.values_val[i];
            if (!putf(x, "    %s = %" PRId32 "%s\n", v->name, v->value,
                      i + 1 < b->far_tbody_u.values.values_len ? "," : ""))
                return false;
        }
        return put(x, "};\n");
    case FAR_T_EXTERN:
        /* fargen's mark of a type defined elsewhere; rpcgen ignores it */
        return putf(x, "/*@ extern %s */\n", name);
    case FAR_T_VOID:
        return true; /* a named void says nothing a .x can */
    default:
        return put(x, "typedef ") && decl_form(x, t, name) && put(x, ";\n");
    }
}

/* A procedure's argument or result: "string" is the one anonymous form a
 * procedure may name in place. */
static bool proc_spec(tx *x, uint32_t t)
{
    const far_tbody *b = far__dyn_body(x->d, t);
    if (!name_of(x, t)[0] && b->kind == FAR_T_STRING &&
        b->far_tbody_u.bound == FAR_REFLECT_UNBOUNDED)
        return put(x, "string");
    return spec(x, t);
}

static bool proc_prepare(tx *x, uint32_t t)
{
    const far_tbody *b = far__dyn_body(x->d, t);
    if (!name_of(x, t)[0] && b->kind == FAR_T_STRING &&
        b->far_tbody_u.bound == FAR_REFLECT_UNBOUNDED)
        return true;
    return prepare_spec(x, t);
}

static bool program(tx *x)
{
    const far_desc *ds = &x->d->desc;
    for (uint32_t i = 0; i < ds->procs.procs_len; i++) {
        const far_tproc *p = &ds->procs.procs_val[i];
        for (uint32_t j = 0; j < p->args.args_len; j++)
            if (!proc_prepare(x, p->args.args_val[j]))
                return false;
        if (!proc_prepare(x, p->res))
            return false;
    }
    if (!putf(x, "program %s {\n    version %s {\n", ds->prog_name, ds->vers_name))
        return false;
    for (uint32_t i = 0; i < ds->procs.procs_len; i++) {
        const far_tproc *p = &ds->procs.procs_val[i];
        if (!put(x, "        ") || !proc_spec(x, p->res) || !putf(x, " %s(", p->name))
            return false;
        if (p->args.args_len == 0 && !put(x, "void"))
            return false;
        for (uint32_t j = 0; j < p->args.args_len; j++)
            if ((j && !put(x, ", ")) || !proc_spec(x, p->args.args_val[j]))
                return false;
        if (!putf(x, ") = %" PRIu32 ";\n", p->proc))
            return false;
    }
    return putf(x, "    } = %" PRIu32 ";\n} = 0x%08" PRIx32 ";\n", ds->vers, ds->prog);
}

FAR__API far_err far_dyn_to_x(const far_dyn *d, char **text)
{
    if (!d || !text) {
        far__set_last_error("far_dyn_to_x: NULL argument");
        return FAR_EMISUSE;
    }
    *text = NULL;
    far__dyn_buf b = {0};
    tx x = {d, &b, calloc((size_t)d->ntypes + 1, 1), 0, FAR_OK};
    if (!x.state)
        return FAR_ENOMEM;
    const far_desc *ds = &d->desc;
    bool ok = putf(&x,
                   "/* %s version %s (program 0x%08" PRIx32 ", version %" PRIu32
                   "), from its description. */\n\n",
                   ds->prog_name, ds->vers_name, ds->prog, ds->vers);
    for (uint32_t i = 0; ok && i < ds->consts.consts_len; i++)
        ok = putf(&x, "const %s = %" PRId64 ";\n", ds->consts.consts_val[i].name,
                  ds->consts.consts_val[i].value);
    if (ok && ds->consts.consts_len)
        ok = put(&x, "\n");
    for (uint32_t t = 0; ok && t < d->ntypes; t++) {
        const char *name = ds->types.types_val[t].name;
        if (!name[0] || kind_of(&x, t) == FAR_T_VOID)
            continue;
        ok = prepare_body(&x, t) && define(&x, t, name) && put(&x, "\n");
    }
    ok = ok && program(&x);
    free(x.state);
    if (!ok) {
        free(b.p);
        if (x.rc == FAR_ENOMEM)
            far__set_last_error("far_dyn_to_x: out of memory");
        return x.rc ? x.rc : FAR_ENOMEM;
    }
    *text = far__dyn_buf_take(&b);
    return *text ? FAR_OK : FAR_ENOMEM;
}
