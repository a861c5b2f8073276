/* xs_cache.c -- the enclave's cache of engine answers (xs_cache.h).
 *
 * X-Search's throughput figure is the proxy's with the engine's answers cached: an OR-ed query
 * the enclave has sent before is answered from here, so the host sees no engine request at all
 * for it. The cache lives inside the enclave, on its EPC heap: the answers hold the queries and
 * the results, which the host must not read.
 *
 * Direct-mapped: an answer goes to the slot its key hashes to (FNV-1a under a random seed),
 * replacing the one there. The budget bounds the bytes of answers kept; when a new one would
 * overflow it, a sweeping cursor evicts entries slot after slot until it fits (a clock without
 * reference bits: the oldest slots are not known, any slot is as good). */
#include "search/enclave/xs_cache.h"

#include <cloister/crypto.h>
#include <cloister/error.h>
#include <cloister/tee_enclave.h>

#include <stdbool.h>
#include <string.h>

#define SLOT_BYTES 4096 /* one slot per this many bytes of budget: answers of 10 hits are ~3 KiB */

struct xs_entry {
    size_t keylen, len;
    uint8_t *key, *ans; /* key = u8 n || OR-ed query */
};

static uint64_t hash(uint64_t seed, unsigned n, const char *orq, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    h = (h ^ (uint8_t)n) * 0x100000001b3ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)orq[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static size_t entry_bytes(const struct xs_entry *e)
{
    return sizeof *e + e->keylen + e->len;
}

static void drop(struct xs_cache *c, size_t i)
{
    struct xs_entry *e = c->slot[i];
    if (!e)
        return;
    c->bytes -= entry_bytes(e);
    crypto_wipe(e->key, e->keylen);
    crypto_wipe(e->ans, e->len);
    tee_free(e->key);
    tee_free(e->ans);
    tee_free(e);
    c->slot[i] = NULL;
}

int xs_cache_init(struct xs_cache *c, size_t budget, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->nslots = budget / SLOT_BYTES;
    if (c->nslots == 0)
        return CLOISTER_OK;
    if (!(c->slot = tee_calloc(c->nslots, sizeof *c->slot)))
        return CLOISTER_E_NO_MEMORY;
    c->budget = budget;
    c->seed = seed;
    return CLOISTER_OK;
}

void xs_cache_free(struct xs_cache *c)
{
    for (size_t i = 0; i < c->nslots; i++)
        drop(c, i);
    tee_free(c->slot);
    memset(c, 0, sizeof *c);
}

static bool same_key(const struct xs_entry *e, unsigned n, const char *orq, size_t len)
{
    return e && e->keylen == len + 1 && e->key[0] == (uint8_t)n &&
           memcmp(e->key + 1, orq, len) == 0;
}

int xs_cache_get(struct xs_cache *c, const char *orq, unsigned n, uint8_t **out, size_t *len)
{
    size_t qlen = strlen(orq);
    if (c->nslots == 0)
        return CLOISTER_E_NOT_FOUND;
    struct xs_entry *e = c->slot[hash(c->seed, n, orq, qlen) % c->nslots];
    if (!same_key(e, n, orq, qlen)) {
        c->misses++;
        return CLOISTER_E_NOT_FOUND;
    }
    if (!(*out = tee_malloc(e->len ? e->len : 1)))
        return CLOISTER_E_NO_MEMORY;
    memcpy(*out, e->ans, e->len);
    *len = e->len;
    c->hits++;
    return CLOISTER_OK;
}

void xs_cache_put(struct xs_cache *c, const char *orq, unsigned n, const uint8_t *ans, size_t len)
{
    size_t qlen = strlen(orq);
    if (c->nslots == 0 || sizeof(struct xs_entry) + qlen + 1 + len > c->budget)
        return;
    size_t i = hash(c->seed, n, orq, qlen) % c->nslots;
    drop(c, i);
    struct xs_entry *e = tee_malloc(sizeof *e);
    uint8_t *key = tee_malloc(qlen + 1), *copy = tee_malloc(len ? len : 1);
    if (!e || !key || !copy) {
        tee_free(e);
        tee_free(key);
        tee_free(copy);
        return;
    }
    key[0] = (uint8_t)n;
    memcpy(key + 1, orq, qlen);
    memcpy(copy, ans, len);
    *e = (struct xs_entry){.keylen = qlen + 1, .len = len, .key = key, .ans = copy};
    while (c->bytes + entry_bytes(e) > c->budget) {
        drop(c, c->sweep);
        c->sweep = (c->sweep + 1) % c->nslots;
    }
    c->slot[i] = e;
    c->bytes += entry_bytes(e);
}
