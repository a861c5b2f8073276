/* common.h -- helpers shared by the files of src/tee/{common,platform,trust,verify} (the trust
 * half of the enclave runtime) and nobody else. */
#ifndef CLOISTER_TEE_COMMON_H
#define CLOISTER_TEE_COMMON_H

#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <stdint.h>

/* Fails with "<what>: <wire reader error>" when r is in error or has bytes left. */
int tee_wire_finish(struct wire_reader *r, const char *what, struct cloister_err *e);
/* The code of a failed file operation: CLOISTER_E_NOT_FOUND for ENOENT, else _SYSTEM. */
int tee_errno_code(int e);

/* Evidence envelope writing (tee_evidence_decode reads it): the head, then the endorsements. */
void tee_evidence_put_head(struct wire_writer *w, enum tee_evidence_format f,
                           const uint8_t *evidence, size_t len);
void tee_evidence_put_endorsements(struct wire_writer *w, const uint8_t *const *ders,
                                   const size_t *lens, size_t n);

/* The 59-byte sealed blob header for v (ciphertext_len included, ciphertext pointer unused). */
void tee_sealed_put_header(uint8_t out[TEE_SEAL_HEADER_LEN], const struct tee_sealed_view *v);

/* Provisioning records (provision_format.c). Decoders return pointers into buf. */
int tee_offer_encode(const uint8_t pk[32], const uint8_t *evidence, size_t ev_len, uint8_t **out,
                     size_t *len);
int tee_offer_decode(const void *buf, size_t len, uint8_t pk[32], const uint8_t **evidence,
                     size_t *ev_len, struct cloister_err *err);
/* A package names the offer it was made for by the first TEE_OFFER_ID_LEN bytes of the
 * SHA-256 of the offer's evidence (public), so the enclave opens it with that offer's key only. */
#define TEE_OFFER_ID_LEN 8
int tee_package_encode(const uint8_t offer_id[TEE_OFFER_ID_LEN], const uint8_t enc[32],
                       const uint8_t *ct, size_t ct_len, uint8_t **out, size_t *len);
int tee_package_decode(const void *buf, size_t len, uint8_t offer_id[TEE_OFFER_ID_LEN],
                       uint8_t enc[32], const uint8_t **ct, size_t *ct_len,
                       struct cloister_err *err);
/* The provider's signed offer request "CLPQ" v1 (tee_prov_request) and signed package "CLPS"
 * v1 (tee_prov_sign); the digests are what the signatures cover. */
struct tee_prov_request {
    const uint8_t *nonce;
    size_t nonce_len;
    uint64_t counter;
    uint8_t provider[TEE_PUBKEY_LEN], sig[TEE_SIG_LEN];
};
void tee_request_digest(uint8_t out[32], uint64_t counter, const uint8_t *nonce, size_t nonce_len);
void tee_signed_package_digest(uint8_t out[32], const uint8_t evidence_hash[32],
                               const void *package, size_t package_len);
int tee_request_encode(const struct tee_prov_request *q, uint8_t **out, size_t *len);
int tee_request_decode(const void *buf, size_t len, struct tee_prov_request *q,
                       struct cloister_err *err);
int tee_signed_encode(const void *package, size_t package_len,
                      const uint8_t provider[TEE_PUBKEY_LEN], const uint8_t sig[TEE_SIG_LEN],
                      uint8_t **out, size_t *len);
int tee_signed_decode(const void *buf, size_t len, const uint8_t **package, size_t *package_len,
                      uint8_t provider[TEE_PUBKEY_LEN], uint8_t sig[TEE_SIG_LEN],
                      struct cloister_err *err);
/* A decoded secrets list: v[i].name points into names, v[i].value into the decoded buffer. */
struct tee_secret_list {
    struct tee_secret *v;
    char (*names)[TEE_SECRET_NAME_MAX + 1];
    size_t n;
};
/* Appends the "CLSC" record; refuses bad or duplicate names and oversized values. */
int tee_secrets_encode(struct wire_writer *w, const struct tee_secret *v, size_t n,
                       struct cloister_err *err);
int tee_secrets_decode(struct tee_secret_list *list, const void *buf, size_t len,
                       struct cloister_err *err);
void tee_secret_list_free(struct tee_secret_list *list);

/* Little-endian fields of the SGX structures. */
static inline void tee_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void tee_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void tee_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t tee_get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Domain-separation labels (each hashed or signed with its terminating NUL). */
#define TEE_LABEL_SIGSTRUCT "cloister-sigstruct-v1"
#define TEE_LABEL_SIM_EVIDENCE "cloister-sim-v1"
#define TEE_LABEL_PLATFORM_SALT "cloister-platform-v1"
#define TEE_LABEL_SEAL "cloister-seal-v1"
#define TEE_LABEL_REPORT "cloister-report-v1"
#define TEE_LABEL_PROVISION "cloister-provision-v1"
#define TEE_LABEL_SECRETS "cloister-secrets-v1"
#define TEE_LABEL_PROV_REQUEST "cloister-provision-request-v1"
#define TEE_LABEL_PROV_SIGNED "cloister-provision-signed-v1"

#endif
