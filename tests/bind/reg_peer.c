/* reg_peer: a server and a client for the registration tests
 * (bind_registrar.sh, bind_registrar_rpcbind.sh).
 *
 *   serve [-r] [-p PROG] [-v VERS] ADDR...
 *       a server of PROG (default REG_PROG, 0x20000bc1) version VERS (1),
 *       named "REG_PROG" in its descriptor; procedure 1 returns the
 *       server's pid.  -r sets far_server_opts.require_binder.  Prints
 *       "ready" once started (or "start failed: FAR_X: why", status 3),
 *       serves until SIGTERM, then prints "stopped".  The library's log
 *       goes to stderr as "farcall: LEVEL: line".
 *   load SPEC MS
 *       opens one client on SPEC (PROG/VERS@WHERE or an address) and calls
 *       procedure 1 every 20 ms for MS milliseconds; prints one line per
 *       call: "ok PID" or "err FAR_X".
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <farcall/farcall.h>

#define REG_PROG 0x20000bc1u

static far_server *srv;

static void on_term(int sig)
{
    (void)sig;
    far_server_stop(srv); /* async-signal-safe */
}

static bool u32_enc(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_u32(e, *(const uint32_t *)v);
}
static bool u32_dec(far_xdr_dec *d, void *v)
{
    return far_xdr_get_u32(d, v);
}

static far_err h_pid(const void *impl, far_svc_req *r, const void *a, void *res)
{
    (void)impl, (void)r, (void)a;
    *(uint32_t *)res = (uint32_t)getpid();
    return FAR_OK;
}

static const far_proc_desc procs[] = {
    {0, "NULL", NULL, NULL, 0, 0, NULL},
    {1, "PID", NULL, u32_enc, 0, 4, h_pid},
};

static void to_stderr(void *ctx, far_log_level level, const char *line)
{
    (void)ctx;
    fprintf(stderr, "farcall: %s: %s\n", far_log_level_name(level), line);
}

static int serve(int argc, char **argv)
{
    far_server_opts o = {0};
    far_program_desc d = {FAR_DESC_SIZES,     .prog = REG_PROG, .vers = 1,
                          .name = "REG_PROG", .procs = procs,   .nprocs = 2};
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-r") == 0)
            o.require_binder = true;
        else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
            d.prog = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "-v") == 0 && i + 1 < argc)
            d.vers = (uint32_t)strtoul(argv[++i], NULL, 0);
        else
            return fprintf(stderr, "serve: bad option %s\n", argv[i]), 2;
    }
    if (i == argc)
        return fprintf(stderr, "serve: no address\n"), 2;
    far_set_log(to_stderr, NULL, FAR_LOG_INFO);
    if (far_server_create(&srv, &o) != FAR_OK || far_server_add_program(srv, &d, NULL) != FAR_OK)
        return fprintf(stderr, "serve: %s\n", far_last_error()), 1;
    for (; i < argc; i++) {
        char bound[128];
        if (far_server_listen(srv, argv[i], bound, sizeof bound) != FAR_OK)
            return fprintf(stderr, "listen %s: %s\n", argv[i], far_last_error()), 1;
        printf("listening %s\n", bound);
    }
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    far_err rc = far_server_start(srv);
    if (rc != FAR_OK) {
        printf("start failed: %s: %s\n", far_errname(rc), far_last_error());
        far_server_destroy(srv);
        return 3;
    }
    printf("ready\n");
    fflush(stdout);
    rc = far_server_run(srv);
    far_server_destroy(srv);
    printf("stopped\n");
    return rc == FAR_OK ? 0 : 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int load(const char *spec, long ms)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    far_client_opts o = {.timeout_ms = 1000};
    far_client *c;
    far_err rc = far_client_open(&c, spec, &o);
    if (rc != FAR_OK)
        return printf("open failed: %s: %s\n", far_errname(rc), far_last_error()), 1;
    uint32_t prog = REG_PROG, vers = 1;
    const char *slash = strchr(spec, '/');
    if (slash && strncmp(spec, "REG_PROG", 8) != 0)
        prog = (uint32_t)strtoul(spec, NULL, 0);
    double end = now_ms() + (double)ms;
    for (int n = 0; n < 100000 && now_ms() < end; n++) {
        uint32_t pid = 0;
        rc = far_client_call(c, prog, vers, 1, NULL, NULL, u32_dec, &pid, NULL, NULL);
        if (rc == FAR_OK)
            printf("ok %" PRIu32 "\n", pid);
        else
            printf("err %s\n", far_errname(rc));
        usleep(20000);
    }
    far_client_destroy(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (argc == 4 && strcmp(argv[1], "load") == 0)
        return load(argv[2], strtol(argv[3], NULL, 10));
    fprintf(stderr, "usage: reg_peer serve [-r] [-p PROG] [-v VERS] ADDR... | load SPEC MS\n");
    return 2;
}
