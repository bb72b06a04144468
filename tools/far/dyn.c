/* far describe, far call: dynamic calls from a shell, written on the
 * library's dynamic-call API (farcall/dyn.h).
 *
 *   far describe [--x FILE.x] [--source] [--json] [--level LEVEL --key FILE
 *                [--identity NAME]] [-t MS] HOST PROG[.VERS]
 *   far call [--x FILE.x] [--pretty] [--auth-sys] [-t MS] HOST PROG.VERS.PROC JSON|-
 *
 * The types come from the server's reflection program (FAR_REFLECT, which
 * every farcall server serves) or, for a classic server, from a .x file
 * through fargen's own front end (tools/fargen/fg_desc.h).
 *
 * HOST is a server's address (tcp://, udp://, unix:), or a binder's (as far
 * ping takes it: a host name, "localhost" or "" for the local binder, or a
 * binder address string), where PROG is looked up.  An address that does
 * not serve PROG itself but answers as a binder is used as one.  PROG is a
 * number, an /etc/rpc name, a name the binder keeps, or the .x program name
 * (matched against the server's list or the --x file); VERS a number or
 * the .x version name; PROC a number or the .x procedure name.  The
 * components are split at the last dots, so a PROG name may hold dots.
 * docs/dynamic.md has the JSON mapping; docs/man/far.1 the manual. */
#include "dyn.h"
#include "sec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "far_reflect.h"
#include "farcall/farcall.h"
#include "fg_desc.h"

#define LINE_MAX_JSON (64u << 20) /* longest line `far call ... -` reads */

/* ------------------------------------------------------------ options */

typedef struct dopts {
    const char *xfile; /* --x */
    bool source;       /* --source */
    bool json;         /* --json */
    bool pretty;       /* --pretty */
    bool auth_sys;     /* --auth-sys */
    far_tool_sec sec;  /* --level, --key, --identity (describe, call) */
    uint32_t timeout_ms;
    const char *pos[4];
    int npos;
} dopts;

/* Takes the options a subcommand knows (`which`: "sjp" for --source,
 * --json, --pretty; --x and -t always) out of argv[1..argc). */
