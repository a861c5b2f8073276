/* cmd_mapreduce.c -- `cloister mapreduce`: run a Lua job over local worker enclaves (the
 * embedded engine of mapreduce.h) and remote ones over NATS, serve jobs as a remote worker, and
 * generate inputs (docs/mapreduce.md).
 *
 *   cloister mapreduce run --job F.lua --input PATH... --output DIR [--mappers M]
 *                          [--reducers R] [--tee proc|sim|none] [--format F] [--csv] [--json]
 *                          [--nats URL [--remote-workers N]]
 *   cloister mapreduce worker --nats URL [--slots K] [--tee proc|sim]
 *   cloister mapreduce gen text --size 1GiB [--seed S] [--output FILE]
 *   cloister mapreduce gen points --n 1000000 --k 8 --dim 2 [--seed S] [--output FILE] */
#include <cloister/mapreduce.h>
#include <cloister/tee_enclave.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "mapreduce/host/mr_remote.h"
#include "util/log.h"

TEE_ENCLAVE_DECLARE(mapreduce);

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void catch_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static void progress(void *arg, const struct mr_progress *p)
{
    bool tty = *(bool *)arg;
    double mbs = p->seconds > 0 ? (double)p->bytes_done / 1e6 / p->seconds : 0;
    double eta = p->bytes_done > 0 && p->bytes_total > p->bytes_done
                     ? p->seconds * (double)(p->bytes_total - p->bytes_done) / (double)p->bytes_done
                     : 0;
    if (!tty && p->seconds < 2)
        return;
    fprintf(stderr,
            "%sround %u: %llu/%llu splits mapped, %llu/%llu reduced, %.1f MB/s, ETA %.0f s%s",
            tty ? "\r" : "", p->round, (unsigned long long)p->maps_done,
            (unsigned long long)p->maps, (unsigned long long)p->reduces_done,
            (unsigned long long)p->reduces, mbs, eta, tty ? "   " : "\n");
}

static int print_summary(const struct mr_options *o, const struct mr_summary *s, bool json)
{
    double mb = (double)s->input_bytes / 1e6;
    char remote[96] = "";
    if (o->remote_workers)
        snprintf(remote, sizeof remote, "; %llu remote workers joined, %llu refused",
                 (unsigned long long)s->remote_workers, (unsigned long long)s->refused_workers);
    if (!json) {
        printf("%llu results in %s/ (%u reducer%s, %u round%s) from %.1f MB in %.2f s (%.1f MB/s); "
               "%llu tasks, %llu retried, %llu chunks refused%s%s\n",
               (unsigned long long)s->results, o->output, o->reducers, o->reducers == 1 ? "" : "s",
               s->rounds, s->rounds == 1 ? "" : "s", mb, s->seconds,
               s->seconds > 0 ? mb / s->seconds : 0,
               (unsigned long long)(s->map_tasks + s->reduce_tasks), (unsigned long long)s->retries,
               (unsigned long long)s->refused_chunks, remote,
               s->simulated ? "; workers' evidence: SIMULATED platform" : "");
        return CLI_OK;
    }
    static const char *const tees[] = {"proc", "sim", "none"};
    return cli_json_print(json_pack(
        "{s:s,s:s,s:i,s:i,s:i,s:{s:f,s:f,s:f,s:f},s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I},"
        "s:I,s:I,s:b,s:I,s:I,s:I}",
        "output", o->output, "tee", tees[o->tee], "mappers", (int)o->workers, "reducers",
        (int)o->reducers, "rounds", (int)s->rounds, "seconds", "total", s->seconds, "setup",
        s->setup_seconds, "map", s->map_seconds, "reduce", s->reduce_seconds, "bytes", "input",
        (json_int_t)s->input_bytes, "shuffle", (json_int_t)s->shuffle_bytes, "records",
        (json_int_t)s->records_in, "pairs", (json_int_t)s->map_pairs, "results",
        (json_int_t)s->results, "tasks", "map", (json_int_t)s->map_tasks, "reduce",
        (json_int_t)s->reduce_tasks, "retries", (json_int_t)s->retries, "refused_chunks",
        (json_int_t)s->refused_chunks, "worker_restarts", (json_int_t)s->worker_restarts, "ecalls",
        (json_int_t)s->ecalls, "lua_heap_peak", (json_int_t)s->lua_heap_peak, "simulated",
        s->simulated, "remote_workers", (json_int_t)s->remote_workers, "refused_workers",
        (json_int_t)s->refused_workers, "duplicate_results", (json_int_t)s->duplicate_results));
}

