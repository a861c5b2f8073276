/* proxy.c -- X-Search's proxy host (xsearch_proxy.h): the HTTP front (src/http) and the driver of
 * the `xsearch` enclave. A search is three steps: OPEN (the enclave opens the sealed request,
 * draws the fakes and hands back the OR-ed query and a sealed ticket), the engine request
 * (GET /search on the engine, the only thing this host does in clear, and what the engine sees
 * anyway), FILTER (the engine's hits and the ticket in, the answer sealed for the client out).
 * The host keeps nothing of a request: a crash loses only the history table H, as in X-Search.
 *
 * The image is signed at start with a fresh signer key: the client pins MRENCLAVE (the image's
 * measurement), and nothing is sealed, so MRSIGNER does not matter. */
#include <cloister/crypto.h>
#include <cloister/search_engine.h>
#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>
#include <cloister/xsearch.h>
#include <cloister/xsearch_proxy.h>

#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "http/http.h"
#include "search/common/xsearch_ecalls.h"
#include "search/host/upstream.h"
#include "util/fileio.h"
#include "util/hex.h"

#define ENCLAVE_HEAP ((uint64_t)512 << 20)
#define BODY_MAX (2 * XSEARCH_REQUEST_MAX + 256)
#define ENGINE_REPLY_MAX ((size_t)8 << 20)
#define THREADS_DEFAULT 4 /* the enclave's TCS count (TEE_THREADS_DEFAULT) */
#define BATCH_MAX 64      /* calls per shared crossing */

struct xsearch_proxy {
    tee_enclave *e;
    tee_batcher *batch; /* OPEN and FILTER of concurrent requests share crossings */
    struct http_server *http;
    struct xsearch_upstream up;
    unsigned k_max;
    uint64_t history; /* H's capacity, as the enclave sized it */
    uint8_t mrenclave[32];
};

/* An ecall with the writer's bytes; the enclave's refusal without the runtime's prefix. */
static int call(xsearch_proxy *p, uint32_t number, struct wire_writer *in, uint8_t **out,
                size_t *outlen, struct cloister_err *err)
{
    return tee_ecall_writer(p->e, number, in, out, outlen, err);
}

/* The same for the calls of a search, which share crossings with those of other threads. */
static int batch_call(xsearch_proxy *p, uint32_t number, struct wire_writer *in, uint8_t **out,
                      size_t *outlen, struct cloister_err *err)
{
    int rc = wire_writer_ok(in)
                 ? tee_batcher_call(p->batch, number, in->buf, in->len, out, outlen, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    wire_writer_free(in);
    return rc;
}

/* The engine's hits for the OR-ed query, encoded for FILTER (*hits malloc'd). Every buffer
 * that held the query or the results is wiped: the host keeps no trace of a search. */
static int ask_engine(xsearch_proxy *p, const char *orq, unsigned n, unsigned each, uint8_t **hits,
                      size_t *hitslen, struct cloister_err *err)
{
    size_t cap = 0;
    char *path = xsearch_upstream_path(&p->up, orq, n, each, &cap), *reply = NULL;
    unsigned status = 0;
    if (!path)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = http_call(p->up.endpoint, "GET", path, NULL, NULL, 0, ENGINE_REPLY_MAX, &status,
                       &reply, err);
    crypto_wipe(path, cap);
    free(path);
    if (rc == CLOISTER_OK && status != 200)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "the engine answered HTTP %u", status);
    else if (rc != CLOISTER_OK) /* the error names the path: the query */
        rc = cloister_errf(err, CLOISTER_E_FAILED, "the engine at %s did not answer",
                           p->up.endpoint);
    struct search_hits h;
    if (rc == CLOISTER_OK &&
        (rc = xsearch_upstream_answer(&p->up, reply, strlen(reply), &h, err)) == 0) {
        if (xsearch_hits_encode(&h, hits, hitslen) != CLOISTER_OK)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        search_hits_free(&h);
    }
    if (reply)
        crypto_wipe(reply, strlen(reply));
    free(reply);
    return rc;
}

