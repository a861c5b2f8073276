/* fp12.c -- the tower Fp6 = Fp2[v]/(v^3 - xi), xi = u + 1, and Fp12 = Fp6[w]/(w^2 - v), where
 * GT lives.
 *
 * Fp6 products are Karatsuba (6 Fp2 products) and squarings Chung-Hasan SQR2; Fp12 products are
 * Karatsuba over Fp6 (18 Fp2 products). Two special forms keep the pairing fast: the sparse
 * product by a Miller-loop line c0 + c1 v + c4 v w (mul_by_014: 13 Fp2 products instead of
 * 18) and the Granger-Scott squaring of the cyclotomic subgroup, where every element of the
 * final exponentiation's hard part and of GT lives (9 Fp2 squarings instead of 12 products).
 * Frobenius maps are Fp2 conjugations times the constants of constants.c. */
#include "pairing/field.h"

/* ---- Fp6 -------------------------------------------------------------------------------- */
void bls_fp6_add(bls_fp6 *r, const bls_fp6 *a, const bls_fp6 *b)
{
    bls_fp2_add(&r->c0, &a->c0, &b->c0);
    bls_fp2_add(&r->c1, &a->c1, &b->c1);
    bls_fp2_add(&r->c2, &a->c2, &b->c2);
}

void bls_fp6_sub(bls_fp6 *r, const bls_fp6 *a, const bls_fp6 *b)
{
    bls_fp2_sub(&r->c0, &a->c0, &b->c0);
    bls_fp2_sub(&r->c1, &a->c1, &b->c1);
    bls_fp2_sub(&r->c2, &a->c2, &b->c2);
}

static void fp6_neg(bls_fp6 *r, const bls_fp6 *a)
{
    bls_fp2_neg(&r->c0, &a->c0);
    bls_fp2_neg(&r->c1, &a->c1);
    bls_fp2_neg(&r->c2, &a->c2);
}

/* r = a * v */
static void fp6_mul_v(bls_fp6 *r, const bls_fp6 *a)
{
    bls_fp2 t;
    bls_fp2_mul_xi(&t, &a->c2);
    r->c2 = a->c1;
    r->c1 = a->c0;
    r->c0 = t;
}

void bls_fp6_mul(bls_fp6 *r, const bls_fp6 *a, const bls_fp6 *b)
{
    bls_fp2 t0, t1, t2, s, u, c0, c1, c2;
    bls_fp2_mul(&t0, &a->c0, &b->c0);
    bls_fp2_mul(&t1, &a->c1, &b->c1);
    bls_fp2_mul(&t2, &a->c2, &b->c2);
    /* c0 = ((a1 + a2)(b1 + b2) - t1 - t2) xi + t0 */
    bls_fp2_add(&s, &a->c1, &a->c2);
    bls_fp2_add(&u, &b->c1, &b->c2);
    bls_fp2_mul(&c0, &s, &u);
    bls_fp2_sub(&c0, &c0, &t1);
    bls_fp2_sub(&c0, &c0, &t2);
    bls_fp2_mul_xi(&c0, &c0);
    bls_fp2_add(&c0, &c0, &t0);
    /* c1 = (a0 + a1)(b0 + b1) - t0 - t1 + xi t2 */
    bls_fp2_add(&s, &a->c0, &a->c1);
    bls_fp2_add(&u, &b->c0, &b->c1);
    bls_fp2_mul(&c1, &s, &u);
    bls_fp2_sub(&c1, &c1, &t0);
    bls_fp2_sub(&c1, &c1, &t1);
    bls_fp2_mul_xi(&s, &t2);
    bls_fp2_add(&c1, &c1, &s);
    /* c2 = (a0 + a2)(b0 + b2) - t0 - t2 + t1 */
    bls_fp2_add(&s, &a->c0, &a->c2);
    bls_fp2_add(&u, &b->c0, &b->c2);
    bls_fp2_mul(&c2, &s, &u);
    bls_fp2_sub(&c2, &c2, &t0);
    bls_fp2_sub(&c2, &c2, &t2);
    bls_fp2_add(&c2, &c2, &t1);
    r->c0 = c0;
    r->c1 = c1;
    r->c2 = c2;
}

