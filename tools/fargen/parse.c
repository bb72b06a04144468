/* fargen — parser: tokens to AST.
 *
 * The grammar is RFC 5531 §12 (RFC 4506 §6 for the data part) with rpcgen's
 * extensions: char/short/long and unsigned forms, bare `unsigned`, `bool`,
 * `quadruple`, enum values that may be omitted, struct/enum/union-prefixed type
 * references, `string` as a procedure argument, and several arguments per
 * procedure (rpcgen -N).  The first error ends the compilation.
 */
#include <stdlib.h>
#include <string.h>

#include "fargen.h"

#define MAX_NESTING 32

static const char *what(const fg_tok *t)
{
    return t->kind == TK_EOF ? "end of file" : t->text;
}

static bool is_punct(const fg_tok *t, char c)
{
    return t->kind == TK_PUNCT && t->text[0] == c;
}

static bool is_word(const fg_tok *t, const char *w)
{
    return t->kind == TK_IDENT && strcmp(t->text, w) == 0;
}

static void expect(fg_unit *u, char c)
{
    fg_tok t = fg_next(u);
    if (!is_punct(&t, c)) {
        if (t.kind == TK_EOF)
            fg_fail(u, t.loc, "expected '%c', found end of file", c);
        fg_fail(u, t.loc, "expected '%c', found '%s'", c, t.text);
    }
}

static bool accept(fg_unit *u, char c)
{
    fg_tok t = fg_peek(u);
    if (is_punct(&t, c)) {
        fg_next(u);
        return true;
    }
    return false;
}

static const char *const keywords[] = {
    "bool",   "case",    "char",  "const",    "default", "double", "enum",      "float",
    "hyper",  "int",     "long",  "opaque",   "program", "short",  "string",    "struct",
    "switch", "typedef", "union", "unsigned", "version", "void",   "quadruple", NULL,
};

static bool is_keyword(const char *s)
{
    for (int i = 0; keywords[i]; i++)
        if (strcmp(keywords[i], s) == 0)
            return true;
    return false;
}

static fg_tok ident(fg_unit *u)
{
    fg_tok t = fg_next(u);
    if (t.kind != TK_IDENT)
        fg_fail(u, t.loc, "expected an identifier, found '%s'", what(&t));
    if (is_keyword(t.text))
        fg_fail(u, t.loc, "expected an identifier, found the keyword '%s'", t.text);
    return t;
}

static fg_value value(fg_unit *u)
{
    fg_tok t = fg_next(u);
    fg_value v = {t.loc, t.text, false, false, 0};
    if (t.kind == TK_NUM) {
        const char *d = t.text + (t.text[0] == '-');
        unsigned long long x = strtoull(d, NULL, 0);
        if (d[0] == '0' && d[1] && d[1] != 'x' && d[1] != 'X')
            x = strtoull(d + 1, NULL, 8);
        v.v = t.text[0] == '-' ? (int64_t)(0 - x) : (int64_t)x;
    } else if (t.kind == TK_CHAR) {
        v.is_char = true;
        const char *c = t.text + 1;
        if (*c == '\\') {
            c++;
            switch (*c) {
            case 'n':
                v.v = '\n';
                break;
            case 't':
                v.v = '\t';
                break;
            case 'r':
                v.v = '\r';
                break;
            case '0':
                v.v = 0;
                break;
            default:
                v.v = (unsigned char)*c;
                break;
            }
        } else {
            v.v = (unsigned char)*c;
        }
    } else if (t.kind == TK_IDENT && !is_keyword(t.text)) {
        v.is_ident = true;
    } else {
        fg_fail(u, t.loc, "expected a constant, found '%s'", what(&t));
    }
    return v;
}

static fg_value *value_p(fg_unit *u)
{
    fg_value *v = fg_alloc(u, sizeof *v);
    *v = value(u);
    return v;
}

/* growable arrays in the pool: doubling, the old block is simply left */
static void *grow(fg_unit *u, void *arr, int n, int *cap, size_t size)
{
    if (n < *cap)
        return arr;
    int ncap = *cap ? *cap * 2 : 8;
    void *a = fg_alloc(u, (size_t)ncap * size);
    if (n)
        memcpy(a, arr, (size_t)n * size);
    *cap = ncap;
    return a;
}

static fg_def *new_def(fg_unit *u, fg_defkind k, fg_loc loc)
{
    fg_def *d = fg_alloc(u, sizeof *d);
    d->kind = k;
    d->loc = loc;
    return d;
}

static void enter(fg_unit *u, fg_loc loc)
{
    if (++u->nesting > MAX_NESTING)
        fg_fail(u, loc, "definitions nested deeper than %d levels", MAX_NESTING);
}

