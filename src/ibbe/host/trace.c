/* trace.c -- membership traces (include/cloister/ibbe_trace.h): from a git history, and replayed
 * through the enclave with the time of every operation.
 *
 * git runs through posix_spawnp with an argument vector and its output on a pipe: no shell ever
 * sees the repository path, so spaces, quotes or ';' in it are just bytes of a path. The trace
 * is built in memory (a git log of a large project is a few megabytes). */
#include <cloister/ibbe_trace.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- from git ------------------------------------------------------------------------------- */

/* One author (email) and the commits where they first and last appear. */
struct author {
    char *id;
    size_t first, last;
};

struct lines {
    char **v;
    size_t n, cap;
};

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int lines_push(struct lines *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        char **grown = realloc(l->v, cap * sizeof *grown);
        if (!grown)
            return -1;
        l->v = grown;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

/* Starts git with argv, its stdout on *out (stdin and stderr on /dev/null). */
static int spawn_git(char *const argv[], pid_t *pid, FILE **out, struct cloister_err *err)
{
    int fd[2];
    if (pipe2(fd, O_CLOEXEC) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (rc != 0) {
        close(fd[0]);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot run git: %s", strerror(rc));
    }
    if (!(*out = fdopen(fd[0], "r"))) {
        close(fd[0]);
        waitpid(*pid, NULL, 0);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    return CLOISTER_OK;
}

/* `git -C repo log --reverse --format=%ae`: one email per commit, oldest first. */
static int git_authors(const char *repo, struct lines *emails, struct cloister_err *err)
{
    char *argv[] = {"git", "-C", (char *)repo, "log", "--reverse", "--format=%ae", NULL};
    pid_t pid;
    FILE *f;
    int rc = spawn_git(argv, &pid, &f, err);
    if (rc != CLOISTER_OK)
        return rc;
    char line[1024];
    while (rc == CLOISTER_OK && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (lines_push(emails, ibbe_id_valid(line) ? line : "unknown-author") != 0)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    fclose(f);
    int status;
    bool ok = waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (rc == CLOISTER_OK && (!ok || emails->n == 0))
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND,
                           "%s: not a git repository with commits (git log failed)", repo);
    return rc;
}

static int cmp_author(const void *a, const void *b)
{
    return strcmp(((const struct author *)a)->id, ((const struct author *)b)->id);
}

/* The authors of the commits with their first and last commit: sorted by id, equal ids merged.
 * Returns the number of authors. */
static size_t authors_of(const struct lines *emails, struct author *au)
{
    size_t na = 0;
    for (size_t i = 0; i < emails->n; i++)
        au[i] = (struct author){emails->v[i], i, i};
    qsort(au, emails->n, sizeof *au, cmp_author);
    for (size_t i = 0; i < emails->n; i++) {
        if (na && strcmp(au[na - 1].id, au[i].id) == 0) {
            if (au[i].first < au[na - 1].first)
                au[na - 1].first = au[i].first;
            if (au[i].last > au[na - 1].last)
                au[na - 1].last = au[i].last;
        } else {
            au[na++] = au[i];
        }
    }
    return na;
}

/* Walks the commits: adds at a first commit, removals after a last one (authors of the latest
 * commit stay members). */
static void write_trace(FILE *mem, const char *repo, size_t commits, const struct author *au,
                        size_t na, struct ibbe_trace_stats *st)
{
    *st = (struct ibbe_trace_stats){.commits = commits, .authors = na};
    fprintf(mem, "# cloister ibbe trace v1: %zu commits of %s, %zu authors\n", commits, repo, na);
    for (size_t c = 0; c < commits; c++) {
        for (size_t i = 0; i < na; i++)
            if (au[i].first == c) {
                fprintf(mem, "add %s\n", au[i].id);
                st->adds++;
            }
        for (size_t i = 0; i < na; i++)
            if (au[i].last == c && c + 1 < commits) {
                fprintf(mem, "remove %s\n", au[i].id);
                st->removes++;
            }
    }
}

int ibbe_trace_from_git(const char *repo, char **text, size_t *len, struct ibbe_trace_stats *st,
                        struct cloister_err *err)
{
    struct lines emails = {0};
    int rc = git_authors(repo, &emails, err);
    if (rc != CLOISTER_OK) {
        lines_free(&emails);
        return rc;
    }
    struct author *au = malloc(emails.n * sizeof *au);
    FILE *mem = au ? open_memstream(text, len) : NULL;
    if (mem) {
        write_trace(mem, repo, emails.n, au, authors_of(&emails, au), st);
        if (fclose(mem) != 0)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    } else {
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    free(au);
    lines_free(&emails);
    return rc;
}

/* ---- replay --------------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_seconds(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Count, total, median and maximum of n times (sorted in place). */
static struct ibbe_replay_times summary(double *v, size_t n)
{
    struct ibbe_replay_times t = {.count = n};
    for (size_t i = 0; i < n; i++)
        t.total += v[i];
    qsort(v, n, sizeof *v, cmp_seconds);
    if (n > 0) {
        t.median = v[n / 2];
        t.max = v[n - 1];
    }
    return t;
}

/* Runs the operations of the trace, timing each into adds or removes. */
static int run(ibbe_admin *a, const char *group, char **lines, size_t count, double *adds,
               double *removes, struct ibbe_replay *r, struct cloister_err *err)
{
    size_t members = 0;
    bool created = false;
    for (size_t i = 0; i < count; i++) {
        bool add = strncmp(lines[i], "add ", 4) == 0, rm = strncmp(lines[i], "remove ", 7) == 0;
        const char *id = lines[i] + (add ? 4 : 7);
        if (!add && !rm)
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "operation %zu: expected 'add ID' or 'remove ID'", i + 1);
        if (rm && members <= 1) { /* a group keeps at least one member */
            r->skipped++;
            continue;
        }
        double s = now();
        int rc = !created ? ibbe_admin_create(a, group, &id, 1, err)
                 : add    ? ibbe_admin_add(a, group, &id, 1, err)
                          : ibbe_admin_remove(a, group, &id, 1, err);
        if (rc != CLOISTER_OK) {
            cloister_err_wrap(err, "operation %zu (%.64s)", i + 1, lines[i]);
            return rc;
        }
        created = true;
        if (add)
            adds[r->add.count++] = now() - s;
        else
            removes[r->remove.count++] = now() - s;
        members += add ? 1 : (size_t)-1;
    }
    r->members = members;
    return CLOISTER_OK;
}

int ibbe_trace_replay(ibbe_admin *a, const char *group, char *text, size_t len,
                      struct ibbe_replay *out, struct cloister_err *err)
{
    char **lines;
    size_t count;
    int rc = ibbe_members_parse(text, len, &lines, &count, err);
    if (rc != CLOISTER_OK)
        return rc;
    double *adds = calloc(count + 1, sizeof *adds), *removes = calloc(count + 1, sizeof *removes);
    struct ibbe_replay r = {0};
    double t0 = now();
    if (!adds || !removes)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    else
        rc = run(a, group, lines, count, adds, removes, &r, err);
    if (rc == CLOISTER_OK) {
        r.seconds = now() - t0;
        r.add = summary(adds, r.add.count);
        r.remove = summary(removes, r.remove.count);
        *out = r;
    }
    free(adds);
    free(removes);
    free(lines);
    return rc;
}
