/* asky.h -- A-Sky (docs/asky.md): anonymous, confidential group file sharing on an untrusted
 * store, with key envelopes built by an enclave from symmetric keys only.
 *
 * A user holds one 32-byte long-term key, drawn in the enclave. From it both sides derive a
 * tag key and an entry key (asky_user_keys). An envelope wraps one 32-byte file key for every
 * member of a group:
 *
 *   indexed:  nonce(12) ‖ n × (tag(16) ‖ GCM(entry key, nonce ⊕ index, file key)(48))  12 + 64n B
 *             tag = HMAC-SHA256(tag key, nonce) truncated to 16 bytes, entries sorted by tag;
 *             a reader computes its tag and binary-searches.
 *   trial:    nonce(12) ‖ n × GCM entry(48)                                            12 + 48n B
 *             a reader tries every entry (the comparison format of the original).
 *
 * Padding (asky_pad) adds random entries up to the next power of two or a multiple of a fixed
 * bucket, so the envelope's size does not give the group's size exactly.
 *
 * An object is "CASK" ‖ version(1) ‖ kind(1) ‖ be32 chunk size ‖ be32 envelope length ‖
 * envelope ‖ chunks: each AES-256-GCM under the file key with nonce be64(index) ‖ be32(last),
 * AAD = SHA-256 of the header and envelope; every chunk is full but the last, which is flagged,
 * so a truncated, reordered or spliced object is refused. Objects are written and read as
 * streams (files larger than memory work). */
#ifndef CLOISTER_ASKY_H
#define CLOISTER_ASKY_H

#include <cloister/error.h>
#include <cloister/export.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ASKY_KEY_LEN 32
#define ASKY_NONCE_LEN 12
#define ASKY_TAG_LEN 16
#define ASKY_ENTRY_LEN 48 /* the file key and its GCM tag */
#define ASKY_MEMBERS_MAX 1000000u
#define ASKY_CHUNK_DEFAULT (64u * 1024)
#define ASKY_CHUNK_MAX (16u << 20)
#define ASKY_HEADER_LEN 14
#define ASKY_NAME_MAX 128 /* user, group and object names, bytes */

enum asky_kind { ASKY_INDEXED = 1, ASKY_TRIAL = 2 };
enum asky_pad { ASKY_PAD_NONE = 0, ASKY_PAD_POW2 = 1 };

/* A member's keys as a reader or the enclave holds them (derived from the long-term key). */
struct asky_user_keys {
    uint8_t tag[ASKY_KEY_LEN];
    uint8_t entry[ASKY_KEY_LEN];
    uint8_t auth[ASKY_KEY_LEN]; /* proves membership to the enclave (asky_request_proof) */
};

CLOISTER_API void asky_user_keys(struct asky_user_keys *k, const uint8_t user_key[ASKY_KEY_LEN]);
CLOISTER_API void asky_user_keys_wipe(struct asky_user_keys *k);

/* The proof a member sends with an envelope request: HMAC(auth key, group ‖ nonce), with a
 * fresh nonce. A replayed proof only yields another envelope the replayer cannot open. */
#define ASKY_REQ_NONCE_LEN 16
#define ASKY_TICKET_LEN 32     /* what lets a remote member store an object (asky_serve.h) */
#define ASKY_SESSION_ID_LEN 16 /* names a remote member's session with the enclave */
CLOISTER_API void asky_request_proof(uint8_t proof[32], const struct asky_user_keys *k,
                                     const char *group, const uint8_t nonce[ASKY_REQ_NONCE_LEN]);

/* A member's keys expanded once for building envelopes (the enclave keeps one per user, built
 * when it loads or adds the user): the inner and outer SHA-256 midstates of HMAC under the tag
 * key, the AES-256 key schedule of the entry key and its GHASH key. On a CPU without SHA-NI,
 * AES-NI and PCLMULQDQ only the raw keys are used. 416 bytes. */
struct asky_member {
    struct asky_user_keys keys;
    uint32_t tag_inner[8], tag_outer[8];
    uint8_t entry_rk[15 * 16];
    uint8_t entry_h[16];
};

CLOISTER_API void asky_member_prepare(struct asky_member *m, const struct asky_user_keys *k);
CLOISTER_API void asky_member_wipe(struct asky_member *m);

/* Entries an envelope of n members takes once padded (pad = ASKY_PAD_POW2 or a bucket > 1). */
CLOISTER_API size_t asky_padded_count(size_t n, unsigned pad);
CLOISTER_API size_t asky_envelope_size(enum asky_kind kind, size_t entries);

/* Builds an envelope of file_key for the n members (malloc'd into *out), with OpenSSL's one-shot
 * calls on the raw keys: readers and tests; the enclave uses the prepared form below. */
CLOISTER_API int asky_envelope_build(enum asky_kind kind, const struct asky_user_keys *members,
                                     size_t n, unsigned pad, const uint8_t file_key[ASKY_KEY_LEN],
                                     uint8_t **out, size_t *outlen, struct cloister_err *err);
/* The same from members prepared beforehand (what the enclave does: no key schedule per call). */
CLOISTER_API int asky_envelope_build_prepared(enum asky_kind kind,
                                              const struct asky_member *members, size_t n,
                                              unsigned pad, const uint8_t file_key[ASKY_KEY_LEN],
                                              uint8_t **out, size_t *outlen,
                                              struct cloister_err *err);
/* Finds the member's entry and recovers the file key: CLOISTER_E_DENIED when the member has
 * none (a non-member, a revoked member), CLOISTER_E_INVALID when the envelope is malformed. */
CLOISTER_API int asky_envelope_open(enum asky_kind kind, const uint8_t *env, size_t len,
                                    const struct asky_user_keys *k, uint8_t file_key[ASKY_KEY_LEN],
                                    struct cloister_err *err);

/* Streams in (plaintext) to out as an object. */
CLOISTER_API int asky_object_write(FILE *out, enum asky_kind kind, const uint8_t *env,
                                   size_t envlen, const uint8_t file_key[ASKY_KEY_LEN],
                                   uint32_t chunk, FILE *in, struct cloister_err *err);
/* Streams the object in to out (plaintext) as the member k. Nothing is written to out before
 * a chunk has been authenticated; a failure part way leaves a prefix the caller discards. */
CLOISTER_API int asky_object_read(FILE *in, const struct asky_user_keys *k, FILE *out,
                                  struct cloister_err *err);

#endif