static void decl(fg_unit *u, fg_decl *d, bool void_ok);
static void enum_body(fg_unit *u, fg_def *def);
static void struct_body(fg_unit *u, fg_def *def);
static void union_body(fg_unit *u, fg_def *def);

/* A type specifier.  `kw` is the first token (already consumed). */
static void type_spec(fg_unit *u, fg_type *t, fg_tok kw)
{
    t->loc = kw.loc;
    if (kw.kind != TK_IDENT)
        fg_fail(u, kw.loc, "expected a type, found '%s'", what(&kw));
    const char *w = kw.text;
    if (strcmp(w, "unsigned") == 0) {
        fg_tok n = fg_peek(u);
        t->base = FG_UINT;
        if (is_word(&n, "int") || is_word(&n, "long")) {
            t->is_long = n.text[0] == 'l';
            fg_next(u);
        } else if (is_word(&n, "hyper")) {
            fg_next(u);
            t->base = FG_UHYPER;
        } else if (is_word(&n, "char")) {
            fg_next(u);
            t->base = FG_UCHAR;
        } else if (is_word(&n, "short")) {
            fg_next(u);
            t->base = FG_USHORT;
        }
        return;
    }
    static const struct {
        const char *w;
        fg_base b;
    } simple[] = {
        {"int", FG_INT},     {"long", FG_INT},      {"hyper", FG_HYPER},
        {"float", FG_FLOAT}, {"double", FG_DOUBLE}, {"quadruple", FG_QUAD},
        {"bool", FG_BOOL},   {"char", FG_CHAR},     {"short", FG_SHORT},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (strcmp(w, simple[i].w) == 0) {
            t->base = simple[i].b;
            t->is_long = strcmp(w, "long") == 0;
            return;
        }
    }
    if (strcmp(w, "struct") == 0 || strcmp(w, "union") == 0 || strcmp(w, "enum") == 0) {
        fg_tok n = fg_peek(u);
        bool body = w[0] == 'u' ? is_word(&n, "switch") : is_punct(&n, '{');
        if (body) {
            fg_defkind k = w[0] == 's' ? FG_STRUCT : w[0] == 'u' ? FG_UNION : FG_ENUM;
            fg_def *def = new_def(u, k, kw.loc);
            def->is_inline = true;
            enter(u, kw.loc);
            if (k == FG_STRUCT)
                struct_body(u, def);
            else if (k == FG_UNION)
                union_body(u, def);
            else
                enum_body(u, def);
            u->nesting--;
            t->base = FG_INLINE;
            t->def = def;
            return;
        }
        fg_tok name = ident(u);
        t->base = FG_NAMED;
        t->name = name.text;
        t->prefix = w[0];
        t->loc = name.loc;
        return;
    }
    if (is_keyword(w))
        fg_fail(u, kw.loc, "expected a type, found '%s'", w);
    t->base = FG_NAMED;
    t->name = w;
}

/* declaration (RFC 4506 §6.3).  void_ok: a bare `void` is allowed here. */
static void decl(fg_unit *u, fg_decl *d, bool void_ok)
{
    fg_tok t = fg_next(u);
    d->loc = t.loc;
    if (is_word(&t, "void")) {
        d->type.base = FG_VOID;
        d->type.loc = t.loc;
        fg_tok n = fg_peek(u);
        if (n.kind == TK_IDENT) {
            fg_next(u);
            fg_tok b = fg_peek(u);
            if (is_punct(&b, '[') || is_punct(&b, '<'))
                fg_fail(u, t.loc, "array of void: '%s' cannot be an array of 'void'", n.text);
            fg_fail(u, t.loc, "'void' cannot be the type of '%s'", n.text);
        }
        if (is_punct(&n, '*'))
            fg_fail(u, n.loc, "'void' cannot be optional data");
        if (!void_ok)
            fg_fail(u, t.loc, "'void' is allowed only as a union arm or procedure argument");
        return;
    }
    if (is_word(&t, "string") || is_word(&t, "opaque")) {
        bool str = t.text[0] == 's';
        d->type.base = str ? FG_STRING : FG_OPAQUE;
        d->type.loc = t.loc;
        fg_tok n = ident(u);
        d->name = n.text;
        d->loc = n.loc;
        fg_tok b = fg_next(u);
        if (is_punct(&b, '<')) {
            d->kind = FG_D_VAR;
            if (!accept(u, '>')) {
                d->bound = value_p(u);
                expect(u, '>');
            }
        } else if (is_punct(&b, '[') && !str) {
            d->kind = FG_D_FIXED;
            d->bound = value_p(u);
            expect(u, ']');
        } else if (str) {
            fg_fail(u, b.loc, "string '%s' needs a maximum length: expected '<', found '%s'",
                    d->name, what(&b));
        } else {
            fg_fail(u, b.loc, "opaque '%s' needs a length: expected '[' or '<', found '%s'",
                    d->name, what(&b));
        }
        return;
    }
    type_spec(u, &d->type, t);
    if (accept(u, '*')) {
        fg_tok n = ident(u);
        d->kind = FG_D_OPT;
        d->name = n.text;
        d->loc = n.loc;
        if (d->type.base == FG_INLINE)
            d->type.def->uname = d->name;
        return;
    }
    fg_tok n = ident(u);
    d->name = n.text;
    d->loc = n.loc;
    if (d->type.base == FG_INLINE)
        d->type.def->uname = d->name;
    if (accept(u, '[')) {
        d->kind = FG_D_FIXED;
        d->bound = value_p(u);
        expect(u, ']');
    } else if (accept(u, '<')) {
        d->kind = FG_D_VAR;
        if (!accept(u, '>')) {
            d->bound = value_p(u);
            expect(u, '>');
        }
    }
}

