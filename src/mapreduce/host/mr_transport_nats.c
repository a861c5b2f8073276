/* mr_transport_nats.c -- the NATS JetStream transport of mr_transport.h (docs/mapreduce.md).
 *
 * One job, three streams, all named by the job id (hex):
 *   MRT_<job>  work queue, subject mr.<job>.task: tasks. Workers share the durable consumer
 *              "workers"; a task is acked once its result is published, so a worker that dies
 *              mid-task (kill -9) leaves it unacked and the server redelivers it to another
 *              worker after ack_wait. Each publish carries the id round.task.attempt, so a
 *              re-published task is stored once.
 *   MRR_<job>  work queue, subject mr.<job>.result: results back to the client (its durable
 *              "client"). A late duplicate (a redelivered task that ran twice) reaches the engine,
 *              which counts only the first result of a task's current attempt.
 *   MRS_<job>  limits retention, byte-bounded, subjects mr.<job>.shuffle.ROUND.TASK.ATTEMPT.PART:
 *              sealed shuffle chunks. A full stream refuses the chunk and the map task is re-run
 *              later. A reducer reads its partition through a pull consumer of its own, filtered
 *              on the round and the partition, without acks (the reducer holds what it
 *              fetched, the consumer is deleted after the task): the messages stream in,
 *              PREFETCH_BYTES at most held ahead of the reads, and are looked up by subject; a
 *              piece not among them (not delivered yet beyond the bound, or published twice)
 *              is read as the last message on its subject (a direct get).
 * Messages larger than the server's max_payload are split here, sized from the connection's
 * real limit: a shuffle chunk is stored as pieces on CHUNK_SUBJECT.0, .1, ... (each "u32 count,
 * then the slice"), and a task message too large for one message goes the same way to
 * mr.<job>.shuffle.task.ROUND.TASK.ATTEMPT with a small pointer in the task queue (u8 0xFF, u32
 * round, task, attempt) that task_get replaces with the reassembled message. Pieces are
 * ciphertext slices: a piece swapped, dropped or replayed makes the sealed chunk fail to open.
 * NATS sees the job id, task numbers, sizes and ciphertext; nothing else. The owner (the client)
 * creates the streams and deletes them in free; workers only open them.
 *
 * The transport ops carry no ack, so the task being served is remembered per thread: task_get
 * takes it, result_put acks it after the result is stored, and the shuffle calls made while the
 * task runs send in_progress when a third of ack_wait went by, so a long task is not redelivered. */
#include "mapreduce/host/mr_transport_nats.h"

#include "bus/bus.h"

#include <cloister/crypto.h>
#include <cloister/wire.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_MR 96
#define SUBJECT_MAX 160
#define PIECE_ROOM 1024 /* headers (the message id) and the piece prefix */
#define PIECES_MAX 4096
#define TASK_POINTER 0xFF

struct nats {
    struct mr_transport base;
    struct bus *b;
    bool owner;
    volatile bool closed;
    int64_t ack_wait_ms;
    char job[MR_JOB_HEX_MAX + 1];
    char tasks[NAME_MAX_MR], results[NAME_MAX_MR], shuffle[NAME_MAX_MR];
    char task_subject[NAME_MAX_MR], result_subject[NAME_MAX_MR];
    pthread_mutex_t lock; /* the task consumer, shared by the serving threads */
    int64_t checked_ms;   /* a remote worker's last look for the job's end */
    size_t piece_max;     /* payload bytes per piece of a split message */
    struct bus_consumer *task_c, *result_c;
    pthread_mutex_t pf_lock;   /* the list of prefetches (lock is held across task fetches) */
    struct prefetch *prefetch; /* the serving threads' */
    void (*on_get)(void *arg, uint8_t **chunk, size_t *len);
    void *arg;
};

#define PREFETCH_BYTES ((size_t)64 << 20) /* a reducer's pieces held ahead of its reads */
#define PREFETCH_BATCH 512

/* The partition a serving thread reads as a reducer: its consumer and the pieces delivered to
 * it and not read yet (held[], in delivery order). One per thread, in the transport's list. */
