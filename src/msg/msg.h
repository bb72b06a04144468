/* RPC message layer (RFC 5531): call and reply headers, the auth-ops
 * interface and its flavors, record marking for stream transports (§11).
 * Nothing here knows of clients, servers or the layers above. */
#ifndef FARCALL_MSG_H
#define FARCALL_MSG_H

#include "internal.h"
#include "farcall/auth.h"
#include "noise/noise.h"

#include <pthread.h>
#include <stdatomic.h>

#include <sys/uio.h>

#define FAR__RPC_VERS       2
#define FAR__MAX_AUTH_BYTES 400 /* RFC 5531 §8.2: opaque body<400> */

enum { FAR__MSG_CALL = 0, FAR__MSG_REPLY = 1 };
enum { FAR__AUTH_SHORT = 2 }; /* RFC 5531 Appendix A: a server's shorthand for AUTH_SYS */
enum { FAR__MSG_ACCEPTED = 0, FAR__MSG_DENIED = 1 };
enum {
    FAR__ACC_SUCCESS = 0,
    FAR__ACC_PROG_UNAVAIL = 1,
    FAR__ACC_PROG_MISMATCH = 2,
    FAR__ACC_PROC_UNAVAIL = 3,
    FAR__ACC_GARBAGE_ARGS = 4,
    FAR__ACC_SYSTEM_ERR = 5,
};
enum { FAR__REJ_RPC_MISMATCH = 0, FAR__REJ_AUTH_ERROR = 1 };
/* auth_stat values: far_auth_stat (farcall/auth.h); and the one of a
 * farcall server refusing an exactly-once call whose idempotency key it has
 * kept with other arguments (svc/store.c): only a client that sent a key
 * (FAR_CTX) can get it; FAR_EIDEMPOTENCY. */
#define FAR__AUTH_IDEMPOTENCY 0x20fa0001u
/* ... and of one asked for exactly-once with no reply store:
 * FAR_EUNSUPPORTED. */
#define FAR__AUTH_NO_STORE 0x20fa0002u

/* A decoded call header.  The credential and verifier bodies point into the
 * decoded input. */
typedef struct far__call_hdr {
    uint32_t xid, rpcvers, prog, vers, proc;
    uint32_t cred_flavor, cred_len;
    const uint8_t *cred_body;
    uint32_t verf_flavor, verf_len;
    const uint8_t *verf_body;
} far__call_hdr;

/* A decoded reply header; on SUCCESS the decoder is left at the results.
 * The verifier (accepted replies) points into the decoded input. */
typedef struct far__reply_hdr {
    uint32_t xid;
    uint32_t reply_stat; /* FAR__MSG_ACCEPTED / FAR__MSG_DENIED */
    uint32_t stat;       /* accept_stat or reject_stat */
    uint32_t low, high;  /* PROG_MISMATCH / RPC_MISMATCH */
    uint32_t auth_stat;  /* AUTH_ERROR */
    uint32_t verf_flavor, verf_len;
    const uint8_t *verf_body;
} far__reply_hdr;

/* An opaque_auth (RFC 5531 §8.2) to encode. */
typedef struct far__opaque_auth {
    uint32_t flavor;
    const uint8_t *body;
    uint32_t len; /* at most FAR__MAX_AUTH_BYTES */
} far__opaque_auth;

/* Call header (RFC 5531 §9 call_body).  cred_body is the already-encoded
 * credential body (NULL/0 for AUTH_NONE); the verifier is AUTH_NONE. */
bool far__call_hdr_encode(far_xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                          uint32_t cred_flavor, const uint8_t *cred_body, uint32_t cred_len);
/* The call header up to the credential: xid, CALL, rpcvers, prog, vers, proc. */
bool far__call_hdr_put_fixed(far_xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers,
                             uint32_t proc);
bool far__opaque_auth_put(far_xdr_enc *e, const far__opaque_auth *a);
/* FAR_OK, or FAR_EPROTO/FAR_ETRUNC for a malformed header.  A message that is
 * not a CALL gives FAR_EBADVALUE. */
far_err far__call_hdr_decode(far_xdr_dec *d, far__call_hdr *h);

