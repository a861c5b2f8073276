/* test_tee_transport.c -- the boundary, run against both backends: echo of every size class,
 * batches and their per-call statuses, unknown ecalls, size limits in both directions, ocalls,
 * per-instance state and on_start, counters, concurrent callers over several workers, blocking
 * waits, and a differential check that sim and proc answer identically. */
#include <cloister/crypto.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "test_enclave.h"

static struct fixture fx;

static enum tee_backend backend_of(void **state)
{
    return *(enum tee_backend *)*state;
}

static int echo_ocall(void *arg, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    (*(int *)arg)++;
    wire_put_raw(out, in, inlen);
    return CLOISTER_OK;
}

static int ocalls_served;
static const struct tee_ocall_entry ocalls[] = {{TEST_OCALL_ECHO, "echo", echo_ocall}};

static tee_enclave *create(void **state, void (*tweak)(struct tee_options *))
{
    struct tee_options o;
    fixture_options(&fx, &o, backend_of(state));
    o.ocalls = ocalls;
    o.nocalls = 1;
    o.ocall_arg = &ocalls_served;
    o.max_message = 256 * 1024;
    if (tweak)
        tweak(&o);
    return fixture_create(&o);
}

static void check_echo(tee_enclave *e, size_t n)
{
    uint8_t *in = calloc(1, n ? n : 1), *out;
    size_t outlen;
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i * 7 + n);
    assert_int_equal(tee_ecall(e, TEST_ECALL_ECHO, in, n, &out, &outlen, NULL), CLOISTER_OK);
    assert_int_equal(outlen, n);
    if (n)
        assert_memory_equal(out, in, n);
    else
        assert_null(out);
    free(out);
    free(in);
}

static void echo_sizes(void **state)
{
    tee_enclave *e = create(state, NULL);
    const size_t sizes[] = {0, 1, 64, 4095, 4096, 65536, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_echo(e, sizes[i]);
    struct tee_info info;
    assert_int_equal(tee_get_info(e, &info), CLOISTER_OK);
    assert_int_equal(info.backend, backend_of(state));
    assert_true(info.alive);
    assert_memory_equal(info.mrenclave, fx.id.mrenclave, 32);
    assert_memory_equal(info.mrsigner, fx.id.mrsigner, 32);
    tee_destroy(e);
}

static void batches(void **state)
{
    tee_enclave *e = create(state, NULL);
    const size_t sizes[] = {1, 16, 256};
    for (size_t k = 0; k < 3; k++) {
        size_t n = sizes[k];
        struct tee_call *calls = calloc(n, sizeof *calls);
        uint32_t *vals = calloc(n, sizeof *vals);
        for (size_t i = 0; i < n; i++) {
            vals[i] = (uint32_t)(i * 2654435761u);
            calls[i] = (struct tee_call){.number = TEST_ECALL_ECHO,
                                         .in = &vals[i],
                                         .inlen = sizeof vals[i]};
        }
        assert_int_equal(tee_ecall_batch(e, calls, n, NULL), CLOISTER_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(calls[i].status, CLOISTER_OK);
            assert_int_equal(calls[i].outlen, 4);
            assert_memory_equal(calls[i].out, &vals[i], 4);
        }
        tee_calls_free(calls, n);
        free(calls);
        free(vals);
    }
    /* One crossing, calls run in order, each with its own status. */
    struct tee_call mixed[] = {
        {.number = TEST_ECALL_COUNT},
        {.number = 0x777},
        {.number = TEST_ECALL_FAIL},
        {.number = TEST_ECALL_COUNT},
        {.number = TEST_ECALL_ECHO, .in = "x", .inlen = 1},
    };
    struct cloister_err err;
    assert_int_equal(tee_ecall_batch(e, mixed, 5, &err), CLOISTER_OK);
    assert_int_equal(mixed[0].status, CLOISTER_OK);
    assert_int_equal(mixed[1].status, CLOISTER_E_NO_ECALL);
    assert_int_equal(mixed[2].status, CLOISTER_E_FAILED);
    assert_non_null(strstr(err.msg, "as asked"));
    assert_int_equal(mixed[3].status, CLOISTER_OK);
    assert_int_equal(mixed[0].out[7] + 1, mixed[3].out[7]);
    assert_int_equal(mixed[4].status, CLOISTER_OK);
    tee_calls_free(mixed, 5);
    assert_int_equal(tee_ecall_batch(e, mixed, 0, NULL), CLOISTER_E_INVALID);
    assert_int_equal(tee_ecall_batch(e, mixed, TEE_BATCH_MAX + 1, NULL), CLOISTER_E_INVALID);
    tee_destroy(e);
}

static void refusals(void **state)
{
    tee_enclave *e = create(state, NULL);
    uint8_t *out = (uint8_t *)1;
    size_t outlen = 1;
    struct cloister_err err;
    assert_int_equal(tee_ecall(e, 0x4242, NULL, 0, &out, &outlen, &err), CLOISTER_E_NO_ECALL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "0x4242"));
    assert_int_equal(tee_ecall(e, 0xFFFF, NULL, 0, &out, &outlen, NULL), CLOISTER_E_NO_ECALL);

    /* Too big on the way in (host refuses) and on the way out (enclave refuses). */
    size_t big = 256 * 1024 + 1;
    uint8_t *in = calloc(1, big);
    assert_int_equal(tee_ecall(e, TEST_ECALL_ECHO, in, big, &out, &outlen, NULL),
                     CLOISTER_E_TOO_BIG);
    assert_int_equal(tee_ecall(e, TEST_ECALL_ECHO, in, big - 5, &out, &outlen, NULL),
                     CLOISTER_E_TOO_BIG);
    uint8_t n[4] = {0, 0x10, 0, 0}; /* 1 MiB */
    assert_int_equal(tee_ecall(e, TEST_ECALL_BIG, n, 4, &out, &outlen, &err), CLOISTER_E_TOO_BIG);
    assert_non_null(strstr(err.msg, "message limit"));
    uint8_t ok[4] = {0, 0, 0x10, 0}; /* 4 KiB */
    assert_int_equal(tee_ecall(e, TEST_ECALL_BIG, ok, 4, &out, &outlen, NULL), CLOISTER_OK);
    assert_int_equal(outlen, 4096);
    free(out);
    /* The enclave is still fine. */
    check_echo(e, 64);
    free(in);
    tee_destroy(e);
}

