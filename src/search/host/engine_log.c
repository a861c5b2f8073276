/* engine_log.c -- SimAttack on what an engine logged (search_attack_eval_engine_log). The query
 * log knows the truth: each user's test queries (the last third, search_log_split). A logged
 * query counts when one of its sub-queries is a test query (the real one; fakes come from the
 * training queries); it is re-identified when the attacker picks a sub-query that some user sent
 * as a test query and that user is the one it names. Logged queries with no test sub-query (the
 * engine's other traffic) are left out of the rates. */
#include <cloister/search_engine.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_text_user(const void *a, const void *b)
{
    const struct search_query *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->user > y->user) - (x->user < y->user);
}

/* Whether the sorted test queries hold text (of user, unless any_user). */
static bool sent(const struct search_log *test, const char *text, size_t len, uint32_t user,
                 bool any_user)
{
    char key[SEARCH_QUERY_MAX + 1];
    if (len > SEARCH_QUERY_MAX)
        return false;
    memcpy(key, text, len);
    key[len] = 0;
    size_t lo = 0, hi = test->n;
    while (lo < hi) { /* the first entry >= (key, any_user ? 0 : user) */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(test->q[mid].text, key);
        if (c < 0 || (c == 0 && !any_user && test->q[mid].user < user))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < test->n && strcmp(test->q[lo].text, key) == 0 &&
           (any_user || test->q[lo].user == user);
}

static void attack_one(const search_attack *a, const struct search_log *test, const char *q,
                       struct search_attack_result *r)
{
    const char *subs[SEARCH_ENGINE_SUBS_MAX];
    size_t lens[SEARCH_ENGINE_SUBS_MAX], which;
    uint32_t user;
    int n = search_split_or(q, strlen(q), subs, lens, SEARCH_ENGINE_SUBS_MAX);
    bool real = false;
    for (int i = 0; i < n && !real; i++)
        real = sent(test, subs[i], lens[i], 0, true);
    if (!real)
        return;
    r->queries++;
    if (n > 0 && (unsigned)n - 1 > r->k)
        r->k = (unsigned)n - 1;
    if (!search_attack_attribute_or(a, subs, lens, (size_t)n, &which, &user))
        return;
    r->answered++;
    r->correct += sent(test, subs[which], lens[which], user, false);
}

static int attack_lines(const search_attack *a, const struct search_log *test, FILE *f,
                        const char *path, struct search_attack_result *r, struct cloister_err *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = CLOISTER_OK;
    for (size_t no = 1; rc == CLOISTER_OK && (len = getline(&line, &cap, f)) >= 0; no++) {
        json_t *j = json_loadb(line, (size_t)len, 0, NULL);
        const char *q = json_string_value(json_object_get(j, "query"));
        if (q)
            attack_one(a, test, q, r);
        else
            rc = cloister_errf(err, CLOISTER_E_INVALID, "%s: line %zu: not a query log entry", path,
                               no);
        json_decref(j);
    }
    free(line);
    return rc;
}

int search_attack_eval_engine_log(const struct search_log *log, const char *engine_log,
                                  struct search_attack_result *out, struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(engine_log, "r");
    if (!f)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "%s: cannot open", engine_log);
    struct search_log train, test;
    search_attack *a = NULL;
    int rc = search_log_split(log, &train, &test);
    if (rc != CLOISTER_OK) {
        fclose(f);
        return cloister_errf(err, rc, "out of memory");
    }
    qsort(test.q, test.n, sizeof *test.q, by_text_user);
    rc = search_attack_new(&train, &a, err);
    if (rc == CLOISTER_OK)
        rc = attack_lines(a, &test, f, engine_log, out, err);
    if (rc == CLOISTER_OK && out->queries == 0)
        rc = cloister_errf(err, CLOISTER_E_INVALID,
                           "%s: no logged query holds a test query of the log", engine_log);
    if (rc == CLOISTER_OK) {
        out->reidentification = out->recall = (double)out->correct / (double)out->queries;
        out->precision = out->answered ? (double)out->correct / (double)out->answered : 0;
    }
    search_attack_free(a);
    free(train.q);
    free(test.q);
    fclose(f);
    return rc;
}
