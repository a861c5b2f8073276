/* cyclosa_testbed.c -- the search testbed of Cyclosa's tests (cyclosa_testbed.h). */
#include "cyclosa_testbed.h"

#include <cloister/cyclosa_node.h>
#include <cloister/xsearch.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/http.h"

void cyc_testbed_start(struct cyc_testbed *t, const char *name, uint32_t users, size_t docs)
{
    const char *home = getenv("CLOISTER_HOME");
    char corpus[PATH_MAX + 16], cmd[2 * PATH_MAX + 32];
    struct cloister_err err;
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "%s/%s", home ? home : "/tmp/cloister-test", name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", t->dir, t->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(corpus, sizeof corpus, "%s/corpus.db", t->dir);
    snprintf(t->qlog, sizeof t->qlog, "%s/queries.jsonl", t->dir);
    struct search_gen_options g;
    search_gen_options_init(&g);
    g.users = users;
    struct search_corpus_options c = {docs, 1};
    if (search_gen_log(&g, &t->log, &err) != CLOISTER_OK ||
        search_corpus_build(&t->log, &c, corpus, &err) != CLOISTER_OK ||
        search_engine_start(corpus, "127.0.0.1:0", t->qlog, &t->engine, &err) != CLOISTER_OK)
        fail_msg("engine: %s", err.msg);
    snprintf(t->engine_ep, sizeof t->engine_ep, "127.0.0.1:%u",
             (unsigned)search_engine_port(t->engine));
}

void cyc_testbed_stop(struct cyc_testbed *t)
{
    search_engine_stop(t->engine);
    search_log_free(&t->log);
}

void cyc_engine_answer(const struct cyc_testbed *t, const char *q, char *out, size_t cap)
{
    char canon[SEARCH_QUERY_MAX + 1], path[4 * SEARCH_QUERY_MAX], *reply = NULL;
    unsigned status;
    struct cloister_err err;
    assert_true(search_canonical(q, strlen(q), canon, sizeof canon) > 0);
    int at = snprintf(path, sizeof path, "/search?n=%d&q=", CYCLOSA_HITS);
    http_url_encode(canon, path + at);
    assert_int_equal(http_call_from(CYC_ORACLE, t->engine_ep, "GET", path, NULL, NULL, 0, 1 << 22,
                                    &status, &reply, &err),
                     CLOISTER_OK);
    json_t *j = json_loads(reply, 0, NULL), *hits = json_object_get(j, "hits");
    *out = 0;
    for (size_t i = 0; i < json_array_size(hits); i++) {
        size_t at2 = strlen(out);
        snprintf(out + at2, cap - at2, "%s ",
                 json_string_value(json_object_get(json_array_get(hits, i), "url")));
    }
    json_decref(j);
    free(reply);
}

void cyc_urls_of(const struct search_hits *h, char *out, size_t cap)
{
    *out = 0;
    for (size_t i = 0; i < h->n; i++) {
        size_t at = strlen(out);
        snprintf(out + at, cap - at, "%s ", h->v[i].url);
    }
}
