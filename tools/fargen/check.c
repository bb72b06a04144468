/* fargen — semantic checks: names, types, constants.
 *
 * After fg_check every type reference points at its definition, every
 * constant has its value, every bound is known, and the properties emitters
 * need are computed (lists, recursion, minimum wire sizes, what needs
 * freeing).  Anything rpcgen would turn into C that does not compile is an
 * error here instead, pointing at the offending token.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fargen.h"

typedef enum sym_kind { SYM_TYPE, SYM_CONST, SYM_ENUMVAL, SYM_PROG, SYM_VERS, SYM_PROC } sym_kind;

typedef struct fg_sym {
    const char *name;
    sym_kind kind;
    fg_loc loc;
    fg_def *def;      /* SYM_TYPE, SYM_CONST (the const), SYM_ENUMVAL (the enum), SYM_PROG */
    fg_enumval *eval; /* SYM_ENUMVAL */
    uint32_t number;  /* SYM_PROC: the procedure number */
    int state;        /* constant resolution: 0 new, 1 in progress, 2 done */
} fg_sym;

static const char *const c_keywords[] = {
    "auto",       "break",     "case",           "char",
    "const",      "continue",  "default",        "do",
    "double",     "else",      "enum",           "extern",
    "float",      "for",       "goto",           "if",
    "inline",     "int",       "long",           "register",
    "restrict",   "return",    "short",          "signed",
    "sizeof",     "static",    "struct",         "switch",
    "typedef",    "union",     "unsigned",       "void",
    "volatile",   "while",     "_Bool",          "_Complex",
    "_Imaginary", "_Alignas",  "_Alignof",       "_Atomic",
    "_Generic",   "_Noreturn", "_Static_assert", "_Thread_local",
    "bool",       "true",      "false",          NULL,
};

static void check_c_name(fg_unit *u, const char *name, fg_loc loc)
{
    for (int i = 0; c_keywords[i]; i++)
        if (strcmp(c_keywords[i], name) == 0)
            fg_fail(u, loc, "'%s' is a C keyword and cannot name anything here", name);
}

/* Names C accepts but C++ (to C++23, with its alternative tokens) or C23
 * reserve: rpcgen writes them as they are, and its header then does not
 * compile as C++ (a procedure DELETE is the impl member `delete`).  Wherever
 * a .x name is itself a C identifier, fargen writes such a name with a
 * trailing underscore; names built from it (delete_1, class_encode,
 * new_len) are not keywords and keep the .x spelling. */
static const char *const cxx_keywords[][2] = {
    {"alignas", "alignas_"},
    {"alignof", "alignof_"},
    {"and", "and_"},
    {"and_eq", "and_eq_"},
    {"asm", "asm_"},
    {"bitand", "bitand_"},
    {"bitor", "bitor_"},
    {"catch", "catch_"},
    {"char8_t", "char8_t_"},
    {"char16_t", "char16_t_"},
    {"char32_t", "char32_t_"},
    {"class", "class_"},
    {"co_await", "co_await_"},
    {"co_return", "co_return_"},
    {"co_yield", "co_yield_"},
    {"compl", "compl_"},
    {"concept", "concept_"},
    {"const_cast", "const_cast_"},
    {"consteval", "consteval_"},
    {"constexpr", "constexpr_"},
    {"constinit", "constinit_"},
    {"decltype", "decltype_"},
    {"delete", "delete_"},
    {"dynamic_cast", "dynamic_cast_"},
    {"explicit", "explicit_"},
    {"export", "export_"},
    {"friend", "friend_"},
    {"mutable", "mutable_"},
    {"namespace", "namespace_"},
    {"new", "new_"},
    {"noexcept", "noexcept_"},
    {"not", "not_"},
    {"not_eq", "not_eq_"},
    {"nullptr", "nullptr_"},
    {"operator", "operator_"},
    {"or", "or_"},
    {"or_eq", "or_eq_"},
    {"private", "private_"},
    {"protected", "protected_"},
    {"public", "public_"},
    {"reinterpret_cast", "reinterpret_cast_"},
    {"requires", "requires_"},
    {"static_assert", "static_assert_"},
    {"static_cast", "static_cast_"},
    {"template", "template_"},
    {"this", "this_"},
    {"thread_local", "thread_local_"},
    {"throw", "throw_"},
    {"try", "try_"},
    {"typeid", "typeid_"},
    {"typename", "typename_"},
    {"typeof", "typeof_"},               /* C23, GNU C */
    {"typeof_unqual", "typeof_unqual_"}, /* C23 */
    {"using", "using_"},
    {"virtual", "virtual_"},
    {"wchar_t", "wchar_t_"},
    {"xor", "xor_"},
    {"xor_eq", "xor_eq_"},
};

const char *fg_id(const char *name)
{
    for (size_t i = 0; i < sizeof cxx_keywords / sizeof cxx_keywords[0]; i++)
        if (strcmp(cxx_keywords[i][0], name) == 0)
            return cxx_keywords[i][1];
    return name;
}

bool fg_is_escaped(const char *name)
{
    return fg_id(name) != name;
}

