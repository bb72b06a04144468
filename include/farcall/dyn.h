/* farcall/dyn.h — dynamic calls: call any procedure with no stubs, its
 * arguments and results as JSON, its types from a description.
 *
 * A description (far_desc of far_reflect.x, XDR-encoded) is what fargen
 * embeds in a program's far_program_desc, what a farcall server's reflection
 * program FAR_REFLECT answers (far_dyn_fetch), and what fargen's front end
 * builds from a .x file (`far call --x`).  far_dyn_load checks it whole; the
 * functions below then encode JSON to XDR and decode XDR to JSON by it.
 * `far describe` and `far call` are written on this API; a gateway or a
 * scripting binding can use it the same way.
 *
 * The JSON mapping (docs/dynamic.md), the same both ways:
 *   int, unsigned, short, char ....... number (range-checked)
 *   hyper, unsigned hyper ............ decimal string; a JSON integer is
 *                                      accepted within +-2^53
 *   float, double .................... number; "NaN", "Infinity", "-Infinity"
 *   quadruple ........................ hex string of its 16 bytes (lossless);
 *                                      a number is accepted
 *   bool ............................. true / false
 *   enum ............................. its name (a value with no name: the
 *                                      number); name or number accepted
 *   opaque[n], opaque<n> ............. base64 (RFC 4648 §4, padded); base64url
 *                                      and missing padding accepted
 *   string<n> ........................ a string (valid UTF-8, at most n bytes)
 *   T[n], T<n> ....................... an array (count checked)
 *   *T ............................... null or the value
 *   struct ........................... an object, members in .x order;
 *                                      unknown or missing members are errors
 *   union ............................ {"<discriminant>": d, "<arm>": v} (no
 *                                      arm member for a void arm)
 *   void ............................. null (or nothing)
 *   a procedure's arguments .......... the one argument's value; for several
 *                                      (rpcgen -N style), an array of them
 *
 * Errors: FAR_EJSON with far_last_error() naming the field
 * ("args.tags[1].key: expected a string of at most 16 bytes, got 17") for
 * JSON that does not fit; FAR_EPROTO for a description that does not hold
 * together; the call's own errors (farcall/rpc.h) otherwise.  Nothing here
 * allocates more than the input's size bounds, and nesting is bounded
 * (FAR_DYN_MAX_DEPTH).
 *
 * Thread: a far_dyn is immutable once loaded; any number of threads may use
 * one at once.  Strings returned are malloc'd: free() them. */
#ifndef FARCALL_DYN_H
#define FARCALL_DYN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "farcall/err.h"
#include "farcall/rpc.h"
#include "farcall/xdr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The well-known program number of FAR_REFLECT (far_reflect.x), version 1. */
#define FAR_REFLECT_PROGRAM 0x20fa0b1eu
#define FAR_REFLECT_VERSION 1u

/* Deepest nesting of JSON values and of XDR values decoded to JSON (a list
 * linked through optional data nests one level per element: a longer one is
 * refused with FAR_ELIMIT naming this limit).  Under jansson's own 2048. */
#define FAR_DYN_MAX_DEPTH 2000

/* One program version's description, loaded and checked. */
typedef struct far_dyn far_dyn;

/* Loads `len` bytes of an XDR-encoded far_desc.  Checks every type index,
 * bound and name; refuses a type that contains itself other than through
 * optional data or a variable-length array (it would have no finite value).
 * FAR_OK and *out, or FAR_EPROTO (far_last_error says what is wrong) or
 * FAR_ENOMEM.  The bytes are not kept. */
FAR_NODISCARD far_err far_dyn_load(far_dyn **out, const uint8_t *desc, size_t len);
void far_dyn_free(far_dyn *d);

uint32_t far_dyn_prog(const far_dyn *d);
uint32_t far_dyn_vers(const far_dyn *d);
const char *far_dyn_prog_name(const far_dyn *d); /* "CALC_PROG" */
const char *far_dyn_vers_name(const far_dyn *d); /* "CALC_V1" */

/* One procedure of the description. */
typedef struct far_dyn_proc {
    uint32_t proc;
    const char *name; /* as in the .x: "CALCPROC_EVAL" */
    unsigned nargs;   /* 0: void */
    bool void_result;
} far_dyn_proc;

