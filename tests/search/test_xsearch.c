/* test_xsearch.c -- X-Search's rules and messages (search.h, xsearch.h) without an enclave:
 * Algorithm 1 puts the real query at a uniform position (chi-square) and draws its fakes from
 * H; H is a bounded ring; both filters keep exactly the hits their rule says (against a
 * hand-worked oracle); redirects are stripped; a sealed request and answer round-trip, and a
 * flipped bit, a wrong key or a truncation is refused. */
#include <cloister/crypto.h>
#include <cloister/xsearch.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/prng.h"

static uint64_t seeded(void *arg)
{
    return prng_next(arg);
}

static void test_canonical(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(search_canonical("The Cat, OR the DOG!", 20, out, sizeof out), 7);
    assert_string_equal(out, "cat dog");
    assert_int_equal(search_canonical("the of OR", 9, out, sizeof out), 0);
    assert_int_equal(search_canonical("abc defgh", 9, out, 6), 3); /* the terms that fit */
    assert_string_equal(out, "abc");
}

static void test_history_ring(void **state)
{
    (void)state;
    struct search_history h;
    assert_int_equal(search_history_init(&h, 3), CLOISTER_OK);
    const char *qs[] = {"a1", "b2", "c3", "d4", "e5"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(search_history_add(&h, qs[i], 2), CLOISTER_OK);
    assert_int_equal(h.n, 3);
    bool seen[5] = {false};
    for (size_t i = 0; i < h.n; i++)
        for (size_t j = 0; j < 5; j++)
            seen[j] |= strcmp(h.q[i], qs[j]) == 0;
    assert_false(seen[0] || seen[1]); /* the oldest were replaced */
    assert_true(seen[2] && seen[3] && seen[4]);
    search_history_free(&h);
}

/* Position of the real query over many draws: chi-square against uniform over k + 1 slots
 * (k = 3: 3 degrees of freedom, 16.27 is the 0.999 quantile), fakes all from H. */
static void test_obfuscate_uniform(void **state)
{
    (void)state;
    struct search_history h;
    uint64_t seed = 7;
    const unsigned k = 3, draws = 8000;
    unsigned count[4] = {0};
    assert_int_equal(search_history_init(&h, 1000), CLOISTER_OK);
    for (int i = 0; i < 50; i++) {
        char q[16];
        snprintf(q, sizeof q, "past%d", i);
        assert_int_equal(search_history_add(&h, q, strlen(q)), CLOISTER_OK);
    }
    for (unsigned i = 0; i < draws; i++) {
        char *out, real[16];
        unsigned pos;
        snprintf(real, sizeof real, "real%u", i);
        assert_int_equal(search_obfuscate(&h, real, k, seeded, &seed, &out, &pos), CLOISTER_OK);
        const char *subs[8];
        size_t lens[8];
        assert_int_equal(search_split_or(out, strlen(out), subs, lens, 8), (int)k + 1);
        assert_true(pos <= k);
        assert_int_equal(lens[pos], strlen(real));
        assert_memory_equal(subs[pos], real, lens[pos]);
        for (unsigned s = 0; s <= k; s++)
            assert_true(s == pos || strncmp(subs[s], "past", 4) == 0 ||
                        strncmp(subs[s], "real", 4) == 0);
        count[pos]++;
        free(out);
    }
    double chi = 0, expect = (double)draws / (k + 1);
    for (unsigned s = 0; s <= k; s++)
        chi += (count[s] - expect) * (count[s] - expect) / expect;
    assert_true(chi < 16.27);
    assert_int_equal(h.n, 1000); /* every real query went into H, bounded */
    search_history_free(&h);
}

static void test_obfuscate_empty_history(void **state)
{
    (void)state;
    struct search_history h;
    uint64_t seed = 1;
    char *out;
    unsigned pos;
    assert_int_equal(search_history_init(&h, 4), CLOISTER_OK);
    assert_int_equal(search_obfuscate(&h, "alone", 5, seeded, &seed, &out, &pos), CLOISTER_OK);
    assert_string_equal(out, "alone"); /* no fakes to draw yet */
    assert_int_equal(pos, 0);
    free(out);
    search_history_free(&h);
}

static struct search_hit hit(char *title, char *snippet, char **matched, size_t nmatched)
{
    struct search_hit x = {"http://x.example/", title, snippet, matched, nmatched};
    return x;
}

static void test_filters(void **state)
{
    (void)state;
    const char *subs[] = {"red apple", "green pear tree"};
    size_t lens[] = {9, 15};
    char *m0[] = {"red apple"}, *m1[] = {"green pear tree"};
    /* red apple: 2 (title) + 1 (snippet) = 3; green pear tree: 0 + 2 = 2 */
    struct search_hit a = hit("Red Apple pie", "an apple, a pear and a green thing", m0, 1);
    /* red apple: 1; green pear tree: 3 */
    struct search_hit b = hit("tree", "green pear and red", m1, 1);
    /* ties are kept: 1 each */
    struct search_hit c = hit("red", "pear", NULL, 0);
    assert_true(search_filter_keep(SEARCH_FILTER_WORDS, &a, subs, lens, 2, 0));
    assert_false(search_filter_keep(SEARCH_FILTER_WORDS, &a, subs, lens, 2, 1));
    assert_false(search_filter_keep(SEARCH_FILTER_WORDS, &b, subs, lens, 2, 0));
    assert_true(search_filter_keep(SEARCH_FILTER_WORDS, &b, subs, lens, 2, 1));
    assert_true(search_filter_keep(SEARCH_FILTER_WORDS, &c, subs, lens, 2, 0));
    assert_true(search_filter_keep(SEARCH_FILTER_WORDS, &c, subs, lens, 2, 1));
    assert_true(search_filter_keep(SEARCH_FILTER_MATCH, &a, subs, lens, 2, 0));
    assert_false(search_filter_keep(SEARCH_FILTER_MATCH, &a, subs, lens, 2, 1));
    assert_false(search_filter_keep(SEARCH_FILTER_MATCH, &c, subs, lens, 2, 0));
    assert_true(search_filter_keep(SEARCH_FILTER_NONE, &c, subs, lens, 2, 1));
}

static void test_strip_redirect(void **state)
{
    (void)state;
    char a[] = "https://track.example/r?id=9&url=https%3A%2F%2Fsite.example%2Fp%3Fx%3D1&z=2";
    search_strip_redirect(a);
    assert_string_equal(a, "https://site.example/p?x=1");
    char b[] = "https://site.example/search?q=cats";
    search_strip_redirect(b);
    assert_string_equal(b, "https://site.example/search?q=cats");
    char c[] = "https://t.example/?u=http://x.example/%00y";
    search_strip_redirect(c);
    assert_string_equal(c, "https://t.example/?u=http://x.example/%00y");
}

static void test_sealed_round_trip(void **state)
{
    (void)state;
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN], pk2[HPKE_PUBLIC_LEN], sk2[HPKE_SECRET_LEN];
    uint8_t enc[HPKE_ENC_LEN], key[32], enc2[HPKE_ENC_LEN], key2[32], *req, *resp;
    size_t len, resplen;
    struct cloister_err err;
    struct xsearch_request rq = {3, SEARCH_FILTER_MATCH, 10, "private query"}, got;
    assert_int_equal(hpke_keypair(pk, sk), 0);
    assert_int_equal(hpke_keypair(pk2, sk2), 0);
    assert_int_equal(xsearch_request_seal(pk, &rq, &req, &len, enc, key, &err), CLOISTER_OK);
    assert_int_equal(len % XSEARCH_PAD, (XSEARCH_KEY_ID_LEN + HPKE_ENC_LEN + HPKE_TAG_LEN) %
                                            XSEARCH_PAD); /* the body is padded */
    assert_null(memmem(req, len, "private", 7));
    assert_int_equal(xsearch_request_open(pk, sk, req, len, &got, enc2, key2, &err), CLOISTER_OK);
    assert_string_equal(got.query, "private query");
    assert_int_equal(got.k, 3);
    assert_memory_equal(key, key2, 32);
    assert_int_equal(xsearch_request_open(pk2, sk2, req, len, &got, enc2, key2, &err),
                     CLOISTER_E_STATE); /* another key */
    for (size_t i = 0; i < len; i += 7) {
        req[i] ^= 1;
        assert_int_not_equal(xsearch_request_open(pk, sk, req, len, &got, enc2, key2, &err),
                             CLOISTER_OK);
        req[i] ^= 1;
    }
    assert_int_not_equal(xsearch_request_open(pk, sk, req, len - 1, &got, enc2, key2, &err),
                         CLOISTER_OK);

    char *m[] = {"private query"};
    struct search_hit v[] = {hit("t1", "s1", m, 1), hit("t2", "s2", NULL, 0)};
    struct search_hits h = {v, 2}, back;
    assert_int_equal(xsearch_response_seal(key, enc, &h, &resp, &resplen), CLOISTER_OK);
    assert_int_equal(xsearch_response_open(key, enc, resp, resplen, &back, &err), CLOISTER_OK);
    assert_int_equal(back.n, 2);
    assert_string_equal(back.v[1].title, "t2");
    assert_int_equal(back.v[0].nmatched, 1);
    assert_string_equal(back.v[0].matched[0], "private query");
    search_hits_free(&back);
    resp[resplen - 1] ^= 1;
    assert_int_equal(xsearch_response_open(key, enc, resp, resplen, &back, &err),
                     CLOISTER_E_DENIED);
    free(req);
    free(resp);
}

