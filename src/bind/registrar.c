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

/* ------------------------------------------------------------ who holds an entry */

#define DUMP_MAX_ENTRIES 65536 /* a binder's table, read whole: bounded */
#define PROBE_TIMEOUT_MS 1000

/* DUMP (v4, v3: rpcblist; v2: pmaplist) filtered to one (prog, vers,
 * netid): its uaddr ("" if none). */
typedef struct dump_q {
    uint32_t prog, vers;
    const char *netid;
    bool any; /* any version, any netid */
    bool v2;
    char uaddr[FAR_BIND_MAX_ADDR];
} dump_q;

static bool get_str(far_xdr_dec *d, char *out, size_t n)
{
    const char *s;
    uint32_t len;
    if (!far_xdr_get_string_ref(d, &s, &len, MAX_STR))
        return false;
    snprintf(out, n, "%.*s", (int)len, s);
    return true;
}

static bool dec_dump(far_xdr_dec *d, void *v)
{
    dump_q *q = v;
    q->uaddr[0] = 0;
    for (unsigned i = 0; i < DUMP_MAX_ENTRIES; i++) {
        bool more;
        if (!far_xdr_get_bool(d, &more))
            return false;
        if (!more)
            return true;
        uint32_t prog, vers;
        char netid[64], uaddr[FAR_BIND_MAX_ADDR], owner[64];
        if (!far_xdr_get_u32(d, &prog) || !far_xdr_get_u32(d, &vers))
            return false;
        if (q->v2) {
            uint32_t prot, port;
            if (!far_xdr_get_u32(d, &prot) || !far_xdr_get_u32(d, &port))
                return false;
            snprintf(netid, sizeof netid, "%s", prot == 6 ? "tcp" : prot == 17 ? "udp" : "?");
            snprintf(uaddr, sizeof uaddr, "0.0.0.0.%u.%u", (port >> 8) & 255, port & 255);
        } else if (!get_str(d, netid, sizeof netid) || !get_str(d, uaddr, sizeof uaddr) ||
                   !get_str(d, owner, sizeof owner)) {
            return false;
        }
        if (prog == q->prog && (q->any || (vers == q->vers && strcmp(netid, q->netid) == 0)))
            snprintf(q->uaddr, sizeof q->uaddr, "%s", uaddr);
    }
    return far_xdr_dec_fail(d, FAR_ELIMIT, "binder table longer than %u entries", DUMP_MAX_ENTRIES);
}

/* The uaddr the binder c has for (prog, vers, netid) into q->uaddr. */
static far_err holder(far_client *c, dump_q *q)
{
    q->v2 = false;
    far_err rc = far__bind_call(c, FAR_BIND_PROG, RPCBVERS4, PROC_DUMP, NULL, NULL, dec_dump, q);
    if (far__bind_version_missing(rc))
        rc = far__bind_call(c, FAR_BIND_PROG, RPCBVERS, PROC_DUMP, NULL, NULL, dec_dump, q);
    if (far__bind_version_missing(rc)) {
        q->v2 = true;
        rc = far__bind_call(c, FAR_BIND_PROG, PMAPVERS, PROC_DUMP, NULL, NULL, dec_dump, q);
    }
    return rc;
}

/* The port of a uaddr (its last two numbers); -1 if it has none. */
static long uaddr_port(const char *u)
{
    const char *lo = strrchr(u, '.');
    if (!lo || lo == u)
        return -1;
    const char *hi = lo - 1;
    while (hi > u && *hi != '.')
        hi--;
    if (*hi != '.')
        return -1;
    return strtol(hi + 1, NULL, 10) * 256 + strtol(lo + 1, NULL, 10);
}

/* True if the binder's uaddr `have` is the address `mine` (as registered;
 * a PMAP v2 binder keeps only the port). */
static bool same_uaddr(const char *netid, const char *have, const char *mine)
{
    if (strcmp(have, mine) == 0)
        return true;
    bool v4 = strcmp(netid, "tcp") == 0 || strcmp(netid, "udp") == 0;
    return v4 && (strncmp(have, "0.0.0.0.", 8) == 0 || strncmp(mine, "0.0.0.0.", 8) == 0) &&
           uaddr_port(have) == uaddr_port(mine);
}

