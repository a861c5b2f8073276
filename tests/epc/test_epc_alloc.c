/* test_epc_alloc.c -- the TLSF allocator, alone and over a paged region, and the heap API:
 * random malloc/realloc/free with every block's contents checked, invariants walked, free
 * patterns that must coalesce back to one block, calloc/realloc edge cases, the Lua hook,
 * invalid frees, AddressSanitizer poisoning, and budget parsing. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "epc/pager.h"
#include "epc/tlsf.h"
#include "epc_test.h"

#if TEST_SCALE > 1
#include <sanitizer/asan_interface.h>
#endif

#define PAGE ((size_t)EPC_PAGE_SIZE)

struct live {
    uint8_t *p;
    size_t n;
    uint8_t tag;
};

static size_t random_size(uint64_t *seed)
{
    uint64_t x = test_rng(seed);
    switch (x & 15) {
    case 0: return (size_t)(x >> 8) % (256 * 1024); /* large */
    case 1: return 1 + (size_t)(x >> 8) % 65536;    /* medium */
    case 2:
    case 3:
    case 4: return (size_t)(x >> 8) % 4096;
    default: return (size_t)(x >> 8) % 256; /* small, zero included */
    }
}

static void fill(struct live *b)
{
    memset(b->p, b->tag, b->n);
}

static void check(const struct live *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->p[i] != b->tag)
            fail_msg("block %p (%zu bytes): byte %zu is %u, expected %u", (void *)b->p, b->n, i,
                     b->p[i], b->tag);
}

/* Random malloc/realloc/free against the recorded contents of every live block. */
static void stress(struct epc_tlsf *t, size_t ops, uint64_t seed)
{
    enum { SLOTS = 256 };
    struct live live[SLOTS] = {{0}};
    for (size_t k = 0; k < ops; k++) {
        struct live *b = &live[test_rng(&seed) % SLOTS];
        uint64_t op = test_rng(&seed) % 10;
        if (!b->p && op < 9) {
            size_t n = random_size(&seed);
            uint8_t *p = epc_tlsf_malloc(t, n);
            if (p) {
                assert_int_equal((uintptr_t)p % 16, 0);
                *b = (struct live){p, n, (uint8_t)(1 + k % 251)};
                fill(b);
            }
        } else if (b->p && op < 6) {
            check(b);
            epc_tlsf_free(t, b->p);
            b->p = NULL;
        } else if (b->p) {
            check(b);
            size_t n = 1 + random_size(&seed);
            uint8_t *p = epc_tlsf_realloc(t, b->p, n);
            if (p) {
                size_t keep = n < b->n ? n : b->n;
                b->p = p;
                b->n = keep;
                check(b); /* the prefix survived the move */
                b->n = n;
                fill(b);
            } else {
                check(b); /* a failed realloc keeps the block */
            }
        }
        if (k % 512 == 0)
            assert_int_equal(epc_tlsf_check(t), 0);
    }
    assert_int_equal(epc_tlsf_check(t), 0);
    for (size_t i = 0; i < SLOTS; i++)
        if (live[i].p) {
            check(&live[i]);
            epc_tlsf_free(t, live[i].p);
        }
    assert_int_equal(epc_tlsf_in_use(t), 0);
    assert_int_equal(epc_tlsf_check(t), 0);
}

/* After everything is freed the range is one block again: a request for nearly all of it
 * succeeds. */
static void assert_coalesced(struct epc_tlsf *t, size_t range)
{
    void *all = epc_tlsf_malloc(t, range - range / 16);
    assert_non_null(all);
    epc_tlsf_free(t, all);
}

static void tlsf_stress_plain_memory(void **state)
{
    const size_t len = (size_t)16 << 20;
    void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    struct epc_tlsf *t = epc_tlsf_create(mem, len);
    assert_non_null(t);
    stress(t, 60000 / TEST_SCALE, 7);
    assert_coalesced(t, len);
    assert_true(epc_tlsf_peak(t) > 0);
    epc_tlsf_destroy(t);
    munmap(mem, len);
}

static void tlsf_stress_paged_region(void **state)
{
    for (size_t k = 0; k < 2; k++) {
        struct epc_config cfg = {(size_t)8 << 20, 256 * PAGE, test_pagers[k], EPC_SERVE_AUTO};
        struct epc_pager *p = epc_pager_create(&cfg);
        if (!p && test_pagers[k] == EPC_PAGER_UFFD) {
            print_message("userfaultfd unavailable: skipping its case\n");
            continue;
        }
        assert_non_null(p);
        struct epc_tlsf *t = epc_tlsf_create(epc_pager_base(p), epc_pager_size(p));
        assert_non_null(t);
        stress(t, 20000 / TEST_SCALE, 11 + k);
        assert_coalesced(t, epc_pager_size(p));
        struct epc_stats s;
        epc_pager_stats(p, &s);
        assert_true(s.evictions > 0); /* the allocator really ran through paging */
        epc_tlsf_destroy(t);
        epc_pager_destroy(p);
    }
}

