/* fargen — foo_xdr.c: encode, decode and free functions for every type.
 *
 * The code follows the hand-written pattern of tests/common/nested_xdr.h:
 *   - a failure returns through far_xdr_{enc,dec}_field / _index, building
 *     the path of the failing field ("entries[3].name");
 *   - decoding through optional data or a variable-length array of a type
 *     that can contain itself is wrapped in far_xdr_dec_enter/leave;
 *   - a struct whose last member is optional data of its own type is a list,
 *     walked with a loop (decoding bounded by d->max_chain), never recursion;
 *   - a variable-length array's count is checked with far_xdr_get_count
 *     against the bytes left (at the element's minimum wire size) before
 *     anything is allocated;
 *   - int/unsigned and hyper arrays go through the bulk u32/u64 primitives;
 *   - in heap mode (no arena) a decode first zeroes the value, so that after
 *     a failure TYPE_free releases exactly what was allocated.
 * A type that is a procedure's argument or result (and every PROC_V_argument
 * struct) also gets TYPE_encode_any / TYPE_decode_any, the shape
 * far_client_call and far_proc_desc take, shared by foo_clnt.c and foo_svc.c.
 */
#include <string.h>

#include "fargen.h"

typedef struct fail {
    int leaves;        /* far_xdr_dec_leave calls owed on the way out */
    const char *chain; /* the path-building expression, NULL for plain false */
} fail;

/* ---------------------------------------------------------- expressions */

static const char *deref(fg_emit *e, const char *x)
{
    return fg_fmt(e->u, "(*%s)", x);
}

static fail push(fg_emit *e, fail f, const char *part)
{
    fail r = f;
    r.chain = f.chain ? fg_fmt(e->u, "%s || %s", part, f.chain) : part;
    return r;
}

static fail field(fg_emit *e, fail f, bool enc, const char *name)
{
    return push(
        e, f,
        fg_fmt(e->u, "far_xdr_%s_field(%s, \"%s\")", enc ? "enc" : "dec", enc ? "e" : "d", name));
}

static fail index_(fg_emit *e, fail f, bool enc, const char *i)
{
    return push(e, f,
                fg_fmt(e->u, "far_xdr_%s_index(%s, %s)", enc ? "enc" : "dec", enc ? "e" : "d", i));
}

static void ret(fg_emit *e, int ind, fail f)
{
    for (int i = 0; i < f.leaves; i++)
        fg_line(e, ind, "far_xdr_dec_leave(d);");
    fg_line(e, ind, "return %s;", f.chain ? f.chain : "false");
}

/* if (!call) return <fail>; */
static void check(fg_emit *e, int ind, const char *call, fail f)
{
    if (f.leaves) {
        fg_line(e, ind, "if (!%s) {", call);
        ret(e, ind + 1, f);
        fg_line(e, ind, "}");
    } else {
        fg_line(e, ind, "if (!%s)", call);
        ret(e, ind + 1, f);
    }
}

/* return <reason> || <fail>; for a failure recorded by the caller's call */
static void ret_with(fg_emit *e, int ind, const char *reason, fail f)
{
    for (int i = 0; i < f.leaves; i++)
        fg_line(e, ind, "far_xdr_dec_leave(d);");
    if (f.chain)
        fg_line(e, ind, "return %s ||", reason), fg_line(e, ind + 2, "%s;", f.chain);
    else
        fg_line(e, ind, "return %s;", reason);
}

static const char *prim(fg_base b)
{
    switch (b) {
    case FG_INT:
        return "i32";
    case FG_UINT:
        return "u32";
    case FG_HYPER:
        return "i64";
    case FG_UHYPER:
        return "u64";
    case FG_FLOAT:
        return "float";
    case FG_DOUBLE:
        return "double";
    case FG_QUAD:
        return "quad";
    case FG_BOOL:
        return "bool";
    case FG_CHAR:
        return "char";
    case FG_UCHAR:
        return "u_char";
    case FG_SHORT:
        return "short";
    case FG_USHORT:
        return "u_short";
    default:
        return "?";
    }
}

