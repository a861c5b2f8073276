/* bench.c -- see bench.h. */
#include "bench.h"

#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

uint64_t bench_cycles(void)
{
    return __rdtsc();
}

double bench_tsc_ghz(void)
{
    static double ghz;
    if (ghz == 0) {
        double t0 = bench_now_ns();
        uint64_t c0 = bench_cycles();
        while (bench_now_ns() - t0 < 50e6)
            ;
        ghz = (double)(bench_cycles() - c0) / (bench_now_ns() - t0);
    }
    return ghz;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_quantile(double *samples, size_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(samples, n, sizeof *samples, cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return samples[i];
}

double bench_ns_per_op(void (*fn)(void *arg, uint64_t iters), void *arg, double min_seconds)
{
    /* Grow the batch until it takes >= 5 ms, then collect batches. */
    uint64_t iters = 1;
    for (;;) {
        double t0 = bench_now_ns();
        fn(arg, iters);
        double dt = bench_now_ns() - t0;
        if (dt >= 5e6 || iters >= (1ull << 40))
            break;
        iters = dt < 1e5 ? iters * 10 : iters * 2;
    }
    enum { MAX_BATCHES = 1000 };
    double samples[MAX_BATCHES];
    size_t n = 0;
    double start = bench_now_ns();
    while (n < MAX_BATCHES && (n < 3 || bench_now_ns() - start < min_seconds * 1e9)) {
        double t0 = bench_now_ns();
        fn(arg, iters);
        samples[n++] = (bench_now_ns() - t0) / (double)iters;
    }
    return bench_quantile(samples, n, 0.5);
}
