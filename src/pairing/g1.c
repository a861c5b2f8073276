/* g1.c -- G1: the order-r subgroup of E(Fp), E: y^2 = x^3 + 4. The group law and scalar
 * multiplication come from ec_impl.h; this file supplies the field and the curve constants.
 *
 * Endomorphism: (x, y) -> (beta x, y) with beta a cube root of unity acts as [-x^2] on G1
 * (beta is chosen, and checked, by gen_constants.py), so (beta X, -Y, Z) = [Z^2]P drives the
 * GLV split. Subgroup membership is Scott's test (eprint 2021/1130): P is in G1 iff that
 * endomorphism equals [Z^2]P, two multiplications by the 64-bit Z instead of one by r. */
#include <cloister/crypto.h>

#include "pairing/curve.h"
#include "pairing/field.h"
#include "pairing/scalar.h"

#define PT bls_g1
#define AFF bls_g1_affine
#define FE bls_fp
#define EC(name) bls_g1_##name
#define FE_(op) bls_fp_##op
#define FE_ONE BLS_FP_ONE
#define GEN_X BLS_G1_GEN_X
#define GEN_Y BLS_G1_GEN_Y

static void fe_mul_b(bls_fp *r, const bls_fp *a)
{
    bls_fp_dbl(r, a);
    bls_fp_dbl(r, r);
}

static void fe_mul_b3(bls_fp *r, const bls_fp *a)
{
    bls_fp t;
    bls_fp_dbl(&t, a);
    bls_fp_add(&t, &t, a);
    fe_mul_b(r, &t);
}

static void fe_endo_x(bls_fp *r, const bls_fp *a)
{
    bls_fp_mul(r, a, &BLS_G1_BETA);
}

#define EC_DIMS BLS_G1_DIMS

static bool bls_g1_subgroup_check(const bls_g1 *p);

#include "pairing/ec_impl.h"

void bls_g1_phi(bls_g1 *r, const bls_g1 *a)
{
    bls_g1_endo(r, a);
}

static bool bls_g1_subgroup_check(const bls_g1 *p)
{
    bls_g1 zz, e;
    bls_g1_mul_z(&zz, p);
    bls_g1_mul_z(&zz, &zz);
    bls_g1_endo(&e, p);
    return bls_g1_eq(&e, &zz);
}
