/* opt.c -- see opt.h. Accepts "--name value", "--name=value" and "--" to end options; options
 * and positional arguments may be mixed. Every error names the option and what was wrong; a
 * choice's words are joined the same way in its error and in --help ("a, b or c"). Suggestions
 * use the optimal-string-alignment distance (a swap of two letters counts one edit, as typos
 * go), with a bound that grows with the word so that short words are not "corrected" wildly. */
#include "util/opt.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct opt_def *find_opt(const struct opt_cmd *cmd, const char *name, size_t len)
{
    for (const struct opt_def *o = cmd->opts; o && o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

/* Edits (insert, delete, substitute, swap adjacent) from a to b; words longer than 63 bytes are
 * never near anything. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *opt_nearest(const char *word, const char *const *words, size_t n)
{
    size_t len = strlen(word), limit = len <= 4 ? 1 : len <= 9 ? 2 : 3;
    const char *best = NULL, *prefix_of = NULL;
    size_t best_d = SIZE_MAX, prefixes = 0;
    for (size_t i = 0; i < n; i++) {
        if (len >= 2 && strncmp(words[i], word, len) == 0 && words[i][len]) {
            prefix_of = words[i];
            prefixes++;
        }
        size_t d = edit_distance(word, words[i]);
        if (d < best_d) {
            best_d = d;
            best = words[i];
        }
    }
    if (prefixes == 1)
        return prefix_of;
    return best_d > 0 && best_d <= limit ? best : NULL;
}

static int usage_error(const struct opt_cmd *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "cloister %s: ", cmd->name);
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (see 'cloister %s --help')\n", cmd->name);
    return OPT_ERROR;
}

/* "a, b or c" into out; the word at index mark (if any) gets " (default)". */
static void join_words(const struct opt_choice *c, int mark, char *out, size_t cap)
{
    size_t n = 0, used = 0;
    while (c->words[n])
        n++;
    out[0] = 0;
    for (size_t i = 0; i < n && used < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        used += (size_t)snprintf(out + used, cap - used, "%s%s%s", sep, c->words[i],
                                 (int)i == mark ? " (default)" : "");
    }
}

/* "unknown option '--stroe=x'; did you mean '--store'?" */
static int unknown_option(const struct opt_cmd *cmd, const char *arg)
{
    const char *names[OPT_MAX + 1];
    size_t n = 0;
    for (const struct opt_def *o = cmd->opts; o && o->name && n < OPT_MAX; o++)
        names[n++] = o->name;
    names[n++] = "help";
    char word[64]; /* the name as typed, without its dashes and any "=value" */
    const char *typed = arg + strspn(arg, "-");
    snprintf(word, sizeof word, "%.*s", (int)strcspn(typed, "="), typed);
    const char *near = opt_nearest(word, names, n);
    fprintf(stderr, "cloister %s: unknown option '%s'", cmd->name, arg);
    if (near)
        fprintf(stderr, "; did you mean '--%s'?", near);
    fprintf(stderr, " (see 'cloister %s --help')\n", cmd->name);
    return OPT_ERROR;
}

static int set_choice(const struct opt_cmd *cmd, const struct opt_def *o, const char *value)
{
    struct opt_choice *c = o->dest;
    for (int i = 0; c->words[i]; i++) {
        if (strcmp(value, c->words[i]) == 0) {
            c->index = i;
            return OPT_OK;
        }
    }
    char words[256];
    join_words(c, -1, words, sizeof words);
    fprintf(stderr, "cloister %s: --%s must be %s, got '%s'\n", cmd->name, o->name, words, value);
    return OPT_ERROR;
}

static int set_value(const struct opt_cmd *cmd, const struct opt_def *o, const char *value)
{
    if (o->type == OPT_CHOICE)
        return set_choice(cmd, o, value);
    if (o->type == OPT_STRING) {
        *(const char **)o->dest = value;
        return OPT_OK;
    }
    if (o->type == OPT_LIST) {
        struct opt_list *l = o->dest;
        if (l->n == OPT_LIST_MAX) {
            fprintf(stderr, "cloister %s: --%s given more than %d times\n", cmd->name, o->name,
                    OPT_LIST_MAX);
            return OPT_ERROR;
        }
        l->v[l->n++] = value;
        return OPT_OK;
    }
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10); /* "010" is ten, as a person means it */
    if (errno || end == value || *end) {
        fprintf(stderr, "cloister %s: --%s expects an integer, got '%s'\n", cmd->name, o->name,
                value);
        return OPT_ERROR;
    }
    if (o->min < o->max && (v < o->min || v > o->max)) {
        fprintf(stderr, "cloister %s: --%s must be between %lld and %lld, got %lld\n", cmd->name,
                o->name, o->min, o->max, v);
        return OPT_ERROR;
    }
    *(long long *)o->dest = v;
    return OPT_OK;
}

int opt_parse(const struct opt_cmd *cmd, int argc, char **argv, int *nargs)
{
    bool seen[OPT_MAX] = {false};
    int npos = 0;
    bool only_positional = false;

    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (only_positional || arg[0] != '-' || strcmp(arg, "-") == 0) {
            argv[npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            opt_usage(cmd, stdout);
            return OPT_HELP;
        }
        if (arg[1] != '-')
            return unknown_option(cmd, arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        const struct opt_def *o = find_opt(cmd, name, eq ? (size_t)(eq - name) : strlen(name));
        if (!o)
            return unknown_option(cmd, arg);
        if ((size_t)(o - cmd->opts) < sizeof seen) {
            if (seen[o - cmd->opts] && o->type != OPT_LIST)
                return usage_error(cmd, "--%s given twice", o->name);
            seen[o - cmd->opts] = true;
        }
        if (o->type == OPT_FLAG) {
            if (eq)
                return usage_error(cmd, "option '--%s' takes no value", o->name);
            *(bool *)o->dest = true;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value)
            return usage_error(cmd, "option '--%s' needs a value", o->name);
        if (set_value(cmd, o, value) != OPT_OK)
            return OPT_ERROR;
    }
    for (const struct opt_def *o = cmd->opts; o && o->name; o++)
        if ((o->flags & OPT_REQUIRED) && !seen[o - cmd->opts])
            return usage_error(cmd, "missing required option '--%s'", o->name);
    if (npos < cmd->min_args)
        return usage_error(cmd, "missing argument: expected %s", cmd->args);
    if (cmd->max_args >= 0 && npos > cmd->max_args)
        return usage_error(cmd, "unexpected argument '%s'", argv[cmd->max_args]);
    *nargs = npos;
    return OPT_OK;
}

void opt_usage(const struct opt_cmd *cmd, FILE *out)
{
    fprintf(out, "usage: cloister %s [options]%s%s\n\n%s\n", cmd->name,
            cmd->args && *cmd->args ? " " : "", cmd->args ? cmd->args : "", cmd->summary);
    if (cmd->description)
        fprintf(out, "\n%s\n", cmd->description);
    fprintf(out, "\noptions:\n");
    for (const struct opt_def *o = cmd->opts; o && o->name; o++) {
        char left[64], words[256] = "";
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        if (o->type == OPT_CHOICE) {
            const struct opt_choice *c = o->dest;
            join_words(c, c->index, words, sizeof words);
        }
        fprintf(out, "  %-26s %s%s%s%s%s\n", left, o->help, words[0] ? ": " : "", words,
                (o->flags & OPT_REQUIRED) ? " (required)" : "",
                o->type == OPT_LIST ? " (repeatable)" : "");
    }
    fprintf(out, "  %-26s %s\n", "-h, --help", "show this help");
    if (!cmd->examples)
        return;
    fprintf(out, "\nexamples:\n");
    for (const char *line = cmd->examples; *line;) {
        size_t len = strcspn(line, "\n");
        fprintf(out, "  %.*s\n", (int)len, line);
        line += len + (line[len] == '\n');
    }
}

int opt_exit_code(int rc)
{
    return rc == OPT_HELP ? 0 : 2;
}
