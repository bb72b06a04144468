/* The publisher: registrations written to etcd under one lease that a thread
 * of its own keeps alive every TTL/3.  The lesson of the registries that
 * lost their names after an outage (shared/research/next.md §5): a lease
 * etcd no longer knows -- a keepalive answered with no TTL, a put refused
 * with "lease not found" -- is never renewed again; a new one is granted
 * and every key put again under it.  While no member answers, the thread
 * keeps trying every 500 ms (at most TTL/3), so registrations are back
 * within one keep-alive period of etcd answering again.  Also the servers'
 * registrar (far__cluster_register) when $FARCALL_ETCD is set. */
#include "cluster/cluster.h"

#include "farcall/bind.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define RETRY_MS    500
#define CHECK_MS    500 /* the NULL procedure of a checked address */
#define ADD_WAIT_MS 2000
#define MAX_ENTRIES 256

typedef struct entry {
    char key[512], val[1024], addr[256];
    uint32_t prog, vers;
    bool check;    /* sent the NULL procedure; published only while it answers */
    bool dirty;    /* to be put (again) */
    bool withdraw; /* to be deleted (a checked address that stopped answering) */
    bool written;  /* put under the current lease */
    far_client *cl;
} entry;

struct far_publisher {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* work for the thread; a put done (for add) */
    pthread_t thread;
    bool stop, started;
    far__etcd e; /* the thread's (and destroy's, once it has ended) */
    char cluster[65];
    uint32_t ttl_s, period_ms;
    int64_t lease;
    bool check_now;             /* an address to check was added: a keepalive round now */
    uint64_t next_ka, retry_at; /* far__now_ns times; 0: none */
    entry *v[MAX_ENTRIES];
    size_t n;
    unsigned long puts, grants; /* (for the log) */
};

static uint64_t ms_ns(uint64_t ms)
{
    return ms * 1000000u;
}

/* ------------------------------------------------------------ the thread */

static void check_entries(far_publisher *p)
{
    for (size_t i = 0; i < p->n; i++) {
        entry *x = p->v[i];
        if (!x->check)
            continue;
        far_err rc = FAR_OK;
        if (!x->cl) {
            far_client_opts o = {.timeout_ms = CHECK_MS, .no_ctx = true};
            rc = far_client_open(&x->cl, x->addr, &o);
        }
        if (rc == FAR_OK)
            rc = far_client_call(x->cl, x->prog, x->vers, 0, NULL, NULL, NULL, NULL, NULL, NULL);
        pthread_mutex_lock(&p->mu);
        if (rc == FAR_OK && !x->written)
            x->dirty = true, x->withdraw = false;
        else if (rc != FAR_OK && (x->written || x->dirty)) {
            x->dirty = false;
            x->withdraw = true;
            far__log_info("far publish: %s stopped answering (%s): withdrawn", x->addr,
                          far_strerror(rc));
        }
        pthread_mutex_unlock(&p->mu);
    }
}

/* One round of work (p->mu held; dropped around the requests). */
static void work(far_publisher *p)
{
    uint64_t now = far__now_ns();
    if (p->retry_at && now < p->retry_at)
        return;
    p->retry_at = 0;
    far_err rc = FAR_OK;
    if (!p->lease) {
        int64_t id = 0;
        pthread_mutex_unlock(&p->mu);
        rc = far__etcd_grant(&p->e, p->ttl_s, &id);
        pthread_mutex_lock(&p->mu);
        if (rc != FAR_OK)
            goto fail;
        p->lease = id;
        p->grants++;
        /* a keepalive at once: it checks the addresses to check, too */
        p->next_ka = far__now_ns();
        for (size_t i = 0; i < p->n; i++) {
            p->v[i]->written = false;
            p->v[i]->dirty = !p->v[i]->withdraw && !(p->v[i]->check && !p->v[i]->cl);
        }
        if (p->grants > 1)
            far__log_info("etcd: lease %" PRIx64 " granted again: every registration put again",
                          (uint64_t)id);
    }
    if (far__now_ns() >= p->next_ka || p->check_now) {
        p->check_now = false;
        pthread_mutex_unlock(&p->mu);
        check_entries(p);
        int64_t ttl = 0;
        rc = far__etcd_keepalive(&p->e, p->lease, &ttl);
        pthread_mutex_lock(&p->mu);
        if (rc != FAR_OK)
            goto fail;
        if (ttl <= 0) {
            far__log_warn("etcd: lease %" PRIx64 " is lost (expired while etcd could not be "
                          "reached?): granting a new one",
                          (uint64_t)p->lease);
            p->lease = 0; /* granted again by the next round, at once */
            return;
        }
        p->next_ka = far__now_ns() + ms_ns(p->period_ms);
    }
    for (size_t i = 0; i < p->n; i++) {
        entry *x = p->v[i];
        if (!x->dirty && !x->withdraw)
            continue;
        char key[512], val[1024];
        bool del = x->withdraw;
        snprintf(key, sizeof key, "%s", x->key);
        snprintf(val, sizeof val, "%s", x->val);
        int64_t lease = p->lease;
        pthread_mutex_unlock(&p->mu);
        rc = del ? far__etcd_delete(&p->e, key) : far__etcd_put(&p->e, key, val, lease);
        pthread_mutex_lock(&p->mu);
        if (rc == FAR_ENOTREG) { /* the lease went between the keepalive and the put */
            p->lease = 0;
            return;
        }
        if (rc != FAR_OK)
            goto fail;
        if (del)
            x->withdraw = x->written = false;
        else {
            x->dirty = false;
            x->written = true;
            p->puts++;
        }
        pthread_cond_broadcast(&p->cv);
    }
    return;
fail:
    p->retry_at = far__now_ns() + ms_ns(p->period_ms < RETRY_MS ? p->period_ms : RETRY_MS);
    static far__ratelimit rl;
    unsigned long nrl;
    if (far__ratelimit_hit(&rl, 5000000000u, &nrl))
        far__log_warn("etcd: %s (trying again every %u ms)", far_last_error(),
                      p->period_ms < RETRY_MS ? p->period_ms : RETRY_MS);
}

