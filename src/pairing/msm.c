/* msm.c -- [vt] multi-scalar multiplication in G1 and G2: see msm_impl.h. */
#include <cloister/pairing.h>

#include <stdint.h>
#include <stdlib.h>

#include "pairing/curve.h"
#include "pairing/field.h"
#include "pairing/scalar.h"

#define PT bls_g1
#define AFF bls_g1_affine
#define FE bls_fp
#define FE_ONE BLS_FP_ONE
#define EC(name) bls_g1_##name
#define FE_(op) bls_fp_##op
#define EC_DIMS BLS_G1_DIMS
#include "pairing/msm_impl.h"
#undef PT
#undef AFF
#undef FE
#undef FE_ONE
#undef EC
#undef FE_
#undef EC_DIMS

#define PT bls_g2
#define AFF bls_g2_affine
#define FE bls_fp2
#define FE_ONE ((bls_fp2){BLS_FP_ONE, {{0}}})
#define EC(name) bls_g2_##name
#define FE_(op) bls_fp2_##op
#define EC_DIMS BLS_G2_DIMS
#include "pairing/msm_impl.h"
