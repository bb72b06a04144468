/* Client: the connection -- connecting within the call's deadline, writing
 * calls, the reader token and a synchronous caller's wait.  Reading and
 * matching the replies is reply.c.
 *
 * Sending.  A call is encoded by its own thread (outside the client's lock),
 * entered in the xid table and queued on the connection's stream; whichever
 * thread finds no one writing writes everything queued with one writev (flat
 * combining), so calls from many threads leave in batches.  Async calls leave
 * the writing to the I/O thread, which batches them.
 *
 * Receiving.  One thread at a time reads the connection (the reader token).
 * A synchronous caller takes the token itself when it is free and reads until
 * its own reply has come, handing other threads' replies to them: in the
 * common case a call costs one write and one read, with no thread switch.
 * When it leaves, it hands the token to another waiting caller.  The I/O
 * thread reads when no caller does and runs the async callbacks.  The replies
 * of one read are matched and completed under one lock.
 *
 * Deadlines.  A waiting caller sleeps until its deadline (a condition wait);
 * the reader's recv is bounded by SO_RCVTIMEO, kept no longer than the
 * reader's own deadline (and its next UDP retransmission), so nothing polls.
 *
 * No lock is held while a thread connects, writes, reads or waits. */
#include "clnt/clnt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void abs_time(uint64_t ns_mono, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns_mono / 1000000000u);
    ts->tv_nsec = (long)(ns_mono % 1000000000u);
}

/* ------------------------------------------------------------ connecting */

/* The connection is gone.  Its fd is closed once no thread is reading or
 * writing it. */
void far__conn_lost(far_client *c, uint64_t gen, far_err err, const char *why)
{
    if (!c->connected || c->gen != gen)
        return;
    c->connected = false;
    c->reresolve = true; /* a dynamic client looks its server up again */
    int fd = c->st.fd;
    shutdown(fd, SHUT_RDWR);
    far__io_conn_down(c, fd);
    c->dead_fd = fd;
    c->st.fd = -1;
    far__call_fail_all(c, gen, err, why);
    if (!c->reading)
        far__direct_release(c, err, why); /* (else its reader does, seeing the close) */
    /* Queued calls not being written go; a partly written one stays until
     * its writer lets go (the queue is dropped then, below). */
    if (!c->st.flushing) {
        for (far__wmsg *m = far__stream_take_all(&c->st), *nx; m; m = nx) {
            nx = m->next;
            call *k = FAR__CONTAINER_OF(m, call, wm);
            k->in_outq = false;
            far__call_unref(c, k);
        }
    }
    if (!c->reading && !c->st.flushing) {
        close(c->dead_fd);
        c->dead_fd = -1;
    }
    pthread_cond_broadcast(&c->cv);
}

void far__conn_maybe_close_dead(far_client *c)
{
    if (c->direct_k && !c->reading && (!c->connected || c->gen != c->direct_gen))
        far__direct_release(c, FAR_ECONNLOST, "the connection was lost");
    if (c->dead_fd >= 0 && !c->reading && !c->st.flushing) {
        close(c->dead_fd);
        c->dead_fd = -1;
        pthread_cond_broadcast(&c->cv);
    } else if (c->destroying) {
        pthread_cond_broadcast(&c->cv);
    }
}

/* Makes sure a connection exists, waiting at most until `deadline` (c->mu
 * held; dropped while connecting). */
