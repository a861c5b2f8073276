/* provision_format.c -- the records of attested provisioning (layout in tee_verify.h): the
 * enclave's offer, the provisioner's package and the list of named secrets that is both the
 * package's plaintext and the plaintext of the sealed secrets table; and the provider's signed
 * records (an offer request, a package) with the exact bytes each signature covers. A list is
 * decoded and checked whole before anyone acts on it. */
#include "tee/common/common.h"

#include <cloister/crypto.h>
#include <cloister/hpke.h>

#include <stdlib.h>
#include <string.h>

#define OFFER_EVIDENCE_MAX (128 * 1024)
#define PACKAGE_CT_MAX (TEE_SECRETS_MAX * (TEE_SECRET_VALUE_MAX + 128) + 64)

int tee_offer_encode(const uint8_t pk[HPKE_PUBLIC_LEN], const uint8_t *evidence, size_t ev_len,
                     uint8_t **out, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CLPO", 1);
    wire_put_bytes(&w, pk, HPKE_PUBLIC_LEN);
    wire_put_bytes(&w, evidence, ev_len);
    return wire_writer_finish(&w, out, len);
}

int tee_offer_decode(const void *buf, size_t len, uint8_t pk[HPKE_PUBLIC_LEN],
                     const uint8_t **evidence, size_t *ev_len, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CLPO", 1);
    wire_get_bytes_exact(&r, pk, HPKE_PUBLIC_LEN);
    *evidence = wire_get_bytes(&r, OFFER_EVIDENCE_MAX, ev_len);
    return tee_wire_finish(&r, "provisioning offer is malformed", err);
}

int tee_package_encode(const uint8_t offer_id[TEE_OFFER_ID_LEN], const uint8_t enc[HPKE_ENC_LEN],
                       const uint8_t *ct, size_t ct_len, uint8_t **out, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CLPK", 2);
    wire_put_raw(&w, offer_id, TEE_OFFER_ID_LEN);
    wire_put_bytes(&w, enc, HPKE_ENC_LEN);
    wire_put_bytes(&w, ct, ct_len);
    return wire_writer_finish(&w, out, len);
}

int tee_package_decode(const void *buf, size_t len, uint8_t offer_id[TEE_OFFER_ID_LEN],
                       uint8_t enc[HPKE_ENC_LEN], const uint8_t **ct, size_t *ct_len,
                       struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    if (wire_get_header(&r, "CLPK", 2) == 1)
        wire_reader_fail(&r, "version 1 (no offer id) is no longer accepted");
    wire_get_raw_into(&r, offer_id, TEE_OFFER_ID_LEN);
    wire_get_bytes_exact(&r, enc, HPKE_ENC_LEN);
    *ct = wire_get_bytes(&r, PACKAGE_CT_MAX, ct_len);
    if (wire_reader_ok(&r) && *ct_len < HPKE_TAG_LEN)
        wire_reader_fail(&r, "ciphertext shorter than its tag");
    return tee_wire_finish(&r, "provisioning package is malformed", err);
}

/* What a provider signs, as a 32-byte digest: SHA-256(label NUL || a || b). */
static void signed_digest(uint8_t out[32], const char *label, const void *a, size_t alen,
                          const void *b, size_t blen)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_raw(&w, label, strlen(label) + 1);
    wire_put_raw(&w, a, alen);
    wire_put_raw(&w, b, blen);
    crypto_sha256(out, w.buf, w.len);
    wire_writer_free(&w);
}

void tee_request_digest(uint8_t out[32], uint64_t counter, const uint8_t *nonce, size_t nonce_len)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(counter >> (56 - 8 * i));
    signed_digest(out, TEE_LABEL_PROV_REQUEST, be, sizeof be, nonce, nonce_len);
}

void tee_signed_package_digest(uint8_t out[32], const uint8_t evidence_hash[32],
                               const void *package, size_t package_len)
{
    uint8_t h[32];
    crypto_sha256(h, package, package_len);
    signed_digest(out, TEE_LABEL_PROV_SIGNED, evidence_hash, 32, h, sizeof h);
}

int tee_request_encode(const struct tee_prov_request *q, uint8_t **out, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CLPQ", 1);
    wire_put_bytes(&w, q->nonce, q->nonce_len);
    wire_put_u64(&w, q->counter);
    wire_put_bytes(&w, q->provider, TEE_PUBKEY_LEN);
    wire_put_bytes(&w, q->sig, TEE_SIG_LEN);
    return wire_writer_finish(&w, out, len);
}

