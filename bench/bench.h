/* bench.h -- the shared timing kit of every benchmark.
 *
 * Benchmarks print CSV on stdout (one header line, then rows) and human notes on stderr, so
 * bench/run.sh can store the CSV and draw plots. Timing repeats a batch until min_seconds have
 * passed and reports the median batch, which resists noise from the other core. */
#ifndef CLOISTER_BENCH_H
#define CLOISTER_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds. */
double bench_now_ns(void);
/* The time-stamp counter and its frequency in GHz, measured once against the monotonic clock:
 * used to convert published cycle counts to this machine's time. */
uint64_t bench_cycles(void);
double bench_tsc_ghz(void);
/* Runs fn(arg, iters) in batches for at least min_seconds; returns the median ns per op. */
double bench_ns_per_op(void (*fn)(void *arg, uint64_t iters), void *arg, double min_seconds);
/* Sorts samples in place; returns the q-quantile (0 <= q <= 1). */
double bench_quantile(double *samples, size_t n, double q);
/* "AuthenticAMD AMD EPYC": vendor and model from /proc/cpuinfo (commas blanked, for CSV), or
 * "unknown". */
void bench_cpu_model(char *out, size_t cap);

#endif
