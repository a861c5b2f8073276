/* bench_ibbe.c -- IBBE-SGX against the hybrid-encryption baselines, in the paper's CSV shape
 * (OP,N,n,seconds,bytes) followed by the paper's figures and our targets (paper_seconds,
 * paper_bytes, target_seconds; empty when there is none). One core.
 *
 *   ibbe_setup, ibbe_extract          setup per partition size n; extract per key (γ code run
 *                                     natively: the algorithms' cost)
 *   ibbe_create/add/remove            N members in partitions of n; bytes = store records
 *   ibbe_crypto_metadata              252 B per partition (the paper: 432 B), no member lists
 *   ibbe_user_decrypt                 a member of a full partition, from its member list:
 *                                     polynomial (product tree) + decryption; ibbe_user_poly is
 *                                     the polynomial alone
 *   sgx_create/add/remove             the same through the ibbe enclave (proc backend: a
 *                                     sandboxed process, ecalls copied across, records written
 *                                     to a store directory, the epoch table too), n = 1000:
 *                                     sgx_remove is the removal end to end through the store
 *   rsa_* / hpke_*                    gk wrapped per member (RSA-2048 OAEP / X25519 HPKE);
 *                                     members share a pool of key pairs (same cost per wrap)
 *   trace_ibbe/rsa/hpke               the synthetic trace: 1,000 initial members, 500 operations,
 *                                     each a removal with probability N % (else an add); seconds
 *                                     for the 500 operations, bytes of the final group (the
 *                                     baselines at 0 and 50 % unless IBBE_BENCH_TRACE_FULL=1)
 *
 * N goes up to IBBE_BENCH_MAX_N (default 100000; 1000000 adds the paper's largest groups), the
 * HE baselines up to IBBE_BENCH_MAX_HE_N (default 100000), the enclave rows up to
 * IBBE_BENCH_MAX_SGX_N (default IBBE_BENCH_MAX_HE_N). IBBE_BENCH_ONLY=remove runs only what the
 * removal targets need (n = 1k: the library rows, then the enclave rows). The sizes run are
 * printed on stderr, and a summary of every target.
 *
 * The targets: this implementation runs at 128-bit security (BLS12-381) where the paper's ran
 * at 80 bits, and must still beat the paper's figures on the same operations: setup n = 1k
 * <= 0.3 s (paper 1.31 s), extract >= 2,000/s (764/s), create N = 1M, n = 1k <= 2 s (3.18 s),
 * add <= 0.5 ms (2.72 ms), remove N = 1M <= 1 s (1.47 s) and <= 2 s end to end through the
 * store, member decrypt n = 1k / 4k <= 60 /
 * 250 ms (303 ms / 1.58 s), and create / remove at least 10x faster than RSA hybrid encryption
 * at N = 100k: the order of magnitude that is the paper's case for IBBE. */
#include <cloister/ibbe_admin.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "ibbe/enclave/msk.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(ibbe);

#define KEY_POOL 8
#define TRACE_INITIAL 1000
#define TRACE_OPS 500

static double now_s(void)
{
    return bench_now_ns() * 1e-9;
}

/* Process CPU time: what a loaded machine skews least (the bench is one thread). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Targets checked in the summary: the last measurement of each op at (N, n). */
struct target {
    const char *op;
    size_t N, n;
    double limit, measured;
    const char *what;
    size_t at; /* N of the measurement */
};
static struct target targets[] = {
    {"ibbe_add", 1000000, 1000, 0.5e-3, -1, "add <= 0.5 ms (N = 1M; else largest N run)", 0},
    {"ibbe_remove", 1000000, 1000, 1.0, -1, "remove N = 1M, n = 1k <= 1 s", 0},
    {"sgx_remove", 1000000, 1000, 2.0, -1, "remove through the store N = 1M, n = 1k <= 2 s", 0},
    {"ibbe_create", 1000000, 1000, 2.0, -1, "create N = 1M, n = 1k <= 2 s", 0},
    {"ibbe_user_decrypt", 1000, 1000, 60e-3, -1, "user decrypt n = 1k <= 60 ms", 0},
    {"ibbe_user_decrypt", 4000, 4000, 250e-3, -1, "user decrypt n = 4k <= 250 ms", 0},
    {"ibbe_setup", 0, 1000, 0.3, -1, "setup n = 1k <= 0.3 s", 0},
    {"ibbe_extract", 1, 1000, 1.0 / 2000, -1, "extract >= 2,000/s", 0},
};
#define NTARGETS (sizeof targets / sizeof targets[0])

