/* bench_mapreduce.c -- MapReduce throughput (docs/mapreduce.md §7).
 *
 * Word count over a Zipf text and k-means over clustered points: a plain C reference (a hash
 * table counter; the same k-means rounds in C), then, for those and for grep and the inverted
 * index over the same text (no C reference), the example Lua jobs through the embedded
 * engine with --tee none (the same Lua, no enclave), sim, proc, and proc with an EPC budget
 * smaller than the workers' working set, and proc with tasks, results and the shuffle through a
 * local nats-server (lua-proc-nats; skipped without nats-server), each with 1, 2 and 4 workers. Throughput is input
 * bytes (times rounds for k-means) over the map and reduce time (enclave start and provisioning
 * excluded), in MB/s and records/s; ecalls per 1,000 records shows the batching.
 *
 * CSV: app,mode,workers,mb_s,records_s,seconds,ecalls_per_1k_records,lua_heap_peak,cpu_seconds,
 * mb_per_cpu_s. cpu_seconds is the CPU time of the whole run (this process, its worker threads
 * and the enclave processes it waited for: getrusage of self and children, enclave start
 * included), so mb_per_cpu_s is the throughput per busy core, what one worker does on a core of
 * its own, whatever the machine's load. The word count per worker is also printed on stderr
 * beside the target (25 MB/s in an enclave), by wall time and by CPU time.
 * Environment: CLOISTER_MR_BENCH_MB (text size, default 8), CLOISTER_MR_BENCH_POINTS
 * (default 50000), CLOISTER_MR_BENCH_EPC_KIB (the small budget, default 8192),
 * CLOISTER_MR_BENCH_MODES (the Lua modes to run, comma-separated, e.g. "lua-none,lua-proc"),
 * CLOISTER_MR_BENCH_APPS (the apps, e.g. "wordcount"; default all), CLOISTER_MR_BENCH_WORKERS
 * (the worker counts, e.g. "1,4"; default 1, 2 and 4). */
#include <cloister/crypto.h>
#include <cloister/mapreduce.h>
#include <cloister/tee_enclave.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "bus/bus.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(mapreduce);

static char dir[4096], text[4200], points[4200], sig[4200], sig_small[4200];

static double env_num(const char *name, double dflt)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : dflt;
}

static void row(const char *app, const char *mode, unsigned workers, double bytes, double records,
                double seconds, double ecalls, double heap, double cpu)
{
    printf("%s,%s,%u,%.2f,%.0f,%.3f,%.3f,%.0f,%.3f,%.2f\n", app, mode, workers,
           bytes / 1e6 / seconds, records / seconds, seconds,
           records > 0 ? ecalls * 1000.0 / records : 0, heap, cpu, bytes / 1e6 / cpu);
    fflush(stdout);
}

/* CPU seconds used so far by this process and by its children it waited for. */
static double cpu_now(void)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    const struct timeval tv[] = {self.ru_utime, self.ru_stime, kids.ru_utime, kids.ru_stime};
    double s = 0;
    for (size_t i = 0; i < 4; i++)
        s += (double)tv[i].tv_sec + (double)tv[i].tv_usec / 1e6;
    return s;
}

/* ---- C references ---- */

struct slot {
    const char *w;
    size_t len;
    uint64_t n;
};

static double c_wordcount(const uint8_t *t, size_t len, uint64_t *lines)
{
    size_t cap = 1 << 20, used = 0;
    struct slot *tab = calloc(cap, sizeof *tab);
    char *low = malloc(len);
    double t0 = bench_now_ns();
    *lines = 0;
    for (size_t i = 0; i < len;) {
        if (t[i] == '\n')
            (*lines)++;
        if (!isalpha(t[i])) {
            i++;
            continue;
        }
        size_t j = i;
        uint64_t h = 1469598103934665603ull;
        for (; j < len && isalpha(t[j]); j++) {
            low[j] = (char)tolower(t[j]);
            h = (h ^ (uint8_t)low[j]) * 1099511628211ull;
        }
        size_t k = h & (cap - 1);
        while (tab[k].w && (tab[k].len != j - i || memcmp(tab[k].w, low + i, j - i) != 0))
            k = (k + 1) & (cap - 1);
        if (!tab[k].w) {
            tab[k] = (struct slot){low + i, j - i, 0};
            used++;
        }
        tab[k].n++;
        i = j;
    }
    double s = (bench_now_ns() - t0) / 1e9;
    fprintf(stderr, "C word count: %zu distinct words\n", used);
    free(tab);
    free(low);
    return s;
}

