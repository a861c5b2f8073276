/* fuzz_common.h -- what fuzz targets of trusted code share: a simulated platform and one
 * enclave identity, created once per process in a private temporary directory (removed at
 * exit), and enclave instances run in-process as the sim backend runs them. */
#ifndef CLOISTER_FUZZ_COMMON_H
#define CLOISTER_FUZZ_COMMON_H

#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include "common/fuzz_target.h"

struct tee_rt;

tee_self *fuzz_self(void);
/* A verifier trusting that platform's CA. */
tee_verifier *fuzz_verifier(void);
/* A fresh, started instance of def with its own view of the fuzz identity; free it with
 * tee_rt_free (which runs on_stop). Aborts on failure: the harness is broken, not the input. */
struct tee_rt *fuzz_instance(const struct tee_enclave_def *def, size_t max_message);
/* Runs one ecall handler of rt directly (the number must exist). */
int fuzz_call(struct tee_rt *rt, uint32_t number, const void *in, size_t len,
              struct wire_writer *out);

#endif
