/* test_crypto.c -- the primitives of crypto.h: published vectors, differential checks against
 * OpenSSL's own HMAC and HKDF, and every way an AEAD open or a signature check must fail
 * (tampered bytes, wrong AAD, truncation, low-order points, non-canonical signatures). Inputs
 * come from a seeded generator so a failure replays. */
#include <cloister/crypto.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "util/hex.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng_next();
}

static size_t unhex(uint8_t *out, size_t max, const char *hex)
{
    long n = hex_decode(out, max, hex, strlen(hex));
    assert_true(n >= 0);
    return (size_t)n;
}

static void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[256];
    assert_int_equal(unhex(want, sizeof want, hex), len);
    assert_memory_equal(got, want, len);
}

static const enum crypto_aead_alg all_aeads[] = {CRYPTO_AES128_GCM, CRYPTO_AES256_GCM,
                                                 CRYPTO_CHACHA20_POLY1305};
#define NAEADS (sizeof all_aeads / sizeof all_aeads[0])

static void selftest_passes(void **state)
{
    const char *what = "unset";
    if (crypto_selftest(&what) != 0)
        fail_msg("self-test failed at %s", what);
    assert_null(what);
}

static void random_memeq_wipe(void **state)
{
    uint8_t a[64], b[64], zero[64] = {0};
    assert_int_equal(crypto_random(a, 0), 0);
    assert_int_equal(crypto_random(a, sizeof a), 0);
    assert_int_equal(crypto_random(b, sizeof b), 0);
    assert_false(crypto_memeq(a, b, sizeof a));
    memcpy(b, a, sizeof a);
    assert_true(crypto_memeq(a, b, sizeof a));
    b[63] ^= 0x80;
    assert_false(crypto_memeq(a, b, sizeof a));
    crypto_wipe(a, sizeof a);
    assert_memory_equal(a, zero, sizeof a);

    size_t big = 1 << 20;
    uint8_t *p = calloc(1, big);
    assert_non_null(p);
    assert_int_equal(crypto_random(p, big), 0);
    size_t zeros = 0;
    for (size_t i = 0; i < big; i++)
        zeros += p[i] == 0;
    assert_true(zeros < big / 128); /* expected 4096 of 1 MiB */
    free(p);
}

static void sha_long_and_incremental(void **state)
{
    size_t n = 1000000;
    uint8_t *a = malloc(n), d[CRYPTO_SHA512_LEN], inc[CRYPTO_SHA512_LEN];
    assert_non_null(a);
    memset(a, 'a', n);
    crypto_sha256(d, a, n);
    assert_hex(d, CRYPTO_SHA256_LEN,
               "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    rng_fill(a, n);
    for (int alg = 0; alg < 2; alg++) {
        size_t len = alg ? CRYPTO_SHA512_LEN : CRYPTO_SHA256_LEN;
        if (alg)
            crypto_sha512(d, a, n);
        else
            crypto_sha256(d, a, n);
        crypto_hash *h = crypto_hash_new(alg ? CRYPTO_HASH_SHA512 : CRYPTO_HASH_SHA256);
        assert_non_null(h);
        for (size_t off = 0; off < n;) {
            size_t step = rng_next() % 5000;
            step = step > n - off ? n - off : step;
            crypto_hash_update(h, a + off, step);
            off += step;
        }
        crypto_hash_final(h, inc);
        assert_memory_equal(d, inc, len);
    }
    assert_null(crypto_hash_new((enum crypto_hash_alg)7));
    free(a);
}

static void hmac_vectors_and_openssl(void **state)
{
    uint8_t key[200], msg[300], ours[CRYPTO_SHA256_LEN], theirs[CRYPTO_SHA256_LEN];
    static const char tc6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    memset(key, 0xaa, 131);
    crypto_hmac_sha256(ours, key, 131, tc6, sizeof tc6 - 1); /* RFC 4231 test case 6 */
    assert_hex(ours, sizeof ours,
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    for (int i = 0; i < 300; i++) {
        size_t keylen = rng_next() % sizeof key, len = rng_next() % sizeof msg, outlen = 0;
        rng_fill(key, keylen);
        rng_fill(msg, len);
        crypto_hmac_sha256(ours, key, keylen, msg, len);
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, msg, len, theirs,
                                  sizeof theirs, &outlen));
        assert_int_equal(outlen, sizeof theirs);
        assert_memory_equal(ours, theirs, sizeof ours);
    }
}

