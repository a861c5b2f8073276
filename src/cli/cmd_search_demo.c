/* cmd_search_demo.c -- the search testbed's step of `cloister demo`: a small synthetic log (20
 * users, to stay fast) and SimAttack on it without fakes and with three OR-ed fakes per query,
 * the protection X-Search gives; then X-Search itself: the local engine over a corpus of the
 * log's words, the proxy with its enclave, and searches sealed end to end through the browser's
 * broker (asked over HTTP as a browser asks it), after which the engine's log shows what the curious engine saw (OR-ed queries, from the
 * proxy's address). */
#include <cloister/search_engine.h>
#include <cloister/tee_enclave.h>
#include <cloister/xsearch_client.h>
#include <cloister/xsearch_proxy.h>

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(xsearch);

/* One search through the browser's broker at ep, as a browser asks it (GET /search). */
static int broker_search(const char *ep, const char *q)
{
    char path[4 * SEARCH_QUERY_MAX], *p = path, *reply = NULL;
    unsigned status = 0;
    struct cloister_err err = {0};
    p += sprintf(p, "/search?k=3&n=3&q=");
    for (const char *c = q; *c; c++) /* letters and digits as they are, the rest escaped */
        p += isalnum((unsigned char)*c) ? sprintf(p, "%c", *c)
                                        : sprintf(p, "%%%02X", (unsigned char)*c);
    int rc = http_call(ep, "GET", path, NULL, NULL, 0, 1 << 20, &status, &reply, &err);
    json_t *j = rc == 0 ? json_loads(reply, 0, NULL) : NULL, *hits = json_object_get(j, "hits");
    if (status == 200 && json_is_array(hits)) {
        const char *first = json_string_value(json_object_get(json_array_get(hits, 0), "url"));
        printf("  searched \"%s\" (k = 3): %zu results%s%s\n", q, json_array_size(hits),
               first ? ", first: " : "", first ? first : "");
    } else {
        printf("  search: %s\n", rc ? err.msg : reply);
        rc = -1;
    }
    json_decref(j);
    free(reply);
    return rc;
}

/* A few test queries of log through the broker; prints the first answers and the engine's log. */
static int searches(const struct search_log *log, const char *broker, const char *qlog)
{
    for (size_t i = 0; i < 6; i++)
        if (broker_search(broker, log->q[log->n - 1 - 97 * i].text) != 0)
            return -1;
    uint8_t *buf;
    size_t len;
    if (file_read_all(qlog, 1 << 20, &buf, &len) != 0)
        return -1;
    printf("  the engine's log (its view of the last searches):\n");
    char *text = (char *)buf, *line = NULL;
    size_t shown = 0;
    text[len ? len - 1 : 0] = 0;
    for (char *p = strtok_r(text, "\n", &line); p; p = strtok_r(NULL, "\n", &line))
        if (++shown > 2)
            printf("    %s\n", p);
    free(buf);
    return 0;
}

/* X-Search end to end on 127.0.0.1 in a temporary directory. */
static int xsearch_demo(const struct search_log *log)
{
    char dir[] = "/tmp/cloister-xsearch-demo-XXXXXX", corpus[64], qlog[64], ep[32], pep[32],
         bep[32];
    if (!mkdtemp(dir))
        return -1;
    snprintf(corpus, sizeof corpus, "%s/corpus.db", dir);
    snprintf(qlog, sizeof qlog, "%s/queries.jsonl", dir);
    struct search_corpus_options co = {3000, 1};
    struct cloister_err err = {0};
    search_engine *e = NULL;
    xsearch_proxy *p = NULL;
    xsearch_broker *b = NULL;
    int rc = search_corpus_build(log, &co, corpus, &err) == CLOISTER_OK &&
                     search_engine_start(corpus, "127.0.0.1:0", qlog, &e, &err) == CLOISTER_OK
                 ? 0
                 : -1;
    if (rc == 0) {
        snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)search_engine_port(e));
        struct xsearch_proxy_options o = {.engine = ep,
                                          .listen = "127.0.0.1:0",
                                          .enclave = &tee_enclave_xsearch,
                                          .k_max = 7};
        rc = xsearch_proxy_start(&o, &p, &err) == CLOISTER_OK ? 0 : -1;
    }
    if (rc == 0) {
        uint8_t mre[32];
        xsearch_proxy_mrenclave(p, mre);
        snprintf(pep, sizeof pep, "127.0.0.1:%u", (unsigned)xsearch_proxy_port(p));
        struct xsearch_trust t = {pep, NULL, mre, true};
        rc = xsearch_broker_start(&t, "127.0.0.1:0", 3, SEARCH_FILTER_MATCH, &b, &err);
    }
    if (rc == 0) {
        snprintf(bep, sizeof bep, "127.0.0.1:%u", (unsigned)xsearch_broker_port(b));
        printf("  engine on %s, X-Search proxy on %s, the browser's broker on %s (it verified the "
               "enclave)\n",
               ep, pep, bep);
        rc = searches(log, bep, qlog);
    }
    if (rc != 0 && err.msg[0])
        printf("  %s\n", err.msg);
    xsearch_broker_stop(b);
    xsearch_proxy_stop(p);
    search_engine_stop(e);
    file_remove_tree(dir);
    return rc;
}

#include "cli/cli.h"
#include "cli/cmd_search.h"

int cli_search_demo(void)
{
    cli_demo_heading("Private web search testbed: an AOL-like log and SimAttack");
    struct search_gen_options o;
    search_gen_options_init(&o);
    o.users = 20;
    struct search_log log;
    struct cloister_err err;
    if (search_gen_log(&o, &log, &err) != CLOISTER_OK) {
        printf("  %s\n", err.msg);
        return -1;
    }
    printf("  %zu queries of %u users; the attacker knows the first 2/3 of each history\n", log.n,
           o.users);
    int rc = 0;
    const unsigned ks[] = {0, 3};
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        struct search_attack_result r;
        rc = search_attack_eval_k(&log, ks[i], 1, &r, &err);
        if (rc == 0) {
            printf("  ");
            cmd_search_print_attack(&r, false);
        } else {
            printf("  %s\n", err.msg);
        }
    }
    if (rc == 0)
        rc = xsearch_demo(&log);
    search_log_free(&log);
    return rc ? -1 : 0;
}
