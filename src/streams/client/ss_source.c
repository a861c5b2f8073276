/* ss_source.c -- the engine's file and stdin sources (ss_client.h). A CSV record is one line
 * (quoted fields may hold the separator and doubled quotes, not newlines). */
#include "streams/client/ss_client.h"

#include "lua/lua_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SOURCE_READ (64 << 10)     /* bytes per read() */
#define SOURCE_LINE_MAX (64 << 20) /* a longer line fails the source */

size_t ss_csv_split(char *line, char sep, char **fields, size_t *lens, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            while (*p) {
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p && *p != sep)
                p++;
        } else {
            while (*p && *p != sep)
                p++;
            w = p;
        }
        if (n < max) {
            fields[n] = start;
            lens[n] = (size_t)(w - start);
            n++;
        }
        if (*p != sep)
            return n;
        p++;
    }
}

/* Room for SOURCE_READ more bytes and a NUL after the unread part of the buffer. */
static int make_room(struct ss_source *s)
{
    if (s->start > 0) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    if (s->end + SOURCE_READ + 1 <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 2 * SOURCE_READ;
    while (cap < s->end + SOURCE_READ + 1)
        cap *= 2;
    char *b = cap <= SOURCE_LINE_MAX ? realloc(s->buf, cap) : NULL;
    if (!b)
        return -1;
    s->buf = b;
    s->cap = cap;
    return 0;
}

/* Reads one line without its end of line into s->line: its length, or -1 at the end (or on a
 * failed read, then in s->read_errno). */
static ssize_t read_line(struct ss_source *s)
{
    for (;;) {
        char *p = s->buf + s->start, *nl = memchr(p, '\n', s->end - s->start);
        if (nl || (s->eof && s->end > s->start)) {
            char *stop = nl ? nl : s->buf + s->end; /* make_room left a byte for the NUL */
            s->start = (size_t)(stop - s->buf) + (nl != NULL);
            while (stop > p && stop[-1] == '\r')
                stop--;
            *stop = '\0';
            s->line = p;
            return stop - p;
        }
        if (s->eof)
            return -1;
        if (make_room(s) != 0) {
            s->read_errno = ENOMEM;
            return -1;
        }
        ssize_t n = read(s->fd, s->buf + s->end, s->cap - 1 - s->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            s->read_errno = errno;
        if (n <= 0)
            s->eof = true;
        else
            s->end += (size_t)n;
        s->bytes_read += n > 0 ? (uint64_t)n : 0;
    }
}

int ss_source_wait(struct ss_source *s, int timeout_ms)
{
    if (s->kind != SS_SOURCE_FILE)
        return ss_nats_wait(s, timeout_ms);
    if (s->eof || memchr(s->buf + s->start, '\n', s->end - s->start))
        return 1;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return n != 0; /* an error: let read() say what it is */
}

static int cmp_names(const void *a, const void *b, void *arg)
{
    char **names = arg;
    const char *x = names[*(const size_t *)a], *y = names[*(const size_t *)b];
    size_t lx = strlen(x), ly = strlen(y);
    /* a string key encodes as tag, varint length, bytes: shorter first (lengths < 128) */
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return memcmp(x, y, lx);
}

/* Narrows order to the kept columns, each of which the header must have. */
static int keep_columns(struct ss_source *s, struct cloister_err *err)
{
    for (size_t k = 0; k < s->nkeep; k++) {
        size_t i = 0;
        while (i < s->ncols && strcmp(s->names[i], s->keep[k]) != 0)
            i++;
        if (i == s->ncols)
            return cloister_errf(err, CLOISTER_E_NOT_FOUND, "CSV header: no column '%s'",
                                 s->keep[k]);
    }
    size_t n = 0;
    for (size_t i = 0; i < s->norder; i++)
        for (size_t k = 0; k < s->nkeep; k++)
            if (strcmp(s->names[s->order[i]], s->keep[k]) == 0) {
                s->order[n++] = s->order[i];
                break;
            }
    s->norder = n;
    return 0;
}

int ss_source_keep(struct ss_source *s, const char *name, struct cloister_err *err)
{
    if (s->nkeep == SS_COLUMNS_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "too many columns");
    if (!(s->keep[s->nkeep] = strdup(name)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    s->nkeep++;
    return 0;
}

static int read_header(struct ss_source *s, struct cloister_err *err)
{
    if (read_line(s) < 0)
        return 0; /* an empty file: no events */
    char *f[SS_COLUMNS_MAX];
    size_t l[SS_COLUMNS_MAX];
    s->ncols = ss_csv_split(s->line, s->sep, f, l, SS_COLUMNS_MAX);
    for (size_t i = 0; i < s->ncols; i++) {
        if (l[i] == 0 || l[i] > 127)
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "CSV header: column %zu has an empty or too long name", i + 1);
        if (!(s->names[i] = strndup(f[i], l[i])))
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
        s->order[i] = i;
    }
    qsort_r(s->order, s->ncols, sizeof *s->order, cmp_names, s->names);
    for (size_t i = 1; i < s->ncols; i++)
        if (strcmp(s->names[s->order[i]], s->names[s->order[i - 1]]) == 0)
            return cloister_errf(err, CLOISTER_E_INVALID, "CSV header: column '%s' twice",
                                 s->names[s->order[i]]);
    s->norder = s->ncols;
    return s->nkeep ? keep_columns(s, err) : 0;
}

static int read_failed(struct ss_source *s, struct cloister_err *err)
{
    return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot read the source: %s",
                         strerror(s->read_errno));
}

int ss_source_open(struct ss_source *s, const char *path, struct cloister_err *err)
{
    s->fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (s->fd < 0 || make_room(s) != 0)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "cannot read the source %s: %s", path,
                             strerror(s->fd < 0 ? errno : ENOMEM));
    s->bytes_total = fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    int rc = s->csv && s->header ? read_header(s, err) : 0;
    return rc == 0 && s->read_errno ? read_failed(s, err) : rc;
}

int ss_source_next(struct ss_source *s, struct wire_writer *w, struct cloister_err *err)
{
    if (s->kind != SS_SOURCE_FILE)
        return ss_nats_next(s, w, err);
    ssize_t n = read_line(s);
    if (n < 0)
        return s->read_errno ? read_failed(s, err) : 0;
    if (!s->csv) {
        tlua_put_str(w, s->line, (size_t)n);
        return 1;
    }
    size_t nf = ss_csv_split(s->line, s->sep, s->fields, s->field_len, SS_COLUMNS_MAX);
    if (!s->header || s->ncols == 0) {
        tlua_put_array(w, nf);
        for (size_t i = 0; i < nf; i++)
            tlua_put_str(w, s->fields[i], s->field_len[i]);
        return 1;
    }
    wire_put_u8(w, 0x07); /* a map: keys in the order of their encodings */
    wire_put_varint(w, s->norder);
    for (size_t i = 0; i < s->norder; i++) {
        size_t c = s->order[i];
        tlua_put_str(w, s->names[c], strlen(s->names[c]));
        tlua_put_str(w, c < nf ? s->fields[c] : "", c < nf ? s->field_len[c] : 0);
    }
    return wire_writer_ok(w) ? 1 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
}

void ss_source_close(struct ss_source *s)
{
    ss_nats_close(s);
    if (s->fd > STDIN_FILENO)
        close(s->fd);
    s->fd = -1;
    free(s->buf);
    s->buf = s->line = NULL;
    s->cap = s->start = s->end = 0;
    for (size_t i = 0; i < s->ncols; i++)
        free(s->names[i]);
    for (size_t i = 0; i < s->nkeep; i++)
        free(s->keep[i]);
    s->ncols = s->nkeep = s->norder = 0;
}