static double target_for(const char *op, size_t N, size_t n)
{
    for (size_t i = 0; i < NTARGETS; i++)
        if (strcmp(targets[i].op, op) == 0 && targets[i].N == N && targets[i].n == n)
            return targets[i].limit;
    if (strcmp(op, "ibbe_add") == 0)
        return 0.5e-3;
    return 0;
}

/* create and remove at N = 100k: IBBE-SGX (n = 1k) against RSA HE, [op][0: ibbe, 1: rsa] */
static double vs_rsa[2][2] = {{-1, -1}, {-1, -1}};

/* Records a measurement against its target; add is checked at the largest N run. */
static void note(const char *op, size_t N, size_t n, double seconds)
{
    static const char *const ops[2][2] = {{"ibbe_create", "rsa_create"},
                                          {"ibbe_remove", "rsa_remove"}};
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 2; k++)
            if (N == 100000 && n == (k ? 0 : 1000) && strcmp(op, ops[o][k]) == 0)
                vs_rsa[o][k] = seconds;
    for (size_t i = 0; i < NTARGETS; i++) {
        struct target *t = &targets[i];
        bool largest = strcmp(op, "ibbe_add") == 0 && N >= t->at;
        if (strcmp(t->op, op) == 0 && t->n == n && (t->N == N || largest)) {
            t->measured = seconds;
            t->at = N;
        }
    }
}