static bool disc_unsigned(const fg_def *u)
{
    fg_base b = fg_canon(&u->disc)->type.base;
    return b == FG_UINT || b == FG_UCHAR || b == FG_USHORT;
}

static bool disc_is_enum(const fg_def *u)
{
    const fg_decl *c = fg_canon(&u->disc);
    return c->type.base == FG_NAMED || c->type.base == FG_INLINE;
}

/* the enum values to accept: each value once (two names may share one) */
static bool first_of_value(const fg_def *en, int i)
{
    if (en->vals[i].value && en->vals[i].value->unknown)
        return true;
    for (int j = 0; j < i; j++)
        if (en->vals[j].v == en->vals[i].v && !(en->vals[j].value && en->vals[j].value->unknown))
            return false;
    return true;
}

/* ---------------------------------------------------------------- encode */

static void enc_decl(fg_emit *e, const fg_decl *d, const char *x, fail f, int ind);

static void enc_body(fg_emit *e, const fg_def *def, const char *x, fail f, int ind)
{
    if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++) {
            const fg_decl *m = &def->members[i];
            enc_decl(e, m, fg_member(e, x, m->name), field(e, f, true, m->name), ind);
        }
    } else if (def->kind == FG_ENUM) {
        fg_line(e, ind, "switch ((int32_t)%s) {", x);
        for (int i = 0; i < def->nvals; i++)
            if (first_of_value(def, i))
                fg_line(e, ind, "case %s:", fg_id(def->vals[i].name));
        fg_line(e, ind + 1, "break;");
        fg_line(e, ind, "default:");
        ret_with(e, ind + 1,
                 fg_fmt(e->u, "far_xdr_enc_fail(e, FAR_EBADVALUE, \"%%d is not a %s\", (int)%s)",
                        def->name ? def->name : "member of the enum", x),
                 f);
        fg_line(e, ind, "}");
        check(e, ind, fg_fmt(e->u, "far_xdr_put_enum(e, (int32_t)%s)", x), f);
    } else if (def->kind == FG_UNION) {
        const char *dx = fg_member(e, x, def->disc.name);
        fail df = field(e, f, true, def->disc.name);
        const fg_decl *dc = fg_canon(&def->disc);
        bool uns = disc_unsigned(def);
        if (disc_is_enum(def))
            check(e, ind, fg_fmt(e->u, "far_xdr_put_enum(e, (int32_t)%s)", dx), df);
        else
            check(e, ind, fg_fmt(e->u, "far_xdr_put_%s(e, %s)", prim(dc->type.base), dx), df);
        fg_line(e, ind, "switch ((%s)%s) {", uns ? "uint32_t" : "int32_t", dx);
        for (int i = 0; i < def->narms; i++) {
            const fg_arm *a = &def->arms[i];
            for (int l = 0; l < a->nlabels; l++)
                fg_line(e, ind, "case %s:", fg_label_text(a->labels[l]));
            if (!a->nlabels)
                fg_line(e, ind, "default:");
            if (a->decl.type.base != FG_VOID) {
                const char *ax =
                    fg_member(e, fg_member(e, x, fg_fmt(e->u, "%s_u", def->uname)), a->decl.name);
                enc_decl(e, &a->decl, ax, field(e, f, true, a->decl.name), ind + 1);
            }
            fg_line(e, ind + 1, "break;");
        }
        if (!def->has_default) {
            fg_line(e, ind, "default:");
            ret_with(e, ind + 1,
                     fg_fmt(e->u,
                            "far_xdr_enc_fail(e, FAR_EBADVALUE, \"no arm for %s %%%s\", (%s)%s)",
                            def->disc.name, uns ? "u" : "d", uns ? "unsigned" : "int", dx),
                     df);
        }
        fg_line(e, ind, "}");
    }
}

