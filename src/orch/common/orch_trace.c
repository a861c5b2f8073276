/* orch_trace.c -- traces: a synthetic generator in the shape of the Google cluster trace (2011)
 * that the paper replayed, and the text format (orch.h).
 *
 * The generator's distributions, from the trace's published statistics:
 * - arrivals: Poisson, 663 jobs an hour by default (the paper's window: every 1,200th job of
 *   seconds 6,480-10,080);
 * - durations: log-normal (median 30 s, sigma 1.5), capped at 300 s as the paper's jobs were --
 *   heavy-tailed as the trace's, whose exact median could not be checked, so both are options;
 * - memory: the normalised peak use of a task has p50 0.0053, p90 0.0652 and p99 0.1699; we draw
 *   it from the piecewise log-linear quantile function through those points (and 0.0001 at p0,
 *   0.5 at p100), so the three quantiles hold exactly. It is scaled by 93.5 MiB (EPC) for an SGX
 *   job and by 32 GiB for a standard one; the request equals the use, except for the 3.36 % of
 *   tasks that the trace shows exceeding their request (request = use / (1 + U(0, 1)); an option)
 *   and for the dishonest SGX pods, which request one page.
 * Parsing checks every field and names the line of the first bad one. */
#include <cloister/orch.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/prng.h"

void orch_gen_options_init(struct orch_gen_options *o)
{
    *o = (struct orch_gen_options){.jobs = 663,
                                   .sgx_fraction = 0.5,
                                   .rate_per_s = 663.0 / 3600.0,
                                   .duration_median_s = 30,
                                   .duration_max_s = 300,
                                   .exceed = 0.0336,
                                   .seed = 1};
}

/* Normalised peak memory: the quantile function through the published points. */
static double draw_memory(uint64_t *rng)
{
    static const double q[] = {0.0, 0.5, 0.9, 0.99, 1.0};
    static const double v[] = {0.0001, 0.0053, 0.0652, 0.1699, 0.5};
    double u = prng_uniform(rng);
    size_t i = 0;
    while (i < 3 && u > q[i + 1])
        i++;
    double t = (u - q[i]) / (q[i + 1] - q[i]);
    return exp(log(v[i]) + t * (log(v[i + 1]) - log(v[i])));
}

static double draw_normal(uint64_t *rng)
{
    double u1 = prng_uniform(rng), u2 = prng_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

static uint64_t page_round(double bytes)
{
    uint64_t pages = (uint64_t)ceil(bytes / ORCH_EPC_PAGE);
    return (pages ? pages : 1) * ORCH_EPC_PAGE;
}

static void draw_job(const struct orch_gen_options *o, uint64_t *rng, size_t i, double t,
                     struct orch_job *j)
{
    memset(j, 0, sizeof *j);
    j->submit_s = t;
    struct orch_pod *p = &j->pod;
    snprintf(p->name, sizeof p->name, "job-%zu", i);
    p->sgx = prng_uniform(rng) < o->sgx_fraction;
    double d = o->duration_median_s * exp(1.5 * draw_normal(rng));
    p->duration_s = fmin(fmax(d, 1.0), o->duration_max_s);
    uint64_t use = page_round(draw_memory(rng) * (double)(p->sgx ? ORCH_EPC_SGX1 : ORCH_MEM_NODE));
    uint64_t request = use;
    if (prng_uniform(rng) < o->exceed)
        request = page_round((double)use / (1.0 + prng_uniform(rng)));
    if (p->sgx && prng_uniform(rng) < o->dishonest) {
        j->dishonest = true;
        request = ORCH_EPC_PAGE;
        if (use < 2 * ORCH_EPC_PAGE)
            use = 2 * ORCH_EPC_PAGE;
    }
    if (p->sgx) {
        p->epc_request = request;
        p->epc_use = use;
        p->mem_request = p->mem_use = 0;
    } else {
        p->mem_request = request;
        p->mem_use = use;
    }
}

int orch_trace_generate(const struct orch_gen_options *o, struct orch_trace *out,
                        struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    if (o->jobs == 0 || o->jobs > 100000000)
        return cloister_errf(err, CLOISTER_E_INVALID, "gen-trace: jobs must be 1..100000000");
    if (!(o->sgx_fraction >= 0 && o->sgx_fraction <= 1) ||
        !(o->dishonest >= 0 && o->dishonest <= 1) || !(o->exceed >= 0 && o->exceed <= 1))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "gen-trace: the SGX, dishonest and exceed fractions are in [0, 1]");
    if (!(o->rate_per_s > 0) || !(o->duration_median_s > 0) ||
        !(o->duration_max_s >= o->duration_median_s))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "gen-trace: the rate and durations must be positive, max >= median");
    out->jobs = calloc(o->jobs, sizeof *out->jobs);
    if (!out->jobs)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "gen-trace: out of memory");
    uint64_t rng = o->seed;
    double t = 0;
    for (size_t i = 0; i < o->jobs; i++) {
        t += -log(1.0 - prng_uniform(&rng)) / o->rate_per_s;
        draw_job(o, &rng, i, t, &out->jobs[i]);
    }
    out->count = o->jobs;
    return CLOISTER_OK;
}