static void openssl_hkdf(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen,
                         const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen),
        OSSL_PARAM_construct_end(),
    };
    assert_int_equal(EVP_KDF_derive(ctx, out, outlen, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

static void hkdf_vectors_limits_and_openssl(void **state)
{
    uint8_t ikm[100], salt[100], info[100], prk[CRYPTO_SHA256_LEN], ours[600], theirs[600];
    memset(ikm, 0x0b, 22);
    crypto_hkdf_extract(prk, NULL, 0, ikm, 22); /* RFC 5869 test case 3: no salt, no info */
    assert_hex(prk, sizeof prk, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
    assert_int_equal(crypto_hkdf(ours, 42, NULL, 0, ikm, 22, NULL, 0), 0);
    assert_hex(ours, 42,
               "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
               "9d201395faa4b61a96c8");

    uint8_t *max = malloc(255 * 32 + 1);
    assert_non_null(max);
    assert_int_equal(crypto_hkdf_expand(max, 255 * 32, prk, NULL, 0), 0);
    assert_int_equal(crypto_hkdf_expand(max, 255 * 32 + 1, prk, NULL, 0), -1);
    free(max);

    for (int i = 0; i < 100; i++) {
        size_t ikmlen = 1 + rng_next() % 99, saltlen = 1 + rng_next() % 99,
               infolen = rng_next() % 100, outlen = 1 + rng_next() % 599;
        rng_fill(ikm, ikmlen);
        rng_fill(salt, saltlen);
        rng_fill(info, infolen);
        assert_int_equal(crypto_hkdf(ours, outlen, salt, saltlen, ikm, ikmlen, info, infolen), 0);
        openssl_hkdf(theirs, outlen, salt, saltlen, ikm, ikmlen, info, infolen);
        assert_memory_equal(ours, theirs, outlen);
    }
}

/* Every size through one-shot and keyed context: same ciphertext, and both open it. */
static void aead_round_trips(void **state)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 255, 4096, 65537};
    for (size_t a = 0; a < NAEADS; a++) {
        uint8_t key[CRYPTO_AEAD_KEY_MAX], nonce[CRYPTO_AEAD_NONCE_LEN], aad[40];
        rng_fill(key, sizeof key);
        rng_fill(aad, sizeof aad);
        crypto_aead *ctx = crypto_aead_new(all_aeads[a], key);
        assert_non_null(ctx);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = sizes[s];
            uint8_t *pt = malloc(n + 1), *ct1 = malloc(n + 16), *ct2 = malloc(n + 16),
                    *back = malloc(n + 1);
            assert_true(pt && ct1 && ct2 && back);
            size_t aadlen = 5 * s;
            rng_fill(pt, n);
            rng_fill(nonce, sizeof nonce);
            assert_int_equal(crypto_aead_seal(all_aeads[a], key, nonce, aad, aadlen, pt, n, ct1),
                             0);
            assert_int_equal(crypto_aead_ctx_seal(ctx, nonce, aad, aadlen, pt, n, ct2), 0);
            assert_memory_equal(ct1, ct2, n + 16);
            assert_int_equal(
                crypto_aead_open(all_aeads[a], key, nonce, aad, aadlen, ct2, n + 16, back), 0);
            assert_memory_equal(back, pt, n);
            memset(back, 0, n);
            assert_int_equal(crypto_aead_ctx_open(ctx, nonce, aad, aadlen, ct1, n + 16, back), 0);
            assert_memory_equal(back, pt, n);
            free(pt);
            free(ct1);
            free(ct2);
            free(back);
        }
        crypto_aead_free(ctx);
    }
}

static void assert_open_fails_and_wipes(crypto_aead *ctx, const uint8_t *nonce, const uint8_t *aad,
                                        size_t aadlen, const uint8_t *ct, size_t ctlen)
{
    uint8_t pt[64], zero[64] = {0};
    memset(pt, 0xa5, sizeof pt);
    assert_int_equal(crypto_aead_ctx_open(ctx, nonce, aad, aadlen, ct, ctlen, pt), -1);
    if (ctlen >= CRYPTO_AEAD_TAG_LEN)
        assert_memory_equal(pt, zero, ctlen - CRYPTO_AEAD_TAG_LEN);
}