static void fp6_sqr(bls_fp6 *r, const bls_fp6 *a)
{
    bls_fp2 s0, s1, s2, s3, s4, t;
    bls_fp2_sqr(&s0, &a->c0);
    bls_fp2_mul(&s1, &a->c0, &a->c1);
    bls_fp2_dbl(&s1, &s1);
    bls_fp2_sub(&t, &a->c0, &a->c1);
    bls_fp2_add(&t, &t, &a->c2);
    bls_fp2_sqr(&s2, &t);
    bls_fp2_mul(&s3, &a->c1, &a->c2);
    bls_fp2_dbl(&s3, &s3);
    bls_fp2_sqr(&s4, &a->c2);
    bls_fp2_mul_xi(&t, &s3);
    bls_fp2_add(&r->c0, &t, &s0);
    bls_fp2_mul_xi(&t, &s4);
    bls_fp2_add(&r->c1, &t, &s1);
    bls_fp2_add(&t, &s1, &s2);
    bls_fp2_add(&t, &t, &s3);
    bls_fp2_sub(&t, &t, &s0);
    bls_fp2_sub(&r->c2, &t, &s4);
}

static void fp6_inv(bls_fp6 *r, const bls_fp6 *a)
{
    bls_fp2 c0, c1, c2, t, s;
    bls_fp2_sqr(&c0, &a->c0); /* c0 = a0^2 - xi a1 a2 */
    bls_fp2_mul(&t, &a->c1, &a->c2);
    bls_fp2_mul_xi(&t, &t);
    bls_fp2_sub(&c0, &c0, &t);
    bls_fp2_sqr(&c1, &a->c2); /* c1 = xi a2^2 - a0 a1 */
    bls_fp2_mul_xi(&c1, &c1);
    bls_fp2_mul(&t, &a->c0, &a->c1);
    bls_fp2_sub(&c1, &c1, &t);
    bls_fp2_sqr(&c2, &a->c1); /* c2 = a1^2 - a0 a2 */
    bls_fp2_mul(&t, &a->c0, &a->c2);
    bls_fp2_sub(&c2, &c2, &t);
    bls_fp2_mul(&t, &a->c2, &c1); /* t = a0 c0 + xi (a2 c1 + a1 c2) */
    bls_fp2_mul(&s, &a->c1, &c2);
    bls_fp2_add(&t, &t, &s);
    bls_fp2_mul_xi(&t, &t);
    bls_fp2_mul(&s, &a->c0, &c0);
    bls_fp2_add(&t, &t, &s);
    bls_fp2_inv(&t, &t);
    bls_fp2_mul(&r->c0, &c0, &t);
    bls_fp2_mul(&r->c1, &c1, &t);
    bls_fp2_mul(&r->c2, &c2, &t);
}

/* r = a * (b0 + b1 v) */
static void fp6_mul_by_01(bls_fp6 *r, const bls_fp6 *a, const bls_fp2 *b0, const bls_fp2 *b1)
{
    bls_fp2 aa, bb, t, s, c0, c1, c2;
    bls_fp2_mul(&aa, &a->c0, b0);
    bls_fp2_mul(&bb, &a->c1, b1);
    bls_fp2_mul(&c0, &a->c2, b1);
    bls_fp2_mul_xi(&c0, &c0);
    bls_fp2_add(&c0, &c0, &aa);
    bls_fp2_add(&t, b0, b1);
    bls_fp2_add(&s, &a->c0, &a->c1);
    bls_fp2_mul(&c1, &t, &s);
    bls_fp2_sub(&c1, &c1, &aa);
    bls_fp2_sub(&c1, &c1, &bb);
    bls_fp2_mul(&c2, &a->c2, b0);
    bls_fp2_add(&c2, &c2, &bb);
    r->c0 = c0;
    r->c1 = c1;
    r->c2 = c2;
}

/* r = a * b1 v */
static void fp6_mul_by_1(bls_fp6 *r, const bls_fp6 *a, const bls_fp2 *b1)
{
    bls_fp2 c0, c1, c2;
    bls_fp2_mul(&c0, &a->c2, b1);
    bls_fp2_mul_xi(&c0, &c0);
    bls_fp2_mul(&c1, &a->c0, b1);
    bls_fp2_mul(&c2, &a->c1, b1);
    r->c0 = c0;
    r->c1 = c1;
    r->c2 = c2;
}

