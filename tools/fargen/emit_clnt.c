/* fargen — foo_clnt.c: the client stubs.  Each procedure gets a synchronous
 * call (blocks only the calling thread) and an _async form whose callback
 * runs exactly once; both go through far_client_call(_async), passing the
 * caller's far_call_opts on, so a stub is reentrant and any number of threads
 * may share one far_client.  The codecs they pass are the adapters of
 * foo_xdr.c and, for built-in types, the library's. */
#include <string.h>

#include "fargen.h"

static void pass_lines(fg_emit *e)
{
    bool any = false;
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        if (d->kind == FG_PASS && d->text) {
            fg_printf(e->out, "%s\n", d->text);
            any = true;
        }
    }
    if (any)
        fg_buf_puts(e->out, "\n");
}

void fg_emit_pass_lines(fg_emit *e)
{
    pass_lines(e);
}

static void stub(fg_emit *e, const fg_def *prog, const fg_version *ver, const fg_proc *p,
                 bool async)
{
    fg_buf *o = e->out;
    const char *name = fg_proc_stub(e, p, ver);
    fg_printf(o, "far_err %s%s(%s)\n{\n", name, async ? "_async" : "",
              fg_client_params(e, p, async));
    const char *enc = "NULL", *args = "NULL";
    if (p->nargs > 1) {
        const char *at = fg_arg_type_name(e, p, ver);
        fg_printf(o, "    %s far_args;\n", at);
        for (int i = 0; i < p->nargs; i++) {
            if (fg_is_array_type(&p->args[i]))
                fg_printf(o, "    memcpy(far_args.arg%d, arg%d, sizeof far_args.arg%d);\n", i + 1,
                          i + 1, i + 1);
            else
                fg_printf(o, "    far_args.arg%d = arg%d;\n", i + 1, i + 1);
        }
        fg_type t;
        memset(&t, 0, sizeof t);
        t.base = FG_NAMED;
        t.name = at;
        enc = fg_adapter_name(e, &t, true);
        args = "&far_args";
    } else if (p->args[0].base != FG_VOID) {
        enc = fg_adapter_name(e, &p->args[0], true);
        args = "argp";
    }
    const char *dec = "NULL", *res = "NULL", *arena = "NULL";
    if (p->res.base != FG_VOID) {
        dec = fg_adapter_name(e, &p->res, false);
        res = "resp";
        arena = "arena";
    }
    const char *o_arg = "opts";
    if (p->sem) {
        /* the .x's annotation, unless the caller chose for this call */
        fg_printf(o,
                  "    far_call_opts far_opts = {0};\n"
                  "    if (opts)\n"
                  "        far_opts = *opts;\n"
                  "    if (far_opts.semantics == FAR_SEM_DEFAULT)\n"
                  "        far_opts.semantics = %s;\n",
                  fg_sem_name(p->sem));
        o_arg = "&far_opts";
    }
    fg_printf(o, "    return far_client_call%s(clnt, %s, %s, %s, %s, %s, %s, %s, %s, %s%s);\n}\n\n",
              async ? "_async" : "", fg_id(prog->name), fg_id(ver->name), fg_id(p->name), enc, args,
              dec, res, arena, o_arg, async ? ", cb, user" : "");
}

void fg_emit_clnt(fg_emit *e)
{
    fg_banner(e, "Client stubs: see far_client_call in <farcall/rpc.h>.");
    fg_printf(e->out, "#include <string.h>\n\n#include \"%s.h\"\n\n", e->base);
    pass_lines(e);
    fg_emit_extern_adapters(e, true);
    for (int i = 0; i < e->u->ndefs; i++) {
        const fg_def *d = e->u->defs[i];
        if (d->kind != FG_PROGRAM)
            continue;
        for (int v = 0; v < d->nvers; v++)
            for (int p = 0; p < d->vers[v].nprocs; p++) {
                fg_where(e, d->vers[v].procs[p].loc);
                stub(e, d, &d->vers[v], &d->vers[v].procs[p], false);
                stub(e, d, &d->vers[v], &d->vers[v].procs[p], true);
            }
    }
}
