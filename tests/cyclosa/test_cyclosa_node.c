/* test_cyclosa_node.c -- Cyclosa's nodes on loopback: NODES nodes (threads of this process, each
 * with its own sim enclave and real sockets on its own 127.0.0.x address) around a test-started
 * engine.
 *
 * - The views converge: every node's view is full and the graph of views is connected.
 * - Every node searches: the answer is exactly the engine's own answer for the real query; the
 *   real query reached the engine from another node's address; the engine's log holds the
 *   relays' addresses only; the fakes went to other relays than the real one; the load spreads.
 * - A node whose enclave has another MRENCLAVE is refused by the others, relays nothing, and
 *   cannot search.
 * - The search page, read raw and in headless Chromium (skipped, saying so, without chromium).
 * - A fifth of the nodes stopped mid-run: every survivor's search is still answered.
 * - The enclave itself, driven as a host would: a tampered, a replayed, a truncated and an
 *   oversized message refused, an answer opened only under its session; the peer sampling's
 *   select against a hand-worked case. */
#include <cloister/crypto.h>
#include <cloister/cyclosa_node.h>
#include <cloister/search_engine.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>
#include <cloister/xsearch.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/browser.h"
#include "cyclosa/common/cyclosa_msg.h"
#include "cyclosa_testbed.h"
#include "http/http.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(cyclosa);

#ifdef __SANITIZE_ADDRESS__
#define NODES 24
#else
#define NODES 50
#endif
#define KILLED (NODES / 5)
#define K 3
#define ORACLE CYC_ORACLE

static struct cyc_testbed tb;
static char sig[PATH_MAX + 16], badsig[PATH_MAX + 16];
static cyclosa_node *nodes[NODES], *bad;

static void sign(const char *path, uint64_t heap)
{
    char image[PATH_MAX];
    uint8_t seed[TEE_SEED_LEN] = {7};
    struct cloister_err err;
    assert_int_equal(tee_image_path("cyclosa", image, sizeof image, NULL), CLOISTER_OK);
    if (tee_sign_file_sized(image, heap, 0, seed, path, &err) != CLOISTER_OK)
        fail_msg("sign: %s", err.msg);
}

static int start_node(int i, const char *signature, cyclosa_node **out)
{
    char listen[32];
    const char *seeds[1] = {i ? cyclosa_node_addr(nodes[(unsigned)rand() % (unsigned)i]) : NULL};
    const char *popular[] = {"weather", "news today", "cheap flights", "football scores"};
    snprintf(listen, sizeof listen, "127.0.0.%d:0", 10 + i);
    struct cyclosa_node_options o = {.listen = listen,
                                     .engine = tb.engine_ep,
                                     .seeds = seeds,
                                     .nseeds = i ? 1 : 0,
                                     .popular = popular,
                                     .npopular = 4,
                                     .backend = "sim",
                                     .enclave = &tee_enclave_cyclosa,
                                     .signature = signature,
                                     .api = i == 0 ? "127.0.0.1:0" : NULL,
                                     .table = 1000,
                                     .view = 8,
                                     .gossip_ms = 100,
                                     .blacklist_ms = 60000};
    struct cloister_err err;
    int rc = cyclosa_node_start(&o, out, &err);
    if (rc != CLOISTER_OK)
        print_message("node %d: %s\n", i, err.msg);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    cyc_testbed_start(&tb, "cyclosa", 4, 1000);
    snprintf(sig, sizeof sig, "%s/cyclosa.sig", tb.dir);
    snprintf(badsig, sizeof badsig, "%s/other.sig", tb.dir);
    sign(sig, (uint64_t)64 << 20);
    sign(badsig, (uint64_t)96 << 20); /* another heap size: another MRENCLAVE */
    srand(1);
    for (int i = 0; i < NODES; i++)
        assert_int_equal(start_node(i, sig, &nodes[i]), CLOISTER_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NODES; i++)
        cyclosa_node_stop(nodes[i]);
    cyclosa_node_stop(bad);
    cyc_testbed_stop(&tb);
    return 0;
}

static int index_of(const char *addr)
{
    for (int i = 0; i < NODES; i++)
        if (nodes[i] && strcmp(cyclosa_node_addr(nodes[i]), addr) == 0)
            return i;
    return -1;
}

