/* Loading a description: decodes the XDR far_desc into the far_dyn's arena,
 * checks that it holds together (every reference, name, bound, union and
 * enum; no type with no finite value), and precomputes what the JSON codec
 * needs: alias targets, the fewest wire bytes of each type, sorted names,
 * union case tables.  Everything here is linear or n log n in the size of
 * the description, and iterative: a hostile description of 65536 nested
 * types does not recurse. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "dyn/dyn.h"

/* Decoded descriptions take a few times their wire size; the precomputed
 * tables a few times more. */
#define LOAD_ARENA_FACTOR 32
#define LOAD_ARENA_SLACK  ((size_t)1 << 20)
#define MINWIRE_MAX       ((uint64_t)1 << 62)

__attribute__((format(printf, 1, 2))) static far_err bad(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    far__set_last_error("type description: %s", msg);
    return FAR_EPROTO;
}

/* An identifier of the RPC language (RFC 5531 §12.2), not one of its
 * keywords: the text far_dyn_to_x writes must read back. */
static bool ident_ok(const char *s)
{
    static const char *const keywords[] = {
        "bool",   "case",    "char",  "const",    "default", "double", "enum",     "float",
        "hyper",  "int",     "long",  "opaque",   "program", "short",  "string",   "struct",
        "switch", "typedef", "union", "unsigned", "version", "void",   "quadruple"};
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    for (size_t i = 0; i < FAR__ARRAY_LEN(keywords); i++)
        if (strcmp(s, keywords[i]) == 0)
            return false;
    return true;
}

static const char *kind_word(far_tkind k)
{
    static const char *const w[] = {
        "void",           "int",          "unsigned int",    "hyper",        "unsigned hyper",
        "float",          "double",       "quadruple",       "bool",         "char",
        "unsigned char",  "short",        "unsigned short",  "enum",         "struct",
        "union",          "fixed opaque", "variable opaque", "string",       "fixed array",
        "variable array", "optional",     "typedef",         "external type"};
    return (unsigned)k < FAR__ARRAY_LEN(w) ? w[k] : "unknown kind";
}

/* "type 12 (struct point)" or "type 12 (an anonymous string)" */
static const char *tlabel(const far_dyn *d, uint32_t t, char *buf, size_t n)
{
    const far_type *ty = &d->desc.types.types_val[t];
    if (ty->name[0])
        snprintf(buf, n, "type %" PRIu32 " (%s %s)", t, kind_word(ty->body.kind), ty->name);
    else
        snprintf(buf, n, "type %" PRIu32 " (an anonymous %s)", t, kind_word(ty->body.kind));
    return buf;
}

/* --------------------------------------------------------- sorting */

typedef struct sort_ctx {
    const far_dyn *d;
    uint32_t t; /* the enum or struct, or UINT32_MAX for the type table */
} sort_ctx;

static const char *item_name(const sort_ctx *c, uint32_t i)
{
    if (c->t == UINT32_MAX)
        return c->d->desc.types.types_val[i].name;
    const far_tbody *b = far__dyn_body(c->d, c->t);
    if (b->kind == FAR_T_ENUM)
        return b->far_tbody_u.values.values_val[i].name;
    return b->far_tbody_u.members.members_val[i].name;
}

static int by_name_cmp(const void *a, const void *b, void *ctx)
{
    const sort_ctx *c = ctx;
    int r = strcmp(item_name(c, *(const uint32_t *)a), item_name(c, *(const uint32_t *)b));
    if (r)
        return r;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1; /* stable: first wins */
}

static int by_value_cmp(const void *a, const void *b, void *ctx)
{
    const far_tenumval *v = ctx;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    if (v[i].value != v[j].value)
        return v[i].value < v[j].value ? -1 : 1;
    return i < j ? -1 : (i > j);
}

static int case_cmp(const void *a, const void *b)
{
    const far__dyn_case *x = a, *y = b;
    return x->value < y->value ? -1 : (x->value > y->value);
}

static uint32_t *index_array(far_dyn *d, uint32_t n)
{
    uint32_t *a = far_arena_alloc(&d->arena, (size_t)n * sizeof *a + 1);
    if (a)
        for (uint32_t i = 0; i < n; i++)
            a[i] = i;
    return a;
}

/* --------------------------------------------------------- checks */

static bool ref_ok(const far_dyn *d, far_tref r)
{
    return r < d->ntypes;
}