static bool parse_opts(int argc, char **argv, const char *which, dopts *o)
{
    bool dashdash = false;
    int took;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || !a[1]) {
            if (o->npos == 4) {
                fprintf(stderr, "far %s: too many arguments\n", argv[0]);
                return false;
            }
            o->pos[o->npos++] = a;
        } else if (strcmp(a, "--") == 0) {
            dashdash = true;
        } else if (strcmp(a, "--x") == 0 || strncmp(a, "--x=", 4) == 0) {
            o->xfile = a[3] ? a + 4 : i + 1 < argc ? argv[++i] : NULL;
            if (!o->xfile || !*o->xfile) {
                fprintf(stderr, "far %s: --x takes a .x file\n", argv[0]);
                return false;
            }
        } else if (strcmp(a, "--source") == 0 && strchr(which, 's')) {
            o->source = true;
        } else if (strcmp(a, "--json") == 0 && strchr(which, 'j')) {
            o->json = true;
        } else if (strcmp(a, "--pretty") == 0 && strchr(which, 'p')) {
            o->pretty = true;
        } else if (strcmp(a, "--auth-sys") == 0 && strchr(which, 'a')) {
            o->auth_sys = true;
        } else if (strchr(which, 'S') && (took = far__tool_sec_opt(argc, argv, &i, &o->sec))) {
            if (took < 0)
                return false;
        } else if (strncmp(a, "-t", 2) == 0) {
            const char *v = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : NULL;
            char *end;
            errno = 0;
            unsigned long ms = v ? strtoul(v, &end, 10) : 0;
            if (!v || !isdigit((unsigned char)*v) || *end || errno || ms < 1 || ms > 3600000) {
                fprintf(stderr, "far %s: -t takes a number from 1 to 3600000\n", argv[0]);
                return false;
            }
            o->timeout_ms = (uint32_t)ms;
        } else {
            fprintf(stderr, "far %s: unknown option '%s'\n", argv[0], a);
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ the target */

/* Where the calls go and what is known of the program there. */
typedef struct target {
    const char *host;
    bool direct; /* HOST is an address, not a binder's host name */
    char addr[FAR_BIND_MAX_ADDR];
    far_client *c;
    uint32_t timeout_ms;
    bool auth_sys;     /* AUTH_SYS credentials of the process */
    far_tool_sec *sec; /* a security level (far call) */
    bool listed;       /* list holds the server's LIST */
    bool no_reflect;
    far_dyn_entry *list;
    size_t nlist;
    fg_described *xd; /* --x */
    size_t nx;
    char *xsource;
    uint32_t prog;
} target;

static void target_fini(target *t)
{
    far_client_destroy(t->c);
    free(t->list);
    fg_described_free(t->xd, t->nx);
    free(t->xsource);
}

static bool is_address(const char *s)
{
    return strncmp(s, "tcp://", 6) == 0 || strncmp(s, "udp://", 6) == 0 ||
           strncmp(s, "unix:", 5) == 0;
}

static bool parse_number(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end || errno || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static int fail_rc(const target *t, far_err rc, const char *what)
{
    fprintf(stderr, "far: %s: %s: %s (%s)\n", t->addr[0] ? t->addr : t->host, what,
            far_strerror(rc), far_last_error());
    return 1;
}

static bool open_at(target *t, const char *addr)
{
    if (t->c && strcmp(t->addr, addr) == 0)
        return true;
    far_client_destroy(t->c);
    t->c = NULL;
    t->listed = t->no_reflect = false;
    free(t->list);
    t->list = NULL;
    t->nlist = 0;
    snprintf(t->addr, sizeof t->addr, "%s", addr);
    far_client_opts o = {.timeout_ms = t->timeout_ms, .auth_sys = t->auth_sys};
    if (t->sec && !far__tool_sec_apply(t->sec, &o))
        return false;
    far_err rc = far_client_open(&t->c, addr, &o);
    if (t->sec)
        far_key_wipe(t->sec->key, sizeof t->sec->key);
    if (rc != FAR_OK) {
        fprintf(stderr, "far: %s: cannot connect: %s (%s)\n", addr, far_strerror(rc),
                far_last_error());
        return false;
    }
    return true;
}

/* The server's LIST, once (no_reflect when it has none). */
static far_err list_once(target *t)
{
    if (t->listed)
        return FAR_OK;
    if (t->no_reflect)
        return FAR_EPROG_UNAVAIL;
    if (!t->c && (!t->direct || !open_at(t, t->host)))
        return FAR_ECONNREFUSED; /* (open_at said why) */
    far_err rc = far_dyn_list(t->c, &t->list, &t->nlist, NULL);
    if (rc == FAR_EPROG_UNAVAIL)
        t->no_reflect = true;
    else if (rc == FAR_OK)
        t->listed = true;
    return rc;
}

static bool listed_prog(const target *t, uint32_t prog)
{
    for (size_t i = 0; i < t->nlist; i++)
        if (t->list[i].prog == prog)
            return true;
    return false;
}

/* Does the server at t->c serve prog (any version)?  By its LIST if it has
 * reflection, else by calling prog's procedure 0 (PROG_UNAVAIL: no). */
static bool serves(target *t, uint32_t prog, uint32_t vers)
{
    if (list_once(t) == FAR_OK)
        return listed_prog(t, prog);
    far_call_opts co = {.timeout_ms = t->timeout_ms};
    far_err rc = far_client_call(t->c, prog, vers, 0, NULL, NULL, NULL, NULL, NULL, &co);
    return rc != FAR_EPROG_UNAVAIL && rc != FAR_ECONNLOST && rc != FAR_ETIMEDOUT;
}

/* The program number PROG names: a number, the --x file's program name, the
 * server's LIST (a direct address), /etc/rpc or the binder's names. */
static bool resolve_prog(target *t, const char *s)
{
    if (parse_number(s, &t->prog))
        return true;
    for (size_t i = 0; i < t->nx; i++) {
        if (strcasecmp(t->xd[i].prog_name, s) == 0) {
            t->prog = t->xd[i].prog;
            return true;
        }
    }
    if (t->direct && list_once(t) == FAR_OK) {
        for (size_t i = 0; i < t->nlist; i++) {
            if (strcasecmp(t->list[i].prog_name, s) == 0) {
                t->prog = t->list[i].prog;
                return true;
            }
        }
    }
    far_err rc = far_bind_program(s, t->direct ? NULL : t->host, &t->prog);
    if (rc == FAR_OK)
        return true;
    if (t->no_reflect && !t->nx) {
        fprintf(stderr,
                "far: %s: no program '%s': the server has no reflection to name its programs (a "
                "classic ONC RPC server, or far_server_opts.no_reflect): give its types with --x "
                "FILE.x, or PROG by number\n",
                t->host, s);
        return false;
    }
    fprintf(stderr,
            "far: %s: no program '%s': not a number, %s name, /etc/rpc name or name the binder "
            "keeps (%s)\n",
            t->direct ? t->host : (*t->host ? t->host : "localhost"), s,
            t->nx ? "a program of the --x file, a server's" : "a server's .x program",
            far_last_error());
    return false;
}

/* Connects to where program t->prog (version `vers`, 0: any) is served:
 * HOST itself if it is an address that serves it, else through the binder
 * of HOST. */
static bool connect_prog(target *t, uint32_t vers)
{
    if (t->direct) {
        if (!open_at(t, t->host))
            return false;
        if (serves(t, t->prog, vers ? vers : 1))
            return true;
    }
    char addr[FAR_BIND_MAX_ADDR];
    far_err rc = far_bind_lookup(t->host, t->prog, vers ? vers : 1, NULL, addr, sizeof addr);
    if (rc == FAR_OK)
        return open_at(t, addr);
    if (t->direct && (rc == FAR_ENOBINDER || rc == FAR_ENOTREG)) {
        /* not a binder either: the calls say what the server thinks */
        return open_at(t, t->host);
    }
    if (rc == FAR_ENOTREG)
        fprintf(stderr, "far: program %" PRIu32 " is not registered at %s\n", t->prog,
                *t->host ? t->host : "localhost");
    else
        fprintf(stderr, "far: %s: lookup of program %" PRIu32 ": %s (%s)\n",
                *t->host ? t->host : "localhost", t->prog, far_strerror(rc), far_last_error());
    return false;
}

/* VERS: a number, or a version name of the --x file or the server's LIST. */
static bool resolve_vers(target *t, const char *s, uint32_t *vers)
{
    if (parse_number(s, vers))
        return true;
    for (size_t i = 0; i < t->nx; i++) {
        if (t->xd[i].prog == t->prog && strcasecmp(t->xd[i].vers_name, s) == 0) {
            *vers = t->xd[i].vers;
            return true;
        }
    }
    if (list_once(t) == FAR_OK) {
        for (size_t i = 0; i < t->nlist; i++) {
            if (t->list[i].prog == t->prog && strcasecmp(t->list[i].vers_name, s) == 0) {
                *vers = t->list[i].vers;
                return true;
            }
        }
    }
    fprintf(stderr, "far: %s: program %" PRIu32 " has no version '%s'\n", t->addr, t->prog, s);
    return false;
}

static bool load_x(target *t, const char *path)
{
    char err[512];
    if (!fg_describe_file(path, NULL, &t->xd, &t->nx, &t->xsource, err, sizeof err)) {
        fprintf(stderr, "far: --x %s: %s\n", path, err);
        return false;
    }
    if (t->nx == 0) {
        fprintf(stderr, "far: --x %s: the file defines no program\n", path);
        return false;
    }
    return true;
}

static const fg_described *x_find(const target *t, uint32_t vers)
{
    for (size_t i = 0; i < t->nx; i++)
        if (t->xd[i].prog == t->prog && t->xd[i].vers == vers)
            return &t->xd[i];
    return NULL;
}

/* Says why far_dyn_fetch failed. */
static void explain_fetch(const target *t, far_err rc, uint32_t vers)
{
    if (rc == FAR_EPROG_UNAVAIL)
        fprintf(stderr,
                "far: %s: the server has no reflection (a classic ONC RPC server, or "
                "far_server_opts.no_reflect): give its types with --x FILE.x\n",
                t->addr);
    else if (rc == FAR_ENODESC)
        fprintf(stderr,
                "far: %s: program %" PRIu32 " version %" PRIu32
                " is served with no description of its types (not compiled by fargen): give "
                "them with --x FILE.x\n",
                t->addr, t->prog, vers);
    else if (rc == FAR_EPROG_MISMATCH)
        fprintf(stderr,
                "far: %s: the server does not serve program %" PRIu32 " version %" PRIu32 "\n",
                t->addr, t->prog, vers);
    else
        fail_rc(t, rc, "describing the program");
}

/* The description of t->prog version vers: from --x, else from the server. */
static bool get_desc(target *t, uint32_t vers, far_dyn **d)
{
    if (t->nx) {
        const fg_described *x = x_find(t, vers);
        if (!x) {
            fprintf(stderr, "far: --x: the file has no program %" PRIu32 " version %" PRIu32 "\n",
                    t->prog, vers);
            return false;
        }
        far_err rc = far_dyn_load(d, x->desc, x->len);
        if (rc != FAR_OK) {
            fprintf(stderr, "far: --x: description of %s.%s: %s\n", x->prog_name, x->vers_name,
                    far_last_error());
            return false;
        }
        return true;
    }
    far_call_opts co = {.timeout_ms = t->timeout_ms};
    far_err rc = far_dyn_fetch(t->c, t->prog, vers, d, NULL, &co);
    if (rc != FAR_OK)
        explain_fetch(t, rc, vers);
    return rc == FAR_OK;
}

/* Splits "A.B.C" at its last `n - 1` dots into parts[0..n). */
static bool split(char *s, char **parts, int n)
{
    for (int i = n - 1; i > 0; i--) {
        char *dot = strrchr(s, '.');
        if (!dot || dot == s || !dot[1])
            return false;
        *dot = 0;
        parts[i] = dot + 1;
    }
    parts[0] = s;
    return *s != 0;
}

static bool target_init(target *t, const dopts *o)
{
    memset(t, 0, sizeof *t);
    t->host = o->pos[0];
    t->direct = is_address(t->host);
    t->timeout_ms = o->timeout_ms;
    t->auth_sys = o->auth_sys;
    t->sec = (far_tool_sec *)&o->sec;
    if (o->xfile && !load_x(t, o->xfile))
        return false;
    return true; /* connected when needed: --x describes with no server */
}

/* ------------------------------------------------------------ far describe */

/* The versions of t->prog to describe when none is named: the server's
 * (LIST) or the --x file's. */
static size_t versions(target *t, uint32_t *v, size_t max)
{
    size_t n = 0;
    if (t->nx) {
        for (size_t i = 0; i < t->nx && n < max; i++)
            if (t->xd[i].prog == t->prog)
                v[n++] = t->xd[i].vers;
    } else if (list_once(t) == FAR_OK) {
        for (size_t i = 0; i < t->nlist && n < max; i++)
            if (t->list[i].prog == t->prog)
                v[n++] = t->list[i].vers;
    }
    return n;
}

/* The far_desc bytes of t->prog version vers as JSON, decoded by the
 * description of far_reflect.x itself. */
static int print_desc_json(target *t, uint32_t vers, bool pretty)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int status = 1;
    far_xdr_enc e;
    bool have_enc = false;
    far_reflect_desc_res dr = {0};
    if (t->nx) {
        const fg_described *x = x_find(t, vers);
        if (!x) {
            fprintf(stderr, "far: --x: the file has no program %" PRIu32 " version %" PRIu32 "\n",
                    t->prog, vers);
            return 1;
        }
        bytes = x->desc;
        len = x->len;
    } else {
        /* check it first, for the errors far_dyn_fetch names */
        far_dyn *d = NULL;
        if (!get_desc(t, vers, &d))
            return 1;
        far_dyn_free(d);
        far_reflect_which w = {t->prog, vers};
        far_call_opts co = {.timeout_ms = t->timeout_ms};
        far_err rc = far_reflect_describe_1(t->c, &w, &dr, NULL, &co);
        if (rc != FAR_OK || dr.stat != FAR_REFLECT_OK)
            return fail_rc(t, rc, "describing the program");
        if (far_xdr_enc_init_grow(&e, 4096, 0) != FAR_OK)
            goto out;
        have_enc = true;
        if (!far_desc_encode(&e, &dr.far_reflect_desc_res_u.desc) ||
            !(bytes = malloc(far_xdr_enc_len(&e) + 1)) ||
            far_xdr_enc_flatten(&e, bytes, far_xdr_enc_len(&e)) != FAR_OK) {
            fprintf(stderr, "far: out of memory\n");
            goto out;
        }
        len = far_xdr_enc_len(&e);
    }
    const far_program_desc *self = far_reflect_prog_1_program();
    far_dyn *meta = NULL;
    if (!self->type_desc) {
        fprintf(stderr, "far: --json: this far was built with no description of far_reflect.x\n");
        goto out;
    }
    far_err rc = far_dyn_load(&meta, self->type_desc, self->type_desc_len);
    if (rc != FAR_OK) {
        fprintf(stderr, "far: --json: far_reflect.x's own description: %s\n", far_last_error());
        goto out;
    }
    far_xdr_dec dec;
    far_xdr_dec_init(&dec, bytes, len, NULL, 0);
    char *json = NULL;
    rc = far_dyn_decode_type(meta, "far_desc", &dec, pretty ? FAR_DYN_PRETTY : 0, &json);
    far_dyn_free(meta);
    if (rc != FAR_OK) {
        fprintf(stderr, "far: --json: %s\n", far_last_error());
        goto out;
    }
    printf("%s\n", json);
    free(json);
    status = 0;
out:
    if (have_enc) {
        far_xdr_enc_fini(&e);
        free(bytes);
    }
    far_reflect_desc_res_free(&dr);
    return status;
}

static int describe_one(target *t, uint32_t vers, const dopts *o, char **text_out)
{
    if (o->json)
        return print_desc_json(t, vers, true);
    if (o->source) {
        if (t->nx) {
            fputs(t->xsource, stdout);
            return 0;
        }
        far_dyn *d = NULL;
        char *src = NULL;
        far_call_opts co = {.timeout_ms = t->timeout_ms};
        far_err rc = far_dyn_fetch(t->c, t->prog, vers, &d, &src, &co);
        far_dyn_free(d);
        if (rc != FAR_OK) {
            explain_fetch(t, rc, vers);
            return 1;
        }
        if (!src) {
            fprintf(stderr,
                    "far: %s: program %" PRIu32 " version %" PRIu32
                    " is served with no source text\n",
                    t->addr, t->prog, vers);
            return 1;
        }
        fputs(src, stdout);
        if (*src && src[strlen(src) - 1] != '\n')
            putchar('\n');
        free(src);
        return 0;
    }
    far_dyn *d = NULL;
    if (!get_desc(t, vers, &d))
        return 1;
    char *text = NULL;
    far_err rc = far_dyn_to_x(d, &text);
    far_dyn_free(d);
    if (rc != FAR_OK) {
        fprintf(stderr, "far: %s\n", far_last_error());
        return 1;
    }
    *text_out = text;
    return 0;
}

/* One version's .x text, in its parts: the comment line that opens it, the
 * constants and types, the program's first line, its version block, its
 * last line ("} = 0x...;"). */
typedef struct xparts {
    const char *head, *types, *first, *vers, *last, *end;
} xparts;

static bool split_x(const char *t, xparts *x)
{
    x->head = t;
    x->types = strchr(t, '\n');
    const char *p = x->types ? strstr(x->types, "\nprogram ") : NULL;
    if (!p || strncmp(t, "/*", 2) != 0)
        return false;
    x->types++;
    x->first = p + 1;
    x->vers = strchr(x->first, '\n');
    x->end = t + strlen(t);
    const char *q = x->end;
    if (q > t && q[-1] == '\n')
        q--;
    while (q > x->vers && q[-1] != '\n')
        q--;
    x->last = q;
    if (!x->vers || x->last <= x->vers || *x->last != '}')
        return false;
    x->vers++;
    return true;
}

static bool same(const char *a, const char *a_end, const char *b, const char *b_end)
{
    return a_end - a == b_end - b && memcmp(a, b, (size_t)(a_end - a)) == 0;
}

/* Prints the versions' texts as one .x file when they share their types
 * (fargen's descriptions hold every type of the file, so versions compiled
 * from one file do): the types once, then the program with every version.
 * Otherwise one after the other. */
static void print_versions(char **texts, size_t n)
{
    xparts x0, xi;
    bool merge = n > 1 && split_x(texts[0], &x0);
    for (size_t i = 1; i < n && merge; i++)
        merge = split_x(texts[i], &xi) && same(x0.types, x0.first, xi.types, xi.first) &&
                same(x0.first, x0.vers, xi.first, xi.vers) &&
                same(x0.last, x0.end, xi.last, xi.end);
    if (!merge) {
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? "\n" : "", texts[i]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        split_x(texts[i], &xi);
        fwrite(xi.head, 1, (size_t)(xi.types - xi.head), stdout); /* each one's comment */
    }
    fwrite(x0.types, 1, (size_t)(x0.vers - x0.types), stdout);
    for (size_t i = 0; i < n; i++) {
        split_x(texts[i], &xi);
        fwrite(xi.vers, 1, (size_t)(xi.last - xi.vers), stdout);
    }
    fwrite(x0.last, 1, (size_t)(x0.end - x0.last), stdout);
}

int far__cmd_describe(int argc, char **argv)
{
    dopts o = {.timeout_ms = 5000};
    if (!parse_opts(argc, argv, "sjS", &o) || o.npos != 2) {
        fprintf(stderr, "usage: far describe [--x FILE.x] [--source] [--json] [--level LEVEL "
                        "--key FILE [--identity NAME]] [-t MS] HOST PROG[.VERS]\n");
        return 2;
    }
    target t;
    int status = 1;
    if (!target_init(&t, &o))
        goto out;
    char *spec = strdup(o.pos[1]), *parts[2] = {spec, NULL};
    if (!spec)
        goto out;
    /* PROG.VERS, unless the whole of it names a program */
    char *dot = strrchr(spec, '.');
    uint32_t vers = 0;
    bool have_vers = false;
    if (dot && dot != spec && dot[1]) {
        *dot = 0;
        parts[1] = dot + 1;
    }
    if (!resolve_prog(&t, parts[0]))
        goto out_spec;
    if (!t.nx && !connect_prog(&t, 0))
        goto out_spec;
    if (parts[1]) {
        if (!resolve_vers(&t, parts[1], &vers))
            goto out_spec;
        have_vers = true;
    }
    if (have_vers) {
        char *text = NULL;
        status = describe_one(&t, vers, &o, &text);
        if (text)
            fputs(text, stdout);
        free(text);
    } else {
        uint32_t v[64];
        size_t n = versions(&t, v, 64);
        if (n == 0 && t.no_reflect && !t.nx) {
            fprintf(stderr,
                    "far: %s: the server has no reflection (a classic ONC RPC server, or "
                    "far_server_opts.no_reflect): give its types with --x FILE.x\n",
                    t.addr);
            goto out_spec;
        }
        if (n == 0) {
            fprintf(stderr, "far: %s: no versions of program %" PRIu32 " are served there\n",
                    t.addr, t.prog);
            goto out_spec;
        }
        if (o.source)
            n = 1; /* the .x file, which has every version */
        char *texts[64] = {0};
        status = 0;
        for (size_t i = 0; i < n && status == 0; i++) {
            if (i && o.json)
                printf("\n");
            status = describe_one(&t, v[i], &o, &texts[i]);
        }
        if (status == 0 && texts[0])
            print_versions(texts, n);
        for (size_t i = 0; i < n; i++)
            free(texts[i]);
    }
out_spec:
    free(spec);
out:
    target_fini(&t);
    return status;
}

/* ------------------------------------------------------------ far call */

/* One call; prints the result (or the error, as `error: ...` on standard
 * output in a batch, else on standard error). */
static bool call_one(target *t, const far_dyn *d, const far_dyn_proc *p, const char *json,
                     bool pretty, bool batch)
{
    char *res = NULL;
    far_status st;
    far_call_opts co = {.timeout_ms = t->timeout_ms, .status = &st};
    st.msg[0] = 0;
    st.err = (far_err)-1; /* still so after: the call was never made (its arguments) */
    far_err rc = far_dyn_call(t->c, d, p->proc, json, pretty ? FAR_DYN_PRETTY : 0, &res, &co);
    if (rc == FAR_OK) {
        printf("%s\n", res);
        fflush(stdout);
        free(res);
        return true;
    }
    char why[1024];
    if (rc == FAR_EJSON || st.err == (far_err)-1)
        snprintf(why, sizeof why, "arguments of %s: %s", p->name, far_last_error());
    else if (rc == FAR_ETIMEDOUT)
        snprintf(why, sizeof why, "%s: no reply within %" PRIu32 " ms", p->name, t->timeout_ms);
    else
        snprintf(why, sizeof why, "%s: %s (%s)", p->name, far_strerror(rc),
                 st.msg[0] ? st.msg : far_last_error());
    if (batch) {
        printf("error: %s\n", why);
        fflush(stdout);
    } else {
        fprintf(stderr, "far: %s: %s\n", t->addr, why);
    }
    return false;
}

/* Reads one line of standard input (without its newline) into *buf: 1, or
 * 0 at the end, or -1 for a line longer than LINE_MAX_JSON or one with a
 * NUL byte in it (the rest of it skipped; *why says which). */
static int read_line(char **buf, size_t *cap, size_t *len, const char **why)
{
    *len = 0;
    *why = NULL;
    int ch;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (*why)
            continue;
        if (ch == 0) {
            *why = "a NUL byte in the line";
            continue;
        }
        if (*len + 1 >= *cap) {
            size_t nc = *cap ? *cap * 2 : 4096;
            char *nb = nc <= LINE_MAX_JSON ? realloc(*buf, nc) : NULL;
            if (!nb) {
                /* what was read stays in *buf: the caller names the field */
                *why = "the line is longer than far reads (64 MiB)";
                continue;
            }
            *buf = nb;
            *cap = nc;
        }
        (*buf)[(*len)++] = (char)ch;
    }
    if (*buf)
        (*buf)[*len] = 0;
    if (*why)
        return -1;
    return ch != EOF || *len > 0;
}

