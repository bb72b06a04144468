/* The client side of the cluster tests: a balanced client on a name several
 * instances of cluster.x serve (farcall/cluster.h).
 *
 *   cl_client calls SPEC N THREADS PACE_US EXPECT PROGRESS DEADFILE
 *       waits (10 s at most) until EXPECT instances are healthy, then makes
 *       N idempotent WHO calls from THREADS threads, each sleeping PACE_US
 *       after a call, writing the number made to PROGRESS every 100.  On
 *       SIGUSR1 it reads an address from DEADFILE (an instance just
 *       killed): one second later (the bound farcall/cluster.h states) it
 *       notes the calls that instance has had, and at the end checks it had
 *       no more.  Fails if any call failed.
 *   cl_client share SPEC N THREADS POLICY SLOW EXPECT MAXPCT
 *       N WHO calls from THREADS threads under POLICY (p2c, round_robin,
 *       pick_first); prints each instance's share; fails if the instance
 *       SLOW answers had more than MAXPCT percent of them.
 *   cl_client health SPEC EXPECT PID ADDR
 *       stops process PID (SIGSTOP: the instance at ADDR hangs, its
 *       connections open), checks ADDR is ejected within 1.5 s, continues
 *       it (SIGCONT), checks it is let back within 2 s.
 *   cl_client async SPEC N EXPECT [KILL_PID]
 *       N async WHO calls, 16 in flight at a time: every callback runs once,
 *       none fails, and each of the EXPECT instances answers some; with
 *       KILL_PID, that process is killed (SIGKILL) after a third of them.
 *   cl_client semantics SPEC EXPECT
 *       pick-first; WHO tells the first instance's number; CRASH (at most
 *       once) to it fails and reaches no other instance; once it is ejected,
 *       WHO tells the next one's, and CRASH_IDEM (idempotent) to it is
 *       answered by another instance.
 *   cl_client wait SPEC EXPECT TIMEOUT_MS
 *       fails unless the client sees EXPECT healthy instances in time.
 * Every loop is bounded in count and time; no timing is asserted but the
 * bound the API states. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <farcall/cluster.h>
#include <farcall/farcall.h>

#include "cluster.h"

#define DEAD_BOUND_MS 1000

static far_client *cl;
static long total, pace_us;
static atomic_long made, failed;
static atomic_long by_id[64];
static const char *progress_path, *dead_path;
static volatile sig_atomic_t dead_signalled;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t table(far_instance_info *v, size_t max, bool print)
{
    size_t n = 0;
    if (far_client_instances(cl, v, max, &n) != FAR_OK)
        return 0;
    for (size_t i = 0; print && i < n && i < max; i++)
        printf("  %-28s %-8s calls %6llu failures %llu\n", v[i].addr,
               v[i].healthy ? "healthy" : "ejected", (unsigned long long)v[i].calls,
               (unsigned long long)v[i].failures);
    return n < max ? n : max;
}

static size_t healthy(void)
{
    far_instance_info v[64];
    size_t n = table(v, 64, false), h = 0;
    for (size_t i = 0; i < n; i++)
        h += v[i].healthy;
    return h;
}

static bool wait_healthy(size_t expect, uint64_t timeout_ms)
{
    uint64_t dl = now_ms() + timeout_ms;
    for (int i = 0; i < 10000 && now_ms() < dl; i++) {
        if (healthy() >= expect)
            return true;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    return healthy() >= expect;
}

static void *caller(void *arg)
{
    (void)arg;
    for (int guard = 0; guard < 10000000; guard++) {
        long k = atomic_fetch_add(&made, 1);
        if (k >= total)
            break;
        uint32_t res = 0, a = (uint32_t)k;
        far_status st;
        far_call_opts o = {.timeout_ms = 10000, .status = &st};
        far_err rc = who_1(cl, &a, &res, NULL, &o);
        if (rc != FAR_OK) {
            atomic_fetch_add(&failed, 1);
            fprintf(stderr, "call %ld failed: %s\n", k, st.msg);
        } else if (res < 64)
            atomic_fetch_add(&by_id[res], 1);
        if (progress_path && k % 100 == 0) {
            FILE *f = fopen(progress_path, "w");
            if (f) {
                fprintf(f, "%ld\n", k);
                fclose(f);
            }
        }
        if (pace_us) {
            struct timespec ts = {0, pace_us * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void on_usr1(int sig)
{
    (void)sig;
    dead_signalled = 1;
}

/* The killed instance's calls, one bound after the signal and at the end. */
static int watch_dead(pthread_t *th, int nth)
{
    char dead[256] = "";
    uint64_t t0 = 0;
    long long at_bound = -1, later = -1;
    int bad = 0;
    for (int i = 0; i < 1000000 && atomic_load(&made) < total; i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        if (dead_signalled && !t0) {
            FILE *f = fopen(dead_path, "r");
            if (f && fgets(dead, sizeof dead, f))
                dead[strcspn(dead, "\n")] = 0;
            if (f)
                fclose(f);
            t0 = now_ms();
            printf("killed: %s (at call %ld)\n", dead, atomic_load(&made));
        }
        if (t0 && at_bound < 0 && now_ms() >= t0 + DEAD_BOUND_MS) {
            far_instance_info v[64];
            size_t n = table(v, 64, false);
            at_bound = 0;
            for (size_t j = 0; j < n; j++)
                if (strcmp(v[j].addr, dead) == 0)
                    at_bound = (long long)v[j].calls;
            printf("%s: %lld calls %d ms after the kill (at call %ld)\n", dead, at_bound,
                   DEAD_BOUND_MS, atomic_load(&made));
        }
        if (at_bound >= 0) {
            /* looked at every 10 ms while the instance is in the set (it
             * leaves it when its key goes) */
            far_instance_info v[64];
            size_t n = table(v, 64, false);
            for (size_t j = 0; j < n; j++)
                if (strcmp(v[j].addr, dead) == 0 && (long long)v[j].calls > later)
                    later = (long long)v[j].calls;
        }
    }
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    if (dead_path && !t0) {
        printf("FAIL: no SIGUSR1 (no instance was killed during the calls)\n");
        bad = 1;
    } else if (t0 && at_bound < 0) {
        printf("FAIL: the calls ended less than %d ms after the kill\n", DEAD_BOUND_MS);
        bad = 1;
    } else if (t0) {
        far_instance_info v[64];
        size_t n = table(v, 64, false);
        long long end = later;
        for (size_t j = 0; j < n; j++)
            if (strcmp(v[j].addr, dead) == 0 && (long long)v[j].calls > end)
                end = (long long)v[j].calls;
        if (end > at_bound) {
            printf("FAIL: %s had %lld calls more after the bound\n", dead, end - at_bound);
            bad = 1;
        } else
            printf("ok: %s had no call later than %d ms after its kill\n", dead, DEAD_BOUND_MS);
    }
    return bad;
}

