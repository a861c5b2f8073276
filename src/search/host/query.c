/* query.c -- the engine's query parser (search_engine.h): an OR-ed query becomes its sub-queries,
 * the distinct terms of all of them (a bit set per sub-query says which are its own) and the FTS5
 * expression that finds the documents holding any of them. Terms are search_terms()'s, so only
 * ASCII letters and digits reach the expression, each quoted: no FTS5 syntax can be injected. */
#include <cloister/search_engine.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse {
    struct search_engine_query *q;
    size_t sub;
    bool too_many;
};

static int add_term(const char *term, size_t len, void *arg)
{
    struct parse *p = arg;
    struct search_engine_query *q = p->q;
    size_t i = 0;
    while (i < q->nterms && !(strlen(q->terms[i]) == len && memcmp(q->terms[i], term, len) == 0))
        i++;
    if (i == q->nterms) {
        if (q->nterms == SEARCH_ENGINE_TERMS_MAX) {
            p->too_many = true;
            return 1;
        }
        if (!(q->terms[i] = strndup(term, len)))
            return CLOISTER_E_NO_MEMORY;
        q->nterms++;
    }
    q->sub_terms[p->sub][i / 64] |= 1ull << (i % 64);
    return 0;
}

static int build_match(struct search_engine_query *q)
{
    size_t n = 1;
    for (size_t i = 0; i < q->nterms; i++)
        n += strlen(q->terms[i]) + 6; /* "t" OR */
    if (!(q->match = malloc(n)))
        return CLOISTER_E_NO_MEMORY;
    char *w = q->match;
    for (size_t i = 0; i < q->nterms; i++)
        w += sprintf(w, "%s\"%s\"", i ? " OR " : "", q->terms[i]);
    *w = 0;
    return CLOISTER_OK;
}

int search_engine_query_parse(const char *text, size_t len, struct search_engine_query *q,
                              struct cloister_err *err)
{
    memset(q, 0, sizeof *q);
    if (len > SEARCH_ENGINE_QUERY_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "query over %d bytes",
                             SEARCH_ENGINE_QUERY_MAX);
    int n = search_split_or(text, len, q->subs, q->sub_lens, SEARCH_ENGINE_SUBS_MAX);
    if (n < 0)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "query of more than %d sub-queries",
                             SEARCH_ENGINE_SUBS_MAX);
    q->nsubs = (size_t)n;
    struct parse p = {q, 0, false};
    for (; p.sub < q->nsubs; p.sub++) {
        int rc = search_terms(q->subs[p.sub], q->sub_lens[p.sub], add_term, &p);
        if (p.too_many)
            return cloister_errf(err, CLOISTER_E_TOO_BIG, "query of more than %d distinct terms",
                                 SEARCH_ENGINE_TERMS_MAX);
        if (rc)
            return cloister_errf(err, rc, "out of memory");
    }
    if (q->nterms == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "query without a search term");
    if (build_match(q) != CLOISTER_OK)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    return CLOISTER_OK;
}

void search_engine_query_free(struct search_engine_query *q)
{
    for (size_t i = 0; i < q->nterms; i++)
        free(q->terms[i]);
    free(q->match);
    memset(q, 0, sizeof *q);
}
