/* bench_streams_nats.c -- the flights pipeline (DEBS 2017, its filter and reduce secure as in
 * examples/streams/flights.lua) over NATS JetStream: `streams run --distributed` with every
 * segment a `cloister streams stage` process in a simulated enclave, provisioned over the bus,
 * with 1, 2 and 4 replicas per segment, against the embedded engine measured in the same run (sim
 * enclaves and plain). Each configuration runs in turn, three times, so that all see the same
 * load; the median is printed.
 *
 * CSV: config,mode,replicas,processes,events,wall_s,seconds,events_per_s. seconds is the
 * engine's (from the first event read to the sink's end; the stage processes are started and
 * provisioned before it, in wall_s); events_per_s = events / seconds. Target over NATS: >= 150k
 * events/s (the original: 72k rows/s in cleartext on 16 cores, 14k rows/s in SGX). */
#include <cloister/crypto.h>
#include <cloister/streams.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bus/bus.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(streams);

#define ROWS 200000
#define NATS_TARGET 150000 /* events/s over NATS (the target on 2 cores) */

static char dir[4096], lua[4200], input[4200], output[4200], sig[4200], home[4200];
static struct bus_server *srv;

struct config {
    const char *name;
    bool distributed;
    enum ss_tee tee;
    unsigned replicas;
    double wall[3], sec[3];
    unsigned processes;
};

static void run(struct config *c, int r)
{
    const char *pv[4] = {"input", input, "output", output};
    struct ss_options o;
    ss_options_init(&o);
    o.tee = c->tee;
    o.enclave = &tee_enclave_streams;
    o.allow_simulated = true;
    o.signature = sig;
    o.home = home;
    o.params = pv;
    o.nparams = 2;
    o.distributed = c->distributed;
    o.replicas = c->replicas;
    o.nats = c->distributed ? bus_server_url(srv) : NULL;
    o.stage_exe = CLOISTER_BINARY_DIR "/src/cli/cloister";
    struct ss_stats s;
    struct cloister_err err = {0};
    double t0 = bench_now_ns();
    if (ss_run(lua, &o, &s, &err) != 0 || s.events_in != ROWS) {
        fprintf(stderr, "bench_streams_nats: %s: %s\n", c->name, err.msg);
        exit(1);
    }
    c->wall[r] = (bench_now_ns() - t0) / 1e9;
    c->sec[r] = s.seconds;
    c->processes = s.stage_processes;
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "%s/streams-nats-bench", argc > 1 ? argv[1] : "/tmp");
    file_remove_tree(dir);
    snprintf(home, sizeof home, "%s/home", dir);
    file_mkdirs(home, 0700);
    snprintf(lua, sizeof lua, "%s/flights.lua", dir);
    snprintf(input, sizeof input, "%s/2008.csv", dir);
    snprintf(output, sizeof output, "%s/delays.csv", dir);
    snprintf(sig, sizeof sig, "%s/streams.enclave.sig", dir);
    char image[4096], nats[4200], example[4200];
    snprintf(nats, sizeof nats, "%s/nats", dir);
    snprintf(example, sizeof example, "%s/examples/streams/flights.lua", CLOISTER_SOURCE_DIR);
    uint8_t seed[32], *text = NULL;
    size_t len = 0;
    struct cloister_err err = {0};
    if (file_read_all(example, 1 << 20, &text, &len) != 0 ||
        file_write_atomic(lua, text, len, 0644) != 0 ||
        ss_gen_flights(input, ROWS, 2008, 1, &err) != 0 || crypto_random(seed, sizeof seed) != 0 ||
        tee_image_path("streams", image, sizeof image, &err) != 0 ||
        ss_sign_image(image, seed, sig, &err) != 0 || file_mkdirs(nats, 0700) != 0 ||
        !(srv = bus_server_start(nats, &err))) {
        fprintf(stderr, "bench_streams_nats: setup: %s\n", err.msg[0] ? err.msg : strerror(errno));
        return 1;
    }
    free(text);
    struct config c[] = {
        {.name = "embedded sim", .tee = SS_TEE_SIM},
        {.name = "embedded plain", .tee = SS_TEE_NONE},
        {.name = "NATS 1 replica", .distributed = true, .tee = SS_TEE_SIM, .replicas = 1},
        {.name = "NATS 2 replicas", .distributed = true, .tee = SS_TEE_SIM, .replicas = 2},
        {.name = "NATS 4 replicas", .distributed = true, .tee = SS_TEE_SIM, .replicas = 4},
    };
    size_t n = sizeof c / sizeof c[0];
    for (int r = 0; r < 3; r++)
        for (size_t i = 0; i < n; i++)
            run(&c[i], r);
    printf("config,mode,replicas,processes,events,wall_s,seconds,events_per_s\n");
    for (size_t i = 0; i < n; i++) {
        double sec = bench_quantile(c[i].sec, 3, 0.5), wall = bench_quantile(c[i].wall, 3, 0.5);
        printf("%s,%s,%u,%u,%d,%.3f,%.3f,%.0f\n", c[i].name, c[i].distributed ? "nats" : "embedded",
               c[i].replicas, c[i].processes, ROWS, wall, sec, ROWS / sec);
        if (c[i].distributed)
            fprintf(stderr, "bench_streams_nats: %s: %.0f events/s (target >= %d: %s)\n", c[i].name,
                    ROWS / sec, NATS_TARGET, ROWS / sec >= NATS_TARGET ? "met" : "missed");
    }
    bus_server_stop(srv);
    file_remove_tree(dir);
    return 0;
}
