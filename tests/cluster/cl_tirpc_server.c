/* An rpcgen + libtirpc instance of cluster.x for the cluster tests: serves
 * WHO over TCP on a port of its own, registered nowhere (`far publish`
 * publishes it), until killed.  usage: cl_tirpc_server ID  (prints
 * "ready tcp://127.0.0.1:PORT") */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rpc/rpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"

extern void cluster_prog_1(struct svc_req *rq, SVCXPRT *xprt);

static u_int id;

u_int *who_1_svc(u_int *argp, struct svc_req *rq)
{
    static u_int r;
    (void)argp;
    (void)rq;
    r = id;
    return &r;
}

u_int *crash_1_svc(u_int *argp, struct svc_req *rq)
{
    if (*argp == id)
        _exit(3);
    return who_1_svc(argp, rq);
}

u_int *crash_idem_1_svc(u_int *argp, struct svc_req *rq)
{
    return crash_1_svc(argp, rq);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    id = (u_int)strtoul(argv[1], NULL, 10);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0 || listen(fd, 128) != 0)
        return 1; /* (libtirpc listens only on a socket it made itself) */
    SVCXPRT *tcp = svctcp_create(fd, 0, 0);
    /* protocol 0: not registered with any binder */
    if (!tcp || !svc_register(tcp, CLUSTER_PROG, CLUSTER_VERS, cluster_prog_1, 0)) {
        fprintf(stderr, "cl_tirpc_server: svctcp_create failed\n");
        return 1;
    }
    printf("ready tcp://127.0.0.1:%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    svc_run();
    return 1;
}
