/* ss_statspub.h -- a stage's live counters (struct ss_meter) and the thread that turns them into
 * snapshots (ss_stats.h) every interval: published on NATS (core publish, ss.stats.PIPELINE.
 * STAGE) when a URL is given, and handed to a callback (the CLI's progress line) either way.
 *
 * The thread that runs a stage only adds to its meter (relaxed atomics, no lock); gauges that
 * live elsewhere (queue depth, a consumer's lag) are set by the sample callback just before each
 * snapshot. A failed publish (the server went away) is logged once and never stops the stage.
 *
 *     static struct ss_meter m;
 *     ss_meter_init(&m, "reduce");
 *     struct ss_statspub_config c = {.url = url, .pipeline = "flights", .meters = &m, .n = 1};
 *     struct ss_statspub *p;
 *     ss_statspub_start(&c, &p, &err);
 *     for each batch: ss_meter_in(&m, n_in); ...; ss_meter_out(&m, n_out, batch_ingress_ns);
 *     ss_statspub_stop(p);    // publishes the final snapshots */
#ifndef CLOISTER_STREAMS_STATSPUB_H
#define CLOISTER_STREAMS_STATSPUB_H

#include "streams/common/ss_stats.h"

#include <cloister/error.h>

#include <stdatomic.h>

struct ss_meter {
    char stage[SS_STATS_NAME_MAX];
    _Atomic uint64_t events_in, events_out, batches, refused;
    _Atomic uint64_t queue_bytes, lag; /* gauges */
    struct ss_latency lat;
    /* the snapshots' own: counters at the previous snapshot */
    uint64_t prev_in, prev_out, prev_lat[SS_LAT_BUCKETS];
};

void ss_meter_init(struct ss_meter *m, const char *stage);

static inline void ss_meter_in(struct ss_meter *m, uint64_t events)
{
    atomic_fetch_add_explicit(&m->events_in, events, memory_order_relaxed);
}

/* A batch of `events` left the stage; it entered the pipeline at ingress_ns (ss_wall_ns). */
static inline void ss_meter_out(struct ss_meter *m, uint64_t events, uint64_t ingress_ns)
{
    uint64_t now = ss_wall_ns();
    atomic_fetch_add_explicit(&m->events_out, events, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->batches, 1, memory_order_relaxed);
    ss_latency_record(&m->lat, now > ingress_ns ? now - ingress_ns : 0);
}

/* The meter's snapshot over the elapsed_ns since its previous one (which it becomes). */
void ss_meter_snapshot(struct ss_meter *m, const char *pipeline, uint64_t elapsed_ns, bool final,
                       struct ss_stage_stats *s);

struct ss_statspub_config {
    const char *url;      /* NATS server (nats://HOST:PORT); NULL: no publishing */
    const char *pipeline; /* its name: the subjects' second token */
    struct ss_meter *meters;
    size_t n;
    unsigned interval_ms;      /* between snapshots (default 1000) */
    void (*sample)(void *arg); /* before each round of snapshots: set the gauges */
    void (*on_tick)(void *arg, const struct ss_stage_stats *s, size_t n);
    void *arg;
};

struct ss_statspub;

/* Connects (when c->url) and starts the thread; c and the meters must outlive it. */
int ss_statspub_start(const struct ss_statspub_config *c, struct ss_statspub **out,
                      struct cloister_err *err);
/* Takes and publishes the final snapshots (final set), stops the thread, disconnects. NULL is
 * fine. */
void ss_statspub_stop(struct ss_statspub *p);

#endif
