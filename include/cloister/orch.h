/* orch.h -- SGX-aware orchestration (Vaucher et al., ICDCS 2018; docs/orchestration.md): pods
 * that declare their EPC and memory, the admission rule and the three placement policies, a
 * synthetic trace shaped like the Google cluster trace (2011), a discrete-event simulator driven
 * by it, and the JSON of a Kubernetes scheduler extender.
 *
 * The rule (the paper's filter): a pod fits a node when
 *     max(sum of recently measured use, sum of requests) + request <= allocatable * overcommit
 * on EPC for an SGX pod (SGX nodes only) and on memory for a standard pod. binpack takes the first
 * node that fits, standard pods trying non-SGX nodes first; spread takes the node that minimises
 * the standard deviation of the projected use across nodes; random is the baseline. Enforcement
 * is the runtime's (tee.h, EPC accounting groups): an SGX pod's enclaves run in a group whose
 * limit is its request, so a pod that lies is refused when its enclave grows past it.
 *
 * Errors (error.h): CLOISTER_E_INVALID with a message naming the field for a bad pod spec, trace
 * line or extender request; decoders never read past their input and are fuzzed. */
#ifndef CLOISTER_ORCH_H
#define CLOISTER_ORCH_H

#include <cloister/error.h>
#include <cloister/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ORCH_NAME_MAX 64
#define ORCH_EPC_PAGE 4096u
/* SGX1's usable EPC, 93.5 MiB, and the paper's standard node memory, 32 GiB. */
#define ORCH_EPC_SGX1 ((uint64_t)98041856)
#define ORCH_MEM_NODE ((uint64_t)32 << 30)

/* The ecalls of the pod enclave (pod.enclave), the workload of SGX pods. */
enum {
    ORCH_POD_ECALL_GROW = 1,    /* in: u64 bytes more (whole MiB, touched); out: u64 bytes held */
    ORCH_POD_ECALL_RELEASE = 2, /* in: -; out: u64 bytes held (0) */
};

enum orch_policy { ORCH_BINPACK, ORCH_SPREAD, ORCH_RANDOM };
CLOISTER_API const char *orch_policy_name(enum orch_policy p);
CLOISTER_API int orch_policy_parse(const char *name, enum orch_policy *p, struct cloister_err *err);

/* A pod spec, as JSON:
 *   {"name": "web-1", "sgx": true, "epc": "8Mi", "memory": "64Mi", "duration_s": 30,
 *    "use_epc": "6Mi", "use_memory": "32Mi", "image": "web"}
 * name (1-63 of [A-Za-z0-9._-]) is required; sgx defaults to false; epc (an SGX pod's request,
 * required when sgx) and memory are Kubernetes quantities (bytes, or with k, Ki, M, Mi, G, Gi, T,
 * Ti); duration_s (default 10, at most 7 days); use_epc / use_memory say what the pod really
 * allocates (default: its request; more than requested is how a dishonest pod is written).
 * image (optional, a name like name's, not starting with '.') is what the pod runs, among the
 * images installed on its node: a program for a standard pod, a signed enclave image for an SGX
 * pod; without it, the node's built-in workload, which allocates use_epc / use_memory. */
struct orch_pod {
    char name[ORCH_NAME_MAX];
    char image[ORCH_NAME_MAX]; /* "" for the built-in workload */
    bool sgx;
    uint64_t epc_request, mem_request; /* bytes */
    uint64_t epc_use, mem_use;         /* bytes the pod really allocates */
    double duration_s;
};
CLOISTER_API int orch_pod_parse(struct orch_pod *out, const char *json, size_t len,
                                struct cloister_err *err);
/* The pod spec as JSON text (malloc'd), which orch_pod_parse reads back. */
CLOISTER_API char *orch_pod_format(const struct orch_pod *p);
/* A Kubernetes quantity ("64Mi", "1.5Gi", "100M", "4096") in bytes. */
CLOISTER_API int orch_quantity_parse(const char *text, uint64_t *bytes, struct cloister_err *err);

/* A node as the scheduler sees it. */
struct orch_node {
    char name[ORCH_NAME_MAX];
    bool sgx;
    uint64_t epc_alloc, mem_alloc;         /* allocatable */
    uint64_t epc_requested, mem_requested; /* sum of the requests of its pods */
    uint64_t epc_measured, mem_measured;   /* sum of the use last measured */
};

/* The paper's rule. */
CLOISTER_API bool orch_fits(const struct orch_node *n, const struct orch_pod *p, double overcommit);
/* The node for p among nodes[0..count), or -1 when none fits; why (cap bytes, may be NULL)
 * says which and why, or why none. rng: the state of the random policy (util/prng.h). */
CLOISTER_API int orch_pick(enum orch_policy policy, const struct orch_node *nodes, size_t count,
                           const struct orch_pod *p, double overcommit, uint64_t *rng, char *why,
                           size_t cap);
/* Charges (or, with sign -1, releases) p's requests to n. */
CLOISTER_API void orch_node_charge(struct orch_node *n, const struct orch_pod *p, int sign);

/* A trace: one job a line, "submit_s duration_s sgx epc_request epc_use mem_request mem_use"
 * (seconds as decimals, sgx 0/1, bytes as integers), '#' comments; jobs in submission order. */
