/* scbr_shard.h -- the NATS side of a sharded SCBR router (docs/scbr.md, "Shards"): a front's
 * fan-out and merge, and a shard's request loop. Both drive their router's enclave through
 * scbr_call, so that the router counts the ecalls and keeps the enclave's last error. */
#ifndef CLOISTER_SCBR_SHARD_H
#define CLOISTER_SCBR_SHARD_H

#include <cloister/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*scbr_call_fn)(void *arg, uint32_t ecall, const void *in, size_t inlen, uint8_t **out,
                            size_t *outlen);

struct scbr_front_config {
    const char *nats;    /* the NATS server's URL */
    const char *cluster; /* subjects scbr.<cluster>.*; NULL: "main" */
    unsigned nshards;    /* 1..SCBR_SHARDS_MAX */
    const char *key;     /* partition attribute; NULL or empty: by subscription id */
    unsigned timeout_ms; /* waiting for the shards' answers to a batch; 0: 2000 */
};

struct scbr_front;

/* Connects, and asks every shard its epoch (waiting up to the timeout; a shard that answers
 * later announces itself). */
int scbr_front_open(const struct scbr_front_config *c, struct scbr_front **out,
                    struct cloister_err *err);
/* Batches in flight at once: the front seals and posts the next batches while the shards
 * match the first (docs/scbr.md, "Shards"). */
#define SCBR_FRONT_INFLIGHT 4
/* Posts one batch of the router's kind (subscribe, unsubscribe, publish): the front's enclave
 * opens it and seals records for the shards, one NATS message per shard. CLOISTER_OK (the
 * batch is in flight), CLOISTER_E_BUSY (SCBR_FRONT_INFLIGHT are: collect one first), or the
 * front's ecall failed (nothing in flight). */
int scbr_front_submit(struct scbr_front *f, scbr_call_fn call, void *arg, uint8_t kind,
                      const uint8_t *batch, size_t len);
/* Batches in flight, in the order submitted. */
size_t scbr_front_inflight(const struct scbr_front *f);
/* Waits up to wait_ms for the shards' answers to the oldest batch in flight. 1: it is done
 * (every shard answered, or the timeout passed: those that did not lose the batch) and *out
 * (malloc'd) holds the answers merged in the format of the router's own batch ecalls; 0: not
 * yet, or nothing in flight; CLOISTER_E_NO_MEMORY: done, but no answer could be built. */
int scbr_front_collect(struct scbr_front *f, int64_t wait_ms, uint8_t **out, size_t *outlen);
/* Moves the subscriptions from the current shards to new_n shards (0..new_n-1 must run and
 * hold SK): split, absorb, prune (docs/scbr.md, "Resharding"). On failure the old partition
 * stays in force. Call it with nothing in flight: nothing is forwarded meanwhile. */
/* The journal records, before each step that changes the shards, the partition in force and
 * the other shards that may hold copies of its subscriptions (0: none), so that a front killed
 * in the middle prunes them on its next start (scbr_front_prune). A journal that cannot be
 * written stops the reshard. NULL: none. */
typedef int (*scbr_journal_fn)(void *arg, unsigned in_force, unsigned others,
                               struct cloister_err *err);
int scbr_front_reshard(struct scbr_front *f, unsigned new_n, scbr_journal_fn journal, void *arg,
                       struct cloister_err *err);
/* Shards 0..holders-1 drop what the current partition does not give them: the copies an
 * interrupted reshard left. */
int scbr_front_prune(struct scbr_front *f, unsigned holders, struct cloister_err *err);
/* The shards the front forwards to now. */
unsigned scbr_front_shards(const struct scbr_front *f);
/* Tells every shard a subscriber is gone. */
void scbr_front_drop(struct scbr_front *f, const void *id, size_t len);
/* Shards that did not answer a batch in time, since the front opened. */
uint64_t scbr_front_timeouts(const struct scbr_front *f);
void scbr_front_close(struct scbr_front *f);

struct scbr_shard_link;

/* Connects as shard `index` of cluster and announces the enclave's epoch. */
int scbr_shard_link_open(const char *nats, const char *cluster, unsigned index, uint64_t epoch,
                         struct scbr_shard_link **out, struct cloister_err *err);
/* Waits up to ms for one request and answers it; an absorb or a prune is persisted (persist)
 * before it is answered, so that a shard killed then restarts with what the front was told.
 * *epoch: the enclave's, updated from batch
 * answers; *changed: subscriptions may have changed. 1: one request handled, 0: none. */
int scbr_shard_link_serve(struct scbr_shard_link *l, scbr_call_fn call, int (*persist)(void *arg),
                          void *arg, int64_t ms, uint64_t *epoch, bool *changed);
/* Announces a new epoch (the enclave was restarted). */
void scbr_shard_link_announce(struct scbr_shard_link *l, uint64_t epoch);
void scbr_shard_link_close(struct scbr_shard_link *l);

#endif
