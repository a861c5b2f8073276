/* scbr_proto.c -- codecs of the SCBR router's messages and the sealed header envelope (formats
 * in scbr_proto.h). Every decoder is bounds-checked through the wire reader and refuses trailing
 * bytes; the envelope decoder tells a message cut short (truncated) from any other damage so
 * that the enclave can count them apart. */
#include "scbr/common/scbr_proto.h"

#include <string.h>

#include "util/hex.h"

static const char AAD_LABEL[] = "cloister-scbr-hdr-v1"; /* with its NUL: 21 bytes */
#define PROTO_VERSION 2 /* of "CSRM" and "CSRR": v2 added the epoch */

#define SCBR_COUNT_(f) +1
#define SCBR_PUT_(f) wire_put_u64(w, st->f);
#define SCBR_GET_(f) st->f = wire_get_u64(r);
enum {
    ENCLAVE_COUNTERS = 0 SCBR_ENCLAVE_STATS(SCBR_COUNT_),
    HOST_COUNTERS = 0 SCBR_HOST_STATS(SCBR_COUNT_),
};
_Static_assert(sizeof(struct scbr_enclave_stats) == 8 * ENCLAVE_COUNTERS &&
                   sizeof(struct scbr_host_stats) == 8 * HOST_COUNTERS,
               "SCBR_ENCLAVE_STATS and SCBR_HOST_STATS list every counter");

const char *scbr_status_name(int status)
{
    static const char *const names[] = {
        "ok",   "tampered", "replayed", "truncated", "no key provisioned", "denied",
        "full", "invalid",  "failed",   "too big",   "stale epoch"};
    return status >= 0 && status <= SCBR_ST_STALE ? names[status] : "unknown status";
}

static void put_enclave(struct wire_writer *w, const struct scbr_enclave_stats *st)
{
    SCBR_ENCLAVE_STATS(SCBR_PUT_)
}

static void put_host(struct wire_writer *w, const struct scbr_host_stats *st)
{
    SCBR_HOST_STATS(SCBR_PUT_)
}

static void get_enclave(struct wire_reader *r, struct scbr_enclave_stats *st)
{
    SCBR_ENCLAVE_STATS(SCBR_GET_)
}

static void get_host(struct wire_reader *r, struct scbr_host_stats *st)
{
    SCBR_HOST_STATS(SCBR_GET_)
}

/* Reads the header and checks the count; the caller reads the counters, then finishes. */
static void get_stats_header(struct wire_reader *r, const char *magic, uint64_t counters)
{
    wire_get_header(r, magic, 1);
    if (wire_get_varint(r) != counters)
        wire_reader_fail(r, "wrong number of counters");
}

void scbr_enclave_stats_encode(struct wire_writer *w, const struct scbr_enclave_stats *st)
{
    wire_put_header(w, "CSES", 1);
    wire_put_varint(w, ENCLAVE_COUNTERS);
    put_enclave(w, st);
}

int scbr_enclave_stats_decode(struct scbr_enclave_stats *st, const uint8_t *buf, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    get_stats_header(&r, "CSES", ENCLAVE_COUNTERS);
    get_enclave(&r, st);
    return wire_reader_finish(&r);
}

void scbr_stats_encode(struct wire_writer *w, const struct scbr_router_stats *st)
{
    wire_put_header(w, "CSRS", 1);
    wire_put_varint(w, ENCLAVE_COUNTERS + HOST_COUNTERS);
    put_enclave(w, &st->enclave);
    put_host(w, &st->host);
}

int scbr_stats_decode(struct scbr_router_stats *st, const uint8_t *buf, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    get_stats_header(&r, "CSRS", ENCLAVE_COUNTERS + HOST_COUNTERS);
    get_enclave(&r, &st->enclave);
    get_host(&r, &st->host);
    return wire_reader_finish(&r);
}

int scbr_derive_key(uint8_t key[32], const uint8_t sk[SCBR_SK_LEN], const char *info)
{
    static const char salt[] = "cloister-scbr-v1";
    return crypto_hkdf(key, 32, salt, sizeof salt - 1, sk, SCBR_SK_LEN, info, strlen(info));
}

void scbr_key_check(uint8_t check[32], const uint8_t header_key[32])
{
    static const char label[] = "cloister-scbr-key-check";
    crypto_hmac_sha256(check, header_key, 32, label, sizeof label - 1);
}

void scbr_provider_fingerprint(char out[17], const uint8_t pk[32])
{
    uint8_t h[CRYPTO_SHA256_LEN];
    crypto_sha256(h, pk, 32);
    hex_encode(out, h, 8);
}

size_t scbr_aad(uint8_t out[SCBR_AAD_MAX], uint8_t kind, const uint8_t *sender, size_t sender_len,
                uint64_t seq)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, out, SCBR_AAD_MAX);
    wire_put_raw(&w, AAD_LABEL, sizeof AAD_LABEL);
    wire_put_u8(&w, kind);
    wire_put_u8(&w, (uint8_t)sender_len);
    wire_put_raw(&w, sender, sender_len <= SCBR_SENDER_MAX ? sender_len : 0);
    wire_put_u64(&w, seq);
    return w.len;
}

