/* sim.c -- the sim backend: the trusted code linked into the host, called through the same
 * dispatch with the same copies as the proc backend (the request is encoded into private
 * memory, handled by tee_rt_handle, and the response decoded into fresh buffers), so a test
 * that passes here exercises the same code paths minus the process boundary. There is no
 * isolation at all, and the info says so (no sandbox feature in force). */
#include "tee/enclave/rt.h"
#include "tee/host/host.h"

#include <pthread.h>
#include <stdlib.h>

struct sim_port {
    struct tee_port port; /* first: the port's ocall finds its host */
    struct tee_enclave *e;
    struct wire_writer answer;
};

static int sim_ocall(struct tee_port *port, const uint8_t *req, size_t len, const uint8_t **answer,
                     size_t *answer_len)
{
    struct sim_port *sp = (struct sim_port *)port;
    tee_writer_reset(&sp->answer);
    host_serve_ocall(sp->e, req, len, &sp->answer);
    if (!wire_writer_ok(&sp->answer))
        return CLOISTER_E_NO_MEMORY;
    *answer = sp->answer.buf;
    *answer_len = sp->answer.len;
    return CLOISTER_OK;
}

static int sim_start(struct tee_enclave *e, struct cloister_err *err)
{
    struct cloister_err why = {0};
    tee_self *self = tee_rt_load_self(&e->id, e->home, &why);
    if (!self)
        return cloister_errf(err, CLOISTER_E_DENIED, "enclave '%s': %s", e->name, why.msg);
    struct tee_rt *rt = tee_rt_new(e->opt.enclave, self, e->opt.max_message);
    if (!rt) {
        tee_self_free(self);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    e->backend = rt;
    e->pid = 0;
    e->sandbox = (struct tee_sandbox){.secret_memory = tee_secret_memory_kind()};
    return CLOISTER_OK;
}

static void sim_stop(struct tee_enclave *e)
{
    tee_rt_free(e->backend);
    e->backend = NULL;
}

/* Each calling thread keeps its message buffers between calls (the enclave's scratch wiped after
 * each use), so a call costs no allocation but its output; a nested call (an ocall handler
 * calling another sim enclave) gets fresh ones. */
struct sim_buffers {
    struct wire_writer req, resp, scratch;
    bool busy;
};

/* The thread's buffers: found through a thread-local pointer (the fast path); the key only
 * frees them when the thread exits. */
static _Thread_local struct sim_buffers *thread_buffers;
static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;

static void buffers_clear(struct sim_buffers *b)
{
    wire_writer_free(&b->req);
    wire_writer_free(&b->resp);
    wire_writer_free(&b->scratch);
}

static void buffers_free(void *arg)
{
    buffers_clear(arg);
    free(arg);
    thread_buffers = NULL;
}

static void buffers_key_init(void)
{
    pthread_key_create(&buffers_key, buffers_free);
}

static struct sim_buffers *thread_buffers_new(void)
{
    pthread_once(&buffers_once, buffers_key_init);
    struct sim_buffers *b = calloc(1, sizeof *b);
    if (b && pthread_setspecific(buffers_key, b) != 0) {
        free(b);
        b = NULL;
    }
    return thread_buffers = b;
}

static struct sim_buffers *buffers_get(struct sim_buffers *local)
{
    struct sim_buffers *b = thread_buffers ? thread_buffers : thread_buffers_new();
    if (!b || b->busy)
        b = local;
    b->busy = true;
    return b;
}

static void buffers_put(struct sim_buffers *b, struct sim_buffers *local)
{
    tee_writer_empty(&b->req); /* the host's request and the released response: no secrets */
    tee_writer_empty(&b->resp);
    tee_writer_reset(&b->scratch);
    b->busy = false;
    if (b == local)
        buffers_clear(local);
}

static int sim_call(struct tee_enclave *e, struct tee_call *calls, size_t n,
                    struct cloister_err *err)
{
    struct tee_rt *rt = e->backend;
    if (!rt)
        return cloister_errf(err, CLOISTER_E_DEAD, "enclave '%s' is stopped", e->name);
    struct sim_buffers local = {0}, *b = buffers_get(&local);
    struct sim_port port = {.port.ocall = sim_ocall, .e = e};
    wire_writer_init(&port.answer);
    host_put_request(&b->req, calls, n);
    int rc;
    if (!wire_writer_ok(&b->req) || b->req.len > e->opt.max_message) {
        rc = host_request_too_big(e, n, err);
    } else {
        tee_rt_handle(rt, &port.port, b->req.buf, b->req.len, &b->resp, &b->scratch);
        rc = host_get_response(e, b->resp.buf, b->resp.len, calls, n, err);
    }
    buffers_put(b, &local);
    wire_writer_free(&port.answer);
    return rc;
}

static bool sim_alive(struct tee_enclave *e)
{
    return e->backend != NULL;
}

const struct host_backend host_sim_backend = {
    .start = sim_start,
    .stop = sim_stop,
    .call = sim_call,
    .alive = sim_alive,
};