size_t far_dyn_nprocs(const far_dyn *d);
/* The i-th procedure (0 <= i < far_dyn_nprocs), in .x order. */
far_dyn_proc far_dyn_proc_at(const far_dyn *d, size_t i);
/* Finds a procedure by its .x name (case-insensitive) or its number
 * ("1", "0x1").  FAR_OK and *out, or FAR_EPROC_UNAVAIL with far_last_error
 * listing the procedures there are. */
FAR_NODISCARD far_err far_dyn_find_proc(const far_dyn *d, const char *name_or_number,
                                        far_dyn_proc *out);

/* JSON to XDR: encodes `json` (`len` bytes, not NUL-terminated necessarily)
 * as procedure `proc`'s arguments (far_dyn_encode_args) or result
 * (far_dyn_encode_res) onto e. */
FAR_NODISCARD far_err far_dyn_encode_args(const far_dyn *d, uint32_t proc, const char *json,
                                          size_t len, far_xdr_enc *e);
FAR_NODISCARD far_err far_dyn_encode_res(const far_dyn *d, uint32_t proc, const char *json,
                                         size_t len, far_xdr_enc *e);

/* Flags of the decoders. */
#define FAR_DYN_PRETTY 1u /* indented, one member per line (default: compact) */

/* XDR to JSON: decodes procedure `proc`'s arguments or result from dec (to
 * its end: trailing bytes are an error) and returns the JSON text in *json
 * (malloc'd, NUL-terminated). */
FAR_NODISCARD far_err far_dyn_decode_args(const far_dyn *d, uint32_t proc, far_xdr_dec *dec,
                                          unsigned flags, char **json);
FAR_NODISCARD far_err far_dyn_decode_res(const far_dyn *d, uint32_t proc, far_xdr_dec *dec,
                                         unsigned flags, char **json);

/* The same for a type of the description by its .x name ("request"). */
FAR_NODISCARD far_err far_dyn_encode_type(const far_dyn *d, const char *type, const char *json,
                                          size_t len, far_xdr_enc *e);
FAR_NODISCARD far_err far_dyn_decode_type(const far_dyn *d, const char *type, far_xdr_dec *dec,
                                          unsigned flags, char **json);

/* Calls procedure `proc` of the description's program and version on c
 * with `json_args` (NUL-terminated; NULL or "" or "null" for void) and
 * returns the result as JSON in *json_res (malloc'd; "null" for void).  The
 * call's outcome as far_client_call's. */
FAR_NODISCARD far_err far_dyn_call(far_client *c, const far_dyn *d, uint32_t proc,
                                   const char *json_args, unsigned flags, char **json_res,
                                   const far_call_opts *opts);

/* The path of the JSON value byte `offset` of `json` (its first `len`
 * bytes: a prefix of a document will do) is in, from `root`: "args.tags[1].key"
 * (`root` "args").  For messages about text that cannot be parsed whole (a
 * line longer than a reader takes).  Writes at most n bytes, NUL-terminated. */
void far_dyn_json_path(const char *json, size_t len, size_t offset, const char *root, char *out,
                       size_t n);

/* The description as .x source text: its constants and types in order, then
 * the program with this one version (malloc'd).  fargen compiles it back to
 * the same description. */
FAR_NODISCARD far_err far_dyn_to_x(const far_dyn *d, char **text);

/* ------------------------------------------------------ reflection */

/* One program version a server serves, as FAR_REFLECT_LIST tells. */
typedef struct far_dyn_entry {
    uint32_t prog;
    uint32_t vers;
    char prog_name[257]; /* "" if the descriptor has none */
    char vers_name[257];
    bool has_desc; /* compiled with a description (fargen does) */
} far_dyn_entry;

/* Asks the server c is open on what it serves: *entries (malloc'd, *n of
 * them).  FAR_EPROG_UNAVAIL: the server does not serve FAR_REFLECT (a
 * classic ONC RPC server, or far_server_opts.no_reflect). */
FAR_NODISCARD far_err far_dyn_list(far_client *c, far_dyn_entry **entries, size_t *n,
                                   const far_call_opts *opts);

/* Fetches and loads the description of program `prog` version `vers` from
 * the server c is open on; with `source` non-NULL, also the .x text the
 * server's program was compiled from (malloc'd; NULL if it has none).
 * FAR_EPROG_UNAVAIL: the server does not serve FAR_REFLECT;
 * FAR_EPROG_MISMATCH: it does not serve that program version; FAR_ENODESC:
 * it does, with no description (a hand-written descriptor). */
FAR_NODISCARD far_err far_dyn_fetch(far_client *c, uint32_t prog, uint32_t vers, far_dyn **out,
                                    char **source, const far_call_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
