/* bench_streams.c -- events per second of the flights pipeline (DEBS 2017) in the embedded
 * engine over generated 2008 flights: plain, "paper" (filter and per-carrier reduce secure, as
 * examples/streams/flights.lua) and "all" (every stage secure), in proc and sim enclaves, and
 * the paper configuration against the batch size. Each row is the median of three runs.
 * CSV: config,tee,batch,events,seconds,events_per_s. Targets: >= 300k events/s embedded,
 * secure within 1.3x of plain. */
#include <cloister/crypto.h>
#include <cloister/streams.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(streams);

#define ROWS 200000

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

static char dir[4096], lua[4200], input[4200], output[4200], sig[4200];

static double once(const char *config, enum ss_tee tee, size_t batch)
{
    const char *pv[6] = {"input", input, "output", output, "secure", config};
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
    struct ss_stats s;
    struct cloister_err err = {0};
    double t0 = bench_now_ns();
    if (ss_run(lua, &o, &s, &err) != 0) {
        fprintf(stderr, "bench_streams: %s\n", err.msg);
        exit(1);
    }
    return (bench_now_ns() - t0) / 1e9;
}

static void row(const char *config, enum ss_tee tee, size_t batch)
{
    double t[3];
    for (int i = 0; i < 3; i++)
        t[i] = once(config, tee, batch);
    double sec = bench_quantile(t, 3, 0.5);
    printf("%s,%s,%zu,%d,%.3f,%.0f\n", config, tee == SS_TEE_PROC ? "proc" : "sim", batch, ROWS,
           sec, ROWS / sec);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "%s/streams-bench", argc > 1 ? argv[1] : "/tmp");
    file_remove_tree(dir);
    file_mkdirs(dir, 0700);
    snprintf(lua, sizeof lua, "%s/flights.lua", dir);
    snprintf(input, sizeof input, "%s/2008.csv", dir);
    snprintf(output, sizeof output, "%s/delays.csv", dir);
    snprintf(sig, sizeof sig, "%s/streams.enclave.sig", dir);
    char image[4096];
    uint8_t seed[32];
    struct cloister_err err = {0};
    if (file_write_atomic(lua, PIPELINE, strlen(PIPELINE), 0644) != 0 ||
        ss_gen_flights(input, ROWS, 2008, 1, &err) != 0 || crypto_random(seed, sizeof seed) != 0 ||
        tee_image_path("streams", image, sizeof image, &err) != 0 ||
        ss_sign_image(image, seed, sig, &err) != 0) {
        fprintf(stderr, "bench_streams: setup: %s\n", err.msg);
        return 1;
    }
    printf("config,tee,batch,events,seconds,events_per_s\n");
    for (int tee = 0; tee < 2; tee++)
        for (int c = 0; c < 3; c++)
            row((const char *[]){"none", "paper", "all"}[c], tee ? SS_TEE_SIM : SS_TEE_PROC, 1024);
    for (size_t b = 64; b <= 16384; b *= 4)
        if (b != 1024)
            row("paper", SS_TEE_PROC, b);
    file_remove_tree(dir);
    return 0;
}
