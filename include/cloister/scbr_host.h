/* scbr_host.h -- the SCBR router's untrusted host: a ZeroMQ ROUTER socket in front of the scbr
 * enclave, which does the matching (docs/scbr.md).
 *
 * The host batches the clients' sealed subscriptions, unsubscriptions and publication headers
 * into ecalls; the enclave decrypts and authenticates them, refuses tampered, truncated and
 * replayed ones (and counts them), matches, and answers with the sender ids to deliver to; the
 * host forwards the still-opaque payloads. It never holds SK: the data provider gives SK to the
 * enclave by attested provisioning (scbr_client.h), and the enclave keeps it sealed to its
 * MRENCLAVE, so a restarted router needs no provisioner.
 *
 * Functions return CLOISTER_OK or a negative CLOISTER_E_* code and fill err (error.h). */
#ifndef CLOISTER_SCBR_HOST_H
#define CLOISTER_SCBR_HOST_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/scbr.h>
#include <cloister/tee.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct scbr_router_options {
    const char *listen; /* default "tcp://127.0.0.1:*": loopback, any free port */
    enum tee_backend backend;
    const char *image;                     /* NULL: tee_image_path("scbr") */
    const char *signature;                 /* NULL: <image>.sig */
    const char *home;                      /* NULL: tee_home_dir() */
    const struct tee_enclave_def *enclave; /* the trusted code, for the sim backend */
    enum scbr_index_kind index;
    const char *state_dir;    /* NULL: no persistence of subscriptions */
    unsigned batch;           /* publications per ecall; 0: 256 */
    unsigned queue;           /* per-subscriber queue bound (ZMQ_SNDHWM); 0: 10000 */
    uint64_t queue_bytes;     /* bytes queued per subscriber at most; 0: 64 MiB */
    uint64_t total_bytes;     /* bytes queued for all subscribers at most; 0: 1 GiB */
    uint32_t senders_max;     /* the enclave's sender table (idle ones evicted past it);
                               * 0: 2^20, the largest */
    unsigned idle_timeout_ms; /* silence before a client counts as gone; 0: 10000 */
    enum tee_wait wait;       /* default TEE_WAIT_BLOCK: a batch amortises the wake-up,
                                       * and a spinning enclave would take a core from ZeroMQ */
    /* Sharding (docs/scbr.md, "Shards"): with nats set, a front (shards > 0) keeps its clients
     * and forwards sealed records to `shards` shard routers over NATS, partitioned by
     * subscription id or, with partition_key, by that attribute's value; a shard (is_shard)
     * serves its front's records as shard number shard_index of `cluster` (NULL: "main"). */
    const char *nats;
    const char *cluster;
    unsigned shards;
    const char *partition_key;
    unsigned shard_timeout_ms; /* a front's wait for its shards' answers; 0: 2000 */
    bool is_shard;
    unsigned shard_index;
    /* Set (from a signal handler or another thread) to stop the loop; checked at least every
     * 100 ms. */
    volatile sig_atomic_t *stop;
};
CLOISTER_API void scbr_router_options_init(struct scbr_router_options *o);

typedef struct scbr_router scbr_router;

/* Starts the enclave, restores the sealed subscriptions from state_dir, binds the socket. */
CLOISTER_API int scbr_router_open(const struct scbr_router_options *o, scbr_router **out,
                                  struct cloister_err *err);
/* Serves until *o->stop (or scbr_router_stop); then persists the subscriptions. */
CLOISTER_API int scbr_router_run(scbr_router *r, struct cloister_err *err);
/* Runs scbr_router_run in a thread of its own (tests, demos, programs embedding a router). */
CLOISTER_API int scbr_router_start(scbr_router *r, struct cloister_err *err);
/* Stops a started router and waits for its thread: the run's result (err says why). */
CLOISTER_API int scbr_router_stop(scbr_router *r, struct cloister_err *err);
/* A front: moves its subscriptions to `shards` shards (numbers 0..shards-1 must run, hold SK
 * and answer), while clients' messages wait; on failure the old partition stays. From any
 * thread while the router runs (or before it does). */
CLOISTER_API int scbr_router_reshard(scbr_router *r, unsigned shards, struct cloister_err *err);
/* The enclave's identity (for the data provider's policy). */
CLOISTER_API int scbr_router_identity(scbr_router *r, uint8_t mrenclave[32], uint8_t mrsigner[32],
                                      struct cloister_err *err);
/* The router's enclave (tee_get_info, tee_epc_stats; it belongs to the router). */
CLOISTER_API tee_enclave *scbr_router_enclave(scbr_router *r);
/* The endpoint actually bound (a tcp port 0 or '*' resolved). */
CLOISTER_API const char *scbr_router_endpoint(const scbr_router *r);
/* The counters; not while the router runs (clients ask with scbr_client_stats). */
CLOISTER_API int scbr_router_get_stats(scbr_router *r, struct scbr_router_stats *st,
                                       struct cloister_err *err);
CLOISTER_API void scbr_router_close(scbr_router *r); /* stops it first if started */

/* Signs an enclave image with the Ed25519 seed into sig_path, config: defaults with the given
 * EPC budget (bytes; 0: default) and heap size (bytes; 0: 256 MiB, room for the index). */
CLOISTER_API int scbr_router_sign(const char *image, const uint8_t seed[32], uint64_t epc_budget,
                                  uint64_t heap_size, const char *sig_path,
                                  struct cloister_err *err);

#endif
