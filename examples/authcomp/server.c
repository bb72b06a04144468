/* authcomp server: an authentication program and a computation program in
 * one server, served concurrently by its worker threads. */
#include <pwd.h>
#include <time.h>

#include "authcomp.h"
#include "common/example_server.h"

static char *arena_strdup(far_svc_req *req, const char *s)
{
    char *d = far_arena_alloc(far_svc_req_arena(req), strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}

static far_err do_user_name(far_svc_req *req, const int32_t *uid, name *res)
{
    struct passwd pw, *p = NULL;
    char buf[1024];
    getpwuid_r((uid_t)*uid, &pw, buf, sizeof buf, &p);
    *res = arena_strdup(req, p ? p->pw_name : "(unknown)");
    return *res ? FAR_OK : FAR_ESYSTEM_ERR;
}

static far_err do_user_id(far_svc_req *req, const name *n, int32_t *res)
{
    (void)req;
    struct passwd pw, *p = NULL;
    char buf[1024];
    getpwnam_r(*n, &pw, buf, sizeof buf, &p);
    *res = p ? (int32_t)p->pw_uid : -1;
    return FAR_OK;
}

static far_err do_user_info(far_svc_req *req, const int32_t *uid, struct user_info *res)
{
    struct passwd pw, *p = NULL;
    char buf[1024];
    getpwuid_r((uid_t)*uid, &pw, buf, sizeof buf, &p);
    res->uid = *uid;
    res->user = arena_strdup(req, p ? p->pw_name : "(unknown)");
    res->home = arena_strdup(req, p ? p->pw_dir : "");
    return res->user && res->home ? FAR_OK : FAR_ESYSTEM_ERR;
}

static far_err square(far_svc_req *req, const int32_t *x, int64_t *res)
{
    (void)req;
    *res = (int64_t)*x * *x;
    return FAR_OK;
}

static far_err cube(far_svc_req *req, const int32_t *x, int64_t *res)
{
    (void)req;
    *res = (int64_t)*x * *x * *x;
    return FAR_OK;
}

static far_err age(far_svc_req *req, const int32_t *born, int32_t *res)
{
    (void)req;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    *res = tm.tm_year + 1900 - *born;
    return FAR_OK;
}

int main(int argc, char **argv)
{
    static const auth_prog_1_impl auth = {
        .user_name = do_user_name, .user_id = do_user_id, .user_info = do_user_info};
    static const comp_prog_1_impl comp = {.square = square, .cube = cube, .age = age};
    if (!example_server_create() ||
        far_server_add_program(example_server, auth_prog_1_program(), &auth) != FAR_OK ||
        far_server_add_program(example_server, comp_prog_1_program(), &comp) != FAR_OK)
        return 1;
    return example_serve("authcomp_server", argc, argv);
}
