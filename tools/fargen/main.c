/* fargen — command line: options, and writing the outputs (cpp: front.c).
 *
 * Each output is produced from its own run of cpp (with RPC_HDR, RPC_XDR,
 * RPC_CLNT or RPC_SVC defined, as rpcgen does) and its own compilation.  All
 * outputs are built in memory first and then written to temporary files that
 * are renamed into place only when every one of them succeeded: an error
 * leaves no output file behind, old or half-written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fargen.h"

#define FARGEN_VERSION "0.1.0"

typedef struct fg_options {
    const char *input;
    const char *outdir; /* NULL: the input's directory */
    unsigned outputs;   /* FG_OUT_* mask */
    const char *cpp;    /* the preprocessor program */
    bool no_cpp;
    bool to_stdout;
    bool no_desc;          /* --no-desc: foo_svc.c without type descriptions and source */
    const char **cpp_args; /* -D and -I, in order */
    int ncpp_args;
    fg_extern *externs; /* --extern NAME[=HEADER] */
    int nexterns;
} fg_options;

static const struct {
    unsigned out;
    const char *suffix;
    const char *define;
    void (*emit)(fg_emit *);
} outputs[] = {
    {FG_OUT_H, ".h", "RPC_HDR", fg_emit_h},
    {FG_OUT_XDR, "_xdr.c", "RPC_XDR", fg_emit_xdr},
    {FG_OUT_CLNT, "_clnt.c", "RPC_CLNT", fg_emit_clnt},
    {FG_OUT_SVC, "_svc.c", "RPC_SVC", fg_emit_svc},
    {FG_OUT_SAMPLE_CLNT, "_client.c", "RPC_CLNT", fg_emit_sample_clnt},
    {FG_OUT_SAMPLE_SVC, "_server.c", "RPC_SVC", fg_emit_sample_svc},
    {FG_OUT_TEST, "_fgtest.c", "RPC_XDR", fg_emit_test},
};
#define NOUTPUTS (sizeof outputs / sizeof outputs[0])

static void usage(FILE *f)
{
    fputs("usage: fargen [options] FILE.x\n"
          "Generates C for the ONC RPC interface in FILE.x (the RPC language of RFC 5531).\n"
          "\n"
          "outputs (default: -h -c -l -m):\n"
          "  -h         FILE.h        types, constants, prototypes\n"
          "  -c         FILE_xdr.c    encode/decode/free functions\n"
          "  -l         FILE_clnt.c   client stubs\n"
          "  -m         FILE_svc.c    server dispatch tables\n"
          "  -Sc        FILE_client.c sample client (edit freely)\n"
          "  -Ss        FILE_server.c sample server (edit freely)\n"
          "  -a         all of the above\n"
          "options:\n"
          "  -o DIR     write the outputs into DIR (default: FILE.x's directory)\n"
          "  -D NAME[=VALUE], -I DIR   passed to the C preprocessor\n"
          "  -Y PROGRAM the C preprocessor to run (default: cpp)\n"
          "  --no-cpp   do not preprocess FILE.x\n"
          "  --stdout   write the one selected output to standard output\n"
          "  --no-desc  FILE_svc.c without the type descriptions and the text of FILE.x\n"
          "             (which the server's FAR_REFLECT program serves)\n"
          "  --extern NAME[=HEADER]\n"
          "             NAME is a type defined outside FILE.x, with NAME_encode,\n"
          "             NAME_decode and NAME_free (as fargen generates them); FILE.h\n"
          "             includes HEADER (\"x.h\" or <x.h>) for it; repeatable.  In FILE.x:\n"
          "             a comment /*@ extern NAME ... */ (rpcgen ignores it)\n"
          "  --version, --help\n",
          f);
}

