/* ss_replica.h -- the host loop of one replica of a distributed stage (docs/streams.md section
 * 7), over a runner already loaded with SS_CALL_LOAD_DIST (an enclave or in-process): sealed
 * batches in from a JetStream durable consumer, through the runner many per call, sealed batches
 * out to the next stage's partition subjects, the checkpoint in a KV bucket every N events or T
 * ms, and the input acked only once the output and the checkpoint are stored. */
#ifndef CLOISTER_STREAMS_REPLICA_H
#define CLOISTER_STREAMS_REPLICA_H

#include "streams/client/ss_ckpt.h"
#include "streams/client/ss_statspub.h"

#include <signal.h>
#include <stdbool.h>

struct ss_replica_config {
    struct bus *bus;
    const char *stream;     /* the run's work-queue stream, holding both subjects below */
    const char *in_subject; /* this replica's partition */
    const char *durable;    /* its consumer (deleted and made afresh at start: redelivery) */
    const char *out_prefix; /* output batch to partition P goes to `out_prefix.P` */
    const char *id_prefix;  /* message ids `id_prefix/PRODUCER/P/NUMBER` (de-duplication) */
    struct ss_ckpt *ckpt;
    ss_call_fn call;
    void *runner;
    uint64_t ckpt_events;        /* checkpoint after this many input events (default 10000) */
    unsigned ckpt_ms;            /* or this long after the last one (default 1000) */
    size_t fetch_max;            /* messages per fetch (default 64) */
    volatile sig_atomic_t *stop; /* set by a signal: checkpoint, ack and return (NULL: never) */
    struct ss_meter *meter;      /* live statistics (ss_statspub.h; NULL: none) */
};

struct ss_replica_stats {
    uint64_t messages, events_in, events_out, batches_out, duplicates, refused, checkpoints;
    bool restored, ended; /* ended: every producer sent its final batch */
};

/* Restores the checkpoint, then runs until every producer has ended (or *stop). */
int ss_replica_run(const struct ss_replica_config *c, struct ss_replica_stats *s,
                   struct cloister_err *err);

#endif
