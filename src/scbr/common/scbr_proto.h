/* scbr_proto.h -- what the SCBR router's three parts share: the client<->router messages, the
 * host<->enclave ecalls, and the sealed header envelope (docs/scbr.md, "Wire formats").
 *
 *   client message  "CSRM" v2 | u8 kind | bytes body | (publish only) bytes payload
 *                   body: an envelope (subscribe, unsubscribe, publish), an offer request
 *                   (prov_offer), a package (prov_accept), a nonce (key), empty otherwise
 *   router reply    "CSRR" v2 | u8 kind | u8 status | u64 epoch | bytes body
 *                   epoch: the enclave's session epoch, drawn at random at every enclave start
 *                   (and when idle senders are evicted); envelopes must carry it
 *                   (older versions of both records are refused with a message saying so)
 *   delivery body   u64 seq | bytes publisher | payload
 *                   publications get no answer unless refused (REFUSED); SYNC is answered
 *                   after everything the client sent before it, so a publisher learns the
 *                   verdict on its publications
 *   envelope        u64 epoch | u64 seq | 12-byte nonce | bytes ciphertext (plaintext ||
 *                   16-byte tag), AES-256-GCM under HKDF(SK), AAD = "cloister-scbr-hdr-v1\0" |
 *                   u8 kind | u8 sender length | sender | u64 seq | u64 epoch
 *   plaintexts      subscribe: a "CSBS" subscription; publish: a "CSBP" publication without
 *                   payload; unsubscribe: u32 subscription id
 *
 * The decoders here are the parsers that face untrusted input on both sides of the boundary;
 * fuzz/scbr/fuzz_scbr_router.c runs them. */
#ifndef CLOISTER_SCBR_PROTO_H
#define CLOISTER_SCBR_PROTO_H

#include <cloister/crypto.h>
#include <cloister/export.h>
#include <cloister/scbr.h>
#include <cloister/wire.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCBR_SECRET_NAME "scbr-sk"  /* the provisioned secret's name inside the enclave */
#define SCBR_SENDER_MAX 32          /* bytes of a sender (connection) id */
#define SCBR_SENDER_LEN 16          /* what the clients use: random, first byte >= 0x80 */
#define SCBR_SENDERS_MAX (1u << 20) /* the enclave's sender table at most */

enum scbr_msg_kind {
    SCBR_MSG_SUBSCRIBE = 1,
    SCBR_MSG_UNSUBSCRIBE = 2,
    SCBR_MSG_PUBLISH = 3,
    SCBR_MSG_HEARTBEAT = 4,
    SCBR_MSG_BYE = 5,
    SCBR_MSG_PROV_OFFER = 6,
    SCBR_MSG_PROV_ACCEPT = 7,
    SCBR_MSG_STATS = 8,
    SCBR_MSG_SYNC = 9,     /* answered (SYNCED) once everything the client sent before is done */
    SCBR_MSG_KEY = 10,     /* body: a nonce; is a key held, whose, is it mine (KEY) */
    SCBR_MSG_RESHARD = 11, /* body: an envelope around a provider-signed reshard command */
};
#define SCBR_MSG_KIND_MAX SCBR_MSG_RESHARD

enum scbr_reply_kind {
    SCBR_REPLY_SUBSCRIBED = 1,   /* body: u32 subscription id */
    SCBR_REPLY_UNSUBSCRIBED = 2, /* body: empty */
    SCBR_REPLY_DELIVERY = 3,     /* body: a delivery (scbr_delivery_encode) */
    SCBR_REPLY_OFFER = 4,        /* body: the enclave's provisioning offer */
    SCBR_REPLY_PROVISIONED = 5,  /* body: varint number of secrets the enclave holds */
    SCBR_REPLY_STATS = 6,        /* body: a stats record */
    SCBR_REPLY_ERROR = 7,        /* status says why; body: a message */
    SCBR_REPLY_REFUSED = 8,      /* a publication was refused: status says why; body: its name */
    SCBR_REPLY_SYNCED = 9,       /* body: empty */
    SCBR_REPLY_KEY = 10,         /* body: the key answer (SCBR_ECALL_KEY) */
    SCBR_REPLY_DROPPED =
        11, /* body: empty; SK was replaced, this client's subscriptions are gone */
    SCBR_REPLY_RESHARDED = 12, /* body: u32 shards the front forwards to now */
};
#define SCBR_REPLY_KIND_MAX SCBR_REPLY_RESHARDED