/* jansson's free for this process: the engine's answers are parsed with jansson (the OR-ed
 * query echoed, the hits, the sub-queries each ranks), and its freed memory must not keep them.
 * The same malloc underneath, so memory jansson allocated before is freed the same way. */
static void json_wipe_free(void *p)
{
    if (p)
        crypto_wipe(p, malloc_usable_size(p));
    free(p);
}

static void wipe_free(uint8_t *p, size_t len)
{
    if (p)
        crypto_wipe(p, len);
    free(p);
}

/* The engine's answer for OPEN's output (u8 0, str OR-ed query, u8 n, bytes ticket), then
 * FILTER: *filtered the enclave's output. */
static int search_engine_then_filter(xsearch_proxy *p, struct wire_reader *r, uint8_t **filtered,
                                     size_t *filtlen, struct cloister_err *err)
{
    size_t qlen, tlen, hitslen = 0;
    const uint8_t *orq = wire_get_bytes(r, XSEARCH_OR_MAX, &qlen);
    unsigned n = wire_get_u8(r);
    const uint8_t *ticket = wire_get_bytes(r, XSEARCH_TICKET_MAX, &tlen);
    char *q = wire_reader_finish(r) == 0 ? malloc(qlen + 1) : NULL;
    uint8_t *hits = NULL;
    if (!q)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's answer is malformed");
    memcpy(q, orq, qlen);
    q[qlen] = 0;
    const char *subs[SEARCH_K_MAX + 1];
    size_t lens[SEARCH_K_MAX + 1];
    int nsubs = search_split_or(q, qlen, subs, lens, SEARCH_K_MAX + 1);
    /* The filter drops the fakes' hits: ask for n per sub-query. */
    unsigned parts = (unsigned)(nsubs > 0 ? nsubs : 1), want = n * parts, each = n;
    if (each * parts > SEARCH_HITS_MAX)
        each = SEARCH_HITS_MAX / parts;
    int rc = ask_engine(p, q, want > SEARCH_HITS_MAX ? SEARCH_HITS_MAX : want, each, &hits,
                        &hitslen, err);
    wipe_free((uint8_t *)q, qlen);
    if (rc != CLOISTER_OK)
        return rc;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_bytes(&w, ticket, tlen);
    wire_put_bytes(&w, hits, hitslen);
    wipe_free(hits, hitslen);
    return batch_call(p, XSEARCH_ECALL_FILTER, &w, filtered, filtlen, err);
}

/* OPEN, then (unless the enclave answered from its cache) the engine and FILTER: *resp the
 * sealed answer. */
static int search(xsearch_proxy *p, const uint8_t *req, size_t len, uint8_t **resp, size_t *resplen,
                  struct cloister_err *err)
{
    struct wire_writer w;
    struct wire_reader r;
    uint8_t *opened = NULL, *filtered = NULL;
    size_t openlen, filtlen = 0;
    wire_writer_init(&w);
    wire_put_bytes(&w, req, len);
    int rc = batch_call(p, XSEARCH_ECALL_OPEN, &w, &opened, &openlen, err);
    if (rc != CLOISTER_OK)
        return rc;
    wire_reader_init(&r, opened, openlen);
    bool cached = wire_get_u8(&r) == 1;
    if (!cached) {
        rc = search_engine_then_filter(p, &r, &filtered, &filtlen, err);
        wipe_free(opened, openlen);
        opened = NULL;
        if (rc != CLOISTER_OK)
            return rc;
        wire_reader_init(&r, filtered, filtlen);
    }
    size_t blen;
    const uint8_t *b = wire_get_bytes(&r, XSEARCH_HITS_BYTES_MAX, &blen);
    if (wire_reader_finish(&r) != 0 || !(*resp = malloc(blen ? blen : 1)))
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's answer is malformed");
    else {
        memcpy(*resp, b, blen);
        *resplen = blen;
    }
    free(opened);
    free(filtered);
    return rc;
}

