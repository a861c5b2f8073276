/* ss_natsio.c -- NATS subjects and JetStream streams as a pipeline's source and sink
 * (ss_client.h, docs/streams.md section 1).
 *
 * One message is one event, a string (what a `lines` source gives for a line), and an empty
 * message ends the stream: so a pipeline that writes to nats_out("x") ends one that reads
 * nats("x") when it ends itself. A core subject delivers only what is published while the run
 * is subscribed; nothing is kept. A JetStream source reads the stream through a durable pull
 * consumer: its messages are acked once the batch that holds them has been handed to the
 * pipeline (ss_source_commit), so a run that dies before leaves them to the next run with the
 * same durable. It ends at the empty message or, unless it follows the stream, once it has
 * caught up with it. A JetStream sink publishes asynchronously and waits for the stream's acks
 * after every batch, so a batch the stream did not store fails the run. */
#include "streams/client/ss_client.h"

#include "bus/bus.h"
#include "lua/lua_sandbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NATS_ACK_PENDING 65536 /* unacked JetStream messages (the events of a batch) */
#define NATS_ACK_WAIT_MS 60000

static int need_url(const char *url, const char *what, const char *name, struct cloister_err *err)
{
    return url ? 0
               : cloister_errf(err, CLOISTER_E_INVALID,
                               "the %s %s needs a NATS server (--nats URL)", what, name);
}

int ss_source_open_nats(struct ss_source *s, const struct ss_nats_source *ns,
                        struct cloister_err *err)
{
    bool js = ns->kind == SS_SOURCE_JETSTREAM;
    struct bus_options bo = {.name = "cloister-streams-source"};
    s->kind = ns->kind;
    s->follow = ns->follow;
    s->fd = -1;
    int rc = need_url(ns->url, js ? "source jetstream" : "source nats", ns->name, err);
    if (rc == 0 && !(s->bus = bus_connect(ns->url, &bo, err)))
        return err->code ? err->code : CLOISTER_E_FAILED;
    if (rc == 0 && !js && !(s->sub = bus_subscribe(s->bus, ns->name, err)))
        rc = err->code ? err->code : CLOISTER_E_FAILED;
    struct bus_consumer_config cc = {.stream = ns->name,
                                     .durable = ns->durable,
                                     .filter = ns->filter,
                                     .ack_wait_ms = NATS_ACK_WAIT_MS,
                                     .max_ack_pending = NATS_ACK_PENDING};
    if (rc == 0 && js && !(s->cons = bus_consumer_open(s->bus, &cc, err)))
        rc = err->code ? err->code : CLOISTER_E_FAILED;
    return rc;
}

/* JetStream: fetches more when every fetched message was read; at the end of what the stream
 * holds (and not following it) the source ends. */
static int fetch(struct ss_source *s, int timeout_ms, struct cloister_err *err)
{
    s->nfetched = s->ifetched = 0;
    int rc = bus_fetch(s->cons, s->fetched, SS_NATS_FETCH, timeout_ms > 0 ? timeout_ms : 1,
                       &s->nfetched, err);
    uint64_t pending = 0, undelivered = 1;
    if (rc == 0 && s->nfetched == 0 && !s->follow)
        rc = bus_consumer_pending(s->cons, &pending, &undelivered, err);
    if (rc == 0 && s->nfetched == 0 && undelivered == 0)
        s->eof = true;
    return rc;
}

int ss_nats_wait(struct ss_source *s, int timeout_ms)
{
    struct cloister_err err = {0};
    if (s->eof || s->read_errno || s->msg || s->ifetched < s->nfetched)
        return 1;
    int rc = s->sub ? bus_sub_next(s->sub, timeout_ms, NULL, 0, &s->msg, &s->msg_len, &err)
                    : fetch(s, timeout_ms, &err);
    if (rc != 0) {
        s->nats_err = err; /* next() says so */
        s->read_errno = EIO;
    }
    return s->eof || s->read_errno || s->msg || s->ifetched < s->nfetched;
}

/* Keeps a read JetStream message for ss_source_commit. */
static int keep_read(struct ss_source *s, struct bus_msg *m, struct cloister_err *err)
{
    if (s->nread == s->read_cap) {
        size_t cap = s->read_cap ? 2 * s->read_cap : 256;
        struct bus_msg **r = realloc(s->read, cap * sizeof *r);
        if (!r) {
            bus_msg_free(m);
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
        }
        s->read = r;
        s->read_cap = cap;
    }
    s->read[s->nread++] = m;
    return 0;
}