/* --extern NAME[=HEADER]; false (message printed) if NAME is no identifier */
static bool add_extern(fg_options *o, const char *v)
{
    const char *eq = strchr(v, '=');
    size_t n = eq ? (size_t)(eq - v) : strlen(v);
    bool ok = n > 0 && !(v[0] >= '0' && v[0] <= '9');
    for (size_t i = 0; i < n && ok; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
             (v[i] >= '0' && v[i] <= '9') || v[i] == '_';
    if (!ok || (eq && !eq[1])) {
        fprintf(stderr, "fargen: --extern %s: expected NAME or NAME=HEADER, NAME a type name\n", v);
        return false;
    }
    fg_extern *x = &o->externs[o->nexterns++];
    x->name = strndup(v, n); /* lives until exit */
    x->header = eq ? eq + 1 : NULL;
    x->loc.file = "--extern";
    x->loc.line = 0;
    x->loc.col = 0;
    return x->name != NULL;
}

/* Builds one output in memory.  Returns false (message printed) on error. */
static bool build(const fg_options *o, size_t k, const char *base, const char *xname, fg_buf *out)
{
    size_t len;
    char err[1024];
    fg_cpp cpp = {o->cpp, o->cpp_args, o->ncpp_args};
    char *src = o->no_cpp ? fg_read_file(o->input, &len, err, sizeof err)
                          : fg_preprocess(&cpp, o->input, outputs[k].define, &len, err, sizeof err);
    if (!src) {
        fprintf(stderr, "fargen: %s\n", err);
        return false;
    }
    /* foo_svc.c embeds the .x file as it is on disk, before cpp */
    char *text = NULL;
    size_t text_len = 0;
    if (outputs[k].out == FG_OUT_SVC && !o->no_desc) {
        text = o->no_cpp ? src : fg_read_file(o->input, &text_len, err, sizeof err);
        if (o->no_cpp)
            text_len = len;
        if (!text) {
            fprintf(stderr, "fargen: %s\n", err);
            free(src);
            return false;
        }
    }
    fg_unit u;
    memset(&u, 0, sizeof u);
    u.cmd_externs = o->externs;
    u.ncmd_externs = o->nexterns;
    bool ok = fg_compile(&u, src, len, o->input);
    if (!ok) {
        fprintf(stderr, "%s\n", u.err);
    } else if (setjmp(u.fail)) {
        fprintf(stderr, "%s\n", u.err);
        ok = false;
    } else {
        fg_emit e = {&u, out, base, xname, 0};
        e.source = text;
        e.source_len = text_len;
        e.no_desc = o->no_desc;
        outputs[k].emit(&e);
        if (out->failed) {
            fprintf(stderr, "fargen: out of memory\n");
            ok = false;
        }
    }
    fg_unit_free(&u);
    if (text != src)
        free(text);
    free(src);
    return ok;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads the command line into o.  Returns -1 to go on, or the exit status
 * (0 after --help or --version).  What it allocates is o's: opts_free. */
static int parse_args(fg_options *o, int argc, char **argv)
{
    o->cpp = "cpp";
    o->cpp_args = calloc((size_t)argc, sizeof *o->cpp_args);
    o->externs = calloc((size_t)argc, sizeof *o->externs);
    if (!o->cpp_args || !o->externs)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0)
            o->outputs |= FG_OUT_H;
        else if (strcmp(a, "-c") == 0)
            o->outputs |= FG_OUT_XDR;
        else if (strcmp(a, "-l") == 0)
            o->outputs |= FG_OUT_CLNT;
        else if (strcmp(a, "-m") == 0)
            o->outputs |= FG_OUT_SVC;
        else if (strcmp(a, "-Sc") == 0)
            o->outputs |= FG_OUT_SAMPLE_CLNT;
        else if (strcmp(a, "-Ss") == 0)
            o->outputs |= FG_OUT_SAMPLE_SVC;
        else if (strcmp(a, "-a") == 0)
            o->outputs |= FG_OUT_H | FG_OUT_XDR | FG_OUT_CLNT | FG_OUT_SVC | FG_OUT_SAMPLE_CLNT |
                          FG_OUT_SAMPLE_SVC;
        else if (strcmp(a, "--test-support") == 0)
            o->outputs |= FG_OUT_TEST;
        else if (strcmp(a, "--no-cpp") == 0)
            o->no_cpp = true;
        else if (strcmp(a, "--no-desc") == 0)
            o->no_desc = true;
        else if (strcmp(a, "--stdout") == 0)
            o->to_stdout = true;
        else if (strcmp(a, "--extern") == 0 || strncmp(a, "--extern=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || !add_extern(o, v))
                return 2;
        } else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            puts("fargen " FARGEN_VERSION);
            return 0;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "-Y") == 0) && i + 1 < argc) {
            if (a[1] == 'o')
                o->outdir = argv[++i];
            else
                o->cpp = argv[++i];
        } else if ((strncmp(a, "-D", 2) == 0 || strncmp(a, "-I", 2) == 0) && a[2]) {
            if (!(o->cpp_args[o->ncpp_args] = strdup(a)))
                return 1;
            o->ncpp_args++;
        } else if ((strcmp(a, "-D") == 0 || strcmp(a, "-I") == 0) && i + 1 < argc) {
            char *j = malloc(strlen(argv[i + 1]) + 3);
            if (!j)
                return 1;
            sprintf(j, "%s%s", a, argv[++i]);
            o->cpp_args[o->ncpp_args++] = j;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "fargen: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (o->input) {
            fprintf(stderr, "fargen: one input file only ('%s' and '%s')\n", o->input, a);
            return 2;
        } else {
            o->input = a;
        }
    }
    if (!o->input) {
        usage(stderr);
        return 2;
    }
    if (!o->outputs)
        o->outputs = FG_OUT_H | FG_OUT_XDR | FG_OUT_CLNT | FG_OUT_SVC;
    size_t ilen = strlen(o->input);
    if (ilen < 3 || strcmp(o->input + ilen - 2, ".x") != 0) {
        fprintf(stderr, "fargen: %s: the input file's name must end in .x\n", o->input);
        return 2;
    }
    if (o->to_stdout && __builtin_popcount(o->outputs) != 1) {
        fprintf(stderr, "fargen: --stdout needs exactly one output selected\n");
        return 2;
    }
    return -1;
}

