/* dispatch.c -- the trusted runtime's core: an enclave instance, the decoding of request
 * messages and the dispatch of each call to its handler, and the handler-facing API of
 * tee_enclave.h (state, self, tee_fail, tee_ocall).
 *
 * Both backends come through tee_rt_handle() with a request that is already private memory, so
 * handlers read their input in place. A request that does not decode gets an error response
 * naming the offset; an unknown number gets CLOISTER_E_NO_ECALL for that call only; a handler
 * whose output does not fit the message limit gets CLOISTER_E_TOO_BIG (its output is dropped). */
#include "tee/enclave/rt.h"
#include "tee/ring/ring.h"

#include <cloister/crypto.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The call the calling thread runs, for the heap's commitment hook (heap.c). */
static _Thread_local struct tee_env *current_env;

struct tee_env *tee_env_current(void)
{
    return current_env;
}

void tee_writer_empty(struct wire_writer *w)
{
    w->len = 0;
    w->failed = false;
}

void tee_writer_reset(struct wire_writer *w)
{
    if (w->buf && w->len)
        crypto_wipe(w->buf, w->len);
    tee_writer_empty(w);
}

tee_self *tee_rt_load_self(const struct tee_identity *id, const char *home,
                           struct cloister_err *err)
{
    tee_platform *platform = tee_platform_open(home, err);
    if (!platform)
        return NULL;
    tee_self *self = tee_self_new(id, platform, err);
    tee_platform_free(platform);
    return self;
}

struct tee_rt *tee_rt_new(const struct tee_enclave_def *def, tee_self *self, size_t max_message)
{
    struct tee_rt *rt = tee_calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    /* The instance's memory: an EPC heap sized and budgeted by its signed config. */
    if (self && !(rt->heap = tee_heap_new(&tee_self_identity(self)->config))) {
        tee_free(rt);
        return NULL;
    }
    if (rt->heap)
        epc_heap_set_commit(rt->heap, tee_heap_commit, rt, TEE_EPC_COMMIT_CHUNK);
    epc_heap *prev = tee_heap_switch(rt->heap);
    if (def && def->state_size)
        rt->state = tee_calloc(1, def->state_size);
    tee_heap_switch(prev);
    if (def && def->state_size && !rt->state) {
        epc_heap_destroy(rt->heap);
        tee_free(rt);
        return NULL;
    }
    rt->def = def;
    rt->self = self;
    rt->max_message = max_message;
    pthread_mutex_init(&rt->start_lock, NULL);
    return rt;
}

void tee_rt_free(struct tee_rt *rt)
{
    if (!rt)
        return;
    if (rt->started && rt->def && rt->def->on_stop) {
        struct tee_env env = {.rt = rt};
        epc_heap *prev = tee_heap_switch(rt->heap);
        rt->def->on_stop(&env);
        tee_heap_switch(prev);
    }
    if (rt->state) {
        crypto_wipe(rt->state, rt->def->state_size);
        tee_free(rt->state);
    }
    tee_self_free(rt->self);
    epc_heap_destroy(rt->heap); /* last: wipes its key; sealed pages become unreadable */
    pthread_mutex_destroy(&rt->start_lock);
    tee_free(rt);
}

static const struct tee_ecall_entry *find_in(const struct tee_ecall_entry *t, size_t n,
                                             uint32_t number)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].number == number)
            return &t[i];
    return NULL;
}

const struct tee_ecall_entry *tee_rt_find(const struct tee_rt *rt, uint32_t number)
{
    if (number >= TEE_ECALL_BUILTIN_FIRST)
        return find_in(tee_builtin_ecalls, tee_builtin_necalls, number);
    return rt->def ? find_in(rt->def->ecalls, rt->def->necalls, number) : NULL;
}

/* Runs one call; its output (or error text) is left in out. */
static int run_call(struct tee_env *env, uint32_t number, const uint8_t *in, size_t inlen,
                    struct wire_writer *out)
{
    const struct tee_ecall_entry *e = tee_rt_find(env->rt, number);
    if (!e)
        return tee_fail(env, CLOISTER_E_NO_ECALL, "no ecall %#x in enclave '%s'", number,
                        env->rt->def ? env->rt->def->name : "(built-ins only)");
    epc_heap *prev = tee_heap_switch(env->rt->heap); /* the call's tee_malloc: enclave memory */
    struct tee_env *prev_env = current_env;
    current_env = env;
    int status = e->handler(env, in, inlen, out);
    current_env = prev_env;
    tee_heap_switch(prev);
    if (status == CLOISTER_OK && !wire_writer_ok(out))
        status = tee_fail(env, CLOISTER_E_NO_MEMORY, "ecall %s: output could not be written",
                          e->name);
    if (status > 0 || status < CLOISTER_E_LAST)
        status = tee_fail(env, CLOISTER_E_FAILED, "ecall %s returned the unknown status %d",
                          e->name, status);
    return status;
}

static void put_result(struct wire_writer *resp, int status, const void *out, size_t len)
{
    wire_put_u8(resp, msg_status_encode(status));
    wire_put_bytes(resp, out, len);
}

/* Bytes a result of len output bytes adds to the response. */
static size_t result_size(size_t len)
{
    return 1 + WIRE_VARINT_MAX + len;
}

