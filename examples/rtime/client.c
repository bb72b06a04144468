/* rtime client: prints the server's time of day. */
#include <time.h>

#include "common/example_server.h"
#include "rtime.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rtime_client ADDRESS\n");
        return 2;
    }
    far_client *c = example_connect("rtime_client", argv[1]);
    if (!c)
        return 1;
    rtime_val t;
    /* per-call options: a 5 s deadline rather than the client's 25 s */
    const far_call_opts opts = {.timeout_ms = 5000};
    far_err rc = gettime_1(c, &t, NULL, &opts);
    far_client_destroy(c);
    if (rc != FAR_OK)
        return example_fail("rtime_client", rc);
    time_t secs = (time_t)t.seconds;
    struct tm tm;
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime_r(&secs, &tm));
    printf("server time: %llu.%06u (%s UTC)\n", (unsigned long long)t.seconds, t.microseconds,
           when);
    return 0;
}
