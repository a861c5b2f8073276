/* test_mapreduce_cli.c -- `cloister mapreduce` on the built binary: the generators are
 * reproducible, a run writes sorted parts (JSON Lines or CSV) and a JSON summary, a bad job
 * fails with the Lua message before any worker starts, and proc workers are refused on this
 * simulated platform unless --allow-simulated is given. */
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
    const char *home = getenv("CLOISTER_HOME");
    snprintf(dir, sizeof dir, "%s/mr-cli", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(dir), 0);
    assert_int_equal(file_mkdirs(dir, 0700), 0);

    /* generators: same seed, same bytes */
    assert_int_equal(cli_run(dir, "mapreduce gen text --size 64KiB --seed 7 --output a.txt"), 0);
    assert_int_equal(cli_run(dir, "mapreduce gen text --size 64KiB --seed 7 > b.txt && cmp a.txt "
                                  "b.txt"),
                     0);
    assert_int_equal(cli_run(dir, "mapreduce gen points --n 100 --k 3 --dim 3 --output p.csv"), 0);
    assert_int_equal(cli_run(dir, "mapreduce gen bogus"), 2);

    /* a run with the example job: a summary, sorted JSON Lines, then CSV */
    assert_int_equal(cli_run(dir,
                             "mapreduce run --job %s/examples/mapreduce/wordcount.lua --input "
                             "a.txt --output out --tee none --reducers 2 --json && test -f "
                             "out/_SUCCESS && LC_ALL=C sort -c out/part-0.jsonl && LC_ALL=C sort "
                             "-c out/part-1.jsonl",
                             CLOISTER_SOURCE_DIR),
                     0);
    char *out = cli_slurp(dir, "out.txt", NULL);
    assert_non_null(strstr(out, "\"refused_chunks\": 0"));
    free(out);
    assert_int_equal(cli_run(dir,
                             "mapreduce run --job %s/examples/mapreduce/wordcount.lua --input "
                             "a.txt --output out --tee none --csv && head -1 out/part-0.csv && "
                             "test ! -e out/part-1.jsonl",
                             CLOISTER_SOURCE_DIR),
                     0);
    out = cli_slurp(dir, "out.txt", NULL);
    assert_non_null(strstr(out, "key,value\n"));
    free(out);

    /* a syntax error: the Lua message, before any worker starts (no image needed) */
    cli_spill_text(dir, "bad.lua", "function map(k, v) emit(k v) end\n");
    assert_int_equal(cli_run(dir, "mapreduce run --job bad.lua --input a.txt --output o2"), 1);
    cli_assert_error_line(dir, "bad.lua:1: ')' expected near 'v'");

    /* workers' simulated evidence is refused without --allow-simulated, accepted with it */
    cli_spill_text(dir, "mr.conf", "heap_size = 512 MiB\n");
    assert_int_equal(cli_run(dir, "enclave keygen --out signer.key"), 0);
    assert_int_equal(cli_run(dir,
                             "enclave sign --key signer.key --config mr.conf --out mr.sig "
                             "%s/enclaves/mapreduce.enclave",
                             CLOISTER_BINARY_DIR),
                     0);
    const char *run = "mapreduce run --job %s/examples/mapreduce/wordcount.lua --input a.txt "
                      "--output o3 --tee proc --mappers 2 --signature mr.sig%s";
    assert_int_equal(cli_run(dir, run, CLOISTER_SOURCE_DIR, ""), 1);
    cli_assert_error_line(dir, "needs --allow-simulated");
    assert_int_equal(cli_run(dir, run, CLOISTER_SOURCE_DIR, " --allow-simulated"), 0);
    out = cli_slurp(dir, "out.txt", NULL);
    assert_non_null(strstr(out, "SIMULATED"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cli)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