/* AUTH_SYS body (RFC 5531 Appendix A). */
bool far__auth_sys_encode(far_xdr_enc *e, const far_auth_sys *a);
/* Validates against the RFC limits before using any field: body <= 400 bytes,
 * machine name <= 255 bytes, <= 16 gids, nothing left over. */
far_err far__auth_sys_decode(const uint8_t *body, uint32_t len, far_auth_sys *out);
/* The process's own credentials (uid, gid, groups, host name). */
void far__auth_sys_self(far_auth_sys *a);

/* An accepted reply header with an AUTH_NONE verifier, or with `verf`
 * (_verf; NULL: AUTH_NONE). */
bool far__reply_accepted_encode(far_xdr_enc *e, uint32_t xid, uint32_t accept_stat, uint32_t low,
                                uint32_t high);
bool far__reply_accepted_encode_verf(far_xdr_enc *e, uint32_t xid, const far__opaque_auth *verf,
                                     uint32_t accept_stat, uint32_t low, uint32_t high);
bool far__reply_denied_encode(far_xdr_enc *e, uint32_t xid, uint32_t reject_stat, uint32_t a,
                              uint32_t b);
far_err far__reply_hdr_decode(far_xdr_dec *d, far__reply_hdr *h);
/* The far_err for a decoded reply header (FAR_OK for SUCCESS). */
far_err far__reply_err(const far__reply_hdr *h);

/* ------------------------------------------------------------ auth-ops
 * Everything an authentication flavor does to one call and its reply, on
 * each side: make and check the credential and verifier, wrap and unwrap the
 * arguments and results, keep per-call state.  AUTH_NONE and AUTH_SYS are
 * its first two instances (auth.c); a new flavor -- farcall's context flavor
 * for call semantics, the security levels -- is one more far__auth_ops and
 * one more entry in far__auth_find, with nothing else in the runtime to edit.
 * A NULL hook means "nothing to do" (wrap: send as encoded; check: accept). */

typedef struct far__auth_ops far__auth_ops;

/* ------------------------------------------------------------ security levels
 * (sec.c, docs/security.md) One side's session after a Noise handshake: the
 * level agreed, the two transport keys, the context it belongs to, and on
 * a server the peer's identity and the replay window of its sequence
 * numbers.  Explicit nonces (Noise §11.4): a call's seq gives them, so
 * calls are sealed and opened by any thread, in any order. */
#define FAR__SEC_MAX_IDENTITY 64   /* FAR_MAX_IDENTITY */
#define FAR__SEC_WINDOW       1024 /* sequence numbers the replay window remembers */
#define FAR__SEC_SUITE_CHACHA 1u   /* FAR__NOISE_CHACHAPOLY */
#define FAR__SEC_SUITE_AESGCM 2u   /* FAR__NOISE_AESGCM */
#define FAR__SEC_INIT_CAPS    0x1u /* far_ctx_init.caps: the INIT body is a handshake */
#define FAR__SEC_TOKEN_MAX    256  /* bytes of a handshake message we send or take */
typedef struct far__sec_session {
    _Atomic int refs;
    uint32_t level; /* far_security */
    uint32_t suite;
    far__noise_cs tx, rx;
    uint64_t handle; /* of the FAR_CTX context it belongs to */
    char identity[FAR__SEC_MAX_IDENTITY + 1];
    _Atomic uint64_t seq; /* client: the last sequence number given out */
    pthread_mutex_t mu;   /* server: the window */
    uint64_t top;         /* the highest seq accepted (0: none) */
    uint64_t
        bits[FAR__SEC_WINDOW / 64]; /* bit (seq % WINDOW): seen, for top - WINDOW < seq <= top */
} far__sec_session;

/* A call's part of its session: the session (a reference) and its seq. */
typedef struct far__sec_call {
    far__sec_session *sess;
    uint64_t seq;
} far__sec_call;

