/* farcall — dynamic binding through a binder (rpcbind or farbind).
 *
 * A binder maps (program, version, transport) to the address a server
 * listens on (RFC 1833).  farcall servers register every program version on
 * every address they listen on when far_server_start runs, and unregister when
 * they stop; clients open "PROG/VERS@HOST" and the library asks HOST's binder
 * for the address (far_client_open accepts such a string directly).
 *
 * Which binder.  For the local host the library tries, in order:
 *   1. $FARCALL_BINDER, if set: one address or a comma-separated list
 *      ("unix:/tmp/fb.sock,tcp://127.0.0.1:7111"); "none" turns binding off
 *      (servers do not register, dynamic addresses fail with FAR_EADDR);
 *   2. the system rpcbind: unix:/run/rpcbind.sock, then tcp://127.0.0.1:111;
 *   3. farbind's unprivileged default: unix:/tmp/farbind.sock, then
 *      tcp://127.0.0.1:7111.
 * For another host: tcp://HOST:111, then udp://HOST:111.
 *
 * Dynamic addresses:
 *   PROG/VERS[/NETID][@WHERE]
 * PROG is a number or a name (/etc/rpc, then the names registered with the
 * binder, which holds the .x program name of every farcall server registered
 * with farbind: "KV_PROG/2"); VERS a number; NETID one of tcp, udp, tcp6, udp6, local (default:
 * tcp, then tcp6, udp, udp6, local -- the first one registered); WHERE a host
 * name or address literal (default: the local host) or a binder address string
 * ("tcp://127.0.0.1:7111", "unix:/tmp/fb.sock").
 *
 * A client opened on a dynamic address looks it up again (after 100 ms,
 * doubling to 5 s between tries) whenever its connection is lost or
 * refused, so a server restarted on another port is found without reopening.
 *
 * Errors (far_last_error() holds the message): FAR_ENOBINDER no binder
 * answered (none of the candidates); FAR_ENOTREG the binder has no such
 * registration (no server was asked); FAR_EADDR a malformed dynamic address
 * or unknown program name.  Every
 * function here may be called from any thread; each call is synchronous and
 * bounded by a short timeout (2 s per binder contacted).
 */
#ifndef FARCALL_BIND_H
#define FARCALL_BIND_H

#include <stddef.h>
#include <stdint.h>

#include "farcall/rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FAR_BIND_PROG         100000u /* RFC 1833: portmapper / rpcbind */
#define FAR_BIND_PORT         111
#define FAR_BIND_SYSTEM_UNIX  "/run/rpcbind.sock"
#define FAR_BIND_DEFAULT_UNIX "/tmp/farbind.sock"
#define FAR_BIND_DEFAULT_PORT 7111
#define FAR_BIND_NAMES_PROG   0x20fa0b1du /* farbind's names program, version 1 */
#define FAR_BIND_MAX_NAME     64
#define FAR_BIND_MAX_ADDR     256 /* longest address string these functions produce */

/* Converts an address string ("tcp://127.0.0.1:5000", "udp://[::1]:9",
 * "unix:/path") into an RFC 1833 netid ("tcp", "udp6", "local") and universal
 * address ("127.0.0.1.19.136", "::1.0.9", "/path").  FAR_EADDR if malformed. */
FAR_NODISCARD far_err far_bind_addr_to_uaddr(const char *addr, char *netid, size_t netid_len,
                                             char *uaddr, size_t uaddr_len);

/* The reverse: netid + universal address to an address string.  Checks the
 * universal address strictly (digits, ranges, length), so a hostile binder
 * cannot smuggle anything through.  FAR_EADDR if malformed. */
FAR_NODISCARD far_err far_bind_uaddr_to_addr(const char *netid, const char *uaddr, char *addr,
                                             size_t addr_len);

