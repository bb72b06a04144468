/* calc server: multiplies two floats and takes square roots. */
#include <math.h>

#include "calc.h"
#include "common/example_server.h"

static far_err multiply(far_svc_req *req, const struct operands *arg, float *res)
{
    (void)req;
    *res = arg->a * arg->b;
    return FAR_OK;
}

static far_err square_root(far_svc_req *req, const double *arg, double *res)
{
    (void)req;
    if (*arg < 0)
        return FAR_EGARBAGE_ARGS; /* no real root: the caller sent a bad argument */
    *res = sqrt(*arg);
    return FAR_OK;
}

int main(int argc, char **argv)
{
    static const calc_prog_1_impl impl = {.multiply = multiply, .square_root = square_root};
    if (!example_server_create() ||
        far_server_add_program(example_server, calc_prog_1_program(), &impl) != FAR_OK)
        return 1;
    return example_serve("calc_server", argc, argv);
}
