/* xsearch_wire.c -- X-Search's sealed request and answer and the result lists they carry
 * (xsearch.h). One HPKE context per request (base mode, AES-128-GCM as Oblivious HTTP uses):
 * the body is its one message, and the answer's key is exported from it, so only the client
 * that sealed the request opens the answer. Every decoder is bounded by the wire reader. */
#include <cloister/crypto.h>
#include <cloister/wire.h>
#include <cloister/xsearch.h>

#include <stdlib.h>
#include <string.h>

#define HEAD (XSEARCH_KEY_ID_LEN + HPKE_ENC_LEN)

void xsearch_key_id(const uint8_t pk[HPKE_PUBLIC_LEN], uint8_t id[XSEARCH_KEY_ID_LEN])
{
    uint8_t h[CRYPTO_SHA256_LEN];
    crypto_sha256(h, pk, HPKE_PUBLIC_LEN);
    memcpy(id, h, XSEARCH_KEY_ID_LEN);
}

int xsearch_body_decode(const uint8_t *p, size_t len, struct xsearch_request *rq,
                        struct cloister_err *err)
{
    struct wire_reader r;
    size_t padlen;
    wire_reader_init(&r, p, len);
    rq->k = wire_get_u8(&r);
    rq->filter = (enum search_filter)wire_get_u8(&r);
    rq->n = wire_get_u8(&r);
    wire_get_str(&r, rq->query, sizeof rq->query);
    wire_get_bytes(&r, 2 * XSEARCH_PAD, &padlen);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "search request: %s", wire_reader_error(&r));
    if (rq->k > SEARCH_K_MAX || rq->filter > SEARCH_FILTER_MAX || rq->n == 0 ||
        rq->n > SEARCH_HITS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "search request: k, filter or result count out of range");
    return CLOISTER_OK;
}

/* The body of rq, padded to a multiple of XSEARCH_PAD (the padding's length prefix takes one
 * byte below 128, two from there). */
static int body_encode(const struct xsearch_request *rq, struct wire_writer *w)
{
    static const uint8_t zeros[2 * XSEARCH_PAD];
    wire_put_u8(w, (uint8_t)rq->k);
    wire_put_u8(w, (uint8_t)rq->filter);
    wire_put_u8(w, (uint8_t)rq->n);
    wire_put_str(w, rq->query);
    size_t pad = (XSEARCH_PAD - (w->len + 1) % XSEARCH_PAD) % XSEARCH_PAD;
    if (pad >= 128 && (pad = (XSEARCH_PAD - (w->len + 2) % XSEARCH_PAD) % XSEARCH_PAD) < 128)
        pad += XSEARCH_PAD;
    wire_put_bytes(w, zeros, pad);
    return wire_writer_ok(w) ? CLOISTER_OK : CLOISTER_E_NO_MEMORY;
}

static int export_key(hpke_ctx *c, uint8_t key[32])
{
    return hpke_ctx_export(c, key, 32, XSEARCH_RESPONSE_LABEL, strlen(XSEARCH_RESPONSE_LABEL));
}

int xsearch_request_seal(const uint8_t pk[HPKE_PUBLIC_LEN], const struct xsearch_request *rq,
                         uint8_t **out, size_t *len, uint8_t enc[HPKE_ENC_LEN], uint8_t key[32],
                         struct cloister_err *err)
{
    struct wire_writer w;
    wire_writer_init(&w);
    if (strlen(rq->query) > SEARCH_QUERY_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "query over %d bytes", SEARCH_QUERY_MAX);
    int rc = body_encode(rq, &w);
    hpke_ctx *c = rc == CLOISTER_OK ? hpke_sender_new(enc, HPKE_AEAD_AES128GCM, pk, XSEARCH_INFO,
                                                      strlen(XSEARCH_INFO), NULL)
                                    : NULL;
    uint8_t *buf = c ? malloc(HEAD + w.len + HPKE_TAG_LEN) : NULL;
    if (buf) {
        xsearch_key_id(pk, buf);
        memcpy(buf + XSEARCH_KEY_ID_LEN, enc, HPKE_ENC_LEN);
        if (hpke_ctx_seal(c, buf, XSEARCH_KEY_ID_LEN, w.buf, w.len, buf + HEAD) != 0 ||
            export_key(c, key) != 0) {
            free(buf);
            buf = NULL;
        }
    }
    if (buf) {
        *out = buf;
        *len = HEAD + w.len + HPKE_TAG_LEN;
    } else {
        rc = cloister_errf(err, CLOISTER_E_FAILED, "sealing the search request failed");
    }
    hpke_ctx_free(c);
    if (w.buf)
        crypto_wipe(w.buf, w.len);
    wire_writer_free(&w);
    return rc;
}

int xsearch_request_open(const uint8_t pk[HPKE_PUBLIC_LEN], const uint8_t sk[HPKE_SECRET_LEN],
                         const uint8_t *in, size_t len, struct xsearch_request *rq,
                         uint8_t enc[HPKE_ENC_LEN], uint8_t key[32], struct cloister_err *err)
{
    uint8_t id[XSEARCH_KEY_ID_LEN], body[XSEARCH_BODY_MAX];
    if (len < HEAD + HPKE_TAG_LEN || len > XSEARCH_REQUEST_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "search request: %zu bytes", len);
    xsearch_key_id(pk, id);
    if (!crypto_memeq(id, in, sizeof id))
        return cloister_errf(err, CLOISTER_E_STATE,
                             "search request sealed to another key (fetch the proxy's key again)");
    memcpy(enc, in + XSEARCH_KEY_ID_LEN, HPKE_ENC_LEN);
    size_t ctlen = len - HEAD;
    hpke_ctx *c = hpke_recipient_new(HPKE_AEAD_AES128GCM, enc, sk, XSEARCH_INFO,
                                     strlen(XSEARCH_INFO), NULL);
    int rc = c && hpke_ctx_open(c, in, XSEARCH_KEY_ID_LEN, in + HEAD, ctlen, body) == 0 &&
                     export_key(c, key) == 0
                 ? CLOISTER_OK
                 : cloister_errf(err, CLOISTER_E_DENIED,
                                 "search request fails authentication (tampered)");
    hpke_ctx_free(c);
    if (rc == CLOISTER_OK)
        rc = xsearch_body_decode(body, ctlen - HPKE_TAG_LEN, rq, err);
    crypto_wipe(body, sizeof body);
    if (rc != CLOISTER_OK)
        crypto_wipe(key, 32);
    return rc;
}

