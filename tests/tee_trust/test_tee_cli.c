/* test_tee_cli.c -- the trust verbs of the `cloister` binary, run as a user would: keygen, sign
 * (with the audit's refusal and --force), info (valid, tampered), verify against the evidence
 * of a real tee_self on the same platform (policy flags, nonces, wrong CA, JSON claims), exit
 * codes 0 / 1 / 2 and error lines naming what was wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

#include <cloister/crypto.h>
#include <cloister/tee_trust.h>

#include "common/cli_run.h"
#include "helpers.h"
#include "util/hex.h"

static char dir[4096];
static char out_text[1 << 16], err_text[1 << 16];

/* Runs `cloister ARGS` in dir (common/cli_run.h); returns the exit code, output in out/err. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = cli_run(dir, "%s", args);
    const char *names[2] = {"out.txt", "err.txt"};
    char *texts[2] = {out_text, err_text};
    for (int i = 0; i < 2; i++) {
        char *data = cli_slurp(dir, names[i], NULL);
        snprintf(texts[i], sizeof out_text, "%s", data);
        free(data);
    }
    return rc;
}

static void expect_in(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("'%s' not found in:\n%s", want, text);
}

static int setup(void **state)
{
    th_dir(dir, sizeof dir, "cli");
    return 0;
}

static void keygen_sign_info(void **state)
{
    assert_int_equal(run("enclave keygen --out signer.key"), 0);
    expect_in(out_text, "MRSIGNER");
    struct stat st;
    char path[4200];
    snprintf(path, sizeof path, "%s/signer.key", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(run("enclave keygen --out signer.key"), 1);
    expect_in(err_text, "signer.key: a key file already exists");
    assert_int_equal(run("enclave keygen"), 2);
    expect_in(err_text, "missing required option '--out'");

    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cp '%s' '%s/image' && printf 'heap_size = 32 MiB\\nsvn = 3\\n' "
             ">'%s/good.conf' && printf 'heap_size = 1 MiB\\nthreads = 999\\n' "
             ">'%s/bad.conf'",
             FIXTURE_OK, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run("enclave sign image --key signer.key --config bad.conf"), 1);
    expect_in(err_text, "bad.conf: line 2: threads must be between 1 and 256, got 999");
    assert_int_equal(run("enclave sign image --key signer.key --config good.conf"), 0);
    expect_in(out_text, "MRENCLAVE");
    expect_in(out_text, "0x0001 greet, 0x0007 count");
    expect_in(out_text, "security_version = 3");
    expect_in(out_text, "signed: image.sig");

    assert_int_equal(run("enclave info image --json"), 0);
    json_error_t jerr;
    json_t *j = json_loads(out_text, 0, &jerr);
    assert_non_null(j);
    const char *mre = json_string_value(
        json_object_get(json_object_get(j, "identity"), "mrenclave"));
    assert_non_null(mre);
    /* Oracle: the library's measurement of the same bytes and config. */
    size_t len;
    snprintf(path, sizeof path, "%s/image", dir);
    uint8_t *image = th_read(path, &len);
    struct tee_config c;
    tee_config_default(&c);
    c.heap_size = 32u << 20;
    c.svn = 3;
    uint8_t want[32];
    char hex[65];
    tee_measure(want, image, len, &c);
    hex_encode(hex, want, 32);
    assert_string_equal(mre, hex);
    json_decref(j);

    image[len / 2] ^= 1;
    th_write(path, image, len);
    free(image);
    assert_int_equal(run("enclave info image"), 1);
    expect_in(err_text, "image: image does not match its signature file");
    assert_int_equal(run("enclave info image --sig missing.sig"), 1);
    expect_in(err_text, "missing.sig: cannot read the signature file");
}

static void sign_refuses_spawning_images(void **state)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/spawn'", FIXTURE_SPAWN, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run("enclave sign spawn --key signer.key"), 1);
    expect_in(out_text, "REFUSALS");
    expect_in(out_text, "imports system (process spawning or code loading)");
    expect_in(err_text, "spawn: refusing to sign");
    assert_int_equal(run("enclave info spawn"), 0);
    expect_in(out_text, "none (spawn.sig not found)");
    assert_int_equal(run("enclave sign spawn --key signer.key --force --json"), 0);
    json_error_t jerr;
    json_t *j = json_loads(out_text, 0, &jerr);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "forced")));
    json_decref(j);
    assert_int_equal(run("enclave sign /nonexistent --key signer.key"), 1);
    expect_in(err_text, "/nonexistent: cannot read the image");
}

