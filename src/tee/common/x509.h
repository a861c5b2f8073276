/* x509.h -- reading and verifying X.509 certificates with Ed25519 keys (OpenSSL 3): what both
 * the simulated platform (checking the files it loads) and the verifier (checking endorsements)
 * need. Issuing certificates is the platform's (src/tee/platform/x509.h). */
#ifndef CLOISTER_TEE_COMMON_X509_H
#define CLOISTER_TEE_COMMON_X509_H

#include <cloister/tee_verify.h>

#include <openssl/x509.h>
#include <time.h>

/* Fails with code and "<what>: <OpenSSL's first queued error>", clearing OpenSSL's queue. */
int tee_x509_fail(struct cloister_err *err, int code, const char *what);
/* PEM or DER -> X509 (the whole buffer must be one certificate). */
X509 *tee_x509_parse(const void *buf, size_t len, struct cloister_err *err);
/* DER of a certificate, malloc'd. */
int tee_x509_der(X509 *x, uint8_t **der, size_t *len);
/* Verifies ders[0] (leaf) with ders[1..n-1] as untrusted intermediates against the trust
 * anchor ca, then returns the leaf's Ed25519 public key and its notAfter. The certificates must
 * be exactly the verified chain, leaf first (the root may be omitted). A chain that does not
 * verify is CLOISTER_E_DENIED, an undecodable one CLOISTER_E_INVALID. */
int tee_x509_verify_chain(X509 *ca, const uint8_t *const *ders, const size_t *lens, size_t n,
                          uint8_t leaf_pk[TEE_PUBKEY_LEN], time_t *not_after,
                          struct cloister_err *err);

#endif
