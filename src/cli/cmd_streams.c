/* cmd_streams.c -- `cloister streams`: SecureStreams pipelines (docs/streams.md).
 *
 *   run   runs a pipeline file in the embedded engine to the end of its source: plain stages
 *         in-process, each run of secure(...) stages in an enclave of the image "streams"
 *         (--tee proc or sim, provisioned by attested HPKE), or in-process (--tee none)
 *   gen   writes a generated input (flights: the Data Expo 2009 schema)
 *
 * The demo step is in cmd_streams_demo.c. */
#include <cloister/streams.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_streams.h"

TEE_ENCLAVE_DECLARE(streams);

static const char *const TEES[] = {"proc", "sim", "none", NULL};

int cli_streams_options(struct ss_options *o, int tee, const struct opt_list *params,
                        const char **pv)
{
    ss_options_init(o);
    o->tee = tee == 0 ? SS_TEE_PROC : tee == 1 ? SS_TEE_SIM : SS_TEE_NONE;
    o->enclave = &tee_enclave_streams;
    for (int i = 0; i < params->n; i++) {
        const char *eq = strchr(params->v[i], '=');
        if (!eq || eq == params->v[i])
            return cli_fail("--param: expected NAME=VALUE, got '%s'", params->v[i]);
        char *name = strndup(params->v[i], (size_t)(eq - params->v[i]));
        if (!name)
            return cli_fail("no memory");
        pv[2 * i] = name;
        pv[2 * i + 1] = eq + 1;
    }
    o->params = pv;
    o->nparams = (size_t)params->n;
    return CLI_OK;
}

void cli_streams_print(const struct ss_stats *s, bool json)
{
    if (json) {
        cli_json_print(json_pack(
            "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:b,s:s}", "pipeline", s->pipeline,
            "events_in", (json_int_t)s->events_in, "events_out", (json_int_t)s->events_out,
            "batches", (json_int_t)s->batches, "ecalls", (json_int_t)s->ecalls, "skipped",
            (json_int_t)s->skipped, "refused", (json_int_t)s->refused, "queue_peak",
            (json_int_t)s->queue_peak, "secure_stages", (int)s->secure_stages, "enclaves",
            (int)s->enclaves, "simulated", s->simulated, "first_error", s->first_error));
        return;
    }
    fprintf(stderr,
            "pipeline %s: %llu events in, %llu out, %llu batches, %u secure stage(s) in %u "
            "enclave(s), %llu ecalls, %llu skipped, %llu refused\n",
            s->pipeline, (unsigned long long)s->events_in, (unsigned long long)s->events_out,
            (unsigned long long)s->batches, s->secure_stages, s->enclaves,
            (unsigned long long)s->ecalls, (unsigned long long)s->skipped,
            (unsigned long long)s->refused);
    if (s->first_error[0])
        fprintf(stderr, "first skipped error: %s\n", s->first_error);
}

static int cmd_run(int argc, char **argv)
{
    struct opt_list params = {0};
    struct opt_choice tee = {TEES, 0};
    long long batch = 1024, batch_bytes = 1 << 20, queue_bytes = 4 << 20;
    bool json = false, allow_sim = false;
    const char *home = NULL, *sig = NULL;
    const struct opt_def opts[] = {
        {"param", OPT_LIST, &params, "NAME=VALUE", "a parameter, read as param.NAME", 0, 0, 0},
        {"tee", OPT_CHOICE, &tee, "KIND", "where secure stages run", 0, 0, 0},
        {"batch", OPT_INT, &batch, "N", "events per batch (default 1024)", 0, 1, 1 << 20},
        {"batch-bytes", OPT_INT, &batch_bytes, "B", "bytes per batch (default 1 MiB)", 0, 4096,
         1 << 24},
        {"queue-bytes", OPT_INT, &queue_bytes, "B",
         "bound of each queue between stages (default 4 MiB)", 0, 4096, 1 << 30},
        {"allow-simulated", OPT_FLAG, &allow_sim, NULL, "accept simulated evidence (no SGX)", 0, 0,
         0},
        {"home", OPT_STRING, &home, "DIR", "platform home (default $CLOISTER_HOME)", 0, 0, 0},
        {"signature", OPT_STRING, &sig, "SIG",
         "the stage image's signature (default: streams.enclave.sig)", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the run's counters as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "streams run",
        "PIPELINE.lua",
        "Run a pipeline to the end.",
        opts,
        1,
        1,
        "Evaluates the pipeline in the Lua sandbox, runs plain stages in-process and each run of\n"
        "secure(...) stages in an enclave of the image streams (the pipeline key provisioned by\n"
        "attested HPKE; batches sealed in and out); --tee none runs them in-process. Parameters\n"
        "are read in Lua as param.NAME (docs/streams.md).",
        "cloister streams gen flights --rows 100000 --year 2008 --out 2008.csv\n"
        "cloister streams run flights.lua --param input=2008.csv --param output=delays.csv "
        "--tee none\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    const char *pv[2 * OPT_LIST_MAX] = {0};
    struct ss_options o;
    rc = cli_streams_options(&o, tee.index, &params, pv);
    o.batch_events = (size_t)batch;
    o.batch_bytes = (size_t)batch_bytes;
    o.queue_bytes = (size_t)queue_bytes;
    o.allow_simulated = allow_sim;
    o.home = home;
    o.signature = sig;
    struct ss_stats s;
    struct cloister_err err = {0};
    if (rc == CLI_OK && ss_run(argv[0], &o, &s, &err) != 0)
        rc = cli_fail("%s", err.msg);
    if (rc == CLI_OK)
        cli_streams_print(&s, json);
    for (int i = 0; i < params.n; i++)
        free((char *)pv[2 * i]);
    return rc;
}

static int cmd_gen(int argc, char **argv)
{
    long long rows = 100000, year = 2008, seed = 1;
    const char *out = NULL;
    const struct opt_def opts[] = {
        {"rows", OPT_INT, &rows, "N", "rows (default 100000)", 0, 0, 100000000},
        {"year", OPT_INT, &year, "Y", "the Year column (default 2008)", 0, 1987, 2100},
        {"seed", OPT_INT, &seed, "S", "PRNG seed (default 1)", 0, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "the CSV to write", OPT_REQUIRED, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "streams gen",
        "flights",
        "Generate flights of the Data Expo 2009 schema.",
        opts,
        1,
        1,
        "Writes a CSV of the Data Expo 2009 on-time schema (29 columns, 2008 carriers, about\n"
        "half the flights late), so that the paper's pipeline runs offline; one seed, one file.",
        "cloister streams gen flights --rows 100000 --year 2008 --out 2008.csv\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (strcmp(argv[0], "flights") != 0)
        return cli_fail("streams gen: the only dataset is 'flights', not '%s'", argv[0]);
    struct cloister_err err = {0};
    if (ss_gen_flights(out, (uint64_t)rows, (int)year, (uint64_t)seed, &err) != 0)
        return cli_fail("%s", err.msg);
    return CLI_OK;
}

static const struct cli_command streams_commands[] = {
    {"run", "run a pipeline file in the embedded engine", cmd_run},
    {"gen", "generate an input (flights)", cmd_gen},
    {0}};

const struct cli_system cli_streams_system = {
    "streams", "SecureStreams: Lua stream pipelines with secure stages in enclaves",
    streams_commands, cli_streams_demo};
