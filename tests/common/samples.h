/* Sample values of the test types (nested.x's forest, RFC 4506's file), with
 * deep comparison, for tests that need a valid, non-trivial encoding. */
#ifndef TESTS_SAMPLES_H
#define TESTS_SAMPLES_H

#include <inttypes.h> /* nested_xdr.h uses PRIu32 without including it */
#include <string.h>

#include "common/nested_xdr.h"
#include "xdrdemo/file_xdr.h"

/* A forest whose storage lives in the struct: a list of three items (empty,
 * numbered and named bodies), and a root whose body is a child tree. */
typedef struct sample_forest {
    forest f;
    item items[3];
    tree root, child;
    int64_t numbers[5];
    uint8_t blob[100];
} sample_forest;

static inline void sample_tree(tree *t, int32_t id, char *label, uint8_t *blob, uint32_t blob_len,
                               double weight)
{
    memset(t, 0, sizeof *t);
    t->id = id;
    t->label = label;
    for (int i = 0; i < 5; i++)
        t->tag[i] = (uint8_t)('A' + id + i);
    t->blob.len = blob_len;
    t->blob.val = blob_len ? blob : NULL;
    for (int i = 0; i < 3; i++)
        t->counts[i] = (uint32_t)(id * 1000 + i);
    t->flag = id & 1;
    t->weight = weight;
    t->body.kind = SK_EMPTY;
}

static inline void sample_forest_init(sample_forest *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 100; i++)
        s->blob[i] = (uint8_t)(i * 7 + 1);
    for (int i = 0; i < 5; i++)
        s->numbers[i] = (int64_t)0x0102030405060708 * (i + 1) * (i & 1 ? -1 : 1);

    sample_tree(&s->items[0].value, 1, "alpha", s->blob, 7, 1.5);
    sample_tree(&s->items[1].value, 2, "", s->blob, 0, -0.25);
    s->items[1].value.body.kind = SK_NUMBERS;
    s->items[1].value.body.u.numbers.len = 5;
    s->items[1].value.body.u.numbers.val = s->numbers;
    sample_tree(&s->items[2].value, 3, "gamma ray", s->blob, 100, 1e300);
    s->items[2].value.body.kind = SK_NAME;
    s->items[2].value.body.u.name = "needle-name";
    s->items[0].next = &s->items[1];
    s->items[1].next = &s->items[2];

    sample_tree(&s->root, 10, "root", s->blob + 50, 3, -1e-300);
    s->root.body.kind = SK_CHILD;
    s->root.body.u.child = &s->child;
    sample_tree(&s->child, 11, "leaf", s->blob + 10, 33, 42.0);
    s->child.body.kind = SK_NAME;
    s->child.body.u.name = "leafname";

    s->f.items = &s->items[0];
    s->f.root = &s->root;
}

static inline bool sample_str_equal(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static inline bool sample_tree_equal(const tree *a, const tree *b);

static inline bool sample_shape_equal(const shape *a, const shape *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case SK_EMPTY:
        return true;
    case SK_NAME:
        return sample_str_equal(a->u.name, b->u.name);
    case SK_NUMBERS:
        return a->u.numbers.len == b->u.numbers.len &&
               (a->u.numbers.len == 0 ||
                memcmp(a->u.numbers.val, b->u.numbers.val, a->u.numbers.len * 8) == 0);
    case SK_CHILD:
        if (!a->u.child || !b->u.child)
            return a->u.child == b->u.child;
        return sample_tree_equal(a->u.child, b->u.child); /* samples are shallow */
    }
    return false;
}

static inline bool sample_tree_equal(const tree *a, const tree *b)
{
    return a->id == b->id && sample_str_equal(a->label, b->label) &&
           memcmp(a->tag, b->tag, 5) == 0 && a->blob.len == b->blob.len &&
           (a->blob.len == 0 || memcmp(a->blob.val, b->blob.val, a->blob.len) == 0) &&
           memcmp(a->counts, b->counts, sizeof a->counts) == 0 &&
           sample_shape_equal(&a->body, &b->body) && a->flag == b->flag &&
           memcmp(&a->weight, &b->weight, sizeof a->weight) == 0;
}

static inline bool sample_forest_equal(const forest *a, const forest *b)
{
    const item *x = a->items, *y = b->items;
    for (int n = 0; x && y && n < 1000; x = x->next, y = y->next, n++)
        if (!sample_tree_equal(&x->value, &y->value))
            return false;
    if (x || y)
        return false;
    if (!a->root || !b->root)
        return a->root == b->root;
    return sample_tree_equal(a->root, b->root);
}

/* A file with every variable-length part non-empty and odd-sized. */
static inline file sample_file(void)
{
    static const uint8_t data[] = "(defun fact (n) (if (< n 2) 1 (* n (fact (- n 1)))))";
    file f = {.filename = "factorial.lisp",
              .type = {.kind = DATA, .u.creator = "emacs"},
              .owner = "john",
              .data = {sizeof data - 1, (uint8_t *)data}};
    return f;
}

static inline bool sample_file_equal(const file *a, const file *b)
{
    if (!sample_str_equal(a->filename, b->filename) || a->type.kind != b->type.kind ||
        !sample_str_equal(a->owner, b->owner) || a->data.len != b->data.len ||
        (a->data.len && memcmp(a->data.val, b->data.val, a->data.len) != 0))
        return false;
    switch (a->type.kind) {
    case TEXT:
        return true;
    case DATA:
        return sample_str_equal(a->type.u.creator, b->type.u.creator);
    case EXEC:
        return sample_str_equal(a->type.u.interpretor, b->type.u.interpretor);
    }
    return false;
}

#endif
