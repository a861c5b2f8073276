/* mr_chunk.c -- the sealed chunk, the task descriptor and the task outcome (mr_proto.h), shared
 * by the client and the worker enclave. Decoders are bounds-checked (wire.h) and refuse
 * trailing bytes; fuzz/mapreduce exercises them. */
#include "mapreduce/common/mr_proto.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

static const char MAGIC[4] = {'M', 'R', 'C', '1'};
#define TASK_MAGIC "MRT1"
#define OUTCOME_MAGIC "MRO1"

static void put_header(uint8_t *h, const struct mr_chunk_id *id)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, h, MR_CHUNK_HEADER_LEN - MR_NONCE_LEN);
    wire_put_raw(&w, MAGIC, 4);
    wire_put_u8(&w, id->kind);
    wire_put_raw(&w, id->job, MR_JOB_ID_LEN);
    wire_put_u32(&w, id->round);
    wire_put_u32(&w, id->task);
    wire_put_u32(&w, id->attempt);
    wire_put_u32(&w, id->partition);
    wire_put_u32(&w, id->seq);
}

int mr_chunk_seal(crypto_aead *a, const struct mr_chunk_id *id, const void *pt, size_t len,
                  struct wire_writer *out)
{
    uint8_t *c = wire_writer_reserve(out, MR_CHUNK_OVERHEAD + len);
    if (!c)
        return -1;
    put_header(c, id);
    uint8_t *nonce = c + MR_CHUNK_HEADER_LEN - MR_NONCE_LEN;
    if (crypto_random(nonce, MR_NONCE_LEN) != 0)
        return -1;
    crypto_aead_ctx_seal(a, nonce, c, MR_CHUNK_HEADER_LEN, pt, len, c + MR_CHUNK_HEADER_LEN);
    wire_writer_commit(out, MR_CHUNK_OVERHEAD + len);
    return 0;
}

int mr_chunk_peek(const uint8_t *c, size_t len, struct mr_chunk_id *id, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, c, len);
    const uint8_t *magic = wire_get_raw(&r, 4);
    id->kind = wire_get_u8(&r);
    wire_get_raw_into(&r, id->job, MR_JOB_ID_LEN);
    id->round = wire_get_u32(&r);
    id->task = wire_get_u32(&r);
    id->attempt = wire_get_u32(&r);
    id->partition = wire_get_u32(&r);
    id->seq = wire_get_u32(&r);
    if (!wire_reader_ok(&r) || len < MR_CHUNK_OVERHEAD)
        return cloister_errf(err, CLOISTER_E_INVALID, "chunk truncated (%zu bytes)", len);
    if (memcmp(magic, MAGIC, 4) != 0 || id->kind == 0 || id->kind >= MR_KIND_KINDS)
        return cloister_errf(err, CLOISTER_E_INVALID, "not a MapReduce chunk");
    return 0;
}

bool mr_chunk_id_equal(const struct mr_chunk_id *a, const struct mr_chunk_id *b)
{
    return a->kind == b->kind && memcmp(a->job, b->job, MR_JOB_ID_LEN) == 0 &&
           a->round == b->round && a->task == b->task && a->attempt == b->attempt &&
           a->partition == b->partition && a->seq == b->seq;
}

const char *mr_kind_name(uint8_t kind)
{
    static const char *const names[] = {"?", "code", "task", "split", "shuffle", "result", "spill"};
    return kind < MR_KIND_KINDS ? names[kind] : "?";
}

int mr_chunk_open(crypto_aead *a, const uint8_t *c, size_t len, const struct mr_chunk_id *want,
                  uint8_t *pt, struct cloister_err *err)
{
    struct mr_chunk_id got;
    if (mr_chunk_peek(c, len, &got, err) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED, "%s chunk refused: %s",
                             mr_kind_name(want->kind), err ? err->msg : "malformed");
    if (!mr_chunk_id_equal(&got, want))
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "%s chunk refused: it is %s round %u task %u attempt %u partition "
                             "%u seq %u, not the one expected (misrouted or replayed)",
                             mr_kind_name(want->kind), mr_kind_name(got.kind), got.round, got.task,
                             got.attempt, got.partition, got.seq);
    if (crypto_aead_ctx_open(a, c + MR_CHUNK_HEADER_LEN - MR_NONCE_LEN, c, MR_CHUNK_HEADER_LEN,
                             c + MR_CHUNK_HEADER_LEN, len - MR_CHUNK_HEADER_LEN, pt) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "%s chunk refused: round %u task %u partition %u does not "
                             "authenticate (tampered or truncated)",
                             mr_kind_name(want->kind), want->round, want->task, want->partition);
    return 0;
}

