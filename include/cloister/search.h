/* search.h -- the private web search testbed: query logs in the AOL format, a synthetic AOL-like
 * log generator, SimAttack (Petit et al., JISA 2016), and the obfuscation and filtering rules of
 * X-Search (Middleware 2017). X-Search and Cyclosa are measured with it (docs/search.md).
 *
 * Text. A query is preprocessed as SimAttack does: lowercased, split on every character that is
 * not an ASCII letter or digit, stop words dropped, each term kept once (binary term vectors).
 * An obfuscated query is its sub-queries joined with " OR " (SEARCH_OR).
 *
 * Logs. The AOL format: a header line, then "AnonID\tQuery\tQueryTime\tItemRank\tClickURL" rows,
 * QueryTime as "YYYY-MM-DD HH:MM:SS" (UTC); the last two fields may be empty. AOL repeats a row
 * per click: consecutive rows of one user with the same query and time are one query. A log is
 * split per user by time: the first 2/3 of each user's queries train the attacker, the rest are
 * the test queries.
 *
 * SimAttack. sim(q, P_u) folds the Dice coefficients of q against every past query of user u,
 * sorted ascending, as sim = a*coef[i] + (1-a)*sim with a = 0.5; a query goes to the user of the
 * highest sim (none when it is 0). An OR-ed query: each sub-query is attributed; unattributed ones
 * are dropped; one left is the answer; otherwise the best (sub-query, user) pair is the answer
 * only when its sim beats the runner-up's by more than 0.01.
 *
 * Every function returns CLOISTER_OK or a negative CLOISTER_E_* code (error.h); objects are not
 * thread-safe unless said so (search_attack_* reads are: one attacker, many threads). */
#ifndef CLOISTER_SEARCH_H
#define CLOISTER_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cloister/error.h>
#include <cloister/export.h>

#define SEARCH_OR " OR "
#define SEARCH_QUERY_MAX 1024     /* bytes of one query (longer ones are refused or cut) */
#define SEARCH_SIM_ALPHA 0.5      /* SimAttack's smoothing factor */
#define SEARCH_SIM_MARGIN 0.01    /* an OR-ed query's best pair must beat the runner-up by this */
#define SEARCH_LOG_MAX (1u << 30) /* bytes of a log file read at once */
#define SEARCH_K_MAX 64           /* fake queries per real one */
#define SEARCH_HITS_MAX 100       /* results of one search */
#define SEARCH_URL_MAX 2048
#define SEARCH_TEXT_MAX 4096 /* bytes of a title or a snippet */

/* ---- query logs ---- */

struct search_query {
    uint32_t user; /* AnonID */
    int64_t time;  /* seconds since the epoch, UTC */
    char *text;    /* NUL-terminated, at most SEARCH_QUERY_MAX bytes, no tab or newline */
};

struct search_log {
    struct search_query *q; /* sorted by (user, time), stable */
    size_t n, cap;
};

/* Parses an AOL-format log (buf need not be NUL-terminated). Errors name the line. */
CLOISTER_API int search_log_parse(const char *buf, size_t len, struct search_log *out,
                                  struct cloister_err *err);
CLOISTER_API int search_log_read(const char *path, struct search_log *out,
                                 struct cloister_err *err);
/* Writes it atomically in the AOL format (empty ItemRank and ClickURL). */
CLOISTER_API int search_log_write(const char *path, const struct search_log *log,
                                  struct cloister_err *err);
CLOISTER_API int search_log_add(struct search_log *log, uint32_t user, int64_t time,
                                const char *text, size_t len);
CLOISTER_API void search_log_free(struct search_log *log);
/* Splits each user's queries by time: the first ceil(2n/3) train, the rest test. The parts
 * copy no text: they point into log, which must outlive them (free them with free(p->q)). */
CLOISTER_API int search_log_split(const struct search_log *log, struct search_log *train,
                                  struct search_log *test);

/* The statistics the AOL100 reference gives (docs/search.md), to compare logs side by side. */
struct search_log_stats {
    size_t users, queries;
    double per_user_min, per_user_median, per_user_mean, per_user_p90, per_user_max;
    double words_mean;
    double words_share[8];  /* queries of 1..7 words, then >= 8 (0 words count as 1) */
    double distinct_share;  /* distinct query texts over queries */
    size_t vocabulary;      /* distinct terms (search_terms) */
    double shared_terms;    /* terms used by more than one user */
    double repeated_median; /* per user, queries repeating an earlier one of theirs: median */
    double test_repeat;     /* test queries repeating a training query of their user */
};
CLOISTER_API int search_log_stats(const struct search_log *log, struct search_log_stats *s,
                                  struct cloister_err *err);

/* ---- the synthetic AOL-like log ---- */

/* Real words for some of the generator's topics, and the label their queries get. */
struct search_gen_vocab {
    const char *const *words; /* each one term: lowercase letters */
    size_t n;
    uint8_t label; /* 0: an unlabelled (neutral) vocabulary */
};

struct search_gen_options {
    unsigned users; /* 100: AOL100 */
    uint64_t seed;  /* the same seed, the same log on every machine */
    int64_t start;  /* first query time (2006-03-01 00:00:00 UTC) */
    /* A labelled log (not the default): a share real_topics of the interests draw their words
     * from vocab (interest t from vocab[t % nvocab]) instead of synthetic words, and *labels gets
     * each query's label (malloc'd, log order): the label of its first word drawn from a
     * labelled vocabulary, else 0. real_topics 0 (the default) gives the calibrated log. */
    double real_topics;
    const struct search_gen_vocab *vocab;
    size_t nvocab;
    uint8_t **labels;
};
CLOISTER_API void search_gen_options_init(struct search_gen_options *o);
/* Users with the query counts, words per query, Zipf vocabulary, personal interests, repeats and
 * sharing of the AOL100 statistics (docs/search.md gives both side by side). */
