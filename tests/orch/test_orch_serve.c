/* test_orch_serve.c -- node agents and the extender on loopback, with real pod enclaves (proc
 * backend): pods start and end, a lying pod is refused at its enclave's growth while the node
 * and its other pods stay healthy, honest pods never over-commit a node, the node refuses what
 * does not fit, malformed specs and unauthenticated changes are refused, /groups and /metrics
 * report live use, and the extender filters and scores with the agents' measurements. */
#include <cloister/crypto.h>
#include <cloister/orch_serve.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(pod);

#define TOKEN "0123456789abcdef0123456789abcdef"
#define NODES 3

static char image[4096], sig[4096];
static orch_agent *agents[NODES];
static char endpoints[NODES][32];

static int setup(void **state)
{
    (void)state;
    struct cloister_err err;
    assert_int_equal(tee_image_path("pod", image, sizeof image, &err), CLOISTER_OK);
    assert_int_equal(file_mkdirs(getenv("CLOISTER_HOME"), 0700), 0);
    snprintf(sig, sizeof sig, "%s/pod-serve.sig", getenv("CLOISTER_HOME"));
    uint8_t seed[TEE_SEED_LEN];
    assert_int_equal(crypto_random(seed, sizeof seed), 0);
    assert_int_equal(tee_sign_file_sized(image, 256 << 20, 0, seed, sig, &err), CLOISTER_OK);
    for (int i = 0; i < NODES; i++) {
        char name[24];
        snprintf(name, sizeof name, "node-%d", i);
        struct orch_agent_options o = {.name = name,
                                       .listen = "127.0.0.1:0",
                                       .token = TOKEN,
                                       .sgx = i < 2,
                                       .epc = 32 << 20,
                                       .mem = 1 << 30,
                                       .backend = TEE_BACKEND_PROC,
                                       .image = image,
                                       .signature = sig,
                                       .enclave = &tee_enclave_pod};
        if (orch_agent_start(&o, &agents[i], &err) != CLOISTER_OK)
            fail_msg("%s", err.msg);
        snprintf(endpoints[i], sizeof endpoints[i], "127.0.0.1:%u",
                 (unsigned)orch_agent_port(agents[i]));
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NODES; i++)
        orch_agent_stop(agents[i]);
    return 0;
}

static unsigned call(int node, const char *method, const char *path, const char *token,
                     const char *body, char **reply)
{
    unsigned status = 0;
    struct cloister_err err;
    char *r = NULL;
    if (orch_request(endpoints[node], method, path, token, body, &status, &r, &err) != CLOISTER_OK)
        fail_msg("%s", err.msg);
    if (reply)
        *reply = r;
    else
        free(r);
    return status;
}

static struct orch_node node_state(int i)
{
    char *reply;
    assert_int_equal(call(i, "GET", "/node", NULL, NULL, &reply), 200);
    struct orch_node n;
    struct cloister_err err;
    assert_int_equal(orch_node_from_json(&n, reply, strlen(reply), &err), 0);
    free(reply);
    return n;
}

static void test_pods_and_liars(void **s)
{
    (void)s;
    char *reply;
    const char *honest = "{\"name\":\"honest\",\"sgx\":true,\"epc\":\"8Mi\",\"duration_s\":30}";
    assert_int_equal(call(0, "POST", "/pods", TOKEN, honest, &reply), 201);
    assert_non_null(strstr(reply, "\"state\":\"running\""));
    free(reply);
    /* The liar requests one page and grows to 6 MiB: refused at the growth, node healthy. */
    const char *liar = "{\"name\":\"liar\",\"sgx\":true,\"epc\":4096,\"use_epc\":\"6Mi\","
                       "\"duration_s\":30}";
    assert_int_equal(call(0, "POST", "/pods", TOKEN, liar, &reply), 200);
    assert_non_null(strstr(reply, "\"state\":\"refused\""));
    assert_non_null(strstr(reply, "EPC group 'liar' refused"));
    free(reply);
    struct orch_node n = node_state(0);
    assert_true(n.epc_measured >= 8u << 20);
    assert_true(n.epc_measured <= n.epc_alloc);
    assert_int_equal(n.epc_requested, 8u << 20);

    assert_int_equal(call(0, "GET", "/groups/liar", NULL, NULL, &reply), 200);
    assert_non_null(strstr(reply, "\"refusals\":1"));
    assert_non_null(strstr(reply, "\"committed_pages\":0"));
    free(reply);
    assert_int_equal(call(0, "GET", "/groups/honest", NULL, NULL, &reply), 200);
    assert_non_null(strstr(reply, "\"resident_pages\""));
    free(reply);
    assert_int_equal(call(0, "GET", "/metrics", NULL, NULL, &reply), 200);
    assert_non_null(strstr(reply, "# TYPE cloister_epc_group_committed_pages gauge"));
    assert_non_null(strstr(reply, "cloister_epc_group_refusals_total{node=\"node-0\","
                                  "group=\"liar\"} 1"));
    assert_non_null(strstr(reply, "cloister_epc_enclave_faults_total{node=\"node-0\","
                                  "group=\"honest\"}"));
    free(reply);

    /* The node refuses what its rule refuses: 8 + 30 MiB > 32 MiB. */
    const char *big = "{\"name\":\"big\",\"sgx\":true,\"epc\":\"30Mi\"}";
    assert_int_equal(call(0, "POST", "/pods", TOKEN, big, &reply), 409);
    assert_non_null(strstr(reply, "does not fit"));
    free(reply);
    assert_int_equal(call(0, "DELETE", "/pods/honest", TOKEN, NULL, NULL), 200);
    assert_int_equal(node_state(0).epc_measured, 0);
    assert_int_equal(call(0, "POST", "/pods", TOKEN, big, NULL), 201);
    assert_int_equal(call(0, "DELETE", "/pods/big", TOKEN, NULL, NULL), 200);
}

