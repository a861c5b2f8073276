/* scbr_router.h -- the SCBR router: content-based routing with matching inside an enclave.
 *
 * Parties (docs/scbr.md):
 *   - the data provider creates the symmetric key SK (32 random bytes in KEYS/sk), verifies the
 *     router enclave's evidence and provisions SK to it by attested provisioning
 *     (tee_prov_package); the enclave keeps SK sealed to its MRENCLAVE, so a restarted router
 *     needs no provisioner. SK is handed to subscribers and publishers out of band (the file).
 *   - subscribers and publishers connect a ZeroMQ DEALER socket whose routing id is their
 *     sender id; every subscription, unsubscription and publication header is AEAD-encrypted
 *     (AES-256-GCM, key HKDF(SK), random 96-bit nonce per message) with AAD binding the message
 *     kind, the sender id and a per-sender sequence number, which must increase.
 *   - the router (untrusted host, ROUTER socket) batches messages into ecalls; the enclave
 *     decrypts, authenticates, refuses tampered, truncated and replayed messages (and counts
 *     them), matches and answers with the connection ids to deliver to; the host forwards the
 *     still-opaque payloads.
 *
 * All functions return 0 on success and -1 on failure with a one-line reason in err. */
#ifndef CLOISTER_SCBR_ROUTER_H
#define CLOISTER_SCBR_ROUTER_H

#include <cloister/scbr.h>
#include <cloister/tee.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCBR_SK_LEN 32
#define SCBR_SECRET_NAME "scbr-sk" /* the provisioned secret's name inside the enclave */
#define SCBR_SENDER_MAX 32         /* bytes of a sender (connection) id */
#define SCBR_SENDER_LEN 16         /* what the clients use: random, first byte nonzero */

/* Counters of the router; the refusals are counted inside the enclave. */
struct scbr_router_stats {
    uint64_t subscriptions;     /* registered now */
    uint64_t subscribed, unsubscribed, published; /* accepted messages */
    uint64_t matched;           /* (publication, subscriber) pairs the enclave returned */
    uint64_t refused_tampered;  /* authentication failed (or malformed after decryption) */
    uint64_t refused_replayed;  /* sequence number not above the sender's last */
    uint64_t refused_truncated; /* envelope shorter than it says */
    uint64_t refused_other;     /* no key yet, not the owner, unknown id, table full */
    uint64_t delivered;         /* deliveries handed to ZeroMQ */
    uint64_t dropped;           /* deliveries dropped: subscriber queue full or gone */
    uint64_t malformed;         /* client frames the host could not decode */
    uint64_t ecalls;            /* batch ecalls made */
    uint64_t dropped_subscribers; /* disconnects (bye or silence) that removed subscriptions */
};
/* Every counter above, in order (wire order of the stats record, JSON names). */
#define SCBR_ROUTER_STATS(X)                                                                  \
    X(subscriptions) X(subscribed) X(unsubscribed) X(published) X(matched)                    \
    X(refused_tampered) X(refused_replayed) X(refused_truncated) X(refused_other)             \
    X(delivered) X(dropped) X(malformed) X(ecalls) X(dropped_subscribers)

/* ---- keys ---- */

/* Creates KEYS/sk (0600, in a 0700 directory) from the CSPRNG unless it exists. */
int scbr_keys_create(const char *dir, struct cloister_err *err);
int scbr_keys_load(const char *dir, uint8_t sk[SCBR_SK_LEN], struct cloister_err *err);

/* ---- router ---- */

struct scbr_router_options {
    const char *listen;               /* default "tcp://127.0.0.1:*": loopback, any free port */
    enum tee_backend backend;
    const char *image;                /* NULL: tee_image_path("scbr") */
    const char *signature;            /* NULL: <image>.sig */
    const char *home;                 /* NULL: tee_home_dir() */
    const struct tee_enclave_def *enclave; /* the trusted code, for the sim backend */
    enum scbr_index_kind index;
    const char *state_dir;            /* NULL: no persistence of subscriptions */
    unsigned batch;                   /* publications per ecall; 0: 256 */
    unsigned queue;                   /* per-subscriber queue bound (ZMQ_SNDHWM); 0: 10000 */
    unsigned idle_timeout_ms;         /* silence before a client counts as gone; 0: 10000 */
    enum tee_wait wait;               /* default TEE_WAIT_BLOCK: a batch amortises the wake-up,
                                       * and a spinning enclave would take a core from ZeroMQ */
    /* Set (from a signal handler or another thread) to stop the loop; checked at least every
     * 100 ms. */
    volatile sig_atomic_t *stop;
};
void scbr_router_options_init(struct scbr_router_options *o);

typedef struct scbr_router scbr_router;

/* Starts the enclave, restores the sealed subscriptions from state_dir, binds the socket. */
int scbr_router_open(const struct scbr_router_options *o, scbr_router **out,
                     struct cloister_err *err);
