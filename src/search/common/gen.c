/* gen.c -- a synthetic AOL-like query log, since the AOL log itself is not distributed.
 *
 * The model, calibrated so that SimAttack finds on it what it finds on the AOL100 (docs/search.md
 * gives the statistics side by side):
 *   vocabulary  VOCAB synthetic words (three consonant-vowel syllables), global popularity Zipf;
 *   topics      TOPICS interests, each a Zipf-ranked set of shared words; a user has 2 to 4;
 *   users       a private block of words of their own (names, places, ...), their topics, and the
 *               global words; each word of a new query comes from one of the three;
 *   habits      5 to 24 habitual queries per user (the AOL's navigational queries), Zipf-ranked,
 *               a share `habit` of their queries: they make the strong exact repeats that beat
 *               pooled fakes, which is what SimAttack's rates at k > 0 hinge on. A share
 *               `shared_habit` of them are popular queries many users repeat (a word of the
 *               POPULAR most frequent ones, like the AOL's "google" or "myspace"): drawn as
 *               fakes they are as strong as a user's own habit, yet as real queries they name
 *               no user apart, so they make the rate fall with k as steeply as on the AOL;
 *   queries     per user 863 + Exp(196), capped at 1,885 (the AOL100's min, mean and max); words
 *               per query from the AOL100 histogram, stop words sprinkled in; otherwise a query
 *               repeats one of the user's earlier ones with probability `repeat`, or is new;
 *               times uniform over 92 days.
 * The shares were fitted to SimAttack's AOL100 rates (0.41/0.17/0.09/0.03 at k = 0/1/3/7).
 * A labelled log (real_topics > 0) then redraws the words of a share of the topics from real
 * vocabularies given by the caller (Cyclosa: WordNet's sensitive and neutral nouns), with draws
 * made after every default one, and labels each query by the first labelled word it drew; word
 * ids past VOCAB name those real words.
 * Everything is drawn from one SplitMix64 sequence, so a seed names one log on every machine. */
#include "search/common/internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/prng.h"

#define VOCAB 43000u
#define SHARED 12000u      /* words [0, SHARED) are the global and topic words */
#define PRIVATE_BLOCK 300u /* words of a user's own block, after SHARED */
#define TOPICS 60u
#define TOPIC_WORDS 250u
#define POPULAR 50u /* the popular queries: the most frequent global words */
#define DAYS 92

struct gen_model {
    double zipf_global, zipf_topic, zipf_private;
    double p_private, p_topic; /* the rest: global words */
    double habit, shared_habit, repeat, stopword;
    unsigned habits_min, habits_span;
};

static const struct gen_model model = {
    .zipf_global = 0.9,
    .zipf_topic = 0.9,
    .zipf_private = 0.9,
    .p_private = 0.16,
    .p_topic = 0.5,
    .habit = 0.21,
    .shared_habit = 0.15,
    .repeat = 0.05,
    .habits_min = 5,
    .habits_span = 20,
    .stopword = 0.08,
};

/* Share of queries with 1..7 words and 8 (8 to 10) words: the AOL100's. */
static const double words_hist[9] = {0, .245, .245, .196, .138, .080, .045, .022, .028};

static const char *const fillers[] = {"the", "of", "in", "for", "and", "to", "on", "a"};

void search_gen_options_init(struct search_gen_options *o)
{
    o->users = 100;
    o->seed = 1;
    o->start = 1141171200; /* 2006-03-01 00:00:00 UTC */
    o->real_topics = 0;
    o->vocab = NULL;
    o->nvocab = 0;
    o->labels = NULL;
}

/* Zipf(s) over n ranks as a cumulative table. */
static double *zipf_cdf(size_t n, double s)
{
    double *c = malloc(n * sizeof *c), sum = 0;
    if (!c)
        return NULL;
    for (size_t r = 0; r < n; r++)
        c[r] = (sum += 1.0 / pow((double)(r + 1), s));
    for (size_t r = 0; r < n; r++)
        c[r] /= sum;
    return c;
}