/* ---- Fp12 ------------------------------------------------------------------------------- */
void bls_fp12_one(bls_fp12 *r)
{
    static const bls_fp12 zero;
    *r = zero;
    r->c0.c0.c0 = BLS_FP_ONE;
}

void bls_fp12_mul(bls_fp12 *r, const bls_fp12 *a, const bls_fp12 *b)
{
    bls_fp6 aa, bb, s, t;
    bls_fp6_mul(&aa, &a->c0, &b->c0);
    bls_fp6_mul(&bb, &a->c1, &b->c1);
    bls_fp6_add(&s, &a->c0, &a->c1);
    bls_fp6_add(&t, &b->c0, &b->c1);
    bls_fp6_mul(&s, &s, &t);
    bls_fp6_sub(&s, &s, &aa);
    bls_fp6_sub(&r->c1, &s, &bb);
    fp6_mul_v(&bb, &bb);
    bls_fp6_add(&r->c0, &aa, &bb);
}

void bls_fp12_sqr(bls_fp12 *r, const bls_fp12 *a)
{
    /* (a0 + a1 w)^2 = (a0 + a1)(a0 + v a1) - ab - v ab + 2 ab w, ab = a0 a1 */
    bls_fp6 ab, s, t;
    bls_fp6_mul(&ab, &a->c0, &a->c1);
    bls_fp6_add(&s, &a->c0, &a->c1);
    fp6_mul_v(&t, &a->c1);
    bls_fp6_add(&t, &t, &a->c0);
    bls_fp6_mul(&s, &s, &t);
    bls_fp6_sub(&s, &s, &ab);
    fp6_mul_v(&t, &ab);
    bls_fp6_sub(&r->c0, &s, &t);
    bls_fp6_add(&r->c1, &ab, &ab);
}

void bls_fp12_inv(bls_fp12 *r, const bls_fp12 *a)
{
    /* 1/(a0 + a1 w) = (a0 - a1 w) / (a0^2 - v a1^2) */
    bls_fp6 t0, t1;
    fp6_sqr(&t0, &a->c0);
    fp6_sqr(&t1, &a->c1);
    fp6_mul_v(&t1, &t1);
    bls_fp6_sub(&t0, &t0, &t1);
    fp6_inv(&t0, &t0);
    bls_fp6_mul(&r->c0, &a->c0, &t0);
    bls_fp6_mul(&t1, &a->c1, &t0);
    fp6_neg(&r->c1, &t1);
}

void bls_fp12_conj(bls_fp12 *r, const bls_fp12 *a)
{
    r->c0 = a->c0;
    fp6_neg(&r->c1, &a->c1);
}

static void fp2_frobenius(bls_fp2 *r, const bls_fp2 *a, int k)
{
    if (k & 1)
        bls_fp2_conj(r, a);
    else
        *r = *a;
}

static void fp6_frobenius(bls_fp6 *r, const bls_fp6 *a, int k)
{
    fp2_frobenius(&r->c0, &a->c0, k);
    fp2_frobenius(&r->c1, &a->c1, k);
    fp2_frobenius(&r->c2, &a->c2, k);
    bls_fp2_mul(&r->c1, &r->c1, &BLS_FROB6_C1[k - 1]);
    bls_fp2_mul(&r->c2, &r->c2, &BLS_FROB6_C2[k - 1]);
}

void bls_fp12_frobenius(bls_fp12 *r, const bls_fp12 *a, int k)
{
    fp6_frobenius(&r->c0, &a->c0, k);
    fp6_frobenius(&r->c1, &a->c1, k);
    bls_fp2_mul(&r->c1.c0, &r->c1.c0, &BLS_FROB12_C1[k - 1]);
    bls_fp2_mul(&r->c1.c1, &r->c1.c1, &BLS_FROB12_C1[k - 1]);
    bls_fp2_mul(&r->c1.c2, &r->c1.c2, &BLS_FROB12_C1[k - 1]);
}

