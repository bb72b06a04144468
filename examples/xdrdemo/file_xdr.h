/* The RFC 4506 §7 "file" structure (file.x beside this file), with its codec
 * written by hand on farcall's XDR primitives: the shape fargen generates. */
#ifndef XDRDEMO_FILE_XDR_H
#define XDRDEMO_FILE_XDR_H

#include <farcall/xdr.h>

#define MAXUSERNAME 32
#define MAXFILELEN  65535
#define MAXNAMELEN  255

typedef enum filekind { TEXT = 0, DATA = 1, EXEC = 2 } filekind;

typedef struct filetype {
    filekind kind;
    union {
        char *creator;
        char *interpretor;
    } u;
} filetype;

typedef struct file {
    char *filename;
    filetype type;
    char *owner;
    struct {
        uint32_t len;
        uint8_t *val;
    } data;
} file;

static inline bool filetype_encode(far_xdr_enc *e, const filetype *v)
{
    if (!far_xdr_put_enum(e, (int32_t)v->kind))
        return far_xdr_enc_field(e, "kind");
    switch (v->kind) {
    case TEXT:
        return true;
    case DATA:
        return far_xdr_put_string(e, v->u.creator, MAXNAMELEN) || far_xdr_enc_field(e, "creator");
    case EXEC:
        return far_xdr_put_string(e, v->u.interpretor, MAXNAMELEN) ||
               far_xdr_enc_field(e, "interpretor");
    }
    return far_xdr_enc_fail(e, FAR_EBADVALUE, "filekind %d is not a member", (int)v->kind) ||
           far_xdr_enc_field(e, "kind");
}

static inline bool filetype_decode(far_xdr_dec *d, filetype *v)
{
    int32_t k;
    if (!far_xdr_get_enum(d, &k))
        return far_xdr_dec_field(d, "kind");
    switch (k) {
    case TEXT:
        v->kind = TEXT;
        return true;
    case DATA:
        v->kind = DATA;
        return far_xdr_get_string(d, &v->u.creator, MAXNAMELEN) || far_xdr_dec_field(d, "creator");
    case EXEC:
        v->kind = EXEC;
        return far_xdr_get_string(d, &v->u.interpretor, MAXNAMELEN) ||
               far_xdr_dec_field(d, "interpretor");
    }
    d->p -= 4; /* report the offset of the discriminant itself */
    return far_xdr_dec_fail(d, FAR_EBADVALUE, "filekind %d is not a member", (int)k) ||
           far_xdr_dec_field(d, "kind");
}

static inline bool file_encode(far_xdr_enc *e, const file *v)
{
    if (!far_xdr_put_string(e, v->filename, MAXNAMELEN))
        return far_xdr_enc_field(e, "filename");
    if (!filetype_encode(e, &v->type))
        return far_xdr_enc_field(e, "type");
    if (!far_xdr_put_string(e, v->owner, MAXUSERNAME))
        return far_xdr_enc_field(e, "owner");
    if (!far_xdr_put_opaque(e, v->data.val, v->data.len, MAXFILELEN))
        return far_xdr_enc_field(e, "data");
    return true;
}

static inline bool file_decode(far_xdr_dec *d, file *v)
{
    if (!far_xdr_get_string(d, &v->filename, MAXNAMELEN))
        return far_xdr_dec_field(d, "filename");
    if (!filetype_decode(d, &v->type))
        return far_xdr_dec_field(d, "type");
    if (!far_xdr_get_string(d, &v->owner, MAXUSERNAME))
        return far_xdr_dec_field(d, "owner");
    if (!far_xdr_get_opaque(d, &v->data.val, &v->data.len, MAXFILELEN))
        return far_xdr_dec_field(d, "data");
    return true;
}

/* Adapters with the generic far_xdr_encode_fn / far_xdr_decode_fn shape. */
static inline bool file_encode_any(far_xdr_enc *e, const void *v)
{
    return file_encode(e, (const file *)v);
}
static inline bool file_decode_any(far_xdr_dec *d, void *v)
{
    return file_decode(d, (file *)v);
}

#endif