static void tlsf_free_patterns_coalesce(void **state)
{
    const size_t len = (size_t)4 << 20, n = 1000;
    void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    void **blocks = calloc(n, sizeof *blocks);
    for (int pattern = 0; pattern < 4; pattern++) {
        struct epc_tlsf *t = epc_tlsf_create(mem, len);
        uint64_t seed = 99;
        for (size_t i = 0; i < n; i++)
            assert_non_null(blocks[i] = epc_tlsf_malloc(t, 1 + i % 3000));
        for (size_t i = 0; i < n; i++) {
            size_t j = pattern == 0   ? i                          /* oldest first */
                       : pattern == 1 ? n - 1 - i                  /* newest first */
                       : pattern == 2 ? (i * 2) % n + (i * 2 >= n) /* every other, then the rest */
                                      : (size_t)test_rng(&seed) % n; /* random, with repeats */
            if (pattern == 3 && !blocks[j])
                continue;
            epc_tlsf_free(t, blocks[j]);
            blocks[j] = NULL;
            if (i % 100 == 0)
                assert_int_equal(epc_tlsf_check(t), 0);
        }
        for (size_t i = 0; i < n; i++) {
            epc_tlsf_free(t, blocks[i]);
            blocks[i] = NULL;
        }
        assert_int_equal(epc_tlsf_in_use(t), 0);
        assert_int_equal(epc_tlsf_check(t), 0);
        assert_coalesced(t, len);
        epc_tlsf_destroy(t);
    }
    free(blocks);
    munmap(mem, len);
}

static void tlsf_realloc_in_place_and_exhaustion(void **state)
{
    const size_t len = (size_t)1 << 20;
    void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct epc_tlsf *t = epc_tlsf_create(mem, len);
    uint8_t *a = epc_tlsf_malloc(t, 100);
    memset(a, 0xab, 100);
    assert_ptr_equal(epc_tlsf_realloc(t, a, 50000), a); /* grows into the free space after it */
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(a[i], 0xab);
    assert_ptr_equal(epc_tlsf_realloc(t, a, 10), a); /* shrinks in place */
    assert_int_equal(epc_tlsf_check(t), 0);
    errno = 0;
    assert_null(epc_tlsf_malloc(t, len)); /* bigger than the range */
    assert_int_equal(errno, ENOMEM);
    assert_null(epc_tlsf_malloc(t, SIZE_MAX));
    assert_null(epc_tlsf_realloc(t, a, len)); /* cannot grow: a is kept */
    assert_int_equal(a[9], 0xab);
    epc_tlsf_free(t, a);
    assert_int_equal(epc_tlsf_in_use(t), 0);
    epc_tlsf_destroy(t);
    munmap(mem, len);
    assert_null(epc_tlsf_create(mem, 32)); /* too small to hold a block */
}

#if TEST_SCALE > 1
static void tlsf_poisons_for_asan(void **state)
{
    const size_t len = (size_t)1 << 20;
    void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct epc_tlsf *t = epc_tlsf_create(mem, len);
    uint8_t *a = epc_tlsf_malloc(t, 40), *b = epc_tlsf_malloc(t, 64);
    assert_false(__asan_address_is_poisoned(a + 39));
    assert_true(__asan_address_is_poisoned(a + 40)); /* slack past the request */
    epc_tlsf_free(t, a);
    assert_true(__asan_address_is_poisoned(a + 16)); /* freed payload */
    a = epc_tlsf_realloc(t, b, 4001); /* grows in place, the slack after byte 4001 poisoned */
    assert_false(__asan_address_is_poisoned(a + 4000));
    assert_true(__asan_address_is_poisoned(a + 4001));
    epc_tlsf_free(t, a);
    epc_tlsf_destroy(t);
    assert_false(__asan_address_is_poisoned(a + 100)); /* the range is clean after destroy */
    munmap(mem, len);
}
#endif

/* ---- the public heap API ---- */

static epc_heap *heap(size_t size, size_t budget)
{
    struct epc_config cfg = {size, budget, EPC_PAGER_AUTO, EPC_SERVE_AUTO};
    epc_heap *h = epc_heap_create(&cfg);
    assert_non_null(h);
    return h;
}

