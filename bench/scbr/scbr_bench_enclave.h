/* scbr_bench_enclave.h -- the SCBR matching benchmark's enclave: its ecalls, and the fold of
 * match results that the host and the enclave both compute, so the host can check that the
 * enclave matched exactly what the native index did.
 *
 * Ecalls (inputs and outputs in the wire codec):
 *   RESET  in: u8 index kind            -- drops the index and starts an empty one of that kind
 *   ADD    in: u32 first id, varint count, count x bytes (scbr_sub_encode) -- ids first, first+1..
 *   PUBS   in: varint count, count x bytes (scbr_pub_encode) -- appended to the enclave's batch
 *   MATCH  in: u32 first, u32 count     -- matches publications first.. (cyclic) of the batch
 *          out: u64 matches, u64 fold
 *   STATS  out: u64 subscriptions, u64 predicates, u64 index bytes */
#ifndef CLOISTER_SCBR_BENCH_ENCLAVE_H
#define CLOISTER_SCBR_BENCH_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>

enum {
    SCBRB_ECALL_RESET = 1,
    SCBRB_ECALL_ADD = 2,
    SCBRB_ECALL_PUBS = 3,
    SCBRB_ECALL_MATCH = 4,
    SCBRB_ECALL_STATS = 5,
};

/* Largest batch of subscriptions or publications per ecall (the ring's message is 1 MiB). */
#define SCBRB_BATCH_BYTES (768u << 10)
#define SCBRB_PUBS_MAX 1000000u

struct scbrb_fold {
    uint64_t matches, fold;
};

/* scbr_match_fn: counts matches and folds (publication, id) pairs in delivery order. */
static inline int scbrb_collect(void *ctx, size_t pub, uint32_t id)
{
    struct scbrb_fold *f = ctx;
    f->matches++;
    f->fold = (f->fold ^ ((uint64_t)pub << 32 | id)) * 0x100000001b3ull;
    return 0;
}

#endif
