/* test_search_engine.c -- `cloister search gen-corpus` and `search engine` as a user runs them:
 * the corpus is reproducible; the engine, started on 127.0.0.1 with the real binary, answers a
 * query with exactly the documents an independent BM25 (FTS5's formula: k1 = 1.2, b = 0.75,
 * IDF = ln((N - n + 0.5) / (n + 0.5)), document length over title and snippet) ranks first, with
 * their scores; an OR-ed query's hits carry the terms and the sub-queries they hold, as computed
 * here from the documents; bad requests get 400/404 with a message; every query is in the JSON
 * Lines log with the client's address; SIGTERM stops it cleanly. */
#include <cloister/search_engine.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cli_run.h"
#include "util/fileio.h"

static char dir[PATH_MAX];

/* ---- the oracle: the corpus read back, term counts per document ---- */

struct doc {
    char *url, *text; /* title and snippet */
    size_t len;       /* tokens */
};
static struct doc *docs;
static size_t ndocs;

static int count_token(const char *t, size_t n, void *arg)
{
    (void)t, (void)n;
    ++*(size_t *)arg;
    return 0;
}

static void load_corpus(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT url, title, snippet FROM docs", -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        docs = realloc(docs, (ndocs + 1) * sizeof *docs);
        struct doc *d = &docs[ndocs++];
        d->url = strdup((const char *)sqlite3_column_text(st, 0));
        size_t n = strlen((const char *)sqlite3_column_text(st, 1)) +
                   strlen((const char *)sqlite3_column_text(st, 2)) + 2;
        d->text = malloc(n);
        snprintf(d->text, n, "%s %s", sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
        d->len = 0;
        search_terms(d->text, strlen(d->text), count_token, &d->len); /* no stop words here */
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

struct tf {
    const char *term;
    size_t n;
};

static int count_term(const char *t, size_t n, void *arg)
{
    struct tf *f = arg;
    f->n += strlen(f->term) == n && memcmp(f->term, t, n) == 0;
    return 0;
}

static size_t tf(const struct doc *d, const char *term)
{
    struct tf f = {term, 0};
    search_terms(d->text, strlen(d->text), count_term, &f);
    return f.n;
}

static double idf[SEARCH_ENGINE_TERMS_MAX], avg_len;

/* The collection statistics of q's terms, once per query. */
static void bm25_prepare(const struct search_engine_query *q)
{
    avg_len = 0;
    for (size_t i = 0; i < ndocs; i++)
        avg_len += (double)docs[i].len / (double)ndocs;
    for (size_t t = 0; t < q->nterms; t++) {
        size_t with = 0;
        for (size_t i = 0; i < ndocs; i++)
            with += tf(&docs[i], q->terms[t]) > 0;
        idf[t] = log(((double)ndocs - (double)with + 0.5) / ((double)with + 0.5));
        if (idf[t] <= 0)
            idf[t] = 1e-6;
    }
}

static double bm25(const struct doc *d, const struct search_engine_query *q)
{
    double score = 0;
    for (size_t t = 0; t < q->nterms; t++) {
        double f = (double)tf(d, q->terms[t]);
        score += idf[t] * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * (double)d->len / avg_len));
    }
    return score;
}

static int by_score_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* ---- HTTP ---- */

static unsigned short port;

/* GET path over HTTP/1.0; the status, the body (caller frees). */
static unsigned http_get(const char *path, char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[8192];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while ((got = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)got;
    close(fd);
    buf[len] = 0;
    unsigned status = 0;
    sscanf(buf, "HTTP/1.%*d %u", &status);
    char *at = strstr(buf, "\r\n\r\n");
    assert_non_null(at);
    *body = strdup(at + 4);
    free(buf);
    return status;
}

static void url_encode(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 4 < cap; s++)
        n += (size_t)(*s == ' ' ? snprintf(out + n, cap - n, "+")
                                : snprintf(out + n, cap - n, "%%%02X", (unsigned char)*s));
    out[n] = 0;
}

