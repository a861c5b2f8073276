/* test_bus.c -- the NATS JetStream layer against a real nats-server on loopback, started by the
 * test in a temporary directory: round trips with headers, work-queue sharing, redelivery after
 * the ack deadline (including a worker process killed with -9 while it holds a message),
 * in-progress, nak and term, de-duplication by message id, byte bounds, a server that stops under
 * a connection, and bad URLs. Every test skips, saying why, when nats-server is not installed.
 *
 * `test_bus --hold URL STREAM DURABLE` is the worker that gets killed: it fetches one message,
 * prints its sequence number and waits to be killed. It is this binary run again (exec), not a
 * fork, since a forked copy of a process with NATS threads cannot use NATS. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "util/fileio.h"

#define ACK_WAIT_MS 1000

static char dir[] = "/tmp/cloister-test-bus-XXXXXX";
static struct bus_server *srv;
static struct bus *bus;

static void check(int rc, const struct cloister_err *err)
{
    if (rc != CLOISTER_OK)
        fail_msg("%s", err->msg);
}

static int group_setup(void **state)
{
    struct cloister_err err;
    if (!mkdtemp(dir))
        return -1;
    srv = bus_server_start(dir, &err);
    if (!srv) {
        fprintf(stderr, "test_bus: %s%s\n", err.msg,
                err.code == CLOISTER_E_NOT_FOUND ? ": every test skipped" : "");
        return err.code == CLOISTER_E_NOT_FOUND ? 0 : -1;
    }
    bus = bus_connect(bus_server_url(srv), NULL, &err);
    if (!bus)
        fprintf(stderr, "test_bus: %s\n", err.msg);
    return bus ? 0 : -1;
}

static int group_teardown(void **state)
{
    bus_close(bus);
    bus_server_stop(srv);
    file_remove_tree(dir);
    return 0;
}

/* First line of every test: skips it when nats-server is not installed. */
#define NEED_SERVER()                                                                              \
    do {                                                                                           \
        if (!srv)                                                                                  \
            skip();                                                                                \
    } while (0)

static void make_stream(const char *name, const char *subject, enum bus_retention r)
{
    struct cloister_err err;
    struct bus_stream_config c = {.name = name,
                                  .subject = subject,
                                  .retention = r,
                                  .max_bytes = 64 << 20,
                                  .max_msg_size = 2 << 20};
    check(bus_stream_ensure(bus, &c, &err), &err);
}

static struct bus_consumer *open_consumer(struct bus *b, const char *stream, const char *durable,
                                          int64_t ack_wait_ms)
{
    struct cloister_err err;
    struct bus_consumer_config c = {.stream = stream,
                                    .durable = durable,
                                    .ack_wait_ms = ack_wait_ms,
                                    .max_deliver = 10};
    struct bus_consumer *con = bus_consumer_open(b, &c, &err);
    if (!con)
        fail_msg("%s", err.msg);
    return con;
}

/* The end of a test: unbind c, delete its stream. */
static void done_with(struct bus_consumer *c, const char *stream)
{
    struct cloister_err err;
    bus_consumer_close(c);
    check(bus_stream_delete(bus, stream, &err), &err);
}

/* Fetches exactly one message within timeout_ms, or fails the test. */
static struct bus_msg *fetch_one(struct bus_consumer *c, int64_t timeout_ms)
{
    struct cloister_err err;
    struct bus_msg *m = NULL;
    size_t n = 0;
    check(bus_fetch(c, &m, 1, timeout_ms, &n, &err), &err);
    assert_int_equal(n, 1);
    return m;
}

static void expect_nothing(struct bus_consumer *c, int64_t timeout_ms)
{
    struct cloister_err err;
    struct bus_msg *m = NULL;
    size_t n = 9;
    check(bus_fetch(c, &m, 1, timeout_ms, &n, &err), &err);
    assert_int_equal(n, 0);
}

