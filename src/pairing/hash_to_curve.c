/* hash_to_curve.c -- RFC 9380 hashing for BLS12-381: expand_message_xmd with SHA-256,
 * hash_to_field into Fp, Fp2 and Fr, and the hash_to_curve suites
 * BLS12381G1_XMD:SHA-256_SSWU_RO_ and BLS12381G2_XMD:SHA-256_SSWU_RO_.
 *
 * hash_to_curve(msg) = clear_cofactor(map(u0) + map(u1)) with (u0, u1) = hash_to_field(msg, 2)
 * and map the simplified SWU map plus isogeny of sswu_impl.h. sqrt_ratio is the q = 3 mod 4
 * shortcut over Fp and the generic constant-time loop of appendix F.2.1.1 over Fp2 (q = p^2 = 9
 * mod 16). Cofactors are cleared with h_eff = 1 - x on G1 and with psi (Budroni-Pintore, RFC
 * appendix G.3) on G2. Oversized DSTs (> 255 bytes) are first hashed, as section 5.3.3 says. */
#include <cloister/crypto.h>
#include <cloister/pairing.h>

#include <stdlib.h>
#include <string.h>

#include "pairing/curve.h"
#include "pairing/field.h"
#include "pairing/hash.h"

#define H_LEN 32
#define MAX_DST 255

/* The DST actually used: the caller's, or H("H2C-OVERSIZE-DST-" || dst) when too long. */
struct dst {
    const uint8_t *bytes;
    size_t len;
    uint8_t hashed[H_LEN];
};

static crypto_hash *sha256_new(void)
{
    crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA256);
    if (!h)
        abort(); /* out of memory: the crypto layer treats digest failures as fatal too */
    return h;
}

static void dst_init(struct dst *d, const void *dst, size_t len)
{
    if (len <= MAX_DST) {
        d->bytes = dst;
        d->len = len;
        return;
    }
    static const char prefix[] = "H2C-OVERSIZE-DST-";
    crypto_hash *h = sha256_new();
    crypto_hash_update(h, prefix, sizeof prefix - 1);
    crypto_hash_update(h, dst, len);
    crypto_hash_final(h, d->hashed);
    d->bytes = d->hashed;
    d->len = H_LEN;
}

static int expand_xmd(uint8_t *out, size_t out_len, const void *msg, size_t len,
                      const struct dst *d)
{
    size_t ell = (out_len + H_LEN - 1) / H_LEN;
    if (ell > 255 || out_len > 0xffff)
        return -1;
    static const uint8_t z_pad[64];
    uint8_t len_str[3] = {(uint8_t)(out_len >> 8), (uint8_t)out_len, 0};
    uint8_t dst_len = (uint8_t)d->len;
    uint8_t b0[H_LEN], bi[H_LEN];
    crypto_hash *h = sha256_new();
    crypto_hash_update(h, z_pad, sizeof z_pad);
    crypto_hash_update(h, msg, len);
    crypto_hash_update(h, len_str, sizeof len_str);
    crypto_hash_update(h, d->bytes, d->len);
    crypto_hash_update(h, &dst_len, 1);
    crypto_hash_final(h, b0);
    /* b_i = H((b_0 xor b_(i-1)) || i || DST'), b_0 xor b_0 = 0 for i = 1 */
    uint8_t block[H_LEN + 1 + MAX_DST + 1];
    memset(bi, 0, sizeof bi);
    for (size_t i = 1; i <= ell; i++) {
        for (int j = 0; j < H_LEN; j++)
            block[j] = b0[j] ^ bi[j];
        block[H_LEN] = (uint8_t)i;
        memcpy(block + H_LEN + 1, d->bytes, d->len);
        block[H_LEN + 1 + d->len] = dst_len;
        crypto_sha256(bi, block, H_LEN + 2 + d->len);
        size_t take = out_len - (i - 1) * H_LEN < H_LEN ? out_len - (i - 1) * H_LEN : H_LEN;
        memcpy(out + (i - 1) * H_LEN, bi, take);
    }
    return 0;
}

int bls_expand_message_xmd(uint8_t *out, size_t out_len, const void *msg, size_t len,
                           const void *dst, size_t dstlen)
{
    struct dst d;
    dst_init(&d, dst, dstlen);
    return expand_xmd(out, out_len, msg, len, &d);
}

/* A 64-byte big-endian integer reduced mod p: lo R + hi R^2 (lo: low 384 bits, hi: the rest).
 * The unreduced word goes in as the limb-wise operand of the Montgomery product, which accepts
 * any 384-bit value there. */
