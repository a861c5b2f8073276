/* test_tee_seal.c -- sealing: round trips for both policies, the documented blob format
 * checked by an independent oracle (HKDF + AES-GCM computed here from the platform's secret
 * file), and refusal of every tampered byte, every truncation, a wrong AAD, another identity,
 * platform, product or debug mode, and a blob sealed at a higher security version. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cloister/crypto.h>
#include <cloister/tee_trust.h>

#include "helpers.h"

static tee_platform *plat;

static int setup(void **state)
{
    plat = th_platform("seal-platform");
    return 0;
}

static int teardown(void **state)
{
    tee_platform_free(plat);
    return 0;
}

static uint8_t *seal(tee_self *s, enum tee_seal_policy policy, const char *aad, const void *pt,
                     size_t len, size_t *blob_len)
{
    uint8_t *blob = malloc(tee_sealed_size(len));
    assert_int_equal(tee_seal(s, policy, aad, aad ? strlen(aad) : 0, pt, len, blob,
                              tee_sealed_size(len), blob_len, NULL),
                     0);
    assert_int_equal(*blob_len, tee_sealed_size(len));
    return blob;
}

/* 0 and the plaintext in out, or -1 with err. */
static int unseal(tee_self *s, const uint8_t *blob, size_t len, const char *aad, uint8_t *out,
                  size_t *out_len, struct cloister_err *err)
{
    return tee_unseal(s, blob, len, aad, aad ? strlen(aad) : 0, out, len, out_len, err);
}

static void expect_unseal_error(tee_self *s, const uint8_t *blob, size_t len, const char *aad,
                                const char *want)
{
    uint8_t *out = malloc(len + 1);
    size_t n;
    struct cloister_err err = {0};
    th_refused(unseal(s, blob, len, aad, out, &n, &err), &err);
    if (!strstr(err.msg, want))
        fail_msg("got '%s', want '%s'", err.msg, want);
    free(out);
}

static void round_trips(void **state)
{
    tee_self *s = th_self(plat, "image A", 1, 2, 0x31);
    size_t sizes[] = {0, 1, 15, 16, 4096, 1 << 20};
    char big_aad[2000];
    memset(big_aad, 'a', sizeof big_aad - 1);
    big_aad[sizeof big_aad - 1] = 0;
    const char *aads[] = {NULL, "record 7", big_aad};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int policy = TEE_SEAL_MRENCLAVE; policy <= TEE_SEAL_MRSIGNER; policy++) {
            for (size_t a = 0; a < 3; a++) {
                uint8_t *pt = malloc(sizes[i] + 1);
                assert_int_equal(crypto_random(pt, sizes[i]), 0);
                size_t blob_len, n;
                uint8_t *blob = seal(s, policy, aads[a], pt, sizes[i], &blob_len);
                uint8_t *out = malloc(blob_len);
                struct cloister_err err = {0};
                if (unseal(s, blob, blob_len, aads[a], out, &n, &err))
                    fail_msg("%s", err.msg);
                assert_int_equal(n, sizes[i]);
                assert_memory_equal(out, pt, n);
                struct tee_sealed_view v;
                assert_int_equal(tee_sealed_parse(&v, blob, blob_len, &err), 0);
                assert_int_equal(v.policy, policy);
                assert_int_equal(v.product_id, 1);
                assert_int_equal(v.svn, 2);
                assert_int_equal(v.ciphertext_len, sizes[i] + 16);
                free(out);
                free(blob);
                free(pt);
            }
        }
    }
    /* Too small an output buffer is refused, not overrun. */
    uint8_t small[TEE_SEAL_OVERHEAD + 3];
    size_t n;
    assert_int_equal(
        tee_seal(s, TEE_SEAL_MRENCLAVE, NULL, 0, "abcd", 4, small, sizeof small, &n, NULL),
        CLOISTER_E_TOO_BIG);
    assert_int_equal(tee_seal(s, (enum tee_seal_policy)3, NULL, 0, "abcd", 4, small, 100, &n, NULL),
                     CLOISTER_E_INVALID);
    size_t blob_len;
    uint8_t *blob = seal(s, TEE_SEAL_MRENCLAVE, NULL, "abcd", 4, &blob_len);
    uint8_t out[3];
    struct cloister_err err;
    assert_int_equal(tee_unseal(s, blob, blob_len, NULL, 0, out, sizeof out, &n, &err),
                     CLOISTER_E_TOO_BIG);
    assert_non_null(strstr(err.msg, "too small"));
    free(blob);
    tee_self_free(s);
}

