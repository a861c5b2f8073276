/* scbr_client.c -- the SCBR router's clients: data provider, subscriber and publisher share one
 * connection type (a ZeroMQ DEALER whose routing id is a fresh random sender id), and the key
 * files of the data provider.
 *
 * Headers travel in envelopes (scbr_proto.h) under the key derived from SK, with a random
 * nonce per message and a sequence number that increases by one per sealed message. Deliveries
 * that arrive while the client waits for an answer (a subscribe's id) are kept in order for
 * scbr_client_receive; one whose publication (publisher, sequence number) is not above the last
 * delivered from that publisher is a replay and dropped. Payloads are the application's;
 * scbr_client_payload_seal/open protect them end to end under another key derived from SK,
 * bound to their publication. */
#include <cloister/crypto.h>
#include <cloister/scbr_client.h>
#include <cloister/tee_trust.h> /* the local platform: scbr_client_provision_local */
#include <cloister/tee_verify.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "scbr/client/scbr_client_raw.h"
#include "scbr/common/scbr_idtab.h"
#include "scbr/common/scbr_proto.h"
#include "util/fileio.h"

#define NONCE_POOL 256
#define SK_FILE "sk"

#define PUBLISHERS_MAX 4096 /* publishers whose last delivered publication is remembered */

struct delivery {
    uint8_t *data; /* the payload */
    size_t len;
    struct scbr_ident from; /* the publication: its publisher and header sequence number */
    uint64_t seq;
};

struct seen {              /* the last publication delivered from one publisher */
    struct scbr_ident who; /* first: scbr_idtab indexes it */
    uint64_t seq, stamp;
};

struct scbr_client {
    void *ctx, *sock;
    uint8_t id[SCBR_SENDER_LEN];
    crypto_aead *aead;
    uint64_t seq;
    uint8_t nonces[NONCE_POOL * SCBR_NONCE_LEN];
    size_t nonces_left;
    struct wire_writer env, msg;
    struct delivery *kept;
    size_t nkept, kept_head, kept_cap;
    struct scbr_ident last_from; /* the delivery scbr_client_receive returned last */
    uint64_t last_seq;
    struct seen *seen; /* PUBLISHERS_MAX entries, by_publisher indexes them */
    size_t nseen;
    uint64_t clock;
    struct scbr_idtab by_publisher;
    uint64_t refused;       /* publications refused since the last scbr_client_sync */
    uint8_t refused_status; /* the first one's status */
    uint8_t error_status;   /* the status of the last error reply */
    uint64_t epoch;         /* the enclave's, from the last reply */
    bool epoch_known;
    int answer_ms;      /* how long publish waits for the first answer (the epoch) */
    char endpoint[256]; /* for messages */
};

/* ---- key files ---- */

static int sk_path(char *out, size_t cap, const char *dir, struct cloister_err *err)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, SK_FILE) >= cap)
        return cloister_errf(err, CLOISTER_E_INVALID, "%.200s: path too long", dir);
    return 0;
}

int scbr_client_keys_create(const char *dir, struct cloister_err *err)
{
    char path[4096];
    uint8_t sk[SCBR_SK_LEN];
    int rc = sk_path(path, sizeof path, dir, err);
    if (rc != 0 || access(path, F_OK) == 0) /* a key that exists is kept */
        return rc;
    if (file_mkdirs(dir, 0700) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot create %.200s: %s", dir,
                             strerror(errno));
    if (crypto_random(sk, sizeof sk) != 0 || file_write_atomic(path, sk, sizeof sk, 0600) != 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write the key %.200s", path);
    crypto_wipe(sk, sizeof sk);
    return rc;
}

int scbr_client_keys_load(const char *dir, uint8_t sk[SCBR_SK_LEN], struct cloister_err *err)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = sk_path(path, sizeof path, dir, err);
    if (rc != 0)
        return rc;
    char why[256];
    if (file_read_secret(path, 64, &data, &len) != 0)
        rc = errno == EPERM
                 ? cloister_errf(err, CLOISTER_E_DENIED, "cannot read the key %.180s: %s", path,
                                 file_strerror(errno, path, why, sizeof why))
                 : cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM,
                                 "cannot read the key %.180s (run `cloister scbr provision` first)",
                                 path);
    else if (len != SCBR_SK_LEN)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "%.200s: a key has exactly 32 bytes", path);
    else
        memcpy(sk, data, SCBR_SK_LEN);
    if (data) {
        crypto_wipe(data, len);
        free(data);
    }
    return rc;
}

