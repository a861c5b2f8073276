/* orch_sim.c -- the trace-driven, discrete-event simulator of a cluster (orch.h).
 *
 * Events are arrivals (in trace order) and completions (a binary heap by end time; a completion
 * at the same time as an arrival goes first). Only a completion frees anything, so an arrival
 * tries to place its own pod alone, and a completion retries the pending pods that fit the node
 * it freed, in submission order (a pod that fits starts even when an earlier one still waits, as the paper's scheduler
 * places any pending pod that fits when it polls). A node's measured use is the real use of its
 * running pods, at once (the paper measured every 7 s). Every start gets a sequence number, so a
 * test can replay the schedule and recount what the simulator counted.
 *
 * Decisions take O(log nodes): the simulator's nodes share one EPC size and one memory size, so
 * the policies reduce to questions about the loads (max of measured and requested), which a
 * tournament tree per resource answers (orch_mintree.h; EPC over the SGX nodes, memory over all).
 * binpack is the first node whose load leaves room; spread's projected standard deviation grows
 * with the chosen node's load, so it is the least loaded node (when it fits, or none fits);
 * random draws eligible nodes until one fits (uniform among those that fit), and after 8 misses
 * takes orch_pick's one pass. `generic` decides with orch_pick instead: the tests compare. A
 * completion scans the pending pods only when the least pending request (per kind) fits the
 * node it freed. */
#include <cloister/orch.h>

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "orch/common/orch_mintree.h"
#include "util/prng.h"

#define RANDOM_TRIES 8

struct run {
    double end;
    size_t job;
};

struct sim {
    const struct orch_trace *t;
    const struct orch_sim_options *o;
    struct orch_node *nodes;
    uint64_t *epc_real;    /* real EPC use per node */
    uint64_t epc_real_sgx; /* their sum over the SGX nodes */
    struct orch_mintree epc_load, mem_load;
    struct run *heap;
    size_t nheap;
    size_t *pending, npending;
    uint64_t pending_min[2]; /* the least request among pending standard [0] and SGX [1] pods */
    uint64_t rng, seq;
    double now, util_area, last_t, next_sample;
    size_t samples_cap;
    struct orch_sim_result *r;
};

static void heap_push(struct sim *s, struct run x)
{
    size_t i = s->nheap++;
    while (i > 0 && s->heap[(i - 1) / 2].end > x.end) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = x;
}

static struct run heap_pop(struct sim *s)
{
    struct run top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->nheap)
            break;
        if (c + 1 < s->nheap && s->heap[c + 1].end < s->heap[c].end)
            c++;
        if (s->heap[c].end >= last.end)
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    s->heap[i] = last;
    return top;
}

static double utilisation(const struct sim *s)
{
    return s->o->sgx_nodes ? (double)s->epc_real_sgx / ((double)s->o->sgx_nodes * (double)s->o->epc)
                           : 0;
}

/* Moves the clock to t, integrating and sampling the EPC utilisation on the way. */
static void advance(struct sim *s, double t)
{
    double u = utilisation(s);
    s->util_area += u * (t - s->last_t);
    while (s->o->sample_s > 0 && s->next_sample <= t) {
        struct orch_sim_result *r = s->r;
        if (r->nsamples == s->samples_cap) {
            size_t cap = s->samples_cap ? 2 * s->samples_cap : 256;
            double *n = realloc(r->samples, cap * sizeof *n);
            if (!n)
                break;
            r->samples = n;
            s->samples_cap = cap;
        }
        r->samples[r->nsamples++] = u;
        s->next_sample += s->o->sample_s;
    }
    s->last_t = s->now = t;
}