struct prefetch {
    struct prefetch *next;
    pthread_t thread;
    bool active;
    uint32_t round, partition;
    struct bus_consumer *c;
    char durable[64];
    struct bus_msg *held[PREFETCH_BATCH];
    size_t nheld, bytes;
    bool drained; /* the consumer had nothing more */
};

/* The task this thread serves, and when its deadline was last extended. */
static __thread struct bus_msg *current;
static __thread const struct nats *current_owner;
static __thread int64_t current_touched_ms;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop_current(void)
{
    bus_msg_free(current); /* unacked: redelivered after ack_wait */
    current = NULL;
    current_owner = NULL;
}

static void touch_current(struct nats *n)
{
    if (current && current_owner == n && now_ms() - current_touched_ms > n->ack_wait_ms / 3) {
        bus_msg_in_progress(current, NULL);
        current_touched_ms = now_ms();
    }
}

static int copy_out(const struct bus_msg *m, uint8_t **msg, size_t *len, struct cloister_err *err)
{
    size_t n;
    const void *d = bus_msg_data(m, &n);
    if (!(*msg = malloc(n ? n : 1)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a %zu-byte message", n);
    memcpy(*msg, d, n);
    *len = n;
    return 1;
}

/* Stores data as pieces on base.0, base.1, ... of the shuffle stream. */
static int put_pieces(struct nats *n, const char *base, const uint8_t *data, size_t len,
                      struct cloister_err *err)
{
    size_t count = len / n->piece_max + (len % n->piece_max != 0 || len == 0);
    if (count > PIECES_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "a %zu-byte message for %s is too large", len,
                             base);
    uint8_t *buf = malloc(n->piece_max + 4);
    if (!buf)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a message piece");
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < count; k++) {
        size_t off = k * n->piece_max, piece = len - off < n->piece_max ? len - off : n->piece_max;
        struct wire_writer w;
        char subject[SUBJECT_MAX];
        wire_writer_init_fixed(&w, buf, n->piece_max + 4);
        wire_put_u32(&w, (uint32_t)count);
        wire_put_raw(&w, data + off, piece);
        snprintf(subject, sizeof subject, "%s.%zu", base, k);
        rc = bus_publish(n->b, subject, NULL, 0, w.buf, w.len, subject, NULL, err);
    }
    free(buf);
    return rc;
}

/* This thread's prefetch (made on first use); NULL without memory. */
static struct prefetch *prefetch_of(struct nats *n)
{
    pthread_mutex_lock(&n->pf_lock);
    struct prefetch *pf = n->prefetch;
    while (pf && !pthread_equal(pf->thread, pthread_self()))
        pf = pf->next;
    if (!pf && (pf = calloc(1, sizeof *pf))) {
        pf->thread = pthread_self();
        pf->next = n->prefetch;
        n->prefetch = pf;
    }
    pthread_mutex_unlock(&n->pf_lock);
    return pf;
}

static void prefetch_drop(struct nats *n, struct prefetch *pf)
{
    for (size_t i = 0; i < pf->nheld; i++)
        bus_msg_free(pf->held[i]);
    if (pf->c) {
        bus_consumer_close(pf->c);
        bus_consumer_delete(n->b, n->shuffle, pf->durable, NULL);
    }
    struct prefetch *next = pf->next;
    pthread_t thread = pf->thread;
    memset(pf, 0, sizeof *pf);
    pf->next = next;
    pf->thread = thread;
}

/* Makes pf this partition's, with a consumer of its own (a name no other reader shares);
 * false when the server refused one (the reads then go by direct gets). */
static bool prefetch_open(struct nats *n, struct prefetch *pf, uint32_t round, uint32_t partition)
{
    if (pf->active && pf->round == round && pf->partition == partition)
        return pf->c != NULL;
    prefetch_drop(n, pf);
    uint8_t id[8];
    char filter[SUBJECT_MAX];
    pf->active = true;
    pf->round = round;
    pf->partition = partition;
    if (crypto_random(id, sizeof id) != 0)
        return false;
    snprintf(pf->durable, sizeof pf->durable, "reduce_%u_%u_%02x%02x%02x%02x%02x%02x%02x%02x",
             round, partition, id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]);
    snprintf(filter, sizeof filter, "mr.%s.shuffle.%u.*.*.%u.*", n->job, round, partition);
    struct bus_consumer_config cc = {.stream = n->shuffle,
                                     .durable = pf->durable,
                                     .filter = filter,
                                     .no_acks = true};
    pf->c = bus_consumer_open(n->b, &cc, NULL);
    return pf->c != NULL;
}

