/* test_scbr_diff.c -- differential test of the matching engines against the naive oracle.
 *
 * Random workloads (every operator, ints, doubles, strings, missing and incomparable
 * attributes) and the stock workload: poset and fast must return exactly naive's ids for every
 * publication, through at least 10^6 (subscription, publication) pairs of the random workload in
 * every build (the engines are fast enough that sanitizers need no cut). The random run also
 * counts, per (operator, subscription value type, publication value type or missing), how many
 * predicate tests held and failed, and requires every cell to occur -- and both outcomes where
 * the types are comparable -- so "all operators and types" is checked, not assumed. Then edge
 * values (2^53 + 1 against doubles, int64 limits, -0.0, empty and multibyte strings), the poset
 * regression scenarios of the original SCBR (point vs range, equivalent subscriptions reached
 * through any covering node, removal of merged duplicates) run against naive too, random
 * interleavings of inserts and removals (with duplicate subscriptions, so the poset merges),
 * re-checked after every step batch, and the error paths of the interface. */
#include <cloister/scbr.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct workload {
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
};

static void load(struct workload *w, enum scbr_workload kind, size_t nsubs, size_t npubs,
                 uint64_t seed)
{
    char *st, *pt;
    size_t sl, pl;
    assert_int_equal(scbr_gen(kind, nsubs, npubs, seed, &st, &sl, &pt, &pl, NULL), 0);
    struct cloister_err err = {0};
    if (scbr_parse_subs(st, sl, "subs", &w->subs, &err) != 0 ||
        scbr_parse_pubs(pt, pl, "pubs", &w->pubs, &err) != 0)
        fail_msg("generated workload does not parse: %s", err.msg);
    assert_int_equal(w->subs.n, nsubs);
    assert_int_equal(w->pubs.n, npubs);
    free(st);
    free(pt);
}

static void unload(struct workload *w)
{
    scbr_sub_list_free(&w->subs);
    scbr_pub_list_free(&w->pubs);
}