static void row(const char *op, size_t N, size_t n, double seconds, long long bytes,
                double paper_seconds, long long paper_bytes)
{
    double target = target_for(op, N, n);
    note(op, N, n, seconds);
    printf("%s,%zu,%zu,%.6f,", op, N, n, seconds);
    if (bytes >= 0)
        printf("%lld", bytes);
    printf(",");
    if (paper_seconds > 0)
        printf("%.6f", paper_seconds);
    printf(",");
    if (paper_bytes > 0)
        printf("%lld", paper_bytes);
    printf(",");
    if (target > 0)
        printf("%.6f", target);
    printf("\n");
    fflush(stdout);
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static char **make_ids(size_t count, const char *prefix)
{
    char **ids = malloc(count * sizeof *ids);
    for (size_t i = 0; i < count; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s%07zu@example.org", prefix, i);
        ids[i] = strdup(buf);
    }
    return ids;
}

static void free_ids(char **ids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
}

static double median(double *v, size_t n)
{
    return bench_quantile(v, n, 0.5);
}

/* ---- paper figures (reference: ibbe.md) --------------------------------------------------- */
static const size_t paper_N[] = {1000, 10000, 100000, 1000000};
static const double paper_create[4][4] = {{0.0031, 0.0032, 0.0034, 0.0033},
                                          {0.0297, 0.0232, 0.0216, 0.0196},
                                          {0.305, 0.234, 0.211, 0.198},
                                          {3.178, 2.523, 2.297, 2.155}};
static const double paper_create_he[4] = {0.069, 0.400, 3.98, 43.53};

static int paper_row(size_t N)
{
    for (int i = 0; i < 4; i++)
        if (paper_N[i] == N)
            return i;
    return -1;
}

static double paper_create_at(size_t N, size_t n)
{
    int r = paper_row(N);
    return r >= 0 && n % 1000 == 0 && n >= 1000 && n <= 4000 ? paper_create[r][n / 1000 - 1] : 0;
}

static double paper_remove_at(size_t N, size_t n)
{
    static const double at100k[4] = {0.146, 0.078, 0.051, 0.037};
    static const double at1m[4] = {1.473, 0.731, 0.489, 0.364};
    if (n % 1000 || n < 1000 || n > 4000)
        return 0;
    return N == 100000 ? at100k[n / 1000 - 1] : N == 1000000 ? at1m[n / 1000 - 1] : 0;
}

/* ---- IBBE-SGX ----------------------------------------------------------------------------- */

static long long group_bytes(const ibbe_group *g)
{
    uint8_t *buf;
    size_t len;
    if (ibbe_group_encode_meta(g, &buf, &len) != 0)
        return -1;
    free(buf);
    long long total = (long long)len;
    for (size_t p = 0; p < ibbe_group_partitions(g); p++)
        total += (long long)ibbe_partition_record_bytes(g, p);
    return total;
}

static void bench_ibbe_group(const ibbe_msk *msk, size_t N, size_t n)
{
    char **ids = make_ids(N, "m"), **extra = make_ids(100, "x");
    struct cloister_err err;
    ibbe_group *g;
    double t0 = now_s();
    if (ibbe_group_create(msk, "bench", (const char *const *)ids, N, &g, &err) != 0) {
        fprintf(stderr, "create: %s\n", err.msg);
        exit(1);
    }
    long long m = (long long)ibbe_group_partitions(g);
    row("ibbe_create", N, n, now_s() - t0, group_bytes(g), paper_create_at(N, n),
        paper_row(N) >= 0 ? m * 432 : -1);
    row("ibbe_crypto_metadata", N, n, 0, m * (IBBE_HEADER_BYTES + IBBE_WRAP_BYTES), 0, m * 432);
    ibbe_group_find(g, ids[0]); /* builds the member index once, as a warm admin has it */
    double add[100];
    for (int i = 0; i < 100; i++) {
        t0 = now_s();
        if (ibbe_group_add(msk, g, extra[i], &err) != 0)
            exit(1);
        add[i] = now_s() - t0;
    }
    row("ibbe_add", N, n, median(add, 100), group_bytes(g), 2.72e-3, 0);
    double rem[3];
    for (int i = 0; i < 3; i++) {
        t0 = now_s();
        if (ibbe_group_remove(msk, g, ids[i * 7], &err) != 0)
            exit(1);
        rem[i] = now_s() - t0;
    }
    row("ibbe_remove", N, n, median(rem, 3), group_bytes(g), paper_remove_at(N, n), 0);
    ibbe_group_free(g);
    free_ids(ids, N);
    free_ids(extra, 100);
}

/* A member of a full partition of n: the polynomial from the member list, then decryption. */
static void bench_user_decrypt(const ibbe_msk *msk, const ibbe_pk *pk, size_t n)
{
    static const double paper[4] = {0.303, 0.661, 1.092, 1.575};
    char **ids = make_ids(n, "d");
    bls_fr *h = malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        ibbe_hash_id(&h[i], ids[i]);
    struct ibbe_header hdr;
    struct ibbe_usk usk;
    uint8_t key[IBBE_KEY_LEN], got[IBBE_KEY_LEN];
    if (ibbe_encrypt(msk, h, n, &hdr, key) != 0 || ibbe_extract(msk, ids[n / 2], &usk) != 0)
        exit(1);
    double t[5], poly[5], cpu[5];
    for (int i = 0; i < 5; i++) {
        struct ibbe_poly p;
        double c0 = cpu_s(), t0 = now_s();
        ibbe_poly_from_hashes(&p, h, n);
        poly[i] = now_s() - t0;
        if (ibbe_decrypt_user(pk, &p, &h[n / 2], &usk, &hdr, got) != 0 ||
            memcmp(got, key, IBBE_KEY_LEN) != 0)
            exit(1);
        t[i] = now_s() - t0;
        cpu[i] = cpu_s() - c0;
        ibbe_poly_free(&p);
    }
    /* issue 21 (pairing within 1.3x of blst) asks for <= 25 ms at n = 1k, in CPU time here */
    fprintf(stderr, "member decrypt n = %zu: %.1f ms CPU time (median of 5)%s\n", n,
            median(cpu, 5) * 1e3, n == 1000 ? "; target <= 25 ms" : "");
    double pp = n % 1000 == 0 && n <= 4000 ? paper[n / 1000 - 1] : 0;
    row("ibbe_user_decrypt", n, n, median(t, 5), -1, pp, 0);
    row("ibbe_user_poly", n, n, median(poly, 5), -1, 0, 0);
    free(h);
    free_ids(ids, n);
}

/* Create, add, remove through the ibbe enclave (proc backend) into a store directory. */
static void bench_sgx(size_t max_N)
{
    char dir[] = "/tmp/cloister-bench-ibbe-XXXXXX";
    struct ibbe_admin_options o = {.backend = "proc", .enclave = &tee_enclave_ibbe};
    ibbe_admin *a;
    struct cloister_err err;
    if (!mkdtemp(dir) || ibbe_admin_open(dir, &o, &a, &err) != 0 ||
        ibbe_admin_setup(a, 1000, &err) != 0) {
        fprintf(stderr, "bench_ibbe: no enclave rows: %s\n", err.msg);
        return;
    }
    for (size_t N = 1000; N <= max_N; N *= 10) {
        char group[32], **ids = make_ids(N, "s"), **extra = make_ids(21, "y");
        snprintf(group, sizeof group, "g%zu", N);
        double t0 = now_s();
        if (ibbe_admin_create(a, group, (const char *const *)ids, N, &err) != 0) {
            fprintf(stderr, "sgx create: %s\n", err.msg);
            exit(1);
        }
        row("sgx_create", N, 1000, now_s() - t0, ibbe_store_group_bytes(ibbe_admin_store(a), group),
            paper_create_at(N, 1000), 0);
        double add[21];
        for (int i = 0; i < 21; i++) {
            t0 = now_s();
            if (ibbe_admin_add(a, group, (const char *const *)&extra[i], 1, &err) != 0)
                exit(1);
            add[i] = now_s() - t0;
        }
        row("sgx_add", N, 1000, median(add + 1, 20), -1, 2.72e-3, 0); /* [0]: index build */
        double rem[3];
        for (int i = 0; i < 3; i++) {
            t0 = now_s();
            if (ibbe_admin_remove(a, group, (const char *const *)&ids[1 + 7 * i], 1, &err) != 0)
                exit(1);
            rem[i] = now_s() - t0;
        }
        row("sgx_remove", N, 1000, median(rem, 3),
            ibbe_store_group_bytes(ibbe_admin_store(a), group), paper_remove_at(N, 1000), 0);
        free_ids(ids, N);
        free_ids(extra, 21);
    }
    ibbe_admin_close(a);
    file_remove_tree(dir);
}

/* ---- hybrid encryption -------------------------------------------------------------------- */

struct he_keys {
    uint8_t *pub[KEY_POOL], *sec[KEY_POOL];
    size_t pl[KEY_POOL], sl[KEY_POOL];
};

static void he_keys(struct he_keys *k, enum ibbe_he_scheme scheme)
{
    for (int i = 0; i < KEY_POOL; i++)
        if (ibbe_he_keypair(scheme, &k->pub[i], &k->pl[i], &k->sec[i], &k->sl[i]) != 0)
            exit(1);
}

static void he_keys_free(struct he_keys *k)
{
    for (int i = 0; i < KEY_POOL; i++) {
        free(k->pub[i]);
        free(k->sec[i]);
    }
}

static struct ibbe_he_member *he_members(char **ids, size_t count, const struct he_keys *k)
{
    struct ibbe_he_member *m = malloc(count * sizeof *m);
    for (size_t i = 0; i < count; i++)
        m[i] = (struct ibbe_he_member){ids[i], k->pub[i % KEY_POOL], k->pl[i % KEY_POOL]};
    return m;
}

static long long he_bytes(const ibbe_he_group *g)
{
    long long bytes = 0;
    for (size_t c = 0; c <= ibbe_he_chunks(g); c++) {
        uint8_t *buf;
        size_t len;
        if ((c == ibbe_he_chunks(g) ? ibbe_he_encode_meta(g, &buf, &len)
                                    : ibbe_he_encode_chunk(g, c, &buf, &len)) == 0) {
            bytes += (long long)len;
            free(buf);
        }
    }
    return bytes;
}

static void bench_he(enum ibbe_he_scheme scheme, size_t N)
{
    const char *name = scheme == IBBE_HE_RSA ? "rsa" : "hpke";
    struct he_keys k;
    he_keys(&k, scheme);
    char **ids = make_ids(N + 20, "h");
    struct ibbe_he_member *m = he_members(ids, N + 20, &k);
    struct cloister_err err;
    ibbe_he_group *g;
    char op[32];
    int pr = paper_row(N);
    bool rsa = scheme == IBBE_HE_RSA;
    double t0 = now_s();
    if (ibbe_he_create(scheme, "bench", 1000, m, N, &g, &err) != 0) {
        fprintf(stderr, "%s create: %s\n", name, err.msg);
        exit(1);
    }
    double create = now_s() - t0;
    snprintf(op, sizeof op, "%s_create", name);
    row(op, N, 0, create, he_bytes(g), rsa && pr >= 0 ? paper_create_he[pr] : 0,
        rsa && pr >= 0 ? (long long)N * 256 : 0);
    double add[20];
    for (int i = 0; i < 20; i++) {
        t0 = now_s();
        if (ibbe_he_add(g, &m[N + i], &err) != 0)
            exit(1);
        add[i] = now_s() - t0;
    }
    snprintf(op, sizeof op, "%s_add", name);
    row(op, N, 0, median(add, 20), -1, rsa ? 1.21e-3 : 0, 0);
    t0 = now_s();
    if (ibbe_he_remove(g, ids[3], &err) != 0)
        exit(1);
    snprintf(op, sizeof op, "%s_remove", name);
    static const double paper_rm[4] = {0, 0, 4.04, 43.29};
    row(op, N, 0, now_s() - t0, he_bytes(g), rsa && pr >= 0 ? paper_rm[pr] : 0, 0);
    uint8_t gk[IBBE_KEY_LEN];
    t0 = now_s();
    if (ibbe_he_decrypt(g, ids[5], k.sec[5 % KEY_POOL], k.sl[5 % KEY_POOL], gk, &err) != 0)
        exit(1);
    snprintf(op, sizeof op, "%s_decrypt", name);
    row(op, N, 0, now_s() - t0, -1, 0, 0);
    ibbe_he_free(g);
    free(m);
    free_ids(ids, N + 20);
    he_keys_free(&k);
}

/* ---- synthetic trace ---------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The operations of one trace: op[i] >= 0 removes member op[i], -1 adds the next new one. */
static void make_trace(long *op, int percent)
{
    size_t alive = TRACE_INITIAL, next = TRACE_INITIAL;
    long *members = malloc((TRACE_INITIAL + TRACE_OPS) * sizeof *members);
    for (size_t i = 0; i < TRACE_INITIAL; i++)
        members[i] = (long)i;
    rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)percent;
    for (int i = 0; i < TRACE_OPS; i++) {
        if ((int)(rng() % 100) < percent && alive > 1) {
            size_t k = rng() % alive;
            op[i] = members[k];
            members[k] = members[--alive];
        } else {
            op[i] = -1;
            members[alive++] = (long)next++;
        }
    }
    free(members);
}

