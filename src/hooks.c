/* The library's wiring: the binder layer's registrar and resolver, handed to
 * the server and the client (see hooks.h). */
#include "hooks.h"

#include "bind/bind.h"
#include "bulk/bulk.h"
#include "farcall/bind.h"

far__bulk_call_fn far__bulk_call_get(void)
{
    return far__bulk_client_call;
}

static far_err resolve(const char *spec, char *addr, size_t n)
{
    return far_bind_resolve(spec, addr, n);
}

static const far__registrar bind_registrar = {far__bind_register_all, far__bind_unregister_all};
static const far__resolver bind_resolver = {far_bind_is_dynamic, resolve};

static const far__registrar *_Atomic registrar = &bind_registrar;
static const far__resolver *_Atomic resolver = &bind_resolver;

const far__registrar *far__registrar_get(void)
{
    return registrar;
}

const far__resolver *far__resolver_get(void)
{
    return resolver;
}

void far__hooks_set(const far__resolver *res, const far__registrar *reg)
{
    resolver = res ? res : &bind_resolver;
    registrar = reg ? reg : &bind_registrar;
}
