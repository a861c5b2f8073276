/* heap.c -- the EPC heap: the TLSF allocator (tlsf.c) serving from a paged region (pager.c).
 *
 * One mutex guards the allocator. It is not the pager's: an allocation that touches a
 * non-resident block header takes the fault with the allocator mutex held, and the pager never
 * needs that mutex, so the two can always be taken in this order only. Live heaps are listed
 * so that a free without its heap (tee_free) finds the owner of a pointer. */
#include <cloister/epc.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epc/pager.h"
#include "epc/tlsf.h"

#define CLOG_MODULE "epc"
#include "util/log.h"

struct epc_heap {
    struct epc_pager *pager;
    struct epc_tlsf *tlsf;
    pthread_mutex_t lock;
    const uint8_t *base, *end;
    epc_commit_fn commit;
    void *commit_arg;
    size_t commit_chunk; /* pages asked for at a time */
    size_t committed;    /* bytes of the region's prefix granted by the hook */
};

#define MAX_HEAPS 64
static _Atomic(epc_heap *) heaps[MAX_HEAPS];
/* Slots ever used: epc_heap_owner runs on every free of a process that hosts enclaves (in-process
 * Lua states free through it too), so it scans only these rather than all MAX_HEAPS. */
static _Atomic size_t heaps_used;

static int list_heap(epc_heap *h)
{
    for (size_t i = 0; i < MAX_HEAPS; i++) {
        epc_heap *empty = NULL;
        if (atomic_compare_exchange_strong(&heaps[i], &empty, h)) {
            size_t used = atomic_load(&heaps_used);
            while (used < i + 1 && !atomic_compare_exchange_weak(&heaps_used, &used, i + 1))
                ;
            return 0;
        }
    }
    return -1;
}

static void unlist_heap(epc_heap *h)
{
    for (size_t i = 0; i < MAX_HEAPS; i++) {
        epc_heap *self = h;
        atomic_compare_exchange_strong(&heaps[i], &self, NULL);
    }
}

epc_heap *epc_heap_owner(const void *p)
{
    size_t used = atomic_load_explicit(&heaps_used, memory_order_acquire);
    for (size_t i = 0; i < used; i++) {
        epc_heap *h = atomic_load_explicit(&heaps[i], memory_order_acquire);
        if (h && epc_owns(h, p))
            return h;
    }
    return NULL;
}

epc_heap *epc_heap_create(const struct epc_config *cfg)
{
    epc_heap *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    h->pager = epc_pager_create(cfg);
    int err = h->pager ? 0 : errno;
    if (!err) {
        h->base = epc_pager_base(h->pager);
        h->end = h->base + epc_pager_size(h->pager);
        h->tlsf = epc_tlsf_create(epc_pager_base(h->pager), epc_pager_size(h->pager));
        if (!h->tlsf)
            err = ENOMEM;
    }
    if (!err && list_heap(h) != 0) {
        clog_error("too many EPC heaps at once (at most %d)", MAX_HEAPS);
        err = EMFILE;
    }
    if (err) {
        epc_tlsf_destroy(h->tlsf);
        epc_pager_destroy(h->pager);
        pthread_mutex_destroy(&h->lock);
        free(h);
        errno = err;
        return NULL;
    }
    return h;
}