/* Whether every live node's view is full and the views connect all live nodes. */
static bool converged(void)
{
    bool seen[NODES] = {false}, adj[NODES][NODES] = {{false}};
    int first = -1, live = 0;
    for (int i = 0; i < NODES; i++) {
        struct cyclosa_peer v[CYCLOSA_VIEW_MAX];
        if (!nodes[i])
            continue;
        live++;
        first = first < 0 ? i : first;
        size_t n = cyclosa_node_view(nodes[i], v, CYCLOSA_VIEW_MAX);
        if (n < 8 && live > 8)
            return false;
        for (size_t j = 0; j < n; j++) {
            int p = index_of(v[j].addr);
            if (p >= 0)
                adj[i][p] = adj[p][i] = true;
        }
    }
    int stack[NODES], top = 0, reached = 1;
    stack[top++] = first;
    seen[first] = true;
    while (top) {
        int u = stack[--top];
        for (int v = 0; v < NODES; v++)
            if (adj[u][v] && !seen[v] && nodes[v]) {
                seen[v] = true;
                stack[top++] = v;
                reached++;
            }
    }
    return reached == live;
}

static void wait_converged(void)
{
    for (int t = 0; t < 200 && !converged(); t++)
        usleep(20000);
    assert_true(converged());
}

/* Whether the engine logged q (canonical) from the IP of addr. */
static bool logged_from(const char *q, const char *addr)
{
    char canon[SEARCH_QUERY_MAX + 1], ip[16], line[8192];
    bool found = false;
    search_canonical(q, strlen(q), canon, sizeof canon);
    snprintf(ip, sizeof ip, "%.*s", (int)(strchr(addr, ':') - addr), addr);
    FILE *f = fopen(tb.qlog, "r");
    assert_non_null(f);
    while (!found && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        found = strcmp(json_string_value(json_object_get(j, "client")), ip) == 0 &&
                strcmp(json_string_value(json_object_get(j, "query")), canon) == 0;
        json_decref(j);
    }
    fclose(f);
    return found;
}

/* The first `count` live nodes search one query each; relayed_real[i]: real queries node i
 * relayed. */
static void search_some(int round, int count, unsigned *relayed_real)
{
    static char want[1 << 16], got[1 << 16];
    for (int i = 0; i < NODES && count > 0; i++) {
        if (!nodes[i])
            continue;
        const char *q = tb.log.q[(size_t)(round * NODES + i) * 37 % tb.log.n].text;
        struct cyclosa_result r;
        struct cloister_err err;
        count--;
        if (cyclosa_node_search(nodes[i], q, K, NULL, &r, &err) != CLOISTER_OK)
            fail_msg("node %d, '%s': %s", i, q, err.msg);
        cyc_engine_answer(&tb, q, want, sizeof want);
        cyc_urls_of(&r.hits, got, sizeof got);
        assert_string_equal(got, want);
        assert_int_equal(r.k, K);
        assert_string_not_equal(r.relay, cyclosa_node_addr(nodes[i]));
        for (unsigned f = 0; f < r.k; f++) {
            assert_string_not_equal(r.fakes[f], r.relay);
            assert_string_not_equal(r.fakes[f], cyclosa_node_addr(nodes[i]));
        }
        assert_true(logged_from(q, r.relay));
        int p = index_of(r.relay);
        assert_true(p >= 0);
        relayed_real[p]++;
        search_hits_free(&r.hits);
    }
}

