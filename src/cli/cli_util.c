/* cli_util.c -- see cli_util.h.
 *
 * cli_json_hex encodes every byte it is given, into a buffer sized for them: a hash or key
 * printed for a script must be the whole value (a truncated one compares unequal and looks
 * right), and a fixed buffer must never be the limit on what a caller may pass. */
#include "cli/cli_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "util/fileio.h"
#include "util/hex.h"

int cli_json_print(json_t *j)
{
    if (!j)
        return cli_fail("out of memory formatting the JSON output");
    json_dumpf(j, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(j);
    return CLI_OK;
}

json_t *cli_json_hex(const uint8_t *p, size_t n)
{
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return NULL;
    hex_encode(hex, p, n);
    json_t *s = json_string(hex);
    free(hex);
    return s;
}

int cli_parse_hashes(const char *opt, const struct opt_list *l, uint8_t (*out)[TEE_HASH_LEN])
{
    for (int i = 0; i < l->n; i++) {
        const char *v = l->v[i];
        if (hex_decode(out[i], TEE_HASH_LEN, v, strlen(v)) != TEE_HASH_LEN) {
            cli_fail("--%s: expected %d hex digits, got '%.80s'", opt, 2 * TEE_HASH_LEN, v);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

int cli_parse_hex(const char *opt, const char *hex, uint8_t *out, size_t max, size_t *len)
{
    long n = hex ? hex_decode(out, max, hex, strlen(hex)) : 0;
    if (n < 0) {
        cli_fail("--%s: expected an even number of hex digits (at most %zu bytes)", opt, max);
        return CLI_USAGE;
    }
    *len = (size_t)n;
    return CLI_OK;
}

/* A path as error messages name it: "-" is the standard stream. */
static const char *shown(const char *path, const char *dash)
{
    return strcmp(path, "-") == 0 ? dash : path;
}

/* The message for a failed read of path (errno set by util/fileio.h). */
static int read_failed(const char *path, const char *what, size_t max)
{
    char why[256];
    if (errno == EFBIG)
        return cli_fail("%s: %s is larger than %zu bytes", shown(path, "stdin"), what, max);
    return cli_fail("%s: cannot read %s: %s", shown(path, "stdin"), what,
                    file_strerror(errno, path, why, sizeof why));
}

int cli_read_file(const char *path, const char *what, size_t max, uint8_t **data, size_t *len)
{
    return file_read_all(path, max, data, len) == 0 ? CLI_OK : read_failed(path, what, max);
}

int cli_read_secret(const char *path, const char *what, size_t max, uint8_t **data, size_t *len)
{
    return file_read_secret(path, max, data, len) == 0 ? CLI_OK : read_failed(path, what, max);
}

int cli_write_file(const char *path, const char *what, const void *data, size_t len, mode_t mode)
{
    if (file_write_atomic(path, data, len, mode) == 0)
        return CLI_OK;
    return cli_fail("%s: cannot write %s: %s", shown(path, "stdout"), what, strerror(errno));
}

int cli_check_new_secret(const char *path, bool force)
{
    struct stat st;
    if (force || strcmp(path, "-") == 0 || lstat(path, &st) != 0)
        return CLI_OK;
    return cli_fail("%s: a key file already exists (use --force to replace it)", path);
}

int cli_hold_secrets(void)
{
    const struct rlimit none = {0, 0};
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &none) != 0)
        return cli_fail("cannot keep the keys out of core dumps: %s", strerror(errno));
    return CLI_OK;
}

double cli_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
