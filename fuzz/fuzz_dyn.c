/* libFuzzer harness for dynamic calls (farcall/dyn.h): a description, a
 * JSON text and XDR bytes, all hostile.
 *
 * Input: a 2-byte big-endian length and that many bytes of description
 * (XDR far_desc), a 2-byte length and that many bytes of JSON, the rest
 * XDR.  A description that loads must render as .x; for each procedure (the
 * first few) and the first named type:
 *   - JSON that encodes must decode back, and that JSON must encode to the
 *     same bytes;
 *   - XDR that decodes gives JSON that encodes, and that decodes to the
 *     same JSON again.
 * Any mismatch aborts: that is a bug, not bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "farcall/dyn.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_dyn: %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,               \
                    far_last_error());                                                             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum { ARGS, RES, TYPE };

typedef struct target {
    const far_dyn *d;
    int what;
    uint32_t proc;
    const char *type;
} target;

static far_err encode(const target *t, const char *json, size_t len, far_xdr_enc *e)
{
    switch (t->what) {
    case ARGS:
        return far_dyn_encode_args(t->d, t->proc, json, len, e);
    case RES:
        return far_dyn_encode_res(t->d, t->proc, json, len, e);
    default:
        return far_dyn_encode_type(t->d, t->type, json, len, e);
    }
}

static far_err decode(const target *t, const uint8_t *p, size_t n, char **json)
{
    far_xdr_dec x;
    far_xdr_dec_init(&x, p, n, NULL, 0);
    switch (t->what) {
    case ARGS:
        return far_dyn_decode_args(t->d, t->proc, &x, n & 1 ? FAR_DYN_PRETTY : 0, json);
    case RES:
        return far_dyn_decode_res(t->d, t->proc, &x, 0, json);
    default:
        return far_dyn_decode_type(t->d, t->type, &x, 0, json);
    }
}

/* Encoded bytes (or an encoding error: NULL). */
static uint8_t *encode_copy(const target *t, const char *json, size_t len, size_t *n, far_err *rc)
{
    far_xdr_enc e;
    if (far_xdr_enc_init_grow(&e, 256, 1 << 20) != FAR_OK)
        return NULL;
    uint8_t *out = NULL;
    *rc = encode(t, json, len, &e);
    if (*rc == FAR_OK) {
        *n = far_xdr_enc_len(&e);
        out = malloc(*n + 1);
        if (out)
            memcpy(out, far_xdr_enc_data(&e), *n);
    }
    far_xdr_enc_fini(&e);
    return out;
}

static void one(const target *t, const char *json, size_t jlen, const uint8_t *xdr, size_t xlen)
{
    far_err rc;
    size_t n1 = 0, n2 = 0;
    /* JSON -> XDR -> JSON -> XDR */
    uint8_t *x1 = encode_copy(t, json, jlen, &n1, &rc);
    if (x1) {
        char *j1 = NULL;
        rc = decode(t, x1, n1, &j1);
        CHECK(rc == FAR_OK || rc == FAR_ENOMEM);
        if (j1) {
            uint8_t *x2 = encode_copy(t, j1, strlen(j1), &n2, &rc);
            CHECK(x2 || rc == FAR_ENOMEM || rc == FAR_ENOSPACE);
            if (x2)
                CHECK(n1 == n2 && memcmp(x1, x2, n1) == 0);
            free(x2);
        }
        free(j1);
        free(x1);
    }
    /* XDR -> JSON -> XDR -> JSON */
    char *j1 = NULL;
    if (decode(t, xdr, xlen, &j1) == FAR_OK) {
        uint8_t *x2 = encode_copy(t, j1, strlen(j1), &n2, &rc);
        CHECK(x2 || rc == FAR_ENOMEM || rc == FAR_ENOSPACE);
        if (x2) {
            char *j2 = NULL;
            rc = decode(t, x2, n2, &j2);
            CHECK(rc == FAR_OK || rc == FAR_ENOMEM);
            if (j2)
                CHECK(strcmp(j1, j2) == 0);
            free(j2);
        }
        free(x2);
    }
    free(j1);
}

static size_t take_len(const uint8_t **p, size_t *n)
{
    if (*n < 2)
        return 0;
    size_t len = (size_t)(*p)[0] << 8 | (*p)[1];
    *p += 2;
    *n -= 2;
    return len < *n ? len : *n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t n = size;
    size_t dlen = take_len(&p, &n);
    const uint8_t *desc = p;
    p += dlen;
    n -= dlen;
    size_t jlen = take_len(&p, &n);
    const char *json = (const char *)p;
    p += jlen;
    n -= jlen;
    const uint8_t *xdr = p;
    size_t xlen = n;

    far_dyn *d = NULL;
    if (far_dyn_load(&d, desc, dlen) != FAR_OK) {
        CHECK(d == NULL);
        return 0;
    }
    char *text = NULL;
    far_err rc = far_dyn_to_x(d, &text);
    CHECK(rc == FAR_OK || rc == FAR_ELIMIT || rc == FAR_ENOMEM);
    CHECK(rc != FAR_OK || (text && strstr(text, "program ")));

    far_dyn_proc info;
    CHECK(far_dyn_find_proc(d, "no_such_procedure_here", &info) != FAR_OK ||
          strcmp(info.name, "no_such_procedure_here") == 0);
    size_t np = far_dyn_nprocs(d);
    for (size_t i = 0; i < np && i < 4; i++) {
        far_dyn_proc pr = far_dyn_proc_at(d, i);
        target a = {d, ARGS, pr.proc, NULL}, r = {d, RES, pr.proc, NULL};
        one(&a, json, jlen, xdr, xlen);
        one(&r, json, jlen, xdr, xlen);
    }
    /* the first struct, union or enum the text defines, by name */
    char name[300];
    const char *at = text ? strstr(text, "\nstruct ") : NULL;
    if (!at && text)
        at = strstr(text, "\nunion ");
    if (at && sscanf(strchr(at + 1, ' ') + 1, "%299[A-Za-z0-9_]", name) == 1) {
        target ty = {d, TYPE, 0, name};
        one(&ty, json, jlen, xdr, xlen);
    }
    free(text);
    far_dyn_free(d);
    return 0;
}
