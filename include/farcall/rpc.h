/* farcall — ONC RPC v2 (RFC 5531) clients and servers.
 *
 * This header is the contract between the runtime (src/clnt, src/svc, src/net,
 * src/msg) and the code fargen generates: client stubs call far_client_call /
 * far_client_call_async; server skeletons describe each program version with a
 * far_program_desc that far_server_add_program registers.
 *
 * Addresses are strings:
 *   tcp://HOST:PORT     udp://HOST:PORT     unix:/path/to/socket
 * HOST is a name, an IPv4 literal or a bracketed IPv6 literal ([::1]).  A server
 * may listen on port 0 and read back the port it got.
 */
#ifndef FARCALL_RPC_H
#define FARCALL_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "farcall/arena.h"
#include "farcall/err.h"
#include "farcall/xdr.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FAR_NODISCARD __attribute__((warn_unused_result))
#else
#define FAR_NODISCARD
#endif

/* ------------------------------------------------------------ credentials */

/* AUTH_SYS (RFC 5531 Appendix A).  Limits are the RFC's: machine name of at
 * most 255 bytes, at most 16 supplementary gids, a body of at most 400 bytes. */
#define FAR_AUTH_SYS_MAX_MACHINE 255
#define FAR_AUTH_SYS_MAX_GIDS    16

typedef struct far_auth_sys {
    uint32_t stamp;
    char machinename[FAR_AUTH_SYS_MAX_MACHINE + 1];
    uint32_t uid;
    uint32_t gid;
    uint32_t ngids;
    uint32_t gids[FAR_AUTH_SYS_MAX_GIDS];
} far_auth_sys;

/* Authentication flavors (RFC 5531 §8.2). */
enum { FAR_AUTH_NONE = 0, FAR_AUTH_SYS = 1 };

/* ----------------------------------------------------------------- status */

/* The outcome of one call, in detail.  Filled when a far_call_opts names one. */
typedef struct far_status {
    far_err err;
    uint32_t low, high; /* FAR_EPROG_MISMATCH / FAR_ERPC_MISMATCH: versions served */
    int auth_stat;      /* FAR_EAUTH: RFC 5531 auth_stat */
    /* "tcp://127.0.0.1:5000 prog 100003 vers 4 proc 1: program version not
     * served (server has 2-3)" */
    char msg[256];
} far_status;

/* The message of the last failed call made by this thread (sync calls only);
 * "" if none.  The string belongs to the thread and is overwritten by its next
 * failing call. */
const char *far_last_error(void);

/* ----------------------------------------------------------------- client */

typedef struct far_client far_client;

typedef struct far_client_opts {
    uint32_t timeout_ms;      /* default per-call deadline; 0: 25000 */
    uint32_t max_record;      /* largest reply accepted; 0: 64 MiB */
    uint32_t retry_ms;        /* UDP: first retransmission after; 0: 500, doubling */
    bool auth_sys;            /* send AUTH_SYS credentials (below, or the process's own) */
    const far_auth_sys *cred; /* NULL with auth_sys: uid, gid, groups, hostname of the process */
} far_client_opts;

/* Opens a client to `addr` (see the top of this file).  The connection is made
 * at once for TCP and Unix sockets (FAR_ECONNREFUSED, with the address in
 * far_last_error(), if nothing listens) and re-made on the next call after it
 * is lost.  One client may be shared by any number of threads; their calls are
 * pipelined over the one connection and matched by xid.  opts may be NULL.
 * On success *out owns the client: release it with far_client_destroy. */
FAR_NODISCARD far_err far_client_open(far_client **out, const char *addr,
                                      const far_client_opts *opts);

/* Closes the connection; calls still in flight complete with FAR_ECANCELED
 * (async callbacks run before this returns).  far_client_destroy(NULL) does
 * nothing.  Must not be called from one of this client's callbacks. */
void far_client_destroy(far_client *c);

/* Per-call options; every field may be left zero. */
typedef struct far_call_opts {
    uint32_t timeout_ms; /* 0: the client's default */
    far_status *status;  /* if not NULL, receives the outcome in detail */
} far_call_opts;

/* Calls procedure `proc` of program `prog` version `vers`: encodes *args with
 * `enc` (NULL for void), waits for the reply, decodes the result into *res with
 * `dec` (NULL for void), allocating from `arena` (NULL: malloc; free the
 * result with the type's generated free function).  Blocks only the calling
 * thread.  Returns FAR_OK or the reason: transport errors (FAR_ECONNREFUSED,
 * FAR_ECONNLOST, FAR_ETIMEDOUT), RFC 5531 outcomes (FAR_EPROG_UNAVAIL ...
 * FAR_EAUTH), or a decode error of the reply (FAR_EPROTO). */
FAR_NODISCARD far_err far_client_call(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                                      far_xdr_encode_fn enc, const void *args,
                                      far_xdr_decode_fn dec, void *res, far_arena *arena,
                                      const far_call_opts *opts);

/* Completion of an async call: runs exactly once, on the client's I/O thread,
 * never from inside far_client_call_async.  `st` describes the outcome; res
 * (as passed to the call) holds the result when st->err == FAR_OK. */
typedef void (*far_call_cb)(const far_status *st, void *res, void *user);

