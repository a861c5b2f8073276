/* envelope.c -- A-Sky key envelopes (formats in include/cloister/asky.h).
 *
 * Both kinds wrap the file key under each member's entry key with AES-256-GCM, with the nonce
 * of entry i = the envelope's random nonce with its last four bytes XORed with be32(i): the
 * envelope nonce is fresh, so no (key, nonce) pair repeats, and nothing per entry is stored.
 * The indexed kind adds a 16-byte tag per entry, HMAC(tag key, nonce): unlinkable across
 * envelopes, and the GCM AAD of its entry, so entries cannot be moved under another tag.
 * Padding entries are random bytes: without a member key they look like real ones. */
#include <cloister/asky.h>
#include <cloister/crypto.h>

#include <stdlib.h>
#include <string.h>

#include "asky/common/sort.h"

#define INDEXED_ENTRY (ASKY_TAG_LEN + ASKY_ENTRY_LEN)

void asky_user_keys(struct asky_user_keys *k, const uint8_t user_key[ASKY_KEY_LEN])
{
    static const char tag[] = "CLOISTER-ASKY-V01 tag key", entry[] = "CLOISTER-ASKY-V01 entry key",
                      auth[] = "CLOISTER-ASKY-V01 auth key";
    crypto_hmac_sha256(k->tag, user_key, ASKY_KEY_LEN, tag, sizeof tag - 1);
    crypto_hmac_sha256(k->entry, user_key, ASKY_KEY_LEN, entry, sizeof entry - 1);
    crypto_hmac_sha256(k->auth, user_key, ASKY_KEY_LEN, auth, sizeof auth - 1);
}

void asky_request_proof(uint8_t proof[32], const struct asky_user_keys *k, const char *group,
                        const uint8_t nonce[ASKY_REQ_NONCE_LEN])
{
    size_t glen = strlen(group);
    uint8_t msg[ASKY_NAME_MAX + ASKY_REQ_NONCE_LEN];
    if (glen > ASKY_NAME_MAX)
        glen = ASKY_NAME_MAX; /* the enclave refuses longer names */
    memcpy(msg, group, glen);
    memcpy(msg + glen, nonce, ASKY_REQ_NONCE_LEN);
    crypto_hmac_sha256(proof, k->auth, ASKY_KEY_LEN, msg, glen + ASKY_REQ_NONCE_LEN);
}

void asky_user_keys_wipe(struct asky_user_keys *k)
{
    crypto_wipe(k, sizeof *k);
}

size_t asky_padded_count(size_t n, unsigned pad)
{
    if (pad == ASKY_PAD_POW2) {
        size_t p = 1;
        while (p < n)
            p <<= 1;
        return p;
    }
    if (pad > 1)
        return n == 0 ? pad : (n + pad - 1) / pad * pad;
    return n;
}

size_t asky_envelope_size(enum asky_kind kind, size_t entries)
{
    return ASKY_NONCE_LEN + entries * (kind == ASKY_INDEXED ? INDEXED_ENTRY : ASKY_ENTRY_LEN);
}

static void entry_nonce(uint8_t out[ASKY_NONCE_LEN], const uint8_t *nonce, size_t i)
{
    memcpy(out, nonce, ASKY_NONCE_LEN);
    out[8] ^= (uint8_t)(i >> 24);
    out[9] ^= (uint8_t)(i >> 16);
    out[10] ^= (uint8_t)(i >> 8);
    out[11] ^= (uint8_t)i;
}

static void member_tag(uint8_t out[ASKY_TAG_LEN], const struct asky_user_keys *k,
                       const uint8_t *nonce)
{
    uint8_t mac[CRYPTO_SHA256_LEN];
    crypto_hmac_sha256(mac, k->tag, ASKY_KEY_LEN, nonce, ASKY_NONCE_LEN);
    memcpy(out, mac, ASKY_TAG_LEN);
}

