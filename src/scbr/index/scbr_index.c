/* scbr_index.c -- the one interface over the matching engines, and the counting allocator.
 *
 * An index is an engine vtable, the engine's state and a result vector reused across matches.
 * Engines append matching ids in whatever order suits them; this layer sorts them, so every
 * engine answers identically (ids increasing) and callers never see engine order. Every byte
 * goes through struct scbr_mem, which forwards to the caller's allocator and counts live bytes
 * from the sizes the engines pass back on free. */
#include <cloister/scbr.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scbr/common/scbr_internal.h"

struct scbr_index {
    const struct scbr_engine *engine;
    void *e;
    struct scbr_mem mem;
    struct scbr_ids result;
};

static void *libc_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *libc_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    return realloc(p, size);
}

static void libc_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

void scbr_mem_init(struct scbr_mem *m, const struct scbr_allocator *a)
{
    static const struct scbr_allocator libc = {libc_malloc, libc_realloc, libc_free, NULL};
    m->a = a ? *a : libc;
    m->bytes = 0;
}

void *scbr_mem_alloc(struct scbr_mem *m, size_t size)
{
    void *p = m->a.malloc(m->a.ctx, size ? size : 1);
    if (p)
        m->bytes += size;
    return p;
}

void *scbr_mem_calloc(struct scbr_mem *m, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = scbr_mem_alloc(m, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *scbr_mem_realloc(struct scbr_mem *m, void *p, size_t old, size_t size)
{
    void *q = m->a.realloc(m->a.ctx, p, size ? size : 1);
    if (q)
        m->bytes = m->bytes - old + size;
    return q;
}

void scbr_mem_free(struct scbr_mem *m, void *p, size_t size)
{
    if (!p)
        return;
    m->a.free(m->a.ctx, p);
    m->bytes -= size;
}

int scbr_mem_grow(struct scbr_mem *m, void **v, size_t *cap, size_t need, size_t esize)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / esize)
        return -1;
    void *grown = scbr_mem_realloc(m, *v, *cap * esize, ncap * esize);
    if (!grown)
        return -1;
    *v = grown;
    *cap = ncap;
    return 0;
}

struct scbr_sub *scbr_mem_sub_clone(struct scbr_mem *m, const struct scbr_sub *s)
{
    void *block = scbr_mem_alloc(m, scbr_sub_block_size(s));
    return block ? scbr_sub_copy_into(block, s->preds, s->n) : NULL;
}

int scbr_ids_push(struct scbr_ids *ids, struct scbr_mem *m, uint32_t id)
{
    if (ids->n == ids->cap &&
        scbr_mem_grow(m, (void **)&ids->v, &ids->cap, ids->n + 1, sizeof *ids->v) != 0)
        return -1;
    ids->v[ids->n++] = id;
    return 0;
}

static const struct scbr_engine *const engines[] = {
    [SCBR_INDEX_NAIVE] = &scbr_engine_naive,
    [SCBR_INDEX_POSET] = &scbr_engine_poset,
    [SCBR_INDEX_FAST] = &scbr_engine_fast,
};

int scbr_index_kind_from_name(const char *name)
{
    for (int k = 0; k < (int)(sizeof engines / sizeof engines[0]); k++)
        if (strcmp(name, engines[k]->name) == 0)
            return k;
    return -1;
}

const char *scbr_index_kind_name(enum scbr_index_kind kind)
{
    return (unsigned)kind <= SCBR_INDEX_FAST ? engines[kind]->name : "?";
}

scbr_index *scbr_index_create(enum scbr_index_kind kind, const struct scbr_allocator *alloc)
{
    if ((unsigned)kind > SCBR_INDEX_FAST) {
        errno = EINVAL;
        return NULL;
    }
    struct scbr_mem mem;
    scbr_mem_init(&mem, alloc);
    scbr_index *idx = scbr_mem_alloc(&mem, sizeof *idx);
    if (!idx)
        return NULL;
    *idx = (struct scbr_index){engines[kind], NULL, mem, {0}};
    idx->e = idx->engine->create(&idx->mem);
    if (!idx->e) {
        scbr_mem_free(&idx->mem, idx, sizeof *idx);
        errno = ENOMEM;
        return NULL;
    }
    return idx;
}