/* The documented format, recomputed from the platform's secret file with crypto.h only. */
static void format_matches_oracle(void **state)
{
    tee_self *s = th_self(plat, "image oracle", 0x0102, 0x0304, 0x32);
    const struct tee_identity *id = tee_self_identity(s);
    const char msg[] = "the quick brown fox";
    size_t blob_len;
    uint8_t *blob = seal(s, TEE_SEAL_MRSIGNER, "aad!", msg, sizeof msg, &blob_len);

    char path[4200];
    snprintf(path, sizeof path, "%s/seal-platform/platform/secrets", getenv("CLOISTER_HOME"));
    size_t len;
    uint8_t *sec = th_read(path, &len);
    assert_memory_equal(sec, "CLPS\0\1", 6);
    const uint8_t *root = sec + 6 + 1; /* varint length 32, then the root secret */
    uint8_t prk[32], key[32], info[128];
    crypto_hkdf_extract(prk, "cloister-platform-v1", 21, root, 32);
    size_t n = 0;
    memcpy(info, "cloister-seal-v1", 17);
    n = 17;
    info[n++] = TEE_SEAL_MRSIGNER;
    memcpy(info + n, id->mrsigner, 32);
    n += 32;
    info[n++] = 0x01;
    info[n++] = 0x02;
    info[n++] = 0x03;
    info[n++] = 0x04;
    info[n++] = 0; /* not debug */
    assert_memory_equal(blob, "CLSL\0\1", 6);
    assert_int_equal(blob[6], TEE_SEAL_MRSIGNER);
    assert_int_equal(blob[7] << 8 | blob[8], 0x0102);
    assert_int_equal(blob[9] << 8 | blob[10], 0x0304);
    memcpy(info + n, blob + 11, 32); /* key id */
    n += 32;
    assert_int_equal(crypto_hkdf_expand(key, 32, prk, info, n), 0);
    const uint8_t *nonce = blob + 43;
    uint32_t ct_len = (uint32_t)blob[55] << 24 | blob[56] << 16 | blob[57] << 8 | blob[58];
    assert_int_equal(ct_len, sizeof msg + 16);
    uint8_t aad[59 + 4], out[sizeof msg];
    memcpy(aad, blob, 59);
    memcpy(aad + 59, "aad!", 4);
    assert_int_equal(
        crypto_aead_open(CRYPTO_AES256_GCM, key, nonce, aad, sizeof aad, blob + 59, ct_len, out),
        0);
    assert_memory_equal(out, msg, sizeof msg);
    crypto_wipe(sec, len);
    free(sec);
    free(blob);
    tee_self_free(s);
}

