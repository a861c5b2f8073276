/* ibbe.h -- IBBE-SGX: group keys for large groups with Delerablée's identity-based broadcast
 * encryption (ASIACRYPT 2007) and the master secret γ kept in an enclave (Contiu et al.,
 * DSN 2018).
 *
 * Curve and placement (see /work/shared/reference/ibbe.md): BLS12-381 with h, its powers
 * h^{γ^i}, C2 and C3 in G1 and g, w = g^γ, user keys and C1 in G2; v = e(h, g). Identities
 * are hashed to Fr* with RFC 9380 hash_to_field under IBBE_DST. For a set S with
 * P(x) = ∏_{i∈S}(x + H(ID_i)) and a random k:
 *
 *     C1 = w^{-k}   C3 = h^{P(γ)}   C2 = C3^k   broadcast key b = HKDF(v^k)
 *
 * The public side (anyone: the PK only) encrypts in O(s²) and decrypts as a member in O(s)
 * once P is known (synthetic division, one G1 MSM, a two-pairing product). The enclave side
 * (γ) sets up, extracts user keys, encrypts in O(s) and decrypts as admin.
 *
 * Groups: a group key gk (32 random bytes) is shared by a group cut into partitions of at most
 * n members; each partition carries an IBBE header and gk wrapped with AES-256-GCM under
 * HKDF(b), the group name, partition index and epoch as associated data. The epoch grows by
 * one whenever gk changes (every removal), so a reader can tell which gk sealed a file.
 *
 * Errors: functions taking a `struct cloister_err *err` (may be NULL) return CLOISTER_OK or a
 * negative CLOISTER_E_* code and fill err (error.h): INVALID for malformed input (a record, a
 * file, an identity), NOT_FOUND for a missing group, member or file, EXISTS for a duplicate,
 * DENIED when a MAC or a consistency check refuses (tampered or stale data, wrong key), STATE
 * for a step out of order, SYSTEM for I/O. Messages never contain a secret. The algorithms
 * without err (encodings, polynomials, encryption) return 0 or -1: nothing more to say. Every
 * secret (k, gk, b, user keys) is wiped once used.
 *
 * The enclave side (γ: setup, extract, enclave encrypt, group create/add/remove) is not in
 * libcloister: it is built only into the `ibbe` enclave image (src/ibbe/enclave); programs
 * reach it through ibbe_admin.h. Members use ibbe_client.h. */
#ifndef CLOISTER_IBBE_H
#define CLOISTER_IBBE_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/pairing.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IBBE_DST "CLOISTER-IBBE-V01-CS01-with-BLS12381_XMD:SHA-256_"
#define IBBE_ID_MAX 255          /* bytes of an identity (no NUL, no newline) */
#define IBBE_NAME_MAX 64         /* bytes of a group name: [A-Za-z0-9._-], not starting with '.' */
#define IBBE_KEY_LEN 32          /* broadcast keys and group keys */
#define IBBE_PARTITION_MAX 65536 /* largest partition size n */
#define IBBE_USK_BYTES BLS_G2_BYTES
#define IBBE_HEADER_BYTES (BLS_G2_BYTES + 2 * BLS_G1_BYTES) /* C1, C2, C3 */
#define IBBE_WRAP_BYTES (12 + IBBE_KEY_LEN + 16)            /* nonce, gk, tag */

/* ---- public side: identities, public key, polynomials, encrypt, user decrypt ------------ */

/* An identity is 1..IBBE_ID_MAX bytes without NUL or newline. */
CLOISTER_API bool ibbe_id_valid(const char *id);
/* H(id) in Fr*; -1 when id is invalid (or, with probability 2^-255, hashes to zero). */
CLOISTER_API int ibbe_hash_id(bls_fr *out, const char *id);

