/* bench_epc_fault.c -- the cost of one EPC fault (evict + load) with each fault mechanism,
 * against SGX's published ~40,000 cycles per page swap (EWB + ELDU; VAULT, ASPLOS'18).
 *
 * Random accesses over 2x and 4x the budget fault on 1 - 1/x of accesses; the cost of a fault
 * is the extra time per access over the same accesses in plain memory (measured in the same
 * run), divided by the faults per access. Beside it: the time inside the handler (what the
 * pager itself spends: crypto, ioctl/mprotect, madvise/fallocate) and the AES-256-GCM seal +
 * open of one 4 KiB page alone, the part of a fault that SGX does in its memory encryption
 * engine. The remainder is the kernel's fault entry and the signal round trip.
 *
 * Each mechanism runs with its paths side by side, in one run: "single" (CLOISTER_EPC_CLUSTER=1:
 * one eviction per fault, served in the faulting thread: the default before blocks), "block"
 * (the default: the oldest page and the other resident pages of its block of 512 pages, one
 * write-protect and one drop for all) and, for userfaultfd, "thread" (blocks, and faults served
 * by a handler thread that follows the faulting thread's core: CLOISTER_EPC_SERVE=thread). The
 * probing thread is pinned to one core for all of them, so that "thread" can share it. The
 * machine may be shared, so every point is the median of several runs, and the CPU time per
 * fault (getrusage of the timed accesses: user + system, which waiting for a core does not
 * inflate) is given beside the wall-clock figure. The CPU's vendor and model head the output
 * and fill a CSV column.
 *
 * Environment: CLOISTER_EPC_BENCH_BUDGET_MIB (default 93.5), CLOISTER_EPC_BENCH_SECONDS
 * (default 1.0 per point), CLOISTER_EPC_BENCH_REPS (default 3 runs per point). */
#include <cloister/crypto.h>
#include <cloister/epc.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MIB 1048576.0
#define SGX_CYCLES 40000.0
#define MAX_REPS 15

struct crypto_arg {
    crypto_aead *aead;
    uint8_t page[EPC_PAGE_SIZE], sealed[EPC_PAGE_SIZE + CRYPTO_AEAD_TAG_LEN];
};

static void seal_open(void *arg, uint64_t iters)
{
    struct crypto_arg *c = arg;
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN] = {0}, aad[8] = {0};
    for (uint64_t i = 0; i < iters; i++) {
        nonce[4] = (uint8_t)i;
        if (crypto_aead_ctx_seal(c->aead, nonce, aad, sizeof aad, c->page, EPC_PAGE_SIZE,
                                 c->sealed) != 0 ||
            crypto_aead_ctx_open(c->aead, nonce, aad, sizeof aad, c->sealed, sizeof c->sealed,
                                 c->page) != 0)
            abort();
    }
}

static double crypto_ns_per_page(void)
{
    static struct crypto_arg c;
    uint8_t key[32];
    if (crypto_random(key, sizeof key) != 0)
        abort();
    c.aead = crypto_aead_new(CRYPTO_AES256_GCM, key);
    crypto_wipe(key, sizeof key);
    if (!c.aead)
        abort();
    double ns = bench_ns_per_op(seal_open, &c, 0.3);
    crypto_aead_free(c.aead);
    return ns;
}