/* One key id per sealing instance and policy; within it every blob has its own nonce. */
static void key_ids_and_nonces(void **state)
{
    tee_self *a = th_self(plat, "image N", 0, 0, 0x34);
    tee_self *b = th_self(plat, "image N", 0, 0, 0x34);
    struct tee_sealed_view v[3], w;
    uint8_t *blobs[3];
    size_t len;
    struct cloister_err err;
    for (int i = 0; i < 3; i++) {
        blobs[i] = seal(a, TEE_SEAL_MRENCLAVE, NULL, "x", 1, &len);
        assert_int_equal(tee_sealed_parse(&v[i], blobs[i], len, &err), 0);
    }
    for (int i = 1; i < 3; i++) {
        assert_memory_equal(v[i].key_id, v[0].key_id, 32);
        for (int j = 0; j < i; j++)
            assert_memory_not_equal(v[i].nonce, v[j].nonce, 12);
    }
    uint8_t *other = seal(a, TEE_SEAL_MRSIGNER, NULL, "x", 1, &len);
    assert_int_equal(tee_sealed_parse(&w, other, len, &err), 0);
    assert_memory_not_equal(w.key_id, v[0].key_id, 32);
    free(other);
    other = seal(b, TEE_SEAL_MRENCLAVE, NULL, "x", 1, &len);
    assert_int_equal(tee_sealed_parse(&w, other, len, &err), 0);
    assert_memory_not_equal(w.key_id, v[0].key_id, 32);
    free(other);
    for (int i = 0; i < 3; i++)
        free(blobs[i]);
    tee_self_free(a);
    tee_self_free(b);
}

static void tampering_refused(void **state)
{
    tee_self *s = th_self(plat, "image T", 0, 0, 0x33);
    size_t blob_len;
    uint8_t *blob = seal(s, TEE_SEAL_MRENCLAVE, "ctx", "secret!", 7, &blob_len);
    for (size_t i = 0; i < blob_len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            blob[i] ^= (uint8_t)(1 << bit);
            uint8_t out[64];
            size_t n;
            struct cloister_err err = {0};
            th_refused(tee_unseal(s, blob, blob_len, "ctx", 3, out, sizeof out, &n, &err), &err);
            assert_true(err.msg[0]);
            blob[i] ^= (uint8_t)(1 << bit);
        }
    }
    for (size_t n = 0; n < blob_len; n++)
        expect_unseal_error(s, blob, n, "ctx", n < 59 ? "malformed" : "truncated");
    uint8_t *longer = malloc(blob_len + 1);
    memcpy(longer, blob, blob_len);
    longer[blob_len] = 0;
    expect_unseal_error(s, longer, blob_len + 1, "ctx", "trailing bytes");
    free(longer);
    expect_unseal_error(s, blob, blob_len, "CTX", "authentication failed");
    expect_unseal_error(s, blob, blob_len, NULL, "authentication failed");
    expect_unseal_error(s, blob, blob_len, "ctx2", "authentication failed");
    blob[6] = 9;
    expect_unseal_error(s, blob, blob_len, "ctx", "unknown sealing policy");
    free(blob);
    tee_self_free(s);
}

