/* x509.c -- see x509.h. Certificates are long-lived (the platform stands in for a CPU): the CA
 * and the platform certificate are valid for 20 years from one hour before their creation. The
 * leaf may only sign (digitalSignature, not a CA), the CA may only certify. */
#include "tee/platform/x509.h"

#include <cloister/crypto.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "tee/common/common.h"

#define VALIDITY_SECONDS (20L * 365 * 24 * 3600)

static int ssl_fail(struct cloister_err *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return cloister_errf(err, CLOISTER_E_INVALID, "%s%s%s", what, e ? ": " : "", buf);
}

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
                                         (const unsigned char *)"cloister (SIMULATED platform)",
                                         -1, -1, 0) &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
                                         -1, -1, 0) &&
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

int tee_x509_der(X509 *x, uint8_t **der, size_t *len)
{
    int n = i2d_X509(x, NULL);
    if (n <= 0 || !(*der = malloc((size_t)n)))
        return -1;
    uint8_t *p = *der;
    i2d_X509(x, &p);
    *len = (size_t)n;
    return 0;
}

int tee_x509_issue(const uint8_t ca_seed[TEE_SEED_LEN], const uint8_t leaf_pk[TEE_PUBKEY_LEN],
                   uint8_t **ca_der, size_t *ca_len, uint8_t **leaf_der, size_t *leaf_len,
                   struct cloister_err *err)
{
    EVP_PKEY *ca_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ca_seed, 32);
    EVP_PKEY *leaf_key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, leaf_pk, 32);
    X509 *ca = ca_key && leaf_key ? make_cert(ca_key, "cloister simulated platform CA", NULL,
                                              ca_key, true)
                                  : NULL;
    X509 *leaf = ca ? make_cert(leaf_key, "cloister simulated attestation key", ca, ca_key, false)
                    : NULL;
    int rc = -1;
    *ca_der = *leaf_der = NULL;
    if (leaf && tee_x509_der(ca, ca_der, ca_len) == 0 &&
        tee_x509_der(leaf, leaf_der, leaf_len) == 0)
        rc = 0;
    else
        ssl_fail(err, "creating the platform certificates");
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

X509 *tee_x509_parse(const void *buf, size_t len, struct cloister_err *err)
{
    X509 *x = NULL;
    static const char pem_start[] = "-----BEGIN";
    if (len > INT32_MAX) {
        cloister_errf(err, CLOISTER_E_INVALID, "certificate: too large");
        return NULL;
    }
    if (len >= sizeof pem_start - 1 && memcmp(buf, pem_start, sizeof pem_start - 1) == 0) {
        BIO *bio = BIO_new_mem_buf(buf, (int)len);
        x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    } else {
        const uint8_t *p = buf;
        x = d2i_X509(NULL, &p, (long)len);
        if (x && p != (const uint8_t *)buf + len) {
            X509_free(x);
            x = NULL;
        }
    }
    if (!x)
        ssl_fail(err, "not an X.509 certificate (PEM or DER)");
    return x;
}

static int asn1_time(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(t, &tm))
        return -1;
    *out = timegm(&tm);
    return 0;
}

int tee_x509_verify_chain(X509 *ca, const uint8_t *const *ders, const size_t *lens, size_t n,
                          uint8_t leaf_pk[TEE_PUBKEY_LEN], time_t *not_after,
                          struct cloister_err *err)
{
    if (n == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "evidence carries no platform certificate");
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *leaf = NULL;
    int rc = -1;
    if (!store || !ctx || !chain || !X509_STORE_add_cert(store, ca)) {
        ssl_fail(err, "certificate verification setup");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = ders[i];
        X509 *x = d2i_X509(NULL, &p, (long)lens[i]);
        if (!x || p != ders[i] + lens[i]) {
            X509_free(x);
            cloister_errf(err, CLOISTER_E_INVALID, "endorsement %zu is not a DER certificate", i);
            goto out;
        }
        if (i == 0)
            leaf = x;
        else if (!sk_X509_push(chain, x)) {
            X509_free(x);
            ssl_fail(err, "certificate verification setup");
            goto out;
        }
    }
    if (!X509_STORE_CTX_init(ctx, store, leaf, chain)) {
        ssl_fail(err, "certificate verification setup");
        goto out;
    }
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
    if (X509_verify_cert(ctx) != 1) {
        cloister_errf(err, CLOISTER_E_INVALID, "platform certificate does not chain to the trusted CA: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    /* The endorsements must be exactly the verified chain (the root may be left out), so that
     * evidence carries nothing unverified. */
    STACK_OF(X509) *verified = X509_STORE_CTX_get0_chain(ctx);
    size_t depth = (size_t)sk_X509_num(verified);
    if (n > depth || n + 1 < depth) {
        cloister_errf(err, CLOISTER_E_INVALID, "endorsements hold %zu certificates, the verified chain %zu", n, depth);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        X509 *given = i == 0 ? leaf : sk_X509_value(chain, (int)i - 1);
        if (X509_cmp(sk_X509_value(verified, (int)i), given) != 0) {
            cloister_errf(err, CLOISTER_E_INVALID, "endorsement %zu is not part of the verified chain", i);
            goto out;
        }
    }
    EVP_PKEY *pk = X509_get0_pubkey(leaf);
    size_t pklen = TEE_PUBKEY_LEN;
    if (X509_check_ca(leaf) != 0 || !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
        cloister_errf(err, CLOISTER_E_INVALID, "platform certificate is not an attestation (signing) certificate");
        goto out;
    }
    if (!pk || EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519 ||
        !EVP_PKEY_get_raw_public_key(pk, leaf_pk, &pklen) || pklen != TEE_PUBKEY_LEN) {
        cloister_errf(err, CLOISTER_E_INVALID, "platform certificate does not hold an Ed25519 key");
        goto out;
    }
    if (asn1_time(X509_get0_notAfter(leaf), not_after)) {
        cloister_errf(err, CLOISTER_E_INVALID, "platform certificate has a bad expiry date");
        goto out;
    }
    rc = 0;
out:
    ERR_clear_error();
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}
