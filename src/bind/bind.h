/* Binder hooks for the server (src/svc): register each program version on
 * each address a server listens on when it starts, unregister when it stops. */
#ifndef FARCALL_BIND_INTERNAL_H
#define FARCALL_BIND_INTERNAL_H

#include "farcall/rpc.h"
#include "net/net.h"

typedef struct far__bind_set far__bind_set;

/* Notes an address a server listens on (called by far_server_listen). */
void far__bind_note_listener(far__bind_set **bs, const far__addr *a);

/* Registers every program version x noted address with the local binder.
 * `progs` points at the first `const far_program_desc *` of an array of
 * `n` records `stride` bytes apart.  Failures are not fatal (no binder is a
 * normal situation); nothing is registered when FARCALL_BINDER is "none". */
void far__bind_server_up(far__bind_set **bs, const void *progs, size_t n, size_t stride);

/* Unregisters what far__bind_server_up registered. */
void far__bind_server_down(far__bind_set *bs);

/* Frees the set (NULL: nothing). */
void far__bind_free(far__bind_set *bs);

#endif