/* Per-item outcome of an enclave batch (and the status of an error reply). */
enum scbr_status {
    SCBR_ST_OK = 0,
    SCBR_ST_TAMPERED = 1,  /* authentication failed, or a malformed envelope */
    SCBR_ST_REPLAYED = 2,  /* seq not above the sender's last accepted one */
    SCBR_ST_TRUNCATED = 3, /* the envelope ends before what it announces */
    SCBR_ST_NO_KEY = 4,    /* SK not provisioned yet */
    SCBR_ST_DENIED = 5,    /* not the owner, or no such subscription */
    SCBR_ST_FULL = 6,      /* sender table or subscription ids exhausted */
    SCBR_ST_INVALID = 7,   /* authentic but not a valid subscription/publication */
    SCBR_ST_FAILED = 8,    /* the router failed (enclave error, out of memory) */
    SCBR_ST_TOO_BIG = 9,   /* a body over SCBR_BODY_MAX */
    SCBR_ST_STALE = 10,    /* sealed for another epoch (before an enclave restart): re-seal */
};
const char *scbr_status_name(int status);

/* Ecalls of the scbr enclave. Batch inputs: varint count, then per item bytes sender, bytes
 * envelope. Outputs: u64 epoch (after the batch: new when it evicted idle senders), varint
 * count, then per item u8 status, then subscribe: u32 id; match: varint n, n x bytes sender of
 * a matching subscriber (each at most once per publication). A bad item (a sender
 * or an envelope over its limit, anything refused) gets its own status: only a batch whose
 * framing does not decode fails as a whole, before any item is applied. */
enum {
    SCBR_ECALL_INIT = 1, /* in: u8 index kind [| u32 sender table size, 1..2^20]; out: u64
                          * epoch (refused once initialised) */
    SCBR_ECALL_SUBSCRIBE = 2,
    SCBR_ECALL_UNSUBSCRIBE = 3,
    SCBR_ECALL_MATCH = 4,
    SCBR_ECALL_DROP = 5,   /* in: sender; out: varint subscriptions removed */
    SCBR_ECALL_EXPORT = 6, /* in: -; out: the state sealed to MRENCLAVE */
    SCBR_ECALL_IMPORT = 7, /* in: a sealed state; out: varint subscriptions restored,
                                 * varint n, n x bytes sender owning subscriptions */
    SCBR_ECALL_STATS = 8,  /* in: -; out: an enclave stats record */
    SCBR_ECALL_KEY = 9,    /* in: the asker's nonce or -; out: the key answer (u8 has key |
                            * bytes provider key | bytes sealed count), then varint n, n x bytes
                            * sender whose subscriptions this call dropped because SK was
                            * replaced (taken into account here) */
    /* Fronts and shards (docs/scbr.md, "Shards"). A front's forward ecalls take varint
     * nshards | nshards x u64 shard epoch | bytes key attribute (empty: partition by id) |
     * bytes batch, and answer u64 epoch | varint n | n x (u8 status | u32 subscription id |
     * varint t | t x (u32 shard | bytes front epoch | bytes record)). A shard's ecalls take a batch of the front's
     * records (sender = the front's epoch, 8 bytes) and answer u64 epoch | varint n | n x u8
     * status (match: then varint k | k x bytes sender). */
    SCBR_ECALL_FWD_SUBSCRIBE = 10,
    SCBR_ECALL_FWD_UNSUBSCRIBE = 11,
    SCBR_ECALL_FWD_PUBLISH = 12,
    SCBR_ECALL_SHARD_SUBSCRIBE = 13,
    SCBR_ECALL_SHARD_UNSUBSCRIBE = 14,
    SCBR_ECALL_SHARD_MATCH = 15,
    /* Resharding, a shard's: split (in: varint old n | varint new n | u32 self | bytes key |
     * new n x u64 epoch; out: u64 epoch | varint m | m x (u32 target | bytes source epoch |
     * bytes move)), absorb (a batch of moves; out as a batch: u8 status each), prune (in: the
     * plan; out: varint subscriptions removed). */
    SCBR_ECALL_SHARD_SPLIT = 16,
    SCBR_ECALL_SHARD_ABSORB = 17,
    SCBR_ECALL_SHARD_PRUNE = 18,
    /* A front's control command, as a batch of one (sender, envelope of kind
     * SCBR_MSG_RESHARD around u32 shards | 64-byte signature by the pinned provider of
     * scbr_reshard_signed); out as a batch: u8 status | u32 shards. */
    SCBR_ECALL_CONTROL = 19,
};
#define SCBR_SHARD_MOVE 16   /* the envelope kind of a move (under the shard key) */
#define SCBR_BATCH_MAX 4096u /* items per batch ecall */

