/* The instance sources a balanced client watches (far__source, hooks.h):
 *   PROG/VERS[/NETID]@etcd:CLUSTER   a range read of the cluster's keys for
 *       the program version, then a watch from the revision after it; the
 *       watch broken (its member gone) or cancelled (compaction): read and
 *       watch again, from the next member.  While no member answers the
 *       set is kept as it was: the servers are still there.
 *   PROG/VERS[/NETID]@W1,W2,...      each binder asked every second.
 * Also far_cluster_list. */
#include "cluster/cluster.h"

#include "farcall/bind.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define BINDER_REFRESH_MS 1000
#define RELIST_MS         500
#define MAX_INST          256
#define MAX_WHERE         16

typedef struct inst_rec {
    char key[512];
    char addr[256];
} inst_rec;

typedef struct source {
    far__inst_fn fn;
    void *user;
    bool etcd;
    uint32_t prog, vers;
    char netid[8]; /* "" : tcp and tcp6 */
    char prefix[300];
    char where[MAX_WHERE][FAR_BIND_MAX_ADDR];
    size_t nwhere;
    far__etcd e;
    int64_t rev;
    inst_rec *v; /* the set (the thread's) */
    size_t n;
    char last[MAX_INST][256]; /* what fn was last told */
    size_t nlast;
    pthread_t thread;
    bool started;
    _Atomic bool stop;
    int wake; /* eventfd */
} source;

/* ------------------------------------------------------------ spec */

static const char *where_of(const char *spec)
{
    const char *at = strchr(spec, '@');
    return at ? at + 1 : NULL;
}

bool far__cluster_is_multi(const char *spec)
{
    if (!spec || !far_bind_is_dynamic(spec))
        return false;
    const char *w = where_of(spec);
    return w && (strncmp(w, "etcd:", 5) == 0 || strchr(w, ','));
}

/* PROG/VERS[/NETID] before the '@'. */
static far_err parse_spec(const char *spec, char *prog, size_t plen, uint32_t *vers, char *netid)
{
    const char *at = strchr(spec, '@');
    char head[128];
    if (!at || (size_t)(at - spec) >= sizeof head)
        goto bad;
    snprintf(head, sizeof head, "%.*s", (int)(at - spec), spec);
    char *save = NULL, *p = strtok_r(head, "/", &save), *v = p ? strtok_r(NULL, "/", &save) : NULL;
    char *nid = v ? strtok_r(NULL, "/", &save) : NULL, *end;
    if (!p || !v || !isdigit((unsigned char)*v) || strtok_r(NULL, "/", &save))
        goto bad;
    unsigned long vv = strtoul(v, &end, 10);
    if (*end || vv > UINT32_MAX)
        goto bad;
    if (nid && strcmp(nid, "tcp") != 0 && strcmp(nid, "tcp6") != 0 && strcmp(nid, "udp") != 0 &&
        strcmp(nid, "udp6") != 0)
        goto bad;
    snprintf(prog, plen, "%s", p);
    snprintf(netid, 8, "%s", nid ? nid : "");
    *vers = (uint32_t)vv;
    return FAR_OK;
bad:
    far__set_last_error("%.80s: not PROG/VERS[/NETID]@etcd:CLUSTER or PROG/VERS[/NETID]@W1,W2",
                        spec);
    return FAR_EADDR;
}

static bool netid_ok(const source *s, const char *netid)
{
    if (s->netid[0])
        return strcmp(s->netid, netid) == 0;
    return strcmp(netid, "tcp") == 0 || strcmp(netid, "tcp6") == 0;
}

/* A registration's value into its address, if it is one of s's. */
static bool value_addr(const source *s, const char *val, char *addr, size_t n)
{
    json_t *j = json_loads(val, 0, NULL);
    json_t *a = json_object_get(j, "addr"), *nid = json_object_get(j, "netid");
    bool ok = json_is_string(a) && json_is_string(nid) && netid_ok(s, json_string_value(nid)) &&
              strlen(json_string_value(a)) < n && far_bind_is_dynamic(json_string_value(a)) == 0;
    if (ok)
        snprintf(addr, n, "%s", json_string_value(a));
    json_decref(j);
    return ok;
}

/* ------------------------------------------------------------ the set */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Tells fn the set if it changed. */
static void notify(source *s)
{
    char(*now)[256] = calloc(MAX_INST, sizeof *now);
    if (!now)
        return;
    size_t m = 0;
    for (size_t i = 0; i < s->n && m < MAX_INST; i++) {
        bool dup = false;
        for (size_t j = 0; j < m && !dup; j++)
            dup = strcmp(now[j], s->v[i].addr) == 0;
        if (!dup)
            snprintf(now[m++], 256, "%s", s->v[i].addr);
    }
    qsort(now, m, sizeof *now, cmp_str);
    bool same = m == s->nlast;
    for (size_t i = 0; same && i < m; i++)
        same = strcmp(now[i], s->last[i]) == 0;
    if (!same) {
        const char *ptrs[MAX_INST];
        for (size_t i = 0; i < m; i++) {
            ptrs[i] = now[i];
            snprintf(s->last[i], sizeof s->last[i], "%s", now[i]);
        }
        s->nlast = m;
        s->fn(s->user, ptrs, m);
    }
    free(now);
}

