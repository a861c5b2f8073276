/* pairing.h -- BLS12-381: the scalar field Fr, the groups G1, G2 and GT, the optimal ate pairing,
 * RFC 9380 hashing and the standard (ZCash) compressed encodings.
 *
 * The curve is E: y^2 = x^3 + 4 over Fp (p of 381 bits) and its sextic twist E': y^2 = x^3 +
 * 4(u + 1) over Fp2 = Fp[u]/(u^2 + 1); G1 and G2 are their subgroups of prime order r (255 bits)
 * and GT is the order-r subgroup of Fp12*. Points are kept in homogeneous projective
 * coordinates and combined with complete formulas, so there is no special case (identity,
 * doubling) for an attacker to time.
 *
 * Timing. [ct]: the running time does not depend on secret values (scalars, points, field
 * elements): use these with keys. [vt]: variable time, for public data only (MSM, decoding,
 * subgroup checks). Every function is [ct] unless marked [vt]; whether a point is the
 * identity is never treated as secret.
 *
 * Errors. Decoders return BLS_OK or a negative enum bls_status (bls_strerror names it); they
 * never crash on malformed input and leave *out untouched on failure. Everything else cannot
 * fail, except calls that allocate (returning BLS_ERR_ALLOC).
 *
 * Points and GT values given to these functions must be group elements: everything the
 * decoders accept, the generators, hashes and the results of arithmetic on them are. (The
 * endomorphism speed-ups hold on the prime-order groups only.)
 *
 * The structs below are exposed for their sizes only (stack allocation): treat their fields as
 * private and go through the functions. Outputs may alias inputs everywhere. */
#ifndef CLOISTER_PAIRING_H
#define CLOISTER_PAIRING_H

#include <cloister/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLS_FR_BYTES 32
#define BLS_G1_BYTES 48
#define BLS_G2_BYTES 96
#define BLS_GT_BYTES 576

enum bls_status {
    BLS_OK = 0,
    BLS_ERR_FLAGS = -1,           /* compression flag clear, or a malformed identity encoding */
    BLS_ERR_RANGE = -2,           /* a coordinate >= p, or a scalar >= r */
    BLS_ERR_NOT_ON_CURVE = -3,    /* x has no point on the curve (or a GT value outside Fp12's
                                     cyclotomic subgroup) */
    BLS_ERR_NOT_IN_SUBGROUP = -4, /* on the curve, but not of order r */
    BLS_ERR_ALLOC = -5,           /* out of memory */
};
/* A short English description of a status, for error messages. */
CLOISTER_API const char *bls_strerror(int status);

/* The Fp multiplication every operation rests on. BLS_FP_AUTO (the default, chosen at load time):
 * the mulx/adcx/adox assembly when CPUID reports BMI2 and ADX, else the portable C.
 * BLS_FP_PORTABLE: the portable C. BLS_FP_ADX: the assembly without asking CPUID, for tools that
 * hide those CPUID bits but run the instructions (valgrind); it faults on a CPU without them.
 * Returns the one now in use, "adx" or "portable". For tests and benchmarks that compare the
 * paths: call it before other threads use the library. */
enum bls_fp_path { BLS_FP_AUTO, BLS_FP_PORTABLE, BLS_FP_ADX };
CLOISTER_API const char *bls_fp_select(enum bls_fp_path path);

/* Field elements: Montgomery form, 64-bit limbs, least significant first. */
typedef struct {
    uint64_t l[6];
} bls_fp;
typedef struct {
    bls_fp c0, c1;
} bls_fp2; /* c0 + c1 u */
typedef struct {
    bls_fp2 c0, c1, c2;
} bls_fp6; /* c0 + c1 v + c2 v^2, v^3 = u + 1 */
typedef struct {
    bls_fp6 c0, c1;
} bls_fp12; /* c0 + c1 w, w^2 = v */
typedef struct {
    uint64_t l[4];
} bls_fr; /* an integer mod r */
typedef struct {
    bls_fp x, y, z;
} bls_g1; /* (X : Y : Z), identity (0 : 1 : 0) */
typedef struct {
    bls_fp2 x, y, z;
} bls_g2;
typedef struct {
    bls_fp12 f;
} bls_gt;

/* ---- Fr: scalars mod r ------------------------------------------------------------------ */
CLOISTER_API void bls_fr_from_u64(bls_fr *out, uint64_t v);
/* 32 bytes big-endian; BLS_ERR_RANGE unless the value is < r. */
CLOISTER_API CLOISTER_MUST_CHECK int bls_fr_from_bytes(bls_fr *out, const uint8_t in[BLS_FR_BYTES]);
CLOISTER_API void bls_fr_to_bytes(uint8_t out[BLS_FR_BYTES], const bls_fr *a);
/* A big-endian byte string reduced mod r (uniform from 48+ random bytes); at most 64 bytes are
 * read, the first ones of a longer input. */
