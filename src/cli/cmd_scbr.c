/* cmd_scbr.c -- `cloister scbr`: content-based routing workloads and offline matching.
 *
 *   gen     a deterministic workload: DIR/subs.txt and DIR/pubs.txt, written atomically
 *           (--kind stock like the original SCBR's, random with every operator and type,
 *           numeric and stock-numeric for the ASPE baseline)
 *   match   matches every publication of a file against the subscriptions of another with the
 *           chosen engine; ids are 0-based line order among the items of the file; one line per
 *           publication with its matching ids increasing (empty when none), or --json: an array
 *           of arrays
 *
 * The router, provisioning, subscribe and publish verbs belong to the enclave router, not here.
 * The demo step generates a small stock workload and shows that the three engines agree. */
#include <cloister/scbr.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "util/fileio.h"

#define SCBR_FILE_MAX ((size_t)1 << 31)

static int write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return cli_fail("--out: path too long");
    if (file_write_atomic(path, text, len, 0644) != 0)
        return cli_fail("cannot write %s: %s", path, strerror(errno));
    return CLI_OK;
}

static int cmd_gen(int argc, char **argv)
{
    long long nsubs = 1000, npubs = 10000, seed = 1;
    const char *kind_name = "stock", *out = NULL;
    bool json = false;
    const struct opt_def opts[] = {
        {"subs", OPT_INT, &nsubs, "N", "subscriptions (default 1000)", 0, 0, 100000000},
        {"pubs", OPT_INT, &npubs, "M", "publications (default 10000)", 0, 0, 100000000},
        {"seed", OPT_INT, &seed, "S", "PRNG seed (default 1)", 0, 0, 0},
        {"kind", OPT_STRING, &kind_name, "KIND",
         "stock (default), random, numeric or stock-numeric", 0, 0, 0},
        {"out", OPT_STRING, &out, "DIR", "directory for subs.txt and pubs.txt", OPT_REQUIRED, 0,
         0},
        {"json", OPT_FLAG, &json, NULL, "print what was written as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {"scbr gen", "", "Generate a deterministic SCBR workload.", opts,
                                0, 0};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    int kind = scbr_workload_from_name(kind_name);
    if (kind < 0) {
        fprintf(stderr, "cloister scbr gen: --kind: unknown workload '%s' (stock, random, "
                        "numeric, stock-numeric)\n", kind_name);
        return CLI_USAGE;
    }
    if (file_mkdirs(out, 0755) != 0)
        return cli_fail("cannot create %s: %s", out, strerror(errno));
    char *subs, *pubs;
    size_t sl, pl;
    if (scbr_gen((enum scbr_workload)kind, (size_t)nsubs, (size_t)npubs, (uint64_t)seed, &subs,
                 &sl, &pubs, &pl) != 0)
        return cli_fail("out of memory generating the workload");
    rc = write_file(out, "subs.txt", subs, sl);
    if (rc == CLI_OK)
        rc = write_file(out, "pubs.txt", pubs, pl);
    free(subs);
    free(pubs);
    if (rc != CLI_OK)
        return rc;
    if (json) {
        json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I}", "dir", out, "kind", kind_name, "subs",
                              (json_int_t)nsubs, "pubs", (json_int_t)npubs, "seed",
                              (json_int_t)seed);
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
    } else {
        printf("wrote %lld subscriptions to %s/subs.txt and %lld publications to %s/pubs.txt "
               "(%s, seed %lld)\n", nsubs, out, npubs, out, kind_name, seed);
    }
    return CLI_OK;
}

static int read_text(const char *path, char **text, size_t *len)
{
    uint8_t *data;
    if (file_read_all(path, SCBR_FILE_MAX, &data, len) != 0)
        return cli_fail("cannot read %s: %s", path, strerror(errno));
    *text = (char *)data;
    return CLI_OK;
}

/* Loads both files and registers every subscription (id = its order in the file). */
static int load(const char *subs_path, const char *pubs_path, enum scbr_index_kind kind,
                struct scbr_pub_list *pubs, scbr_index **idx, size_t *nsubs)
{
    char *st = NULL, *pt = NULL;
    size_t sl, pl;
    struct scbr_sub_list subs = {0};
    struct scbr_error err;
    *pubs = (struct scbr_pub_list){0};
    *idx = NULL;
    int rc = read_text(subs_path, &st, &sl);
    if (rc == CLI_OK)
        rc = read_text(pubs_path, &pt, &pl);
    if (rc == CLI_OK && (scbr_parse_subs(st, sl, subs_path, &subs, &err) != 0 ||
                         scbr_parse_pubs(pt, pl, pubs_path, pubs, &err) != 0))
        rc = cli_fail("%s", err.msg);
    if (rc == CLI_OK && !(*idx = scbr_index_create(kind, NULL)))
        rc = cli_fail("cannot create the index: %s", strerror(errno));
    for (size_t i = 0; rc == CLI_OK && i < subs.n; i++)
        if (scbr_index_insert(*idx, subs.v[i], (uint32_t)i) != 0)
            rc = cli_fail("cannot register subscription %zu: %s", i, strerror(errno));
    *nsubs = subs.n;
    scbr_sub_list_free(&subs);
    free(st);
    free(pt);
    return rc;
}

