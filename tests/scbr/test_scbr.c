/* test_scbr.c -- the SCBR data model, text language, wire encoding and the poset's fixes.
 *
 * Semantics (missing and incomparable attributes, exact int/double comparison, prefix,
 * exists), parser errors with their exact messages, format/parse and encode/decode round trips,
 * decoder refusals, and one regression test per bug of the original SCBR poset. */
#include <cloister/scbr.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scbr/index/scbr_cover.h"

static struct scbr_sub *sub(const char *text)
{
    struct cloister_err err;
    struct scbr_sub *s = scbr_parse_sub(text, strlen(text), "t", 1, &err);
    if (!s)
        fail_msg("'%s' does not parse: %s", text, err.msg);
    return s;
}

static struct scbr_pub *pub(const char *text)
{
    struct cloister_err err;
    struct scbr_pub *p = scbr_parse_pub(text, strlen(text), "t", 1, &err);
    if (!p)
        fail_msg("'%s' does not parse: %s", text, err.msg);
    return p;
}

static bool matches(const char *s_text, const char *p_text)
{
    struct scbr_sub *s = sub(s_text);
    struct scbr_pub *p = pub(p_text);
    bool m = scbr_sub_matches(s, p);
    scbr_sub_free(s);
    scbr_pub_free(p);
    return m;
}

static void semantics(void **state)
{
    assert_true(matches("x != 5", "x = 4"));
    assert_false(matches("x != 5", "y = 4"));     /* missing attribute */
    assert_false(matches("x != 5", "x = \"5\"")); /* incomparable */
    assert_false(matches("x < \"b\"", "x = 1"));
    assert_true(matches("x = 5", "x = 5.0"));
    assert_true(matches("x = 5.0", "x = 5"));
    assert_true(matches("x >= 2.5 and x < 3", "x = 2.5"));
    assert_false(matches("x >= 2.5 and x < 3", "x = 3"));
    /* Exact: 2^53 + 1 is not the double 2^53 though (double)(2^53 + 1) is. */
    assert_false(matches("x = 9007199254740993", "x = 9007199254740992.0"));
    assert_true(matches("x > 9007199254740992.0", "x = 9007199254740993"));
    assert_true(matches("x < -9223372036854775808.5", "x = -1e19"));
    assert_true(matches("x > 9223372036854775807", "x = 1e19"));
    assert_true(matches("x < 1e19", "x = 9223372036854775807"));
    assert_true(matches("s prefix \"ab\"", "s = \"abc\""));
    assert_true(matches("s prefix \"\"", "s = \"\""));
    assert_false(matches("s prefix \"ab\"", "s = \"a\""));
    assert_false(matches("s prefix \"1\"", "s = 12"));
    assert_true(matches("s exists", "s = 12"));
    assert_true(matches("s exists and t exists", "t = \"x\", s = 1.5"));
    assert_false(matches("s exists", "t = 1"));
    assert_true(matches("s < \"b\" and s > \"a\"", "s = \"ab\""));
    assert_true(matches("s < \"\xc3\xa9\"", "s = \"z\"")); /* bytewise */
    assert_true(matches("q = \"a\\\"b\\\\\"", "q = \"a\\\"b\\\\\""));
    assert_true(matches("x.y_2 = -3  # comment", "x.y_2 = -3 # comment"));
}

static void parse_error(const char *text, bool is_sub, const char *want)
{
    struct cloister_err err = {0};
    void *r = is_sub ? (void *)scbr_parse_sub(text, strlen(text), "f", 1, &err)
                     : (void *)scbr_parse_pub(text, strlen(text), "f", 1, &err);
    if (r)
        fail_msg("'%s' parsed", text);
    assert_string_equal(err.msg, want);
}

