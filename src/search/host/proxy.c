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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "http/http.h"
#include "search/common/xsearch_ecalls.h"
#include "util/hex.h"

#define ENCLAVE_HEAP ((uint64_t)512 << 20)
#define BODY_MAX (2 * XSEARCH_REQUEST_MAX + 256)
#define ENGINE_REPLY_MAX ((size_t)8 << 20)
#define ENGINE_PATH_MAX (3 * XSEARCH_OR_MAX + 64)

struct xsearch_proxy {
    tee_enclave *e;
    struct http_server *http;
    char engine[64];
    unsigned k_max;
    uint8_t mrenclave[32];
};

/* An ecall on the writer's bytes; a refusal carries the enclave's own message (tee.h). */
static int call(xsearch_proxy *p, uint32_t number, struct wire_writer *in, uint8_t **out,
                size_t *outlen, struct cloister_err *err)
{
    return tee_ecall_writer(p->e, number, in, out, outlen, err);
}

static char *dup_string(json_t *j)
{
    const char *s = json_string_value(j);
    return s ? strdup(s) : NULL;
}

static int parse_hit(json_t *j, struct search_hit *x)
{
    json_t *m = json_object_get(j, "matched");
    x->url = dup_string(json_object_get(j, "url"));
    x->title = dup_string(json_object_get(j, "title"));
    x->snippet = dup_string(json_object_get(j, "snippet"));
    if (!x->url || !x->title || !x->snippet || strlen(x->url) > SEARCH_URL_MAX ||
        strlen(x->title) > SEARCH_TEXT_MAX || strlen(x->snippet) > SEARCH_TEXT_MAX)
        return CLOISTER_E_INVALID;
    size_t n = json_array_size(m);
    if (n > XSEARCH_MATCHED_MAX || (n && !(x->matched = calloc(n, sizeof *x->matched))))
        return CLOISTER_E_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (!(x->matched[i] = dup_string(json_array_get(m, i))))
            return CLOISTER_E_INVALID;
        x->nmatched = i + 1;
    }
    return CLOISTER_OK;
}

int xsearch_engine_parse(const char *json, size_t len, struct search_hits *out,
                         struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *hits = json_object_get(j, "hits");
    size_t n = json_array_size(hits);
    int rc = json_is_array(hits) && n <= SEARCH_HITS_MAX ? CLOISTER_OK : CLOISTER_E_INVALID;
    if (rc == CLOISTER_OK && n && !(out->v = calloc(n, sizeof *out->v)))
        rc = CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i < n && rc == CLOISTER_OK; i++) {
        out->n = i + 1;
        rc = parse_hit(json_array_get(hits, i), &out->v[i]);
    }
    json_decref(j);
    if (rc != CLOISTER_OK) {
        search_hits_free(out);
        return cloister_errf(err, rc,
                             "the engine's answer is not a list of at most %d hits "
                             "with url, title, snippet and matched",
                             SEARCH_HITS_MAX);
    }
    return CLOISTER_OK;
}

/* The engine's hits for the OR-ed query, encoded for FILTER (*hits malloc'd). */
static int ask_engine(xsearch_proxy *p, const char *orq, unsigned n, uint8_t **hits,
                      size_t *hitslen, struct cloister_err *err)
{
    char *path = malloc(ENGINE_PATH_MAX), *reply = NULL;
    unsigned status = 0;
    if (!path)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int at = snprintf(path, ENGINE_PATH_MAX, "/search?n=%u&q=", n);
    http_url_encode(orq, path + at);
    int rc = http_call(p->engine, "GET", path, NULL, NULL, 0, ENGINE_REPLY_MAX, &status, &reply,
                       err);
    free(path);
    if (rc == CLOISTER_OK && status != 200)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "the engine answered HTTP %u", status);
    struct search_hits h;
    if (rc == CLOISTER_OK && (rc = xsearch_engine_parse(reply, strlen(reply), &h, err)) == 0) {
        if (xsearch_hits_encode(&h, hits, hitslen) != CLOISTER_OK)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        search_hits_free(&h);
    }
    free(reply);
    return rc;
}

