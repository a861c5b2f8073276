/* cli.h -- how a system plugs into the `cloister` binary.
 *
 * Each system defines one `struct cli_system` (its verbs, and optionally a demo step) in
 * src/cli/cmd_<system>.c and adds it to the registry in main.c. A verb is a function that gets
 * argv with argv[0] = the verb, parses it with opt_parse() and returns the process exit code:
 * CLI_OK, CLI_FAIL (runtime failure, after cli_fail() printed why) or CLI_USAGE. The demo step
 * lives apart, in cmd_<system>_demo.c, so the verb file holds only what users run; helpers both
 * need go to cli_util.h, or to cmd_<system>.h when they belong to one system. */
#ifndef CLOISTER_CLI_H
#define CLOISTER_CLI_H

#include <stddef.h>

#include "util/opt.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_command {
    const char *verb;
    const char *summary;
    int (*run)(int argc, char **argv);
};

struct cli_system {
    const char *name;
    const char *summary;
    const struct cli_command *commands; /* terminated by {0} */
    /* One step of `cloister demo`, or NULL: prints what it shows, returns 0 on success. */
    int (*demo)(void);
};

/* Prints "cloister: <message>" on stderr and returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a section heading of the demo tour. */
void cli_demo_heading(const char *title);
/* The URL of the nats-server every step of `cloister demo` shares (started at the first call,
 * in $CLOISTER_HOME/nats; stopped when the tour ends), or NULL with *why saying why not. */
const char *cli_demo_nats(const char **why);

/* The demo steps (cmd_<system>_demo.c), named by the systems' tables. */
int cli_crypto_demo(void);
int cli_epc_demo(void);
int cli_enclave_demo(void);
int cli_scbr_demo(void);
int cli_mapreduce_demo(void);
int cli_streams_demo(void);
int cli_search_demo(void);
int cli_cyclosa_demo(void);
int cli_orch_demo(void);

#endif
