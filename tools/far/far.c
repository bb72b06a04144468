/* far: farcall's command-line tool.  Subcommands come from one table
 * (wireguard-tools' src/wg.c shape); each is a function taking argc/argv.
 *
 *   far info [-x] [HOST]                  the binder's table (rpcinfo -p and -s) and names
 *   far info [-x] etcd:CLUSTER            a cluster's registrations in etcd (cluster.c)
 *   far publish [--etcd EPS] [--cluster C] [--ttl S] PROG/VERS ADDR ...
 *                                         publishes servers that cannot publish themselves
 *   far ping [-t MS] [-c N] [-i MS] HOST PROG VERS [tcp|udp|unix]
 *                                         procedure 0, with the round-trip time
 *   far name set NAME PROG | unset NAME | get [-x] NAME [HOST] | list [-x] [HOST]
 *                                         farbind's names
 *   far describe [--x FILE.x] [--source] [--json] [--level LEVEL --key FILE
 *                [--identity NAME]] [-t MS] HOST PROG[.VERS]
 *                                         a program's interface, as .x text (dyn.c)
 *   far call [--x FILE.x] [--pretty] [--auth-sys] [-t MS] HOST PROG.VERS.PROC JSON|-
 *                                         a call with JSON arguments (dyn.c)
 *   far --help, far --version, far help [SUBCOMMAND], far SUBCOMMAND --help
 *
 * HOST is a host name or address literal (its binder on port 111), or a binder
 * address string (tcp://127.0.0.1:7111, unix:/tmp/farbind.sock); for the local
 * host the library's binder search applies (FARCALL_BINDER, then the system
 * rpcbind, then farbind's default address).  Nothing a server sends is printed
 * as is: strings are bounded and non-printable bytes are shown as '?'.
 * docs/man/far.1 is the manual; keep it in step with the usage texts below.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "dyn.h"
#include "sec.h"
#include "farcall/farcall.h"
#include "rpcb_prot.h"

#ifndef FAR_VERSION
#define FAR_VERSION "unknown" /* CMake passes the project's version */
#endif

#define SHOW_MAX 64 /* longest server string printed */
#define MAX_POS  8  /* positional arguments a subcommand takes, at most */

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

/* The binder's two answers that are not faults of its own. */
static bool is_no_binder(far_err rc)
{
    return rc == FAR_ENOBINDER;
}

static bool is_not_registered(far_err rc)
{
    return rc == FAR_ENOTREG;
}

static int no_binder(const char *where)
{
    fprintf(stderr, "%s: no binder at %s (%s)\n", prog_name, where && *where ? where : "localhost",
            far_last_error());
    return 1;
}

/* A program number as `far info` prints it: decimal, or hex with -x. */
static const char *prog_str(uint32_t prog, bool hex, char *buf, size_t n)
{
    snprintf(buf, n, hex ? "0x%08" PRIx32 : "%" PRIu32, prog);
    return buf;
}

/* ------------------------------------------------------------ options */

/* What a subcommand's command line holds once its options are taken out. */
typedef struct cmdline {
    bool hex;                                /* -x */
    uint32_t timeout_ms, count, interval_ms; /* -t, -c, -i */
    far_tool_sec sec;                        /* --level, --key, --identity ('S' in opts) */
    const char *pos[MAX_POS];
    int npos;
} cmdline;

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || !isdigit((unsigned char)*s) || *end || errno || v < lo || v > hi)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Splits argv[1..argc) into the options named in `opts` ("x", "t:c:i:") and
 * positional arguments; options may come anywhere, "--" ends them.  Prints
 * the problem and returns false on an unknown option or a bad value. */