/* ---- connection ---- */

scbr_client *scbr_client_connect(const char *endpoint, const uint8_t *sk, struct cloister_err *err)
{
    scbr_client *c = calloc(1, sizeof *c);
    if (!c) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        return NULL;
    }
    wire_writer_init(&c->env);
    wire_writer_init(&c->msg);
    uint8_t key[32];
    int hwm = 1000000, linger = 2000;
    if (crypto_random(c->id, sizeof c->id) != 0) {
        cloister_errf(err, CLOISTER_E_SYSTEM, "no randomness");
        goto bad;
    }
    c->id[0] |= 0x80; /* routing ids starting with 0 are ZeroMQ's own */
    c->answer_ms = 10000;
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    if (sk) {
        if (scbr_derive_key(key, sk, SCBR_KEY_HEADER) == 0)
            c->aead = crypto_aead_new(CRYPTO_AES256_GCM, key);
        crypto_wipe(key, sizeof key);
        if (!c->aead) {
            cloister_errf(err, CLOISTER_E_FAILED, "cannot set up the header key");
            goto bad;
        }
    }
    if (!(c->ctx = zmq_ctx_new()) || !(c->sock = zmq_socket(c->ctx, ZMQ_DEALER)) ||
        zmq_setsockopt(c->sock, ZMQ_ROUTING_ID, c->id, sizeof c->id) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(c->sock, endpoint) != 0) {
        cloister_errf(err, CLOISTER_E_SYSTEM, "zeromq: %s", zmq_strerror(zmq_errno()));
        goto bad;
    }
    return c;
bad:
    scbr_client_close(c);
    return NULL;
}

