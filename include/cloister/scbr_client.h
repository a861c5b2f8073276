/* scbr_client.h -- the SCBR router's clients: the data provider, subscribers and publishers
 * (docs/scbr.md). None of them links the router's host code.
 *
 *   - the data provider creates the symmetric key SK (32 random bytes in KEYS/sk), verifies the
 *     router enclave's evidence and provisions SK to it by attested provisioning
 *     (tee_prov_package), signed with its provider key, which the router pins at the first
 *     provisioning. SK is handed to subscribers and publishers out of band (the file).
 *   - subscribers and publishers connect a ZeroMQ DEALER socket whose routing id is their
 *     sender id; every subscription, unsubscription and publication header is AEAD-encrypted
 *     (AES-256-GCM, key HKDF(SK), random 96-bit nonce per message) with AAD binding the message
 *     kind, the sender id, a per-sender sequence number, which must increase, and the router
 *     enclave's epoch, new at every enclave start (learnt before the first sealed message and
 *     from every reply; a message of an older epoch is refused as stale). Payloads are
 *     opaque to the router; scbr_client_payload_seal/open protect them end to end, bound to
 *     their publication; a subscriber drops a publication delivered twice.
 *
 * Functions return CLOISTER_OK or a negative CLOISTER_E_* code and fill err (error.h); a
 * refusal by the router comes back as its code: CLOISTER_E_DENIED (tampered, replayed,
 * truncated, not the owner), CLOISTER_E_STATE (no SK provisioned yet), CLOISTER_E_TOO_BIG
 * (its tables are full), CLOISTER_E_INVALID (not a valid subscription or publication),
 * CLOISTER_E_FAILED (sealed for an older epoch, or the router failed). */
#ifndef CLOISTER_SCBR_CLIENT_H
#define CLOISTER_SCBR_CLIENT_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/scbr.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- keys ---- */

/* Creates KEYS/sk (0600, in a 0700 directory) from the CSPRNG unless it exists. */
CLOISTER_API int scbr_client_keys_create(const char *dir, struct cloister_err *err);
/* CLOISTER_E_NOT_FOUND when there is no key yet. */
CLOISTER_API int scbr_client_keys_load(const char *dir, uint8_t sk[SCBR_SK_LEN],
                                       struct cloister_err *err);

/* ---- the connection ---- */

typedef struct scbr_client scbr_client;

/* A DEALER connected to the router with a fresh random sender id. sk may be NULL for a
 * client that only provisions or asks for statistics. */
CLOISTER_API scbr_client *scbr_client_connect(const char *endpoint, const uint8_t *sk,
                                              struct cloister_err *err);
CLOISTER_API void scbr_client_close(scbr_client *c); /* says bye: its subscriptions go */

/* ---- the data provider ---- */

struct tee_verifier;
struct tee_policy;
struct tee_claims;
/* Asks for an offer, verifies the evidence with v and policy (CLOISTER_E_DENIED when refused),
 * sends SK. provider_seed (an Ed25519 seed, as `cloister enclave keygen` makes; NULL: none)
 * signs the offer request and the package: the first signed provisioning pins that key in the
 * router's enclave, and from then on only it can provision (docs/tee.md). claims (may be
 * NULL) receives what the verifier accepted. */
CLOISTER_API CLOISTER_MUST_CHECK int
scbr_client_provision(scbr_client *c, struct tee_verifier *v, const struct tee_policy *policy,
                      const uint8_t sk[SCBR_SK_LEN], const uint8_t *provider_seed,
                      struct tee_claims *claims, int timeout_ms, struct cloister_err *err);
/* What the router says about its key, before provisioning: whether it holds one, the public key
 * of the provider it is pinned to (if any), and -- only when it holds this very sk, proved by
 * an answer sealed under sk's header key for a fresh nonce, so a stranger learns nothing more
 * and a host cannot replay an old answer -- its number of subscriptions. Replacing another SK
 * drops every subscription; their subscribers are told (their receive fails with
 * CLOISTER_E_STATE). */
struct scbr_client_key_info {
    bool has_key, same;
    bool pinned;            /* provider is the key the router is pinned to */
    uint8_t provider[32];   /* Ed25519 public key */
    uint64_t subscriptions; /* the router's, now (only when same) */
};
CLOISTER_API int scbr_client_router_key(scbr_client *c, const uint8_t sk[SCBR_SK_LEN],
                                        struct scbr_client_key_info *info, int timeout_ms,
                                        struct cloister_err *err);