static void parser_errors(void **state)
{
    parse_error("x >", true,
                "f:1:4: expected a value (integer, decimal or \"string\"), found end of line");
    parse_error("x = 5 y = 3", true, "f:1:7: expected 'and' or the end of the line, found 'y'");
    parse_error("5 = x", true, "f:1:1: expected an attribute name, found '5'");
    parse_error("x prefix 5", true, "f:1:10: expected a \"string\" after prefix, found '5'");
    parse_error("x = \"abc", true, "f:1:9: expected a closing '\"', found end of line");
    parse_error("x ~ 3", true,
                "f:1:3: expected an operator (= != < <= > >= exists prefix), found '~'");
    parse_error("x = 1.", true, "f:1:7: expected digits after the decimal point, found none");
    parse_error("x = 1e", true, "f:1:7: expected exponent digits, found none");
    parse_error("x = 12ab", true,
                "f:1:7: expected a separator after the number, found more "
                "characters");
    parse_error("x = \"a\\nb\"", true,
                "f:1:7: expected \\\" or \\\\ (the only escapes), found another backslash "
                "sequence");
    parse_error("x = 99999999999999999999", true,
                "f:1:5: expected a 64-bit integer, found one out of range");
    parse_error("x = 1e999", true, "f:1:5: expected a finite decimal, found one out of range");
    parse_error("x = \"\xff\"", true,
                "f:1:5: expected a UTF-8 string, found invalid UTF-8 or a "
                "NUL byte");
    parse_error("", true, "f:1:1: expected an attribute name, found end of line");
    parse_error("x = 1 and", true, "f:1:10: expected an attribute name, found end of line");
    parse_error("a = 1, a = 2", false,
                "f:1:8: expected a new attribute name, found a repeated one");
    parse_error("a = 1 b = 2", false, "f:1:7: expected ',' or the end of the line, found 'b'");
    parse_error("a > 1", false, "f:1:3: expected '=', found '>'");
    parse_error("a = 1,", false, "f:1:7: expected an attribute name, found end of line");
    parse_error("a = \x01", false,
                "f:1:5: expected a value (integer, decimal or \"string\"), found byte 0x01");

    const char *file = "# header\n\nx = 1\n  # indented comment\r\nx > 2 and y exists\r\n y >\n";
    struct scbr_sub_list l;
    struct cloister_err err;
    assert_int_equal(scbr_parse_subs(file, strlen(file), "subs.txt", &l, &err), CLOISTER_E_INVALID);
    assert_string_equal(err.msg, "subs.txt:6:5: expected a value (integer, decimal or "
                                 "\"string\"), found end of line");
    assert_int_equal(scbr_parse_subs(file, strlen(file) - 5, "subs.txt", &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[1]->n, 2);
    scbr_sub_list_free(&l);
}

static void round_trips(void **state)
{
    const char *subs[] = {"x = 1 and y != -2.5 and s prefix \"a\\\"\\\\\" and t exists",
                          "v >= 1e+300 and v < 5.0 and w <= \"\" and z > -9223372036854775808"};
    for (size_t i = 0; i < 2; i++) {
        struct scbr_sub *s = sub(subs[i]);
        char *text = scbr_sub_format(s);
        struct scbr_sub *again = sub(text);
        char *text2 = scbr_sub_format(again);
        assert_string_equal(text, text2);
        size_t len;
        uint8_t *wire = scbr_sub_encode(s, &len);
        struct cloister_err err;
        struct scbr_sub *dec = scbr_sub_decode(wire, len, &err);
        assert_non_null(dec);
        char *text3 = scbr_sub_format(dec);
        assert_string_equal(text, text3);
        /* Every truncation and every single-byte change is refused or decodes to something
         * valid; never a crash (ASan watches). */
        for (size_t cut = 0; cut < len; cut++)
            assert_null(scbr_sub_decode(wire, cut, &err));
        for (size_t k = 0; k < len; k++) {
            wire[k] ^= 0x41;
            struct scbr_sub *t = scbr_sub_decode(wire, len, &err);
            scbr_sub_free(t);
            wire[k] ^= 0x41;
        }
        free(text), free(text2), free(text3), free(wire);
        scbr_sub_free(s), scbr_sub_free(again), scbr_sub_free(dec);
    }
    struct scbr_pair pairs[] = {{"z", {.type = SCBR_INT, .u.i = 7}},
                                {"a", {.type = SCBR_STRING, .u.s = {"hi", 2}}}};
    struct cloister_err err;
    struct scbr_pub *p = scbr_pub_new(pairs, 2, "payload", 7, &err);
    assert_non_null(p);
    assert_string_equal(p->pairs[0].name, "a"); /* sorted */
    size_t len;
    uint8_t *wire = scbr_pub_encode(p, &len);
    struct scbr_pub *dec = scbr_pub_decode(wire, len, &err);
    assert_non_null(dec);
    assert_int_equal(dec->payload_len, 7);
    assert_memory_equal(dec->payload, "payload", 7);
    char *a = scbr_pub_format(p), *b = scbr_pub_format(dec);
    assert_string_equal(a, "a = \"hi\", z = 7");
    assert_string_equal(a, b);
    for (size_t cut = 0; cut < len; cut++)
        assert_null(scbr_pub_decode(wire, cut, &err));
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, wire, len);
    longer[len] = 0;
    assert_null(scbr_pub_decode(longer, len + 1, &err));
    assert_string_equal(err.msg, "wire: offset 32: trailing bytes after the message");
    free(longer), free(a), free(b), free(wire);
    scbr_pub_free(p), scbr_pub_free(dec);
}

