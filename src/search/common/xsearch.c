/* xsearch.c -- X-Search's rules (search.h), pure code that its enclave runs: the history table H
 * (a ring of the last queries of all users: O(1) insert, O(1) uniform pick), Algorithm 1 (the
 * real query among k fakes drawn from H, OR-ed), the two result filters (Algorithm 2's word
 * counts, and the match-aware rule that trusts the engine's per-hit matched sub-queries) and the
 * stripping of tracking redirects from result URLs.
 *
 * Queries are kept and sent in their canonical form (their terms, lowercased, one space apart),
 * so a sub-query never holds " OR " and the engine, which reads terms the same way, finds the
 * same documents as for the text the user typed. */
#include <cloister/crypto.h>
#include <cloister/search.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct canon {
    char *out;
    size_t cap, len;
};

static int canon_term(const char *term, size_t len, void *arg)
{
    struct canon *c = arg;
    size_t need = len + (c->len ? 1 : 0);
    if (c->len + need >= c->cap)
        return 1; /* full: the terms that fit are the query */
    if (c->len)
        c->out[c->len++] = ' ';
    memcpy(c->out + c->len, term, len);
    c->len += len;
    return 0;
}

size_t search_canonical(const char *text, size_t len, char *out, size_t cap)
{
    struct canon c = {out, cap, 0};
    if (cap == 0)
        return 0;
    search_terms(text, len, canon_term, &c);
    out[c.len] = 0;
    return c.len;
}

int search_history_init_with(struct search_history *h, size_t cap, void *(*alloc)(size_t),
                             void (*release)(void *))
{
    memset(h, 0, sizeof *h);
    if (cap == 0 || cap > SIZE_MAX / sizeof *h->q)
        return CLOISTER_E_INVALID;
    if (!(h->q = alloc(cap * sizeof *h->q)))
        return CLOISTER_E_NO_MEMORY;
    memset(h->q, 0, cap * sizeof *h->q);
    h->cap = cap;
    h->alloc = alloc;
    h->release = release;
    return CLOISTER_OK;
}

int search_history_init(struct search_history *h, size_t cap)
{
    return search_history_init_with(h, cap, malloc, free);
}

void search_history_free(struct search_history *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->release(h->q[i]);
    if (h->q)
        h->release(h->q);
    memset(h, 0, sizeof *h);
}

int search_history_add(struct search_history *h, const char *q, size_t len)
{
    char *copy = h->alloc(len + 1);
    if (!copy)
        return CLOISTER_E_NO_MEMORY;
    memcpy(copy, q, len);
    copy[len] = 0;
    if (h->n < h->cap)
        h->n++;
    else
        h->release(h->q[h->next]);
    h->q[h->next] = copy;
    h->next = (h->next + 1) % h->cap;
    return CLOISTER_OK;
}

/* Uniform in [0, n): the 64-bit value's modulo bias is below 2^-40 for any n used here. */
static size_t below(uint64_t (*rnd)(void *), void *arg, size_t n)
{
    return (size_t)(rnd(arg) % n);
}

int search_obfuscate(struct search_history *h, const char *real, unsigned k,
                     uint64_t (*rnd)(void *), void *arg, char **out, unsigned *pos)
{
    if (h->n == 0)
        k = 0;
    size_t slot = below(rnd, arg, (size_t)k + 1), total = 0, seplen = strlen(SEARCH_OR);
    const char *parts[SEARCH_K_MAX + 1];
    for (size_t i = 0; i <= k; i++) {
        parts[i] = i == slot ? real : h->q[below(rnd, arg, h->n)];
        total += strlen(parts[i]) + (i ? seplen : 0);
    }
    char *s = malloc(total + 1), *p = s;
    if (!s)
        return CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i <= k; i++) {
        if (i) {
            memcpy(p, SEARCH_OR, seplen);
            p += seplen;
        }
        size_t n = strlen(parts[i]);
        memcpy(p, parts[i], n);
        p += n;
    }
    *p = 0;
    int rc = search_history_add(h, real, strlen(real));
    if (rc != CLOISTER_OK) {
        free(s);
        return rc;
    }
    *out = s;
    *pos = (unsigned)slot;
    return CLOISTER_OK;
}

