/* opt.c -- see opt.h. Accepts "--name value", "--name=value" and "--" to end options; options
 * and positional arguments may be mixed. Every error names the option and what was wrong; a
 * choice's words are joined the same way in its error and in --help ("a, b or c"). */
#include "util/opt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct opt_def *find_opt(const struct opt_cmd *cmd, const char *name, size_t len)
{
    for (const struct opt_def *o = cmd->opts; o && o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return NULL;
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
            return usage_error(cmd, "unknown option '%s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        const struct opt_def *o = find_opt(cmd, name, eq ? (size_t)(eq - name) : strlen(name));
        if (!o)
            return usage_error(cmd, "unknown option '%s'", arg);
        if ((size_t)(o - cmd->opts) < sizeof seen)
            seen[o - cmd->opts] = true;
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
}

int opt_exit_code(int rc)
{
    return rc == OPT_HELP ? 0 : 2;
}
