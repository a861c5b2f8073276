/* test_streams.c -- SecureStreams: the paper's flights pipeline and two windowed pipelines equal
 * oracles computed here in C on the generated CSV, with --tee none, sim and proc; a secure run
 * of stages refuses tampered, replayed, reordered and misaddressed batches and counts them;
 * malformed pipelines fail before anything runs, with the Lua message; a failing callback names
 * its stage and line under policy fail and is counted under skip; sandbox escapes fail inside a
 * secure stage. */
#include <cloister/crypto.h>
#include <cloister/streams.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include "common/cli_run.h"
#include "lua/lua_sandbox.h"
#include "streams/client/ss_client.h"
#include "streams/common/ss_proto.h"
#include "util/fileio.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

TEE_ENCLAVE_DECLARE(streams);

#define ROWS 6000

static char dir[4096], sig[4200], flights[4200];

static void path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *body)
{
    char p[4200];
    path(p, sizeof p, name);
    assert_int_equal(file_write_atomic(p, body, strlen(body), 0644), 0);
}

static char *read_text(const char *name)
{
    char p[4200];
    uint8_t *d = NULL;
    size_t n = 0;
    path(p, sizeof p, name);
    if (file_read_all(p, 1 << 26, &d, &n) != 0)
        fail_msg("cannot read %s", p);
    return (char *)d;
}

static size_t queue_bytes, batch_bytes; /* 0: the defaults */
static bool no_fuse;

static int run(const char *lua, enum ss_tee tee, const char *output, struct ss_stats *s,
               struct cloister_err *err)
{
    char p[4200], out[4200];
    path(p, sizeof p, lua);
    path(out, sizeof out, output);
    const char *pv[4] = {"input", flights, "output", out};
    struct ss_options o;
    ss_options_init(&o);
    o.tee = tee;
    o.enclave = &tee_enclave_streams;
    o.allow_simulated = true;
    o.signature = sig;
    o.params = pv;
    o.nparams = 2;
    o.batch_events = 500;
    o.queue_bytes = queue_bytes ? queue_bytes : o.queue_bytes;
    o.batch_bytes = batch_bytes ? batch_bytes : o.batch_bytes;
    o.no_fuse = no_fuse;
    return ss_run(p, &o, s, err);
}

/* ---- oracles on the CSV ---- */

struct row {
    char carrier[8];
    int month, day;
    bool has_delay;
    long delay;
};

static struct row *read_rows(size_t *n)
{
    FILE *f = fopen(flights, "r");
    assert_non_null(f);
    struct row *rows = calloc(ROWS, sizeof *rows);
    char line[1024], *fields[40];
    size_t lens[40];
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    *n = 0;
    while (*n < ROWS && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        assert_int_equal(ss_csv_split(line, ',', fields, lens, 40), 29);
        struct row *r = &rows[(*n)++];
        snprintf(r->carrier, sizeof r->carrier, "%.*s", (int)lens[8], fields[8]);
        r->month = atoi(fields[1]);
        r->day = atoi(fields[2]);
        char *end;
        fields[14][lens[14]] = 0;
        r->delay = strtol(fields[14], &end, 10);
        r->has_delay = end != fields[14] && *end == 0;
    }
    fclose(f);
    return rows;
}

