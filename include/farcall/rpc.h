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
 * may listen on port 0 and read back the port it got.  A dynamic address
 * ("PROG/VERS@HOST", farcall/bind.h) is resolved through the binder.
 *
 * Threads.  Each function says which thread may call it ("Thread:").  Async
 * callbacks run on the one I/O thread all clients of the process share;
 * handlers run on the server's threads.  docs/architecture.md has the map.
 */
#ifndef FARCALL_RPC_H
#define FARCALL_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "farcall/arena.h"
#include "farcall/auth.h"
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

/* ----------------------------------------------------------------- status */

/* The outcome of one call, in detail.  Filled when a far_call_opts names one. */
typedef struct far_status {
    far_err err;
    uint32_t low, high; /* FAR_EPROG_MISMATCH / FAR_ERPC_MISMATCH: versions served */
    int auth_stat;      /* FAR_EAUTH: RFC 5531 auth_stat */
    /* "tcp://127.0.0.1:5000 prog 100003 vers 4 proc 1: program version not
     * served (server has 2-3)" */
    char msg[512];
} far_status;

/* ----------------------------------------------------------------- client */
/* ---------------------------------------------------------------- security */
/* The four security levels (RPC2's, docs/security.md), per connection: the
 * client chooses one, a server requires a minimum per program (or procedure). */
typedef enum far_security {
    FAR_SEC_NONE = 0,  /* no protection: AUTH_NONE / AUTH_SYS (forgeable) */
    FAR_SEC_AUTH = 1,  /* mutual authentication at set-up, every call and reply's
                        * header authenticated (a MAC bound to its sequence number) */
    FAR_SEC_INTEG = 2, /* ... and every body: header and body protected against
                        * change, replay and reordering */
    FAR_SEC_PRIV = 3,  /* ... and the bodies encrypted */
} far_security;
/* Bytes of a pre-shared key, and of a client identity at most. */
#define FAR_KEY_BYTES    32
#define FAR_MAX_IDENTITY 64
/* The name of a level ("none", "auth", "integ", "priv"; "?" otherwise).  Any thread. */
const char *far_security_name(far_security level);
/* Parses "none", "auth", "integ" or "priv" into *level: FAR_OK or FAR_EMISUSE. */
FAR_NODISCARD far_err far_security_parse(const char *name, far_security *level);
/* Reads a pre-shared key from `path`: exactly 32 bytes, raw, or as 64 hex
 * digits (surrounding white space allowed).  Refuses (FAR_EAUTH, the reason
 * in far_last_error()) a file that group or others may read or write, and
 * one of another size; FAR_EIO if it cannot be read.  The buffer used is
 * wiped.  Thread: any. */
FAR_NODISCARD far_err far_key_load(const char *path, uint8_t key[FAR_KEY_BYTES]);
/* Overwrites n bytes at p with zeros in a way the compiler keeps. */
void far_key_wipe(void *p, size_t n);

typedef struct far_client far_client;

typedef struct far_client_opts {
    uint32_t timeout_ms;      /* default per-call deadline; 0: 25000 */
    uint32_t max_record;      /* largest reply accepted; 0: 64 MiB */
    uint32_t retry_ms;        /* UDP: first retransmission after; 0: 500, doubling */
    bool auth_sys;            /* send AUTH_SYS credentials (below, or the process's own) */
    const far_auth_sys *cred; /* NULL with auth_sys: uid, gid, groups, hostname of the process */
    uint32_t max_list;        /* longest list (linked through optional data, `T *next`) a
                               * reply may hold; 0: FAR_XDR_DEFAULT_MAX_CHAIN (65536).  A
                               * longer one fails the call with FAR_ELIMIT */
    uint32_t dead_after_ms;   /* liveness (streams, UDP): a call outstanding with nothing from
                               * the server for this long -- no reply, no answer to the
                               * FAR_CTL STATUS sent after a third of it -- fails with
                               * FAR_EPEER_DEAD, and so do the others on its connection
                               * (UDP: the others outstanding),
                               * once the server is known to be a farcall one (it
                               * answered FAR_CTL or the FAR_CTX probe there; a classic
                               * server is never given up: it cannot say it is busy).
                               * While the server answers STATUS a call waits for its
                               * reply until its own deadline.  0: 10000; UINT32_MAX:
                               * never (docs/runtime.md) */
    /* FAR_CTX, farcall's flavor for call semantics (docs/runtime.md): each
     * connection starts with a probe; a farcall server answers it and then
     * learns each call's deadline and this process's life, a classic ONC RPC
     * server denies it and is spoken to as before (AUTH_NONE / AUTH_SYS). */
    bool no_ctx;       /* never probe: plain ONC RPC (what a classic client sends) */
    bool require_ctx;  /* a server that does not answer the probe is refused:
                        * FAR_EUNSUPPORTED from far_client_open or the call */
    const char *owner; /* this client's name, kept across restarts of the process
                        * (at most 64 bytes; copied): a server seeing it come back
                        * from a new process cancels the old one's calls.  NULL: a
                        * name unique to this process (no restart is recognised) */
    /* Security level (docs/security.md): above FAR_SEC_NONE each connection
     * starts with a Noise handshake (NNpsk0) from `key`, the 32-byte secret
     * this client shares with the server under the name `identity`; the
     * secret never crosses the wire.  A server that cannot do the level (a
     * classic one: FAR_EUNSUPPORTED), refuses it or the key (FAR_EAUTH) fails
     * far_client_open and the calls; nothing is ever sent below the level.
     * FAR_SEC_NONE (0): no handshake, as before. */
    far_security security;
    const char *identity; /* at most FAR_MAX_IDENTITY bytes (copied); needed above NONE */
    const uint8_t *key;   /* FAR_KEY_BYTES bytes (copied, and wiped at destroy); needed
                           * above NONE.  far_key_load reads one from a file */
} far_client_opts;