/* Compares every engine's answer with naive's on every publication; returns total matches. */
static size_t compare_all(scbr_index *const *idx, size_t nidx, const struct scbr_pub_list *pubs,
                          size_t cap)
{
    uint32_t *want = calloc(cap + 1, sizeof *want), *got = calloc(cap + 1, sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    size_t total = 0;
    for (size_t p = 0; p < pubs->n; p++) {
        size_t n = scbr_index_match(idx[0], pubs->v[p], want, cap);
        assert_true(n <= cap);
        for (size_t k = 1; k < n; k++)
            assert_true(want[k - 1] < want[k]);
        total += n;
        for (size_t e = 1; e < nidx; e++) {
            size_t m = scbr_index_match(idx[e], pubs->v[p], got, cap);
            if (m != n || memcmp(want, got, n * sizeof *got) != 0) {
                char *text = scbr_pub_format(pubs->v[p]);
                fail_msg("engine %zu: %zu matches instead of %zu on publication %zu: %s", e, m, n,
                         p, text);
            }
        }
    }
    free(want);
    free(got);
    return total;
}

/* Cells of the coverage table: operator x subscription value type x publication value. */
enum { HAVE_MISSING = 3, NHAVE = 4 };

struct cell {
    size_t held, failed;
};

static bool comparable(enum scbr_type a, int have)
{
    if (have == HAVE_MISSING)
        return false;
    return (a == SCBR_STRING) == (have == SCBR_STRING);
}

/* Every (operator, value type, publication value or missing) combination the language allows
 * occurs among the workload's predicate tests; comparable ones both hold and fail. */
static void check_coverage(const struct workload *w)
{
    struct cell cells[SCBR_EXISTS + 1][3][NHAVE];
    memset(cells, 0, sizeof cells);
    for (size_t i = 0; i < w->subs.n; i++) {
        const struct scbr_sub *s = w->subs.v[i];
        for (size_t p = 0; p < w->pubs.n; p++)
            for (size_t k = 0; k < s->n; k++) {
                const struct scbr_pred *q = &s->preds[k];
                const struct scbr_value *have = scbr_pub_get(w->pubs.v[p], q->name);
                int have_type = have ? (int)have->type : HAVE_MISSING;
                struct cell *c = &cells[q->op][q->value.type][have_type];
                if (scbr_pred_holds(q, w->pubs.v[p]))
                    c->held++;
                else
                    c->failed++;
            }
    }
    for (int op = SCBR_EQ; op <= SCBR_EXISTS; op++)
        for (int t = SCBR_INT; t <= SCBR_STRING; t++) {
            if ((op == SCBR_PREFIX && t != SCBR_STRING) || (op == SCBR_EXISTS && t != SCBR_INT))
                continue; /* prefix takes strings only; exists carries no value */
            for (int h = 0; h < NHAVE; h++) {
                const struct cell *c = &cells[op][t][h];
                if (c->held + c->failed == 0)
                    fail_msg("no test of op %d on a type-%d value against have %d", op, t, h);
                bool both = op == SCBR_EXISTS ? false : comparable((enum scbr_type)t, h);
                if (both && (!c->held || !c->failed))
                    fail_msg("op %d, type %d vs have %d: held %zu, failed %zu", op, t, h, c->held,
                             c->failed);
                if (!both && op != SCBR_EXISTS && c->held)
                    fail_msg("op %d held on incomparable types %d vs %d", op, t, h);
                if (op == SCBR_EXISTS && (h == HAVE_MISSING ? c->held != 0 : c->failed != 0))
                    fail_msg("exists wrong against have %d", h);
            }
        }
}

/* Registers every subscription of w (ids in file order) in one index per engine. */
static void build_all(scbr_index *idx[3], const struct scbr_sub_list *subs)
{
    for (int k = 0; k < 3; k++) {
        idx[k] = scbr_index_create((enum scbr_index_kind)k, NULL);
        assert_non_null(idx[k]);
        for (size_t i = 0; i < subs->n; i++)
            assert_int_equal(scbr_index_insert(idx[k], subs->v[i], (uint32_t)i, NULL), 0);
    }
}

static void destroy_all(scbr_index *idx[3])
{
    for (int k = 0; k < 3; k++)
        scbr_index_destroy(idx[k]);
}

static void differential(enum scbr_workload kind, size_t nsubs, size_t npubs, uint64_t seed)
{
    struct workload w;
    load(&w, kind, nsubs, npubs, seed);
    scbr_index *idx[3];
    build_all(idx, &w.subs);
    size_t total = compare_all(idx, 3, &w.pubs, nsubs);
    static const char *const names[] = {"stock", "random", "numeric"};
    print_message("%s: %zu subs x %zu pubs = %zu pairs, %zu matches\n", names[kind], nsubs, npubs,
                  nsubs * npubs, total);
    assert_true(total > 0);
    if (kind == SCBR_WORKLOAD_RANDOM)
        check_coverage(&w);
    destroy_all(idx);
    unload(&w);
}

static void random_million_pairs(void **state)
{
    differential(SCBR_WORKLOAD_RANDOM, 2000, 500, 1); /* 10^6 pairs */
    differential(SCBR_WORKLOAD_RANDOM, 300, 300, 2);
}

static void stock_pairs(void **state)
{
    differential(SCBR_WORKLOAD_STOCK, 2000, 500, 3);
}

static void numeric_pairs(void **state)
{
    differential(SCBR_WORKLOAD_NUMERIC, 500, 200, 4);
}

/* Parses texts into a workload (one item per line). */
static void load_text(struct workload *w, const char *subs, const char *pubs)
{
    struct cloister_err err = {0};
    if (scbr_parse_subs(subs, strlen(subs), "subs", &w->subs, &err) != 0 ||
        scbr_parse_pubs(pubs, strlen(pubs), "pubs", &w->pubs, &err) != 0)
        fail_msg("scenario does not parse: %s", err.msg);
}

/* All engines against naive on the scenario, then again after each removal (ids in order). */
static void scenario(const char *subs, const char *pubs, const uint32_t *removals, size_t nrem)
{
    struct workload w;
    load_text(&w, subs, pubs);
    scbr_index *idx[3];
    build_all(idx, &w.subs);
    size_t total = compare_all(idx, 3, &w.pubs, w.subs.n);
    assert_true(total > 0);
    for (size_t r = 0; r < nrem; r++) {
        for (int k = 0; k < 3; k++)
            assert_int_equal(scbr_index_remove(idx[k], removals[r], NULL), 0);
        compare_all(idx, 3, &w.pubs, w.subs.n);
    }
    destroy_all(idx);
    unload(&w);
}

/* Every value of x on a half-step grid around the scenarios' constants, as int and double. */
static char *grid_pubs(const char *fmt_extra)
{
    struct {
        char *buf;
        size_t len;
    } t = {malloc(1 << 16), 0};
    assert_non_null(t.buf);
    for (int h = -4; h <= 24; h++) {
        if (h % 2 == 0)
            t.len += (size_t)snprintf(t.buf + t.len, 64, "x = %d%s\n", h / 2, fmt_extra);
        t.len += (size_t)snprintf(t.buf + t.len, 64, "x = %.1f%s\n", h / 2.0, fmt_extra);
    }
    return t.buf;
}

/* The original SCBR poset's bugs (reference: scbr.md), replayed against naive on every engine. */
static void poset_regressions(void **state)
{
    /* Bug 1: {x = 5} judged equivalent to {x >= 5, x <= 10}: x = 7 missed the range. */
    char *pubs = grid_pubs("");
    const uint32_t rm1[] = {0, 2};
    scenario("x = 5\nx >= 5 and x <= 10\nx >= 5 and x <= 5\nx = 5.0\nx > 4.5 and x < 5.5\n", pubs,
             rm1, 2);
    free(pubs);

    /* Bug 2: the equivalent node sits below several covering nodes, not the first child; every
     * rewriting must merge, and no cycle may form (a cycle would loop or drop matches). */
    const char *subs2 = "x >= 0\nx >= 0 and w exists\nx >= 0 and y >= 0\nx >= 0 and z >= 0\n"
                        "x >= 0 and y >= 0 and z >= 0\nx >= 0 and y >= 0 and z >= 0 and w exists\n"
                        "z >= 0 and y >= 0 and x >= 0\n"
                        "z >= 0 and y >= -1 and x >= 0 and y >= 0\n"
                        "y > -0.5 and y >= 0 and z >= 0 and x >= 0\n";
    char pubs2[8192];
    size_t len = 0;
    for (int m = 0; m < 81 * 2; m++) /* x, y, z in {-1, 0, 1}, with and without w */
        len += (size_t)snprintf(pubs2 + len, sizeof pubs2 - len, "x = %d, y = %d, z = %d%s\n",
                                m % 3 - 1, m / 3 % 3 - 1, m / 9 % 3 - 1,
                                m / 81 ? ", w = \"on\"" : "");
    const uint32_t rm2[] = {4, 6, 0, 8, 2};
    scenario(subs2, pubs2, rm2, 5);

    /* Bug 3: removal lost the other merged duplicates. */
    const uint32_t rm3[] = {0, 1, 3};
    pubs = grid_pubs(", y = 2");
    scenario("x > 1\nx > 1 and x > 0\nx > 1 and y = 2\nx > 1.0\n", pubs, rm3, 3);
    free(pubs);
}

/* Values at the edges of the number model: integers past 2^53 against the doubles around
 * them, int64 limits against doubles beyond them, -0.0 against 0, tiny doubles, empty and
 * multibyte strings; random subscriptions of 1-3 predicates over two attributes. */
static void edge_values(void **state)
{
    static const char *const values[] = {"0",
                                         "-0.0",
                                         "0.0",
                                         "1",
                                         "1.0",
                                         "1.5",
                                         "-1",
                                         "9007199254740992",
                                         "9007199254740993",
                                         "9007199254740992.0",
                                         "9007199254740994.0",
                                         "9223372036854775807",
                                         "-9223372036854775808",
                                         "9.3e18",
                                         "-9.3e18",
                                         "9.223372036854775807e18",
                                         "1e-300",
                                         "\"\"",
                                         "\"a\"",
                                         "\"\xc3\xa9\"",
                                         "\"\\\\\""};
    static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">=", "prefix", "exists"};
    const size_t nv = sizeof values / sizeof *values, nsubs = 600, npubs = 300;
    char *subs = malloc(nsubs * 200), *pubs = malloc(npubs * 100);
    assert_non_null(subs);
    assert_non_null(pubs);
    size_t sl = 0, pl = 0;
    uint64_t x = 99;
#define NEXT(n) ((x = x * 6364136223846793005ull + 1442695040888963407ull), (x >> 33) % (n))
    for (size_t i = 0; i < nsubs; i++) {
        size_t n = 1 + NEXT(3);
        for (size_t k = 0; k < n; k++) {
            const char *op = ops[NEXT(8)], *v = values[NEXT(nv)];
            if (strcmp(op, "prefix") == 0)
                v = values[nv - 1 - NEXT(4)];
            sl += (size_t)sprintf(subs + sl, "%s%s %s %s", k ? " and " : "", NEXT(2) ? "x" : "y",
                                  op, strcmp(op, "exists") ? v : "");
        }
        subs[sl++] = '\n';
    }
    for (size_t p = 0; p < npubs; p++) {
        uint64_t which = NEXT(3); /* x only, y only, both */
        if (which != 1)
            pl += (size_t)sprintf(pubs + pl, "x = %s", values[NEXT(nv)]);
        if (which != 0)
            pl += (size_t)sprintf(pubs + pl, "%sy = %s", which == 2 ? ", " : "", values[NEXT(nv)]);
        pubs[pl++] = '\n';
    }
#undef NEXT
    subs[sl] = pubs[pl] = 0;
    scenario(subs, pubs, NULL, 0);
    free(subs);
    free(pubs);
}