/* The index of name in carriers[0..*nc), added when new. */
static size_t carrier(const char **carriers, size_t *nc, const char *name)
{
    size_t c = 0;
    while (c < *nc && strcmp(carriers[c], name) != 0)
        c++;
    if (c == *nc)
        carriers[(*nc)++] = name;
    return c;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of text (after its first line when header) into a new string; frees text. */
static char *sorted(char *text, bool header)
{
    char *lines[20000], *save = NULL;
    size_t n = 0;
    for (char *l = strtok_r(text, "\n", &save); l && n < 20000; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    size_t skip = header ? 1 : 0;
    qsort(lines + skip, n - skip, sizeof *lines, cmp_str);
    char *out = calloc(1, 1 << 22);
    for (size_t i = 0; i < n; i++)
        strcat(strcat(out, lines[i]), "\n");
    free(text);
    return out;
}

static char *flights_oracle(void)
{
    size_t n;
    struct row *rows = read_rows(&n);
    const char *carriers[64];
    long count[64] = {0}, sum[64] = {0};
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].has_delay || rows[i].delay <= 0)
            continue;
        size_t c = carrier(carriers, &nc, rows[i].carrier);
        count[c]++;
        sum[c] += rows[i].delay;
    }
    char *out = calloc(1, 1 << 16), line[128];
    char *lines[64];
    for (size_t c = 0; c < nc; c++) {
        snprintf(line, sizeof line, "%s,%ld,%.6f", carriers[c], count[c],
                 (double)sum[c] / (double)count[c]);
        lines[c] = strdup(line);
    }
    qsort(lines, nc, sizeof *lines, cmp_str);
    strcat(out, "carrier,late_flights,avg_delay\n");
    for (size_t c = 0; c < nc; c++) {
        strcat(strcat(out, lines[c]), "\n");
        free(lines[c]);
    }
    free(rows);
    return out;
}

static void flights_in(enum ss_tee tee)
{
    char lua[4200];
    snprintf(lua, sizeof lua, "%s/examples/streams/flights.lua", CLOISTER_SOURCE_DIR);
    struct ss_stats s;
    struct cloister_err err = {0};
    char *want = flights_oracle();
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(lua, 1 << 20, &text, &len), 0);
    char p[4200];
    path(p, sizeof p, "flights.lua");
    assert_int_equal(file_write_atomic(p, text, len, 0644), 0);
    free(text);
    /* fused: the plain map, key_by and map join the secure filter and reduce in one enclave
     * (the sink stays plain); unfused (sim only, to save time): five runs of stages, two of
     * them enclaves */
    for (int unfused = 0; unfused < (tee == SS_TEE_SIM ? 2 : 1); unfused++) {
        no_fuse = unfused;
        if (run("flights.lua", tee, "delays.csv", &s, &err) != 0)
            fail_msg("%s", err.msg);
        no_fuse = false;
        char *got = read_text("delays.csv");
        assert_string_equal(got, want);
        assert_int_equal(s.events_in, ROWS);
        assert_int_equal(s.secure_stages, 2);
        assert_int_equal(s.enclaves, tee == SS_TEE_NONE ? 0 : unfused ? 2 : 1);
        assert_int_equal(s.nparts, unfused ? 7 : 4);
        assert_string_equal(s.part[1].name, unfused ? "1-map" : "1-5-map-map-secure");
        assert_int_equal(s.refused, 0);
        free(got);
    }
    free(want);
}

static void test_flights_none(void **state)
{
    flights_in(SS_TEE_NONE);
}

static void test_flights_sim(void **state)
{
    flights_in(SS_TEE_SIM);
}

static void test_flights_proc(void **state)
{
    flights_in(SS_TEE_PROC);
}

/* Tumbling count windows of 50 flights per carrier (sum of the known delays, the remainder
 * flushed at the end), and tumbling event-time windows of 7 days of the month per carrier (a
 * lateness beyond the month, so no event is late): secure windows, plain sink. */
static const char WINDOWS[] =
    "return pipeline('win')\n"
    "  :source(csv(param.input))\n"
    "  :map(function(r) return { c = r.UniqueCarrier, d = math.tointeger(tonumber(r.ArrDelay)) or "
    "0,"
    " t = math.tointeger(tonumber(r.DayofMonth)) } end)\n"
    "  :key_by(function(r) return r.c end)\n"
    "  :window(secure({ size = 50 }))\n"
    "  :map(function(w) local s = 0 for _, e in ipairs(w.value.items) do s = s + e.d end\n"
    "         return { k = w.key, start = w.value.start, n = #w.value.items, sum = s } end)\n"
    "  :sink(csv_out(param.output, { columns = { 'k', 'start', 'n', 'sum' } }))\n";