/* Takes the held piece on subject out of pf (the latest, should it have come twice). */
static struct bus_msg *prefetch_take(struct prefetch *pf, const char *subject)
{
    for (size_t i = pf->nheld; i-- > 0;) {
        if (strcmp(bus_msg_subject(pf->held[i]), subject) != 0)
            continue;
        struct bus_msg *m = pf->held[i];
        size_t len;
        bus_msg_data(m, &len);
        pf->bytes -= len;
        memmove(&pf->held[i], &pf->held[i + 1], (pf->nheld - i - 1) * sizeof *pf->held);
        pf->nheld--;
        return m;
    }
    return NULL;
}

/* The piece on subject from the partition's consumer, fetching what it has until the piece
 * comes or the bound is reached; NULL to read it by a direct get. */
static struct bus_msg *prefetch_get(struct nats *n, uint32_t round, uint32_t partition,
                                    const char *subject)
{
    struct prefetch *pf = prefetch_of(n);
    if (!pf || !prefetch_open(n, pf, round, partition))
        return NULL;
    struct bus_msg *m = prefetch_take(pf, subject);
    while (!m && !pf->drained && pf->bytes < PREFETCH_BYTES && pf->nheld < PREFETCH_BATCH) {
        size_t got = 0;
        int64_t room = (int64_t)(PREFETCH_BYTES - pf->bytes + n->piece_max + PIECE_ROOM);
        if (bus_fetch_available(pf->c, pf->held + pf->nheld, PREFETCH_BATCH - pf->nheld, room, 5000,
                                &got, NULL) != 0 ||
            got == 0) {
            pf->drained = true;
            break;
        }
        for (size_t i = pf->nheld; i < pf->nheld + got; i++) {
            size_t len;
            bus_msg_data(pf->held[i], &len);
            pf->bytes += len;
        }
        pf->nheld += got;
        m = prefetch_take(pf, subject);
    }
    return m;
}

/* The piece on subject: from the reducer's prefetch when the caller reads a partition, else
 * (or when the prefetch has not got it) the last message on the subject. */
static int get_piece(struct nats *n, const uint32_t *where, const char *subject, uint8_t **piece,
                     size_t *len, struct cloister_err *err)
{
    struct bus_msg *m = where ? prefetch_get(n, where[0], where[1], subject) : NULL;
    if (!m)
        return bus_stream_get_last(n->b, n->shuffle, subject, piece, len, err);
    int rc = copy_out(m, piece, len, err);
    bus_msg_free(m);
    return rc == 1 ? 0 : rc;
}

/* Reads back what put_pieces stored under base (malloc'd); where: the (round, partition) of
 * a shuffle chunk, NULL for a task message. A message of one piece (the common case) is its
 * piece's buffer with the count taken off, not a copy: a reducer reads megabytes per task. */
static int get_pieces(struct nats *n, const char *base, const uint32_t *where, uint8_t **out,
                      size_t *outlen, struct cloister_err *err)
{
    struct wire_writer all;
    wire_writer_init(&all);
    uint32_t count = 1;
    int rc = 0;
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        char subject[SUBJECT_MAX];
        uint8_t *piece = NULL;
        size_t len = 0;
        snprintf(subject, sizeof subject, "%s.%u", base, k);
        rc = get_piece(n, where, subject, &piece, &len, err);
        struct wire_reader r;
        wire_reader_init(&r, piece, len);
        uint32_t c = wire_get_u32(&r);
        if (rc == 0 && (!wire_reader_ok(&r) || c == 0 || c > PIECES_MAX || (k > 0 && c != count)))
            rc = cloister_errf(err, CLOISTER_E_INVALID, "a malformed piece on %s", subject);
        count = c;
        if (rc == 0 && count == 1) {
            memmove(piece, piece + 4, len - 4);
            *out = piece;
            *outlen = len - 4;
            return 0;
        }
        if (rc == 0)
            wire_put_raw(&all, piece + 4, len - 4);
        free(piece);
    }
    if (rc == 0 && !wire_writer_ok(&all))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a %s message", base);
    if (rc == 0)
        *out = wire_writer_take(&all, outlen);
    wire_writer_free(&all);
    return rc;
}

