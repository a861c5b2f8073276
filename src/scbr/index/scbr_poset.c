/* scbr_poset.c -- the original SCBR index: a containment DAG of subscriptions (Siena poset).
 *
 * Node 0 is a virtual top that covers everything; every other node holds one distinct
 * subscription and the ids of all equivalent subscriptions merged into it. An edge P -> C means
 * P covers C. Invariants: the graph is acyclic and every node but the top has a parent, so every
 * node is reachable from the top through covering edges only.
 *
 * Match: DFS from the top; a node that fails prunes everything below it (whatever it covers
 * cannot match either), and a visit stamp tests each node at most once per publication.
 * Insert: top-down search for the covering nodes (descending only below nodes that cover the
 * new one), merge if ANY of them is equivalent (the original followed only the first covering
 * child and could miss it); else search the rest for the most general covered nodes, never
 * taking an ancestor of a parent (which would close a cycle), and never descending below a node
 * whose equalities contradict the new one's (nothing satisfiable there can be covered by it),
 * link the new node between the two sets and drop the edges it makes transitive. Remove: drop
 * the id; the node goes only with its last merged id (the original lost the other duplicates),
 * and a child left without parents is re-attached to the removed node's parents. */
#include <errno.h>
#include <string.h>

#include "scbr/index/scbr_cover.h"
#include "scbr/index/scbr_idmap.h"

struct u32vec {
    uint32_t *v;
    size_t n, cap;
};

struct pnode {
    struct scbr_sub *sub; /* NULL for the top and for free slots */
    uint64_t sig;
    struct u32vec ids, parents, children;
    uint32_t visit;      /* match stamp */
    uint32_t seen, mark; /* insert stamps: tested / result of the test */
    uint32_t anc;        /* insert stamp: ancestor of a parent */
};

struct poset {
    struct pnode *nodes;
    size_t n, cap;         /* slots in use (including free ones) */
    struct u32vec free;    /* free slots */
    struct u32vec stack;   /* DFS scratch */
    struct u32vec found;   /* insert scratch */
    struct u32vec below;   /* insert scratch */
    struct scbr_idmap ids; /* id -> node */
    uint32_t stamp;
    size_t subs, preds, live;
};

static int vec_push(struct u32vec *v, struct scbr_mem *m, uint32_t x)
{
    if (v->n == v->cap && scbr_mem_grow(m, (void **)&v->v, &v->cap, v->n + 1, sizeof *v->v))
        return -1;
    v->v[v->n++] = x;
    return 0;
}

static bool vec_remove(struct u32vec *v, uint32_t x)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i] == x) {
            v->v[i] = v->v[--v->n];
            return true;
        }
    return false;
}

static void vec_free(struct u32vec *v, struct scbr_mem *m)
{
    scbr_mem_free(m, v->v, v->cap * sizeof *v->v);
    *v = (struct u32vec){0};
}

/* A fresh stamp; on wrap-around every node's stamps are cleared so old ones cannot collide. */
static uint32_t next_stamp(struct poset *ps)
{
    if (++ps->stamp == 0) {
        for (size_t i = 0; i < ps->n; i++)
            ps->nodes[i].visit = ps->nodes[i].seen = ps->nodes[i].mark = ps->nodes[i].anc = 0;
        ps->stamp = 1;
    }
    return ps->stamp;
}

static void *poset_create(struct scbr_mem *m)
{
    struct poset *ps = scbr_mem_calloc(m, 1, sizeof *ps);
    if (!ps)
        return NULL;
    ps->nodes = scbr_mem_calloc(m, 16, sizeof *ps->nodes);
    if (!ps->nodes) {
        scbr_mem_free(m, ps, sizeof *ps);
        return NULL;
    }
    ps->cap = 16;
    ps->n = 1; /* the top */
    return ps;
}

static void node_clear(struct pnode *nd, struct scbr_mem *m)
{
    if (nd->sub)
        scbr_mem_free(m, nd->sub, scbr_sub_block_size(nd->sub));
    vec_free(&nd->ids, m);
    vec_free(&nd->parents, m);
    vec_free(&nd->children, m);
    memset(nd, 0, sizeof *nd);
}