static json_t *search(const char *q, unsigned n)
{
    char enc[4096], path[4200], *body;
    url_encode(q, enc, sizeof enc);
    snprintf(path, sizeof path, "/search?q=%s&n=%u", enc, n);
    assert_int_equal(http_get(path, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    free(body);
    return json_object_get(j, "hits") ? j : NULL;
}

static const struct doc *find_doc(const char *url)
{
    for (size_t i = 0; i < ndocs; i++)
        if (strcmp(docs[i].url, url) == 0)
            return &docs[i];
    fail_msg("hit %s is not in the corpus", url);
    return NULL;
}

/* The hits are the oracle's best n, with its scores, best first. */
static void check_ranking(const char *text, unsigned n)
{
    struct search_engine_query q;
    assert_int_equal(search_engine_query_parse(text, strlen(text), &q, NULL), 0);
    double *all = malloc(ndocs * sizeof *all);
    size_t matching = 0;
    bm25_prepare(&q);
    for (size_t i = 0; i < ndocs; i++) {
        double s = bm25(&docs[i], &q);
        if (s > 0)
            all[matching++] = s;
    }
    qsort(all, matching, sizeof *all, by_score_desc);
    json_t *j = search(text, n), *hits = json_object_get(j, "hits");
    size_t want = matching < n ? matching : n;
    assert_true(want > 0);
    assert_int_equal(json_array_size(hits), want);
    for (size_t i = 0; i < want; i++) {
        json_t *h = json_array_get(hits, i);
        const struct doc *d = find_doc(json_string_value(json_object_get(h, "url")));
        double score = json_real_value(json_object_get(h, "score"));
        assert_true(fabs(score - bm25(d, &q)) < 1e-6);
        assert_true(fabs(score - all[i]) < 1e-6);
    }
    free(all);
    json_decref(j);
    search_engine_query_free(&q);
}

/* Each hit's terms and matched sub-queries are those its document holds. */
static void check_matches(const char *text)
{
    struct search_engine_query q;
    assert_int_equal(search_engine_query_parse(text, strlen(text), &q, NULL), 0);
    json_t *j = search(text, 100), *h;
    size_t i, full = 0;
    json_array_foreach(json_object_get(j, "hits"), i, h)
    {
        const struct doc *d = find_doc(json_string_value(json_object_get(h, "url")));
        json_t *terms = json_object_get(h, "terms"), *matched = json_object_get(h, "matched");
        size_t held = 0, subs = 0;
        for (size_t t = 0; t < q.nterms; t++)
            held += tf(d, q.terms[t]) > 0;
        assert_int_equal(json_array_size(terms), held);
        for (size_t s = 0; s < q.nsubs; s++) {
            bool all = true;
            for (size_t t = 0; t < q.nterms; t++)
                if (q.sub_terms[s][t / 64] >> (t % 64) & 1)
                    all = all && tf(d, q.terms[t]) > 0;
            subs += all;
        }
        assert_int_equal(json_array_size(matched), subs);
        full += subs > 0;
    }
    assert_true(full > 0);
    json_decref(j);
    search_engine_query_free(&q);
}

/* The n-th best oracle score of a query alone (0 when fewer documents match). */
static double nth_score(const char *text, size_t len, unsigned n)
{
    struct search_engine_query q;
    assert_int_equal(search_engine_query_parse(text, len, &q, NULL), 0);
    double *all = malloc(ndocs * sizeof *all), nth = 0;
    size_t matching = 0;
    bm25_prepare(&q);
    for (size_t i = 0; i < ndocs; i++)
        if ((all[matching] = bm25(&docs[i], &q)) > 0)
            matching++;
    qsort(all, matching, sizeof *all, by_score_desc);
    nth = matching >= n ? all[n - 1] : 0;
    free(all);
    search_engine_query_free(&q);
    return nth;
}

/* each=N: a hit is ranked for a sub-query exactly when it is among that sub-query's own top N
 * (by the oracle's BM25 over its terms alone), and each sub-query ranks min(N, matching) hits. */
static void check_each(const char *text, unsigned each)
{
    char enc[4096], path[4200], *body;
    struct search_engine_query q;
    assert_int_equal(search_engine_query_parse(text, strlen(text), &q, NULL), 0);
    url_encode(text, enc, sizeof enc);
    snprintf(path, sizeof path, "/search?q=%s&each=%u", enc, each);
    assert_int_equal(http_get(path, &body), 200);
    json_t *j = json_loads(body, 0, NULL), *h, *r;
    free(body);
    for (size_t s = 0; s < q.nsubs; s++) {
        struct search_engine_query one;
        assert_int_equal(search_engine_query_parse(q.subs[s], q.sub_lens[s], &one, NULL), 0);
        bm25_prepare(&one);
        double nth = nth_score(q.subs[s], q.sub_lens[s], each);
        size_t i, k, ranked = 0, matching = 0;
        for (size_t d = 0; d < ndocs; d++)
            matching += bm25(&docs[d], &one) > 0;
        json_array_foreach(json_object_get(j, "hits"), i, h)
        {
            bool mine = false;
            json_array_foreach(json_object_get(h, "ranked"), k, r)
            {
                mine |= strlen(json_string_value(r)) == q.sub_lens[s] &&
                        memcmp(json_string_value(r), q.subs[s], q.sub_lens[s]) == 0;
            }
            double sc = bm25(find_doc(json_string_value(json_object_get(h, "url"))), &one);
            ranked += mine;
            if (mine)
                assert_true(sc > 0 && sc >= nth - 1e-6);
        }
        assert_int_equal(ranked, matching < each ? matching : each);
        search_engine_query_free(&one);
    }
    json_decref(j);
    search_engine_query_free(&q);
}

static void expect_error(const char *path, unsigned status, const char *want)
{
    char *body;
    assert_int_equal(http_get(path, &body), status);
    assert_non_null(strstr(body, want));
    free(body);
}

static void start_engine(void)
{
    assert_int_equal(cli_shell(dir, "$CLOISTER search engine --corpus c.db --listen "
                                    "127.0.0.1:0 --query-log q.jsonl >eng.txt 2>eng.err & "
                                    "echo $! >pid"),
                     0);
    for (int i = 0; i < 100 && !port; i++) {
        usleep(50000);
        char path[PATH_MAX + 16], line[256] = "";
        snprintf(path, sizeof path, "%s/eng.txt", dir);
        FILE *f = fopen(path, "r");
        if (f && fgets(line, sizeof line, f))
            sscanf(line, "search engine serving c.db on port %hu", &port);
        if (f)
            fclose(f);
    }
    assert_true(port != 0);
}

static void test_engine(void **state)
{
    (void)state;
    const char *home = getenv("CLOISTER_HOME");
    snprintf(dir, sizeof dir, "%s/search-engine", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(dir), 0);
    assert_int_equal(file_mkdirs(dir, 0700), 0);
    assert_int_equal(cli_run(dir, "search gen-log --users 3 --seed 2 --out a.tsv"), 0);
    assert_int_equal(cli_run(dir, "search gen-corpus --log a.tsv --docs 1500 --out c.db"), 0);
    assert_int_equal(cli_run(dir, "search gen-corpus --log a.tsv --docs 1500 --out d.db"), 0);
    assert_int_equal(cli_shell(dir, "cmp c.db d.db"), 0);
    assert_int_equal(cli_run(dir, "search gen-corpus --log missing.tsv --out e.db"), 1);
    cli_assert_error_line(dir, "missing.tsv");

    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/c.db", dir);
    load_corpus(path);
    assert_int_equal(ndocs, 1500);
    start_engine();

    /* two queries of the log (terms of several documents), alone and OR-ed */
    struct search_log log;
    snprintf(path, sizeof path, "%s/a.tsv", dir);
    assert_int_equal(search_log_read(path, &log, NULL), 0);
    const char *a = log.q[10].text, *b = log.q[log.n - 10].text;
    char or [3 * SEARCH_QUERY_MAX];
    snprintf(or, sizeof or, "%s OR %s OR nosuchterm", a, b);
    check_ranking(a, 10);
    for (size_t i = 0; i < log.n; i++)
        if (i + 1 == log.n || log.q[i + 1].user != log.q[i].user)
            json_decref(search(log.q[i].text, 1));
    check_ranking(or, 20);
    check_matches(or);
    check_each(or, 4);

    expect_error("/search?q=the+of", 400, "without a search term");
    expect_error("/search?q=x&n=101", 400, "n and each: between");
    expect_error("/search?q=x+OR+y&each=51", 400, "at most 100 hits");
    expect_error("/search", 400, "missing q");
    expect_error("/", 404, "no such path");

    assert_int_equal(cli_shell(dir, "kill -TERM $(cat pid); for i in $(seq 50); do "
                                    "kill -0 $(cat pid) 2>/dev/null || exit 0; sleep 0.1; done; "
                                    "exit 1"),
                     0);
    char *err = cli_slurp(dir, "eng.err", NULL), *qlog = cli_slurp(dir, "q.jsonl", NULL);
    assert_non_null(strstr(err, "stopping"));
    assert_non_null(strstr(qlog, "\"client\":\"127.0.0.1\""));
    json_t *first = json_loadb(qlog, strcspn(qlog, "\n"), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(first, "query")), a);
    json_decref(first);

    /* SimAttack on what the engine logged: the three users' last queries are test queries, the
     * others count only if they happen to be (a repeated query); "the of" never does */
    assert_int_equal(cli_run(dir, "search attack --log a.tsv --engine-log q.jsonl --json"), 0);
    char *out = cli_slurp(dir, "out.txt", NULL);
    json_t *r = json_loads(out, 0, NULL);
    json_int_t counted = json_integer_value(json_object_get(r, "queries"));
    assert_true(counted >= 3 && counted <= 7);
    assert_int_equal(json_integer_value(json_object_get(r, "k")), 2);
    double rate = json_real_value(json_object_get(r, "reidentification"));
    assert_true(rate >= 0 && rate <= 1);
    json_decref(r);
    free(out);
    assert_int_equal(cli_run(dir, "search attack --log a.tsv --engine-log q.jsonl --k 2"), 2);
    cli_spill_text(dir, "bad.jsonl", "{\"query\": \"x\"}\nnot json\n");
    assert_int_equal(cli_run(dir, "search attack --log a.tsv --engine-log bad.jsonl"), 1);
    cli_assert_error_line(dir, "line 2");
    free(err);
    free(qlog);
    search_log_free(&log);
    for (size_t i = 0; i < ndocs; i++)
        free(docs[i].url), free(docs[i].text);
    free(docs);
    assert_int_equal(file_remove_tree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_engine)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
