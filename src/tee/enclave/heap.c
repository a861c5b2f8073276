/* heap.c -- the trusted heap and the memory for secrets.
 *
 * tee_malloc and friends serve a call's allocations from its enclave's EPC heap (src/epc: a
 * budgeted region paged out encrypted, as SGX pages its EPC); the dispatcher makes that heap
 * current around every handler. Outside calls (the runtime's own bookkeeping) they use the
 * process heap; tee_free and tee_realloc find which heap a pointer belongs to. Secrets get
 * whole pages of their own: from memfd_secret where the kernel offers it (the pages leave the
 * kernel's direct map, so not even a kernel read primitive through the linear map sees them),
 * else anonymous pages that are mlock'd (never swapped), excluded from core dumps and wiped in
 * a forked child. */
#include "tee/enclave/rt.h"

#include <cloister/crypto.h>
#include <cloister/epc.h>
#include <cloister/tee_enclave.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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
        .budget = c->epc_budget == TEE_EPC_UNLIMITED ? EPC_BUDGET_UNLIMITED
                                                     : (size_t)c->epc_budget,
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

static _Atomic int secret_kind = -1; /* enum tee_secret_memory once known */

static size_t page_round(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return n > SIZE_MAX - page ? 0 : (n + page - 1) / page * page;
}

static void *secret_pages(size_t size)
{
    long fd = syscall(SYS_memfd_secret, 0);
    if (fd < 0)
        return MAP_FAILED;
    void *p = MAP_FAILED;
    if (ftruncate((int)fd, (off_t)size) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
    close((int)fd);
    return p;
}

static void *locked_pages(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return p;
    if (mlock(p, size) != 0) {
        munmap(p, size);
        return MAP_FAILED;
    }
    madvise(p, size, MADV_DONTDUMP);
    madvise(p, size, MADV_WIPEONFORK);
    return p;
}

void *tee_secret_alloc(size_t n)
{
    size_t size = page_round(n ? n : 1);
    if (!size)
        return NULL;
    int kind = atomic_load(&secret_kind);
    void *p = MAP_FAILED;
    if (kind != TEE_SECRET_MEMORY_MLOCK) {
        p = secret_pages(size);
        if (kind < 0)
            atomic_store(&secret_kind, p != MAP_FAILED ? TEE_SECRET_MEMORY_MEMFD_SECRET
                                                        : TEE_SECRET_MEMORY_MLOCK);
    }
    if (p == MAP_FAILED && atomic_load(&secret_kind) == TEE_SECRET_MEMORY_MLOCK)
        p = locked_pages(size);
    return p == MAP_FAILED ? NULL : p;
}

void tee_secret_free(void *p, size_t n)
{
    if (!p)
        return;
    size_t size = page_round(n ? n : 1);
    crypto_wipe(p, size);
    munmap(p, size); /* also unlocks */
}

enum tee_secret_memory tee_secret_memory_kind(void)
{
    if (atomic_load(&secret_kind) < 0)
        tee_secret_free(tee_secret_alloc(1), 1);
    int kind = atomic_load(&secret_kind);
    return kind < 0 ? TEE_SECRET_MEMORY_NONE : (enum tee_secret_memory)kind;
}
