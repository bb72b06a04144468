/* fargen — lexer.
 *
 * Input is cpp output (or plain .x text).  Line markers (`# 12 "nis.x" 2`,
 * `#line 12 "nis.x"`) set the file and line used in diagnostics and in the
 * `/ * foo.x:LINE * /` pointers; other `#` lines (#pragma, or directives when
 * cpp was not run) are skipped.  A line whose first character is `%` is a
 * pass-through line (rpcgen's extension), returned as one TK_PASS token.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fargen.h"

void fg_lex_init(fg_unit *u, const char *src, size_t len, const char *name)
{
    u->src = u->p = u->line_start = src;
    u->end = src + len;
    u->file = name;
    u->line = 1;
    u->have_peek = false;
}

static fg_loc here(fg_unit *u)
{
    fg_loc l = {u->file, u->line, (int)(u->p - u->line_start) + 1};
    return l;
}

static void newline(fg_unit *u)
{
    u->p++;
    u->line++;
    u->line_start = u->p;
}

static const char *rest_of_line(fg_unit *u)
{
    const char *s = u->p;
    while (u->p < u->end && *u->p != '\n')
        u->p++;
    return s;
}

/* `# N "file" flags` or `#line N "file"`: sets file and line for the next line. */
static void hash_line(fg_unit *u)
{
    const char *s = rest_of_line(u);
    const char *e = u->p;
    const char *q = s + 1;
    while (q < e && (*q == ' ' || *q == '\t'))
        q++;
    if (e - q >= 4 && memcmp(q, "line", 4) == 0)
        q += 4;
    while (q < e && (*q == ' ' || *q == '\t'))
        q++;
    if (q >= e || !isdigit((unsigned char)*q))
        return; /* #pragma and friends */
    long n = 0;
    while (q < e && isdigit((unsigned char)*q) && n < 100000000)
        n = n * 10 + (*q++ - '0');
    while (q < e && (*q == ' ' || *q == '\t'))
        q++;
    if (q < e && *q == '"') {
        const char *f = ++q;
        while (q < e && *q != '"')
            q++;
        if (q < e)
            u->file = fg_strdup(u, f, (size_t)(q - f));
    }
    if (u->p < u->end)
        newline(u);
    u->line = (int)n;
}

static fg_tok make(fg_unit *u, fg_tok_kind k, const char *s, size_t n, fg_loc loc)
{
    fg_tok t = {k, fg_strdup(u, s, n), loc, FG_SEM_NONE};
    return t;
}

static bool at_line_start(fg_unit *u)
{
    for (const char *q = u->line_start; q < u->p; q++)
        if (*q != ' ' && *q != '\t')
            return false;
    return true;
}

static fg_tok number(fg_unit *u, fg_loc loc)
{
    const char *s = u->p;
    if (*u->p == '-')
        u->p++;
    while (u->p < u->end && (isalnum((unsigned char)*u->p) || *u->p == '_'))
        u->p++;
    fg_tok t = make(u, TK_NUM, s, (size_t)(u->p - s), loc);
    /* validate now so the error points at the token */
    const char *d = t.text + (t.text[0] == '-');
    int base = 10;
    if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
        base = 16, d += 2;
    else if (d[0] == '0' && d[1])
        base = 8, d++;
    if (!*d)
        fg_fail(u, loc, "bad constant '%s'", t.text);
    for (const char *q = d; *q; q++) {
        int v = isdigit((unsigned char)*q)    ? *q - '0'
                : isxdigit((unsigned char)*q) ? tolower((unsigned char)*q) - 'a' + 10
                                              : 99;
        if (v >= base)
            fg_fail(u, loc, "bad constant '%s'", t.text);
    }
    errno = 0;
    unsigned long long v = strtoull(d, NULL, base);
    if (errno || v > (t.text[0] == '-' ? (unsigned long long)INT64_MAX + 1 : UINT32_MAX * 2ull + 1))
        fg_fail(u, loc, "bad constant '%s': out of range", t.text);
    return t;
}

