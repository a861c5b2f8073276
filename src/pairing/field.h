/* field.h -- internal arithmetic of the BLS12-381 tower Fp, Fp2, Fp6, Fp12 (see fp.c, fp2.c,
 * fp12.c). Every function is constant-time unless its comment says [vt]. Elements are always
 * fully reduced (< p) between calls; additions are inline since they dominate the call count. */
#ifndef CLOISTER_PAIRING_FIELD_H
#define CLOISTER_PAIRING_FIELD_H

#include <cloister/pairing.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pairing/constants.h"
#include "pairing/mont.h"

/* Additions take a sixth of the pairing's time. On x86-64 they are written in assembly: the C of
 * mont.h compiles there to a select through the stack that stalls on store forwarding. The
 * result is stored, then p is added or subtracted and cmov takes the stored value back when the
 * carry says so: no branch. r may alias a or b (both are read before r is written). */
#if defined(__x86_64__) && defined(__GNUC__)
/* One instruction per limb over the registers t0..t5 and the six words at operand src. */
#define FP_X86_LIMBS(op0, op, src)                                                                 \
    op0 " 0(%[" src "]), %[t0]\n\t" op " 8(%[" src "]), %[t1]\n\t" op " 16(%[" src                 \
        "]), %[t2]\n\t" op " 24(%[" src "]), %[t3]\n\t" op " 32(%[" src "]), %[t4]\n\t" op         \
        " 40(%[" src "]), %[t5]\n\t"
#define FP_X86_STORE(dst)                                                                          \
    "movq %[t0], 0(%[" dst "])\n\tmovq %[t1], 8(%[" dst "])\n\tmovq %[t2], 16(%[" dst              \
    "])\n\tmovq %[t3], 24(%[" dst "])\n\tmovq %[t4], 32(%[" dst "])\n\tmovq %[t5], 40(%[" dst      \
    "])\n\t"
#define FP_X86_T_OUT                                                                               \
    [t0] "+&r"(t0), [t1] "+&r"(t1), [t2] "+&r"(t2), [t3] "+&r"(t3), [t4] "+&r"(t4), [t5] "+&r"(t5)
#define FP_X86_AB(x, y)                                                                            \
    [a] "r"(x->l), [b] "r"(y->l), "m"(*(const uint64_t(*)[6])x->l), "m"(*(const uint64_t(*)[6])y->l)

/* r = t - p when that does not borrow, else t, for t < 2p (the tail of additions and
 * products): t is stored, p subtracted, and the stored value taken back on a borrow. */
static inline void bls_fp_reduce_store(uint64_t r[6], uint64_t t0, uint64_t t1, uint64_t t2,
                                       uint64_t t3, uint64_t t4, uint64_t t5)
{
    __asm__(FP_X86_STORE("r") FP_X86_LIMBS("subq", "sbbq", "p")
                FP_X86_LIMBS("cmovcq", "cmovcq", "r") FP_X86_STORE("r")
            : FP_X86_T_OUT, "=m"(*(uint64_t(*)[6])r)
            : [p] "r"(BLS_P), [r] "r"(r)
            : "cc");
}

static inline void bls_fp_add(bls_fp *r, const bls_fp *a, const bls_fp *b)
{
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0;
    __asm__(FP_X86_LIMBS("movq", "movq", "a") FP_X86_LIMBS("addq", "adcq", "b")
            : FP_X86_T_OUT
            : FP_X86_AB(a, b)
            : "cc");
    bls_fp_reduce_store(r->l, t0, t1, t2, t3, t4, t5);
}

/* r = a - b, plus p (taken back by cmov) unless the subtraction borrowed. */
static inline void bls_fp_sub(bls_fp *r, const bls_fp *a, const bls_fp *b)
{
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, m;
    __asm__(FP_X86_LIMBS("movq", "movq", "a")
                FP_X86_LIMBS("subq", "sbbq", "b") "sbbq %[m], %[m]\n\t" FP_X86_STORE("r")
                    FP_X86_LIMBS("addq", "adcq", "p") "testq %[m], %[m]\n\t" FP_X86_LIMBS(
                        "cmovzq", "cmovzq", "r") FP_X86_STORE("r")
            : FP_X86_T_OUT, [m] "=&r"(m), "=m"(*(uint64_t(*)[6])r->l)
            : FP_X86_AB(a, b), [p] "r"(BLS_P), [r] "r"(r->l)
            : "cc");
}
#else
static inline void bls_fp_add(bls_fp *r, const bls_fp *a, const bls_fp *b)
{
    mont_add(r->l, a->l, b->l, BLS_P, 6);
}

