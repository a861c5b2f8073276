/* engine.c -- the local search engine (search_engine.h): libmicrohttpd with one internal polling
 * thread, which alone uses the SQLite connection and the query log, so neither needs a lock.
 * Requests are bounded before any work: the URL by MHD's per-connection memory, the query by
 * SEARCH_ENGINE_QUERY_MAX, its terms and sub-queries by the parser, the hits by
 * SEARCH_ENGINE_HITS_MAX; connections by a limit and a timeout. A hit's terms and matched
 * sub-queries are found by reading its title and snippet back with search_terms(), the same
 * tokenizer as the query's (FTS5's unicode61 agrees with it on ASCII letters and digits).
 *
 * With each=N an OR-ed query is answered the way X-Search's paper ran its engine (Bing, whose
 * OR did not take multi-word operands, so each sub-query was sent apart and the answers
 * merged), but in one request: each sub-query's own top N (BM25 over its terms alone), merged
 * rank by rank without duplicates, and each hit's `ranked` lists the sub-queries in whose top N
 * it is. The match-aware filter of X-Search keeps the hits ranked for the real sub-query: the
 * very answer the query alone gets. */
#include <cloister/search_engine.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "util/fileio.h"

#define ENGINE_CONNECTIONS 64
#define ENGINE_TIMEOUT_S 10
#define ENGINE_CONN_MEMORY (64 * 1024)

struct search_engine {
    struct MHD_Daemon *d;
    sqlite3 *db;
    sqlite3_stmt *search;
    int log_fd; /* -1: no query log */
    uint16_t port;
};

static void client_ip(struct MHD_Connection *c, char *ip, size_t cap)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(ip, cap, "?");
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, ip,
                  (socklen_t)cap);
}

/* One write per line, so that a crash leaves at most the last line cut. */
static void log_query(struct search_engine *e, struct MHD_Connection *c, const char *q)
{
    if (e->log_fd < 0)
        return;
    char ip[INET_ADDRSTRLEN];
    client_ip(c, ip, sizeof ip);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    json_t *j = json_pack("{s:f,s:s,s:s}", "time", (double)now.tv_sec + now.tv_nsec / 1e9, "client",
                          ip, "query", q);
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!line)
        return;
    size_t n = strlen(line);
    line[n] = '\n'; /* over the NUL: written by length */
    if (file_write_full(e->log_fd, (const uint8_t *)line, n + 1) != 0)
        fprintf(stderr, "search engine: query log write failed: %s\n", strerror(errno));
    free(line);
}

struct doc_terms {
    const struct search_engine_query *q;
    uint64_t has[SEARCH_ENGINE_TERMS_MAX / 64];
};

static int mark_term(const char *term, size_t len, void *arg)
{
    struct doc_terms *d = arg;
    for (size_t i = 0; i < d->q->nterms; i++)
        if (strlen(d->q->terms[i]) == len && memcmp(d->q->terms[i], term, len) == 0)
            d->has[i / 64] |= 1ull << (i % 64);
    return 0;
}

static bool holds_all(const uint64_t *has, const uint64_t *want)
{
    for (size_t w = 0; w < SEARCH_ENGINE_TERMS_MAX / 64; w++)
        if ((want[w] & has[w]) != want[w])
            return false;
    return true;
}

static json_t *hit_json(const struct search_engine_query *q, sqlite3_stmt *st)
{
    const char *title = (const char *)sqlite3_column_text(st, 1);
    const char *snippet = (const char *)sqlite3_column_text(st, 2);
    struct doc_terms d = {q, {0}};
    search_terms(title, strlen(title), mark_term, &d);
    search_terms(snippet, strlen(snippet), mark_term, &d);
    json_t *terms = json_array(), *matched = json_array();
    for (size_t i = 0; i < q->nterms; i++)
        if (d.has[i / 64] >> (i % 64) & 1)
            json_array_append_new(terms, json_string(q->terms[i]));
    for (size_t s = 0; s < q->nsubs; s++)
        if (holds_all(d.has, q->sub_terms[s]))
            json_array_append_new(matched, json_stringn(q->subs[s], q->sub_lens[s]));
    return json_pack("{s:s,s:s,s:s,s:f,s:o,s:o}", "url", (const char *)sqlite3_column_text(st, 0),
                     "title", title, "snippet", snippet, "score", -sqlite3_column_double(st, 3),
                     "terms", terms, "matched", matched);
}

