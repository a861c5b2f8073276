/* stream.c -- JetStream streams and publishing.
 *
 * Every stream is bounded in bytes and in message size: the bus is a queue between machines and
 * a queue without a byte bound is how a slow consumer takes a server down. A full stream refuses
 * new messages (back-pressure the publisher sees as CLOISTER_E_TOO_BIG) unless the caller chose
 * to drop the oldest. De-duplication is the server's: a publish carries its id in the
 * Nats-Msg-Id header, and a re-publish of a task after a timeout or a crash is acknowledged as a
 * duplicate instead of queued twice. */
#include "bus/bus_impl.h"

#include <stdlib.h>
#include <string.h>

#define BUS_DEFAULT_DEDUP_MS 120000

bool bus_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= 64 &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

static int check_config(const struct bus_stream_config *c, struct cloister_err *err)
{
    if (!bus_valid_name(c->name))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "stream name: 1 to 64 of A-Z a-z 0-9 - _ expected");
    if (!c->subject || !*c->subject || strpbrk(c->subject, " \t\r\n"))
        return cloister_errf(err, CLOISTER_E_INVALID, "stream %s: no subject, or a blank in it",
                             c->name);
    if (c->max_bytes <= 0 || c->max_msg_size <= 0 || c->max_msg_size > c->max_bytes)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "stream %s: max_bytes and max_msg_size (at most max_bytes) are "
                             "required: every queue is bounded in bytes",
                             c->name);
    if (c->dedup_window_ms < 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "stream %s: negative dedup window", c->name);
    return CLOISTER_OK;
}

int bus_stream_ensure(struct bus *b, const struct bus_stream_config *c, struct cloister_err *err)
{
    int rc = check_config(c, err);
    if (rc != CLOISTER_OK)
        return rc;
    const char *subjects[1] = {c->subject};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = c->name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = c->retention == BUS_WORK_QUEUE ? js_WorkQueuePolicy : js_LimitsPolicy;
    sc.Discard = c->discard == BUS_DROP_OLD ? js_DiscardOld : js_DiscardNew;
    sc.MaxBytes = c->max_bytes;
    sc.MaxMsgSize = c->max_msg_size;
    sc.Duplicates = (c->dedup_window_ms ? c->dedup_window_ms : BUS_DEFAULT_DEDUP_MS) * 1000000;
    sc.Storage = c->memory ? js_MemoryStorage : js_FileStorage;
    sc.AllowDirect = true; /* bus_stream_get_last: the raw message, not base64 in JSON */
    jsErrCode jerr = 0;
    natsStatus s = js_AddStream(NULL, b->js, &sc, NULL, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) {
        jerr = 0;
        s = js_UpdateStream(NULL, b->js, &sc, NULL, &jerr);
        if (s != NATS_OK && jerr != JSStreamNotFoundErr)
            return bus_fail(b, err, s, JSStreamNameExistErr,
                            "stream %s exists with a configuration that cannot change to this",
                            c->name);
    }
    return s == NATS_OK ? CLOISTER_OK : bus_fail(b, err, s, jerr, "stream %s", c->name);
}

int bus_stream_delete(struct bus *b, const char *name, struct cloister_err *err)
{
    if (!bus_valid_name(name))
        return cloister_errf(err, CLOISTER_E_INVALID, "stream name: 1 to 64 of A-Z a-z 0-9 - _");
    jsErrCode jerr = 0;
    natsStatus s = js_DeleteStream(b->js, name, NULL, &jerr);
    return s == NATS_OK ? CLOISTER_OK : bus_fail(b, err, s, jerr, "delete stream %s", name);
}

int bus_stream_stats(struct bus *b, const char *name, struct bus_stream_stats *out,
                     struct cloister_err *err)
{
    if (!bus_valid_name(name))
        return cloister_errf(err, CLOISTER_E_INVALID, "stream name: 1 to 64 of A-Z a-z 0-9 - _");
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, name, NULL, &jerr);
    if (s != NATS_OK)
        return bus_fail(b, err, s, jerr, "stream %s", name);
    out->msgs = si->State.Msgs;
    out->bytes = si->State.Bytes;
    jsStreamInfo_Destroy(si);
    return CLOISTER_OK;
}

/* ---- Publishing ---- */

/* A header the wire format can carry: a name of printable characters without ':', a value without
 * CR or LF (either would let a caller's id inject headers of its own). */
static bool header_ok(const char *name, const char *value)
{
    if (!name || !*name || !value || strpbrk(value, "\r\n"))
        return false;
    for (const char *p = name; *p; p++)
        if (*p <= ' ' || *p >= 127 || *p == ':')
            return false;
    return true;
}

/* The message for subject with the headers, id and data (copied), and publish options that wait
 * for its ack up to the connection's timeout. */