static void heap_api_edges(void **state)
{
    epc_heap *h = heap((size_t)4 << 20, 64 * PAGE);
    uint8_t *a = epc_malloc(h, 5000);
    assert_true(epc_owns(h, a));
    assert_false(epc_owns(h, &a));
    memset(a, 0xff, 5000);
    epc_free(h, a);
    uint8_t *z = epc_calloc(h, 1000, 5); /* reuses a's dirty block: must be zeroed */
    for (size_t i = 0; i < 5000; i++)
        assert_int_equal(z[i], 0);
    errno = 0;
    assert_null(epc_calloc(h, SIZE_MAX / 2, 3));
    assert_int_equal(errno, ENOMEM);
    struct epc_stats s;
    epc_heap_stats(h, &s);
    assert_true(s.heap_in_use >= 5000);
    assert_null(epc_realloc(h, z, 0)); /* frees */
    epc_heap_stats(h, &s);
    assert_int_equal(s.heap_in_use, 0);
    assert_true(s.heap_peak >= 5000);
    uint8_t *r = epc_realloc(h, NULL, 10);
    assert_non_null(r);
    epc_free(h, r);
    epc_free(h, NULL);
    /* The Lua hook: lua_Alloc semantics. */
    char *l = epc_lua_alloc(h, NULL, 0, 16);
    strcpy(l, "lua state");
    l = epc_lua_alloc(h, l, 16, 200000);
    assert_string_equal(l, "lua state");
    assert_null(epc_lua_alloc(h, l, 200000, 0));
    errno = 0;
    assert_null(epc_malloc(h, (size_t)8 << 20)); /* more than the region */
    assert_int_equal(errno, ENOMEM);
    epc_heap_stats(h, &s);
    assert_int_equal(s.heap_in_use, 0);
    assert_int_equal(s.size, (size_t)4 << 20);
    epc_heap_destroy(h);
    epc_heap_destroy(NULL);
    struct epc_config bad = {0, EPC_BUDGET_SGX1, EPC_PAGER_AUTO, EPC_SERVE_AUTO};
    errno = 0;
    assert_null(epc_heap_create(&bad));
    assert_int_equal(errno, EINVAL);
}

/* arg non-NULL: frees a pointer that is not the heap's; else frees a block twice. */
static void free_invalid(void *arg)
{
    epc_heap *h = heap(1 << 20, EPC_BUDGET_UNLIMITED);
    int on_stack = 0;
    if (arg)
        epc_free(h, &on_stack);
    void *p = epc_malloc(h, 10);
    epc_free(h, p);
    epc_free(h, p);
}

static void heap_refuses_invalid_free(void **state)
{
    static int foreign;
    void *cases[] = {NULL, &foreign};
    for (size_t i = 0; i < 2; i++) {
        char err[1024];
        int status = test_in_child(free_invalid, cases[i], err, sizeof err);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
        assert_non_null(strstr(err, "epc_free: pointer not allocated from this heap"));
    }
}

static void heap_owner_and_stats_record(void **state)
{
    struct epc_config cfg = {(size_t)2 << 20, 64 * PAGE, EPC_PAGER_AUTO, EPC_SERVE_AUTO};
    epc_heap *a = epc_heap_create(&cfg), *b = heap(1 << 20, EPC_BUDGET_UNLIMITED);
    assert_non_null(a);
    uint8_t *pa = epc_malloc(a, (size_t)1 << 20), *pb = epc_malloc(b, 100 * PAGE);
    struct epc_stats plain;
    epc_heap_stats(b, &plain); /* no pager: the pages the allocator reached */
    assert_string_equal(plain.pager, "none");
    assert_int_equal(plain.resident_pages, 101);
    assert_int_equal(plain.peak_resident_pages, 101);
    memset(pa, 1, (size_t)1 << 20); /* 256 pages through a budget of 64: faults, evictions */
    assert_ptr_equal(epc_heap_owner(pa + 5000), a);
    assert_ptr_equal(epc_heap_owner(pb), b);
    assert_null(epc_heap_owner(&cfg));
    struct epc_stats s, back;
    epc_heap_stats(a, &s);
    assert_true(s.faults > 256 && s.evictions > 0 && s.bytes_encrypted > 0);
    struct wire_writer w;
    wire_writer_init(&w);
    epc_stats_encode(&s, &w);
    assert_true(wire_writer_ok(&w));
    struct cloister_err err;
    assert_int_equal(epc_stats_decode(&back, w.buf, w.len, &err), CLOISTER_OK);
    assert_string_equal(back.pager, s.pager);
    assert_int_equal(back.unlimited, s.unlimited);
    assert_memory_equal(&back.size, &s.size, sizeof s - offsetof(struct epc_stats, size));
    /* Truncated, trailing byte, bad magic, bad pager code, bad flag: all refused. */
    assert_int_equal(epc_stats_decode(&back, w.buf, w.len - 1, &err), CLOISTER_E_INVALID);
    uint8_t *bad = malloc(w.len + 1);
    memcpy(bad, w.buf, w.len);
    bad[w.len] = 0;
    assert_int_equal(epc_stats_decode(&back, bad, w.len + 1, &err), CLOISTER_E_INVALID);
    const size_t at[] = {0, WIRE_HEADER_LEN, WIRE_HEADER_LEN + 1};
    const uint8_t value[] = {'X', 3, 2};
    for (size_t i = 0; i < 3; i++) {
        memcpy(bad, w.buf, w.len);
        bad[at[i]] = value[i];
        err.msg[0] = '\0';
        assert_int_equal(epc_stats_decode(&back, bad, w.len, &err), CLOISTER_E_INVALID);
        assert_true(strncmp(err.msg, "EPC counters: ", 14) == 0 && err.msg[14]);
    }
    free(bad);
    wire_writer_free(&w);
    char *text = NULL;
    size_t textlen = 0;
    FILE *f = open_memstream(&text, &textlen);
    epc_stats_print(f, &s, "  ");
    fclose(f);
    assert_non_null(strstr(text, "evictions"));
    assert_non_null(strstr(text, "budget 0.25 MiB"));
    free(text);
    json_t *j = epc_stats_json(&s);
    assert_int_equal(json_integer_value(json_object_get(j, "faults")), (json_int_t)s.faults);
    json_decref(j);
    epc_free(a, pa);
    epc_free(b, pb);
    epc_heap_destroy(a);
    epc_heap_destroy(b);
    assert_null(epc_heap_owner(pb));
}