static const char TIME_WINDOWS[] =
    "return pipeline('tw')\n"
    "  :source(csv(param.input))\n"
    "  :map(function(r) return { c = r.UniqueCarrier, t = tonumber(r.DayofMonth) // 1 } end)\n"
    "  :key_by(function(r) return r.c end)\n"
    "  :window(secure({ size = 7, time = 't', lateness = 40 }))\n"
    "  :map(function(w) return { k = w.key, start = w.value.start, n = #w.value.items } end)\n"
    "  :sink(csv_out(param.output, { columns = { 'k', 'start', 'n' } }))\n";

static char *count_windows_oracle(void)
{
    size_t n;
    struct row *rows = read_rows(&n);
    char *out = calloc(1, 1 << 22), line[128];
    strcat(out, "k,start,n,sum\n");
    const char *carriers[64];
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
        carrier(carriers, &nc, rows[i].carrier);
    for (size_t c = 0; c < nc; c++) {
        long k = 0, sum = 0, start = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(rows[i].carrier, carriers[c]) != 0)
                continue;
            sum += rows[i].has_delay ? rows[i].delay : 0;
            if (++k % 50 == 0) {
                snprintf(line, sizeof line, "%s,%ld,50,%ld\n", carriers[c], start, sum);
                strcat(out, line);
                start = k;
                sum = 0;
            }
        }
        if (k % 50) {
            snprintf(line, sizeof line, "%s,%ld,%ld,%ld\n", carriers[c], start, k % 50, sum);
            strcat(out, line);
        }
    }
    free(rows);
    return out;
}

static char *time_windows_oracle(void)
{
    size_t n;
    struct row *rows = read_rows(&n);
    char *out = calloc(1, 1 << 20), line[128];
    strcat(out, "k,start,n\n");
    const char *carriers[64];
    long count[64][5] = {{0}};
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = carrier(carriers, &nc, rows[i].carrier);
        count[c][rows[i].day / 7]++;
    }
    for (size_t c = 0; c < nc; c++)
        for (int w = 0; w < 5; w++)
            if (count[c][w]) {
                snprintf(line, sizeof line, "%s,%d,%ld\n", carriers[c], 7 * w, count[c][w]);
                strcat(out, line);
            }
    free(rows);
    return out;
}

static void windows_in(enum ss_tee tee)
{
    struct ss_stats s;
    struct cloister_err err = {0};
    write_file("win.lua", WINDOWS);
    write_file("tw.lua", TIME_WINDOWS);
    if (run("win.lua", tee, "win.csv", &s, &err) != 0)
        fail_msg("%s", err.msg);
    char *want = sorted(count_windows_oracle(), true), *got = sorted(read_text("win.csv"), true);
    assert_string_equal(got, want);
    free(want);
    free(got);
    if (run("tw.lua", tee, "tw.csv", &s, &err) != 0)
        fail_msg("%s", err.msg);
    want = sorted(time_windows_oracle(), true);
    got = sorted(read_text("tw.csv"), true);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

static void test_windows_none(void **state)
{
    windows_in(SS_TEE_NONE);
}

static void test_windows_sim(void **state)
{
    windows_in(SS_TEE_SIM);
}

/* ---- the sealed batch protocol, against the runner the enclave runs ---- */

static void seal_batch(crypto_aead *a, const uint8_t hash[32], uint32_t stage, uint64_t seq,
                       struct wire_writer *out)
{
    struct wire_writer ev, pt;
    wire_writer_init(&ev);
    wire_writer_init(&pt);
    tlua_put_array(&ev, 1);
    tlua_put_str(&ev, "x", 1);
    struct ss_batch b = {.events = ev.buf, .events_len = ev.len};
    ss_batch_encode(&b, &pt);
    struct ss_edge e = {.stage = stage, .seq = seq};
    memcpy(e.hash, hash, 32);
    assert_int_equal(ss_seal(a, &e, pt.buf, pt.len, out), 0);
    wire_writer_free(&ev);
    wire_writer_free(&pt);
}

static int send(void *r, const uint8_t *c, size_t len)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    struct cloister_err err;
    int rc = ss_inproc_worker.call(r, SS_CALL_RUN, c, len, &out, &outlen, &err);
    free(out);
    return rc;
}

