/* Addresses and universal addresses (RFC 1833): a farcall address string to
 * the netid and uaddr a binder keeps, and, strictly checked, a binder's netid
 * and uaddr back to an address string. */
#include "bind/bind.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>

bool far__bind_netid_ok(const char *n)
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
    if (!far__bind_netid_ok(netid) || ul == 0 || ul > MAX_STR)
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
