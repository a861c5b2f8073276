/* builtin.c -- the ecalls every enclave image has (docs/tee.md section 5): start (restores the
 * provisioned secrets and runs on_start), evidence, local report, the enclave half of attested
 * provisioning, the digest of a provisioned secret, and seal/unseal round trips.
 *
 * They are thin: each decodes its input, calls tee-trust's function on the enclave's tee_self
 * and encodes the result. Provisioned secrets are persisted by the host (the enclave has no
 * filesystem) as one blob sealed to MRENCLAVE, through the store_put/store_get ocalls. */
#include "tee/enclave/rt.h"

#include <cloister/crypto.h>

#include <stdlib.h>
#include <string.h>

#define SECRETS_BLOB "secrets"

static int need_self(struct tee_env *env, const char *what)
{
    if (env->rt->self)
        return CLOISTER_OK;
    return tee_fail(env, CLOISTER_E_DENIED, "%s: this instance has no identity", what);
}

/* A trust function's refusal, with the code it gave (CLOISTER_E_DENIED for a failed check, and
 * when it gave none: err starts cleared). */
static int trust_failed(struct tee_env *env, const char *what, const struct cloister_err *err)
{
    return tee_fail(env, err->code < 0 ? err->code : CLOISTER_E_DENIED, "%s: %s", what, err->msg);
}

static int bad_input(struct tee_env *env, const char *what, struct wire_reader *r)
{
    return tee_fail(env, CLOISTER_E_INVALID, "%s: %s", what, wire_reader_error(r));
}

static int store_call(struct tee_env *env, uint32_t ocall, const void *blob, size_t len,
                      uint8_t **answer, size_t *answer_len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_str(&w, SECRETS_BLOB);
    if (ocall == TEE_OCALL_STORE_PUT)
        wire_put_bytes(&w, blob, len);
    int rc = wire_writer_ok(&w) ? tee_ocall(env, ocall, w.buf, w.len, answer, answer_len)
                                : tee_fail(env, CLOISTER_E_NO_MEMORY, "store: out of memory");
    wire_writer_free(&w);
    return rc;
}

static int ecall_start(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct tee_rt *rt = env->rt;
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&rt->start_lock);
    if (!rt->started && rt->self) {
        uint8_t *blob;
        size_t len;
        rc = store_call(env, TEE_OCALL_STORE_GET, NULL, 0, &blob, &len);
        struct cloister_err err = {0};
        if (rc == CLOISTER_OK && len && tee_secrets_restore(rt->self, blob, len, &err) != 0)
            rc = trust_failed(env, "stored secrets", &err);
        tee_free(blob);
    }
    if (rc == CLOISTER_OK && !rt->started && rt->def && rt->def->on_start)
        rc = rt->def->on_start(env);
    if (rc == CLOISTER_OK)
        rt->started = true;
    pthread_mutex_unlock(&rt->start_lock);
    if (rc == CLOISTER_OK)
        wire_put_varint(out, rt->self ? tee_secret_count(rt->self) : 0);
    return rc;
}

static int ecall_evidence(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    if (inlen != TEE_REPORT_DATA_LEN)
        return tee_fail(env, CLOISTER_E_INVALID, "evidence: report data must be %d bytes, got %zu",
                        TEE_REPORT_DATA_LEN, inlen);
    struct cloister_err err;
    if (env->rt->gramine)
        return tee_gramine_evidence(in, out, &err) == 0
                   ? CLOISTER_OK
                   : tee_fail(env, CLOISTER_E_FAILED, "evidence: %s", err.msg);
    int rc = need_self(env, "evidence");
    uint8_t *ev;
    size_t len;
    if (rc == CLOISTER_OK && tee_evidence_make(env->rt->self, in, &ev, &len, &err) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "%s", err.msg);
    if (rc == CLOISTER_OK) {
        wire_put_raw(out, ev, len);
        free(ev);
    }
    return rc;
}

