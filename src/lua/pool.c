/* pool.c -- the small-block front of a Lua state's allocator (tlua_impl.h, used by sandbox.c).
 *
 * A job makes and drops a few strings and tables per record (a word, a line's fields): millions
 * of blocks of 16 to 256 bytes per task. Served one by one by the trusted heap, each is a call
 * into the EPC allocator (its lock and a commit check) in an enclave. Here such blocks
 * come from per-size free lists, refilled from 64 KiB slabs cut by a bump pointer; the slabs go
 * back to the trusted heap, wiped, when the state closes. Larger blocks go to the trusted heap
 * directly, behind a 16-byte header.
 *
 * Invariants:
 *  1. Lua gives the block's size with every free and realloc (osize), so small blocks carry no
 *     header: a block of osize <= POOL_MAX is a small one, in a slab, of at least osize bytes.
 *     A small block shrunk stays where it is (it is only larger than its class); a large block
 *     shrunk to a small size moves to a small block, or, when no slab can be had, stays and is
 *     *adopted* (kept on a list through its header and freed with the slabs).
 *  2. Shrinking never fails (Lua assumes it); growing fails when the bytes taken from the
 *     trusted heap (slabs and large blocks, the footprint) would pass the caller's limit.
 *  3. Free blocks keep job data until the state closes, in trusted memory; the slabs are wiped
 *     before they are freed. Under AddressSanitizer free blocks are poisoned, so a use after
 *     free still reports. */
#include "lua/tlua_impl.h"

#include <cloister/tee_enclave.h>

#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define POOL_ALIGN 16
#define POOL_MAX (POOL_ALIGN * TLUA_POOL_CLASSES)
#define POOL_SLAB ((size_t)64 << 10)

/* The first bytes of a slab, and the header of a large block. */
struct chunk_head {
    struct chunk_head *next; /* slabs and adopted blocks: the pool's list */
    size_t size;             /* bytes taken from the trusted heap */
};

_Static_assert(sizeof(struct chunk_head) == POOL_ALIGN, "headers keep blocks 16-byte aligned");

static size_t class_of(size_t n)
{
    return (n - 1) / POOL_ALIGN;
}

static void *small_new(struct tlua_pool *p, size_t n, size_t limit)
{
    size_t c = class_of(n), size = (c + 1) * POOL_ALIGN;
    void *b = p->free[c];
    if (b) {
        UNPOISON(b, size);
        memcpy(&p->free[c], b, sizeof b);
        return b;
    }
    if ((size_t)(p->end - p->bump) < size) {
        if (POOL_SLAB > limit || p->footprint > limit - POOL_SLAB)
            return NULL;
        struct chunk_head *s = tee_malloc(POOL_SLAB);
        if (!s)
            return NULL;
        *s = (struct chunk_head){p->slabs, POOL_SLAB};
        p->slabs = s;
        p->footprint += POOL_SLAB;
        p->bump = (uint8_t *)(s + 1);
        p->end = (uint8_t *)s + POOL_SLAB;
        POISON(p->bump, (size_t)(p->end - p->bump));
    }
    b = p->bump;
    p->bump += size;
    UNPOISON(b, size);
    return b;
}

static void small_free(struct tlua_pool *p, void *b, size_t n)
{
    size_t c = class_of(n);
    memcpy(b, &p->free[c], sizeof b);
    p->free[c] = b;
    POISON(b, (c + 1) * POOL_ALIGN);
}

static struct chunk_head *head_of(void *b)
{
    return (struct chunk_head *)b - 1;
}

static void *large_resize(struct tlua_pool *p, void *b, size_t n, size_t limit)
{
    size_t old = b ? head_of(b)->size : 0, size = n + sizeof(struct chunk_head);
    if (size > old && (size - old > limit || p->footprint > limit - (size - old)))
        return NULL;
    struct chunk_head *h = tee_realloc(b ? head_of(b) : NULL, size);
    if (!h)
        return NULL;
    h->size = size;
    p->footprint = p->footprint - old + size;
    return h + 1;
}

static void large_free(struct tlua_pool *p, void *b)
{
    p->footprint -= head_of(b)->size;
    tee_free(head_of(b));
}

/* A large block shrunk to a small size when no small block could be had: it stays, as a small
 * block from now on, and is freed with the slabs. */
static void *adopt(struct tlua_pool *p, void *b)
{
    struct chunk_head *h = head_of(b);
    h->next = p->adopted;
    p->adopted = h;
    return b;
}

void *tlua_pool_realloc(struct tlua_pool *p, void *b, size_t osize, size_t nsize, size_t limit)
{
    if (!b)
        osize = 0;
    bool was_small = osize <= POOL_MAX, small = nsize <= POOL_MAX;
    if (b && was_small && small && nsize <= osize)
        return b; /* invariant 1: larger than its class is fine */
    if (b && !was_small && !small) {
        void *q = large_resize(p, b, nsize, limit);
        return q || nsize > osize ? q : b;
    }
    bool shrink = b && nsize < osize;
    void *q = small ? small_new(p, nsize, shrink ? SIZE_MAX : limit)
                    : large_resize(p, NULL, nsize, limit);
    if (!q)
        return shrink ? adopt(p, b) : NULL;
    if (b) {
        memcpy(q, b, osize < nsize ? osize : nsize);
        tlua_pool_free(p, b, osize);
    }
    return q;
}

void tlua_pool_free(struct tlua_pool *p, void *b, size_t osize)
{
    if (!b)
        return;
    if (osize <= POOL_MAX)
        small_free(p, b, osize);
    else
        large_free(p, b);
}

static void free_list(struct chunk_head *h)
{
    while (h) {
        struct chunk_head *next = h->next;
        UNPOISON(h, h->size);
        explicit_bzero(h, h->size);
        tee_free(h);
        h = next;
    }
}

void tlua_pool_release(struct tlua_pool *p)
{
    free_list(p->slabs);
    free_list(p->adopted);
    memset(p, 0, sizeof *p);
}