struct orch_job {
    double submit_s;
    struct orch_pod pod; /* name "job-N" */
    bool dishonest;      /* requests one page, uses more (written by the generator) */
};
struct orch_trace {
    struct orch_job *jobs;
    size_t count;
};
struct orch_gen_options {
    size_t jobs;
    double sgx_fraction;      /* of jobs that are SGX pods */
    double dishonest;         /* of SGX jobs that request one page and use their draw */
    double exceed;            /* of jobs whose use exceeds their request (default 0.0336, as in
                                 the trace; 0: every pod but the dishonest ones is honest) */
    double rate_per_s;        /* Poisson arrivals; default 663 jobs an hour, the paper's window */
    double duration_median_s; /* log-normal durations, sigma 1.5, capped (default 30 s) */
    double duration_max_s;    /* default 300 s (the paper kept jobs up to 300 s) */
    uint64_t seed;
};
CLOISTER_API void orch_gen_options_init(struct orch_gen_options *o);
CLOISTER_API int orch_trace_generate(const struct orch_gen_options *o, struct orch_trace *out,
                                     struct cloister_err *err);
CLOISTER_API int orch_trace_write(const struct orch_trace *t, FILE *out);
/* Reads a trace from text; at most max_jobs jobs. */
CLOISTER_API int orch_trace_parse(struct orch_trace *out, const char *text, size_t len,
                                  size_t max_jobs, struct cloister_err *err);
CLOISTER_API void orch_trace_free(struct orch_trace *t);
/* Makes a fraction p of the jobs SGX pods (a seeded draw per job), each keeping its normalised
 * request and use: x / 93.5 MiB of EPC becomes x / 32 GiB of memory and back. A dishonest job
 * stays dishonest (one page requested) when it stays SGX. */
CLOISTER_API void orch_trace_relabel(struct orch_trace *t, double p, uint64_t seed);

/* The simulator: nodes nodes, the first sgx_nodes of them SGX (epc bytes of EPC each), every node
 * mem bytes; pods placed by policy whenever one arrives or ends (pending pods in submission
 * order, a pod that fits nowhere waits). A running pod's measured use is its real use. With
 * enforce, an SGX pod whose use exceeds its request is refused when its enclave grows past it
 * (it ends at once, counted in refused_enclaves); without, it runs and may over-commit its
 * node's EPC (epc_overcommit_events counts the starts that push a node's real EPC use past its
 * EPC). */
struct orch_sim_options {
    size_t nodes, sgx_nodes;
    uint64_t epc, mem;
    enum orch_policy policy;
    double overcommit; /* 1.0 */
    bool enforce;      /* true */
    uint64_t seed;
    double sample_s; /* EPC utilisation sampled every sample_s (0: no samples) */
    bool generic;    /* every decision by orch_pick over all nodes: the reference that the
                        simulator's O(log nodes) decisions are tested against (slower) */
};
CLOISTER_API void orch_sim_options_init(struct orch_sim_options *o);
struct orch_sim_job {
    double start_s, end_s; /* start < 0: never started */
    int node;
    bool refused;
    uint64_t seq; /* order of the start among all starts */
};
struct orch_sim_result {
    size_t jobs, started, refused_enclaves, epc_overcommit_events, never_started;
    uint64_t events;
    double waiting_p50_s, waiting_p99_s, waiting_max_s, turnaround_p50_s, turnaround_p99_s;
    double turnaround_total_s, makespan_s;
    double epc_utilisation_mean;  /* time-weighted, of the SGX nodes' EPC */
    struct orch_sim_job *per_job; /* count jobs, in trace order */
    double *samples;              /* EPC utilisation every sample_s */
    size_t nsamples;
};
CLOISTER_API int orch_simulate(const struct orch_trace *t, const struct orch_sim_options *o,
                               struct orch_sim_result *out, struct cloister_err *err);
CLOISTER_API void orch_sim_result_free(struct orch_sim_result *r);
/* The result as a JSON object (struct json_t *, the caller owns it). */
CLOISTER_API struct json_t *orch_sim_result_json(const struct orch_sim_result *r,
                                                 const struct orch_sim_options *o);

/* The Kubernetes scheduler extender (filter and prioritize verbs). The request is ExtenderArgs:
 *   {"Pod": {"metadata": {"name": ..}, "spec": {"containers": [{"resources": {"requests":
 *     {"sgx.intel.com/epc": "8Mi", "memory": "64Mi"}}}]}}, "NodeNames": ["n1", ...]}
 * (or "Nodes": {"items": [{"metadata": {"name": ..}}]}); a pod is an SGX pod when it requests
 * sgx.intel.com/epc. The nodes' state comes from the node agents (orch_node table). */
struct orch_ext_request {
    struct orch_pod pod;
    char (*names)[ORCH_NAME_MAX];
    size_t count;
    bool node_list; /* the nodes came as Nodes.items (answer the same way) */
};
CLOISTER_API int orch_ext_parse(struct orch_ext_request *out, const char *json, size_t len,
                                struct cloister_err *err);
CLOISTER_API void orch_ext_request_free(struct orch_ext_request *r);
/* ExtenderFilterResult / HostPriorityList as JSON text (malloc'd). Nodes of the request unknown
 * to the table fail the filter ("no measurements from this node"). Scores are 0-10. */
CLOISTER_API char *orch_ext_filter(const struct orch_ext_request *r, const struct orch_node *nodes,
                                   size_t count, double overcommit);
CLOISTER_API char *orch_ext_prioritize(const struct orch_ext_request *r, enum orch_policy policy,
                                       const struct orch_node *nodes, size_t count,
                                       double overcommit);

#endif
