/* test_epc_pager.c -- the paged region, with both fault mechanisms: contents against a
 * reference buffer, fault and eviction counts against a FIFO model (one page or one block per
 * eviction), block evictions and the free frames they leave, tampering and replay,
 * threads racing evictions, the system-call rule, plain memory, configuration errors,
 * signal chaining, and the userfaultfd cases again with a handler thread serving the faults. */
#include <errno.h>
#include <fcntl.h>
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

#include "epc/pager.h"
#include "epc_test.h"

#define PAGE ((size_t)EPC_PAGE_SIZE)

static struct epc_pager *make(enum epc_pager_kind kind, size_t pages, size_t budget_pages)
{
    struct epc_config cfg = {pages * PAGE, budget_pages * PAGE, kind, EPC_SERVE_AUTO};
    return epc_pager_create(&cfg);
}

/* The userfaultfd cases are skipped, with a message, on kernels that refuse it. */
static struct epc_pager *make_or_skip(enum epc_pager_kind kind, size_t pages, size_t budget)
{
    struct epc_pager *p = make(kind, pages, budget);
    if (!p && kind == EPC_PAGER_UFFD && errno == ENOSYS) {
        print_message("userfaultfd unavailable on this kernel: skipping its case\n");
        return NULL;
    }
    assert_non_null(p);
    /* A region that fits its budget is plain memory. */
    assert_int_equal(epc_pager_kind(p), pages > budget ? kind : EPC_PAGER_AUTO);
    return p;
}

static struct epc_stats stats_of(struct epc_pager *p)
{
    struct epc_stats s;
    memset(&s, 0, sizeof s);
    epc_pager_stats(p, &s);
    return s;
}

/* ---- contents against a reference buffer ---- */

/* Random accesses over a working set of ratio x budget pages, in a region of 4 x budget. */
static void random_workload(enum epc_pager_kind kind, size_t budget, double ratio)
{
    size_t pages = (size_t)((double)budget * ratio);
    struct epc_pager *p = make_or_skip(kind, 4 * budget, budget);
    if (!p)
        return;
    size_t len = pages * PAGE;
    uint8_t *mem = epc_pager_base(p), *ref = calloc(1, len);
    uint8_t *touched = calloc(1, pages), *tmp = malloc(3 * PAGE);
    assert_non_null(ref);
    assert_non_null(touched);
    assert_non_null(tmp);
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(ratio * 1000) ^ (uint64_t)kind;
    size_t accesses = 40000 / TEST_SCALE;
    for (size_t k = 0; k < accesses; k++) {
        uint64_t x = test_rng(&seed);
        size_t off = (size_t)(x % (len / 8)) * 8;
        switch ((x >> 60) & 7) {
        case 0: { /* a span of up to two pages, crossing page boundaries */
            size_t n = 1 + (size_t)(test_rng(&seed) % (2 * PAGE));
            if (off + n > len)
                n = len - off;
            for (size_t i = 0; i < n; i++)
                tmp[i] = (uint8_t)test_rng(&seed);
            memcpy(mem + off, tmp, n);
            memcpy(ref + off, tmp, n);
            for (size_t pg = off / PAGE; pg <= (off + n - 1) / PAGE; pg++)
                touched[pg] = 1;
            break;
        }
        case 1:
        case 2:
        case 3: { /* 8-byte writes */
            uint64_t v = test_rng(&seed);
            memcpy(mem + off, &v, 8);
            memcpy(ref + off, &v, 8);
            touched[off / PAGE] = 1;
            break;
        }
        default: /* 8-byte reads */
            assert_memory_equal(mem + off, ref + off, 8);
            touched[off / PAGE] = 1;
        }
    }
    struct epc_stats s = stats_of(p);
    assert_true(s.resident_pages <= budget);
    assert_true(s.peak_resident_pages <= budget);
    if (pages <= budget)
        assert_int_equal(s.evictions, 0);
    else
        assert_true(s.evictions > 0);
    size_t distinct = 0;
    for (size_t i = 0; i < pages; i++)
        distinct += touched[i];
    /* Every fault is a first touch or a load of a sealed page. */
    assert_int_equal(s.faults, distinct + s.bytes_decrypted / PAGE);
    assert_int_equal(s.bytes_encrypted, s.evictions * PAGE);
    assert_memory_equal(mem, ref, len); /* every page, through the pager */
    epc_pager_destroy(p);
    free(ref);
    free(touched);
    free(tmp);
}

