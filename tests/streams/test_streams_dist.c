/* test_streams_dist.c -- a distributed stage's runner (ss_dist_runner.c) through the in-process
 * worker: two producers into a secure keyed reduce; duplicates (replays, redeliveries) dropped
 * and counted, gaps and tampered batches refused and counted; a sealed checkpoint restored into
 * a fresh runner gives exactly the aggregates of a run without the restart; the key_by stage
 * sends each key to one partition; the checkpoint kept in a KV bucket of a real nats-server
 * (ss_ckpt.c) restores the same way and fences a stale replica's writes; the host loop of a
 * replica (ss_replica.c) killed -9 mid-stream and restarted gives exactly the aggregates; the
 * launcher's sink drops replays and refuses tampered, truncated, reordered and misaddressed
 * batches, counting both. */
#include <cloister/crypto.h>
#include <cloister/streams.h>

#include "bus/bus.h"
#include "lua/lua_sandbox.h"
#include "streams/client/ss_ckpt.h"
#include "streams/client/ss_dist.h"
#include "streams/client/ss_replica.h"
#include "streams/common/ss_proto.h"
#include "util/fileio.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static const char LUA[] =
    "return pipeline('d'):source(lines('-'))\n"
    "  :key_by(function(x) return x end)\n"
    "  :reduce(secure(function(a, x) return a + 1 end), function() return 0 end)\n"
    "  :map(function(kv) return kv.key .. '=' .. kv.value end)\n"
    "  :sink(stdout())\n";

static uint8_t key[32], hash[32];
static crypto_aead *aead;
static struct bus_server *srv; /* NULL: nats-server not installed (the bucket test skips) */

/* A runner of stages first..last, replica 0 of nup producers into nout partitions. */
static void *load(uint32_t first, uint32_t last, uint32_t nup, uint32_t nout, bool keyed)
{
    struct wire_writer cfg, in;
    wire_writer_init(&cfg);
    wire_writer_init(&in);
    wire_put_str(&cfg, "d.lua");
    wire_put_bytes(&cfg, LUA, strlen(LUA));
    wire_put_varint(&cfg, 0);
    crypto_sha256(hash, cfg.buf, cfg.len);
    wire_put_bytes(&in, cfg.buf, cfg.len);
    wire_put_u32(&in, first);
    wire_put_u32(&in, last);
    wire_put_u32(&in, 0);
    wire_put_u32(&in, nup);
    wire_put_u32(&in, nout);
    wire_put_u8(&in, keyed);
    void *r = ss_inproc_worker.open(key);
    uint8_t *out = NULL;
    size_t outlen = 0;
    struct cloister_err err = {0};
    if (ss_inproc_worker.call(r, SS_CALL_LOAD_DIST, in.buf, in.len, &out, &outlen, &err) != 0)
        fail_msg("%s", err.msg);
    assert_memory_equal(out, hash, 32);
    free(out);
    wire_writer_free(&cfg);
    wire_writer_free(&in);
    return r;
}

/* Seals events (keys; pairs {k, k} when pairs) from producer to stage, partition 0. */
static void batch(uint32_t stage, uint32_t producer, uint64_t seq, bool final, const char *keys,
                  bool pairs, struct wire_writer *out)
{
    struct wire_writer ev, pt;
    wire_writer_init(&ev);
    wire_writer_init(&pt);
    tlua_put_array(&ev, strlen(keys));
    for (const char *k = keys; *k; k++) {
        if (pairs)
            tlua_put_array(&ev, 2);
        tlua_put_str(&ev, k, 1);
        if (pairs)
            tlua_put_str(&ev, k, 1);
    }
    struct ss_batch b = {.final = final, .events = ev.buf, .events_len = ev.len};
    ss_batch_encode(&b, &pt);
    struct ss_edge e = {.stage = stage, .partition = SS_PART(producer, 0), .seq = seq};
    memcpy(e.hash, hash, 32);
    wire_writer_init(out);
    assert_int_equal(ss_seal(aead, &e, pt.buf, pt.len, out), 0);
    wire_writer_free(&ev);
    wire_writer_free(&pt);
}