/* References, names and bounds of one type. */
static far_err check_type(far_dyn *d, uint32_t t)
{
    char lb[320];
    const far_type *ty = &d->desc.types.types_val[t];
    const far_tbody *b = &ty->body;
    if (ty->name[0] && !ident_ok(ty->name))
        return bad("type %" PRIu32 ": name \"%.64s\" is not an identifier", t, ty->name);
    switch (b->kind) {
    case FAR_T_VOID:
    case FAR_T_INT:
    case FAR_T_UINT:
    case FAR_T_HYPER:
    case FAR_T_UHYPER:
    case FAR_T_FLOAT:
    case FAR_T_DOUBLE:
    case FAR_T_QUAD:
    case FAR_T_BOOL:
    case FAR_T_CHAR:
    case FAR_T_UCHAR:
    case FAR_T_SHORT:
    case FAR_T_USHORT:
        return FAR_OK;
    case FAR_T_EXTERN:
        if (!ty->name[0])
            return bad("type %" PRIu32 ": an external type needs a name", t);
        return FAR_OK;
    case FAR_T_ENUM: {
        uint32_t n = b->far_tbody_u.values.values_len;
        const far_tenumval *v = b->far_tbody_u.values.values_val;
        if (n == 0)
            return bad("%s has no values", tlabel(d, t, lb, sizeof lb));
        for (uint32_t i = 0; i < n; i++)
            if (!ident_ok(v[i].name))
                return bad("%s: value %" PRIu32 " has no valid name", tlabel(d, t, lb, sizeof lb),
                           i);
        return FAR_OK;
    }
    case FAR_T_STRUCT: {
        uint32_t n = b->far_tbody_u.members.members_len;
        const far_tmember *m = b->far_tbody_u.members.members_val;
        if (n == 0)
            return bad("%s has no members", tlabel(d, t, lb, sizeof lb));
        for (uint32_t i = 0; i < n; i++) {
            if (!ident_ok(m[i].name))
                return bad("%s: member %" PRIu32 " has no valid name", tlabel(d, t, lb, sizeof lb),
                           i);
            if (!ref_ok(d, m[i].type))
                return bad("%s: member %s refers to type %" PRIu32 " of %" PRIu32,
                           tlabel(d, t, lb, sizeof lb), m[i].name, m[i].type, d->ntypes);
        }
        return FAR_OK;
    }
    case FAR_T_UNION: {
        const far_tunion *u = &b->far_tbody_u.u;
        if (!ident_ok(u->disc_name))
            return bad("%s: the discriminant has no valid name", tlabel(d, t, lb, sizeof lb));
        if (!ref_ok(d, u->disc_type))
            return bad("%s: the discriminant refers to type %" PRIu32 " of %" PRIu32,
                       tlabel(d, t, lb, sizeof lb), u->disc_type, d->ntypes);
        for (uint32_t i = 0; i <= u->arms.arms_len; i++) {
            const far_tarm *a = i < u->arms.arms_len ? &u->arms.arms_val[i] : u->dflt;
            if (!a)
                continue;
            const char *which = i < u->arms.arms_len ? "an arm" : "the default arm";
            if (!ref_ok(d, a->type))
                return bad("%s: %s refers to type %" PRIu32 " of %" PRIu32,
                           tlabel(d, t, lb, sizeof lb), which, a->type, d->ntypes);
            if (a->name[0] && !ident_ok(a->name))
                return bad("%s: arm name \"%.64s\" is not an identifier",
                           tlabel(d, t, lb, sizeof lb), a->name);
            if (i < u->arms.arms_len && a->cases.cases_len == 0)
                return bad("%s: arm %" PRIu32 " has no case", tlabel(d, t, lb, sizeof lb), i);
            if (i == u->arms.arms_len && a->cases.cases_len != 0)
                return bad("%s: the default arm has case values", tlabel(d, t, lb, sizeof lb));
        }
        return FAR_OK;
    }
    case FAR_T_OPAQUE_FIXED:
        if (b->far_tbody_u.bound == FAR_REFLECT_UNBOUNDED)
            return bad("%s: a fixed size cannot be unbounded", tlabel(d, t, lb, sizeof lb));
        return FAR_OK;
    case FAR_T_OPAQUE_VAR:
    case FAR_T_STRING:
        return FAR_OK;
    case FAR_T_ARRAY_FIXED:
    case FAR_T_ARRAY_VAR:
        if (!ref_ok(d, b->far_tbody_u.seq.elem))
            return bad("%s: the element refers to type %" PRIu32 " of %" PRIu32,
                       tlabel(d, t, lb, sizeof lb), b->far_tbody_u.seq.elem, d->ntypes);
        if (b->kind == FAR_T_ARRAY_FIXED && b->far_tbody_u.seq.bound == FAR_REFLECT_UNBOUNDED)
            return bad("%s: a fixed size cannot be unbounded", tlabel(d, t, lb, sizeof lb));
        return FAR_OK;
    case FAR_T_OPTIONAL:
    case FAR_T_ALIAS:
        if (!ref_ok(d, b->far_tbody_u.elem))
            return bad("%s refers to type %" PRIu32 " of %" PRIu32, tlabel(d, t, lb, sizeof lb),
                       b->far_tbody_u.elem, d->ntypes);
        if (b->kind == FAR_T_ALIAS && !ty->name[0])
            return bad("type %" PRIu32 ": a typedef needs a name", t);
        return FAR_OK;
    }
    return bad("type %" PRIu32 ": unknown kind %d", t, (int)b->kind);
}

