/* ss_replica.c -- the host loop of one replica of a distributed stage (ss_replica.h).
 *
 * Exactly once comes from three rules. (1) Nothing is acked before it is safe: the input
 * messages of a period stay unacked until the period's output is stored in the stream
 * (bus_publish_wait) and then the runner's sealed checkpoint in the bucket; only then are they
 * acked. (2) At start the checkpoint is restored and the durable consumer deleted and made
 * afresh, so every unacked batch comes again, in stream order: the runner drops those it had
 * applied before the checkpoint (their numbers are in it) and applies the rest once, producing
 * the same output batches with the same numbers as before the crash. (3) Those outputs carry
 * the message id `prefix/producer/partition/number`: JetStream drops a re-publish within its
 * window, and the next stage's runner drops any that passes by its number. */
#include "streams/client/ss_replica.h"

#include "bus/bus.h"
#include "streams/common/ss_proto.h"
#include "util/deadline.h"

#include <cloister/wire.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPLICA_PENDING_MAX 512 /* unacked messages before a checkpoint (< max_ack_pending) */

struct replica {
    const struct ss_replica_config *c;
    struct ss_replica_stats *s;
    struct bus_consumer *con;
    struct bus_msg *pending[REPLICA_PENDING_MAX];
    size_t npending;
    uint64_t events_since;
    struct timespec last;
};

static uint64_t elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - since->tv_sec) * 1000 +
           (uint64_t)((now.tv_nsec - since->tv_nsec) / 1000000);
}

/* Publishes one sealed output batch to its partition's subject with its message id. */
static int publish(struct replica *r, const uint8_t *c, size_t len, struct cloister_err *err)
{
    if (len < SS_BATCH_OVERHEAD)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "runner answered a short batch");
    uint32_t stage, part;
    uint64_t seq;
    ss_peek(c, &stage, &part, &seq);
    char subject[256], id[256];
    snprintf(subject, sizeof subject, "%s.%u", r->c->out_prefix, part & 0xffff);
    snprintf(id, sizeof id, "%s/%u/%u/%" PRIu64, r->c->id_prefix, part >> 16, part & 0xffff, seq);
    r->s->batches_out++;
    return bus_publish_async(r->c->bus, subject, NULL, 0, c, len, id, err);
}

/* One input batch through the runner; its output published. A refused batch is counted (by
 * the runner) and acked like the others: redelivering it would not make it valid. */
static int apply(struct replica *r, struct bus_msg *m, struct cloister_err *err)
{
    size_t len = 0;
    const uint8_t *in = bus_msg_data(m, &len);
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = r->c->call(r->c->runner, SS_CALL_RUN_DIST, in, len, &out, &outlen, err);
    r->s->messages++;
    if (rc == CLOISTER_E_DENIED || rc == CLOISTER_E_INVALID) {
        r->s->refused++;
        if (r->c->meter)
            atomic_fetch_add_explicit(&r->c->meter->refused, 1, memory_order_relaxed);
        return 0;
    }
    if (rc != 0)
        return rc;
    struct wire_reader rd;
    wire_reader_init(&rd, out, outlen);
    uint8_t flags = wire_get_u8(&rd);
    uint64_t nin = wire_get_varint(&rd), nout = wire_get_varint(&rd), n = wire_get_varint(&rd);
    for (uint64_t i = 0; rc == 0 && i < n && wire_reader_ok(&rd); i++) {
        size_t blen = 0;
        const uint8_t *b = wire_get_bytes(&rd, SS_MESSAGE_MAX, &blen);
        if (b)
            rc = publish(r, b, blen, err);
    }
    uint64_t ingress = wire_get_varint(&rd);
    if (rc == 0 && !wire_reader_ok(&rd))
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "malformed answer from the runner");
    free(out);
    if (r->c->meter && !(flags & 1)) {
        ss_meter_in(r->c->meter, nin);
        ss_meter_out(r->c->meter, nout, ingress ? ingress : ss_wall_ns());
    }
    r->s->duplicates += flags & 1;
    r->s->ended = r->s->ended || (flags & 2);
    r->s->events_in += nin;
    r->s->events_out += nout;
    r->events_since += nin;
    return rc;
}