static void test_tampered_and_replayed(void **state)
{
    const char *lua = "return pipeline('p'):source(lines('-'))"
                      ":map(secure(function(x) return x .. '!' end)):sink(stdout())\n";
    uint8_t key[32], hash[32], *out = NULL;
    size_t outlen = 0;
    assert_int_equal(crypto_random(key, sizeof key), 0);
    struct wire_writer cfg, load;
    wire_writer_init(&cfg);
    wire_writer_init(&load);
    wire_put_str(&cfg, "p.lua");
    wire_put_bytes(&cfg, lua, strlen(lua));
    wire_put_varint(&cfg, 0);
    wire_put_bytes(&load, cfg.buf, cfg.len);
    wire_put_u32(&load, 1);
    wire_put_u32(&load, 1);
    crypto_sha256(hash, cfg.buf, cfg.len);
    void *r = ss_inproc_worker.open(key);
    struct cloister_err err;
    assert_int_equal(
        ss_inproc_worker.call(r, SS_CALL_LOAD, load.buf, load.len, &out, &outlen, &err), 0);
    assert_memory_equal(out, hash, 32);
    free(out);
    /* a plain request to a secure runner is refused */
    assert_int_equal(
        ss_inproc_worker.call(r, SS_CALL_RUN_PLAIN, load.buf, load.len, &out, &outlen, &err),
        CLOISTER_E_DENIED);
    crypto_aead *a = crypto_aead_new(CRYPTO_AES256_GCM, key);
    struct wire_writer b0, b1, wrong;
    wire_writer_init(&b0);
    wire_writer_init(&b1);
    wire_writer_init(&wrong);
    seal_batch(a, hash, 1, 0, &b0);
    seal_batch(a, hash, 1, 1, &b1);
    seal_batch(a, hash, 2, 1, &wrong);
    assert_int_equal(send(r, b1.buf, b1.len), CLOISTER_E_DENIED); /* reordered */
    assert_int_equal(send(r, b0.buf, b0.len), 0);
    assert_int_equal(send(r, b0.buf, b0.len), CLOISTER_E_DENIED);       /* replayed */
    assert_int_equal(send(r, wrong.buf, wrong.len), CLOISTER_E_DENIED); /* misaddressed */
    b1.buf[b1.len - 20] ^= 1;
    assert_int_equal(send(r, b1.buf, b1.len), CLOISTER_E_DENIED); /* tampered */
    assert_int_equal(send(r, b1.buf, 10), CLOISTER_E_DENIED);     /* truncated */
    b1.buf[b1.len - 20] ^= 1;
    assert_int_equal(send(r, b1.buf, b1.len), 0); /* the next one still opens */
    assert_int_equal(ss_inproc_worker.call(r, SS_CALL_STATS, NULL, 0, &out, &outlen, &err), 0);
    struct wire_reader rd;
    wire_reader_init(&rd, out, outlen);
    assert_int_equal(wire_get_u64(&rd), 2); /* batches */
    assert_int_equal(wire_get_u64(&rd), 5); /* refused */
    free(out);
    ss_inproc_worker.close(r);
    crypto_aead_free(a);
    wire_writer_free(&b0);
    wire_writer_free(&b1);
    wire_writer_free(&wrong);
    wire_writer_free(&cfg);
    wire_writer_free(&load);
}

/* ---- malformed pipelines, failing callbacks, escapes ---- */

static void expect_failure(const char *lua, enum ss_tee tee, const char *msg)
{
    struct ss_stats s;
    struct cloister_err err = {0};
    write_file("bad.lua", lua);
    assert_int_not_equal(run("bad.lua", tee, "bad.out", &s, &err), 0);
    if (!strstr(err.msg, msg))
        fail_msg("expected '%s' in: %s", msg, err.msg);
}

