/* JSON to XDR and back, driven by a loaded description (the mapping of
 * farcall/dyn.h, docs/dynamic.md).
 *
 * Encoding parses the text with jansson (duplicate keys refused, nesting
 * bounded by its own parser and by FAR_DYN_MAX_DEPTH here) and walks the
 * value with its type, writing XDR with the far_xdr_put functions.
 * Decoding reads XDR with the far_xdr_get functions and writes JSON text
 * straight into a buffer, no tree in between.  Both walk optional data and
 * aliases in loops and recurse only into JSON containers (struct, union,
 * array), so recursion is bounded by FAR_DYN_MAX_DEPTH.  Errors name the
 * field: a path of the frames on the C stack, rendered only on failure. */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "dyn/dyn.h"

/* ------------------------------------------------------------ buffer */

bool far__dyn_buf_room(far__dyn_buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->cap - b->len > n)
        return true;
    size_t want = b->len + n + 1, cap = b->cap ? b->cap : 256;
    if (want < n) {
        b->oom = true;
        return false;
    }
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

bool far__dyn_buf_add(far__dyn_buf *b, const char *s, size_t n)
{
    if (!far__dyn_buf_room(b, n))
        return false;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

bool far__dyn_buf_str(far__dyn_buf *b, const char *s)
{
    return far__dyn_buf_add(b, s, strlen(s));
}

bool far__dyn_buf_printf(far__dyn_buf *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    if ((size_t)n < sizeof small)
        return far__dyn_buf_add(b, small, (size_t)n);
    if (!far__dyn_buf_room(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

char *far__dyn_buf_take(far__dyn_buf *b)
{
    if (b->oom || !far__dyn_buf_room(b, 0)) {
        free(b->p);
        *b = (far__dyn_buf){0};
        return NULL;
    }
    char *p = b->p;
    *b = (far__dyn_buf){0};
    return p;
}

/* ------------------------------------------------------------ paths */

/* One step of the path to the value at hand: a member (name) or an
 * element (index), linked to the step above; the root has up NULL. */
typedef struct jpath {
    const struct jpath *up;
    const char *name; /* NULL: index */
    size_t index;
} jpath;

/* "args.tags[1].key"; a path too long for the buffer keeps its root and
 * its last steps ("args...[3].next"). */
static void path_text(const jpath *p, char *out, size_t n)
{
    char buf[320];
    size_t pos = sizeof buf - 1;
    buf[pos] = '\0';
    const jpath *q = p;
    bool cut = false;
    for (; q; q = q->up) {
        char seg[280];
        int k = !q->name ? snprintf(seg, sizeof seg, "[%zu]", q->index)
                : q->up  ? snprintf(seg, sizeof seg, ".%s", q->name)
                         : snprintf(seg, sizeof seg, "%s", q->name);
        size_t len = k < 0 ? 0 : (size_t)k >= sizeof seg ? sizeof seg - 1 : (size_t)k;
        if (len + 70 > pos && q->up) {
            cut = true;
            break;
        }
        pos -= len;
        memcpy(buf + pos, seg, len);
    }
    if (cut) {
        const jpath *root = q;
        while (root->up)
            root = root->up;
        snprintf(out, n, "%.64s...%s", root->name ? root->name : "", buf + pos);
    } else {
        snprintf(out, n, "%s", buf + pos);
    }
}

__attribute__((format(printf, 3, 0))) static void set_error(const jpath *p, far_err code,
                                                            const char *fmt, va_list ap)
{
    (void)code;
    char path[400], msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    path_text(p, path, sizeof path);
    far__set_last_error("%s: %s", path, msg);
}

static const char *jtype(const json_t *j)
{
    switch (j ? json_typeof(j) : JSON_NULL) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    default:
        return j ? "null" : "nothing";
    }
}

static bool reads_back(const char *text, double v, bool single)
{
    double back = strtod(text, NULL);
    return single ? (float)back == (float)v : back == v;
}

/* The shortest %g text that reads back as v (float: as the float): the
 * fewest digits, and of those forms the shortest ("10", not "1e+01"). */
static void write_real(char *buf, size_t n, double v, bool single)
{
    if (v == 0 && signbit(v)) { /* "-0" would read back as the integer 0 */
        snprintf(buf, n, "-0.0");
        return;
    }
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (reads_back(buf, v, single))
            break;
    }
    if (!strchr(buf, 'e'))
        return;
    /* an exponent: more digits may be shorter written out (1e+01 is 10) */
    for (int more = prec + 1; more <= 17; more++) {
        char alt[40];
        snprintf(alt, sizeof alt, "%.*g", more, v);
        if (strlen(alt) < strlen(buf) && !strchr(alt, 'e') && reads_back(alt, v, single)) {
            snprintf(buf, n, "%s", alt);
            return;
        }
    }
}

/* What a value is, for "got ...": a number itself, a string's length. */
static const char *jgot(const json_t *j, char *buf, size_t n)
{
    if (json_is_integer(j))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    else if (json_is_real(j)) {
        write_real(buf, n, json_real_value(j), false);
        if (!strpbrk(buf, ".e") && strlen(buf) + 3 < n)
            strcat(buf, ".0"); /* 5.0 is not the integer 5 */
    } else if (json_is_string(j) && json_string_length(j) <= 40)
        snprintf(buf, n, "\"%s\"", json_string_value(j));
    else if (json_is_string(j))
        snprintf(buf, n, "a string of %zu bytes", json_string_length(j));
    else
        snprintf(buf, n, "%s", jtype(j));
    return buf;
}

static const char *type_name(const far_dyn *d, uint32_t t)
{
    return d->desc.types.types_val[t].name;
}

/* ------------------------------------------------------------ base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* The decoded length of base64 text (padded or not), or -1 if its length
 * cannot be base64; *chars gets the count of data characters. */
static int64_t b64_len(const char *s, size_t n, size_t *chars)
{
    size_t r = n;
    if (r && s[r - 1] == '=') {
        if (n % 4)
            return -1;
        r--;
        if (r && s[r - 1] == '=')
            r--;
    }
    if (r % 4 == 1)
        return -1;
    *chars = r;
    return (int64_t)(r / 4 * 3 + (r % 4 ? r % 4 - 1 : 0));
}

/* Decodes `chars` data characters into out; -1 or the offset of a bad one. */
static int64_t b64_decode(const char *s, size_t chars, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < chars; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0)
            return (int64_t)i;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *out++ = (uint8_t)(acc >> bits);
        }
    }
    return -1;
}

