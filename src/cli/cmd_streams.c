/* cmd_streams.c -- `cloister streams`: SecureStreams pipelines (docs/streams.md).
 *
 *   run   runs a pipeline file in the embedded engine to the end of its source: plain stages
 *         in-process, each run of secure(...) stages in an enclave of the image "streams"
 *         (--tee proc or sim, provisioned by attested HPKE), or in-process (--tee none)
 *         until a signal: the first stops reading and lets what was read through to the sink,
 *         a second aborts (no output file); --nats URL publishes live per-stage statistics
 *   stage runs one segment of a pipeline as a replica of a distributed run (`run --distributed`
 *         starts them): provisioned over the bus, checkpointed, resumed after a kill
 *   top   shows those statistics as they come (a table redrawn in place on a terminal, a line
 *         per snapshot otherwise, JSON Lines with --json)
 *   gen   writes a generated input (flights: the Data Expo 2009 schema)
 *
 * The demo step is in cmd_streams_demo.c. */
#include <cloister/streams.h>
#include <cloister/tee_enclave.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bus/bus.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_streams.h"
#include "streams/common/ss_stats.h"

TEE_ENCLAVE_DECLARE(streams);

static const char *const TEES[] = {"proc", "sim", "none", NULL};

/* The platform home and the stage image's signature: `run` and `stage` take both. */
#define IMAGE_OPTS(home, sig)                                                                      \
    {"home", OPT_STRING, &(home), "DIR", "platform home (default $CLOISTER_HOME)", 0, 0, 0},       \
    {                                                                                              \
        "signature", OPT_STRING, &(sig), "SIG",                                                    \
            "the stage image's signature (default: streams.enclave.sig)", 0, 0, 0                  \
    }

static volatile sig_atomic_t stop_flag;

/* The first signal asks for a clean stop, the next one for an abort. */
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = stop_flag ? 2 : 1;
}

/* Installs on_signal for SIGINT and SIGTERM (restore: put back the saved handlers). */
static void catch_signals(bool restore)
{
    static struct sigaction old_int, old_term;
    if (restore) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return;
    }
    /* SA_RESTART: a sink writing to a pipe must not fail with EINTR */
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    stop_flag = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
}

/* The run's progress on stderr (a terminal only): source bytes read, once the size is known. */
static void progress(void *arg, const struct ss_progress *p)
{
    struct cli_progress *c = arg;
    if (!c->what && p->bytes_total > 0)
        cli_progress_start(c, true, "source bytes", (size_t)p->bytes_total);
    if (c->what)
        cli_progress_step(c, (size_t)p->bytes_read);
}

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

static json_t *parts_json(const struct ss_stats *s)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < s->nparts; i++) {
        const struct ss_part_stats *p = &s->part[i];
        json_array_append_new(
            a,
            json_pack("{s:s,s:I,s:I,s:I,s:I,s:f,s:f}", "name", p->name, "events_in",
                      (json_int_t)p->events_in, "events_out", (json_int_t)p->events_out, "batches",
                      (json_int_t)p->batches, "refused", (json_int_t)p->refused, "latency_p50_ms",
                      (double)p->p50_us / 1e3, "latency_p99_ms", (double)p->p99_us / 1e3));
    }
    return a;
}

