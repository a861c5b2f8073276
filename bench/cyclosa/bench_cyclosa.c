/* bench_cyclosa.c -- Cyclosa's network on this machine (docs/cyclosa.md): NODES nodes (threads of
 * this process, sim enclaves, each on its own 127.0.x.y address) and REMOTE more in a second
 * process of this binary (`bench_cyclosa --remote ENGINE SEED`, stopped when its stdin closes)
 * around the local engine over a corpus of the 100-user synthetic log. Figures per node are
 * measured on this process's nodes. CSV: metric,system,k,a,b,c
 *
 *   nodes     cyclosa,NODES+REMOTE,start s,converge s,0   the target: 100 nodes on this machine
 *   latency   cyclosa,k,p50 ms,p99 ms,searches/s      one search at a time, engine included
 *   accuracy  cyclosa,k,share of answers equal to the engine's own for the query,0,0
 *   load      cyclosa,k,engine queries/h per node (mean),(busiest node),0 and xsearch,k,queries/h
 *             at X-Search's single proxy: the log's query rate times the relays' measured share
 *   relay     cyclosa,0,relayed requests/s per node,requests/s of the whole network,threads:
 *             searches from 8 threads at k = 7 against an engine stub answering canned hits
 *             (so that the relays, not SQLite, are measured); the target is 20,000/s
 *
 * Re-identification (fixed and adaptive k, beside X-Search and the baselines) is in
 * bench_xsearch's CSV. */
#include <cloister/cyclosa_node.h>
#include <cloister/search_engine.h>
#include <cloister/tee_enclave.h>
#include <cloister/xsearch_proxy.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "http/http.h"
#include "util/prng.h"

TEE_ENCLAVE_DECLARE(cyclosa);

#define NODES 50  /* in this process (a process holds at most 64 sim enclaves) */
#define REMOTE 50 /* in a second process of this binary, seeded from this one's: 100 in all */
#define USERS 100
#define SEARCHES 100
#define THREADS 8
#define RELAY_SECONDS 3.0

static cyclosa_node *nodes[NODES];
static struct search_log log_, train, test;

/* n nodes on 127.0.net.(host + i), the first seeded from first_seed (NULL: none). */
static void start_net(const char *engine, unsigned gossip_ms, int net, int host,
                      const char *first_seed, size_t n, cyclosa_node **out)
{
    static const char *const popular[] = {"weather", "news", "cheap flights", "football scores"};
    struct cloister_err err;
    char prefix[16];
    uint64_t rng = 5 + (uint64_t)net;
    snprintf(prefix, sizeof prefix, "127.0.%d", net);
    struct cyclosa_node_options o = {.engine = engine,
                                     .popular = popular,
                                     .npopular = 4,
                                     .backend = "sim",
                                     .enclave = &tee_enclave_cyclosa,
                                     .table = 10000,
                                     .gossip_ms = gossip_ms};
    if (cyclosa_nodes_start(&o, prefix, host, first_seed, n, &rng, out, &err) != CLOISTER_OK) {
        fprintf(stderr, "nodes on %s: %s\n", prefix, err.msg);
        exit(1);
    }
}

/* NODES nodes on 127.0.net.*, the first seeded from first_seed (NULL: none). */
static void start_nodes(const char *engine, unsigned gossip_ms, int net, const char *first_seed)
{
    start_net(engine, gossip_ms, net, 10, first_seed, NODES, nodes);
}

static void stop_nodes(void)
{
    for (int i = 0; i < NODES; i++)
        cyclosa_node_stop(nodes[i]);
}

static bool views_full(void)
{
    struct cyclosa_peer v[CYCLOSA_VIEW_MAX];
    for (int i = 0; i < NODES; i++)
        if (cyclosa_node_view(nodes[i], v, CYCLOSA_VIEW_MAX) < CYCLOSA_VIEW_DEFAULT)
            return false;
    return true;
}

/* Messages relayed by every node (into per[] when given); returns the total. */
static uint64_t relayed(uint64_t *per)
{
    uint64_t sum = 0;
    for (int i = 0; i < NODES; i++) {
        struct cyclosa_node_stats st;
        cyclosa_node_stats(nodes[i], &st);
        sum += st.relayed;
        if (per)
            per[i] = st.relayed;
    }
    return sum;
}

