/* msg.c -- the relay messages' codecs (cyclosa_msg.h): a frame's parts, and the fixed-size query
 * and answer plaintexts. Everything a relay receives passes here before anything else reads it:
 * sizes are exact, lengths bounded, padding zeros, so that no two encodings mean one message. */
#include <cloister/wire.h>

#include <string.h>

#include "cyclosa/common/cyclosa_msg.h"

int cyclosa_frame_parse(const uint8_t *buf, size_t len, size_t plain, struct cyclosa_frame *f,
                        struct cloister_err *err)
{
    if (len != CYCLOSA_FRAME_OVERHEAD + plain)
        return cloister_errf(
            err, len > CYCLOSA_FRAME_OVERHEAD + plain ? CLOISTER_E_TOO_BIG : CLOISTER_E_INVALID,
            "a message of %zu bytes (they all have %zu)", len, CYCLOSA_FRAME_OVERHEAD + plain);
    struct wire_reader r;
    wire_reader_init(&r, buf, 8);
    f->sid = wire_get_u64(&r);
    f->nonce = buf + 8;
    f->ct = buf + 20;
    return CLOISTER_OK;
}

static bool zeros(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int cyclosa_query_encode(const uint8_t id[CYCLOSA_ID_LEN], const char *q,
                         uint8_t out[CYCLOSA_QUERY_PLAIN])
{
    size_t n = strlen(q);
    if (n > SEARCH_QUERY_MAX)
        return CLOISTER_E_TOO_BIG;
    struct wire_writer w;
    wire_writer_init_fixed(&w, out, CYCLOSA_QUERY_PLAIN);
    wire_put_raw(&w, id, CYCLOSA_ID_LEN);
    wire_put_bytes(&w, q, n);
    if (!wire_writer_ok(&w))
        return CLOISTER_E_TOO_BIG;
    memset(out + w.len, 0, CYCLOSA_QUERY_PLAIN - w.len);
    return CLOISTER_OK;
}

int cyclosa_query_decode(const uint8_t *p, size_t len, uint8_t id[CYCLOSA_ID_LEN],
                         char q[SEARCH_QUERY_MAX + 1], struct cloister_err *err)
{
    struct wire_reader r;
    size_t n = 0;
    wire_reader_init(&r, p, len);
    wire_get_raw_into(&r, id, CYCLOSA_ID_LEN);
    const uint8_t *s = wire_get_bytes(&r, SEARCH_QUERY_MAX, &n);
    size_t rest = wire_reader_remaining(&r);
    if (len != CYCLOSA_QUERY_PLAIN || !wire_reader_ok(&r) || memchr(s, 0, n) ||
        !zeros(p + len - rest, rest))
        return cloister_errf(err, CLOISTER_E_INVALID, "a relay message that is not a query");
    memcpy(q, s, n);
    q[n] = 0;
    return CLOISTER_OK;
}

int cyclosa_answer_encode(const uint8_t id[CYCLOSA_ID_LEN], const uint8_t *hits, size_t hitslen,
                          uint8_t *out)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, out, CYCLOSA_ANSWER_PLAIN);
    wire_put_raw(&w, id, CYCLOSA_ID_LEN);
    wire_put_bytes(&w, hits, hitslen);
    if (!wire_writer_ok(&w))
        return CLOISTER_E_TOO_BIG;
    memset(out + w.len, 0, CYCLOSA_ANSWER_PLAIN - w.len);
    return CLOISTER_OK;
}

int cyclosa_answer_decode(const uint8_t *p, size_t len, uint8_t id[CYCLOSA_ID_LEN],
                          const uint8_t **hits, size_t *hitslen, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, p, len);
    wire_get_raw_into(&r, id, CYCLOSA_ID_LEN);
    *hits = wire_get_bytes(&r, CYCLOSA_ANSWER_PLAIN, hitslen);
    size_t rest = wire_reader_remaining(&r);
    if (len != CYCLOSA_ANSWER_PLAIN || !wire_reader_ok(&r) || !zeros(p + len - rest, rest))
        return cloister_errf(err, CLOISTER_E_INVALID, "a relay answer that is not one");
    return CLOISTER_OK;
}