/* The definition whose #define in the header is the C identifier `cname`
 * (a constant, also one of a %#define line, a program, version or
 * procedure), or NULL. */
static fg_sym *macro(fg_unit *u, const char *cname)
{
    for (int i = 0; i < u->nsyms; i++) {
        fg_sym *s = &u->syms[i];
        if ((s->kind == SYM_CONST || s->kind == SYM_PROG || s->kind == SYM_VERS ||
             s->kind == SYM_PROC) &&
            strcmp(fg_id(s->name), cname) == 0)
            return s;
    }
    return NULL;
}

const char *fg_impl_member(fg_unit *u, const char *proc)
{
    size_t n = strlen(proc);
    char *r = fg_alloc(u, n + 4);
    for (size_t i = 0; i < n; i++)
        r[i] = (char)tolower((unsigned char)proc[i]);
    /* a procedure named in lower case is its own #define, and a constant
     * may be named so too: the macro would replace the member */
    if (macro(u, fg_id(r))) {
        memcpy(r + n, "_fn", 4);
        return r;
    }
    return fg_id(r);
}

/* Two names of one scope that are one C identifier: "new" (written new_)
 * and "new_".  `a` is being defined, `b` was defined at bloc. */
static void check_c_clash(fg_unit *u, const char *a, fg_loc aloc, const char *b, fg_loc bloc)
{
    if (strcmp(a, b) == 0 || strcmp(fg_id(a), fg_id(b)) != 0)
        return;
    if (fg_is_escaped(b))
        fg_fail(u, aloc,
                "'%s' is also the C name of '%s' (a C++ keyword, written '%s'; defined at %s:%d)",
                a, b, fg_id(b), bloc.file, bloc.line);
    fg_fail(u, aloc,
            "'%s' is a C++ keyword, written '%s', which is already a name (defined at %s:%d)", a,
            fg_id(a), bloc.file, bloc.line);
}

static fg_sym *find(fg_unit *u, const char *name)
{
    for (int i = 0; i < u->nsyms; i++)
        if (strcmp(u->syms[i].name, name) == 0)
            return &u->syms[i];
    return NULL;
}

static fg_sym *add(fg_unit *u, const char *name, sym_kind k, fg_loc loc)
{
    check_c_name(u, name, loc);
    fg_sym *old = find(u, name);
    if (old)
        fg_fail(u, loc, "duplicate name '%s' (first defined at %s:%d)", name, old->loc.file,
                old->loc.line);
    for (int i = 0; i < u->nsyms; i++)
        check_c_clash(u, name, loc, u->syms[i].name, u->syms[i].loc);
    if (u->nsyms == u->capsyms) {
        int ncap = u->capsyms ? u->capsyms * 2 : 64;
        fg_sym *n = fg_alloc(u, (size_t)ncap * sizeof *n);
        if (u->nsyms)
            memcpy(n, u->syms, (size_t)u->nsyms * sizeof *n);
        u->syms = n;
        u->capsyms = ncap;
    }
    fg_sym *s = &u->syms[u->nsyms++];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->kind = k;
    s->loc = loc;
    return s;
}

fg_def *fg_lookup_type(fg_unit *u, const char *name)
{
    fg_sym *s = find(u, name);
    return s && s->kind == SYM_TYPE ? s->def : NULL;
}

/* ------------------------------------------------------------- registering */

static void register_decl(fg_unit *u, fg_decl *d);

static void register_body(fg_unit *u, fg_def *def)
{
    if (def->kind == FG_ENUM) {
        for (int i = 0; i < def->nvals; i++) {
            fg_sym *s = add(u, def->vals[i].name, SYM_ENUMVAL, def->vals[i].loc);
            s->def = def;
            s->eval = &def->vals[i];
        }
    } else if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++)
            register_decl(u, &def->members[i]);
    } else if (def->kind == FG_UNION) {
        register_decl(u, &def->disc);
        for (int i = 0; i < def->narms; i++)
            register_decl(u, &def->arms[i].decl);
    }
}

static void register_decl(fg_unit *u, fg_decl *d)
{
    if (d->type.base == FG_INLINE)
        register_body(u, d->type.def);
}

/* "%#define NAME 1024": the .x gives NAME a value in C; learn it so that
 * NAME used as a bound is checked like a const. */
static void pass_define(fg_unit *u, fg_def *d)
{
    const char *p = d->text;
    if (!p)
        return;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "#define", 7) != 0 || (p[7] != ' ' && p[7] != '\t'))
        return;
    p += 7;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *n = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_')
        p++;
    size_t nl = (size_t)(p - n);
    if (!nl || (*p != ' ' && *p != '\t'))
        return;
    while (*p == ' ' || *p == '\t')
        p++;
    char *end;
    long long v = strtoll(p, &end, 0);
    if (end == p || *p == '-' || *p == '+')
        return;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end || v > UINT32_MAX)
        return;
    char *name = fg_strdup(u, n, nl);
    if (find(u, name))
        return;
    fg_def *c = fg_alloc(u, sizeof *c);
    c->kind = FG_CONST;
    c->from_pass = true;
    c->name = name;
    c->loc = d->loc;
    c->value.text = name;
    c->value.v = v;
    fg_sym *s = add(u, name, SYM_CONST, d->loc);
    s->def = c;
    s->state = 2;
}