static void builder_refusals(void **state)
{
    struct cloister_err err;
    struct scbr_pair dup[] = {{"a", {.type = SCBR_INT}}, {"a", {.type = SCBR_INT}}};
    assert_null(scbr_pub_new(dup, 2, NULL, 0, &err));
    assert_string_equal(err.msg, "attribute 'a' appears twice");
    struct scbr_pair bad[] = {{"1a", {.type = SCBR_INT}}};
    assert_null(scbr_pub_new(bad, 1, NULL, 0, &err));
    struct scbr_pred nan[] = {{"x", SCBR_EQ, {.type = SCBR_DOUBLE, .u.d = __builtin_nan("")}}};
    assert_null(scbr_sub_new(nan, 1, &err));
    assert_string_equal(err.msg, "x: number is not finite");
    struct scbr_pred pfx[] = {{"x", SCBR_PREFIX, {.type = SCBR_INT}}};
    assert_null(scbr_sub_new(pfx, 1, &err));
    assert_null(scbr_sub_new(pfx, 0, &err));
}

static bool covers(const char *a, const char *b)
{
    struct scbr_sub *sa = sub(a), *sb = sub(b);
    bool r = scbr_covers(sa, sb);
    scbr_sub_free(sa);
    scbr_sub_free(sb);
    return r;
}

static void covering_relation(void **state)
{
    /* Original bug 1: {x = 5} was judged equivalent to {x >= 5, x <= 10}. */
    assert_true(covers("x >= 5 and x <= 10", "x = 5"));
    assert_false(covers("x = 5", "x >= 5 and x <= 10"));
    assert_true(covers("x = 5", "x >= 5 and x <= 5"));
    assert_true(covers("x > 1", "x >= 2"));
    assert_false(covers("x > 2", "x >= 2"));
    assert_true(covers("x != 3", "x > 3"));
    assert_true(covers("x != 3", "x != 3.0"));
    assert_false(covers("x != 3", "x exists"));
    assert_true(covers("x exists", "x != \"a\""));
    assert_true(covers("s prefix \"a\"", "s prefix \"ab\""));
    assert_true(covers("s >= \"ab\"", "s prefix \"ab\""));
    assert_false(covers("s prefix \"ab\"", "s >= \"ab\""));
    assert_false(covers("x > 1", "x > \"1\""));
    assert_true(covers("x > 1", "x > 1 and y = 2"));
    assert_false(covers("x > 1 and y = 2", "x > 1"));
}

static size_t match_ids(scbr_index *idx, const char *p_text, uint32_t *ids)
{
    struct scbr_pub *p = pub(p_text);
    size_t n = scbr_index_match(idx, p, ids, 16);
    scbr_pub_free(p);
    return n;
}

static void insert(scbr_index *idx, const char *text, uint32_t id)
{
    struct scbr_sub *s = sub(text);
    assert_int_equal(scbr_index_insert(idx, s, id, NULL), 0);
    scbr_sub_free(s);
}

static void poset_point_vs_range(void **state)
{
    scbr_index *idx = scbr_index_create(SCBR_INDEX_POSET, NULL);
    insert(idx, "x = 5", 0);
    insert(idx, "x >= 5 and x <= 10", 1);
    uint32_t ids[16];
    assert_int_equal(match_ids(idx, "x = 7", ids), 1); /* the original missed this one */
    assert_int_equal(ids[0], 1);
    assert_int_equal(match_ids(idx, "x = 5", ids), 2);
    struct scbr_index_stats st;
    scbr_index_stats(idx, &st);
    assert_int_equal(st.nodes, 2);
    assert_int_equal(st.roots, 1);
    scbr_index_destroy(idx);
}