int orch_trace_write(const struct orch_trace *t, FILE *out)
{
    fprintf(out, "# submit_s duration_s sgx epc_request epc_use mem_request mem_use\n");
    for (size_t i = 0; i < t->count; i++) {
        const struct orch_pod *p = &t->jobs[i].pod;
        fprintf(out, "%.3f %.3f %d %llu %llu %llu %llu\n", t->jobs[i].submit_s, p->duration_s,
                p->sgx, (unsigned long long)p->epc_request, (unsigned long long)p->epc_use,
                (unsigned long long)p->mem_request, (unsigned long long)p->mem_use);
    }
    return ferror(out) ? -1 : 0;
}

/* One line's fields into j; false when any is missing or out of range. */
static bool parse_line(const char *s, const char *end, size_t index, double prev_submit,
                       struct orch_job *j)
{
    char buf[256];
    size_t n = (size_t)(end - s);
    if (n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    double submit, duration;
    int sgx, used;
    unsigned long long v[4];
    if (sscanf(buf, "%lf %lf %d %llu %llu %llu %llu %n", &submit, &duration, &sgx, &v[0], &v[1],
               &v[2], &v[3], &used) != 7 ||
        buf[used] != 0)
        return false;
    if (!(submit >= prev_submit && submit < 1e9) || !(duration > 0 && duration <= 1e9) ||
        (sgx != 0 && sgx != 1) || (!sgx && (v[0] || v[1])))
        return false;
    for (int k = 0; k < 4; k++)
        if (v[k] > (1ull << 50) || (buf[0] == '-'))
            return false;
    memset(j, 0, sizeof *j);
    j->submit_s = submit;
    snprintf(j->pod.name, sizeof j->pod.name, "job-%zu", index);
    j->pod.sgx = sgx;
    j->pod.duration_s = duration;
    j->pod.epc_request = v[0];
    j->pod.epc_use = v[1];
    j->pod.mem_request = v[2];
    j->pod.mem_use = v[3];
    j->dishonest = sgx && v[1] > v[0];
    return true;
}

int orch_trace_parse(struct orch_trace *out, const char *text, size_t len, size_t max_jobs,
                     struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0, line = 0;
    for (const char *s = text, *end = text + len; s < end; line++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        const char *p = s;
        while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        s = nl ? nl + 1 : end;
        if (p == e || *p == '#')
            continue;
        if (out->count == max_jobs) {
            orch_trace_free(out);
            return cloister_errf(err, CLOISTER_E_TOO_BIG, "trace: more than %zu jobs", max_jobs);
        }
        if (out->count == cap) {
            cap = cap ? 2 * cap : 64;
            struct orch_job *jobs = realloc(out->jobs, cap * sizeof *jobs);
            if (!jobs) {
                orch_trace_free(out);
                return cloister_errf(err, CLOISTER_E_NO_MEMORY, "trace: out of memory");
            }
            out->jobs = jobs;
        }
        double prev = out->count ? out->jobs[out->count - 1].submit_s : 0;
        if (memchr(p, 0, (size_t)(e - p)) ||
            !parse_line(p, e, out->count, prev, &out->jobs[out->count])) {
            orch_trace_free(out);
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "trace line %zu: \"submit_s duration_s sgx(0|1) epc_request "
                                 "epc_use mem_request mem_use\", submissions in order",
                                 line + 1);
        }
        out->count++;
    }
    return CLOISTER_OK;
}

void orch_trace_free(struct orch_trace *t)
{
    free(t->jobs);
    t->jobs = NULL;
    t->count = 0;
}

static uint64_t rescale(uint64_t bytes, uint64_t from, uint64_t to)
{
    return page_round((double)bytes / (double)from * (double)to);
}

void orch_trace_relabel(struct orch_trace *t, double p, uint64_t seed)
{
    uint64_t rng = seed;
    for (size_t i = 0; i < t->count; i++) {
        struct orch_job *j = &t->jobs[i];
        struct orch_pod *q = &j->pod;
        bool sgx = prng_uniform(&rng) < p;
        if (sgx == q->sgx)
            continue;
        if (sgx) {
            q->epc_request = j->dishonest ? ORCH_EPC_PAGE
                                          : rescale(q->mem_request, ORCH_MEM_NODE, ORCH_EPC_SGX1);
            q->epc_use = rescale(q->mem_use, ORCH_MEM_NODE, ORCH_EPC_SGX1);
            q->mem_request = q->mem_use = 0;
        } else {
            q->mem_use = rescale(q->epc_use, ORCH_EPC_SGX1, ORCH_MEM_NODE);
            q->mem_request = j->dishonest ? q->mem_use /* lying is about EPC only */
                                          : rescale(q->epc_request, ORCH_EPC_SGX1, ORCH_MEM_NODE);
            q->epc_request = q->epc_use = 0;
        }
        q->sgx = sgx;
    }
}