static bool b64_encode(far__dyn_buf *b, const uint8_t *p, size_t n)
{
    size_t out = (n + 2) / 3 * 4;
    if (out / 4 < n / 3 || !far__dyn_buf_room(b, out + 2))
        return false;
    char *w = b->p + b->len;
    *w++ = '"';
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *w++ = b64[v >> 18];
        *w++ = b64[(v >> 12) & 63];
        *w++ = b64[(v >> 6) & 63];
        *w++ = b64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *w++ = b64[v >> 18];
        *w++ = b64[(v >> 12) & 63];
        *w++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *w++ = '=';
    }
    *w++ = '"';
    b->len = (size_t)(w - b->p);
    b->p[b->len] = '\0';
    return true;
}

/* ============================================================ encoding */

typedef struct ectx {
    const far_dyn *d;
    far_xdr_enc *e;
    unsigned depth;
    far_err rc;
} ectx;

__attribute__((format(printf, 4, 5))) static bool efail(ectx *c, far_err code, const jpath *p,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, code, fmt, ap);
    va_end(ap);
    c->rc = code;
    return false;
}

/* The encoder refused (full, at its maximum): its code and words. */
static bool exfail(ectx *c, const jpath *p)
{
    far_err code = c->e->err.code ? c->e->err.code : FAR_ENOSPACE;
    return efail(c, code, p, "%s", c->e->err.msg[0] ? c->e->err.msg : far_strerror(code));
}

static bool enc_value(ectx *c, uint32_t t, json_t *j, const jpath *p);

static bool enc_integer(ectx *c, json_t *j, const jpath *p, int64_t lo, int64_t hi,
                        const char *what, int64_t *v)
{
    char got[80];
    if (!json_is_integer(j))
        return efail(c, FAR_EJSON, p,
                     "expected %s (an integer from %" PRId64 " to %" PRId64 "), got %s", what, lo,
                     hi, jgot(j, got, sizeof got));
    *v = json_integer_value(j);
    if (*v < lo || *v > hi)
        return efail(c, FAR_EJSON, p,
                     "expected %s (an integer from %" PRId64 " to %" PRId64 "), got %s", what, lo,
                     hi, jgot(j, got, sizeof got));
    return true;
}

#define TWO53 ((int64_t)1 << 53)

/* hyper / unsigned hyper: a decimal string, or an integer within 2^53. */
static bool enc_hyper(ectx *c, json_t *j, const jpath *p, bool sign, uint64_t *out)
{
    char got[80];
    const char *what = sign ? "a hyper" : "an unsigned hyper";
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        if (v > TWO53 || v < (sign ? -TWO53 : 0))
            return efail(c, FAR_EJSON, p,
                         "expected %s: as a JSON number it must be within %s2^53, got %s "
                         "(write it as a decimal string)",
                         what, sign ? "+-" : "0..", jgot(j, got, sizeof got));
        *out = (uint64_t)v;
        return true;
    }
    if (!json_is_string(j))
        return efail(c, FAR_EJSON, p, "expected %s (a decimal string), got %s", what,
                     jgot(j, got, sizeof got));
    const char *s = json_string_value(j);
    size_t n = json_string_length(j), i = 0;
    bool neg = sign && n && s[0] == '-';
    i = neg;
    uint64_t m = 0;
    bool ok = i < n && n - i <= 20;
    for (; ok && i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || m > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) {
            ok = false;
            break;
        }
        m = m * 10 + (uint64_t)(s[i] - '0');
    }
    if (ok && sign && m > (neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1))
        ok = false;
    if (!ok)
        return efail(c, FAR_EJSON, p, "expected %s (a decimal string from %s to %s), got %s", what,
                     sign ? "-9223372036854775808" : "0",
                     sign ? "9223372036854775807" : "18446744073709551615",
                     jgot(j, got, sizeof got));
    *out = neg ? (uint64_t)0 - m : m;
    return true;
}

static bool enc_real(ectx *c, json_t *j, const jpath *p, const char *what, double *v)
{
    char got[80];
    if (json_is_integer(j)) {
        *v = (double)json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        *v = json_real_value(j);
        return true;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        if (strcmp(s, "NaN") == 0) {
            *v = NAN;
            return true;
        }
        if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
            *v = s[0] == '-' ? -INFINITY : INFINITY;
            return true;
        }
    }
    return efail(c, FAR_EJSON, p,
                 "expected %s (a number, \"NaN\", \"Infinity\" or \"-Infinity\"), got %s", what,
                 jgot(j, got, sizeof got));
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool enc_quad(ectx *c, json_t *j, const jpath *p)
{
    far_quad q;
    if (json_is_string(j) && json_string_length(j) == 32) {
        const char *s = json_string_value(j);
        for (int i = 0; i < 16; i++) {
            int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return efail(c, FAR_EJSON, p,
                             "expected a quadruple (32 hex digits of its 16 bytes, or a "
                             "number), got a string with \"%c%c\" at %d",
                             s[2 * i], s[2 * i + 1], 2 * i);
            q.bytes[i] = (uint8_t)(hi << 4 | lo);
        }
    } else {
        double v;
        if (!enc_real(c, j, p, "a quadruple (32 hex digits of its 16 bytes, or a number)", &v))
            return false;
        q = far_quad_from_double(v);
    }
    return far_xdr_put_quad(c->e, &q) || exfail(c, p);
}

/* The index of the member or value called name in the by_name table, or
 * UINT32_MAX. */
static uint32_t lookup(const far_dyn *d, uint32_t t, const char *name)
{
    const far_tbody *b = far__dyn_body(d, t);
    const uint32_t *bn = d->ti[t].by_name;
    uint32_t lo = 0, hi;
    bool isenum = b->kind == FAR_T_ENUM;
    hi = isenum ? b->far_tbody_u.values.values_len : b->far_tbody_u.members.members_len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const char *s = isenum ? b->far_tbody_u.values.values_val[bn[mid]].name
                               : b->far_tbody_u.members.members_val[bn[mid]].name;
        int r = strcmp(s, name);
        if (r == 0)
            return bn[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return UINT32_MAX;
}

/* Some of an enum's names, for an error message. */
static const char *enum_names(const far_dyn *d, uint32_t t, char *buf, size_t n)
{
    const far_tbody *b = far__dyn_body(d, t);
    size_t at = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < b->far_tbody_u.values.values_len; i++) {
        const char *s = b->far_tbody_u.values.values_val[i].name;
        if (at + strlen(s) + 8 >= n) {
            snprintf(buf + at, n - at, ", ...");
            break;
        }
        at += (size_t)snprintf(buf + at, n - at, "%s%s", i ? ", " : "", s);
    }
    return buf;
}

