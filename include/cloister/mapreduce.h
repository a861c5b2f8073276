/* mapreduce.h -- Lightweight MapReduce: Lua jobs run by worker enclaves on data that only the
 * client and the enclaves ever see in clear (docs/mapreduce.md).
 *
 * A job is one Lua file (map, optional combine, reduce, optional partition, init and
 * next_round). mr_run() is the embedded engine: it checks the job, draws a job key, starts
 * `workers` local worker enclaves (proc or sim backend, or the same worker code in-process with
 * MR_TEE_NONE), verifies each one's evidence and provisions the key by attested HPKE, then
 * schedules map and reduce tasks over them through a transport (a task queue and a shuffle
 * store; an in-process one here) and writes OUTPUT/part-R.jsonl. Splits, shuffle partitions and
 * results cross the host sealed (AES-256-GCM, bound to job, round, task, attempt, partition and
 * sequence number); a refused chunk is counted and its task re-run; a dead worker is restarted
 * and its task re-run.
 *
 *     struct mr_options o;
 *     mr_options_init(&o);
 *     o.job = "wordcount.lua"; o.inputs = paths; o.ninputs = n; o.output = "out";
 *     o.enclave = &tee_enclave_mapreduce; o.inproc = &mr_inproc_worker; o.allow_simulated = true;
 *     struct mr_summary s; struct cloister_err err;
 *     if (mr_run(&o, &s, &err) != 0) fprintf(stderr, "%s\n", err.msg);
 *
 * Errors (error.h): CLOISTER_E_INVALID for a bad job or input (with the Lua message),
 * CLOISTER_E_FAILED for a task whose job code failed ("job wordcount, task map#3: ... at
 * wordcount.lua:4"), CLOISTER_E_DENIED when a worker's evidence is refused, CLOISTER_E_STATE when
 * stopped by o.stop. */
#ifndef CLOISTER_MAPREDUCE_H
#define CLOISTER_MAPREDUCE_H

#include <cloister/error.h>
#include <cloister/export.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum mr_tee { MR_TEE_PROC, MR_TEE_SIM, MR_TEE_NONE };

/* A reducer's memory cap (struct mr_options.reduce_memory). The most is what one ecall answer
 * can carry out as sealed runs next to a batch of shuffle input. */
#define MR_REDUCE_MEMORY_MIN (1u << 10)
#define MR_REDUCE_MEMORY_MAX (12u << 20)
#define MR_REDUCE_MEMORY_DEFAULT (8u << 20)
enum mr_input_format { MR_FORMAT_AUTO, MR_FORMAT_TEXT, MR_FORMAT_CSV, MR_FORMAT_JSONL };

/* The worker code run in-process (MR_TEE_NONE); the enclave library defines
 * mr_inproc_worker. */
struct mr_inproc {
    void *(*open)(const uint8_t key[32]);
    int (*call)(void *w, uint32_t fn, const uint8_t *in, size_t inlen, uint8_t **out,
                size_t *outlen, struct cloister_err *err);
    void (*close)(void *w);
};
CLOISTER_API extern const struct mr_inproc mr_inproc_worker;

struct tee_enclave_def;
struct mr_transport; /* mapreduce/host/mr_transport.h; NULL: the in-process one */

/* What a run went through, for --json and the benchmarks. */
struct mr_summary {
    double seconds, map_seconds, reduce_seconds, setup_seconds;
    unsigned rounds;
    uint64_t input_bytes, records_in, map_pairs, results;
    uint64_t shuffle_bytes; /* sealed bytes through the shuffle store */
    uint64_t map_tasks, reduce_tasks, retries, refused_chunks, worker_restarts;
    uint64_t ecalls; /* ecalls made to workers (map/reduce/load) */
    uint64_t lua_heap_peak;
    bool simulated;                           /* the workers' evidence said "simulated" */
    uint64_t remote_workers, refused_workers; /* remote enclaves provisioned, and refused */
    uint64_t duplicate_results; /* late results of a task attempt already done: ignored */
};

/* Called about once a second from the engine's thread with the progress so far. */
struct mr_progress {
    unsigned round;
    uint64_t maps_done, maps, reduces_done, reduces;
    uint64_t bytes_done, bytes_total;
    double seconds;
};