/* Inserts and removes at random (each subscription registered under two ids half the time, so
 * the poset holds merged duplicates), checking all engines agree after every batch. */
static void interleavings(void **state)
{
    struct workload w;
    size_t nsubs = 400;
    load(&w, SCBR_WORKLOAD_RANDOM, nsubs, 60, 5);
    scbr_index *idx[3];
    for (int k = 0; k < 3; k++)
        assert_non_null(idx[k] = scbr_index_create((enum scbr_index_kind)k, NULL));
    size_t nids = 2 * nsubs;
    bool *in = calloc(nids, sizeof *in);
    uint64_t x = 12345;
    for (int round = 0; round < 40; round++) {
        for (int step = 0; step < 60; step++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t id = (uint32_t)((x >> 33) % nids);
            const struct scbr_sub *s = w.subs.v[id % nsubs];
            for (int k = 0; k < 3; k++) {
                if (in[id]) {
                    assert_int_equal(scbr_index_remove(idx[k], id, NULL), 0);
                    assert_int_equal(scbr_index_remove(idx[k], id, NULL), CLOISTER_E_NOT_FOUND);
                } else {
                    assert_int_equal(scbr_index_insert(idx[k], s, id, NULL), 0);
                    assert_int_equal(scbr_index_insert(idx[k], s, id, NULL), CLOISTER_E_EXISTS);
                }
            }
            in[id] = !in[id];
        }
        compare_all(idx, 3, &w.pubs, nids);
        struct scbr_index_stats st[3];
        for (int k = 0; k < 3; k++)
            scbr_index_stats(idx[k], &st[k]);
        assert_int_equal(st[0].subscriptions, st[1].subscriptions);
        assert_int_equal(st[0].subscriptions, st[2].subscriptions);
        assert_int_equal(st[0].predicates, st[2].predicates);
    }
    /* Empty everything: all engines return to no matches and (naive, fast) to no records. */
    for (uint32_t id = 0; id < nids; id++)
        if (in[id])
            for (int k = 0; k < 3; k++)
                assert_int_equal(scbr_index_remove(idx[k], id, NULL), 0);
    for (int k = 0; k < 3; k++) {
        struct scbr_index_stats st;
        scbr_index_stats(idx[k], &st);
        assert_int_equal(st.subscriptions, 0);
        assert_int_equal(st.nodes, 0);
        for (size_t p = 0; p < w.pubs.n; p++)
            assert_int_equal(scbr_index_match(idx[k], w.pubs.v[p], NULL, 0), 0);
        scbr_index_destroy(idx[k]);
    }
    free(in);
    unload(&w);
}

