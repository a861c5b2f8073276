/* test_pairing_vectors.c -- known answers: RFC 9380's vectors for expand_message_xmd,
 * hash_to_field and both hash-to-curve suites (tests/vectors/pairing/rfc9380.json), and the
 * cross-check vectors computed with @noble/curves by tools/pairing-vectors/generate.mjs
 * (noble.json): scalar multiplications, additions, pairings, GT powers, MSM, hashes and
 * encodings. */
#include <cloister/pairing.h>

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pairing/curve.h"
#include "pairing/field.h"
#include "pairing/hash.h"
#include "testutil.h"

static json_t *rfc, *noble;

static int setup(void **state)
{
    rfc = tu_load_vectors("rfc9380.json");
    noble = tu_load_vectors("noble.json");
    return 0;
}

static int teardown(void **state)
{
    json_decref(rfc);
    json_decref(noble);
    return 0;
}

static void assert_fp_hex(const bls_fp *a, const char *hex)
{
    uint8_t want[48], got[48];
    tu_hex(want, sizeof want, hex);
    bls_fp_to_bytes(got, a);
    assert_memory_equal(got, want, 48);
}

static void assert_bytes_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t *want = malloc(len);
    assert_non_null(want);
    tu_hex(want, len, hex);
    assert_memory_equal(got, want, len);
    free(want);
}

static void rfc_expand_message_xmd(void **state)
{
    size_t i, j;
    json_t *set, *t;
    json_array_foreach(tu_array(rfc, "expand_message_xmd"), i, set)
    {
        const char *dst = tu_str(set, "dst");
        json_array_foreach(tu_array(set, "tests"), j, t)
        {
            const char *msg = tu_str(t, "msg");
            size_t len = (size_t)json_integer_value(json_object_get(t, "len_in_bytes"));
            uint8_t out[128];
            assert_true(len <= sizeof out);
            assert_int_equal(bls_expand_message_xmd(out, len, msg, strlen(msg), dst, strlen(dst)),
                             0);
            assert_bytes_hex(out, len, tu_str(t, "uniform_bytes"));
        }
    }
    uint8_t big[8161];
    assert_int_equal(bls_expand_message_xmd(big, 8161, "", 0, "D", 1), -1); /* ell > 255 */
    assert_int_equal(bls_expand_message_xmd(big, 8160, "", 0, "D", 1), 0);
}

static void rfc_hash_to_curve_g1(void **state)
{
    json_t *suite = json_object_get(rfc, "g1"), *t;
    const char *dst = tu_str(suite, "dst");
    size_t i;
    json_array_foreach(tu_array(suite, "tests"), i, t)
    {
        const char *msg = tu_str(t, "msg");
        bls_fp u[2];
        bls_hash_to_fp(u, 2, msg, strlen(msg), dst, strlen(dst)); /* hash_to_field */
        assert_fp_hex(&u[0], tu_str(t, "u0"));
        assert_fp_hex(&u[1], tu_str(t, "u1"));
        bls_g1 p;
        bls_g1_affine a;
        bls_g1_hash(&p, msg, strlen(msg), dst, strlen(dst));
        assert_true(bls_g1_to_affine(&a, &p));
        assert_fp_hex(&a.x, tu_str(t, "x"));
        assert_fp_hex(&a.y, tu_str(t, "y"));
    }
}

static void rfc_hash_to_curve_g2(void **state)
{
    json_t *suite = json_object_get(rfc, "g2"), *t;
    const char *dst = tu_str(suite, "dst");
    size_t i;
    json_array_foreach(tu_array(suite, "tests"), i, t)
    {
        const char *msg = tu_str(t, "msg");
        bls_g2 p;
        bls_g2_affine a;
        bls_g2_hash(&p, msg, strlen(msg), dst, strlen(dst));
        assert_true(bls_g2_to_affine(&a, &p));
        assert_fp_hex(&a.x.c0, tu_str(t, "x_c0"));
        assert_fp_hex(&a.x.c1, tu_str(t, "x_c1"));
        assert_fp_hex(&a.y.c0, tu_str(t, "y_c0"));
        assert_fp_hex(&a.y.c1, tu_str(t, "y_c1"));
    }
}

