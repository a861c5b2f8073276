/* test_xsearch_proxy.c -- X-Search end to end on 127.0.0.1: a test-started engine over a
 * generated corpus, the proxy with its enclave in a separate process (proc), and the client.
 * Searches come back filtered (the match-aware filter's hits are the engine's own hits for the
 * query alone); the engine's log shows the real query OR-ed with past ones and the proxy's
 * address only; an OR-ed query the enclave has seen is answered from its cache (the engine
 * gets no request); an engine of another API shape works through a URL template and a JSON
 * mapping; tampered, replayed, oversized and over-k requests are refused, and so is an enclave
 * of another MRENCLAVE. The browser broker serves its page and JSON API (escaped), and the page
 * works in headless Chromium (skipped, saying so, where Debian's chromium is not installed). */
#include <cloister/search_engine.h>
#include <cloister/tee_enclave.h>
#include <cloister/xsearch.h>
#include <cloister/xsearch_client.h>
#include <cloister/xsearch_proxy.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/browser.h"
#include "http/http.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(xsearch);

static char dir[PATH_MAX], qlog[PATH_MAX + 16];
static struct search_log log_;
static search_engine *engine;
static xsearch_proxy *proxy;
static xsearch_client *client;
static char proxy_ep[64], engine_ep[64];