static void poset_destroy(void *e, struct scbr_mem *m)
{
    struct poset *ps = e;
    for (size_t i = 0; i < ps->n; i++)
        node_clear(&ps->nodes[i], m);
    scbr_mem_free(m, ps->nodes, ps->cap * sizeof *ps->nodes);
    vec_free(&ps->free, m);
    vec_free(&ps->stack, m);
    vec_free(&ps->found, m);
    vec_free(&ps->below, m);
    scbr_idmap_free(&ps->ids, m);
    scbr_mem_free(m, ps, sizeof *ps);
}

static bool node_covers(const struct pnode *a, const struct scbr_sub *b, uint64_t bsig)
{
    return (a->sig & ~bsig) == 0 && scbr_covers(a->sub, b);
}

/* Top-down from the top, descending only into nodes that cover s: all covering nodes found go
 * to ps->found, and the most specific ones (no child covers s) to ps->below. */
static int find_covering(struct poset *ps, struct scbr_mem *m, const struct scbr_sub *s,
                         uint64_t sig, uint32_t stamp)
{
    ps->found.n = ps->below.n = ps->stack.n = 0;
    if (vec_push(&ps->stack, m, 0))
        return -1;
    while (ps->stack.n) {
        uint32_t at = ps->stack.v[--ps->stack.n];
        bool specific = true;
        for (size_t k = 0; k < ps->nodes[at].children.n; k++) {
            uint32_t c = ps->nodes[at].children.v[k];
            struct pnode *cn = &ps->nodes[c];
            if (cn->seen != stamp) {
                cn->seen = stamp;
                cn->mark = node_covers(cn, s, sig) ? stamp : 0;
                if (cn->mark == stamp && (vec_push(&ps->stack, m, c) || vec_push(&ps->found, m, c)))
                    return -1;
            }
            if (cn->mark == stamp)
                specific = false;
        }
        if (specific && vec_push(&ps->below, m, at))
            return -1;
    }
    return 0;
}

/* Marks every ancestor of the parents (and the parents) with anc = stamp. */
static int mark_ancestors(struct poset *ps, struct scbr_mem *m, const struct u32vec *parents,
                          uint32_t stamp)
{
    ps->stack.n = 0;
    for (size_t i = 0; i < parents->n; i++)
        if (vec_push(&ps->stack, m, parents->v[i]))
            return -1;
    while (ps->stack.n) {
        uint32_t at = ps->stack.v[--ps->stack.n];
        if (ps->nodes[at].anc == stamp)
            continue;
        ps->nodes[at].anc = stamp;
        for (size_t k = 0; k < ps->nodes[at].parents.n; k++)
            if (vec_push(&ps->stack, m, ps->nodes[at].parents.v[k]))
                return -1;
    }
    return 0;
}

/* The most general nodes covered by s, into ps->found: DFS from the parents' children, not
 * descending below a covered node; then drop those with a covered parent. */
static int find_covered(struct poset *ps, struct scbr_mem *m, const struct scbr_sub *s,
                        uint64_t sig, uint32_t stamp, const struct u32vec *parents)
{
    ps->found.n = ps->stack.n = 0;
    for (size_t i = 0; i < parents->n; i++) {
        const struct pnode *p = &ps->nodes[parents->v[i]];
        for (size_t k = 0; k < p->children.n; k++)
            if (vec_push(&ps->stack, m, p->children.v[k]))
                return -1;
    }
    while (ps->stack.n) {
        uint32_t at = ps->stack.v[--ps->stack.n];
        struct pnode *nd = &ps->nodes[at];
        if (nd->visit == stamp)
            continue;
        nd->visit = stamp;
        if (nd->anc != stamp && (sig & ~nd->sig) == 0 && scbr_covers(s, nd->sub)) {
            if (vec_push(&ps->found, m, at))
                return -1;
            continue;
        }
        /* Whatever nd covers also contradicts s, so only an unsatisfiable node below could be
         * covered by s; leaving such a node where it is keeps every edge a true covering. This
         * keeps an insert near O(roots) instead of a walk over the whole graph. */
        if (scbr_eq_disjoint(s, nd->sub))
            continue;
        for (size_t k = 0; k < nd->children.n; k++)
            if (vec_push(&ps->stack, m, nd->children.v[k]))
                return -1;
    }
    /* Keep only nodes without a parent among the found ones (found ones have visit == stamp and
     * were covered; re-test cheaply through a second stamp). */
    uint32_t keep = next_stamp(ps);
    for (size_t i = 0; i < ps->found.n; i++)
        ps->nodes[ps->found.v[i]].mark = keep;
    size_t w = 0;
    for (size_t i = 0; i < ps->found.n; i++) {
        const struct pnode *nd = &ps->nodes[ps->found.v[i]];
        bool general = true;
        for (size_t k = 0; k < nd->parents.n && general; k++)
            general = ps->nodes[nd->parents.v[k]].mark != keep;
        if (general)
            ps->found.v[w++] = ps->found.v[i];
    }
    ps->found.n = w;
    return 0;
}

