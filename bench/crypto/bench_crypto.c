/* bench_crypto.c -- the crypto layer against OpenSSL itself, measured in the same run.
 *
 * AES-256-GCM sealing at 64 B, 4 KiB and 64 KiB through the one-shot call (a key schedule per
 * message) and the keyed context (IV only per message), HPKE single-shot seal+open of 64 bytes,
 * Ed25519 sign (loaded key) and verify of 20 bytes, and X25519. The baseline is `openssl speed
 * -mr -elapsed` (wall clock, like ours) on the same primitives, run with popen alternately with
 * ours, best of 3 rounds each, so both see the same machine; rows keep an empty baseline if
 * openssl is missing. Both sides are only comparable on a quiet machine: check the load first.
 * AAD is empty, as in openssl speed, which streams EVP updates without per-message setup: the
 * keyed context pays IV setup and tag for each message, and is expected within 10% of it from
 * 4 KiB up.
 *
 * CSV: primitive,size,ours,openssl,unit,ratio  (ratio = ours / openssl, higher is better) */
#include <cloister/crypto.h>
#include <cloister/hpke.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MIN_SECONDS 0.5
#define ROUNDS 3
#define AEAD_MAX (64 * 1024)

static struct {
    uint8_t key[32], nonce[CRYPTO_AEAD_NONCE_LEN], *pt, *ct;
    size_t n;
    crypto_aead *ctx;
    uint8_t pk_r[HPKE_PUBLIC_LEN], sk_r[HPKE_SECRET_LEN], enc[HPKE_ENC_LEN];
    uint8_t msg[64], sealed[64 + HPKE_TAG_LEN], opened[64];
    crypto_signer *signer;
    uint8_t ed_pk[32], ed_seed[32], sig[64];
    uint8_t x_pk[32], x_sk[32], shared[32];
    int status;
} s;

static void b_gcm_oneshot(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        s.status |= crypto_aead_seal(CRYPTO_AES256_GCM, s.key, s.nonce, NULL, 0, s.pt, s.n, s.ct);
}

static void b_gcm_ctx(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        s.status |= crypto_aead_ctx_seal(s.ctx, s.nonce, NULL, 0, s.pt, s.n, s.ct);
}

static void b_hpke(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        s.status |= hpke_seal(s.enc, s.sealed, HPKE_AEAD_AES128GCM, s.pk_r, "bench", 5, NULL, 0,
                              s.msg, sizeof s.msg, NULL);
        s.status |= hpke_open(s.opened, HPKE_AEAD_AES128GCM, s.enc, s.sk_r, "bench", 5, NULL, 0,
                              s.sealed, sizeof s.sealed, NULL);
    }
}

static void b_sign(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        s.status |= crypto_signer_sign(s.signer, s.sig, s.msg, 20);
}

static void b_verify(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        s.status |= crypto_ed25519_verify(s.sig, s.msg, 20, s.ed_pk);
}

static void b_x25519(void *arg, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        s.status |= crypto_x25519(s.shared, s.x_sk, s.x_pk);
}

#define SPEED_FIELDS 8

/* The fields (split on ':', f[0] being the prefix) of the line starting with `prefix` that
 * `openssl speed -mr -elapsed -seconds 1 ARGS` prints; NAN where openssl is absent or silent. */
