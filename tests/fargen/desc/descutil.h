/* The type-description tests' helpers: decoding a far_desc with the
 * library's generated decoder (far_reflect.x), checking that every
 * reference resolves and that the bytes are the canonical encoding, and
 * looking types up.  Included by each test program (static functions). */
#ifndef DESCUTIL_H
#define DESCUTIL_H

#include <farcall/xdr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "far_reflect.h"

static int failures;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || strcmp(a_, b_) != 0) {                                                          \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,      \
                    a_ ? a_ : "(null)", b_);                                                       \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_U(a, b)                                                                              \
    do {                                                                                           \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);             \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: %s is %llu (0x%llx), expected %llu\n", __FILE__, __LINE__, #a, \
                    a_, a_, b_);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* Decodes len bytes into *d (heap mode: far_desc_free releases it); every
 * byte must be consumed.  Returns false with the decoder's message printed. */
static inline bool desc_decode(const uint8_t *p, size_t len, far_desc *d, const char *what)
{
    far_xdr_dec dec;
    memset(d, 0, sizeof *d);
    far_xdr_dec_init(&dec, p, len, NULL, 0);
    if (!far_desc_decode(&dec, d) || !far_xdr_dec_done(&dec)) {
        fprintf(stderr, "%s: the description does not decode: %s (at byte %zu of %zu)\n", what,
                dec.err.msg, far_xdr_dec_pos(&dec), len);
        far_desc_free(d);
        memset(d, 0, sizeof *d);
        return false;
    }
    return true;
}

/* Encodes one type (for comparing anonymous types); returns malloc'd bytes. */
static inline uint8_t *type_bytes(const far_type *t, size_t *len)
{
    far_xdr_enc e;
    if (far_xdr_enc_init_grow(&e, 256, 0) != FAR_OK || !far_type_encode(&e, t)) {
        far_xdr_enc_fini(&e);
        return NULL;
    }
    *len = far_xdr_enc_len(&e);
    uint8_t *r = malloc(*len ? *len : 1);
    if (r)
        memcpy(r, far_xdr_enc_data(&e), *len);
    far_xdr_enc_fini(&e);
    return r;
}

static inline bool ref_ok(const far_desc *d, far_tref r)
{
    return r < d->types.types_len;
}

static inline void check_arm_refs(const far_desc *d, const far_tarm *a, const char *what,
                                  unsigned i)
{
    if (!ref_ok(d, a->type)) {
        fprintf(stderr, "%s: type %u: an arm refers to type %u of %u\n", what, i, a->type,
                d->types.types_len);
        failures++;
    }
}

/* Every tref of d is < the number of types; the bytes re-encode to exactly
 * `p` (the canonical encoding); anonymous types are unnamed and each occurs
 * once; named types come first.  Counts failures; returns true if none. */
