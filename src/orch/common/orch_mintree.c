/* orch_mintree.c -- the simulator's tournament tree (orch_mintree.h). A complete binary tree
 * over a power of two of leaves, each inner node the minimum of its children. least() follows
 * the minimum down, left first, so ties go to the lowest index; first() descends into a subtree
 * only when its minimum passes the test (a monotone one: if the minimum fails, every load of the
 * subtree fails), so it visits O(log n) subtrees that fail besides the path it returns. */
#include "orch/common/orch_mintree.h"

#include <cloister/error.h>

#include <stdlib.h>

int orch_mintree_init(struct orch_mintree *t, size_t n)
{
    t->n = n;
    t->leaves = 1;
    while (t->leaves < n)
        t->leaves *= 2;
    t->min = malloc(2 * t->leaves * sizeof *t->min);
    if (!t->min)
        return CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i < 2 * t->leaves; i++)
        t->min[i] = ORCH_MINTREE_NONE;
    return CLOISTER_OK;
}

void orch_mintree_free(struct orch_mintree *t)
{
    free(t->min);
    t->min = NULL;
}

void orch_mintree_set(struct orch_mintree *t, size_t i, uint64_t load)
{
    size_t k = t->leaves + i;
    t->min[k] = load;
    for (k /= 2; k >= 1; k /= 2) {
        uint64_t m = t->min[2 * k] < t->min[2 * k + 1] ? t->min[2 * k] : t->min[2 * k + 1];
        if (t->min[k] == m)
            break; /* the rest of the path is unchanged */
        t->min[k] = m;
    }
}

long orch_mintree_least(const struct orch_mintree *t)
{
    if (t->min[1] == ORCH_MINTREE_NONE)
        return -1;
    size_t k = 1;
    while (k < t->leaves)
        k = t->min[2 * k] == t->min[k] ? 2 * k : 2 * k + 1;
    return (long)(k - t->leaves);
}

/* Node k covers leaves [from, from + width). */
static long first(const struct orch_mintree *t, size_t k, size_t from, size_t width, size_t lo,
                  size_t hi, bool (*ok)(uint64_t, const void *), const void *arg)
{
    if (from >= hi || from + width <= lo || t->min[k] == ORCH_MINTREE_NONE || !ok(t->min[k], arg))
        return -1;
    if (width == 1)
        return (long)from;
    long r = first(t, 2 * k, from, width / 2, lo, hi, ok, arg);
    return r >= 0 ? r : first(t, 2 * k + 1, from + width / 2, width / 2, lo, hi, ok, arg);
}

long orch_mintree_first(const struct orch_mintree *t, size_t lo, size_t hi,
                        bool (*ok)(uint64_t load, const void *arg), const void *arg)
{
    return first(t, 1, 0, t->leaves, lo, hi, ok, arg);
}