/* Follows single-successor edges (alias, and with optional also optional
 * data) from every type, in linear time: state 0 unvisited, 1 on the
 * current walk, 2 done.  A walk that meets itself is a cycle; *at gets a
 * type on it.  Without optional, ti[].res gets each alias chain's end. */
static bool chains(far_dyn *d, uint8_t *state, bool optional, uint32_t *at)
{
    memset(state, 0, d->ntypes);
    for (uint32_t t = 0; t < d->ntypes; t++) {
        if (state[t])
            continue;
        uint32_t u = t;
        for (;;) {
            far_tkind k = far__dyn_body(d, u)->kind;
            bool follow = k == FAR_T_ALIAS || (optional && k == FAR_T_OPTIONAL);
            if (!follow || state[u])
                break;
            state[u] = 1;
            u = far__dyn_body(d, u)->far_tbody_u.elem;
        }
        if (state[u] == 1) {
            *at = u;
            return false;
        }
        /* u ends the walk: not followed, or already done */
        uint32_t end = state[u] == 2 ? d->ti[u].res : u;
        for (uint32_t v = t; state[v] == 1; v = far__dyn_body(d, v)->far_tbody_u.elem) {
            state[v] = 2;
            if (!optional)
                d->ti[v].res = end;
        }
        state[u] = 2;
        if (!optional && d->ti[u].res == UINT32_MAX)
            d->ti[u].res = u;
    }
    return true;
}

/* The by-value successors of a type: what its value contains whole. */
static uint32_t nsucc(const far_dyn *d, uint32_t t)
{
    const far_tbody *b = far__dyn_body(d, t);
    switch (b->kind) {
    case FAR_T_STRUCT:
        return b->far_tbody_u.members.members_len;
    case FAR_T_UNION:
        return 1 + b->far_tbody_u.u.arms.arms_len + (b->far_tbody_u.u.dflt != NULL);
    case FAR_T_ARRAY_FIXED:
    case FAR_T_ALIAS:
        return 1;
    default:
        return 0;
    }
}

static uint32_t succ(const far_dyn *d, uint32_t t, uint32_t i)
{
    const far_tbody *b = far__dyn_body(d, t);
    switch (b->kind) {
    case FAR_T_STRUCT:
        return b->far_tbody_u.members.members_val[i].type;
    case FAR_T_UNION:
        if (i == 0)
            return b->far_tbody_u.u.disc_type;
        if (i - 1 < b->far_tbody_u.u.arms.arms_len)
            return b->far_tbody_u.u.arms.arms_val[i - 1].type;
        return b->far_tbody_u.u.dflt->type;
    case FAR_T_ARRAY_FIXED:
        return b->far_tbody_u.seq.elem;
    default:
        return b->far_tbody_u.elem;
    }
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b > MINWIRE_MAX ? MINWIRE_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    return a > MINWIRE_MAX / b ? MINWIRE_MAX : a * b;
}