/* Removal at scale on the stock workload: every equality list loses most of its records in a
 * random order, so the fast engine compacts its arenas many times (moving records the id map
 * must follow) and the poset re-attaches orphans; all engines are compared with naive after
 * every round, then re-filled with the removed ids and compared again. */
static void removal_at_scale(void **state)
{
    struct workload w;
    const size_t nsubs = 4000, rounds = 8;
    load(&w, SCBR_WORKLOAD_STOCK, nsubs, 400, 7);
    scbr_index *idx[3];
    build_all(idx, &w.subs);
    uint32_t *order = malloc(nsubs * sizeof *order);
    assert_non_null(order);
    for (uint32_t i = 0; i < nsubs; i++)
        order[i] = i;
    uint64_t x = 77;
    for (size_t i = nsubs - 1; i > 0; i--) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((x >> 33) % (i + 1));
        uint32_t t = order[i];
        order[i] = order[j], order[j] = t;
    }
    size_t per = nsubs * 7 / 8 / rounds;
    for (size_t r = 0; r < rounds; r++) {
        for (size_t i = r * per; i < (r + 1) * per; i++)
            for (int k = 0; k < 3; k++)
                assert_int_equal(scbr_index_remove(idx[k], order[i], NULL), 0);
        compare_all(idx, 3, &w.pubs, nsubs);
    }
    for (size_t i = 0; i < rounds * per; i += 2)
        for (int k = 0; k < 3; k++)
            assert_int_equal(scbr_index_insert(idx[k], w.subs.v[order[i]], order[i], NULL), 0);
    assert_true(compare_all(idx, 3, &w.pubs, nsubs) > 0);
    struct scbr_index_stats st[3];
    for (int k = 0; k < 3; k++)
        scbr_index_stats(idx[k], &st[k]);
    assert_int_equal(st[0].subscriptions, nsubs - rounds * per / 2);
    assert_int_equal(st[2].subscriptions, st[0].subscriptions);
    assert_int_equal(st[2].predicates, st[0].predicates);
    free(order);
    destroy_all(idx);
    unload(&w);
}

