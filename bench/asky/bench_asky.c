/* bench_asky.c -- A-Sky envelopes against the public-key anonymous baseline, measured in the
 * same run, one core. CSV: OP,N,seconds,bytes,members_per_s,target_seconds.
 *
 *   indexed_build, trial_build   an envelope of N members (the enclave's loop, run natively:
 *                                the members prepared beforehand, as the enclave keeps them:
 *                                asky_envelope_build_prepared), bytes = the envelope
 *   indexed_build_oneshot,       the same from the raw keys through OpenSSL's one-shot calls
 *   trial_build_oneshot          (asky_envelope_build: the enclave's path before it kept
 *                                prepared members), for the before/after in one run
 *   indexed_open, trial_open     a member's open, averaged over members spread over the
 *                                envelope (trial: N/2 tries on average)
 *   hpke_build, hpke_open        the baseline, age-style: one X25519 HPKE stanza of the file
 *                                key per member (enc 32 + ct 48 = 80 B), found by trial
 *                                decryption (N/2 decapsulations on average)
 *   put                          a file of N bytes stored through the proc enclave of a
 *                                store directory (10 members): envelope request, encryption,
 *                                atomic write with fsync; members_per_s is MB/s here
 *
 * N goes up to ASKY_BENCH_MAX_N (default 10000); the HPKE rows up to ASKY_BENCH_MAX_HPKE_N
 * (default 10000). The targets: indexed build of 10,000 members <= 2.5 ms, indexed open
 * <= 20 us, and >= 1,000x faster than the baseline at 10,000. */
#include <cloister/asky_client.h>
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(asky);

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? (size_t)strtoull(v, NULL, 10) : dflt;
}

static double now_s(void)
{
    return bench_now_ns() / 1e9;
}

static void row(const char *op, size_t n, double s, size_t bytes, double rate, double target)
{
    printf("%s,%zu,%.9f,%zu,%.0f,", op, n, s, bytes, rate);
    if (target > 0)
        printf("%.6f", target);
    printf("\n");
    fflush(stdout);
}

/* The best of a few builds of one kind for n members, from prepared members or (prep NULL)
 * the raw keys; the last envelope is left in *env. */
