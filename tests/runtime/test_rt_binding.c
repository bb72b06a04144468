/* Dynamic binding as the client sees it: a client opened on a dynamic
 * address looks the server up again (with back-off) when its connection is
 * lost or refused, so a server restarted on another port is found without
 * reopening.  The resolver is a test hook here (src/hooks.h); the binder
 * tests (tests/bind) do the same through farbind. */
#include "rt_common.h"

#include <stdatomic.h>

#include "hooks.h"

static pthread_mutex_t target_mu = PTHREAD_MUTEX_INITIALIZER;
static char target[128];
static atomic_int resolutions;

static bool test_is_dynamic(const char *spec)
{
    return strncmp(spec, "test:", 5) == 0;
}

static far_err test_resolve(const char *spec, char *addr, size_t n)
{
    (void)spec;
    atomic_fetch_add(&resolutions, 1);
    pthread_mutex_lock(&target_mu);
    snprintf(addr, n, "%s", target);
    pthread_mutex_unlock(&target_mu);
    return FAR_OK;
}

static const far__resolver test_resolver = {test_is_dynamic, test_resolve};

static void set_target(const char *a)
{
    pthread_mutex_lock(&target_mu);
    snprintf(target, sizeof target, "%s", a);
    pthread_mutex_unlock(&target_mu);
}

typedef struct load {
    far_client *c;
    atomic_bool stop;
    atomic_int ok, failed, ok_after_move;
    atomic_bool moved;
    char first_error[256];
} load;

static void *load_main(void *p)
{
    load *l = p;
    for (int i = 0; i < 100000 && !atomic_load(&l->stop); i++) {
        add_args x = {i, 1};
        int32_t sum = 0;
        far_call_opts o = {.timeout_ms = 1000};
        far_err rc = far_client_call(l->c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, &o);
        if (rc == FAR_OK && sum == i + 1) {
            atomic_fetch_add(&l->ok, 1);
            if (atomic_load(&l->moved))
                atomic_fetch_add(&l->ok_after_move, 1);
        } else {
            if (atomic_fetch_add(&l->failed, 1) == 0)
                snprintf(l->first_error, sizeof l->first_error, "%s", far_last_error());
        }
        sleep_ms(2);
    }
    return NULL;
}

static void restart_mid_load(const char *listen)
{
    far__hooks_set(&test_resolver, NULL);
    tserver a;
    tserver_start(&a, listen, NULL);
    set_target(a.bound);
    atomic_store(&resolutions, 0);
    load l = {0};
    far_client_opts o = {.timeout_ms = 2000};
    assert_int_equal(far_client_open(&l.c, "test:calculator", &o), FAR_OK);
    assert_int_equal(atomic_load(&resolutions), 1);
    pthread_t th;
    pthread_create(&th, NULL, load_main, &l);
    double until = now_ms() + 3000;
    while (atomic_load(&l.ok) < 20 && now_ms() < until)
        sleep_ms(5);
    assert_true(atomic_load(&l.ok) >= 20);

    /* The server goes; 600 ms later another comes up elsewhere. */
    tserver_stop(&a);
    int res0 = atomic_load(&resolutions);
    sleep_ms(600);
    char ux[128];
    const char *where = listen;
    if (strncmp(listen, "unix:", 5) == 0) {
        tmp_unix(ux, sizeof ux, "moved.sock");
        where = ux;
    }
    tserver b;
    tserver_start(&b, where, NULL);
    set_target(b.bound);
    atomic_store(&l.moved, true);
    until = now_ms() + 8000; /* the back-off reaches 5 s at most */
    while (atomic_load(&l.ok_after_move) < 20 && now_ms() < until)
        sleep_ms(5);
    int during = atomic_load(&resolutions) - res0;
    atomic_store(&l.stop, true);
    pthread_join(th, NULL);
    print_message("%s: %d calls answered, %d failed while no server ran (first: %s), %d after "
                  "the move; %d lookups during the outage\n",
                  listen, atomic_load(&l.ok), atomic_load(&l.failed), l.first_error,
                  atomic_load(&l.ok_after_move), during);
    assert_true(atomic_load(&l.ok_after_move) >= 20); /* found again, not reopened */
    assert_true(atomic_load(&l.failed) > 0);          /* the outage was seen */
    /* Back-off: about log2(outage / 100 ms) lookups, not one per call (the
     * load made a call every 2 ms, hundreds during the outage). */
    assert_true(during >= 1 && during <= 12);
    assert_non_null(strstr(l.first_error, "test:calculator")); /* named as opened */
    far_client_destroy(l.c);
    tserver_stop(&b);
    if (where != listen)
        tmp_unix_cleanup(ux);
    far__hooks_set(NULL, NULL);
}

static void test_reresolve_tcp(void **s)
{
    (void)s;
    restart_mid_load("tcp://127.0.0.1:0");
}

static void test_reresolve_unix(void **s)
{
    (void)s;
    char ux[128];
    tmp_unix(ux, sizeof ux, "first.sock");
    restart_mid_load(ux);
    tmp_unix_cleanup(ux);
}

/* A client opened on a plain address never asks the resolver. */
static void test_static_never_resolves(void **s)
{
    (void)s;
    far__hooks_set(&test_resolver, NULL);
    atomic_store(&resolutions, 0);
    tserver t;
    tserver_start(&t, "tcp://127.0.0.1:0", NULL);
    far_client *c;
    assert_int_equal(far_client_open(&c, t.bound, NULL), FAR_OK);
    tserver_stop(&t);
    add_args x = {1, 2};
    int32_t sum;
    for (int i = 0; i < 3; i++) {
        far_err rc = far_client_call(c, TPROG, 1, P_ADD, add_enc, &x, u32_dec, &sum, NULL, NULL);
        assert_true(rc != FAR_OK);
    }
    assert_int_equal(atomic_load(&resolutions), 0);
    far_client_destroy(c);
    far__hooks_set(NULL, NULL);
}

int main(void)
{
    setenv("FARCALL_QUIET", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reresolve_tcp),
        cmocka_unit_test(test_reresolve_unix),
        cmocka_unit_test(test_static_never_resolves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
