/* x509.h -- the certificates the simulated platform makes for itself: the CA and the platform
 * certificate for the attestation key, and their PEM form for ca.pem / platform.pem. Reading
 * and verifying certificates is shared with relying parties (src/tee/common/x509.h). */
#ifndef CLOISTER_TEE_PLATFORM_X509_H
#define CLOISTER_TEE_PLATFORM_X509_H

#include <cloister/tee_trust.h>

#include "tee/common/x509.h"

/* A self-signed CA certificate for ca_seed, then a leaf certificate for leaf_pk issued by it;
 * both DER, malloc'd. */
int tee_x509_issue(const uint8_t ca_seed[TEE_SEED_LEN], const uint8_t leaf_pk[TEE_PUBKEY_LEN],
                   uint8_t **ca_der, size_t *ca_len, uint8_t **leaf_der, size_t *leaf_len,
                   struct cloister_err *err);
/* DER -> PEM text (malloc'd, NUL-terminated). */
int tee_x509_der_to_pem(const uint8_t *der, size_t len, char **pem, size_t *pem_len);

#endif
