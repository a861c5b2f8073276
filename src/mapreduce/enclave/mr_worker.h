/* mr_worker.h -- the trusted MapReduce worker: what the enclave image "mapreduce" runs for each
 * ecall, and what `--tee none` runs in-process with the same code (docs/mapreduce.md).
 *
 * A worker holds the job key, the job's code (the text whose SHA-256 every task descriptor must
 * name) and the state of the reduce task it is fed. mr_worker_call(fn) answers the MR_ECALL_*
 * calls of mr_proto.h. Not thread-safe: one caller at a time (the enclave runs one worker
 * thread). */
#ifndef CLOISTER_MAPREDUCE_WORKER_H
#define CLOISTER_MAPREDUCE_WORKER_H

#include "mapreduce/common/mr_proto.h"

struct mr_worker;

struct mr_worker *mr_worker_new(void);
void mr_worker_free(struct mr_worker *w);
/* Installs the job key (a different key drops the loaded job). */
int mr_worker_set_key(struct mr_worker *w, const uint8_t key[MR_KEY_LEN]);
int mr_worker_call(struct mr_worker *w, uint32_t fn, const uint8_t *in, size_t inlen,
                   struct wire_writer *out, struct cloister_err *err);

#endif
