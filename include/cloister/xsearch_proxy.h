/* xsearch_proxy.h -- X-Search (Middleware 2017): the proxy, whose enclave obfuscates each query
 * with k past queries of other users and filters the results, and the client that talks to it
 * end to end (docs/search.md). Library cloister_search_engine (the proxy: libmicrohttpd, the
 * enclave runtime); its client is xsearch_client.h.
 *
 * The client fetches the enclave's HPKE key in evidence binding its own nonce, checks the
 * evidence against its policy (MRENCLAVE pinned, the platform CA, simulated platforms only
 * when allowed), then seals each query to that key (xsearch.h); the enclave draws the fakes,
 * the host asks the engine for the OR-ed query, the enclave filters the hits and seals them for
 * the client. The host and the engine see the OR-ed query, never which sub-query is real, and
 * the host never sees the results the client gets.
 *
 *   POST /v1/key     {"nonce": hex}     -> {"key": hex, "evidence": hex}
 *   POST /v1/search  {"request": hex}   -> {"response": hex}
 *   GET  /v1/info                       -> {"mrenclave": hex, "k_max": K, "history": N}
 *                                          (informational)
 * Refusals are {"error": MSG}: 400 malformed, 403 tampered, replayed or k over the maximum,
 * 409 sealed to a key the enclave has replaced, 413 oversized, 502 the engine failed. */
#ifndef CLOISTER_XSEARCH_PROXY_H
#define CLOISTER_XSEARCH_PROXY_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/search.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XSEARCH_LISTEN "127.0.0.1:8471"
#define XSEARCH_K_MAX_DEFAULT 7

struct tee_enclave_def;

struct xsearch_proxy_options {
    /* IPv4:PORT serving GET /search?q=Q&n=N (search_engine.h), or a URL template
     * http://IPv4:PORT/PATH?...{q}... ({n}: the hits wanted) of any JSON search API */
    const char *engine;
    /* Where that API's answer holds what the proxy needs: a JSON object {"hits": dotted path,
     * "url", "title", "snippet", "matched": member names}; NULL: the local engine's names */
    const char *engine_map;
    const char *listen;                    /* IPv4:PORT, port 0: any free one */
    const char *backend;                   /* "proc" or "sim"; NULL: CLOISTER_TEE, else proc */
    const struct tee_enclave_def *enclave; /* the trusted code for sim (tee_enclave_xsearch) */
    const char *home;                      /* platform home; NULL: the default */
    size_t history;     /* queries in H; 0: half the enclave's EPC budget's worth */
    size_t cache_bytes; /* engine answers cached in the enclave; 0: an eighth of its EPC budget */
    unsigned k_max;     /* policy maximum of k; 0: XSEARCH_K_MAX_DEFAULT */
    unsigned threads;   /* HTTP threads and enclave workers, 1..4; 0: 4 */
};

typedef struct xsearch_proxy xsearch_proxy;
CLOISTER_API int xsearch_proxy_start(const struct xsearch_proxy_options *o, xsearch_proxy **out,
                                     struct cloister_err *err);
CLOISTER_API uint16_t xsearch_proxy_port(const xsearch_proxy *p);
/* H's capacity, as the enclave sized it. */
CLOISTER_API size_t xsearch_proxy_history(const xsearch_proxy *p);
CLOISTER_API void xsearch_proxy_mrenclave(const xsearch_proxy *p, uint8_t out[32]);
CLOISTER_API void xsearch_proxy_stop(xsearch_proxy *p);
/* The engine's JSON answer (search_engine.h) as hits with their matched sub-queries. */
CLOISTER_API int xsearch_engine_parse(const char *json, size_t len, struct search_hits *out,
                                      struct cloister_err *err);

#endif
