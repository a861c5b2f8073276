/* sensitivity.c -- Cyclosa's sensitivity analysis (cyclosa.h): the sensitive-topic dictionary
 * built from WordNet, and the adaptive number of fakes.
 *
 * The dictionary is one term dictionary (search/common) with a topic per entry. It is built once:
 * every seed synset's hyponym closure is walked in data.noun (a visited bitmap over byte offsets,
 * since offsets are positions in the file), each word normalised as a query's terms read
 * (wn_normalise); then every inflected form in noun.exc whose base is in the dictionary is added
 * under the base's topic, so lookups need only the regular suffix rules. A query is checked term
 * by term, longest expression first (three, two, then one adjacent terms joined by '_').
 * Last, what measures the test against labels: the real vocabularies a labelled synthetic log
 * draws from (search_gen_log), and precision and recall. */
#include <cloister/cyclosa.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cyclosa/client/wordnet.h"
#include "search/common/internal.h"
#include "util/fileio.h"

#define WORDNET_FILE_MAX ((size_t)64 << 20)
#define NGRAM_MAX 3

struct cyclosa_sens {
    struct search_dict words;
    uint8_t *topic; /* by word id */
    size_t topic_cap;
    size_t size[CYCLOSA_TOPICS];
};

/* The seed synsets, as (lemma, WordNet 3.0 sense number): the senses that name each topic's
 * concepts, so that their hyponyms are the topic's vocabulary. */
static const struct {
    enum cyclosa_topic topic;
    const char *lemma;
    unsigned sense;
} seeds[] = {
    {CYCLOSA_TOPIC_HEALTH, "disease", 1},
    {CYCLOSA_TOPIC_HEALTH, "illness", 1},
    {CYCLOSA_TOPIC_HEALTH, "medicine", 2},
    {CYCLOSA_TOPIC_HEALTH, "drug", 1},
    {CYCLOSA_TOPIC_HEALTH, "medical_care", 1},
    {CYCLOSA_TOPIC_HEALTH, "medical_procedure", 1},
    {CYCLOSA_TOPIC_HEALTH, "symptom", 1},
    {CYCLOSA_TOPIC_HEALTH, "injury", 1},
    {CYCLOSA_TOPIC_HEALTH, "mental_illness", 1},
    {CYCLOSA_TOPIC_HEALTH, "pregnancy", 1},
    {CYCLOSA_TOPIC_HEALTH, "abortion", 1},
    {CYCLOSA_TOPIC_HEALTH, "virus", 1},
    {CYCLOSA_TOPIC_RELIGION, "religion", 1},
    {CYCLOSA_TOPIC_RELIGION, "religion", 2},
    {CYCLOSA_TOPIC_RELIGION, "deity", 1},
    {CYCLOSA_TOPIC_RELIGION, "religious_person", 1},
    {CYCLOSA_TOPIC_RELIGION, "clergyman", 1},
    {CYCLOSA_TOPIC_SEXUALITY, "sexuality", 1},
    {CYCLOSA_TOPIC_SEXUALITY, "sex", 1},
    {CYCLOSA_TOPIC_SEXUALITY, "sex", 3},
    {CYCLOSA_TOPIC_SEXUALITY, "homosexuality", 1},
    {CYCLOSA_TOPIC_SEXUALITY, "homosexual", 1},
    {CYCLOSA_TOPIC_SEXUALITY, "contraception", 1},
    {CYCLOSA_TOPIC_POLITICS, "politics", 1},
    {CYCLOSA_TOPIC_POLITICS, "politics", 3},
    {CYCLOSA_TOPIC_POLITICS, "political_party", 1},
    {CYCLOSA_TOPIC_POLITICS, "politician", 1},
    {CYCLOSA_TOPIC_POLITICS, "politician", 2},
    {CYCLOSA_TOPIC_POLITICS, "legislature", 1},
    {CYCLOSA_TOPIC_POLITICS, "election", 1},
    {CYCLOSA_TOPIC_POLITICS, "vote", 1},
    {CYCLOSA_TOPIC_POLITICS, "government", 1},
    {CYCLOSA_TOPIC_POLITICS, "political_orientation", 1},
};

/* WordNet's noun detachment rules (morphy(7WN)): suffix, replacement. */
static const char *const noun_rules[][2] = {{"s", ""},      {"ses", "s"},   {"xes", "x"},
                                            {"zes", "z"},   {"ches", "ch"}, {"shes", "sh"},
                                            {"men", "man"}, {"ies", "y"}};

const char *cyclosa_topic_name(enum cyclosa_topic t)
{
    static const char *const names[] = {"none", "health", "religion", "sexuality", "politics"};
    return (unsigned)t < CYCLOSA_TOPICS ? names[t] : "none";
}