int tee_request_decode(const void *buf, size_t len, struct tee_prov_request *q,
                       struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CLPQ", 1);
    q->nonce = wire_get_bytes(&r, 64, &q->nonce_len);
    q->counter = wire_get_u64(&r);
    wire_get_bytes_exact(&r, q->provider, TEE_PUBKEY_LEN);
    wire_get_bytes_exact(&r, q->sig, TEE_SIG_LEN);
    return tee_wire_finish(&r, "provisioning request is malformed", err);
}

int tee_signed_encode(const void *package, size_t package_len,
                      const uint8_t provider[TEE_PUBKEY_LEN], const uint8_t sig[TEE_SIG_LEN],
                      uint8_t **out, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CLPS", 1);
    wire_put_bytes(&w, package, package_len);
    wire_put_bytes(&w, provider, TEE_PUBKEY_LEN);
    wire_put_bytes(&w, sig, TEE_SIG_LEN);
    return wire_writer_finish(&w, out, len);
}

int tee_signed_decode(const void *buf, size_t len, const uint8_t **package, size_t *package_len,
                      uint8_t provider[TEE_PUBKEY_LEN], uint8_t sig[TEE_SIG_LEN],
                      struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CLPS", 1);
    *package = wire_get_bytes(&r, PACKAGE_CT_MAX + 128, package_len);
    wire_get_bytes_exact(&r, provider, TEE_PUBKEY_LEN);
    wire_get_bytes_exact(&r, sig, TEE_SIG_LEN);
    return tee_wire_finish(&r, "signed provisioning package is malformed", err);
}

static int check_name(const char *name, struct cloister_err *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > TEE_SECRET_NAME_MAX ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-") != n)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "secret name '%.64s' must be 1 to %d characters of A-Z a-z 0-9 . _ "
                             ": / -",
                             name, TEE_SECRET_NAME_MAX);
    return 0;
}

/* Names are valid and unique, values within bounds. */
static int check_list(const struct tee_secret *v, size_t n, struct cloister_err *err)
{
    if (n > TEE_SECRETS_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "too many secrets: %zu (at most %d)", n,
                             TEE_SECRETS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (check_name(v[i].name, err))
            return -1;
        if (v[i].len > TEE_SECRET_VALUE_MAX)
            return cloister_errf(err, CLOISTER_E_TOO_BIG, "secret '%s' is %zu bytes, more than %d",
                                 v[i].name, v[i].len, TEE_SECRET_VALUE_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[i].name, v[j].name) == 0)
                return cloister_errf(err, CLOISTER_E_INVALID, "secret '%s' is given twice",
                                     v[i].name);
    }
    return 0;
}

int tee_secrets_encode(struct wire_writer *w, const struct tee_secret *v, size_t n,
                       struct cloister_err *err)
{
    int rc = check_list(v, n, err);
    if (rc != CLOISTER_OK)
        return rc;
    wire_put_header(w, "CLSC", 1);
    wire_put_varint(w, n);
    for (size_t i = 0; i < n; i++) {
        wire_put_str(w, v[i].name);
        wire_put_bytes(w, v[i].value, v[i].len);
    }
    return wire_writer_ok(w)
               ? CLOISTER_OK
               : cloister_errf(err, CLOISTER_E_NO_MEMORY, "encoding the secrets: out of memory");
}

int tee_secrets_decode(struct tee_secret_list *list, const void *buf, size_t len,
                       struct cloister_err *err)
{
    memset(list, 0, sizeof *list);
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CLSC", 1);
    size_t n = wire_get_count(&r, 2, TEE_SECRETS_MAX);
    struct tee_secret *v = n ? calloc(n, sizeof *v) : NULL;
    char(*names)[TEE_SECRET_NAME_MAX + 1] = n ? calloc(n, sizeof *names) : NULL;
    if (n && (!v || !names)) {
        free(v);
        free(names);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "decoding the secrets: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        wire_get_str(&r, names[i], sizeof names[i]);
        v[i].name = names[i];
        v[i].value = wire_get_bytes(&r, TEE_SECRET_VALUE_MAX, &v[i].len);
    }
    list->v = v;
    list->names = names;
    list->n = n;
    int rc = tee_wire_finish(&r, "secrets list is malformed", err);
    if (rc == CLOISTER_OK)
        rc = check_list(v, n, err);
    if (rc != CLOISTER_OK)
        tee_secret_list_free(list);
    return rc;
}

void tee_secret_list_free(struct tee_secret_list *list)
{
    free(list->v);
    free(list->names);
    memset(list, 0, sizeof *list);
}
