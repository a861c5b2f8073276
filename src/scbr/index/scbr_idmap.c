/* scbr_idmap.c -- see scbr_idmap.h. Load factor at most 1/2. */
#include "scbr/index/scbr_idmap.h"

static size_t slot_of(uint32_t key, size_t cap)
{
    return (size_t)((key * 0x9e3779b1u) ^ (key >> 16)) & (cap - 1);
}

/* The slot holding key, or cap when absent. */
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

int scbr_idmap_put(struct scbr_idmap *m, struct scbr_mem *mem, uint32_t key, uint64_t val)
{
    if (2 * (m->n + 1) > m->cap) {
        size_t ncap = m->cap ? 2 * m->cap : 16;
        struct scbr_idmap_slot *ns = scbr_mem_calloc(mem, ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].used)
                place(ns, ncap, m->slots[i].key, m->slots[i].val);
        scbr_mem_free(mem, m->slots, m->cap * sizeof *m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    place(m->slots, m->cap, key, val);
    m->n++;
    return 0;
}

void scbr_idmap_del(struct scbr_idmap *m, uint32_t key)
{
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
    scbr_mem_free(mem, m->slots, m->cap * sizeof *m->slots);
    *m = (struct scbr_idmap){0};
}