void cyclosa_sens_free(cyclosa_sens *s)
{
    if (!s)
        return;
    search_dict_free(&s->words);
    free(s->topic);
    free(s);
}

size_t cyclosa_sens_size(const cyclosa_sens *s, enum cyclosa_topic t)
{
    return (unsigned)t < CYCLOSA_TOPICS ? s->size[t] : 0;
}

/* Adds a normalised word under topic t; a word already there keeps its first topic. */
static int sens_add(cyclosa_sens *s, const char *w, size_t len, enum cyclosa_topic t)
{
    size_t before = s->words.n;
    int64_t id = search_dict_intern(&s->words, w, len);
    if (id < 0)
        return CLOISTER_E_NO_MEMORY;
    if (s->words.n == before)
        return CLOISTER_OK;
    if ((size_t)id >= s->topic_cap) {
        size_t cap = s->topic_cap ? s->topic_cap * 2 : 4096;
        uint8_t *grown = realloc(s->topic, cap);
        if (!grown)
            return CLOISTER_E_NO_MEMORY;
        s->topic = grown;
        s->topic_cap = cap;
    }
    s->topic[id] = (uint8_t)t;
    s->size[t]++;
    return CLOISTER_OK;
}

static enum cyclosa_topic sens_find(const cyclosa_sens *s, const char *w, size_t len)
{
    int64_t id = search_dict_find(&s->words, w, len);
    return id < 0 ? CYCLOSA_TOPIC_NONE : (enum cyclosa_topic)s->topic[id];
}

/* ---- building the dictionary ---- */

struct walk {
    cyclosa_sens *s;
    enum cyclosa_topic topic;
    uint8_t *visited; /* a bit per byte offset of data.noun */
    size_t len;       /* of data.noun */
    bool refused;     /* walk_push refused a pointer past the file's end: bad */
    uint32_t bad;
    uint32_t *stack;
    size_t depth, cap;
};

static int walk_word(const char *w, size_t len, void *arg)
{
    struct walk *k = arg;
    char norm[WN_WORD_MAX];
    size_t n = wn_normalise(w, len, norm);
    return n ? sens_add(k->s, norm, n, k->topic) : CLOISTER_OK;
}

static int walk_push(uint32_t offset, void *arg)
{
    struct walk *k = arg;
    if (offset >= k->len) {
        k->refused = true;
        k->bad = offset;
        return CLOISTER_E_INVALID;
    }
    if (k->visited[offset / 8] >> (offset % 8) & 1)
        return CLOISTER_OK;
    k->visited[offset / 8] |= (uint8_t)(1u << (offset % 8));
    if (k->depth == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        uint32_t *grown = realloc(k->stack, cap * sizeof *grown);
        if (!grown)
            return CLOISTER_E_NO_MEMORY;
        k->stack = grown;
        k->cap = cap;
    }
    k->stack[k->depth++] = offset;
    return CLOISTER_OK;
}

/* Adds the hyponym closure of the synset at root under the walk's topic. */
static int walk_closure(struct walk *k, const char *data, size_t len, uint32_t root,
                        struct cloister_err *err)
{
    const struct wn_synset_visit v = {walk_word, walk_push, k};
    int rc = walk_push(root, k);
    while (rc == CLOISTER_OK && k->depth > 0)
        rc = wn_synset(data, len, k->stack[--k->depth], &v, err);
    if (k->refused)
        return cloister_errf(err, rc, "WordNet data: a pointer to offset %u, past the file's end",
                             k->bad);
    if (rc == CLOISTER_E_NO_MEMORY)
        return cloister_errf(err, rc, "out of memory building the sensitive-topic dictionary");
    return rc;
}

struct exc_ctx {
    cyclosa_sens *s;
    int rc;
};

static int add_exception(const char *inflected, size_t ilen, const char *base, size_t blen,
                         void *arg)
{
    struct exc_ctx *c = arg;
    char nb[WN_WORD_MAX], ni[WN_WORD_MAX];
    size_t nbn = wn_normalise(base, blen, nb), nin = wn_normalise(inflected, ilen, ni);
    enum cyclosa_topic t = nbn ? sens_find(c->s, nb, nbn) : CYCLOSA_TOPIC_NONE;
    if (t != CYCLOSA_TOPIC_NONE && nin)
        c->rc = sens_add(c->s, ni, nin, t);
    return c->rc;
}

struct wordnet_files {
    uint8_t *data, *index, *exc;
    size_t data_len, index_len, exc_len;
};

int wn_read_file(const char *dir, const char *name, uint8_t **buf, size_t *len,
                 struct cloister_err *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return cloister_errf(err, CLOISTER_E_INVALID, "WordNet directory name too long");
    if (file_read_all(path, WORDNET_FILE_MAX, buf, len) != 0)
        return cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM,
                             "WordNet: cannot read %s: %s (install wordnet-base)", path,
                             strerror(errno));
    return CLOISTER_OK;
}