/* Original bug 2: the search for an equivalent node followed only the first covering child.
 * Here the equivalent of {x >= 0 and y >= 0 and z >= 0} sits below two covering nodes, and
 * other covering nodes come first; every rewriting of it must merge into the same node. */
static void poset_equivalent_found_anywhere(void **state)
{
    scbr_index *idx = scbr_index_create(SCBR_INDEX_POSET, NULL);
    insert(idx, "x >= 0", 0);
    insert(idx, "x >= 0 and w exists", 1);
    insert(idx, "x >= 0 and y >= 0", 2);
    insert(idx, "x >= 0 and z >= 0", 3);
    insert(idx, "x >= 0 and y >= 0 and z >= 0", 4);
    insert(idx, "x >= 0 and y >= 0 and z >= 0 and w exists", 5);
    struct scbr_index_stats before, after;
    scbr_index_stats(idx, &before);
    insert(idx, "z >= 0 and y >= 0 and x >= 0", 6);
    insert(idx, "z >= 0 and y >= -1 and x >= 0 and y >= 0", 7);
    insert(idx, "y > -0.5 and y >= 0 and z >= 0 and x >= 0", 8);
    scbr_index_stats(idx, &after);
    assert_int_equal(after.nodes, before.nodes);
    assert_int_equal(after.subscriptions, 9);
    uint32_t ids[16];
    assert_int_equal(match_ids(idx, "x = 1, y = 1, z = 1", ids), 7);
    const uint32_t want[] = {0, 2, 3, 4, 6, 7, 8};
    assert_memory_equal(ids, want, sizeof want);

    /* The same on the stock workload: every subscription rewritten (predicates reversed) is
     * merged, whatever the DAG looks like. */
    char *st, *pt;
    size_t sl, pl;
    assert_int_equal(scbr_gen(SCBR_WORKLOAD_STOCK, 400, 0, 9, &st, &sl, &pt, &pl, NULL), 0);
    struct scbr_sub_list l;
    struct cloister_err err;
    assert_int_equal(scbr_parse_subs(st, sl, "s", &l, &err), 0);
    scbr_index *stock = scbr_index_create(SCBR_INDEX_POSET, NULL);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(scbr_index_insert(stock, l.v[i], (uint32_t)i, NULL), 0);
    scbr_index_stats(stock, &before);
    for (size_t i = 0; i < l.n; i++) {
        struct scbr_sub *s = l.v[i];
        for (size_t a = 0, b = s->n - 1; a < b; a++, b--) {
            struct scbr_pred t = s->preds[a];
            s->preds[a] = s->preds[b];
            s->preds[b] = t;
        }
        assert_int_equal(scbr_index_insert(stock, s, (uint32_t)(1000 + i), NULL), 0);
    }
    scbr_index_stats(stock, &after);
    assert_int_equal(after.nodes, before.nodes);
    scbr_index_destroy(stock);
    scbr_sub_list_free(&l);
    free(st);
    free(pt);
    scbr_index_destroy(idx);
}

/* Original bug 3: removal did not maintain merged duplicates. */
static void poset_remove_duplicates(void **state)
{
    scbr_index *idx = scbr_index_create(SCBR_INDEX_POSET, NULL);
    insert(idx, "x > 1", 0);
    insert(idx, "x > 1 and x > 0", 1);
    insert(idx, "x > 1 and y = 2", 2);
    uint32_t ids[16];
    assert_int_equal(scbr_index_remove(idx, 0, NULL), 0);
    assert_int_equal(match_ids(idx, "x = 3, y = 2", ids), 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    struct scbr_index_stats st;
    scbr_index_stats(idx, &st);
    assert_int_equal(st.nodes, 2);
    assert_int_equal(scbr_index_remove(idx, 1, NULL), 0);
    assert_int_equal(match_ids(idx, "x = 3, y = 2", ids), 1);
    assert_int_equal(ids[0], 2);
    scbr_index_stats(idx, &st);
    assert_int_equal(st.nodes, 1);
    assert_int_equal(st.roots, 1); /* the orphan moved up to the top */
    scbr_index_destroy(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(semantics),
        cmocka_unit_test(parser_errors),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(builder_refusals),
        cmocka_unit_test(covering_relation),
        cmocka_unit_test(poset_point_vs_range),
        cmocka_unit_test(poset_equivalent_found_anywhere),
        cmocka_unit_test(poset_remove_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
