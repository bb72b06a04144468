/* fargen — memory pool, output buffers, errors, and the front-end driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fargen.h"

struct fg_pool_block {
    fg_pool_block *next;
    max_align_t align[];
};

void *fg_alloc(fg_unit *u, size_t n)
{
    fg_pool_block *b = calloc(1, sizeof *b + n);
    if (!b) {
        fg_loc none = {u->input_name, 0, 0};
        fg_fail(u, none, "out of memory");
    }
    b->next = u->pool;
    u->pool = b;
    return b->align;
}

char *fg_strdup(fg_unit *u, const char *s, size_t n)
{
    char *p = fg_alloc(u, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void fg_fail(fg_unit *u, fg_loc loc, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (loc.line > 0)
        snprintf(u->err, sizeof u->err, "%s:%d:%d: error: %s", loc.file, loc.line, loc.col, msg);
    else
        snprintf(u->err, sizeof u->err, "%s: error: %s", loc.file ? loc.file : "fargen", msg);
    longjmp(u->fail, 1);
}

void fg_unit_free(fg_unit *u)
{
    fg_pool_block *b = u->pool;
    while (b) {
        fg_pool_block *n = b->next;
        free(b);
        b = n;
    }
    u->pool = NULL;
}

bool fg_compile(fg_unit *u, const char *src, size_t len, const char *name)
{
    u->input_name = name;
    u->err[0] = '\0';
    if (setjmp(u->fail))
        return false;
    fg_lex_init(u, src, len, name);
    fg_parse(u);
    fg_check(u);
    return true;
}

/* ------------------------------------------------------------------ fg_buf */

void fg_buf_put(fg_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void fg_buf_puts(fg_buf *b, const char *s)
{
    fg_buf_put(b, s, strlen(s));
}

void fg_vprintf(fg_buf *b, const char *fmt, va_list ap)
{
    char small[512];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        b->failed = true;
    } else if ((size_t)n < sizeof small) {
        fg_buf_put(b, small, (size_t)n);
    } else {
        char *big = malloc((size_t)n + 1);
        if (!big) {
            b->failed = true;
        } else {
            vsnprintf(big, (size_t)n + 1, fmt, ap2);
            fg_buf_put(b, big, (size_t)n);
            free(big);
        }
    }
    va_end(ap2);
}

void fg_printf(fg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fg_vprintf(b, fmt, ap);
    va_end(ap);
}

void fg_buf_free(fg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
