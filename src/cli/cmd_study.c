/* cmd_study.c -- `cloister study memory-protection`: what memory protection costs here, in time
 * and energy, from micro-benchmarks to applications (after Göttel et al., SRDS 2018).
 *
 * The same memory kernels (src/study/enclave/study_mem.c) run in four configurations: native
 * (this process, malloc'd memory), sim (the in-process enclave), proc (the sandboxed-process
 * enclave) and proc_epc (proc whose EPC budget is below the largest working sets, so that the
 * emulator pages encrypted memory). Each measurement calibrates its operation count until it
 * lasts --ms, and records wall time, CPU time (ours and the enclave process's), EPC faults and,
 * where RAPL is readable, package and DRAM energy. Nothing is estimated: a counter that cannot
 * be read is written NA and the summary says so. Then the applications (MapReduce word count,
 * the SecureStreams flights pipeline, IBBE group creation) run in the configurations their
 * libraries offer.
 *
 * Output in --out: memory-protection.csv (one row per measurement), memory-protection.png
 * (gnuplot), summary.txt (features detected, findings beside the paper's). The helpers that
 * `cloister reproduce` shares (machine, meters, gnuplot) are at the end. */
#include <cloister/crypto.h>
#include <cloister/epc.h>
#include <cloister/ibbe_admin.h>
#include <cloister/mapreduce.h>
#include <cloister/streams.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_study.h"
#include "study/enclave/study_mem.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(study);
TEE_ENCLAVE_DECLARE(mapreduce);
TEE_ENCLAVE_DECLARE(streams);
TEE_ENCLAVE_DECLARE(ibbe);
extern const unsigned char cli_mr_wordcount[], cli_streams_flights[];

#define MIB ((size_t)1 << 20)
#define CSV_HEADER                                                                                 \
    "config,bench,working_set_bytes,ops,seconds,ns_per_op,faults_per_op,cpu_seconds,pkg_joules,"   \
    "dram_joules,pkg_nj_per_op\n"

enum study_kind { K_NATIVE, K_SIM, K_PROC, K_PROC_EPC, K_KINDS };
static const char *const kind_names[K_KINDS] = {"native", "sim", "proc", "proc_epc"};

/* One configuration while it runs: an enclave (or none, native) and its current working set. */
struct runner {
    enum study_kind kind;
    tee_enclave *e;
    int pid; /* the enclave process (proc), else 0 */
    uint64_t *buf;
    size_t words;
    struct study_cursor cursor;
};

struct study {
    const char *out, *tmp;
    size_t budget, max_ws;
    double seconds;
    unsigned app_mib;
    bool quick;
    FILE *csv;
    struct cli_progress prog;
    size_t done;
    /* findings for the summary: rand_read ns at the smallest and largest working sets */
    double small_ns[K_KINDS], large_ns[K_KINDS];
};

/* ---- one operation, timed ---------------------------------------------------------------- */

typedef int (*op_fn)(struct runner *r, int arg, uint64_t n);

/* One ecall with the writer's bytes as input (freed), or none (w NULL). */
static int call(struct runner *r, uint32_t number, struct wire_writer *w)
{
    uint8_t *out = NULL;
    size_t len = 0;
    struct cloister_err err = {0};
    int rc = w ? tee_ecall_writer(r->e, number, w, &out, &len, &err)
               : tee_ecall(r->e, number, NULL, 0, &out, &len, &err);
    free(out);
    return rc == 0 ? 0 : cli_fail("%s enclave: %s", kind_names[r->kind], err.msg);
}

static int op_mem(struct runner *r, int pattern, uint64_t n)
{
    if (!r->e) {
        volatile uint64_t sink = study_mem_run(r->buf, r->words, (enum study_pattern)pattern, n,
                                               &r->cursor);
        (void)sink;
        return 0;
    }
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_u8(&w, (uint8_t)pattern);
    wire_put_u64(&w, n);
    return call(r, STUDY_ECALL_MEM, &w);
}

static void native_nothing(void)
{
}
static void (*volatile native_call)(void) = native_nothing;

static int op_echo(struct runner *r, int arg, uint64_t n)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        if (!r->e)
            native_call();
        else if (call(r, STUDY_ECALL_ECHO, NULL) != 0)
            return -1;
    }
    return 0;
}