/* The init ecall's role byte: a router (or front) takes clients' messages, a shard only its
 * front's records. */
enum { SCBR_ROLE_ROUTER = 0, SCBR_ROLE_SHARD = 1 };
#define SCBR_SHARD_KEY_MAX 255 /* bytes of a partition attribute's name */
#define SCBR_KEY_SHARD "shard key"

/* Front <-> shard messages on NATS (untrusted framing around sealed records), one format both
 * ways: "CSSM" v1 | u8 kind | u64 request id | u32 shard | u64 shard epoch | u8 status |
 * bytes body.
 *   request  (front to shard `shard`; epoch = the front's random session, in which
 *            request ids must increase (a shard warns otherwise); status 0) kind 1
 *            subscribe, 2 unsubscribe, 3 publish: body = a batch of records for the shard's
 *            batch ecall; 4 drop: body = a subscriber gone; 0 hello: body empty; 5 split,
 *            7 prune: body = a reshard plan; 6 absorb: body = a batch of moves
 *   answer   (shard to front) the request's kind and id (0: a shard announcing itself), the
 *            shard's number and epoch, status 0 ok (else the ecall failed), body = the ecall's
 *            answer */
enum {
    SCBR_SHARD_HELLO = 0,
    SCBR_SHARD_DROP = 4,
    SCBR_SHARD_SPLIT = 5,  /* body: a reshard plan */
    SCBR_SHARD_ABSORB = 6, /* body: a batch of moves */
    SCBR_SHARD_PRUNE = 7,  /* body: a reshard plan */
};
struct scbr_shard_msg {
    uint8_t kind, status;
    uint64_t req, epoch;
    uint32_t shard;
    const uint8_t *body;
    size_t body_len;
};
void scbr_shard_msg_encode(struct wire_writer *w, const struct scbr_shard_msg *m);
int scbr_shard_msg_decode(struct scbr_shard_msg *m, const uint8_t *buf, size_t len,
                          struct cloister_err *err);

#define SCBR_NONCE_LEN CRYPTO_AEAD_NONCE_LEN
#define SCBR_TAG_LEN CRYPTO_AEAD_TAG_LEN
#define SCBR_HEADER_MAX (1u << 20)       /* encrypted header bytes */
#define SCBR_MSG_PAYLOAD_MAX (16u << 20) /* payload bytes of a routed publication */
/* A client message's body: an envelope (u64 seq, nonce, varint length, tag: 40 bytes) around
 * the largest header. The one limit of both sides: the host refuses a bigger frame as
 * malformed, the enclave a bigger batch item alone (SCBR_ST_TOO_BIG). */
#define SCBR_BODY_MAX (SCBR_HEADER_MAX + 64)
#define SCBR_AAD_MAX (21 + 2 + SCBR_SENDER_MAX + 8)

/* Stats records: a header, varint count, then a u64 per counter. The router's ("CSRS" v1, to
 * clients) has SCBR_ENCLAVE_STATS then SCBR_HOST_STATS; the enclave's ("CSES" v1, to the host)
 * only its own. Decoders return 0 or -1. */
void scbr_stats_encode(struct wire_writer *w, const struct scbr_router_stats *st);
int scbr_stats_decode(struct scbr_router_stats *st, const uint8_t *buf, size_t len);
void scbr_enclave_stats_encode(struct wire_writer *w, const struct scbr_enclave_stats *st);
int scbr_enclave_stats_decode(struct scbr_enclave_stats *st, const uint8_t *buf, size_t len);

/* Keys derived from SK: HKDF-SHA256(salt "cloister-scbr-v1", SK, info), for the headers (known
 * to the enclave) and the end-to-end payloads (clients only). */
