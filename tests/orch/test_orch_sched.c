/* test_orch_sched.c -- the orchestration's pure parts: pod specs and quantities (good and
 * malformed), the admission rule and each policy's choice, the trace generator's published
 * quantiles and its text format, the simulator against a brute-force replay of its own schedule
 * (over-commit, waiting times, refusals), and the extender's JSON on requests of the documented
 * shape. */
#include <cloister/orch.h>

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MIB ((uint64_t)1 << 20)

static void test_quantities(void **s)
{
    (void)s;
    uint64_t b;
    struct cloister_err err;
    assert_int_equal(orch_quantity_parse("64Mi", &b, &err), 0);
    assert_int_equal(b, 64 * MIB);
    assert_int_equal(orch_quantity_parse("1.5Gi", &b, &err), 0);
    assert_int_equal(b, 1536 * MIB);
    assert_int_equal(orch_quantity_parse("100M", &b, &err), 0);
    assert_int_equal(b, 100000000);
    assert_int_equal(orch_quantity_parse("4096", &b, &err), 0);
    assert_int_equal(b, 4096);
    const char *bad[] = {"", "Mi", "-1Mi", "12Xi", "1e400", "nan", "12 Mi", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(orch_quantity_parse(bad[i], &b, &err), CLOISTER_E_INVALID);
}

static void test_pod_spec(void **s)
{
    (void)s;
    struct orch_pod p;
    struct cloister_err err;
    const char *ok = "{\"name\":\"web-1\",\"sgx\":true,\"epc\":\"8Mi\",\"memory\":\"64Mi\","
                     "\"duration_s\":30,\"use_epc\":\"12Mi\"}";
    assert_int_equal(orch_pod_parse(&p, ok, strlen(ok), &err), 0);
    assert_string_equal(p.name, "web-1");
    assert_true(p.sgx);
    assert_int_equal(p.epc_request, 8 * MIB);
    assert_int_equal(p.epc_use, 12 * MIB);
    assert_int_equal(p.mem_use, 64 * MIB);
    char *text = orch_pod_format(&p);
    struct orch_pod q;
    assert_int_equal(orch_pod_parse(&q, text, strlen(text), &err), 0);
    free(text);
    assert_memory_equal(&p, &q, sizeof p);

    static const struct {
        const char *json, *says;
    } bad[] = {
        {"[]", "JSON object"},
        {"{\"sgx\":true,\"epc\":\"1Mi\"}", "'name'"},
        {"{\"name\":\"a/b\"}", "'name'"},
        {"{\"name\":\"a\",\"sgx\":true}", "needs 'epc'"},
        {"{\"name\":\"a\",\"sgx\":\"yes\",\"epc\":\"1Mi\"}", "'sgx'"},
        {"{\"name\":\"a\",\"memroy\":\"1Mi\"}", "unknown field 'memroy'"},
        {"{\"name\":\"a\",\"memory\":\"lots\"}", "'memory'"},
        {"{\"name\":\"a\",\"memory\":[1]}", "'memory'"},
        {"{\"name\":\"a\",\"duration_s\":-3}", "'duration_s'"},
        {"{\"name\":\"a\",\"epc\":\"1Mi\"}", "standard pod"},
        {"{\"name\":\"a\",\"name\":\"b\"}", "not JSON"},
        {"{\"name\":", "not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(orch_pod_parse(&p, bad[i].json, strlen(bad[i].json), &err),
                         CLOISTER_E_INVALID);
        if (!strstr(err.msg, bad[i].says))
            fail_msg("%s: '%s' does not say '%s'", bad[i].json, err.msg, bad[i].says);
    }
}

static struct orch_node node(const char *name, bool sgx, uint64_t epc_req, uint64_t epc_meas,
                             uint64_t mem_req)
{
    struct orch_node n = {.sgx = sgx,
                          .epc_alloc = sgx ? 100 * MIB : 0,
                          .mem_alloc = 1000 * MIB,
                          .epc_requested = epc_req,
                          .epc_measured = epc_meas,
                          .mem_requested = mem_req};
    snprintf(n.name, sizeof n.name, "%s", name);
    return n;
}

static void test_rule_and_policies(void **s)
{
    (void)s;
    struct orch_node nodes[] = {
        node("std", false, 0, 0, 100 * MIB), node("sgx-full", true, 90 * MIB, 10 * MIB, 0),
        node("sgx-liar", true, 10 * MIB, 95 * MIB, 0), node("sgx-half", true, 50 * MIB, 0, 0),
        node("sgx-empty", true, 0, 0, 0)};
    struct orch_pod sgx = {.name = "p", .sgx = true, .epc_request = 20 * MIB};
    struct orch_pod std = {.name = "q", .mem_request = 10 * MIB};
    /* max(measured, requested) + request <= allocatable: both the declared and the measured. */
    assert_false(orch_fits(&nodes[0], &sgx, 1.0));
    assert_false(orch_fits(&nodes[1], &sgx, 1.0));
    assert_false(orch_fits(&nodes[2], &sgx, 1.0));
    assert_true(orch_fits(&nodes[3], &sgx, 1.0));
    assert_true(orch_fits(&nodes[1], &sgx, 1.5));
    uint64_t rng = 1;
    char why[200];
    assert_int_equal(orch_pick(ORCH_BINPACK, nodes, 5, &sgx, 1.0, &rng, why, sizeof why), 3);
    assert_non_null(strstr(why, "sgx-half"));
    assert_int_equal(orch_pick(ORCH_SPREAD, nodes, 5, &sgx, 1.0, &rng, NULL, 0), 4);
    /* binpack keeps standard pods on the standard node; spread may not. */
    assert_int_equal(orch_pick(ORCH_BINPACK, nodes, 5, &std, 1.0, &rng, NULL, 0), 0);
    struct orch_pod huge = {.name = "h", .sgx = true, .epc_request = 101 * MIB};
    assert_int_equal(orch_pick(ORCH_RANDOM, nodes, 5, &huge, 1.0, &rng, why, sizeof why), -1);
    assert_non_null(strstr(why, "waits"));
    /* random: only feasible nodes, each of them sometimes. */
    int seen[5] = {0};
    for (int i = 0; i < 400; i++)
        seen[orch_pick(ORCH_RANDOM, nodes, 5, &sgx, 1.0, &rng, NULL, 0)]++;
    assert_int_equal(seen[0] + seen[1] + seen[2], 0);
    assert_true(seen[3] > 100 && seen[4] > 100);
}

static void test_trace(void **s)
{
    (void)s;
    struct orch_gen_options o;
    orch_gen_options_init(&o);
    o.jobs = 20000;
    o.sgx_fraction = 0;
    struct orch_trace t;
    struct cloister_err err;
    assert_int_equal(orch_trace_generate(&o, &t, &err), 0);
    double *mem = malloc(t.count * sizeof *mem);
    for (size_t i = 0; i < t.count; i++) {
        mem[i] = (double)t.jobs[i].pod.mem_use / (double)ORCH_MEM_NODE;
        assert_true(t.jobs[i].pod.duration_s <= 300);
        assert_true(i == 0 || t.jobs[i].submit_s >= t.jobs[i - 1].submit_s);
    }
    size_t below50 = 0, below90 = 0;
    for (size_t i = 0; i < t.count; i++) {
        below50 += mem[i] <= 0.0053;
        below90 += mem[i] <= 0.0652;
    }
    assert_true(fabs((double)below50 / (double)t.count - 0.5) < 0.02);
    assert_true(fabs((double)below90 / (double)t.count - 0.9) < 0.02);
    free(mem);
    /* Round trip through the text format. */
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(orch_trace_write(&t, f), 0);
    fclose(f);
    struct orch_trace back;
    assert_int_equal(orch_trace_parse(&back, buf, len, 1000000, &err), 0);
    assert_int_equal(back.count, t.count);
    for (size_t i = 0; i < t.count; i++)
        assert_int_equal(back.jobs[i].pod.mem_use, t.jobs[i].pod.mem_use);
    free(buf);
    orch_trace_free(&back);
    orch_trace_free(&t);
    const char *bad[] = {"1 2 3 4 5 6 7\n", "1 2 0 5 5 0 0\n",   "2 1 0 0 0 1 1\n1 1 0 0 0 1 1\n",
                         "1 2 1 4 5 6\n",   "1 2 1 4 5 6 7 8\n", "x\n",
                         "1 -2 1 4 5 6 7\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(orch_trace_parse(&back, bad[i], strlen(bad[i]), 10, &err),
                         CLOISTER_E_INVALID);
        assert_non_null(strstr(err.msg, "trace line"));
    }
}

