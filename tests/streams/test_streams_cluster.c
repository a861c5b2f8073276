/* test_streams_cluster.c -- the flights pipeline (examples/streams/flights.lua) run distributed
 * through the binary (`streams run --distributed`, every segment a `streams stage` process in a
 * simulated enclave, provisioned over a nats-server started here) gives the embedded run's
 * output: with one replica per segment line for line, with two the same rows; and the reduce
 * stage killed -9 after a checkpoint, mid-stream (the source is a FIFO this test feeds in two
 * halves around the kill), is started again, resumes from its checkpoint, and the output is still
 * exactly the embedded run's (no event lost, none counted twice). Skipped without nats-server. */
#include <cloister/crypto.h>
#include <cloister/streams.h>

#include "bus/bus.h"
#include "common/cli_run.h"
#include "streams/common/ss_stats.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define ROWS 20000

static char dir[4096], home[4200];
static struct bus_server *srv;
static pid_t runner;     /* the killed run's launcher, stopped by teardown if a check failed */
static pid_t by_hand[3]; /* --external: the stage processes this test started */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The options of a distributed run (home, then the server's URL). */
#define DIST_OPTS "--tee sim --allow-simulated --signature sig --home %s --distributed --nats %s"

static void assert_same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = cli_slurp(dir, a, &la), *y = cli_slurp(dir, b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, la);
    free(x);
    free(y);
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file's text with its lines after the header sorted. */
static char *sorted(const char *name)
{
    size_t len = 0, n = 0;
    char *text = cli_slurp(dir, name, &len), *save = NULL;
    char **lines = calloc(len + 1, sizeof *lines), *out = calloc(1, len + 2);
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    assert_true(n > 1);
    qsort(lines + 1, n - 1, sizeof *lines, cmp_lines);
    for (size_t i = 0; i < n; i++) {
        strcat(out, lines[i]);
        strcat(out, "\n");
    }
    free(lines);
    free(text);
    return out;
}

/* The last snapshot each part of the run published (ss.stats.flights.PART) must have come, the
 * stage processes' included, with their counts and a latency measured from the launcher's
 * source (the batches carry their ingress time across processes). */
static void assert_live_stats(struct bus_sub *sub)
{
    static const char *const parts[] = {"source", "sink", "2-filter-secure-r0",
                                        "4-reduce-secure-r0"};
    bool seen[4] = {false}, timed[4] = {true, false, false, false};
    uint8_t *d = NULL;
    size_t len = 0;
    struct cloister_err err = {0};
    while (bus_sub_next(sub, 1000, NULL, 0, &d, &len, &err) == 0 && d) {
        struct ss_stage_stats s;
        assert_int_equal(ss_stage_stats_decode(&s, d, len, &err), 0);
        free(d);
        for (size_t i = 0; i < 4; i++) {
            if (strcmp(s.stage, parts[i]) != 0)
                continue;
            timed[i] = timed[i] || s.p99_us > 0; /* over an interval that saw batches */
            seen[i] = seen[i] || s.final;
            assert_true(!s.final || s.events_in > 0);
        }
    }
    for (size_t i = 0; i < 4; i++)
        if (!seen[i] || !timed[i])
            fail_msg("no final statistics or no latency from %s", parts[i]);
}

static void test_one_replica(void **state)
{
    if (!srv)
        skip();
    struct cloister_err err = {0};
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    struct bus_sub *sub = bus_subscribe(b, "ss.stats.flights.>", &err);
    assert_non_null(sub);
    assert_int_equal(cli_run(dir,
                             "streams run flights.lua --param input=f.csv --param output=d1.csv "
                             "--json " DIST_OPTS,
                             home, bus_server_url(srv)),
                     0);
    assert_same_file("emb.csv", "d1.csv");
    assert_live_stats(sub);
    bus_sub_close(sub);
    bus_close(b);
    char *json = cli_slurp(dir, "out.txt", NULL);
    assert_non_null(strstr(json, "\"stage_processes\": 5"));
    assert_non_null(strstr(json, "\"enclaves\": 5"));
    assert_non_null(strstr(json, "\"refused\": 0"));
    free(json);
}

static void test_two_replicas(void **state)
{
    if (!srv)
        skip();
    assert_int_equal(cli_run(dir,
                             "streams run flights.lua --param input=f.csv --param output=d2.csv "
                             "--json --replicas 2 " DIST_OPTS,
                             home, bus_server_url(srv)),
                     0);
    char *a = sorted("emb.csv"), *b = sorted("d2.csv");
    assert_string_equal(a, b);
    free(a);
    free(b);
    char *json = cli_slurp(dir, "out.txt", NULL);
    assert_non_null(strstr(json, "\"stage_processes\": 10"));
    free(json);
}

/* Distributed, from a JetStream stream to another: the launcher reads the one and writes the
 * other (events in order with one replica, then the end mark), acked through the stages. */
static void test_jetstream_io(void **state)
{
    if (!srv)
        skip();
    struct cloister_err err = {0};
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    struct bus_stream_config in = {.name = "WIN",
                                   .subject = "win.>",
                                   .retention = BUS_LIMITS,
                                   .max_bytes = 1 << 20,
                                   .max_msg_size = 4096};
    struct bus_stream_config out = in;
    out.name = "WOUT";
    out.subject = "wout.>";
    assert_int_equal(bus_stream_ensure(b, &in, &err), 0);
    assert_int_equal(bus_stream_ensure(b, &out, &err), 0);
    for (const char *w = "abc"; *w; w++)
        assert_int_equal(bus_publish(b, "win.w", NULL, 0, w, 1, NULL, NULL, &err), 0);
    struct bus_sub *sub = bus_subscribe(b, "wout.up", &err);
    assert_non_null(sub);
    cli_spill_text(
        dir, "up.lua",
        "return pipeline('up'):source(jetstream('WIN'))\n"
        ":map(secure(function(w) return w:upper() end)):sink(jetstream_out('wout.up'))\n");
    assert_int_equal(cli_run(dir, "streams run up.lua " DIST_OPTS, home, bus_server_url(srv)), 0);
    const char *want[] = {"A", "B", "C", ""};
    for (size_t i = 0; i < 4; i++) {
        uint8_t *d = NULL;
        size_t len = 0;
        assert_int_equal(bus_sub_next(sub, 5000, NULL, 0, &d, &len, &err), 0);
        assert_non_null(d);
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(d, want[i], len);
        free(d);
    }
    struct bus_stream_stats st;
    assert_int_equal(bus_stream_stats(b, "WOUT", &st, &err), 0);
    assert_int_equal(st.msgs, 4);
    bus_sub_close(sub);
    bus_close(b);
}

/* Starts `sh -c CMD` (printf-style) in the background: its pid. */
static pid_t start_sh(const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits up to 20 s for `needle` in the file, then the text that follows it on its line. */
static void wait_line(const char *file, const char *needle, char *rest, size_t cap)
{
    for (int i = 0; i < 400; i++) {
        char *text = cli_slurp(dir, file, NULL), *at = strstr(text, needle);
        if (at)
            snprintf(rest, cap, "%.*s", (int)strcspn(at + strlen(needle), "\n"),
                     at + strlen(needle));
        free(text);
        if (at)
            return;
        sleep_ms(50);
    }
    fail_msg("no '%s' in %s", needle, file);
}

static void wait_checkpoint(const char *run, unsigned seg);
static int open_fifo(const char *path);
static void write_all(int fd, const char *p, size_t n);

/* Publishes a forged batch (a header-sized run of random bytes) where the launcher's sink
 * reads the last of nseg segments: it must refuse and count it, and go on. */
static void tamper_sink(const char *run, unsigned nseg)
{
    struct cloister_err err = {0};
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    char subject[160];
    uint8_t junk[200];
    snprintf(subject, sizeof subject, "ssd.%s.%u.0", run, nseg);
    assert_int_equal(crypto_random(junk, sizeof junk), 0);
    if (bus_publish(b, subject, NULL, 0, junk, sizeof junk, NULL, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    bus_close(b);
}

#define STAGE_OPTS "--tee sim --signature sig --home %s --nats %s --param input=x.fifo"

/* --external: the stages are started by hand; the secure one, killed -9 after a checkpoint
 * mid-stream and started again by hand, gets the seat the launcher offered meanwhile and
 * resumes: every line comes out once, in order. */
static void test_external_restart(void **state)
{
    if (!srv)
        skip();
    enum { LINES = 4000 };
    char fifo[4200], *text = calloc(LINES, 8), *want = calloc(LINES, 12), run[128];
    size_t tl = 0, wl = 0;
    for (int i = 0; i < LINES; i++) {
        tl += (size_t)sprintf(text + tl, "w%d\n", i);
        wl += (size_t)sprintf(want + wl, "\"W%d\"\n", i);
    }
    snprintf(fifo, sizeof fifo, "%s/x.fifo", dir);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    cli_spill_text(dir, "x.lua",
                   "return pipeline('x'):source(lines(param.input))\n"
                   ":map(secure(function(l) return l:upper() end)):sink(jsonl_out('x.jsonl'))\n");
    cli_spill_text(dir, "x.err", "");
    runner = start_sh("cd %s && exec %s streams run x.lua --param input=x.fifo --json "
                      "--checkpoint-ms 50 --external " DIST_OPTS " >x.json 2>x.err",
                      dir, CLOISTER_BIN, home, bus_server_url(srv));
    wait_line("x.err", "run ", run, sizeof run);
    assert_non_null(strstr(run, ": waiting for 2 stage process(es) started by hand"));
    run[strcspn(run, ":")] = '\0';
    const char *stages[3] = {"1-map-secure", "2-sink", "1-map-secure"};
    for (int i = 0; i < 2; i++)
        by_hand[i] = start_sh(
            "cd %s && exec %s streams stage --pipeline x.lua --stage %s " STAGE_OPTS " 2>x%d.err",
            dir, CLOISTER_BIN, stages[i], home, bus_server_url(srv), i);
    int fd = open_fifo(fifo);
    write_all(fd, text, tl / 2);
    wait_checkpoint(run, 0);
    tamper_sink(run, 2);
    assert_int_equal(kill(by_hand[0], SIGKILL), 0);
    assert_int_equal(waitpid(by_hand[0], NULL, 0), by_hand[0]);
    by_hand[0] = 0;
    by_hand[2] = start_sh("cd %s && exec %s streams stage --pipeline x.lua --stage %s " STAGE_OPTS
                          " 2>x2.err",
                          dir, CLOISTER_BIN, stages[2], home, bus_server_url(srv));
    write_all(fd, text + tl / 2, tl - tl / 2);
    close(fd);
    int status = 0;
    assert_int_equal(waitpid(runner, &status, 0), runner);
    runner = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the run failed: %s", cli_slurp(dir, "x.err", NULL));
    for (int i = 1; i < 3; i++) {
        assert_int_equal(waitpid(by_hand[i], &status, 0), by_hand[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        by_hand[i] = 0;
    }
    char *err = cli_slurp(dir, "x2.err", NULL), *json = cli_slurp(dir, "x.json", NULL);
    assert_non_null(strstr(err, "resumed from its checkpoint"));
    assert_non_null(strstr(json, "\"restarts\": 1"));
    assert_non_null(strstr(json, "\"refused\": 1")); /* the forged batch: the run went on */
    size_t len = 0;
    char *got = cli_slurp(dir, "x.jsonl", &len);
    assert_int_equal(len, wl);
    assert_memory_equal(got, want, wl);
    free(got);
    free(err);
    free(json);
    free(text);
    free(want);
}

/* Waits up to 20 s for the launcher to say which run it is and the reduce replica's pid. */
static void wait_pid(char run[17], int *pid)
{
    for (int i = 0; i < 400; i++) {
        char *err = cli_slurp(dir, "k.err", NULL);
        char *l = strstr(err, "stage 4-reduce-secure replica 0: pid ");
        while (l && l > err && l[-1] != '\n')
            l--;
        bool found = l && sscanf(l, "run %16[0-9a-f]: stage 4-reduce-secure replica 0: pid %d", run,
                                 pid) == 2;
        free(err);
        if (found)
            return;
        sleep_ms(50);
    }
    fail_msg("the reduce stage never started");
}

/* Waits up to 20 s for the first checkpoint of segment seg's replica 0 in the run's bucket. */
static void wait_checkpoint(const char *run, unsigned seg)
{
    struct cloister_err err = {0};
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    char bucket[64], key[64];
    snprintf(bucket, sizeof bucket, "ssck-%s", run);
    snprintf(key, sizeof key, "%s.s%u.0", run, seg);
    struct bus_kv *kv = bus_kv_open(b, bucket, 1 << 30, 32 << 20, &err);
    assert_non_null(kv);
    uint8_t *v = NULL;
    size_t len = 0;
    for (int i = 0; i < 400 && bus_kv_get(kv, key, &v, &len, NULL, &err) != 0; i++)
        sleep_ms(50);
    assert_non_null(v);
    free(v);
    bus_kv_close(kv);
    bus_close(b);
}

/* Opens the FIFO for writing once the run reads it (20 s at most). */
static int open_fifo(const char *path)
{
    for (int i = 0; i < 400; i++) {
        int fd = open(path,
                      O_WRONLY | O_NONBLOCK | O_CLOEXEC); /* no stage started by hand holds it */
        if (fd >= 0) {
            fcntl(fd, F_SETFL, 0);
            return fd;
        }
        assert_int_equal(errno, ENXIO);
        sleep_ms(50);
    }
    fail_msg("the run never opened its source");
    return -1;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static void test_kill_reduce(void **state)
{
    if (!srv)
        skip();
    char fifo[4200], cmd[16384];
    snprintf(fifo, sizeof fifo, "%s/in.fifo", dir);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && exec %s streams run flights.lua --param input=in.fifo --param output=k.csv "
             "--json --checkpoint-ms 50 " DIST_OPTS " >k.json 2>k.err",
             dir, CLOISTER_BIN, home, bus_server_url(srv));
    cli_spill_text(dir, "k.err", "");
    int held[2]; /* not close-on-exec: the launcher inherits it, its stages must not */
    assert_int_equal(pipe(held), 0);
    pid_t run = runner = fork();
    assert_true(run >= 0);
    if (run == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    size_t len = 0;
    char *csv = cli_slurp(dir, "f.csv", &len), *half = csv;
    for (int i = 0; i <= ROWS / 2; i++)
        half = strchr(half, '\n') + 1;
    int fd = open_fifo(fifo);
    write_all(fd, csv, (size_t)(half - csv));
    char id[17];
    int pid = 0;
    wait_pid(id, &pid);
    char fd_path[64], ours[64] = "", theirs[64] = "";
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", held[1]);
    assert_true(readlink(fd_path, ours, sizeof ours - 1) > 0);
    snprintf(fd_path, sizeof fd_path, "/proc/%d/fd/%d", pid, held[1]);
    if (readlink(fd_path, theirs, sizeof theirs - 1) > 0)
        assert_string_not_equal(ours, theirs);
    close(held[0]);
    close(held[1]);
    wait_checkpoint(id, 3);
    assert_int_equal(kill(pid, SIGKILL), 0);
    write_all(fd, half, len - (size_t)(half - csv));
    close(fd);
    free(csv);
    int status = 0;
    assert_int_equal(waitpid(run, &status, 0), run);
    runner = 0;
    char *err = cli_slurp(dir, "k.err", NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the run failed: %s", err);
    assert_non_null(strstr(err, "stage 4-reduce-secure replica 0 killed (signal 9): restarting"));
    assert_non_null(strstr(err, "replica 0 of run"));
    assert_non_null(strstr(err, "resumed from its checkpoint"));
    free(err);
    char *json = cli_slurp(dir, "k.json", NULL);
    assert_non_null(strstr(json, "\"restarts\": 1"));
    free(json);
    assert_same_file("emb.csv", "k.csv");
}

static int setup(void **state)
{
    const char *h = getenv("CLOISTER_HOME");
    assert_non_null(h);
    assert_int_equal(file_remove_tree(h), 0);
    snprintf(dir, sizeof dir, "%s/ssc", h);
    snprintf(home, sizeof home, "%s/home", dir);
    assert_int_equal(file_mkdirs(home, 0700), 0);
    char image[4200], sig[4200], f[4200], nats[4200];
    snprintf(image, sizeof image, "%s/enclaves/streams.enclave", CLOISTER_BINARY_DIR);
    snprintf(sig, sizeof sig, "%s/sig", dir);
    snprintf(f, sizeof f, "%s/f.csv", dir);
    snprintf(nats, sizeof nats, "%s/nats", dir);
    uint8_t seed[32], pk[32], r[8];
    struct cloister_err err = {0};
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    if (ss_sign_image(image, seed, sig, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(crypto_random(r, sizeof r), 0);
    uint64_t s;
    memcpy(&s, r, sizeof s);
    print_message("seed %llu\n", (unsigned long long)s);
    if (ss_gen_flights(f, ROWS, 2008, s, &err) != 0)
        fail_msg("%s", err.msg);
    size_t len = 0;
    char lua[4200];
    snprintf(lua, sizeof lua, "%s/examples/streams", CLOISTER_SOURCE_DIR);
    char *text = cli_slurp(lua, "flights.lua", &len);
    cli_spill(dir, "flights.lua", text, len);
    free(text);
    assert_int_equal(cli_run(dir, "streams run flights.lua --param input=f.csv --param "
                                  "output=emb.csv --tee none"),
                     0);
    assert_int_equal(file_mkdirs(nats, 0700), 0);
    if (!(srv = bus_server_start(nats, &err)))
        fprintf(stderr, "test_streams_cluster: %s\n", err.msg);
    return srv || err.code == CLOISTER_E_NOT_FOUND ? 0 : -1;
}

static int teardown(void **state)
{
    if (runner > 0 && kill(runner, SIGKILL) == 0)
        waitpid(runner, NULL, 0);
    for (int i = 0; i < 3; i++)
        if (by_hand[i] > 0 && kill(by_hand[i], SIGKILL) == 0)
            waitpid(by_hand[i], NULL, 0);
    bus_server_stop(srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_replica), cmocka_unit_test(test_two_replicas),
        cmocka_unit_test(test_jetstream_io), cmocka_unit_test(test_kill_reduce),
        cmocka_unit_test(test_external_restart)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