CLOISTER_API void bls_fr_from_wide(bls_fr *out, const uint8_t *in, size_t len);
/* A uniformly random non-zero scalar from the OS CSPRNG; -1 when the CSPRNG fails. */
CLOISTER_API int bls_fr_random(bls_fr *out);
CLOISTER_API void bls_fr_add(bls_fr *out, const bls_fr *a, const bls_fr *b);
CLOISTER_API void bls_fr_sub(bls_fr *out, const bls_fr *a, const bls_fr *b);
CLOISTER_API void bls_fr_neg(bls_fr *out, const bls_fr *a);
CLOISTER_API void bls_fr_mul(bls_fr *out, const bls_fr *a, const bls_fr *b);
CLOISTER_API void bls_fr_sqr(bls_fr *out, const bls_fr *a);
/* 1/a; the inverse of zero is zero. */
CLOISTER_API void bls_fr_inv(bls_fr *out, const bls_fr *a);
/* out[i] = 1/in[i] for n values with one inversion (Montgomery's trick); zeros map to zero.
 * out and in must not overlap. */
CLOISTER_API void bls_fr_batch_inv(bls_fr *out, const bls_fr *in, size_t n);
CLOISTER_API bool bls_fr_is_zero(const bls_fr *a);
CLOISTER_API bool bls_fr_eq(const bls_fr *a, const bls_fr *b);

/* ---- G1 (points of E over Fp) ----------------------------------------------------------- */
CLOISTER_API void bls_g1_identity(bls_g1 *out);
CLOISTER_API void bls_g1_generator(bls_g1 *out);
CLOISTER_API void bls_g1_add(bls_g1 *out, const bls_g1 *a, const bls_g1 *b);
CLOISTER_API void bls_g1_sub(bls_g1 *out, const bls_g1 *a, const bls_g1 *b);
CLOISTER_API void bls_g1_dbl(bls_g1 *out, const bls_g1 *a);
CLOISTER_API void bls_g1_neg(bls_g1 *out, const bls_g1 *a);
CLOISTER_API bool bls_g1_eq(const bls_g1 *a, const bls_g1 *b);
CLOISTER_API bool bls_g1_is_identity(const bls_g1 *a);
/* On the curve; and [vt] on it and in the order-r subgroup (Scott's endomorphism test,
 * phi(P) == [-x^2]P). */
CLOISTER_API bool bls_g1_on_curve(const bls_g1 *a);
CLOISTER_API bool bls_g1_in_subgroup(const bls_g1 *a);
/* out = [k]P: GLV split into two 128-bit parts, signed 5-bit windows, masked table reads. */
CLOISTER_API void bls_g1_mul(bls_g1 *out, const bls_g1 *p, const bls_fr *k);
/* out = [k]G1 from a built-in precomputed table (built on first use, thread-safe). */
CLOISTER_API void bls_g1_mul_gen(bls_g1 *out, const bls_fr *k);
/* A fixed-base table (80 KiB) for a long-lived point: [k]P with additions only. */
typedef struct bls_g1_table bls_g1_table;
CLOISTER_API bls_g1_table *bls_g1_table_new(const bls_g1 *base); /* NULL when out of memory */
CLOISTER_API void bls_g1_table_mul(bls_g1 *out, const bls_g1_table *t, const bls_fr *k);
CLOISTER_API void bls_g1_table_free(bls_g1_table *t);
/* [vt] out = sum [k_i]P_i (Pippenger); BLS_ERR_ALLOC when out of memory. */
CLOISTER_API int bls_g1_msm(bls_g1 *out, const bls_g1 *points, const bls_fr *scalars, size_t n);
/* RFC 9380 hash_to_curve, suite BLS12381G1_XMD:SHA-256_SSWU_RO_ with the caller's DST (one
 * longer than 255 bytes is first hashed, RFC 9380 section 5.3.3). */
CLOISTER_API void bls_g1_hash(bls_g1 *out, const void *msg, size_t len, const void *dst,
                              size_t dstlen);
CLOISTER_API void bls_g1_to_bytes(uint8_t out[BLS_G1_BYTES], const bls_g1 *a);
/* [vt] Compressed decoding with on-curve and subgroup checks. */
CLOISTER_API CLOISTER_MUST_CHECK int bls_g1_from_bytes(bls_g1 *out, const uint8_t in[BLS_G1_BYTES]);