static void ocalls_and_state(void **state)
{
    tee_enclave *e = create(state, NULL);
    uint8_t *out;
    size_t outlen;
    int before = ocalls_served;
    assert_int_equal(tee_ecall(e, TEST_ECALL_OCALL_ECHO, "ping", 4, &out, &outlen, NULL),
                     CLOISTER_OK);
    assert_int_equal(outlen, 4);
    assert_memory_equal(out, "ping", 4);
    free(out);
    assert_int_equal(ocalls_served, before + 1);
    assert_int_equal(tee_ecall(e, TEST_ECALL_STARTED, NULL, 0, &out, &outlen, NULL), CLOISTER_OK);
    assert_int_equal(out[0], 1);
    free(out);
    for (uint8_t i = 1; i <= 3; i++) {
        assert_int_equal(tee_ecall(e, TEST_ECALL_COUNT, NULL, 0, &out, &outlen, NULL), CLOISTER_OK);
        assert_int_equal(out[7], i);
        free(out);
    }
    /* A restart is a fresh instance. */
    assert_int_equal(tee_restart(e, NULL), CLOISTER_OK);
    assert_int_equal(tee_ecall(e, TEST_ECALL_COUNT, NULL, 0, &out, &outlen, NULL), CLOISTER_OK);
    assert_int_equal(out[7], 1);
    free(out);
    struct tee_info info;
    tee_get_info(e, &info);
    assert_int_equal(info.stats.restarts, 1);
    assert_true(info.stats.ocalls >= 1);
    tee_destroy(e);

    /* A host without that ocall: the enclave's ocall fails, and says so. */
    struct tee_options o;
    fixture_options(&fx, &o, backend_of(state));
    e = fixture_create(&o);
    struct cloister_err err;
    assert_int_equal(tee_ecall(e, TEST_ECALL_OCALL_ECHO, "ping", 4, &out, &outlen, &err),
                     CLOISTER_E_NO_ECALL);
    assert_non_null(strstr(err.msg, "no ocall"));
    tee_destroy(e);
}

static void counters(void **state)
{
    tee_enclave *e = create(state, NULL);
    struct tee_info a, b;
    tee_get_info(e, &a);
    check_echo(e, 100);
    struct tee_call calls[3] = {{.number = TEST_ECALL_ECHO, .in = "abc", .inlen = 3},
                                {.number = TEST_ECALL_ECHO, .in = "de", .inlen = 2},
                                {.number = 0x999}};
    assert_int_equal(tee_ecall_batch(e, calls, 3, NULL), CLOISTER_OK);
    tee_calls_free(calls, 3);
    tee_get_info(e, &b);
    assert_int_equal(b.stats.ecalls - a.stats.ecalls, 4);
    assert_int_equal(b.stats.crossings - a.stats.crossings, 2);
    assert_int_equal(b.stats.bytes_in - a.stats.bytes_in, 105);
    assert_int_equal(b.stats.bytes_out - a.stats.bytes_out, 105);
    assert_int_equal(b.stats.failures - a.stats.failures, 1);
    if (backend_of(state) == TEE_BACKEND_PROC)
        assert_int_equal(b.stats.switchless_hits + b.stats.switchless_fallbacks -
                             a.stats.switchless_hits - a.stats.switchless_fallbacks,
                         2);
    tee_destroy(e);
}

