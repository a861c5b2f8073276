/* bench_xsearch.c -- X-Search and its baselines in one run (docs/search.md), in the shape of the
 * paper's Fig. 5a/5b. CSV: metric,system,k,a,b,c
 *
 *   reid      re-identification, attacker precision, recall (SimAttack, 100-user synthetic log,
 *             every 4th test query) for:
 *             direct      no protection: the engine sees the user's address (1 by definition)
 *             tor         an unlinkable channel, the query alone (k = 0)
 *             trackmenot  the query alone plus k separate fakes of random dictionary words
 *             goopir      k dictionary fakes of the same word count OR-ed in
 *             xsearch     k past queries of other users OR-ed in (Algorithm 1)
 *             cyclosa     k past queries from the relays' tables (seeded with the training
 *                         queries, fed every message sent, the searches in time order), each
 *                         sent apart from another relay: an attacker that sees each message
 *                         alone finds the real query as under Tor (recall) while its precision
 *                         falls to about 1 / (k + 1)
 *             cyclosa-linked  the same messages, the k + 1 of a search linked (by timing) and
 *                         attacked with the OR rule, as the papers score obfuscated queries
 *             cyclosa-adaptive(-linked)  k per query by Cyclosa's rule (k_max 7 when WordNet
 *                         finds a sensitive term, else round(l * 7), l the similarity to the
 *                         user's own past queries); its row's k is k_max, and rows
 *                         kdist,cyclosa,K,share give how many queries got each k
 *   accuracy  precision, recall of the filtered results against the engine's results for the
 *             query alone (10 hits), filter words (Algorithm 2) and match, through the proxy
 *   latency   p50 ms, p99 ms, requests/s of one client through the proxy (engine included),
 *             and of the engine asked directly (system direct)
 *   throughput  requests/s, p50 ms, and the target (25,000/s) of the proxy with the
 *             engine's answers cached in its enclave (system cached, k = 3): CLIENTS threads
 *             post requests sealed beforehand (the clients' HPKE is not the proxy's cost);
 *             every request is opened, checked against replays, obfuscated, answered from the
 *             cache, filtered and sealed back. H holds one query and every request asks for
 *             it, so that every OR-ed query is one the enclave has seen: the cache always hits.
 *             Then as many GET /v1/info (system http_only): the same HTTP, no enclave call.
 *
 * The engine and the proxy (proc enclave) run in this process on 127.0.0.1. `bench_xsearch DIR
 * throughput` runs the throughput part alone. */
#include <cloister/cyclosa.h>
#include <cloister/search_engine.h>
#include <cloister/tee_enclave.h>
#include <cloister/xsearch.h>
#include <cloister/xsearch_client.h>
#include <cloister/xsearch_proxy.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "http/http.h"
#include "util/prng.h"

TEE_ENCLAVE_DECLARE(xsearch);

#define USERS 100
#define STEP 4          /* every STEP-th test query is attacked */
#define ACC_QUERIES 150 /* test queries of the accuracy and latency runs */
#define HITS 10
#define CLIENTS 8
#define TARGET_RPS 25000
#define TARGET_CORES 4 /* the paper's i7-6700 */
/* Requests of the throughput run; XSEARCH_BENCH_REQUESTS sets it (`cloister reproduce
 * --quick`), as XSEARCH_BENCH_USERS sets the users of the synthetic log (default 100). */
#ifdef __SANITIZE_ADDRESS__
static size_t cached_requests = 2000;
#else
static size_t cached_requests = 40000;
#endif

struct vocab {
    char **w;
    size_t n, cap;
};

static int add_word(const char *term, size_t len, void *arg)
{
    struct vocab *v = arg;
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 4096;
        v->w = realloc(v->w, v->cap * sizeof *v->w);
    }
    v->w[v->n++] = strndup(term, len);
    return 0;
}

/* A dictionary fake of `words` uniform words of the log's vocabulary (with repeats, as the
 * words of the log: frequent words come up more). */
static void dict_fake(const struct vocab *v, unsigned words, uint64_t *rng, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (unsigned i = 0; i < words; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "",
                                v->w[prng_next(rng) % v->n]);
}

static unsigned word_count(const char *q)
{
    char buf[SEARCH_QUERY_MAX + 1];
    size_t n = search_canonical(q, strlen(q), buf, sizeof buf);
    unsigned words = n ? 1 : 0;
    for (size_t i = 0; i < n; i++)
        words += buf[i] == ' ';
    return words ? words : 1;
}

