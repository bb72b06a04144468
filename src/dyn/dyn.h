/* The dynamic-call layer's private parts: a loaded description (far_dyn)
 * with what the JSON codec precomputes from it, and the text buffer the
 * JSON writer and the .x renderer share.  Public API: farcall/dyn.h. */
#ifndef FARCALL_DYN_DYN_H
#define FARCALL_DYN_DYN_H

#include "internal.h"

#include "farcall/dyn.h"
#include "far_reflect.h"

/* One union case: the 32-bit value and the arm it selects. */
typedef struct far__dyn_case {
    int32_t value;
    uint32_t arm;
} far__dyn_case;

/* What load works out for each type of the description. */
typedef struct far__dyn_type {
    uint32_t res;     /* the type itself, or the end of its FAR_T_ALIAS chain */
    uint64_t minwire; /* fewest XDR bytes a value takes (saturated): bounds counts */
    /* FAR_T_ENUM: value indexes by name and by value; FAR_T_STRUCT: member
     * indexes by name (by_value unused); FAR_T_UNION: by_value unused. */
    uint32_t *by_name;
    uint32_t *by_value;
    far__dyn_case *cases; /* FAR_T_UNION: sorted by value, ncases of them */
    uint32_t ncases;
} far__dyn_type;

struct far_dyn {
    far_arena arena; /* the decoded far_desc and everything below */
    far_desc desc;
    uint32_t ntypes;
    far__dyn_type *ti; /* ntypes */
    uint32_t *named;   /* indexes of the named types, sorted by name */
    uint32_t nnamed;
};

/* The body of type t. */
static inline const far_tbody *far__dyn_body(const far_dyn *d, uint32_t t)
{
    return &d->desc.types.types_val[t].body;
}

/* Type t with its alias chain followed. */
static inline uint32_t far__dyn_res(const far_dyn *d, uint32_t t)
{
    return d->ti[t].res;
}

/* The longest JSON string a value of any of the n types can hold, in bytes
 * (strings, base64 opaques, names, hyper and quad text), UINT64_MAX if one
 * is unbounded: a longer string in the input is refused before it is
 * parsed.  Linear in the types reachable; FAR_ENOMEM gives UINT64_MAX. */
uint64_t far__dyn_max_text(const far_dyn *d, const far_tref *types, uint32_t n);

/* The procedure numbered proc, or NULL. */
const far_tproc *far__dyn_proc(const far_dyn *d, uint32_t proc);
/* The named type called name, or UINT32_MAX. */
uint32_t far__dyn_find_type(const far_dyn *d, const char *name);
/* The name of enum type t's value v (the first with it), or NULL. */
const char *far__dyn_enum_name(const far_dyn *d, uint32_t t, int32_t v);
/* The arm of union type t that value v selects: an index into its arms,
 * UINT32_MAX for the default arm, or UINT32_MAX - 1 for none. */
uint32_t far__dyn_union_arm(const far_dyn *d, uint32_t t, int32_t v);
#define FAR__DYN_ARM_DEFAULT UINT32_MAX
#define FAR__DYN_ARM_NONE    (UINT32_MAX - 1)

/* A growable text buffer; on ENOMEM it keeps failing (oom set). */
typedef struct far__dyn_buf {
    char *p;
    size_t len, cap;
    bool oom;
} far__dyn_buf;

bool far__dyn_buf_room(far__dyn_buf *b, size_t n);
bool far__dyn_buf_add(far__dyn_buf *b, const char *s, size_t n);
bool far__dyn_buf_str(far__dyn_buf *b, const char *s);
bool far__dyn_buf_printf(far__dyn_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the NUL-terminated text to the caller (NULL if out of memory). */
char *far__dyn_buf_take(far__dyn_buf *b);

#endif
