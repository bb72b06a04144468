/* far: farcall's command-line tool.  Subcommands come from one table
 * (wireguard-tools' src/wg.c shape); each is a function taking argc/argv.
 *
 *   far info [HOST]                       the binder's table (rpcinfo -p and -s)
 *   far ping HOST PROG VERS [tcp|udp|unix] procedure 0, with the round-trip time
 *
 * HOST is a host name or address literal (its binder on port 111), or a binder
 * address string (tcp://127.0.0.1:7111, unix:/tmp/farbind.sock); for the local
 * host the library's binder search applies (FARCALL_BINDER, then the system
 * rpcbind, then farbind's default address).  Nothing a server sends is printed
 * as is: strings are bounded and non-printable bytes are shown as '?'.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "farcall/farcall.h"
#include "rpcb_prot.h"

#define SHOW_MAX 64 /* longest server string printed */

static const char *prog_name = "far";

/* A bounded, printable copy of a string that came off the wire. */
static const char *clean(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    if (!s)
        s = "";
    for (; s[i] && i + 1 < n && i < SHOW_MAX; i++)
        buf[i] = isprint((unsigned char)s[i]) && s[i] != ' ' ? s[i] : '?';
    buf[i] = 0;
    if (s[i] && i + 4 < n) /* cut: say so */
        memcpy(buf + i, "...", 4);
    return buf;
}

static void service_name(uint32_t prog, char *buf, size_t n)
{
    if (far_bind_program_name(prog, buf, n) != FAR_OK)
        snprintf(buf, n, "-");
}

static int no_binder(const char *where)
{
    fprintf(stderr, "%s: no binder at %s (%s)\n", prog_name, where && *where ? where : "localhost",
            far_last_error());
    return 1;
}

/* ------------------------------------------------------------ far info */

typedef struct row {
    uint32_t prog, vers;
    char netid[16], addr[SHOW_MAX + 8], owner[SHOW_MAX + 8];
} row;

static int cmp_row(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->prog != y->prog)
        return x->prog < y->prog ? -1 : 1;
    if (x->vers != y->vers)
        return x->vers < y->vers ? -1 : 1;
    return strcmp(x->netid, y->netid);
}

static int cmd_info(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s info [HOST]\n", prog_name);
        return 2;
    }
    const char *where = argc == 2 ? argv[1] : NULL;
    far_client *c;
    char used[FAR_BIND_MAX_ADDR];
    if (far_bind_open(&c, where, used, sizeof used) != FAR_OK)
        return no_binder(where);
    far_arena arena;
    far_arena_init(&arena, NULL, 0, 8u << 20); /* a hostile binder gets 8 MiB, no more */
    row *rows = NULL;
    size_t n = 0, cap = 0;
    int status = 1;
    rpcblist_ptr list = NULL;
    far_err rc = rpcb4proc_dump_4(c, &list, &arena, NULL);
    if (rc == FAR_EPROG_MISMATCH || rc == FAR_EPROG_UNAVAIL)
        rc = rpcbproc_dump_3(c, &list, &arena, NULL);
    if (rc == FAR_OK) {
        for (rp__list *l = list; l; l = l->rpcb_next) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                row *nr = realloc(rows, cap * sizeof *nr);
                if (!nr)
                    goto out;
                rows = nr;
            }
            row *r = &rows[n++];
            r->prog = l->rpcb_map.r_prog;
            r->vers = l->rpcb_map.r_vers;
            clean(l->rpcb_map.r_netid, r->netid, sizeof r->netid);
            clean(l->rpcb_map.r_addr, r->addr, sizeof r->addr);
            clean(l->rpcb_map.r_owner, r->owner, sizeof r->owner);
        }
    } else if (rc == FAR_EPROG_MISMATCH || rc == FAR_EPROG_UNAVAIL) {
        pmaplist_ptr pl = NULL; /* a portmapper-only binder */
        if ((rc = pmapproc_dump_2(c, &pl, &arena, NULL)) != FAR_OK)
            goto fail;
        for (pmaplist *l = pl; l; l = l->next) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                row *nr = realloc(rows, cap * sizeof *nr);
                if (!nr)
                    goto out;
                rows = nr;
            }
            row *r = &rows[n++];
            r->prog = l->map.prog;
            r->vers = l->map.vers;
            snprintf(r->netid, sizeof r->netid, "%s", l->map.prot == 6 ? "tcp" : "udp");
            snprintf(r->addr, sizeof r->addr, "port %" PRIu32, l->map.port);
            snprintf(r->owner, sizeof r->owner, "-");
        }
    } else {
        goto fail;
    }
    if (n)
        qsort(rows, n, sizeof *rows, cmp_row);
    printf("binder %s: %zu registration%s\n", used, n, n == 1 ? "" : "s");
    printf("   program vers netid  address                          service      owner\n");
    for (size_t i = 0; i < n; i++) {
        char name[64];
        service_name(rows[i].prog, name, sizeof name);
        printf("%10" PRIu32 " %4" PRIu32 " %-6s %-32s %-12s %s\n", rows[i].prog, rows[i].vers,
               rows[i].netid, rows[i].addr, name, rows[i].owner);
    }
    /* rpcinfo -s: one line per program */
    printf("\n   program version(s)   netid(s)                   service      owner\n");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        char vers[64] = "", netids[128] = "";
        while (j < n && rows[j].prog == rows[i].prog) {
            char v[16];
            snprintf(v, sizeof v, "%" PRIu32, rows[j].vers);
            if (!strstr(vers, v) && strlen(vers) + strlen(v) + 2 < sizeof vers)
                snprintf(vers + strlen(vers), sizeof vers - strlen(vers), "%s%s", *vers ? "," : "",
                         v);
            if (!strstr(netids, rows[j].netid) &&
                strlen(netids) + strlen(rows[j].netid) + 2 < sizeof netids)
                snprintf(netids + strlen(netids), sizeof netids - strlen(netids), "%s%s",
                         *netids ? "," : "", rows[j].netid);
            j++;
        }
        char name[64];
        service_name(rows[i].prog, name, sizeof name);
        printf("%10" PRIu32 " %-12s %-26s %-12s %s\n", rows[i].prog, vers, netids, name,
               rows[i].owner);
        i = j;
    }
    /* farbind's names, if the binder keeps any */
    farbind_name_list_ptr names = NULL;
    if (farbind_name_dump_1(c, &names, &arena, NULL) == FAR_OK && names) {
        printf("\nnames:\n");
        for (farbind_name_list *l = names; l; l = l->next) {
            char nm[SHOW_MAX + 8], ow[SHOW_MAX + 8];
            printf("  %-20s %10" PRIu32 "  %s\n", clean(l->entry.name, nm, sizeof nm),
                   l->entry.prog, clean(l->entry.owner, ow, sizeof ow));
        }
    }
    status = 0;
    goto out;
