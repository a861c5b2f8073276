/* scbr_heap.c -- see scbr_heap.h. */
#include "scbr/enclave/scbr_heap.h"

#include <cloister/tee_enclave.h>

static void *heap_malloc(void *ctx, size_t n)
{
    return tee_malloc(n);
}

static void *heap_realloc(void *ctx, void *p, size_t n)
{
    return tee_realloc(p, n);
}

static void heap_free(void *ctx, void *p)
{
    tee_free(p);
}

const struct scbr_allocator scbr_tee_heap = {heap_malloc, heap_realloc, heap_free, NULL};
