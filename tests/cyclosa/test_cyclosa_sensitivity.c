/* test_cyclosa_sensitivity.c -- Cyclosa's sensitivity analysis: the WordNet readers on
 * hand-written database lines (senses by binary search, synsets, hyponym pointers, malformed
 * lines refused), the dictionary built from a tiny database written by the test, then from the
 * real WordNet 3.0 (skipped when wordnet-base is absent), the adaptive k, and the classifier scored
 * against labels: on a hand-labelled set, and on a labelled synthetic log. */
#include <cloister/cyclosa.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cyclosa/client/wordnet.h"
#include "util/fileio.h"

static void normalise(void **state)
{
    (void)state;
    char out[WN_WORD_MAX];
    assert_int_equal(wn_normalise("Al-Qaeda", 8, out), 8);
    assert_string_equal(out, "al_qaeda");
    assert_int_equal(wn_normalise("sexually_transmitted_disease", 28, out), 28);
    assert_string_equal(out, "sexually_transmitted_disease");
    assert_int_equal(wn_normalise("St._John's_wort", 15, out), 14);
    assert_string_equal(out, "st_john_s_wort");
    assert_int_equal(wn_normalise("--", 2, out), 0);
    char longw[WN_WORD_MAX + 8];
    memset(longw, 'a', sizeof longw);
    assert_int_equal(wn_normalise(longw, sizeof longw, out), 0);
}

/* A license line, then lemmas in order, as index.noun has them. */
static const char index_text[] = "  1 license text\n"
                                 "  2 more license\n"
                                 "cold n 2 2 @ ~ 2 1 00000100 00000200\n"
                                 "flu n 1 1 @ 1 1 00000300\n"
                                 "zebra n 1 0 1 0 00000400\n";