static void openssl_speed(const char *args, const char *prefix, double f[SPEED_FIELDS])
{
    char cmd[256], line[512];
    for (int i = 0; i < SPEED_FIELDS; i++)
        f[i] = NAN;
    snprintf(cmd, sizeof cmd, "openssl speed -mr -elapsed -seconds 1 %s 2>/dev/null", args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    while (fgets(line, sizeof line, p)) {
        if (strncmp(line, prefix, strlen(prefix)) != 0)
            continue;
        char *field = line;
        for (int i = 0; i < SPEED_FIELDS && field; i++) {
            f[i] = strtod(field, NULL);
            field = strchr(field, ':');
            field = field ? field + 1 : NULL;
        }
    }
    pclose(p);
}

/* Operations (or bytes, with per = n) per second of fn: the best of this round and earlier. */
static double best_rate(double best, void (*fn)(void *, uint64_t), double per)
{
    return fmax(best, per * 1e9 / bench_ns_per_op(fn, NULL, MIN_SECONDS));
}

static void row(const char *primitive, size_t size, double ours, double openssl, const char *unit)
{
    printf("%s,%zu,%.4g,", primitive, size, ours);
    if (isnan(openssl))
        printf(",%s,\n", unit);
    else
        printf("%.4g,%s,%.3f\n", openssl, unit, ours / openssl);
    fflush(stdout);
}

/* Ours and openssl alternate for ROUNDS rounds and each keeps its best, so a burst of load from
 * the other core penalises neither side more than the other. */
static void bench_aead(void)
{
    static const size_t sizes[] = {64, 4096, AEAD_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char args[64];
        double oneshot = 0, ctx = 0, openssl = NAN, f[SPEED_FIELDS];
        s.n = sizes[i];
        snprintf(args, sizeof args, "-bytes %zu -evp aes-256-gcm", s.n);
        for (int r = 0; r < ROUNDS; r++) {
            oneshot = best_rate(oneshot, b_gcm_oneshot, (double)s.n / 1e9);
            ctx = best_rate(ctx, b_gcm_ctx, (double)s.n / 1e9);
            openssl_speed(args, "+F:", f);
            openssl = fmax(openssl, f[3] / 1e9);
        }
        row("aes256gcm-oneshot", s.n, oneshot, openssl, "GB/s");
        row("aes256gcm-ctx", s.n, ctx, openssl, "GB/s");
        if (s.n >= 4096 && !isnan(openssl))
            fprintf(stderr,
                    "AES-256-GCM %zu B: keyed context %.2f GB/s = %.0f%% of openssl speed "
                    "%.2f GB/s (within 10%%: %s); one-shot %.0f%%\n",
                    s.n, ctx, 100 * ctx / openssl, openssl, ctx >= 0.9 * openssl ? "yes" : "NO",
                    100 * oneshot / openssl);
    }
}

static void bench_public_key(void)
{
    double hpke = 0, sign = 0, verify = 0, x25519 = 0, f[SPEED_FIELDS];
    double ossl_sign = NAN, ossl_verify = NAN, ossl_x25519 = NAN;
    for (int r = 0; r < ROUNDS; r++) {
        hpke = best_rate(hpke, b_hpke, 1);
        sign = best_rate(sign, b_sign, 1);
        verify = best_rate(verify, b_verify, 1);
        openssl_speed("ed25519", "+F6:", f);
        ossl_sign = fmax(ossl_sign, f[4]);
        ossl_verify = fmax(ossl_verify, f[5]);
        x25519 = best_rate(x25519, b_x25519, 1);
        openssl_speed("ecdhx25519", "+F5:", f);
        ossl_x25519 = fmax(ossl_x25519, f[3]);
    }
    row("hpke-seal+open", sizeof s.msg, hpke, NAN, "ops/s");
    row("ed25519-sign", 20, sign, ossl_sign, "ops/s");
    row("ed25519-verify", 20, verify, ossl_verify, "ops/s");
    row("x25519", 32, x25519, ossl_x25519, "ops/s");
    if (isnan(ossl_x25519))
        fprintf(stderr, "openssl not found or silent: baseline columns left empty\n");
    else
        fprintf(stderr,
                "HPKE seal+open costs 4 X25519 scalar multiplications (ephemeral key, "
                "2 DH, recipient public key): at openssl's X25519 rate that caps it "
                "near %.0f/s; measured %.0f/s\n",
                ossl_x25519 / 4, hpke);
}

int main(int argc, char **argv)
{
    s.pt = calloc(1, AEAD_MAX);
    s.ct = malloc(AEAD_MAX + CRYPTO_AEAD_TAG_LEN);
    if (!s.pt || !s.ct || crypto_random(s.key, sizeof s.key) != 0 ||
        !(s.ctx = crypto_aead_new(CRYPTO_AES256_GCM, s.key)) || hpke_keypair(s.pk_r, s.sk_r) != 0 ||
        crypto_ed25519_keypair(s.ed_pk, s.ed_seed) != 0 ||
        !(s.signer = crypto_signer_new(s.ed_seed)) || crypto_x25519_keypair(s.x_pk, s.x_sk) != 0 ||
        crypto_signer_sign(s.signer, s.sig, s.msg, 20) != 0) {
        fprintf(stderr, "bench_crypto: setup failed\n");
        return 1;
    }
    double load[1];
    if (getloadavg(load, 1) == 1 && load[0] > 1.5)
        fprintf(stderr, "bench_crypto: load average %.1f on this machine: ratios are noisy\n",
                load[0]);
    printf("primitive,size,ours,openssl,unit,ratio\n");
    bench_aead();
    bench_public_key();
    fprintf(stderr, "published (OpenSSL 3.0 on these machines): "
                    "AES-256-GCM 4 KiB 2.1-3.0 GB/s, 16 KiB 3.5-4.1 GB/s; Ed25519 sign 21-27k/s, "
                    "verify 7-9.5k/s; X25519 30.5k/s (libsodium: 1.66 GB/s, 47.7k, 15.6k, "
                    "30.8k)\n");
    if (s.status)
        fprintf(stderr, "bench_crypto: an operation FAILED during timing\n");
    crypto_aead_free(s.ctx);
    crypto_signer_free(s.signer);
    free(s.pt);
    free(s.ct);
    return s.status ? 1 : 0;
}
