/* test_ibbe_trace.c -- membership traces (ibbe_trace.h) used directly: a trace from a git history
 * in a repository whose path has spaces, quotes and a ';' (git runs without a shell: the path
 * reaches it intact and nothing of it is executed), a missing repository refused, and the trace
 * replayed through the enclave (sim) down to the one author who stays. */
#include <cloister/ibbe_trace.h>
#include <cloister/tee_enclave.h>

#include <limits.h>
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

TEE_ENCLAVE_DECLARE(ibbe);

static char dir[PATH_MAX];

/* A repository at dir/<name> with the commits of authors a, b, c, a, d, b, a. The path goes to
 * the shell through the environment, never through the command text. */
static void make_repo(const char *name)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(setenv("REPO", path, 1), 0);
    assert_int_equal(system("git init -q \"$REPO\" && for a in a b c a d b a; do "
                            "git -C \"$REPO\" -c user.name=$a -c user.email=$a@x.org commit -q "
                            "--allow-empty -m \"by $a\" || exit 1; done"),
                     0);
}

static int setup(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    char cmd[2 * PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/ibbe-trace", home ? home : "/tmp/cloister-test");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(chdir(dir), 0);
    return 0;
}

static void from_git(void **state)
{
    static const char name[] = "it's a \"repo\"; touch pwned";
    make_repo(name);
    char *text;
    size_t len;
    struct ibbe_trace_stats st;
    struct cloister_err err;
    if (ibbe_trace_from_git(name, &text, &len, &st, &err) != CLOISTER_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(len, strlen(text));
    assert_non_null(strstr(text, name)); /* the comment line names the repository */
    assert_string_equal(strchr(text, '\n') + 1,
                        "add a@x.org\nadd b@x.org\nadd c@x.org\nremove c@x.org\n"
                        "add d@x.org\nremove d@x.org\nremove b@x.org\n");
    assert_int_equal(st.commits, 7);
    assert_int_equal(st.authors, 4);
    assert_int_equal(st.adds, 4);
    assert_int_equal(st.removes, 3);
    free(text);
    struct stat sb;
    assert_int_not_equal(stat("pwned", &sb), 0); /* the ';' ran nothing */

    assert_int_equal(ibbe_trace_from_git("no such repo", &text, &len, &st, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "not a git repository"));
}

static void replay(void **state)
{
    struct ibbe_admin_options o = {.backend = "sim", .enclave = &tee_enclave_ibbe};
    ibbe_admin *a;
    struct cloister_err err;
    assert_int_equal(ibbe_admin_open("store", &o, &a, &err), CLOISTER_OK);
    assert_int_equal(ibbe_admin_setup(a, 2, &err), CLOISTER_OK);
    char trace[] = "# a trace\nadd a@x\nadd b@x\nremove b@x\nremove a@x\nadd c@x\n";
    struct ibbe_replay r;
    assert_int_equal(ibbe_trace_replay(a, "t", trace, strlen(trace), &r, &err), CLOISTER_OK);
    assert_int_equal(r.add.count, 3);
    assert_int_equal(r.remove.count, 1);
    assert_int_equal(r.skipped, 1); /* removing a@x would have emptied the group */
    assert_int_equal(r.members, 2);
    assert_true(r.add.median <= r.add.max && r.add.max <= r.add.total);

    char bad[] = "add d@x\nfrobnicate e@x\n";
    assert_int_equal(ibbe_trace_replay(a, "u", bad, strlen(bad), &r, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "operation 2"));
    char again[] = "add a@x\nadd a@x\n"; /* the first add creates: the group exists */
    assert_int_equal(ibbe_trace_replay(a, "t", again, strlen(again), &r, &err), CLOISTER_E_EXISTS);
    assert_non_null(strstr(err.msg, "operation 1"));
    ibbe_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_git),
        cmocka_unit_test(replay),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