/* Flipping any bit of ciphertext, tag, AAD or nonce, or cutting the ciphertext, is refused. */
static void aead_tamper_refused(void **state)
{
    for (size_t a = 0; a < NAEADS; a++) {
        uint8_t key[CRYPTO_AEAD_KEY_MAX], nonce[CRYPTO_AEAD_NONCE_LEN], aad[13], pt[40],
            ct[40 + 16], back[40];
        rng_fill(key, sizeof key);
        rng_fill(nonce, sizeof nonce);
        rng_fill(aad, sizeof aad);
        rng_fill(pt, sizeof pt);
        crypto_aead *ctx = crypto_aead_new(all_aeads[a], key);
        assert_non_null(ctx);
        assert_int_equal(crypto_aead_ctx_seal(ctx, nonce, aad, sizeof aad, pt, sizeof pt, ct), 0);
        for (size_t i = 0; i < sizeof ct; i++) {
            ct[i] ^= (uint8_t)(1u << (i % 8));
            assert_open_fails_and_wipes(ctx, nonce, aad, sizeof aad, ct, sizeof ct);
            ct[i] ^= (uint8_t)(1u << (i % 8));
        }
        for (size_t i = 0; i < sizeof aad; i++) {
            aad[i] ^= 0x01;
            assert_open_fails_and_wipes(ctx, nonce, aad, sizeof aad, ct, sizeof ct);
            aad[i] ^= 0x01;
        }
        for (size_t i = 0; i < sizeof nonce; i++) {
            nonce[i] ^= 0x80;
            assert_open_fails_and_wipes(ctx, nonce, aad, sizeof aad, ct, sizeof ct);
            nonce[i] ^= 0x80;
        }
        assert_open_fails_and_wipes(ctx, nonce, NULL, 0, ct, sizeof ct);             /* no AAD */
        assert_open_fails_and_wipes(ctx, nonce, aad, sizeof aad - 1, ct, sizeof ct); /* short */
        for (size_t len = 0; len < sizeof ct; len++)
            assert_open_fails_and_wipes(ctx, nonce, aad, sizeof aad, ct, len);
        /* With a wrong key: another context. */
        key[0] ^= 1;
        crypto_aead *other = crypto_aead_new(all_aeads[a], key);
        assert_non_null(other);
        assert_open_fails_and_wipes(other, nonce, aad, sizeof aad, ct, sizeof ct);
        crypto_aead_free(other);
        /* And after all those failures the context still opens the real message. */
        assert_int_equal(crypto_aead_ctx_open(ctx, nonce, aad, sizeof aad, ct, sizeof ct, back), 0);
        assert_memory_equal(back, pt, sizeof pt);
        crypto_aead_free(ctx);
    }
}

static void aead_in_place(void **state)
{
    for (size_t a = 0; a < NAEADS; a++) {
        uint8_t key[CRYPTO_AEAD_KEY_MAX], nonce[CRYPTO_AEAD_NONCE_LEN], buf[1000 + 16], pt[1000],
            ref[1000 + 16];
        rng_fill(key, sizeof key);
        rng_fill(nonce, sizeof nonce);
        rng_fill(pt, sizeof pt);
        memcpy(buf, pt, sizeof pt);
        assert_int_equal(crypto_aead_seal(all_aeads[a], key, nonce, "x", 1, pt, sizeof pt, ref), 0);
        assert_int_equal(crypto_aead_seal(all_aeads[a], key, nonce, "x", 1, buf, sizeof pt, buf),
                         0);
        assert_memory_equal(buf, ref, sizeof ref);
        assert_int_equal(crypto_aead_open(all_aeads[a], key, nonce, "x", 1, buf, sizeof buf, buf),
                         0);
        assert_memory_equal(buf, pt, sizeof pt);
    }
}

static void aead_bad_arguments(void **state)
{
    uint8_t key[32] = {0}, nonce[12] = {0}, ct[16];
    assert_int_equal(crypto_aead_key_len(CRYPTO_AES128_GCM), 16);
    assert_int_equal(crypto_aead_key_len(CRYPTO_AES256_GCM), 32);
    assert_int_equal(crypto_aead_key_len(CRYPTO_CHACHA20_POLY1305), 32);
    assert_int_equal(crypto_aead_key_len((enum crypto_aead_alg)42), 0);
    assert_null(crypto_aead_new((enum crypto_aead_alg)42, key));
    assert_int_equal(crypto_aead_seal((enum crypto_aead_alg)42, key, nonce, NULL, 0, NULL, 0, ct),
                     -1);
    crypto_aead_free(NULL);
}

