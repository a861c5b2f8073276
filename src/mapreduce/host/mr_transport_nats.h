/* mr_transport_nats.h -- the MapReduce transport over NATS JetStream (mr_transport_nats.c): a
 * work-queue stream of tasks with ack deadlines and redelivery, a results stream back to the
 * client, and a byte-bounded stream per job for the shuffle, all deleted by the client at the
 * end of the job. */
#ifndef CLOISTER_MAPREDUCE_TRANSPORT_NATS_H
#define CLOISTER_MAPREDUCE_TRANSPORT_NATS_H

#include "mapreduce/host/mr_transport.h"

#include <stdbool.h>

#define MR_JOB_HEX_MAX 32

struct mr_nats_config {
    const char *url;     /* nats://HOST:PORT */
    const char *job;     /* the job id in hex (names the streams and subjects) */
    bool owner;          /* the client: creates the streams, reads results, deletes the streams */
    int64_t ack_wait_ms; /* a task unacked this long is redelivered (30000) */
    int64_t queue_max_bytes;   /* owner: bound of the task and result streams */
    int64_t shuffle_max_bytes; /* owner: bound of the shuffle stream */
    /* Tests play a hostile host: sees every shuffle chunk read back (may replace it). */
    void (*on_get)(void *arg, uint8_t **chunk, size_t *len);
    void *arg;
};

struct mr_transport *mr_transport_nats_new(const struct mr_nats_config *c,
                                           struct cloister_err *err);
/* Bytes in the job's shuffle stream now. */
uint64_t mr_transport_nats_shuffle_bytes(struct mr_transport *t);

#endif
