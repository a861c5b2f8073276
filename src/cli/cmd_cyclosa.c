/* cmd_cyclosa.c -- `cloister cyclosa ...`: Cyclosa. `node` serves a node (an enclave relay, a
 * peer of the gossip membership and the user's search page) until SIGINT or SIGTERM; `classify`
 * says of each query given whether it is sensitive (its WordNet topic), how linkable it is to
 * the user's past queries and so how many fakes k it gets; `sensitivity` runs that rule over
 * every test query of a log (each user's history: their training queries) and prints the
 * distribution of k. */
#include <cloister/cyclosa.h>
#include <cloister/cyclosa_node.h>
#include <cloister/tee_enclave.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "util/fileio.h"
#include "util/hex.h"

TEE_ENCLAVE_DECLARE(cyclosa);

#define LABELS_HEADER "AnonID\tQuery\tTopic\n"

static int load_sens(const char *wordnet, cyclosa_sens **s)
{
    struct cloister_err err;
    if (cyclosa_sens_load(wordnet, s, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    return CLI_OK;
}

/* The relay table's first queries when no --popular file is given. */
static const char *const popular_default[] = {
    "weather",         "news",    "facebook",    "youtube",         "google maps", "cheap flights",
    "football scores", "recipes", "movie times", "lottery results", "translate",   "bank login"};

/* The lines of path (one query each) into list, pointing into *text (malloc'd). */
static int read_popular(const char *path, char **text, const char ***list, size_t *n)
{
    size_t len = 0;
    *list = NULL;
    *n = 0;
    if (file_read_all(path, (size_t)16 << 20, (uint8_t **)text, &len) != 0)
        return cli_fail("%s: cannot read", path);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += (*text)[i] == '\n';
    if (!(*list = calloc(lines, sizeof **list)))
        return cli_fail("out of memory");
    for (char *save = NULL, *t = strtok_r(*text, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
        (*list)[(*n)++] = t;
    return CLI_OK;
}

static int run_node(const struct cyclosa_node_options *o)
{
    cyclosa_node *n;
    struct cloister_err err;
    cli_stop_signals_block();
    if (cyclosa_node_start(o, &n, &err) != CLOISTER_OK)
        return cli_fail("cyclosa node: %s", err.msg);
    uint8_t mre[32];
    char hex[65];
    cyclosa_node_mrenclave(n, mre);
    hex_encode(hex, mre, 32);
    printf("cyclosa node %s; api on port %u; enclave MRENCLAVE %s\n", cyclosa_node_addr(n),
           (unsigned)cyclosa_node_api_port(n), hex);
    fflush(stdout);
    cli_stop_signals_wait("cyclosa node");
    cyclosa_node_stop(n);
    return CLI_OK;
}

static int cmd_node(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *api = NULL, *engine = NULL, *tee = NULL, *popular = NULL,
               *wordnet = NULL, *engine_ca = NULL;
    struct opt_list seeds = {0};
    long long view = CYCLOSA_VIEW_DEFAULT, gossip = 1000, rate = 0, k_max = CYCLOSA_K_MAX;
    bool no_wordnet = false;
    const struct opt_def opts[] = {
        {"engine", OPT_STRING, &engine, "IP:PORT", "the search engine (search engine)",
         OPT_REQUIRED, 0, 0},
        {"engine-ca", OPT_STRING, &engine_ca, "FILE",
         "ask the engine over HTTPS, its certificate issued by this CA (PEM); the TLS session "
         "lives in the enclave",
         0, 0, 0},
        {"listen", OPT_STRING, &listen, "IP:PORT", "where peers reach this node (port 0: any)", 0,
         0, 0},
        {"api", OPT_STRING, &api, "127.0.0.1:PORT", "the user's search page and JSON API", 0, 0, 0},
        {"seed", OPT_LIST, &seeds, "IP:PORT", "a peer to start from (repeatable)", 0, 0, 0},
        {"popular", OPT_STRING, &popular, "FILE", "the relay table's first queries, one a line", 0,
         0, 0},
        {"tee", OPT_STRING, &tee, "proc|sim", "enclave backend (default: proc)", 0, 0, 0},
        {"view", OPT_INT, &view, "C", "peers in the peer-sampling view", 0, 2, CYCLOSA_VIEW_MAX},
        {"gossip-ms", OPT_INT, &gossip, "MS", "period of the gossip exchanges", 0, 10, 600000},
        {"engine-rate", OPT_INT, &rate, "N", "queries per second sent to the engine (0: any)", 0, 0,
         1000000},
        {"k-max", OPT_INT, &k_max, "K", "fakes for a sensitive query", 0, 1, SEARCH_K_MAX},
        {"wordnet", OPT_STRING, &wordnet, "DIR", "WordNet 3.0 database (" CYCLOSA_WORDNET_DIR ")",
         0, 0, 0},
        {"no-wordnet", OPT_FLAG, &no_wordnet, NULL, "no semantic test (linkability only)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "cyclosa node",
        "",
        "Serve a Cyclosa node (client, relay and enclave) until SIGINT or SIGTERM",
        opts,
        0,
        0,
        "The node joins the peers reachable from its seeds by gossip peer sampling, attests their\n"
        "enclaves (same MRENCLAVE as its own) and relays their queries to the engine from its own\n"
        "address. A search (POST /v1/search on --api, or the page at /) sends the real query to\n"
        "one peer and k past queries of the enclave's relay table to k others; k is k-max for a\n"
        "sensitive query. Prints its address, the API's port and the enclave's MRENCLAVE.",
        "cloister cyclosa node --engine 127.0.0.1:8080 --listen 127.0.0.2:7000 "
        "--api 127.0.0.1:8480\n"
        "cloister cyclosa node --engine 127.0.0.1:8080 --listen 127.0.0.3:0 --seed "
        "127.0.0.2:7000\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    cyclosa_sens *s = NULL;
    char *text = NULL;
    const char **list = NULL;
    size_t npop = 0;
    if (!no_wordnet)
        rc = load_sens(wordnet, &s);
    if (rc == CLI_OK && popular)
        rc = read_popular(popular, &text, &list, &npop);
    struct cyclosa_node_options o = {
        .listen = listen,
        .api = api,
        .engine = engine,
        .engine_ca = engine_ca,
        .seeds = seeds.v,
        .nseeds = (size_t)seeds.n,
        .popular = popular ? list : (const char *const *)popular_default,
        .npopular = popular ? npop : sizeof popular_default / sizeof *popular_default,
        .backend = tee,
        .enclave = &tee_enclave_cyclosa,
        .view = (size_t)view,
        .gossip_ms = (unsigned)gossip,
        .engine_rate = (double)rate,
        .k_max = (unsigned)k_max,
        .sens = s};
    if (rc == CLI_OK)
        rc = run_node(&o);
    free(list);
    free(text);
    cyclosa_sens_free(s);
    return rc;
}

/* The attacker built from one user's queries of log (none: NULL, and CLI_OK). */
static int user_history(const char *path, long long user, struct search_log *log,
                        struct search_log *mine, search_attack **own)
{
    struct cloister_err err;
    *own = NULL;
    if (!path)
        return CLI_OK;
    if (search_log_read(path, log, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    for (size_t i = 0; i < log->n; i++)
        if (log->q[i].user == (uint32_t)user) {
            if (!mine->n)
                mine->q = log->q + i;
            mine->n++;
        }
    mine->cap = mine->n;
    if (!mine->n)
        return cli_fail("%s: no query of user %lld", path, user);
    if (search_attack_new(mine, own, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    return CLI_OK;
}

static int cmd_classify(int argc, char **argv)
{
    const char *wordnet = NULL, *history = NULL;
    long long user = 0, k_max = CYCLOSA_K_MAX;
    bool json = false;
    const struct opt_def opts[] = {
        {"wordnet", OPT_STRING, &wordnet, "DIR", "WordNet 3.0 database (" CYCLOSA_WORDNET_DIR ")",
         0, 0, 0},
        {"history", OPT_STRING, &history, "LOG", "the user's past queries (AOL format)", 0, 0, 0},
        {"user", OPT_INT, &user, "ID", "whose queries of --history count", 0, 0, UINT32_MAX},
        {"k-max", OPT_INT, &k_max, "K", "fakes for a sensitive query", 0, 0, SEARCH_K_MAX},
        {"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "cyclosa classify",
        "QUERY...",
        "Say how many fake queries each query gets",
        opts,
        1,
        -1,
        "A query is sensitive when a term of it, or two or three adjacent terms read as one "
        "WordNet expression, falls under WordNet's hyponyms of health, religion, sexuality or "
        "politics: it gets k-max fakes. Otherwise it gets round(l * k-max), l being SimAttack's "
        "similarity of the query to the user's past queries (0 without --history).",
        "cloister cyclosa classify 'flu symptoms' 'cheap flights'\n"
        "cloister cyclosa classify --history aol100.tsv --user 100000 --json 'hotel rome'\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    cyclosa_sens *s = NULL;
    search_attack *own = NULL;
    struct search_log log = {0}, mine = {0};
    rc = load_sens(wordnet, &s);
    if (rc == CLI_OK)
        rc = user_history(history, user, &log, &mine, &own);
    json_t *all = json ? json_array() : NULL;
    for (int i = 0; rc == CLI_OK && i < nargs; i++) {
        double l;
        size_t len = strlen(argv[i]);
        enum cyclosa_topic t = cyclosa_sens_topic(s, argv[i], len);
        unsigned k = cyclosa_sens_k(s, own, argv[i], len, (unsigned)k_max, &l);
        if (json)
            json_array_append_new(all, json_pack("{s:s,s:s,s:f,s:I}", "query", argv[i], "topic",
                                                 cyclosa_topic_name(t), "linkability", l, "k",
                                                 (json_int_t)k));
        else
            printf("%-40s topic %-9s linkability %.2f  k = %u\n", argv[i], cyclosa_topic_name(t), l,
                   k);
    }
    if (json && rc == CLI_OK)
        rc = cli_json_print(all);
    else
        json_decref(all);
    search_attack_free(own);
    search_log_free(&log);
    cyclosa_sens_free(s);
    return rc;
}

struct k_stats {
    size_t queries, sensitive, per_topic[CYCLOSA_TOPICS], per_k[SEARCH_K_MAX + 1];
};

/* Classifies the test queries of the user whose training queries are train[0, n). */
static int stats_user(const cyclosa_sens *s, const struct search_log *train,
                      const struct search_query *test, size_t ntest, unsigned k_max,
                      struct k_stats *st)
{
    search_attack *own;
    struct cloister_err err;
    if (search_attack_new(train, &own, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    for (size_t i = 0; i < ntest; i++) {
        size_t len = strlen(test[i].text);
        enum cyclosa_topic t = cyclosa_sens_topic(s, test[i].text, len);
        st->queries++;
        st->sensitive += t != CYCLOSA_TOPIC_NONE;
        st->per_topic[t]++;
        st->per_k[cyclosa_sens_k(s, own, test[i].text, len, k_max, NULL)]++;
    }
    search_attack_free(own);
    return CLI_OK;
}

/* The labels as a TSV (AnonID, Query, Topic), one row per query of log, in its order. */
static int write_labels(const char *path, const struct search_log *log, const uint8_t *labels)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return cli_fail("out of memory");
    fputs(LABELS_HEADER, f);
    for (size_t i = 0; i < log->n; i++)
        fprintf(f, "%u\t%s\t%s\n", (unsigned)log->q[i].user, log->q[i].text,
                cyclosa_topic_name((enum cyclosa_topic)labels[i]));
    int rc = fclose(f) == 0 ? cli_write_file(path, "labels", buf, len, 0644)
                            : cli_fail("out of memory");
    free(buf);
    return rc;
}

static int cmd_gen_log(int argc, char **argv)
{
    const char *out = NULL, *labels = NULL, *wordnet = NULL;
    long long users = 100, seed = 1, percent = 50;
    const struct opt_def opts[] = {
        {"users", OPT_INT, &users, "N", "users (AOL100: 100)", 0, 1, 6000},
        {"seed", OPT_INT, &seed, "N", "generator seed: one seed, one log", 0, 0, INT64_MAX},
        {"real-topics", OPT_INT, &percent, "PERCENT", "interests drawn from real words", 0, 1, 100},
        {"out", OPT_STRING, &out, "LOG", "the log to write (AOL format)", OPT_REQUIRED, 0, 0},
        {"labels", OPT_STRING, &labels, "FILE", "each query's topic (AnonID, Query, Topic)",
         OPT_REQUIRED, 0, 0},
        {"wordnet", OPT_STRING, &wordnet, "DIR", "WordNet 3.0 database (" CYCLOSA_WORDNET_DIR ")",
         0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "cyclosa gen-log",
        "",
        "Write a synthetic query log labelled with sensitive topics",
        opts,
        0,
        0,
        "search gen-log's log, except that --real-topics percent of the users' interests draw "
        "their words from "
        "real English nouns: half of them from WordNet nouns the semantic test does not flag, "
        "the other half from the sensitive-topic dictionary's health, religion, sexuality and "
        "politics words alike. --labels gets every query's label: the topic of its first word "
        "drawn from a sensitive interest, or none. cyclosa sensitivity --labels scores the "
        "classifier "
        "on it.",
        "cloister cyclosa gen-log --users 10 --out lab10.tsv --labels lab10.labels\n"
        "cloister cyclosa sensitivity --log lab10.tsv --labels lab10.labels\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    cyclosa_sens *s = NULL;
    struct cyclosa_vocab v = {0};
    struct search_log log = {0};
    struct cloister_err err;
    uint8_t *label = NULL;
    rc = load_sens(wordnet, &s);
    if (rc == CLI_OK && cyclosa_vocab_load(s, wordnet, &v, &err) != CLOISTER_OK)
        rc = cli_fail("%s", err.msg);
    struct search_gen_options o;
    search_gen_options_init(&o);
    o.users = (unsigned)users;
    o.seed = (uint64_t)seed;
    o.real_topics = (double)percent / 100;
    /* as many neutral interests as sensitive ones, the four topics alike */
    const struct search_gen_vocab mix[] = {v.topic[0], v.topic[1], v.topic[0], v.topic[2],
                                           v.topic[0], v.topic[3], v.topic[0], v.topic[4]};
    o.vocab = mix;
    o.nvocab = sizeof mix / sizeof *mix;
    o.labels = &label;
    if (rc == CLI_OK && (search_gen_log(&o, &log, &err) != CLOISTER_OK ||
                         search_log_write(out, &log, &err) != CLOISTER_OK))
        rc = cli_fail("%s", err.msg);
    if (rc == CLI_OK)
        rc = write_labels(labels, &log, label);
    if (rc == CLI_OK)
        fprintf(stderr, "wrote %zu queries of %u users to %s, their labels to %s\n", log.n, o.users,
                out, labels);
    free(label);
    search_log_free(&log);
    cyclosa_vocab_free(&v);
    cyclosa_sens_free(s);
    return rc;
}

/* The topic named name (cyclosa_topic_name), or CYCLOSA_TOPICS. */
static int topic_named(const char *name)
{
    for (int t = 0; t < CYCLOSA_TOPICS; t++)
        if (strcmp(name, cyclosa_topic_name((enum cyclosa_topic)t)) == 0)
            return t;
    return CYCLOSA_TOPICS;
}

/* Scores the semantic test on a labels file (write_labels' format). */
static int score_labels(const cyclosa_sens *s, const char *path, struct cyclosa_score *sc)
{
    uint8_t *buf;
    size_t len, line = 1, hl = strlen(LABELS_HEADER);
    if (file_read_all(path, (size_t)1 << 30, &buf, &len) != 0)
        return cli_fail("%s: cannot read", path);
    if (len < hl || memcmp(buf, LABELS_HEADER, hl) != 0) {
        free(buf);
        return cli_fail("%s: not a labels file (AnonID, Query, Topic)", path);
    }
    int rc = CLI_OK;
    char *save = NULL;
    for (char *l = strtok_r((char *)buf + hl, "\n", &save); l && rc == CLI_OK;
         l = strtok_r(NULL, "\n", &save)) {
        char *q = strchr(l, '\t'), *t = q ? strrchr(l, '\t') : NULL;
        int topic = t && t > q ? topic_named(t + 1) : CYCLOSA_TOPICS;
        line++;
        if (topic == CYCLOSA_TOPICS)
            rc = cli_fail("%s: line %zu: expected AnonID, Query and a topic, tab-separated", path,
                          line);
        else
            cyclosa_score_add(sc, (enum cyclosa_topic)topic,
                              cyclosa_sens_topic(s, q + 1, (size_t)(t - q - 1)));
    }
    free(buf);
    return rc;
}

static json_t *score_json(const struct cyclosa_score *sc)
{
    json_t *topics = json_object();
    for (int t = CYCLOSA_TOPIC_HEALTH; t < CYCLOSA_TOPICS; t++)
        json_object_set_new(topics, cyclosa_topic_name(t),
                            json_pack("{s:I,s:I}", "labelled", (json_int_t)sc->labelled[t],
                                      "flagged", (json_int_t)sc->flagged[t]));
    return json_pack("{s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:o}", "precision", cyclosa_score_precision(sc),
                     "recall", cyclosa_score_recall(sc), "tp", (json_int_t)sc->tp, "fp",
                     (json_int_t)sc->fp, "fn", (json_int_t)sc->fn, "tn", (json_int_t)sc->tn,
                     "right_topic", (json_int_t)sc->right_topic, "topics", topics);
}

static void print_score(const struct cyclosa_score *sc)
{
    printf("classifier on %zu labelled queries: precision %.3f, recall %.3f (tp %zu, fp %zu, "
           "fn %zu, tn %zu; %zu true positives under their own topic)\n",
           sc->tp + sc->fp + sc->fn + sc->tn, cyclosa_score_precision(sc), cyclosa_score_recall(sc),
           sc->tp, sc->fp, sc->fn, sc->tn, sc->right_topic);
    for (int t = CYCLOSA_TOPIC_HEALTH; t < CYCLOSA_TOPICS; t++)
        printf("  %-9s %zu labelled, %zu flagged\n", cyclosa_topic_name(t), sc->labelled[t],
               sc->flagged[t]);
}

/* The distribution of k, and the classifier's score when labels were given (sc). */
static int print_k_stats(const struct k_stats *st, unsigned k_max, const struct cyclosa_score *sc,
                         bool json)
{
    if (json) {
        json_t *ks = json_array(), *topics = json_object();
        for (unsigned k = 0; k <= k_max; k++)
            json_array_append_new(ks, json_integer((json_int_t)st->per_k[k]));
        for (int t = CYCLOSA_TOPIC_HEALTH; t < CYCLOSA_TOPICS; t++)
            json_object_set_new(topics, cyclosa_topic_name(t),
                                json_integer((json_int_t)st->per_topic[t]));
        json_t *j = json_pack("{s:I,s:I,s:o,s:o}", "queries", (json_int_t)st->queries, "sensitive",
                              (json_int_t)st->sensitive, "topics", topics, "k", ks);
        if (sc)
            json_object_set_new(j, "classifier", score_json(sc));
        return cli_json_print(j);
    }
    double n = st->queries ? (double)st->queries : 1;
    printf("%zu test queries, %zu sensitive (%.1f %%):", st->queries, st->sensitive,
           100.0 * (double)st->sensitive / n);
    for (int t = CYCLOSA_TOPIC_HEALTH; t < CYCLOSA_TOPICS; t++)
        printf(" %s %zu", cyclosa_topic_name(t), st->per_topic[t]);
    printf("\n  k   queries   share\n");
    for (unsigned k = 0; k <= k_max; k++)
        printf("%3u %9zu %6.1f %%\n", k, st->per_k[k], 100.0 * (double)st->per_k[k] / n);
    if (sc)
        print_score(sc);
    return CLI_OK;
}

static int cmd_sensitivity(int argc, char **argv)
{
    const char *wordnet = NULL, *path = NULL, *labels = NULL;
    long long k_max = CYCLOSA_K_MAX;
    bool json = false;
    const struct opt_def opts[] = {
        {"log", OPT_STRING, &path, "LOG", "query log (AOL format)", OPT_REQUIRED, 0, 0},
        {"labels", OPT_STRING, &labels, "FILE", "score the classifier on these (cyclosa gen-log)",
         0, 0, 0},
        {"wordnet", OPT_STRING, &wordnet, "DIR", "WordNet 3.0 database (" CYCLOSA_WORDNET_DIR ")",
         0, 0, 0},
        {"k-max", OPT_INT, &k_max, "K", "fakes for a sensitive query", 0, 0, SEARCH_K_MAX},
        {"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "cyclosa sensitivity",
        "",
        "The distribution of k that the adaptive rule gives a log's queries",
        opts,
        0,
        0,
        "Each user's queries are split by time as SimAttack's evaluation does: the first two "
        "thirds are the user's history, and every later query is classified against it "
        "(cyclosa classify). Prints how many are sensitive, per topic, and how many get each k. "
        "With "
        "--labels, the semantic test's precision and recall on every labelled query, sensitive "
        "being positive, and how many of each topic it flags.",
        "cloister search gen-log --users 10 --out log.tsv\n"
        "cloister cyclosa sensitivity --log log.tsv\n"
        "cloister cyclosa gen-log --users 10 --out lab.tsv --labels lab.labels\n"
        "cloister cyclosa sensitivity --log lab.tsv --labels lab.labels --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct search_log log = {0}, train = {0}, test = {0};
    struct cloister_err err;
    cyclosa_sens *s = NULL;
    rc = load_sens(wordnet, &s);
    if (rc == CLI_OK && search_log_read(path, &log, &err) != CLOISTER_OK)
        rc = cli_fail("%s", err.msg);
    if (rc == CLI_OK && search_log_split(&log, &train, &test) != CLOISTER_OK)
        rc = cli_fail("out of memory");
    struct k_stats st = {0};
    /* both parts are sorted by (user, time): walk them side by side, a user at a time */
    for (size_t a = 0, b = 0; rc == CLI_OK && a < train.n;) {
        uint32_t u = train.q[a].user;
        size_t a_end = a, b_end;
        while (a_end < train.n && train.q[a_end].user == u)
            a_end++;
        while (b < test.n && test.q[b].user < u)
            b++;
        for (b_end = b; b_end < test.n && test.q[b_end].user == u;)
            b_end++;
        const struct search_log mine = {train.q + a, a_end - a, a_end - a};
        rc = stats_user(s, &mine, test.q + b, b_end - b, (unsigned)k_max, &st);
        a = a_end;
        b = b_end;
    }
    struct cyclosa_score sc = {0};
    if (rc == CLI_OK && labels)
        rc = score_labels(s, labels, &sc);
    if (rc == CLI_OK)
        rc = print_k_stats(&st, (unsigned)k_max, labels ? &sc : NULL, json);
    free(train.q);
    free(test.q);
    search_log_free(&log);
    cyclosa_sens_free(s);
    return rc;
}

static const struct cli_command cyclosa_commands[] = {
    {"node", "serve a node: enclave relay, gossip peer, search page", cmd_node},
    {"classify", "how many fakes each query gets (sensitivity, linkability)", cmd_classify},
    {"sensitivity", "the distribution of k over a log's queries", cmd_sensitivity},
    {"gen-log", "a synthetic query log labelled with sensitive topics", cmd_gen_log},
    {0}};

const struct cli_system cli_cyclosa_system = {
    "cyclosa",
    "Private web search over P2P enclave relays with adaptive query obfuscation.",
    cyclosa_commands,
    cli_cyclosa_demo,
};