/* A rank in [0, n) from the first n entries of a table (n may be below the table's size). */
static size_t zipf_draw(const double *cdf, size_t n, uint64_t *rng)
{
    double u = prng_uniform(rng) * cdf[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Word i of the vocabulary: a bijection of i onto three syllables out of 70, a fourth when that
 * spells a stop word. */
static void gen_word(uint32_t i, char out[12])
{
    static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
    uint32_t p = (uint32_t)(((uint64_t)i * 7919u + 12345u) % 343000u);
    for (int s = 0; s < 3; s++) {
        uint32_t syl = p % 70u;
        p /= 70u;
        out[2 * s] = cons[syl / 5];
        out[2 * s + 1] = vow[syl % 5];
    }
    out[6] = 0;
    if (search_is_stopword(out, 6))
        memcpy(out + 6, "ka", 3);
}

struct gen {
    uint64_t rng;
    double *cdf_global, *cdf_topic, *cdf_private, *cdf_habit;
    uint32_t *topic_words; /* TOPICS x TOPIC_WORDS word ids */
    char (*words)[12];
    uint32_t nreal;      /* topics [0, nreal) draw real words */
    const char **real;   /* real word id - VOCAB -> word */
    uint8_t *real_label; /* real word id - VOCAB -> its vocabulary's label */
    uint8_t *labels;     /* by query of the log */
    size_t cap_labels;
};

static void gen_free(struct gen *g)
{
    free(g->cdf_global);
    free(g->cdf_topic);
    free(g->cdf_private);
    free(g->cdf_habit);
    free(g->topic_words);
    free(g->words);
    free(g->real);
    free(g->real_label);
    free(g->labels);
}

static int gen_init(struct gen *g, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->rng = seed;
    g->cdf_global = zipf_cdf(SHARED, model.zipf_global);
    g->cdf_topic = zipf_cdf(TOPIC_WORDS, model.zipf_topic);
    g->cdf_private = zipf_cdf(PRIVATE_BLOCK, model.zipf_private);
    g->cdf_habit = zipf_cdf(32, 1.0);
    g->topic_words = malloc(TOPICS * TOPIC_WORDS * sizeof *g->topic_words);
    g->words = malloc(VOCAB * sizeof *g->words);
    if (!g->cdf_global || !g->cdf_topic || !g->cdf_private || !g->cdf_habit || !g->topic_words ||
        !g->words)
        return CLOISTER_E_NO_MEMORY;
    for (uint32_t i = 0; i < VOCAB; i++)
        gen_word(i, g->words[i]);
    for (size_t i = 0; i < TOPICS * TOPIC_WORDS; i++)
        g->topic_words[i] = (uint32_t)(prng_next(&g->rng) % SHARED);
    return CLOISTER_OK;
}

/* The real topics: topic t < nreal gets TOPIC_WORDS words drawn from vocab[t % nvocab]. */
static int gen_init_real(struct gen *g, const struct search_gen_options *o)
{
    g->nreal = (uint32_t)lround(o->real_topics * TOPICS);
    if (!g->nreal)
        return CLOISTER_OK;
    g->real = malloc(g->nreal * TOPIC_WORDS * sizeof *g->real);
    g->real_label = malloc(g->nreal * TOPIC_WORDS);
    if (!g->real || !g->real_label)
        return CLOISTER_E_NO_MEMORY;
    for (uint32_t i = 0; i < g->nreal * TOPIC_WORDS; i++) {
        const struct search_gen_vocab *v = &o->vocab[i / TOPIC_WORDS % o->nvocab];
        g->real[i] = v->words[prng_next(&g->rng) % v->n];
        g->real_label[i] = v->label;
        g->topic_words[i] = VOCAB + i;
    }
    return CLOISTER_OK;
}

static const char *gen_text(const struct gen *g, uint32_t id)
{
    return id < VOCAB ? g->words[id] : g->real[id - VOCAB];
}

static uint8_t gen_label(const struct gen *g, uint32_t id)
{
    return id < VOCAB ? 0 : g->real_label[id - VOCAB];
}

/* Records the label of the query just added to log (a labelled log only): the labels grow with
 * the log's own capacity. */
static int gen_record(struct gen *g, const struct search_log *log, uint8_t label)
{
    if (!g->nreal)
        return CLOISTER_OK;
    if (log->cap > g->cap_labels) {
        uint8_t *grown = realloc(g->labels, log->cap);
        if (!grown)
            return CLOISTER_E_NO_MEMORY;
        g->labels = grown;
        g->cap_labels = log->cap;
    }
    g->labels[log->n - 1] = label;
    return CLOISTER_OK;
}

struct gen_user {
    uint32_t topics[4];
    unsigned ntopics;
    uint32_t block; /* first word of the private block */
};

static uint32_t gen_pick_word(struct gen *g, const struct gen_user *u)
{
    double r = prng_uniform(&g->rng);
    if (r < model.p_private)
        return u->block + (uint32_t)zipf_draw(g->cdf_private, PRIVATE_BLOCK, &g->rng);
    if (r < model.p_private + model.p_topic) {
        uint32_t t = u->topics[prng_next(&g->rng) % u->ntopics];
        return g->topic_words[t * TOPIC_WORDS + zipf_draw(g->cdf_topic, TOPIC_WORDS, &g->rng)];
    }
    return (uint32_t)zipf_draw(g->cdf_global, SHARED, &g->rng);
}

static unsigned gen_length(struct gen *g)
{
    double r = prng_uniform(&g->rng), acc = 0;
    for (unsigned w = 1; w <= 7; w++)
        if (r < (acc += words_hist[w]))
            return w;
    return 8 + (unsigned)(prng_next(&g->rng) % 3);
}

/* A new query of user u into buf; *label gets its label. */
static size_t gen_query(struct gen *g, const struct gen_user *u, char *buf, size_t cap,
                        uint8_t *label)
{
    unsigned len = gen_length(g);
    size_t n = 0;
    *label = 0;
    for (unsigned w = 0; w < len; w++) {
        const char *word;
        uint8_t wlabel = 0;
        if (w > 0 && prng_uniform(&g->rng) < model.stopword) {
            word = fillers[prng_next(&g->rng) % 8];
        } else {
            uint32_t id = gen_pick_word(g, u);
            word = gen_text(g, id);
            wlabel = gen_label(g, id);
        }
        size_t wl = strlen(word);
        if (n + wl + 2 > cap)
            break;
        if (n)
            buf[n++] = ' ';
        memcpy(buf + n, word, wl);
        n += wl;
        *label = *label ? *label : wlabel;
    }
    buf[n] = 0;
    return n;
}

static int time_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int gen_user_log(struct gen *g, const struct search_gen_options *o, unsigned idx,
                        struct search_log *out)
{
    struct gen_user u = {.ntopics = 2 + (unsigned)(prng_next(&g->rng) % 3),
                         .block = SHARED + idx * PRIVATE_BLOCK % (VOCAB - SHARED)};
    for (unsigned t = 0; t < u.ntopics; t++)
        u.topics[t] = (uint32_t)(prng_next(&g->rng) % TOPICS);
    double extra = -196.0 * log(1.0 - prng_uniform(&g->rng));
    size_t n = 863 + (size_t)(extra < 1022 ? extra : 1022);
    int64_t *times = malloc(n * sizeof *times);
    if (!times)
        return CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i < n; i++)
        times[i] = o->start + (int64_t)(prng_next(&g->rng) % (DAYS * 86400ull));
    qsort(times, n, sizeof *times, time_cmp);
    uint32_t user = 100000u + idx * 7919u;
    size_t first = out->n;
    int rc = CLOISTER_OK;
    unsigned nh = model.habits_min + (unsigned)(prng_next(&g->rng) % model.habits_span);
    char habits[32][SEARCH_QUERY_MAX / 8];
    uint8_t habit_label[32], label;
    for (unsigned h = 0; h < nh; h++) {
        habit_label[h] = 0;
        if (prng_uniform(&g->rng) < model.shared_habit)
            memcpy(habits[h], g->words[zipf_draw(g->cdf_global, POPULAR, &g->rng)], 12);
        else
            gen_query(g, &u, habits[h], sizeof habits[h], &habit_label[h]);
    }
    for (size_t i = 0; i < n && rc == CLOISTER_OK; i++) {
        char buf[SEARCH_QUERY_MAX];
        double r = prng_uniform(&g->rng);
        if (r < model.habit) {
            size_t h = zipf_draw(g->cdf_habit, nh, &g->rng);
            rc = search_log_add(out, user, times[i], habits[h], strlen(habits[h]));
            label = habit_label[h];
        } else if (i > 0 && r < model.habit + model.repeat) {
            size_t old = first + prng_next(&g->rng) % i;
            rc = search_log_add(out, user, times[i], out->q[old].text, strlen(out->q[old].text));
            label = g->nreal ? g->labels[old] : 0;
        } else {
            size_t len = gen_query(g, &u, buf, sizeof buf, &label);
            rc = search_log_add(out, user, times[i], buf, len);
        }
        if (rc == CLOISTER_OK)
            rc = gen_record(g, out, label);
    }
    free(times);
    return rc;
}

int search_gen_log(const struct search_gen_options *o, struct search_log *out,
                   struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    if (o->users == 0 || o->users > (VOCAB - SHARED) / PRIVATE_BLOCK * 64)
        return cloister_errf(err, CLOISTER_E_INVALID, "users: between 1 and %u",
                             (VOCAB - SHARED) / PRIVATE_BLOCK * 64);
    bool labelled = o->real_topics > 0;
    if (labelled && (o->real_topics > 1 || !o->vocab || !o->nvocab || !o->labels))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "real topics: a share in (0, 1], vocabularies and a label array");
    for (size_t v = 0; labelled && v < o->nvocab; v++)
        if (!o->vocab[v].n)
            return cloister_errf(err, CLOISTER_E_INVALID, "real topics: vocabulary %zu is empty",
                                 v);
    struct gen g;
    int rc = gen_init(&g, o->seed);
    if (rc == CLOISTER_OK && labelled)
        rc = gen_init_real(&g, o);
    for (unsigned u = 0; rc == CLOISTER_OK && u < o->users; u++)
        rc = gen_user_log(&g, o, u, out);
    if (rc == CLOISTER_OK && labelled) {
        *o->labels = g.labels ? g.labels : malloc(1);
        g.labels = NULL;
        rc = *o->labels ? CLOISTER_OK : CLOISTER_E_NO_MEMORY;
    }
    gen_free(&g);
    if (rc) {
        search_log_free(out);
        return cloister_errf(err, rc, "out of memory generating the log");
    }
    return CLOISTER_OK;
}
