/* fuzz_tee_evidence.c -- evidence decoding and verification. Mode 0: the input is an envelope.
 * Mode 1: genuine evidence from the fuzz platform with the input XORed over it, which reaches
 * the signature, body and policy checks. Accepted evidence must carry the simulated claim, and
 * damaged evidence must never be accepted. */
#include <cloister/tee_trust.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct tee_policy p;
    tee_policy_default(&p);
    p.allow_simulated = p.allow_debug = p.allow_any_identity = true;
    struct tee_claims c;
    struct cloister_err err;
    if (data[0] & 1) {
        uint8_t rd[TEE_REPORT_DATA_LEN] = {0}, *ev;
        size_t len;
        if (tee_evidence_make(fuzz_self(), rd, &ev, &len, NULL))
            abort();
        bool changed = false;
        for (size_t i = 1; i < size && i - 1 < len; i++) {
            ev[i - 1] ^= data[i];
            changed |= data[i] != 0;
        }
        int rc = tee_verify_evidence(fuzz_verifier(), ev, len, &p, &c, &err);
        if (rc == 0 && (changed || !c.simulated))
            abort();
        free(ev);
        return 0;
    }
    struct tee_evidence_view v;
    if (tee_evidence_decode(&v, data + 1, size - 1, &err) == 0 &&
        v.n_endorsements > TEE_ENDORSEMENTS_MAX)
        abort();
    if (tee_verify_evidence(fuzz_verifier(), data + 1, size - 1, &p, &c, &err) == 0)
        abort(); /* nothing the fuzzer writes carries a valid platform signature */
    return 0;
}