/* "1GiB", "500M", "4096": bytes, or -1. */
static long long parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {{"", 1},     {"k", 1e3},           {"kb", 1e3},        {"kib", 1024.0},
                 {"m", 1e6},  {"mb", 1e6},          {"mib", 1048576.0}, {"g", 1e9},
                 {"gb", 1e9}, {"gib", 1073741824.0}};
    for (size_t i = 0; end != s && v >= 0 && i < sizeof units / sizeof *units; i++)
        if (strcasecmp(end, units[i].suffix) == 0)
            return (long long)(v * units[i].mult);
    return -1;
}

static int cmd_run(int argc, char **argv)
{
    const char *job = NULL, *output = NULL, *mrenclave = NULL, *signature = NULL, *nats = NULL;
    const char *reduce_memory = NULL;
    struct opt_list inputs = {0};
    long long mappers = 3, reducers = 1, rounds = 100, split_kib = 0, remote = 0;
    bool json = false, csv = false, allow_sim = false;
    static const char *const tees[] = {"proc", "sim", "none", NULL};
    static const char *const formats[] = {"auto", "text", "csv", "jsonl", NULL};
    struct opt_choice tee = {tees, 0}, format = {formats, 0};
    const struct opt_def opts[] = {
        {"job", OPT_STRING, &job, "F.lua", "the job (map, reduce, optional combine, ...)",
         OPT_REQUIRED, 0, 0},
        {"input", OPT_LIST, &inputs, "PATH", "an input file (repeatable; more may follow)", 0, 0,
         0},
        {"output", OPT_STRING, &output, "DIR", "where part-R.jsonl go", OPT_REQUIRED, 0, 0},
        {"mappers", OPT_INT, &mappers, "M",
         "local worker enclaves (default 3; 0 with --remote-workers)", 0, 0, 64},
        {"reducers", OPT_INT, &reducers, "R", "reduce partitions (default 1)", 0, 1, 4096},
        {"tee", OPT_CHOICE, &tee, "KIND", "where workers run", 0, 0, 0},
        {"format", OPT_CHOICE, &format, "F", "input format (auto: by extension)", 0, 0, 0},
        {"csv", OPT_FLAG, &csv, NULL, "write part-R.csv instead of JSON Lines", 0, 0, 0},
        {"allow-simulated", OPT_FLAG, &allow_sim, NULL,
         "accept the workers' simulated evidence (no SGX)", 0, 0, 0},
        {"mrenclave", OPT_STRING, &mrenclave, "H",
         "pin the workers' MRENCLAVE (default: the installed image's)", 0, 0, 0},
        {"signature", OPT_STRING, &signature, "SIG",
         "the worker image's signature (default: mapreduce.enclave.sig)", 0, 0, 0},
        {"rounds", OPT_INT, &rounds, "N", "at most N rounds of an iterative job (default 100)", 0,
         1, 100000},
        {"split-kib", OPT_INT, &split_kib, "K", "input KiB per map task (default: up to 1024)", 0,
         4, 1 << 20},
        {"reduce-memory", OPT_STRING, &reduce_memory, "SIZE",
         "a reducer's input held in its enclave before it spills sorted sealed runs to disk "
         "(default 8MiB, at most 12MiB; 0: never)",
         0, 0, 0},
        {"nats", OPT_STRING, &nats, "URL",
         "tasks, results and shuffle over NATS JetStream (nats://HOST:4222)", 0, 0, 0},
        {"remote-workers", OPT_INT, &remote, "N",
         "with --nats: also N `mapreduce worker` enclaves, attested and provisioned over NATS", 0,
         1, 64},
        {"json", OPT_FLAG, &json, NULL, "print a JSON summary", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "mapreduce run",
        "[PATH...]",
        "Run a Lua MapReduce job over local worker enclaves.",
        opts,
        0,
        -1,
        "Checks the job, starts M worker enclaves, verifies their evidence and provisions a\n"
        "fresh job key by HPKE, then maps the input splits and reduces R partitions; every\n"
        "chunk the host handles is AES-256-GCM. Writes DIR/part-R.jsonl (sorted by key) and\n"
        "DIR/_SUCCESS. Iterative jobs (next_round) run round by round (docs/mapreduce.md).\n"
        "With --nats, tasks go through a work-queue stream (redelivered when a worker dies),\n"
        "results and sealed shuffle chunks through streams of the job, deleted at the end;\n"
        "--remote-workers N offers N seats to `cloister mapreduce worker` processes: each gets\n"
        "the key only after its evidence passed the same policy (--mappers 0: remote only).",
        "cloister mapreduce gen text --size 10MiB --output corpus.txt\n"
        "cloister mapreduce run --job examples/mapreduce/wordcount.lua --input corpus.txt \\\n"
        "    --output out --mappers 3 --reducers 2 --allow-simulated\n"
        "cloister mapreduce run --job kmeans.lua --input points.csv --output km --tee sim \\\n"
        "    --allow-simulated --json\n"
        "cloister mapreduce run --job examples/mapreduce/wordcount.lua --input corpus.txt \\\n"
        "    --output out --nats nats://127.0.0.1:4222 --allow-simulated\n"
        "cloister mapreduce run --job examples/mapreduce/wordcount.lua --input corpus.txt \\\n"
        "    --output out --nats nats://127.0.0.1:4222 --mappers 0 --remote-workers 4 \\\n"
        "    --allow-simulated\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    const char **paths = calloc((size_t)inputs.n + (size_t)nargs + 1, sizeof *paths);
    size_t n = 0;
    if (!paths)
        return cli_fail("no memory");
    for (int i = 0; i < inputs.n; i++)
        paths[n++] = inputs.v[i];
    for (int i = 0; i < nargs; i++)
        paths[n++] = argv[i];
    if (n == 0) {
        free(paths);
        fprintf(stderr, "cloister mapreduce run: give at least one --input\n");
        return CLI_USAGE;
    }
    uint8_t mre[TEE_HASH_LEN];
    size_t mrelen = 0;
    bool bad = mrenclave &&
               cli_parse_hex("mrenclave", mrenclave, mre, sizeof mre, &mrelen) != CLI_OK;
    if (mrenclave && !bad && mrelen != sizeof mre) {
        fprintf(stderr, "cloister mapreduce run: --mrenclave takes 64 hex digits\n");
        bad = true;
    }
    long long cap = reduce_memory ? parse_size(reduce_memory) : MR_REDUCE_MEMORY_DEFAULT;
    if (cap < 0) {
        fprintf(stderr, "cloister mapreduce run: --reduce-memory takes a size, e.g. 4MiB\n");
        bad = true;
    }
    if (bad) {
        free(paths);
        return CLI_USAGE;
    }
    bool tty = isatty(STDERR_FILENO);
    struct mr_options o;
    mr_options_init(&o);
    o.job = job;
    o.inputs = paths;
    o.ninputs = n;
    o.output = output;
    o.workers = (unsigned)mappers;
    o.reducers = (unsigned)reducers;
    o.tee = (enum mr_tee)tee.index;
    o.format = (enum mr_input_format)format.index;
    o.csv_output = csv;
    o.allow_simulated = allow_sim;
    o.mrenclave = mrenclave ? mre : NULL;
    o.signature = signature;
    o.enclave = &tee_enclave_mapreduce;
    o.inproc = &mr_inproc_worker;
    o.max_rounds = (unsigned)rounds;
    o.split_bytes = (size_t)split_kib << 10;
    o.reduce_memory = (uint64_t)cap;
    o.nats = nats;
    o.remote_workers = (unsigned)remote;
    o.stop = &stop_flag;
    o.log = stderr;
    o.progress = progress;
    o.progress_arg = &tty;
    struct sigaction old_int, old_term;
    catch_signals(&old_int, &old_term);
    struct mr_summary s;
    struct cloister_err err;
    rc = mr_run(&o, &s, &err);
    free(paths);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (tty && s.seconds >= 2)
        fputc('\n', stderr);
    if (rc != 0)
        return cli_fail("%s", err.msg);
    return print_summary(&o, &s, json);
}

static void on_join(void *arg, unsigned slot, const char *job)
{
    (void)arg;
    printf("slot %u joined job %s\n", slot, job);
    fflush(stdout);
}

static int cmd_worker(int argc, char **argv)
{
    const char *nats = NULL, *signature = NULL, *name = "worker";
    long long slots = 1;
    static const char *const tees[] = {"proc", "sim", NULL};
    struct opt_choice tee = {tees, 0};
    const struct opt_def opts[] = {
        {"nats", OPT_STRING, &nats, "URL", "the NATS server jobs are offered on", OPT_REQUIRED, 0,
         0},
        {"slots", OPT_INT, &slots, "K", "worker enclaves, one job each at a time (default 1)", 0, 1,
         64},
        {"tee", OPT_CHOICE, &tee, "KIND", "how the enclaves run (proc or sim)", 0, 0, 0},
        {"signature", OPT_STRING, &signature, "SIG",
         "the worker image's signature (default: mapreduce.enclave.sig)", 0, 0, 0},
        {"name", OPT_STRING, &name, "NAME", "how clients' logs call this worker", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "mapreduce worker",
        NULL,
        "Serve MapReduce jobs offered over NATS, as a remote worker.",
        opts,
        0,
        0,
        "Starts K worker enclaves. Each takes a seat a client offered (`mapreduce run --nats\n"
        "URL --remote-workers N`), proves itself with attested evidence for the seat's nonce\n"
        "and gets the job key by HPKE only if the client's policy accepts it, then runs the\n"
        "job's tasks from its work-queue stream (a task it does not finish is redelivered to\n"
        "another worker) until the job ends, and takes the next seat. Prints a line per job\n"
        "joined. SIGINT or SIGTERM: the running tasks finish, then the worker exits 0.",
        "cloister mapreduce worker --nats nats://10.0.0.5:4222 --slots 4\n"
        "cloister mapreduce worker --nats nats://127.0.0.1:4222 --tee sim --name laptop\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct mr_remote_options o = {.url = nats,
                                  .slots = (unsigned)slots,
                                  .tee = tee.index == 1 ? MR_TEE_SIM : MR_TEE_PROC,
                                  .enclave = &tee_enclave_mapreduce,
                                  .signature = signature,
                                  .name = name,
                                  .stop = &stop_flag,
                                  .on_join = on_join};
    struct sigaction old_int, old_term;
    catch_signals(&old_int, &old_term);
    struct cloister_err err;
    rc = mr_remote_worker_run(&o, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc == 0 ? CLI_OK : cli_fail("%s", err.msg);
}

static int cmd_gen(int argc, char **argv)
{
    const char *size = "100MiB", *output = "-";
    long long n = 1000000, k = 8, dim = 2, seed = 42;
    const struct opt_def opts[] = {
        {"size", OPT_STRING, &size, "SIZE", "text: bytes to write, e.g. 1GiB (default 100MiB)", 0,
         0, 0},
        {"n", OPT_INT, &n, "N", "points: how many (default 1000000)", 0, 1, 1000000000000LL},
        {"k", OPT_INT, &k, "K", "points: clusters (default 8)", 0, 1, 100000},
        {"dim", OPT_INT, &dim, "D", "points: dimensions (default 2)", 0, 1, 64},
        {"seed", OPT_INT, &seed, "S", "the seed (default 42)", 0, 0, 0},
        {"output", OPT_STRING, &output, "FILE", "where to write (default stdout)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "mapreduce gen",
        "text|points",
        "Generate a Zipf English text or clustered points (CSV).",
        opts,
        1,
        1,
        "text: words of Debian's English list (wamerican) drawn with a Zipf law, in lines\n"
        "of a few words, up to --size bytes. points: --n points around --k seeded centres in\n"
        "--dim dimensions, one CSV row each. The same seed gives the same output.",
        "cloister mapreduce gen text --size 1GiB --output corpus.txt\n"
        "cloister mapreduce gen points --n 1000000 --k 8 --dim 2 --output points.csv\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    bool text = strcmp(argv[0], "text") == 0;
    if (!text && strcmp(argv[0], "points") != 0) {
        fprintf(stderr, "cloister mapreduce gen: generate 'text' or 'points', not '%s'\n", argv[0]);
        return CLI_USAGE;
    }
    long long bytes = parse_size(size);
    if (text && bytes < 0) {
        fprintf(stderr, "cloister mapreduce gen: --size takes bytes, e.g. 1GiB or 500M\n");
        return CLI_USAGE;
    }
    FILE *f = strcmp(output, "-") == 0 ? stdout : fopen(output, "w");
    if (!f)
        return cli_fail("%s: cannot create the output", output);
    struct cloister_err err;
    rc = text ? mr_gen_text(f, (uint64_t)bytes, (uint64_t)seed, &err)
              : mr_gen_points(f, (uint64_t)n, (unsigned)k, (unsigned)dim, (uint64_t)seed, &err);
    if ((f != stdout && fclose(f) != 0) || (f == stdout && fflush(f) != 0))
        rc = rc ? rc : cloister_errf(&err, CLOISTER_E_SYSTEM, "write error");
    return rc == 0 ? CLI_OK : cli_fail("%s: %s", output, err.msg);
}

static const struct cli_command mapreduce_commands[] = {
    {"run", "run a Lua MapReduce job over local and remote worker enclaves", cmd_run},
    {"worker", "serve jobs offered over NATS as an attested remote worker", cmd_worker},
    {"gen", "generate inputs: Zipf English text, clustered points", cmd_gen},
    {0}};

const struct cli_system cli_mapreduce_system = {
    "mapreduce", "Lua MapReduce jobs in worker enclaves, encrypted end to end", mapreduce_commands,
    cli_mapreduce_demo};
