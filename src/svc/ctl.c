/* Server: the control program FAR_CTL v1 (src/svc/far_ctl.x), which every
 * server serves: CANCEL and STATUS of the calls in flight on the connection
 * the control call comes in on (for UDP, of the calls from its address,
 * found through the duplicate request cache).
 *
 * Like FAR_REFLECT it is one of the server's programs, with hand-written
 * descriptors, added at far_server_start, marked as the runtime's own (not
 * registered with the binder, not listed), and answered in the front stages
 * (dispatch.c stage_runtime) on the thread that reads the connection: a
 * CANCEL never waits behind the handlers it is about.  The reader enters the
 * calls it has read before a FAR_CTL call in the connection's table first
 * (read.c), so a CANCEL or STATUS sent right after a call finds it.
 *
 * The arguments are read where they lie (an xid list is a count and the
 * xids, 4 bytes each): nothing is allocated.
 *
 * A program the user adds at FAR_CTL's number (any version) wins: the server
 * then serves the user's and none of its own. */
#include "svc/svc.h"

#include "far_ctl.h"

/* The xids asked about, in the call's record. */
typedef struct xids_view {
    uint32_t n;
    const uint8_t *p;
} xids_view;

/* CANCEL's result: which of the xids were found. */
typedef struct cancel_res {
    xids_view x;
    uint64_t found[FAR_CTL_MAXXIDS / 64];
} cancel_res;

/* STATUS's result: a far_ctl_state per xid, two bits each. */
typedef struct status_res {
    uint32_t n;
    uint8_t st[FAR_CTL_MAXXIDS / 4];
} status_res;

static bool decode_xids(far_xdr_dec *d, void *v)
{
    xids_view *x = v;
    if (!far_xdr_get_count(d, &x->n, FAR_CTL_MAXXIDS, 4))
        return false;
    x->p = far_xdr_take(d, (size_t)x->n * 4);
    return x->p != NULL;
}

static bool encode_cancel_res(far_xdr_enc *e, const void *v)
{
    const cancel_res *r = v;
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->x.n; i++)
        k += (r->found[i / 64] >> (i % 64)) & 1;
    if (!far_xdr_put_count(e, k, FAR_CTL_MAXXIDS))
        return false;
    for (uint32_t i = 0; i < r->x.n; i++)
        if (((r->found[i / 64] >> (i % 64)) & 1) &&
            !far_xdr_put_u32(e, far_xdr_load_u32(r->x.p + 4 * i)))
            return false;
    return true;
}

static bool encode_status_res(far_xdr_enc *e, const void *v)
{
    const status_res *r = v;
    if (!far_xdr_put_count(e, r->n, FAR_CTL_MAXXIDS))
        return false;
    for (uint32_t i = 0; i < r->n; i++)
        if (!far_xdr_put_enum(e, (r->st[i / 4] >> (2 * (i % 4))) & 3))
            return false;
    return true;
}

/* The connection a control call came in on (NULL for UDP). */
static conn *conn_of(const far_svc_req *r)
{
    return r->c ? r->c : r->reading;
}

bool far__svc_cancel_locked(conn *c, far_svc_req *r)
{
    if (atomic_load(&r->cancelled))
        return false;
    atomic_store(&r->cancelled, true);
    atomic_fetch_add(&c->s->ctl_cancelled, 1);
    return true;
}

/* Takes r's callback for the caller to run, if it has one set (c->mu held:
 * r is in the table, so its handler cannot close it meanwhile). */
static void take_cb(far_svc_req *r, far_svc_req **list)
{
    int set = CANCEL_CB_SET;
    if (atomic_compare_exchange_strong(&r->cancel_cb, &set, CANCEL_CB_RUNNING)) {
        r->cancel_next = *list;
        *list = r;
    }
}

far_svc_req *far__svc_cancel_all_locked(conn *c)
{
    far_svc_req *list = NULL;
    for (size_t i = 0; i < c->calls_size; i++)
        for (far_svc_req *r = c->calls[i]; r; r = r->hnext) {
            atomic_store(&r->cancelled, true);
            take_cb(r, &list);
        }
    return list;
}

void far__svc_run_cancel_cbs(far_svc_req *list)
{
    while (list) {
        far_svc_req *n = list->cancel_next;
        list->cancel_fn(list->cancel_user);
        atomic_store(&list->cancel_cb, CANCEL_CB_FIRED);
        list = n;
    }
}

typedef struct udp_cancel {
    far_server *s;
    far_svc_req **cbs;
    unsigned found;
} udp_cancel;

/* (under the cache's lock: the call cannot end meanwhile) */
static void udp_cancel_one(void *owner, void *arg)
{
    far_svc_req *call = owner;
    udp_cancel *u = arg;
    if (atomic_load(&call->cancelled))
        return;
    atomic_store(&call->cancelled, true);
    atomic_fetch_add(&u->s->ctl_cancelled, 1);
    take_cb(call, u->cbs);
    u->found++;
}