/* FAR_CTX (far_ctx.x, ctx.c): the decoded credential of a call. */
#define FAR__CTX_VERSION        1
#define FAR__CTX_MAX_OWNER      64
#define FAR__CTX_MAX_HANDLE     16
#define FAR__CTX_MAX_KEY        16
#define FAR__CTX_MAX_INNER      344 /* 400 less the 56 bytes of a DATA credential around it */
#define FAR__CTX_DEFAULT_FLAVOR 400420u
enum { FAR__CTX_DATA = 0, FAR__CTX_INIT = 1, FAR__CTX_CONTINUE_INIT = 2, FAR__CTX_DESTROY = 3 };
enum {
    FAR__CTX_SVC_NONE = 0,
    FAR__CTX_SVC_AUTH = 1,
    FAR__CTX_SVC_INTEG = 2,
    FAR__CTX_SVC_PRIV = 3
};
enum {
    FAR__CTX_IDEMPOTENT = 0x1,
    FAR__CTX_AT_MOST_ONCE = 0x2,
    FAR__CTX_EXACTLY_ONCE = 0x4,
    FAR__CTX_MAYBE = 0x8,
};

typedef struct far__ctx_cred {
    uint32_t proc; /* FAR__CTX_DATA / FAR__CTX_INIT */
    /* INIT */
    const uint8_t *owner; /* into the call */
    uint32_t owner_len;
    uint64_t boot;
    uint32_t caps;
    /* DATA */
    uint8_t handle[FAR__CTX_MAX_HANDLE];
    uint32_t handle_len;
    uint64_t seq;
    uint32_t service;
    uint64_t deadline_us; /* 0: none */
    uint32_t flags;
    uint8_t key[FAR__CTX_MAX_KEY];
    uint32_t key_len;
    uint32_t inner_flavor;
    const uint8_t *inner; /* into the call */
    uint32_t inner_len;
} far__ctx_cred;

/* What a call asks of its flavor beyond its header: the time its caller
 * still waits (µs, 0: none) and its semantics (FAR__CTX_AT_MOST_ONCE ...). */
typedef struct far__call_meta {
    uint64_t deadline_us;
    uint32_t flags;
    const uint8_t *key; /* exactly-once: its idempotency key, key_len bytes (at most
                         * FAR__CTX_MAX_KEY, a multiple of 4); NULL: none */
    uint32_t key_len;
    far__sec_call *sec; /* a protected call: its session (in) and seq (out); NULL: none */
} far__call_meta;

/* A client's FAR_CTX context: the handle of its INIT reply, and its
 * counter of calls.  Written by the thread that connects; read by any
 * thread encoding a call. */
typedef struct far__ctx_client {
    _Atomic uint64_t handle;
    _Atomic uint64_t seq;
} far__ctx_client;

/* A client's flavor state, made once when the client opens. */
typedef struct far__cauth {
    const far__auth_ops *ops;
    uint8_t cred[FAR__MAX_AUTH_BYTES]; /* AUTH_SYS: the encoded body */
    uint32_t credlen;
    void *state; /* the flavor's own */
    /* FAR_CTX: the flavor inside (AUTH_NONE or AUTH_SYS, with cred above) */
    const far__auth_ops *inner;
    far__ctx_client *ctx;
} far__cauth;

/* A server's view of one call's authentication. */
typedef struct far__sauth {
    const far__auth_ops *ops;
    bool has_sys;
    far_auth_sys sys; /* AUTH_SYS: the caller's credentials */
    void *state;
    /* FAR_CTX: the credential, and the reply's verifier (ctx.c; the
     * server's boot and, answering INIT, the handle, set by the server) */
    far__ctx_cred ctx;
    uint8_t verf[12 + FAR__CTX_MAX_HANDLE];
    uint32_t verf_len;
    /* Security levels (sec.c): the session of a protected call (a reference
     * the svc_ctx holds for it), its seq, the accept_stat its reply's
     * verifier covers; answering a handshake, the reply's body. */
    far__sec_call sec;
    bool replayed; /* its seq was seen already: only the reply cache may answer it */
    uint32_t xid, reply_stat;
    uint8_t init_res[8 + FAR__SEC_TOKEN_MAX];
    uint32_t init_res_len;
} far__sauth;

/* Where part of a body's plaintext goes instead of the read buffer: a
 * caller that knows where its bytes belong (a decoder writing them to a
 * buffer of its own) is asked once, with the first plaintext bytes of the
 * body opened (`head`, `head_len`) and the body's plaintext length, and
 * answers true with [*at, *at + *len) of the plaintext to be opened
 * straight into dst, or false (the body is opened as usual).  Only
 * authenticated bytes are shown to it. */