static void set_remove(source *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].key, key) == 0) {
            s->v[i] = s->v[--s->n];
            return;
        }
}

static void set_put(source *s, const char *key, const char *addr)
{
    set_remove(s, key);
    if (s->n == MAX_INST)
        return;
    snprintf(s->v[s->n].key, sizeof s->v[0].key, "%s", key);
    snprintf(s->v[s->n].addr, sizeof s->v[0].addr, "%s", addr);
    s->n++;
}

/* A binder source: each binder asked for the program, its answers put in
 * the set (keyed by the binder). */
static void lookup_all(source *s)
{
    for (size_t i = 0; i < s->nwhere; i++) {
        char addr[FAR_BIND_MAX_ADDR];
        if (far_bind_lookup(s->where[i], s->prog, s->vers, s->netid[0] ? s->netid : NULL, addr,
                            sizeof addr) == FAR_OK)
            set_put(s, s->where[i], addr);
    }
}

static void on_event(void *user, bool deleted, const char *key, const char *val)
{
    source *s = user;
    char addr[256];
    if (deleted)
        set_remove(s, key);
    else if (value_addr(s, val, addr, sizeof addr))
        set_put(s, key, addr);
}

static void on_batch(void *user)
{
    notify(user);
}

/* Reads the whole set from etcd (FAR_OK: s->v replaced, s->rev set). */
static far_err relist(source *s)
{
    far__etcd_kv *kvs;
    size_t n;
    int64_t rev;
    far_err rc = far__etcd_range(&s->e, s->prefix, &kvs, &n, &rev);
    if (rc != FAR_OK)
        return rc;
    s->n = 0;
    for (size_t i = 0; i < n; i++)
        on_event(s, false, kvs[i].key, kvs[i].val);
    far__etcd_kvs_free(kvs, n);
    s->rev = rev;
    return FAR_OK;
}

static void nap(source *s, uint32_t ms)
{
    uint64_t dl = far__now_ns() + (uint64_t)ms * 1000000u;
    for (int i = 0; i < 1000 && !atomic_load(&s->stop) && far__now_ns() < dl; i++) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static void *etcd_main(void *arg)
{
    source *s = arg;
    far__etcd_watch_cbs cbs = {on_event, on_batch, s};
    bool listed = true; /* by open */
    while (!atomic_load(&s->stop)) {
        if (!listed) {
            if (relist(s) != FAR_OK) {
                nap(s, RELIST_MS); /* no member answers: the set stays as it was */
                continue;
            }
            notify(s);
        }
        far_err rc = far__etcd_watch(&s->e, s->prefix, s->rev + 1, &cbs, &s->stop, s->wake);
        listed = false;
        if (rc == FAR_ENOBINDER)
            nap(s, RELIST_MS);
    }
    return NULL;
}

static void *binder_main(void *arg)
{
    source *s = arg;
    while (!atomic_load(&s->stop)) {
        nap(s, BINDER_REFRESH_MS);
        if (atomic_load(&s->stop))
            break;
        s->n = 0;
        lookup_all(s);
        notify(s);
    }
    return NULL;
}

/* Finds the program named `name` among the cluster's registrations. */
static far_err etcd_program(source *s, const char *cluster, const char *name)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, FAR__CLUSTER_PREFIX "%s/prog/", cluster);
    far__etcd_kv *kvs;
    size_t n;
    int64_t rev;
    far_err rc = far__etcd_range(&s->e, prefix, &kvs, &n, &rev);
    if (rc != FAR_OK)
        return rc;
    rc = FAR_ENOTREG;
    for (size_t i = 0; i < n && rc != FAR_OK; i++) {
        json_t *j = json_loads(kvs[i].val, 0, NULL);
        json_t *nm = json_object_get(j, "name"), *p = json_object_get(j, "prog");
        if (json_is_string(nm) && strcmp(json_string_value(nm), name) == 0 && json_is_integer(p)) {
            s->prog = (uint32_t)json_integer_value(p);
            rc = FAR_OK;
        }
        json_decref(j);
    }
    far__etcd_kvs_free(kvs, n);
    if (rc != FAR_OK) /* not registered under that name: /etc/rpc */
        rc = far_bind_program(name, "unix:/nonexistent", &s->prog) == FAR_OK ? FAR_OK : rc;
    if (rc != FAR_OK)
        far__set_last_error("%s: no program of that name is registered in cluster %s", name,
                            cluster);
    return rc;
}

static void source_free(source *s)
{
    if (s->etcd)
        far__etcd_fini(&s->e);
    if (s->wake >= 0)
        close(s->wake);
    free(s->v);
    free(s);
}