/* An external type: opaque to the emitters, which call NAME_encode,
 * NAME_decode and NAME_free (declared in foo.h).  Its wire size is unknown:
 * at least 4 bytes, as of every XDR type but void, which is what decoding
 * an array of it checks counts against; it may own memory. */
static void extern_type(fg_unit *u, const fg_extern *x)
{
    fg_sym *old = find(u, x->name);
    if (old && old->kind == SYM_TYPE && old->def->is_extern)
        return; /* declared twice (on the command line and in the .x): one type */
    fg_def *d = fg_alloc(u, sizeof *d);
    d->kind = FG_STRUCT;
    d->is_extern = true;
    d->name = x->name;
    d->uname = x->name;
    d->loc = x->loc;
    d->min_wire = 4;
    d->state = 2;
    d->needs_free = true;
    d->fstate = 2;
    add(u, x->name, SYM_TYPE, x->loc)->def = d;
    fg_def **n = fg_alloc(u, ((size_t)u->nexts + 1) * sizeof *n);
    if (u->nexts)
        memcpy(n, u->exts, (size_t)u->nexts * sizeof *n);
    n[u->nexts++] = d;
    u->exts = n;
}

static void register_defs(fg_unit *u)
{
    for (int i = 0; i < u->ncmd_externs; i++)
        extern_type(u, &u->cmd_externs[i]);
    for (int i = 0; i < u->nexterns; i++)
        extern_type(u, &u->externs[i]);
    for (int i = 0; i < u->ndefs; i++) {
        fg_def *d = u->defs[i];
        switch (d->kind) {
        case FG_PASS:
            pass_define(u, d);
            break;
        case FG_CONST:
            add(u, d->name, SYM_CONST, d->loc)->def = d;
            break;
        case FG_TYPEDEF:
            if (d->decl.kind == FG_D_PLAIN && d->decl.type.base == FG_NAMED &&
                d->decl.type.prefix && strcmp(d->decl.type.name, d->name) == 0)
                break; /* typedef struct foo foo; -- checked below, emits nothing */
            add(u, d->name, SYM_TYPE, d->loc)->def = d;
            register_decl(u, &d->decl);
            break;
        case FG_ENUM:
        case FG_STRUCT:
        case FG_UNION:
            add(u, d->name, SYM_TYPE, d->loc)->def = d;
            register_body(u, d);
            break;
        case FG_PROGRAM:
            add(u, d->name, SYM_PROG, d->loc)->def = d;
            for (int v = 0; v < d->nvers; v++) {
                fg_version *ver = &d->vers[v];
                add(u, ver->name, SYM_VERS, ver->loc)->def = d;
                for (int p = 0; p < ver->nprocs; p++) {
                    fg_proc *pr = &ver->procs[p];
                    fg_sym *old = find(u, pr->name);
                    if (old && old->kind == SYM_PROC && old->def == d)
                        continue; /* same name in another version: number checked later */
                    add(u, pr->name, SYM_PROC, pr->loc)->def = d;
                }
            }
            break;
        }
    }
}

/* --------------------------------------------------------------- constants */

static int64_t sym_value(fg_unit *u, fg_sym *s, fg_loc use);

static int64_t resolve_value(fg_unit *u, fg_value *v)
{
    if (!v->is_ident)
        return v->v;
    if (strcmp(v->text, "TRUE") == 0 && !find(u, "TRUE"))
        return v->v = 1;
    if (strcmp(v->text, "FALSE") == 0 && !find(u, "FALSE"))
        return v->v = 0;
    fg_sym *s = find(u, v->text);
    /* a name the .x defines is written as its definition is (fg_id); one
     * of C (a %#define, a header) as it is */
    v->escape = s && !(s->kind == SYM_CONST && s->def->from_pass);
    if (!s) {
        /* rpcgen passes such names through to C, where a pass-through
         * #define or an included header defines them (MAXNETNAMELEN in
         * key_prot.x comes from <rpc/auth.h>).  So do we; the value is
         * unknown here, which only weakens some checks. */
        v->unknown = true;
        return v->v = 0;
    }
    if (s->kind != SYM_CONST && s->kind != SYM_ENUMVAL)
        fg_fail(u, v->loc, "'%s' is not a constant", v->text);
    if (s->kind == SYM_CONST && s->def->value.is_string)
        fg_fail(u, v->loc, "bad constant '%s': a string constant is not a number", v->text);
    return v->v = sym_value(u, s, v->loc);
}