static void task_base(const struct nats *n, uint32_t round, uint32_t task, uint32_t attempt,
                      char out[SUBJECT_MAX])
{
    snprintf(out, SUBJECT_MAX, "mr.%s.shuffle.task.%u.%u.%u", n->job, round, task, attempt);
}

static int task_put(struct mr_transport *t, const uint8_t *msg, size_t len,
                    struct cloister_err *err)
{
    struct nats *n = (struct nats *)t;
    struct wire_reader r;
    wire_reader_init(&r, msg, len);
    wire_get_u8(&r);
    uint32_t round = wire_get_u32(&r), task = wire_get_u32(&r), attempt = wire_get_u32(&r);
    char id[64], base[SUBJECT_MAX];
    snprintf(id, sizeof id, "%u.%u.%u", round, task, attempt);
    if (len <= n->piece_max)
        return bus_publish(n->b, n->task_subject, NULL, 0, msg, len, id, NULL, err);
    task_base(n, round, task, attempt, base);
    uint8_t pointer[13];
    struct wire_writer w;
    wire_writer_init_fixed(&w, pointer, sizeof pointer);
    wire_put_u8(&w, TASK_POINTER);
    wire_put_u32(&w, round);
    wire_put_u32(&w, task);
    wire_put_u32(&w, attempt);
    int rc = put_pieces(n, base, msg, len, err);
    return rc != 0 ? rc : bus_publish(n->b, n->task_subject, NULL, 0, w.buf, w.len, id, NULL, err);
}

/* A pointer in the task queue: the task message itself, reassembled from its pieces. */
static int follow_pointer(struct nats *n, uint8_t **msg, size_t *len, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, *msg, *len);
    if (*len == 0 || (*msg)[0] != TASK_POINTER)
        return 1;
    wire_get_u8(&r);
    uint32_t round = wire_get_u32(&r), task = wire_get_u32(&r), attempt = wire_get_u32(&r);
    char base[SUBJECT_MAX];
    task_base(n, round, task, attempt, base);
    free(*msg);
    *msg = NULL;
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "a malformed task pointer");
    return get_pieces(n, base, NULL, msg, len, err) == 0 ? 1 : CLOISTER_E_INVALID;
}

/* A worker that is not the job's client learns the job ended when its task consumer is gone
 * (the client deleted the streams); asked at most once a second, while idle. */
static bool job_ended(struct nats *n)
{
    uint64_t pending, undelivered;
    if (now_ms() - n->checked_ms < 1000)
        return false;
    n->checked_ms = now_ms();
    return bus_consumer_pending(n->task_c, &pending, &undelivered, NULL) == CLOISTER_E_NOT_FOUND;
}

static int task_get(struct mr_transport *t, int timeout_ms, uint8_t **msg, size_t *len,
                    struct cloister_err *err)
{
    struct nats *n = (struct nats *)t;
    if (current_owner == n)
        drop_current(); /* served without a result: let another worker have it */
    if (n->closed)
        return cloister_errf(err, CLOISTER_E_STATE, "the job's transport is closed");
    struct bus_msg *m = NULL;
    size_t got = 0;
    pthread_mutex_lock(&n->lock);
    int rc = bus_fetch(n->task_c, &m, 1, timeout_ms, &got, err);
    if (rc == 0 && got == 0 && !n->owner && job_ended(n))
        rc = cloister_errf(err, CLOISTER_E_STATE, "job %s has ended", n->job);
    pthread_mutex_unlock(&n->lock);
    if (rc != 0 || got == 0)
        return n->closed ? cloister_errf(err, CLOISTER_E_STATE, "the job's transport is closed")
                         : rc;
    rc = copy_out(m, msg, len, err);
    if (rc == 1)
        rc = follow_pointer(n, msg, len, err);
    if (rc != 1) {
        bus_msg_free(m); /* redelivered: a piece missing now may be readable later */
        return rc;
    }
    current = m;
    current_owner = n;
    current_touched_ms = now_ms();
    return 1;
}