/* The engine's answer for q alone, as URLs. */
static void urls(const struct search_hits *h, char *out, size_t cap)
{
    *out = 0;
    for (size_t i = 0; i < h->n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s ", h->v[i].url);
}

static bool same_as_engine(const char *engine, const char *q, const struct search_hits *got)
{
    static char path[4 * SEARCH_QUERY_MAX], a[1 << 16], b[1 << 16];
    char canon[SEARCH_QUERY_MAX + 1], *reply = NULL;
    unsigned status;
    struct search_hits h;
    search_canonical(q, strlen(q), canon, sizeof canon);
    int at = snprintf(path, sizeof path, "/search?n=%d&q=", CYCLOSA_HITS);
    http_url_encode(canon, path + at);
    if (http_call(engine, "GET", path, NULL, NULL, 0, 1 << 22, &status, &reply, NULL) != 0 ||
        xsearch_engine_parse(reply, strlen(reply), &h, NULL) != CLOISTER_OK) {
        free(reply);
        return false;
    }
    free(reply);
    urls(&h, a, sizeof a);
    urls(got, b, sizeof b);
    search_hits_free(&h);
    return strcmp(a, b) == 0;
}

/* Latency, accuracy and load at each k. */
static void searches(const char *engine, double hours_of_log)
{
    static double ms[SEARCHES];
    static const unsigned ks[] = {0, 1, 3, 5, 7};
    uint64_t rng = 11;
    for (size_t j = 0; j < sizeof ks / sizeof *ks; j++) {
        unsigned k = ks[j];
        static uint64_t before[NODES], after[NODES];
        uint64_t total0 = relayed(before);
        size_t same = 0;
        for (int i = 0; i < SEARCHES; i++) {
            const char *q = test.q[prng_next(&rng) % test.n].text;
            struct cyclosa_result r;
            struct cloister_err err;
            double t0 = bench_now_ns();
            if (cyclosa_node_search(nodes[prng_next(&rng) % NODES], q, (int)k, NULL, &r, &err) !=
                CLOISTER_OK) {
                fprintf(stderr, "search: %s\n", err.msg);
                exit(1);
            }
            ms[i] = (bench_now_ns() - t0) / 1e6;
            same += same_as_engine(engine, q, &r.hits);
            search_hits_free(&r.hits);
        }
        double total = 0;
        for (int i = 0; i < SEARCHES; i++)
            total += ms[i];
        printf("latency,cyclosa,%u,%.3f,%.3f,%.1f\n", k, bench_quantile(ms, SEARCHES, 0.5),
               bench_quantile(ms, SEARCHES, 0.99), 1000.0 * SEARCHES / total);
        printf("accuracy,cyclosa,%u,%.4f,0,0\n", k, (double)same / SEARCHES);
        /* the log's rate: each user's queries over the log's span; each query costs k + 1
         * engine requests, spread over the nodes as measured */
        uint64_t sent = relayed(after) - total0, most = 0;
        for (int i = 0; i < NODES; i++)
            most = after[i] - before[i] > most ? after[i] - before[i] : most;
        double per_user = (double)log_.n / USERS / hours_of_log;
        double mean = (double)sent / NODES;
        printf("load,cyclosa,%u,%.2f,%.2f,0\n", k, per_user * (k + 1),
               mean > 0 ? per_user * (k + 1) * (double)most / mean : 0.0);
        printf("load,xsearch,%u,%.2f,0,0\n", k, per_user * USERS);
        fflush(stdout);
    }
}

/* ---- relay throughput against a stub engine ---- */

static void stub(void *arg, const struct http_request *r, unsigned *status, char **body,
                 const char **type)
{
    (void)arg, (void)r, (void)type;
    *status = 200;
    *body = strdup("{\"query\":\"q\",\"hits\":[{\"url\":\"https://a.example/1\",\"title\":\"t\","
                   "\"snippet\":\"s\",\"score\":1,\"terms\":[],\"matched\":[]}]}");
}

static volatile int running;

static void *searcher(void *arg)
{
    uint64_t rng = (uintptr_t)arg;
    size_t n = 0;
    while (running) {
        struct cyclosa_result r;
        struct cloister_err err;
        const char *q = test.q[prng_next(&rng) % test.n].text;
        if (cyclosa_node_search(nodes[prng_next(&rng) % NODES], q, 7, NULL, &r, &err) ==
            CLOISTER_OK)
            n++;
        search_hits_free(&r.hits);
    }
    return (void *)(uintptr_t)n;
}

/* ---- one relay, saturated ---- */

static cyclosa_node *one_relay;

static void *star_client(void *arg)
{
    cyclosa_node *c = arg;
    uint64_t rng = (uintptr_t)c;
    while (running) {
        struct cyclosa_result r;
        struct cloister_err err;
        if (cyclosa_node_search(c, test.q[prng_next(&rng) % test.n].text, 0, NULL, &r, &err) ==
            CLOISTER_OK)
            search_hits_free(&r.hits);
    }
    return NULL;
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* THREADS client nodes whose view is one relay (no gossip during the run) search at k = 0 as
 * fast as they can: the relay's requests per second, and per CPU second of the whole process
 * (clients, relay and engine share it: a lower bound of what the relay alone would do). */
static void relay_one(const char *engine, const char *label)
{
    static const unsigned never = 3600u * 1000u;
    cyclosa_node *c[THREADS];
    pthread_t th[THREADS];
    struct cyclosa_node_stats st0, st1;
    start_net(engine, never, 3, 10, NULL, 1, &one_relay);
    for (int i = 0; i < THREADS; i++) /* each seeded from the relay alone */
        start_net(engine, never, 3, 11 + i, cyclosa_node_addr(one_relay), 1, &c[i]);
    cyclosa_node_stats(one_relay, &st0);
    running = 1;
    double t0 = bench_now_ns(), c0 = cpu_s();
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, star_client, c[i]);
    usleep((useconds_t)(RELAY_SECONDS * 1e6));
    running = 0;
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    double secs = (bench_now_ns() - t0) / 1e9, cpu = cpu_s() - c0;
    cyclosa_node_stats(one_relay, &st1);
    double done = (double)(st1.relayed - st0.relayed);
    printf("relay1,cyclosa-%s,0,%.1f,%.1f,%d\n", label, done / secs, cpu > 0 ? done / cpu : 0.0,
           THREADS);
    fprintf(stderr,
            "one relay, %s engine: %.0f requests/s (%.0f per CPU second of the whole process); "
            "target >= 20000/s per node\n",
            label, done / secs, cpu > 0 ? done / cpu : 0.0);
    fflush(stdout);
    for (int i = 0; i < THREADS; i++)
        cyclosa_node_stop(c[i]);
    cyclosa_node_stop(one_relay);
}

/* The second process: REMOTE nodes seeded from this one's first node. */
static FILE *spawn_remote(const char *self, const char *engine)
{
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "'%s' --remote %s %s", self, engine, cyclosa_node_addr(nodes[0]));
    FILE *f = popen(cmd, "w");
    if (!f)
        exit(1);
    return f;
}

