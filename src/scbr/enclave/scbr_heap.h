/* scbr_heap.h -- the scbr_allocator of trusted code: the enclave's EPC heap (tee_malloc), so an
 * index created with it pages under the enclave's EPC budget. For every enclave that holds an
 * SCBR index (the router's, and the matching benchmark's). */
#ifndef CLOISTER_SCBR_HEAP_H
#define CLOISTER_SCBR_HEAP_H

#include <cloister/scbr.h>

extern const struct scbr_allocator scbr_tee_heap;

#endif
