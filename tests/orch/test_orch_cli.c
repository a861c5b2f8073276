/* test_orch_cli.c -- `cloister orch` and `enclave stats --group` on the built binary: the trace
 * generator is reproducible, the simulator's JSON has the promised fields and zero over-commit
 * for honest pods, bad traces and pod specs fail with one clear line, and a node agent started
 * by the CLI takes a pod from `orch submit`, refuses a lying one, lists both with `orch ls` and
 * shows their groups with `enclave stats --group`; it stops on SIGTERM. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cli_run.h"
#include "util/fileio.h"

static char dir[PATH_MAX];

static void test_trace_and_simulate(void **state)
{
    (void)state;
    assert_int_equal(cli_run(dir, "orch gen-trace --jobs 300 --seed 3 --dishonest 0.1 "
                                  "--sgx-fraction 1 --out a.txt"),
                     0);
    assert_int_equal(cli_run(dir, "orch gen-trace --jobs 300 --seed 3 --dishonest 0.1 "
                                  "--sgx-fraction 1 --out - > b.txt && cmp a.txt b.txt"),
                     0);
    assert_int_equal(cli_run(dir, "orch simulate --trace a.txt --policy spread --json"), 0);
    char *out = cli_slurp(dir, "out.txt", NULL);
    const char *keys[] = {"\"policy\": \"spread\"",      "\"jobs\": 300",
                          "\"waiting_p50_s\"",           "\"waiting_p99_s\"",
                          "\"turnaround_p50_s\"",        "\"refused_enclaves\"",
                          "\"epc_overcommit_events\": 0"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strstr(out, keys[i]))
            fail_msg("simulate --json lacks %s:\n%s", keys[i], out);
    free(out);
    assert_int_equal(cli_run(dir, "orch gen-trace --jobs 300 --seed 3 --exceed 0 --out honest.txt"),
                     0);
    assert_int_equal(cli_run(dir, "orch simulate --trace honest.txt --no-enforce --json | grep -q "
                                  "'\"epc_overcommit_events\": 0'"),
                     0);
    assert_int_equal(cli_run(dir, "orch simulate --trace honest.txt --sgx-fraction 0.5"), 0);

    cli_spill_text(dir, "bad.txt", "1 2 1 4096 8192 0 0\n0.5 2 1 1 1 0 0\n");
    assert_int_equal(cli_run(dir, "orch simulate --trace bad.txt"), 1);
    cli_assert_error_line(dir, "trace line 2");
    assert_int_equal(cli_run(dir, "orch gen-trace --jobs 10 --dishonest 2 --out x.txt"), 2);
    assert_int_equal(cli_run(dir, "orch simulate --trace a.txt --policy fifo"), 2);
}

static void test_cluster(void **state)
{
    (void)state;
    cli_spill_text(dir, "bad.json", "{\"name\": \"x\", \"memroy\": \"1Mi\"}");
    assert_int_equal(cli_run(dir, "orch submit bad.json --agent 127.0.0.1:9 --token-file t"), 1);
    cli_assert_error_line(dir, "unknown field 'memroy'");
    assert_int_equal(cli_run(dir, "enclave stats --group g"), 2);
    assert_int_equal(cli_run(dir, "orch node --name n --mem lots --token-file t"), 2);
    cli_assert_error_line(dir, "--mem: a size like 32GiB");

    cli_spill_text(dir, "web.json", "{\"name\": \"web\", \"sgx\": true, \"epc\": \"4Mi\"}");
    cli_spill_text(dir, "liar.json",
                   "{\"name\": \"liar\", \"sgx\": true, \"epc\": 4096, \"use_epc\": \"3Mi\"}");
    cli_spill_text(dir, "img.json",
                   "{\"name\": \"img\", \"memory\": \"4Mi\", \"image\": \"sleeper\"}");
    int rc = cli_run(
        dir,
        "--version >/dev/null; cloister() { %s \"$@\"; }; "
        "mkdir -p imgs && printf '#!/bin/sh\\nexec sleep 30\\n' > imgs/sleeper && "
        "chmod 700 imgs/sleeper; "
        "%s orch node --name n1 --sgx --epc 32MiB --mem 2GiB --token-file tok --images imgs "
        "> node.txt 2>node.err & "
        "pid=$!; "
        "for i in $(seq 100); do grep -q listening node.txt && break; sleep 0.1; done; "
        "ep=$(sed -n 's/.*listening on \\([0-9.:]*\\).*/\\1/p' node.txt); "
        "cloister orch submit web.json --agent $ep --token-file tok > web.out && "
        "cloister orch submit liar.json --agent $ep --token-file tok > liar.out && "
        "cloister orch submit img.json --agent $ep --token-file tok > img.out && "
        "cloister orch ls --agent $ep > ls.out && "
        "cloister enclave stats --group liar --agent $ep --json > group.out; r=$?; "
        "kill -TERM $pid; wait $pid; echo \"node exit $?\" >> node.txt; exit $r",
        CLOISTER_BIN, CLOISTER_BIN);
    assert_int_equal(rc, 0);
    char *web = cli_slurp(dir, "web.out", NULL), *liar = cli_slurp(dir, "liar.out", NULL);
    char *ls = cli_slurp(dir, "ls.out", NULL), *group = cli_slurp(dir, "group.out", NULL);
    char *node = cli_slurp(dir, "node.txt", NULL);
    assert_non_null(strstr(web, "\"state\": \"running\""));
    assert_non_null(strstr(liar, "\"state\": \"refused\""));
    assert_non_null(strstr(liar, "EPC group 'liar' refused"));
    assert_non_null(strstr(ls, "refused"));
    assert_non_null(strstr(ls, "sleeper")); /* img runs its image */
    char *img = cli_slurp(dir, "img.out", NULL);
    assert_non_null(strstr(img, "\"state\": \"running\""));
    free(img);
    assert_non_null(strstr(group, "\"refusals\": 1"));
    assert_non_null(strstr(node, "node exit 0"));
    free(web);
    free(liar);
    free(ls);
    free(group);
    free(node);
}

static int setup(void **state)
{
    (void)state;
    const char *home = getenv("CLOISTER_HOME");
    snprintf(dir, sizeof dir, "%s/orch-cli", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(dir), 0);
    assert_int_equal(file_mkdirs(dir, 0700), 0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_and_simulate),
        cmocka_unit_test(test_cluster),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
