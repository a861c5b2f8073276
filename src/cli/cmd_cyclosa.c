/* cmd_cyclosa.c -- `cloister cyclosa ...`: Cyclosa's adaptive obfuscation. `classify` says of
 * each query given whether it is sensitive (its WordNet topic), how linkable it is to the user's
 * past queries and so how many fakes k it gets; `sensitivity` runs that rule over every test
 * query of a log (each user's history: their training queries) and prints the distribution of k. */
#include <cloister/cyclosa.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"

static int load_sens(const char *wordnet, cyclosa_sens **s)
{
    struct cloister_err err;
    if (cyclosa_sens_load(wordnet, s, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    return CLI_OK;
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

static int print_k_stats(const struct k_stats *st, unsigned k_max, bool json)
{
    if (json) {
        json_t *ks = json_array(), *topics = json_object();
        for (unsigned k = 0; k <= k_max; k++)
            json_array_append_new(ks, json_integer((json_int_t)st->per_k[k]));
        for (int t = CYCLOSA_TOPIC_HEALTH; t < CYCLOSA_TOPICS; t++)
            json_object_set_new(topics, cyclosa_topic_name(t),
                                json_integer((json_int_t)st->per_topic[t]));
        return cli_json_print(json_pack("{s:I,s:I,s:o,s:o}", "queries", (json_int_t)st->queries,
                                        "sensitive", (json_int_t)st->sensitive, "topics", topics,
                                        "k", ks));
    }
    double n = st->queries ? (double)st->queries : 1;
    printf("%zu test queries, %zu sensitive (%.1f %%):", st->queries, st->sensitive,
           100.0 * (double)st->sensitive / n);
    for (int t = CYCLOSA_TOPIC_HEALTH; t < CYCLOSA_TOPICS; t++)
        printf(" %s %zu", cyclosa_topic_name(t), st->per_topic[t]);
    printf("\n  k   queries   share\n");
    for (unsigned k = 0; k <= k_max; k++)
        printf("%3u %9zu %6.1f %%\n", k, st->per_k[k], 100.0 * (double)st->per_k[k] / n);
    return CLI_OK;
}

static int cmd_sensitivity(int argc, char **argv)
{
    const char *wordnet = NULL, *path = NULL;
    long long k_max = CYCLOSA_K_MAX;
    bool json = false;
    const struct opt_def opts[] = {
        {"log", OPT_STRING, &path, "LOG", "query log (AOL format)", OPT_REQUIRED, 0, 0},
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
        "(cyclosa classify). Prints how many are sensitive, per topic, and how many get each k.",
        "cloister search gen-log --users 10 --out log.tsv\n"
        "cloister cyclosa sensitivity --log log.tsv\n"};
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
    if (rc == CLI_OK)
        rc = print_k_stats(&st, (unsigned)k_max, json);
    free(train.q);
    free(test.q);
    search_log_free(&log);
    cyclosa_sens_free(s);
    return rc;
}

static const struct cli_command cyclosa_commands[] = {
    {"classify", "how many fakes each query gets (sensitivity, linkability)", cmd_classify},
    {"sensitivity", "the distribution of k over a log's queries", cmd_sensitivity},
    {0}};

const struct cli_system cli_cyclosa_system = {
    "cyclosa",
    "Private web search over P2P enclave relays: adaptive query obfuscation (partial).",
    cyclosa_commands,
    cli_cyclosa_demo,
};
