/* bench_bus.c -- loopback shuffle throughput through NATS JetStream (src/bus).
 *
 * The shape of a MapReduce shuffle: one limits stream per job, 8 partition subjects, messages of
 * 64 KiB to 1 MiB (encrypted spill chunks) with job and partition headers and a message id,
 * published asynchronously with a bounded number of outstanding acks, consumed by a durable pull
 * consumer that fetches batches and acks each message. For each message size and storage (the
 * server's file store and memory):
 *   publish    -- publish everything, then wait for the last ack;
 *   consume    -- fetch and ack all of it from the full stream;
 *   pipelined  -- publisher thread and consumer at once, first publish to last message fetched.
 * The baseline, measured in the same run, is one TCP stream through loopback (a writer thread,
 * a reader), the ceiling of any single connection here; JetStream moves each byte twice over
 * loopback (in, out) and through its store. MB = 10^6 bytes. The target: 200 MB/s.
 * Beside the wall-clock rate, each row has the CPU seconds the run cost this process (publisher
 * and consumer) and nats-server: on a shared machine the rate is what the others leave, the CPU
 * cost per MB is not. CSV on stdout:
 * mode,storage,msg_kib,msgs,mbytes,seconds,mb_per_s,cpu_client_s,cpu_server_s. */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bus/bus.h"
#include "util/fileio.h"

#define TOTAL_BYTES (256u << 20) /* per run */
#define PARTITIONS 8
#define FETCH_BYTES (4u << 20) /* asked for per fetch, at least FETCH_MIN messages */
#define FETCH_MIN 16
#define FETCH_MAX 64

struct run {
    struct bus *pub;
    size_t msg_size, msgs;
    const uint8_t *payload;
    int rc;
    struct cloister_err err;
};

static void die(const char *what, const struct cloister_err *err)
{
    fprintf(stderr, "bench_bus: %s: %s\n", what, err->msg);
    exit(1);
}

/* Wall time and the CPU time of this process (all threads) and of nats-server: CPU per MB does
 * not depend on what else runs on the machine, throughput does. */
struct mark {
    double wall, cpu_self, cpu_server;
};

static pid_t server_pid;

static double cpu_of_server(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)server_pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* fields 14 and 15 (utime, stime) follow the name */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static struct mark mark_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (struct mark){
        .wall = bench_now_ns() / 1e9,
        .cpu_self = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
        .cpu_server = server_pid ? cpu_of_server() : 0,
    };
}

static void row(const char *mode, const char *storage, size_t msg_size, size_t msgs,
                const struct mark *t0)
{
    struct mark t1 = mark_now();
    double mb = (double)msg_size * (double)msgs / 1e6, seconds = t1.wall - t0->wall;
    printf("%s,%s,%zu,%zu,%.1f,%.3f,%.1f,%.2f,%.2f\n", mode, storage, msg_size >> 10, msgs, mb,
           seconds, mb / seconds, t1.cpu_self - t0->cpu_self, t1.cpu_server - t0->cpu_server);
    fflush(stdout);
}

/* ---- Baseline: one TCP stream through loopback ---- */

struct tcp_run {
    int fd; /* the writer's end */
    const uint8_t *payload;
    size_t msg_size, msgs;
};

static void *tcp_writer(void *arg)
{
    struct tcp_run *r = arg;
    for (size_t i = 0; i < r->msgs; i++)
        if (file_write_full(r->fd, r->payload, r->msg_size) != 0)
            break;
    close(r->fd);
    return NULL;
}

static void tcp_baseline(const uint8_t *payload, size_t msg_size)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0 ||
        connect(cfd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("bench_bus: loopback");
        exit(1);
    }
    int sfd = accept(lfd, NULL, NULL);
    close(lfd);
    struct tcp_run r = {.fd = cfd,
                        .payload = payload,
                        .msg_size = msg_size,
                        .msgs = TOTAL_BYTES / msg_size};
    static uint8_t buf[1 << 20];
    struct mark t0 = mark_now();
    pthread_t th;
    pthread_create(&th, NULL, tcp_writer, &r);
    ssize_t n;
    while ((n = read(sfd, buf, sizeof buf)) > 0)
        ;
    pthread_join(th, NULL);
    close(sfd);
    row("tcp_baseline", "-", msg_size, r.msgs, &t0);
}

/* ---- JetStream ---- */

static void *publisher(void *arg)
{
    struct run *r = arg;
    char subject[64], part[16], id[32];
    for (size_t i = 0; i < r->msgs && r->rc == CLOISTER_OK; i++) {
        snprintf(subject, sizeof subject, "shuffle.bench.p%zu", i % PARTITIONS);
        snprintf(part, sizeof part, "%zu", i % PARTITIONS);
        snprintf(id, sizeof id, "bench/m%zu", i);
        struct bus_header h[] = {{"Cloister-Job", "bench"}, {"Cloister-Partition", part}};
        r->rc = bus_publish_async(r->pub, subject, h, 2, r->payload, r->msg_size, id, &r->err);
    }
    if (r->rc == CLOISTER_OK)
        r->rc = bus_publish_wait(r->pub, 30000, &r->err);
    return NULL;
}

