/* Server: the reflection program FAR_REFLECT v1 (src/dyn/far_reflect.x),
 * which every server serves unless far_server_opts.no_reflect: it lists the
 * program versions the server has and hands out their descriptions
 * (far_program_desc.type_desc, .source) as they were compiled.
 *
 * It is one of the server's programs, with hand-written descriptors (its
 * results are written straight from the server's program table: the
 * description bytes ARE an encoded far_desc, so DESCRIBE writes the
 * discriminant and then the bytes, decoding nothing), added at
 * far_server_start and marked as the runtime's own: it is not registered
 * with the binder (several servers share a host, and each has its own; a
 * client reaches it at the address of a program it found) and LIST does not
 * name it.  Its calls are answered in the front stages (dispatch.c) like the
 * NULL procedure, so they never wait behind the user's handlers.
 *
 * A program the user adds at FAR_REFLECT's number (any version) wins: the
 * server then serves the user's and none of its own. */
#include "svc/svc.h"

#include "far_reflect.h"

#include <stdio.h>

/* LIST's result: the server whose table is listed. */
typedef struct list_res {
    const far_server *s;
} list_res;

/* DESCRIBE's and SOURCE's result: the status and, for FAR_REFLECT_OK, the
 * bytes (a far_desc already encoded) or the text. */
typedef struct blob_res {
    uint32_t stat;
    const uint8_t *bytes;
    size_t len;
} blob_res;

static bool listed(const svc_prog *p)
{
    return !p->runtime && !p->own;
}

/* A description the server can hand out as it is: XDR is a whole number of
 * 4-byte units, so anything else cannot be an encoded far_desc. */
static bool has_desc(const far_program_desc *d)
{
    return d->type_desc && d->type_desc_len > 0 && d->type_desc_len % 4 == 0 &&
           d->type_desc_len <= UINT32_MAX;
}

/* The version's name ("CALC_V1"): the descriptor has none, its description
 * does, near the front (far_desc: prog, vers, prog_name, vers_name).  *n = 0
 * if there is no description or it is cut short. */
static const char *vers_name(const far_program_desc *d, uint32_t *n)
{
    *n = 0;
    if (!has_desc(d))
        return "";
    const uint8_t *p = d->type_desc, *end = d->type_desc + d->type_desc_len;
    if (end - p < 12)
        return "";
    uint32_t l = far_xdr_load_u32(p + 8);
    if (l > FAR_REFLECT_MAXNAME || (size_t)(end - p - 12) < ((size_t)l + 3) / 4 * 4 + 4)
        return "";
    p += 12 + ((size_t)l + 3) / 4 * 4;
    l = far_xdr_load_u32(p);
    if (l > FAR_REFLECT_MAXNAME || (size_t)(end - p - 4) < l || memchr(p + 4, 0, l))
        return "";
    *n = l;
    return (const char *)p + 4;
}

static bool encode_list(far_xdr_enc *e, const void *v)
{
    const far_server *s = ((const list_res *)v)->s;
    size_t n = 0;
    for (size_t i = 0; i < s->nprogs; i++)
        n += listed(&s->progs[i]);
    if (!far_xdr_put_count(e, n, FAR_REFLECT_MAXPROGS))
        return false;
    size_t k = 0;
    for (size_t i = 0; i < s->nprogs; i++) {
        const far_program_desc *d = s->progs[i].d;
        if (!listed(&s->progs[i]))
            continue;
        const char *name = d->name ? d->name : "";
        size_t nl = strnlen(name, FAR_REFLECT_MAXNAME + 1);
        if (nl > FAR_REFLECT_MAXNAME)
            nl = 0; /* a name the protocol cannot carry is left out */
        uint32_t vl;
        const char *vn = vers_name(d, &vl);
        if (!far_xdr_put_u32(e, d->prog) || !far_xdr_put_u32(e, d->vers) ||
            !far_xdr_put_string_n(e, name, (uint32_t)nl, FAR_REFLECT_MAXNAME) ||
            !far_xdr_put_string_n(e, vn, vl, FAR_REFLECT_MAXNAME) ||
            !far_xdr_put_bool(e, has_desc(d)))
            return far_xdr_enc_index(e, k);
        k++;
    }
    return true;
}

static bool encode_desc_res(far_xdr_enc *e, const void *v)
{
    const blob_res *r = v;
    if (!far_xdr_put_enum(e, (int32_t)r->stat))
        return far_xdr_enc_field(e, "stat");
    if (r->stat != FAR_REFLECT_OK)
        return true;
    /* The bytes are an encoded far_desc (a whole number of 4-byte units):
     * written as they are. */
    return far_xdr_put_opaque_fixed(e, r->bytes, r->len) || far_xdr_enc_field(e, "desc");
}