/* The fewest wire bytes of t, its by-value successors already known. */
static uint64_t minwire(const far_dyn *d, uint32_t t)
{
    const far_tbody *b = far__dyn_body(d, t);
    switch (b->kind) {
    case FAR_T_VOID:
        return 0;
    case FAR_T_HYPER:
    case FAR_T_UHYPER:
    case FAR_T_DOUBLE:
        return 8;
    case FAR_T_QUAD:
        return 16;
    case FAR_T_STRUCT: {
        uint64_t s = 0;
        for (uint32_t i = 0; i < b->far_tbody_u.members.members_len; i++)
            s = sat_add(s, d->ti[b->far_tbody_u.members.members_val[i].type].minwire);
        return s;
    }
    case FAR_T_UNION: {
        uint64_t m = MINWIRE_MAX;
        uint32_t n = nsucc(d, t);
        for (uint32_t i = 1; i < n; i++)
            if (d->ti[succ(d, t, i)].minwire < m)
                m = d->ti[succ(d, t, i)].minwire;
        return sat_add(4, n > 1 ? m : 0);
    }
    case FAR_T_OPAQUE_FIXED:
        return (uint64_t)b->far_tbody_u.bound + far_xdr_pad(b->far_tbody_u.bound);
    case FAR_T_ARRAY_FIXED:
        return sat_mul(b->far_tbody_u.seq.bound, d->ti[b->far_tbody_u.seq.elem].minwire);
    case FAR_T_ALIAS:
        return d->ti[b->far_tbody_u.elem].minwire;
    default: /* 4-byte primitives, lengths, counts, optional flags; extern */
        return 4;
    }
}

/* Depth-first over by-value edges with an explicit stack: a type reached
 * again while still open contains itself by value.  Post-order fills in
 * minwire. */
static far_err by_value(far_dyn *d)
{
    char lb[320];
    far_err rc = FAR_OK;
    uint8_t *state = calloc(d->ntypes, 1);
    uint32_t *stack = malloc(((size_t)d->ntypes + 1) * sizeof *stack);
    uint32_t *next = malloc(((size_t)d->ntypes + 1) * sizeof *next);
    if (!state || !stack || !next) {
        rc = FAR_ENOMEM;
        goto out;
    }
    for (uint32_t root = 0; root < d->ntypes; root++) {
        if (state[root])
            continue;
        size_t sp = 0;
        stack[sp] = root;
        next[sp++] = 0;
        state[root] = 1;
        while (sp) {
            uint32_t t = stack[sp - 1];
            if (next[sp - 1] < nsucc(d, t)) {
                uint32_t s = succ(d, t, next[sp - 1]++);
                if (state[s] == 1) {
                    rc = bad("%s contains itself by value (it has no finite value: only "
                             "optional data or a variable-length array may refer back)",
                             tlabel(d, s, lb, sizeof lb));
                    goto out;
                }
                if (state[s] == 0) {
                    state[s] = 1;
                    stack[sp] = s;
                    next[sp++] = 0;
                }
                continue;
            }
            d->ti[t].minwire = minwire(d, t);
            state[t] = 2;
            sp--;
        }
    }
out:
    free(state);
    free(stack);
    free(next);
    return rc;
}

/* What depends on resolved aliases: union discriminants and cases, element
 * sizes, void where it may (not) be; and the lookup tables. */