static int op_alloc(struct runner *r, int bytes, uint64_t n)
{
    if (r->e) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_u32(&w, (uint32_t)bytes);
        wire_put_u64(&w, n);
        return call(r, STUDY_ECALL_ALLOC, &w);
    }
    for (uint64_t i = 0; i < n; i++) {
        volatile uint8_t *p = malloc((size_t)bytes);
        if (!p)
            return cli_fail("out of memory");
        p[0] = (uint8_t)i;
        free((void *)p);
    }
    return 0;
}

/* AES-256-GCM seal and open of one 4 KiB page, what the EPC pager pays per fault besides the
 * mapping; native only (the crypto is the same code everywhere). */
static int op_gcm(struct runner *r, int arg, uint64_t n)
{
    (void)r;
    (void)arg;
    static uint8_t page[4096], sealed[4096 + 16], back[4096];
    uint8_t key[32] = {1}, nonce[CRYPTO_AEAD_NONCE_LEN] = {0}; /* protects nothing: timing only */
    crypto_aead *a = crypto_aead_new(CRYPTO_AES256_GCM, key);
    int rc = a ? 0 : -1;
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        memcpy(nonce, &i, sizeof i);
        rc = crypto_aead_ctx_seal(a, nonce, &i, sizeof i, page, sizeof page, sealed);
        if (rc == 0)
            rc = crypto_aead_ctx_open(a, nonce, &i, sizeof i, sealed, sizeof sealed, back);
    }
    crypto_aead_free(a);
    return rc == 0 ? 0 : cli_fail("AES-256-GCM failed");
}

static double faults_of(struct runner *r)
{
    struct epc_stats s;
    if (!r->e || tee_epc_stats(r->e, &s, NULL) != 0)
        return 0;
    return (double)s.faults;
}

static void put_num(FILE *f, double v, const char *fmt)
{
    if (v < 0 || isnan(v))
        fputs(",NA", f);
    else
        fprintf(f, fmt, v);
}

/* One timed run of n operations: the meters before (a) and after (b), the EPC faults it took. */
static int timed(struct runner *r, op_fn fn, int arg, uint64_t n, struct study_meter *a,
                 struct study_meter *b, double *faults)
{
    double f0 = faults_of(r);
    study_meter_read(a, r->pid);
    if (fn(r, arg, n) != 0)
        return CLI_FAIL;
    study_meter_read(b, r->pid);
    *faults = faults_of(r) - f0;
    return CLI_OK;
}

/* Grows n until one run of fn lasts st->seconds, then keeps the fastest of three runs of that
 * size (a run that lost its core to another process is not the cost of the operation), and
 * writes its row. */
static int measure(struct study *st, struct runner *r, const char *bench, op_fn fn, int arg,
                   size_t ws, double *ns_out)
{
    uint64_t n = 64;
    struct study_meter a, b, a2, b2;
    double faults, faults2;
    for (;;) {
        if (timed(r, fn, arg, n, &a, &b, &faults) != CLI_OK)
            return CLI_FAIL;
        double t = b.wall_s - a.wall_s;
        if (t >= st->seconds || n >= ((uint64_t)1 << 40))
            break;
        double grow = t > 0 ? st->seconds / t * 1.2 : 16;
        n = (uint64_t)((double)n * (grow < 2 ? 2 : grow > 16 ? 16 : grow));
    }
    for (int k = 0; k < 2; k++) {
        if (timed(r, fn, arg, n, &a2, &b2, &faults2) != CLI_OK)
            return CLI_FAIL;
        if (b2.wall_s - a2.wall_s < b.wall_s - a.wall_s) {
            a = a2;
            b = b2;
            faults = faults2;
        }
    }
    double t = b.wall_s - a.wall_s, ns = t * 1e9 / (double)n;
    double pkg = a.pkg_j >= 0 && b.pkg_j >= 0 ? b.pkg_j - a.pkg_j : -1;
    double dram = a.dram_j >= 0 && b.dram_j >= 0 ? b.dram_j - a.dram_j : -1;
    fprintf(st->csv, "%s,%s,%zu,%llu,%.6f,%.3f", kind_names[r->kind], bench, ws,
            (unsigned long long)n, t, ns);
    fprintf(st->csv, ",%.6f,%.4f", faults / (double)n, b.cpu_s - a.cpu_s);
    put_num(st->csv, pkg, ",%.4f");
    put_num(st->csv, dram, ",%.4f");
    put_num(st->csv, pkg < 0 ? -1 : pkg * 1e9 / (double)n, ",%.3f");
    fputc('\n', st->csv);
    fflush(st->csv);
    if (ns_out)
        *ns_out = ns;
    cli_progress_step(&st->prog, ++st->done);
    return CLI_OK;
}

