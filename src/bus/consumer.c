/* consumer.c -- durable pull consumers and the messages they hand out.
 *
 * A consumer is created (or updated) explicitly, then bound to by name, so any number of
 * workers share one durable and the server gives each message to one of them. Messages need an
 * explicit ack: one that is not acked within ack_wait -- its worker was killed, hung or lost the
 * connection -- is redelivered to whichever worker fetches next, up to max_deliver times. A
 * worker that needs longer sends in-progress to restart the deadline. The deliveries count comes
 * from the message's JetStream metadata, so an engine can tell an attempt from a retry. */
#include "bus/bus_impl.h"

#include <stdlib.h>
#include <string.h>

#define BUS_DEFAULT_ACK_WAIT_MS 30000
#define BUS_DEFAULT_MAX_ACK_PENDING 1000
#define BUS_FETCH_MAX 4096

struct bus_consumer {
    struct bus *b;
    natsSubscription *sub;
    char stream[65], durable[65];
};

struct bus_msg {
    struct bus *b;
    natsMsg *m;
    uint64_t deliveries, seq;
};

static int create_durable(struct bus *b, const struct bus_consumer_config *c,
                          struct cloister_err *err)
{
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = c->durable;
    cc.AckPolicy = c->no_acks ? js_AckNone : js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = (c->ack_wait_ms > 0 ? c->ack_wait_ms : BUS_DEFAULT_ACK_WAIT_MS) * 1000000;
    cc.MaxDeliver = c->max_deliver > 0 ? c->max_deliver : -1;
    cc.MaxAckPending = c->max_ack_pending > 0 ? c->max_ack_pending : BUS_DEFAULT_MAX_ACK_PENDING;
    cc.FilterSubject = c->filter;
    jsErrCode jerr = 0;
    natsStatus s = js_AddConsumer(NULL, b->js, c->stream, &cc, NULL, &jerr);
    if (s != NATS_OK && (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr)) {
        jerr = 0;
        s = js_UpdateConsumer(NULL, b->js, c->stream, &cc, NULL, &jerr);
    }
    return s == NATS_OK
               ? CLOISTER_OK
               : bus_fail(b, err, s, jerr, "consumer %s of stream %s", c->durable, c->stream);
}

struct bus_consumer *bus_consumer_open(struct bus *b, const struct bus_consumer_config *c,
                                       struct cloister_err *err)
{
    if (!bus_valid_name(c->stream) || !bus_valid_name(c->durable)) {
        cloister_errf(err, CLOISTER_E_INVALID,
                      "consumer: stream and durable names of 1 to 64 of A-Z a-z 0-9 - _ expected");
        return NULL;
    }
    if (create_durable(b, c, err) != CLOISTER_OK)
        return NULL;
    struct bus_consumer *con = calloc(1, sizeof *con);
    if (!con) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "consumer %s: out of memory", c->durable);
        return NULL;
    }
    con->b = b;
    strcpy(con->stream, c->stream);
    strcpy(con->durable, c->durable);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = c->stream;
    so.Consumer = c->durable;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&con->sub, b->js, c->filter, c->durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        bus_fail(b, err, s, jerr, "bind to consumer %s of stream %s", c->durable, c->stream);
        free(con);
        return NULL;
    }
    return con;
}

int bus_consumer_delete(struct bus *b, const char *stream, const char *durable,
                        struct cloister_err *err)
{
    jsErrCode jerr = 0;
    natsStatus s = js_DeleteConsumer(b->js, stream, durable, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr)
        return CLOISTER_E_NOT_FOUND;
    return s == NATS_OK
               ? CLOISTER_OK
               : bus_fail(b, err, s, jerr, "delete consumer %s of stream %s", durable, stream);
}

void bus_consumer_close(struct bus_consumer *c)
{
    if (!c)
        return;
    natsSubscription_Destroy(c->sub); /* no Unsubscribe: that would delete the durable */
    free(c);
}

static struct bus_msg *wrap(struct bus *b, natsMsg *m)
{
    struct bus_msg *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->b = b;
    w->m = m;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        w->deliveries = meta->NumDelivered;
        w->seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    return w;
}

/* Fetch or, with max_bytes, a fetch request that the server ends before max_bytes of messages
 * and as soon as it has no more (no wait). */