static int result_put(struct mr_transport *t, const uint8_t *msg, size_t len,
                      struct cloister_err *err)
{
    struct nats *n = (struct nats *)t;
    int rc = bus_publish(n->b, n->result_subject, NULL, 0, msg, len, NULL, NULL, err);
    struct prefetch *pf = prefetch_of(n);
    if (pf)
        prefetch_drop(n, pf); /* the task ended: its partition is read */
    if (rc == 0 && current && current_owner == n) {
        rc = bus_msg_ack(current, err);
        bus_msg_free(current);
        current = NULL;
        current_owner = NULL;
    }
    return rc;
}

static int result_get(struct mr_transport *t, int timeout_ms, uint8_t **msg, size_t *len,
                      struct cloister_err *err)
{
    struct nats *n = (struct nats *)t;
    if (n->closed)
        return cloister_errf(err, CLOISTER_E_STATE, "the job's transport is closed");
    if (!n->result_c)
        return cloister_errf(err, CLOISTER_E_STATE, "only the job's client reads results");
    struct bus_msg *m = NULL;
    size_t got = 0;
    int rc = bus_fetch(n->result_c, &m, 1, timeout_ms, &got, err);
    if (rc != 0 || got == 0)
        return rc;
    rc = copy_out(m, msg, len, err);
    bus_msg_ack(m, NULL);
    bus_msg_free(m);
    return rc;
}

/* The chunk's subject; a shuffle call is also a sign of life of the task this thread serves. */
static void chunk_subject(struct nats *n, uint32_t round, uint32_t task, uint32_t attempt,
                          uint32_t partition, char out[SUBJECT_MAX])
{
    snprintf(out, SUBJECT_MAX, "mr.%s.shuffle.%u.%u.%u.%u", n->job, round, task, attempt,
             partition);
    touch_current(n);
}

static int shuffle_put(struct mr_transport *t, uint32_t round, uint32_t task, uint32_t attempt,
                       uint32_t partition, const uint8_t *chunk, size_t len,
                       struct cloister_err *err)
{
    struct nats *n = (struct nats *)t;
    char subject[SUBJECT_MAX];
    chunk_subject(n, round, task, attempt, partition, subject);
    return put_pieces(n, subject, chunk, len, err);
}

static int shuffle_get(struct mr_transport *t, uint32_t round, uint32_t task, uint32_t attempt,
                       uint32_t partition, uint8_t **chunk, size_t *len, struct cloister_err *err)
{
    struct nats *n = (struct nats *)t;
    char subject[SUBJECT_MAX];
    chunk_subject(n, round, task, attempt, partition, subject);
    uint32_t where[2] = {round, partition};
    int rc = get_pieces(n, subject, where, chunk, len, err);
    if (rc == 0 && n->on_get)
        n->on_get(n->arg, chunk, len);
    return rc;
}

static void nats_close(struct mr_transport *t)
{
    ((struct nats *)t)->closed = true;
}

static void nats_free(struct mr_transport *t)
{
    struct nats *n = (struct nats *)t;
    if (!n)
        return;
    if (current_owner == n)
        drop_current();
    while (n->prefetch) {
        struct prefetch *pf = n->prefetch;
        prefetch_drop(n, pf);
        n->prefetch = pf->next;
        free(pf);
    }
    bus_consumer_close(n->task_c);
    bus_consumer_close(n->result_c);
    if (n->owner) {
        bus_stream_delete(n->b, n->tasks, NULL);
        bus_stream_delete(n->b, n->results, NULL);
        bus_stream_delete(n->b, n->shuffle, NULL);
    }
    bus_close(n->b);
    pthread_mutex_destroy(&n->lock);
    pthread_mutex_destroy(&n->pf_lock);
    free(n);
}