static int ecall_report(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    if (inlen != TEE_HASH_LEN + TEE_REPORT_DATA_LEN)
        return tee_fail(env, CLOISTER_E_INVALID,
                        "report: expected target MRENCLAVE and report data (%d bytes), got %zu",
                        TEE_HASH_LEN + TEE_REPORT_DATA_LEN, inlen);
    int rc = need_self(env, "report");
    uint8_t *report = rc == CLOISTER_OK ? wire_writer_reserve(out, TEE_REPORT_LEN) : NULL;
    if (rc == CLOISTER_OK && !report)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "report: out of memory");
    struct cloister_err err;
    if (rc == CLOISTER_OK &&
        tee_report_create(env->rt->self, in, in + TEE_HASH_LEN, report, &err) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "%s", err.msg);
    if (rc == CLOISTER_OK)
        wire_writer_commit(out, TEE_REPORT_LEN);
    return rc;
}

static int ecall_prov_offer(struct tee_env *env, const uint8_t *in, size_t inlen,
                            struct wire_writer *out)
{
    int rc = need_self(env, "provisioning offer");
    uint8_t *offer;
    size_t len;
    struct cloister_err err = {0};
    if (rc == CLOISTER_OK && tee_prov_offer(env->rt->self, in, inlen, &offer, &len, &err) != 0)
        rc = trust_failed(env, "provisioning offer", &err);
    if (rc == CLOISTER_OK) {
        wire_put_raw(out, offer, len);
        free(offer);
    }
    return rc;
}

static int ecall_prov_accept(struct tee_env *env, const uint8_t *in, size_t inlen,
                             struct wire_writer *out)
{
    int rc = need_self(env, "provisioning");
    uint8_t *sealed = NULL, *answer = NULL;
    size_t sealed_len = 0, answer_len;
    struct cloister_err err = {0};
    if (rc == CLOISTER_OK && tee_prov_accept(env->rt->self, in, inlen, TEE_SEAL_MRENCLAVE, &sealed,
                                             &sealed_len, &err) != 0)
        rc = trust_failed(env, "provisioning", &err);
    if (rc == CLOISTER_OK)
        rc = store_call(env, TEE_OCALL_STORE_PUT, sealed, sealed_len, &answer, &answer_len);
    tee_free(answer);
    free(sealed);
    if (rc == CLOISTER_OK)
        wire_put_varint(out, tee_secret_count(env->rt->self));
    return rc;
}

static int ecall_secret_digest(struct tee_env *env, const uint8_t *in, size_t inlen,
                               struct wire_writer *out)
{
    char name[TEE_SECRET_NAME_MAX + 1];
    if (inlen == 0 || inlen > TEE_SECRET_NAME_MAX || memchr(in, 0, inlen))
        return tee_fail(env, CLOISTER_E_INVALID, "secret digest: bad secret name");
    memcpy(name, in, inlen);
    name[inlen] = 0;
    int rc = need_self(env, "secret digest");
    size_t len = 0;
    uint8_t probe;
    struct cloister_err err;
    if (rc == CLOISTER_OK &&
        tee_secret_get(env->rt->self, name, &probe, 0, &len, &err) == CLOISTER_E_NOT_FOUND)
        return tee_fail(env, CLOISTER_E_NOT_FOUND, "secret digest: %s", err.msg);
    uint8_t *value = rc == CLOISTER_OK ? tee_secret_alloc(len ? len : 1) : NULL;
    if (rc == CLOISTER_OK && !value)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "secret digest: out of secret memory");
    if (rc == CLOISTER_OK && tee_secret_get(env->rt->self, name, value, len, &len, &err) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "secret digest: '%s' changed while read: %s", name,
                      err.msg);
    if (rc == CLOISTER_OK) {
        uint8_t digest[CRYPTO_SHA256_LEN];
        crypto_sha256(digest, value, len);
        wire_put_raw(out, digest, sizeof digest);
    }
    if (value)
        tee_secret_free(value, len ? len : 1);
    return rc;
}