static pthread_mutex_t amu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t acv = PTHREAD_COND_INITIALIZER;
static long a_done, a_failed;

static void on_done(const far_status *st, void *res, void *user)
{
    (void)res;
    free(user);
    pthread_mutex_lock(&amu);
    a_done++;
    if (st->err != FAR_OK) {
        a_failed++;
        fprintf(stderr, "async call failed: %s\n", st->msg);
    }
    pthread_cond_signal(&acv);
    pthread_mutex_unlock(&amu);
}

static int async_calls(long n, size_t expect, pid_t kill_pid)
{
    long started = 0;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&amu);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 10;
        while (started - a_done >= 16)
            if (pthread_cond_timedwait(&acv, &amu, &dl) != 0)
                break;
        pthread_mutex_unlock(&amu);
        if (kill_pid > 0 && i == n / 3) {
            kill(kill_pid, SIGKILL);
            printf("killed process %ld after %ld calls\n", (long)kill_pid, i);
        }
        uint32_t a = (uint32_t)i, *res = malloc(sizeof *res);
        if (!res || who_1_async(cl, &a, res, NULL, NULL, on_done, res) != FAR_OK) {
            printf("FAIL: async call %ld not started: %s\n", i, far_last_error());
            free(res);
            return 1;
        }
        started++;
    }
    pthread_mutex_lock(&amu);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20;
    while (a_done < started)
        if (pthread_cond_timedwait(&acv, &amu, &dl) != 0)
            break;
    long done = a_done, bad = a_failed;
    pthread_mutex_unlock(&amu);
    far_instance_info v[64];
    size_t m = table(v, 64, true), used = 0;
    for (size_t i = 0; i < m; i++)
        used += v[i].calls > 0;
    printf("%ld async calls, %ld completed, %ld failed, %zu instances used\n", n, done, bad, used);
    return done == n && bad == 0 && used >= expect ? 0 : 1;
}

