/* bench_pairing.c -- BLS12-381 speed: pairing, 2-term multi-pairing, G1/G2 multiplication
 * (variable base, built-in generator table, caller table), GT exponentiation, MSM of 1k and 4k
 * G1 points against 4k separate multiplications measured in the same run, RFC 9380 hashing and
 * decoding with the subgroup check.
 *
 * CSV columns: op, n (points or terms), ns per op, ms per op, Mcycles per op at the measured TSC
 * clock, the target in ms (empty when none) and whether it is met, then the published mcl and
 * blst figures (ibbe reference notes) in Mcycles and converted to ms at this clock, so the gap to
 * the best libraries reads directly off the table.
 *
 * The targets are what IBBE (docs/ibbe.md) is built from. Pairing 2.5 ms, G1 multiplication
 * 0.3 ms, G2 0.6 ms and GT exponentiation 1.2 ms are about 3-4x mcl's published cycles at the
 * 2.6 GHz of the development machine: what portable constant-time C reached before the Fp assembly.
 * The 4k MSM must take an eighth of the 4k separate multiplications measured just before it:
 * member decryption at n = 4096 is one such MSM, and 4096 multiplications at the G1 target take
 * 1.2 s, so only an 8x MSM (0.15 s) leaves room for the polynomial within IBBE's 250 ms.
 *
 * blst side by side (issue: within 1.3x of blst). When bench/run.sh could install
 * @chainsafe/blst, blst/blst_bench.mjs times blst's BLS verify (hash to G2, two-term
 * multi-pairing, one final exponentiation) and sign (hash to G2, G2 multiplication) right after
 * cloister does the same work, both in process CPU time, which a loaded machine skews far less
 * than wall time; the rows verify_equiv and sign_equiv then carry blst's figure and the target
 * 1.3x blst, and the same work on the portable C path (bls_fp_select) is checked against 2x.
 * The ratios are also printed on stderr. */
#include <cloister/pairing.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MSM_MAX 4096

static struct {
    bls_g1 g1, r1, g1_pts[MSM_MAX];
    bls_g2 g2, r2, g2_pts[1024];
    bls_gt gt, rt;
    bls_fr k, h, ks[MSM_MAX];
    int status;
    bls_g1_table *t1;
    uint8_t g1_enc[BLS_G1_BYTES], g2_enc[BLS_G2_BYTES], gt_enc[BLS_GT_BYTES];
    size_t n;
} s;

/* One timed loop per operation: bench_ns_per_op calls it with a batch size. */
#define TIMED(name, body)                                                                          \
    static void name(void *arg, uint64_t iters)                                                    \
    {                                                                                              \
        for (uint64_t i = 0; i < iters; i++) {                                                     \
            body;                                                                                  \
        }                                                                                          \
    }

TIMED(b_pairing, bls_pairing(&s.gt, &s.g1, &s.g2))
TIMED(b_multi2, bls_pairing_multi(&s.gt, s.g1_pts, s.g2_pts, 2))
TIMED(b_g1_mul, bls_g1_mul(&s.r1, &s.g1, &s.k))
TIMED(b_g1_gen, bls_g1_mul_gen(&s.r1, &s.k))
TIMED(b_g1_table, bls_g1_table_mul(&s.r1, s.t1, &s.k))
TIMED(b_g2_mul, bls_g2_mul(&s.r2, &s.g2, &s.k))
TIMED(b_g2_gen, bls_g2_mul_gen(&s.r2, &s.k))
TIMED(b_gt_exp, bls_gt_exp(&s.gt, &s.gt, &s.k))
TIMED(b_g1_msm, bls_g1_msm(&s.r1, s.g1_pts, s.ks, s.n))
TIMED(b_g2_msm, bls_g2_msm(&s.r2, s.g2_pts, s.ks, s.n))
TIMED(b_hash_fr, bls_hash_to_fr(&s.h, "user@example.org", 16, "CLOISTER-IBBE-ID", 16))
TIMED(b_hash_g1, bls_g1_hash(&s.r1, "message", 7, "CLOISTER-BENCH", 14))
TIMED(b_hash_g2, bls_g2_hash(&s.r2, "message", 7, "CLOISTER-BENCH", 14))
TIMED(b_g1_dec, s.status |= bls_g1_from_bytes(&s.r1, s.g1_enc))
TIMED(b_g2_dec, s.status |= bls_g2_from_bytes(&s.r2, s.g2_enc))
TIMED(b_gt_dec, s.status |= bls_gt_from_bytes(&s.rt, s.gt_enc))

/* What a BLS signature costs, as blst_bench.mjs times it for blst. */
static void b_verify(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        bls_g2_hash(&s.r2, "message", 7, "CLOISTER-BENCH", 14);
        bls_pairing_multi(&s.gt, s.g1_pts, s.g2_pts, 2);
    }
}