static inline bool desc_validate(const far_desc *d, const uint8_t *p, size_t len, const char *what)
{
    int before = failures;
    uint32_t nt = d->types.types_len;
    bool seen_anon = false;
    for (uint32_t i = 0; i < nt; i++) {
        const far_type *t = &d->types.types_val[i];
        const far_tbody *b = &t->body;
        bool anon = t->name[0] == '\0';
        if (!anon && seen_anon) {
            fprintf(stderr, "%s: named type %u (%s) after an anonymous one\n", what, i, t->name);
            failures++;
        }
        seen_anon = seen_anon || anon;
        far_tref refs[2];
        int nrefs = 0;
        switch (b->kind) {
        case FAR_T_STRUCT:
            for (uint32_t m = 0; m < b->far_tbody_u.members.members_len; m++)
                if (!ref_ok(d, b->far_tbody_u.members.members_val[m].type)) {
                    fprintf(stderr, "%s: type %u: member %u refers to type %u of %u\n", what, i, m,
                            b->far_tbody_u.members.members_val[m].type, nt);
                    failures++;
                }
            break;
        case FAR_T_UNION:
            refs[nrefs++] = b->far_tbody_u.u.disc_type;
            for (uint32_t a = 0; a < b->far_tbody_u.u.arms.arms_len; a++)
                check_arm_refs(d, &b->far_tbody_u.u.arms.arms_val[a], what, i);
            if (b->far_tbody_u.u.dflt)
                check_arm_refs(d, b->far_tbody_u.u.dflt, what, i);
            break;
        case FAR_T_ARRAY_FIXED:
        case FAR_T_ARRAY_VAR:
            refs[nrefs++] = b->far_tbody_u.seq.elem;
            break;
        case FAR_T_OPTIONAL:
        case FAR_T_ALIAS:
            refs[nrefs++] = b->far_tbody_u.elem;
            break;
        default:
            break;
        }
        for (int k = 0; k < nrefs; k++)
            if (!ref_ok(d, refs[k])) {
                fprintf(stderr, "%s: type %u refers to type %u of %u\n", what, i, refs[k], nt);
                failures++;
            }
    }
    for (uint32_t i = 0; i < d->procs.procs_len; i++) {
        const far_tproc *pr = &d->procs.procs_val[i];
        for (uint32_t a = 0; a < pr->args.args_len; a++)
            if (!ref_ok(d, pr->args.args_val[a])) {
                fprintf(stderr, "%s: %s: argument %u refers to type %u of %u\n", what, pr->name, a,
                        pr->args.args_val[a], nt);
                failures++;
            }
        if (!ref_ok(d, pr->res)) {
            fprintf(stderr, "%s: %s: the result refers to type %u of %u\n", what, pr->name, pr->res,
                    nt);
            failures++;
        }
    }
    /* anonymous types: each once */
    uint8_t **enc = calloc(nt ? nt : 1, sizeof *enc);
    size_t *elen = calloc(nt ? nt : 1, sizeof *elen);
    for (uint32_t i = 0; enc && elen && i < nt; i++) {
        if (d->types.types_val[i].name[0])
            continue;
        enc[i] = type_bytes(&d->types.types_val[i], &elen[i]);
        for (uint32_t j = 0; j < i && enc[i]; j++)
            if (enc[j] && elen[j] == elen[i] && memcmp(enc[j], enc[i], elen[i]) == 0) {
                fprintf(stderr, "%s: anonymous types %u and %u are the same\n", what, j, i);
                failures++;
            }
    }
    for (uint32_t i = 0; enc && i < nt; i++)
        free(enc[i]);
    free(enc);
    free(elen);
    /* the canonical encoding: the library's encoder gives the same bytes */
    far_xdr_enc e;
    if (far_xdr_enc_init_grow(&e, 4096, 0) != FAR_OK || !far_desc_encode(&e, d)) {
        fprintf(stderr, "%s: far_desc_encode failed\n", what);
        failures++;
    } else if (far_xdr_enc_len(&e) != len || memcmp(far_xdr_enc_data(&e), p, len) != 0) {
        fprintf(stderr, "%s: re-encoded, the description differs (%zu bytes, not %zu)\n", what,
                far_xdr_enc_len(&e), len);
        failures++;
    }
    far_xdr_enc_fini(&e);
    return failures == before;
}

/* The type at r, or a static "void" stand-in (and a failure) when r is out
 * of range, so that a test goes on. */
static inline const far_type *type_at(const far_desc *d, far_tref r)
{
    static far_type none = {.name = "(out of range)"};
    if (r >= d->types.types_len) {
        fprintf(stderr, "type reference %u out of range (%u types)\n", r, d->types.types_len);
        failures++;
        return &none;
    }
    return &d->types.types_val[r];
}

/* The index of the named type `name`, or types_len (and a failure). */
static inline far_tref named(const far_desc *d, const char *nm)
{
    for (uint32_t i = 0; i < d->types.types_len; i++)
        if (strcmp(d->types.types_val[i].name, nm) == 0)
            return i;
    fprintf(stderr, "no type named %s\n", nm);
    failures++;
    return d->types.types_len;
}

/* Is r an anonymous type of kind k (a primitive, void)? */
static inline bool is_anon(const far_desc *d, far_tref r, far_tkind k)
{
    const far_type *t = type_at(d, r);
    return t->name && t->name[0] == '\0' && t->body.kind == k;
}

#endif
