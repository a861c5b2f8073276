/* test_asky_format.c -- A-Sky envelopes and objects (asky.h) without an enclave: every member
 * of an envelope (indexed and trial, padded or not) recovers the file key and every other key
 * fails; malformed envelopes are refused; objects round-trip for sizes around the chunk size
 * and are refused when truncated, extended, altered or given another object's envelope. */
#include <cloister/asky.h>
#include <cloister/crypto.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MEMBERS 40

static struct asky_user_keys keys[MEMBERS + 10];

static int setup(void **state)
{
    for (size_t i = 0; i < MEMBERS + 10; i++) {
        uint8_t k[ASKY_KEY_LEN];
        assert_int_equal(crypto_random(k, sizeof k), 0);
        asky_user_keys(&keys[i], k);
    }
    return 0;
}

/* Builds from the raw keys (OpenSSL) or from prepared members (the enclave's path: SHA-NI,
 * AES-NI and PCLMULQDQ where the CPU has them); readers open with OpenSSL, the oracle. */
static int build(bool prepared, enum asky_kind kind, size_t n, unsigned pad, const uint8_t *fk,
                 uint8_t **env, size_t *len, struct cloister_err *err)
{
    if (!prepared)
        return asky_envelope_build(kind, keys, n, pad, fk, env, len, err);
    struct asky_member *m = malloc(n * sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++)
        asky_member_prepare(&m[i], &keys[i]);
    int rc = asky_envelope_build_prepared(kind, m, n, pad, fk, env, len, err);
    for (size_t i = 0; i < n; i++)
        asky_member_wipe(&m[i]);
    free(m);
    return rc;
}

static void check_envelope(enum asky_kind kind, size_t n, unsigned pad, bool prepared)
{
    uint8_t fk[ASKY_KEY_LEN], got[ASKY_KEY_LEN], *env;
    size_t len;
    struct cloister_err err;
    assert_int_equal(crypto_random(fk, sizeof fk), 0);
    assert_int_equal(build(prepared, kind, n, pad, fk, &env, &len, &err), CLOISTER_OK);
    assert_int_equal(len, asky_envelope_size(kind, asky_padded_count(n, pad)));
    for (size_t i = 0; i < MEMBERS + 10; i++) {
        int rc = asky_envelope_open(kind, env, len, &keys[i], got, &err);
        if (i < n) {
            assert_int_equal(rc, CLOISTER_OK);
            assert_memory_equal(got, fk, sizeof fk);
        } else {
            assert_int_equal(rc, CLOISTER_E_DENIED);
        }
    }
    /* one flipped bit in a member's entry: that member fails, cryptographically */
    env[len - 1] ^= 1;
    size_t fails = 0;
    for (size_t i = 0; i < n; i++)
        fails += asky_envelope_open(kind, env, len, &keys[i], got, &err) != CLOISTER_OK;
    assert_true(fails <= 1);
    free(env);
}

static void test_envelopes(void **state)
{
    for (int prepared = 0; prepared < 2; prepared++)
        for (size_t n = 1; n <= MEMBERS; n += 13) {
            check_envelope(ASKY_INDEXED, n, ASKY_PAD_NONE, prepared);
            check_envelope(ASKY_TRIAL, n, ASKY_PAD_NONE, prepared);
            check_envelope(ASKY_INDEXED, n, ASKY_PAD_POW2, prepared);
            check_envelope(ASKY_TRIAL, n, 16, prepared);
        }
    assert_int_equal(asky_padded_count(5, ASKY_PAD_POW2), 8);
    assert_int_equal(asky_padded_count(17, 16), 32);
    assert_int_equal(asky_envelope_size(ASKY_INDEXED, 10), 12 + 640);
}

/* A large prepared envelope: entries sorted by tag (the radix sort), every member opens. */
static void test_envelope_large(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct asky_user_keys *raw = malloc(N * sizeof *raw);
    struct asky_member *m = malloc(N * sizeof *m);
    uint8_t fk[ASKY_KEY_LEN] = {7}, got[ASKY_KEY_LEN], *env;
    size_t len;
    assert_non_null(raw);
    assert_non_null(m);
    for (size_t i = 0; i < N; i++) {
        uint8_t k[ASKY_KEY_LEN];
        assert_int_equal(crypto_random(k, sizeof k), 0);
        asky_user_keys(&raw[i], k);
        asky_member_prepare(&m[i], &raw[i]);
    }
    assert_int_equal(asky_envelope_build_prepared(ASKY_INDEXED, m, N, 1024, fk, &env, &len, NULL),
                     0);
    assert_int_equal(len, asky_envelope_size(ASKY_INDEXED, 5120)); /* 120 padding entries */
    for (size_t i = 1; i < 5120; i++)
        assert_true(memcmp(env + ASKY_NONCE_LEN + (i - 1) * 64, env + ASKY_NONCE_LEN + i * 64,
                           ASKY_TAG_LEN) < 0);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(asky_envelope_open(ASKY_INDEXED, env, len, &raw[i], got, NULL), 0);
        assert_memory_equal(got, fk, sizeof fk);
    }
    free(env);
    free(m);
    free(raw);
}

