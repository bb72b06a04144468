/* Registration with the local binder: far_bind_register and
 * far_bind_unregister (SET and UNSET, v4, v3, then PMAP v2), and the
 * registrar a server uses at start and stop (far__bind_register_all). */
#include "bind/bind.h"

#include <stdio.h>

/* SET or UNSET one (prog, vers, netid) at the binder c: v4, v3, then v2. */
static far_err set_unset(far_client *c, uint32_t proc, uint32_t prog, uint32_t vers,
                         const char *netid, const char *uaddr, bool *ok)
{
    char owner[32];
    far__bind_owner_of_self(owner, sizeof owner);
    rpcb_args a = {prog, vers, netid, uaddr ? uaddr : "", owner};
    far_err rc = far__bind_call(c, FAR_BIND_PROG, RPCBVERS4, proc, far__bind_enc_rpcb, &a,
                                far__bind_dec_bool, ok);
    if (far__bind_version_missing(rc))
        rc = far__bind_call(c, FAR_BIND_PROG, RPCBVERS, proc, far__bind_enc_rpcb, &a,
                            far__bind_dec_bool, ok);
    if (far__bind_version_missing(rc)) {
        mapping_args m = {prog, vers, 0, 0};
        if (!far__bind_pmap_form(netid, uaddr, &m.prot, &m.port))
            return rc;
        rc = far__bind_call(c, FAR_BIND_PROG, PMAPVERS, proc, far__bind_enc_mapping, &m,
                            far__bind_dec_bool, ok);
    }
    return rc;
}

static far_err register_with(far_client *c, uint32_t prog, uint32_t vers, const char *netid,
                             const char *uaddr)
{
    bool ok = false;
    far_err rc = set_unset(c, PROC_SET, prog, vers, netid, uaddr, &ok);
    if (rc == FAR_OK && !ok) {
        /* Taken: most often by this program's previous life (what rpcgen's
         * servers do with pmap_unset at start).  The binder lets us remove
         * it only if we own it. */
        bool gone = false;
        if (set_unset(c, PROC_UNSET, prog, vers, netid, NULL, &gone) == FAR_OK && gone)
            rc = set_unset(c, PROC_SET, prog, vers, netid, uaddr, &ok);
    }
    if (rc == FAR_OK && !ok) {
        far__set_last_error("binder refused to register program %" PRIu32 " version %" PRIu32
                            " on %s (taken by another owner, or caller not local)",
                            prog, vers, netid);
        return FAR_EAUTH;
    }
    return rc;
}

FAR__API far_err far_bind_register(uint32_t prog, uint32_t vers, const char *addr)
{
    char netid[16], uaddr[FAR_BIND_MAX_ADDR];
    far_err rc = far_bind_addr_to_uaddr(addr, netid, sizeof netid, uaddr, sizeof uaddr);
    if (rc != FAR_OK)
        return rc;
    far_client *c;
    if ((rc = far_bind_open(&c, NULL, NULL, 0)) != FAR_OK)
        return rc;
    rc = register_with(c, prog, vers, netid, uaddr);
    far_client_destroy(c);
    return rc;
}

FAR__API far_err far_bind_unregister(uint32_t prog, uint32_t vers, const char *addr)
{
    char netid[16], uaddr[FAR_BIND_MAX_ADDR];
    far_err rc = far_bind_addr_to_uaddr(addr, netid, sizeof netid, uaddr, sizeof uaddr);
    if (rc != FAR_OK)
        return rc;
    far_client *c;
    if ((rc = far_bind_open(&c, NULL, NULL, 0)) != FAR_OK)
        return rc;
    bool ok = false;
    rc = set_unset(c, PROC_UNSET, prog, vers, netid, NULL, &ok);
    far_client_destroy(c);
    if (rc == FAR_OK && !ok) {
        far__set_last_error("program %" PRIu32 " version %" PRIu32 " on %s: not registered "
                            "(or owned by someone else)",
                            prog, vers, netid);
        return FAR_EPROG_UNAVAIL;
    }
    return rc;
}

/* ------------------------------------------------------------ registrar */

typedef struct far__bind_set {
    size_t n;
    struct {
        char netid[16];
        char uaddr[FAR_BIND_MAX_ADDR];
    } * l;
    size_t nreg;
    struct {
        uint32_t prog, vers;
        size_t li;
    } * reg;
} far__bind_set;

static bool skip_prog(uint32_t prog)
{
    return prog == FAR_BIND_PROG ||
           prog == FAR_BIND_NAMES_PROG; /* a binder never registers itself elsewhere */
}

static void bind_set_free(far__bind_set *s)
{
    if (!s)
        return;
    free(s->l);
    free(s->reg);
    free(s);
}

void *far__bind_register_all(const far__prog_vers *progs, size_t n, const char *const *addrs,
                             size_t naddrs)
{
    const char *env = getenv("FARCALL_BINDER");
    if (!n || !naddrs || (env && strcmp(env, "none") == 0))
        return NULL;
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = !skip_prog(progs[i].prog);
    if (!any)
        return NULL;
    far__bind_set *s = calloc(1, sizeof *s);
    if (!s || !(s->l = calloc(naddrs, sizeof *s->l)) ||
        !(s->reg = calloc(n * naddrs, sizeof *s->reg))) {
        bind_set_free(s);
        return NULL;
    }
    for (size_t i = 0; i < naddrs; i++)
        if (far_bind_addr_to_uaddr(addrs[i], s->l[s->n].netid, sizeof s->l[s->n].netid,
                                   s->l[s->n].uaddr, sizeof s->l[s->n].uaddr) == FAR_OK)
            s->n++;
    char saved[256];
    snprintf(saved, sizeof saved, "%s", far_last_error());
    far_client *c;
    if (!s->n || far_bind_open(&c, NULL, NULL, 0) != FAR_OK) {
        far__set_last_error("%s", saved);
        bind_set_free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (skip_prog(progs[i].prog))
            continue;
        for (size_t li = 0; li < s->n; li++) {
            bool dup = false; /* one registration per transport, as rpcbind keeps them */
            for (size_t k = 0; k < li; k++)
                dup |= strcmp(s->l[k].netid, s->l[li].netid) == 0;
            if (dup || register_with(c, progs[i].prog, progs[i].vers, s->l[li].netid,
                                     s->l[li].uaddr) != FAR_OK)
                continue;
            s->reg[s->nreg].prog = progs[i].prog;
            s->reg[s->nreg].vers = progs[i].vers;
            s->reg[s->nreg].li = li;
            s->nreg++;
        }
    }
    far_client_destroy(c);
    far__set_last_error("%s", saved);
    if (!s->nreg) {
        bind_set_free(s);
        return NULL;
    }
    return s;
}

void far__bind_unregister_all(void *reg)
{
    far__bind_set *s = reg;
    if (!s)
        return;
    char saved[256];
    snprintf(saved, sizeof saved, "%s", far_last_error());
    far_client *c;
    if (far_bind_open(&c, NULL, NULL, 0) == FAR_OK) {
        for (size_t i = 0; i < s->nreg; i++) {
            bool ok;
            far_err rc = set_unset(c, PROC_UNSET, s->reg[i].prog, s->reg[i].vers,
                                   s->l[s->reg[i].li].netid, NULL, &ok);
            (void)rc;
        }
        far_client_destroy(c);
    }
    far__set_last_error("%s", saved);
    bind_set_free(s);
}