static void use(struct sim *s, int node, const struct orch_pod *p, int sign)
{
    struct orch_node *n = &s->nodes[node];
    orch_node_charge(n, p, sign);
    if (sign > 0) {
        n->epc_measured += p->epc_use;
        n->mem_measured += p->mem_use;
        s->epc_real[node] += p->epc_use;
    } else {
        n->epc_measured -= p->epc_use;
        n->mem_measured -= p->mem_use;
        s->epc_real[node] -= p->epc_use;
    }
    if ((size_t)node < s->o->sgx_nodes) {
        s->epc_real_sgx = s->epc_real_sgx + (sign > 0 ? p->epc_use : -p->epc_use);
        orch_mintree_set(&s->epc_load, (size_t)node,
                         n->epc_measured > n->epc_requested ? n->epc_measured : n->epc_requested);
    }
    orch_mintree_set(&s->mem_load, (size_t)node,
                     n->mem_measured > n->mem_requested ? n->mem_measured : n->mem_requested);
}

struct fit {
    uint64_t request, alloc;
    double overcommit;
};

/* orch_fits on a node of this load. */
static bool fits_load(uint64_t load, const void *arg)
{
    const struct fit *f = arg;
    return (double)load + (double)f->request <= (double)f->alloc * f->overcommit;
}

/* The node the policy picks for p, or -1 (see the top of the file). */
static int decide(struct sim *s, const struct orch_pod *p)
{
    const struct orch_sim_options *o = s->o;
    const struct orch_mintree *t = p->sgx ? &s->epc_load : &s->mem_load;
    struct fit f = {p->sgx ? p->epc_request : p->mem_request, p->sgx ? o->epc : o->mem,
                    o->overcommit};
    size_t span = p->sgx ? o->sgx_nodes : o->nodes;
    long i = -1;
    if (o->generic || span == 0 || (o->policy == ORCH_SPREAD && f.request == 0))
        return orch_pick(o->policy, s->nodes, o->nodes, p, o->overcommit, &s->rng, NULL, 0);
    if (o->policy == ORCH_BINPACK) {
        i = p->sgx ? -1 : orch_mintree_first(t, o->sgx_nodes, o->nodes, fits_load, &f);
        return (int)(i >= 0 ? i : orch_mintree_first(t, 0, span, fits_load, &f));
    }
    if (o->policy == ORCH_SPREAD) {
        i = orch_mintree_least(t);
        return i >= 0 && fits_load(t->min[t->leaves + (size_t)i], &f) ? (int)i : -1;
    }
    for (int k = 0; k < RANDOM_TRIES; k++) {
        i = (long)(prng_next(&s->rng) % span);
        if (fits_load(t->min[t->leaves + (size_t)i], &f))
            return (int)i;
    }
    return orch_pick(o->policy, s->nodes, o->nodes, p, o->overcommit, &s->rng, NULL, 0);
}

/* Places job j if a node fits; true when it left the queue (started, or refused). */
static bool try_start(struct sim *s, size_t j)
{
    const struct orch_pod *p = &s->t->jobs[j].pod;
    int node = decide(s, p);
    if (node < 0)
        return false;
    struct orch_sim_job *rec = &s->r->per_job[j];
    rec->node = node;
    rec->start_s = s->now;
    rec->seq = s->seq++;
    s->r->started++;
    s->r->events++;
    if (p->sgx && p->epc_use > p->epc_request && s->o->enforce) {
        /* Its enclave grows past its group's limit: refused, the pod ends, the node is fine. */
        rec->refused = true;
        rec->end_s = s->now;
        s->r->refused_enclaves++;
        return true;
    }
    use(s, node, p, +1);
    if (p->sgx && s->epc_real[node] > s->o->epc)
        s->r->epc_overcommit_events++;
    heap_push(s, (struct run){s->now + p->duration_s, j});
    rec->end_s = s->now + p->duration_s;
    return true;
}

/* After a pod ended on node freed: a pending pod fitted no node before, and since then only
 * freed got room (starts only take it), so it can start now only if it fits freed -- an O(1)
 * test that spares the policy's O(nodes) pass for the pods that still cannot start. */
static void pend(struct sim *s, size_t j)
{
    const struct orch_pod *p = &s->t->jobs[j].pod;
    uint64_t r = p->sgx ? p->epc_request : p->mem_request;
    if (r < s->pending_min[p->sgx])
        s->pending_min[p->sgx] = r;
    s->pending[s->npending++] = j;
}

