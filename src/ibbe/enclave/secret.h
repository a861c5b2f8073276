/* secret.h -- the γ operations the enclave's group management is built from (internal). */
#ifndef CLOISTER_IBBE_SECRET_H
#define CLOISTER_IBBE_SECRET_H

#include "ibbe/common/internal.h"
#include "ibbe/enclave/msk.h"

/* t = ∏ (γ + H_i); -1 if it is zero (γ = -H_i: negligible, refused rather than leaked). */
int ibbe_secret_product(const ibbe_msk *msk, const bls_fr *hashes, size_t s, bls_fr *t);
/* out = γ + H, or 1/(γ + H) when invert; -1 if γ + H is zero. */
int ibbe_secret_exponent(const ibbe_msk *msk, const bls_fr *hash, bool invert, bls_fr *out);
/* C3 = h^t from the fixed-base table. */
void ibbe_secret_c3(const ibbe_msk *msk, const bls_fr *t, bls_g1 *c3);
/* A fresh k for the header whose C3 is set: C1 = w^{-k}, C2 = C3^k (or h^{tk} from the table
 * when t, the exponent of C3, is given), b = KDF(v^k). */
int ibbe_secret_rekey(const ibbe_msk *msk, const bls_fr *t, struct ibbe_header *hdr,
                      uint8_t b[IBBE_KEY_LEN]);

#endif