/* Opens a client to the binder of `where` (NULL or "" for the local host; see
 * the top of this file), trying each candidate in order.  On success *out owns
 * the client and, if `used` is not NULL, it receives the binder's address.
 * FAR_ENOBINDER (with the addresses tried in far_last_error()) if none
 * answers. */
FAR_NODISCARD far_err far_bind_open(far_client **out, const char *where, char *used,
                                    size_t used_len);

/* Registers `addr` (as far_server_listen reports it) for prog/vers with the
 * local binder (rpcbind v4, then v3, then portmapper v2 for TCP/UDP).  FAR_OK
 * also when it was registered already with this address.  FAR_EAUTH if the
 * binder refused (another owner holds the entry, or the caller is not local). */
FAR_NODISCARD far_err far_bind_register(uint32_t prog, uint32_t vers, const char *addr);

/* Removes the registration of prog/vers on addr's transport.  FAR_ENOTREG
 * if there is none (or another owner holds it). */
FAR_NODISCARD far_err far_bind_unregister(uint32_t prog, uint32_t vers, const char *addr);

/* Asks the binder of `where` for prog/vers on `netid` (NULL: tcp, tcp6, udp,
 * udp6, local in that order) and writes the server's address string into
 * addr.  FAR_ENOBINDER if no binder answers, FAR_ENOTREG if it has no such
 * registration (no server was asked).  Uses RPCBPROC_GETADDR (v4, then v3) and falls back to
 * PMAPPROC_GETPORT for a portmapper-only binder.  The binder may answer with another version of the
 * program (as rpcbind does); the server then reports PROG_MISMATCH. */
FAR_NODISCARD far_err far_bind_lookup(const char *where, uint32_t prog, uint32_t vers,
                                      const char *netid, char *addr, size_t addr_len);

/* Resolves a dynamic address ("PROG/VERS[/NETID][@WHERE]") into an address
 * string.  FAR_EADDR if `spec` is not one (or PROG is an unknown name), else
 * as far_bind_lookup. */
FAR_NODISCARD far_err far_bind_resolve(const char *spec, char *addr, size_t addr_len);

/* True if `s` is a dynamic address (not tcp://, udp:// or unix:). */
bool far_bind_is_dynamic(const char *s);

/* A program number from a number ("100003", "0x20000001") or a name: /etc/rpc
 * first, then the names registered with the binder of `where` -- which
 * include the .x program name ("KV_PROG") of every running farcall server
 * registered with farbind.  FAR_EADDR for an unknown name. */
FAR_NODISCARD far_err far_bind_program(const char *name_or_number, const char *where,
                                       uint32_t *prog);

/* The name of program `prog` in /etc/rpc (the first name on its line) into
 * name[0..n).  FAR_EPROG_UNAVAIL if it has none. */
FAR_NODISCARD far_err far_bind_program_name(uint32_t prog, char *name, size_t n);

/* ----------------------------------------------------------------- names
 * Names live in farbind's names program (FAR_BIND_NAMES_PROG, version 1),
 * beside its rpcbind table; a classic rpcbind does not serve them (these
 * calls then fail with FAR_EPROG_UNAVAIL).  A name is 1..64 bytes of
 * [A-Za-z0-9_.-].  Like registrations, names change only from local callers;
 * over the Unix socket the caller's uid owns the name and only that uid or
 * root may update or remove it. */

/* Registers `name` for program `prog` at the local binder, or updates it if
 * the caller already owns it.  FAR_EAUTH if another owner holds it. */
FAR_NODISCARD far_err far_bind_name_set(const char *name, uint32_t prog);

/* Removes `name`.  FAR_ENOTREG if it does not exist, FAR_EAUTH if the
 * caller does not own it. */
FAR_NODISCARD far_err far_bind_name_unset(const char *name);

/* The program registered under `name` at the binder of `where`.
 * FAR_ENOTREG if none. */
FAR_NODISCARD far_err far_bind_name_lookup(const char *where, const char *name, uint32_t *prog);

#ifdef __cplusplus
}
#endif
#endif
