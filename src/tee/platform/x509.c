/* x509.c -- the certificates of the simulated platform (x509.h): issuing the CA and the
 * platform certificate, and their PEM form. Certificates are long-lived (the platform stands in
 * for a CPU): the CA and the platform certificate are valid for 20 years from one hour before
 * their creation. The leaf may only sign (digitalSignature, not a CA), the CA may only certify.
 * Reading and verifying certificates is in src/tee/common/x509.c, shared with relying parties. */
#include "tee/platform/x509.h"

#include <cloister/crypto.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#define VALIDITY_SECONDS (20L * 365 * 24 * 3600)

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int set_serial(X509 *x)
{
    uint8_t raw[16];
    if (crypto_random(raw, sizeof raw))
        return -1;
    raw[0] &= 0x7f; /* positive */
    raw[0] |= 0x40; /* and of full length */
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    return ok ? 0 : -1;
}

/* issuer NULL: self-signed by key. */
static X509 *make_cert(EVP_PKEY *subject, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       bool ca)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    bool ok = x && name && X509_set_version(x, X509_VERSION_3) && set_serial(x) == 0 &&
              X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
              X509_gmtime_adj(X509_getm_notAfter(x), VALIDITY_SECONDS) &&
              X509_set_pubkey(x, subject) &&
              X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                         (const unsigned char *)"cloister (SIMULATED platform)", -1,
                                         -1, 0) &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                         -1, 0) &&
              X509_set_subject_name(x, name) &&
              X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509 *signer = issuer ? issuer : x;
    ok = ok &&
         add_ext(x, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ==
             0 &&
         add_ext(x, signer, NID_key_usage,
                 ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") == 0 &&
         add_ext(x, signer, NID_subject_key_identifier, "hash") == 0 &&
         add_ext(x, signer, NID_authority_key_identifier, "keyid:always") == 0 &&
         X509_sign(x, issuer_key, NULL) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int tee_x509_issue(const uint8_t ca_seed[TEE_SEED_LEN], const uint8_t leaf_pk[TEE_PUBKEY_LEN],
                   uint8_t **ca_der, size_t *ca_len, uint8_t **leaf_der, size_t *leaf_len,
                   struct cloister_err *err)
{
    EVP_PKEY *ca_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ca_seed, 32);
    EVP_PKEY *leaf_key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, leaf_pk, 32);
    X509 *ca = ca_key && leaf_key
                   ? make_cert(ca_key, "cloister simulated platform CA", NULL, ca_key, true)
                   : NULL;
    X509 *leaf = ca ? make_cert(leaf_key, "cloister simulated attestation key", ca, ca_key, false)
                    : NULL;
    int rc = -1;
    *ca_der = *leaf_der = NULL;
    if (leaf && tee_x509_der(ca, ca_der, ca_len) == 0 &&
        tee_x509_der(leaf, leaf_der, leaf_len) == 0)
        rc = 0;
    else
        tee_x509_fail(err, CLOISTER_E_FAILED, "creating the platform certificates");
    if (rc) {
        free(*ca_der);
        *ca_der = NULL;
    }
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(ca_key);
    return rc;
}

int tee_x509_der_to_pem(const uint8_t *der, size_t len, char **pem, size_t *pem_len)
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = -1;
    char *data;
    if (x && bio && PEM_write_bio_X509(bio, x)) {
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0 && (*pem = malloc((size_t)n + 1))) {
            memcpy(*pem, data, (size_t)n);
            (*pem)[n] = 0;
            *pem_len = (size_t)n;
            rc = 0;
        }
    }
    BIO_free(bio);
    X509_free(x);
    ERR_clear_error();
    return rc;
}
