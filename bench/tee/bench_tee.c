/* bench_tee.c -- the cost of crossing the enclave boundary, per backend and waiting mode.
 *
 *   roundtrip:  one ecall, 64 bytes in and 64 out, timed one by one (p50 and p99) for
 *               sim (in-process), proc with a spinning worker on the other core, and proc
 *               blocking (futex at once) on the same core and across cores; beside it the
 *               baseline of an in-process call with the same two 64-byte copies, measured in
 *               the same run, and the published SGX SDK ecall cost (HotCalls, ISCA'17:
 *               8,200-17,000 cycles) converted with this machine's TSC frequency.
 *   throughput: batches of 1, 16 and 256 such ecalls per crossing, in messages per second.
 *
 * CSV on stdout: kind,variant,batch,p50_us,p99_us,msgs_per_s; the round trips (ours, the
 * baseline, the published figures) come first, then the throughput rows. The platform and
 * signature live in a temporary CLOISTER_HOME that is removed at the end. */
#include <cloister/crypto.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_enclave.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(bench);

#define SAMPLES 20000
#define WARMUP 2000

struct variant {
    const char *name;
    enum tee_backend backend;
    enum tee_wait wait;
    int enclave_cpu; /* the host runs on CPU 0 */
    bool cross_core;
};

static const struct variant variants[] = {
    {"sim", TEE_BACKEND_SIM, TEE_WAIT_SPIN, TEE_CPU_ANY, false},
    {"proc_spin_cross_core", TEE_BACKEND_PROC, TEE_WAIT_SPIN, 1, true},
    {"proc_block_same_core", TEE_BACKEND_PROC, TEE_WAIT_BLOCK, 0, false},
    {"proc_block_cross_core", TEE_BACKEND_PROC, TEE_WAIT_BLOCK, 1, true},
};

static char home[] = "/tmp/cloister-bench-XXXXXX";
static char image[4096], sig[4200];

__attribute__((noreturn)) static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_tee: %s: %s\n", what, why);
    file_remove_tree(home);
    exit(1);
}

/* A fresh signer signs the bench image into the temporary home. */
static void sign_image(void)
{
    struct cloister_err err = {0};
    if (!mkdtemp(home))
        die(home, strerror(errno));
    if (tee_image_path("bench", image, sizeof image, &err) != CLOISTER_OK)
        die("bench.enclave", err.msg);
    snprintf(sig, sizeof sig, "%s/bench.enclave.sig", home);
    uint8_t pk[32], seed[32];
    struct tee_config cfg;
    tee_config_default(&cfg);
    if (crypto_ed25519_keypair(pk, seed) != 0 || tee_sign_file(image, &cfg, seed, sig, &err) != 0)
        die("signing", err.msg);
    crypto_wipe(seed, sizeof seed);
}