static int cmd_match(int argc, char **argv)
{
    const char *subs_path = NULL, *pubs_path = NULL, *index_name = "fast";
    bool json = false;
    const struct opt_def opts[] = {
        {"subs", OPT_STRING, &subs_path, "FILE", "subscriptions, one per line", OPT_REQUIRED, 0,
         0},
        {"pubs", OPT_STRING, &pubs_path, "FILE", "publications, one per line", OPT_REQUIRED, 0,
         0},
        {"index", OPT_STRING, &index_name, "KIND", "naive, poset or fast (default fast)", 0, 0,
         0},
        {"json", OPT_FLAG, &json, NULL, "print an array of arrays of ids", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {"scbr match", "",
                                "Match publications against subscriptions, offline.", opts, 0, 0};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    int kind = scbr_index_kind_from_name(index_name);
    if (kind < 0) {
        fprintf(stderr, "cloister scbr match: --index: unknown engine '%s' (naive, poset, fast)\n",
                index_name);
        return CLI_USAGE;
    }
    struct scbr_pub_list pubs;
    scbr_index *idx;
    size_t nsubs;
    rc = load(subs_path, pubs_path, (enum scbr_index_kind)kind, &pubs, &idx, &nsubs);
    uint32_t *ids = rc == CLI_OK ? malloc((nsubs ? nsubs : 1) * sizeof *ids) : NULL;
    if (rc == CLI_OK && !ids)
        rc = cli_fail("out of memory");
    json_t *all = json && rc == CLI_OK ? json_array() : NULL;
    for (size_t p = 0; rc == CLI_OK && p < pubs.n; p++) {
        size_t n = scbr_index_match(idx, pubs.v[p], ids, nsubs);
        if (json) {
            json_t *row = json_array();
            for (size_t k = 0; k < n; k++)
                json_array_append_new(row, json_integer(ids[k]));
            json_array_append_new(all, row);
            continue;
        }
        for (size_t k = 0; k < n; k++)
            printf(k ? " %u" : "%u", ids[k]);
        putchar('\n');
    }
    if (all) {
        json_dumpf(all, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(all);
    }
    if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = cli_fail("cannot write the output: %s", strerror(errno));
    free(ids);
    scbr_index_destroy(idx);
    scbr_pub_list_free(&pubs);
    return rc;
}

/* A small stock workload matched by all three engines, which must agree. */
static int scbr_demo(void)
{
    cli_demo_heading("SCBR: content-based matching (offline; the enclave router comes later)");
    char *st, *pt;
    size_t sl, pl;
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
    struct scbr_error err;
    if (scbr_gen(SCBR_WORKLOAD_STOCK, 2000, 3, 7, &st, &sl, &pt, &pl) != 0)
        return cli_fail("out of memory");
    int rc = scbr_parse_subs(st, sl, "demo", &subs, &err) == 0 &&
                     scbr_parse_pubs(pt, pl, "demo", &pubs, &err) == 0
                 ? CLI_OK
                 : cli_fail("%s", err.msg);
    free(st);
    free(pt);
    if (rc != CLI_OK)
        return rc;
    scbr_index *idx[3];
    for (int k = 0; k < 3; k++) {
        idx[k] = scbr_index_create((enum scbr_index_kind)k, NULL);
        for (size_t i = 0; idx[k] && i < subs.n; i++)
            scbr_index_insert(idx[k], subs.v[i], (uint32_t)i);
    }
    char *first = scbr_sub_format(subs.v[0]);
    printf("2000 stock-quote subscriptions, e.g. [0] %s\n", first ? first : "?");
    free(first);
    uint32_t ids[3][2000];
    for (size_t p = 0; p < pubs.n && rc == CLI_OK; p++) {
        char *text = scbr_pub_format(pubs.v[p]);
        size_t n[3];
        for (int k = 0; k < 3; k++)
            n[k] = idx[k] ? scbr_index_match(idx[k], pubs.v[p], ids[k], 2000) : 0;
        printf("publication %s\n  matches %zu subscription(s):", text ? text : "?", n[2]);
        for (size_t i = 0; i < n[2]; i++)
            printf(" %u", ids[2][i]);
        bool agree = n[0] == n[1] && n[0] == n[2] &&
                     memcmp(ids[0], ids[1], n[0] * sizeof ids[0][0]) == 0 &&
                     memcmp(ids[0], ids[2], n[0] * sizeof ids[0][0]) == 0;
        printf("\n  naive, poset and fast %s\n", agree ? "agree" : "DISAGREE");
        if (!agree)
            rc = CLI_FAIL;
        free(text);
    }
    for (int k = 0; k < 3; k++)
        scbr_index_destroy(idx[k]);
    scbr_sub_list_free(&subs);
    scbr_pub_list_free(&pubs);
    return rc;
}

static const struct cli_command scbr_commands[] = {
    {"gen", "generate a deterministic workload (subs.txt, pubs.txt)", cmd_gen},
    {"match", "match publications against subscriptions offline", cmd_match},
    {0}};

const struct cli_system cli_scbr_system = {
    "scbr", "secure content-based routing: workloads and matching engines", scbr_commands,
    scbr_demo};