static void bench_trace(const ibbe_msk *msk, size_t n, bool full)
{
    char **ids = make_ids(TRACE_INITIAL + TRACE_OPS, "t");
    long op[TRACE_OPS];
    struct cloister_err err;
    struct he_keys rk, hk;
    he_keys(&rk, IBBE_HE_RSA);
    he_keys(&hk, IBBE_HE_HPKE);
    struct ibbe_he_member *rm = he_members(ids, TRACE_INITIAL + TRACE_OPS, &rk);
    struct ibbe_he_member *hm = he_members(ids, TRACE_INITIAL + TRACE_OPS, &hk);
    for (int percent = 0; percent <= 100; percent += 10) {
        make_trace(op, percent);
        ibbe_group *g;
        ibbe_he_group *r, *h;
        if (ibbe_group_create(msk, "trace", (const char *const *)ids, TRACE_INITIAL, &g, &err) ||
            ibbe_he_create(IBBE_HE_RSA, "trace", 1000, rm, TRACE_INITIAL, &r, &err) ||
            ibbe_he_create(IBBE_HE_HPKE, "trace", 1000, hm, TRACE_INITIAL, &h, &err))
            exit(1);
        size_t next = TRACE_INITIAL;
        double t0 = now_s();
        for (int i = 0; i < TRACE_OPS; i++)
            if (op[i] < 0 ? ibbe_group_add(msk, g, ids[next++], &err)
                          : ibbe_group_remove(msk, g, ids[op[i]], &err))
                exit(1);
        row("trace_ibbe", (size_t)percent, n, now_s() - t0, group_bytes(g), 0, 0);
        /* The baselines re-wrap for every member on each removal: minutes for the whole
         * sweep, so by default only at 0 and 50 %. */
        for (int s = 0; s < 2 && (full || percent == 0 || percent == 50); s++) {
            ibbe_he_group *he = s ? h : r;
            struct ibbe_he_member *m = s ? hm : rm;
            next = TRACE_INITIAL;
            t0 = now_s();
            for (int i = 0; i < TRACE_OPS; i++)
                if (op[i] < 0 ? ibbe_he_add(he, &m[next++], &err)
                              : ibbe_he_remove(he, ids[op[i]], &err))
                    exit(1);
            row(s ? "trace_hpke" : "trace_rsa", (size_t)percent, 0, now_s() - t0, he_bytes(he), 0,
                0);
        }
        ibbe_group_free(g);
        ibbe_he_free(r);
        ibbe_he_free(h);
    }
    free(rm);
    free(hm);
    he_keys_free(&rk);
    he_keys_free(&hk);
    free_ids(ids, TRACE_INITIAL + TRACE_OPS);
}

