/* Binder client: registration, lookup, dynamic addresses, names.
 *
 * Speaks RFC 1833 to rpcbind or farbind: rpcbind v4 and v3 (RPCBPROC_SET,
 * UNSET, GETADDR) and, for a binder that only knows the portmapper, PMAP v2
 * (SET, UNSET, GETPORT).  The few codecs it needs are written out here, so
 * the library carries no generated code.  Everything a binder sends back is
 * checked before use: strings are bounded and universal addresses are parsed
 * strictly (far_bind_uaddr_to_addr).
 */
#include "bind/bind.h"
#include "net/net.h"

#include "farcall/bind.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define BIND_TIMEOUT_MS 2000
#define MAX_STR         255 /* strings a binder sends: netids, addresses, owners */
#define RPCBVERS        3
#define RPCBVERS4       4
#define PMAPVERS        2
#define PROC_SET        1
#define PROC_UNSET      2
#define PROC_GETADDR    3 /* PMAPPROC_GETPORT in version 2 */
#define NAMES_VERS      1
#define NAMES_SET       1
#define NAMES_UNSET     2
#define NAMES_LOOKUP    3

/* ------------------------------------------------------------ codecs */

typedef struct rpcb_args {
    uint32_t prog, vers;
    const char *netid, *addr, *owner;
} rpcb_args;

static bool enc_rpcb(far_xdr_enc *e, const void *v)
{
    const rpcb_args *a = v;
    return far_xdr_put_u32(e, a->prog) && far_xdr_put_u32(e, a->vers) &&
           far_xdr_put_string(e, a->netid, MAX_STR) && far_xdr_put_string(e, a->addr, MAX_STR) &&
           far_xdr_put_string(e, a->owner, MAX_STR);
}

typedef struct mapping_args {
    uint32_t prog, vers, prot, port;
} mapping_args;

static bool enc_mapping(far_xdr_enc *e, const void *v)
{
    const mapping_args *m = v;
    return far_xdr_put_u32(e, m->prog) && far_xdr_put_u32(e, m->vers) &&
           far_xdr_put_u32(e, m->prot) && far_xdr_put_u32(e, m->port);
}

typedef struct name_args {
    const char *name;
    uint32_t prog;
    const char *owner;
} name_args;

static bool enc_name(far_xdr_enc *e, const void *v)
{
    const name_args *n = v;
    return far_xdr_put_string(e, n->name, FAR_BIND_MAX_NAME) && far_xdr_put_u32(e, n->prog) &&
           far_xdr_put_string(e, n->owner, MAX_STR);
}

static bool enc_cstring(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_string(e, *(const char *const *)v, FAR_BIND_MAX_NAME);
}

static bool dec_bool(far_xdr_dec *d, void *v)
{
    return far_xdr_get_bool(d, v);
}

static bool dec_u32(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, v);
}

typedef struct strbuf {
    char s[MAX_STR + 1];
} strbuf;

static bool dec_strbuf(far_xdr_dec *d, void *v)
{
    strbuf *b = v;
    const char *s;
    uint32_t n;
    if (!far_xdr_get_string_ref(d, &s, &n, MAX_STR))
        return false;
    memcpy(b->s, s, n);
    b->s[n] = 0;
    if (strlen(b->s) != n)
        return far_xdr_dec_fail(d, FAR_EBADVALUE, "string contains a NUL byte");
    return true;
}

/* ------------------------------------------------------------ addresses */

static bool netid_ok(const char *n)
{
    static const char *const ok[] = {"tcp", "udp", "tcp6", "udp6", "local", "unix"};
    for (size_t i = 0; i < FAR__ARRAY_LEN(ok); i++)
        if (strcmp(n, ok[i]) == 0)
            return true;
    return false;
}

