/* provisioner.c -- the provisioner half of attested provisioning: verify the enclave's evidence
 * against the provisioner's policy, check that it binds the offered HPKE key to OUR nonce
 * (report data = SHA-512(public key || nonce): fresh, and the key is the enclave's), then
 * HPKE-seal the named secrets to that key with the evidence's hash in the info, so the package
 * opens only with this offer's private key, for this evidence. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>

#include <stdlib.h>
#include <string.h>

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
             ? tee_package_encode(enc, ct, ct_len, package, package_len)
             : -1;
    wire_writer_free(&pt);
    free(ct); /* ciphertext only: nothing to wipe */
    if (rc)
        return cloister_errf(err, CLOISTER_E_FAILED, "sealing the secrets to the enclave failed");
    if (claims)
        *claims = c;
    return 0;
}
