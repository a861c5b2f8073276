/* test_scbr_diff.c -- differential test of the matching engines against the naive oracle.
 *
 * Random workloads (every operator, ints, doubles, strings, missing and incomparable
 * attributes) and the stock workload: poset and fast must return exactly naive's ids for every
 * publication, through at least 10^6 (subscription, publication) pairs in release builds. Then
 * random interleavings of inserts and removals (with duplicate subscriptions, so the poset
 * merges), re-checked after every step batch, and the error paths of the interface. */
#include <cloister/scbr.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

struct workload {
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
};

static void load(struct workload *w, enum scbr_workload kind, size_t nsubs, size_t npubs,
                 uint64_t seed)
{
    char *st, *pt;
    size_t sl, pl;
    assert_int_equal(scbr_gen(kind, nsubs, npubs, seed, &st, &sl, &pt, &pl), 0);
    struct scbr_error err = {{0}};
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

static void differential(enum scbr_workload kind, size_t nsubs, size_t npubs, uint64_t seed)
{
    struct workload w;
    load(&w, kind, nsubs, npubs, seed);
    scbr_index *idx[3];
    for (int k = 0; k < 3; k++) {
        idx[k] = scbr_index_create((enum scbr_index_kind)k, NULL);
        assert_non_null(idx[k]);
        for (size_t i = 0; i < w.subs.n; i++)
            assert_int_equal(scbr_index_insert(idx[k], w.subs.v[i], (uint32_t)i), 0);
    }
    size_t total = compare_all(idx, 3, &w.pubs, nsubs);
    static const char *const names[] = {"stock", "random", "numeric"};
    print_message("%s: %zu subs x %zu pubs = %zu pairs, %zu matches\n", names[kind], nsubs,
                  npubs, nsubs * npubs, total);
    assert_true(total > 0);
    for (int k = 0; k < 3; k++)
        scbr_index_destroy(idx[k]);
    unload(&w);
}

static void random_million_pairs(void **state)
{
    /* 2,000 x 500 = 10^6 pairs in release; an eighth under sanitizers. */
    differential(SCBR_WORKLOAD_RANDOM, SANITIZED ? 500 : 2000, SANITIZED ? 250 : 500, 1);
    differential(SCBR_WORKLOAD_RANDOM, 300, 300, 2);
}

static void stock_pairs(void **state)
{
    differential(SCBR_WORKLOAD_STOCK, SANITIZED ? 500 : 2000, SANITIZED ? 200 : 500, 3);
}

static void numeric_pairs(void **state)
{
    differential(SCBR_WORKLOAD_NUMERIC, 500, 200, 4);
}

/* Inserts and removes at random (each subscription registered under two ids half the time, so
 * the poset holds merged duplicates), checking all engines agree after every batch. */
static void interleavings(void **state)
{
    struct workload w;
    size_t nsubs = SANITIZED ? 150 : 400;
    load(&w, SCBR_WORKLOAD_RANDOM, nsubs, 60, 5);
    scbr_index *idx[3];
    for (int k = 0; k < 3; k++)
        assert_non_null(idx[k] = scbr_index_create((enum scbr_index_kind)k, NULL));
    size_t nids = 2 * nsubs;
    bool *in = calloc(nids, sizeof *in);
    uint64_t x = 12345;
    for (int round = 0; round < (SANITIZED ? 15 : 40); round++) {
        for (int step = 0; step < 60; step++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t id = (uint32_t)((x >> 33) % nids);
            const struct scbr_sub *s = w.subs.v[id % nsubs];
            for (int k = 0; k < 3; k++) {
                if (in[id]) {
                    assert_int_equal(scbr_index_remove(idx[k], id), 0);
                    assert_int_equal(scbr_index_remove(idx[k], id), -1);
                    assert_int_equal(errno, ENOENT);
                } else {
                    assert_int_equal(scbr_index_insert(idx[k], s, id), 0);
                    assert_int_equal(scbr_index_insert(idx[k], s, id), -1);
                    assert_int_equal(errno, EEXIST);
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
                assert_int_equal(scbr_index_remove(idx[k], id), 0);
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
            assert_int_equal(scbr_index_insert(idx, w.subs.v[i], (uint32_t)i), 0);
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
    struct scbr_error err;
    struct scbr_sub *a = scbr_parse_sub("x >= 1", 6, "t", 1, &err);
    struct scbr_sub *b = scbr_parse_sub("x >= 2", 6, "t", 1, &err);
    struct scbr_pub *p = scbr_parse_pub("x = 3", 5, "t", 1, &err);
    for (int k = 0; k < 3; k++) {
        scbr_index *idx = scbr_index_create((enum scbr_index_kind)k, NULL);
        assert_int_equal(scbr_index_insert(idx, b, 9), 0);
        assert_int_equal(scbr_index_insert(idx, a, 4), 0);
        uint32_t one[1];
        assert_int_equal(scbr_index_match(idx, p, one, 1), 2);
        assert_int_equal(one[0], 4);
        const struct scbr_pub *batch[2] = {p, p};
        struct collected c = {0};
        assert_int_equal(scbr_index_match_batch(idx, batch, 2, collect, &c), 0);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
