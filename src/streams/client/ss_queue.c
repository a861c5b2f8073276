/* ss_queue.c -- the byte-bounded queue between stages (ss_queue.h). */
#include "streams/client/ss_queue.h"

#include <stdlib.h>

struct ss_item *ss_item_new(uint8_t *data, size_t len)
{
    struct ss_item *it = malloc(sizeof *it);
    if (!it) {
        free(data);
        return NULL;
    }
    *it = (struct ss_item){.data = data, .len = len};
    return it;
}

void ss_item_free(struct ss_item *it)
{
    if (it)
        free(it->data);
    free(it);
}

void ss_queue_init(struct ss_queue *q, size_t cap)
{
    *q = (struct ss_queue){.cap = cap};
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->can_push, NULL);
    pthread_cond_init(&q->can_pop, NULL);
}

void ss_queue_destroy(struct ss_queue *q)
{
    while (q->head) {
        struct ss_item *it = q->head;
        q->head = it->next;
        ss_item_free(it);
    }
    pthread_cond_destroy(&q->can_push);
    pthread_cond_destroy(&q->can_pop);
    pthread_mutex_destroy(&q->mu);
}

int ss_queue_push(struct ss_queue *q, struct ss_item *it)
{
    pthread_mutex_lock(&q->mu);
    while (!q->aborted && q->head && q->bytes + it->len > q->cap)
        pthread_cond_wait(&q->can_push, &q->mu);
    int rc = q->aborted ? -1 : 0;
    if (rc == 0) {
        it->next = NULL;
        if (q->tail)
            q->tail->next = it;
        else
            q->head = it;
        q->tail = it;
        __atomic_store_n(&q->bytes, q->bytes + it->len, __ATOMIC_RELAXED);
        q->peak = q->bytes > q->peak ? q->bytes : q->peak;
        pthread_cond_signal(&q->can_pop);
    }
    pthread_mutex_unlock(&q->mu);
    if (rc != 0)
        ss_item_free(it);
    return rc;
}

struct ss_item *ss_queue_pop(struct ss_queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (!q->aborted && !q->head && !q->closed)
        pthread_cond_wait(&q->can_pop, &q->mu);
    struct ss_item *it = q->aborted ? NULL : q->head;
    if (it) {
        q->head = it->next;
        if (!q->head)
            q->tail = NULL;
        __atomic_store_n(&q->bytes, q->bytes - it->len, __ATOMIC_RELAXED);
        pthread_cond_signal(&q->can_push);
    }
    pthread_mutex_unlock(&q->mu);
    return it;
}

static void end(struct ss_queue *q, bool abort)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    q->aborted = q->aborted || abort;
    pthread_cond_broadcast(&q->can_pop);
    pthread_cond_broadcast(&q->can_push);
    pthread_mutex_unlock(&q->mu);
}

void ss_queue_close(struct ss_queue *q)
{
    end(q, false);
}

void ss_queue_abort(struct ss_queue *q)
{
    end(q, true);
}

size_t ss_queue_depth(const struct ss_queue *q)
{
    return __atomic_load_n(&q->bytes, __ATOMIC_RELAXED);
}