static int send_frame(scbr_client *c, const void *buf, size_t len, struct cloister_err *err)
{
    if (zmq_send(c->sock, buf, len, 0) < 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot send: %s", zmq_strerror(zmq_errno()));
    return 0;
}

static int send_plain(scbr_client *c, uint8_t kind, const void *body, size_t len,
                      struct cloister_err *err)
{
    c->msg.len = 0;
    scbr_msg_encode(&c->msg, kind, body, len, NULL, 0);
    if (!wire_writer_ok(&c->msg))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    return send_frame(c, c->msg.buf, c->msg.len, err);
}

static int wait_for(scbr_client *c, uint8_t want, int timeout_ms, uint8_t **body, size_t *len,
                    struct cloister_err *err);

/* The enclave's epoch, which every envelope names: asked for (a sync) before the first one,
 * then taken from every reply, so answers already queued are read first (a restarted enclave's
 * refusal tells the new one). */
static int learn_epoch(scbr_client *c, int timeout_ms, struct cloister_err *err)
{
    uint8_t *body = NULL;
    size_t len;
    int rc = 0;
    int events = 0;
    size_t elen = sizeof events;
    if (!c->epoch_known && (rc = send_plain(c, SCBR_MSG_SYNC, NULL, 0, err)) == 0)
        rc = wait_for(c, SCBR_REPLY_SYNCED, timeout_ms, &body, &len, err);
    else if (c->epoch_known && zmq_getsockopt(c->sock, ZMQ_EVENTS, &events, &elen) == 0 &&
             (events & ZMQ_POLLIN)) /* no reply is of kind 0: reads what is queued */
        rc = wait_for(c, 0, 0, &body, &len, err);
    free(body);
    if (rc == 0 && !c->epoch_known)
        return cloister_errf(err, CLOISTER_E_TIMEOUT, "no router answered at %s within %d ms",
                             c->endpoint, timeout_ms);
    return rc < 0 ? rc : 0;
}

/* Seals pt into an envelope (the epoch, next sequence number, fresh nonce) and sends it. */
static int send_sealed(scbr_client *c, uint8_t kind, const void *pt, size_t pt_len,
                       const void *payload, size_t payload_len, int timeout_ms,
                       struct cloister_err *err)
{
    if (!c->aead)
        return cloister_errf(err, CLOISTER_E_STATE, "this client has no key");
    int rc = learn_epoch(c, timeout_ms, err);
    if (rc != 0)
        return rc;
    if (pt_len > SCBR_HEADER_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "header: %zu bytes, at most %u", pt_len,
                             SCBR_HEADER_MAX);
    if (!c->nonces_left) {
        if (crypto_random(c->nonces, sizeof c->nonces) != 0)
            return cloister_errf(err, CLOISTER_E_SYSTEM, "no randomness");
        c->nonces_left = NONCE_POOL;
    }
    const uint8_t *nonce = c->nonces + --c->nonces_left * SCBR_NONCE_LEN;
    c->env.len = 0;
    c->msg.len = 0;
    if (scbr_envelope_seal(c->aead, kind, c->id, sizeof c->id, c->epoch, ++c->seq, nonce, pt,
                           pt_len, &c->env) != 0)
        return cloister_errf(err, CLOISTER_E_FAILED, "cannot seal the header");
    scbr_msg_encode(&c->msg, kind, c->env.buf, c->env.len, payload, payload_len);
    if (!wire_writer_ok(&c->msg) || !wire_writer_ok(&c->env))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    return send_frame(c, c->msg.buf, c->msg.len, err);
}

static int keep(scbr_client *c, const struct scbr_delivery *src)
{
    if (c->nkept == c->kept_cap) {
        size_t n = c->kept_cap ? 2 * c->kept_cap : 16;
        struct delivery *k = malloc(n * sizeof *k);
        if (!k)
            return -1;
        for (size_t i = 0; i < c->nkept; i++) /* unwrap the ring */
            k[i] = c->kept[(c->kept_head + i) % c->kept_cap];
        free(c->kept);
        c->kept = k;
        c->kept_cap = n;
        c->kept_head = 0;
    }
    struct delivery *d = &c->kept[(c->kept_head + c->nkept) % c->kept_cap];
    if (!(d->data = malloc(src->payload_len ? src->payload_len : 1)))
        return -1;
    memcpy(d->data, src->payload, src->payload_len);
    d->len = src->payload_len;
    memcpy(d->from.id, src->publisher, src->publisher_len);
    d->from.len = (uint8_t)src->publisher_len;
    d->seq = src->seq;
    c->nkept++;
    return 0;
}

/* Remembers a new publisher; its index, or -1 when out of memory. Past PUBLISHERS_MAX the
 * least recently delivered one is forgotten (its old publications could be replayed once). */
static long seen_add(scbr_client *c, const uint8_t *id, size_t len)
{
    if (!c->seen && (!(c->seen = malloc(PUBLISHERS_MAX * sizeof *c->seen)) ||
                     scbr_idtab_rebuild(&c->by_publisher, c->seen, sizeof *c->seen, 0,
                                        PUBLISHERS_MAX, NULL) != 0))
        return -1;
    if (c->nseen == PUBLISHERS_MAX) {
        size_t old = 0;
        for (size_t j = 1; j < c->nseen; j++)
            if (c->seen[j].stamp < c->seen[old].stamp)
                old = j;
        c->seen[old] = c->seen[--c->nseen];
        scbr_idtab_rebuild(&c->by_publisher, c->seen, sizeof *c->seen, c->nseen, PUBLISHERS_MAX,
                           NULL); /* same size: no allocation */
    }
    struct seen *e = &c->seen[c->nseen];
    memset(e, 0, sizeof *e);
    memcpy(e->who.id, id, len);
    e->who.len = (uint8_t)len;
    scbr_idtab_add(&c->by_publisher, c->seen, sizeof *c->seen, (uint32_t)c->nseen);
    return (long)c->nseen++;
}

/* Whether d is a publication not delivered before, remembering it. The router handles each
 * publisher's messages in order and the enclave accepts each sequence number once, so a
 * publisher's deliveries arrive with increasing sequence numbers: one at or below the last is a
 * replay (or reordered by the host, which could as well have dropped it). */
static bool fresh(scbr_client *c, const struct scbr_delivery *d)
{
    long i = scbr_idtab_find(&c->by_publisher, c->seen, sizeof *c->seen, d->publisher,
                             d->publisher_len);
    if (i < 0 && (i = seen_add(c, d->publisher, d->publisher_len)) < 0)
        return false;
    if (d->seq <= c->seen[i].seq)
        return false;
    c->seen[i].seq = d->seq;
    c->seen[i].stamp = ++c->clock;
    return true;
}

static void set_last(scbr_client *c, const uint8_t *publisher, size_t len, uint64_t seq)
{
    memcpy(c->last_from.id, publisher, len);
    c->last_from.len = (uint8_t)len;
    c->last_seq = seq;
}

/* A delivery: dropped when malformed or not fresh (a replay); returned (1, *body the payload)
 * when the caller waits for one, else kept for scbr_client_receive. */
static int take(scbr_client *c, const struct scbr_reply *r, bool now, uint8_t **body, size_t *len,
                struct cloister_err *err)
{
    struct scbr_delivery d;
    if (scbr_delivery_decode(&d, r->body, r->body_len, NULL) != 0 || !fresh(c, &d))
        return 0;
    if (!now)
        return keep(c, &d) == 0 ? 0 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (!(*body = malloc(d.payload_len ? d.payload_len : 1)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    memcpy(*body, d.payload, d.payload_len);
    *len = d.payload_len;
    set_last(c, d.publisher, d.publisher_len, d.seq);
    return 1;
}

/* The code of the router's refusal of a message (its enum scbr_status). */
static int refusal_code(uint8_t status)
{
    switch (status) {
    case SCBR_ST_TAMPERED:
    case SCBR_ST_REPLAYED:
    case SCBR_ST_TRUNCATED:
    case SCBR_ST_DENIED: return CLOISTER_E_DENIED;
    case SCBR_ST_NO_KEY: return CLOISTER_E_STATE;
    case SCBR_ST_FULL:
    case SCBR_ST_TOO_BIG: return CLOISTER_E_TOO_BIG;
    case SCBR_ST_INVALID: return CLOISTER_E_INVALID;
    default: return CLOISTER_E_FAILED;
    }
}

/* The router's error reply as an error: its status, and its text when it says more. */
static int refused(struct cloister_err *err, const struct scbr_reply *r)
{
    const char *name = scbr_status_name(r->status);
    int n = (int)(r->body_len < 200 ? r->body_len : 200);
    if ((size_t)n == strlen(name) && memcmp(r->body, name, (size_t)n) == 0)
        return cloister_errf(err, refusal_code(r->status), "the router refused: %s", name);
    return cloister_errf(err, refusal_code(r->status), "the router refused: %s: %.*s", name, n,
                         (const char *)r->body);
}

/* Waits for a reply of kind `want` (deliveries meanwhile are kept, refusals of publications
 * counted for scbr_client_sync). 1 and *body (malloc'd) on
 * arrival, 0 on timeout, a negative code on an error reply or failure. */
static int wait_for(scbr_client *c, uint8_t want, int timeout_ms, uint8_t **body, size_t *len,
                    struct cloister_err *err)
{
    zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        int n = zmq_poll(&item, 1, timeout_ms);
        if (n < 0)
            return cloister_errf(err, CLOISTER_E_SYSTEM, "zeromq poll: %s",
                                 zmq_strerror(zmq_errno()));
        if (n == 0)
            return 0;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->sock, 0) < 0) {
            zmq_msg_close(&m);
            return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot receive: %s",
                                 zmq_strerror(zmq_errno()));
        }
        struct scbr_reply r;
        int rc = scbr_reply_decode(&r, zmq_msg_data(&m), zmq_msg_size(&m), err);
        if (rc == 0) {
            c->epoch = r.epoch;
            c->epoch_known = true;
        }
        if (rc == 0 && r.kind == SCBR_REPLY_ERROR) {
            c->error_status = r.status;
            rc = refused(err, &r);
        } else if (rc == 0 && r.kind == SCBR_REPLY_DROPPED) {
            rc = cloister_errf(err, CLOISTER_E_STATE,
                               "the router was provisioned with another SK: this client's "
                               "subscriptions were dropped");
        } else if (rc == 0 && r.kind == SCBR_REPLY_DELIVERY) {
            rc = take(c, &r, want == SCBR_REPLY_DELIVERY, body, len, err);
        } else if (rc == 0 && r.kind == want) {
            rc = (*body = malloc(r.body_len ? r.body_len : 1))
                     ? 1
                     : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
            if (rc == 1) {
                memcpy(*body, r.body, r.body_len);
                *len = r.body_len;
            }
        } else if (rc == 0 && r.kind == SCBR_REPLY_REFUSED) {
            c->refused_status = c->refused++ ? c->refused_status : r.status;
        }
        zmq_msg_close(&m);
        if (rc != 0)
            return rc;
    }
}

