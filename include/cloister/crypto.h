/* crypto.h -- cloister's crypto layer: small, hard-to-misuse functions over OpenSSL 3 EVP.
 *
 * Conventions (libsodium is the model): fixed-size keys and outputs are arrays of the sizes
 * below; functions return 0 on success and -1 on failure (a failed AEAD open, a bad signature,
 * an OpenSSL error) and never print. Keys come only from the OS CSPRNG (crypto_random).
 * Secrets are wiped with crypto_wipe and compared with crypto_memeq only. */
#ifndef CLOISTER_CRYPTO_H
#define CLOISTER_CRYPTO_H

#include <cloister/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA512_LEN 64
#define CRYPTO_AEAD_NONCE_LEN 12
#define CRYPTO_AEAD_TAG_LEN 16
#define CRYPTO_AEAD_KEY_MAX 32
#define CRYPTO_X25519_LEN 32
#define CRYPTO_ED25519_PUBLIC_LEN 32
#define CRYPTO_ED25519_SEED_LEN 32
#define CRYPTO_ED25519_SIG_LEN 64

/* Random bytes from the OS CSPRNG (getrandom). */
CLOISTER_API CLOISTER_MUST_CHECK int crypto_random(void *buf, size_t len);
/* Constant-time equality; true when the len bytes match. */
CLOISTER_API CLOISTER_MUST_CHECK bool crypto_memeq(const void *a, const void *b, size_t len);
/* Zeroization the compiler cannot remove. */
CLOISTER_API void crypto_wipe(void *p, size_t len);

/* Hashes, one-shot and incremental. */
CLOISTER_API void crypto_sha256(uint8_t out[CRYPTO_SHA256_LEN], const void *in, size_t len);
CLOISTER_API void crypto_sha512(uint8_t out[CRYPTO_SHA512_LEN], const void *in, size_t len);
typedef struct crypto_hash crypto_hash;
enum crypto_hash_alg { CRYPTO_HASH_SHA256, CRYPTO_HASH_SHA512 };
CLOISTER_API crypto_hash *crypto_hash_new(enum crypto_hash_alg alg);
CLOISTER_API void crypto_hash_update(crypto_hash *h, const void *in, size_t len);
/* Writes 32 or 64 bytes and frees h. */
CLOISTER_API void crypto_hash_final(crypto_hash *h, uint8_t *out);

/* HMAC-SHA256 and HKDF-SHA256 (RFC 5869). */
CLOISTER_API void crypto_hmac_sha256(uint8_t out[CRYPTO_SHA256_LEN], const void *key, size_t keylen,
                                     const void *msg, size_t len);
CLOISTER_API void crypto_hkdf_extract(uint8_t prk[CRYPTO_SHA256_LEN], const void *salt,
                                      size_t saltlen, const void *ikm, size_t ikmlen);
/* outlen at most 255 * 32. */
CLOISTER_API CLOISTER_MUST_CHECK int crypto_hkdf_expand(uint8_t *out, size_t outlen,
                                                        const uint8_t prk[CRYPTO_SHA256_LEN],
                                                        const void *info, size_t infolen);
/* Extract then expand. */
CLOISTER_API CLOISTER_MUST_CHECK int crypto_hkdf(uint8_t *out, size_t outlen, const void *salt,
                                                 size_t saltlen, const void *ikm, size_t ikmlen,
                                                 const void *info, size_t infolen);

/* AEAD with associated data. Ciphertext = encrypted plaintext || 16-byte tag. */
enum crypto_aead_alg {
    CRYPTO_AES128_GCM,
    CRYPTO_AES256_GCM,
    CRYPTO_CHACHA20_POLY1305,
};
CLOISTER_API size_t crypto_aead_key_len(enum crypto_aead_alg alg);
/* One-shot: ct has room for ptlen + 16 bytes; pt has room for ctlen - 16. open returns -1 when
 * the tag does not verify (pt is then wiped). In-place (ct == pt) is allowed. */
