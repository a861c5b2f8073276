/* orch_client.c -- what talks to node agents (orch_serve.h): their node state as JSON, polling
 * them, one request; and the extender's server, which polls the agents for every request (the
 * state is then never older than the request; a few loopback GETs cost well under a
 * millisecond each). */
#define CLOG_MODULE "orch"
#include <cloister/crypto.h>
#include <cloister/orch_serve.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http.h"
#include "orch/host/orch_auth.h"
#include "util/log.h"

#define REPLY_MAX (4u << 20)
#define AGENTS_MAX 1024

static int get_u64(json_t *o, const char *key, uint64_t *out, struct cloister_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "node state: '%s' must be an integer >= 0",
                             key);
    *out = (uint64_t)json_integer_value(v);
    return CLOISTER_OK;
}

int orch_node_from_json(struct orch_node *out, const char *json, size_t len,
                        struct cloister_err *err)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    struct orch_node n = {0};
    json_t *name = json_object_get(o, "name");
    int rc = json_is_string(name) && json_string_length(name) > 0 &&
                     json_string_length(name) < ORCH_NAME_MAX &&
                     json_is_boolean(json_object_get(o, "sgx"))
                 ? CLOISTER_OK
                 : cloister_errf(err, CLOISTER_E_INVALID,
                                 "node state: an object with 'name' and 'sgx' is needed");
    if (rc == CLOISTER_OK) {
        snprintf(n.name, sizeof n.name, "%s", json_string_value(name));
        n.sgx = json_is_true(json_object_get(o, "sgx"));
    }
    const char *keys[] = {"epc_alloc",     "mem_alloc",    "epc_requested",
                          "mem_requested", "epc_measured", "mem_measured"};
    uint64_t *dst[] = {&n.epc_alloc,     &n.mem_alloc,    &n.epc_requested,
                       &n.mem_requested, &n.epc_measured, &n.mem_measured};
    for (size_t i = 0; i < 6 && rc == CLOISTER_OK; i++)
        rc = get_u64(o, keys[i], dst[i], err);
    json_decref(o);
    if (rc == CLOISTER_OK)
        *out = n;
    return rc;
}

/* With a token the body goes signed for this method and path (orch_auth.h): the token itself
 * never leaves the process. */
int orch_request(const char *endpoint, const char *method, const char *path, const char *token,
                 const char *body, unsigned *status, char **reply, struct cloister_err *err)
{
    if (!token)
        return http_call(endpoint, method, path, NULL, body, body ? strlen(body) : 0, REPLY_MAX,
                         status, reply, err);
    uint8_t key[ORCH_AUTH_KEY_LEN];
    char label[ORCH_AUTH_LABEL_MAX], nonce[2 * ORCH_AUTH_NONCE_LEN + 1];
    int rc = orch_auth_key(key, token, err);
    if (rc != CLOISTER_OK)
        return rc;
    orch_auth_request_label(label, sizeof label, method, path);
    char *signed_body = orch_auth_seal_text(key, label, body ? body : "", (int64_t)time(NULL),
                                            nonce);
    crypto_wipe(key, sizeof key);
    rc = signed_body ? http_call(endpoint, method, path, NULL, signed_body, strlen(signed_body),
                                 REPLY_MAX, status, reply, err)
                     : cloister_errf(err, CLOISTER_E_NO_MEMORY, "%s %s: cannot sign the request",
                                     method, path);
    free(signed_body);
    return rc;
}

int orch_agents_poll(const char *const *agents, size_t n, struct orch_node **nodes, size_t *count,
                     struct cloister_err *err)
{
    if (n > AGENTS_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "at most %u node agents", AGENTS_MAX);
    *count = 0;
    *nodes = calloc(n + 1, sizeof **nodes);
    if (!*nodes)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        unsigned status;
        char *reply = NULL;
        struct cloister_err why;
        int rc = orch_request(agents[i], "GET", "/node", NULL, NULL, &status, &reply, &why);
        if (rc == CLOISTER_OK && status != 200)
            rc = cloister_errf(&why, CLOISTER_E_PROTOCOL, "HTTP %u", status);
        if (rc == CLOISTER_OK)
            rc = orch_node_from_json(&(*nodes)[*count], reply, strlen(reply), &why);
        free(reply);
        if (rc == CLOISTER_OK)
            (*count)++;
        else
            clog_warn("node agent %s left out: %s", agents[i], why.msg);
    }
    return CLOISTER_OK;
}

struct orch_extender {
    struct http_server *http;
    char **agents;
    size_t nagents;
    enum orch_policy policy;
    double overcommit;
};

static void ext_handle(void *arg, const struct http_request *r, unsigned *status, char **body,
                       const char **type)
{
    orch_extender *x = arg;
    *type = NULL;
    bool filter = strcmp(r->url, "/filter") == 0, prio = strcmp(r->url, "/prioritize") == 0;
    if (strcmp(r->method, "POST") != 0 || (!filter && !prio)) {
        *status = 404;
        *body = http_error_json("POST /filter or POST /prioritize");
        return;
    }
    struct orch_ext_request req;
    struct cloister_err err;
    if (orch_ext_parse(&req, r->body, r->len, &err) != CLOISTER_OK) {
        *status = 400;
        *body = http_error_json(err.msg);
        return;
    }
    struct orch_node *nodes = NULL;
    size_t count = 0;
    orch_agents_poll((const char *const *)x->agents, x->nagents, &nodes, &count, &err);
    *status = 200;
    *body = filter ? orch_ext_filter(&req, nodes, count, x->overcommit)
                   : orch_ext_prioritize(&req, x->policy, nodes, count, x->overcommit);
    clog_debug("%s %s: %zu nodes", r->url, req.pod.name, req.count);
    free(nodes);
    orch_ext_request_free(&req);
}

static void free_agents(orch_extender *x)
{
    for (size_t i = 0; x->agents && i < x->nagents; i++)
        free(x->agents[i]);
    free(x->agents);
}

int orch_extender_start(const char *listen, const char *const *agents, size_t nagents,
                        enum orch_policy policy, double overcommit, orch_extender **out,
                        struct cloister_err *err)
{
    if (nagents == 0 || nagents > AGENTS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "extender: 1-%u node agents", AGENTS_MAX);
    orch_extender *x = calloc(1, sizeof *x);
    if (!x || !(x->agents = calloc(nagents, sizeof *x->agents))) {
        free(x);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    x->nagents = nagents;
    x->policy = policy;
    x->overcommit = overcommit;
    int rc = CLOISTER_OK;
    for (size_t i = 0; i < nagents && rc == CLOISTER_OK; i++)
        if (!(x->agents[i] = strdup(agents[i])))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK)
        rc = http_server_start(listen, NULL, 4u << 20, ext_handle, x, &x->http, err);
    if (rc != CLOISTER_OK) {
        free_agents(x);
        free(x);
        return rc;
    }
    *out = x;
    return CLOISTER_OK;
}

uint16_t orch_extender_port(const orch_extender *x)
{
    return http_server_port(x->http);
}

void orch_extender_stop(orch_extender *x)
{
    if (!x)
        return;
    http_server_stop(x->http);
    free_agents(x);
    free(x);
}
