/* x25519.c -- X25519 key agreement (RFC 7748) through EVP_PKEY.
 *
 * Building an EVP_PKEY from a raw private key makes OpenSSL compute its public key, a full
 * scalar multiplication that a key agreement never reads. crypto_x25519 therefore imports the
 * private key together with a placeholder public key (the provider's derive uses only the private
 * scalar and the peer's point), which halves its cost. The key never leaves this file. Shared
 * secrets that are all zero come from low-order points and are refused. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "crypto/internal.h"

static EVP_PKEY *x25519_private_for_derive(const uint8_t sk[CRYPTO_X25519_LEN])
{
    static const uint8_t placeholder_public[CRYPTO_X25519_LEN];
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)sk, CRYPTO_X25519_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)placeholder_public,
                                          CRYPTO_X25519_LEN),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

int crypto_x25519_public(uint8_t pk[CRYPTO_X25519_LEN], const uint8_t sk[CRYPTO_X25519_LEN])
{
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, sk, CRYPTO_X25519_LEN);
    size_t len = CRYPTO_X25519_LEN;
    int ok = key && EVP_PKEY_get_raw_public_key(key, pk, &len) == 1 && len == CRYPTO_X25519_LEN;
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

int crypto_x25519_keypair(uint8_t pk[CRYPTO_X25519_LEN], uint8_t sk[CRYPTO_X25519_LEN])
{
    if (crypto_random(sk, CRYPTO_X25519_LEN) == 0 && crypto_x25519_public(pk, sk) == 0)
        return 0;
    crypto_wipe(sk, CRYPTO_X25519_LEN);
    return -1;
}

int crypto_x25519(uint8_t shared[CRYPTO_X25519_LEN], const uint8_t sk[CRYPTO_X25519_LEN],
                  const uint8_t pk[CRYPTO_X25519_LEN])
{
    static const uint8_t zero[CRYPTO_X25519_LEN];
    EVP_PKEY *ours = x25519_private_for_derive(sk);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pk, CRYPTO_X25519_LEN);
    EVP_PKEY_CTX *ctx = ours ? EVP_PKEY_CTX_new_from_pkey(NULL, ours, NULL) : NULL;
    size_t len = CRYPTO_X25519_LEN;
    /* The peer is not "validated" by OpenSSL: any 32 bytes are a valid u-coordinate, and the
     * one check that matters (low order) is the all-zero test below. */
    int ok = ctx && peer && EVP_PKEY_derive_init(ctx) > 0 &&
             EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) > 0 &&
             EVP_PKEY_derive(ctx, shared, &len) > 0 && len == CRYPTO_X25519_LEN &&
             !crypto_memeq(shared, zero, CRYPTO_X25519_LEN);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(ours);
    if (!ok)
        crypto_wipe(shared, CRYPTO_X25519_LEN);
    return ok ? 0 : -1;
}
