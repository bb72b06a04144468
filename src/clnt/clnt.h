/* The client's internal header: its objects and the functions its files
 * share.  The files, each one job:
 *   client.c  public API and lifecycle: open (through the resolver hook),
 *             destroy (deferred when called from the client's own callback),
 *             sync and async calls, cancel
 *   call.c    call objects (pooled), the xid table, per-call state and its
 *             status text, completing and failing calls
 *   conn.c    the stream connection: connecting within a deadline, sending,
 *             the reader token, waiting for a reply
 *   reply.c   reading replies, matching them to calls, decoding them
 *   udp.c     datagrams: sending, retransmitting, reading
 *   io.c      the I/O thread all clients of a process share: async
 *             completions, timers, writing and reading for async calls
 * docs/architecture.md has the map of the whole runtime. */
#ifndef FARCALL_CLNT_H
#define FARCALL_CLNT_H

#include "farcall/rpc.h"
#include "hooks.h"
#include "msg/msg.h"
#include "net/net.h"

#include <pthread.h>
#include <stdatomic.h>

#define REF_MIN                4096 /* sync calls send opaques this large by reference */
#define UDP_MAX                65536
#define RETRY_CAP_MS           8000
#define CALL_POOL              1024        /* call objects kept for reuse (a pipelined window) */
#define CALL_POOL_BIG          2           /* of them, with an encoder grown past 64 KiB ... */
#define CALL_BIG_MAX           (4u << 20)  /* ... up to this (a large sealed call's buffer) */
#define STEAL_MIN              (64 * 1024) /* replies this large are decoded in place */
#define DIRECT_PEEK            256 /* of a large reply, bytes read before the rest may go to a sink */
#define RESOLVE_BACKOFF_MIN_MS 100
#define RESOLVE_BACKOFF_MAX_MS 5000

typedef struct call call;
typedef struct far__lb far__lb;

/* One call, from the moment it is made until its caller (or callback) is
 * done with it.  Pooled per client. */
struct call {
    far_client *cl;
    uint64_t id; /* far_call_opts.call_id; the xid is its low 32 bits */
    uint32_t xid, prog, vers, proc;
    far_xdr_decode_fn dec;
    void *res;
    far_arena *arena;
    far_call_cb cb;
    void *user;
    bool async, done, in_table, in_outq, decoding;
    bool cancellable; /* sync, with a call_id: its thread reads in a way a cancel can wake */
    uint8_t ctl;      /* a FAR_CTL call the runtime makes (ctl.c): its procedure; 0: a user's */
    int refs;
    uint64_t gen; /* connection it went out on */
    uint64_t deadline, next_retry;
    uint32_t retry_ms;
    far_status st;
    far_xdr_enc enc;
    size_t args_off; /* where the arguments start in enc */
    struct iovec iov[8];
    far__wmsg wm; /* the call on its way out (streams) */
    size_t niov, total;
    uint8_t *flat;
    pthread_cond_t cv;
    far__timer timer;    /* async UDP (or an odd timeout): deadline or next retransmission */
    uint32_t timeout_ms; /* what its deadline was made from */
    far_semantics sem;   /* far_call_opts.semantics (FAR_SEM_DEFAULT: at-most-once) */
    uint8_t key[16];     /* exactly-once: its idempotency key (random), in every send */
    /* Its flavor: the client's FAR_CTX one or the classic one (ctx.c) */
    const far__cauth *auth;
    uint64_t handle;          /* FAR_CTX: the context handle encoded in it ... */
    size_t handle_off;        /* ... at this offset of iov[0] (0: none) */
    uint64_t srv_boot;        /* FAR_CTX: the server's boot when it was sent */
    far__sec_call sec;        /* a protected call: its session (a reference) and seq */
    far_xdr_encode_fn enc_fn; /* ... and its encoder and arguments, to seal it again */
    const void *enc_args;     /* for a new session while its caller is in the call */
    uint8_t resends;          /* times it was sent again after a lost connection */
    int dq;                   /* async: the client's deadline queue it is in, or -1 */
    call *dnext, *dprev;      /* ... its links there */
    call *hnext;              /* xid table chain */
    call *cnext;              /* completion queue, pool */
    call *wnext, *wprev;      /* sync callers waiting to read */
};