void tee_rt_handle(struct tee_rt *rt, struct tee_port *port, const uint8_t *msg, size_t len,
                   struct wire_writer *resp, struct wire_writer *scratch)
{
    struct wire_reader r;
    wire_reader_init(&r, msg, len);
    wire_get_header(&r, MSG_REQUEST, MSG_VERSION);
    size_t count = wire_get_count(&r, 2, TEE_BATCH_MAX);
    if (wire_reader_ok(&r) && count == 0)
        wire_reader_fail(&r, "empty batch");
    size_t body = resp->len;
    wire_put_header(resp, MSG_RESPONSE, MSG_VERSION);
    wire_put_u8(resp, msg_status_encode(CLOISTER_OK));
    wire_put_varint(resp, count);
    for (size_t i = 0; i < count && wire_reader_ok(&r); i++) {
        uint64_t number = wire_get_varint(&r);
        size_t inlen;
        const uint8_t *in = wire_get_bytes(&r, rt->max_message, &inlen);
        if (wire_reader_ok(&r) && number > UINT32_MAX)
            wire_reader_fail(&r, "ecall number out of range");
        if (!wire_reader_ok(&r))
            break;
        struct tee_env env; /* not zeroed whole: error is only read after tee_fail wrote it */
        env.rt = rt;
        env.port = port;
        env.in_ocall = false;
        env.error[0] = '\0';
        int status = run_call(&env, (uint32_t)number, in, inlen, scratch);
        const void *out = status == CLOISTER_OK ? (const void *)scratch->buf : env.error;
        size_t outlen = status == CLOISTER_OK ? scratch->len : strlen(env.error);
        if (resp->len + result_size(outlen) > rt->max_message) {
            status = CLOISTER_E_TOO_BIG;
            snprintf(env.error, sizeof env.error,
                     "ecall %#x: %zu output bytes exceed the %zu-byte message limit",
                     (unsigned)number, outlen, rt->max_message);
            out = env.error;
            outlen = strlen(env.error);
        }
        put_result(resp, status, out, outlen);
        /* Released output is in resp now; output withheld (a failed call) may be secret. */
        if (status == CLOISTER_OK)
            tee_writer_empty(scratch);
        else
            tee_writer_reset(scratch);
    }
    if (wire_reader_finish(&r) == 0 && wire_writer_ok(resp))
        return;
    /* Replace whatever was written with one error response. */
    char text[160];
    snprintf(text, sizeof text, "malformed request: %s",
             wire_writer_ok(resp) ? wire_reader_error(&r) : "response could not be written");
    if (resp->buf)
        crypto_wipe(resp->buf + body, resp->len - body);
    resp->len = body;
    resp->failed = false;
    wire_put_header(resp, MSG_RESPONSE, MSG_VERSION);
    put_result(resp, wire_writer_ok(resp) ? CLOISTER_E_INVALID : CLOISTER_E_NO_MEMORY, text,
               strlen(text));
}

void *tee_env_state(struct tee_env *env)
{
    return env->rt->state;
}

tee_self *tee_env_self(struct tee_env *env)
{
    return env->rt->self;
}

int tee_fail(struct tee_env *env, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(env->error, sizeof env->error, fmt, ap);
    va_end(ap);
    return status;
}

int tee_ocall(struct tee_env *env, uint32_t number, const void *in, size_t inlen, uint8_t **out,
              size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!env->port)
        return tee_fail(env, CLOISTER_E_BUSY, "ocall %#x: no host to call here", number);
    if (inlen > env->rt->max_message - 64)
        return tee_fail(env, CLOISTER_E_TOO_BIG, "ocall %#x: %zu bytes exceed the message limit",
                        number, inlen);
    struct wire_writer req;
    wire_writer_init(&req);
    wire_put_header(&req, MSG_OCALL, MSG_VERSION);
    wire_put_varint(&req, number);
    wire_put_bytes(&req, in, inlen);
    if (!wire_writer_ok(&req)) {
        wire_writer_free(&req);
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "ocall %#x: out of memory", number);
    }
    const uint8_t *answer;
    size_t answer_len;
    env->in_ocall = true; /* the port's own buffers may grow on the EPC heap meanwhile */
    int rc = env->port->ocall(env->port, req.buf, req.len, &answer, &answer_len);
    env->in_ocall = false;
    wire_writer_free(&req);
    if (rc != CLOISTER_OK)
        return tee_fail(env, rc, "ocall %#x: %s", number, cloister_strerror(rc));

    struct wire_reader r;
    wire_reader_init(&r, answer, answer_len);
    wire_get_header(&r, MSG_ANSWER, MSG_VERSION);
    int status = msg_status_decode(&r);
    size_t len;
    const uint8_t *data = wire_get_bytes(&r, env->rt->max_message, &len);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_PROTOCOL, "ocall %#x: malformed answer: %s", number,
                        wire_reader_error(&r));
    if (status != CLOISTER_OK)
        return tee_fail(env, status, "ocall %#x: %.*s", number, (int)(len > 200 ? 200 : len),
                        (const char *)data);
    if (len) {
        if (!(*out = tee_malloc(len)))
            return tee_fail(env, CLOISTER_E_NO_MEMORY, "ocall %#x: out of memory", number);
        memcpy(*out, data, len);
        *outlen = len;
    }
    return CLOISTER_OK;
}