/* Capacity was reserved by the caller. */
static void add_edge(struct poset *ps, uint32_t p, uint32_t c)
{
    struct u32vec *ch = &ps->nodes[p].children, *pa = &ps->nodes[c].parents;
    ch->v[ch->n++] = c;
    pa->v[pa->n++] = p;
}

static void del_edge(struct poset *ps, uint32_t p, uint32_t c)
{
    if (vec_remove(&ps->nodes[c].parents, p))
        vec_remove(&ps->nodes[p].children, c);
}

static int new_slot(struct poset *ps, struct scbr_mem *m, uint32_t *slot)
{
    if (ps->free.n) {
        *slot = ps->free.v[--ps->free.n];
        return 0;
    }
    if (ps->n == UINT32_MAX ||
        scbr_mem_grow(m, (void **)&ps->nodes, &ps->cap, ps->n + 1, sizeof *ps->nodes))
        return -1;
    memset(&ps->nodes[ps->n], 0, sizeof *ps->nodes);
    *slot = (uint32_t)ps->n++;
    return 0;
}

static int vec_reserve(struct u32vec *v, struct scbr_mem *m, size_t extra)
{
    return scbr_mem_grow(m, (void **)&v->v, &v->cap, v->n + extra, sizeof *v->v);
}

/* Creates the node for s and links it below parents and above the most general nodes it
 * covers. Every vector is grown before the graph changes, so a failure leaves it untouched. */
static int link_new(struct poset *ps, struct scbr_mem *m, const struct scbr_sub *s, uint64_t sig,
                    uint32_t id, const struct u32vec *parents)
{
    uint32_t anc = next_stamp(ps);
    uint32_t slot;
    if (mark_ancestors(ps, m, parents, anc) || find_covered(ps, m, s, sig, anc, parents) ||
        new_slot(ps, m, &slot))
        return -1;
    struct pnode *nd = &ps->nodes[slot];
    nd->sub = scbr_mem_sub_clone(m, s);
    nd->sig = sig;
    bool ok = nd->sub && vec_push(&nd->ids, m, id) == 0 &&
              vec_reserve(&nd->parents, m, parents->n) == 0 &&
              vec_reserve(&nd->children, m, ps->found.n) == 0;
    for (size_t k = 0; ok && k < parents->n; k++)
        ok = vec_reserve(&ps->nodes[parents->v[k]].children, m, 1) == 0;
    for (size_t i = 0; ok && i < ps->found.n; i++)
        ok = vec_reserve(&ps->nodes[ps->found.v[i]].parents, m, 1) == 0;
    if (!ok || scbr_idmap_put(&ps->ids, m, id, slot)) {
        node_clear(nd, m);
        vec_push(&ps->free, m, slot); /* on failure the empty slot is simply never reused */
        return -1;
    }
    for (size_t i = 0; i < ps->found.n; i++)
        for (size_t k = 0; k < parents->n; k++)
            del_edge(ps, parents->v[k], ps->found.v[i]);
    for (size_t k = 0; k < parents->n; k++)
        add_edge(ps, parents->v[k], slot);
    for (size_t i = 0; i < ps->found.n; i++)
        add_edge(ps, slot, ps->found.v[i]);
    return 0;
}