static void test_malformed(void **state)
{
    expect_failure("return pipeline('p'):source(lines('-')):map(", SS_TEE_NONE,
                   "bad.lua:1: unexpected symbol");
    expect_failure("local p = pipeline('p'):source(lines('-'))\np:map(5):sink(stdout())",
                   SS_TEE_NONE, "bad.lua:2: map expects a function, got number");
    expect_failure("return pipeline('p'):source(lines('-')):map(function(x) return x end)",
                   SS_TEE_NONE, "pipeline p has no sink");
    expect_failure("return pipeline('p'):source(lines('-')):key_by(function(x) return x end)"
                   ":map(function(x) return x end):sink(stdout())",
                   SS_TEE_NONE, "key_by must be followed by reduce, scan or window");
    expect_failure("return pipeline('p'):source(lines('-')):window({ size = 0 }):sink(stdout())",
                   SS_TEE_NONE, "window: size must be a positive integer");
    expect_failure("x = 1", SS_TEE_NONE, "describes no pipeline");
    expect_failure("return pipeline('p'):source(csv(param.input, { columns = { 'Nope' } }))"
                   ":sink(stdout())",
                   SS_TEE_NONE, "CSV header: no column 'Nope'");
    expect_failure("return pipeline('p'):source(csv(param.input)):map(function(r)\n"
                   "  return r.nothing.here end):sink(stdout())",
                   SS_TEE_SIM, "stage 1 (map): bad.lua:2: attempt to index a nil value");
}

static void test_skip_policy(void **state)
{
    struct ss_stats s;
    struct cloister_err err = {0};
    write_file("skip.lua",
               "return pipeline('s'):policy('skip'):source(csv(param.input))\n"
               ":filter(secure(function(r) if r.Month == '1' then error('bad month') end "
               "return true end))\n"
               ":reduce(function(n, r) return n + 1 end, function() return 0 end)\n"
               ":sink(csv_out(param.output, { columns = {}, header = false }))\n");
    /* csv_out needs columns: the pipeline is refused before it runs */
    assert_int_not_equal(run("skip.lua", SS_TEE_SIM, "skip.out", &s, &err), 0);
    write_file("skip.lua", "return pipeline('s'):policy('skip'):source(csv(param.input))\n"
                           ":filter(secure(function(r) if r.Month == '1' then error('bad month') "
                           "end return true end))\n"
                           ":reduce(function(n, r) return n + 1 end, function() return 0 end)\n"
                           ":sink(jsonl_out(param.output))\n");
    if (run("skip.lua", SS_TEE_SIM, "skip.out", &s, &err) != 0)
        fail_msg("%s", err.msg);
    size_t n;
    struct row *rows = read_rows(&n);
    uint64_t january = 0;
    for (size_t i = 0; i < n; i++)
        january += rows[i].month == 1;
    free(rows);
    assert_true(january > 0);
    assert_int_equal(s.skipped, january);
    assert_non_null(strstr(s.first_error, "stage 1 (filter): skip.lua:2: bad month"));
}

static void test_escapes(void **state)
{
    static const char *const escapes[] = {"os.execute('true')", "io.open('/etc/passwd')",
                                          "require('os')",      "load(string.dump(print))",
                                          "debug.getinfo(1)",   "loadfile('/etc/passwd')"};
    for (size_t i = 0; i < sizeof escapes / sizeof *escapes; i++) {
        char lua[512];
        snprintf(lua, sizeof lua,
                 "return pipeline('e'):source(csv(param.input))\n"
                 ":map(secure(function(r) return %s end)):sink(stdout())\n",
                 escapes[i]);
        expect_failure(lua, SS_TEE_SIM, "stage 1 (map): bad.lua:2:");
    }
}

/* A slow last stage (the sink's) with small queues: the source waits, no queue grows past its
 * bound by more than one batch, and the result is still complete. */
