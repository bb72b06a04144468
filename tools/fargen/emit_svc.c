/* fargen — foo_svc.c: per program version, a table of far_proc_desc whose
 * invoke trampolines call the functions of the user's PROG_V_impl struct, and
 * PROG_V_implemented, which tells the server which of them are there; unless
 * --no-desc, the version's type description (far_desc, emit_desc.c) and the
 * .x text, which the server's FAR_REFLECT program serves.  The
 * codecs in the table are the adapters of foo_xdr.c and, for built-in types,
 * the library's.  Nothing global the user must define, nothing that changes,
 * no exit(). */
#include <stdlib.h>
#include <string.h>

#include "fargen.h"

static void invoke(fg_emit *e, const fg_def *prog, const fg_version *ver, const fg_proc *p)
{
    fg_buf *o = e->out;
    const char *pn = fg_prog_name(e, prog, ver);
    const char *fn = fg_impl_member(e->u, p->name);
    fg_where(e, p->loc);
    fg_printf(o,
              "static far_err %s_invoke(const void *far_impl, far_svc_req *far_req,\n"
              "                         const void *far_args, void *far_res)\n{\n",
              fg_proc_stub(e, p, ver));
    fg_printf(o, "    const %s_impl *far_fns = (const %s_impl *)far_impl;\n", pn, pn);
    bool null_proc = p->number == 0 && p->args[0].base == FG_VOID && p->res.base == FG_VOID;
    fg_printf(o, "    if (!far_fns->%s)\n        return %s\n", fn,
              null_proc ? "FAR_OK; /* the null procedure answers anyway */" : "FAR_EPROC_UNAVAIL;");
    const char *call_args = "far_req";
    if (p->nargs > 1) {
        const char *at = fg_arg_type_name(e, p, ver);
        fg_printf(o, "    const %s *far_a = (const %s *)far_args;\n", at, at);
        for (int i = 0; i < p->nargs; i++)
            call_args = fg_fmt(e->u, "%s, far_a->arg%d", call_args, i + 1);
    } else if (p->args[0].base != FG_VOID) {
        const char *t = fg_ctype(e, &p->args[0]);
        call_args =
            fg_fmt(e->u, "far_req, (%s%sconst *)far_args", t, t[strlen(t) - 1] == '*' ? "" : " ");
    } else {
        fg_buf_puts(o, "    (void)far_args;\n");
    }
    if (p->res.base != FG_VOID) {
        const char *t = fg_ctype(e, &p->res);
        call_args =
            fg_fmt(e->u, "%s, (%s%s*)far_res", call_args, t, t[strlen(t) - 1] == '*' ? "" : " ");
    } else {
        fg_buf_puts(o, "    (void)far_res;\n");
    }
    fg_printf(o, "    return far_fns->%s(%s);\n}\n\n", fn, call_args);
}

static int by_number(const void *a, const void *b)
{
    const fg_proc *x = *(const fg_proc *const *)a, *y = *(const fg_proc *const *)b;
    return x->number < y->number ? -1 : x->number > y->number;
}

/* PROG_V_implemented: whether the user's struct has a function for a
 * procedure, so that the server answers PROC_UNAVAIL (or the null procedure)
 * itself, without taking a handler. */
static void implemented(fg_emit *e, const fg_def *prog, const fg_version *ver,
                        const fg_proc **sorted)
{
    fg_buf *o = e->out;
    const char *pn = fg_prog_name(e, prog, ver);
    fg_where(e, ver->loc);
    fg_printf(o, "static bool %s_implemented(const void *far_impl, uint32_t far_proc)\n{\n", pn);
    fg_printf(o, "    const %s_impl *far_fns = (const %s_impl *)far_impl;\n", pn, pn);
    fg_buf_puts(o, "    switch (far_proc) {\n");
    for (int i = 0; i < ver->nprocs; i++)
        fg_printf(o, "    case %s:\n        return far_fns->%s != NULL;\n", fg_id(sorted[i]->name),
                  fg_impl_member(e->u, sorted[i]->name));
    fg_buf_puts(o, "    default:\n        return false;\n    }\n}\n\n");
}

/* A C identifier made of the .x file's base name ("my-file" is my_file). */
static const char *source_name(fg_emit *e)
{
    const char *b = e->base;
    size_t n = strlen(b);
    char *r = fg_alloc(e->u, n + 9);
    size_t k = 0;
    if (!n || (b[0] >= '0' && b[0] <= '9'))
        r[k++] = '_';
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        r[k++] = ok ? c : '_';
    }
    memcpy(r + k, "_source", 8);
    return r;
}

/* The .x text as C string literals, one per source line.  Anything but
 * printable ASCII is an octal escape (three digits, so the next character
 * cannot extend it), and "??" is written "?\?" (no trigraph in C11). */
static void source_text(fg_emit *e)
{
    fg_buf *o = e->out;
    fg_printf(o, "/* %s, the text this file was compiled from (FAR_REFLECT_SOURCE). */\n",
              e->xname);
    fg_printf(o, "static const char %s[] =", source_name(e));
    const unsigned char *s = (const unsigned char *)e->source;
    size_t n = e->source_len;
    if (!n)
        fg_buf_puts(o, " \"\"");
    for (size_t i = 0; i < n;) {
        fg_buf_puts(o, "\n    \"");
        for (; i < n; i++) {
            unsigned char c = s[i];
            if (c == '\n') {
                fg_buf_puts(o, "\\n");
                i++;
                break;
            }
            if (c == '\\' || c == '"')
                fg_printf(o, "\\%c", c);
            else if (c == '\t')
                fg_buf_puts(o, "\\t");
            else if (c == '?' && i + 1 < n && s[i + 1] == '?')
                fg_buf_puts(o, "?\\");
            else if (c < 0x20 || c >= 0x7f)
                fg_printf(o, "\\%03o", c);
            else
                fg_buf_put(o, (const char *)&c, 1);
        }
        fg_buf_puts(o, "\"");
    }
    fg_buf_puts(o, ";\n\n");
}

