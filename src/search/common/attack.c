/* attack.c -- SimAttack (Petit et al., JISA 2016), the re-identification attack every private
 * search system of the thesis is measured against.
 *
 * The attacker's knowledge is the training queries: each becomes a sorted array of term ids and
 * a posting in an inverted index (term -> training queries, in (user, time) order, so the
 * queries of one user are adjacent). sim(q, P_u) needs only the training queries sharing a term
 * with q: the others have Dice coefficient 0, sort first, and leave the fold at 0. So a query
 * costs the postings of its terms, not the whole log. */
#include "search/common/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/prng.h"

struct search_attack {
    struct search_dict dict;
    size_t nq;
    uint32_t *quser; /* AnonID of each training query */
    uint16_t *qlen;  /* its distinct terms */
    uint32_t *off;   /* postings of term t: post[off[t] .. off[t + 1]) */
    uint32_t *post;
};

void search_attack_free(search_attack *a)
{
    if (!a)
        return;
    search_dict_free(&a->dict);
    free(a->quser);
    free(a->qlen);
    free(a->off);
    free(a->post);
    free(a);
}

/* Interns every training query; ids[i] / nids[i] keep its terms for the postings pass. */
static int attack_index(search_attack *a, const struct search_log *train, uint32_t **ids,
                        uint16_t *nids)
{
    uint32_t buf[SEARCH_TERMS_MAX];
    size_t total = 0;
    for (size_t i = 0; i < train->n; i++) {
        const char *t = train->q[i].text;
        int n = search_query_ids(&a->dict, true, t, strlen(t), buf);
        if (n < 0)
            return CLOISTER_E_NO_MEMORY;
        ids[i] = malloc(((size_t)n + 1) * sizeof **ids);
        if (!ids[i])
            return CLOISTER_E_NO_MEMORY;
        memcpy(ids[i], buf, (size_t)n * sizeof *buf);
        nids[i] = (uint16_t)n;
        total += (size_t)n;
    }
    a->off = calloc(a->dict.n + 1, sizeof *a->off);
    a->post = malloc((total ? total : 1) * sizeof *a->post);
    if (!a->off || !a->post)
        return CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i < train->n; i++)
        for (size_t j = 0; j < nids[i]; j++)
            a->off[ids[i][j] + 1]++;
    for (size_t t = 0; t < a->dict.n; t++)
        a->off[t + 1] += a->off[t];
    uint32_t *fill = malloc((a->dict.n + 1) * sizeof *fill);
    if (!fill)
        return CLOISTER_E_NO_MEMORY;
    memcpy(fill, a->off, (a->dict.n + 1) * sizeof *fill);
    for (size_t i = 0; i < train->n; i++)
        for (size_t j = 0; j < nids[i]; j++)
            a->post[fill[ids[i][j]]++] = (uint32_t)i;
    free(fill);
    return CLOISTER_OK;
}

int search_attack_new(const struct search_log *train, search_attack **out, struct cloister_err *err)
{
    *out = NULL;
    if (train->n > UINT32_MAX - 1)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "more than 2^32 training queries");
    search_attack *a = calloc(1, sizeof *a);
    uint32_t **ids = calloc(train->n + 1, sizeof *ids);
    uint16_t *nids = calloc(train->n + 1, sizeof *nids);
    int rc = CLOISTER_E_NO_MEMORY;
    if (a && ids && nids) {
        a->nq = train->n;
        a->quser = malloc((train->n + 1) * sizeof *a->quser);
        a->qlen = nids;
        nids = NULL;
        if (a->quser) {
            for (size_t i = 0; i < train->n; i++)
                a->quser[i] = train->q[i].user;
            rc = attack_index(a, train, ids, a->qlen);
        }
    }
    for (size_t i = 0; ids && i < train->n; i++)
        free(ids[i]);
    free(ids);
    free(nids);
    if (rc) {
        search_attack_free(a);
        return cloister_errf(err, rc, "out of memory indexing %zu training queries", train->n);
    }
    *out = a;
    return CLOISTER_OK;
}

static int u32_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static int dbl_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* SimAttack's fold of one user's non-zero coefficients (sorted ascending here). */
static double sim_fold(double *coef, size_t n)
{
    qsort(coef, n, sizeof *coef, dbl_cmp);
    double sim = 0;
    for (size_t i = 0; i < n; i++)
        sim = SEARCH_SIM_ALPHA * coef[i] + (1 - SEARCH_SIM_ALPHA) * sim;
    return sim;
}

/* Best user for the term ids of q over the sorted postings hits[0..nh) (training query ids,
 * repeated once per shared term). */