/* ---- the configurations ----------------------------------------------------------------- */

static int runner_start(struct study *st, enum study_kind kind, struct runner *r)
{
    *r = (struct runner){.kind = kind};
    if (kind == K_NATIVE)
        return CLI_OK;
    char image[4096], sig[4200];
    uint8_t seed[32], pk[32];
    struct cloister_err err = {0};
    snprintf(sig, sizeof sig, "%s/study-%s.sig", st->tmp, kind_names[kind]);
    uint64_t heap = st->max_ws + st->max_ws / 8 + 16 * MIB;
    uint64_t budget = kind == K_PROC_EPC ? st->budget : UINT64_MAX;
    int rc = tee_image_path("study", image, sizeof image, &err) == 0 &&
                     crypto_ed25519_keypair(pk, seed) == 0 &&
                     tee_sign_file_sized(image, heap, budget, seed, sig, &err) == 0
                 ? 0
                 : -1;
    crypto_wipe(seed, sizeof seed);
    if (rc != 0)
        return cli_fail("cannot sign the study enclave: %s", err.msg);
    struct tee_options o;
    tee_options_init(&o);
    o.backend = kind == K_SIM ? TEE_BACKEND_SIM : TEE_BACKEND_PROC;
    o.image = image;
    o.signature = sig;
    o.enclave = &tee_enclave_study;
    if (tee_create(&o, &r->e, &err) != 0)
        return cli_fail("cannot start the %s enclave: %s", kind_names[kind], err.msg);
    struct tee_info info;
    if (tee_get_info(r->e, &info) == 0)
        r->pid = info.pid;
    return CLI_OK;
}

static void runner_stop(struct runner *r)
{
    tee_destroy(r->e);
    free(r->buf);
    *r = (struct runner){0};
}

static int runner_prepare(struct runner *r, size_t ws)
{
    if (r->e) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_u64(&w, ws);
        return call(r, STUDY_ECALL_PREPARE, &w);
    }
    free(r->buf);
    if (!(r->buf = malloc(ws)))
        return cli_fail("cannot allocate %zu MiB", ws / MIB);
    memset(r->buf, 0x5a, ws);
    r->words = ws / 8;
    study_cursor_init(&r->cursor);
    return CLI_OK;
}

/* 1 MiB, doubling, up to 4x the budget (the last point exactly 4x). */
static size_t working_sets(const struct study *st, size_t *ws, size_t cap)
{
    size_t n = 0;
    for (size_t s = MIB; s < st->max_ws && n + 1 < cap; s *= 2)
        ws[n++] = s;
    ws[n++] = st->max_ws;
    return n;
}

/* The sweeps: every working set prepared once and swept in the four patterns; each pattern's rows
 * are held apart and written in a block, so that a series is contiguous in the CSV (a line in
 * the plot). */
static int run_sweeps(struct study *st, enum study_kind kind, struct runner *r)
{
    size_t ws[40], nws = working_sets(st, ws, 40), len[STUDY_PATTERNS] = {0};
    char *text[STUDY_PATTERNS] = {0};
    FILE *mem[STUDY_PATTERNS] = {0}, *csv = st->csv;
    int rc = CLI_OK;
    for (int p = 0; p < STUDY_PATTERNS; p++)
        if (!(mem[p] = open_memstream(&text[p], &len[p])))
            rc = cli_fail("out of memory");
    for (size_t i = 0; rc == CLI_OK && i < nws; i++) {
        rc = runner_prepare(r, ws[i]);
        for (int p = 0; rc == CLI_OK && p < STUDY_PATTERNS; p++) {
            double ns;
            st->csv = mem[p];
            rc = measure(st, r, study_pattern_name((enum study_pattern)p), op_mem, p, ws[i], &ns);
            if (p == STUDY_RAND_READ && i == 0)
                st->small_ns[kind] = ns;
            if (p == STUDY_RAND_READ && i == nws - 1)
                st->large_ns[kind] = ns;
        }
    }
    st->csv = csv;
    for (int p = 0; p < STUDY_PATTERNS; p++) {
        if (mem[p])
            fclose(mem[p]);
        if (text[p])
            fwrite(text[p], 1, len[p], csv);
        free(text[p]);
    }
    return rc;
}

