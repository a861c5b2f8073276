/* bench_orch.c -- the orchestration's figures and targets, in one CSV
 * (kind,policy,sgx_fraction,x,y):
 *   decision   ns per scheduling decision (x: nodes, 100 and 1,000) for each policy, random the
 *              baseline; targets <= 100 us at 100 nodes and <= 1 ms at 1,000
 *   sim_rate   simulator events per second (x: jobs); target >= 1 M events/s
 *   sim_rate_cpu  the same per second of the simulating thread's CPU time
 *   wait_cdf   CDF of the waiting time (x: seconds, y: fraction of jobs) for binpack, spread and
 *              random at SGX fractions 0, 0.25, 0.5, 0.75 and 1
 *   turn_cdf   the same for the turnaround
 *   util       EPC utilisation of the SGX nodes over time (x: seconds), binpack and spread at 0.5
 *   refused    enclaves refused (y) against the fraction of dishonest SGX pods (x), with EPC
 *              groups ("enforce") and over-commit events without them ("none"); honest pods
 *              (x = 0) must show zero over-commit
 * The cluster of the figures: 2 SGX nodes (93.5 MiB EPC) and 3 standard nodes (32 GiB), as the
 * paper's; the trace: 663 jobs (the paper's count) arriving at 4 jobs/s, so that the cluster
 * is loaded and pods wait, generated as SGX jobs and relabelled to each fraction. */
#include <cloister/orch.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "util/prng.h"

static struct orch_node *cluster(size_t n, uint64_t seed)
{
    struct orch_node *nodes = calloc(n, sizeof *nodes);
    uint64_t rng = seed;
    for (size_t i = 0; nodes && i < n; i++) {
        struct orch_node *x = &nodes[i];
        x->sgx = i % 2 == 0;
        snprintf(x->name, sizeof x->name, "n%zu", i);
        x->epc_alloc = x->sgx ? ORCH_EPC_SGX1 : 0;
        x->mem_alloc = ORCH_MEM_NODE;
        x->epc_requested = x->sgx ? prng_next(&rng) % ORCH_EPC_SGX1 : 0;
        x->epc_measured = x->sgx ? prng_next(&rng) % ORCH_EPC_SGX1 : 0;
        x->mem_requested = prng_next(&rng) % ORCH_MEM_NODE;
    }
    return nodes;
}

struct decide {
    struct orch_node *nodes;
    size_t n;
    enum orch_policy policy;
    uint64_t rng;
};

static void decide(void *arg, uint64_t iters)
{
    struct decide *d = arg;
    struct orch_pod p = {.name = "p", .sgx = true, .epc_request = 1 << 20};
    int sink = 0;
    for (uint64_t i = 0; i < iters; i++) {
        p.sgx = i & 1; /* half SGX pods, half standard */
        p.mem_request = p.sgx ? 0 : 1 << 28;
        sink += orch_pick(d->policy, d->nodes, d->n, &p, 1.0, &d->rng, NULL, 0);
    }
    __asm__ volatile("" : : "r"(sink));
}

static void decisions(void)
{
    static const size_t sizes[] = {100, 1000};
    for (size_t s = 0; s < 2; s++)
        for (enum orch_policy p = ORCH_BINPACK; p <= ORCH_RANDOM; p++) {
            struct decide d = {cluster(sizes[s], 3), sizes[s], p, 1};
            double ns = bench_ns_per_op(decide, &d, 0.3);
            printf("decision,%s,,%zu,%.1f\n", orch_policy_name(p), sizes[s], ns);
            fprintf(stderr, "decision %s at %zu nodes: %.2f us (target %s)\n", orch_policy_name(p),
                    sizes[s], ns / 1e3, s ? "<= 1 ms" : "<= 100 us");
            free(d.nodes);
        }
}