/* ---- G2 (points of the twist over Fp2) -------------------------------------------------- */
CLOISTER_API void bls_g2_identity(bls_g2 *out);
CLOISTER_API void bls_g2_generator(bls_g2 *out);
CLOISTER_API void bls_g2_add(bls_g2 *out, const bls_g2 *a, const bls_g2 *b);
CLOISTER_API void bls_g2_sub(bls_g2 *out, const bls_g2 *a, const bls_g2 *b);
CLOISTER_API void bls_g2_dbl(bls_g2 *out, const bls_g2 *a);
CLOISTER_API void bls_g2_neg(bls_g2 *out, const bls_g2 *a);
CLOISTER_API bool bls_g2_eq(const bls_g2 *a, const bls_g2 *b);
CLOISTER_API bool bls_g2_is_identity(const bls_g2 *a);
/* On the curve; and [vt] on it and in the order-r subgroup (psi(Q) == [x]Q). */
CLOISTER_API bool bls_g2_on_curve(const bls_g2 *a);
CLOISTER_API bool bls_g2_in_subgroup(const bls_g2 *a);
/* out = [k]Q: GLS split into four 64-bit parts with psi, signed 5-bit windows. */
CLOISTER_API void bls_g2_mul(bls_g2 *out, const bls_g2 *q, const bls_fr *k);
CLOISTER_API void bls_g2_mul_gen(bls_g2 *out, const bls_fr *k);
typedef struct bls_g2_table bls_g2_table; /* 160 KiB */
CLOISTER_API bls_g2_table *bls_g2_table_new(const bls_g2 *base);
CLOISTER_API void bls_g2_table_mul(bls_g2 *out, const bls_g2_table *t, const bls_fr *k);
CLOISTER_API void bls_g2_table_free(bls_g2_table *t);
/* [vt] out = sum [k_i]Q_i (Pippenger); BLS_ERR_ALLOC when out of memory. */
CLOISTER_API int bls_g2_msm(bls_g2 *out, const bls_g2 *points, const bls_fr *scalars, size_t n);
/* RFC 9380 suite BLS12381G2_XMD:SHA-256_SSWU_RO_, DST as for G1. */
CLOISTER_API void bls_g2_hash(bls_g2 *out, const void *msg, size_t len, const void *dst,
                              size_t dstlen);
CLOISTER_API void bls_g2_to_bytes(uint8_t out[BLS_G2_BYTES], const bls_g2 *a);
/* [vt] Compressed decoding with on-curve and subgroup checks. */
CLOISTER_API CLOISTER_MUST_CHECK int bls_g2_from_bytes(bls_g2 *out, const uint8_t in[BLS_G2_BYTES]);

/* ---- GT and the pairing ----------------------------------------------------------------- */
CLOISTER_API void bls_gt_one(bls_gt *out);
CLOISTER_API void bls_gt_mul(bls_gt *out, const bls_gt *a, const bls_gt *b);
/* 1/a (a conjugation: GT elements have norm 1). */
CLOISTER_API void bls_gt_inv(bls_gt *out, const bls_gt *a);
/* out = a^k with cyclotomic squarings (four 64-bit parts with the Frobenius, as G2 does). */
CLOISTER_API void bls_gt_exp(bls_gt *out, const bls_gt *a, const bls_fr *k);
CLOISTER_API bool bls_gt_eq(const bls_gt *a, const bls_gt *b);
CLOISTER_API bool bls_gt_is_one(const bls_gt *a);
/* 576 bytes: the twelve Fp coefficients, 48 bytes big-endian each, in the order c0.c0.c0,
 * c0.c0.c1, c0.c1.c0, ..., c1.c2.c1 (the layout of @noble/curves' Fp12.toBytes). */
CLOISTER_API void bls_gt_to_bytes(uint8_t out[BLS_GT_BYTES], const bls_gt *a);
/* [vt] Checks the range of every coefficient and membership in the order-r subgroup. */
CLOISTER_API CLOISTER_MUST_CHECK int bls_gt_from_bytes(bls_gt *out, const uint8_t in[BLS_GT_BYTES]);

/* e(P, Q): optimal ate Miller loop and final exponentiation. e(P, O) = e(O, Q) = 1. */
CLOISTER_API void bls_pairing(bls_gt *out, const bls_g1 *p, const bls_g2 *q);
/* prod_i e(P_i, Q_i) with one shared Miller loop and one final exponentiation.
 * BLS_ERR_ALLOC when out of memory (n > 8 allocates). */
CLOISTER_API int bls_pairing_multi(bls_gt *out, const bls_g1 *p, const bls_g2 *q, size_t n);

/* ---- RFC 9380 building blocks ----------------------------------------------------------- */
/* expand_message_xmd with SHA-256: out_len <= 8160 bytes (-1 otherwise); DST as for G1. */
CLOISTER_API int bls_expand_message_xmd(uint8_t *out, size_t out_len, const void *msg, size_t len,
                                        const void *dst, size_t dstlen);
/* hash_to_field into Fr (L = 48, one element): the scalar hash H(ID) of identity-based schemes
 * (zero with probability 2^-255). */
CLOISTER_API void bls_hash_to_fr(bls_fr *out, const void *msg, size_t len, const void *dst,
                                 size_t dstlen);

#endif
