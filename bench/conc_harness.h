/* conc_harness.h: P client processes, one synchronous call at a time each,
 * started together -- the harness of the libtirpc anchor's `conc` mode
 * (shared/bench/anchors/tirpc/client.c), shared by rpc_bench (farcall) and
 * raw_bench (the raw epoll echo server) so both are driven the same way.
 *
 * Each child opens its connection, makes 200 warm-up calls, reports ready and
 * waits for the start signal (EOF on a pipe); then calls for `secs` seconds.
 * Result: total calls / the longest child's run. */
#ifndef CONC_HARNESS_H
#define CONC_HARNESS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct conc_ops {
    void *(*open)(const char *addr); /* NULL: failed */
    bool (*call)(void *ctx);         /* one round trip */
    void (*close)(void *ctx);
} conc_ops;

typedef struct conc_result {
    long calls;
    uint64_t ns;
} conc_result;

static inline uint64_t conc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns calls/s over all processes, or a negative value on failure. */
static inline double conc_run(int procs, double secs, const char *addr, const conc_ops *ops)
{
    enum { MAX_PROCS = 256 };
    int ready[2], go[2], res[2];
    pid_t pids[MAX_PROCS];
    if (procs < 1 || procs > MAX_PROCS || pipe(ready) || pipe(go) || pipe(res))
        return -1;
    for (int p = 0; p < procs; p++) {
        pids[p] = fork();
        if (pids[p] < 0)
            return -1;
        if (pids[p] == 0) {
            alarm((unsigned)secs + 60);
            close(go[1]);
            conc_result r = {0, 0};
            void *ctx = ops->open(addr);
            char b = ctx ? 'r' : 'x', x;
            for (int i = 0; ctx && i < 200; i++)
                if (!ops->call(ctx))
                    b = 'x';
            if (write(ready[1], &b, 1) != 1 || read(go[0], &x, 1) < 0 || b != 'r')
                _exit(1);
            uint64_t t0 = conc_now_ns(), dl = t0 + (uint64_t)(secs * 1e9);
            while (r.calls < 100000000L) {
                if (!ops->call(ctx))
                    _exit(1);
                if ((++r.calls & 63) == 0 && conc_now_ns() > dl)
                    break;
            }
            r.ns = conc_now_ns() - t0;
            if (write(res[1], &r, sizeof r) != sizeof r)
                _exit(1);
            ops->close(ctx);
            _exit(0);
        }
    }
    close(go[0]);
    bool ok = true;
    for (int p = 0; p < procs; p++) {
        char x;
        if (read(ready[0], &x, 1) != 1 || x != 'r')
            ok = false;
    }
    close(go[1]); /* every child starts now */
    long total = 0;
    uint64_t max_ns = 0;
    for (int p = 0; ok && p < procs; p++) {
        conc_result r;
        if (read(res[0], &r, sizeof r) != sizeof r) {
            ok = false;
            break;
        }
        total += r.calls;
        if (r.ns > max_ns)
            max_ns = r.ns;
    }
    for (int p = 0; p < procs; p++) {
        if (!ok)
            kill(pids[p], SIGKILL);
        waitpid(pids[p], NULL, 0);
    }
    close(ready[0]), close(ready[1]), close(res[0]), close(res[1]), close(go[1]);
    return ok && max_ns ? (double)total / ((double)max_ns / 1e9) : -1;
}

#endif
