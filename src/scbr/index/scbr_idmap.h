/* scbr_idmap.h -- subscription id -> engine slot, open addressing with linear probing and
 * backward-shift deletion (no tombstones), allocated through the index's scbr_mem. */
#ifndef CLOISTER_SCBR_IDMAP_H
#define CLOISTER_SCBR_IDMAP_H

#include "scbr/common/scbr_internal.h"

struct scbr_idmap_slot {
    uint32_t key;
    uint32_t used;
    uint64_t val;
};

struct scbr_idmap {
    struct scbr_idmap_slot *slots;
    size_t cap, n; /* cap is 0 or a power of two */
};

/* The value's address, or NULL. */
uint64_t *scbr_idmap_get(const struct scbr_idmap *m, uint32_t key);
/* Adds a new key (must be absent); 0 or -1 on allocation failure. */
int scbr_idmap_put(struct scbr_idmap *m, struct scbr_mem *mem, uint32_t key, uint64_t val);
void scbr_idmap_del(struct scbr_idmap *m, uint32_t key);
void scbr_idmap_free(struct scbr_idmap *m, struct scbr_mem *mem);

#endif