/* The FTS5 expression of sub-query s's terms alone (malloc'd). */
static char *sub_match(const struct search_engine_query *q, size_t s)
{
    size_t n = 1;
    for (size_t i = 0; i < q->nterms; i++)
        n += strlen(q->terms[i]) + 6;
    char *m = malloc(n), *w = m;
    for (size_t i = 0; m && i < q->nterms; i++)
        if (q->sub_terms[s][i / 64] >> (i % 64) & 1)
            w += sprintf(w, "%s\"%s\"", w > m ? " OR " : "", q->terms[i]);
    if (m)
        *w = 0;
    return m;
}

/* The hits of match (at most n) appended to out; -1 when SQLite failed. */
static int run(struct search_engine *e, const struct search_engine_query *q, const char *match,
               long n, json_t *out)
{
    int rc;
    sqlite3_reset(e->search);
    sqlite3_bind_text(e->search, 1, match, -1, SQLITE_STATIC);
    sqlite3_bind_int64(e->search, 2, n);
    while ((rc = sqlite3_step(e->search)) == SQLITE_ROW)
        json_array_append_new(out, hit_json(q, e->search));
    sqlite3_reset(e->search);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The hit of hits with url's URL, or NULL. */
static json_t *find_url(json_t *hits, json_t *url)
{
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        if (json_equal(json_object_get(h, "url"), url))
            return h;
    }
    return NULL;
}

/* each=N: every sub-query's top N, merged rank by rank, with the sub-queries that rank each. */
static int run_each(struct search_engine *e, const struct search_engine_query *q, long each,
                    json_t *out)
{
    json_t *lists[SEARCH_ENGINE_SUBS_MAX] = {0};
    int rc = 0;
    for (size_t s = 0; s < q->nsubs && rc == 0; s++) {
        char *m = sub_match(q, s);
        lists[s] = json_array();
        if (!m || !lists[s])
            rc = -1;
        else if (*m) /* a sub-query of stop words only finds nothing */
            rc = run(e, q, m, each, lists[s]);
        free(m);
    }
    for (long r = 0; r < each && rc == 0; r++)
        for (size_t s = 0; s < q->nsubs; s++) {
            json_t *h = json_array_get(lists[s], (size_t)r);
            if (!h)
                continue;
            json_t *seen = find_url(out, json_object_get(h, "url"));
            if (!seen) {
                json_object_set_new(h, "ranked", json_array());
                json_array_append(out, h);
                seen = h;
            }
            json_array_append_new(json_object_get(seen, "ranked"),
                                  json_stringn(q->subs[s], q->sub_lens[s]));
        }
    for (size_t s = 0; s < q->nsubs; s++)
        json_decref(lists[s]);
    return rc;
}

/* each > 0: each=N mode (see the top); else the top n of the whole OR-ed query. */
static char *search(struct search_engine *e, const char *text, long n, long each, unsigned *status)
{
    struct search_engine_query q;
    struct cloister_err err;
    if (search_engine_query_parse(text, strlen(text), &q, &err) != CLOISTER_OK) {
        search_engine_query_free(&q);
        *status = MHD_HTTP_BAD_REQUEST;
        return http_error_json(err.msg);
    }
    if (each > 0 && (size_t)each * q.nsubs > SEARCH_ENGINE_HITS_MAX) {
        search_engine_query_free(&q);
        *status = MHD_HTTP_BAD_REQUEST;
        return http_error_json("each times the sub-queries: at most 100 hits");
    }
    json_t *hits = json_array();
    int rc = each > 0 ? run_each(e, &q, each, hits) : run(e, &q, q.match, n, hits);
    search_engine_query_free(&q);
    if (rc != 0) {
        json_decref(hits);
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return http_error_json("the corpus could not be searched");
    }
    json_t *j = json_pack("{s:s,s:o}", "query", text, "hits", hits);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    *status = MHD_HTTP_OK;
    return s;
}