/* An enum value by name or number. */
static bool enc_enum_value(ectx *c, uint32_t t, json_t *j, const jpath *p, int32_t *v)
{
    char got[80], names[200];
    if (json_is_string(j)) {
        uint32_t i = lookup(c->d, t, json_string_value(j));
        if (i != UINT32_MAX) {
            *v = far__dyn_body(c->d, t)->far_tbody_u.values.values_val[i].value;
            return true;
        }
    } else if (json_is_integer(j)) {
        json_int_t x = json_integer_value(j);
        if (x >= INT32_MIN && x <= INT32_MAX) {
            *v = (int32_t)x;
            return true;
        }
    }
    return efail(c, FAR_EJSON, p, "expected enum %s (%s, or a number), got %s",
                 type_name(c->d, t)[0] ? type_name(c->d, t) : "value",
                 enum_names(c->d, t, names, sizeof names), jgot(j, got, sizeof got));
}

/* A union discriminant or any 32-bit scalar of the kinds a discriminant may
 * have: encodes it and gives its value as 32 bits. */
static bool enc_disc(ectx *c, uint32_t t, json_t *j, const jpath *p, int32_t *v)
{
    int64_t x;
    char got[80];
    switch (far__dyn_body(c->d, t)->kind) {
    case FAR_T_INT:
        if (!enc_integer(c, j, p, INT32_MIN, INT32_MAX, "an int", &x))
            return false;
        *v = (int32_t)x;
        break;
    case FAR_T_UINT:
        if (!enc_integer(c, j, p, 0, UINT32_MAX, "an unsigned int", &x))
            return false;
        *v = (int32_t)(uint32_t)x;
        break;
    case FAR_T_BOOL:
        if (!json_is_boolean(j))
            return efail(c, FAR_EJSON, p, "expected a bool (true or false), got %s",
                         jgot(j, got, sizeof got));
        *v = json_is_true(j);
        break;
    default:
        if (!enc_enum_value(c, t, j, p, v))
            return false;
        break;
    }
    return far_xdr_put_u32(c->e, (uint32_t)*v) || exfail(c, p);
}

static bool enter(ectx *c, const jpath *p)
{
    if (c->depth >= FAR_DYN_MAX_DEPTH)
        return efail(c, FAR_ELIMIT, p, "nesting deeper than FAR_DYN_MAX_DEPTH (%d)",
                     FAR_DYN_MAX_DEPTH);
    c->depth++;
    return true;
}

static bool enc_struct(ectx *c, uint32_t t, json_t *j, const jpath *p)
{
    char got[80];
    const far_tbody *b = far__dyn_body(c->d, t);
    const char *tn = type_name(c->d, t);
    if (!json_is_object(j))
        return efail(c, FAR_EJSON, p, "expected an object (struct%s%s), got %s", tn[0] ? " " : "",
                     tn, jgot(j, got, sizeof got));
    uint32_t n = b->far_tbody_u.members.members_len;
    if (json_object_size(j) > n) {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v)
        {
            if (lookup(c->d, t, key) == UINT32_MAX)
                return efail(c, FAR_EJSON, p, "unknown member \"%.64s\" (struct%s%s)", key,
                             tn[0] ? " " : "", tn);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        const far_tmember *m = &b->far_tbody_u.members.members_val[i];
        jpath mp = {p, m->name, 0};
        json_t *v = json_object_get(j, m->name);
        if (!v)
            return efail(c, FAR_EJSON, &mp, "missing (every member of a struct is required)");
        if (!enc_value(c, m->type, v, &mp))
            return false;
    }
    if (json_object_size(j) != n) { /* fewer members than keys: an unknown one */
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v)
        {
            if (lookup(c->d, t, key) == UINT32_MAX)
                return efail(c, FAR_EJSON, p, "unknown member \"%.64s\"", key);
        }
    }
    return true;
}

static bool enc_union(ectx *c, uint32_t t, json_t *j, const jpath *p)
{
    char got[80];
    const far_tunion *u = &far__dyn_body(c->d, t)->far_tbody_u.u;
    const char *tn = type_name(c->d, t);
    if (!json_is_object(j))
        return efail(c, FAR_EJSON, p, "expected an object (union%s%s: {\"%s\": ..., arm}), got %s",
                     tn[0] ? " " : "", tn, u->disc_name, jgot(j, got, sizeof got));
    jpath dp = {p, u->disc_name, 0};
    json_t *dv = json_object_get(j, u->disc_name);
    if (!dv)
        return efail(c, FAR_EJSON, &dp, "missing (the union's discriminant)");
    int32_t v;
    if (!enc_disc(c, far__dyn_res(c->d, u->disc_type), dv, &dp, &v))
        return false;
    uint32_t a = far__dyn_union_arm(c->d, t, v);
    if (a == FAR__DYN_ARM_NONE)
        return efail(c, FAR_EJSON, &dp, "no arm of the union for %" PRId32, v);
    const far_tarm *arm = a == FAR__DYN_ARM_DEFAULT ? u->dflt : &u->arms.arms_val[a];
    size_t want = arm->name[0] ? 2 : 1;
    if (json_object_size(j) > want || (arm->name[0] && !json_object_get(j, arm->name))) {
        const char *key;
        json_t *x;
        json_object_foreach(j, key, x)
        {
            if (strcmp(key, u->disc_name) != 0 && strcmp(key, arm->name) != 0)
                return efail(c, FAR_EJSON, p,
                             "unknown member \"%.64s\" (the arm for %" PRId32 " is %s%s%s)", key, v,
                             arm->name[0] ? "\"" : "void", arm->name, arm->name[0] ? "\"" : "");
        }
        jpath ap = {p, arm->name, 0};
        return efail(c, FAR_EJSON, &ap, "missing (the arm for %" PRId32 ")", v);
    }
    if (!arm->name[0])
        return true;
    jpath ap = {p, arm->name, 0};
    return enc_value(c, arm->type, json_object_get(j, arm->name), &ap);
}