/* True if a server answers the NULL procedure of (prog, vers) at the
 * registered address: the registration is live.  Only a refused connection
 * or an answer that the program or version is not served there counts as
 * dead; a server slow to answer is taken as live. */
static bool live(uint32_t prog, uint32_t vers, const char *netid, const char *uaddr, char *addr,
                 size_t addr_len)
{
    if (far_bind_uaddr_to_addr(netid, uaddr, addr, addr_len) != FAR_OK)
        return false;
    char *w;
    char fixed[FAR_BIND_MAX_ADDR + 8];
    if ((w = strstr(addr, "://0.0.0.0:")))
        snprintf(fixed, sizeof fixed, "%.*s://127.0.0.1:%s", (int)(w - addr), addr, w + 11);
    else if ((w = strstr(addr, "://[::]:")))
        snprintf(fixed, sizeof fixed, "%.*s://[::1]:%s", (int)(w - addr), addr, w + 8);
    else
        snprintf(fixed, sizeof fixed, "%s", addr);
    far_client_opts o = {.timeout_ms = PROBE_TIMEOUT_MS, .retry_ms = 250};
    far_client *c;
    far_err rc = far_client_open(&c, fixed, &o);
    if (rc == FAR_OK) {
        rc = far_client_call(c, prog, vers, 0, NULL, NULL, NULL, NULL, NULL, NULL);
        far_client_destroy(c);
    }
    return !(rc == FAR_ECONNREFUSED || rc == FAR_ECONNLOST || rc == FAR_EPROG_UNAVAIL ||
             rc == FAR_EPROG_MISMATCH || rc == FAR_EADDR);
}

/* farbind's FARBIND_WHY (its names program, procedure 5): what a SET of the
 * same rpcb would get, and why. */
#define NAMES_WHY 5
enum { WHY_OK, WHY_NOT_LOCAL, WHY_BAD_ADDR, WHY_PORT_ZERO, WHY_RESERVED, WHY_TAKEN, WHY_FULL };

typedef struct why_res {
    uint32_t status, limit, fails;
    char owner[64], addr[FAR_BIND_MAX_ADDR];
} why_res;

static bool dec_why(far_xdr_dec *d, void *v)
{
    why_res *w = v;
    return far_xdr_get_u32(d, &w->status) && far_xdr_get_u32(d, &w->limit) &&
           get_str(d, w->owner, sizeof w->owner) && get_str(d, w->addr, sizeof w->addr) &&
           far_xdr_get_u32(d, &w->fails);
}

/* The binder's reason for refusing SET, in why[0..n) with the code that
 * fits it; false if it cannot say (not farbind, or an older one). */
static bool why_refused(far_client *c, uint32_t prog, uint32_t vers, const char *netid,
                        const char *uaddr, char *why, size_t n, far_err *code)
{
    char owner[32];
    far__bind_owner_of_self(owner, sizeof owner);
    rpcb_args a = {prog, vers, netid, uaddr, owner};
    why_res w = {0};
    if (far__bind_call(c, FAR_BIND_NAMES_PROG, NAMES_VERS, NAMES_WHY, far__bind_enc_rpcb, &a,
                       dec_why, &w) != FAR_OK)
        return false;
    *code = FAR_EAUTH;
    switch (w.status) {
    case WHY_NOT_LOCAL:
        snprintf(why, n, "the binder takes registrations from local callers only");
        break;
    case WHY_BAD_ADDR:
        snprintf(why, n, "the binder finds the address %s on %s malformed", uaddr, netid);
        break;
    case WHY_PORT_ZERO:
        snprintf(why, n, "the binder refuses port 0");
        break;
    case WHY_RESERVED:
        snprintf(why, n, "program %" PRIu32 " is the binder's own", prog);
        break;
    case WHY_TAKEN:
        snprintf(why, n, "held by owner %s at %s", w.owner, w.addr);
        break;
    case WHY_FULL:
        snprintf(why, n,
                 "the binder's table is full (%" PRIu32 " registration%s: farbind -m raises it)",
                 w.limit, w.limit == 1 ? "" : "s");
        *code = FAR_ETOOMANY;
        break;
    default:
        return false;
    }
    return true;
}