static void pin_host(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static tee_enclave *create(const struct variant *v)
{
    struct tee_options o;
    tee_options_init(&o);
    o.backend = v->backend;
    o.wait = v->wait;
    o.enclave_cpu = v->enclave_cpu;
    o.image = image;
    o.signature = sig;
    o.home = home;
    o.enclave = &tee_enclave_bench;
    tee_enclave *e;
    struct cloister_err err;
    if (tee_create(&o, &e, &err) != CLOISTER_OK)
        die(v->name, err.msg);
    return e;
}

static double cycles_to_us(uint64_t cycles)
{
    return (double)cycles / bench_tsc_ghz() / 1e3;
}

static void print_latency(const char *kind, const char *variant, double *us, size_t n)
{
    double p50 = bench_quantile(us, n, 0.5), p99 = bench_quantile(us, n, 0.99);
    printf("%s,%s,1,%.4f,%.4f,0\n", kind, variant, p50, p99);
    fflush(stdout);
}

static void roundtrip(const struct variant *v, tee_enclave *e, double *us)
{
    uint8_t in[64], *out;
    size_t outlen;
    struct cloister_err err = {0};
    memset(in, 0x5a, sizeof in);
    for (int i = 0; i < WARMUP + SAMPLES; i++) {
        uint64_t c0 = bench_cycles();
        int rc = tee_ecall(e, BENCH_ECALL_ECHO, in, sizeof in, &out, &outlen, &err);
        uint64_t c1 = bench_cycles();
        if (rc != CLOISTER_OK || outlen != sizeof in)
            die(v->name, err.msg);
        free(out);
        if (i >= WARMUP)
            us[i - WARMUP] = cycles_to_us(c1 - c0);
    }
    print_latency("roundtrip", v->name, us, SAMPLES);
}

/* The baseline: an in-process call through a pointer with the same two 64-byte copies. */
static uint8_t private_in[64], private_out[64];

__attribute__((noinline)) static void plain_call(const uint8_t *in, uint8_t *out)
{
    memcpy(private_in, in, 64);
    memcpy(private_out, private_in, 64);
    memcpy(out, private_out, 64);
}

static void (*volatile plain)(const uint8_t *, uint8_t *) = plain_call;

static void baseline(double *us)
{
    uint8_t in[64] = {1}, out[64];
    for (int i = 0; i < WARMUP + SAMPLES; i++) {
        uint64_t c0 = bench_cycles();
        plain(in, out);
        uint64_t c1 = bench_cycles();
        if (i >= WARMUP)
            us[i - WARMUP] = cycles_to_us(c1 - c0);
    }
    print_latency("roundtrip", "baseline_inprocess_call", us, SAMPLES);
}

struct batch_run {
    tee_enclave *e;
    struct tee_call *calls;
    size_t n;
};

static void run_batches(void *arg, uint64_t iters)
{
    struct batch_run *b = arg;
    struct cloister_err err = {0};
    for (uint64_t i = 0; i < iters; i++) {
        if (tee_ecall_batch(b->e, b->calls, b->n, &err) != CLOISTER_OK || b->calls[b->n - 1].status)
            die("batch", err.msg);
        tee_calls_free(b->calls, b->n);
    }
}

/* Throughput rows, printed after all the round trips. */
static char rows[16][128];
static size_t nrows;

static void throughput(const struct variant *v, tee_enclave *e)
{
    static const size_t sizes[] = {1, 16, 256};
    static uint8_t in[64];
    for (size_t k = 0; k < 3 && nrows < 16; k++) {
        struct tee_call calls[256];
        for (size_t i = 0; i < sizes[k]; i++)
            calls[i] = (struct tee_call){.number = BENCH_ECALL_ECHO, .in = in, .inlen = 64};
        struct batch_run b = {e, calls, sizes[k]};
        double ns = bench_ns_per_op(run_batches, &b, 0.3);
        snprintf(rows[nrows++], sizeof rows[0], "throughput,%s,%zu,0,0,%.0f", v->name, sizes[k],
                 (double)sizes[k] * 1e9 / ns);
    }
}

int main(int argc, char **argv)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double ghz = bench_tsc_ghz();
    sign_image();
    pin_host();
    double *us = malloc(SAMPLES * sizeof *us);
    printf("kind,variant,batch,p50_us,p99_us,msgs_per_s\n");
    baseline(us);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const struct variant *v = &variants[i];
        if (v->cross_core && cpus < 2) {
            fprintf(stderr, "bench_tee: %s skipped: one CPU\n", v->name);
            continue;
        }
        tee_enclave *e = create(v);
        roundtrip(v, e, us);
        if (strcmp(v->name, "proc_block_cross_core") != 0)
            throughput(v, e);
        tee_destroy(e);
    }
    /* Published: an SGX SDK ecall, on this machine's clock. */
    printf("published,sgx_sdk_ecall_8200_cycles,1,%.4f,%.4f,0\n", 8200 / ghz / 1e3,
           8200 / ghz / 1e3);
    printf("published,sgx_sdk_ecall_17000_cycles,1,%.4f,%.4f,0\n", 17000 / ghz / 1e3,
           17000 / ghz / 1e3);
    for (size_t i = 0; i < nrows; i++)
        printf("%s\n", rows[i]);
    fprintf(stderr,
            "bench_tee: TSC %.2f GHz; SGX SDK ecall (HotCalls, ISCA'17) 8,200-17,000 cycles = "
            "%.2f-%.2f us here.\nbench_tee: targets: sim <= 0.1 us; proc spinning <= 1 us p50; "
            "proc blocking same core <= 10 us.\n",
            ghz, 8200 / ghz / 1e3, 17000 / ghz / 1e3);
    free(us);
    file_remove_tree(home);
    return 0;
}