static void identities(void **state)
{
    tee_self *a = th_self(plat, "image A", 5, 3, 0x40);
    tee_self *a_again = th_self(plat, "image A", 5, 3, 0x40); /* a restart */
    tee_self *b = th_self(plat, "image B", 5, 3, 0x40);       /* same signer */
    tee_self *c = th_self(plat, "image A", 5, 3, 0x41);       /* other signer */
    tee_self *older = th_self(plat, "image B", 5, 2, 0x40);
    tee_self *newer = th_self(plat, "image C", 5, 4, 0x40);
    tee_self *other_product = th_self(plat, "image B", 6, 3, 0x40);
    tee_platform *plat2 = th_platform("seal-platform-2");
    tee_self *elsewhere = th_self(plat2, "image A", 5, 3, 0x40);

    size_t le, ls, n;
    uint8_t *by_enclave = seal(a, TEE_SEAL_MRENCLAVE, NULL, "enclave only", 12, &le);
    uint8_t *by_signer = seal(a, TEE_SEAL_MRSIGNER, NULL, "signer family", 13, &ls);
    uint8_t out[64];
    struct cloister_err err = {0};

    /* The same enclave after a restart reads both. */
    assert_int_equal(unseal(a_again, by_enclave, le, NULL, out, &n, &err), 0);
    assert_int_equal(unseal(a_again, by_signer, ls, NULL, out, &n, &err), 0);
    /* MRSIGNER: shared across two images of one signer, newer versions read older blobs. */
    assert_int_equal(unseal(b, by_signer, ls, NULL, out, &n, &err), 0);
    assert_memory_equal(out, "signer family", 13);
    assert_int_equal(unseal(newer, by_signer, ls, NULL, out, &n, &err), 0);
    expect_unseal_error(older, by_signer, ls, NULL,
                        "sealed at security version 3, above this "
                        "enclave's 2");
    expect_unseal_error(other_product, by_signer, ls, NULL, "product id 5");
    expect_unseal_error(c, by_signer, ls, NULL, "authentication failed");
    /* MRENCLAVE: no other measurement. As in SGX it does not involve the signer: the same
     * bytes and config signed by someone else are the same enclave. */
    expect_unseal_error(b, by_enclave, le, NULL, "authentication failed");
    assert_int_equal(unseal(c, by_enclave, le, NULL, out, &n, &err), 0);
    expect_unseal_error(newer, by_enclave, le, NULL, "authentication failed");
    /* Another platform derives other keys. */
    expect_unseal_error(elsewhere, by_enclave, le, NULL, "authentication failed");
    expect_unseal_error(elsewhere, by_signer, ls, NULL, "authentication failed");

    /* A debug build of the same signer and product does not read production blobs. */
    struct tee_config cfg;
    tee_config_default(&cfg);
    cfg.product_id = 5;
    cfg.svn = 3;
    cfg.debug = true;
    struct tee_identity id;
    th_identity(&id, "image debug", &cfg, 0x40);
    tee_self *debug = tee_self_new(&id, plat, &err);
    assert_non_null(debug);
    expect_unseal_error(debug, by_signer, ls, NULL, "authentication failed");

    free(by_enclave);
    free(by_signer);
    tee_self *all[] = {a, a_again, b, c, older, newer, other_product, elsewhere, debug};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tee_self_free(all[i]);
    tee_platform_free(plat2);
}

/* Many blobs, many key ids (the cache holds 8): every one still opens. */
static void key_cache(void **state)
{
    tee_self *s = th_self(plat, "image K", 0, 0, 0x50);
    tee_self *writers[12];
    uint8_t *blobs[12];
    size_t lens[12], n;
    for (int i = 0; i < 12; i++) {
        writers[i] = th_self(plat, "image K", 0, 0, 0x50); /* each draws its own key id */
        blobs[i] = seal(writers[i], TEE_SEAL_MRENCLAVE, NULL, &i, sizeof i, &lens[i]);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 12; i++) {
            int back;
            struct cloister_err err;
            assert_int_equal(
                tee_unseal(s, blobs[i], lens[i], NULL, 0, (uint8_t *)&back, sizeof back, &n, &err),
                0);
            assert_int_equal(back, i);
        }
    for (int i = 0; i < 12; i++) {
        free(blobs[i]);
        tee_self_free(writers[i]);
    }
    tee_self_free(s);
}

static void *hammer(void *arg)
{
    tee_self *s = arg;
    for (int i = 0; i < 500; i++) {
        uint8_t pt[100], blob[100 + TEE_SEAL_OVERHEAD], out[100];
        size_t bl, n;
        memset(pt, i, sizeof pt);
        if (tee_seal(s, i & 1 ? TEE_SEAL_MRSIGNER : TEE_SEAL_MRENCLAVE, NULL, 0, pt, sizeof pt,
                     blob, sizeof blob, &bl, NULL) ||
            tee_unseal(s, blob, bl, NULL, 0, out, sizeof out, &n, NULL) ||
            memcmp(out, pt, sizeof pt) != 0)
            return (void *)1;
    }
    return NULL;
}

static void threads(void **state)
{
    tee_self *s = th_self(plat, "image MT", 0, 0, 0x51);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, s), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        assert_null(rc);
    }
    tee_self_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(format_matches_oracle),
        cmocka_unit_test(key_ids_and_nonces),
        cmocka_unit_test(tampering_refused),
        cmocka_unit_test(identities),
        cmocka_unit_test(key_cache),
        cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
