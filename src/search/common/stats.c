/* stats.c -- the statistics of a query log that the AOL100 reference gives (search.h), so that
 * a synthetic log and a real one can be compared side by side: queries per user, words per
 * query, distinct queries, vocabulary and its sharing between users, repeats. Queries and
 * (user, query) pairs are interned in the term dictionary (any byte string is a key). */
#include "search/common/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct term_users {
    uint32_t *first; /* by term id: the first user + 1 */
    bool *shared;
    size_t cap;
};

struct term_ctx {
    struct search_dict *d;
    struct term_users *u;
    uint32_t user;
    bool oom;
};

static int note_term(const char *t, size_t len, void *arg)
{
    struct term_ctx *c = arg;
    int64_t id = search_dict_intern(c->d, t, len);
    if (id < 0)
        return c->oom = true;
    if ((size_t)id >= c->u->cap) {
        size_t cap = c->u->cap ? 2 * c->u->cap : 4096;
        uint32_t *f = realloc(c->u->first, cap * sizeof *f);
        bool *s = f ? realloc(c->u->shared, cap * sizeof *s) : NULL;
        if (f)
            c->u->first = f;
        if (!s)
            return c->oom = true;
        c->u->shared = s;
        memset(f + c->u->cap, 0, (cap - c->u->cap) * sizeof *f);
        memset(s + c->u->cap, 0, (cap - c->u->cap) * sizeof *s);
        c->u->cap = cap;
    }
    if (!c->u->first[id])
        c->u->first[id] = c->user + 1;
    else if (c->u->first[id] != c->user + 1)
        c->u->shared[id] = true;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double search_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static unsigned words_of(const char *q)
{
    unsigned n = 0;
    for (const char *p = q; *p; p++)
        n += *p != ' ' && (p == q || p[-1] == ' ');
    return n;
}

/* "user\tquery" (a key of the dictionary). */
static size_t pair_key(const struct search_query *q, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%u\t%s", (unsigned)q->user, q->text);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Per user: the share of queries repeating an earlier one of theirs (pairs seen before). */
static int per_user(const struct search_log *log, struct search_log_stats *s, double *counts,
                    double *repeats, struct search_dict *pairs)
{
    char key[SEARCH_QUERY_MAX + 16];
    size_t users = 0;
    for (size_t i = 0; i < log->n; i++) {
        if (i == 0 || log->q[i].user != log->q[i - 1].user)
            counts[users++] = 0, repeats[users - 1] = 0;
        size_t len = pair_key(&log->q[i], key, sizeof key), before = pairs->n;
        if (search_dict_intern(pairs, key, len) < 0)
            return CLOISTER_E_NO_MEMORY;
        counts[users - 1]++;
        repeats[users - 1] += pairs->n == before;
    }
    s->users = users;
    for (size_t u = 0; u < users; u++)
        repeats[u] /= counts[u];
    s->repeated_median = search_median(repeats, users);
    double total = 0;
    for (size_t u = 0; u < users; u++)
        total += counts[u];
    s->per_user_mean = total / (double)users;
    s->per_user_median = search_median(counts, users); /* sorts counts */
    s->per_user_min = counts[0];
    s->per_user_max = counts[users - 1];
    s->per_user_p90 = counts[(size_t)(0.9 * (double)(users - 1))];
    return CLOISTER_OK;
}

/* Test queries that repeat a training query of their own user exactly. */
static int test_repeats(const struct search_log *log, double *share)
{
    struct search_log train, test;
    struct search_dict seen = {0};
    char key[SEARCH_QUERY_MAX + 16];
    int rc = search_log_split(log, &train, &test);
    for (size_t i = 0; rc == CLOISTER_OK && i < train.n; i++)
        if (search_dict_intern(&seen, key, pair_key(&train.q[i], key, sizeof key)) < 0)
            rc = CLOISTER_E_NO_MEMORY;
    size_t hits = 0;
    for (size_t i = 0; rc == CLOISTER_OK && i < test.n; i++)
        hits += search_dict_find(&seen, key, pair_key(&test.q[i], key, sizeof key)) >= 0;
    *share = test.n ? (double)hits / (double)test.n : 0;
    search_dict_free(&seen);
    free(train.q);
    free(test.q);
    return rc;
}

int search_log_stats(const struct search_log *log, struct search_log_stats *s,
                     struct cloister_err *err)
{
    memset(s, 0, sizeof *s);
    if (log->n == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "the log has no query");
    struct search_dict terms = {0}, texts = {0}, pairs = {0};
    struct term_users tu = {0};
    double *counts = malloc(log->n * sizeof *counts), *repeats = malloc(log->n * sizeof *repeats);
    int rc = counts && repeats ? CLOISTER_OK : CLOISTER_E_NO_MEMORY;
    double words = 0;
    for (size_t i = 0; rc == CLOISTER_OK && i < log->n; i++) {
        const struct search_query *q = &log->q[i];
        unsigned w = words_of(q->text);
        struct term_ctx c = {&terms, &tu, q->user, false};
        words += w;
        s->words_share[w == 0 ? 0 : w >= 8 ? 7 : w - 1]++;
        search_terms(q->text, strlen(q->text), note_term, &c);
        if (c.oom || search_dict_intern(&texts, q->text, strlen(q->text)) < 0)
            rc = CLOISTER_E_NO_MEMORY;
    }
    if (rc == CLOISTER_OK)
        rc = per_user(log, s, counts, repeats, &pairs);
    if (rc == CLOISTER_OK)
        rc = test_repeats(log, &s->test_repeat);
    if (rc == CLOISTER_OK) {
        s->queries = log->n;
        s->words_mean = words / (double)log->n;
        for (size_t i = 0; i < 8; i++)
            s->words_share[i] /= (double)log->n;
        s->distinct_share = (double)texts.n / (double)log->n;
        s->vocabulary = terms.n;
        size_t shared = 0;
        for (size_t i = 0; i < terms.n; i++)
            shared += tu.shared[i];
        s->shared_terms = terms.n ? (double)shared / (double)terms.n : 0;
    }
    free(counts);
    free(repeats);
    free(tu.first);
    free(tu.shared);
    search_dict_free(&terms);
    search_dict_free(&texts);
    search_dict_free(&pairs);
    return rc == CLOISTER_OK ? rc : cloister_errf(err, rc, "out of memory");
}
