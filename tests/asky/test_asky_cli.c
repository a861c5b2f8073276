/* test_asky_cli.c -- `cloister asky` run as a user would (tests/common/cli_run.h), with the
 * enclave as its sandboxed process: the path of docs/asky.md (init, users, a group, put, get by
 * a member with no enclave, ls --json), and each refusal as one clear line with exit code 1: a
 * non-member's get and put, a removed member's get of a later file, a bad object name, a key
 * file of another kind, a tampered object (and nothing written for it). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cli_run.h"
#include "util/fileio.h"

static char workdir[1024];

/* WORKDIR/name (one at a time). */
static const char *path_of(const char *name)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", workdir, name);
    return path;
}

static bool exists(const char *name)
{
    return access(path_of(name), F_OK) == 0;
}

static int setup(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    snprintf(workdir, sizeof workdir, "%s/asky-cli", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(workdir), 0);
    assert_int_equal(file_mkdirs(workdir, 0700), 0);
    assert_int_equal(cli_run(workdir, "asky init --store st"), 0);
    for (const char *const *u = (const char *const[]){"alice", "bob", "carol", NULL}; *u; u++)
        assert_int_equal(
            cli_run(workdir, "asky user add --store st --user %s --out %s.key", *u, *u), 0);
    assert_int_equal(cli_run(workdir, "asky group create --store st --group eng --user alice"), 0);
    assert_int_equal(cli_run(workdir, "asky group add --store st --group eng --user bob"), 0);
    cli_spill_text(workdir, "plan.txt", "the plan\n");
    return 0;
}

static void test_share(void **state)
{
    assert_int_equal(cli_run(workdir, "asky put --store st --group eng --user alice --key "
                                      "alice.key --in plan.txt --name plan --pad 1"),
                     0);
    assert_int_equal(
        cli_run(workdir, "asky get --store st --user bob --key bob.key --name plan --out -"), 0);
    char *out = cli_slurp(workdir, "out.txt", NULL);
    assert_string_equal(out, "the plan\n");
    free(out);
    assert_int_equal(cli_run(workdir, "asky ls --store st --json"), 0);
    out = cli_slurp(workdir, "out.txt", NULL);
    assert_non_null(strstr(out, "\"plan\""));
    free(out);
}

static void test_refusals(void **state)
{
    assert_int_equal(cli_run(workdir, "asky get --store st --user carol --key carol.key --name "
                                      "plan --out c.txt"),
                     1);
    cli_assert_error_line(workdir, "no entry for this key");
    assert_false(exists("c.txt"));
    assert_int_equal(cli_run(workdir, "asky put --store st --group eng --user carol --key "
                                      "carol.key --in plan.txt --name c"),
                     1);
    cli_assert_error_line(workdir, "not a member");
    assert_int_equal(cli_run(workdir, "asky put --store st --group eng --user alice --key "
                                      "alice.key --in plan.txt --name ../x"),
                     1);
    cli_assert_error_line(workdir, "bad object name");
    cli_spill_text(workdir, "bad.key",
                   "cloister-hpke1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n");
    assert_int_equal(chmod(path_of("bad.key"), 0600), 0);
    assert_int_equal(cli_run(workdir, "asky get --store st --user bob --key bad.key --name plan "
                                      "--out x.txt"),
                     1);
    cli_assert_error_line(workdir, "bad.key");
}

static void test_revoked_and_tampered(void **state)
{
    assert_int_equal(cli_run(workdir, "asky group remove --store st --group eng --user bob"), 0);
    assert_int_equal(cli_run(workdir, "asky put --store st --group eng --user alice --key "
                                      "alice.key --in plan.txt --name plan2"),
                     0);
    assert_int_equal(
        cli_run(workdir, "asky get --store st --user bob --key bob.key --name plan2 --out b.txt"),
        1);
    cli_assert_error_line(workdir, "no entry for this key");
    /* the last byte of the object flipped: refused, nothing written */
    uint8_t *obj;
    size_t len;
    assert_int_equal(file_read_all(path_of("st/objects/plan2"), 1 << 20, &obj, &len), 0);
    obj[len - 1] ^= 0x55;
    assert_int_equal(file_write_atomic(path_of("st/objects/plan2"), obj, len, 0600), 0);
    free(obj);
    assert_int_equal(cli_run(workdir, "asky get --store st --user alice --key alice.key --name "
                                      "plan2 --out a.txt"),
                     1);
    cli_assert_error_line(workdir, "fails authentication");
    assert_false(exists("a.txt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_revoked_and_tampered),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