struct tally {
    size_t queries, answered, correct;
};

/* The OR rule over parts (the real one at real): counts an answer, and a right one. */
static void attack_or(const search_attack *a, char parts[][SEARCH_QUERY_MAX + 1], size_t n,
                      size_t real, uint32_t user, struct tally *t)
{
    const char *subs[SEARCH_K_MAX + 1];
    size_t lens[SEARCH_K_MAX + 1], which;
    uint32_t who;
    for (size_t i = 0; i < n; i++) {
        subs[i] = parts[i];
        lens[i] = strlen(parts[i]);
    }
    t->queries++;
    if (search_attack_attribute_or(a, subs, lens, n, &which, &who)) {
        t->answered++;
        t->correct += which == real && who == user;
    }
}

/* Each part sent alone: every attribution is an answer; the right one is the real query's. */
static void attack_apart(const search_attack *a, char parts[][SEARCH_QUERY_MAX + 1], size_t n,
                         size_t real, uint32_t user, struct tally *t)
{
    t->queries++;
    for (size_t i = 0; i < n; i++) {
        uint32_t who;
        double sim;
        if (search_attack_attribute(a, parts[i], strlen(parts[i]), &who, &sim)) {
            t->answered++;
            t->correct += i == real && who == user;
        }
    }
}

static void print_reid(const char *sys, unsigned k, const struct tally *t)
{
    double q = (double)t->queries;
    printf("reid,%s,%u,%.4f,%.4f,%.4f\n", sys, k, t->correct / q,
           t->answered ? (double)t->correct / (double)t->answered : 0.0, t->correct / q);
}

/* The attacker built from user's own training queries (train sorted by user): SimAttack's
 * similarity computed on the client. */
static search_attack *own_history(const struct search_log *train, uint32_t user)
{
    size_t from = 0, to;
    while (from < train->n && train->q[from].user != user)
        from++;
    for (to = from; to < train->n && train->q[to].user == user;)
        to++;
    const struct search_log mine = {train->q + from, to - from, to - from};
    search_attack *own = NULL;
    if (to > from && search_attack_new(&mine, &own, NULL) != CLOISTER_OK)
        exit(1);
    return own;
}

/* ---- Cyclosa: fakes from the relays' tables; the engine's view, apart or linked ---- */

/* The relays' tables as one ring (a fake drawn from some relay's table is a query that went
 * through the network before, drawn uniformly): seeded with the training queries (the past),
 * then fed every message a search sends, real or fake, as every relay adds what it receives. */
struct relay_table {
    const char **q;
    size_t n, at;
};

static int by_time(const void *x, const void *y)
{
    const struct search_query *a = *(const struct search_query *const *)x,
                              *b = *(const struct search_query *const *)y;
    return a->time != b->time ? (a->time > b->time) - (a->time < b->time)
                              : (a->user > b->user) - (a->user < b->user);
}

/* Every STEP-th test query, with the k it gets (ks[i / STEP]), sent in time order (the network
 * carries every user's searches interleaved) from k + 1 relays, the fakes drawn from the relays'
 * tables. Two attackers at the engine: one that sees each message alone (row sys: recall stays
 * near Tor's, precision falls to about 1 / (k + 1)), and one that links the k + 1 messages of a
 * search (their timing) and runs SimAttack's OR rule on them as on an X-Search query (row
 * sys-linked: the paper's re-identification). */