static int fetch(struct bus_consumer *c, struct bus_msg **msgs, size_t max, int64_t max_bytes,
                 int64_t timeout_ms, size_t *n, struct cloister_err *err)
{
    *n = 0;
    if (max == 0 || max > BUS_FETCH_MAX || timeout_ms <= 0 || max_bytes < 0)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "fetch from %s: batch of 1 to %d and a positive timeout expected",
                             c->durable, BUS_FETCH_MAX);
    natsMsgList list = {0};
    jsErrCode jerr = 0;
    natsStatus s;
    if (max_bytes > 0) {
        jsFetchRequest req;
        jsFetchRequest_Init(&req);
        req.Batch = (int)max;
        req.MaxBytes = max_bytes;
        req.NoWait = true;
        req.Expires = timeout_ms * 1000000;
        s = natsSubscription_FetchRequest(&list, c->sub, &req);
    } else {
        s = natsSubscription_Fetch(&list, c->sub, (int)max, timeout_ms, &jerr);
    }
    bool none = s == NATS_TIMEOUT || (max_bytes > 0 && s == NATS_NOT_FOUND);
    if (none && list.Count == 0 && natsConnection_Status(c->b->nc) == NATS_CONN_STATUS_CONNECTED)
        return CLOISTER_OK; /* nothing to do within the timeout */
    if (s != NATS_OK && list.Count == 0)
        return bus_fail(c->b, err, s, jerr, "fetch from consumer %s of stream %s", c->durable,
                        c->stream);
    int rc = CLOISTER_OK;
    for (int i = 0; i < list.Count; i++) {
        struct bus_msg *w = rc == CLOISTER_OK ? wrap(c->b, list.Msgs[i]) : NULL;
        if (!w) { /* unwrapped messages are freed unacked: the server redelivers them */
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "fetch from %s: out of memory",
                               c->durable);
            natsMsg_Destroy(list.Msgs[i]);
        } else {
            msgs[(*n)++] = w;
        }
        list.Msgs[i] = NULL;
    }
    natsMsgList_Destroy(&list);
    return rc;
}

int bus_fetch(struct bus_consumer *c, struct bus_msg **msgs, size_t max, int64_t timeout_ms,
              size_t *n, struct cloister_err *err)
{
    return fetch(c, msgs, max, 0, timeout_ms, n, err);
}

int bus_fetch_available(struct bus_consumer *c, struct bus_msg **msgs, size_t max,
                        int64_t max_bytes, int64_t timeout_ms, size_t *n, struct cloister_err *err)
{
    return fetch(c, msgs, max, max_bytes > 0 ? max_bytes : 1, timeout_ms, n, err);
}

int bus_consumer_pending(struct bus_consumer *c, uint64_t *ack_pending, uint64_t *undelivered,
                         struct cloister_err *err)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, c->b->js, c->stream, c->durable, NULL, &jerr);
    if (s != NATS_OK)
        return bus_fail(c->b, err, s, jerr, "consumer %s of stream %s", c->durable, c->stream);
    *ack_pending = (uint64_t)ci->NumAckPending;
    *undelivered = ci->NumPending;
    jsConsumerInfo_Destroy(ci);
    return CLOISTER_OK;
}

/* ---- Messages ---- */

const void *bus_msg_data(const struct bus_msg *m, size_t *len)
{
    *len = (size_t)natsMsg_GetDataLength(m->m);
    return natsMsg_GetData(m->m);
}

const char *bus_msg_subject(const struct bus_msg *m)
{
    return natsMsg_GetSubject(m->m);
}

const char *bus_msg_header(struct bus_msg *m, const char *name)
{
    const char *v = NULL;
    return natsMsgHeader_Get(m->m, name, &v) == NATS_OK ? v : NULL;
}

uint64_t bus_msg_deliveries(const struct bus_msg *m)
{
    return m->deliveries;
}

uint64_t bus_msg_seq(const struct bus_msg *m)
{
    return m->seq;
}

static int reply(struct bus_msg *m, natsStatus s, const char *what, struct cloister_err *err)
{
    return s == NATS_OK ? CLOISTER_OK
                        : bus_fail(m->b, err, s, 0, "%s of message %llu on %s", what,
                                   (unsigned long long)m->seq, natsMsg_GetSubject(m->m));
}

int bus_msg_ack(struct bus_msg *m, struct cloister_err *err)
{
    return reply(m, natsMsg_Ack(m->m, NULL), "ack", err);
}

int bus_msg_ack_sync(struct bus_msg *m, struct cloister_err *err)
{
    jsErrCode jerr = 0;
    return reply(m, natsMsg_AckSync(m->m, NULL, &jerr), "ack", err);
}

int bus_msg_nak(struct bus_msg *m, int64_t delay_ms, struct cloister_err *err)
{
    natsStatus s = delay_ms > 0 ? natsMsg_NakWithDelay(m->m, delay_ms, NULL)
                                : natsMsg_Nak(m->m, NULL);
    return reply(m, s, "nak", err);
}

int bus_msg_in_progress(struct bus_msg *m, struct cloister_err *err)
{
    return reply(m, natsMsg_InProgress(m->m, NULL), "in-progress", err);
}

int bus_msg_term(struct bus_msg *m, struct cloister_err *err)
{
    return reply(m, natsMsg_Term(m->m, NULL), "term", err);
}

void bus_msg_free(struct bus_msg *m)
{
    if (!m)
        return;
    natsMsg_Destroy(m->m);
    free(m);
}
