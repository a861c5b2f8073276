/* streams.h -- SecureStreams (docs/streams.md): stream pipelines described in one Lua file, with
 * the stages wrapped in secure(...) run inside enclaves that hold their state.
 *
 *     struct ss_options o; ss_options_init(&o);
 *     o.tee = SS_TEE_SIM; o.enclave = &tee_enclave_streams; o.inproc = &ss_inproc_worker;
 *     o.params = (const char *[]){"input", "2008.csv", "output", "out.csv"}; o.nparams = 2;
 *     struct ss_stats s; ss_run("flights.lua", &o, &s, &err);
 *
 * The embedded engine evaluates the pipeline in the Lua sandbox on the host, runs each maximal
 * run of plain stages in-process and each run of secure stages in an enclave of the image
 * "streams" (one per run), provisioned with the pipeline key by attested HPKE. Batches into and
 * out of an enclave are AES-256-GCM, bound to the pipeline's hash, the stage they go to, the
 * partition and their sequence number. */
#ifndef CLOISTER_STREAMS_H
#define CLOISTER_STREAMS_H

#include <cloister/error.h>
#include <cloister/export.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ss_tee { SS_TEE_PROC, SS_TEE_SIM, SS_TEE_NONE };

/* The stage code run in-process: plain stages, and secure ones with SS_TEE_NONE. The enclave
 * library defines ss_inproc_worker. key NULL: a plain runner (no sealing). */
struct ss_inproc {
    void *(*open)(const uint8_t *key);
    int (*call)(void *w, uint32_t fn, const uint8_t *in, size_t inlen, uint8_t **out,
                size_t *outlen, struct cloister_err *err);
    void (*close)(void *w);
};
CLOISTER_API extern const struct ss_inproc ss_inproc_worker;

struct tee_enclave_def;

/* Where a run is, for a progress line. */
struct ss_progress {
    uint64_t events_in, events_out;
    uint64_t bytes_read, bytes_total; /* of the source; total 0 when unknown (a pipe) */
    double seconds;
};

struct ss_options {
    enum ss_tee tee;                       /* default SS_TEE_PROC */
    const struct tee_enclave_def *enclave; /* tee_enclave_streams, for SS_TEE_SIM */
    const struct ss_inproc *inproc;        /* ss_inproc_worker (always needed) */
    const char *const *params;             /* name, value, name, value, ... */
    size_t nparams;
    size_t batch_events; /* events per batch (default 1024) */
    size_t batch_bytes;  /* bytes of source events per batch (default 1 MiB) */
    size_t queue_bytes;  /* bound of each queue between stages (default 4 MiB) */
    unsigned linger_ms;  /* a batch also leaves once its first event waited this long (5) */
    /* Embedded: keep plain stages out of the enclaves (one segment per change of side) rather
     * than run a plain map, filter, flat_map or key_by next to a secure stage in its enclave. */
    bool no_fuse;
    /* Set by a signal handler: 1 stops reading the source, lets what was read flow through
     * every stage (reduce and windows flush) and writes the sink (ss_stats.stopped); 2 (a
     * second signal) aborts the run, leaving no output file. NULL: never stopped. */
    volatile sig_atomic_t *stop;
    const char *nats;           /* publish live per-stage statistics on this NATS server */
    unsigned stats_interval_ms; /* between statistics (default 1000) */
    /* Called from another thread every stats interval (NULL: never). */
    void (*progress)(void *arg, const struct ss_progress *p);
    void *progress_arg;
    bool allow_simulated;
    const uint8_t *mrenclave; /* pinned MRENCLAVE; NULL: the image tee_create checked */
    const char *home;         /* platform home (NULL: $CLOISTER_HOME or default) */
    const char *signature;    /* the image's signature (NULL: streams.enclave.sig) */
    /* Distributed (docs/streams.md section 7): every segment runs as `streams stage` processes
     * attached to the NATS server `nats`, provisioned over the bus; this process is the source
     * and the sink. Secure and plain segments alike run in enclaves (tee proc or sim). */
    bool distributed;
    unsigned replicas;     /* of each segment that can be partitioned (default 1) */
    const char *stage_exe; /* the cloister binary the stages run as (NULL: started by hand) */
    uint64_t ckpt_events;  /* a stage checkpoints every this many events (default 10000) */
    unsigned ckpt_ms;      /* or this often (default 1000) */
    /* Called when a stage process starts (again) with its pid (NULL: never). */
    void (*on_stage)(void *arg, const char *stage, unsigned replica, long pid);
    void *on_stage_arg;
};
CLOISTER_API void ss_options_init(struct ss_options *o);

