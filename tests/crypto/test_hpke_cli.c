/* test_hpke_cli.c -- `cloister crypto` as a user runs it: the built binary generates keys, seals
 * and opens files and pipes with every AEAD in base and auth mode, and refuses bad input with
 * exit code 1 (or 2 for usage errors) and exactly one line on stderr. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>

#include <limits.h>
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

#include "common/cli_run.h"
#include "crypto/hpke_wire.h"
#include "util/bech32.h"
#include "util/fileio.h"

static char workdir[PATH_MAX];

static void assert_same_file(const char *a, const char *b)
{
    size_t alen, blen;
    uint8_t *x = cli_slurp(workdir, a, &alen), *y = cli_slurp(workdir, b, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(x, y, alen);
    free(x);
    free(y);
}

static int setup(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    snprintf(workdir, sizeof workdir, "%s/hpke-cli", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(workdir), 0); /* keys are never overwritten */
    assert_int_equal(file_mkdirs(workdir, 0700), 0);
    assert_int_equal(cli_run(workdir, "crypto hpke-keygen --out-secret r.sk --out-public r.pk"), 0);
    assert_int_equal(cli_run(workdir, "crypto hpke-keygen --out-secret s.sk --out-public s.pk"), 0);
    uint8_t data[10000];
    assert_int_equal(crypto_random(data, sizeof data), 0);
    cli_spill(workdir, "binary.in", data, sizeof data);
    cli_spill(workdir, "empty.in", "", 0);
    return 0;
}

static void selftest_verb(void **state)
{
    assert_int_equal(cli_run(workdir, "crypto selftest --json > out.json"), 0);
    size_t len;
    char *out = (char *)cli_slurp(workdir, "out.json", &len);
    assert_non_null(strstr(out, "\"ok\": true"));
    free(out);
}

static void keygen_files(void **state)
{
    struct stat st;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/r.sk", workdir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    size_t len;
    uint8_t sk[32], pk[32], pk2[32], *data = cli_slurp(workdir, "r.sk", &len);
    const char *err;
    assert_int_equal(hpke_wire_get_secret(sk, pk, data, len, &err), 0);
    free(data);
    data = cli_slurp(workdir, "r.pk", &len); /* text by default */
    size_t n;
    assert_int_equal(bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, data, len, pk2, 32, &n, &err), 0);
    assert_int_equal(n, 32);
    free(data);
    assert_memory_equal(pk, pk2, 32);
    assert_int_equal(cli_run(workdir, "crypto hpke-keygen --out-secret rb.sk --out-public rb.pk "
                                      "--format binary"),
                     0);
    data = cli_slurp(workdir, "rb.pk", &len);
    assert_int_equal(hpke_wire_get_public(pk2, data, len, &err), 0);
    free(data);

    assert_int_equal(
        cli_run(workdir, "crypto hpke-keygen --out-secret j.sk --out-public j.pk --json > j.json"),
        0);
    char *json = (char *)cli_slurp(workdir, "j.json", &len);
    assert_non_null(strstr(json, "\"public_key\": \""));
    free(json);
}

static void round_trips(void **state)
{
    static const char *aeads[] = {"aes128gcm", "aes256gcm", "chacha20poly1305"};
    static const char *inputs[] = {"binary.in", "empty.in"};
    for (size_t a = 0; a < 3; a++) {
        for (size_t i = 0; i < 2; i++) {
            assert_int_equal(cli_run(workdir,
                                     "crypto hpke-seal --public r.pk --aead %s --info app --aad h "
                                     "--in %s --out m.bin",
                                     aeads[a], inputs[i]),
                             0);
            assert_int_equal(cli_run(workdir,
                                     "crypto hpke-open --secret r.sk --info app --aad h --in m.bin "
                                     "--out m.out"),
                             0);
            assert_same_file(inputs[i], "m.out");
            /* auth mode, through pipes */
            assert_int_equal(cli_run(workdir,
                                     "crypto hpke-seal --public r.pk --auth-secret s.sk --aead %s "
                                     "< %s | '%s' crypto hpke-open --secret r.sk "
                                     "--sender-public s.pk > p.out",
                                     aeads[a], inputs[i], CLOISTER_BIN),
                             0);
            assert_same_file(inputs[i], "p.out");
        }
    }
}

