/* bench_streams.c -- the flights pipeline (DEBS 2017) in the embedded engine over generated
 * 2008 flights, in the shape of the paper's figures, with latency, which the paper did not
 * measure:
 *
 *   throughput  events/s over a file, plain ("none"), with the paper's secure filter and reduce
 *               ("paper", as examples/streams/flights.lua; "paper-unfused": its plain stages kept
 *               out of the enclave, ss_options.no_fuse) and with every stage secure ("all"), in
 *               proc and sim enclaves, then "paper" in proc enclaves against the batch size; the
 *               median of three runs, each configuration run in turn in the same process so that
 *               they share the machine's load; with the CPU time of the run (this process and
 *               its enclave processes), which a loaded machine skews less than the wall time
 *   cdf         the source paced at half of the peak rate of "paper" in proc enclaves (a writer
 *               thread feeding a FIFO every millisecond): the latency of each batch from the
 *               read of its first event to the sink, at the quantiles ss_latency_points, plain
 *               and paper, both at the same offered rate
 *   latency     the same offered rate against the batch size (linger 5 ms): p50 and p99
 *
 * CSV: kind,config,tee,batch,offered_per_s,events,seconds,events_per_s,p50_ms,p99_ms,q,
 * latency_ms,cpu_s. Targets (issue 14), printed on stderr beside each figure: >= 300k events/s
 * embedded, secure within 1.3x of plain, p99 <= 50 ms at half load. */
#include <cloister/crypto.h>
#include <cloister/streams.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(streams);

/* Sizes: CLOISTER_STREAMS_BENCH_ROWS rows (default 200,000), each paced run
 * CLOISTER_STREAMS_BENCH_PACED_S seconds (default 2); `cloister reproduce --quick` sets them
 * smaller. */
static size_t n_rows = 200000;
static double paced_s = 2.0;
#define TARGET_RATE 300000.0 /* events/s, embedded */
#define TARGET_RATIO 1.3     /* secure against plain */
#define TARGET_P99_MS 50.0   /* at half load */

/* The pipeline with S(...) as secure(...) where the configuration wants it. */
static const char PIPELINE[] =
    "local function S(f) return param.secure == 'all' and secure(f) or f end\n"
    "local function P(f) return param.secure ~= 'none' and secure(f) or f end\n"
    "return pipeline('flights')\n"
    "  :source(csv(param.input, { columns = { 'UniqueCarrier', 'ArrDelay' } }))\n"
    "  :map(S(function(r) return { carrier = r.UniqueCarrier, delay = tonumber(r.ArrDelay) } "
    "end))\n"
    "  :filter(P(function(r) return r.delay ~= nil and r.delay > 0 end))\n"
    "  :key_by(S(function(r) return r.carrier end))\n"
    "  :reduce(P(function(a, r) a.n = a.n + 1; a.sum = a.sum + r.delay; return a end),\n"
    "          function() return { n = 0, sum = 0 } end)\n"
    "  :map(S(function(kv) return { carrier = kv.key, late_flights = kv.value.n,\n"
    "         avg_delay = kv.value.sum / kv.value.n } end))\n"
    "  :sink(csv_out(param.output, { columns = { 'carrier', 'late_flights', 'avg_delay' } }))\n";

static char dir[4096], lua[4200], input[4200], fifo[4200], output[4200], sig[4200];

static void run(const char *config, bool unfused, enum ss_tee tee, size_t batch, const char *in,
                struct ss_stats *s)
{
    const char *pv[6] = {"input", in, "output", output, "secure", config};
    struct ss_options o;
    ss_options_init(&o);
    o.tee = tee;
    o.enclave = &tee_enclave_streams;
    o.allow_simulated = true;
    o.signature = sig;
    o.home = dir;
    o.params = pv;
    o.nparams = 3;
    o.batch_events = batch;
    o.no_fuse = unfused;
    struct cloister_err err = {0};
    if (ss_run(lua, &o, s, &err) != 0) {
        fprintf(stderr, "bench_streams: %s\n", err.msg);
        exit(1);
    }
}

static const char *tee_name(enum ss_tee tee)
{
    return tee == SS_TEE_PROC ? "proc" : "sim";
}

struct config {
    const char *name; /* the pipeline's param.secure */
    bool unfused;
    enum ss_tee tee;
    size_t batch;
    double t[3], cpu[3];
    struct ss_stats s[3];
    double sec, cpu_s; /* the medians */
};

static const char *label(const struct config *c)
{
    return c->unfused ? "paper-unfused" : c->name;
}

/* CPU seconds of this process and of its children reaped so far (the proc enclaves). */
static double cpu_now(void)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    struct timeval t[4] = {self.ru_utime, self.ru_stime, kids.ru_utime, kids.ru_stime};
    double s = 0;
    for (int i = 0; i < 4; i++)
        s += (double)t[i].tv_sec + (double)t[i].tv_usec / 1e6;
    return s;
}

