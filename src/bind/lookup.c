/* The binder client: finding and opening a binder, looking up where a
 * program version is served (GETADDR, or GETPORT of PMAP v2), and resolving
 * dynamic addresses ("PROG/VERS[/NETID][@HOST]"). */
#include "bind/bind.h"

#include <ctype.h>
#include <stdio.h>

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
    far__set_last_error("no binder answered (tried %s): is farbind or rpcbind running?", tried);
    return FAR_ENOBINDER;
}

/* ------------------------------------------------------------ lookup */

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
    far_err rc = far__bind_call(c, FAR_BIND_PROG, RPCBVERS4, PROC_GETADDR, far__bind_enc_rpcb, &a,
                                dec_strbuf, &r);
    if (far__bind_version_missing(rc))
        rc = far__bind_call(c, FAR_BIND_PROG, RPCBVERS, PROC_GETADDR, far__bind_enc_rpcb, &a,
                            dec_strbuf, &r);
    if (rc == FAR_OK) {
        if (!r.s[0])
            return FAR_OK;
        if ((rc = far_bind_uaddr_to_addr(netid, r.s, addr, addr_len)) == FAR_OK)
            *found = true;
        return rc;
    }
    if (!far__bind_version_missing(rc))
        return rc;
    mapping_args m = {prog, vers, 0, 0};
    if (!far__bind_pmap_form(netid, NULL, &m.prot, &m.port))
        return FAR_OK;
    uint32_t port = 0;
    if ((rc = far__bind_call(c, FAR_BIND_PROG, PMAPVERS, PROC_GETADDR, far__bind_enc_mapping, &m,
                             far__bind_dec_u32, &port)) != FAR_OK)
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
    if (!addr || !addr_len || (netid && !far__bind_netid_ok(netid)))
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
        far__set_last_error("program %" PRIu32 " version %" PRIu32 "%s%s: not registered with "
                            "the binder at %s (is the server running?)",
                            prog, vers, netid ? " on " : "", netid ? netid : "", used);
        return FAR_ENOTREG;
    }
    /* A binder reached over the network says where it is; use that. */
    fix_wildcard(addr, addr_len, is_local(where) ? NULL : (where ? where : used));
    return FAR_OK;
}

/* ------------------------------------------------------------ dynamic addresses */

FAR__API bool far_bind_is_dynamic(const char *s)
{
    return s && strncmp(s, "tcp://", 6) != 0 && strncmp(s, "udp://", 6) != 0 &&
           strncmp(s, "unix:", 5) != 0 && strchr(s, '/') != NULL;
}

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
        strtok_r(NULL, "/", &save) || (netid && !far__bind_netid_ok(netid))) {
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
