/* The classic server of dyn_test.x: rpcgen's XDR and dispatch (rpcgen -m)
 * with libtirpc, no reflection.  Listens on TCP at 127.0.0.1, port 0;
 * prints "port N" once it serves, then serves until SIGTERM.  Registers
 * with no binder: reached at its address only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rpc/rpc.h>

#include "dyn_test.h"

void dt_prog_1(struct svc_req *rq, SVCXPRT *xprt); /* rpcgen -m */

/* rpcgen's procedures: results in static storage, as rpcgen expects; the
 * arguments are freed only after the reply is sent. */
item *echo_1_svc(item *argp, struct svc_req *rq)
{
    static item r;
    (void)rq;
    r = *argp;
    return &r;
}

int *weigh_1_svc(tag *argp, struct svc_req *rq)
{
    static int r;
    (void)rq;
    r = (int)strlen(argp->key) + argp->value;
    return &r;
}

dt_text *hello_1_svc(dt_text *argp, struct svc_req *rq)
{
    static char buf[4096];
    static dt_text r = buf;
    (void)rq;
    snprintf(buf, sizeof buf, "hello, %s", *argp);
    return &r;
}

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
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0 || listen(fd, 16) < 0) {
        perror("dyn_classic");
        return 1;
    }
    SVCXPRT *xprt = svctcp_create(fd, 0, 0);
    if (!xprt || !svc_register(xprt, DT_PROG, DT_V1, dt_prog_1, 0)) {
        fprintf(stderr, "dyn_classic: svctcp_create or svc_register failed\n");
        return 1;
    }
    printf("port %u\n", (unsigned)ntohs(sin.sin_port));
    fflush(stdout);
    svc_run();
    return 1;
}
