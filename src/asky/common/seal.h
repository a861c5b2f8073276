/* seal.h -- an envelope entry's two primitives on keys prepared once (struct asky_member):
 * the tag HMAC-SHA256(tag key, nonce) from the key's inner and outer SHA-256 midstates, and
 * the AES-256-GCM seal of the file key from the entry key's schedule and GHASH key. x86-64
 * with SHA-NI, AES-NI and PCLMULQDQ only (asky_seal_fast); elsewhere envelope.c uses the
 * OpenSSL one-shot calls on the raw keys. Internal to src/asky. */
#ifndef CLOISTER_ASKY_SEAL_H
#define CLOISTER_ASKY_SEAL_H

#include <cloister/asky.h>

#include <stdbool.h>

/* The CPU has the instructions of the fast path (checked once). */
bool asky_seal_fast(void);
/* Fills m's midstates, key schedule and GHASH key from m->keys (asky_seal_fast only). */
void asky_seal_prepare(struct asky_member *m);
/* The tags of two members (a and b may be the same) for one envelope nonce. */
void asky_seal_tags(uint8_t tag_a[ASKY_TAG_LEN], const struct asky_member *a,
                    uint8_t tag_b[ASKY_TAG_LEN], const struct asky_member *b,
                    const uint8_t nonce[ASKY_NONCE_LEN]);
/* out = AES-256-GCM(entry key, entry nonce, aad, file key): 32 bytes and the 16-byte GCM tag,
 * the entry nonce being the envelope's nonce with its last four bytes XOR be32(index). aad is
 * the entry's 16-byte tag, or NULL (trial entries have none). */
void asky_seal_entry(uint8_t out[ASKY_ENTRY_LEN], const struct asky_member *m,
                     const uint8_t nonce[ASKY_NONCE_LEN], uint32_t index, const uint8_t *aad,
                     const uint8_t file_key[ASKY_KEY_LEN]);

#endif