/* Opens a client to `addr` (see the top of this file).  The connection is made
 * at once for TCP and Unix sockets (FAR_ECONNREFUSED, with the address in
 * far_last_error(), if nothing listens) and re-made on the next call after it
 * is lost.  One client may be shared by any number of threads; their calls are
 * pipelined over the one connection and matched by xid.  opts may be NULL.
 * The connect gives up after opts->timeout_ms (FAR_ETIMEDOUT).  On success
 * *out owns the client: release it with far_client_destroy.
 * Thread: any. */
FAR_NODISCARD far_err far_client_open(far_client **out, const char *addr,
                                      const far_client_opts *opts);

/* Closes the connection; calls still in flight complete with FAR_ECANCELED
 * (their async callbacks run before this returns; sync callers in other
 * threads return FAR_ECANCELED).  far_client_destroy(NULL) does nothing.
 * Thread: any, once per client, with no other call on c starting after it.
 * From an async callback (this client's or another's) it is deferred: the
 * calls are cancelled at once and the client is freed once every callback of
 * the current round has returned -- c must not be used after the call.
 * A balanced client (farcall/cluster.h) is the same, except that from a
 * callback it is freed by its health thread, once that callback has
 * returned and its sync callers have. */
void far_client_destroy(far_client *c);

/* What a call promises about how many times it runs (docs/semantics.md).
 * Chosen per procedure in the .x (a comment rpcgen ignores before the
 * procedure line: `/ *@ maybe * /`, `/ *@ idempotent * /`,
 * `/ *@ at_most_once * /`, `/ *@ exactly_once * /`), carried by fargen into
 * far_proc_desc.semantics and the client stubs, and overridden per call by
 * far_call_opts.semantics. */
typedef enum far_semantics {
    FAR_SEM_DEFAULT = 0,       /* in far_call_opts: the procedure's; in a descriptor:
                                * FAR_SEM_AT_MOST_ONCE */
    FAR_SEM_MAYBE = 1,         /* sent once, never retransmitted, never cached: it ran at
                                * most once, or not at all, even if no reply came */
    FAR_SEM_AT_LEAST_ONCE = 2, /* idempotent: retransmitted (UDP) and, a sync call, sent
                                * again after a lost connection or a server restart (TCP),
                                * until the deadline; the server keeps no cache entry, so
                                * it may run several times */
    FAR_SEM_AT_MOST_ONCE = 3,  /* the default: retransmitted with the same xid; the
                                * server's duplicate request cache replays the reply */
    FAR_SEM_EXACTLY_ONCE = 4,  /* the reply is kept durably with the handler's effect
                                * (far_server_set_reply_store, farcall/store.h): the call's
                                * idempotency key goes in every send of it, retransmitted and
                                * sent again after a lost connection until the deadline; a
                                * server that has no store, or a classic peer, fails the call
                                * with FAR_EUNSUPPORTED */
} far_semantics;

/* Per-call options; every field may be left zero.  Every generated stub takes
 * a `const far_call_opts *` (NULL: all defaults). */
