/* test_util.c -- option parser, hex, atomic files, secret files, bounded reads, tree removal and
 * log levels. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <cloister/error.h>

#include "util/fileio.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/opt.h"

struct parsed {
    const char *store;
    long long n;
    bool json;
};

static int parse(struct parsed *p, int argc, char **argv, int *nargs)
{
    *p = (struct parsed){NULL, 7, false};
    const struct opt_def opts[] = {
        {"store", OPT_STRING, &p->store, "DIR", "state directory", OPT_REQUIRED, 0, 0},
        {"size", OPT_INT, &p->n, "N", "a size", 0, 1, 100},
        {"json", OPT_FLAG, &p->json, NULL, "print JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "test cmd", "FILE", "A test command.", opts,
        1,          2,      "What it does.",   "cloister test cmd --store DIR FILE\n"};
    return opt_parse(&cmd, argc, argv, nargs);
}

static void opt_accepts_both_forms(void **state)
{
    struct parsed p;
    int nargs;
    char *argv[] = {"cmd", "a", "--store", "/tmp/x", "--size=42", "--json", "--", "--b", NULL};
    assert_int_equal(parse(&p, 8, argv, &nargs), OPT_OK);
    assert_string_equal(p.store, "/tmp/x");
    assert_int_equal(p.n, 42);
    assert_true(p.json);
    assert_int_equal(nargs, 2);
    assert_string_equal(argv[0], "a");
    assert_string_equal(argv[1], "--b");
}

/* A single-value option given twice is refused ("the last wins" hides typos in scripts). */
static void opt_refuses_repeats(void **state)
{
    struct parsed p;
    int nargs;
    char *twice[] = {"cmd", "a", "--store", "x", "--store=y", NULL};
    assert_int_equal(parse(&p, 5, twice, &nargs), OPT_ERROR);
    char *flags[] = {"cmd", "a", "--store", "x", "--json", "--json", NULL};
    assert_int_equal(parse(&p, 6, flags, &nargs), OPT_ERROR);
}

/* Typos (one or two edits, a swap of letters counting one) and unambiguous prefixes are
 * suggested; words far from every candidate are not. */
static void opt_suggests_the_nearest(void **state)
{
    const char *const verbs[] = {"gen",       "match",   "router", "provision",
                                 "subscribe", "publish", "stats"};
    size_t n = sizeof verbs / sizeof verbs[0];
    assert_string_equal(opt_nearest("subscibe", verbs, n), "subscribe");
    assert_string_equal(opt_nearest("pubilsh", verbs, n), "publish");
    assert_string_equal(opt_nearest("routr", verbs, n), "router");
    assert_string_equal(opt_nearest("prov", verbs, n), "provision");
    assert_string_equal(opt_nearest("stat", verbs, n), "stats");
    assert_null(opt_nearest("nosuch", verbs, n));
    assert_null(opt_nearest("x", verbs, n));
    assert_null(opt_nearest("gen", verbs, n)); /* an exact word is not a typo */
    assert_null(opt_nearest("", verbs, n));
}

static void opt_refuses_mistakes(void **state)
{
    struct parsed p;
    int nargs;
    char *missing[] = {"cmd", "a", NULL};
    assert_int_equal(parse(&p, 2, missing, &nargs), OPT_ERROR);
    char *range[] = {"cmd", "a", "--store", "d", "--size", "1000", NULL};
    assert_int_equal(parse(&p, 6, range, &nargs), OPT_ERROR);
    char *notint[] = {"cmd", "a", "--store", "d", "--size", "12x", NULL};
    assert_int_equal(parse(&p, 6, notint, &nargs), OPT_ERROR);
    char *unknown[] = {"cmd", "a", "--store", "d", "--nope", NULL};
    assert_int_equal(parse(&p, 5, unknown, &nargs), OPT_ERROR);
    char *novalue[] = {"cmd", "a", "--store", NULL};
    assert_int_equal(parse(&p, 3, novalue, &nargs), OPT_ERROR);
    char *toomany[] = {"cmd", "a", "b", "c", "--store", "d", NULL};
    assert_int_equal(parse(&p, 6, toomany, &nargs), OPT_ERROR);
    char *noargs[] = {"cmd", "--store", "d", NULL};
    assert_int_equal(parse(&p, 3, noargs, &nargs), OPT_ERROR);
    char *flagvalue[] = {"cmd", "a", "--store", "d", "--json=1", NULL};
    assert_int_equal(parse(&p, 5, flagvalue, &nargs), OPT_ERROR);
    assert_int_equal(opt_exit_code(OPT_ERROR), 2);
}

/* Integers are decimal whatever their leading zeros: "010" is ten, never octal eight. */
static void opt_integers_are_decimal(void **state)
{
    struct parsed p;
    int nargs;
    char *argv[] = {"cmd", "a", "--store", "d", "--size", "010", NULL};
    assert_int_equal(parse(&p, 6, argv, &nargs), OPT_OK);
    assert_int_equal(p.n, 10);
    char *hex[] = {"cmd", "a", "--store", "d", "--size", "0x10", NULL};
    assert_int_equal(parse(&p, 6, hex, &nargs), OPT_ERROR);
}