static unsigned long long calls_total(void)
{
    far_instance_info v[64];
    size_t n = table(v, 64, false);
    unsigned long long t = 0;
    for (size_t i = 0; i < n; i++)
        t += v[i].calls;
    return t;
}

static int semantics(size_t expect)
{
    if (far_client_set_lb(cl, FAR_LB_PICK_FIRST) != FAR_OK)
        return 1;
    uint32_t a = 0, first = 0, second = 0, res = 0;
    far_call_opts o = {.timeout_ms = 5000};
    if (who_1(cl, &a, &first, NULL, &o) != FAR_OK) {
        printf("FAIL: WHO: %s\n", far_last_error());
        return 1;
    }
    unsigned long long before = calls_total();
    far_err rc = crash_1(cl, &first, &res, NULL, &o);
    unsigned long long sent = calls_total() - before;
    if (rc == FAR_OK || sent != 1) {
        printf("FAIL: CRASH (at most once) to instance %u: %s, sent %llu times\n", first,
               far_strerror(rc), sent);
        return 1;
    }
    printf("ok: CRASH (at most once): instance %u died running it: %s, not sent elsewhere\n", first,
           far_strerror(rc));
    for (int i = 0; i < 300 && healthy() != expect - 1; i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (healthy() != expect - 1) {
        printf("FAIL: the dead instance is not ejected\n");
        return 1;
    }
    if (who_1(cl, &a, &second, NULL, &o) != FAR_OK || second == first) {
        printf("FAIL: WHO after the crash: %s (%u)\n", far_last_error(), second);
        return 1;
    }
    before = calls_total();
    rc = crash_idem_1(cl, &second, &res, NULL, &o);
    sent = calls_total() - before;
    if (rc != FAR_OK || res == second || sent != 2) {
        printf("FAIL: CRASH_IDEM to instance %u: %s, answer %u, sent %llu times\n", second,
               far_strerror(rc), res, sent);
        return 1;
    }
    printf("ok: CRASH_IDEM (idempotent): instance %u died running it, instance %u answered\n",
           second, res);
    return 0;
}

static bool is_healthy(const char *addr)
{
    far_instance_info v[64];
    size_t n = table(v, 64, false);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].addr, addr) == 0)
            return v[i].healthy;
    return false;
}

