/* x509.c -- the X.509 verification both the platform (checking its own files) and relying
 * parties (the verifier) need, over OpenSSL 3: reading a certificate, its DER, and checking an
 * endorsement chain against a trusted CA. Issuing certificates is the platform's alone
 * (src/tee/platform/x509.c), so a relying party carries no certificate-making code. */
#include "tee/common/x509.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

int tee_x509_fail(struct cloister_err *err, int code, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return cloister_errf(err, code, "%s%s%s", what, e ? ": " : "", buf);
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
        tee_x509_fail(err, CLOISTER_E_INVALID, "not an X.509 certificate (PEM or DER)");
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
        return cloister_errf(err, CLOISTER_E_DENIED, "evidence carries no platform certificate");
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *leaf = NULL;
    int rc = CLOISTER_E_FAILED;
    if (!store || !ctx || !chain || !X509_STORE_add_cert(store, ca)) {
        rc = tee_x509_fail(err, CLOISTER_E_FAILED, "certificate verification setup");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = ders[i];
        X509 *x = d2i_X509(NULL, &p, (long)lens[i]);
        if (!x || p != ders[i] + lens[i]) {
            X509_free(x);
            rc = cloister_errf(err, CLOISTER_E_INVALID, "endorsement %zu is not a DER certificate",
                               i);
            goto out;
        }
        if (i == 0)
            leaf = x;
        else if (!sk_X509_push(chain, x)) {
            X509_free(x);
            rc = tee_x509_fail(err, CLOISTER_E_FAILED, "certificate verification setup");
            goto out;
        }
    }
    if (!X509_STORE_CTX_init(ctx, store, leaf, chain)) {
        rc = tee_x509_fail(err, CLOISTER_E_FAILED, "certificate verification setup");
        goto out;
    }
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
    if (X509_verify_cert(ctx) != 1) {
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "platform certificate does not chain to the trusted CA: %s",
                           X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    /* The endorsements must be exactly the verified chain (the root may be left out), so that
     * evidence carries nothing unverified. */
    STACK_OF(X509) *verified = X509_STORE_CTX_get0_chain(ctx);
    size_t depth = (size_t)sk_X509_num(verified);
    if (n > depth || n + 1 < depth) {
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "endorsements hold %zu certificates, the verified chain %zu", n, depth);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        X509 *given = i == 0 ? leaf : sk_X509_value(chain, (int)i - 1);
        if (X509_cmp(sk_X509_value(verified, (int)i), given) != 0) {
            rc = cloister_errf(err, CLOISTER_E_DENIED,
                               "endorsement %zu is not part of the verified chain", i);
            goto out;
        }
    }
    EVP_PKEY *pk = X509_get0_pubkey(leaf);
    size_t pklen = TEE_PUBKEY_LEN;
    if (X509_check_ca(leaf) != 0 || !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "platform certificate is not an attestation (signing) certificate");
        goto out;
    }
    if (!pk || EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519 ||
        !EVP_PKEY_get_raw_public_key(pk, leaf_pk, &pklen) || pklen != TEE_PUBKEY_LEN) {
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "platform certificate does not hold an Ed25519 key");
        goto out;
    }
    if (asn1_time(X509_get0_notAfter(leaf), not_after)) {
        rc = cloister_errf(err, CLOISTER_E_INVALID, "platform certificate has a bad expiry date");
        goto out;
    }
    rc = CLOISTER_OK;
out:
    ERR_clear_error();
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}
