/* farcall — bulk transfer bound to a call (RPC2's side effects; docs/bulk.md).
 *
 * A server handler starts a transfer bound to the call it is serving: a
 * fetch (server to client) or a store (client to server) of a file (by path
 * or descriptor) or of memory.  far_bulk_start returns at once; the handler
 * then waits for the transfer (far_bulk_wait, with a timeout, or 0 to poll)
 * and returns its reply, which the client gets once the data has moved.
 *
 * The client names where the data comes from (store) or goes to (fetch) when
 * it makes the call, with far_call_opts.bulk: any stub, or far_client_call,
 * then moves the data while the call is in progress, with ordinary calls of
 * the companion program FAR_BULK (src/bulk/far_bulk.x) on the call's own
 * connection -- a window of chunks in flight, each checked with XXH3-64, the
 * whole transfer with XXH3-128.  TCP and Unix sockets only: over UDP both
 * sides refuse (FAR_EUNSUPPORTED).
 *
 * A transfer cut by a lost connection is resumed by calling again with the
 * same far_bulk_spec: it remembers how far the data got, and the next
 * attempt sends only the rest (at most one window again).  A file being
 * received is written under a temporary name and renamed when complete and
 * checked: a partial file never appears under the final name.
 *
 * The receiving side decides what it takes: the server its largest
 * transfer and its disk budget (far_bulk_server_opts, far_bulk_desc), the
 * client the most bytes it accepts (far_bulk_spec.max_bytes, the size of its
 * buffer).  A sender that stalls for stall_ms fails the transfer
 * (FAR_ETIMEDOUT).
 *
 * Security: a transfer runs at the security level of its connection (today:
 * the connection's flavor; privacy when "security levels" lands: the chunks
 * are ordinary calls, so they are protected as any call is). */
#ifndef FARCALL_BULK_H
#define FARCALL_BULK_H

#include <stdint.h>

#include "farcall/rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the bytes of a transfer are. */
typedef enum far_bulk_kind {
    FAR_BULK_NONE = 0,
    FAR_BULK_PATH = 1, /* a file by name: read, or written under a temporary name and renamed */
    FAR_BULK_FD = 2,   /* an open descriptor, from `offset` (pread/pwrite: its offset stays) */
    FAR_BULK_MEM = 3,  /* memory: `mem`, `len` bytes (a source) or room for them (a sink) */
} far_bulk_kind;

/* Progress: `done` of `total` bytes (total: the source's size; for a store
 * the server learns it at the end, so its total is 0 until then).  Never
 * called under a lock of the runtime: the client's on the thread that made
 * the call, the server's on a server thread (keep it short). */
typedef void (*far_bulk_progress_fn)(uint64_t done, uint64_t total, void *user);

/* ----------------------------------------------------------------- client */

/* The client's side of one call's transfer: far_call_opts.bulk points here.
 * Which way the data goes is the server's to say (its handler starts a fetch
 * or a store); the spec says where it comes from or goes to.  Fill in the
 * inputs, zero the rest; keep the spec for a second attempt after a lost
 * connection (the outputs say how far the first one got).  One call at a
 * time per spec. */
typedef struct far_bulk_spec {
    far_bulk_kind kind;
    const char *path;   /* FAR_BULK_PATH: a fetch writes `path`.far-part, renamed to
                         * `path` when complete and checked (mode 0644 less the umask) */
    int fd;             /* FAR_BULK_FD */
    void *mem;          /* FAR_BULK_MEM: the source (a store) or the sink (a fetch) */
    uint64_t len;       /* FAR_BULK_MEM: its bytes (store) or room (fetch); FAR_BULK_FD
                         * store: the bytes to send (0: to the end of the file) */
    uint64_t offset;    /* FAR_BULK_FD: where the data starts in the file */
    uint64_t max_bytes; /* a fetch: the largest accepted (0: no limit but the memory's);
                         * a larger one fails with FAR_ELIMIT and cancels the call */
    uint32_t window;    /* chunks in flight; 0: 4 (the server may take fewer) */
    uint32_t stall_ms;  /* a chunk unanswered this long fails the transfer; 0: 30000 */
    far_bulk_progress_fn on_progress;
    void *user;
    /* Outputs (and the state a second attempt resumes from). */
    uint64_t size;            /* the transfer's size, once known */
    uint64_t done;            /* bytes received in order (fetch) or acknowledged (store) */
    uint64_t sent_bytes;      /* data bytes this attempt put on the wire (resent ones too) */
    uint64_t token;           /* the server's name for the last attempt's transfer */
    uint64_t etag;            /* fetch: the source's identity, for resuming */
    uint32_t checksum_errors; /* chunks that arrived damaged (and were sent again) */
    far_err err; /* the transfer's outcome: FAR_OK, why it failed, or FAR_ECANCELED if the
                  * handler started none (the call's own outcome is returned as it is) */
} far_bulk_spec;

/* Resets the outputs of `sp` (a new transfer rather than a resumed one) and
 * removes a fetch's partial file (`path`.far-part). */
void far_bulk_spec_reset(far_bulk_spec *sp);

