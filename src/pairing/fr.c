/* fr.c -- the scalar field Fr (r of 255 bits): four 64-bit limbs in Montgomery form (R = 2^256)
 * on the shared helpers of mont.h. Everything is constant-time, including inversion (Fermat,
 * public exponent r - 2) and batch inversion (zeros are masked, not skipped). Encodings are 32
 * bytes big-endian and must be canonical (< r). */
#include <cloister/crypto.h>
#include <cloister/pairing.h>

#include <string.h>

#include "pairing/constants.h"
#include "pairing/mont.h"
#include "pairing/scalar.h"

static void fr_mul_raw(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    mont_mul(r, a, b, BLS_R, BLS_R_N0, 4);
}

void bls_fr_from_u64(bls_fr *out, uint64_t v)
{
    uint64_t raw[4] = {v};
    mont_reduce_once(raw, raw, BLS_R, 4);
    fr_mul_raw(out->l, raw, BLS_FR_R2);
}

int bls_fr_from_bytes(bls_fr *out, const uint8_t in[BLS_FR_BYTES])
{
    uint64_t raw[4] = {0};
    for (int i = 0; i < 32; i++)
        raw[i / 8] |= (uint64_t)in[31 - i] << (8 * (i % 8));
    if (!mont_less_than(raw, BLS_R, 4))
        return BLS_ERR_RANGE;
    fr_mul_raw(out->l, raw, BLS_FR_R2);
    return BLS_OK;
}

void bls_fr_to_raw(uint64_t out[4], const bls_fr *a)
{
    static const uint64_t one[4] = {1};
    fr_mul_raw(out, a->l, one);
}

void bls_fr_to_bytes(uint8_t out[BLS_FR_BYTES], const bls_fr *a)
{
    uint64_t raw[4];
    bls_fr_to_raw(raw, a);
    for (int i = 0; i < 32; i++)
        out[31 - i] = (uint8_t)(raw[i / 8] >> (8 * (i % 8)));
}

void bls_fr_from_wide(bls_fr *out, const uint8_t *in, size_t len)
{
    /* v = lo + hi 2^256; in Montgomery form lo R + hi R^2 = mont(lo, R^2) + mont(hi, R^3). */
    uint64_t w[8] = {0}, lo[4], hi[4];
    if (len > 64)
        len = 64;
    for (size_t i = 0; i < len; i++)
        w[i / 8] |= (uint64_t)in[len - 1 - i] << (8 * (i % 8));
    for (int half = 0; half < 2; half++) {
        uint64_t *part = half ? hi : lo;
        memcpy(part, w + 4 * half, sizeof lo);
        mont_reduce_once(part, part, BLS_R, 4); /* 2^256 < 3r: two subtractions suffice */
        mont_reduce_once(part, part, BLS_R, 4);
    }
    fr_mul_raw(lo, lo, BLS_FR_R2);
    fr_mul_raw(hi, hi, BLS_FR_R3);
    mont_add(out->l, lo, hi, BLS_R, 4);
}

int bls_fr_random(bls_fr *out)
{
    uint8_t buf[64];
    int rc;
    do { /* 64 bytes reduced mod r: bias below 2^-256; zero is redrawn */
        rc = crypto_random(buf, sizeof buf);
        bls_fr_from_wide(out, buf, sizeof buf);
    } while (rc == 0 && bls_fr_is_zero(out));
    crypto_wipe(buf, sizeof buf);
    return rc == 0 ? 0 : -1;
}

void bls_fr_add(bls_fr *out, const bls_fr *a, const bls_fr *b)
{
    mont_add(out->l, a->l, b->l, BLS_R, 4);
}

void bls_fr_sub(bls_fr *out, const bls_fr *a, const bls_fr *b)
{
    mont_sub(out->l, a->l, b->l, BLS_R, 4);
}

void bls_fr_neg(bls_fr *out, const bls_fr *a)
{
    static const uint64_t zero[4];
    mont_sub(out->l, zero, a->l, BLS_R, 4);
}

void bls_fr_mul(bls_fr *out, const bls_fr *a, const bls_fr *b)
{
    fr_mul_raw(out->l, a->l, b->l);
}

void bls_fr_sqr(bls_fr *out, const bls_fr *a)
{
    fr_mul_raw(out->l, a->l, a->l);
}

void bls_fr_inv(bls_fr *out, const bls_fr *a)
{
    mont_pow(out->l, a->l, BLS_EXP_R_MINUS_2, 4, BLS_R, BLS_R_N0, BLS_FR_ONE, 4);
}

static void fr_cmov(bls_fr *r, const bls_fr *a, uint64_t bit)
{
    uint64_t m = bls_mask(bit);
    for (int i = 0; i < 4; i++)
        r->l[i] ^= (r->l[i] ^ a->l[i]) & m;
}

void bls_fr_batch_inv(bls_fr *out, const bls_fr *in, size_t n)
{
    /* out[i] = in[0] ... in[i-1] (zeros counted as ones), then one inversion walks back. */
    bls_fr acc, one, inv;
    memcpy(one.l, BLS_FR_ONE, sizeof one.l);
    acc = one;
    for (size_t i = 0; i < n; i++) {
        out[i] = acc;
        bls_fr x = in[i];
        fr_cmov(&x, &one, bls_fr_is_zero(&in[i]));
        bls_fr_mul(&acc, &acc, &x);
    }
    bls_fr_inv(&inv, &acc);
    for (size_t i = n; i-- > 0;) {
        bls_fr x = in[i], r;
        uint64_t zero = bls_fr_is_zero(&x);
        fr_cmov(&x, &one, zero);
        bls_fr_mul(&r, &out[i], &inv);
        bls_fr_mul(&inv, &inv, &x);
        static const bls_fr fr_zero;
        fr_cmov(&r, &fr_zero, zero);
        out[i] = r;
    }
}

bool bls_fr_is_zero(const bls_fr *a)
{
    uint64_t acc = a->l[0] | a->l[1] | a->l[2] | a->l[3];
    return (((acc | (0 - acc)) >> 63) ^ 1) != 0;
}

bool bls_fr_eq(const bls_fr *a, const bls_fr *b)
{
    uint64_t acc = 0;
    for (int i = 0; i < 4; i++)
        acc |= a->l[i] ^ b->l[i];
    return (((acc | (0 - acc)) >> 63) ^ 1) != 0;
}
