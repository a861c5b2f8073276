/* fixed_base.c -- precomputed tables for [k]B with a fixed B (the generators, and long-lived
 * points such as a public key) in G1 and G2: see fixed_base_impl.h. The generator tables are
 * static and built on first use under pthread_once. */
#include <cloister/crypto.h>
#include <cloister/pairing.h>

#include <pthread.h>
#include <stdlib.h>

#include "pairing/curve.h"
#include "pairing/field.h"
#include "pairing/scalar.h"

#define PT bls_g1
#define AFF bls_g1_affine
#define FE bls_fp
#define EC(name) bls_g1_##name
#define FE_(op) bls_fp_##op
#define TABLE bls_g1_table
#include "pairing/fixed_base_impl.h"
#undef PT
#undef AFF
#undef FE
#undef EC
#undef FE_
#undef TABLE

#define PT bls_g2
#define AFF bls_g2_affine
#define FE bls_fp2
#define EC(name) bls_g2_##name
#define FE_(op) bls_fp2_##op
#define TABLE bls_g2_table
#include "pairing/fixed_base_impl.h"
