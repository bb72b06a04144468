/* fargen — foo.h: constants, types, codec prototypes, client stubs and the
 * server's implementation structs.  Compiles as C11 and as C++. */
#include <ctype.h>
#include <string.h>

#include "fargen.h"

/* libtirpc's netobj, used by lock-manager .x files without a definition.
 * Layout and member names as in <rpc/xdr.h>, so code written for rpcgen
 * output works; if that header came first, its definition is used.  Every
 * function is static inline (with the adapters, for a procedure that takes or
 * returns a netobj), so two .x files' code that both use it link together. */
static const char netobj_text[] =
    "#ifndef FARGEN_NETOBJ\n"
    "#define FARGEN_NETOBJ\n"
    "/* netobj: libtirpc's counted opaque data, opaque<1024> on the wire. */\n"
    "#ifndef _TIRPC_XDR_H\n"
    "typedef struct netobj {\n"
    "    uint32_t n_len;\n"
    "    char *n_bytes;\n"
    "} netobj;\n"
    "#endif\n"
    "static inline bool netobj_encode(far_xdr_enc *e, const netobj *v)\n"
    "{\n"
    "    return far_xdr_put_opaque(e, v->n_bytes, v->n_len, 1024);\n"
    "}\n"
    "static inline bool netobj_decode(far_xdr_dec *d, netobj *v)\n"
    "{\n"
    "    uint8_t *p = NULL;\n"
    "    uint32_t n = 0;\n"
    "    bool ok = far_xdr_get_opaque(d, &p, &n, 1024);\n"
    "    v->n_bytes = (char *)p;\n"
    "    v->n_len = n;\n"
    "    return ok;\n"
    "}\n"
    "static inline void netobj_free(netobj *v)\n"
    "{\n"
    "    free(v->n_bytes);\n"
    "}\n"
    "static inline bool netobj_encode_any(far_xdr_enc *e, const void *v)\n"
    "{\n"
    "    return netobj_encode(e, (const netobj *)v);\n"
    "}\n"
    "static inline bool netobj_decode_any(far_xdr_dec *d, void *v)\n"
    "{\n"
    "    return netobj_decode(d, (netobj *)v);\n"
    "}\n"
    "#endif\n\n";

/* A procedure argument or result type also gets the adapters that
 * far_client_call and far_proc_desc take (foo_xdr.c). */
static void protos(fg_emit *e, const char *n, bool any)
{
    const char *t = fg_id(n);
    fg_printf(e->out,
              "bool %s_encode(far_xdr_enc *e, const %s *v);\n"
              "bool %s_decode(far_xdr_dec *d, %s *v);\n"
              "void %s_free(%s *v);\n",
              n, t, n, t, n, t);
    if (any)
        fg_printf(e->out,
                  "bool %s_encode_any(far_xdr_enc *e, const void *v); /* far_xdr_encode_fn */\n"
                  "bool %s_decode_any(far_xdr_dec *d, void *v);       /* far_xdr_decode_fn */\n",
                  n, n);
    fg_buf_puts(e->out, "\n");
}

static void struct_def(fg_emit *e, const fg_def *d)
{
    fg_printf(e->out, "struct %s {\n", fg_id(d->name));
    for (int i = 0; i < d->nmembers; i++)
        fg_declare(e, &d->members[i], d->members[i].name, 1);
    fg_buf_puts(e->out, "};\n");
}

static void union_def(fg_emit *e, const fg_def *d)
{
    fg_printf(e->out, "struct %s {\n", fg_id(d->name));
    fg_declare(e, &d->disc, d->disc.name, 1);
    bool any = false;
    for (int i = 0; i < d->narms; i++)
        any = any || d->arms[i].decl.type.base != FG_VOID;
    if (any) {
        fg_buf_puts(e->out, "    union {\n");
        for (int i = 0; i < d->narms; i++)
            if (d->arms[i].decl.type.base != FG_VOID)
                fg_declare(e, &d->arms[i].decl, d->arms[i].decl.name, 2);
        fg_printf(e->out, "    } %s_u;\n", d->name);
    }
    fg_buf_puts(e->out, "};\n");
}