CLOISTER_API int crypto_aead_seal(enum crypto_aead_alg alg, const uint8_t *key,
                                  const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const void *aad,
                                  size_t aadlen, const void *pt, size_t ptlen, uint8_t *ct);
CLOISTER_API CLOISTER_MUST_CHECK int crypto_aead_open(enum crypto_aead_alg alg, const uint8_t *key,
                                                      const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                                                      const void *aad, size_t aadlen,
                                                      const void *ct, size_t ctlen, uint8_t *pt);
/* A keyed context for hot paths (the key schedule is done once). Not thread-safe: one per
 * thread. */
typedef struct crypto_aead crypto_aead;
CLOISTER_API crypto_aead *crypto_aead_new(enum crypto_aead_alg alg, const uint8_t *key);
CLOISTER_API int crypto_aead_ctx_seal(crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                                      const void *aad, size_t aadlen, const void *pt, size_t ptlen,
                                      uint8_t *ct);
CLOISTER_API CLOISTER_MUST_CHECK int
crypto_aead_ctx_open(crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const void *aad,
                     size_t aadlen, const void *ct, size_t ctlen, uint8_t *pt);
CLOISTER_API void crypto_aead_free(crypto_aead *a); /* wipes the key schedule */

/* X25519 (RFC 7748). crypto_x25519 fails on an all-zero shared secret (a low-order point). */
CLOISTER_API int crypto_x25519_keypair(uint8_t pk[CRYPTO_X25519_LEN],
                                       uint8_t sk[CRYPTO_X25519_LEN]);
CLOISTER_API int crypto_x25519_public(uint8_t pk[CRYPTO_X25519_LEN],
                                      const uint8_t sk[CRYPTO_X25519_LEN]);
CLOISTER_API CLOISTER_MUST_CHECK int crypto_x25519(uint8_t shared[CRYPTO_X25519_LEN],
                                                   const uint8_t sk[CRYPTO_X25519_LEN],
                                                   const uint8_t pk[CRYPTO_X25519_LEN]);

/* Ed25519 (RFC 8032). A private key is its 32-byte seed. */
CLOISTER_API int crypto_ed25519_keypair(uint8_t pk[CRYPTO_ED25519_PUBLIC_LEN],
                                        uint8_t seed[CRYPTO_ED25519_SEED_LEN]);
CLOISTER_API int crypto_ed25519_public(uint8_t pk[CRYPTO_ED25519_PUBLIC_LEN],
                                       const uint8_t seed[CRYPTO_ED25519_SEED_LEN]);
CLOISTER_API int crypto_ed25519_sign(uint8_t sig[CRYPTO_ED25519_SIG_LEN], const void *msg,
                                     size_t len, const uint8_t seed[CRYPTO_ED25519_SEED_LEN]);
/* 0 when sig is a valid signature of msg under pk. */
CLOISTER_API CLOISTER_MUST_CHECK int
crypto_ed25519_verify(const uint8_t sig[CRYPTO_ED25519_SIG_LEN], const void *msg, size_t len,
                      const uint8_t pk[CRYPTO_ED25519_PUBLIC_LEN]);
/* A loaded signing key for hot paths (avoids re-deriving the public key per signature). */
typedef struct crypto_signer crypto_signer;
CLOISTER_API crypto_signer *crypto_signer_new(const uint8_t seed[CRYPTO_ED25519_SEED_LEN]);
CLOISTER_API int crypto_signer_sign(crypto_signer *s, uint8_t sig[CRYPTO_ED25519_SIG_LEN],
                                    const void *msg, size_t len);
CLOISTER_API void crypto_signer_free(crypto_signer *s);

/* Known-answer self-test of every primitive above; 0 when all pass. On failure *what names the
 * first primitive that failed. */
CLOISTER_API CLOISTER_MUST_CHECK int crypto_selftest(const char **what);

#endif
