/* Hand-written codec for nested.x on farcall's XDR primitives.  It shows the
 * pattern generated code follows: recursion through optional data and union
 * arms goes through far_xdr_dec_enter/leave (bounded depth), and a struct whose
 * last member points to its own type is a list, encoded and decoded with a
 * loop (bounded by max_chain), never by recursion. */
#ifndef TESTS_NESTED_XDR_H
#define TESTS_NESTED_XDR_H

#include <inttypes.h>

#include <farcall/xdr.h>

typedef enum shape_kind { SK_EMPTY = 0, SK_NAME = 1, SK_NUMBERS = 2, SK_CHILD = 3 } shape_kind;

struct tree;

typedef struct shape {
    shape_kind kind;
    union {
        char *name;
        struct {
            uint32_t len;
            int64_t *val;
        } numbers;
        struct tree *child;
    } u;
} shape;

typedef struct tree {
    int32_t id;
    char *label;
    uint8_t tag[5];
    struct {
        uint32_t len;
        uint8_t *val;
    } blob;
    uint32_t counts[3];
    shape body;
    bool flag;
    double weight;
} tree;

typedef struct item {
    tree value;
    struct item *next;
} item;

typedef struct forest {
    item *items;
    tree *root;
} forest;

static bool tree_encode(far_xdr_enc *e, const tree *v);
static bool tree_decode(far_xdr_dec *d, tree *v);

/* Encoding recursion is bounded by the caller's data; the decoder is the side
 * that must not trust its input. */
static inline bool shape_encode(far_xdr_enc *e, const shape *v)
{
    if (!far_xdr_put_enum(e, (int32_t)v->kind))
        return far_xdr_enc_field(e, "kind");
    switch (v->kind) {
    case SK_EMPTY:
        return true;
    case SK_NAME:
        return far_xdr_put_string(e, v->u.name, 32) || far_xdr_enc_field(e, "name");
    case SK_NUMBERS:
        if (!far_xdr_put_count(e, v->u.numbers.len, 8) ||
            !far_xdr_put_u64_array(e, (const uint64_t *)v->u.numbers.val, v->u.numbers.len))
            return far_xdr_enc_field(e, "numbers");
        return true;
    case SK_CHILD:
        if (!far_xdr_put_bool(e, v->u.child != NULL))
            return far_xdr_enc_field(e, "child");
        return !v->u.child || tree_encode(e, v->u.child) || far_xdr_enc_field(e, "child");
    }
    return far_xdr_enc_fail(e, FAR_EBADVALUE, "shape_kind %d is not a member", (int)v->kind) ||
           far_xdr_enc_field(e, "kind");
}

static inline bool shape_decode(far_xdr_dec *d, shape *v)
{
    int32_t k;
    if (!far_xdr_get_enum(d, &k))
        return far_xdr_dec_field(d, "kind");
    switch (k) {
    case SK_EMPTY:
        v->kind = SK_EMPTY;
        return true;
    case SK_NAME:
        v->kind = SK_NAME;
        return far_xdr_get_string(d, &v->u.name, 32) || far_xdr_dec_field(d, "name");
    case SK_NUMBERS: {
        v->kind = SK_NUMBERS;
        uint32_t n;
        if (!far_xdr_get_count(d, &n, 8, 8))
            return far_xdr_dec_field(d, "numbers");
        v->u.numbers.len = n;
        v->u.numbers.val = far_xdr_alloc_array(d, n, sizeof(int64_t));
        if (!v->u.numbers.val || !far_xdr_get_u64_array(d, (uint64_t *)v->u.numbers.val, n))
            return far_xdr_dec_field(d, "numbers");
        return true;
    }
    case SK_CHILD: {
        v->kind = SK_CHILD;
        bool present;
        if (!far_xdr_get_bool(d, &present))
            return far_xdr_dec_field(d, "child");
        v->u.child = NULL;
        if (!present)
            return true;
        if (!far_xdr_dec_enter(d))
            return far_xdr_dec_field(d, "child");
        tree *t = far_xdr_alloc(d, sizeof *t);
        bool ok = t && tree_decode(d, t);
        far_xdr_dec_leave(d);
        if (!ok)
            return far_xdr_dec_field(d, "child");
        v->u.child = t;
        return true;
    }
    }
    d->p -= 4; /* report the discriminant's own offset */
    return far_xdr_dec_fail(d, FAR_EBADVALUE, "shape_kind %d is not a member", (int)k) ||
           far_xdr_dec_field(d, "kind");
}