typedef struct ibbe_pk ibbe_pk;
/* The largest set the key encrypts to: the partition size n it was set up with. */
CLOISTER_API size_t ibbe_pk_capacity(const ibbe_pk *pk);
/* Wire record "CIPK" v1: n, h, g, w, h^{γ^1..n} (compressed). *out is malloc'd. */
CLOISTER_API int ibbe_pk_encode(const ibbe_pk *pk, uint8_t **out, size_t *len);
/* Bounds-checked, every point subgroup-checked; v is recomputed as e(h, g). */
CLOISTER_API int ibbe_pk_decode(ibbe_pk **out, const uint8_t *buf, size_t len,
                                struct cloister_err *err);
CLOISTER_API void ibbe_pk_free(ibbe_pk *pk);

struct ibbe_usk {
    bls_g2 d; /* g^{1/(γ + H(ID))} */
};
CLOISTER_API void ibbe_usk_to_bytes(uint8_t out[IBBE_USK_BYTES], const struct ibbe_usk *usk);
CLOISTER_API int ibbe_usk_from_bytes(struct ibbe_usk *usk, const uint8_t in[IBBE_USK_BYTES]);

struct ibbe_header {
    bls_g2 c1; /* w^{-k} */
    bls_g1 c2; /* h^{k P(γ)} */
    bls_g1 c3; /* h^{P(γ)}: the header for k = 1, kept so the enclave can add and remove */
};
CLOISTER_API void ibbe_header_to_bytes(uint8_t out[IBBE_HEADER_BYTES],
                                       const struct ibbe_header *hdr);
CLOISTER_API int ibbe_header_from_bytes(struct ibbe_header *hdr,
                                        const uint8_t in[IBBE_HEADER_BYTES],
                                        struct cloister_err *err);

/* A set's polynomial P(x) = ∏(x + H_i): monic, coef[0..degree], coef[degree] = 1. */
struct ibbe_poly {
    size_t degree;
    bls_fr *coef;
};
/* O(s²) expansion from the hashes. */
CLOISTER_API int ibbe_poly_from_hashes(struct ibbe_poly *p, const bls_fr *hashes, size_t s);
/* P ← P·(x + a) and P ← P/(x + a) in O(degree): follow a membership change. div fails when
 * -a is not a root. */
CLOISTER_API int ibbe_poly_mul_root(struct ibbe_poly *p, const bls_fr *a);
CLOISTER_API int ibbe_poly_div_root(struct ibbe_poly *p, const bls_fr *a);
CLOISTER_API void ibbe_poly_free(struct ibbe_poly *p);

/* Public Encrypt (no γ): O(s²) field operations and one MSM of size s + 1; fills the header
 * and the broadcast key b. 1 <= s <= capacity; hashes must be distinct. */
CLOISTER_API int ibbe_encrypt_public(const ibbe_pk *pk, const bls_fr *hashes, size_t s,
                                     struct ibbe_header *hdr, uint8_t key[IBBE_KEY_LEN]);
/* Member decrypt: P is the polynomial of the header's set, mine = H(my ID) one of its roots.
 * O(s): synthetic division, one G1 MSM of size s - 1, one product of two pairings. */
CLOISTER_API CLOISTER_MUST_CHECK int ibbe_decrypt_user(const ibbe_pk *pk, const struct ibbe_poly *p,
                                                       const bls_fr *mine,
                                                       const struct ibbe_usk *usk,
                                                       const struct ibbe_header *hdr,
                                                       uint8_t key[IBBE_KEY_LEN]);

/* ---- groups --------------------------------------------------------------------------------
 * An ibbe_group holds a group's public state (what the store keeps: members, headers, wrapped
 * keys). The admin operations (enclave side) also keep gk in it; public decoding never does. */
typedef struct ibbe_group ibbe_group;

CLOISTER_API bool ibbe_group_name_valid(const char *name);
/* The group key as the admin holds it; -1 when g carries none (decoded, not opened). */
CLOISTER_API int ibbe_group_key(const ibbe_group *g, uint8_t gk[IBBE_KEY_LEN]);

/* Member decrypt of the group key (public key, group state, own key): finds the member's
 * partition, expands its polynomial (O(n²)), decrypts the header and opens the wrap. */
