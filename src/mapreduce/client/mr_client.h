/* mr_client.h -- what the parts of the MapReduce client share: input splits and records
 * (mr_input.c), results to JSON Lines or CSV (mr_output.c). */
#ifndef CLOISTER_MAPREDUCE_CLIENT_H
#define CLOISTER_MAPREDUCE_CLIENT_H

#include "mapreduce/common/mr_proto.h"

#include <cloister/mapreduce.h>

/* A split: bytes [off, off + len) of input file `file`, cut at line ends. */
struct mr_split {
    uint32_t file;
    uint8_t format; /* enum mr_format */
    uint64_t off, len;
};

/* Cuts the inputs into splits of about split_bytes (never inside a line). */
int mr_splits_plan(const char *const *paths, size_t n, enum mr_input_format format,
                   size_t split_bytes, struct mr_split **out, size_t *nsplits, uint64_t *total,
                   struct cloister_err *err);
/* Appends the split's records (key value ...) to w; at most max records (0: all). */
int mr_split_read(const char *path, const struct mr_split *s, size_t max, struct wire_writer *w,
                  uint64_t *nrecords, struct cloister_err *err);

/* One encoded value as JSON (maps' non-string keys become strings; NaN and infinities null). */
int mr_value_json(struct wire_reader *r, struct wire_writer *out, int depth);
/* A map {key = k, value = v} (how init and next_round see records and results). */
void mr_put_kv(struct wire_writer *w, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen);
/* Writes pairs (key value ...) sorted by key to path as JSON Lines or CSV, atomically. */
int mr_output_write(const char *path, const uint8_t *pairs, size_t len, bool csv,
                    uint64_t *nresults, struct cloister_err *err);

#endif
