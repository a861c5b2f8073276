/* main.c -- the `cloister` binary: `cloister <system> <verb> [options]`.
 *
 * The registry below is the only list of systems. Dispatch is two lookups (system, verb); each
 * verb parses its own options with the shared parser. `cloister demo` runs every system's demo
 * step in registry order and stops at the first failure. */
#include <cloister/version.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/fileio.h"

extern const struct cli_system cli_crypto_system;
extern const struct cli_system cli_epc_system;
extern const struct cli_system cli_enclave_system;
extern const struct cli_system cli_scbr_system;
extern const struct cli_system cli_streams_system;
extern const struct cli_system cli_ibbe_system;

static const struct cli_system *const systems[] = {
    &cli_crypto_system, &cli_epc_system,  &cli_enclave_system,
    &cli_scbr_system,   &cli_ibbe_system, &cli_streams_system,
};
#define NSYSTEMS (sizeof systems / sizeof systems[0])

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cloister: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

void cli_demo_heading(const char *title)
{
    printf("\n== %s ==\n", title);
    fflush(stdout);
}

static void print_help(FILE *out)
{
    fprintf(out, "usage: cloister <system> <verb> [options]\n\n"
                 "Distributed systems on trusted execution environments.\n\nsystems:\n");
    for (size_t i = 0; i < NSYSTEMS; i++)
        fprintf(out, "  %-12s %s\n", systems[i]->name, systems[i]->summary);
    fprintf(out, "  %-12s %s\n\n", "demo", "run the end-to-end tour of every working system");
    fprintf(out, "'cloister <system> --help' lists a system's verbs; '--help' after a verb shows "
                 "its options.\nCLOISTER_LOG=debug|info|warn|error sets the log level.\n");
}

static void print_system_help(const struct cli_system *s, FILE *out)
{
    fprintf(out, "usage: cloister %s <verb> [options]\n\n%s\n\nverbs:\n", s->name, s->summary);
    for (const struct cli_command *c = s->commands; c->verb; c++)
        fprintf(out, "  %-14s %s\n", c->verb, c->summary);
}

static int run_demo(int argc, char **argv)
{
    const struct opt_def opts[] = {{0}};
    const struct opt_cmd cmd = {"demo", "", "Run the end-to-end tour of every working system.",
                                opts,   0,  0};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    /* Every step, and anything it calls that defaults to $CLOISTER_HOME (the platform, signer
     * keys), works in one temporary home: the tour leaves no trace in the user's. */
    char home[] = "/tmp/cloister-demo-XXXXXX";
    if (!mkdtemp(home) || setenv("CLOISTER_HOME", home, 1) != 0)
        return cli_fail("cannot create a temporary CLOISTER_HOME: %s", strerror(errno));
    printf("cloister %s: a tour of every working system (in %s).\n", CLOISTER_VERSION, home);
    for (size_t i = 0; i < NSYSTEMS && rc == CLI_OK; i++)
        if (systems[i]->demo && systems[i]->demo() != 0)
            rc = cli_fail("demo step '%s' failed", systems[i]->name);
    if (file_remove_tree(home) != 0)
        rc = cli_fail("%s: cannot remove the temporary home: %s", home, strerror(errno));
    if (rc == CLI_OK)
        printf("\nAll demo steps passed.\n");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("cloister %s\n", CLOISTER_VERSION);
        return CLI_OK;
    }
    if (strcmp(argv[1], "demo") == 0)
        return run_demo(argc - 1, argv + 1);
    const struct cli_system *sys = NULL;
    for (size_t i = 0; i < NSYSTEMS; i++)
        if (strcmp(argv[1], systems[i]->name) == 0)
            sys = systems[i];
    if (!sys) {
        fprintf(stderr, "cloister: unknown system '%s' (see 'cloister --help')\n", argv[1]);
        return CLI_USAGE;
    }
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        print_system_help(sys, argc < 3 ? stderr : stdout);
        return argc < 3 ? CLI_USAGE : CLI_OK;
    }
    for (const struct cli_command *c = sys->commands; c->verb; c++)
        if (strcmp(argv[2], c->verb) == 0)
            return c->run(argc - 2, argv + 2);
    fprintf(stderr, "cloister %s: unknown verb '%s' (see 'cloister %s --help')\n", sys->name,
            argv[2], sys->name);
    return CLI_USAGE;
}