/* The engine's log: every line but the test's own from a node's address; how many. */
static size_t check_engine_log(void)
{
    FILE *f = fopen(tb.qlog, "r");
    char line[8192];
    size_t n = 0;
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *client = json_string_value(json_object_get(j, "client"));
        unsigned a, b, c, d;
        assert_int_equal(sscanf(client, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
        assert_true(a == 127 && b == 0 && c == 0 && (d == 2 || (d >= 10 && d < 10 + NODES)));
        n += d != 2;
        json_decref(j);
    }
    fclose(f);
    return n;
}

static void test_network(void **state)
{
    (void)state;
    unsigned real[NODES] = {0};
    wait_converged();
    search_some(0, NODES, real);
    size_t lines = check_engine_log();
    assert_true(lines >= (size_t)NODES * (K + 1)); /* every fake reached the engine too */
    unsigned used = 0, most = 0;
    for (int i = 0; i < NODES; i++) {
        used += real[i] > 0;
        most = real[i] > most ? real[i] : most;
    }
    /* NODES real queries over NODES relays drawn at random: well spread */
    assert_true(used >= NODES / 3);
    assert_true(most <= 8);
    struct cyclosa_node_stats st;
    uint64_t relayed = 0;
    for (int i = 0; i < NODES; i++) {
        cyclosa_node_stats(nodes[i], &st);
        relayed += st.relayed;
    }
    assert_int_equal(relayed, lines);
}

/* The user's API on node 0: a search in JSON, a malformed request refused. */
static void test_api(void **state)
{
    (void)state;
    char ep[32], *reply = NULL, want[1 << 14], got[1 << 14] = "";
    unsigned status;
    struct cloister_err err;
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)cyclosa_node_api_port(nodes[0]));
    const char *q = tb.log.q[tb.log.n / 2].text;
    json_t *body = json_pack("{s:s,s:i}", "q", q, "k", 2);
    char *b = json_dumps(body, JSON_COMPACT);
    assert_int_equal(
        http_call(ep, "POST", "/v1/search", NULL, b, strlen(b), 1 << 22, &status, &reply, &err),
        CLOISTER_OK);
    assert_int_equal(status, 200);
    json_t *j = json_loads(reply, 0, NULL), *hits = json_object_get(j, "hits");
    assert_int_equal(json_integer_value(json_object_get(j, "k")), 2);
    for (size_t i = 0; i < json_array_size(hits); i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s ",
                 json_string_value(json_object_get(json_array_get(hits, i), "url")));
    cyc_engine_answer(&tb, q, want, sizeof want);
    assert_string_equal(got, want);
    json_decref(j);
    json_decref(body);
    free(b);
    free(reply);
    assert_int_equal(
        http_call(ep, "POST", "/v1/search", NULL, "{\"k\":1}", 7, 1 << 16, &status, &reply, &err),
        CLOISTER_OK);
    assert_int_equal(status, 400);
    free(reply);
}

static unsigned api_get(const char *path, char **reply)
{
    char ep[32];
    unsigned status = 0;
    struct cloister_err err;
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)cyclosa_node_api_port(nodes[0]));
    assert_int_equal(http_call(ep, "GET", path, NULL, NULL, 0, 1 << 22, &status, reply, &err),
                     CLOISTER_OK);
    return status;
}

/* The search page on node 0 (search/common/page.c, X-Search's broker's too): the form's GET
 * renders the engine's own answer for the real query and the k it got, what the user typed comes
 * back escaped, and headless Chromium shows the same results. */
static void test_page(void **state)
{
    (void)state;
    const char *q = tb.log.q[tb.log.n / 3].text;
    char canon[SEARCH_QUERY_MAX + 1], path[4 * SEARCH_QUERY_MAX], want[1 << 14], count[64], *reply;
    size_t hits = 0;
    assert_int_equal(api_get("/", &reply), 200);
    assert_non_null(strstr(reply, "<form method=\"get\" action=\"/\">"));
    free(reply);
    assert_true(search_canonical(q, strlen(q), canon, sizeof canon) > 0);
    http_url_encode(canon, path + snprintf(path, sizeof path, "/?k=1&q="));
    cyc_engine_answer(&tb, q, want, sizeof want);
    for (const char *w = want; *w; w++)
        hits += *w == ' ';
    snprintf(count, sizeof count, "<p id=\"count\">%zu results</p>", hits);
    assert_int_equal(api_get(path, &reply), 200);
    assert_non_null(strstr(reply, "k = 1 fake queries sent"));
    assert_non_null(strstr(reply, count));
    char first[1 << 12]; /* the first of the engine's urls */
    snprintf(first, sizeof first, "%.*s", (int)strcspn(want, " "), want);
    assert_non_null(strstr(reply, first));
    free(reply);
    assert_int_equal(api_get("/?k=99&q=%3Cb%3E", &reply), 400);
    assert_non_null(strstr(reply, "&lt;b&gt;"));
    assert_null(strstr(reply, "<b>"));
    free(reply);

    char url[5 * SEARCH_QUERY_MAX];
    uint8_t *dom;
    size_t len;
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)cyclosa_node_api_port(nodes[0]),
             path);
    int rc = browser_dump_dom(url, tb.dir, &dom, &len);
    if (rc == 1) {
        fprintf(stderr, "skipped: the headless browser check needs Debian's chromium\n");
        skip();
    }
    assert_int_equal(rc, 0);
    assert_non_null(memmem(dom, len, count, strlen(count)));
    assert_non_null(memmem(dom, len, "k = 1 fake queries sent", 23));
    if (hits)
        assert_non_null(memmem(dom, len, "<li class=\"hit\">", 16));
    free(dom);
}

