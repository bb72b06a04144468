/* Server: the public API and the lifecycle -- create, add programs, listen,
 * start (registering with the binder through the registrar hook), run, stop
 * gracefully, destroy.  See svc.h for the other files. */
#include "svc/svc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#define MAX_WORKERS_DEFAULT 64
#define STOP_FLUSH_NS       2000000000u /* replies still queued at stop get this long */

/* ------------------------------------------------------------ descriptors */

/* Copies a caller's descriptors into this library's layout (see "Descriptors"
 * in farcall/rpc.h): NULL if they are too short to be descriptors at all, or
 * out of memory (*rc says which). */
static far_program_desc *desc_copy(const far_program_desc *in, far_err *rc)
{
    size_t min_prog = offsetof(far_program_desc, nprocs) + sizeof in->nprocs;
    size_t min_proc = offsetof(far_proc_desc, invoke) + sizeof in->procs->invoke;
    *rc = FAR_EMISUSE;
    if (in->size < min_prog || (in->nprocs && (!in->procs || in->proc_size < min_proc)))
        return NULL;
    *rc = FAR_ENOMEM;
    far_program_desc *d = calloc(1, sizeof *d);
    far_proc_desc *procs = in->nprocs ? calloc(in->nprocs, sizeof *procs) : NULL;
    if (!d || (in->nprocs && !procs)) {
        free(d);
        free(procs);
        return NULL;
    }
    memcpy(d, in, in->size < sizeof *d ? in->size : sizeof *d);
    size_t psz = in->proc_size < sizeof *procs ? in->proc_size : sizeof *procs;
    for (size_t i = 0; i < in->nprocs; i++) {
        memcpy(&procs[i], (const char *)in->procs + i * in->proc_size, psz);
        if ((unsigned)procs[i].semantics > FAR_SEM_EXACTLY_ONCE) {
            *rc = FAR_EMISUSE; /* (a descriptor older than .semantics has 0 there) */
            free(d);
            free(procs);
            return NULL;
        }
    }
    d->size = sizeof *d;
    d->proc_size = sizeof *procs;
    d->procs = procs;
    *rc = FAR_OK;
    return d;
}

static void desc_free(const far_program_desc *d)
{
    if (d) {
        free((void *)d->procs);
        free((void *)d);
    }
}

/* ------------------------------------------------------------ stopping */