static void enc_plain(fg_emit *e, const fg_decl *c, const char *x, fail f, int ind)
{
    switch (c->type.base) {
    case FG_NAMED:
        check(e, ind, fg_fmt(e->u, "%s_encode(e, %s)", c->type.def->name, fg_addr_of(e, x)), f);
        return;
    case FG_INLINE:
        enc_body(e, c->type.def, x, f, ind);
        return;
    case FG_QUAD:
        check(e, ind, fg_fmt(e->u, "far_xdr_put_quad(e, %s)", fg_addr_of(e, x)), f);
        return;
    default:
        check(e, ind, fg_fmt(e->u, "far_xdr_put_%s(e, %s)", prim(c->type.base), x), f);
        return;
    }
}

static void enc_decl(fg_emit *e, const fg_decl *d, const char *x, fail f, int ind)
{
    const fg_decl *c = fg_canon(d);
    fg_decl el = fg_elem(c);
    const fg_decl *ec = fg_canon(&el);
    switch (c->kind) {
    case FG_D_PLAIN:
        enc_plain(e, c, x, f, ind);
        return;
    case FG_D_OPT:
        check(e, ind, fg_fmt(e->u, "far_xdr_put_bool(e, %s != NULL)", x), f);
        fg_line(e, ind, "if (%s) {", x);
        enc_decl(e, &el, deref(e, x), f, ind + 1);
        fg_line(e, ind, "}");
        return;
    case FG_D_FIXED: {
        const char *n = fg_value_text(c->bound);
        if (c->type.base == FG_OPAQUE) {
            check(e, ind, fg_fmt(e->u, "far_xdr_put_opaque_fixed(e, %s, %s)", x, n), f);
        } else if (fg_is_bulk32(ec) || fg_is_bulk64(ec)) {
            int w = fg_is_bulk32(ec) ? 32 : 64;
            check(e, ind,
                  fg_fmt(e->u, "far_xdr_put_u%d_array(e, (const uint%d_t *)%s, %s)", w, w, x, n),
                  f);
        } else {
            const char *i = fg_fmt(e->u, "i%d", e->tmp++);
            fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, n, i);
            enc_decl(e, &el, fg_fmt(e->u, "%s[%s]", x, i), index_(e, f, true, i), ind + 1);
            fg_line(e, ind, "}");
        }
        return;
    }
    case FG_D_VAR: {
        const char *max = fg_max_text(e->u, c);
        if (c->type.base == FG_STRING) {
            check(e, ind, fg_fmt(e->u, "far_xdr_put_string(e, %s, %s)", x, max), f);
            return;
        }
        const char *len = fg_member(e, x, fg_len_name(e->u, c));
        const char *val = fg_member(e, x, fg_val_name(e->u, c));
        if (c->type.base == FG_OPAQUE) {
            check(e, ind, fg_fmt(e->u, "far_xdr_put_opaque(e, %s, %s, %s)", val, len, max), f);
            return;
        }
        check(e, ind, fg_fmt(e->u, "far_xdr_put_count(e, %s, %s)", len, max), f);
        if (fg_is_bulk32(ec) || fg_is_bulk64(ec)) {
            int w = fg_is_bulk32(ec) ? 32 : 64;
            check(
                e, ind,
                fg_fmt(e->u, "far_xdr_put_u%d_array(e, (const uint%d_t *)%s, %s)", w, w, val, len),
                f);
        } else {
            const char *i = fg_fmt(e->u, "i%d", e->tmp++);
            fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, len, i);
            enc_decl(e, &el, fg_fmt(e->u, "%s[%s]", val, i), index_(e, f, true, i), ind + 1);
            fg_line(e, ind, "}");
        }
        return;
    }
    }
}

/* ---------------------------------------------------------------- decode */

static void dec_decl(fg_emit *e, const fg_decl *d, const char *x, fail f, int ind);

/* Does decoding an element of `el` need the nesting guard? */
static bool guarded(const fg_decl *el)
{
    fg_def *b = fg_body(&fg_canon(el)->type);
    return b && b->recursive;
}