/* Sends a batch: the call's code; *flags and the answer (free it) when it ran. */
static int send(void *r, uint32_t stage, uint32_t producer, uint64_t seq, bool final,
                const char *keys, bool pairs, int tamper, uint8_t **answer, size_t *alen)
{
    struct wire_writer b;
    batch(stage, producer, seq, final, keys, pairs, &b);
    if (tamper)
        b.buf[b.len - 20] ^= 1;
    uint8_t *out = NULL;
    size_t outlen = 0;
    struct cloister_err err = {0};
    int rc = ss_inproc_worker.call(r, SS_CALL_RUN_DIST, b.buf, b.len, &out, &outlen, &err);
    wire_writer_free(&b);
    if (answer) {
        *answer = out;
        *alen = outlen;
    } else {
        free(out);
    }
    return rc;
}

static uint8_t flags_of(void *r, uint32_t producer, uint64_t seq, bool final, const char *keys)
{
    uint8_t *a = NULL;
    size_t n = 0;
    assert_int_equal(send(r, 2, producer, seq, final, keys, true, 0, &a, &n), 0);
    uint8_t f = a[0];
    free(a);
    return f;
}

static void stats(void *r, uint64_t *refused, uint64_t *dups)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    struct cloister_err err = {0};
    assert_int_equal(ss_inproc_worker.call(r, SS_CALL_STATS, NULL, 0, &out, &outlen, &err), 0);
    struct wire_reader rd;
    wire_reader_init(&rd, out, outlen);
    wire_get_u64(&rd);
    *refused = wire_get_u64(&rd);
    *dups = wire_get_u64(&rd);
    free(out);
}

/* The events of the one sealed output batch in answer a, opened as stage's partition p. */
static char *output(const uint8_t *a, size_t n, uint32_t stage, uint32_t p, uint64_t seq)
{
    struct wire_reader rd;
    wire_reader_init(&rd, a, n);
    wire_get_u8(&rd);
    wire_get_varint(&rd);
    wire_get_varint(&rd);
    assert_int_equal(wire_get_varint(&rd), 1);
    size_t clen = 0;
    const uint8_t *c = wire_get_bytes(&rd, 1 << 20, &clen);
    assert_non_null(c);
    struct ss_edge e = {.stage = stage, .partition = SS_PART(0, p), .seq = seq};
    memcpy(e.hash, hash, 32);
    uint8_t *pt = malloc(clen);
    size_t ptlen = 0;
    struct cloister_err err = {0};
    if (ss_open(aead, &e, c, clen, pt, &ptlen, &err) != 0)
        fail_msg("%s", err.msg);
    struct ss_batch b;
    assert_int_equal(ss_batch_decode(&b, pt, ptlen, &err), 0);
    char *s = calloc(1, 4096);
    struct wire_reader er;
    wire_reader_init(&er, b.events, b.events_len);
    wire_get_u8(&er);
    uint64_t m = wire_get_varint(&er);
    for (uint64_t i = 0; i < m; i++) {
        size_t len = 0;
        const uint8_t *v = tlua_value_next(&er, &len);
        assert_non_null(v);
        strncat(s, (const char *)v + 2, len - 2);
        strcat(s, " ");
    }
    free(pt);
    return s;
}

static void test_reduce_checkpoint_restore(void **state)
{
    void *r = load(2, 4, 2, 1, false);
    uint64_t refused, dups;
    assert_int_equal(flags_of(r, 0, 0, false, "aab"), 0);
    assert_int_equal(flags_of(r, 1, 0, false, "ac"), 0);
    assert_int_equal(flags_of(r, 0, 0, false, "aab"), 1); /* replayed: dropped */
    assert_int_equal(send(r, 2, 1, 2, false, "c", true, 0, NULL, NULL), CLOISTER_E_DENIED);
    assert_int_equal(send(r, 2, 1, 1, false, "c", true, 1, NULL, NULL), CLOISTER_E_DENIED);
    assert_int_equal(send(r, 2, 2, 0, false, "c", true, 0, NULL, NULL), CLOISTER_E_DENIED);
    stats(r, &refused, &dups);
    assert_int_equal(refused, 3);
    assert_int_equal(dups, 1);
    uint8_t *ck = NULL;
    size_t cklen = 0;
    struct cloister_err err = {0};
    assert_int_equal(ss_inproc_worker.call(r, SS_CALL_CHECKPOINT, NULL, 0, &ck, &cklen, &err), 0);
    ss_inproc_worker.close(r); /* the stage dies */

    void *r2 = load(2, 4, 2, 1, false);
    uint8_t *none = NULL;
    size_t nlen = 0;
    ck[cklen - 1] ^= 1;
    assert_int_equal(ss_inproc_worker.call(r2, SS_CALL_RESTORE, ck, cklen, &none, &nlen, &err),
                     CLOISTER_E_DENIED);
    ck[cklen - 1] ^= 1;
    assert_int_equal(ss_inproc_worker.call(r2, SS_CALL_RESTORE, ck, cklen, &none, &nlen, &err), 0);
    free(none);
    free(ck);
    assert_int_equal(flags_of(r2, 1, 0, false, "ac"), 1); /* redelivered after the restart */
    assert_int_equal(flags_of(r2, 0, 1, true, "b"), 0);   /* producer 1 has not ended yet */
    uint8_t *a = NULL;
    size_t alen = 0;
    assert_int_equal(send(r2, 2, 1, 1, true, "c", true, 0, &a, &alen), 0);
    assert_int_equal(a[0], 2); /* every producer ended: flushed */
    char *got = output(a, alen, 5, 0, 0);
    assert_string_equal(got, "a=3 b=2 c=2 ");
    free(got);
    free(a);
    ss_inproc_worker.close(r2);
}