static void publish_u32(const char *subject, uint32_t v, const char *id)
{
    struct cloister_err err;
    check(bus_publish(bus, subject, NULL, 0, &v, sizeof v, id, NULL, &err), &err);
}

static uint32_t msg_u32(const struct bus_msg *m)
{
    size_t len;
    const void *p = bus_msg_data(m, &len);
    uint32_t v;
    assert_int_equal(len, sizeof v);
    memcpy(&v, p, sizeof v);
    return v;
}

static void test_round_trip(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    make_stream("RT", "rt.>", BUS_LIMITS);
    uint8_t payload[3000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    struct bus_header h[] = {{"Cloister-Job", "wordcount"}, {"Cloister-Task", "map#17"}};
    struct bus_pub_ack ack;
    check(bus_publish(bus, "rt.job1", h, 2, payload, sizeof payload, "job1/map#17/1", &ack, &err),
          &err);
    assert_int_equal(ack.seq, 1);
    assert_false(ack.duplicate);

    /* a change the server cannot make to an existing stream */
    struct bus_stream_config wq = {.name = "RT",
                                   .subject = "rt.>",
                                   .retention = BUS_WORK_QUEUE,
                                   .max_bytes = 64 << 20,
                                   .max_msg_size = 2 << 20};
    assert_int_equal(bus_stream_ensure(bus, &wq, &err), CLOISTER_E_EXISTS);
    assert_non_null(strstr(err.msg, "stream RT exists"));

    struct bus_consumer *c = open_consumer(bus, "RT", "rt-reader", 5000);
    struct bus_msg *m = fetch_one(c, 2000);
    size_t len;
    const void *data = bus_msg_data(m, &len);
    assert_int_equal(len, sizeof payload);
    assert_memory_equal(data, payload, len);
    assert_string_equal(bus_msg_subject(m), "rt.job1");
    assert_string_equal(bus_msg_header(m, "Cloister-Task"), "map#17");
    assert_string_equal(bus_msg_header(m, "Cloister-Job"), "wordcount");
    assert_null(bus_msg_header(m, "Cloister-Attempt"));
    assert_int_equal(bus_msg_deliveries(m), 1);
    assert_int_equal(bus_msg_seq(m), 1);
    check(bus_msg_ack_sync(m, &err), &err);
    bus_msg_free(m);
    expect_nothing(c, 200);

    /* a batch of async publishes, then fetches of several at once */
    for (uint32_t i = 0; i < 200; i++)
        check(bus_publish_async(bus, "rt.job2", NULL, 0, &i, sizeof i, NULL, &err), &err);
    check(bus_publish_wait(bus, 5000, &err), &err);
    struct bus_stream_stats st;
    check(bus_stream_stats(bus, "RT", &st, &err), &err);
    assert_int_equal(st.msgs, 201);
    uint32_t next = 0;
    while (next < 200) {
        struct bus_msg *ms[64];
        size_t n;
        check(bus_fetch(c, ms, 64, 2000, &n, &err), &err);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(msg_u32(ms[i]), next++);
            check(bus_msg_ack(ms[i], &err), &err);
            bus_msg_free(ms[i]);
        }
    }
    check(bus_flush(bus, 2000, &err), &err);
    uint64_t ack_pending = 9, undelivered = 9;
    check(bus_consumer_pending(c, &ack_pending, &undelivered, &err), &err);
    assert_int_equal(undelivered, 0);
    done_with(c, "RT");
}

/* A reducer's consumer filtered on its partition sees that partition only, in order. */
static void test_filter(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    make_stream("FT", "ft.>", BUS_LIMITS);
    for (uint32_t i = 0; i < 30; i++)
        publish_u32(i % 3 == 1 ? "ft.p1" : "ft.p0", i, NULL);
    struct bus_consumer_config cc = {.stream = "FT", .durable = "reducer1", .filter = "ft.p1"};
    struct bus_consumer *c = bus_consumer_open(bus, &cc, &err);
    assert_non_null(c);
    for (uint32_t want = 1; want < 30; want += 3) {
        struct bus_msg *m = fetch_one(c, 2000);
        assert_string_equal(bus_msg_subject(m), "ft.p1");
        assert_int_equal(msg_u32(m), want);
        check(bus_msg_ack(m, &err), &err);
        bus_msg_free(m);
    }
    expect_nothing(c, 200);
    done_with(c, "FT");
}

