/* mr_transport.h -- how MapReduce tasks, their outcomes and the shuffle travel between the
 * client (the scheduler) and the worker hosts: a task queue, a result queue and a shuffle store.
 * Everything that travels is sealed (mr_proto.h) or says only what the host already knows
 * (which task, which attempt, which inputs), so a transport is untrusted.
 *
 * The engine sees only these operations; mr_transport_mem_new() implements them in-process
 * (queues in memory, the shuffle store as files in a work directory), and a NATS JetStream
 * transport (a work-queue stream for tasks with ack deadlines and redelivery, a stream per job
 * for the shuffle) implements the same ones across machines.
 *
 * Messages (wire.h):
 *   task:   u8 phase, u32 round, u32 task, u32 attempt, u32 partition, bytes sealed task,
 *           bytes sealed split (map; empty for reduce), count + (u32 task, u32 attempt) inputs
 *   result: u8 status (enum mr_result), u32 round, u32 task, u32 attempt, u32 worker,
 *           bytes sealed outcome (MR_RESULT_OUTCOME), count + u32 refused map tasks
 *           (MR_RESULT_REFUSED), str message (MR_RESULT_RETRY), u64 ecalls. */
#ifndef CLOISTER_MAPREDUCE_TRANSPORT_H
#define CLOISTER_MAPREDUCE_TRANSPORT_H

#include <cloister/error.h>

#include <stddef.h>
#include <stdint.h>

enum mr_result {
    MR_RESULT_OUTCOME = 1, /* the task ran: its sealed outcome */
    MR_RESULT_REFUSED,     /* a reduce refused or missed these map outputs: re-run them */
    MR_RESULT_RETRY,       /* the worker failed or refused the task (dead, tampered): re-run */
};

struct mr_transport {
    const struct mr_transport_ops *ops;
};

struct mr_transport_ops {
    /* Queues a task message (copied). */
    int (*task_put)(struct mr_transport *t, const uint8_t *msg, size_t len,
                    struct cloister_err *err);
    /* The next task (malloc'd), waiting at most timeout_ms: 1 got one, 0 none yet,
     * CLOISTER_E_STATE once closed. */
    int (*task_get)(struct mr_transport *t, int timeout_ms, uint8_t **msg, size_t *len,
                    struct cloister_err *err);
    int (*result_put)(struct mr_transport *t, const uint8_t *msg, size_t len,
                      struct cloister_err *err);
    int (*result_get)(struct mr_transport *t, int timeout_ms, uint8_t **msg, size_t *len,
                      struct cloister_err *err);
    /* The shuffle chunk a map task attempt produced for one reducer. */
    int (*shuffle_put)(struct mr_transport *t, uint32_t round, uint32_t task, uint32_t attempt,
                       uint32_t partition, const uint8_t *chunk, size_t len,
                       struct cloister_err *err);
    int (*shuffle_get)(struct mr_transport *t, uint32_t round, uint32_t task, uint32_t attempt,
                       uint32_t partition, uint8_t **chunk, size_t *len, struct cloister_err *err);
    /* Wakes every waiter; later gets return CLOISTER_E_STATE. */
    void (*close)(struct mr_transport *t);
    void (*free)(struct mr_transport *t);
};

/* The in-process transport: shuffle chunks are files under dir (created; removed by free).
 * on_get, when set, sees every chunk read back (tests play a hostile host with it). */
struct mr_transport *mr_transport_mem_new(const char *dir,
                                          void (*on_get)(void *arg, uint8_t **chunk, size_t *len),
                                          void *arg, struct cloister_err *err);
/* Bytes written to the shuffle store so far. */
uint64_t mr_transport_mem_shuffle_bytes(struct mr_transport *t);

#endif