fail:
    fprintf(stderr, "%s: binder %s: %s (%s)\n", prog_name, used, far_strerror(rc),
            far_last_error());
out:
    free(rows);
    far_arena_fini(&arena);
    far_client_destroy(c);
    return status;
}

/* ------------------------------------------------------------ far ping */

static int cmd_ping(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s ping HOST PROG VERS [tcp|udp|unix]\n", prog_name);
        return 2;
    }
    const char *where = argv[1];
    const char *netid = argc == 5 ? argv[4] : NULL;
    if (netid && strcmp(netid, "unix") == 0)
        netid = "local";
    if (netid && strcmp(netid, "tcp") && strcmp(netid, "udp") && strcmp(netid, "local") &&
        strcmp(netid, "tcp6") && strcmp(netid, "udp6")) {
        fprintf(stderr, "%s: transport must be tcp, udp or unix\n", prog_name);
        return 2;
    }
    uint32_t prog;
    far_err rc = far_bind_program(argv[2], where, &prog);
    if (rc == FAR_ECONNREFUSED)
        return no_binder(where);
    if (rc != FAR_OK) {
        fprintf(stderr, "%s: %s\n", prog_name, far_last_error());
        return 1;
    }
    char *end;
    unsigned long vers = strtoul(argv[3], &end, 10);
    if (!*argv[3] || *end || vers > UINT32_MAX) {
        fprintf(stderr, "%s: %s: not a version number\n", prog_name, argv[3]);
        return 2;
    }
    char addr[FAR_BIND_MAX_ADDR];
    rc = far_bind_lookup(where, prog, (uint32_t)vers, netid, addr, sizeof addr);
    if (rc == FAR_ECONNREFUSED)
        return no_binder(where);
    if (rc == FAR_EPROG_UNAVAIL) {
        fprintf(stderr, "%s: program %" PRIu32 " version %lu%s%s: not registered at %s\n",
                prog_name, prog, vers, netid ? " on " : "", netid ? netid : "",
                *where ? where : "localhost");
        return 1;
    }
    if (rc != FAR_OK) {
        fprintf(stderr, "%s: lookup failed: %s (%s)\n", prog_name, far_strerror(rc),
                far_last_error());
        return 1;
    }
    far_client_opts o = {.timeout_ms = 5000};
    far_client *c;
    if ((rc = far_client_open(&c, addr, &o)) != FAR_OK) {
        fprintf(stderr, "%s: %s: registered but not answering: %s\n", prog_name, addr,
                far_strerror(rc));
        return 1;
    }
    far_status st;
    far_call_opts co = {.status = &st};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = far_client_call(c, prog, (uint32_t)vers, 0, NULL, NULL, NULL, NULL, NULL, &co);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    far_client_destroy(c);
    if (rc == FAR_EPROG_MISMATCH) {
        char range[32]; /* "2–3", or "1" when the server has one version */
        if (st.low == st.high)
            snprintf(range, sizeof range, "%" PRIu32, st.low);
        else
            snprintf(range, sizeof range, "%" PRIu32 "\xe2\x80\x93%" PRIu32, st.low, st.high);
        fprintf(stderr, "%s: program %" PRIu32 " at %s: version mismatch (server has %s)\n",
                prog_name, prog, addr, range);
        return 1;
    }
    if (rc != FAR_OK) {
        fprintf(stderr, "%s: program %" PRIu32 " version %lu at %s: %s\n", prog_name, prog, vers,
                addr, far_strerror(rc));
        return 1;
    }
    double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("program %" PRIu32 " version %lu at %s: ready, rtt %.0f us\n", prog, vers, addr, us);
    return 0;
}

/* ------------------------------------------------------------ the table */

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} subcommands[] = {
    {"info", cmd_info, "prints the binder's table (like rpcinfo -p and -s)"},
    {"ping", cmd_ping, "calls procedure 0 of a registered program and prints the round trip"},
};

static void show_usage(FILE *f)
{
    fprintf(f, "Usage: %s <cmd> [<args>]\n\nAvailable subcommands:\n", prog_name);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %s: %s\n", subcommands[i].name, subcommands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        show_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name))
            return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: '%s' is not a subcommand\n", prog_name, argv[1]);
    show_usage(stderr);
    return 2;
}
