/* xsearch_client.h -- X-Search's client (docs/search.md; the proxy is xsearch_proxy.h): it
 * verifies the proxy enclave's evidence and sends each query sealed to the enclave's key, in
 * the shape of Oblivious HTTP (xsearch.h). Library cloister_search_client. */
#ifndef CLOISTER_XSEARCH_CLIENT_H
#define CLOISTER_XSEARCH_CLIENT_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/search.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a client trusts. */
struct xsearch_trust {
    const char *proxy;        /* IPv4:PORT */
    const char *ca;           /* platform CA; NULL: this machine's */
    const uint8_t *mrenclave; /* 32 bytes, required */
    bool allow_simulated;
};

typedef struct xsearch_client xsearch_client;
/* Fetches and verifies the proxy enclave's key. */
CLOISTER_API int xsearch_client_new(const struct xsearch_trust *t, xsearch_client **out,
                                    struct cloister_err *err);
CLOISTER_API void xsearch_client_free(xsearch_client *c);
/* One search: k fakes, filter f, at most n results (*out to free with search_hits_free). The
 * key is fetched and verified again once if the enclave has replaced it. */
CLOISTER_API int xsearch_client_search(xsearch_client *c, const char *query, unsigned k,
                                       enum search_filter f, unsigned n, struct search_hits *out,
                                       struct cloister_err *err);
/* The verified key, and one sealed request posted as is (tests of tampering and replays):
 * *resp the sealed answer (malloc'd). */
CLOISTER_API void xsearch_client_key(const xsearch_client *c, uint8_t pk[32]);
CLOISTER_API int xsearch_client_post(xsearch_client *c, const uint8_t *req, size_t len,
                                     uint8_t **resp, size_t *resplen, struct cloister_err *err);

/* The broker for a browser (docs/search.md): a search page at GET / and a JSON API at GET
 * /search?q=QUERY, on a loopback address only, searching through one verified client with k
 * fakes and the given filter unless the request says otherwise. */
typedef struct xsearch_broker xsearch_broker;
CLOISTER_API int xsearch_broker_start(const struct xsearch_trust *t, const char *listen, unsigned k,
                                      enum search_filter filter, xsearch_broker **out,
                                      struct cloister_err *err);
CLOISTER_API uint16_t xsearch_broker_port(const xsearch_broker *b);
CLOISTER_API void xsearch_broker_stop(xsearch_broker *b);

#endif