FAR__API far_err far_bind_addr_to_uaddr(const char *addr, char *netid, size_t netid_len,
                                        char *uaddr, size_t uaddr_len)
{
    if (!addr || !netid || !uaddr)
        return FAR_EMISUSE;
    far__addr a;
    char why[256];
    far_err rc = far__addr_parse(addr, &a, why, sizeof why);
    if (rc != FAR_OK) {
        far__set_last_error("%s", why);
        return rc;
    }
    char ip[INET6_ADDRSTRLEN];
    int n;
    if (a.t == FAR__UNIX) {
        snprintf(netid, netid_len, "local");
        n = snprintf(uaddr, uaddr_len, "%s", ((struct sockaddr_un *)&a.ss)->sun_path);
    } else if (a.ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&a.ss;
        unsigned port = ntohs(in->sin_port);
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(netid, netid_len, "%s", a.t == FAR__UDP ? "udp" : "tcp");
        n = snprintf(uaddr, uaddr_len, "%s.%u.%u", ip, port >> 8, port & 255);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a.ss;
        unsigned port = ntohs(in6->sin6_port);
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(netid, netid_len, "%s", a.t == FAR__UDP ? "udp6" : "tcp6");
        n = snprintf(uaddr, uaddr_len, "%s.%u.%u", ip, port >> 8, port & 255);
    }
    return n < 0 || (size_t)n >= uaddr_len ? FAR_ELIMIT : FAR_OK;
}

static bool parse_byte(const char *s, size_t n, unsigned *out)
{
    if (n == 0 || n > 3)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return v <= 255;
}

FAR__API far_err far_bind_uaddr_to_addr(const char *netid, const char *uaddr, char *addr,
                                        size_t addr_len)
{
    if (!netid || !uaddr || !addr || !addr_len)
        return FAR_EMISUSE;
    size_t ul = strnlen(uaddr, MAX_STR + 1);
    if (!netid_ok(netid) || ul == 0 || ul > MAX_STR)
        goto bad;
    if (strcmp(netid, "local") == 0 || strcmp(netid, "unix") == 0) {
        if (uaddr[0] != '/' || ul >= sizeof(((struct sockaddr_un *)0)->sun_path))
            goto bad;
        for (size_t i = 0; i < ul; i++)
            if (!isprint((unsigned char)uaddr[i]) || uaddr[i] == ',')
                goto bad;
        if ((size_t)snprintf(addr, addr_len, "unix:%s", uaddr) >= addr_len)
            return FAR_ELIMIT;
        return FAR_OK;
    }
    /* host.p1.p2: the last two dot-separated fields are the port's bytes */
    const char *d2 = strrchr(uaddr, '.');
    if (!d2 || d2 == uaddr)
        goto bad;
    const char *d1 = d2 - 1;
    while (d1 > uaddr && *d1 != '.')
        d1--;
    if (d1 == uaddr)
        goto bad;
    unsigned hi, lo;
    if (!parse_byte(d1 + 1, (size_t)(d2 - d1 - 1), &hi) || !parse_byte(d2 + 1, strlen(d2 + 1), &lo))
        goto bad;
    char host[INET6_ADDRSTRLEN];
    size_t hl = (size_t)(d1 - uaddr);
    if (hl >= sizeof host)
        goto bad;
    memcpy(host, uaddr, hl);
    host[hl] = 0;
    bool six = netid[3] == '6';
    unsigned char bin[16];
    if (inet_pton(six ? AF_INET6 : AF_INET, host, bin) != 1)
        goto bad;
    /* Written back in canonical form, never as the binder spelled it. */
    if (!inet_ntop(six ? AF_INET6 : AF_INET, bin, host, sizeof host))
        goto bad;
    const char *scheme = netid[0] == 't' ? "tcp" : "udp";
    int n = six ? snprintf(addr, addr_len, "%s://[%s]:%u", scheme, host, hi * 256 + lo)
                : snprintf(addr, addr_len, "%s://%s:%u", scheme, host, hi * 256 + lo);
    return n < 0 || (size_t)n >= addr_len ? FAR_ELIMIT : FAR_OK;
bad:
    far__set_last_error("binder sent a malformed address for netid %.8s", netid);
    return FAR_EADDR;
}

