/* The cluster layer's internal header (docs/cluster.md).  Above clnt and
 * svc, beside bind, written on the public API; hooks.c wires it in.
 *   etcd.c     etcd's JSON API (gRPC gateway, /v3/...) over libcurl + jansson
 *   publish.c  the publisher: one lease kept alive, keys put again when it is
 *              lost; far_publisher_*, and the servers' registrar on it
 *   source.c   the instance sources a balanced client watches: etcd (range,
 *              then watch) and a list of binders (looked up every second);
 *              far_cluster_list
 * The balancer itself is the client's (src/clnt/lb.c). */
#ifndef FARCALL_CLUSTER_INTERNAL_H
#define FARCALL_CLUSTER_INTERNAL_H

#include "hooks.h"
#include "internal.h"

#include "farcall/cluster.h"

#include <jansson.h>

#define FAR__ETCD_DEFAULT    "http://127.0.0.1:2379"
#define FAR__ETCD_MAX_EPS    8
#define FAR__ETCD_TIMEOUT_MS 2000 /* one request to one member */
#define FAR__CLUSTER_TTL_S   10
#define FAR__CLUSTER_PREFIX  "/farcall/v1/"

/* One user's connection to an etcd cluster: its members, the one in use
 * (moved on when it fails), a curl handle.  One thread at a time. */
typedef struct far__etcd {
    char eps[FAR__ETCD_MAX_EPS][128];
    size_t n, cur;
    void *curl; /* CURL * */
} far__etcd;

/* Parses `endpoints` (NULL: $FARCALL_ETCD, else the default).  FAR_EADDR if
 * malformed (far_last_error says why). */
far_err far__etcd_init(far__etcd *e, const char *endpoints);
void far__etcd_fini(far__etcd *e);

/* The calls (FAR_ENOBINDER: no member answered; far_last_error says who
 * was tried).  Keys and values are C strings here, base64 on the wire. */
far_err far__etcd_grant(far__etcd *e, uint32_t ttl_s, int64_t *id);
/* *ttl receives the lease's remaining TTL: 0 if etcd has lost it. */
far_err far__etcd_keepalive(far__etcd *e, int64_t id, int64_t *ttl);
/* FAR_ENOTREG: the lease is not found (expired). */
far_err far__etcd_put(far__etcd *e, const char *key, const char *val, int64_t lease);
far_err far__etcd_delete(far__etcd *e, const char *key);
far_err far__etcd_revoke(far__etcd *e, int64_t id);

/* One key-value pair read. */
typedef struct far__etcd_kv {
    char *key, *val; /* malloc'ed */
    int64_t lease;
} far__etcd_kv;
/* Every pair under `prefix`: *kvs (free with far__etcd_kvs_free), *n, and
 * the store's revision (watch from *rev + 1). */
far_err far__etcd_range(far__etcd *e, const char *prefix, far__etcd_kv **kvs, size_t *n,
                        int64_t *rev);
void far__etcd_kvs_free(far__etcd_kv *kvs, size_t n);

/* Watches `prefix` from revision `from`: on_event(user, deleted, key, val)
 * for every event (val "" for a delete) and on_batch(user) after each
 * message's events, until the stream ends (the member went: FAR_ECONNLOST),
 * etcd cancels it (compaction: FAR_ECANCELED; list again), no member
 * answers (FAR_ENOBINDER), or *stop becomes true (FAR_OK; it is looked at
 * when wake_fd becomes readable, and every 500 ms). */
typedef struct far__etcd_watch_cbs {
    void (*on_event)(void *user, bool deleted, const char *key, const char *val);
    void (*on_batch)(void *user);
    void *user;
} far__etcd_watch_cbs;
far_err far__etcd_watch(far__etcd *e, const char *prefix, int64_t from,
                        const far__etcd_watch_cbs *cbs, _Atomic bool *stop, int wake_fd);

/* The cluster name in force ($FARCALL_CLUSTER or "default"), checked:
 * 1..64 bytes of [A-Za-z0-9_.-]. */
bool far__cluster_name_ok(const char *s);
const char *far__cluster_default(void);
/* *cluster, or the default when NULL, checked: FAR_OK, or FAR_EADDR with
 * the last error naming it (what: the text it came from, for the message). */
far_err far__cluster_name(const char **cluster, const char *what);

/* The key of one registration. */
void far__cluster_key(char *out, size_t n, const char *cluster, uint32_t prog, uint32_t vers,
                      const char *netid, const char *uaddr);

/* publish.c: the registrar (far__registrar) the servers use when
 * $FARCALL_ETCD is set. */
far_err far__cluster_register(const far__prog_vers *progs, size_t n, const char *const *addrs,
                              size_t naddrs, void **reg);
void far__cluster_unregister(void *reg);

/* source.c: the instance source (far__source). */
bool far__cluster_is_multi(const char *spec);
far_err far__cluster_source_open(const char *spec, far__inst_fn fn, void *user, uint32_t *prog,
                                 uint32_t *vers, void **src);
void far__cluster_source_close(void *src);

#endif