static void opts_free(fg_options *o)
{
    for (int i = 0; i < o->ncpp_args; i++)
        free((char *)o->cpp_args[i]);
    free(o->cpp_args);
    for (int i = 0; i < o->nexterns; i++)
        free((char *)o->externs[i].name);
    free(o->externs);
}

/* Builds every output selected and writes it (to a temporary name, renamed
 * once all are built).  Returns the exit status. */
static int run(const fg_options *o)
{
    const char *slash = strrchr(o->input, '/');
    const char *xname = slash ? slash + 1 : o->input;
    char *base = strndup(xname, strlen(xname) - 2);
    char *dir = o->outdir ? strdup(o->outdir)
                : slash   ? strndup(o->input, (size_t)(slash - o->input) + (slash == o->input))
                          : strdup(".");
    if (!base || !dir) {
        free(base);
        free(dir);
        return 1;
    }

    fg_buf bufs[NOUTPUTS];
    memset(bufs, 0, sizeof bufs);
    int status = 0;
    for (size_t k = 0; k < NOUTPUTS && !status; k++)
        if ((o->outputs & outputs[k].out) && !build(o, k, base, xname, &bufs[k]))
            status = 1;

    char *tmp[NOUTPUTS] = {0}, *final[NOUTPUTS] = {0};
    if (!status && o->to_stdout) {
        for (size_t k = 0; k < NOUTPUTS; k++)
            if (o->outputs & outputs[k].out)
                if (!write_all(1, bufs[k].data, bufs[k].len))
                    status = 1;
    } else if (!status) {
        mode_t mask = umask(0);
        umask(mask);
        for (size_t k = 0; k < NOUTPUTS && !status; k++) {
            if (!(o->outputs & outputs[k].out))
                continue;
            size_t n = strlen(dir) + strlen(base) + 32;
            final[k] = malloc(n);
            tmp[k] = malloc(n);
            if (!final[k] || !tmp[k]) {
                status = 1;
                break;
            }
            snprintf(final[k], n, "%s/%s%s", dir, base, outputs[k].suffix);
            snprintf(tmp[k], n, "%s/.%s%s.XXXXXX", dir, base, outputs[k].suffix);
            int fd = mkstemp(tmp[k]);
            if (fd < 0) {
                fprintf(stderr, "fargen: %s: %s\n", final[k], strerror(errno));
                free(tmp[k]);
                tmp[k] = NULL;
                status = 1;
                break;
            }
            bool ok = fchmod(fd, 0666 & ~mask) == 0 && write_all(fd, bufs[k].data, bufs[k].len);
            if (close(fd) != 0 || !ok) {
                fprintf(stderr, "fargen: %s: %s\n", final[k], strerror(errno));
                status = 1;
            }
        }
        for (size_t k = 0; k < NOUTPUTS; k++) {
            if (!tmp[k])
                continue;
            if (!status && rename(tmp[k], final[k]) != 0) {
                fprintf(stderr, "fargen: %s: %s\n", final[k], strerror(errno));
                status = 1;
            }
            if (status)
                unlink(tmp[k]);
        }
    }
    for (size_t k = 0; k < NOUTPUTS; k++) {
        fg_buf_free(&bufs[k]);
        free(tmp[k]);
        free(final[k]);
    }
    free(base);
    free(dir);
    return status;
}

int main(int argc, char **argv)
{
    fg_options o = {0};
    int status = parse_args(&o, argc, argv);
    if (status < 0)
        status = run(&o);
    opts_free(&o);
    return status;
}