static int poset_insert(void *e, struct scbr_mem *m, const struct scbr_sub *s, uint32_t id)
{
    struct poset *ps = e;
    if (scbr_idmap_get(&ps->ids, id)) {
        errno = EEXIST;
        return -1;
    }
    uint64_t sig = scbr_attr_signature(s);
    uint32_t stamp = next_stamp(ps);
    if (find_covering(ps, m, s, sig, stamp))
        goto nomem;
    for (size_t i = 0; i < ps->found.n; i++) {
        uint32_t at = ps->found.v[i];
        struct pnode *nd = &ps->nodes[at];
        if ((sig & ~nd->sig) == 0 && scbr_covers(s, nd->sub)) {
            if (scbr_idmap_put(&ps->ids, m, id, at) || vec_push(&nd->ids, m, id))
                goto nomem;
            ps->subs++, ps->preds += nd->sub->n;
            return 0;
        }
    }
    /* ps->below holds the parents; take it out of the way of the scratch vectors. */
    struct u32vec parents = ps->below;
    ps->below = (struct u32vec){0};
    int rc = link_new(ps, m, s, sig, id, &parents);
    vec_free(&ps->below, m);
    ps->below = parents;
    if (rc == 0) {
        ps->subs++, ps->preds += s->n, ps->live++;
        return 0;
    }
nomem:
    errno = ENOMEM;
    return -1;
}

/* Unlinks the node; children left without a parent move up to its parents (which cover them,
 * covering being transitive), so everything stays reachable and acyclic. */
static int drop_node(struct poset *ps, struct scbr_mem *m, uint32_t at)
{
    struct pnode *nd = &ps->nodes[at];
    size_t orphans = 0;
    for (size_t i = 0; i < nd->children.n; i++) {
        struct pnode *c = &ps->nodes[nd->children.v[i]];
        if (c->parents.n == 1) {
            orphans++;
            if (vec_reserve(&c->parents, m, nd->parents.n))
                return -1;
        }
    }
    for (size_t k = 0; k < nd->parents.n; k++)
        if (vec_reserve(&ps->nodes[nd->parents.v[k]].children, m, orphans))
            return -1;
    if (vec_reserve(&ps->free, m, 1))
        return -1;
    while (nd->children.n) {
        uint32_t c = nd->children.v[nd->children.n - 1];
        del_edge(ps, at, c);
        if (ps->nodes[c].parents.n == 0)
            for (size_t k = 0; k < nd->parents.n; k++)
                add_edge(ps, nd->parents.v[k], c);
    }
    while (nd->parents.n)
        del_edge(ps, nd->parents.v[nd->parents.n - 1], at);
    node_clear(nd, m);
    ps->free.v[ps->free.n++] = at;
    ps->live--;
    return 0;
}

static int poset_remove(void *e, struct scbr_mem *m, uint32_t id)
{
    struct poset *ps = e;
    uint64_t *slot = scbr_idmap_get(&ps->ids, id);
    if (!slot) {
        errno = ENOENT;
        return -1;
    }
    uint32_t at = (uint32_t)*slot;
    struct pnode *nd = &ps->nodes[at];
    size_t npreds = nd->sub->n;
    if (nd->ids.n > 1) {
        vec_remove(&nd->ids, id);
    } else if (drop_node(ps, m, at) != 0) {
        errno = ENOMEM;
        return -1;
    }
    scbr_idmap_del(&ps->ids, id);
    ps->subs--;
    ps->preds -= npreds;
    return 0;
}

static int poset_match(void *e, struct scbr_mem *m, const struct scbr_pub *pub,
                       struct scbr_ids *out)
{
    struct poset *ps = e;
    uint32_t stamp = next_stamp(ps);
    ps->stack.n = 0;
    const struct u32vec *roots = &ps->nodes[0].children;
    for (size_t i = 0; i < roots->n; i++)
        if (vec_push(&ps->stack, m, roots->v[i]))
            return -1;
    while (ps->stack.n) {
        struct pnode *nd = &ps->nodes[ps->stack.v[--ps->stack.n]];
        if (nd->visit == stamp)
            continue;
        nd->visit = stamp;
        if (!scbr_sub_matches(nd->sub, pub))
            continue;
        for (size_t k = 0; k < nd->ids.n; k++)
            if (scbr_ids_push(out, m, nd->ids.v[k]))
                return -1;
        for (size_t k = 0; k < nd->children.n; k++)
            if (ps->nodes[nd->children.v[k]].visit != stamp &&
                vec_push(&ps->stack, m, nd->children.v[k]))
                return -1;
    }
    return 0;
}

static void poset_stats(const void *e, struct scbr_index_stats *st)
{
    const struct poset *ps = e;
    st->subscriptions = ps->subs;
    st->predicates = ps->preds;
    st->nodes = ps->live;
    st->roots = ps->nodes[0].children.n;
}

const struct scbr_engine scbr_engine_poset = {
    "poset", poset_create, poset_destroy, poset_insert, poset_remove, poset_match, poset_stats};
