/* log.c -- query logs in the AOL format: parse (a real AOL file or a generated one), write
 * atomically, split each user's history by time into training and test queries, and the
 * statistics docs/search.md compares with the AOL100's.
 *
 * AOL writes one row per click, so a query clicked twice is two rows with the same user, query
 * and time: consecutive rows equal in all three are read as one query. */
#include "search/common/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/fileio.h"

#define LOG_HEADER "AnonID\tQuery\tQueryTime\tItemRank\tClickURL\n"

void search_log_free(struct search_log *log)
{
    for (size_t i = 0; i < log->n; i++)
        free(log->q[i].text);
    free(log->q);
    memset(log, 0, sizeof *log);
}

int search_log_add(struct search_log *log, uint32_t user, int64_t time, const char *text,
                   size_t len)
{
    if (len > SEARCH_QUERY_MAX || memchr(text, '\t', len) || memchr(text, '\n', len))
        return CLOISTER_E_INVALID;
    if (log->n == log->cap) {
        size_t nc = log->cap ? log->cap * 2 : 1024;
        struct search_query *nq = realloc(log->q, nc * sizeof *nq);
        if (!nq)
            return CLOISTER_E_NO_MEMORY;
        log->q = nq;
        log->cap = nc;
    }
    char *copy = strndup(text, len);
    if (!copy)
        return CLOISTER_E_NO_MEMORY;
    log->q[log->n++] = (struct search_query){user, time, copy};
    return CLOISTER_OK;
}

static int order_cmp(const void *a, const void *b, void *arg)
{
    const struct search_query *q = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (q[i].user != q[j].user)
        return q[i].user < q[j].user ? -1 : 1;
    if (q[i].time != q[j].time)
        return q[i].time < q[j].time ? -1 : 1;
    return (i > j) - (i < j); /* stable: equal keys keep the file's order */
}

int search_log_sort(struct search_log *log)
{
    size_t n = log->n ? log->n : 1;
    size_t *order = malloc(n * sizeof *order);
    struct search_query *tmp = malloc(n * sizeof *tmp);
    if (order && tmp) {
        for (size_t i = 0; i < log->n; i++)
            order[i] = i;
        qsort_r(order, log->n, sizeof *order, order_cmp, log->q);
        for (size_t i = 0; i < log->n; i++)
            tmp[i] = log->q[order[i]];
        memcpy(log->q, tmp, log->n * sizeof *tmp);
    }
    int rc = order && tmp ? CLOISTER_OK : CLOISTER_E_NO_MEMORY;
    free(order);
    free(tmp);
    return rc;
}

/* "YYYY-MM-DD HH:MM:SS" to seconds since the epoch (UTC). */
static bool parse_time(const char *s, size_t len, int64_t *out)
{
    struct tm tm = {0};
    char buf[32];
    if (len != 19)
        return false;
    memcpy(buf, s, len);
    buf[len] = 0;
    const char *end = strptime(buf, "%Y-%m-%d %H:%M:%S", &tm);
    if (!end || *end)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

static bool parse_user(const char *s, size_t len, uint32_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Splits line into at most 5 tab-separated fields; returns the count. */
static int split_fields(const char *line, size_t len, const char **f, size_t *fl)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != '\t')
            continue;
        if (n == 5)
            return 6;
        f[n] = line + start;
        fl[n++] = i - start;
        start = i + 1;
    }
    return n;
}

static int parse_line(struct search_log *log, const char *line, size_t len, size_t lineno,
                      struct cloister_err *err)
{
    const char *f[5];
    size_t fl[5];
    int nf = split_fields(line, len, f, fl);
    uint32_t user;
    int64_t t;
    if (nf < 3 || nf > 5)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "line %zu: expected 3 to 5 tab-separated fields", lineno);
    if (!parse_user(f[0], fl[0], &user))
        return cloister_errf(err, CLOISTER_E_INVALID, "line %zu: AnonID is not a number", lineno);
    if (!parse_time(f[2], fl[2], &t))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "line %zu: QueryTime is not YYYY-MM-DD HH:MM:SS", lineno);
    if (fl[1] > SEARCH_QUERY_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "line %zu: query longer than %d bytes",
                             lineno, SEARCH_QUERY_MAX);
    if (log->n) {
        const struct search_query *p = &log->q[log->n - 1];
        if (p->user == user && p->time == t && strlen(p->text) == fl[1] &&
            memcmp(p->text, f[1], fl[1]) == 0)
            return CLOISTER_OK; /* another click on the same query */
    }
    int rc = search_log_add(log, user, t, f[1], fl[1]);
    return rc ? cloister_errf(err, rc, "line %zu: out of memory", lineno) : CLOISTER_OK;
}

int search_log_parse(const char *buf, size_t len, struct search_log *out, struct cloister_err *err)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len, l = end - pos;
        const char *line = buf + pos;
        pos = end + 1;
        lineno++;
        if (l && line[l - 1] == '\r')
            l--;
        if (l == 0 || (lineno == 1 && l >= 6 && memcmp(line, "AnonID", 6) == 0))
            continue;
        int rc = parse_line(out, line, l, lineno, err);
        if (rc) {
            search_log_free(out);
            return rc;
        }
    }
    if (search_log_sort(out) != CLOISTER_OK) {
        search_log_free(out);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory sorting the log");
    }
    return CLOISTER_OK;
}

int search_log_read(const char *path, struct search_log *out, struct cloister_err *err)
{
    uint8_t *buf;
    size_t len;
    if (file_read_all(path, SEARCH_LOG_MAX, &buf, &len) != 0)
        return cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM,
                             "%s: %s", path, strerror(errno));
    int rc = search_log_parse((const char *)buf, len, out, err);
    free(buf);
    return rc ? cloister_err_wrap(err, "%s", path) : CLOISTER_OK;
}

int search_log_write(const char *path, const struct search_log *log, struct cloister_err *err)
{
    size_t cap = sizeof LOG_HEADER, n = sizeof LOG_HEADER - 1;
    for (size_t i = 0; i < log->n; i++)
        cap += strlen(log->q[i].text) + 40;
    char *buf = malloc(cap);
    if (!buf)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "%s: out of memory", path);
    memcpy(buf, LOG_HEADER, n);
    for (size_t i = 0; i < log->n; i++) {
        const struct search_query *q = &log->q[i];
        time_t t = (time_t)q->time;
        struct tm tm;
        char when[32];
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        n += (size_t)snprintf(buf + n, cap - n, "%u\t%s\t%s\t\t\n", q->user, q->text, when);
    }
    int rc = file_write_atomic(path, buf, n, 0644);
    int why = errno;
    free(buf);
    return rc ? cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", path, strerror(why)) : CLOISTER_OK;
}

int search_log_split(const struct search_log *log, struct search_log *train,
                     struct search_log *test)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    size_t cap = log->n ? log->n : 1;
    train->q = malloc(cap * sizeof *train->q);
    test->q = malloc(cap * sizeof *test->q);
    if (!train->q || !test->q) {
        free(train->q);
        free(test->q);
        return CLOISTER_E_NO_MEMORY;
    }
    train->cap = test->cap = cap;
    for (size_t i = 0; i < log->n;) {
        size_t j = i;
        while (j < log->n && log->q[j].user == log->q[i].user)
            j++;
        size_t ntrain = (2 * (j - i) + 2) / 3;
        for (size_t x = i; x < j; x++) {
            struct search_log *part = x - i < ntrain ? train : test;
            part->q[part->n++] = log->q[x];
        }
        i = j;
    }
    return CLOISTER_OK;
}
