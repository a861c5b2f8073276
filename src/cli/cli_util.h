/* cli_util.h -- what the verb files share beyond dispatch: JSON on stdout, bytes as hex in JSON,
 * identity hashes from repeatable options, whole files read and written with the CLI's error
 * messages, the rules for secrets (private key files, never overwritten silently, kept out of
 * core dumps), and the clock of the timings they print.
 *
 * Every function that can fail prints one line through cli_fail() and returns the exit code the
 * verb should return (cli.h), so a verb reads as a chain of `if (rc == CLI_OK) rc = ...;`. File
 * errors name the file first and say what it was for: "keys/r.sk: cannot read the secret key:
 * No such file or directory". The path "-" is stdin or stdout (util/fileio.h).
 *
 * Keys users pass around (HPKE public keys, IBBE user keys) are written as one line of Bech32
 * text by default (util/bech32.h) and read in either form; endpoints are IP:PORT everywhere,
 * tcp://IP:PORT accepted, through cli_parse_endpoint. */
#ifndef CLOISTER_CLI_UTIL_H
#define CLOISTER_CLI_UTIL_H

#include <cloister/tee_trust.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "util/opt.h"

/* Prints j on stdout, indented by 2, then a newline, and releases j. A NULL j (a failed
 * json_pack) prints nothing. Returns CLI_OK, or CLI_FAIL when j is NULL. */
int cli_json_print(json_t *j);

/* Decodes every value of the repeatable option --opt (an identity: MRENCLAVE, MRSIGNER) into
 * out[0..l->n). Returns CLI_OK, or CLI_USAGE naming the first value that is not 64 hex digits. */
int cli_parse_hashes(const char *opt, const struct opt_list *l, uint8_t (*out)[TEE_HASH_LEN]);

/* Decodes the hex of option --opt into out (at most max bytes), *len = the byte count; a NULL hex
 * (the option not given) gives *len = 0. Returns CLI_OK, or CLI_USAGE after saying what is wrong.
 */
int cli_parse_hex(const char *opt, const char *hex, uint8_t *out, size_t max, size_t *len);

/* Reads the whole file (at most max bytes; "-": stdin) into a malloc'd buffer, NUL-terminated one
 * byte past *len. what names it in errors ("the image"). Returns CLI_OK or CLI_FAIL. */
int cli_read_file(const char *path, const char *what, size_t max, uint8_t **data, size_t *len);
/* cli_read_file for a key or token: a file its group or others may access is refused, naming the
 * `chmod 600` that fixes it. */
int cli_read_secret(const char *path, const char *what, size_t max, uint8_t **data, size_t *len);
/* A bearer token from path (min to cap - 1 characters on one line), created (32 random bytes in
 * hex, mode 0600) when the file does not exist. Returns CLI_OK or CLI_FAIL. */
int cli_load_token(const char *path, size_t min, char *token, size_t cap);
/* Replaces path atomically with data, created with mode ("-": stdout). Returns CLI_OK or
 * CLI_FAIL. */
int cli_write_file(const char *path, const char *what, const void *data, size_t len, mode_t mode);

/* The words of a --format option for a key: text (the default) or binary. */
extern const char *const cli_key_formats[];
enum { CLI_KEY_TEXT, CLI_KEY_BINARY };

/* Writes a key: its Bech32 text under hrp (format CLI_KEY_TEXT) or the bytes as they are. */
int cli_write_key(const char *path, const char *what, int format, const char *hrp,
                  const uint8_t *key, size_t len, mode_t mode);

/* Reads an HPKE public key file: the text cloister-hpke1... or the binary "CHPK" record. Returns
 * CLI_OK, or CLI_FAIL naming the file and what is wrong with it. */
int cli_read_hpke_public(const char *path, uint8_t pk[32]);

/* An endpoint as every verb takes it: IP:PORT (tcp://IP:PORT is accepted too), port 0 or '*'
 * for "any free port" when listening. Both forms are filled: zmq "tcp://IP:PORT" (port '*' for
 * any), host "IP:PORT" (port 0 for any). Returns CLI_OK, or CLI_USAGE naming --opt. */
struct cli_endpoint {
    char zmq[80];
    char host[72];
};
int cli_parse_endpoint(const char *opt, const char *text, struct cli_endpoint *out);

/* The one rule for a verb about to write a secret (a key): an existing file at path is kept
 * unless force, since overwriting a key loses what it protected. "-" never exists. Returns
 * CLI_OK, or CLI_FAIL naming the file and --force. */
int cli_check_new_secret(const char *path, bool force);

/* For a verb that holds keys or tokens in memory: they must reach neither a core file nor another
 * process of the same user (ptrace, /proc/PID/mem), so the process is made undumpable, with no
 * core. Call it before the first secret is read. Returns CLI_OK or CLI_FAIL. */
int cli_hold_secrets(void);

/* Monotonic time in seconds: differences time what a verb or demo step did. */
double cli_now_s(void);

/* Progress of a long loop, on stderr: when on (the verb's --progress, or stderr is a terminal)
 * a line with the count done, the rate and the time left, redrawn in place every second on a
 * terminal (a new line every 10 s in a log), and the total at the end; nothing when off, so
 * scripts and tests see a clean stderr.
 *
 *     struct cli_progress p;
 *     cli_progress_start(&p, want || isatty(2), "publications matched", pubs.n);
 *     for (...) { ...; cli_progress_step(&p, i + 1); }
 *     cli_progress_end(&p); */
struct cli_progress {
    const char *what;
    size_t total;
    double start, last;
    bool on, tty;
};
void cli_progress_start(struct cli_progress *p, bool on, const char *what, size_t total);
void cli_progress_step(struct cli_progress *p, size_t done);
void cli_progress_end(struct cli_progress *p);

/* Servers stop on SIGINT or SIGTERM. cli_stop_signals_block() blocks both before the server
 * starts its threads (they inherit the mask, so none of them takes the signal);
 * cli_stop_signals_wait() then waits for one, says on stderr that WHO stops, and returns it. */
void cli_stop_signals_block(void);
int cli_stop_signals_wait(const char *who);

#endif