static void noble_scalar_multiplication(void **state)
{
    json_t *t;
    size_t i;
    json_array_foreach(tu_array(noble, "mul"), i, t)
    {
        bls_fr k;
        bls_g1 p, d;
        bls_g2 q, e;
        uint8_t b1[BLS_G1_BYTES], b2[BLS_G2_BYTES];
        tu_fr_hex(&k, tu_str(t, "k"));
        bls_g1_mul_gen(&p, &k);
        bls_g1_to_bytes(b1, &p);
        assert_bytes_hex(b1, sizeof b1, tu_str(t, "g1"));
        bls_g1_generator(&d);
        bls_g1_mul(&d, &d, &k);
        assert_true(bls_g1_eq(&d, &p));
        bls_g2_mul_gen(&q, &k);
        bls_g2_to_bytes(b2, &q);
        assert_bytes_hex(b2, sizeof b2, tu_str(t, "g2"));
        bls_g2_generator(&e);
        bls_g2_mul(&e, &e, &k);
        assert_true(bls_g2_eq(&e, &q));
        assert_int_equal(bls_g1_from_bytes(&d, b1), BLS_OK); /* and decoding gets them back */
        assert_true(bls_g1_eq(&d, &p));
        assert_int_equal(bls_g2_from_bytes(&e, b2), BLS_OK);
        assert_true(bls_g2_eq(&e, &q));
    }
}

static void noble_addition(void **state)
{
    json_t *t;
    size_t i;
    json_array_foreach(tu_array(noble, "add"), i, t)
    {
        bls_fr a, b;
        bls_g1 p, q;
        bls_g2 r, s;
        uint8_t b1[BLS_G1_BYTES], b2[BLS_G2_BYTES];
        tu_fr_hex(&a, tu_str(t, "a"));
        tu_fr_hex(&b, tu_str(t, "b"));
        bls_g1_mul_gen(&p, &a);
        bls_g1_mul_gen(&q, &b);
        bls_g1_add(&p, &p, &q);
        bls_g1_to_bytes(b1, &p);
        assert_bytes_hex(b1, sizeof b1, tu_str(t, "g1"));
        bls_g2_mul_gen(&r, &a);
        bls_g2_mul_gen(&s, &b);
        bls_g2_add(&r, &r, &s);
        bls_g2_to_bytes(b2, &r);
        assert_bytes_hex(b2, sizeof b2, tu_str(t, "g2"));
    }
}

static void noble_pairings_and_gt(void **state)
{
    json_t *t;
    size_t i;
    uint8_t enc[BLS_GT_BYTES];
    json_array_foreach(tu_array(noble, "pairing"), i, t)
    {
        bls_fr a, b;
        bls_g1 p;
        bls_g2 q;
        bls_gt e, back;
        tu_fr_hex(&a, tu_str(t, "a"));
        tu_fr_hex(&b, tu_str(t, "b"));
        bls_g1_mul_gen(&p, &a);
        bls_g2_mul_gen(&q, &b);
        bls_pairing(&e, &p, &q);
        bls_gt_to_bytes(enc, &e);
        assert_bytes_hex(enc, sizeof enc, tu_str(t, "gt"));
        assert_int_equal(bls_gt_from_bytes(&back, enc), BLS_OK);
        assert_true(bls_gt_eq(&back, &e));
    }
    bls_g1 g;
    bls_g2 h;
    bls_gt e;
    bls_g1_generator(&g);
    bls_g2_generator(&h);
    bls_pairing(&e, &g, &h);
    json_array_foreach(tu_array(noble, "gt_exp"), i, t)
    {
        bls_fr k;
        bls_gt x;
        tu_fr_hex(&k, tu_str(t, "k"));
        bls_gt_exp(&x, &e, &k);
        bls_gt_to_bytes(enc, &x);
        assert_bytes_hex(enc, sizeof enc, tu_str(t, "gt"));
    }
}

static void noble_msm(void **state)
{
    json_t *msm = json_object_get(noble, "msm");
    json_t *ps = tu_array(msm, "point_scalars"), *ks = tu_array(msm, "scalars");
    size_t n = json_array_size(ps);
    bls_g1 p1[32], r1;
    bls_g2 p2[32], r2;
    bls_fr k[32];
    assert_true(n <= 32 && n == json_array_size(ks));
    for (size_t i = 0; i < n; i++) {
        bls_fr s;
        tu_fr_hex(&s, json_string_value(json_array_get(ps, i)));
        bls_g1_mul_gen(&p1[i], &s);
        bls_g2_mul_gen(&p2[i], &s);
        tu_fr_hex(&k[i], json_string_value(json_array_get(ks, i)));
    }
    uint8_t b1[BLS_G1_BYTES], b2[BLS_G2_BYTES];
    assert_int_equal(bls_g1_msm(&r1, p1, k, n), BLS_OK);
    bls_g1_to_bytes(b1, &r1);
    assert_bytes_hex(b1, sizeof b1, tu_str(msm, "g1"));
    assert_int_equal(bls_g2_msm(&r2, p2, k, n), BLS_OK);
    bls_g2_to_bytes(b2, &r2);
    assert_bytes_hex(b2, sizeof b2, tu_str(msm, "g2"));
}

