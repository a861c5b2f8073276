/* fp.c -- the base field Fp of BLS12-381 (p of 381 bits): six 64-bit limbs in Montgomery form
 * (R = 2^384).
 *
 * Multiplication is the CIOS Montgomery product of mont.h (unsigned __int128, no-carry form,
 * one masked final subtraction), unrolled for six limbs. Nothing
 * branches on data, so every operation here is constant-time; exponents (inversion, square
 * root) are public constants, so square-and-multiply over their bits leaks nothing about the
 * base. This routine dominates the cost of every group operation and of the pairing. */
#include "pairing/field.h"

#include <string.h>

void bls_fp_mul(bls_fp *r, const bls_fp *a, const bls_fp *b)
{
    mont_mul(r->l, a->l, b->l, BLS_P, BLS_P_N0, 6);
}

void bls_fp_sqr(bls_fp *r, const bls_fp *a)
{
    bls_fp_mul(r, a, a);
}

void bls_fp_to_mont(bls_fp *r, const uint64_t a[6])
{
    bls_fp t;
    memcpy(t.l, a, sizeof t.l);
    bls_fp_mul(r, &t, (const bls_fp *)BLS_FP_R2);
}

void bls_fp_from_mont(uint64_t r[6], const bls_fp *a)
{
    static const bls_fp one = {{1}};
    bls_fp t;
    bls_fp_mul(&t, a, &one);
    memcpy(r, t.l, sizeof t.l);
}

void bls_fp_set_u64(bls_fp *r, uint64_t v)
{
    uint64_t raw[6] = {v};
    bls_fp_to_mont(r, raw);
}

void bls_fp_pow(bls_fp *r, const bls_fp *a, const uint64_t *e, size_t n)
{
    mont_pow(r->l, a->l, e, (int)n, BLS_P, BLS_P_N0, BLS_FP_ONE.l, 6);
}

void bls_fp_inv(bls_fp *r, const bls_fp *a)
{
    bls_fp_pow(r, a, BLS_EXP_P_MINUS_2, 6);
}

uint64_t bls_fp_sqrt(bls_fp *r, const bls_fp *a)
{
    bls_fp s, check;
    bls_fp_pow(&s, a, BLS_EXP_P_PLUS_1_DIV_4, 6);
    bls_fp_sqr(&check, &s);
    *r = s;
    return bls_fp_eq(&check, a);
}

uint64_t bls_fp_is_square(const bls_fp *a)
{
    bls_fp t, minus_one;
    bls_fp_pow(&t, a, BLS_EXP_P_MINUS_1_DIV_2, 6);
    bls_fp_neg(&minus_one, &BLS_FP_ONE);
    return bls_fp_eq(&t, &minus_one) ^ 1;
}

uint64_t bls_fp_sgn0(const bls_fp *a)
{
    uint64_t v[6];
    bls_fp_from_mont(v, a);
    return v[0] & 1;
}

uint64_t bls_fp_is_larger_half(const bls_fp *a)
{
    /* v > (p - 1)/2 exactly when (p - 1)/2 < v */
    uint64_t v[6];
    bls_fp_from_mont(v, a);
    return mont_less_than(BLS_HALF_P, v, 6);
}

void bls_fp_to_bytes(uint8_t out[48], const bls_fp *a)
{
    uint64_t v[6];
    bls_fp_from_mont(v, a);
    for (int i = 0; i < 48; i++)
        out[47 - i] = (uint8_t)(v[i / 8] >> (8 * (i % 8)));
}

int bls_fp_from_bytes(bls_fp *r, const uint8_t in[48])
{
    uint64_t v[6] = {0};
    for (int i = 0; i < 48; i++)
        v[i / 8] |= (uint64_t)in[47 - i] << (8 * (i % 8));
    if (!mont_less_than(v, BLS_P, 6))
        return -1;
    bls_fp_to_mont(r, v);
    return 0;
}
