/* test_search_cli.c -- `cloister search` as a user runs it: the generator is reproducible and
 * writes the AOL format, the attack's JSON has its fields and agrees with the library, and bad
 * input (a missing log, a malformed one, k out of range) is one clear line with the right code. */
#include <cloister/search.h>

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

static void test_cli(void **state)
{
    (void)state;
    const char *home = getenv("CLOISTER_HOME");
    snprintf(dir, sizeof dir, "%s/search-cli", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(dir), 0);
    assert_int_equal(file_mkdirs(dir, 0700), 0);

    assert_int_equal(cli_run(dir, "search gen-log --users 4 --seed 3 --out a.tsv"), 0);
    assert_int_equal(cli_run(dir, "search gen-log --users 4 --seed 3 --out - > b.tsv && cmp "
                                  "a.tsv b.tsv && head -1 a.tsv | grep -q '^AnonID'"),
                     0);
    assert_int_equal(cli_run(dir, "search attack --log a.tsv --k 2 --seed 5 --json"), 0);
    char *out = cli_slurp(dir, "out.txt", NULL);
    assert_non_null(strstr(out, "\"k\": 2"));
    assert_non_null(strstr(out, "\"reidentification\""));
    assert_non_null(strstr(out, "\"precision\""));
    assert_non_null(strstr(out, "\"recall\""));

    /* the same figures as the library's on the same log */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/a.tsv", dir);
    struct search_log log;
    struct search_attack_result r;
    assert_int_equal(search_log_read(path, &log, NULL), 0);
    assert_int_equal(search_attack_eval_k(&log, 2, 5, &r, NULL), 0);
    char want[64];
    snprintf(want, sizeof want, "\"queries\": %zu", r.queries);
    assert_non_null(strstr(out, want));
    search_log_free(&log);
    free(out);

    assert_int_equal(cli_run(dir, "search attack --log missing.tsv"), 1);
    cli_assert_error_line(dir, "missing.tsv");
    cli_spill_text(dir, "bad.tsv", "AnonID\tQuery\n1\tq\tyesterday\n");
    assert_int_equal(cli_run(dir, "search attack --log bad.tsv"), 1);
    cli_assert_error_line(dir, "line 2");
    assert_int_equal(cli_run(dir, "search attack --log a.tsv --k 65"), 2);
    assert_int_equal(file_remove_tree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cli)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