static bool enc_opaque(ectx *c, const far_tbody *b, json_t *j, const jpath *p)
{
    char got[80];
    bool fixed = b->kind == FAR_T_OPAQUE_FIXED;
    uint32_t bound = b->far_tbody_u.bound;
    if (!json_is_string(j))
        return efail(c, FAR_EJSON, p, "expected base64 text (opaque), got %s",
                     jgot(j, got, sizeof got));
    const char *s = json_string_value(j);
    size_t chars;
    int64_t n = b64_len(s, json_string_length(j), &chars);
    if (n < 0)
        return efail(c, FAR_EJSON, p, "expected base64 text (opaque): %zu characters cannot be",
                     json_string_length(j));
    if (fixed ? (uint64_t)n != bound : (uint64_t)n > bound)
        return efail(c, FAR_EJSON, p, "expected %s %" PRIu32 " bytes of opaque data, got %" PRId64,
                     fixed ? "exactly" : "at most", bound, n);
    if (!fixed && !far_xdr_put_u32(c->e, (uint32_t)n))
        return exfail(c, p);
    size_t pad = far_xdr_pad((size_t)n);
    uint8_t *w = far_xdr_reserve(c->e, (size_t)n + pad);
    if (!w)
        return exfail(c, p);
    int64_t badat = b64_decode(s, chars, w);
    if (badat >= 0)
        return efail(c, FAR_EJSON, p, "expected base64 text (opaque): bad character at %" PRId64,
                     badat);
    memset(w + n, 0, pad);
    return true;
}

static bool enc_array(ectx *c, const far_tbody *b, json_t *j, const jpath *p)
{
    char got[80];
    bool fixed = b->kind == FAR_T_ARRAY_FIXED;
    uint32_t bound = b->far_tbody_u.seq.bound;
    if (!json_is_array(j))
        return efail(c, FAR_EJSON, p, "expected an array, got %s", jgot(j, got, sizeof got));
    size_t n = json_array_size(j);
    if (fixed ? n != bound : n > bound)
        return efail(c, FAR_EJSON, p, "expected an array of %s %" PRIu32 " elements, got %zu",
                     fixed ? "exactly" : "at most", bound, n);
    if (!fixed && !far_xdr_put_count(c->e, n, bound))
        return exfail(c, p);
    for (size_t i = 0; i < n; i++) {
        jpath ep = {p, NULL, i};
        if (!enc_value(c, b->far_tbody_u.seq.elem, json_array_get(j, i), &ep))
            return false;
    }
    return true;
}

static bool enc_value(ectx *c, uint32_t t, json_t *j, const jpath *p)
{
    const far_dyn *d = c->d;
    char got[80];
    const far_tbody *b;
    for (;;) { /* optional data: a loop, not recursion */
        t = far__dyn_res(d, t);
        b = far__dyn_body(d, t);
        if (b->kind != FAR_T_OPTIONAL)
            break;
        bool present = j && !json_is_null(j);
        if (!far_xdr_put_bool(c->e, present))
            return exfail(c, p);
        if (!present)
            return true;
        t = b->far_tbody_u.elem;
    }
    int64_t x;
    uint64_t h = 0;
    double r;
    int32_t v;
    switch (b->kind) {
    case FAR_T_VOID:
        if (j && !json_is_null(j))
            return efail(c, FAR_EJSON, p, "expected null (void), got %s", jgot(j, got, sizeof got));
        return true;
    case FAR_T_INT:
    case FAR_T_UINT:
    case FAR_T_BOOL:
    case FAR_T_ENUM:
        return enc_disc(c, t, j, p, &v);
    case FAR_T_CHAR:
    case FAR_T_UCHAR:
    case FAR_T_SHORT:
    case FAR_T_USHORT: {
        static const struct {
            int64_t lo, hi;
            const char *what;
        } rg[] = {{-128, 127, "a char"},
                  {0, 255, "an unsigned char"},
                  {-32768, 32767, "a short"},
                  {0, 65535, "an unsigned short"}};
        unsigned k = (unsigned)(b->kind - FAR_T_CHAR);
        if (!enc_integer(c, j, p, rg[k].lo, rg[k].hi, rg[k].what, &x))
            return false;
        return far_xdr_put_u32(c->e, (uint32_t)(int32_t)x) || exfail(c, p);
    }
    case FAR_T_HYPER:
    case FAR_T_UHYPER:
        if (!enc_hyper(c, j, p, b->kind == FAR_T_HYPER, &h))
            return false;
        return far_xdr_put_u64(c->e, h) || exfail(c, p);
    case FAR_T_FLOAT:
        if (!enc_real(c, j, p, "a float", &r))
            return false;
        /* what rounds to FLT_MAX is a float ("3.4028235e+38", FLT_MAX's
         * shortest text, is a little more than FLT_MAX); from halfway to
         * the next power of two on, it would round to infinity */
        if (isfinite(r) && fabs(r) >= 0x1.ffffffp127)
            return efail(c, FAR_EJSON, p, "expected a float, got %s (beyond its range)",
                         jgot(j, got, sizeof got));
        if (fabs(r) > FLT_MAX && isfinite(r))
            r = copysign(FLT_MAX, r);
        return far_xdr_put_float(c->e, (float)r) || exfail(c, p);
    case FAR_T_DOUBLE:
        if (!enc_real(c, j, p, "a double", &r))
            return false;
        return far_xdr_put_double(c->e, r) || exfail(c, p);
    case FAR_T_QUAD:
        return enc_quad(c, j, p);
    case FAR_T_STRUCT:
    case FAR_T_UNION: {
        if (!enter(c, p))
            return false;
        bool ok = b->kind == FAR_T_STRUCT ? enc_struct(c, t, j, p) : enc_union(c, t, j, p);
        c->depth--;
        return ok;
    }
    case FAR_T_OPAQUE_FIXED:
    case FAR_T_OPAQUE_VAR:
        return enc_opaque(c, b, j, p);
    case FAR_T_STRING: {
        if (!json_is_string(j))
            return efail(c, FAR_EJSON, p, "expected a string, got %s", jgot(j, got, sizeof got));
        size_t n = json_string_length(j);
        if (n > b->far_tbody_u.bound)
            return efail(c, FAR_EJSON, p, "expected a string of at most %" PRIu32 " bytes, got %zu",
                         b->far_tbody_u.bound, n);
        return far_xdr_put_string_n(c->e, json_string_value(j), (uint32_t)n,
                                    b->far_tbody_u.bound) ||
               exfail(c, p);
    }
    case FAR_T_ARRAY_FIXED:
    case FAR_T_ARRAY_VAR: {
        if (!enter(c, p))
            return false;
        bool ok = enc_array(c, b, j, p);
        c->depth--;
        return ok;
    }
    case FAR_T_EXTERN:
        return efail(c, FAR_EJSON, p, "type %s is external: its XDR is not known", type_name(d, t));
    default:
        return efail(c, FAR_EPROTO, p, "type %" PRIu32 " cannot be encoded", t);
    }
}

