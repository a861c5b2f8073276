/* xsearch_client.c -- X-Search's client side (xsearch_client.h): it fetches the proxy enclave's
 * HPKE key with a fresh nonce, verifies the evidence (the verifier policy: MRENCLAVE pinned,
 * the platform CA, simulated platforms only when allowed, report data = the key bound to the
 * nonce), then seals each query to that key and opens the answer with the key exported from
 * the request's HPKE context. The proxy's host relays bytes it cannot read.
 *
 * Requests go over kept HTTP/1.1 connections (http_conn): a thread takes an idle one, or opens
 * one, and gives it back after its answer, so concurrent callers never share a connection and
 * a busy client does not pay a TCP handshake per search. */
#include <cloister/crypto.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>
#include <cloister/wire.h>
#include <cloister/xsearch.h>
#include <cloister/xsearch_client.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http/http.h"

#define REPLY_MAX ((size_t)2 * XSEARCH_HITS_BYTES_MAX + 4096)
#define CONNS_KEPT 16 /* idle connections kept for later requests */

struct xsearch_client {
    char proxy[64];
    char *ca;
    uint8_t mrenclave[32];
    bool allow_simulated;
    uint8_t pk[HPKE_PUBLIC_LEN];
    pthread_mutex_t lock;
    struct http_conn *idle[CONNS_KEPT];
    size_t nidle;
};

/* One request on an idle connection (or a new one), which is kept afterwards. */
static int call(xsearch_client *c, const char *path, const char *headers, const void *body,
                size_t len, unsigned *status, char **reply, size_t *reply_len,
                struct cloister_err *err)
{
    struct http_conn *conn = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->nidle)
        conn = c->idle[--c->nidle];
    pthread_mutex_unlock(&c->lock);
    int rc = conn ? CLOISTER_OK : http_conn_open(c->proxy, &conn, err);
    if (rc == CLOISTER_OK)
        rc = http_conn_call_bin(conn, "POST", path, headers, body, len, REPLY_MAX, status, reply,
                                reply_len, err);
    if (rc != CLOISTER_OK) {
        http_conn_close(conn);
        return rc;
    }
    pthread_mutex_lock(&c->lock);
    if (c->nidle < CONNS_KEPT) {
        c->idle[c->nidle++] = conn;
        conn = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    http_conn_close(conn);
    return CLOISTER_OK;
}

/* The error for the proxy's answer raw of HTTP status (not 200). */
static int refused(const xsearch_client *c, unsigned status, const char *raw,
                   struct cloister_err *err)
{
    json_t *j = json_loads(raw, 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "error"));
    int rc = !json_is_object(j)
                 ? cloister_errf(err, CLOISTER_E_PROTOCOL, "%s: not an X-Search proxy (HTTP %u)",
                                 c->proxy, status)
                 : cloister_errf(err,
                                 status == 403   ? CLOISTER_E_DENIED
                                 : status == 409 ? CLOISTER_E_STATE
                                 : status == 400 ? CLOISTER_E_INVALID
                                                 : CLOISTER_E_FAILED,
                                 "the proxy refused: %s", msg ? msg : "no reason given");
    json_decref(j);
    return rc;
}

/* POST body to path: the answer's JSON object, or the proxy's refusal as an error. */
static int post(xsearch_client *c, const char *path, json_t *body, json_t **out,
                struct cloister_err *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL, *raw = NULL;
    unsigned status = 0;
    size_t rawlen = 0;
    json_decref(body);
    if (!text)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = call(c, path, "Content-Type: application/json\r\n", text, strlen(text), &status, &raw,
                  &rawlen, err);
    free(text);
    if (rc == CLOISTER_OK && status != 200)
        rc = refused(c, status, raw, err);
    else if (rc == CLOISTER_OK && (*out = json_loads(raw, 0, NULL), !json_is_object(*out))) {
        json_decref(*out); /* json_is_object reads its argument twice: loaded once, above */
        *out = NULL;
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "%s: not an X-Search proxy (HTTP %u)",
                           c->proxy, status);
    }
    free(raw);
    return rc;
}

/* The hex member key of j (malloc'd), or a protocol error. */
static int hex_member(json_t *j, const char *key, uint8_t **out, size_t *len,
                      struct cloister_err *err)
{
    if (!(*out = http_json_unhex(j, key, len)))
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the proxy's answer has no \"%s\"", key);
    return CLOISTER_OK;
}

static int verify_key(xsearch_client *c, const uint8_t nonce[TEE_PROV_NONCE_LEN], const uint8_t *ev,
                      size_t evlen, struct cloister_err *err)
{
    tee_platform *platform = NULL;
    if (!c->ca && !(platform = tee_platform_open(NULL, err)))
        return CLOISTER_E_NOT_FOUND;
    tee_verifier *v = tee_verifier_new_file(c->ca ? c->ca : tee_platform_ca_path(platform), err);
    tee_platform_free(platform);
    if (!v)
        return CLOISTER_E_INVALID;
    uint8_t rd[TEE_REPORT_DATA_LEN];
    tee_bind_report_data(rd, c->pk, sizeof c->pk, nonce, TEE_PROV_NONCE_LEN);
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])c->mrenclave;
    p.n_mrenclave = 1;
    p.allow_simulated = c->allow_simulated;
    p.allow_debug = c->allow_simulated;
    p.report_data = rd;
    struct cloister_err e = {0};
    struct tee_claims claims;
    int rc = tee_verify_evidence(v, ev, evlen, &p, &claims, &e) == 0
                 ? CLOISTER_OK
                 : cloister_errf(err, CLOISTER_E_DENIED,
                                 "the proxy's enclave was refused: %.160s%s", e.msg,
                                 c->allow_simulated ? ""
                                                    : " (a simulated platform needs "
                                                      "--allow-simulated)");
    tee_verifier_free(v);
    return rc;
}