CLOISTER_API int search_gen_log(const struct search_gen_options *o, struct search_log *out,
                                struct cloister_err *err);

/* ---- text ---- */

CLOISTER_API bool search_is_stopword(const char *word, size_t len);
/* Calls fn on each term of text (stop words dropped; repeats kept), in order; stops early and
 * returns fn's non-zero value. */
CLOISTER_API int search_terms(const char *text, size_t len,
                              int (*fn)(const char *term, size_t len, void *arg), void *arg);
/* Splits an obfuscated query at SEARCH_OR into at most max sub-queries (pointers into text with
 * their lengths); returns the count, or -1 when there are more than max. */
CLOISTER_API int search_split_or(const char *text, size_t len, const char **subs, size_t *lens,
                                 size_t max);

/* ---- SimAttack ---- */

typedef struct search_attack search_attack;

/* The attacker's knowledge: the training queries (user profiles). */
CLOISTER_API int search_attack_new(const struct search_log *train, search_attack **out,
                                   struct cloister_err *err);
CLOISTER_API void search_attack_free(search_attack *a);
/* The user q is attributed to (false: none, sim 0). */
CLOISTER_API bool search_attack_attribute(const search_attack *a, const char *q, size_t len,
                                          uint32_t *user, double *sim);
/* The OR rule over n sub-queries: true with the chosen sub-query's index and user, false when
 * the attacker gives no answer. */
CLOISTER_API bool search_attack_attribute_or(const search_attack *a, const char *const *subs,
                                             const size_t *lens, size_t n, size_t *which,
                                             uint32_t *user);

struct search_attack_result {
    unsigned k;
    size_t queries;  /* original (test) queries */
    size_t answered; /* (sub-)query attributions the attacker made */
    size_t correct;  /* real queries attributed to their own user */
    double reidentification, precision, recall;
};

/* Splits log, obfuscates every test query as X-Search does (k fakes drawn uniformly from the
 * pooled training queries, the real one at a uniform position, OR-ed) and attacks. */
CLOISTER_API int search_attack_eval_k(const struct search_log *log, unsigned k, uint64_t seed,
                                      struct search_attack_result *out, struct cloister_err *err);

/* ---- X-Search's obfuscation and filtering (Middleware 2017), used inside its enclave ---- */

/* The canonical form of a query: its terms (search_terms) joined by one space, so that no
 * sub-query holds SEARCH_OR. Writes at most cap - 1 bytes and a NUL; returns the length, 0 when
 * the query has no term. */
CLOISTER_API size_t search_canonical(const char *text, size_t len, char *out, size_t cap);

/* The history table H: the last cap queries of all users, a ring (the oldest replaced), picked
 * uniformly in O(1). Its memory comes from alloc/release: malloc and free, or, in X-Search's
 * enclave, the enclave's EPC heap (tee_malloc, tee_free). */
struct search_history {
    char **q;
    size_t cap, n, next;
    void *(*alloc)(size_t);
    void (*release)(void *);
};
CLOISTER_API int search_history_init(struct search_history *h, size_t cap);
CLOISTER_API int search_history_init_with(struct search_history *h, size_t cap,
                                          void *(*alloc)(size_t), void (*release)(void *));
CLOISTER_API void search_history_free(struct search_history *h);
CLOISTER_API int search_history_add(struct search_history *h, const char *q, size_t len);

/* Algorithm 1: the real query at a uniform position among k + 1 slots, a query drawn uniformly
 * from h in each other slot, joined with SEARCH_OR (*out malloc'd, *pos the real one's slot);
 * then the real query is added to h. An empty h gives no fakes (k taken as 0). rnd returns
 * uniform 64-bit values (the enclave passes the OS CSPRNG). */
CLOISTER_API int search_obfuscate(struct search_history *h, const char *real, unsigned k,
                                  uint64_t (*rnd)(void *), void *arg, char **out, unsigned *pos);

enum search_filter {
    SEARCH_FILTER_NONE = 0,  /* every hit of the OR-ed query */
    SEARCH_FILTER_WORDS = 1, /* Algorithm 2: the real query's word count is the highest */
    SEARCH_FILTER_MATCH = 2, /* the engine says the hit holds every term of the real query */
};
#define SEARCH_FILTER_MAX SEARCH_FILTER_MATCH

/* A search result; matched: the sub-queries the engine says it holds all the terms of. */
struct search_hit {
    char *url, *title, *snippet;
    char **matched;
    size_t nmatched;
};
struct search_hits {
    struct search_hit *v;
    size_t n;
};
CLOISTER_API void search_hits_free(struct search_hits *h);
CLOISTER_API void search_hit_clear(struct search_hit *x); /* frees its strings, zeroes it */
CLOISTER_API void search_hit_clear_matched(struct search_hit *x);

/* Whether filter f keeps hit for the real sub-query subs[real] of n. */
CLOISTER_API bool search_filter_keep(enum search_filter f, const struct search_hit *hit,
                                     const char *const *subs, const size_t *lens, size_t n,
                                     size_t real);
/* The target of a tracking redirect (a url, u, q or dest parameter holding an http(s) URL,
 * percent-decoded) written over url in place; other URLs are left as they are. */
CLOISTER_API void search_strip_redirect(char *url);

#endif
