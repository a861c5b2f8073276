/* test_search.c -- the search testbed's pieces against hand-worked cases: preprocessing, the
 * OR split, the AOL format (clicks folded, errors naming the line, write/read round trip), the
 * time split, SimAttack's fold and argmax, and the OR rule with its margin. */
#include <cloister/search.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct collect {
    char out[256];
};

static int collect_term(const char *t, size_t len, void *arg)
{
    struct collect *c = arg;
    strncat(c->out, t, len);
    strcat(c->out, "|");
    return 0;
}

static void test_terms(void **state)
{
    (void)state;
    struct collect c = {""};
    const char *q = "The Cheap FLIGHTS to new-york, 2006!";
    search_terms(q, strlen(q), collect_term, &c);
    assert_string_equal(c.out, "cheap|flights|new|york|2006|");
    assert_true(search_is_stopword("The", 3));
    assert_true(search_is_stopword("yourselves", 10));
    assert_true(search_is_stopword("a", 1));
    assert_false(search_is_stopword("flight", 6));
}

static void test_split_or(void **state)
{
    (void)state;
    const char *subs[4];
    size_t lens[4];
    const char *q = "cheap flights OR red car OR x";
    assert_int_equal(search_split_or(q, strlen(q), subs, lens, 4), 3);
    assert_int_equal(lens[0], 13);
    assert_memory_equal(subs[1], "red car", 7);
    assert_int_equal(lens[2], 1);
    assert_int_equal(search_split_or(q, strlen(q), subs, lens, 2), -1);
    assert_int_equal(search_split_or("", 0, subs, lens, 4), 1);
}

#define LOG_TEXT                                                                                   \
    "AnonID\tQuery\tQueryTime\tItemRank\tClickURL\n"                                               \
    "7\tred car\t2006-03-02 10:00:00\t1\thttp://a.example\n"                                       \
    "7\tred car\t2006-03-02 10:00:00\t2\thttp://b.example\n"                                       \
    "3\tblue boat\t2006-03-05 00:00:00\t\t\n"                                                      \
    "7\tgreen tree\t2006-03-01 09:00:00\n"

static void test_log_parse(void **state)
{
    (void)state;
    struct search_log log;
    struct cloister_err err;
    assert_int_equal(search_log_parse(LOG_TEXT, strlen(LOG_TEXT), &log, &err), CLOISTER_OK);
    assert_int_equal(log.n, 3); /* two clicks on "red car" are one query */
    assert_int_equal(log.q[0].user, 3);
    assert_string_equal(log.q[1].text, "green tree"); /* sorted by (user, time) */
    assert_string_equal(log.q[2].text, "red car");
    assert_int_equal(log.q[1].time, 1141203600);
    const char *tmp = "test_search.tsv";
    assert_int_equal(search_log_write(tmp, &log, &err), CLOISTER_OK);
    struct search_log back;
    assert_int_equal(search_log_read(tmp, &back, &err), CLOISTER_OK);
    assert_int_equal(back.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(back.q[i].user, log.q[i].user);
        assert_int_equal(back.q[i].time, log.q[i].time);
        assert_string_equal(back.q[i].text, log.q[i].text);
    }
    remove(tmp);
    search_log_free(&back);
    search_log_free(&log);
}

static void test_log_errors(void **state)
{
    (void)state;
    struct search_log log;
    struct cloister_err err;
    const char *bad_time = "1\tq\t2006-03-01\n";
    assert_int_equal(search_log_parse(bad_time, strlen(bad_time), &log, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "line 1"));
    const char *bad_user = "AnonID\tQuery\n1\tq\t2006-03-01 00:00:00\nx\tq\t2006-03-01 00:00:00\n";
    assert_int_equal(search_log_parse(bad_user, strlen(bad_user), &log, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "line 3"));
    const char *fields = "1\tq\n";
    assert_int_equal(search_log_parse(fields, strlen(fields), &log, &err), CLOISTER_E_INVALID);
    assert_int_equal(search_log_read("no-such-log.tsv", &log, &err), CLOISTER_E_NOT_FOUND);
}

