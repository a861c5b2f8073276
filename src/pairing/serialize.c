/* serialize.c -- the ZCash compressed encodings of G1 (48 bytes) and G2 (96 bytes), as used by
 * the IETF BLS signature draft, blst, zkcrypto and @noble/curves.
 *
 * Big-endian x (for G2: x.c1 then x.c0) with three flags in the top bits of the first byte:
 * 0x80 compressed (always set here), 0x40 identity (all other bits then zero), 0x20 set when y
 * is the larger of y and -y (for Fp2, compared on c1, then on c0 when c1 is zero). Decoding
 * refuses anything else, a coordinate >= p, an x with no point, and a point outside the order-r
 * subgroup; encoding is constant-time, decoding is for public data. */
#include <cloister/pairing.h>

#include <string.h>

#include "pairing/curve.h"
#include "pairing/field.h"

#define FLAG_COMPRESSED 0x80
#define FLAG_INFINITY 0x40
#define FLAG_SIGN 0x20

const char *bls_strerror(int status)
{
    switch (status) {
    case BLS_OK: return "ok";
    case BLS_ERR_FLAGS: return "bad encoding flags (not compressed, or a malformed identity)";
    case BLS_ERR_RANGE: return "value out of range (coordinate >= p or scalar >= r)";
    case BLS_ERR_NOT_ON_CURVE:
        return "not a point of the curve (or not in the cyclotomic subgroup)";
    case BLS_ERR_NOT_IN_SUBGROUP: return "not in the prime-order subgroup";
    case BLS_ERR_ALLOC: return "out of memory";
    default: return "unknown BLS12-381 status";
    }
}

/* Sets the flags on an encoded x: identity encodings are all zero but for 0xc0. */
static void put_flags(uint8_t *out, size_t len, uint64_t not_identity, uint64_t larger)
{
    uint8_t keep = (uint8_t)bls_mask(not_identity);
    for (size_t i = 0; i < len; i++)
        out[i] &= keep;
    out[0] |= (uint8_t)(FLAG_COMPRESSED | (FLAG_INFINITY & ~keep) | (FLAG_SIGN & keep & -larger));
}

void bls_g1_to_bytes(uint8_t out[BLS_G1_BYTES], const bls_g1 *a)
{
    bls_g1_affine p;
    uint64_t not_identity = bls_g1_to_affine(&p, a);
    bls_fp_to_bytes(out, &p.x);
    put_flags(out, BLS_G1_BYTES, not_identity, bls_fp_is_larger_half(&p.y));
}

void bls_g2_to_bytes(uint8_t out[BLS_G2_BYTES], const bls_g2 *a)
{
    bls_g2_affine p;
    uint64_t not_identity = bls_g2_to_affine(&p, a);
    bls_fp_to_bytes(out, &p.x.c1);
    bls_fp_to_bytes(out + 48, &p.x.c0);
    put_flags(out, BLS_G2_BYTES, not_identity, bls_fp2_is_larger_half(&p.y));
}

/* Validates the flags; returns 1 for a well-formed identity, 0 for a point to decode, or a
 * negative status. */
static int check_flags(const uint8_t *in, size_t len)
{
    if (!(in[0] & FLAG_COMPRESSED))
        return BLS_ERR_FLAGS;
    if (!(in[0] & FLAG_INFINITY))
        return 0;
    if (in[0] != (FLAG_COMPRESSED | FLAG_INFINITY))
        return BLS_ERR_FLAGS;
    for (size_t i = 1; i < len; i++)
        if (in[i])
            return BLS_ERR_FLAGS;
    return 1;
}

int bls_g1_from_bytes(bls_g1 *out, const uint8_t in[BLS_G1_BYTES])
{
    int flags = check_flags(in, BLS_G1_BYTES);
    if (flags < 0)
        return flags;
    if (flags == 1) {
        bls_g1_identity(out);
        return BLS_OK;
    }
    uint8_t xb[48];
    memcpy(xb, in, sizeof xb);
    xb[0] &= 0x1f;
    bls_g1_affine p;
    if (bls_fp_from_bytes(&p.x, xb) != 0)
        return BLS_ERR_RANGE;
    bls_fp rhs;
    bls_fp_sqr(&rhs, &p.x);
    bls_fp_mul(&rhs, &rhs, &p.x);
    bls_fp_add(&rhs, &rhs, &BLS_G1_B);
    if (!bls_fp_sqrt(&p.y, &rhs))
        return BLS_ERR_NOT_ON_CURVE;
    if (bls_fp_is_larger_half(&p.y) != !!(in[0] & FLAG_SIGN))
        bls_fp_neg(&p.y, &p.y);
    bls_g1 point;
    bls_g1_from_affine(&point, &p);
    if (!bls_g1_in_subgroup(&point))
        return BLS_ERR_NOT_IN_SUBGROUP;
    *out = point;
    return BLS_OK;
}

int bls_g2_from_bytes(bls_g2 *out, const uint8_t in[BLS_G2_BYTES])
{
    int flags = check_flags(in, BLS_G2_BYTES);
    if (flags < 0)
        return flags;
    if (flags == 1) {
        bls_g2_identity(out);
        return BLS_OK;
    }
    uint8_t xb[48];
    memcpy(xb, in, sizeof xb);
    xb[0] &= 0x1f;
    bls_g2_affine p;
    if (bls_fp_from_bytes(&p.x.c1, xb) != 0 || bls_fp_from_bytes(&p.x.c0, in + 48) != 0)
        return BLS_ERR_RANGE;
    bls_fp2 rhs;
    bls_fp2_sqr(&rhs, &p.x);
    bls_fp2_mul(&rhs, &rhs, &p.x);
    bls_fp2_add(&rhs, &rhs, &BLS_G2_B);
    if (!bls_fp2_sqrt(&p.y, &rhs))
        return BLS_ERR_NOT_ON_CURVE;
    if (bls_fp2_is_larger_half(&p.y) != !!(in[0] & FLAG_SIGN))
        bls_fp2_neg(&p.y, &p.y);
    bls_g2 point;
    bls_g2_from_affine(&point, &p);
    if (!bls_g2_in_subgroup(&point))
        return BLS_ERR_NOT_IN_SUBGROUP;
    *out = point;
    return BLS_OK;
}