/* Every engine against the model itself (scbr_sub_matches), subscription k registered as
 * ids[k] where present[k]. */
static void check_against_model(scbr_index *const *idx, const struct workload *w,
                                const uint32_t *ids, const bool *present)
{
    size_t n = w->subs.n;
    uint32_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    for (size_t p = 0; p < w->pubs.n; p++) {
        size_t m = 0;
        for (size_t k = 0; k < n; k++)
            if (present[k] && scbr_sub_matches(w->subs.v[k], w->pubs.v[p]))
                want[m++] = ids[k];
        for (size_t i = 1; i < m; i++) /* insertion sort: ids are not in subscription order */
            for (size_t j = i; j > 0 && want[j - 1] > want[j]; j--) {
                uint32_t t = want[j];
                want[j] = want[j - 1], want[j - 1] = t;
            }
        for (int e = 0; e < 3; e++) {
            size_t g = scbr_index_match(idx[e], w->pubs.v[p], got, n);
            assert_int_equal(g, m);
            assert_memory_equal(got, want, m * sizeof *got);
        }
    }
    free(want);
    free(got);
}

/* Ids far apart (the id map's hash table), the extremes of uint32, then dense ones that make
 * its array grow over keys already in the table (which must move), and removals in both. */
static void sparse_and_dense_ids(void **state)
{
    struct workload w;
    const size_t n = 600;
    load(&w, SCBR_WORKLOAD_RANDOM, n, 150, 8);
    uint32_t *ids = malloc(n * sizeof *ids);
    bool *present = calloc(n, sizeof *present);
    assert_non_null(ids);
    assert_non_null(present);
    for (size_t k = 0; k < n; k++) {
        if (k < 200)
            ids[k] = (uint32_t)(k * 2654435761u) | 1u << 20; /* sparse, all above 2^20 */
        else if (k < 220)
            ids[k] = (uint32_t)(k - 200) * 48; /* small but spread: 0, 48, .., 912 */
        else
            ids[k] = (uint32_t)(k - 220) * 3 + 1; /* dense-ish, never a multiple of 3 */
    }
    ids[0] = UINT32_MAX;
    ids[1] = UINT32_MAX - 1;
    scbr_index *idx[3];
    for (int e = 0; e < 3; e++)
        assert_non_null(idx[e] = scbr_index_create((enum scbr_index_kind)e, NULL));
    for (size_t phase = 0; phase < 3; phase++) {
        const size_t bounds[] = {0, 200, 220, n};
        size_t lo = bounds[phase], hi = bounds[phase + 1];
        for (size_t k = lo; k < hi; k++) {
            for (int e = 0; e < 3; e++)
                assert_int_equal(scbr_index_insert(idx[e], w.subs.v[k], ids[k], NULL), 0);
            present[k] = true;
        }
        check_against_model(idx, &w, ids, present);
    }
    for (size_t k = 0; k < n; k += 3) {
        for (int e = 0; e < 3; e++) {
            assert_int_equal(scbr_index_remove(idx[e], ids[k], NULL), 0);
            assert_int_equal(scbr_index_remove(idx[e], ids[k], NULL), CLOISTER_E_NOT_FOUND);
        }
        present[k] = false;
    }
    check_against_model(idx, &w, ids, present);
    for (int e = 0; e < 3; e++)
        scbr_index_destroy(idx[e]);
    free(ids);
    free(present);
    unload(&w);
}

