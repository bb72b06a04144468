/* echo client: sends its arguments (or "hello, world") and prints the echo. */
#include "common/example_server.h"
#include "echo.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: echo_client ADDRESS [TEXT]\n");
        return 2;
    }
    far_client *c = example_connect("echo_client", argv[1]);
    if (!c)
        return 1;
    message in = argc > 2 ? argv[2] : "hello, world", out = NULL;
    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);
    far_err rc = echo_1(c, &in, &out, &arena, NULL);
    if (rc == FAR_OK)
        printf("echo: %s\n", out);
    far_arena_fini(&arena);
    far_client_destroy(c);
    return rc == FAR_OK ? 0 : example_fail("echo_client", rc);
}
