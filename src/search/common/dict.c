/* dict.c -- the term dictionary: every term of a log gets a dense id, so queries become small
 * sorted arrays of integers that SimAttack intersects without touching strings. */
#include "search/common/internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t dict_hash(const char *w, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)w[i]) * 1099511628211ull;
    return h;
}

void search_dict_free(struct search_dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->words[i]);
    free(d->words);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

static size_t dict_slot(const struct search_dict *d, const char *w, size_t len)
{
    size_t mask = d->nslots - 1, i = (size_t)dict_hash(w, len) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t id = d->slots[i];
        if (!id)
            return i;
        const char *x = d->words[id - 1];
        if (strncmp(x, w, len) == 0 && x[len] == 0)
            return i;
    }
}

int64_t search_dict_find(const struct search_dict *d, const char *w, size_t len)
{
    if (!d->nslots)
        return -1;
    uint32_t id = d->slots[dict_slot(d, w, len)];
    return id ? (int64_t)id - 1 : -1;
}

static int dict_grow(struct search_dict *d)
{
    size_t ns = d->nslots ? d->nslots * 2 : 1024;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return -1;
    uint32_t *old = d->slots;
    size_t on = d->nslots;
    d->slots = slots;
    d->nslots = ns;
    for (size_t i = 0; i < on; i++)
        if (old[i]) {
            const char *w = d->words[old[i] - 1];
            d->slots[dict_slot(d, w, strlen(w))] = old[i];
        }
    free(old);
    return 0;
}

int64_t search_dict_intern(struct search_dict *d, const char *w, size_t len)
{
    if ((d->n + 1) * 2 > d->nslots && dict_grow(d) != 0)
        return -1;
    size_t s = dict_slot(d, w, len);
    if (d->slots[s])
        return (int64_t)d->slots[s] - 1;
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 1024;
        char **nw = realloc(d->words, nc * sizeof *nw);
        if (!nw)
            return -1;
        d->words = nw;
        d->cap = nc;
    }
    char *copy = strndup(w, len);
    if (!copy)
        return -1;
    d->words[d->n] = copy;
    d->slots[s] = (uint32_t)++d->n;
    return (int64_t)d->n - 1;
}

struct ids_ctx {
    struct search_dict *d;
    bool add, oom;
    uint32_t *ids;
    size_t n;
    char unknown[SEARCH_TERMS_MAX][32]; /* distinct unknown terms seen (prefixes) */
    size_t nunknown;
};

static int ids_unknown(struct ids_ctx *c, const char *t, size_t len)
{
    size_t keep = len < 31 ? len : 31;
    for (size_t i = 0; i < c->nunknown; i++)
        if (strncmp(c->unknown[i], t, keep) == 0 && c->unknown[i][keep] == 0)
            return 0;
    memcpy(c->unknown[c->nunknown], t, keep);
    c->unknown[c->nunknown][keep] = 0;
    c->ids[c->n++] = UINT32_MAX - (uint32_t)c->nunknown++;
    return 0;
}

static int ids_term(const char *t, size_t len, void *arg)
{
    struct ids_ctx *c = arg;
    if (c->n == SEARCH_TERMS_MAX)
        return 1;
    int64_t id = c->add ? search_dict_intern(c->d, t, len) : search_dict_find(c->d, t, len);
    if (id < 0 && c->add) {
        c->oom = true;
        return 1;
    }
    if (id < 0)
        return ids_unknown(c, t, len);
    for (size_t i = 0; i < c->n; i++)
        if (c->ids[i] == (uint32_t)id)
            return 0;
    c->ids[c->n++] = (uint32_t)id;
    return 0;
}

static int ids_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int search_query_ids(struct search_dict *d, bool add, const char *text, size_t len, uint32_t *ids)
{
    struct ids_ctx *c = malloc(sizeof *c);
    if (!c)
        return -1;
    c->d = d;
    c->add = add;
    c->oom = false;
    c->ids = ids;
    c->n = 0;
    c->nunknown = 0;
    search_terms(text, len, ids_term, c);
    int n = c->oom ? -1 : (int)c->n;
    free(c);
    if (n > 0)
        qsort(ids, (size_t)n, sizeof *ids, ids_cmp);
    return n;
}
