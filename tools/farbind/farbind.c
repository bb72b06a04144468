/* farbind: farcall's binder.  Serves the portmapper (program 100000 version
 * 2) and rpcbind (versions 3 and 4) of RFC 1833, plus farbind's names
 * program, over TCP and UDP (IPv4 and IPv6) and a Unix socket.  Written on
 * farcall's public API only.
 *
 * Rules (README "farbind"):
 *  - SET/UNSET only from local callers (a Unix socket, or 127.0.0.0/8 and ::1);
 *    a remote SET gets the protocol's failure answer (FALSE).
 *  - Over the Unix socket the owner is the peer's uid (SO_PEERCRED):
 *    "superuser" for root, else the uid in decimal; over loopback TCP/UDP it is
 *    "unknown".  Only the owner or root may unset.  An rpcbind UNSET with a
 *    universal address removes only the entry with that address (rpcbind
 *    ignores it; rpcinfo -d and libtirpc send ""), so a server can remove
 *    its own entry and never one another server holds now.
 *  - CALLIT (v2, v3), BCAST and INDIRECT (v4) are never forwarded: they get
 *    PROC_UNAVAIL (amplification, CVE-2015-7236).
 *  - SET fails (FALSE), in this order, if the caller is not local, the netid
 *    or universal address is malformed, an IP address has port 0 (rpcbind
 *    v3/v4 as portmapper v2), the program is 100000, the (prog, vers, netid)
 *    is registered already (RFC 1833: whoever holds it -- another owner or the
 *    same, a live server or one that fails its probes; the prober removes a
 *    dead one), or the table is full.  Every refusal is logged with the
 *    caller and the reason (the holder; -m), at most 20 lines a second.
 *    SET itself answers only FALSE (RFC 1833); the names program's
 *    FARBIND_WHY (procedure 5, rpcb_prot.x) tells a refused server the same
 *    reason as a code it can act on, with the holder or the limit.
 *  - The table holds at most -m registrations and -m names; farbind's own
 *    entries (100000 v2-v4 on each address it listens on) do not count.
 *    Strings are bounded by the .x; requests by the server's record limit.
 *  - Registered servers are probed (procedure 0) every -p ms; an entry whose
 *    server failed -F probes in a row is removed (and logged).  Probes run
 *    16 at a time, each bounded (connect 0.5 s, call 1 s), so an address
 *    that never answers delays no other entry; SIGTERM/SIGINT stop farbind
 *    within about half a second even mid-probe.
 *  - Names go with their server: when the last registration of a program by
 *    an owner goes (UNSET, or the prober), the names that owner registered
 *    for that program go too (logged).  Other owners' names stay.
 *  - -v logs every SET and UNSET; refused SETs, the prober's removals and
 *    the names removed with an owner's last registration are logged always.
 *  - -w FILE: warm start; the table is written to FILE on every change and
 *    read back at start.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "farcall/farcall.h"
#include "rpcb_prot.h"

#define MAX_LISTEN  16
#define OWNER_LEN   (RPCB_MAXOWNER + 1)
#define UNPRIV_UNIX FAR_BIND_DEFAULT_UNIX
#define SYSTEM_UNIX FAR_BIND_SYSTEM_UNIX
#define NETID_LEN   16
#define STATE_LINE  1024
#ifndef FARBIND_VERSION
#define FARBIND_VERSION "unknown"
#endif

typedef struct entry {
    uint32_t prog, vers;
    char netid[NETID_LEN];
    char uaddr[RPCB_MAXADDR + 1];
    char owner[OWNER_LEN];
    unsigned fails;
    bool self; /* farbind's own programs: never probed, never unset */
} entry;

typedef struct name_entry {
    char name[FARBIND_MAXNAME + 1];
    uint32_t prog;
    char owner[OWNER_LEN];
} name_entry;

static struct {
    pthread_mutex_t mu;
    entry *e;
    size_t n, max;
    size_t nuser; /* entries that are not farbind's own: what -m bounds */
    name_entry *names;
    size_t nnames;
    int stat_info[RPCBVERS_STAT][RPCBSTAT_HIGHPROC];
    int stat_set[RPCBVERS_STAT], stat_unset[RPCBVERS_STAT];
    const char *state_file;
    bool verbose;
    bool unix_only; /* -S: only Unix-socket callers are local */
} T = {.mu = PTHREAD_MUTEX_INITIALIZER};

static far_server *g_server;
static volatile sig_atomic_t g_stopping;
static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t probe_cv = PTHREAD_COND_INITIALIZER;      /* the next round, or stop */
static pthread_cond_t probe_done_cv = PTHREAD_COND_INITIALIZER; /* a probe's reply, or stop */
static bool probe_stop;
static unsigned probe_ms = 10000, probe_fails = 2;

/* One line on stderr, written whole (threads log at once). */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(line, sizeof line, "farbind: ");
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    fputs(line, stderr);
}

/* s made fit for a log line: at most 80 bytes, anything unprintable as '?'
 * (netids and addresses come from the caller). */
static const char *clean(const char *s, char *out, size_t n)
{
    if (!s || !*s)
        return "\"\"";
    size_t i = 0;
    for (; s[i] && i + 1 < n && i < 80; i++)
        out[i] = s[i] > ' ' && s[i] < 127 ? s[i] : '?';
    out[i] = 0;
    return out;
}

/* ------------------------------------------------------------ the caller */

typedef struct caller {
    bool local;
    bool root;
    char owner[OWNER_LEN];
    char netid[NETID_LEN]; /* the transport the call came in on */
    char peer[96];         /* for the log: "unix: uid 1000", "tcp://127.0.0.1:40312" */
} caller;

static void who(far_svc_req *req, caller *c)
{
    const char *p = far_svc_req_peer(req);
    uint32_t uid;
    memset(c, 0, sizeof *c);
    if (far_svc_req_peer_cred(req, &uid, NULL) == FAR_OK) {
        c->local = true;
        c->root = uid == 0;
        if (uid == 0)
            snprintf(c->owner, sizeof c->owner, "superuser");
        else
            snprintf(c->owner, sizeof c->owner, "%" PRIu32, uid);
        snprintf(c->netid, sizeof c->netid, "local");
        snprintf(c->peer, sizeof c->peer, "unix: uid %" PRIu32, uid);
        return;
    }
    clean(p, c->peer, sizeof c->peer);
    bool udp = strncmp(p, "udp://", 6) == 0;
    const char *host = p + 6;
    bool v6 = host[0] == '[';
    snprintf(c->netid, sizeof c->netid, "%s%s", udp ? "udp" : "tcp", v6 ? "6" : "");
    c->local = !T.unix_only && (strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]:", 6) == 0 ||
                                strncmp(host, "[::ffff:127.", 12) == 0);
    snprintf(c->owner, sizeof c->owner, "unknown");
}

static bool netid_known(const char *n)
{
    return strcmp(n, "tcp") == 0 || strcmp(n, "udp") == 0 || strcmp(n, "tcp6") == 0 ||
           strcmp(n, "udp6") == 0 || strcmp(n, "local") == 0 || strcmp(n, "unix") == 0;
}