static int run_config(struct study *st, enum study_kind kind)
{
    struct runner r;
    int rc = runner_start(st, kind, &r);
    if (rc == CLI_OK)
        rc = run_sweeps(st, kind, &r);
    if (rc == CLI_OK)
        rc = measure(st, &r, "transition", op_echo, 0, 0, NULL);
    if (rc == CLI_OK)
        rc = measure(st, &r, "alloc_4k", op_alloc, 4096, 0, NULL);
    if (rc == CLI_OK && kind == K_NATIVE)
        rc = measure(st, &r, "aes_gcm_page", op_gcm, 0, 4096, NULL);
    runner_stop(&r);
    return rc;
}

/* ---- applications -------------------------------------------------------------------------- */

/* One application run as one row: ops are its input bytes (MapReduce) or rows (streams). */
static void app_row(struct study *st, enum study_kind kind, const char *bench, uint64_t ops,
                    const struct study_meter *a, const struct study_meter *b)
{
    double t = b->wall_s - a->wall_s;
    double pkg = a->pkg_j >= 0 ? b->pkg_j - a->pkg_j : -1;
    fprintf(st->csv, "%s,%s,%llu,%llu,%.6f,%.3f,0,%.4f", kind_names[kind], bench,
            (unsigned long long)ops, (unsigned long long)ops, t, t * 1e9 / (double)ops,
            b->cpu_s - a->cpu_s);
    put_num(st->csv, pkg, ",%.4f");
    put_num(st->csv, a->dram_j >= 0 ? b->dram_j - a->dram_j : -1, ",%.4f");
    put_num(st->csv, pkg < 0 ? -1 : pkg * 1e9 / (double)ops, ",%.3f");
    fputc('\n', st->csv);
    fflush(st->csv);
    cli_progress_step(&st->prog, ++st->done);
}

/* The workers' EPC budget in proc_epc: the study's, but at least 8 MiB (bench_mapreduce's small
 * budget): below it a Lua worker does little but page. */
static uint64_t app_budget(const struct study *st)
{
    return st->budget > 8 * MIB ? st->budget : 8 * MIB;
}

static int app_wordcount(struct study *st, enum study_kind kind, const char *corpus)
{
    char job[4200], out[4200], sig[4200], image[4096];
    snprintf(job, sizeof job, "%s/wordcount.lua", st->tmp);
    snprintf(out, sizeof out, "%s/wc-%s", st->tmp, kind_names[kind]);
    snprintf(sig, sizeof sig, "%s/mapreduce-%s.sig", st->tmp, kind_names[kind]);
    struct cloister_err err = {0};
    uint8_t seed[32], pk[32];
    const char *text = (const char *)cli_mr_wordcount;
    int rc = file_write_atomic(job, text, strlen(text), 0600) == 0 &&
                     tee_image_path("mapreduce", image, sizeof image, &err) == 0 &&
                     crypto_ed25519_keypair(pk, seed) == 0 &&
                     mr_sign_image(image, seed, kind == K_PROC_EPC ? app_budget(st) : 0, 0, sig,
                                   &err) == 0
                 ? 0
                 : -1;
    crypto_wipe(seed, sizeof seed);
    if (rc != 0)
        return cli_fail("mapreduce: %s", err.msg[0] ? err.msg : "cannot write the job");
    struct mr_options o;
    mr_options_init(&o);
    const char *inputs[] = {corpus};
    o.job = job;
    o.inputs = inputs;
    o.ninputs = 1;
    o.output = out;
    o.workers = 2;
    o.reducers = 2;
    o.tee = kind == K_NATIVE ? MR_TEE_NONE : kind == K_SIM ? MR_TEE_SIM : MR_TEE_PROC;
    o.allow_simulated = true;
    o.home = st->tmp;
    o.signature = sig;
    o.enclave = &tee_enclave_mapreduce;
    o.inproc = &mr_inproc_worker;
    struct mr_summary s;
    struct study_meter a, b;
    study_meter_read(&a, 0);
    if (mr_run(&o, &s, &err) != 0)
        return cli_fail("mapreduce word count (%s): %s", kind_names[kind], err.msg);
    study_meter_read(&b, 0);
    app_row(st, kind, "app_mapreduce_wordcount", s.input_bytes, &a, &b);
    return CLI_OK;
}