void scbr_index_destroy(scbr_index *idx)
{
    if (!idx)
        return;
    idx->engine->destroy(idx->e, &idx->mem);
    scbr_mem_free(&idx->mem, idx->result.v, idx->result.cap * sizeof *idx->result.v);
    struct scbr_mem mem = idx->mem;
    scbr_mem_free(&mem, idx, sizeof *idx);
}

/* The engines say why they failed in errno (EEXIST, ENOENT, else out of memory): they run
 * inside enclaves too, where a struct cloister_err would only be filled to be dropped. */
static int engine_failed(uint32_t id, struct cloister_err *err)
{
    if (errno == EEXIST)
        return cloister_errf(err, CLOISTER_E_EXISTS, "subscription id %u is taken", id);
    if (errno == ENOENT)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "no subscription id %u", id);
    return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
}

int scbr_index_insert(scbr_index *idx, const struct scbr_sub *s, uint32_t id,
                      struct cloister_err *err)
{
    if (idx->engine->insert(idx->e, &idx->mem, s, id) != 0)
        return engine_failed(id, err);
    return 0;
}

int scbr_index_remove(scbr_index *idx, uint32_t id, struct cloister_err *err)
{
    if (idx->engine->remove(idx->e, &idx->mem, id) != 0)
        return engine_failed(id, err);
    return 0;
}

/* LSD radix sort on 32-bit ids in 11-bit digits with the tail of the result vector as buffer;
 * falls back to insertion sort for the usual handful of matches. Engines that keep insertion
 * order usually hand over sorted ids: one pass recognises that and skips the sort. */
static void sort_ids(uint32_t *v, uint32_t *tmp, size_t n)
{
    size_t sorted = 1;
    while (sorted < n && v[sorted - 1] < v[sorted])
        sorted++;
    if (sorted >= n)
        return;
    if (n < 64) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1] > x; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    uint32_t *src = v, *dst = tmp;
    for (int shift = 0; shift < 33; shift += 11) {
        size_t count[2049] = {0};
        for (size_t i = 0; i < n; i++)
            count[((src[i] >> shift) & 2047) + 1]++;
        for (size_t b = 1; b <= 2048; b++)
            count[b] += count[b - 1];
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & 2047]++] = src[i];
        uint32_t *t = src;
        src = dst, dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
}

/* Runs the engine and sorts; the result lives in idx->result until the next match. */
static int match_sorted(scbr_index *idx, const struct scbr_pub *pub)
{
    idx->result.n = 0;
    if (idx->engine->match(idx->e, &idx->mem, pub, &idx->result) != 0)
        return -1;
    size_t n = idx->result.n;
    if (n >= 64) {
        if (scbr_mem_grow(&idx->mem, (void **)&idx->result.v, &idx->result.cap, 2 * n,
                          sizeof(uint32_t)) != 0)
            return -1;
    }
    if (n > 1) /* v may still be NULL when nothing ever matched */
        sort_ids(idx->result.v, idx->result.v + n, n);
    return 0;
}

size_t scbr_index_match(scbr_index *idx, const struct scbr_pub *pub, uint32_t *ids, size_t cap)
{
    if (match_sorted(idx, pub) != 0)
        return 0;
    size_t n = idx->result.n;
    if (n && cap)
        memcpy(ids, idx->result.v, (n < cap ? n : cap) * sizeof *ids);
    return n;
}

int scbr_index_match_batch(scbr_index *idx, const struct scbr_pub *const *pubs, size_t n,
                           scbr_match_fn fn, void *ctx, struct cloister_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (match_sorted(idx, pubs[i]) != 0)
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        for (size_t k = 0; k < idx->result.n; k++) {
            int rc = fn(ctx, i, idx->result.v[k]);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

void scbr_index_stats(const scbr_index *idx, struct scbr_index_stats *st)
{
    memset(st, 0, sizeof *st);
    idx->engine->stats(idx->e, st);
    st->bytes = idx->mem.bytes;
}
