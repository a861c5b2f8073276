/* fuzz_scbr_router.c -- the SCBR router's decoders on arbitrary bytes, on both sides of the
 * enclave boundary. The first byte picks the target:
 *   0  host: a client message (scbr_msg_decode); a decoded one re-encodes to the same bytes
 *   1  client: a router reply (scbr_reply_decode), likewise canonical
 *   2  enclave and client: an envelope and the two stats records
 *   3  enclave: a batch ecall (subscribe/unsubscribe/match/drop, byte 1 picks) with the rest
 *      as its input
 *   4  enclave: the rest sealed into a genuine envelope under SK (so decryption succeeds and
 *      the plaintext decoders and the index run), kind from byte 1, after one subscription
 *   5  enclave: the rest sealed as an exported state and imported (by an instance without SK,
 *      so the key check it must carry is 32 zero bytes)
 *   6  host: a front-shard message (scbr_shard_msg_decode), canonical
 *   7  enclave: a shard's batch and reshard ecalls and a front's forward ecalls (byte 1
 *      picks), the rest as input
 *   8  enclave: the rest sealed as a genuine shard record under the shard key (kind from
 *      byte 1), to a shard holding one subscription, so the record decoder and index run
 * The trusted code is the real enclave's (enclave_scbr), run in-process as the sim backend
 * does, on the platform and identity of fuzz/common. Every enclave input gets a fresh
 * instance holding SK (restored from the sealed secrets of one provisioning at start-up), so
 * nothing outlives an input and the leak checker sees everything freed. */
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fuzz_common.h"
#include "scbr/common/scbr_proto.h"
#include "tee/enclave/rt.h"

#define LIMIT (1u << 20)
TEE_ENCLAVE_DECLARE(scbr);

static uint8_t *secrets; /* SK, sealed by the one provisioning */
static size_t secrets_len;
static crypto_aead *aead, *shard_aead;
static uint64_t seq, epoch; /* epoch: the last instance's */
static const uint8_t sk[SCBR_SK_LEN] = {1, 2, 3};
static const uint8_t sender[] = "fuzzer";

/* Every input creates and frees an instance (with its EPC heap): ASan's default 256 MiB
 * quarantine of freed blocks, plus the heaps, outgrew the 2 GiB RSS limit of fuzz/run.sh. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=32";
}

/* A started, initialised instance with a fresh identity view, holding SK if asked (and once
 * provisioned). */
static struct tee_rt *instance_as(bool with_key, uint8_t role)
{
    struct cloister_err err;
    struct tee_rt *r = fuzz_instance(&tee_enclave_scbr, LIMIT);
    struct wire_writer w;
    wire_writer_init(&w);
    uint8_t init[6] = {SCBR_INDEX_FAST, 0, 0, 1, 0, role}; /* 256 senders */
    if (fuzz_call(r, SCBR_ECALL_INIT, init, sizeof init, &w) || w.len != 8 ||
        (with_key && secrets && tee_secrets_restore(r->self, secrets, secrets_len, &err) != 0))
        abort();
    struct wire_reader rd;
    wire_reader_init(&rd, w.buf, w.len);
    epoch = wire_get_u64(&rd);
    wire_writer_free(&w);
    return r;
}

static struct tee_rt *instance(bool with_key)
{
    return instance_as(with_key, SCBR_ROLE_ROUTER);
}

static void provision(void)
{
    struct cloister_err err;
    struct tee_rt *r = instance(false);
    uint8_t nonce[TEE_PROV_NONCE_LEN] = {0}, *offer, *package;
    size_t offer_len, package_len;
    struct tee_policy p;
    tee_policy_default(&p);
    p.allow_any_identity = p.allow_simulated = p.allow_debug = true;
    struct tee_secret s = {SCBR_SECRET_NAME, sk, sizeof sk};
    struct tee_claims claims;
    if (tee_prov_offer(r->self, nonce, sizeof nonce, &offer, &offer_len, &err) ||
        tee_prov_package(fuzz_verifier(), &p, nonce, sizeof nonce, offer, offer_len, &s, 1,
                         &package, &package_len, &claims, &err) ||
        tee_prov_accept(r->self, package, package_len, TEE_SEAL_MRENCLAVE, &secrets, &secrets_len,
                        &err))
        abort();
    free(offer);
    free(package);
    tee_rt_free(r);
}

static void cleanup(void)
{
    free(secrets);
    crypto_aead_free(aead);
    crypto_aead_free(shard_aead);
}