static void enum_def(fg_emit *e, const fg_def *d)
{
    fg_printf(e->out, "typedef enum %s {\n", fg_id(d->name));
    for (int i = 0; i < d->nvals; i++) {
        const fg_enumval *v = &d->vals[i];
        if (v->value)
            fg_printf(e->out, "    %s = %s,\n", fg_id(v->name), fg_value_text(v->value));
        else /* C counts on from the previous value, as XDR does */
            fg_printf(e->out, "    %s,\n", fg_id(v->name));
    }
    fg_printf(e->out, "} %s;\n", fg_id(d->name));
}

static bool defined_before(const fg_version *vers, int v, int p)
{
    for (int w = 0; w <= v; w++)
        for (int q = 0; q < (w == v ? p : vers[w].nprocs); q++)
            if (strcmp(vers[w].procs[q].name, vers[v].procs[p].name) == 0)
                return true;
    return false;
}

static void program(fg_emit *e, const fg_def *d)
{
    fg_buf *o = e->out;
    fg_where(e, d->loc);
    fg_printf(o, "#define %s %s\n\n", fg_id(d->name), fg_value_text(&d->num));
    fg_printf(o,
              "/* Client stubs of %s (%s_clnt.c), per version below.\n"
              " * Each returns FAR_OK or the reason the call failed (see far_client_call); an\n"
              " * _async stub calls cb exactly once when it returned FAR_OK.  `opts` is the\n"
              " * call's options, NULL for the defaults: its deadline, a far_status that\n"
              " * receives the outcome in detail, ... (far_call_opts in <farcall/rpc.h>). */\n\n",
              d->name, e->base);
    for (int v = 0; v < d->nvers; v++) {
        const fg_version *ver = &d->vers[v];
        fg_where(e, ver->loc);
        fg_printf(o, "#define %s %s\n", fg_id(ver->name), fg_value_text(&ver->num));
        for (int p = 0; p < ver->nprocs; p++)
            if (!defined_before(d->vers, v, p))
                fg_printf(o, "#define %s %s\n", fg_id(ver->procs[p].name),
                          fg_value_text(&ver->procs[p].num));
        fg_buf_puts(o, "\n");
        for (int p = 0; p < ver->nprocs; p++) {
            const fg_proc *pr = &ver->procs[p];
            if (pr->nargs > 1) {
                fg_def *a = fg_arg_struct(e, pr, ver);
                fg_where(e, pr->loc);
                fg_printf(o, "typedef struct %s %s;\n", a->name, a->name);
                struct_def(e, a);
                protos(e, a->name, true);
            }
        }
        fg_printf(o, "/* Client stubs of %s version %u. */\n", d->name, ver->number);
        for (int p = 0; p < ver->nprocs; p++) {
            const fg_proc *pr = &ver->procs[p];
            const char *stub = fg_proc_stub(e, pr, ver);
            fg_printf(o, "FAR_NODISCARD far_err %s(%s);\n", stub, fg_client_params(e, pr, false));
            fg_printf(o, "FAR_NODISCARD far_err %s_async(%s);\n", stub,
                      fg_client_params(e, pr, true));
        }
        const char *pn = fg_prog_name(e, d, ver);
        fg_printf(o,
                  "\n/* Server side of %s version %u (%s_svc.c): fill in the functions "
                  "you serve\n * (NULL: the call gets PROC_UNAVAIL, except a void procedure "
                  "0, which\n * answers as the null procedure) and register them with\n"
                  " *   far_server_add_program(server, %s_program(), &impl);\n * A function "
                  "returns FAR_OK to send *resp, allocating what it points to\n * from "
                  "far_svc_req_arena(req). */\n",
                  d->name, ver->number, e->base, pn);
        fg_printf(o, "typedef struct %s_impl {\n", pn);
        for (int p = 0; p < ver->nprocs; p++) {
            const fg_proc *pr = &ver->procs[p];
            fg_printf(o, "    far_err (*%s)(%s);\n", fg_impl_member(e->u, pr->name),
                      fg_server_params(e, pr));
        }
        fg_printf(o, "} %s_impl;\n", pn);
        fg_printf(o, "const far_program_desc *%s_program(void);\n\n", pn);
    }
}