static far_err check_resolved(far_dyn *d, uint32_t t)
{
    char lb[320];
    far__dyn_type *ti = &d->ti[t];
    const far_tbody *b = far__dyn_body(d, t);
    sort_ctx sc = {d, t};
    switch (b->kind) {
    case FAR_T_ENUM: {
        uint32_t n = b->far_tbody_u.values.values_len;
        const far_tenumval *v = b->far_tbody_u.values.values_val;
        if (!(ti->by_name = index_array(d, n)) || !(ti->by_value = index_array(d, n)))
            return FAR_ENOMEM;
        qsort_r(ti->by_name, n, sizeof *ti->by_name, by_name_cmp, &sc);
        qsort_r(ti->by_value, n, sizeof *ti->by_value, by_value_cmp, (void *)v);
        for (uint32_t i = 1; i < n; i++)
            if (strcmp(v[ti->by_name[i - 1]].name, v[ti->by_name[i]].name) == 0)
                return bad("%s: two values named %s", tlabel(d, t, lb, sizeof lb),
                           v[ti->by_name[i]].name);
        return FAR_OK;
    }
    case FAR_T_STRUCT: {
        uint32_t n = b->far_tbody_u.members.members_len;
        const far_tmember *m = b->far_tbody_u.members.members_val;
        if (!(ti->by_name = index_array(d, n)))
            return FAR_ENOMEM;
        qsort_r(ti->by_name, n, sizeof *ti->by_name, by_name_cmp, &sc);
        for (uint32_t i = 1; i < n; i++)
            if (strcmp(m[ti->by_name[i - 1]].name, m[ti->by_name[i]].name) == 0)
                return bad("%s: two members named %s", tlabel(d, t, lb, sizeof lb),
                           m[ti->by_name[i]].name);
        for (uint32_t i = 0; i < n; i++)
            if (far__dyn_body(d, far__dyn_res(d, m[i].type))->kind == FAR_T_VOID)
                return bad("%s: member %s is void", tlabel(d, t, lb, sizeof lb), m[i].name);
        return FAR_OK;
    }
    case FAR_T_UNION: {
        const far_tunion *u = &b->far_tbody_u.u;
        const far_tbody *db = far__dyn_body(d, far__dyn_res(d, u->disc_type));
        if (db->kind != FAR_T_INT && db->kind != FAR_T_UINT && db->kind != FAR_T_BOOL &&
            db->kind != FAR_T_ENUM)
            return bad("%s: the discriminant is %s (int, unsigned int, bool or an enum)",
                       tlabel(d, t, lb, sizeof lb), kind_word(db->kind));
        uint64_t total = 0;
        for (uint32_t i = 0; i <= u->arms.arms_len; i++) {
            const far_tarm *a = i < u->arms.arms_len ? &u->arms.arms_val[i] : u->dflt;
            if (!a)
                continue;
            total += a->cases.cases_len;
            bool isvoid = far__dyn_body(d, far__dyn_res(d, a->type))->kind == FAR_T_VOID;
            if (isvoid != (a->name[0] == '\0'))
                return bad("%s: %s arm %s a name", tlabel(d, t, lb, sizeof lb),
                           isvoid ? "a void" : "a non-void", isvoid ? "has" : "lacks");
            if (db->kind == FAR_T_BOOL)
                for (uint32_t j = 0; j < a->cases.cases_len; j++)
                    if (a->cases.cases_val[j] != 0 && a->cases.cases_val[j] != 1)
                        return bad("%s: case %" PRId32 " of a bool discriminant",
                                   tlabel(d, t, lb, sizeof lb), a->cases.cases_val[j]);
        }
        if (total > UINT32_MAX / 2)
            return bad("%s: too many cases", tlabel(d, t, lb, sizeof lb));
        ti->ncases = (uint32_t)total;
        ti->cases = far_arena_alloc(&d->arena, (size_t)total * sizeof *ti->cases + 1);
        if (!ti->cases)
            return FAR_ENOMEM;
        size_t k = 0;
        for (uint32_t i = 0; i < u->arms.arms_len; i++)
            for (uint32_t j = 0; j < u->arms.arms_val[i].cases.cases_len; j++)
                ti->cases[k++] = (far__dyn_case){u->arms.arms_val[i].cases.cases_val[j], i};
        qsort(ti->cases, total, sizeof *ti->cases, case_cmp);
        for (uint32_t i = 1; i < total; i++)
            if (ti->cases[i - 1].value == ti->cases[i].value)
                return bad("%s: case %" PRId32 " appears twice", tlabel(d, t, lb, sizeof lb),
                           ti->cases[i].value);
        return FAR_OK;
    }
    case FAR_T_ARRAY_FIXED:
    case FAR_T_ARRAY_VAR:
        if (d->ti[b->far_tbody_u.seq.elem].minwire == 0)
            return bad("%s: its elements take no bytes (void, or empty)",
                       tlabel(d, t, lb, sizeof lb));
        return FAR_OK;
    case FAR_T_OPTIONAL:
        if (d->ti[b->far_tbody_u.elem].minwire == 0 &&
            far__dyn_body(d, far__dyn_res(d, b->far_tbody_u.elem))->kind == FAR_T_VOID)
            return bad("%s: optional void", tlabel(d, t, lb, sizeof lb));
        return FAR_OK;
    default:
        return FAR_OK;
    }
}

static far_err check_procs(far_dyn *d)
{
    const far_desc *ds = &d->desc;
    for (uint32_t i = 0; i < ds->procs.procs_len; i++) {
        const far_tproc *p = &ds->procs.procs_val[i];
        if (!ident_ok(p->name))
            return bad("procedure %" PRIu32 " has no valid name", p->proc);
        for (uint32_t j = 0; j < p->args.args_len; j++) {
            if (!ref_ok(d, p->args.args_val[j]))
                return bad("procedure %s: argument %" PRIu32 " refers to type %" PRIu32
                           " of %" PRIu32,
                           p->name, j + 1, p->args.args_val[j], d->ntypes);
            if (far__dyn_body(d, far__dyn_res(d, p->args.args_val[j]))->kind == FAR_T_VOID)
                return bad("procedure %s: argument %" PRIu32 " is void (no arguments is "
                           "an empty list)",
                           p->name, j + 1);
        }
        if (!ref_ok(d, p->res))
            return bad("procedure %s: the result refers to type %" PRIu32 " of %" PRIu32, p->name,
                       p->res, d->ntypes);
    }
    return FAR_OK;
}

