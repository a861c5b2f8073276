/* batcher.c -- ecalls of concurrent threads sharing boundary crossings (tee.h, tee_batcher).
 *
 * A crossing costs a futex wake and a context switch each way, more than many small calls
 * themselves. Each caller queues its call; whichever caller finds a crossing free (at most
 * `crossings` at once, one per enclave worker, so that the workers stay busy) takes up to
 * `batch_max` queued calls across in one tee_ecall_batch, then wakes their callers. While the
 * crossings are busy the queue fills, so the batches grow with the load and a lone caller pays
 * no more than one tee_ecall. */
#include <cloister/tee.h>

#include <pthread.h>
#include <stdlib.h>

struct batch_job {
    struct tee_call call;
    struct cloister_err err; /* when the batch did not cross */
    int rc;
    bool done;
    struct batch_job *next;
};

struct tee_batcher {
    tee_enclave *e;
    unsigned crossings_max, crossing;
    size_t batch_max;
    pthread_mutex_t lock;
    pthread_cond_t done;
    struct batch_job *queue, **tail;
};

int tee_batcher_new(tee_enclave *e, unsigned crossings, size_t batch_max, tee_batcher **out,
                    struct cloister_err *err)
{
    tee_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    b->e = e;
    b->crossings_max = crossings ? crossings : 1;
    b->batch_max = batch_max && batch_max <= TEE_BATCH_MAX ? batch_max : TEE_BATCH_MAX;
    b->tail = &b->queue;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->done, NULL);
    *out = b;
    return CLOISTER_OK;
}

void tee_batcher_free(tee_batcher *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->done);
    free(b);
}

/* Takes up to batch_max queued jobs across in one batch and marks them done. The lock is held
 * on entry and exit, released while crossing. */
static void batch_cross(tee_batcher *b)
{
    struct tee_call *calls = malloc(b->batch_max * sizeof *calls);
    struct batch_job **jobs = malloc(b->batch_max * sizeof *jobs);
    size_t n = 0, max = calls && jobs ? b->batch_max : 1;
    struct tee_call one;
    struct batch_job *onejob;
    if (max == 1) { /* out of memory: one call at a time still goes */
        free(calls);
        free(jobs);
        calls = &one;
        jobs = &onejob;
    }
    for (; b->queue && n < max; b->queue = b->queue->next) {
        jobs[n] = b->queue;
        calls[n++] = b->queue->call;
    }
    if (!b->queue)
        b->tail = &b->queue;
    b->crossing++;
    pthread_mutex_unlock(&b->lock);
    struct cloister_err err = {0};
    int rc = tee_ecall_batch(b->e, calls, n, &err);
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->call = calls[i];
        jobs[i]->rc = rc;
        jobs[i]->err = err;
        jobs[i]->done = true;
    }
    b->crossing--;
    pthread_cond_broadcast(&b->done);
    if (calls != &one) {
        free(calls);
        free(jobs);
    }
}

int tee_batcher_call(tee_batcher *b, uint32_t number, const void *in, size_t inlen, uint8_t **out,
                     size_t *outlen, struct cloister_err *err)
{
    struct batch_job j = {.call = {.number = number, .in = in, .inlen = inlen}};
    *out = NULL;
    *outlen = 0;
    pthread_mutex_lock(&b->lock);
    *b->tail = &j;
    b->tail = &j.next;
    while (!j.done) {
        if (b->queue && b->crossing < b->crossings_max)
            batch_cross(b);
        else
            pthread_cond_wait(&b->done, &b->lock);
    }
    pthread_mutex_unlock(&b->lock);
    if (j.rc != CLOISTER_OK) {
        if (err)
            *err = j.err;
        return j.rc;
    }
    if (j.call.status != CLOISTER_OK) {
        int rc = cloister_errf(err, j.call.status, "%s",
                               j.call.out ? (const char *)j.call.out : "refused by the enclave");
        free(j.call.out);
        return rc;
    }
    *out = j.call.out;
    *outlen = j.call.outlen;
    return CLOISTER_OK;
}
