/* main.c -- the `cloister` binary: `cloister <system> <verb> [options]`.
 *
 * The registry below is the only list of systems. Dispatch is two lookups (system, verb); each
 * verb parses its own options with the shared parser. `cloister demo` runs every system's demo
 * step in registry order and stops at the first failure. A mistyped system or verb is answered
 * with the nearest name (opt_nearest), and CLOISTER_LOG is checked before anything runs, so a
 * misspelt level is an error rather than silently "warn". */
#include <cloister/version.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "cli/cli.h"
#include "cli/cmd_study.h"
#include "util/fileio.h"
#include "util/log.h"

extern const struct cli_system cli_crypto_system;
extern const struct cli_system cli_epc_system;
extern const struct cli_system cli_enclave_system;
extern const struct cli_system cli_scbr_system;
extern const struct cli_system cli_streams_system;
extern const struct cli_system cli_asky_system;
extern const struct cli_system cli_ibbe_system;
extern const struct cli_system cli_mapreduce_system;
extern const struct cli_system cli_search_system;
extern const struct cli_system cli_cyclosa_system;
extern const struct cli_system cli_orch_system;
extern const struct cli_system cli_xsearch_system;
extern const struct cli_system cli_study_system;

static const struct cli_system *const systems[] = {
    &cli_crypto_system, &cli_epc_system,       &cli_enclave_system, &cli_scbr_system,
    &cli_ibbe_system,   &cli_mapreduce_system, &cli_streams_system, &cli_asky_system,
    &cli_search_system, &cli_xsearch_system,   &cli_cyclosa_system, &cli_orch_system,
    &cli_study_system,
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

static struct bus_server *demo_nats;
static char demo_nats_why[256];

const char *cli_demo_nats(const char **why)
{
    if (!demo_nats && !demo_nats_why[0]) {
        char dir[4200];
        const char *home = getenv("CLOISTER_HOME");
        struct cloister_err err = {0};
        snprintf(dir, sizeof dir, "%s/nats", home ? home : ".");
        if (file_mkdirs(dir, 0700) != 0 || !(demo_nats = bus_server_start(dir, &err)))
            snprintf(demo_nats_why, sizeof demo_nats_why, "%s",
                     err.msg[0] ? err.msg : "cannot create the nats-server's directory");
    }
    *why = demo_nats_why;
    return demo_nats ? bus_server_url(demo_nats) : NULL;
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
    fprintf(out, "  %-12s %s\n", "demo", "run the end-to-end tour of every working system");
    fprintf(out, "  %-12s %s\n\n", "reproduce",
            "regenerate the thesis's figures: one HTML report, ours beside the paper's");
    fprintf(out, "'cloister <system> --help' lists a system's verbs; '--help' after a verb shows "
                 "its options\nand examples.\n\n"
                 "environment:\n"
                 "  CLOISTER_HOME  per-user state: the simulated platform (its CA key), enclave "
                 "signer keys,\n"
                 "                 default key directories; default ~/.local/share/cloister. "
                 "Set it to a\n"
                 "                 scratch directory to try things without touching your own.\n"
                 "  CLOISTER_LOG   log level on stderr: debug, info, warn (default), error or "
                 "off; info\n"
                 "                 says what daemons do, debug adds each request.\n"
                 "  CLOISTER_TEE   the enclave backend when --tee is not given: proc (default) "
                 "or sim.\n"
                 "  CLOISTER_ENCLAVE_DIR  where enclave images are looked up by name first.\n");
}

/* "unknown verb 'subscibe'; did you mean 'subscribe'?" */
static void unknown_word(const char *where, const char *what, const char *word,
                         const char *const *names, size_t n)
{
    const char *near = opt_nearest(word, names, n);
    fprintf(stderr, "cloister%s%s: unknown %s '%s'", *where ? " " : "", where, what, word);
    if (near)
        fprintf(stderr, "; did you mean '%s'?", near);
    fprintf(stderr, " (see 'cloister%s%s --help')\n", *where ? " " : "", where);
}

/* 0 when CLOISTER_LOG is unset, empty or a level; else says which levels exist. */
static int check_log_env(void)
{
    const char *env = getenv("CLOISTER_LOG");
    if (!env || !*env || clog_level_from_name(env) >= 0)
        return 0;
    fprintf(stderr, "cloister: CLOISTER_LOG must be debug, info, warn, error or off, got '%s'\n",
            env);
    return -1;
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
    const struct opt_cmd cmd = {
        "demo",
        "",
        "Run the end-to-end tour of every working system.",
        opts,
        0,
        0,
        "Each system shows its main path in a temporary CLOISTER_HOME that is removed at the "
        "end:\nnothing is left in your own home. Exits 1 at the first step that fails.",
        "cloister demo\nCLOISTER_LOG=info cloister demo\n"};
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
    bus_server_stop(demo_nats);
    demo_nats = NULL;
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
    if (check_log_env() != 0)
        return CLI_USAGE;
    if (strcmp(argv[1], "demo") == 0)
        return run_demo(argc - 1, argv + 1);
    if (strcmp(argv[1], "reproduce") == 0)
        return cli_reproduce(argc - 1, argv + 1);
    const struct cli_system *sys = NULL;
    const char *names[NSYSTEMS + 2];
    for (size_t i = 0; i < NSYSTEMS; i++) {
        names[i] = systems[i]->name;
        if (strcmp(argv[1], systems[i]->name) == 0)
            sys = systems[i];
    }
    names[NSYSTEMS] = "demo";
    names[NSYSTEMS + 1] = "reproduce";
    if (!sys) {
        unknown_word("", "system", argv[1], names, NSYSTEMS + 2);
        return CLI_USAGE;
    }
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        print_system_help(sys, argc < 3 ? stderr : stdout);
        return argc < 3 ? CLI_USAGE : CLI_OK;
    }
    const char *verbs[64];
    size_t nverbs = 0;
    for (const struct cli_command *c = sys->commands; c->verb; c++) {
        if (strcmp(argv[2], c->verb) == 0)
            return c->run(argc - 2, argv + 2);
        if (nverbs < sizeof verbs / sizeof verbs[0])
            verbs[nverbs++] = c->verb;
    }
    unknown_word(sys->name, "verb", argv[2], verbs, nverbs);
    return CLI_USAGE;
}