/* A JSON string longer than any the description allows is refused before
 * jansson copies it: a linear scan of the raw text (each byte of a value
 * may be written as an escape of up to 6 characters). */
static bool too_long_string(uint64_t max_text, const char *s, size_t n, size_t *at, size_t *len)
{
    if (max_text >= (UINT64_MAX - 16) / 6)
        return false;
    uint64_t lim = max_text * 6 + 16;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"')
            continue;
        size_t start = i++;
        while (i < n && s[i] != '"')
            i += s[i] == '\\' ? 2 : 1;
        if (i - start - 1 > lim) {
            *at = start;
            *len = i - start - 1;
            return true;
        }
    }
    return false;
}

/* One open container while locating: its kind, and where in it the scan is
 * (an array's index, an object's current key). */
typedef struct lframe {
    char kind; /* '[' or '{' */
    bool want_key;
    size_t index;
    const char *key;
    size_t key_len;
} lframe;

#define LOCATE_MAX_DEPTH (FAR_DYN_MAX_DEPTH + 64)

/* The path of the value that jansson's error at byte `pos` is in
 * ("args.tags[1].key"): a scan of the text before it, tracking only
 * containers, keys and indexes.  For the error message alone, so it runs
 * once, on failure. */
static void locate(const char *root, const char *s, size_t pos, char *out, size_t n)
{
    lframe *st = malloc(LOCATE_MAX_DEPTH * sizeof *st);
    size_t depth = 0;
    if (!st) {
        snprintf(out, n, "%s", root);
        return;
    }
    for (size_t i = 0; i < pos; i++) {
        char ch = s[i];
        lframe *top = depth ? &st[depth - 1] : NULL;
        if (ch == '"') {
            size_t start = ++i;
            while (i < pos && s[i] != '"')
                i += s[i] == '\\' ? 2 : 1;
            if (top && top->kind == '{' && top->want_key) {
                top->key = s + start;
                top->key_len = (i < pos ? i : pos) - start;
            }
        } else if (ch == '{' || ch == '[') {
            if (depth == LOCATE_MAX_DEPTH)
                break;
            st[depth++] = (lframe){ch, ch == '{', 0, NULL, 0};
        } else if ((ch == '}' || ch == ']') && depth) {
            depth--;
        } else if (ch == ',' && top) {
            top->index++;
            top->want_key = top->kind == '{';
            top->key = NULL;
        } else if (ch == ':' && top) {
            top->want_key = false;
        }
    }
    jpath *steps = malloc((depth + 1) * sizeof *steps);
    char(*keys)[68] = malloc((depth + 1) * sizeof *keys);
    if (!steps || !keys) {
        snprintf(out, n, "%s", root);
    } else {
        steps[0] = (jpath){NULL, root, 0};
        size_t k = 1;
        for (size_t i = 0; i < depth; i++) {
            if (st[i].kind == '[') {
                steps[k] = (jpath){&steps[k - 1], NULL, st[i].index};
            } else if (st[i].key) {
                snprintf(keys[k], sizeof keys[k], "%.*s",
                         (int)(st[i].key_len > 64 ? 64 : st[i].key_len), st[i].key);
                steps[k] = (jpath){&steps[k - 1], keys[k], 0};
            } else {
                continue;
            }
            k++;
        }
        path_text(&steps[k - 1], out, n);
    }
    free(keys);
    free(steps);
    free(st);
}

FAR__API void far_dyn_json_path(const char *json, size_t len, size_t offset, const char *root,
                                char *out, size_t n)
{
    if (!out || !n)
        return;
    if (!json || !root) {
        snprintf(out, n, "%s", root ? root : "");
        return;
    }
    locate(root, json, offset < len ? offset : len, out, n);
}

/* Parses the text: NULL for no value (only white space). */
static far_err parse(const far_dyn *d, const char *root, const far_tref *types, uint32_t ntypes,
                     const char *json, size_t len, json_t **out)
{
    *out = NULL;
    size_t i = 0;
    while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
        i++;
    if (i == len)
        return FAR_OK;
    size_t at, n;
    if (too_long_string(far__dyn_max_text(d, types, ntypes), json, len, &at, &n)) {
        char path[400];
        locate(root, json, at + 1, path, sizeof path);
        far__set_last_error("%s: a JSON string of %zu bytes (at byte %zu), longer than any string "
                            "or opaque of the type can be (refused before parsing)",
                            path, n, at);
        return FAR_EJSON;
    }
    json_error_t err;
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!j) {
        if (json_error_code(&err) == json_error_stack_overflow) {
            far__set_last_error("%s: JSON nested too deep (at byte %d: the limit is "
                                "FAR_DYN_MAX_DEPTH, %d)",
                                root, err.position, FAR_DYN_MAX_DEPTH);
            return FAR_ELIMIT;
        }
        if (json_error_code(&err) == json_error_out_of_memory) {
            far__set_last_error("%s: out of memory parsing %zu bytes of JSON", root, len);
            return FAR_ENOMEM;
        }
        char path[400];
        locate(root, json, err.position > 0 ? (size_t)err.position : 0, path, sizeof path);
        if (json_error_code(&err) == json_error_numeric_overflow)
            far__set_last_error("%s: a number beyond any XDR type (at line %d column %d: %s)", path,
                                err.line, err.column, err.text);
        else
            far__set_last_error("%s: invalid JSON at line %d column %d: %s", path, err.line,
                                err.column, err.text);
        return FAR_EJSON;
    }
    *out = j;
    return FAR_OK;
}

/* Encodes `n` values of types[] from the text: none (null or nothing), one
 * (the value), several (an array of them). */