struct slot {
    uint8_t tag[ASKY_TAG_LEN];
    size_t member; /* SIZE_MAX: padding */
};

static int slot_cmp(const void *a, const void *b)
{
    return memcmp(((const struct slot *)a)->tag, ((const struct slot *)b)->tag, ASKY_TAG_LEN);
}

/* Writes entry i (or random bytes for padding) at p. */
static int put_entry(uint8_t *p, const uint8_t *nonce, size_t i, const struct asky_user_keys *k,
                     const uint8_t *aad, size_t aadlen, const uint8_t file_key[ASKY_KEY_LEN])
{
    if (!k)
        return crypto_random(p, ASKY_ENTRY_LEN);
    uint8_t n[ASKY_NONCE_LEN];
    entry_nonce(n, nonce, i);
    return crypto_aead_seal(CRYPTO_AES256_GCM, k->entry, n, aad, aadlen, file_key, ASKY_KEY_LEN, p);
}

static int build_indexed(uint8_t *env, const struct asky_user_keys *m, size_t n, size_t total,
                         const uint8_t file_key[ASKY_KEY_LEN])
{
    struct slot *s = malloc(total * sizeof *s);
    if (!s)
        return CLOISTER_E_NO_MEMORY;
    int rc = 0;
    for (size_t i = 0; i < total && rc == 0; i++) {
        s[i].member = i < n ? i : SIZE_MAX;
        if (i < n)
            member_tag(s[i].tag, &m[i], env);
        else
            rc = crypto_random(s[i].tag, ASKY_TAG_LEN);
    }
    if (rc == 0)
        asky_sort(s, total, sizeof *s, slot_cmp);
    for (size_t i = 0; i < total && rc == 0; i++) {
        uint8_t *p = env + ASKY_NONCE_LEN + i * INDEXED_ENTRY;
        memcpy(p, s[i].tag, ASKY_TAG_LEN);
        const struct asky_user_keys *k = s[i].member == SIZE_MAX ? NULL : &m[s[i].member];
        rc = put_entry(p + ASKY_TAG_LEN, env, i, k, p, ASKY_TAG_LEN, file_key);
    }
    free(s);
    return rc == 0 ? 0 : CLOISTER_E_FAILED;
}

/* Trial entries: members at random positions among the padding (a Fisher-Yates shuffle of the
 * member order is not needed: the positions are what a reader could learn, and those are
 * drawn at random). */