size_t scbr_reshard_signed(uint8_t out[SCBR_RESHARD_SIGNED_MAX], const uint8_t *sender,
                           size_t sender_len, uint64_t epoch, uint64_t seq, uint32_t shards)
{
    static const char label[] = "cloister-scbr-reshard-v1";
    struct wire_writer w;
    wire_writer_init_fixed(&w, out, SCBR_RESHARD_SIGNED_MAX);
    wire_put_raw(&w, label, sizeof label);
    wire_put_u8(&w, (uint8_t)sender_len);
    wire_put_raw(&w, sender, sender_len <= SCBR_SENDER_MAX ? sender_len : 0);
    wire_put_u64(&w, epoch);
    wire_put_u64(&w, seq);
    wire_put_u32(&w, shards);
    return w.len;
}

/* The envelope's AAD: scbr_aad, then the epoch. */
static size_t envelope_aad(uint8_t out[SCBR_AAD_MAX + 8], uint8_t kind, const uint8_t *sender,
                           size_t sender_len, uint64_t epoch, uint64_t seq)
{
    size_t n = scbr_aad(out, kind, sender, sender_len, seq);
    for (int i = 0; i < 8; i++)
        out[n + i] = (uint8_t)(epoch >> (56 - 8 * i));
    return n + 8;
}

int scbr_envelope_seal(crypto_aead *a, uint8_t kind, const uint8_t *sender, size_t sender_len,
                       uint64_t epoch, uint64_t seq, const uint8_t nonce[SCBR_NONCE_LEN],
                       const void *pt, size_t pt_len, struct wire_writer *w)
{
    uint8_t aad[SCBR_AAD_MAX + 8];
    if (sender_len == 0 || sender_len > SCBR_SENDER_MAX || pt_len > SCBR_HEADER_MAX)
        return -1;
    size_t aad_len = envelope_aad(aad, kind, sender, sender_len, epoch, seq);
    wire_put_u64(w, epoch);
    wire_put_u64(w, seq);
    wire_put_raw(w, nonce, SCBR_NONCE_LEN);
    wire_put_varint(w, pt_len + SCBR_TAG_LEN);
    uint8_t *ct = wire_writer_reserve(w, pt_len + SCBR_TAG_LEN);
    if (!ct || crypto_aead_ctx_seal(a, nonce, aad, aad_len, pt, pt_len, ct) != 0)
        return -1;
    wire_writer_commit(w, pt_len + SCBR_TAG_LEN);
    return 0;
}

int scbr_envelope_decode(struct scbr_envelope *e, const uint8_t *buf, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    e->epoch = wire_get_u64(&r);
    e->seq = wire_get_u64(&r);
    e->nonce = wire_get_raw(&r, SCBR_NONCE_LEN);
    uint64_t n = wire_get_varint(&r);
    if (!wire_reader_ok(&r))
        return SCBR_ST_TRUNCATED;
    if (n < SCBR_TAG_LEN || n > SCBR_HEADER_MAX + SCBR_TAG_LEN)
        return SCBR_ST_TAMPERED;
    if (n > wire_reader_remaining(&r))
        return SCBR_ST_TRUNCATED;
    e->ct = wire_get_raw(&r, (size_t)n);
    e->ct_len = (size_t)n;
    return wire_reader_finish(&r) == 0 ? SCBR_ST_OK : SCBR_ST_TAMPERED;
}

int scbr_envelope_open(crypto_aead *a, uint8_t kind, const uint8_t *sender, size_t sender_len,
                       const struct scbr_envelope *e, uint8_t *pt)
{
    uint8_t aad[SCBR_AAD_MAX + 8];
    if (sender_len == 0 || sender_len > SCBR_SENDER_MAX)
        return SCBR_ST_TAMPERED;
    size_t aad_len = envelope_aad(aad, kind, sender, sender_len, e->epoch, e->seq);
    return crypto_aead_ctx_open(a, e->nonce, aad, aad_len, e->ct, e->ct_len, pt) == 0
               ? SCBR_ST_OK
               : SCBR_ST_TAMPERED;
}

static int finish(struct wire_reader *r, const char *what, struct cloister_err *err)
{
    if (wire_reader_finish(r) == 0)
        return 0;
    return cloister_errf(err, CLOISTER_E_PROTOCOL, "wire: %s: %s", what, wire_reader_error(r));
}

/* The header of a client message or a reply: this version only, and an older peer is told so
 * (wire_get_header alone would take any version up to ours). */