/* Whether the least pending request of a kind fits node i: if not, no pending pod of that kind
 * does, and the scan is skipped (under load the queue is long and most completions free too
 * little). */
static bool room_for_pending(const struct sim *s, size_t i, bool sgx)
{
    const struct orch_mintree *t = sgx ? &s->epc_load : &s->mem_load;
    struct fit f = {s->pending_min[sgx], sgx ? s->o->epc : s->o->mem, s->o->overcommit};
    return s->pending_min[sgx] != UINT64_MAX && (!sgx || i < s->o->sgx_nodes) &&
           fits_load(t->min[t->leaves + i], &f);
}

static void retry_pending(struct sim *s, int freed)
{
    if (!room_for_pending(s, (size_t)freed, false) && !room_for_pending(s, (size_t)freed, true))
        return;
    size_t kept = 0, n = s->npending;
    s->npending = 0;
    s->pending_min[0] = s->pending_min[1] = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        const struct orch_pod *p = &s->t->jobs[s->pending[i]].pod;
        if (!orch_fits(&s->nodes[freed], p, s->o->overcommit) || !try_start(s, s->pending[i]))
            s->pending[kept++] = s->pending[i];
    }
    for (size_t i = 0; i < kept; i++)
        pend(s, s->pending[i]);
}

static double percentile(double *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t k = (size_t)ceil(q * (double)n);
    return v[k ? k - 1 : 0];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summarise(struct sim *s)
{
    struct orch_sim_result *r = s->r;
    double *w = malloc((r->jobs + 1) * sizeof *w), *ta = malloc((r->jobs + 1) * sizeof *ta);
    size_t n = 0;
    for (size_t j = 0; j < r->jobs && w && ta; j++) {
        const struct orch_sim_job *x = &r->per_job[j];
        if (x->start_s < 0) {
            r->never_started++;
            continue;
        }
        w[n] = x->start_s - s->t->jobs[j].submit_s;
        ta[n] = x->end_s - s->t->jobs[j].submit_s;
        r->turnaround_total_s += ta[n];
        if (x->end_s > r->makespan_s)
            r->makespan_s = x->end_s;
        n++;
    }
    if (w && ta) {
        qsort(w, n, sizeof *w, cmp_double);
        qsort(ta, n, sizeof *ta, cmp_double);
        r->waiting_p50_s = percentile(w, n, 0.5);
        r->waiting_p99_s = percentile(w, n, 0.99);
        r->waiting_max_s = n ? w[n - 1] : 0;
        r->turnaround_p50_s = percentile(ta, n, 0.5);
        r->turnaround_p99_s = percentile(ta, n, 0.99);
    }
    free(w);
    free(ta);
    r->epc_utilisation_mean = s->now > 0 ? s->util_area / s->now : 0;
}

void orch_sim_options_init(struct orch_sim_options *o)
{
    *o = (struct orch_sim_options){.nodes = 4,
                                   .sgx_nodes = 2,
                                   .epc = ORCH_EPC_SGX1,
                                   .mem = ORCH_MEM_NODE,
                                   .policy = ORCH_BINPACK,
                                   .overcommit = 1.0,
                                   .enforce = true,
                                   .seed = 1};
}

static int check_options(const struct orch_sim_options *o, struct cloister_err *err)
{
    if (o->nodes == 0 || o->nodes > 100000 || o->sgx_nodes > o->nodes)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "simulate: 1..100000 nodes, at most that many SGX nodes");
    if (!(o->overcommit > 0 && o->overcommit <= 100) || o->epc == 0 || o->mem == 0)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "simulate: overcommit in (0, 100], EPC and memory above 0");
    if (o->sample_s < 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "simulate: sample interval below 0");
    return CLOISTER_OK;
}