/* Waits up to ms for addr to be (want) healthy; the time it took, or -1. */
static long wait_state(const char *addr, bool want, uint64_t ms)
{
    uint64_t t0 = now_ms();
    for (int i = 0; i < 100000 && now_ms() < t0 + ms; i++) {
        if (is_healthy(addr) == want)
            return (long)(now_ms() - t0);
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
    return is_healthy(addr) == want ? (long)(now_ms() - t0) : -1;
}

static int health_check(pid_t pid, const char *addr)
{
    if (kill(pid, SIGSTOP) != 0)
        return 1;
    long out = wait_state(addr, false, 1500);
    kill(pid, SIGCONT);
    if (out < 0) {
        printf("FAIL: %s hangs and is still healthy 1500 ms later\n", addr);
        return 1;
    }
    printf("ok: %s hung (SIGSTOP): ejected after %ld ms\n", addr, out);
    long back = wait_state(addr, true, 2000);
    if (back < 0) {
        printf("FAIL: %s answers again but is not let back within 2000 ms\n", addr);
        return 1;
    }
    printf("ok: %s answers again (SIGCONT): let back after %ld ms\n", addr, back);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: see cl_client.c\n");
        return 2;
    }
    const char *mode = argv[1], *spec = argv[2];
    if (far_client_open(&cl, spec, NULL) != FAR_OK) {
        fprintf(stderr, "cl_client: %s: %s\n", spec, far_last_error());
        return 1;
    }
    int bad = 0;
    far_instance_info v[64];
    if (strcmp(mode, "health") == 0 && argc > 5) {
        pid_t pid = (pid_t)strtol(argv[4], NULL, 10);
        const char *addr = argv[5];
        if (!wait_healthy(strtoul(argv[3], NULL, 10), 10000)) {
            printf("FAIL: not every instance healthy\n");
            return 1;
        }
        int r = health_check(pid, addr);
        far_client_destroy(cl);
        return r;
    }
    if (strcmp(mode, "async") == 0 && argc > 4) {
        size_t expect = strtoul(argv[4], NULL, 10);
        if (!wait_healthy(expect, 10000)) {
            printf("FAIL: not every instance healthy\n");
            return 1;
        }
        int r = async_calls(strtol(argv[3], NULL, 10), expect,
                            argc > 5 ? (pid_t)strtol(argv[5], NULL, 10) : 0);
        far_client_destroy(cl);
        return r;
    }
    if (strcmp(mode, "semantics") == 0) {
        size_t expect = strtoul(argv[3], NULL, 10);
        if (!wait_healthy(expect, 10000)) {
            printf("FAIL: not every instance healthy\n");
            return 1;
        }
        int r = semantics(expect);
        far_client_destroy(cl);
        return r;
    }
    if (strcmp(mode, "wait") == 0) {
        size_t expect = strtoul(argv[3], NULL, 10);
        bool ok = wait_healthy(expect, argc > 4 ? strtoul(argv[4], NULL, 10) : 5000);
        table(v, 64, true);
        if (!ok) {
            printf("FAIL: fewer than %zu healthy instances\n", expect);
            bad = 1;
        }
        far_client_destroy(cl);
        return bad;
    }
    bool calls = strcmp(mode, "calls") == 0;
    if ((calls && argc < 9) || (!calls && argc < 9)) {
        fprintf(stderr, "usage: see cl_client.c\n");
        return 2;
    }
    total = strtol(argv[3], NULL, 10);
    int nth = atoi(argv[4]);
    if (nth < 1 || nth > 64)
        nth = 1;
    size_t expect = strtoul(argv[calls ? 6 : 7], NULL, 10);
    const char *slow = NULL;
    double maxpct = 100;
    if (calls) {
        pace_us = strtol(argv[5], NULL, 10);
        progress_path = argv[7];
        dead_path = strcmp(argv[8], "-") ? argv[8] : NULL;
        signal(SIGUSR1, on_usr1);
    } else {
        const char *pol = argv[5];
        far_lb_policy p = strcmp(pol, "round_robin") == 0  ? FAR_LB_ROUND_ROBIN
                          : strcmp(pol, "pick_first") == 0 ? FAR_LB_PICK_FIRST
                                                           : FAR_LB_P2C;
        if (far_client_set_lb(cl, p) != FAR_OK)
            return 1;
        slow = argv[6];
        maxpct = strtod(argv[8], NULL);
    }
    if (!wait_healthy(expect, 10000)) {
        table(v, 64, true);
        printf("FAIL: fewer than %zu healthy instances before the calls\n", expect);
        return 1;
    }
    printf("%zu instances healthy:\n", expect);
    table(v, 64, true);
    fflush(stdout);
    pthread_t th[64];
    for (int i = 0; i < nth; i++)
        pthread_create(&th[i], NULL, caller, NULL);
    if (calls)
        bad |= watch_dead(th, nth);
    else
        for (int i = 0; i < nth; i++)
            pthread_join(th[i], NULL);
    size_t n = table(v, 64, false);
    unsigned long long sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i].calls;
    printf("%ld calls, %ld failed; by instance:\n", total, atomic_load(&failed));
    for (size_t i = 0; i < n; i++) {
        double pct = sum ? 100.0 * (double)v[i].calls / (double)sum : 0;
        printf("  %-28s %-8s calls %6llu (%5.1f%%) failures %llu\n", v[i].addr,
               v[i].healthy ? "healthy" : "ejected", (unsigned long long)v[i].calls, pct,
               (unsigned long long)v[i].failures);
        if (slow && strcmp(v[i].addr, slow) == 0 && pct > maxpct) {
            printf("FAIL: the slow instance %s had %.1f%% of the calls (at most %.1f%%)\n", slow,
                   pct, maxpct);
            bad = 1;
        }
    }
    for (int i = 0; i < 64; i++)
        if (atomic_load(&by_id[i]))
            printf("  answered by instance %d: %ld\n", i, atomic_load(&by_id[i]));
    if (atomic_load(&failed)) {
        printf("FAIL: %ld calls failed\n", atomic_load(&failed));
        bad = 1;
    }
    far_client_destroy(cl);
    return bad;
}
