/* fuzz_streams_batch.c -- SecureStreams' decoders on arbitrary bytes, on both sides of a secure
 * stage. The first byte picks the target:
 *   0  the batch plaintext decoder (ss_batch_decode) and the config decoder (ss_config_decode)
 *   1  a secure runner (the enclave's code) fed the rest as a sealed batch: always refused
 *   2  the same runner fed the rest sealed genuinely, as the next batch: the plaintext decoders
 *      and the Lua value decoder run on it inside the stage
 *   3  a plain runner fed the rest as a plaintext batch (the engine's in-process stages)
 *   4  a distributed stage's runner fed the rest as a sealed batch (RUN_DIST: refused, or
 *      dropped as a duplicate from its header) and as a checkpoint (RESTORE: always refused)
 *   5  the same runner fed the rest sealed genuinely as producer 0's next batch
 * The runners load one small pipeline once; a refused or failed batch leaves them usable. */
#include <cloister/crypto.h>
#include <cloister/streams.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "streams/common/ss_proto.h"

static const char PIPELINE[] =
    "return pipeline('f'):source(lines('-'))\n"
    ":map(secure(function(x) return type(x) == 'table' and #x or x end))\n"
    ":key_by(function(x) return tostring(x) end)\n"
    ":reduce(function(a, x) return a + 1 end, function() return 0 end):sink(stdout())\n";

static void *secure_runner, *plain_runner, *dist_runner;
static crypto_aead *aead;
static uint8_t hash[SS_HASH_LEN];
static uint64_t seq, dist_seq;

static void *load(const uint8_t *key, uint32_t fn)
{
    struct wire_writer cfg, in;
    wire_writer_init(&cfg);
    wire_writer_init(&in);
    wire_put_str(&cfg, "f.lua");
    wire_put_bytes(&cfg, PIPELINE, strlen(PIPELINE));
    wire_put_varint(&cfg, 0);
    crypto_sha256(hash, cfg.buf, cfg.len);
    wire_put_bytes(&in, cfg.buf, cfg.len);
    wire_put_u32(&in, 1);
    wire_put_u32(&in, 1);
    if (fn == SS_CALL_LOAD_DIST) { /* replica 0 of 2 producers into 2 partitions, keyed */
        wire_put_u32(&in, 0);
        wire_put_u32(&in, 2);
        wire_put_u32(&in, 2);
        wire_put_u8(&in, 1);
    }
    void *r = ss_inproc_worker.open(key);
    uint8_t *out;
    size_t outlen;
    struct cloister_err err;
    if (!r || ss_inproc_worker.call(r, fn, in.buf, in.len, &out, &outlen, &err) != 0)
        abort();
    free(out);
    wire_writer_free(&cfg);
    wire_writer_free(&in);
    return r;
}

static void setup(void)
{
    static const uint8_t key[SS_KEY_LEN] = {7};
    if (secure_runner)
        return;
    secure_runner = load(key, SS_CALL_LOAD);
    plain_runner = load(NULL, SS_CALL_DESCRIBE);
    dist_runner = load(key, SS_CALL_LOAD_DIST);
    aead = crypto_aead_new(CRYPTO_AES256_GCM, key);
}

static int call(void *r, uint32_t fn, const uint8_t *in, size_t len)
{
    uint8_t *out = NULL;
    size_t outlen;
    struct cloister_err err;
    int rc = ss_inproc_worker.call(r, fn, in, len, &out, &outlen, &err);
    free(out);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 16))
        return 0;
    setup();
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    struct cloister_err err;
    struct ss_batch b;
    struct ss_config c;
    struct wire_writer w;
    wire_writer_init(&w);
    switch (data[0] % 6) {
    case 0:
        (void)ss_batch_decode(&b, p, n, &err);
        (void)ss_config_decode(&c, p, n, &err);
        break;
    case 1:
        if (call(secure_runner, SS_CALL_RUN, p, n) == 0)
            abort(); /* only the key's holder can make a batch that opens */
        break;
    case 2: {
        struct ss_edge e = {.stage = 1, .seq = seq};
        memcpy(e.hash, hash, SS_HASH_LEN);
        if (ss_seal(aead, &e, p, n, &w) != 0)
            abort();
        /* a well-formed batch is accepted and numbers the next; a malformed one is refused
         * after opening, which consumes its number too */
        (void)call(secure_runner, SS_CALL_RUN, w.buf, w.len);
        seq++;
        break;
    }
    case 4:
        (void)call(dist_runner, SS_CALL_RUN_DIST, p, n);
        if (call(dist_runner, SS_CALL_RESTORE, p, n) == 0)
            abort(); /* a checkpoint opens only if the key's holder sealed it */
        break;
    case 5: {
        struct ss_edge e = {.stage = 1, .partition = SS_PART(0, 0), .seq = dist_seq++};
        memcpy(e.hash, hash, SS_HASH_LEN);
        if (ss_seal(aead, &e, p, n, &w) != 0)
            abort();
        (void)call(dist_runner, SS_CALL_RUN_DIST, w.buf, w.len);
        break;
    }
    case 3:
        wire_put_u32(&w, 1);
        wire_put_u32(&w, 3);
        wire_put_raw(&w, p, n);
        (void)call(plain_runner, SS_CALL_RUN_PLAIN, w.buf, w.len);
        break;
    default: break;
    }
    wire_writer_free(&w);
    return 0;
}