static int build_trial(uint8_t *env, const struct asky_user_keys *m, size_t n, size_t total,
                       const uint8_t file_key[ASKY_KEY_LEN])
{
    size_t *order = malloc(total * sizeof *order);
    if (!order)
        return CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i < total; i++)
        order[i] = i < n ? i : SIZE_MAX;
    int rc = 0;
    for (size_t i = total; i > 1 && rc == 0; i--) {
        uint64_t r;
        if ((rc = crypto_random(&r, sizeof r)) == 0) {
            size_t j = (size_t)(r % i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
    }
    for (size_t i = 0; i < total && rc == 0; i++) {
        uint8_t *p = env + ASKY_NONCE_LEN + i * ASKY_ENTRY_LEN;
        rc = put_entry(p, env, i, order[i] == SIZE_MAX ? NULL : &m[order[i]], NULL, 0, file_key);
    }
    free(order);
    return rc == 0 ? 0 : CLOISTER_E_FAILED;
}

int asky_envelope_build(enum asky_kind kind, const struct asky_user_keys *members, size_t n,
                        unsigned pad, const uint8_t file_key[ASKY_KEY_LEN], uint8_t **out,
                        size_t *outlen, struct cloister_err *err)
{
    *out = NULL;
    *outlen = 0;
    if (kind != ASKY_INDEXED && kind != ASKY_TRIAL)
        return cloister_errf(err, CLOISTER_E_INVALID, "unknown envelope kind %d", (int)kind);
    if (n == 0 || n > ASKY_MEMBERS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "an envelope needs 1..%u members",
                             ASKY_MEMBERS_MAX);
    size_t total = asky_padded_count(n, pad);
    if (total > 2 * (size_t)ASKY_MEMBERS_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "envelope padding too large");
    size_t len = asky_envelope_size(kind, total);
    uint8_t *env = malloc(len);
    if (!env)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for an envelope");
    int rc = crypto_random(env, ASKY_NONCE_LEN) == 0 ? 0 : CLOISTER_E_FAILED;
    if (rc == 0)
        rc = kind == ASKY_INDEXED ? build_indexed(env, members, n, total, file_key)
                                  : build_trial(env, members, n, total, file_key);
    if (rc != 0) {
        free(env);
        return cloister_errf(err, rc, "building an envelope failed");
    }
    *out = env;
    *outlen = len;
    return CLOISTER_OK;
}

/* The number of entries of a well-formed envelope, or 0. */
static size_t entry_count(enum asky_kind kind, size_t len)
{
    size_t per = kind == ASKY_INDEXED ? INDEXED_ENTRY : ASKY_ENTRY_LEN;
    if (len < ASKY_NONCE_LEN + per || (len - ASKY_NONCE_LEN) % per != 0)
        return 0;
    size_t n = (len - ASKY_NONCE_LEN) / per;
    return n <= 2 * (size_t)ASKY_MEMBERS_MAX ? n : 0;
}

static int try_entry(const uint8_t *env, size_t i, const uint8_t *p, const uint8_t *aad,
                     size_t aadlen, const struct asky_user_keys *k, uint8_t key[ASKY_KEY_LEN])
{
    uint8_t n[ASKY_NONCE_LEN];
    entry_nonce(n, env, i);
    return crypto_aead_open(CRYPTO_AES256_GCM, k->entry, n, aad, aadlen, p, ASKY_ENTRY_LEN, key);
}

static int open_indexed(const uint8_t *env, size_t n, const struct asky_user_keys *k,
                        uint8_t key[ASKY_KEY_LEN])
{
    uint8_t tag[ASKY_TAG_LEN];
    member_tag(tag, k, env);
    const uint8_t *base = env + ASKY_NONCE_LEN;
    size_t lo = 0, hi = n; /* the first entry whose tag is >= ours */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(base + mid * INDEXED_ENTRY, tag, ASKY_TAG_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && memcmp(base + lo * INDEXED_ENTRY, tag, ASKY_TAG_LEN) == 0; lo++) {
        const uint8_t *p = base + lo * INDEXED_ENTRY;
        if (try_entry(env, lo, p + ASKY_TAG_LEN, p, ASKY_TAG_LEN, k, key) == 0)
            return 0;
    }
    return -1;
}

static int open_trial(const uint8_t *env, size_t n, const struct asky_user_keys *k,
                      uint8_t key[ASKY_KEY_LEN])
{
    for (size_t i = 0; i < n; i++)
        if (try_entry(env, i, env + ASKY_NONCE_LEN + i * ASKY_ENTRY_LEN, NULL, 0, k, key) == 0)
            return 0;
    return -1;
}

int asky_envelope_open(enum asky_kind kind, const uint8_t *env, size_t len,
                       const struct asky_user_keys *k, uint8_t file_key[ASKY_KEY_LEN],
                       struct cloister_err *err)
{
    if (kind != ASKY_INDEXED && kind != ASKY_TRIAL)
        return cloister_errf(err, CLOISTER_E_INVALID, "unknown envelope kind %d", (int)kind);
    size_t n = entry_count(kind, len);
    if (n == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed envelope (%zu bytes)", len);
    int rc = kind == ASKY_INDEXED ? open_indexed(env, n, k, file_key)
                                  : open_trial(env, n, k, file_key);
    if (rc != 0)
        return cloister_errf(err, CLOISTER_E_DENIED, "the envelope has no entry for this key");
    return CLOISTER_OK;
}
