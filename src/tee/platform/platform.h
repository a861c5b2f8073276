/* platform.h -- what the trusted side reads from the simulated platform (tee_trust.h has the
 * public half). Only src/tee/trust uses these: they are the stand-ins for the CPU's fuses. */
#ifndef CLOISTER_TEE_PLATFORM_H
#define CLOISTER_TEE_PLATFORM_H

#include <cloister/tee_trust.h>

#define TEE_ROOT_SECRET_LEN 32

const uint8_t *tee_platform_root_secret(const tee_platform *p);
const uint8_t *tee_platform_attestation_seed(const tee_platform *p);
/* The endorsements of this platform's evidence: platform certificate, then CA (DER). */
void tee_platform_endorsements(const tee_platform *p, const uint8_t *ders[2], size_t lens[2]);

#endif
