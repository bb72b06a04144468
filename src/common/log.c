/* The log (standard error), the thread's last-error text, rate limits. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void far__log(const char *fmt, ...)
{
    if (getenv("FARCALL_QUIET"))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "farcall: %s\n", line);
}

bool far__ratelimit_hit(far__ratelimit *r, uint64_t interval_ns, unsigned long *n)
{
    atomic_fetch_add(&r->events, 1);
    uint64_t now = far__now_ns(), last = atomic_load(&r->last_ns);
    if (last && now - last < interval_ns)
        return false;
    if (!atomic_compare_exchange_strong(&r->last_ns, &last, now))
        return false; /* another thread writes this line */
    *n = atomic_exchange(&r->events, 0);
    return true;
}

const char *far__errno_text(int e, char *buf, size_t n)
{
    /* The GNU strerror_r (_GNU_SOURCE) returns the text, in buf or static. */
    const char *t = strerror_r(e, buf, n);
    return t ? t : "unknown error";
}

static _Thread_local char last_error[256];

void far__set_last_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

FAR__API const char *far_last_error(void)
{
    return last_error;
}
