/* cli_util.c -- see cli_util.h.
 *
 * cli_json_hex encodes every byte it is given, into a buffer sized for them: a hash or key
 * printed for a script must be the whole value (a truncated one compares unequal and looks
 * right), and a fixed buffer must never be the limit on what a caller may pass. */
#include "cli/cli_util.h"

#include <cloister/crypto.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/hpke_wire.h"
#include "util/bech32.h"
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

const char *const cli_key_formats[] = {"text", "binary", NULL};

int cli_write_key(const char *path, const char *what, int format, const char *hrp,
                  const uint8_t *key, size_t len, mode_t mode)
{
    if (format == CLI_KEY_BINARY)
        return cli_write_file(path, what, key, len, mode);
    char *text = malloc(BECH32_KEY_TEXT_MAX);
    long n = text ? bech32_key_encode(text, BECH32_KEY_TEXT_MAX, hrp, key, len) : -1;
    int rc = n < 0 ? cli_fail("%s: %s too long for its text form", path, what)
                   : cli_write_file(path, what, text, (size_t)n, mode);
    if (text)
        crypto_wipe(text, BECH32_KEY_TEXT_MAX);
    free(text);
    return rc;
}

#define PUBLIC_KEY_FILE_MAX 4096

int cli_read_hpke_public(const char *path, uint8_t pk[32])
{
    uint8_t *data;
    size_t len, n;
    const char *why;
    if (cli_read_file(path, "the public key", PUBLIC_KEY_FILE_MAX, &data, &len) != CLI_OK)
        return CLI_FAIL;
    int rc;
    if (!bech32_key_is_text(data, len))
        rc = hpke_wire_get_public(pk, data, len, &why);
    else if ((rc = bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, data, len, pk, 32, &n, &why)) == 0 &&
             n != 32)
        rc = -1, why = "not 32 bytes long";
    free(data);
    return rc == 0 ? CLI_OK : cli_fail("%s: not an HPKE public key file: %s", path, why);
}

int cli_parse_endpoint(const char *opt, const char *text, struct cli_endpoint *out)
{
    const char *hp = strncmp(text, "tcp://", 6) == 0 ? text + 6 : text;
    const char *colon = strrchr(hp, ':');
    const char *port = colon ? colon + 1 : "";
    size_t hlen = colon ? (size_t)(colon - hp) : 0;
    bool any = strcmp(port, "*") == 0 || strcmp(port, "0") == 0;
    char *end;
    long p = any ? 0 : strtol(port, &end, 10);
    bool ok = colon && hlen > 0 && hlen < 64 && strcspn(hp, " /\t") == strlen(hp) &&
              (any || (*port >= '0' && *port <= '9' && !*end && p > 0 && p <= 65535));
    if (!ok) {
        fprintf(stderr,
                "cloister: %s: expected IP:PORT such as 127.0.0.1:5555 (tcp://IP:PORT is accepted "
                "too), got '%s'\n",
                opt, text);
        return CLI_USAGE;
    }
    snprintf(out->zmq, sizeof out->zmq, "tcp://%.*s:%s", (int)hlen, hp, any ? "*" : port);
    snprintf(out->host, sizeof out->host, "%.*s:%s", (int)hlen, hp, any ? "0" : port);
    return CLI_OK;
}

void cli_progress_start(struct cli_progress *p, bool on, const char *what, size_t total)
{
    *p = (struct cli_progress){what, total, cli_now_s(), cli_now_s(), on, isatty(2) == 1};
}

void cli_progress_step(struct cli_progress *p, size_t done)
{
    double now = cli_now_s();
    if (!p->on || now - p->last < (p->tty ? 1.0 : 10.0))
        return;
    p->last = now;
    double rate = (double)done / (now - p->start);
    double left = rate > 0 ? (double)(p->total - done) / rate : 0;
    fprintf(stderr, "%s%zu/%zu %s (%.1f %%), %.0f/s, about %.0f s left%s", p->tty ? "\r" : "", done,
            p->total, p->what, p->total ? 100.0 * (double)done / (double)p->total : 100.0, rate,
            left, p->tty ? "\033[K" : "\n");
}

void cli_progress_end(struct cli_progress *p)
{
    if (p->on)
        fprintf(stderr, "%s%zu %s in %.1f s\n", p->tty ? "\r\033[K" : "", p->total, p->what,
                cli_now_s() - p->start);
}

/* The token from FILE, created (32 random bytes in hex, mode 0600) when it does not exist. */
int cli_load_token(const char *path, size_t min, char *token, size_t cap)
{
    uint8_t *data;
    size_t len;
    if (file_read_secret(path, 4096, &data, &len) == 0) {
        while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            len--;
        int rc = len < min || len >= cap || memchr(data, '\0', len)
                     ? cli_fail("%s: a token is %zu to %zu characters on one line", path, min,
                                cap - 1)
                     : CLI_OK;
        if (rc == CLI_OK) {
            memcpy(token, data, len);
            token[len] = '\0';
        }
        crypto_wipe(data, len);
        free(data);
        return rc;
    }
    char why[256];
    if (errno != ENOENT)
        return cli_fail("cannot read %s: %s", path, file_strerror(errno, path, why, sizeof why));
    uint8_t raw[32];
    if (cap < 2 * sizeof raw + 2 || crypto_random(raw, sizeof raw) != 0)
        return cli_fail("cannot draw a token");
    hex_encode(token, raw, sizeof raw);
    crypto_wipe(raw, sizeof raw);
    token[2 * sizeof raw] = '\n';
    int rc = cli_write_file(path, "the token", token, 2 * sizeof raw + 1, 0600);
    token[2 * sizeof raw] = '\0';
    if (rc == CLI_OK)
        printf("new token written to %s (mode 0600)\n", path);
    return rc;
}

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void cli_stop_signals_block(void)
{
    sigset_t set;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int cli_stop_signals_wait(const char *who)
{
    sigset_t set;
    int sig = 0;
    stop_signals(&set);
    sigwait(&set, &sig);
    fprintf(stderr, "%s: signal %d: stopping\n", who, sig);
    return sig;
}