/* `/ *@ WORD * /` naming a procedure's semantics (fg_sem), for the token
 * that follows.  True if the comment is one. */
static bool sem_annotation(fg_unit *u, const char *q, fg_loc loc)
{
    static const struct {
        const char *word;
        fg_sem sem;
    } words[] = {
        {"maybe", FG_SEM_MAYBE},
        {"idempotent", FG_SEM_AT_LEAST_ONCE},
        {"at_least_once", FG_SEM_AT_LEAST_ONCE},
        {"at_most_once", FG_SEM_AT_MOST_ONCE},
        {"exactly_once", FG_SEM_EXACTLY_ONCE},
    };
    const char *end = u->end, *s = q;
    while (q < end && (isalnum((unsigned char)*q) || *q == '_'))
        q++;
    size_t n = (size_t)(q - s);
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (end - q < 2 || q[0] != '*' || q[1] != '/')
        return false;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strlen(words[i].word) == n && memcmp(s, words[i].word, n) == 0) {
            if (u->pending_sem)
                fg_fail(u, loc, "two semantics annotations for one procedure");
            u->pending_sem = (int)words[i].sem;
            return true;
        }
    }
    return false;
}

/* `/ *@ extern NAME [NAME ...] * /`: types defined outside the .x (rpcgen
 * sees a comment), and the semantics annotations (sem_annotation).  u->p is
 * at the '@'; the comment itself is skipped by the caller.  Other `/ *@`
 * comments are left alone. */
static void annotation(fg_unit *u, fg_loc loc)
{
    const char *q = u->p + 1, *end = u->end;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (sem_annotation(u, q, loc))
        return;
    if (end - q < 7 || memcmp(q, "extern", 6) != 0 || (q[6] != ' ' && q[6] != '\t'))
        return;
    q += 6;
    int n = 0;
    for (;;) {
        while (q < end && (*q == ' ' || *q == '\t' || *q == ',' || *q == '\n' || *q == '\r'))
            q++;
        if (q >= end)
            return; /* unterminated: the caller says so */
        if (end - q >= 2 && q[0] == '*' && q[1] == '/')
            break;
        const char *s = q;
        while (q < end && (isalnum((unsigned char)*q) || *q == '_'))
            q++;
        if (q == s || isdigit((unsigned char)*s))
            fg_fail(u, loc, "expected type names in '/*@ extern NAME ... */'");
        if (u->nexterns == u->capexterns) {
            int ncap = u->capexterns ? 2 * u->capexterns : 8;
            fg_extern *x = fg_alloc(u, (size_t)ncap * sizeof *x);
            if (u->nexterns)
                memcpy(x, u->externs, (size_t)u->nexterns * sizeof *x);
            u->externs = x;
            u->capexterns = ncap;
        }
        fg_extern *x = &u->externs[u->nexterns++];
        x->name = fg_strdup(u, s, (size_t)(q - s));
        x->header = NULL;
        x->loc = loc;
        n++;
    }
    if (!n)
        fg_fail(u, loc, "expected type names in '/*@ extern NAME ... */'");
}

