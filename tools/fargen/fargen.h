/* fargen — internal interfaces of the stub compiler.
 *
 * Stages, each in its own file:  lex.c (tokens, line markers, % lines) →
 * parse.c (AST) → check.c (names, types, constants) → emit_*.c (one emitter per
 * output file).  main.c runs cpp, the stages and writes the outputs.
 *
 * Every allocation of a compilation comes from its fg_unit's pool and is freed
 * with fg_unit_free, so a failed compilation (the first error ends it, through
 * longjmp back to fg_compile) leaks nothing.  This is what lets the fuzz
 * harness drive the front end in-process.
 */
#ifndef FARGEN_H
#define FARGEN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------- text output */

typedef struct fg_buf {
    char *data;
    size_t len, cap;
    bool failed; /* an allocation failed; the content is incomplete */
} fg_buf;

void fg_buf_put(fg_buf *b, const char *s, size_t n);
void fg_buf_puts(fg_buf *b, const char *s);
void fg_printf(fg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fg_vprintf(fg_buf *b, const char *fmt, va_list ap);
void fg_buf_free(fg_buf *b);

/* ---------------------------------------------------------------- lexing */

typedef struct fg_loc {
    const char *file; /* as named by the line markers (or the input name) */
    int line, col;
} fg_loc;

typedef enum fg_tok_kind {
    TK_EOF,
    TK_IDENT,
    TK_NUM,    /* decimal, 0x hex or 0 octal, possibly with a leading '-' */
    TK_CHAR,   /* 'c' character constant */
    TK_PUNCT,  /* one of { } ( ) [ ] < > ; , = : * */
    TK_STRING, /* "..." (rpcgen accepts string constants) */
    TK_PASS,   /* a % line; text is what follows the % */
} fg_tok_kind;

typedef struct fg_tok {
    fg_tok_kind kind;
    const char *text; /* NUL-terminated copy */
    fg_loc loc;
    int sem; /* a semantics annotation (fg_sem) right before it, else FG_SEM_NONE */
} fg_tok;

/* A procedure's semantics annotation (`/ *@ idempotent * /` before its line;
 * far_semantics in <farcall/rpc.h>, whose numbers these are). */
typedef enum fg_sem {
    FG_SEM_NONE = 0,
    FG_SEM_MAYBE = 1,
    FG_SEM_AT_LEAST_ONCE = 2,
    FG_SEM_AT_MOST_ONCE = 3,
    FG_SEM_EXACTLY_ONCE = 4,
} fg_sem;

/* ------------------------------------------------------------------- AST */

typedef enum fg_base {
    FG_VOID,
    FG_INT,    /* int, long, int32_t ... : int32_t */
    FG_UINT,   /* unsigned [int|long], uint32_t ... : uint32_t */
    FG_HYPER,  /* int64_t */
    FG_UHYPER, /* uint64_t */
    FG_FLOAT,
    FG_DOUBLE,
    FG_QUAD, /* quadruple: far_quad */
    FG_BOOL,
    FG_CHAR,   /* int8_t, 4 bytes on the wire */
    FG_UCHAR,  /* uint8_t */
    FG_SHORT,  /* int16_t */
    FG_USHORT, /* uint16_t */
    FG_STRING,
    FG_OPAQUE,
    FG_NAMED,  /* a reference to a named type (def after check) */
    FG_INLINE, /* an inline struct/union/enum body (def) */
} fg_base;

struct fg_def;

typedef struct fg_type {
    fg_base base;
    const char *name;   /* FG_NAMED: as written */
    int prefix;         /* FG_NAMED: 's', 'u', 'e' for struct/union/enum X, else 0 */
    bool is_long;       /* written as long / unsigned long (rpcgen: C long) */
    struct fg_def *def; /* FG_NAMED: resolved; FG_INLINE: the body */
    fg_loc loc;
} fg_type;

typedef enum fg_declkind { FG_D_PLAIN, FG_D_FIXED, FG_D_VAR, FG_D_OPT } fg_declkind;

/* A constant as used in a bound, a case label or an enum value. */
typedef struct fg_value {
    fg_loc loc;
    const char *text; /* as written: "0x10", "-1", "'a'", "MAXNAMELEN" */
    bool is_ident;
    bool is_char;
    bool is_string; /* const X = "...": usable in C only */
    bool unknown;   /* an identifier the .x does not define (C code must) */
    bool escape;    /* an identifier the .x defines: written fg_id(text) in C */
    int64_t v;      /* literal: at parse time; identifier: after check */
} fg_value;

typedef struct fg_decl {
    fg_loc loc;
    fg_type type;
    fg_declkind kind;
    const char *name; /* NULL for void */
    fg_value *bound;  /* FIXED: the size; VAR: the maximum or NULL for <> */
    uint32_t max;     /* after check: FIXED size, VAR maximum (UINT32_MAX for <>) */
    /* C member names of a variable-length array; NULL: NAME_len, NAME_val */
    const char *len_name, *val_name;
} fg_decl;

typedef struct fg_enumval {
    fg_loc loc;
    const char *name;
    fg_value *value; /* NULL: previous + 1 (rpcgen accepts this) */
    int64_t v;
} fg_enumval;

typedef struct fg_arm {
    fg_loc loc;
    fg_value **labels;
    int nlabels;  /* 0 for default */
    fg_decl decl; /* decl.type.base == FG_VOID for a void arm */
} fg_arm;

typedef struct fg_proc {
    fg_loc loc;
    const char *name;
    fg_type res;
    fg_type *args;
    int nargs; /* 1 with args[0].base == FG_VOID for (void) */
    fg_value num;
    uint32_t number;
    fg_sem sem; /* its annotation, FG_SEM_NONE if none (at-most-once) */
} fg_proc;

typedef struct fg_version {
    fg_loc loc;
    const char *name;
    fg_proc *procs;
    int nprocs;
    fg_value num;
    uint32_t number;
} fg_version;

typedef enum fg_defkind {
    FG_CONST,
    FG_TYPEDEF,
    FG_ENUM,
    FG_STRUCT,
    FG_UNION,
    FG_PROGRAM,
    FG_PASS,
} fg_defkind;

typedef struct fg_def {
    fg_defkind kind;
    fg_loc loc;
    const char *name; /* NULL for an inline body */
    /* an inline body: the name of the declaration that introduced it, used
     * for the union's "NAME_u" member */
    const char *uname;
    bool is_inline;
    bool is_netobj;          /* libtirpc's netobj (check.c), defined by the header */
    bool from_pass;          /* a const learnt from a %#define line (C defines it) */
    bool is_extern;          /* an external type (fg_extern); opaque to the emitters */
    bool ext_arg;            /* external: a procedure's only argument (needs adapters) */
    bool ext_res;            /* external: a procedure's result (needs adapters) */
    struct fg_def *ext_user; /* external: the first definition using it */
    fg_value value;          /* const */
    fg_decl decl;            /* typedef */
    fg_enumval *vals;        /* enum */
    int nvals;
    fg_decl *members; /* struct */
    int nmembers;
    fg_decl disc; /* union */
    fg_arm *arms; /* union; a default arm, if any, is last */
    int narms;
    bool has_default;
    fg_version *vers; /* program */
    int nvers;
    fg_value num;
    uint32_t number;
    const char *text; /* pass-through line */
    /* set by check */
    bool is_list;    /* struct whose last member is optional data of its own type */
    bool recursive;  /* can reach itself (through optional data or arrays) */
    bool needs_free; /* holds pointers */
    bool proc_type;  /* a procedure's argument or result: gets T_encode_any / T_decode_any */
    uint64_t min_wire;
    int state;  /* check's DFS marks: minimum wire size */
    int fstate; /* needs_free */
    int mark;   /* recursion search */
} fg_def;

/* ------------------------------------------------------------ compilation */

typedef struct fg_pool_block fg_pool_block;

/* A type defined outside the .x (--extern NAME[=HEADER] or a comment
 * `/ *@ extern NAME * /` in the .x): its C type and NAME_encode, NAME_decode and
 * NAME_free of fargen's signatures come from elsewhere. */
typedef struct fg_extern {
    const char *name;
    const char *header; /* --extern NAME=HEADER: foo.h includes it; else NULL */
    fg_loc loc;
} fg_extern;

typedef struct fg_unit {
    const char *input_name; /* the .x file as given (for banners, guards) */
    fg_def **defs;
    int ndefs, capdefs;
    /* lexer state */
    const char *src, *p, *end;
    const char *file; /* current file per line markers */
    int line;
    const char *line_start;
    fg_tok tok, peek;
    bool have_peek;
    int nesting;
    /* memory */
    fg_pool_block *pool;
    /* symbols (check) */
    struct fg_sym *syms;
    int nsyms, capsyms;
    /* external types: from the command line (set before fg_compile), then
     * those the .x declares (lexer); each becomes a def in exts (check) */
    const fg_extern *cmd_externs;
    int ncmd_externs;
    fg_extern *externs;
    int nexterns, capexterns;
    /* lex: the semantics annotation read since the last token (fg_sem), given
     * to the next one */
    int pending_sem;
    bool sem_ok; /* parse: the next token starts a procedure (may carry one) */
    fg_def **exts;
    int nexts;
    fg_def *netobj;      /* libtirpc's netobj, when the .x uses it */
    fg_def *netobj_user; /* the first definition using it: its C comes first */
    fg_def *cur_def;     /* check: the definition being checked */
    /* the first error */
    jmp_buf fail;
    char err[512];
} fg_unit;

/* Outputs fargen can produce (fg_options.outputs is a mask of these). */
enum {
    FG_OUT_H = 1,
    FG_OUT_XDR = 2,
    FG_OUT_CLNT = 4,
    FG_OUT_SVC = 8,
    FG_OUT_SAMPLE_CLNT = 16,
    FG_OUT_SAMPLE_SVC = 32,
    FG_OUT_TEST = 64, /* hidden: random values and equality for the differential tests */
};

void *fg_alloc(fg_unit *u, size_t n); /* zeroed; never NULL (fails the unit) */
char *fg_strdup(fg_unit *u, const char *s, size_t n);
_Noreturn void fg_fail(fg_unit *u, fg_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Front end: lexes, parses and checks `len` bytes (already preprocessed, or
 * plain .x text; `# N "file"` markers are honoured) named `name`.  Returns
 * true on success; on failure u->err holds "file:line:col: error: ...". */
bool fg_compile(fg_unit *u, const char *src, size_t len, const char *name);
void fg_unit_free(fg_unit *u);

/* front.c: the .x file as fargen reads it.  Both return malloc'd text
 * (NUL-terminated, *len bytes before the NUL), or NULL with the reason in
 * err ("PATH: No such file or directory"; no "fargen:" prefix). */
char *fg_read_file(const char *path, size_t *len, char *err, size_t errlen);
/* How to run the preprocessor: the program (NULL: "cpp") and the -D / -I
 * options for it, in order. */
typedef struct fg_cpp {
    const char *cpp;
    const char *const *args;
    int nargs;
} fg_cpp;
/* Runs `cpp -C -DDEFINE -IDIR-OF-INPUT ARGS... input` (as rpcgen does, with
 * RPC_HDR, RPC_XDR, RPC_CLNT or RPC_SVC as DEFINE) and returns its output. */
char *fg_preprocess(const fg_cpp *c, const char *input, const char *define, size_t *len, char *err,
                    size_t errlen);

/* lex.c */
void fg_lex_init(fg_unit *u, const char *src, size_t len, const char *name);
fg_tok fg_next(fg_unit *u);
fg_tok fg_peek(fg_unit *u);

/* parse.c */
void fg_parse(fg_unit *u);

/* check.c */
void fg_check(fg_unit *u);
/* The C identifier of a .x name that is one by itself (a type, member, enum
 * value, constant, program, version or procedure #define): the name, or for
 * a C++ (or C23) keyword the name with a trailing underscore ("delete_").
 * Names built from a .x name (T_encode, proc_1, NAME_len) use the .x name. */
const char *fg_id(const char *name);
bool fg_is_escaped(const char *name);
/* The impl struct's member of a procedure: fg_id of its name in lower case. */
const char *fg_impl_member(fg_unit *u, const char *proc);
fg_def *fg_lookup_type(fg_unit *u, const char *name);
/* Follows typedefs of plain declarations: the declaration whose kind and
 * element type say how a value of `d` is encoded. */
const fg_decl *fg_canon(const fg_decl *d);
/* The struct/union/enum body a plain type names (through typedefs), or NULL. */
fg_def *fg_body(const fg_type *t);
uint64_t fg_min_wire(const fg_decl *d);
bool fg_decl_needs_free(const fg_decl *d);

/* emit_desc.c: the far_desc (src/dyn/far_reflect.x) of version v of program
 * prog of a checked unit, XDR-encoded (*len bytes, from u's pool).  Fails the
 * unit (fg_fail) where the .x exceeds far_reflect.x's bounds (a name longer
 * than 256 bytes, more than 65536 types). */
const uint8_t *fg_desc_build(fg_unit *u, const fg_def *prog, const fg_version *v, size_t *len);

/* emit_common.c */
typedef struct fg_emit {
    fg_unit *u;
    fg_buf *out;
    const char *base;  /* "foo" for foo.x */
    const char *xname; /* "foo.x" (basename of the input) */
    int tmp;           /* counter for unique local names */
    /* foo_svc.c: the .x file's text as read from disk (NULL: none embedded)
     * and whether to leave the type descriptions out (--no-desc) */
    const char *source;
    size_t source_len;
    bool no_desc;
} fg_emit;

void fg_banner(fg_emit *e, const char *what);
void fg_where(fg_emit *e, fg_loc loc);              /* the "/ * foo.x:LINE * /" pointer */
const char *fg_ctype(fg_emit *e, const fg_type *t); /* C type of one element */
/* Declares `xname` (a .x name, written fg_id(xname)) of declaration d. */
void fg_declare(fg_emit *e, const fg_decl *d, const char *xname, int indent);
void fg_indent(fg_buf *b, int n);
const char *fg_lower(fg_unit *u, const char *s);
/* A constant as C code writes it (fg_id of a name the .x defines). */
const char *fg_value_text(const fg_value *v);
const char *fg_label_text(const fg_value *v);
/* The .x name of a named type, for names built from it (T_encode ...);
 * fg_ctype gives its C type (fg_id). */
const char *fg_type_name(const fg_type *t);
const char *fg_max_text(fg_unit *u, const fg_decl *d);
bool fg_is_bulk32(const fg_decl *canon_elem);
bool fg_is_bulk64(const fg_decl *canon_elem);
/* The element declaration of an array or optional declaration d. */
fg_decl fg_elem(const fg_decl *d);
const char *fg_len_name(fg_unit *u, const fg_decl *d);
const char *fg_val_name(fg_unit *u, const fg_decl *d);
/* The C type (for a parameter) of a procedure's argument/result type. */
const char *fg_param_type(fg_emit *e, const fg_type *t);
/* Names of a procedure's stubs. */
const char *fg_proc_stub(fg_emit *e, const fg_proc *p, const fg_version *v);
/* FAR_SEM_MAYBE ... for an annotation (far_semantics in <farcall/rpc.h>). */
const char *fg_sem_name(fg_sem sem);
const char *fg_prog_name(fg_emit *e, const fg_def *prog, const fg_version *v);
/* The far_xdr_encode_fn / far_xdr_decode_fn of a procedure's argument or
 * result type: the library's far_xdr_TAG_{en,de}code_any for a built-in type,
 * else T_{en,de}code_any (declared in foo.h, defined in foo_xdr.c). */
const char *fg_adapter_name(fg_emit *e, const fg_type *t, bool encode);
/* The static adapters of external types for foo_clnt.c (client) or foo_svc.c. */
void fg_emit_extern_adapters(fg_emit *e, bool client);
const char *fg_arg_type_name(fg_emit *e, const fg_proc *p, const fg_version *v);
const char *fg_arg_params(fg_emit *e, const fg_proc *p);
const char *fg_res_ctype(fg_emit *e, const fg_proc *p);
const char *fg_client_params(fg_emit *e, const fg_proc *p, bool async);
const char *fg_server_params(fg_emit *e, const fg_proc *p);
/* Is t (through typedefs) a fixed-length array? */
bool fg_is_array_type(const fg_type *t);
fg_def *fg_arg_struct(fg_emit *e, const fg_proc *p, const fg_version *v);
const char *fg_fmt(fg_unit *u, const char *f, ...) __attribute__((format(printf, 2, 3)));
/* One line of output at indent `ind` (printf-style); a member and the address
 * of a value expression (see emit_common.c). */
void fg_line(fg_emit *e, int ind, const char *f, ...) __attribute__((format(printf, 3, 4)));
const char *fg_member(fg_emit *e, const char *x, const char *xname);
const char *fg_addr_of(fg_emit *e, const char *x);

/* the emitters; each appends one output file to e->out */
void fg_emit_pass_lines(fg_emit *e); /* every % line, for the .c outputs */
void fg_emit_h(fg_emit *e);
void fg_emit_xdr(fg_emit *e);
void fg_emit_clnt(fg_emit *e);
void fg_emit_svc(fg_emit *e);
void fg_emit_sample_clnt(fg_emit *e);
void fg_emit_sample_svc(fg_emit *e);
void fg_emit_test(fg_emit *e);

#endif
