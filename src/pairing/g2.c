/* g2.c -- G2: the order-r subgroup of E'(Fp2), E': y^2 = x^3 + 4(u + 1), the sextic twist. The
 * group law and scalar multiplication come from ec_impl.h; this file supplies the field, the
 * curve constants and psi.
 *
 * psi (untwist, Frobenius, twist) acts as [p] = [x] on G2, so -psi acts as [Z] and drives the
 * 4-way GLS split (64-bit parts), and psi^2 = (c X, -Y, Z) with c in Fp acts as [Z^2].
 * Subgroup membership is Scott's test psi(Q) == [x]Q (eprint 2021/1130). */
#include <cloister/crypto.h>

#include "pairing/curve.h"
#include "pairing/field.h"
#include "pairing/scalar.h"

#define PT bls_g2
#define AFF bls_g2_affine
#define FE bls_fp2
#define EC(name) bls_g2_##name
#define FE_(op) bls_fp2_##op
#define FE_ONE ((bls_fp2){BLS_FP_ONE, {{0}}})
#define GEN_X BLS_G2_GEN_X
#define GEN_Y BLS_G2_GEN_Y

static void fe_mul_b(bls_fp2 *r, const bls_fp2 *a)
{
    bls_fp2_mul_xi(r, a);
    bls_fp2_dbl(r, r);
    bls_fp2_dbl(r, r);
}

static void fe_mul_b3(bls_fp2 *r, const bls_fp2 *a)
{
    bls_fp2 t;
    bls_fp2_dbl(&t, a);
    bls_fp2_add(&t, &t, a);
    fe_mul_b(r, &t);
}

static void fe_endo_x(bls_fp2 *r, const bls_fp2 *a)
{
    bls_fp2_mul_fp(r, a, &BLS_PSI2_CX);
}

#define EC_DIMS BLS_G2_DIMS

static bool bls_g2_subgroup_check(const bls_g2 *p);

#include "pairing/ec_impl.h"

void bls_g2_psi(bls_g2 *r, const bls_g2 *a)
{
    bls_fp2 t;
    bls_fp2_conj(&t, &a->x);
    bls_fp2_mul(&r->x, &t, &BLS_PSI_CX);
    bls_fp2_conj(&t, &a->y);
    bls_fp2_mul(&r->y, &t, &BLS_PSI_CY);
    bls_fp2_conj(&r->z, &a->z);
}

/* -psi acts as [-x] = [Z]: the endomorphism of the 4-way split */
void bls_g2_phi(bls_g2 *r, const bls_g2 *a)
{
    bls_g2_psi(r, a);
    bls_g2_neg(r, r);
}

static bool bls_g2_subgroup_check(const bls_g2 *p)
{
    bls_g2 xq, s;
    bls_g2_mul_z(&xq, p);
    bls_g2_neg(&xq, &xq);
    bls_g2_psi(&s, p);
    return bls_g2_eq(&s, &xq);
}