static void close_listeners(far_server *s)
{
    pthread_mutex_lock(&s->mu);
    for (unsigned i = 0; i < s->nlst; i++) {
        if (s->lst[i].fd < 0)
            continue;
        far__loop_del(&s->loop, s->lst[i].fd);
        /* Shut down, not closed: a thread may still be inside accept() on it;
         * destroy closes it.  New connections are refused from here on. */
        if (s->lst[i].t != FAR__UDP)
            shutdown(s->lst[i].fd, SHUT_RDWR);
        if (s->lst[i].path[0]) {
            unlink(s->lst[i].path);
            s->lst[i].path[0] = 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void *unregister_main(void *arg)
{
    far_server *s = arg;
    s->registrar->down(s->registration);
    return NULL;
}

/* Starts the binder's unregistration on a thread of its own: the binder may
 * take seconds to answer (or not answer), and no worker waits for it. */
static void unregister_async(far_server *s)
{
    pthread_mutex_lock(&s->mu);
    void *reg = s->registration;
    if (reg && !s->unreg_started) {
        s->unreg_started = pthread_create(&s->unreg_thread, NULL, unregister_main, s) == 0;
        if (!s->unreg_started) {
            s->registration = NULL; /* no thread: do it here after all */
            pthread_mutex_unlock(&s->mu);
            s->registrar->down(reg);
            return;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

void far__svc_begin_stop(far_server *s)
{
    int st = ST_RUNNING;
    if (!atomic_compare_exchange_strong(&s->state, &st, ST_STOPPING))
        return;
    close_listeners(s);
    unregister_async(s);
    if (atomic_load(&s->inflight) == 0)
        far__svc_finish_stop(s);
}

/* Every call in flight has been answered: write what is still queued (for a
 * bounded time), close every connection, let the threads exit. */
void far__svc_finish_stop(far_server *s)
{
    bool expect = false;
    if (!atomic_compare_exchange_strong(&s->stop_done, &expect, true))
        return;
    uint64_t until = far__now_ns() + STOP_FLUSH_NS;
    for (;;) {
        conn *c = NULL;
        pthread_mutex_lock(&s->slots_mu);
        for (uint32_t i = 0; i < s->o.max_conns && !c; i++) {
            if (s->slots[i].c) {
                c = s->slots[i].c;
                atomic_fetch_add(&c->refs, 1);
            }
        }
        pthread_mutex_unlock(&s->slots_mu);
        if (!c)
            break;
        for (;;) {
            pthread_mutex_lock(&c->mu);
            bool pending = c->st.nq != 0 && !c->dead;
            pthread_mutex_unlock(&c->mu);
            if (!pending || far__now_ns() > until)
                break;
            far__svc_conn_flush(s, c, true);
            usleep(1000);
        }
        far__svc_conn_kill(c, NULL);
        far__svc_conn_put(c);
    }
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->state, ST_STOPPED);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    far__event_wake(s->exitfd);
}

/* ------------------------------------------------------------ public API */

FAR__API far_err far_server_create(far_server **out, const far_server_opts *opts)
{
    if (!out)
        return FAR_EMISUSE;
    *out = NULL;
    far_server *s = calloc(1, sizeof *s);
    if (!s)
        return FAR_ENOMEM;
    if (opts)
        s->o = *opts;
    if (!s->o.workers) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->o.workers = n > 0 ? (unsigned)n : 2;
    }
    if (!s->o.max_workers)
        s->o.max_workers = MAX_WORKERS_DEFAULT;
    if (s->o.max_workers < s->o.workers)
        s->o.max_workers = s->o.workers;
    if (!s->o.max_conns)
        s->o.max_conns = 4096;
    if (s->o.max_conns > 0xffffff)
        s->o.max_conns = 0xffffff;
    if (!s->o.max_record)
        s->o.max_record = FAR_SERVER_MAX_RECORD;
    if (!s->o.max_list)
        s->o.max_list = FAR_XDR_DEFAULT_MAX_CHAIN;
    if (!s->o.idle_timeout_ms)
        s->o.idle_timeout_ms = 120000;
    if (!s->o.max_calls_per_conn)
        s->o.max_calls_per_conn = FAR_SERVER_MAX_CALLS_PER_CONN;
    /* Enough for a window of pipelined calls of a few KiB each and for the
     * largest record; a connection holding more is not read until it holds
     * less. */
    s->held_max = (size_t)s->o.max_record * 2 > HELD_MIN ? (size_t)s->o.max_record * 2 : HELD_MIN;
    s->stopfd = s->exitfd = s->reserve_fd = -1;
    pthread_mutex_init(&s->slots_mu, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->dlmu, NULL);
    pthread_cond_init(&s->cv, NULL);
    atomic_init(&s->state, ST_CREATED);
    atomic_init(&s->cap, s->o.workers);
    atomic_init(&s->blocked, 0);
    if ((unsigned)s->o.min_security > FAR_SEC_PRIV)
        s->o.min_security = FAR_SEC_PRIV;
    s->sec_any_rules = s->o.min_security != FAR_SEC_NONE;
    s->registrar = far__registrar_get();
    s->slots = calloc(s->o.max_conns, sizeof *s->slots);
    s->free_idx = calloc(s->o.max_conns, sizeof *s->free_idx);
    if (!s->slots || !s->free_idx || far__loop_init(&s->loop) != 0) {
        s->loop.epfd = -1;
        goto fail;
    }
    if (!s->o.no_drc) {
        if (!s->o.drc_entries)
            s->o.drc_entries = 4096;
        if (!s->o.drc_bytes)
            s->o.drc_bytes = (size_t)8 << 20;
        s->drc = far__drc_create(s->o.drc_entries, s->o.drc_bytes);
        if (!s->drc)
            goto fail;
    }
    s->ctxs = far__ctx_table_create();
    if (!s->ctxs)
        goto fail;
    for (uint32_t i = 0; i < s->o.max_conns; i++)
        s->free_idx[i] = s->o.max_conns - 1 - i;
    s->nfree = s->o.max_conns;
    s->stopfd = far__event_open();
    s->exitfd = far__event_open();
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->stopfd < 0 || s->exitfd < 0)
        goto fail;
    uint64_t tick = s->o.idle_timeout_ms / 4;
    if (tick < 10)
        tick = 10;
    if (tick > 1000)
        tick = 1000;
    s->sweep_ns = tick * 1000000u;
    far__timer_init(&s->sweep_timer, far__svc_sweep, s);
    far__timer_init(&s->kick_timer, far__svc_kick_fired, s);
    far__timer_init(&s->dl_timer, far__svc_dl_fired, s);
    /* The exit event is level-triggered: every thread sees it. */
    if (far__loop_add(&s->loop, s->stopfd, EPOLLIN | EPOLLET, EV_MAKE(TAG_STOP, 0, 0)) ||
        far__loop_add(&s->loop, s->exitfd, EPOLLIN, EV_MAKE(TAG_EXIT, 0, 0)))
        goto fail;
    *out = s;
    return FAR_OK;
fail:
    far_server_destroy(s);
    return FAR_EIO;
}

FAR__API far_err far_server_add_program(far_server *s, const far_program_desc *desc,
                                        const void *impl)
{
    if (!s || !desc)
        return FAR_EMISUSE;
    pthread_mutex_lock(&s->mu);
    far_err rc = FAR_OK;
    far_program_desc *copy = NULL;
    if (atomic_load(&s->state) != ST_CREATED) {
        rc = FAR_EMISUSE; /* the program table is read without locks once serving */
        goto out;
    }
    copy = desc_copy(desc, &rc);
    if (!copy)
        goto out;
    for (size_t i = 0; i < s->nprogs; i++) {
        if (s->progs[i].d->prog == copy->prog && s->progs[i].d->vers == copy->vers) {
            rc = FAR_EMISUSE;
            goto out;
        }
    }
    svc_prog *np = realloc(s->progs, (s->nprogs + 1) * sizeof *np);
    if (!np) {
        rc = FAR_ENOMEM;
        goto out;
    }
    s->progs = np;
    s->progs[s->nprogs] = (svc_prog){.d = copy, .impl = impl};
    s->nprogs++;
    copy = NULL;
out:
    pthread_mutex_unlock(&s->mu);
    desc_free(copy);
    return rc;
}

far_err far__server_add_own(far_server *s, const far_program_desc *d, const void *impl)
{
    far_err rc = far_server_add_program(s, d, impl);
    if (rc == FAR_OK)
        s->progs[s->nprogs - 1].own = true;
    return rc;
}

FAR__API far_err far_server_listen(far_server *s, const char *addr, char *bound, size_t bound_len)
{
    if (!s || !addr)
        return FAR_EMISUSE;
    far__addr a;
    char why[256];
    far_err rc = far__addr_parse(addr, &a, why, sizeof why);
    if (rc != FAR_OK) {
        far__set_last_error("%s", why);
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    if (s->nlst >= MAX_LISTENERS || atomic_load(&s->state) >= ST_STOPPING) {
        pthread_mutex_unlock(&s->mu);
        return s->nlst >= MAX_LISTENERS ? FAR_ELIMIT : FAR_ECLOSED;
    }
    int fd = far__sock_listen(&a, &rc);
    if (fd < 0) {
        pthread_mutex_unlock(&s->mu);
        if (rc == FAR_EADDRINUSE && a.t == FAR__UNIX)
            far__set_last_error("%s: cannot listen: address already in use (a server answers "
                                "on that socket)",
                                addr);
        else
            far__set_last_error("%s: cannot listen: %s", addr, far_strerror(rc));
        return rc;
    }
    unsigned i = s->nlst;
    listener *l = &s->lst[i];
    memset(l, 0, sizeof *l);
    l->fd = fd;
    l->t = a.t;
    if (a.t == FAR__UNIX) {
        snprintf(l->path, sizeof l->path, "%s", ((struct sockaddr_un *)&a.ss)->sun_path);
        snprintf(l->bound, sizeof l->bound, "%s", a.text);
    } else {
        far__addr_format(a.t, (struct sockaddr *)&a.ss, a.len, l->bound, sizeof l->bound);
    }
    if (far__loop_add(&s->loop, fd, EPOLLIN | EPOLLET, EV_MAKE(TAG_LISTEN, 0, i)) != 0) {
        close(fd);
        pthread_mutex_unlock(&s->mu);
        return FAR_EIO;
    }
    s->nlst++;
    if (bound && bound_len)
        snprintf(bound, bound_len, "%s", l->bound);
    pthread_mutex_unlock(&s->mu);
    return FAR_OK;
}

/* Registers every program version on every address with the binder (through
 * the registrar hook); *reg receives what to undo at stop. */
static far_err register_all(far_server *s, void **reg)
{
    *reg = NULL;
    far__prog_vers *pv = calloc(s->nprogs ? s->nprogs : 1, sizeof *pv);
    const char **addrs = calloc(s->nlst ? s->nlst : 1, sizeof *addrs);
    far_err rc = FAR_ENOMEM;
    if (pv && addrs) {
        size_t n = 0;
        for (size_t i = 0; i < s->nprogs; i++)
            if (!s->progs[i].runtime && !s->progs[i].own) /* reached at a program's address */
                pv[n++] =
                    (far__prog_vers){s->progs[i].d->prog, s->progs[i].d->vers, s->progs[i].d->name};
        for (unsigned i = 0; i < s->nlst; i++)
            addrs[i] = s->lst[i].bound;
        rc = s->registrar->up(pv, n, addrs, s->nlst, reg);
    }
    free(pv);
    free(addrs);
    return rc;
}

FAR__API far_err far_server_start(far_server *s)
{
    if (!s)
        return FAR_EMISUSE;
    pthread_mutex_lock(&s->mu);
    if (atomic_load(&s->state) != ST_CREATED || s->starting) {
        pthread_mutex_unlock(&s->mu);
        return FAR_EMISUSE;
    }
    s->starting = true;
    pthread_mutex_unlock(&s->mu);
    far_err rc = far__svc_reflect_add(s);
    if (rc == FAR_OK)
        rc = far__svc_ctl_add(s);
    if (rc != FAR_OK) {
        far__set_last_error("far_server_start: cannot add the runtime's own programs "
                            "(FAR_REFLECT, FAR_CTL): %s",
                            far_strerror(rc));
        pthread_mutex_lock(&s->mu);
        s->starting = false;
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    /* Registered before a thread runs: with require_binder a failure leaves
     * the server as it was, never started. */
    void *reg = NULL;
    rc = register_all(s, &reg);
    if (rc != FAR_OK && s->o.require_binder) {
        char why[512];
        snprintf(why, sizeof why, "%s", far_last_error());
        s->registrar->down(reg);
        far__set_last_error("%s (far_server_opts.require_binder is set)", why);
        pthread_mutex_lock(&s->mu);
        s->starting = false;
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    s->starting = false;
    s->threads = calloc(2 * (size_t)s->o.max_workers + 1, sizeof *s->threads);
    if (!s->threads) {
        pthread_mutex_unlock(&s->mu);
        s->registrar->down(reg);
        return FAR_ENOMEM;
    }
    s->registration = reg;
    atomic_store(&s->state, ST_RUNNING);
    far__timer_start(&s->loop, &s->sweep_timer, far__now_ns() + s->sweep_ns);
    for (unsigned i = 0; i < s->o.workers + 1; i++) {
        if (pthread_create(&s->threads[i], NULL, far__svc_worker, s) != 0)
            break;
        s->nthreads++;
    }
    unsigned started = s->nthreads; /* a worker may grow the pool once unlocked */
    pthread_mutex_unlock(&s->mu);
    if (started == 0) {
        s->registration = NULL;
        s->registrar->down(reg);
        atomic_store(&s->state, ST_STOPPED);
        return FAR_EIO;
    }
    return FAR_OK;
}

static void join_all(far_server *s)
{
    pthread_mutex_lock(&s->mu);
    while (atomic_load(&s->state) != ST_STOPPED)
        pthread_cond_wait(&s->cv, &s->mu);
    bool join = !s->joined;
    s->joined = true;
    unsigned n = s->nthreads; /* no thread is added once stopped */
    pthread_mutex_unlock(&s->mu);
    if (!join)
        return;
    for (unsigned i = 0; i < n; i++)
        pthread_join(s->threads[i], NULL);
    if (s->unreg_started)
        pthread_join(s->unreg_thread, NULL);
    else if (s->registration)
        s->registrar->down(s->registration); /* stopped before it ever ran */
    s->registration = NULL;
}

FAR__API far_err far_server_run(far_server *s)
{
    if (!s)
        return FAR_EMISUSE;
    if (far__svc_on_worker(s)) {
        far__set_last_error("far_server_run called from one of the server's own handlers");
        return FAR_EMISUSE;
    }
    if (atomic_load(&s->state) == ST_CREATED) {
        far_err rc = far_server_start(s);
        if (rc != FAR_OK)
            return rc;
    }
    join_all(s);
    return FAR_OK;
}

FAR__API void far_server_stop(far_server *s)
{
    if (s && s->stopfd >= 0) {
        uint64_t one = 1;
        ssize_t r = write(s->stopfd, &one, sizeof one);
        (void)r;
    }
}

FAR__API void far_server_destroy(far_server *s)
{
    if (!s)
        return;
    if (far__svc_on_worker(s)) {
        /* From one of its own handlers: freeing it here would pull the
         * thread out from under the handler (and joining the threads would
         * wait for this one).  Stop it instead; it must be destroyed from
         * outside its handlers. */
        far__set_last_error("far_server_destroy called from one of the server's own handlers: "
                            "the server is stopping; destroy it from another thread");
        far__log_warn("far_server_destroy from a handler: stopping the server instead (misuse)");
        far_server_stop(s);
        return;
    }
    int st = atomic_load(&s->state);
    if (st != ST_CREATED) {
        far_server_stop(s);
        join_all(s);
    } else {
        close_listeners(s);
    }
    /* Requests still queued (never run: the server was stopped first). */
    for (unsigned i = 0; i < s->nlst; i++) {
        far_svc_req *r = far__svc_lane_take_all(s, &s->lst[i].ln);
        while (r) {
            far_svc_req *n = r->next;
            far__svc_req_put(s, r);
            r = n;
        }
    }
    if (s->slots) {
        for (uint32_t i = 0; i < s->o.max_conns; i++)
            if (s->slots[i].c)
                far__svc_conn_kill(s->slots[i].c, NULL);
    }
    while (s->pool) {
        far_svc_req *r = s->pool;
        s->pool = r->next;
        far__svc_req_free(r);
    }
    for (unsigned i = 0; i < s->nlst; i++)
        if (s->lst[i].fd >= 0)
            close(s->lst[i].fd);
    if (s->loop.epfd >= 0)
        far__loop_fini(&s->loop);
    int fds[] = {s->stopfd, s->exitfd, s->reserve_fd};
    for (size_t i = 0; i < FAR__ARRAY_LEN(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    far__drc_destroy(s->drc); /* after every request is back (each forgets its entry) */
    far__ctx_table_destroy(s->ctxs);
    free(s->threads);
    free(s->slots);
    free(s->free_idx);
    for (size_t i = 0; i < s->nprogs; i++)
        desc_free(s->progs[i].d);
    free(s->progs);
    pthread_mutex_destroy(&s->slots_mu);
    pthread_mutex_destroy(&s->qmu);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->dlmu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

void far__server_set_max_fragment(far_server *s, size_t frag)
{
    s->frag = frag;
}