struct far_client {
    /* A balanced client (lb.c): opened on a name several servers provide;
     * every call goes to the balancer, the rest of this struct is unused. */
    far__lb *lb;
    /* One instance of a balanced client: a call whose connection went does
     * not wait for the server to come back (client.c, after_loss); the
     * balancer sends it to another instance if its semantics allow. */
    bool lb_member;
    uint64_t uid; /* unique in the process (never reused, unlike the address) */
    /* Test knob (far__client_set_next_key): the key of the next exactly-once
     * call, instead of a random one. */
    uint8_t next_key[16];
    atomic_bool has_next_key;
    far__addr addr;
    char spec[256]; /* as opened ("100003/3@host", or the address) */
    far_client_opts o;
    size_t frag;
    far__cauth auth;
    /* FAR_CTX (ctx.c): the flavor around `auth`, its context, and what the
     * last probe found.  use_ctx: calls are encoded with auth_ctx (set by
     * the connecting thread, read by any encoding one); classic: a server
     * answered as a classic one, or the client may not probe -- no more
     * probes.  srv_boot and the handle are the last INIT reply's (written under
     * mu). */
    far__cauth auth_ctx;
    far__ctx_client ctx;
    atomic_bool use_ctx;
    bool classic;
    bool ctx_seen; /* a connection's probe was answered by FAR_CTX: its server
                    * speaks it, and a reset under a later probe is a reset,
                    * not a classic server hanging up (conn.c) */
    _Atomic uint64_t srv_boot;
    char owner[FAR__CTX_MAX_OWNER + 1];
    uint32_t owner_len;
    /* Security levels (ctx.c, docs/security.md): the level asked for, the
     * identity and key, and the session of the connection's handshake (a
     * reference; replaced by the connecting thread under sess_mu, which is
     * only ever held to take a reference: calls are sealed without it). */
    uint32_t sec_level;
    char identity[FAR__SEC_MAX_IDENTITY + 1];
    uint32_t identity_len;
    uint8_t psk[32];
    far__cauth auth_sec;
    pthread_mutex_t sess_mu;
    far__sec_session *sess;
    int sec_stat; /* the last handshake's refusal (auth_stat), 0: none */
    const far__resolver *resolver;
    /* Dynamic binding (client.c, conn.c): c->spec is resolved again before a
     * connect that follows a lost connection or a failed connect, at most
     * once per back-off (100 ms doubling to 5 s, reset by a connection).
     * addr is the address as opened (its text names the spec), conn_addr
     * the one connected to (read and written by the connecting thread). */
    bool dynamic, reresolve;
    far__addr conn_addr;
    uint64_t next_resolve_ns;
    uint32_t resolve_backoff_ms;
    _Atomic uint64_t next_id;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* connecting, dead fd closed, active callers gone, writer done */
    far__stream st;    /* st.fd: the socket (-1: none); streams: reader and write queue */
    int dead_fd;
    uint64_t gen;
    uint64_t last_io; /* last reply received or connection made */
    bool connected, connecting, destroying;
    int rcv_timeo_ms; /* the socket's SO_RCVTIMEO (0: none) */

    call **tab;
    size_t tabsize, ncalls, nasync;

    bool reading, read_pending;
    call *reader;    /* the sync call whose thread holds the reader token, if any */
    bool reader_got; /* the reader's own reply was completed (written and read by the reader) */
    /* A bulk PULL's reply being received straight into its memory sink
     * (reply.c, a direct span of st.rd): its call, taken out of the table
     * by the reader once the reply's head was in (no deadline or cancel
     * ends it meanwhile, so its sink outlives the span), the sink's range,
     * the connection.  Ended by the reader with the reply, or by
     * far__direct_release.  Under mu. */
    call *direct_k;
    uint8_t *direct_dst;
    size_t direct_len;
    uint64_t direct_gen;
    atomic_uint npull; /* bulk PULLs in the table: the reader peeks at large replies */
    int wakefd;        /* wakes a cancellable sync reader (eventfd; -1 until needed) */
    uint8_t *ubuf;
    call *w_head, *w_tail;

    /* The shared I/O thread (io.c), under mu except where said. */
    void *io;               /* the I/O thread it uses (NULL: none yet) */
    bool io_detach_wanted;  /* being destroyed (under the I/O lock) */
    bool io_fd;             /* its socket is in the I/O thread's loop */
    bool io_flush, io_read; /* work the I/O thread is asked to do */
    bool peer_hup;          /* the I/O thread saw the peer hang up on this connection */
    atomic_bool io_posted;  /* in the I/O thread's list (written under the I/O lock) */
    bool io_detached;       /* the I/O thread has let go of it (under the I/O lock) */
    bool destroy_deferred;  /* far_client_destroy from a callback: done after it */
    far_client *io_next;    /* the I/O thread's list (under the I/O lock) */
    call *comp_head, *comp_tail;
    /* Async calls whose connection went, waiting to be sent again on a new
     * one (client.c: resend_async), and whether the thread that connects
     * again and sends them runs (under mu). */
    call *resend_head, *resend_tail;
    bool resender_on;
    /* Async stream calls wait for their deadlines in FIFOs, one per timeout
     * value in use (deadlines of one timeout come in the order the calls
     * were made), under one timer for the client: a call costs no timer-heap
     * work.  See io.c. */
    struct {
        uint32_t ms;
        call *head, *tail;
    } dq[4];
    far__timer dq_timer;

