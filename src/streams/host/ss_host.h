/* ss_host.h -- the untrusted host of one run of stages: an enclave of the image "streams" (proc
 * or sim backend) or the runner in-process (plain stages, and secure ones with SS_TEE_NONE). It
 * relays provisioning and calls; for an enclave it sees sealed batches only. */
#ifndef CLOISTER_STREAMS_HOST_H
#define CLOISTER_STREAMS_HOST_H

#include <cloister/streams.h>

struct ss_host;

/* An enclave stage (proc/sim) or an in-process runner (none: key may be NULL for plain). */
int ss_host_start(enum ss_tee tee, const struct ss_options *o, const uint8_t *key,
                  struct ss_host **out, struct cloister_err *err);
void ss_host_stop(struct ss_host *h);
int ss_host_call(struct ss_host *h, uint32_t fn, const uint8_t *in, size_t inlen, uint8_t **out,
                 size_t *outlen, struct cloister_err *err);
/* The MRENCLAVE of the image an enclave stage runs. */
int ss_host_identity(struct ss_host *h, uint8_t mrenclave[32], struct cloister_err *err);
int ss_host_ecalls(const struct ss_host *h);

#endif