static int build(cyclosa_sens *s, const struct wordnet_files *f, struct cloister_err *err)
{
    const char *data = (const char *)f->data;
    struct walk k = {.s = s, .visited = calloc(f->data_len / 8 + 1, 1), .len = f->data_len};
    if (!k.visited)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = CLOISTER_OK;
    for (size_t i = 0; rc == CLOISTER_OK && i < sizeof seeds / sizeof *seeds; i++) {
        uint32_t root;
        rc = wn_index_sense((const char *)f->index, f->index_len, seeds[i].lemma, seeds[i].sense,
                            &root, err);
        k.topic = seeds[i].topic;
        if (rc == CLOISTER_OK)
            rc = walk_closure(&k, data, f->data_len, root, err);
    }
    free(k.visited);
    free(k.stack);
    if (rc != CLOISTER_OK)
        return rc;
    struct exc_ctx c = {s, CLOISTER_OK};
    wn_exceptions((const char *)f->exc, f->exc_len, add_exception, &c);
    if (c.rc != CLOISTER_OK)
        return cloister_errf(err, c.rc, "out of memory building the sensitive-topic dictionary");
    return CLOISTER_OK;
}

int cyclosa_sens_load(const char *dir, cyclosa_sens **out, struct cloister_err *err)
{
    *out = NULL;
    if (!dir)
        dir = CYCLOSA_WORDNET_DIR;
    struct wordnet_files f = {0};
    cyclosa_sens *s = calloc(1, sizeof *s);
    int rc = s ? CLOISTER_OK : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK)
        rc = wn_read_file(dir, "data.noun", &f.data, &f.data_len, err);
    if (rc == CLOISTER_OK)
        rc = wn_read_file(dir, "index.noun", &f.index, &f.index_len, err);
    if (rc == CLOISTER_OK)
        rc = wn_read_file(dir, "noun.exc", &f.exc, &f.exc_len, err);
    if (rc == CLOISTER_OK)
        rc = build(s, &f, err);
    free(f.data);
    free(f.index);
    free(f.exc);
    if (rc != CLOISTER_OK) {
        cyclosa_sens_free(s);
        return rc;
    }
    *out = s;
    return CLOISTER_OK;
}

/* ---- classifying a query ---- */

/* The topic of a normalised word or expression, as it is or by one noun suffix rule. */
static enum cyclosa_topic lemma_topic(const cyclosa_sens *s, const char *w, size_t len)
{
    enum cyclosa_topic t = sens_find(s, w, len);
    for (size_t r = 0; t == CYCLOSA_TOPIC_NONE && r < sizeof noun_rules / sizeof *noun_rules; r++) {
        size_t sl = strlen(noun_rules[r][0]), rl = strlen(noun_rules[r][1]);
        if (len <= sl || len - sl + rl >= WN_WORD_MAX ||
            memcmp(w + len - sl, noun_rules[r][0], sl) != 0)
            continue;
        char stem[WN_WORD_MAX];
        memcpy(stem, w, len - sl);
        memcpy(stem + len - sl, noun_rules[r][1], rl);
        t = sens_find(s, stem, len - sl + rl);
    }
    return t;
}

struct terms {
    char text[SEARCH_QUERY_MAX]; /* the terms, each NUL-terminated */
    size_t start[SEARCH_QUERY_MAX / 2], n, used;
};

static int collect_term(const char *term, size_t len, void *arg)
{
    struct terms *t = arg;
    if (t->used + len + 1 > sizeof t->text)
        return 1;
    t->start[t->n++] = t->used;
    memcpy(t->text + t->used, term, len);
    t->text[t->used + len] = 0;
    t->used += len + 1;
    return 0;
}

enum cyclosa_topic cyclosa_sens_topic(const cyclosa_sens *s, const char *q, size_t len)
{
    struct terms t;
    t.n = t.used = 0;
    search_terms(q, len > SEARCH_QUERY_MAX ? SEARCH_QUERY_MAX : len, collect_term, &t);
    for (size_t i = 0; i < t.n; i++)
        for (size_t n = NGRAM_MAX; n >= 1; n--) {
            if (i + n > t.n)
                continue;
            char expr[WN_WORD_MAX];
            size_t el = 0;
            bool fits = true;
            for (size_t j = i; j < i + n && fits; j++) {
                const char *w = t.text + t.start[j];
                size_t wl = strlen(w);
                fits = el + (j > i) + wl < WN_WORD_MAX;
                if (fits && j > i)
                    expr[el++] = '_';
                if (fits)
                    memcpy(expr + el, w, wl);
                el += fits ? wl : 0;
            }
            if (!fits)
                continue;
            enum cyclosa_topic topic = lemma_topic(s, expr, el);
            if (topic != CYCLOSA_TOPIC_NONE)
                return topic;
        }
    return CYCLOSA_TOPIC_NONE;
}