static int prepare(struct bus *b, natsMsg **out, jsPubOptions *po, const char *subject,
                   const struct bus_header *hdrs, size_t nhdrs, const void *data, size_t len,
                   const char *msg_id, struct cloister_err *err)
{
    jsPubOptions_Init(po);
    po->MaxWait = b->timeout_ms;
    *out = NULL;
    if (!subject || !*subject || strpbrk(subject, " \t\r\n*>"))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "publish: no subject, or a blank or wildcard in it");
    for (size_t i = 0; i < nhdrs; i++)
        if (!header_ok(hdrs[i].name, hdrs[i].value))
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "publish to %s: header %zu: a name of printable characters "
                                 "without ':' and a value without line breaks expected",
                                 subject, i);
    if (msg_id && !header_ok("Nats-Msg-Id", msg_id))
        return cloister_errf(err, CLOISTER_E_INVALID, "publish to %s: a line break in the id",
                             subject);
    if (len > (size_t)INT32_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "publish to %s: %zu bytes", subject, len);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, data, (int)len);
    for (size_t i = 0; s == NATS_OK && i < nhdrs; i++)
        s = natsMsgHeader_Add(m, hdrs[i].name, hdrs[i].value);
    if (s == NATS_OK && msg_id)
        s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id);
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        return bus_fail(b, err, s, 0, "publish to %s: message", subject);
    }
    *out = m;
    return CLOISTER_OK;
}

int bus_publish(struct bus *b, const char *subject, const struct bus_header *hdrs, size_t nhdrs,
                const void *data, size_t len, const char *msg_id, struct bus_pub_ack *ack,
                struct cloister_err *err)
{
    natsMsg *m;
    jsPubOptions po;
    int rc = prepare(b, &m, &po, subject, hdrs, nhdrs, data, len, msg_id, err);
    if (rc != CLOISTER_OK)
        return rc;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_PublishMsg(&pa, b->js, m, &po, &jerr);
    natsMsg_Destroy(m);
    if (s != NATS_OK)
        return bus_fail(b, err, s, jerr, "publish to %s", subject);
    if (ack) {
        ack->seq = pa->Sequence;
        ack->duplicate = pa->Duplicate;
    }
    jsPubAck_Destroy(pa);
    return CLOISTER_OK;
}

int bus_publish_async(struct bus *b, const char *subject, const struct bus_header *hdrs,
                      size_t nhdrs, const void *data, size_t len, const char *msg_id,
                      struct cloister_err *err)
{
    natsMsg *m;
    jsPubOptions po; /* MaxWait per message: a lost ack fails it instead of hanging */
    int rc = prepare(b, &m, &po, subject, hdrs, nhdrs, data, len, msg_id, err);
    if (rc != CLOISTER_OK)
        return rc;
    natsStatus s = js_PublishMsgAsync(b->js, &m, &po);
    natsMsg_Destroy(m); /* NULL once the library owns it */
    return s == NATS_OK ? CLOISTER_OK : bus_fail(b, err, s, 0, "publish to %s", subject);
}

/* Abandons the publishes still waiting for their ack; returns how many. */
static int drop_pending(struct bus *b)
{
    natsMsgList pending = {0};
    if (js_PublishAsyncGetPendingList(&pending, b->js) != NATS_OK)
        return 0;
    int n = pending.Count;
    natsMsgList_Destroy(&pending);
    return n;
}

int bus_publish_wait(struct bus *b, int64_t timeout_ms, struct cloister_err *err)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms;
    natsStatus s = js_PublishAsyncComplete(b->js, &po);
    if (s != NATS_OK) {
        int lost = drop_pending(b);
        return bus_fail(b, err, s, 0, "%d async publishes to %s not acknowledged", lost, b->server);
    }
    pthread_mutex_lock(&b->lock);
    uint64_t failed = b->async_failed;
    struct cloister_err first = b->async_first;
    b->async_failed = 0;
    cloister_err_clear(&b->async_first);
    pthread_mutex_unlock(&b->lock);
    if (failed == 0)
        return CLOISTER_OK;
    return cloister_errf(err, first.code, "%llu async publishes failed; the first: %s",
                         (unsigned long long)failed, first.msg);
}

/* The last message on subject: a direct get (the server answers with the message itself) when
 * the stream allows it, else the stream API, which sends it base64-encoded inside JSON, several
 * times slower for large messages: a stream made before direct gets were enabled has no
 * responder for them. */
static natsStatus get_last(struct bus *b, const char *stream, const char *subject, natsMsg **m,
                           jsErrCode *jerr)
{
    jsDirectGetMsgOptions o;
    jsDirectGetMsgOptions_Init(&o);
    o.LastBySubject = subject;
    natsStatus s = js_DirectGetMsg(m, b->js, stream, NULL, &o);
    return s == NATS_NO_RESPONDERS ? js_GetLastMsg(m, b->js, stream, subject, NULL, jerr) : s;
}

int bus_stream_get_last(struct bus *b, const char *stream, const char *subject, uint8_t **data,
                        size_t *len, struct cloister_err *err)
{
    *data = NULL;
    *len = 0;
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus s = get_last(b, stream, subject, &m, &jerr);
    if (s != NATS_OK)
        return jerr == JSNoMessageFoundErr || s == NATS_NOT_FOUND
                   ? cloister_errf(err, CLOISTER_E_NOT_FOUND, "stream %s has no message on %s",
                                   stream, subject)
                   : bus_fail(b, err, s, jerr, "stream %s, subject %s", stream, subject);
    int n = natsMsg_GetDataLength(m);
    *data = malloc(n > 0 ? (size_t)n : 1);
    if (*data) {
        memcpy(*data, natsMsg_GetData(m), (size_t)n);
        *len = (size_t)n;
    }
    natsMsg_Destroy(m);
    return *data ? CLOISTER_OK
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for %s", subject);
}
