/* prov_bus.h -- attested HPKE key provisioning over the bus (NATS JetStream): how a trusted
 * client hands its secrets to worker enclaves it has never met, on other machines
 * (docs/bus.md, "Provisioning over the bus"). Generic: MapReduce's remote workers and
 * SecureStreams' distributed stages both use it; what a seat means is theirs.
 *
 * The client (the provisioner) opens a session and offers seats in a pool; a worker takes a
 * seat, has its enclave make a provisioning offer for the seat's nonce (TEE_ECALL_PROV_OFFER:
 * a fresh HPKE key and evidence binding it to the nonce) and publishes it; the client verifies
 * the evidence with its verifier policy (MRENCLAVE pinned, simulated evidence only when the
 * policy allows it) through tee_prov_package and answers with the package, which only that
 * enclave can open (TEE_ECALL_PROV_ACCEPT), and with the session's extra bytes. An enclave
 * whose evidence fails gets a refusal and no key; the seat goes back to the pool.
 *
 *   client:  struct prov_bus_client *pc = prov_bus_client_start(b, &cfg, nseats, &err);
 *            ... prov_bus_client_stats(pc, &st) ...; prov_bus_client_stop(pc);
 *   worker:  struct prov_bus_seat seat;
 *            rc = prov_bus_join(b, "mr", &enclave_ops, "host-1", 1000, &seat, &err);
 *            (0: provisioned; CLOISTER_E_TIMEOUT: no seat yet; CLOISTER_E_DENIED: refused)
 *            ... prov_bus_seat_free(&seat);
 *
 * On the bus (wire.h records; everything public: nonces, offers, sealed packages):
 *   stream PROV_<pool>, work queue, subject prov.<pool>.seat, durable consumer "seats":
 *     seat   u8 version 1, str session, u32 seat, bytes nonce (32), bytes info
 *     a seat is acked once its worker is provisioned, put back (nak) when refused or when no
 *     answer came, and redelivered after 30 s when its worker died before the answer.
 *   stream PROVS_<session>, work queue, created by the client and deleted by prov_bus_client_stop:
 *     prov.<session>.offer (the client's durable "provisioner"):
 *       offer  u8 version 1, u32 seat, str token, str label, bytes tee offer
 *     prov.<session>.answer.<token> (the worker's durable "w<token>"; the token is random):
 *       answer u8 status (1 package, 2 refused), bytes package, bytes extra, str message
 * Seats left when the session ends are dropped by the workers that take them (no session). */
#ifndef CLOISTER_PROV_BUS_H
#define CLOISTER_PROV_BUS_H

#include "bus/bus.h"

#include <cloister/tee_verify.h>

#define PROV_BUS_NAME_MAX 64 /* pool and session names: 1..64 of A-Z a-z 0-9 _ - */

/* ---- The client: the provisioner ---- */

struct prov_bus_client_config {
    const char *pool;    /* where the workers look for seats ("mr") */
    const char *session; /* this provisioning's name, unique on the server */
    tee_verifier *verifier;
    const struct tee_policy *policy; /* report_data is ignored (the nonce binding is checked) */
    const struct tee_secret *secrets;
    size_t nsecrets;
    const uint8_t *info; /* in every seat: what a worker needs to know before the key */
    size_t info_len;
    const uint8_t *extra; /* with every package: e.g. code sealed under the provisioned key */
    size_t extra_len;
    /* Called from the client's thread after each offer it judged (may be NULL). */
    void (*on_offer)(void *arg, uint32_t seat, const char *label, bool provisioned,
                     const struct tee_claims *claims, const char *why);
    void *arg;
};

struct prov_bus_stats {
    uint64_t provisioned, refused, malformed;
    bool simulated;                      /* some provisioned enclave had simulated evidence */
    char last_refusal[CLOISTER_ERR_MAX]; /* why the last offer was refused */
};

struct prov_bus_client;

/* Creates the session, publishes nseats seats and answers offers from a thread until stopped.
 * What c points to (but the names, copied) must live until prov_bus_client_stop; b is shared
 * with that thread. */
struct prov_bus_client *prov_bus_client_start(struct bus *b, const struct prov_bus_client_config *c,
                                              uint32_t nseats, struct cloister_err *err);
/* Publishes n more seats (a worker that died, more hands wanted). */
int prov_bus_client_add_seats(struct prov_bus_client *pc, uint32_t n, struct cloister_err *err);
void prov_bus_client_stats(struct prov_bus_client *pc, struct prov_bus_stats *out);
/* Stops the thread and deletes the session (workers still waiting for an answer get none).
 * NULL is fine. */
void prov_bus_client_stop(struct prov_bus_client *pc);

/* ---- The worker ---- */

/* How the worker reaches its enclave: the runtime's offer and accept ecalls, relayed. */
struct prov_bus_enclave {
    int (*offer)(void *arg, const uint8_t *nonce, size_t nonce_len, uint8_t **offer,
                 size_t *offer_len, struct cloister_err *err);
    int (*accept)(void *arg, const uint8_t *package, size_t len, struct cloister_err *err);
    void *arg;
};

/* A seat taken: the enclave holds the session's secrets. */
struct prov_bus_seat {
    char session[PROV_BUS_NAME_MAX + 1];
    uint32_t seat;
    uint8_t *info, *extra; /* malloc'd, may be NULL when empty */
    size_t info_len, extra_len;
};

/* Waits up to timeout_ms for a seat in pool, then provisions the enclave for it, waiting up to
 * answer_ms (0: 10 s) for the client's answer. 0 on success; CLOISTER_E_TIMEOUT when no seat
 * came (try again); CLOISTER_E_DENIED when the client refused the evidence (err says why);
 * CLOISTER_E_NOT_FOUND when the seat's session had ended (dropped; try again). */
int prov_bus_join(struct bus *b, const char *pool, const struct prov_bus_enclave *e,
                  const char *label, int64_t timeout_ms, int64_t answer_ms,
                  struct prov_bus_seat *out, struct cloister_err *err);
void prov_bus_seat_free(struct prov_bus_seat *s);

#endif