void bls_fp12_mul_by_014(bls_fp12 *r, const bls_fp12 *a, const bls_fp2 *c0, const bls_fp2 *c1,
                         const bls_fp2 *c4)
{
    bls_fp6 aa, bb, s;
    bls_fp2 o;
    fp6_mul_by_01(&aa, &a->c0, c0, c1);
    fp6_mul_by_1(&bb, &a->c1, c4);
    bls_fp2_add(&o, c1, c4);
    bls_fp6_add(&s, &a->c1, &a->c0);
    fp6_mul_by_01(&s, &s, c0, &o);
    bls_fp6_sub(&s, &s, &aa);
    bls_fp6_sub(&r->c1, &s, &bb);
    fp6_mul_v(&bb, &bb);
    bls_fp6_add(&r->c0, &bb, &aa);
}

/* (a + b s)^2 in Fp4 = Fp2[s]/(s^2 - xi): returns (c0, c1). */
static void fp4_sqr(bls_fp2 *c0, bls_fp2 *c1, const bls_fp2 *a, const bls_fp2 *b)
{
    bls_fp2 t0, t1, t2;
    bls_fp2_sqr(&t0, a);
    bls_fp2_sqr(&t1, b);
    bls_fp2_mul_xi(&t2, &t1);
    bls_fp2_add(c0, &t2, &t0);
    bls_fp2_add(&t2, a, b);
    bls_fp2_sqr(&t2, &t2);
    bls_fp2_sub(&t2, &t2, &t0);
    bls_fp2_sub(c1, &t2, &t1);
}

/* z = 3t - 2z or 3t + 2z: the recombination of the Granger-Scott squaring. */
static void gs_minus(bls_fp2 *z, const bls_fp2 *t)
{
    bls_fp2_sub(z, t, z);
    bls_fp2_dbl(z, z);
    bls_fp2_add(z, z, t);
}

static void gs_plus(bls_fp2 *z, const bls_fp2 *t)
{
    bls_fp2_add(z, t, z);
    bls_fp2_dbl(z, z);
    bls_fp2_add(z, z, t);
}

void bls_fp12_cyclotomic_sqr(bls_fp12 *r, const bls_fp12 *a)
{
    bls_fp2 z0 = a->c0.c0, z4 = a->c0.c1, z3 = a->c0.c2;
    bls_fp2 z2 = a->c1.c0, z1 = a->c1.c1, z5 = a->c1.c2;
    bls_fp2 t0, t1, t2, t3;
    fp4_sqr(&t0, &t1, &z0, &z1);
    gs_minus(&z0, &t0);
    gs_plus(&z1, &t1);
    fp4_sqr(&t0, &t1, &z2, &z3);
    fp4_sqr(&t2, &t3, &z4, &z5);
    gs_minus(&z4, &t0);
    gs_plus(&z5, &t1);
    bls_fp2_mul_xi(&t0, &t3);
    gs_plus(&z2, &t0);
    gs_minus(&z3, &t2);
    r->c0.c0 = z0;
    r->c0.c1 = z4;
    r->c0.c2 = z3;
    r->c1.c0 = z2;
    r->c1.c1 = z1;
    r->c1.c2 = z5;
}

void bls_fp12_cmov(bls_fp12 *r, const bls_fp12 *a, uint64_t bit)
{
    uint64_t m = bls_mask(bit);
    uint64_t *rw = (uint64_t *)r;
    const uint64_t *aw = (const uint64_t *)a;
    for (size_t i = 0; i < sizeof *r / sizeof *rw; i++)
        rw[i] ^= (rw[i] ^ aw[i]) & m;
}

uint64_t bls_fp12_eq(const bls_fp12 *a, const bls_fp12 *b)
{
    const bls_fp *x = &a->c0.c0.c0, *y = &b->c0.c0.c0;
    uint64_t eq = 1;
    for (int i = 0; i < 12; i++)
        eq &= bls_fp_eq(&x[i], &y[i]);
    return eq;
}

uint64_t bls_fp12_is_one(const bls_fp12 *a)
{
    bls_fp12 one;
    bls_fp12_one(&one);
    return bls_fp12_eq(a, &one);
}