CLOISTER_API CLOISTER_MUST_CHECK int ibbe_group_decrypt(const ibbe_pk *pk, const ibbe_group *g,
                                                        const char *id, const struct ibbe_usk *usk,
                                                        uint8_t gk[IBBE_KEY_LEN], uint64_t *epoch,
                                                        struct cloister_err *err);
/* Key regression: the group key of an earlier epoch from gk, the key of g's current epoch, by
 * opening the links the group record keeps (each the older key wrapped under the newer, made by
 * the enclave on every removal). A holder of one epoch's key walks back, never forward. DENIED
 * for an epoch newer than g's or a link that does not open; NOT_FOUND before the oldest epoch
 * kept (ibbe_group_oldest_epoch). O(g's epoch - epoch) AEAD openings. */
CLOISTER_API CLOISTER_MUST_CHECK int
ibbe_group_key_regress(const ibbe_group *g, const uint8_t gk[IBBE_KEY_LEN], uint64_t epoch,
                       uint8_t out[IBBE_KEY_LEN], struct cloister_err *err);
CLOISTER_API uint64_t ibbe_group_oldest_epoch(const ibbe_group *g);
/* Read-only view. */
CLOISTER_API const char *ibbe_group_name(const ibbe_group *g);
CLOISTER_API uint64_t ibbe_group_epoch(const ibbe_group *g);
CLOISTER_API size_t ibbe_group_capacity(const ibbe_group *g); /* n */
CLOISTER_API size_t ibbe_group_partitions(const ibbe_group *g);
CLOISTER_API size_t ibbe_group_size(const ibbe_group *g); /* members */
CLOISTER_API size_t ibbe_group_partition_size(const ibbe_group *g, size_t part);
CLOISTER_API const char *ibbe_group_member(const ibbe_group *g, size_t part, size_t i);
/* The partition holding id, or -1. */
CLOISTER_API long ibbe_group_find(const ibbe_group *g, const char *id);
CLOISTER_API void ibbe_group_free(ibbe_group *g); /* wipes gk */

/* Wire records (the store's files): the group record "CIGR" v2 (name, epoch, n, partition
 * count, then the key regression links: varint k, k × IBBE_WRAP_BYTES, the last k epochs'
 * links, oldest first; v1 records, without links, are still read) and one partition record "CIPA" v1 per partition (index, epoch, C1 C2 C3, wrapped gk,
 * member count, members). Partition record bytes:
 *     6 + varint(index) + 8 + IBBE_HEADER_BYTES + IBBE_WRAP_BYTES + varint(count)
 *       + Σ (varint(len(id)) + len(id))
 * i.e. 252 bytes of cryptographic metadata per partition plus the member list. */
CLOISTER_API int ibbe_group_encode_meta(const ibbe_group *g, uint8_t **out, size_t *len);
CLOISTER_API int ibbe_group_encode_partition(const ibbe_group *g, size_t part, uint8_t **out,
                                             size_t *len);
/* Decoding: the group record first, then each partition record in order. */
CLOISTER_API int ibbe_group_decode_meta(ibbe_group **out, const uint8_t *buf, size_t len,
                                        struct cloister_err *err);
CLOISTER_API int ibbe_group_decode_partition(ibbe_group *g, size_t part, const uint8_t *buf,
                                             size_t len, struct cloister_err *err);
/* Size of partition part's record by the formula above. */
CLOISTER_API size_t ibbe_partition_record_bytes(const ibbe_group *g, size_t part);

/* ---- the store: the untrusted cloud ---------------------------------------------------------
 * A directory holding only public or encrypted data, one file per record:
 *     DIR/ibbe.pk                      the public key ("CIPK")
 *     DIR/lock                         what writers flock (ibbe_store_lock)
 *     DIR/ibbe.epochs.sealed           the enclave's table of group epochs (sealed)
 *     DIR/groups/<group>/group         the group record ("CIGR")
 *     DIR/groups/<group>/p<i>          partition i's record ("CIPA"), i = 0..m-1
 * Every group update is atomic as a whole: one changing several records is written to a new
 * directory swapped in by one rename; one changing a single partition replaces that file. A
 * crash leaves the old state or the new one, and the next writer deletes what it left. Files
 * are opened one path component at a time without following symbolic links, so links planted
 * in the store are refused, never followed. Errors name the file relative to the store and the
 * reason: NOT_FOUND for a missing file, DENIED for a symbolic link, SYSTEM for another I/O
 * failure, INVALID (or the decoder's code) for a malformed record. */