static bool uaddr_valid(const char *netid, const char *uaddr)
{
    char addr[FAR_BIND_MAX_ADDR];
    return netid_known(netid) && far_bind_uaddr_to_addr(netid, uaddr, addr, sizeof addr) == FAR_OK;
}

/* The port of an IPv4/IPv6 universal address (0 if none). */
static uint32_t uaddr_port(const char *netid, const char *uaddr)
{
    char addr[FAR_BIND_MAX_ADDR];
    if (far_bind_uaddr_to_addr(netid, uaddr, addr, sizeof addr) != FAR_OK)
        return 0;
    const char *c = strrchr(addr, ':');
    return c && strncmp(addr, "unix:", 5) != 0 ? (uint32_t)strtoul(c + 1, NULL, 10) : 0;
}

/* ------------------------------------------------------------ warm start */

static void save_locked(void)
{
    if (!T.state_file)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", T.state_file);
    FILE *f = fopen(tmp, "we");
    if (!f) {
        logf_("cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    fprintf(f,
            "# farbind warm-start file: reg PROG VERS NETID UADDR OWNER / name NAME PROG OWNER\n");
    for (size_t i = 0; i < T.n; i++)
        if (!T.e[i].self)
            fprintf(f, "reg %" PRIu32 " %" PRIu32 " %s %s %s\n", T.e[i].prog, T.e[i].vers,
                    T.e[i].netid, T.e[i].uaddr, T.e[i].owner);
    for (size_t i = 0; i < T.nnames; i++)
        fprintf(f, "name %s %" PRIu32 " %s\n", T.names[i].name, T.names[i].prog, T.names[i].owner);
    if (fclose(f) != 0 || rename(tmp, T.state_file) != 0)
        logf_("cannot write %s: %s", T.state_file, strerror(errno));
}

static bool owner_valid(const char *o)
{
    if (!*o || strlen(o) >= OWNER_LEN)
        return false;
    for (const char *p = o; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9'))
            return false;
    return true;
}

static bool name_valid(const char *s)
{
    size_t n = strnlen(s, FARBIND_MAXNAME + 1);
    if (n == 0 || n > FARBIND_MAXNAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

static entry *find_locked(uint32_t prog, uint32_t vers, const char *netid, bool any_vers)
{
    entry *other = NULL;
    for (size_t i = 0; i < T.n; i++) {
        entry *e = &T.e[i];
        if (e->prog != prog || strcmp(e->netid, netid) != 0)
            continue;
        if (e->vers == vers)
            return e;
        if (any_vers && !other)
            other = e;
    }
    return other;
}

/* Room for farbind's own entries: 3 versions on each address it listens on. */
#define SELF_MAX (3 * MAX_LISTEN)

static bool add_locked(uint32_t prog, uint32_t vers, const char *netid, const char *uaddr,
                       const char *owner, bool self)
{
    if (find_locked(prog, vers, netid, false))
        return false; /* RFC 1833: SET fails if (prog, vers, netid) is registered */
    if (!self && T.nuser >= T.max)
        return false;
    if (T.n >= T.max + SELF_MAX)
        return false;
    entry *e = &T.e[T.n++];
    T.nuser += !self;
    memset(e, 0, sizeof *e);
    e->prog = prog;
    e->vers = vers;
    e->self = self;
    snprintf(e->netid, sizeof e->netid, "%s", netid);
    snprintf(e->uaddr, sizeof e->uaddr, "%s", uaddr);
    snprintf(e->owner, sizeof e->owner, "%s", owner);
    return true;
}

static void remove_locked(size_t i)
{
    T.nuser -= !T.e[i].self;
    T.e[i] = T.e[--T.n];
}

/* Names go with their server: once `owner` has no registration of `prog`
 * left (an UNSET or the prober removed its last), the names it registered
 * for `prog` are removed too.  Names of other owners stay, and so does a
 * name whose owner still has a registration of the program (another version
 * or transport).  T.mu held; the caller saves the table. */
static void drop_names_locked(uint32_t prog, const char *owner, const char *why)
{
    for (size_t i = 0; i < T.n; i++)
        if (!T.e[i].self && T.e[i].prog == prog && strcmp(T.e[i].owner, owner) == 0)
            return;
    for (size_t i = 0; i < T.nnames;) {
        name_entry *ne = &T.names[i];
        if (ne->prog == prog && strcmp(ne->owner, owner) == 0) {
            logf_("removing name %s (program %" PRIu32 ") of %s: %s", ne->name, prog, owner, why);
            *ne = T.names[--T.nnames];
            continue;
        }
        i++;
    }
}

static void load_state(void)
{
    FILE *f = fopen(T.state_file, "re");
    if (!f) {
        if (errno != ENOENT)
            logf_("cannot read %s: %s", T.state_file, strerror(errno));
        return;
    }
    char line[STATE_LINE];
    size_t nreg = 0, nname = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        unsigned long prog, vers;
        char netid[NETID_LEN], uaddr[RPCB_MAXADDR + 1], owner[OWNER_LEN];
        char name[FARBIND_MAXNAME + 1];
        if (sscanf(line, "reg %lu %lu %15s %256s %64s", &prog, &vers, netid, uaddr, owner) == 5 &&
            prog <= UINT32_MAX && vers <= UINT32_MAX && uaddr_valid(netid, uaddr) &&
            owner_valid(owner) && prog != PMAP_PROG &&
            (strcmp(netid, "local") == 0 || strcmp(netid, "unix") == 0 ||
             uaddr_port(netid, uaddr) != 0)) {
            if (add_locked((uint32_t)prog, (uint32_t)vers,
                           strcmp(netid, "unix") == 0 ? "local" : netid, uaddr, owner, false))
                nreg++;
        } else if (sscanf(line, "name %64s %lu %64s", name, &prog, owner) == 3 &&
                   name_valid(name) && prog <= UINT32_MAX && prog && owner_valid(owner) &&
                   T.nnames < T.max) {
            name_entry *ne = &T.names[T.nnames++];
            snprintf(ne->name, sizeof ne->name, "%s", name);
            ne->prog = (uint32_t)prog;
            snprintf(ne->owner, sizeof ne->owner, "%s", owner);
            nname++;
        } else {
            bad++;
        }
    }
    fclose(f);
    logf_("warm start from %s: %zu registrations, %zu names%s", T.state_file, nreg, nname,
          bad ? " (malformed lines skipped)" : "");
}

/* ------------------------------------------------------------ table operations */

static int stat_index(uint32_t vers)
{
    return vers == 2 ? RPCBVERS_2_STAT : vers == 3 ? RPCBVERS_3_STAT : RPCBVERS_4_STAT;
}

static void count(far_svc_req *req)
{
    uint32_t p = far_svc_req_proc(req);
    pthread_mutex_lock(&T.mu);
    if (p < RPCBSTAT_HIGHPROC)
        T.stat_info[stat_index(far_svc_req_vers(req))][p]++;
    pthread_mutex_unlock(&T.mu);
}

/* What a SET of (prog, vers, netid, uaddr) by c gets, T.mu held; netid is
 * already "local" for "unix".  FARBIND_SET_TAKEN: *holder is the entry.
 * SET and FARBIND_WHY both ask here (the order: rpcb_prot.x). */
static farbind_set_status set_check_locked(const caller *c, uint32_t prog, uint32_t vers,
                                           const char *netid, const char *uaddr,
                                           const entry **holder)
{
    *holder = NULL;
    if (!c->local)
        return FARBIND_SET_NOT_LOCAL;
    if (!uaddr_valid(netid, uaddr))
        return FARBIND_SET_BAD_ADDR;
    if (strcmp(netid, "local") != 0 && uaddr_port(netid, uaddr) == 0)
        return FARBIND_SET_PORT_ZERO; /* as PMAPPROC_SET refuses port 0 */
    if (prog == PMAP_PROG)
        return FARBIND_SET_RESERVED;
    if ((*holder = find_locked(prog, vers, netid, false)))
        return FARBIND_SET_TAKEN; /* whoever holds it, whether or not its server answers */
    if (T.nuser >= T.max)
        return FARBIND_SET_FULL;
    return FARBIND_SET_OK;
}

/* Refusals are always logged, but at most LOG_BURST lines a second, so a
 * flood of refused SETs cannot flood the log; the count of those left out is
 * logged with the next refusal after the second. */
#define LOG_BURST 20
static void refusal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void refusal(const char *fmt, ...)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static time_t window;
    static unsigned lines, dropped;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&mu);
    unsigned dropped_before = 0;
    if (now.tv_sec != window) {
        window = now.tv_sec;
        dropped_before = dropped;
        lines = dropped = 0;
    }
    bool say = lines < LOG_BURST;
    if (say)
        lines++;
    else
        dropped++;
    pthread_mutex_unlock(&mu);
    if (dropped_before)
        logf_("(%u more refusals not logged)", dropped_before);
    if (!say)
        return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    logf_("%s", msg);
}

static bool do_set(far_svc_req *req, uint32_t prog, uint32_t vers, const char *netid,
                   const char *uaddr)
{
    caller c;
    who(req, &c);
    if (strcmp(netid, "unix") == 0)
        netid = "local";
    char holder[RPCB_MAXADDR + OWNER_LEN + 64] = "";
    pthread_mutex_lock(&T.mu);
    const entry *h;
    farbind_set_status v = set_check_locked(&c, prog, vers, netid, uaddr, &h);
    if (v == FARBIND_SET_OK && !add_locked(prog, vers, netid, uaddr, c.owner, false))
        v = FARBIND_SET_FULL; /* not reached: set_check_locked saw room */
    if (v == FARBIND_SET_OK) {
        T.stat_set[stat_index(far_svc_req_vers(req))]++;
        save_locked();
    }
    if (h)
        snprintf(holder, sizeof holder, "registered already by %s at %s%s", h->owner, h->uaddr,
                 h->self    ? " (farbind itself)"
                 : h->fails ? " (its server failed its last probe)"
                            : "");
    size_t max = T.max;
    pthread_mutex_unlock(&T.mu);
    char nb[96], ub[96];
    clean(netid, nb, sizeof nb);
    clean(uaddr, ub, sizeof ub);
    if (v == FARBIND_SET_OK) {
        if (T.verbose)
            logf_("SET %" PRIu32 "/%" PRIu32 " %s %s by %s (%s): ok", prog, vers, nb, ub, c.owner,
                  c.peer);
        return true;
    }
    char why[RPCB_MAXADDR + OWNER_LEN + 128];
    switch (v) {
    case FARBIND_SET_NOT_LOCAL:
        snprintf(why, sizeof why, "the caller is not local%s",
                 T.unix_only ? " (-S: only Unix-socket callers may SET)" : "");
        break;
    case FARBIND_SET_BAD_ADDR:
        snprintf(why, sizeof why, "unknown netid or malformed universal address");
        break;
    case FARBIND_SET_PORT_ZERO:
        snprintf(why, sizeof why, "port 0");
        break;
    case FARBIND_SET_RESERVED:
        snprintf(why, sizeof why, "program %u is the binder's own", PMAP_PROG);
        break;
    case FARBIND_SET_TAKEN:
        snprintf(why, sizeof why, "%s", holder);
        break;
    default:
        snprintf(why, sizeof why,
                 "the table is full (-m %zu registrations; farbind's own not counted)", max);
        break;
    }
    refusal("SET %" PRIu32 "/%" PRIu32 " %s %s by %s (%s) refused: %s", prog, vers, nb, ub, c.owner,
            c.peer, why);
    return false;
}

/* netid NULL or "": every transport.  uaddr NULL or "": any address (what
 * rpcbind does, and what libtirpc's rpcb_unset sends); else only the entry
 * registered with that universal address, so a server removes only its own
 * entry, not one another server has taken since.  Only the owner or root. */
static bool do_unset(far_svc_req *req, uint32_t prog, uint32_t vers, const char *netid,
                     const char *uaddr)
{
    caller c;
    who(req, &c);
    if (!c.local || prog == PMAP_PROG) {
        if (T.verbose)
            logf_("UNSET %" PRIu32 "/%" PRIu32 " by %s (%s): refused: %s", prog, vers, c.owner,
                  c.peer, c.local ? "the binder's own program" : "not local");
        return false;
    }
    if (netid && strcmp(netid, "unix") == 0)
        netid = "local";
    unsigned removed = 0;
    /* The owners of what is removed: one entry per transport (prog and vers
     * are fixed), so at most one per netid farbind knows. */
    char owners[8][OWNER_LEN];
    size_t nowners = 0;
    pthread_mutex_lock(&T.mu);
    for (size_t i = 0; i < T.n;) {
        entry *e = &T.e[i];
        if (e->prog == prog && e->vers == vers && !e->self &&
            (!netid || !*netid || strcmp(e->netid, netid) == 0) &&
            (!uaddr || !*uaddr || strcmp(e->uaddr, uaddr) == 0) &&
            (c.root || strcmp(e->owner, c.owner) == 0)) {
            if (T.verbose)
                logf_("UNSET %" PRIu32 "/%" PRIu32 " %s %s of %s, by %s (%s): removed", prog, vers,
                      e->netid, e->uaddr, e->owner, c.owner, c.peer);
            bool seen = false;
            for (size_t k = 0; k < nowners; k++)
                seen |= strcmp(owners[k], e->owner) == 0;
            if (!seen && nowners < 8)
                snprintf(owners[nowners++], OWNER_LEN, "%s", e->owner);
            remove_locked(i);
            removed++;
            continue;
        }
        i++;
    }
    for (size_t k = 0; k < nowners; k++)
        drop_names_locked(prog, owners[k], "its last registration of the program was unset");
    if (removed) {
        T.stat_unset[stat_index(far_svc_req_vers(req))]++;
        save_locked();
    }
    pthread_mutex_unlock(&T.mu);
    if (T.verbose && !removed) {
        char nb[96], ub[96];
        logf_("UNSET %" PRIu32 "/%" PRIu32 " %s%s%s by %s (%s): %s", prog, vers,
              netid && *netid ? clean(netid, nb, sizeof nb) : "(every transport)",
              uaddr && *uaddr ? " " : "", uaddr && *uaddr ? clean(uaddr, ub, sizeof ub) : "",
              c.owner, c.peer, "nothing registered that this caller may remove");
    }
    return removed > 0;
}

static char *arena_strdup(far_svc_req *req, const char *s)
{
    size_t n = strlen(s);
    char *p = far_arena_alloc(far_svc_req_arena(req), n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static far_err do_getaddr(far_svc_req *req, const rpcb *a, char **resp, bool any_vers)
{
    caller c;
    who(req, &c);
    const char *netid = a->r_netid && *a->r_netid ? a->r_netid : c.netid;
    if (strcmp(netid, "unix") == 0)
        netid = "local";
    char found[RPCB_MAXADDR + 1] = "";
    pthread_mutex_lock(&T.mu);
    entry *e = find_locked(a->r_prog, a->r_vers, netid, any_vers);
    if (e)
        snprintf(found, sizeof found, "%s", e->uaddr);
    pthread_mutex_unlock(&T.mu);
    *resp = arena_strdup(req, found);
    return *resp ? FAR_OK : FAR_ESYSTEM_ERR;
}

/* A copy of the table, taken under the lock, so replies are built without it. */
static entry *snapshot(size_t *n)
{
    pthread_mutex_lock(&T.mu);
    entry *copy = malloc((T.n ? T.n : 1) * sizeof *copy);
    *n = copy ? T.n : 0;
    if (copy && T.n)
        memcpy(copy, T.e, T.n * sizeof *copy);
    pthread_mutex_unlock(&T.mu);
    return copy;
}

/* ------------------------------------------------------------ portmapper v2 */

static const char *prot_netid(uint32_t prot)
{
    return prot == PMAP_IPPROTO_TCP ? "tcp" : prot == PMAP_IPPROTO_UDP ? "udp" : NULL;
}

static far_err pm_set(far_svc_req *req, const mapping *m, bool *resp)
{
    count(req);
    const char *netid = prot_netid(m->prot);
    char uaddr[64] = ""; /* a port past 65535 or an unknown prot: a bad address */
    if (m->port <= 65535)
        snprintf(uaddr, sizeof uaddr, "0.0.0.0.%u.%u", (m->port >> 8) & 255, m->port & 255);
    *resp = do_set(req, m->prog, m->vers, netid ? netid : "?", uaddr);
    return FAR_OK;
}

static far_err pm_unset(far_svc_req *req, const mapping *m, bool *resp)
{
    count(req);
    /* RFC 1833 §3.2: UNSET ignores prot and port: both transports go. */
    bool a = do_unset(req, m->prog, m->vers, "tcp", NULL);
    bool b = do_unset(req, m->prog, m->vers, "udp", NULL);
    *resp = a || b;
    return FAR_OK;
}

static far_err pm_getport(far_svc_req *req, const mapping *m, uint32_t *resp)
{
    count(req);
    const char *netid = prot_netid(m->prot);
    *resp = 0;
    if (!netid)
        return FAR_OK;
    pthread_mutex_lock(&T.mu);
    entry *e = find_locked(m->prog, m->vers, netid, true);
    if (e)
        *resp = uaddr_port(e->netid, e->uaddr);
    pthread_mutex_unlock(&T.mu);
    return FAR_OK;
}

static far_err pm_dump(far_svc_req *req, pmaplist_ptr *resp)
{
    count(req);
    size_t n;
    entry *s = snapshot(&n);
    if (!s)
        return FAR_ESYSTEM_ERR;
    far_arena *ar = far_svc_req_arena(req);
    *resp = NULL;
    pmaplist **tail = resp;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].netid, "tcp") != 0 && strcmp(s[i].netid, "udp") != 0)
            continue;
        pmaplist *l = far_arena_alloc(ar, sizeof *l);
        if (!l) {
            free(s);
            return FAR_ESYSTEM_ERR;
        }
        l->map.prog = s[i].prog;
        l->map.vers = s[i].vers;
        l->map.prot = s[i].netid[0] == 't' ? PMAP_IPPROTO_TCP : PMAP_IPPROTO_UDP;
        l->map.port = uaddr_port(s[i].netid, s[i].uaddr);
        l->next = NULL;
        *tail = l;
        tail = &l->next;
    }
    free(s);
    return FAR_OK;
}