void epc_heap_destroy(epc_heap *h)
{
    if (!h)
        return;
    unlist_heap(h);
    epc_tlsf_destroy(h->tlsf);
    epc_pager_destroy(h->pager);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void epc_heap_set_commit(epc_heap *h, epc_commit_fn fn, void *arg, size_t chunk_pages)
{
    pthread_mutex_lock(&h->lock);
    h->commit = fn;
    h->commit_arg = arg;
    h->commit_chunk = chunk_pages ? chunk_pages : 1;
    pthread_mutex_unlock(&h->lock);
}

/* Whether the region is committed up to offset `end`; with the lock held. */
static bool committed_locked(const epc_heap *h, size_t end)
{
    return !h->commit || end <= h->committed;
}

/* Asks the hook to commit the region up to offset `end` (rounded up to chunks). Called without
 * the lock: the hook may do anything but allocate from this heap while it waits (an enclave's
 * ocall frees and allocates buffers). Grants only ever raise what is committed. */
static bool commit_to(epc_heap *h, size_t end)
{
    pthread_mutex_lock(&h->lock);
    epc_commit_fn fn = h->commit;
    void *arg = h->commit_arg;
    size_t chunk = h->commit_chunk * EPC_PAGE_SIZE, size = (size_t)(h->end - h->base);
    bool enough = committed_locked(h, end);
    pthread_mutex_unlock(&h->lock);
    if (enough)
        return true;
    size_t want = end >= size ? size : (end + chunk - 1) / chunk * chunk;
    if (want > size)
        want = size;
    if (fn(arg, want / EPC_PAGE_SIZE) != 0)
        return false;
    pthread_mutex_lock(&h->lock);
    if (want > h->committed)
        h->committed = want;
    pthread_mutex_unlock(&h->lock);
    return true;
}

void *epc_malloc(epc_heap *h, size_t n)
{
    pthread_mutex_lock(&h->lock);
    void *p = epc_tlsf_malloc(h->tlsf, n);
    bool enough = !p || committed_locked(h, (size_t)((const uint8_t *)p - h->base) + n);
    pthread_mutex_unlock(&h->lock);
    if (!enough && !commit_to(h, (size_t)((const uint8_t *)p - h->base) + n)) {
        epc_free(h, p);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

void *epc_calloc(epc_heap *h, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = epc_malloc(h, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *epc_realloc(epc_heap *h, void *p, size_t n)
{
    if (n == 0) {
        epc_free(h, p);
        return NULL;
    }
    /* One lock when the region is already committed past where the block could end up (the
     * common case: a Lua heap growing and shrinking below its high-water mark). */
    pthread_mutex_lock(&h->lock);
    size_t worst = epc_tlsf_reach(h->tlsf) + n;
    worst = worst < n ? SIZE_MAX : worst;
    bool enough = committed_locked(h, worst);
    void *q = enough ? epc_tlsf_realloc(h->tlsf, p, n) : NULL;
    pthread_mutex_unlock(&h->lock);
    if (enough)
        return q;
    if (!commit_to(h, worst)) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&h->lock);
    q = epc_tlsf_realloc(h->tlsf, p, n);
    pthread_mutex_unlock(&h->lock);
    return q;
}

void epc_free(epc_heap *h, void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&h->lock);
    epc_tlsf_free(h->tlsf, p);
    pthread_mutex_unlock(&h->lock);
}

bool epc_owns(const epc_heap *h, const void *p)
{
    return (const uint8_t *)p >= h->base && (const uint8_t *)p < h->end;
}

void *epc_lua_alloc(void *heap, void *ptr, size_t osize, size_t nsize)
{
    (void)osize;
    return epc_realloc(heap, ptr, nsize);
}

void epc_heap_stats(epc_heap *h, struct epc_stats *out)
{
    memset(out, 0, sizeof *out);
    epc_pager_stats(h->pager, out);
    pthread_mutex_lock(&h->lock);
    out->heap_in_use = epc_tlsf_in_use(h->tlsf);
    out->heap_peak = epc_tlsf_peak(h->tlsf);
    if (epc_pager_kind(h->pager) == EPC_PAGER_AUTO) {
        /* Plain memory: at most the pages the allocator has reached were touched through it. */
        out->resident_pages = (epc_tlsf_reach(h->tlsf) + EPC_PAGE_SIZE - 1) / EPC_PAGE_SIZE;
        out->peak_resident_pages = out->resident_pages;
    }
    pthread_mutex_unlock(&h->lock);
}

int epc_parse_budget(const char *text, size_t *bytes)
{
    if (!text)
        return -1;
    if (strcmp(text, "unlimited") == 0) {
        *bytes = EPC_BUDGET_UNLIMITED;
        return 0;
    }
    char *end;
    errno = 0;
    double mib = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(mib) || mib <= 0 ||
        mib > (double)(EPC_MAX_SIZE >> 20))
        return -1;
    size_t b = (size_t)(mib * 1048576.0) / EPC_PAGE_SIZE * EPC_PAGE_SIZE;
    if (b / EPC_PAGE_SIZE < EPC_MIN_BUDGET_PAGES)
        return -1;
    *bytes = b;
    return 0;
}

void epc_format_budget(size_t bytes, char *out, size_t cap)
{
    if (bytes == EPC_BUDGET_UNLIMITED)
        snprintf(out, cap, "unlimited");
    else
        snprintf(out, cap, "%.6g MiB", (double)bytes / 1048576.0);
}