typedef struct far__body_place {
    bool (*place)(void *user, const uint8_t *head, size_t head_len, size_t plain_len, size_t *at,
                  size_t *len, uint8_t **dst);
    void *user;
} far__body_place;

struct far__auth_ops {
    uint32_t flavor;
    const char *name;
    /* Client.  Writes the call's credential and verifier, right after the
     * fixed part of the header (any thread; several at once). */
    bool (*put_cred_verf)(const far__cauth *a, far_xdr_enc *e, uint32_t xid,
                          const far__call_meta *m);
    /* Checks an accepted reply's verifier: FAR_OK, or FAR_EAUTH. */
    far_err (*check_reply_verf)(const far__cauth *a, const far__reply_hdr *h,
                                const far__sec_call *sc);
    /* Wraps the arguments encoded at [args_off, end) of e (integrity,
     * privacy); unwraps the results at *p, *n in place or into the arena.
     * With `pl` (NULL: none) a flavor that decrypts may open the range pl
     * names straight into its destination: then *p, *n are the rest of the
     * plaintext (the bytes before the range, then those after it), and if
     * the results do not verify, the destination's range is wiped. */
    bool (*wrap_args)(const far__cauth *a, far_xdr_enc *e, size_t args_off,
                      const far__sec_call *sc);
    far_err (*unwrap_results)(const far__cauth *a, const far__sec_call *sc, const uint8_t **p,
                              size_t *n, const far__body_place *pl);
    /* Server.  Checks the call's credential and verifier and fills `a`:
     * FAR__AUTH_OK, or the auth_stat to deny the call with. */
    int (*authenticate)(far__sauth *a, const far__call_hdr *h);
    /* The reply's verifier (*v preset to AUTH_NONE, empty). */
    void (*reply_verf)(far__sauth *a, far__opaque_auth *v);
    /* Unwraps the call's arguments; wraps the results encoded at
     * [res_off, end) of e. */
    far_err (*unwrap_args)(far__sauth *a, const uint8_t **p, size_t *n, far_arena *arena);
    bool (*wrap_results)(const far__sauth *a, far_xdr_enc *e, size_t res_off);
};

extern const far__auth_ops far__auth_none, far__auth_sys, far__auth_ctx, far__auth_sec;
/* FAR_CTX, with or without a security level. */
static inline bool far__auth_is_ctx(const far__auth_ops *o)
{
    return o == &far__auth_ctx || o == &far__auth_sec;
}

/* True if a's flavor leaves call sc's results as they were sent: no
 * unwrap_results, or a security level below integrity (the authentication
 * level's MAC covers the reply's header, not its body).  Such results may
 * be received where they belong before the reply is checked. */
bool far__auth_results_plain(const far__cauth *a, const far__sec_call *sc);

/* Overwrites n bytes at p with zeros (kept by the compiler). */
void far__wipe(void *p, size_t n);
/* The DATA credential of FAR_CTX (ctx.c) with `service`, `handle` and
 * `seq`, and a FAR_CTX verifier of verf_len bytes (0: AUTH_NONE) whose body
 * is returned to fill; *cred: where the credential starts. */
uint8_t *far__ctx_put_data(const far__cauth *a, far_xdr_enc *e, const far__call_meta *m,
                           uint32_t service, uint64_t handle, uint64_t seq, uint32_t verf_len,
                           const uint8_t **cred);
far__sec_session *far__sec_session_new(void);
void far__sec_session_ref(far__sec_session *x);
/* Drops a reference; the last wipes the keys and frees it.  NULL: nothing. */
void far__sec_session_unref(far__sec_session *x);
/* The replay window: 0, seq is new (and now seen); 1, seen already; -1, older
 * than the window.  Server, after the call's verifier checked. */
int far__sec_window_check(far__sec_session *x, uint64_t seq);
/* The suite this side offers first: AES-GCM where the CPU has it. */
uint32_t far__sec_suite_default(void);
/* The prologue binding a handshake to what both sides saw (docs/security.md):
 * "farcall-v1", level, suite, the INIT's caps, owner, identity, the INIT call's prog
 * and vers. */
