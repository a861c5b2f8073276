/* hpke.h -- Hybrid Public Key Encryption (RFC 9180) for cloister.
 *
 * One KEM and one KDF: DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256; the AEAD is chosen per use
 * (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, or export-only). All four modes are supported;
 * the mode is never passed, it follows from what the caller supplies in struct hpke_auth:
 *
 *     nothing          base       anyone can encrypt to the recipient
 *     sender key       auth       the recipient learns the sender held its secret key
 *     psk + psk_id     psk        both hold a pre-shared key
 *     both             auth_psk
 *
 * A sender and a recipient that disagree on the mode, the info or the keys derive different
 * keys, so every open fails. Conventions as in crypto.h: 0 on success, -1 on failure, no
 * printing, every secret wiped.
 *
 *     uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN], enc[HPKE_ENC_LEN];
 *     hpke_keypair(pk, sk);
 *     hpke_ctx *s = hpke_sender_new(enc, HPKE_AEAD_AES128GCM, pk, "app v1", 6, NULL);
 *     hpke_ctx_seal(s, aad, aadlen, msg, len, ct);            ct has len + HPKE_TAG_LEN bytes
 *     hpke_ctx *r = hpke_recipient_new(HPKE_AEAD_AES128GCM, enc, sk, "app v1", 6, NULL);
 *     hpke_ctx_open(r, aad, aadlen, ct, len + HPKE_TAG_LEN, msg);
 *
 * A context numbers its messages: the n-th seal must be opened as the n-th open (nonce =
 * base_nonce XOR n). Contexts are not thread-safe. */
#ifndef CLOISTER_HPKE_H
#define CLOISTER_HPKE_H

#include <cloister/export.h>

#include <stddef.h>
#include <stdint.h>

#define HPKE_KEM_X25519_HKDF_SHA256 0x0020
#define HPKE_KDF_HKDF_SHA256 0x0001

enum hpke_aead {
    HPKE_AEAD_AES128GCM = 0x0001,
    HPKE_AEAD_AES256GCM = 0x0002,
    HPKE_AEAD_CHACHA20POLY1305 = 0x0003,
    HPKE_AEAD_EXPORT_ONLY = 0xFFFF, /* no seal/open, only hpke_ctx_export */
};

enum hpke_mode {
    HPKE_MODE_BASE = 0,
    HPKE_MODE_PSK = 1,
    HPKE_MODE_AUTH = 2,
    HPKE_MODE_AUTH_PSK = 3,
};

#define HPKE_PUBLIC_LEN 32 /* Npk: serialized X25519 public key */
#define HPKE_SECRET_LEN 32 /* Nsk */
#define HPKE_ENC_LEN 32    /* Nenc: the encapsulated key sent with the ciphertext */
#define HPKE_TAG_LEN 16
#define HPKE_IKM_MIN 32 /* hpke_derive_keypair wants at least Nsk bytes (RFC 9180 7.1.3) */
#define HPKE_PSK_MIN 32 /* a PSK must carry at least 32 bytes of entropy (RFC 9180 5.1.2) */
#define HPKE_EXPORT_MAX (255 * 32)

/* The optional inputs that select the mode (see the top of this file). NULL means base mode.
 * sender_secret is for hpke_sender_new / hpke_seal, sender_public for hpke_recipient_new /
 * hpke_open: a setup given the other side's field fails. psk and psk_id go together. */
struct hpke_auth {
    const uint8_t *sender_secret; /* HPKE_SECRET_LEN bytes */
    const uint8_t *sender_public; /* HPKE_PUBLIC_LEN bytes */
    const uint8_t *psk;           /* at least HPKE_PSK_MIN bytes */
    size_t psk_len;
    const uint8_t *psk_id; /* non-empty */
    size_t psk_id_len;
};

/* Key pairs: a fresh one from the OS CSPRNG, or DeriveKeyPair(ikm) for keys that must be
 * reproducible from a seed (ikm_len >= HPKE_IKM_MIN). */