/* Replays the schedule the simulator recorded and recounts what it reports. */
static void recount(const struct orch_trace *t, const struct orch_sim_options *o,
                    const struct orch_sim_result *r, bool honest)
{
    size_t overcommits = 0, refused = 0;
    double *w = malloc(t->count * sizeof *w);
    size_t n = 0;
    for (size_t k = 0; k < t->count; k++) {
        const struct orch_sim_job *x = &r->per_job[k];
        assert_true(x->start_s >= t->jobs[k].submit_s);
        w[n++] = x->start_s - t->jobs[k].submit_s;
        refused += x->refused;
        if (x->refused || !t->jobs[k].pod.sgx)
            continue;
        assert_true((size_t)x->node < o->sgx_nodes);
        uint64_t epc = 0;
        for (size_t j = 0; j < t->count; j++) {
            const struct orch_sim_job *y = &r->per_job[j];
            if (y->refused || y->node != x->node || y->seq > x->seq || y->end_s <= x->start_s)
                continue;
            epc += t->jobs[j].pod.epc_use;
        }
        overcommits += epc > o->epc;
    }
    assert_int_equal(overcommits, r->epc_overcommit_events);
    assert_int_equal(refused, r->refused_enclaves);
    if (honest)
        assert_int_equal(overcommits, 0);
    for (size_t i = 1; i < n; i++) /* insertion sort: small traces */
        for (size_t j = i; j > 0 && w[j - 1] > w[j]; j--) {
            double tmp = w[j];
            w[j] = w[j - 1];
            w[j - 1] = tmp;
        }
    assert_true(n > 0);
    size_t k50 = (size_t)ceil(0.5 * (double)n);
    assert_true(k50 >= 1 && fabs(w[k50 - 1] - r->waiting_p50_s) < 1e-9);
    free(w);
}

