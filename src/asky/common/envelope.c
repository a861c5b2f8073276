/* envelope.c -- A-Sky key envelopes (formats in include/cloister/asky.h).
 *
 * Both kinds wrap the file key under each member's entry key with AES-256-GCM, with the nonce
 * of entry i = the envelope's random nonce with its last four bytes XORed with be32(i): the
 * envelope nonce is fresh, so no (key, nonce) pair repeats, and nothing per entry is stored.
 * The indexed kind adds a 16-byte tag per entry, HMAC(tag key, nonce): unlinkable across
 * envelopes, and the GCM AAD of its entry, so entries cannot be moved under another tag.
 * Padding entries are random bytes: without a member key they look like real ones.
 *
 * Building is the enclave's hot loop (an envelope per file written): from prepared members
 * (struct asky_member) each entry goes through seal_x86.c, with the key schedules made once;
 * the slots are radix-sorted by tag and random bytes drawn once per envelope. */
#include <cloister/asky.h>
#include <cloister/crypto.h>

#include <stdlib.h>
#include <string.h>

#include "asky/common/seal.h"

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

void asky_member_prepare(struct asky_member *m, const struct asky_user_keys *k)
{
    memset(m, 0, sizeof *m);
    m->keys = *k;
    if (asky_seal_fast())
        asky_seal_prepare(m);
}

void asky_member_wipe(struct asky_member *m)
{
    crypto_wipe(m, sizeof *m);
}

/* The members an envelope is built for: prepared (the fast path when the CPU has it) or raw
 * keys (OpenSSL's one-shot calls, which redo the key schedules every time). */
struct members {
    const struct asky_member *prep;
    const struct asky_user_keys *raw;
    bool fast;
};

/* The tags of members i and j (j may be i) into ti and tj. */
static void tags_of(uint8_t *ti, uint8_t *tj, const struct members *ms, size_t i, size_t j,
                    const uint8_t *nonce)
{
    if (ms->fast) {
        asky_seal_tags(ti, &ms->prep[i], tj, &ms->prep[j], nonce);
        return;
    }
    member_tag(ti, ms->prep ? &ms->prep[i].keys : &ms->raw[i], nonce);
    member_tag(tj, ms->prep ? &ms->prep[j].keys : &ms->raw[j], nonce);
}

/* Seals the file key as member i's entry at p, with entry index idx. */
static int seal_of(uint8_t *p, const struct members *ms, size_t i, const uint8_t *env, size_t idx,
                   const uint8_t *aad, const uint8_t file_key[ASKY_KEY_LEN])
{
    if (ms->fast) {
        asky_seal_entry(p, &ms->prep[i], env, (uint32_t)idx, aad, file_key);
        return 0;
    }
    uint8_t n[ASKY_NONCE_LEN];
    entry_nonce(n, env, idx);
    const struct asky_user_keys *k = ms->prep ? &ms->prep[i].keys : &ms->raw[i];
    return crypto_aead_seal(CRYPTO_AES256_GCM, k->entry, n, aad, aad ? ASKY_TAG_LEN : 0, file_key,
                            ASKY_KEY_LEN, p);
}

#define PADDING UINT32_MAX

struct slot {
    uint8_t tag[ASKY_TAG_LEN];
    uint32_t member; /* PADDING: a random entry */
};

/* Sorts slots by tag: a radix sort on the tags' first four bytes (tags are uniformly random),
 * then an insertion pass that orders the rare runs sharing those bytes. The heapsort of
 * sort.c (a callback and three memcpy calls a step) took 8.5 ms for 10,000 slots, timed alone:
 * five times the whole build on the fast path. */
static void sort_slots(struct slot *s, struct slot *tmp, size_t n)
{
    struct slot *from = s, *to = tmp;
    for (int b = 3; b >= 0; b--) { /* four passes: the result ends in s */
        size_t start[257] = {0};
        for (size_t i = 0; i < n; i++)
            start[from[i].tag[b] + 1]++;
        for (int d = 1; d < 257; d++)
            start[d] += start[d - 1];
        for (size_t i = 0; i < n; i++)
            to[start[from[i].tag[b]]++] = from[i];
        struct slot *t = from;
        from = to;
        to = t;
    }
    for (size_t i = 1; i < n; i++) {
        struct slot t = s[i];
        size_t j = i;
        for (; j > 0 && memcmp(s[j - 1].tag, t.tag, ASKY_TAG_LEN) > 0; j--)
            s[j] = s[j - 1];
        s[j] = t;
    }
}