/* A count parameter: absent gives def; -1 when not 1..SEARCH_ENGINE_HITS_MAX. */
static long count_arg(struct MHD_Connection *c, const char *name, long def)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : def;
    return v && (*v == 0 || *end || n < 1 || n > SEARCH_ENGINE_HITS_MAX) ? -1 : n;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    struct search_engine *e = cls;
    if (strcmp(url, "/search") != 0)
        return http_reply(c, MHD_HTTP_NOT_FOUND,
                          http_error_json("no such path (GET /search?q=QUERY)"), NULL);
    if (strcmp(method, "GET") != 0)
        return http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, http_error_json("only GET /search"),
                          NULL);
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
    if (!q)
        return http_reply(c, MHD_HTTP_BAD_REQUEST,
                          http_error_json("missing q (GET /search?q=QUERY)"), NULL);
    long n = count_arg(c, "n", 10), each = count_arg(c, "each", 0);
    if (n < 0 || each < 0)
        return http_reply(c, MHD_HTTP_BAD_REQUEST, http_error_json("n and each: between 1 and 100"),
                          NULL);
    log_query(e, c, q);
    unsigned status;
    char *body = search(e, q, n, each, &status);
    return http_reply(c, status, body, NULL);
}

static int open_corpus(struct search_engine *e, const char *corpus, struct cloister_err *err)
{
    if (sqlite3_open_v2(corpus, &e->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "%s: cannot open", corpus);
    if (sqlite3_prepare_v2(e->db,
                           "SELECT url, title, snippet, bm25(docs) FROM docs WHERE docs MATCH ? "
                           "ORDER BY bm25(docs) LIMIT ?",
                           -1, &e->search, NULL) != SQLITE_OK)
        return cloister_errf(err, CLOISTER_E_INVALID, "%s: not a corpus (search gen-corpus)",
                             corpus);
    return CLOISTER_OK;
}

/* IPv4:PORT into sa. */
static bool parse_listen(const char *listen, struct sockaddr_in *sa)
{
    char ip[INET_ADDRSTRLEN];
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1] || (size_t)(colon - listen) >= sizeof ip)
        return false;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    memcpy(ip, listen, (size_t)(colon - listen));
    ip[colon - listen] = 0;
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    return !*end && port <= 65535 && inet_pton(AF_INET, ip, &sa->sin_addr) == 1;
}

static int listen_on(struct search_engine *e, const char *listen, struct cloister_err *err)
{
    struct sockaddr_in sa = {0};
    if (!parse_listen(listen, &sa))
        return cloister_errf(err, CLOISTER_E_INVALID, "%s: not IPv4:PORT", listen);
    uint16_t port = ntohs(sa.sin_port);
    e->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, handle, e,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)ENGINE_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ENGINE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)ENGINE_CONN_MEMORY, MHD_OPTION_END);
    if (!e->d)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot listen on %s", listen);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_BIND_PORT);
    e->port = di ? di->port : port;
    return CLOISTER_OK;
}

int search_engine_start(const char *corpus, const char *listen, const char *query_log,
                        search_engine **out, struct cloister_err *err)
{
    struct search_engine *e = calloc(1, sizeof *e);
    if (!e)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    e->log_fd = -1;
    int rc = open_corpus(e, corpus, err);
    if (rc == CLOISTER_OK && query_log &&
        (e->log_fd = open(query_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot open the query log", query_log);
    if (rc == CLOISTER_OK)
        rc = listen_on(e, listen, err);
    if (rc != CLOISTER_OK) {
        search_engine_stop(e);
        return rc;
    }
    *out = e;
    return CLOISTER_OK;
}

uint16_t search_engine_port(const search_engine *e)
{
    return e->port;
}

void search_engine_stop(search_engine *e)
{
    if (!e)
        return;
    if (e->d)
        MHD_stop_daemon(e->d);
    sqlite3_finalize(e->search);
    sqlite3_close(e->db);
    if (e->log_fd >= 0)
        close(e->log_fd);
    free(e);
}
