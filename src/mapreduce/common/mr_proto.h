/* mr_proto.h -- what the MapReduce client, its workers' enclaves and the untrusted hosts between
 * them agree on (docs/mapreduce.md, "Security"): the sealed chunk that carries code, tasks, input
 * splits, shuffle partitions and results, the task descriptor inside a sealed task chunk, and the
 * worker's ecalls.
 *
 * Chunk: "MRC1", u8 kind, 16-byte job id, u32 round, task, attempt, partition, seq, 12-byte nonce,
 * then AES-256-GCM ciphertext and tag. The whole header is the AAD, so a chunk opens only as the
 * piece of the job it claims to be; the reader then checks that this is the piece it expects
 * (misrouted, replayed or stale attempts are refused by comparing ids, never by trusting them).
 * Nonces are random (96 bits; a job seals far fewer than 2^32 chunks under its key). */
#ifndef CLOISTER_MAPREDUCE_PROTO_H
#define CLOISTER_MAPREDUCE_PROTO_H

#include <cloister/crypto.h>
#include <cloister/error.h>
#include <cloister/wire.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MR_KEY_LEN 32
#define MR_JOB_ID_LEN 16
#define MR_HASH_LEN 32
#define MR_NONCE_LEN 12
#define MR_TAG_LEN 16
#define MR_CHUNK_HEADER_LEN (4 + 1 + MR_JOB_ID_LEN + 5 * 4 + MR_NONCE_LEN)
#define MR_CHUNK_OVERHEAD (MR_CHUNK_HEADER_LEN + MR_TAG_LEN)
#define MR_SECRET_NAME "mapreduce-job-key"
#define MR_MESSAGE_MAX ((size_t)32 << 20) /* largest ecall message */
#define MR_INPUTS_MAX (1u << 20)          /* map tasks feeding one reducer */

enum mr_kind {
    MR_KIND_CODE = 1,
    MR_KIND_TASK,
    MR_KIND_SPLIT,
    MR_KIND_SHUFFLE,
    MR_KIND_RESULT,
    MR_KIND_SPILL, /* a segment of a reducer's sorted run: partition = run, seq = segment */
    MR_KIND_KINDS,
};

struct mr_chunk_id {
    uint8_t kind;
    uint8_t job[MR_JOB_ID_LEN];
    uint32_t round, task, attempt, partition, seq;
};

/* Appends the sealed chunk to out. -1 when out failed or randomness is missing. */
int mr_chunk_seal(crypto_aead *a, const struct mr_chunk_id *id, const void *pt, size_t len,
                  struct wire_writer *out);
/* Reads the header of c (no authentication): CLOISTER_E_INVALID when malformed. */
int mr_chunk_peek(const uint8_t *c, size_t len, struct mr_chunk_id *id, struct cloister_err *err);
/* Authenticates and decrypts c into pt (room for len - MR_CHUNK_OVERHEAD bytes) if its header
 * equals want: CLOISTER_E_DENIED for a tampered, truncated, misrouted or replayed chunk. */
int mr_chunk_open(crypto_aead *a, const uint8_t *c, size_t len, const struct mr_chunk_id *want,
                  uint8_t *pt, struct cloister_err *err);
bool mr_chunk_id_equal(const struct mr_chunk_id *a, const struct mr_chunk_id *b);
const char *mr_kind_name(uint8_t kind);

/* The worker's ecalls (also what the in-process "none" worker answers). */
enum {
    MR_ECALL_LOAD = 1, /* in: bytes code chunk; out: - */
    MR_ECALL_MAP,      /* in: bytes task, bytes split; out: count, bytes shuffle..., outcome */
    /* in: bytes task, count, bytes shuffle...; out: count, u32 refused..., count, bytes spill...
     * (the sealed run segments the host must keep until the task ends) */
    MR_ECALL_REDUCE_ADD,
    /* in: bytes task, count, bytes spill... (the segments asked for; none at first); out: count,
     * u32 missing... (a refused spill segment names the reduce task itself); if none: count,
     * (u32 run, u32 seq) segments wanted...; if none wanted: bytes outcome */
    MR_ECALL_REDUCE_END,
};

enum mr_phase { MR_PHASE_MAP = 1, MR_PHASE_REDUCE };
enum mr_format { MR_INPUT_TEXT = 1, MR_INPUT_CSV, MR_INPUT_JSONL };

/* One map task's output that a reducer must consume: the accepted attempt of map task `task`. */
struct mr_input {
    uint32_t task, attempt;
};

/* The task descriptor, sealed in an MR_KIND_TASK chunk by the client. */
struct mr_task {
    uint8_t phase;  /* enum mr_phase */
    uint8_t format; /* map: enum mr_format */
    uint32_t round, task, attempt, nreducers, partition;
    uint8_t code_hash[MR_HASH_LEN];
    uint64_t memory, instructions, output; /* Lua budgets (0: the sandbox's defaults) */
    uint64_t reduce_memory; /* reduce input held before a sorted run is spilled (0: never) */
    const uint8_t *params;  /* one encoded value, or none (len 0) */
    size_t params_len;
    struct mr_input *inputs; /* reduce: what it must consume (decode allocates with malloc-like) */
    uint32_t ninputs;
};

void mr_task_encode(const struct mr_task *t, struct wire_writer *w);
/* Decodes into t (pointers into buf; inputs allocated with alloc, freed by the caller).
 * CLOISTER_E_INVALID when malformed. */
int mr_task_decode(struct mr_task *t, const uint8_t *buf, size_t len, void *(*alloc)(size_t),
                   struct cloister_err *err);

/* The outcome a worker returns for a task: sealed (MR_KIND_RESULT, seq 0) so that job messages,
 * which may quote data, reach only the client. Plaintext: u8 ok, str message, varint records
 * in, varint records out, varint peak Lua heap, bytes payload (reduce: the results as pairs). */
struct mr_outcome {
    bool ok;
    char message[CLOISTER_ERR_MAX];
    uint64_t records_in, records_out, heap_peak;
    const uint8_t *payload;
    size_t payload_len;
};
void mr_outcome_encode(const struct mr_outcome *o, struct wire_writer *w);
int mr_outcome_decode(struct mr_outcome *o, const uint8_t *buf, size_t len,
                      struct cloister_err *err);

/* A hash of a key's encoding, eight bytes at a time, the same on every machine (workers on
 * several machines must agree on the reducer of a key): it groups a task's pairs by key and
 * gives the default reducer. */
uint32_t mr_key_hash(const uint8_t *key, size_t len);
/* The reducer a key goes to when the job has no partition(): mr_key_hash modulo nreducers. */
uint32_t mr_partition_default(const uint8_t *key, size_t len, uint32_t nreducers);

/* Makes the process heap keep the megabyte buffers of tasks rather than unmap them at free
 * (glibc's default): called by the worker enclave and by the host of workers. */
void mr_keep_buffers(void);

#endif
