/* bench_mr_shuffle.c -- MapReduce's shuffle over NATS JetStream on loopback, through the job's
 * transport (mr_transport_nats.c), against the in-process transport as the baseline.
 *
 * For each chunk size (256 KiB to 32 MiB: the larger ones beyond the local server's 8 MiB
 * max_payload, so the transport splits them into pieces), a mapper side stores 128 MiB of
 * chunks spread over 8 partitions (shuffle_put: each piece published and acked, as a map task
 * does) and a reducer side reads them all back, partition by partition as reducers do
 * (shuffle_get: a pull consumer per partition streams its pieces, 64 MiB at most held ahead). The baseline, in the same run, is the in-process transport (chunks as files in a
 * temporary directory, what an embedded run uses). Chunks are random bytes standing for sealed
 * ones: sealing is not measured here. The process keeps its freed buffers as a worker's host
 * does (mr_keep_buffers), so a read does not fault fresh pages in for every chunk.
 *
 * Wall time on a loaded machine says little, so each phase also reports CPU time: this
 * process's (CLOCK_PROCESS_CPUTIME_ID) plus, for NATS, the server's (/proc/PID/stat), and
 * mb_per_cpu_s, the throughput if the client and the server had the cores to themselves. MB =
 * 10^6 bytes; the target is 200 MB/s, printed on stderr beside each NATS read. CSV on
 * stdout: transport,op,chunk_kib,chunks,mbytes,seconds,mb_per_s,cpu_seconds,mb_per_cpu_s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bus/bus.h"
#include "mapreduce/common/mr_proto.h"
#include "mapreduce/host/mr_transport_nats.h"
#include "util/fileio.h"

#define TOTAL_BYTES ((size_t)128 << 20)
#define PARTITIONS 8

static pid_t server; /* the nats-server whose CPU time counts with ours, 0 for none */

/* CPU seconds used so far by this process. */
static double cpu_self(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds used so far by the server (0 without one). */
static double cpu_server(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)server);
    FILE *f = server ? fopen(path, "r") : NULL;
    unsigned long long ut = 0, st = 0;
    /* after the ")" of comm: state and 10 fields, then utime and stime (proc(5)) */
    if (f &&
        fscanf(f, "%*[^)]) %*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ut, &st) != 2)
        ut = st = 0;
    if (f)
        fclose(f);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void row(const char *transport, const char *op, size_t chunk, size_t n, double ns,
                double cpu)
{
    double mb = (double)chunk * (double)n / 1e6, s = ns / 1e9;
    printf("%s,%s,%zu,%zu,%.1f,%.3f,%.1f,%.3f,%.1f\n", transport, op, chunk >> 10, n, mb, s, mb / s,
           cpu, mb / cpu);
    fflush(stdout);
}

/* Stores then reads back TOTAL_BYTES in chunks of `chunk` bytes; 0 or -1. */
static int measure(const char *name, struct mr_transport *t, const uint8_t *data, size_t chunk)
{
    struct cloister_err err = {0};
    size_t n = TOTAL_BYTES / chunk;
    double c0 = cpu_self(), s0 = cpu_server(), t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++)
        if (t->ops->shuffle_put(t, 0, (uint32_t)(i / PARTITIONS), 1, (uint32_t)(i % PARTITIONS),
                                data, chunk, &err) != 0) {
            fprintf(stderr, "bench_mr_shuffle: %s put: %s\n", name, err.msg);
            return -1;
        }
    double t1 = bench_now_ns(), c1 = cpu_self(), s1 = cpu_server();
    for (size_t p = 0; p < PARTITIONS; p++) /* as reducers read: partition by partition */
        for (size_t i = p; i < n; i += PARTITIONS) {
            uint8_t *got;
            size_t len;
            if (t->ops->shuffle_get(t, 0, (uint32_t)(i / PARTITIONS), 1, (uint32_t)p, &got, &len,
                                    &err) != 0 ||
                len != chunk) {
                fprintf(stderr, "bench_mr_shuffle: %s get: %s\n", name, err.msg);
                return -1;
            }
            free(got);
        }
    double t2 = bench_now_ns(), c2 = cpu_self(), s2 = cpu_server();
    row(name, "put", chunk, n, t1 - t0, c1 - c0 + s1 - s0);
    row(name, "get", chunk, n, t2 - t1, c2 - c1 + s2 - s1);
    if (strcmp(name, "nats") == 0)
        fprintf(stderr,
                "shuffle read over NATS, %zu KiB chunks: %.1f MB/s by wall time, %.1f per CPU "
                "second of client and server (target 200); CPU per chunk %.2f ms client, %.2f ms "
                "server\n",
                chunk >> 10, (double)chunk * (double)n * 1e3 / (t2 - t1),
                (double)chunk * (double)n / 1e6 / (c2 - c1 + s2 - s1), (c2 - c1) * 1e3 / (double)n,
                (s2 - s1) * 1e3 / (double)n);
    return 0;
}

int main(void)
{
    static const size_t sizes[] = {256 << 10, 1 << 20, 4 << 20, 16 << 20, 32 << 20};
    char dir[] = "/tmp/cloister-bench-mr-shuffle-XXXXXX";
    struct cloister_err err = {0};
    mr_keep_buffers(); /* as a worker's host does (mr_host.c) */
    if (!mkdtemp(dir))
        return 1;
    uint8_t *data = malloc(sizes[4]);
    for (size_t i = 0; data && i < sizes[4]; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    struct bus_server *srv = data ? bus_server_start(dir, &err) : NULL;
    if (!srv)
        fprintf(stderr, "bench_mr_shuffle: %s (NATS rows skipped)\n", err.msg);
    printf("transport,op,chunk_kib,chunks,mbytes,seconds,mb_per_s\n");
    int rc = data ? 0 : 1;
    for (size_t s = 0; rc == 0 && s < sizeof sizes / sizeof *sizes; s++) {
        char job[MR_JOB_HEX_MAX + 1], files[sizeof dir + 16];
        snprintf(files, sizeof files, "%s/mem%zu", dir, s);
        struct mr_transport *mem = mr_transport_mem_new(files, NULL, NULL, &err);
        server = 0;
        rc = mem ? measure("in-process (baseline)", mem, data, sizes[s]) : -1;
        if (mem)
            mem->ops->free(mem);
        if (rc != 0 || !srv)
            continue;
        snprintf(job, sizeof job, "0000000000000000000000000000%04zx", s);
        struct mr_nats_config c = {.url = bus_server_url(srv),
                                   .job = job,
                                   .owner = true,
                                   .queue_max_bytes = 64 << 20,
                                   .shuffle_max_bytes = (int64_t)TOTAL_BYTES * 2};
        struct mr_transport *t = mr_transport_nats_new(&c, &err);
        server = bus_server_pid(srv);
        rc = t ? measure("nats", t, data, sizes[s]) : -1;
        if (t)
            t->ops->free(t); /* deletes the job's streams */
        else
            fprintf(stderr, "bench_mr_shuffle: %s\n", err.msg);
    }
    bus_server_stop(srv);
    file_remove_tree(dir);
    free(data);
    return rc == 0 ? 0 : 1;
}
