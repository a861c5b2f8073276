/* tlsf.c -- Two-Level Segregated Fit (Masmano, Ripoll, Crespo, Real; ECRTS 2004).
 *
 * Why TLSF for the EPC heap: it serves any given range (RTOS pools are its home), malloc and
 * free are O(1) with bounded fragmentation, and the whole allocator is a few hundred lines of
 * trusted code that touches only block headers -- so the pages an allocation touches are the
 * pages it uses. jemalloc (Debian's 5.3 has extent hooks) was the alternative: its extents can
 * come from our region, but the Debian library replaces malloc process-wide, fights ASan's
 * interceptors, and keeps its own thread caches and metadata outside our control.
 *
 * Layout: every block starts with a 16-byte header (previous physical block, payload size with
 * a FREE bit) and its payload follows, 16-byte aligned. A free block keeps its free-list links
 * in the first 16 bytes of its payload. Free blocks are never adjacent (free coalesces both
 * ways). A zero-size, in-use sentinel header ends the range. Free blocks are kept in lists
 * indexed by (fl, sl): fl = the power of two of the size, sl = which of 32 equal slices of
 * that power; sizes below 512 bytes go to fl 0 in 16-byte steps. Two bitmaps say which lists
 * are non-empty, so a search is a couple of find-first-set instructions. A request is rounded
 * up to the next slice boundary ("good fit"), so any block of the list found fits; if none is
 * found, the request's own list is scanned once for a block that fits exactly enough.
 *
 * Under AddressSanitizer, payloads are poisoned except the bytes handed out (exact size) and
 * the links of free blocks: overflows and use after free in enclave code are reported as with
 * malloc. Headers are never poisoned, so this file itself needs no exemption. */
#include "epc/tlsf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "epc/pager.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EPC_TLSF_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define EPC_TLSF_ASAN 1
#endif
#ifdef EPC_TLSF_ASAN
#include <sanitizer/asan_interface.h>
#define asan_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define asan_poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN 16u
#define HDR 16u   /* prev_phys + size */
#define LINKS 16u /* next_free + prev_free, in a free block's payload */
#define MIN_PAYLOAD LINKS
#define SL_LOG2 5
#define SL_COUNT (1u << SL_LOG2)
#define FL_SHIFT (SL_LOG2 + 4) /* log2(SL_COUNT * ALIGN) */
#define SMALL ((size_t)1 << FL_SHIFT)
#define FL_MAX 41 /* blocks below 2^41 bytes: a 1 TiB range fits */
#define FL_COUNT (FL_MAX - FL_SHIFT + 1)
#define FREE_BIT ((size_t)1)
#define MAX_REQUEST ((size_t)1 << (FL_MAX - 1))

struct block {
    struct block *prev_phys;             /* NULL for the first block */
    size_t size;                         /* payload bytes | FREE_BIT */
    struct block *next_free, *prev_free; /* free blocks only: part of the payload */
};

struct epc_tlsf {
    uint8_t *mem, *end;
    uint8_t *high; /* end of the highest block handed out, or poisoned: destroy cleans below */
    size_t in_use, peak;
    uint64_t fl_bitmap;
    uint32_t sl_bitmap[FL_COUNT];
    struct block *lists[FL_COUNT][SL_COUNT];
};

static size_t bsize(const struct block *b)
{
    return b->size & ~FREE_BIT;
}

static int is_free(const struct block *b)
{
    return (b->size & FREE_BIT) != 0;
}

static uint8_t *payload(const struct block *b)
{
    return (uint8_t *)b + HDR;
}

static struct block *next_phys(const struct block *b)
{
    return (struct block *)(payload(b) + bsize(b));
}

/* Poisons for ASan, keeping high above everything poisoned so destroy can clean it all. */
static void poison(struct epc_tlsf *t, void *p, size_t n)
{
    asan_poison(p, n);
    if ((uint8_t *)p + n > t->high)
        t->high = (uint8_t *)p + n;
}

static int fls_size(size_t x)
{
    return 63 - __builtin_clzll((unsigned long long)x);
}

static void mapping(size_t size, int *fl, int *sl)
{
    if (size < SMALL) {
        *fl = 0;
        *sl = (int)(size / ALIGN);
    } else {
        int f = fls_size(size);
        *sl = (int)((size >> (f - SL_LOG2)) ^ SL_COUNT);
        *fl = f - (FL_SHIFT - 1);
    }
}

/* ---- free lists ---- */

static void insert_free(struct epc_tlsf *t, struct block *b)
{
    int fl, sl;
    mapping(bsize(b), &fl, &sl);
    struct block *head = t->lists[fl][sl];
    b->next_free = head;
    b->prev_free = NULL;
    if (head)
        head->prev_free = b;
    t->lists[fl][sl] = b;
    t->fl_bitmap |= 1ull << fl;
    t->sl_bitmap[fl] |= 1u << sl;
}

