/* deadline.h -- the absolute time `ms` milliseconds from now on a clock, for
 * pthread_cond_timedwait (whose condition variable must use the same clock). */
#ifndef CLOISTER_UTIL_DEADLINE_H
#define CLOISTER_UTIL_DEADLINE_H

#include <time.h>

static inline struct timespec deadline_after_ms(clockid_t clock, unsigned ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

#endif
