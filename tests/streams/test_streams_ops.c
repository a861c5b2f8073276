/* test_streams_ops.c -- SecureStreams' operations: the stage statistics codec (round trip,
 * truncation and trailing bytes refused), subjects, the latency histogram's quantiles against a
 * sorted oracle; a stop request before the run (the source ends at once, the sink is written)
 * and an abort (no output file); and through the real binary: linger lets a slow pipe's events
 * reach stdout before its end, SIGTERM stops a run that reads a pipe with its aggregate written,
 * and `streams top --json` shows the snapshots a `streams run --nats` publishes on a local
 * nats-server; on such a server, a JetStream stream and a core subject as a run's source and
 * sink (skipped when nats-server is not installed). */
#include <cloister/streams.h>
#include <cloister/tee_enclave.h>

#include "bus/bus.h"
#include "common/cli_run.h"
#include "streams/common/ss_stats.h"
#include "util/fileio.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

TEE_ENCLAVE_DECLARE(streams);

static char dir[4096];

static const char COUNT[] =
    "return pipeline('count'):source(stdin())\n"
    ":reduce(function(a, l) return a + 1 end, function() return 0 end)\n"
    ":map(function(n) return 'n=' .. n end):sink(jsonl_out('count.jsonl'))\n";

static void test_stats_codec(void **state)
{
    struct ss_stage_stats s = {.final = true,
                               .time_ms = 1700000000123,
                               .events_in = 1 << 20,
                               .events_out = 77,
                               .batches = 3,
                               .refused = 1,
                               .in_per_s = 300000,
                               .out_per_s = 12,
                               .queue_bytes = 4 << 20,
                               .lag = 5,
                               .p50_us = 900,
                               .p99_us = 45000};
    snprintf(s.pipeline, sizeof s.pipeline, "flights");
    snprintf(s.stage, sizeof s.stage, "2-filter-secure");
    struct wire_writer w;
    wire_writer_init(&w);
    ss_stage_stats_encode(&s, &w);
    assert_true(wire_writer_ok(&w));
    struct ss_stage_stats t;
    struct cloister_err err = {0};
    assert_int_equal(ss_stage_stats_decode(&t, w.buf, w.len, &err), 0);
    assert_memory_equal(&s, &t, sizeof s);
    for (size_t n = 0; n < w.len; n++)
        assert_int_equal(ss_stage_stats_decode(&t, w.buf, n, &err), CLOISTER_E_INVALID);
    wire_put_u8(&w, 0);
    assert_int_equal(ss_stage_stats_decode(&t, w.buf, w.len, &err), CLOISTER_E_INVALID);
    wire_writer_free(&w);

    char subj[256];
    assert_int_equal(ss_stats_subject(subj, sizeof subj, "my.pipe line", "2-filter*"), 0);
    assert_string_equal(subj, "ss.stats.my_pipe_line.2-filter_");
    assert_int_equal(ss_stats_subject(subj, sizeof subj, "flights", NULL), 0);
    assert_string_equal(subj, "ss.stats.flights.>");
    assert_int_equal(ss_stats_subject(subj, sizeof subj, NULL, NULL), 0);
    assert_string_equal(subj, "ss.stats.>");
    assert_int_equal(ss_stats_subject(subj, 12, "flights", "sink"), -1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Quantiles of the histogram are within its bucket width (1/16) of the exact ones. */
static void test_latency_quantiles(void **state)
{
    static struct ss_latency h;
    static uint64_t v[5000], counts[SS_LAT_BUCKETS];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < 5000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        v[i] = (x % 1000) < 990 ? 100000 + x % 5000000 : 1000000000 + x % 3000000000ull;
        ss_latency_record(&h, v[i]);
    }
    qsort(v, 5000, sizeof v[0], cmp_u64);
    ss_latency_copy(&h, counts);
    const double qs[] = {0.01, 0.5, 0.9, 0.99, 1.0};
    for (size_t i = 0; i < 5; i++) {
        double exact = (double)v[(size_t)(qs[i] * 5000 + 0.5) - 1];
        double got = (double)ss_latency_quantile(counts, qs[i]);
        assert_true(got > exact * (1 - 1.0 / 16) && got < exact * (1 + 1.0 / 16));
    }
    memset(counts, 0, sizeof counts);
    assert_int_equal(ss_latency_quantile(counts, 0.5), 0);
}

static int run_stopped(sig_atomic_t level, struct ss_stats *s, struct cloister_err *err)
{
    char lua[4200], in[4200];
    snprintf(lua, sizeof lua, "%s/stop.lua", dir);
    snprintf(in, sizeof in, "%s/stop.txt", dir);
    static const char text[] = "return pipeline('count'):source(lines(param.i))\n"
                               ":reduce(function(a, l) return a + 1 end, function() return 0 end)\n"
                               ":map(function(n) return 'n=' .. n end):sink(jsonl_out(param.o))\n";
    assert_int_equal(file_write_atomic(lua, text, strlen(text), 0644), 0);
    assert_int_equal(file_write_atomic(in, "a\nb\nc\n", 6, 0644), 0);
    char out[4200];
    snprintf(out, sizeof out, "%s/stop.jsonl", dir);
    remove(out);
    const char *pv[4] = {"i", in, "o", out};
    volatile sig_atomic_t stop = level;
    struct ss_options o;
    ss_options_init(&o);
    o.tee = SS_TEE_NONE;
    o.enclave = &tee_enclave_streams;
    o.params = pv;
    o.nparams = 2;
    o.stop = &stop;
    return ss_run(lua, &o, s, err);
}

/* Stop requested before the run: nothing read, the (empty) output still written; an abort
 * leaves no output. */
static void test_stop_and_abort(void **state)
{
    struct ss_stats s;
    struct cloister_err err = {0};
    if (run_stopped(1, &s, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(s.stopped);
    assert_int_equal(s.events_in, 0);
    assert_int_equal(s.nparts, 3); /* the source, the plain stages, the sink */
    char *got = cli_slurp(dir, "stop.jsonl", NULL);
    assert_string_equal(got, ""); /* no event, no accumulator */
    free(got);
    assert_int_equal(run_stopped(2, &s, &err), CLOISTER_E_STATE);
    assert_non_null(strstr(err.msg, "stopped by a second signal"));
    char out[4200];
    snprintf(out, sizeof out, "%s/stop.jsonl", dir);
    assert_int_not_equal(access(out, F_OK), 0);
    snprintf(out, sizeof out, "%s/stop.jsonl.tmp", dir);
    assert_int_not_equal(access(out, F_OK), 0);
    if (run_stopped(0, &s, &err) != 0)
        fail_msg("%s", err.msg);
    assert_false(s.stopped);
    assert_int_equal(s.events_in, 3);
    assert_true(s.latency_p99_us >= s.latency_p50_us);
}

/* A pipe that sends one line and waits (up to 30 s, for slow sanitized builds) until it reaches
 * stdout before sending the next: with linger, the first line does not wait for the pipe's end. */
static void test_linger(void **state)
{
    cli_spill_text(dir, "echo.lua",
                   "return pipeline('echo'):source(stdin())\n"
                   ":map(function(l) return 'got ' .. l end):sink(stdout())\n");
    assert_int_equal(cli_shell(dir,
                               "(printf 'x\\n'; i=0; while [ ! -s echo.txt ] && [ $i -lt 300 ]; "
                               "do sleep 0.1; i=$((i+1)); done; cp echo.txt early.txt; "
                               "printf 'y\\n') | $CLOISTER streams run echo.lua --tee none "
                               "--linger 5 >echo.txt"),
                     0);
    char *early = cli_slurp(dir, "early.txt", NULL), *all = cli_slurp(dir, "echo.txt", NULL);
    assert_string_equal(early, "got x\n");
    assert_string_equal(all, "got x\ngot y\n");
    free(early);
    free(all);
}

/* SIGTERM while the source (a pipe) is still open: what was read goes through, the aggregate
 * is written, the run says it stopped. */
static void test_sigterm(void **state)
{
    cli_spill_text(dir, "count.lua", COUNT);
    assert_int_equal(cli_shell(dir, "(printf 'a\\nb\\n'; sleep 8) | $CLOISTER streams run "
                                    "count.lua --tee none --json >run.json & p=$!; sleep 3; "
                                    "kill -TERM $p; wait $p"),
                     0);
    char *json = cli_slurp(dir, "run.json", NULL), *out = cli_slurp(dir, "count.jsonl", NULL);
    assert_non_null(strstr(json, "\"stopped\": true"));
    assert_non_null(strstr(json, "\"events_in\": 2,"));
    assert_string_equal(out, "\"n=2\"\n");
    free(json);
    free(out);
}

/* A nats-server for this test, in a directory of its own; the test is skipped when none is
 * installed. */
static struct bus_server *start_server(const char *name)
{
    char ndir[4200];
    struct cloister_err err = {0};
    snprintf(ndir, sizeof ndir, "%s/%s", dir, name);
    assert_int_equal(file_mkdirs(ndir, 0700), 0);
    struct bus_server *srv = bus_server_start(ndir, &err);
    if (!srv && err.code == CLOISTER_E_NOT_FOUND) {
        print_message("skipped: %s\n", err.msg);
        skip();
    }
    if (!srv)
        fail_msg("%s", err.msg);
    return srv;
}

/* Runs the pipeline text in-process without enclaves, with --nats url. */
static int run_nats(const char *name, const char *text, const char *url,
                    void (*progress)(void *, const struct ss_progress *), void *arg,
                    struct ss_stats *s, struct cloister_err *err)
{
    char lua[4200];
    snprintf(lua, sizeof lua, "%s/%s.lua", dir, name);
    assert_int_equal(file_write_atomic(lua, text, strlen(text), 0644), 0);
    struct ss_options o;
    ss_options_init(&o);
    o.tee = SS_TEE_NONE;
    o.enclave = &tee_enclave_streams;
    o.nats = url;
    o.stats_interval_ms = 20;
    o.progress = progress;
    o.progress_arg = arg;
    return ss_run(lua, &o, s, err);
}

/* The messages on subject in the stream, in order, one per line ("" for the end mark). */
static void read_stream(struct bus *b, const char *stream, const char *subject, char *out,
                        size_t cap)
{
    struct cloister_err err = {0};
    struct bus_consumer_config cc = {.stream = stream, .durable = "reader", .filter = subject};
    struct bus_consumer *c = bus_consumer_open(b, &cc, &err);
    assert_non_null(c);
    struct bus_msg *m[16];
    size_t n = 0, used = 0;
    out[0] = '\0';
    do {
        assert_int_equal(bus_fetch(c, m, 16, 500, &n, &err), 0);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *d = bus_msg_data(m[i], &len);
            used += (size_t)snprintf(out + used, cap - used, "%.*s\n", (int)len, d);
            bus_msg_ack(m[i], &err);
            bus_msg_free(m[i]);
        }
    } while (n > 0 && used < cap);
    bus_consumer_close(c);
}

static const char WORDS[] =
    "return pipeline('words'):source(jetstream('IN', { subject = 'in.words', durable = 'wc' }))\n"
    ":key_by(function(w) return w end)\n"
    ":reduce(secure(function(a, w) return a + 1 end), function() return 0 end)\n"
    ":map(function(kv) return kv.key .. '=' .. kv.value end):sink(jetstream_out('out.counts'))\n";

/* A JetStream stream in, one out: the counts (and the end mark) are stored in the output stream,
 * the input's messages acked, so a second run with the same durable reads nothing more. */
static void test_jetstream_source_sink(void **state)
{
    struct bus_server *srv = start_server("nats-js");
    struct cloister_err err = {0};
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    struct bus_stream_config in = {.name = "IN",
                                   .subject = "in.>",
                                   .retention = BUS_LIMITS,
                                   .max_bytes = 1 << 20,
                                   .max_msg_size = 4096};
    struct bus_stream_config out = in;
    out.name = "OUT";
    out.subject = "out.>";
    assert_int_equal(bus_stream_ensure(b, &in, &err), 0);
    assert_int_equal(bus_stream_ensure(b, &out, &err), 0);
    static const char *const words[] = {"b", "a", "c", "a", "b", "a"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(bus_publish(b, "in.words", NULL, 0, words[i], 1, NULL, NULL, &err), 0);
    struct ss_stats s;
    if (run_nats("words", WORDS, bus_server_url(srv), NULL, NULL, &s, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(s.events_in, 6);
    char got[256];
    read_stream(b, "OUT", "out.counts", got, sizeof got);
    assert_string_equal(got, "a=3\nb=2\nc=1\n\n");
    if (run_nats("words", WORDS, bus_server_url(srv), NULL, NULL, &s, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(s.events_in, 0);
    /* without --nats, or with a name NATS cannot take, the run fails before reading */
    assert_int_not_equal(run_nats("words", WORDS, NULL, NULL, NULL, &s, &err), 0);
    assert_non_null(strstr(err.msg, "source jetstream IN needs a NATS server (--nats URL)"));
    assert_int_not_equal(run_nats("bad", "return pipeline('b'):source(nats('a b')):sink(stdout())",
                                  bus_server_url(srv), NULL, NULL, &s, &err),
                         0);
    assert_non_null(strstr(err.msg, "bad.lua:1: nats: subject is not a valid NATS name: a b"));
    bus_close(b);
    bus_server_stop(srv);
}

struct echo_run {
    const char *url;
    _Atomic int ticks;
    struct ss_stats s;
    struct cloister_err err;
    int rc;
};

static void echo_tick(void *arg, const struct ss_progress *p)
{
    (void)p;
    atomic_fetch_add(&((struct echo_run *)arg)->ticks, 1);
}

static void *echo_main(void *arg)
{
    struct echo_run *r = arg;
    r->rc = run_nats("echo",
                     "return pipeline('echo'):source(nats('in.echo'))\n"
                     ":map(function(l) return 'got ' .. l end):sink(nats_out('out.echo'))\n",
                     r->url, echo_tick, r, &r->s, &r->err);
    return NULL;
}

/* Core NATS in and out: once the run ticks (its subscription is active), what is published
 * comes out as it arrives, and the empty message ends the run and is sent on. */
static void test_nats_source_sink(void **state)
{
    struct bus_server *srv = start_server("nats-core");
    struct cloister_err err = {0};
    struct echo_run r = {.url = bus_server_url(srv)};
    struct bus *b = bus_connect(r.url, NULL, &err);
    assert_non_null(b);
    struct bus_sub *sub = bus_subscribe(b, "out.echo", &err);
    assert_non_null(sub);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, echo_main, &r), 0);
    for (int i = 0; i < 3000 && atomic_load(&r.ticks) == 0; i++)
        usleep(10000);
    assert_int_equal(bus_post(b, "in.echo", "x", 1, &err), 0);
    assert_int_equal(bus_post(b, "in.echo", "y", 1, &err), 0);
    assert_int_equal(bus_post(b, "in.echo", "", 0, &err), 0);
    pthread_join(t, NULL);
    if (r.rc != 0)
        fail_msg("%s", r.err.msg);
    assert_int_equal(r.s.events_in, 2);
    const char *want[] = {"got x", "got y", ""};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *d = NULL;
        size_t len = 0;
        assert_int_equal(bus_sub_next(sub, 5000, NULL, 0, &d, &len, &err), 0);
        assert_non_null(d); /* an empty message too: NULL is none within the timeout */
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(d, want[i], len);
        free(d);
    }
    bus_sub_close(sub);
    bus_close(b);
    bus_server_stop(srv);
}

/* `streams top --json` sees every part of a run published with --nats, until their end. */
static void test_top(void **state)
{
    struct bus_server *srv = start_server("nats");
    const char *url = bus_server_url(srv);
    cli_spill_text(dir, "count.lua", COUNT);
    cli_spill_text(dir, "in.txt", "a\nb\nc\n");
    int rc = cli_shell(dir,
                       "$CLOISTER streams top --nats %s --pipeline count --json --seconds 30 "
                       ">top.jsonl & t=$!; sleep 1; $CLOISTER streams run count.lua --tee none "
                       "--nats %s --stats-interval 50 <in.txt && wait $t",
                       url, url);
    bus_server_stop(srv);
    assert_int_equal(rc, 0);
    char *top = cli_slurp(dir, "top.jsonl", NULL);
    const char *want[] = {"\"stage\":\"source\",\"final\":true,",
                          "\"stage\":\"sink\",\"final\":true,", "\"events_in\":3,"};
    for (size_t i = 0; i < 3; i++)
        if (!strstr(top, want[i]))
            fail_msg("no %s in:\n%s", want[i], top);
    free(top);
    assert_int_equal(cli_run(dir, "streams top --nats nats://127.0.0.1:1 --seconds 1"), 1);
}

static int setup(void **state)
{
    const char *h = getenv("CLOISTER_HOME");
    assert_non_null(h);
    assert_int_equal(file_remove_tree(h), 0);
    snprintf(dir, sizeof dir, "%s/ops", h);
    assert_int_equal(file_mkdirs(dir, 0700), 0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_codec),
        cmocka_unit_test(test_latency_quantiles),
        cmocka_unit_test(test_stop_and_abort),
        cmocka_unit_test(test_linger),
        cmocka_unit_test(test_sigterm),
        cmocka_unit_test(test_top),
        cmocka_unit_test(test_jetstream_source_sink),
        cmocka_unit_test(test_nats_source_sink),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