/* ------------------------------------------------------------ rpcbind v3 / v4 */

static far_err rb_set(far_svc_req *req, const rpcb *a, bool *resp)
{
    count(req);
    *resp = do_set(req, a->r_prog, a->r_vers, a->r_netid, a->r_addr);
    return FAR_OK;
}

static far_err rb_unset(far_svc_req *req, const rpcb *a, bool *resp)
{
    count(req);
    *resp = do_unset(req, a->r_prog, a->r_vers, a->r_netid, a->r_addr);
    return FAR_OK;
}

/* RFC 1833 §2.2: GETADDR may answer with another version of the program (the
 * server then reports the versions it has); GETVERSADDR only with this one. */
static far_err rb_getaddr(far_svc_req *req, const rpcb *a, char **resp)
{
    count(req);
    return do_getaddr(req, a, resp, true);
}

static far_err rb_getversaddr(far_svc_req *req, const rpcb *a, char **resp)
{
    count(req);
    return do_getaddr(req, a, resp, false);
}

static far_err rb_dump(far_svc_req *req, rpcblist_ptr *resp)
{
    count(req);
    size_t n;
    entry *s = snapshot(&n);
    if (!s)
        return FAR_ESYSTEM_ERR;
    far_arena *ar = far_svc_req_arena(req);
    *resp = NULL;
    rp__list **tail = resp;
    for (size_t i = 0; i < n; i++) {
        rp__list *l = far_arena_alloc(ar, sizeof *l);
        if (!l || !(l->rpcb_map.r_netid = arena_strdup(req, s[i].netid)) ||
            !(l->rpcb_map.r_addr = arena_strdup(req, s[i].uaddr)) ||
            !(l->rpcb_map.r_owner = arena_strdup(req, s[i].owner))) {
            free(s);
            return FAR_ESYSTEM_ERR;
        }
        l->rpcb_map.r_prog = s[i].prog;
        l->rpcb_map.r_vers = s[i].vers;
        l->rpcb_next = NULL;
        *tail = l;
        tail = &l->rpcb_next;
    }
    free(s);
    return FAR_OK;
}

