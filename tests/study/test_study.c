/* test_study.c -- `cloister study memory-protection` and `cloister reproduce`, run on the built
 * binary at tiny sizes.
 *
 * - The study (a 1 MiB budget, working sets 1..4 MiB, 2 ms per point, 1 MiB of application
 *   input): the CSV's header, a row for every configuration and micro-benchmark at every working
 *   set, the applications in the configurations they support, the PNG, and a summary naming
 *   the features detected and the energy source (RAPL, or why not).
 * - reproduce, over stand-in benchmarks (shell scripts printing CSV in each benchmark's shape,
 *   one of them, epc, complete enough for its plot; orch left out): one section and one table
 *   per figure, "quick" said, the stand-ins' numbers beside the paper's with their ratio, the
 *   missing benchmark named, done markers written; a second run resumes (runs nothing) and a
 *   removed marker runs that benchmark again; headless Chromium decodes every inlined image
 *   (skipped, saying so, without chromium). The real benchmarks run in `make bench`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/browser.h"
#include "common/cli_run.h"
#include "util/fileio.h"

static char dir[] = "/tmp/cloister-test-study-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return file_remove_tree(dir);
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

static void test_study(void **state)
{
    (void)state;
    assert_int_equal(
        cli_run(dir, "study memory-protection --epc 1 --ms 1 --app-mib 1 --out study --progress"),
        0);
    char *csv = cli_slurp(dir, "study/memory-protection.csv", NULL);
    static const char header[] = "config,bench,working_set_bytes,ops,seconds,ns_per_op,"
                                 "faults_per_op,cpu_seconds,pkg_joules,dram_joules,pkg_nj_per_op\n";
    assert_memory_equal(csv, header, strlen(header));
    static const char *const configs[] = {"native", "sim", "proc", "proc_epc"};
    static const char *const micro[] = {"seq_read", "seq_write", "rand_read", "rand_write"};
    char row[128];
    for (int c = 0; c < 4; c++) {
        for (int m = 0; m < 4; m++)
            for (unsigned mib = 1; mib <= 4; mib *= 2) {
                snprintf(row, sizeof row, "\n%s,%s,%u,", configs[c], micro[m], mib << 20);
                assert_non_null(strstr(csv, row));
            }
        snprintf(row, sizeof row, "\n%s,transition,0,", configs[c]);
        assert_non_null(strstr(csv, row));
        snprintf(row, sizeof row, "\n%s,alloc_4k,0,", configs[c]);
        assert_non_null(strstr(csv, row));
        snprintf(row, sizeof row, "\n%s,app_mapreduce_wordcount,", configs[c]);
        assert_non_null(strstr(csv, row));
        snprintf(row, sizeof row, "\n%s,app_streams_flights,", configs[c]);
        assert_true((strstr(csv, row) != NULL) == (c < 3));
        snprintf(row, sizeof row, "\n%s,app_ibbe_create,256,256,", configs[c]);
        assert_true((strstr(csv, row) != NULL) == (c == 1 || c == 2));
    }
    assert_non_null(strstr(csv, "\nnative,aes_gcm_page,4096,"));
    /* paging happens only where the budget is below the working set */
    char *p = strstr(csv, "\nproc_epc,rand_read,4194304,");
    assert_non_null(p);
    double faults = 0;
    assert_int_equal(sscanf(p + 1, "%*[^,],%*[^,],%*[^,],%*[^,],%*[^,],%*[^,],%lf", &faults), 1);
    assert_true(faults > 0.1);
    p = strstr(csv, "\nproc,rand_read,4194304,");
    assert_int_equal(sscanf(p + 1, "%*[^,],%*[^,],%*[^,],%*[^,],%*[^,],%*[^,],%lf", &faults), 1);
    assert_true(faults == 0);
    free(csv);
    size_t len;
    char *png = cli_slurp(dir, "study/memory-protection.png", &len);
    assert_true(len > 1000);
    assert_memory_equal(png, "\x89PNG", 4);
    free(png);
    char *sum = cli_slurp(dir, "study/summary.txt", NULL);
    assert_non_null(strstr(sum, "memory-encryption features detected:"));
    assert_non_null(strstr(sum, "  sev: "));
    assert_non_null(strstr(sum, "energy: "));
    assert_non_null(strstr(sum, "SGX below 5 % of native beyond the EPC"));
    free(sum);
}

/* The stand-in benchmarks: NAME and its CSV (rows the report's tables select). */
static const char *const fakes[][2] = {
    {"scbr_match", "engine,placement,subs,preds,us_per_pub\naspe,native,10000,1,11\n"
                   "poset,enclave,10000,1,1.1\nposet,native,10000,1,1\n"},
    {"ibbe", "OP,N,n,seconds,bytes\nibbe_setup,0,1000,0.262,1\nibbe_add,10000,1000,0.00136,1\n"
             "ibbe_create,1000,1000,0.1,1\nibbe_create,10000,1000,1,1\nrsa_create,1000,0,2,1\n"
             "rsa_create,10000,0,20,1\n"},
    {"mapreduce", "app,mode,workers,mb_s\nwordcount,lua-none,1,20\nwordcount,lua-proc,1,10\n"},
    {"streams", "kind,config,tee,batch,events_per_s\nthroughput,none,none,1024,144000\n"
                "throughput,paper,proc,1024,7000\n"},
    {"asky", "OP,N,seconds\nindexed_build,10000,0.002\n"},
    {"xsearch", "metric,system,k,a,b,c\nreid,xsearch,7,0.06,0,0\nreid,tor,0,0.36,0,0\n"
                "accuracy,match,2,1,1,0\n"},
};

