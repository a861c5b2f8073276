/* hpke.c -- RFC 9180 HPKE: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, three AEADs and export-only,
 * in the four modes, written from the RFC's pseudocode on top of crypto.h.
 *
 * Layout follows the RFC: labeled KDF (4), DHKEM (4.1), key schedule (5.1), encryption context
 * with sequence numbers (5.2), secret export (5.3), single-shot APIs (6). The labeled functions
 * hash their inputs as parts, so labels, suite ids and secrets are never copied together into a
 * buffer. Every DH output, PRK, shared secret and key is wiped as soon as it has been used, and a
 * context wipes its keys when freed. */
#include <stdlib.h>
#include <string.h>

#include "crypto/hpke_internal.h"
#include "crypto/internal.h"

#define HPKE_VERSION_LABEL "HPKE-v1"
#define HPKE_KEM_CONTEXT_MAX (HPKE_ENC_LEN + 2 * HPKE_PUBLIC_LEN)
#define HPKE_DH_MAX (2 * CRYPTO_X25519_LEN)

/* suite_id: "KEM" || kem_id for the KEM, "HPKE" || kem_id || kdf_id || aead_id elsewhere. */
struct hpke_suite {
    uint8_t id[10];
    size_t len;
};

static const struct hpke_suite kem_suite = {{'K', 'E', 'M', 0x00, 0x20}, 5};

static struct hpke_suite suite_of(enum hpke_aead aead)
{
    return (struct hpke_suite){
        {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, (uint8_t)(aead >> 8), (uint8_t)aead},
        10};
}

static bool aead_known(enum hpke_aead aead)
{
    return aead == HPKE_AEAD_AES128GCM || aead == HPKE_AEAD_AES256GCM ||
           aead == HPKE_AEAD_CHACHA20POLY1305 || aead == HPKE_AEAD_EXPORT_ONLY;
}

