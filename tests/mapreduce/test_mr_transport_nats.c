/* test_mr_transport_nats.c -- the NATS JetStream transport of MapReduce (mr_transport_nats.h)
 * against a real nats-server on loopback: a task taken by a worker that dies before its result
 * is redelivered to another worker after ack_wait, a re-published task is queued once, shuffle
 * chunks come back by address (a missing one is an error), results reach the client, and the
 * client's free deletes the job's streams; messages beyond the server's max_payload are split and
 * reassembled, and a forged piece is refused. Skips when nats-server is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "mapreduce/host/mr_transport_nats.h"
#include "util/fileio.h"

#include <cloister/wire.h>

static struct bus_server *srv;

/* Long enough that the shuffle calls between a task's delivery and its result (a pull consumer
 * made per reader) never outlast it on a loaded machine: the test once saw a redelivery. */
enum { ACK_WAIT_MS = 1500 };

static struct mr_transport *open_job(const char *job, bool owner, int64_t max_bytes)
{
    struct mr_nats_config c = {.url = bus_server_url(srv),
                               .job = job,
                               .owner = owner,
                               .ack_wait_ms = ACK_WAIT_MS,
                               .queue_max_bytes = max_bytes,
                               .shuffle_max_bytes = max_bytes};
    struct cloister_err err;
    struct mr_transport *t = mr_transport_nats_new(&c, &err);
    if (!t)
        fail_msg("%s", err.msg);
    return t;
}

static struct mr_transport *open_side(bool owner)
{
    return open_job("00112233445566778899aabbccddeeff", owner, 1 << 20);
}

static void task(struct wire_writer *w, uint32_t id)
{
    wire_writer_init(w);
    wire_put_u8(w, 1);
    wire_put_u32(w, 0);
    wire_put_u32(w, id);
    wire_put_u32(w, 7);
}

static void test_transport(void **state)
{
    if (!srv)
        skip();
    struct cloister_err err;
    struct mr_transport *client = open_side(true), *a = open_side(false), *b = open_side(false);
    struct wire_writer w;
    task(&w, 3);
    assert_int_equal(client->ops->task_put(client, w.buf, w.len, &err), 0);
    assert_int_equal(client->ops->task_put(client, w.buf, w.len, &err), 0); /* de-duplicated */
    uint8_t *m;
    size_t len;
    /* a takes it and dies (frees without a result): b gets it after ack_wait, once */
    assert_int_equal(a->ops->task_get(a, 2000, &m, &len, &err), 1);
    assert_memory_equal(m, w.buf, w.len);
    free(m);
    a->ops->free(a);
    assert_int_equal(b->ops->task_get(b, 5000, &m, &len, &err), 1);
    assert_memory_equal(m, w.buf, w.len);
    free(m);
    /* the shuffle, by address */
    static const uint8_t chunk[] = "sealed chunk";
    assert_int_equal(b->ops->shuffle_put(b, 0, 3, 7, 1, chunk, sizeof chunk, &err), 0);
    assert_int_equal(client->ops->shuffle_get(client, 0, 3, 7, 1, &m, &len, &err), 0);
    assert_int_equal(len, sizeof chunk);
    assert_memory_equal(m, chunk, len);
    free(m);
    assert_int_equal(client->ops->shuffle_get(client, 0, 3, 8, 1, &m, &len, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_int_not_equal(b->ops->result_get(b, 10, &m, &len, &err), 1); /* workers read none */
    /* the result acks the task: nothing is redelivered */
    assert_int_equal(b->ops->result_put(b, (const uint8_t *)"done", 4, &err), 0);
    assert_int_equal(client->ops->result_get(client, 2000, &m, &len, &err), 1);
    assert_memory_equal(m, "done", 4);
    free(m);
    assert_int_equal(b->ops->task_get(b, ACK_WAIT_MS + 700, &m, &len, &err), 0);
    assert_true(mr_transport_nats_shuffle_bytes(client) >= sizeof chunk);
    wire_writer_free(&w);
    b->ops->free(b);
    client->ops->close(client);
    assert_int_equal(client->ops->task_get(client, 10, &m, &len, &err), CLOISTER_E_STATE);
    client->ops->free(client);
    /* the job's streams are gone */
    struct bus *bus = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(bus);
    struct bus_stream_stats st;
    assert_int_equal(bus_stream_stats(bus, "MRS_00112233445566778899aabbccddeeff", &st, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_int_equal(bus_stream_stats(bus, "MRT_00112233445566778899aabbccddeeff", &st, &err),
                     CLOISTER_E_NOT_FOUND);
    bus_close(bus);
}

/* Beyond the server's max_payload (8 MiB, bus_server_start's): the transport splits and reassembles; a piece
 * replaced by one of another message is refused. */
static void test_large_messages(void **state)
{
    if (!srv)
        skip();
    struct cloister_err err;
    const char *job = "ffeeddccbbaa99887766554433221100";
    struct mr_transport *client = open_job(job, true, 64 << 20), *w = open_job(job, false, 0);
    size_t big = (17 << 20) + 12345;
    uint8_t *data = malloc(big), *m;
    size_t len;
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 11));
    assert_int_equal(w->ops->shuffle_put(w, 0, 5, 1, 0, data, big, &err), 0);
    assert_int_equal(client->ops->shuffle_get(client, 0, 5, 1, 0, &m, &len, &err), 0);
    assert_int_equal(len, big);
    assert_memory_equal(m, data, big);
    free(m);
    /* a task message of 10 MiB: a stub in the queue, the message from its pieces */
    struct wire_writer t;
    task(&t, 9);
    wire_put_raw(&t, data, 10 << 20);
    assert_int_equal(client->ops->task_put(client, t.buf, t.len, &err), 0);
    assert_int_equal(w->ops->task_get(w, 2000, &m, &len, &err), 1);
    assert_int_equal(len, t.len);
    assert_memory_equal(m, t.buf, t.len);
    free(m);
    wire_writer_free(&t);
    /* piece 1 of the chunk replaced by a piece that claims another count */
    struct bus *bus = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(bus);
    char subject[128];
    snprintf(subject, sizeof subject, "mr.%s.shuffle.0.5.1.0.1", job);
    static const uint8_t forged[] = {0, 0, 0, 7, 'x'};
    assert_int_equal(bus_publish(bus, subject, NULL, 0, forged, sizeof forged, NULL, NULL, &err),
                     0);
    assert_int_equal(client->ops->shuffle_get(client, 0, 5, 1, 0, &m, &len, &err),
                     CLOISTER_E_INVALID);
    bus_close(bus);
    free(data);
    w->ops->free(w);
    client->ops->free(client);
}

static int setup(void **state)
{
    const char *h = getenv("CLOISTER_HOME");
    assert_non_null(h);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/mrnats", h);
    file_remove_tree(dir);
    assert_int_equal(file_mkdirs(dir, 0700), 0);
    struct cloister_err err;
    if (!(srv = bus_server_start(dir, &err)))
        fprintf(stderr, "test_mr_transport_nats: %s\n", err.msg);
    return srv || err.code == CLOISTER_E_NOT_FOUND ? 0 : -1;
}

static int teardown(void **state)
{
    bus_server_stop(srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_transport),
                                       cmocka_unit_test(test_large_messages)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
