/* fp2.c -- Fp2 = Fp[u]/(u^2 + 1), the field of G2's coordinates.
 *
 * Multiplication is Karatsuba (3 Fp products) and squaring the complex method (2 products).
 * The sums fed to the products are left unreduced (< 2p): the no-carry Montgomery product of
 * mont.h accepts operands below 2p and still returns a value below p, which saves the
 * conditional subtractions. (Lazy reduction of the double-width products, 2 reductions instead
 * of 3, measured no faster here: the interleaved product is better scheduled.) Square roots (only needed to decompress G2 points, whose inputs are
 * public) follow Adj and Rodriguez-Henriquez, "Square root computation over even extension
 * fields", algorithm 9 (q = 3 mod 4). */
#include "pairing/field.h"

/* r = a + b without the final reduction: r < 2p. */
static void add_unreduced(bls_fp *r, const bls_fp *a, const bls_fp *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 6; i++) {
        bls_u128 t = (bls_u128)a->l[i] + b->l[i] + carry;
        r->l[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
}

void bls_fp2_mul(bls_fp2 *r, const bls_fp2 *a, const bls_fp2 *b)
{
    bls_fp t0, t1, sa, sb, t2;
    bls_fp_mul(&t0, &a->c0, &b->c0);
    bls_fp_mul(&t1, &a->c1, &b->c1);
    add_unreduced(&sa, &a->c0, &a->c1);
    add_unreduced(&sb, &b->c0, &b->c1);
    bls_fp_mul(&t2, &sa, &sb);
    bls_fp_sub(&r->c0, &t0, &t1);
    bls_fp_sub(&t2, &t2, &t0);
    bls_fp_sub(&r->c1, &t2, &t1);
}

void bls_fp2_sqr(bls_fp2 *r, const bls_fp2 *a)
{
    bls_fp s, d, twice_a0, c1;
    add_unreduced(&s, &a->c0, &a->c1);
    bls_fp_sub(&d, &a->c0, &a->c1);
    add_unreduced(&twice_a0, &a->c0, &a->c0);
    bls_fp_mul(&c1, &twice_a0, &a->c1);
    bls_fp_mul(&r->c0, &s, &d);
    r->c1 = c1;
}

void bls_fp2_mul_fp(bls_fp2 *r, const bls_fp2 *a, const bls_fp *b)
{
    bls_fp_mul(&r->c0, &a->c0, b);
    bls_fp_mul(&r->c1, &a->c1, b);
}

void bls_fp2_inv(bls_fp2 *r, const bls_fp2 *a)
{
    /* 1/(a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2) */
    bls_fp t0, t1;
    bls_fp_sqr(&t0, &a->c0);
    bls_fp_sqr(&t1, &a->c1);
    bls_fp_add(&t0, &t0, &t1);
    bls_fp_inv(&t0, &t0);
    bls_fp_mul(&r->c0, &a->c0, &t0);
    bls_fp_mul(&t1, &a->c1, &t0);
    bls_fp_neg(&r->c1, &t1);
}

/* 4-bit fixed window like bls_fp_pow (public exponent: a zero digit skips its product); the
 * leading zero digits cost nothing, so short exponents stay cheap. */
void bls_fp2_pow(bls_fp2 *r, const bls_fp2 *a, const uint64_t *e, size_t n)
{
    bls_fp2 table[16], acc = {BLS_FP_ONE, {{0}}};
    int started = 0;
    table[1] = *a;
    for (int i = 2; i < 16; i++)
        bls_fp2_mul(&table[i], &table[i - 1], a);
    for (size_t i = n * 16; i-- > 0;) {
        unsigned digit = (unsigned)(e[i / 16] >> (4 * (i % 16))) & 15;
        for (int s = 0; s < 4 && started; s++)
            bls_fp2_sqr(&acc, &acc);
        if (digit)
            bls_fp2_mul(&acc, &acc, &table[digit]);
        started |= digit != 0;
    }
    *r = acc;
}

uint64_t bls_fp2_sqrt(bls_fp2 *r, const bls_fp2 *a)
{
    bls_fp2 a1, alpha, x0, x, check, minus_one = {{{0}}, {{0}}};
    bls_fp_neg(&minus_one.c0, &BLS_FP_ONE);
    bls_fp2_pow(&a1, a, BLS_EXP_P_MINUS_3_DIV_4, 6);
    bls_fp2_mul(&x0, &a1, a);
    bls_fp2_mul(&alpha, &a1, &x0);
    if (bls_fp2_eq(&alpha, &minus_one)) {
        /* x = u * x0 */
        bls_fp_neg(&x.c0, &x0.c1);
        x.c1 = x0.c0;
    } else {
        bls_fp2 b = alpha;
        bls_fp_add(&b.c0, &b.c0, &BLS_FP_ONE);
        bls_fp2_pow(&b, &b, BLS_EXP_P_MINUS_1_DIV_2, 6);
        bls_fp2_mul(&x, &b, &x0);
    }
    bls_fp2_sqr(&check, &x);
    if (!bls_fp2_eq(&check, a))
        return 0;
    *r = x;
    return 1;
}

uint64_t bls_fp2_sgn0(const bls_fp2 *a)
{
    uint64_t sign0 = bls_fp_sgn0(&a->c0), zero0 = bls_fp_is_zero(&a->c0);
    return sign0 | (zero0 & bls_fp_sgn0(&a->c1));
}

uint64_t bls_fp2_is_larger_half(const bls_fp2 *a)
{
    uint64_t c1_zero = bls_fp_is_zero(&a->c1);
    return (c1_zero & bls_fp_is_larger_half(&a->c0)) |
           ((c1_zero ^ 1) & bls_fp_is_larger_half(&a->c1));
}
