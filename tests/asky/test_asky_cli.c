/* test_asky_cli.c -- `cloister asky` run as a user would (tests/common/cli_run.h), with the
 * enclave as its sandboxed process: the path of docs/asky.md (init, users, a group, put, get by
 * a member with no enclave, ls --json), and each refusal as one clear line with exit code 1: a
 * non-member's get and put, a removed member's get of a later file, a bad object name, a key
 * file of another kind, a tampered object (and nothing written for it). A rekey of several
 * objects killed with SIGKILL at moments spread over its run leaves, once the store is opened
 * again, every object rekeyed or none (a removed member opens all of them or none), every
 * object whole for a member, no journal, and no half-written file once a writer came by. */
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
#include <time.h>
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

#define REKEY_OBJECTS 3
#define KILLS 4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How many of r0..r2 carol opens; every one must open for alice with the original bytes. */
static int carol_opens(void)
{
    int n = 0;
    for (int i = 0; i < REKEY_OBJECTS; i++) {
        n += cli_run(workdir,
                     "asky get --store st --user carol --key carol.key --name r%d --out "
                     "c.out",
                     i) == 0;
        assert_int_equal(cli_run(workdir,
                                 "asky get --store st --user alice --key alice.key --name "
                                 "r%d --out a.out && cmp -s a.out big.bin",
                                 i),
                         0);
    }
    assert_false(exists("st/objects/.journal")); /* a commit found is finished by any open */
    return n;
}

static void test_rekey_atomic_under_kill(void **state)
{
    (void)state;
    assert_int_equal(cli_shell(workdir, "head -c 262144 /dev/urandom > big.bin"), 0);
    assert_int_equal(cli_run(workdir, "asky group add --store st --group eng --user carol"), 0);
    for (int i = 0; i < REKEY_OBJECTS; i++)
        assert_int_equal(cli_run(workdir,
                                 "asky put --store st --group eng --user alice --key "
                                 "alice.key --in big.bin --name r%d",
                                 i),
                         0);
    assert_int_equal(cli_run(workdir, "asky group remove --store st --group eng --user carol"), 0);
    assert_int_equal(cli_shell(workdir, "cp -a st/objects objects.orig"), 0);
    assert_int_equal(carol_opens(), REKEY_OBJECTS); /* lazy revocation */
    const char *rekey = "$CLOISTER asky rekey --store st --group eng --user alice --key alice.key "
                        "r0 r1 r2";
    double t0 = now_s();
    assert_int_equal(cli_shell(workdir, "%s", rekey), 0);
    double full = now_s() - t0;
    assert_int_equal(carol_opens(), 0);
    int committed = 0;
    for (int k = 1; k <= KILLS; k++) {
        assert_int_equal(cli_shell(workdir,
                                   "rm -rf st/objects && cp -a objects.orig st/objects && "
                                   "{ %s & p=$!; sleep %.3f; kill -9 $p; wait $p; true; }",
                                   rekey, full * k / (KILLS + 1)),
                         0);
        int n = carol_opens();
        assert_true(n == 0 || n == REKEY_OBJECTS);
        committed += n == 0;
    }
    fprintf(stderr, "rekey of %d objects (%.2f s) killed %d times: %d committed, %d not\n",
            REKEY_OBJECTS, full, KILLS, committed, KILLS - committed);
    /* The next writer removes what a killed rekey left before its commit point. */
    assert_int_equal(cli_shell(workdir, "%s", rekey), 0);
    assert_int_equal(cli_shell(workdir, "ls -A st/objects | grep -q '^[.]' && exit 1; exit 0"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_revoked_and_tampered),
        cmocka_unit_test(test_rekey_atomic_under_kill),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