static int app_streams(struct study *st, enum study_kind kind, const char *flights, const char *sig,
                       uint64_t rows)
{
    char lua[4200], out[4200];
    snprintf(lua, sizeof lua, "%s/flights.lua", st->tmp);
    snprintf(out, sizeof out, "%s/delays-%s.csv", st->tmp, kind_names[kind]);
    const char *text = (const char *)cli_streams_flights;
    if (file_write_atomic(lua, text, strlen(text), 0600) != 0)
        return cli_fail("%s: %s", lua, strerror(errno));
    const char *pv[4] = {"input", flights, "output", out};
    struct ss_options o;
    ss_options_init(&o);
    o.tee = kind == K_NATIVE ? SS_TEE_NONE : kind == K_SIM ? SS_TEE_SIM : SS_TEE_PROC;
    o.enclave = &tee_enclave_streams;
    o.inproc = &ss_inproc_worker;
    o.allow_simulated = true;
    o.signature = sig;
    o.home = st->tmp;
    o.params = pv;
    o.nparams = 2;
    struct ss_stats s;
    struct study_meter a, b;
    struct cloister_err err = {0};
    study_meter_read(&a, 0);
    if (ss_run(lua, &o, &s, &err) != 0)
        return cli_fail("streams flights (%s): %s", kind_names[kind], err.msg);
    study_meter_read(&b, 0);
    app_row(st, kind, "app_streams_flights", rows, &a, &b);
    return CLI_OK;
}

/* IBBE group creation by the admin enclave (ibbe_admin): setup with partitions of
 * STUDY_IBBE_PART, then one group of `members` identities, timed alone; ops = members. Only sim
 * and proc: the native path would call the enclave's code (src/ibbe/enclave) from the host. */
#define STUDY_IBBE_PART 64

static int app_ibbe(struct study *st, enum study_kind kind, size_t members)
{
    char store[4200];
    snprintf(store, sizeof store, "%s/ibbe-%s", st->tmp, kind_names[kind]);
    struct ibbe_admin_options o = {.backend = kind == K_SIM ? "sim" : "proc",
                                   .enclave = &tee_enclave_ibbe,
                                   .home = st->tmp};
    char **ids = calloc(members, sizeof *ids);
    ibbe_admin *a = NULL;
    struct cloister_err err = {0};
    int rc = ids && ibbe_admin_open(store, &o, &a, &err) == 0 &&
                     ibbe_admin_setup(a, STUDY_IBBE_PART, &err) == 0
                 ? 0
                 : -1;
    for (size_t i = 0; rc == 0 && i < members; i++) {
        char id[64];
        snprintf(id, sizeof id, "m%07zu@example.org", i);
        if (!(ids[i] = strdup(id)))
            rc = -1;
    }
    struct tee_info info = {0};
    if (rc == 0 && tee_get_info(ibbe_admin_enclave(a), &info) != 0)
        info.pid = 0;
    struct study_meter m0, m1;
    study_meter_read(&m0, info.pid);
    if (rc == 0 && ibbe_admin_create(a, "study", (const char *const *)ids, members, &err) != 0)
        rc = -1;
    study_meter_read(&m1, info.pid);
    if (rc == 0)
        app_row(st, kind, "app_ibbe_create", members, &m0, &m1);
    for (size_t i = 0; ids && i < members; i++)
        free(ids[i]);
    free(ids);
    ibbe_admin_close(a);
    return rc == 0 ? CLI_OK
                   : cli_fail("ibbe group creation (%s): %s", kind_names[kind],
                              err.msg[0] ? err.msg : strerror(errno));
}

/* MapReduce in every configuration (its image is signed with the budget for proc_epc);
 * SecureStreams in native, sim and proc (its signing takes no EPC budget). */
static int run_apps(struct study *st)
{
    char corpus[4200], flights[4200], sig[4200], image[4096];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", st->tmp);
    snprintf(flights, sizeof flights, "%s/flights.csv", st->tmp);
    snprintf(sig, sizeof sig, "%s/streams.sig", st->tmp);
    struct cloister_err err = {0};
    uint64_t rows = (uint64_t)st->app_mib * 10000;
    FILE *f = fopen(corpus, "w");
    int rc = f && mr_gen_text(f, (uint64_t)st->app_mib * MIB, 2026, &err) == 0 ? 0 : -1;
    if (f)
        fclose(f);
    uint8_t seed[32];
    if (rc == 0 && (ss_gen_flights(flights, rows, 2008, 1, &err) != 0 ||
                    crypto_random(seed, sizeof seed) != 0 ||
                    tee_image_path("streams", image, sizeof image, &err) != 0 ||
                    ss_sign_image(image, seed, sig, &err) != 0))
        rc = -1;
    crypto_wipe(seed, sizeof seed);
    if (rc != 0)
        return cli_fail("cannot prepare the applications' inputs: %s",
                        err.msg[0] ? err.msg : strerror(errno));
    for (int k = 0; rc == CLI_OK && k < K_KINDS; k++)
        rc = app_wordcount(st, (enum study_kind)k, corpus);
    for (int k = 0; rc == CLI_OK && k < K_PROC_EPC; k++)
        rc = app_streams(st, (enum study_kind)k, flights, sig, rows);
    for (int k = K_SIM; rc == CLI_OK && k < K_PROC_EPC; k++)
        rc = app_ibbe(st, (enum study_kind)k, (size_t)st->app_mib * 256);
    return rc;
}

