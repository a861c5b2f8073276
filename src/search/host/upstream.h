/* upstream.h -- the engine behind X-Search's proxy: a URL template and a JSON mapping
 * (upstream.c). Internal to the proxy host. */
#ifndef CLOISTER_SEARCH_UPSTREAM_H
#define CLOISTER_SEARCH_UPSTREAM_H

#include <cloister/error.h>
#include <cloister/search.h>

#include <stddef.h>

struct xsearch_upstream {
    char endpoint[64]; /* IPv4:PORT */
    char path[512];    /* with {q} and maybe {n} */
    char hits[64], url[32], title[32], snippet[32], matched[32];
};

/* engine: IPv4:PORT or http://IPv4:PORT/PATH with {q}; map: a JSON object or NULL. */
int xsearch_upstream_parse(const char *engine, const char *map, struct xsearch_upstream *u,
                           struct cloister_err *err);
/* The request path for the OR-ed query, n hits in all, each per sub-query (malloc'd; *cap its
 * allocated size, for wiping). */
char *xsearch_upstream_path(const struct xsearch_upstream *u, const char *orq, unsigned n,
                            unsigned each, size_t *cap);
int xsearch_upstream_answer(const struct xsearch_upstream *u, const char *json, size_t len,
                            struct search_hits *out, struct cloister_err *err);

#endif
