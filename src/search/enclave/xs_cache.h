/* xs_cache.h -- the enclave's cache of engine answers (xs_cache.c), keyed by the OR-ed query
 * and the number of hits asked for. Not thread-safe: the enclave calls it under its lock. */
#ifndef CLOISTER_XS_CACHE_H
#define CLOISTER_XS_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct xs_entry;

struct xs_cache {
    struct xs_entry **slot; /* direct-mapped: NULL = empty */
    size_t nslots, bytes, budget, sweep;
    uint64_t seed; /* keys the hash, so that no client can aim queries at one slot */
    uint64_t hits, misses;
};

/* budget: the most bytes of answers kept (0: no cache). */
int xs_cache_init(struct xs_cache *c, size_t budget, uint64_t seed);
void xs_cache_free(struct xs_cache *c);
/* A tee_malloc'd copy of the answer for (orq, n) in *out, or CLOISTER_E_NOT_FOUND. */
int xs_cache_get(struct xs_cache *c, const char *orq, unsigned n, uint8_t **out, size_t *len);
/* Keeps a copy of the answer, evicting others while it would overflow the budget; an answer
 * larger than the budget, or memory running out, just leaves it uncached. */
void xs_cache_put(struct xs_cache *c, const char *orq, unsigned n, const uint8_t *ans, size_t len);

#endif