/* ---- plot and summary ------------------------------------------------------------------------ */

static const char plot_script[] =
    "set datafile separator ','\n"
    "set datafile missing 'NA'\n"
    "set terminal png noenhanced size 1200,900 font ',9'\n"
    "set output png\n"
    "set multiplot layout 2,2 title title\n"
    "set logscale xy 2\n"
    "set xlabel 'working set (MiB)'\n"
    "set ylabel 'ns per access'\n"
    "set key top left\n"
    "sel(c,b) = (strcol(1) eq c && strcol(2) eq b) ? 1 : 0\n"
    "do for [b in 'seq_read seq_write rand_read rand_write'] {\n"
    "  set title b\n"
    "  plot for [c in 'native sim proc proc_epc'] csv using "
    "(sel(c,b) ? $3/1048576.0 : NaN):(sel(c,b) ? $6 : NaN) with linespoints title c\n"
    "}\n"
    "unset multiplot\n";

static void summary_line(FILE *f, const char *what, double ours, const char *paper)
{
    if (ours > 0)
        fprintf(f, "| %s | %.3g %% of native | %s |\n", what, ours, paper);
    else
        fprintf(f, "| %s | not measured | %s |\n", what, paper);
}

static int write_summary(struct study *st)
{
    char path[4200], features[2048], machine[512];
    snprintf(path, sizeof path, "%s/summary.txt", st->out);
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_fail("%s: %s", path, strerror(errno));
    study_detect_features(features, sizeof features);
    study_machine(machine, sizeof machine);
    fprintf(f, "memory-protection study%s: budget %.1f MiB, working sets 1 MiB .. %.1f MiB\n",
            st->quick ? " (quick: small sizes)" : "", (double)st->budget / (double)MIB,
            (double)st->max_ws / (double)MIB);
    fprintf(f, "machine: %s\nenergy: %s\n\nmemory-encryption features detected:\n%s\n", machine,
            study_energy_source(), features);
    fprintf(
        f, "None of these can be applied from user space: the configurations measured are "
           "native, sim, proc and proc_epc.\n\n"
           "| finding (random reads) | ours | paper (Göttel et al., SRDS 2018) |\n|---|---|---|\n");
    double *s = st->small_ns, *l = st->large_ns;
    summary_line(f, "proc, smallest working set", s[K_PROC] > 0 ? 100 * s[K_NATIVE] / s[K_PROC] : 0,
                 "native speed while data fits in cache (4 MiB)");
    summary_line(f, "proc_epc, 4x the budget",
                 l[K_PROC_EPC] > 0 ? 100 * l[K_NATIVE] / l[K_PROC_EPC] : 0,
                 "SGX below 5 % of native beyond the EPC");
    summary_line(f, "proc, largest working set", l[K_PROC] > 0 ? 100 * l[K_NATIVE] / l[K_PROC] : 0,
                 "SEV: no measurable overhead at 256 MiB (no SEV here)");
    fprintf(f, "\napplications measured: MapReduce word count (native, sim, proc, proc_epc), "
               "SecureStreams flights (native, sim, proc), IBBE group creation (sim, proc).\n"
               "not done: SCBR matching, X-Search proxy (their benchmarks: cloister "
               "reproduce).\n");
    fclose(f);
    return CLI_OK;
}

