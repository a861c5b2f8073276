/* ed25519.c -- Ed25519 signatures (RFC 8032, pure variant) through EVP_DigestSign/Verify.
 *
 * A private key is its 32-byte seed. Loading a seed costs a scalar multiplication (OpenSSL
 * derives the public key, which every signature hashes), so crypto_signer keeps the loaded key
 * for callers that sign repeatedly. OpenSSL's verifier rejects non-canonical S and points that do
 * not decode. */
#include <stdlib.h>

#include "crypto/internal.h"

struct crypto_signer {
    EVP_PKEY *key;
};

static EVP_PKEY *ed25519_private(const uint8_t seed[CRYPTO_ED25519_SEED_LEN])
{
    return EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, CRYPTO_ED25519_SEED_LEN);
}

static int sign_with(EVP_PKEY *key, uint8_t sig[CRYPTO_ED25519_SIG_LEN], const void *msg,
                     size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = CRYPTO_ED25519_SIG_LEN;
    int ok = ctx && EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, key, NULL) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, msg ? msg : "", len) == 1 &&
             siglen == CRYPTO_ED25519_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

int crypto_ed25519_public(uint8_t pk[CRYPTO_ED25519_PUBLIC_LEN],
                          const uint8_t seed[CRYPTO_ED25519_SEED_LEN])
{
    EVP_PKEY *key = ed25519_private(seed);
    size_t len = CRYPTO_ED25519_PUBLIC_LEN;
    int ok = key && EVP_PKEY_get_raw_public_key(key, pk, &len) == 1 &&
             len == CRYPTO_ED25519_PUBLIC_LEN;
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

int crypto_ed25519_keypair(uint8_t pk[CRYPTO_ED25519_PUBLIC_LEN],
                           uint8_t seed[CRYPTO_ED25519_SEED_LEN])
{
    if (crypto_random(seed, CRYPTO_ED25519_SEED_LEN) == 0 && crypto_ed25519_public(pk, seed) == 0)
        return 0;
    crypto_wipe(seed, CRYPTO_ED25519_SEED_LEN);
    return -1;
}

int crypto_ed25519_sign(uint8_t sig[CRYPTO_ED25519_SIG_LEN], const void *msg, size_t len,
                        const uint8_t seed[CRYPTO_ED25519_SEED_LEN])
{
    EVP_PKEY *key = ed25519_private(seed);
    int rc = key ? sign_with(key, sig, msg, len) : -1;
    EVP_PKEY_free(key);
    return rc;
}

int crypto_ed25519_verify(const uint8_t sig[CRYPTO_ED25519_SIG_LEN], const void *msg, size_t len,
                          const uint8_t pk[CRYPTO_ED25519_PUBLIC_LEN])
{
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pk,
                                                   CRYPTO_ED25519_PUBLIC_LEN);
    EVP_MD_CTX *ctx = key ? EVP_MD_CTX_new() : NULL;
    int ok = ctx && EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, key, NULL) == 1 &&
             EVP_DigestVerify(ctx, sig, CRYPTO_ED25519_SIG_LEN, msg ? msg : "", len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

crypto_signer *crypto_signer_new(const uint8_t seed[CRYPTO_ED25519_SEED_LEN])
{
    crypto_signer *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    s->key = ed25519_private(seed);
    if (!s->key) {
        free(s);
        return NULL;
    }
    return s;
}

int crypto_signer_sign(crypto_signer *s, uint8_t sig[CRYPTO_ED25519_SIG_LEN], const void *msg,
                       size_t len)
{
    return sign_with(s->key, sig, msg, len);
}

void crypto_signer_free(crypto_signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key); /* the provider cleanses the private key */
    free(s);
}