/* Registers (prog, vers) on (netid, uaddr) at the binder c.  An entry the
 * binder already holds is replaced only if it is ours (the same address: this
 * server's previous life on a fixed port) or dead (nothing answers there);
 * a live one is left alone and reported.  The reason of a failure is in
 * far_last_error(). */
static far_err register_with(far_client *c, uint32_t prog, uint32_t vers, const char *netid,
                             const char *uaddr)
{
    bool ok = false;
    far_err rc = set_unset(c, PROC_SET, prog, vers, netid, uaddr, &ok);
    if (rc != FAR_OK) {
        far__set_last_error("binder did not answer SET (%s)", far_strerror(rc));
        return rc;
    }
    if (ok)
        return FAR_OK;
    dump_q q = {.prog = prog, .vers = vers, .netid = netid};
    rc = holder(c, &q);
    if (rc == FAR_OK && q.uaddr[0]) {
        char addr[FAR_BIND_MAX_ADDR];
        if (!same_uaddr(netid, q.uaddr, uaddr) &&
            live(prog, vers, netid, q.uaddr, addr, sizeof addr)) {
            far__set_last_error("already registered by a running server at %s (not replaced)",
                                addr);
            return FAR_EADDRINUSE;
        }
        bool gone = false;
        if (set_unset(c, PROC_UNSET, prog, vers, netid, NULL, &gone) == FAR_OK && gone &&
            set_unset(c, PROC_SET, prog, vers, netid, uaddr, &ok) == FAR_OK && ok)
            return FAR_OK;
    }
    /* Still refused: the binder's reason, if it can give one. */
    char why[640];
    far_err code;
    if (why_refused(c, prog, vers, netid, uaddr, why, sizeof why, &code)) {
        far__set_last_error("the binder refused: %s", why);
        return code;
    }
    if (q.uaddr[0])
        far__set_last_error("the binder refused: an entry whose server does not answer (%s) "
                            "is held by another owner",
                            q.uaddr);
    else
        far__set_last_error("the binder refused (a full table, a caller that is not local, or "
                            "an address it does not take: see the binder's log)");
    return FAR_EAUTH;
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
        return FAR_ENOTREG;
    }
    return rc;
}

/* ------------------------------------------------------------ registrar */

typedef struct far__bind_set {
    size_t n; /* the addresses, as (netid, uaddr) */
    struct {
        char netid[16];
        char uaddr[FAR_BIND_MAX_ADDR];
        char addr[FAR_BIND_MAX_ADDR];
    } * l;
    size_t nreg; /* what was registered */
    struct {
        uint32_t prog, vers;
        size_t li;
    } * reg;
    size_t nnames; /* the program names set (or found already set) */
    struct {
        char name[FAR_BIND_MAX_NAME + 1];
        uint32_t prog;
    } * names;
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
    free(s->names);
    free(s);
}

static const char *name_of(const far__prog_vers *p, char *buf, size_t n)
{
    if (p->name && *p->name)
        snprintf(buf, n, " (%s)", p->name);
    else
        buf[0] = 0;
    return buf;
}

/* Sets the program name `name` for prog at the binder c unless it names
 * another program; true if it names prog afterwards.  *nameless is set
 * if the binder keeps no names (a classic rpcbind). */
static bool set_name(far_client *c, const char *name, uint32_t prog, bool *nameless)
{
    uint32_t have = 0;
    far_err rc = far__bind_call(c, FAR_BIND_NAMES_PROG, NAMES_VERS, NAMES_LOOKUP,
                                far__bind_enc_name, &name, far__bind_dec_u32, &have);
    if (far__bind_version_missing(rc)) {
        *nameless = true;
        return false;
    }
    if (rc != FAR_OK) {
        far__log_warn("name %s: not set: the binder did not answer (%s)", name, far_strerror(rc));
        return false;
    }
    if (have == prog)
        return true; /* another instance of this program set it */
    if (have != 0) {
        far__log_warn("name %s: not set: it names program %" PRIu32 " at the binder, not %" PRIu32,
                      name, have, prog);
        return false;
    }
    char owner[32];
    far__bind_owner_of_self(owner, sizeof owner);
    far__bind_name_args a = {name, prog, owner};
    bool ok = false;
    rc = far__bind_call(c, FAR_BIND_NAMES_PROG, NAMES_VERS, NAMES_SET, far__bind_enc_name_args, &a,
                        far__bind_dec_bool, &ok);
    if (rc != FAR_OK || !ok) {
        far__log_warn("name %s: not set: %s", name,
                      rc != FAR_OK ? far_strerror(rc) : "refused by the binder (table full?)");
        return false;
    }
    return true;
}

