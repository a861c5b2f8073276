/* test_tee_platform.c -- the simulated platform: creation on first use with private
 * permissions, reloading the same keys, refusal of loose permissions and damaged files, and
 * concurrent first use by several processes ending with one platform. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <cloister/tee_trust.h>

#include "helpers.h"

static void mode_is(const char *path, mode_t want)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 0777) != want)
        fail_msg("%s: mode %03o, want %03o", path, st.st_mode & 0777, want);
}

static void open_in(const char *home, uint8_t pk[32])
{
    struct cloister_err err = {0};
    tee_platform *p = tee_platform_open(home, &err);
    if (!p)
        fail_msg("%s", err.msg);
    tee_platform_attestation_key(p, pk);
    tee_platform_free(p);
}

static void expect_open_error(const char *home, const char *want)
{
    struct cloister_err err = {0};
    tee_platform *p = tee_platform_open(home, &err);
    assert_null(p);
    if (!strstr(err.msg, want))
        fail_msg("got '%s', want '%s'", err.msg, want);
}

static void created_private_and_reloaded(void **state)
{
    char home[4096], path[4200];
    th_dir(home, sizeof home, "created");
    uint8_t a[32], b[32];
    open_in(home, a);
    open_in(home, b);
    assert_memory_equal(a, b, 32);
    snprintf(path, sizeof path, "%s/platform", home);
    mode_is(path, 0700);
    const char *files[] = {"secrets", "ca.pem", "platform.pem"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/platform/%s", home, files[i]);
        mode_is(path, 0600);
    }
    struct cloister_err err;
    tee_platform *p = tee_platform_open(home, &err);
    snprintf(path, sizeof path, "%s/platform/ca.pem", home);
    assert_string_equal(tee_platform_ca_path(p), path);
    size_t len;
    uint8_t *pem = th_read(path, &len);
    assert_memory_equal(pem, "-----BEGIN CERTIFICATE-----", 27);
    free(pem);
    tee_platform_free(p);

    /* A home that does not exist yet is created 0700 with its parents. */
    snprintf(path, sizeof path, "%s/deep/er", home);
    open_in(path, a);
    mode_is(path, 0700);
}

static void loose_permissions_refused(void **state)
{
    char home[4096], path[4200];
    uint8_t pk[32];
    th_dir(home, sizeof home, "perms");
    open_in(home, pk);
    snprintf(path, sizeof path, "%s/platform", home);
    assert_int_equal(chmod(path, 0755), 0);
    expect_open_error(home, "accessible by other users (mode 755)");
    assert_int_equal(chmod(path, 0700), 0);
    snprintf(path, sizeof path, "%s/platform/secrets", home);
    assert_int_equal(chmod(path, 0640), 0);
    expect_open_error(home, "secrets: accessible by other users");
    assert_int_equal(chmod(path, 0600), 0);
    open_in(home, pk);
}

static void damaged_files_refused(void **state)
{
    char home[4096], other[4096], path[4200], path2[4200];
    uint8_t pk[32];
    th_dir(home, sizeof home, "damaged");
    th_dir(other, sizeof other, "damaged-other");
    open_in(home, pk);
    open_in(other, pk);

    snprintf(path, sizeof path, "%s/platform/secrets", home);
    size_t len;
    uint8_t *secrets = th_read(path, &len);
    th_write(path, secrets, len - 1);
    expect_open_error(home, "secrets");
    th_write(path, secrets, len);
    free(secrets);

    /* Another platform's certificate for our key. */
    snprintf(path, sizeof path, "%s/platform/platform.pem", home);
    snprintf(path2, sizeof path2, "%s/platform/platform.pem", other);
    uint8_t *mine = th_read(path, &len);
    size_t len2;
    uint8_t *theirs = th_read(path2, &len2);
    th_write(path, theirs, len2);
    expect_open_error(home, "platform files are inconsistent");
    th_write(path, "garbage", 7);
    expect_open_error(home, "not an X.509 certificate");
    th_write(path, mine, len);
    free(mine);
    free(theirs);
    open_in(home, pk);
}

/* Several processes open a fresh home at the same instant: all get the same platform. */
static void concurrent_first_use(void **state)
{
    enum { PROCS = 4, ROUNDS = 5 };
    for (int round = 0; round < ROUNDS; round++) {
        char name[32], home[4096];
        snprintf(name, sizeof name, "race-%d", round);
        th_dir(home, sizeof home, name);
        int go[2], out[2];
        assert_int_equal(pipe(go), 0);
        assert_int_equal(pipe(out), 0);
        for (int i = 0; i < PROCS; i++) {
            pid_t pid = fork();
            assert_true(pid >= 0);
            if (pid == 0) {
                char c;
                close(go[1]);
                if (read(go[0], &c, 1) != 0)
                    _exit(3);
                struct cloister_err err;
                tee_platform *p = tee_platform_open(home, &err);
                if (!p)
                    _exit(2);
                uint8_t pk[32];
                tee_platform_attestation_key(p, pk);
                _exit(write(out[1], pk, sizeof pk) == sizeof pk ? 0 : 4);
            }
        }
        close(go[0]);
        close(go[1]); /* releases every child at once */
        close(out[1]);
        for (int i = 0; i < PROCS; i++) {
            int status;
            assert_true(wait(&status) > 0);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        uint8_t keys[PROCS][32];
        for (int i = 0; i < PROCS; i++)
            assert_int_equal(read(out[0], keys[i], 32), 32);
        close(out[0]);
        uint8_t mine[32];
        open_in(home, mine);
        for (int i = 0; i < PROCS; i++)
            assert_memory_equal(keys[i], mine, 32);
        /* Losers cleaned up after themselves. */
        DIR *d = opendir(home);
        struct dirent *e;
        int entries = 0;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.' || strncmp(e->d_name, ".platform.tmp", 13) == 0)
                entries++;
        closedir(d);
        assert_int_equal(entries, 1);
    }
}

static void home_directory(void **state)
{
    char saved[4096], saved_home[4096], out[4096];
    snprintf(saved, sizeof saved, "%s", getenv("CLOISTER_HOME"));
    snprintf(saved_home, sizeof saved_home, "%s", getenv("HOME") ? getenv("HOME") : "/");
    assert_int_equal(tee_home_dir(out, sizeof out, NULL), 0);
    assert_string_equal(out, saved);
    unsetenv("CLOISTER_HOME");
    setenv("HOME", "/nonexistent/user", 1);
    assert_int_equal(tee_home_dir(out, sizeof out, NULL), 0);
    assert_string_equal(out, "/nonexistent/user/.local/share/cloister");
    assert_int_equal(tee_home_dir(out, 10, NULL), CLOISTER_E_TOO_BIG);
    setenv("CLOISTER_HOME", saved, 1);
    setenv("HOME", saved_home, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(created_private_and_reloaded),
        cmocka_unit_test(loose_permissions_refused),
        cmocka_unit_test(damaged_files_refused),
        cmocka_unit_test(concurrent_first_use),
        cmocka_unit_test(home_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
