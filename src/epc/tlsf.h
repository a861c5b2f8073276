/* tlsf.h -- a Two-Level Segregated Fit allocator over one given memory range (see tlsf.c).
 *
 * Internal to src/epc/: the EPC heap serves every allocation from its paged region with it.
 * Not thread-safe (the heap holds a lock). Control structures live in ordinary (trusted)
 * memory; block headers live in the range itself. */
#ifndef CLOISTER_EPC_TLSF_H
#define CLOISTER_EPC_TLSF_H

#include <stddef.h>

struct epc_tlsf;

/* mem must be 16-byte aligned; size at least 64 bytes. NULL when out of memory. */
struct epc_tlsf *epc_tlsf_create(void *mem, size_t size);
void epc_tlsf_destroy(struct epc_tlsf *t);

/* 16-byte aligned; NULL when no free block fits. */
void *epc_tlsf_malloc(struct epc_tlsf *t, size_t n);
/* p NULL: malloc. Keeps p (and returns NULL) when it cannot grow it. n must not be 0. */
void *epc_tlsf_realloc(struct epc_tlsf *t, void *p, size_t n);
void epc_tlsf_free(struct epc_tlsf *t, void *p);

/* Bytes of blocks in use, headers included, now and at most. */
size_t epc_tlsf_in_use(const struct epc_tlsf *t);
size_t epc_tlsf_peak(const struct epc_tlsf *t);
/* Bytes from the start of the range to the end of the highest block ever handed out. */
size_t epc_tlsf_reach(const struct epc_tlsf *t);
/* Walks every block and checks the invariants (links, coalescing, lists, bitmaps, totals).
 * Returns 0 when all hold. For tests. */
int epc_tlsf_check(const struct epc_tlsf *t);

#endif
