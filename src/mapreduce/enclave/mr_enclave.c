/* mr_enclave.c -- the enclave image "mapreduce": the worker of mr_worker.h behind ecalls, with
 * the job key taken from the runtime's provisioned secrets (the client provisions it by attested
 * HPKE, tee_verify.h), and the same worker in-process for `--tee none` (mr_inproc_worker). */
#include "mapreduce/enclave/mr_worker.h"

#include <cloister/mapreduce.h>
#include <cloister/tee_enclave.h>

#include <stdlib.h>

struct state {
    struct mr_worker *w;
};

/* The worker with the currently provisioned key; NULL after tee_fail. */
static struct mr_worker *worker(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    uint8_t key[MR_KEY_LEN];
    size_t len = 0;
    struct cloister_err err;
    if (tee_secret_get(tee_env_self(env), MR_SECRET_NAME, key, sizeof key, &len, &err) != 0 ||
        len != MR_KEY_LEN) {
        tee_fail(env, CLOISTER_E_STATE, "mapreduce: no job key provisioned");
        return NULL;
    }
    int rc = mr_worker_set_key(s->w, key);
    crypto_wipe(key, sizeof key);
    if (rc != 0)
        tee_fail(env, CLOISTER_E_NO_MEMORY, "mapreduce: cannot set the job key");
    return rc == 0 ? s->w : NULL;
}

static int dispatch(struct tee_env *env, uint32_t fn, const uint8_t *in, size_t inlen,
                    struct wire_writer *out)
{
    struct mr_worker *w = worker(env);
    struct cloister_err err;
    if (!w)
        return CLOISTER_E_STATE;
    int rc = mr_worker_call(w, fn, in, inlen, out, &err);
    return rc == 0 ? 0 : tee_fail(env, rc, "%s", err.msg);
}

static int ecall_mr_load(struct tee_env *env, const uint8_t *in, size_t inlen,
                         struct wire_writer *out)
{
    return dispatch(env, MR_ECALL_LOAD, in, inlen, out);
}

static int ecall_mr_map(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    return dispatch(env, MR_ECALL_MAP, in, inlen, out);
}

static int ecall_mr_reduce_add(struct tee_env *env, const uint8_t *in, size_t inlen,
                               struct wire_writer *out)
{
    return dispatch(env, MR_ECALL_REDUCE_ADD, in, inlen, out);
}

static int ecall_mr_reduce_end(struct tee_env *env, const uint8_t *in, size_t inlen,
                               struct wire_writer *out)
{
    return dispatch(env, MR_ECALL_REDUCE_END, in, inlen, out);
}

static int mr_start(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    mr_keep_buffers();
    s->w = mr_worker_new();
    return s->w ? 0 : tee_fail(env, CLOISTER_E_NO_MEMORY, "mapreduce: no memory");
}

static void mr_stop(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    mr_worker_free(s->w);
}

/* clang-format off: one ecall a line */
#define MR_ECALLS(X)                                                                               \
    X(MR_ECALL_LOAD, mr_load)                                                                      \
    X(MR_ECALL_MAP, mr_map)                                                                        \
    X(MR_ECALL_REDUCE_ADD, mr_reduce_add)                                                          \
    X(MR_ECALL_REDUCE_END, mr_reduce_end)
/* clang-format on */
TEE_ENCLAVE_DEFINE_WITH(mapreduce, MR_ECALLS, .state_size = sizeof(struct state),
                        .on_start = mr_start, .on_stop = mr_stop);

/* ---- the same worker without an enclave ---- */

static void *inproc_open(const uint8_t key[32])
{
    struct mr_worker *w = mr_worker_new();
    if (w && mr_worker_set_key(w, key) != 0) {
        mr_worker_free(w);
        w = NULL;
    }
    return w;
}

static int inproc_call(void *w, uint32_t fn, const uint8_t *in, size_t inlen, uint8_t **out,
                       size_t *outlen, struct cloister_err *err)
{
    struct wire_writer o;
    wire_writer_init(&o);
    int rc = mr_worker_call(w, fn, in, inlen, &o, err);
    if (rc == 0 && wire_writer_finish(&o, out, outlen) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a worker's answer");
    if (rc != 0)
        wire_writer_free(&o);
    return rc;
}

static void inproc_close(void *w)
{
    mr_worker_free(w);
}

const struct mr_inproc mr_inproc_worker = {inproc_open, inproc_call, inproc_close};