static void enum_body(fg_unit *u, fg_def *def)
{
    expect(u, '{');
    int cap = 0;
    do {
        fg_tok p = fg_peek(u);
        if (is_punct(&p, '}') && def->nvals > 0)
            break; /* trailing comma */
        fg_tok n = ident(u);
        def->vals = grow(u, def->vals, def->nvals, &cap, sizeof *def->vals);
        fg_enumval *v = &def->vals[def->nvals++];
        v->loc = n.loc;
        v->name = n.text;
        if (accept(u, '='))
            v->value = value_p(u);
    } while (accept(u, ','));
    expect(u, '}');
}

static void struct_body(fg_unit *u, fg_def *def)
{
    expect(u, '{');
    int cap = 0;
    do {
        def->members = grow(u, def->members, def->nmembers, &cap, sizeof *def->members);
        fg_decl *m = &def->members[def->nmembers++];
        decl(u, m, false);
        expect(u, ';');
    } while (!accept(u, '}'));
}

static void union_body(fg_unit *u, fg_def *def)
{
    fg_tok sw = fg_next(u);
    if (!is_word(&sw, "switch"))
        fg_fail(u, sw.loc, "expected 'switch', found '%s'", what(&sw));
    expect(u, '(');
    decl(u, &def->disc, false);
    expect(u, ')');
    expect(u, '{');
    int cap = 0;
    for (;;) {
        fg_tok t = fg_next(u);
        if (is_punct(&t, '}')) {
            if (def->narms == 0)
                fg_fail(u, t.loc, "union has no arms: expected 'case', found '}'");
            break;
        }
        if (def->has_default) {
            if (is_word(&t, "case"))
                fg_fail(u, t.loc, "'case' after 'default': the default arm must be the last");
            fg_fail(u, t.loc, "expected '}' after the default arm, found '%s'", what(&t));
        }
        def->arms = grow(u, def->arms, def->narms, &cap, sizeof *def->arms);
        fg_arm *a = &def->arms[def->narms++];
        memset(a, 0, sizeof *a);
        a->loc = t.loc;
        if (is_word(&t, "default")) {
            expect(u, ':');
            def->has_default = true;
        } else if (is_word(&t, "case")) {
            int lcap = 0;
            for (;;) {
                a->labels = grow(u, a->labels, a->nlabels, &lcap, sizeof *a->labels);
                a->labels[a->nlabels++] = value_p(u);
                expect(u, ':');
                fg_tok n = fg_peek(u);
                if (!is_word(&n, "case"))
                    break;
                fg_next(u);
            }
        } else {
            fg_fail(u, t.loc, "expected 'case', found '%s'", what(&t));
        }
        decl(u, &a->decl, true);
        expect(u, ';');
    }
}

/* a procedure's argument or result type: void, string, or a type specifier */
static void proc_type(fg_unit *u, fg_type *t, bool void_ok)
{
    fg_tok k = fg_next(u);
    memset(t, 0, sizeof *t);
    t->loc = k.loc;
    if (is_word(&k, "void")) {
        if (!void_ok)
            fg_fail(u, k.loc, "'void' must be the only argument");
        t->base = FG_VOID;
        return;
    }
    if (is_word(&k, "string")) {
        t->base = FG_STRING;
        return;
    }
    if (is_word(&k, "opaque"))
        fg_fail(u, k.loc, "'opaque' cannot be a procedure argument or result; use a typedef");
    type_spec(u, t, k);
    if (t->base == FG_INLINE)
        fg_fail(u, k.loc, "an inline type cannot be a procedure argument or result");
    fg_tok n = fg_peek(u);
    if (is_punct(&n, '*') || is_punct(&n, '<') || is_punct(&n, '['))
        fg_fail(u, n.loc,
                "a procedure argument or result must be a type name; found '%s' "
                "(use a typedef)",
                n.text);
}

