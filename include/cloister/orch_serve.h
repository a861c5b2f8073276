/* orch_serve.h -- the orchestration's services (docs/orchestration.md): the node agent, which
 * launches pods (SGX pods as pod enclaves, each in an EPC accounting group whose limit is its
 * request) and answers over HTTP+JSON with its capacity, measurements, groups and a Prometheus
 * endpoint; and the Kubernetes scheduler extender, which filters and scores nodes with the
 * agents' measurements. Library cloister_orch_serve (it needs libmicrohttpd), like ibbe_serve.
 *
 * Node agent routes: GET /node, GET /pods, GET /groups, GET /groups/NAME, GET /metrics
 * (Prometheus text), POST /pods (a pod spec, orch.h), DELETE /pods/NAME; these two are signed
 * with a key derived from the token (orch_request does it), the token never sent.
 * Extender routes: POST /filter, POST /prioritize (ExtenderArgs, orch.h). */
#ifndef CLOISTER_ORCH_SERVE_H
#define CLOISTER_ORCH_SERVE_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/orch.h>
#include <cloister/tee.h>

#include <stdint.h>

typedef struct orch_agent orch_agent;

struct orch_agent_options {
    const char *name;   /* the node's name */
    const char *listen; /* IPv4:PORT, port 0 for any */
    const char *token;  /* the key of POST and DELETE derives from it (at least 16 characters) */
    bool sgx;
    uint64_t epc, mem;                     /* allocatable bytes */
    enum tee_backend backend;              /* of the pod enclaves */
    const char *image, *signature;         /* pod.enclave and its signature */
    const struct tee_enclave_def *enclave; /* tee_enclave_pod, for the sim backend */
    /* The images pods may name (NULL: none): DIR/NAME, an executable, for a standard pod;
     * DIR/NAME.enclave signed by DIR/NAME.sig for an SGX pod (proc backend). */
    const char *images;
};
/* Pods end after their duration (a thread reaps them every 100 ms). */
CLOISTER_API int orch_agent_start(const struct orch_agent_options *o, orch_agent **out,
                                  struct cloister_err *err);
CLOISTER_API uint16_t orch_agent_port(const orch_agent *a);
/* Stops every pod and the server. */
CLOISTER_API void orch_agent_stop(orch_agent *a);

/* Reads a node's state from its agent's GET /node (or any JSON of that shape). */
CLOISTER_API int orch_node_from_json(struct orch_node *out, const char *json, size_t len,
                                     struct cloister_err *err);
/* GET /node of every agent; *nodes malloc'd (count of them); agents that do not answer are left
 * out (the extender's filter then says "no measurements from this node"). */
CLOISTER_API int orch_agents_poll(const char *const *agents, size_t n, struct orch_node **nodes,
                                  size_t *count, struct cloister_err *err);
/* One HTTP request to an agent or extender (loopback tools: submit, ls, stats). With a token,
 * the body is sent signed for this method and path with a key derived from it (an agent's POST
 * and DELETE), within a time window and with a nonce the agent accepts once. */
CLOISTER_API int orch_request(const char *endpoint, const char *method, const char *path,
                              const char *token, const char *body, unsigned *status, char **reply,
                              struct cloister_err *err);

typedef struct orch_extender orch_extender;
CLOISTER_API int orch_extender_start(const char *listen, const char *const *agents, size_t nagents,
                                     enum orch_policy policy, double overcommit,
                                     orch_extender **out, struct cloister_err *err);
CLOISTER_API uint16_t orch_extender_port(const orch_extender *x);
CLOISTER_API void orch_extender_stop(orch_extender *x);

/* ---- The cluster over NATS (orch_nats.c): subjects orch.report.NODE and orch.submit ---- */

/* Publishes the agent at endpoint's GET /node, with "agent": endpoint, on orch.report.NAME every
 * period_ms (1000 when 0), until stopped. */
typedef struct orch_reporter orch_reporter;
CLOISTER_API int orch_reporter_start(const char *nats, const char *endpoint, const char *name,
                                     int64_t period_ms, orch_reporter **out,
                                     struct cloister_err *err);
CLOISTER_API void orch_reporter_stop(orch_reporter *r);

/* The cluster as the bus shows it, as JSON (*out malloc'd): {"nodes": [{"node", "agent",
 * "pods": [GET /pods entries]}], "pending": [pods in the scheduler's queue]}: the pods of every
 * node that reports within wait_ms (reports carry them), the queue from the scheduler's stored
 * state. */
CLOISTER_API int orch_ls_nats(const char *nats, int64_t wait_ms, char **out,
                              struct cloister_err *err);

/* Sends a pod to the scheduler, signed with a key derived from the token (the token itself
 * does not cross the bus), on the JetStream stream ORCH_SUBMIT: returns once it is stored. */
CLOISTER_API int orch_submit_nats(const char *nats, const char *token, const struct orch_pod *p,
                                  struct cloister_err *err);

/* The scheduler: a pending queue bounded in pods and bytes, placement by the rule and the policy
 * on the nodes that report, pods of a node silent for dead_ms rescheduled. Zero fields take the
 * default shown. */
struct orch_sched_options {
    const char *nats;
    const char *token; /* the agents' token, which submissions must carry too */
    enum orch_policy policy;
    double overcommit;  /* 1.0 */
    size_t queue_pods;  /* 1024 */
    size_t queue_bytes; /* 1 MiB */
    int64_t dead_ms;    /* 5000 */
    uint64_t seed;      /* of the random policy */
};
typedef struct orch_sched orch_sched;
CLOISTER_API int orch_sched_start(const struct orch_sched_options *o, orch_sched **out,
                                  struct cloister_err *err);
/* 1 and its node's name when pod runs, 0 when it is pending, CLOISTER_E_NOT_FOUND otherwise
 * (unknown, finished or dropped). */
CLOISTER_API int orch_sched_where(orch_sched *s, const char *pod, char *node, size_t cap);
/* How many nodes report. */
CLOISTER_API size_t orch_sched_nodes(orch_sched *s);
CLOISTER_API void orch_sched_stop(orch_sched *s);

#endif
