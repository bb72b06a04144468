/* The server's internal header: its objects and the functions its files
 * share.  The files, each one job:
 *   server.c    public API and lifecycle: create, add_program, listen, start,
 *               run, stop, destroy; the registrar hook
 *   work.c      the threads: lanes of queued calls, the ready ring, handler
 *               slots, the pool that grows, the event loop's dispatch
 *   conn.c      one stream connection: its lifetime, the table of its calls
 *               in flight, closing it; the idle sweep
 *   read.c      reading a connection: records into calls, pausing
 *   write.c     writing a connection's replies, one by one and in batches
 *   dispatch.c  one call's stages, parse -> authenticate -> (cache lookup) ->
 *               decode -> invoke -> encode -> (cache store) -> send
 *   accept.c    accepting, running out of descriptors, refusing past max_conns
 *   udp.c       datagrams
 *   req.c       call objects and the accessors handlers use
 *   reflect.c   the reflection program FAR_REFLECT, the runtime's own
 *   ctl.c       the control program FAR_CTL (cancel, status), the runtime's own
 * docs/architecture.md has the map of the whole runtime. */
#ifndef FARCALL_SVC_H
#define FARCALL_SVC_H

#include "farcall/rpc.h"
#include "farcall/store.h"
#include "hooks.h"
#include "msg/msg.h"
#include "net/net.h"
#include "svc/drc.h"

#include <pthread.h>
#include <stdatomic.h>

/* epoll data: tag, generation, index. */
#define EV_TAG(v)        ((unsigned)((v) >> 56))
#define EV_GEN(v)        ((uint32_t)((v) >> 24))
#define EV_IDX(v)        ((uint32_t)((v)&0xffffff))
#define EV_MAKE(t, g, i) (((uint64_t)(t) << 56) | ((uint64_t)(g) << 24) | (uint64_t)(i))
enum { TAG_CONN = 1, TAG_LISTEN, TAG_STOP, TAG_EXIT };

#define MAX_LISTENERS 32
#define KICK_NS       1000000     /* queued work waits at most this for a helper */
#define TRIM_NS       1000000000u /* a connection quiet this long gives back big buffers */
#define HELD_MIN      (4u << 20)  /* request + reply bytes one connection may hold (at least) */

enum { ST_CREATED, ST_RUNNING, ST_STOPPING, ST_STOPPED };

#define FAR__SVC_DONE_RING 16 /* answered xids a connection remembers (FAR_CTL STATUS) */

typedef struct conn conn;
typedef struct lane lane;
typedef struct far__ctx_table far__ctx_table;

/* What the first stages decided about a call. */
typedef enum far__front {
    FRONT_DROP,    /* not a call, or too short to answer: no reply */
    FRONT_REPLY,   /* answered by the runtime: the reply is in r->enc */
    FRONT_HANDLER, /* needs its procedure's handler */
} far__front;

/* A program version served: the caller's descriptors copied at
 * far_server_add_program into the layout this library was compiled with
 * (fields the caller's code did not have are zero). */
typedef struct svc_prog {
    const far_program_desc *d; /* the copy (malloc'ed); d->procs the copied procedures */
    const void *impl;
    /* The runtime's own (FAR_REFLECT, reflect.c; FAR_CTL, ctl.c): answered
     * in the front stages, never registered with the binder, not listed. */
    bool runtime;
    /* The bulk layer's FAR_BULK (far__server_add_own): the runtime's own as
     * well (not registered, not listed), but run by handlers like the user's:
     * its calls read and write files. */
    bool own;
} svc_prog;

