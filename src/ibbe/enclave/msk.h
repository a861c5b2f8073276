/* msk.h -- the enclave side of IBBE-SGX: the master secret γ and what is done with it (setup,
 * user keys, O(s) encryption, admin decryption, group create/add/remove).
 *
 * Internal: this code is built only into the `ibbe` enclave image and its library
 * enclave_ibbe (which tests, benchmarks and fuzz targets link to run the trusted code
 * in-process), never into libcloister, so its declarations stay out of include/cloister/.
 * Programs reach these operations through ibbe_admin.h. Errors as in ibbe.h. */
#ifndef CLOISTER_IBBE_MSK_H
#define CLOISTER_IBBE_MSK_H

#include <cloister/ibbe.h>

typedef struct ibbe_msk ibbe_msk;
/* Setup with partition size n (1..IBBE_PARTITION_MAX): fresh γ and generators; the powers of
 * h are computed with a fixed-base table. */
int ibbe_setup(size_t n, ibbe_msk **msk, ibbe_pk **pk);
/* γ as 32 bytes (for sealing) and back, with the public key it belongs to (checked: w = g^γ).
 * The master key borrows the public key it was made with: free it before the public key. */
void ibbe_msk_to_bytes(uint8_t out[BLS_FR_BYTES], const ibbe_msk *msk);
int ibbe_msk_from_bytes(ibbe_msk **msk, const uint8_t in[BLS_FR_BYTES], const ibbe_pk *pk);
void ibbe_msk_free(ibbe_msk *msk); /* wipes γ */
/* User key g^{1/(γ + H(id))}. */
int ibbe_extract(const ibbe_msk *msk, const char *id, struct ibbe_usk *usk);
/* Enclave Encrypt in O(s) with γ: the same header and key distribution as the public one. */
int ibbe_encrypt(const ibbe_msk *msk, const bls_fr *hashes, size_t s, struct ibbe_header *hdr,
                 uint8_t key[IBBE_KEY_LEN]);
/* Admin decrypt with γ: b = KDF(e(C2^{1/P(γ)}, g)). O(s). */
int ibbe_decrypt_admin(const ibbe_msk *msk, const bls_fr *hashes, size_t s,
                       const struct ibbe_header *hdr, uint8_t key[IBBE_KEY_LEN]);

/* ---- group administration ------------------------------------------------------------------
 * These leave g unchanged when they refuse their input (bad name or identity: INVALID;
 * duplicate: EXISTS; not a member: NOT_FOUND; group not opened: STATE); after an internal
 * failure (out of memory, CSPRNG) g must be discarded and reloaded from the store. */
/* Create: gk fresh, members cut into ⌈N/n⌉ partitions (n = the PK's capacity). O(N). */
int ibbe_group_create(const ibbe_msk *msk, const char *name, const char *const *ids, size_t count,
                      ibbe_group **out, struct cloister_err *err);
/* The same, the group starting at epoch (≥ 1): a group created again after its records were
 * lost continues the epochs the enclave already used for it. */
int ibbe_group_create_at(const ibbe_msk *msk, const char *name, const char *const *ids,
                         size_t count, uint64_t epoch, ibbe_group **out, struct cloister_err *err);
/* Add: into the first partition with room (C2, C3 raised to γ + H(u)), or a new partition
 * wrapping the current gk. O(1) group operations; gk and epoch unchanged. */
int ibbe_group_add(const ibbe_msk *msk, ibbe_group *g, const char *id, struct cloister_err *err);
/* Remove: fresh gk, epoch + 1, C3 ← C3^{1/(γ + H(u))} in the user's partition, then every
 * partition re-keyed (new k, C1, C2, wrapped gk). O(m). When the group gets sparse (see
 * IBBE_REPARTITION_DIVISOR) it is re-partitioned instead: O(N). */
int ibbe_group_remove(const ibbe_msk *msk, ibbe_group *g, const char *id, struct cloister_err *err);
/* Several removals sharing one fresh gk and one re-keying (O(count + m)); refused as a whole
 * when one id is not a member, appears twice, or nobody would be left. */
int ibbe_group_remove_many(const ibbe_msk *msk, ibbe_group *g, const char *const *ids, size_t count,
                           struct cloister_err *err);
/* Re-partition when members < partitions × n / IBBE_REPARTITION_DIVISOR and fewer partitions
 * would do: the average partition is then less than half full. */
#define IBBE_REPARTITION_DIVISOR 2
/* Admin load of a group decoded from the store: checks every C3 against its member list and
 * recovers gk by admin decryption (every partition's wrap must open to the same gk): DENIED
 * when one does not. */
int ibbe_group_admin_open(const ibbe_msk *msk, ibbe_group *g, struct cloister_err *err);

#endif
