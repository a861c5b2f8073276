/* curve.h -- internal interface of the G1 and G2 code (g1.c, g2.c via ec_impl.h) used by the
 * pairing, hashing, serialization, MSM and fixed-base modules. */
#ifndef CLOISTER_PAIRING_CURVE_H
#define CLOISTER_PAIRING_CURVE_H

#include <cloister/pairing.h>

#include <stddef.h>
#include <stdint.h>

/* Affine points; the identity has no affine form, so callers keep it aside. */
typedef struct {
    bls_fp x, y;
} bls_g1_affine;
typedef struct {
    bls_fp2 x, y;
} bls_g2_affine;

/* r = a + b for an affine b (complete for any projective a). */
void bls_g1_add_affine(bls_g1 *r, const bls_g1 *a, const bls_g1_affine *b);
void bls_g2_add_affine(bls_g2 *r, const bls_g2 *a, const bls_g2_affine *b);
/* Returns 1 and the affine form, or 0 for the identity (r is then zero). */
uint64_t bls_g1_to_affine(bls_g1_affine *r, const bls_g1 *a);
uint64_t bls_g2_to_affine(bls_g2_affine *r, const bls_g2 *a);
void bls_g1_from_affine(bls_g1 *r, const bls_g1_affine *a);
void bls_g2_from_affine(bls_g2 *r, const bls_g2_affine *a);
/* Affine forms of n points with one inversion (Montgomery's trick); none may be the identity
 * (the caller checks). scratch holds n field elements. */
void bls_g1_batch_to_affine(bls_g1_affine *r, const bls_g1 *a, size_t n, bls_fp *scratch);
void bls_g2_batch_to_affine(bls_g2_affine *r, const bls_g2 *a, size_t n, bls_fp2 *scratch);
void bls_g1_cmov(bls_g1 *r, const bls_g1 *a, uint64_t bit);
void bls_g2_cmov(bls_g2 *r, const bls_g2 *a, uint64_t bit);
/* r = [Z]a, Z = -x = 0xd201000000010000 (a public scalar: fixed sequence of operations). */
void bls_g1_mul_z(bls_g1 *r, const bls_g1 *a);
void bls_g2_mul_z(bls_g2 *r, const bls_g2 *a);
/* The endomorphism acting as [Z^2] on the order-r subgroup: (beta X, -Y, Z) on G1 and psi^2 on
 * G2. */
void bls_g1_endo(bls_g1 *r, const bls_g1 *a);
void bls_g2_endo(bls_g2 *r, const bls_g2 *a);
/* The endomorphism behind each group's GLV/GLS split (scalar.c): G1 splits k into 2 parts and
 * phi = endo acts as [Z^2]; G2 splits k into 4 parts and phi = -psi acts as [Z]. */
#define BLS_G1_DIMS 2
#define BLS_G2_DIMS 4
void bls_g1_phi(bls_g1 *r, const bls_g1 *a);
void bls_g2_phi(bls_g2 *r, const bls_g2 *a);
/* psi = untwist-Frobenius-twist on E', acting as [p] = [x] on G2. */
void bls_g2_psi(bls_g2 *r, const bls_g2 *a);

#endif
