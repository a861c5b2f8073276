/* internal.h -- structures shared by the public (common/) and secret (enclave/) halves of IBBE.
 * Nothing here is part of the API: callers go through include/cloister/ibbe.h. */
#ifndef CLOISTER_IBBE_INTERNAL_H
#define CLOISTER_IBBE_INTERNAL_H

#include <cloister/ibbe.h>

#define IBBE_BKEY_INFO "CLOISTER-IBBE-V01 broadcast key"
#define IBBE_WRAP_INFO "CLOISTER-IBBE-V01 wrap key"
#define IBBE_AAD_LABEL "CLOISTER-IBBE-V01 group key"
#define IBBE_LINK_INFO "CLOISTER-IBBE-V01 regression key"
#define IBBE_LINK_LABEL "CLOISTER-IBBE-V01 previous group key"
/* Key regression links kept per group: beyond this, the oldest epochs are forgotten. */
#define IBBE_LINKS_MAX (1u << 16)

struct ibbe_pk {
    size_t n;
    bls_g1 *hpow; /* h^{γ^i}, i = 0..n (hpow[0] = h) */
    bls_g2 g, w;  /* w = g^γ */
    bls_gt v;     /* e(h, g) */
};

struct ibbe_msk {
    bls_fr *gamma; /* in secret memory (tee_secret_alloc) */
    const ibbe_pk *pk;
    bls_g1_table *h_table;
    bls_g2_table *g_table, *w_table;
};

struct ibbe_partition {
    size_t count, cap;
    char **ids;
    bls_fr *hashes;
    struct ibbe_header hdr;
    uint8_t wrap[IBBE_WRAP_BYTES]; /* nonce ‖ AES-256-GCM(gk) ‖ tag */
    bool loaded;                   /* decoded from a record, or built by the admin */
};

/* Member index: open addressing over the low 64 bits of H(id) (a cryptographic hash, so not
 * steerable into long probe chains without ~|table| hash evaluations per entry), built on the
 * first lookup, kept up to date by the hot paths (add, remove) and dropped by wholesale
 * changes (decoding, re-partitioning). */
struct ibbe_slot {
    uint32_t part, i; /* UINT32_MAX part: empty; UINT32_MAX - 1: deleted */
};

struct ibbe_group {
    char name[IBBE_NAME_MAX + 1];
    uint64_t epoch;
    size_t n;
    size_t count; /* partitions */
    struct ibbe_partition *parts;
    bool has_key;
    uint8_t gk[IBBE_KEY_LEN];
    /* Key regression: links[i] is gk of epoch (epoch - nlinks + i) wrapped under gk of the next
     * epoch (ibbe_link_wrap), so gk of the current epoch opens every older one in turn. */
    uint8_t (*links)[IBBE_WRAP_BYTES];
    size_t nlinks, links_cap;
    struct ibbe_slot *index;      /* NULL until needed */
    size_t index_cap, index_used; /* used counts deleted slots too */
};

/* b = HKDF(v^k) from the GT element. */
int ibbe_kdf_broadcast(uint8_t key[IBBE_KEY_LEN], const bls_gt *k);
/* AES-256-GCM wrap of gk under HKDF(b) with (name, part, epoch) as AAD, and its opening. */
int ibbe_wrap_key(uint8_t wrap[IBBE_WRAP_BYTES], const uint8_t b[IBBE_KEY_LEN],
                  const uint8_t gk[IBBE_KEY_LEN], const char *name, size_t part, uint64_t epoch);
int ibbe_unwrap_key(uint8_t gk[IBBE_KEY_LEN], const uint8_t b[IBBE_KEY_LEN],
                    const uint8_t wrap[IBBE_WRAP_BYTES], const char *name, size_t part,
                    uint64_t epoch);
/* A key regression link: the older gk (of epoch - 1) wrapped under the newer (of epoch), the
 * group and both epochs as AAD. */
int ibbe_link_wrap(uint8_t link[IBBE_WRAP_BYTES], const uint8_t newer[IBBE_KEY_LEN],
                   const uint8_t older[IBBE_KEY_LEN], const char *name, uint64_t epoch);
int ibbe_link_unwrap(uint8_t older[IBBE_KEY_LEN], const uint8_t newer[IBBE_KEY_LEN],
                     const uint8_t link[IBBE_WRAP_BYTES], const char *name, uint64_t epoch);
/* Appends the link from epoch g->epoch to g->epoch - 1 (call after the epoch moved on); the
 * oldest link is dropped beyond IBBE_LINKS_MAX. -1 when out of memory. */
int ibbe_group_push_link(ibbe_group *g, const uint8_t link[IBBE_WRAP_BYTES]);
/* Group allocation helpers (all zeroed; partitions with room for n members). */
ibbe_group *ibbe_group_alloc(const char *name, size_t n, size_t partitions);
int ibbe_partition_append(struct ibbe_partition *p, const char *id, const bls_fr *hash);
/* Appending to / deleting from partition part of g, keeping the member index. Deleting moves
 * the partition's last member into slot i. */
int ibbe_group_append(ibbe_group *g, size_t part, const char *id, const bls_fr *hash);
void ibbe_group_delete(ibbe_group *g, size_t part, size_t i);
/* Removes the emptied partition part: the last partition takes its place. */
void ibbe_group_drop_partition(ibbe_group *g, size_t part);
/* Where id is: 0 with *part and *i set, or -1. */
int ibbe_group_locate(const ibbe_group *g, const char *id, size_t *part, size_t *i);
void ibbe_group_index_drop(ibbe_group *g);
/* Heapsort: qsort may ask the kernel for the machine's memory size (sysinfo), a system call
 * the enclave's seccomp filter refuses. */
void ibbe_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* Unloads partition part (as if its record had not been read). */
void ibbe_group_forget_partition(ibbe_group *g, size_t part);
int ibbe_group_grow(ibbe_group *g); /* one more empty partition */
void ibbe_group_truncate(ibbe_group *g, size_t partitions);
bool ibbe_group_complete(const ibbe_group *g);

#endif
