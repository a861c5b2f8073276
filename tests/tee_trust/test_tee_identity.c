/* test_tee_identity.c -- the signed config (text and wire forms), measurement and the signature
 * file: round trips, every error with its line, MRENCLAVE/MRSIGNER against a direct SHA-256
 * oracle, and refusal of tampered images, configs, signatures and truncated files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <cloister/crypto.h>
#include <cloister/tee_trust.h>

#include "helpers.h"

static const char image[] = "\x7f"
                            "ELF pretend enclave image bytes, long enough to tamper with";

static void config_defaults(void **state)
{
    struct tee_config c;
    tee_config_default(&c);
    assert_true(c.heap_size == 16u << 20);
    assert_true(c.epc_budget == 98041856ull); /* 93.5 MiB */
    assert_int_equal(c.threads, 4);
    assert_int_equal(c.product_id, 0);
    assert_int_equal(c.svn, 0);
    assert_false(c.debug);
    assert_int_equal(tee_config_check(&c, NULL), 0);
}

static void config_parses_text(void **state)
{
    const char *text = "# enclave limits\n"
                       "heap_size = 64 MiB\n"
                       "  epc_budget=93.5 MiB   # SGX1\n"
                       "\n"
                       "threads = 8\r\n"
                       "product_id = 7\n"
                       "svn = 3\n"
                       "debug = true";
    struct tee_config c;
    struct cloister_err err = {0};
    assert_int_equal(tee_config_parse(&c, text, strlen(text), &err), 0);
    assert_true(c.heap_size == 64u << 20);
    assert_true(c.epc_budget == 98041856ull);
    assert_int_equal(c.threads, 8);
    assert_int_equal(c.product_id, 7);
    assert_int_equal(c.svn, 3);
    assert_true(c.debug);

    const char *units = "heap_size = 1 G\nepc_budget = unlimited\nsecurity_version = 65535\n";
    assert_int_equal(tee_config_parse(&c, units, strlen(units), &err), 0);
    assert_true(c.heap_size == 1ull << 30);
    assert_true(c.epc_budget == TEE_EPC_UNLIMITED);
    assert_int_equal(c.svn, 65535);
    const char *bytes = "heap_size = 65536\nepc_budget = 64 KiB\n";
    assert_int_equal(tee_config_parse(&c, bytes, strlen(bytes), &err), 0);
    assert_true(c.heap_size == 65536 && c.epc_budget == 65536);
    const char *frac = "heap_size = 0.000244140625 GiB\n"; /* 12 digits: refused */
    assert_int_equal(tee_config_parse(&c, frac, strlen(frac), &err), -1);
    const char *frac9 = "heap_size = 0.015625 MiB\nepc_budget = 000001.500000000 GiB\n";
    assert_int_equal(tee_config_parse(&c, frac9, strlen(frac9), &err), 0);
    assert_true(c.heap_size == 16384 && c.epc_budget == 1610612736ull);
    assert_int_equal(tee_config_parse(&c, "", 0, &err), 0);
}

static void expect_error(const char *text, const char *want)
{
    struct tee_config c;
    tee_config_default(&c);
    c.threads = 99;
    struct cloister_err err = {0};
    assert_int_equal(tee_config_parse(&c, text, strlen(text), &err), -1);
    if (!strstr(err.msg, want))
        fail_msg("for %s: got '%s', want '%s'", text, err.msg, want);
    assert_int_equal(c.threads, 99); /* untouched on failure */
}