/* A counting allocator proves every byte goes through the hook and comes back. */
struct counting {
    size_t live_blocks, calls;
};

static void *c_malloc(void *ctx, size_t n)
{
    struct counting *c = ctx;
    c->live_blocks++, c->calls++;
    return malloc(n);
}

static void *c_realloc(void *ctx, void *p, size_t n)
{
    struct counting *c = ctx;
    c->calls++;
    if (!p)
        c->live_blocks++;
    return realloc(p, n);
}

static void c_free(void *ctx, void *p)
{
    struct counting *c = ctx;
    if (p)
        c->live_blocks--;
    free(p);
}

static void allocator_hook(void **state)
{
    struct workload w;
    load(&w, SCBR_WORKLOAD_STOCK, 300, 50, 6);
    for (int k = 0; k < 3; k++) {
        struct counting c = {0};
        const struct scbr_allocator a = {c_malloc, c_realloc, c_free, &c};
        scbr_index *idx = scbr_index_create((enum scbr_index_kind)k, &a);
        assert_non_null(idx);
        for (size_t i = 0; i < w.subs.n; i++)
            assert_int_equal(scbr_index_insert(idx, w.subs.v[i], (uint32_t)i, NULL), 0);
        uint32_t ids[300];
        for (size_t p = 0; p < w.pubs.n; p++)
            scbr_index_match(idx, w.pubs.v[p], ids, 300);
        struct scbr_index_stats st;
        scbr_index_stats(idx, &st);
        assert_true(st.bytes > 0);
        assert_int_equal(st.subscriptions, 300);
        size_t npreds = 0;
        for (size_t i = 0; i < w.subs.n; i++)
            npreds += w.subs.v[i]->n;
        if (k != SCBR_INDEX_POSET) /* the poset counts a merged node's canonical predicates */
            assert_int_equal(st.predicates, npreds);
        scbr_index_destroy(idx);
        assert_true(c.calls > 0);
        assert_int_equal(c.live_blocks, 0);
    }
    unload(&w);
}

struct collected {
    size_t n;
    uint32_t last_pub, ids[64];
};

static int collect(void *ctx, size_t pub, uint32_t id)
{
    struct collected *c = ctx;
    if (c->n < 64)
        c->ids[c->n] = id;
    c->n++;
    c->last_pub = (uint32_t)pub;
    return 0;
}

static void batch_and_truncation(void **state)
{
    struct cloister_err err;
    struct scbr_sub *a = scbr_parse_sub("x >= 1", 6, "t", 1, &err);
    struct scbr_sub *b = scbr_parse_sub("x >= 2", 6, "t", 1, &err);
    struct scbr_pub *p = scbr_parse_pub("x = 3", 5, "t", 1, &err);
    for (int k = 0; k < 3; k++) {
        scbr_index *idx = scbr_index_create((enum scbr_index_kind)k, NULL);
        assert_int_equal(scbr_index_insert(idx, b, 9, NULL), 0);
        assert_int_equal(scbr_index_insert(idx, a, 4, NULL), 0);
        uint32_t one[1];
        assert_int_equal(scbr_index_match(idx, p, one, 1), 2);
        assert_int_equal(one[0], 4);
        const struct scbr_pub *batch[2] = {p, p};
        struct collected c = {0};
        assert_int_equal(scbr_index_match_batch(idx, batch, 2, collect, &c, NULL), 0);
        assert_int_equal(c.n, 4);
        assert_int_equal(c.ids[0], 4);
        assert_int_equal(c.ids[1], 9);
        assert_int_equal(c.last_pub, 1);
        scbr_index_destroy(idx);
    }
    assert_int_equal(scbr_index_kind_from_name("poset"), SCBR_INDEX_POSET);
    assert_int_equal(scbr_index_kind_from_name("nope"), -1);
    scbr_sub_free(a);
    scbr_sub_free(b);
    scbr_pub_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_million_pairs), cmocka_unit_test(stock_pairs),
        cmocka_unit_test(numeric_pairs),        cmocka_unit_test(interleavings),
        cmocka_unit_test(allocator_hook),       cmocka_unit_test(batch_and_truncation),
        cmocka_unit_test(poset_regressions),    cmocka_unit_test(edge_values),
        cmocka_unit_test(removal_at_scale),     cmocka_unit_test(sparse_and_dense_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