static void budget_parse_and_format(void **state)
{
    size_t b;
    char text[32];
    assert_int_equal(epc_parse_budget("93.5", &b), 0);
    assert_int_equal(b, EPC_BUDGET_SGX1);
    epc_format_budget(b, text, sizeof text);
    assert_string_equal(text, "93.5 MiB");
    assert_int_equal(epc_parse_budget("unlimited", &b), 0);
    assert_int_equal(b, EPC_BUDGET_UNLIMITED);
    epc_format_budget(b, text, sizeof text);
    assert_string_equal(text, "unlimited");
    assert_int_equal(epc_parse_budget("0.0625", &b), 0); /* 16 pages, the minimum */
    assert_int_equal(b, 16 * PAGE);
    const char *bad[] = {"", "0", "-4", "abc", "12MiB", "1e300", "nan", "inf", "0.01", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(epc_parse_budget(bad[i], &b), -1);
}

/* ---- threads through the heap lock and the pager together ---- */

struct alloc_worker {
    epc_heap *h;
    uint64_t seed;
};

static void *alloc_run(void *arg)
{
    struct alloc_worker *w = arg;
    enum { N = 64 };
    struct live mine[N] = {{0}};
    for (size_t k = 0; k < 8000 / TEST_SCALE; k++) {
        struct live *b = &mine[test_rng(&w->seed) % N];
        if (b->p) {
            for (size_t i = 0; i < b->n; i++)
                if (b->p[i] != b->tag)
                    return (void *)1;
            epc_free(w->h, b->p);
            b->p = NULL;
        } else {
            size_t n = 1 + (size_t)(test_rng(&w->seed) % 20000);
            b->p = epc_malloc(w->h, n);
            if (!b->p)
                return (void *)2;
            b->n = n;
            b->tag = (uint8_t)(w->seed | 1);
            memset(b->p, b->tag, n);
        }
    }
    for (size_t i = 0; i < N; i++)
        epc_free(w->h, mine[i].p);
    return NULL;
}

static void heap_threads_allocate(void **state)
{
    epc_heap *h = heap((size_t)16 << 20, 128 * PAGE);
    pthread_t th[3];
    struct alloc_worker w[3];
    for (size_t i = 0; i < 3; i++) {
        w[i] = (struct alloc_worker){h, 1000 + i};
        assert_int_equal(pthread_create(&th[i], NULL, alloc_run, &w[i]), 0);
    }
    for (size_t i = 0; i < 3; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    struct epc_stats s;
    epc_heap_stats(h, &s);
    assert_int_equal(s.heap_in_use, 0);
    assert_true(s.evictions > 0);
    epc_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tlsf_stress_plain_memory),
        cmocka_unit_test(tlsf_stress_paged_region),
        cmocka_unit_test(tlsf_free_patterns_coalesce),
        cmocka_unit_test(tlsf_realloc_in_place_and_exhaustion),
#if TEST_SCALE > 1
        cmocka_unit_test(tlsf_poisons_for_asan),
#endif
        cmocka_unit_test(heap_api_edges),
        cmocka_unit_test(heap_refuses_invalid_free),
        cmocka_unit_test(heap_threads_allocate),
        cmocka_unit_test(heap_owner_and_stats_record),
        cmocka_unit_test(budget_parse_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
