/* bus.h -- the multi-node data plane of MapReduce and SecureStreams: NATS JetStream, reduced to
 * what the engines need (docs/bus.md).
 *
 * Untrusted host side. The bus carries ciphertext: the engines encrypt payloads in their enclaves
 * and put only routing ids (job, task, attempt) in headers, so NATS sees sizes and ids, nothing
 * else. Every call returns CLOISTER_OK or a negative CLOISTER_E_* code and fills the caller's
 * struct cloister_err; a NATS server that is down, full or unreachable is an error with a message
 * naming the stream, subject or server, never a crash.
 *
 *     struct bus_server *srv = bus_server_start(tmpdir, &err);        // tests, benches, demo
 *     struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
 *     struct bus_stream_config sc = {.name = "TASKS", .subject = "mr.task.>",
 *                                    .retention = BUS_WORK_QUEUE, .max_bytes = 64 << 20,
 *                                    .max_msg_size = 4 << 20};
 *     bus_stream_ensure(b, &sc, &err);
 *     struct bus_header h[] = {{"Cloister-Task", "map#17"}};
 *     bus_publish(b, "mr.task.j1", h, 1, ct, ctlen, "j1/map#17/1", NULL, &err);
 *     struct bus_consumer_config cc = {.stream = "TASKS", .durable = "workers",
 *                                      .ack_wait_ms = 30000, .max_deliver = 5};
 *     struct bus_consumer *c = bus_consumer_open(b, &cc, &err);
 *     struct bus_msg *m[16]; size_t n;
 *     bus_fetch(c, m, 16, 1000, &n, &err);            // n == 0: nothing within the timeout
 *     ... bus_msg_in_progress(m[i]) while working, then bus_msg_ack(m[i]) or bus_msg_nak(...)
 *     bus_msg_free(m[i]);                              // unacked: redelivered after ack_wait
 *
 * Threads: a struct bus may be shared by threads; a consumer and its messages belong to one. */
#ifndef CLOISTER_BUS_H
#define CLOISTER_BUS_H

#include <cloister/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- A local nats-server (tests, benchmarks, `cloister demo`) ---- */

struct bus_server;

/* Starts `nats-server -js` on 127.0.0.1 with a free port, its config, log (nats-server.log) and
 * JetStream store under dir (an existing directory the caller owns and later removes), and waits
 * until it accepts connections. CLOISTER_E_NOT_FOUND when nats-server is not installed. */
struct bus_server *bus_server_start(const char *dir, struct cloister_err *err);
/* "nats://127.0.0.1:PORT" */
const char *bus_server_url(const struct bus_server *s);
pid_t bus_server_pid(const struct bus_server *s);
/* Stops the server (SIGTERM, then SIGKILL after 5 s), reaps it and frees s; removes no file.
 * NULL is fine. */
void bus_server_stop(struct bus_server *s);

/* ---- Connections ---- */

struct bus;

/* Zero fields take the default shown. */
struct bus_options {
    const char *name;          /* connection name the server shows ("cloister") */
    int64_t timeout_ms;        /* connect, API and publish-ack timeout (5000) */
    int max_reconnect;         /* reconnect attempts after a lost connection (60; -1: forever) */
    int64_t reconnect_wait_ms; /* between attempts (250) */
    int max_async_pending;     /* bus_publish_async acks outstanding before it waits (64) */
    const char *tls_ca;        /* CA file for tls:// URLs (system default) */
    bool send_asap;            /* each publish written at once, not gathered by the client's
                                * flusher thread for about a millisecond: request/answer
                                * traffic whose latency counts */
};

/* Connects to url (nats://HOST:PORT or tls://HOST:PORT; user:password@ is allowed and never
 * echoed). A plain nats:// URL to a host that is not loopback is accepted with a warning: the
 * bus sees only ciphertext, but production deployments use tls:// with authentication. */
struct bus *bus_connect(const char *url, const struct bus_options *opts, struct cloister_err *err);
/* Closes the connection (outstanding async publishes are abandoned: bus_publish_wait first).
 * NULL is fine. */
void bus_close(struct bus *b);
/* The largest message the server takes (payload and headers). */
size_t bus_max_payload(const struct bus *b);
/* Sends everything buffered and waits for the server's answer: acks sent before are delivered. */
int bus_flush(struct bus *b, int64_t timeout_ms, struct cloister_err *err);

/* ---- Streams ---- */

enum bus_retention {
    BUS_WORK_QUEUE, /* a message is removed once one consumer acks it (tasks) */
    BUS_LIMITS,     /* messages stay until the bounds or the stream's deletion (shuffle) */
};