static void program(fg_unit *u, fg_def *def)
{
    def->name = ident(u).text;
    expect(u, '{');
    int vcap = 0;
    do {
        fg_tok vt = fg_next(u);
        if (!is_word(&vt, "version"))
            fg_fail(u, vt.loc, "expected 'version', found '%s'", what(&vt));
        def->vers = grow(u, def->vers, def->nvers, &vcap, sizeof *def->vers);
        fg_version *v = &def->vers[def->nvers++];
        memset(v, 0, sizeof *v);
        fg_tok vn = ident(u);
        v->name = vn.text;
        v->loc = vn.loc;
        expect(u, '{');
        int pcap = 0;
        do {
            v->procs = grow(u, v->procs, v->nprocs, &pcap, sizeof *v->procs);
            fg_proc *p = &v->procs[v->nprocs++];
            memset(p, 0, sizeof *p);
            p->sem = (fg_sem)fg_peek(u).sem; /* `/ *@ idempotent * /` before the line */
            u->sem_ok = true;
            proc_type(u, &p->res, true);
            u->sem_ok = false;
            fg_tok pn = ident(u);
            p->name = pn.text;
            p->loc = pn.loc;
            expect(u, '(');
            int acap = 0;
            do {
                p->args = grow(u, p->args, p->nargs, &acap, sizeof *p->args);
                proc_type(u, &p->args[p->nargs], p->nargs == 0);
                p->nargs++;
                if (p->args[0].base == FG_VOID) {
                    fg_tok c = fg_peek(u);
                    if (is_punct(&c, ','))
                        fg_fail(u, c.loc, "'void' must be the only argument");
                }
            } while (accept(u, ','));
            expect(u, ')');
            expect(u, '=');
            p->num = value(u);
            expect(u, ';');
        } while (!accept(u, '}'));
        expect(u, '=');
        v->num = value(u);
        expect(u, ';');
    } while (!accept(u, '}'));
    expect(u, '=');
    def->num = value(u);
    expect(u, ';');
}

static void add_def(fg_unit *u, fg_def *d)
{
    u->defs = grow(u, u->defs, u->ndefs, &u->capdefs, sizeof *u->defs);
    u->defs[u->ndefs++] = d;
}

void fg_parse(fg_unit *u)
{
    for (;;) {
        fg_tok t = fg_next(u);
        if (t.kind == TK_EOF)
            return;
        if (t.kind == TK_PASS) {
            fg_def *d = new_def(u, FG_PASS, t.loc);
            d->text = t.text;
            add_def(u, d);
            continue;
        }
        if (t.kind != TK_IDENT)
            fg_fail(u, t.loc, "expected a definition, found '%s'", t.text);
        fg_def *d;
        if (strcmp(t.text, "const") == 0) {
            d = new_def(u, FG_CONST, t.loc);
            fg_tok n = ident(u);
            d->name = n.text;
            d->loc = n.loc;
            expect(u, '=');
            fg_tok sv = fg_peek(u);
            if (sv.kind == TK_STRING) {
                fg_next(u);
                d->value.loc = sv.loc;
                d->value.text = sv.text;
                d->value.is_string = true;
            } else {
                d->value = value(u);
            }
        } else if (strcmp(t.text, "typedef") == 0) {
            d = new_def(u, FG_TYPEDEF, t.loc);
            decl(u, &d->decl, false);
            d->name = d->decl.name;
            d->loc = d->decl.loc;
            if (d->decl.kind == FG_D_PLAIN && d->decl.type.base == FG_INLINE) {
                /* typedef struct { ... } foo;  is  struct foo { ... }; */
                fg_def *body = d->decl.type.def;
                body->name = d->name;
                body->loc = d->loc;
                body->is_inline = false;
                d = body;
            }
        } else if (strcmp(t.text, "enum") == 0 || strcmp(t.text, "struct") == 0 ||
                   strcmp(t.text, "union") == 0) {
            fg_defkind k = t.text[0] == 'e' ? FG_ENUM : t.text[0] == 's' ? FG_STRUCT : FG_UNION;
            d = new_def(u, k, t.loc);
            fg_tok n = ident(u);
            d->name = n.text;
            d->loc = n.loc;
            d->uname = d->name;
            if (k == FG_ENUM)
                enum_body(u, d);
            else if (k == FG_STRUCT)
                struct_body(u, d);
            else
                union_body(u, d);
        } else if (strcmp(t.text, "program") == 0) {
            d = new_def(u, FG_PROGRAM, t.loc);
            program(u, d);
            d->loc = t.loc;
            add_def(u, d);
            continue; /* program ends with its own ';' */
        } else {
            fg_fail(u, t.loc,
                    "expected a definition (const, typedef, enum, struct, union or "
                    "program), found '%s'",
                    t.text);
        }
        expect(u, ';');
        add_def(u, d);
    }
}