typedef struct ibbe_store ibbe_store;
/* Opens the store at DIR, creating the directory when needed. */
CLOISTER_API int ibbe_store_open(const char *dir, ibbe_store **out, struct cloister_err *err);
CLOISTER_API void ibbe_store_close(ibbe_store *s); /* settles first */
/* Waits until the old versions this handle swapped out are deleted (updates return before:
 * their deletion runs in the background). */
CLOISTER_API void ibbe_store_settle(ibbe_store *s);
CLOISTER_API int ibbe_store_save_pk(ibbe_store *s, const ibbe_pk *pk, struct cloister_err *err);
CLOISTER_API int ibbe_store_load_pk(ibbe_store *s, ibbe_pk **pk, struct cloister_err *err);
/* Every partition, then the group record; partition files past the last are deleted. */
CLOISTER_API int ibbe_store_save_group(ibbe_store *s, const ibbe_group *g,
                                       struct cloister_err *err);
/* One partition and the group record: what an add changes. */
CLOISTER_API int ibbe_store_save_partition(ibbe_store *s, const ibbe_group *g, size_t part,
                                           struct cloister_err *err);
CLOISTER_API int ibbe_store_load_group(ibbe_store *s, const char *name, ibbe_group **g,
                                       struct cloister_err *err);
/* The groups in the store, sorted by name (*names malloc'd: ibbe_store_free_names). */
CLOISTER_API int ibbe_store_list_groups(ibbe_store *s, char ***names, size_t *count,
                                        struct cloister_err *err);
CLOISTER_API void ibbe_store_free_names(char **names, size_t count);
/* What a listing shows of a group, read without decoding any member (no identity hashed):
 * O(partitions) small reads. */
struct ibbe_group_summary {
    uint64_t epoch, oldest_epoch; /* oldest_epoch: the earliest whose key is still reachable */
    size_t partitions, partition_size, members;
    long long bytes;
};
CLOISTER_API int ibbe_store_group_summary(ibbe_store *s, const char *name,
                                          struct ibbe_group_summary *out, struct cloister_err *err);
/* Bytes of the group's files (group record and partitions), or -1. */
CLOISTER_API long long ibbe_store_group_bytes(ibbe_store *s, const char *name);
/* A member's view: the group record and only the partition listing id (found by a scan of the
 * raw records; only that one is decoded), enough for ibbe_group_decrypt. O(n) work, not O(N). */
CLOISTER_API int ibbe_store_load_member(ibbe_store *s, const char *name, const char *id,
                                        ibbe_group **g, struct cloister_err *err);
/* Raw records for the enclave driver (part -1: the group record). */
CLOISTER_API int ibbe_store_read_raw(ibbe_store *s, const char *name, long part, uint8_t **buf,
                                     size_t *len, struct cloister_err *err);
/* One changed partition record of an update. */
struct ibbe_store_change {
    size_t index;
    const uint8_t *rec;
    size_t len;
};
/* Applies one update of group name atomically: the changed partitions, the new group record
 * and the new partition count (files past it are deleted). */
CLOISTER_API int ibbe_store_update(ibbe_store *s, const char *name, const uint8_t *meta,
                                   size_t metalen, size_t partitions,
                                   const struct ibbe_store_change *changes, size_t count,
                                   struct cloister_err *err);
/* Changes whenever the group's record is replaced (0: no group): a writer that kept a group in
 * memory learns whether another writer changed it since. */
CLOISTER_API uint64_t ibbe_store_stamp(ibbe_store *s, const char *name);
/* Serialises writers (flock on DIR/lock, blocking): held around a read-modify-write of the
 * store, by every process alike. BUSY when this handle holds it already. */
