/* far get / far put: files to and from a fileserver (examples/fileserver,
 * fileserver.x) by bulk transfer (farcall/bulk.h), with a progress bar on a
 * terminal (bytes, rate, time left) and nothing but errors otherwise.
 *
 *   far get [-t MS] [-r N] SERVER:PATH [LOCAL]
 *   far put [-t MS] [-r N] LOCAL SERVER:PATH
 *
 * SERVER is an address (tcp://HOST:PORT, unix:/path/to/socket) or a host
 * name, where the fileserver program is looked up at the binder.  A transfer
 * cut by a lost connection is resumed, up to N times (default 3): only the
 * rest is sent again. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <farcall/bulk.h>
#include <farcall/rpc.h>

#include "fileserver.h"
#include "dyn.h"

typedef struct bar {
    bool tty;
    const char *name;
    double t0, last;
} bar;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(double v, char *buf, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void show(bar *b, uint64_t done, uint64_t total, bool final)
{
    double t = now_s();
    if (!b->tty || (!final && t - b->last < 0.1))
        return;
    b->last = t;
    double el = t - b->t0;
    double rate = el > 0 ? (double)done / el : 0;
    char d[32], tot[32], r[32], left[32] = "";
    human((double)done, d, sizeof d);
    human((double)total, tot, sizeof tot);
    human(rate, r, sizeof r);
    if (!final && rate > 0 && total > done) {
        unsigned s = (unsigned)((double)(total - done) / rate);
        snprintf(left, sizeof left, " %u:%02u left", s / 60, s % 60);
    } else if (final) {
        snprintf(left, sizeof left, " in %.1f s", el);
    }
    int pct = total ? (int)(done * 100 / total) : 100;
    int w = 24, fill = pct * w / 100;
    char bars[32];
    for (int i = 0; i < w; i++)
        bars[i] = i < fill ? '#' : '.';
    bars[w] = '\0';
    fprintf(stderr, "\r%-20.20s [%s] %3d%% %10s / %-10s %10s/s%-14s", b->name, bars, pct, d, tot, r,
            left);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static void on_progress(uint64_t done, uint64_t total, void *user)
{
    show(user, done, total, false);
}

/* SERVER:PATH into the server's address and the path. */
static bool split(const char *arg, char *addr, size_t an, const char **path)
{
    const char *p = NULL;
    if (!strncmp(arg, "tcp://", 6)) {
        const char *h = arg + 6;
        if (*h == '[')
            h = strchr(h, ']');
        const char *port = h ? strchr(h, ':') : NULL;
        p = port ? strchr(port + 1, ':') : NULL;
    } else if (!strncmp(arg, "unix:", 5)) {
        p = strchr(arg + 5, ':');
    } else {
        p = strchr(arg, ':');
    }
    if (!p || p == arg || !p[1])
        return false;
    size_t n = (size_t)(p - arg);
    if (!strncmp(arg, "tcp://", 6) || !strncmp(arg, "unix:", 5))
        snprintf(addr, an, "%.*s", (int)n, arg);
    else /* a host: the program at its binder */
        snprintf(addr, an, "%u/%u@%.*s", (unsigned)FILESERVER_PROG, (unsigned)FILESERVER_V1, (int)n,
                 arg);
    *path = p + 1;
    return true;
}

static int usage(bool get)
{
    fprintf(stderr, get ? "usage: far get [-t MS] [-r N] SERVER:PATH [LOCAL]\n"
                        : "usage: far put [-t MS] [-r N] LOCAL SERVER:PATH\n");
    return 2;
}

static int transfer(int argc, char **argv, bool get)
{
    uint32_t timeout = 0;
    int retries = 3, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc)
            timeout = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            retries = atoi(argv[++i]);
        else
            return usage(get);
    }
    int npos = argc - i;
    if (get ? (npos < 1 || npos > 2) : npos != 2)
        return usage(get);
    const char *remote = get ? argv[i] : argv[i + 1];
    char addr[300];
    const char *rpath;
    if (!split(remote, addr, sizeof addr, &rpath)) {
        fprintf(stderr, "far: %s: not SERVER:PATH\n", remote);
        return 2;
    }
    const char *local = get ? (npos == 2 ? argv[i + 1] : NULL) : argv[i];
    if (get && !local) {
        const char *s = strrchr(rpath, '/');
        local = s ? s + 1 : rpath;
    }
    far_client *c;
    far_client_opts co = {.timeout_ms = 10000};
    far_err rc = far_client_open(&c, addr, &co);
    if (rc != FAR_OK) {
        fprintf(stderr, "far: %s: %s%s\n", addr, far_last_error(),
                rc == FAR_ECONNREFUSED ? " (is the fileserver running?)" : "");
        return 1;
    }
    bar b = {.tty = isatty(2) == 1, .name = get ? rpath : local};
    b.t0 = now_s();
    far_bulk_spec sp = {
        .kind = FAR_BULK_PATH, .path = local, .on_progress = on_progress, .user = &b};
    fs_res res;
    far_status st;
    int out = 1;
    for (int attempt = 0; attempt <= retries; attempt++) {
        memset(&res, 0, sizeof res);
        far_call_opts o = {.timeout_ms = timeout, .status = &st, .bulk = &sp};
        fs_path fp = (char *)rpath;
        rc = get ? fs_get_1(c, &fp, &res, NULL, &o) : fs_put_1(c, &fp, &res, NULL, &o);
        bool cut = rc == FAR_ECONNLOST || rc == FAR_EPEER_DEAD ||
                   (rc == FAR_OK && res.stat == FS_BULK && sp.err != FAR_OK);
        if (rc == FAR_OK && res.stat == FS_OK && sp.err == FAR_OK) {
            show(&b, sp.size, sp.size, true);
            out = 0;
            break;
        }
        if (cut && attempt < retries) {
            if (b.tty)
                fprintf(stderr, "\nfar: connection lost after %" PRIu64 " bytes: %s\n", sp.done,
                        sp.done ? "resuming" : "trying again");
            fs_res_free(&res);
            continue;
        }
        if (b.tty)
            fputc('\n', stderr);
        if (rc != FAR_OK)
            fprintf(stderr, "far: %s %s: %s\n", get ? "get" : "put", remote, st.msg);
        else
            fprintf(stderr, "far: %s %s: %s\n", get ? "get" : "put", remote,
                    res.why && res.why[0] ? res.why : "refused");
        break;
    }
    fs_res_free(&res);
    if (out != 0 && get)
        far_bulk_spec_reset(&sp); /* no partial file left behind */
    far_client_destroy(c);
    return out;
}

int far__cmd_get(int argc, char **argv)
{
    return transfer(argc, argv, true);
}

int far__cmd_put(int argc, char **argv)
{
    return transfer(argc, argv, false);
}
