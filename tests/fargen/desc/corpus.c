/* fargen_desc_corpus: fg_describe_file, in-process, on every .x of the
 * system that fargen accepts (/usr/include/rpcsvc and
 * /usr/include/tirpc/rpcsvc, with the --extern options of
 * tests/fargen/rpcsvc.sh) and on the .x files given as arguments: each
 * program version's description must decode completely with the library's
 * far_desc_decode, every type reference must be < the number of types, the
 * bytes must be the canonical encoding (far_desc_encode gives them back),
 * anonymous types must be unnamed and distinct, and a file must have as
 * many descriptions as it has program versions.
 *
 * usage: fargen_desc_corpus [FILE.x...] */
#include <glob.h>

#include "descutil.h"
#include "fg_desc.h"

/* rpcsvc.sh's fargen_opts: the types a file uses but does not define */
static const struct {
    const char *file;
    const char *externs[2];
    int n;
} extern_opts[] = {
    {"key_prot.x", {"des_block"}, 1},
    {"nis_callback.x", {"nis_object", "nis_error"}, 2},
};

/* program versions in the text: "version NAME {" after cpp would be exact;
 * counting the word at the start of a line in the source is close enough
 * for the files here (none spells a version in a comment that way) */
static size_t count_versions(const char *s)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, "version")) != NULL; p += 7) {
        const char *b = p;
        while (b > s && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if ((b == s || b[-1] == '\n') && (p[7] == ' ' || p[7] == '\t'))
            n++;
    }
    return n;
}

static int files, versions;

static void one(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    fg_describe_opts o;
    memset(&o, 0, sizeof o);
    for (size_t i = 0; i < sizeof extern_opts / sizeof extern_opts[0]; i++)
        if (strcmp(extern_opts[i].file, base) == 0) {
            o.externs = extern_opts[i].externs;
            o.nexterns = extern_opts[i].n;
        }
    fg_described *ds;
    size_t n;
    char *source;
    char err[1024];
    if (!fg_describe_file(path, &o, &ds, &n, &source, err, sizeof err)) {
        fprintf(stderr, "FAIL %s: %s\n", path, err);
        failures++;
        return;
    }
    int before = failures;
    size_t want = count_versions(source);
    if (n != want) {
        fprintf(stderr, "FAIL %s: %zu descriptions, %zu versions in the text\n", path, n, want);
        failures++;
    }
    for (size_t i = 0; i < n; i++) {
        char what[512];
        snprintf(what, sizeof what, "%s %s.%s", path, ds[i].prog_name, ds[i].vers_name);
        far_desc d;
        if (!desc_decode(ds[i].desc, ds[i].len, &d, what)) {
            failures++;
            continue;
        }
        desc_validate(&d, ds[i].desc, ds[i].len, what);
        CHECK_U(d.prog, ds[i].prog);
        CHECK_U(d.vers, ds[i].vers);
        CHECK_STR(d.prog_name, ds[i].prog_name);
        CHECK_STR(d.vers_name, ds[i].vers_name);
        CHECK(d.procs.procs_len > 0);
        far_desc_free(&d);
        versions++;
    }
    if (failures == before)
        printf("ok %s: %zu program versions\n", path, n);
    files++;
    fg_described_free(ds, n);
    free(source);
}

int main(int argc, char **argv)
{
    static const char *const dirs[] = {"/usr/include/rpcsvc/*.x", "/usr/include/tirpc/rpcsvc/*.x"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        glob_t g;
        /* a missing corpus fails the test rather than shrinking it */
        if (glob(dirs[i], 0, NULL, &g) != 0 || g.gl_pathc == 0) {
            fprintf(stderr, "FAIL: no %s (install rpcsvc-proto and libtirpc-dev)\n", dirs[i]);
            failures++;
            continue;
        }
        for (size_t k = 0; k < g.gl_pathc; k++)
            one(g.gl_pathv[k]);
        globfree(&g);
    }
    for (int i = 1; i < argc; i++)
        one(argv[i]);
    printf("%d files, %d program versions described\n", files, versions);
    if (failures) {
        fprintf(stderr, "fargen_desc_corpus: %d checks failed\n", failures);
        return 1;
    }
    return 0;
}