static void b_sign(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        bls_g2_hash(&s.r2, "message", 7, "CLOISTER-BENCH", 14);
        bls_g2_mul(&s.r2, &s.r2, &s.k);
    }
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Median CPU ns per call over batches of at least 5 ms, like blst_bench.mjs. */
static double cpu_ns_per_op(void (*fn)(void *, uint64_t))
{
    enum { BATCHES = 25 };
    double samples[BATCHES];
    uint64_t iters = 1;
    for (double dt = 0; dt < 5e6; iters *= 2) {
        double t0 = cpu_ns();
        fn(NULL, iters);
        dt = cpu_ns() - t0;
    }
    for (int i = 0; i < BATCHES; i++) {
        double t0 = cpu_ns();
        fn(NULL, iters);
        samples[i] = (cpu_ns() - t0) / (double)iters;
    }
    return bench_quantile(samples, BATCHES, 0.5);
}

/* blst's verify and sign in ms from blst/blst_bench.mjs; 0 when node or the package is absent. */
static void blst_measure(double *verify_ms, double *sign_ms)
{
    *verify_ms = *sign_ms = 0;
    if (access(BLST_BENCH_DIR "/node_modules/@chainsafe/blst/package.json", R_OK) != 0)
        return;
    FILE *p = popen("node '" BLST_BENCH_DIR "/blst_bench.mjs' 2>/dev/null", "r");
    if (!p)
        return;
    char op[32];
    double ms;
    while (fscanf(p, "%31[^,],%lf\n", op, &ms) == 2) {
        if (!strcmp(op, "verify"))
            *verify_ms = ms;
        else if (!strcmp(op, "sign"))
            *sign_ms = ms;
    }
    pclose(p);
}

/* The baseline of the MSM: the same sum with one constant-time multiplication per point. */
static void b_g1_muls(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        bls_g1_identity(&s.r1);
        for (size_t j = 0; j < s.n; j++) {
            bls_g1 t;
            bls_g1_mul(&t, &s.g1_pts[j], &s.ks[j]);
            bls_g1_add(&s.r1, &s.r1, &t);
        }
    }
}

/* Published figures (x86-64, ibbe reference notes); 0 when none was published. */
struct row {
    const char *op;
    void (*fn)(void *, uint64_t);
    size_t n;
    double target_ms, mcl_mcycles, blst_mcycles;
};

static void print_row(const struct row *r, double ns, double ghz)
{
    double ms = ns / 1e6;
    printf("%s,%zu,%.0f,%.4f,%.4f,", r->op, r->n, ns, ms, ns * ghz / 1e6);
    if (r->target_ms > 0)
        printf("%.2f,%s,", r->target_ms, ms <= r->target_ms ? "yes" : "no");
    else
        printf(",,");
    if (r->mcl_mcycles > 0)
        printf("%.3f,%.4f,", r->mcl_mcycles, r->mcl_mcycles / ghz);
    else
        printf(",,");
    if (r->blst_mcycles > 0)
        printf("%.3f,%.4f\n", r->blst_mcycles, r->blst_mcycles / ghz);
    else
        printf(",\n");
    fflush(stdout);
}

/* The MSM target compares two long runs (0.1 s against 0.7 s): on a loaded 2-core machine a
 * median of wall-clock batches punishes whichever run is preempted more, so the two are timed
 * alternately and each keeps its fastest run. */
static void msm_against_separate(double *msm_ns, double *separate_ns)
{
    *msm_ns = *separate_ns = 1e30;
    s.n = MSM_MAX;
    for (int round = 0; round < 3; round++) {
        double t0 = bench_now_ns();
        b_g1_muls(NULL, 1);
        double t1 = bench_now_ns();
        if (t1 - t0 < *separate_ns)
            *separate_ns = t1 - t0;
        for (int i = 0; i < 4; i++) {
            t0 = bench_now_ns();
            b_g1_msm(NULL, 1);
            t1 = bench_now_ns();
            if (t1 - t0 < *msm_ns)
                *msm_ns = t1 - t0;
        }
    }
}

/* One row of the blst comparison: cloister's CPU time, blst's and the target ratio to it. */
static void compare_row(const char *op, double ns, double blst_ms, double ratio, double ghz)
{
    struct row r = {op, NULL, 1, blst_ms * ratio, 0, blst_ms * ghz};
    print_row(&r, ns, ghz);
    if (blst_ms > 0)
        fprintf(stderr, "%s: %.3f ms, blst %.3f ms: %.2fx blst (target %.1fx)\n", op, ns / 1e6,
                blst_ms, ns / 1e6 / blst_ms, ratio);
}

