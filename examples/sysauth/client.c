/* sysauth client: sysauth_client ADDRESS [CLAIMED_UID]
 *
 * Asks for the secret three ways: with no credentials (AUTH_NONE), with the
 * process's own AUTH_SYS credentials (far_client_opts.auth_sys), and with a
 * credential claiming another uid (far_client_opts.cred; default: this
 * uid + 1000).  Over a Unix socket the server checks the claim against the
 * kernel's word; over TCP it cannot.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/example_server.h"
#include "sysauth.h"

/* Opens a client with `opts`, prints what the server sees (AUTH_SYS only)
 * and whether it gives the secret.  false on anything but an answer. */
static bool ask(const char *addr, const char *how, const far_client_opts *opts)
{
    far_client *c;
    if (far_client_open(&c, addr, opts) != FAR_OK) {
        fprintf(stderr, "sysauth_client: %s\n", far_last_error());
        return false;
    }
    far_arena arena; /* the results' strings and arrays live here */
    far_arena_init(&arena, NULL, 0, 0);
    far_status st = {0};
    const far_call_opts co = {.timeout_ms = 5000, .status = &st};
    bool ok = true;
    if (opts && opts->auth_sys) {
        caller who;
        far_err rc = whoami_1(c, &who, &arena, &co);
        if (rc == FAR_OK) {
            printf("%s: the server sees uid %" PRIu32 " gid %" PRIu32 " (%" PRIu32
                   " more groups) on %s; ",
                   how, who.uid, who.gid, who.gids.gids_len, who.machine);
            if (who.peer_known)
                printf("the kernel says uid %" PRIu32 "\n", who.peer_uid);
            else
                printf("the kernel says nothing (not a Unix socket)\n");
        } else if (rc == FAR_EAUTH) {
            printf("%s: whoami refused: FAR_EAUTH, auth_stat %d %s\n", how, st.auth_stat,
                   far_auth_stat_name(st.auth_stat));
        } else {
            fprintf(stderr, "sysauth_client: %s\n", st.msg);
            ok = false;
        }
    }
    if (ok) {
        char *secret = NULL;
        far_err rc = secret_1(c, &secret, &arena, &co);
        if (rc == FAR_OK) {
            printf("%s: secret: %s\n", how, secret);
        } else if (rc == FAR_EAUTH) {
            /* st.msg: "unix:... prog ... proc 2: ..." with the auth_stat */
            printf("%s: secret refused: FAR_EAUTH, auth_stat %d %s (%s)\n", how, st.auth_stat,
                   far_auth_stat_name(st.auth_stat), st.msg);
        } else {
            fprintf(stderr, "sysauth_client: %s\n", st.msg);
            ok = false;
        }
    }
    far_arena_fini(&arena);
    far_client_destroy(c);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sysauth_client ADDRESS [CLAIMED_UID]\n");
        return 2;
    }
    const char *addr = argv[1];
    far_client *probe = example_connect("sysauth_client", addr); /* a plain "is it there?" */
    if (!probe)
        return 1;
    far_client_destroy(probe);

    char how[64];
    const far_client_opts own = {.auth_sys = true}; /* the process's uid, gid, groups, host */
    snprintf(how, sizeof how, "AUTH_SYS as uid %u", (unsigned)getuid());
    if (!ask(addr, "AUTH_NONE", NULL) || !ask(addr, how, &own))
        return 1;

    far_auth_sys claim = {.uid = (uint32_t)getuid() + 1000, .gid = (uint32_t)getgid()};
    if (argc > 2)
        claim.uid = (uint32_t)strtoul(argv[2], NULL, 10);
    gethostname(claim.machinename, sizeof claim.machinename - 1);
    const far_client_opts forged = {.auth_sys = true, .cred = &claim};
    snprintf(how, sizeof how, "AUTH_SYS claiming uid %" PRIu32, claim.uid);
    return ask(addr, how, &forged) ? 0 : 1;
}