static void resolve_enum(fg_unit *u, fg_def *def)
{
    int64_t next = 0;
    for (int i = 0; i < def->nvals; i++) {
        fg_enumval *ev = &def->vals[i];
        fg_sym *s = find(u, ev->name);
        if (s->state == 1)
            fg_fail(u, ev->loc, "the value of '%s' depends on itself", ev->name);
        if (s->state == 2) {
            next = ev->v + 1;
            continue;
        }
        s->state = 1;
        ev->v = ev->value ? resolve_value(u, ev->value) : next;
        if (ev->value && ev->value->unknown)
            ev->v = next; /* as good a guess as any; the C compiler knows */
        else if (ev->v < INT32_MIN || ev->v > INT32_MAX)
            fg_fail(u, ev->value ? ev->value->loc : ev->loc,
                    "bad constant '%s': enum values must fit in 32 bits",
                    ev->value ? ev->value->text : ev->name);
        next = ev->v + 1;
        s->state = 2;
    }
}

static int64_t sym_value(fg_unit *u, fg_sym *s, fg_loc use)
{
    if (s->state == 2)
        return s->kind == SYM_CONST ? s->def->value.v : s->eval->v;
    if (s->state == 1)
        fg_fail(u, use, "the value of '%s' depends on itself", s->name);
    if (s->kind == SYM_ENUMVAL) {
        resolve_enum(u, s->def);
        return s->eval->v;
    }
    s->state = 1;
    int64_t v = s->def->value.is_string ? 0 : resolve_value(u, &s->def->value);
    s->state = 2;
    return v;
}

/* ------------------------------------------------------------------- types */

static const struct {
    const char *name;
    fg_base base;
} builtin_names[] = {
    /* the XDR primitives libtirpc provides (xdr_NAME), which rpcgen output
     * uses for an otherwise unknown type of that name */
    {"int8_t", FG_CHAR},      {"uint8_t", FG_UCHAR},       {"u_int8_t", FG_UCHAR},
    {"int16_t", FG_SHORT},    {"uint16_t", FG_USHORT},     {"u_int16_t", FG_USHORT},
    {"int32_t", FG_INT},      {"uint32_t", FG_UINT},       {"u_int32_t", FG_UINT},
    {"int64_t", FG_HYPER},    {"uint64_t", FG_UHYPER},     {"u_int64_t", FG_UHYPER},
    {"u_int", FG_UINT},       {"u_long", FG_UINT},         {"u_short", FG_USHORT},
    {"u_char", FG_UCHAR},     {"quad_t", FG_HYPER},        {"u_quad_t", FG_UHYPER},
    {"longlong_t", FG_HYPER}, {"u_longlong_t", FG_UHYPER}, {"bool_t", FG_BOOL},
    {"enum_t", FG_INT},
};

/* libtirpc's netobj (struct netobj { u_int n_len; char *n_bytes; }, on the
 * wire opaque<MAX_NETOBJ_SZ>), which lock-manager .x files use without
 * defining it.  The header defines it (emit_h.c) unless libtirpc's
 * <rpc/xdr.h> did. */
static fg_def *netobj(fg_unit *u)
{
    if (!u->netobj) {
        fg_def *d = fg_alloc(u, sizeof *d);
        d->kind = FG_STRUCT; /* opaque to the emitters: they call netobj_encode etc. */
        d->is_netobj = true;
        d->name = "netobj";
        d->uname = "netobj";
        d->loc.file = u->input_name;
        d->min_wire = 4;
        d->state = 2;
        d->needs_free = true;
        d->fstate = 2;
        u->netobj = d;
    }
    return u->netobj;
}

static void resolve_type(fg_unit *u, fg_type *t)
{
    if (t->base != FG_NAMED)
        return;
    fg_sym *s = find(u, t->name);
    if (!s) {
        if (!t->prefix)
            for (size_t i = 0; i < sizeof builtin_names / sizeof builtin_names[0]; i++)
                if (strcmp(builtin_names[i].name, t->name) == 0) {
                    t->base = builtin_names[i].base;
                    return;
                }
        if (!t->prefix && strcmp(t->name, "netobj") == 0) {
            t->def = netobj(u);
            if (!u->netobj_user)
                u->netobj_user = u->cur_def;
            return;
        }
        fg_fail(u, t->loc,
                "unknown type '%s' (defined outside the .x? declare it: --extern %s, or "
                "/*@ extern %s */ in the .x)",
                t->name, t->name, t->name);
    }
    if (s->kind != SYM_TYPE)
        fg_fail(u, t->loc, "'%s' is not a type", t->name);
    t->def = s->def;
    if (s->def->is_extern) {
        if (!s->def->ext_user) /* its prototypes go before this definition */
            s->def->ext_user = u->cur_def;
        return; /* struct/union/enum X: the C type is the user's to say */
    }
    if (t->prefix) {
        fg_defkind want = t->prefix == 's' ? FG_STRUCT : t->prefix == 'u' ? FG_UNION : FG_ENUM;
        if (s->def->kind != want)
            fg_fail(u, t->loc, "'%s' is not %s", t->name,
                    want == FG_STRUCT  ? "a struct"
                    : want == FG_UNION ? "a union"
                                       : "an enum");
    }
}

static void check_body(fg_unit *u, fg_def *def);