static bool encode_source_res(far_xdr_enc *e, const void *v)
{
    const blob_res *r = v;
    if (!far_xdr_put_enum(e, (int32_t)r->stat))
        return far_xdr_enc_field(e, "stat");
    if (r->stat != FAR_REFLECT_OK)
        return true;
    return far_xdr_put_string_n(e, (const char *)r->bytes, (uint32_t)r->len,
                                FAR_REFLECT_MAXSOURCE) ||
           far_xdr_enc_field(e, "text");
}

static const far_program_desc *find(const far_server *s, uint32_t prog, uint32_t vers)
{
    for (size_t i = 0; i < s->nprogs; i++) {
        const far_program_desc *d = s->progs[i].d;
        if (listed(&s->progs[i]) && d->prog == prog && d->vers == vers)
            return d;
    }
    return NULL;
}

static far_err do_list(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)args, (void)req;
    ((list_res *)res)->s = impl;
    return FAR_OK;
}

static far_err do_describe(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)req;
    const far_reflect_which *w = args;
    blob_res *r = res;
    const far_program_desc *d = find(impl, w->prog, w->vers);
    *r = (blob_res){FAR_REFLECT_NOENT, NULL, 0};
    if (d && !has_desc(d))
        r->stat = FAR_REFLECT_NODESC;
    else if (d)
        *r = (blob_res){FAR_REFLECT_OK, d->type_desc, d->type_desc_len};
    return FAR_OK;
}

static far_err do_source(const void *impl, far_svc_req *req, const void *args, void *res)
{
    (void)req;
    const far_reflect_which *w = args;
    blob_res *r = res;
    const far_program_desc *d = find(impl, w->prog, w->vers);
    *r = (blob_res){FAR_REFLECT_NOENT, NULL, 0};
    if (d) {
        size_t n = d->source ? strnlen(d->source, FAR_REFLECT_MAXSOURCE + 1) : 0;
        if (!d->source || n > FAR_REFLECT_MAXSOURCE)
            r->stat = FAR_REFLECT_NODESC;
        else
            *r = (blob_res){FAR_REFLECT_OK, (const uint8_t *)d->source, n};
    }
    return FAR_OK;
}

static const far_proc_desc reflect_procs[] = {
    {.proc = 0, .name = "FAR_REFLECT_NULL"},
    {.proc = 1,
     .name = "FAR_REFLECT_LIST",
     .encode_res = encode_list,
     .res_size = sizeof(list_res),
     .invoke = do_list},
    {.proc = 2,
     .name = "FAR_REFLECT_DESCRIBE",
     .decode_args = far_reflect_which_decode_any,
     .encode_res = encode_desc_res,
     .args_size = sizeof(far_reflect_which),
     .res_size = sizeof(blob_res),
     .invoke = do_describe},
    {.proc = 3,
     .name = "FAR_REFLECT_SOURCE",
     .decode_args = far_reflect_which_decode_any,
     .encode_res = encode_source_res,
     .args_size = sizeof(far_reflect_which),
     .res_size = sizeof(blob_res),
     .invoke = do_source},
};

static const far_program_desc reflect_prog = {
    FAR_DESC_SIZES,         .prog = FAR_REFLECT_PROG,
    .vers = FAR_REFLECT_V1, .name = "FAR_REFLECT_PROG",
    .procs = reflect_procs, .nprocs = FAR__ARRAY_LEN(reflect_procs),
};

far_err far__svc_reflect_add(far_server *s)
{
    if (s->o.no_reflect)
        return FAR_OK;
    for (size_t i = 0; i < s->nprogs; i++) {
        if (s->progs[i].runtime)
            return FAR_OK; /* added by an earlier far_server_start */
        if (s->progs[i].d->prog == FAR_REFLECT_PROG) {
            far__log_info("program %#" PRIx32 " version %" PRIu32
                          " is the user's: the server's own reflection (FAR_REFLECT) is "
                          "not served",
                          s->progs[i].d->prog, s->progs[i].d->vers);
            return FAR_OK;
        }
    }
    far_err rc = far_server_add_program(s, &reflect_prog, s);
    if (rc != FAR_OK)
        return rc;
    s->progs[s->nprogs - 1].runtime = true;
    return FAR_OK;
}
