/* test_orch_serve.c -- node agents and the extender on loopback, with real pod enclaves (proc
 * backend): pods start and end, a lying pod is refused at its enclave's growth while the node
 * and its other pods stay healthy, honest pods never over-commit a node, the node refuses what
 * does not fit, malformed specs and unauthenticated changes are refused (the token in clear,
 * a replayed, stale or re-targeted signed request, a bus submission), pods run the images their
 * node has (a program under its memory limit, a signed enclave image) and a missing image or a
 * path is refused, /groups and /metrics report live use, and the extender filters and scores
 * with the agents' measurements. */
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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"
#include "orch/host/orch_auth.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(pod);

#define TOKEN "0123456789abcdef0123456789abcdef"
#define NODES 3

static char image[4096], sig[4096], images[4096];
static orch_agent *agents[NODES];
static char endpoints[NODES][32];

static void put_file(const char *name, const void *data, size_t len, mode_t mode)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", images, name);
    assert_int_equal(file_write_atomic(path, data, len, mode), 0);
}

/* The node's images: two programs, and the pod enclave installed as "web", signed anew. */
static void install_images(const uint8_t seed[TEE_SEED_LEN])
{
    snprintf(images, sizeof images, "%s/images", getenv("CLOISTER_HOME"));
    assert_int_equal(file_mkdirs(images, 0700), 0);
    const char sleeper[] = "#!/bin/sh\nexec sleep 30\n", quitter[] = "#!/bin/sh\nexit 3\n";
    put_file("sleeper", sleeper, strlen(sleeper), 0700);
    put_file("quitter", quitter, strlen(quitter), 0700);
    put_file("not-a-program", quitter, strlen(quitter), 0600);
    uint8_t *data;
    size_t len;
    assert_int_equal(file_read_all(image, 64 << 20, &data, &len), 0);
    put_file("web.enclave", data, len, 0600);
    free(data);
    char web[4200], websig[4200];
    snprintf(web, sizeof web, "%s/web.enclave", images);
    snprintf(websig, sizeof websig, "%s/web.sig", images);
    struct cloister_err err;
    assert_int_equal(tee_sign_file_sized(web, 64 << 20, 0, seed, websig, &err), CLOISTER_OK);
}

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
    install_images(seed);
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
                                       .enclave = &tee_enclave_pod,
                                       .images = images};
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

/* One request: signed with token by orch_request, or with sign false sent as it is (token, when
 * given, in clear as a bearer). The status, and the reply in *reply. */
static unsigned request(int node, bool sign, const char *method, const char *path,
                        const char *token, const char *body, char **reply)
{
    unsigned status = 0;
    struct cloister_err err;
    char *r = NULL;
    int rc = sign ? orch_request(endpoints[node], method, path, token, body, &status, &r, &err)
                  : http_call(endpoints[node], method, path, token, body, body ? strlen(body) : 0,
                              1 << 20, &status, &r, &err);
    if (rc != CLOISTER_OK)
        fail_msg("%s", err.msg);
    if (reply)
        *reply = r;
    else
        free(r);
    return status;
}

