/* authcomp client: uses both programs of the server, the computations from a
 * second thread at the same time as the lookups, over one connection -- at
 * the privacy level (RPC2's authentication example): the key shared with
 * the server is read from $AUTHCOMP_KEY (default ./authcomp.key), the
 * identity it goes by is $AUTHCOMP_IDENTITY (default "authcomp"). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "authcomp.h"
#include "common/example_server.h"

static far_err comp_rc;
static int64_t sq, cu;
static int32_t years;

static void *compute(void *arg)
{
    far_client *c = arg;
    int32_t x = 12, born = 1990;
    comp_rc = square_1(c, &x, &sq, NULL, NULL);
    if (comp_rc == FAR_OK)
        comp_rc = cube_1(c, &x, &cu, NULL, NULL);
    if (comp_rc == FAR_OK)
        comp_rc = age_1(c, &born, &years, NULL, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: authcomp_client ADDRESS\n");
        return 2;
    }
    const char *keyfile = getenv("AUTHCOMP_KEY") ? getenv("AUTHCOMP_KEY") : "authcomp.key";
    const char *who = getenv("AUTHCOMP_IDENTITY") ? getenv("AUTHCOMP_IDENTITY") : "authcomp";
    uint8_t key[FAR_KEY_BYTES];
    if (far_key_load(keyfile, key) != FAR_OK) {
        fprintf(stderr, "authcomp_client: %s\n", far_last_error());
        return 1;
    }
    far_client_opts o = {.security = FAR_SEC_PRIV, .identity = who, .key = key};
    far_client *c;
    far_err orc = far_client_open(&c, argv[1], &o);
    far_key_wipe(key, sizeof key); /* (the client keeps its own copy) */
    if (orc != FAR_OK) {
        fprintf(stderr, "authcomp_client: %s\n", far_last_error());
        return 1;
    }
    printf("connected at level %s as %s\n", far_security_name(FAR_SEC_PRIV), who);
    pthread_t th;
    pthread_create(&th, NULL, compute, c);

    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);
    int32_t uid = (int32_t)getuid(), back = -1;
    name n = NULL;
    user_info info = {0};
    far_err rc = user_name_1(c, &uid, &n, &arena, NULL);
    if (rc == FAR_OK)
        rc = user_id_1(c, &n, &back, NULL, NULL);
    if (rc == FAR_OK)
        rc = user_info_1(c, &uid, &info, &arena, NULL);
    pthread_join(th, NULL);
    if (rc == FAR_OK) {
        printf("user %d is \"%s\" (and \"%s\" is user %d), home %s\n", uid, n, n, back, info.home);
    }
    if (comp_rc == FAR_OK)
        printf("12 squared is %lld, cubed %lld; born in 1990: %d years old\n", (long long)sq,
               (long long)cu, years);
    far_arena_fini(&arena);
    far_client_destroy(c);
    if (rc != FAR_OK)
        return example_fail("authcomp_client", rc);
    return comp_rc == FAR_OK ? 0 : example_fail("authcomp_client", comp_rc);
}
