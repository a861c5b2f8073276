/* mr_host.h -- the untrusted host of one MapReduce worker: it starts the worker (an enclave of
 * the image "mapreduce" with the proc or sim backend, or the worker code in-process for "none"),
 * relays the client's provisioning, and serves tasks from a transport (mr_transport.h): it hands
 * sealed tasks and splits to the worker in one ecall per split, stores the sealed shuffle chunks
 * it gets back, feeds a reducer its chunks in batches of many per ecall, and returns sealed
 * outcomes. A reducer over its memory cap hands out sealed sorted runs, which the host keeps in
 * a spill directory and brings back as the merge asks for them. It sees ciphertext, sizes and
 * task numbers only. A worker that dies is restarted
 * (its provisioned key comes back sealed), reloaded and its task reported for a re-run. */
#ifndef CLOISTER_MAPREDUCE_HOST_H
#define CLOISTER_MAPREDUCE_HOST_H

#include "mapreduce/host/mr_transport.h"

#include <cloister/mapreduce.h>

#include <signal.h>
#include <stdbool.h>

struct mr_host_config {
    enum mr_tee tee;
    const struct tee_enclave_def *enclave; /* sim */
    const struct mr_inproc *inproc;        /* none */
    const char *home, *store_dir;          /* proc/sim: platform home, sealed secrets */
    const char *signature;                 /* NULL: <image>.sig */
    unsigned index;                        /* the worker's number, in result messages */
    /* Where a reducer's sealed runs go, in a fresh directory per task removed when it ends
     * (NULL: $TMPDIR or /tmp); on_spill_read sees each segment read back (tests: a hostile
     * host), and may change or replace it (malloc'd). */
    const char *spill_dir;
    void (*on_spill_read)(void *arg, uint8_t **chunk, size_t *len);
    void *hook_arg;
};

struct mr_host_worker;

int mr_host_worker_start(const struct mr_host_config *c, struct mr_host_worker **out,
                         struct cloister_err *err);
void mr_host_worker_stop(struct mr_host_worker *w);
/* Attested provisioning, relayed (proc/sim): the worker's offer for nonce, then the package. */
int mr_host_worker_offer(struct mr_host_worker *w, const uint8_t *nonce, size_t nonce_len,
                         uint8_t **offer, size_t *offer_len, struct cloister_err *err);
int mr_host_worker_accept(struct mr_host_worker *w, const uint8_t *package, size_t len,
                          struct cloister_err *err);
/* "none": the key handed over in-process (there is no enclave to attest). */
int mr_host_worker_set_key(struct mr_host_worker *w, const uint8_t key[32],
                           struct cloister_err *err);
/* Loads the sealed code chunk (kept, to reload after a restart). */
int mr_host_worker_load(struct mr_host_worker *w, const uint8_t *chunk, size_t len,
                        struct cloister_err *err);
/* The MRENCLAVE of the image the worker runs (tee_create checked it against its signature). */
int mr_host_worker_identity(struct mr_host_worker *w, uint8_t mrenclave[32],
                            struct cloister_err *err);
/* The enclave process (0 for sim and none), for the demo's kill. */
int mr_host_worker_pid(struct mr_host_worker *w);
/* Serves tasks until the transport closes. Thread-safe against other workers only. */
void mr_host_worker_serve(struct mr_host_worker *w, struct mr_transport *t);

struct mr_host_stats {
    uint64_t ecalls, restarts;
};
void mr_host_worker_stats(struct mr_host_worker *w, struct mr_host_stats *s);

#endif