far_err far__bind_register_all(const far__prog_vers *progs, size_t n, const char *const *addrs,
                               size_t naddrs, void **out)
{
    *out = NULL;
    const char *env = getenv("FARCALL_BINDER");
    if (!n || !naddrs || (env && strcmp(env, "none") == 0))
        return FAR_OK;
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = !skip_prog(progs[i].prog);
    if (!any)
        return FAR_OK;
    far__bind_set *s = calloc(1, sizeof *s);
    if (!s || !(s->l = calloc(naddrs, sizeof *s->l)) ||
        !(s->reg = calloc(n * naddrs, sizeof *s->reg)) ||
        !(s->names = calloc(n, sizeof *s->names))) {
        bind_set_free(s);
        far__set_last_error("not registered with the binder: out of memory");
        return FAR_ENOMEM;
    }
    far_err first = FAR_OK;
    char saved[1024], why[1024];
    for (size_t i = 0; i < naddrs; i++) {
        if (far_bind_addr_to_uaddr(addrs[i], s->l[s->n].netid, sizeof s->l[s->n].netid,
                                   s->l[s->n].uaddr, sizeof s->l[s->n].uaddr) == FAR_OK) {
            snprintf(s->l[s->n].addr, sizeof s->l[s->n].addr, "%s", addrs[i]);
            s->n++;
        } else {
            far__log_warn("%s: not registered with the binder: %s", addrs[i], far_last_error());
            snprintf(why, sizeof why, "%s: not registered with the binder: %s", addrs[i],
                     far_last_error());
            first = FAR_EADDR;
        }
    }
    far_client *c;
    char used[FAR_BIND_MAX_ADDR];
    far_err rc = s->n ? far_bind_open(&c, NULL, used, sizeof used) : FAR_EADDR;
    if (rc != FAR_OK) {
        if (s->n) {
            snprintf(why, sizeof why,
                     "not registered with a binder: %s; clients that look the program up will "
                     "not find this server (FARCALL_BINDER=none: do not register)",
                     far_last_error());
            far__log_warn("%s", why);
            first = rc;
        }
        bind_set_free(s);
        far__set_last_error("%s", why);
        return first;
    }
    for (size_t i = 0; i < n; i++) {
        if (skip_prog(progs[i].prog))
            continue;
        char nm[FAR_BIND_MAX_NAME + 4];
        name_of(&progs[i], nm, sizeof nm);
        for (size_t li = 0; li < s->n; li++) {
            bool dup = false; /* one registration per transport, as rpcbind keeps them */
            for (size_t k = 0; k < li; k++)
                dup |= strcmp(s->l[k].netid, s->l[li].netid) == 0;
            if (dup)
                continue;
            rc = register_with(c, progs[i].prog, progs[i].vers, s->l[li].netid, s->l[li].uaddr);
            if (rc != FAR_OK) {
                snprintf(why, sizeof why,
                         "program %" PRIu32 "%s version %" PRIu32 " on %s (%s): not registered "
                         "with the binder at %s: %s",
                         progs[i].prog, nm, progs[i].vers, s->l[li].netid, s->l[li].addr, used,
                         far_last_error());
                far__log_warn("%s", why);
                if (first == FAR_OK) {
                    first = rc;
                    snprintf(saved, sizeof saved, "%s", why);
                }
                continue;
            }
            far__log_info("program %" PRIu32 "%s version %" PRIu32 " on %s: registered %s at %s",
                          progs[i].prog, nm, progs[i].vers, s->l[li].netid, s->l[li].addr, used);
            s->reg[s->nreg].prog = progs[i].prog;
            s->reg[s->nreg].vers = progs[i].vers;
            s->reg[s->nreg].li = li;
            s->nreg++;
        }
    }
    /* The program's name from its .x file, so "KV_PROG/2" finds it too
     * (farbind keeps names; a classic rpcbind does not). */
    bool nameless = false;
    for (size_t i = 0; i < n && !nameless; i++) {
        const char *name = progs[i].name;
        bool registered = false, seen = false;
        for (size_t k = 0; k < s->nreg; k++)
            registered |= s->reg[k].prog == progs[i].prog;
        for (size_t k = 0; k < s->nnames; k++)
            seen |= s->names[k].prog == progs[i].prog;
        if (!registered || seen || !name || !far__bind_name_ok(name))
            continue;
        if (set_name(c, name, progs[i].prog, &nameless)) {
            snprintf(s->names[s->nnames].name, sizeof s->names[s->nnames].name, "%s", name);
            s->names[s->nnames].prog = progs[i].prog;
            s->nnames++;
        }
    }
    far_client_destroy(c);
    if (!s->nreg)
        bind_set_free(s);
    else
        *out = s;
    if (first != FAR_OK)
        far__set_last_error("%s", saved);
    return first;
}