static int build_indexed(uint8_t *env, const struct members *ms, size_t n, size_t total,
                         const uint8_t file_key[ASKY_KEY_LEN])
{
    size_t npad = total - n;
    struct slot *s = malloc(2 * total * sizeof *s);
    uint8_t *rnd = malloc(npad * INDEXED_ENTRY + 1); /* padding tags and entries, one draw */
    int rc = s && rnd ? crypto_random(rnd, npad * INDEXED_ENTRY) : CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i < total && rc == 0; i++) {
        s[i].member = i < n ? (uint32_t)i : PADDING;
        if (i >= n)
            memcpy(s[i].tag, rnd + (i - n) * INDEXED_ENTRY, ASKY_TAG_LEN);
        else if (i % 2 == 0) /* members two by two (the last one alone twice) */
            tags_of(s[i].tag, s[i + 1 < n ? i + 1 : i].tag, ms, i, i + 1 < n ? i + 1 : i, env);
    }
    if (rc == 0)
        sort_slots(s, s + total, total);
    /* Tags and padding in sorted order; then the entries in member order, which reads the
     * members' key schedules sequentially (random order costs a cache miss per member). */
    uint32_t *pos = s ? (uint32_t *)(s + total) : NULL; /* the sort's scratch: member i's entry */
    const uint8_t *pad_entry = rnd;
    for (size_t i = 0; i < total && rc == 0; i++) {
        uint8_t *p = env + ASKY_NONCE_LEN + i * INDEXED_ENTRY;
        memcpy(p, s[i].tag, ASKY_TAG_LEN);
        if (s[i].member == PADDING) {
            memcpy(p + ASKY_TAG_LEN, pad_entry + ASKY_TAG_LEN, ASKY_ENTRY_LEN);
            pad_entry += INDEXED_ENTRY;
        } else {
            pos[s[i].member] = (uint32_t)i;
        }
    }
    for (size_t m = 0; m < n && rc == 0; m++) {
        uint8_t *p = env + ASKY_NONCE_LEN + (size_t)pos[m] * INDEXED_ENTRY;
        rc = seal_of(p + ASKY_TAG_LEN, ms, m, env, pos[m], p, file_key);
    }
    if (rnd)
        crypto_wipe(rnd, npad * INDEXED_ENTRY);
    free(rnd);
    free(s);
    return rc == 0 ? 0 : rc == CLOISTER_E_NO_MEMORY ? rc : CLOISTER_E_FAILED;
}

/* Trial entries: members at random positions among the padding (a Fisher-Yates shuffle of the
 * member order, its random words drawn at once). */
static int build_trial(uint8_t *env, const struct members *ms, size_t n, size_t total,
                       const uint8_t file_key[ASKY_KEY_LEN])
{
    size_t npad = total - n;
    uint32_t *order = malloc(total * sizeof *order);
    uint64_t *r = malloc(total * sizeof *r);
    uint8_t *rnd = malloc(npad * ASKY_ENTRY_LEN + 1);
    int rc = order && r && rnd ? 0 : CLOISTER_E_NO_MEMORY;
    if (rc == 0)
        rc = crypto_random(r, total * sizeof *r) == 0 &&
                     crypto_random(rnd, npad * ASKY_ENTRY_LEN) == 0
                 ? 0
                 : CLOISTER_E_FAILED;
    for (size_t i = 0; i < total && rc == 0; i++)
        order[i] = i < n ? (uint32_t)i : PADDING;
    for (size_t i = total; i > 1 && rc == 0; i--) {
        size_t j = (size_t)(r[i - 1] % i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    const uint8_t *pad_entry = rnd;
    for (size_t i = 0; i < total && rc == 0; i++) {
        uint8_t *p = env + ASKY_NONCE_LEN + i * ASKY_ENTRY_LEN;
        if (order[i] == PADDING) {
            memcpy(p, pad_entry, ASKY_ENTRY_LEN);
            pad_entry += ASKY_ENTRY_LEN;
        } else {
            rc = seal_of(p, ms, order[i], env, i, NULL, file_key);
        }
    }
    if (rnd)
        crypto_wipe(rnd, npad * ASKY_ENTRY_LEN);
    free(rnd);
    free(r);
    free(order);
    return rc == 0 ? 0 : rc == CLOISTER_E_NO_MEMORY ? rc : CLOISTER_E_FAILED;
}

static int build(enum asky_kind kind, const struct members *ms, size_t n, unsigned pad,
                 const uint8_t file_key[ASKY_KEY_LEN], uint8_t **out, size_t *outlen,
                 struct cloister_err *err)
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
        rc = kind == ASKY_INDEXED ? build_indexed(env, ms, n, total, file_key)
                                  : build_trial(env, ms, n, total, file_key);
    if (rc != 0) {
        free(env);
        return cloister_errf(err, rc, "building an envelope failed");
    }
    *out = env;
    *outlen = len;
    return CLOISTER_OK;
}

int asky_envelope_build_prepared(enum asky_kind kind, const struct asky_member *members, size_t n,
                                 unsigned pad, const uint8_t file_key[ASKY_KEY_LEN], uint8_t **out,
                                 size_t *outlen, struct cloister_err *err)
{
    struct members ms = {.prep = members, .fast = asky_seal_fast()};
    return build(kind, &ms, n, pad, file_key, out, outlen, err);
}

int asky_envelope_build(enum asky_kind kind, const struct asky_user_keys *members, size_t n,
                        unsigned pad, const uint8_t file_key[ASKY_KEY_LEN], uint8_t **out,
                        size_t *outlen, struct cloister_err *err)
{
    struct members ms = {.raw = members};
    return build(kind, &ms, n, pad, file_key, out, outlen, err);
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
