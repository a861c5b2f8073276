/* xsearch.h -- X-Search's messages (docs/search.md): a client's search request sealed to the
 * proxy enclave's attested HPKE key and the enclave's answer sealed back, in the shape of
 * Oblivious HTTP (RFC 9458), and the result lists they carry. Both the client (src/search/client)
 * and the enclave (src/search/enclave) use these; the proxy's host only moves the bytes.
 *
 *   request  = key id 8 || enc 32 || HPKE-seal(pk, info XSEARCH_INFO, aad key id, body)
 *   body     = u8 k, u8 filter, u8 n, str query, bytes zero padding (body a multiple of
 *              XSEARCH_PAD bytes, so the size says little about the query)
 *   response = nonce 12 || AES-256-GCM(key, aad enc, hits), key = the request context's
 *              Export(XSEARCH_RESPONSE_LABEL, 32)
 *   hits     = count, then per hit: str url, str title, str snippet, count, str matched...
 *
 * The key id (the first 8 bytes of SHA-256 of the public key) names the key a request was
 * sealed to, so an enclave that has rotated its key refuses old requests with a clear message.
 * Decoders bound every length and count and refuse trailing bytes. */
#ifndef CLOISTER_XSEARCH_H
#define CLOISTER_XSEARCH_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/hpke.h>
#include <cloister/search.h>

#include <stddef.h>
#include <stdint.h>

#define XSEARCH_KEY_ID_LEN 8
#define XSEARCH_INFO "CLOISTER-XSEARCH-V01 request"
#define XSEARCH_RESPONSE_LABEL "CLOISTER-XSEARCH-V01 response"
#define XSEARCH_PAD 256
/* Content types of binary requests and answers on POST /v1/search (RFC 9458's). */
#define XSEARCH_REQUEST_TYPE "message/ohttp-req"
#define XSEARCH_RESPONSE_TYPE "message/ohttp-res"
#define XSEARCH_BODY_MAX (SEARCH_QUERY_MAX + 2 * XSEARCH_PAD + 16)
#define XSEARCH_REQUEST_MAX (XSEARCH_KEY_ID_LEN + HPKE_ENC_LEN + XSEARCH_BODY_MAX + HPKE_TAG_LEN)
#define XSEARCH_HITS_BYTES_MAX ((size_t)4 << 20) /* an encoded result list */
#define XSEARCH_MATCHED_MAX (SEARCH_K_MAX + 1)   /* matched sub-queries of one hit */

struct xsearch_request {
    unsigned k;                /* fake queries (at most the proxy's policy maximum) */
    enum search_filter filter; /* how the enclave filters the OR-ed query's results */
    unsigned n;                /* results wanted, 1..SEARCH_HITS_MAX */
    char query[SEARCH_QUERY_MAX + 1];
};

CLOISTER_API void xsearch_key_id(const uint8_t pk[HPKE_PUBLIC_LEN], uint8_t id[XSEARCH_KEY_ID_LEN]);
/* The body (before sealing) and back. */
CLOISTER_API int xsearch_body_decode(const uint8_t *p, size_t len, struct xsearch_request *rq,
                                     struct cloister_err *err);
/* Seals rq to pk (*out malloc'd); enc and key are what the answer is opened with. */
CLOISTER_API int xsearch_request_seal(const uint8_t pk[HPKE_PUBLIC_LEN],
                                      const struct xsearch_request *rq, uint8_t **out, size_t *len,
                                      uint8_t enc[HPKE_ENC_LEN], uint8_t key[32],
                                      struct cloister_err *err);
CLOISTER_API int xsearch_request_open(const uint8_t pk[HPKE_PUBLIC_LEN],
                                      const uint8_t sk[HPKE_SECRET_LEN], const uint8_t *in,
                                      size_t len, struct xsearch_request *rq,
                                      uint8_t enc[HPKE_ENC_LEN], uint8_t key[32],
                                      struct cloister_err *err);

CLOISTER_API int xsearch_hits_encode(const struct search_hits *h, uint8_t **out, size_t *len);
CLOISTER_API int xsearch_hits_decode(const uint8_t *p, size_t len, struct search_hits *h,
                                     struct cloister_err *err);
CLOISTER_API int xsearch_response_seal(const uint8_t key[32], const uint8_t enc[HPKE_ENC_LEN],
                                       const struct search_hits *h, uint8_t **out, size_t *len);
CLOISTER_API int xsearch_response_open(const uint8_t key[32], const uint8_t enc[HPKE_ENC_LEN],
                                       const uint8_t *in, size_t len, struct search_hits *h,
                                       struct cloister_err *err);

#endif
