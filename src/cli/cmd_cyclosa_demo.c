/* cmd_cyclosa_demo.c -- Cyclosa's step of `cloister demo`: the adaptive rule on a few queries of
 * one user, so that a sensitive query gets k_max fakes and a harmless one fewer; then twenty
 * nodes on loopback (sim enclaves, each on its own 127.0.0.x address) around the local engine:
 * the user's node sends those queries, the engine's log shows the mix of real and fake queries
 * arriving from different relays, and the user sees only the real answer. */
#include <cloister/cyclosa.h>
#include <cloister/cyclosa_node.h>
#include <cloister/search_engine.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(cyclosa);

#define DEMO_NODES 20

static const char *const past[] = {"hotel rome", "rome airport taxi", "vatican museum"};
static const char *const queries[] = {"symptoms of diabetes", "hotel rome", "rome restaurants",
                                      "garden tools"};

/* The engine's log, one line per query it received: who asked what. */
static void show_engine_log(const char *qlog)
{
    uint8_t *buf;
    size_t len;
    if (file_read_all(qlog, 1 << 20, &buf, &len) != 0)
        return;
    printf("  the engine's log (what the curious engine saw, from whom):\n");
    char *line = NULL, *text = (char *)buf;
    text[len ? len - 1 : 0] = 0;
    for (char *p = strtok_r(text, "\n", &line); p; p = strtok_r(NULL, "\n", &line))
        printf("    %s\n", strstr(p, "\"client\"") ? strstr(p, "\"client\"") : p);
    free(buf);
}

/* The user's node (nodes[0]) searches each query with the adaptive k. */
static int node_searches(cyclosa_node **nodes, const search_attack *own)
{
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        struct cyclosa_result r;
        struct cloister_err err;
        if (cyclosa_node_search(nodes[0], queries[i], -1, own, &r, &err) != CLOISTER_OK) {
            printf("  search: %s\n", err.msg);
            return -1;
        }
        printf("  \"%s\": %u fakes; the real query relayed by %s; %zu results, first \"%s\"\n",
               queries[i], r.k, r.relay, r.hits.n, r.hits.n ? r.hits.v[0].title : "");
        search_hits_free(&r.hits);
    }
    return 0;
}

static int start_nodes(cyclosa_node **nodes, const char *engine, const cyclosa_sens *s,
                       struct cloister_err *err)
{
    static const char *const popular[] = {"weather", "news", "cheap flights", "football scores"};
    uint64_t rng = 20;
    struct cyclosa_node_options o = {.engine = engine,
                                     .popular = popular,
                                     .npopular = 4,
                                     .backend = "sim",
                                     .enclave = &tee_enclave_cyclosa,
                                     .table = 1000,
                                     .view = 8,
                                     .gossip_ms = 50,
                                     .sens = s};
    if (cyclosa_nodes_start(&o, "127.0.0", 20, NULL, DEMO_NODES, &rng, nodes, err) != CLOISTER_OK)
        return -1;
    struct cyclosa_peer v[CYCLOSA_VIEW_MAX];
    for (int t = 0; t < 100 && cyclosa_node_view(nodes[0], v, CYCLOSA_VIEW_MAX) < 8; t++)
        usleep(20000);
    usleep(200000); /* a few more exchanges: the views mix */
    return 0;
}

/* Twenty nodes and an engine on loopback, in a temporary directory. */
static int network_demo(const cyclosa_sens *s, const search_attack *own)
{
    char dir[] = "/tmp/cloister-cyclosa-demo-XXXXXX", corpus[64], qlog[64], ep[32];
    cyclosa_node *nodes[DEMO_NODES] = {0};
    search_engine *e = NULL;
    struct search_log log = {0};
    struct search_gen_options g;
    struct search_corpus_options co = {2000, 1};
    struct cloister_err err = {0};
    if (!mkdtemp(dir))
        return -1;
    snprintf(corpus, sizeof corpus, "%s/corpus.db", dir);
    snprintf(qlog, sizeof qlog, "%s/queries.jsonl", dir);
    search_gen_options_init(&g);
    g.users = 5;
    int rc = search_gen_log(&g, &log, &err) == CLOISTER_OK ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < sizeof queries / sizeof *queries; i++) /* in the corpus */
        rc = search_log_add(&log, 1, 0, queries[i], strlen(queries[i]));
    rc = rc == 0 && search_corpus_build(&log, &co, corpus, &err) == CLOISTER_OK &&
                 search_engine_start(corpus, "127.0.0.1:0", qlog, &e, &err) == CLOISTER_OK
             ? 0
             : -1;
    if (rc == 0) {
        snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)search_engine_port(e));
        rc = start_nodes(nodes, ep, s, &err);
    }
    if (rc == 0) {
        printf("  %d nodes on 127.0.0.20-%d (sim enclaves, mutually attested), engine on %s; the "
               "user's node is %s\n",
               DEMO_NODES, 20 + DEMO_NODES - 1, ep, cyclosa_node_addr(nodes[0]));
        rc = node_searches(nodes, own);
    }
    if (rc == 0)
        show_engine_log(qlog);
    if (rc != 0 && err.msg[0])
        printf("  %s\n", err.msg);
    for (int i = 0; i < DEMO_NODES; i++)
        cyclosa_node_stop(nodes[i]);
    search_engine_stop(e);
    search_log_free(&log);
    file_remove_tree(dir);
    return rc;
}

int cli_cyclosa_demo(void)
{
    cli_demo_heading("Cyclosa: how many fake queries a query gets");
    cyclosa_sens *s;
    struct cloister_err err;
    if (cyclosa_sens_load(NULL, &s, &err) != CLOISTER_OK) {
        printf("  %s\n", err.msg);
        return -1;
    }
    printf("  sensitive-topic dictionary from WordNet 3.0: health %zu, religion %zu, sexuality "
           "%zu, politics %zu words and expressions\n",
           cyclosa_sens_size(s, CYCLOSA_TOPIC_HEALTH), cyclosa_sens_size(s, CYCLOSA_TOPIC_RELIGION),
           cyclosa_sens_size(s, CYCLOSA_TOPIC_SEXUALITY),
           cyclosa_sens_size(s, CYCLOSA_TOPIC_POLITICS));
    struct search_log log = {0};
    search_attack *own = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof past / sizeof *past; i++)
        rc = search_log_add(&log, 1, (int64_t)i, past[i], strlen(past[i]));
    if (rc == 0)
        rc = search_attack_new(&log, &own, &err);
    printf("  the user searched before: \"%s\", \"%s\", \"%s\"\n", past[0], past[1], past[2]);
    for (size_t i = 0; rc == 0 && i < sizeof queries / sizeof *queries; i++) {
        double l;
        size_t len = strlen(queries[i]);
        unsigned k = cyclosa_sens_k(s, own, queries[i], len, CYCLOSA_K_MAX, &l);
        printf("  %-22s topic %-9s linkability %.2f -> %u fakes\n", queries[i],
               cyclosa_topic_name(cyclosa_sens_topic(s, queries[i], len)), l, k);
    }
    if (rc == 0)
        rc = network_demo(s, own);
    search_attack_free(own);
    search_log_free(&log);
    cyclosa_sens_free(s);
    return rc ? -1 : 0;
}
