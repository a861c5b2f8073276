/* cmd_orch_demo.c -- the orchestration step of `cloister demo`: a nats-server on loopback
 * (bus_server_start), three node agents reporting to it (two SGX nodes of 32 MiB EPC, one
 * without SGX), the scheduler service taking a burst of signed submissions from JetStream and
 * placing them by binpack and then by spread, a lying pod (one page requested, 6 MiB used)
 * refused at its enclave's growth while its node stays healthy, the cluster as `orch ls --nats`
 * lists it, the EPC groups as `enclave stats --group` shows them, and the simulator on a
 * generated trace. Without nats-server the cluster part is skipped (the simulator still runs).
 * Nodes report every 200 ms so that the step takes a few seconds. */
#include <cloister/crypto.h>
#include <cloister/orch_serve.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_orch.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(pod);

#define NODES 3
#define REPORT_MS 200
#define WAIT_MS 10000
#define BURST 8

static const char *const node_names[NODES] = {"sgx-1", "sgx-2", "std-1"};

struct demo {
    struct bus_server *srv;
    const char *url;
    orch_agent *agents[NODES];
    orch_reporter *reporters[NODES];
    char eps[NODES][32];
    char token[65];
};

static void nap_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

static int start_agents(struct demo *d, const char *image, const char *sig)
{
    for (int i = 0; i < NODES; i++) {
        struct orch_agent_options o = {.name = node_names[i],
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
            return cli_fail("node %s: %s", node_names[i], err.msg);
        snprintf(d->eps[i], sizeof d->eps[i], "127.0.0.1:%u",
                 (unsigned)orch_agent_port(d->agents[i]));
        if (orch_reporter_start(d->url, d->eps[i], node_names[i], REPORT_MS, &d->reporters[i],
                                &err) != CLOISTER_OK)
            return cli_fail("node %s: %s", node_names[i], err.msg);
    }
    printf("nats-server at %s; three node agents reporting there every %d ms: sgx-1 and sgx-2 "
           "(32 MiB EPC each), std-1 (no SGX)\n",
           d->url, REPORT_MS);
    return CLI_OK;
}

static int node_index(const char *name)
{
    for (int i = 0; i < NODES; i++)
        if (name && strcmp(name, node_names[i]) == 0)
            return i;
    return -1;
}

/* A scheduler with an empty state (the previous one's bucket deleted), once every node reports. */
static int sched_start(struct demo *d, enum orch_policy policy, orch_sched **s)
{
    struct cloister_err err;
    struct bus *b = bus_connect(d->url, NULL, &err);
    if (b)
        bus_stream_delete(b, "KV_ORCH_SCHED", &err);
    bus_close(b);
    struct orch_sched_options o = {.nats = d->url, .token = d->token, .policy = policy, .seed = 1};
    if (orch_sched_start(&o, s, &err) != CLOISTER_OK)
        return cli_fail("scheduler: %s", err.msg);
    for (int t = 0; t < WAIT_MS / 20 && orch_sched_nodes(*s) < NODES; t++)
        nap_ms(20);
    return orch_sched_nodes(*s) == NODES ? CLI_OK : cli_fail("the nodes do not report");
}

static int submit(struct demo *d, const char *name, bool sgx, uint64_t request, uint64_t use)
{
    struct orch_pod p = {.sgx = sgx, .duration_s = 60};
    snprintf(p.name, sizeof p.name, "%s", name);
    if (sgx) {
        p.epc_request = request;
        p.epc_use = use;
    } else {
        p.mem_request = p.mem_use = request;
    }
    struct cloister_err err;
    return orch_submit_nats(d->url, d->token, &p, &err) == CLOISTER_OK
               ? CLI_OK
               : cli_fail("%s: %s", name, err.msg);
}

/* Waits until the scheduler placed pod (true, node set); false after WAIT_MS (not yet taken
 * from the stream, pending, or dropped). */
static bool placed(orch_sched *s, const char *pod, char *node, size_t cap)
{
    int rc = 0;
    for (int t = 0; t < WAIT_MS / 20 && (rc = orch_sched_where(s, pod, node, cap)) != 1; t++)
        nap_ms(20);
    return rc == 1;
}

static void stop_pod(struct demo *d, const char *node, const char *pod)
{
    int k = node_index(node);
    char path[320], *reply = NULL;
    unsigned status;
    snprintf(path, sizeof path, "/pods/%s", pod);
    if (k >= 0)
        orch_request(d->eps[k], "DELETE", path, d->token, NULL, &status, &reply, NULL);
    free(reply);
}

/* Six SGX pods of 6 MiB and two standard ones, submitted at once, placed by one policy. */
static int burst(struct demo *d, enum orch_policy policy)
{
    printf("\nburst of %d signed submissions on the stream ORCH_SUBMIT, scheduler by %s:\n", BURST,
           orch_policy_name(policy));
    orch_sched *s = NULL;
    int rc = sched_start(d, policy, &s);
    char names[BURST][32], nodes[BURST][ORCH_NAME_MAX] = {{0}};
    for (int i = 0; i < BURST && rc == CLI_OK; i++) {
        bool sgx = i < 6;
        snprintf(names[i], sizeof names[i], "%s-%d", sgx ? "enclave" : "web", i);
        rc = submit(d, names[i], sgx, sgx ? 6u << 20 : 64u << 20, sgx ? 6u << 20 : 0);
    }
    for (int i = 0; i < BURST && rc == CLI_OK; i++)
        printf("  %-10s -> %s\n", names[i],
               placed(s, names[i], nodes[i], sizeof nodes[i]) ? nodes[i] : "(not placed)");
    orch_sched_stop(s);
    for (int i = 0; i < BURST; i++)
        stop_pod(d, nodes[i], names[i]);
    return rc;
}

/* The pod named name in `orch ls --nats`'s answer, and its node. */
static json_t *ls_find(json_t *ls, const char *name, const char **node)
{
    size_t i, k;
    json_t *n, *p;
    json_array_foreach(json_object_get(ls, "nodes"), i, n)
    {
        json_array_foreach(json_object_get(n, "pods"), k, p)
        {
            if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0) {
                *node = json_string_value(json_object_get(n, "node"));
                return p;
            }
        }
    }
    return NULL;
}