void cli_streams_print(const struct ss_stats *s, bool json)
{
    if (json) {
        json_t *j = json_pack(
            "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:b,s:s,s:b,s:f,s:f,s:f,s:f,s:o}", "pipeline",
            s->pipeline, "events_in", (json_int_t)s->events_in, "events_out",
            (json_int_t)s->events_out, "batches", (json_int_t)s->batches, "ecalls",
            (json_int_t)s->ecalls, "skipped", (json_int_t)s->skipped, "refused",
            (json_int_t)s->refused, "queue_peak", (json_int_t)s->queue_peak, "secure_stages",
            (int)s->secure_stages, "enclaves", (int)s->enclaves, "simulated", s->simulated,
            "first_error", s->first_error, "stopped", s->stopped, "seconds", s->seconds,
            "events_per_s", s->seconds > 0 ? (double)s->events_in / s->seconds : 0.0,
            "latency_p50_ms", (double)s->latency_p50_us / 1e3, "latency_p99_ms",
            (double)s->latency_p99_us / 1e3, "stages", parts_json(s));
        json_object_set_new(j, "stage_processes", json_integer(s->stage_processes));
        json_object_set_new(j, "restarts", json_integer(s->restarts));
        json_object_set_new(j, "duplicates", json_integer((json_int_t)s->duplicates));
        cli_json_print(j);
        return;
    }
    if (s->stage_processes)
        fprintf(stderr,
                "distributed: %u stage process(es), %u restarted after a kill, %llu duplicate "
                "batch(es) dropped at the sink\n",
                s->stage_processes, s->restarts, (unsigned long long)s->duplicates);
    if (s->stopped)
        fprintf(stderr, "stopped by a signal: the events read so far went through to the sink\n");
    fprintf(stderr,
            "pipeline %s: %llu events in, %llu out, %llu batches, %u secure stage(s) in %u "
            "enclave(s), %llu ecalls, %llu skipped, %llu refused\n",
            s->pipeline, (unsigned long long)s->events_in, (unsigned long long)s->events_out,
            (unsigned long long)s->batches, s->secure_stages, s->enclaves,
            (unsigned long long)s->ecalls, (unsigned long long)s->skipped,
            (unsigned long long)s->refused);
    fprintf(stderr, "latency source to sink per batch: p50 %.3f ms, p99 %.3f ms\n",
            (double)s->latency_p50_us / 1e3, (double)s->latency_p99_us / 1e3);
    if (s->first_error[0])
        fprintf(stderr, "first skipped error: %s\n", s->first_error);
}

static int cmd_run(int argc, char **argv)
{
    struct opt_list params = {0};
    struct opt_choice tee = {TEES, 0};
    long long batch = 1024, batch_bytes = 1 << 20, queue_bytes = 4 << 20, linger = 5,
              interval = 1000;
    long long replicas = 1, ckpt_events = 10000, ckpt_ms = 1000;
    bool json = false, allow_sim = false, distributed = false, external = false, no_fuse = false;
    const char *home = NULL, *sig = NULL, *nats = NULL;
    const struct opt_def opts[] = {
        {"param", OPT_LIST, &params, "NAME=VALUE", "a parameter, read as param.NAME", 0, 0, 0},
        {"tee", OPT_CHOICE, &tee, "KIND", "where secure stages run", 0, 0, 0},
        {"batch", OPT_INT, &batch, "N", "events per batch (default 1024)", 0, 1, 1 << 20},
        {"batch-bytes", OPT_INT, &batch_bytes, "B", "bytes per batch (default 1 MiB)", 0, 4096,
         1 << 24},
        {"queue-bytes", OPT_INT, &queue_bytes, "B",
         "bound of each queue between stages (default 4 MiB)", 0, 4096, 1 << 30},
        {"linger", OPT_INT, &linger, "MS",
         "a batch also leaves once its first event waited MS ms (default 5)", 0, 0, 60000},
        {"no-fuse", OPT_FLAG, &no_fuse, NULL,
         "keep plain stages out of the enclaves (by default a plain map, filter, flat_map or "
         "key_by next to a secure stage runs in its enclave)",
         0, 0, 0},
        {"nats", OPT_STRING, &nats, "URL",
         "publish live per-stage statistics there (streams top); with --distributed, the bus", 0, 0,
         0},
        {"distributed", OPT_FLAG, &distributed, NULL,
         "run every segment as `streams stage` processes over --nats", 0, 0, 0},
        {"replicas", OPT_INT, &replicas, "N",
         "distributed: replicas of each segment that can be partitioned (default 1)", 0, 1, 64},
        {"external", OPT_FLAG, &external, NULL,
         "distributed: start no stage process (they are started by hand, elsewhere)", 0, 0, 0},
        {"checkpoint-events", OPT_INT, &ckpt_events, "N",
         "distributed: a stage checkpoints every N events (default 10000)", 0, 1, 1 << 30},
        {"checkpoint-ms", OPT_INT, &ckpt_ms, "MS", "distributed: or every MS ms (default 1000)", 0,
         10, 3600000},
        {"stats-interval", OPT_INT, &interval, "MS",
         "between two statistics snapshots (default 1000)", 0, 10, 3600000},
        {"allow-simulated", OPT_FLAG, &allow_sim, NULL, "accept simulated evidence (no SGX)", 0, 0,
         0},
        IMAGE_OPTS(home, sig),
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
        "are read in Lua as param.NAME (docs/streams.md). A batch leaves when full or when its\n"
        "first event has waited --linger ms. SIGINT or SIGTERM stops reading the source and\n"
        "lets what was read through to the sink (written as usual); a second one aborts, leaving\n"
        "no output file. --nats publishes live statistics for `streams top`.\n"
        "With --distributed, each segment runs as `streams stage` processes (--replicas each, "
        "when\n"
        "its keys can be partitioned) attached to --nats, their enclaves provisioned over the "
        "bus;\n"
        "this process reads the source and writes the sink, and starts a stage killed by a signal\n"
        "again (it resumes from its checkpoint).",
        "cloister streams gen flights --rows 100000 --year 2008 --out 2008.csv\n"
        "cloister streams run flights.lua --param input=2008.csv --param output=delays.csv "
        "--tee none\n"
        "tail -f app.log | cloister streams run alerts.lua --linger 20 --nats "
        "nats://127.0.0.1:4222\n"
        "cloister streams run flights.lua --param input=2008.csv --param output=delays.csv "
        "--distributed --nats nats://127.0.0.1:4222 --tee sim --allow-simulated\n"};
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
    o.no_fuse = no_fuse;
    o.home = home;
    o.signature = sig;
    o.linger_ms = (unsigned)linger;
    o.nats = nats;
    o.stats_interval_ms = (unsigned)interval;
    o.stop = &stop_flag;
    o.distributed = distributed;
    o.replicas = (unsigned)replicas;
    o.ckpt_events = (uint64_t)ckpt_events;
    o.ckpt_ms = (unsigned)ckpt_ms;
    char exe[4096];
    ssize_t exelen = distributed && !external ? readlink("/proc/self/exe", exe, sizeof exe - 1) : 0;
    if (exelen < 0 || (size_t)exelen >= sizeof exe - 1)
        rc = cli_fail("streams run: cannot find the cloister binary to start the stages with");
    exe[exelen > 0 ? exelen : 0] = '\0';
    o.stage_exe = exelen > 0 ? exe : NULL;
    if (rc == CLI_OK && distributed && !nats)
        rc = cli_fail("streams run: --distributed needs --nats URL");
    struct cli_progress bar = {0};
    if (isatty(STDERR_FILENO)) {
        o.progress = progress;
        o.progress_arg = &bar;
    }
    struct ss_stats s;
    struct cloister_err err = {0};
    catch_signals(false);
    if (rc == CLI_OK && ss_run(argv[0], &o, &s, &err) != 0)
        rc = cli_fail("%s", err.msg);
    catch_signals(true);
    if (bar.what && rc == CLI_OK)
        cli_progress_end(&bar);
    else if (bar.what)
        fputc('\n', stderr);
    if (rc == CLI_OK)
        cli_streams_print(&s, json);
    for (int i = 0; i < params.n; i++)
        free((char *)pv[2 * i]);
    return rc;
}