static void pager_matches_reference(void **state)
{
    const double ratios[] = {0.5, 1.0, 1.5, 2.0, 4.0};
    for (size_t k = 0; k < 2; k++)
        for (size_t r = 0; r < sizeof ratios / sizeof ratios[0]; r++)
            random_workload(test_pagers[k], 64, ratios[r]);
}

/* ---- counts against a FIFO model on recorded traces ---- */

/* FIFO by blocks: a fault on a full budget evicts the oldest page and every other resident page
 * of its aligned block of `cluster` pages (cluster 1: plain FIFO). */
struct fifo_model {
    size_t budget, cluster, count, faults, evictions;
    size_t *queue; /* resident pages, oldest first */
    uint8_t *resident;
};

static void model_access(struct fifo_model *m, size_t page)
{
    if (m->resident[page])
        return;
    m->faults++;
    if (m->count == m->budget) {
        size_t first = m->queue[0] / m->cluster * m->cluster, kept = 0;
        for (size_t i = 0; i < m->count; i++) {
            size_t pg = m->queue[i];
            if (pg >= first && pg < first + m->cluster) {
                m->resident[pg] = 0;
                m->evictions++;
            } else {
                m->queue[kept++] = pg;
            }
        }
        m->count = kept;
    }
    m->queue[m->count++] = page;
    m->resident[page] = 1;
}

enum trace_kind { TRACE_UNIFORM, TRACE_CYCLIC, TRACE_HOT_COLD, TRACE_STRIDED, TRACE_KINDS };

static size_t *record_trace(enum trace_kind kind, size_t pages, size_t n, uint64_t seed)
{
    size_t *t = malloc(n * sizeof *t);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = test_rng(&seed);
        switch (kind) {
        case TRACE_UNIFORM: t[i] = (size_t)(x % pages); break;
        case TRACE_CYCLIC: t[i] = i % pages; break;
        case TRACE_HOT_COLD: /* 80% of accesses to the first 10% of pages */
            t[i] = (size_t)((x >> 8) % ((x & 0xff) < 205 ? pages / 10 : pages));
            break;
        default: t[i] = (i * 7) % pages; break;
        }
    }
    return t;
}

static void check_against_model(enum epc_pager_kind kind, enum trace_kind tk)
{
    const size_t budget = 32, pages = 96, n = 6000 / TEST_SCALE;
    struct epc_pager *p = make_or_skip(kind, pages, budget);
    if (!p)
        return;
    struct fifo_model m = {.budget = budget, .cluster = epc_pager_cluster(p)};
    m.queue = calloc(budget, sizeof *m.queue);
    m.resident = calloc(pages, 1);
    size_t *trace = record_trace(tk, pages, n, 42 + tk);
    volatile uint8_t *mem = epc_pager_base(p);
    for (size_t i = 0; i < n; i++) {
        if (i & 1)
            mem[trace[i] * PAGE + i % PAGE] = (uint8_t)i;
        else
            (void)mem[trace[i] * PAGE + i % PAGE];
        model_access(&m, trace[i]);
        if (i % 97 == 0 || i == n - 1) {
            struct epc_stats s = stats_of(p);
            assert_int_equal(s.faults, m.faults);
            assert_int_equal(s.evictions, m.evictions);
            assert_int_equal(s.resident_pages, m.count);
        }
    }
    for (size_t pg = 0; pg < pages; pg++)
        assert_int_equal(epc_pager_resident(p, pg), m.resident[pg] != 0);
    free(trace);
    free(m.queue);
    free(m.resident);
    epc_pager_destroy(p);
}