/* PROG_V_desc: the version's far_desc, 16 bytes a line. */
static const char *desc_bytes(fg_emit *e, const fg_def *prog, const fg_version *ver)
{
    fg_buf *o = e->out;
    size_t len;
    const uint8_t *p = fg_desc_build(e->u, prog, ver, &len);
    const char *name = fg_fmt(e->u, "%s_desc", fg_prog_name(e, prog, ver));
    fg_printf(o, "/* %s version %s: its far_desc (FAR_REFLECT_DESCRIBE), %zu bytes. */\n",
              prog->name, ver->name, len);
    fg_printf(o, "static const uint8_t %s[] = {", name);
    for (size_t i = 0; i < len; i++)
        fg_printf(o, "%s0x%02x,", i % 16 ? " " : "\n    ", p[i]);
    fg_buf_puts(o, "\n};\n\n");
    return name;
}

static void table(fg_emit *e, const fg_def *prog, const fg_version *ver, const fg_proc **sorted)
{
    fg_buf *o = e->out;
    const char *pn = fg_prog_name(e, prog, ver);
    const char *desc = e->no_desc ? NULL : desc_bytes(e, prog, ver);
    fg_where(e, ver->loc);
    fg_printf(o, "const far_program_desc *%s_program(void)\n{\n", pn);
    fg_buf_puts(o, "    /* sorted by procedure number */\n");
    fg_buf_puts(o, "    static const far_proc_desc procs[] = {\n");
    for (int i = 0; i < ver->nprocs; i++) {
        const fg_proc *p = sorted[i];
        const char *dec = NULL, *asz = NULL, *enc = NULL, *rsz = NULL;
        if (p->nargs > 1) {
            const char *at = fg_arg_type_name(e, p, ver);
            fg_type t;
            memset(&t, 0, sizeof t);
            t.base = FG_NAMED;
            t.name = at;
            dec = fg_adapter_name(e, &t, false);
            asz = at;
        } else if (p->args[0].base != FG_VOID) {
            dec = fg_adapter_name(e, &p->args[0], false);
            asz = fg_ctype(e, &p->args[0]);
        }
        if (p->res.base != FG_VOID) {
            enc = fg_adapter_name(e, &p->res, true);
            rsz = fg_ctype(e, &p->res);
        }
        /* a void argument or result leaves its two fields zero */
        fg_printf(o, "        {.proc = %s,\n", fg_id(p->name));
        fg_printf(o, "         .name = \"%s\",\n", p->name);
        if (dec)
            fg_printf(o, "         .decode_args = %s,\n", dec);
        if (enc)
            fg_printf(o, "         .encode_res = %s,\n", enc);
        if (asz)
            fg_printf(o, "         .args_size = sizeof(%s),\n", asz);
        if (rsz)
            fg_printf(o, "         .res_size = sizeof(%s),\n", rsz);
        fg_printf(o, "         .invoke = %s_invoke", fg_proc_stub(e, p, ver));
        if (p->sem) /* the .x's annotation (at-most-once without one) */
            fg_printf(o, ",\n         .semantics = %s", fg_sem_name(p->sem));
        fg_buf_puts(o, "},\n");
    }
    fg_buf_puts(o, "    };\n");
    fg_printf(
        o,
        "    static const far_program_desc desc = {FAR_DESC_SIZES,\n"
        "                                          .prog = %s,\n"
        "                                          .vers = %s,\n"
        "                                          .name = \"%s\",\n"
        "                                          .procs = procs,\n"
        "                                          .nprocs = sizeof procs / sizeof procs[0],\n"
        "                                          .implemented = %s_implemented",
        fg_id(prog->name), fg_id(ver->name), prog->name, pn);
    if (desc)
        fg_printf(o,
                  ",\n                                          .type_desc = %s,\n"
                  "                                          .type_desc_len = sizeof %s",
                  desc, desc);
    if (desc && e->source)
        fg_printf(o, ",\n                                          .source = %s", source_name(e));
    fg_buf_puts(o, "};\n");
    fg_buf_puts(o, "    return &desc;\n}\n\n");
}

static void version(fg_emit *e, const fg_def *prog, const fg_version *ver)
{
    const fg_proc **sorted = fg_alloc(e->u, (size_t)ver->nprocs * sizeof *sorted);
    for (int p = 0; p < ver->nprocs; p++)
        sorted[p] = &ver->procs[p];
    qsort(sorted, (size_t)ver->nprocs, sizeof *sorted, by_number);
    for (int p = 0; p < ver->nprocs; p++)
        invoke(e, prog, ver, &ver->procs[p]);
    implemented(e, prog, ver, sorted);
    table(e, prog, ver, sorted);
}

void fg_emit_svc(fg_emit *e)
{
    fg_banner(e, "Server dispatch tables: see far_server_add_program in <farcall/rpc.h>.");
    fg_printf(e->out, "#include <stddef.h>\n\n#include \"%s.h\"\n\n", e->base);
    fg_emit_pass_lines(e);
    fg_emit_extern_adapters(e, false);
    bool any = false;
    for (int i = 0; i < e->u->ndefs; i++)
        any = any || (e->u->defs[i]->kind == FG_PROGRAM && e->u->defs[i]->nvers > 0);
    if (any && !e->no_desc && e->source)
        source_text(e);
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        if (d->kind != FG_PROGRAM)
            continue;
        for (int v = 0; v < d->nvers; v++)
            version(e, d, &d->vers[v]);
    }
}
