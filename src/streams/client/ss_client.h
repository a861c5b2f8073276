/* ss_client.h -- the engine's sources: a file (or stdin for "-") read by line, or by CSV row
 * into a Lua value (lua_sandbox.h): with a header, a map of column name to field; without, an
 * array of fields. Fields are strings, as in the file. Lines are read from the descriptor into
 * a buffer of the source's own (no stdio), so that ss_source_wait can tell whether the next
 * line is there without blocking: the engine's linger on slow sources such as a pipe. */
#ifndef CLOISTER_STREAMS_CLIENT_H
#define CLOISTER_STREAMS_CLIENT_H

#include <cloister/error.h>
#include <cloister/wire.h>

#include <stdbool.h>
#include <stdio.h>

#define SS_COLUMNS_MAX 1024

struct ss_source {
    bool csv, header;
    char sep;
    int fd; /* -1: closed */
    bool eof;
    int read_errno;   /* a failed read: the source ends with this error */
    char *buf, *line; /* line: the current one, NUL-terminated, inside buf */
    size_t cap, start, end;
    uint64_t bytes_read, bytes_total; /* total: the file's size (0: a pipe or a terminal) */
    size_t ncols, nkeep;
    char *names[SS_COLUMNS_MAX];
    char *keep[SS_COLUMNS_MAX];   /* the columns chosen (csv{columns = ...}); none: all */
    size_t order[SS_COLUMNS_MAX]; /* the columns sent, by their keys' encodings (the map's order) */
    size_t norder;
    char *fields[SS_COLUMNS_MAX];
    size_t field_len[SS_COLUMNS_MAX];
};

int ss_source_open(struct ss_source *s, const char *path, struct cloister_err *err);
/* Keeps only the column `name` (and the others kept so far): before ss_source_open. */
int ss_source_keep(struct ss_source *s, const char *name, struct cloister_err *err);
/* Appends the next event's value to w: 1, or 0 at the end, or a negative code. */
int ss_source_next(struct ss_source *s, struct wire_writer *w, struct cloister_err *err);
/* 1 when the next event (or the end) is there to read, 0 when none came within timeout_ms. */
int ss_source_wait(struct ss_source *s, int timeout_ms);
void ss_source_close(struct ss_source *s);
/* Splits a CSV line in place (quotes, doubled quotes): the number of fields, at most max. */
size_t ss_csv_split(char *line, char sep, char **fields, size_t *lens, size_t max);

#endif
