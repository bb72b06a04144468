/* Hooks: how the client and the server reach the binder layer without
 * knowing it.  The client resolves dynamic addresses ("PROG/VERS@HOST")
 * through a resolver; the server registers its programs at start and
 * unregisters them at stop through a registrar.  src/hooks.c is the one file
 * that knows both sides: it hands the binder layer's (src/bind) to them.  The
 * next ways of finding servers (a cluster registry, say) plug in here. */
#ifndef FARCALL_HOOKS_H
#define FARCALL_HOOKS_H

#include "internal.h"

typedef struct far__prog_vers {
    uint32_t prog, vers;
    const char *name; /* as in the .x file; may be NULL */
} far__prog_vers;

typedef struct far__registrar {
    /* Registers progs x addrs; *reg receives a handle for `down` (NULL:
     * nothing registered).  Returns FAR_OK, or the first failure with its
     * reason in far_last_error() (the server goes on serving unless
     * far_server_opts.require_binder is set).  May block for a bounded
     * time. */
    far_err (*up)(const far__prog_vers *progs, size_t n, const char *const *addrs, size_t naddrs,
                  void **reg);
    /* Unregisters and frees what `up` returned (NULL: nothing). */
    void (*down)(void *reg);
} far__registrar;

typedef struct far__resolver {
    /* True if `spec` is an address this resolver resolves (not tcp://,
     * udp:// or unix:). */
    bool (*is_dynamic)(const char *spec);
    /* Writes the address of what `spec` names into addr[0..n); sets
     * far_last_error() on failure. */
    far_err (*resolve)(const char *spec, char *addr, size_t n);
} far__resolver;

/* Bulk transfer (src/bulk, farcall/bulk.h) sits above the client and the
 * server.  A sync call made with far_call_opts.bulk goes to the bulk layer's
 * driver (handed over by hooks.c), which makes the call and moves its data.
 * The companion program's chunks of data -- a PULL's reply, a PUSH call --
 * go in the stream's bulk class (FAR__WMSG_BULK, net/stream.c), so small
 * calls and replies on the same connection overtake them. */
#define FAR__BULK_PROG      0x20fa0b20u /* src/bulk/far_bulk.x */
#define FAR__BULK_PROC_PULL 2u
#define FAR__BULK_PROC_PUSH 3u
struct far_client;
struct far_call_opts;
struct far_svc_req;
typedef far_err (*far__bulk_call_fn)(struct far_client *c, uint32_t prog, uint32_t vers,
                                     uint32_t proc, far_xdr_encode_fn enc, const void *args,
                                     far_xdr_decode_fn dec, void *res, far_arena *arena,
                                     const struct far_call_opts *opts);
far__bulk_call_fn far__bulk_call_get(void);
/* Where a PULL's results may be opened straight to (the bulk layer's
 * placer, handed over by hooks.c): for a call decoded by `dec`, place(res,
 * ...) with the call's result object, the rest as far__body_place's
 * (msg/msg.h).  The client offers it to the flavor that unwraps the reply
 * of such a call, so that at the privacy level a chunk is decrypted into a
 * memory sink with no copy in between. */
typedef struct far__bulk_placer {
    far_xdr_decode_fn dec;
    bool (*place)(void *res, const uint8_t *head, size_t head_len, size_t plain_len, size_t *at,
                  size_t *len, uint8_t **dst);
} far__bulk_placer;
const far__bulk_placer *far__bulk_placer_get(void);
/* What the bulk layer asks of the client and the server (client.c, req.c):
 * whether a client's calls go on a stream, and a number naming the
 * connection a call came in on (unique in the server's life; 0 for UDP). */
bool far__client_is_stream(const struct far_client *c);
/* When c's last call other than a bulk chunk or FAR_CTL was made
 * (far__now_ns; 0: none yet, or only calls made again): a fetch cuts its
 * chunks into small pieces while such calls come (bulk/client.c). */
uint64_t far__client_small_last(const struct far_client *c);
bool far__io_on_thread(void); /* (clnt/io.c) this thread is the clients' I/O thread */
uint64_t far__svc_req_conn_key(const struct far_svc_req *r);
/* True if a call with this xid is in flight on r's connection. */
bool far__svc_req_conn_has_call(const struct far_svc_req *r, uint32_t xid);
/* Runs fn(arg) once, when the server releases the call object r: its reply
 * written or dropped (a reply that refers to memory by reference no longer
 * does).  One per call; from its handler. */
void far__svc_req_on_done(struct far_svc_req *r, void (*fn)(void *arg), void *arg);
/* A handler about to wait for other calls of its server to run (a bulk
 * transfer's handler, for its chunks; an OPEN, for its call's handler)
 * says so: its handler slot is given back and a thread is started if none
 * is idle, so that waiting handlers never hold every slot and thread
 * (svc/work.c).  False: not done (not on one of the server's threads, or
 * max_workers handlers blocked so already).  far__svc_req_block_end before
 * it goes on (the runtime ends it for a handler that returns blocked). */
bool far__svc_req_block_begin(struct far_svc_req *r);
void far__svc_req_block_end(struct far_svc_req *r);
/* How many handlers of s may be blocked so at once (its max_workers). */
struct far_server;
unsigned far__server_max_blocked(const struct far_server *s);
/* Adds the bulk layer's program to a server as the runtime's own (not
 * registered with the binder, not listed) but run by handlers. */
struct far_program_desc;
far_err far__server_add_own(struct far_server *s, const struct far_program_desc *d,
                            const void *impl);
/* A source of instances: a name that several servers provide (a cluster
 * in etcd, a list of binders; src/cluster).  The client's balancer
 * (clnt/lb.c) opens one per balanced client and is told the whole set of
 * addresses each time it changes. */
typedef void (*far__inst_fn)(void *user, const char *const *addrs, size_t n);
typedef struct far__source {
    /* True if `spec` names several instances (this source's to watch). */
    bool (*is_multi)(const char *spec);
    /* Starts watching `spec`: fn(user, ...) is called once before this
     * returns, with the instances known now, then from the source's own
     * thread whenever the set changes (never two at once).  *prog, *vers
     * receive the program version it names.  On failure (far_last_error
     * says why) fn is never called. */
    far_err (*open)(const char *spec, far__inst_fn fn, void *user, uint32_t *prog, uint32_t *vers,
                    void **src);
    /* Stops: once it returns, fn is never called again. */
    void (*close)(void *src);
} far__source;

/* The hooks in force.  A server takes the registrar when it is created, a
 * client the resolver when it opens. */
const far__registrar *far__registrar_get(void);
const far__resolver *far__resolver_get(void);
const far__source *far__source_get(void);

/* Replaces the hooks (NULL: the binder layer's again): for tests, and for
 * the ways of finding servers still to come. */
void far__hooks_set(const far__resolver *res, const far__registrar *reg);

#endif