static far_err rb_gettime(far_svc_req *req, uint32_t *resp)
{
    count(req);
    *resp = (uint32_t)time(NULL);
    return FAR_OK;
}

/* UADDR2TADDR / TADDR2UADDR: a "transport address" is the socket address as
 * the transport uses it (struct sockaddr_in / sockaddr_in6 / sockaddr_un
 * bytes), as rpcbind answers on Linux. */
static far_err rb_uaddr2taddr(far_svc_req *req, char *const *u, netbuf *resp)
{
    count(req);
    caller c;
    who(req, &c);
    memset(resp, 0, sizeof *resp);
    char addr[FAR_BIND_MAX_ADDR];
    if (far_bind_uaddr_to_addr(c.netid, *u, addr, sizeof addr) != FAR_OK)
        return FAR_OK; /* an empty netbuf: not convertible */
    union {
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
    } sa;
    memset(&sa, 0, sizeof sa);
    size_t len;
    if (strncmp(addr, "unix:", 5) == 0) {
        sa.un.sun_family = AF_UNIX;
        size_t pl = strnlen(addr + 5, sizeof sa.un.sun_path - 1);
        memcpy(sa.un.sun_path, addr + 5, pl);
        len = sizeof sa.un;
    } else {
        char host[INET6_ADDRSTRLEN + 2];
        const char *h = strstr(addr, "://") + 3, *colon = strrchr(h, ':');
        snprintf(host, sizeof host, "%.*s", (int)(colon - h), h);
        uint16_t port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
        if (host[0] == '[') {
            host[strlen(host) - 1] = 0;
            sa.in6.sin6_family = AF_INET6;
            sa.in6.sin6_port = port;
            inet_pton(AF_INET6, host + 1, &sa.in6.sin6_addr);
            len = sizeof sa.in6;
        } else {
            sa.in.sin_family = AF_INET;
            sa.in.sin_port = port;
            inet_pton(AF_INET, host, &sa.in.sin_addr);
            len = sizeof sa.in;
        }
    }
    uint8_t *b = far_arena_alloc(far_svc_req_arena(req), len);
    if (!b)
        return FAR_ESYSTEM_ERR;
    memcpy(b, &sa, len);
    resp->maxlen = (uint32_t)len;
    resp->buf.buf_len = (uint32_t)len;
    resp->buf.buf_val = b;
    return FAR_OK;
}