static void config_errors_name_the_line(void **state)
{
    expect_error("threads = 2\n\nstack = 4\n", "line 3: unknown key 'stack'");
    expect_error("svn = 1\nsecurity_version = 2\n", "line 2: 'security_version' is already set "
                                                    "on line 1");
    expect_error("heap_size = 16 MB\n", "line 1: heap_size value '16 MB' has an unknown unit");
    expect_error("heap_size = 5000\n", "line 1: heap_size must be a multiple of 4 KiB");
    expect_error("epc_budget = 0\n", "line 1: epc_budget must be a multiple of 4 KiB");
    expect_error("heap_size = 2048 GiB\n", "larger than 1 TiB");
    expect_error("heap_size = 99999999999999999999999\n", "too large");
    expect_error("heap_size = 0.1 KiB\n", "not a whole number of bytes");
    expect_error("heap_size = 1.\n", "bad fraction");
    expect_error("heap_size = 1.0000000000 MiB\n", "bad fraction"); /* 10 digits (fuzz find) */
    expect_error("epc_budget=0000000000000000.0000000000000000000000000000003\n", "bad fraction");
    expect_error("heap_size = lots\n", "is not a size");
    expect_error("threads = 0\n", "line 1: threads must be between 1 and 256, got 0");
    expect_error("# x\nthreads = 300\n", "line 2: threads must be between 1 and 256, got 300");
    expect_error("threads = -1\n", "is not a non-negative integer");
    expect_error("threads = 4x\n", "is not a non-negative integer");
    expect_error("product_id = 65536\n", "out of range");
    expect_error("debug = yes\n", "must be true or false");
    expect_error("debug\n", "line 1: expected 'key = value'");
    expect_error("threads =\n", "line 1: 'threads' has no value");
    expect_error("epc_budget = unlimited\nheap_size = unlimited\n", "line 2");
    const char nul[] = "threads = 1\nheap\0size = 1\n";
    struct tee_config c;
    struct cloister_err err = {0};
    assert_int_equal(tee_config_parse(&c, nul, sizeof nul - 1, &err), -1);
    assert_non_null(strstr(err.msg, "line 2: contains a NUL byte"));
}

/* Configs are equal when their canonical encodings are (the struct has padding). */
static void assert_config_equal(const struct tee_config *a, const struct tee_config *b)
{
    uint8_t x[TEE_CONFIG_WIRE_LEN], y[TEE_CONFIG_WIRE_LEN];
    tee_config_encode(a, x);
    tee_config_encode(b, y);
    assert_memory_equal(x, y, sizeof x);
}

static void random_config(struct tee_config *c, unsigned seed)
{
    srand(seed);
    tee_config_default(c);
    c->heap_size = ((uint64_t)(rand() % 100000) + 1) * 4096;
    c->epc_budget = rand() % 5 == 0 ? TEE_EPC_UNLIMITED : ((uint64_t)(rand() % 300000) + 1) * 4096;
    c->threads = (uint16_t)(rand() % 256 + 1);
    c->product_id = (uint16_t)rand();
    c->svn = (uint16_t)rand();
    c->debug = rand() & 1;
}

static void config_round_trips(void **state)
{
    for (unsigned i = 0; i < 500; i++) {
        struct tee_config c, back;
        random_config(&c, i);
        char text[512];
        int n = tee_config_format(&c, text, sizeof text);
        assert_true(n > 0 && (size_t)n < sizeof text);
        struct cloister_err err = {0};
        if (tee_config_parse(&back, text, (size_t)n, &err))
            fail_msg("%s: %s", text, err.msg);
        assert_config_equal(&c, &back);
        uint8_t wire[TEE_CONFIG_WIRE_LEN];
        tee_config_encode(&c, wire);
        memset(&back, 0, sizeof back);
        assert_int_equal(tee_config_decode(&back, wire, sizeof wire, &err), 0);
        assert_config_equal(&c, &back);
        assert_true(c.heap_size == back.heap_size && c.epc_budget == back.epc_budget &&
                    c.threads == back.threads && c.product_id == back.product_id &&
                    c.svn == back.svn && c.debug == back.debug);
    }
    struct tee_config c;
    tee_config_default(&c);
    char text[256];
    tee_config_format(&c, text, sizeof text);
    assert_non_null(strstr(text, "epc_budget = 93.5 MiB\n"));
    assert_non_null(strstr(text, "heap_size = 16 MiB\n"));
}

