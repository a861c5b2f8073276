/* test_orch_enforce.c -- EPC accounting groups in the enclave runtime (tee.h), with the pod
 * enclave, in both backends: the sum over a group's enclaves never passes its limit, the growth
 * that would pass it is refused with an error naming the group while the other enclaves (and the
 * refused one) keep working, creation is refused when even the base does not fit, destroying an
 * enclave gives its pages back, and an enclave outside any group grows freely. */
#include <cloister/crypto.h>
#include <cloister/orch.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(pod);

#define MIB ((uint64_t)1 << 20)
#define PAGES(b) ((b) / 4096)

static char image[4096], sig[4096];

static int setup(void **state)
{
    (void)state;
    struct cloister_err err;
    assert_int_equal(tee_image_path("pod", image, sizeof image, &err), CLOISTER_OK);
    assert_int_equal(file_mkdirs(getenv("CLOISTER_HOME"), 0700), 0);
    snprintf(sig, sizeof sig, "%s/pod-test.sig", getenv("CLOISTER_HOME"));
    uint8_t seed[TEE_SEED_LEN];
    assert_int_equal(crypto_random(seed, sizeof seed), 0);
    /* 64 MiB of heap, all of it resident: the group's limit is what stops growth here. */
    int rc = tee_sign_file_sized(image, 64 * MIB, 64 * MIB, seed, sig, &err);
    if (rc != CLOISTER_OK)
        fail_msg("%s", err.msg);
    return 0;
}

static tee_enclave *launch(enum tee_backend b, tee_epc_group *g, struct cloister_err *err)
{
    struct tee_options o;
    tee_options_init(&o);
    o.backend = b;
    o.image = image;
    o.signature = sig;
    o.enclave = &tee_enclave_pod;
    o.epc_group = g;
    tee_enclave *e = NULL;
    tee_create(&o, &e, err);
    return e;
}

static int grow(tee_enclave *e, uint64_t bytes, uint64_t *held, struct cloister_err *err)
{
    uint8_t in[8];
    struct wire_writer w;
    wire_writer_init_fixed(&w, in, sizeof in);
    wire_put_u64(&w, bytes);
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = tee_ecall(e, ORCH_POD_ECALL_GROW, in, sizeof in, &out, &outlen, err);
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        wire_reader_init(&r, out, outlen);
        *held = wire_get_u64(&r);
        assert_int_equal(wire_reader_finish(&r), 0);
    }
    free(out);
    return rc;
}

static uint64_t committed(tee_epc_group *g)
{
    struct tee_epc_group_stats s;
    tee_epc_group_stats(g, &s);
    assert_true(s.committed_pages <= s.limit_pages);
    return s.committed_pages;
}

static void group_sum(enum tee_backend b)
{
    struct cloister_err err;
    tee_epc_group *g = tee_epc_group_new("pod-a", PAGES(8 * MIB), &err);
    assert_non_null(g);
    tee_enclave *e1 = launch(b, g, &err), *e2 = launch(b, g, &err);
    assert_non_null(e1);
    assert_non_null(e2);
    uint64_t held;
    assert_int_equal(grow(e1, 4 * MIB, &held, &err), CLOISTER_OK);
    assert_int_equal(held, 4 * MIB);
    assert_int_equal(grow(e2, 2 * MIB, &held, &err), CLOISTER_OK);
    uint64_t before = committed(g);
    assert_true(before >= PAGES(6 * MIB) && before <= PAGES(8 * MIB));

    /* Each enclave alone is under 8 MiB; their sum would not be: refused, with the group named. */
    int rc = grow(e2, 3 * MIB, &held, &err);
    assert_int_not_equal(rc, CLOISTER_OK);
    assert_non_null(strstr(err.msg, "EPC group 'pod-a' refused enclave 'pod'"));
    struct tee_epc_group_stats s;
    tee_epc_group_stats(g, &s);
    assert_true(s.refusals >= 1);
    assert_int_equal(s.enclaves, 2);
    assert_true(s.committed_pages <= s.limit_pages);

    /* Both enclaves still answer; pages given back by one serve the other. */
    assert_int_equal(grow(e1, 0, &held, &err), CLOISTER_OK);
    assert_int_equal(held, 4 * MIB);
    tee_destroy(e1);
    assert_true(committed(g) < before);
    assert_int_equal(grow(e2, 3 * MIB, &held, &err), CLOISTER_OK);
    assert_true(held >= 5 * MIB);

    struct tee_epc_member m[4];
    assert_int_equal(tee_epc_group_members(g, m, 4), 1);
    assert_int_equal(m[0].committed_pages, committed(g));
    tee_destroy(e2);
    assert_int_equal(committed(g), 0);
    tee_epc_group_free(g);
}

static void creation_refused(enum tee_backend b)
{
    struct cloister_err err;
    tee_epc_group *g = tee_epc_group_new("tiny", TEE_EPC_BASE_PAGES - 1, &err);
    assert_non_null(g);
    tee_enclave *e = launch(b, g, &err);
    assert_null(e);
    assert_int_equal(err.code, CLOISTER_E_TOO_BIG);
    assert_non_null(strstr(err.msg, "EPC group 'tiny' refused"));
    assert_int_equal(committed(g), 0);
    tee_epc_group_free(g);
}

static void no_group(enum tee_backend b)
{
    struct cloister_err err;
    tee_enclave *e = launch(b, NULL, &err);
    assert_non_null(e);
    uint64_t held;
    assert_int_equal(grow(e, 12 * MIB, &held, &err), CLOISTER_OK);
    assert_int_equal(held, 12 * MIB);
    tee_destroy(e);
}

static void test_group_sum_proc(void **s)
{
    (void)s;
    group_sum(TEE_BACKEND_PROC);
}
static void test_group_sum_sim(void **s)
{
    (void)s;
    group_sum(TEE_BACKEND_SIM);
}
static void test_creation_refused_proc(void **s)
{
    (void)s;
    creation_refused(TEE_BACKEND_PROC);
}
static void test_creation_refused_sim(void **s)
{
    (void)s;
    creation_refused(TEE_BACKEND_SIM);
}
static void test_no_group(void **s)
{
    (void)s;
    no_group(TEE_BACKEND_PROC);
    no_group(TEE_BACKEND_SIM);
}

static void test_bad_groups(void **s)
{
    (void)s;
    struct cloister_err err;
    assert_null(tee_epc_group_new("a/b", 10, &err));
    assert_int_equal(err.code, CLOISTER_E_INVALID);
    assert_null(tee_epc_group_new("ok", 0, &err));
    assert_null(tee_epc_group_new("", 10, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_sum_proc),
        cmocka_unit_test(test_group_sum_sim),
        cmocka_unit_test(test_creation_refused_proc),
        cmocka_unit_test(test_creation_refused_sim),
        cmocka_unit_test(test_no_group),
        cmocka_unit_test(test_bad_groups),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
