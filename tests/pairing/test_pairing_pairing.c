/* test_pairing_pairing.c -- the pairing and GT: bilinearity in both arguments, non-degeneracy,
 * the identity, multi-pairings against products of single pairings, GT exponentiation against
 * square-and-multiply, and the GT encoding with its membership checks. */
#include <cloister/pairing.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pairing/field.h"
#include "testutil.h"

static void rand_g1(bls_g1 *p)
{
    bls_fr k;
    tu_rand_fr(&k);
    bls_g1_mul_gen(p, &k);
}

static void rand_g2(bls_g2 *q)
{
    bls_fr k;
    tu_rand_fr(&k);
    bls_g2_mul_gen(q, &k);
}

static void bilinearity(void **state)
{
    for (int i = 0; i < 3; i++) {
        bls_g1 p, ap, p2, s;
        bls_g2 q, bq, q2, t;
        bls_fr a, b, ab;
        bls_gt e, lhs, rhs, x;
        rand_g1(&p);
        rand_g2(&q);
        tu_rand_fr(&a);
        tu_rand_fr(&b);
        bls_fr_mul(&ab, &a, &b);
        bls_g1_mul(&ap, &p, &a);
        bls_g2_mul(&bq, &q, &b);
        bls_pairing(&e, &p, &q);
        bls_pairing(&lhs, &ap, &bq); /* e(aP, bQ) = e(P, Q)^(ab) */
        bls_gt_exp(&rhs, &e, &ab);
        assert_true(bls_gt_eq(&lhs, &rhs));
        rand_g1(&p2); /* e(P + P2, Q) = e(P, Q) e(P2, Q) */
        bls_g1_add(&s, &p, &p2);
        bls_pairing(&lhs, &s, &q);
        bls_pairing(&x, &p2, &q);
        bls_gt_mul(&rhs, &e, &x);
        assert_true(bls_gt_eq(&lhs, &rhs));
        rand_g2(&q2); /* e(P, Q + Q2) = e(P, Q) e(P, Q2) */
        bls_g2_add(&t, &q, &q2);
        bls_pairing(&lhs, &p, &t);
        bls_pairing(&x, &p, &q2);
        bls_gt_mul(&rhs, &e, &x);
        assert_true(bls_gt_eq(&lhs, &rhs));
        bls_g1_neg(&s, &p); /* e(-P, Q) = 1 / e(P, Q) */
        bls_pairing(&lhs, &s, &q);
        bls_gt_inv(&rhs, &e);
        assert_true(bls_gt_eq(&lhs, &rhs));
    }
}

static void degenerate_and_order(void **state)
{
    bls_g1 g, o1;
    bls_g2 h, o2;
    bls_gt e, t;
    bls_fr r_minus_1;
    bls_g1_generator(&g);
    bls_g2_generator(&h);
    bls_g1_identity(&o1);
    bls_g2_identity(&o2);
    bls_pairing(&e, &g, &h);
    assert_false(bls_gt_is_one(&e));
    tu_fr_hex(&r_minus_1, "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000");
    bls_gt_exp(&t, &e, &r_minus_1); /* e^(r - 1) e = e^r = 1 */
    bls_gt_mul(&t, &t, &e);
    assert_true(bls_gt_is_one(&t));
    bls_pairing(&t, &o1, &h);
    assert_true(bls_gt_is_one(&t));
    bls_pairing(&t, &g, &o2);
    assert_true(bls_gt_is_one(&t));
}

static void multi_pairing(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 3, 9};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        bls_g1 p[9];
        bls_g2 q[9];
        bls_gt want, got, e;
        bls_gt_one(&want);
        for (size_t i = 0; i < n; i++) {
            rand_g1(&p[i]);
            rand_g2(&q[i]);
            if (i == 2)
                bls_g1_identity(&p[i]);
            bls_pairing(&e, &p[i], &q[i]);
            bls_gt_mul(&want, &want, &e);
        }
        assert_int_equal(bls_pairing_multi(&got, p, q, n), BLS_OK);
        assert_true(bls_gt_eq(&got, &want));
    }
    /* the IBBE decryption shape: e(aG, H) e(-G, aH) = 1 */
    bls_g1 p[2];
    bls_g2 q[2];
    bls_fr a;
    bls_gt got;
    tu_rand_fr(&a);
    bls_g1_mul_gen(&p[0], &a);
    bls_g2_generator(&q[0]);
    bls_g1_generator(&p[1]);
    bls_g1_neg(&p[1], &p[1]);
    bls_g2_mul_gen(&q[1], &a);
    assert_int_equal(bls_pairing_multi(&got, p, q, 2), BLS_OK);
    assert_true(bls_gt_is_one(&got));
}

