/* A program outside the farcall tree, built against an installed farcall
 * with stubs fargen generated from hello.x: it serves HELLO_PROG on a Unix
 * socket and calls it.  usage: hello SOCKET-PATH NAME */
#include <stdio.h>
#include <string.h>

#include "hello.h"

static far_err greet(far_svc_req *req, char *const *name, char **res)
{
    /* *name lives until this returns; the reply's string comes from the
     * call's arena, freed once the reply is sent */
    size_t n = strlen(*name) + sizeof "hello, ";
    *res = far_arena_alloc(far_svc_req_arena(req), n);
    if (!*res)
        return FAR_ESYSTEM_ERR;
    snprintf(*res, n, "hello, %s", *name);
    return FAR_OK;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hello SOCKET-PATH NAME\n");
        return 2;
    }
    char addr[256];
    snprintf(addr, sizeof addr, "unix:%s", argv[1]);
    static const hello_prog_1_impl impl = {.greet = greet};
    far_server *s = NULL;
    far_client *c = NULL;
    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);
    char *reply = NULL;
    far_err rc = far_server_create(&s, NULL);
    if (rc == FAR_OK)
        rc = far_server_add_program(s, hello_prog_1_program(), &impl);
    if (rc == FAR_OK)
        rc = far_server_listen(s, addr, NULL, 0);
    if (rc == FAR_OK)
        rc = far_server_start(s);
    if (rc == FAR_OK)
        rc = far_client_open(&c, addr, NULL);
    if (rc == FAR_OK)
        rc = greet_1(c, &argv[2], &reply, &arena, NULL);
    if (rc == FAR_OK)
        printf("%s\n", reply);
    else
        fprintf(stderr, "hello: %s (%s)\n", far_strerror(rc), far_last_error());
    far_arena_fini(&arena);
    far_client_destroy(c);
    far_server_destroy(s);
    return rc == FAR_OK ? 0 : 1;
}