static int expect(scbr_client *c, uint8_t want, int timeout_ms, uint8_t **body, size_t *len,
                  struct cloister_err *err)
{
    int rc = wait_for(c, want, timeout_ms, body, len, err);
    if (rc == 0)
        return cloister_errf(err, CLOISTER_E_TIMEOUT,
                             "no answer from the router within the timeout");
    return rc == 1 ? 0 : rc;
}

int scbr_client_provision(scbr_client *c, struct tee_verifier *v, const struct tee_policy *policy,
                          const uint8_t sk[SCBR_SK_LEN], const uint8_t *provider_seed,
                          struct tee_claims *claims, int timeout_ms, struct cloister_err *err)
{
    uint8_t nonce[TEE_PROV_NONCE_LEN], *offer = NULL, *package = NULL, *held = NULL;
    uint8_t *request = NULL, *signed_pkg = NULL;
    size_t offer_len, package_len, held_len, request_len = sizeof nonce, signed_len = 0;
    struct tee_claims local;
    struct cloister_err terr = {0};
    struct tee_secret secret = {SCBR_SECRET_NAME, sk, SCBR_SK_LEN};
    int rc = tee_prov_nonce(nonce, err);
    if (rc == 0 && provider_seed)
        rc = tee_prov_request(provider_seed, nonce, sizeof nonce, &request, &request_len, err);
    if (rc == 0)
        rc = send_plain(c, SCBR_MSG_PROV_OFFER, request ? request : nonce, request_len, err);
    if (rc == 0)
        rc = expect(c, SCBR_REPLY_OFFER, timeout_ms, &offer, &offer_len, err);
    if (rc == 0 && tee_prov_package(v, policy, nonce, sizeof nonce, offer, offer_len, &secret, 1,
                                    &package, &package_len, claims ? claims : &local, &terr) != 0)
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "the router enclave's evidence was refused: %.200s", terr.msg);
    if (rc == 0 && provider_seed)
        rc = tee_prov_sign(provider_seed, offer, offer_len, package, package_len, &signed_pkg,
                           &signed_len, err);
    if (rc == 0)
        rc = send_plain(c, SCBR_MSG_PROV_ACCEPT, signed_pkg ? signed_pkg : package,
                        signed_pkg ? signed_len : package_len, err);
    if (rc == 0)
        rc = expect(c, SCBR_REPLY_PROVISIONED, timeout_ms, &held, &held_len, err);
    free(request);
    free(offer);
    free(package);
    free(signed_pkg);
    free(held);
    return rc;
}

