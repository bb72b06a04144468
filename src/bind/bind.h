/* The binder layer (src/bind): a client of RFC 1833 binders, and the
 * registrar and resolver that src/hooks.c hands to the server and the client
 * (neither of which knows this layer).  The rest of this header is shared by
 * the layer's own files, each one job:
 *   proto.c      the binder protocol as registration, lookup and names speak
 *                it: shared codecs, one call, falling back to older
 *                versions, the owner a binder records, the PMAP v2 form
 *   uaddr.c      addresses <-> universal addresses, netids
 *   lookup.c     the binder client: finding and opening a binder, looking up
 *                a program version, resolving dynamic addresses
 *   names.c      program names: /etc/rpc and farbind's names program
 *   registrar.c  registering and unregistering, and the registrar servers use
 *
 * Speaks RFC 1833 to rpcbind or farbind: rpcbind v4 and v3 (RPCBPROC_SET,
 * UNSET, GETADDR) and, for a binder that only knows the portmapper, PMAP v2
 * (SET, UNSET, GETPORT).  Everything a binder sends back is checked before
 * use: strings are bounded and universal addresses are parsed strictly
 * (far_bind_uaddr_to_addr). */
#ifndef FARCALL_BIND_INTERNAL_H
#define FARCALL_BIND_INTERNAL_H

#include "hooks.h"

#include "farcall/bind.h"

/* Registers every program version in progs[0..n) on every address in
 * addrs[0..naddrs) (address strings as far_server_listen reports them) with
 * the local binder, and each program's name (farbind keeps names).  An entry
 * the binder holds already is replaced only if it is this address or dead
 * (its server does not answer); a live one is left.  *reg receives what
 * far__bind_unregister_all undoes (NULL: nothing registered).  Returns
 * FAR_OK if everything was registered (or FARCALL_BINDER is "none"), else
 * the first failure -- FAR_ENOBINDER, FAR_EADDRINUSE (a live server holds
 * the entry), FAR_EAUTH (refused) -- with its reason in far_last_error();
 * every failure is logged as a warning.  Blocks for at most a few seconds
 * per binder tried. */
far_err far__bind_register_all(const far__prog_vers *progs, size_t n, const char *const *addrs,
                               size_t naddrs, void **reg);

/* Unregisters (and frees) what far__bind_register_all registered: only the
 * entries still holding this server's addresses, and a name only when no
 * server of its program is left registered. */
void far__bind_unregister_all(void *reg);

/* ------------------------------------------------ shared by src/bind's files */

#define BIND_TIMEOUT_MS 2000
#define MAX_STR         255 /* strings a binder sends: netids, addresses, owners */
#define RPCBVERS        3
#define RPCBVERS4       4
#define PMAPVERS        2
#define PROC_SET        1
#define PROC_UNSET      2
#define PROC_GETADDR    3 /* PMAPPROC_GETPORT in version 2 */
#define PROC_DUMP       4
#define NAMES_VERS      1
#define NAMES_SET       1
#define NAMES_UNSET     2
#define NAMES_LOOKUP    3

/* codecs (proto.c) */

typedef struct rpcb_args {
    uint32_t prog, vers;
    const char *netid, *addr, *owner;
} rpcb_args;

bool far__bind_enc_rpcb(far_xdr_enc *e, const void *v);

typedef struct mapping_args {
    uint32_t prog, vers, prot, port;
} mapping_args;

bool far__bind_enc_mapping(far_xdr_enc *e, const void *v);

bool far__bind_dec_bool(far_xdr_dec *d, void *v);
bool far__bind_dec_u32(far_xdr_dec *d, void *v);

/* One call to the binder c, bounded by BIND_TIMEOUT_MS (proto.c). */
far_err far__bind_call(far_client *c, uint32_t prog, uint32_t vers, uint32_t proc,
                       far_xdr_encode_fn enc, const void *args, far_xdr_decode_fn dec, void *res);

/* True if rc says the binder lacks that version (or program or procedure):
 * the caller tries an older one (proto.c). */
bool far__bind_version_missing(far_err rc);

/* The owner a binder records for this process's registrations and names:
 * "superuser" or the effective uid (proto.c). */
void far__bind_owner_of_self(char *buf, size_t n);

/* The PMAP v2 protocol number and port of (netid, uaddr); false if v2 cannot
 * say it (proto.c). */
bool far__bind_pmap_form(const char *netid, const char *uaddr, uint32_t *prot, uint32_t *port);

/* farbind's names program: arguments of SET, and one name (names.c). */
typedef struct far__bind_name_args {
    const char *name;
    uint32_t prog;
    const char *owner;
} far__bind_name_args;

bool far__bind_enc_name_args(far_xdr_enc *e, const void *v);
bool far__bind_enc_name(far_xdr_enc *e, const void *v); /* const char *const * */

/* True if s is a valid program name: 1..FAR_BIND_MAX_NAME of [A-Za-z0-9_.-]. */
bool far__bind_name_ok(const char *s);

/* True if n is a netid this layer knows (uaddr.c). */
bool far__bind_netid_ok(const char *n);

#endif
