/* cmd_orch_demo.c -- the orchestration step of `cloister demo`: three node agents on loopback
 * (two SGX nodes of 32 MiB EPC, one without SGX), a burst of pods placed by binpack and then by
 * spread, a lying pod (one page requested, 6 MiB used) refused at its enclave's growth while its
 * node stays healthy, the EPC groups as `orch` reports them, and the simulator on a generated
 * trace, binpack against spread. */
#include <cloister/crypto.h>
#include <cloister/orch_serve.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_orch.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(pod);

#define NODES 3

struct demo {
    orch_agent *agents[NODES];
    char eps[NODES][32];
    const char *ep[NODES];
    char token[65];
    uint64_t rng;
};

static int start_agents(struct demo *d, const char *image, const char *sig)
{
    static const char *const names[NODES] = {"sgx-1", "sgx-2", "std-1"};
    for (int i = 0; i < NODES; i++) {
        struct orch_agent_options o = {.name = names[i],
                                       .listen = "127.0.0.1:0",
                                       .token = d->token,
                                       .sgx = i < 2,
                                       .epc = 32u << 20,
                                       .mem = 1u << 30,
                                       .backend = TEE_BACKEND_PROC,
                                       .image = image,
                                       .signature = sig,
                                       .enclave = &tee_enclave_pod};
        struct cloister_err err;
        if (orch_agent_start(&o, &d->agents[i], &err) != CLOISTER_OK)
            return cli_fail("node %s: %s", names[i], err.msg);
        snprintf(d->eps[i], sizeof d->eps[i], "127.0.0.1:%u",
                 (unsigned)orch_agent_port(d->agents[i]));
        d->ep[i] = d->eps[i];
    }
    printf("three node agents: sgx-1 and sgx-2 (32 MiB EPC each), std-1 (no SGX)\n");
    return CLI_OK;
}

static int submit(struct demo *d, enum orch_policy policy, const char *name, bool sgx,
                  uint64_t request, uint64_t use, json_t **result)
{
    struct orch_pod p = {.sgx = sgx, .duration_s = 60};
    snprintf(p.name, sizeof p.name, "%s", name);
    if (sgx) {
        p.epc_request = request;
        p.epc_use = use;
    } else {
        p.mem_request = p.mem_use = request;
    }
    return cli_orch_submit(d->ep, NODES, &p, policy, d->token, &d->rng, result);
}

static void stop_all(struct demo *d, json_t *placed)
{
    size_t i;
    json_t *p;
    json_array_foreach(placed, i, p)
    {
        const char *node = json_string_value(json_object_get(p, "node"));
        int k = node && strcmp(node, "sgx-1") == 0 ? 0 : node && strcmp(node, "sgx-2") == 0 ? 1 : 2;
        char path[128], *reply = NULL;
        unsigned status;
        snprintf(path, sizeof path, "/pods/%s", json_string_value(json_object_get(p, "name")));
        orch_request(d->ep[k], "DELETE", path, d->token, NULL, &status, &reply, NULL);
        free(reply);
    }
}

/* Six SGX pods of 6 MiB and two standard ones, by one policy. */
static int burst(struct demo *d, enum orch_policy policy)
{
    printf("\nburst of pods, %s:\n", orch_policy_name(policy));
    json_t *placed = json_array();
    int rc = CLI_OK;
    for (int i = 0; i < 8 && rc == CLI_OK; i++) {
        char name[32];
        bool sgx = i < 6;
        snprintf(name, sizeof name, "%s-%d", sgx ? "enclave" : "web", i);
        json_t *r = NULL;
        rc = submit(d, policy, name, sgx, sgx ? 6u << 20 : 64u << 20, sgx ? 6u << 20 : 0, &r);
        if (rc == CLI_OK) {
            printf("  %-10s -> %-6s %s\n", name, json_string_value(json_object_get(r, "node")),
                   json_string_value(json_object_get(r, "state")));
            json_array_append_new(placed, r);
        }
    }
    stop_all(d, placed);
    json_decref(placed);
    return rc;
}