static inline void bls_fp_sub(bls_fp *r, const bls_fp *a, const bls_fp *b)
{
    mont_sub(r->l, a->l, b->l, BLS_P, 6);
}
#endif

static inline void bls_fp_dbl(bls_fp *r, const bls_fp *a)
{
    bls_fp_add(r, a, a);
}

static inline void bls_fp_neg(bls_fp *r, const bls_fp *a)
{
    static const bls_fp zero;
    bls_fp_sub(r, &zero, a);
}

static inline void bls_fp_cmov(bls_fp *r, const bls_fp *a, uint64_t bit)
{
    uint64_t m = bls_mask(bit);
    for (int i = 0; i < 6; i++)
        r->l[i] ^= (r->l[i] ^ a->l[i]) & m;
}

/* 1 when a == 0, else 0. */
static inline uint64_t bls_fp_is_zero(const bls_fp *a)
{
    uint64_t acc = 0;
    for (int i = 0; i < 6; i++)
        acc |= a->l[i];
    return ((acc | (0 - acc)) >> 63) ^ 1;
}

static inline uint64_t bls_fp_eq(const bls_fp *a, const bls_fp *b)
{
    uint64_t acc = 0;
    for (int i = 0; i < 6; i++)
        acc |= a->l[i] ^ b->l[i];
    return ((acc | (0 - acc)) >> 63) ^ 1;
}

void bls_fp_mul(bls_fp *r, const bls_fp *a, const bls_fp *b);
void bls_fp_sqr(bls_fp *r, const bls_fp *a);
/* r = a * 2^-384 (out of Montgomery form when a is a plain integer < 2^384). */
void bls_fp_from_mont(uint64_t r[6], const bls_fp *a);
void bls_fp_to_mont(bls_fp *r, const uint64_t a[6]);
void bls_fp_set_u64(bls_fp *r, uint64_t v);
/* r = a^e for a public exponent of n limbs. */
void bls_fp_pow(bls_fp *r, const bls_fp *a, const uint64_t *e, size_t n);
void bls_fp_inv(bls_fp *r, const bls_fp *a);
/* r = sqrt(a) when a is a square (returns 1), else r is garbage and 0 is returned. */
uint64_t bls_fp_sqrt(bls_fp *r, const bls_fp *a);
uint64_t bls_fp_is_square(const bls_fp *a);
/* The parity of the canonical value (RFC 9380 sgn0). */
uint64_t bls_fp_sgn0(const bls_fp *a);
/* 1 when the canonical value exceeds (p - 1) / 2 (ZCash "lexicographically largest"). */
uint64_t bls_fp_is_larger_half(const bls_fp *a);
/* 48 bytes big-endian; from_bytes returns -1 for a value >= p. */
void bls_fp_to_bytes(uint8_t out[48], const bls_fp *a);
int bls_fp_from_bytes(bls_fp *r, const uint8_t in[48]);

/* ---- Fp2 = Fp[u]/(u^2 + 1) -------------------------------------------------------------- */
static inline void bls_fp2_add(bls_fp2 *r, const bls_fp2 *a, const bls_fp2 *b)
{
    bls_fp_add(&r->c0, &a->c0, &b->c0);
    bls_fp_add(&r->c1, &a->c1, &b->c1);
}

static inline void bls_fp2_sub(bls_fp2 *r, const bls_fp2 *a, const bls_fp2 *b)
{
    bls_fp_sub(&r->c0, &a->c0, &b->c0);
    bls_fp_sub(&r->c1, &a->c1, &b->c1);
}

static inline void bls_fp2_dbl(bls_fp2 *r, const bls_fp2 *a)
{
    bls_fp_dbl(&r->c0, &a->c0);
    bls_fp_dbl(&r->c1, &a->c1);
}