/* ------------------------------------------- names written with a '_' */

typedef struct escapes {
    const char **seen; /* the lines listed so far (a member name may repeat) */
    int n, cap;
    fg_buf list;
} escapes;

/* Lists `xname` (a `what`), whose C name `cname` is not `plain`. */
static void note(fg_emit *e, escapes *x, const char *what, const char *xname, const char *plain,
                 const char *cname)
{
    if (!xname || strcmp(plain, cname) == 0)
        return;
    const char *line = fg_fmt(e->u, " *   %s %s: %s\n", what, xname, cname);
    for (int i = 0; i < x->n; i++)
        if (strcmp(x->seen[i], line) == 0)
            return;
    if (x->n == x->cap) {
        int ncap = x->cap ? 2 * x->cap : 16;
        const char **s = fg_alloc(e->u, (size_t)ncap * sizeof *s);
        if (x->n)
            memcpy(s, x->seen, (size_t)x->n * sizeof *s);
        x->seen = s;
        x->cap = ncap;
    }
    x->seen[x->n++] = line;
    fg_buf_puts(&x->list, line);
}

static void note_body(fg_emit *e, escapes *x, const fg_def *def);

static void note_decl(fg_emit *e, escapes *x, const fg_decl *d, const char *what)
{
    if (d->name)
        note(e, x, what, d->name, d->name, fg_id(d->name));
    if (d->type.base == FG_INLINE)
        note_body(e, x, d->type.def);
}

static void note_body(fg_emit *e, escapes *x, const fg_def *def)
{
    if (def->kind == FG_ENUM)
        for (int i = 0; i < def->nvals; i++)
            note(e, x, "enum value", def->vals[i].name, def->vals[i].name,
                 fg_id(def->vals[i].name));
    if (def->kind == FG_STRUCT)
        for (int i = 0; i < def->nmembers; i++)
            note_decl(e, x, &def->members[i], "member");
    if (def->kind == FG_UNION) {
        note_decl(e, x, &def->disc, "discriminant");
        for (int i = 0; i < def->narms; i++)
            note_decl(e, x, &def->arms[i].decl, "arm");
    }
    if (def->kind == FG_TYPEDEF)
        note_decl(e, x, &def->decl, "member");
}

/* The header says which of the .x's names are C++ keywords and how they
 * are written (fg_id), and which impl members are not just a procedure's
 * name in lower case (fg_impl_member), so that a reader of foo.x finds them. */
static void note_escapes(fg_emit *e)
{
    escapes x = {0};
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        switch (d->kind) {
        case FG_CONST:
            note(e, &x, "constant", d->name, d->name, fg_id(d->name));
            break;
        case FG_TYPEDEF:
        case FG_ENUM:
        case FG_STRUCT:
        case FG_UNION:
            note(e, &x, "type", d->name, d->name, fg_id(d->name));
            note_body(e, &x, d);
            break;
        case FG_PROGRAM:
            note(e, &x, "program", d->name, d->name, fg_id(d->name));
            for (int v = 0; v < d->nvers; v++) {
                note(e, &x, "version", d->vers[v].name, d->vers[v].name, fg_id(d->vers[v].name));
                for (int p = 0; p < d->vers[v].nprocs; p++) {
                    const char *n = d->vers[v].procs[p].name;
                    note(e, &x, "procedure", n, n, fg_id(n));
                    note(e, &x, "impl member of procedure", n, fg_lower(e->u, n),
                         fg_impl_member(e->u, n));
                }
            }
            break;
        case FG_PASS:
            break;
        }
    }
    if (x.list.failed)
        e->out->failed = true;
    if (x.n)
        fg_printf(e->out,
                  "/* Names of %s that are C++ keywords (or C23's) are written with a\n"
                  " * trailing underscore where they are C identifiers, and a procedure's\n"
                  " * impl member that would be a #define of this header ends in _fn; names\n"
                  " * made from them (NAME_encode, NAME_1, NAME_len ...) keep the .x\n"
                  " * spelling (docs/fargen.md, \"Names\"):\n%.*s */\n\n",
                  e->xname, (int)x.list.len, x.list.data);
    fg_buf_free(&x.list);
}