static int remote_main(const char *engine, const char *seed)
{
    start_nodes(engine, 200, 2, seed);
    while (getchar() != EOF)
        ;
    stop_nodes();
    return 0;
}

static void relay_throughput(const char *self)
{
    struct http_server *s;
    char ep[32];
    if (http_server_start_pool("127.0.0.1:0", NULL, 1 << 16, 0, 2, stub, NULL, &s, NULL) != 0)
        exit(1);
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)http_server_port(s));
    relay_one(ep, "stub");
    double t0 = bench_now_ns();
    start_nodes(ep, 200, 1, NULL);
    FILE *remote = spawn_remote(self, ep);
    double started = (bench_now_ns() - t0) / 1e9;
    while (!views_full() && (bench_now_ns() - t0) / 1e9 < 60)
        usleep(50000);
    usleep(2000000); /* the remote nodes mix in */
    printf("nodes,cyclosa,%d,%.2f,%.2f,0\n", NODES + REMOTE, started, (bench_now_ns() - t0) / 1e9);
    pthread_t th[THREADS];
    uint64_t before = relayed(NULL);
    running = 1;
    t0 = bench_now_ns();
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, searcher, (void *)(i + 1));
    usleep((useconds_t)(RELAY_SECONDS * 1e6));
    running = 0;
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    double secs = (bench_now_ns() - t0) / 1e9;
    uint64_t done = relayed(NULL) - before;
    printf("relay,cyclosa,0,%.1f,%.1f,%d\n", (double)done / secs / NODES, (double)done / secs,
           THREADS);
    fprintf(stderr,
            "the whole network, stub engine, %d searching threads: %.1f requests/s per node, "
            "%.0f in all\n",
            THREADS, (double)done / secs / NODES, (double)done / secs);
    fflush(stdout);
    stop_nodes();
    pclose(remote);
    http_server_stop(s);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--remote") == 0)
        return remote_main(argv[2], argv[3]);
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char corpus[PATH_MAX], engine_ep[64];
    struct search_gen_options g;
    search_engine *e;
    struct search_corpus_options co = {20000, 1};
    search_gen_options_init(&g);
    g.users = USERS;
    snprintf(corpus, sizeof corpus, "%s/cyclosa-corpus.db", dir);
    if (search_gen_log(&g, &log_, NULL) != CLOISTER_OK ||
        search_log_split(&log_, &train, &test) != CLOISTER_OK ||
        search_corpus_build(&log_, &co, corpus, NULL) != CLOISTER_OK ||
        search_engine_start(corpus, "127.0.0.1:0", NULL, &e, NULL) != CLOISTER_OK)
        return 1;
    snprintf(engine_ep, sizeof engine_ep, "127.0.0.1:%u", (unsigned)search_engine_port(e));
    int64_t first = log_.q[0].time, last = first;
    for (size_t i = 0; i < log_.n; i++) {
        first = log_.q[i].time < first ? log_.q[i].time : first;
        last = log_.q[i].time > last ? log_.q[i].time : last;
    }
    printf("metric,system,k,a,b,c\n");
    relay_throughput(argv[0]);
    relay_one(engine_ep, "sqlite");
    start_nodes(engine_ep, 200, 1, NULL);
    FILE *remote = spawn_remote(argv[0], engine_ep);
    while (!views_full())
        usleep(50000);
    usleep(2000000);
    searches(engine_ep, (double)(last - first) / 3600.0);
    stop_nodes();
    pclose(remote);
    search_engine_stop(e);
    unlink(corpus);
    free(train.q);
    free(test.q);
    search_log_free(&log_);
    return 0;
}
