/* test_scbr_aspe.c -- the ASPE baseline against the naive oracle, and what it refuses.
 *
 * Exact agreement on the numeric workload (every operator ASPE supports, ties included) and on
 * the stock workload with numbered symbols (prices on a cents grid, volumes in lots), values at
 * the edge of the 2^16 grid, and refusals of what ASPE cannot express. */
#include <cloister/scbr_aspe.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void against_naive(enum scbr_workload kind, const struct scbr_aspe_attr *schema, size_t n,
                          size_t nsubs, size_t npubs, uint64_t seed)
{
    char *st, *pt;
    size_t sl, pl;
    assert_int_equal(scbr_gen(kind, nsubs, npubs, seed, &st, &sl, &pt, &pl, NULL), 0);
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
    struct cloister_err err;
    assert_int_equal(scbr_parse_subs(st, sl, "s", &subs, &err), 0);
    assert_int_equal(scbr_parse_pubs(pt, pl, "p", &pubs, &err), 0);
    scbr_aspe_key *k = scbr_aspe_keygen(schema, n, &err);
    assert_non_null(k);
    scbr_aspe_index *ai = scbr_aspe_index_create(scbr_aspe_dim(k));
    scbr_index *naive = scbr_index_create(SCBR_INDEX_NAIVE, NULL);
    for (size_t i = 0; i < subs.n; i++) {
        if (scbr_aspe_index_add(ai, k, subs.v[i], (uint32_t)i, &err) != 0)
            fail_msg("subscription %zu: %s", i, err.msg);
        assert_int_equal(scbr_index_insert(naive, subs.v[i], (uint32_t)i, NULL), 0);
    }
    uint32_t *want = calloc(nsubs, sizeof *want), *got = calloc(nsubs, sizeof *got);
    size_t total = 0;
    for (size_t p = 0; p < pubs.n; p++) {
        double *ct = scbr_aspe_encrypt_pub(k, pubs.v[p], &err);
        if (!ct)
            fail_msg("publication %zu: %s", p, err.msg);
        size_t a = scbr_aspe_index_match(ai, ct, got, nsubs);
        size_t b = scbr_index_match(naive, pubs.v[p], want, nsubs);
        assert_int_equal(a, b);
        assert_memory_equal(got, want, a * sizeof *got);
        total += a;
        free(ct);
    }
    assert_true(total > 0);
    assert_true(scbr_aspe_index_bytes(ai) > nsubs * 2 * scbr_aspe_dim(k) * sizeof(double));
    free(want);
    free(got);
    scbr_index_destroy(naive);
    scbr_aspe_index_destroy(ai);
    scbr_aspe_key_free(k);
    scbr_sub_list_free(&subs);
    scbr_pub_list_free(&pubs);
    free(st);
    free(pt);
}

static void numeric_workload(void **state)
{
    const struct scbr_aspe_attr schema[] = {{"a0", 1}, {"a1", 1}, {"a2", 1}, {"a3", 1}, {"a4", 1}};
    against_naive(SCBR_WORKLOAD_NUMERIC, schema, 5, 600, 300, 1);
    against_naive(SCBR_WORKLOAD_NUMERIC, schema, 5, 300, 300, 2);
}

static void stock_workload(void **state)
{
    const struct scbr_aspe_attr schema[] = {{"symbol", 1},
                                            {"open", 100},
                                            {"high", 100},
                                            {"low", 100},
                                            {"volume", 0.01}};
    against_naive(SCBR_WORKLOAD_STOCK_NUMERIC, schema, 5, 1000, 600, 3);
}