struct hammer {
    tee_enclave *e;
    int id, failures;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 200; i++) {
        uint8_t in[48] = {0}, *out;
        size_t outlen;
        snprintf((char *)in, sizeof in, "thread %d call %d", h->id, i);
        if (tee_ecall(h->e, TEST_ECALL_ECHO, in, sizeof in, &out, &outlen, NULL) != CLOISTER_OK ||
            outlen != sizeof in || memcmp(in, out, sizeof in) != 0)
            h->failures++;
        free(out);
    }
    return NULL;
}

static void two_workers(struct tee_options *o)
{
    o->workers = 2;
    o->slots = 3;
}

static void concurrent(void **state)
{
    tee_enclave *e = create(state, two_workers);
    struct hammer h[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){.e = e, .id = i};
        pthread_create(&t[i], NULL, hammer_main, &h[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(h[i].failures, 0);
    }
    uint8_t *out;
    size_t outlen;
    assert_int_equal(tee_ecall(e, TEST_ECALL_COUNT, NULL, 0, &out, &outlen, NULL), CLOISTER_OK);
    free(out);
    struct tee_info info;
    tee_get_info(e, &info);
    assert_int_equal(info.workers, 2);
    /* Counted per calling thread and summed: exact. The start ecall, 4 x 200, the count. */
    assert_int_equal(info.stats.ecalls, 1 + 800 + 1);
    assert_int_equal(info.stats.bytes_in, 800 * 48);
    tee_destroy(e);
}

static void blocking(struct tee_options *o)
{
    o->wait = TEE_WAIT_BLOCK;
}

static void blocking_waits(void **state)
{
    tee_enclave *e = create(state, blocking);
    for (int i = 0; i < 50; i++)
        check_echo(e, 64);
    struct tee_info info;
    tee_get_info(e, &info);
    assert_int_equal(info.wait, TEE_WAIT_BLOCK);
    assert_int_equal(info.spin_count, 0);
    /* Every answer was waited for without spinning. Whether the host had to sleep for it
     * depends on the scheduler (a preempted host finds the answer ready): not asserted. */
    if (backend_of(state) == TEE_BACKEND_PROC)
        assert_true(info.stats.switchless_hits + info.stats.switchless_fallbacks >= 50);
    tee_destroy(e);
}

/* The same calls through both backends give the same answers. */
static void differential(void **state)
{
    tee_enclave *sim = create(state, NULL);
    enum tee_backend proc_backend = TEE_BACKEND_PROC;
    void *proc_state = &proc_backend;
    tee_enclave *proc = create(&proc_state, NULL);
    uint8_t buf[512];
    assert_int_equal(crypto_random(buf, sizeof buf), 0);
    for (int i = 0; i < 64; i++) {
        uint32_t number = (uint32_t[]){TEST_ECALL_ECHO, TEST_ECALL_COUNT, TEST_ECALL_FAIL,
                                       TEST_ECALL_SEAL_ROUNDTRIP, 0x1234}[buf[i] % 5];
        size_t len = buf[i + 64];
        const uint8_t *in = buf + 128;
        uint8_t policy[1 + 255];
        if (number == TEST_ECALL_SEAL_ROUNDTRIP) {
            policy[0] = TEE_SEAL_MRENCLAVE;
            memcpy(policy + 1, in, len);
            in = policy;
            len++;
        }
        uint8_t *o1, *o2;
        size_t l1, l2;
        int r1 = tee_ecall(sim, number, in, len, &o1, &l1, NULL);
        int r2 = tee_ecall(proc, number, in, len, &o2, &l2, NULL);
        assert_int_equal(r1, r2);
        assert_int_equal(l1, l2);
        if (l1)
            assert_memory_equal(o1, o2, l1);
        free(o1);
        free(o2);
    }
    tee_destroy(sim);
    tee_destroy(proc);
}

static int setup(void **state)
{
    fixture_sign(&fx, "test", "transport", 7, 1);
    return 0;
}

int main(void)
{
    static enum tee_backend sim = TEE_BACKEND_SIM, proc = TEE_BACKEND_PROC;
#define BOTH(fn) cmocka_unit_test_prestate(fn, &sim), cmocka_unit_test_prestate(fn, &proc)
    const struct CMUnitTest tests[] = {
        BOTH(echo_sizes),     BOTH(batches),
        BOTH(refusals),       BOTH(ocalls_and_state),
        BOTH(counters),       BOTH(concurrent),
        BOTH(blocking_waits), cmocka_unit_test_prestate(differential, &sim),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
