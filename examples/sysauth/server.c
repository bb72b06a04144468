/* sysauth server: sysauth_server ADDRESS [UID]
 *
 * Tells a caller what it knows of it (WHOAMI) and gives a secret (SECRET)
 * only to the uid it expects (UID, default the server's own).  The caller's
 * uid comes from its AUTH_SYS credential (far_svc_req_auth_sys), which the
 * caller writes itself, so it is a claim; over a Unix socket the kernel also
 * says who the caller is (far_svc_req_peer_cred: SO_PEERCRED), and a claim
 * the kernel contradicts is refused.  A refusal is FAR_EAUTH with an RFC 5531
 * auth_stat (far_svc_req_set_auth_stat), which the client sees in
 * far_status.auth_stat.
 *
 * What a result points to (the machine name, the gids, the secret) is
 * allocated from far_svc_req_arena(req), freed once the reply is sent.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/example_server.h"
#include "sysauth.h"

static uint32_t expected_uid;

static char *arena_strdup(far_svc_req *req, const char *s)
{
    char *d = far_arena_alloc(far_svc_req_arena(req), strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}

/* The caller's AUTH_SYS credential, or NULL (FAR_EAUTH to be returned, with
 * the auth_stat set) if it sent none or the kernel contradicts it. */
static const far_auth_sys *checked_cred(far_svc_req *req, bool *peer_known, uint32_t *peer_uid)
{
    const far_auth_sys *cred = far_svc_req_auth_sys(req);               /* NULL: AUTH_NONE */
    *peer_known = far_svc_req_peer_cred(req, peer_uid, NULL) == FAR_OK; /* Unix socket only */
    if (!cred) {
        far_svc_req_set_auth_stat(req, FAR_AUTH_TOOWEAK);
        return NULL;
    }
    if (*peer_known && *peer_uid != cred->uid) {
        printf("sysauth_server: %s claims uid %" PRIu32 " but the kernel says %" PRIu32 "\n",
               far_svc_req_peer(req), cred->uid, *peer_uid);
        fflush(stdout);
        far_svc_req_set_auth_stat(req, FAR_AUTH_BADCRED);
        return NULL;
    }
    return cred;
}

static far_err whoami(far_svc_req *req, caller *res)
{
    bool peer_known;
    uint32_t peer_uid = 0;
    const far_auth_sys *cred = checked_cred(req, &peer_known, &peer_uid);
    if (!cred)
        return FAR_EAUTH;
    res->uid = cred->uid;
    res->gid = cred->gid;
    res->gids.gids_len = cred->ngids;
    res->gids.gids_val = far_arena_alloc(far_svc_req_arena(req), sizeof cred->gids);
    res->machine = arena_strdup(req, cred->machinename);
    if (!res->gids.gids_val || !res->machine)
        return FAR_ESYSTEM_ERR;
    memcpy(res->gids.gids_val, cred->gids, cred->ngids * sizeof cred->gids[0]);
    res->peer_known = peer_known;
    res->peer_uid = peer_uid;
    return FAR_OK;
}

static far_err secret(far_svc_req *req, char **res)
{
    bool peer_known;
    uint32_t peer_uid;
    const far_auth_sys *cred = checked_cred(req, &peer_known, &peer_uid);
    if (!cred)
        return FAR_EAUTH;
    if (cred->uid != expected_uid) {
        far_svc_req_set_auth_stat(req, FAR_AUTH_TOOWEAK);
        return FAR_EAUTH;
    }
    *res = arena_strdup(req, "the owls are not what they seem");
    return *res ? FAR_OK : FAR_ESYSTEM_ERR;
}

int main(int argc, char **argv)
{
    expected_uid = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : (uint32_t)getuid();
    static const sysauth_prog_1_impl impl = {.whoami = whoami, .secret = secret};
    if (!example_server_create() ||
        far_server_add_program(example_server, sysauth_prog_1_program(), &impl) != FAR_OK)
        return 1;
    printf("sysauth_server: the secret is for uid %" PRIu32 "\n", expected_uid);
    example_unix_mode = 0666; /* any uid may connect; SO_PEERCRED says which */
    return example_serve("sysauth_server", argc, argv);
}