/* The data provider for a router on this machine (demos, tests, benchmarks): the verifier
 * trusts the platform CA under home (NULL: tee_home_dir()), the policy pins mrenclave (what
 * scbr_router_identity says) and accepts simulated evidence. */
CLOISTER_API CLOISTER_MUST_CHECK int
scbr_client_provision_local(const char *endpoint, const uint8_t mrenclave[32], const char *home,
                            const uint8_t sk[SCBR_SK_LEN], int timeout_ms,
                            struct cloister_err *err);

/* ---- subscribers and publishers ---- */

/* Registers a filter; *id is the router's subscription id. Waits for the answer. */
CLOISTER_API int scbr_client_subscribe(scbr_client *c, const struct scbr_sub *s, uint32_t *id,
                                       int timeout_ms, struct cloister_err *err);
CLOISTER_API int scbr_client_unsubscribe(scbr_client *c, uint32_t id, int timeout_ms,
                                         struct cloister_err *err);
/* Sends a publication (header encrypted, payload as given: opaque to the router). The router
 * answers only a refusal; scbr_client_sync collects the verdict. */
/* How long the first sealed message waits for the router's epoch (default 10 s): without an
 * answer it fails with CLOISTER_E_TIMEOUT naming the endpoint. */
CLOISTER_API void scbr_client_set_timeout(scbr_client *c, int timeout_ms);
CLOISTER_API int scbr_client_publish(scbr_client *c, const struct scbr_pub *header,
                                     const void *payload, size_t len, struct cloister_err *err);
/* Waits until the router has handled everything sent before: 0 when it refused none of this
 * client's publications since the last sync, else the first refusal's code (CLOISTER_E_STATE:
 * SK not provisioned; CLOISTER_E_DENIED: tampered, e.g. another SK, or replayed) with the
 * count; CLOISTER_E_TIMEOUT (naming the endpoint) when no router answers in time. */
CLOISTER_API int scbr_client_sync(scbr_client *c, int timeout_ms, struct cloister_err *err);
/* Asks a front (a router with --shards) to move its subscriptions to `shards` shards while it
 * runs (docs/scbr.md, "Resharding"). The command is sealed under SK and signed with the data
 * provider's key (provider_seed), which the router must be pinned to; 0 once the front
 * forwards to the new shards, CLOISTER_E_DENIED when the router is pinned to another provider
 * (or none), CLOISTER_E_FAILED when a shard failed (the old partition stays). */
CLOISTER_API int scbr_client_reshard(scbr_client *c, const uint8_t provider_seed[32],
                                     unsigned shards, int timeout_ms, struct cloister_err *err);
/* Waits for one delivery: 1 and *payload (malloc'd) on arrival, 0 on timeout, a negative code
 * on error. */
CLOISTER_API int scbr_client_receive(scbr_client *c, uint8_t **payload, size_t *len, int timeout_ms,
                                     struct cloister_err *err);
/* Sends a keep-alive (subscribers waiting longer than the router's idle timeout). */
CLOISTER_API int scbr_client_heartbeat(scbr_client *c, struct cloister_err *err);
CLOISTER_API int scbr_client_stats(scbr_client *c, struct scbr_router_stats *st, int timeout_ms,
                                   struct cloister_err *err);

/* End-to-end payload protection between publishers and subscribers, which the router cannot
 * read: AES-256-GCM under HKDF(SK, "payload key"), random nonce; sealed = nonce (12) ||
 * ciphertext || tag (16), AAD naming the publication: the publisher's sender id and the
 * sequence number of its header (docs/scbr.md). seal binds the payload to c's next
 * publication (seal, then scbr_client_publish, nothing sealed in between); open checks it
 * against the delivery scbr_client_receive returned last, and fails with CLOISTER_E_DENIED on
 * any alteration or a payload sealed for another publication. *out is malloc'd. */
CLOISTER_API int scbr_client_payload_seal(const scbr_client *c, const uint8_t sk[SCBR_SK_LEN],
                                          const void *pt, size_t len, uint8_t **out,
                                          size_t *out_len, struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK int
scbr_client_payload_open(const scbr_client *c, const uint8_t sk[SCBR_SK_LEN], const void *sealed,
                         size_t len, uint8_t **out, size_t *out_len, struct cloister_err *err);

#endif
