/* host.h -- the host side's internals: the enclave object, the two backends, and the helpers
 * both backends share (request encoding, response decoding, serving ocalls).
 *
 * Every function that can fail returns a CLOISTER_E_* code and fills the caller's struct
 * cloister_err (which may be NULL), as the public API does. */
#ifndef CLOISTER_TEE_HOST_H
#define CLOISTER_TEE_HOST_H

#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <pthread.h>
#include <stdatomic.h>

struct tee_enclave;

struct host_backend {
    /* Starts the enclave; fills e->sandbox and e->pid. */
    int (*start)(struct tee_enclave *e, struct cloister_err *err);
    /* Stops it (gracefully, then SIGKILL) and frees the backend's state. */
    void (*stop)(struct tee_enclave *e);
    /* One crossing: the request for calls[0..n) in, their results out. */
    int (*call)(struct tee_enclave *e, struct tee_call *calls, size_t n, struct cloister_err *err);
    bool (*alive)(struct tee_enclave *e);
};

extern const struct host_backend host_proc_backend;
extern const struct host_backend host_sim_backend;

struct tee_enclave {
    struct tee_options opt; /* the strings point to the copies below */
    char name[TEE_NAME_MAX];
    char *image_path, *sig_path, *home, *store_dir;
    uint8_t *image, *sig;
    size_t image_len, sig_len;
    struct tee_identity id; /* as the loader verified it */
    const struct host_backend *ops;
    void *backend;
    struct tee_sandbox sandbox;
    int pid;
    pthread_rwlock_t lock; /* calls share it; restart and destroy take it alone */
    _Atomic uint64_t ocalls, hits, fallbacks, restarts;
    uint64_t serial;                /* unique in the process, never reused */
    struct host_counters *counters; /* the per-thread call counters (counters.c) */
    pthread_mutex_t counters_lock;
    /* EPC accounting group (epc_group.c), under the group's lock */
    struct tee_enclave *epc_next;
    uint64_t epc_committed, epc_refusals;
};

/* EPC accounting groups (epc_group.c): join charges the base pages (refusal: TOO_BIG), leave
 * gives everything back, reset returns to the base after a restart, commit serves the ocall,
 * explain prefixes err with the group's refusal when e was refused since refusals_before. */
int host_epc_join(struct tee_enclave *e, struct cloister_err *err);
void host_epc_leave(struct tee_enclave *e);
void host_epc_reset(struct tee_enclave *e);
int host_epc_commit(struct tee_enclave *e, const uint8_t *in, size_t inlen,
                    struct cloister_err *err);
uint64_t host_epc_refusals(struct tee_enclave *e);
void host_epc_explain(struct tee_enclave *e, uint64_t refusals_before, struct cloister_err *err);

/* The counters every call updates, kept per calling thread (counters.c). */
enum host_counter {
    HOST_ECALLS,
    HOST_CROSSINGS,
    HOST_BYTES_IN,
    HOST_BYTES_OUT,
    HOST_FAILURES,
    HOST_NCOUNTERS
};
void host_counters_init(struct tee_enclave *e);
void host_counters_free(struct tee_enclave *e);
void host_counters_add(struct tee_enclave *e, const uint64_t delta[HOST_NCOUNTERS]);
void host_counters_sum(struct tee_enclave *e, uint64_t sum[HOST_NCOUNTERS]);

void host_put_request(struct wire_writer *w, const struct tee_call *calls, size_t n);
/* The error of a request of n calls that does not fit the message limit once encoded. */
int host_request_too_big(const struct tee_enclave *e, size_t n, struct cloister_err *err);
/* Decodes a response for calls[0..n): fills each status and out (malloc'd), and err with the
 * last failed call's message. Returns CLOISTER_OK, the enclave's refusal of the whole request,
 * or CLOISTER_E_PROTOCOL (nothing allocated). */
int host_get_response(struct tee_enclave *e, const uint8_t *buf, size_t len, struct tee_call *calls,
                      size_t n, struct cloister_err *err);
/* Serves one ocall message (private memory); the answer message is appended to answer and
 * never exceeds e->opt.max_message. */
void host_serve_ocall(struct tee_enclave *e, const uint8_t *msg, size_t len,
                      struct wire_writer *answer);

#endif