/* As far_client_call, but returns at once.  On FAR_OK the callback will run
 * exactly once; args have been encoded before this returns, so they may be
 * released at once; res and arena must stay valid until the callback.  On any
 * other return the callback never runs. */
FAR_NODISCARD far_err far_client_call_async(far_client *c, uint32_t prog, uint32_t vers,
                                            uint32_t proc, far_xdr_encode_fn enc, const void *args,
                                            far_xdr_decode_fn dec, void *res, far_arena *arena,
                                            const far_call_opts *opts, far_call_cb cb, void *user);

/* ----------------------------------------------------------------- server */

typedef struct far_server far_server;
typedef struct far_svc_req far_svc_req; /* one call being served */

/* What a handler returns: FAR_OK sends *res as a SUCCESS reply; FAR_ESYSTEM_ERR,
 * FAR_EGARBAGE_ARGS and FAR_EPROC_UNAVAIL send that RFC 5531 reply; FAR_EAUTH
 * sends AUTH_ERROR with far_svc_req_set_auth_stat's value (default AUTH_TOOWEAK);
 * any other code sends SYSTEM_ERR. */

/* One procedure of a program version, as fargen describes it. */
typedef struct far_proc_desc {
    uint32_t proc;
    const char *name;
    far_xdr_decode_fn decode_args; /* NULL: void argument */
    far_xdr_encode_fn encode_res;  /* NULL: void result */
    size_t args_size;              /* sizeof the argument type (0 for void) */
    size_t res_size;               /* sizeof the result type (0 for void) */
    /* Calls the user's function for this procedure from `impl` (the struct of
     * function pointers given to far_server_add_program). */
    far_err (*invoke)(const void *impl, far_svc_req *req, const void *args, void *res);
} far_proc_desc;

/* One program version. */
typedef struct far_program_desc {
    uint32_t prog;
    uint32_t vers;
    const char *name; /* program name as in the .x file */
    const far_proc_desc *procs;
    size_t nprocs;
} far_program_desc;

typedef struct far_server_opts {
    unsigned workers;            /* handler threads; 0: the number of cores */
    unsigned max_conns;          /* 0: 4096 */
    uint32_t max_record;         /* largest request record; 0: 1 MiB */
    uint32_t idle_timeout_ms;    /* close idle connections after; 0: 120000 */
    unsigned max_calls_per_conn; /* calls being served + replies not yet written, per
                                  * connection; past it the connection is not read; 0: 64 */
} far_server_opts;

/* Creates a server (no sockets, no threads yet).  opts may be NULL. */
FAR_NODISCARD far_err far_server_create(far_server **out, const far_server_opts *opts);

/* Serves program desc->prog version desc->vers with the functions in `impl`
 * (which must outlive the server).  Several programs and versions may be added;
 * adding the same program and version twice is FAR_EMISUSE. */
FAR_NODISCARD far_err far_server_add_program(far_server *s, const far_program_desc *desc,
                                             const void *impl);

/* Listens on `addr`.  If `bound` is not NULL it receives the address actually
 * bound (with the real port when the port was 0). */
FAR_NODISCARD far_err far_server_listen(far_server *s, const char *addr, char *bound,
                                        size_t bound_len);

/* Starts serving on background threads and returns. */
FAR_NODISCARD far_err far_server_start(far_server *s);

/* Serves on background threads until far_server_stop, then returns. */
FAR_NODISCARD far_err far_server_run(far_server *s);

/* Stops gracefully: stops accepting, lets calls in flight finish and send their
 * replies, then closes every connection.  Any thread may call it, including a
 * handler; it is async-signal-safe (it only writes to a pipe).  Idempotent. */
void far_server_stop(far_server *s);

/* Stops (if running) and frees everything.  far_server_destroy(NULL) does nothing. */
void far_server_destroy(far_server *s);

/* Accessors for handlers. */
uint32_t far_svc_req_prog(const far_svc_req *r);
uint32_t far_svc_req_vers(const far_svc_req *r);
uint32_t far_svc_req_proc(const far_svc_req *r);
uint32_t far_svc_req_xid(const far_svc_req *r);
/* AUTH_SYS credentials of the caller, or NULL for AUTH_NONE. */
const far_auth_sys *far_svc_req_auth_sys(const far_svc_req *r);
/* The caller's address as a string ("tcp://127.0.0.1:40312", "unix:"). */
const char *far_svc_req_peer(const far_svc_req *r);
/* The credentials of the process at the other end of a Unix-socket connection,
 * as the kernel reports them (SO_PEERCRED), so they cannot be forged the way
 * AUTH_SYS credentials can.  FAR_OK with *uid, *gid (either may be NULL);
 * FAR_EMISUSE for a TCP or UDP caller; FAR_EIO if the kernel refuses. */
FAR_NODISCARD far_err far_svc_req_peer_cred(const far_svc_req *r, uint32_t *uid, uint32_t *gid);
/* An arena freed after the reply is sent: allocate results from it. */
far_arena *far_svc_req_arena(far_svc_req *r);
/* For a handler returning FAR_EAUTH: the auth_stat to send. */
void far_svc_req_set_auth_stat(far_svc_req *r, int auth_stat);

#ifdef __cplusplus
}
#endif
#endif