static void dec_body(fg_emit *e, const fg_def *def, const char *x, fail f, int ind)
{
    if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++) {
            const fg_decl *m = &def->members[i];
            dec_decl(e, m, fg_member(e, x, m->name), field(e, f, false, m->name), ind);
        }
    } else if (def->kind == FG_ENUM) {
        const char *k = fg_fmt(e->u, "k%d", e->tmp++);
        fg_line(e, ind, "int32_t %s;", k);
        check(e, ind, fg_fmt(e->u, "far_xdr_get_enum(d, &%s)", k), f);
        fg_line(e, ind, "switch (%s) {", k);
        for (int i = 0; i < def->nvals; i++)
            if (first_of_value(def, i))
                fg_line(e, ind, "case %s:", fg_id(def->vals[i].name));
        fg_line(e, ind + 1, "break;");
        fg_line(e, ind, "default:");
        fg_line(e, ind + 1, "d->p -= 4; /* report the value's own offset */");
        ret_with(e, ind + 1,
                 fg_fmt(e->u,
                        "far_xdr_dec_fail(d, FAR_EBADVALUE, \"%%\" PRId32 \" is not a %s\", %s)",
                        def->name ? def->name : "member of the enum", k),
                 f);
        fg_line(e, ind, "}");
        fg_line(e, ind, "%s = %s;", x, k);
    } else if (def->kind == FG_UNION) {
        const char *dx = fg_member(e, x, def->disc.name);
        fail df = field(e, f, false, def->disc.name);
        bool uns = disc_unsigned(def);
        if (disc_is_enum(def)) {
            const char *k = fg_fmt(e->u, "k%d", e->tmp++);
            fg_line(e, ind, "int32_t %s;", k);
            check(e, ind, fg_fmt(e->u, "far_xdr_get_enum(d, &%s)", k), df);
            fg_line(e, ind, "%s = %s;", dx, k);
        } else {
            check(e, ind,
                  fg_fmt(e->u, "far_xdr_get_%s(d, &%s)", prim(fg_canon(&def->disc)->type.base), dx),
                  df);
        }
        fg_line(e, ind, "switch ((%s)%s) {", uns ? "uint32_t" : "int32_t", dx);
        for (int i = 0; i < def->narms; i++) {
            const fg_arm *a = &def->arms[i];
            /* braces: an arm may start with a declaration */
            bool block = a->decl.type.base != FG_VOID;
            for (int l = 0; l < a->nlabels; l++)
                fg_line(e, ind, "case %s:%s", fg_label_text(a->labels[l]),
                        block && l == a->nlabels - 1 ? " {" : "");
            if (!a->nlabels)
                fg_line(e, ind, "default:%s", block ? " {" : "");
            if (block) {
                const char *ax =
                    fg_member(e, fg_member(e, x, fg_fmt(e->u, "%s_u", def->uname)), a->decl.name);
                dec_decl(e, &a->decl, ax, field(e, f, false, a->decl.name), ind + 1);
            }
            fg_line(e, ind + 1, "break;");
            if (block)
                fg_line(e, ind, "}");
        }
        if (!def->has_default) {
            fg_line(e, ind, "default:");
            fg_line(e, ind + 1, "d->p -= 4; /* report the discriminant's own offset */");
            ret_with(
                e, ind + 1,
                fg_fmt(e->u, "far_xdr_dec_fail(d, FAR_EBADVALUE, \"no arm for %s %%\" %s, (%s)%s)",
                       def->disc.name, uns ? "PRIu32" : "PRId32", uns ? "uint32_t" : "int32_t", dx),
                df);
        }
        fg_line(e, ind, "}");
    }
}