static void remove_free(struct epc_tlsf *t, struct block *b)
{
    int fl, sl;
    mapping(bsize(b), &fl, &sl);
    if (b->prev_free)
        b->prev_free->next_free = b->next_free;
    else
        t->lists[fl][sl] = b->next_free;
    if (b->next_free)
        b->next_free->prev_free = b->prev_free;
    if (!t->lists[fl][sl]) {
        t->sl_bitmap[fl] &= ~(1u << sl);
        if (!t->sl_bitmap[fl])
            t->fl_bitmap &= ~(1ull << fl);
    }
}

static struct block *find_free(const struct epc_tlsf *t, size_t size)
{
    int fl, sl;
    size_t rounded = size;
    if (size >= SMALL)
        rounded += ((size_t)1 << (fls_size(size) - SL_LOG2)) - 1;
    mapping(rounded, &fl, &sl);
    if (fl < FL_COUNT) {
        uint32_t sl_map = t->sl_bitmap[fl] & (~0u << sl);
        if (!sl_map) {
            uint64_t fl_map = fl + 1 < 64 ? t->fl_bitmap & (~0ull << (fl + 1)) : 0;
            if (fl_map) {
                fl = __builtin_ctzll(fl_map);
                sl_map = t->sl_bitmap[fl];
            }
        }
        if (sl_map)
            return t->lists[fl][__builtin_ctz(sl_map)];
    }
    /* Nothing in the classes that surely fit: a block of the request's own class may. */
    mapping(size, &fl, &sl);
    for (struct block *b = t->lists[fl][sl]; b; b = b->next_free)
        if (bsize(b) >= size)
            return b;
    return NULL;
}

/* ---- splitting and merging ---- */

/* Cuts b down to `size` payload bytes when the rest can be a block; returns the rest (a
 * free block not yet in any list) or NULL. */
static struct block *split(struct block *b, size_t size)
{
    size_t total = bsize(b);
    if (total < size + HDR + MIN_PAYLOAD)
        return NULL;
    struct block *rest = (struct block *)(payload(b) + size);
    unpoison(rest, HDR + LINKS);
    rest->prev_phys = b;
    rest->size = (total - size - HDR) | FREE_BIT;
    next_phys(rest)->prev_phys = rest;
    b->size = size | (b->size & FREE_BIT);
    return rest;
}

/* Appends b's physical successor `next` (free, out of its list) to b. */
static void absorb(struct block *b, struct block *next)
{
    b->size = (bsize(b) + HDR + bsize(next)) | (b->size & FREE_BIT);
    next_phys(b)->prev_phys = b;
}

/* A free block not in any list: merges it with free neighbours and lists the result. */
static void release(struct epc_tlsf *t, struct block *b)
{
    b->size |= FREE_BIT;
    struct block *prev = b->prev_phys;
    if (prev && is_free(prev)) {
        remove_free(t, prev);
        absorb(prev, b);
        poison(t, b, HDR + LINKS); /* b's header is now inside prev's payload */
        b = prev;
    }
    struct block *next = next_phys(b);
    if (is_free(next)) {
        remove_free(t, next);
        absorb(b, next);
        poison(t, next, HDR + LINKS);
    }
    unpoison(payload(b), LINKS);
    insert_free(t, b);
}

/* Shadow of an in-use block: exactly the n requested bytes are addressable. */
static void mark_used(struct epc_tlsf *t, struct block *b, size_t n)
{
    poison(t, payload(b), bsize(b)); /* also raises high to the end of b */
    unpoison(payload(b), n);
}

static void account(struct epc_tlsf *t, size_t before, size_t after)
{
    t->in_use = t->in_use - before + after;
    if (t->in_use > t->peak)
        t->peak = t->in_use;
}

static size_t adjust(size_t n)
{
    if (n > MAX_REQUEST)
        return 0;
    size_t size = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    return size < MIN_PAYLOAD ? MIN_PAYLOAD : size;
}

static struct block *block_of(const struct epc_tlsf *t, void *p, const char *caller)
{
    uint8_t *u = p;
    if (u < t->mem + HDR || u >= t->end || ((uintptr_t)(u - t->mem) % ALIGN) != 0)
        epc_fatal(caller, SIZE_MAX, 0);
    struct block *b = (struct block *)(u - HDR);
    if (is_free(b))
        epc_fatal(caller, SIZE_MAX, 0);
    return b;
}

/* ---- API ---- */

