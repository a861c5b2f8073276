/* ss_stats.c -- latency histogram, stage snapshot codec and subjects (ss_stats.h). */
#include "streams/common/ss_stats.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char MAGIC[WIRE_MAGIC_LEN] = {'S', 'S', 'T', 'S'};

static unsigned bucket_of(uint64_t v)
{
    if (v < SS_LAT_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
    unsigned i = (e - 3) * SS_LAT_SUB + (unsigned)((v >> (e - 4)) & (SS_LAT_SUB - 1));
    return i < SS_LAT_BUCKETS ? i : SS_LAT_BUCKETS - 1;
}

/* The middle of bucket i's range. */
static uint64_t value_of(unsigned i)
{
    if (i < SS_LAT_SUB)
        return i;
    unsigned e = i / SS_LAT_SUB + 3, m = i % SS_LAT_SUB;
    uint64_t width = (uint64_t)1 << (e - 4);
    return ((uint64_t)(SS_LAT_SUB + m) << (e - 4)) + width / 2;
}

void ss_latency_record(struct ss_latency *h, uint64_t ns)
{
    atomic_fetch_add_explicit(&h->n[bucket_of(ns)], 1, memory_order_relaxed);
}

void ss_latency_copy(const struct ss_latency *h, uint64_t out[SS_LAT_BUCKETS])
{
    for (unsigned i = 0; i < SS_LAT_BUCKETS; i++)
        out[i] = atomic_load_explicit(&h->n[i], memory_order_relaxed);
}

uint64_t ss_latency_quantile(const uint64_t counts[SS_LAT_BUCKETS], double q)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < SS_LAT_BUCKETS; i++)
        total += counts[i];
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)total + 0.5), seen = 0;
    rank = rank < 1 ? 1 : rank > total ? total : rank;
    for (unsigned i = 0; i < SS_LAT_BUCKETS; i++)
        if ((seen += counts[i]) >= rank)
            return value_of(i);
    return value_of(SS_LAT_BUCKETS - 1);
}

uint64_t ss_wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void ss_stage_stats_encode(const struct ss_stage_stats *s, struct wire_writer *w)
{
    wire_put_header(w, MAGIC, 1);
    wire_put_str(w, s->pipeline);
    wire_put_str(w, s->stage);
    wire_put_u8(w, s->final ? 1 : 0);
    const uint64_t v[] = {s->time_ms, s->events_in, s->events_out, s->batches,
                          s->refused, s->in_per_s,  s->out_per_s,  s->queue_bytes,
                          s->lag,     s->p50_us,    s->p99_us};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        wire_put_varint(w, v[i]);
}

int ss_stage_stats_decode(struct ss_stage_stats *s, const uint8_t *buf, size_t len,
                          struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    memset(s, 0, sizeof *s);
    wire_get_header(&r, MAGIC, 1);
    wire_get_str(&r, s->pipeline, sizeof s->pipeline);
    wire_get_str(&r, s->stage, sizeof s->stage);
    uint8_t flags = wire_get_u8(&r);
    uint64_t *v[] = {&s->time_ms, &s->events_in, &s->events_out, &s->batches,
                     &s->refused, &s->in_per_s,  &s->out_per_s,  &s->queue_bytes,
                     &s->lag,     &s->p50_us,    &s->p99_us};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        *v[i] = wire_get_varint(&r);
    if (flags > 1)
        wire_reader_fail(&r, "unknown flags");
    s->final = flags & 1;
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed stage statistics: %s",
                             wire_reader_error(&r));
    return 0;
}

/* name as a NATS subject token into out[cap] (cap >= 2). */
static void token(char *out, size_t cap, const char *name)
{
    size_t n = 0;
    for (; name[n] && n + 1 < cap; n++) {
        char c = name[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        out[n] = ok ? c : '_';
    }
    if (n == 0)
        out[n++] = '_';
    out[n] = '\0';
}

int ss_stats_subject(char *out, size_t cap, const char *pipeline, const char *stage)
{
    char p[SS_STATS_NAME_MAX], s[SS_STATS_NAME_MAX];
    token(p, sizeof p, pipeline ? pipeline : "");
    token(s, sizeof s, stage ? stage : "");
    int n = !pipeline ? snprintf(out, cap, SS_STATS_PREFIX ".>")
            : !stage  ? snprintf(out, cap, SS_STATS_PREFIX ".%s.>", p)
                      : snprintf(out, cap, SS_STATS_PREFIX ".%s.%s", p, s);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}
