/* gt.h -- internal GT helpers shared by the final exponentiation (pairing.c) and gt.c. */
#ifndef CLOISTER_PAIRING_GT_H
#define CLOISTER_PAIRING_GT_H

#include <cloister/pairing.h>

/* r = a^x, x = -0xd201000000010000, for a in the cyclotomic subgroup (public exponent). */
void bls_gt_exp_x(bls_fp12 *r, const bls_fp12 *a);

#endif
