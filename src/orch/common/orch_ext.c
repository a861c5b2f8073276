/* orch_ext.c -- the JSON of a Kubernetes scheduler extender (orch.h): ExtenderArgs in,
 * ExtenderFilterResult and HostPriorityList out (k8s.io/kube-scheduler/extender/v1).
 *
 * Requests come from the network: the decoder takes only what it needs (the pod's name and its
 * containers' requests, the node names), checks each type, bounds the node count, and names the
 * field that was wrong. A pod's requests are summed over its containers, as Kubernetes does for
 * admission; requesting sgx.intel.com/epc (Intel's device plugin's resource, in bytes) makes it
 * an SGX pod. Scores follow the policy: binpack prefers the fuller node, spread the emptier one
 * (the standard deviation of projected use is what it minimises), random is flat. */
#include <cloister/orch.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define EXT_NODES_MAX 10000
#define EPC_RESOURCE "sgx.intel.com/epc"

static int ext_fail(struct cloister_err *err, const char *what)
{
    return cloister_errf(err, CLOISTER_E_INVALID, "extender request: %s", what);
}

static int add_requests(struct orch_pod *p, json_t *requests, struct cloister_err *err)
{
    if (!requests)
        return CLOISTER_OK;
    if (!json_is_object(requests))
        return ext_fail(err, "resources.requests must be an object");
    const char *keys[] = {EPC_RESOURCE, "memory"};
    uint64_t *sums[] = {&p->epc_request, &p->mem_request};
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(requests, keys[k]);
        if (!v)
            continue;
        uint64_t bytes;
        if (!json_is_string(v) ||
            orch_quantity_parse(json_string_value(v), &bytes, err) != CLOISTER_OK)
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "extender request: requests[\"%s\"] must be a quantity string",
                                 keys[k]);
        if (*sums[k] + bytes < bytes)
            return ext_fail(err, "requests overflow");
        *sums[k] += bytes;
        if (k == 0)
            p->sgx = true;
    }
    return CLOISTER_OK;
}

static int parse_pod(struct orch_pod *p, json_t *pod, struct cloister_err *err)
{
    if (!json_is_object(pod))
        return ext_fail(err, "'Pod' must be an object");
    json_t *name = json_object_get(json_object_get(pod, "metadata"), "name");
    snprintf(p->name, sizeof p->name, "%s", json_is_string(name) ? json_string_value(name) : "pod");
    json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
    if (!json_is_array(containers))
        return ext_fail(err, "'Pod.spec.containers' must be an array");
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c)
    {
        if (!json_is_object(c))
            return ext_fail(err, "a container must be an object");
        json_t *res = json_object_get(c, "resources");
        if (res && !json_is_object(res))
            return ext_fail(err, "container resources must be an object");
        int rc = add_requests(p, json_object_get(res, "requests"), err);
        if (rc != CLOISTER_OK)
            return rc;
    }
    p->epc_use = p->epc_request;
    p->mem_use = p->mem_request;
    return CLOISTER_OK;
}

static int take_name(struct orch_ext_request *r, json_t *name, struct cloister_err *err)
{
    if (!json_is_string(name) || json_string_length(name) == 0 ||
        json_string_length(name) >= ORCH_NAME_MAX)
        return ext_fail(err, "a node name must be a string of 1-63 bytes");
    snprintf(r->names[r->count++], ORCH_NAME_MAX, "%s", json_string_value(name));
    return CLOISTER_OK;
}

static int parse_nodes(struct orch_ext_request *r, json_t *root, struct cloister_err *err)
{
    json_t *names = json_object_get(root, "NodeNames");
    json_t *items = json_object_get(json_object_get(root, "Nodes"), "items");
    json_t *list = json_is_array(names) ? names : items;
    if (!json_is_array(list))
        return ext_fail(err, "'NodeNames' or 'Nodes.items' must be an array");
    r->node_list = list == items;
    if (json_array_size(list) > EXT_NODES_MAX)
        return ext_fail(err, "more than 10000 nodes");
    r->names = calloc(json_array_size(list) + 1, sizeof *r->names);
    if (!r->names)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "extender request: out of memory");
    size_t i;
    json_t *n;
    json_array_foreach(list, i, n)
    {
        int rc = take_name(
            r, r->node_list ? json_object_get(json_object_get(n, "metadata"), "name") : n, err);
        if (rc != CLOISTER_OK)
            return rc;
    }
    return CLOISTER_OK;
}

