/* scbr_idmap.h -- subscription id -> engine slot, allocated through the index's scbr_mem.
 *
 * Two parts. Ids below dense_cap live in a plain array indexed by id (8 bytes an id, and
 * registering ids in order touches memory in order: no random page faults when an enclave's
 * index pages past its EPC budget); the array grows to cover a new id only while at least a
 * quarter of it would be in use, so sparse or hostile ids cannot blow it up. Every other id
 * lives in an open-addressing table with linear probing and backward-shift deletion (no
 * tombstones), load factor at most 1/2. Values are never UINT64_MAX (the array's "absent"). */
#ifndef CLOISTER_SCBR_IDMAP_H
#define CLOISTER_SCBR_IDMAP_H

#include "scbr/common/scbr_internal.h"

struct scbr_idmap_slot {
    uint32_t key;
    uint32_t used;
    uint64_t val;
};

struct scbr_idmap {
    uint64_t *dense; /* ids < dense_cap; UINT64_MAX = absent */
    size_t dense_cap, dense_n;
    struct scbr_idmap_slot *slots; /* ids >= dense_cap */
    size_t cap, n;                 /* cap is 0 or a power of two */
};

/* The value's address, or NULL. */
uint64_t *scbr_idmap_get(const struct scbr_idmap *m, uint32_t key);
/* Adds a new key (must be absent); 0, or -1 on allocation failure (nothing changed). */
int scbr_idmap_put(struct scbr_idmap *m, struct scbr_mem *mem, uint32_t key, uint64_t val);
void scbr_idmap_del(struct scbr_idmap *m, uint32_t key);
void scbr_idmap_free(struct scbr_idmap *m, struct scbr_mem *mem);

#endif
