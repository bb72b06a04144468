/* The lowest layer of libfarcall: the monotonic clock, the log, the calling
 * thread's last-error text, rate limits for repeated log lines.  Every other
 * layer may use it; it uses nothing of theirs. */
#ifndef FARCALL_COMMON_H
#define FARCALL_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "farcall/err.h"

/* Nanoseconds on the monotonic clock (CLOCK_MONOTONIC). */
uint64_t far__now_ns(void);

/* This process's boot epoch: a random 64-bit number (never 0) drawn the
 * first time it is asked for, the same for every client and server of the
 * process.  FAR_CTX sends it so a peer can tell a restarted process from
 * the one it knew.  Any thread. */
uint64_t far__boot_epoch(void);

/* The deadline (far__now_ns time; 0: none) of the call the calling thread
 * is serving, so a call it makes while serving waits no longer than its own
 * caller does.  The server sets it around a handler; the client reads it. */
void far__inherit_deadline_set(uint64_t deadline_ns);
uint64_t far__inherit_deadline_get(void);

/* One line of the log at `level` (far_set_log; by default standard error,
 * "farcall: warning: ...").  Any thread. */
void far__logl(far_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define far__log_error(...) far__logl(FAR_LOG_ERROR, __VA_ARGS__)
#define far__log_warn(...)  far__logl(FAR_LOG_WARN, __VA_ARGS__)
#define far__log_info(...)  far__logl(FAR_LOG_INFO, __VA_ARGS__)
#define far__log_debug(...) far__logl(FAR_LOG_DEBUG, __VA_ARGS__)

/* True if a line at `level` would be written (to skip building one). */
bool far__log_on(far_log_level level);

/* Sets the calling thread's far_last_error() text. */
void far__set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* strerror for any thread: the text of errno value e, in buf. */
const char *far__errno_text(int e, char *buf, size_t n);

/* A log line that may repeat at a high rate (a refused connection, a dropped
 * datagram) is written at most once per interval, with the count of the
 * events since the last line. */
typedef struct far__ratelimit {
    _Atomic uint64_t last_ns; /* when a line was last let through */
    atomic_ulong events;      /* events since then */
} far__ratelimit;

/* Counts one event; true if a line may be written now, *n then receiving the
 * number of events the line stands for (this one included). */
bool far__ratelimit_hit(far__ratelimit *r, uint64_t interval_ns, unsigned long *n);

#endif
