/* mr_transport_mem.c -- the in-process transport of mr_transport.h: two FIFO queues under one
 * lock, and a shuffle store of files named by (round, task, attempt, partition) in a work
 * directory. The files hold sealed chunks only; they are written without fsync (a crash loses
 * the job, which is re-run, never a result) and removed with the directory. */
#include "mapreduce/host/mr_transport.h"

#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_MAX ((size_t)1 << 30)

struct msg {
    struct msg *next;
    size_t len;
    uint8_t data[];
};

struct queue {
    struct msg *head, *tail;
    pthread_cond_t cond;
};

struct mem {
    struct mr_transport base;
    pthread_mutex_t lock;
    struct queue tasks, results;
    bool closed;
    char *dir;
    uint64_t shuffle_bytes;
    void (*on_get)(void *arg, uint8_t **chunk, size_t *len);
    void *arg;
};

static int put(struct mem *m, struct queue *q, const uint8_t *data, size_t len,
               struct cloister_err *err)
{
    struct msg *e = malloc(sizeof *e + len);
    if (!e)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a %zu-byte message", len);
    e->next = NULL;
    e->len = len;
    memcpy(e->data, data, len);
    pthread_mutex_lock(&m->lock);
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int get(struct mem *m, struct queue *q, int timeout_ms, uint8_t **data, size_t *len,
               struct cloister_err *err)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&m->lock);
    while (!q->head && !m->closed)
        if (pthread_cond_timedwait(&q->cond, &m->lock, &until) == ETIMEDOUT)
            break;
    struct msg *e = m->closed ? NULL : q->head;
    if (e) {
        q->head = e->next;
        if (!q->head)
            q->tail = NULL;
    }
    bool closed = m->closed;
    pthread_mutex_unlock(&m->lock);
    if (closed)
        return cloister_errf(err, CLOISTER_E_STATE, "the transport was closed");
    if (!e)
        return 0;
    *len = e->len;
    *data = (uint8_t *)e;
    memmove(e, e->data, e->len); /* hand over the block, payload first */
    return 1;
}

static int task_put(struct mr_transport *t, const uint8_t *msg, size_t len,
                    struct cloister_err *err)
{
    struct mem *m = (struct mem *)t;
    return put(m, &m->tasks, msg, len, err);
}

static int task_get(struct mr_transport *t, int timeout_ms, uint8_t **msg, size_t *len,
                    struct cloister_err *err)
{
    struct mem *m = (struct mem *)t;
    return get(m, &m->tasks, timeout_ms, msg, len, err);
}

static int result_put(struct mr_transport *t, const uint8_t *msg, size_t len,
                      struct cloister_err *err)
{
    struct mem *m = (struct mem *)t;
    return put(m, &m->results, msg, len, err);
}

static int result_get(struct mr_transport *t, int timeout_ms, uint8_t **msg, size_t *len,
                      struct cloister_err *err)
{
    struct mem *m = (struct mem *)t;
    return get(m, &m->results, timeout_ms, msg, len, err);
}

static void chunk_path(const struct mem *m, char *path, size_t cap, uint32_t round, uint32_t task,
                       uint32_t attempt, uint32_t partition)
{
    snprintf(path, cap, "%s/r%u-m%u-a%u-p%u", m->dir, round, task, attempt, partition);
}

static int shuffle_put(struct mr_transport *t, uint32_t round, uint32_t task, uint32_t attempt,
                       uint32_t partition, const uint8_t *chunk, size_t len,
                       struct cloister_err *err)
{
    struct mem *m = (struct mem *)t;
    char path[4096];
    chunk_path(m, path, sizeof path, round, task, attempt, partition);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 || file_write_full(fd, chunk, len) != 0 ? -1 : 0;
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    if (rc != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "shuffle store: cannot write a chunk: %s",
                             strerror(errno));
    pthread_mutex_lock(&m->lock);
    m->shuffle_bytes += len;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int shuffle_get(struct mr_transport *t, uint32_t round, uint32_t task, uint32_t attempt,
                       uint32_t partition, uint8_t **chunk, size_t *len, struct cloister_err *err)
{
    struct mem *m = (struct mem *)t;
    char path[4096];
    chunk_path(m, path, sizeof path, round, task, attempt, partition);
    if (file_read_all(path, CHUNK_MAX, chunk, len) != 0)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND,
                             "shuffle store: no chunk of map task %u "
                             "for reducer %u",
                             task, partition);
    if (m->on_get)
        m->on_get(m->arg, chunk, len);
    return 0;
}

static void mem_close(struct mr_transport *t)
{
    struct mem *m = (struct mem *)t;
    pthread_mutex_lock(&m->lock);
    m->closed = true;
    pthread_cond_broadcast(&m->tasks.cond);
    pthread_cond_broadcast(&m->results.cond);
    pthread_mutex_unlock(&m->lock);
}

static void drain(struct queue *q)
{
    while (q->head) {
        struct msg *e = q->head;
        q->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&q->cond);
}

static void mem_free(struct mr_transport *t)
{
    struct mem *m = (struct mem *)t;
    if (!m)
        return;
    drain(&m->tasks);
    drain(&m->results);
    pthread_mutex_destroy(&m->lock);
    file_remove_tree(m->dir);
    free(m->dir);
    free(m);
}

static const struct mr_transport_ops MEM_OPS = {task_put,    task_get,    result_put, result_get,
                                                shuffle_put, shuffle_get, mem_close,  mem_free};

struct mr_transport *mr_transport_mem_new(const char *dir,
                                          void (*on_get)(void *arg, uint8_t **chunk, size_t *len),
                                          void *arg, struct cloister_err *err)
{
    struct mem *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a transport");
        return NULL;
    }
    if (file_mkdirs(dir, 0700) != 0) {
        cloister_errf(err, CLOISTER_E_SYSTEM, "cannot create the work directory %s: %s", dir,
                      strerror(errno));
        free(m->dir);
        free(m);
        return NULL;
    }
    m->base.ops = &MEM_OPS;
    m->on_get = on_get;
    m->arg = arg;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->tasks.cond, NULL);
    pthread_cond_init(&m->results.cond, NULL);
    return &m->base;
}

uint64_t mr_transport_mem_shuffle_bytes(struct mr_transport *t)
{
    struct mem *m = (struct mem *)t;
    pthread_mutex_lock(&m->lock);
    uint64_t n = m->shuffle_bytes;
    pthread_mutex_unlock(&m->lock);
    return n;
}