/* True if the binder c still has a registration of prog (any version, any
 * transport), or cannot say. */
static bool still_registered(far_client *c, uint32_t prog)
{
    dump_q q = {.prog = prog, .any = true};
    return holder(c, &q) != FAR_OK || q.uaddr[0];
}

void far__bind_unregister_all(void *reg)
{
    far__bind_set *s = reg;
    if (!s)
        return;
    char saved[512];
    snprintf(saved, sizeof saved, "%s", far_last_error());
    far_client *c;
    char used[FAR_BIND_MAX_ADDR];
    if (far_bind_open(&c, NULL, used, sizeof used) != FAR_OK) {
        far__log_warn("not unregistered: %s", far_last_error());
        far__set_last_error("%s", saved);
        bind_set_free(s);
        return;
    }
    for (size_t i = 0; i < s->nreg; i++) {
        uint32_t prog = s->reg[i].prog, vers = s->reg[i].vers;
        const char *netid = s->l[s->reg[i].li].netid, *mine = s->l[s->reg[i].li].uaddr;
        /* Only our own entry: another instance may have taken it over since
         * (after a restart that found this one dead, say). */
        dump_q q = {.prog = prog, .vers = vers, .netid = netid};
        if (holder(c, &q) == FAR_OK && (!q.uaddr[0] || !same_uaddr(netid, q.uaddr, mine))) {
            far__log_info("program %" PRIu32 " version %" PRIu32 " on %s: %s; left as it is", prog,
                          vers, netid,
                          q.uaddr[0] ? "now registered by another server" : "no longer registered");
            continue;
        }
        bool ok = false;
        far_err rc = set_unset(c, PROC_UNSET, prog, vers, netid, NULL, &ok);
        if (rc != FAR_OK || !ok)
            far__log_warn("program %" PRIu32 " version %" PRIu32 " on %s: not unregistered at "
                          "%s: %s",
                          prog, vers, netid, used, rc != FAR_OK ? far_strerror(rc) : "refused");
        else
            far__log_info("program %" PRIu32 " version %" PRIu32 " on %s: unregistered at %s", prog,
                          vers, netid, used);
    }
    /* A name goes with the last server of its program. */
    for (size_t i = 0; i < s->nnames; i++) {
        const char *name = s->names[i].name;
        uint32_t have = 0;
        if (far__bind_call(c, FAR_BIND_NAMES_PROG, NAMES_VERS, NAMES_LOOKUP, far__bind_enc_name,
                           &name, far__bind_dec_u32, &have) != FAR_OK ||
            have != s->names[i].prog || still_registered(c, have))
            continue;
        bool ok = false;
        if (far__bind_call(c, FAR_BIND_NAMES_PROG, NAMES_VERS, NAMES_UNSET, far__bind_enc_name,
                           &name, far__bind_dec_bool, &ok) != FAR_OK ||
            !ok)
            far__log_warn("name %s: not removed at %s", name, used);
    }
    far_client_destroy(c);
    far__set_last_error("%s", saved);
    bind_set_free(s);
}
