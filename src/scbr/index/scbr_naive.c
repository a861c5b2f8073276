/* scbr_naive.c -- the oracle: every subscription tested against every publication.
 *
 * Subscriptions are kept in a dense array (removal swaps the last one in) with an id map for
 * duplicate detection and removal. Matching is scbr_sub_matches on each, nothing else, so this
 * engine is the reference the other two are checked against. */
#include <errno.h>

#include "scbr/index/scbr_idmap.h"

struct naive_entry {
    uint32_t id;
    struct scbr_sub *sub;
};

struct naive {
    struct naive_entry *v;
    size_t n, cap, preds;
    struct scbr_idmap ids; /* id -> position in v */
};

static void *naive_create(struct scbr_mem *m)
{
    return scbr_mem_calloc(m, 1, sizeof(struct naive));
}

static void naive_destroy(void *e, struct scbr_mem *m)
{
    struct naive *nv = e;
    for (size_t i = 0; i < nv->n; i++)
        scbr_mem_free(m, nv->v[i].sub, scbr_sub_block_size(nv->v[i].sub));
    scbr_mem_free(m, nv->v, nv->cap * sizeof *nv->v);
    scbr_idmap_free(&nv->ids, m);
    scbr_mem_free(m, nv, sizeof *nv);
}

static int naive_insert(void *e, struct scbr_mem *m, const struct scbr_sub *s, uint32_t id)
{
    struct naive *nv = e;
    if (scbr_idmap_get(&nv->ids, id)) {
        errno = EEXIST;
        return -1;
    }
    struct scbr_sub *copy = NULL;
    if (scbr_mem_grow(m, (void **)&nv->v, &nv->cap, nv->n + 1, sizeof *nv->v) != 0 ||
        !(copy = scbr_mem_sub_clone(m, s)) || scbr_idmap_put(&nv->ids, m, id, nv->n) != 0) {
        if (copy)
            scbr_mem_free(m, copy, scbr_sub_block_size(copy));
        errno = ENOMEM;
        return -1;
    }
    nv->v[nv->n++] = (struct naive_entry){id, copy};
    nv->preds += s->n;
    return 0;
}

static int naive_remove(void *e, struct scbr_mem *m, uint32_t id)
{
    struct naive *nv = e;
    uint64_t *pos = scbr_idmap_get(&nv->ids, id);
    if (!pos) {
        errno = ENOENT;
        return -1;
    }
    size_t i = (size_t)*pos;
    nv->preds -= nv->v[i].sub->n;
    scbr_mem_free(m, nv->v[i].sub, scbr_sub_block_size(nv->v[i].sub));
    scbr_idmap_del(&nv->ids, id);
    nv->v[i] = nv->v[--nv->n];
    if (i < nv->n)
        *scbr_idmap_get(&nv->ids, nv->v[i].id) = i;
    return 0;
}

static int naive_match(void *e, struct scbr_mem *m, const struct scbr_pub *pub,
                       struct scbr_ids *out)
{
    struct naive *nv = e;
    for (size_t i = 0; i < nv->n; i++)
        if (scbr_sub_matches(nv->v[i].sub, pub) && scbr_ids_push(out, m, nv->v[i].id) != 0)
            return -1;
    return 0;
}

static void naive_stats(const void *e, struct scbr_index_stats *st)
{
    const struct naive *nv = e;
    st->subscriptions = nv->n;
    st->predicates = nv->preds;
    st->nodes = nv->n;
}

const struct scbr_engine scbr_engine_naive = {
    "naive", naive_create, naive_destroy, naive_insert, naive_remove, naive_match, naive_stats};
