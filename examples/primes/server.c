/* primes server: counts the primes in a range; NAP sleeps (for deadlines).
 *
 * A handler's arguments point into the call's own memory (its arena, or the
 * received record for opaque data and strings): valid until the handler
 * returns.  What a result points to is allocated from far_svc_req_arena(req)
 * and freed once the reply has been sent. */
#include <time.h>

#include "common/example_server.h"
#include "primes.h"

static bool is_prime(uint64_t n)
{
    if (n < 2)
        return false;
    for (uint64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return false;
    return true;
}

static far_err count(far_svc_req *req, const range *arg, primes *res)
{
    if (arg->lo > arg->hi || arg->hi - arg->lo > 10000000)
        return FAR_EGARBAGE_ARGS;
    uint64_t last[4];
    unsigned n = 0;
    res->count = 0;
    for (uint64_t v = arg->lo; v < arg->hi; v++) {
        if (!is_prime(v))
            continue;
        res->count++;
        if (n == 4)
            memmove(last, last + 1, 3 * sizeof *last), n = 3;
        last[n++] = v;
    }
    /* The array the reply carries: from the call's arena, freed after the
     * reply is sent (a pointer to `last` on this stack would be gone). */
    res->last.last_val = far_arena_alloc(far_svc_req_arena(req), n * sizeof *last + 1);
    if (!res->last.last_val)
        return FAR_ESYSTEM_ERR;
    memcpy(res->last.last_val, last, n * sizeof *last);
    res->last.last_len = n;
    return FAR_OK;
}

static far_err nap(far_svc_req *req, const uint32_t *ms)
{
    (void)req;
    uint32_t t = *ms > 5000 ? 5000 : *ms;
    struct timespec ts = {t / 1000, (long)(t % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return FAR_OK;
}

int main(int argc, char **argv)
{
    static const primes_prog_1_impl impl = {.count = count, .nap = nap};
    if (!example_server_create() ||
        far_server_add_program(example_server, primes_prog_1_program(), &impl) != FAR_OK)
        return 1;
    return example_serve("primes_server", argc, argv);
}
