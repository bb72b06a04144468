/* A farcall instance of cluster.x for the cluster tests: answers WHO with
 * its number after sleeping DELAY_US (a slow instance), until SIGTERM.
 * With $FARCALL_ETCD set it publishes itself to etcd (far_server_start).
 * usage: cl_server ID DELAY_US [LISTEN]   (prints "ready ADDR") */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <farcall/farcall.h>

#include "cluster.h"

static uint32_t id;
static long delay_us;
static far_server *srv;

static far_err who(far_svc_req *r, const uint32_t *arg, uint32_t *res)
{
    (void)r;
    (void)arg;
    if (delay_us > 0) {
        struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    *res = id;
    return FAR_OK;
}

static far_err crash(far_svc_req *r, const uint32_t *arg, uint32_t *res)
{
    if (*arg == id)
        _exit(3); /* dies running the call */
    return who(r, arg, res);
}

static void on_term(int sig)
{
    (void)sig;
    far_server_stop(srv); /* async-signal-safe */
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cl_server ID DELAY_US [LISTEN]\n");
        return 2;
    }
    id = (uint32_t)strtoul(argv[1], NULL, 10);
    delay_us = strtol(argv[2], NULL, 10);
    static const cluster_prog_1_impl impl = {.who = who, .crash = crash, .crash_idem = crash};
    far_server_opts o = {.workers = 8};
    char bound[128];
    if (far_server_create(&srv, &o) != FAR_OK ||
        far_server_add_program(srv, cluster_prog_1_program(), &impl) != FAR_OK ||
        far_server_listen(srv, argc > 3 ? argv[3] : "tcp://127.0.0.1:0", bound, sizeof bound) !=
            FAR_OK) {
        fprintf(stderr, "cl_server: %s\n", far_last_error());
        return 1;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    if (far_server_start(srv) != FAR_OK) {
        fprintf(stderr, "cl_server: %s\n", far_last_error());
        return 1;
    }
    printf("ready %s\n", bound);
    fflush(stdout);
    far_err rc = far_server_run(srv);
    far_server_destroy(srv);
    return rc == FAR_OK ? 0 : 1;
}
