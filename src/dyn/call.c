/* Dynamic calls: a procedure called with JSON arguments by its description
 * (far_dyn_call), and the client side of the reflection program FAR_REFLECT
 * (far_dyn_list, far_dyn_fetch).  The JSON mapping itself is json.c's. */
#include "internal.h"

#include "far_reflect.h"
#include "farcall/dyn.h"

#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------ far_dyn_call */

/* What the result decoder, which may run on another thread (the one that
 * reads for the caller), hands back to the caller. */
typedef struct res_ctx {
    const far_dyn *d;
    uint32_t proc;
    unsigned flags;
    char *json;
    far_err rc; /* FAR_OK, or why the result did not decode to JSON */
    char why[512];
} res_ctx;

/* The arguments, encoded before the call (so a JSON error is FAR_EJSON,
 * before anything is sent): written as they are. */
typedef struct args_ctx {
    const uint8_t *p;
    size_t n;
} args_ctx;

static bool put_args(far_xdr_enc *e, const void *v)
{
    const args_ctx *a = v;
    return a->n == 0 || far_xdr_put_opaque_fixed(e, a->p, a->n);
}

static bool get_res(far_xdr_dec *dec, void *v)
{
    res_ctx *r = v;
    free(r->json);
    r->json = NULL;
    r->rc = far_dyn_decode_res(r->d, r->proc, dec, r->flags, &r->json);
    if (r->rc == FAR_OK)
        return true;
    snprintf(r->why, sizeof r->why, "%s", far_last_error());
    free(r->json);
    r->json = NULL;
    if (!dec->err.code)
        far_xdr_dec_fail(dec, r->rc, "%s", r->why);
    return false;
}

FAR__API far_err far_dyn_call(far_client *c, const far_dyn *d, uint32_t proc, const char *json_args,
                              unsigned flags, char **json_res, const far_call_opts *opts)
{
    if (json_res)
        *json_res = NULL;
    if (!c || !d || !json_res) {
        far__set_last_error("far_dyn_call: NULL client, description or result");
        return FAR_EMISUSE;
    }
    far_dyn_proc pd;
    char num[16];
    snprintf(num, sizeof num, "%" PRIu32, proc);
    far_err rc = far_dyn_find_proc(d, num, &pd);
    if (rc != FAR_OK)
        return rc;
    if (!json_args || !*json_args)
        json_args = "null";
    far_xdr_enc e;
    rc = far_xdr_enc_init_grow(&e, 1024, 0);
    if (rc != FAR_OK)
        return rc;
    rc = far_dyn_encode_args(d, proc, json_args, strlen(json_args), &e);
    if (rc != FAR_OK)
        goto out;
    size_t n = far_xdr_enc_len(&e);
    uint8_t *flat = NULL;
    args_ctx a = {far_xdr_enc_data(&e), n};
    if (e.nsegs) { /* something went by reference: one piece for the copy */
        if (!(flat = malloc(n ? n : 1))) {
            rc = FAR_ENOMEM;
            goto out;
        }
        if ((rc = far_xdr_enc_flatten(&e, flat, n)) != FAR_OK) {
            free(flat);
            goto out;
        }
        a.p = flat;
    }
    res_ctx r = {.d = d, .proc = proc, .flags = flags};
    rc = far_client_call(c, far_dyn_prog(d), far_dyn_vers(d), proc, put_args, &a, get_res, &r, NULL,
                         opts);
    free(flat);
    if (rc != FAR_OK && r.rc != FAR_OK) {
        /* The reply came and its result did not fit the description. */
        far__set_last_error("%s", r.why);
        free(r.json);
        rc = r.rc;
        goto out;
    }
    if (rc != FAR_OK) {
        free(r.json);
        goto out;
    }
    *json_res = r.json;
out:
    far_xdr_enc_fini(&e);
    return rc;
}

/* ------------------------------------------------------------ reflection */

/* The reflection program is not there: a classic ONC RPC server, or a
 * farcall server with far_server_opts.no_reflect. */
static far_err no_reflect(const char *what)
{
    char prev[400];
    snprintf(prev, sizeof prev, "%s", far_last_error());
    far__set_last_error("%s: %s: the server has no reflection program (FAR_REFLECT %#x): a classic "
                        "ONC RPC server, or far_server_opts.no_reflect; give the types from the .x "
                        "file instead (far call/describe --x FILE.x)",
                        what, prev, FAR_REFLECT_PROGRAM);
    return FAR_EPROG_UNAVAIL;
}

static void copy_name(char dst[257], const char *src)
{
    snprintf(dst, 257, "%s", src ? src : "");
}

