/* ss_plan.h -- a pipeline file planned into segments (docs/streams.md, "The engine"): the config
 * (file text and parameters, whose SHA-256 is the pipeline hash), the description a plain runner
 * gives of it (source, stages, sink), and the stages grouped into segments, each a maximal run of
 * consecutive stages with the same secure() flag. The embedded engine runs every segment in a
 * thread of its own; a distributed run runs each in processes of its own (`streams stage`),
 * which plan the same file to find theirs by name. Internal to the streams client. */
#ifndef CLOISTER_STREAMS_PLAN_H
#define CLOISTER_STREAMS_PLAN_H

#include "streams/client/ss_client.h"
#include "streams/common/ss_proto.h"

#include <cloister/streams.h>

#define SS_STAGES_MAX 256

struct ss_segment_plan {
    uint32_t first, last;
    bool secure;
    bool partitionable; /* its keyed state (if any) gets its keys from the previous segment */
    char name[64];      /* "2-filter-secure", "3-5-key_by-map" */
};

struct ss_plan {
    struct wire_writer config; /* ss_proto.h's config: what every stage loads */
    uint8_t hash[SS_HASH_LEN];
    char pipeline[64];
    bool src_csv, src_header; /* a JetStream source's src_header: follow */
    char src_sep;
    enum ss_source_kind src_kind;
    char src_path[4096], sink_path[4096], sink_kind[16], header[4096];
    char src_durable[256], src_filter[256]; /* a JetStream source's consumer and filter */
    size_t ncolumns;
    char *columns[SS_COLUMNS_MAX]; /* the CSV columns the pipeline reads (none: all) */
    bool stage_secure[SS_STAGES_MAX + 1];
    char stage_op[SS_STAGES_MAX + 1][32];
    unsigned nstages, secure_stages;
    struct ss_segment_plan seg[SS_STAGES_MAX];
    unsigned nseg;
};

/* Reads the pipeline file with o's parameters, has a plain runner describe it (a malformed
 * pipeline fails here, with the Lua message) and groups its stages. p is zeroed first. */
int ss_plan_load(struct ss_plan *p, const char *path, const struct ss_options *o,
                 struct cloister_err *err);
void ss_plan_free(struct ss_plan *p);
/* The embedded engine's grouping: a plain map, filter, flat_map or key_by next to a secure
 * segment joins it (and so on outwards), so that a batch crosses into an enclave once instead
 * of at every change of side, and the events between two secure stages never leave the enclave
 * in clear. A distributed run keeps the plain grouping (its segments are processes, named and
 * partitioned by it). */
void ss_plan_fuse(struct ss_plan *p);
/* The segment named `name`, or whose first stage is the number `name`: its index, or -1. */
int ss_plan_find(const struct ss_plan *p, const char *name);
struct ss_host;
/* A plain runner (in-process) loaded with the plan's config; with d, the description and the
 * sink header appended to d (SS_CALL_DESCRIBE's answer). */
int ss_plan_runner(const struct ss_plan *p, const struct ss_options *o, struct ss_host **h,
                   struct wire_writer *d, struct cloister_err *err);
/* Opens the plan's source into s (the columns kept, CSV or lines); a NATS source connects to
 * url (NULL: the run has no --nats, which such a source needs). */
int ss_plan_source_open(const struct ss_plan *p, const char *url, struct ss_source *s,
                        struct cloister_err *err);

#endif
