/* scbr_idtab.h -- a hash index over an array of sender (connection) ids, shared by the enclave
 * (its senders) and the host (its live subscribers). The caller owns the array; elements of
 * `stride` bytes start with a struct scbr_ident. Open addressing, load kept under one half;
 * removals are done by the caller compacting its array and calling scbr_idtab_rebuild. */
#ifndef CLOISTER_SCBR_IDTAB_H
#define CLOISTER_SCBR_IDTAB_H

#include <cloister/scbr.h>

#include <stddef.h>
#include <stdint.h>

#include "scbr/common/scbr_proto.h" /* SCBR_SENDER_MAX */

struct scbr_ident {
    uint8_t len;
    uint8_t id[SCBR_SENDER_MAX];
};

struct scbr_idtab {
    uint32_t *slots; /* element index + 1; 0 empty */
    size_t nslots;
};

/* The element index holding id, or -1. */
long scbr_idtab_find(const struct scbr_idtab *t, const void *elems, size_t stride,
                     const uint8_t *id, size_t len);
/* Makes room for `room` elements and indexes elems[0..n). -1 when out of memory (t unchanged).
 * alloc NULL: libc. */
int scbr_idtab_rebuild(struct scbr_idtab *t, const void *elems, size_t stride, size_t n,
                       size_t room, const struct scbr_allocator *alloc);
/* Indexes elems[index]; the caller made room. */
void scbr_idtab_add(struct scbr_idtab *t, const void *elems, size_t stride, uint32_t index);
void scbr_idtab_free(struct scbr_idtab *t, const struct scbr_allocator *alloc);

#endif
