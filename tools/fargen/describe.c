/* fargen — fg_describe_file (fg_desc.h): fargen's reading of a .x file and
 * its description builder (emit_desc.c), for programs other than fargen. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fargen.h"
#include "fg_desc.h"

void fg_described_free(fg_described *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].prog_name);
        free(v[i].vers_name);
        free(v[i].desc);
    }
    free(v);
}

/* The descriptions of every program version of a checked unit (malloc'd),
 * or false: out of memory, or a bound of far_reflect.x exceeded (u->err). */
static bool describe(fg_unit *u, fg_described **out, size_t *n)
{
    /* volatile: read after fg_fail's longjmp */
    volatile size_t count = 0;
    for (int i = 0; i < u->ndefs; i++)
        if (u->defs[i]->kind == FG_PROGRAM)
            count += (size_t)u->defs[i]->nvers;
    fg_described *const v = calloc(count ? count : 1, sizeof *v);
    if (!v) {
        snprintf(u->err, sizeof u->err, "out of memory");
        return false;
    }
    volatile size_t k = 0;
    if (setjmp(u->fail)) {
        fg_described_free(v, k);
        return false;
    }
    for (int i = 0; i < u->ndefs; i++) {
        const fg_def *prog = u->defs[i];
        if (prog->kind != FG_PROGRAM)
            continue;
        for (int j = 0; j < prog->nvers; j++) {
            const fg_version *ver = &prog->vers[j];
            size_t len;
            const uint8_t *p = fg_desc_build(u, prog, ver, &len);
            fg_described *d = &v[k++];
            d->prog = prog->number;
            d->vers = ver->number;
            d->prog_name = strdup(prog->name);
            d->vers_name = strdup(ver->name);
            d->desc = malloc(len ? len : 1);
            d->len = len;
            if (!d->prog_name || !d->vers_name || !d->desc) {
                fg_described_free(v, k);
                snprintf(u->err, sizeof u->err, "out of memory");
                return false;
            }
            memcpy(d->desc, p, len);
        }
    }
    *out = v;
    *n = count;
    return true;
}

bool fg_describe_file(const char *path, const fg_describe_opts *opts, fg_described **out, size_t *n,
                      char **source, char *err, size_t errlen)
{
    static const fg_describe_opts defaults;
    const fg_describe_opts *o = opts ? opts : &defaults;
    char ebuf[1024];
    *out = NULL;
    *n = 0;
    if (source)
        *source = NULL;
    bool ok = false;
    char *text = NULL, *src = NULL;
    fg_extern *ext = NULL;
    fg_unit u;
    memset(&u, 0, sizeof u);
    size_t len = 0, text_len = 0;

    fg_cpp cpp = {o->cpp, o->cpp_args, o->ncpp_args};
    src = o->no_cpp ? fg_read_file(path, &len, ebuf, sizeof ebuf)
                    : fg_preprocess(&cpp, path, "RPC_SVC", &len, ebuf, sizeof ebuf);
    if (!src)
        goto out;
    if (source && !(text = fg_read_file(path, &text_len, ebuf, sizeof ebuf)))
        goto out;
    if (o->nexterns > 0) {
        ext = calloc((size_t)o->nexterns, sizeof *ext);
        if (!ext) {
            snprintf(ebuf, sizeof ebuf, "out of memory");
            goto out;
        }
        for (int i = 0; i < o->nexterns; i++) {
            ext[i].name = o->externs[i];
            ext[i].loc.file = "--extern";
        }
    }
    u.cmd_externs = ext;
    u.ncmd_externs = o->nexterns > 0 ? o->nexterns : 0;
    if (!fg_compile(&u, src, len, path) || !describe(&u, out, n)) {
        snprintf(ebuf, sizeof ebuf, "%s", u.err);
        goto out;
    }
    ok = true;
out:
    if (!ok && err && errlen)
        snprintf(err, errlen, "%s", ebuf);
    fg_unit_free(&u);
    free(ext);
    free(src);
    if (ok && source)
        *source = text;
    else
        free(text);
    return ok;
}