/* Two workers on one durable of a work queue: every message reaches exactly one of them, and
 * acked messages leave the stream. */
static void test_work_queue(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    enum { N = 60 };
    make_stream("WQ", "wq.>", BUS_WORK_QUEUE);
    struct bus *b2 = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b2);
    struct bus_consumer *w[2] = {open_consumer(bus, "WQ", "workers", 5000),
                                 open_consumer(b2, "WQ", "workers", 5000)};
    for (uint32_t i = 0; i < N; i++)
        publish_u32("wq.task", i, NULL);
    int seen[N] = {0}, per_worker[2] = {0}, total = 0;
    for (int turn = 0; total < N && turn < 100; turn++) {
        struct bus_msg *ms[7];
        size_t n;
        check(bus_fetch(w[turn % 2], ms, 7, 1000, &n, &err), &err);
        for (size_t i = 0; i < n; i++) {
            uint32_t v = msg_u32(ms[i]);
            assert_true(v < N);
            seen[v]++;
            per_worker[turn % 2]++;
            total++;
            check(bus_msg_ack_sync(ms[i], &err), &err);
            bus_msg_free(ms[i]);
        }
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_true(per_worker[0] > 0 && per_worker[1] > 0);
    expect_nothing(w[0], 200);
    expect_nothing(w[1], 200);
    struct bus_stream_stats st;
    check(bus_stream_stats(bus, "WQ", &st, &err), &err);
    assert_int_equal(st.msgs, 0);

    /* a second, unfiltered consumer of a work queue would break "each message once" */
    struct bus_consumer_config other = {.stream = "WQ", .durable = "others"};
    assert_null(bus_consumer_open(bus, &other, &err));
    assert_non_null(strstr(err.msg, "consumer others of stream WQ"));
    bus_consumer_close(w[0]);
    bus_consumer_close(w[1]);
    bus_close(b2);
    check(bus_stream_delete(bus, "WQ", &err), &err);
}

/* A worker that fetched and never acks: after ack_wait another worker gets the message. */
static void test_redelivery(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    make_stream("RD", "rd.>", BUS_WORK_QUEUE);
    struct bus *dead = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(dead);
    struct bus_consumer *a = open_consumer(dead, "RD", "workers", ACK_WAIT_MS);
    struct bus_consumer *b = open_consumer(bus, "RD", "workers", ACK_WAIT_MS);
    publish_u32("rd.task", 42, NULL);
    struct bus_msg *m = fetch_one(a, 2000);
    bus_msg_free(m); /* the worker drops it, then goes away without an ack */
    bus_consumer_close(a);
    bus_close(dead);
    m = fetch_one(b, ACK_WAIT_MS + 4000);
    assert_int_equal(msg_u32(m), 42);
    assert_int_equal(bus_msg_deliveries(m), 2);

    /* nak: redelivered at once, to anyone */
    check(bus_msg_nak(m, 0, &err), &err);
    bus_msg_free(m);
    m = fetch_one(b, 2000);
    assert_int_equal(bus_msg_deliveries(m), 3);

    /* term: never again */
    check(bus_msg_term(m, &err), &err);
    bus_msg_free(m);
    expect_nothing(b, ACK_WAIT_MS + 500);
    done_with(b, "RD");
}

/* In progress moves the deadline: past ack_wait since delivery, nobody else has the message.
 * The margins (0.8 s each way) leave room for a loaded machine. */
