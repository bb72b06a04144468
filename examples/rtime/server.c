/* rtime server: answers GETTIME with its time of day. */
#include <sys/time.h>

#include "common/example_server.h"
#include "rtime.h"

static far_err gettime(far_svc_req *req, struct rtime_val *res)
{
    (void)req;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    res->seconds = (uint64_t)tv.tv_sec;
    res->microseconds = (uint32_t)tv.tv_usec;
    return FAR_OK;
}

int main(int argc, char **argv)
{
    static const rtime_prog_1_impl impl = {.gettime = gettime};
    if (!example_server_create() ||
        far_server_add_program(example_server, rtime_prog_1_program(), &impl) != FAR_OK)
        return 1;
    return example_serve("rtime_server", argc, argv);
}
