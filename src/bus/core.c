/* core.c -- core NATS publish and subscribe: no stream, no ack, no redelivery.
 *
 * For live status that is worth nothing once stale (SecureStreams' per-stage statistics, shown
 * by `streams top`): a message nobody listens to is dropped by the server, a slow subscriber
 * loses the oldest messages rather than growing (the pending limits below), and nothing is
 * stored. Anything that must arrive goes through a JetStream stream (stream.c) instead. */
#include "bus/bus_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a subscriber may hold unread before the client drops messages for it. */
#define BUS_SUB_PENDING_MSGS 4096
#define BUS_SUB_PENDING_BYTES (8 << 20)

struct bus_sub {
    struct bus *b;
    natsSubscription *s;
    char subject[256];
};

int bus_post(struct bus *b, const char *subject, const void *data, size_t len,
             struct cloister_err *err)
{
    natsStatus s = natsConnection_Publish(b->nc, subject, data, (int)len);
    return s == NATS_OK ? CLOISTER_OK : bus_fail(b, err, s, 0, "publish to %s", subject);
}

struct bus_sub *bus_subscribe(struct bus *b, const char *subject, struct cloister_err *err)
{
    struct bus_sub *sub = calloc(1, sizeof *sub);
    if (!sub) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "subscribe to %s: out of memory", subject);
        return NULL;
    }
    sub->b = b;
    snprintf(sub->subject, sizeof sub->subject, "%s", subject);
    natsStatus s = natsConnection_SubscribeSync(&sub->s, b->nc, subject);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(sub->s, BUS_SUB_PENDING_MSGS, BUS_SUB_PENDING_BYTES);
    if (s == NATS_OK)
        s = natsConnection_Flush(b->nc); /* the server knows the interest when this returns */
    if (s != NATS_OK) {
        bus_fail(b, err, s, 0, "subscribe to %s", subject);
        bus_sub_close(sub);
        return NULL;
    }
    return sub;
}

int bus_sub_next(struct bus_sub *sub, int64_t timeout_ms, char *subject, size_t subject_cap,
                 uint8_t **data, size_t *len, struct cloister_err *err)
{
    natsMsg *m = NULL;
    *data = NULL;
    *len = 0;
    natsStatus s = natsSubscription_NextMsg(&m, sub->s, timeout_ms);
    if (s == NATS_TIMEOUT)
        return CLOISTER_OK;
    if (s == NATS_SLOW_CONSUMER) /* messages were dropped for us: the next ones still come */
        s = natsSubscription_NextMsg(&m, sub->s, timeout_ms);
    if (s == NATS_TIMEOUT)
        return CLOISTER_OK;
    if (s != NATS_OK)
        return bus_fail(sub->b, err, s, 0, "receive from %s", sub->subject);
    int n = natsMsg_GetDataLength(m);
    int rc = CLOISTER_OK;
    if (!(*data = malloc(n > 0 ? (size_t)n : 1))) {
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "receive from %s: out of memory",
                           sub->subject);
    } else {
        if (n > 0) /* an empty message's data may be NULL */
            memcpy(*data, natsMsg_GetData(m), (size_t)n);
        *len = (size_t)n;
        if (subject)
            snprintf(subject, subject_cap, "%s", natsMsg_GetSubject(m));
    }
    natsMsg_Destroy(m);
    return rc;
}

void bus_sub_close(struct bus_sub *sub)
{
    if (!sub)
        return;
    if (sub->s) {
        natsSubscription_Unsubscribe(sub->s);
        natsSubscription_Destroy(sub->s);
    }
    free(sub);
}