static void check_decl(fg_unit *u, fg_decl *d, bool void_ok)
{
    if (d->type.base == FG_VOID) {
        if (!void_ok)
            fg_fail(u, d->loc, "'void' is allowed only as a union arm or procedure argument");
        return;
    }
    resolve_type(u, &d->type);
    if (d->type.base == FG_INLINE)
        check_body(u, d->type.def);
    if (d->bound) {
        int64_t v = resolve_value(u, d->bound);
        if (d->bound->unknown)
            v = d->kind == FG_D_FIXED ? 1 : UINT32_MAX; /* 1: a safe minimum size */
        if (v < 0 || v > UINT32_MAX)
            fg_fail(u, d->bound->loc, "bad constant '%s': a length must be in 0..4294967295",
                    d->bound->text);
        if (d->kind == FG_D_FIXED && v == 0)
            fg_fail(u, d->bound->loc,
                    "bad constant '%s': a fixed-length array needs at least "
                    "one element",
                    d->bound->text);
        d->max = (uint32_t)v;
    } else if (d->kind == FG_D_VAR) {
        d->max = UINT32_MAX;
    }
    if (d->type.base == FG_NAMED && d->type.def->kind == FG_TYPEDEF && d->kind != FG_D_PLAIN) {
        const fg_decl *c = fg_canon(&d->type.def->decl);
        if (c->type.base == FG_VOID)
            fg_fail(u, d->type.loc, "array of void");
    }
}

static void check_members_unique(fg_unit *u, fg_decl **ds, int n)
{
    for (int i = 0; i < n; i++) {
        if (!ds[i]->name)
            continue;
        check_c_name(u, ds[i]->name, ds[i]->loc);
        fg_sym *m = macro(u, fg_id(ds[i]->name));
        if (m)
            fg_fail(u, ds[i]->loc,
                    "the member '%s' has the name of '%s' (defined at %s:%d), which the header "
                    "#defines: the macro would replace the member",
                    ds[i]->name, m->name, m->loc.file, m->loc.line);
        for (int j = 0; j < i; j++) {
            if (ds[j]->name && strcmp(ds[i]->name, ds[j]->name) == 0)
                fg_fail(u, ds[i]->loc, "duplicate name '%s' (first defined at %s:%d)", ds[i]->name,
                        ds[j]->loc.file, ds[j]->loc.line);
            if (ds[j]->name)
                check_c_clash(u, ds[i]->name, ds[i]->loc, ds[j]->name, ds[j]->loc);
        }
    }
}

static bool disc_ok(const fg_decl *c)
{
    if (c->kind != FG_D_PLAIN)
        return false;
    switch (c->type.base) {
    case FG_INT:
    case FG_UINT:
    case FG_BOOL:
    case FG_CHAR:
    case FG_UCHAR:
    case FG_SHORT:
    case FG_USHORT:
        return true;
    case FG_NAMED:
    case FG_INLINE:
        return c->type.def->kind == FG_ENUM;
    default:
        return false;
    }
}

static void check_body(fg_unit *u, fg_def *def)
{
    if (def->kind == FG_ENUM) {
        resolve_enum(u, def);
    } else if (def->kind == FG_STRUCT) {
        fg_decl **ds = fg_alloc(u, (size_t)def->nmembers * sizeof *ds);
        for (int i = 0; i < def->nmembers; i++) {
            check_decl(u, &def->members[i], false);
            ds[i] = &def->members[i];
        }
        check_members_unique(u, ds, def->nmembers);
    } else if (def->kind == FG_UNION) {
        check_decl(u, &def->disc, false);
        const fg_decl *dc = fg_canon(&def->disc);
        if (!disc_ok(dc))
            fg_fail(u, def->disc.type.loc,
                    "the discriminant '%s' must be int, unsigned int, bool or an enum",
                    def->disc.name);
        bool is_unsigned =
            dc->type.base == FG_UINT || dc->type.base == FG_UCHAR || dc->type.base == FG_USHORT;
        fg_decl **ds = fg_alloc(u, ((size_t)def->narms + 1) * sizeof *ds);
        ds[0] = &def->disc;
        int nl = 0;
        for (int i = 0; i < def->narms; i++)
            nl += def->arms[i].nlabels;
        int64_t *seen = fg_alloc(u, ((size_t)nl + 1) * sizeof *seen);
        int ns = 0;
        for (int i = 0; i < def->narms; i++) {
            fg_arm *a = &def->arms[i];
            check_decl(u, &a->decl, true);
            ds[i + 1] = &a->decl;
            for (int l = 0; l < a->nlabels; l++) {
                fg_value *v = a->labels[l];
                int64_t x = resolve_value(u, v);
                if (v->unknown)
                    continue;
                if (is_unsigned ? (x < 0 || x > UINT32_MAX) : (x < INT32_MIN || x > INT32_MAX))
                    fg_fail(u, v->loc, "bad constant '%s': out of range for the %s discriminant",
                            v->text, is_unsigned ? "unsigned" : "signed");
                for (int k = 0; k < ns; k++)
                    if (seen[k] == x)
                        fg_fail(u, v->loc, "duplicate case label '%s' (value %lld)", v->text,
                                (long long)x);
                seen[ns++] = x;
            }
        }
        check_members_unique(u, ds, def->narms + 1);
    }
}

