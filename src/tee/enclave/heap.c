/* heap.c -- the trusted heap.
 *
 * tee_malloc and friends serve a call's allocations from its enclave's EPC heap (src/epc: a
 * budgeted region paged out encrypted, as SGX pages its EPC); the dispatcher makes that heap
 * current around every handler. Outside calls (the runtime's own bookkeeping) they use the
 * process heap; tee_free and tee_realloc find which heap a pointer belongs to. Memory for
 * secrets is not here but in src/tee/secret, below the trust code and the platform. */
#include "tee/enclave/rt.h"

#include <cloister/epc.h>
#include <cloister/tee_enclave.h>

#include <stdlib.h>

static _Thread_local epc_heap *current_heap;

epc_heap *tee_heap_switch(epc_heap *h)
{
    epc_heap *prev = current_heap;
    current_heap = h;
    return prev;
}

epc_heap *tee_heap_new(const struct tee_config *c)
{
    struct epc_config cfg = {
        .size = (size_t)c->heap_size,
        .budget = c->epc_budget == TEE_EPC_UNLIMITED ? EPC_BUDGET_UNLIMITED : (size_t)c->epc_budget,
        .pager = EPC_PAGER_AUTO,
    };
    return epc_heap_create(&cfg);
}

void *tee_malloc(size_t n)
{
    return current_heap ? epc_malloc(current_heap, n) : malloc(n);
}

void *tee_calloc(size_t count, size_t size)
{
    return current_heap ? epc_calloc(current_heap, count, size) : calloc(count, size);
}

void *tee_realloc(void *p, size_t n)
{
    if (!p)
        return tee_malloc(n);
    epc_heap *h = epc_heap_owner(p);
    return h ? epc_realloc(h, p, n) : realloc(p, n);
}

void tee_free(void *p)
{
    epc_heap *h = epc_heap_owner(p);
    if (h)
        epc_free(h, p);
    else
        free(p);
}

void *tee_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        tee_free(ptr);
        return NULL;
    }
    return tee_realloc(ptr, nsize);
}