static bool tree_encode(far_xdr_enc *e, const tree *v)
{
    if (!far_xdr_put_i32(e, v->id))
        return far_xdr_enc_field(e, "id");
    if (!far_xdr_put_string(e, v->label, 64))
        return far_xdr_enc_field(e, "label");
    if (!far_xdr_put_opaque_fixed(e, v->tag, 5))
        return far_xdr_enc_field(e, "tag");
    if (!far_xdr_put_opaque(e, v->blob.val, v->blob.len, 100))
        return far_xdr_enc_field(e, "blob");
    if (!far_xdr_put_u32_array(e, v->counts, 3))
        return far_xdr_enc_field(e, "counts");
    if (!shape_encode(e, &v->body))
        return far_xdr_enc_field(e, "body");
    if (!far_xdr_put_bool(e, v->flag))
        return far_xdr_enc_field(e, "flag");
    if (!far_xdr_put_double(e, v->weight))
        return far_xdr_enc_field(e, "weight");
    return true;
}

static bool tree_decode(far_xdr_dec *d, tree *v)
{
    if (!far_xdr_get_i32(d, &v->id))
        return far_xdr_dec_field(d, "id");
    if (!far_xdr_get_string(d, &v->label, 64))
        return far_xdr_dec_field(d, "label");
    if (!far_xdr_get_opaque_fixed(d, v->tag, 5))
        return far_xdr_dec_field(d, "tag");
    if (!far_xdr_get_opaque(d, &v->blob.val, &v->blob.len, 100))
        return far_xdr_dec_field(d, "blob");
    if (!far_xdr_get_u32_array(d, v->counts, 3))
        return far_xdr_dec_field(d, "counts");
    if (!shape_decode(d, &v->body))
        return far_xdr_dec_field(d, "body");
    if (!far_xdr_get_bool(d, &v->flag))
        return far_xdr_dec_field(d, "flag");
    if (!far_xdr_get_double(d, &v->weight))
        return far_xdr_dec_field(d, "weight");
    return true;
}

/* item *: a list, walked with a loop in both directions. */
static inline bool item_list_encode(far_xdr_enc *e, const item *it)
{
    size_t i = 0;
    for (; it; it = it->next, i++) {
        if (!far_xdr_put_bool(e, true) || !tree_encode(e, &it->value))
            return far_xdr_enc_index(e, i);
    }
    return far_xdr_put_bool(e, false) || far_xdr_enc_index(e, i);
}

static inline bool item_list_decode(far_xdr_dec *d, item **head)
{
    item **link = head;
    uint32_t n = 0;
    for (;; n++) {
        bool more;
        if (!far_xdr_get_bool(d, &more))
            return far_xdr_dec_index(d, n);
        if (!more)
            break;
        if (n >= d->max_chain)
            return far_xdr_dec_fail(d, FAR_ELIMIT, "list longer than %" PRIu32 " elements",
                                    d->max_chain) ||
                   far_xdr_dec_index(d, n);
        item *it = far_xdr_alloc(d, sizeof *it);
        if (!it || !tree_decode(d, &it->value))
            return far_xdr_dec_field(d, "value") || far_xdr_dec_index(d, n);
        it->next = NULL;
        *link = it;
        link = &it->next;
    }
    *link = NULL;
    return true;
}

static inline bool forest_encode(far_xdr_enc *e, const forest *v)
{
    if (!item_list_encode(e, v->items))
        return far_xdr_enc_field(e, "items");
    if (!far_xdr_put_bool(e, v->root != NULL) || (v->root && !tree_encode(e, v->root)))
        return far_xdr_enc_field(e, "root");
    return true;
}

static inline bool forest_decode(far_xdr_dec *d, forest *v)
{
    v->items = NULL;
    v->root = NULL;
    if (!item_list_decode(d, &v->items))
        return far_xdr_dec_field(d, "items");
    bool present;
    if (!far_xdr_get_bool(d, &present))
        return far_xdr_dec_field(d, "root");
    if (present) {
        tree *t = far_xdr_alloc(d, sizeof *t);
        if (!t || !far_xdr_dec_enter(d))
            return far_xdr_dec_field(d, "root");
        bool ok = tree_decode(d, t);
        far_xdr_dec_leave(d);
        if (!ok)
            return far_xdr_dec_field(d, "root");
        v->root = t;
    }
    return true;
}

static inline bool forest_encode_any(far_xdr_enc *e, const void *v)
{
    return forest_encode(e, (const forest *)v);
}
static inline bool forest_decode_any(far_xdr_dec *d, void *v)
{
    return forest_decode(d, (forest *)v);
}

#endif
