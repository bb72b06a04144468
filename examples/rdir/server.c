/* rdir server: tells its working directory, prints messages on its standard
 * output, lists its library search path. */
#include <stdlib.h>
#include <unistd.h>

#include "common/example_server.h"
#include "rdir.h"

static far_err get_cwd(far_svc_req *req, path *res)
{
    char *buf = far_arena_alloc(far_svc_req_arena(req), 4097);
    if (!buf || !getcwd(buf, 4097))
        return FAR_ESYSTEM_ERR;
    *res = buf;
    return FAR_OK;
}

static far_err print(far_svc_req *req, const path *msg)
{
    printf("message from %s: %s\n", far_svc_req_peer(req), *msg);
    fflush(stdout);
    return FAR_OK;
}

/* LD_LIBRARY_PATH, then the loader's default directories. */
static far_err library_path(far_svc_req *req, path_list *res)
{
    far_arena *a = far_svc_req_arena(req);
    const char *env = getenv("LD_LIBRARY_PATH");
    const char *defaults = "/lib:/usr/lib:/usr/local/lib";
    size_t len = (env ? strlen(env) + 1 : 0) + strlen(defaults) + 1;
    char *all = far_arena_alloc(a, len);
    path *v = far_arena_alloc(a, (len / 2 + 1) * sizeof *v);
    if (!all || !v)
        return FAR_ESYSTEM_ERR;
    snprintf(all, len, "%s%s%s", env ? env : "", env ? ":" : "", defaults);
    uint32_t n = 0;
    for (char *save = NULL, *tok = strtok_r(all, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
        v[n++] = tok;
    res->path_list_len = n;
    res->path_list_val = v;
    return FAR_OK;
}

int main(int argc, char **argv)
{
    static const rdir_prog_1_impl impl = {
        .get_cwd = get_cwd, .print = print, .library_path = library_path};
    if (!example_server_create() ||
        far_server_add_program(example_server, rdir_prog_1_program(), &impl) != FAR_OK)
        return 1;
    return example_serve("rdir_server", argc, argv);
}