FAR__API bool far_bind_is_dynamic(const char *s)
{
    return s && strncmp(s, "tcp://", 6) != 0 && strncmp(s, "udp://", 6) != 0 &&
           strncmp(s, "unix:", 5) != 0 && strchr(s, '/') != NULL;
}

/* ------------------------------------------------------------ finding the binder */

static bool is_local(const char *where)
{
    return !where || !*where || strcmp(where, "localhost") == 0 ||
           strcmp(where, "127.0.0.1") == 0 || strcmp(where, "::1") == 0 ||
           strcmp(where, "[::1]") == 0;
}

/* Fills cand[] with the binder addresses to try for `where`. */
static far_err candidates(const char *where, char cand[][FAR_BIND_MAX_ADDR], size_t max, size_t *n)
{
    *n = 0;
    if (where && (strncmp(where, "tcp://", 6) == 0 || strncmp(where, "udp://", 6) == 0 ||
                  strncmp(where, "unix:", 5) == 0)) {
        snprintf(cand[(*n)++], FAR_BIND_MAX_ADDR, "%s", where);
        return FAR_OK;
    }
    if (!is_local(where)) {
        bool v6 = strchr(where, ':') && where[0] != '[';
        const char *fmt = v6 ? "%s://[%s]:%d" : "%s://%s:%d";
        snprintf(cand[(*n)++], FAR_BIND_MAX_ADDR, fmt, "tcp", where, FAR_BIND_PORT);
        snprintf(cand[(*n)++], FAR_BIND_MAX_ADDR, fmt, "udp", where, FAR_BIND_PORT);
        return FAR_OK;
    }
    const char *env = getenv("FARCALL_BINDER");
    if (env && *env) {
        if (strcmp(env, "none") == 0) {
            far__set_last_error("binding is turned off (FARCALL_BINDER=none)");
            return FAR_EADDR;
        }
        const char *p = env;
        while (*p && *n < max) {
            size_t l = strcspn(p, ",");
            if (l > 0 && l < FAR_BIND_MAX_ADDR) {
                memcpy(cand[*n], p, l);
                cand[(*n)++][l] = 0;
            }
            p += l;
            if (*p == ',')
                p++;
        }
        return FAR_OK;
    }
    snprintf(cand[(*n)++], FAR_BIND_MAX_ADDR, "unix:%s", FAR_BIND_SYSTEM_UNIX);
    snprintf(cand[(*n)++], FAR_BIND_MAX_ADDR, "tcp://127.0.0.1:%d", FAR_BIND_PORT);
    snprintf(cand[(*n)++], FAR_BIND_MAX_ADDR, "unix:%s", FAR_BIND_DEFAULT_UNIX);
    snprintf(cand[(*n)++], FAR_BIND_MAX_ADDR, "tcp://127.0.0.1:%d", FAR_BIND_DEFAULT_PORT);
    return FAR_OK;
}

