/* An rpcgen + libtirpc echo server: rpcgen's dispatch (rpcgen -m) of
 * ECHO_PROG version 1, whose procedures return their argument
 * (mkecho.py writes them), on a TCP transport at 127.0.0.1, port 0.
 *
 * Prints "port N" on stdout once it serves, then serves until SIGTERM or
 * SIGINT.  Registers with no portmapper (svc_register protocol 0): a client
 * reaches it at the printed address only.  ECHO_HEADER names rpcgen's
 * header of the echo .x. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rpc/rpc.h>

#include ECHO_HEADER

void echo_prog_1(struct svc_req *rq, SVCXPRT *xprt); /* rpcgen -m */

static void on_signal(int sig)
{
    (void)sig;
    _exit(0);
}

int main(void)
{
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("echo: socket");
        return 1;
    }
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0 || listen(fd, 16) < 0) {
        perror("echo: bind");
        return 1;
    }
    SVCXPRT *xprt = svctcp_create(fd, 0, 0);
    if (!xprt) {
        fprintf(stderr, "echo: svctcp_create failed\n");
        return 1;
    }
    if (!svc_register(xprt, ECHO_PROG, ECHO_V, echo_prog_1, 0)) {
        fprintf(stderr, "echo: svc_register failed\n");
        return 1;
    }
    printf("port %u\n", (unsigned)ntohs(sin.sin_port));
    fflush(stdout);
    svc_run();
    fprintf(stderr, "echo: svc_run returned\n");
    return 1;
}