static void test_body_limits(void **state)
{
    (void)state;
    struct xsearch_request rq;
    struct cloister_err err;
    const uint8_t big_k[] = {65, 2, 10, 1, 'q', 0};
    const uint8_t bad_filter[] = {1, 3, 10, 1, 'q', 0};
    const uint8_t no_hits[] = {1, 2, 0, 1, 'q', 0};
    const uint8_t trailing[] = {1, 2, 10, 1, 'q', 0, 9};
    const uint8_t ok[] = {1, 2, 10, 1, 'q', 0};
    assert_int_equal(xsearch_body_decode(big_k, sizeof big_k, &rq, &err), CLOISTER_E_INVALID);
    assert_int_equal(xsearch_body_decode(bad_filter, sizeof bad_filter, &rq, &err),
                     CLOISTER_E_INVALID);
    assert_int_equal(xsearch_body_decode(no_hits, sizeof no_hits, &rq, &err), CLOISTER_E_INVALID);
    assert_int_equal(xsearch_body_decode(trailing, sizeof trailing, &rq, &err), CLOISTER_E_INVALID);
    assert_int_equal(xsearch_body_decode(ok, sizeof ok, &rq, &err), CLOISTER_OK);
    assert_string_equal(rq.query, "q");
}

/* search_log_stats on a log worked out by hand. */
static void test_log_stats(void **state)
{
    (void)state;
    struct search_log log = {0};
    struct search_log_stats st;
    const struct {
        uint32_t user;
        const char *q;
    } rows[] = {{1, "apple pie"}, {1, "cat"}, {1, "apple pie"}, {2, "apple"}, {2, "dog eel fox"}};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(
            search_log_add(&log, rows[i].user, (int64_t)i, rows[i].q, strlen(rows[i].q)),
            CLOISTER_OK);
    assert_int_equal(search_log_stats(&log, &st, NULL), CLOISTER_OK);
    assert_int_equal(st.users, 2);
    assert_int_equal(st.queries, 5);
    assert_true(st.per_user_min == 2 && st.per_user_max == 3 && st.per_user_median == 2.5);
    assert_true(st.words_mean > 1.79 && st.words_mean < 1.81);
    assert_true(st.words_share[0] == 0.4 && st.words_share[1] == 0.4 && st.words_share[2] == 0.2);
    assert_true(st.distinct_share == 0.8);
    assert_int_equal(st.vocabulary, 6);
    assert_true(st.shared_terms > 0.166 && st.shared_terms < 0.167); /* apple */
    assert_true(st.repeated_median > 0.166 && st.repeated_median < 0.167);
    assert_true(st.test_repeat == 1.0); /* user 1's test query is its first */
    search_log_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical),         cmocka_unit_test(test_history_ring),
        cmocka_unit_test(test_obfuscate_uniform), cmocka_unit_test(test_obfuscate_empty_history),
        cmocka_unit_test(test_filters),           cmocka_unit_test(test_strip_redirect),
        cmocka_unit_test(test_sealed_round_trip), cmocka_unit_test(test_body_limits),
        cmocka_unit_test(test_log_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