static void test_key_partitions(void **state)
{
    void *r = load(1, 1, 1, 2, true);
    uint8_t *a = NULL;
    size_t alen = 0;
    assert_int_equal(send(r, 1, 0, 0, false, "abcabcdd", false, 0, &a, &alen), 0);
    struct wire_reader rd;
    wire_reader_init(&rd, a, alen);
    wire_get_u8(&rd);
    assert_int_equal(wire_get_varint(&rd), 8);
    assert_int_equal(wire_get_varint(&rd), 8);
    uint64_t n = wire_get_varint(&rd);
    assert_true(n >= 1 && n <= 2);
    free(a);
    ss_inproc_worker.close(r);
}

/* The replica's checkpoint goes through a KV bucket: saved, the replica dies, a new one restores
 * it and drops the redelivered batch; a stale replica's save is refused. */
static void test_checkpoint_bucket(void **state)
{
    if (!srv)
        skip();
    struct cloister_err err = {0};
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    struct ss_ckpt *c = ss_ckpt_open(b, "ssckpt", "d", "reduce", 0, &err);
    assert_non_null(c);
    assert_null(ss_ckpt_open(b, "ssckpt", "d", "a.b", 0, &err));
    void *r = load(2, 4, 2, 1, false);
    assert_int_equal(ss_ckpt_restore(c, ss_inproc_worker.call, r, &err), 0); /* first start */
    assert_int_equal(flags_of(r, 0, 0, false, "aab"), 0);
    assert_int_equal(flags_of(r, 1, 0, false, "ac"), 0);
    assert_int_equal(ss_ckpt_save(c, ss_inproc_worker.call, r, &err), 0);
    ss_inproc_worker.close(r); /* the stage dies; c stands for the stale process */

    struct ss_ckpt *c2 = ss_ckpt_open(b, "ssckpt", "d", "reduce", 0, &err);
    void *r2 = load(2, 4, 2, 1, false);
    assert_int_equal(ss_ckpt_restore(c2, ss_inproc_worker.call, r2, &err), 1);
    assert_int_equal(ss_ckpt_save(c2, ss_inproc_worker.call, r2, &err), 0);
    assert_int_equal(ss_ckpt_save(c, ss_inproc_worker.call, r2, &err), CLOISTER_E_EXISTS);
    assert_int_equal(flags_of(r2, 1, 0, false, "ac"), 1); /* redelivered: dropped */
    assert_int_equal(flags_of(r2, 0, 1, true, "b"), 0);
    uint8_t *a = NULL;
    size_t alen = 0;
    assert_int_equal(send(r2, 2, 1, 1, true, "c", true, 0, &a, &alen), 0);
    char *got = output(a, alen, 5, 0, 0);
    assert_string_equal(got, "a=3 b=2 c=2 ");
    free(got);
    free(a);
    ss_inproc_worker.close(r2);
    ss_ckpt_close(c);
    ss_ckpt_close(c2);
    bus_close(b);
}

/* Publishes a sealed batch to the replica's input subject (each with its own message id, so a
 * re-sent batch reaches the runner). */