static void group_stats(struct demo *d, const char *node, const char *group)
{
    int k = node_index(node);
    char path[64], *reply = NULL;
    unsigned status = 0;
    snprintf(path, sizeof path, "/groups/%s", group);
    if (k >= 0 &&
        orch_request(d->eps[k], "GET", path, NULL, NULL, &status, &reply, NULL) == CLOISTER_OK &&
        status == 200) {
        json_t *j = json_loads(reply, 0, NULL);
        printf("  %-10s on %s: limit %lld pages, committed %lld, refusals %lld\n", group, node,
               json_integer_value(json_object_get(j, "limit_pages")),
               json_integer_value(json_object_get(j, "committed_pages")),
               json_integer_value(json_object_get(j, "refusals")));
        json_decref(j);
    }
    free(reply);
}

static int liar(struct demo *d)
{
    printf("\na lying pod: requests one page of EPC, grows its enclave to 6 MiB; then an honest "
           "one:\n");
    orch_sched *s = NULL;
    char node[ORCH_NAME_MAX] = "";
    int rc = sched_start(d, ORCH_BINPACK, &s);
    if (rc == CLI_OK)
        rc = submit(d, "liar", true, 4096, 6u << 20);
    if (rc == CLI_OK)
        rc = submit(d, "after-liar", true, 4u << 20, 4u << 20);
    if (rc == CLI_OK && !placed(s, "after-liar", node, sizeof node))
        rc = cli_fail("after-liar was not placed");
    orch_sched_stop(s);
    char *text = NULL;
    struct cloister_err err;
    nap_ms(2 * REPORT_MS); /* the nodes' next reports carry both pods */
    if (rc == CLI_OK && orch_ls_nats(d->url, 3 * REPORT_MS, &text, &err) != CLOISTER_OK)
        rc = cli_fail("orch ls: %s", err.msg);
    json_t *ls = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    const char *liar_node = NULL, *ok_node = NULL;
    json_t *l = rc == CLI_OK ? ls_find(ls, "liar", &liar_node) : NULL;
    json_t *ok = rc == CLI_OK ? ls_find(ls, "after-liar", &ok_node) : NULL;
    if (l && ok) {
        printf("  orch ls --nats: liar %s on %s: %s\n",
               json_string_value(json_object_get(l, "state")), liar_node,
               json_string_value(json_object_get(l, "message")));
        printf("  the node stays healthy: after-liar is %s on %s\n",
               json_string_value(json_object_get(ok, "state")), ok_node);
        printf("\nenclave stats per group (cloister enclave stats --group G --agent ...):\n");
        group_stats(d, liar_node, "liar");
        group_stats(d, ok_node, "after-liar");
    } else if (rc == CLI_OK) {
        rc = cli_fail("orch ls --nats does not show the lying pod");
    }
    json_decref(ls);
    return rc;
}

/* The cluster over NATS, skipped when nats-server is missing. */
static int cluster(struct demo *d, const char *dir)
{
    char natsdir[4200], image[4096], sig[4096];
    snprintf(natsdir, sizeof natsdir, "%s/nats", dir);
    struct cloister_err err;
    d->srv = file_mkdirs(natsdir, 0700) == 0 ? bus_server_start(natsdir, &err) : NULL;
    if (!d->srv) {
        printf("  the cluster over NATS skipped: %s\n", err.msg);
        return CLI_OK;
    }
    d->url = bus_server_url(d->srv);
    int rc = cli_orch_sign_pod(dir, 48u << 20, image, sizeof image, sig, sizeof sig);
    if (rc == CLI_OK)
        rc = start_agents(d, image, sig);
    if (rc == CLI_OK)
        rc = burst(d, ORCH_BINPACK);
    if (rc == CLI_OK)
        rc = burst(d, ORCH_SPREAD);
    if (rc == CLI_OK)
        rc = liar(d);
    for (int i = 0; i < NODES; i++) {
        orch_reporter_stop(d->reporters[i]);
        orch_agent_stop(d->agents[i]);
    }
    bus_server_stop(d->srv);
    return rc;
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
    cli_demo_heading("SGX-aware orchestration: EPC groups, node agents over NATS, policies");
    char dir[] = "/tmp/cloister-orch-XXXXXX";
    if (!mkdtemp(dir))
        return cli_fail("cannot make a temporary directory");
    struct demo d = {0};
    uint8_t raw[32];
    int rc = crypto_random(raw, sizeof raw) == 0 ? CLI_OK : cli_fail("cannot draw a token");
    for (size_t i = 0; rc == CLI_OK && i < sizeof raw; i++)
        snprintf(d.token + 2 * i, 3, "%02x", raw[i]);
    crypto_wipe(raw, sizeof raw);
    if (rc == CLI_OK)
        rc = cluster(&d, dir);
    if (rc == CLI_OK)
        rc = simulate();
    crypto_wipe(d.token, sizeof d.token);
    file_remove_tree(dir);
    return rc;
}
