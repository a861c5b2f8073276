/* scbr_idtab.c -- see scbr_idtab.h. FNV-1a over the id bytes: ids are random (clients draw
 * them from the CSPRNG); a host choosing colliding ids only slows its own router down. */
#include "scbr/common/scbr_idtab.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash(const uint8_t *id, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ id[i]) * 1099511628211ull;
    return h;
}

static const struct scbr_ident *at(const void *elems, size_t stride, size_t i)
{
    return (const struct scbr_ident *)((const uint8_t *)elems + i * stride);
}

long scbr_idtab_find(const struct scbr_idtab *t, const void *elems, size_t stride,
                     const uint8_t *id, size_t len)
{
    if (!t->nslots)
        return -1;
    for (size_t i = hash(id, len) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
        if (!t->slots[i])
            return -1;
        const struct scbr_ident *e = at(elems, stride, t->slots[i] - 1);
        if (e->len == len && memcmp(e->id, id, len) == 0)
            return (long)t->slots[i] - 1;
    }
}

void scbr_idtab_add(struct scbr_idtab *t, const void *elems, size_t stride, uint32_t index)
{
    const struct scbr_ident *e = at(elems, stride, index);
    size_t i = hash(e->id, e->len) & (t->nslots - 1);
    while (t->slots[i])
        i = (i + 1) & (t->nslots - 1);
    t->slots[i] = index + 1;
}

int scbr_idtab_rebuild(struct scbr_idtab *t, const void *elems, size_t stride, size_t n,
                       size_t room, const struct scbr_allocator *alloc)
{
    size_t want = 64;
    while (want < 2 * room)
        want *= 2;
    if (want != t->nslots) {
        size_t bytes = want * sizeof *t->slots;
        uint32_t *slots = alloc ? alloc->malloc(alloc->ctx, bytes) : malloc(bytes);
        if (!slots)
            return -1;
        scbr_idtab_free(t, alloc);
        t->slots = slots;
        t->nslots = want;
    }
    memset(t->slots, 0, t->nslots * sizeof *t->slots);
    for (size_t i = 0; i < n; i++)
        scbr_idtab_add(t, elems, stride, (uint32_t)i);
    return 0;
}

void scbr_idtab_free(struct scbr_idtab *t, const struct scbr_allocator *alloc)
{
    if (alloc)
        alloc->free(alloc->ctx, t->slots);
    else
        free(t->slots);
    t->slots = NULL;
    t->nslots = 0;
}
