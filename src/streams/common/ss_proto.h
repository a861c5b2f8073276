/* ss_proto.h -- what the SecureStreams engine, its stage enclaves and the hosts between them
 * agree on (docs/streams.md, "Security"): the pipeline config a stage runner loads, the sealed
 * batch, and the stage ecalls.
 *
 * Config: str chunkname, bytes pipeline text, varint n, n x (str name, str value). The pipeline
 * hash is SHA-256 of these bytes: code and parameters, so a batch sealed for one pipeline never
 * opens in a stage that loaded another.
 *
 * Batch: "SSB1", 32-byte pipeline hash, u32 stage (the stage it goes to), u32 partition, u64
 * sequence number, 12-byte random nonce, then AES-256-GCM ciphertext and tag; the header is the
 * AAD. Plaintext: u8 flags (1: final, the end of the stream; 2: failed, the stage stopped on
 * the error that follows), varint skipped, str first error, then one Lua value (lua_sandbox.h):
 * the array of events. A secure stage reports its failure this way, sealed, because the message
 * may quote events. Each edge (stage, partition) numbers its batches 0, 1, 2, ...: the reader
 * refuses a batch whose number is not the next one (replayed, reordered or dropped).
 *
 * Distributed (docs/streams.md, "Distributed"): every edge between two processes is sealed; the
 * partition field is (producer replica << 16) | partition, so each (producer, partition) pair is
 * an edge of its own numbered 0, 1, 2, ... A number already applied is a duplicate (a replay, or
 * a redelivery after a restart) and is dropped without being opened; one beyond the next is
 * refused. A checkpoint is sealed the same way, to stage SS_CKPT_STAGE | first. */
#ifndef CLOISTER_STREAMS_PROTO_H
#define CLOISTER_STREAMS_PROTO_H

#include <cloister/crypto.h>
#include <cloister/error.h>
#include <cloister/wire.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SS_KEY_LEN 32
#define SS_HASH_LEN 32
#define SS_BATCH_HEADER_LEN (4 + SS_HASH_LEN + 4 + 4 + 8 + CRYPTO_AEAD_NONCE_LEN)
#define SS_BATCH_OVERHEAD (SS_BATCH_HEADER_LEN + CRYPTO_AEAD_TAG_LEN)
#define SS_SECRET_NAME "streams-pipeline-key"
#define SS_MESSAGE_MAX ((size_t)32 << 20) /* largest ecall message */
#define SS_PARAMS_MAX 256
#define SS_NAME_MAX 128 /* chunk names (the pipeline file's base name) */

#define SS_REPLICAS_MAX 64 /* replicas of a distributed stage (a bitmask of producers) */
#define SS_CKPT_STAGE 0x80000000u
#define SS_PART(producer, p) (((uint32_t)(producer) << 16) | (uint32_t)(p))

struct ss_edge {
    uint8_t hash[SS_HASH_LEN];
    uint32_t stage, partition;
    uint64_t seq;
};

struct ss_batch {
    bool final, failed;
    uint64_t ingress_ns; /* wall clock when the source read its first event (0: unknown) */
    uint64_t skipped;
    const char *error; /* "" when none */
    size_t error_len;
    const uint8_t *events; /* one encoded array value */
    size_t events_len;
};

/* Appends the batch's plaintext to w. */
void ss_batch_encode(const struct ss_batch *b, struct wire_writer *w);
/* Splits plaintext into b (pointers into buf). CLOISTER_E_INVALID when malformed. */
int ss_batch_decode(struct ss_batch *b, const uint8_t *buf, size_t len, struct cloister_err *err);

/* Seals plaintext pt as the batch `e` into out. -1 when out failed or randomness is missing. */
int ss_seal(crypto_aead *a, const struct ss_edge *e, const uint8_t *pt, size_t len,
            struct wire_writer *out);
/* The header fields of a sealed batch c (len >= SS_BATCH_OVERHEAD). */
void ss_peek(const uint8_t *c, uint32_t *stage, uint32_t *partition, uint64_t *seq);
/* Opens c if its header is the batch `want` expects: CLOISTER_E_DENIED for a tampered,
 * truncated, misaddressed, replayed or reordered batch. pt has room for len bytes; *ptlen. */
int ss_open(crypto_aead *a, const struct ss_edge *want, const uint8_t *c, size_t len, uint8_t *pt,
            size_t *ptlen, struct cloister_err *err);

/* The parts of a config (pointers into buf). */
struct ss_config {
    const char *chunkname; /* not terminated */
    size_t chunkname_len;
    const uint8_t *text;
    size_t text_len;
    size_t nparams;
    const char *params[2 * SS_PARAMS_MAX];
    size_t param_len[2 * SS_PARAMS_MAX];
};
int ss_config_decode(struct ss_config *c, const uint8_t *buf, size_t len, struct cloister_err *err);

/* The stage ecalls (and what the in-process runner answers). */
enum {
    SS_CALL_LOAD = 1, /* in: bytes config, u32 first, u32 last; out: 32-byte pipeline hash */
    SS_CALL_RUN,      /* in: a sealed batch to `first`; out: the sealed batch to last + 1 */
    SS_CALL_STATS,    /* in: -; out: u64 batches, u64 refused, u64 duplicates */
    /* in-process plain runners only (never an enclave's): plaintext in and out */
    SS_CALL_DESCRIBE,  /* in: bytes config; out: str description, str sink header ("" none) */
    SS_CALL_RUN_PLAIN, /* in: u32 first, u32 last, batch plaintext; out: batch plaintext */
    /* a distributed stage (sealed in and out; in an enclave too) */
    SS_CALL_LOAD_DIST, /* in: LOAD's, u32 self, u32 producers, u32 partitions, u8 keyed; out: hash */
    SS_CALL_RUN_DIST,  /* in: a sealed batch; out: u8 flags (1 duplicate, 2 every producer ended),
                           varint events in, varint events out, varint n, n x bytes sealed batch,
                           varint the input's ingress time (latency across processes) */
    SS_CALL_CHECKPOINT, /* in: -; out: the sealed state (stages, edge numbers) */
    SS_CALL_RESTORE,    /* in: a sealed checkpoint; out: - */
};

#endif
