/* ss_queue.h -- a queue of batches between two stages of the embedded engine, bounded in bytes:
 * a push waits while the queue holds cap bytes or more (one batch larger than cap still passes
 * when the queue is empty), so a slow stage slows down the ones before it and memory stays
 * bounded (back-pressure). Closing ends it after what it holds; aborting ends it at once, and
 * every waiting push and pop returns. */
#ifndef CLOISTER_STREAMS_QUEUE_H
#define CLOISTER_STREAMS_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ss_item {
    struct ss_item *next;
    uint8_t *data; /* malloc'd, owned by the item */
    size_t len;
    uint64_t events;     /* in the batch */
    uint64_t ingress_ns; /* when the source read its first event (ss_wall_ns) */
};

/* An item owning data (freed with it, also on failure): NULL when out of memory. */
struct ss_item *ss_item_new(uint8_t *data, size_t len);
void ss_item_free(struct ss_item *it);

struct ss_queue {
    pthread_mutex_t mu;
    pthread_cond_t can_push, can_pop;
    struct ss_item *head, *tail;
    size_t bytes, cap, peak;
    bool closed, aborted;
};

void ss_queue_init(struct ss_queue *q, size_t cap);
void ss_queue_destroy(struct ss_queue *q);
/* Takes the malloc'd item: 0, or -1 when the queue was aborted (the item is then freed). */
int ss_queue_push(struct ss_queue *q, struct ss_item *it);
/* The next item (the caller frees it), or NULL once closed and empty, or aborted. */
struct ss_item *ss_queue_pop(struct ss_queue *q);
void ss_queue_close(struct ss_queue *q);
void ss_queue_abort(struct ss_queue *q);
/* The bytes it holds now (any thread, no lock). */
size_t ss_queue_depth(const struct ss_queue *q);

#endif