/* ----------------------------------------------------------------- server */

typedef struct far_bulk_server far_bulk_server;
typedef struct far_bulk far_bulk; /* one transfer */

typedef struct far_bulk_server_opts {
    uint64_t max_transfer; /* largest store taken; 0: 1 TiB */
    uint64_t disk_budget;  /* bytes all stores to files may hold at once (partial files
                            * kept for resuming included); 0: 16 GiB */
    uint32_t chunk;        /* bytes per chunk; 0: 256 KiB; at most FAR_BULK_MAXCHUNK */
    uint32_t window;       /* chunks a client may have in flight; 0: 4 */
    uint32_t stall_ms;     /* a transfer with no chunk for this long fails; 0: 30000 */
    uint32_t resume_ms;    /* a cut store's partial file is kept this long; 0: 60000 */
    unsigned max_parked;   /* cut stores kept for resuming at once; 0: 64 */
} far_bulk_server_opts;

/* Serves FAR_BULK on `s` (before far_server_start): the program the clients
 * move the data with.  opts may be NULL.  On success *out owns the bulk
 * server; destroy it after the server.  FAR_EMISUSE if s has started.
 * Thread: any, before far_server_start. */
FAR_NODISCARD far_err far_bulk_server_create(far_bulk_server **out, far_server *s,
                                             const far_bulk_server_opts *opts);
/* Frees it and removes the partial files it kept.  NULL: nothing.  Thread:
 * any, after far_server_destroy. */
void far_bulk_server_destroy(far_bulk_server *bs);

typedef enum far_bulk_direction {
    FAR_BULK_DIR_FETCH = 1, /* server to client */
    FAR_BULK_DIR_STORE = 2, /* client to server */
} far_bulk_direction;

/* What a handler transfers. */
typedef struct far_bulk_desc {
    far_bulk_direction dir;
    far_bulk_kind kind;
    const char *path;   /* FAR_BULK_PATH: the file to send, or to write (under a temporary
                         * name in the same directory, renamed when complete) */
    int fd;             /* FAR_BULK_FD */
    void *mem;          /* FAR_BULK_MEM: the data (fetch) or room for it (store) */
    uint64_t len;       /* FAR_BULK_MEM: its bytes or room; FAR_BULK_FD fetch: the bytes to
                         * send (0: to the end of the file) */
    uint64_t offset;    /* FAR_BULK_FD: where the data starts */
    uint64_t max_bytes; /* a store: the most taken (0: the server's max_transfer) */
    uint64_t etag;      /* a fetch from memory: names this content, so a cut transfer
                         * can resume (0: it starts over); files: their identity */
    far_bulk_progress_fn on_progress;
    void *user;
} far_bulk_desc;

/* Starts the transfer `d` bound to the call `r` being served, and returns at
 * once: the client moves the data while the handler waits.  The call's
 * cancellation (its client cancels it, its connection closes) ends the
 * transfer (FAR_ECANCELED): the handler must not register its own
 * far_svc_req_on_cancel.  One transfer per call.  d is copied (the memory and
 * descriptor it names must stay valid until far_bulk_destroy).  On success
 * *out owns the transfer: far_bulk_destroy it before the handler returns.
 * FAR_EUNSUPPORTED over UDP; FAR_EIO if the file cannot be opened (errno in
 * far_last_error()); FAR_EMISUSE for a bad descriptor or a second transfer;
 * FAR_ELIMIT when the server runs as many transfers as its max_workers
 * already (each one's handler waits while its chunks, which are calls too,
 * run: more could leave them no thread).
 * Thread: the handler's. */
FAR_NODISCARD far_err far_bulk_start(far_bulk_server *bs, far_svc_req *r, const far_bulk_desc *d,
                                     far_bulk **out);

/* Waits up to timeout_ms (0: polls; UINT32_MAX: until it ends) for the
 * transfer to end:
 *   FAR_OK          complete and checked (a store's file renamed to its name);
 *   FAR_ECLOSED     still running when the timeout passed (poll again);
 *   FAR_ECANCELED   the call was cancelled or its connection lost;
 *   FAR_ETIMEDOUT   the sender stalled (stall_ms);
 *   FAR_EPROTO      a checksum did not match, or the peer broke the protocol;
 *   FAR_ELIMIT      larger than allowed (max_bytes, the disk budget);
 *   FAR_EIO         reading or writing the file failed.
 * While it waits, the handler's slot is given back to the server (the
 * transfer's chunk calls need handlers too), so waiting transfers never
 * starve the server's other calls.
 * Thread: the handler's. */
FAR_NODISCARD far_err far_bulk_wait(far_bulk *t, uint32_t timeout_ms);

/* Bytes moved so far and the size (0 for a store until it ends). */
void far_bulk_progress(const far_bulk *t, uint64_t *done, uint64_t *total);

/* Ends the transfer (cancelling it if still running) and frees it.  A store
 * that did not complete leaves no file under its name.  NULL: nothing.
 * Thread: the handler's, before it returns. */
void far_bulk_destroy(far_bulk *t);

#ifdef __cplusplus
}
#endif
#endif