static far_err rb_taddr2uaddr(far_svc_req *req, const netbuf *nb, char **resp)
{
    count(req);
    char out[RPCB_MAXADDR + 1] = "";
    char ip[INET6_ADDRSTRLEN];
    const uint8_t *b = nb->buf.buf_val;
    size_t n = nb->buf.buf_len;
    sa_family_t fam = 0;
    if (n >= sizeof fam)
        memcpy(&fam, b, sizeof fam);
    if (fam == AF_INET && n >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, b, sizeof in);
        unsigned p = ntohs(in.sin_port);
        inet_ntop(AF_INET, &in.sin_addr, ip, sizeof ip);
        snprintf(out, sizeof out, "%s.%u.%u", ip, p >> 8, p & 255);
    } else if (fam == AF_INET6 && n >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, b, sizeof in6);
        unsigned p = ntohs(in6.sin6_port);
        inet_ntop(AF_INET6, &in6.sin6_addr, ip, sizeof ip);
        snprintf(out, sizeof out, "%s.%u.%u", ip, p >> 8, p & 255);
    } else if (fam == AF_UNIX && n > sizeof fam) {
        size_t pl = strnlen((const char *)b + sizeof fam, n - sizeof fam);
        if (pl < sizeof out && pl < sizeof(((struct sockaddr_un *)0)->sun_path))
            snprintf(out, sizeof out, "%.*s", (int)pl, (const char *)b + sizeof fam);
        if (!uaddr_valid("local", out))
            out[0] = 0;
    }
    *resp = arena_strdup(req, out);
    return *resp ? FAR_OK : FAR_ESYSTEM_ERR;
}

static void netid_family(const char *netid, uint32_t *sem, const char **fam, const char **proto)
{
    bool udp = netid[0] == 'u' && netid[1] == 'd';
    *sem = udp ? 1 /* NC_TPI_CLTS */ : 3 /* NC_TPI_COTS_ORD */;
    if (strcmp(netid, "local") == 0 || strcmp(netid, "unix") == 0) {
        *fam = "loopback";
        *proto = "-";
    } else {
        *fam = strchr(netid, '6') ? "inet6" : "inet";
        *proto = udp ? "udp" : "tcp";
    }
}

static far_err rb_getaddrlist(far_svc_req *req, const rpcb *a, rpcb_entry_list_ptr *resp)
{
    count(req);
    size_t n;
    entry *s = snapshot(&n);
    if (!s)
        return FAR_ESYSTEM_ERR;
    *resp = NULL;
    rpcb_entry_list **tail = resp;
    for (size_t i = 0; i < n; i++) {
        if (s[i].prog != a->r_prog || s[i].vers != a->r_vers)
            continue;
        if (a->r_netid && *a->r_netid && strcmp(a->r_netid, s[i].netid) != 0)
            continue;
        rpcb_entry_list *l = far_arena_alloc(far_svc_req_arena(req), sizeof *l);
        const char *fam, *proto;
        uint32_t sem;
        netid_family(s[i].netid, &sem, &fam, &proto);
        if (!l || !(l->rpcb_entry_map.r_maddr = arena_strdup(req, s[i].uaddr)) ||
            !(l->rpcb_entry_map.r_nc_netid = arena_strdup(req, s[i].netid)) ||
            !(l->rpcb_entry_map.r_nc_protofmly = arena_strdup(req, fam)) ||
            !(l->rpcb_entry_map.r_nc_proto = arena_strdup(req, proto))) {
            free(s);
            return FAR_ESYSTEM_ERR;
        }
        l->rpcb_entry_map.r_nc_semantics = sem;
        l->rpcb_entry_next = NULL;
        *tail = l;
        tail = &l->rpcb_entry_next;
    }
    free(s);
    return FAR_OK;
}

static far_err rb_getstat(far_svc_req *req, rpcb_stat_byvers *resp)
{
    count(req);
    memset(resp, 0, sizeof *resp);
    pthread_mutex_lock(&T.mu);
    for (int v = 0; v < RPCBVERS_STAT; v++) {
        memcpy((*resp)[v].info, T.stat_info[v], sizeof T.stat_info[v]);
        (*resp)[v].setinfo = T.stat_set[v];
        (*resp)[v].unsetinfo = T.stat_unset[v];
    }
    pthread_mutex_unlock(&T.mu);
    return FAR_OK;
}

/* ------------------------------------------------------------ names */

static name_entry *name_find_locked(const char *name)
{
    for (size_t i = 0; i < T.nnames; i++)
        if (strcmp(T.names[i].name, name) == 0)
            return &T.names[i];
    return NULL;
}