static void test_in_progress(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    make_stream("IP", "ip.>", BUS_WORK_QUEUE);
    struct bus_consumer *c = open_consumer(bus, "IP", "workers", 2000);
    publish_u32("ip.task", 9, NULL);
    struct bus_msg *m = fetch_one(c, 2000);
    usleep(1200 * 1000);
    check(bus_msg_in_progress(m, &err), &err);
    usleep(1200 * 1000); /* 2.4 s since delivery: past ack_wait without the in-progress */
    expect_nothing(c, 200);
    check(bus_msg_ack_sync(m, &err), &err);
    bus_msg_free(m);
    done_with(c, "IP");
}

/* nak with a delay holds the message back that long; after max_deliver deliveries the server
 * gives it up. */
static void test_nak_delay_max_deliver(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    make_stream("MD", "md.>", BUS_WORK_QUEUE);
    struct bus_consumer_config cc = {.stream = "MD",
                                     .durable = "w",
                                     .ack_wait_ms = 5000,
                                     .max_deliver = 2};
    struct bus_consumer *c = bus_consumer_open(bus, &cc, &err);
    assert_non_null(c);
    publish_u32("md.task", 5, NULL);
    struct bus_msg *m = fetch_one(c, 2000);
    check(bus_msg_nak(m, 1500, &err), &err);
    bus_msg_free(m);
    expect_nothing(c, 200);
    m = fetch_one(c, 3000);
    assert_int_equal(bus_msg_deliveries(m), 2);
    check(bus_msg_nak(m, 0, &err), &err);
    bus_msg_free(m);
    expect_nothing(c, 500); /* max_deliver reached */
    done_with(c, "MD");
}

/* The killed worker: fetch one message, say which, wait for SIGKILL. */
static int hold_main(const char *url, const char *stream, const char *durable)
{
    struct cloister_err err;
    struct bus *b = bus_connect(url, NULL, &err);
    struct bus_consumer_config cc = {.stream = stream,
                                     .durable = durable,
                                     .ack_wait_ms = ACK_WAIT_MS,
                                     .max_deliver = 10};
    struct bus_consumer *c = b ? bus_consumer_open(b, &cc, &err) : NULL;
    struct bus_msg *m = NULL;
    size_t n = 0;
    if (!c || bus_fetch(c, &m, 1, 5000, &n, &err) != CLOISTER_OK || n != 1) {
        fprintf(stderr, "hold: %s\n", n == 0 ? "no message" : err.msg);
        return 1;
    }
    printf("%llu\n", (unsigned long long)bus_msg_seq(m));
    fflush(stdout);
    for (;;)
        pause();
}

