/* provisioner.c -- the provisioner half of attested provisioning: verify the enclave's evidence
 * against the provisioner's policy, check that it binds the offered HPKE key to OUR nonce
 * (report data = SHA-512(public key || nonce): fresh, and the key is the enclave's), then
 * HPKE-seal the named secrets to that key with the evidence's hash in the info, so the package
 * opens only with this offer's private key, for this evidence. A provider with a key signs its
 * offer request and its package (tee_prov_request, tee_prov_sign), which pins it. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tee/common/common.h"

int tee_prov_nonce(uint8_t nonce[TEE_PROV_NONCE_LEN], struct cloister_err *err)
{
    if (crypto_random(nonce, TEE_PROV_NONCE_LEN) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "nonce: no randomness from the system");
    return CLOISTER_OK;
}

int tee_prov_package(tee_verifier *v, const struct tee_policy *policy, const uint8_t *nonce,
                     size_t nonce_len, const void *offer, size_t offer_len,
                     const struct tee_secret *secrets, size_t n_secrets, uint8_t **package,
                     size_t *package_len, struct tee_claims *claims, struct cloister_err *err)
{
    uint8_t pk[HPKE_PUBLIC_LEN], rd[TEE_REPORT_DATA_LEN], enc[HPKE_ENC_LEN];
    const uint8_t *ev;
    size_t ev_len;
    struct tee_claims c;
    if (!policy)
        return cloister_errf(err, CLOISTER_E_INVALID, "no verification policy given");
    if (tee_offer_decode(offer, offer_len, pk, &ev, &ev_len, err))
        return -1;
    struct tee_policy p = *policy;
    tee_bind_report_data(rd, pk, sizeof pk, nonce, nonce_len);
    p.report_data = rd;
    struct cloister_err why;
    if (tee_verify_evidence(v, ev, ev_len, &p, &c, &why))
        return cloister_errf(err, CLOISTER_E_DENIED, "enclave refused: %s", why.msg);

    uint8_t info[sizeof TEE_LABEL_PROVISION + TEE_HASH_LEN];
    memcpy(info, TEE_LABEL_PROVISION, sizeof TEE_LABEL_PROVISION);
    crypto_sha256(info + sizeof TEE_LABEL_PROVISION, ev, ev_len);
    struct wire_writer pt;
    wire_writer_init(&pt);
    int rc = tee_secrets_encode(&pt, secrets, n_secrets, err);
    if (rc != CLOISTER_OK) {
        wire_writer_free(&pt);
        return rc;
    }
    size_t ct_len = pt.len + HPKE_TAG_LEN;
    uint8_t *ct = malloc(ct_len);
    rc = ct && hpke_seal(enc, ct, HPKE_AEAD_AES256GCM, pk, info, sizeof info, NULL, 0, pt.buf,
                         pt.len, NULL) == 0
             ? tee_package_encode(info + sizeof TEE_LABEL_PROVISION, enc, ct, ct_len, package,
                                  package_len)
             : -1;
    wire_writer_free(&pt);
    free(ct); /* ciphertext only: nothing to wipe */
    if (rc)
        return cloister_errf(err, CLOISTER_E_FAILED, "sealing the secrets to the enclave failed");
    if (claims)
        *claims = c;
    return 0;
}

/* The provider's clock in microseconds, strictly increasing within this process (two requests
 * in the same microsecond still differ). */
static uint64_t request_counter(void)
{
    static _Atomic uint64_t last;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
    uint64_t prev = atomic_load(&last), next;
    do
        next = now > prev ? now : prev + 1;
    while (!atomic_compare_exchange_weak(&last, &prev, next));
    return next;
}

int tee_prov_request(const uint8_t provider_seed[32], const uint8_t *nonce, size_t nonce_len,
                     uint8_t **request, size_t *request_len, struct cloister_err *err)
{
    struct tee_prov_request q = {nonce, nonce_len, request_counter(), {0}, {0}};
    uint8_t digest[32];
    tee_request_digest(digest, q.counter, nonce, nonce_len);
    if (crypto_ed25519_public(q.provider, provider_seed) ||
        crypto_ed25519_sign(q.sig, digest, sizeof digest, provider_seed))
        return cloister_errf(err, CLOISTER_E_FAILED, "signing the offer request failed");
    if (tee_request_encode(&q, request, request_len) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "offer request: out of memory");
    return CLOISTER_OK;
}

int tee_prov_sign(const uint8_t provider_seed[32], const void *offer, size_t offer_len,
                  const void *package, size_t package_len, uint8_t **signed_package, size_t *len,
                  struct cloister_err *err)
{
    uint8_t pk[TEE_PUBKEY_LEN], sig[TEE_SIG_LEN], ev_hash[32], digest[32];
    const uint8_t *ev;
    size_t ev_len;
    if (tee_offer_decode(offer, offer_len, pk, &ev, &ev_len, err))
        return -1;
    crypto_sha256(ev_hash, ev, ev_len);
    tee_signed_package_digest(digest, ev_hash, package, package_len);
    if (crypto_ed25519_public(pk, provider_seed) ||
        crypto_ed25519_sign(sig, digest, sizeof digest, provider_seed))
        return cloister_errf(err, CLOISTER_E_FAILED, "signing the package failed");
    if (tee_signed_encode(package, package_len, pk, sig, signed_package, len) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "signed package: out of memory");
    return CLOISTER_OK;
}