static int cmd_stage(int argc, char **argv)
{
    struct opt_list params = {0};
    struct opt_choice tee = {TEES, 0};
    long long replica = 0;
    bool json = false;
    const char *pipeline = NULL, *stage = NULL, *nats = NULL, *home = NULL, *sig = NULL;
    const struct opt_def opts[] = {
        {"pipeline", OPT_STRING, &pipeline, "FILE", "the pipeline file", OPT_REQUIRED, 0, 0},
        {"stage", OPT_STRING, &stage, "NAME",
         "the segment to run: its name (2-filter-secure) or the number of its first stage",
         OPT_REQUIRED, 0, 0},
        {"replica", OPT_INT, &replica, "I", "which of its replicas (default 0)", 0, 0, 63},
        {"nats", OPT_STRING, &nats, "URL", "the run's NATS server", OPT_REQUIRED, 0, 0},
        {"param", OPT_LIST, &params, "NAME=VALUE", "a parameter, as given to the run", 0, 0, 0},
        {"tee", OPT_CHOICE, &tee, "KIND", "where the stage runs: proc or sim", 0, 0, 0},
        IMAGE_OPTS(home, sig),
        {"json", OPT_FLAG, &json, NULL, "print the stage's counters as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "streams stage",
        "",
        "Run one stage of a distributed pipeline.",
        opts,
        0,
        0,
        "Runs one segment of the pipeline (a maximal run of stages with the same secure flag)\n"
        "as one replica of a distributed run (`streams run --distributed`), in an enclave: waits\n"
        "for the run to offer a seat for this replica, has the enclave provisioned with the\n"
        "pipeline key (attested), restores the stage's checkpoint and serves its partition until\n"
        "every producer before it has ended. The pipeline file and parameters must be the\n"
        "run's. SIGINT or SIGTERM checkpoints and stops. The launcher starts these processes\n"
        "itself unless run with --external.",
        "cloister streams stage --pipeline flights.lua --stage 4-reduce-secure --replica 0 "
        "--nats nats://127.0.0.1:4222 --param input=2008.csv --param output=delays.csv\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    const char *pv[2 * OPT_LIST_MAX] = {0};
    struct ss_options o;
    rc = cli_streams_options(&o, tee.index, &params, pv);
    o.nats = nats;
    o.home = home;
    o.signature = sig;
    o.stop = &stop_flag;
    struct ss_stage_report r;
    struct cloister_err err = {0};
    catch_signals(false);
    if (rc == CLI_OK && ss_stage(pipeline, stage, (unsigned)replica, &o, &r, &err) != 0)
        rc = cli_fail("stage %s replica %lld: %s", stage, replica, err.msg);
    catch_signals(true);
    if (rc == CLI_OK && !json)
        fprintf(stderr,
                "stage %s replica %lld of run %s: %s%llu events in, %llu out, %llu duplicates "
                "dropped, %llu refused, %llu checkpoints\n",
                stage, replica, r.run, r.restored ? "resumed from its checkpoint; " : "",
                (unsigned long long)r.events_in, (unsigned long long)r.events_out,
                (unsigned long long)r.duplicates, (unsigned long long)r.refused,
                (unsigned long long)r.checkpoints);
    if (rc == CLI_OK && json)
        cli_json_print(json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "run", r.run, "stage",
                                 stage, "replica", (json_int_t)replica, "events_in",
                                 (json_int_t)r.events_in, "events_out", (json_int_t)r.events_out,
                                 "batches_out", (json_int_t)r.batches_out, "duplicates",
                                 (json_int_t)r.duplicates, "refused", (json_int_t)r.refused,
                                 "checkpoints", (json_int_t)r.checkpoints, "restored", r.restored));
    for (int i = 0; i < params.n; i++)
        free((char *)pv[2 * i]);
    return rc;
}

/* ---- top ---- */

#define TOP_ROWS 256
#define TOP_GRACE_S 1.0

struct top {
    struct ss_stage_stats row[TOP_ROWS];
    size_t n;
    bool json, tty;
};

static json_t *snapshot_json(const struct ss_stage_stats *s)
{
    return json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f}", "pipeline",
                     s->pipeline, "stage", s->stage, "final", s->final, "time_ms",
                     (json_int_t)s->time_ms, "events_in", (json_int_t)s->events_in, "events_out",
                     (json_int_t)s->events_out, "batches", (json_int_t)s->batches, "refused",
                     (json_int_t)s->refused, "in_per_s", (json_int_t)s->in_per_s, "out_per_s",
                     (json_int_t)s->out_per_s, "queue_bytes", (json_int_t)s->queue_bytes, "lag",
                     (json_int_t)s->lag, "latency_p50_ms", (double)s->p50_us / 1e3,
                     "latency_p99_ms", (double)s->p99_us / 1e3);
}