static void verify_evidence(void **state)
{
    /* Evidence from an enclave identity on the platform the CLI uses ($CLOISTER_HOME). */
    struct cloister_err err;
    tee_platform *p = tee_platform_open(NULL, &err);
    assert_non_null(p);
    tee_self *s = th_self(p, "cli enclave", 2, 5, 0x21);
    uint8_t nonce[16], rd[64], *ev;
    size_t len;
    memset(nonce, 0xa5, sizeof nonce);
    tee_bind_report_data(rd, NULL, 0, nonce, sizeof nonce);
    assert_int_equal(tee_evidence_make(s, rd, &ev, &len, NULL), 0);
    char path[4200], mre[65], mrs[65], ca[4200];
    snprintf(path, sizeof path, "%s/evidence.bin", dir);
    th_write(path, ev, len);
    hex_encode(mre, tee_self_identity(s)->mrenclave, 32);
    hex_encode(mrs, tee_self_identity(s)->mrsigner, 32);
    snprintf(ca, sizeof ca, "%s", tee_platform_ca_path(p));

    assert_int_equal(run("enclave verify evidence.bin --ca '%s'", ca), 1);
    expect_in(err_text, "evidence.bin: refused: evidence is simulated");
    assert_int_equal(run("enclave verify evidence.bin --ca '%s' --allow-simulated", ca), 0);
    expect_in(err_text, "any enclave identity is accepted");
    expect_in(out_text, "SIMULATED");
    assert_int_equal(run("enclave verify evidence.bin --ca '%s' --allow-simulated --mrenclave %064d"
                         " --mrenclave %s --mrsigner %s --product-id 2 --min-svn 5 --nonce "
                         "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5 --json",
                         ca, 0, mre, mrs),
                     0);
    json_error_t jerr;
    json_t *j = json_loads(out_text, 0, &jerr);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "accepted")));
    assert_string_equal(json_string_value(json_object_get(j, "mrenclave")), mre);
    assert_int_equal(json_integer_value(json_object_get(j, "security_version")), 5);
    assert_true(json_is_true(json_object_get(j, "simulated")));
    json_decref(j);

    assert_int_equal(
        run("enclave verify evidence.bin --ca '%s' --allow-simulated --mrenclave %064d", ca, 0), 1);
    expect_in(err_text, "is not among the allowed values");
    assert_int_equal(run("enclave verify evidence.bin --ca '%s' --allow-simulated --min-svn 6", ca),
                     1);
    expect_in(err_text, "below the policy's minimum 6");
    assert_int_equal(
        run("enclave verify evidence.bin --ca '%s' --allow-simulated --nonce 00ff --json", ca), 1);
    expect_in(out_text, "\"accepted\": false");
    expect_in(err_text, "wrong nonce");
    assert_int_equal(run("enclave verify evidence.bin --ca '%s' --mrenclave xyz", ca), 2);
    expect_in(err_text, "--mrenclave: expected 64 hex digits");
    assert_int_equal(run("enclave verify evidence.bin --ca '%s' --user-data 00", ca), 2);
    assert_int_equal(run("enclave verify evidence.bin --ca missing.pem --allow-simulated"), 1);
    expect_in(err_text, "missing.pem");

    /* Another platform's CA. */
    tee_platform *other = th_platform("cli-other");
    assert_int_equal(
        run("enclave verify evidence.bin --ca '%s' --allow-simulated", tee_platform_ca_path(other)),
        1);
    expect_in(err_text, "does not chain to the trusted CA");
    tee_platform_free(other);

    ev[len / 3] ^= 1;
    th_write(path, ev, len);
    assert_int_equal(run("enclave verify evidence.bin --ca '%s' --allow-simulated", ca), 1);
    expect_in(err_text, "refused");

    assert_int_equal(run("enclave platform --json"), 0);
    expect_in(out_text, ca);
    assert_int_equal(run("enclave verify --help"), 0);
    expect_in(out_text, "(repeatable)");
    free(ev);
    tee_self_free(s);
    tee_platform_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keygen_sign_info),
        cmocka_unit_test(sign_refuses_spawning_images),
        cmocka_unit_test(verify_evidence),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
