/* fargen — foo_fgtest.c (hidden option --test-support): a random-value
 * generator and an equality function for every type of foo.x, for the
 * differential tests against rpcgen + libtirpc (tests/fargen/diff).
 *
 * The file uses only what fargen's foo.h and rpcgen's foo.h have in common
 * (type names, member names, NAME_len/NAME_val, NAME_u), so the test compiles
 * it twice, once against each header: the same random stream then yields
 * the same value in both worlds.  Codec adapters and the table's name come
 * from the side header the test includes first (FGT_CODEC, FGT_ENTRY,
 * FGT_TYPES, see tests/fargen/diff/fgt.h).  Names are written as the .x
 * has them, as rpcgen does: a .x whose names fargen escapes (C++ keywords,
 * see fg_id) is not one rpcgen's header can share this file with.
 */
#include <string.h>

#include "fargen.h"

static const char *max_text(const fg_decl *c)
{
    return c->bound ? c->bound->text : "0xffffffffu";
}

static bool recursive_elem(const fg_decl *el)
{
    fg_def *b = fg_body(&fg_canon(el)->type);
    return b && b->recursive;
}

/* ------------------------------------------------------------------ rand */

static void rand_decl(fg_emit *e, const fg_decl *d, const char *x, int ind);

static void rand_body(fg_emit *e, const fg_def *def, const char *x, int ind)
{
    if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++)
            rand_decl(e, &def->members[i], fg_member(e, x, def->members[i].name), ind);
    } else if (def->kind == FG_ENUM) {
        fg_line(e, ind, "switch (fgt_u32(r) %% %d) {", def->nvals);
        for (int i = 0; i < def->nvals; i++)
            fg_line(e, ind, "case %d: %s = %s; break;", i, x, def->vals[i].name);
        fg_line(e, ind, "}");
    } else if (def->kind == FG_UNION) {
        const char *dx = fg_member(e, x, def->disc.name);
        int nchoices = 0;
        for (int i = 0; i < def->narms; i++)
            nchoices += def->arms[i].nlabels;
        /* a value for the default arm: one no case names */
        const char *dflt = NULL;
        if (def->has_default) {
            const fg_decl *dc = fg_canon(&def->disc);
            fg_def *en = fg_body(&dc->type);
            int64_t cand_max = en ? en->nvals : (dc->type.base == FG_BOOL ? 2 : 1000);
            for (int64_t k = 0; k < cand_max && !dflt; k++) {
                int64_t v = en ? en->vals[k].v : k;
                bool used = false;
                for (int a = 0; a < def->narms; a++)
                    for (int l = 0; l < def->arms[a].nlabels; l++)
                        used = used || def->arms[a].labels[l]->v == v;
                if (!used)
                    dflt = en ? en->vals[k].name : fg_fmt(e->u, "%lld", (long long)v);
            }
            if (dflt)
                nchoices++;
        }
        fg_line(e, ind, "switch (fgt_u32(r) %% %d) {", nchoices);
        int c = 0;
        for (int i = 0; i < def->narms; i++) {
            const fg_arm *a = &def->arms[i];
            const char *labels[64];
            int nl = 0;
            if (a->nlabels)
                for (int l = 0; l < a->nlabels && nl < 64; l++)
                    labels[nl++] = fg_label_text(a->labels[l]);
            else if (dflt)
                labels[nl++] = dflt;
            for (int l = 0; l < nl; l++) {
                fg_line(e, ind, "case %d:", c++);
                fg_line(e, ind + 1, "%s = %s;", dx, labels[l]);
                if (a->decl.type.base != FG_VOID)
                    rand_decl(e, &a->decl,
                              fg_member(e, fg_member(e, x, fg_fmt(e->u, "%s_u", def->uname)),
                                        a->decl.name),
                              ind + 1);
                fg_line(e, ind + 1, "break;");
            }
        }
        fg_line(e, ind, "}");
    }
}