static far_err nm_set(far_svc_req *req, const farbind_name *a, bool *resp)
{
    caller c;
    who(req, &c);
    *resp = false;
    if (!c.local || !name_valid(a->name) || a->prog == 0)
        return FAR_OK;
    pthread_mutex_lock(&T.mu);
    name_entry *ne = name_find_locked(a->name);
    if (ne && (c.root || strcmp(ne->owner, c.owner) == 0)) {
        ne->prog = a->prog; /* update */
        *resp = true;
    } else if (!ne && T.nnames < T.max) {
        ne = &T.names[T.nnames++];
        snprintf(ne->name, sizeof ne->name, "%s", a->name);
        ne->prog = a->prog;
        snprintf(ne->owner, sizeof ne->owner, "%s", c.owner);
        *resp = true;
    }
    if (*resp)
        save_locked();
    pthread_mutex_unlock(&T.mu);
    return FAR_OK;
}

static far_err nm_unset(far_svc_req *req, const farbind_name_arg *a, bool *resp)
{
    caller c;
    who(req, &c);
    *resp = false;
    if (!c.local || !*a || !name_valid(*a))
        return FAR_OK;
    pthread_mutex_lock(&T.mu);
    name_entry *ne = name_find_locked(*a);
    if (ne && (c.root || strcmp(ne->owner, c.owner) == 0)) {
        *ne = T.names[--T.nnames];
        *resp = true;
        save_locked();
    }
    pthread_mutex_unlock(&T.mu);
    return FAR_OK;
}

static far_err nm_lookup(far_svc_req *req, const farbind_name_arg *a, uint32_t *resp)
{
    (void)req;
    *resp = 0;
    if (!*a)
        return FAR_OK;
    pthread_mutex_lock(&T.mu);
    name_entry *ne = name_find_locked(*a);
    if (ne)
        *resp = ne->prog;
    pthread_mutex_unlock(&T.mu);
    return FAR_OK;
}

/* FARBIND_WHY: what a SET of *a by this caller would get now (nothing changes). */
static far_err nm_why(far_svc_req *req, const rpcb *a, farbind_why_res *resp)
{
    caller c;
    who(req, &c);
    const char *netid = strcmp(a->r_netid, "unix") == 0 ? "local" : a->r_netid;
    memset(resp, 0, sizeof *resp);
    char owner[OWNER_LEN] = "", addr[RPCB_MAXADDR + 1] = "";
    pthread_mutex_lock(&T.mu);
    const entry *h;
    resp->status = set_check_locked(&c, a->r_prog, a->r_vers, netid, a->r_addr, &h);
    resp->limit = (uint32_t)T.max;
    if (h) {
        snprintf(owner, sizeof owner, "%s", h->owner);
        snprintf(addr, sizeof addr, "%s", h->uaddr);
        resp->holder_fails = h->fails;
    }
    pthread_mutex_unlock(&T.mu);
    if (!(resp->holder_owner = arena_strdup(req, owner)) ||
        !(resp->holder_addr = arena_strdup(req, addr)))
        return FAR_ESYSTEM_ERR;
    return FAR_OK;
}

static far_err nm_dump(far_svc_req *req, farbind_name_list_ptr *resp)
{
    *resp = NULL;
    farbind_name_list **tail = resp;
    far_err rc = FAR_OK;
    pthread_mutex_lock(&T.mu);
    for (size_t i = 0; i < T.nnames; i++) {
        farbind_name_list *l = far_arena_alloc(far_svc_req_arena(req), sizeof *l);
        if (!l || !(l->entry.name = arena_strdup(req, T.names[i].name)) ||
            !(l->entry.owner = arena_strdup(req, T.names[i].owner))) {
            rc = FAR_ESYSTEM_ERR;
            break;
        }
        l->entry.prog = T.names[i].prog;
        l->next = NULL;
        *tail = l;
        tail = &l->next;
    }
    pthread_mutex_unlock(&T.mu);
    return rc;
}

static const pmap_prog_2_impl v2 = {
    .pmapproc_set = pm_set,
    .pmapproc_unset = pm_unset,
    .pmapproc_getport = pm_getport,
    .pmapproc_dump = pm_dump,
    /* .pmapproc_callit: never forwarded (PROC_UNAVAIL) */
};
static const pmap_prog_3_impl v3 = {
    .rpcbproc_set = rb_set,
    .rpcbproc_unset = rb_unset,
    .rpcbproc_getaddr = rb_getaddr,
    .rpcbproc_dump = rb_dump,
    .rpcbproc_gettime = rb_gettime,
    .rpcbproc_uaddr2taddr = rb_uaddr2taddr,
    .rpcbproc_taddr2uaddr = rb_taddr2uaddr,
};
static const pmap_prog_4_impl v4 = {
    .rpcb4proc_set = rb_set,
    .rpcb4proc_unset = rb_unset,
    .rpcb4proc_getaddr = rb_getaddr,
    .rpcb4proc_dump = rb_dump,
    .rpcb4proc_gettime = rb_gettime,
    .rpcb4proc_uaddr2taddr = rb_uaddr2taddr,
    .rpcb4proc_taddr2uaddr = rb_taddr2uaddr,
    .rpcb4proc_getversaddr = rb_getversaddr,
    .rpcb4proc_getaddrlist = rb_getaddrlist,
    .rpcb4proc_getstat = rb_getstat,
};
static const farbind_names_prog_1_impl names = {
    .farbind_name_set = nm_set,
    .farbind_name_unset = nm_unset,
    .farbind_name_lookup = nm_lookup,
    .farbind_name_dump = nm_dump,
    .farbind_why = nm_why,
};

/* ------------------------------------------------------------ stale entries */

/* The prober.  Every -p ms a round probes each registration once: procedure
 * 0 of its program version at its address.  Registrations are probed
 * independently, PROBE_THREADS at a time, and each probe is bounded: the
 * connect by PROBE_CONNECT_MS (a loopback connect takes microseconds; one
 * that hangs means a full backlog or an address that never answers), the
 * call by PROBE_CALL_MS.  So an address that never answers costs its own
 * entries a probe timeout and holds up no one else, and a round of any size
 * takes about ceil(dead / PROBE_THREADS) x PROBE_CONNECT_MS at most.  The
 * call is asynchronous, so a stop wakes a probe that waits for its reply at
 * once; one in its connect finishes within PROBE_CONNECT_MS. */
#define PROBE_THREADS    16
#define PROBE_CONNECT_MS 500
#define PROBE_CALL_MS    1000

static bool probe_stopping(void)
{
    pthread_mutex_lock(&probe_mu);
    bool stop = probe_stop;
    pthread_mutex_unlock(&probe_mu);
    return stop;
}

typedef struct probe_wait {
    bool done;
    far_err err;
} probe_wait;

static void probe_done(const far_status *st, void *res, void *user)
{
    (void)res;
    probe_wait *w = user;
    pthread_mutex_lock(&probe_mu);
    w->err = st->err;
    w->done = true;
    pthread_cond_broadcast(&probe_done_cv);
    pthread_mutex_unlock(&probe_mu);
}

/* Procedure 0 of the registered program: 1 if the server answered as a
 * server of that program version would (any reply but "not this program"),
 * 0 if not, -1 if farbind is stopping (no verdict). */