static bool attack_best(const search_attack *a, size_t nterms, const uint32_t *hits, size_t nh,
                        double *coef, uint32_t *user, double *best)
{
    *best = 0;
    size_t i = 0;
    while (i < nh) {
        uint32_t u = a->quser[hits[i]];
        size_t nc = 0;
        while (i < nh && a->quser[hits[i]] == u) {
            uint32_t qi = hits[i];
            size_t shared = 0;
            while (i < nh && hits[i] == qi) {
                shared++;
                i++;
            }
            coef[nc++] = 2.0 * (double)shared / (double)(nterms + a->qlen[qi]);
        }
        double s = sim_fold(coef, nc);
        if (s > *best) {
            *best = s;
            *user = u;
        }
    }
    return *best > 0;
}

bool search_attack_attribute(const search_attack *a, const char *q, size_t len, uint32_t *user,
                             double *sim)
{
    uint32_t ids[SEARCH_TERMS_MAX];
    *sim = 0;
    int n = search_query_ids((struct search_dict *)&a->dict, false, q, len, ids);
    if (n <= 0)
        return false;
    size_t nh = 0;
    for (int j = 0; j < n; j++)
        if (ids[j] < a->dict.n)
            nh += a->off[ids[j] + 1] - a->off[ids[j]];
    if (nh == 0)
        return false;
    uint32_t *hits = malloc(nh * sizeof *hits);
    double *coef = malloc(nh * sizeof *coef);
    bool found = false;
    if (hits && coef) {
        size_t h = 0;
        for (int j = 0; j < n; j++)
            if (ids[j] < a->dict.n)
                for (uint32_t p = a->off[ids[j]]; p < a->off[ids[j] + 1]; p++)
                    hits[h++] = a->post[p];
        qsort(hits, nh, sizeof *hits, u32_cmp);
        found = attack_best(a, (size_t)n, hits, nh, coef, user, sim);
    }
    free(hits);
    free(coef);
    return found;
}

bool search_attack_attribute_or(const search_attack *a, const char *const *subs, const size_t *lens,
                                size_t n, size_t *which, uint32_t *user)
{
    double best = 0, second = 0;
    size_t answered = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        double s;
        if (!search_attack_attribute(a, subs[i], lens[i], &u, &s))
            continue;
        answered++;
        if (s > best) {
            second = best;
            best = s;
            *which = i;
            *user = u;
        } else if (s > second) {
            second = s;
        }
    }
    return answered == 1 || (answered > 1 && best - second > SEARCH_SIM_MARGIN);
}

static void result_rates(struct search_attack_result *r)
{
    r->reidentification = r->queries ? (double)r->correct / (double)r->queries : 0;
    r->recall = r->reidentification;
    r->precision = r->answered ? (double)r->correct / (double)r->answered : 0;
}

/* One test query obfuscated with k fakes from the pooled training queries and attacked. */
static void eval_one(const search_attack *a, const struct search_log *train,
                     const struct search_query *q, unsigned k, uint64_t *rng,
                     struct search_attack_result *r)
{
    const char *subs[SEARCH_K_MAX + 1];
    size_t lens[SEARCH_K_MAX + 1];
    size_t real = (size_t)(prng_next(rng) % (k + 1)), which = 0;
    for (size_t i = 0; i <= k; i++) {
        subs[i] = i == real ? q->text : train->q[prng_next(rng) % train->n].text;
        lens[i] = strlen(subs[i]);
    }
    uint32_t user;
    if (!search_attack_attribute_or(a, subs, lens, k + 1, &which, &user))
        return;
    r->answered++;
    if (which == real && user == q->user)
        r->correct++;
}

int search_attack_eval_k(const struct search_log *log, unsigned k, uint64_t seed,
                         struct search_attack_result *out, struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    out->k = k;
    if (k > SEARCH_K_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "k = %u: at most %d fakes", k, SEARCH_K_MAX);
    struct search_log train, test;
    if (search_log_split(log, &train, &test) != CLOISTER_OK)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory splitting the log");
    search_attack *a = NULL;
    int rc = train.n ? search_attack_new(&train, &a, err)
                     : cloister_errf(err, CLOISTER_E_INVALID, "no training queries in the log");
    uint64_t rng = seed;
    for (size_t i = 0; rc == CLOISTER_OK && i < test.n; i++) {
        out->queries++;
        eval_one(a, &train, &test.q[i], k, &rng, out);
    }
    result_rates(out);
    search_attack_free(a);
    free(train.q);
    free(test.q);
    return rc;
}
