/* farcall — error codes shared by every layer, and the log.
 *
 * One enum for the whole library.  FAR_OK is 0; the list is append-only: a value
 * is never renumbered or reused, so codes can be logged and compared across
 * versions.  far_strerror() names every value.
 */
#ifndef FARCALL_ERR_H
#define FARCALL_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum far_err {
    FAR_OK = 0,         /* success */
    FAR_EMISUSE = 1,    /* API misuse: NULL where not allowed, bad option, closed handle */
    FAR_ENOMEM = 2,     /* the system allocator failed */
    FAR_ELIMIT = 3,     /* a configured limit was exceeded (length, count, bytes) */
    FAR_ETRUNC = 4,     /* the input ended before the value did */
    FAR_EPADDING = 5,   /* XDR padding bytes were not zero (RFC 4506 §3) */
    FAR_EBADVALUE = 6,  /* a value outside its type: bool, enum, union arm, char */
    FAR_EDEPTH = 7,     /* nesting deeper than the configured maximum */
    FAR_ENOSPACE = 8,   /* the encode buffer is full (fixed size, or at its maximum) */
    FAR_EOVERFLOW = 9,  /* a size computation (count x size) would overflow */
    FAR_ETRAILING = 10, /* bytes were left over after a complete value */
    FAR_EIO = 11,       /* an operating-system call failed; errno tells more */

    /* transport and call outcomes (RFC 5531 reply states are further below) */
    FAR_EADDR = 12,        /* an address string could not be parsed or resolved */
    FAR_ECONNREFUSED = 13, /* nothing listens at the address (is the server running?) */
    FAR_ECONNLOST = 14,    /* the connection closed or failed with calls in flight */
    FAR_ETIMEDOUT = 15,    /* no reply before the call's deadline */
    FAR_ECANCELED = 16,    /* the call was cancelled (client destroyed or call cancelled) */
    FAR_ECLOSED = 17,      /* the handle is shutting down or stopped */
    FAR_EPROTO = 18,       /* the peer sent a malformed message (bad reply, bad record) */
    FAR_ETOOMANY = 19,     /* a limit on connections or calls in flight was reached */

    /* RFC 5531 §9 reply outcomes, as seen by a client */
    FAR_EPROG_UNAVAIL = 20,  /* accepted, PROG_UNAVAIL: the server does not serve the program */
    FAR_EPROG_MISMATCH = 21, /* accepted, PROG_MISMATCH: version not served (see low/high) */
    FAR_EPROC_UNAVAIL = 22,  /* accepted, PROC_UNAVAIL: no such procedure */
    FAR_EGARBAGE_ARGS = 23,  /* accepted, GARBAGE_ARGS: the server could not decode the args */
    FAR_ESYSTEM_ERR = 24,    /* accepted, SYSTEM_ERR: the server failed (e.g. out of memory) */
    FAR_ERPC_MISMATCH = 25,  /* denied, RPC_MISMATCH: the server does not speak RPC v2 */
    FAR_EAUTH = 26,          /* denied, AUTH_ERROR: credentials rejected (see auth_stat) */

    FAR_EADDRINUSE = 27, /* the address is in use (another server listens there) */

    /* finding a server through a binder (farcall/bind.h) */
    FAR_ENOBINDER = 28, /* no binder answered at the address asked (none running?) */
    FAR_ENOTREG = 29,   /* the binder answered: nothing is registered for the program
                         * and version (no server was asked) */

    /* dynamic calls (farcall/dyn.h) */
    FAR_EJSON = 30,   /* a JSON value is malformed or does not match its XDR type
                       * (far_last_error names the field and what was expected) */
    FAR_ENODESC = 31, /* the server serves the program with no description of its types */

    /* call semantics, orphans, liveness */
    FAR_EUNKNOWN_OUTCOME = 32, /* the server restarted (or the call was cut off) while the
                                * call was in flight: it may or may not have run */
    FAR_EPEER_DEAD = 33,       /* the server stopped answering (no reply, no sign of work)
                                * within the client's liveness bound */
    FAR_EUNSUPPORTED = 34,     /* the peer does not support what the call requires (a
                                * classic ONC RPC peer: no farcall flavor) */
    FAR_EIDEMPOTENCY = 35,     /* an idempotency key was reused with other arguments */
} far_err;

/* The last valid code; tests iterate 0..FAR_ERR_LAST to check far_strerror. */
#define FAR_ERR_LAST FAR_EIDEMPOTENCY

/* A short English description of `err`, never NULL.  Unknown values get
 * "unknown farcall error".  The string is static; any thread may call this. */
const char *far_strerror(far_err err);

/* The symbolic name of `err` ("FAR_ETRUNC"), or "FAR_E?" for an unknown value. */
const char *far_errname(far_err err);

/* The message of the last failed call made by this thread (sync calls, opens,
 * listens); "" if none.  The string belongs to the thread and is overwritten by
 * its next failure.  Any thread. */
const char *far_last_error(void);

/* ------------------------------------------------------------------ log */

/* What the library reports on its own -- a connection a server closed and
 * why, a registration the binder refused, datagrams dropped -- goes to one
 * log.  By default each line goes to standard error as "farcall: warning:
 * ...", at FAR_LOG_WARN and above; FARCALL_LOG=error|warn|info|debug in the
 * environment sets that level, FARCALL_QUIET=1 silences the default log. */
typedef enum far_log_level {
    FAR_LOG_ERROR = 0, /* the library could not do what it was asked */
    FAR_LOG_WARN = 1,  /* a peer misbehaved, a limit was hit, a request was refused */
    FAR_LOG_INFO = 2,  /* what a server did: registered, unregistered */
    FAR_LOG_DEBUG = 3, /* detail for finding a problem */
} far_log_level;

/* Receives one line (no newline; at most 511 bytes) at `level`.  Called on
 * whatever thread the event happened on, possibly several at once; it must
 * not block for long and must not call far_set_log. */
typedef void (*far_log_fn)(void *ctx, far_log_level level, const char *line);

/* Sends lines at `max_level` and more severe to fn(ctx, ...), or to standard
 * error if fn is NULL; lines less severe than max_level are not formatted.
 * Any thread; lines being written when it is called may still reach the
 * previous function. */
void far_set_log(far_log_fn fn, void *ctx, far_log_level max_level);

/* "error", "warning", "info", "debug". */
const char *far_log_level_name(far_log_level level);

#ifdef __cplusplus
}
#endif
#endif