static void *publisher_main(void *arg)
{
    far_publisher *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        work(p);
        if (p->stop)
            break;
        if (!p->lease && !p->retry_at)
            continue; /* lost: granted again at once */
        uint64_t now = far__now_ns(), until = p->retry_at ? p->retry_at : p->next_ka;
        bool pending = false;
        for (size_t i = 0; i < p->n && !p->retry_at; i++)
            pending |= p->v[i]->dirty || p->v[i]->withdraw;
        if ((pending || p->check_now) && p->lease && !p->retry_at)
            continue;
        if (!until || until < now)
            until = now + ms_ns(RETRY_MS);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + (until - now);
        ts.tv_sec = (time_t)(t / 1000000000u);
        ts.tv_nsec = (long)(t % 1000000000u);
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ------------------------------------------------------------ API */

FAR__API far_err far_publisher_create(far_publisher **out, const char *endpoints,
                                      const char *cluster, uint32_t ttl_s)
{
    if (!out)
        return FAR_EMISUSE;
    *out = NULL;
    far_err crc = far__cluster_name(&cluster, NULL);
    if (crc != FAR_OK)
        return crc;
    if (!ttl_s) {
        const char *t = getenv("FARCALL_ETCD_TTL");
        ttl_s = t && *t ? (uint32_t)strtoul(t, NULL, 10) : FAR__CLUSTER_TTL_S;
        if (!ttl_s)
            ttl_s = FAR__CLUSTER_TTL_S;
    }
    if (ttl_s < 2)
        ttl_s = 2; /* etcd's minimum is larger anyway; a keepalive needs room */
    far_publisher *p = calloc(1, sizeof *p);
    if (!p)
        return FAR_ENOMEM;
    far_err rc = far__etcd_init(&p->e, endpoints);
    if (rc != FAR_OK) {
        free(p);
        return rc;
    }
    snprintf(p->cluster, sizeof p->cluster, "%s", cluster);
    p->ttl_s = ttl_s;
    p->period_ms = ttl_s * 1000 / 3;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, publisher_main, p) != 0) {
        far__etcd_fini(&p->e);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return FAR_EIO;
    }
    p->started = true;
    *out = p;
    return FAR_OK;
}

/* The address to publish for `addr`: a wildcard host replaced by
 * $FARCALL_ADVERTISE or the host's name.  False for what other hosts cannot
 * reach (a Unix socket). */
static bool advertised(const char *addr, char *out, size_t n)
{
    if (strncmp(addr, "unix:", 5) == 0)
        return false;
    const char *w4 = strstr(addr, "://0.0.0.0:"), *w6 = strstr(addr, "://[::]:");
    if (!w4 && !w6) {
        snprintf(out, n, "%s", addr);
        return true;
    }
    const char *adv = getenv("FARCALL_ADVERTISE");
    char host[128];
    if (adv && *adv)
        snprintf(host, sizeof host, "%s", adv);
    else if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    const char *w = w4 ? w4 : w6, *port = strrchr(w, ':');
    bool v6 = strchr(host, ':') && host[0] != '[';
    int len = snprintf(out, n, "%.*s://%s%s%s%.16s", (int)(w - addr), addr, v6 ? "[" : "", host,
                       v6 ? "]" : "", port);
    return len > 0 && (size_t)len < n;
}

