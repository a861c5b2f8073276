/* cli_run.c -- see cli_run.h. */
#include "common/cli_run.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "util/fileio.h"

/* Runs `cd DIR && (PREFIX ARGS) >out.txt 2>err.txt`; the exit code. */
static int run_in(const char *dir, const char *prefix, const char *fmt, va_list ap)
{
    char args[8192], cmd[PATH_MAX + 9000];
    vsnprintf(args, sizeof args, fmt, ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && (%s%s) >out.txt 2>err.txt", dir, prefix, args);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

int cli_run(const char *dir, const char *fmt, ...)
{
    char prefix[PATH_MAX + 16];
    snprintf(prefix, sizeof prefix, "'%s' ", CLOISTER_BIN);
    va_list ap;
    va_start(ap, fmt);
    int rc = run_in(dir, prefix, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_shell(const char *dir, const char *fmt, ...)
{
    char prefix[PATH_MAX + 32];
    snprintf(prefix, sizeof prefix, "export CLOISTER='%s'; ", CLOISTER_BIN);
    va_list ap;
    va_start(ap, fmt);
    int rc = run_in(dir, prefix, fmt, ap);
    va_end(ap);
    return rc;
}

void *cli_slurp(const char *dir, const char *name, size_t *len)
{
    char path[PATH_MAX + 256];
    uint8_t *data;
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (file_read_all(path, 1 << 24, &data, &n) != 0)
        fail_msg("cannot read %s", path);
    if (len)
        *len = n;
    return data;
}

void cli_spill(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(file_write_atomic(path, data, len, 0644), 0);
}

void cli_spill_text(const char *dir, const char *name, const char *text)
{
    cli_spill(dir, name, text, strlen(text));
}

void cli_assert_error_line(const char *dir, const char *want)
{
    size_t len;
    char *err = cli_slurp(dir, "err.txt", &len);
    if (!strstr(err, want) || len == 0 || strchr(err, '\n') != err + len - 1)
        fail_msg("stderr '%s' is not one line containing '%s'", err, want);
    free(err);
}