CLOISTER_API int ibbe_store_lock(ibbe_store *s, struct cloister_err *err);
CLOISTER_API void ibbe_store_unlock(ibbe_store *s);
/* DIR/ibbe.msk.sealed, the enclave-sealed master secret; load fails with NOT_FOUND when there
 * is none. */
CLOISTER_API int ibbe_store_save_sealed(ibbe_store *s, const uint8_t *blob, size_t len,
                                        struct cloister_err *err);
CLOISTER_API int ibbe_store_load_sealed(ibbe_store *s, uint8_t **blob, size_t *len,
                                        struct cloister_err *err);
/* DIR/ibbe.epochs.sealed, the enclave's sealed table of group epochs; a missing table loads as
 * *len 0 (*blob NULL). */
CLOISTER_API int ibbe_store_save_epochs(ibbe_store *s, const uint8_t *blob, size_t len,
                                        struct cloister_err *err);
CLOISTER_API int ibbe_store_load_epochs(ibbe_store *s, uint8_t **blob, size_t *len,
                                        struct cloister_err *err);

/* ---- hybrid-encryption baselines (what the paper compared against) -----------------------
 * gk wrapped for every member under the member's public key: RSA-2048 OAEP (SHA-256, the
 * group name and epoch as OAEP label) or HPKE base mode (X25519, HKDF-SHA256, AES-256-GCM,
 * the group name and epoch as AAD). create O(N) wraps, add 1, remove = fresh gk + N - 1 wraps.
 * The admin keeps members' public keys in memory (its key directory); the store keeps only
 * identities and envelopes: DIR/he/<group>/group ("CHGR") and DIR/he/<group>/p<i> ("CHPA"),
 * members in chunks of the group's chunk size per file. Partition record bytes:
 *     6 + varint(index) + 8 + varint(count) + Σ (varint(len(id)) + len(id)
 *                                                + varint(len(env)) + len(env))
 * with env 256 bytes (RSA) or 80 bytes (HPKE: enc 32 + gk 32 + tag 16). */
enum ibbe_he_scheme { IBBE_HE_RSA = 1, IBBE_HE_HPKE = 2 };
typedef struct ibbe_he_group ibbe_he_group;
struct ibbe_he_member {
    const char *id;
    const uint8_t *pub; /* RSA: DER SubjectPublicKeyInfo; HPKE: 32 bytes */
    size_t pub_len;
};
/* A member key pair (malloc'd; the secret is DER PKCS#8 for RSA, 32 bytes for HPKE). */
CLOISTER_API int ibbe_he_keypair(enum ibbe_he_scheme scheme, uint8_t **pub, size_t *pub_len,
                                 uint8_t **sec, size_t *sec_len);
CLOISTER_API int ibbe_he_create(enum ibbe_he_scheme scheme, const char *name, size_t chunk,
                                const struct ibbe_he_member *members, size_t count,
                                ibbe_he_group **out, struct cloister_err *err);
CLOISTER_API int ibbe_he_add(ibbe_he_group *g, const struct ibbe_he_member *member,
                             struct cloister_err *err);
