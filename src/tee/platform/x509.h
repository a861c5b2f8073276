/* x509.h -- the few X.509 operations of the simulated platform, over OpenSSL 3 with Ed25519
 * keys: issuing the CA and platform certificates, converting between PEM and DER, and
 * verifying an endorsement chain against a trusted CA. */
#ifndef CLOISTER_TEE_X509_H
#define CLOISTER_TEE_X509_H

#include <cloister/tee_trust.h>

#include <openssl/x509.h>
#include <time.h>

/* A self-signed CA certificate for ca_seed, then a leaf certificate for leaf_pk issued by it;
 * both DER, malloc'd. */
int tee_x509_issue(const uint8_t ca_seed[TEE_SEED_LEN], const uint8_t leaf_pk[TEE_PUBKEY_LEN],
                   uint8_t **ca_der, size_t *ca_len, uint8_t **leaf_der, size_t *leaf_len,
                   struct cloister_err *err);
/* DER -> PEM text (malloc'd, NUL-terminated), and PEM or DER -> X509. */
int tee_x509_der_to_pem(const uint8_t *der, size_t len, char **pem, size_t *pem_len);
X509 *tee_x509_parse(const void *buf, size_t len, struct cloister_err *err);
/* DER of a certificate, malloc'd. */
int tee_x509_der(X509 *x, uint8_t **der, size_t *len);
/* Verifies ders[0] (leaf) with ders[1..n-1] as untrusted intermediates against the trust
 * anchor ca, then returns the leaf's Ed25519 public key and its notAfter. The certificates must
 * be exactly the verified chain, leaf first (the root may be omitted). */
int tee_x509_verify_chain(X509 *ca, const uint8_t *const *ders, const size_t *lens, size_t n,
                          uint8_t leaf_pk[TEE_PUBKEY_LEN], time_t *not_after,
                          struct cloister_err *err);

#endif