static double c_kmeans(const uint8_t *t, size_t len, unsigned rounds, uint64_t *n)
{
    double t0 = bench_now_ns(), c[8][2];
    *n = 0;
    for (unsigned r = 0; r < rounds; r++) {
        double sum[8][2] = {{0}};
        uint64_t cnt[8] = {0};
        const char *p = (const char *)t, *end = p + len;
        uint64_t np = 0;
        while (p < end) {
            char *e;
            double x = strtod(p, &e), y = strtod(e + 1, &e);
            p = e + 1;
            if (r == 0 && np < 8)
                c[np][0] = x, c[np][1] = y;
            int best = 0;
            double bd = INFINITY;
            for (int k = 0; k < 8; k++) {
                double d = (x - c[k][0]) * (x - c[k][0]) + (y - c[k][1]) * (y - c[k][1]);
                if (d < bd)
                    best = k, bd = d;
            }
            sum[best][0] += x, sum[best][1] += y, cnt[best]++;
            np++;
        }
        for (int k = 0; k < 8; k++)
            if (cnt[k])
                c[k][0] = sum[k][0] / (double)cnt[k], c[k][1] = sum[k][1] / (double)cnt[k];
        *n = np;
    }
    return (bench_now_ns() - t0) / 1e9;
}

/* ---- the engine ---- */

static const char *const MODES[] = {"lua-none", "lua-sim", "lua-proc", "lua-proc-small-epc",
                                    "lua-proc-nats"};
#define NMODES 5
static struct bus_server *nats; /* the nats rows: tasks and shuffle through a local nats-server */

static int run_job(const char *job, const char *input, int mode, unsigned workers,
                   struct mr_summary *s)
{
    char jobp[4200], out[4200];
    static const char *inputs[1];
    snprintf(jobp, sizeof jobp, "%s/examples/mapreduce/%s", CLOISTER_SOURCE_DIR, job);
    snprintf(out, sizeof out, "%s/out", dir);
    inputs[0] = input;
    struct mr_options o;
    mr_options_init(&o);
    o.job = jobp;
    o.inputs = inputs;
    o.ninputs = 1;
    o.output = out;
    o.workers = workers;
    o.reducers = workers;
    o.tee = mode == 0 ? MR_TEE_NONE : mode == 1 ? MR_TEE_SIM : MR_TEE_PROC;
    o.nats = mode == 4 ? bus_server_url(nats) : NULL;
    o.allow_simulated = true;
    o.signature = mode == 3 ? sig_small : sig;
    o.enclave = &tee_enclave_mapreduce;
    o.inproc = &mr_inproc_worker;
    struct cloister_err err;
    int rc = mr_run(&o, s, &err);
    if (rc != 0)
        fprintf(stderr, "%s %s: %s\n", job, MODES[mode], err.msg);
    return rc;
}

/* Whether the comma-separated list in environment variable var names name (unset: all). */
static bool wanted(const char *var, const char *name)
{
    const char *want = getenv(var);
    size_t n = strlen(name);
    for (const char *p = want; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    }
    return !want || !*want;
}