/* A standard pod is a process (its pid shown, alive) whose allocation is measured; one that
 * allocates more than it requested is refused by its memory limit; stopping kills it. */
static void test_standard_pods(void **s)
{
    (void)s;
    char *reply;
    const char *web = "{\"name\":\"web\",\"memory\":\"64Mi\",\"duration_s\":30}";
    assert_int_equal(call(2, "POST", "/pods", TOKEN, web, &reply), 201);
    assert_non_null(strstr(reply, "\"state\":\"running\""));
    const char *at = strstr(reply, "\"pid\":");
    assert_non_null(at);
    pid_t pid = (pid_t)atoi(at + 6);
    free(reply);
    assert_true(pid > 0);
    assert_int_equal(kill(pid, 0), 0);
    struct orch_node n = node_state(2);
    assert_true(n.mem_measured >= 64u << 20 && n.mem_measured <= (64u << 20) + (2u << 20));
    assert_int_equal(n.mem_requested, 64u << 20);

    const char *liar = "{\"name\":\"hog\",\"memory\":\"8Mi\",\"use_memory\":\"200Mi\"}";
    assert_int_equal(call(2, "POST", "/pods", TOKEN, liar, &reply), 200);
    assert_non_null(strstr(reply, "\"state\":\"refused\""));
    assert_non_null(strstr(reply, "memory limit of pod hog refused"));
    free(reply);
    assert_int_equal(node_state(2).mem_requested, 64u << 20);

    assert_int_equal(call(2, "DELETE", "/pods/web", TOKEN, NULL, NULL), 200);
    assert_int_equal(kill(pid, 0), -1); /* killed and reaped */
    assert_int_equal(node_state(2).mem_measured, 0);
}

static void test_refusals(void **s)
{
    (void)s;
    char *reply;
    const char *ok = "{\"name\":\"x\",\"memory\":\"1Mi\"}";
    assert_int_equal(call(2, "POST", "/pods", NULL, ok, NULL), 401);
    assert_int_equal(call(2, "POST", "/pods", "wrong-token-wrong-token", ok, NULL), 401);
    assert_int_equal(call(2, "DELETE", "/pods/x", NULL, NULL, NULL), 401);
    assert_int_equal(call(2, "POST", "/pods", TOKEN, "{\"name\":1}", &reply), 400);
    assert_non_null(strstr(reply, "'name'"));
    free(reply);
    assert_int_equal(call(2, "POST", "/pods", TOKEN, "not json", NULL), 400);
    /* An SGX pod on a node without SGX does not fit. */
    assert_int_equal(
        call(2, "POST", "/pods", TOKEN, "{\"name\":\"s\",\"sgx\":true,\"epc\":\"1Mi\"}", NULL),
        409);
    assert_int_equal(call(2, "GET", "/nowhere", NULL, NULL, NULL), 404);
    assert_int_equal(call(2, "GET", "/groups/none", NULL, NULL, NULL), 404);
}

static void test_pods_end(void **s)
{
    (void)s;
    const char *quick = "{\"name\":\"quick\",\"sgx\":true,\"epc\":\"1Mi\",\"duration_s\":0.2}";
    assert_int_equal(call(1, "POST", "/pods", TOKEN, quick, NULL), 201);
    assert_true(node_state(1).epc_requested > 0);
    for (int i = 0; i < 50 && node_state(1).epc_requested; i++)
        usleep(50 * 1000);
    assert_int_equal(node_state(1).epc_requested, 0);
    char *reply;
    assert_int_equal(call(1, "GET", "/pods", NULL, NULL, &reply), 200);
    assert_non_null(strstr(reply, "\"state\":\"done\""));
    free(reply);
}

static void test_extender(void **s)
{
    (void)s;
    const char *eps[NODES] = {endpoints[0], endpoints[1], endpoints[2]};
    orch_extender *x;
    struct cloister_err err;
    assert_int_equal(orch_extender_start("127.0.0.1:0", eps, NODES, ORCH_SPREAD, 1.0, &x, &err), 0);
    char ep[32];
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)orch_extender_port(x));
    const char *args = "{\"Pod\":{\"metadata\":{\"name\":\"e\"},\"spec\":{\"containers\":[{"
                       "\"resources\":{\"requests\":{\"sgx.intel.com/epc\":\"4Mi\"}}}]}},"
                       "\"NodeNames\":[\"node-0\",\"node-1\",\"node-2\",\"node-9\"]}";
    unsigned status;
    char *reply;
    assert_int_equal(orch_request(ep, "POST", "/filter", NULL, args, &status, &reply, &err), 0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(reply, "\"NodeNames\":[\"node-0\",\"node-1\"]"));
    assert_non_null(strstr(reply, "\"node-2\":\"not an SGX node\""));
    assert_non_null(strstr(reply, "\"node-9\":\"no measurements from this node\""));
    free(reply);
    assert_int_equal(orch_request(ep, "POST", "/prioritize", NULL, args, &status, &reply, &err), 0);
    assert_non_null(strstr(reply, "{\"Host\":\"node-0\",\"Score\":10}"));
    free(reply);
    assert_int_equal(orch_request(ep, "POST", "/filter", NULL, "{}", &status, &reply, &err), 0);
    assert_int_equal(status, 400);
    assert_non_null(strstr(reply, "extender request"));
    free(reply);
    orch_extender_stop(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pods_and_liars), cmocka_unit_test(test_standard_pods),
        cmocka_unit_test(test_refusals),       cmocka_unit_test(test_pods_end),
        cmocka_unit_test(test_extender),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