/* Output stored, then the checkpoint, then the input acked. */
static int checkpoint(struct replica *r, struct cloister_err *err)
{
    int rc = bus_publish_wait(r->c->bus, 30000, err);
    if (rc == 0)
        rc = ss_ckpt_save(r->c->ckpt, r->c->call, r->c->runner, err);
    for (size_t i = 0; rc == 0 && i < r->npending; i++)
        rc = bus_msg_ack(r->pending[i], err);
    if (rc == 0)
        rc = bus_flush(r->c->bus, 30000, err);
    for (size_t i = 0; i < r->npending; i++)
        bus_msg_free(r->pending[i]);
    r->npending = 0;
    r->events_since = 0;
    uint64_t acked = 0, undelivered = 0;
    struct cloister_err e = {0};
    if (r->c->meter && bus_consumer_pending(r->con, &acked, &undelivered, &e) == 0)
        atomic_store_explicit(&r->c->meter->lag, undelivered, memory_order_relaxed);
    clock_gettime(CLOCK_MONOTONIC, &r->last);
    r->s->checkpoints += rc == 0;
    return rc;
}

static bool due(const struct replica *r)
{
    uint64_t n = r->c->ckpt_events ? r->c->ckpt_events : 10000;
    unsigned ms = r->c->ckpt_ms ? r->c->ckpt_ms : 1000;
    return r->npending > 0 && (r->events_since >= n || r->npending + 64 > REPLICA_PENDING_MAX ||
                               r->s->ended || elapsed_ms(&r->last) >= ms);
}

static int loop(struct replica *r, struct bus_consumer *con, struct cloister_err *err)
{
    size_t max = r->c->fetch_max ? r->c->fetch_max : 64;
    if (max > 64)
        max = 64;
    int rc = 0;
    while (rc == 0 && !r->s->ended && !(r->c->stop && *r->c->stop)) {
        struct bus_msg *msgs[64];
        size_t n = 0;
        rc = bus_fetch(con, msgs, max, 100, &n, err);
        for (size_t i = 0; i < n; i++) {
            if (rc == 0)
                rc = apply(r, msgs[i], err);
            r->pending[r->npending++] = msgs[i]; /* freed by checkpoint, acked if all went well */
        }
        if (rc == 0 && due(r))
            rc = checkpoint(r, err);
    }
    if (rc == 0 && r->npending)
        rc = checkpoint(r, err);
    for (size_t i = 0; i < r->npending; i++)
        bus_msg_free(r->pending[i]); /* after a failure: unacked, redelivered */
    return rc;
}

int ss_replica_run(const struct ss_replica_config *c, struct ss_replica_stats *s,
                   struct cloister_err *err)
{
    memset(s, 0, sizeof *s);
    int rc = ss_ckpt_restore(c->ckpt, c->call, c->runner, err);
    if (rc < 0)
        return rc;
    s->restored = rc == 1;
    rc = bus_consumer_delete(c->bus, c->stream, c->durable, err);
    if (rc != 0 && rc != CLOISTER_E_NOT_FOUND)
        return rc;
    struct bus_consumer_config cc = {.stream = c->stream,
                                     .durable = c->durable,
                                     .filter = c->in_subject,
                                     .max_ack_pending = 2 * REPLICA_PENDING_MAX};
    struct bus_consumer *con = bus_consumer_open(c->bus, &cc, err);
    if (!con)
        return err->code;
    struct replica *r = calloc(1, sizeof *r);
    if (!r) {
        bus_consumer_close(con);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the replica");
    }
    r->c = c;
    r->s = s;
    r->con = con;
    clock_gettime(CLOCK_MONOTONIC, &r->last);
    rc = loop(r, con, err);
    free(r);
    bus_consumer_close(con);
    return rc;
}