far_err far__conn_ensure(far_client *c, uint64_t deadline)
{
    for (;;) {
        if (c->destroying)
            return FAR_ECLOSED;
        if (c->connected)
            return FAR_OK;
        if (!c->connecting && c->dead_fd < 0)
            break;
        struct timespec ts;
        abs_time(deadline, &ts);
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT && !c->connected) {
            far__set_last_error("%s: %s (connecting)", c->addr.text, far_strerror(FAR_ETIMEDOUT));
            return FAR_ETIMEDOUT;
        }
    }
    c->connecting = true;
    /* A client opened on a dynamic address looks the server up again when
     * its connection was lost or could not be made (a server restarted on
     * another port, say), at most once per back-off interval. */
    far__addr target = c->conn_addr;
    uint64_t now = far__now_ns();
    bool resolve = c->dynamic && c->reresolve && now >= c->next_resolve_ns;
    pthread_mutex_unlock(&c->mu);
    bool moved = false;
    if (resolve) {
        char a[FAR__ADDR_MAX];
        far__addr na;
        char saved[256];
        snprintf(saved, sizeof saved, "%s", far_last_error());
        if (c->resolver->resolve(c->spec, a, sizeof a) == FAR_OK &&
            far__addr_parse(a, &na, NULL, 0) == FAR_OK && na.t == target.t) {
            moved = na.len != target.len || memcmp(&na.ss, &target.ss, na.len) != 0;
            target = na;
        }
        far__set_last_error("%s", saved);
    }
    far_err err = FAR_OK;
    int sys_errno = 0;
    int fd = far__sock_connect(&target, deadline, &err, &sys_errno);
    if (fd >= 0 && c->addr.t == FAR__UDP) {
        int sz = 1 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    /* FAR_CTX's probe (ctx.c), before anything else can use the socket
     * (only the connecting thread writes c->classic) */
    far__probe_res probe = FAR__PROBE_CLASSIC;
    uint64_t handle = 0, srv_boot = 0;
    far__sec_session *sess = NULL;
    if (fd >= 0 && !c->classic) {
        probe = far__ctx_probe(c, fd, deadline, &handle, &srv_boot, &sess);
        /* reset under the probe (a server going away, or one that hangs up
         * on an unknown flavor): again, then once more without it -- unless
         * the server has answered FAR_CTX before: then it is a reset, and
         * the probe is made again (bounded, and by the deadline) */
        for (int i = 0; probe == FAR__PROBE_BROKEN &&
                        (i < 2 || (c->ctx_seen && i < 50 && far__now_ns() < deadline));
             i++) {
            close(fd);
            fd = far__sock_connect(&target, deadline, &err, &sys_errno);
            if (fd < 0)
                break;
            /* (a protected client never speaks without its handshake) */
            probe = i == 0 || c->ctx_seen || c->sec_level
                        ? far__ctx_probe(c, fd, deadline, &handle, &srv_boot, &sess)
                        : FAR__PROBE_NONE;
        }
    }
    pthread_mutex_lock(&c->mu);
    c->connecting = false;
    pthread_cond_broadcast(&c->cv);
    if (resolve) {
        c->next_resolve_ns = now + (uint64_t)c->resolve_backoff_ms * 1000000u;
        c->resolve_backoff_ms = c->resolve_backoff_ms * 2 > RESOLVE_BACKOFF_MAX_MS
                                    ? RESOLVE_BACKOFF_MAX_MS
                                    : c->resolve_backoff_ms * 2;
        if (moved)
            c->conn_addr = target; /* only the connecting thread reads it */
    }
    if (fd < 0) {
        c->reresolve = true;
        if (err == FAR_ECONNREFUSED && target.t == FAR__UNIX && sys_errno == ENOENT)
            far__set_last_error("%s: no such socket (the file does not exist: is the server "
                                "running?)",
                                target.text);
        else
            far__set_last_error("%s: %s%s", target.text, far_strerror(err),
                                err == FAR_ETIMEDOUT ? " (connecting)" : "");
        return err;
    }
    c->reresolve = false;
    c->resolve_backoff_ms = RESOLVE_BACKOFF_MIN_MS;
    if (c->destroying) {
        close(fd);
        far__sec_session_unref(sess);
        return FAR_ECLOSED;
    }
    if (!c->classic && c->ctx_seen && probe == FAR__PROBE_BROKEN) {
        /* a server that speaks FAR_CTX, reset under every probe: a failed
         * connect (the flavor is not given up for it) */
        close(fd);
        far__sec_session_unref(sess);
        c->reresolve = true;
        far__set_last_error("%s: the connection was reset under every FAR_CTX probe", target.text);
        return FAR_ECONNLOST;
    }
    if (c->sec_level && c->classic) {
        /* a classic server, found before: no level can be had of it */
        far__set_last_error("%s: security level %s asked, and the server is a classic ONC RPC "
                            "one (it denied FAR_CTX): nothing is sent to it",
                            target.text, far_security_name((far_security)c->sec_level));
        close(fd);
        return FAR_EUNSUPPORTED;
    }
    if (!c->classic) {
        err = FAR_OK;
        switch (probe) {
        case FAR__PROBE_CTX:
            atomic_store(&c->ctx.handle, handle);
            atomic_store(&c->srv_boot, srv_boot);
            c->ctx_seen = true;
            if (c->sec_level) {
                /* the connection's session (calls check it under mu) */
                pthread_mutex_lock(&c->sess_mu);
                far__sec_session *old = c->sess;
                c->sess = sess;
                pthread_mutex_unlock(&c->sess_mu);
                far__sec_session_unref(old);
                sess = NULL;
            }
            break;
        case FAR__PROBE_SEC_DENIED:
            far__set_last_error("%s: the server refused the handshake for security level %s: %s",
                                target.text, far_security_name((far_security)c->sec_level),
                                c->sec_stat == FAR_AUTH_TOOWEAK
                                    ? "the level is below the server's minimum (AUTH_TOOWEAK)"
                                    : "it has no key for this identity, or the key is not its key "
                                      "(RPCSEC_GSS_CREDPROBLEM)");
            err = FAR_EAUTH;
            break;
        case FAR__PROBE_SEC_FAILED:
            far__set_last_error("%s: the server's handshake reply does not verify (not the "
                                "key this client has, or a message changed in transit)",
                                target.text);
            err = FAR_EAUTH;
            break;
        case FAR__PROBE_CLASSIC:
            c->classic = true;
            if (c->sec_level)
                far__set_last_error("%s: security level %s asked, and the server is a classic "
                                    "ONC RPC one (it denied FAR_CTX): nothing is sent to it",
                                    target.text, far_security_name((far_security)c->sec_level));
            else if (c->o.require_ctx)
                far__set_last_error("%s: the server does not speak FAR_CTX (a classic ONC RPC "
                                    "server: it denied the probe's flavor), and "
                                    "far_client_opts.require_ctx is set",
                                    target.text);
            err = c->o.require_ctx || c->sec_level ? FAR_EUNSUPPORTED : FAR_OK;
            break;
        case FAR__PROBE_NONE:
        case FAR__PROBE_BROKEN:
            if (c->sec_level)
                far__set_last_error("%s: security level %s asked, and the server did not answer "
                                    "the handshake",
                                    target.text, far_security_name((far_security)c->sec_level));
            else if (c->o.require_ctx)
                far__set_last_error("%s: the server did not answer the FAR_CTX probe, and "
                                    "far_client_opts.require_ctx is set",
                                    target.text);
            err = c->o.require_ctx || c->sec_level ? FAR_EUNSUPPORTED : FAR_OK;
            break;
        case FAR__PROBE_REFUSED:
            far__set_last_error("%s: %s", target.text, far_strerror(FAR_ETOOMANY));
            c->reresolve = true;
            err = FAR_ETOOMANY;
            break;
        }
        atomic_store(&c->use_ctx, probe == FAR__PROBE_CTX);
        far__sec_session_unref(sess);
        if (err != FAR_OK) {
            close(fd);
            return err;
        }
    }
    c->st.fd = fd;
    c->gen++;
    c->last_io = far__now_ns();
    c->connected = true;
    c->st.flush_again = false;
    c->read_pending = false;
    c->peer_hup = false;
    c->rcv_timeo_ms = 0;
    if (c->addr.t != FAR__UDP) {
        far__direct_release(c, FAR_ECONNLOST, "the connection was lost");
        far__recrd_fini(&c->st.rd);
        far__recrd_init(&c->st.rd, c->o.max_record, 16384);
    }
    far__io_conn_up(c);
    return FAR_OK;
}