/* The hex member key of a JSON body (malloc'd), or NULL. */
static uint8_t *body_hex(const struct http_request *r, const char *key, size_t *len)
{
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    uint8_t *v = j ? http_json_unhex(j, key, len) : NULL;
    json_decref(j);
    return v;
}

static char *answer(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static void on_key(xsearch_proxy *p, const struct http_request *r, unsigned *status, char **body)
{
    size_t len = 0;
    uint8_t *nonce = body_hex(r, "nonce", &len), *out = NULL;
    size_t outlen = 0;
    struct cloister_err err = {0};
    struct wire_writer w;
    wire_writer_init(&w);
    if (!nonce || len != TEE_PROV_NONCE_LEN) {
        free(nonce);
        wire_writer_free(&w);
        *status = 400;
        *body = http_error_json("expected {\"nonce\": 64 hex digits}");
        return;
    }
    wire_put_raw(&w, nonce, len);
    free(nonce);
    int rc = call(p, XSEARCH_ECALL_KEY, &w, &out, &outlen, &err);
    struct wire_reader rd;
    size_t evlen = 0;
    wire_reader_init(&rd, out, outlen);
    const uint8_t *pk = wire_get_raw(&rd, 32), *ev = wire_get_bytes(&rd, SIZE_MAX, &evlen);
    if (rc == CLOISTER_OK && wire_reader_finish(&rd) != 0)
        rc = cloister_errf(&err, CLOISTER_E_PROTOCOL, "the enclave's key is malformed");
    *status = rc == CLOISTER_OK ? 200 : http_status_of(rc);
    *body = rc == CLOISTER_OK ? answer(json_pack("{s:o,s:o}", "key", http_json_hex(pk, 32),
                                                 "evidence", http_json_hex(ev, evlen)))
                              : http_error_json(err.msg);
    free(out);
}

/* POST /v1/search: the sealed request as the body (Content-Type message/ohttp-req, answered
 * message/ohttp-res) or as {"request": hex} (answered {"response": hex}). */
static void on_search(xsearch_proxy *p, const struct http_request *r, unsigned *status, char **body,
                      const char **type)
{
    const char *ct = http_header(r, "Content-Type");
    bool bin = ct && strcmp(ct, XSEARCH_REQUEST_TYPE) == 0;
    size_t len = bin ? r->len : 0, resplen = 0;
    uint8_t *req = bin ? NULL : body_hex(r, "request", &len), *resp = NULL;
    struct cloister_err err = {0};
    if (!bin && !req) {
        *status = 400;
        *body = http_error_json("expected {\"request\": hex} or a " XSEARCH_REQUEST_TYPE " body");
        return;
    }
    int rc = search(p, bin ? (const uint8_t *)r->body : req, len, &resp, &resplen, &err);
    free(req);
    *status = rc == CLOISTER_OK ? 200 : http_status_of(rc);
    if (rc != CLOISTER_OK) {
        *body = http_error_json(err.msg);
    } else if (bin) {
        *body = (char *)resp;
        *r->answer_len = resplen;
        *type = XSEARCH_RESPONSE_TYPE;
        return;
    } else {
        *body = answer(json_pack("{s:o}", "response", http_json_hex(resp, resplen)));
    }
    free(resp);
}

static void handle(void *arg, const struct http_request *r, unsigned *status, char **body,
                   const char **type)
{
    xsearch_proxy *p = arg;
    bool post = strcmp(r->method, "POST") == 0;
    if (post && strcmp(r->url, "/v1/key") == 0) {
        on_key(p, r, status, body);
    } else if (post && strcmp(r->url, "/v1/search") == 0) {
        on_search(p, r, status, body, type);
    } else if (strcmp(r->method, "GET") == 0 && strcmp(r->url, "/v1/info") == 0) {
        *status = 200;
        *body = answer(json_pack("{s:o,s:I,s:I}", "mrenclave", http_json_hex(p->mrenclave, 32),
                                 "k_max", (json_int_t)p->k_max, "history", (json_int_t)p->history));
    } else {
        *status = 404;
        *body = http_error_json("no such path (POST /v1/key, POST /v1/search, GET /v1/info)");
    }
}

/* Signs the image with a fresh key into a private directory, starts the enclave, INIT. */
static int start_enclave(xsearch_proxy *p, const struct xsearch_proxy_options *o,
                         struct cloister_err *err)
{
    struct tee_options t;
    tee_options_init(&t);
    if (o->backend && tee_backend_parse(o->backend, &t.backend, NULL) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "unknown enclave backend '%s' (proc or sim)",
                             o->backend);
    t.enclave = o->enclave;
    t.home = o->home;
    t.wait = TEE_WAIT_BLOCK;
    t.workers = o->threads ? o->threads : THREADS_DEFAULT;
    int rc = tee_create_signed(&t, "xsearch", ENCLAVE_HEAP, &p->e, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct tee_info info;
    tee_get_info(p->e, &info);
    memcpy(p->mrenclave, info.mrenclave, 32);
    struct wire_writer w;
    uint8_t *out;
    size_t outlen;
    wire_writer_init(&w);
    wire_put_varint(&w, o->history);
    wire_put_varint(&w, p->k_max);
    wire_put_varint(&w, o->cache_bytes);
    rc = call(p, XSEARCH_ECALL_INIT, &w, &out, &outlen, err);
    struct wire_reader r;
    wire_reader_init(&r, out, outlen);
    p->history = wire_get_varint(&r);
    if (rc == CLOISTER_OK && wire_reader_finish(&r) != 0)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's INIT answer is malformed");
    free(out);
    return rc;
}

int xsearch_proxy_start(const struct xsearch_proxy_options *o, xsearch_proxy **out,
                        struct cloister_err *err)
{
    xsearch_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    p->k_max = o->k_max ? o->k_max : XSEARCH_K_MAX_DEFAULT;
    json_set_alloc_funcs(malloc, json_wipe_free);
    unsigned threads = o->threads ? o->threads : THREADS_DEFAULT;
    int rc = xsearch_upstream_parse(o->engine, o->engine_map, &p->up, err);
    if (rc == CLOISTER_OK && (p->k_max > SEARCH_K_MAX || threads > TEE_THREADS_DEFAULT))
        rc = cloister_errf(err, CLOISTER_E_INVALID, "k max: at most %d; threads: 1..%d",
                           SEARCH_K_MAX, TEE_THREADS_DEFAULT);
    if (rc == CLOISTER_OK)
        rc = start_enclave(p, o, err);
    if (rc == CLOISTER_OK)
        rc = tee_batcher_new(p->e, threads, BATCH_MAX, &p->batch, err);
    if (rc == CLOISTER_OK)
        rc = http_server_start_pool(o->listen ? o->listen : XSEARCH_LISTEN, NULL, BODY_MAX, 0,
                                    threads, handle, p, &p->http, err);
    if (rc != CLOISTER_OK) {
        xsearch_proxy_stop(p);
        return rc;
    }
    *out = p;
    return CLOISTER_OK;
}

size_t xsearch_proxy_history(const xsearch_proxy *p)
{
    return (size_t)p->history;
}

uint16_t xsearch_proxy_port(const xsearch_proxy *p)
{
    return http_server_port(p->http);
}

void xsearch_proxy_mrenclave(const xsearch_proxy *p, uint8_t out[32])
{
    memcpy(out, p->mrenclave, 32);
}

void xsearch_proxy_stop(xsearch_proxy *p)
{
    if (!p)
        return;
    if (p->http)
        http_server_stop(p->http);
    tee_batcher_free(p->batch);
    tee_destroy(p->e);
    free(p);
}