#define SS_STAGES_REPORTED 32
/* The quantiles of ss_stats.latency_cdf_us: 1 %, 5 %, 10 %, 20 %, ..., 90 %, 95 %, 99 %, 99.9 %,
 * 100 %. */
#define SS_LATENCY_POINTS 15
CLOISTER_API extern const double ss_latency_points[SS_LATENCY_POINTS];

/* One thread of the engine: the source, a run of stages (plain, or secure in one enclave), or
 * the sink. Latency is per batch, from when the source read its first event to when this part
 * was done with it. */
struct ss_part_stats {
    char name[64]; /* "source", "2-filter-secure", "3-5-key_by-map", "sink" */
    uint64_t events_in, events_out, batches, refused;
    uint64_t p50_us, p99_us;
};

struct ss_stats {
    uint64_t events_in, events_out, batches, ecalls, skipped, refused;
    uint64_t queue_peak; /* the most bytes any queue between stages held */
    unsigned secure_stages, enclaves;
    bool simulated;
    bool stopped;                               /* ended early by ss_options.stop */
    double seconds;                             /* from the first event read to the sink's end */
    uint64_t latency_p50_us, latency_p99_us;    /* source to sink, per batch */
    uint64_t latency_cdf_us[SS_LATENCY_POINTS]; /* the same at ss_latency_points */
    unsigned nparts;                            /* the source, each run of stages, the sink */
    struct ss_part_stats part[SS_STAGES_REPORTED];
    char first_error[CLOISTER_ERR_MAX]; /* the first callback error the policy skipped */
    char pipeline[64];
    unsigned stage_processes, restarts; /* distributed: stages started, restarted after a kill */
    uint64_t duplicates; /* distributed: batches the sink had already taken, dropped */
};

/* Runs the pipeline in file `path` to the end of its source. */
CLOISTER_API int ss_run(const char *path, const struct ss_options *o, struct ss_stats *s,
                        struct cloister_err *err);

/* What one stage process did (ss_stage). */
struct ss_stage_report {
    char run[32];
    uint64_t events_in, events_out, batches_out, duplicates, refused, checkpoints;
    bool restored; /* it resumed from a checkpoint */
};

/* Runs one stage (a segment, by name or first stage number) of a distributed run of the pipeline
 * in `path`, as replica `replica`: waits for its seat on o->nats, has its enclave provisioned by
 * the run's launcher (attested), restores its checkpoint, and runs until every producer before
 * it has ended (or o->stop). */
CLOISTER_API int ss_stage(const char *path, const char *stage, unsigned replica,
                          const struct ss_options *o, struct ss_stage_report *r,
                          struct cloister_err *err);

/* Signs the stage image for a test or a demo: seed is the signer's Ed25519 seed. */
CLOISTER_API int ss_sign_image(const char *image, const uint8_t seed[32], const char *sig_path,
                               struct cloister_err *err);

/* Writes `rows` flights of the Data Expo 2009 schema for `year` to out (atomically), seeded. */
CLOISTER_API int ss_gen_flights(const char *out, uint64_t rows, int year, uint64_t seed,
                                struct cloister_err *err);

#endif