int xsearch_hits_encode(const struct search_hits *h, uint8_t **out, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, h->n);
    for (size_t i = 0; i < h->n; i++) {
        const struct search_hit *x = &h->v[i];
        wire_put_str(&w, x->url);
        wire_put_str(&w, x->title);
        wire_put_str(&w, x->snippet);
        wire_put_varint(&w, x->nmatched);
        for (size_t j = 0; j < x->nmatched; j++)
            wire_put_str(&w, x->matched[j]);
    }
    return wire_writer_finish(&w, out, len) == 0 ? CLOISTER_OK : CLOISTER_E_NO_MEMORY;
}

/* A string of at most max bytes without NUL (malloc'd), NULL on error (r then failed). */
static char *get_text(struct wire_reader *r, size_t max)
{
    size_t n;
    const uint8_t *p = wire_get_bytes(r, max, &n);
    if (p && memchr(p, 0, n))
        wire_reader_fail(r, "NUL byte in a string");
    char *s = wire_reader_ok(r) ? malloc(n + 1) : NULL;
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    } else if (wire_reader_ok(r)) {
        wire_reader_fail(r, "out of memory");
    }
    return s;
}

static void get_hit(struct wire_reader *r, struct search_hit *x)
{
    x->url = get_text(r, SEARCH_URL_MAX);
    x->title = get_text(r, SEARCH_TEXT_MAX);
    x->snippet = get_text(r, SEARCH_TEXT_MAX);
    size_t m = wire_get_count(r, 1, XSEARCH_MATCHED_MAX);
    if (m && !(x->matched = calloc(m, sizeof *x->matched)))
        wire_reader_fail(r, "out of memory");
    for (size_t j = 0; j < m && wire_reader_ok(r); j++) {
        x->matched[j] = get_text(r, SEARCH_QUERY_MAX);
        x->nmatched = j + 1;
    }
}

int xsearch_hits_decode(const uint8_t *p, size_t len, struct search_hits *h,
                        struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, p, len);
    memset(h, 0, sizeof *h);
    size_t n = wire_get_count(&r, 4, SEARCH_HITS_MAX);
    if (n && !(h->v = calloc(n, sizeof *h->v)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n && wire_reader_ok(&r); i++) {
        h->n = i + 1;
        get_hit(&r, &h->v[i]);
    }
    if (wire_reader_finish(&r) != 0) {
        int rc = cloister_errf(err, CLOISTER_E_INVALID, "search results: %s",
                               wire_reader_error(&r));
        search_hits_free(h);
        return rc;
    }
    return CLOISTER_OK;
}

int xsearch_response_seal(const uint8_t key[32], const uint8_t enc[HPKE_ENC_LEN],
                          const struct search_hits *h, uint8_t **out, size_t *len)
{
    uint8_t *pt;
    size_t ptlen;
    int rc = xsearch_hits_encode(h, &pt, &ptlen);
    if (rc != CLOISTER_OK)
        return rc;
    uint8_t *buf = malloc(CRYPTO_AEAD_NONCE_LEN + ptlen + CRYPTO_AEAD_TAG_LEN);
    if (!buf || crypto_random(buf, CRYPTO_AEAD_NONCE_LEN) != 0 ||
        crypto_aead_seal(CRYPTO_AES256_GCM, key, buf, enc, HPKE_ENC_LEN, pt, ptlen,
                         buf + CRYPTO_AEAD_NONCE_LEN) != 0) {
        free(buf);
        rc = CLOISTER_E_FAILED;
    } else {
        *out = buf;
        *len = CRYPTO_AEAD_NONCE_LEN + ptlen + CRYPTO_AEAD_TAG_LEN;
    }
    crypto_wipe(pt, ptlen);
    free(pt);
    return rc;
}

int xsearch_response_open(const uint8_t key[32], const uint8_t enc[HPKE_ENC_LEN], const uint8_t *in,
                          size_t len, struct search_hits *h, struct cloister_err *err)
{
    if (len < CRYPTO_AEAD_NONCE_LEN + CRYPTO_AEAD_TAG_LEN || len > XSEARCH_HITS_BYTES_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "search answer: %zu bytes", len);
    size_t ptlen = len - CRYPTO_AEAD_NONCE_LEN - CRYPTO_AEAD_TAG_LEN;
    uint8_t *pt = malloc(ptlen + 1);
    if (!pt)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = crypto_aead_open(CRYPTO_AES256_GCM, key, in, enc, HPKE_ENC_LEN,
                              in + CRYPTO_AEAD_NONCE_LEN, len - CRYPTO_AEAD_NONCE_LEN, pt) == 0
                 ? xsearch_hits_decode(pt, ptlen, h, err)
                 : cloister_errf(err, CLOISTER_E_DENIED,
                                 "search answer fails authentication (tampered)");
    crypto_wipe(pt, ptlen);
    free(pt);
    return rc;
}