/* One call being served (the public far_svc_req). */
struct far_svc_req {
    far_server *s;
    conn *c;    /* NULL for UDP */
    int udp_fd; /* UDP: the socket it came in on */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    far__transport t;
    const uint8_t *in; /* the record / datagram */
    size_t in_len;
    size_t args_off;     /* where the arguments start in `in` */
    const uint8_t *args; /* the arguments once unwrapped (a protected call's plaintext), */
    size_t args_len;     /* in `in` or the arena; NULL before the decode stage */
    size_t held;         /* bytes counted against the connection's budget */
    uint8_t *inbuf;      /* owned copy space (kept across uses) */
    size_t inbuf_cap;
    uint8_t *stolen; /* a large record's buffer, freed after the reply */
    size_t stolen_cap;
    bool udp_counted; /* counted in s->udp_waiting */
    bool blocked;     /* its handler is blocked on other calls (block_begin) */
    bool in_table;    /* in its connection's table of calls in flight */
    /* far_svc_req_on_cancel (req.c): the handler's callback and where it is
     * (CANCEL_CB_*); cancel_next links the callbacks a canceller runs once it
     * has let go of the connection's lock. */
    void (*cancel_fn)(void *user);
    void *cancel_user;
    atomic_int cancel_cb;
    far_svc_req *cancel_next;
    /* A handler's cancel callback that its deadline must fire too: watched
     * by the server's deadline timer (req.c), under far_server.dlmu. */
    far_svc_req *dl_next, *dl_prev;
    bool dl_watched; /* in the list (under dlmu) */
    bool dl_ever;    /* was put in it (by its handler's thread; read at its end) */
    /* far__svc_req_on_done (hooks.h): run once when the call object is
     * released, its reply written or dropped (the bulk layer's memory a
     * reply refers to may then go) */
    void (*done_fn)(void *arg);
    void *done_arg;
    /* Cancelled (FAR_CTL CANCEL, or its connection closed): a call not yet
     * started is not run, a running one's handler sees it
     * (far_svc_req_cancelled), and no reply is sent.  Set under c->mu. */
    atomic_bool cancelled;
    conn *reading;   /* streams: the connection being read, in the front stages
                      * (c is set after them, with its reference) */
    uint64_t *clock; /* streams, in the front stages: the reader's time of the
                      * bytes read (0: not read yet), far__svc_req_now */
    far__call_hdr h;
    const svc_prog *sp;
    const far_proc_desc *pd;
    far__sauth auth;
    far__drc_entry *drc; /* UDP: its entry in the duplicate request cache, until done */
    void *txn;           /* exactly-once: its transaction of the reply store (store.c) */
    bool eo_active;      /* ... open, committed or rolled back by far__svc_eo_end */
    int auth_stat;       /* for a handler returning FAR_EAUTH */
    /* FAR_CTX (ctx.c): the caller's context (a reference), and when the
     * caller stops waiting (far__now_ns time; 0: never said) */
    struct svc_ctx *ctx;
    uint64_t deadline_ns;
    far_arena arena;
    far_xdr_enc enc;
    struct iovec iov[8];
    far__wmsg wm; /* the reply on its way out (streams; kind WM_REPLY) */
    size_t niov, total;
    uint8_t *flat;
    far_svc_req *next;  /* lane, lists */
    far_svc_req *hnext; /* the connection's table of calls in flight */
    char peerbuf[80];
    uint64_t arena_block[256];
};

/* What a message on a connection's stream is part of (far__wmsg.kind). */
enum { WM_REPLY = 0, WM_BATCH = 1 };

/* Replies the runtime answered itself while reading a connection, written as
 * one message: a pipelined stream of NULL calls (health checks, a client
 * probing) costs no call object per call. */
typedef struct rbatch {
    far__wmsg wm; /* kind WM_BATCH */
    struct iovec iov;
    unsigned n; /* replies in it */
    uint8_t *buf;
    size_t len, cap;
} rbatch;

/* The calls of one connection, or of one UDP socket, waiting for a handler
 * (under far_server.qmu). */
struct lane {
    far_svc_req *head, *tail;
    unsigned n;
    bool ready;          /* in the ready ring */
    lane *rnext, *rprev; /* the ready ring */
};

struct conn {
    far_server *s;
    uint32_t idx, gen;
    far__transport t;
    atomic_int refs;
    atomic_uint queued; /* = ln.n, read without the queue lock */
    atomic_bool hup;    /* the peer hung up (or an error) */
    atomic_bool dead;   /* closed: nothing more is read, run or written */
    pthread_mutex_t mu;
    far__stream st; /* socket, record reader, replies to write (under mu) */
    bool reading, read_again, paused;
    unsigned inflight; /* calls read and not yet answered (queued or running) */
    unsigned outq;     /* replies queued and not yet written: they count against
                        * max_calls_per_conn too, or a client that never reads
                        * its replies would make the server queue them without end */
    size_t held;       /* request and reply bytes of those, against the budget */
    /* The calls in flight by xid (under mu): read, and not yet answered. */
    far_svc_req **calls;
    size_t calls_size, ncalls;
    /* The xids of the last calls answered (under mu), for FAR_CTL STATUS's
     * DONE: a ring. */
    uint32_t done_xids[FAR__SVC_DONE_RING];
    unsigned done_pos, done_n;
    lane ln;
    rbatch *batch_spare; /* one written batch kept for the next (under mu) */
    uint8_t *spare;      /* a stolen record buffer given back (under mu), for the reader */
    size_t spare_cap;
    /* When the connection last made progress: a complete call received or
     * reply bytes written.  The idle sweep measures from here. */
    _Atomic uint64_t last_active;
    /* The FAR_CTX context of the last call read (with a reference), so a
     * connection's calls find theirs without the server-wide table's lock.
     * Only the connection's reader touches it (far__svc_ctx_attach). */
    struct svc_ctx *ctx_last;
    char peer[80]; /* the peer's address (far_svc_req_peer) */
    /* The peer for the log: its address, or for a Unix socket (whose
     * clients have no address) the socket and the client's pid and uid. */
    char who[200];
};