static void index_senses(void **state)
{
    (void)state;
    const size_t len = sizeof index_text - 1;
    uint32_t off = 0;
    struct cloister_err err;
    assert_int_equal(wn_index_sense(index_text, len, "cold", 2, &off, &err), CLOISTER_OK);
    assert_int_equal(off, 200);
    assert_int_equal(wn_index_sense(index_text, len, "flu", 1, &off, &err), CLOISTER_OK);
    assert_int_equal(off, 300);
    assert_int_equal(wn_index_sense(index_text, len, "zebra", 1, &off, &err), CLOISTER_OK);
    assert_int_equal(off, 400);
    assert_int_equal(wn_index_sense(index_text, len, "cold", 3, &off, &err), CLOISTER_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no sense 3"));
    assert_int_equal(wn_index_sense(index_text, len, "apple", 1, &off, &err), CLOISTER_E_NOT_FOUND);
    assert_int_equal(wn_index_sense(index_text, len, "zz", 1, &off, &err), CLOISTER_E_NOT_FOUND);
    const char bad[] = "cold n 2 9 @\n";
    assert_int_equal(wn_index_sense(bad, sizeof bad - 1, "cold", 1, &off, &err),
                     CLOISTER_E_INVALID);
    assert_int_equal(wn_index_sense("", 0, "cold", 1, &off, &err), CLOISTER_E_NOT_FOUND);
}

struct seen {
    char words[256];
    uint32_t hyponyms[8];
    size_t nhyponyms;
};

static int see_word(const char *w, size_t len, void *arg)
{
    struct seen *s = arg;
    strncat(s->words, w, len);
    strcat(s->words, ",");
    return 0;
}

static int see_hyponym(uint32_t offset, void *arg)
{
    struct seen *s = arg;
    s->hyponyms[s->nhyponyms++] = offset;
    return 0;
}

static void synsets(void **state)
{
    (void)state;
    /* a license line, then a synset at byte 10 */
    const char data[] = "  license\n"
                        "00000010 26 n 02 flu 0 grippe 0 004 @ 00000001 n 0000 ~ 00000002 n 0000 "
                        "~i 00000003 n 0000 ~ 00000004 v 0000 | influenza\n";
    const size_t len = sizeof data - 1;
    struct seen s = {0};
    const struct wn_synset_visit v = {see_word, see_hyponym, &s};
    struct cloister_err err;
    assert_int_equal(wn_synset(data, len, 10, &v, &err), CLOISTER_OK);
    assert_string_equal(s.words, "flu,grippe,");
    assert_int_equal(s.nhyponyms,
                     2); /* '@' is a hypernym, the verb pointer another part of speech */
    assert_int_equal(s.hyponyms[0], 2);
    assert_int_equal(s.hyponyms[1], 3);
    assert_int_equal(wn_synset(data, len, 0, &v, &err), CLOISTER_E_INVALID);
    assert_int_equal(wn_synset(data, len, 11, &v, &err), CLOISTER_E_INVALID);
    assert_int_equal(wn_synset(data, len, 9999, &v, &err), CLOISTER_E_INVALID);
    /* the line cut anywhere: refused, or read as a line with fewer fields (a count cut to fewer
     * digits), never reporting what the whole line does not hold */
    for (size_t cut = 10; cut < len; cut++) {
        memset(&s, 0, sizeof s);
        if (wn_synset(data, cut, 10, &v, &err) != CLOISTER_OK)
            continue;
        assert_true(strncmp("flu,grippe,", s.words, strlen(s.words)) == 0);
        for (size_t i = 0; i < s.nhyponyms; i++)
            assert_true(s.hyponyms[i] == 2 || s.hyponyms[i] == 3 || s.hyponyms[i] == 0);
    }
}

static int count_exception(const char *inflected, size_t ilen, const char *base, size_t blen,
                           void *arg)
{
    (void)inflected, (void)ilen, (void)base, (void)blen;
    ++*(int *)arg;
    return 0;
}

static void exceptions(void **state)
{
    (void)state;
    const char exc[] = "mice mouse\n\nteeth tooth\nstaves staff stave\nlonely";
    int n = 0;
    assert_int_equal(wn_exceptions(exc, sizeof exc - 1, count_exception, &n), 0);
    assert_int_equal(n, 4);
}

/* A tiny WordNet: "illness" (sense 1) with hyponyms flu and cold, flu's own hyponym "avian
 * influenza"; "religion" with "buddhism". Every seed lemma the loader asks for must exist. */
static void write_tiny_wordnet(const char *dir)
{
    static const char *const seeds[] = {
        "abortion",
        "clergyman",
        "contraception",
        "deity",
        "disease",
        "drug",
        "election",
        "government",
        "homosexual",
        "homosexuality",
        "illness",
        "injury",
        "legislature",
        "medical_care",
        "medical_procedure",
        "medicine",
        "mental_illness",
        "political_orientation",
        "political_party",
        "politician",
        "politics",
        "pregnancy",
        "religion",
        "religious_person",
        "sex",
        "sexuality",
        "symptom",
        "virus",
        "vote",
    };
    char data[4096] = "";
    char line[256];
    /* synsets at fixed offsets: each line padded to 100 bytes */
    const char *const lines[] = {
        "00000000 26 n 01 illness 0 002 ~ 00000100 n 0000 ~ 00000200 n 0000 | sick",
        "00000100 26 n 02 flu 0 Influenza 0 001 ~ 00000300 n 0000 | flu",
        "00000200 26 n 01 common_cold 0 000 | cold",
        "00000300 26 n 01 avian_influenza 0 000 | birds",
        "00000400 26 n 01 religion 0 001 ~ 00000500 n 0000 | faith",
        "00000500 26 n 01 Buddhism 0 000 | a religion",
        "00000600 26 n 00 000 | the other seeds: no words",
        "00000700 26 n 01 thing 0 000 | anything",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        snprintf(line, sizeof line, "%-99s\n", lines[i]);
        strcat(data, line);
    }
    char index[4096] = "  license\n";
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        const char *off = strcmp(seeds[i], "illness") == 0    ? "00000000"
                          : strcmp(seeds[i], "religion") == 0 ? "00000400"
                                                              : "00000600";
        snprintf(line, sizeof line, "%s n 3 0 3 0 %s %s %s\n", seeds[i], off, off, off);
        strcat(index, line);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/data.noun", dir);
    assert_int_equal(file_write_atomic(path, data, strlen(data), 0644), 0);
    snprintf(path, sizeof path, "%s/index.noun", dir);
    assert_int_equal(file_write_atomic(path, index, strlen(index), 0644), 0);
    snprintf(path, sizeof path, "%s/noun.exc", dir);
    const char exc[] = "influenzae influenza\nthings thing\n";
    assert_int_equal(file_write_atomic(path, exc, sizeof exc - 1, 0644), 0);
}

/* The tiny WordNet in a new directory dir (a mkdtemp template), loaded. */
static cyclosa_sens *load_tiny_wordnet(char *dir)
{
    assert_non_null(mkdtemp(dir));
    write_tiny_wordnet(dir);
    cyclosa_sens *s;
    struct cloister_err err;
    if (cyclosa_sens_load(dir, &s, &err) != CLOISTER_OK)
        fail_msg("%s", err.msg);
    return s;
}

static void tiny_dictionary(void **state)
{
    (void)state;
    char dir[] = "/tmp/cloister-test-wordnet-XXXXXX";
    cyclosa_sens *s = load_tiny_wordnet(dir);
    struct cloister_err err;
    /* illness, flu, influenza, common_cold, avian_influenza, influenzae (its exception) */
    assert_int_equal(cyclosa_sens_size(s, CYCLOSA_TOPIC_HEALTH), 6);
    assert_int_equal(cyclosa_sens_size(s, CYCLOSA_TOPIC_RELIGION), 2);
    const struct {
        const char *q;
        enum cyclosa_topic t;
    } cases[] = {
        {"flu", CYCLOSA_TOPIC_HEALTH},
        {"How to treat the FLU fast", CYCLOSA_TOPIC_HEALTH},
        {"common colds remedies", CYCLOSA_TOPIC_HEALTH}, /* a two-term expression, plural */
        {"avian influenzae", CYCLOSA_TOPIC_HEALTH},      /* an exception's inflection */
        {"buddhism temples", CYCLOSA_TOPIC_RELIGION},
        {"common", CYCLOSA_TOPIC_NONE},
        {"things to do", CYCLOSA_TOPIC_NONE}, /* thing is in WordNet, not under a seed */
        {"", CYCLOSA_TOPIC_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(cyclosa_sens_topic(s, cases[i].q, strlen(cases[i].q)), cases[i].t);
    cyclosa_sens_free(s);
    /* a pointer past the end of data.noun: refused, named */
    char path[512];
    snprintf(path, sizeof path, "%s/data.noun", dir);
    const char bad[] = "00000000 26 n 01 illness 0 001 ~ 00099999 n 0000 | sick\n";
    assert_int_equal(file_write_atomic(path, bad, sizeof bad - 1, 0644), 0);
    assert_int_equal(cyclosa_sens_load(dir, &s, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "past the file's end"));
    assert_null(s);
    assert_int_equal(file_remove_tree(dir), 0);
    assert_int_equal(cyclosa_sens_load(dir, &s, &err), CLOISTER_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "install wordnet-base"));
}

static void real_wordnet(void **state)
{
    (void)state;
    if (access(CYCLOSA_WORDNET_DIR "/data.noun", R_OK) != 0)
        skip();
    cyclosa_sens *s;
    struct cloister_err err;
    assert_int_equal(cyclosa_sens_load(NULL, &s, &err), CLOISTER_OK);
    for (int t = CYCLOSA_TOPIC_HEALTH; t < CYCLOSA_TOPICS; t++) {
        printf("%s: %zu words and expressions\n", cyclosa_topic_name(t), cyclosa_sens_size(s, t));
        assert_true(cyclosa_sens_size(s, t) > 100);
    }
    const struct {
        const char *q;
        enum cyclosa_topic t;
    } cases[] = {
        {"diabetes diet", CYCLOSA_TOPIC_HEALTH},
        {"early signs of breast cancer", CYCLOSA_TOPIC_HEALTH},
        {"sexually transmitted diseases", CYCLOSA_TOPIC_HEALTH},
        {"aspirin dose", CYCLOSA_TOPIC_HEALTH},
        {"buddhism meditation", CYCLOSA_TOPIC_RELIGION},
        {"catholicism history", CYCLOSA_TOPIC_RELIGION},
        {"homosexuality and the law", CYCLOSA_TOPIC_SEXUALITY},
        {"presidential election polls", CYCLOSA_TOPIC_POLITICS},
        {"cheap flights to paris", CYCLOSA_TOPIC_NONE},
        {"chocolate cake recipe", CYCLOSA_TOPIC_NONE},
        {"weather tomorrow", CYCLOSA_TOPIC_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        enum cyclosa_topic t = cyclosa_sens_topic(s, cases[i].q, strlen(cases[i].q));
        if (t != cases[i].t)
            fail_msg("'%s': %s, expected %s", cases[i].q, cyclosa_topic_name(t),
                     cyclosa_topic_name(cases[i].t));
    }
    cyclosa_sens_free(s);
}

static void adaptive_k(void **state)
{
    (void)state;
    char dir[] = "/tmp/cloister-test-wordnet-XXXXXX";
    cyclosa_sens *s = load_tiny_wordnet(dir);
    struct cloister_err err;
    struct search_log past = {0};
    const char *const mine[] = {"hotel rome", "rome airport taxi", "vatican museum tickets"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(search_log_add(&past, 7, 1000 + i, mine[i], strlen(mine[i])), CLOISTER_OK);
    search_attack *own;
    assert_int_equal(search_attack_new(&past, &own, &err), CLOISTER_OK);
    double l;
    /* a sensitive query: k_max whatever the history */
    assert_int_equal(cyclosa_sens_k(s, own, "flu", 3, CYCLOSA_K_MAX, &l), CYCLOSA_K_MAX);
    assert_true(l == 1.0);
    /* SimAttack's fold over (0, 0.4, 1) for a repeat of "hotel rome": 0.6, so k = 4 */
    assert_int_equal(cyclosa_sens_k(s, own, "hotel rome", 10, CYCLOSA_K_MAX, &l), 4);
    assert_float_equal(l, 0.6, 1e-9);
    /* one shared term of two with the first two queries: (0, 0.4, 0.5) folds to 0.35, k = 2 */
    assert_int_equal(cyclosa_sens_k(s, own, "rome pizza", 10, CYCLOSA_K_MAX, &l), 2);
    assert_float_equal(l, 0.35, 1e-9);
    /* nothing in common: unlinkable */
    assert_int_equal(cyclosa_sens_k(s, own, "garden tools", 12, CYCLOSA_K_MAX, &l), 0);
    assert_true(l == 0.0);
    /* no history: only sensitivity counts */
    assert_int_equal(cyclosa_sens_k(s, NULL, "hotel rome", 10, CYCLOSA_K_MAX, &l), 0);
    search_attack_free(own);
    search_log_free(&past);
    cyclosa_sens_free(s);
    assert_int_equal(file_remove_tree(dir), 0);
}

/* The classifier scored on a hand-labelled set over the tiny WordNet: every count and both
 * ratios worked by hand. */
static void scoring(void **state)
{
    (void)state;
    char dir[] = "/tmp/cloister-test-wordnet-XXXXXX";
    cyclosa_sens *s = load_tiny_wordnet(dir);
    const struct {
        const char *q;
        enum cyclosa_topic label;
    } set[] = {
        {"flu shot", CYCLOSA_TOPIC_HEALTH},           /* true positive */
        {"influenza vaccine", CYCLOSA_TOPIC_HEALTH},  /* true positive */
        {"buddhism temples", CYCLOSA_TOPIC_RELIGION}, /* true positive */
        {"avian influenza", CYCLOSA_TOPIC_RELIGION},  /* true positive, under another topic */
        {"cold remedies", CYCLOSA_TOPIC_HEALTH},      /* false negative: cold is not common_cold */
        {"common colds", CYCLOSA_TOPIC_NONE},         /* false positive */
        {"flu season", CYCLOSA_TOPIC_NONE},           /* false positive */
        {"things to do", CYCLOSA_TOPIC_NONE},         /* true negative */
        {"garden tools", CYCLOSA_TOPIC_NONE},         /* true negative */
    };
    struct cyclosa_score sc = {0};
    assert_true(cyclosa_score_precision(&sc) == 0 && cyclosa_score_recall(&sc) == 0);
    for (size_t i = 0; i < sizeof set / sizeof *set; i++)
        cyclosa_score_add(&sc, set[i].label, cyclosa_sens_topic(s, set[i].q, strlen(set[i].q)));
    assert_int_equal(sc.tp, 4);
    assert_int_equal(sc.fp, 2);
    assert_int_equal(sc.fn, 1);
    assert_int_equal(sc.tn, 2);
    assert_int_equal(sc.right_topic, 3);
    assert_float_equal(cyclosa_score_precision(&sc), 4.0 / 6, 1e-12);
    assert_float_equal(cyclosa_score_recall(&sc), 4.0 / 5, 1e-12);
    assert_int_equal(sc.labelled[CYCLOSA_TOPIC_HEALTH], 3);
    assert_int_equal(sc.flagged[CYCLOSA_TOPIC_HEALTH], 2);
    assert_int_equal(sc.labelled[CYCLOSA_TOPIC_NONE], 4);
    assert_int_equal(sc.flagged[CYCLOSA_TOPIC_NONE], 2);
    cyclosa_sens_free(s);
    assert_int_equal(file_remove_tree(dir), 0);
}

static bool has_word(const struct search_gen_vocab *v, const char *w)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->words[i], w) == 0)
            return true;
    return false;
}

/* The vocabularies of a labelled log over the tiny WordNet, and such a log: every query labelled
 * sensitive holds a word of its topic, every other none. */
static void labelled_log(void **state)
{
    (void)state;
    char dir[] = "/tmp/cloister-test-wordnet-XXXXXX";
    cyclosa_sens *s = load_tiny_wordnet(dir);
    struct cyclosa_vocab v;
    struct cloister_err err;
    assert_int_equal(cyclosa_vocab_load(s, dir, &v, &err), CLOISTER_OK);
    /* one-term words only: not common_cold nor avian_influenza */
    assert_int_equal(v.topic[CYCLOSA_TOPIC_HEALTH].n, 4); /* illness flu influenza influenzae */
    assert_true(has_word(&v.topic[CYCLOSA_TOPIC_HEALTH], "flu"));
    assert_true(has_word(&v.topic[CYCLOSA_TOPIC_RELIGION], "buddhism"));
    assert_int_equal(v.topic[CYCLOSA_TOPIC_POLITICS].n, 0);
    /* index.noun's one-term lemmas outside the closures (the tiny seeds have no words) */
    assert_true(has_word(&v.topic[CYCLOSA_TOPIC_NONE], "virus"));
    assert_false(has_word(&v.topic[CYCLOSA_TOPIC_NONE], "illness"));
    assert_false(has_word(&v.topic[CYCLOSA_TOPIC_NONE], "medical_care"));

    const struct search_gen_vocab mix[] = {v.topic[CYCLOSA_TOPIC_NONE],
                                           v.topic[CYCLOSA_TOPIC_HEALTH],
                                           v.topic[CYCLOSA_TOPIC_RELIGION]};
    struct search_gen_options o;
    struct search_log log;
    uint8_t *labels = NULL;
    search_gen_options_init(&o);
    o.users = 3;
    o.real_topics = 1;
    o.vocab = mix;
    o.nvocab = 3;
    assert_int_equal(search_gen_log(&o, &log, &err), CLOISTER_E_INVALID); /* no label array */
    o.labels = &labels;
    assert_int_equal(search_gen_log(&o, &log, &err), CLOISTER_OK);
    size_t sensitive = 0;
    for (size_t i = 0; i < log.n; i++) {
        enum cyclosa_topic t = cyclosa_sens_topic(s, log.q[i].text, strlen(log.q[i].text));
        if (t != labels[i])
            fail_msg("'%s': labelled %s, found %s", log.q[i].text,
                     cyclosa_topic_name((enum cyclosa_topic)labels[i]), cyclosa_topic_name(t));
        sensitive += labels[i] != 0;
    }
    assert_true(sensitive > 0 && sensitive < log.n);
    free(labels);
    search_log_free(&log);
    cyclosa_vocab_free(&v);
    cyclosa_sens_free(s);
    assert_int_equal(file_remove_tree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalise),       cmocka_unit_test(index_senses),
        cmocka_unit_test(synsets),         cmocka_unit_test(exceptions),
        cmocka_unit_test(tiny_dictionary), cmocka_unit_test(real_wordnet),
        cmocka_unit_test(adaptive_k),      cmocka_unit_test(scoring),
        cmocka_unit_test(labelled_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
