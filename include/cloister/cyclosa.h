/* cyclosa.h -- Cyclosa (ICDCS 2018): private web search through a P2P network of enclave relays
 * with adaptive query obfuscation (docs/cyclosa.md).
 *
 * Sensitivity analysis, on the client and outside the enclave, decides how many fake queries k a
 * real query gets:
 *   semantic     a query is sensitive when one of its terms, or two or three adjacent terms
 *                joined as a WordNet multi-word expression, lemmatised with WordNet's
 *                morphology (its exception lists, then its noun suffix rules), is in the
 *                sensitive-topic dictionary: the hyponym closure in WordNet 3.0 of seed synsets
 *                for health, religion, sexuality and politics. Then k = k_max.
 *   linkability  otherwise l in [0, 1] is SimAttack's similarity of the query to the user's own
 *                past queries (search.h), computed locally, and k = round(l * k_max).
 *
 * Every function returns CLOISTER_OK or a negative CLOISTER_E_* code (error.h); a cyclosa_sens
 * is read-only once loaded and may be shared by threads. */
#ifndef CLOISTER_CYCLOSA_H
#define CLOISTER_CYCLOSA_H

#include <stddef.h>

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/search.h>

#define CYCLOSA_WORDNET_DIR "/usr/share/wordnet" /* Debian's wordnet-base */
#define CYCLOSA_K_MAX 7                          /* the paper's k_max */

enum cyclosa_topic {
    CYCLOSA_TOPIC_NONE,
    CYCLOSA_TOPIC_HEALTH,
    CYCLOSA_TOPIC_RELIGION,
    CYCLOSA_TOPIC_SEXUALITY,
    CYCLOSA_TOPIC_POLITICS,
    CYCLOSA_TOPICS
};

typedef struct cyclosa_sens cyclosa_sens;

/* "health", "religion", "sexuality", "politics", or "none". */
CLOISTER_API const char *cyclosa_topic_name(enum cyclosa_topic t);

/* Builds the sensitive-topic dictionary from the WordNet database in dir (NULL:
 * CYCLOSA_WORDNET_DIR): data.noun, index.noun and noun.exc. */
CLOISTER_API CLOISTER_MUST_CHECK int cyclosa_sens_load(const char *dir, cyclosa_sens **out,
                                                       struct cloister_err *err);
CLOISTER_API void cyclosa_sens_free(cyclosa_sens *s);
/* How many words and expressions the dictionary holds for topic t (inflected forms included). */
CLOISTER_API size_t cyclosa_sens_size(const cyclosa_sens *s, enum cyclosa_topic t);

/* The topic of the first sensitive term or expression of query q, or CYCLOSA_TOPIC_NONE. */
CLOISTER_API enum cyclosa_topic cyclosa_sens_topic(const cyclosa_sens *s, const char *q,
                                                   size_t len);

/* The number of fakes for q, at most k_max: k_max when q is sensitive, otherwise round(l * k_max)
 * where l is q's similarity to the user's past queries (own: a SimAttack built from them alone;
 * NULL when the user has none: l = 0). *linkability gets l (1 for a sensitive query). */
CLOISTER_API unsigned cyclosa_sens_k(const cyclosa_sens *s, const search_attack *own, const char *q,
                                     size_t len, unsigned k_max, double *linkability);

/* ---- the classifier against labels ---- */

/* Real words for search_gen_log's labelled topics (search.h), all one term of lowercase letters:
 * topic[t] for each sensitive topic t, the dictionary's words of t (label t);
 * topic[CYCLOSA_TOPIC_NONE], WordNet's nouns (index.noun of dir, NULL: CYCLOSA_WORDNET_DIR) the
 * semantic test does not flag (label 0). Valid while s lives. */
struct cyclosa_vocab {
    struct search_gen_vocab topic[CYCLOSA_TOPICS];
    unsigned char *index; /* index.noun: the neutral words point into it */
};
CLOISTER_API CLOISTER_MUST_CHECK int cyclosa_vocab_load(const cyclosa_sens *s, const char *dir,
                                                        struct cyclosa_vocab *v,
                                                        struct cloister_err *err);
CLOISTER_API void cyclosa_vocab_free(struct cyclosa_vocab *v);

/* The semantic test scored against labels, sensitive being positive. */
struct cyclosa_score {
    size_t tp, fp, fn, tn;
    size_t right_topic;              /* true positives given their label's topic */
    size_t labelled[CYCLOSA_TOPICS]; /* queries by label */
    size_t flagged[CYCLOSA_TOPICS];  /* of them, found sensitive */
};
CLOISTER_API void cyclosa_score_add(struct cyclosa_score *sc, enum cyclosa_topic label,
                                    enum cyclosa_topic found);
/* tp / (tp + fp) and tp / (tp + fn); 0 when the denominator is. */
CLOISTER_API double cyclosa_score_precision(const struct cyclosa_score *sc);
CLOISTER_API double cyclosa_score_recall(const struct cyclosa_score *sc);

#endif