static far_err do_cancel(const void *impl, far_svc_req *req, const void *args, void *res)
{
    far_server *s = (far_server *)impl;
    const xids_view *x = args;
    cancel_res *r = res;
    r->x = *x;
    memset(r->found, 0, sizeof r->found);
    atomic_fetch_add(&s->ctl_cancels, 1);
    conn *c = conn_of(req);
    far_svc_req *cbs = NULL;
    if (!c) {
        /* UDP: the calls in progress from the sender's address, found
         * through the duplicate request cache (an uncached one -- may-be,
         * at-least-once, the cache off -- is not found) */
        for (uint32_t i = 0; s->drc && i < x->n; i++) {
            udp_cancel u = {s, &cbs, 0};
            far__drc_cancel(s->drc, &req->peer, req->peer_len, far_xdr_load_u32(x->p + 4 * i),
                            udp_cancel_one, &u);
            if (u.found)
                r->found[i / 64] |= (uint64_t)1 << (i % 64);
        }
        far__svc_run_cancel_cbs(cbs);
        return FAR_OK;
    }
    pthread_mutex_lock(&c->mu);
    for (uint32_t i = 0; i < x->n; i++) {
        far_svc_req *call = far__svc_calls_find(c, far_xdr_load_u32(x->p + 4 * i));
        if (call && !atomic_load(&call->cancelled)) {
            far__svc_cancel_locked(c, call);
            take_cb(call, &cbs);
            r->found[i / 64] |= (uint64_t)1 << (i % 64);
        }
    }
    pthread_mutex_unlock(&c->mu);
    far__svc_run_cancel_cbs(cbs); /* the handlers' callbacks, on this (the reader's) thread */
    return FAR_OK;
}

static unsigned state_of_locked(conn *c, uint32_t xid)
{
    far_svc_req *call = far__svc_calls_find(c, xid);
    if (call)
        return atomic_load(&call->cancelled) ? FAR_CTL_CANCELLED : FAR_CTL_IN_PROGRESS;
    for (unsigned i = 0; i < c->done_n; i++)
        if (c->done_xids[i] == xid)
            return FAR_CTL_DONE;
    return FAR_CTL_UNKNOWN;
}

static far_err do_status(const void *impl, far_svc_req *req, const void *args, void *res)
{
    far_server *s = (far_server *)impl;
    const xids_view *x = args;
    status_res *r = res;
    r->n = x->n;
    memset(r->st, 0, sizeof r->st);
    atomic_fetch_add(&s->ctl_statuses, 1);
    conn *c = conn_of(req);
    if (c)
        pthread_mutex_lock(&c->mu);
    for (uint32_t i = 0; i < x->n; i++) {
        uint32_t xid = far_xdr_load_u32(x->p + 4 * i);
        unsigned st = FAR_CTL_UNKNOWN;
        if (c) {
            st = state_of_locked(c, xid);
        } else if (s->drc) {
            switch (far__drc_peek(s->drc, &req->peer, req->peer_len, xid)) {
            case FAR__DRC_INPROG:
                st = FAR_CTL_IN_PROGRESS;
                break;
            case FAR__DRC_DONE:
                st = FAR_CTL_DONE;
                break;
            default:
                break;
            }
        }
        r->st[i / 4] |= (uint8_t)(st << (2 * (i % 4)));
    }
    if (c)
        pthread_mutex_unlock(&c->mu);
    return FAR_OK;
}

static const far_proc_desc ctl_procs[] = {
    {.proc = 0, .name = "FAR_CTL_NULL"},
    {.proc = 1,
     .name = "FAR_CTL_CANCEL",
     .decode_args = decode_xids,
     .encode_res = encode_cancel_res,
     .args_size = sizeof(xids_view),
     .res_size = sizeof(cancel_res),
     .invoke = do_cancel},
    {.proc = 2,
     .name = "FAR_CTL_STATUS",
     .decode_args = decode_xids,
     .encode_res = encode_status_res,
     .args_size = sizeof(xids_view),
     .res_size = sizeof(status_res),
     .invoke = do_status},
};

static const far_program_desc ctl_prog = {
    FAR_DESC_SIZES,         .prog = FAR_CTL_PROG, .vers = FAR_CTL_V1,
    .name = "FAR_CTL_PROG", .procs = ctl_procs,   .nprocs = FAR__ARRAY_LEN(ctl_procs),
};

bool far__svc_ctl_is_ctl(const uint8_t *p, size_t n)
{
    /* RFC 5531 §9: xid, CALL, rpcvers, prog */
    return n >= 16 && far_xdr_load_u32(p + 12) == FAR_CTL_PROG && far_xdr_load_u32(p + 4) == 0;
}

far_err far__svc_ctl_add(far_server *s)
{
    for (size_t i = 0; i < s->nprogs; i++) {
        if (s->progs[i].d->prog != FAR_CTL_PROG)
            continue;
        if (s->progs[i].runtime)
            return FAR_OK; /* added by an earlier far_server_start */
        far__log_info("program %#" PRIx32 " version %" PRIu32
                      " is the user's: the server's own control program (FAR_CTL) is not "
                      "served",
                      s->progs[i].d->prog, s->progs[i].d->vers);
        return FAR_OK;
    }
    far_err rc = far_server_add_program(s, &ctl_prog, s);
    if (rc != FAR_OK)
        return rc;
    s->progs[s->nprogs - 1].runtime = true;
    return FAR_OK;
}

void far__server_ctl_stats(far_server *s, unsigned long *cancels, unsigned long *statuses,
                           unsigned long *cancelled)
{
    if (cancels)
        *cancels = atomic_load(&s->ctl_cancels);
    if (statuses)
        *statuses = atomic_load(&s->ctl_statuses);
    if (cancelled)
        *cancelled = atomic_load(&s->ctl_cancelled);
}
