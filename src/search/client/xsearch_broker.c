/* xsearch_broker.c -- X-Search's client broker for a browser (xsearch_client.h): a small HTTP
 * server on the user's machine that holds one verified xsearch_client and serves
 *
 *   GET /                       the search page (search/common/page.c, Cyclosa's too: a form;
 *                               with ?q=QUERY[&k=K][&filter=F][&n=N] the results rendered
 *                               here, so that the page needs no script)
 *   GET /search?q=QUERY[&...]   {"query": Q, "hits": [{"url", "title", "snippet"}]}
 *
 * Each search goes sealed to the proxy's enclave as `xsearch query` sends it; the results come
 * back sealed to this broker alone. It listens on loopback only (the address is the user's
 * choice, refused unless in 127.0.0.0/8): the browser is its only client. One polling thread:
 * searches are one at a time, as a user types them. */
#include <cloister/xsearch_client.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http/http.h"
#include "search/common/page.h"

struct xsearch_broker {
    xsearch_client *c;
    struct http_server *http;
    unsigned k;
    enum search_filter filter;
};

static const char *const filter_names[] = {"none", "words", "match"};

struct params {
    const char *q;
    unsigned k, n;
    enum search_filter filter;
};

/* A number parameter in [lo, hi], or def when absent; false when malformed. */
static bool number(const struct http_request *r, const char *name, unsigned lo, unsigned hi,
                   unsigned *v)
{
    const char *s = http_arg(r, name);
    char *end = NULL;
    if (!s || !*s)
        return true;
    unsigned long n = strtoul(s, &end, 10);
    if (*end || n < lo || n > hi)
        return false;
    *v = (unsigned)n;
    return true;
}

static bool parse_params(const xsearch_broker *b, const struct http_request *r, struct params *p)
{
    const char *f = http_arg(r, "filter");
    *p = (struct params){http_arg(r, "q"), b->k, 10, b->filter};
    for (int i = 0; f && *f && i <= SEARCH_FILTER_MAX; i++)
        if (strcmp(f, filter_names[i]) == 0) {
            p->filter = (enum search_filter)i;
            f = NULL;
        }
    return (!f || !*f) && number(r, "k", 0, SEARCH_K_MAX, &p->k) &&
           number(r, "n", 1, SEARCH_HITS_MAX, &p->n);
}

/* The page (page.c): the form, and the results (or the error) when a query was given. */
static char *page(xsearch_broker *b, const struct params *p, bool ok, unsigned *status)
{
    struct search_hits h = {0};
    struct cloister_err err = {0};
    struct search_page pg = {"X-Search", ok ? p->q : NULL, (int)p->k, NULL, NULL, NULL};
    *status = ok ? 200 : 400;
    if (!ok) {
        pg.error = "bad parameters (k 0..64, n 1..100, filter none|words|match)";
    } else if (p->q && *p->q) {
        if (xsearch_client_search(b->c, p->q, p->k, p->filter, p->n, &h, &err) == CLOISTER_OK) {
            pg.hits = &h;
        } else {
            *status = 502;
            pg.error = err.msg;
        }
    }
    char *out = search_page_render(&pg);
    search_hits_free(&h);
    return out;
}

static char *api(xsearch_broker *b, const struct params *p, bool ok, unsigned *status)
{
    struct search_hits h = {0};
    struct cloister_err err = {0};
    if (!ok || !p->q) {
        *status = 400;
        return http_error_json(
            "expected GET /search?q=QUERY[&k=0..64][&filter=none|words|match][&n=1..100]");
    }
    if (xsearch_client_search(b->c, p->q, p->k, p->filter, p->n, &h, &err) != CLOISTER_OK) {
        *status = 502;
        return http_error_json(err.msg);
    }
    json_t *a = json_array();
    for (size_t i = 0; i < h.n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "url", h.v[i].url, "title",
                                           h.v[i].title, "snippet", h.v[i].snippet));
    search_hits_free(&h);
    json_t *j = json_pack("{s:s,s:o}", "query", p->q, "hits", a);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    *status = 200;
    return s;
}

static void handle(void *arg, const struct http_request *r, unsigned *status, char **body,
                   const char **type)
{
    xsearch_broker *b = arg;
    struct params p;
    bool ok = parse_params(b, r, &p);
    if (strcmp(r->method, "GET") != 0) {
        *status = 405;
        *body = http_error_json("only GET / and GET /search");
    } else if (strcmp(r->url, "/") == 0) {
        *body = page(b, &p, ok, status);
        *type = "text/html; charset=utf-8";
    } else if (strcmp(r->url, "/search") == 0) {
        *body = api(b, &p, ok, status);
    } else {
        *status = 404;
        *body = http_error_json("no such path (GET /, GET /search?q=QUERY)");
    }
}

static bool loopback(const char *listen)
{
    char host[64];
    struct in_addr a;
    return sscanf(listen, "%63[0-9.]:", host) == 1 && inet_pton(AF_INET, host, &a) == 1 &&
           (ntohl(a.s_addr) >> 24) == 127;
}

int xsearch_broker_start(const struct xsearch_trust *t, const char *listen, unsigned k,
                         enum search_filter filter, xsearch_broker **out, struct cloister_err *err)
{
    if (!listen || !loopback(listen))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "the broker listens on loopback only (127.x.y.z:PORT)");
    if (k > SEARCH_K_MAX || filter > SEARCH_FILTER_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "k: at most %d", SEARCH_K_MAX);
    xsearch_broker *b = calloc(1, sizeof *b);
    if (!b)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    b->k = k;
    b->filter = filter;
    int rc = xsearch_client_new(t, &b->c, err);
    if (rc == CLOISTER_OK)
        rc = http_server_start(listen, NULL, 1024, handle, b, &b->http, err);
    if (rc != CLOISTER_OK) {
        xsearch_broker_stop(b);
        return rc;
    }
    *out = b;
    return CLOISTER_OK;
}

uint16_t xsearch_broker_port(const xsearch_broker *b)
{
    return http_server_port(b->http);
}

void xsearch_broker_stop(xsearch_broker *b)
{
    if (!b)
        return;
    if (b->http)
        http_server_stop(b->http);
    xsearch_client_free(b->c);
    free(b);
}
