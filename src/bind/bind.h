/* The binder layer's registrar and resolver, which src/hooks.c hands to the
 * server and the client (neither of which knows this layer). */
#ifndef FARCALL_BIND_INTERNAL_H
#define FARCALL_BIND_INTERNAL_H

#include "hooks.h"

/* Registers every program version in progs[0..n) on every address in
 * addrs[0..naddrs) (address strings as far_server_listen reports them) with
 * the local binder.  Returns what far__bind_unregister_all undoes, or NULL if
 * nothing was registered: no binder is a normal situation, and nothing is
 * registered when FARCALL_BINDER is "none".  Blocks for at most a few
 * seconds per binder tried. */
void *far__bind_register_all(const far__prog_vers *progs, size_t n, const char *const *addrs,
                             size_t naddrs);

/* Unregisters (and frees) what far__bind_register_all registered. */
void far__bind_unregister_all(void *reg);

#endif
