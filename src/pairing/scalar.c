/* scalar.c -- scalar splitting and recoding for constant-time multiplication.
 *
 * Split: with Z = -x, r = Z^4 - Z^2 + 1, so every k < r is k1 + k2 Z^2 with k1, k2 < 2^128,
 * and each half is again a + b Z with a, b < 2^64. Z^2 acts on G1 as a cheap endomorphism
 * ((beta X, -Y, Z)), Z acts on G2 as -psi and on GT as the conjugated Frobenius, so a scalar
 * multiplication runs over 128-bit (G1) or 64-bit (G2, GT) parts. Quotients are taken by
 * Barrett multiplication with a precomputed floor(2^s / d) and one masked correction, never by
 * a division instruction, whose timing depends on its operands.
 *
 * Recode: fixed windows of w bits turned into signed digits in [-2^(w-1), 2^(w-1)], which
 * halves the precomputed tables; a carry is propagated with masks. */
#include "pairing/scalar.h"

#include <string.h>

#include "pairing/constants.h"
#include "pairing/mont.h"

/* r = a * b for little-endian limb strings (r has na + nb limbs). */
static void mul_limbs(uint64_t *r, const uint64_t *a, int na, const uint64_t *b, int nb)
{
    for (int i = 0; i < na + nb; i++)
        r[i] = 0;
    for (int i = 0; i < na; i++) {
        bls_u128 carry = 0;
        for (int j = 0; j < nb; j++) {
            carry += (bls_u128)a[i] * b[j] + r[i + j];
            r[i + j] = (uint64_t)carry;
            carry >>= 64;
        }
        r[i + nb] = (uint64_t)carry;
    }
}

/* q = v / d and rem = v mod d for v of nv limbs, d of nd limbs, m = floor(2^(64 nv) / d) of nm
 * limbs, where the quotient fits in nq <= nm limbs and the remainder in nd limbs. The Barrett
 * estimate is at most one below the quotient (v < 2^(64 nv)), so one masked step fixes it. */
static void divmod_const(uint64_t *q, int nq, uint64_t *rem, const uint64_t *v, int nv,
                         const uint64_t *d, int nd, const uint64_t *m, int nm)
{
    uint64_t prod[8], qd[8], r[5], t[5], borrow = 0;
    mul_limbs(prod, v, nv, m, nm);
    mul_limbs(qd, prod + nv, nq, d, nd);
    for (int i = 0; i <= nd; i++) { /* r = v - q d < 2 d: nd + 1 limbs */
        bls_u128 diff = (bls_u128)(i < nv ? v[i] : 0) - qd[i] - borrow;
        r[i] = (uint64_t)diff;
        borrow = (uint64_t)(diff >> 64) & 1;
    }
    borrow = 0;
    for (int i = 0; i <= nd; i++) {
        bls_u128 diff = (bls_u128)r[i] - (i < nd ? d[i] : 0) - borrow;
        t[i] = (uint64_t)diff;
        borrow = (uint64_t)(diff >> 64) & 1;
    }
    uint64_t keep = bls_mask(borrow); /* r < d: no correction */
    for (int i = 0; i < nd; i++)
        rem[i] = (r[i] & keep) | (t[i] & ~keep);
    uint64_t carry = borrow ^ 1;
    for (int i = 0; i < nq; i++) {
        bls_u128 s = (bls_u128)prod[nv + i] + carry;
        q[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
}

void bls_scalar_split(uint64_t parts[][2], int dims, const bls_fr *k)
{
    uint64_t v[4], lo[2], hi[2];
    bls_fr_to_raw(v, k);
    divmod_const(hi, 2, lo, v, 4, BLS_Z2, 2, BLS_Z2_BARRETT, 3);
    if (dims == 2) {
        memcpy(parts[0], lo, sizeof lo);
        memcpy(parts[1], hi, sizeof hi);
        return;
    }
    static const uint64_t z[1] = {0xd201000000010000ULL};
    for (int h = 0; h < 2; h++) {
        uint64_t *half = h ? hi : lo;
        divmod_const(&parts[2 * h + 1][0], 1, &parts[2 * h][0], half, 2, z, 1, BLS_Z_BARRETT, 2);
        parts[2 * h][1] = parts[2 * h + 1][1] = 0;
    }
}

/* w bits of v starting at bit pos (zero past the end). */
static uint64_t get_bits(const uint64_t *v, int nlimbs, int pos, int w)
{
    int limb = pos / 64, shift = pos % 64;
    uint64_t bits = limb < nlimbs ? v[limb] >> shift : 0;
    if (shift + w > 64 && limb + 1 < nlimbs)
        bits |= v[limb + 1] << (64 - shift);
    return bits & ((1u << w) - 1);
}

void bls_scalar_recode(uint8_t *mag, uint8_t *neg, const uint64_t *v, int nlimbs, int w,
                       int ndigits)
{
    uint64_t carry = 0, half = (uint64_t)1 << (w - 1);
    for (int i = 0; i < ndigits; i++) {
        uint64_t val = get_bits(v, nlimbs, i * w, w) + carry;
        carry = (half - val) >> 63;      /* val > half */
        uint64_t d = val - (carry << w); /* two's complement digit */
        uint64_t sign = d >> 63;
        mag[i] = (uint8_t)((d ^ bls_mask(sign)) + sign);
        neg[i] = (uint8_t)sign;
    }
}