static double best_build(enum asky_kind kind, const struct asky_user_keys *keys,
                         const struct asky_member *prep, size_t n, uint8_t **env, size_t *len)
{
    uint8_t fk[ASKY_KEY_LEN] = {1};
    double best = 1e9;
    int reps = n >= 1000 ? 9 : 50;
    for (int r = 0; r < reps; r++) {
        free(*env);
        double t0 = now_s();
        int rc = prep ? asky_envelope_build_prepared(kind, prep, n, 0, fk, env, len, NULL)
                      : asky_envelope_build(kind, keys, n, 0, fk, env, len, NULL);
        if (rc != CLOISTER_OK)
            abort();
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    return best;
}

/* Build (one-shot, then prepared) and open times of one kind for n members. */
static void bench_kind(enum asky_kind kind, const struct asky_user_keys *keys,
                       const struct asky_member *prep, size_t n)
{
    uint8_t got[ASKY_KEY_LEN], *env = NULL;
    size_t len = 0;
    const bool idx = kind == ASKY_INDEXED;
    double best = best_build(kind, keys, NULL, n, &env, &len);
    row(idx ? "indexed_build_oneshot" : "trial_build_oneshot", n, best, len, n / best, 0);
    best = best_build(kind, keys, prep, n, &env, &len);
    row(idx ? "indexed_build" : "trial_build", n, best, len, n / best,
        idx && n == 10000 ? 0.0025 : 0);
    size_t tries = n < 64 ? n : 64;
    double t0 = now_s();
    for (size_t i = 0; i < tries; i++)
        if (asky_envelope_open(kind, env, len, &keys[i * n / tries], got, NULL) != CLOISTER_OK)
            abort();
    double t = (now_s() - t0) / (double)tries;
    row(idx ? "indexed_open" : "trial_open", n, t, len, n / t, idx ? 20e-6 : 0);
    free(env);
}

/* The age-style baseline: one HPKE stanza per member, opened by trial decryption. */
static void bench_hpke(size_t n, uint8_t (*pk)[HPKE_PUBLIC_LEN], uint8_t (*sk)[HPKE_SECRET_LEN])
{
    const size_t stanza = HPKE_ENC_LEN + ASKY_KEY_LEN + HPKE_TAG_LEN;
    uint8_t *env = malloc(n * stanza), fk[ASKY_KEY_LEN] = {1}, got[ASKY_KEY_LEN];
    double t0 = now_s();
    for (size_t i = 0; i < n; i++)
        if (hpke_seal(env + i * stanza, env + i * stanza + HPKE_ENC_LEN, HPKE_AEAD_AES256GCM, pk[i],
                      NULL, 0, NULL, 0, fk, sizeof fk, NULL) != 0)
            abort();
    double t = now_s() - t0;
    row("hpke_build", n, t, n * stanza, n / t, 0);
    size_t who = n / 2; /* the average position of a member */
    t0 = now_s();
    for (size_t i = 0; i <= who; i++) {
        const uint8_t *s = env + i * stanza;
        if (hpke_open(got, HPKE_AEAD_AES256GCM, s, sk[who], NULL, 0, NULL, 0, s + HPKE_ENC_LEN,
                      ASKY_KEY_LEN + HPKE_TAG_LEN, NULL) == 0)
            break;
    }
    t = now_s() - t0;
    row("hpke_open", n, t, n * stanza, n / t, 0);
    free(env);
}

/* Objects of 1 KiB .. 1 MiB through the enclave of a store (proc backend). */
static void bench_put(void)
{
    char dir[] = "/tmp/cloister-asky-bench-XXXXXX", in[64], user[16];
    if (!mkdtemp(dir))
        return;
    struct asky_service_options o = {.backend = "proc", .enclave = &tee_enclave_asky};
    asky_service *s;
    struct cloister_err err;
    uint8_t key[ASKY_KEY_LEN], other[ASKY_KEY_LEN];
    if (asky_service_open(dir, &o, &s, &err) != CLOISTER_OK) {
        fprintf(stderr, "bench_asky: %s\n", err.msg);
        return;
    }
    for (int i = 0; i < 10; i++) {
        snprintf(user, sizeof user, "u%d", i);
        if (asky_user_add(s, user, i == 0 ? key : other, &err) != CLOISTER_OK ||
            (i == 0 ? asky_group_create(s, "g", user, &err) : asky_group_add(s, "g", user, &err)))
            abort();
    }
    snprintf(in, sizeof in, "%s.in", dir);
    for (size_t size = 1024; size <= ((size_t)1 << 20); size *= 4) {
        uint8_t *data = calloc(1, size);
        if (!data || file_write_atomic(in, data, size, 0600) != 0)
            abort();
        int reps = 20;
        double t0 = now_s();
        for (int r = 0; r < reps; r++)
            if (asky_put(s, "g", "u0", key, in, "obj", ASKY_INDEXED, 0, &err) != CLOISTER_OK)
                abort();
        double t = (now_s() - t0) / reps;
        row("put", size, t, size, size / t / 1e6, 0);
        free(data);
    }
    unlink(in);
    asky_service_close(s);
    file_remove_tree(dir);
}

int main(int argc, char **argv)
{
    size_t max_n = env_size("ASKY_BENCH_MAX_N", 10000);
    size_t max_hpke = env_size("ASKY_BENCH_MAX_HPKE_N", 10000);
    fprintf(stderr, "bench_asky: one core; N in 1..%zu (ASKY_BENCH_MAX_N), HPKE up to %zu\n", max_n,
            max_hpke);
    printf("OP,N,seconds,bytes,members_per_s,target_seconds\n");
    struct asky_user_keys *keys = malloc(max_n * sizeof *keys);
    struct asky_member *prep = malloc(max_n * sizeof *prep);
    uint8_t(*pk)[HPKE_PUBLIC_LEN] = malloc(max_hpke * sizeof *pk);
    uint8_t(*sk)[HPKE_SECRET_LEN] = malloc(max_hpke * sizeof *sk);
    if (!keys || !prep || !pk || !sk)
        return 1;
    for (size_t i = 0; i < max_n; i++) {
        uint8_t k[ASKY_KEY_LEN];
        if (crypto_random(k, sizeof k) != 0)
            return 1;
        asky_user_keys(&keys[i], k);
        asky_member_prepare(&prep[i], &keys[i]);
    }
    for (size_t i = 0; i < max_hpke; i++)
        if (hpke_keypair(pk[i], sk[i]) != 0)
            return 1;
    for (size_t n = 1; n <= max_n; n *= 10) {
        bench_kind(ASKY_INDEXED, keys, prep, n);
        bench_kind(ASKY_TRIAL, keys, prep, n);
        if (n <= max_hpke)
            bench_hpke(n, pk, sk);
    }
    bench_put();
    free(keys);
    free(prep);
    free(pk);
    free(sk);
    return 0;
}
