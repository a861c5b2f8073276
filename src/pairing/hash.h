/* hash.h -- internal RFC 9380 hash_to_field into Fp (L = 64), shared by hash_to_curve.c and
 * the tests. */
#ifndef CLOISTER_PAIRING_HASH_H
#define CLOISTER_PAIRING_HASH_H

#include <cloister/pairing.h>

#include <stddef.h>

#define BLS_HASH_TO_FP_MAX 4

/* count (<= BLS_HASH_TO_FP_MAX) elements of Fp; an Fp2 element is two consecutive ones. */
void bls_hash_to_fp(bls_fp *out, size_t count, const void *msg, size_t len, const void *dst,
                    size_t dstlen);

#endif