static void test_slow_sink_bounded(void **state)
{
    struct ss_stats s;
    struct cloister_err err = {0};
    write_file("slow.lua", "return pipeline('slow'):source(csv(param.input))\n"
                           ":filter(secure(function(r) return true end))\n"
                           ":map(function(r) local x = 0 for i = 1, 3000 do x = x + i end "
                           "return r.UniqueCarrier end)\n"
                           ":sink(jsonl_out(param.output))\n");
    queue_bytes = 32 << 10;
    batch_bytes = 8 << 10;
    int rc = run("slow.lua", SS_TEE_SIM, "slow.out", &s, &err);
    queue_bytes = batch_bytes = 0;
    if (rc != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(s.events_out, ROWS);
    assert_true(s.batches > 20);
    print_message("queue peak %llu bytes\n", (unsigned long long)s.queue_peak);
    assert_true(s.queue_peak <= (32 << 10) + 2 * (8 << 10) + 4096);
}

/* The verbs through the real binary: gen, run with parameters and --json, and usage errors. */
static void test_cli(void **state)
{
    cli_spill_text(dir, "wc.lua",
                   "return pipeline('wc'):source(stdin())\n"
                   ":flat_map(function(l) local t = {} for w in l:gmatch('%S+') do t[#t + 1] = w "
                   "end return t end)\n"
                   ":key_by(function(w) return w end)\n"
                   ":reduce(secure(function(n, w) return n + 1 end), function() return 0 end)\n"
                   ":map(function(kv) return kv.key .. ' ' .. kv.value .. ' ' .. param.tag end)\n"
                   ":sink(stdout())\n");
    cli_spill_text(dir, "in.txt", "b a\na b a\n");
    assert_int_equal(
        cli_run(dir, "streams run wc.lua --tee none --param tag=x --json <in.txt >out.txt"), 0);
    char *out = cli_slurp(dir, "out.txt", NULL);
    assert_non_null(strstr(out, "a 3 x\nb 2 x\n{"));
    assert_non_null(strstr(out, "\"events_in\": 2"));
    free(out);
    assert_int_equal(cli_run(dir, "streams gen flights --rows 10 --out g.csv"), 0);
    char *g = cli_slurp(dir, "g.csv", NULL);
    size_t lines = 0;
    for (char *p = g; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 11);
    free(g);
    assert_int_equal(cli_run(dir, "streams run wc.lua --param oops"), 1);
    cli_assert_error_line(dir, "--param: expected NAME=VALUE, got 'oops'");
    assert_int_equal(cli_run(dir, "streams gen trains --out t.csv"), 1);
    assert_int_equal(cli_run(dir, "streams run"), 2);
}

static int setup(void **state)
{
    const char *h = getenv("CLOISTER_HOME");
    assert_non_null(h);
    assert_int_equal(file_remove_tree(h), 0);
    snprintf(dir, sizeof dir, "%s/ss", h);
    assert_int_equal(file_mkdirs(dir, 0700), 0);
    char image[4200];
    snprintf(image, sizeof image, "%s/enclaves/streams.enclave", CLOISTER_BINARY_DIR);
    path(sig, sizeof sig, "streams-test.sig");
    path(flights, sizeof flights, "flights.csv");
    uint8_t seed[32], pk[32], r[8];
    struct cloister_err err;
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    if (ss_sign_image(image, seed, sig, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(crypto_random(r, sizeof r), 0);
    uint64_t s;
    memcpy(&s, r, sizeof s);
    print_message("seed %llu\n", (unsigned long long)s);
    if (ss_gen_flights(flights, ROWS, 2008, s, &err) != 0)
        fail_msg("%s", err.msg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flights_none), cmocka_unit_test(test_flights_sim),
        cmocka_unit_test(test_flights_proc), cmocka_unit_test(test_windows_none),
        cmocka_unit_test(test_windows_sim),  cmocka_unit_test(test_tampered_and_replayed),
        cmocka_unit_test(test_malformed),    cmocka_unit_test(test_skip_policy),
        cmocka_unit_test(test_escapes),      cmocka_unit_test(test_slow_sink_bounded),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