static void reid_cyclosa(const struct search_log *train, const struct search_log *test,
                         const search_attack *a, const unsigned *ks, const char *sys,
                         unsigned row_k)
{
    static char parts[SEARCH_K_MAX + 1][SEARCH_QUERY_MAX + 1];
    size_t n = (test->n + STEP - 1) / STEP;
    const struct search_query **order = malloc(n * sizeof *order);
    struct relay_table t = {malloc(train->n * sizeof *t.q), train->n, 0};
    if (!order || !t.q)
        exit(1);
    for (size_t i = 0; i < n; i++)
        order[i] = &test->q[i * STEP];
    qsort(order, n, sizeof *order, by_time);
    for (size_t i = 0; i < train->n; i++)
        t.q[i] = train->q[i].text;
    struct tally apart = {0}, linked = {0};
    uint64_t rng = 7000 + row_k;
    for (size_t i = 0; i < n; i++) {
        const struct search_query *q = order[i];
        unsigned k = ks[(size_t)(q - test->q) / STEP];
        size_t real = prng_next(&rng) % (k + 1);
        const char *sent[SEARCH_K_MAX + 1];
        for (size_t j = 0; j <= k; j++) {
            sent[j] = j == real ? q->text : t.q[prng_next(&rng) % t.n];
            snprintf(parts[j], sizeof parts[j], "%s", sent[j]);
        }
        attack_apart(a, parts, k + 1, real, q->user, &apart);
        attack_or(a, parts, k + 1, real, q->user, &linked);
        for (size_t j = 0; j <= k; j++) { /* every relay adds what it received */
            t.q[t.at] = sent[j];
            t.at = (t.at + 1) % t.n;
        }
    }
    char linked_sys[64];
    snprintf(linked_sys, sizeof linked_sys, "%s-linked", sys);
    print_reid(sys, row_k, &apart);
    print_reid(linked_sys, row_k, &linked);
    free(order);
    free(t.q);
}

/* Cyclosa at each fixed k, then with the adaptive k (its row's k is k_max). */
static void reid_cyclosa_all(const struct search_log *train, const struct search_log *test,
                             const search_attack *a)
{
    size_t n = (test->n + STEP - 1) / STEP;
    unsigned *ks = malloc(n * sizeof *ks);
    if (!ks)
        exit(1);
    for (unsigned k = 0; k <= 7; k++) {
        for (size_t i = 0; i < n; i++)
            ks[i] = k;
        reid_cyclosa(train, test, a, ks, "cyclosa", k);
    }
    struct cloister_err err;
    cyclosa_sens *s;
    if (cyclosa_sens_load(NULL, &s, &err) != CLOISTER_OK) {
        fprintf(stderr, "cyclosa-adaptive skipped: %s\n", err.msg);
        free(ks);
        return;
    }
    size_t per_k[CYCLOSA_K_MAX + 1] = {0};
    search_attack *own = NULL;
    uint32_t user = UINT32_MAX;
    for (size_t i = 0; i < test->n; i += STEP) {
        const struct search_query *q = &test->q[i];
        if (q->user != user) {
            search_attack_free(own);
            own = own_history(train, user = q->user);
        }
        ks[i / STEP] = cyclosa_sens_k(s, own, q->text, strlen(q->text), CYCLOSA_K_MAX, NULL);
        per_k[ks[i / STEP]]++;
    }
    reid_cyclosa(train, test, a, ks, "cyclosa-adaptive", CYCLOSA_K_MAX);
    for (unsigned k = 0; k <= CYCLOSA_K_MAX; k++)
        printf("kdist,cyclosa,%u,%.4f,0,0\n", k, (double)per_k[k] / (double)n);
    search_attack_free(own);
    cyclosa_sens_free(s);
    free(ks);
}

static void reid(const struct search_log *log)
{
    struct search_log train, test;
    search_attack *a;
    struct vocab v = {0};
    if (search_log_split(log, &train, &test) != CLOISTER_OK ||
        search_attack_new(&train, &a, NULL) != CLOISTER_OK)
        exit(1);
    for (size_t i = 0; i < log->n; i++)
        search_terms(log->q[i].text, strlen(log->q[i].text), add_word, &v);
    static char parts[SEARCH_K_MAX + 1][SEARCH_QUERY_MAX + 1];
    printf("reid,direct,0,1.0000,1.0000,1.0000\n");
    for (unsigned k = 0; k <= 7; k++) {
        struct tally tmn = {0}, goo = {0}, xs = {0};
        uint64_t rng = 1000 + k;
        for (size_t i = 0; i < test.n; i += STEP) {
            const struct search_query *q = &test.q[i];
            size_t real = prng_next(&rng) % (k + 1);
            for (size_t s = 0; s <= k; s++) /* X-Search: pooled past queries */
                snprintf(parts[s], sizeof parts[s], "%s",
                         s == real ? q->text : train.q[prng_next(&rng) % train.n].text);
            attack_or(a, parts, k + 1, real, q->user, &xs);
            for (size_t s = 0; s <= k; s++)
                if (s != real)
                    dict_fake(&v, word_count(q->text), &rng, parts[s], sizeof parts[s]);
            attack_or(a, parts, k + 1, real, q->user, &goo);
            for (size_t s = 0; s <= k; s++)
                if (s != real)
                    dict_fake(&v, 1 + (unsigned)(prng_next(&rng) % 3), &rng, parts[s],
                              sizeof parts[s]);
            attack_apart(a, parts, k + 1, real, q->user, &tmn);
        }
        if (k == 0)
            print_reid("tor", 0, &xs);
        print_reid("trackmenot", k, &tmn);
        print_reid("goopir", k, &goo);
        if (k)
            print_reid("xsearch", k, &xs);
        fflush(stdout);
    }
    for (size_t i = 0; i < v.n; i++)
        free(v.w[i]);
    free(v.w);
    reid_cyclosa_all(&train, &test, a);
    search_attack_free(a);
    free(train.q);
    free(test.q);
}

