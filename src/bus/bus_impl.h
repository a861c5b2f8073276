/* bus_impl.h -- what the files of src/bus share: the connection, and turning a NATS status into
 * the one error convention. */
#ifndef CLOISTER_BUS_IMPL_H
#define CLOISTER_BUS_IMPL_H

#include <nats/nats.h>
#include <pthread.h>

#include "bus/bus.h"

struct bus {
    natsConnection *nc;
    jsCtx *js;
    int64_t timeout_ms;
    char server[128]; /* HOST:PORT, never the credentials: what messages name */
    /* Failures of async publishes since the last bus_publish_wait (the ack handler runs on a
     * NATS thread). */
    pthread_mutex_t lock;
    uint64_t async_failed;
    struct cloister_err async_first;
    /* Set by the closed callback, the last one NATS makes for a connection: bus_close waits for
     * it so that no callback runs after b is freed. */
    pthread_cond_t closed_cv;
    bool closed;
};

/* Fills err with code and "what: reason" from a NATS call's status s and JetStream error code
 * jerr (0 if none), adding that the connection is down when it is. Returns the code. */
int bus_fail(struct bus *b, struct cloister_err *err, natsStatus s, jsErrCode jerr, const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));

/* A stream or consumer name: 1 to 64 of A-Z a-z 0-9 - _. */
bool bus_valid_name(const char *name);

#endif