    int active;           /* sync callers inside */
    atomic_int preparing; /* callers encoding a call (without the lock) */
    call *pool;
    unsigned npool;
    unsigned npool_big; /* of them, holding an encoder larger than 64 KiB */

    /* FAR_CTL and liveness (ctl.c), under mu.  ctl_off_gen: the connection
     * on which the server answered FAR_CTL with PROG_UNAVAIL (a classic
     * server), 0 if none; nctl: FAR_CTL calls in the table; status_k: the
     * STATUS in flight; live_next: the next liveness check (0: none);
     * live_base: when the calls outstanding began; last_rx: when bytes last
     * came from the server (written by the reader without the lock). */
    uint64_t ctl_off_gen, ctl_on_gen; /* ctl_on_gen: ... answered it */
    size_t nctl;
    call *status_k;
    uint64_t status_sent_ns, live_next, live_base;
    _Atomic uint64_t last_rx;
    /* when the last call of the user's (not a bulk transfer's chunk, not
     * the runtime's FAR_CTL) was made: a transfer on this client yields to
     * such calls (far__client_small_last, hooks.h) */
    _Atomic uint64_t small_last;
    far__timer live_timer; /* async clients: the liveness check on the I/O thread */
    unsigned long ctl_cancels_sent, ctl_statuses_sent, ctl_statuses_answered;
};

/* call.c */
call *far__call_get(far_client *c);
/* The calling thread's own call object, made a fresh call of c (no lock);
 * NULL if out of memory.  far__call_refill_scratch (c->mu held) gives the
 * thread its next one from c's pool. */
call *far__call_scratch(far_client *c);
void far__call_refill_scratch(far_client *c);
void far__call_free(call *k);
void far__call_unref(far_client *c, call *k);
void far__call_set_status(far_client *c, call *k, far_err err, const char *detail);
/* Enters k in the xid table; `now`: the time, if the caller has it (0: not). */
void far__tab_insert(far_client *c, call *k, uint64_t now);
void far__tab_remove(far_client *c, call *k);
call *far__tab_find(far_client *c, uint32_t xid);
void far__call_complete(far_client *c, call *k);
/* far__call_complete, but never sent again (an async call's end). */
void far__call_complete_now(far_client *c, call *k);
/* client.c: takes async call k, which lost its connection, to be sent again
 * on a new one if its semantics allow (c->mu held); false: it ends now. */
bool far__call_resend_async(far_client *c, call *k);
/* client.c: ends the calls waiting to be sent again (c->mu held; destroy). */
void far__call_resend_cancel_all(far_client *c, far_err err, const char *why);
void far__call_unlink_outq(far_client *c, call *k);
void far__call_fail_all(far_client *c, uint64_t gen, far_err err, const char *why);
bool far__call_detach_args(far_client *c, call *k);

/* reply.c: ends the direct reply in progress, if any, with err (c->mu
 * held; by the reader, or when no one reads): its sink range wiped, the
 * reader's span cancelled (it reads that connection no more). */
void far__direct_release(far_client *c, far_err err, const char *why);
/* reply.c: bytes received straight into sinks by the process's clients. */
uint64_t far__client_direct_bytes(void);

/* conn.c */
far_err far__conn_ensure(far_client *c, uint64_t deadline);
void far__conn_lost(far_client *c, uint64_t gen, far_err err, const char *why);
void far__conn_maybe_close_dead(far_client *c);
void far__conn_check_idle(far_client *c, uint64_t now);
void far__conn_flush_locked(far_client *c, call *me);
void far__conn_wait_sync(far_client *c, call *k, uint64_t now);
void far__conn_release_reader(far_client *c);

/* reply.c */
bool far__conn_read_once(far_client *c, int fd, uint64_t gen, bool nowait);
bool far__udp_handle(far_client *c, const uint8_t *p, size_t n);

/* udp.c */
void far__udp_send(far_client *c, call *k);
void far__udp_maybe_retry(far_client *c, call *k, uint64_t now);
bool far__udp_read_once(far_client *c, int fd, int flags);

/* ctl.c (c->mu held) */
/* Tells the server that the calls `xids` sent on connection `gen` are
 * cancelled (FAR_CTL CANCEL), unless it is gone or does not serve FAR_CTL. */