enum bus_discard {
    BUS_REFUSE_NEW, /* a full stream refuses publishes: CLOISTER_E_TOO_BIG (back-pressure) */
    BUS_DROP_OLD,   /* a full stream discards its oldest messages */
};

struct bus_stream_config {
    const char *name;    /* A-Z a-z 0-9 - _ */
    const char *subject; /* subjects it captures, wildcards allowed ("mr.shuffle.j1.>") */
    enum bus_retention retention;
    enum bus_discard discard;
    int64_t max_bytes;       /* required: every stream is bounded in bytes */
    int32_t max_msg_size;    /* required: payload + headers of one message */
    int64_t dedup_window_ms; /* publishes with a seen message id are dropped within it (120000) */
    bool memory;             /* in memory instead of the server's file store */
};

/* Creates the stream, or updates it to c when it exists; a change the server cannot make (the
 * retention of an existing stream) is CLOISTER_E_EXISTS. */
int bus_stream_ensure(struct bus *b, const struct bus_stream_config *c, struct cloister_err *err);
/* Deletes the stream, its messages and consumers; CLOISTER_E_NOT_FOUND when there is none. */
int bus_stream_delete(struct bus *b, const char *name, struct cloister_err *err);

/* The data of the last message on subject in the stream (malloc'd; free it): streams with limits
 * retention used as a store addressed by subject. CLOISTER_E_NOT_FOUND when there is none. */
int bus_stream_get_last(struct bus *b, const char *stream, const char *subject, uint8_t **data,
                        size_t *len, struct cloister_err *err);

struct bus_stream_stats {
    uint64_t msgs, bytes;
};
int bus_stream_stats(struct bus *b, const char *name, struct bus_stream_stats *out,
                     struct cloister_err *err);

/* ---- Publishing ---- */

struct bus_header {
    const char *name, *value;
};

struct bus_pub_ack {
    uint64_t seq;   /* the message's sequence number in its stream */
    bool duplicate; /* its id was seen within the dedup window: it was not stored again */
};

/* Publishes data with nhdrs headers to subject and waits for the stream's ack. msg_id (may be
 * NULL) de-duplicates: a re-publish with the same id within the window is acknowledged with
 * duplicate set and not stored twice. A full stream is CLOISTER_E_TOO_BIG, no ack within the
 * timeout CLOISTER_E_TIMEOUT, no stream on subject CLOISTER_E_NOT_FOUND. ack may be NULL. */
int bus_publish(struct bus *b, const char *subject, const struct bus_header *hdrs, size_t nhdrs,
                const void *data, size_t len, const char *msg_id, struct bus_pub_ack *ack,
                struct cloister_err *err);
/* The same without waiting for the ack: at most max_async_pending are outstanding, beyond that
 * it waits (up to the timeout) for room. Failed acks are counted and reported by
 * bus_publish_wait, which every batch of async publishes must end with. */
int bus_publish_async(struct bus *b, const char *subject, const struct bus_header *hdrs,
                      size_t nhdrs, const void *data, size_t len, const char *msg_id,
                      struct cloister_err *err);
/* Waits until every async publish is acknowledged; fails when one was refused or timed out
 * since the last call (the message names how many and the first reason). */
int bus_publish_wait(struct bus *b, int64_t timeout_ms, struct cloister_err *err);

/* ---- Consuming: durable pull consumers ---- */

struct bus_consumer_config {
    const char *stream;
    const char *durable;     /* shared by all workers of a queue: each message goes to one */
    const char *filter;      /* only these subjects of the stream (NULL: all) */
    int64_t ack_wait_ms;     /* unacked messages are redelivered after it (30000) */
    int64_t max_deliver;     /* deliveries before the server gives a message up (0: unbounded) */
    int64_t max_ack_pending; /* delivered but unacked messages at most (1000) */
    bool no_acks; /* the server forgets a message once delivered (a reader that holds what it
                   * fetched and reads it once); ack_wait, max_deliver and max_ack_pending unused */
};

struct bus_consumer;
struct bus_msg;

/* Creates the durable consumer, or updates it to c, and binds to it. Every worker that opens the
 * same durable shares its messages. */
struct bus_consumer *bus_consumer_open(struct bus *b, const struct bus_consumer_config *c,
                                       struct cloister_err *err);
/* Unbinds; the durable consumer and its unacked messages stay on the server. NULL is fine. */
void bus_consumer_close(struct bus_consumer *c);

/* Deletes the durable consumer: its unacked messages stay in the stream, and a consumer made
 * afresh delivers them again, in order (a restarted stage). CLOISTER_E_NOT_FOUND when none. */
int bus_consumer_delete(struct bus *b, const char *stream, const char *durable,
                        struct cloister_err *err);