static void refusals(void **state)
{
    assert_int_equal(
        cli_run(workdir, "crypto hpke-seal --public r.pk --aad A --in binary.in --out m.bin"), 0);
    assert_int_equal(cli_run(workdir, "crypto hpke-open --secret r.sk --aad B --in m.bin --out x"),
                     1);
    cli_assert_error_line(workdir, "m.bin: cannot open");
    assert_int_equal(cli_run(workdir, "crypto hpke-open --secret s.sk --aad A --in m.bin --out x"),
                     1);
    cli_assert_error_line(workdir, "cannot open");
    assert_int_equal(
        cli_run(workdir, "crypto hpke-open --secret r.sk --aad A --info X --in m.bin --out x"), 1);
    cli_assert_error_line(workdir, "cannot open");
    assert_int_equal(
        cli_run(workdir, "crypto hpke-open --secret r.sk --aad A --sender-public s.pk --in m.bin "
                         "--out x"),
        1);
    cli_assert_error_line(workdir, "sealed in base mode");

    size_t len;
    uint8_t *msg = cli_slurp(workdir, "m.bin", &len);
    msg[len - 5] ^= 1;
    cli_spill(workdir, "bad.bin", msg, len);
    assert_int_equal(
        cli_run(workdir, "crypto hpke-open --secret r.sk --aad A --in bad.bin --out x"), 1);
    cli_assert_error_line(workdir, "cannot open");
    cli_spill(workdir, "short.bin", msg, 30);
    assert_int_equal(cli_run(workdir, "crypto hpke-open --secret r.sk --in short.bin"), 1);
    cli_assert_error_line(workdir, "short.bin: not an HPKE sealed message: enc at offset");
    free(msg);

    assert_int_equal(cli_run(workdir,
                             "crypto hpke-seal --public r.pk --auth-secret s.sk --in binary.in "
                             "--out a.bin"),
                     0);
    assert_int_equal(cli_run(workdir, "crypto hpke-open --secret r.sk --in a.bin --out x"), 1);
    cli_assert_error_line(workdir, "--sender-public is required");
    assert_int_equal(
        cli_run(workdir, "crypto hpke-open --secret r.sk --sender-public r.pk --in a.bin --out x"),
        1);
    cli_assert_error_line(workdir, "cannot open");

    assert_int_equal(cli_run(workdir, "crypto hpke-open --secret r.pk --in a.bin"), 1);
    cli_assert_error_line(workdir, "chmod 600 r.pk"); /* 0644: no secret key, whatever it holds */
    char pk_path[PATH_MAX + 8];
    snprintf(pk_path, sizeof pk_path, "%s/r.pk", workdir);
    assert_int_equal(chmod(pk_path, 0600), 0);
    assert_int_equal(cli_run(workdir, "crypto hpke-open --secret r.pk --in a.bin"), 1);
    cli_assert_error_line(workdir, "r.pk: not an HPKE secret key file: header");
    assert_int_equal(cli_run(workdir, "crypto hpke-seal --public r.sk --in binary.in"), 1);
    cli_assert_error_line(workdir, "r.sk: not an HPKE public key file: header");
    assert_int_equal(cli_run(workdir, "crypto hpke-open --secret r.sk --in binary.in"), 1);
    cli_assert_error_line(workdir, "binary.in: not an HPKE sealed message");
    assert_int_equal(cli_run(workdir, "crypto hpke-open --secret missing.sk --in a.bin"), 1);
    cli_assert_error_line(workdir, "missing.sk: cannot read the secret key");
    assert_int_equal(cli_run(workdir, "crypto hpke-seal --public r.pk --aead des --in binary.in"),
                     2);
    cli_assert_error_line(workdir, "--aead must be");
    assert_int_equal(cli_run(workdir, "crypto hpke-seal --in binary.in"), 2);
    cli_assert_error_line(workdir, "missing required option '--public'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selftest_verb),
        cmocka_unit_test(keygen_files),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
