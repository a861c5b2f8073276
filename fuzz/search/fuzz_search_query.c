/* fuzz_search_query.c -- the engine's query parser (search_engine_query_parse), which reads
 * whatever a client sends. It must never crash; a parsed query must have distinct terms of ASCII
 * lowercase letters and digits only (so the FTS5 expression built from them cannot carry syntax),
 * every sub-query's term bits within the terms, and an expression that names exactly them. */
#include <cloister/search_engine.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

static void check_term(const char *t)
{
    if (!*t)
        abort();
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9')))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct search_engine_query q;
    if (search_engine_query_parse((const char *)data, size, &q, NULL) == CLOISTER_OK) {
        size_t quotes = 0;
        for (const char *m = q.match; *m; m++)
            quotes += *m == '"';
        if (q.nterms == 0 || quotes != 2 * q.nterms)
            abort();
        for (size_t i = 0; i < q.nterms; i++) {
            check_term(q.terms[i]);
            for (size_t j = 0; j < i; j++)
                if (strcmp(q.terms[i], q.terms[j]) == 0)
                    abort();
        }
        for (size_t s = 0; s < q.nsubs; s++)
            for (size_t t = q.nterms; t < SEARCH_ENGINE_TERMS_MAX; t++)
                if (q.sub_terms[s][t / 64] >> (t % 64) & 1)
                    abort();
    }
    search_engine_query_free(&q);
    return 0;
}