static int ecall_seal(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint8_t policy = wire_get_u8(&r);
    size_t aadlen, ptlen;
    const uint8_t *aad = wire_get_bytes(&r, inlen, &aadlen);
    const uint8_t *pt = wire_get_bytes(&r, inlen, &ptlen);
    if (wire_reader_finish(&r) != 0)
        return bad_input(env, "seal", &r);
    if (policy != TEE_SEAL_MRENCLAVE && policy != TEE_SEAL_MRSIGNER)
        return tee_fail(env, CLOISTER_E_INVALID, "seal: unknown policy %u", policy);
    int rc = need_self(env, "seal");
    size_t cap = tee_sealed_size(ptlen), len;
    uint8_t *blob = rc == CLOISTER_OK ? wire_writer_reserve(out, cap) : NULL;
    if (rc == CLOISTER_OK && !blob)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "seal: out of memory");
    struct cloister_err err;
    if (rc == CLOISTER_OK &&
        tee_seal(env->rt->self, policy, aad, aadlen, pt, ptlen, blob, cap, &len, &err) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "%s", err.msg);
    if (rc == CLOISTER_OK)
        wire_writer_commit(out, len);
    return rc;
}

static int ecall_unseal(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    size_t aadlen, bloblen;
    const uint8_t *aad = wire_get_bytes(&r, inlen, &aadlen);
    const uint8_t *blob = wire_get_bytes(&r, inlen, &bloblen);
    if (wire_reader_finish(&r) != 0)
        return bad_input(env, "unseal", &r);
    if (bloblen < TEE_SEAL_OVERHEAD)
        return tee_fail(env, CLOISTER_E_DENIED, "unseal: a sealed blob has at least %d bytes",
                        TEE_SEAL_OVERHEAD);
    int rc = need_self(env, "unseal");
    size_t cap = bloblen - TEE_SEAL_OVERHEAD, len;
    uint8_t *pt = rc == CLOISTER_OK ? wire_writer_reserve(out, cap ? cap : 1) : NULL;
    struct cloister_err err = {0};
    if (rc == CLOISTER_OK && !pt)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "unseal: out of memory");
    if (rc == CLOISTER_OK &&
        tee_unseal(env->rt->self, blob, bloblen, aad, aadlen, pt, cap, &len, &err) != 0)
        rc = trust_failed(env, "unseal", &err);
    if (rc == CLOISTER_OK)
        wire_writer_commit(out, len);
    return rc;
}

/* The EPC counters of this instance's heap (src/epc), as an epc_stats record. */
static int ecall_epc_stats(struct tee_env *env, const uint8_t *in, size_t inlen,
                           struct wire_writer *out)
{
    (void)in;
    if (inlen != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "epc_stats: takes no input");
    if (!env->rt->heap)
        return tee_fail(env, CLOISTER_E_DENIED, "epc_stats: this instance has no EPC heap");
    struct epc_stats s;
    epc_heap_stats(env->rt->heap, &s);
    epc_stats_encode(&s, out);
    return CLOISTER_OK;
}

#define BUILTIN_ECALLS(X)                                                                          \
    X(TEE_ECALL_START, start)                                                                      \
    X(TEE_ECALL_EVIDENCE, evidence)                                                                \
    X(TEE_ECALL_REPORT, report)                                                                    \
    X(TEE_ECALL_PROV_OFFER, prov_offer)                                                            \
    X(TEE_ECALL_PROV_ACCEPT, prov_accept)                                                          \
    X(TEE_ECALL_SECRET_DIGEST, secret_digest)                                                      \
    X(TEE_ECALL_SEAL, seal)                                                                        \
    X(TEE_ECALL_UNSEAL, unseal)                                                                    \
    X(TEE_ECALL_EPC_STATS, epc_stats)

BUILTIN_ECALLS(TEE_ENCLAVE_MANIFEST_)
const struct tee_ecall_entry tee_builtin_ecalls[] = {BUILTIN_ECALLS(TEE_ENCLAVE_ROW_)};
const size_t tee_builtin_necalls = sizeof tee_builtin_ecalls / sizeof tee_builtin_ecalls[0];