size_t far__sec_prologue(uint8_t *out, size_t cap, uint32_t level, uint32_t suite, uint32_t caps,
                         const uint8_t *owner, uint32_t owner_len, const uint8_t *id,
                         uint32_t id_len, uint32_t prog, uint32_t vers);
/* Client: a new handshake (initiator) with its first message in msg[0..*len). */
far_err far__sec_client_begin(far__noise_hs **hs, uint32_t suite, const uint8_t psk[32],
                              const uint8_t *prologue, size_t plen, uint8_t *msg, size_t cap,
                              size_t *len);
/* Client: the server's message; FAR_OK with *out the session (handle and
 * server boot as the payload vouches for them), FAR_EAUTH.  Frees hs. */
far_err far__sec_client_finish(far__noise_hs *hs, const uint8_t *msg, size_t n, uint32_t level,
                               uint32_t suite, uint64_t handle, uint64_t boot,
                               far__sec_session **out);
/* Server: answers the client's first message: FAR_OK with the reply message
 * in out[0..*len) and *sess, FAR_EAUTH (wrong key, a broken or changed
 * message), FAR_EUNSUPPORTED (a suite this server cannot do). */
far_err far__sec_server_respond(const uint8_t *msg, size_t n, uint32_t level, uint32_t suite,
                                const uint8_t psk[32], const uint8_t *prologue, size_t plen,
                                uint64_t handle, uint64_t boot, uint8_t *out, size_t cap,
                                size_t *len, far__sec_session **sess);
/* Server: checks a DATA call's verifier (a MAC over the header from the xid
 * through the credential, nonce from seq): true if it verifies.  hdr: the
 * call's first byte; cred_end: just past its credential. */
bool far__sec_check_call(const far__sec_session *x, uint64_t seq, const uint8_t *hdr,
                         const uint8_t *cred_end, const uint8_t *verf, uint32_t verf_len);
/* Server: true if a's reply body is sealed at the privacy level, whose
 * sealing reads bytes held by reference (the results may then be encoded
 * by reference: they are sealed, and so copied, before the handler's
 * results are freed). */
bool far__sec_seals_refs(const far__sauth *a);

/* FAR_CTX's flavor number: FARCALL_CTX_FLAVOR from the environment (read
 * once), else FAR__CTX_DEFAULT_FLAVOR. */
uint32_t far__ctx_flavor(void);
/* The INIT call's credential and verifier (after the fixed header). */
bool far__ctx_put_init(far_xdr_enc *e, const uint8_t *owner, uint32_t owner_len, uint64_t boot,
                       uint32_t caps);
/* A FAR_CTX credential body: FAR_OK, or FAR_EPROTO if malformed or over a
 * bound (checked before use), FAR_EBADVALUE for a version or proc this
 * side does not know. */
far_err far__ctx_cred_decode(const uint8_t *body, uint32_t len, far__ctx_cred *out);
/* Fills a->verf with far_ctx_verf {server_boot, handle}. */
void far__ctx_set_verf(far__sauth *a, uint64_t server_boot, const uint8_t *handle,
                       uint32_t handle_len);
/* Reads a reply's FAR_CTX verifier: FAR_OK with *server_boot (and the
 * handle, if `handle` is not NULL: at most FAR__CTX_MAX_HANDLE bytes);
 * FAR_EAUTH if the verifier is not one. */
far_err far__ctx_verf_decode(const far__reply_hdr *h, uint64_t *server_boot, uint8_t *handle,
                             uint32_t *handle_len);
/* Makes a client's flavor FAR_CTX around the one far__cauth_init set up
 * (its `inner`), with the context state `ctx` (the caller's, zeroed).
 * False if the inner credential is too big to fit (the client then stays
 * classic). */
bool far__cauth_make_ctx(far__cauth *a, far__ctx_client *ctx);

/* The flavor a server serves for `flavor`, or NULL (the call is denied
 * AUTH_REJECTEDCRED). */
const far__auth_ops *far__auth_find(uint32_t flavor);

/* Sets up a client's flavor: AUTH_SYS with `sys` (NULL: the process's own
 * credentials) when auth_sys, else AUTH_NONE.  FAR_ELIMIT if the credentials
 * exceed the RFC 5531 limits. */