static void feed(struct bus *b, uint32_t producer, uint64_t seq, bool final, const char *keys)
{
    struct wire_writer w;
    batch(2, producer, seq, final, keys, true, &w);
    static unsigned sent;
    char id[64];
    snprintf(id, sizeof id, "up-%u", sent++);
    struct cloister_err err = {0};
    if (bus_publish(b, "ssr.in.0", NULL, 0, w.buf, w.len, id, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    wire_writer_free(&w);
}

/* Replica 0 of the keyed reduce until its producers end (or it is killed). */
static int replica(struct bus *b, unsigned ckpt_ms, struct ss_replica_stats *s)
{
    struct cloister_err err = {0};
    struct ss_ckpt *c = ss_ckpt_open(b, "ssrep", "d", "reduce", 0, &err);
    assert_non_null(c);
    void *r = load(2, 4, 2, 1, false);
    struct ss_replica_config cfg = {.bus = b,
                                    .stream = "SSR",
                                    .in_subject = "ssr.in.0",
                                    .durable = "reduce-0",
                                    .out_prefix = "ssr.out",
                                    .id_prefix = "reduce",
                                    .ckpt = c,
                                    .call = ss_inproc_worker.call,
                                    .runner = r,
                                    .ckpt_events = 3,
                                    .ckpt_ms = ckpt_ms};
    int rc = ss_replica_run(&cfg, s, &err);
    if (rc != 0)
        fprintf(stderr, "replica: %s\n", err.msg);
    ss_inproc_worker.close(r);
    ss_ckpt_close(c);
    return rc;
}

/* The replica's process is killed -9 after a checkpoint, with a batch applied but unacked;
 * restarted, it gives exactly the aggregates of a run without the crash. */
static void test_replica_kill(void **state)
{
    if (!srv)
        skip();
    struct cloister_err err = {0};
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    struct bus_stream_config sc = {.name = "SSR",
                                   .subject = "ssr.>",
                                   .retention = BUS_WORK_QUEUE,
                                   .max_bytes = 1 << 26,
                                   .max_msg_size = 1 << 20};
    assert_int_equal(bus_stream_ensure(b, &sc, &err), 0);
    feed(b, 0, 0, false, "aab");
    feed(b, 1, 0, false, "ac");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct bus *cb = bus_connect(bus_server_url(srv), NULL, &err);
        struct ss_replica_stats s;
        _exit(cb && replica(cb, 600000, &s) == 0 ? 0 : 1);
    }
    struct bus_kv *kv = bus_kv_open(b, "ssrep", 1 << 26, 1 << 20, &err);
    assert_non_null(kv);
    uint8_t *v = NULL;
    size_t vlen = 0;
    for (int i = 0; i < 200 && bus_kv_get(kv, "d.reduce.0", &v, &vlen, NULL, &err) != 0; i++)
        usleep(50000);
    assert_non_null(v); /* the first two batches checkpointed */
    free(v);
    feed(b, 0, 1, false, "b"); /* applied, below the checkpoint threshold: unacked */
    usleep(300000);
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    feed(b, 1, 0, false, "ac"); /* a producer's redelivery (another message id): dropped */
    feed(b, 0, 2, true, "b");
    feed(b, 1, 1, true, "c");
    struct ss_replica_stats s;
    assert_int_equal(replica(b, 50, &s), 0);
    assert_true(s.restored && s.ended);
    assert_true(s.duplicates >= 1);
    assert_int_equal(s.refused, 0);

    struct bus_consumer_config cc = {.stream = "SSR", .durable = "sink", .filter = "ssr.out.0"};
    struct bus_consumer *con = bus_consumer_open(b, &cc, &err);
    assert_non_null(con);
    struct bus_msg *m[4];
    size_t n = 0;
    assert_int_equal(bus_fetch(con, m, 4, 2000, &n, &err), 0);
    assert_int_equal(n, 1); /* one final batch: the reduce flushed once */
    size_t len = 0;
    const uint8_t *data = bus_msg_data(m[0], &len);
    struct wire_writer a;
    wire_writer_init(&a); /* RUN_DIST's answer around it, as output() reads */
    wire_put_u8(&a, 2);
    wire_put_varint(&a, 0);
    wire_put_varint(&a, 0);
    wire_put_varint(&a, 1);
    wire_put_bytes(&a, data, len);
    char *got = output(a.buf, a.len, 5, 0, 0);
    assert_string_equal(got, "a=3 b=3 c=2 ");
    free(got);
    wire_writer_free(&a);
    bus_msg_free(m[0]);
    bus_consumer_close(con);
    bus_kv_close(kv);
    bus_close(b);
}

static int setup(void **state)
{
    const char *h = getenv("CLOISTER_HOME");
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/ssckpt", h ? h : ".");
    file_remove_tree(dir);
    assert_int_equal(file_mkdirs(dir, 0700), 0);
    struct cloister_err err;
    if (!(srv = bus_server_start(dir, &err)))
        fprintf(stderr, "test_streams_dist: %s\n", err.msg);
    return srv || err.code == CLOISTER_E_NOT_FOUND ? 0 : -1;
}

/* Offers the batch of producer (stage 9, numbered seq) to the sink's edges: the code. */
static int sink_offer(struct ss_sink_edges *s, uint32_t stage, uint32_t producer, uint64_t seq,
                      bool final, int tamper, size_t cut)
{
    struct wire_writer b;
    batch(stage, producer, seq, final, "ab", false, &b);
    if (tamper)
        b.buf[b.len - tamper] ^= 1;
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    struct cloister_err err = {0};
    int rc = ss_sink_take(s, b.buf, cut ? cut : b.len, &pt, &ptlen, &err);
    assert_true(rc == 0 ? pt != NULL : pt == NULL);
    assert_true(rc != CLOISTER_E_DENIED || strstr(err.msg, "refused"));
    free(pt);
    wire_writer_free(&b);
    return rc;
}

/* The launcher's sink (ss_dist.c) takes each of the last segment's two replicas' batches in
 * order, once: a replay is dropped and counted; tampered (in the AAD or the ciphertext),
 * truncated, reordered, misaddressed (another stage, a producer beyond the replicas) refused and
 * counted; the run ends once both replicas' final batches are in. */
static void test_sink_edges(void **state)
{
    struct ss_sink_edges s = {.aead = aead, .stage = 9, .producers = 2};
    memcpy(s.hash, hash, sizeof hash);
    assert_int_equal(sink_offer(&s, 9, 0, 0, false, 0, 0), 0);
    assert_int_equal(sink_offer(&s, 9, 0, 0, false, 0, 0), 1); /* replayed */
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(sink_offer(&s, 9, 0, 2, false, 0, 0), CLOISTER_E_DENIED); /* reordered */
    assert_int_equal(sink_offer(&s, 9, 0, 1, true, 20, 0), CLOISTER_E_DENIED); /* ciphertext */
    assert_int_equal(sink_offer(&s, 9, 0, 1, true, 0, 10), CLOISTER_E_DENIED); /* truncated */
    assert_int_equal(sink_offer(&s, 8, 0, 1, true, 0, 0), CLOISTER_E_DENIED);  /* other stage */
    assert_int_equal(sink_offer(&s, 9, 2, 0, true, 0, 0), CLOISTER_E_DENIED);  /* no replica 2 */
    struct wire_writer b;
    batch(9, 0, 1, true, "ab", false, &b);
    b.buf[SS_BATCH_OVERHEAD / 2] ^= 1; /* in the header (the AAD) */
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    struct cloister_err err = {0};
    assert_int_equal(ss_sink_take(&s, b.buf, b.len, &pt, &ptlen, &err), CLOISTER_E_DENIED);
    wire_writer_free(&b);
    assert_int_equal(s.refused, 6);
    assert_int_equal(s.duplicates, 1);
    assert_false(ss_sink_ended(&s));
    assert_int_equal(sink_offer(&s, 9, 0, 1, true, 0, 0), 0);
    assert_false(ss_sink_ended(&s));
    assert_int_equal(sink_offer(&s, 9, 1, 0, true, 0, 0), 0);
    assert_true(ss_sink_ended(&s));
    assert_int_equal(sink_offer(&s, 9, 1, 0, true, 0, 0), 1); /* a redelivery after the end */
    assert_int_equal(s.refused, 6);
}

static int teardown(void **state)
{
    bus_server_stop(srv);
    return 0;
}

int main(void)
{
    assert_int_equal(crypto_random(key, sizeof key), 0);
    aead = crypto_aead_new(CRYPTO_AES256_GCM, key);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_checkpoint_restore), cmocka_unit_test(test_key_partitions),
        cmocka_unit_test(test_checkpoint_bucket), cmocka_unit_test(test_replica_kill),
        cmocka_unit_test(test_sink_edges)};
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    crypto_aead_free(aead);
    return rc;
}