typedef struct listener {
    int fd;
    far__transport t;
    bool accepting, again, starved; /* under far_server.mu */
    lane ln;                        /* UDP: requests waiting for a handler */
    char path[128];                 /* unix: unlinked at stop */
    char bound[128];                /* the address it is bound to (for the registrar) */
} listener;

typedef struct slot {
    conn *c;
    uint32_t gen;
} slot;

struct far_server {
    far_server_opts o;
    far__drc *drc;        /* the duplicate request cache of UDP calls (drc.h); NULL: no_drc */
    far__ctx_table *ctxs; /* FAR_CTX contexts (ctx.c) */
    /* The durable reply store of exactly-once calls (store.c), if set. */
    far_reply_store store;
    void *store_ctx;
    bool has_store;
    /* Security levels (sec.c): the key lookup, the failure callback, the
     * minimum levels per program and procedure (fixed once started). */
    far_key_lookup_fn key_lookup;
    void *key_lookup_user;
    far_auth_fail_fn auth_fail;
    void *auth_fail_user;
    struct far__sec_rule {
        uint32_t prog, vers;
        int32_t proc;
        uint32_t level;
    } sec_rules[64];
    unsigned nsec_rules;
    bool sec_any_rules; /* a rule or min_security above none */
    atomic_ulong sec_failures;
    /* UDP requests read and not yet finished.  UDP has no connection to stop
     * reading, so past FAR__UDP_WAIT_MAX further datagrams are read and
     * dropped (as a full socket buffer would; clients retransmit) rather than
     * queued without end behind slow handlers. */
    atomic_uint udp_waiting;
    far__ratelimit udp_drops;
    size_t frag;
    size_t held_max; /* per-connection byte budget */
    svc_prog *progs;
    size_t nprogs;
    far__loop loop;
    int stopfd, exitfd, reserve_fd;
    far__timer sweep_timer, kick_timer;
    /* Calls whose cancel callback fires at their deadline (req.c): at most
     * one per running handler, so a list; the timer is armed for the
     * earliest. */
    pthread_mutex_t dlmu;
    far_svc_req *dl_head;
    far__timer dl_timer;
    uint64_t sweep_ns;
    atomic_bool kick_armed;
    listener lst[MAX_LISTENERS];
    unsigned nlst;

    pthread_mutex_t slots_mu;
    slot *slots;
    uint32_t *free_idx;
    uint32_t nfree;
    unsigned nconns;

    pthread_mutex_t qmu; /* lanes and the ready ring */
    lane *ready;         /* head of the ready ring (NULL: empty) */
    atomic_int qlen;
    atomic_uint idle;
    atomic_uint busy;             /* handlers running (not counting those blocked) */
    atomic_uint blocked;          /* handlers blocked on other calls (work.c) */
    atomic_uint cap;              /* handlers allowed to run at once: workers .. max_workers */
    atomic_ulong completed;       /* handlers that have returned */
    unsigned long seen_completed; /* ... when the kick timer last looked (under mu) */

    pthread_mutex_t pool_mu;
    far_svc_req *pool;
    unsigned npool;

