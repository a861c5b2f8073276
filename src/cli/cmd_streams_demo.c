/* cmd_streams_demo.c -- the SecureStreams step of `cloister demo`: the paper's flights pipeline
 * (examples/streams/flights.lua, compiled in) over 100,000 generated flights, its filter and
 * per-carrier reduce in simulated enclaves, and the average delay per carrier; then the same
 * pipeline distributed over a local nats-server (when installed), every segment a stage process,
 * with the source a FIFO fed in two halves: between them the reduce stage is killed -9; the run
 * starts it again, it resumes from its checkpoint, and the output is the embedded run's. */
#include <cloister/crypto.h>
#include <cloister/streams.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_streams.h"
#include "util/fileio.h"

extern const unsigned char cli_streams_flights[];
TEE_ENCLAVE_DECLARE(streams);

#define KILLED_STAGE "4-reduce-secure"

/* Feeds the FIFO: the first half of the CSV, then (once the reduce stage runs and had time to
 * checkpoint) kills it and feeds the rest. */
struct feeder {
    const char *fifo;
    const uint8_t *data;
    size_t len, half;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long pid, killed;
    _Atomic bool done; /* the run returned: stop waiting for it */
};

static void on_stage(void *arg, const char *stage, unsigned replica, long pid)
{
    struct feeder *f = arg;
    if (strcmp(stage, KILLED_STAGE) != 0 || replica != 0)
        return;
    pthread_mutex_lock(&f->mu);
    if (!f->pid)
        f->pid = pid;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Both runs: simulated enclaves from the signed image, params input and output (pv). */
static void demo_options(struct ss_options *o, const char *dir, const char *sig, const char **pv)
{
    ss_options_init(o);
    o->tee = SS_TEE_SIM;
    o->enclave = &tee_enclave_streams;
    o->allow_simulated = true;
    o->signature = sig;
    o->home = dir;
    o->params = pv;
    o->nparams = 2;
}

static void *feed_main(void *arg)
{
    struct feeder *f = arg;
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE); /* a run that failed closed the FIFO: write says so */
    pthread_sigmask(SIG_BLOCK, &sigpipe, NULL);
    int fd = -1;
    while (fd < 0 && !f->done) {
        if ((fd = open(f->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
            nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    if (fd < 0 || fcntl(fd, F_SETFL, 0) != 0 || !write_all(fd, f->data, f->half)) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&f->mu);
    while (!f->pid && !f->done && pthread_cond_timedwait(&f->cv, &f->mu, &until) != ETIMEDOUT)
        ;
    long pid = f->pid;
    pthread_mutex_unlock(&f->mu);
    nanosleep(&(struct timespec){1, 0}, NULL); /* the stage checkpoints every 100 ms */
    if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
        f->killed = pid;
    write_all(fd, f->data + f->half, f->len - f->half);
    close(fd);
    return NULL;
}

/* The flights pipeline distributed over a local nats-server, its reduce killed mid-stream. */
static int demo_distributed(const char *dir, const char *lua, const char *input, const char *sig,
                            const char *expected)
{
    cli_demo_heading("SecureStreams: the same pipeline over NATS, a stage killed -9 and resumed");
    char fifo[128], output[128], exe[4096];
    snprintf(fifo, sizeof fifo, "%s/live.csv", dir);
    snprintf(output, sizeof output, "%s/delays-nats.csv", dir);
    struct cloister_err err = {0};
    const char *why, *nats = cli_demo_nats(&why);
    if (!nats) {
        printf("  skipped: %s\n", why);
        return CLI_OK;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct feeder f = {.fifo = fifo,
                       .mu = PTHREAD_MUTEX_INITIALIZER,
                       .cv = PTHREAD_COND_INITIALIZER};
    int rc = CLI_OK;
    if (n <= 0 || (size_t)n >= sizeof exe - 1 || mkfifo(fifo, 0600) != 0 ||
        file_read_all(input, 1 << 30, (uint8_t **)&f.data, &f.len) != 0)
        rc = cli_fail("cannot prepare the distributed run");
    exe[n > 0 ? n : 0] = '\0';
    const uint8_t *mid = f.data ? memchr(f.data + f.len / 2, '\n', f.len - f.len / 2) : NULL;
    f.half = mid ? (size_t)(mid - f.data) + 1 : f.len;
    const char *pv[4] = {"input", fifo, "output", output};
    struct ss_options o;
    demo_options(&o, dir, sig, pv);
    o.nats = nats;
    o.distributed = true;
    o.stage_exe = exe;
    o.ckpt_ms = 100;
    o.on_stage = on_stage;
    o.on_stage_arg = &f;
    struct ss_stats s;
    pthread_t feeder;
    if (rc == CLI_OK && pthread_create(&feeder, NULL, feed_main, &f) != 0)
        rc = cli_fail("cannot start the feeder");
    if (rc == CLI_OK) {
        printf("the source is a FIFO fed in two halves; between them the reduce stage is "
               "killed -9\n");
        fflush(stdout);
        if (ss_run(lua, &o, &s, &err) != 0)
            rc = cli_fail("%s", err.msg);
        f.done = true;
        pthread_mutex_lock(&f.mu);
        pthread_cond_signal(&f.cv);
        pthread_mutex_unlock(&f.mu);
        pthread_join(feeder, NULL);
    }
    uint8_t *got = NULL;
    size_t len = 0;
    bool same = rc == CLI_OK && file_read_all(output, 1 << 20, &got, &len) == 0 &&
                len == strlen(expected) && memcmp(got, expected, len) == 0;
    if (rc == CLI_OK)
        printf("  %u stage processes on %s; stage %s (pid %ld) killed, restarted %u time(s); "
               "output %s the embedded run's\n",
               s.stage_processes, o.nats, KILLED_STAGE, f.killed, s.restarts,
               same ? "identical to" : "DIFFERENT FROM");
    free(got);
    free((void *)f.data);
    if (rc == CLI_OK && (!same || !f.killed || s.restarts != 1))
        rc = cli_fail("streams demo: the distributed run differs");
    return rc;
}

int cli_streams_demo(void)
{
    cli_demo_heading("SecureStreams: the flights pipeline with secure stages");
    char dir[] = "/tmp/cloister-streams-XXXXXX", input[64], output[64], lua[64], sig[64],
         image[4096];
    uint8_t seed[32];
    if (!mkdtemp(dir))
        return cli_fail("cannot make a temporary directory");
    snprintf(input, sizeof input, "%s/2008.csv", dir);
    snprintf(output, sizeof output, "%s/delays.csv", dir);
    snprintf(lua, sizeof lua, "%s/flights.lua", dir);
    snprintf(sig, sizeof sig, "%s/streams.enclave.sig", dir);
    struct cloister_err err = {0};
    int rc = CLI_OK;
    if (ss_gen_flights(input, 100000, 2008, 1, &err) != 0 ||
        file_write_atomic(lua, cli_streams_flights, strlen((const char *)cli_streams_flights),
                          0644) != 0)
        rc = cli_fail("%s", err.msg[0] ? err.msg : "cannot write the demo's files");
    if (rc == CLI_OK && (crypto_random(seed, sizeof seed) != 0 ||
                         tee_image_path("streams", image, sizeof image, &err) != 0 ||
                         ss_sign_image(image, seed, sig, &err) != 0))
        rc = cli_fail("cannot sign the stage image: %s", err.msg);
    crypto_wipe(seed, sizeof seed);
    const char *pv[4] = {"input", input, "output", output};
    struct ss_options o;
    demo_options(&o, dir, sig, pv);
    struct ss_stats s;
    printf("100,000 generated 2008 flights; filter and per-carrier reduce in simulated enclaves\n");
    if (rc == CLI_OK && ss_run(lua, &o, &s, &err) != 0)
        rc = cli_fail("%s", err.msg);
    uint8_t *text = NULL;
    size_t len = 0;
    if (rc == CLI_OK && file_read_all(output, 1 << 20, &text, &len) == 0)
        fwrite(text, 1, len, stdout);
    if (rc == CLI_OK)
        cli_streams_print(&s, false);
    if (rc == CLI_OK && text)
        rc = demo_distributed(dir, lua, input, sig, (const char *)text);
    free(text);
    file_remove_tree(dir);
    return rc;
}
