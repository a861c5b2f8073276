/* scbr_aspe.h -- the ASPE baseline: encrypted matching by signs of dot products.
 *
 * Choi, Ghinita, Bertino (DEXA 2010) on Wong et al.'s ASPE (SIGMOD 2009), splitting variant:
 * the key is two random invertible d'x d' matrices M1, M2 and a random split vector over
 * d' = attributes + 4 dimensions. A publication is a point p^ = (P_1..P_d, 1, rho1..rho3) on an
 * integer grid, split into shares (pa, pb) and encrypted as (M1^T pa, M2^T pb); a range bound
 * `P_j >= T` or `P_j <= T` is q^ = r (+-e_j, -+T + 1/2, 0, 0, 0), r > 0 random, split and
 * encrypted as (M1^-1 qa, M2^-1 qb). The sum of the two dot products is r (+-(P_j - T) + 1/2),
 * positive exactly when the bound holds; a subscription matches when all its bounds do. Matching
 * is a linear scan over every encrypted subscription: no index is possible.
 *
 * What ASPE can express: conjunctions of = < <= > >= on the numeric attributes of a fixed schema
 * (each with a scale that maps its values to integers: 100 for prices in cents), plus `exists`
 * on a schema attribute (always true, since every publication must carry every schema
 * attribute). It cannot express !=, prefix, strings, missing attributes or attributes outside
 * the schema: those are refused with a message.
 *
 * Numeric limits (double precision throughout): grid values |P| and thresholds |T| must be at
 * most 2^16 (ASPE_GRID_MAX) and publication values must lie on the grid (value x scale
 * integral). Keys are redrawn until the computed inverse is within 10^-12 of the identity and the
 * infinity-norm condition number is at most 10^3. The rounding error of a product is then about
 * 2^-52 * sqrt(d') * cond * |p^| |q^|, below 0.3 for the stock schema (d' = 9) against a margin
 * of r/2 >= 1/2, so signs are exact; past those limits they would not be, hence the refusals. */
#ifndef CLOISTER_SCBR_ASPE_H
#define CLOISTER_SCBR_ASPE_H

#include <cloister/export.h>
#include <cloister/scbr.h>

#define ASPE_GRID_MAX 65536.0

struct scbr_aspe_attr {
    const char *name;
    double scale; /* value x scale is the integer grid point */
};

typedef struct scbr_aspe_key scbr_aspe_key;
typedef struct scbr_aspe_index scbr_aspe_index;

/* A fresh key from crypto_random for the schema (names are copied). NULL + err. */
CLOISTER_API scbr_aspe_key *scbr_aspe_keygen(const struct scbr_aspe_attr *schema, size_t n,
                                             struct cloister_err *err);
/* Wipes and frees. */
CLOISTER_API void scbr_aspe_key_free(scbr_aspe_key *k);
/* Ciphertext dimension d' (each ciphertext vector pair is 2 d' doubles). */
CLOISTER_API size_t scbr_aspe_dim(const scbr_aspe_key *k);

/* An encrypted publication: 2 d' doubles, malloc'd. */
CLOISTER_API double *scbr_aspe_encrypt_pub(const scbr_aspe_key *k, const struct scbr_pub *p,
                                           struct cloister_err *err);

/* The index owns encrypted subscriptions; adding encrypts with the key. */
CLOISTER_API scbr_aspe_index *scbr_aspe_index_create(size_t dim);
CLOISTER_API void scbr_aspe_index_destroy(scbr_aspe_index *idx);
/* Encrypts s under k and registers it as id; CLOISTER_E_INVALID + err if ASPE cannot express
 * it. */
CLOISTER_API int scbr_aspe_index_add(scbr_aspe_index *idx, const scbr_aspe_key *k,
                                     const struct scbr_sub *s, uint32_t id,
                                     struct cloister_err *err);
/* Linear scan: matching ids in registration order (increasing if added so), at most cap
 * written; returns the count. */
CLOISTER_API size_t scbr_aspe_index_match(const scbr_aspe_index *idx, const double *ct,
                                          uint32_t *ids, size_t cap);
/* Bytes held by the encrypted subscriptions. */
CLOISTER_API size_t scbr_aspe_index_bytes(const scbr_aspe_index *idx);

#endif