static struct scbr_sub *sub(const char *text)
{
    struct cloister_err err;
    struct scbr_sub *s = scbr_parse_sub(text, strlen(text), "t", 1, &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

static struct scbr_pub *pub(const char *text)
{
    struct cloister_err err;
    struct scbr_pub *p = scbr_parse_pub(text, strlen(text), "t", 1, &err);
    if (!p)
        fail_msg("%s", err.msg);
    return p;
}

/* Ties and neighbours at the edge of the grid, with fractional thresholds. */
static void grid_edges(void **state)
{
    const struct scbr_aspe_attr schema[] = {{"x", 1}, {"y", 100}};
    struct cloister_err err;
    scbr_aspe_key *k = scbr_aspe_keygen(schema, 2, &err);
    scbr_aspe_index *ai = scbr_aspe_index_create(scbr_aspe_dim(k));
    scbr_index *naive = scbr_index_create(SCBR_INDEX_NAIVE, NULL);
    const char *subs[] = {"x >= 65535",          "x > 65535",   "x <= -65536",
                          "x < 65535.5",         "x = 65535.5", "x = -65536 and y exists",
                          "y >= 1.005",          "y < 655.35",  "y = 0.01",
                          "x > -0.5 and x < 0.5"};
    size_t ns = sizeof subs / sizeof subs[0];
    for (size_t i = 0; i < ns; i++) {
        struct scbr_sub *s = sub(subs[i]);
        assert_int_equal(scbr_aspe_index_add(ai, k, s, (uint32_t)i, &err), 0);
        assert_int_equal(scbr_index_insert(naive, s, (uint32_t)i, NULL), 0);
        scbr_sub_free(s);
    }
    const char *pubs[] = {"x = 65535, y = 655.35", "x = 65536, y = 1.01", "x = -65536, y = 0.01",
                          "x = 0, y = 1.00", "x = 65534, y = -655.36"};
    for (size_t i = 0; i < sizeof pubs / sizeof pubs[0]; i++) {
        struct scbr_pub *p = pub(pubs[i]);
        double *ct = scbr_aspe_encrypt_pub(k, p, &err);
        assert_non_null(ct);
        uint32_t a[16], b[16];
        size_t na = scbr_aspe_index_match(ai, ct, a, 16);
        size_t nb = scbr_index_match(naive, p, b, 16);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * sizeof *a);
        free(ct);
        scbr_pub_free(p);
    }
    scbr_index_destroy(naive);
    scbr_aspe_index_destroy(ai);
    scbr_aspe_key_free(k);
}

static void refusals(void **state)
{
    const struct scbr_aspe_attr schema[] = {{"x", 1}, {"s", 1}};
    struct cloister_err err;
    scbr_aspe_key *k = scbr_aspe_keygen(schema, 2, &err);
    scbr_aspe_index *ai = scbr_aspe_index_create(scbr_aspe_dim(k));
    const struct {
        const char *sub, *msg;
    } cases[] = {
        {"x != 1", "aspe: cannot express 'x !=' (only = < <= > >= on numbers)"},
        {"s prefix \"a\"", "aspe: cannot express 's prefix' (only = < <= > >= on numbers)"},
        {"s = \"a\"", "aspe: cannot express 's =' (only = < <= > >= on numbers)"},
        {"z = 1", "aspe: attribute 'z' is not in the schema"},
        {"x > 65537", "aspe: bound on 'x' is beyond 2^16 after scaling"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct scbr_sub *s = sub(cases[i].sub);
        assert_int_equal(scbr_aspe_index_add(ai, k, s, 0, &err), CLOISTER_E_INVALID);
        assert_string_equal(err.msg, cases[i].msg);
        scbr_sub_free(s);
    }
    const struct {
        const char *pub, *msg;
    } pcases[] = {
        {"x = 1", "aspe: the publication lacks numeric attribute 's'"},
        {"x = 1, s = \"a\"", "aspe: the publication lacks numeric attribute 's'"},
        {"x = 1.5, s = 1", "aspe: 'x' is off the grid or beyond 2^16 after scaling"},
        {"x = 70000, s = 1", "aspe: 'x' is off the grid or beyond 2^16 after scaling"},
    };
    for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
        struct scbr_pub *p = pub(pcases[i].pub);
        assert_null(scbr_aspe_encrypt_pub(k, p, &err));
        assert_string_equal(err.msg, pcases[i].msg);
        scbr_pub_free(p);
    }
    const struct scbr_aspe_attr bad[] = {{"x", 0}};
    assert_null(scbr_aspe_keygen(bad, 1, &err));
    scbr_aspe_index_destroy(ai);
    scbr_aspe_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numeric_workload),
        cmocka_unit_test(stock_workload),
        cmocka_unit_test(grid_edges),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