static void fp_from_64_bytes(bls_fp *r, const uint8_t in[64])
{
    uint64_t w[8] = {0}, hi[6] = {0};
    for (int i = 0; i < 64; i++)
        w[i / 8] |= (uint64_t)in[63 - i] << (8 * (i % 8));
    bls_fp lo_m, hi_m;
    bls_fp_mul(&lo_m, (const bls_fp *)BLS_FP_R2, (const bls_fp *)w);
    hi[0] = w[6];
    hi[1] = w[7];
    bls_fp_mul(&hi_m, (const bls_fp *)BLS_FP_R3, (const bls_fp *)hi);
    bls_fp_add(r, &lo_m, &hi_m);
}

void bls_hash_to_fp(bls_fp *out, size_t count, const void *msg, size_t len, const void *dst,
                    size_t dstlen)
{
    uint8_t u[BLS_HASH_TO_FP_MAX * 64];
    bls_expand_message_xmd(u, count * 64, msg, len, dst, dstlen);
    for (size_t i = 0; i < count; i++)
        fp_from_64_bytes(&out[i], u + 64 * i);
}

void bls_hash_to_fr(bls_fr *out, const void *msg, size_t len, const void *dst, size_t dstlen)
{
    uint8_t u[48];
    bls_expand_message_xmd(u, sizeof u, msg, len, dst, dstlen);
    bls_fr_from_wide(out, u, sizeof u);
}

/* ---- G1 --------------------------------------------------------------------------------- */
/* sqrt_ratio for q = 3 mod 4 (appendix F.2.1.2): y = sqrt(u/v) or sqrt(Z u/v). */
static uint64_t g1_sqrt_ratio(bls_fp *y, const bls_fp *u, const bls_fp *v)
{
    bls_fp tv1, tv2, tv3, y1, y2;
    bls_fp_sqr(&tv1, v);
    bls_fp_mul(&tv2, u, v);
    bls_fp_mul(&tv1, &tv1, &tv2);
    bls_fp_pow(&y1, &tv1, BLS_EXP_P_MINUS_3_DIV_4, 6);
    bls_fp_mul(&y1, &y1, &tv2);
    bls_fp_mul(&y2, &y1, &BLS_SSWU1_SQRT_MINUS_Z);
    bls_fp_sqr(&tv3, &y1);
    bls_fp_mul(&tv3, &tv3, v);
    uint64_t is_qr = bls_fp_eq(&tv3, u);
    bls_fp_cmov(&y2, &y1, is_qr);
    *y = y2;
    return is_qr;
}

#define FE bls_fp
#define PT bls_g1
#define FE_(op) bls_fp_##op
#define MAP(name) g1_##name
#define SSWU_A BLS_SSWU1_A
#define SSWU_B BLS_SSWU1_B
#define SSWU_Z BLS_SSWU1_Z
#define FE_ONE BLS_FP_ONE
#define ISO_XNUM BLS_ISO1_XNUM
#define ISO_XDEN BLS_ISO1_XDEN
#define ISO_YNUM BLS_ISO1_YNUM
#define ISO_YDEN BLS_ISO1_YDEN
#include "pairing/sswu_impl.h"
#undef FE
#undef PT
#undef FE_
#undef MAP
#undef SSWU_A
#undef SSWU_B
#undef SSWU_Z
#undef FE_ONE
#undef ISO_XNUM
#undef ISO_XDEN
#undef ISO_YNUM
#undef ISO_YDEN

void bls_g1_hash(bls_g1 *out, const void *msg, size_t len, const void *dst, size_t dstlen)
{
    bls_fp u[2];
    bls_g1 q0, q1, r, t;
    bls_hash_to_fp(u, 2, msg, len, dst, dstlen);
    g1_map_to_curve(&q0, &u[0]);
    g1_map_to_curve(&q1, &u[1]);
    bls_g1_add(&r, &q0, &q1);
    bls_g1_mul_z(&t, &r); /* h_eff = 1 - x = 1 + Z */
    bls_g1_add(out, &t, &r);
}