static void bench_app(const char *app, const char *job, const char *input, const uint8_t *data,
                      size_t len)
{
    uint64_t records;
    unsigned rounds = 1;
    struct mr_summary s;
    /* the Lua job's rounds first, so the C reference does as many */
    if (strcmp(app, "kmeans") == 0 && run_job(job, input, 0, 4, &s) == 0)
        rounds = s.rounds;
    bool wc = strcmp(app, "wordcount") == 0, km = strcmp(app, "kmeans") == 0;
    double cpu0 = cpu_now();
    double secs = wc   ? c_wordcount(data, len, &records)
                  : km ? c_kmeans(data, len, rounds, &records)
                       : 0;
    double c_cpu = cpu_now() - cpu0;
    if (wc || km) /* grep and inverted_index: the Lua jobs only */
        row(app, "c", 1, (double)len * rounds, (double)records * rounds, secs, 0, 0, c_cpu);
    static const unsigned workers[] = {1, 2, 4};
    for (int mode = 0; mode < NMODES; mode++)
        for (size_t w = 0; w < 3; w++) {
            char nw[16];
            snprintf(nw, sizeof nw, "%u", workers[w]);
            if ((mode == 4 && !nats) || !wanted("CLOISTER_MR_BENCH_MODES", MODES[mode]) ||
                !wanted("CLOISTER_MR_BENCH_WORKERS", nw))
                continue;
            cpu0 = cpu_now();
            if (run_job(job, input, mode, workers[w], &s) != 0)
                continue;
            double t = s.map_seconds + s.reduce_seconds, cpu = cpu_now() - cpu0;
            row(app, MODES[mode], workers[w], (double)s.input_bytes * s.rounds,
                (double)s.records_in, t, (double)s.ecalls, (double)s.lua_heap_peak, cpu);
            if (wc) /* the target, in an enclave (sim, proc), beside the C reference */
                fprintf(stderr,
                        "word count, %s, %u worker(s): %.1f MB/s per worker by wall time, %.1f "
                        "per CPU second (target 25 in an enclave; C reference %.1f, %.1f per CPU "
                        "second)\n",
                        MODES[mode], workers[w], (double)s.input_bytes / 1e6 / t / workers[w],
                        (double)s.input_bytes / 1e6 / cpu, (double)len / 1e6 / secs,
                        (double)len / 1e6 / c_cpu);
        }
}

static void setup(const char *outdir)
{
    snprintf(dir, sizeof dir, "%s/mapreduce-work", outdir);
    file_remove_tree(dir);
    file_mkdirs(dir, 0700);
    snprintf(text, sizeof text, "%s/text.txt", dir);
    snprintf(points, sizeof points, "%s/points.csv", dir);
    snprintf(sig, sizeof sig, "%s/mapreduce.sig", dir);
    snprintf(sig_small, sizeof sig_small, "%s/mapreduce-small-epc.sig", dir);
    struct cloister_err err;
    FILE *f = fopen(text, "w");
    if (!f || mr_gen_text(f, (uint64_t)(env_num("CLOISTER_MR_BENCH_MB", 8) * 1e6), 1, &err))
        exit(1);
    fclose(f);
    f = fopen(points, "w");
    if (!f || mr_gen_points(f, (uint64_t)env_num("CLOISTER_MR_BENCH_POINTS", 50000), 8, 2, 1, &err))
        exit(1);
    fclose(f);
    char image[4200];
    uint8_t seed[32], pk[32];
    snprintf(image, sizeof image, "%s/enclaves/mapreduce.enclave", CLOISTER_BINARY_DIR);
    if (crypto_ed25519_keypair(pk, seed) != 0 || mr_sign_image(image, seed, 0, 0, sig, &err) ||
        mr_sign_image(image, seed, (uint64_t)env_num("CLOISTER_MR_BENCH_EPC_KIB", 8192) << 10, 0,
                      sig_small, &err)) {
        fprintf(stderr, "signing: %s\n", err.msg);
        exit(1);
    }
    char natsdir[4200];
    snprintf(natsdir, sizeof natsdir, "%s/nats", dir);
    file_mkdirs(natsdir, 0700);
    if (!(nats = bus_server_start(natsdir, &err)))
        fprintf(stderr, "no nats rows: %s\n", err.msg);
}

int main(int argc, char **argv)
{
    setup(argc > 1 ? argv[1] : ".");
    printf("app,mode,workers,mb_s,records_s,seconds,ecalls_per_1k_records,lua_heap_peak,"
           "cpu_seconds,mb_per_cpu_s\n");
    const char *inputs[] = {text, points, text, text},
               *apps[] = {"wordcount", "kmeans", "grep", "inverted_index"},
               *jobs[] = {"wordcount.lua", "kmeans.lua", "grep.lua", "inverted_index.lua"};
    for (int a = 0; a < 4; a++) {
        if (!wanted("CLOISTER_MR_BENCH_APPS", apps[a]))
            continue;
        uint8_t *data;
        size_t len;
        if (file_read_all(inputs[a], (size_t)1 << 32, &data, &len) != 0)
            return 1;
        bench_app(apps[a], jobs[a], inputs[a], data, len);
        free(data);
    }
    bus_server_stop(nats);
    file_remove_tree(dir);
    return 0;
}
