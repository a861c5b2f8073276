/* bench.c -- see bench.h. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* "AuthenticAMD AMD EPYC" from /proc/cpuinfo (vendor_id, model name), or "unknown". */
void bench_cpu_model(char *out, size_t cap)
{
    char line[256], vendor[64] = "", model[160] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f) && !(*vendor && *model)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        char *v = colon + 1 + (colon[1] == ' ');
        v[strcspn(v, "\n")] = 0;
        for (char *c = v; *c; c++)
            if (*c == ',') /* the CSV column */
                *c = ' ';
        if (!*vendor && strncmp(line, "vendor_id", 9) == 0)
            snprintf(vendor, sizeof vendor, "%s", v);
        else if (!*model && strncmp(line, "model name", 10) == 0)
            snprintf(model, sizeof model, "%s", v);
    }
    if (f)
        fclose(f);
    snprintf(out, cap, "%s %s", *vendor ? vendor : "unknown", *model ? model : "");
}