/* A stream connection that has been quiet for a while may have been closed by
 * the server (idle timeout, restart): look before sending on it, so the call
 * goes out on a fresh connection instead of failing with FAR_ECONNLOST. */
void far__conn_check_idle(far_client *c, uint64_t now)
{
    if (c->addr.t == FAR__UDP || !c->connected || c->ncalls || c->reading || c->st.flushing)
        return;
    if ((now ? now : far__now_ns()) - c->last_io < 100000000u)
        return;
    uint8_t b;
    ssize_t n = recv(c->st.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        far__conn_lost(c, c->gen, FAR_ECONNLOST, "the server closed the connection");
    else
        c->last_io = far__now_ns();
}

/* ------------------------------------------------------------ sending */

/* Writes the send queue (c->mu held, c->st.flushing set by the caller;
 * cleared here).  `me`: a synchronous caller that may wait for room until its
 * deadline. */
void far__conn_flush_locked(far_client *c, call *me)
{
    for (;;) {
        if (!c->connected || !c->st.nq)
            break;
        int fd = c->st.fd;
        uint64_t gen = c->gen;
        far__wmsg *done;
        int e;
        ssize_t w = far__stream_write(&c->st, &c->mu, &done, &e);
        pthread_cond_broadcast(&c->cv); /* a caller may wait for a writer to let go */
        if (w > 0) {
            for (far__wmsg *m = done, *nx; m; m = nx) {
                nx = m->next;
                call *k = FAR__CONTAINER_OF(m, call, wm);
                k->in_outq = false;
                far__call_unref(c, k);
            }
            continue;
        }
        if (w < 0 && e == EINTR)
            continue;
        if (w == 0 && e == EAGAIN) {
            if (c->st.flush_again) {
                c->st.flush_again = false;
                continue;
            }
            if (me && !me->done && far__now_ns() < me->deadline) {
                /* The socket is full: wait for room, at most until our deadline. */
                uint64_t now = far__now_ns();
                int ms = (int)((me->deadline - now + 999999) / 1000000);
                pthread_mutex_unlock(&c->mu);
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                poll(&pf, 1, ms);
                pthread_mutex_lock(&c->mu);
                continue;
            }
            break; /* EPOLLOUT (I/O thread) or the next caller goes on */
        }
        if (w == 0)
            break; /* nothing queued */
        char why[96], eb[64];
        snprintf(why, sizeof why, "send failed: %s", far__errno_text(e, eb, sizeof eb));
        far__conn_lost(c, gen, FAR_ECONNLOST, why);
        break;
    }
    c->st.flushing = false;
    /* Calls left for a connection that is gone were failed with it. */
    if (!c->connected) {
        for (far__wmsg *m = far__stream_take_all(&c->st), *nx; m; m = nx) {
            nx = m->next;
            call *k = FAR__CONTAINER_OF(m, call, wm);
            k->in_outq = false;
            far__call_unref(c, k);
        }
    }
    far__conn_maybe_close_dead(c);
}

/* Gives the reader token to the first caller still waiting for its reply
 * (c->mu held): a waiter whose reply we just delivered would wake, find its
 * call done and leave, and the token would be lost -- the others sleeping
 * until their deadlines. */
static void pass_reader_token(far_client *c)
{
    for (call *w = c->w_head; w; w = w->wnext) {
        if (!w->done) {
            pthread_cond_signal(&w->cv);
            return;
        }
    }
}

void far__conn_release_reader(far_client *c)
{
    c->reading = false;
    pass_reader_token(c);
    if (c->read_pending && c->io) {
        c->read_pending = false;
        c->io_read = true;
        far__io_post(c);
    }
    far__conn_maybe_close_dead(c);
}

static void waiter_add(far_client *c, call *k)
{
    k->wnext = NULL;
    k->wprev = c->w_tail;
    if (c->w_tail)
        c->w_tail->wnext = k;
    else
        c->w_head = k;
    c->w_tail = k;
}

static void waiter_del(far_client *c, call *k)
{
    if (k->wprev)
        k->wprev->wnext = k->wnext;
    else
        c->w_head = k->wnext;
    if (k->wnext)
        k->wnext->wprev = k->wprev;
    else
        c->w_tail = k->wprev;
    k->wnext = k->wprev = NULL;
}

/* Bounds the reader's blocking recv by `until` (c->mu held): SO_RCVTIMEO is
 * lowered when it is longer than that, raised when it is much shorter (so a
 * reader never wakes up over and over), and otherwise left alone -- callers
 * with the usual deadline cost no system call. */
static void bound_recv(far_client *c, int fd, uint64_t until, uint64_t now)
{
    uint64_t left = until > now ? until - now : 0;
    int ms = (int)(left / 1000000u) + 1;
    if (c->rcv_timeo_ms && c->rcv_timeo_ms <= ms + 10 && c->rcv_timeo_ms * 2 >= ms)
        return;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0)
        c->rcv_timeo_ms = ms;
}

