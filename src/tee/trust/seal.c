/* seal.c -- tee_seal / tee_unseal (sgx_seal_data / sgx_unseal_data); blob layout in
 * tee_trust.h, header code in common/sealed.c.
 *
 * The key of a blob is HKDF-Expand(platform PRK, "cloister-seal-v1" || policy || MRENCLAVE or
 * MRSIGNER || product id || svn || debug || key id). Deriving costs about as much as sealing
 * 4 KiB, so a random key id is drawn per policy and reused for up to SEAL_KEY_USES blobs, and
 * derived keys stay in a small cache with their AES key schedules: sealing and unsealing our
 * own recent blobs derive nothing. Only the tee_self that drew a key id seals under it, so the
 * blob's number under that key id is a unique nonce (GCM's deterministic construction, NIST
 * SP 800-38D 8.2.1), and sealing makes no system call. Another identity, platform or
 * product derives another key and the GCM tag fails; a higher svn is refused before any
 * derivation (newer enclaves read older blobs, never the reverse). */
#include <stdlib.h>
#include <string.h>

#include "tee/common/common.h"
#include "tee/trust/self.h"

static const uint8_t *policy_identity(const tee_self *s, enum tee_seal_policy policy)
{
    return policy == TEE_SEAL_MRENCLAVE ? s->id.mrenclave : s->id.mrsigner;
}

/* The cached AEAD context for (policy, svn, key id), derived on a miss. Lock held. */
static crypto_aead *seal_key(tee_self *s, enum tee_seal_policy policy, uint16_t svn,
                             const uint8_t key_id[TEE_KEY_ID_LEN])
{
    for (size_t i = 0; i < SEAL_CACHE; i++) {
        struct seal_slot *c = &s->cache[i];
        if (c->used && c->policy == policy && c->svn == svn &&
            memcmp(c->key_id, key_id, TEE_KEY_ID_LEN) == 0)
            return c->aead;
    }
    uint8_t fields[5], key[32];
    fields[0] = (uint8_t)policy;
    fields[1] = (uint8_t)(s->id.config.product_id >> 8);
    fields[2] = (uint8_t)s->id.config.product_id;
    fields[3] = (uint8_t)(svn >> 8);
    fields[4] = (uint8_t)svn;
    uint8_t debug = s->id.config.debug;
    const struct self_part parts[] = {{fields, 1},
                                      {policy_identity(s, policy), TEE_HASH_LEN},
                                      {fields + 1, 4},
                                      {&debug, 1},
                                      {key_id, TEE_KEY_ID_LEN}};
    crypto_aead *aead = NULL;
    if (self_derive(s, key, TEE_LABEL_SEAL, parts, sizeof parts / sizeof parts[0]) == 0)
        aead = crypto_aead_new(CRYPTO_AES256_GCM, key);
    crypto_wipe(key, sizeof key);
    if (!aead)
        return NULL;
    struct seal_slot *c = &s->cache[s->next_victim++ % SEAL_CACHE];
    crypto_aead_free(c->aead);
    *c = (struct seal_slot){.used = true, .policy = (uint8_t)policy, .svn = svn, .aead = aead};
    memcpy(c->key_id, key_id, TEE_KEY_ID_LEN);
    return aead;
}

/* GCM associated data = the blob header || the caller's AAD, in buf when it fits. */
static uint8_t *join_aad(uint8_t *buf, size_t cap, const uint8_t *header, const void *aad,
                         size_t aad_len)
{
    if (aad_len > SIZE_MAX - TEE_SEAL_HEADER_LEN)
        return NULL;
    uint8_t *out = TEE_SEAL_HEADER_LEN + aad_len <= cap ? buf
                                                        : malloc(TEE_SEAL_HEADER_LEN + aad_len);
    if (out) {
        memcpy(out, header, TEE_SEAL_HEADER_LEN);
        if (aad_len)
            memcpy(out + TEE_SEAL_HEADER_LEN, aad, aad_len);
    }
    return out;
}

