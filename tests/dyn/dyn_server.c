/* The farcall server of dyn_test.x for the dynamic-call tests.
 *
 *   dyn_server ADDR [--no-reflect] [--no-desc]
 *
 * Serves DT_PROG v1 on ADDR; prints "listening on ADDR" and serves until
 * SIGTERM.  --no-reflect: far_server_opts.no_reflect (no FAR_REFLECT);
 * --no-desc: the program's descriptor without its description, as a
 * hand-written one would be (DESCRIBE answers NODESC). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "dyn_test.h"

static far_server *server;

static void on_signal(int sig)
{
    (void)sig;
    far_server_stop(server);
}

static far_err echo(far_svc_req *req, const item *arg, item *res)
{
    (void)req;
    *res = *arg; /* points into the request, which outlives the reply */
    return FAR_OK;
}

static far_err weigh(far_svc_req *req, const tag *arg, int32_t *res)
{
    (void)req;
    *res = (int32_t)strlen(arg->key) + arg->value;
    return FAR_OK;
}

static far_err hello(far_svc_req *req, const dt_text *arg, dt_text *res)
{
    size_t n = strlen(*arg) + 8;
    char *s = far_arena_alloc(far_svc_req_arena(req), n);
    if (!s)
        return FAR_ESYSTEM_ERR;
    snprintf(s, n, "hello, %s", *arg);
    *res = s;
    return FAR_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dyn_server ADDR [--no-reflect] [--no-desc]\n");
        return 2;
    }
    far_server_opts o = {.workers = 2};
    far_program_desc d = *dt_prog_1_program();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--no-reflect") == 0)
            o.no_reflect = true;
        else if (strcmp(argv[i], "--no-desc") == 0)
            d.type_desc = NULL, d.type_desc_len = 0, d.source = NULL;
    }
    static const dt_prog_1_impl impl = {.echo = echo, .weigh = weigh, .hello = hello};
    char bound[160];
    if (far_server_create(&server, &o) != FAR_OK ||
        far_server_add_program(server, &d, &impl) != FAR_OK ||
        far_server_listen(server, argv[1], bound, sizeof bound) != FAR_OK) {
        fprintf(stderr, "dyn_server: %s\n", far_last_error());
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("listening on %s\n", bound);
    fflush(stdout);
    far_err rc = far_server_run(server);
    far_server_destroy(server);
    return rc == FAR_OK ? 0 : 1;
}
