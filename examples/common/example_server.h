/* The part every example server shares: listen on the address given (or
 * tcp://127.0.0.1:0), print the address actually bound, serve until SIGINT or
 * SIGTERM (far_server_stop is async-signal-safe), then stop gracefully. */
#ifndef EXAMPLE_SERVER_H
#define EXAMPLE_SERVER_H

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <farcall/rpc.h>

static far_server *example_server;
/* If not 0, the mode a Unix socket the server listens on is given (the
 * default, from the umask, lets only the owner connect). */
static mode_t example_unix_mode;

static void example_on_signal(int sig)
{
    (void)sig;
    far_server_stop(example_server);
}

/* Creates the server; the caller adds its programs, then calls example_serve. */
static inline far_server *example_server_create(void)
{
    if (far_server_create(&example_server, NULL) != FAR_OK) {
        fprintf(stderr, "cannot create the server\n");
        return NULL;
    }
    return example_server;
}

static inline int example_serve(const char *prog, int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "tcp://127.0.0.1:0";
    char bound[160];
    far_err rc = far_server_listen(example_server, addr, bound, sizeof bound);
    if (rc != FAR_OK) {
        fprintf(stderr, "%s: cannot listen on %s: %s (%s)\n", prog, addr, far_strerror(rc),
                far_last_error());
        far_server_destroy(example_server);
        return 1;
    }
    if (example_unix_mode && strncmp(bound, "unix:", 5) == 0)
        chmod(bound + 5, example_unix_mode);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = example_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("%s: listening on %s\n", prog, bound);
    fflush(stdout);
    rc = far_server_run(example_server);
    far_server_destroy(example_server);
    printf("%s: stopped\n", prog);
    return rc == FAR_OK ? 0 : 1;
}

/* Opens a client or explains why not ("connection refused -- is the server
 * running?"). */
static inline far_client *example_connect(const char *prog, const char *addr)
{
    far_client *c;
    far_err rc = far_client_open(&c, addr, NULL);
    if (rc == FAR_ECONNREFUSED) {
        fprintf(stderr, "%s: %s: connection refused \xe2\x80\x94 is the server running?\n", prog,
                addr);
        return NULL;
    }
    if (rc != FAR_OK) {
        fprintf(stderr, "%s: %s\n", prog, far_last_error());
        return NULL;
    }
    return c;
}

static inline int example_fail(const char *prog, far_err rc)
{
    fprintf(stderr, "%s: %s (%s)\n", prog, far_strerror(rc), far_last_error());
    return 1;
}

#endif
