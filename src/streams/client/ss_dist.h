/* ss_dist.h -- the cluster side of a distributed run (docs/streams.md section 7), for the engine
 * (ss_engine.c), whose source and sink threads stay what they are in an embedded run: what the
 * source reads goes out through ss_dist_send instead of into the first segment's queue, and what
 * ss_dist_recv returns goes into the sink's queue.
 *
 * ss_dist_start makes the run's work-queue stream, offers a provisioning seat (prov_bus.h) for
 * every replica of every segment and, given a binary, starts those replicas as `streams stage`
 * processes, which it then watches: one killed by a signal is started again on a fresh seat (it
 * resumes from its checkpoint); one that fails fails the run. */
#ifndef CLOISTER_STREAMS_DIST_H
#define CLOISTER_STREAMS_DIST_H

#include "streams/client/ss_plan.h"

#include "provision/prov_bus.h"

#define SS_RUN_HEX 16 /* a run's id: 8 random bytes in hex */

/* What a seat tells the replica that takes it (prov_bus seat info). */
struct ss_seat_info {
    char run[SS_RUN_HEX + 1];
    uint8_t hash[SS_HASH_LEN]; /* the pipeline's: the stage checks it loaded the same */
    uint32_t seg, replica;     /* which segment (its index) and which of its replicas */
    uint32_t nup, nout;        /* replicas before it (1: the source) and after it (1: the sink) */
    bool keyed;                /* its output is split by key (it ends with key_by) */
    uint64_t ckpt_events;
    uint32_t ckpt_ms;
};

void ss_seat_info_encode(const struct ss_seat_info *i, struct wire_writer *w);
int ss_seat_info_decode(struct ss_seat_info *i, const uint8_t *buf, size_t len,
                        struct cloister_err *err);
/* The pool of seats of one replica of one segment: "ss-HASH-FIRST-REPLICA", HASH the first 8
 * bytes of the pipeline hash in hex, so that a stage finds its seats from its own pipeline file
 * and parameters and a stage of another pipeline never takes them. */
void ss_dist_pool(const struct ss_plan *p, unsigned seg, unsigned replica,
                  char out[PROV_BUS_NAME_MAX + 1]);
/* The run's stream, the subject of segment seg's partition part (seg == nseg: the sink's), and
 * the checkpoint bucket. */
void ss_dist_stream(const char *run, char *out, size_t cap);
void ss_dist_subject(const char *run, unsigned seg, int part, char *out, size_t cap);
void ss_dist_bucket(const char *run, char *out, size_t cap);

/* The sink's side of the last segment's edges: each replica of it is a producer whose batches
 * must come numbered 0, 1, 2, ... A number already taken is a duplicate (a redelivery, or a
 * re-publish after a restart that slipped past the stream's de-duplication): dropped and
 * counted. Anything else -- truncated, tampered, sealed for another stage, pipeline, producer
 * or partition, or out of order -- is refused and counted. */
struct ss_sink_edges {
    crypto_aead *aead;
    uint8_t hash[SS_HASH_LEN];
    uint32_t stage;     /* the sink's stage number: the last stage's + 1 */
    uint32_t producers; /* replicas of the last segment */
    uint64_t next[SS_REPLICAS_MAX], finals, refused, duplicates;
};

/* Opens the sealed batch c: 0 with the plaintext in *pt (malloc'd), 1 for a duplicate, or
 * CLOISTER_E_DENIED (refused; err says why). */
int ss_sink_take(struct ss_sink_edges *s, const uint8_t *c, size_t len, uint8_t **pt, size_t *ptlen,
                 struct cloister_err *err);
/* Every producer has sent its final batch. */
bool ss_sink_ended(const struct ss_sink_edges *s);

struct ss_dist;

int ss_dist_start(const struct ss_plan *p, const char *path, const struct ss_options *o,
                  const uint8_t key[SS_KEY_LEN], struct ss_dist **out, struct cloister_err *err);
/* Seals the batch plaintext (its final flag included) for the first segment and publishes it to
 * the next partition in turn; a final batch also ends the stream of every other partition.
 * Waits while the run's stream holds more than a quarter of its bound (back-pressure). */
int ss_dist_send(struct ss_dist *d, const uint8_t *pt, size_t len, struct cloister_err *err);
/* The next batch for the sink (plaintext, malloc'd) within timeout_ms (*pt NULL: none), and
 * *end once every replica of the last segment has sent its final batch. Watches the stage
 * processes meanwhile. A failed stage is an error; a refused batch (ss_sink_take) is counted,
 * acked and skipped: one bad message does not fail the run. */
int ss_dist_recv(struct ss_dist *d, int timeout_ms, uint8_t **pt, size_t *len, bool *end,
                 struct cloister_err *err);
/* Waits for the stage processes to end (ok) or stops them, ends the provisioning sessions,
 * deletes the run's stream and checkpoints; the counts go to s. NULL is fine. */
void ss_dist_stop(struct ss_dist *d, bool ok, struct ss_stats *s);

#endif
