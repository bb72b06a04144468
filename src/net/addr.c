/* Address strings: tcp://HOST:PORT, udp://HOST:PORT, unix:/path. */
#include "net/net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>

static far_err bad(char *why, size_t n, const char *fmt, const char *s)
{
    if (why && n)
        snprintf(why, n, fmt, s);
    return FAR_EADDR;
}

far_err far__addr_parse(const char *s, far__addr *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return bad(why, why_len, "%s", "no address");
    if (strncmp(s, "unix:", 5) == 0) {
        const char *path = s + 5;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
        size_t pl = strlen(path);
        if (pl == 0 || pl >= sizeof un->sun_path)
            return bad(why, why_len, "%s: unix socket path empty or too long", s);
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, pl + 1);
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl + 1);
        out->t = FAR__UNIX;
        snprintf(out->text, sizeof out->text, "unix:%s", path);
        return FAR_OK;
    }
    const char *rest;
    if (strncmp(s, "tcp://", 6) == 0)
        out->t = FAR__TCP, rest = s + 6;
    else if (strncmp(s, "udp://", 6) == 0)
        out->t = FAR__UDP, rest = s + 6;
    else
        return bad(why, why_len, "%s: expected tcp://, udp:// or unix:", s);

    char host[256];
    const char *port;
    if (*rest == '[') {
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':' || (size_t)(close - rest - 1) >= sizeof host)
            return bad(why, why_len, "%s: bad [IPv6]:port", s);
        memcpy(host, rest + 1, (size_t)(close - rest - 1));
        host[close - rest - 1] = 0;
        port = close + 2;
    } else {
        const char *colon = strrchr(rest, ':');
        if (!colon || (size_t)(colon - rest) >= sizeof host || colon == rest)
            return bad(why, why_len, "%s: expected HOST:PORT", s);
        memcpy(host, rest, (size_t)(colon - rest));
        host[colon - rest] = 0;
        port = colon + 1;
    }
    char *end;
    unsigned long pn = strtoul(port, &end, 10);
    if (*port == 0 || *end != 0 || pn > 65535)
        return bad(why, why_len, "%s: bad port", s);

    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = out->t == FAR__UDP ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res) {
        if (why && why_len)
            snprintf(why, why_len, "%s: cannot resolve %s: %s", s, host, gai_strerror(rc));
        return FAR_EADDR;
    }
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(out->text, sizeof out->text, "%s", s);
    return FAR_OK;
}

void far__addr_format(far__transport t, const struct sockaddr *sa, socklen_t len, char *buf,
                      size_t n)
{
    const char *scheme = t == FAR__UDP ? "udp" : "tcp";
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(buf, n, "%s://%s:%u", scheme, ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(buf, n, "%s://[%s]:%u", scheme, ip, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (len > off && un->sun_path[0])
            snprintf(buf, n, "unix:%.*s", (int)(len - off), un->sun_path);
        else
            snprintf(buf, n, "unix:");
    } else {
        snprintf(buf, n, "?");
    }
}