int far__cmd_call(int argc, char **argv)
{
    dopts o = {.timeout_ms = 25000};
    if (!parse_opts(argc, argv, "paS", &o) || o.npos != 3) {
        fprintf(stderr, "usage: far call [--x FILE.x] [--pretty] [--auth-sys] [--level LEVEL "
                        "--key FILE [--identity NAME]] [-t MS] HOST PROG.VERS.PROC JSON|-\n");
        return 2;
    }
    target t;
    int status = 1;
    far_dyn *d = NULL;
    char *spec = NULL;
    if (!target_init(&t, &o))
        goto out;
    char *parts[3];
    if (!(spec = strdup(o.pos[1])) || !split(spec, parts, 3)) {
        fprintf(stderr, "far call: '%s' is not PROG.VERS.PROC\n", o.pos[1]);
        status = 2;
        goto out;
    }
    uint32_t vers = 0;
    bool vnum = parse_number(parts[1], &vers);
    if (!resolve_prog(&t, parts[0]) || !connect_prog(&t, vnum ? vers : 0) ||
        (!vnum && !resolve_vers(&t, parts[1], &vers)) || !get_desc(&t, vers, &d))
        goto out;
    far_dyn_proc p;
    if (far_dyn_find_proc(d, parts[2], &p) != FAR_OK) {
        fprintf(stderr, "far: %s\n", far_last_error());
        goto out;
    }
    if (strcmp(o.pos[2], "-") != 0) {
        status = call_one(&t, d, &p, o.pos[2], o.pretty, false) ? 0 : 1;
        goto out;
    }
    /* a batch: one JSON value a line, one line out per call */
    char *line = NULL;
    size_t cap = 0, len;
    status = 0;
    const char *why;
    int got;
    while ((got = read_line(&line, &cap, &len, &why)) != 0) {
        if (got < 0) {
            char at[256] = "";
            if (len && why && strstr(why, "longer")) {
                /* the field the line was still in where far stopped reading */
                char path[200];
                far_dyn_json_path(line, len, len, "args", path, sizeof path);
                snprintf(at, sizeof at, "%s: ", path);
            }
            printf("error: %s%s\n", at, why);
            fflush(stdout);
            status = 1;
            continue;
        }
        size_t k = 0;
        while (k < len && isspace((unsigned char)line[k]))
            k++;
        if (k == len)
            continue;
        if (!call_one(&t, d, &p, line, false, true))
            status = 1;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "far: reading standard input failed\n");
        status = 1;
    }
    free(line);
out:
    free(spec);
    far_dyn_free(d);
    target_fini(&t);
    return status;
}
