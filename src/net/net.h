/* Network layer: addresses, sockets, the epoll poller, time, logging. */
#ifndef FARCALL_NET_H
#define FARCALL_NET_H

#include "internal.h"

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
/* A connected socket (blocking mode), or -1 with *err (FAR_ECONNREFUSED ...). */
int far__sock_connect(const far__addr *a, far_err *err);

/* The small event-loop interface: a thin layer over epoll. */
typedef struct far__poller {
    int fd;
} far__poller;
int far__poller_init(far__poller *p);
void far__poller_fini(far__poller *p);
int far__poller_add(far__poller *p, int fd, uint32_t events, uint64_t data);
int far__poller_mod(far__poller *p, int fd, uint32_t events, uint64_t data);
int far__poller_del(far__poller *p, int fd);
int far__poller_wait(far__poller *p, struct epoll_event *ev, int max, int timeout_ms);

/* An eventfd: wake (write 1) and drain. */
int far__event_open(void);
void far__event_wake(int fd);
void far__event_drain(int fd);

uint64_t far__now_ns(void);
void far__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets the calling thread's far_last_error() text. */
void far__set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