/* The simulator's tree-based decisions against orch_pick on every node (o->generic). */
static void same_schedule(const struct orch_trace *t, const struct orch_sim_options *o,
                          const struct orch_sim_result *r)
{
    struct orch_sim_options g = *o;
    g.generic = true;
    struct orch_sim_result ref;
    struct cloister_err err;
    assert_int_equal(orch_simulate(t, &g, &ref, &err), 0);
    for (size_t k = 0; k < t->count; k++) {
        assert_int_equal(r->per_job[k].node, ref.per_job[k].node);
        assert_true(r->per_job[k].start_s == ref.per_job[k].start_s);
        assert_int_equal(r->per_job[k].refused, ref.per_job[k].refused);
    }
    orch_sim_result_free(&ref);
}

static void simulate(double sgx, double dishonest, bool enforce, enum orch_policy policy)
{
    struct orch_gen_options g;
    orch_gen_options_init(&g);
    g.jobs = 400;
    g.sgx_fraction = sgx;
    g.dishonest = dishonest;
    g.rate_per_s = 0.5;
    g.seed = 7;
    g.exceed = dishonest > 0 ? 0.0336 : 0; /* honest traces: every pod within its request */
    struct orch_trace t;
    struct cloister_err err;
    assert_int_equal(orch_trace_generate(&g, &t, &err), 0);
    struct orch_sim_options o;
    orch_sim_options_init(&o);
    o.nodes = 3;
    o.sgx_nodes = 2;
    o.epc = 48 * MIB; /* tight, but the largest draw (0.5 x 93.5 MiB) fits: pods wait */
    o.policy = policy;
    o.enforce = enforce;
    o.sample_s = 10;
    struct orch_sim_result r;
    assert_int_equal(orch_simulate(&t, &o, &r, &err), 0);
    assert_int_equal(r.jobs, 400);
    assert_int_equal(r.never_started, 0);
    assert_true(r.nsamples > 0);
    recount(&t, &o, &r, dishonest == 0 || enforce);
    if (policy != ORCH_RANDOM) /* the same schedule as orch_pick's over every node */
        same_schedule(&t, &o, &r);
    if (dishonest == 0 && !enforce)
        assert_int_equal(r.refused_enclaves, 0);
    if (dishonest > 0 && enforce)
        assert_true(r.refused_enclaves > 0);
    if (dishonest > 0 && !enforce)
        assert_int_equal(r.refused_enclaves, 0);
    orch_sim_result_free(&r);
    orch_trace_free(&t);
}

static void test_simulator_recount(void **s)
{
    (void)s;
    for (enum orch_policy p = ORCH_BINPACK; p <= ORCH_RANDOM; p++) {
        simulate(0.5, 0, true, p);
        simulate(1.0, 0, true, p);
        simulate(0.75, 0.2, true, p);
        simulate(0.75, 0.2, false, p);
        simulate(1.0, 0, false, p); /* honest pods, no groups: still no over-commit */
    }
}