static void gt_exp_matches_square_and_multiply(void **state)
{
    bls_g1 g;
    bls_g2 h;
    bls_gt e;
    bls_g1_generator(&g);
    bls_g2_generator(&h);
    bls_pairing(&e, &g, &h);
    for (int i = 0; i < 8; i++) {
        bls_fr k;
        bls_gt got, want;
        if (i < 2)
            bls_fr_from_u64(&k, (uint64_t)i);
        else
            tu_rand_fr(&k);
        bls_gt_exp(&got, &e, &k);
        uint8_t kb[32];
        bls_fr_to_bytes(kb, &k);
        bls_gt_one(&want);
        for (int bit = 0; bit < 256; bit++) {
            bls_gt_mul(&want, &want, &want);
            if ((kb[bit / 8] >> (7 - bit % 8)) & 1)
                bls_gt_mul(&want, &want, &e);
        }
        assert_true(bls_gt_eq(&got, &want));
        if (i == 1)
            assert_true(bls_gt_eq(&got, &e));
    }
}

static void gt_encoding(void **state)
{
    bls_g1 p;
    bls_g2 q;
    bls_gt e, back;
    uint8_t enc[BLS_GT_BYTES];
    rand_g1(&p);
    rand_g2(&q);
    bls_pairing(&e, &p, &q);
    bls_gt_to_bytes(enc, &e);
    assert_int_equal(bls_gt_from_bytes(&back, enc), BLS_OK);
    assert_true(bls_gt_eq(&e, &back));
    bls_gt_one(&back);
    bls_gt_to_bytes(enc, &back);
    assert_int_equal(bls_gt_from_bytes(&back, enc), BLS_OK);
    assert_true(bls_gt_is_one(&back));

    bls_gt_to_bytes(enc, &e); /* a coefficient >= p */
    memset(enc + 48 * 5, 0xff, 48);
    assert_int_equal(bls_gt_from_bytes(&back, enc), BLS_ERR_RANGE);
    memset(enc, 0, sizeof enc); /* zero */
    assert_int_equal(bls_gt_from_bytes(&back, enc), BLS_ERR_NOT_ON_CURVE);
    bls_gt_to_bytes(enc, &e); /* a perturbed element leaves the cyclotomic subgroup */
    enc[BLS_GT_BYTES - 1] ^= 1;
    assert_int_equal(bls_gt_from_bytes(&back, enc), BLS_ERR_NOT_ON_CURVE);
    /* f^((p^6 - 1)(p^2 + 1)) is cyclotomic but, for a random f, not of order r */
    bls_fp12 f, g;
    bls_fp *c = &f.c0.c0.c0;
    for (int i = 0; i < 12; i++)
        bls_fp_set_u64(&c[i], (uint64_t)(i * i + 3));
    bls_fp12_conj(&g, &f);
    bls_fp12_inv(&f, &f);
    bls_fp12_mul(&f, &f, &g);
    bls_fp12_frobenius(&g, &f, 2);
    bls_fp12_mul(&f, &f, &g);
    bls_gt not_r = {f};
    bls_gt_to_bytes(enc, &not_r);
    assert_int_equal(bls_gt_from_bytes(&back, enc), BLS_ERR_NOT_IN_SUBGROUP);
}

int main(void)
{
    tu_fp_path();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bilinearity),   cmocka_unit_test(degenerate_and_order),
        cmocka_unit_test(multi_pairing), cmocka_unit_test(gt_exp_matches_square_and_multiply),
        cmocka_unit_test(gt_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