/* For a cancellable reader: waits until fd is readable (1), `until` passes
 * (0), or a cancel wakes it (-1). */
static int wait_readable(far_client *c, int fd, uint64_t until)
{
    uint64_t now = far__now_ns();
    int ms = until > now ? (int)((until - now + 999999) / 1000000) : 0;
    struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = c->wakefd, .events = POLLIN}};
    int n = poll(pf, 2, ms);
    if (n <= 0)
        return 0;
    if (pf[1].revents) {
        far__event_drain(c->wakefd);
        return -1;
    }
    return 1;
}

/* Reads as the holder of the reader token until k is done, the connection
 * changes, or there is nothing more for now (c->mu not held). */
static void read_for(far_client *c, call *k, int fd, uint64_t gen, bool cancellable, uint64_t until)
{
    for (;;) {
        if (cancellable) {
            /* A cancel must be able to wake us: wait in poll (with the
             * wake-up fd) rather than in a blocking recv. */
            if (wait_readable(c, fd, until) <= 0)
                return;
            far__conn_read_once(c, fd, gen, true);
        } else if (!far__conn_read_once(c, fd, gen, false)) {
            return;
        } else if (c->reader_got) {
            return; /* (our reply: handle_replies said so, on this thread) */
        }
        /* Keep reading while data flows and our reply is not here. */
        pthread_mutex_lock(&c->mu);
        bool stop = k->done || c->gen != gen;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            return;
    }
}

