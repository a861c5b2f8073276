/* mr_input.c -- input splits and records. A split is a byte range of one file cut at line ends,
 * so a split is read alone (by the scheduler, just before it seals it) and lines are never
 * shared. Records: text, key = the file's name and value = the line; CSV, value = the array of
 * the line's fields (RFC 4180 quoting within a line); JSON Lines, value = the line, decoded by
 * the worker before map sees it. Line ends (\n, \r\n) are not part of the value. */
#include "mapreduce/client/mr_client.h"

#include "lua/lua_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPLITS_MAX (1u << 24)

static uint8_t format_of(const char *path, enum mr_input_format f)
{
    if (f == MR_FORMAT_CSV)
        return MR_INPUT_CSV;
    if (f == MR_FORMAT_JSONL)
        return MR_INPUT_JSONL;
    if (f == MR_FORMAT_TEXT)
        return MR_INPUT_TEXT;
    const char *dot = strrchr(path, '.');
    if (dot && strcmp(dot, ".csv") == 0)
        return MR_INPUT_CSV;
    if (dot && (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0))
        return MR_INPUT_JSONL;
    return MR_INPUT_TEXT;
}

/* The offset just past the first '\n' at or after off (size if none). */
static int line_end(int fd, uint64_t off, uint64_t size, uint64_t *end)
{
    char buf[4096];
    while (off < size) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)off);
        if (n <= 0)
            return -1;
        char *nl = memchr(buf, '\n', (size_t)n);
        if (nl) {
            *end = off + (uint64_t)(nl - buf) + 1;
            return 0;
        }
        off += (uint64_t)n;
    }
    *end = size;
    return 0;
}

static int plan_file(const char *path, uint32_t file, uint8_t format, size_t split_bytes,
                     struct mr_split **out, size_t *n, size_t *cap, uint64_t *total,
                     struct cloister_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EINVAL;
        if (fd >= 0)
            close(fd);
        return cloister_errf(err, CLOISTER_E_INVALID, "input %s: %s", path,
                             e == EINVAL ? "not a regular file" : strerror(e));
    }
    uint64_t size = (uint64_t)st.st_size, off = 0;
    int rc = 0;
    while (rc == 0 && off < size) {
        uint64_t end = size;
        if (size - off > split_bytes && line_end(fd, off + split_bytes - 1, size, &end) != 0)
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "input %s: read error", path);
        if (rc == 0 && *n == *cap) {
            size_t c = *cap ? 2 * *cap : 64;
            struct mr_split *p = c <= SPLITS_MAX ? realloc(*out, c * sizeof *p) : NULL;
            if (!p)
                rc = cloister_errf(err, CLOISTER_E_TOO_BIG, "too many splits");
            else {
                *out = p;
                *cap = c;
            }
        }
        if (rc == 0)
            (*out)[(*n)++] = (struct mr_split){file, format, off, end - off};
        off = end;
    }
    *total += size;
    close(fd);
    return rc;
}

int mr_splits_plan(const char *const *paths, size_t n, enum mr_input_format format,
                   size_t split_bytes, struct mr_split **out, size_t *nsplits, uint64_t *total,
                   struct cloister_err *err)
{
    size_t cap = 0;
    *out = NULL;
    *nsplits = 0;
    *total = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = plan_file(paths[i], (uint32_t)i, format_of(paths[i], format), split_bytes, out,
                       nsplits, &cap, total, err);
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* The fields of one CSV line as an array value. */
static void put_csv(struct wire_writer *w, const char *s, size_t len)
{
    struct wire_writer fields, f;
    wire_writer_init(&fields);
    wire_writer_init(&f);
    size_t n = 0, i = 0;
    for (;;) {
        f.len = 0;
        if (i < len && s[i] == '"') {
            for (i++; i < len; i++) {
                if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
                    wire_put_u8(&f, s[i++]);
                else if (s[i] == '"')
                    break;
                else
                    wire_put_u8(&f, (uint8_t)s[i]);
            }
            for (i++; i < len && s[i] != ','; i++)
                ; /* characters after a closing quote are dropped */
        } else {
            size_t start = i;
            while (i < len && s[i] != ',')
                i++;
            wire_put_raw(&f, s + start, i - start);
        }
        tlua_put_str(&fields, f.buf, f.len);
        n++;
        if (i >= len)
            break;
        i++; /* the comma */
    }
    tlua_put_array(w, n);
    wire_put_raw(w, fields.buf, fields.len);
    wire_writer_free(&fields);
    wire_writer_free(&f);
}

int mr_split_read(const char *path, const struct mr_split *s, size_t max, struct wire_writer *w,
                  uint64_t *nrecords, struct cloister_err *err)
{
    char *buf = malloc(s->len ? s->len : 1);
    int fd = buf ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    size_t got = 0;
    while (fd >= 0 && got < s->len) {
        ssize_t n = pread(fd, buf + got, s->len - got, (off_t)(s->off + got));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (fd >= 0)
        close(fd);
    if (got != s->len) {
        free(buf);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "input %s: cannot read a split", path);
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t baselen = strlen(base);
    *nrecords = 0;
    for (size_t i = 0; i < s->len && (max == 0 || *nrecords < max);) {
        const char *line = buf + i, *nl = memchr(line, '\n', s->len - i);
        size_t len = nl ? (size_t)(nl - line) : s->len - i;
        i += len + (nl != NULL);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (s->format == MR_INPUT_JSONL && len == 0)
            continue;
        tlua_put_str(w, base, baselen);
        if (s->format == MR_INPUT_CSV)
            put_csv(w, line, len);
        else
            tlua_put_str(w, line, len);
        (*nrecords)++;
    }
    free(buf);
    return wire_writer_ok(w) ? 0
                             : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a split");
}