void mr_task_encode(const struct mr_task *t, struct wire_writer *w)
{
    wire_put_header(w, TASK_MAGIC, 2);
    wire_put_u8(w, t->phase);
    wire_put_u8(w, t->format);
    wire_put_u32(w, t->round);
    wire_put_u32(w, t->task);
    wire_put_u32(w, t->attempt);
    wire_put_u32(w, t->nreducers);
    wire_put_u32(w, t->partition);
    wire_put_raw(w, t->code_hash, MR_HASH_LEN);
    wire_put_varint(w, t->memory);
    wire_put_varint(w, t->instructions);
    wire_put_varint(w, t->output);
    wire_put_varint(w, t->reduce_memory);
    wire_put_bytes(w, t->params, t->params_len);
    wire_put_varint(w, t->ninputs);
    for (uint32_t i = 0; i < t->ninputs; i++) {
        wire_put_u32(w, t->inputs[i].task);
        wire_put_u32(w, t->inputs[i].attempt);
    }
}

int mr_task_decode(struct mr_task *t, const uint8_t *buf, size_t len, void *(*alloc)(size_t),
                   struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    memset(t, 0, sizeof *t);
    wire_get_header(&r, TASK_MAGIC, 2);
    t->phase = wire_get_u8(&r);
    t->format = wire_get_u8(&r);
    t->round = wire_get_u32(&r);
    t->task = wire_get_u32(&r);
    t->attempt = wire_get_u32(&r);
    t->nreducers = wire_get_u32(&r);
    t->partition = wire_get_u32(&r);
    wire_get_raw_into(&r, t->code_hash, MR_HASH_LEN);
    t->memory = wire_get_varint(&r);
    t->instructions = wire_get_varint(&r);
    t->output = wire_get_varint(&r);
    t->reduce_memory = wire_get_varint(&r);
    t->params = wire_get_bytes(&r, SIZE_MAX, &t->params_len);
    size_t n = wire_get_count(&r, 8, MR_INPUTS_MAX);
    if (wire_reader_ok(&r) && n > 0 && !(t->inputs = alloc(n * sizeof *t->inputs)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a task's inputs");
    for (size_t i = 0; i < n; i++) {
        t->inputs[i].task = wire_get_u32(&r);
        t->inputs[i].attempt = wire_get_u32(&r);
    }
    t->ninputs = (uint32_t)n;
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed task: %s at byte %zu",
                             wire_reader_error(&r), r.error_off);
    bool phase_ok = t->phase == MR_PHASE_MAP || t->phase == MR_PHASE_REDUCE;
    bool format_ok = t->phase != MR_PHASE_MAP ||
                     (t->format >= MR_INPUT_TEXT && t->format <= MR_INPUT_JSONL);
    if (!phase_ok || !format_ok || t->nreducers == 0 ||
        (t->phase == MR_PHASE_REDUCE && t->partition >= t->nreducers))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "malformed task: bad phase, format or "
                             "partition");
    return 0;
}

void mr_outcome_encode(const struct mr_outcome *o, struct wire_writer *w)
{
    wire_put_header(w, OUTCOME_MAGIC, 1);
    wire_put_u8(w, o->ok);
    wire_put_str(w, o->message);
    wire_put_varint(w, o->records_in);
    wire_put_varint(w, o->records_out);
    wire_put_varint(w, o->heap_peak);
    wire_put_bytes(w, o->payload, o->payload_len);
}

int mr_outcome_decode(struct mr_outcome *o, const uint8_t *buf, size_t len,
                      struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    memset(o, 0, sizeof *o);
    wire_get_header(&r, OUTCOME_MAGIC, 1);
    uint8_t ok = wire_get_u8(&r);
    wire_get_str(&r, o->message, sizeof o->message);
    o->records_in = wire_get_varint(&r);
    o->records_out = wire_get_varint(&r);
    o->heap_peak = wire_get_varint(&r);
    o->payload = wire_get_bytes(&r, SIZE_MAX, &o->payload_len);
    if (wire_reader_finish(&r) != 0 || ok > 1)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed task outcome");
    o->ok = ok;
    return 0;
}

/* Up to eight bytes as a little-endian number, whatever the machine's byte order. */
static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* A multiply and a fold per eight bytes (a word count's key is a dozen bytes: FNV-1a, a
 * multiply per byte, was most of the grouping's time). */
uint32_t mr_key_hash(const uint8_t *key, size_t len)
{
    const uint64_t m = 0xbf58476d1ce4e5b9ull;
    uint64_t h = (uint64_t)len * 0x9e3779b97f4a7c15ull;
    for (; len >= 8; key += 8, len -= 8) {
        h = (h ^ load_le(key, 8)) * m;
        h ^= h >> 31;
    }
    h = (h ^ load_le(key, len)) * m;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

uint32_t mr_partition_default(const uint8_t *key, size_t len, uint32_t nreducers)
{
    return mr_key_hash(key, len) % nreducers;
}

/* A task's buffers (a split, its pairs, an answer) are megabytes each and live for one call. By
 * default glibc serves them with mmap and unmaps them at free, or trims the heap under them, so
 * every call faults its buffers in again page by page, the kernel zeroing each: a quarter of a
 * word count's CPU time in a worker enclave. Kept in the heap, the pages stay. Wire writers
 * wipe their buffers before freeing them (wire.c), so no data lingers in the freed memory. */
void mr_keep_buffers(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's largest */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