int scbr_client_provision_local(const char *endpoint, const uint8_t mrenclave[32], const char *home,
                                const uint8_t sk[SCBR_SK_LEN], int timeout_ms,
                                struct cloister_err *err)
{
    struct cloister_err terr = {0};
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])mrenclave;
    p.n_mrenclave = 1;
    p.allow_simulated = true;
    tee_platform *platform = tee_platform_open(home, &terr);
    tee_verifier *v = platform ? tee_verifier_new_file(tee_platform_ca_path(platform), &terr)
                               : NULL;
    scbr_client *c = NULL;
    int rc = v ? 0
               : cloister_errf(err, terr.code, "no verifier for the local platform: %s", terr.msg);
    if (rc == 0 && !(c = scbr_client_connect(endpoint, NULL, &terr)))
        rc = cloister_errf(err, terr.code, "%s", terr.msg);
    if (rc == 0)
        rc = scbr_client_provision(c, v, &p, sk, NULL, NULL, timeout_ms, err);
    scbr_client_close(c);
    tee_verifier_free(v);
    tee_platform_free(platform);
    return rc;
}

int scbr_client_key_answer(struct scbr_client_key_info *info, const uint8_t *body, size_t len,
                           const uint8_t sk[SCBR_SK_LEN], const uint8_t *nonce, size_t nonce_len,
                           struct cloister_err *err)
{
    memset(info, 0, sizeof *info);
    struct wire_reader r;
    size_t pk_len, sealed_len;
    wire_reader_init(&r, body, len);
    uint8_t has_key = wire_get_u8(&r);
    const uint8_t *pk = wire_get_bytes(&r, 32, &pk_len);
    const uint8_t *sealed = wire_get_bytes(&r, SCBR_SENDER_MAX + 64, &sealed_len);
    if (wire_reader_ok(&r) && (has_key > 1 || (pk_len != 0 && pk_len != 32)))
        wire_reader_fail(&r, "bad key flag or provider key");
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the router's key answer is malformed: %s",
                             wire_reader_error(&r));
    info->has_key = has_key;
    info->pinned = pk_len == 32;
    if (info->pinned)
        memcpy(info->provider, pk, 32);
    uint8_t key[32], count[8];
    struct scbr_envelope e;
    crypto_aead *a = NULL;
    if (has_key && sealed_len && scbr_envelope_decode(&e, sealed, sealed_len) == SCBR_ST_OK &&
        e.ct_len == sizeof count + SCBR_TAG_LEN && scbr_derive_key(key, sk, SCBR_KEY_HEADER) == 0 &&
        (a = crypto_aead_new(CRYPTO_AES256_GCM, key)) &&
        scbr_envelope_open(a, SCBR_MSG_KEY, nonce, nonce_len, &e, count) == SCBR_ST_OK) {
        info->same = true;
        for (int i = 0; i < 8; i++)
            info->subscriptions = info->subscriptions << 8 | count[i];
    }
    crypto_aead_free(a);
    crypto_wipe(key, sizeof key);
    return 0;
}