far_err far__cauth_init(far__cauth *a, bool auth_sys, const far_auth_sys *sys);

/* ------------------------------------------------------------ record marking */

#define FAR__REC_LAST 0x80000000u

/* Incremental record-marking reader (RFC 5531 §11).  Raw bytes are read into
 * buf; fragment headers are squeezed out in place so a record's body is
 * contiguous.  Nothing beyond max_record (+ one read's worth of slack) is ever
 * allocated: a fragment header announcing more than the maximum fails before
 * any room is made for it. */
typedef struct far__recrd {
    uint8_t *buf;
    size_t cap, len; /* raw bytes in [0, len) */
    size_t pos;      /* next raw byte to parse */
    size_t rec;      /* body of the current record: [rec, wr) */
    size_t wr;
    uint32_t frag_left;
    bool in_frag, last;
    size_t max_record;
    size_t min_cap;
    size_t too_big;     /* after FAR_ELIMIT: the record's size, as far as its headers tell */
    bool too_big_exact; /* ... and that is all of it (its last fragment was seen) */
    uint8_t *spare;     /* a big buffer to read into instead of growing buf */
    size_t spare_cap;
    uint32_t frag_len; /* the current fragment's length */
    /* A direct span (far__recrd_direct): bytes of the current record that
     * its owner receives straight into memory of its own (span_dst), not
     * into buf.  Framing is unchanged: they count in frag_left until they
     * are in (far__recrd_span_commit). */
    uint8_t *span_dst;
    size_t span_left;                 /* bytes of it still to come */
    size_t span_at, span_len;         /* where in the record's body, how long */
    bool span_on;                     /* the current record has one */
    bool span_dead;                   /* far__recrd_span_cancel: the reader reads no more */
    bool got_span;                    /* the record far__recrd_next returned last had one: */
    size_t got_span_at, got_span_len; /* its bytes [at, at + len) are not in it */
    size_t peek;     /* 0, or: of a large record, at most this many bytes of its body are read
                      * into buf before its owner looked at them (far__recrd_partial); and
                      * between records, at most a header and this many */
    bool looked;     /* ... the owner has looked at the current record */
    size_t span_min; /* "large" here: records of this many bytes or more (0: FAR__RECRD_EXACT) */
    uint64_t direct; /* bytes received into spans, in all */
} far__recrd;

void far__recrd_init(far__recrd *r, size_t max_record, size_t min_cap);
void far__recrd_fini(far__recrd *r);
/* 1: a record is at p (n bytes, valid until the next far__recrd_room);
 * 0: more bytes needed; -1: error (*err: FAR_ELIMIT oversize, FAR_EPROTO bad). */
int far__recrd_next(far__recrd *r, uint8_t **p, size_t *n, far_err *err);
/* Makes room for reading: discards consumed records and grows the buffer as the
 * current fragment requires (bounded).  p and space describe the free tail;
 * inside a record of FAR__RECRD_EXACT bytes or more, only up to its
 * fragment's end and the next header, and `peek` bytes more (so the next
 * large record starts where the buffer does); between records, and of a
 * large record not looked at yet, at most a header and `peek` bytes.  A record being read is not
 * moved while its rest fits.  A direct span's bytes are not counted in: they
 * go to the span (far__recrd_span).  FAR_EPROTO after far__recrd_span_cancel. */
#define FAR__RECRD_EXACT (64u * 1024)
far_err far__recrd_room(far__recrd *r, uint8_t **p, size_t *space);
static inline void far__recrd_commit(far__recrd *r, size_t n)
{
    r->len += n;
}
/* True when bytes are buffered that are not yet part of a returned record. */
static inline bool far__recrd_pending(const far__recrd *r)
{
    return r->len > r->pos || r->in_frag || r->wr > r->rec;
}
/* Hands the buffer holding the record just returned by far__recrd_next to the
 * caller (who frees it, or gives it back with far__recrd_give_spare; *old_cap,
 * if not NULL, is its size) and gives the reader a fresh one (the spare, if
 * any) with the unparsed bytes.  Avoids copying large records. */