/* Verify- and sign-equivalent work on both Fp paths, then blst's, in the same minute. */
static void blst_side_by_side(double ghz)
{
    double verify = cpu_ns_per_op(b_verify), sign = cpu_ns_per_op(b_sign);
    const char *path = bls_fp_select(BLS_FP_AUTO);
    bls_fp_select(BLS_FP_PORTABLE);
    double pverify = cpu_ns_per_op(b_verify), psign = cpu_ns_per_op(b_sign);
    bls_fp_select(BLS_FP_AUTO);
    double blst_verify, blst_sign;
    blst_measure(&blst_verify, &blst_sign);
    if (blst_verify == 0)
        fprintf(stderr, "blst: not measured (bench/pairing/blst/install.sh needs node and npm)\n");
    fprintf(stderr, "Fp multiplication: %s; figures in process CPU time\n", path);
    compare_row("verify_equiv", verify, blst_verify, 1.3, ghz);
    compare_row("sign_equiv", sign, blst_sign, 1.3, ghz);
    compare_row("verify_equiv_portable", pverify, blst_verify, 2.0, ghz);
    compare_row("sign_equiv_portable", psign, blst_sign, 2.0, ghz);
}

int main(int argc, char **argv)
{
    double ghz = bench_tsc_ghz();
    bls_fr_random(&s.k);
    bls_g1_generator(&s.g1);
    bls_g2_generator(&s.g2);
    bls_g1_mul(&s.g1, &s.g1, &s.k);
    bls_g2_mul(&s.g2, &s.g2, &s.k);
    bls_pairing(&s.gt, &s.g1, &s.g2);
    for (size_t i = 0; i < MSM_MAX; i++) {
        bls_fr p;
        bls_fr_random(&p);
        bls_fr_random(&s.ks[i]);
        bls_g1_mul_gen(&s.g1_pts[i], &p);
        if (i < 1024)
            bls_g2_mul_gen(&s.g2_pts[i], &p);
    }
    s.t1 = bls_g1_table_new(&s.g1);
    bls_g1_to_bytes(s.g1_enc, &s.g1);
    bls_g2_to_bytes(s.g2_enc, &s.g2);
    bls_gt_to_bytes(s.gt_enc, &s.gt);
    if (!s.t1)
        return 1;

    const struct row rows[] = {
        {"pairing", b_pairing, 1, 2.5, 2.3, 2.4},
        {"multi_pairing", b_multi2, 2, 0, 0, 0},
        {"g1_mul", b_g1_mul, 1, 0.3, 0.207, 0},
        {"g1_mul_gen_table", b_g1_gen, 1, 0, 0, 0},
        {"g1_mul_own_table", b_g1_table, 1, 0, 0, 0},
        {"g2_mul", b_g2_mul, 1, 0.6, 0.408, 0},
        {"g2_mul_gen_table", b_g2_gen, 1, 0, 0, 0},
        {"gt_exp", b_gt_exp, 1, 1.2, 0.802, 0},
        {"g1_msm", b_g1_msm, 1024, 0, 0, 0},
        {"g1_separate_muls", b_g1_muls, MSM_MAX, 0, 0, 0}, /* timed by msm_against_separate */
        {"g1_msm", b_g1_msm, MSM_MAX, 0, 0, 0},            /* target: 1/8 of the row above */
        {"g2_msm", b_g2_msm, 1024, 0, 0, 0},
        {"hash_to_fr", b_hash_fr, 1, 0, 0, 0},
        {"hash_to_g1", b_hash_g1, 1, 0, 0, 0},
        {"hash_to_g2", b_hash_g2, 1, 0, 0, 0},
        {"g1_decode_checked", b_g1_dec, 1, 0, 0, 0},
        {"g2_decode_checked", b_g2_dec, 1, 0, 0, 0},
        {"gt_decode_checked", b_gt_dec, 1, 0, 0, 0},
    };
    printf("op,n,ns_per_op,ms_per_op,mcycles,target_ms,meets_target,mcl_mcycles,mcl_ms_here,"
           "blst_mcycles,blst_ms_here\n");
    blst_side_by_side(ghz);
    double msm4k, separate;
    msm_against_separate(&msm4k, &separate);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        struct row r = rows[i];
        double ns;
        if (r.n == MSM_MAX && !strcmp(r.op, "g1_separate_muls")) {
            ns = separate;
        } else if (r.n == MSM_MAX) {
            ns = msm4k;
            r.target_ms = separate / 8 / 1e6; /* at least 8x faster: see the top */
        } else {
            s.n = r.n;
            ns = bench_ns_per_op(r.fn, NULL, r.n >= 1024 ? 2.0 : 0.5);
        }
        print_row(&r, ns, ghz);
    }
    double speedup = separate / msm4k;
    fprintf(stderr,
            "TSC %.3f GHz; MSM of 4096 G1 points is %.1fx faster than 4096 separate "
            "constant-time multiplications (target 8x); %s\n",
            ghz, speedup, argc > 1 ? argv[1] : "");
    bls_g1_table_free(s.t1);
    return s.status != BLS_OK;
}