static void noble_hashes(void **state)
{
    const char *dst = tu_str(noble, "dst");
    json_t *t;
    size_t i;
    json_array_foreach(tu_array(noble, "hashes"), i, t)
    {
        const char *mhex = tu_str(t, "msg");
        size_t len = strlen(mhex) / 2;
        uint8_t msg[64], b1[BLS_G1_BYTES], b2[BLS_G2_BYTES], xmd[100], frb[32];
        tu_hex(msg, len, mhex);
        bls_g1 p;
        bls_g2 q;
        bls_fr h;
        bls_g1_hash(&p, msg, len, dst, strlen(dst));
        bls_g1_to_bytes(b1, &p);
        assert_bytes_hex(b1, sizeof b1, tu_str(t, "g1"));
        bls_g2_hash(&q, msg, len, dst, strlen(dst));
        bls_g2_to_bytes(b2, &q);
        assert_bytes_hex(b2, sizeof b2, tu_str(t, "g2"));
        bls_hash_to_fr(&h, msg, len, dst, strlen(dst));
        bls_fr_to_bytes(frb, &h);
        assert_bytes_hex(frb, sizeof frb, tu_str(t, "fr"));
        bls_fp u[4];
        bls_hash_to_fp(u, 4, msg, len, dst, strlen(dst));
        json_t *fp2 = json_object_get(t, "fp2_u");
        for (int e = 0; e < 2; e++)
            for (int c = 0; c < 2; c++)
                assert_fp_hex(&u[2 * e + c],
                              json_string_value(json_array_get(json_array_get(fp2, e), c)));
        assert_int_equal(bls_expand_message_xmd(xmd, sizeof xmd, msg, len, dst, strlen(dst)), 0);
        assert_bytes_hex(xmd, sizeof xmd, tu_str(t, "xmd_100"));
    }
}

static void noble_encodings(void **state)
{
    json_t *enc = json_object_get(noble, "encodings");
    uint8_t b1[BLS_G1_BYTES], b2[BLS_G2_BYTES];
    bls_g1 p;
    bls_g2 q;
    bls_g1_identity(&p);
    bls_g1_to_bytes(b1, &p);
    assert_bytes_hex(b1, sizeof b1, tu_str(enc, "g1_identity"));
    bls_g2_identity(&q);
    bls_g2_to_bytes(b2, &q);
    assert_bytes_hex(b2, sizeof b2, tu_str(enc, "g2_identity"));
    bls_g1_generator(&p);
    bls_g1_to_bytes(b1, &p);
    assert_bytes_hex(b1, sizeof b1, tu_str(enc, "g1_gen"));
    bls_g2_generator(&q);
    bls_g2_to_bytes(b2, &q);
    assert_bytes_hex(b2, sizeof b2, tu_str(enc, "g2_gen"));
    bls_g1_neg(&p, &p);
    bls_g1_to_bytes(b1, &p);
    assert_bytes_hex(b1, sizeof b1, tu_str(enc, "g1_neg_gen"));
    bls_g2_neg(&q, &q);
    bls_g2_to_bytes(b2, &q);
    assert_bytes_hex(b2, sizeof b2, tu_str(enc, "g2_neg_gen"));
}

int main(void)
{
    tu_fp_path();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc_expand_message_xmd),
        cmocka_unit_test(rfc_hash_to_curve_g1),
        cmocka_unit_test(rfc_hash_to_curve_g2),
        cmocka_unit_test(noble_scalar_multiplication),
        cmocka_unit_test(noble_addition),
        cmocka_unit_test(noble_pairings_and_gt),
        cmocka_unit_test(noble_msm),
        cmocka_unit_test(noble_hashes),
        cmocka_unit_test(noble_encodings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
