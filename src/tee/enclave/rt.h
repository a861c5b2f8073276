/* rt.h -- the trusted runtime's internals, shared by both backends: an enclave instance, the
 * dispatch of request messages, the built-in ecalls, and the sandbox of the proc backend.
 *
 * The same code serves the proc backend (enclave process: enclave_main.c feeds it messages
 * copied out of the ring) and the sim backend (host process: src/tee/host/sim.c feeds it
 * messages encoded in private memory). Only the port differs: how an ocall reaches the host. */
#ifndef CLOISTER_TEE_RT_H
#define CLOISTER_TEE_RT_H

#include <cloister/epc.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include "tee/common/common.h"

#include <pthread.h>
#include <stdbool.h>

/* How ocalls of one call reach the host. The answer stays valid until the next ocall on the
 * same port (it is private memory: the port copied it out of anything shared). */
struct tee_port {
    int (*ocall)(struct tee_port *port, const uint8_t *req, size_t len, const uint8_t **answer,
                 size_t *answer_len);
};

struct tee_rt {
    const struct tee_enclave_def *def; /* NULL: built-in ecalls only */
    tee_self *self;                    /* NULL only in the fuzz target: trust ecalls refuse */
    epc_heap *heap;                    /* EPC heap (src/epc) from the signed config, or NULL
                                        * without self */
    void *state;
    size_t max_message;
    pthread_mutex_t start_lock;
    bool started;
    bool gramine; /* a CLOISTER_GRAMINE image: quotes from /dev/attestation (UNTESTED) */
    _Atomic bool commit_unasked; /* the host keeps no EPC group: grow without asking */
};

struct tee_env {
    struct tee_rt *rt;
    struct tee_port *port; /* NULL: no ocalls possible (on_stop) */
    bool in_ocall;         /* the port is busy: the heap may not ask the host now */
    char error[256];
};

/* Checks the identity of an image (bytes or fd), opens the platform and makes the tee_self
 * both backends use. All file access of the trusted side happens here. */
tee_self *tee_rt_load_self(const struct tee_identity *id, const char *home,
                           struct cloister_err *err);

/* An instance of def (NULL def: built-ins only) owning self. */
struct tee_rt *tee_rt_new(const struct tee_enclave_def *def, tee_self *self, size_t max_message);
/* Runs on_stop (if started) and frees the instance, its state and its tee_self. */
void tee_rt_free(struct tee_rt *rt);

/* Decodes one request message (private memory), runs its calls and writes the response message
 * into resp (appended; pass an empty writer). A malformed request gets an error response: this
 * never fails and never reads past msg. scratch is a reusable writer for handler outputs. */
void tee_rt_handle(struct tee_rt *rt, struct tee_port *port, const uint8_t *msg, size_t len,
                   struct wire_writer *resp, struct wire_writer *scratch);

/* The ecall table entry for number (built-ins from 0xF000), or NULL. */
const struct tee_ecall_entry *tee_rt_find(const struct tee_rt *rt, uint32_t number);

/* The trusted heap (heap.c). tee_malloc serves from the current heap of the calling thread:
 * the EPC heap of the instance whose call it runs (set around every handler), else the process
 * heap. tee_heap_switch sets it and returns the previous one; tee_heap_new makes an instance's
 * EPC heap from its signed config (heap_size, epc_budget). */
epc_heap *tee_heap_switch(epc_heap *h);
epc_heap *tee_heap_new(const struct tee_config *c);

/* EPC accounting groups (tee.h): the heap's commitment hook (epc_heap_set_commit, arg the
 * tee_rt). Growth during a call asks the host with TEE_OCALL_EPC_COMMIT, TEE_EPC_COMMIT_CHUNK
 * pages at a time; growth outside calls (the state at creation) is granted and reported with
 * the next request, which carries the total. tee_env_current is the call the thread runs. */
#define TEE_EPC_COMMIT_CHUNK 16u
int tee_heap_commit(void *arg, uint64_t pages);
struct tee_env *tee_env_current(void);

/* Built-in ecalls (builtin.c). */
extern const struct tee_ecall_entry tee_builtin_ecalls[];
extern const size_t tee_builtin_necalls;

/* Sandbox of the proc backend (sandbox.c), applied in this order by the enclave process. */
int tee_sandbox_harden(struct tee_sandbox *sb, struct cloister_err *err);   /* prctl + rlimit */
int tee_sandbox_landlock(struct tee_sandbox *sb, struct cloister_err *err); /* deny-all */
int tee_sandbox_seccomp(struct tee_sandbox *sb, struct cloister_err *err);  /* all threads */

/* Gramine (docs/tee.md section 9, UNTESTED: no SGX here): an sgx-dcap evidence envelope for
 * report_data from /dev/attestation (gramine.c). Only images built with -DCLOISTER_GRAMINE=ON
 * use it; nothing the host can create in the filesystem turns Gramine mode on. */
int tee_gramine_evidence(const uint8_t report_data[TEE_REPORT_DATA_LEN], struct wire_writer *out,
                         struct cloister_err *err);

/* Empties a reused writer, wiping what it held (reset) or not, for bytes the host sees anyway
 * (empty). */
void tee_writer_reset(struct wire_writer *w);
void tee_writer_empty(struct wire_writer *w);

#endif