static void make_nodes(struct sim *s)
{
    for (size_t i = 0; i < s->o->nodes; i++) {
        struct orch_node *n = &s->nodes[i];
        n->sgx = i < s->o->sgx_nodes;
        snprintf(n->name, sizeof n->name, "%s-%zu", n->sgx ? "sgx" : "std", i);
        n->epc_alloc = n->sgx ? s->o->epc : 0;
        n->mem_alloc = s->o->mem;
        if (n->sgx)
            orch_mintree_set(&s->epc_load, i, 0);
        orch_mintree_set(&s->mem_load, i, 0);
    }
}

int orch_simulate(const struct orch_trace *t, const struct orch_sim_options *o,
                  struct orch_sim_result *out, struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = check_options(o, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct sim s = {.t = t,
                    .o = o,
                    .rng = o->seed,
                    .r = out,
                    .pending_min = {UINT64_MAX, UINT64_MAX}};
    s.nodes = calloc(o->nodes, sizeof *s.nodes);
    s.epc_real = calloc(o->nodes, sizeof *s.epc_real);
    s.heap = calloc(t->count + 1, sizeof *s.heap);
    s.pending = calloc(t->count + 1, sizeof *s.pending);
    out->per_job = calloc(t->count + 1, sizeof *out->per_job);
    int t1 = orch_mintree_init(&s.epc_load, o->nodes),
        t2 = orch_mintree_init(&s.mem_load, o->nodes);
    if (!s.nodes || !s.epc_real || !s.heap || !s.pending || !out->per_job || t1 || t2) {
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "simulate: out of memory");
        goto done;
    }
    out->jobs = t->count;
    make_nodes(&s);
    for (size_t j = 0; j < t->count; j++)
        out->per_job[j] = (struct orch_sim_job){.start_s = -1, .end_s = -1, .node = -1};
    size_t next = 0;
    while (next < t->count || s.nheap) {
        if (s.nheap && (next == t->count || s.heap[0].end <= t->jobs[next].submit_s)) {
            struct run done = heap_pop(&s);
            advance(&s, done.end);
            use(&s, out->per_job[done.job].node, &t->jobs[done.job].pod, -1);
            out->events++;
            retry_pending(&s, out->per_job[done.job].node);
        } else {
            advance(&s, t->jobs[next].submit_s);
            out->events++;
            if (!try_start(&s, next))
                pend(&s, next);
            next++;
        }
    }
    summarise(&s);
done:
    orch_mintree_free(&s.epc_load);
    orch_mintree_free(&s.mem_load);
    free(s.nodes);
    free(s.epc_real);
    free(s.heap);
    free(s.pending);
    if (rc != CLOISTER_OK)
        orch_sim_result_free(out);
    return rc;
}

void orch_sim_result_free(struct orch_sim_result *r)
{
    free(r->per_job);
    free(r->samples);
    memset(r, 0, sizeof *r);
}

json_t *orch_sim_result_json(const struct orch_sim_result *r, const struct orch_sim_options *o)
{
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:f,s:b,s:I}",
                     "policy", orch_policy_name(o->policy), "jobs", (json_int_t)r->jobs, "nodes",
                     (json_int_t)o->nodes, "sgx_nodes", (json_int_t)o->sgx_nodes, "events",
                     (json_int_t)r->events, "waiting_p50_s", r->waiting_p50_s, "waiting_p99_s",
                     r->waiting_p99_s, "waiting_max_s", r->waiting_max_s, "turnaround_p50_s",
                     r->turnaround_p50_s, "turnaround_p99_s", r->turnaround_p99_s,
                     "turnaround_total_h", r->turnaround_total_s / 3600.0, "makespan_s",
                     r->makespan_s, "epc_overcommit_events", (json_int_t)r->epc_overcommit_events,
                     "refused_enclaves", (json_int_t)r->refused_enclaves, "never_started",
                     (json_int_t)r->never_started, "epc_utilisation_mean", r->epc_utilisation_mean,
                     "enforce", o->enforce, "started", (json_int_t)r->started);
}