static int probe_one(const entry *e)
{
    char addr[FAR_BIND_MAX_ADDR];
    if (far_bind_uaddr_to_addr(e->netid, e->uaddr, addr, sizeof addr) != FAR_OK)
        return 0;
    char fixed[FAR_BIND_MAX_ADDR + 16];
    char *w;
    if ((w = strstr(addr, "://0.0.0.0:")))
        snprintf(fixed, sizeof fixed, "%.*s://127.0.0.1:%s", (int)(w - addr), addr, w + 11);
    else if ((w = strstr(addr, "://[::]:")))
        snprintf(fixed, sizeof fixed, "%.*s://[::1]:%s", (int)(w - addr), addr, w + 8);
    else
        snprintf(fixed, sizeof fixed, "%s", addr);
    far_client_opts o = {.timeout_ms = PROBE_CONNECT_MS, .retry_ms = 200};
    far_client *c;
    if (far_client_open(&c, fixed, &o) != FAR_OK)
        return probe_stopping() ? -1 : 0;
    probe_wait pw = {false, FAR_OK};
    far_err rc =
        far_client_call_async(c, e->prog, e->vers, 0, NULL, NULL, NULL, NULL, NULL,
                              &(far_call_opts){.timeout_ms = PROBE_CALL_MS}, probe_done, &pw);
    bool stopped = false;
    if (rc == FAR_OK) {
        pthread_mutex_lock(&probe_mu);
        while (!pw.done && !probe_stop)
            pthread_cond_wait(&probe_done_cv, &probe_mu);
        stopped = !pw.done;
        rc = pw.err;
        pthread_mutex_unlock(&probe_mu);
    }
    far_client_destroy(c); /* cancels a call still in flight; its callback runs first */
    if (stopped)
        return -1;
    return rc != FAR_EPROG_UNAVAIL && rc != FAR_EPROG_MISMATCH && rc != FAR_ECONNREFUSED &&
           rc != FAR_ECONNLOST && rc != FAR_ETIMEDOUT && rc != FAR_EADDR && rc != FAR_ECANCELED;
}

/* A probe's outcome, applied to the entry if it is still the one probed. */
static void probe_verdict(const entry *p, bool alive)
{
    pthread_mutex_lock(&T.mu);
    for (size_t k = 0; k < T.n; k++) {
        entry *e = &T.e[k];
        if (e->self || e->prog != p->prog || e->vers != p->vers ||
            strcmp(e->netid, p->netid) != 0 || strcmp(e->uaddr, p->uaddr) != 0 ||
            strcmp(e->owner, p->owner) != 0)
            continue;
        e->fails = alive ? 0 : e->fails + 1;
        if (e->fails >= probe_fails) {
            logf_("removing %" PRIu32 "/%" PRIu32 " %s %s of %s: its server does not answer (%u "
                  "probes)",
                  e->prog, e->vers, e->netid, e->uaddr, e->owner, e->fails);
            uint32_t prog = e->prog;
            char owner[OWNER_LEN];
            snprintf(owner, sizeof owner, "%s", e->owner);
            remove_locked(k);
            drop_names_locked(prog, owner,
                              "the prober removed its last registration of the program");
            save_locked();
        }
        break;
    }
    pthread_mutex_unlock(&T.mu);
}

typedef struct probe_round {
    const entry *s;
    size_t n;
    atomic_size_t next;
} probe_round;

static void *probe_worker(void *arg)
{
    probe_round *r = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n || probe_stopping())
            return NULL;
        if (r->s[i].self)
            continue;
        int alive = probe_one(&r->s[i]);
        if (alive < 0)
            return NULL;
        probe_verdict(&r->s[i], alive == 1);
    }
}

static void *prober(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&probe_mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += probe_ms / 1000;
        ts.tv_nsec += (long)(probe_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        while (!probe_stop && pthread_cond_timedwait(&probe_cv, &probe_mu, &ts) == 0)
            ;
        bool stop = probe_stop;
        pthread_mutex_unlock(&probe_mu);
        if (stop)
            return NULL;
        size_t n, todo = 0;
        entry *s = snapshot(&n);
        if (!s)
            continue;
        for (size_t i = 0; i < n; i++)
            todo += !s[i].self;
        probe_round r = {.s = s, .n = n};
        atomic_init(&r.next, 0);
        pthread_t th[PROBE_THREADS - 1];
        size_t nth = 0; /* helpers: with this thread, at most PROBE_THREADS probes at once */
        while (nth + 1 < PROBE_THREADS && nth + 1 < todo &&
               pthread_create(&th[nth], NULL, probe_worker, &r) == 0)
            nth++;
        probe_worker(&r); /* this thread is one of the probers too */
        for (size_t i = 0; i < nth; i++)
            pthread_join(th[i], NULL);
        free(s);
    }
}

/* ------------------------------------------------------------ main */

static void on_signal(int sig)
{
    (void)sig;
    g_stopping = 1;
    far_server_stop(g_server);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: farbind [-a ADDR]... [-U] [-w FILE] [-m MAX] [-p MS] [-F N] [-S] [-v]\n"
            "       farbind --help | --version\n"
            "The binder: portmapper v2 and rpcbind v3/v4 (RFC 1833), plus names.\n"
            "  -a ADDR  listen on ADDR (tcp://H:P, udp://H:P, unix:/path); repeatable.\n"
            "           Default as root when port 111 is free: tcp and udp on 0.0.0.0:111\n"
            "           and [::]:111, and unix:%s; otherwise (or with -U)\n"
            "           tcp and udp on 127.0.0.1:%d and [::1]:%d, and unix:%s.\n"
            "  -U       use the unprivileged default addresses even as root\n"
            "  -w FILE  warm start: keep the table in FILE across restarts\n"
            "  -m MAX   at most MAX registrations and MAX names (default 1024; farbind's own\n"
            "           entries are not counted); a SET past it is refused and logged\n"
            "  -p MS    probe registered servers every MS milliseconds (default 10000; 0: never);\n"
            "           16 probes at a time, each bounded (connect 0.5 s, call 1 s)\n"
            "  -F N     remove an entry after N failed probes in a row (default 2)\n"
            "  -S       strict: only Unix-socket callers may SET/UNSET (loopback TCP/UDP too\n"
            "           by default, with owner \"unknown\")\n"
            "  -v       log every SET and UNSET (refused SETs, the prober's removals and the\n"
            "           names that go with them are logged always)\n"
            "  -h, --help  print this and exit;  --version  print the version and exit\n"
            "SET fails if the prog/vers/netid is registered already (by anyone), for port 0,\n"
            "or past -m; each refusal is logged, and the names program's WHY procedure\n"
            "(%#x v1 proc 5) tells the refused caller the reason.\n"
            "UNSET with a universal address removes only the entry at that address.\n"
            "A name goes with its server: when an owner's last registration of a program\n"
            "goes (UNSET or the prober), the names that owner set for it go too.\n"
            "CALLIT, BCAST and INDIRECT (remote-call forwarding) are always refused.\n",
            SYSTEM_UNIX, FAR_BIND_DEFAULT_PORT, FAR_BIND_DEFAULT_PORT, UNPRIV_UNIX,
            FAR_BIND_NAMES_PROG);
}

