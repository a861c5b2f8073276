/* ss_ckpt.h -- where a replica of a distributed stage keeps its sealed checkpoint: one key
 * `PIPELINE.STAGE.REPLICA` of a JetStream KV bucket (docs/streams.md section 7). The blob is the
 * runner's SS_CALL_CHECKPOINT answer, sealed inside the runner; the store never opens it. Writes
 * are fenced by revision: a save succeeds only if the key still holds the revision this replica
 * last read or wrote, so a stale replica (one that was replaced while it hung) cannot overwrite
 * the checkpoint of the one that took over. */
#ifndef CLOISTER_STREAMS_CKPT_H
#define CLOISTER_STREAMS_CKPT_H

#include <cloister/error.h>

#include <stddef.h>
#include <stdint.h>

struct bus;

/* A runner's call (ss_inproc.call, or ss_host_call through an adapter). */
typedef int (*ss_call_fn)(void *runner, uint32_t fn, const uint8_t *in, size_t inlen, uint8_t **out,
                          size_t *outlen, struct cloister_err *err);

struct ss_ckpt;

/* Opens (creating) the bucket `bucket` and names this replica's key. */
struct ss_ckpt *ss_ckpt_open(struct bus *b, const char *bucket, const char *pipeline,
                             const char *stage, uint32_t replica, struct cloister_err *err);
void ss_ckpt_close(struct ss_ckpt *c);
/* Restores the stored checkpoint into the runner (SS_CALL_RESTORE): 1 when one was restored,
 * 0 when the key had none (a first start), or the error (a blob the runner refuses included). */
int ss_ckpt_restore(struct ss_ckpt *c, ss_call_fn call, void *runner, struct cloister_err *err);
/* Takes the runner's checkpoint and stores it if the key's revision is unchanged since the last
 * restore or save; CLOISTER_E_EXISTS when another replica wrote it meanwhile. */
int ss_ckpt_save(struct ss_ckpt *c, ss_call_fn call, void *runner, struct cloister_err *err);
/* The revision last read or written (0: none). */
uint64_t ss_ckpt_revision(const struct ss_ckpt *c);

#endif
