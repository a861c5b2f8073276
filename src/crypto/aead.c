/* aead.c -- AES-GCM and ChaCha20-Poly1305 through EVP, one-shot and keyed.
 *
 * A crypto_aead holds one EVP_CIPHER_CTX initialised with the key, so the AES key schedule (and
 * GHASH table) is computed once; each message only re-initialises the context with its nonce and
 * direction (EVP_CipherInit_ex2 with a NULL key keeps the schedule). The one-shot functions are
 * the same code on a context that lives for one call. EVP counts lengths in int, so long inputs
 * are fed in chunks. A failed open wipes the output so no unauthenticated plaintext escapes. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/internal.h"

#define AEAD_CHUNK (1u << 30)

struct crypto_aead {
    EVP_CIPHER_CTX *ctx;
};

static const EVP_CIPHER *aead_cipher(enum crypto_aead_alg alg)
{
    const struct crypto_algs *a = crypto_algs();
    switch (alg) {
    case CRYPTO_AES128_GCM: return a->aes128_gcm;
    case CRYPTO_AES256_GCM: return a->aes256_gcm;
    case CRYPTO_CHACHA20_POLY1305: return a->chacha20_poly1305;
    }
    return NULL;
}

size_t crypto_aead_key_len(enum crypto_aead_alg alg)
{
    switch (alg) {
    case CRYPTO_AES128_GCM: return 16;
    case CRYPTO_AES256_GCM: return 32;
    case CRYPTO_CHACHA20_POLY1305: return 32;
    }
    return 0;
}

static int aead_init(struct crypto_aead *a, enum crypto_aead_alg alg, const uint8_t *key)
{
    const EVP_CIPHER *cipher = aead_cipher(alg);
    a->ctx = cipher ? EVP_CIPHER_CTX_new() : NULL;
    if (!a->ctx)
        return -1;
    if (!EVP_CipherInit_ex2(a->ctx, cipher, key, NULL, 1, NULL)) {
        EVP_CIPHER_CTX_free(a->ctx);
        a->ctx = NULL;
        return -1;
    }
    return 0;
}

static void aead_clear(struct crypto_aead *a)
{
    EVP_CIPHER_CTX_free(a->ctx); /* the provider cleanses its key schedule */
    a->ctx = NULL;
}

/* Feeds len bytes (out NULL for associated data). */
static int aead_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
    while (len > 0) {
        int n = (int)(len < AEAD_CHUNK ? len : AEAD_CHUNK), outl;
        if (!EVP_CipherUpdate(ctx, out, &outl, in, n) || (out && outl != n))
            return -1;
        in += n;
        if (out)
            out += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One message through ctx: encrypt (tag written) or decrypt (tag checked). */
static int aead_run(EVP_CIPHER_CTX *ctx, int encrypt, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                    const void *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t tag[CRYPTO_AEAD_TAG_LEN])
{
    uint8_t last[EVP_MAX_BLOCK_LENGTH]; /* GCM and ChaCha20-Poly1305 emit nothing at the end */
    int outl;
    if (!EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, encrypt, NULL))
        return -1;
    if (!encrypt && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CRYPTO_AEAD_TAG_LEN, tag))
        return -1;
    if (aead_update(ctx, NULL, aad, aadlen) || aead_update(ctx, out, in, len))
        return -1;
    if (EVP_CipherFinal_ex(ctx, last, &outl) != 1 || outl != 0)
        return -1;
    if (encrypt && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CRYPTO_AEAD_TAG_LEN, tag))
        return -1;
    return 0;
}

static int aead_seal(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                     const void *aad, size_t aadlen, const void *pt, size_t ptlen, uint8_t *ct)
{
    if (ptlen > SIZE_MAX - CRYPTO_AEAD_TAG_LEN)
        return -1;
    return aead_run(a->ctx, 1, nonce, aad, aadlen, pt, ptlen, ct, ct + ptlen);
}

static int aead_open(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                     const void *aad, size_t aadlen, const void *ct, size_t ctlen, uint8_t *pt)
{
    if (ctlen < CRYPTO_AEAD_TAG_LEN)
        return -1;
    size_t ptlen = ctlen - CRYPTO_AEAD_TAG_LEN;
    uint8_t tag[CRYPTO_AEAD_TAG_LEN];
    memcpy(tag, (const uint8_t *)ct + ptlen, sizeof tag); /* before an in-place decrypt */
    if (aead_run(a->ctx, 0, nonce, aad, aadlen, ct, ptlen, pt, tag) != 0) {
        crypto_wipe(pt, ptlen);
        return -1;
    }
    return 0;
}

int crypto_aead_seal(enum crypto_aead_alg alg, const uint8_t *key,
                     const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const void *aad, size_t aadlen,
                     const void *pt, size_t ptlen, uint8_t *ct)
{
    struct crypto_aead a;
    if (aead_init(&a, alg, key) != 0)
        return -1;
    int rc = aead_seal(&a, nonce, aad, aadlen, pt, ptlen, ct);
    aead_clear(&a);
    return rc;
}

int crypto_aead_open(enum crypto_aead_alg alg, const uint8_t *key,
                     const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const void *aad, size_t aadlen,
                     const void *ct, size_t ctlen, uint8_t *pt)
{
    struct crypto_aead a;
    if (aead_init(&a, alg, key) != 0)
        return -1;
    int rc = aead_open(&a, nonce, aad, aadlen, ct, ctlen, pt);
    aead_clear(&a);
    return rc;
}

crypto_aead *crypto_aead_new(enum crypto_aead_alg alg, const uint8_t *key)
{
    crypto_aead *a = malloc(sizeof *a);
    if (a && aead_init(a, alg, key) != 0) {
        free(a);
        a = NULL;
    }
    return a;
}

int crypto_aead_ctx_seal(crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                         const void *aad, size_t aadlen, const void *pt, size_t ptlen, uint8_t *ct)
{
    return aead_seal(a, nonce, aad, aadlen, pt, ptlen, ct);
}

int crypto_aead_ctx_open(crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                         const void *aad, size_t aadlen, const void *ct, size_t ctlen, uint8_t *pt)
{
    return aead_open(a, nonce, aad, aadlen, ct, ctlen, pt);
}

void crypto_aead_free(crypto_aead *a)
{
    if (!a)
        return;
    aead_clear(a);
    free(a);
}