static unsigned call(int node, const char *method, const char *path, const char *token,
                     const char *body, char **reply)
{
    return request(node, true, method, path, token, body, reply);
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

/* A request signed as orch_request signs it, for label, at time ts. */
static char *signed_body(const char *label, const char *text, int64_t ts)
{
    uint8_t key[ORCH_AUTH_KEY_LEN];
    char nonce[2 * ORCH_AUTH_NONCE_LEN + 1];
    assert_int_equal(orch_auth_key(key, TOKEN, NULL), 0);
    char *b = orch_auth_seal_text(key, label, text, ts, nonce);
    assert_non_null(b);
    return b;
}

static unsigned raw(int node, const char *method, const char *path, const char *token,
                    const char *body, char **reply)
{
    return request(node, false, method, path, token, body, reply);
}

static void test_signed_requests(void **s)
{
    (void)s;
    char *reply;
    const char *spec = "{\"name\":\"signed\",\"memory\":\"1Mi\",\"duration_s\":30}";
    /* The token in clear, as a bearer: refused (the agent takes signed requests only). */
    assert_int_equal(raw(2, "POST", "/pods", TOKEN, spec, &reply), 401);
    assert_non_null(strstr(reply, "request: refused"));
    free(reply);
    /* A signed request goes through once; the same bytes again are a replay. */
    char *ok = signed_body("cloister-orch-agent/1 POST /pods", spec, (int64_t)time(NULL));
    assert_int_equal(raw(2, "POST", "/pods", NULL, ok, NULL), 201);
    assert_int_equal(raw(2, "POST", "/pods", NULL, ok, &reply), 401);
    assert_non_null(strstr(reply, "replay"));
    free(reply);
    free(ok);
    /* Signed for another path, for the bus, or too old: refused. */
    char *other = signed_body("cloister-orch-agent/1 DELETE /pods/other", "", (int64_t)time(NULL));
    assert_int_equal(raw(2, "DELETE", "/pods/signed", NULL, other, &reply), 401);
    assert_non_null(strstr(reply, "bad mac"));
    free(reply);
    free(other);
    char *bus = signed_body(ORCH_AUTH_SUBMIT, spec, (int64_t)time(NULL));
    assert_int_equal(raw(2, "POST", "/pods", NULL, bus, NULL), 401);
    free(bus);
    char *old = signed_body("cloister-orch-agent/1 POST /pods", spec, (int64_t)time(NULL) - 600);
    assert_int_equal(raw(2, "POST", "/pods", NULL, old, &reply), 401);
    assert_non_null(strstr(reply, "s off"));
    free(reply);
    free(old);
    assert_int_equal(call(2, "DELETE", "/pods/signed", TOKEN, NULL, NULL), 200);
}

static pid_t pod_pid(const char *reply)
{
    const char *p = strstr(reply, "\"pid\":");
    assert_non_null(p);
    return (pid_t)atoi(p + 6);
}

static void test_images(void **s)
{
    (void)s;
    char *reply;
    /* A program: runs with the pod's name and its data limited to its request. */
    assert_int_equal(call(2, "POST", "/pods", TOKEN,
                          "{\"name\":\"img\",\"memory\":\"8Mi\",\"image\":\"sleeper\"}", &reply),
                     201);
    assert_non_null(strstr(reply, "\"image\":\"sleeper\""));
    pid_t pid = pod_pid(reply);
    free(reply);
    struct rlimit rl;
    assert_int_equal(prlimit(pid, RLIMIT_DATA, NULL, &rl), 0);
    assert_int_equal(rl.rlim_cur, (8u << 20) + (1u << 20));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    uint8_t *env;
    size_t len;
    for (int t = 0; t < 100; t++) { /* exec'd: sleep's own environment */
        assert_int_equal(file_read_all(path, 1 << 16, &env, &len), 0);
        bool named = memmem(env, len, "CLOISTER_POD=img", 17) != NULL;
        free(env);
        if (named)
            break;
        assert_true(t < 99);
        usleep(20 * 1000);
    }
    assert_true(node_state(2).mem_measured > 0);
    assert_int_equal(call(2, "DELETE", "/pods/img", TOKEN, NULL, NULL), 200);
    assert_int_equal(kill(pid, 0), -1);

    /* A program that exits: its pod fails. */
    assert_int_equal(
        call(2, "POST", "/pods", TOKEN, "{\"name\":\"quit\",\"image\":\"quitter\"}", NULL), 201);
    for (int t = 0; t < 100; t++) {
        assert_int_equal(call(2, "GET", "/pods", NULL, NULL, &reply), 200);
        bool failed = strstr(reply, "its process exited") != NULL;
        free(reply);
        if (failed)
            break;
        assert_true(t < 99);
        usleep(20 * 1000);
    }

    /* Images the node does not have, and names that are not names. */
    const char *missing[] = {"nope", "not-a-program"};
    for (int i = 0; i < 2; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "{\"name\":\"m%d\",\"image\":\"%s\"}", i, missing[i]);
        assert_int_equal(call(2, "POST", "/pods", TOKEN, spec, &reply), 200);
        assert_non_null(strstr(reply, "\"state\":\"failed\""));
        assert_non_null(strstr(reply, "has no image"));
        assert_null(strstr(reply, images)); /* the message names the image, not the path */
        free(reply);
    }
    assert_int_equal(
        call(2, "POST", "/pods", TOKEN, "{\"name\":\"t\",\"image\":\"../sleeper\"}", &reply), 400);
    assert_non_null(strstr(reply, "'image'"));
    free(reply);

    /* An enclave image: the pod's enclave is made from it, in the pod's group. */
    const char *web = "{\"name\":\"web-sgx\",\"sgx\":true,\"epc\":\"2Mi\",\"image\":\"web\"}";
    assert_int_equal(call(0, "POST", "/pods", TOKEN, web, &reply), 201);
    free(reply);
    assert_int_equal(call(0, "GET", "/groups/web-sgx", NULL, NULL, &reply), 200);
    assert_non_null(strstr(reply, "\"enclaves\":1"));
    free(reply);
    assert_int_equal(call(0, "DELETE", "/pods/web-sgx", TOKEN, NULL, NULL), 200);
}

static void test_no_images(void **s)
{
    (void)s;
    struct orch_agent_options o = {.name = "bare",
                                   .listen = "127.0.0.1:0",
                                   .token = TOKEN,
                                   .mem = 1 << 30};
    orch_agent *a;
    struct cloister_err err;
    assert_int_equal(orch_agent_start(&o, &a, &err), 0);
    char ep[32], *reply = NULL;
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)orch_agent_port(a));
    unsigned status = 0;
    assert_int_equal(orch_request(ep, "POST", "/pods", TOKEN,
                                  "{\"name\":\"x\",\"image\":\"sleeper\"}", &status, &reply, &err),
                     0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(reply, "node bare runs no images"));
    free(reply);
    orch_agent_stop(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pods_and_liars), cmocka_unit_test(test_standard_pods),
        cmocka_unit_test(test_refusals),       cmocka_unit_test(test_pods_end),
        cmocka_unit_test(test_extender),       cmocka_unit_test(test_signed_requests),
        cmocka_unit_test(test_images),         cmocka_unit_test(test_no_images),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