/* Frees a string after wiping it: hits and queries are what X-Search's host must not keep. */
static void wipe_free(char *s)
{
    if (s)
        crypto_wipe(s, strlen(s));
    free(s);
}

void search_hit_clear_matched(struct search_hit *x)
{
    for (size_t j = 0; j < x->nmatched; j++)
        wipe_free(x->matched[j]);
    free(x->matched);
    x->matched = NULL;
    x->nmatched = 0;
}

void search_hit_clear(struct search_hit *x)
{
    wipe_free(x->url);
    wipe_free(x->title);
    wipe_free(x->snippet);
    search_hit_clear_matched(x);
    memset(x, 0, sizeof *x);
}

void search_hits_free(struct search_hits *h)
{
    for (size_t i = 0; i < h->n; i++)
        search_hit_clear(&h->v[i]);
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

/* Whether text holds term (as a whole term, case-insensitive, as search_terms reads it). */
struct find {
    const char *term;
    size_t len;
};

static int is_term(const char *t, size_t n, void *arg)
{
    const struct find *f = arg;
    return n == f->len && memcmp(t, f->term, n) == 0;
}

struct score {
    const char *title, *snippet;
    size_t points;
};

static int score_term(const char *term, size_t len, void *arg)
{
    struct score *s = arg;
    struct find f = {term, len};
    s->points += (size_t)search_terms(s->title, strlen(s->title), is_term, &f) +
                 (size_t)search_terms(s->snippet, strlen(s->snippet), is_term, &f);
    return 0;
}

static size_t words_score(const struct search_hit *hit, const char *sub, size_t len)
{
    struct score s = {hit->title, hit->snippet, 0};
    search_terms(sub, len, score_term, &s);
    return s.points;
}

bool search_filter_keep(enum search_filter f, const struct search_hit *hit, const char *const *subs,
                        const size_t *lens, size_t n, size_t real)
{
    if (f == SEARCH_FILTER_MATCH) {
        for (size_t i = 0; i < hit->nmatched; i++)
            if (strlen(hit->matched[i]) == lens[real] &&
                memcmp(hit->matched[i], subs[real], lens[real]) == 0)
                return true;
        return false;
    }
    if (f != SEARCH_FILTER_WORDS)
        return true;
    size_t mine = words_score(hit, subs[real], lens[real]);
    for (size_t i = 0; i < n; i++)
        if (i != real && words_score(hit, subs[i], lens[i]) > mine)
            return false;
    return true;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes the parameter value v (up to '&' or the end) into out (never longer). */
static size_t pct_decode(const char *v, char *out)
{
    size_t n = 0;
    for (; *v && *v != '&'; v++) {
        int hi, lo;
        if (*v == '%' && (hi = hexval(v[1])) >= 0 && (lo = hexval(v[2])) >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            v += 2;
        } else {
            out[n++] = *v == '+' ? ' ' : *v;
        }
    }
    out[n] = 0;
    return n;
}

void search_strip_redirect(char *url)
{
    static const char *const names[] = {"url=", "u=", "q=", "dest="};
    const char *query = strchr(url, '?');
    for (const char *p = query; p && *p; p = strchr(p + 1, '&')) {
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            size_t nl = strlen(names[i]);
            if (strncmp(p + 1, names[i], nl) != 0)
                continue;
            char *target = malloc(strlen(p + 1 + nl) + 1);
            if (!target)
                return;
            size_t n = pct_decode(p + 1 + nl, target);
            bool web = strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0;
            if (web && !memchr(target, 0, n))
                memmove(url, target, n + 1); /* decoding never lengthens: it fits */
            free(target);
            if (web)
                return;
        }
    }
}
