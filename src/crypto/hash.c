/* hash.c -- SHA-256/512, HMAC-SHA256 and HKDF-SHA256 over pre-fetched EVP digests.
 *
 * HMAC is written out (RFC 2104) on top of the digest rather than taken from EVP_MAC: it needs
 * no fetch and no parameter building per call, and it can hash its message as a list of parts
 * (see internal.h). HKDF (RFC 5869) is the two loops of the RFC over that HMAC. Every padded key
 * and intermediate block is wiped before returning. */
#include <stdlib.h>
#include <string.h>

#include "crypto/internal.h"

#define SHA256_BLOCK 64

struct crypto_hash {
    EVP_MD_CTX *ctx;
};

static const EVP_MD *hash_md(enum crypto_hash_alg alg)
{
    const struct crypto_algs *a = crypto_algs();
    const EVP_MD *md = alg == CRYPTO_HASH_SHA512 ? a->sha512 : a->sha256;
    if (!md)
        crypto_fatal();
    return md;
}

static void digest_parts(const EVP_MD *md, uint8_t *out, const struct crypto_part *parts,
                         size_t nparts)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex2(ctx, md, NULL))
        crypto_fatal();
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].len && !EVP_DigestUpdate(ctx, parts[i].data, parts[i].len))
            crypto_fatal();
    if (!EVP_DigestFinal_ex(ctx, out, NULL))
        crypto_fatal();
    EVP_MD_CTX_free(ctx);
}

void crypto_sha256(uint8_t out[CRYPTO_SHA256_LEN], const void *in, size_t len)
{
    struct crypto_part part = {in, len};
    digest_parts(hash_md(CRYPTO_HASH_SHA256), out, &part, 1);
}

void crypto_sha512(uint8_t out[CRYPTO_SHA512_LEN], const void *in, size_t len)
{
    struct crypto_part part = {in, len};
    digest_parts(hash_md(CRYPTO_HASH_SHA512), out, &part, 1);
}

crypto_hash *crypto_hash_new(enum crypto_hash_alg alg)
{
    if (alg != CRYPTO_HASH_SHA256 && alg != CRYPTO_HASH_SHA512)
        return NULL;
    crypto_hash *h = malloc(sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || !EVP_DigestInit_ex2(h->ctx, hash_md(alg), NULL)) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void crypto_hash_update(crypto_hash *h, const void *in, size_t len)
{
    if (len && !EVP_DigestUpdate(h->ctx, in, len))
        crypto_fatal();
}

void crypto_hash_final(crypto_hash *h, uint8_t *out)
{
    if (!EVP_DigestFinal_ex(h->ctx, out, NULL))
        crypto_fatal();
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void crypto_hmac_sha256_parts(uint8_t out[CRYPTO_SHA256_LEN], const void *key, size_t keylen,
                              const struct crypto_part *parts, size_t nparts)
{
    uint8_t k0[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK], inner[CRYPTO_SHA256_LEN];
    if (keylen > SHA256_BLOCK)
        crypto_sha256(k0, key, keylen);
    else if (keylen)
        memcpy(k0, key, keylen);

    struct crypto_part in[CRYPTO_PARTS_MAX + 1];
    if (nparts > CRYPTO_PARTS_MAX)
        crypto_fatal();
    for (size_t i = 0; i < SHA256_BLOCK; i++)
        pad[i] = k0[i] ^ 0x36;
    in[0] = (struct crypto_part){pad, sizeof pad};
    memcpy(in + 1, parts, nparts * sizeof *parts);
    digest_parts(hash_md(CRYPTO_HASH_SHA256), inner, in, nparts + 1);

    for (size_t i = 0; i < SHA256_BLOCK; i++)
        pad[i] = k0[i] ^ 0x5c;
    in[1] = (struct crypto_part){inner, sizeof inner};
    digest_parts(hash_md(CRYPTO_HASH_SHA256), out, in, 2);

    crypto_wipe(k0, sizeof k0);
    crypto_wipe(pad, sizeof pad);
    crypto_wipe(inner, sizeof inner);
}

void crypto_hmac_sha256(uint8_t out[CRYPTO_SHA256_LEN], const void *key, size_t keylen,
                        const void *msg, size_t len)
{
    struct crypto_part part = {msg, len};
    crypto_hmac_sha256_parts(out, key, keylen, &part, 1);
}

void crypto_hkdf_extract(uint8_t prk[CRYPTO_SHA256_LEN], const void *salt, size_t saltlen,
                         const void *ikm, size_t ikmlen)
{
    /* An empty salt is HashLen zero bytes (RFC 5869 2.2): HMAC pads keys with zeros anyway. */
    crypto_hmac_sha256(prk, salt, saltlen, ikm, ikmlen);
}

int crypto_hkdf_expand_parts(uint8_t *out, size_t outlen, const uint8_t prk[CRYPTO_SHA256_LEN],
                             const struct crypto_part *info, size_t ninfo)
{
    if (outlen > 255 * CRYPTO_SHA256_LEN || ninfo + 2 > CRYPTO_PARTS_MAX)
        return -1;
    uint8_t t[CRYPTO_SHA256_LEN];
    struct crypto_part in[CRYPTO_PARTS_MAX];
    uint8_t counter = 0;
    size_t done = 0;
    in[0] = (struct crypto_part){t, 0}; /* T(0) is empty */
    memcpy(in + 1, info, ninfo * sizeof *info);
    in[ninfo + 1] = (struct crypto_part){&counter, 1};
    while (done < outlen) {
        counter++;
        crypto_hmac_sha256_parts(t, prk, CRYPTO_SHA256_LEN, in, ninfo + 2);
        in[0].len = sizeof t;
        size_t n = outlen - done < sizeof t ? outlen - done : sizeof t;
        memcpy(out + done, t, n);
        done += n;
    }
    crypto_wipe(t, sizeof t);
    return 0;
}

int crypto_hkdf_expand(uint8_t *out, size_t outlen, const uint8_t prk[CRYPTO_SHA256_LEN],
                       const void *info, size_t infolen)
{
    struct crypto_part part = {info, infolen};
    return crypto_hkdf_expand_parts(out, outlen, prk, &part, 1);
}

int crypto_hkdf(uint8_t *out, size_t outlen, const void *salt, size_t saltlen, const void *ikm,
                size_t ikmlen, const void *info, size_t infolen)
{
    uint8_t prk[CRYPTO_SHA256_LEN];
    crypto_hkdf_extract(prk, salt, saltlen, ikm, ikmlen);
    int rc = crypto_hkdf_expand(out, outlen, prk, info, infolen);
    crypto_wipe(prk, sizeof prk);
    return rc;
}
