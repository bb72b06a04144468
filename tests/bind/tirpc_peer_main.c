/* rpcgen + libtirpc peer: registers version 1 over TCP with pmap_set (what
 * svc_register does given IPPROTO_TCP) and version 2 over UDP with rpcb_set
 * (svc_tp_create), then serves.  Like every rpcgen server it never
 * unregisters: killing it leaves stale entries for the binder to find. */
#include <rpc/rpc.h>
#include <stdio.h>
#include <stdlib.h>

#include "tirpc_peer.h"

extern void tirpc_peer_1(struct svc_req *rq, SVCXPRT *xprt);
extern void tirpc_peer_2(struct svc_req *rq, SVCXPRT *xprt);

int *add1_1_svc(int *argp, struct svc_req *rq)
{
    static int r;
    (void)rq;
    r = *argp + 1;
    return &r;
}

int *add1_v2_2_svc(int *argp, struct svc_req *rq)
{
    static int r;
    (void)rq;
    r = *argp + 2;
    return &r;
}

int main(void)
{
    pmap_unset(TIRPC_PEER, TIRPC_PEER_V1);
    rpcb_unset(TIRPC_PEER, TIRPC_PEER_V2, NULL);
    SVCXPRT *tcp = svctcp_create(RPC_ANYSOCK, 0, 0);
    if (!tcp || !svc_register(tcp, TIRPC_PEER, TIRPC_PEER_V1, tirpc_peer_1, IPPROTO_TCP)) {
        fprintf(stderr, "tirpc_peer: pmap_set (svc_register) failed\n");
        return 1;
    }
    struct netconfig *nc = getnetconfigent("udp");
    if (!nc || !svc_tp_create(tirpc_peer_2, TIRPC_PEER, TIRPC_PEER_V2, nc)) {
        fprintf(stderr, "tirpc_peer: rpcb_set (svc_tp_create) failed\n");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    svc_run();
    return 1;
}