/* A synchronous caller waits for its reply, reading when it may (c->mu
 * held).  `now`: when the call was made, if the caller knows (0: not), so
 * the first round reads no clock. */
void far__conn_wait_sync(far_client *c, call *k, uint64_t now0)
{
    while (!k->done) {
        uint64_t now = now0 ? now0 : far__now_ns();
        now0 = 0;
        if (c->live_next && now >= c->live_next) {
            far__live_check(c, now); /* may give the connection up, failing k */
            continue;
        }
        if (now >= k->deadline || c->destroying) {
            if (k->in_table) {
                far__tab_remove(c, k);
                far__call_set_status(c, k, c->destroying ? FAR_ECANCELED : FAR_ETIMEDOUT,
                                     c->destroying ? "client destroyed" : NULL);
                k->done = true;
                break;
            }
            /* Being decoded by the reader: it signals when done. */
            waiter_add(c, k);
            pthread_cond_wait(&k->cv, &c->mu);
            waiter_del(c, k);
            continue;
        }
        far__udp_maybe_retry(c, k, now);
        if (!c->reading && c->connected && k->in_table && !c->destroying) {
            c->reading = true;
            c->reader = k;
            c->reader_got = false;
            int fd = c->st.fd;
            uint64_t gen = c->gen;
            uint64_t until = k->deadline;
            if (c->addr.t == FAR__UDP && k->next_retry < until)
                until = k->next_retry;
            if (c->live_next && c->live_next < until)
                until = c->live_next;
            if (k->cancellable && c->wakefd < 0)
                c->wakefd = far__event_open();
            bool cancellable = k->cancellable && c->wakefd >= 0;
            if (!cancellable)
                bound_recv(c, fd, until, now);
            pthread_mutex_unlock(&c->mu);
            read_for(c, k, fd, gen, cancellable, until);
            pthread_mutex_lock(&c->mu);
            c->reader = NULL;
            far__conn_release_reader(c);
            continue;
        }
        if (k->in_outq && !c->st.flushing && c->connected) {
            c->st.flushing = true;
            far__conn_flush_locked(c, k);
            continue;
        }
        uint64_t until = k->deadline;
        if (c->addr.t == FAR__UDP && k->next_retry < until)
            until = k->next_retry;
        if (c->live_next && c->live_next < until)
            until = c->live_next;
        struct timespec ts;
        abs_time(until, &ts);
        waiter_add(c, k);
        pthread_cond_timedwait(&k->cv, &c->mu, &ts);
        waiter_del(c, k);
    }
    /* Not sent in full: take it out of the queue, or, if part of it is on the
     * wire already, let the rest go out from memory of its own (the stream
     * must not be cut, and our arguments may go away once we return). */
    if (k->in_outq) {
        while (k->wm.writing)
            pthread_cond_wait(&c->cv, &c->mu);
        far__call_unlink_outq(c, k);
        if (k->in_outq && !far__call_detach_args(c, k))
            while (k->in_outq && c->connected) /* no memory to detach: the writer sends it */
                pthread_cond_wait(&c->cv, &c->mu);
    }
    /* We may have been woken to read just as our reply came (read by the I/O
     * thread, say): if nobody reads now, pass that on. */
    if (!c->reading)
        pass_reader_token(c);
}
