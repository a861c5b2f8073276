/* cmd_search.c -- `cloister search ...`: the private web search testbed. `gen-log` writes a
 * synthetic AOL-like query log, `attack` runs SimAttack on a log (the test queries obfuscated
 * with k pooled fakes, as X-Search does) and prints the re-identification rate and, apart, the
 * attacker's precision and recall. */
#include <cloister/search.h>

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
    const char *path = NULL;
    long long k = 0, seed = 1;
    bool json = false;
    const struct opt_def opts[] = {
        {"log", OPT_STRING, &path, "LOG", "query log (AOL format)", OPT_REQUIRED, 0, 0},
        {"k", OPT_INT, &k, "K", "fake queries OR-ed with each test query", 0, 0, SEARCH_K_MAX},
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
        "those found.",
        "cloister search attack --log aol100.tsv --k 0\n"
        "cloister search attack --log aol100.tsv --k 3 --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct search_log log;
    struct search_attack_result r;
    struct cloister_err err;
    if (search_log_read(path, &log, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    rc = search_attack_eval_k(&log, (unsigned)k, (uint64_t)seed, &r, &err);
    search_log_free(&log);
    if (rc != CLOISTER_OK)
        return cli_fail("%s: %s", path, err.msg);
    return cmd_search_print_attack(&r, json);
}

static const struct cli_command search_commands[] = {
    {"attack", "run SimAttack on a query log, with k fakes per query", cmd_attack},
    {"gen-log", "write a synthetic AOL-like query log", cmd_gen_log},
    {0}};

const struct cli_system cli_search_system = {
    "search",
    "Private web search testbed: AOL-like query logs and SimAttack.",
    search_commands,
    cli_search_demo,
};
