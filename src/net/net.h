/* Network layer: addresses, sockets, the epoll poller. */
#ifndef FARCALL_NET_H
#define FARCALL_NET_H

#include "internal.h"
#include "msg/msg.h"

#include <pthread.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

typedef enum far__transport { FAR__TCP = 0, FAR__UDP = 1, FAR__UNIX = 2 } far__transport;

/* A parsed, resolved address. */
typedef struct far__addr {
    far__transport t;
    struct sockaddr_storage ss;
    socklen_t len;
    char text[sizeof(struct sockaddr_un) + 16]; /* canonical form, as given */
} far__addr;

/* Parses "tcp://HOST:PORT", "udp://HOST:PORT", "unix:/path" (HOST: a name, an
 * IPv4 literal or a bracketed IPv6 literal).  FAR_EADDR with a reason in why. */
far_err far__addr_parse(const char *s, far__addr *out, char *why, size_t why_len);
/* Formats a socket address as an address string of transport t. */
void far__addr_format(far__transport t, const struct sockaddr *sa, socklen_t len, char *buf,
                      size_t n);

/* A listening (stream) or bound (UDP) non-blocking socket; -1 and *err. */
int far__sock_listen(far__addr *a, far_err *err);
/* A connected socket (in blocking mode), or -1 with *err (FAR_ECONNREFUSED
 * ...) and, if sys_errno is not NULL, the errno behind it.  The connect is
 * non-blocking underneath and gives up at `deadline` (far__now_ns() time; 0:
 * the kernel's own timeout) with FAR_ETIMEDOUT. */
int far__sock_connect(const far__addr *a, uint64_t deadline, far_err *err, int *sys_errno);

/* The longest address string far__addr_parse takes or far__addr_format makes. */
#define FAR__ADDR_MAX 256

/* ------------------------------------------------------------ event loop */

typedef struct far__timer far__timer;
typedef void (*far__timer_fn)(far__timer *t, void *arg);

/* A timer: armed with far__timer_start, it fires once (its callback runs on
 * a thread waiting in the loop) unless stopped first.  The memory of a timer
 * that may fire must stay valid until it has fired or been stopped. */
struct far__timer {
    uint64_t when; /* far__now_ns() time it is due */
    size_t idx;    /* 1 + its place in the heap; 0: not armed */
    far__timer_fn fn;
    void *arg;
};

/* epoll + a timer heap + a wake-up eventfd; see loop.c. */
typedef struct far__loop {
    int epfd, tfd, wakefd;
    pthread_mutex_t tmu; /* the heap */
    far__timer **heap;
    size_t n, cap;
    uint64_t armed_for; /* the time tfd is armed for; 0: none */
} far__loop;

/* What far__loop_wait reports for a far__loop_wake. */
#define FAR__LOOP_WOKEN (UINT64_MAX - 2)

/* 0, or -1 (out of descriptors or memory). */
int far__loop_init(far__loop *l);
void far__loop_fini(far__loop *l);
/* epoll_ctl; `data` is given back with the fd's events (values from
 * FAR__LOOP_WOKEN up are the loop's own). */
int far__loop_add(far__loop *l, int fd, uint32_t events, uint64_t data);
int far__loop_mod(far__loop *l, int fd, uint32_t events, uint64_t data);
int far__loop_del(far__loop *l, int fd);
/* Makes one waiting thread return with a FAR__LOOP_WOKEN event. */
void far__loop_wake(far__loop *l);
/* Waits up to timeout_ms (-1: no limit) for events; fires the timers that
 * are due (their callbacks run here) and returns the other events, at most
 * max of them (0 if only timers fired). */
int far__loop_wait(far__loop *l, struct epoll_event *ev, int max, int timeout_ms);

void far__timer_init(far__timer *t, far__timer_fn fn, void *arg);
/* Arms (or re-arms) t for `when` (far__now_ns() time; a past time fires at
 * once).  False if out of memory (not armed). */
bool far__timer_start(far__loop *l, far__timer *t, uint64_t when);
/* Disarms t.  True if it was armed (it will not fire); false if it was not,
 * or is firing right now on another thread. */
bool far__timer_stop(far__loop *l, far__timer *t);
bool far__timer_armed(far__loop *l, far__timer *t);

/* ------------------------------------------------------------ record stream */

/* A message to write on a stream: the owner's iovecs (record mark included)
 * and how much of it has gone out.  Owners embed one in their call or reply
 * object. */
typedef struct far__wmsg {
    struct far__wmsg *next;
    const struct iovec *iov;
    size_t niov; /* at most 8 */
    size_t total, sent;
    uint8_t cls;  /* FAR__WMSG_SMALL or FAR__WMSG_BULK */
    uint8_t kind; /* the owner's: what kind of object embeds it */
    bool writing; /* its iovecs are in a sendmsg now: its memory must stay */
} far__wmsg;

enum { FAR__WMSG_SMALL = 0, FAR__WMSG_BULK = 1 };

/* One record-marked stream connection (TCP or Unix), as client and server
 * both use it: the socket, the record reader, the write queue.  Protected by
 * its owner's mutex (see stream.c). */
typedef struct far__stream {
    int fd;
    far__recrd rd;
    far__wmsg *head[2], *tail[2]; /* the two classes */
    far__wmsg *cur;               /* partly written: it goes on first */
    size_t nq;                    /* messages queued */
    size_t last_space;            /* the room the last successful recv had */
    bool flushing, flush_again;   /* for the owner's writer */
} far__stream;

void far__stream_init(far__stream *st, int fd, size_t max_record, size_t min_cap);
/* Frees the reader's buffers (not the fd, nor queued messages). */
void far__stream_fini(far__stream *st);
/* Queues m (class FAR__WMSG_SMALL or FAR__WMSG_BULK). */
void far__stream_push(far__stream *st, far__wmsg *m, unsigned cls);
/* Takes m out of the queue if none of it has been written (true), else
 * leaves it (false: it must go out whole). */
bool far__stream_remove(far__stream *st, far__wmsg *m);
/* Empties the queue, returning its messages linked by next. */
far__wmsg *far__stream_take_all(far__stream *st);
/* The send loop's one step: gathers queued messages in send order into one
 * sendmsg, made with *mu (held on entry and exit) unlocked.  Returns the
 * bytes written, with the messages written in full unlinked and returned in
 * *done; 0 with *err 0 (nothing queued) or EAGAIN (the socket is full); -1
 * with *err the errno (EINTR: try again). */
ssize_t far__stream_write(far__stream *st, pthread_mutex_t *mu, far__wmsg **done, int *err);
/* One recv from fd into the record reader (room made first), with the
 * reader's direct span first if it has one (far__recrd_direct: one recvmsg
 * into both): what recv returned; -1 with *err set when no room could be made (FAR_ENOMEM).  fd is
 * the stream's socket as the reader took it (under its owner's lock): the
 * client sets st->fd under its lock when a connection is lost, while its
 * reader reads without that lock. */
ssize_t far__stream_recv(far__stream *st, int fd, int flags, far_err *err);

/* An eventfd: wake (write 1) and drain. */
int far__event_open(void);
void far__event_wake(int fd);
void far__event_drain(int fd);

#endif