/* ---------------------------------------------------------- derived facts */

const fg_decl *fg_canon(const fg_decl *d)
{
    for (int n = 0; n < 10000; n++) {
        if (d->kind != FG_D_PLAIN || d->type.base != FG_NAMED || !d->type.def ||
            d->type.def->kind != FG_TYPEDEF)
            return d;
        d = &d->type.def->decl;
    }
    return d;
}

fg_def *fg_body(const fg_type *t)
{
    if (t->base == FG_INLINE)
        return t->def;
    if (t->base != FG_NAMED || !t->def)
        return NULL;
    if (t->def->kind == FG_TYPEDEF) {
        const fg_decl *c = fg_canon(&t->def->decl);
        return c->kind == FG_D_PLAIN ? fg_body(&c->type) : NULL;
    }
    return t->def;
}

const char *fg_len_name(fg_unit *u, const fg_decl *d)
{
    if (d->len_name)
        return d->len_name;
    size_t n = strlen(d->name);
    char *s = fg_alloc(u, n + 5);
    memcpy(s, d->name, n);
    memcpy(s + n, "_len", 5);
    return s;
}

const char *fg_val_name(fg_unit *u, const fg_decl *d)
{
    if (d->val_name)
        return d->val_name;
    size_t n = strlen(d->name);
    char *s = fg_alloc(u, n + 5);
    memcpy(s, d->name, n);
    memcpy(s + n, "_val", 5);
    return s;
}

fg_decl fg_elem(const fg_decl *d)
{
    fg_decl e = *d;
    e.kind = FG_D_PLAIN;
    e.bound = NULL;
    e.max = 0;
    return e;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a || a + b > UINT32_MAX * 4ull ? UINT32_MAX * 4ull : a + b;
}

static uint64_t def_min_wire(fg_unit *u, fg_def *def);
static fg_unit *g_unit_for_min; /* only during fg_check, for error reporting */

uint64_t fg_min_wire(const fg_decl *d)
{
    const fg_decl *c = fg_canon(d);
    switch (c->kind) {
    case FG_D_OPT:
    case FG_D_VAR:
        return 4;
    case FG_D_FIXED: {
        if (c->type.base == FG_OPAQUE)
            return (uint64_t)c->max + ((4 - (c->max & 3)) & 3);
        fg_decl e = fg_elem(c);
        uint64_t m = fg_min_wire(&e);
        uint64_t t = m * c->max;
        return m && t / m != c->max ? UINT32_MAX * 4ull : sat_add(t, 0);
    }
    case FG_D_PLAIN:
        break;
    }
    switch (c->type.base) {
    case FG_VOID:
        return 0;
    case FG_HYPER:
    case FG_UHYPER:
    case FG_DOUBLE:
        return 8;
    case FG_QUAD:
        return 16;
    case FG_NAMED:
    case FG_INLINE:
        return def_min_wire(g_unit_for_min, c->type.def);
    default:
        return 4;
    }
}

static uint64_t def_min_wire(fg_unit *u, fg_def *def)
{
    if (def->state == 2)
        return def->min_wire;
    if (def->state == 1) {
        if (u)
            fg_fail(u, def->loc, "'%s' contains itself (use optional data '*' to make a list)",
                    def->name    ? def->name
                    : def->uname ? def->uname
                                 : "inline type");
        return 0;
    }
    def->state = 1;
    uint64_t m = 0;
    if (def->kind == FG_ENUM) {
        m = 4;
    } else if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++)
            m = sat_add(m, fg_min_wire(&def->members[i]));
    } else if (def->kind == FG_UNION) {
        uint64_t best = UINT64_MAX;
        for (int i = 0; i < def->narms; i++) {
            uint64_t a = fg_min_wire(&def->arms[i].decl);
            if (a < best)
                best = a;
        }
        m = sat_add(fg_min_wire(&def->disc), best == UINT64_MAX ? 0 : best);
    } else if (def->kind == FG_TYPEDEF) {
        m = fg_min_wire(&def->decl);
    }
    def->min_wire = m;
    def->state = 2;
    return m;
}

static bool def_needs_free(fg_def *def);

bool fg_decl_needs_free(const fg_decl *d)
{
    const fg_decl *c = fg_canon(d);
    if (c->kind == FG_D_OPT || c->kind == FG_D_VAR)
        return true;
    if (c->type.base == FG_NAMED || c->type.base == FG_INLINE)
        return def_needs_free(c->type.def);
    return false;
}

static bool def_needs_free(fg_def *def)
{
    if (def->fstate)
        return def->needs_free;
    def->fstate = 1; /* in progress: a cycle goes through optional data anyway */
    bool r = false;
    if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++)
            r = fg_decl_needs_free(&def->members[i]) || r;
    } else if (def->kind == FG_UNION) {
        for (int i = 0; i < def->narms; i++)
            r = fg_decl_needs_free(&def->arms[i].decl) || r;
    } else if (def->kind == FG_TYPEDEF) {
        r = fg_decl_needs_free(&def->decl);
    }
    def->needs_free = r;
    def->fstate = 2;
    return r;
}