static int cmd_memory_protection(int argc, char **argv)
{
    const char *out = "study-results", *epc = NULL;
    long long ms = 0, app_mib = 0;
    bool quick = false, progress = false;
    const struct opt_def opts[] = {
        {"out", OPT_STRING, &out, "DIR",
         "where the CSV, PNG and summary go (default study-results)", 0, 0, 0},
        {"quick", OPT_FLAG, &quick, NULL, "small sizes: a 16 MiB budget, 50 ms per point", 0, 0, 0},
        {"epc", OPT_STRING, &epc, "MIB", "the EPC budget of proc_epc (default 93.5; quick 16)", 0,
         0, 0},
        {"ms", OPT_INT, &ms, "N", "milliseconds per measurement (default 200; quick 50)", 0, 1,
         60000},
        {"app-mib", OPT_INT, &app_mib, "N",
         "MiB of input for the applications (default 32; quick 4)", 0, 1, 4096},
        {"progress", OPT_FLAG, &progress, NULL, "report progress on stderr (default on a terminal)",
         0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "study memory-protection",
        "",
        "Measure what memory protection costs: native, sim, proc, proc with EPC paging.",
        opts,
        0,
        0,
        "Sequential and random reads and writes over working sets from 1 MiB to 4x the EPC\n"
        "budget, enclave transitions, allocation and the AES-GCM cost of a page, then MapReduce\n"
        "word count, the SecureStreams flights pipeline and IBBE group creation, each in the\n"
        "configurations its library offers. Wall and CPU time always; package and DRAM energy\n"
        "from RAPL where readable (else NA). Writes DIR/memory-protection.csv,\n"
        "DIR/memory-protection.png and DIR/summary.txt (features detected, findings beside the\n"
        "paper's).",
        "cloister study memory-protection --quick --out study\n"
        "cloister study memory-protection --epc 32 --ms 100\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct study st = {.out = out, .quick = quick};
    if (epc_parse_budget(epc     ? epc
                         : quick ? "16"
                                 : "93.5",
                         &st.budget) != 0 ||
        st.budget == EPC_BUDGET_UNLIMITED)
        return cli_fail("--epc: expected a budget in MiB, got '%s'", epc);
    st.max_ws = 4 * st.budget;
    st.seconds = (double)(ms ? ms : quick ? 50 : 200) / 1e3;
    st.app_mib = (unsigned)(app_mib ? app_mib : quick ? 4 : 32);
    char tmp[] = "/tmp/cloister-study-XXXXXX", csv[4200], png[4200];
    if (file_mkdirs(out, 0755) != 0 || !mkdtemp(tmp))
        return cli_fail("%s: %s", out, strerror(errno));
    st.tmp = tmp;
    snprintf(csv, sizeof csv, "%s/memory-protection.csv", out);
    if (!(st.csv = fopen(csv, "w"))) {
        file_remove_tree(tmp);
        return cli_fail("%s: %s", csv, strerror(errno));
    }
    fputs(CSV_HEADER, st.csv);
    size_t ws[40], nws = working_sets(&st, ws, 40);
    cli_progress_start(&st.prog, progress || isatty(2), "measurements",
                       K_KINDS * (nws * STUDY_PATTERNS + 2) + 1 + K_KINDS + K_PROC_EPC + 2);
    for (int k = 0; rc == CLI_OK && k < K_KINDS; k++)
        rc = run_config(&st, (enum study_kind)k);
    if (rc == CLI_OK)
        rc = run_apps(&st);
    cli_progress_end(&st.prog);
    fclose(st.csv);
    file_remove_tree(tmp);
    if (rc == CLI_OK)
        rc = write_summary(&st);
    snprintf(png, sizeof png, "%s/memory-protection.png", out);
    char pre[9000];
    snprintf(pre, sizeof pre, "csv = '%s'\npng = '%s'\ntitle = 'memory protection%s'\n", csv, png,
             quick ? " (quick: small sizes)" : "");
    if (rc == CLI_OK)
        rc = study_gnuplot(pre, plot_script);
    if (rc == CLI_OK)
        fprintf(stderr, "wrote %s, %s and %s/summary.txt\n", csv, png, out);
    return rc;
}

static const struct cli_command study_commands[] = {
    {"memory-protection", "time and energy of memory protection, micro to applications",
     cmd_memory_protection},
    {0}};

const struct cli_system cli_study_system = {
    "study", "measurement studies across the systems (memory protection)", study_commands, NULL};

/* ---- shared with `cloister reproduce` ------------------------------------------------------ */

static double cpu_of_pid(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, stime = 0;
    /* after ") ": state, then fields 4..13, utime (14) and stime (15) */
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2)
        return 0;
    return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* The energy counter named `want` ("package-0", "dram") under /sys/class/powercap, in joules,
 * or -1. */
static double rapl_joules(const char *want)
{
    char path[256], name[64];
    for (int i = 0; i < 4; i++)
        for (int j = -1; j < 4; j++) {
            if (j < 0)
                snprintf(path, sizeof path, "/sys/class/powercap/intel-rapl:%d", i);
            else
                snprintf(path, sizeof path, "/sys/class/powercap/intel-rapl:%d:%d", i, j);
            char file[300];
            snprintf(file, sizeof file, "%s/name", path);
            FILE *f = fopen(file, "r");
            bool match = f && fscanf(f, "%63s", name) == 1 &&
                         strncmp(name, want, strlen(want)) == 0;
            if (f)
                fclose(f);
            if (!match)
                continue;
            snprintf(file, sizeof file, "%s/energy_uj", path);
            unsigned long long uj;
            f = fopen(file, "r");
            match = f && fscanf(f, "%llu", &uj) == 1;
            if (f)
                fclose(f);
            return match ? (double)uj / 1e6 : -1;
        }
    return -1;
}

void study_meter_read(struct study_meter *m, int enclave_pid)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m->wall_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    m->cpu_s = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
                        kids.ru_stime.tv_sec) +
               (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
                        kids.ru_stime.tv_usec) /
                   1e6;
    if (enclave_pid > 0)
        m->cpu_s += cpu_of_pid(enclave_pid);
    m->pkg_j = rapl_joules("package");
    m->dram_j = rapl_joules("dram");
}

