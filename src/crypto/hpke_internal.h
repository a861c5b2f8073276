/* hpke_internal.h -- the inside of hpke.c, for its tests and the RFC 9180 test vectors only.
 *
 * The context layout is visible so tests can compare key, base_nonce and exporter_secret with
 * the published values and place the sequence number where a vector needs it. The *_derand
 * functions take the ephemeral secret key from the caller: with a fixed skE every message reuses
 * one ephemeral key, which is only acceptable when reproducing a test vector. */
#ifndef CLOISTER_CRYPTO_HPKE_INTERNAL_H
#define CLOISTER_CRYPTO_HPKE_INTERNAL_H

#include <cloister/crypto.h>
#include <cloister/hpke.h>

#include <stdbool.h>

#define HPKE_NONCE_LEN 12   /* Nn */
#define HPKE_SECRET_HASH 32 /* Nh and Nsecret of HKDF-SHA256 */

struct hpke_ctx {
    enum hpke_aead aead;
    enum hpke_mode mode;
    bool sender;
    uint64_t seq;
    crypto_aead *cipher; /* NULL for the export-only AEAD */
    uint8_t key[CRYPTO_AEAD_KEY_MAX];
    size_t key_len;
    uint8_t base_nonce[HPKE_NONCE_LEN];
    uint8_t exporter_secret[HPKE_SECRET_HASH];
};

/* Encap / AuthEncap (sk_s NULL for the unauthenticated modes) with a given ephemeral secret. */
int hpke_encap_derand(uint8_t shared[HPKE_SECRET_HASH], uint8_t enc[HPKE_ENC_LEN],
                      const uint8_t pk_r[HPKE_PUBLIC_LEN], const uint8_t *sk_s,
                      const uint8_t sk_e[HPKE_SECRET_LEN]);
/* Decap / AuthDecap (pk_s NULL for the unauthenticated modes). */
int hpke_decap(uint8_t shared[HPKE_SECRET_HASH], const uint8_t enc[HPKE_ENC_LEN],
               const uint8_t sk_r[HPKE_SECRET_LEN], const uint8_t *pk_s);
/* hpke_sender_new with a given ephemeral secret skE: test vectors only. */
hpke_ctx *hpke_sender_new_derand(uint8_t enc[HPKE_ENC_LEN], enum hpke_aead aead,
                                 const uint8_t pk_r[HPKE_PUBLIC_LEN], const void *info,
                                 size_t info_len, const struct hpke_auth *auth,
                                 const uint8_t sk_e[HPKE_SECRET_LEN]);

#endif