/* Does a value of `d` reach `target` (through anything)?  stamp marks visits. */
static bool reaches_def(fg_def *def, fg_def *target, int stamp);

static bool reaches(const fg_decl *d, fg_def *target, int stamp)
{
    const fg_decl *c = fg_canon(d);
    if (c->type.base == FG_NAMED && c->type.def->kind == FG_TYPEDEF) {
        fg_decl e = fg_elem(c);
        return reaches(&e, target, stamp);
    }
    if (c->type.base == FG_NAMED || c->type.base == FG_INLINE) {
        fg_def *def = c->type.def;
        if (def == target)
            return true;
        return reaches_def(def, target, stamp);
    }
    return false;
}

static bool reaches_def(fg_def *def, fg_def *target, int stamp)
{
    if (def->mark == stamp)
        return false;
    def->mark = stamp;
    if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers; i++)
            if (reaches(&def->members[i], target, stamp))
                return true;
    } else if (def->kind == FG_UNION) {
        for (int i = 0; i < def->narms; i++)
            if (reaches(&def->arms[i].decl, target, stamp))
                return true;
    }
    return false;
}

static void all_bodies(fg_unit *u, fg_def *def, void (*fn)(fg_unit *, fg_def *));

static void decl_bodies(fg_unit *u, fg_decl *d, void (*fn)(fg_unit *, fg_def *))
{
    if (d->type.base == FG_INLINE)
        all_bodies(u, d->type.def, fn);
}

static void all_bodies(fg_unit *u, fg_def *def, void (*fn)(fg_unit *, fg_def *))
{
    fn(u, def);
    if (def->kind == FG_STRUCT)
        for (int i = 0; i < def->nmembers; i++)
            decl_bodies(u, &def->members[i], fn);
    if (def->kind == FG_UNION)
        for (int i = 0; i < def->narms; i++)
            decl_bodies(u, &def->arms[i].decl, fn);
    if (def->kind == FG_TYPEDEF)
        decl_bodies(u, &def->decl, fn);
}

static void compute_min(fg_unit *u, fg_def *def)
{
    def_min_wire(u, def);
}

static void compute_free(fg_unit *u, fg_def *def)
{
    (void)u;
    def_needs_free(def);
}

static int g_stamp = 100;

static void compute_rec(fg_unit *u, fg_def *def)
{
    (void)u;
    if (def->kind != FG_STRUCT && def->kind != FG_UNION)
        return;
    int stamp = ++g_stamp;
    bool r = false;
    if (def->kind == FG_STRUCT) {
        for (int i = 0; i < def->nmembers && !r; i++)
            r = reaches(&def->members[i], def, stamp);
    } else {
        for (int i = 0; i < def->narms && !r; i++)
            r = reaches(&def->arms[i].decl, def, stamp);
    }
    def->recursive = r;
    if (def->kind == FG_STRUCT && def->name) {
        const fg_decl *last = fg_canon(&def->members[def->nmembers - 1]);
        def->is_list = last->kind == FG_D_OPT && fg_body(&last->type) == def;
    }
}

/* ---------------------------------------------------------------- programs */

static uint32_t number(fg_unit *u, fg_value *v, const char *what)
{
    int64_t x = resolve_value(u, v);
    if (v->unknown)
        fg_fail(u, v->loc, "unknown constant '%s'", v->text);
    if (x < 0 || x > UINT32_MAX)
        fg_fail(u, v->loc, "bad constant '%s': %s numbers are in 0..4294967295", v->text, what);
    return (uint32_t)x;
}

/* role: 'a' the only argument, 'm' one of several, 'r' the result */
static void check_proc_type(fg_unit *u, fg_type *t, int role)
{
    resolve_type(u, t);
    if (t->base == FG_NAMED) {
        fg_def *d = t->def;
        if (d->kind == FG_TYPEDEF && fg_canon(&d->decl)->type.base == FG_VOID)
            fg_fail(u, t->loc, "'%s' is void", t->name);
        d->proc_type = true;
        /* an external type's adapters, in foo_clnt.c and foo_svc.c */
        d->ext_arg = d->ext_arg || (d->is_extern && role == 'a');
        d->ext_res = d->ext_res || (d->is_extern && role == 'r');
    }
}

