/* ecalls.h -- the boundary of the `ibbe` enclave (its EDL): numbers and wire layouts shared by
 * the trusted side (src/ibbe/enclave/ibbe_enclave.c) and the host driver (src/ibbe/host/admin.c).
 *
 * γ is drawn by SETUP inside the enclave and leaves it only sealed (tee_seal, MRSIGNER policy,
 * so a rebuilt image of the same signer still opens it; AAD = IBBE_MSK_AAD ‖ SHA-256 of the
 * public key record, so a blob cannot be paired with another public key). LOAD restores it
 * after any restart. Groups are opened inside the enclave (every C3 checked against its
 * member list, gk recovered by admin decryption) and kept in a small cache, so add is O(1)
 * once a group is warm. Group key gk never crosses the boundary; FILE_KEY gives a per-file
 * key derived from it.
 *
 *   SETUP        in: varint n                         out: bytes sealed γ, bytes "CIPK" record
 *   LOAD         in: bytes sealed γ, bytes "CIPK"      out: varint n
 *   EXTRACT      in: varint count, count × (str id, bytes recipient HPKE public key: 0 or 32)
 *                out: count × bytes ("CIUK" record, or "CHPM" HPKE message when a key is given)
 *   GROUP_LOAD   in: bytes "CIGR", varint first, varint k, k × bytes "CIPA" (partitions first..)
 *                out: u8 complete (1 once the last partition came and the group opened)
 *   GROUP_CREATE in: str group, varint count, count × str id          out: CHANGES
 *   GROUP_ADD    in: str group, varint count, count × str id          out: CHANGES
 *   GROUP_REMOVE in: str group, varint count, count × str id          out: CHANGES
 *   FILE_KEY     in: str group, u8 fresh, (fresh = 0: u64 epoch, raw salt 32)
 *                out: u64 epoch, raw salt 32, raw file key 32
 *                (an earlier epoch's key by key regression; a later epoch is refused)
 *   EPOCHS       in: bytes the sealed epoch table from the store (0 bytes: none)  out: nothing
 *
 * CHANGES: varint partitions m, bytes "CIGR", varint k, k × (varint index, bytes "CIPA"),
 * bytes epoch table before, bytes epoch table after: the host writes the first table (the new
 * epoch pending), then the k partition records and the group record as one update (deleting
 * p<m> and beyond), then the second table (the new epoch committed). Both tables are empty when
 * the update leaves the epoch as it was (an add). GROUP_LOAD refuses a group older than the
 * epoch table says (a rolled-back store); the host sends EPOCHS, under the store's lock, before
 * each group operation, so that every admin sharing the store sees the others' epochs.
 * Operations on a group not in the cache (or before LOAD) fail with CLOISTER_E_STATE: the host
 * loads the group (GROUP_LOAD) and retries once. Refusals carry the code of the group
 * operation (INVALID, EXISTS, NOT_FOUND for a non-member, DENIED for tampered records). */
#ifndef CLOISTER_IBBE_ECALLS_H
#define CLOISTER_IBBE_ECALLS_H

enum {
    IBBE_ECALL_SETUP = 1,
    IBBE_ECALL_LOAD = 2,
    IBBE_ECALL_EXTRACT = 3,
    IBBE_ECALL_GROUP_LOAD = 4,
    IBBE_ECALL_GROUP_CREATE = 5,
    IBBE_ECALL_GROUP_ADD = 6,
    IBBE_ECALL_GROUP_REMOVE = 7,
    IBBE_ECALL_FILE_KEY = 8,
    IBBE_ECALL_EPOCHS = 9,
};

#define IBBE_MSK_AAD "CLOISTER-IBBE-V01 master secret"
#define IBBE_ENCLAVE_CACHE 8 /* groups kept open in the enclave */

#endif
