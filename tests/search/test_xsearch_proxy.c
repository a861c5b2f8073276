/* test_xsearch_proxy.c -- X-Search end to end on 127.0.0.1: a test-started engine over a
 * generated corpus, the proxy with its enclave in a separate process (proc), and the client.
 * Searches come back filtered (every hit of the match-aware filter holds every term of the
 * query, and they are the engine's own hits for the query alone); the engine's log shows the
 * real query OR-ed with past ones and the proxy's address only; tampered, replayed, oversized
 * and over-k requests are refused, and so is an enclave of another MRENCLAVE. */
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

struct want {
    const char *text;
    bool all;
};

static int term_in(const char *term, size_t len, void *arg)
{
    struct want *w = arg;
    char t[SEARCH_QUERY_MAX + 1];
    memcpy(t, term, len);
    t[len] = 0;
    char lower[2 * SEARCH_TEXT_MAX + 2];
    search_canonical(w->text, strlen(w->text), lower, sizeof lower);
    bool found = false;
    for (char *p = lower; !found && (p = strstr(p, t)) != NULL; p += len)
        found = (p == lower || p[-1] == ' ') && (p[len] == ' ' || p[len] == 0);
    w->all &= found;
    return 0;
}

static void test_search_filtered(void **state)
{
    (void)state;
    struct cloister_err err;
    size_t with_hits = 0;
    for (size_t i = 0; i < 12; i++) {
        const char *q = log_.q[log_.n - 1 - i * 37].text;
        struct search_hits h;
        if (xsearch_client_search(client, q, 3, SEARCH_FILTER_MATCH, 5, &h, &err) != CLOISTER_OK)
            fail_msg("search '%s': %s", q, err.msg);
        assert_true(h.n <= 5);
        with_hits += h.n > 0;
        for (size_t j = 0; j < h.n; j++) {
            char text[2 * SEARCH_TEXT_MAX + 2];
            snprintf(text, sizeof text, "%s %s", h.v[j].title, h.v[j].snippet);
            struct want w = {text, true};
            search_terms(q, strlen(q), term_in, &w);
            assert_true(w.all); /* the match-aware filter kept only hits of the real query */
        }
        search_hits_free(&h);
    }
    assert_true(with_hits > 0);
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
        cmocka_unit_test(test_search_filtered),      cmocka_unit_test(test_long_query),
        cmocka_unit_test(test_engine_log),           cmocka_unit_test(test_tampered_replayed),
        cmocka_unit_test(test_oversized_and_policy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
