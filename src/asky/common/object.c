/* object.c -- A-Sky file objects (format in include/cloister/asky.h), written and read as
 * streams: one chunk in memory at a time. The chunk AAD is the SHA-256 of the header and the
 * envelope, so an envelope cannot be swapped under another object's chunks; the nonce carries
 * the chunk's index and a last-chunk flag, so chunks cannot be reordered, dropped or cut off. */
#include <cloister/asky.h>
#include <cloister/crypto.h>

#include <stdlib.h>
#include <string.h>

#define OBJECT_VERSION 1
#define ENVELOPE_MAX ((size_t)ASKY_NONCE_LEN + 2 * (size_t)ASKY_MEMBERS_MAX * 64)

static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void chunk_nonce(uint8_t n[ASKY_NONCE_LEN], uint64_t index, int last)
{
    be32_put(n, (uint32_t)(index >> 32));
    be32_put(n + 4, (uint32_t)index);
    be32_put(n + 8, last ? 1 : 0);
}

static int object_aad(uint8_t aad[CRYPTO_SHA256_LEN], const uint8_t *hdr, const uint8_t *env,
                      size_t envlen, struct cloister_err *err)
{
    crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA256);
    if (!h)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    crypto_hash_update(h, hdr, ASKY_HEADER_LEN);
    crypto_hash_update(h, env, envlen);
    crypto_hash_final(h, aad);
    return CLOISTER_OK;
}

/* Reads up to cap bytes (fewer only at the end of the stream). */
static size_t read_full(FILE *in, uint8_t *buf, size_t cap)
{
    size_t got = 0, k;
    while (got < cap && (k = fread(buf + got, 1, cap - got, in)) > 0)
        got += k;
    return got;
}

static bool at_end(FILE *in)
{
    int c = fgetc(in);
    if (c == EOF)
        return true;
    ungetc(c, in);
    return false;
}

int asky_object_write(FILE *out, enum asky_kind kind, const uint8_t *env, size_t envlen,
                      const uint8_t file_key[ASKY_KEY_LEN], uint32_t chunk, FILE *in,
                      struct cloister_err *err)
{
    if (chunk == 0 || chunk > ASKY_CHUNK_MAX || envlen > ENVELOPE_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "bad chunk size or envelope length");
    uint8_t hdr[ASKY_HEADER_LEN] = {'C', 'A', 'S', 'K', OBJECT_VERSION, (uint8_t)kind};
    be32_put(hdr + 6, chunk);
    be32_put(hdr + 10, (uint32_t)envlen);
    uint8_t aad[CRYPTO_SHA256_LEN], nonce[ASKY_NONCE_LEN];
    int rc = object_aad(aad, hdr, env, envlen, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (fwrite(hdr, 1, sizeof hdr, out) != sizeof hdr || fwrite(env, 1, envlen, out) != envlen)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "writing the object failed");
    uint8_t *buf = malloc((size_t)chunk + CRYPTO_AEAD_TAG_LEN);
    crypto_aead *a = crypto_aead_new(CRYPTO_AES256_GCM, file_key);
    if (!buf || !a)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    for (uint64_t i = 0; rc == CLOISTER_OK; i++) {
        size_t got = read_full(in, buf, chunk);
        if (ferror(in)) {
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "reading the file failed");
            break;
        }
        int last = got < chunk || at_end(in);
        chunk_nonce(nonce, i, last);
        crypto_aead_ctx_seal(a, nonce, aad, sizeof aad, buf, got, buf);
        if (fwrite(buf, 1, got + CRYPTO_AEAD_TAG_LEN, out) != got + CRYPTO_AEAD_TAG_LEN)
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "writing the object failed");
        if (last)
            break;
    }
    crypto_aead_free(a);
    free(buf);
    return rc;
}

/* Reads and checks the header and envelope; recovers the file key. */
static int read_head(FILE *in, const struct asky_user_keys *k, uint8_t hdr[ASKY_HEADER_LEN],
                     uint8_t aad[CRYPTO_SHA256_LEN], uint8_t file_key[ASKY_KEY_LEN],
                     struct cloister_err *err)
{
    if (read_full(in, hdr, ASKY_HEADER_LEN) != ASKY_HEADER_LEN || memcmp(hdr, "CASK", 4) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "not an A-Sky object");
    if (hdr[4] != OBJECT_VERSION || (hdr[5] != ASKY_INDEXED && hdr[5] != ASKY_TRIAL))
        return cloister_errf(err, CLOISTER_E_INVALID, "unsupported object version or kind");
    uint32_t chunk = be32_get(hdr + 6), envlen = be32_get(hdr + 10);
    if (chunk == 0 || chunk > ASKY_CHUNK_MAX || envlen > ENVELOPE_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "object header out of bounds");
    uint8_t *env = malloc(envlen ? envlen : 1);
    if (!env)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the envelope");
    int rc = CLOISTER_OK;
    if (read_full(in, env, envlen) != envlen)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "truncated object (envelope)");
    else
        rc = asky_envelope_open((enum asky_kind)hdr[5], env, envlen, k, file_key, err);
    if (rc == CLOISTER_OK)
        rc = object_aad(aad, hdr, env, envlen, err);
    free(env);
    return rc;
}

int asky_object_read(FILE *in, const struct asky_user_keys *k, FILE *out, struct cloister_err *err)
{
    uint8_t hdr[ASKY_HEADER_LEN], aad[CRYPTO_SHA256_LEN], key[ASKY_KEY_LEN], nonce[ASKY_NONCE_LEN];
    int rc = read_head(in, k, hdr, aad, key, err);
    if (rc != CLOISTER_OK)
        return rc;
    size_t cap = (size_t)be32_get(hdr + 6) + CRYPTO_AEAD_TAG_LEN;
    uint8_t *buf = malloc(cap);
    crypto_aead *a = crypto_aead_new(CRYPTO_AES256_GCM, key);
    crypto_wipe(key, sizeof key);
    if (!buf || !a)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    for (uint64_t i = 0; rc == CLOISTER_OK; i++) {
        size_t got = read_full(in, buf, cap);
        int last = got < cap || at_end(in);
        chunk_nonce(nonce, i, last);
        if (ferror(in))
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "reading the object failed");
        else if (got < CRYPTO_AEAD_TAG_LEN ||
                 crypto_aead_ctx_open(a, nonce, aad, sizeof aad, buf, got, buf) != 0)
            rc = cloister_errf(err, CLOISTER_E_DENIED,
                               "object chunk %llu fails authentication (tampered or truncated)",
                               (unsigned long long)i);
        else if (fwrite(buf, 1, got - CRYPTO_AEAD_TAG_LEN, out) != got - CRYPTO_AEAD_TAG_LEN)
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "writing the plaintext failed");
        if (last)
            break;
    }
    crypto_aead_free(a);
    free(buf);
    return rc;
}