/* ---- summary ------------------------------------------------------------------------------ */

static void summary(void)
{
    fprintf(stderr, "\nbench_ibbe: targets (beat the paper at 128-bit security) beside "
                    "measured and the paper (80-bit "
                    "security, 2018 hardware: create 3.18 s, remove 1.47 s, add 2.72 ms, "
                    "decrypt 303 ms, 432 B per partition)\n");
    for (size_t i = 0; i < NTARGETS; i++) {
        const struct target *t = &targets[i];
        if (t->measured < 0)
            fprintf(stderr, "  %-44s not run at this size (raise IBBE_BENCH_MAX_N)\n", t->what);
        else
            fprintf(stderr, "  %-44s measured %10.6f s at N = %zu  %s\n", t->what, t->measured,
                    t->at, t->measured <= t->limit ? "met" : "MISSED");
    }
    for (int o = 0; o < 2; o++)
        if (vs_rsa[o][0] > 0 && vs_rsa[o][1] > 0)
            fprintf(stderr, "  %-44s %.1fx faster than RSA HE  %s\n",
                    o ? "remove at N = 100k >= 10x faster than RSA"
                      : "create at N = 100k >= 10x faster than RSA",
                    vs_rsa[o][1] / vs_rsa[o][0],
                    vs_rsa[o][1] >= 10 * vs_rsa[o][0] ? "met" : "MISSED");
    fprintf(stderr, "  %-44s %d B per partition + member lists  met\n",
            "metadata <= 260 B per partition", IBBE_HEADER_BYTES + IBBE_WRAP_BYTES);
}

