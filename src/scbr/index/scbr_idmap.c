/* scbr_idmap.c -- see scbr_idmap.h. */
#include "scbr/index/scbr_idmap.h"

#include <string.h>

#define ABSENT UINT64_MAX
#define DENSE_MIN 64

static size_t slot_of(uint32_t key, size_t cap)
{
    return (size_t)((key * 0x9e3779b1u) ^ (key >> 16)) & (cap - 1);
}

/* The table slot holding key, or cap when absent. */
static size_t find(const struct scbr_idmap *m, uint32_t key)
{
    if (!m->cap)
        return 0;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].used)
            return m->cap;
        if (m->slots[i].key == key)
            return i;
    }
}

uint64_t *scbr_idmap_get(const struct scbr_idmap *m, uint32_t key)
{
    if (key < m->dense_cap)
        return m->dense[key] != ABSENT ? &m->dense[key] : NULL;
    size_t i = find(m, key);
    return i < m->cap ? &m->slots[i].val : NULL;
}

static void place(struct scbr_idmap_slot *slots, size_t cap, uint32_t key, uint64_t val)
{
    size_t i = slot_of(key, cap);
    while (slots[i].used)
        i = (i + 1) & (cap - 1);
    slots[i] = (struct scbr_idmap_slot){key, 1, val};
}

/* A table of ncap slots holding the current table's keys at or above `from`; NULL on failure. */
static struct scbr_idmap_slot *rehash(const struct scbr_idmap *m, struct scbr_mem *mem, size_t ncap,
                                      size_t from)
{
    struct scbr_idmap_slot *ns = ncap ? scbr_mem_calloc(mem, ncap, sizeof *ns) : NULL;
    if (ncap && !ns)
        return NULL;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used && m->slots[i].key >= from)
            place(ns, ncap, m->slots[i].key, m->slots[i].val);
    return ns;
}

/* Extends the array to cover key when it would stay at least a quarter full; the table's keys
 * it now covers move into it. 1 if it did, 0 if not worth it, -1 on allocation failure. */
static int cover(struct scbr_idmap *m, struct scbr_mem *mem, uint32_t key)
{
    size_t ncap = m->dense_cap ? m->dense_cap : DENSE_MIN;
    while (ncap <= key)
        ncap *= 2;
    if (ncap > 4 * (m->dense_n + m->n + 1))
        return 0;
    size_t moved = 0;
    for (size_t i = 0; i < m->cap; i++)
        moved += m->slots[i].used && m->slots[i].key < ncap;
    uint64_t *nd = scbr_mem_alloc(mem, ncap * sizeof *nd);
    struct scbr_idmap_slot *ns = NULL;
    if (!nd || (moved && !(ns = rehash(m, mem, m->cap, ncap)))) {
        scbr_mem_free(mem, nd, ncap * sizeof *nd);
        return -1;
    }
    memset(nd, 0xff, ncap * sizeof *nd);
    if (m->dense_cap)
        memcpy(nd, m->dense, m->dense_cap * sizeof *nd);
    if (moved) {
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].used && m->slots[i].key < ncap)
                nd[m->slots[i].key] = m->slots[i].val;
        scbr_mem_free(mem, m->slots, m->cap * sizeof *m->slots);
        m->slots = ns;
        m->n -= moved, m->dense_n += moved;
    }
    scbr_mem_free(mem, m->dense, m->dense_cap * sizeof *m->dense);
    m->dense = nd;
    m->dense_cap = ncap;
    return 1;
}

int scbr_idmap_put(struct scbr_idmap *m, struct scbr_mem *mem, uint32_t key, uint64_t val)
{
    if (key >= m->dense_cap) {
        int covered = cover(m, mem, key);
        if (covered < 0)
            return -1;
        if (!covered) {
            if (2 * (m->n + 1) > m->cap) {
                size_t ncap = m->cap ? 2 * m->cap : 16;
                struct scbr_idmap_slot *ns = rehash(m, mem, ncap, 0);
                if (!ns)
                    return -1;
                scbr_mem_free(mem, m->slots, m->cap * sizeof *m->slots);
                m->slots = ns;
                m->cap = ncap;
            }
            place(m->slots, m->cap, key, val);
            m->n++;
            return 0;
        }
    }
    m->dense[key] = val;
    m->dense_n++;
    return 0;
}

void scbr_idmap_del(struct scbr_idmap *m, uint32_t key)
{
    if (key < m->dense_cap) {
        if (m->dense[key] != ABSENT) {
            m->dense[key] = ABSENT;
            m->dense_n--;
        }
        return;
    }
    size_t hole = find(m, key);
    if (hole >= m->cap)
        return;
    size_t mask = m->cap - 1;
    m->slots[hole].used = 0;
    m->n--;
    for (size_t i = (hole + 1) & mask; m->slots[i].used; i = (i + 1) & mask) {
        size_t home = slot_of(m->slots[i].key, m->cap);
        /* Move i into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            m->slots[hole] = m->slots[i];
            m->slots[i].used = 0;
            hole = i;
        }
    }
}

void scbr_idmap_free(struct scbr_idmap *m, struct scbr_mem *mem)
{
    scbr_mem_free(mem, m->dense, m->dense_cap * sizeof *m->dense);
    scbr_mem_free(mem, m->slots, m->cap * sizeof *m->slots);
    *m = (struct scbr_idmap){0};
}