static void rand_decl(fg_emit *e, const fg_decl *d, const char *x, int ind)
{
    const fg_decl *c = fg_canon(d);
    fg_decl el = fg_elem(c);
    switch (c->kind) {
    case FG_D_PLAIN:
        switch (c->type.base) {
        case FG_INT:
            fg_line(e, ind, "%s = (int32_t)fgt_u32(r);", x);
            break;
        case FG_UINT:
            fg_line(e, ind, "%s = fgt_u32(r);", x);
            break;
        case FG_HYPER:
            fg_line(e, ind, "%s = (int64_t)fgt_u64(r);", x);
            break;
        case FG_UHYPER:
            fg_line(e, ind, "%s = fgt_u64(r);", x);
            break;
        case FG_FLOAT:
            fg_line(e, ind, "%s = (float)(int32_t)fgt_u32(r) / 16.0f;", x);
            break;
        case FG_DOUBLE:
            fg_line(e, ind, "%s = (double)(int64_t)fgt_u64(r) / 1024.0;", x);
            break;
        case FG_QUAD:
            fg_line(e, ind, "fgt_fill(r, %s, 16);", fg_addr_of(e, x));
            break;
        case FG_BOOL:
            fg_line(e, ind, "%s = fgt_u32(r) & 1;", x);
            break;
        case FG_CHAR:
            fg_line(e, ind, "%s = (int8_t)fgt_u32(r);", x);
            break;
        case FG_UCHAR:
            fg_line(e, ind, "%s = (uint8_t)fgt_u32(r);", x);
            break;
        case FG_SHORT:
            fg_line(e, ind, "%s = (int16_t)fgt_u32(r);", x);
            break;
        case FG_USHORT:
            fg_line(e, ind, "%s = (uint16_t)fgt_u32(r);", x);
            break;
        case FG_NAMED:
            if (c->type.def->is_netobj) {
                fg_line(e, ind, "%s = fgt_len(r, 1024, 40);", fg_member(e, x, "n_len"));
                fg_line(e, ind, "%s = fgt_bytes(r, %s);", fg_member(e, x, "n_bytes"),
                        fg_member(e, x, "n_len"));
            } else {
                fg_line(e, ind, "fgt_rand_%s(r, %s);", c->type.def->name, fg_addr_of(e, x));
            }
            break;
        case FG_INLINE:
            rand_body(e, c->type.def, x, ind);
            break;
        default:
            break;
        }
        return;
    case FG_D_OPT:
        fg_line(e, ind, "if (fgt_more(r)) {");
        fg_line(e, ind + 1, "%s = fgt_calloc(1, sizeof *%s);", x, x);
        rand_decl(e, &el, fg_fmt(e->u, "(*%s)", x), ind + 1);
        fg_line(e, ind, "} else {");
        fg_line(e, ind + 1, "%s = NULL;", x);
        fg_line(e, ind, "}");
        return;
    case FG_D_FIXED:
        if (c->type.base == FG_OPAQUE) {
            fg_line(e, ind, "fgt_fill(r, %s, %s);", x, c->bound->text);
        } else {
            const char *i = fg_fmt(e->u, "i%d", e->tmp++);
            fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, c->bound->text, i);
            rand_decl(e, &el, fg_fmt(e->u, "%s[%s]", x, i), ind + 1);
            fg_line(e, ind, "}");
        }
        return;
    case FG_D_VAR: {
        if (c->type.base == FG_STRING) {
            fg_line(e, ind, "%s = fgt_string(r, %s);", x, max_text(c));
            return;
        }
        const char *len = fg_member(e, x, fg_len_name(e->u, c));
        const char *val = fg_member(e, x, fg_val_name(e->u, c));
        if (c->type.base == FG_OPAQUE) {
            fg_line(e, ind, "%s = fgt_len(r, %s, 40);", len, max_text(c));
            fg_line(e, ind, "%s = fgt_bytes(r, %s);", val, len);
            return;
        }
        if (recursive_elem(&el))
            fg_line(e, ind, "%s = fgt_rlen(r, %s);", len, max_text(c));
        else
            fg_line(e, ind, "%s = fgt_len(r, %s, 4);", len, max_text(c));
        fg_line(e, ind, "%s = fgt_calloc(%s, sizeof *%s);", val, len, val);
        const char *i = fg_fmt(e->u, "i%d", e->tmp++);
        fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, len, i);
        rand_decl(e, &el, fg_fmt(e->u, "%s[%s]", val, i), ind + 1);
        fg_line(e, ind, "}");
        return;
    }
    }
}

/* -------------------------------------------------------------------- eq */

