/* XDR error records (RFC 4506 codec): the first failure of an encoder or a
 * decoder, the path of fields and indexes to it, and its text
 * (far_xdr_enc_strerror, far_xdr_dec_strerror). */
#include <stdarg.h>
#include <stdio.h>

#include "xdr/xdr_impl.h"

static void err_setv(far_xdr_error *err, far_err code, size_t off, const char *fmt, va_list ap)
{
    if (err->code != FAR_OK)
        return; /* the first failure is the one that explains the others */
    err->code = code;
    err->offset = off;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    err->path_at = sizeof err->path - 1;
    err->path[err->path_at] = '\0';
}

bool far__xdr_err_set(far_xdr_error *err, far_err code, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(err, code, off, fmt, ap);
    va_end(ap);
    return false;
}

/* Prepends `seg` to the path; once full, marks the cut with "..." and stops.
 * Three bytes stay free for the mark, so a cut path always shows it. */
static bool err_prepend(far_xdr_error *err, const char *seg)
{
    if (err->code == FAR_OK || strncmp(err->path + err->path_at, "...", 3) == 0)
        return false;
    size_t n = strlen(seg);
    if (err->path_at >= n + 3) {
        err->path_at -= n;
        memcpy(err->path + err->path_at, seg, n);
    } else {
        err->path_at -= 3;
        memcpy(err->path + err->path_at, "...", 3);
    }
    return false;
}

static bool err_field(far_xdr_error *err, const char *name)
{
    char seg[72];
    snprintf(seg, sizeof seg, ".%s", name);
    return err_prepend(err, seg);
}

static bool err_index(far_xdr_error *err, size_t i)
{
    char seg[24];
    snprintf(seg, sizeof seg, "[%zu]", i);
    return err_prepend(err, seg);
}

static const char *err_format(const far_xdr_error *err, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    if (err->code == FAR_OK) {
        snprintf(buf, n, "no error");
        return buf;
    }
    const char *path = err->path + err->path_at;
    const char *cut = "";
    if (strncmp(path, "...", 3) == 0) {
        cut = "...";
        path += 3;
    }
    if (*path == '.')
        path++;
    if (*path)
        snprintf(buf, n, "%s at byte %zu in %s%s: %s", far_errname(err->code), err->offset, cut,
                 path, err->msg);
    else
        snprintf(buf, n, "%s at byte %zu: %s", far_errname(err->code), err->offset, err->msg);
    return buf;
}

FAR__API bool far_xdr_enc_fail(far_xdr_enc *e, far_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(&e->err, code, far_xdr_enc_len(e), fmt, ap);
    va_end(ap);
    return false;
}

FAR__API bool far_xdr_enc_field(far_xdr_enc *e, const char *name)
{
    return err_field(&e->err, name);
}

FAR__API bool far_xdr_enc_index(far_xdr_enc *e, size_t i)
{
    return err_index(&e->err, i);
}

FAR__API const char *far_xdr_enc_strerror(const far_xdr_enc *e, char *buf, size_t n)
{
    return err_format(&e->err, buf, n);
}

FAR__API bool far_xdr_dec_fail(far_xdr_dec *d, far_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(&d->err, code, far_xdr_dec_pos(d), fmt, ap);
    va_end(ap);
    return false;
}

FAR__API bool far_xdr_dec_chain_over(far_xdr_dec *d)
{
    bool first = d->err.code == FAR_OK;
    far_xdr_dec_fail(d, FAR_ELIMIT, "list longer than %" PRIu32 " elements", d->max_chain);
    if (first) {
        d->err.local = true;
        d->err.limit = FAR_XDR_LIMIT_CHAIN;
    }
    return false;
}

FAR__API bool far_xdr_dec_field(far_xdr_dec *d, const char *name)
{
    return err_field(&d->err, name);
}

FAR__API bool far_xdr_dec_index(far_xdr_dec *d, size_t i)
{
    return err_index(&d->err, i);
}

FAR__API const char *far_xdr_dec_strerror(const far_xdr_dec *d, char *buf, size_t n)
{
    return err_format(&d->err, buf, n);
}