static void test_wrong_mrenclave(void **state)
{
    (void)state;
    assert_int_equal(start_node(NODES, badsig, &bad), CLOISTER_OK);
    uint8_t a[32], b[32];
    cyclosa_node_mrenclave(nodes[0], a);
    cyclosa_node_mrenclave(bad, b);
    assert_memory_not_equal(a, b, 32);
    /* it gossips its way into views; searches that draw it try to attest it and refuse it */
    usleep(200000);
    unsigned real[NODES] = {0};
    search_some(1, NODES / 5, real);
    struct cyclosa_result r;
    struct cloister_err err;
    assert_int_not_equal(cyclosa_node_search(bad, "weather paris", 1, NULL, &r, &err), CLOISTER_OK);
    struct cyclosa_node_stats st;
    cyclosa_node_stats(bad, &st);
    assert_int_equal(st.relayed, 0);
    assert_true(st.attest_fails > 0);
    uint64_t refused = 0;
    for (int i = 0; i < NODES; i++) {
        cyclosa_node_stats(nodes[i], &st);
        refused += st.attest_fails;
    }
    assert_true(refused > 0);
}

static void test_kill(void **state)
{
    (void)state;
    unsigned real[NODES] = {0};
    for (int i = 0; i < KILLED; i++) { /* a fifth, spread over the network */
        cyclosa_node_stop(nodes[i * 5 + 2]);
        nodes[i * 5 + 2] = NULL;
    }
    search_some(2, NODES, real);
    for (int i = 0; i < NODES; i++)
        if (!nodes[i])
            assert_int_equal(real[i], 0);
}

/* ---- the enclave driven directly, as a host would ---- */

static tee_enclave *raw_enclave(void)
{
    char image[PATH_MAX];
    struct tee_options t;
    struct cloister_err err;
    tee_enclave *e;
    uint8_t *ca = NULL, *out = NULL;
    size_t calen = 0, outlen = 0;
    tee_options_init(&t);
    t.backend = TEE_BACKEND_SIM;
    assert_int_equal(tee_image_path("cyclosa", image, sizeof image, NULL), CLOISTER_OK);
    t.image = image;
    t.signature = sig;
    t.enclave = &tee_enclave_cyclosa;
    t.max_message = 1 << 20;
    if (tee_create(&t, &e, &err) != CLOISTER_OK)
        fail_msg("enclave: %s", err.msg);
    tee_platform *p = tee_platform_open(NULL, &err);
    assert_non_null(p);
    assert_int_equal(file_read_all(tee_platform_ca_path(p), 1 << 20, &ca, &calen), 0);
    tee_platform_free(p);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, 16);
    wire_put_bytes(&w, ca, calen);
    wire_put_varint(&w, 1);
    wire_put_str(&w, "popular query");
    wire_put_bytes(&w, NULL, 0); /* no engine CA: plain HTTP */
    wire_put_str(&w, "127.0.0.1");
    assert_int_equal(tee_ecall(e, CYCLOSA_ECALL_INIT, w.buf, w.len, &out, &outlen, &err),
                     CLOISTER_OK);
    wire_writer_free(&w);
    free(out);
    free(ca);
    return e;
}

static int call(tee_enclave *e, uint32_t n, struct wire_writer *w, uint8_t **out, size_t *len)
{
    struct cloister_err err;
    int rc = tee_ecall(e, n, w->buf, w->len, out, len, &err);
    wire_writer_free(w);
    return rc;
}

