/* ss_stats.h -- live statistics of a SecureStreams stage (docs/streams.md, "Live statistics"):
 * a latency histogram cheap enough to update per batch from a stage's thread, and the
 * per-stage snapshot that `streams run --nats` publishes and `streams top` shows.
 *
 * Latency is from a batch's ingress (when the source read its first event; wall clock in ns,
 * so that stages in other processes can measure it too, within their clock skew) to the moment
 * a stage has finished with it; one sample per batch. The histogram has 16 buckets per power
 * of two (quantiles within 6 %), up to 2^42 ns (73 minutes); longer waits count in the last.
 *
 * Snapshot wire format (all varints after the header): "SSTS" u16 version 1, str pipeline,
 * str stage, u8 flags (1: final, the stage ended), time_ms, events_in, events_out, batches,
 * refused, in_per_s, out_per_s, queue_bytes, lag, p50_us, p99_us. The decoder is bounds-checked
 * and refuses anything else (fuzz/streams/fuzz_streams_stats.c).
 *
 * Subjects: ss.stats.PIPELINE.STAGE, each name reduced to a NATS token (A-Z a-z 0-9 _ -, any
 * other byte becomes _). */
#ifndef CLOISTER_STREAMS_STATS_H
#define CLOISTER_STREAMS_STATS_H

#include <cloister/error.h>
#include <cloister/wire.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SS_LAT_SUB 16
#define SS_LAT_BUCKETS (SS_LAT_SUB * 40)
#define SS_STATS_NAME_MAX 64
#define SS_STATS_PREFIX "ss.stats"

struct ss_latency {
    _Atomic uint64_t n[SS_LAT_BUCKETS];
};

/* Counts one sample of ns nanoseconds (any thread). */
void ss_latency_record(struct ss_latency *h, uint64_t ns);
/* A copy of the counts (relaxed: a sample being recorded may or may not be in it). */
void ss_latency_copy(const struct ss_latency *h, uint64_t out[SS_LAT_BUCKETS]);
/* The q-quantile (0 < q <= 1) of counts, in ns; 0 when there is no sample. */
uint64_t ss_latency_quantile(const uint64_t counts[SS_LAT_BUCKETS], double q);

/* The wall clock in ns: ingress times. */
uint64_t ss_wall_ns(void);

struct ss_stage_stats {
    char pipeline[SS_STATS_NAME_MAX], stage[SS_STATS_NAME_MAX];
    bool final;                              /* the stage ended: its last snapshot */
    uint64_t time_ms;                        /* wall clock of the snapshot */
    uint64_t events_in, events_out, batches; /* since the stage started */
    uint64_t refused;                        /* batches refused (tampered, replayed, ...) */
    uint64_t in_per_s, out_per_s;            /* events/s over the last interval */
    uint64_t queue_bytes;                    /* bytes waiting at the stage's input */
    uint64_t lag;                            /* messages not yet delivered (over NATS) */
    uint64_t p50_us, p99_us;                 /* latency over the last interval; 0: none */
};

void ss_stage_stats_encode(const struct ss_stage_stats *s, struct wire_writer *w);
/* CLOISTER_E_INVALID when buf is not exactly one snapshot. */
int ss_stage_stats_decode(struct ss_stage_stats *s, const uint8_t *buf, size_t len,
                          struct cloister_err *err);

/* SS_STATS_PREFIX.PIPELINE.STAGE into out; stage NULL: ".>" (every stage of the pipeline), and
 * pipeline NULL too: every pipeline. -1 when it does not fit. */
int ss_stats_subject(char *out, size_t cap, const char *pipeline, const char *stage);

#endif