static bool same_url(const struct search_hits *h, const char *url)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].url, url) == 0)
            return true;
    return false;
}

/* The engine's answer for q alone (direct, no proxy); ms its latency. */
static int direct(const char *engine, const char *q, struct search_hits *h, double *ms)
{
    char path[4 * SEARCH_QUERY_MAX], *reply = NULL, *p = path;
    unsigned status;
    p += sprintf(p, "/search?n=%d&q=", HITS);
    for (const char *c = q; *c; c++)
        p += (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ? sprintf(p, "%c", *c)
                                                                  : sprintf(p, "%%%02X", *c);
    double t0 = bench_now_ns();
    int rc = http_call(engine, "GET", path, NULL, NULL, 0, 1 << 22, &status, &reply, NULL);
    *ms = (bench_now_ns() - t0) / 1e6;
    if (rc == CLOISTER_OK && status == 200)
        rc = xsearch_engine_parse(reply, strlen(reply), h, NULL);
    else
        rc = CLOISTER_E_FAILED;
    free(reply);
    return rc;
}

static void latency_row(const char *sys, unsigned k, double *ms, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += ms[i];
    printf("latency,%s,%u,%.3f,%.3f,%.1f\n", sys, k, bench_quantile(ms, n, 0.5),
           bench_quantile(ms, n, 0.99), 1000.0 * (double)n / total);
}

/* The proxy with options o and a client of it (exits on failure). */
static void start_proxy(const struct xsearch_proxy_options *o, xsearch_proxy **p,
                        xsearch_client **c)
{
    struct cloister_err err;
    uint8_t mre[32];
    char ep[64];
    if (xsearch_proxy_start(o, p, &err) != CLOISTER_OK) {
        fprintf(stderr, "proxy: %s\n", err.msg);
        exit(1);
    }
    xsearch_proxy_mrenclave(*p, mre);
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)xsearch_proxy_port(*p));
    struct xsearch_trust t = {ep, NULL, mre, true};
    if (xsearch_client_new(&t, c, &err) != CLOISTER_OK) {
        fprintf(stderr, "client: %s\n", err.msg);
        exit(1);
    }
}

struct poster {
    xsearch_client *c;
    const char *info; /* not NULL: GET /v1/info of this proxy instead (no enclave call) */
    uint8_t **req;
    size_t *len;
    double *ms;
    atomic_size_t *next;
    atomic_size_t *failed;
    _Atomic double *client_cpu; /* seconds of CPU the posting threads used */
};

static double cpu_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds used so far by this process's child processes (the proc enclave), from
 * /proc/PID/stat (utime and stime). */
