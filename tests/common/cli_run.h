/* cli_run.h -- CLI tests run the built `cloister` binary as a user would, in a work directory of
 * their own: `cd DIR && (cloister ARGS) >out.txt 2>err.txt`. ARGS is a shell fragment, so a
 * command's own redirections and pipes still apply inside the parentheses. */
#ifndef CLOISTER_TEST_CLI_RUN_H
#define CLOISTER_TEST_CLI_RUN_H

#include <stddef.h>

#define CLOISTER_BIN CLOISTER_BINARY_DIR "/src/cli/cloister"

/* The exit code; fails the test if the shell did not exit normally. */
int cli_run(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a whole shell fragment (pipes, background jobs, signals) in which $CLOISTER is
 * the binary: `cd DIR && (export CLOISTER=BIN; FRAGMENT) >out.txt 2>err.txt`. */
int cli_shell(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* DIR/NAME, NUL-terminated (*len without the NUL; len may be NULL); fails the test if it cannot
 * be read. The caller frees it. */
void *cli_slurp(const char *dir, const char *name, size_t *len);
/* Writes DIR/NAME (0644), failing the test if it cannot. */
void cli_spill(const char *dir, const char *name, const void *data, size_t len);
void cli_spill_text(const char *dir, const char *name, const char *text);
/* Asserts that the last run's stderr is exactly one line and contains want. */
void cli_assert_error_line(const char *dir, const char *want);

#endif