static struct orch_trace trace(size_t jobs, double rate, double dishonest, uint64_t seed)
{
    struct orch_gen_options g;
    orch_gen_options_init(&g);
    g.exceed = dishonest > 0 ? g.exceed : 0; /* no liar at all at 0: honest pods */
    g.jobs = jobs;
    g.sgx_fraction = 1;
    g.rate_per_s = rate;
    g.dishonest = dishonest;
    g.seed = seed;
    struct orch_trace t;
    struct cloister_err err;
    if (orch_trace_generate(&g, &t, &err) != CLOISTER_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return t;
}

static void options(struct orch_sim_options *o, enum orch_policy p)
{
    orch_sim_options_init(o);
    o->nodes = 5;
    o->sgx_nodes = 2;
    o->policy = p;
}

/* The thread's CPU time: on a shared machine it does not count the others' turns. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sim_rate(void)
{
    /* loaded, not overloaded; ORCH_BENCH_JOBS sets the size (`cloister reproduce --quick`) */
    const char *jobs = getenv("ORCH_BENCH_JOBS");
    struct orch_trace t = trace(jobs && atoi(jobs) > 0 ? (size_t)atoi(jobs) : 200000, 20, 0.05, 5);
    for (enum orch_policy p = ORCH_BINPACK; p <= ORCH_RANDOM; p++) {
        struct orch_sim_options o;
        options(&o, p);
        o.nodes = 100;
        o.sgx_nodes = 50;
        struct orch_sim_result r;
        struct cloister_err err;
        double t0 = bench_now_ns(), c0 = cpu_s();
        if (orch_simulate(&t, &o, &r, &err) != CLOISTER_OK)
            exit(1);
        double eps = (double)r.events / ((bench_now_ns() - t0) / 1e9);
        double cps = (double)r.events / (cpu_s() - c0);
        printf("sim_rate,%s,,%zu,%.0f\n", orch_policy_name(p), t.count, eps);
        printf("sim_rate_cpu,%s,,%zu,%.0f\n", orch_policy_name(p), t.count, cps);
        fprintf(stderr, "simulator %s: %.2f M events/s, %.2f M per CPU second (target >= 1 M)\n",
                orch_policy_name(p), eps / 1e6, cps / 1e6);
        orch_sim_result_free(&r);
    }
    orch_trace_free(&t);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void cdf(const char *kind, enum orch_policy p, double frac, double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    for (size_t k = 0; k <= 50; k++) {
        size_t i = k * (n - 1) / 50;
        printf("%s,%s,%.2f,%.3f,%.4f\n", kind, orch_policy_name(p), frac, v[i],
               (double)(i + 1) / (double)n);
    }
}

static void distributions(void)
{
    static const double fractions[] = {0, 0.25, 0.5, 0.75, 1};
    for (size_t f = 0; f < 5; f++)
        for (enum orch_policy p = ORCH_BINPACK; p <= ORCH_RANDOM; p++) {
            struct orch_trace t = trace(663, 4, 0, 11);
            orch_trace_relabel(&t, fractions[f], 11);
            struct orch_sim_options o;
            options(&o, p);
            o.sample_s = 10;
            struct orch_sim_result r;
            struct cloister_err err;
            if (orch_simulate(&t, &o, &r, &err) != CLOISTER_OK)
                exit(1);
            double *w = malloc(t.count * sizeof *w), *ta = malloc(t.count * sizeof *ta);
            for (size_t j = 0; j < t.count; j++) {
                w[j] = r.per_job[j].start_s - t.jobs[j].submit_s;
                ta[j] = r.per_job[j].end_s - t.jobs[j].submit_s;
            }
            cdf("wait_cdf", p, fractions[f], w, t.count);
            cdf("turn_cdf", p, fractions[f], ta, t.count);
            if (fractions[f] == 0.5 && p != ORCH_RANDOM)
                for (size_t k = 0; k < r.nsamples; k++)
                    printf("util,%s,0.50,%zu,%.4f\n", orch_policy_name(p), k * 10, r.samples[k]);
            fprintf(stderr,
                    "sgx %.2f %-8s waiting p50 %7.1f s p99 %7.1f s, turnaround total %.1f h, "
                    "over-commits %zu\n",
                    fractions[f], orch_policy_name(p), r.waiting_p50_s, r.waiting_p99_s,
                    r.turnaround_total_s / 3600, r.epc_overcommit_events);
            free(w);
            free(ta);
            orch_sim_result_free(&r);
            orch_trace_free(&t);
        }
}

static void refusals(void)
{
    static const double dishonest[] = {0, 0.05, 0.1, 0.2, 0.4};
    for (size_t d = 0; d < 5; d++)
        for (int enforce = 1; enforce >= 0; enforce--) {
            struct orch_trace t = trace(663, 4, dishonest[d], 13);
            struct orch_sim_options o;
            options(&o, ORCH_BINPACK);
            o.enforce = enforce;
            struct orch_sim_result r;
            struct cloister_err err;
            if (orch_simulate(&t, &o, &r, &err) != CLOISTER_OK)
                exit(1);
            printf("refused,%s,1.00,%.2f,%zu\n", enforce ? "enforce" : "none", dishonest[d],
                   enforce ? r.refused_enclaves : r.epc_overcommit_events);
            if (dishonest[d] == 0 && r.epc_overcommit_events)
                fprintf(stderr, "FAIL: honest pods over-committed EPC\n");
            if (dishonest[d] == 0 && !enforce)
                fprintf(stderr,
                        "honest pods without EPC groups: %zu over-commit events "
                        "(target 0)\n",
                        r.epc_overcommit_events);
            orch_sim_result_free(&r);
            orch_trace_free(&t);
        }
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("kind,policy,sgx_fraction,x,y\n");
    decisions();
    sim_rate();
    distributions();
    refusals();
    return 0;
}