static int setup(void **state)
{
    (void)state;
    const char *home = getenv("CLOISTER_HOME");
    char corpus[PATH_MAX + 16], cmd[2 * PATH_MAX + 32];
    struct cloister_err err;
    snprintf(dir, sizeof dir, "%s/xsearch", home ? home : "/tmp/cloister-test");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(corpus, sizeof corpus, "%s/corpus.db", dir);
    snprintf(qlog, sizeof qlog, "%s/queries.jsonl", dir);
    struct search_gen_options g;
    search_gen_options_init(&g);
    g.users = 4;
    struct search_corpus_options c = {2000, 1};
    if (search_gen_log(&g, &log_, &err) != CLOISTER_OK ||
        search_corpus_build(&log_, &c, corpus, &err) != CLOISTER_OK ||
        search_engine_start(corpus, "127.0.0.1:0", qlog, &engine, &err) != CLOISTER_OK)
        fail_msg("engine: %s", err.msg);
    snprintf(engine_ep, sizeof engine_ep, "127.0.0.1:%u", (unsigned)search_engine_port(engine));
    struct xsearch_proxy_options o = {.engine = engine_ep,
                                      .listen = "127.0.0.1:0",
                                      .backend = "proc",
                                      .enclave = &tee_enclave_xsearch,
                                      .history = 1000,
                                      .k_max = 5};
    if (xsearch_proxy_start(&o, &proxy, &err) != CLOISTER_OK)
        fail_msg("proxy: %s", err.msg);
    snprintf(proxy_ep, sizeof proxy_ep, "127.0.0.1:%u", (unsigned)xsearch_proxy_port(proxy));
    uint8_t mre[32];
    xsearch_proxy_mrenclave(proxy, mre);
    struct xsearch_trust t = {proxy_ep, NULL, mre, true};
    if (xsearch_client_new(&t, &client, &err) != CLOISTER_OK)
        fail_msg("client: %s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xsearch_client_free(client);
    xsearch_proxy_stop(proxy);
    search_engine_stop(engine);
    search_log_free(&log_);
    return 0;
}

/* The engine's own top n for q alone, asked directly. */
static void engine_alone(const char *q, unsigned n, struct search_hits *h)
{
    char canon[SEARCH_QUERY_MAX + 1], path[2 * SEARCH_QUERY_MAX], *reply = NULL;
    unsigned status = 0;
    size_t len = search_canonical(q, strlen(q), canon, sizeof canon);
    for (size_t i = 0; i < len; i++)
        canon[i] = canon[i] == ' ' ? '+' : canon[i];
    snprintf(path, sizeof path, "/search?n=%u&q=%s", n, canon);
    assert_int_equal(
        http_call(engine_ep, "GET", path, NULL, NULL, 0, 1 << 22, &status, &reply, NULL), 0);
    assert_int_equal(status, 200);
    assert_int_equal(xsearch_engine_parse(reply, strlen(reply), h, NULL), CLOISTER_OK);
    free(reply);
}

static void test_search_filtered(void **state)
{
    (void)state;
    struct cloister_err err;
    size_t with_hits = 0;
    for (size_t i = 0; i < 12; i++) {
        const char *q = log_.q[log_.n - 1 - i * 37].text;
        struct search_hits h, alone;
        if (xsearch_client_search(client, q, 3, SEARCH_FILTER_MATCH, 5, &h, &err) != CLOISTER_OK)
            fail_msg("search '%s': %s", q, err.msg);
        engine_alone(q, 5, &alone);
        with_hits += h.n > 0;
        /* the match-aware filter kept exactly the query's own answer, in its order */
        assert_int_equal(h.n, alone.n);
        for (size_t j = 0; j < h.n; j++)
            assert_string_equal(h.v[j].url, alone.v[j].url);
        search_hits_free(&h);
        search_hits_free(&alone);
    }
    assert_true(with_hits > 0);
}

static size_t engine_log_lines(void)
{
    uint8_t *buf;
    size_t len, lines = 0;
    assert_int_equal(file_read_all(qlog, 1 << 24, &buf, &len), 0);
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    free(buf);
    return lines;
}

/* With k = 0 the OR-ed query is the query itself: the second time, the enclave's cache answers. */
static void test_cache(void **state)
{
    (void)state;
    struct cloister_err err;
    struct search_hits h1, h2;
    const char *q = log_.q[log_.n / 2].text;
    size_t before = engine_log_lines();
    assert_int_equal(xsearch_client_search(client, q, 0, SEARCH_FILTER_WORDS, 4, &h1, &err), 0);
    assert_int_equal(engine_log_lines(), before + 1);
    assert_int_equal(xsearch_client_search(client, q, 0, SEARCH_FILTER_WORDS, 4, &h2, &err), 0);
    assert_int_equal(engine_log_lines(), before + 1); /* no second engine request */
    assert_int_equal(h1.n, h2.n);
    for (size_t j = 0; j < h1.n; j++)
        assert_string_equal(h1.v[j].url, h2.v[j].url);
    search_hits_free(&h1);
    search_hits_free(&h2);
    assert_int_equal(xsearch_client_search(client, q, 0, SEARCH_FILTER_WORDS, 3, &h1, &err), 0);
    assert_int_equal(engine_log_lines(), before + 2); /* another n: another answer */
    search_hits_free(&h1);
}

/* Another API: GET /api/N/Q answering {"data": {"results": [{"link", "name",
 * "desc"}]}}, with the path it was asked recorded. */
static char api_path[4096];

static void api_handle(void *arg, const struct http_request *r, unsigned *status, char **body,
                       const char **type)
{
    (void)arg, (void)type;
    snprintf(api_path, sizeof api_path, "%s", r->url);
    *status = 200;
    *body = strdup("{\"data\": {\"results\": [{\"link\": \"http://t.example/r?url=http%3A%2F%2Fa."
                   "example%2F\", \"name\": \"alpha beta\", \"desc\": \"gamma\"}]}}");
}

static void test_engine_template(void **state)
{
    (void)state;
    struct http_server *api;
    struct cloister_err err;
    char tmpl[128], ep[64];
    assert_int_equal(http_server_start("127.0.0.1:0", NULL, 1024, api_handle, NULL, &api, &err), 0);
    snprintf(tmpl, sizeof tmpl, "http://127.0.0.1:%u/api/{n}/{q}?{each}",
             (unsigned)http_server_port(api));
    struct xsearch_proxy_options o = {
        .engine = tmpl,
        .engine_map = "{\"hits\": \"data.results\", \"url\": \"link\", \"title\": "
                      "\"name\", \"snippet\": \"desc\"}",
        .listen = "127.0.0.1:0",
        .backend = "sim",
        .enclave = &tee_enclave_xsearch,
        .history = 10,
        .threads = 1};
    xsearch_proxy *p;
    xsearch_client *c;
    struct search_hits h;
    uint8_t mre[32];
    if (xsearch_proxy_start(&o, &p, &err) != CLOISTER_OK)
        fail_msg("proxy: %s", err.msg);
    xsearch_proxy_mrenclave(p, mre);
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)xsearch_proxy_port(p));
    struct xsearch_trust t = {ep, NULL, mre, true};
    assert_int_equal(xsearch_client_new(&t, &c, &err), CLOISTER_OK);
    assert_int_equal(xsearch_client_search(c, "Alpha Beta", 2, SEARCH_FILTER_WORDS, 7, &h, &err),
                     CLOISTER_OK);
    assert_string_equal(api_path, "/api/7/alpha+beta"); /* H empty: no fakes yet */
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].url, "http://a.example/"); /* the redirect stripped */
    assert_string_equal(h.v[0].title, "alpha beta");
    search_hits_free(&h);
    xsearch_client_free(c);
    xsearch_proxy_stop(p);
    o.engine_map = "{\"hits\": 3}";
    assert_int_equal(xsearch_proxy_start(&o, &p, &err), CLOISTER_E_INVALID);
    o.engine_map = NULL;
    o.engine = "http://127.0.0.1:1/no-query-slot";
    assert_int_equal(xsearch_proxy_start(&o, &p, &err), CLOISTER_E_INVALID);
    http_server_stop(api);
}