#define SCBR_KEY_HEADER "header key"
#define SCBR_KEY_PAYLOAD "payload key"
int scbr_derive_key(uint8_t key[32], const uint8_t sk[SCBR_SK_LEN], const char *info);
/* The check value that names SK without revealing it: HMAC(header key, a label). The enclave
 * seals it with its state and tells it to a provider about to replace SK. */
void scbr_key_check(uint8_t check[32], const uint8_t header_key[32]);
size_t scbr_aad(uint8_t out[SCBR_AAD_MAX], uint8_t kind, const uint8_t *sender, size_t sender_len,
                uint64_t seq);
/* What the data provider signs (Ed25519, its pinned key) to reshard a front: the command bound
 * to the connection, the enclave's epoch and the envelope's sequence number, so that it is
 * neither replayed nor re-sent by another holder of SK. */
#define SCBR_RESHARD_SIGNED_MAX 96
#define SCBR_RESHARD_CMD_LEN (4 + 64) /* the envelope's plaintext: u32 shards | signature */
size_t scbr_reshard_signed(uint8_t out[SCBR_RESHARD_SIGNED_MAX], const uint8_t *sender,
                           size_t sender_len, uint64_t epoch, uint64_t seq, uint32_t shards);

struct scbr_envelope {
    uint64_t epoch, seq;
    const uint8_t *nonce;
    const uint8_t *ct; /* ciphertext || tag */
    size_t ct_len;
};
/* Writes an envelope around pt. nonce: SCBR_NONCE_LEN fresh random bytes. */
int scbr_envelope_seal(crypto_aead *a, uint8_t kind, const uint8_t *sender, size_t sender_len,
                       uint64_t epoch, uint64_t seq, const uint8_t nonce[SCBR_NONCE_LEN],
                       const void *pt, size_t pt_len, struct wire_writer *w);
/* SCBR_ST_OK, SCBR_ST_TRUNCATED (it ends early) or SCBR_ST_TAMPERED (anything else wrong). */
CLOISTER_MUST_CHECK int scbr_envelope_decode(struct scbr_envelope *e, const uint8_t *buf,
                                             size_t len);
/* Opens an envelope into pt (room for e->ct_len - 16): SCBR_ST_OK or SCBR_ST_TAMPERED. */
CLOISTER_MUST_CHECK int scbr_envelope_open(crypto_aead *a, uint8_t kind, const uint8_t *sender,
                                           size_t sender_len, const struct scbr_envelope *e,
                                           uint8_t *pt);

struct scbr_msg {
    uint8_t kind;
    const uint8_t *body;
    size_t body_len;
    const uint8_t *payload; /* publish only */
    size_t payload_len;
};
/* Decoders: 0, or CLOISTER_E_PROTOCOL with the wire error (the peer broke the format). */
int scbr_msg_decode(struct scbr_msg *m, const uint8_t *buf, size_t len, struct cloister_err *err);
/* A client message of an older version of the protocol (the router tells its sender). */
bool scbr_msg_is_old(const uint8_t *buf, size_t len);
void scbr_msg_encode(struct wire_writer *w, uint8_t kind, const void *body, size_t body_len,
                     const void *payload, size_t payload_len);

struct scbr_reply {
    uint8_t kind, status;
    uint64_t epoch;
    const uint8_t *body;
    size_t body_len;
};
int scbr_reply_decode(struct scbr_reply *m, const uint8_t *buf, size_t len,
                      struct cloister_err *err);
void scbr_reply_encode(struct wire_writer *w, uint8_t kind, uint8_t status, uint64_t epoch,
                       const void *body, size_t body_len);

/* A delivery's body: which publication it is (the publisher's sender id and the sequence
 * number of its header, both authenticated by the enclave), then the payload as published.
 * End-to-end payloads bind the same two in their AAD (scbr_aad with SCBR_REPLY_DELIVERY under
 * the payload key), so a payload cannot be delivered as another publication's, and the
 * subscriber refuses a publication it already received.
 *
 *   u64 seq | bytes publisher | payload (the rest) */
struct scbr_delivery {
    uint64_t seq;
    const uint8_t *publisher;
    size_t publisher_len;
    const uint8_t *payload;
    size_t payload_len;
};
void scbr_delivery_encode(struct wire_writer *w, const struct scbr_delivery *d);
int scbr_delivery_decode(struct scbr_delivery *d, const uint8_t *buf, size_t len,
                         struct cloister_err *err);

#endif