static void test_kill9_redelivery(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    make_stream("K9", "k9.>", BUS_WORK_QUEUE);
    struct bus_consumer *survivor = open_consumer(bus, "K9", "workers", ACK_WAIT_MS);
    publish_u32("k9.task", 7, NULL);

    int out[2];
    assert_int_equal(pipe(out), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *argv[] = {"test_bus", "--hold", (char *)bus_server_url(srv), "K9", "workers", NULL};
    extern char **environ;
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    unsigned long long seq = 0;
    int got = fscanf(f, "%llu", &seq);
    fclose(f);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(got, 1);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    struct bus_msg *m = fetch_one(survivor, ACK_WAIT_MS + 4000);
    assert_int_equal(bus_msg_seq(m), seq);
    assert_int_equal(msg_u32(m), 7);
    assert_int_equal(bus_msg_deliveries(m), 2);
    check(bus_msg_ack_sync(m, &err), &err);
    bus_msg_free(m);
    done_with(survivor, "K9");
}

static void test_dedup(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    make_stream("DD", "dd.>", BUS_WORK_QUEUE);
    uint32_t v = 1;
    struct bus_pub_ack a1, a2, a3;
    check(bus_publish(bus, "dd.task", NULL, 0, &v, sizeof v, "job/map#3/1", &a1, &err), &err);
    check(bus_publish(bus, "dd.task", NULL, 0, &v, sizeof v, "job/map#3/1", &a2, &err), &err);
    check(bus_publish(bus, "dd.task", NULL, 0, &v, sizeof v, "job/map#4/1", &a3, &err), &err);
    assert_false(a1.duplicate);
    assert_true(a2.duplicate);
    assert_int_equal(a2.seq, a1.seq);
    assert_false(a3.duplicate);
    /* async re-publishes of the same ids are dropped too */
    for (int i = 0; i < 10; i++)
        check(bus_publish_async(bus, "dd.task", NULL, 0, &v, sizeof v,
                                i % 2 ? "job/map#3/1" : "job/map#4/1", &err),
              &err);
    check(bus_publish_wait(bus, 5000, &err), &err);
    struct bus_stream_stats st;
    check(bus_stream_stats(bus, "DD", &st, &err), &err);
    assert_int_equal(st.msgs, 2);
    check(bus_stream_delete(bus, "DD", &err), &err);
}

/* A limits stream as a store addressed by subject: the last message of a subject, whole (a
 * payload far above a socket read), NOT_FOUND for a subject or a stream with none. */
static void test_get_last(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    make_stream("GL", "gl.>", BUS_LIMITS);
    size_t big = 1 << 20;
    uint8_t *payload = malloc(big), *data = NULL;
    assert_non_null(payload);
    for (size_t i = 0; i < big; i++)
        payload[i] = (uint8_t)(i * 13 + 1);
    publish_u32("gl.a", 1, NULL);
    check(bus_publish(bus, "gl.a", NULL, 0, payload, big, NULL, NULL, &err), &err);
    publish_u32("gl.b", 2, NULL);
    size_t len = 0;
    check(bus_stream_get_last(bus, "GL", "gl.a", &data, &len, &err), &err);
    assert_int_equal(len, big);
    assert_memory_equal(data, payload, big);
    free(data);
    assert_int_equal(bus_stream_get_last(bus, "GL", "gl.none", &data, &len, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_null(data);
    assert_int_not_equal(bus_stream_get_last(bus, "NOSUCH", "gl.a", &data, &len, &err), 0);
    assert_null(data);
    free(payload);
    check(bus_stream_delete(bus, "GL", &err), &err);
}

static void test_byte_bound(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    static uint8_t block[8192];
    struct bus_stream_config c = {.name = "BB",
                                  .subject = "bb.>",
                                  .retention = BUS_LIMITS,
                                  .max_bytes = 64 << 10,
                                  .max_msg_size = 16 << 10};
    check(bus_stream_ensure(bus, &c, &err), &err);
    int rc = CLOISTER_OK, stored = 0;
    while (rc == CLOISTER_OK && stored < 100) {
        rc = bus_publish(bus, "bb.x", NULL, 0, block, sizeof block, NULL, NULL, &err);
        stored += rc == CLOISTER_OK;
    }
    assert_int_equal(rc, CLOISTER_E_TOO_BIG);
    assert_non_null(strstr(err.msg, "publish to bb.x"));
    assert_non_null(strstr(err.msg, "maximum bytes"));
    assert_true(stored >= 4 && stored <= 8);
    struct bus_stream_stats st;
    check(bus_stream_stats(bus, "BB", &st, &err), &err);
    assert_true(st.bytes <= 64 << 10);

    /* one message over max_msg_size */
    static uint8_t big[20000];
    check(bus_stream_delete(bus, "BB", &err), &err);
    check(bus_stream_ensure(bus, &c, &err), &err);
    assert_int_equal(bus_publish(bus, "bb.x", NULL, 0, big, sizeof big, NULL, NULL, &err),
                     CLOISTER_E_TOO_BIG);
    assert_non_null(strstr(err.msg, "publish to bb.x"));

    /* dropping the oldest instead: every publish succeeds, the stream stays within its bound */
    c.discard = BUS_DROP_OLD;
    check(bus_stream_ensure(bus, &c, &err), &err);
    for (int i = 0; i < 20; i++)
        check(bus_publish(bus, "bb.x", NULL, 0, block, sizeof block, NULL, NULL, &err), &err);
    check(bus_stream_stats(bus, "BB", &st, &err), &err);
    assert_true(st.bytes <= 64 << 10 && st.msgs < 20 && st.msgs >= 4);
    check(bus_stream_delete(bus, "BB", &err), &err);

    /* unbounded streams are refused before the server is asked */
    struct bus_stream_config unbounded = {.name = "UB", .subject = "ub.>"};
    assert_int_equal(bus_stream_ensure(bus, &unbounded, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "bounded in bytes"));
}

/* The server goes away under a connection: calls fail with a message, nothing crashes. */
static void test_server_stop(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    char sub[sizeof dir + 16];
    snprintf(sub, sizeof sub, "%s/second", dir);
    assert_int_equal(file_mkdirs(sub, 0700), 0);
    struct bus_server *s2 = bus_server_start(sub, &err);
    assert_non_null(s2);
    struct bus_options o = {.timeout_ms = 1000, .max_reconnect = 2, .reconnect_wait_ms = 100};
    struct bus *b = bus_connect(bus_server_url(s2), &o, &err);
    assert_non_null(b);
    struct bus_stream_config c = {.name = "GONE",
                                  .subject = "gone.>",
                                  .retention = BUS_WORK_QUEUE,
                                  .max_bytes = 1 << 20,
                                  .max_msg_size = 1 << 10};
    check(bus_stream_ensure(b, &c, &err), &err);
    struct bus_consumer_config cc = {.stream = "GONE", .durable = "w"};
    struct bus_consumer *con = bus_consumer_open(b, &cc, &err);
    assert_non_null(con);
    struct bus_options patient = {.timeout_ms = 500}; /* keeps reconnecting (60 tries) */
    struct bus *retrying = bus_connect(bus_server_url(s2), &patient, &err);
    assert_non_null(retrying);
    bus_server_stop(s2);

    uint32_t v = 1;
    int rc = bus_publish(b, "gone.x", NULL, 0, &v, sizeof v, NULL, NULL, &err);
    assert_true(rc == CLOISTER_E_TIMEOUT || rc == CLOISTER_E_FAILED);
    print_message("%s\n", err.msg);
    assert_non_null(strstr(err.msg, "publish to gone.x"));
    assert_non_null(strstr(err.msg, "connection"));
    struct bus_msg *m;
    size_t n;
    rc = bus_fetch(con, &m, 1, 500, &n, &err);
    assert_int_not_equal(rc, CLOISTER_OK);
    assert_int_equal(n, 0);
    print_message("%s\n", err.msg);
    assert_non_null(strstr(err.msg, "fetch from consumer w of stream GONE"));
    rc = bus_publish_async(b, "gone.x", NULL, 0, &v, sizeof v, NULL, &err);
    if (rc == CLOISTER_OK)
        rc = bus_publish_wait(b, 500, &err);
    assert_int_not_equal(rc, CLOISTER_OK);
    rc = bus_stream_ensure(b, &c, &err);
    assert_int_not_equal(rc, CLOISTER_OK);
    assert_non_null(strstr(err.msg, "stream GONE"));
    bus_consumer_close(con);
    bus_close(b);

    /* while the client still tries to reconnect, a publish times out and says so */
    rc = bus_publish(retrying, "gone.x", NULL, 0, &v, sizeof v, NULL, NULL, &err);
    print_message("%s\n", err.msg);
    assert_int_equal(rc, CLOISTER_E_TIMEOUT);
    assert_non_null(strstr(err.msg, "reconnecting"));
    bus_close(retrying);
}

/* Checkpoints in a bucket: latest value per key, conditional writes by revision, bounds. */
static void test_kv(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    struct bus_kv *kv = bus_kv_open(bus, "ckpt", 1 << 20, 4096, &err);
    assert_non_null(kv);
    uint64_t r1, r2, r;
    check(bus_kv_put(kv, "flights.reduce.p3", "v1", 2, 0, &r1, &err), &err);
    assert_int_equal(bus_kv_put(kv, "flights.reduce.p3", "v0", 2, 0, NULL, &err),
                     CLOISTER_E_EXISTS); /* "only if new" */
    check(bus_kv_put(kv, "flights.reduce.p3", "v2", 2, r1, &r2, &err), &err);
    assert_true(r2 > r1);
    /* a restarted writer that is one checkpoint behind cannot overwrite the newer one */
    assert_int_equal(bus_kv_put(kv, "flights.reduce.p3", "old", 3, r1, NULL, &err),
                     CLOISTER_E_EXISTS);
    assert_non_null(strstr(err.msg, "bucket ckpt, key flights.reduce.p3"));
    uint8_t *data;
    size_t len;
    check(bus_kv_get(kv, "flights.reduce.p3", &data, &len, &r, &err), &err);
    assert_int_equal(len, 2);
    assert_memory_equal(data, "v2", 2);
    assert_int_equal(r, r2);
    free(data);
    check(bus_kv_put(kv, "flights.reduce.p3", "v3", 2, BUS_KV_ANY, NULL, &err), &err);
    struct bus_kv *again = bus_kv_open(bus, "ckpt", 2 << 20, 4096, &err); /* other bounds */
    assert_non_null(again);
    check(bus_kv_get(again, "flights.reduce.p3", &data, &len, NULL, &err), &err);
    assert_memory_equal(data, "v3", 2);
    free(data);
    bus_kv_close(again);

    static uint8_t big[5000];
    assert_int_equal(bus_kv_put(kv, "k", big, sizeof big, BUS_KV_ANY, NULL, &err),
                     CLOISTER_E_TOO_BIG);
    assert_non_null(strstr(err.msg, "bucket ckpt, key k: 5000 bytes"));
    assert_int_equal(bus_kv_get(kv, "none", &data, &len, NULL, &err), CLOISTER_E_NOT_FOUND);
    assert_int_equal(bus_kv_put(kv, "a b", "x", 1, BUS_KV_ANY, NULL, &err), CLOISTER_E_INVALID);
    assert_int_equal(bus_kv_put(kv, "a.*", "x", 1, BUS_KV_ANY, NULL, &err), CLOISTER_E_INVALID);
    check(bus_kv_delete(kv, "flights.reduce.p3", &err), &err);
    assert_int_equal(bus_kv_get(kv, "flights.reduce.p3", &data, &len, NULL, &err),
                     CLOISTER_E_NOT_FOUND);
    bus_kv_close(kv);
    check(bus_stream_delete(bus, "KV_ckpt", &err), &err);
}

/* A server restarted on the same directory still has the file-stored tasks. */
static void test_restart_keeps_tasks(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    char sub[sizeof dir + 16];
    snprintf(sub, sizeof sub, "%s/restart", dir);
    assert_int_equal(file_mkdirs(sub, 0700), 0);
    struct bus_stream_config c = {.name = "KEEP",
                                  .subject = "keep.>",
                                  .retention = BUS_WORK_QUEUE,
                                  .max_bytes = 1 << 20,
                                  .max_msg_size = 1 << 10};
    struct bus_consumer_config cc = {.stream = "KEEP", .durable = "w"};
    for (uint32_t round = 0; round < 2; round++) {
        struct bus_server *s = bus_server_start(sub, &err);
        assert_non_null(s);
        struct bus *b = bus_connect(bus_server_url(s), NULL, &err);
        assert_non_null(b);
        if (round == 0) {
            check(bus_stream_ensure(b, &c, &err), &err);
            for (uint32_t i = 0; i < 3; i++)
                check(bus_publish(b, "keep.task", NULL, 0, &i, sizeof i, NULL, NULL, &err), &err);
        } else {
            struct bus_stream_stats st;
            check(bus_stream_stats(b, "KEEP", &st, &err), &err);
            assert_int_equal(st.msgs, 3);
            struct bus_consumer *con = bus_consumer_open(b, &cc, &err);
            assert_non_null(con);
            struct bus_msg *m = fetch_one(con, 2000);
            assert_int_equal(msg_u32(m), 0);
            bus_msg_free(m);
            bus_consumer_close(con);
        }
        bus_close(b);
        bus_server_stop(s);
    }
}

static void test_bad_input(void **state)
{
    NEED_SERVER();
    struct cloister_err err;
    static const char *const bad[] = {
        "http://127.0.0.1:4222", "nats://",        "nats://:4222", "nats://127.0.0.1:99999",
        "nats://127.0.0.1:42x",  "127.0.0.1:4222", "nats://[::1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(bus_connect(bad[i], NULL, &err));
        assert_int_equal(err.code, CLOISTER_E_INVALID);
        assert_non_null(strstr(err.msg, "bad NATS URL"));
    }
    /* nothing listens on port 1; the password is never echoed */
    assert_null(bus_connect("nats://alice:s3cret@127.0.0.1:1", NULL, &err));
    assert_int_equal(err.code, CLOISTER_E_FAILED);
    assert_non_null(strstr(err.msg, "cannot connect to the NATS server 127.0.0.1:1"));
    assert_non_null(strstr(err.msg, "no server listening"));
    assert_null(strstr(err.msg, "s3cret"));
    assert_null(bus_connect("nats://[::1]:1", NULL, &err));
    assert_non_null(strstr(err.msg, "[::1]:1"));

    /* what does not exist on a live server */
    struct bus_stream_stats st;
    assert_int_equal(bus_stream_stats(bus, "NOPE", &st, &err), CLOISTER_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "stream NOPE"));
    assert_int_equal(bus_stream_delete(bus, "NOPE", &err), CLOISTER_E_NOT_FOUND);
    uint32_t v = 0;
    assert_int_equal(bus_publish(bus, "nowhere.x", NULL, 0, &v, sizeof v, NULL, NULL, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no stream captures"));
    struct bus_consumer_config cc = {.stream = "NOPE", .durable = "w"};
    assert_null(bus_consumer_open(bus, &cc, &err));
    assert_int_equal(err.code, CLOISTER_E_NOT_FOUND);
    assert_int_equal(bus_publish(bus, "a.*", NULL, 0, &v, sizeof v, NULL, NULL, &err),
                     CLOISTER_E_INVALID);
    struct bus_header inject[] = {{"Cloister-Task", "map#1\r\nNats-Msg-Id: x"}};
    assert_int_equal(bus_publish(bus, "rt.x", inject, 1, &v, sizeof v, NULL, NULL, &err),
                     CLOISTER_E_INVALID);
    assert_int_equal(bus_publish(bus, "rt.x", NULL, 0, &v, sizeof v, "a\nb", NULL, &err),
                     CLOISTER_E_INVALID);
    struct bus_header colon[] = {{"Bad:Name", "v"}};
    assert_int_equal(bus_publish(bus, "rt.x", colon, 1, &v, sizeof v, NULL, NULL, &err),
                     CLOISTER_E_INVALID);
    struct bus_stream_config c = {.name = "bad name",
                                  .subject = "x",
                                  .max_bytes = 1,
                                  .max_msg_size = 1};
    assert_int_equal(bus_stream_ensure(bus, &c, &err), CLOISTER_E_INVALID);

    /* a server in a directory that does not exist */
    assert_null(bus_server_start("/nonexistent/cloister-bus", &err));
    assert_non_null(strstr(err.msg, "nats-server config"));
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--hold") == 0)
        return hold_main(argv[2], argv[3], argv[4]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_work_queue),
        cmocka_unit_test(test_redelivery),
        cmocka_unit_test(test_in_progress),
        cmocka_unit_test(test_nak_delay_max_deliver),
        cmocka_unit_test(test_kill9_redelivery),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_get_last),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_server_stop),
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_restart_keeps_tasks),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