static void dec_plain(fg_emit *e, const fg_decl *c, const char *x, fail f, int ind)
{
    switch (c->type.base) {
    case FG_NAMED:
        check(e, ind, fg_fmt(e->u, "%s_decode(d, %s)", c->type.def->name, fg_addr_of(e, x)), f);
        return;
    case FG_INLINE:
        dec_body(e, c->type.def, x, f, ind);
        return;
    default:
        check(e, ind, fg_fmt(e->u, "far_xdr_get_%s(d, %s)", prim(c->type.base), fg_addr_of(e, x)),
              f);
        return;
    }
}

static void dec_decl(fg_emit *e, const fg_decl *d, const char *x, fail f, int ind)
{
    const fg_decl *c = fg_canon(d);
    fg_decl el = fg_elem(c);
    const fg_decl *ec = fg_canon(&el);
    switch (c->kind) {
    case FG_D_PLAIN:
        dec_plain(e, c, x, f, ind);
        return;
    case FG_D_OPT: {
        const char *p = fg_fmt(e->u, "present%d", e->tmp++);
        fg_line(e, ind, "bool %s;", p);
        check(e, ind, fg_fmt(e->u, "far_xdr_get_bool(d, &%s)", p), f);
        fg_line(e, ind, "%s = NULL;", x);
        fg_line(e, ind, "if (%s) {", p);
        fail g = f;
        if (guarded(&el)) {
            check(e, ind + 1, "far_xdr_dec_enter(d)", f);
            g.leaves++;
        }
        fg_line(e, ind + 1, "%s = far_xdr_alloc_array(d, 1, sizeof *%s);", x, x);
        check(e, ind + 1, x, g);
        dec_decl(e, &el, deref(e, x), g, ind + 1);
        if (g.leaves > f.leaves)
            fg_line(e, ind + 1, "far_xdr_dec_leave(d);");
        fg_line(e, ind, "}");
        return;
    }
    case FG_D_FIXED: {
        const char *n = fg_value_text(c->bound);
        if (c->type.base == FG_OPAQUE) {
            check(e, ind, fg_fmt(e->u, "far_xdr_get_opaque_fixed(d, %s, %s)", x, n), f);
        } else if (fg_is_bulk32(ec) || fg_is_bulk64(ec)) {
            int w = fg_is_bulk32(ec) ? 32 : 64;
            check(e, ind, fg_fmt(e->u, "far_xdr_get_u%d_array(d, (uint%d_t *)%s, %s)", w, w, x, n),
                  f);
        } else {
            const char *i = fg_fmt(e->u, "i%d", e->tmp++);
            fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, n, i);
            dec_decl(e, &el, fg_fmt(e->u, "%s[%s]", x, i), index_(e, f, false, i), ind + 1);
            fg_line(e, ind, "}");
        }
        return;
    }
    case FG_D_VAR: {
        const char *max = fg_max_text(e->u, c);
        if (c->type.base == FG_STRING) {
            check(e, ind, fg_fmt(e->u, "far_xdr_get_string(d, %s, %s)", fg_addr_of(e, x), max), f);
            return;
        }
        const char *len = fg_member(e, x, fg_len_name(e->u, c));
        const char *val = fg_member(e, x, fg_val_name(e->u, c));
        if (c->type.base == FG_OPAQUE) {
            check(e, ind,
                  fg_fmt(e->u, "far_xdr_get_opaque(d, %s, %s, %s)", fg_addr_of(e, val),
                         fg_addr_of(e, len), max),
                  f);
            return;
        }
        const char *n = fg_fmt(e->u, "n%d", e->tmp++);
        fg_line(e, ind, "uint32_t %s;", n);
        check(e, ind,
              fg_fmt(e->u, "far_xdr_get_count(d, &%s, %s, %llu)", n, max,
                     (unsigned long long)fg_min_wire(&el)),
              f);
        fg_line(e, ind, "%s = %s ? far_xdr_alloc_array(d, %s, sizeof *%s) : NULL;", val, n, n, val);
        check(e, ind, fg_fmt(e->u, "(%s == 0 || %s)", n, val), f);
        fg_line(e, ind, "%s = %s;", len, n);
        if (fg_is_bulk32(ec) || fg_is_bulk64(ec)) {
            int w = fg_is_bulk32(ec) ? 32 : 64;
            check(e, ind,
                  fg_fmt(e->u, "far_xdr_get_u%d_array(d, (uint%d_t *)%s, %s)", w, w, val, n), f);
        } else {
            fail g = f;
            if (guarded(&el)) {
                check(e, ind, "far_xdr_dec_enter(d)", f);
                g.leaves++;
            }
            const char *i = fg_fmt(e->u, "i%d", e->tmp++);
            fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, n, i);
            dec_decl(e, &el, fg_fmt(e->u, "%s[%s]", val, i), index_(e, g, false, i), ind + 1);
            fg_line(e, ind, "}");
            if (g.leaves > f.leaves)
                fg_line(e, ind, "far_xdr_dec_leave(d);");
        }
        return;
    }
    }
}