/* Every eviction path: one page per fault (the old path), SGX's 16-page batches, the default. */
static const char *const clusters[] = {"1", "16", NULL};

static void set_cluster(const char *c)
{
    if (c)
        setenv("CLOISTER_EPC_CLUSTER", c, 1);
    else
        unsetenv("CLOISTER_EPC_CLUSTER");
}

static void pager_counts_match_fifo_model(void **state)
{
    for (size_t c = 0; c < sizeof clusters / sizeof clusters[0]; c++) {
        set_cluster(clusters[c]);
        for (size_t k = 0; k < 2; k++)
            for (int tk = 0; tk < TRACE_KINDS; tk++)
                check_against_model(test_pagers[k], (enum trace_kind)tk);
    }
    unsetenv("CLOISTER_EPC_CLUSTER");
}

/* ---- tampering and replay end the process ---- */

enum attack { ATTACK_NONE, ATTACK_CIPHERTEXT, ATTACK_TAG, ATTACK_REPLAY, ATTACK_SWAP };

struct attack_case {
    enum epc_pager_kind kind;
    enum attack attack;
};

/* Touches pages first..first+count-1, writing a marker into each. */
static void touch_range(uint8_t *mem, size_t first, size_t count, uint8_t marker)
{
    for (size_t pg = first; pg < first + count; pg++)
        mem[pg * PAGE + 7] = (uint8_t)(marker + pg);
}

static void run_attack(void *arg)
{
    const struct attack_case *c = arg;
    struct epc_pager *p = make(c->kind, 64, EPC_MIN_BUDGET_PAGES);
    if (!p)
        _exit(3);
    uint8_t *mem = epc_pager_base(p);
    uint8_t old[EPC_SLOT_SIZE];
    touch_range(mem, 0, 17, 1); /* 17 pages into a budget of 16: page 0 is sealed (version 1) */
    if (epc_pager_resident(p, 0))
        _exit(4);
    switch (c->attack) {
    case ATTACK_NONE: break;
    case ATTACK_CIPHERTEXT: epc_pager_backing_slot(p, 0)[100] ^= 0x01; break;
    case ATTACK_TAG: epc_pager_backing_slot(p, 0)[EPC_PAGE_SIZE + 3] ^= 0x80; break;
    case ATTACK_REPLAY:
        memcpy(old, epc_pager_backing_slot(p, 0), sizeof old);
        mem[7] = 0xee; /* page 0 comes back and changes */
        for (size_t pg = 17; pg < 64 && epc_pager_resident(p, 0); pg++)
            touch_range(mem, pg, 1, 2); /* until it is sealed again, as version 2 */
        if (epc_pager_resident(p, 0))
            _exit(6);
        memcpy(epc_pager_backing_slot(p, 0), old, sizeof old);
        break;
    case ATTACK_SWAP: /* page 1 sealed once too: same version, other index */
        touch_range(mem, 17, 1, 1);
        memcpy(epc_pager_backing_slot(p, 0), epc_pager_backing_slot(p, 1), EPC_SLOT_SIZE);
        break;
    }
    volatile uint8_t v = mem[7]; /* loads page 0 */
    if (v != (c->attack == ATTACK_REPLAY ? 0xee : 1))
        _exit(5);
    epc_pager_destroy(p);
}

static void attack_is_fatal(enum epc_pager_kind kind, enum attack attack)
{
    struct epc_pager *probe = make_or_skip(kind, 64, EPC_MIN_BUDGET_PAGES);
    if (!probe)
        return;
    epc_pager_destroy(probe);
    struct attack_case c = {kind, attack};
    char err[1024];
    int status = test_in_child(run_attack, &c, err, sizeof err);
    if (attack == ATTACK_NONE) {
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        return;
    }
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(err, "EPC integrity check failed"));
    assert_non_null(strstr(err, "(page 0)"));
}