static inline void bls_fp2_neg(bls_fp2 *r, const bls_fp2 *a)
{
    bls_fp_neg(&r->c0, &a->c0);
    bls_fp_neg(&r->c1, &a->c1);
}

static inline void bls_fp2_conj(bls_fp2 *r, const bls_fp2 *a)
{
    r->c0 = a->c0;
    bls_fp_neg(&r->c1, &a->c1);
}

static inline void bls_fp2_cmov(bls_fp2 *r, const bls_fp2 *a, uint64_t bit)
{
    bls_fp_cmov(&r->c0, &a->c0, bit);
    bls_fp_cmov(&r->c1, &a->c1, bit);
}

static inline uint64_t bls_fp2_is_zero(const bls_fp2 *a)
{
    return bls_fp_is_zero(&a->c0) & bls_fp_is_zero(&a->c1);
}

static inline uint64_t bls_fp2_eq(const bls_fp2 *a, const bls_fp2 *b)
{
    return bls_fp_eq(&a->c0, &b->c0) & bls_fp_eq(&a->c1, &b->c1);
}

/* r = a * (u + 1), the non-residue of the sextic extension. */
static inline void bls_fp2_mul_xi(bls_fp2 *r, const bls_fp2 *a)
{
    bls_fp t;
    bls_fp_sub(&t, &a->c0, &a->c1);
    bls_fp_add(&r->c1, &a->c0, &a->c1);
    r->c0 = t;
}

void bls_fp2_mul(bls_fp2 *r, const bls_fp2 *a, const bls_fp2 *b);
void bls_fp2_sqr(bls_fp2 *r, const bls_fp2 *a);
void bls_fp2_mul_fp(bls_fp2 *r, const bls_fp2 *a, const bls_fp *b);
void bls_fp2_inv(bls_fp2 *r, const bls_fp2 *a);
/* r = a^e for a public exponent of n limbs. */
void bls_fp2_pow(bls_fp2 *r, const bls_fp2 *a, const uint64_t *e, size_t n);
/* [vt] r = sqrt(a) when a is a square (returns 1), else returns 0. */
uint64_t bls_fp2_sqrt(bls_fp2 *r, const bls_fp2 *a);
uint64_t bls_fp2_sgn0(const bls_fp2 *a);
/* ZCash ordering: compare c1 first, c0 when c1 is zero. */
uint64_t bls_fp2_is_larger_half(const bls_fp2 *a);

/* ---- Fp6 = Fp2[v]/(v^3 - (u + 1)), Fp12 = Fp6[w]/(w^2 - v) ------------------------------ */
void bls_fp6_add(bls_fp6 *r, const bls_fp6 *a, const bls_fp6 *b);
void bls_fp6_sub(bls_fp6 *r, const bls_fp6 *a, const bls_fp6 *b);
void bls_fp6_mul(bls_fp6 *r, const bls_fp6 *a, const bls_fp6 *b);

void bls_fp12_one(bls_fp12 *r);
void bls_fp12_mul(bls_fp12 *r, const bls_fp12 *a, const bls_fp12 *b);
void bls_fp12_sqr(bls_fp12 *r, const bls_fp12 *a);
void bls_fp12_inv(bls_fp12 *r, const bls_fp12 *a);
void bls_fp12_conj(bls_fp12 *r, const bls_fp12 *a);
/* r = a^(p^k) for k = 1, 2, 3. */
void bls_fp12_frobenius(bls_fp12 *r, const bls_fp12 *a, int k);
/* r = a * (c0 + c1 v + c4 v w): a line of the Miller loop (sparse multiplication). */
void bls_fp12_mul_by_014(bls_fp12 *r, const bls_fp12 *a, const bls_fp2 *c0, const bls_fp2 *c1,
                         const bls_fp2 *c4);
/* Squaring in the cyclotomic subgroup (Granger-Scott); a must be in it. */
void bls_fp12_cyclotomic_sqr(bls_fp12 *r, const bls_fp12 *a);
void bls_fp12_cmov(bls_fp12 *r, const bls_fp12 *a, uint64_t bit);
uint64_t bls_fp12_eq(const bls_fp12 *a, const bls_fp12 *b);
uint64_t bls_fp12_is_one(const bls_fp12 *a);

#endif