int ss_nats_next(struct ss_source *s, struct wire_writer *w, struct cloister_err *err)
{
    while (!ss_nats_wait(s, 100))
        ;
    if (s->read_errno) {
        *err = s->nats_err;
        return s->nats_err.code ? s->nats_err.code : CLOISTER_E_FAILED;
    }
    if (s->eof)
        return 0;
    const void *data;
    size_t len;
    struct bus_msg *m = NULL;
    if (s->msg) {
        data = s->msg;
        len = s->msg_len;
    } else {
        m = s->fetched[s->ifetched++];
        data = bus_msg_data(m, &len);
    }
    s->eof = len == 0;
    if (len)
        tlua_put_str(w, data, len);
    s->bytes_read += len;
    free(s->msg);
    s->msg = NULL;
    int rc = m ? keep_read(s, m, err) : 0;
    if (rc == 0 && !wire_writer_ok(w))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    return rc != 0 ? rc : !s->eof;
}

int ss_source_commit(struct ss_source *s, struct cloister_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < s->nread; i++) {
        if (rc == 0)
            rc = bus_msg_ack(s->read[i], err);
        bus_msg_free(s->read[i]);
    }
    s->nread = 0;
    return rc;
}

void ss_nats_close(struct ss_source *s)
{
    for (size_t i = 0; i < s->nread; i++)
        bus_msg_free(s->read[i]); /* never acked: redelivered to the next run */
    for (size_t i = s->ifetched; i < s->nfetched; i++)
        bus_msg_free(s->fetched[i]);
    free(s->read);
    free(s->msg);
    bus_sub_close(s->sub);
    bus_consumer_close(s->cons);
    bus_close(s->bus);
    s->read = NULL;
    s->msg = NULL;
    s->sub = NULL;
    s->cons = NULL;
    s->bus = NULL;
    s->nread = s->read_cap = s->nfetched = s->ifetched = 0;
}

/* ---- the sink ---- */

struct ss_nats_sink {
    struct bus *b;
    bool jetstream;
    char subject[256];
};

int ss_nats_sink_open(const char *url, bool jetstream, const char *subject,
                      struct ss_nats_sink **out, struct cloister_err *err)
{
    struct bus_options bo = {.name = "cloister-streams-sink"};
    int rc = need_url(url, jetstream ? "sink jetstream_out" : "sink nats_out", subject, err);
    if (rc != 0)
        return rc;
    struct ss_nats_sink *k = calloc(1, sizeof *k);
    if (!k)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    k->jetstream = jetstream;
    snprintf(k->subject, sizeof k->subject, "%s", subject);
    if (!(k->b = bus_connect(url, &bo, err))) {
        free(k);
        return err->code ? err->code : CLOISTER_E_FAILED;
    }
    *out = k;
    return 0;
}

static int sink_send(struct ss_nats_sink *k, const void *data, size_t len, struct cloister_err *err)
{
    return k->jetstream ? bus_publish_async(k->b, k->subject, NULL, 0, data, len, NULL, err)
                        : bus_post(k->b, k->subject, data, len, err);
}

int ss_nats_sink_put(struct ss_nats_sink *k, const void *line, size_t len, struct cloister_err *err)
{
    if (len == 0)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "sink %s: an empty event cannot be sent (an empty message ends the "
                             "stream)",
                             k->subject);
    return sink_send(k, line, len, err);
}

int ss_nats_sink_flush(struct ss_nats_sink *k, struct cloister_err *err)
{
    return k->jetstream ? bus_publish_wait(k->b, NATS_ACK_WAIT_MS, err) : 0;
}

int ss_nats_sink_close(struct ss_nats_sink *k, bool ok, struct cloister_err *err)
{
    if (!k)
        return 0;
    int rc = ok ? sink_send(k, "", 0, err) : 0;
    if (rc == 0 && ok)
        rc = k->jetstream ? ss_nats_sink_flush(k, err) : bus_flush(k->b, NATS_ACK_WAIT_MS, err);
    bus_close(k->b);
    free(k);
    return rc;
}