/* Runs every configuration three times in turn (so that each sees the same load); prints the
 * median of each; returns the median rate of the first. */
static double throughput(struct config *c, size_t n)
{
    for (int r = 0; r < 3; r++)
        for (size_t i = 0; i < n; i++) {
            double t0 = bench_now_ns(), c0 = cpu_now();
            run(c[i].name, c[i].unfused, c[i].tee, c[i].batch, input, &c[i].s[r]);
            c[i].t[r] = (bench_now_ns() - t0) / 1e9;
            c[i].cpu[r] = cpu_now() - c0;
        }
    for (size_t i = 0; i < n; i++) {
        double t[3] = {c[i].t[0], c[i].t[1], c[i].t[2]};
        c[i].sec = bench_quantile(t, 3, 0.5);
        c[i].cpu_s = bench_quantile(c[i].cpu, 3, 0.5);
        const struct ss_stats *s = &c[i].s[0];
        for (int r = 0; r < 3; r++)
            if (c[i].t[r] == c[i].sec)
                s = &c[i].s[r];
        printf("throughput,%s,%s,%zu,0,%zu,%.3f,%.0f,%.3f,%.3f,0,0,%.3f\n", label(&c[i]),
               tee_name(c[i].tee), c[i].batch, n_rows, c[i].sec, n_rows / c[i].sec,
               (double)s->latency_p50_us / 1e3, (double)s->latency_p99_us / 1e3, c[i].cpu_s);
    }
    fflush(stdout);
    return n_rows / c[0].sec;
}

/* Each secure configuration beside the targets: its rate, and its cost against the plain one
 * of the same tee (c[plain]) in wall time and in CPU time. */
static void against_targets(const struct config *c, size_t n, size_t plain)
{
    for (size_t i = 0; i < n; i++) {
        double rate = n_rows / c[i].sec;
        fprintf(stderr, "bench_streams: %-13s %s  %4.0fk events/s (target >= %.0fk: %s)",
                label(&c[i]), tee_name(c[i].tee), rate / 1e3, TARGET_RATE / 1e3,
                rate >= TARGET_RATE ? "met" : "MISSED");
        if (c[i].tee == c[plain].tee && i != plain) {
            double w = c[i].sec / c[plain].sec, u = c[i].cpu_s / c[plain].cpu_s;
            fprintf(stderr, "; %.2fx plain wall, %.2fx plain CPU (target <= %.1fx: %s)", w, u,
                    TARGET_RATIO, w <= TARGET_RATIO ? "met" : "MISSED");
        }
        fputc('\n', stderr);
        if (i + 1 < n && c[i + 1].tee != c[i].tee)
            plain += n / 2;
    }
}

/* ---- the paced source ---- */

struct pacer {
    const char *data; /* the CSV, header first */
    size_t len, header_len;
    double rate;   /* rows per second */
    uint64_t rows; /* to write */
};

/* Writes p->rows data rows to the FIFO, cycling through the file's, rate rows per second in
 * slices of a millisecond (catching up after a late wake-up). */
