/* orch_mintree.h -- a tournament tree of the nodes' loads for the simulator's decisions
 * (orch_mintree.c): the least loaded node and the first node whose load passes a monotone test,
 * each in O(log nodes), a load changed in O(log nodes). */
#ifndef CLOISTER_ORCH_MINTREE_H
#define CLOISTER_ORCH_MINTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORCH_MINTREE_NONE UINT64_MAX /* the load of a node the tree leaves out */

struct orch_mintree {
    uint64_t *min; /* 2 * leaves; min[leaves + i] is node i's load */
    size_t leaves, n;
};

/* n nodes, every one ORCH_MINTREE_NONE. */
int orch_mintree_init(struct orch_mintree *t, size_t n);
void orch_mintree_free(struct orch_mintree *t);
void orch_mintree_set(struct orch_mintree *t, size_t i, uint64_t load);
/* The least loaded node (the first among equals), -1 when every node is left out. */
long orch_mintree_least(const struct orch_mintree *t);
/* The first node in [lo, hi) whose load passes ok (ok(a) and b <= a imply ok(b)); -1 if none. */
long orch_mintree_first(const struct orch_mintree *t, size_t lo, size_t hi,
                        bool (*ok)(uint64_t load, const void *arg), const void *arg);

#endif