static void config_wire_refuses_bad_records(void **state)
{
    struct tee_config c, out;
    tee_config_default(&c);
    uint8_t wire[TEE_CONFIG_WIRE_LEN + 1];
    tee_config_encode(&c, wire);
    struct cloister_err err = {0};
    for (size_t n = 0; n < TEE_CONFIG_WIRE_LEN; n++)
        assert_int_equal(tee_config_decode(&out, wire, n, &err), -1);
    wire[TEE_CONFIG_WIRE_LEN] = 0;
    assert_int_equal(tee_config_decode(&out, wire, sizeof wire, &err), -1);
    assert_non_null(strstr(err.msg, "trailing"));
    wire[TEE_CONFIG_WIRE_LEN - 1] = 2; /* unknown flag */
    assert_int_equal(tee_config_decode(&out, wire, TEE_CONFIG_WIRE_LEN, &err), -1);
    assert_non_null(strstr(err.msg, "unknown flag"));
    tee_config_encode(&c, wire);
    wire[22] = wire[23] = 0; /* threads = 0 */
    assert_int_equal(tee_config_decode(&out, wire, TEE_CONFIG_WIRE_LEN, &err), -1);
    assert_non_null(strstr(err.msg, "threads"));
    tee_config_encode(&c, wire);
    wire[0] = 'X';
    assert_int_equal(tee_config_decode(&out, wire, TEE_CONFIG_WIRE_LEN, &err), -1);
    assert_non_null(strstr(err.msg, "magic"));
}

static void measurement_matches_oracle(void **state)
{
    struct tee_config c;
    tee_config_default(&c);
    c.svn = 9;
    uint8_t wire[TEE_CONFIG_WIRE_LEN], joined[sizeof image + TEE_CONFIG_WIRE_LEN];
    tee_config_encode(&c, wire);
    memcpy(joined, image, sizeof image - 1);
    memcpy(joined + sizeof image - 1, wire, sizeof wire);
    uint8_t want[32], got[32];
    crypto_sha256(want, joined, sizeof image - 1 + sizeof wire);
    tee_measure(got, image, sizeof image - 1, &c);
    assert_memory_equal(want, got, 32);

    int fd = memfd_create("image", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, image, sizeof image - 1), (ssize_t)(sizeof image - 1));
    struct cloister_err err;
    assert_int_equal(tee_measure_fd(got, fd, &c, &err), 0);
    assert_memory_equal(want, got, 32);
    close(fd);

    uint8_t pk[32], mrsigner[32];
    memset(pk, 5, sizeof pk);
    crypto_sha256(want, pk, sizeof pk);
    tee_mrsigner(mrsigner, pk);
    assert_memory_equal(want, mrsigner, 32);
}

static void sign(uint8_t **sig, size_t *len, const struct tee_config *c, uint8_t seed_byte)
{
    uint8_t seed[TEE_SEED_LEN];
    memset(seed, seed_byte, sizeof seed);
    struct tee_sigstruct s;
    assert_int_equal(tee_sign(&s, image, sizeof image - 1, c, seed, NULL), 0);
    assert_int_equal(tee_sigstruct_encode(&s, sig, len, NULL), 0);
}

static void expect_refused(const void *img, size_t img_len, const uint8_t *sig, size_t sig_len,
                           const char *want)
{
    struct tee_identity id;
    struct cloister_err err = {0};
    th_refused(tee_image_verify(&id, img, img_len, sig, sig_len, &err), &err);
    if (!strstr(err.msg, want))
        fail_msg("got '%s', want '%s'", err.msg, want);
}

static void signature_file_verifies(void **state)
{
    struct tee_config c;
    tee_config_default(&c);
    c.product_id = 3;
    c.svn = 2;
    uint8_t *sig;
    size_t len;
    sign(&sig, &len, &c, 0x11);
    struct tee_identity id;
    struct cloister_err err = {0};
    assert_int_equal(tee_image_verify(&id, image, sizeof image - 1, sig, len, &err), 0);
    uint8_t want[32], seed[32], pk[32];
    tee_measure(want, image, sizeof image - 1, &c);
    assert_memory_equal(id.mrenclave, want, 32);
    memset(seed, 0x11, sizeof seed);
    assert_int_equal(crypto_ed25519_public(pk, seed), 0);
    assert_memory_equal(id.signer_key, pk, 32);
    tee_mrsigner(want, pk);
    assert_memory_equal(id.mrsigner, want, 32);
    assert_config_equal(&id.config, &c);

    /* The same through a file descriptor. */
    int fd = memfd_create("image", MFD_CLOEXEC);
    assert_int_equal(write(fd, image, sizeof image - 1), (ssize_t)(sizeof image - 1));
    struct tee_identity id2;
    assert_int_equal(tee_image_verify_fd(&id2, fd, sig, len, &err), 0);
    assert_memory_equal(id.mrenclave, id2.mrenclave, 32);
    assert_memory_equal(id.mrsigner, id2.mrsigner, 32);
    assert_config_equal(&id.config, &id2.config);
    close(fd);
    free(sig);
}