static void init(void)
{
    if (aead)
        return;
    uint8_t key[32];
    if (scbr_derive_key(key, sk, SCBR_KEY_HEADER) ||
        !(aead = crypto_aead_new(CRYPTO_AES256_GCM, key)) ||
        scbr_derive_key(key, sk, SCBR_KEY_SHARD) ||
        !(shard_aead = crypto_aead_new(CRYPTO_AES256_GCM, key)))
        abort();
    crypto_wipe(key, sizeof key);
    atexit(cleanup);
    provision();
}

static void codecs(uint8_t which, const uint8_t *data, size_t size)
{
    struct cloister_err err;
    struct wire_writer w;
    wire_writer_init(&w);
    if (which == 0) {
        struct scbr_msg m;
        if (scbr_msg_decode(&m, data, size, &err) == 0) {
            scbr_msg_encode(&w, m.kind, m.body, m.body_len, m.payload, m.payload_len);
            if (w.len != size || memcmp(w.buf, data, size) != 0)
                abort();
        }
    } else if (which == 1) {
        struct scbr_reply r;
        struct scbr_delivery d;
        if (scbr_reply_decode(&r, data, size, &err) == 0) {
            scbr_reply_encode(&w, r.kind, r.status, r.epoch, r.body, r.body_len);
            if (w.len != size || memcmp(w.buf, data, size) != 0)
                abort();
        }
        if (scbr_delivery_decode(&d, data, size, &err) == 0) { /* what a subscriber reads */
            w.len = 0;
            scbr_delivery_encode(&w, &d);
            if (w.len != size || memcmp(w.buf, data, size) != 0)
                abort();
        }
    } else {
        struct scbr_envelope e;
        struct scbr_router_stats st;
        struct scbr_enclave_stats est;
        if (scbr_envelope_decode(&e, data, size) == SCBR_ST_OK &&
            (e.ct + e.ct_len != data + size || e.ct_len < SCBR_TAG_LEN))
            abort();
        scbr_stats_decode(&st, data, size);
        scbr_enclave_stats_decode(&est, data, size);
    }
    wire_writer_free(&w);
}

/* One batch of one item: the fuzzer's plaintext in a genuine envelope. */
static void genuine(struct tee_rt *rt, uint8_t kind, const uint8_t *data, size_t size)
{
    static const uint32_t ecall_of[] = {SCBR_ECALL_SUBSCRIBE, SCBR_ECALL_UNSUBSCRIBE,
                                        SCBR_ECALL_MATCH, SCBR_ECALL_CONTROL};
    static const uint8_t kind_of[] = {SCBR_MSG_SUBSCRIBE, SCBR_MSG_UNSUBSCRIBE, SCBR_MSG_PUBLISH,
                                      SCBR_MSG_RESHARD};
    uint8_t nonce[SCBR_NONCE_LEN] = {0};
    memcpy(nonce, &seq, sizeof seq); /* unique per message: seq increases */
    struct wire_writer env, in, out;
    wire_writer_init(&env);
    wire_writer_init(&in);
    wire_writer_init(&out);
    if (scbr_envelope_seal(aead, kind_of[kind % 4], sender, sizeof sender - 1, epoch, ++seq, nonce,
                           data, size, &env) == 0) {
        wire_put_varint(&in, 1);
        wire_put_bytes(&in, sender, sizeof sender - 1);
        wire_put_bytes(&in, env.buf, env.len);
        if (fuzz_call(rt, ecall_of[kind % 4], in.buf, in.len, &out) != CLOISTER_OK)
            abort(); /* a well-formed batch is always answered */
    }
    wire_writer_free(&env);
    wire_writer_free(&in);
    wire_writer_free(&out);
}

static void shard_codecs(const uint8_t *data, size_t size)
{
    struct cloister_err err;
    struct scbr_shard_msg m;
    struct wire_writer w;
    wire_writer_init(&w);
    if (scbr_shard_msg_decode(&m, data, size, &err) == 0) {
        scbr_shard_msg_encode(&w, &m);
        if (w.len != size || memcmp(w.buf, data, size) != 0)
            abort();
    }
    wire_writer_free(&w);
}

/* One genuine shard record: plaintext bytes subscriber | u32 id | body, sealed by "a front"
 * whose epoch is 8 zero bytes. */
static void shard_record(struct tee_rt *rt, uint8_t kind, const uint8_t *pt, size_t len)
{
    static const uint32_t ecall_of[] = {SCBR_ECALL_SHARD_SUBSCRIBE, SCBR_ECALL_SHARD_UNSUBSCRIBE,
                                        SCBR_ECALL_SHARD_MATCH};
    static const uint8_t front[8];
    uint8_t nonce[SCBR_NONCE_LEN] = {0};
    memcpy(nonce, &seq, sizeof seq);
    struct wire_writer env, in, out;
    wire_writer_init(&env);
    wire_writer_init(&in);
    wire_writer_init(&out);
    if (scbr_envelope_seal(shard_aead, (uint8_t)(kind % 3 + 1), front, sizeof front, epoch, ++seq,
                           nonce, pt, len, &env) == 0) {
        wire_put_varint(&in, 1);
        wire_put_bytes(&in, front, sizeof front);
        wire_put_bytes(&in, env.buf, env.len);
        if (fuzz_call(rt, ecall_of[kind % 3], in.buf, in.len, &out) != CLOISTER_OK)
            abort();
    }
    wire_writer_free(&env);
    wire_writer_free(&in);
    wire_writer_free(&out);
}