    pthread_mutex_t mu; /* state, threads, listeners */
    pthread_cond_t cv;
    atomic_int state;
    atomic_long inflight; /* requests parsed and not yet answered */
    atomic_bool stop_done;
    pthread_t *threads; /* max_workers + 1, and one more per handler blocked */
    unsigned nthreads;
    bool joined;
    uint64_t last_emfile_log;
    far__ratelimit refusals;   /* connections refused at max_conns */
    far__ratelimit arg_limits; /* calls refused by a decoding limit (max_list, ...) */
    /* Registration with the binder (the registrar hook): made at start,
     * undone at stop on a thread of its own, so no worker waits for it. */
    const far__registrar *registrar;
    void *registration;
    pthread_t unreg_thread;
    bool unreg_started;
    bool starting; /* far_server_start is registering (under mu) */
    /* FAR_CTL calls answered, and calls they cancelled (ctl.c), for the
     * tests and the log. */
    atomic_ulong ctl_cancels, ctl_statuses, ctl_cancelled;
};

/* work.c */
bool far__svc_slot_acquire(far_server *s);
void far__svc_queue_push(far_server *s, lane *l, conn *c, far_svc_req *first, far_svc_req *last,
                         int n, bool wake);
far_svc_req *far__svc_lane_take_all(far_server *s, lane *l);
void far__svc_kick_later(far_server *s);
void far__svc_kick_fired(far__timer *t, void *arg);
/* req.c: the deadline timer's callback; r watched no more (before r ends). */
void far__svc_dl_fired(far__timer *t, void *arg);
void far__svc_dl_unwatch(far_svc_req *r);
void *far__svc_worker(void *arg);
/* True on one of s's own threads (a handler of s is running here). */
bool far__svc_on_worker(const far_server *s);

/* req.c */
far_svc_req *far__svc_req_get(far_server *s);
/* Makes r ready for another record (the reader's scratch object). */
void far__svc_req_reset(far_svc_req *r);
void far__svc_req_put(far_server *s, far_svc_req *r);
bool far__svc_req_copy_in(far_svc_req *r, const uint8_t *p, size_t n);
void far__svc_req_done_count(far_server *s);
void far__svc_req_free(far_svc_req *r);
void far__svc_req_cache_flush(far_server *s);

/* dispatch.c */
far__front far__svc_front(far_server *s, far_svc_req *r);
bool far__svc_reply_finish(far_server *s, far_svc_req *r);
void far__svc_run(far_server *s, far_svc_req *r);
void far__svc_dispatch(far_server *s, lane *l, conn *c, far_svc_req *first, far_svc_req *last,
                       int n);

/* conn.c, read.c, write.c: one connection */
void far__svc_calls_insert(conn *c, far_svc_req *r);
void far__svc_calls_remove(conn *c, far_svc_req *r);
far_svc_req *far__svc_calls_find(conn *c, uint32_t xid); /* c->mu held */
void far__svc_drop_list(far_server *s, conn *c, far_svc_req *r, bool waiting);
bool far__svc_batch_add(conn *c, rbatch **bp, far_svc_req *r);
void far__svc_batch_queue(conn *c, rbatch *b);
bool far__svc_batch_send(far_server *s, conn *c, rbatch *b);
far_svc_req *far__svc_split_msgs(far__wmsg *m, rbatch **batches, unsigned *nreplies, size_t *bytes);
void far__svc_drop_msgs(far_server *s, conn *c, far_svc_req *reqs, rbatch *batches, size_t bytes);
void far__svc_flush_locked(far_server *s, conn *c);
bool far__svc_conn_full(far_server *s, conn *c);
bool far__svc_may_resume(far_server *s, conn *c);
void far__svc_send_replies(far_server *s, conn *c, far_svc_req *first, unsigned n,
                           bool *resume_out);
/* The caller for the log: its address, or for a Unix socket the socket and
 * the client's pid and uid (conn.who). */
const char *far__svc_req_who(const far_svc_req *r);
conn *far__svc_conn_new(far_server *s, int fd, far__transport t, const struct sockaddr *peer,
                        socklen_t plen, const char *local);
conn *far__svc_conn_lookup(far_server *s, uint64_t v);
void far__svc_conn_put(conn *c);
void far__svc_conn_kill(conn *c, const char *why);
void far__svc_conn_read(far_server *s, conn *c);
void far__svc_conn_flush(far_server *s, conn *c, bool from_event);
void far__svc_conn_send(far_server *s, conn *c, far_svc_req *first, far_svc_req *last, unsigned n);
void far__svc_conn_drop_call(far_server *s, conn *c, far_svc_req *r);
void far__svc_sweep(far__timer *t, void *arg);
/* The call with `xid` in flight on r's connection (r itself, or another call
 * read and not yet answered), or NULL; for UDP, NULL. */
