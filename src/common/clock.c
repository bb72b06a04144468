/* The monotonic clock every layer reads. */
#include "internal.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t far__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t boot_epoch;
static pthread_once_t boot_once = PTHREAD_ONCE_INIT;

static void boot_draw(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
    }
    boot_epoch = v ? v : 1;
}

uint64_t far__boot_epoch(void)
{
    pthread_once(&boot_once, boot_draw);
    return boot_epoch;
}

static _Thread_local uint64_t inherited_deadline;

void far__inherit_deadline_set(uint64_t deadline_ns)
{
    inherited_deadline = deadline_ns;
}

uint64_t far__inherit_deadline_get(void)
{
    return inherited_deadline;
}
