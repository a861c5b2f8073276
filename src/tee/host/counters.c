/* counters.c -- per-enclave call counters that cost no locked instruction per call.
 *
 * Every thread that calls an enclave gets its own block of counters for it, linked into the
 * enclave's list; only that thread writes the block (a relaxed load and store, so readers see
 * whole values), and tee_get_info sums the list. A lock-prefixed add per counter per call was a
 * fifth of a sim ecall. A thread finds its block through a small thread-local cache keyed by the
 * enclave's serial number, which is never reused, so a stale entry cannot match a new enclave;
 * on a miss it searches the list under the enclave's mutex (blocks live until the enclave). */
#include "tee/host/host.h"

#include <stdlib.h>

struct host_counters {
    _Atomic uint64_t value[HOST_NCOUNTERS];
    uint64_t thread; /* the writer */
    struct host_counters *next;
};

#define CACHE_WAYS 4

static _Atomic uint64_t next_serial = 1, next_thread = 1;
static _Thread_local uint64_t thread_serial;
static _Thread_local struct {
    uint64_t enclave;
    struct host_counters *block;
} cache[CACHE_WAYS];

void host_counters_init(struct tee_enclave *e)
{
    e->serial = atomic_fetch_add(&next_serial, 1);
    e->counters = NULL;
    pthread_mutex_init(&e->counters_lock, NULL);
}

void host_counters_free(struct tee_enclave *e)
{
    for (struct host_counters *c = e->counters, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    e->counters = NULL;
    pthread_mutex_destroy(&e->counters_lock);
}

static struct host_counters *find_block(struct tee_enclave *e)
{
    if (!thread_serial)
        thread_serial = atomic_fetch_add(&next_thread, 1);
    pthread_mutex_lock(&e->counters_lock);
    struct host_counters *c = e->counters;
    while (c && c->thread != thread_serial)
        c = c->next;
    if (!c && (c = calloc(1, sizeof *c))) {
        c->thread = thread_serial;
        c->next = e->counters;
        e->counters = c;
    }
    pthread_mutex_unlock(&e->counters_lock);
    return c;
}

void host_counters_add(struct tee_enclave *e, const uint64_t delta[HOST_NCOUNTERS])
{
    unsigned way = (unsigned)(e->serial % CACHE_WAYS);
    struct host_counters *c = cache[way].enclave == e->serial ? cache[way].block : NULL;
    if (!c) {
        if (!(c = find_block(e)))
            return; /* out of memory: the counts are lost, never the call */
        cache[way].enclave = e->serial;
        cache[way].block = c;
    }
    for (int i = 0; i < HOST_NCOUNTERS; i++)
        atomic_store_explicit(&c->value[i],
                              atomic_load_explicit(&c->value[i], memory_order_relaxed) + delta[i],
                              memory_order_relaxed);
}

void host_counters_sum(struct tee_enclave *e, uint64_t sum[HOST_NCOUNTERS])
{
    for (int i = 0; i < HOST_NCOUNTERS; i++)
        sum[i] = 0;
    pthread_mutex_lock(&e->counters_lock);
    for (const struct host_counters *c = e->counters; c; c = c->next)
        for (int i = 0; i < HOST_NCOUNTERS; i++)
            sum[i] += atomic_load_explicit(&c->value[i], memory_order_relaxed);
    pthread_mutex_unlock(&e->counters_lock);
}