/* ------------------------------------------------------------------ free */

static void free_decl(fg_emit *e, const fg_decl *d, const char *x, int ind);

static void free_body(fg_emit *e, const fg_def *def, const char *x, int ind)
{
    if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++)
            free_decl(e, &def->members[i], fg_member(e, x, def->members[i].name), ind);
    } else if (def->kind == FG_UNION) {
        if (!def->needs_free)
            return;
        /* Every arm's labels, also of an arm that owns nothing (an empty
         * break): left out, its values would reach the default arm and free
         * memory the value does not have. */
        const char *dx = fg_member(e, x, def->disc.name);
        fg_line(e, ind, "switch ((%s)%s) {", disc_unsigned(def) ? "uint32_t" : "int32_t", dx);
        for (int i = 0; i < def->narms; i++) {
            const fg_arm *a = &def->arms[i];
            for (int l = 0; l < a->nlabels; l++)
                fg_line(e, ind, "case %s:", fg_label_text(a->labels[l]));
            if (!a->nlabels)
                fg_line(e, ind, "default:");
            if (a->decl.type.base != FG_VOID && fg_decl_needs_free(&a->decl)) {
                const char *ax =
                    fg_member(e, fg_member(e, x, fg_fmt(e->u, "%s_u", def->uname)), a->decl.name);
                free_decl(e, &a->decl, ax, ind + 1);
            }
            fg_line(e, ind + 1, "break;");
        }
        if (!def->has_default) {
            fg_line(e, ind, "default:");
            fg_line(e, ind + 1, "break;");
        }
        fg_line(e, ind, "}");
    }
}

static void free_decl(fg_emit *e, const fg_decl *d, const char *x, int ind)
{
    if (!fg_decl_needs_free(d))
        return;
    const fg_decl *c = fg_canon(d);
    fg_decl el = fg_elem(c);
    switch (c->kind) {
    case FG_D_PLAIN:
        if (c->type.base == FG_NAMED)
            fg_line(e, ind, "%s_free(%s);", c->type.def->name, fg_addr_of(e, x));
        else if (c->type.base == FG_INLINE)
            free_body(e, c->type.def, x, ind);
        return;
    case FG_D_OPT:
        fg_line(e, ind, "if (%s) {", x);
        free_decl(e, &el, deref(e, x), ind + 1);
        fg_line(e, ind + 1, "free(%s);", x);
        fg_line(e, ind, "}");
        return;
    case FG_D_FIXED: {
        const char *i = fg_fmt(e->u, "i%d", e->tmp++);
        fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, fg_value_text(c->bound), i);
        free_decl(e, &el, fg_fmt(e->u, "%s[%s]", x, i), ind + 1);
        fg_line(e, ind, "}");
        return;
    }
    case FG_D_VAR: {
        if (c->type.base == FG_STRING) {
            fg_line(e, ind, "free(%s);", x);
            return;
        }
        const char *len = fg_member(e, x, fg_len_name(e->u, c));
        const char *val = fg_member(e, x, fg_val_name(e->u, c));
        if (c->type.base != FG_OPAQUE && fg_decl_needs_free(&el)) {
            const char *i = fg_fmt(e->u, "i%d", e->tmp++);
            fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, len, i);
            free_decl(e, &el, fg_fmt(e->u, "%s[%s]", val, i), ind + 1);
            fg_line(e, ind, "}");
        }
        fg_line(e, ind, "free(%s);", val);
        return;
    }
    }
}

