/* mont.h -- multi-limb Montgomery arithmetic shared by Fp (6 limbs) and Fr (4 limbs).
 *
 * Each helper takes the limb count n as a parameter; callers pass a constant, so after inlining
 * the compiler emits a fully unrolled routine per field. Multiplication is CIOS with unsigned
 * __int128 in the "no-carry" form: both moduli leave their top bit clear, so the running sum
 * never needs an extra word. Operands may be up to twice the modulus (the result is still
 * fully reduced when 4 m^2 < m 2^(64 n), true for p); everything is branch-free. */
#ifndef CLOISTER_PAIRING_MONT_H
#define CLOISTER_PAIRING_MONT_H

#include <stdint.h>

__extension__ typedef unsigned __int128 bls_u128;

/* All ones when bit is 1, zero when 0. */
static inline uint64_t bls_mask(uint64_t bit)
{
    return (uint64_t)0 - bit;
}

/* 1 when a == b, for values below 2^63. */
static inline uint64_t bls_ct_eq(uint64_t a, uint64_t b)
{
    return ((a ^ b) - 1) >> 63;
}

/* Carry and borrow chains. gcc turns unsigned __int128 carries into long instruction sequences
 * (measured: 188 instructions for an Fp addition), so on x86-64 the add-with-carry intrinsics,
 * which compile to adc/sbb chains, carry the bit instead; elsewhere the portable form. */
#if defined(__x86_64__)
#include <x86intrin.h>
static inline uint64_t mont_adc(uint64_t a, uint64_t b, uint64_t carry, uint64_t *out)
{
    unsigned long long r;
    carry = _addcarry_u64((unsigned char)carry, a, b, &r);
    *out = r;
    return carry;
}

static inline uint64_t mont_sbb(uint64_t a, uint64_t b, uint64_t borrow, uint64_t *out)
{
    unsigned long long r;
    borrow = _subborrow_u64((unsigned char)borrow, a, b, &r);
    *out = r;
    return borrow;
}
#else
static inline uint64_t mont_adc(uint64_t a, uint64_t b, uint64_t carry, uint64_t *out)
{
    bls_u128 t = (bls_u128)a + b + carry;
    *out = (uint64_t)t;
    return (uint64_t)(t >> 64);
}

static inline uint64_t mont_sbb(uint64_t a, uint64_t b, uint64_t borrow, uint64_t *out)
{
    bls_u128 t = (bls_u128)a - b - borrow;
    *out = (uint64_t)t;
    return (uint64_t)(t >> 64) & 1;
}
#endif

/* r = a - m when that does not borrow, else a. */
static inline void mont_reduce_once(uint64_t *r, const uint64_t *a, const uint64_t *m, int n)
{
    uint64_t t[6], borrow = 0;
    for (int i = 0; i < n; i++)
        borrow = mont_sbb(a[i], m[i], borrow, &t[i]);
    uint64_t keep = bls_mask(borrow);
    for (int i = 0; i < n; i++)
        r[i] = (a[i] & keep) | (t[i] & ~keep);
}

/* r = a + b mod m for a, b < m. */
static inline void mont_add(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m,
                            int n)
{
    uint64_t s[6], carry = 0;
    for (int i = 0; i < n; i++)
        carry = mont_adc(a[i], b[i], carry, &s[i]);
    mont_reduce_once(r, s, m, n); /* a + b < 2m < 2^(64 n): no carry out */
}

/* r = a - b mod m for a, b < m. */
static inline void mont_sub(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m,
                            int n)
{
    uint64_t d[6], borrow = 0;
    for (int i = 0; i < n; i++)
        borrow = mont_sbb(a[i], b[i], borrow, &d[i]);
    uint64_t mask = bls_mask(borrow), carry = 0;
    for (int i = 0; i < n; i++)
        carry = mont_adc(d[i], m[i] & mask, carry, &r[i]);
}

/* r = a b / 2^(64 n) mod m; n0 = -m^-1 mod 2^64. */
static inline void mont_mul(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m,
                            uint64_t n0, int n)
{
    uint64_t t[6] = {0};
#pragma GCC unroll 6
    for (int i = 0; i < n; i++) {
        uint64_t bi = b[i];
        bls_u128 acc = (bls_u128)a[0] * bi + t[0];
        uint64_t t0 = (uint64_t)acc;
        uint64_t q = t0 * n0;
        bls_u128 red = ((bls_u128)q * m[0] + t0) >> 64;
        acc >>= 64;
#pragma GCC unroll 6
        for (int j = 1; j < n; j++) {
            acc += (bls_u128)a[j] * bi + t[j];
            red += (bls_u128)q * m[j] + (uint64_t)acc;
            t[j - 1] = (uint64_t)red;
            acc >>= 64;
            red >>= 64;
        }
        t[n - 1] = (uint64_t)(red + acc);
    }
    mont_reduce_once(r, t, m, n);
}

/* 1 when the n-limb value a is below the n-limb value m. */
static inline uint64_t mont_less_than(const uint64_t *a, const uint64_t *m, int n)
{
    uint64_t borrow = 0, t;
    for (int i = 0; i < n; i++)
        borrow = mont_sbb(a[i], m[i], borrow, &t);
    return borrow;
}

/* r = a^e mod m for a public exponent of ne limbs (4-bit fixed window); one is 1 in Montgomery
 * form. */
static inline void mont_pow(uint64_t *r, const uint64_t *a, const uint64_t *e, int ne,
                            const uint64_t *m, uint64_t n0, const uint64_t *one, int n)
{
    uint64_t table[16][6], acc[6];
    for (int i = 0; i < n; i++)
        table[0][i] = acc[i] = one[i];
    for (int i = 1; i < 16; i++)
        mont_mul(table[i], table[i - 1], a, m, n0, n);
    for (int i = ne * 16; i-- > 0;) {
        for (int s = 0; s < 4; s++)
            mont_mul(acc, acc, acc, m, n0, n);
        unsigned digit = (unsigned)(e[i / 16] >> (4 * (i % 16))) & 15;
        mont_mul(acc, acc, table[digit], m, n0, n);
    }
    for (int i = 0; i < n; i++)
        r[i] = acc[i];
}

#endif