static void test_messages(void **state)
{
    (void)state;
    tee_enclave *a = raw_enclave(), *b = raw_enclave();
    struct wire_writer w;
    struct wire_reader r;
    uint8_t *hello, *reply, *fin, *q, *opened, *ans;
    size_t hlen, rlen, flen, qlen, olen, alen, len;
    /* the handshake: both ends get the same session id */
    wire_writer_init(&w);
    assert_int_equal(call(a, CYCLOSA_ECALL_HELLO, &w, &hello, &hlen), CLOISTER_OK);
    wire_writer_init(&w);
    wire_put_raw(&w, hello, hlen);
    assert_int_equal(call(b, CYCLOSA_ECALL_ACCEPT, &w, &reply, &rlen), CLOISTER_OK);
    wire_writer_init(&w);
    wire_put_raw(&w, hello, hlen);
    wire_put_raw(&w, reply + 8, rlen - 8);
    assert_int_equal(call(a, CYCLOSA_ECALL_FINISH, &w, &fin, &flen), CLOISTER_OK);
    assert_int_equal(flen, 8);
    assert_memory_equal(fin, reply, 8);
    wire_reader_init(&r, fin, flen);
    uint64_t sid = wire_get_u64(&r);
    /* a second FINISH of the same hello: no handshake under way */
    wire_writer_init(&w);
    wire_put_raw(&w, hello, hlen);
    wire_put_raw(&w, reply + 8, rlen - 8);
    assert_int_equal(call(a, CYCLOSA_ECALL_FINISH, &w, &opened, &olen), CLOISTER_E_STATE);
    /* one query, k = 0, through b */
    wire_writer_init(&w);
    wire_put_str(&w, "Flu Symptoms!");
    wire_put_u8(&w, 0);
    wire_put_varint(&w, 1);
    wire_put_u64(&w, sid);
    assert_int_equal(call(a, CYCLOSA_ECALL_QUERY, &w, &q, &qlen), CLOISTER_OK);
    wire_reader_init(&r, q, qlen);
    assert_int_equal(wire_get_u8(&r), 0);
    assert_int_equal(wire_get_varint(&r), 1);
    assert_true(wire_get_u64(&r) == sid);
    const uint8_t *id = wire_get_raw(&r, CYCLOSA_ID_LEN);
    const uint8_t *frame = wire_get_bytes(&r, CYCLOSA_FRAME, &len);
    assert_int_equal(wire_reader_finish(&r), 0);
    assert_int_equal(len, CYCLOSA_FRAME);
    uint8_t copy[CYCLOSA_FRAME + 1];
    memcpy(copy, frame, len);
    for (int i = 0; i < 4; i++) { /* tampered (ciphertext, tag, id), truncated, oversized */
        static const size_t flip[] = {30, CYCLOSA_FRAME - 1, 3};
        wire_writer_init(&w);
        if (i < 3)
            copy[flip[i]] ^= 1;
        wire_put_bytes(&w, copy, i == 3 ? len - 1 : len);
        int rc = call(b, CYCLOSA_ECALL_RELAY, &w, &opened, &olen);
        assert_int_equal(rc, i == 0 || i == 1 ? CLOISTER_E_DENIED
                             : i == 2         ? CLOISTER_E_STATE
                                              : CLOISTER_E_INVALID);
        if (i < 3)
            copy[flip[i]] ^= 1;
    }
    wire_writer_init(&w);
    copy[len] = 0;
    wire_put_bytes(&w, copy, len + 1);
    assert_int_equal(call(b, CYCLOSA_ECALL_RELAY, &w, &opened, &olen), CLOISTER_E_TOO_BIG);
    wire_writer_init(&w);
    wire_put_bytes(&w, frame, len);
    assert_int_equal(call(b, CYCLOSA_ECALL_RELAY, &w, &opened, &olen), CLOISTER_OK);
    wire_reader_init(&r, opened, olen);
    assert_true(wire_get_u64(&r) == sid);
    assert_memory_equal(wire_get_raw(&r, CYCLOSA_ID_LEN), id, CYCLOSA_ID_LEN);
    char text[64];
    assert_int_equal(wire_get_str(&r, text, sizeof text), 0);
    assert_string_equal(text, "flu symptoms"); /* canonical */
    free(opened);
    wire_writer_init(&w); /* replayed */
    wire_put_bytes(&w, frame, len);
    assert_int_equal(call(b, CYCLOSA_ECALL_RELAY, &w, &opened, &olen), CLOISTER_E_DENIED);
    /* the answer opens at a only, and says which message it answers */
    struct search_hits none = {0};
    uint8_t *hits;
    size_t hitslen;
    assert_int_equal(xsearch_hits_encode(&none, &hits, &hitslen), CLOISTER_OK);
    wire_writer_init(&w);
    wire_put_u64(&w, sid);
    wire_put_raw(&w, id, CYCLOSA_ID_LEN);
    wire_put_bytes(&w, hits, hitslen);
    assert_int_equal(call(b, CYCLOSA_ECALL_ANSWER, &w, &ans, &alen), CLOISTER_OK);
    wire_reader_init(&r, ans, alen);
    const uint8_t *af = wire_get_bytes(&r, CYCLOSA_ANSWER_FRAME, &len);
    assert_int_equal(len, CYCLOSA_ANSWER_FRAME);
    for (int at = 0; at < 2; at++) {
        wire_writer_init(&w);
        wire_put_u64(&w, sid);
        wire_put_bytes(&w, af, len);
        int rc = call(at ? a : b, CYCLOSA_ECALL_OPEN, &w, &opened, &olen);
        assert_int_equal(rc, at ? CLOISTER_OK : CLOISTER_E_DENIED);
    }
    assert_memory_equal(opened, id, CYCLOSA_ID_LEN);
    free(opened);
    free(hits);
    free(ans);
    free(q);
    free(hello);
    free(reply);
    free(fin);
    tee_destroy(a);
    tee_destroy(b);
}