static void test_envelope_malformed(void **state)
{
    uint8_t buf[12 + 64 * 2] = {0}, got[ASKY_KEY_LEN];
    struct cloister_err err;
    assert_int_equal(asky_envelope_open(ASKY_INDEXED, buf, 11, &keys[0], got, &err),
                     CLOISTER_E_INVALID);
    assert_int_equal(asky_envelope_open(ASKY_INDEXED, buf, 12, &keys[0], got, &err),
                     CLOISTER_E_INVALID);
    assert_int_equal(asky_envelope_open(ASKY_INDEXED, buf, 12 + 63, &keys[0], got, &err),
                     CLOISTER_E_INVALID);
    assert_int_equal(asky_envelope_open(ASKY_INDEXED, buf, sizeof buf, &keys[0], got, &err),
                     CLOISTER_E_DENIED);
    assert_int_equal(asky_envelope_open((enum asky_kind)7, buf, sizeof buf, &keys[0], got, &err),
                     CLOISTER_E_INVALID);
    uint8_t *env;
    size_t len;
    assert_int_equal(asky_envelope_build(ASKY_INDEXED, keys, 0, 0, got, &env, &len, &err),
                     CLOISTER_E_INVALID);
}

/* An object of `size` bytes for the first 3 members, in a memory stream (*obj, *objlen). */
static void make_object(size_t size, uint32_t chunk, uint8_t **pt, char **obj, size_t *objlen)
{
    uint8_t fk[ASKY_KEY_LEN], *env;
    size_t envlen;
    struct cloister_err err;
    *pt = malloc(size + 1);
    assert_int_equal(crypto_random(*pt, size + 1), 0);
    assert_int_equal(crypto_random(fk, sizeof fk), 0);
    assert_int_equal(asky_envelope_build(ASKY_INDEXED, keys, 3, 0, fk, &env, &envlen, &err), 0);
    FILE *in = fmemopen(*pt, size ? size : 1, "rb");
    if (size == 0)
        fgetc(in);
    FILE *out = open_memstream(obj, objlen);
    assert_int_equal(asky_object_write(out, ASKY_INDEXED, env, envlen, fk, chunk, in, &err), 0);
    fclose(in);
    fclose(out);
    free(env);
}

/* Reads the object as member `who`: the code, and the plaintext when it opened. */
static int read_object(const char *obj, size_t len, size_t who, char **pt, size_t *ptlen)
{
    struct cloister_err err;
    FILE *in = fmemopen((void *)obj, len, "rb");
    FILE *out = open_memstream(pt, ptlen);
    int rc = asky_object_read(in, &keys[who], out, &err);
    fclose(in);
    fclose(out);
    return rc;
}

static void test_objects(void **state)
{
    static const size_t sizes[] = {0, 1, 63, 64, 65, 128, 1000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        uint8_t *pt;
        char *obj, *back;
        size_t objlen, backlen;
        make_object(sizes[s], 64, &pt, &obj, &objlen);
        for (size_t who = 0; who < 3; who++) {
            assert_int_equal(read_object(obj, objlen, who, &back, &backlen), CLOISTER_OK);
            assert_int_equal(backlen, sizes[s]);
            if (sizes[s])
                assert_memory_equal(back, pt, sizes[s]);
            free(back);
        }
        assert_int_equal(read_object(obj, objlen, 5, &back, &backlen), CLOISTER_E_DENIED);
        free(back);
        /* cut at every length, and one byte flipped anywhere: refused */
        for (size_t cut = 0; cut < objlen; cut++) {
            assert_int_not_equal(read_object(obj, cut, 0, &back, &backlen), CLOISTER_OK);
            free(back);
        }
        for (size_t i = 0; i < objlen; i += 7) {
            obj[i] ^= 0x20;
            assert_int_not_equal(read_object(obj, objlen, 0, &back, &backlen), CLOISTER_OK);
            free(back);
            obj[i] ^= 0x20;
        }
        /* a byte appended */
        char *longer = malloc(objlen + 1);
        memcpy(longer, obj, objlen);
        longer[objlen] = 0;
        assert_int_not_equal(read_object(longer, objlen + 1, 0, &back, &backlen), CLOISTER_OK);
        free(back);
        free(longer);
        free(pt);
        free(obj);
    }
}

static void test_object_swapped_envelope(void **state)
{
    uint8_t *pt1, *pt2;
    char *a, *b, *back;
    size_t alen, blen, backlen;
    make_object(200, 64, &pt1, &a, &alen);
    make_object(200, 64, &pt2, &b, &blen);
    size_t head = ASKY_HEADER_LEN + 12 + 3 * 64;
    memcpy(a, b, head); /* b's header and envelope over a's chunks */
    assert_int_equal(read_object(a, alen, 0, &back, &backlen), CLOISTER_E_DENIED);
    free(back);
    free(pt1);
    free(pt2);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelopes),
        cmocka_unit_test(test_envelope_large),
        cmocka_unit_test(test_envelope_malformed),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_object_swapped_envelope),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
