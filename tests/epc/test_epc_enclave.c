/* test_epc_enclave.c -- the EPC heap inside the enclave runtime: an enclave whose signed config
 * gives it a heap larger than its budget pages through the EPC emulation, with both backends
 * and both fault mechanisms (inside the proc backend's sandbox too); its counters reach the
 * host through tee_epc_stats; an unlimited budget pages nothing; the heap size is a limit, and
 * the Lua allocator hook allocates from the same heap. */
#include <cloister/crypto.h>
#include <cloister/epc.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "epc_enclave.h"
#include "epc_test.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(epcprobe);

#define MIB ((uint64_t)1 << 20)

struct signed_image {
    char image[PATH_MAX], sig[PATH_MAX], store[PATH_MAX];
    const char *home;
};

/* Signs epcprobe.enclave with a fresh key and the given heap size and EPC budget. */
static void sign(struct signed_image *s, const char *tag, uint64_t heap, uint64_t budget)
{
    s->home = getenv("CLOISTER_HOME");
    assert_non_null(s->home);
    assert_int_equal(file_mkdirs(s->home, 0700), 0);
    snprintf(s->image, sizeof s->image, "%s/enclaves/epcprobe.enclave", CLOISTER_BINARY_DIR);
    snprintf(s->sig, sizeof s->sig, "%s/%s.sig", s->home, tag);
    snprintf(s->store, sizeof s->store, "%s/store-%s", s->home, tag);
    uint8_t pk[32], seed[32];
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    struct tee_config cfg;
    tee_config_default(&cfg);
    cfg.heap_size = heap;
    cfg.epc_budget = budget;
    struct cloister_err err;
    if (tee_sign_file(s->image, &cfg, seed, s->sig, &err) != 0)
        fail_msg("%s", err.msg);
    crypto_wipe(seed, sizeof seed);
}

static tee_enclave *start(const struct signed_image *s, enum tee_backend backend)
{
    struct tee_options o;
    tee_options_init(&o);
    o.backend = backend;
    o.image = s->image;
    o.signature = s->sig;
    o.enclave = &tee_enclave_epcprobe;
    o.home = s->home;
    o.store_dir = s->store;
    tee_enclave *e = NULL;
    struct cloister_err err;
    if (tee_create(&o, &e, &err) != CLOISTER_OK)
        fail_msg("tee_create (%s): %s", tee_backend_name(backend), err.msg);
    return e;
}

static int call_u8(tee_enclave *e, uint32_t number, const void *in, size_t inlen)
{
    uint8_t *out;
    size_t outlen;
    struct cloister_err err;
    int rc = tee_ecall(e, number, in, inlen, &out, &outlen, &err);
    if (rc != CLOISTER_OK)
        fail_msg("ecall %u: %s", number, err.msg);
    assert_int_equal(outlen, 1);
    int v = out[0];
    free(out);
    return v;
}

static int churn(tee_enclave *e, uint32_t mib, uint32_t rounds)
{
    uint8_t in[16];
    struct wire_writer w;
    wire_writer_init_fixed(&w, in, sizeof in);
    wire_put_u32(&w, mib);
    wire_put_u32(&w, rounds);
    wire_put_u64(&w, 0x1234abcdull + mib);
    return call_u8(e, EPC_ECALL_CHURN, in, w.len);
}

static struct epc_stats stats(tee_enclave *e)
{
    struct epc_stats s;
    struct cloister_err err;
    if (tee_epc_stats(e, &s, &err) != CLOISTER_OK)
        fail_msg("tee_epc_stats: %s", err.msg);
    return s;
}

static void enclave_pages_its_heap(void **state)
{
    const enum tee_backend backends[] = {TEE_BACKEND_SIM, TEE_BACKEND_PROC};
    const char *const pagers[] = {"uffd", "sigsegv"}, *const names[] = {"userfaultfd", "sigsegv"};
    struct signed_image img;
    const uint64_t heap = 48 * MIB / TEST_SCALE, budget = 8 * MIB / TEST_SCALE;
    sign(&img, "paged", heap, budget);
    for (size_t b = 0; b < 2; b++)
        for (size_t k = 0; k < 2; k++) {
            setenv("CLOISTER_EPC_PAGER", pagers[k], 1); /* the enclave process inherits it */
            tee_enclave *e = start(&img, backends[b]);
            unsetenv("CLOISTER_EPC_PAGER");
            assert_int_equal(churn(e, 24 / TEST_SCALE, 600 / TEST_SCALE), 1);
            struct epc_stats s = stats(e);
            print_message("%s backend, %s: %llu faults, %llu evictions\n",
                          tee_backend_name(backends[b]), s.pager, (unsigned long long)s.faults,
                          (unsigned long long)s.evictions);
            assert_string_equal(s.pager, names[k]);
            assert_false(s.unlimited);
            assert_int_equal(s.size, heap);
            assert_int_equal(s.budget_pages, budget / EPC_PAGE_SIZE);
            assert_true(s.peak_resident_pages <= s.budget_pages);
            assert_true(s.evictions > 0 && s.bytes_decrypted > 0);
            assert_int_equal(s.bytes_encrypted, s.evictions * EPC_PAGE_SIZE);
            assert_true(s.heap_peak >= 24 / TEST_SCALE * MIB);
            tee_destroy(e);
        }
}

static void enclave_unlimited_budget_pages_nothing(void **state)
{
    struct signed_image img;
    sign(&img, "unlimited", 32 * MIB, TEE_EPC_UNLIMITED);
    const enum tee_backend backends[] = {TEE_BACKEND_SIM, TEE_BACKEND_PROC};
    for (size_t b = 0; b < 2; b++) {
        tee_enclave *e = start(&img, backends[b]);
        assert_int_equal(churn(e, 16, 100), 1);
        struct epc_stats s = stats(e);
        assert_string_equal(s.pager, "none");
        assert_true(s.unlimited);
        assert_int_equal(s.faults, 0);
        assert_int_equal(s.evictions, 0);
        tee_destroy(e);
    }
}

static int try_alloc(tee_enclave *e, uint64_t bytes)
{
    uint8_t in[8];
    struct wire_writer w;
    wire_writer_init_fixed(&w, in, sizeof in);
    wire_put_u64(&w, bytes);
    return call_u8(e, EPC_ECALL_ALLOC, in, w.len);
}

static void enclave_heap_size_is_a_limit(void **state)
{
    struct signed_image img;
    sign(&img, "small", 16 * MIB, TEE_EPC_DEFAULT);
    tee_enclave *e = start(&img, TEE_BACKEND_PROC);
    struct epc_stats before = stats(e); /* what the runtime keeps in the heap between calls */
    assert_int_equal(try_alloc(e, 8 * MIB), 1);
    assert_int_equal(try_alloc(e, 17 * MIB), 0);
    assert_int_equal(call_u8(e, EPC_ECALL_LUA_HOOK, NULL, 0), 1);
    struct epc_stats after = stats(e);
    assert_string_equal(after.pager, "none"); /* 16 MiB fits the 93.5 MiB default budget */
    assert_false(after.unlimited);
    assert_int_equal(after.heap_in_use, before.heap_in_use);
    assert_true(after.heap_peak >= 8 * MIB);
    assert_true(after.resident_pages >= 8 * MIB / EPC_PAGE_SIZE);
    tee_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enclave_pages_its_heap),
        cmocka_unit_test(enclave_unlimited_budget_pages_nothing),
        cmocka_unit_test(enclave_heap_size_is_a_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