CLOISTER_API int ibbe_he_remove(ibbe_he_group *g, const char *id, struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK int ibbe_he_decrypt(const ibbe_he_group *g, const char *id,
                                                     const uint8_t *sec, size_t sec_len,
                                                     uint8_t gk[IBBE_KEY_LEN],
                                                     struct cloister_err *err);
CLOISTER_API int ibbe_he_key(const ibbe_he_group *g, uint8_t gk[IBBE_KEY_LEN]);
CLOISTER_API const char *ibbe_he_name(const ibbe_he_group *g);
CLOISTER_API uint64_t ibbe_he_epoch(const ibbe_he_group *g);
CLOISTER_API size_t ibbe_he_size(const ibbe_he_group *g);
CLOISTER_API size_t ibbe_he_chunks(const ibbe_he_group *g);
CLOISTER_API void ibbe_he_free(ibbe_he_group *g);
CLOISTER_API int ibbe_he_encode_meta(const ibbe_he_group *g, uint8_t **out, size_t *len);
CLOISTER_API int ibbe_he_encode_chunk(const ibbe_he_group *g, size_t chunk, uint8_t **out,
                                      size_t *len);
CLOISTER_API int ibbe_he_decode_meta(ibbe_he_group **out, const uint8_t *buf, size_t len,
                                     struct cloister_err *err);
CLOISTER_API int ibbe_he_decode_chunk(ibbe_he_group *g, size_t chunk, const uint8_t *buf,
                                      size_t len, struct cloister_err *err);
CLOISTER_API int ibbe_store_save_he(ibbe_store *s, const ibbe_he_group *g,
                                    struct cloister_err *err);
CLOISTER_API int ibbe_store_load_he(ibbe_store *s, const char *name, ibbe_he_group **g,
                                    struct cloister_err *err);
CLOISTER_API long long ibbe_store_he_bytes(ibbe_store *s, const char *name);

/* ---- user key files and files shared with a group ------------------------------------------
 * User key record "CIUK" v1: str id, raw usk (IBBE_USK_BYTES). `extract --to PUBLIC` wraps
 * that record in an HPKE message ("CHPM", base mode, AES-256-GCM, info IBBE_USK_INFO, AAD the
 * identity) so only the user can read it: `cloister crypto hpke-open` recovers the record. */
#define IBBE_USK_INFO "CLOISTER-IBBE-V01 user key"
CLOISTER_API int ibbe_usk_encode(const char *id, const struct ibbe_usk *usk, uint8_t **out,
                                 size_t *len);
CLOISTER_API int ibbe_usk_decode(char id[IBBE_ID_MAX + 1], struct ibbe_usk *usk, const uint8_t *buf,
                                 size_t len, struct cloister_err *err);

/* A member list file: one identity per line; blank lines and lines starting with '#' are
 * skipped, a trailing '\r' is dropped. Parsed in place (ids point into text, which must end
 * with a NUL at text[len]); *ids is malloc'd. Errors name the line: "line 7: ...". */
CLOISTER_API int ibbe_members_parse(char *text, size_t len, char ***ids, size_t *count,
                                    struct cloister_err *err);

/* A file sealed for a group, "CIFL" v1:
 *     str group | u64 epoch | raw salt (32) | raw nonce (12) | ciphertext ‖ tag (rest)
 * under the file key HKDF-SHA256(ikm gk, salt, info IBBE_FILE_INFO ‖ group ‖ epoch) with
 * AES-256-GCM, the header bytes as associated data. The epoch tells a reader which gk sealed
 * the file; a file key opens one file only, so the admin enclave can hand it to the host
 * without handing out gk. */
#define IBBE_FILE_INFO "CLOISTER-IBBE-V01 file"
#define IBBE_FILE_SALT_LEN 32
struct ibbe_file_header {
    char group[IBBE_NAME_MAX + 1];
    uint64_t epoch;
    uint8_t salt[IBBE_FILE_SALT_LEN];
};
CLOISTER_API int ibbe_file_key(uint8_t key[IBBE_KEY_LEN], const uint8_t gk[IBBE_KEY_LEN],
                               const struct ibbe_file_header *h);
/* *out is malloc'd: header, then the ciphertext. */
CLOISTER_API int ibbe_file_seal(const uint8_t key[IBBE_KEY_LEN], const struct ibbe_file_header *h,
                                const uint8_t *pt, size_t len, uint8_t **out, size_t *outlen);
/* The header alone (bounds-checked), to learn the group and epoch before finding the key. */
CLOISTER_API int ibbe_file_parse(struct ibbe_file_header *h, const uint8_t *buf, size_t len,
                                 struct cloister_err *err);
/* *pt is malloc'd; refuses a wrong key or any altered byte. */
CLOISTER_API CLOISTER_MUST_CHECK int ibbe_file_open(const uint8_t key[IBBE_KEY_LEN],
                                                    const uint8_t *buf, size_t len, uint8_t **pt,
                                                    size_t *ptlen, struct cloister_err *err);

#endif
