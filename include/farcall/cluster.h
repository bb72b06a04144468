/* farcall — many instances behind one name: client-side balancing, health,
 * and cluster naming on etcd (docs/cluster.md).
 *
 * A client opened on a service that several servers provide sees every
 * live instance, keeps the set current without being reopened, and
 * balances each call over it.  Two ways to name such a service (give them
 * to far_client_open, or to any generated stub's client):
 *
 *   PROG/VERS[/NETID]@etcd:CLUSTER
 *       the instances registered in etcd under /farcall/v1/CLUSTER/, found
 *       with a range read and kept current with a watch.  The etcd members
 *       are $FARCALL_ETCD (comma-separated "http://HOST:PORT" or
 *       "HOST:PORT"; default http://127.0.0.1:2379); every one is tried in
 *       turn, so one member down changes nothing.
 *   PROG/VERS[/NETID]@WHERE1,WHERE2,...
 *       the instance each listed binder (farcall/bind.h: a host, or a
 *       binder address) knows, looked up again every second.
 *
 * PROG is a number or a name (for etcd: the .x name a registration
 * carries, or /etc/rpc); NETID is tcp or tcp6 (default: both).
 *
 * Servers publish themselves: with $FARCALL_ETCD set, far_server_start
 * also writes every program version x address to etcd (cluster
 * $FARCALL_CLUSTER, default "default") under one lease of
 * $FARCALL_ETCD_TTL seconds (default 10) kept alive every TTL/3 while the
 * server runs; a crashed server's keys vanish when the lease expires, a
 * stopped one's at once (the lease is revoked).  A lease etcd no longer
 * knows (an outage longer than the TTL) is granted again and every key put
 * again.  A server that listens on a wildcard address publishes
 * $FARCALL_ADVERTISE (a host name or address) in its place, or the host's
 * name.  Servers that cannot publish themselves (rpcgen + libtirpc ones)
 * are published by `far publish` (far(1)) or a far_publisher.
 *
 * Balancing (far_client_set_lb): FAR_LB_P2C by default.  Health: every
 * instance is sent the NULL procedure (procedure 0, which every ONC RPC
 * server answers) every 250 ms; two failures in a row, or three failed
 * calls in a row, or one refused connection eject it; two answers in a
 * row let it back.  A killed instance stops receiving calls within 1 s
 * (at once for the caller whose connection is refused); one that hangs
 * with its connections open is ejected within 1.5 s.  A call that
 * fails on one instance is made again on another one, until its deadline,
 * when its semantics allow it (docs/semantics.md): an at-least-once
 * (idempotent) call after any transport failure; any call when the
 * failure proves it did not run (the connection was refused, or the
 * instance answered PROG_UNAVAIL, PROG_MISMATCH or PROC_UNAVAIL).
 * At-most-once, exactly-once and may-be calls that may have run are not.
 * The same holds for async calls (their callback runs once, at the end;
 * far_client_cancel reaches only the first attempt).  far_client_destroy of a
 * balanced client cancels its calls in flight on every instance, as an
 * ordinary client's does: sync callers in other threads return
 * FAR_ECANCELED at once, async callbacks run with it (once each, never
 * sent again).  From another thread it returns once they have, the client
 * freed.  From an async callback (its own or another client's) it returns
 * at once, and the client's health thread ends it -- its source, its
 * instances' clients, its memory -- once that callback has returned and
 * the sync callers are out.  Either way c must not be used after the
 * call.
 *
 * Threads: every function here may be called from any thread.
 */
#ifndef FARCALL_CLUSTER_H
#define FARCALL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "farcall/rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a balanced client picks the instance of each call. */
typedef enum far_lb_policy {
    FAR_LB_P2C = 0,         /* the default: of two healthy instances taken at random,
                             * the one whose calls in flight (plus one) times its
                             * recent latency is lower (power of two choices), so a
                             * slow instance gets fewer calls */
    FAR_LB_PICK_FIRST = 1,  /* the first healthy instance, in the order of their
                             * addresses: the others only when it fails */
    FAR_LB_ROUND_ROBIN = 2, /* each healthy instance in turn */
} far_lb_policy;

/* Sets c's policy (a client opened as above; $FARCALL_LB = p2c,
 * pick_first or round_robin sets it at open).  FAR_EMISUSE if c is not a
 * balanced client. */
FAR_NODISCARD far_err far_client_set_lb(far_client *c, far_lb_policy policy);

/* One instance of a balanced client, as the client sees it. */
typedef struct far_instance_info {
    char addr[256];     /* "tcp://10.0.0.2:40312" */
    bool healthy;       /* picked for calls (false: not yet checked, or ejected) */
    uint32_t in_flight; /* calls on it now */
    uint64_t calls;     /* calls sent to it since it was first seen */
    uint64_t failures;  /* of which failed in transport (refused, lost, timed out) */
} far_instance_info;

/* Copies up to `max` of c's current instances into out[] and their number
 * into *n (which may exceed max).  FAR_EMISUSE if c is not a balanced
 * client. */
FAR_NODISCARD far_err far_client_instances(far_client *c, far_instance_info *out, size_t max,
                                           size_t *n);

/* ------------------------------------------------------------ publishing */

typedef struct far_publisher far_publisher;

/* Creates a publisher: registrations written to etcd (`endpoints` as
 * $FARCALL_ETCD, NULL: $FARCALL_ETCD or its default) under
 * /farcall/v1/CLUSTER/ (NULL: $FARCALL_CLUSTER or "default") and one lease
 * of ttl_s seconds (0: $FARCALL_ETCD_TTL or 10), kept alive from a thread of
 * its own every ttl_s/3 (re-granted, and everything put again, if etcd
 * lost it).  On success *out owns it (far_publisher_destroy).  FAR_EADDR
 * for a malformed endpoint or cluster name. */
FAR_NODISCARD far_err far_publisher_create(far_publisher **out, const char *endpoints,
                                           const char *cluster, uint32_t ttl_s);

/* Publishes `addr` ("tcp://HOST:PORT") for prog/vers, with the program's
 * name (may be NULL).  If `check` is true the publisher sends the NULL
 * procedure to addr before each keep-alive and withdraws the key while it
 * does not answer (for a server that cannot publish itself).  FAR_OK once
 * written, or FAR_ENOBINDER if etcd could not be reached within 2 s (the
 * key is written when it can be). */
FAR_NODISCARD far_err far_publisher_add(far_publisher *p, uint32_t prog, uint32_t vers,
                                        const char *name, const char *addr, bool check);

/* Revokes the lease (every key goes at once), stops the thread and frees p.
 * far_publisher_destroy(NULL) does nothing. */
void far_publisher_destroy(far_publisher *p);

/* ------------------------------------------------------------ listing */

/* One registration in etcd. */
typedef struct far_cluster_entry {
    uint32_t prog, vers;
    char netid[8];   /* "tcp", "tcp6", "udp", "udp6" */
    char addr[256];  /* "tcp://10.0.0.2:40312" */
    char name[65];   /* the .x program name ("" if none) */
    char owner[128]; /* who published it: "HOST:PID" */
    int64_t lease;   /* the etcd lease it lives under */
} far_cluster_entry;

/* Reads every registration of `cluster` (NULL: $FARCALL_CLUSTER or
 * "default") from etcd (`endpoints` as above) into a malloc'ed array
 * *out of *n entries, sorted by program, version, address; free it with
 * free().  FAR_ENOBINDER if no etcd member answered. */
FAR_NODISCARD far_err far_cluster_list(const char *endpoints, const char *cluster,
                                       far_cluster_entry **out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