static void add_self(const char *bound)
{
    char netid[NETID_LEN], uaddr[FAR_BIND_MAX_ADDR];
    if (far_bind_addr_to_uaddr(bound, netid, sizeof netid, uaddr, sizeof uaddr) != FAR_OK)
        return;
    for (uint32_t v = 2; v <= 4; v++)
        add_locked(PMAP_PROG, v, netid, uaddr, "superuser", true);
}

static far_err listen_all(far_server *s, char **addrs, int n, bool quiet)
{
    for (int i = 0; i < n; i++) {
        char bound[FAR_BIND_MAX_ADDR];
        far_err rc = far_server_listen(s, addrs[i], bound, sizeof bound);
        if (rc != FAR_OK) {
            if (!quiet)
                logf_("cannot listen on %s: %s (%s)", addrs[i], far_strerror(rc), far_last_error());
            return rc;
        }
        if (strncmp(bound, "unix:", 5) == 0)
            chmod(bound + 5, 0666); /* anyone may ask; SO_PEERCRED says who */
        add_self(bound);
        logf_("listening on %s", bound);
    }
    return FAR_OK;
}

int main(int argc, char **argv)
{
    char *addrs[MAX_LISTEN];
    int naddrs = 0, opt;
    bool unpriv = false;
    unsigned long max = 1024;
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    while ((opt = getopt_long(argc, argv, "a:Uw:m:p:F:SvhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a':
            if (naddrs == MAX_LISTEN) {
                logf_("at most %d addresses", MAX_LISTEN);
                return 2;
            }
            addrs[naddrs++] = optarg;
            break;
        case 'U':
            unpriv = true;
            break;
        case 'w':
            T.state_file = optarg;
            break;
        case 'm':
            max = strtoul(optarg, NULL, 10);
            if (max == 0 || max > 1000000) {
                logf_("-m: 1..1000000");
                return 2;
            }
            break;
        case 'p':
            probe_ms = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'F':
            probe_fails = (unsigned)strtoul(optarg, NULL, 10);
            if (!probe_fails)
                probe_fails = 1;
            break;
        case 'S':
            T.unix_only = true;
            break;
        case 'v':
            T.verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("farbind (farcall) %s\n", FARBIND_VERSION);
            return 0;
        default:
            fprintf(stderr, "Try 'farbind --help'.\n");
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "farbind: unexpected argument '%s'\nTry 'farbind --help'.\n", argv[optind]);
        return 2;
    }
    T.max = max;
    T.e = calloc(max + SELF_MAX, sizeof *T.e);
    T.names = calloc(max, sizeof *T.names);
    if (!T.e || !T.names) {
        logf_("out of memory");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    /* Small requests only: the largest legal one is a CALLIT with 8 KiB of
     * arguments; anything longer is dropped with its connection. */
    far_server_opts so = {.workers = 2,
                          .max_conns = 512,
                          .max_record = 16384,
                          .idle_timeout_ms = 30000,
                          .max_calls_per_conn = 16};
    far_server *s = NULL;
    int status = 1;
    if (far_server_create(&s, &so) != FAR_OK ||
        far_server_add_program(s, pmap_prog_2_program(), &v2) != FAR_OK ||
        far_server_add_program(s, pmap_prog_3_program(), &v3) != FAR_OK ||
        far_server_add_program(s, pmap_prog_4_program(), &v4) != FAR_OK ||
        far_server_add_program(s, farbind_names_prog_1_program(), &names) != FAR_OK) {
        logf_("cannot create the server");
        goto out;
    }
    if (naddrs) {
        if (listen_all(s, addrs, naddrs, false) != FAR_OK)
            goto out;
    } else {
        char p111[5][64], pun[5][64];
        snprintf(p111[0], 64, "tcp://0.0.0.0:%d", FAR_BIND_PORT);
        snprintf(p111[1], 64, "udp://0.0.0.0:%d", FAR_BIND_PORT);
        snprintf(p111[2], 64, "tcp://[::]:%d", FAR_BIND_PORT);
        snprintf(p111[3], 64, "udp://[::]:%d", FAR_BIND_PORT);
        snprintf(p111[4], 64, "unix:%s", SYSTEM_UNIX);
        snprintf(pun[0], 64, "tcp://127.0.0.1:%d", FAR_BIND_DEFAULT_PORT);
        snprintf(pun[1], 64, "udp://127.0.0.1:%d", FAR_BIND_DEFAULT_PORT);
        snprintf(pun[2], 64, "tcp://[::1]:%d", FAR_BIND_DEFAULT_PORT);
        snprintf(pun[3], 64, "udp://[::1]:%d", FAR_BIND_DEFAULT_PORT);
        snprintf(pun[4], 64, "unix:%s", UNPRIV_UNIX);
        char *a111[5], *aun[5];
        for (int i = 0; i < 5; i++)
            a111[i] = p111[i], aun[i] = pun[i];
        bool done = false;
        if (!unpriv && geteuid() == 0) {
            /* Probe port 111 with a throwaway server, so a half-bound real one
             * never has to be unwound. */
            far_server *t = NULL;
            if (far_server_create(&t, &so) == FAR_OK && listen_all(t, a111, 2, true) == FAR_OK) {
                far_server_destroy(t);
                t = NULL;
                pthread_mutex_lock(&T.mu);
                T.n = T.nuser = 0;
                pthread_mutex_unlock(&T.mu);
                done = listen_all(s, a111, 5, false) == FAR_OK;
                if (!done)
                    goto out;
            } else {
                logf_("port %d is taken: using the unprivileged default", FAR_BIND_PORT);
            }
            far_server_destroy(t);
        }
        if (!done && listen_all(s, aun, 5, false) != FAR_OK)
            goto out;
    }
    if (T.state_file) {
        pthread_mutex_lock(&T.mu);
        load_state();
        pthread_mutex_unlock(&T.mu);
    }
    g_server = s;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pthread_t pt;
    bool probing = probe_ms > 0 && pthread_create(&pt, NULL, prober, NULL) == 0;
    logf_("ready (at most %lu registrations and %lu names, farbind's own entries not counted; "
          "remote calls refused)",
          max, max);
    if (far_server_run(s) != FAR_OK)
        logf_("server failed: %s", far_last_error());
    if (probing) {
        pthread_mutex_lock(&probe_mu);
        probe_stop = true;
        pthread_cond_broadcast(&probe_cv);
        pthread_cond_broadcast(&probe_done_cv);
        pthread_mutex_unlock(&probe_mu);
        pthread_join(pt, NULL);
    }
    pthread_mutex_lock(&T.mu);
    save_locked();
    pthread_mutex_unlock(&T.mu);
    logf_("stopped");
    status = 0;
out:
    far_server_destroy(s);
    free(T.e);
    free(T.names);
    return status;
}
