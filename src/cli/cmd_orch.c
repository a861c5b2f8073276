/* cmd_orch.c -- `cloister orch`: SGX-aware orchestration (docs/orchestration.md).
 *
 *   node       a node agent: launches pods (SGX pods as pod enclaves in EPC accounting groups),
 *              answers HTTP+JSON and Prometheus, until SIGINT or SIGTERM
 *   submit     places a pod spec on one of the agents by a policy and starts it there
 *   ls         the pods of every agent
 *   extender   the Kubernetes scheduler extender (filter, prioritize) over the agents
 *   gen-trace  a synthetic trace shaped like the Google cluster trace (2011)
 *   simulate   the trace-driven simulator of a cluster
 *
 * The demo step is in cmd_orch_demo.c. */
#include <cloister/crypto.h>
#include <cloister/epc.h>
#include <cloister/orch_serve.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_orch.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(pod);

#define TOKEN_MIN 16
#define TRACE_MAX (64u << 20)
#define AGENTS_HELP "a node agent's IP:PORT (repeatable)"

static const char *const POLICIES[] = {"binpack", "spread", "random", NULL};
static const char *const TEES[] = {"proc", "sim", NULL};

/* A number in [lo, hi] from option --opt. */
static int parse_number(const char *opt, const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = text ? strtod(text, &end) : NAN;
    if (!text || errno || end == text || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "cloister: --%s: a number in [%g, %g], got '%s'\n", opt, lo, hi,
                text ? text : "");
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

int cli_orch_sign_pod(const char *home_dir, uint64_t heap, char *image, size_t icap, char *sig,
                      size_t scap)
{
    struct cloister_err err;
    if (tee_image_path("pod", image, icap, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    int n = snprintf(sig, scap, "%s/pod.sig", home_dir);
    if (n < 0 || (size_t)n >= scap || file_mkdirs(home_dir, 0700) != 0)
        return cli_fail("%s: cannot create the directory", home_dir);
    uint8_t seed[TEE_SEED_LEN];
    if (crypto_random(seed, sizeof seed) != 0)
        return cli_fail("cannot draw a signer key");
    int rc = tee_sign_file_sized(image, heap, 0, seed, sig, &err);
    crypto_wipe(seed, sizeof seed);
    return rc == CLOISTER_OK ? CLI_OK : cli_fail("%s", err.msg);
}

/* A node's size: a number of unit bytes ("93.5"), or a Kubernetes quantity with an optional
 * trailing B ("93.5MiB", "32Gi"); more than zero. */
static int node_size(const char *opt, const char *text, uint64_t unit, uint64_t *out)
{
    char q[64], *end;
    size_t n = strlen(text);
    double v = strtod(text, &end);
    if (n < sizeof q && n > 2 && text[n - 1] == 'B' && text[n - 2] == 'i')
        n--; /* MiB, GiB: the quantity Mi, Gi */
    snprintf(q, sizeof q, "%.*s", (int)(n < sizeof q ? n : sizeof q - 1), text);
    if (end != text && *end == 0 && v > 0 && v < 1e9) {
        *out = (uint64_t)(v * (double)unit);
        return CLI_OK;
    }
    if (orch_quantity_parse(q, out, NULL) == CLOISTER_OK && *out > 0)
        return CLI_OK;
    fprintf(stderr, "cloister: --%s: a size like %s, got '%.64s'\n", opt,
            unit == 1u << 20 ? "93.5MiB (or 93.5, MiB)" : "32GiB (or 32, GiB)", text);
    return CLI_USAGE;
}

/* ---- node ----------------------------------------------------------------------------------- */

static int cmd_node(int argc, char **argv)
{
    const char *name = NULL, *listen = "127.0.0.1:0", *token_file = NULL, *epc = NULL, *nats = NULL,
               *images = NULL;
    const char *mem = "32";
    bool sgx = false;
    struct opt_choice tee = {TEES, 0};
    const struct opt_def opts[] = {
        {"name", OPT_STRING, &name, "NAME", "the node's name", OPT_REQUIRED, 0, 0},
        {"listen", OPT_STRING, &listen, "IP:PORT", "where to listen (default any free port)", 0, 0,
         0},
        {"token-file", OPT_STRING, &token_file, "FILE",
         "the cluster's token, which signs requests (created when missing)", OPT_REQUIRED, 0, 0},
        {"epc", OPT_STRING, &epc, "SIZE",
         "EPC of an SGX node: 93.5MiB (SGX1, the default with --sgx), or a number of MiB", 0, 0, 0},
        {"sgx", OPT_FLAG, &sgx, NULL, "an SGX node (implied by --epc)", 0, 0, 0},
        {"mem", OPT_STRING, &mem, "SIZE", "memory for pods: 32GiB (default), or a number of GiB", 0,
         0, 0},
        {"tee", OPT_CHOICE, &tee, "BACKEND", "pod enclaves: proc (default) or sim", 0, 0, 0},
        {"nats", OPT_STRING, &nats, "URL",
         "report to the scheduler on this NATS server every second", 0, 0, 0},
        {"images", OPT_STRING, &images, "DIR",
         "the images pods may name: DIR/NAME programs, DIR/NAME.enclave with DIR/NAME.sig", 0, 0,
         0},
        {0}};
    const struct opt_cmd cmd = {
        "orch node",
        "",
        "Run a node agent until SIGINT or SIGTERM.",
        opts,
        0,
        0,
        "Launches pods submitted to it (POST /pods, signed with a key derived from the token):\n"
        "an SGX pod runs as an enclave in an EPC accounting group limited to its request, so a\n"
        "pod that lied is refused when its enclave grows past it; a standard pod runs as a\n"
        "process whose data is limited to its request. A pod naming an image runs it from\n"
        "--images. Answers GET /node, /pods, /groups/NAME and /metrics (Prometheus). Prints its\n"
        "address on stdout.",
        "cloister orch node --name sgx-1 --sgx --epc 93.5MiB --mem 32GiB --token-file token\n"
        "cloister orch node --name std-1 --mem 64 --listen 127.0.0.1:7101 --token-file token "
        "--images /srv/pod-images\n"
        "cloister orch node --name sgx-2 --epc 93.5 --token-file token --nats "
        "nats://127.0.0.1:4222\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    uint64_t epc_bytes = 0, mem_bytes = 0;
    sgx = sgx || epc;
    if ((sgx && node_size("epc", epc ? epc : "93.5MiB", 1u << 20, &epc_bytes) != CLI_OK) ||
        node_size("mem", mem, 1u << 30, &mem_bytes) != CLI_OK)
        return CLI_USAGE;
    epc_bytes -= epc_bytes % ORCH_EPC_PAGE;
    struct cli_endpoint ep;
    if (cli_parse_endpoint("--listen", listen, &ep) != CLI_OK)
        return CLI_USAGE;
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    char token[256], image[4096], sig[4096], dir[4096], home[4096];
    struct cloister_err err;
    if ((rc = cli_load_token(token_file, TOKEN_MIN, token, sizeof token)) != CLI_OK)
        return rc;
    if (tee_home_dir(home, sizeof home, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    snprintf(dir, sizeof dir, "%.4000s/orch/%.60s", home, name);
    if (sgx && (rc = cli_orch_sign_pod(dir, epc_bytes + (16u << 20), image, sizeof image, sig,
                                       sizeof sig)) != CLI_OK)
        return rc;
    cli_stop_signals_block();
    struct orch_agent_options o = {.name = name,
                                   .listen = ep.host,
                                   .token = token,
                                   .sgx = sgx,
                                   .epc = epc_bytes,
                                   .mem = mem_bytes,
                                   .backend = tee.index ? TEE_BACKEND_SIM : TEE_BACKEND_PROC,
                                   .image = sgx ? image : NULL,
                                   .signature = sgx ? sig : NULL,
                                   .enclave = &tee_enclave_pod,
                                   .images = images};
    orch_agent *a;
    rc = orch_agent_start(&o, &a, &err);
    crypto_wipe(token, sizeof token);
    if (rc != CLOISTER_OK)
        return cli_fail("node %s: %s", name, err.msg);
    char self[96];
    snprintf(self, sizeof self, "127.0.0.1:%u", (unsigned)orch_agent_port(a));
    orch_reporter *reporter = NULL;
    if (nats && orch_reporter_start(nats, self, name, 1000, &reporter, &err) != CLOISTER_OK) {
        orch_agent_stop(a);
        return cli_fail("node %s: %s", name, err.msg);
    }
    printf("node %s listening on %s (%s)\n", name, self, sgx ? "SGX" : "no SGX");
    fflush(stdout);
    char who[96];
    snprintf(who, sizeof who, "node %s", name);
    cli_stop_signals_wait(who);
    orch_reporter_stop(reporter);
    orch_agent_stop(a);
    return CLI_OK;
}

/* ---- submit, ls ------------------------------------------------------------------------------ */

static int read_token(const char *path, char *token, size_t cap)
{
    uint8_t *data;
    size_t len;
    int rc = cli_read_secret(path, "the token", cap - 1, &data, &len);
    if (rc != CLI_OK)
        return rc;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    memcpy(token, data, len);
    token[len] = 0;
    crypto_wipe(data, len);
    free(data);
    return CLI_OK;
}

/* Places pod on one of the agents by policy and submits it; *result is the node's answer (the
 * pod with its state), with "node" and "decision" (the policy's reason) added. */
static int cli_orch_submit(const char *const *agents, size_t n, const struct orch_pod *pod,
                           enum orch_policy policy, const char *token, uint64_t *rng,
                           json_t **result)
{
    struct orch_node *nodes = calloc(n + 1, sizeof *nodes);
    const char **eps = calloc(n + 1, sizeof *eps);
    size_t count = 0;
    struct cloister_err err;
    for (size_t k = 0; nodes && eps && k < n; k++) { /* one at a time: which agent is which */
        struct orch_node *one = NULL;
        size_t c = 0;
        if (orch_agents_poll(&agents[k], 1, &one, &c, &err) == CLOISTER_OK && c == 1) {
            nodes[count] = one[0];
            eps[count++] = agents[k];
        }
        free(one);
    }
    char why[256];
    int i = nodes && eps ? orch_pick(policy, nodes, count, pod, 1.0, rng, why, sizeof why) : -1;
    int rc = i < 0 ? cli_fail("%s", nodes && eps ? why : "out of memory") : CLI_OK;
    char *spec = rc == CLI_OK ? orch_pod_format(pod) : NULL, *reply = NULL;
    unsigned status = 0;
    if (rc == CLI_OK && (!spec || orch_request(eps[i], "POST", "/pods", token, spec, &status,
                                               &reply, &err) != CLOISTER_OK))
        rc = cli_fail("%s: %s", pod->name, spec ? err.msg : "out of memory");
    else if (rc == CLI_OK && status != 200 && status != 201)
        rc = cli_fail("%s: node %s answered %u: %s", pod->name, nodes[i].name, status, reply);
    if (rc == CLI_OK) {
        *result = json_loads(reply, 0, NULL);
        if (*result) {
            json_object_set_new(*result, "node", json_string(nodes[i].name));
            json_object_set_new(*result, "decision", json_string(why));
        }
    }
    free(spec);
    free(reply);
    free(nodes);
    free(eps);
    return rc;
}

static int cmd_submit(int argc, char **argv)
{
    struct opt_list agents = {0};
    const char *token_file = NULL, *nats = NULL;
    struct opt_choice policy = {POLICIES, 0};
    const struct opt_def opts[] = {
        {"agent", OPT_LIST, &agents, "IP:PORT", AGENTS_HELP, 0, 0, 0},
        {"nats", OPT_STRING, &nats, "URL",
         "send it to `orch scheduler` on this NATS server instead (signed with a key derived "
         "from the token, stored by JetStream)",
         0, 0, 0},
        {"token-file", OPT_STRING, &token_file, "FILE",
         "the cluster's token (signs the request; never sent)", OPT_REQUIRED, 0, 0},
        {"policy", OPT_CHOICE, &policy, "POLICY", "binpack (default), spread or random", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "orch submit",
        "POD.json",
        "Place a pod on a node by a policy and start it there.",
        opts,
        1,
        1,
        "Reads the agents' measurements, picks a node by the paper's rule and the policy\n"
        "(binpack, spread, random), and submits the pod there; prints the pod as the node\n"
        "started it (state running, or refused with the reason), and the decision on stderr.",
        "cloister orch submit pod.json --agent 127.0.0.1:7101 --agent 127.0.0.1:7102 "
        "--token-file token\n"
        "cloister orch submit pod.json --nats nats://127.0.0.1:4222 --token-file token\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if ((agents.n > 0) == (nats != NULL))
        return fprintf(stderr, "cloister: orch submit: --agent or --nats, one of them\n"),
               CLI_USAGE;
    uint8_t *spec;
    size_t len;
    if ((rc = cli_read_file(argv[0], "the pod spec", 1 << 20, &spec, &len)) != CLI_OK)
        return rc;
    struct orch_pod pod;
    struct cloister_err err;
    rc = orch_pod_parse(&pod, (const char *)spec, len, &err) == CLOISTER_OK
             ? CLI_OK
             : cli_fail("%s: %s", argv[0], err.msg);
    free(spec);
    char token[256];
    if (rc == CLI_OK)
        rc = read_token(token_file, token, sizeof token);
    if (rc != CLI_OK)
        return rc;
    if (nats) {
        rc = orch_submit_nats(nats, token, &pod, &err) == CLOISTER_OK
                 ? CLI_OK
                 : cli_fail("%s: %s", pod.name, err.msg);
        crypto_wipe(token, sizeof token);
        if (rc == CLI_OK)
            printf("pod %s sent to the scheduler\n", pod.name);
        return rc;
    }
    uint64_t rng = (uint64_t)cli_now_s();
    json_t *result = NULL;
    rc = cli_orch_submit(agents.v, (size_t)agents.n, &pod, (enum orch_policy)policy.index, token,
                         &rng, &result);
    crypto_wipe(token, sizeof token);
    return rc == CLI_OK ? cli_json_print(result) : rc;
}

/* The pods of each agent's GET /pods, as [{"node", "pods"}]. */
static int ls_agents(const struct opt_list *agents, json_t **all)
{
    int rc = CLI_OK;
    *all = json_array();
    for (int i = 0; i < agents->n; i++) {
        unsigned status = 0;
        char *reply = NULL;
        struct cloister_err err;
        json_t *j = NULL;
        if (orch_request(agents->v[i], "GET", "/pods", NULL, NULL, &status, &reply, &err) !=
                CLOISTER_OK ||
            status != 200 || !(j = json_loads(reply, 0, NULL)))
            rc = cli_fail("agent %s: %s", agents->v[i], status != 200 ? "no answer" : err.msg);
        free(reply);
        if (j)
            json_array_append_new(*all, j);
    }
    return rc;
}

static void ls_line(const char *node, json_t *p)
{
    bool sgx = json_is_true(json_object_get(p, "sgx"));
    const char *rk = sgx ? "epc_request" : "mem_request", *uk = sgx ? "epc_use" : "mem_use";
    const char *image = json_string_value(json_object_get(p, "image"));
    printf("%-12s %-16s %-9s %4s %8.1fMi %8.1fMi %9.1fs %s\n", node,
           json_string_value(json_object_get(p, "name")),
           json_string_value(json_object_get(p, "state")), sgx ? "yes" : "no",
           (double)json_integer_value(json_object_get(p, rk)) / 1048576.0,
           (double)json_integer_value(json_object_get(p, uk)) / 1048576.0,
           json_real_value(json_object_get(p, "duration_s")), image ? image : "-");
}

static int cmd_ls(int argc, char **argv)
{
    struct opt_list agents = {0};
    const char *nats = NULL;
    bool json = false;
    const struct opt_def opts[] = {
        {"agent", OPT_LIST, &agents, "IP:PORT", AGENTS_HELP, 0, 0, 0},
        {"nats", OPT_STRING, &nats, "URL",
         "the cluster on this NATS server instead: the nodes' reports and the scheduler's queue", 0,
         0, 0},
        {"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "orch ls",
        "",
        "List the pods of every node agent, and those pending.",
        opts,
        0,
        0,
        "One line per pod: node, name, state, requests, what it uses and its image. With\n"
        "--agent, asks those agents (one that does not answer is named on stderr); with\n"
        "--nats, listens to the reports of the nodes (2 s: they report every second, with\n"
        "their pods) and reads the scheduler's pending queue from its stored state.",
        "cloister orch ls --agent 127.0.0.1:7101 --agent 127.0.0.1:7102\n"
        "cloister orch ls --nats nats://127.0.0.1:4222 --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if ((agents.n > 0) == (nats != NULL))
        return fprintf(stderr, "cloister: orch ls: --agent or --nats, one of them\n"), CLI_USAGE;
    json_t *all = NULL, *pending = NULL;
    if (nats) {
        char *text = NULL;
        struct cloister_err err;
        if (orch_ls_nats(nats, 2000, &text, &err) != CLOISTER_OK)
            return cli_fail("%s", err.msg);
        json_t *o = json_loads(text, 0, NULL);
        free(text);
        if (json)
            return cli_json_print(o);
        all = json_incref(json_object_get(o, "nodes"));
        pending = json_incref(json_object_get(o, "pending"));
        json_decref(o);
    } else {
        rc = ls_agents(&agents, &all);
        if (json) {
            cli_json_print(all);
            return rc;
        }
    }
    printf("%-12s %-16s %-9s %4s %10s %10s %10s %s\n", "NODE", "POD", "STATE", "SGX", "REQUEST",
           "USE", "DURATION", "IMAGE");
    size_t i, k;
    json_t *n, *p;
    json_array_foreach(all, i, n)
    {
        json_array_foreach(json_object_get(n, "pods"), k, p)
            ls_line(json_string_value(json_object_get(n, "node")), p);
    }
    json_array_foreach(pending, k, p) ls_line("-", p);
    json_decref(all);
    json_decref(pending);
    return rc;
}

/* ---- extender -------------------------------------------------------------------------------- */

static int cmd_extender(int argc, char **argv)
{
    struct opt_list agents = {0};
    const char *listen = "127.0.0.1:0", *overcommit = "1.0";
    struct opt_choice policy = {POLICIES, 0};
    const struct opt_def opts[] = {
        {"agent", OPT_LIST, &agents, "IP:PORT", AGENTS_HELP, OPT_REQUIRED, 0, 0},
        {"listen", OPT_STRING, &listen, "IP:PORT", "where to listen (default any free port)", 0, 0,
         0},
        {"policy", OPT_CHOICE, &policy, "POLICY", "scores: binpack (default), spread, random", 0, 0,
         0},
        {"overcommit", OPT_STRING, &overcommit, "X", "allocatable x X may be committed (1.0)", 0, 0,
         0},
        {0}};
    const struct opt_cmd cmd = {
        "orch extender",
        "",
        "Serve the Kubernetes scheduler extender verbs until SIGINT or SIGTERM.",
        opts,
        0,
        0,
        "POST /filter and POST /prioritize take the ExtenderArgs of kube-scheduler and answer\n"
        "ExtenderFilterResult and HostPriorityList, with the node agents' measurements: point\n"
        "the scheduler's extenders (urlPrefix, filterVerb: filter, prioritizeVerb: prioritize,\n"
        "managedResources: sgx.intel.com/epc) at it. Read-only: it changes nothing.",
        "cloister orch extender --agent 127.0.0.1:7101 --listen 127.0.0.1:7200 --policy spread\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    double oc;
    struct cli_endpoint ep;
    if (parse_number("overcommit", overcommit, 0.01, 100, &oc) != CLI_OK ||
        cli_parse_endpoint("--listen", listen, &ep) != CLI_OK)
        return CLI_USAGE;
    cli_stop_signals_block();
    orch_extender *x;
    struct cloister_err err;
    if (orch_extender_start(ep.host, agents.v, (size_t)agents.n, (enum orch_policy)policy.index, oc,
                            &x, &err) != CLOISTER_OK)
        return cli_fail("extender: %s", err.msg);
    printf("extender listening on 127.0.0.1:%u (%s, %d agents)\n", (unsigned)orch_extender_port(x),
           POLICIES[policy.index], agents.n);
    fflush(stdout);
    cli_stop_signals_wait("extender");
    orch_extender_stop(x);
    return CLI_OK;
}

/* ---- gen-trace, simulate --------------------------------------------------------------------- */

static int cmd_gen_trace(int argc, char **argv)
{
    long long jobs = 663, seed = 1;
    const char *out = NULL, *dishonest = "0", *sgx = "0.5", *rate = NULL, *median = "30",
               *exceed = "0.0336";
    const struct opt_def opts[] = {
        {"jobs", OPT_INT, &jobs, "N", "jobs (default 663, the paper's hour)", 0, 1, 100000000},
        {"sgx-fraction", OPT_STRING, &sgx, "P", "fraction of SGX jobs (default 0.5)", 0, 0, 0},
        {"dishonest", OPT_STRING, &dishonest, "F",
         "fraction of SGX jobs that request one page and use more (default 0)", 0, 0, 0},
        {"exceed", OPT_STRING, &exceed, "F",
         "fraction of jobs using more than requested (default 0.0336, as the trace)", 0, 0, 0},
        {"rate", OPT_STRING, &rate, "JOBS/S", "arrival rate (default 663 an hour)", 0, 0, 0},
        {"duration-median", OPT_STRING, &median, "S", "median job duration (default 30 s)", 0, 0,
         0},
        {"seed", OPT_INT, &seed, "N", "generator seed (default 1)", 0, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "the trace ('-': stdout)", OPT_REQUIRED, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "orch gen-trace",
        "",
        "Write a synthetic trace shaped like the Google cluster trace (2011).",
        opts,
        0,
        0,
        "Poisson arrivals, log-normal durations capped at 300 s, and memory drawn through the\n"
        "trace's published quantiles (p50 0.0053, p90 0.0652, p99 0.1699 of a machine), scaled\n"
        "by 93.5 MiB of EPC for SGX jobs and 32 GiB for the others (docs/orchestration.md).",
        "cloister orch gen-trace --jobs 663 --out trace.txt\n"
        "cloister orch gen-trace --jobs 2000 --sgx-fraction 1 --dishonest 0.1 --out liars.txt\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct orch_gen_options g;
    orch_gen_options_init(&g);
    g.jobs = (size_t)jobs;
    g.seed = (uint64_t)seed;
    if (parse_number("sgx-fraction", sgx, 0, 1, &g.sgx_fraction) != CLI_OK ||
        parse_number("dishonest", dishonest, 0, 1, &g.dishonest) != CLI_OK ||
        parse_number("exceed", exceed, 0, 1, &g.exceed) != CLI_OK ||
        (rate && parse_number("rate", rate, 1e-6, 1e6, &g.rate_per_s) != CLI_OK) ||
        parse_number("duration-median", median, 0.001, 300, &g.duration_median_s) != CLI_OK)
        return CLI_USAGE;
    struct orch_trace t;
    struct cloister_err err;
    if (orch_trace_generate(&g, &t, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rc = f && orch_trace_write(&t, f) == 0 ? CLI_OK : cli_fail("out of memory");
    if (f)
        fclose(f);
    orch_trace_free(&t);
    if (rc == CLI_OK)
        rc = cli_write_file(out, "the trace", buf, len, 0644);
    free(buf);
    return rc;
}

static int cmd_simulate(int argc, char **argv)
{
    const char *trace = NULL, *sgx = NULL, *epc = "93.5", *overcommit = "1.0", *cdf = NULL;
    long long nodes = 4, sgx_nodes = -1, seed = 1;
    struct opt_choice policy = {POLICIES, 0};
    bool json = false, no_enforce = false;
    const struct opt_def opts[] = {
        {"trace", OPT_STRING, &trace, "FILE", "the trace (orch gen-trace)", OPT_REQUIRED, 0, 0},
        {"nodes", OPT_INT, &nodes, "N", "nodes (default 4)", 0, 1, 100000},
        {"sgx-nodes", OPT_INT, &sgx_nodes, "M", "of which SGX (default half)", 0, 0, 100000},
        {"sgx-fraction", OPT_STRING, &sgx, "P", "relabel the jobs: this fraction SGX", 0, 0, 0},
        {"policy", OPT_CHOICE, &policy, "POLICY", "binpack (default), spread or random", 0, 0, 0},
        {"epc", OPT_STRING, &epc, "MIB", "EPC per SGX node (default 93.5)", 0, 0, 0},
        {"overcommit", OPT_STRING, &overcommit, "X", "allocatable x X may be committed", 0, 0, 0},
        {"no-enforce", OPT_FLAG, &no_enforce, NULL,
         "let lying pods run past their request (as without EPC groups)", 0, 0, 0},
        {"seed", OPT_INT, &seed, "N", "seed of the random policy and the relabelling", 0, 0, 0},
        {"waits", OPT_STRING, &cdf, "FILE", "write each job's wait and turnaround (s)", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "orch simulate",
        "",
        "Replay a trace on a simulated cluster under a policy.",
        opts,
        0,
        0,
        "Discrete events (arrivals, ends); pods placed by the paper's rule and the policy as\n"
        "soon as they fit, pending pods retried when a pod ends. Reports waiting time and\n"
        "turnaround percentiles, EPC utilisation, enclaves refused (lying pods, with EPC groups)\n"
        "and EPC over-commit events (lying pods, --no-enforce).",
        "cloister orch simulate --trace trace.txt --nodes 4 --policy spread --json\n"
        "cloister orch simulate --trace trace.txt --sgx-fraction 1 --policy binpack\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct orch_sim_options o;
    orch_sim_options_init(&o);
    o.nodes = (size_t)nodes;
    o.sgx_nodes = sgx_nodes < 0 ? (size_t)(nodes + 1) / 2 : (size_t)sgx_nodes;
    o.policy = (enum orch_policy)policy.index;
    o.enforce = !no_enforce;
    o.seed = (uint64_t)seed;
    double p = -1, mib;
    if ((sgx && parse_number("sgx-fraction", sgx, 0, 1, &p) != CLI_OK) ||
        parse_number("epc", epc, 0.0625, 1048576, &mib) != CLI_OK ||
        parse_number("overcommit", overcommit, 0.01, 100, &o.overcommit) != CLI_OK)
        return CLI_USAGE;
    o.epc = (uint64_t)(mib * 1048576.0);
    uint8_t *text;
    size_t len;
    if ((rc = cli_read_file(trace, "the trace", TRACE_MAX, &text, &len)) != CLI_OK)
        return rc;
    struct orch_trace t;
    struct orch_sim_result r;
    struct cloister_err err;
    rc = orch_trace_parse(&t, (const char *)text, len, 10000000, &err);
    free(text);
    if (rc != CLOISTER_OK)
        return cli_fail("%s: %s", trace, err.msg);
    if (p >= 0)
        orch_trace_relabel(&t, p, o.seed);
    double t0 = cli_now_s();
    rc = orch_simulate(&t, &o, &r, &err) == CLOISTER_OK ? CLI_OK : cli_fail("%s", err.msg);
    double took = cli_now_s() - t0;
    if (rc == CLI_OK && cdf) {
        char *buf = NULL;
        size_t blen = 0;
        FILE *f = open_memstream(&buf, &blen);
        for (size_t j = 0; f && j < t.count; j++)
            if (r.per_job[j].start_s >= 0)
                fprintf(f, "%d %.3f %.3f\n", t.jobs[j].pod.sgx,
                        r.per_job[j].start_s - t.jobs[j].submit_s,
                        r.per_job[j].end_s - t.jobs[j].submit_s);
        if (f)
            fclose(f);
        rc = cli_write_file(cdf, "the waits", buf, blen, 0644);
        free(buf);
    }
    if (rc == CLI_OK && json) {
        json_t *j = orch_sim_result_json(&r, &o);
        json_object_set_new(j, "events_per_s", json_real(took > 0 ? (double)r.events / took : 0));
        rc = cli_json_print(j);
    } else if (rc == CLI_OK) {
        printf("%s on %zu nodes (%zu SGX, %.1f MiB EPC): %zu jobs\n"
               "  waiting      p50 %.1f s, p99 %.1f s, max %.1f s\n"
               "  turnaround   p50 %.1f s, p99 %.1f s, total %.1f h; makespan %.0f s\n"
               "  EPC          %.1f %% used on average; %zu enclaves refused, %zu over-commit "
               "events\n",
               orch_policy_name(o.policy), o.nodes, o.sgx_nodes, mib, r.jobs, r.waiting_p50_s,
               r.waiting_p99_s, r.waiting_max_s, r.turnaround_p50_s, r.turnaround_p99_s,
               r.turnaround_total_s / 3600, r.makespan_s, 100 * r.epc_utilisation_mean,
               r.refused_enclaves, r.epc_overcommit_events);
        if (r.never_started)
            printf("  %zu jobs never fitted any node\n", r.never_started);
    }
    orch_sim_result_free(&r);
    orch_trace_free(&t);
    return rc;
}

static const struct cli_command orch_commands[] = {
    {"node", "run a node agent (pods in EPC groups, HTTP, Prometheus)", cmd_node},
    {"submit", "place a pod on a node by a policy and start it", cmd_submit},
    {"scheduler", "place submitted pods on the node agents over NATS", cli_orch_scheduler},
    {"ls", "list the pods of the node agents", cmd_ls},
    {"extender", "serve the Kubernetes scheduler extender verbs", cmd_extender},
    {"gen-trace", "write a synthetic trace shaped like the Google trace (2011)", cmd_gen_trace},
    {"simulate", "replay a trace on a simulated cluster under a policy", cmd_simulate},
    {0}};

const struct cli_system cli_orch_system = {
    "orch", "SGX-aware orchestration: EPC-aware scheduling of enclaves on a cluster", orch_commands,
    cli_orch_demo};