static void pager_refuses_tampering_and_replay(void **state)
{
    for (size_t c = 0; c < sizeof clusters / sizeof clusters[0]; c++) {
        set_cluster(clusters[c]);
        for (size_t k = 0; k < 2; k++) {
            attack_is_fatal(test_pagers[k], ATTACK_NONE);
            attack_is_fatal(test_pagers[k], ATTACK_CIPHERTEXT);
            attack_is_fatal(test_pagers[k], ATTACK_TAG);
            attack_is_fatal(test_pagers[k], ATTACK_REPLAY);
            attack_is_fatal(test_pagers[k], ATTACK_SWAP);
        }
    }
    unsetenv("CLOISTER_EPC_CLUSTER");
}

/* ---- eviction blocks and the free frames they leave ---- */

/* Pages 0-15 fill a budget of 16; page 16 evicts the whole block 0-15 at once, and the next 15
 * faults are served from the frames it freed, without an eviction. */
static void pager_evicts_blocks_and_loads_from_pool(void **state)
{
    set_cluster("16");
    for (size_t k = 0; k < 2; k++) {
        struct epc_pager *p = make_or_skip(test_pagers[k], 64, EPC_MIN_BUDGET_PAGES);
        if (!p)
            continue;
        assert_int_equal(epc_pager_cluster(p), 16);
        uint8_t *mem = epc_pager_base(p);
        touch_range(mem, 0, 16, 1);
        assert_int_equal(stats_of(p).evictions, 0);
        touch_range(mem, 16, 1, 1); /* one cluster eviction */
        struct epc_stats s = stats_of(p);
        assert_int_equal(s.evictions, 16);
        assert_int_equal(s.bytes_encrypted, 16 * PAGE);
        assert_int_equal(s.resident_pages, 1);
        for (size_t pg = 0; pg < 16; pg++)
            assert_false(epc_pager_resident(p, pg));
        touch_range(mem, 17, 15, 1); /* served from the pool */
        s = stats_of(p);
        assert_int_equal(s.faults, 32);
        assert_int_equal(s.evictions, 16);
        assert_int_equal(s.resident_pages, 16);
        for (size_t pg = 0; pg < 16; pg++) /* sealed pages of the block come back intact */
            assert_int_equal(mem[pg * PAGE + 7], (uint8_t)(1 + pg));
        assert_int_equal(stats_of(p).bytes_decrypted, 16 * PAGE);
        epc_pager_destroy(p);
    }
    unsetenv("CLOISTER_EPC_CLUSTER");
}

/* The default block is one page-table page (512 pages), at most an eighth of the budget; the
 * environment overrides it. A 16 MiB budget, full: the next fault evicts the 512 pages of the
 * oldest page's block at once. */
static void pager_default_block_follows_budget(void **state)
{
    unsetenv("CLOISTER_EPC_CLUSTER");
    const size_t budgets[] = {EPC_MIN_BUDGET_PAGES, 64, 4096}, want[] = {2, 8, 512};
    for (size_t i = 0; i < 3; i++) {
        struct epc_pager *p = make(EPC_PAGER_AUTO, 2 * budgets[i], budgets[i]);
        assert_non_null(p);
        assert_int_equal(epc_pager_cluster(p), want[i]);
        epc_pager_destroy(p);
    }
    set_cluster("1");
    struct epc_pager *single = make(EPC_PAGER_AUTO, 128, 64);
    assert_int_equal(epc_pager_cluster(single), 1);
    epc_pager_destroy(single);
    unsetenv("CLOISTER_EPC_CLUSTER");
    for (size_t k = 0; k < 2; k++) {
        struct epc_pager *p = make_or_skip(test_pagers[k], 8192, 4096);
        if (!p)
            continue;
        uint8_t *mem = epc_pager_base(p);
        touch_range(mem, 0, 4096, 1);
        touch_range(mem, 4096, 1, 1);
        struct epc_stats s = stats_of(p);
        assert_int_equal(s.evictions, 512);
        assert_int_equal(s.resident_pages, 4096 - 512 + 1);
        assert_false(epc_pager_resident(p, 511));
        assert_true(epc_pager_resident(p, 512));
        assert_int_equal(mem[300 * PAGE + 7], (uint8_t)(1 + 300));
        epc_pager_destroy(p);
    }
}