static void spill_fake(const char *name, const char *csv)
{
    char path[128], script[4096];
    snprintf(path, sizeof path, "fake/bench_%s", name);
    snprintf(script, sizeof script, "#!/bin/sh\ncat <<'EOF'\n%sEOF\n", csv);
    cli_spill_text(dir, path, script);
    char full[256];
    snprintf(full, sizeof full, "%s/%s", dir, path);
    assert_int_equal(chmod(full, 0755), 0);
}

/* bench_epc's shape, complete: its plot draws from every column. */
static void spill_fake_epc(void)
{
    char csv[8192] = "pattern,mode,pager,ws_bytes,ws_mib,ws_over_budget,accesses,ns_per_access,"
                     "faults_per_access,handler_us_per_fault,budget_mib,l2_mib,llc_mib\n";
    static const char *const pats[] = {"random", "sequential"}, *const modes[] = {"epc",
                                                                                  "unlimited"};
    static const double ratios[] = {0.5, 1, 2, 4};
    for (int p = 0; p < 2; p++)
        for (int m = 0; m < 2; m++)
            for (int i = 0; i < 4; i++) {
                double ns = m == 0 && ratios[i] > 1 ? 36 : 2;
                size_t at = strlen(csv);
                snprintf(csv + at, sizeof csv - at,
                         "%s,%s,uffd,%.0f,%.3f,%.3f,1000,%.2f,%.5f,10.00,16.00,1.00,32.00\n",
                         pats[p], modes[m], ratios[i] * 16 * 1048576, ratios[i] * 16, ratios[i], ns,
                         m == 0 && ratios[i] > 1 ? 0.5 : 0.0);
            }
    spill_fake("epc", csv);
}

static void test_reproduce(void **state)
{
    (void)state;
    assert_int_equal(cli_shell(dir, "mkdir -p fake"), 0);
    for (size_t i = 0; i < sizeof fakes / sizeof fakes[0]; i++)
        spill_fake(fakes[i][0], fakes[i][1]);
    spill_fake_epc();
    assert_int_equal(cli_run(dir, "reproduce --quick --out rep --bench-dir fake --progress"), 0);
    char *err = cli_slurp(dir, "err.txt", NULL);
    assert_non_null(strstr(err, "bench_orch: not found"));
    assert_int_equal(count(err, "== bench "), 7);
    free(err);
    char *html = cli_slurp(dir, "rep/report.html", NULL);
    static const char *const ids[] = {"fig2a",   "fig2b", "fig3",  "table1", "mapreduce",
                                      "streams", "asky",  "fig5a", "fig5b",  "orch"};
    char want[64];
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        snprintf(want, sizeof want, "<section class=\"figure\" id=\"%s\">", ids[i]);
        assert_non_null(strstr(html, want));
        snprintf(want, sizeof want, "<table class=\"compare\" data-figure=\"%s\">", ids[i]);
        assert_non_null(strstr(html, want));
    }
    /* every figure has its plot or says why not; epc's plot is drawn */
    size_t images = count(html, "<img ");
    assert_int_equal(images + count(html, "<p class=\"missing\">no plot"), 10);
    assert_non_null(strstr(html, "alt=\"Figure 2b: the EPC cliff"));
    assert_true(count(html, "(quick)") >= 10);
    assert_non_null(strstr(html, "<li>machine: "));
    assert_non_null(strstr(html, "<li>commit: "));
    /* ours beside the paper's: 36 / 2 = 18x against the paper's 18x, ratio 1 */
    assert_non_null(strstr(html, "<td>18</td><td>18</td><td>up to 18x with about twice the EPC"
                                 "</td><td>1</td>"));
    assert_non_null(strstr(html, "status: missing"));
    assert_non_null(strstr(html, "CLOISTER_EPC_BENCH_BUDGET_MIB=16"));
    free(html);
    assert_int_equal(cli_shell(dir, "test -f rep/epc.done && test ! -f rep/orch.done"), 0);

    /* resumed: nothing runs again, except a benchmark whose marker is gone */
    assert_int_equal(cli_shell(dir, "rm rep/asky.done && $CLOISTER reproduce --quick --out rep "
                                    "--bench-dir fake"),
                     0);
    err = cli_slurp(dir, "err.txt", NULL);
    assert_int_equal(count(err, "== bench "), 1);
    assert_non_null(strstr(err, "== bench asky (quick) =="));
    free(err);
    html = cli_slurp(dir, "rep/report.html", NULL);
    assert_int_equal(count(html, "status: resumed"), 8); /* fig3 and table1 share ibbe */
    assert_int_equal(count(html, "<img "), images);
    free(html);

    char url[256];
    snprintf(url, sizeof url, "file://%s/rep/report.html", dir);
    uint8_t *dom;
    size_t len;
    int rc = browser_dump_dom(url, dir, &dom, &len);
    if (rc == 1) {
        fprintf(stderr, "skipped: the headless browser check needs Debian's chromium\n");
        skip();
    }
    assert_int_equal(rc, 0);
    char loaded[64];
    snprintf(loaded, sizeof loaded, "data-images-loaded=\"%zu\"", images);
    assert_non_null(memmem(dom, len, loaded, strlen(loaded)));
    assert_non_null(memmem(dom, len, "data-tables=\"10\"", 16));
    free(dom);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_study),
        cmocka_unit_test(test_reproduce),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