static void get_proto_header(struct wire_reader *r, const char *magic)
{
    uint16_t v = wire_get_header(r, magic, PROTO_VERSION);
    if (wire_reader_ok(r) && v != PROTO_VERSION)
        wire_reader_fail(r, "the peer speaks an older version of the SCBR protocol (upgrade it)");
}

bool scbr_msg_is_old(const uint8_t *buf, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    return wire_get_header(&r, "CSRM", PROTO_VERSION) < PROTO_VERSION && wire_reader_ok(&r);
}

int scbr_msg_decode(struct scbr_msg *m, const uint8_t *buf, size_t len, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    get_proto_header(&r, "CSRM");
    m->kind = wire_get_u8(&r);
    if (wire_reader_ok(&r) && (m->kind == 0 || m->kind > SCBR_MSG_KIND_MAX))
        wire_reader_fail(&r, "unknown message kind");
    m->body = wire_get_bytes(&r, SCBR_BODY_MAX, &m->body_len);
    m->payload = NULL;
    m->payload_len = 0;
    if (m->kind == SCBR_MSG_PUBLISH)
        m->payload = wire_get_bytes(&r, SCBR_MSG_PAYLOAD_MAX, &m->payload_len);
    return finish(&r, "client message", err);
}

void scbr_msg_encode(struct wire_writer *w, uint8_t kind, const void *body, size_t body_len,
                     const void *payload, size_t payload_len)
{
    wire_put_header(w, "CSRM", PROTO_VERSION);
    wire_put_u8(w, kind);
    wire_put_bytes(w, body, body_len);
    if (kind == SCBR_MSG_PUBLISH)
        wire_put_bytes(w, payload, payload_len);
}

int scbr_reply_decode(struct scbr_reply *m, const uint8_t *buf, size_t len,
                      struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    get_proto_header(&r, "CSRR");
    m->kind = wire_get_u8(&r);
    m->status = wire_get_u8(&r);
    m->epoch = wire_get_u64(&r);
    if (wire_reader_ok(&r) && (m->kind == 0 || m->kind > SCBR_REPLY_KIND_MAX))
        wire_reader_fail(&r, "unknown reply kind");
    m->body = wire_get_bytes(&r, SCBR_MSG_PAYLOAD_MAX + 64, &m->body_len);
    return finish(&r, "router reply", err);
}

void scbr_reply_encode(struct wire_writer *w, uint8_t kind, uint8_t status, uint64_t epoch,
                       const void *body, size_t body_len)
{
    wire_put_header(w, "CSRR", PROTO_VERSION);
    wire_put_u8(w, kind);
    wire_put_u8(w, status);
    wire_put_u64(w, epoch);
    wire_put_bytes(w, body, body_len);
}

void scbr_delivery_encode(struct wire_writer *w, const struct scbr_delivery *d)
{
    wire_put_u64(w, d->seq);
    wire_put_bytes(w, d->publisher, d->publisher_len);
    wire_put_raw(w, d->payload, d->payload_len);
}

int scbr_delivery_decode(struct scbr_delivery *d, const uint8_t *buf, size_t len,
                         struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    d->seq = wire_get_u64(&r);
    d->publisher = wire_get_bytes(&r, SCBR_SENDER_MAX, &d->publisher_len);
    if (wire_reader_ok(&r) && d->publisher_len == 0)
        wire_reader_fail(&r, "empty publisher");
    d->payload_len = wire_reader_remaining(&r);
    d->payload = wire_get_raw(&r, d->payload_len);
    return finish(&r, "delivery", err);
}

/* ---- front <-> shard messages (NATS) ---- */

#define SHARD_BODY_MAX ((size_t)64 << 20) /* a batch of records, or an answer to one */

void scbr_shard_msg_encode(struct wire_writer *w, const struct scbr_shard_msg *m)
{
    wire_put_header(w, "CSSM", 1);
    wire_put_u8(w, m->kind);
    wire_put_u64(w, m->req);
    wire_put_u32(w, m->shard);
    wire_put_u64(w, m->epoch);
    wire_put_u8(w, m->status);
    wire_put_bytes(w, m->body, m->body_len);
}

int scbr_shard_msg_decode(struct scbr_shard_msg *m, const uint8_t *buf, size_t len,
                          struct cloister_err *err)
{
    struct wire_reader r;
    memset(m, 0, sizeof *m);
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CSSM", 1);
    m->kind = wire_get_u8(&r);
    m->req = wire_get_u64(&r);
    m->shard = wire_get_u32(&r);
    m->epoch = wire_get_u64(&r);
    m->status = wire_get_u8(&r);
    if (wire_reader_ok(&r) && m->kind > SCBR_SHARD_PRUNE)
        wire_reader_fail(&r, "unknown shard message kind");
    if (wire_reader_ok(&r) && m->shard >= SCBR_SHARDS_MAX)
        wire_reader_fail(&r, "shard number out of range");
    m->body = wire_get_bytes(&r, SHARD_BODY_MAX, &m->body_len);
    return finish(&r, "shard message", err);
}
