/* fuzz_common.h -- a simulated platform and one enclave identity for the tee_trust fuzz targets,
 * created once per process in a private temporary directory (removed at exit). */
#ifndef CLOISTER_FUZZ_TEE_COMMON_H
#define CLOISTER_FUZZ_TEE_COMMON_H

#include <cloister/tee_trust.h>

tee_self *fuzz_self(void);
/* A verifier trusting that platform's CA. */
tee_verifier *fuzz_verifier(void);

#endif
