/* fuzz_mr_chunk.c -- the trusted worker (mr_worker.c) fed what a hostile host or a buggy
 * client could send. The first byte picks how the rest is used: raw ecall input for any call
 * (chunks a host forged), a task descriptor sealed under the job key (the worker's descriptor
 * checks), or a valid map task whose split plaintext is the input (the record decoder, map,
 * combine and partition on arbitrary values). Nothing may crash, leak or loop. */
#include "common/fuzz_target.h"
#include "mapreduce/enclave/mr_worker.h"

#include <stdlib.h>
#include <string.h>

static const char JOB[] = "function map(k, v) emit(v, k) emit(#tostring(v), 1) end\n"
                          "function combine(k, vs) return #vs end\n"
                          "function reduce(k, vs) return vs[1] end\n";
static const uint8_t KEY[MR_KEY_LEN] = {1, 2, 3};
static const uint8_t JOB_ID[MR_JOB_ID_LEN] = {7};

static struct mr_worker *worker;
static crypto_aead *aead;

static struct mr_chunk_id id_of(uint8_t kind, uint32_t task, uint32_t partition)
{
    struct mr_chunk_id id = {.kind = kind, .task = task, .partition = partition};
    memcpy(id.job, JOB_ID, MR_JOB_ID_LEN);
    return id;
}

static void call(uint32_t fn, const uint8_t *in, size_t len)
{
    struct wire_writer out;
    wire_writer_init(&out);
    (void)mr_worker_call(worker, fn, in, len, &out, NULL);
    wire_writer_free(&out);
}

static void seal_bytes(struct wire_writer *w, const struct mr_chunk_id *id, const void *pt,
                       size_t len)
{
    struct wire_writer c;
    wire_writer_init(&c);
    if (mr_chunk_seal(aead, id, pt, len, &c) != 0)
        abort();
    wire_put_bytes(w, c.buf, c.len);
    wire_writer_free(&c);
}

static void setup(void)
{
    worker = mr_worker_new();
    aead = crypto_aead_new(CRYPTO_AES256_GCM, KEY);
    if (!worker || !aead || mr_worker_set_key(worker, KEY) != 0)
        abort();
    struct wire_writer code, in;
    wire_writer_init(&code);
    wire_writer_init(&in);
    wire_put_str(&code, "fuzz");
    wire_put_bytes(&code, JOB, sizeof JOB - 1);
    struct mr_chunk_id id = id_of(MR_KIND_CODE, 0, 0);
    seal_bytes(&in, &id, code.buf, code.len);
    call(MR_ECALL_LOAD, in.buf, in.len);
    wire_writer_free(&code);
    wire_writer_free(&in);
}

/* A map task for split plaintext data. */
static void map_split(const uint8_t *data, size_t size)
{
    struct mr_task t = {.phase = MR_PHASE_MAP,
                        .format = MR_INPUT_TEXT,
                        .nreducers = 3,
                        .instructions = 1000000,
                        .memory = 8 << 20};
    crypto_sha256(t.code_hash, JOB, sizeof JOB - 1);
    struct wire_writer desc, in;
    wire_writer_init(&desc);
    wire_writer_init(&in);
    mr_task_encode(&t, &desc);
    struct mr_chunk_id tid = id_of(MR_KIND_TASK, 0, 0), sid = id_of(MR_KIND_SPLIT, 0, 0);
    seal_bytes(&in, &tid, desc.buf, desc.len);
    seal_bytes(&in, &sid, data, size);
    call(MR_ECALL_MAP, in.buf, in.len);
    wire_writer_free(&desc);
    wire_writer_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!worker)
        setup();
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 6;
    data++;
    size--;
    if (mode < 4) {
        call(MR_ECALL_MAP + mode % 3, data, size);
    } else if (mode == 4) {
        struct wire_writer in;
        wire_writer_init(&in);
        struct mr_chunk_id tid = id_of(MR_KIND_TASK, 0, 0);
        seal_bytes(&in, &tid, data, size);
        wire_put_varint(&in, 0);
        call(MR_ECALL_REDUCE_ADD, in.buf, in.len);
        wire_writer_free(&in);
    } else {
        map_split(data, size);
    }
    return 0;
}