/* OPEN, the engine, FILTER: *resp the sealed answer. */
static int search(xsearch_proxy *p, const uint8_t *req, size_t len, uint8_t **resp, size_t *resplen,
                  struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *opened = NULL, *hits = NULL, *filtered = NULL;
    size_t openlen, hitslen = 0, filtlen;
    wire_writer_init(&w);
    wire_put_bytes(&w, req, len);
    int rc = call(p, XSEARCH_ECALL_OPEN, &w, &opened, &openlen, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct wire_reader r;
    size_t qlen, tlen;
    wire_reader_init(&r, opened, openlen);
    const uint8_t *orq = wire_get_bytes(&r, XSEARCH_OR_MAX, &qlen);
    unsigned n = wire_get_u8(&r);
    const uint8_t *ticket = wire_get_bytes(&r, XSEARCH_TICKET_MAX, &tlen);
    char *q = wire_reader_finish(&r) == 0 ? malloc(qlen + 1) : NULL;
    if (!q) {
        free(opened);
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's answer is malformed");
    }
    memcpy(q, orq, qlen);
    q[qlen] = 0;
    const char *subs[SEARCH_K_MAX + 1];
    size_t lens[SEARCH_K_MAX + 1];
    int nsubs = search_split_or(q, qlen, subs, lens, SEARCH_K_MAX + 1);
    /* The filter drops the fakes' hits: ask for n per sub-query. */
    unsigned want = n * (unsigned)(nsubs > 0 ? nsubs : 1);
    rc = ask_engine(p, q, want > SEARCH_HITS_MAX ? SEARCH_HITS_MAX : want, &hits, &hitslen, err);
    free(q);
    wire_writer_init(&w);
    wire_put_bytes(&w, ticket, tlen);
    wire_put_bytes(&w, hits, hitslen);
    free(opened);
    free(hits);
    if (rc == CLOISTER_OK)
        rc = call(p, XSEARCH_ECALL_FILTER, &w, &filtered, &filtlen, err);
    else
        wire_writer_free(&w);
    if (rc != CLOISTER_OK)
        return rc;
    wire_reader_init(&r, filtered, filtlen);
    size_t blen;
    const uint8_t *b = wire_get_bytes(&r, XSEARCH_HITS_BYTES_MAX, &blen);
    if (wire_reader_finish(&r) != 0 || !(*resp = malloc(blen ? blen : 1)))
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's answer is malformed");
    else {
        memcpy(*resp, b, blen);
        *resplen = blen;
    }
    free(filtered);
    return rc;
}

static unsigned status_of(int rc)
{
    switch (rc) {
    case CLOISTER_E_INVALID: return 400;
    case CLOISTER_E_DENIED: return 403;
    case CLOISTER_E_STATE: return 409;
    case CLOISTER_E_TOO_BIG: return 413;
    case CLOISTER_E_FAILED:
    case CLOISTER_E_SYSTEM: return 502;
    default: return 500;
    }
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
    *status = rc == CLOISTER_OK ? 200 : status_of(rc);
    *body = rc == CLOISTER_OK ? answer(json_pack("{s:o,s:o}", "key", http_json_hex(pk, 32),
                                                 "evidence", http_json_hex(ev, evlen)))
                              : http_error_json(err.msg);
    free(out);
}

static void on_search(xsearch_proxy *p, const struct http_request *r, unsigned *status, char **body)
{
    size_t len = 0, resplen = 0;
    uint8_t *req = body_hex(r, "request", &len), *resp = NULL;
    struct cloister_err err = {0};
    if (!req) {
        *status = 400;
        *body = http_error_json("expected {\"request\": hex}");
        return;
    }
    int rc = search(p, req, len, &resp, &resplen, &err);
    free(req);
    *status = rc == CLOISTER_OK ? 200 : status_of(rc);
    *body = rc == CLOISTER_OK ? answer(json_pack("{s:o}", "response", http_json_hex(resp, resplen)))
                              : http_error_json(err.msg);
    free(resp);
}

static void handle(void *arg, const struct http_request *r, unsigned *status, char **body,
                   const char **type)
{
    (void)type;
    xsearch_proxy *p = arg;
    bool post = strcmp(r->method, "POST") == 0;
    if (post && strcmp(r->url, "/v1/key") == 0) {
        on_key(p, r, status, body);
    } else if (post && strcmp(r->url, "/v1/search") == 0) {
        on_search(p, r, status, body);
    } else if (strcmp(r->method, "GET") == 0 && strcmp(r->url, "/v1/info") == 0) {
        *status = 200;
        *body = answer(json_pack("{s:o,s:I}", "mrenclave", http_json_hex(p->mrenclave, 32), "k_max",
                                 (json_int_t)p->k_max));
    } else {
        *status = 404;
        *body = http_error_json("no such path (POST /v1/key, POST /v1/search, GET /v1/info)");
    }
}

/* Starts the enclave, signed with a fresh key; INIT. */
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
    wire_put_varint(&w, o->history ? o->history : XSEARCH_HISTORY_DEFAULT);
    wire_put_varint(&w, p->k_max);
    rc = call(p, XSEARCH_ECALL_INIT, &w, &out, &outlen, err);
    free(out);
    return rc;
}

int xsearch_proxy_start(const struct xsearch_proxy_options *o, xsearch_proxy **out,
                        struct cloister_err *err)
{
    xsearch_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (!o->engine || strlen(o->engine) >= sizeof p->engine) {
        free(p);
        return cloister_errf(err, CLOISTER_E_INVALID, "the engine: IPv4:PORT");
    }
    snprintf(p->engine, sizeof p->engine, "%s", o->engine);
    p->k_max = o->k_max ? o->k_max : XSEARCH_K_MAX_DEFAULT;
    if (p->k_max > SEARCH_K_MAX) {
        free(p);
        return cloister_errf(err, CLOISTER_E_INVALID, "k max: at most %d", SEARCH_K_MAX);
    }
    int rc = start_enclave(p, o, err);
    if (rc == CLOISTER_OK)
        rc = http_server_start(o->listen ? o->listen : XSEARCH_LISTEN, NULL, BODY_MAX, handle, p,
                               &p->http, err);
    if (rc != CLOISTER_OK) {
        xsearch_proxy_stop(p);
        return rc;
    }
    *out = p;
    return CLOISTER_OK;
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
    tee_destroy(p->e);
    free(p);
}