static void test_split(void **state)
{
    (void)state;
    struct search_log log = {0}, train, test;
    for (int i = 0; i < 4; i++)
        assert_int_equal(search_log_add(&log, 1, 100 + i, "q", 1), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(search_log_add(&log, 2, 100 + i, "q", 1), 0);
    assert_int_equal(search_log_split(&log, &train, &test), 0);
    assert_int_equal(train.n, 3 + 2); /* ceil(2n/3): 3 of 4, 2 of 3 */
    assert_int_equal(test.n, 1 + 1);
    assert_int_equal(test.q[0].time, 103);
    assert_int_equal(test.q[1].user, 2);
    free(train.q);
    free(test.q);
    search_log_free(&log);
}

/* Users 1 and 2 with known profiles; the expected sims are worked by hand. */
static search_attack *small_attacker(struct search_log *log)
{
    memset(log, 0, sizeof *log);
    const char *u1[] = {"red car", "red car dealer", "blue sky"};
    const char *u2[] = {"green tree", "tree house plans"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(search_log_add(log, 1, i, u1[i], strlen(u1[i])), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(search_log_add(log, 2, i, u2[i], strlen(u2[i])), 0);
    search_attack *a;
    struct cloister_err err;
    assert_int_equal(search_attack_new(log, &a, &err), CLOISTER_OK);
    return a;
}

static void test_attack(void **state)
{
    (void)state;
    struct search_log log;
    search_attack *a = small_attacker(&log);
    uint32_t user;
    double sim;
    /* "red car" vs user 1: coefs 1 ("red car"), 0.8 ("red car dealer"), 0 ("blue sky"): sorted
     * 0, 0.8, 1 -> 0, 0.4, 0.7. */
    assert_true(search_attack_attribute(a, "red car", 7, &user, &sim));
    assert_int_equal(user, 1);
    assert_float_equal(sim, 0.7, 1e-12);
    /* "tree" vs user 2: coefs 2/3 and 2/4 -> 0.25, then 0.5*(2/3) + 0.125. */
    assert_true(search_attack_attribute(a, "the tree", 8, &user, &sim));
    assert_int_equal(user, 2);
    assert_float_equal(sim, 0.5 * (2.0 / 3) + 0.125, 1e-12);
    assert_false(search_attack_attribute(a, "unknown words", 13, &user, &sim));
    assert_false(search_attack_attribute(a, "of the", 6, &user, &sim));
    /* OR rule: "red car" (0.7) beats "the tree" (0.458) by more than 0.01. */
    const char *subs[] = {"zzz", "the tree", "red car"};
    size_t lens[] = {3, 8, 7}, which;
    assert_true(search_attack_attribute_or(a, subs, lens, 3, &which, &user));
    assert_int_equal(which, 2);
    assert_int_equal(user, 1);
    /* Two sub-queries of equal sim: no answer; one attributable sub-query: that one. */
    const char *tie[] = {"red car", "red car"};
    size_t tlens[] = {7, 7};
    assert_false(search_attack_attribute_or(a, tie, tlens, 2, &which, &user));
    assert_true(search_attack_attribute_or(a, subs, lens, 2, &which, &user));
    assert_int_equal(which, 1);
    search_attack_free(a);
    search_log_free(&log);
}

static void test_eval_k(void **state)
{
    (void)state;
    struct search_gen_options o;
    search_gen_options_init(&o);
    o.users = 5;
    struct search_log log, again;
    struct cloister_err err;
    assert_int_equal(search_gen_log(&o, &log, &err), 0);
    assert_int_equal(search_gen_log(&o, &again, &err), 0);
    assert_int_equal(log.n, again.n); /* one seed, one log */
    for (size_t i = 0; i < log.n; i++)
        assert_string_equal(log.q[i].text, again.q[i].text);
    struct search_attack_result r0, r3;
    assert_int_equal(search_attack_eval_k(&log, 0, 1, &r0, &err), 0);
    assert_int_equal(search_attack_eval_k(&log, 3, 1, &r3, &err), 0);
    assert_true(r0.queries > 0 && r0.queries == r3.queries);
    assert_true(r0.correct <= r0.answered && r0.answered <= r0.queries);
    assert_true(r3.reidentification < r0.reidentification);
    assert_int_equal(search_attack_eval_k(&log, SEARCH_K_MAX + 1, 1, &r3, &err),
                     CLOISTER_E_INVALID);
    search_log_free(&again);
    search_log_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terms),     cmocka_unit_test(test_split_or),
        cmocka_unit_test(test_log_parse), cmocka_unit_test(test_log_errors),
        cmocka_unit_test(test_split),     cmocka_unit_test(test_attack),
        cmocka_unit_test(test_eval_k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