static void shard_genuine(struct tee_rt *rt, uint8_t kind, const uint8_t *data, size_t size)
{
    struct cloister_err err;
    struct scbr_sub *one = scbr_parse_sub("x >= 0", 6, "fuzz", 1, &err);
    size_t len;
    uint8_t *enc = one ? scbr_sub_encode(one, &len) : NULL;
    struct wire_writer pt;
    wire_writer_init(&pt);
    wire_put_bytes(&pt, sender, sizeof sender - 1);
    wire_put_u32(&pt, 3);
    wire_put_raw(&pt, enc, len);
    if (!enc || !wire_writer_ok(&pt))
        abort();
    shard_record(rt, 0, pt.buf, pt.len); /* id 3, for unsubscribe and match to find */
    shard_record(rt, kind, data, size);
    wire_writer_free(&pt);
    free(enc);
    scbr_sub_free(one);
}

static void import(struct tee_rt *fresh, const uint8_t *data, size_t size)
{
    static const char aad[] = "cloister-scbr-state-v1";
    size_t cap = tee_sealed_size(size), len;
    uint8_t *blob = malloc(cap);
    struct wire_writer out;
    wire_writer_init(&out);
    if (!blob || tee_seal(fresh->self, TEE_SEAL_MRENCLAVE, aad, sizeof aad, data, size, blob, cap,
                          &len, NULL) != 0)
        abort();
    fuzz_call(fresh, SCBR_ECALL_IMPORT, blob, len, &out);
    wire_writer_free(&out);
    free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > LIMIT / 2)
        return 0;
    if (data[0] <= 2) {
        codecs(data[0], data + 1, size - 1);
        return 0;
    }
    if (data[0] == 6) {
        shard_codecs(data + 1, size - 1);
        return 0;
    }
    init();
    bool shard = data[0] == 8 || (data[0] == 7 && data[1] % 9 < 6);
    struct tee_rt *rt = instance_as(data[0] != 5, shard ? SCBR_ROLE_SHARD : SCBR_ROLE_ROUTER);
    if (data[0] == 3) {
        static const uint32_t ecalls[] = {SCBR_ECALL_SUBSCRIBE, SCBR_ECALL_UNSUBSCRIBE,
                                          SCBR_ECALL_MATCH, SCBR_ECALL_DROP, SCBR_ECALL_CONTROL};
        struct wire_writer out;
        wire_writer_init(&out);
        fuzz_call(rt, ecalls[data[1] % 5], data + 2, size - 2, &out);
        wire_writer_free(&out);
    } else if (data[0] == 4) {
        struct cloister_err err;
        struct scbr_sub *one = scbr_parse_sub("x >= 0", 6, "fuzz", 1, &err);
        size_t len;
        uint8_t *enc = one ? scbr_sub_encode(one, &len) : NULL;
        if (!enc)
            abort();
        genuine(rt, 0, enc, len); /* id 0, for unsubscribe and match to find */
        genuine(rt, data[1], data + 2, size - 2);
        free(enc);
        scbr_sub_free(one);
    } else if (data[0] == 5) {
        import(rt, data + 1, size - 1);
    } else if (data[0] == 7) {
        static const uint32_t ecalls[] = {
            SCBR_ECALL_SHARD_SUBSCRIBE, SCBR_ECALL_SHARD_UNSUBSCRIBE, SCBR_ECALL_SHARD_MATCH,
            SCBR_ECALL_SHARD_SPLIT,     SCBR_ECALL_SHARD_ABSORB,      SCBR_ECALL_SHARD_PRUNE,
            SCBR_ECALL_FWD_SUBSCRIBE,   SCBR_ECALL_FWD_UNSUBSCRIBE,   SCBR_ECALL_FWD_PUBLISH};
        struct wire_writer out;
        wire_writer_init(&out);
        fuzz_call(rt, ecalls[data[1] % 9], data + 2, size - 2, &out);
        wire_writer_free(&out);
    } else if (data[0] == 8) {
        shard_genuine(rt, data[1], data + 2, size - 2);
    }
    tee_rt_free(rt);
    return 0;
}