int orch_ext_parse(struct orch_ext_request *out, const char *json, size_t len,
                   struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root)
        return cloister_errf(err, CLOISTER_E_INVALID, "extender request: not JSON (line %d: %s)",
                             jerr.line, jerr.text);
    int rc = json_is_object(root) ? parse_pod(&out->pod, json_object_get(root, "Pod"), err)
                                  : ext_fail(err, "an ExtenderArgs object is needed");
    if (rc == CLOISTER_OK)
        rc = parse_nodes(out, root, err);
    json_decref(root);
    if (rc != CLOISTER_OK)
        orch_ext_request_free(out);
    return rc;
}

void orch_ext_request_free(struct orch_ext_request *r)
{
    free(r->names);
    memset(r, 0, sizeof *r);
}

static const struct orch_node *find_node(const struct orch_node *nodes, size_t count,
                                         const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(nodes[i].name, name) == 0)
            return &nodes[i];
    return NULL;
}

static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static json_t *node_item(const char *name)
{
    return json_pack("{s:{s:s}}", "metadata", "name", name);
}

char *orch_ext_filter(const struct orch_ext_request *r, const struct orch_node *nodes, size_t count,
                      double overcommit)
{
    json_t *ok = json_array(), *failed = json_object();
    for (size_t i = 0; i < r->count; i++) {
        const struct orch_node *n = find_node(nodes, count, r->names[i]);
        const char *why = !n                      ? "no measurements from this node"
                          : r->pod.sgx && !n->sgx ? "not an SGX node"
                          : !orch_fits(n, &r->pod, overcommit)
                              ? (r->pod.sgx ? "not enough EPC" : "not enough memory")
                              : NULL;
        if (why)
            json_object_set_new(failed, r->names[i], json_string(why));
        else
            json_array_append_new(ok,
                                  r->node_list ? node_item(r->names[i]) : json_string(r->names[i]));
    }
    json_t *res = json_pack("{s:o,s:s,s:o}", "FailedNodes", failed, "Error", "",
                            r->node_list ? "Nodes" : "NodeNames",
                            r->node_list ? json_pack("{s:o}", "items", ok) : ok);
    return dump(res);
}

char *orch_ext_prioritize(const struct orch_ext_request *r, enum orch_policy policy,
                          const struct orch_node *nodes, size_t count, double overcommit)
{
    json_t *list = json_array();
    for (size_t i = 0; i < r->count; i++) {
        const struct orch_node *n = find_node(nodes, count, r->names[i]);
        int score = 0;
        if (n && orch_fits(n, &r->pod, overcommit) && policy != ORCH_RANDOM) {
            uint64_t used = r->pod.sgx ? (n->epc_measured > n->epc_requested ? n->epc_measured
                                                                             : n->epc_requested)
                                       : (n->mem_measured > n->mem_requested ? n->mem_measured
                                                                             : n->mem_requested);
            uint64_t alloc = r->pod.sgx ? n->epc_alloc : n->mem_alloc;
            double full = alloc ? (double)used / (double)alloc : 1.0;
            full = full > 1 ? 1 : full;
            score = (int)(10.0 * (policy == ORCH_BINPACK ? full : 1.0 - full) + 0.5);
            if (policy == ORCH_BINPACK && !r->pod.sgx && n->sgx)
                score = 0; /* standard pods keep off SGX nodes when they can */
        }
        json_array_append_new(list, json_pack("{s:s,s:i}", "Host", r->names[i], "Score", score));
    }
    return dump(list);
}