int tee_seal(tee_self *s, enum tee_seal_policy policy, const void *aad, size_t aad_len,
             const void *plaintext, size_t len, uint8_t *out, size_t cap, size_t *out_len,
             struct cloister_err *err)
{
    if (policy != TEE_SEAL_MRENCLAVE && policy != TEE_SEAL_MRSIGNER)
        return cloister_errf(err, CLOISTER_E_INVALID, "seal: unknown policy %d", (int)policy);
    if (len > TEE_SEAL_MAX || cap < tee_sealed_size(len))
        return cloister_errf(err, CLOISTER_E_TOO_BIG,
                             "seal: %zu bytes do not fit a blob of at "
                             "most %zu",
                             len, cap);
    struct tee_sealed_view v = {.policy = policy,
                                .product_id = s->id.config.product_id,
                                .svn = s->id.config.svn,
                                .ciphertext_len = len + CRYPTO_AEAD_TAG_LEN};
    pthread_mutex_lock(&s->lock);
    struct seal_current *cur = &s->current[policy - 1];
    if (!cur->valid || cur->uses >= SEAL_KEY_USES) {
        cur->valid = crypto_random(cur->key_id, sizeof cur->key_id) == 0;
        cur->uses = 0;
    }
    for (int i = 0; i < 4; i++) /* nonce = 0^64 || uses, big-endian */
        v.nonce[8 + i] = (uint8_t)(cur->uses >> (24 - 8 * i));
    cur->uses++;
    memcpy(v.key_id, cur->key_id, TEE_KEY_ID_LEN);
    crypto_aead *aead = cur->valid ? seal_key(s, policy, v.svn, v.key_id) : NULL;
    tee_sealed_put_header(out, &v);
    uint8_t buf[512];
    uint8_t *ad = join_aad(buf, sizeof buf, out, aad, aad_len);
    int rc = aead && ad ? crypto_aead_ctx_seal(aead, v.nonce, ad, TEE_SEAL_HEADER_LEN + aad_len,
                                               plaintext, len, out + TEE_SEAL_HEADER_LEN)
                        : -1;
    pthread_mutex_unlock(&s->lock);
    if (ad != buf)
        free(ad);
    if (rc != 0)
        return cloister_errf(err, CLOISTER_E_FAILED, "seal: no key id, key or memory");
    *out_len = tee_sealed_size(len);
    return CLOISTER_OK;
}

int tee_unseal(tee_self *s, const void *blob, size_t blob_len, const void *aad, size_t aad_len,
               uint8_t *pt, size_t cap, size_t *pt_len, struct cloister_err *err)
{
    struct tee_sealed_view v;
    if (tee_sealed_parse(&v, blob, blob_len, err))
        return -1;
    const struct tee_config *c = &s->id.config;
    if (v.product_id != c->product_id)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "sealed blob belongs to product id %u, this enclave is product %u",
                             v.product_id, c->product_id);
    if (v.svn > c->svn)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "sealed blob was sealed at security version %u, above this "
                             "enclave's %u: refused",
                             v.svn, c->svn);
    size_t n = v.ciphertext_len - CRYPTO_AEAD_TAG_LEN;
    if (cap < n)
        return cloister_errf(err, CLOISTER_E_TOO_BIG,
                             "unseal: output buffer of %zu bytes is too small for %zu", cap, n);
    uint8_t buf[512];
    uint8_t *ad = join_aad(buf, sizeof buf, blob, aad, aad_len);
    if (!ad)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "unseal: out of memory");
    pthread_mutex_lock(&s->lock);
    crypto_aead *aead = seal_key(s, v.policy, v.svn, v.key_id);
    int rc = aead ? crypto_aead_ctx_open(aead, v.nonce, ad, TEE_SEAL_HEADER_LEN + aad_len,
                                         v.ciphertext, v.ciphertext_len, pt)
                  : -1;
    pthread_mutex_unlock(&s->lock);
    if (ad != buf)
        free(ad);
    if (rc)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "cannot unseal: authentication failed (blob or AAD altered, or "
                             "sealed by another enclave identity, signer or platform)");
    *pt_len = n;
    return 0;
}