static void opt_help(void **state)
{
    struct parsed p;
    int nargs;
    char *argv[] = {"cmd", "--help", NULL};
    assert_int_equal(parse(&p, 2, argv, &nargs), OPT_HELP);
    assert_int_equal(opt_exit_code(OPT_HELP), 0);
}

static void opt_list_repeats(void **state)
{
    struct opt_list list = {0};
    const struct opt_def opts[] = {{"peer", OPT_LIST, &list, "ADDR", "a peer", 0, 0, 0}, {0}};
    const struct opt_cmd cmd = {"test list", "", "A repeatable option.", opts, 0, 0, NULL, NULL};
    char *argv[] = {"cmd", "--peer", "a", "--peer=b", NULL};
    int nargs;
    assert_int_equal(opt_parse(&cmd, 4, argv, &nargs), OPT_OK);
    assert_int_equal(list.n, 2);
    assert_string_equal(list.v[0], "a");
    assert_string_equal(list.v[1], "b");

    struct opt_list full = {0};
    const struct opt_def opts2[] = {{"peer", OPT_LIST, &full, "ADDR", "a peer", 0, 0, 0}, {0}};
    const struct opt_cmd cmd2 = {"test list", "", "A repeatable option.", opts2, 0, 0, NULL, NULL};
    char *many[2 * OPT_LIST_MAX + 3];
    many[0] = "cmd";
    for (int i = 0; i <= OPT_LIST_MAX; i++) {
        many[1 + 2 * i] = "--peer";
        many[2 + 2 * i] = "x";
    }
    assert_int_equal(opt_parse(&cmd2, 2 * OPT_LIST_MAX + 3, many, &nargs), OPT_ERROR);
}

/* A choice keeps its default until given, takes the index of a listed word, and refuses any
 * other word with one line naming them all; help lists them with the default marked. */
static void opt_choice_restricts(void **state)
{
    static const char *const words[] = {"spin", "block", "poll", NULL};
    struct opt_choice wait = {words, 1};
    const struct opt_def opts[] = {{"wait", OPT_CHOICE, &wait, "MODE", "how to wait", 0, 0, 0},
                                   {0}};
    const struct opt_cmd cmd = {"test choice", "", "A choice.", opts, 0, 0, NULL, NULL};
    int nargs;
    char *none[] = {"cmd", NULL};
    assert_int_equal(opt_parse(&cmd, 1, none, &nargs), OPT_OK);
    assert_int_equal(wait.index, 1);
    char *given[] = {"cmd", "--wait=poll", NULL};
    assert_int_equal(opt_parse(&cmd, 2, given, &nargs), OPT_OK);
    assert_int_equal(wait.index, 2);

    char err[256] = "";
    FILE *saved = stderr;
    stderr = fmemopen(err, sizeof err - 1, "w");
    char *bad[] = {"cmd", "--wait", "Spin", NULL};
    int rc = opt_parse(&cmd, 3, bad, &nargs);
    fclose(stderr);
    stderr = saved;
    assert_int_equal(rc, OPT_ERROR);
    assert_int_equal(wait.index, 2);
    assert_string_equal(err, "cloister test choice: --wait must be spin, block or poll, got "
                             "'Spin'\n");

    char help[1024] = "";
    FILE *out = fmemopen(help, sizeof help - 1, "w");
    wait.index = 0;
    opt_usage(&cmd, out);
    fclose(out);
    assert_non_null(strstr(help, "--wait MODE"));
    assert_non_null(strstr(help, "how to wait: spin (default), block or poll\n"));
}

static void hex_round_trip(void **state)
{
    const uint8_t bytes[] = {0x00, 0x7f, 0x80, 0xff};
    char text[9];
    hex_encode(text, bytes, sizeof bytes);
    assert_string_equal(text, "007f80ff");
    uint8_t back[4];
    assert_int_equal(hex_decode(back, sizeof back, "007F80ff", 8), 4);
    assert_memory_equal(back, bytes, 4);
    assert_int_equal(hex_decode(back, sizeof back, "0", 1), -1);
    assert_int_equal(hex_decode(back, sizeof back, "zz", 2), -1);
    assert_int_equal(hex_decode(back, 1, "0000", 4), -1);
}