uint8_t *far__recrd_steal(far__recrd *r, size_t *old_cap);
/* Gives the reader a buffer of cap bytes (malloc'ed; now the reader's) to use
 * the next time it needs room for a big record or a stolen buffer's
 * replacement, so that reading big records does not allocate and fault in
 * fresh memory each time.  The reader keeps at most one (the bigger). */
void far__recrd_give_spare(far__recrd *r, uint8_t *buf, size_t cap);
/* Direct spans: a record's payload received straight where it belongs.
 * far__recrd_partial: when far__recrd_next wants more bytes, true with the
 * body of the record being read so far (*p, *have bytes) and the bytes
 * still to come (*left), if it is one fragment (the last), of
 * FAR__RECRD_EXACT bytes or more (span_min), with no span, and not looked at yet
 * (with `peek` set, at least that many bytes of it are buffered). */
bool far__recrd_partial(const far__recrd *r, const uint8_t **p, size_t *have, size_t *left);
/* The owner has looked at the current record (and sets no span): the rest
 * of it is read as usual. */
static inline void far__recrd_looked(far__recrd *r)
{
    r->looked = true;
}
/* Bytes [at, at + len) of the body of the record far__recrd_partial showed
 * go to dst instead: what of them is buffered already is copied there now,
 * the rest is received there (far__recrd_span).  far__recrd_next then
 * returns the record without them (got_span, got_span_at, got_span_len).
 * False (nothing done) if the range is not in the record's rest.  dst must
 * stay valid until the record is returned or far__recrd_span_cancel. */
bool far__recrd_direct(far__recrd *r, size_t at, uint8_t *dst, size_t len);
/* The span's bytes still to come (0: none), *dst where they go. */
static inline size_t far__recrd_span(const far__recrd *r, uint8_t **dst)
{
    *dst = r->span_dst;
    return r->span_left;
}
/* n bytes were received at the span's *dst. */
static inline void far__recrd_span_commit(far__recrd *r, size_t n)
{
    if (n == 0)
        return;
    r->span_dst += n;
    r->span_left -= n;
    r->frag_left -= (uint32_t)n;
    r->direct += n;
}
/* The span's memory is no longer to be written (its connection is gone):
 * the reader reads nothing more -- far__recrd_room fails -- until it is
 * made again (far__recrd_fini, far__recrd_init). */
static inline void far__recrd_span_cancel(far__recrd *r)
{
    r->span_dst = NULL;
    r->span_left = 0;
    r->span_dead = true;
}

/* Frees the spare buffer, and the read buffer if it has grown past min_cap
 * and holds nothing unparsed: for connections gone quiet.  Returns the bytes
 * released.  Not while a reader is using r. */
size_t far__recrd_trim(far__recrd *r);

/* Frames the message in iov[0..n) (whose first 4 bytes are reserved for the
 * record mark) as one fragment, or, when frag > 0 and the body is longer, as a
 * flat copy in several fragments (*flat owns it; free it after sending). */
far_err far__rec_frame(struct iovec *iov, size_t *n, size_t total, size_t frag, uint8_t **flat);

/* A message encoded in e, ready to write: its iovecs in iov[0..8) (copied
 * into one block, *flat, when it has more pieces), framed as a record when
 * `stream` (e then began with 4 reserved bytes), with *total its length on
 * the wire.  *flat (NULL or malloc'ed) is the caller's to free once sent.
 * The one copy of the iovecs -> flatten -> record frame sequence, for client
 * calls and server replies alike.  FAR_ENOMEM, or e's error. */
far_err far__msg_prepare(far_xdr_enc *e, struct iovec iov[8], size_t *niov, size_t *total,
                         uint8_t **flat, bool stream, size_t frag);

/* Copies the iovecs src[0..n) into dst, leaving out their first `skip` bytes
 * (already sent); returns how many dst entries were used (at most n). */
static inline int far__iov_rest(struct iovec *dst, const struct iovec *src, size_t n, size_t skip)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip >= src[i].iov_len) {
            skip -= src[i].iov_len;
            continue;
        }
        dst[k].iov_base = (uint8_t *)src[i].iov_base + skip;
        dst[k].iov_len = src[i].iov_len - skip;
        skip = 0;
        k++;
    }
    return k;
}

#endif
