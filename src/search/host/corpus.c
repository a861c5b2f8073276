/* corpus.c -- the engine's synthetic web corpus (search_corpus_build). Its vocabulary is the
 * query log's: every term occurrence of every query goes into one pool, so a uniform pick from
 * the pool draws words by their frequency in the log (its Zipf law carries over). A document is
 * about one topic, a query of the log drawn uniformly: its title is the topic's terms and a pool
 * word, its snippet the topic's terms among 12-27 pool words, its URL made of two pool words.
 * Everything is drawn from one SplitMix64 sequence (util/prng.h), so a log and a seed name one
 * corpus. The database is built beside the target and renamed over it once complete. */
#include <cloister/search_engine.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"
#include "util/prng.h"

struct pool {
    char *buf;
    size_t len, cap;
    size_t *at; /* offsets of the words in buf */
    size_t n, ncap;
};

static int pool_add(const char *term, size_t len, void *arg)
{
    struct pool *p = arg;
    if (p->len + len + 1 > p->cap) {
        size_t cap = (p->cap ? p->cap * 2 : 1 << 16) + len + 1;
        char *b = realloc(p->buf, cap);
        if (!b)
            return CLOISTER_E_NO_MEMORY;
        p->buf = b, p->cap = cap;
    }
    if (p->n == p->ncap) {
        size_t ncap = p->ncap ? p->ncap * 2 : 4096;
        size_t *a = realloc(p->at, ncap * sizeof *a);
        if (!a)
            return CLOISTER_E_NO_MEMORY;
        p->at = a, p->ncap = ncap;
    }
    p->at[p->n++] = p->len;
    memcpy(p->buf + p->len, term, len);
    p->buf[p->len += len] = 0;
    p->len++;
    return 0;
}

static const char *pool_pick(const struct pool *p, uint64_t *rng)
{
    return p->buf + p->at[prng_next(rng) % p->n];
}

/* Appends text to the string being built in *s (capacity cap), space-separated. */
static void append(char *s, size_t cap, const char *text)
{
    size_t n = strlen(s);
    snprintf(s + n, cap - n, "%s%s", n ? " " : "", text);
}

static int topic_term(const char *term, size_t len, void *arg)
{
    char *s = arg;
    size_t n = strlen(s);
    if (n + len + 2 < SEARCH_QUERY_MAX)
        snprintf(s + n, SEARCH_QUERY_MAX - n, "%s%.*s", n ? " " : "", (int)len, term);
    return 0;
}

static int insert_doc(sqlite3_stmt *st, const struct pool *p, const struct search_log *log,
                      size_t d, uint64_t *rng)
{
    char topic[SEARCH_QUERY_MAX] = "", title[2 * SEARCH_QUERY_MAX] = "";
    char snippet[4 * SEARCH_QUERY_MAX] = "", url[2 * SEARCH_QUERY_MAX];
    const char *q = log->q[prng_next(rng) % log->n].text;
    search_terms(q, strlen(q), topic_term, topic);
    append(title, sizeof title, topic);
    append(title, sizeof title, pool_pick(p, rng));
    size_t words = 12 + prng_next(rng) % 16, at = prng_next(rng) % words;
    for (size_t i = 0; i < words; i++)
        append(snippet, sizeof snippet, i == at ? topic : pool_pick(p, rng));
    const char *host = pool_pick(p, rng);
    snprintf(url, sizeof url, "https://www.%s-%s.example/%zu", host, pool_pick(p, rng), d);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, snippet, -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_DONE ? CLOISTER_OK : CLOISTER_E_FAILED;
}

static int fill(sqlite3 *db, const struct pool *p, const struct search_log *log,
                const struct search_corpus_options *o, struct cloister_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_exec(db,
                          "PRAGMA journal_mode=OFF; BEGIN;"
                          "CREATE VIRTUAL TABLE docs USING fts5(url UNINDEXED, title, snippet);",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO docs(url, title, snippet) VALUES (?, ?, ?)", -1,
                                &st, NULL);
    uint64_t rng = o->seed;
    for (size_t d = 0; rc == SQLITE_OK && d < o->docs; d++)
        if (insert_doc(st, p, log, d, &rng) != CLOISTER_OK)
            rc = SQLITE_ERROR;
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT; INSERT INTO docs(docs) VALUES('optimize');", NULL, NULL,
                          NULL);
    if (rc != SQLITE_OK)
        return cloister_errf(err, CLOISTER_E_FAILED, "building the corpus: %s", sqlite3_errmsg(db));
    return CLOISTER_OK;
}

int search_corpus_build(const struct search_log *log, const struct search_corpus_options *o,
                        const char *path, struct cloister_err *err)
{
    if (o->docs == 0 || o->docs > SEARCH_ENGINE_DOCS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "documents: between 1 and %d",
                             SEARCH_ENGINE_DOCS_MAX);
    struct pool p = {0};
    for (size_t i = 0; i < log->n; i++)
        if (search_terms(log->q[i].text, strlen(log->q[i].text), pool_add, &p)) {
            free(p.buf), free(p.at);
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        }
    if (p.n == 0) {
        free(p.buf), free(p.at);
        return cloister_errf(err, CLOISTER_E_INVALID, "the log has no search term");
    }
    struct file_atomic a;
    if (file_atomic_begin(&a, path, 0644) != 0) {
        free(p.buf), free(p.at);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot create", path);
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open(a.tmp, &db) == SQLITE_OK
                 ? fill(db, &p, log, o, err)
                 : cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot open", path);
    sqlite3_close(db);
    free(p.buf), free(p.at);
    if (rc == CLOISTER_OK && file_atomic_commit(&a) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot write", path);
    if (rc != CLOISTER_OK)
        file_atomic_abort(&a);
    return rc;
}