static void consume(struct bus *b, size_t msgs, size_t msg_size)
{
    struct cloister_err err;
    size_t batch = FETCH_BYTES / msg_size;
    batch = batch < FETCH_MIN ? FETCH_MIN : batch > FETCH_MAX ? FETCH_MAX : batch;
    struct bus_consumer_config cc = {.stream = "SHUFFLE",
                                     .durable = "reducer",
                                     .max_ack_pending = 4 * (int64_t)batch};
    struct bus_consumer *c = bus_consumer_open(b, &cc, &err);
    if (!c)
        die("consumer", &err);
    size_t got = 0;
    while (got < msgs) {
        struct bus_msg *m[FETCH_MAX];
        size_t n;
        if (bus_fetch(c, m, batch, 10000, &n, &err) != CLOISTER_OK)
            die("fetch", &err);
        if (n == 0) {
            fprintf(stderr, "bench_bus: only %zu of %zu messages arrived\n", got, msgs);
            exit(1);
        }
        for (size_t i = 0; i < n; i++) {
            size_t len;
            bus_msg_data(m[i], &len);
            if (len != msg_size || bus_msg_ack(m[i], &err) != CLOISTER_OK)
                die("message", &err);
            bus_msg_free(m[i]);
        }
        got += n;
    }
    if (bus_flush(b, 10000, &err) != CLOISTER_OK)
        die("flush", &err);
    bus_consumer_close(c);
}

static void make_stream(struct bus *b, bool memory, size_t msg_size)
{
    struct cloister_err err;
    struct bus_stream_config sc = {.name = "SHUFFLE",
                                   .subject = "shuffle.bench.>",
                                   .retention = BUS_LIMITS,
                                   .max_bytes = 2ll * TOTAL_BYTES,
                                   .max_msg_size = (int32_t)msg_size + 4096,
                                   .memory = memory};
    if (bus_stream_ensure(b, &sc, &err) != CLOISTER_OK)
        die("stream", &err);
}

static void drop_stream(struct bus *b)
{
    struct cloister_err err;
    if (bus_stream_delete(b, "SHUFFLE", &err) != CLOISTER_OK)
        die("delete stream", &err);
}

static void jetstream_runs(struct bus *pub, struct bus *sub, const uint8_t *payload,
                           size_t msg_size, bool memory)
{
    const char *storage = memory ? "memory" : "file";
    struct run r = {.pub = pub,
                    .msg_size = msg_size,
                    .msgs = TOTAL_BYTES / msg_size,
                    .payload = payload};

    make_stream(pub, memory, msg_size);
    struct mark t0 = mark_now();
    publisher(&r);
    if (r.rc != CLOISTER_OK)
        die("publish", &r.err);
    row("publish", storage, msg_size, r.msgs, &t0);
    t0 = mark_now();
    consume(sub, r.msgs, msg_size);
    row("consume", storage, msg_size, r.msgs, &t0);
    drop_stream(pub);

    make_stream(pub, memory, msg_size);
    t0 = mark_now();
    pthread_t th;
    pthread_create(&th, NULL, publisher, &r);
    consume(sub, r.msgs, msg_size);
    pthread_join(th, NULL);
    if (r.rc != CLOISTER_OK)
        die("publish", &r.err);
    row("pipelined", storage, msg_size, r.msgs, &t0);
    drop_stream(pub);
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {64 << 10, 256 << 10, 1 << 20};
    char dir[] = "/tmp/cloister-bench-bus-XXXXXX";
    struct cloister_err err;
    /* Messages of 64 KiB to 1 MiB are above glibc's mmap threshold, and the NATS reader thread's
     * arena is trimmed after each: every message would be fresh pages, and page faults are
     * expensive in a VM. Keeping freed memory for reuse is what a worker process does too. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    if (!mkdtemp(dir)) {
        perror("bench_bus: mkdtemp");
        return 1;
    }
    struct bus_server *srv = bus_server_start(dir, &err);
    if (!srv) {
        file_remove_tree(dir);
        die("nats-server", &err);
    }
    server_pid = bus_server_pid(srv);
    struct bus_options o = {.timeout_ms = 30000, .max_async_pending = 64};
    struct bus *pub = bus_connect(bus_server_url(srv), &o, &err);
    struct bus *sub = pub ? bus_connect(bus_server_url(srv), &o, &err) : NULL;
    if (!sub)
        die("connect", &err);
    uint8_t *payload = malloc(1 << 20);
    for (size_t i = 0; i < 1 << 20; i++)
        payload[i] = (uint8_t)(i * 131 + 7); /* stands for ciphertext */
    fprintf(stderr, "bench_bus: %u MiB per run through nats-server -js on loopback\n",
            TOTAL_BYTES >> 20);
    printf("mode,storage,msg_kib,msgs,mbytes,seconds,mb_per_s,cpu_client_s,cpu_server_s\n");
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        tcp_baseline(payload, sizes[i]);
        jetstream_runs(pub, sub, payload, sizes[i], false);
        jetstream_runs(pub, sub, payload, sizes[i], true);
    }
    free(payload);
    bus_close(sub);
    bus_close(pub);
    bus_server_stop(srv);
    file_remove_tree(dir);
    return 0;
}