static void top_line(const struct ss_stage_stats *s)
{
    printf("%-16.16s %-24.24s %10llu %10llu %12llu %12llu %10llu %8llu %9.3f %9.3f %7llu%s\n",
           s->pipeline, s->stage, (unsigned long long)s->in_per_s, (unsigned long long)s->out_per_s,
           (unsigned long long)s->events_in, (unsigned long long)s->events_out,
           (unsigned long long)s->queue_bytes, (unsigned long long)s->lag, (double)s->p50_us / 1e3,
           (double)s->p99_us / 1e3, (unsigned long long)s->refused, s->final ? " end" : "");
}

static void top_header(void)
{
    printf("%-16s %-24s %10s %10s %12s %12s %10s %8s %9s %9s %7s\n", "PIPELINE", "STAGE", "IN/S",
           "OUT/S", "EVENTS IN", "EVENTS OUT", "QUEUE B", "LAG", "P50 MS", "P99 MS", "REFUSED");
}

/* Keeps s as the latest of its stage; true when every stage seen has ended. */
static bool top_keep(struct top *t, const struct ss_stage_stats *s)
{
    size_t i = 0;
    while (i < t->n &&
           (strcmp(t->row[i].pipeline, s->pipeline) != 0 || strcmp(t->row[i].stage, s->stage) != 0))
        i++;
    if (i == t->n && t->n < TOP_ROWS)
        t->n++;
    if (i < t->n)
        t->row[i] = *s;
    bool ended = t->n > 0;
    for (size_t k = 0; k < t->n; k++)
        ended = ended && t->row[k].final;
    return ended;
}

