/* scalar.h -- internal scalar helpers shared by G1, G2 and GT exponentiation: canonical limbs of
 * an Fr element, the GLV/GLS split into 2 or 4 short parts, and signed fixed-window recoding.
 * All constant-time. */
#ifndef CLOISTER_PAIRING_SCALAR_H
#define CLOISTER_PAIRING_SCALAR_H

#include <cloister/pairing.h>

#include <stdint.h>

#define BLS_SPLIT_MAX 4

/* The canonical integer of a (little-endian limbs, < r). */
void bls_fr_to_raw(uint64_t out[4], const bls_fr *a);
/* k = sum parts[i] L^i with L = Z^2 and parts < 2^128 (dims 2), or L = Z and parts < 2^64
 * (dims 4); Z = -x = 0xd201000000010000. */
void bls_scalar_split(uint64_t parts[][2], int dims, const bls_fr *k);
/* Digits needed for a part of a dims-way split with w-bit windows (bit length plus a carry). */
static inline int bls_scalar_digits(int dims, int w)
{
    return (256 / dims + 1 + w - 1) / w;
}
/* Signed digits d_i in [-2^(w-1), 2^(w-1)] with v = sum d_i 2^(w i), for a value of nlimbs
 * limbs; ndigits must cover its bit length plus one. Digits are returned as magnitude and sign
 * bit so the table lookup and the negation can both be masked. */
void bls_scalar_recode(uint8_t *mag, uint8_t *neg, const uint64_t *v, int nlimbs, int w,
                       int ndigits);

#endif
