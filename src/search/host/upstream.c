/* upstream.c -- the search engine behind X-Search's proxy (xsearch_proxy.h), described by a URL
 * template and a JSON mapping, so that the proxy can sit in front of any JSON search API.
 *
 * The template is http://IPv4:PORT/PATH?...{q}...: {q} is replaced by the OR-ed query,
 * percent-encoded, {n} (optional) by the number of hits asked for (the client's n times the
 * sub-queries, at most 100: the filter drops the fakes' hits) and {each} by the hits asked for
 * each sub-query (the client's n, at most 100 in all). A bare IPv4:PORT names the local engine
 * (search_engine.h) in its each=N mode, whose `ranked` lists are what the match-aware filter
 * reads: http://IPv4:PORT/search?each={each}&q={q} with "matched" mapped to "ranked". The
 * mapping says where the answer's fields are: {"hits": "a.b" (dotted path to the array of
 * results), "url", "title", "snippet", "matched" (member names in each result)}; absent names
 * keep the local engine's. An engine without "matched" lists gives the match-aware filter
 * nothing to keep: such engines want the word-count filter. Only plain http on IPv4 is spoken (src/http); an
 * engine behind TLS needs a local relay. */
#include <cloister/xsearch.h>
#include <cloister/xsearch_proxy.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http/http.h"
#include "search/host/upstream.h"

#define UPSTREAM_LOCAL_PATH "/search?each={each}&q={q}"

static void name_set(char *dst, size_t cap, json_t *map, const char *key, const char *def, bool *ok)
{
    json_t *v = map ? json_object_get(map, key) : NULL;
    const char *s = v ? json_string_value(v) : def;
    if (!s || !*s || strlen(s) >= cap)
        *ok = false;
    else
        snprintf(dst, cap, "%s", s);
}

int xsearch_upstream_parse(const char *engine, const char *map, struct xsearch_upstream *u,
                           struct cloister_err *err)
{
    memset(u, 0, sizeof *u);
    const char *path = UPSTREAM_LOCAL_PATH, *host = engine, *matched = "ranked";
    size_t hostlen = engine ? strlen(engine) : 0;
    if (engine && strncmp(engine, "http://", 7) == 0) {
        host = engine + 7;
        path = strchr(host, '/');
        matched = "matched";
        hostlen = path ? (size_t)(path - host) : 0;
    }
    if (!engine || !path || hostlen == 0 || hostlen >= sizeof u->endpoint ||
        strlen(path) >= sizeof u->path || !strstr(path, "{q}"))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "the engine: IPv4:PORT, or a URL template "
                             "http://IPv4:PORT/PATH?...{q}... (at most %zu bytes)",
                             sizeof u->path - 1);
    memcpy(u->endpoint, host, hostlen);
    snprintf(u->path, sizeof u->path, "%s", path);
    json_t *m = map ? json_loads(map, JSON_REJECT_DUPLICATES, NULL) : NULL;
    bool ok = !map || json_is_object(m);
    name_set(u->hits, sizeof u->hits, m, "hits", "hits", &ok);
    name_set(u->url, sizeof u->url, m, "url", "url", &ok);
    name_set(u->title, sizeof u->title, m, "title", "title", &ok);
    name_set(u->snippet, sizeof u->snippet, m, "snippet", "snippet", &ok);
    name_set(u->matched, sizeof u->matched, m, "matched", matched, &ok);
    json_decref(m);
    if (!ok)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "the engine's mapping: a JSON object of names (hits, url, title, "
                             "snippet, matched), each 1..%zu bytes",
                             sizeof u->url - 1);
    return CLOISTER_OK;
}

char *xsearch_upstream_path(const struct xsearch_upstream *u, const char *orq, unsigned n,
                            unsigned each, size_t *cap)
{
    size_t qlen = strlen(orq);
    *cap = 1;
    for (const char *t = u->path; *t; t++) /* {q} grows to 3 bytes a byte, {n} to 10 digits */
        *cap += strncmp(t, "{q}", 3) == 0 ? 3 * qlen : 10;
    char *out = malloc(*cap), *o = out;
    if (!out)
        return NULL;
    for (const char *t = u->path; *t;) {
        if (strncmp(t, "{q}", 3) == 0) {
            o += http_url_encode(orq, o);
            t += 3;
        } else if (strncmp(t, "{n}", 3) == 0) {
            o += sprintf(o, "%u", n);
            t += 3;
        } else if (strncmp(t, "{each}", 6) == 0) {
            o += sprintf(o, "%u", each);
            t += 6;
        } else {
            *o++ = *t++;
        }
    }
    *o = 0;
    return out;
}

static char *dup_string(json_t *j)
{
    const char *s = json_string_value(j);
    return s ? strdup(s) : NULL;
}

static int parse_hit(const struct xsearch_upstream *u, json_t *j, struct search_hit *x)
{
    json_t *m = json_object_get(j, u->matched);
    x->url = dup_string(json_object_get(j, u->url));
    x->title = dup_string(json_object_get(j, u->title));
    x->snippet = dup_string(json_object_get(j, u->snippet));
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

/* The member at the dotted path (at most 8 steps), or NULL. */
static json_t *at_path(json_t *j, const char *path)
{
    char step[sizeof((struct xsearch_upstream *)0)->hits];
    for (int depth = 0; j && *path && depth < 8; depth++) {
        size_t n = strcspn(path, ".");
        memcpy(step, path, n);
        step[n] = 0;
        j = json_object_get(j, step);
        path += n + (path[n] == '.');
    }
    return *path ? NULL : j;
}

int xsearch_upstream_answer(const struct xsearch_upstream *u, const char *json, size_t len,
                            struct search_hits *out, struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *hits = at_path(j, u->hits);
    size_t n = json_array_size(hits);
    int rc = json_is_array(hits) && n <= SEARCH_HITS_MAX ? CLOISTER_OK : CLOISTER_E_INVALID;
    if (rc == CLOISTER_OK && n && !(out->v = calloc(n, sizeof *out->v)))
        rc = CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i < n && rc == CLOISTER_OK; i++) {
        out->n = i + 1;
        rc = parse_hit(u, json_array_get(hits, i), &out->v[i]);
    }
    json_decref(j);
    if (rc != CLOISTER_OK) {
        search_hits_free(out);
        return cloister_errf(err, rc,
                             "the engine's answer is not a list of at most %d hits "
                             "with %s, %s, %s (and %s)",
                             SEARCH_HITS_MAX, u->url, u->title, u->snippet, u->matched);
    }
    return CLOISTER_OK;
}

int xsearch_engine_parse(const char *json, size_t len, struct search_hits *out,
                         struct cloister_err *err)
{
    struct xsearch_upstream u;
    xsearch_upstream_parse("http://0.0.0.0:0/{q}", NULL, &u, NULL);
    return xsearch_upstream_answer(&u, json, len, out, err);
}