far_err far__cluster_source_open(const char *spec, far__inst_fn fn, void *user, uint32_t *prog,
                                 uint32_t *vers, void **out)
{
    *out = NULL;
    source *s = calloc(1, sizeof *s);
    if (!s)
        return FAR_ENOMEM;
    s->wake = -1;
    s->fn = fn, s->user = user;
    s->v = calloc(MAX_INST, sizeof *s->v);
    char pname[80];
    far_err rc = s->v ? parse_spec(spec, pname, sizeof pname, &s->vers, s->netid) : FAR_ENOMEM;
    if (rc != FAR_OK)
        goto fail;
    const char *w = where_of(spec);
    if (strncmp(w, "etcd:", 5) == 0) {
        const char *cluster = w[5] ? w + 5 : NULL;
        if ((rc = far__cluster_name(&cluster, spec)) != FAR_OK)
            goto fail;
        s->etcd = true;
        if ((rc = far__etcd_init(&s->e, NULL)) != FAR_OK)
            goto fail;
        if (isdigit((unsigned char)pname[0]))
            rc = far_bind_program(pname, NULL, &s->prog);
        else
            rc = etcd_program(s, cluster, pname);
        if (rc != FAR_OK)
            goto fail;
        snprintf(s->prefix, sizeof s->prefix,
                 FAR__CLUSTER_PREFIX "%s/prog/%" PRIu32 "/%" PRIu32 "/", cluster, s->prog, s->vers);
        if ((rc = relist(s)) != FAR_OK)
            goto fail;
        s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    } else {
        for (const char *p = w; *p && s->nwhere < MAX_WHERE;) {
            size_t l = strcspn(p, ",");
            if (l && l < FAR_BIND_MAX_ADDR)
                snprintf(s->where[s->nwhere++], FAR_BIND_MAX_ADDR, "%.*s", (int)l, p);
            p += l;
            if (*p == ',')
                p++;
        }
        if ((rc = far_bind_program(pname, s->where[0], &s->prog)) != FAR_OK)
            goto fail;
        lookup_all(s);
    }
    *prog = s->prog;
    *vers = s->vers;
    notify(s);
    if (s->nlast == 0) /* (fn is not told an empty set at first) */
        fn(user, NULL, 0);
    if (pthread_create(&s->thread, NULL, s->etcd ? etcd_main : binder_main, s) != 0) {
        rc = FAR_EIO;
        goto fail;
    }
    s->started = true;
    *out = s;
    return FAR_OK;
fail:
    source_free(s);
    return rc;
}

void far__cluster_source_close(void *src)
{
    source *s = src;
    if (!s)
        return;
    atomic_store(&s->stop, true);
    if (s->wake >= 0) {
        uint64_t one = 1;
        (void)!write(s->wake, &one, sizeof one);
    }
    if (s->started)
        pthread_join(s->thread, NULL);
    source_free(s);
}

/* ------------------------------------------------------------ listing */

static int cmp_entry(const void *a, const void *b)
{
    const far_cluster_entry *x = a, *y = b;
    if (x->prog != y->prog)
        return x->prog < y->prog ? -1 : 1;
    if (x->vers != y->vers)
        return x->vers < y->vers ? -1 : 1;
    return strcmp(x->addr, y->addr);
}

FAR__API far_err far_cluster_list(const char *endpoints, const char *cluster,
                                  far_cluster_entry **out, size_t *n)
{
    if (!out || !n)
        return FAR_EMISUSE;
    *out = NULL;
    *n = 0;
    far_err crc = far__cluster_name(&cluster, NULL);
    if (crc != FAR_OK)
        return crc;
    far__etcd e;
    far_err rc = far__etcd_init(&e, endpoints);
    if (rc != FAR_OK)
        return rc;
    char prefix[300];
    snprintf(prefix, sizeof prefix, FAR__CLUSTER_PREFIX "%s/prog/", cluster);
    far__etcd_kv *kvs;
    size_t m;
    int64_t rev;
    rc = far__etcd_range(&e, prefix, &kvs, &m, &rev);
    far__etcd_fini(&e);
    if (rc != FAR_OK)
        return rc;
    far_cluster_entry *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        far__etcd_kvs_free(kvs, m);
        return FAR_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        json_t *j = json_loads(kvs[i].val, 0, NULL);
        json_t *a = json_object_get(j, "addr"), *p = json_object_get(j, "prog"),
               *vs = json_object_get(j, "vers"), *nid = json_object_get(j, "netid"),
               *nm = json_object_get(j, "name"), *ow = json_object_get(j, "owner");
        if (json_is_string(a) && json_is_integer(p) && json_is_integer(vs) && json_is_string(nid)) {
            far_cluster_entry *x = &v[k++];
            x->prog = (uint32_t)json_integer_value(p);
            x->vers = (uint32_t)json_integer_value(vs);
            snprintf(x->netid, sizeof x->netid, "%s", json_string_value(nid));
            snprintf(x->addr, sizeof x->addr, "%s", json_string_value(a));
            snprintf(x->name, sizeof x->name, "%s",
                     json_is_string(nm) ? json_string_value(nm) : "");
            snprintf(x->owner, sizeof x->owner, "%s",
                     json_is_string(ow) ? json_string_value(ow) : "");
            x->lease = kvs[i].lease;
        }
        json_decref(j);
    }
    far__etcd_kvs_free(kvs, m);
    qsort(v, k, sizeof *v, cmp_entry);
    *out = v;
    *n = k;
    return FAR_OK;
}
