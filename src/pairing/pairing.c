/* pairing.c -- the optimal ate pairing e: G1 x G2 -> GT of BLS12-381.
 *
 * Miller loop: f_{|x|,Q}(P) over the bits of |x| = 0xd201000000010000 (only 6 set bits, so 5
 * addition steps and 63 doubling steps), conjugated at the end because x < 0. R runs in
 * Jacobian coordinates on the twist; each step returns the three non-zero coefficients of its
 * line (algorithms 26 and 27 of Aranha et al., eprint 2010/354, adapted to the M-type twist as
 * in the zkcrypto bls12_381 crate), scaled by P's coordinates and multiplied into f with the
 * sparse mul_by_014. A multi-pairing runs every pair through one loop, so the 63 squarings of
 * f and the final exponentiation are shared.
 *
 * Final exponentiation: the easy part f^((p^6 - 1)(p^2 + 1)) with one inversion and Frobenius
 * maps, then the hard part (p^4 - p^2 + 1)/r with the addition chain in x of @noble/curves
 * (five exponentiations by x with cyclotomic squarings), which fixes the same GT value as noble
 * and the other libraries that follow Hayashida-Hayasaka-Teruya's decomposition. */
#include <stdlib.h>

#include "pairing/curve.h"
#include "pairing/field.h"
#include "pairing/gt.h"

/* R in Jacobian coordinates (x = X/Z^2, y = Y/Z^3) on the twist. */
typedef struct {
    bls_fp2 x, y, z;
} g2_jacobian;

static void doubling_step(bls_fp2 line[3], g2_jacobian *r)
{
    bls_fp2 t0, t1, t2, t3, t4, t5, t6, zz;
    bls_fp2_sqr(&t0, &r->x);
    bls_fp2_sqr(&t1, &r->y);
    bls_fp2_sqr(&t2, &t1);
    bls_fp2_add(&t3, &t1, &r->x);
    bls_fp2_sqr(&t3, &t3);
    bls_fp2_sub(&t3, &t3, &t0);
    bls_fp2_sub(&t3, &t3, &t2);
    bls_fp2_dbl(&t3, &t3);
    bls_fp2_dbl(&t4, &t0);
    bls_fp2_add(&t4, &t4, &t0);
    bls_fp2_add(&t6, &r->x, &t4);
    bls_fp2_sqr(&t5, &t4);
    bls_fp2_sqr(&zz, &r->z);
    bls_fp2_sub(&r->x, &t5, &t3);
    bls_fp2_sub(&r->x, &r->x, &t3);
    bls_fp2_add(&r->z, &r->z, &r->y);
    bls_fp2_sqr(&r->z, &r->z);
    bls_fp2_sub(&r->z, &r->z, &t1);
    bls_fp2_sub(&r->z, &r->z, &zz);
    bls_fp2_sub(&r->y, &t3, &r->x);
    bls_fp2_mul(&r->y, &r->y, &t4);
    bls_fp2_dbl(&t2, &t2);
    bls_fp2_dbl(&t2, &t2);
    bls_fp2_dbl(&t2, &t2);
    bls_fp2_sub(&r->y, &r->y, &t2);
    bls_fp2_mul(&t3, &t4, &zz);
    bls_fp2_dbl(&t3, &t3);
    bls_fp2_neg(&line[1], &t3);
    bls_fp2_sqr(&t6, &t6);
    bls_fp2_sub(&t6, &t6, &t0);
    bls_fp2_sub(&t6, &t6, &t5);
    bls_fp2_dbl(&t1, &t1);
    bls_fp2_dbl(&t1, &t1);
    bls_fp2_sub(&line[2], &t6, &t1);
    bls_fp2_mul(&t0, &r->z, &zz);
    bls_fp2_dbl(&line[0], &t0);
}

static void addition_step(bls_fp2 line[3], g2_jacobian *r, const bls_g2_affine *q)
{
    bls_fp2 zz, yy, t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10;
    bls_fp2_sqr(&zz, &r->z);
    bls_fp2_sqr(&yy, &q->y);
    bls_fp2_mul(&t0, &zz, &q->x);
    bls_fp2_add(&t1, &q->y, &r->z);
    bls_fp2_sqr(&t1, &t1);
    bls_fp2_sub(&t1, &t1, &yy);
    bls_fp2_sub(&t1, &t1, &zz);
    bls_fp2_mul(&t1, &t1, &zz);
    bls_fp2_sub(&t2, &t0, &r->x);
    bls_fp2_sqr(&t3, &t2);
    bls_fp2_dbl(&t4, &t3);
    bls_fp2_dbl(&t4, &t4);
    bls_fp2_mul(&t5, &t4, &t2);
    bls_fp2_sub(&t6, &t1, &r->y);
    bls_fp2_sub(&t6, &t6, &r->y);
    bls_fp2_mul(&t9, &t6, &q->x);
    bls_fp2_mul(&t7, &t4, &r->x);
    bls_fp2_sqr(&r->x, &t6);
    bls_fp2_sub(&r->x, &r->x, &t5);
    bls_fp2_sub(&r->x, &r->x, &t7);
    bls_fp2_sub(&r->x, &r->x, &t7);
    bls_fp2_add(&r->z, &r->z, &t2);
    bls_fp2_sqr(&r->z, &r->z);
    bls_fp2_sub(&r->z, &r->z, &zz);
    bls_fp2_sub(&r->z, &r->z, &t3);
    bls_fp2_add(&t10, &q->y, &r->z);
    bls_fp2_sub(&t8, &t7, &r->x);
    bls_fp2_mul(&t8, &t8, &t6);
    bls_fp2_mul(&t0, &r->y, &t5);
    bls_fp2_dbl(&t0, &t0);
    bls_fp2_sub(&r->y, &t8, &t0);
    bls_fp2_sqr(&t10, &t10);
    bls_fp2_sub(&t10, &t10, &yy);
    bls_fp2_sqr(&t0, &r->z);
    bls_fp2_sub(&t10, &t10, &t0);
    bls_fp2_dbl(&t9, &t9);
    bls_fp2_sub(&line[2], &t9, &t10);
    bls_fp2_dbl(&line[0], &r->z);
    bls_fp2_neg(&t6, &t6);
    bls_fp2_dbl(&line[1], &t6);
}