FAR__API far_err far_bind_open(far_client **out, const char *where, char *used, size_t used_len)
{
    if (!out)
        return FAR_EMISUSE;
    *out = NULL;
    char cand[8][FAR_BIND_MAX_ADDR];
    size_t n;
    far_err rc = candidates(where, cand, FAR__ARRAY_LEN(cand), &n);
    if (rc != FAR_OK)
        return rc;
    far_client_opts o = {.timeout_ms = BIND_TIMEOUT_MS, .retry_ms = 250};
    for (size_t i = 0; i < n; i++) {
        far_client *c;
        if (far_client_open(&c, cand[i], &o) != FAR_OK)
            continue;
        /* Procedure 0 of version 2: every binder, old or new, answers it. */
        if (far_client_call(c, FAR_BIND_PROG, PMAPVERS, 0, NULL, NULL, NULL, NULL, NULL, NULL) !=
            FAR_OK) {
            far_client_destroy(c);
            continue;
        }
        if (used && used_len)
            snprintf(used, used_len, "%s", cand[i]);
        *out = c;
        return FAR_OK;
    }
    char tried[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof tried; i++) {
        int w = snprintf(tried + off, sizeof tried - off, "%s%s", i ? ", " : "", cand[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    far__set_last_error("no binder (tried %s)", tried);
    return FAR_ECONNREFUSED;
}

/* ------------------------------------------------------------ registration */

static far_err call(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                    far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec, void *res)
{
    far_call_opts o = {.timeout_ms = BIND_TIMEOUT_MS};
    return far_client_call(c, prog, vers, proc, enc, args, dec, res, NULL, &o);
}

static bool version_missing(far_err rc)
{
    return rc == FAR_EPROG_MISMATCH || rc == FAR_EPROG_UNAVAIL || rc == FAR_EPROC_UNAVAIL;
}

static void owner_of_self(char *buf, size_t n)
{
    uid_t u = geteuid();
    if (u == 0)
        snprintf(buf, n, "superuser");
    else
        snprintf(buf, n, "%u", (unsigned)u);
}

/* PMAP v2 only knows IPv4 TCP and UDP. */
static bool pmap_form(const char *netid, const char *uaddr, uint32_t *prot, uint32_t *port)
{
    char addr[FAR_BIND_MAX_ADDR];
    if (strcmp(netid, "tcp") != 0 && strcmp(netid, "udp") != 0)
        return false;
    *prot = netid[0] == 't' ? 6 : 17;
    if (!uaddr)
        return true;
    if (far_bind_uaddr_to_addr(netid, uaddr, addr, sizeof addr) != FAR_OK)
        return false;
    *port = (uint32_t)strtoul(strrchr(addr, ':') + 1, NULL, 10);
    return true;
}

/* SET or UNSET one (prog, vers, netid) at the binder c: v4, v3, then v2. */
static far_err set_unset(far_client *c, uint32_t proc, uint32_t prog, uint32_t vers,
                         const char *netid, const char *uaddr, bool *ok)
{
    char owner[32];
    owner_of_self(owner, sizeof owner);
    rpcb_args a = {prog, vers, netid, uaddr ? uaddr : "", owner};
    far_err rc = call(c, FAR_BIND_PROG, RPCBVERS4, proc, enc_rpcb, &a, dec_bool, ok);
    if (version_missing(rc))
        rc = call(c, FAR_BIND_PROG, RPCBVERS, proc, enc_rpcb, &a, dec_bool, ok);
    if (version_missing(rc)) {
        mapping_args m = {prog, vers, 0, 0};
        if (!pmap_form(netid, uaddr, &m.prot, &m.port))
            return rc;
        rc = call(c, FAR_BIND_PROG, PMAPVERS, proc, enc_mapping, &m, dec_bool, ok);
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

/* ------------------------------------------------------------ lookup */

/* A wildcard address (0.0.0.0, ::) means "every interface": the caller can
 * reach it where it reached the binder. */
static void fix_wildcard(char *addr, size_t n, const char *where)
{
    const char *h = NULL;
    char host[300];
    if (strstr(addr, "://0.0.0.0:"))
        h = "0.0.0.0";
    else if (strstr(addr, "://[::]:"))
        h = "[::]";
    if (!h)
        return;
    if (is_local(where) || strncmp(where, "unix:", 5) == 0)
        snprintf(host, sizeof host, "%s", h[0] == '[' ? "[::1]" : "127.0.0.1");
    else if (strncmp(where, "tcp://", 6) == 0 || strncmp(where, "udp://", 6) == 0) {
        const char *s = where + 6, *colon = strrchr(s, ':');
        snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
    } else if (strchr(where, ':') && where[0] != '[')
        snprintf(host, sizeof host, "[%s]", where);
    else
        snprintf(host, sizeof host, "%s", where);
    char *at = strstr(addr, h), *port = at + strlen(h);
    char out[FAR_BIND_MAX_ADDR + 300];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - addr), addr, host, port);
    snprintf(addr, n, "%s", out);
}

static far_err lookup_one(far_client *c, uint32_t prog, uint32_t vers, const char *netid,
                          char *addr, size_t addr_len, bool *found)
{
    *found = false;
    rpcb_args a = {prog, vers, netid, "", ""};
    strbuf r;
    far_err rc = call(c, FAR_BIND_PROG, RPCBVERS4, PROC_GETADDR, enc_rpcb, &a, dec_strbuf, &r);
    if (version_missing(rc))
        rc = call(c, FAR_BIND_PROG, RPCBVERS, PROC_GETADDR, enc_rpcb, &a, dec_strbuf, &r);
    if (rc == FAR_OK) {
        if (!r.s[0])
            return FAR_OK;
        if ((rc = far_bind_uaddr_to_addr(netid, r.s, addr, addr_len)) == FAR_OK)
            *found = true;
        return rc;
    }
    if (!version_missing(rc))
        return rc;
    mapping_args m = {prog, vers, 0, 0};
    if (!pmap_form(netid, NULL, &m.prot, &m.port))
        return FAR_OK;
    uint32_t port = 0;
    if ((rc = call(c, FAR_BIND_PROG, PMAPVERS, PROC_GETADDR, enc_mapping, &m, dec_u32, &port)) !=
        FAR_OK)
        return rc;
    if (port == 0 || port > 65535)
        return FAR_OK;
    snprintf(addr, addr_len, "%s://0.0.0.0:%" PRIu32, netid, port);
    *found = true;
    return FAR_OK;
}

/* rpcbind answers GETADDR with the address on the transport the question
 * came in on (it looks up its own netid, not r_netid), as libtirpc's
 * rpcb_getaddr expects.  The binder's address on `netid`, derived from the
 * one used: same host and port, that transport; "" if there is none. */
static void binder_on(const char *used, const char *netid, char *out, size_t n)
{
    out[0] = 0;
    bool six = strchr(netid, '6') != NULL;
    const char *scheme = netid[0] == 'u' ? "udp" : "tcp";
    if (strcmp(netid, "local") == 0)
        return;
    if (strcmp(used, "unix:" FAR_BIND_SYSTEM_UNIX) == 0) {
        snprintf(out, n, "%s://%s:%d", scheme, six ? "[::1]" : "127.0.0.1", FAR_BIND_PORT);
        return;
    }
    if (strncmp(used, "tcp://", 6) != 0 && strncmp(used, "udp://", 6) != 0)
        return;
    const char *host = used + 6, *colon = strrchr(host, ':');
    if (!colon)
        return;
    if (six && strncmp(host, "127.0.0.1:", 10) == 0)
        snprintf(out, n, "%s://[::1]%s", scheme, colon);
    else
        snprintf(out, n, "%s://%.*s", scheme, (int)(strlen(host)), host);
}

FAR__API far_err far_bind_lookup(const char *where, uint32_t prog, uint32_t vers, const char *netid,
                                 char *addr, size_t addr_len)
{
    if (!addr || !addr_len || (netid && !netid_ok(netid)))
        return FAR_EMISUSE;
    static const char *const order[] = {"tcp", "tcp6", "udp", "udp6", "local"};
    far_client *c;
    char used[FAR_BIND_MAX_ADDR];
    far_err rc = far_bind_open(&c, where, used, sizeof used);
    if (rc != FAR_OK)
        return rc;
    bool found = false;
    for (size_t i = 0; i < FAR__ARRAY_LEN(order) && !found; i++) {
        const char *id = netid ? netid : order[i];
        char alt[FAR_BIND_MAX_ADDR];
        far_client *ac = NULL;
        binder_on(used, id, alt, sizeof alt);
        if (alt[0] && strcmp(alt, used) != 0) {
            /* ask over the transport the answer is for (what rpcbind expects) */
            rc = far_bind_open(&ac, alt, NULL, 0);
            if (rc == FAR_OK)
                rc = lookup_one(ac, prog, vers, id, addr, addr_len, &found);
            else /* none there: farbind answers for any netid on any transport */
                rc = lookup_one(c, prog, vers, id, addr, addr_len, &found);
            if (rc == FAR_EADDR && !netid)
                rc = FAR_OK; /* a classic rpcbind's answer for another transport */
            far_client_destroy(ac);
        } else {
            rc = lookup_one(c, prog, vers, id, addr, addr_len, &found);
        }
        if (rc != FAR_OK || netid)
            break;
    }
    far_client_destroy(c);
    if (rc != FAR_OK)
        return rc;
    if (!found) {
        far__set_last_error("program %" PRIu32 " version %" PRIu32 "%s%s: not registered at %s",
                            prog, vers, netid ? " on " : "", netid ? netid : "", used);
        return FAR_EPROG_UNAVAIL;
    }
    /* A binder reached over the network says where it is; use that. */
    fix_wildcard(addr, addr_len, is_local(where) ? NULL : (where ? where : used));
    return FAR_OK;
}

/* ------------------------------------------------------------ names */

static bool name_ok(const char *s)
{
    size_t n = strnlen(s, FAR_BIND_MAX_NAME + 1);
    if (n == 0 || n > FAR_BIND_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

FAR__API far_err far_bind_program_name(uint32_t prog, char *name, size_t n)
{
    if (!name || !n)
        return FAR_EMISUSE;
    name[0] = 0;
    FILE *f = fopen("/etc/rpc", "re");
    if (!f)
        return FAR_EPROG_UNAVAIL;
    char line[512];
    far_err rc = FAR_EPROG_UNAVAIL;
    while (fgets(line, sizeof line, f)) {
        char nm[128];
        unsigned long num;
        if (line[0] == '#' || sscanf(line, "%127s %lu", nm, &num) != 2)
            continue;
        if (num == prog) {
            snprintf(name, n, "%s", nm);
            rc = FAR_OK;
            break;
        }
    }
    fclose(f);
    return rc;
}

static far_err etc_rpc_number(const char *want, uint32_t *prog)
{
    FILE *f = fopen("/etc/rpc", "re");
    if (!f)
        return FAR_EPROG_UNAVAIL;
    char line[512];
    far_err rc = FAR_EPROG_UNAVAIL;
    while (rc != FAR_OK && fgets(line, sizeof line, f)) {
        char *save = NULL, *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *nm = strtok_r(line, " \t\n", &save);
        char *num = nm ? strtok_r(NULL, " \t\n", &save) : NULL;
        if (!num)
            continue;
        for (char *alias = nm; alias; alias = strtok_r(NULL, " \t\n", &save)) {
            if (alias != num && strcmp(alias, want) == 0) {
                *prog = (uint32_t)strtoul(num, NULL, 10);
                rc = FAR_OK;
                break;
            }
        }
    }
    fclose(f);
    return rc;
}

FAR__API far_err far_bind_program(const char *s, const char *where, uint32_t *prog)
{
    if (!s || !prog)
        return FAR_EMISUSE;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*s && isdigit((unsigned char)*s)) {
        if (*end || errno || v > UINT32_MAX) {
            far__set_last_error("%.64s: not a program number", s);
            return FAR_EADDR;
        }
        *prog = (uint32_t)v;
        return FAR_OK;
    }
    if (!name_ok(s)) {
        far__set_last_error("%.64s: not a program name", s);
        return FAR_EADDR;
    }
    if (etc_rpc_number(s, prog) == FAR_OK)
        return FAR_OK;
    far_err rc = far_bind_name_lookup(where, s, prog);
    if (rc == FAR_EPROG_UNAVAIL)
        far__set_last_error("%s: unknown program name (not in /etc/rpc, not registered)", s);
    return rc == FAR_EPROG_UNAVAIL ? FAR_EADDR : rc;
}

static far_err names_call(const char *where, uint32_t proc, far_xdr_encode_fn enc, const void *args,
                          far_xdr_decode_fn dec, void *res)
{
    far_client *c;
    far_err rc = far_bind_open(&c, where, NULL, 0);
    if (rc != FAR_OK)
        return rc;
    rc = call(c, FAR_BIND_NAMES_PROG, NAMES_VERS, proc, enc, args, dec, res);
    far_client_destroy(c);
    if (rc == FAR_EPROG_UNAVAIL || rc == FAR_EPROG_MISMATCH)
        far__set_last_error("the binder keeps no names (not farbind)");
    return rc == FAR_EPROG_MISMATCH ? FAR_EPROG_UNAVAIL : rc;
}

FAR__API far_err far_bind_name_set(const char *name, uint32_t prog)
{
    if (!name || !name_ok(name))
        return FAR_EMISUSE;
    char owner[32];
    owner_of_self(owner, sizeof owner);
    name_args a = {name, prog, owner};
    bool ok = false;
    far_err rc = names_call(NULL, NAMES_SET, enc_name, &a, dec_bool, &ok);
    if (rc == FAR_OK && !ok) {
        far__set_last_error("name %s: held by another owner (or caller not local)", name);
        return FAR_EAUTH;
    }
    return rc;
}

FAR__API far_err far_bind_name_unset(const char *name)
{
    if (!name || !name_ok(name))
        return FAR_EMISUSE;
    bool ok = false;
    far_err rc = names_call(NULL, NAMES_UNSET, enc_cstring, &name, dec_bool, &ok);
    if (rc == FAR_OK && !ok) {
        uint32_t prog;
        if (far_bind_name_lookup(NULL, name, &prog) == FAR_OK) {
            far__set_last_error("name %s: owned by someone else", name);
            return FAR_EAUTH;
        }
        far__set_last_error("name %s: not registered", name);
        return FAR_EPROG_UNAVAIL;
    }
    return rc;
}

FAR__API far_err far_bind_name_lookup(const char *where, const char *name, uint32_t *prog)
{
    if (!name || !prog || !name_ok(name))
        return FAR_EMISUSE;
    uint32_t v = 0;
    far_err rc = names_call(where, NAMES_LOOKUP, enc_cstring, &name, dec_u32, &v);
    if (rc != FAR_OK)
        return rc;
    if (v == 0) {
        far__set_last_error("name %s: not registered", name);
        return FAR_EPROG_UNAVAIL;
    }
    *prog = v;
    return FAR_OK;
}

/* ------------------------------------------------------------ dynamic addresses */

FAR__API far_err far_bind_resolve(const char *spec, char *addr, size_t addr_len)
{
    if (!spec || !addr || !addr_len)
        return FAR_EMISUSE;
    char buf[FAR_BIND_MAX_ADDR + 64];
    if (!far_bind_is_dynamic(spec) || strlen(spec) >= sizeof buf) {
        far__set_last_error("%.64s: not PROG/VERS[/NETID][@HOST]", spec);
        return FAR_EADDR;
    }
    snprintf(buf, sizeof buf, "%s", spec);
    const char *where = NULL;
    char *at = strchr(buf, '@');
    if (at) {
        *at = 0;
        where = at + 1;
    }
    char *save = NULL;
    char *p = strtok_r(buf, "/", &save);
    char *v = p ? strtok_r(NULL, "/", &save) : NULL;
    char *netid = v ? strtok_r(NULL, "/", &save) : NULL;
    char *end;
    unsigned long vers = v ? strtoul(v, &end, 10) : 0;
    if (!p || !v || *end || !isdigit((unsigned char)*v) || vers > UINT32_MAX ||
        strtok_r(NULL, "/", &save) || (netid && !netid_ok(netid))) {
        far__set_last_error("%.64s: not PROG/VERS[/NETID][@HOST]", spec);
        return FAR_EADDR;
    }
    uint32_t prog;
    far_err rc = far_bind_program(p, where, &prog);
    if (rc != FAR_OK)
        return rc;
    if (netid && strcmp(netid, "unix") == 0)
        netid = "local";
    return far_bind_lookup(where, prog, (uint32_t)vers, netid, addr, addr_len);
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