static unsigned get(uint16_t port, const char *path, char **body)
{
    char ep[64];
    unsigned status = 0;
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)port);
    assert_int_equal(http_call(ep, "GET", path, NULL, NULL, 0, 1 << 22, &status, body, NULL), 0);
    return status;
}

/* A query of the log as a URL parameter (its terms joined by +). */
static void query_arg(const char *q, char *out, size_t cap)
{
    size_t len = search_canonical(q, strlen(q), out, cap);
    for (size_t i = 0; i < len; i++)
        out[i] = out[i] == ' ' ? '+' : out[i];
}

static void test_broker(void **state)
{
    (void)state;
    uint8_t mre[32];
    xsearch_proxy_mrenclave(proxy, mre);
    struct xsearch_trust t = {proxy_ep, NULL, mre, true};
    xsearch_broker *b;
    struct cloister_err err;
    assert_int_equal(xsearch_broker_start(&t, "10.0.0.1:0", 3, SEARCH_FILTER_MATCH, &b, &err),
                     CLOISTER_E_INVALID);
    if (xsearch_broker_start(&t, "127.0.0.1:0", 3, SEARCH_FILTER_MATCH, &b, &err) != 0)
        fail_msg("broker: %s", err.msg);
    uint16_t port = xsearch_broker_port(b);
    const char *q = log_.q[log_.n - 5].text;
    char arg[SEARCH_QUERY_MAX + 1], path[2 * SEARCH_QUERY_MAX], *body;
    query_arg(q, arg, sizeof arg);

    assert_int_equal(get(port, "/", &body), 200);
    assert_non_null(strstr(body, "<form method=\"get\" action=\"/\">"));
    free(body);
    /* the JSON API: the match-aware filter's answer is the query's own */
    snprintf(path, sizeof path, "/search?q=%s&n=5", arg);
    assert_int_equal(get(port, path, &body), 200);
    json_t *j = json_loads(body, 0, NULL), *hits = json_object_get(j, "hits");
    free(body);
    struct search_hits alone;
    engine_alone(q, 5, &alone);
    assert_int_equal(json_array_size(hits), alone.n);
    for (size_t i = 0; i < alone.n; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(hits, i), "url")),
                            alone.v[i].url);
    json_decref(j);
    /* the page: the same results, and what the user typed escaped */
    snprintf(path, sizeof path, "/?q=%s+%%3Cb%%3E&n=5", arg);
    assert_int_equal(get(port, path, &body), 200);
    assert_non_null(strstr(body, "&lt;b&gt;"));
    assert_null(strstr(body, "<b>"));
    if (alone.n)
        assert_non_null(strstr(body, alone.v[0].url));
    free(body);
    assert_int_equal(get(port, "/search?q=x&k=65", &body), 400);
    free(body);

    /* headless Chromium loads the page and the results the form's GET brings */
    char url[2 * SEARCH_QUERY_MAX + 64];
    uint8_t *dom;
    size_t len;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/?q=%s&n=5", (unsigned)port, arg);
    int rc = browser_dump_dom(url, dir, &dom, &len);
    if (rc == 1) {
        search_hits_free(&alone);
        xsearch_broker_stop(b);
        fprintf(stderr, "skipped: the headless browser check needs Debian's chromium\n");
        skip();
    }
    assert_int_equal(rc, 0);
    char count[64];
    snprintf(count, sizeof count, "<p id=\"count\">%zu results</p>", alone.n);
    assert_non_null(memmem(dom, len, count, strlen(count)));
    if (alone.n)
        assert_non_null(memmem(dom, len, "<li class=\"hit\">", 16));
    free(dom);
    search_hits_free(&alone);
    xsearch_broker_stop(b);
}

/* Long queries make a long OR-ed query, hence a long engine request (beyond any small buffer). */
static void test_long_query(void **state)
{
    (void)state;
    char q[SEARCH_QUERY_MAX];
    size_t len = 0;
    struct search_hits h;
    struct cloister_err err;
    for (int i = 0; len + 16 < sizeof q && i < 90; i++)
        len += (size_t)snprintf(q + len, sizeof q - len, "longword%d ", i);
    for (int i = 0; i < 3; i++) {
        if (xsearch_client_search(client, q, 5, SEARCH_FILTER_WORDS, 3, &h, &err) != CLOISTER_OK)
            fail_msg("long query: %s", err.msg);
        search_hits_free(&h);
    }
}

