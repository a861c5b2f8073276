/* ss_client.h -- the engine's sources: a file (or stdin for "-") read by line, or by CSV row
 * into a Lua value (lua_sandbox.h): with a header, a map of column name to field; without, an
 * array of fields. Fields are strings, as in the file. Lines are read from the descriptor into
 * a buffer of the source's own (no stdio), so that ss_source_wait can tell whether the next
 * line is there without blocking: the engine's linger on slow sources such as a pipe. A NATS
 * subject or JetStream stream is a source of the same kind (ss_natsio.c: a message per event,
 * waited for with the same call), and a sink. */
#ifndef CLOISTER_STREAMS_CLIENT_H
#define CLOISTER_STREAMS_CLIENT_H

#include <cloister/error.h>
#include <cloister/wire.h>

#include <stdbool.h>
#include <stdio.h>

#define SS_COLUMNS_MAX 1024
#define SS_NATS_FETCH 64 /* JetStream messages fetched at once */

enum ss_source_kind { SS_SOURCE_FILE, SS_SOURCE_NATS, SS_SOURCE_JETSTREAM };

struct bus;
struct bus_sub;
struct bus_consumer;
struct bus_msg;

/* A NATS source: each message is one event (a string); an empty message ends the stream. */
struct ss_nats_source {
    enum ss_source_kind kind;
    const char *url;     /* the run's --nats */
    const char *name;    /* the core subject, or the JetStream stream */
    const char *durable; /* JetStream: the durable consumer (the next run resumes from it) */
    const char *filter;  /* JetStream: only these subjects of the stream (NULL: all) */
    bool follow;         /* JetStream: wait for new messages instead of ending once caught up */
};

struct ss_source {
    bool csv, header;
    char sep;
    /* a NATS source (ss_natsio.c): kind != SS_SOURCE_FILE, and no descriptor */
    enum ss_source_kind kind;
    bool follow;
    struct bus *bus;
    struct bus_sub *sub;
    struct bus_consumer *cons;
    uint8_t *msg; /* core NATS: the message received by ss_source_wait, not yet read */
    size_t msg_len;
    struct bus_msg *fetched[SS_NATS_FETCH]; /* JetStream: fetched, not yet read */
    size_t nfetched, ifetched;
    struct bus_msg **read; /* JetStream: read into batches, acked by ss_source_commit */
    size_t nread, read_cap;
    struct cloister_err nats_err; /* why the NATS source failed (read_errno set) */
    int fd;                       /* -1: closed */
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
/* The events read so far have been handed to the pipeline: a JetStream source acks their
 * messages (the others do nothing). */
int ss_source_commit(struct ss_source *s, struct cloister_err *err);
void ss_source_close(struct ss_source *s);

/* ss_natsio.c: a NATS source (ss_source_next, _wait and _close dispatch to it) and sink. */
int ss_source_open_nats(struct ss_source *s, const struct ss_nats_source *ns,
                        struct cloister_err *err);
int ss_nats_next(struct ss_source *s, struct wire_writer *w, struct cloister_err *err);
int ss_nats_wait(struct ss_source *s, int timeout_ms);
void ss_nats_close(struct ss_source *s);

/* A NATS sink: each event one message on subject (core NATS, or JetStream with every batch's
 * publishes acknowledged by the stream), and an empty message at the end of a run that ended
 * well. */
struct ss_nats_sink;
int ss_nats_sink_open(const char *url, bool jetstream, const char *subject,
                      struct ss_nats_sink **out, struct cloister_err *err);
int ss_nats_sink_put(struct ss_nats_sink *k, const void *line, size_t len,
                     struct cloister_err *err);
/* After each batch: a JetStream sink waits for the stream's acks. */
int ss_nats_sink_flush(struct ss_nats_sink *k, struct cloister_err *err);
/* Sends the end (when ok) and closes; NULL is fine. */
int ss_nats_sink_close(struct ss_nats_sink *k, bool ok, struct cloister_err *err);
/* Splits a CSV line in place (quotes, doubled quotes): the number of fields, at most max. */
size_t ss_csv_split(char *line, char sep, char **fields, size_t *lens, size_t max);

#endif