/* Serves until *o->stop (or scbr_router_stop); then persists the subscriptions. */
int scbr_router_run(scbr_router *r, struct cloister_err *err);
/* Runs scbr_router_run in a thread of its own (tests, demos, programs embedding a router). */
int scbr_router_start(scbr_router *r, struct cloister_err *err);
/* Stops a started router and waits for its thread: the run's result (err says why). */
int scbr_router_stop(scbr_router *r, struct cloister_err *err);
/* The enclave's identity (for the data provider's policy). */
int scbr_router_identity(scbr_router *r, uint8_t mrenclave[32], uint8_t mrsigner[32]);
/* The router's enclave (tee_get_info, tee_epc_stats; it belongs to the router). */
tee_enclave *scbr_router_enclave(scbr_router *r);
/* The endpoint actually bound (a tcp port 0 or '*' resolved). */
const char *scbr_router_endpoint(const scbr_router *r);
/* The counters; not while the router runs (clients ask with scbr_client_stats). */
int scbr_router_get_stats(scbr_router *r, struct scbr_router_stats *st);
void scbr_router_close(scbr_router *r); /* stops it first if started */

/* Signs an enclave image with the Ed25519 seed into sig_path, config: defaults with the given
 * EPC budget (bytes; 0: default) and heap size (bytes; 0: 256 MiB, room for the index). */
int scbr_router_sign(const char *image, const uint8_t seed[32], uint64_t epc_budget,
                     uint64_t heap_size, const char *sig_path, struct cloister_err *err);

/* ---- clients ---- */

typedef struct scbr_client scbr_client;

/* A DEALER connected to the router with a fresh random sender id. sk may be NULL for a
 * client that only provisions or asks for statistics. */
scbr_client *scbr_client_connect(const char *endpoint, const uint8_t *sk,
                                 struct cloister_err *err);
void scbr_client_close(scbr_client *c); /* says bye: the router drops its subscriptions */
/* The data provider: asks for an offer, verifies the evidence with v and policy, sends SK.
 * claims (may be NULL) receives what the verifier accepted. */
struct tee_verifier;
struct tee_policy;
struct tee_claims;
int scbr_client_provision(scbr_client *c, struct tee_verifier *v,
                          const struct tee_policy *policy, const uint8_t sk[SCBR_SK_LEN],
                          struct tee_claims *claims, int timeout_ms, struct cloister_err *err);
/* The data provider for a router of this process (demos, tests, benchmarks): the verifier
 * trusts the platform CA under home (NULL: tee_home_dir()), the policy pins the router's
 * MRENCLAVE and accepts simulated evidence. */
int scbr_provision_local(scbr_router *r, const char *home, const uint8_t sk[SCBR_SK_LEN],
                         int timeout_ms, struct cloister_err *err);
/* Registers a filter; *id is the router's subscription id. Waits for the answer. */
int scbr_client_subscribe(scbr_client *c, const struct scbr_sub *s, uint32_t *id,
                          int timeout_ms, struct cloister_err *err);
int scbr_client_unsubscribe(scbr_client *c, uint32_t id, int timeout_ms,
                            struct cloister_err *err);
/* Sends a publication (header encrypted, payload as given: opaque to the router). No answer. */
int scbr_client_publish(scbr_client *c, const struct scbr_pub *header, const void *payload,
                        size_t len, struct cloister_err *err);
/* Waits for one delivery: 1 and *payload (malloc'd) on arrival, 0 on timeout, -1 on error. */
int scbr_client_receive(scbr_client *c, uint8_t **payload, size_t *len, int timeout_ms,
                        struct cloister_err *err);
/* Sends a keep-alive (subscribers waiting longer than the router's idle timeout). */
int scbr_client_heartbeat(scbr_client *c, struct cloister_err *err);
int scbr_client_stats(scbr_client *c, struct scbr_router_stats *st, int timeout_ms,
                      struct cloister_err *err);
/* End-to-end payload protection between publishers and subscribers, which the router cannot
 * read: AES-256-GCM under HKDF(SK, "payload key"), random nonce; sealed = nonce (12) ||
 * ciphertext || tag (16), AAD "cloister-scbr-payload-v1". open fails on any alteration. *out
 * is malloc'd. */
int scbr_payload_seal(const uint8_t sk[SCBR_SK_LEN], const void *pt, size_t len, uint8_t **out,
                      size_t *out_len, struct cloister_err *err);
int scbr_payload_open(const uint8_t sk[SCBR_SK_LEN], const void *sealed, size_t len,
                      uint8_t **out, size_t *out_len, struct cloister_err *err);
/* For tests of the refusals: the last message this client sent, exactly as sent. */
int scbr_client_last_sent(const scbr_client *c, const uint8_t **msg, size_t *len);
/* Sends raw bytes as one client message (a replayed or altered copy). */
int scbr_client_send_raw(scbr_client *c, const void *msg, size_t len, struct cloister_err *err);

#endif
