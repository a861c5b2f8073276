/* opt.h -- the one command-line option parser, shared by every cloister command.
 *
 * A command declares its options as a table; opt_parse() fills the destinations, checks types,
 * ranges and required options, and leaves the positional arguments at the front of argv. It
 * prints help for -h/--help and one clear line for any mistake, so commands never hand-roll
 * argument checks:
 *
 *     const char *store = NULL; bool json = false; long long n = 1000;
 *     const struct opt_def opts[] = {
 *         {"store", OPT_STRING, &store, "DIR", "state directory", OPT_REQUIRED},
 *         {"partition-size", OPT_INT, &n, "N", "members per partition", 0, 1, 1000000},
 *         {"json", OPT_FLAG, &json, NULL, "print JSON"},
 *         {0}};
 *     const struct opt_cmd cmd = {"ibbe setup", "", "Create the master secret", opts, 0, 0,
 *         "The enclave draws it and seals it into the store; nothing else ever sees it.",
 *         "cloister ibbe setup --store team\n"};
 *     int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
 *     if (rc != OPT_OK) return opt_exit_code(rc);
 *
 * An option given twice is an error unless it is an OPT_LIST ("the last wins" hides typos in
 * scripts). A mistyped option is answered with the nearest one, as git does. */
#ifndef CLOISTER_UTIL_OPT_H
#define CLOISTER_UTIL_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_type {
    OPT_FLAG,   /* bool *dest, set to true */
    OPT_STRING, /* const char **dest */
    OPT_INT,    /* long long *dest, checked against [min, max] when min < max */
    OPT_LIST,   /* struct opt_list *dest: a repeatable string option, every value kept */
    OPT_CHOICE, /* struct opt_choice *dest: one of a fixed list of words */
};

#define OPT_LIST_MAX 32
struct opt_list {
    const char *v[OPT_LIST_MAX];
    int n;
};

/* The words are listed in --help after the option's help, the default marked, and a value outside
 * them is a usage error naming them all. Callers map the index to their own values:
 *
 *     static const char *const pagers[] = {"auto", "uffd", "sigsegv", NULL};
 *     struct opt_choice pager = {pagers, 0};
 *     {"pager", OPT_CHOICE, &pager, "KIND", "how faults are caught", 0, 0, 0},
 *     ... kinds[pager.index] */
struct opt_choice {
    const char *const *words; /* NULL-terminated */
    int index;                /* the default (-1: none) until the option is given */
};

#define OPT_REQUIRED 1u

struct opt_def {
    const char *name; /* long name without the dashes; NULL ends the table */
    enum opt_type type;
    void *dest;
    const char *metavar; /* shown in help: --store DIR */
    const char *help;
    unsigned flags;
    long long min, max;
};

/* A table holds at most OPT_MAX options. */
#define OPT_MAX 64

struct opt_cmd {
    const char *name;    /* "crypto hpke-seal", shown in usage */
    const char *args;    /* positional arguments for usage: "IMAGE" or "" */
    const char *summary; /* one line */
    const struct opt_def *opts;
    int min_args, max_args;  /* positional argument count; max_args < 0 means any */
    const char *description; /* what it does and when to use it, after the summary in --help */
    const char *examples;    /* one command a line (ending '\n'): at least one per verb */
};

enum { OPT_OK = 0, OPT_HELP = 1, OPT_ERROR = 2 };

/* Parses argv[1..argc-1] (argv[0] is the command name). On OPT_OK the positional arguments are
 * moved to argv[0..*nargs-1]. OPT_HELP: help was printed to stdout. OPT_ERROR: one line was
 * printed to stderr. */
int opt_parse(const struct opt_cmd *cmd, int argc, char **argv, int *nargs);
void opt_usage(const struct opt_cmd *cmd, FILE *out);
/* The word of words[0..n-1] nearest to word (a typo or an unambiguous prefix of it), or NULL
 * when none is near enough to be what was meant: for "did you mean" hints. */
const char *opt_nearest(const char *word, const char *const *words, size_t n);
/* Process exit code for a non-OK parse result: 0 after help, 2 after a usage error. */
int opt_exit_code(int rc);

#endif
