/* test_tee_dispatch.c -- the trusted side's decoding of request messages, without a process:
 * every malformed request (bad header, counts, varints, lengths, trailing bytes) gets one
 * decodable error response naming what was wrong; unknown numbers and oversized outputs fail
 * only their own call; trust ecalls without an identity refuse; and thousands of random
 * mutations of a valid request always produce a well-formed response. */
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tee/enclave/rt.h"
#include "tee/ring/ring.h"
#include "test_enclave.h"

#define LIMIT 4096

/* A small enclave of harmless ecalls (random mutations reach every number), with the test
 * enclave's numbers for echo, count and big. */
static int ecall_echo(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    wire_put_raw(out, in, inlen);
    return CLOISTER_OK;
}

static int ecall_count(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    wire_put_u64(out, 1);
    return CLOISTER_OK;
}

static int ecall_big(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    if (inlen != 4)
        return tee_fail(env, CLOISTER_E_INVALID, "big: expected a u32");
    uint32_t n = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    for (uint32_t i = 0; i < n; i++)
        wire_put_u8(out, 0xab);
    return CLOISTER_OK;
}

#define DISPATCH_ECALLS(X)                                                                         \
    X(TEST_ECALL_ECHO, echo) X(TEST_ECALL_COUNT, count) X(TEST_ECALL_BIG, big)
TEE_ENCLAVE_DEFINE(dispatch, DISPATCH_ECALLS);

struct result {
    int status; /* of the whole request */
    size_t count;
    int statuses[8];
    size_t lens[8];
    char text[300]; /* the first error text */
};

/* Runs msg through the dispatcher and decodes the response; fails the test if the response
 * itself is malformed. */
static struct result handle(const uint8_t *msg, size_t len)
{
    struct tee_rt *rt = tee_rt_new(&tee_enclave_dispatch, NULL, LIMIT);
    assert_non_null(rt);
    struct wire_writer resp, scratch;
    wire_writer_init(&resp);
    wire_writer_init(&scratch);
    tee_rt_handle(rt, NULL, msg, len, &resp, &scratch);
    assert_true(wire_writer_ok(&resp));
    assert_true(resp.len <= LIMIT);

    struct result res = {0};
    struct wire_reader r;
    wire_reader_init(&r, resp.buf, resp.len);
    assert_int_equal(wire_get_header(&r, MSG_RESPONSE, MSG_VERSION), 1);
    res.status = msg_status_decode(&r);
    size_t n;
    const uint8_t *p;
    if (res.status != CLOISTER_OK) {
        p = wire_get_bytes(&r, LIMIT, &n);
        snprintf(res.text, sizeof res.text, "%.*s", (int)n, (const char *)p);
    } else {
        res.count = wire_get_varint(&r);
        for (size_t i = 0; i < res.count && wire_reader_ok(&r); i++) {
            int st = msg_status_decode(&r);
            p = wire_get_bytes(&r, LIMIT, &n);
            if (i < 8) {
                res.statuses[i] = st;
                res.lens[i] = n;
            }
            if (st != CLOISTER_OK && !res.text[0])
                snprintf(res.text, sizeof res.text, "%.*s", (int)n, (const char *)p);
        }
    }
    assert_int_equal(wire_reader_finish(&r), 0);
    wire_writer_free(&resp);
    wire_writer_free(&scratch);
    tee_rt_free(rt);
    return res;
}

static size_t request(uint8_t *buf, size_t cap, size_t count, const uint32_t *numbers,
                      const char *const *inputs)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, buf, cap);
    wire_put_header(&w, MSG_REQUEST, MSG_VERSION);
    wire_put_varint(&w, count);
    for (size_t i = 0; i < count; i++) {
        wire_put_varint(&w, numbers[i]);
        wire_put_bytes(&w, inputs[i], strlen(inputs[i]));
    }
    assert_true(wire_writer_ok(&w));
    return w.len;
}

static void valid(void **state)
{
    uint8_t buf[256];
    const uint32_t numbers[] = {TEST_ECALL_ECHO, 0x777, TEST_ECALL_ECHO, TEE_ECALL_SEAL};
    const char *const inputs[] = {"hello", "", "", "x"};
    struct result r = handle(buf, request(buf, sizeof buf, 4, numbers, inputs));
    assert_int_equal(r.status, CLOISTER_OK);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.statuses[0], CLOISTER_OK);
    assert_int_equal(r.lens[0], 5);
    assert_int_equal(r.statuses[1], CLOISTER_E_NO_ECALL);
    assert_non_null(strstr(r.text, "0x777"));
    assert_int_equal(r.statuses[2], CLOISTER_OK);
    assert_int_equal(r.lens[2], 0);
    /* A trust ecall on an instance without identity refuses (here: malformed input first). */
    assert_int_not_equal(r.statuses[3], CLOISTER_OK);
}