static bool parse_cmdline(int argc, char **argv, const char *opts, cmdline *cl)
{
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || !a[1]) {
            if (cl->npos == MAX_POS) {
                fprintf(stderr, "%s %s: too many arguments\n", prog_name, argv[0]);
                return false;
            }
            cl->pos[cl->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (a[1] == '-' && strchr(opts, 'S')) {
            int took = far__tool_sec_opt(argc, argv, &i, &cl->sec);
            if (took < 0)
                return false;
            if (took)
                continue;
        }
        const char *o = a[1] != '-' ? strchr(opts, a[1]) : NULL;
        if (!o || *o == ':') {
            fprintf(stderr, "%s %s: unknown option '%s'\n", prog_name, argv[0], a);
            return false;
        }
        if (o[1] != ':') { /* a flag */
            if (a[2]) {
                fprintf(stderr, "%s %s: unknown option '%s'\n", prog_name, argv[0], a);
                return false;
            }
            cl->hex = true; /* the only flag: -x */
            continue;
        }
        const char *v = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : NULL;
        uint32_t *dst = a[1] == 't' ? &cl->timeout_ms : a[1] == 'c' ? &cl->count : &cl->interval_ms;
        uint32_t lo = a[1] == 'i' ? 0 : 1;
        uint32_t hi = a[1] == 'c' ? 1000000 : 3600000;
        if (!v || !parse_u32(v, lo, hi, dst)) {
            fprintf(stderr, "%s %s: -%c takes a number from %" PRIu32 " to %" PRIu32 "\n",
                    prog_name, argv[0], a[1], lo, hi);
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ names */

/* The names the binder keeps (farbind's names program), or NULL with *rc:
 * FAR_EPROG_UNAVAIL for a binder that keeps none (a classic rpcbind). */
static farbind_name_list *dump_names(far_client *c, far_arena *arena, far_err *rc)
{
    farbind_name_list_ptr names = NULL;
    *rc = farbind_name_dump_1(c, &names, arena, NULL);
    if (*rc == FAR_EPROG_MISMATCH)
        *rc = FAR_EPROG_UNAVAIL;
    return *rc == FAR_OK ? names : NULL;
}

/* The service a program is: its name in /etc/rpc, else a name the binder
 * keeps for it, else "-". */
static const char *service_name(uint32_t prog, const farbind_name_list *names, char *buf, size_t n)
{
    if (far_bind_program_name(prog, buf, n) == FAR_OK)
        return buf;
    for (const farbind_name_list *l = names; l; l = l->next)
        if (l->entry.prog == prog)
            return clean(l->entry.name, buf, n);
    snprintf(buf, n, "-");
    return buf;
}

static void print_names(const farbind_name_list *names, bool hex)
{
    printf("      %-20s %10s  %-12s %s\n", "name", "program", "service", "owner");
    for (const farbind_name_list *l = names; l; l = l->next) {
        char nm[SHOW_MAX + 8], ow[SHOW_MAX + 8], p[16], svc[64];
        if (far_bind_program_name(l->entry.prog, svc, sizeof svc) != FAR_OK)
            snprintf(svc, sizeof svc, "-");
        printf("      %-20s %10s  %-12s %s\n", clean(l->entry.name, nm, sizeof nm),
               prog_str(l->entry.prog, hex, p, sizeof p), svc,
               clean(l->entry.owner, ow, sizeof ow));
    }
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

static row *add_row(row **rows, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        row *nr = realloc(*rows, nc * sizeof *nr);
        if (!nr)
            return NULL;
        *rows = nr;
        *cap = nc;
    }
    return &(*rows)[(*n)++];
}

static int cmd_info(int argc, char **argv)
{
    cmdline cl = {0};
    if (!parse_cmdline(argc, argv, "x", &cl) || cl.npos > 1) {
        fprintf(stderr, "usage: %s info [-x] [HOST]\n", prog_name);
        return 2;
    }
    const char *where = cl.npos ? cl.pos[0] : NULL;
    if (where && strncmp(where, "etcd:", 5) == 0)
        return far__cmd_info_etcd(where + 5, cl.hex);
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
            row *r = add_row(&rows, &n, &cap);
            if (!r)
                goto out;
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
            row *r = add_row(&rows, &n, &cap);
            if (!r)
                goto out;
            r->prog = l->map.prog;
            r->vers = l->map.vers;
            snprintf(r->netid, sizeof r->netid, "%s", l->map.prot == 6 ? "tcp" : "udp");
            snprintf(r->addr, sizeof r->addr, "port %" PRIu32, l->map.port);
            snprintf(r->owner, sizeof r->owner, "-");
        }
    } else {
        goto fail;
    }
    /* farbind's names, if the binder keeps any; a classic rpcbind keeps
     * none and is not asked again */
    far_err nrc;
    farbind_name_list *names = dump_names(c, &arena, &nrc);
    if (nrc != FAR_OK && nrc != FAR_EPROG_UNAVAIL)
        fprintf(stderr, "%s: binder %s: names not listed: %s\n", prog_name, used,
                far_strerror(nrc));
    if (n)
        qsort(rows, n, sizeof *rows, cmp_row);
    printf("binder %s: %zu registration%s\n", used, n, n == 1 ? "" : "s");
    printf("   program vers netid  address                          service      owner\n");
    for (size_t i = 0; i < n; i++) {
        char name[64], p[16];
        printf("%10s %4" PRIu32 " %-6s %-32s %-12s %s\n",
               prog_str(rows[i].prog, cl.hex, p, sizeof p), rows[i].vers, rows[i].netid,
               rows[i].addr, service_name(rows[i].prog, names, name, sizeof name), rows[i].owner);
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
        char name[64], p[16];
        printf("%10s %-12s %-26s %-12s %s\n", prog_str(rows[i].prog, cl.hex, p, sizeof p), vers,
               netids, service_name(rows[i].prog, names, name, sizeof name), rows[i].owner);
        i = j;
    }
    if (names) {
        printf("\nnames:\n");
        print_names(names, cl.hex);
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

static double elapsed_us(const struct timespec *t0, const struct timespec *t1)
{
    return (double)(t1->tv_sec - t0->tv_sec) * 1e6 + (double)(t1->tv_nsec - t0->tv_nsec) / 1e3;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int cmd_ping(int argc, char **argv)
{
    cmdline cl = {.timeout_ms = 5000, .count = 1, .interval_ms = 1000};
    if (!parse_cmdline(argc, argv, "t:c:i:S", &cl) || cl.npos < 3 || cl.npos > 4) {
        fprintf(stderr,
                "usage: %s ping [-t TIMEOUT_MS] [-c COUNT] [-i INTERVAL_MS] [--level LEVEL "
                "--key FILE [--identity NAME]] HOST PROG VERS [tcp|udp|unix]\n",
                prog_name);
        return 2;
    }
    const char *where = cl.pos[0];
    const char *netid = cl.npos == 4 ? cl.pos[3] : NULL;
    if (netid && strcmp(netid, "unix") == 0)
        netid = "local";
    if (netid && strcmp(netid, "tcp") && strcmp(netid, "udp") && strcmp(netid, "local") &&
        strcmp(netid, "tcp6") && strcmp(netid, "udp6")) {
        fprintf(stderr, "%s: transport must be tcp, udp or unix\n", prog_name);
        return 2;
    }
    uint32_t vers;
    if (!parse_u32(cl.pos[2], 0, UINT32_MAX, &vers)) {
        fprintf(stderr, "%s: %s: not a version number\n", prog_name, cl.pos[2]);
        return 2;
    }
    uint32_t prog;
    far_err rc = far_bind_program(cl.pos[1], where, &prog);
    if (is_no_binder(rc))
        return no_binder(where);
    if (rc != FAR_OK) {
        fprintf(stderr, "%s: %s\n", prog_name, far_last_error());
        return 1;
    }
    char addr[FAR_BIND_MAX_ADDR];
    rc = far_bind_lookup(where, prog, vers, netid, addr, sizeof addr);
    if (is_no_binder(rc))
        return no_binder(where);
    if (is_not_registered(rc)) {
        fprintf(stderr, "%s: program %" PRIu32 " version %" PRIu32 "%s%s: not registered at %s\n",
                prog_name, prog, vers, netid ? " on " : "", netid ? netid : "",
                *where ? where : "localhost");
        return 1;
    }
    if (rc != FAR_OK) {
        fprintf(stderr, "%s: lookup failed: %s (%s)\n", prog_name, far_strerror(rc),
                far_last_error());
        return 1;
    }
    /* The deadline bounds the connect and each call. */
    far_client_opts o = {.timeout_ms = cl.timeout_ms};
    if (!far__tool_sec_apply(&cl.sec, &o))
        return 2;
    far_client *c;
    rc = far_client_open(&c, addr, &o);
    far_key_wipe(cl.sec.key, sizeof cl.sec.key);
    if (rc == FAR_EAUTH || rc == FAR_EUNSUPPORTED) {
        fprintf(stderr, "%s: %s: security level %s: %s\n", prog_name, addr,
                far_security_name(cl.sec.level), far_last_error());
        return 1;
    }
    if (rc != FAR_OK) {
        fprintf(stderr, "%s: %s: registered but not answering: %s (timeout %" PRIu32 " ms)\n",
                prog_name, addr, far_strerror(rc), cl.timeout_ms);
        return 1;
    }
    uint32_t answered = 0, sent = 0;
    double min = 0, max = 0, sum = 0;
    for (uint32_t i = 0; i < cl.count; i++) {
        if (i && cl.interval_ms)
            sleep_ms(cl.interval_ms);
        far_status st;
        far_call_opts co = {.status = &st};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = far_client_call(c, prog, vers, 0, NULL, NULL, NULL, NULL, NULL, &co);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        sent++;
        if (rc == FAR_EPROG_MISMATCH) {
            char range[32]; /* "2–3", or "1" when the server has one version */
            if (st.low == st.high)
                snprintf(range, sizeof range, "%" PRIu32, st.low);
            else
                snprintf(range, sizeof range, "%" PRIu32 "\xe2\x80\x93%" PRIu32, st.low, st.high);
            fprintf(stderr, "%s: program %" PRIu32 " at %s: version mismatch (server has %s)\n",
                    prog_name, prog, addr, range);
            break; /* the answer will not change */
        }
        if (rc == FAR_ETIMEDOUT) {
            fprintf(stderr,
                    "%s: program %" PRIu32 " version %" PRIu32 " at %s: no reply within %" PRIu32
                    " ms\n",
                    prog_name, prog, vers, addr, cl.timeout_ms);
            continue;
        }
        if (rc != FAR_OK) {
            fprintf(stderr, "%s: program %" PRIu32 " version %" PRIu32 " at %s: %s\n", prog_name,
                    prog, vers, addr, far_strerror(rc));
            if (rc == FAR_EPROG_UNAVAIL || rc == FAR_ERPC_MISMATCH || rc == FAR_EAUTH)
                break;
            continue;
        }
        double us = elapsed_us(&t0, &t1);
        if (!answered || us < min)
            min = us;
        if (us > max)
            max = us;
        sum += us;
        answered++;
        printf("program %" PRIu32 " version %" PRIu32 " at %s: ready, rtt %.0f us\n", prog, vers,
               addr, us);
        fflush(stdout);
    }
    far_client_destroy(c);
    if (cl.count > 1) {
        printf("%" PRIu32 " call%s, %" PRIu32 " answered", sent, sent == 1 ? "" : "s", answered);
        if (answered)
            printf(", rtt min/avg/max %.0f/%.0f/%.0f us", min, sum / answered, max);
        printf("\n");
    }
    return answered == cl.count ? 0 : 1;
}

/* ------------------------------------------------------------ far name */

static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FAR_BIND_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

/* The reason a names call failed, in words; 1. */
static int name_fail(const char *what, const char *name, const char *where, far_err rc)
{
    if (is_no_binder(rc))
        return no_binder(where);
    if (rc == FAR_EPROG_UNAVAIL && strcmp(what, "set") == 0)
        fprintf(stderr, "%s: the binder keeps no names (a classic rpcbind; farbind does)\n",
                prog_name);
    else if (*far_last_error()) /* the library's words name the name */
        fprintf(stderr, "%s: %s\n", prog_name, far_last_error());
    else
        fprintf(stderr, "%s: name %s: %s\n", prog_name, name, far_strerror(rc));
    return 1;
}

static int name_usage(void)
{
    fprintf(stderr,
            "usage: %s name set NAME PROG\n"
            "       %s name unset NAME\n"
            "       %s name get [-x] NAME [HOST]\n"
            "       %s name list [-x] [HOST]\n",
            prog_name, prog_name, prog_name, prog_name);
    return 2;
}

static int cmd_name(int argc, char **argv)
{
    if (argc < 2)
        return name_usage();
    const char *verb = argv[1];
    cmdline cl = {0};
    if (!parse_cmdline(argc - 1, argv + 1, strcmp(verb, "get") && strcmp(verb, "list") ? "" : "x",
                       &cl))
        return name_usage();
    if (strcmp(verb, "list") == 0) {
        if (cl.npos > 1)
            return name_usage();
        const char *where = cl.npos ? cl.pos[0] : NULL;
        far_client *c;
        char used[FAR_BIND_MAX_ADDR];
        if (far_bind_open(&c, where, used, sizeof used) != FAR_OK)
            return no_binder(where);
        far_arena arena;
        far_arena_init(&arena, NULL, 0, 8u << 20);
        far_err rc;
        farbind_name_list *names = dump_names(c, &arena, &rc);
        int status = 0;
        if (rc == FAR_OK) {
            size_t n = 0;
            for (farbind_name_list *l = names; l; l = l->next)
                n++;
            printf("binder %s: %zu name%s\n", used, n, n == 1 ? "" : "s");
            if (n)
                print_names(names, cl.hex);
        } else if (rc == FAR_EPROG_UNAVAIL) {
            fprintf(stderr, "%s: binder %s keeps no names (a classic rpcbind; farbind does)\n",
                    prog_name, used);
            status = 1;
        } else {
            fprintf(stderr, "%s: binder %s: %s (%s)\n", prog_name, used, far_strerror(rc),
                    far_last_error());
            status = 1;
        }
        far_arena_fini(&arena);
        far_client_destroy(c);
        return status;
    }
    if (cl.npos < 1 || !name_valid(cl.pos[0])) {
        if (cl.npos >= 1)
            fprintf(stderr, "%s: '%s' is not a name (1 to %d of A-Z a-z 0-9 _ . -)\n", prog_name,
                    cl.pos[0], FAR_BIND_MAX_NAME);
        return name_usage();
    }
    const char *name = cl.pos[0];
    if (strcmp(verb, "set") == 0) {
        if (cl.npos != 2)
            return name_usage();
        uint32_t prog;
        far_err rc = far_bind_program(cl.pos[1], NULL, &prog);
        if (is_no_binder(rc))
            return no_binder(NULL);
        if (rc != FAR_OK) {
            fprintf(stderr, "%s: %s\n", prog_name, far_last_error());
            return 1;
        }
        if (prog == 0) {
            fprintf(stderr, "%s: program 0 cannot be named\n", prog_name);
            return 2;
        }
        if ((rc = far_bind_name_set(name, prog)) != FAR_OK)
            return name_fail("set", name, NULL, rc);
        printf("name %s: program %" PRIu32 "\n", name, prog);
        return 0;
    }
    if (strcmp(verb, "unset") == 0) {
        if (cl.npos != 1)
            return name_usage();
        far_err rc = far_bind_name_unset(name);
        if (rc != FAR_OK)
            return name_fail("unset", name, NULL, rc);
        printf("name %s: removed\n", name);
        return 0;
    }
    if (strcmp(verb, "get") == 0) {
        if (cl.npos > 2)
            return name_usage();
        const char *where = cl.npos == 2 ? cl.pos[1] : NULL;
        uint32_t prog;
        far_err rc = far_bind_name_lookup(where, name, &prog);
        if (rc != FAR_OK)
            return name_fail("get", name, where, rc);
        char p[16];
        printf("%s\n", prog_str(prog, cl.hex, p, sizeof p));
        return 0;
    }
    fprintf(stderr, "%s name: '%s' is not one of set, unset, get, list\n", prog_name, verb);
    return name_usage();
}

/* ------------------------------------------------------------ the table */

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    const char *help; /* far SUBCOMMAND --help */
} subcommands[] = {
    {"info", cmd_info, "prints the binder's table (like rpcinfo -p and -s) and its names",
     "usage: far info [-x] [HOST | etcd:CLUSTER]\n"
     "Prints the registrations of HOST's binder (default: the local one) one a line,\n"
     "then one line per program, then the names the binder keeps (farbind only).\n"
     "  -x     program numbers in hex\n"
     "HOST: a host name or address (its binder on port 111) or a binder address\n"
     "(tcp://127.0.0.1:7111, unix:/tmp/farbind.sock).  Locally FARCALL_BINDER, the\n"
     "system rpcbind, then farbind's default address are tried.\n"
     "etcd:CLUSTER: the registrations of CLUSTER in etcd ($FARCALL_ETCD), one a line.\n"},
    {"publish", far__cmd_publish, "publishes servers to a cluster's etcd while they answer",
     "usage: far publish [--etcd ENDPOINTS] [--cluster NAME] [--ttl SECONDS]\n"
     "                   PROG/VERS ADDR [PROG/VERS ADDR ...]\n"
     "Writes each ADDR (tcp://HOST:PORT) for PROG/VERS to etcd under one lease kept\n"
     "alive while far publish runs (until SIGTERM or SIGINT, which revoke it), for\n"
     "servers that cannot publish themselves (rpcgen + libtirpc ones).  Before each\n"
     "keep-alive it calls procedure 0 of every ADDR, and withdraws one that does not\n"
     "answer until it does.  Balanced clients find them as PROG/VERS@etcd:CLUSTER.\n"
     "  --etcd ENDPOINTS  etcd members, comma-separated (default $FARCALL_ETCD, else\n"
     "                    http://127.0.0.1:2379)\n"
     "  --cluster NAME    default $FARCALL_CLUSTER, else \"default\"\n"
     "  --ttl SECONDS     the lease (default $FARCALL_ETCD_TTL, else 10)\n"},
    {"ping", cmd_ping, "calls procedure 0 of a registered program and prints the round trip",
     "usage: far ping [-t TIMEOUT_MS] [-c COUNT] [-i INTERVAL_MS] [--level LEVEL --key FILE\n"
     "                [--identity NAME]] HOST PROG VERS [tcp|udp|unix]\n"
     "Looks PROG VERS up at HOST's binder (\"localhost\" or \"\": the local one), calls\n"
     "its procedure 0 and prints the round-trip time.  PROG: a number, an /etc/rpc\n"
     "name or a name the binder keeps.  Transport: the first registered of tcp, tcp6,\n"
     "udp, udp6, unix, unless given.\n"
     "  -t MS  deadline of the connect and of each call (default 5000)\n"
     "  --level LEVEL    security level: none (default), auth, integ or priv\n"
     "  --key FILE       the key shared with the server (32 bytes, raw or hex; mode 0600)\n"
     "  --identity NAME  the name the server knows the key by (default $FARCALL_IDENTITY,\n"
     "                   else $USER)\n"
     "  -c N   make N calls (default 1), then print a summary\n"
     "  -i MS  wait MS between calls (default 1000)\n"
     "Exits 0 if every call was answered, 1 if not, 2 on a usage error.\n"},
    {"name", cmd_name, "sets, removes, looks up or lists the names farbind keeps",
     "usage: far name set NAME PROG      name program PROG (a number or /etc/rpc name)\n"
     "       far name unset NAME         remove the name\n"
     "       far name get [-x] NAME [HOST]  print the program number NAME stands for\n"
     "       far name list [-x] [HOST]   list every name, program and owner\n"
     "Names live in farbind's names program; a classic rpcbind keeps none.  set and\n"
     "unset go to the local binder: over its Unix socket the caller's uid owns the\n"
     "name, and only that uid or root may change or remove it.  A NAME is 1 to 64 of\n"
     "A-Z a-z 0-9 _ . - and may stand for PROG in PROG/VERS@HOST addresses.\n"
     "  -x     program numbers in hex\n"},
    {"describe", far__cmd_describe, "prints a program's interface as .x text, from the server",
     "usage: far describe [--x FILE.x] [--source] [--json] [--level LEVEL --key FILE\n"
     "                    [--identity NAME]] [-t MS] HOST PROG[.VERS]\n"
     "Asks the server's reflection program (FAR_REFLECT, which every farcall server\n"
     "serves) for the description of PROG and prints it as .x text that fargen and\n"
     "rpcgen compile: every version of PROG, or VERS only.\n"
     "  --x FILE.x  take the types from FILE.x (a classic server has no reflection)\n"
     "  --source    print the .x text the server was compiled from instead\n"
     "  --json      print the description itself (far_desc of far_reflect.x) as JSON\n"
     "  --level LEVEL    security level: none (default), auth, integ or priv (a server\n"
     "                   whose minimum covers every program, reflection included)\n"
     "  --key FILE       the key shared with the server (32 bytes, raw or hex; mode 0600)\n"
     "  --identity NAME  the name the server knows the key by (default $FARCALL_IDENTITY,\n"
     "                   else $USER)\n"
     "  -t MS       deadline of the connect and of each call (default 5000)\n"
     "HOST: the server's address (tcp://H:P, udp://H:P, unix:PATH), or a host name\n"
     "or binder address where PROG is looked up (\"localhost\": the local binder).\n"
     "PROG: a number, an /etc/rpc name, a name the binder keeps, or the .x program\n"
     "name (CALC_PROG); VERS: a number or the .x version name.\n"},
    {"call", far__cmd_call, "calls a procedure with JSON arguments and prints the result as JSON",
     "usage: far call [--x FILE.x] [--pretty] [--auth-sys] [--level LEVEL --key FILE\n"
     "                [--identity NAME]] [-t MS] HOST PROG.VERS.PROC JSON|-\n"
     "Encodes JSON as the procedure's arguments by the program's description (from\n"
     "the server's reflection program, or from --x FILE.x), calls, and prints the\n"
     "result as JSON.  With '-' it reads one JSON value a line from standard input\n"
     "and prints one line a call: the result, or 'error: MESSAGE'; it goes on after\n"
     "errors and exits 1 if any call failed.\n"
     "  --x FILE.x  take the types from FILE.x (a classic server has no reflection)\n"
     "  --pretty    indent the result\n"
     "  --auth-sys  send the process's AUTH_SYS credentials (default: AUTH_NONE)\n"
     "  --level LEVEL    security level: none (default), auth, integ or priv\n"
     "  --key FILE       the key shared with the server (32 bytes, raw or hex; mode 0600)\n"
     "  --identity NAME  the name the server knows the key by (default $FARCALL_IDENTITY,\n"
     "                   else $USER)\n"
     "  -t MS       deadline of the connect and of each call (default 25000)\n"
     "HOST and PROG as for far describe; VERS a number or the .x version name; PROC\n"
     "a number or the .x procedure name.  The JSON mapping: hyper as a decimal\n"
     "string, opaque as base64, enum by name, union as {\"<disc>\": d, \"<arm>\": v},\n"
     "optional data as null or the value, several arguments as an array (far(1)).\n"
     "Exits 0 on success, 1 if a call failed, 2 on a usage error.\n"},
    {"get", far__cmd_get, "fetches a file from a fileserver (examples/fileserver) by bulk transfer",
     "usage: far get [-t MS] [-r N] SERVER:PATH [LOCAL]\n"
     "Fetches PATH (relative to the directory the fileserver serves) into LOCAL\n"
     "(default: PATH's last component), received as LOCAL.far-part and renamed once\n"
     "complete and checked (XXH3 per chunk and for the whole file).  On a terminal a\n"
     "progress bar shows bytes, rate and time left; otherwise only errors are printed.\n"
     "  -t MS  deadline of the whole call (default: none while the data moves)\n"
     "  -r N   resume a transfer cut by a lost connection up to N times (default 3)\n"
     "SERVER: tcp://HOST:PORT, unix:/path/to/socket, or a host name whose binder\n"
     "knows the fileserver.  Exits 0 on success, 1 on failure, 2 on a usage error.\n"},
    {"put", far__cmd_put, "stores a file on a fileserver (examples/fileserver) by bulk transfer",
     "usage: far put [-t MS] [-r N] LOCAL SERVER:PATH\n"
     "Stores LOCAL as PATH on the fileserver (which writes a temporary file and\n"
     "renames it once complete and checked).  Options, SERVER and exit codes as for\n"
     "far get.\n"},
};
#define NSUB (sizeof subcommands / sizeof subcommands[0])

static void show_usage(FILE *f)
{
    fprintf(f,
            "Usage: %s <cmd> [<args>]\n"
            "       %s --help | --version | help [<cmd>] | <cmd> --help\n\n"
            "Available subcommands:\n",
            prog_name, prog_name);
    for (size_t i = 0; i < NSUB; i++)
        fprintf(f, "  %s: %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\nThe binder: FARCALL_BINDER (an address or a comma-separated list; \"none\"),\n"
               "else the system rpcbind, else farbind's default address.  See far(1).\n");
}

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        show_usage(stderr);
        return 2;
    }
    if (is_help(argv[1]) || (strcmp(argv[1], "help") == 0 && argc == 2)) {
        show_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("far (farcall) %s\n", FAR_VERSION);
        return 0;
    }
    const char *want = strcmp(argv[1], "help") == 0 ? argv[2] : argv[1];
    for (size_t i = 0; i < NSUB; i++) {
        if (strcmp(want, subcommands[i].name) != 0)
            continue;
        bool help = want != argv[1];
        for (int k = 2; k < argc && !help; k++) {
            if (strcmp(argv[k], "--") == 0)
                break;
            help = is_help(argv[k]);
        }
        if (help) {
            fputs(subcommands[i].help, stdout);
            return 0;
        }
        return subcommands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "%s: '%s' is not a subcommand\n", prog_name, want);
    show_usage(stderr);
    return 2;
}