static far_err encode_root(const far_dyn *d, const char *root, const far_tref *types, uint32_t n,
                           const char *json, size_t len, far_xdr_enc *e)
{
    if (!d || (!json && len) || !e) {
        far__set_last_error("far_dyn_encode: NULL argument");
        return FAR_EMISUSE;
    }
    json_t *j;
    far_err rc = parse(d, root, types, n, json ? json : "", len, &j);
    if (rc)
        return rc;
    ectx c = {d, e, 0, FAR_OK};
    jpath rp = {NULL, root, 0};
    char got[80];
    if (n == 0) {
        if (j && !json_is_null(j))
            efail(&c, FAR_EJSON, &rp, "expected null (the procedure takes no arguments), got %s",
                  jgot(j, got, sizeof got));
    } else if (n == 1) {
        enc_value(&c, types[0], j, &rp);
    } else if (!json_is_array(j) || json_array_size(j) != n) {
        efail(&c, FAR_EJSON, &rp, "expected an array of the %" PRIu32 " arguments, got %s", n,
              json_is_array(j) ? "another count" : jtype(j));
    } else if (enter(&c, &rp)) { /* the array is a level, as the decoder writes it */
        for (uint32_t i = 0; i < n; i++) {
            jpath ap = {&rp, NULL, i};
            if (!enc_value(&c, types[i], json_array_get(j, i), &ap))
                break;
        }
    }
    json_decref(j);
    return c.rc;
}

static far_err no_proc(const far_dyn *d, uint32_t proc)
{
    char num[16];
    far_dyn_proc dummy;
    snprintf(num, sizeof num, "%" PRIu32, proc);
    far_err rc = far_dyn_find_proc(d, num, &dummy);
    return rc ? rc : FAR_EPROC_UNAVAIL;
}

FAR__API far_err far_dyn_encode_args(const far_dyn *d, uint32_t proc, const char *json, size_t len,
                                     far_xdr_enc *e)
{
    const far_tproc *p = d ? far__dyn_proc(d, proc) : NULL;
    if (d && !p)
        return no_proc(d, proc);
    return encode_root(d, "args", p ? p->args.args_val : NULL, p ? p->args.args_len : 0, json, len,
                       e);
}

FAR__API far_err far_dyn_encode_res(const far_dyn *d, uint32_t proc, const char *json, size_t len,
                                    far_xdr_enc *e)
{
    const far_tproc *p = d ? far__dyn_proc(d, proc) : NULL;
    if (d && !p)
        return no_proc(d, proc);
    return encode_root(d, "res", p ? &p->res : NULL, 1, json, len, e);
}

static far_err no_type(const far_dyn *d, const char *type)
{
    far__set_last_error("%s version %s has no type named \"%.64s\"", d->desc.prog_name,
                        d->desc.vers_name, type);
    return FAR_EJSON;
}

FAR__API far_err far_dyn_encode_type(const far_dyn *d, const char *type, const char *json,
                                     size_t len, far_xdr_enc *e)
{
    if (!d || !type) {
        far__set_last_error("far_dyn_encode_type: NULL argument");
        return FAR_EMISUSE;
    }
    uint32_t t = far__dyn_find_type(d, type);
    if (t == UINT32_MAX)
        return no_type(d, type);
    return encode_root(d, type, &t, 1, json, len, e);
}

/* ============================================================ decoding */

typedef struct dctx {
    const far_dyn *d;
    far_xdr_dec *x;
    far__dyn_buf *out;
    unsigned depth;
    bool pretty;
    far_err rc;
} dctx;

__attribute__((format(printf, 4, 5))) static bool dfail(dctx *c, far_err code, const jpath *p,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, code, fmt, ap);
    va_end(ap);
    c->rc = code;
    return false;
}

/* The XDR decoder refused: its code, and its words with the byte offset. */
static bool dxfail(dctx *c, const jpath *p)
{
    far_err code = c->x->err.code ? c->x->err.code : FAR_EPROTO;
    return dfail(c, code, p, "%s (at byte %zu)",
                 c->x->err.msg[0] ? c->x->err.msg : far_strerror(code), c->x->err.offset);
}

static bool oom(dctx *c)
{
    c->rc = FAR_ENOMEM;
    far__set_last_error("out of memory writing JSON (%zu bytes so far)", c->out->len);
    return false;
}

static bool put(dctx *c, const char *s)
{
    return far__dyn_buf_str(c->out, s) || oom(c);
}

/* Pretty output indents two spaces a level up to this depth and no
 * further, so a deep value cannot turn each 4 bytes of XDR into a line of
 * 4000 spaces. */
#define PRETTY_MAX_INDENT 32

static bool newline(dctx *c)
{
    if (!c->pretty)
        return true;
    size_t n = 2 * (size_t)(c->depth < PRETTY_MAX_INDENT ? c->depth : PRETTY_MAX_INDENT);
    if (!far__dyn_buf_room(c->out, 1 + n))
        return oom(c);
    char *w = c->out->p + c->out->len;
    *w++ = '\n';
    memset(w, ' ', n);
    c->out->len += 1 + n;
    c->out->p[c->out->len] = '\0';
    return true;
}

static bool open_c(dctx *c, const jpath *p, const char *brace)
{
    if (c->depth >= FAR_DYN_MAX_DEPTH)
        return dfail(c, FAR_ELIMIT, p, "nesting deeper than FAR_DYN_MAX_DEPTH (%d)",
                     FAR_DYN_MAX_DEPTH);
    c->depth++;
    return put(c, brace);
}

static bool close_c(dctx *c, const char *brace, bool empty)
{
    c->depth--;
    return (empty || newline(c)) && put(c, brace);
}

/* "name": (before a member) */
static bool key(dctx *c, const char *name, bool first)
{
    if (!first && !put(c, ","))
        return false;
    return newline(c) && put(c, "\"") && put(c, name) && put(c, c->pretty ? "\": " : "\":");
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* A JSON string of n bytes of UTF-8; false with *bad the offset of the
 * first invalid byte (SIZE_MAX: out of memory). */
static bool write_string(far__dyn_buf *b, const uint8_t *s, size_t n, size_t *bad)
{
    *bad = SIZE_MAX;
    if (!far__dyn_buf_add(b, "\"", 1))
        return false;
    size_t run = 0, i = 0;
    while (i < n) {
        uint8_t ch = s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\' && ch < 0x80) {
            i++;
            continue;
        }
        if (ch >= 0x80) {
            size_t k = utf8_seq(s + i, n - i);
            if (!k) {
                *bad = i;
                return false;
            }
            i += k;
            continue;
        }
        if (!far__dyn_buf_add(b, (const char *)s + run, i - run))
            return false;
        char esc[8];
        switch (ch) {
        case '"':
            memcpy(esc, "\\\"", 3);
            break;
        case '\\':
            memcpy(esc, "\\\\", 3);
            break;
        case '\n':
            memcpy(esc, "\\n", 3);
            break;
        case '\t':
            memcpy(esc, "\\t", 3);
            break;
        case '\r':
            memcpy(esc, "\\r", 3);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", ch);
        }
        if (!far__dyn_buf_str(b, esc))
            return false;
        run = ++i;
    }
    return far__dyn_buf_add(b, (const char *)s + run, n - run) && far__dyn_buf_add(b, "\"", 1);
}

