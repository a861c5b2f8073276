/* cmd_search.c -- `cloister search ...`: the private web search testbed. `gen-log` writes a
 * synthetic AOL-like query log, `attack` runs SimAttack on a log (the test queries obfuscated
 * with k pooled fakes, as X-Search does) and prints the re-identification rate and, apart, the
 * attacker's precision and recall. `gen-corpus` builds the local engine's corpus from a log's
 * vocabulary and `engine` serves it over HTTP+JSON until SIGINT or SIGTERM. */
#include <cloister/search.h>
#include <cloister/search_engine.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_search.h"

int cmd_search_print_attack(const struct search_attack_result *r, bool json)
{
    if (json)
        return cli_json_print(json_pack(
            "{s:I,s:f,s:f,s:f,s:I}", "k", (json_int_t)r->k, "reidentification", r->reidentification,
            "precision", r->precision, "recall", r->recall, "queries", (json_int_t)r->queries));
    printf("k = %u: re-identification %.3f (%zu of %zu test queries), attacker precision %.3f, "
           "recall %.3f\n",
           r->k, r->reidentification, r->correct, r->queries, r->precision, r->recall);
    return CLI_OK;
}

static int cmd_gen_log(int argc, char **argv)
{
    long long users = 100, seed = 1;
    const char *out = NULL;
    const struct opt_def opts[] = {
        {"users", OPT_INT, &users, "N", "users (AOL100: 100)", 0, 1, 6000},
        {"seed", OPT_INT, &seed, "N", "generator seed: one seed, one log", 0, 0, INT64_MAX},
        {"out", OPT_STRING, &out, "LOG", "the log to write (AOL format; - for stdout)",
         OPT_REQUIRED, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "search gen-log",
        "",
        "Write a synthetic AOL-like query log",
        opts,
        0,
        0,
        "Users with personal interests, habitual queries and the AOL100's words per query, "
        "queries per user and repeats, calibrated so that SimAttack re-identifies about 0.41, "
        "0.17, 0.09, 0.03 of the test queries at k = 0, 1, 3, 7 (docs/search.md). The format is "
        "the AOL's (AnonID, Query, QueryTime, ItemRank, ClickURL, tab-separated), so a real "
        "AOL-format log can be used wherever this one is.",
        "cloister search gen-log --users 100 --out aol100.tsv\n"
        "cloister search gen-log --users 10 --seed 7 --out -\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct search_gen_options o;
    search_gen_options_init(&o);
    o.users = (unsigned)users;
    o.seed = (uint64_t)seed;
    struct search_log log;
    struct cloister_err err;
    if (search_gen_log(&o, &log, &err) != CLOISTER_OK ||
        search_log_write(out, &log, &err) != CLOISTER_OK) {
        search_log_free(&log);
        return cli_fail("%s", err.msg);
    }
    if (strcmp(out, "-") != 0)
        fprintf(stderr, "wrote %zu queries of %u users to %s\n", log.n, o.users, out);
    search_log_free(&log);
    return CLI_OK;
}

static int cmd_attack(int argc, char **argv)
{
    const char *path = NULL, *engine_log = NULL;
    long long k = 0, seed = 1;
    bool json = false;
    const struct opt_def opts[] = {
        {"log", OPT_STRING, &path, "LOG", "query log (AOL format)", OPT_REQUIRED, 0, 0},
        {"k", OPT_INT, &k, "K", "fake queries OR-ed with each test query", 0, 0, SEARCH_K_MAX},
        {"engine-log", OPT_STRING, &engine_log, "QUERIES",
         "attack what an engine logged (search engine --query-log) instead", 0, 0, 0},
        {"seed", OPT_INT, &seed, "N", "seed of the fake draws", 0, 0, INT64_MAX},
        {"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "search attack",
        "",
        "Run SimAttack on a query log",
        opts,
        0,
        0,
        "Each user's queries are split by time: the first 2/3 are the attacker's profiles, the "
        "rest are test queries. Each test query is obfuscated as X-Search does (K fakes drawn "
        "from the pooled training queries, the real one at a random position, joined with OR) "
        "and attributed by SimAttack (Dice coefficient, alpha = 0.5, the OR rule with its 0.01 "
        "margin). Re-identification: test queries whose query and user are both found. "
        "Precision: of the attacker's answers, the right ones; recall: of the test queries, "
        "those found. With --engine-log, the queries an engine logged are attacked as they are: "
        "those holding a test query of LOG count, the others are left out.",
        "cloister search attack --log aol100.tsv --k 0\n"
        "cloister search attack --log aol100.tsv --k 3 --json\n"
        "cloister search attack --log aol100.tsv --engine-log queries.jsonl\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (engine_log && k) {
        cli_fail("--k and --engine-log exclude each other");
        return CLI_USAGE;
    }
    struct search_log log;
    struct search_attack_result r;
    struct cloister_err err;
    if (search_log_read(path, &log, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    if (engine_log) {
        rc = search_attack_eval_engine_log(&log, engine_log, &r, &err);
        search_log_free(&log);
        if (rc != CLOISTER_OK)
            return cli_fail("%s", err.msg);
        return cmd_search_print_attack(&r, json);
    }
    rc = search_attack_eval_k(&log, (unsigned)k, (uint64_t)seed, &r, &err);
    search_log_free(&log);
    if (rc != CLOISTER_OK)
        return cli_fail("%s: %s", path, err.msg);
    return cmd_search_print_attack(&r, json);
}

static int cmd_gen_corpus(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    long long docs = 10000, seed = 1;
    const struct opt_def opts[] = {
        {"log", OPT_STRING, &path, "LOG", "query log whose vocabulary the corpus uses",
         OPT_REQUIRED, 0, 0},
        {"docs", OPT_INT, &docs, "N", "documents", 0, 1, SEARCH_ENGINE_DOCS_MAX},
        {"seed", OPT_INT, &seed, "N", "generator seed: one log and seed, one corpus", 0, 0,
         INT64_MAX},
        {"out", OPT_STRING, &out, "DB", "the corpus to write (SQLite FTS5)", OPT_REQUIRED, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "search gen-corpus",
        "",
        "Build the local search engine's corpus from a query log",
        opts,
        0,
        0,
        "A synthetic web corpus (URL, title, snippet) in an SQLite FTS5 database. Each document "
        "is about one query of the log (its terms in the title and the snippet) among words "
        "drawn by their frequency in the log, so the log's queries find documents. The same log "
        "and seed give the same corpus; the file is replaced atomically.",
        "cloister search gen-log --users 20 --out aol20.tsv\n"
        "cloister search gen-corpus --log aol20.tsv --docs 5000 --out corpus.db\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct search_log log;
    struct search_corpus_options o = {(size_t)docs, (uint64_t)seed};
    struct cloister_err err;
    if (search_log_read(path, &log, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    rc = search_corpus_build(&log, &o, out, &err);
    search_log_free(&log);
    if (rc != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    fprintf(stderr, "wrote %zu documents to %s\n", o.docs, out);
    return CLI_OK;
}

static int cmd_engine(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8080", *corpus = NULL, *qlog = NULL;
    const struct opt_def opts[] = {
        {"listen", OPT_STRING, &listen, "IP:PORT", "address to serve on (port 0: any)", 0, 0, 0},
        {"corpus", OPT_STRING, &corpus, "DB", "corpus (search gen-corpus)", OPT_REQUIRED, 0, 0},
        {"query-log", OPT_STRING, &qlog, "FILE",
         "append every query received here (JSON Lines: time, client, query)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "search engine",
        "",
        "Serve a local HTTP+JSON search engine over a corpus",
        opts,
        0,
        0,
        "GET /search?q=QUERY[&n=N] answers the N best documents (default 10, at most 100) by "
        "BM25 over title and snippet. A query may be sub-queries joined with ' OR ', as X-Search "
        "sends them: a document matches when it holds any term, and each hit lists the query "
        "terms it holds and the sub-queries all of whose terms it holds. Every query is "
        "appended to the query log with the client's address and time: the curious engine's "
        "view, which `search attack --engine-log` attacks. Queries are bounded (16 KiB, 128 "
        "sub-queries, 256 terms). Prints the port it serves on; stops cleanly on SIGINT or "
        "SIGTERM.",
        "cloister search engine --corpus corpus.db --listen 127.0.0.1:8080 --query-log q.jsonl\n"
        "curl 'http://127.0.0.1:8080/search?q=foo+bar+OR+baz&n=5'\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cli_endpoint ep;
    if (cli_parse_endpoint("--listen", listen, &ep) != CLI_OK)
        return CLI_USAGE;
    cli_stop_signals_block();
    search_engine *e;
    struct cloister_err err;
    if (search_engine_start(corpus, ep.host, qlog, &e, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    printf("search engine serving %s on port %u\n", corpus, (unsigned)search_engine_port(e));
    fflush(stdout);
    cli_stop_signals_wait("search engine");
    search_engine_stop(e);
    return CLI_OK;
}

static int print_stats(const struct search_log_stats *s, bool json)
{
    if (json) {
        json_t *w = json_array();
        for (size_t i = 0; i < 8; i++)
            json_array_append_new(w, json_real(s->words_share[i]));
        return cli_json_print(json_pack(
            "{s:I,s:I,s:{s:f,s:f,s:f,s:f,s:f},s:f,s:o,s:f,s:I,s:f,s:f,s:f}", "users",
            (json_int_t)s->users, "queries", (json_int_t)s->queries, "queries_per_user", "min",
            s->per_user_min, "median", s->per_user_median, "mean", s->per_user_mean, "p90",
            s->per_user_p90, "max", s->per_user_max, "words_mean", s->words_mean, "words_share", w,
            "distinct_share", s->distinct_share, "vocabulary", (json_int_t)s->vocabulary,
            "shared_terms", s->shared_terms, "repeated_median", s->repeated_median, "test_repeat",
            s->test_repeat));
    }
    printf("users %zu, queries %zu\n", s->users, s->queries);
    printf("queries per user: min %.0f, median %.0f, mean %.0f, p90 %.0f, max %.0f\n",
           s->per_user_min, s->per_user_median, s->per_user_mean, s->per_user_p90, s->per_user_max);
    printf("words per query: mean %.2f;", s->words_mean);
    for (size_t i = 0; i < 8; i++)
        printf(" %s%zu: %.1f%%", i == 7 ? ">=" : "", i + 1, 100 * s->words_share[i]);
    printf("\ndistinct queries %.1f%%; vocabulary %zu terms, %.1f%% used by more than one user\n",
           100 * s->distinct_share, s->vocabulary, 100 * s->shared_terms);
    printf("repeated queries per user (median) %.1f%%; test queries repeating a training query "
           "%.1f%%\n",
           100 * s->repeated_median, 100 * s->test_repeat);
    return CLI_OK;
}

static int cmd_stats(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    const struct opt_def opts[] = {
        {"log", OPT_STRING, &path, "LOG", "query log (AOL format)", OPT_REQUIRED, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the statistics as one JSON object", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "search stats",
        "",
        "Print a query log's statistics (those of the AOL100 reference)",
        opts,
        0,
        0,
        "Queries per user, words per query, distinct queries, the vocabulary and the share of "
        "its terms used by more than one user, repeated queries per user and test queries "
        "(the last third of each user's history) repeating a training query: the statistics "
        "docs/search.md gives for the AOL100, so a synthetic log and a real one compare.",
        "cloister search gen-log --users 20 --out aol20.tsv\n"
        "cloister search stats --log aol20.tsv\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct search_log log;
    struct search_log_stats s;
    struct cloister_err err;
    if (search_log_read(path, &log, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    rc = search_log_stats(&log, &s, &err);
    search_log_free(&log);
    if (rc != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    return print_stats(&s, json);
}

static const struct cli_command search_commands[] = {
    {"attack", "run SimAttack on a query log, with k fakes per query", cmd_attack},
    {"engine", "serve a local HTTP+JSON search engine (FTS5, BM25)", cmd_engine},
    {"gen-corpus", "build the engine's corpus from a query log", cmd_gen_corpus},
    {"gen-log", "write a synthetic AOL-like query log", cmd_gen_log},
    {"stats", "print a query log's statistics (AOL100's)", cmd_stats},
    {0}};

const struct cli_system cli_search_system = {
    "search",
    "Private web search testbed: AOL-like query logs, SimAttack and a local search engine.",
    search_commands,
    cli_search_demo,
};