/* ----------------------------------------------------------- definitions */

static void emit_list(fg_emit *e, const fg_def *def)
{
    const fg_decl *last = &def->members[def->nmembers - 1];
    const char *n = def->name, *t = fg_id(def->name);
    const char *next = fg_fmt(e->u, "v->%s", fg_id(last->name));
    fail f = {0, NULL};

    fg_printf(e->out, "bool %s_encode(far_xdr_enc *e, const %s *v)\n{\n", n, t);
    fg_line(e, 1, "/* a list: one element after the other, never recursion */");
    fg_line(e, 1, "for (uint32_t i = 0;; i++) {");
    for (int i = 0; i + 1 < def->nmembers; i++) {
        const fg_decl *m = &def->members[i];
        enc_decl(e, m, fg_member(e, "(*v)", m->name),
                 field(e, index_(e, f, true, "i"), true, m->name), 2);
    }
    check(e, 2, fg_fmt(e->u, "far_xdr_put_bool(e, %s != NULL)", next),
          field(e, index_(e, f, true, "i"), true, last->name));
    fg_line(e, 2, "if (!%s)", next);
    fg_line(e, 3, "return true;");
    fg_line(e, 2, "v = %s;", next);
    fg_line(e, 1, "}");
    fg_buf_puts(e->out, "}\n\n");

    fg_printf(e->out, "bool %s_decode(far_xdr_dec *d, %s *v)\n{\n", n, t);
    fg_line(e, 1, "if (!d->arena)");
    fg_line(e, 2, "memset(v, 0, sizeof *v);");
    fg_line(e, 1, "/* a list: a loop bounded by d->max_chain, never recursion */");
    fg_line(e, 1, "for (uint32_t i = 0;; i++) {");
    for (int i = 0; i + 1 < def->nmembers; i++) {
        const fg_decl *m = &def->members[i];
        dec_decl(e, m, fg_member(e, "(*v)", m->name),
                 field(e, index_(e, f, false, "i"), false, m->name), 2);
    }
    fail lf = field(e, index_(e, f, false, "i"), false, last->name);
    fg_line(e, 2, "bool more;");
    check(e, 2, "far_xdr_get_bool(d, &more)", lf);
    fg_line(e, 2, "%s = NULL;", next);
    fg_line(e, 2, "if (!more)");
    fg_line(e, 3, "return true;");
    fg_line(e, 2, "if (i + 1 >= d->max_chain)");
    ret_with(e, 3, "far_xdr_dec_chain_over(d)", lf); /* a local limit: FAR_ELIMIT */
    fg_line(e, 2, "%s = far_xdr_alloc_array(d, 1, sizeof *%s);", next, next);
    check(e, 2, next, lf);
    fg_line(e, 2, "v = %s;", next);
    fg_line(e, 1, "}");
    fg_buf_puts(e->out, "}\n\n");

    fg_printf(e->out, "void %s_free(%s *v)\n{\n", n, t);
    for (int i = 0; i + 1 < def->nmembers; i++)
        free_decl(e, &def->members[i], fg_member(e, "(*v)", def->members[i].name), 1);
    fg_line(e, 1, "%s *p = %s;", t, next);
    fg_line(e, 1, "%s = NULL;", next);
    fg_line(e, 1, "while (p) {");
    fg_line(e, 2, "%s *after = p->%s;", t, fg_id(last->name));
    for (int i = 0; i + 1 < def->nmembers; i++)
        free_decl(e, &def->members[i], fg_member(e, "(*p)", def->members[i].name), 2);
    fg_line(e, 2, "free(p);");
    fg_line(e, 2, "p = after;");
    fg_line(e, 1, "}");
    fg_buf_puts(e->out, "}\n\n");
}

