/* echo server: sends the string back. */
#include "common/example_server.h"
#include "echo.h"

static far_err echo(far_svc_req *req, const message *arg, message *res)
{
    (void)req;
    *res = *arg; /* the reply is encoded before the request's memory goes */
    return FAR_OK;
}

int main(int argc, char **argv)
{
    static const echo_prog_1_impl impl = {.echo = echo};
    if (!example_server_create() ||
        far_server_add_program(example_server, echo_prog_1_program(), &impl) != FAR_OK)
        return 1;
    return example_serve("echo_server", argc, argv);
}
