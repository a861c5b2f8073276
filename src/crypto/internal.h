/* internal.h -- what the files of src/crypto/ share and nobody else needs.
 *
 * Algorithms are fetched from OpenSSL once per process (crypto_algs), because a fetch by name
 * costs a locked lookup that would otherwise dominate small operations. HMAC and HKDF also take
 * their input as a list of parts, so that HPKE's labeled inputs ("HPKE-v1" || suite || label ||
 * data) are hashed in place instead of being concatenated into a temporary copy of secrets. */
#ifndef CLOISTER_CRYPTO_INTERNAL_H
#define CLOISTER_CRYPTO_INTERNAL_H

#include <cloister/crypto.h>

#include <openssl/evp.h>

struct crypto_algs {
    EVP_MD *sha256, *sha512;
    EVP_CIPHER *aes128_gcm, *aes256_gcm, *chacha20_poly1305;
};

/* The fetched algorithms; a member is NULL if the provider lacks it. Thread-safe. */
const struct crypto_algs *crypto_algs(void);

/* Ends the process on an impossible failure (OpenSSL out of memory inside a function that has
 * no error return): a wrong digest must never be returned silently. */
_Noreturn void crypto_fatal(void);

/* One piece of a message that is hashed as the concatenation of its parts. */
struct crypto_part {
    const void *data;
    size_t len;
};
#define CRYPTO_PARTS_MAX 10

void crypto_hmac_sha256_parts(uint8_t out[CRYPTO_SHA256_LEN], const void *key, size_t keylen,
                              const struct crypto_part *parts, size_t nparts);
/* HKDF-Expand whose info is the concatenation of at most CRYPTO_PARTS_MAX - 2 parts. */
int crypto_hkdf_expand_parts(uint8_t *out, size_t outlen, const uint8_t prk[CRYPTO_SHA256_LEN],
                             const struct crypto_part *info, size_t ninfo);

#endif