int scbr_client_router_key(scbr_client *c, const uint8_t sk[SCBR_SK_LEN],
                           struct scbr_client_key_info *info, int timeout_ms,
                           struct cloister_err *err)
{
    uint8_t *body = NULL, nonce[16];
    size_t len;
    int rc = crypto_random(nonce, sizeof nonce) == 0
                 ? send_plain(c, SCBR_MSG_KEY, nonce, sizeof nonce, err)
                 : cloister_errf(err, CLOISTER_E_SYSTEM, "no randomness");
    if (rc == 0)
        rc = expect(c, SCBR_REPLY_KEY, timeout_ms, &body, &len, err);
    if (rc == 0)
        rc = scbr_client_key_answer(info, body, len, sk, nonce, sizeof nonce, err);
    free(body);
    return rc;
}

int scbr_client_sync(scbr_client *c, int timeout_ms, struct cloister_err *err)
{
    uint8_t *body = NULL;
    size_t len;
    int rc = send_plain(c, SCBR_MSG_SYNC, NULL, 0, err);
    if (rc == 0)
        rc = wait_for(c, SCBR_REPLY_SYNCED, timeout_ms, &body, &len, err);
    free(body);
    if (rc == 0)
        return cloister_errf(err, CLOISTER_E_TIMEOUT, "no router answered at %s within %d ms",
                             c->endpoint, timeout_ms);
    if (rc < 0)
        return rc;
    uint64_t n = c->refused;
    c->refused = 0;
    if (n)
        return cloister_errf(err, refusal_code(c->refused_status),
                             "the router refused %llu publication(s): %s", (unsigned long long)n,
                             scbr_status_name(c->refused_status));
    return 0;
}

/* Sends a sealed request and waits for its answer; sealed for an epoch the enclave left (it
 * restarted), it is sealed again once for the epoch the refusal told. */
static int sealed_request(scbr_client *c, uint8_t kind, const void *pt, size_t pt_len, uint8_t want,
                          int timeout_ms, uint8_t **body, size_t *len, struct cloister_err *err)
{
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        c->error_status = SCBR_ST_OK;
        rc = send_sealed(c, kind, pt, pt_len, NULL, 0, timeout_ms, err);
        if (rc == 0)
            rc = expect(c, want, timeout_ms, body, len, err);
        if (rc == 0 || c->error_status != SCBR_ST_STALE)
            break;
    }
    return rc;
}

