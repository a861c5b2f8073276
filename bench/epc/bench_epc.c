/* bench_epc.c -- the memory cliff (thesis Figure 2b), reproduced with real paging.
 *
 * For working sets from well inside the caches to 4x the EPC budget, random and sequential
 * accesses (epc_probe_access) are timed twice in the same run: in an EPC heap with the budget
 * (region of at least 4x the budget, so the pager is armed at every point) and in an unlimited
 * heap (plain memory: the no-budget baseline, which shows the cache steps alone). CSV rows:
 * one per (pattern, mode, working set), each (pattern, mode) series in a block. Notes on stderr
 * compare with the published figures.
 *
 * Environment: CLOISTER_EPC_BENCH_BUDGET_MIB (default 93.5, SGX1's usable EPC),
 * CLOISTER_EPC_BENCH_SECONDS per point (default 0.3), CLOISTER_EPC_PAGER (uffd|sigsegv). */
#include <cloister/epc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define MIB 1048576.0

static size_t cache_bytes(int index)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
    FILE *f = fopen(path, "r");
    size_t kib = 0;
    if (f) {
        if (fscanf(f, "%zuK", &kib) != 1)
            kib = 0;
        fclose(f);
    }
    return kib * 1024;
}

static double env_double(const char *name, double dflt)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : dflt;
}

struct point {
    struct epc_probe probe;
    const char *pager;
};

static int measure(size_t ws, size_t budget, enum epc_pattern pattern, double seconds,
                   struct point *out)
{
    size_t slack = ws / 16 + ((size_t)1 << 20);
    size_t region = budget == EPC_BUDGET_UNLIMITED ? ws + slack
                                                   : (ws > 4 * budget ? ws : 4 * budget) + slack;
    struct epc_config cfg = {region, budget, EPC_PAGER_AUTO, EPC_SERVE_AUTO};
    epc_heap *h = epc_heap_create(&cfg);
    if (!h)
        return -1;
    int rc = epc_probe_access(h, ws, pattern, seconds, &out->probe);
    struct epc_stats s;
    epc_heap_stats(h, &s);
    out->pager = s.pager;
    epc_heap_destroy(h);
    return rc;
}

int main(int argc, char **argv)
{
    size_t budget = EPC_BUDGET_SGX1;
    const char *text = getenv("CLOISTER_EPC_BENCH_BUDGET_MIB");
    if (text && *text && (epc_parse_budget(text, &budget) != 0 || budget == EPC_BUDGET_UNLIMITED)) {
        fprintf(stderr, "bench_epc: CLOISTER_EPC_BENCH_BUDGET_MIB='%s' is not a size in MiB\n",
                text);
        return 2;
    }
    double seconds = env_double("CLOISTER_EPC_BENCH_SECONDS", 0.3);
    size_t l2 = cache_bytes(2), llc = cache_bytes(3);
    double ghz = bench_tsc_ghz();
    fprintf(stderr,
            "EPC budget %.1f MiB, L2 %.1f MiB, LLC %.1f MiB (as the VM reports it), "
            "TSC %.2f GHz, %.2f s per point\n",
            (double)budget / MIB, (double)l2 / MIB, (double)llc / MIB, ghz, seconds);

    /* Cache-sized points below a quarter of the budget, then multiples of the budget. */
    const double small_mib[] = {0.125, 0.5, 1, 2, 4, 8, 16};
    const double ratios[] = {0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0};
    enum { NSMALL = sizeof small_mib / sizeof small_mib[0], NR = sizeof ratios / sizeof ratios[0] };
    size_t sizes[NSMALL + NR], n = 0;
    for (size_t i = 0; i < NSMALL; i++)
        if (small_mib[i] * MIB < 0.25 * (double)budget)
            sizes[n++] = (size_t)(small_mib[i] * MIB);
    for (size_t i = 0; i < NR; i++)
        sizes[n++] = (size_t)(ratios[i] * (double)budget) / 64 * 64;

    printf("pattern,mode,pager,ws_bytes,ws_mib,ws_over_budget,accesses,ns_per_access,"
           "faults_per_access,handler_us_per_fault,budget_mib,l2_mib,llc_mib\n");
    const char *names[] = {"random", "sequential"};
    double at[2][2][NR]; /* [pattern][epc?][ratio index]: ns per access */
    double fpa[2][NR];
    for (int pat = 0; pat < 2; pat++) {
        for (int epc = 0; epc < 2; epc++) { /* one series after the other: lines in the plot */
            for (size_t i = 0; i < n; i++) {
                bool multiple = i >= n - NR;
                if (epc && !multiple)
                    continue; /* far below the budget: the pager has nothing to do */
                struct point pt;
                if (measure(sizes[i], epc ? budget : EPC_BUDGET_UNLIMITED, (enum epc_pattern)pat,
                            seconds, &pt) != 0) {
                    fprintf(stderr, "bench_epc: cannot measure %zu bytes\n", sizes[i]);
                    return 1;
                }
                printf("%s,%s,%s,%zu,%.3f,%.3f,%llu,%.2f,%.5f,%.2f,%.2f,%.2f,%.2f\n", names[pat],
                       epc ? "epc" : "unlimited", pt.pager, sizes[i], (double)sizes[i] / MIB,
                       (double)sizes[i] / (double)budget, (unsigned long long)pt.probe.accesses,
                       pt.probe.ns_per_access, pt.probe.faults_per_access,
                       pt.probe.handler_ns_per_fault / 1e3, (double)budget / MIB, (double)l2 / MIB,
                       (double)llc / MIB);
                fflush(stdout);
                if (multiple) {
                    at[pat][epc][i - (n - NR)] = pt.probe.ns_per_access;
                    if (epc)
                        fpa[pat][i - (n - NR)] = pt.probe.faults_per_access;
                }
            }
        }
    }

    /* Notes: below/above the budget, and the cost of one fault from the random 2x point. */
    for (int pat = 0; pat < 2; pat++) {
        int half = 1, twice = 8, four = 10; /* indices of 0.5x, 2x, 4x in ratios[] */
        fprintf(stderr,
                "%-10s 0.5x budget %8.1f ns/access | 2x %9.1f ns/access (%5.3f faults/access, "
                "%.0fx the no-budget run) | 4x %9.1f ns/access (%.0fx)\n",
                names[pat], at[pat][1][half], at[pat][1][twice], fpa[pat][twice],
                at[pat][1][twice] / at[pat][0][twice], at[pat][1][four],
                at[pat][1][four] / at[pat][0][four]);
    }
    double per_fault_ns = (at[0][1][8] - at[0][0][8]) / fpa[0][8];
    fprintf(stderr,
            "cost per fault (random, 2x): %.1f us = %.0f cycles; SGX EWB+ELDU ~40,000 cycles "
            "(VAULT, ASPLOS'18) = %.1f us at this TSC: ratio %.2f (target 0.5-2)\n",
            per_fault_ns / 1e3, per_fault_ns * ghz, 40000 / ghz / 1e3, per_fault_ns * ghz / 40000);
    fprintf(stderr, "thesis Figure 2b: SCBR up to 18x slower with ~2x the EPC of subscriptions "
                    "(a whole workload, whose matching work between accesses dilutes the "
                    "faults; a bare access loop shows the raw cliff)\n");
    (void)argc;
    (void)argv;
    return 0;
}