CLOISTER_API int hpke_keypair(uint8_t pk[HPKE_PUBLIC_LEN], uint8_t sk[HPKE_SECRET_LEN]);
CLOISTER_API int hpke_derive_keypair(uint8_t pk[HPKE_PUBLIC_LEN], uint8_t sk[HPKE_SECRET_LEN],
                                     const void *ikm, size_t ikm_len);
CLOISTER_API int hpke_public_from_secret(uint8_t pk[HPKE_PUBLIC_LEN],
                                         const uint8_t sk[HPKE_SECRET_LEN]);
/* The mode that auth selects, or -1 when its fields are inconsistent. */
CLOISTER_API int hpke_auth_mode(const struct hpke_auth *auth);

/* Contexts. A sender context seals and exports, a recipient context opens and exports; NULL on
 * failure (bad key, low-order point, inconsistent auth, out of memory). */
typedef struct hpke_ctx hpke_ctx;
CLOISTER_API hpke_ctx *hpke_sender_new(uint8_t enc[HPKE_ENC_LEN], enum hpke_aead aead,
                                       const uint8_t pk_r[HPKE_PUBLIC_LEN], const void *info,
                                       size_t info_len, const struct hpke_auth *auth);
CLOISTER_API hpke_ctx *hpke_recipient_new(enum hpke_aead aead, const uint8_t enc[HPKE_ENC_LEN],
                                          const uint8_t sk_r[HPKE_SECRET_LEN], const void *info,
                                          size_t info_len, const struct hpke_auth *auth);
/* ct has room for ptlen + HPKE_TAG_LEN bytes. Fails on a recipient or export-only context, and
 * once the sequence number is exhausted. */
CLOISTER_API int hpke_ctx_seal(hpke_ctx *c, const void *aad, size_t aad_len, const void *pt,
                               size_t pt_len, uint8_t *ct);
/* pt has room for ct_len - HPKE_TAG_LEN bytes. A failed open leaves the sequence number as it
 * was (the next message can still be opened) and wipes pt. */
CLOISTER_API CLOISTER_MUST_CHECK int hpke_ctx_open(hpke_ctx *c, const void *aad, size_t aad_len,
                                                   const void *ct, size_t ct_len, uint8_t *pt);
/* Export(exporter_context, L) with L <= HPKE_EXPORT_MAX: a secret bound to this context. */
CLOISTER_API int hpke_ctx_export(const hpke_ctx *c, uint8_t *out, size_t len,
                                 const void *exporter_context, size_t context_len);
CLOISTER_API enum hpke_aead hpke_ctx_aead(const hpke_ctx *c);
CLOISTER_API enum hpke_mode hpke_ctx_mode(const hpke_ctx *c);
/* Messages sealed or opened so far. */
CLOISTER_API uint64_t hpke_ctx_seq(const hpke_ctx *c);
CLOISTER_API void hpke_ctx_free(hpke_ctx *c); /* wipes the keys */

/* Single-shot: one message per encapsulation. The recipient needs enc and ct. */
CLOISTER_API int hpke_seal(uint8_t enc[HPKE_ENC_LEN], uint8_t *ct, enum hpke_aead aead,
                           const uint8_t pk_r[HPKE_PUBLIC_LEN], const void *info, size_t info_len,
                           const void *aad, size_t aad_len, const void *pt, size_t pt_len,
                           const struct hpke_auth *auth);
CLOISTER_API CLOISTER_MUST_CHECK int
hpke_open(uint8_t *pt, enum hpke_aead aead, const uint8_t enc[HPKE_ENC_LEN],
          const uint8_t sk_r[HPKE_SECRET_LEN], const void *info, size_t info_len, const void *aad,
          size_t aad_len, const void *ct, size_t ct_len, const struct hpke_auth *auth);

#endif