/* far_publisher_add, waiting at most wait_ms for the key to be written. */
static far_err add(far_publisher *p, uint32_t prog, uint32_t vers, const char *name,
                   const char *addr, bool check, uint32_t wait_ms)
{
    if (!p || !addr)
        return FAR_EMISUSE;
    char pub[256], netid[16], uaddr[128];
    if (!advertised(addr, pub, sizeof pub))
        return FAR_OK; /* (nothing another host could use) */
    far_err rc = far_bind_addr_to_uaddr(pub, netid, sizeof netid, uaddr, sizeof uaddr);
    if (rc != FAR_OK)
        return rc;
    entry *x = calloc(1, sizeof *x);
    if (!x)
        return FAR_ENOMEM;
    far__cluster_key(x->key, sizeof x->key, p->cluster, prog, vers, netid, uaddr);
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    json_t *v =
        json_pack("{s:s,s:I,s:I,s:s,s:s,s:s}", "addr", pub, "prog", (json_int_t)prog, "vers",
                  (json_int_t)vers, "netid", netid, "name", name ? name : "", "owner", "");
    char owner[200];
    snprintf(owner, sizeof owner, "%s:%ld", host, (long)getpid());
    json_object_set_new(v, "owner", json_string(owner));
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(v);
    if (!text || strlen(text) >= sizeof x->val) {
        free(text);
        free(x);
        return FAR_ENOMEM;
    }
    snprintf(x->val, sizeof x->val, "%s", text);
    free(text);
    snprintf(x->addr, sizeof x->addr, "%s", pub);
    x->prog = prog, x->vers = vers;
    x->check = check;
    x->dirty = !check; /* a checked one once it answers */
    pthread_mutex_lock(&p->mu);
    if (p->n == MAX_ENTRIES) {
        pthread_mutex_unlock(&p->mu);
        free(x);
        far__set_last_error("far_publisher_add: more than %d registrations", MAX_ENTRIES);
        return FAR_ELIMIT;
    }
    p->v[p->n++] = x;
    if (check)
        p->check_now = true; /* check it now */
    pthread_cond_broadcast(&p->cv);
    uint64_t dl = far__now_ns() + ms_ns(wait_ms);
    while (!x->written && far__now_ns() < dl) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000)
            ts.tv_sec++, ts.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    bool ok = x->written;
    pthread_mutex_unlock(&p->mu);
    if (!ok) {
        far__set_last_error("%s: not yet published to etcd (is it running? $FARCALL_ETCD); "
                            "the publisher keeps trying",
                            pub);
        return FAR_ENOBINDER;
    }
    return FAR_OK;
}

FAR__API far_err far_publisher_add(far_publisher *p, uint32_t prog, uint32_t vers, const char *name,
                                   const char *addr, bool check)
{
    return add(p, prog, vers, name, addr, check, ADD_WAIT_MS);
}

FAR__API void far_publisher_destroy(far_publisher *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->started)
        pthread_join(p->thread, NULL);
    /* every key at once, rather than when the lease runs out */
    if (p->lease && far__etcd_revoke(&p->e, p->lease) != FAR_OK)
        far__log_warn("etcd: lease %" PRIx64 " not revoked (%s): its keys go in %u s",
                      (uint64_t)p->lease, far_last_error(), p->ttl_s);
    for (size_t i = 0; i < p->n; i++) {
        far_client_destroy(p->v[i]->cl);
        free(p->v[i]);
    }
    far__etcd_fini(&p->e);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

/* ------------------------------------------------------------ the registrar */

far_err far__cluster_register(const far__prog_vers *progs, size_t n, const char *const *addrs,
                              size_t naddrs, void **reg)
{
    *reg = NULL;
    if (!n || !naddrs)
        return FAR_OK;
    far_publisher *p;
    far_err rc = far_publisher_create(&p, NULL, NULL, 0);
    if (rc != FAR_OK)
        return rc;
    far_err first = FAR_OK;
    char why[512] = "";
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < naddrs; j++) {
            /* once etcd has not answered, the others are only queued: they
             * are written with the first, when it answers */
            rc = add(p, progs[i].prog, progs[i].vers, progs[i].name, addrs[j], false,
                     first == FAR_ENOBINDER ? 0 : ADD_WAIT_MS);
            if (rc != FAR_OK && first == FAR_OK) {
                first = rc;
                snprintf(why, sizeof why, "%s", far_last_error());
            }
        }
    *reg = p;
    if (first != FAR_OK)
        far__set_last_error("%s", why);
    return first;
}

void far__cluster_unregister(void *reg)
{
    far_publisher_destroy(reg);
}