static int proc_cmp(const void *a, const void *b)
{
    const far_tproc *x = *(const far_tproc *const *)a, *y = *(const far_tproc *const *)b;
    return x->proc < y->proc ? -1 : (x->proc > y->proc);
}

static int proc_name_cmp(const void *a, const void *b)
{
    const far_tproc *x = *(const far_tproc *const *)a, *y = *(const far_tproc *const *)b;
    return strcasecmp(x->name, y->name);
}

/* Numbers and names (case-insensitive: far_dyn_find_proc's) unique, by
 * sorting: a pass comparing every pair would be quadratic in 65536. */
static far_err procs_unique(far_dyn *d)
{
    uint32_t n = d->desc.procs.procs_len;
    far_err rc = FAR_OK;
    const far_tproc **v = malloc(((size_t)n + 1) * sizeof *v);
    if (!v)
        return FAR_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        v[i] = &d->desc.procs.procs_val[i];
    qsort(v, n, sizeof *v, proc_cmp);
    for (uint32_t i = 1; i < n && !rc; i++)
        if (v[i - 1]->proc == v[i]->proc)
            rc = bad("procedures %s and %s have the same number %" PRIu32, v[i - 1]->name,
                     v[i]->name, v[i]->proc);
    qsort(v, n, sizeof *v, proc_name_cmp);
    for (uint32_t i = 1; i < n && !rc; i++)
        if (strcasecmp(v[i - 1]->name, v[i]->name) == 0)
            rc = bad("two procedures named %s", v[i]->name);
    free(v);
    return rc;
}

static far_err check_names(far_dyn *d)
{
    const far_desc *ds = &d->desc;
    if (!ident_ok(ds->prog_name))
        return bad("the program has no valid name");
    if (!ident_ok(ds->vers_name))
        return bad("the version has no valid name");
    for (uint32_t i = 0; i < ds->consts.consts_len; i++)
        if (!ident_ok(ds->consts.consts_val[i].name))
            return bad("constant %" PRIu32 " has no valid name", i);
    uint32_t n = 0;
    for (uint32_t t = 0; t < d->ntypes; t++)
        n += ds->types.types_val[t].name[0] != '\0';
    d->nnamed = n;
    if (!(d->named = far_arena_alloc(&d->arena, (size_t)n * sizeof *d->named + 1)))
        return FAR_ENOMEM;
    n = 0;
    for (uint32_t t = 0; t < d->ntypes; t++)
        if (ds->types.types_val[t].name[0])
            d->named[n++] = t;
    sort_ctx sc = {d, UINT32_MAX};
    qsort_r(d->named, n, sizeof *d->named, by_name_cmp, &sc);
    for (uint32_t i = 1; i < n; i++)
        if (strcmp(ds->types.types_val[d->named[i - 1]].name,
                   ds->types.types_val[d->named[i]].name) == 0)
            return bad("two types named %s", ds->types.types_val[d->named[i]].name);
    return FAR_OK;
}

static far_err check(far_dyn *d)
{
    char lb[320];
    far_err rc;
    for (uint32_t t = 0; t < d->ntypes; t++) {
        d->ti[t].res = UINT32_MAX;
        if ((rc = check_type(d, t)))
            return rc;
    }
    if ((rc = check_names(d)))
        return rc;
    uint8_t *state = malloc((size_t)d->ntypes + 1);
    if (!state)
        return FAR_ENOMEM;
    uint32_t at = 0;
    if (!chains(d, state, false, &at)) {
        free(state);
        return bad("%s is a typedef of itself", tlabel(d, at, lb, sizeof lb));
    }
    if (!chains(d, state, true, &at)) {
        free(state);
        return bad("%s refers to itself through optional data alone (it has no JSON "
                   "value)",
                   tlabel(d, at, lb, sizeof lb));
    }
    free(state);
    if ((rc = check_procs(d)) || (rc = procs_unique(d)) || (rc = by_value(d)))
        return rc;
    for (uint32_t t = 0; t < d->ntypes; t++)
        if ((rc = check_resolved(d, t)))
            return rc;
    return FAR_OK;
}