static void check_program(fg_unit *u, fg_def *d)
{
    d->number = number(u, &d->num, "program");
    for (int i = 0; i < u->ndefs; i++) {
        fg_def *o = u->defs[i];
        if (o == d)
            break;
        if (o->kind == FG_PROGRAM && o->number == d->number)
            fg_fail(u, d->num.loc, "program number %u is already used by '%s'", d->number, o->name);
    }
    for (int v = 0; v < d->nvers; v++) {
        fg_version *ver = &d->vers[v];
        ver->number = number(u, &ver->num, "version");
        for (int w = 0; w < v; w++)
            if (d->vers[w].number == ver->number)
                fg_fail(u, ver->num.loc, "version number %u is already used by '%s'", ver->number,
                        d->vers[w].name);
        for (int p = 0; p < ver->nprocs; p++) {
            fg_proc *pr = &ver->procs[p];
            pr->number = number(u, &pr->num, "procedure");
            check_proc_type(u, &pr->res, 'r');
            for (int a = 0; a < pr->nargs; a++)
                check_proc_type(u, &pr->args[a], pr->nargs > 1 ? 'm' : 'a');
            const char *m = fg_impl_member(u, pr->name);
            fg_sym *mac = macro(u, m);
            if (mac)
                fg_fail(u, pr->loc,
                        "the impl member of '%s', '%s', is the name of '%s' (defined at %s:%d), "
                        "which the header #defines",
                        pr->name, m, mac->name, mac->loc.file, mac->loc.line);
            for (int q = 0; q < p; q++) {
                if (ver->procs[q].number == pr->number)
                    fg_fail(u, pr->num.loc, "procedure number %u is already used by '%s'",
                            pr->number, ver->procs[q].name);
                if (strcmp(ver->procs[q].name, pr->name) == 0)
                    fg_fail(u, pr->loc, "duplicate name '%s' (first defined at %s:%d)", pr->name,
                            ver->procs[q].loc.file, ver->procs[q].loc.line);
                if (strcmp(m, fg_impl_member(u, ver->procs[q].name)) == 0)
                    fg_fail(u, pr->loc,
                            "'%s' and '%s' (defined at %s:%d) would both be the member '%s' of "
                            "the version's impl struct",
                            pr->name, ver->procs[q].name, ver->procs[q].loc.file,
                            ver->procs[q].loc.line, m);
            }
            /* the same name in several versions must keep its number: it is
             * one #define */
            for (int w = 0; w < v; w++)
                for (int q = 0; q < d->vers[w].nprocs; q++) {
                    fg_proc *o = &d->vers[w].procs[q];
                    if (strcmp(o->name, pr->name) == 0 && o->number != pr->number)
                        fg_fail(u, pr->num.loc, "'%s' is procedure %u in version '%s' but %u here",
                                pr->name, o->number, d->vers[w].name, pr->number);
                }
        }
    }
}

void fg_check(fg_unit *u)
{
    register_defs(u);
    for (int i = 0; i < u->nsyms; i++) {
        fg_sym *s = &u->syms[i];
        if (s->kind == SYM_CONST || s->kind == SYM_ENUMVAL)
            sym_value(u, s, s->loc);
    }
    for (int i = 0; i < u->ndefs; i++) {
        fg_def *d = u->defs[i];
        u->cur_def = d;
        switch (d->kind) {
        case FG_TYPEDEF:
            if (d->decl.kind == FG_D_PLAIN && d->decl.type.base == FG_NAMED &&
                d->decl.type.prefix && strcmp(d->decl.type.name, d->name) == 0) {
                resolve_type(u, &d->decl.type);
                d->kind = FG_PASS; /* typedef struct foo foo;  the header has it already */
                d->text = NULL;
                break;
            }
            check_c_name(u, d->name, d->loc);
            check_decl(u, &d->decl, false);
            /* typedef chains must end */
            {
                const fg_decl *c = &d->decl;
                for (int n = 0; n <= u->ndefs; n++) {
                    if (c->kind != FG_D_PLAIN || c->type.base != FG_NAMED ||
                        c->type.def->kind != FG_TYPEDEF)
                        break;
                    if (c->type.def == d || n == u->ndefs)
                        fg_fail(u, d->loc, "typedef '%s' refers to itself", d->name);
                    c = &c->type.def->decl;
                }
            }
            break;
        case FG_ENUM:
        case FG_STRUCT:
        case FG_UNION:
            check_body(u, d);
            break;
        default:
            break;
        }
    }
    /* typedefs to void ("typedef void x;" is rejected by the parser) and to
     * arrays of void are caught in check_decl */
    g_unit_for_min = u;
    for (int i = 0; i < u->ndefs; i++)
        if (u->defs[i]->kind != FG_PROGRAM && u->defs[i]->kind != FG_PASS &&
            u->defs[i]->kind != FG_CONST)
            all_bodies(u, u->defs[i], compute_min);
    for (int i = 0; i < u->ndefs; i++)
        if (u->defs[i]->kind != FG_PROGRAM && u->defs[i]->kind != FG_PASS &&
            u->defs[i]->kind != FG_CONST)
            all_bodies(u, u->defs[i], compute_free);
    for (int i = 0; i < u->ndefs; i++)
        if (u->defs[i]->kind != FG_PROGRAM && u->defs[i]->kind != FG_PASS &&
            u->defs[i]->kind != FG_CONST)
            all_bodies(u, u->defs[i], compute_rec);
    g_unit_for_min = NULL;
    for (int i = 0; i < u->ndefs; i++)
        if (u->defs[i]->kind == FG_PROGRAM) {
            u->cur_def = u->defs[i];
            check_program(u, u->defs[i]);
        }
}