static double children_cpu_s(void)
{
    double total = 0;
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *t; d && (t = readdir(d));) {
        char path[PATH_MAX], stat[PATH_MAX];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", t->d_name);
        FILE *f = fopen(path, "r");
        for (int pid; f && fscanf(f, "%d", &pid) == 1;) {
            snprintf(stat, sizeof stat, "/proc/%d/stat", pid);
            FILE *s = fopen(stat, "r");
            unsigned long ut = 0, st = 0;
            if (s && fscanf(s, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &ut, &st) == 2)
                total += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
            if (s)
                fclose(s);
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return total;
}

static void *post_all(void *arg)
{
    struct poster *w = arg;
    for (size_t i; (i = atomic_fetch_add(w->next, 1)) < cached_requests;) {
        uint8_t *resp;
        size_t resplen;
        unsigned status = 0;
        double t0 = bench_now_ns();
        int rc = w->info ? http_call(w->info, "GET", "/v1/info", NULL, NULL, 0, 4096, &status,
                                     (char **)&resp, NULL)
                         : xsearch_client_post(w->c, w->req[i], w->len[i], &resp, &resplen, NULL);
        if (rc != CLOISTER_OK)
            atomic_fetch_add(w->failed, 1);
        else
            free(resp);
        w->ms[i] = (bench_now_ns() - t0) / 1e6;
    }
    double used = cpu_s(CLOCK_THREAD_CPUTIME_ID), seen = atomic_load(w->client_cpu);
    while (!atomic_compare_exchange_weak(w->client_cpu, &seen, seen + used))
        ;
    return NULL;
}

static void throughput(const char *engine_ep, const char *query)
{
    struct xsearch_proxy_options o = {.engine = engine_ep,
                                      .listen = "127.0.0.1:0",
                                      .backend = "proc",
                                      .enclave = &tee_enclave_xsearch,
                                      .history = 1};
    xsearch_proxy *p;
    xsearch_client *c;
    struct cloister_err err;
    uint8_t pk[32], enc[HPKE_ENC_LEN], key[32];
    struct search_hits h;
    start_proxy(&o, &p, &c);
    if (xsearch_client_search(c, query, 0, SEARCH_FILTER_MATCH, HITS, &h, &err) != CLOISTER_OK ||
        (search_hits_free(&h), 0) ||
        xsearch_client_search(c, query, 3, SEARCH_FILTER_MATCH, HITS, &h, &err) != CLOISTER_OK) {
        fprintf(stderr, "throughput: %s\n", err.msg);
        exit(1);
    }
    search_hits_free(&h);
    xsearch_client_key(c, pk);
    struct xsearch_request rq = {3, SEARCH_FILTER_MATCH, HITS, ""};
    snprintf(rq.query, sizeof rq.query, "%s", query);
    uint8_t **req = calloc(cached_requests, sizeof *req);
    size_t *len = calloc(cached_requests, sizeof *len);
    double *ms = calloc(cached_requests, sizeof *ms);
    for (size_t i = 0; i < cached_requests; i++)
        if (xsearch_request_seal(pk, &rq, &req[i], &len[i], enc, key, NULL) != CLOISTER_OK)
            exit(1);
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)xsearch_proxy_port(p));
    /* the searches, then as many GET /v1/info: the same HTTP without the enclave, side by side */
    for (int run = 0; run < 2; run++) {
        atomic_size_t next = 0, failed = 0;
        _Atomic double client_cpu = 0;
        struct poster w = {c, run ? ep : NULL, req, len, ms, &next, &failed, &client_cpu};
        pthread_t th[CLIENTS];
        double t0 = bench_now_ns(), cpu0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID) + children_cpu_s();
        for (int i = 0; i < CLIENTS; i++)
            pthread_create(&th[i], NULL, post_all, &w);
        for (int i = 0; i < CLIENTS; i++)
            pthread_join(th[i], NULL);
        double secs = (bench_now_ns() - t0) / 1e9;
        /* the server's CPU: this process's and the enclave's, less the posting threads' */
        double server = cpu_s(CLOCK_PROCESS_CPUTIME_ID) + children_cpu_s() - cpu0 -
                        atomic_load(&client_cpu);
        double done = (double)(cached_requests - atomic_load(&failed)), rps = done / secs;
        double per_core = server > 0 ? done / server : 0;
        const char *sys = run ? "http_only" : "cached";
        printf("throughput,%s,%d,%.0f,%.3f,%d\n", sys, run ? 0 : 3, rps,
               bench_quantile(ms, cached_requests, 0.5), TARGET_RPS);
        printf("throughput_cpu,%s,%d,%.0f,%.1f,%d\n", sys, run ? 0 : 3, per_core,
               per_core > 0 ? 1e6 / per_core : 0, TARGET_RPS / TARGET_CORES);
        fprintf(stderr,
                "proxy, %s: %.0f requests/s (target %d), p50 %.2f ms, %zu failed; server CPU "
                "%.1f us a request: %.0f requests per CPU-second (target %d per core of the "
                "paper's %d)\n",
                run ? "GET /v1/info alone (the HTTP ceiling)" : "searches with cached answers", rps,
                TARGET_RPS, bench_quantile(ms, cached_requests, 0.5), atomic_load(&failed),
                per_core > 0 ? 1e6 / per_core : 0, per_core, TARGET_RPS / TARGET_CORES,
                TARGET_CORES);
    }
    for (size_t i = 0; i < cached_requests; i++)
        free(req[i]);
    free(req);
    free(len);
    free(ms);
    xsearch_client_free(c);
    xsearch_proxy_stop(p);
}