int main(int argc, char **argv)
{
    size_t max_n = env_size("IBBE_BENCH_MAX_N", 100000);
    size_t max_he = env_size("IBBE_BENCH_MAX_HE_N", 100000);
    size_t max_sgx = env_size("IBBE_BENCH_MAX_SGX_N", max_he);
    const char *only = getenv("IBBE_BENCH_ONLY");
    bool removal_only = only && strcmp(only, "remove") == 0;
    static const size_t ns[] = {1000, 2000, 3000, 4000};
    static const double paper_setup[] = {1.31, 2.61, 3.92, 5.14};
    printf("OP,N,n,seconds,bytes,paper_seconds,paper_bytes,target_seconds\n");
    fprintf(stderr,
            "bench_ibbe: one core; IBBE N in {1k..%zu} (IBBE_BENCH_MAX_N), n in "
            "{1k,2k,3k,4k}; HE baselines N up to %zu (IBBE_BENCH_MAX_HE_N), enclave rows up to "
            "%zu (IBBE_BENCH_MAX_SGX_N); synthetic trace %d + %d operations%s\n",
            max_n, max_he, max_sgx, TRACE_INITIAL, TRACE_OPS,
            removal_only ? "; only the removal rows (IBBE_BENCH_ONLY=remove)" : "");
    for (size_t k = 0; k < (removal_only ? 1 : 4); k++) {
        size_t n = ns[k];
        ibbe_msk *msk;
        ibbe_pk *pk;
        double t0 = now_s();
        if (ibbe_setup(n, &msk, &pk) != 0)
            return 1;
        double setup = now_s() - t0;
        uint8_t *buf;
        size_t len;
        ibbe_pk_encode(pk, &buf, &len);
        free(buf);
        row("ibbe_setup", 0, n, setup, (long long)len, paper_setup[k], 0);
        if (k == 0) {
            char **ids = make_ids(2000, "e");
            struct ibbe_usk usk;
            t0 = now_s();
            for (int i = 0; i < 2000; i++)
                if (ibbe_extract(msk, ids[i], &usk) != 0)
                    return 1;
            row("ibbe_extract", 1, n, (now_s() - t0) / 2000, IBBE_USK_BYTES, 1.0 / 764, 0);
            free_ids(ids, 2000);
        }
        if (!removal_only)
            bench_user_decrypt(msk, pk, n);
        for (size_t N = 1000; N <= max_n; N *= 10)
            bench_ibbe_group(msk, N, n);
        if (k == 0 && !removal_only)
            bench_trace(msk, n, env_size("IBBE_BENCH_TRACE_FULL", 0) != 0);
        ibbe_msk_free(msk);
        ibbe_pk_free(pk);
    }
    bench_sgx(max_sgx);
    for (size_t N = 1000; !removal_only && N <= max_he; N *= 10) {
        bench_he(IBBE_HE_RSA, N);
        bench_he(IBBE_HE_HPKE, N);
    }
    summary();
    (void)argc;
    (void)argv;
    return 0;
}