/* Fetches up to max messages into msgs, waiting up to timeout_ms for the first; *n is how many
 * (0 when none came in time: not an error). Each message must be freed with bus_msg_free. */
int bus_fetch(struct bus_consumer *c, struct bus_msg **msgs, size_t max, int64_t timeout_ms,
              size_t *n, struct cloister_err *err);
/* What the consumer has now, without waiting for more: up to max messages and max_bytes bytes
 * (the server sends at least one message, so max_bytes should exceed its max_payload); *n = 0
 * when nothing is pending. A reader that knows what it wants prefetches with it. */
int bus_fetch_available(struct bus_consumer *c, struct bus_msg **msgs, size_t max,
                        int64_t max_bytes, int64_t timeout_ms, size_t *n, struct cloister_err *err);
/* Delivered but not acked, and not yet delivered, messages of the consumer (its lag). */
int bus_consumer_pending(struct bus_consumer *c, uint64_t *ack_pending, uint64_t *undelivered,
                         struct cloister_err *err);

const void *bus_msg_data(const struct bus_msg *m, size_t *len);
const char *bus_msg_subject(const struct bus_msg *m);
/* The header's first value, or NULL. */
const char *bus_msg_header(struct bus_msg *m, const char *name);
/* 1 on the first delivery, 2 on the first redelivery, ... */
uint64_t bus_msg_deliveries(const struct bus_msg *m);
uint64_t bus_msg_seq(const struct bus_msg *m);

/* Done: the server removes the message from a work queue. Sent without waiting (bus_flush
 * confirms); bus_msg_ack_sync waits for the server's confirmation. */
int bus_msg_ack(struct bus_msg *m, struct cloister_err *err);
int bus_msg_ack_sync(struct bus_msg *m, struct cloister_err *err);
/* Failed here: redeliver after delay_ms (0: at once), to any consumer. */
int bus_msg_nak(struct bus_msg *m, int64_t delay_ms, struct cloister_err *err);
/* Still working: restart the ack-wait deadline. */
int bus_msg_in_progress(struct bus_msg *m, struct cloister_err *err);
/* Never redeliver (a poison message). */
int bus_msg_term(struct bus_msg *m, struct cloister_err *err);
/* Frees m; a message neither acked nor termed is redelivered after ack_wait. NULL is fine. */
void bus_msg_free(struct bus_msg *m);

/* ---- Key-value buckets (sealed checkpoints) ---- */

struct bus_kv;

/* Opens the bucket, creating it (file storage, the latest value per key) when missing; one that
 * exists with other bounds is used as it is. It is the stream KV_<bucket>, which
 * bus_stream_delete removes. */
struct bus_kv *bus_kv_open(struct bus *b, const char *bucket, int64_t max_bytes, int32_t max_value,
                           struct cloister_err *err);
void bus_kv_close(struct bus_kv *kv);

#define BUS_KV_ANY UINT64_MAX
/* Stores data under key (A-Z a-z 0-9 - _ = / and dots between tokens). expect_rev: BUS_KV_ANY
 * writes whatever is there, 0 only if the key has no value, n only if its revision is still n;
 * otherwise CLOISTER_E_EXISTS. *rev (may be NULL) is the new revision. */
int bus_kv_put(struct bus_kv *kv, const char *key, const void *data, size_t len,
               uint64_t expect_rev, uint64_t *rev, struct cloister_err *err);
/* The latest value (malloc'd; free it) and its revision (rev may be NULL); CLOISTER_E_NOT_FOUND
 * when the key has none. */
int bus_kv_get(struct bus_kv *kv, const char *key, uint8_t **data, size_t *len, uint64_t *rev,
               struct cloister_err *err);
int bus_kv_delete(struct bus_kv *kv, const char *key, struct cloister_err *err);

/* ---- Core NATS: no stream, no ack (live status, e.g. `streams top`) ---- */

/* Publishes data to subject without a stream: the server drops it when nobody subscribes. */
int bus_post(struct bus *b, const char *subject, const void *data, size_t len,
             struct cloister_err *err);

struct bus_sub;

/* A subscription to subject (wildcards allowed), active when this returns; the client holds at
 * most 4,096 messages or 8 MiB unread for it and drops the rest. */
struct bus_sub *bus_subscribe(struct bus *b, const char *subject, struct cloister_err *err);
/* The next message: *data malloc'd (free it) and *len, its subject copied into subject (may be
 * NULL); *data NULL when none came within timeout_ms (not an error). */
int bus_sub_next(struct bus_sub *s, int64_t timeout_ms, char *subject, size_t subject_cap,
                 uint8_t **data, size_t *len, struct cloister_err *err);
/* Unsubscribes and frees s. NULL is fine. */
void bus_sub_close(struct bus_sub *s);

#endif