/* Fetches the enclave's key for a fresh nonce and verifies its evidence. */
static int fetch_key(xsearch_client *c, struct cloister_err *err)
{
    uint8_t nonce[TEE_PROV_NONCE_LEN], *pk = NULL, *ev = NULL;
    size_t pklen = 0, evlen = 0;
    json_t *j = NULL;
    int rc = tee_prov_nonce(nonce, err);
    if (rc == CLOISTER_OK)
        rc = post(c, "/v1/key", json_pack("{s:o}", "nonce", http_json_hex(nonce, sizeof nonce)), &j,
                  err);
    if (rc == CLOISTER_OK && (rc = hex_member(j, "key", &pk, &pklen, err)) == CLOISTER_OK &&
        (rc = hex_member(j, "evidence", &ev, &evlen, err)) == CLOISTER_OK &&
        pklen != HPKE_PUBLIC_LEN)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the proxy's key is not %d bytes",
                           HPKE_PUBLIC_LEN);
    json_decref(j);
    if (rc == CLOISTER_OK) {
        memcpy(c->pk, pk, HPKE_PUBLIC_LEN);
        rc = verify_key(c, nonce, ev, evlen, err);
    }
    free(pk);
    free(ev);
    return rc;
}

int xsearch_client_new(const struct xsearch_trust *t, xsearch_client **out,
                       struct cloister_err *err)
{
    if (!t->proxy || strlen(t->proxy) >= 64 || !t->mrenclave)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "the proxy (IPv4:PORT) and its MRENCLAVE are required");
    xsearch_client *c = calloc(1, sizeof *c);
    if (!c || (t->ca && !(c->ca = strdup(t->ca)))) {
        free(c);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    pthread_mutex_init(&c->lock, NULL);
    memcpy(c->proxy, t->proxy, strlen(t->proxy) + 1);
    memcpy(c->mrenclave, t->mrenclave, 32);
    c->allow_simulated = t->allow_simulated;
    int rc = fetch_key(c, err);
    if (rc != CLOISTER_OK) {
        xsearch_client_free(c);
        return rc;
    }
    *out = c;
    return CLOISTER_OK;
}

void xsearch_client_free(xsearch_client *c)
{
    if (!c)
        return;
    while (c->nidle)
        http_conn_close(c->idle[--c->nidle]);
    pthread_mutex_destroy(&c->lock);
    free(c->ca);
    free(c);
}

void xsearch_client_key(const xsearch_client *c, uint8_t pk[32])
{
    memcpy(pk, c->pk, HPKE_PUBLIC_LEN);
}

int xsearch_client_post(xsearch_client *c, const uint8_t *req, size_t len, uint8_t **resp,
                        size_t *resplen, struct cloister_err *err)
{
    char *raw = NULL;
    unsigned status = 0;
    int rc = call(c, "/v1/search", "Content-Type: " XSEARCH_REQUEST_TYPE "\r\n", req, len, &status,
                  &raw, resplen, err);
    if (rc == CLOISTER_OK && status != 200) {
        rc = refused(c, status, raw, err);
        free(raw);
        raw = NULL;
    }
    *resp = (uint8_t *)raw;
    return rc;
}

static int search_once(xsearch_client *c, const struct xsearch_request *rq, struct search_hits *out,
                       struct cloister_err *err)
{
    uint8_t *req = NULL, *resp = NULL, enc[HPKE_ENC_LEN], key[32];
    size_t len = 0, resplen = 0;
    int rc = xsearch_request_seal(c->pk, rq, &req, &len, enc, key, err);
    if (rc == CLOISTER_OK)
        rc = xsearch_client_post(c, req, len, &resp, &resplen, err);
    if (rc == CLOISTER_OK)
        rc = xsearch_response_open(key, enc, resp, resplen, out, err);
    crypto_wipe(key, sizeof key);
    free(req);
    free(resp);
    return rc;
}

int xsearch_client_search(xsearch_client *c, const char *query, unsigned k, enum search_filter f,
                          unsigned n, struct search_hits *out, struct cloister_err *err)
{
    struct xsearch_request *rq = calloc(1, sizeof *rq);
    if (!rq)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (strlen(query) > SEARCH_QUERY_MAX) {
        free(rq);
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "query over %d bytes", SEARCH_QUERY_MAX);
    }
    memcpy(rq->query, query, strlen(query) + 1);
    rq->k = k;
    rq->filter = f;
    rq->n = n;
    int rc = search_once(c, rq, out, err);
    if (rc == CLOISTER_E_STATE && (rc = fetch_key(c, err)) == CLOISTER_OK)
        rc = search_once(c, rq, out, err); /* the enclave replaced its key */
    crypto_wipe(rq, sizeof *rq);
    free(rq);
    return rc;
}
