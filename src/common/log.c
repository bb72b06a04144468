/* The log (a function the program sets, or standard error), the thread's last-error text, rate
 * limits. */
#include "internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The log in force.  Lines are rare (the repeated ones are rate-limited), so
 * a mutex guards it; the function is called outside it. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static far_log_fn log_fn;
static void *log_ctx;
static _Atomic int log_max = -1; /* -1: not yet read from FARCALL_LOG */

static int env_level(void)
{
    const char *e = getenv("FARCALL_LOG");
    if (e)
        for (int l = FAR_LOG_ERROR; l <= FAR_LOG_DEBUG; l++)
            if (strcmp(e, far_log_level_name((far_log_level)l)) == 0 ||
                (l == FAR_LOG_WARN && strcmp(e, "warn") == 0))
                return l;
    return FAR_LOG_WARN;
}

FAR__API const char *far_log_level_name(far_log_level level)
{
    switch (level) {
    case FAR_LOG_ERROR:
        return "error";
    case FAR_LOG_WARN:
        return "warning";
    case FAR_LOG_INFO:
        return "info";
    case FAR_LOG_DEBUG:
        return "debug";
    }
    return "?";
}

FAR__API void far_set_log(far_log_fn fn, void *ctx, far_log_level max_level)
{
    pthread_mutex_lock(&log_mu);
    log_fn = fn;
    log_ctx = ctx;
    atomic_store(&log_max, (int)max_level);
    pthread_mutex_unlock(&log_mu);
}

bool far__log_on(far_log_level level)
{
    int max = atomic_load(&log_max);
    if (max < 0) {
        int want = env_level();
        atomic_compare_exchange_strong(&log_max, &max, want);
        max = atomic_load(&log_max);
    }
    return (int)level <= max;
}

void far__logl(far_log_level level, const char *fmt, ...)
{
    if (!far__log_on(level))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_mu);
    far_log_fn fn = log_fn;
    void *ctx = log_ctx;
    pthread_mutex_unlock(&log_mu);
    if (fn)
        fn(ctx, level, line);
    else if (!getenv("FARCALL_QUIET"))
        fprintf(stderr, "farcall: %s: %s\n", far_log_level_name(level), line);
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

static _Thread_local char last_error[512];

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