typedef struct far_call_opts {
    uint32_t timeout_ms; /* 0: the client's default */
    /* If not NULL, receives the outcome in detail: of a sync call, always
     * (also when it fails before it is sent); of an async call, its start
     * (err FAR_OK and msg "... started", or why it could not start) -- the
     * outcome is the callback's far_status. */
    far_status *status;
    /* If not NULL, receives the call's id as soon as the call is made (before
     * it is sent): pass it to far_client_cancel, from any thread.  A sync
     * call made with one waits for its reply in a way a cancel can wake
     * (one more system call per call than without). */
    uint64_t *call_id;
    /* FAR_SEM_DEFAULT: the procedure's (what its stub passes), at-most-once
     * for far_client_call with none. */
    far_semantics semantics;
    /* A bulk transfer bound to this call (farcall/bulk.h): where its data
     * comes from or goes to.  NULL: none.  Sync calls only, and not from an
     * async callback (both FAR_EMISUSE); the spec's outputs are written. */
    struct far_bulk_spec *bulk;
} far_call_opts;

/* Calls procedure `proc` of program `prog` version `vers`: encodes *args with
 * `enc` (NULL for void), waits for the reply, decodes the result into *res with
 * `dec` (NULL for void), allocating from `arena` (NULL: malloc; free the
 * result with the type's generated free function).  Blocks only the calling
 * thread.  Returns FAR_OK or the reason: transport errors (FAR_ECONNREFUSED,
 * FAR_ECONNLOST, FAR_ETIMEDOUT, FAR_ETOOMANY when the server refused the
 * connection at its limit), RFC 5531 outcomes (FAR_EPROG_UNAVAIL ...
 * FAR_EAUTH), a malformed reply (FAR_EPROTO), a limit of this side (FAR_ELIMIT:
 * the arguments do not encode within their bounds, the results do not fit the
 * arena, a UDP call larger than a datagram), FAR_ECANCELED.  The arguments and
 * results are encoded and decoded outside the client's lock.
 * Thread: any; any number at once on one client.  From an async callback it
 * works but holds up every other callback of the process while it waits. */
FAR_NODISCARD far_err far_client_call(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                                      far_xdr_encode_fn enc, const void *args,
                                      far_xdr_decode_fn dec, void *res, far_arena *arena,
                                      const far_call_opts *opts);

/* Completion of an async call: runs exactly once, on the I/O thread the
 * process's clients share (so it should not block), never from inside
 * far_client_call_async and never under a lock of the client's.  `st`
 * describes the outcome; res (as passed to the call) holds the result when
 * st->err == FAR_OK. */
typedef void (*far_call_cb)(const far_status *st, void *res, void *user);

/* As far_client_call, but returns at once.  On FAR_OK the callback will run
 * exactly once; args have been encoded before this returns, so they may be
 * released at once; res and arena must stay valid until the callback.  On any
 * other return the callback never runs.  The call's deadline is a timer of
 * the I/O thread.  Thread: any, callbacks included. */
FAR_NODISCARD far_err far_client_call_async(far_client *c, uint32_t prog, uint32_t vers,
                                            uint32_t proc, far_xdr_encode_fn enc, const void *args,
                                            far_xdr_decode_fn dec, void *res, far_arena *arena,
                                            const far_call_opts *opts, far_call_cb cb, void *user);

/* Cancels the call whose id far_call_opts.call_id received: it completes at
 * once with FAR_ECANCELED (a sync caller returns it; an async callback runs
 * with it, on the I/O thread); its reply, if one comes, is dropped.  A call
 * that is partly written still goes out whole, so the connection stays
 * usable.  If any of it was sent on a stream, the server is told (FAR_CTL
 * CANCEL on the call's connection; not to a server that answered FAR_CTL
 * with PROG_UNAVAIL): its handler sees far_svc_req_cancelled and its reply
 * is never sent.
 * Any thread.  FAR_OK if the call was in flight; FAR_EMISUSE if not
 * (it has completed already, or the id is not one of this client's calls). */
FAR_NODISCARD far_err far_client_cancel(far_client *c, uint64_t call_id);

/* ----------------------------------------------------------------- server */

typedef struct far_server far_server;
typedef struct far_svc_req far_svc_req; /* one call being served */

/* What a handler returns: FAR_OK sends *res as a SUCCESS reply; FAR_ESYSTEM_ERR,
 * FAR_EGARBAGE_ARGS and FAR_EPROC_UNAVAIL send that RFC 5531 reply; FAR_EAUTH
 * sends AUTH_ERROR with far_svc_req_set_auth_stat's value (default AUTH_TOOWEAK);
 * any other code sends SYSTEM_ERR. */