static void tampering_is_refused(void **state)
{
    struct tee_config c;
    tee_config_default(&c);
    uint8_t *sig;
    size_t len;
    sign(&sig, &len, &c, 0x22);
    char bad[sizeof image];
    memcpy(bad, image, sizeof image);
    bad[20] ^= 1;
    expect_refused(bad, sizeof image - 1, sig, len, "image does not match its signature file");
    expect_refused(image, sizeof image - 2, sig, len, "image does not match");

    /* Every byte of the record matters: header, config, measurement, key, signature. */
    for (size_t i = 0; i < len; i++) {
        uint8_t *t = malloc(len);
        memcpy(t, sig, len);
        t[i] ^= 0x01;
        struct tee_identity id;
        struct cloister_err err = {0};
        th_refused(tee_image_verify(&id, image, sizeof image - 1, t, len, &err), &err);
        assert_true(err.msg[0] != 0);
        free(t);
    }
    /* A config change the decoder accepts is caught by the signature. */
    uint8_t *t = malloc(len);
    assert_non_null(t);
    memcpy(t, sig, len);
    t[6 + 1 + 6 + 8 + 8 + 2 + 2 + 1] ^= 1; /* svn low byte inside the config */
    expect_refused(image, sizeof image - 1, t, len, "signature does not verify");
    free(t);
    /* Truncations and trailing bytes. */
    for (size_t n = 0; n < len; n++)
        expect_refused(image, sizeof image - 1, sig, n, "signature file");
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, sig, len);
    longer[len] = 0;
    expect_refused(image, sizeof image - 1, longer, len + 1, "trailing bytes");
    free(longer);

    /* A signature file made for another config of the same image. */
    uint8_t *other;
    size_t other_len;
    c.debug = true;
    sign(&other, &other_len, &c, 0x22);
    struct tee_identity a, b;
    struct cloister_err err;
    assert_int_equal(tee_image_verify(&a, image, sizeof image - 1, sig, len, &err), 0);
    assert_int_equal(tee_image_verify(&b, image, sizeof image - 1, other, other_len, &err), 0);
    assert_memory_not_equal(a.mrenclave, b.mrenclave, 32);
    assert_memory_equal(a.mrsigner, b.mrsigner, 32);
    free(other);
    free(sig);
}

static void signer_keys(void **state)
{
    char dir[4096], path[4200];
    th_dir(dir, sizeof dir, "keys");
    snprintf(path, sizeof path, "%s/signer.key", dir);
    uint8_t pk[32], pk2[32], seed[32];
    struct cloister_err err = {0};
    assert_int_equal(tee_signer_keygen(path, pk, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(tee_signer_load(path, seed, pk2, &err), 0);
    assert_memory_equal(pk, pk2, 32);
    size_t len;
    uint8_t *data = th_read(path, &len);
    th_write(path, data, len - 1);
    assert_int_equal(tee_signer_load(path, seed, pk2, &err), -1);
    assert_non_null(strstr(err.msg, "not a signer key"));
    free(data);
    snprintf(path, sizeof path, "%s/missing.key", dir);
    assert_int_equal(tee_signer_load(path, seed, pk2, &err), CLOISTER_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "missing.key"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults),
        cmocka_unit_test(config_parses_text),
        cmocka_unit_test(config_errors_name_the_line),
        cmocka_unit_test(config_round_trips),
        cmocka_unit_test(config_wire_refuses_bad_records),
        cmocka_unit_test(measurement_matches_oracle),
        cmocka_unit_test(signature_file_verifies),
        cmocka_unit_test(tampering_is_refused),
        cmocka_unit_test(signer_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
