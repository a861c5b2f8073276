/* orch_policy.c -- the admission rule and the placement policies (orch.h).
 *
 * A node's use of a resource is max(measured, requested): measurements catch pods that use more
 * than they asked for, requests cover pods that have not yet grown. An SGX pod is judged on EPC
 * and only on SGX nodes; a standard pod on memory, on any node. spread computes the standard
 * deviation of the projected use (fraction of allocatable) over the nodes the pod could use, for
 * every candidate, from running sums: one pass to sum, one to try each candidate, O(nodes). */
#include <cloister/orch.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/prng.h"

static const char *const policy_names[] = {"binpack", "spread", "random"};

const char *orch_policy_name(enum orch_policy p)
{
    return (unsigned)p < 3 ? policy_names[p] : "?";
}

int orch_policy_parse(const char *name, enum orch_policy *p, struct cloister_err *err)
{
    for (unsigned i = 0; i < 3; i++)
        if (name && strcmp(name, policy_names[i]) == 0) {
            *p = (enum orch_policy)i;
            return CLOISTER_OK;
        }
    return cloister_errf(err, CLOISTER_E_INVALID, "policy '%.32s': binpack, spread or random",
                         name ? name : "");
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The resource p is judged on, on node n: used (max of measured and requested) and allocatable. */
static void resource(const struct orch_node *n, const struct orch_pod *p, uint64_t *used,
                     uint64_t *alloc, uint64_t *request)
{
    if (p->sgx) {
        *used = max_u64(n->epc_measured, n->epc_requested);
        *alloc = n->epc_alloc;
        *request = p->epc_request;
    } else {
        *used = max_u64(n->mem_measured, n->mem_requested);
        *alloc = n->mem_alloc;
        *request = p->mem_request;
    }
}

static bool eligible(const struct orch_node *n, const struct orch_pod *p)
{
    return !p->sgx || n->sgx;
}

bool orch_fits(const struct orch_node *n, const struct orch_pod *p, double overcommit)
{
    if (!eligible(n, p))
        return false;
    uint64_t used, alloc, request;
    resource(n, p, &used, &alloc, &request);
    return (double)used + (double)request <= (double)alloc * overcommit;
}

static double fraction(uint64_t used, uint64_t alloc)
{
    return alloc ? (double)used / (double)alloc : 1.0;
}

static int pick_binpack(const struct orch_node *nodes, size_t count, const struct orch_pod *p,
                        double overcommit)
{
    /* Standard pods try the nodes without SGX first: EPC is the scarce resource. */
    for (int pass = p->sgx ? 1 : 0; pass < 2; pass++)
        for (size_t i = 0; i < count; i++)
            if ((pass == 1 || !nodes[i].sgx) && orch_fits(&nodes[i], p, overcommit))
                return (int)i;
    return -1;
}

static int pick_spread(const struct orch_node *nodes, size_t count, const struct orch_pod *p,
                       double overcommit)
{
    double sum = 0, sumsq = 0;
    size_t m = 0;
    for (size_t i = 0; i < count; i++) {
        if (!eligible(&nodes[i], p))
            continue;
        uint64_t used, alloc, request;
        resource(&nodes[i], p, &used, &alloc, &request);
        double u = fraction(used, alloc);
        sum += u;
        sumsq += u * u;
        m++;
    }
    int best = -1;
    double best_var = INFINITY;
    for (size_t i = 0; i < count; i++) {
        if (!orch_fits(&nodes[i], p, overcommit))
            continue;
        uint64_t used, alloc, request;
        resource(&nodes[i], p, &used, &alloc, &request);
        double u = fraction(used, alloc), v = fraction(used + request, alloc);
        double s = sum - u + v, q = sumsq - u * u + v * v;
        double var = q / (double)m - (s / (double)m) * (s / (double)m);
        if (var < best_var - 1e-12) {
            best_var = var;
            best = (int)i;
        }
    }
    return best;
}

static int pick_random(const struct orch_node *nodes, size_t count, const struct orch_pod *p,
                       double overcommit, uint64_t *rng)
{
    size_t feasible = 0;
    int chosen = -1;
    for (size_t i = 0; i < count; i++) /* reservoir sampling: uniform, one pass */
        if (orch_fits(&nodes[i], p, overcommit) && prng_next(rng) % ++feasible == 0)
            chosen = (int)i;
    return chosen;
}

int orch_pick(enum orch_policy policy, const struct orch_node *nodes, size_t count,
              const struct orch_pod *p, double overcommit, uint64_t *rng, char *why, size_t cap)
{
    int i = policy == ORCH_BINPACK  ? pick_binpack(nodes, count, p, overcommit)
            : policy == ORCH_SPREAD ? pick_spread(nodes, count, p, overcommit)
                                    : pick_random(nodes, count, p, overcommit, rng);
    if (!why || !cap)
        return i;
    const char *res = p->sgx ? "EPC" : "memory";
    uint64_t request = p->sgx ? p->epc_request : p->mem_request;
    if (i >= 0) {
        uint64_t used, alloc, req;
        resource(&nodes[i], p, &used, &alloc, &req);
        snprintf(why, cap, "%s: node %s (%s), %s %.1f + %.1f of %.1f MiB", p->name, nodes[i].name,
                 orch_policy_name(policy), res, (double)used / 1048576.0,
                 (double)request / 1048576.0, (double)alloc * overcommit / 1048576.0);
    } else {
        snprintf(why, cap, "%s: waits: no %snode has %.1f MiB of %s free", p->name,
                 p->sgx ? "SGX " : "", (double)request / 1048576.0, res);
    }
    return i;
}

void orch_node_charge(struct orch_node *n, const struct orch_pod *p, int sign)
{
    if (sign > 0) {
        n->epc_requested += p->epc_request;
        n->mem_requested += p->mem_request;
    } else {
        n->epc_requested -= p->epc_request < n->epc_requested ? p->epc_request : n->epc_requested;
        n->mem_requested -= p->mem_request < n->mem_requested ? p->mem_request : n->mem_requested;
    }
}