static enum crypto_aead_alg aead_alg(enum hpke_aead aead)
{
    return aead == HPKE_AEAD_AES128GCM   ? CRYPTO_AES128_GCM
           : aead == HPKE_AEAD_AES256GCM ? CRYPTO_AES256_GCM
                                         : CRYPTO_CHACHA20_POLY1305;
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
static void labeled_extract(uint8_t prk[HPKE_SECRET_HASH], const struct hpke_suite *suite,
                            const void *salt, size_t salt_len, const char *label, const void *ikm,
                            size_t ikm_len)
{
    const struct crypto_part parts[] = {
        {HPKE_VERSION_LABEL, sizeof HPKE_VERSION_LABEL - 1},
        {suite->id, suite->len},
        {label, strlen(label)},
        {ikm, ikm_len},
    };
    crypto_hmac_sha256_parts(prk, salt, salt_len, parts, sizeof parts / sizeof parts[0]);
}

/* LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id ||
 * label || info, L). */
static int labeled_expand(uint8_t *out, size_t len, const uint8_t prk[HPKE_SECRET_HASH],
                          const struct hpke_suite *suite, const char *label, const void *info,
                          size_t info_len)
{
    if (len > HPKE_EXPORT_MAX)
        return -1;
    const uint8_t length[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    const struct crypto_part parts[] = {
        {length, sizeof length}, {HPKE_VERSION_LABEL, sizeof HPKE_VERSION_LABEL - 1},
        {suite->id, suite->len}, {label, strlen(label)},
        {info, info_len},
    };
    return crypto_hkdf_expand_parts(out, len, prk, parts, sizeof parts / sizeof parts[0]);
}

/* 4.1 DHKEM(X25519, HKDF-SHA256). */

int hpke_public_from_secret(uint8_t pk[HPKE_PUBLIC_LEN], const uint8_t sk[HPKE_SECRET_LEN])
{
    return crypto_x25519_public(pk, sk);
}

int hpke_keypair(uint8_t pk[HPKE_PUBLIC_LEN], uint8_t sk[HPKE_SECRET_LEN])
{
    return crypto_x25519_keypair(pk, sk);
}

int hpke_derive_keypair(uint8_t pk[HPKE_PUBLIC_LEN], uint8_t sk[HPKE_SECRET_LEN], const void *ikm,
                        size_t ikm_len)
{
    uint8_t prk[HPKE_SECRET_HASH];
    if (!ikm || ikm_len < HPKE_IKM_MIN)
        return -1;
    labeled_extract(prk, &kem_suite, NULL, 0, "dkp_prk", ikm, ikm_len);
    int rc = labeled_expand(sk, HPKE_SECRET_LEN, prk, &kem_suite, "sk", NULL, 0);
    crypto_wipe(prk, sizeof prk);
    if (rc == 0)
        rc = crypto_x25519_public(pk, sk);
    if (rc != 0)
        crypto_wipe(sk, HPKE_SECRET_LEN);
    return rc;
}

static int extract_and_expand(uint8_t shared[HPKE_SECRET_HASH], const uint8_t *dh, size_t dh_len,
                              const uint8_t *kem_context, size_t kem_context_len)
{
    uint8_t prk[HPKE_SECRET_HASH];
    labeled_extract(prk, &kem_suite, NULL, 0, "eae_prk", dh, dh_len);
    int rc = labeled_expand(shared, HPKE_SECRET_HASH, prk, &kem_suite, "shared_secret", kem_context,
                            kem_context_len);
    crypto_wipe(prk, sizeof prk);
    return rc;
}

int hpke_encap_derand(uint8_t shared[HPKE_SECRET_HASH], uint8_t enc[HPKE_ENC_LEN],
                      const uint8_t pk_r[HPKE_PUBLIC_LEN], const uint8_t *sk_s,
                      const uint8_t sk_e[HPKE_SECRET_LEN])
{
    uint8_t dh[HPKE_DH_MAX], kem_context[HPKE_KEM_CONTEXT_MAX];
    size_t dh_len = CRYPTO_X25519_LEN, context_len = HPKE_ENC_LEN + HPKE_PUBLIC_LEN;
    int rc = -1;
    if (crypto_x25519_public(enc, sk_e) != 0 || crypto_x25519(dh, sk_e, pk_r) != 0)
        goto out;
    memcpy(kem_context, enc, HPKE_ENC_LEN);
    memcpy(kem_context + HPKE_ENC_LEN, pk_r, HPKE_PUBLIC_LEN);
    if (sk_s) {
        if (crypto_x25519(dh + dh_len, sk_s, pk_r) != 0 ||
            crypto_x25519_public(kem_context + context_len, sk_s) != 0)
            goto out;
        dh_len += CRYPTO_X25519_LEN;
        context_len += HPKE_PUBLIC_LEN;
    }
    rc = extract_and_expand(shared, dh, dh_len, kem_context, context_len);
out:
    crypto_wipe(dh, sizeof dh);
    return rc;
}

int hpke_decap(uint8_t shared[HPKE_SECRET_HASH], const uint8_t enc[HPKE_ENC_LEN],
               const uint8_t sk_r[HPKE_SECRET_LEN], const uint8_t *pk_s)
{
    uint8_t dh[HPKE_DH_MAX], kem_context[HPKE_KEM_CONTEXT_MAX];
    size_t dh_len = CRYPTO_X25519_LEN, context_len = HPKE_ENC_LEN + HPKE_PUBLIC_LEN;
    int rc = -1;
    if (crypto_x25519(dh, sk_r, enc) != 0 ||
        crypto_x25519_public(kem_context + HPKE_ENC_LEN, sk_r) != 0)
        goto out;
    memcpy(kem_context, enc, HPKE_ENC_LEN);
    if (pk_s) {
        if (crypto_x25519(dh + dh_len, sk_r, pk_s) != 0)
            goto out;
        memcpy(kem_context + context_len, pk_s, HPKE_PUBLIC_LEN);
        dh_len += CRYPTO_X25519_LEN;
        context_len += HPKE_PUBLIC_LEN;
    }
    rc = extract_and_expand(shared, dh, dh_len, kem_context, context_len);
out:
    crypto_wipe(dh, sizeof dh);
    return rc;
}

/* 5.1 Key schedule. */

int hpke_auth_mode(const struct hpke_auth *auth)
{
    if (!auth)
        return HPKE_MODE_BASE;
    bool psk = auth->psk || auth->psk_len, psk_id = auth->psk_id || auth->psk_id_len;
    if (psk != psk_id || (auth->sender_secret && auth->sender_public))
        return -1;
    if (psk && (!auth->psk || auth->psk_len < HPKE_PSK_MIN || !auth->psk_id || !auth->psk_id_len))
        return -1;
    bool sender = auth->sender_secret || auth->sender_public;
    return (sender ? HPKE_MODE_AUTH : HPKE_MODE_BASE) | (psk ? HPKE_MODE_PSK : HPKE_MODE_BASE);
}

void hpke_ctx_free(hpke_ctx *c)
{
    if (!c)
        return;
    crypto_aead_free(c->cipher);
    crypto_wipe(c, sizeof *c);
    free(c);
}

static hpke_ctx *key_schedule(enum hpke_aead aead, enum hpke_mode mode, bool sender,
                              const uint8_t shared[HPKE_SECRET_HASH], const void *info,
                              size_t info_len, const struct hpke_auth *auth)
{
    const struct hpke_suite suite = suite_of(aead);
    const bool psk = mode == HPKE_MODE_PSK || mode == HPKE_MODE_AUTH_PSK;
    uint8_t context[1 + 2 * HPKE_SECRET_HASH], secret[HPKE_SECRET_HASH];
    hpke_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->aead = aead;
    c->mode = mode;
    c->sender = sender;

    context[0] = (uint8_t)mode;
    labeled_extract(context + 1, &suite, NULL, 0, "psk_id_hash", psk ? auth->psk_id : NULL,
                    psk ? auth->psk_id_len : 0);
    labeled_extract(context + 1 + HPKE_SECRET_HASH, &suite, NULL, 0, "info_hash", info, info_len);
    labeled_extract(secret, &suite, shared, HPKE_SECRET_HASH, "secret", psk ? auth->psk : NULL,
                    psk ? auth->psk_len : 0);

    int rc = labeled_expand(c->exporter_secret, HPKE_SECRET_HASH, secret, &suite, "exp", context,
                            sizeof context);
    if (rc == 0 && aead != HPKE_AEAD_EXPORT_ONLY) {
        c->key_len = crypto_aead_key_len(aead_alg(aead));
        if (labeled_expand(c->key, c->key_len, secret, &suite, "key", context, sizeof context) ||
            labeled_expand(c->base_nonce, HPKE_NONCE_LEN, secret, &suite, "base_nonce", context,
                           sizeof context) ||
            !(c->cipher = crypto_aead_new(aead_alg(aead), c->key)))
            rc = -1;
    }
    crypto_wipe(secret, sizeof secret);
    if (rc != 0) {
        hpke_ctx_free(c);
        return NULL;
    }
    return c;
}

hpke_ctx *hpke_sender_new_derand(uint8_t enc[HPKE_ENC_LEN], enum hpke_aead aead,
                                 const uint8_t pk_r[HPKE_PUBLIC_LEN], const void *info,
                                 size_t info_len, const struct hpke_auth *auth,
                                 const uint8_t sk_e[HPKE_SECRET_LEN])
{
    uint8_t shared[HPKE_SECRET_HASH];
    int mode = hpke_auth_mode(auth);
    if (mode < 0 || !aead_known(aead) || (auth && auth->sender_public) ||
        hpke_encap_derand(shared, enc, pk_r, auth ? auth->sender_secret : NULL, sk_e) != 0)
        return NULL;
    hpke_ctx *c = key_schedule(aead, (enum hpke_mode)mode, true, shared, info, info_len, auth);
    crypto_wipe(shared, sizeof shared);
    return c;
}

hpke_ctx *hpke_sender_new(uint8_t enc[HPKE_ENC_LEN], enum hpke_aead aead,
                          const uint8_t pk_r[HPKE_PUBLIC_LEN], const void *info, size_t info_len,
                          const struct hpke_auth *auth)
{
    /* Any 32 random bytes are an X25519 secret key (RFC 7748 clamps them when used). */
    uint8_t sk_e[HPKE_SECRET_LEN];
    hpke_ctx *c = crypto_random(sk_e, sizeof sk_e) == 0
                      ? hpke_sender_new_derand(enc, aead, pk_r, info, info_len, auth, sk_e)
                      : NULL;
    crypto_wipe(sk_e, sizeof sk_e);
    return c;
}

hpke_ctx *hpke_recipient_new(enum hpke_aead aead, const uint8_t enc[HPKE_ENC_LEN],
                             const uint8_t sk_r[HPKE_SECRET_LEN], const void *info, size_t info_len,
                             const struct hpke_auth *auth)
{
    uint8_t shared[HPKE_SECRET_HASH];
    int mode = hpke_auth_mode(auth);
    if (mode < 0 || !aead_known(aead) || (auth && auth->sender_secret) ||
        hpke_decap(shared, enc, sk_r, auth ? auth->sender_public : NULL) != 0)
        return NULL;
    hpke_ctx *c = key_schedule(aead, (enum hpke_mode)mode, false, shared, info, info_len, auth);
    crypto_wipe(shared, sizeof shared);
    return c;
}

/* 5.2 Encryption and decryption. seq is 64 bits, so the last value refused is 2^64 - 1: far
 * below the RFC's 2^96 - 1 limit, and still never reached in practice. */

static int next_nonce(const hpke_ctx *c, uint8_t nonce[HPKE_NONCE_LEN])
{
    if (c->seq == UINT64_MAX)
        return -1;
    memcpy(nonce, c->base_nonce, HPKE_NONCE_LEN);
    for (int i = 0; i < 8; i++)
        nonce[HPKE_NONCE_LEN - 1 - i] ^= (uint8_t)(c->seq >> (8 * i));
    return 0;
}

int hpke_ctx_seal(hpke_ctx *c, const void *aad, size_t aad_len, const void *pt, size_t pt_len,
                  uint8_t *ct)
{
    uint8_t nonce[HPKE_NONCE_LEN];
    if (!c->sender || !c->cipher || next_nonce(c, nonce) != 0 ||
        crypto_aead_ctx_seal(c->cipher, nonce, aad, aad_len, pt, pt_len, ct) != 0)
        return -1;
    c->seq++;
    return 0;
}

int hpke_ctx_open(hpke_ctx *c, const void *aad, size_t aad_len, const void *ct, size_t ct_len,
                  uint8_t *pt)
{
    uint8_t nonce[HPKE_NONCE_LEN];
    if (c->sender || !c->cipher || next_nonce(c, nonce) != 0 ||
        crypto_aead_ctx_open(c->cipher, nonce, aad, aad_len, ct, ct_len, pt) != 0) {
        if (ct_len >= HPKE_TAG_LEN)
            crypto_wipe(pt, ct_len - HPKE_TAG_LEN);
        return -1;
    }
    c->seq++;
    return 0;
}

/* 5.3 Secret export. */

int hpke_ctx_export(const hpke_ctx *c, uint8_t *out, size_t len, const void *exporter_context,
                    size_t context_len)
{
    const struct hpke_suite suite = suite_of(c->aead);
    return labeled_expand(out, len, c->exporter_secret, &suite, "sec", exporter_context,
                          context_len);
}

enum hpke_aead hpke_ctx_aead(const hpke_ctx *c)
{
    return c->aead;
}

enum hpke_mode hpke_ctx_mode(const hpke_ctx *c)
{
    return c->mode;
}

uint64_t hpke_ctx_seq(const hpke_ctx *c)
{
    return c->seq;
}

/* 6 Single-shot APIs. */

int hpke_seal(uint8_t enc[HPKE_ENC_LEN], uint8_t *ct, enum hpke_aead aead,
              const uint8_t pk_r[HPKE_PUBLIC_LEN], const void *info, size_t info_len,
              const void *aad, size_t aad_len, const void *pt, size_t pt_len,
              const struct hpke_auth *auth)
{
    hpke_ctx *c = hpke_sender_new(enc, aead, pk_r, info, info_len, auth);
    int rc = c ? hpke_ctx_seal(c, aad, aad_len, pt, pt_len, ct) : -1;
    hpke_ctx_free(c);
    return rc;
}

int hpke_open(uint8_t *pt, enum hpke_aead aead, const uint8_t enc[HPKE_ENC_LEN],
              const uint8_t sk_r[HPKE_SECRET_LEN], const void *info, size_t info_len,
              const void *aad, size_t aad_len, const void *ct, size_t ct_len,
              const struct hpke_auth *auth)
{
    hpke_ctx *c = hpke_recipient_new(aead, enc, sk_r, info, info_len, auth);
    int rc = c ? hpke_ctx_open(c, aad, aad_len, ct, ct_len, pt) : -1;
    hpke_ctx_free(c);
    return rc;
}