/* Jelasity's select on a hand-worked case: c = 4, H = 1, S = 1. */
static uint64_t zero(void *arg)
{
    (void)arg;
    return 0;
}

static void test_select(void **state)
{
    (void)state;
    struct cyclosa_view v;
    cyclosa_view_init(&v, 4, 1, 1);
    const char *mine[] = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"};
    for (int i = 0; i < 4; i++) {
        cyclosa_view_add(&v, mine[i]);
        v.v[i].age = (unsigned)i * 2; /* 0, 2, 4, 6 */
    }
    assert_string_equal(cyclosa_view_oldest(&v), "127.0.0.1:4");
    /* received: self (left out), :2 younger (its age kept: 1), :5 and :6 new */
    struct cyclosa_peer in[4] = {{"127.0.0.1:9", 0},
                                 {"127.0.0.1:2", 1},
                                 {"127.0.0.1:5", 3},
                                 {"127.0.0.1:6", 5}};
    cyclosa_view_select(&v, "127.0.0.1:9", in, 4, zero, NULL);
    /* 6 entries: the healer drops the oldest (:4, age 6), the swapper the head (:1): c = 4 */
    assert_int_equal(v.n, 4);
    const char *left[] = {"127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:5", "127.0.0.1:6"};
    const unsigned ages[] = {1, 4, 3, 5};
    for (int i = 0; i < 4; i++) {
        bool found = false;
        for (size_t j = 0; j < v.n; j++)
            found |= strcmp(v.v[j].addr, left[i]) == 0 && v.v[j].age == ages[i];
        assert_true(found);
    }
    struct cyclosa_peer out[CYCLOSA_VIEW_MAX];
    size_t n;
    uint8_t *buf;
    size_t len;
    assert_int_equal(cyclosa_view_buffer(&v, "127.0.0.1:9", zero, NULL, &buf, &len), CLOISTER_OK);
    assert_int_equal(cyclosa_view_decode(buf, len, out, &n, NULL), CLOISTER_OK);
    assert_int_equal(n, 2); /* self and c / 2 - 1 = 1 entry */
    assert_string_equal(out[0].addr, "127.0.0.1:9");
    buf[2] = 'x'; /* not an address */
    assert_int_not_equal(cyclosa_view_decode(buf, len, out, &n, NULL), CLOISTER_OK);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select),  cmocka_unit_test(test_messages),
        cmocka_unit_test(test_network), cmocka_unit_test(test_api),
        cmocka_unit_test(test_page),    cmocka_unit_test(test_wrong_mrenclave),
        cmocka_unit_test(test_kill),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