void far__ctl_cancel(far_client *c, uint64_t gen, const uint32_t *xids, uint32_t n);
/* UDP, at destroy: far__ctl_cancel of the calls outstanding (at most 64). */
void far__ctl_cancel_outstanding(far_client *c);
/* A FAR_CTL call has completed (far__call_complete). */
void far__ctl_done(far_client *c, call *k);
/* A call of the user's entered the table: liveness watches it (`now`: the
 * time, if known; 0: the clock is read if needed). */
void far__live_note_call(far_client *c, uint64_t now);
/* The liveness check, if its time (c->live_next) has come: a STATUS sent,
 * or the connection given up (FAR_EPEER_DEAD). */
void far__live_check(far_client *c, uint64_t now);
/* Test knob: CANCELs and STATUSes sent, STATUSes answered. */
void far__client_ctl_stats(far_client *c, unsigned long *cancels, unsigned long *statuses,
                           unsigned long *answered);

/* io.c */
far_err far__io_attach(far_client *c);
void far__io_detach(far_client *c);
void far__io_post(far_client *c);
bool far__io_on_thread(void);
void far__io_conn_up(far_client *c);
void far__io_conn_down(far_client *c, int fd);
void far__io_arm(far_client *c, call *k);
void far__io_disarm(far_client *c, call *k);
void far__io_doom(far_client *c);
/* Arms c's liveness timer for c->live_next, if c has the I/O thread. */
void far__io_live_arm(far_client *c);

/* ctx.c */
typedef enum far__probe_res {
    FAR__PROBE_CTX,        /* a farcall server: *handle, *boot */
    FAR__PROBE_CLASSIC,    /* a classic server */
    FAR__PROBE_NONE,       /* no answer (in time), or the connection failed */
    FAR__PROBE_REFUSED,    /* a farcall server at its connection limit */
    FAR__PROBE_BROKEN,     /* a stream connection that failed under it (reset, closed) */
    FAR__PROBE_SEC_DENIED, /* a farcall server refused the handshake (c->sec_stat) */
    FAR__PROBE_SEC_FAILED, /* the server's handshake reply does not verify */
} far__probe_res;
/* Sends the INIT probe on the fresh socket fd and reads its answer, within
 * `deadline` and PROBE_NS (no lock held; nothing else uses fd yet). */
far__probe_res far__ctx_probe(far_client *c, int fd, uint64_t deadline, uint64_t *handle,
                              uint64_t *boot, far__sec_session **sess);
/* The client's current session with a reference, or NULL (any thread). */
far__sec_session *far__client_session(far_client *c);

/* lb.c: the balancer behind a client opened on several instances (the
 * source hook's, hooks.h); client.c hands it the calls of such a client. */
far_err far__lb_open(far_client **out, const char *spec, const far_client_opts *opts,
                     const far__source *sops);
/* far_client_destroy of a balanced client: its calls end (FAR_ECANCELED)
 * and it is freed, with the far_client that holds it -- before this
 * returns, or, from an async callback, by its health thread once that
 * callback has returned and its callers are out. */
void far__lb_destroy(far__lb *lb);
far_err far__lb_call(far__lb *lb, uint32_t prog, uint32_t vers, uint32_t proc,
                     far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec, void *res,
                     far_arena *arena, const far_call_opts *opts);
far_err far__lb_call_async(far__lb *lb, uint32_t prog, uint32_t vers, uint32_t proc,
                           far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec,
                           void *res, far_arena *arena, const far_call_opts *opts, far_call_cb cb,
                           void *user);
far_err far__lb_cancel(far__lb *lb, uint64_t call_id);
/* Test knob: balanced clients opened and not yet freed. */
unsigned far__lb_alive(void);

/* client.c */
void far__client_free(far_client *c);
/* Test knob: the next exactly-once call of c has idempotency key `key`
 * (16 bytes), as if a client reused one (FAR_EIDEMPOTENCY, a replay). */
void far__client_set_next_key(far_client *c, const uint8_t *key);
/* Test knob: calls in record fragments of at most `frag` bytes (0: one). */
void far__client_set_max_fragment(far_client *c, size_t frag);
void far__client_destroy_now(far_client *c);
/* What far_client_destroy does first, without the end: every call of c
 * fails with FAR_ECANCELED (sync callers wake, async callbacks are due on
 * the I/O thread) and later ones with FAR_ECLOSED; c is destroyed later
 * (a balanced client's instances, lb.c).  NULL: nothing. */
void far__client_cancel_all(far_client *c);
/* Encodes call k (its fields set) as far_client_call does (c->mu may be held). */
far_err far__call_encode(far_client *c, call *k, far_xdr_encode_fn enc, const void *args);

#endif
