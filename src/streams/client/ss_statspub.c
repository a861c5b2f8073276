/* ss_statspub.c -- meters and the statistics publisher (ss_statspub.h). */
#include "streams/client/ss_statspub.h"

#include "bus/bus.h"
#include "util/deadline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLOG_MODULE "streams"
#include "util/log.h"

#define STATSPUB_DEFAULT_MS 1000

struct ss_statspub {
    const struct ss_statspub_config *c;
    struct bus *bus;
    struct ss_stage_stats *snaps;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, warned;
    uint64_t last_ns;
};

void ss_meter_init(struct ss_meter *m, const char *stage)
{
    memset(m, 0, sizeof *m);
    snprintf(m->stage, sizeof m->stage, "%s", stage);
}

static uint64_t rate(uint64_t n, uint64_t ns)
{
    return ns ? (uint64_t)((double)n * 1e9 / (double)ns + 0.5) : 0;
}

void ss_meter_snapshot(struct ss_meter *m, const char *pipeline, uint64_t elapsed_ns, bool final,
                       struct ss_stage_stats *s)
{
    uint64_t lat[SS_LAT_BUCKETS];
    memset(s, 0, sizeof *s);
    snprintf(s->pipeline, sizeof s->pipeline, "%s", pipeline);
    snprintf(s->stage, sizeof s->stage, "%s", m->stage);
    s->final = final;
    s->time_ms = ss_wall_ns() / 1000000u;
    s->events_in = atomic_load_explicit(&m->events_in, memory_order_relaxed);
    s->events_out = atomic_load_explicit(&m->events_out, memory_order_relaxed);
    s->batches = atomic_load_explicit(&m->batches, memory_order_relaxed);
    s->refused = atomic_load_explicit(&m->refused, memory_order_relaxed);
    s->queue_bytes = atomic_load_explicit(&m->queue_bytes, memory_order_relaxed);
    s->lag = atomic_load_explicit(&m->lag, memory_order_relaxed);
    s->in_per_s = rate(s->events_in - m->prev_in, elapsed_ns);
    s->out_per_s = rate(s->events_out - m->prev_out, elapsed_ns);
    ss_latency_copy(&m->lat, lat);
    for (unsigned i = 0; i < SS_LAT_BUCKETS; i++) {
        uint64_t now = lat[i];
        lat[i] -= m->prev_lat[i];
        m->prev_lat[i] = now;
    }
    s->p50_us = (ss_latency_quantile(lat, 0.5) + 999) / 1000;
    s->p99_us = (ss_latency_quantile(lat, 0.99) + 999) / 1000;
    m->prev_in = s->events_in;
    m->prev_out = s->events_out;
}

static void publish(struct ss_statspub *p, const struct ss_stage_stats *s)
{
    char subject[256];
    struct wire_writer w;
    struct cloister_err err = {0};
    wire_writer_init(&w);
    ss_stage_stats_encode(s, &w);
    int rc = ss_stats_subject(subject, sizeof subject, s->pipeline, s->stage) != 0
                 ? cloister_errf(&err, CLOISTER_E_INVALID, "stage statistics: subject too long")
             : wire_writer_ok(&w) ? bus_post(p->bus, subject, w.buf, w.len, &err)
                                  : cloister_errf(&err, CLOISTER_E_NO_MEMORY, "no memory");
    if (rc != 0 && !p->warned) {
        p->warned = true;
        clog_warn("live statistics not published: %s", err.msg);
    }
    wire_writer_free(&w);
}

static void round_of(struct ss_statspub *p, bool final)
{
    const struct ss_statspub_config *c = p->c;
    uint64_t now = ss_wall_ns(), elapsed = now > p->last_ns ? now - p->last_ns : 0;
    p->last_ns = now;
    if (c->sample)
        c->sample(c->arg);
    for (size_t i = 0; i < c->n; i++) {
        ss_meter_snapshot(&c->meters[i], c->pipeline, elapsed, final, &p->snaps[i]);
        if (p->bus)
            publish(p, &p->snaps[i]);
    }
    if (p->bus)
        bus_flush(p->bus, 1000, NULL);
    if (c->on_tick)
        c->on_tick(c->arg, p->snaps, c->n);
}

static void *statspub_main(void *arg)
{
    struct ss_statspub *p = arg;
    unsigned ms = p->c->interval_ms ? p->c->interval_ms : STATSPUB_DEFAULT_MS;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec t = deadline_after_ms(CLOCK_MONOTONIC, ms);
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &t) == 0)
            ;
        if (p->stop)
            break;
        pthread_mutex_unlock(&p->mu);
        round_of(p, false);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int ss_statspub_start(const struct ss_statspub_config *c, struct ss_statspub **out,
                      struct cloister_err *err)
{
    struct ss_statspub *p = calloc(1, sizeof *p);
    if (!p || !(p->snaps = calloc(c->n ? c->n : 1, sizeof *p->snaps))) {
        free(p);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for statistics");
    }
    p->c = c;
    p->last_ns = ss_wall_ns();
    if (c->url && !(p->bus = bus_connect(c->url, NULL, err))) {
        free(p->snaps);
        free(p);
        return err ? err->code : CLOISTER_E_FAILED;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, statspub_main, p) != 0) {
        p->stop = true; /* no thread to join */
        ss_statspub_stop(p);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start the statistics thread");
    }
    *out = p;
    return 0;
}

void ss_statspub_stop(struct ss_statspub *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    bool running = !p->stop;
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (running) {
        pthread_join(p->thread, NULL);
        round_of(p, true);
    }
    bus_close(p->bus);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->snaps);
    free(p);
}