FAR__API far_err far_dyn_list(far_client *c, far_dyn_entry **entries, size_t *n,
                              const far_call_opts *opts)
{
    if (entries)
        *entries = NULL;
    if (n)
        *n = 0;
    if (!c || !entries || !n) {
        far__set_last_error("far_dyn_list: NULL client or result");
        return FAR_EMISUSE;
    }
    far_reflect_list l = {0};
    far_err rc = far_reflect_list_1(c, &l, NULL, opts);
    if (rc == FAR_EPROG_UNAVAIL)
        return no_reflect("listing the server's programs");
    if (rc != FAR_OK)
        return rc;
    far_dyn_entry *v = calloc(l.far_reflect_list_len ? l.far_reflect_list_len : 1, sizeof *v);
    if (!v) {
        far_reflect_list_free(&l);
        return FAR_ENOMEM;
    }
    for (uint32_t i = 0; i < l.far_reflect_list_len; i++) {
        const far_reflect_entry *x = &l.far_reflect_list_val[i];
        v[i].prog = x->prog;
        v[i].vers = x->vers;
        copy_name(v[i].prog_name, x->prog_name);
        copy_name(v[i].vers_name, x->vers_name);
        v[i].has_desc = x->has_desc;
    }
    *n = l.far_reflect_list_len;
    *entries = v;
    far_reflect_list_free(&l);
    return FAR_OK;
}

/* DESCRIBE's result: the discriminant, then the far_desc's bytes as they
 * came (far_dyn_load checks them), copied out of the reply. */
typedef struct desc_ctx {
    uint32_t stat;
    uint8_t *bytes;
    size_t len;
} desc_ctx;

static bool get_desc_res(far_xdr_dec *dec, void *v)
{
    desc_ctx *r = v;
    free(r->bytes);
    r->bytes = NULL;
    r->len = 0;
    if (!far_xdr_get_u32(dec, &r->stat))
        return far_xdr_dec_field(dec, "stat");
    if (r->stat != FAR_REFLECT_OK) {
        if (r->stat != FAR_REFLECT_NOENT && r->stat != FAR_REFLECT_NODESC)
            return far_xdr_dec_fail(dec, FAR_EBADVALUE, "%" PRIu32 " is not a far_reflect_stat",
                                    r->stat);
        return true;
    }
    size_t n = far_xdr_dec_left(dec);
    const uint8_t *p = far_xdr_take(dec, n);
    if (!p || !(r->bytes = malloc(n ? n : 1)))
        return far_xdr_dec_fail(dec, FAR_ENOMEM, "no memory for a description of %zu bytes", n);
    memcpy(r->bytes, p, n);
    r->len = n;
    return true;
}

/* Maps DESCRIBE's and SOURCE's status to the API's errors. */
static far_err stat_err(uint32_t stat, uint32_t prog, uint32_t vers)
{
    if (stat == FAR_REFLECT_NOENT) {
        far__set_last_error("the server does not serve program %" PRIu32 " version %" PRIu32
                            " (FAR_REFLECT: NOENT)",
                            prog, vers);
        return FAR_EPROG_MISMATCH;
    }
    if (stat == FAR_REFLECT_NODESC) {
        far__set_last_error("program %" PRIu32 " version %" PRIu32
                            " is served with no description (a hand-written descriptor, not "
                            "compiled by fargen); give the types with --x FILE.x",
                            prog, vers);
        return FAR_ENODESC;
    }
    return FAR_OK;
}

FAR__API far_err far_dyn_fetch(far_client *c, uint32_t prog, uint32_t vers, far_dyn **out,
                               char **source, const far_call_opts *opts)
{
    if (out)
        *out = NULL;
    if (source)
        *source = NULL;
    if (!c || !out) {
        far__set_last_error("far_dyn_fetch: NULL client or result");
        return FAR_EMISUSE;
    }
    far_reflect_which w = {prog, vers};
    desc_ctx r = {0};
    far_err rc = far_client_call(c, FAR_REFLECT_PROGRAM, FAR_REFLECT_VERSION, FAR_REFLECT_DESCRIBE,
                                 far_reflect_which_encode_any, &w, get_desc_res, &r, NULL, opts);
    if (rc == FAR_EPROG_UNAVAIL) {
        free(r.bytes);
        return no_reflect("describing a program");
    }
    if (rc == FAR_OK)
        rc = stat_err(r.stat, prog, vers);
    if (rc == FAR_OK)
        rc = far_dyn_load(out, r.bytes, r.len);
    free(r.bytes);
    if (rc != FAR_OK || !source)
        return rc;
    far_reflect_source_res sr = {0};
    rc = far_reflect_source_1(c, &w, &sr, NULL, opts);
    if (rc == FAR_OK && sr.stat == FAR_REFLECT_OK && sr.far_reflect_source_res_u.text &&
        !(*source = strdup(sr.far_reflect_source_res_u.text)))
        rc = FAR_ENOMEM;
    if (rc == FAR_OK && sr.stat == FAR_REFLECT_NOENT)
        rc = stat_err(sr.stat, prog, vers); /* the server changed between the calls */
    far_reflect_source_res_free(&sr);
    if (rc != FAR_OK) {
        far_dyn_free(*out);
        *out = NULL;
    }
    return rc;
}

_Static_assert(FAR_REFLECT_PROG == FAR_REFLECT_PROGRAM && FAR_REFLECT_V1 == FAR_REFLECT_VERSION,
               "farcall/dyn.h and far_reflect.x agree");