/* The tree's decisions on a cluster of 37 nodes (13 SGX, not a power of two), loaded. */
static void test_simulator_tree(void **s)
{
    (void)s;
    struct orch_gen_options g;
    orch_gen_options_init(&g);
    g.jobs = 3000;
    g.sgx_fraction = 0.6;
    g.rate_per_s = 8;
    g.seed = 11;
    struct orch_trace t;
    struct cloister_err err;
    assert_int_equal(orch_trace_generate(&g, &t, &err), 0);
    for (enum orch_policy p = ORCH_BINPACK; p <= ORCH_SPREAD; p++) {
        struct orch_sim_options o;
        orch_sim_options_init(&o);
        o.nodes = 37;
        o.sgx_nodes = 13;
        o.epc = 32 * MIB;
        o.mem = 2048 * MIB;
        o.policy = p;
        struct orch_sim_result r;
        assert_int_equal(orch_simulate(&t, &o, &r, &err), 0);
        assert_true(r.waiting_p99_s > 0); /* loaded: pods waited */
        same_schedule(&t, &o, &r);
        orch_sim_result_free(&r);
    }
    orch_trace_free(&t);
}

static void test_extender(void **s)
{
    (void)s;
    struct orch_node nodes[] = {node("std", false, 0, 0, 0), node("sgx-a", true, 90 * MIB, 0, 0),
                                node("sgx-b", true, 10 * MIB, 0, 0)};
    const char
        *req = "{\"Pod\":{\"metadata\":{\"name\":\"enc\"},\"spec\":{\"containers\":[{\"resources\":"
               "{\"requests\":{\"sgx.intel.com/epc\":\"8Mi\",\"memory\":\"64Mi\"}}},{\"resources\":"
               "{\"requests\":{\"sgx.intel.com/epc\":\"4Mi\"}}}]}},"
               "\"NodeNames\":[\"std\",\"sgx-a\",\"sgx-b\",\"ghost\"]}";
    struct orch_ext_request r;
    struct cloister_err err;
    assert_int_equal(orch_ext_parse(&r, req, strlen(req), &err), 0);
    assert_true(r.pod.sgx);
    assert_int_equal(r.pod.epc_request, 12 * MIB);
    assert_int_equal(r.count, 4);
    char *f = orch_ext_filter(&r, nodes, 3, 1.0);
    assert_non_null(strstr(f, "\"NodeNames\":[\"sgx-b\"]"));
    assert_non_null(strstr(f, "\"std\":\"not an SGX node\""));
    assert_non_null(strstr(f, "\"sgx-a\":\"not enough EPC\""));
    assert_non_null(strstr(f, "\"ghost\":\"no measurements from this node\""));
    free(f);
    char *p = orch_ext_prioritize(&r, ORCH_SPREAD, nodes, 3, 1.0);
    assert_non_null(strstr(p, "{\"Host\":\"sgx-b\",\"Score\":9}"));
    assert_non_null(strstr(p, "{\"Host\":\"sgx-a\",\"Score\":0}"));
    free(p);
    orch_ext_request_free(&r);

    const char *items = "{\"Pod\":{\"spec\":{\"containers\":[]}},\"Nodes\":{\"items\":"
                        "[{\"metadata\":{\"name\":\"std\"}}]}}";
    assert_int_equal(orch_ext_parse(&r, items, strlen(items), &err), 0);
    f = orch_ext_filter(&r, nodes, 3, 1.0);
    assert_non_null(strstr(f, "\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"std\"}}]}"));
    free(f);
    orch_ext_request_free(&r);

    const char *bad[] = {"",
                         "[]",
                         "{\"Pod\":1,\"NodeNames\":[]}",
                         "{\"Pod\":{\"spec\":{}},\"NodeNames\":[]}",
                         "{\"Pod\":{\"spec\":{\"containers\":[]}}}",
                         "{\"Pod\":{\"spec\":{\"containers\":[]}},\"NodeNames\":[1]}",
                         "{\"Pod\":{\"spec\":{\"containers\":[{\"resources\":{\"requests\":"
                         "{\"memory\":\"lots\"}}}]}},\"NodeNames\":[]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(orch_ext_parse(&r, bad[i], strlen(bad[i]), &err), CLOISTER_E_INVALID);
        assert_non_null(strstr(err.msg, "extender request"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantities),        cmocka_unit_test(test_pod_spec),
        cmocka_unit_test(test_rule_and_policies), cmocka_unit_test(test_trace),
        cmocka_unit_test(test_simulator_recount), cmocka_unit_test(test_simulator_tree),
        cmocka_unit_test(test_extender),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