far_svc_req *far__svc_find_call(far_svc_req *r, uint32_t xid);

/* accept.c */
void far__svc_accept_all(far_server *s, listener *l);

/* udp.c */
void far__svc_udp_read(far_server *s, listener *l);
void far__svc_udp_reply(far_svc_req *r);

/* reflect.c */
/* Adds FAR_REFLECT to s's programs unless opts.no_reflect, or the user has a
 * program at its number, or it is there already.  At far_server_start. */
far_err far__svc_reflect_add(far_server *s);

/* ctl.c */
/* Adds FAR_CTL to s's programs unless the user has a program at its
 * number, or it is there already.  At far_server_start. */
far_err far__svc_ctl_add(far_server *s);
/* True if the record p..p+n is a call of FAR_CTL (the reader makes the calls
 * before it visible in the connection's table first). */
bool far__svc_ctl_is_ctl(const uint8_t *p, size_t n);
/* Cancels the call r of connection c (c->mu held): it is marked, and
 * counted.  False if it was cancelled already. */
bool far__svc_cancel_locked(conn *c, far_svc_req *r);
/* The cancel callbacks (far_svc_req_on_cancel) of a call: none, set,
 * running (the canceller calls it), fired, closed (the call left its
 * connection's table: no callback may run any more). */
enum { CANCEL_CB_NONE, CANCEL_CB_SET, CANCEL_CB_RUNNING, CANCEL_CB_FIRED, CANCEL_CB_CLOSED };
/* No cancel callback of r runs from now on: r has left the place a
 * canceller finds it in (its connection's table; for UDP its cache entry),
 * and one running now is waited for (its canceller holds no lock while it
 * runs). */
static inline void far__svc_req_cancel_close(far_svc_req *r)
{
    for (;;) {
        int st = atomic_load(&r->cancel_cb);
        if (st == CANCEL_CB_RUNNING) {
            sched_yield();
            continue;
        }
        if (atomic_compare_exchange_weak(&r->cancel_cb, &st, CANCEL_CB_CLOSED))
            break;
    }
}
/* Marks every call in c's table cancelled (c->mu held; its connection
 * closed) and returns those whose callback is now the caller's to run, for
 * far__svc_run_cancel_cbs once c->mu is let go. */
far_svc_req *far__svc_cancel_all_locked(conn *c);
void far__svc_run_cancel_cbs(far_svc_req *list);
/* Test knob: the FAR_CTL calls s has answered and the calls they cancelled. */
void far__server_ctl_stats(far_server *s, unsigned long *cancels, unsigned long *statuses,
                           unsigned long *cancelled);

/* dispatch.c: a call's semantics (far_semantics, never FAR_SEM_DEFAULT):
 * what a FAR_CTX call asks for (other than at-most-once), else its
 * procedure's (far_proc_desc.semantics), at-most-once if it has none. */
far_semantics far__svc_req_semantics(const far_svc_req *r);
/* True if the duplicate request cache keeps r: not a may-be or
 * at-least-once call. */
bool far__svc_req_cached(const far_svc_req *r);

/* ctx.c: FAR_CTX contexts */
/* One life of one client: (owner, boot), named by its handle. */
typedef struct svc_ctx {
    uint64_t handle;
    uint8_t owner[FAR__CTX_MAX_OWNER];
    uint32_t owner_len;
    uint64_t boot;
    atomic_bool dead;         /* a newer boot of its owner came: its calls are cancelled */
    atomic_int refs;          /* the table's and each call's */
    atomic_bool gone;         /* out of the table: its handle names it no more */
    _Atomic uint64_t last_ns; /* last used (relaxed: the eviction's order only) */
    struct svc_ctx *hnext, *onext;
    far__sec_session *sec; /* a protected context's session (sec.c), fixed once made; NULL */
} svc_ctx;
far__ctx_table *far__ctx_table_create(void);
void far__ctx_table_destroy(far__ctx_table *t);
/* INIT: the handle of (owner, boot), made if new; an older boot of the owner
 * is marked dead and forgotten.  FAR_OK or FAR_ENOMEM. */
far_err far__svc_ctx_init(far_server *s, const uint8_t *owner, uint32_t owner_len, uint64_t boot,
                          uint64_t *handle);