/* One tampered page of a sealed block: its neighbours load, it ends the process. */
static void run_cluster_tamper(void *arg)
{
    const enum epc_pager_kind *kind = arg;
    struct epc_pager *p = make(*kind, 64, EPC_MIN_BUDGET_PAGES);
    if (!p)
        _exit(3);
    uint8_t *mem = epc_pager_base(p);
    touch_range(mem, 0, 17, 1); /* pages 0-15 sealed in one block */
    epc_pager_backing_slot(p, 5)[2000] ^= 0x04;
    if (mem[4 * PAGE + 7] != 5 || mem[6 * PAGE + 7] != 7)
        _exit(4);
    volatile uint8_t v = mem[5 * PAGE + 7];
    (void)v;
    _exit(5);
}

static void pager_detects_tamper_in_block(void **state)
{
    set_cluster("16");
    for (size_t k = 0; k < 2; k++) {
        struct epc_pager *probe = make_or_skip(test_pagers[k], 64, EPC_MIN_BUDGET_PAGES);
        if (!probe)
            continue;
        epc_pager_destroy(probe);
        char err[1024];
        int status = test_in_child(run_cluster_tamper, (void *)&test_pagers[k], err, sizeof err);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
        assert_non_null(strstr(err, "EPC integrity check failed"));
        assert_non_null(strstr(err, "(page 5)"));
    }
    unsetenv("CLOISTER_EPC_CLUSTER");
}

/* ---- threads racing evictions ---- */

struct worker {
    uint8_t *mem;
    size_t pages, id, rounds;
    uint64_t *ref; /* this thread's words, one per page */
};

/* Each thread owns one 8-byte word in every page, so the threads share every page. */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    uint64_t seed = 1234567 + w->id;
    for (size_t k = 0; k < w->rounds; k++) {
        size_t pg = (size_t)(test_rng(&seed) % w->pages);
        volatile uint64_t *word = (volatile uint64_t *)(w->mem + pg * PAGE + w->id * 64);
        if (*word != w->ref[pg])
            return (void *)1;
        *word = w->ref[pg] = test_rng(&seed);
    }
    return NULL;
}