static bool dec_real(dctx *c, double v, bool single)
{
    char buf[40];
    if (isnan(v))
        return put(c, "\"NaN\"");
    if (isinf(v))
        return put(c, v < 0 ? "\"-Infinity\"" : "\"Infinity\"");
    write_real(buf, sizeof buf, v, single);
    return put(c, buf);
}

static bool dec_value(dctx *c, uint32_t t, const jpath *p);

/* A 32-bit scalar a discriminant may be; *v gets its value. */
static bool dec_disc(dctx *c, uint32_t t, const jpath *p, int32_t *v)
{
    char buf[24];
    const far_tbody *b = far__dyn_body(c->d, t);
    bool bv;
    if (b->kind == FAR_T_BOOL) {
        if (!far_xdr_get_bool(c->x, &bv))
            return dxfail(c, p);
        *v = bv;
        return put(c, bv ? "true" : "false");
    }
    if (!far_xdr_get_i32(c->x, v))
        return dxfail(c, p);
    if (b->kind == FAR_T_ENUM) {
        const char *name = far__dyn_enum_name(c->d, t, *v);
        if (name)
            return put(c, "\"") && put(c, name) && put(c, "\"");
    }
    if (b->kind == FAR_T_UINT)
        snprintf(buf, sizeof buf, "%" PRIu32, (uint32_t)*v);
    else
        snprintf(buf, sizeof buf, "%" PRId32, *v);
    return put(c, buf);
}

static bool dec_struct(dctx *c, uint32_t t, const jpath *p)
{
    const far_tbody *b = far__dyn_body(c->d, t);
    if (!open_c(c, p, "{"))
        return false;
    for (uint32_t i = 0; i < b->far_tbody_u.members.members_len; i++) {
        const far_tmember *m = &b->far_tbody_u.members.members_val[i];
        jpath mp = {p, m->name, 0};
        if (!key(c, m->name, i == 0) || !dec_value(c, m->type, &mp))
            return false;
    }
    return close_c(c, "}", false);
}

static bool dec_union(dctx *c, uint32_t t, const jpath *p)
{
    const far_tunion *u = &far__dyn_body(c->d, t)->far_tbody_u.u;
    jpath dp = {p, u->disc_name, 0};
    int32_t v;
    if (!open_c(c, p, "{") || !key(c, u->disc_name, true) ||
        !dec_disc(c, far__dyn_res(c->d, u->disc_type), &dp, &v))
        return false;
    uint32_t a = far__dyn_union_arm(c->d, t, v);
    if (a == FAR__DYN_ARM_NONE)
        return dfail(c, FAR_EBADVALUE, &dp, "no arm of the union for %" PRId32 " (at byte %zu)", v,
                     far_xdr_dec_pos(c->x) - 4);
    const far_tarm *arm = a == FAR__DYN_ARM_DEFAULT ? u->dflt : &u->arms.arms_val[a];
    if (arm->name[0]) {
        jpath ap = {p, arm->name, 0};
        if (!key(c, arm->name, false) || !dec_value(c, arm->type, &ap))
            return false;
    }
    return close_c(c, "}", false);
}

/* opaque[n] / opaque<n> as base64: read in place, padding checked. */
static bool dec_opaque(dctx *c, const far_tbody *b, const jpath *p)
{
    uint32_t n = b->far_tbody_u.bound;
    size_t off = far_xdr_dec_pos(c->x);
    if (b->kind == FAR_T_OPAQUE_VAR) {
        uint32_t bound = n;
        if (!far_xdr_get_u32(c->x, &n))
            return dxfail(c, p);
        if (n > bound)
            return dfail(c, FAR_ELIMIT, p,
                         "opaque length %" PRIu32 " exceeds its maximum %" PRIu32 " (at byte %zu)",
                         n, bound, off);
    }
    size_t pad = far_xdr_pad(n);
    if ((size_t)n > far_xdr_dec_left(c->x) || pad > far_xdr_dec_left(c->x) - n)
        return dfail(c, FAR_ETRUNC, p,
                     "opaque of %" PRIu32 " bytes exceeds the %zu bytes left (at byte %zu)", n,
                     far_xdr_dec_left(c->x), off);
    const uint8_t *s = far_xdr_take(c->x, n + pad);
    for (size_t i = 0; i < pad; i++)
        if (s[n + i])
            return dfail(c, FAR_EPADDING, p, "non-zero padding after opaque data (at byte %zu)",
                         off);
    return b64_encode(c->out, s, n) || oom(c);
}

static bool dec_array(dctx *c, const far_tbody *b, const jpath *p)
{
    uint32_t elem = b->far_tbody_u.seq.elem, n = b->far_tbody_u.seq.bound;
    uint64_t mw = c->d->ti[elem].minwire;
    size_t off = far_xdr_dec_pos(c->x);
    if (b->kind == FAR_T_ARRAY_VAR) {
        if (!far_xdr_get_count(c->x, &n, n, mw > SIZE_MAX ? SIZE_MAX : (size_t)mw))
            return dxfail(c, p);
    } else if (mw && n > far_xdr_dec_left(c->x) / mw) {
        return dfail(c, FAR_ETRUNC, p,
                     "%" PRIu32 " elements of at least %" PRIu64
                     " bytes exceed the %zu bytes left (at byte %zu)",
                     n, mw, far_xdr_dec_left(c->x), off);
    }
    if (!open_c(c, p, "["))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        jpath ep = {p, NULL, i};
        if ((i && !put(c, ",")) || !newline(c) || !dec_value(c, elem, &ep))
            return false;
    }
    return close_c(c, "]", n == 0);
}