struct mr_options {
    const char *job;           /* the job's Lua file */
    const char *const *inputs; /* input files */
    size_t ninputs;
    const char *output; /* output directory (created) */
    unsigned workers;   /* worker enclaves; default 3 */
    unsigned mappers;   /* map tasks per round at least (default: one per split) */
    unsigned reducers;  /* default 1 */
    enum mr_tee tee;    /* default MR_TEE_PROC */
    enum mr_input_format format;
    bool csv_output;          /* part-R.csv instead of .jsonl */
    bool allow_simulated;     /* accept workers' simulated evidence */
    const uint8_t *mrenclave; /* pinned MRENCLAVE (32 bytes); NULL: the image tee_create checked */
    const struct tee_enclave_def *enclave; /* tee_enclave_mapreduce, for MR_TEE_SIM */
    const struct mr_inproc *inproc;        /* mr_inproc_worker, for MR_TEE_NONE */
    size_t split_bytes;                    /* input bytes per split; default 1 MiB */
    unsigned max_rounds;                   /* iterative jobs; default 100 */
    uint64_t lua_memory, lua_instructions; /* per-task budgets (0: the sandbox's defaults) */
    /* A reducer's input held in its enclave before it spills a sorted, sealed run to its host's
     * disk (MR_REDUCE_MEMORY_MIN..MR_REDUCE_MEMORY_MAX; default MR_REDUCE_MEMORY_DEFAULT; 0:
     * never, the whole partition stays in the enclave). The merge of the runs holds one segment
     * (an eighth of this, at most 256 KiB) per run. */
    uint64_t reduce_memory;
    const char *home;         /* platform home (NULL: tee_home_dir()) */
    const char *signature;    /* the image's signature (NULL: <image>.sig) */
    const char *work_dir;     /* shuffle store (NULL: OUTPUT/.mr-work) */
    const char *nats;         /* nats://HOST:PORT: tasks, results and shuffle over NATS JetStream */
    int64_t nats_ack_wait_ms; /* with nats: an unacked task is redelivered after it (30000) */
    /* With nats: seats offered to `cloister mapreduce worker` processes, each provisioned by
     * attested HPKE over the bus (MRENCLAVE pinned as for local workers), in addition to the
     * `workers` local enclaves (which may then be 0). */
    unsigned remote_workers;
    volatile sig_atomic_t *stop; /* set (by a signal handler): stop cleanly */
    FILE *
        log; /* where print() of init and next_round goes (they run on the client); NULL: dropped */
    void (*progress)(void *arg, const struct mr_progress *p);
    void *progress_arg;
    /* Tests and the demo play a hostile or failing host: on_shuffle_get sees every shuffle chunk
     * read back from the store (and may change or replace it, malloc'd); on_map_done is called after each accepted
     * map task with the workers' enclave processes (proc: pids, else 0). */
    void (*on_shuffle_get)(void *arg, uint8_t **chunk, size_t *len); /* may replace *chunk */
    void (*on_map_done)(void *arg, uint64_t maps_done, const int *pids, unsigned nworkers);
    /* on_spill_read sees every segment of a reducer's spilled run that a local worker's host
     * reads back from its spill directory (and may change or replace it, malloc'd). */
    void (*on_spill_read)(void *arg, uint8_t **chunk, size_t *len);
    void *hook_arg;
};

CLOISTER_API void mr_options_init(struct mr_options *o);
CLOISTER_API int mr_run(const struct mr_options *o, struct mr_summary *s, struct cloister_err *err);

/* Signs the worker image (the file `image`, from tee_image_path("mapreduce")) with the signer
 * seed, a heap of heap_size bytes (0: 512 MiB, room for the Lua budgets) and an EPC budget
 * (0: the default), writing sig_path: what `cloister enclave sign` does, for tests, benchmarks
 * and the demo. */
CLOISTER_API int mr_sign_image(const char *image, const uint8_t seed[32], uint64_t epc_budget,
                               uint64_t heap_size, const char *sig_path, struct cloister_err *err);

/* Loads a job's text in a sandbox and checks it defines map and reduce: the Lua message on a
 * syntax error. */
CLOISTER_API int mr_job_check(const char *text, size_t len, const char *name,
                              struct cloister_err *err);

/* Generators (seeded, reproducible). Text: lines of Zipf-distributed English words (from
 * /usr/share/dict/words when present, else a built-in list) until `bytes` were written. Points:
 * n points around k centres in dim dimensions, one CSV line each. */
CLOISTER_API int mr_gen_text(FILE *out, uint64_t bytes, uint64_t seed, struct cloister_err *err);
CLOISTER_API int mr_gen_points(FILE *out, uint64_t n, unsigned k, unsigned dim, uint64_t seed,
                               struct cloister_err *err);

#endif