/* An external type's functions, which the generated code calls and the
 * user defines (with the C type) outside the .x. */
static void extern_protos(fg_emit *e, const fg_def *d)
{
    const char *n = d->name, *t = fg_id(d->name);
    fg_printf(e->out,
              "/* %s: an external type, defined outside %s with the three functions\n"
              " * below, which the generated code calls (see \"External types\" in\n"
              " * docs/fargen.md). */\n",
              n, e->xname);
    fg_printf(e->out,
              "bool %s_encode(far_xdr_enc *e, const %s *v);\n"
              "bool %s_decode(far_xdr_dec *d, %s *v);\n"
              "void %s_free(%s *v);\n\n",
              n, t, n, t, n, t);
}

void fg_emit_h(fg_emit *e)
{
    fg_buf *o = e->out;
    fg_banner(e, NULL);
    char *guard = fg_strdup(e->u, e->base, strlen(e->base));
    for (char *p = guard; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    fg_printf(o, "#ifndef FARGEN_%s_H\n#define FARGEN_%s_H\n\n", guard, guard);
    fg_buf_puts(
        o, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdlib.h>\n\n"
           "#include <farcall/rpc.h>\n#include <farcall/xdr.h>\n\n");
    /* the headers of external types (--extern NAME=HEADER), each once */
    bool inc = false;
    for (int i = 0; i < e->u->ncmd_externs; i++) {
        const char *h = e->u->cmd_externs[i].header;
        bool seen = !h;
        for (int j = 0; j < i && !seen; j++)
            seen = e->u->cmd_externs[j].header && strcmp(e->u->cmd_externs[j].header, h) == 0;
        if (seen)
            continue;
        fg_printf(o, h[0] == '<' ? "#include %s\n" : "#include \"%s\"\n", h);
        inc = true;
    }
    if (inc)
        fg_buf_puts(o, "\n");
    fg_buf_puts(o, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    note_escapes(e);
    bool any = false;
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        if (d->kind == FG_STRUCT || d->kind == FG_UNION) {
            if (!any)
                fg_buf_puts(o, "/* Optional data may point at a type defined further down. */\n");
            any = true;
            fg_printf(o, "typedef struct %s %s;\n", fg_id(d->name), fg_id(d->name));
        }
    }
    if (any)
        fg_buf_puts(o, "\n");
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        if (d == e->u->netobj_user)
            fg_buf_puts(o, netobj_text);
        for (int x = 0; x < e->u->nexts; x++)
            if (e->u->exts[x]->ext_user == d)
                extern_protos(e, e->u->exts[x]);
        switch (d->kind) {
        case FG_PASS:
            if (d->text)
                fg_printf(o, "%s\n", d->text);
            break;
        case FG_CONST:
            fg_where(e, d->loc);
            fg_printf(o, "#define %s %s\n\n", fg_id(d->name), fg_value_text(&d->value));
            break;
        case FG_TYPEDEF:
            fg_where(e, d->loc);
            fg_buf_puts(o, "typedef ");
            fg_declare(e, &d->decl, d->name, 0);
            protos(e, d->name, d->proc_type);
            break;
        case FG_ENUM:
            fg_where(e, d->loc);
            enum_def(e, d);
            protos(e, d->name, d->proc_type);
            break;
        case FG_STRUCT:
            fg_where(e, d->loc);
            struct_def(e, d);
            protos(e, d->name, d->proc_type);
            break;
        case FG_UNION:
            fg_where(e, d->loc);
            union_def(e, d);
            protos(e, d->name, d->proc_type);
            break;
        case FG_PROGRAM:
            program(e, d);
            break;
        }
    }
    for (int x = 0; x < e->u->nexts; x++)
        if (!e->u->exts[x]->ext_user) /* declared, not used */
            extern_protos(e, e->u->exts[x]);
    fg_printf(o, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* FARGEN_%s_H */\n", guard);
}