static int liar(struct demo *d)
{
    printf("\na lying pod: requests one page of EPC, grows its enclave to 6 MiB:\n");
    json_t *r = NULL;
    int rc = submit(d, ORCH_BINPACK, "liar", true, 4096, 6u << 20, &r);
    if (rc != CLI_OK)
        return rc;
    const char *node = json_string_value(json_object_get(r, "node"));
    printf("  state %s on %s: %s\n", json_string_value(json_object_get(r, "state")), node,
           json_string_value(json_object_get(r, "message")));
    json_decref(r);
    json_t *ok = NULL;
    if ((rc = submit(d, ORCH_BINPACK, "after-liar", true, 4u << 20, 4u << 20, &ok)) != CLI_OK)
        return rc;
    printf("  the node stays healthy: the next pod is %s on %s\n",
           json_string_value(json_object_get(ok, "state")),
           json_string_value(json_object_get(ok, "node")));
    json_decref(ok);
    printf("\nenclave stats per group (cloister enclave stats --group G --agent ...):\n");
    const char *groups[] = {"liar", "after-liar"};
    for (int g = 0; g < 2; g++) {
        char path[64], *reply = NULL;
        unsigned status = 0;
        snprintf(path, sizeof path, "/groups/%s", groups[g]);
        if (orch_request(d->ep[0], "GET", path, NULL, NULL, &status, &reply, NULL) == CLOISTER_OK &&
            status == 200) {
            json_t *j = json_loads(reply, 0, NULL);
            printf("  %-10s limit %lld pages, committed %lld, refusals %lld\n", groups[g],
                   json_integer_value(json_object_get(j, "limit_pages")),
                   json_integer_value(json_object_get(j, "committed_pages")),
                   json_integer_value(json_object_get(j, "refusals")));
            json_decref(j);
        }
        free(reply);
    }
    return CLI_OK;
}

static int simulate(void)
{
    struct orch_gen_options g;
    orch_gen_options_init(&g);
    g.sgx_fraction = 0.5;
    g.dishonest = 0.05;
    g.rate_per_s = 5; /* a busy hour: pods wait */
    struct orch_trace t;
    struct cloister_err err;
    if (orch_trace_generate(&g, &t, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    printf("\nsimulator: 663 jobs in 2 minutes, half SGX, 5 %% of these lying; 2 SGX + 2 "
           "standard nodes:\n");
    for (enum orch_policy p = ORCH_BINPACK; p <= ORCH_RANDOM; p++) {
        struct orch_sim_options o;
        orch_sim_options_init(&o);
        o.policy = p;
        struct orch_sim_result r;
        if (orch_simulate(&t, &o, &r, &err) != CLOISTER_OK) {
            orch_trace_free(&t);
            return cli_fail("%s", err.msg);
        }
        printf("  %-8s waiting p50 %6.1f s p99 %7.1f s, turnaround p50 %6.1f s, %zu enclaves "
               "refused, %zu over-commits\n",
               orch_policy_name(p), r.waiting_p50_s, r.waiting_p99_s, r.turnaround_p50_s,
               r.refused_enclaves, r.epc_overcommit_events);
        orch_sim_result_free(&r);
    }
    orch_trace_free(&t);
    return CLI_OK;
}

int cli_orch_demo(void)
{
    cli_demo_heading("SGX-aware orchestration: EPC groups, node agents, policies");
    char dir[] = "/tmp/cloister-orch-XXXXXX", image[4096], sig[4096];
    if (!mkdtemp(dir))
        return cli_fail("cannot make a temporary directory");
    struct demo d = {.rng = 1};
    uint8_t raw[32];
    int rc = crypto_random(raw, sizeof raw) == 0 ? CLI_OK : cli_fail("cannot draw a token");
    for (size_t i = 0; rc == CLI_OK && i < sizeof raw; i++)
        snprintf(d.token + 2 * i, 3, "%02x", raw[i]);
    if (rc == CLI_OK)
        rc = cli_orch_sign_pod(dir, 48u << 20, image, sizeof image, sig, sizeof sig);
    if (rc == CLI_OK)
        rc = start_agents(&d, image, sig);
    if (rc == CLI_OK)
        rc = burst(&d, ORCH_BINPACK);
    if (rc == CLI_OK)
        rc = burst(&d, ORCH_SPREAD);
    if (rc == CLI_OK)
        rc = liar(&d);
    for (int i = 0; i < NODES; i++)
        orch_agent_stop(d.agents[i]);
    if (rc == CLI_OK)
        rc = simulate();
    crypto_wipe(d.token, sizeof d.token);
    file_remove_tree(dir);
    return rc;
}