/* Keeps the probing thread on the core it runs on now, for every path alike. */
static void pin_to_current_core(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* One probe on a fresh heap. */
static int probe(size_t region, size_t budget, enum epc_pager_kind pager, size_t ws, double seconds,
                 struct epc_probe *out, const char **name)
{
    struct epc_config cfg = {region, budget, pager, EPC_SERVE_AUTO};
    epc_heap *h = epc_heap_create(&cfg);
    if (!h)
        return -1;
    int rc = epc_probe_access(h, ws, EPC_PATTERN_RANDOM, seconds, out);
    struct epc_stats s;
    epc_heap_stats(h, &s);
    *name = s.pager;
    epc_heap_destroy(h);
    return rc;
}

struct point_in {
    size_t region, budget;
    enum epc_pager_kind pager;
    size_t ws;
    double seconds;
    int reps;
    const char *path; /* "single", "block" or "thread" */
    double ratio, ghz, crypto_ns;
    const char *cpu;
};

/* Medians over in->reps runs of one mechanism and eviction path: one CSV row, one line of
 * text. base: the same accesses in plain memory. */
static int point(const struct point_in *in, const struct epc_probe *base)
{
    double wall[MAX_REPS], cpu[MAX_REPS], handler[MAX_REPS], fpa[MAX_REPS], nspa[MAX_REPS];
    const char *name = NULL;
    if (strcmp(in->path, "single") == 0)
        setenv("CLOISTER_EPC_CLUSTER", "1", 1);
    if (strcmp(in->path, "thread") == 0)
        setenv("CLOISTER_EPC_SERVE", "thread", 1);
    for (int i = 0; i < in->reps; i++) {
        struct epc_probe p;
        if (probe(in->region, in->budget, in->pager, in->ws, in->seconds, &p, &name) != 0)
            return -1;
        fpa[i] = p.faults_per_access;
        nspa[i] = p.ns_per_access;
        wall[i] = (p.ns_per_access - base->ns_per_access) / p.faults_per_access;
        cpu[i] = (p.cpu_ns_per_access - base->cpu_ns_per_access) / p.faults_per_access;
        handler[i] = p.handler_ns_per_fault;
    }
    unsetenv("CLOISTER_EPC_CLUSTER");
    unsetenv("CLOISTER_EPC_SERVE");
    double per_fault = bench_quantile(wall, (size_t)in->reps, 0.5);
    double cpu_fault = bench_quantile(cpu, (size_t)in->reps, 0.5);
    double in_handler = bench_quantile(handler, (size_t)in->reps, 0.5);
    double cycles = per_fault * in->ghz;
    const char *eviction = in->path;
    printf("%s,%.2f,%.1f,%.4f,%.1f,%.1f,%.2f,%.0f,%.2f,%.2f,%.2f,%.2f,%s,%.2f,%d,%s\n", name,
           (double)in->budget / MIB, in->ratio, bench_quantile(fpa, (size_t)in->reps, 0.5),
           bench_quantile(nspa, (size_t)in->reps, 0.5), base->ns_per_access, per_fault / 1e3,
           cycles, in_handler / 1e3, in->crypto_ns / 1e3, SGX_CYCLES / in->ghz / 1e3,
           cycles / SGX_CYCLES, eviction, cpu_fault / 1e3, in->reps, in->cpu);
    fflush(stdout);
    fprintf(stderr,
            "%-11s %-6s %.0fx budget: %.1f us per fault = %.0f cycles (%.2fx SGX's 40,000; "
            "target 0.5-2x), %.1f us of it in the handler, %.1f us CPU time\n",
            name, eviction, in->ratio, per_fault / 1e3, cycles, cycles / SGX_CYCLES,
            in_handler / 1e3, cpu_fault / 1e3);
    return 0;
}

int main(int argc, char **argv)
{
    size_t budget = EPC_BUDGET_SGX1;
    const char *text = getenv("CLOISTER_EPC_BENCH_BUDGET_MIB");
    if (text && *text && (epc_parse_budget(text, &budget) != 0 || budget == EPC_BUDGET_UNLIMITED)) {
        fprintf(stderr,
                "bench_epc_fault: CLOISTER_EPC_BENCH_BUDGET_MIB='%s' is not a size in "
                "MiB\n",
                text);
        return 2;
    }
    const char *secs = getenv("CLOISTER_EPC_BENCH_SECONDS");
    double seconds = secs && *secs ? atof(secs) : 1.0;
    const char *reps_text = getenv("CLOISTER_EPC_BENCH_REPS");
    int reps = reps_text && *reps_text ? atoi(reps_text) : 3;
    reps = reps < 1 ? 1 : reps > MAX_REPS ? MAX_REPS : reps;
    char cpu[240];
    bench_cpu_model(cpu, sizeof cpu);
    double ghz = bench_tsc_ghz(), crypto_ns = crypto_ns_per_page();
    fprintf(stderr,
            "CPU %s; EPC budget %.1f MiB, TSC %.2f GHz; AES-256-GCM seal + open of a 4 KiB "
            "page: %.2f us; median of %d runs per point\n",
            cpu, (double)budget / MIB, ghz, crypto_ns / 1e3, reps);
    printf("pager,budget_mib,ws_over_budget,faults_per_access,ns_per_access,"
           "baseline_ns_per_access,us_per_fault,cycles_per_fault,handler_us_per_fault,"
           "crypto_us_per_fault,sgx_us_per_fault,ratio_to_sgx,eviction,cpu_us_per_fault,runs,"
           "cpu\n");
    const enum epc_pager_kind pagers[] = {EPC_PAGER_UFFD, EPC_PAGER_SIGSEGV};
    const double ratios[] = {2.0, 4.0};
    const char *const paths[] = {"single", "block", "thread"};
    pin_to_current_core();
    for (size_t r = 0; r < 2; r++) {
        size_t ws = (size_t)(ratios[r] * (double)budget) / 64 * 64;
        size_t region = ws + ws / 16 + ((size_t)1 << 20);
        struct epc_probe base;
        const char *name;
        if (probe(region, EPC_BUDGET_UNLIMITED, EPC_PAGER_AUTO, ws, seconds / 2, &base, &name)) {
            fprintf(stderr, "bench_epc_fault: cannot map %zu bytes\n", region);
            return 1;
        }
        for (size_t k = 0; k < 2; k++)
            for (size_t i = 0; i < (pagers[k] == EPC_PAGER_UFFD ? 3u : 2u); i++)
                if (point(&(struct point_in){region, budget, pagers[k], ws, seconds, reps, paths[i],
                                             ratios[r], ghz, crypto_ns, cpu},
                          &base) != 0)
                    fprintf(stderr, "bench_epc_fault: %s pager unavailable here, skipped\n",
                            pagers[k] == EPC_PAGER_UFFD ? "userfaultfd" : "sigsegv");
    }
    fprintf(stderr, "bench_epc_floor gives the kernel's part of a fault on this machine\n");
    (void)argc;
    (void)argv;
    return 0;
}