static bool dec_value(dctx *c, uint32_t t, const jpath *p)
{
    const far_dyn *d = c->d;
    const far_tbody *b;
    for (;;) {
        t = far__dyn_res(d, t);
        b = far__dyn_body(d, t);
        if (b->kind != FAR_T_OPTIONAL)
            break;
        bool present;
        if (!far_xdr_get_bool(c->x, &present))
            return dxfail(c, p);
        if (!present)
            return put(c, "null");
        t = b->far_tbody_u.elem;
    }
    char buf[48];
    int32_t v;
    uint64_t h;
    float f;
    double r;
    switch (b->kind) {
    case FAR_T_VOID:
        return put(c, "null");
    case FAR_T_INT:
    case FAR_T_UINT:
    case FAR_T_BOOL:
    case FAR_T_ENUM:
        return dec_disc(c, t, p, &v);
    case FAR_T_CHAR: {
        int8_t x;
        if (!far_xdr_get_char(c->x, &x))
            return dxfail(c, p);
        snprintf(buf, sizeof buf, "%d", x);
        return put(c, buf);
    }
    case FAR_T_UCHAR: {
        uint8_t x;
        if (!far_xdr_get_u_char(c->x, &x))
            return dxfail(c, p);
        snprintf(buf, sizeof buf, "%u", x);
        return put(c, buf);
    }
    case FAR_T_SHORT: {
        int16_t x;
        if (!far_xdr_get_short(c->x, &x))
            return dxfail(c, p);
        snprintf(buf, sizeof buf, "%d", x);
        return put(c, buf);
    }
    case FAR_T_USHORT: {
        uint16_t x;
        if (!far_xdr_get_u_short(c->x, &x))
            return dxfail(c, p);
        snprintf(buf, sizeof buf, "%u", x);
        return put(c, buf);
    }
    case FAR_T_HYPER:
    case FAR_T_UHYPER:
        if (!far_xdr_get_u64(c->x, &h))
            return dxfail(c, p);
        if (b->kind == FAR_T_HYPER)
            snprintf(buf, sizeof buf, "\"%" PRId64 "\"", (int64_t)h);
        else
            snprintf(buf, sizeof buf, "\"%" PRIu64 "\"", h);
        return put(c, buf);
    case FAR_T_FLOAT:
        if (!far_xdr_get_float(c->x, &f))
            return dxfail(c, p);
        return dec_real(c, f, true);
    case FAR_T_DOUBLE:
        if (!far_xdr_get_double(c->x, &r))
            return dxfail(c, p);
        return dec_real(c, r, false);
    case FAR_T_QUAD: {
        far_quad q;
        if (!far_xdr_get_quad(c->x, &q))
            return dxfail(c, p);
        buf[0] = '"';
        for (int i = 0; i < 16; i++)
            snprintf(buf + 1 + 2 * i, 3, "%02x", q.bytes[i]);
        memcpy(buf + 33, "\"", 2);
        return put(c, buf);
    }
    case FAR_T_STRUCT:
        return dec_struct(c, t, p);
    case FAR_T_UNION:
        return dec_union(c, t, p);
    case FAR_T_OPAQUE_FIXED:
    case FAR_T_OPAQUE_VAR:
        return dec_opaque(c, b, p);
    case FAR_T_STRING: {
        const char *s;
        uint32_t n;
        size_t off = far_xdr_dec_pos(c->x), bad;
        if (!far_xdr_get_string_ref(c->x, &s, &n, b->far_tbody_u.bound))
            return dxfail(c, p);
        if (write_string(c->out, (const uint8_t *)s, n, &bad))
            return true;
        if (bad == SIZE_MAX)
            return oom(c);
        return dfail(c, FAR_EJSON, p,
                     "the string is not valid UTF-8 (byte %zu of %" PRIu32 "; at byte %zu): JSON "
                     "cannot carry it",
                     bad, n, off + 4 + bad);
    }
    case FAR_T_ARRAY_FIXED:
    case FAR_T_ARRAY_VAR:
        return dec_array(c, b, p);
    case FAR_T_EXTERN:
        return dfail(c, FAR_EJSON, p, "type %s is external: its XDR is not known", type_name(d, t));
    default:
        return dfail(c, FAR_EPROTO, p, "type %" PRIu32 " cannot be decoded", t);
    }
}

static far_err decode_root(const far_dyn *d, const char *root, const far_tref *types, uint32_t n,
                           far_xdr_dec *x, unsigned flags, char **json)
{
    if (!d || !x || !json) {
        far__set_last_error("far_dyn_decode: NULL argument");
        return FAR_EMISUSE;
    }
    *json = NULL;
    far__dyn_buf out = {0};
    dctx c = {d, x, &out, 0, (flags & FAR_DYN_PRETTY) != 0, FAR_OK};
    jpath rp = {NULL, root, 0};
    bool ok;
    if (n == 0) {
        ok = put(&c, "null");
    } else if (n == 1) {
        ok = dec_value(&c, types[0], &rp);
    } else {
        ok = open_c(&c, &rp, "[");
        for (uint32_t i = 0; ok && i < n; i++) {
            jpath ap = {&rp, NULL, i};
            ok = (!i || put(&c, ",")) && newline(&c) && dec_value(&c, types[i], &ap);
        }
        ok = ok && close_c(&c, "]", false);
    }
    if (ok && !far_xdr_dec_done(x))
        ok = dxfail(&c, &rp);
    if (ok && c.pretty)
        ok = put(&c, "\n");
    if (!ok) {
        free(out.p);
        return c.rc ? c.rc : FAR_ENOMEM;
    }
    *json = far__dyn_buf_take(&out);
    if (!*json) {
        far__set_last_error("out of memory writing JSON");
        return FAR_ENOMEM;
    }
    return FAR_OK;
}

FAR__API far_err far_dyn_decode_args(const far_dyn *d, uint32_t proc, far_xdr_dec *dec,
                                     unsigned flags, char **json)
{
    const far_tproc *p = d ? far__dyn_proc(d, proc) : NULL;
    if (d && !p) {
        if (json)
            *json = NULL;
        return no_proc(d, proc);
    }
    return decode_root(d, "args", p ? p->args.args_val : NULL, p ? p->args.args_len : 0, dec, flags,
                       json);
}

FAR__API far_err far_dyn_decode_res(const far_dyn *d, uint32_t proc, far_xdr_dec *dec,
                                    unsigned flags, char **json)
{
    const far_tproc *p = d ? far__dyn_proc(d, proc) : NULL;
    if (d && !p) {
        if (json)
            *json = NULL;
        return no_proc(d, proc);
    }
    return decode_root(d, "res", p ? &p->res : NULL, 1, dec, flags, json);
}

FAR__API far_err far_dyn_decode_type(const far_dyn *d, const char *type, far_xdr_dec *dec,
                                     unsigned flags, char **json)
{
    if (!d || !type || !json) {
        far__set_last_error("far_dyn_decode_type: NULL argument");
        return FAR_EMISUSE;
    }
    *json = NULL;
    uint32_t t = far__dyn_find_type(d, type);
    if (t == UINT32_MAX)
        return no_type(d, type);
    return decode_root(d, type, &t, 1, dec, flags, json);
}
