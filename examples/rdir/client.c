/* rdir client: the server's working directory, a message on the server's
 * standard output, the server's library search path. */
#include "common/example_server.h"
#include "rdir.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rdir_client ADDRESS [MESSAGE]\n");
        return 2;
    }
    far_client *c = example_connect("rdir_client", argv[1]);
    if (!c)
        return 1;
    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);
    path cwd = NULL, msg = argc > 2 ? argv[2] : "hello from rdir_client";
    path_list libs = {0};
    far_err rc = get_cwd_1(c, &cwd, &arena, NULL);
    if (rc == FAR_OK) {
        printf("server working directory: %s\n", cwd);
        rc = print_1(c, &msg, NULL);
    }
    if (rc == FAR_OK) {
        printf("printed on the server: %s\n", msg);
        rc = library_path_1(c, &libs, &arena, NULL);
    }
    if (rc == FAR_OK) {
        printf("server library search path:\n");
        for (uint32_t i = 0; i < libs.path_list_len; i++)
            printf("  %s\n", libs.path_list_val[i]);
    }
    far_arena_fini(&arena);
    far_client_destroy(c);
    return rc == FAR_OK ? 0 : example_fail("rdir_client", rc);
}