/* f = f * line(P) */
static void apply_line(bls_fp12 *f, const bls_fp2 line[3], const bls_g1_affine *p)
{
    bls_fp2 c0, c1;
    bls_fp2_mul_fp(&c0, &line[0], &p->y);
    bls_fp2_mul_fp(&c1, &line[1], &p->x);
    bls_fp12_mul_by_014(f, f, &line[2], &c1, &c0);
}

struct miller_pair {
    bls_g1_affine p;
    bls_g2_affine q;
    g2_jacobian r;
};

static void miller_loop(bls_fp12 *f, struct miller_pair *pairs, size_t n)
{
    bls_fp2 line[3];
    bls_fp12_one(f);
    for (size_t i = 0; i < n; i++) {
        pairs[i].r.x = pairs[i].q.x;
        pairs[i].r.y = pairs[i].q.y;
        pairs[i].r.z = (bls_fp2){BLS_FP_ONE, {{0}}};
    }
    /* bits of |x| / 2 below its top bit; a last doubling step accounts for |x|'s low bit 0 */
    const uint64_t half = 0xd201000000010000ULL >> 1;
    for (int bit = 61; bit >= 0; bit--) {
        for (size_t i = 0; i < n; i++) {
            doubling_step(line, &pairs[i].r);
            apply_line(f, line, &pairs[i].p);
        }
        if ((half >> bit) & 1) {
            for (size_t i = 0; i < n; i++) {
                addition_step(line, &pairs[i].r, &pairs[i].q);
                apply_line(f, line, &pairs[i].p);
            }
        }
        bls_fp12_sqr(f, f);
    }
    for (size_t i = 0; i < n; i++) {
        doubling_step(line, &pairs[i].r);
        apply_line(f, line, &pairs[i].p);
    }
    bls_fp12_conj(f, f); /* x < 0 */
}

static void final_exponentiation(bls_fp12 *r, const bls_fp12 *f)
{
    bls_fp12 t0, t1, t2, t3, t4, t5, t6, t7, s;
    /* easy part: f^((p^6 - 1)(p^2 + 1)) */
    bls_fp12_inv(&t1, f);
    bls_fp12_conj(&t0, f);
    bls_fp12_mul(&t0, &t0, &t1);
    bls_fp12_frobenius(&t1, &t0, 2);
    bls_fp12_mul(&t1, &t1, &t0);
    /* hard part */
    bls_gt_exp_x(&t2, &t1);
    bls_fp12_cyclotomic_sqr(&t3, &t1);
    bls_fp12_conj(&t3, &t3);
    bls_fp12_mul(&t3, &t3, &t2);
    bls_gt_exp_x(&t4, &t3);
    bls_gt_exp_x(&t5, &t4);
    bls_gt_exp_x(&t6, &t5);
    bls_fp12_cyclotomic_sqr(&s, &t2);
    bls_fp12_mul(&t6, &t6, &s);
    bls_gt_exp_x(&t7, &t6);
    /* (t2 t5)^(p^2) (t4 t1)^(p^3) (t6 conj(t1))^p t7 conj(t3) t1 */
    bls_fp12_mul(&s, &t2, &t5);
    bls_fp12_frobenius(r, &s, 2);
    bls_fp12_mul(&s, &t4, &t1);
    bls_fp12_frobenius(&s, &s, 3);
    bls_fp12_mul(r, r, &s);
    bls_fp12_conj(&s, &t1);
    bls_fp12_mul(&s, &s, &t6);
    bls_fp12_frobenius(&s, &s, 1);
    bls_fp12_mul(r, r, &s);
    bls_fp12_mul(r, r, &t7);
    bls_fp12_conj(&s, &t3);
    bls_fp12_mul(r, r, &s);
    bls_fp12_mul(r, r, &t1);
}

/* Loads the pairs that contribute (neither point the identity); returns their count. */
static size_t load_pairs(struct miller_pair *pairs, const bls_g1 *p, const bls_g2 *q, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t ok = bls_g1_to_affine(&pairs[m].p, &p[i]);
        ok &= bls_g2_to_affine(&pairs[m].q, &q[i]);
        m += ok; /* whether a point is the identity is not secret */
    }
    return m;
}

int bls_pairing_multi(bls_gt *out, const bls_g1 *p, const bls_g2 *q, size_t n)
{
    struct miller_pair stack_pairs[8], *pairs = stack_pairs;
    if (n > 8) {
        pairs = calloc(n, sizeof *pairs);
        if (!pairs)
            return BLS_ERR_ALLOC;
    }
    bls_fp12 f;
    size_t m = load_pairs(pairs, p, q, n);
    miller_loop(&f, pairs, m);
    final_exponentiation(&out->f, &f);
    if (pairs != stack_pairs)
        free(pairs);
    return BLS_OK;
}

void bls_pairing(bls_gt *out, const bls_g1 *p, const bls_g2 *q)
{
    struct miller_pair pair;
    bls_fp12 f;
    size_t m = load_pairs(&pair, p, q, 1);
    miller_loop(&f, &pair, m);
    final_exponentiation(&out->f, &f);
}