static void top_show(struct top *t, const struct ss_stage_stats *s)
{
    if (t->json) {
        json_t *j = snapshot_json(s);
        char *text = json_dumps(j, JSON_COMPACT);
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(j);
    } else if (!t->tty) {
        top_line(s);
    }
    fflush(stdout);
}

/* The table redrawn in place (a terminal). */
static void top_draw(const struct top *t)
{
    printf("\033[H\033[2J");
    top_header();
    for (size_t i = 0; i < t->n; i++)
        top_line(&t->row[i]);
    fflush(stdout);
}

/* Listens until every stage seen has ended and none else spoke for TOP_GRACE_S (the parts of a
 * run publish their last snapshots one after the other), the time is up, or a signal. */
static int top_loop(struct bus_sub *sub, struct top *t, double seconds)
{
    double start = cli_now_s(), drawn = 0, ended = 0;
    struct cloister_err err = {0};
    if (!t->json && !t->tty)
        top_header();
    while (!stop_flag && (seconds <= 0 || cli_now_s() - start < seconds) &&
           (!ended || cli_now_s() - ended < TOP_GRACE_S)) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (bus_sub_next(sub, 100, NULL, 0, &data, &len, &err) != 0)
            return cli_fail("streams top: %s", err.msg);
        struct ss_stage_stats s;
        if (data && ss_stage_stats_decode(&s, data, len, &err) == 0) {
            ended = top_keep(t, &s) ? (ended ? ended : cli_now_s()) : 0;
            top_show(t, &s);
        } else if (data) {
            fprintf(stderr, "streams top: ignored a message: %s\n", err.msg);
        }
        free(data);
        if (t->tty && !t->json && cli_now_s() - drawn >= 0.5) {
            top_draw(t);
            drawn = cli_now_s();
        }
    }
    if (t->tty && !t->json)
        top_draw(t);
    return CLI_OK;
}

static int cmd_top(int argc, char **argv)
{
    const char *nats = NULL, *pipeline = NULL;
    long long seconds = 0;
    bool json = false;
    const struct opt_def opts[] = {
        {"nats", OPT_STRING, &nats, "URL", "the NATS server the runs publish on", OPT_REQUIRED, 0,
         0},
        {"pipeline", OPT_STRING, &pipeline, "NAME", "only this pipeline (default: all)", 0, 0, 0},
        {"seconds", OPT_INT, &seconds, "N", "stop after N seconds (default: until the end)", 0, 0,
         1 << 30},
        {"json", OPT_FLAG, &json, NULL, "one JSON object per snapshot (JSON Lines)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "streams top",
        "",
        "Show the live per-stage rates of running pipelines.",
        opts,
        0,
        0,
        "Listens to the statistics that `streams run --nats URL` publishes every interval for\n"
        "its source, each run of stages and its sink: events/s in and out, totals, bytes queued\n"
        "in front of the stage, NATS lag, p50/p99 latency from the source (per batch, over the\n"
        "last interval) and refused batches. On a terminal the table is redrawn in place;\n"
        "otherwise one line per snapshot. Ends when every stage seen has ended, after\n"
        "--seconds, or on SIGINT.",
        "cloister streams top --nats nats://127.0.0.1:4222\n"
        "cloister streams top --nats nats://127.0.0.1:4222 --pipeline flights --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    char subject[256];
    if (ss_stats_subject(subject, sizeof subject, pipeline, NULL) != 0)
        return cli_fail("streams top: pipeline name too long");
    struct cloister_err err = {0};
    struct bus *b = bus_connect(nats, NULL, &err);
    struct bus_sub *sub = b ? bus_subscribe(b, subject, &err) : NULL;
    struct top *t = calloc(1, sizeof *t);
    if (!sub || !t)
        rc = cli_fail("streams top: %s", t ? err.msg : "no memory");
    if (rc == CLI_OK) {
        t->json = json;
        t->tty = isatty(STDOUT_FILENO) == 1;
        catch_signals(false);
        rc = top_loop(sub, t, (double)seconds);
        catch_signals(true);
    }
    free(t);
    bus_sub_close(sub);
    bus_close(b);
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
    {"stage", "run one stage of a distributed pipeline (NATS)", cmd_stage},
    {"top", "show live per-stage rates of running pipelines (NATS)", cmd_top},
    {"gen", "generate an input (flights)", cmd_gen},
    {0}};

const struct cli_system cli_streams_system = {
    "streams", "SecureStreams: Lua stream pipelines with secure stages in enclaves",
    streams_commands, cli_streams_demo};
