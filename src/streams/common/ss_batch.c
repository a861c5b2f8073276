/* ss_batch.c -- the sealed batch and the pipeline config of ss_proto.h. */
#include "streams/common/ss_proto.h"

#include <string.h>

static const char MAGIC[4] = {'S', 'S', 'B', '1'};

void ss_batch_encode(const struct ss_batch *b, struct wire_writer *w)
{
    wire_put_u8(w, (b->final ? 1 : 0) | (b->failed ? 2 : 0));
    wire_put_varint(w, b->ingress_ns);
    wire_put_varint(w, b->skipped);
    wire_put_bytes(w, b->error ? b->error : "", b->error ? b->error_len : 0);
    wire_put_raw(w, b->events, b->events_len);
}

int ss_batch_decode(struct ss_batch *b, const uint8_t *buf, size_t len, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    uint8_t flags = wire_get_u8(&r);
    b->final = flags & 1;
    b->failed = flags & 2;
    b->ingress_ns = wire_get_varint(&r);
    b->skipped = wire_get_varint(&r);
    b->error = (const char *)wire_get_bytes(&r, CLOISTER_ERR_MAX, &b->error_len);
    size_t rest = wire_reader_remaining(&r);
    b->events = wire_get_raw(&r, rest);
    /* an array value: tag 0x06 (its elements are checked by whoever decodes them) */
    if (!wire_reader_ok(&r) || flags > 3 || rest == 0 || b->events[0] != 0x06)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed batch");
    b->events_len = rest;
    return 0;
}

static void header(const struct ss_edge *e, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                   struct wire_writer *w)
{
    wire_put_raw(w, MAGIC, sizeof MAGIC);
    wire_put_raw(w, e->hash, SS_HASH_LEN);
    wire_put_u32(w, e->stage);
    wire_put_u32(w, e->partition);
    wire_put_u64(w, e->seq);
    wire_put_raw(w, nonce, CRYPTO_AEAD_NONCE_LEN);
}

int ss_seal(crypto_aead *a, const struct ss_edge *e, const uint8_t *pt, size_t len,
            struct wire_writer *out)
{
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];
    if (crypto_random(nonce, sizeof nonce) != 0)
        return -1;
    size_t at = out->len;
    header(e, nonce, out);
    uint8_t *ct = wire_writer_reserve(out, len + CRYPTO_AEAD_TAG_LEN);
    if (!ct || !wire_writer_ok(out) ||
        crypto_aead_ctx_seal(a, nonce, out->buf + at, SS_BATCH_HEADER_LEN, pt, len, ct) != 0)
        return -1;
    wire_writer_commit(out, len + CRYPTO_AEAD_TAG_LEN);
    return 0;
}

void ss_peek(const uint8_t *c, uint32_t *stage, uint32_t *partition, uint64_t *seq)
{
    struct wire_reader r;
    wire_reader_init(&r, c + 4 + SS_HASH_LEN, 16);
    *stage = wire_get_u32(&r);
    *partition = wire_get_u32(&r);
    *seq = wire_get_u64(&r);
}

int ss_open(crypto_aead *a, const struct ss_edge *want, const uint8_t *c, size_t len, uint8_t *pt,
            size_t *ptlen, struct cloister_err *err)
{
    if (len < SS_BATCH_OVERHEAD)
        return cloister_errf(err, CLOISTER_E_DENIED, "batch refused: truncated");
    uint8_t expect[SS_BATCH_HEADER_LEN];
    struct wire_writer w;
    wire_writer_init_fixed(&w, expect, sizeof expect);
    header(want, c + SS_BATCH_HEADER_LEN - CRYPTO_AEAD_NONCE_LEN, &w);
    /* the header is public: comparing it first only says which field differs */
    if (memcmp(c, MAGIC, sizeof MAGIC) != 0 || memcmp(c + 4, want->hash, SS_HASH_LEN) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED, "batch refused: not for this pipeline");
    if (memcmp(c + 4 + SS_HASH_LEN, expect + 4 + SS_HASH_LEN, 8) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED, "batch refused: addressed to another stage");
    if (memcmp(c + 4 + SS_HASH_LEN + 8, expect + 4 + SS_HASH_LEN + 8, 8) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "batch refused: replayed or out of order (expected number %llu)",
                             (unsigned long long)want->seq);
    size_t n = len - SS_BATCH_HEADER_LEN;
    if (crypto_aead_ctx_open(a, c + SS_BATCH_HEADER_LEN - CRYPTO_AEAD_NONCE_LEN, c,
                             SS_BATCH_HEADER_LEN, c + SS_BATCH_HEADER_LEN, n, pt) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED, "batch refused: authentication failed");
    *ptlen = n - CRYPTO_AEAD_TAG_LEN;
    return 0;
}

int ss_config_decode(struct ss_config *c, const uint8_t *buf, size_t len, struct cloister_err *err)
{
    struct wire_reader r;
    size_t n;
    wire_reader_init(&r, buf, len);
    memset(c, 0, sizeof *c);
    const uint8_t *name = wire_get_bytes(&r, SS_NAME_MAX - 1, &n);
    c->chunkname = name && n > 0 && !memchr(name, 0, n) ? (const char *)name : NULL;
    c->chunkname_len = n;
    c->text = wire_get_bytes(&r, SS_MESSAGE_MAX, &c->text_len);
    c->nparams = wire_get_varint(&r);
    if (c->nparams > SS_PARAMS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "too many parameters");
    for (size_t i = 0; i < 2 * c->nparams; i++)
        c->params[i] = (const char *)wire_get_bytes(&r, 1 << 16, &c->param_len[i]);
    if (!wire_reader_ok(&r) || wire_reader_remaining(&r) != 0 || !c->chunkname)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed pipeline config");
    return 0;
}
