/* far info etcd:CLUSTER and far publish: the subcommands of far on cluster
 * naming (farcall/cluster.h).  The etcd members are $FARCALL_ETCD, or
 * --etcd ENDPOINTS. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "farcall/cluster.h"
#include "farcall/farcall.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Bounded, printable: nothing etcd holds is printed as is. */
static void clean(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n && i < 64; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = 0;
}

int far__cmd_info_etcd(const char *cluster, bool hex)
{
    far_cluster_entry *v;
    size_t n;
    far_err rc = far_cluster_list(NULL, cluster && *cluster ? cluster : NULL, &v, &n);
    if (rc != FAR_OK) {
        fprintf(stderr, "far: etcd: %s\n", far_last_error());
        return 1;
    }
    printf("cluster %s (etcd %s): %zu registration%s\n", cluster && *cluster ? cluster : "default",
           getenv("FARCALL_ETCD") ? getenv("FARCALL_ETCD") : "http://127.0.0.1:2379", n,
           n == 1 ? "" : "s");
    printf("   program vers netid  address                          service      owner\n");
    for (size_t i = 0; i < n; i++) {
        char p[16], addr[80], name[80], owner[80];
        snprintf(p, sizeof p, hex ? "0x%08x" : "%u", (unsigned)v[i].prog);
        clean(v[i].addr, addr, sizeof addr);
        clean(v[i].name, name, sizeof name);
        clean(v[i].owner, owner, sizeof owner);
        printf("%10s %4u %-6s %-32s %-12s %s\n", p, (unsigned)v[i].vers, v[i].netid, addr,
               name[0] ? name : "-", owner);
    }
    free(v);
    return 0;
}

int far__cmd_publish(int argc, char **argv)
{
    const char *cluster = NULL, *eps = NULL;
    uint32_t ttl = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--cluster") == 0 && i + 1 < argc)
            cluster = argv[++i];
        else if (strcmp(argv[i], "--etcd") == 0 && i + 1 < argc)
            eps = argv[++i];
        else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
            ttl = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            i = argc + 1;
            break;
        }
    }
    if (i >= argc || (argc - i) % 2) {
        fprintf(stderr, "usage: far publish [--etcd ENDPOINTS] [--cluster NAME] [--ttl SECONDS] "
                        "PROG/VERS ADDR [PROG/VERS ADDR ...]\n");
        return 2;
    }
    far_publisher *p;
    if (far_publisher_create(&p, eps, cluster, ttl) != FAR_OK) {
        fprintf(stderr, "far publish: %s\n", far_last_error());
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    for (; i + 1 < argc; i += 2) {
        char *slash = strchr(argv[i], '/');
        uint32_t prog;
        if (!slash) {
            fprintf(stderr, "far publish: %s: not PROG/VERS\n", argv[i]);
            far_publisher_destroy(p);
            return 2;
        }
        *slash = 0;
        if (far_bind_program(argv[i], "unix:/nonexistent", &prog) != FAR_OK) {
            fprintf(stderr, "far publish: %s: %s\n", argv[i], far_last_error());
            far_publisher_destroy(p);
            return 2;
        }
        uint32_t vers = (uint32_t)strtoul(slash + 1, NULL, 10);
        far_err rc = far_publisher_add(p, prog, vers, NULL, argv[i + 1], true);
        printf("%s %s/%u at %s\n", rc == FAR_OK ? "published" : "pending:", argv[i], (unsigned)vers,
               argv[i + 1]);
        if (rc != FAR_OK)
            fprintf(stderr, "far publish: %s\n", far_last_error());
    }
    fflush(stdout);
    while (!stop)
        pause();
    far_publisher_destroy(p);
    return 0;
}