static void malformed(void **state)
{
    uint8_t good[64];
    const uint32_t numbers[] = {TEST_ECALL_ECHO};
    const char *const inputs[] = {"abc"};
    size_t len = request(good, sizeof good, 1, numbers, inputs);
    /* header 6 | count 1 | number 1 | length 1 | "abc" */
    struct {
        const char *what, *expect;
        size_t at; /* byte to change, or SIZE_MAX for none */
        uint8_t value;
        size_t len; /* length to pass */
    } cases[] = {
        {"empty", "", SIZE_MAX, 0, 0},
        {"bad magic", "magic", 0, 'X', len},
        {"bad version", "version", 5, 9, len},
        {"zero count", "empty batch", 6, 0, len},
        {"count beyond input", "count", 6, 100, len},
        {"length beyond input", "", 8, 60, len},
        {"truncated", "", SIZE_MAX, 0, len - 1},
        {"trailing byte", "", SIZE_MAX, 0, len + 1},
        {"non-minimal varint", "", 7, 0x81, len},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t msg[64];
        memcpy(msg, good, sizeof good);
        msg[len] = 0;
        if (cases[i].at != SIZE_MAX)
            msg[cases[i].at] = cases[i].value;
        struct result r = handle(msg, cases[i].len);
        if (r.status != CLOISTER_E_INVALID)
            fail_msg("%s: accepted (status %d)", cases[i].what, r.status);
        assert_non_null(strstr(r.text, "malformed request"));
        assert_non_null(strstr(r.text, cases[i].expect));
    }
    /* A number beyond 32 bits, and an input beyond the message limit. */
    uint8_t msg[64];
    struct wire_writer w;
    wire_writer_init_fixed(&w, msg, sizeof msg);
    wire_put_header(&w, MSG_REQUEST, MSG_VERSION);
    wire_put_varint(&w, 1);
    wire_put_varint(&w, 1ull << 40);
    wire_put_bytes(&w, "", 0);
    assert_int_equal(handle(msg, w.len).status, CLOISTER_E_INVALID);
}

static void output_limits(void **state)
{
    uint8_t buf[64];
    const uint32_t numbers[] = {TEST_ECALL_BIG, TEST_ECALL_ECHO};
    const char big[] = {0, 0, 0x20, 0, 0}; /* 8 KiB, beyond LIMIT */
    const char *const inputs[] = {big, "ok"};
    /* strlen stops at the first NUL: build this one by hand. */
    struct wire_writer w;
    wire_writer_init_fixed(&w, buf, sizeof buf);
    wire_put_header(&w, MSG_REQUEST, MSG_VERSION);
    wire_put_varint(&w, 2);
    wire_put_varint(&w, numbers[0]);
    wire_put_bytes(&w, big, 4);
    wire_put_varint(&w, numbers[1]);
    wire_put_bytes(&w, inputs[1], 2);
    struct result r = handle(buf, w.len);
    assert_int_equal(r.status, CLOISTER_OK);
    assert_int_equal(r.statuses[0], CLOISTER_E_TOO_BIG);
    assert_non_null(strstr(r.text, "message limit"));
    assert_int_equal(r.statuses[1], CLOISTER_OK);
    assert_int_equal(r.lens[1], 2);
}

static void trust_needs_identity(void **state)
{
    uint8_t buf[128];
    const uint32_t numbers[] = {TEE_ECALL_EVIDENCE};
    char data[65];
    memset(data, 'a', 64);
    data[64] = 0;
    const char *const inputs[] = {data};
    struct result r = handle(buf, request(buf, sizeof buf, 1, numbers, inputs));
    assert_int_equal(r.statuses[0], CLOISTER_E_DENIED);
    assert_non_null(strstr(r.text, "no identity"));
}

static void mutations(void **state)
{
    uint8_t good[128];
    const uint32_t numbers[] = {TEST_ECALL_ECHO, TEST_ECALL_COUNT, TEST_ECALL_ECHO};
    const char *const inputs[] = {"first input", "", "third"};
    size_t len = request(good, sizeof good, 3, numbers, inputs);
    uint8_t rnd[4 * 3000];
    assert_int_equal(crypto_random(rnd, sizeof rnd), 0);
    for (int i = 0; i < 3000; i++) {
        uint8_t msg[128];
        memcpy(msg, good, len);
        size_t at = rnd[4 * i] % len, mlen = len - rnd[4 * i + 2] % 3;
        msg[at] ^= (uint8_t)(rnd[4 * i + 1] | 1);
        struct result r = handle(msg, mlen);
        assert_true(r.status == CLOISTER_OK || r.status == CLOISTER_E_INVALID);
        if (r.status == CLOISTER_OK)
            assert_true(r.count >= 1 && r.count <= 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid),         cmocka_unit_test(malformed),
        cmocka_unit_test(output_limits), cmocka_unit_test(trust_needs_identity),
        cmocka_unit_test(mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