/* ---- G2 --------------------------------------------------------------------------------- */
/* sqrt_ratio for any q (appendix F.2.1.1) with q = p^2: 2^3 divides q - 1 exactly. */
static uint64_t g2_sqrt_ratio(bls_fp2 *y, const bls_fp2 *u, const bls_fp2 *v)
{
    const bls_fp2 one = {BLS_FP_ONE, {{0}}};
    bls_fp2 tv1 = BLS_SSWU2_C6, tv2, tv3, tv4, tv5;
    bls_fp2_sqr(&tv3, v); /* tv2 = v^7 = v^4 v^3 */
    bls_fp2_mul(&tv4, &tv3, v);
    bls_fp2_sqr(&tv3, &tv3);
    bls_fp2_mul(&tv2, &tv3, &tv4);
    bls_fp2_sqr(&tv3, &tv2);
    bls_fp2_mul(&tv3, &tv3, v);
    bls_fp2_mul(&tv5, u, &tv3);
    bls_fp2_pow(&tv5, &tv5, BLS_SSWU2_C3, 12);
    bls_fp2_mul(&tv5, &tv5, &tv2);
    bls_fp2_mul(&tv2, &tv5, v);
    bls_fp2_mul(&tv3, &tv5, u);
    bls_fp2_mul(&tv4, &tv3, &tv2);
    bls_fp2_sqr(&tv5, &tv4);
    bls_fp2_sqr(&tv5, &tv5);
    uint64_t is_qr = bls_fp2_eq(&tv5, &one);
    bls_fp2_mul(&tv2, &tv3, &BLS_SSWU2_C7);
    bls_fp2_mul(&tv5, &tv4, &tv1);
    bls_fp2_cmov(&tv2, &tv3, is_qr);
    bls_fp2_cmov(&tv5, &tv4, is_qr);
    tv3 = tv2;
    tv4 = tv5;
    for (int i = 3; i >= 2; i--) {
        tv5 = tv4;
        for (int s = 0; s < i - 2; s++)
            bls_fp2_sqr(&tv5, &tv5);
        uint64_t e1 = bls_fp2_eq(&tv5, &one);
        bls_fp2_mul(&tv2, &tv3, &tv1);
        bls_fp2_sqr(&tv1, &tv1);
        bls_fp2_mul(&tv5, &tv4, &tv1);
        bls_fp2_cmov(&tv2, &tv3, e1);
        bls_fp2_cmov(&tv5, &tv4, e1);
        tv3 = tv2;
        tv4 = tv5;
    }
    *y = tv3;
    return is_qr;
}

#define FE bls_fp2
#define PT bls_g2
#define FE_(op) bls_fp2_##op
#define MAP(name) g2_##name
#define SSWU_A BLS_SSWU2_A
#define SSWU_B BLS_SSWU2_B
#define SSWU_Z BLS_SSWU2_Z
#define FE_ONE ((bls_fp2){BLS_FP_ONE, {{0}}})
#define ISO_XNUM BLS_ISO2_XNUM
#define ISO_XDEN BLS_ISO2_XDEN
#define ISO_YNUM BLS_ISO2_YNUM
#define ISO_YDEN BLS_ISO2_YDEN
#include "pairing/sswu_impl.h"

/* RFC 9380 appendix G.3: [h_eff]P with psi. */
static void g2_clear_cofactor(bls_g2 *out, const bls_g2 *p)
{
    bls_g2 t1, t2, t3;
    bls_g2_mul_z(&t1, p);
    bls_g2_neg(&t1, &t1); /* t1 = [x]P */
    bls_g2_psi(&t2, p);
    bls_g2_dbl(&t3, p);
    bls_g2_psi(&t3, &t3);
    bls_g2_psi(&t3, &t3);
    bls_g2_sub(&t3, &t3, &t2);
    bls_g2_add(&t2, &t1, &t2);
    bls_g2_mul_z(&t2, &t2);
    bls_g2_neg(&t2, &t2);
    bls_g2_add(&t3, &t3, &t2);
    bls_g2_sub(&t3, &t3, &t1);
    bls_g2_sub(out, &t3, p);
}

void bls_g2_hash(bls_g2 *out, const void *msg, size_t len, const void *dst, size_t dstlen)
{
    bls_fp u[4]; /* u0.c0, u0.c1, u1.c0, u1.c1 */
    bls_g2 q0, q1, r;
    bls_hash_to_fp(u, 4, msg, len, dst, dstlen);
    bls_fp2 u0 = {u[0], u[1]}, u1 = {u[2], u[3]};
    g2_map_to_curve(&q0, &u0);
    g2_map_to_curve(&q1, &u1);
    bls_g2_add(&r, &q0, &q1);
    g2_clear_cofactor(out, &r);
}
