/* gt.c -- GT, the order-r subgroup of Fp12*: products, constant-time exponentiation and the
 * 576-byte encoding.
 *
 * Every GT element lies in the cyclotomic subgroup, so squarings are Granger-Scott cyclotomic
 * squarings and inversion is conjugation. Exponentiation splits k into four 64-bit parts in base
 * Z (scalar.c), with a^Z = conj(a^p) since p = x = -Z mod r, then walks 13 signed 5-bit windows
 * over the four parts with masked table reads, as G2 does. Decoding checks membership with Scott's
 * test (eprint 2021/1130): a^(p^4 - p^2 + 1) = 1 (cyclotomic) and a^p = a^x (order r). */
#include <cloister/crypto.h>
#include <cloister/pairing.h>

#include "pairing/field.h"
#include "pairing/gt.h"
#include "pairing/scalar.h"

void bls_gt_exp_x(bls_fp12 *r, const bls_fp12 *a)
{
    bls_fp12 acc = *a;
    for (int bit = 62; bit >= 0; bit--) {
        bls_fp12_cyclotomic_sqr(&acc, &acc);
        if ((0xd201000000010000ULL >> bit) & 1)
            bls_fp12_mul(&acc, &acc, a);
    }
    bls_fp12_conj(r, &acc);
}

void bls_gt_one(bls_gt *out)
{
    bls_fp12_one(&out->f);
}

void bls_gt_mul(bls_gt *out, const bls_gt *a, const bls_gt *b)
{
    bls_fp12_mul(&out->f, &a->f, &b->f);
}

void bls_gt_inv(bls_gt *out, const bls_gt *a)
{
    bls_fp12_conj(&out->f, &a->f);
}

bool bls_gt_eq(const bls_gt *a, const bls_gt *b)
{
    return bls_fp12_eq(&a->f, &b->f) != 0;
}

bool bls_gt_is_one(const bls_gt *a)
{
    return bls_fp12_is_one(&a->f) != 0;
}

#define GT_WINDOW 5
#define GT_TABLE 16
#define GT_DIMS 4
#define GT_DIGITS 13 /* bls_scalar_digits(GT_DIMS, GT_WINDOW) */

static void gt_lookup(bls_fp12 *r, const bls_fp12 table[GT_TABLE], uint8_t mag, uint8_t neg)
{
    bls_fp12 c;
    bls_fp12_one(r);
    for (unsigned j = 0; j < GT_TABLE; j++)
        bls_fp12_cmov(r, &table[j], bls_ct_eq(mag, j + 1));
    bls_fp12_conj(&c, r);
    bls_fp12_cmov(r, &c, neg);
}

void bls_gt_exp(bls_gt *out, const bls_gt *a, const bls_fr *k)
{
    uint64_t parts[GT_DIMS][2];
    uint8_t mag[GT_DIMS][GT_DIGITS], neg[GT_DIMS][GT_DIGITS];
    bls_fp12 table[GT_DIMS][GT_TABLE], acc, t;
    bls_scalar_split(parts, GT_DIMS, k);
    for (int d = 0; d < GT_DIMS; d++)
        bls_scalar_recode(mag[d], neg[d], parts[d], 2, GT_WINDOW, GT_DIGITS);
    /* table[0] = a^1..a^16, table[d] = table[d - 1]^Z = conj(table[d - 1]^p) */
    table[0][0] = a->f;
    bls_fp12_cyclotomic_sqr(&table[0][1], &a->f);
    for (int i = 2; i < GT_TABLE; i++)
        bls_fp12_mul(&table[0][i], &table[0][i - 1], &a->f);
    for (int d = 1; d < GT_DIMS; d++)
        for (int i = 0; i < GT_TABLE; i++) {
            bls_fp12_frobenius(&table[d][i], &table[d - 1][i], 1);
            bls_fp12_conj(&table[d][i], &table[d][i]);
        }
    bls_fp12_one(&acc);
    for (int i = GT_DIGITS - 1; i >= 0; i--) {
        if (i != GT_DIGITS - 1)
            for (int s = 0; s < GT_WINDOW; s++)
                bls_fp12_cyclotomic_sqr(&acc, &acc);
        for (int d = 0; d < GT_DIMS; d++) {
            gt_lookup(&t, table[d], mag[d][i], neg[d][i]);
            bls_fp12_mul(&acc, &acc, &t);
        }
    }
    out->f = acc;
    crypto_wipe(parts, sizeof parts);
    crypto_wipe(mag, sizeof mag);
    crypto_wipe(neg, sizeof neg);
    crypto_wipe(table, sizeof table);
}

void bls_gt_to_bytes(uint8_t out[BLS_GT_BYTES], const bls_gt *a)
{
    const bls_fp *c = &a->f.c0.c0.c0;
    for (int i = 0; i < 12; i++)
        bls_fp_to_bytes(out + 48 * i, &c[i]);
}

int bls_gt_from_bytes(bls_gt *out, const uint8_t in[BLS_GT_BYTES])
{
    bls_fp12 a, lhs, rhs;
    bls_fp *c = &a.c0.c0.c0;
    for (int i = 0; i < 12; i++)
        if (bls_fp_from_bytes(&c[i], in + 48 * i) != 0)
            return BLS_ERR_RANGE;
    static const bls_fp12 zero;
    if (bls_fp12_eq(&a, &zero))
        return BLS_ERR_NOT_ON_CURVE;
    bls_fp12_frobenius(&lhs, &a, 2); /* cyclotomic: a^(p^4) a = a^(p^2) */
    bls_fp12_frobenius(&rhs, &lhs, 2);
    bls_fp12_mul(&rhs, &rhs, &a);
    if (!bls_fp12_eq(&lhs, &rhs))
        return BLS_ERR_NOT_ON_CURVE;
    bls_fp12_frobenius(&lhs, &a, 1); /* order r: a^p = a^x */
    bls_gt_exp_x(&rhs, &a);
    if (!bls_fp12_eq(&lhs, &rhs))
        return BLS_ERR_NOT_IN_SUBGROUP;
    out->f = a;
    return BLS_OK;
}