/* Descriptors: what fargen emits for each program version and what the server
 * reads.  Both grow by appending fields.  A far_program_desc records the sizes
 * of both structures as its code was compiled (FAR_DESC_SIZES), so stubs
 * compiled against an older header keep working with a newer library: fields
 * past those sizes read as absent (zero).  Hand-written descriptors start with
 * FAR_DESC_SIZES and name their fields:
 *
 *   static const far_proc_desc procs[] = {{.proc = 0, .name = "NULL"}, ...};
 *   static const far_program_desc prog = {FAR_DESC_SIZES, .prog = 0x20000001,
 *       .vers = 1, .name = "EXAMPLE", .procs = procs, .nprocs = 2};
 */

/* One procedure of a program version. */
typedef struct far_proc_desc {
    uint32_t proc;
    const char *name;
    far_xdr_decode_fn decode_args; /* NULL: void argument */
    far_xdr_encode_fn encode_res;  /* NULL: void result */
    size_t args_size;              /* sizeof the argument type (0 for void) */
    size_t res_size;               /* sizeof the result type (0 for void) */
    /* Calls the user's function for this procedure from `impl` (the struct of
     * function pointers given to far_server_add_program).  NULL: the
     * procedure succeeds with a zeroed result (for the NULL procedure, 0: the
     * runtime answers it without a handler). */
    far_err (*invoke)(const void *impl, far_svc_req *req, const void *args, void *res);
    /* What the server does with a retransmission (far_semantics; the .x's
     * annotation): FAR_SEM_MAYBE and FAR_SEM_AT_LEAST_ONCE calls are not
     * cached, FAR_SEM_DEFAULT and FAR_SEM_AT_MOST_ONCE ones are (UDP), and
     * FAR_SEM_EXACTLY_ONCE ones go through the reply store.  A call's own
     * semantics, when its flavor carries them (FAR_CTX), win. */
    far_semantics semantics;
    /* Fields added in later versions go here. */
} far_proc_desc;

/* One program version. */
typedef struct far_program_desc {
    uint32_t size;      /* sizeof(far_program_desc) as compiled (FAR_DESC_SIZES) */
    uint32_t proc_size; /* sizeof(far_proc_desc) as compiled: the stride of procs */
    uint32_t prog;
    uint32_t vers;
    const char *name; /* program name as in the .x file */
    const far_proc_desc *procs;
    size_t nprocs;
    /* True if `impl` has a function for procedure `proc`; NULL: every
     * procedure with an invoke has one.  The server answers a procedure
     * without a function by itself -- PROC_UNAVAIL, or SUCCESS for the NULL
     * procedure (void -> void) -- so such calls never wait for a handler. */
    bool (*implemented)(const void *impl, uint32_t proc);
    /* The description of this version's procedures and types: far_desc of
     * far_reflect.x, XDR-encoded (fargen builds it), and the .x text it
     * was compiled from; NULL / 0 if none.  The server's reflection program
     * (FAR_REFLECT, far_server_opts.no_reflect) answers with them as they
     * are.  Both must live as long as the server. */
    const uint8_t *type_desc;
    size_t type_desc_len;
    const char *source;
    /* Fields added in later versions go here. */
} far_program_desc;

/* The first two fields of every far_program_desc. */
#define FAR_DESC_SIZES .size = sizeof(far_program_desc), .proc_size = sizeof(far_proc_desc)

/* The default of far_server_opts.max_calls_per_conn. */
#define FAR_SERVER_MAX_CALLS_PER_CONN 64
/* The default of far_server_opts.max_record: the largest request a server
 * takes (a larger one closes the connection, and the server logs why). */
#define FAR_SERVER_MAX_RECORD (1u << 20)