static void x25519_iterated(void **state)
{
    uint8_t k[32] = {9}, u[32] = {9}, r[32];
    for (int i = 1; i <= 1000; i++) {
        assert_int_equal(crypto_x25519(r, k, u), 0);
        memcpy(u, k, 32);
        memcpy(k, r, 32);
        if (i == 1)
            assert_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
    assert_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

/* Points of small order (and their non-canonical encodings) give an all-zero secret. */
static void x25519_low_order_refused(void **state)
{
    static const char *points[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    };
    uint8_t pk[32], sk[32], point[32], shared[32], zero[32] = {0};
    assert_int_equal(crypto_x25519_keypair(pk, sk), 0);
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        unhex(point, sizeof point, points[i]);
        memset(shared, 0x55, sizeof shared);
        assert_int_equal(crypto_x25519(shared, sk, point), -1);
        assert_memory_equal(shared, zero, sizeof shared);
    }
}

static void x25519_agreement(void **state)
{
    for (int i = 0; i < 20; i++) {
        uint8_t apk[32], ask[32], bpk[32], bsk[32], s1[32], s2[32], pk[32];
        assert_int_equal(crypto_x25519_keypair(apk, ask), 0);
        assert_int_equal(crypto_x25519_keypair(bpk, bsk), 0);
        assert_int_equal(crypto_x25519_public(pk, ask), 0);
        assert_memory_equal(pk, apk, 32);
        assert_int_equal(crypto_x25519(s1, ask, bpk), 0);
        assert_int_equal(crypto_x25519(s2, bsk, apk), 0);
        assert_memory_equal(s1, s2, 32);
    }
}

/* Adds the group order L to the S half of a signature: same value mod L, but non-canonical. */
static void add_order_to_s(uint8_t sig[64])
{
    uint8_t l[32];
    unhex(l, sizeof l, "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        carry += sig[32 + i] + l[i];
        sig[32 + i] = (uint8_t)carry;
        carry >>= 8;
    }
}

static void ed25519_bad_signatures(void **state)
{
    uint8_t pk[32], seed[32], other_pk[32], other_seed[32], sig[64], bad[64], msg[100];
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    assert_int_equal(crypto_ed25519_keypair(other_pk, other_seed), 0);
    rng_fill(msg, sizeof msg);
    assert_int_equal(crypto_ed25519_sign(sig, msg, sizeof msg, seed), 0);
    assert_int_equal(crypto_ed25519_verify(sig, msg, sizeof msg, pk), 0);
    for (size_t i = 0; i < 64; i++) {
        memcpy(bad, sig, 64);
        bad[i] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(crypto_ed25519_verify(bad, msg, sizeof msg, pk), -1);
    }
    memcpy(bad, sig, 64);
    add_order_to_s(bad);
    assert_int_equal(crypto_ed25519_verify(bad, msg, sizeof msg, pk), -1);
    memset(bad, 0, 64);
    assert_int_equal(crypto_ed25519_verify(bad, msg, sizeof msg, pk), -1);
    assert_int_equal(crypto_ed25519_verify(sig, msg, sizeof msg - 1, pk), -1);
    msg[0] ^= 1;
    assert_int_equal(crypto_ed25519_verify(sig, msg, sizeof msg, pk), -1);
    msg[0] ^= 1;
    assert_int_equal(crypto_ed25519_verify(sig, msg, sizeof msg, other_pk), -1);
}

static void ed25519_signer_matches_one_shot(void **state)
{
    uint8_t pk[32], seed[32], derived[32], s1[64], s2[64], msg[777];
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    assert_int_equal(crypto_ed25519_public(derived, seed), 0);
    assert_memory_equal(derived, pk, 32);
    crypto_signer *signer = crypto_signer_new(seed);
    assert_non_null(signer);
    for (size_t len = 0; len < sizeof msg; len += 97) {
        rng_fill(msg, len);
        assert_int_equal(crypto_signer_sign(signer, s1, msg, len), 0);
        assert_int_equal(crypto_ed25519_sign(s2, msg, len, seed), 0);
        assert_memory_equal(s1, s2, 64); /* Ed25519 is deterministic */
        assert_int_equal(crypto_ed25519_verify(s1, msg, len, pk), 0);
    }
    crypto_signer_free(signer);
    crypto_signer_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selftest_passes),
        cmocka_unit_test(random_memeq_wipe),
        cmocka_unit_test(sha_long_and_incremental),
        cmocka_unit_test(hmac_vectors_and_openssl),
        cmocka_unit_test(hkdf_vectors_limits_and_openssl),
        cmocka_unit_test(aead_round_trips),
        cmocka_unit_test(aead_tamper_refused),
        cmocka_unit_test(aead_in_place),
        cmocka_unit_test(aead_bad_arguments),
        cmocka_unit_test(x25519_iterated),
        cmocka_unit_test(x25519_low_order_refused),
        cmocka_unit_test(x25519_agreement),
        cmocka_unit_test(ed25519_bad_signatures),
        cmocka_unit_test(ed25519_signer_matches_one_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