static void threads_share_pages(enum epc_pager_kind kind)
{
    struct epc_pager *p = make_or_skip(kind, 48, EPC_MIN_BUDGET_PAGES);
    if (!p)
        return;
    enum { THREADS = 3 };
    struct worker w[THREADS];
    pthread_t th[THREADS];
    for (size_t i = 0; i < THREADS; i++) {
        w[i] = (struct worker){epc_pager_base(p), 48, i, 20000 / TEST_SCALE, calloc(48, 8)};
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (size_t i = 0; i < THREADS; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    for (size_t i = 0; i < THREADS; i++) {
        for (size_t pg = 0; pg < 48; pg++)
            assert_memory_equal(w[i].mem + pg * PAGE + i * 64, &w[i].ref[pg], 8);
        free(w[i].ref);
    }
    struct epc_stats s = stats_of(p);
    assert_true(s.evictions > 0);
    assert_true(s.peak_resident_pages <= EPC_MIN_BUDGET_PAGES);
    epc_pager_destroy(p);
}

static void pager_threads_share_pages(void **state)
{
    for (size_t k = 0; k < 2; k++)
        threads_share_pages(test_pagers[k]);
}

/* ---- the system-call rule ---- */

static void syscalls_see_efault(enum epc_pager_kind kind)
{
    struct epc_pager *p = make_or_skip(kind, 64, EPC_MIN_BUDGET_PAGES);
    if (!p)
        return;
    uint8_t *mem = epc_pager_base(p);
    touch_range(mem, 0, 17, 1);
    assert_false(epc_pager_resident(p, 0));
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    errno = 0;
    assert_int_equal(read(fd, mem + 64, 16), -1); /* the kernel cannot take the fault */
    assert_int_equal(errno, EFAULT);
    assert_int_equal(mem[7], 1); /* user space can, after which the syscall works */
    assert_int_equal(read(fd, mem + 64, 16), 16);
    assert_int_equal(mem[64], 0);
    close(fd);
    epc_pager_destroy(p);
}

static void pager_syscalls_see_efault(void **state)
{
    for (size_t k = 0; k < 2; k++)
        syscalls_see_efault(test_pagers[k]);
}

/* ---- plain memory, configuration ---- */

static void pager_unlimited_is_plain_memory(void **state)
{
    const size_t budgets[] = {EPC_BUDGET_UNLIMITED, 1024 * PAGE};
    for (size_t k = 0; k < 2; k++) {
        struct epc_config cfg = {256 * PAGE, budgets[k], EPC_PAGER_UFFD, EPC_SERVE_AUTO};
        struct epc_pager *p = epc_pager_create(&cfg);
        assert_non_null(p);
        assert_int_equal(epc_pager_kind(p), EPC_PAGER_AUTO);
        memset(epc_pager_base(p), 0x5a, 256 * PAGE);
        struct epc_stats s = stats_of(p);
        assert_string_equal(s.pager, "none");
        assert_int_equal(s.unlimited, k == 0);
        assert_int_equal(s.budget_pages, k == 0 ? 0 : 1024);
        assert_int_equal(s.faults, 0);
        assert_int_equal(s.evictions, 0);
        assert_int_equal(s.resident_pages, 0); /* left to the heap: see test_epc_alloc */
        assert_null(epc_pager_backing_slot(p, 0));
        epc_pager_destroy(p);
    }
}

static void pager_refuses_bad_configs(void **state)
{
    const struct epc_config bad[] = {
        {0, EPC_BUDGET_SGX1, EPC_PAGER_AUTO, EPC_SERVE_AUTO},
        {EPC_MAX_SIZE + 1, EPC_BUDGET_SGX1, EPC_PAGER_AUTO, EPC_SERVE_AUTO},
        {64 * PAGE, 15 * PAGE, EPC_PAGER_AUTO, EPC_SERVE_AUTO},
        {64 * PAGE, 0, EPC_PAGER_AUTO, EPC_SERVE_AUTO},
        {64 * PAGE, 16 * PAGE, (enum epc_pager_kind)7, EPC_SERVE_AUTO},
        {64 * PAGE, 16 * PAGE, EPC_PAGER_UFFD, (enum epc_serve)5},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        assert_null(epc_pager_create(&bad[i]));
        assert_int_equal(errno, EINVAL);
    }
    assert_null(epc_pager_create(NULL));
    /* sigsegv paging splits maps per page: a budget past vm.max_map_count / 2 is refused. */
    struct epc_config big = {(size_t)256 << 20, (size_t)200 << 20, EPC_PAGER_SIGSEGV,
                             EPC_SERVE_AUTO};
    errno = 0;
    assert_null(epc_pager_create(&big));
    assert_int_equal(errno, EINVAL);
}

static void pager_env_picks_mechanism(void **state)
{
    struct epc_pager *uffd = make(EPC_PAGER_UFFD, 64, 16);
    bool have_uffd = uffd != NULL;
    epc_pager_destroy(uffd);
    setenv("CLOISTER_EPC_PAGER", "sigsegv", 1);
    struct epc_pager *p = make(EPC_PAGER_AUTO, 64, 16);
    assert_int_equal(epc_pager_kind(p), EPC_PAGER_SIGSEGV);
    epc_pager_destroy(p);
    unsetenv("CLOISTER_EPC_PAGER");
    p = make(EPC_PAGER_AUTO, 64, 16);
    assert_int_equal(epc_pager_kind(p), have_uffd ? EPC_PAGER_UFFD : EPC_PAGER_SIGSEGV);
    epc_pager_destroy(p);
    /* An explicit kind wins over the environment. */
    setenv("CLOISTER_EPC_PAGER", "uffd", 1);
    p = make(EPC_PAGER_SIGSEGV, 64, 16);
    assert_int_equal(epc_pager_kind(p), EPC_PAGER_SIGSEGV);
    epc_pager_destroy(p);
    unsetenv("CLOISTER_EPC_PAGER");
}

/* ---- faults that are not ours reach the handler installed before ---- */

static sigjmp_buf foreign_jump;
static volatile sig_atomic_t foreign_signal;

static void foreign_handler(int sig, siginfo_t *si, void *uc)
{
    foreign_signal = sig;
    siglongjmp(foreign_jump, 1);
}

static void run_chaining(void *arg)
{
    struct sigaction sa = {.sa_sigaction = foreign_handler, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    struct epc_pager *a = make(EPC_PAGER_SIGSEGV, 64, 16), *b = make(EPC_PAGER_UFFD, 64, 16);
    if (!a)
        _exit(10);
    volatile uint8_t *guard = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(foreign_jump, 1) == 0) {
        (void)guard[0];
        _exit(11);
    }
    if (foreign_signal != SIGSEGV)
        _exit(12);
    if (b) { /* a shared mapping past the end of its (empty) file raises SIGBUS */
        int fd = memfd_create("epc-test", MFD_CLOEXEC);
        volatile uint8_t *beyond = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
        if (sigsetjmp(foreign_jump, 1) == 0) {
            (void)beyond[0];
            _exit(13);
        }
        if (foreign_signal != SIGBUS)
            _exit(14);
        touch_range(epc_pager_base(b), 0, 40, 3);
        if (epc_pager_base(b)[7] != 3)
            _exit(15);
    }
    touch_range(epc_pager_base(a), 0, 40, 3); /* our own faults are still served */
    if (epc_pager_base(a)[7] != 3)
        _exit(16);
}

static void pager_chains_foreign_faults(void **state)
{
    char err[1024];
    int status = test_in_child(run_chaining, NULL, err, sizeof err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        print_message("child status %d, stderr: %s\n", status, err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- faults served by a handler thread (CLOISTER_EPC_SERVE=thread) ---- */

/* The userfaultfd cases again with faults served by the region's handler thread instead of the
 * faulting thread: contents, exact counts (single and default blocks), tampering and replay,
 * racing threads, EFAULT. */
static void pager_handler_thread_serves_faults(void **state)
{
    setenv("CLOISTER_EPC_SERVE", "thread", 1);
    random_workload(EPC_PAGER_UFFD, 64, 2.0);
    const char *const paths[] = {"1", NULL};
    for (size_t c = 0; c < 2; c++) {
        set_cluster(paths[c]);
        for (int tk = 0; tk < TRACE_KINDS; tk++)
            check_against_model(EPC_PAGER_UFFD, (enum trace_kind)tk);
    }
    attack_is_fatal(EPC_PAGER_UFFD, ATTACK_NONE);
    attack_is_fatal(EPC_PAGER_UFFD, ATTACK_TAG);
    attack_is_fatal(EPC_PAGER_UFFD, ATTACK_REPLAY);
    threads_share_pages(EPC_PAGER_UFFD);
    syscalls_see_efault(EPC_PAGER_UFFD);
    unsetenv("CLOISTER_EPC_SERVE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pager_chains_foreign_faults),
        cmocka_unit_test(pager_matches_reference),
        cmocka_unit_test(pager_counts_match_fifo_model),
        cmocka_unit_test(pager_refuses_tampering_and_replay),
        cmocka_unit_test(pager_evicts_blocks_and_loads_from_pool),
        cmocka_unit_test(pager_default_block_follows_budget),
        cmocka_unit_test(pager_detects_tamper_in_block),
        cmocka_unit_test(pager_threads_share_pages),
        cmocka_unit_test(pager_syscalls_see_efault),
        cmocka_unit_test(pager_unlimited_is_plain_memory),
        cmocka_unit_test(pager_refuses_bad_configs),
        cmocka_unit_test(pager_env_picks_mechanism),
        cmocka_unit_test(pager_handler_thread_serves_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
