/* ss_runner.h -- one run of consecutive stages of a pipeline, over the Lua sandbox: the code of
 * a secure stage's enclave (behind the ecalls of ss_proto.h) and, in-process, of the host's
 * plain stages. It loads ss_prelude.lua, the parameters and the pipeline text into one tlua
 * state, then pushes batches through stages first..last of it. With a key it only takes and
 * gives sealed batches (SS_CALL_RUN), numbered per edge; without one (a plain runner, never in
 * an enclave) it describes the pipeline and runs plaintext batches. */
#ifndef CLOISTER_STREAMS_RUNNER_H
#define CLOISTER_STREAMS_RUNNER_H

#include <cloister/error.h>
#include <cloister/wire.h>

#include <stddef.h>
#include <stdint.h>

struct ss_runner;

/* key: 32 bytes (a secure runner) or NULL (plain). NULL when out of memory. */
struct ss_runner *ss_runner_new(const uint8_t *key);
void ss_runner_free(struct ss_runner *r);
/* Handles one call of ss_proto.h, appending its answer to out. */
int ss_runner_call(struct ss_runner *r, uint32_t fn, const uint8_t *in, size_t inlen,
                   struct wire_writer *out, struct cloister_err *err);

#endif
