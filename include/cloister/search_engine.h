/* search_engine.h -- the testbed's local search engine (docs/search.md): a synthetic web corpus
 * (URL, title, snippet) built from a query log's vocabulary into an SQLite FTS5 database, and an
 * HTTP+JSON engine over it with BM25 ranking that logs every query it receives, as a curious
 * engine would. Library cloister_search_engine (it needs SQLite and libmicrohttpd), like
 * ibbe_serve.
 *
 * Queries. A query is sub-queries joined with " OR " (SEARCH_OR), as X-Search sends them; each
 * sub-query's terms are search_terms()'s. A document matches when it holds any query term; hits
 * are ranked by FTS5's BM25 over title and snippet. Each hit carries the query terms it holds and
 * the sub-queries all of whose terms it holds (what X-Search's match-aware filter needs).
 *
 * HTTP. GET /search?q=QUERY[&n=N] (N in 1..SEARCH_ENGINE_HITS_MAX, default 10) answers
 * {"query": Q, "hits": [{"url", "title", "snippet", "score", "terms": [...], "matched": [...]}]}
 * with hits best first (score = -bm25, higher is better). Errors are {"error": MSG} with 400
 * (bad or oversized query), 404 (other paths) or 405 (other methods).
 *
 * Query log. One JSON object per line, appended (one write per line) before the answer:
 * {"time": SECONDS, "client": "IP", "query": Q}; `search attack --engine-log` reads it. */
#ifndef CLOISTER_SEARCH_ENGINE_H
#define CLOISTER_SEARCH_ENGINE_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/search.h>

#include <stddef.h>
#include <stdint.h>

#define SEARCH_ENGINE_QUERY_MAX 16384 /* bytes of one (OR-ed) query */
#define SEARCH_ENGINE_SUBS_MAX 128    /* sub-queries of one query */
#define SEARCH_ENGINE_TERMS_MAX 256   /* distinct terms of one query */
#define SEARCH_ENGINE_HITS_MAX 100
#define SEARCH_ENGINE_DOCS_MAX 10000000

/* ---- queries ---- */

struct search_engine_query {
    size_t nsubs, nterms;
    const char *subs[SEARCH_ENGINE_SUBS_MAX]; /* into the text parsed */
    size_t sub_lens[SEARCH_ENGINE_SUBS_MAX];
    char *terms[SEARCH_ENGINE_TERMS_MAX]; /* distinct, lowercased, malloc'd */
    uint64_t sub_terms[SEARCH_ENGINE_SUBS_MAX][SEARCH_ENGINE_TERMS_MAX / 64]; /* bit per term */
    char *match; /* the FTS5 expression: "t1" OR "t2" ... (malloc'd) */
};
/* Parses q (not NUL-terminated); refuses an empty, oversized or over-long query with a message
 * saying which. Free with search_engine_query_free, even on error. */
CLOISTER_API int search_engine_query_parse(const char *q, size_t len,
                                           struct search_engine_query *out,
                                           struct cloister_err *err);
CLOISTER_API void search_engine_query_free(struct search_engine_query *q);

/* ---- the corpus ---- */

struct search_corpus_options {
    size_t docs;   /* documents */
    uint64_t seed; /* the same log and seed, the same corpus */
};
/* Builds the corpus database at path (replaced atomically: built aside, then renamed): each
 * document draws a topic query of the log and words of the log's vocabulary (by their frequency
 * in the log), so the log's queries find documents. */
CLOISTER_API int search_corpus_build(const struct search_log *log,
                                     const struct search_corpus_options *o, const char *path,
                                     struct cloister_err *err);

/* ---- the engine ---- */

typedef struct search_engine search_engine;
/* Serves corpus on listen (IPv4:PORT, port 0 for any), appending its queries to query_log
 * (NULL: none). */
CLOISTER_API int search_engine_start(const char *corpus, const char *listen, const char *query_log,
                                     search_engine **out, struct cloister_err *err);
/* SimAttack on an engine's query log (the JSON Lines above), the truth taken from log: a logged
 * query counts when one of its sub-queries is a test query of log (search_log_split); it is
 * re-identified when the attacker names a sub-query that is a test query of the user it names.
 * out->k is the most fakes seen in one query. */
CLOISTER_API int search_attack_eval_engine_log(const struct search_log *log, const char *engine_log,
                                               struct search_attack_result *out,
                                               struct cloister_err *err);

CLOISTER_API uint16_t search_engine_port(const search_engine *e);
CLOISTER_API void search_engine_stop(search_engine *e);

#endif