static void eq_decl(fg_emit *e, const fg_decl *d, const char *x, const char *y, int ind);

static void eq_body(fg_emit *e, const fg_def *def, const char *x, const char *y, int ind)
{
    if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++)
            eq_decl(e, &def->members[i], fg_member(e, x, def->members[i].name),
                    fg_member(e, y, def->members[i].name), ind);
    } else if (def->kind == FG_ENUM) {
        fg_line(e, ind, "if (%s != %s)", x, y);
        fg_line(e, ind + 1, "return false;");
    } else if (def->kind == FG_UNION) {
        const char *dx = fg_member(e, x, def->disc.name), *dy = fg_member(e, y, def->disc.name);
        fg_line(e, ind, "if (%s != %s)", dx, dy);
        fg_line(e, ind + 1, "return false;");
        fg_line(e, ind, "switch ((int64_t)%s) {", dx);
        for (int i = 0; i < def->narms; i++) {
            const fg_arm *a = &def->arms[i];
            for (int l = 0; l < a->nlabels; l++)
                fg_line(e, ind, "case %s:", fg_label_text(a->labels[l]));
            if (!a->nlabels)
                fg_line(e, ind, "default:");
            if (a->decl.type.base != FG_VOID) {
                const char *u = fg_fmt(e->u, "%s_u", def->uname);
                eq_decl(e, &a->decl, fg_member(e, fg_member(e, x, u), a->decl.name),
                        fg_member(e, fg_member(e, y, u), a->decl.name), ind + 1);
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

static void eq_decl(fg_emit *e, const fg_decl *d, const char *x, const char *y, int ind)
{
    const fg_decl *c = fg_canon(d);
    fg_decl el = fg_elem(c);
    switch (c->kind) {
    case FG_D_PLAIN:
        switch (c->type.base) {
        case FG_FLOAT:
        case FG_DOUBLE:
        case FG_QUAD:
            fg_line(e, ind, "if (memcmp(%s, %s, sizeof %s) != 0)", fg_addr_of(e, x),
                    fg_addr_of(e, y), x);
            fg_line(e, ind + 1, "return false;");
            break;
        case FG_NAMED:
            if (c->type.def->is_netobj) {
                fg_line(e, ind, "if (!fgt_same_bytes(%s, %s, %s, %s))", fg_member(e, x, "n_bytes"),
                        fg_member(e, x, "n_len"), fg_member(e, y, "n_bytes"),
                        fg_member(e, y, "n_len"));
            } else {
                fg_line(e, ind, "if (!fgt_eq_%s(%s, %s))", c->type.def->name, fg_addr_of(e, x),
                        fg_addr_of(e, y));
            }
            fg_line(e, ind + 1, "return false;");
            break;
        case FG_INLINE:
            eq_body(e, c->type.def, x, y, ind);
            break;
        case FG_INT:
        case FG_UINT:
            /* rpcgen's long is C long, and libtirpc's xdr_long decodes
             * without sign extension: compare the 32 bits on the wire */
            fg_line(e, ind, "if ((uint32_t)%s != (uint32_t)%s)", x, y);
            fg_line(e, ind + 1, "return false;");
            break;
        default:
            fg_line(e, ind, "if (%s != %s)", x, y);
            fg_line(e, ind + 1, "return false;");
            break;
        }
        return;
    case FG_D_OPT:
        fg_line(e, ind, "if ((%s == NULL) != (%s == NULL))", x, y);
        fg_line(e, ind + 1, "return false;");
        fg_line(e, ind, "if (%s) {", x);
        eq_decl(e, &el, fg_fmt(e->u, "(*%s)", x), fg_fmt(e->u, "(*%s)", y), ind + 1);
        fg_line(e, ind, "}");
        return;
    case FG_D_FIXED:
        if (c->type.base == FG_OPAQUE) {
            fg_line(e, ind, "if (memcmp(%s, %s, %s) != 0)", x, y, c->bound->text);
            fg_line(e, ind + 1, "return false;");
        } else {
            const char *i = fg_fmt(e->u, "i%d", e->tmp++);
            fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, c->bound->text, i);
            eq_decl(e, &el, fg_fmt(e->u, "%s[%s]", x, i), fg_fmt(e->u, "%s[%s]", y, i), ind + 1);
            fg_line(e, ind, "}");
        }
        return;
    case FG_D_VAR: {
        if (c->type.base == FG_STRING) {
            fg_line(e, ind, "if (strcmp(%s, %s) != 0)", x, y);
            fg_line(e, ind + 1, "return false;");
            return;
        }
        const char *lx = fg_member(e, x, fg_len_name(e->u, c)),
                   *ly = fg_member(e, y, fg_len_name(e->u, c));
        const char *vx = fg_member(e, x, fg_val_name(e->u, c)),
                   *vy = fg_member(e, y, fg_val_name(e->u, c));
        if (c->type.base == FG_OPAQUE) {
            fg_line(e, ind, "if (!fgt_same_bytes(%s, %s, %s, %s))", vx, lx, vy, ly);
            fg_line(e, ind + 1, "return false;");
            return;
        }
        fg_line(e, ind, "if (%s != %s)", lx, ly);
        fg_line(e, ind + 1, "return false;");
        const char *i = fg_fmt(e->u, "i%d", e->tmp++);
        fg_line(e, ind, "for (uint32_t %s = 0; %s < %s; %s++) {", i, i, lx, i);
        eq_decl(e, &el, fg_fmt(e->u, "%s[%s]", vx, i), fg_fmt(e->u, "%s[%s]", vy, i), ind + 1);
        fg_line(e, ind, "}");
        return;
    }
    }
}

static bool testable(const fg_def *d)
{
    return d->kind == FG_TYPEDEF || d->kind == FG_ENUM || d->kind == FG_STRUCT ||
           d->kind == FG_UNION;
}

void fg_emit_test(fg_emit *e)
{
    fg_buf *o = e->out;
    fg_banner(e, "Test support: random values and equality, compiled against fargen's and "
                 "rpcgen's header.");
    fg_buf_puts(o, "#ifndef FGT_TYPES\n#error \"include a side header (fgt.h) first\"\n#endif\n\n");
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        if (!testable(d))
            continue;
        fg_printf(o, "static void fgt_rand_%s(fgt_rng *r, %s *v);\n", d->name, d->name);
        fg_printf(o, "static bool fgt_eq_%s(const %s *a, const %s *b);\n", d->name, d->name,
                  d->name);
    }
    fg_buf_puts(o, "\n");
    int n = 0;
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        if (!testable(d))
            continue;
        n++;
        fg_where(e, d->loc);
        e->tmp = 0;
        fg_printf(o, "static void fgt_rand_%s(fgt_rng *r, %s *v)\n{\n", d->name, d->name);
        if (d->kind == FG_TYPEDEF)
            rand_decl(e, &d->decl, "(*v)", 1);
        else
            rand_body(e, d, "(*v)", 1);
        fg_buf_puts(o, "}\n\n");
        e->tmp = 0;
        fg_printf(o, "static bool fgt_eq_%s(const %s *a, const %s *b)\n{\n", d->name, d->name,
                  d->name);
        if (d->kind == FG_TYPEDEF)
            eq_decl(e, &d->decl, "(*a)", "(*b)", 1);
        else
            eq_body(e, d, "(*a)", "(*b)", 1);
        fg_buf_puts(o, "    return true;\n}\n\n");
        fg_printf(o,
                  "static void fgt_rand_%s_any(fgt_rng *r, void *v)\n{\n"
                  "    fgt_rand_%s(r, (%s *)v);\n}\n\n"
                  "static bool fgt_eq_%s_any(const void *a, const void *b)\n{\n"
                  "    return fgt_eq_%s((const %s *)a, (const %s *)b);\n}\n\n"
                  "FGT_CODEC(%s)\n\n",
                  d->name, d->name, d->name, d->name, d->name, d->name, d->name, d->name);
    }
    fg_buf_puts(o, "const fgt_type FGT_TYPES[] = {\n");
    for (int i = 0; i < e->u->ndefs; i++)
        if (testable(e->u->defs[i]))
            fg_printf(o, "    FGT_ENTRY(%s),\n", e->u->defs[i]->name);
    fg_printf(
        o, "    {NULL, 0, NULL, NULL, NULL, NULL, NULL},\n};\nconst size_t FGT_NTYPES = %d;\n", n);
}
