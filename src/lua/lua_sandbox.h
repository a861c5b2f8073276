/* lua_sandbox.h -- the trusted Lua sandbox that runs user jobs (MapReduce) and stage callbacks
 * (SecureStreams) inside enclaves. docs/lua.md describes the sandbox, its budgets and its value
 * encoding.
 *
 * One state per task: tlua_new() with the job's and the task's names (every error message
 * starts "job wordcount, task map#17: ..."), a seed for math.random and the budgets; tlua_load()
 * the job's text; tlua_call() a global function of the job as often as there are records;
 * tlua_free(). Arguments, results and emitted pairs are *values* in the encoding below, so that
 * thousands of records cross the enclave boundary in one buffer:
 *
 *     struct tlua_options o = {.job = "wordcount", .task = "map#17", .seed = 42};
 *     struct tlua *t = tlua_new(&o, &err);
 *     tlua_load(t, src, srclen, "wordcount.lua", &err);
 *     wire_writer_init(&args); tlua_put_str(&args, "a.txt", 5); tlua_put_str(&args, line, n);
 *     tlua_call(t, "map", args.buf, args.len, &pairs, NULL, &err);   pairs: k v k v ...
 *     tlua_free(t);
 *
 * A failed call (budget, runtime error, bad input) leaves the state usable and the caller's
 * writers as they were before the call. A state is used by one thread at a time; states are
 * independent of each other (the module has no global state). The module writes nothing
 * anywhere on its own: messages and the print() log go to the caller only, and may quote job
 * data (error(line) puts the line in the message), so enclave code treats them as job output,
 * never as host diagnostics.
 *
 * Value encoding (one tag byte, then its payload; one value, one encoding):
 *     0x00 nil (top level only)      0x04 float: 8 bytes, big-endian IEEE 754; NaN as 0x7ff8<<48
 *     0x01 false   0x02 true         0x05 string: varint length, bytes (any bytes)
 *     0x03 integer: zigzag varint    0x06 array: varint n, n values (a table with keys 1..n)
 *     0x08 json.null                 0x07 map: varint n >= 1, n key/value pairs in increasing
 *                                         order of the keys' encodings; keys are strings,
 *                                         booleans, integers or non-integral floats, and not
 *                                         exactly 1..n (that table is an array)
 * Tables nest at most TLUA_DEPTH_MAX deep (a cycle fails on the depth). Equal values have equal
 * encodings, so the shuffle can group and sort keys by their bytes. */
#ifndef CLOISTER_LUA_SANDBOX_H
#define CLOISTER_LUA_SANDBOX_H

#include <cloister/error.h>
#include <cloister/wire.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLUA_MEMORY_DEFAULT ((size_t)64 << 20) /* bytes of Lua heap per state */
#define TLUA_INSTRUCTIONS_DEFAULT 100000000u   /* VM instructions per call */
#define TLUA_OUTPUT_DEFAULT ((size_t)4 << 20)  /* bytes emitted and returned per call */
#define TLUA_LOG_DEFAULT ((size_t)64 << 10)    /* bytes of print() kept per state */
#define TLUA_DEPTH_MAX 64                      /* table nesting in values and JSON */
#define TLUA_NAME_MAX 48                       /* job and task names kept for messages */

struct tlua_options {
    const char *job, *task; /* names for messages (truncated to TLUA_NAME_MAX - 1) */
    uint64_t seed;          /* math.random's seed: one seed, one sequence of draws */
    size_t memory;          /* every budget: 0 means its default */
    uint64_t instructions;
    size_t output;
    size_t log;
};

struct tlua_stats {
    size_t memory, memory_peak; /* bytes of Lua heap now and at most so far */
    size_t log_dropped;         /* bytes of print() output beyond the log budget */
};

struct tlua;

/* A sandboxed state on the trusted heap (tee_malloc), with only the libraries docs/lua.md lists. */
struct tlua *tlua_new(const struct tlua_options *o, struct cloister_err *err);
void tlua_free(struct tlua *t);

/* Runs a job's text (never bytecode) as the main chunk, under the per-call budgets; chunkname
 * ("wordcount.lua") is what messages show as the source. */
int tlua_load(struct tlua *t, const char *chunk, size_t len, const char *chunkname,
              struct cloister_err *err);

/* Whether the job defines a global function fn (optional ones: combine, partition). */
bool tlua_has(struct tlua *t, const char *fn);

/* Calls the global function fn with the values encoded in args[0..argslen) as arguments. Each
 * emit(k, v) appends k and v to emits (NULL: emit is an error); the function's results are
 * appended to results (NULL: dropped). Budgets are per call: instructions, and the bytes the
 * call adds to emits and results together. */
int tlua_call(struct tlua *t, const char *fn, const uint8_t *args, size_t argslen,
              struct wire_writer *emits, struct wire_writer *results, struct cloister_err *err);

/* Sets the global `name` to the one value encoded in value[0..len) (a job's parameters, such as
 * k-means' centres, set once per task rather than passed with every record). */
int tlua_set_global(struct tlua *t, const char *name, const uint8_t *value, size_t len,
                    struct cloister_err *err);

/* What print() wrote (tab-separated, one line per call), up to the log budget. */
const char *tlua_log(const struct tlua *t, size_t *len);
void tlua_stats(const struct tlua *t, struct tlua_stats *s);

/* Values, for callers that build arguments or split outputs without a Lua state. */
void tlua_put_str(struct wire_writer *w, const void *s, size_t len);
void tlua_put_int(struct wire_writer *w, int64_t v);
/* The header of an array of n values; the caller appends n encoded values (reduce's values). */
void tlua_put_array(struct wire_writer *w, size_t n);
/* Checks the next value in r and returns its bytes (*len of them), or NULL with r failed (at
 * the end of r too: loop while wire_reader_remaining(r) > 0). */
const uint8_t *tlua_value_next(struct wire_reader *r, size_t *len);

#endif