FAR__API far_err far_dyn_load(far_dyn **out, const uint8_t *desc, size_t len)
{
    if (!out || (!desc && len)) {
        far__set_last_error("far_dyn_load: NULL argument");
        return FAR_EMISUSE;
    }
    *out = NULL;
    far_dyn *d = calloc(1, sizeof *d);
    if (!d)
        return FAR_ENOMEM;
    size_t max = len > (SIZE_MAX - LOAD_ARENA_SLACK) / LOAD_ARENA_FACTOR
                     ? SIZE_MAX
                     : len * LOAD_ARENA_FACTOR + LOAD_ARENA_SLACK;
    far_arena_init(&d->arena, NULL, 0, max);
    far_xdr_dec dec;
    far_xdr_dec_init(&dec, desc, len, &d->arena, 0);
    far_err rc;
    if (!far_desc_decode(&dec, &d->desc) || !far_xdr_dec_done(&dec)) {
        char why[300];
        rc = dec.err.code == FAR_ENOMEM ? FAR_ENOMEM : FAR_EPROTO;
        far__set_last_error("type description: %s", far_xdr_dec_strerror(&dec, why, sizeof why));
        goto fail;
    }
    d->ntypes = d->desc.types.types_len;
    d->ti = far_arena_alloc(&d->arena, (size_t)d->ntypes * sizeof *d->ti + 1);
    if (!d->ti) {
        rc = FAR_ENOMEM;
        goto fail;
    }
    memset(d->ti, 0, (size_t)d->ntypes * sizeof *d->ti);
    if ((rc = check(d)))
        goto fail;
    *out = d;
    return FAR_OK;
fail:
    if (rc == FAR_ENOMEM)
        far__set_last_error("type description: out of memory (%zu bytes)", len);
    far_dyn_free(d);
    return rc;
}

FAR__API void far_dyn_free(far_dyn *d)
{
    if (!d)
        return;
    far_arena_fini(&d->arena);
    free(d);
}

/* --------------------------------------------------------- accessors */

FAR__API uint32_t far_dyn_prog(const far_dyn *d)
{
    return d ? d->desc.prog : 0;
}

FAR__API uint32_t far_dyn_vers(const far_dyn *d)
{
    return d ? d->desc.vers : 0;
}

FAR__API const char *far_dyn_prog_name(const far_dyn *d)
{
    return d ? d->desc.prog_name : "";
}

FAR__API const char *far_dyn_vers_name(const far_dyn *d)
{
    return d ? d->desc.vers_name : "";
}

FAR__API size_t far_dyn_nprocs(const far_dyn *d)
{
    return d ? d->desc.procs.procs_len : 0;
}

static far_dyn_proc proc_info(const far_dyn *d, const far_tproc *p)
{
    far_dyn_proc r = {p->proc, p->name, p->args.args_len,
                      far__dyn_body(d, far__dyn_res(d, p->res))->kind == FAR_T_VOID};
    return r;
}

FAR__API far_dyn_proc far_dyn_proc_at(const far_dyn *d, size_t i)
{
    if (!d || i >= d->desc.procs.procs_len) {
        far_dyn_proc none = {0, "", 0, true};
        return none;
    }
    return proc_info(d, &d->desc.procs.procs_val[i]);
}

const far_tproc *far__dyn_proc(const far_dyn *d, uint32_t proc)
{
    for (uint32_t i = 0; i < d->desc.procs.procs_len; i++)
        if (d->desc.procs.procs_val[i].proc == proc)
            return &d->desc.procs.procs_val[i];
    return NULL;
}

FAR__API far_err far_dyn_find_proc(const far_dyn *d, const char *name_or_number, far_dyn_proc *out)
{
    if (!d || !name_or_number || !out) {
        far__set_last_error("far_dyn_find_proc: NULL argument");
        return FAR_EMISUSE;
    }
    const far_tproc *p = NULL;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(name_or_number, &end, 0);
    if (isdigit((unsigned char)name_or_number[0]) && *end == '\0' && errno == 0 && n <= UINT32_MAX)
        p = far__dyn_proc(d, (uint32_t)n);
    for (uint32_t i = 0; !p && i < d->desc.procs.procs_len; i++)
        if (strcasecmp(d->desc.procs.procs_val[i].name, name_or_number) == 0)
            p = &d->desc.procs.procs_val[i];
    if (p) {
        *out = proc_info(d, p);
        return FAR_OK;
    }
    char list[400];
    size_t at = 0;
    list[0] = '\0';
    for (uint32_t i = 0; i < d->desc.procs.procs_len && at < sizeof list; i++) {
        int k = snprintf(list + at, sizeof list - at, "%s%s (%" PRIu32 ")", i ? ", " : "",
                         d->desc.procs.procs_val[i].name, d->desc.procs.procs_val[i].proc);
        if (k < 0 || (size_t)k >= sizeof list - at) {
            snprintf(list + (at < sizeof list - 6 ? at : sizeof list - 6), 6, ", ...");
            break;
        }
        at += (size_t)k;
    }
    far__set_last_error("%s version %s has no procedure \"%.64s\"; it has: %s", d->desc.prog_name,
                        d->desc.vers_name, name_or_number, at ? list : "none");
    return FAR_EPROC_UNAVAIL;
}