typedef struct far_server_opts {
    unsigned workers;            /* handlers that run at once; 0: the number of cores */
    unsigned max_conns;          /* 0: 4096; past it a connection is refused (the client's
                                  * call fails with FAR_ETOOMANY) */
    uint32_t max_record;         /* largest request (record) taken; 0: FAR_SERVER_MAX_RECORD
                                  * (1 MiB).  A larger one closes its connection (the
                                  * client sees FAR_ECONNLOST) and is logged with its
                                  * size and the client */
    uint32_t idle_timeout_ms;    /* close a connection that has sent no call and taken no
                                  * reply bytes for this long (and has no call running);
                                  * 0: 120000 */
    unsigned max_calls_per_conn; /* calls being served + replies not yet written, per
                                  * connection; past it the connection is not read; 0: 64 */
    unsigned max_workers;        /* when every handler is busy and calls wait, the pool
                                  * grows one handler a millisecond up to this; 0: 64 (or
                                  * `workers` if larger) */
    uint32_t max_list;           /* longest list (linked through optional data) a request
                                  * may hold; 0: FAR_XDR_DEFAULT_MAX_CHAIN (65536).  A
                                  * longer one is answered GARBAGE_ARGS and logged */
    bool require_binder;         /* far_server_start fails (and nothing runs) if a program
                                  * could not be registered with the binder: none answers
                                  * (FAR_ENOBINDER), a running server holds the entry
                                  * (FAR_EADDRINUSE), the binder refused (FAR_EAUTH).
                                  * false: the failure is logged as a warning and the
                                  * server serves by its address alone */
    bool no_drc;                 /* UDP: no duplicate request cache.  With it (the default)
                                  * a call sent again with the same xid (a client that heard
                                  * no reply) is not run again: while it runs the copy is
                                  * dropped, once done it is answered with the same reply */
    uint32_t drc_entries;        /* replies the cache remembers; 0: 4096 */
    size_t drc_bytes;            /* bytes of replies the cache holds; 0: 8 MiB */
    bool no_reflect;             /* do not serve FAR_REFLECT (far_reflect.x), the program
                                  * that lists this server's programs and describes their
                                  * types to `far describe` / `far call`; false: served */
    far_security min_security;   /* every call below this level is denied AUTH_ERROR
                                  * (AUTH_TOOWEAK), and so is a handshake asking for less;
                                  * raise it per program or procedure with
                                  * far_server_set_min_security.  Above FAR_SEC_NONE a
                                  * key lookup (far_server_set_key_lookup) is needed */
} far_server_opts;

/* Creates a server (no sockets, no threads yet).  opts may be NULL.
 * Thread: any. */
FAR_NODISCARD far_err far_server_create(far_server **out, const far_server_opts *opts);

/* Serves program desc->prog version desc->vers with the functions in `impl`
 * (which must outlive the server).  Several programs and versions may be added;
 * adding the same program and version twice is FAR_EMISUSE, and so is adding
 * one once the server has started.  The descriptors are copied.
 * Thread: any, before far_server_start, one at a time per server. */
FAR_NODISCARD far_err far_server_add_program(far_server *s, const far_program_desc *desc,
                                             const void *impl);

/* Listens on `addr`.  If `bound` is not NULL it receives the address actually
 * bound (with the real port when the port was 0).  FAR_EADDRINUSE if another
 * socket holds the address -- for a Unix socket, if a server answers on the
 * path (a stale socket file is replaced).
 * Thread: any, before far_server_start, one at a time per server. */
FAR_NODISCARD far_err far_server_listen(far_server *s, const char *addr, char *bound,
                                        size_t bound_len);

/* Registers every program version on every address, and each program's
 * name, with the binder (farcall/bind.h), starts serving on background
 * threads, and returns.  An entry a running server holds is not taken over
 * (one whose server is gone is); a failure is logged, and fatal only with
 * opts.require_binder.  At stop the server unregisters only the entries
 * that still point at it.  FARCALL_BINDER=none: nothing is registered.
 * Thread: any, once. */
FAR_NODISCARD far_err far_server_start(far_server *s);

/* Serves on background threads until far_server_stop, then returns.
 * Thread: any but the server's own (from a handler: FAR_EMISUSE). */
FAR_NODISCARD far_err far_server_run(far_server *s);

/* Stops gracefully: stops accepting, lets calls in flight finish and send their
 * replies, then closes every connection; the binder is told on a thread of
 * its own.  Thread: any, a handler included; async-signal-safe (it only
 * writes to an eventfd).  Idempotent. */
void far_server_stop(far_server *s);

/* Stops (if running), waits for the threads, and frees everything.
 * far_server_destroy(NULL) does nothing.  Thread: any but the server's own:
 * from a handler it only stops the server (misuse, logged and in
 * far_last_error()); destroy it afterwards from another thread. */
void far_server_destroy(far_server *s);

