/* fuzz_tee_provision.c -- the provisioning records on the enclave side: an offer request (a
 * nonce, or a provider's signed "CLPQ" request), a package (or a signed "CLPS" one) opened
 * against the pending offers, a sealed secrets table restored, and the offer and secrets-list
 * decoders of the provisioner. None of it may crash or be accepted when forged. */
#include <cloister/tee_trust.h>

#include <stdlib.h>

#include "common/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tee_self *s = fuzz_self();
    struct cloister_err err;
    uint8_t nonce[TEE_PROV_NONCE_LEN] = {1}, *offer, *sealed, *pkg;
    size_t offer_len, sealed_len, pkg_len;
    if (tee_prov_offer(s, nonce, sizeof nonce, &offer, &offer_len, &err))
        abort();
    if (tee_prov_accept(s, data, size, TEE_SEAL_MRENCLAVE, &sealed, &sealed_len, &err) == 0)
        abort();
    uint8_t *other; /* a bare nonce of 16 to 64 bytes does get an offer: nothing is pinned */
    size_t other_len;
    if (tee_prov_offer(s, data, size, &other, &other_len, &err) == 0)
        free(other);
    if (tee_secrets_restore(s, data, size, &err) == 0)
        abort();
    /* The provisioner reads an offer from the untrusted host too. */
    struct tee_policy p;
    tee_policy_default(&p);
    p.allow_simulated = p.allow_any_identity = true;
    const struct tee_secret one = {"k", (const uint8_t *)"v", 1};
    if (tee_prov_package(fuzz_verifier(), &p, nonce, sizeof nonce, data, size, &one, 1, &pkg,
                         &pkg_len, NULL, &err) == 0)
        abort();
    free(offer);
    return 0;
}