unsigned cyclosa_sens_k(const cyclosa_sens *s, const search_attack *own, const char *q, size_t len,
                        unsigned k_max, double *linkability)
{
    double l = 0;
    uint32_t user;
    if (cyclosa_sens_topic(s, q, len) != CYCLOSA_TOPIC_NONE)
        l = 1;
    else if (own && !search_attack_attribute(own, q, len, &user, &l))
        l = 0;
    if (linkability)
        *linkability = l;
    return (unsigned)lround(l * k_max);
}

/* ---- the classifier against labels ---- */

/* A word the generator may use: one term of 3 to 20 lowercase letters, not a stop word, whose
 * topic is t. */
static bool vocab_fits(const cyclosa_sens *s, const char *w, size_t len, enum cyclosa_topic t)
{
    if (len < 3 || len > 20 || search_is_stopword(w, len))
        return false;
    for (size_t i = 0; i < len; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return false;
    return cyclosa_sens_topic(s, w, len) == t;
}

static int vocab_push(struct search_gen_vocab *v, size_t *cap, const char *w)
{
    if (v->n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        const char **grown = realloc((void *)v->words, *cap * sizeof *grown);
        if (!grown)
            return CLOISTER_E_NO_MEMORY;
        v->words = grown;
    }
    ((const char **)v->words)[v->n++] = w;
    return CLOISTER_OK;
}

/* The neutral words: index.noun's lemmas (each line's first field, NUL-terminated in place). */
static int vocab_neutral(const cyclosa_sens *s, struct cyclosa_vocab *v, size_t len)
{
    char *text = (char *)v->index;
    size_t cap = 0;
    for (size_t at = 0; at < len;) {
        char *eol = memchr(text + at, '\n', len - at), *sp = memchr(text + at, ' ', len - at);
        size_t end = eol ? (size_t)(eol - text) : len;
        if (sp && (size_t)(sp - text) < end && sp > text + at) {
            *sp = 0;
            if (vocab_fits(s, text + at, (size_t)(sp - text) - at, CYCLOSA_TOPIC_NONE) &&
                vocab_push(&v->topic[CYCLOSA_TOPIC_NONE], &cap, text + at) != CLOISTER_OK)
                return CLOISTER_E_NO_MEMORY;
        }
        at = end + 1;
    }
    return CLOISTER_OK;
}

int cyclosa_vocab_load(const cyclosa_sens *s, const char *dir, struct cyclosa_vocab *v,
                       struct cloister_err *err)
{
    size_t len, cap[CYCLOSA_TOPICS] = {0};
    memset(v, 0, sizeof *v);
    int rc = wn_read_file(dir ? dir : CYCLOSA_WORDNET_DIR, "index.noun", &v->index, &len, err);
    for (int t = 0; t < CYCLOSA_TOPICS; t++)
        v->topic[t].label = (uint8_t)t;
    for (size_t id = 0; rc == CLOISTER_OK && id < s->words.n; id++) {
        const char *w = s->words.words[id];
        enum cyclosa_topic t = (enum cyclosa_topic)s->topic[id];
        if (vocab_fits(s, w, strlen(w), t))
            rc = vocab_push(&v->topic[t], &cap[t], w);
    }
    if (rc == CLOISTER_OK)
        rc = vocab_neutral(s, v, len);
    if (rc == CLOISTER_E_NO_MEMORY)
        cloister_errf(err, rc, "out of memory reading WordNet's nouns");
    if (rc != CLOISTER_OK)
        cyclosa_vocab_free(v);
    return rc;
}

void cyclosa_vocab_free(struct cyclosa_vocab *v)
{
    for (int t = 0; t < CYCLOSA_TOPICS; t++)
        free((void *)v->topic[t].words);
    free(v->index);
    memset(v, 0, sizeof *v);
}

void cyclosa_score_add(struct cyclosa_score *sc, enum cyclosa_topic label, enum cyclosa_topic found)
{
    if ((unsigned)label >= CYCLOSA_TOPICS || (unsigned)found >= CYCLOSA_TOPICS)
        return;
    bool truth = label != CYCLOSA_TOPIC_NONE, flagged = found != CYCLOSA_TOPIC_NONE;
    sc->tp += truth && flagged;
    sc->fp += !truth && flagged;
    sc->fn += truth && !flagged;
    sc->tn += !truth && !flagged;
    sc->right_topic += truth && found == label;
    sc->labelled[label]++;
    sc->flagged[label] += flagged;
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0;
}

double cyclosa_score_precision(const struct cyclosa_score *sc)
{
    return ratio(sc->tp, sc->tp + sc->fp);
}

double cyclosa_score_recall(const struct cyclosa_score *sc)
{
    return ratio(sc->tp, sc->tp + sc->fn);
}