static const struct mr_transport_ops nats_ops = {
    task_put, task_get, result_put, result_get, shuffle_put, shuffle_get, nats_close, nats_free,
};

uint64_t mr_transport_nats_shuffle_bytes(struct mr_transport *t)
{
    struct nats *n = (struct nats *)t;
    struct bus_stream_stats st = {0};
    return bus_stream_stats(n->b, n->shuffle, &st, NULL) == 0 ? st.bytes : 0;
}

static int make_streams(struct nats *n, const struct mr_nats_config *c, struct cloister_err *err)
{
    int64_t msg_max = (int64_t)bus_max_payload(n->b);
    if (msg_max > c->queue_max_bytes)
        msg_max = c->queue_max_bytes;
    if (msg_max > c->shuffle_max_bytes)
        msg_max = c->shuffle_max_bytes;
    char shuffle_subject[NAME_MAX_MR];
    snprintf(shuffle_subject, sizeof shuffle_subject, "mr.%s.shuffle.>", n->job);
    struct bus_stream_config q[3] = {
        {n->tasks, n->task_subject, BUS_WORK_QUEUE, BUS_REFUSE_NEW, c->queue_max_bytes,
         (int32_t)msg_max, 0, false},
        {n->results, n->result_subject, BUS_WORK_QUEUE, BUS_REFUSE_NEW, c->queue_max_bytes,
         (int32_t)msg_max, 0, false},
        {n->shuffle, shuffle_subject, BUS_LIMITS, BUS_REFUSE_NEW, c->shuffle_max_bytes,
         (int32_t)msg_max, 0, false},
    };
    for (int i = 0; i < 3; i++) {
        int rc = bus_stream_ensure(n->b, &q[i], err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct mr_transport *mr_transport_nats_new(const struct mr_nats_config *c, struct cloister_err *err)
{
    struct nats *n = calloc(1, sizeof *n);
    if (!n) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the NATS transport");
        return NULL;
    }
    n->base.ops = &nats_ops;
    n->owner = c->owner;
    n->ack_wait_ms = c->ack_wait_ms ? c->ack_wait_ms : 30000;
    n->on_get = c->on_get;
    n->arg = c->arg;
    pthread_mutex_init(&n->lock, NULL);
    pthread_mutex_init(&n->pf_lock, NULL);
    snprintf(n->job, sizeof n->job, "%s", c->job);
    snprintf(n->tasks, sizeof n->tasks, "MRT_%s", n->job);
    snprintf(n->results, sizeof n->results, "MRR_%s", n->job);
    snprintf(n->shuffle, sizeof n->shuffle, "MRS_%s", n->job);
    snprintf(n->task_subject, sizeof n->task_subject, "mr.%s.task", n->job);
    snprintf(n->result_subject, sizeof n->result_subject, "mr.%s.result", n->job);
    struct bus_options bo = {.name = c->owner ? "cloister-mr-client" : "cloister-mr-worker"};
    int rc = (n->b = bus_connect(c->url, &bo, err)) ? 0 : CLOISTER_E_FAILED;
    if (rc == 0)
        n->piece_max = bus_max_payload(n->b) > 2 * PIECE_ROOM
                           ? bus_max_payload(n->b) - PIECE_ROOM - SUBJECT_MAX
                           : PIECE_ROOM;
    if (rc == 0 && c->owner)
        rc = make_streams(n, c, err);
    struct bus_consumer_config tc = {.stream = n->tasks,
                                     .durable = "workers",
                                     .ack_wait_ms = n->ack_wait_ms};
    struct bus_consumer_config rcfg = {.stream = n->results, .durable = "client"};
    if (rc == 0 && !(n->task_c = bus_consumer_open(n->b, &tc, err)))
        rc = CLOISTER_E_FAILED;
    if (rc == 0 && c->owner && !(n->result_c = bus_consumer_open(n->b, &rcfg, err)))
        rc = CLOISTER_E_FAILED;
    if (rc != 0) {
        nats_free(&n->base);
        return NULL;
    }
    return &n->base;
}