int scbr_client_reshard(scbr_client *c, const uint8_t provider_seed[32], unsigned shards,
                        int timeout_ms, struct cloister_err *err)
{
    uint8_t pt[SCBR_RESHARD_CMD_LEN], msg[SCBR_RESHARD_SIGNED_MAX], *body = NULL;
    size_t len = 0;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) { /* once more for a new epoch */
        c->error_status = SCBR_ST_OK;
        if (!c->aead)
            return cloister_errf(err, CLOISTER_E_STATE, "this client has no key");
        if ((rc = learn_epoch(c, timeout_ms, err)) != 0)
            return rc;
        for (int i = 0; i < 4; i++)
            pt[i] = (uint8_t)(shards >> (24 - 8 * i));
        size_t mlen = scbr_reshard_signed(msg, c->id, sizeof c->id, c->epoch, c->seq + 1,
                                          (uint32_t)shards);
        if (crypto_ed25519_sign(pt + 4, msg, mlen, provider_seed) != 0)
            return cloister_errf(err, CLOISTER_E_FAILED, "cannot sign the reshard command");
        rc = send_sealed(c, SCBR_MSG_RESHARD, pt, sizeof pt, NULL, 0, timeout_ms, err);
        if (rc == 0)
            rc = expect(c, SCBR_REPLY_RESHARDED, timeout_ms, &body, &len, err);
        if (rc == 0 || c->error_status != SCBR_ST_STALE)
            break;
    }
    free(body);
    return rc;
}

