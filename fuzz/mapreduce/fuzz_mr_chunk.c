/* fuzz_mr_chunk.c -- the trusted worker (mr_worker.c) fed what a hostile host or a buggy
 * client could send. The first byte picks how the rest is used: raw ecall input for any call
 * (chunks a host forged), a task descriptor sealed under the job key (the worker's descriptor
 * checks), a valid map task whose split plaintext is the input (the record decoder, map,
 * combine and partition on arbitrary values), or a reduce with the smallest memory cap whose
 * shuffle plaintext is the input, its spilled runs brought back as a host would (the sort,
 * the merge and the spill protocol on arbitrary values). Nothing may crash, leak or loop.
 * FUZZ_MR_CHUNK_MODE=0..6 in the environment fixes the mode (6: the spilled reduce) and the
 * whole input is then its data, so one mode can be fuzzed on its own. */
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
static int fixed_mode = -1;

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
    const char *mode = getenv("FUZZ_MR_CHUNK_MODE");
    if (mode && mode[0] >= '0' && mode[0] <= '6' && !mode[1])
        fixed_mode = mode[0] - '0';
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

/* Appends the sealed reduce task (task 1 of one map task, cap MR_REDUCE_MEMORY_MIN) to w. */
static void reduce_task(struct wire_writer *w)
{
    struct mr_input one = {0, 0};
    struct mr_task t = {.phase = MR_PHASE_REDUCE,
                        .task = 1,
                        .nreducers = 1,
                        .instructions = 1000000,
                        .memory = 8 << 20,
                        .reduce_memory = 1024,
                        .inputs = &one,
                        .ninputs = 1};
    crypto_sha256(t.code_hash, JOB, sizeof JOB - 1);
    struct wire_writer desc;
    wire_writer_init(&desc);
    mr_task_encode(&t, &desc);
    struct mr_chunk_id tid = id_of(MR_KIND_TASK, 1, 0);
    seal_bytes(w, &tid, desc.buf, desc.len);
    wire_writer_free(&desc);
}

/* One ecall whose answer is kept in *out (reset first). */
static int call_keep(uint32_t fn, const struct wire_writer *in, struct wire_writer *out)
{
    wire_writer_free(out);
    return mr_worker_call(worker, fn, in->buf, in->len, out, NULL);
}

/* A reduce of the pairs in data under the smallest cap, its runs kept and brought back. */
static void reduce_spilled(const uint8_t *data, size_t size)
{
    struct wire_writer in, out, need = {0};
    wire_writer_init(&in);
    wire_writer_init(&out);
    reduce_task(&in);
    wire_put_varint(&in, 1);
    struct mr_chunk_id sid = id_of(MR_KIND_SHUFFLE, 0, 0);
    seal_bytes(&in, &sid, data, size);
    struct wire_reader a;
    const uint8_t *runs = NULL;
    size_t nruns = 0, nneed = 0;
    if (call_keep(MR_ECALL_REDUCE_ADD, &in, &out) == 0) {
        wire_reader_init(&a, out.buf, out.len);
        wire_get_count(&a, 4, MR_INPUTS_MAX); /* no refusals: the chunk is genuine */
        nruns = wire_get_count(&a, 1, MR_INPUTS_MAX);
        runs = wire_get_raw(&a, wire_reader_remaining(&a));
    }
    struct wire_writer kept = {0};
    if (runs)
        wire_put_raw(&kept, runs, out.len - (size_t)(runs - out.buf));
    for (int step = 0; step < 10000; step++) {
        in.len = 0;
        reduce_task(&in);
        wire_put_varint(&in, nneed);
        struct wire_reader l;
        wire_reader_init(&l, need.buf, need.len);
        for (size_t i = 0; i < nneed; i++) { /* the kept segment with that (run, seq) */
            uint32_t run = wire_get_u32(&l), seq = wire_get_u32(&l);
            struct wire_reader k;
            wire_reader_init(&k, kept.buf, kept.len);
            size_t clen;
            const uint8_t *c = NULL;
            struct mr_chunk_id id;
            for (size_t j = 0; j < nruns; j++) {
                const uint8_t *x = wire_get_bytes(&k, SIZE_MAX, &clen);
                if (x && mr_chunk_peek(x, clen, &id, NULL) == 0 && id.partition == run &&
                    id.seq == seq)
                    c = x;
                if (c)
                    break;
            }
            wire_put_bytes(&in, c, c ? clen : 0);
        }
        if (call_keep(MR_ECALL_REDUCE_END, &in, &out) != 0)
            break;
        wire_reader_init(&a, out.buf, out.len);
        if (wire_get_count(&a, 4, MR_INPUTS_MAX) != 0)
            break;
        nneed = wire_get_count(&a, 8, MR_INPUTS_MAX);
        need.len = 0;
        const uint8_t *list = wire_get_raw(&a, 8 * nneed);
        if (nneed == 0 || !list)
            break;
        wire_put_raw(&need, list, 8 * nneed);
    }
    wire_writer_free(&kept);
    wire_writer_free(&need);
    wire_writer_free(&in);
    wire_writer_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!worker)
        setup();
    int mode = fixed_mode;
    if (mode < 0) {
        if (size < 1)
            return 0;
        mode = data[0] % 7;
        data++;
        size--;
    }
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
    } else if (mode == 5) {
        map_split(data, size);
    } else {
        reduce_spilled(data, size);
    }
    return 0;
}