/* The context named by handle, with a reference (far__svc_ctx_put), or NULL. */
svc_ctx *far__svc_ctx_get(far_server *s, uint64_t handle, uint64_t now);
void far__svc_ctx_put(svc_ctx *x);
/* Client lives ended by a newer boot, since the server was created. */
unsigned long far__svc_ctx_restarts(far_server *s);
typedef enum far__ctx_res {
    FAR__CTX_R_DATA,    /* r->ctx and r->deadline_ns set */
    FAR__CTX_R_INIT,    /* answer SUCCESS: the verifier is set */
    FAR__CTX_R_UNKNOWN, /* a handle this server life never gave out: deny CTXPROBLEM */
    FAR__CTX_R_DROP,    /* out of memory */
    FAR__CTX_R_DENY,    /* deny AUTH_ERROR with r->auth_stat (sec.c) */
} far__ctx_res;
/* A protected context (sec.c): a fresh handle, and the context made with
 * it holding sess (a reference moves to it).  Not found by owner: each
 * handshake is its own context.  FAR_OK or FAR_ENOMEM. */
uint64_t far__svc_ctx_new_handle(far_server *s);
far_err far__svc_ctx_add_secure(far_server *s, const uint8_t *owner, uint32_t owner_len,
                                uint64_t boot, uint64_t handle, far__sec_session *sess);
uint64_t far__svc_ctx_boot(far_server *s);
/* sec.c: the handshake of an INIT call that carries one (R_INIT: the
 * verifier and r->auth.init_res set; R_DENY; R_DROP). */
far__ctx_res far__svc_sec_init(far_server *s, far_svc_req *r);
/* sec.c: a DATA call's protection checked against its context x:
 * R_DATA (r->auth is the protected flavor's, r->auth.replayed said) or
 * R_DENY. */
far__ctx_res far__svc_sec_check(far_server *s, far_svc_req *r, svc_ctx *x);
/* sec.c: the auth_stat to deny r with if it is below the level its program
 * and procedure need (its program found), else 0. */
int far__svc_sec_level_check(far_server *s, far_svc_req *r);
/* sec.c: tells the failure callback (and the debug log). */
void far__svc_sec_fail(far_server *s, far_svc_req *r, const char *identity, const char *why);
far__ctx_res far__svc_ctx_attach(far_server *s, far_svc_req *r);
/* The time r arrived, as far as the front stages need it: one clock read
 * for all the calls of one read from a stream. */
static inline uint64_t far__svc_req_now(far_svc_req *r)
{
    if (!r->clock)
        return far__now_ns();
    if (!*r->clock)
        *r->clock = far__now_ns();
    return *r->clock;
}
/* True if r's caller has stopped waiting for it (req.c): its deadline has
 * passed, or its client restarted (its context is dead). */
bool far__svc_req_expired(const far_svc_req *r);
/* store.c: exactly-once calls (farcall/store.h) */
typedef enum far__eo {
    FAR__EO_NONE,        /* not exactly-once, or no store: run as usual */
    FAR__EO_RUN,         /* run in r->txn, then far__svc_eo_end */
    FAR__EO_REPLAY,      /* answered from the store: the results are given */
    FAR__EO_CONFLICT,    /* the key is stored with other arguments */
    FAR__EO_FAILED,      /* the store failed: SYSTEM_ERR */
    FAR__EO_UNSUPPORTED, /* asked for by the call (FAR_CTX), and no store */
} far__eo;
/* Before the handler (arguments decoded).  FAR__EO_REPLAY: *res (malloc'ed:
 * the caller frees it) and *len are the stored results. */
far__eo far__svc_eo_begin(far_server *s, far_svc_req *r, uint8_t **res, size_t *len);
/* After the handler returned hr with `result`: commits the transaction with
 * the results (FAR_OK) or rolls it back.  False: the reply must not be sent
 * (the results were not committed). */
bool far__svc_eo_end(far_server *s, far_svc_req *r, far_err hr, const void *result);
bool far__svc_has_store(const far_server *s);
/* r's client's name and idempotency key, from its flavor (FAR_CTX); NULL
 * and 0 if it sent none. */
void far__svc_req_idem(const far_svc_req *r, const uint8_t **owner, size_t *owner_len,
                       const uint8_t **key, size_t *key_len);

/* server.c */
void far__svc_begin_stop(far_server *s);
/* Test knob: replies in record fragments of at most `frag` bytes (0: one). */
void far__server_set_max_fragment(far_server *s, size_t frag);
void far__svc_finish_stop(far_server *s);

#endif
