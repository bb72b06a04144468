/* fargen's front end as a library: the type descriptions of a .x file.
 *
 * `far call --x FILE.x` calls a classic ONC RPC server (one that does not
 * serve FAR_REFLECT) with the types of a .x file.  fg_describe_file reads
 * that file exactly as fargen does -- the same preprocessing, lexer, parser,
 * checks and description builder -- and returns per program version the
 * far_desc (src/dyn/far_reflect.x) that fargen embeds in foo_svc.c, byte for
 * byte (with the options that fargen was given).  far_dyn_load
 * (<farcall/dyn.h>) takes those bytes.
 *
 * Link the static library fargen_core (tools/fargen); it does not need
 * libfarcall.  Thread safety: fg_describe_file may be called from one thread
 * at a time (the checker keeps a little state of its own).
 */
#ifndef FG_DESC_H
#define FG_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One program version of the .x file. */
typedef struct fg_described {
    uint32_t prog, vers; /* the program and version numbers */
    char *prog_name;     /* "CALC_PROG" */
    char *vers_name;     /* "CALC_V1" */
    uint8_t *desc;       /* the far_desc, XDR-encoded */
    size_t len;          /* bytes at desc */
} fg_described;

/* How to read the file; a zeroed struct (or NULL) is fargen's defaults. */
typedef struct fg_describe_opts {
    const char *const *cpp_args; /* "-DNAME[=VALUE]", "-IDIR", as fargen's -D and -I, in order */
    int ncpp_args;
    bool no_cpp;                /* fargen --no-cpp: the file as it is */
    const char *cpp;            /* fargen -Y: the preprocessor; NULL: "cpp" */
    const char *const *externs; /* fargen --extern NAME: types defined outside the file */
    int nexterns;
} fg_describe_opts;

/* Reads, preprocesses (cpp -C -DRPC_SVC -IDIR-OF-PATH CPP_ARGS..., as fargen
 * does for foo_svc.c), compiles and describes the .x file at `path`.
 *
 * On success returns true, *out (malloc'd, free with fg_described_free)
 * holds *n program versions in source order (*n may be 0: a file of types
 * only), and *source, if `source` is not NULL, the file's text as read from
 * disk (malloc'd, NUL-terminated; free()).  On failure returns false with
 * nothing allocated, *out NULL, *n 0, and the reason in err (errlen bytes,
 * NUL-terminated): fargen's message, such as "calc.x:3:7: error: unknown
 * type 'foo' ...", "PATH: No such file or directory", "PATH: the
 * preprocessor (cpp) failed" (cpp's own messages go to standard error), or
 * "out of memory".  `path`, `out` and `n` must not be NULL. */
bool fg_describe_file(const char *path, const fg_describe_opts *opts, fg_described **out, size_t *n,
                      char **source, char *err, size_t errlen);

/* Frees what fg_describe_file returned; fg_described_free(NULL, 0) does
 * nothing. */
void fg_described_free(fg_described *v, size_t n);

#ifdef __cplusplus
}
#endif

#endif