static bool throughput_only;

static void accuracy(const struct search_log *log, const char *dir)
{
    char corpus[PATH_MAX], engine_ep[64];
    struct search_log train, test;
    search_engine *e;
    xsearch_proxy *p;
    xsearch_client *c;
    struct search_corpus_options co = {20000, 1};
    snprintf(corpus, sizeof corpus, "%s/xsearch-corpus.db", dir);
    if (search_log_split(log, &train, &test) != CLOISTER_OK ||
        search_corpus_build(log, &co, corpus, NULL) != CLOISTER_OK ||
        search_engine_start(corpus, "127.0.0.1:0", NULL, &e, NULL) != CLOISTER_OK)
        exit(1);
    snprintf(engine_ep, sizeof engine_ep, "127.0.0.1:%u", (unsigned)search_engine_port(e));
    struct xsearch_proxy_options o = {.engine = engine_ep,
                                      .listen = "127.0.0.1:0",
                                      .backend = "proc",
                                      .enclave = &tee_enclave_xsearch,
                                      .k_max = 7};
    struct cloister_err err;
    start_proxy(&o, &p, &c);
    struct search_hits h, base[ACC_QUERIES];
    for (size_t i = 0; i < 300; i++) { /* H filled with past queries of all users */
        if (xsearch_client_search(c, train.q[i * (train.n / 300)].text, 0, SEARCH_FILTER_NONE, 1,
                                  &h, &err) == CLOISTER_OK)
            search_hits_free(&h);
    }
    static double ms[ACC_QUERIES];
    size_t step = test.n / ACC_QUERIES;
    for (size_t i = 0; i < ACC_QUERIES; i++)
        if (direct(engine_ep, test.q[i * step].text, &base[i], &ms[i]) != CLOISTER_OK)
            base[i] = (struct search_hits){0};
    latency_row("direct", 0, ms, ACC_QUERIES);
    for (unsigned k = 0; k <= 7 && !throughput_only; k++) {
        for (int f = SEARCH_FILTER_WORDS; f <= SEARCH_FILTER_MATCH; f++) {
            size_t kept = 0, right = 0, wanted = 0;
            for (size_t i = 0; i < ACC_QUERIES; i++) {
                double t0 = bench_now_ns();
                if (xsearch_client_search(c, test.q[i * step].text, k, (enum search_filter)f, HITS,
                                          &h, &err) != CLOISTER_OK) {
                    fprintf(stderr, "search: %s\n", err.msg);
                    exit(1);
                }
                ms[i] = (bench_now_ns() - t0) / 1e6;
                kept += h.n;
                wanted += base[i].n;
                for (size_t j = 0; j < h.n; j++)
                    right += same_url(&base[i], h.v[j].url);
                search_hits_free(&h);
            }
            printf("accuracy,%s,%u,%.4f,%.4f,0\n", f == SEARCH_FILTER_WORDS ? "words" : "match", k,
                   kept ? (double)right / (double)kept : 1.0,
                   wanted ? (double)right / (double)wanted : 1.0);
            if (f == SEARCH_FILTER_MATCH)
                latency_row("xsearch", k, ms, ACC_QUERIES);
            fflush(stdout);
        }
    }
    for (size_t i = 0; i < ACC_QUERIES; i++)
        search_hits_free(&base[i]);
    xsearch_client_free(c);
    xsearch_proxy_stop(p);
    throughput(engine_ep, test.q[0].text);
    search_engine_stop(e);
    unlink(corpus);
    free(train.q);
    free(test.q);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    struct search_gen_options g;
    struct search_log log;
    search_gen_options_init(&g);
    const char *users = getenv("XSEARCH_BENCH_USERS"), *reqs = getenv("XSEARCH_BENCH_REQUESTS");
    g.users = users && atoi(users) > 0 ? (unsigned)atoi(users) : USERS;
    if (reqs && atoi(reqs) > 0)
        cached_requests = (size_t)atoi(reqs);
    if (search_gen_log(&g, &log, NULL) != CLOISTER_OK)
        return 1;
    printf("metric,system,k,a,b,c\n");
    throughput_only = argc > 2 && strcmp(argv[2], "throughput") == 0;
    if (!throughput_only)
        reid(&log);
    accuracy(&log, dir);
    search_log_free(&log);
    return 0;
}