/* The key of a client: given the identity it claims (`identity`, len bytes,
 * not NUL-terminated, not yet authenticated), write its 32-byte pre-shared
 * key to `key` and return true, or return false to refuse it.  Runs on a
 * server thread in the middle of reading a connection, for each handshake:
 * it must be quick and must not block (RPC2's GetKeys role). */
typedef bool (*far_key_lookup_fn)(const char *identity, size_t len, uint8_t key[FAR_KEY_BYTES],
                                  void *user);
/* A handshake or a protected call refused: `peer` its address
 * (far_svc_req_peer's form), `identity` the claimed identity ("" if none),
 * `reason` in a few words.  Runs on a server thread; must not block. */
typedef void (*far_auth_fail_fn)(const char *peer, const char *identity, const char *reason,
                                 void *user);
/* Sets the key lookup (NULL: every handshake is refused).  Before
 * far_server_start: FAR_OK; FAR_EMISUSE after it.  Thread: any. */
FAR_NODISCARD far_err far_server_set_key_lookup(far_server *s, far_key_lookup_fn fn, void *user);
/* Sets the callback told of every authentication failure (NULL: none; they
 * are logged at debug level either way).  Before far_server_start. */
FAR_NODISCARD far_err far_server_set_auth_fail(far_server *s, far_auth_fail_fn fn, void *user);
/* The minimum level of program `prog` version `vers` (0: every version),
 * or of its procedure `proc` alone if proc >= 0 (-1: the whole program):
 * calls below it are denied AUTH_TOOWEAK.  The highest of the server's
 * min_security, the program's and the procedure's applies.  At most 64
 * rules (FAR_ELIMIT).  Before far_server_start (FAR_EMISUSE after). */
FAR_NODISCARD far_err far_server_set_min_security(far_server *s, uint32_t prog, uint32_t vers,
                                                  int32_t proc, far_security level);
/* The call's security level (FAR_SEC_NONE for a classic or FAR_CTX call
 * without one).  Thread: the handler's. */
far_security far_svc_req_security(const far_svc_req *r);
/* The caller's authenticated identity (NUL-terminated, the name its key
 * was looked up by), or NULL below FAR_SEC_AUTH.  Thread: the handler's. */
const char *far_svc_req_identity(const far_svc_req *r);
/* Accessors for handlers.  Thread: the handler's, while it runs (r is valid
 * until the handler returns). */
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
/* True once the call has been cancelled: its client cancelled it
 * (far_client_cancel, which sends FAR_CTL CANCEL), or its connection closed
 * (the client was destroyed, its process died, the connection was reset),
 * or (FAR_CTX callers) its deadline passed or its client's process
 * restarted.  The reply of a cancelled call is discarded, so a handler that
 * sees it may stop its work and return at once (what it returns is not
 * sent).  Cheap (an atomic load and a clock read): poll it in a long loop.
 * Thread: the handler's. */
bool far_svc_req_cancelled(const far_svc_req *r);
/* The milliseconds left before the caller stops waiting (its FAR_CTX
 * deadline, measured from when the call arrived; 0 once passed), or
 * UINT32_MAX if the call has none (a classic caller).  A far_client_call the
 * handler makes waits no longer than this by itself.  Thread: the
 * handler's. */
uint32_t far_svc_req_remaining_ms(const far_svc_req *r);
/* An arena freed after the reply is sent: allocate results from it. */
far_arena *far_svc_req_arena(far_svc_req *r);
/* For a handler returning FAR_EAUTH: the auth_stat to send. */
void far_svc_req_set_auth_stat(far_svc_req *r, int auth_stat);
/* Registers fn(user) to run once when the call is cancelled by its client
 * (far_client_cancel, FAR_CTL CANCEL), its connection closes, or its
 * deadline passes (a FAR_CTX caller's: a timer of the server's): on the
 * server thread that sees it (the connection's reader), so it must be quick
 * and must not block -- wake the handler (a condition variable, an eventfd),
 * cancel a call the handler is making (far_client_cancel).  If the call is
 * cancelled already (far_svc_req_cancelled), fn runs at once, here.  It may
 * run after the handler has returned, until the reply is dropped: a handler
 * that destroys what fn uses first calls far_svc_req_on_cancel(r, NULL,
 * NULL), which unregisters it and waits for a run in progress.  FAR_OK;
 * FAR_EMISUSE if r is NULL or one is registered (or has run) already.
 * Thread: the handler's. */
FAR_NODISCARD far_err far_svc_req_on_cancel(far_svc_req *r, void (*fn)(void *user), void *user);

#ifdef __cplusplus
}
#endif
#endif