/* A procedure's argument or result type, as far_client_call and
 * far_proc_desc take it: void pointers.  Defined here, once for the client
 * and the server side. */
static void emit_any(fg_emit *e, const char *n)
{
    const char *t = fg_id(n);
    fg_printf(e->out,
              "bool %s_encode_any(far_xdr_enc *e, const void *v)\n{\n"
              "    return %s_encode(e, (const %s *)v);\n}\n\n"
              "bool %s_decode_any(far_xdr_dec *d, void *v)\n{\n"
              "    return %s_decode(d, (%s *)v);\n}\n\n",
              n, n, t, n, n, t);
}

static void emit_codec(fg_emit *e, const fg_def *def)
{
    const char *n = def->name, *t = fg_id(def->name);
    fail f = {0, NULL};
    bool zero = def->kind == FG_TYPEDEF ? fg_decl_needs_free(&def->decl) : def->needs_free;

    fg_printf(e->out, "bool %s_encode(far_xdr_enc *e, const %s *v)\n{\n", n, t);
    e->tmp = 0;
    if (def->kind == FG_TYPEDEF)
        enc_decl(e, &def->decl, "(*v)", f, 1);
    else
        enc_body(e, def, "(*v)", f, 1);
    fg_buf_puts(e->out, "    return true;\n}\n\n");

    fg_printf(e->out, "bool %s_decode(far_xdr_dec *d, %s *v)\n{\n", n, t);
    e->tmp = 0;
    if (zero) {
        fg_line(e, 1,
                "if (!d->arena) /* heap mode: a failed decode leaves a value %s_free takes */", n);
        fg_line(e, 2, "memset(v, 0, sizeof *v);");
    }
    if (def->kind == FG_TYPEDEF)
        dec_decl(e, &def->decl, "(*v)", f, 1);
    else
        dec_body(e, def, "(*v)", f, 1);
    fg_buf_puts(e->out, "    return true;\n}\n\n");

    fg_printf(e->out, "void %s_free(%s *v)\n{\n", n, t);
    e->tmp = 0;
    if (!zero)
        fg_line(e, 1, "(void)v; /* nothing allocated */");
    else if (def->kind == FG_TYPEDEF)
        free_decl(e, &def->decl, "(*v)", 1);
    else
        free_body(e, def, "(*v)", 1);
    fg_buf_puts(e->out, "}\n\n");
}

static void emit_type(fg_emit *e, const fg_def *def)
{
    if (def->kind == FG_STRUCT && def->is_list)
        emit_list(e, def);
    else
        emit_codec(e, def);
    if (def->proc_type)
        emit_any(e, def->name);
}

void fg_emit_xdr(fg_emit *e)
{
    fg_banner(e, NULL);
    fg_printf(e->out,
              "#include <inttypes.h>\n#include <stdlib.h>\n#include <string.h>\n\n"
              "#include \"%s.h\"\n\n",
              e->base);
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        switch (d->kind) {
        case FG_PASS:
            if (d->text)
                fg_printf(e->out, "%s\n", d->text);
            break;
        case FG_TYPEDEF:
        case FG_ENUM:
        case FG_STRUCT:
        case FG_UNION:
            fg_where(e, d->loc);
            emit_type(e, d);
            break;
        case FG_PROGRAM:
            for (int v = 0; v < d->nvers; v++)
                for (int p = 0; p < d->vers[v].nprocs; p++)
                    if (d->vers[v].procs[p].nargs > 1) {
                        fg_where(e, d->vers[v].procs[p].loc);
                        emit_type(e, fg_arg_struct(e, &d->vers[v].procs[p], &d->vers[v]));
                    }
            break;
        case FG_CONST:
            break;
        }
    }
}