static fg_tok lex(fg_unit *u)
{
    for (;;) {
        if (u->p >= u->end) {
            fg_tok t = {TK_EOF, "end of file", here(u), FG_SEM_NONE};
            return t;
        }
        char c = *u->p;
        if (c == '\n') {
            newline(u);
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            u->p++;
            continue;
        }
        if (c == '#' && at_line_start(u)) {
            hash_line(u);
            continue;
        }
        if (c == '%' && u->p == u->line_start) {
            fg_loc loc = here(u);
            u->p++;
            const char *s = rest_of_line(u);
            fg_tok t = make(u, TK_PASS, s, (size_t)(u->p - s), loc);
            /* main.c marks a continued % line ("...\\" at the end) with \x01
             * so that cpp does not splice it: the next line belongs to it */
            size_t n = strlen(t.text);
            while (n >= 2 && t.text[n - 1] == '\x01' && t.text[n - 2] == '\\' && u->p < u->end) {
                newline(u);
                const char *r = rest_of_line(u);
                char *j = fg_alloc(u, n + (size_t)(u->p - r) + 2);
                memcpy(j, t.text, n - 1);
                j[n - 1] = '\n';
                memcpy(j + n, r, (size_t)(u->p - r));
                t.text = j;
                n = strlen(j);
            }
            return t;
        }
        if (c == '/' && u->p + 1 < u->end && u->p[1] == '*') {
            fg_loc loc = here(u);
            u->p += 2;
            if (u->p < u->end && *u->p == '@')
                annotation(u, loc);
            for (;;) {
                if (u->p + 1 >= u->end)
                    fg_fail(u, loc, "unterminated comment");
                if (u->p[0] == '*' && u->p[1] == '/')
                    break;
                if (*u->p == '\n')
                    newline(u);
                else
                    u->p++;
            }
            u->p += 2;
            continue;
        }
        if (c == '/' && u->p + 1 < u->end && u->p[1] == '/') {
            rest_of_line(u);
            continue;
        }
        fg_loc loc = here(u);
        if (isalpha((unsigned char)c) || c == '_') {
            const char *s = u->p;
            while (u->p < u->end && (isalnum((unsigned char)*u->p) || *u->p == '_'))
                u->p++;
            return make(u, TK_IDENT, s, (size_t)(u->p - s), loc);
        }
        if (isdigit((unsigned char)c) ||
            (c == '-' && u->p + 1 < u->end && isdigit((unsigned char)u->p[1])))
            return number(u, loc);
        if (c == '\'') {
            const char *s = u->p++;
            if (u->p < u->end && *u->p == '\\')
                u->p++;
            if (u->p < u->end && *u->p != '\n')
                u->p++;
            if (u->p >= u->end || *u->p != '\'')
                fg_fail(u, loc, "bad character constant");
            u->p++;
            return make(u, TK_CHAR, s, (size_t)(u->p - s), loc);
        }
        if (c == '"') {
            const char *s = u->p++;
            while (u->p < u->end && *u->p != '"' && *u->p != '\n')
                u->p += (*u->p == '\\' && u->p + 1 < u->end && u->p[1] != '\n') ? 2 : 1;
            if (u->p >= u->end || *u->p != '"')
                fg_fail(u, loc, "unterminated string constant");
            u->p++;
            return make(u, TK_STRING, s, (size_t)(u->p - s), loc);
        }
        if (strchr("{}()[]<>;,=:*", c)) {
            u->p++;
            return make(u, TK_PUNCT, &c, 1, loc);
        }
        if (isprint((unsigned char)c))
            fg_fail(u, loc, "unexpected character '%c'", c);
        fg_fail(u, loc, "unexpected byte 0x%02x", (unsigned char)c);
    }
}

/* A token, with the semantics annotation read before it. */
static fg_tok lex_tok(fg_unit *u)
{
    fg_tok t = lex(u);
    t.sem = u->pending_sem;
    u->pending_sem = FG_SEM_NONE;
    return t;
}

fg_tok fg_next(fg_unit *u)
{
    if (u->have_peek) {
        u->have_peek = false;
        u->tok = u->peek;
    } else {
        u->tok = lex_tok(u);
    }
    if (u->tok.sem && !u->sem_ok)
        fg_fail(u, u->tok.loc,
                "a semantics annotation ('/*@ idempotent */' ...) must come right "
                "before a procedure");
    return u->tok;
}

fg_tok fg_peek(fg_unit *u)
{
    if (!u->have_peek) {
        u->peek = lex_tok(u);
        u->have_peek = true;
    }
    return u->peek;
}