static void test_engine_log(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(file_read_all(qlog, 1 << 24, &buf, &len), 0);
    char *text = (char *)buf;
    text[len - 1] = 0;
    assert_non_null(strstr(text, " OR ")); /* fakes were OR-ed in once H had queries */
    assert_null(strstr(text, "\"client\":\"127.0.0.2")); /* every query from the proxy */
    free(buf);
}

/* A valid sealed request to the enclave's key (*req malloc'd). */
static void sealed(unsigned k, uint8_t **req, size_t *len)
{
    uint8_t pk[32], enc[HPKE_ENC_LEN], key[32];
    struct xsearch_request rq = {k, SEARCH_FILTER_WORDS, 5, ""};
    struct cloister_err err;
    snprintf(rq.query, sizeof rq.query, "%s", log_.q[0].text);
    xsearch_client_key(client, pk);
    assert_int_equal(xsearch_request_seal(pk, &rq, req, len, enc, key, &err), CLOISTER_OK);
}

static void test_tampered_replayed(void **state)
{
    (void)state;
    uint8_t *req, *resp;
    size_t len, resplen;
    struct cloister_err err;
    sealed(2, &req, &len);
    req[len - 3] ^= 0x40;
    assert_int_equal(xsearch_client_post(client, req, len, &resp, &resplen, &err),
                     CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "tampered"));
    req[len - 3] ^= 0x40;
    assert_int_equal(xsearch_client_post(client, req, len, &resp, &resplen, &err), CLOISTER_OK);
    free(resp);
    assert_int_equal(xsearch_client_post(client, req, len, &resp, &resplen, &err),
                     CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "replayed"));
    free(req);
}

/* The client posts binary bodies (message/ohttp-req); {"request": hex} is answered in kind. */
static void test_json_body(void **state)
{
    (void)state;
    uint8_t pk[32], enc[HPKE_ENC_LEN], key[32], *req;
    size_t len, resplen;
    struct xsearch_request rq = {1, SEARCH_FILTER_WORDS, 5, ""};
    struct search_hits h;
    struct cloister_err err;
    snprintf(rq.query, sizeof rq.query, "%s", log_.q[1].text);
    xsearch_client_key(client, pk);
    assert_int_equal(xsearch_request_seal(pk, &rq, &req, &len, enc, key, &err), CLOISTER_OK);
    json_t *body = json_pack("{s:o}", "request", http_json_hex(req, len));
    char *text = json_dumps(body, JSON_COMPACT), *reply = NULL;
    unsigned status = 0;
    assert_int_equal(http_call(proxy_ep, "POST", "/v1/search", NULL, text, strlen(text), 1 << 22,
                               &status, &reply, &err),
                     CLOISTER_OK);
    assert_int_equal(status, 200);
    json_t *j = json_loads(reply, 0, NULL);
    uint8_t *resp = http_json_unhex(j, "response", &resplen);
    assert_non_null(resp);
    assert_int_equal(xsearch_response_open(key, enc, resp, resplen, &h, &err), CLOISTER_OK);
    search_hits_free(&h);
    free(resp);
    json_decref(j);
    json_decref(body);
    free(reply);
    free(text);
    free(req);
}

static void test_oversized_and_policy(void **state)
{
    (void)state;
    uint8_t *req, *resp;
    size_t len, resplen;
    struct cloister_err err;
    uint8_t *big = calloc(1, 64 * 1024);
    assert_non_null(big);
    assert_int_not_equal(xsearch_client_post(client, big, 64 * 1024, &resp, &resplen, &err),
                         CLOISTER_OK);
    assert_int_equal(
        xsearch_client_post(client, big, XSEARCH_REQUEST_MAX + 1, &resp, &resplen, &err),
        CLOISTER_E_INVALID);
    free(big);
    sealed(6, &req, &len); /* over the proxy's k max of 5 */
    assert_int_equal(xsearch_client_post(client, req, len, &resp, &resplen, &err),
                     CLOISTER_E_DENIED);
    free(req);
    uint8_t other[32] = {1};
    struct xsearch_trust t = {proxy_ep, NULL, other, true};
    xsearch_client *c2;
    assert_int_equal(xsearch_client_new(&t, &c2, &err), CLOISTER_E_DENIED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_filtered),
        cmocka_unit_test(test_long_query),
        cmocka_unit_test(test_engine_log),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_engine_template),
        cmocka_unit_test(test_tampered_replayed),
        cmocka_unit_test(test_oversized_and_policy),
        cmocka_unit_test(test_json_body),
        cmocka_unit_test(test_broker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