/* --------------------------------------------------------- lookups */

uint64_t far__dyn_max_text(const far_dyn *d, const far_tref *types, uint32_t n)
{
    uint64_t max = 2 * FAR_REFLECT_MAXNAME; /* names, numbers as text */
    uint8_t *seen = calloc((size_t)d->ntypes + 1, 1);
    uint32_t *stack = malloc(((size_t)d->ntypes + 1) * sizeof *stack);
    size_t sp = 0;
    if (!seen || !stack) {
        max = UINT64_MAX;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        if (!seen[types[i]]) {
            seen[types[i]] = 1;
            stack[sp++] = types[i];
        }
    while (sp && max != UINT64_MAX) {
        uint32_t t = stack[--sp];
        const far_tbody *b = far__dyn_body(d, t);
        uint64_t m = 0;
        uint32_t next[2] = {0, 0}, nn = 0;
        switch (b->kind) {
        case FAR_T_STRING:
            m = b->far_tbody_u.bound;
            break;
        case FAR_T_OPAQUE_FIXED:
        case FAR_T_OPAQUE_VAR:
            m = ((uint64_t)b->far_tbody_u.bound + 2) / 3 * 4;
            break;
        case FAR_T_ARRAY_FIXED:
        case FAR_T_ARRAY_VAR:
            next[nn++] = b->far_tbody_u.seq.elem;
            break;
        case FAR_T_OPTIONAL:
        case FAR_T_ALIAS:
            next[nn++] = b->far_tbody_u.elem;
            break;
        default:
            break;
        }
        if ((b->kind == FAR_T_STRING || b->kind == FAR_T_OPAQUE_VAR) &&
            b->far_tbody_u.bound == FAR_REFLECT_UNBOUNDED)
            m = UINT64_MAX;
        if (m > max)
            max = m;
        for (uint32_t i = 0; i < nn; i++)
            if (!seen[next[i]]) {
                seen[next[i]] = 1;
                stack[sp++] = next[i];
            }
        if (b->kind == FAR_T_STRUCT || b->kind == FAR_T_UNION)
            for (uint32_t i = 0; i < nsucc(d, t); i++) {
                uint32_t s = succ(d, t, i);
                if (!seen[s]) {
                    seen[s] = 1;
                    stack[sp++] = s;
                }
            }
    }
out:
    free(seen);
    free(stack);
    return max;
}

uint32_t far__dyn_find_type(const far_dyn *d, const char *name)
{
    uint32_t lo = 0, hi = d->nnamed;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->desc.types.types_val[d->named[mid]].name, name);
        if (c == 0)
            return d->named[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return UINT32_MAX;
}

const char *far__dyn_enum_name(const far_dyn *d, uint32_t t, int32_t v)
{
    const far_tbody *b = far__dyn_body(d, t);
    const far_tenumval *vals = b->far_tbody_u.values.values_val;
    const uint32_t *bv = d->ti[t].by_value;
    uint32_t lo = 0, hi = b->far_tbody_u.values.values_len;
    while (lo < hi) { /* the first of equal values: the lowest index */
        uint32_t mid = lo + (hi - lo) / 2;
        if (vals[bv[mid]].value < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < b->far_tbody_u.values.values_len && vals[bv[lo]].value == v)
        return vals[bv[lo]].name;
    return NULL;
}

uint32_t far__dyn_union_arm(const far_dyn *d, uint32_t t, int32_t v)
{
    const far__dyn_type *ti = &d->ti[t];
    uint32_t lo = 0, hi = ti->ncases;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ti->cases[mid].value == v)
            return ti->cases[mid].arm;
        if (ti->cases[mid].value < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return far__dyn_body(d, t)->far_tbody_u.u.dflt ? FAR__DYN_ARM_DEFAULT : FAR__DYN_ARM_NONE;
}
