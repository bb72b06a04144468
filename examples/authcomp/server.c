/* authcomp server: an authentication program and a computation program in
 * one server, served concurrently by its worker threads, both at the
 * privacy level only: each call authenticated, protected and encrypted
 * with the key of the client's identity.  The key of identity "authcomp"
 * is read from $AUTHCOMP_KEY (default ./authcomp.key) at start; the key
 * lookup answers for that identity alone, and every refusal is printed. */
#include <pwd.h>
#include <stdlib.h>
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

static uint8_t client_key[FAR_KEY_BYTES];

/* The RPC2 GetKeys role: an identity to its key, or refused. */
static bool key_lookup(const char *identity, size_t len, uint8_t key[FAR_KEY_BYTES], void *user)
{
    (void)user;
    if (len != 8 || memcmp(identity, "authcomp", 8) != 0)
        return false;
    memcpy(key, client_key, sizeof client_key);
    return true;
}

static void auth_failed(const char *peer, const char *identity, const char *reason, void *user)
{
    (void)user;
    printf("authcomp_server: refused %s (identity \"%s\"): %s\n", peer, identity, reason);
    fflush(stdout);
}

static far_err do_user_name(far_svc_req *req, const int32_t *uid, name *res)
{
    printf("authcomp_server: USER_NAME for %s at level %s\n", far_svc_req_identity(req),
           far_security_name(far_svc_req_security(req)));
    fflush(stdout);
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
    const char *keyfile = getenv("AUTHCOMP_KEY") ? getenv("AUTHCOMP_KEY") : "authcomp.key";
    if (far_key_load(keyfile, client_key) != FAR_OK) {
        fprintf(stderr, "authcomp_server: %s\n", far_last_error());
        return 1;
    }
    if (!example_server_create() ||
        far_server_add_program(example_server, auth_prog_1_program(), &auth) != FAR_OK ||
        far_server_add_program(example_server, comp_prog_1_program(), &comp) != FAR_OK ||
        far_server_set_min_security(example_server, 0x20000320, 0, -1, FAR_SEC_PRIV) != FAR_OK ||
        far_server_set_min_security(example_server, 0x20000321, 0, -1, FAR_SEC_PRIV) != FAR_OK ||
        far_server_set_key_lookup(example_server, key_lookup, NULL) != FAR_OK ||
        far_server_set_auth_fail(example_server, auth_failed, NULL) != FAR_OK)
        return 1;
    return example_serve("authcomp_server", argc, argv);
}
