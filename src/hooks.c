/* The library's wiring: the binder layer's registrar and resolver, handed to
 * the server and the client (see hooks.h); with $FARCALL_ETCD set the
 * servers' registrar also publishes to etcd, and names of several instances
 * go to the cluster layer's source (src/cluster). */
#include "hooks.h"

#include "bind/bind.h"
#include "bulk/bulk.h"
#include "cluster/cluster.h"
#include "farcall/bind.h"

#include <stdio.h>

far__bulk_call_fn far__bulk_call_get(void)
{
    return far__bulk_client_call;
}

const far__bulk_placer *far__bulk_placer_get(void)
{
    static const far__bulk_placer p = {far__bulk_pull_res_decode, far__bulk_pull_place};
    return &p;
}

static far_err resolve(const char *spec, char *addr, size_t n)
{
    return far_bind_resolve(spec, addr, n);
}

/* The binder's registration and, when $FARCALL_ETCD names a cluster's etcd,
 * the cluster's: both are undone at stop. */
typedef struct both_reg {
    void *bind, *cluster;
} both_reg;

static far_err both_up(const far__prog_vers *progs, size_t n, const char *const *addrs,
                       size_t naddrs, void **reg)
{
    *reg = NULL;
    both_reg *b = calloc(1, sizeof *b);
    if (!b)
        return FAR_ENOMEM;
    far_err rc = far__bind_register_all(progs, n, addrs, naddrs, &b->bind);
    const char *etcd = getenv("FARCALL_ETCD");
    if (etcd && *etcd) {
        char why[512];
        snprintf(why, sizeof why, "%s", rc != FAR_OK ? far_last_error() : "");
        far_err crc = far__cluster_register(progs, n, addrs, naddrs, &b->cluster);
        if (rc != FAR_OK) /* the first failure is the one reported */
            far__set_last_error("%s", why);
        else
            rc = crc;
    }
    *reg = b;
    return rc;
}

static void both_down(void *reg)
{
    both_reg *b = reg;
    if (!b)
        return;
    far__cluster_unregister(b->cluster);
    far__bind_unregister_all(b->bind);
    free(b);
}

static const far__registrar bind_registrar = {both_up, both_down};
static const far__resolver bind_resolver = {far_bind_is_dynamic, resolve};
static const far__source cluster_source = {far__cluster_is_multi, far__cluster_source_open,
                                           far__cluster_source_close};

static const far__registrar *_Atomic registrar = &bind_registrar;
static const far__resolver *_Atomic resolver = &bind_resolver;

const far__registrar *far__registrar_get(void)
{
    return registrar;
}

const far__resolver *far__resolver_get(void)
{
    return resolver;
}

const far__source *far__source_get(void)
{
    return &cluster_source;
}

void far__hooks_set(const far__resolver *res, const far__registrar *reg)
{
    resolver = res ? res : &bind_resolver;
    registrar = reg ? reg : &bind_registrar;
}