int scbr_client_subscribe(scbr_client *c, const struct scbr_sub *s, uint32_t *id, int timeout_ms,
                          struct cloister_err *err)
{
    size_t enc_len, len = 0;
    uint8_t *enc = scbr_sub_encode(s, &enc_len), *body = NULL;
    if (!enc)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = sealed_request(c, SCBR_MSG_SUBSCRIBE, enc, enc_len, SCBR_REPLY_SUBSCRIBED, timeout_ms,
                            &body, &len, err);
    crypto_wipe(enc, enc_len);
    free(enc);
    if (rc == 0 && len != 4)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the router's answer has no subscription id");
    if (rc == 0)
        *id = (uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 | (uint32_t)body[2] << 8 | body[3];
    free(body);
    return rc;
}

int scbr_client_unsubscribe(scbr_client *c, uint32_t id, int timeout_ms, struct cloister_err *err)
{
    uint8_t pt[4] = {(uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    uint8_t *body = NULL;
    size_t len;
    int rc = sealed_request(c, SCBR_MSG_UNSUBSCRIBE, pt, sizeof pt, SCBR_REPLY_UNSUBSCRIBED,
                            timeout_ms, &body, &len, err);
    free(body);
    return rc;
}

void scbr_client_set_timeout(scbr_client *c, int timeout_ms)
{
    c->answer_ms = timeout_ms;
}

int scbr_client_publish(scbr_client *c, const struct scbr_pub *header, const void *payload,
                        size_t len, struct cloister_err *err)
{
    struct scbr_pub bare = *header; /* the payload travels outside the encrypted header */
    bare.payload = NULL;
    bare.payload_len = 0;
    size_t hlen;
    uint8_t *enc = scbr_pub_encode(&bare, &hlen);
    if (!enc)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = send_sealed(c, SCBR_MSG_PUBLISH, enc, hlen, payload, len, c->answer_ms, err);
    crypto_wipe(enc, hlen);
    free(enc);
    return rc;
}

int scbr_client_receive(scbr_client *c, uint8_t **payload, size_t *len, int timeout_ms,
                        struct cloister_err *err)
{
    if (c->nkept) {
        struct delivery *d = &c->kept[c->kept_head];
        *payload = d->data;
        *len = d->len;
        set_last(c, d->from.id, d->from.len, d->seq);
        c->kept_head = (c->kept_head + 1) % c->kept_cap;
        c->nkept--;
        return 1;
    }
    return wait_for(c, SCBR_REPLY_DELIVERY, timeout_ms, payload, len, err);
}

int scbr_client_heartbeat(scbr_client *c, struct cloister_err *err)
{
    return send_plain(c, SCBR_MSG_HEARTBEAT, NULL, 0, err);
}

int scbr_client_stats(scbr_client *c, struct scbr_router_stats *st, int timeout_ms,
                      struct cloister_err *err)
{
    uint8_t *body = NULL;
    size_t len;
    int rc = send_plain(c, SCBR_MSG_STATS, NULL, 0, err);
    if (rc == 0)
        rc = expect(c, SCBR_REPLY_STATS, timeout_ms, &body, &len, err);
    if (rc == 0 && scbr_stats_decode(st, body, len) != 0)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the router's statistics are malformed");
    free(body);
    return rc;
}

int scbr_client_last_sent(const scbr_client *c, const uint8_t **msg, size_t *len)
{
    *msg = c->msg.buf;
    *len = c->msg.len;
    return c->msg.len ? 0 : CLOISTER_E_STATE;
}

int scbr_client_send_raw(scbr_client *c, const void *msg, size_t len, struct cloister_err *err)
{
    return send_frame(c, msg, len, err);
}

void scbr_client_close(scbr_client *c)
{
    if (!c)
        return;
    if (c->sock) {
        send_plain(c, SCBR_MSG_BYE, NULL, 0, NULL); /* best effort: the idle timeout remains */
        zmq_close(c->sock);
    }
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    crypto_aead_free(c->aead);
    crypto_wipe(c->nonces, sizeof c->nonces);
    for (size_t i = 0; i < c->nkept; i++)
        free(c->kept[(c->kept_head + i) % c->kept_cap].data);
    free(c->kept);
    free(c->seen);
    scbr_idtab_free(&c->by_publisher, NULL);
    wire_writer_free(&c->env);
    wire_writer_free(&c->msg);
    free(c);
}

/* ---- end-to-end payloads ---- */

/* Seals or opens under HKDF(SK, "payload key"), AAD naming the publication. */
static int payload_crypt(bool seal, const uint8_t sk[SCBR_SK_LEN], const uint8_t *publisher,
                         size_t publisher_len, uint64_t seq, const uint8_t *in, size_t len,
                         uint8_t *out)
{
    uint8_t key[32], aad[SCBR_AAD_MAX];
    size_t aad_len = scbr_aad(aad, SCBR_REPLY_DELIVERY, publisher, publisher_len, seq);
    int rc = scbr_derive_key(key, sk, SCBR_KEY_PAYLOAD);
    if (rc == 0 && seal)
        rc = crypto_random(out, SCBR_NONCE_LEN) == 0
                 ? crypto_aead_seal(CRYPTO_AES256_GCM, key, out, aad, aad_len, in, len,
                                    out + SCBR_NONCE_LEN)
                 : -1;
    else if (rc == 0)
        rc = crypto_aead_open(CRYPTO_AES256_GCM, key, in, aad, aad_len, in + SCBR_NONCE_LEN,
                              len - SCBR_NONCE_LEN, out);
    crypto_wipe(key, sizeof key);
    return rc;
}

int scbr_client_payload_seal(const scbr_client *c, const uint8_t sk[SCBR_SK_LEN], const void *pt,
                             size_t len, uint8_t **out, size_t *out_len, struct cloister_err *err)
{
    *out_len = SCBR_NONCE_LEN + len + SCBR_TAG_LEN;
    if (len > SCBR_MSG_PAYLOAD_MAX - SCBR_NONCE_LEN - SCBR_TAG_LEN)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "payload: %zu bytes, at most %u", len,
                             SCBR_MSG_PAYLOAD_MAX - SCBR_NONCE_LEN - SCBR_TAG_LEN);
    if (!(*out = malloc(*out_len)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (payload_crypt(true, sk, c->id, sizeof c->id, c->seq + 1, pt, len, *out) == 0)
        return 0;
    free(*out);
    *out = NULL;
    return cloister_errf(err, CLOISTER_E_FAILED, "cannot seal the payload");
}

int scbr_client_payload_open(const scbr_client *c, const uint8_t sk[SCBR_SK_LEN],
                             const void *sealed, size_t len, uint8_t **out, size_t *out_len,
                             struct cloister_err *err)
{
    if (!c->last_seq)
        return cloister_errf(err, CLOISTER_E_STATE, "payload: no delivery received yet");
    if (len < SCBR_NONCE_LEN + SCBR_TAG_LEN)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "payload: %zu bytes is too short to be sealed", len);
    *out_len = len - SCBR_NONCE_LEN - SCBR_TAG_LEN;
    if (!(*out = malloc(*out_len ? *out_len : 1)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (payload_crypt(false, sk, c->last_from.id, c->last_from.len, c->last_seq, sealed, len,
                      *out) == 0)
        return 0;
    free(*out);
    *out = NULL;
    return cloister_errf(err, CLOISTER_E_DENIED,
                         "payload: authentication failed (altered, another SK, or sealed for "
                         "another publication)");
}