const char *study_energy_source(void)
{
    if (rapl_joules("package") >= 0)
        return "RAPL (/sys/class/powercap/intel-rapl), package and DRAM where present";
    if (access("/sys/class/powercap", F_OK) != 0)
        return "none: this machine exposes no /sys/class/powercap (no RAPL); CPU time is given "
               "instead";
    return "none: RAPL counters are present but not readable by this user; CPU time is given "
           "instead";
}

static bool cpu_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n)
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == 0))
            return true;
    return false;
}

void study_detect_features(char *out, size_t cap)
{
    static char line[8192];
    line[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f) && strncmp(line, "flags", 5) != 0)
        line[0] = 0;
    if (f)
        fclose(f);
    static const char *const flags[] = {"sme", "sev", "sev_es", "sev_snp",
                                        "tme", "sgx", "sgx_lc", "tdx_guest"};
    size_t used = 0;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0] && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "  %s: %s (cpu flag)\n", flags[i],
                                 cpu_flag(line, flags[i]) ? "yes" : "no");
    static const char *const files[] = {"/sys/module/kvm_amd/parameters/sev", "/dev/sev",
                                        "/dev/sev-guest", "/dev/tdx_guest", "/dev/sgx_enclave"};
    for (size_t i = 0; i < sizeof files / sizeof files[0] && used < cap; i++) {
        char v[16] = "";
        FILE *p = strncmp(files[i], "/sys", 4) == 0 ? fopen(files[i], "r") : NULL;
        if (p && !fgets(v, sizeof v, p))
            v[0] = 0;
        if (p)
            fclose(p);
        v[strcspn(v, "\n")] = 0;
        bool there = access(files[i], F_OK) == 0;
        used += (size_t)snprintf(out + used, cap - used, "  %s: %s%s%s\n", files[i],
                                 there ? "present" : "absent", v[0] ? ", " : "", v);
    }
}

void study_machine(char *out, size_t cap)
{
    char model[256] = "unknown", line[512];
    FILE *f = popen("lscpu 2>/dev/null", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Model name:", 11) == 0) {
            const char *v = line + 11 + strspn(line + 11, " ");
            snprintf(model, sizeof model, "%.*s", (int)strcspn(v, "\n"), v);
        }
    if (f)
        pclose(f);
    double load[3] = {0};
    if (getloadavg(load, 3) != 3)
        load[0] = load[1] = load[2] = -1;
    snprintf(out, cap, "%s, %ld cores, load %.2f %.2f %.2f", model, sysconf(_SC_NPROCESSORS_ONLN),
             load[0], load[1], load[2]);
}

int study_gnuplot(const char *preamble, const char *script)
{
    char path[] = "/tmp/cloister-plot-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        return cli_fail("cannot write a gnuplot script: %s", strerror(errno));
    fputs(preamble, f);
    fputs(script, f);
    fclose(f);
    char cmdline[4400];
    snprintf(cmdline, sizeof cmdline, "gnuplot %s 1>&2", path);
    int st = system(cmdline);
    unlink(path);
    if (st != 0)
        return cli_fail("gnuplot failed (exit %d): is gnuplot installed?",
                        WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return CLI_OK;
}
