/* ss_dist_runner.h -- the parts of a stage runner (ss_runner.h) that a distributed stage adds:
 * many producers and partitions per edge, duplicates dropped, output split by key hash, and the
 * sealed checkpoint of the stages' state (ss_proto.h, SS_CALL_*_DIST). Internal to the runner. */
#ifndef CLOISTER_STREAMS_DIST_RUNNER_H
#define CLOISTER_STREAMS_DIST_RUNNER_H

#include "streams/common/ss_proto.h"

struct tlua;

struct ss_dist {
    bool on, keyed_out;
    uint32_t self, nup, nout;
    uint64_t in_next[SS_REPLICAS_MAX], out_next[SS_REPLICAS_MAX];
    uint64_t finals; /* the producers whose final batch arrived */
    uint64_t rr, ckpt, duplicates;
};

struct ss_runner {
    struct tlua *t;
    crypto_aead *aead; /* NULL: plain */
    uint8_t hash[SS_HASH_LEN];
    uint32_t first, last;
    uint64_t in_seq, out_seq, batches, refused;
    struct ss_dist d;
};

/* What one call of __ss_run gave: pointers into res (free it). */
struct ss_lua_out {
    struct wire_writer res;
    const uint8_t *events, *msg;
    size_t events_len, msg_len;
    uint64_t skipped;
};

/* Runs the events (one encoded array) through stages first..last; final flushes them. */
int ss_runner_lua(struct ss_runner *r, const uint8_t *events, size_t len, bool final,
                  struct ss_lua_out *o, struct cloister_err *err);

/* Reads LOAD_DIST's fields after LOAD's (u32 self, producers, partitions, u8 keyed). */
int ss_dist_setup(struct ss_runner *r, struct wire_reader *rd, struct cloister_err *err);
int ss_dist_run(struct ss_runner *r, const uint8_t *in, size_t inlen, struct wire_writer *out,
                struct cloister_err *err);
int ss_dist_checkpoint(struct ss_runner *r, struct wire_writer *out, struct cloister_err *err);
int ss_dist_restore(struct ss_runner *r, const uint8_t *in, size_t inlen, struct cloister_err *err);

#endif