static void files_are_atomic(void **state)
{
    char dir[] = "/tmp/cloister-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[256], path[300];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    assert_int_equal(file_mkdirs(sub, 0700), 0);
    assert_int_equal(file_mkdirs(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/state", sub);
    assert_int_equal(file_write_atomic(path, "first", 5, 0600), 0);
    assert_int_equal(file_write_atomic(path, "second", 6, 0600), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t *data;
    size_t len;
    assert_int_equal(file_read_all(path, 1024, &data, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(data, "second", 6);
    assert_int_equal(data[6], 0);
    free(data);
    assert_int_equal(file_read_all(path, 3, &data, &len), -1);
    assert_int_equal(errno, EFBIG);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(file_read_all(path, 3, &data, &len), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(file_remove_tree(dir), 0);
}

/* A secret file its group or others may access is refused (EPERM), and the message says the
 * chmod that fixes it; a private one reads as any file. */
static void secret_files_must_be_private(void **state)
{
    char dir[] = "/tmp/cloister-test-XXXXXX", path[64], why[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/key", dir);
    assert_int_equal(file_write_atomic(path, "k", 1, 0640), 0);
    uint8_t *data;
    size_t len;
    assert_int_equal(file_read_secret(path, 16, &data, &len), -1);
    assert_int_equal(errno, EPERM);
    assert_non_null(strstr(file_strerror(errno, path, why, sizeof why), "chmod 600"));
    assert_non_null(strstr(why, path));
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(file_read_secret(path, 16, &data, &len), 0);
    assert_int_equal(len, 1);
    free(data);
    assert_int_equal(file_remove_tree(dir), 0);
}

/* A stream without a size (/dev/zero) is refused once it passes the limit, having read no more
 * than one byte past it: memory stays bounded by the limit, not twice it. */
static void endless_input_is_refused_at_the_limit(void **state)
{
    uint8_t *data;
    size_t len, max = (size_t)64 << 20;
    struct rusage before, after;
    assert_int_equal(getrusage(RUSAGE_SELF, &before), 0);
    assert_int_equal(file_read_all("/dev/zero", max, &data, &len), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(getrusage(RUSAGE_SELF, &after), 0);
#ifndef __SANITIZE_ADDRESS__ /* ASan keeps freed buffers in quarantine: the peak says nothing */
    assert_true((size_t)(after.ru_maxrss - before.ru_maxrss) * 1024 < max + max / 4);
#endif
}

/* The tree goes, links included, but never what a link points to; a missing tree is fine. */
static void trees_are_removed(void **state)
{
    char dir[] = "/tmp/cloister-test-XXXXXX", keep[] = "/tmp/cloister-keep-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_non_null(mkdtemp(keep));
    char path[300], kept[300];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    assert_int_equal(file_mkdirs(path, 0700), 0);
    snprintf(path, sizeof path, "%s/a/b/c/file", dir);
    assert_int_equal(file_write_atomic(path, "x", 1, 0600), 0);
    snprintf(kept, sizeof kept, "%s/precious", keep);
    assert_int_equal(file_write_atomic(kept, "y", 1, 0600), 0);
    snprintf(path, sizeof path, "%s/a/link", dir);
    assert_int_equal(symlink(keep, path), 0);

    assert_int_equal(file_remove_tree(dir), 0);
    struct stat st;
    assert_int_equal(lstat(dir, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(stat(kept, &st), 0);
    assert_int_equal(file_remove_tree(dir), 0);
    assert_int_equal(file_remove_tree(keep), 0);
    assert_int_equal(stat(keep, &st), -1);
}

static void log_levels(void **state)
{
    assert_int_equal(clog_level_from_name("debug"), CLOG_DEBUG);
    assert_int_equal(clog_level_from_name("off"), CLOG_OFF);
    assert_int_equal(clog_level_from_name("loud"), -1);
    clog_set_level(CLOG_ERROR);
    assert_int_equal(clog_get_level(), CLOG_ERROR);
    clog_info("not shown");
}

static void errors_carry_code_and_message(void **state)
{
    struct cloister_err err;
    cloister_err_clear(&err);
    assert_int_equal(err.code, CLOISTER_OK);
    assert_string_equal(err.msg, "");
    assert_int_equal(cloister_errf(&err, CLOISTER_E_NOT_FOUND, "group %s", "eng"),
                     CLOISTER_E_NOT_FOUND);
    assert_int_equal(err.code, CLOISTER_E_NOT_FOUND);
    assert_int_equal(cloister_err_wrap(&err, "store %s", "/s"), CLOISTER_E_NOT_FOUND);
    assert_string_equal(err.msg, "store /s: group eng");
    assert_int_equal(cloister_errf(NULL, CLOISTER_E_DENIED, "x"), CLOISTER_E_DENIED);
    assert_string_equal(cloister_strerror(CLOISTER_E_DEAD), "enclave is dead");
    assert_string_equal(cloister_strerror(-99), "unknown status");
    assert_string_equal(cloister_strerror(1), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opt_accepts_both_forms),
        cmocka_unit_test(opt_refuses_mistakes),
        cmocka_unit_test(opt_refuses_repeats),
        cmocka_unit_test(opt_suggests_the_nearest),
        cmocka_unit_test(opt_integers_are_decimal),
        cmocka_unit_test(opt_help),
        cmocka_unit_test(opt_list_repeats),
        cmocka_unit_test(opt_choice_restricts),
        cmocka_unit_test(hex_round_trip),
        cmocka_unit_test(files_are_atomic),
        cmocka_unit_test(secret_files_must_be_private),
        cmocka_unit_test(endless_input_is_refused_at_the_limit),
        cmocka_unit_test(trees_are_removed),
        cmocka_unit_test(log_levels),
        cmocka_unit_test(errors_carry_code_and_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