struct epc_tlsf *epc_tlsf_create(void *mem, size_t size)
{
    if (((uintptr_t)mem % ALIGN) != 0 || size < 2 * HDR + 2 * MIN_PAYLOAD)
        return NULL;
    struct epc_tlsf *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t usable = (size - 2 * HDR) & ~(size_t)(ALIGN - 1);
    if (usable >= ((size_t)1 << FL_MAX))
        usable = ((size_t)1 << FL_MAX) - ALIGN;
    t->mem = t->high = mem;
    struct block *first = mem;
    first->prev_phys = NULL;
    first->size = usable | FREE_BIT;
    struct block *sentinel = next_phys(first);
    sentinel->prev_phys = first;
    sentinel->size = 0;
    t->end = (uint8_t *)sentinel;
    insert_free(t, first);
    return t;
}

void epc_tlsf_destroy(struct epc_tlsf *t)
{
    if (!t)
        return;
    unpoison(t->mem, (size_t)(t->high - t->mem)); /* the range may be mapped again later */
    free(t);
}

void *epc_tlsf_malloc(struct epc_tlsf *t, size_t n)
{
    size_t size = adjust(n);
    struct block *b = size ? find_free(t, size) : NULL;
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    remove_free(t, b);
    struct block *rest = split(b, size);
    if (rest)
        insert_free(t, rest); /* b was free, so rest's successor is in use: nothing to merge */
    b->size &= ~FREE_BIT;
    mark_used(t, b, n);
    account(t, 0, HDR + bsize(b));
    return payload(b);
}

void epc_tlsf_free(struct epc_tlsf *t, void *p)
{
    if (!p)
        return;
    struct block *b = block_of(t, p,
                               "epc_free: pointer not allocated from this heap, or freed "
                               "twice");
    account(t, HDR + bsize(b), 0);
    poison(t, payload(b), bsize(b));
    release(t, b);
}

void *epc_tlsf_realloc(struct epc_tlsf *t, void *p, size_t n)
{
    if (!p)
        return epc_tlsf_malloc(t, n);
    struct block *b = block_of(t, p,
                               "epc_realloc: pointer not allocated from this heap, or "
                               "already freed");
    size_t size = adjust(n), before = HDR + bsize(b);
    if (!size) {
        errno = ENOMEM;
        return NULL;
    }
    struct block *next = next_phys(b);
    if (size > bsize(b) && is_free(next) && bsize(b) + HDR + bsize(next) >= size) {
        remove_free(t, next);
        absorb(b, next);
    }
    if (size <= bsize(b)) {
        struct block *rest = split(b, size);
        if (rest) {
            poison(t, payload(rest), bsize(rest));
            release(t, rest);
        }
        mark_used(t, b, n);
        account(t, before, HDR + bsize(b));
        return p;
    }
    void *q = epc_tlsf_malloc(t, n);
    if (!q)
        return NULL;
    unpoison(p, bsize(b)); /* the old block is read whole, then freed */
    memcpy(q, p, bsize(b));
    epc_tlsf_free(t, p);
    return q;
}

size_t epc_tlsf_in_use(const struct epc_tlsf *t)
{
    return t->in_use;
}

size_t epc_tlsf_peak(const struct epc_tlsf *t)
{
    return t->peak;
}

size_t epc_tlsf_reach(const struct epc_tlsf *t)
{
    return (size_t)(t->high - t->mem);
}

static int listed(const struct epc_tlsf *t, const struct block *b)
{
    int fl, sl;
    mapping(bsize(b), &fl, &sl);
    if (!(t->fl_bitmap & (1ull << fl)) || !(t->sl_bitmap[fl] & (1u << sl)))
        return 0;
    for (const struct block *x = t->lists[fl][sl]; x; x = x->next_free)
        if (x == b)
            return 1;
    return 0;
}

int epc_tlsf_check(const struct epc_tlsf *t)
{
    size_t used = 0, nfree = 0, listed_count = 0;
    const struct block *prev = NULL;
    const struct block *b = (const struct block *)t->mem;
    for (; (const uint8_t *)b < t->end; prev = b, b = next_phys(b)) {
        if (b->prev_phys != prev || bsize(b) < MIN_PAYLOAD || bsize(b) % ALIGN)
            return -1;
        if (is_free(b)) {
            if ((prev && is_free(prev)) || !listed(t, b))
                return -1;
            nfree++;
        } else {
            used += HDR + bsize(b);
        }
    }
    if ((const uint8_t *)b != t->end || b->prev_phys != prev || b->size != 0 || used != t->in_use)
        return -1;
    for (int fl = 0; fl < FL_COUNT; fl++)
        for (int sl = 0; sl < (int)SL_COUNT; sl++) {
            int bit = (t->sl_bitmap[fl] >> sl) & 1;
            if (bit != (t->lists[fl][sl] != NULL))
                return -1;
            for (const struct block *x = t->lists[fl][sl]; x; x = x->next_free)
                listed_count++;
        }
    for (int fl = 0; fl < FL_COUNT; fl++)
        if (((t->fl_bitmap >> fl) & 1) != (t->sl_bitmap[fl] != 0))
            return -1;
    return listed_count == nfree ? 0 : -1;
}