static void *pacer_main(void *arg)
{
    struct pacer *p = arg;
    int fd = open(fifo, O_WRONLY);
    if (fd < 0 || write(fd, p->data, p->header_len) != (ssize_t)p->header_len)
        exit(1);
    size_t at = p->header_len;
    uint64_t sent = 0;
    double t0 = bench_now_ns();
    while (sent < p->rows) {
        uint64_t due = (uint64_t)((bench_now_ns() - t0) / 1e9 * p->rate);
        due = due > p->rows ? p->rows : due;
        size_t from = at;
        for (; sent < due; sent++) {
            if (at == p->len) {
                if (write(fd, p->data + from, at - from) < 0)
                    exit(1);
                at = from = p->header_len;
            }
            const char *nl = memchr(p->data + at, '\n', p->len - at);
            at = nl ? (size_t)(nl - p->data) + 1 : p->len;
        }
        if (at > from && write(fd, p->data + from, at - from) < 0)
            exit(1);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    close(fd);
    return NULL;
}

static void paced(const char *config, size_t batch, double rate, const struct pacer *tmpl,
                  struct ss_stats *s)
{
    struct pacer p = *tmpl;
    p.rate = rate;
    p.rows = (uint64_t)(rate * paced_s);
    pthread_t t;
    if (pthread_create(&t, NULL, pacer_main, &p) != 0)
        exit(1);
    run(config, false, SS_TEE_PROC, batch, fifo, s);
    pthread_join(t, NULL);
}

static void p99_against_target(const char *what, size_t batch, const struct ss_stats *s)
{
    double p99 = (double)s->latency_p99_us / 1e3;
    fprintf(stderr,
            "bench_streams: %-5s batch %5zu at half load: p99 %.1f ms (target <= %.0f ms: %s)\n",
            what, batch, p99, TARGET_P99_MS, p99 <= TARGET_P99_MS ? "met" : "MISSED");
}

static double env_num(const char *name, double dflt)
{
    const char *v = getenv(name);
    double x = v ? strtod(v, NULL) : 0;
    return x > 0 ? x : dflt;
}

int main(int argc, char **argv)
{
    n_rows = (size_t)env_num("CLOISTER_STREAMS_BENCH_ROWS", (double)n_rows);
    paced_s = env_num("CLOISTER_STREAMS_BENCH_PACED_S", paced_s);
    snprintf(dir, sizeof dir, "%s/streams-bench", argc > 1 ? argv[1] : "/tmp");
    file_remove_tree(dir);
    file_mkdirs(dir, 0700);
    snprintf(lua, sizeof lua, "%s/flights.lua", dir);
    snprintf(input, sizeof input, "%s/2008.csv", dir);
    snprintf(fifo, sizeof fifo, "%s/paced.csv", dir);
    snprintf(output, sizeof output, "%s/delays.csv", dir);
    snprintf(sig, sizeof sig, "%s/streams.enclave.sig", dir);
    char image[4096];
    uint8_t seed[32];
    struct cloister_err err = {0};
    struct pacer p = {0};
    if (file_write_atomic(lua, PIPELINE, strlen(PIPELINE), 0644) != 0 ||
        ss_gen_flights(input, n_rows, 2008, 1, &err) != 0 ||
        crypto_random(seed, sizeof seed) != 0 ||
        tee_image_path("streams", image, sizeof image, &err) != 0 ||
        ss_sign_image(image, seed, sig, &err) != 0 || mkfifo(fifo, 0600) != 0 ||
        file_read_all(input, 1 << 30, (uint8_t **)&p.data, &p.len) != 0) {
        fprintf(stderr, "bench_streams: setup: %s\n", err.msg[0] ? err.msg : strerror(errno));
        return 1;
    }
    p.header_len = (size_t)((const char *)memchr(p.data, '\n', p.len) - p.data) + 1;
    printf("kind,config,tee,batch,offered_per_s,events,seconds,events_per_s,p50_ms,p99_ms,q,"
           "latency_ms,cpu_s\n");
    /* the first half proc, the second sim, in the same order (against_targets) */
    struct config secure[] = {{.name = "paper", .tee = SS_TEE_PROC, .batch = 1024},
                              {.name = "none", .tee = SS_TEE_PROC, .batch = 1024},
                              {.name = "all", .tee = SS_TEE_PROC, .batch = 1024},
                              {.name = "paper", .unfused = true, .tee = SS_TEE_PROC, .batch = 1024},
                              {.name = "paper", .tee = SS_TEE_SIM, .batch = 1024},
                              {.name = "none", .tee = SS_TEE_SIM, .batch = 1024},
                              {.name = "all", .tee = SS_TEE_SIM, .batch = 1024},
                              {.name = "paper", .unfused = true, .tee = SS_TEE_SIM, .batch = 1024}};
    double peak = throughput(secure, sizeof secure / sizeof secure[0]);
    against_targets(secure, sizeof secure / sizeof secure[0], 1);
    struct config batches[] = {{.name = "paper", .tee = SS_TEE_PROC, .batch = 64},
                               {.name = "paper", .tee = SS_TEE_PROC, .batch = 256},
                               {.name = "paper", .tee = SS_TEE_PROC, .batch = 4096},
                               {.name = "paper", .tee = SS_TEE_PROC, .batch = 16384}};
    throughput(batches, sizeof batches / sizeof batches[0]);

    double rate = peak / 2;
    fprintf(stderr, "bench_streams: paced at %.0f events/s, half of paper/proc's peak\n", rate);
    const char *cdf[] = {"none", "paper"};
    for (size_t c = 0; c < 2; c++) {
        struct ss_stats s;
        paced(cdf[c], 1024, rate, &p, &s);
        for (unsigned i = 0; i < SS_LATENCY_POINTS; i++)
            printf("cdf,%s,proc,1024,%.0f,%llu,%.3f,%.0f,%.3f,%.3f,%g,%.3f,0\n", cdf[c], rate,
                   (unsigned long long)s.events_in, s.seconds, (double)s.events_in / s.seconds,
                   (double)s.latency_p50_us / 1e3, (double)s.latency_p99_us / 1e3,
                   ss_latency_points[i], (double)s.latency_cdf_us[i] / 1e3);
        fflush(stdout);
        p99_against_target(cdf[c], 1024, &s);
    }
    for (size_t b = 64; b <= 16384; b *= 4) {
        struct ss_stats s;
        paced("paper", b, rate, &p, &s);
        printf("latency,paper,proc,%zu,%.0f,%llu,%.3f,%.0f,%.3f,%.3f,0,0,0\n", b, rate,
               (unsigned long long)s.events_in, s.seconds, (double)s.events_in / s.seconds,
               (double)s.latency_p50_us / 1e3, (double)s.latency_p99_us / 1e3);
        fflush(stdout);
        p99_against_target("paper", b, &s);
    }
    free((void *)p.data);
    file_remove_tree(dir);
    return 0;
}
