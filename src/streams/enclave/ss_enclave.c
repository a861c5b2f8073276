/* ss_enclave.c -- the enclave image "streams": a secure run of stages (ss_runner.h) behind
 * ecalls, keyed with the pipeline key the engine provisions by attested HPKE (tee_verify.h), and
 * the same runner in-process for plain stages and `--tee none` (ss_inproc_worker). An enclave
 * answers only LOAD, RUN (sealed batches) and STATS: plaintext never crosses its boundary. */
#include "streams/common/ss_proto.h"
#include "streams/enclave/ss_runner.h"

#include <cloister/streams.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

struct state {
    struct ss_runner *r;
};

/* The runner, made with the provisioned key at the first call; NULL after tee_fail. */
static struct ss_runner *runner(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    if (s->r)
        return s->r;
    uint8_t key[SS_KEY_LEN];
    size_t len = 0;
    struct cloister_err err;
    if (tee_secret_get(tee_env_self(env), SS_SECRET_NAME, key, sizeof key, &len, &err) != 0 ||
        len != SS_KEY_LEN) {
        tee_fail(env, CLOISTER_E_STATE, "streams: no pipeline key provisioned");
        return NULL;
    }
    s->r = ss_runner_new(key);
    crypto_wipe(key, sizeof key);
    if (!s->r)
        tee_fail(env, CLOISTER_E_NO_MEMORY, "streams: no memory");
    return s->r;
}

static int dispatch(struct tee_env *env, uint32_t fn, const uint8_t *in, size_t inlen,
                    struct wire_writer *out)
{
    struct ss_runner *r = runner(env);
    struct cloister_err err;
    if (!r)
        return CLOISTER_E_STATE;
    int rc = ss_runner_call(r, fn, in, inlen, out, &err);
    return rc == 0 ? 0 : tee_fail(env, rc, "%s", err.msg);
}

static int ecall_ss_load(struct tee_env *env, const uint8_t *in, size_t inlen,
                         struct wire_writer *out)
{
    return dispatch(env, SS_CALL_LOAD, in, inlen, out);
}

static int ecall_ss_run(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    return dispatch(env, SS_CALL_RUN, in, inlen, out);
}

static int ecall_ss_stats(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    return dispatch(env, SS_CALL_STATS, in, inlen, out);
}

static int ecall_ss_load_dist(struct tee_env *env, const uint8_t *in, size_t inlen,
                              struct wire_writer *out)
{
    return dispatch(env, SS_CALL_LOAD_DIST, in, inlen, out);
}

static int ecall_ss_run_dist(struct tee_env *env, const uint8_t *in, size_t inlen,
                             struct wire_writer *out)
{
    return dispatch(env, SS_CALL_RUN_DIST, in, inlen, out);
}

static int ecall_ss_checkpoint(struct tee_env *env, const uint8_t *in, size_t inlen,
                               struct wire_writer *out)
{
    return dispatch(env, SS_CALL_CHECKPOINT, in, inlen, out);
}

static int ecall_ss_restore(struct tee_env *env, const uint8_t *in, size_t inlen,
                            struct wire_writer *out)
{
    return dispatch(env, SS_CALL_RESTORE, in, inlen, out);
}

static void ss_stop(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    ss_runner_free(s->r);
}

/* clang-format off: one ecall a line */
#define SS_ECALLS(X)                                                                               \
    X(SS_CALL_LOAD, ss_load)                                                                       \
    X(SS_CALL_RUN, ss_run)                                                                         \
    X(SS_CALL_STATS, ss_stats)                                                                     \
    X(SS_CALL_LOAD_DIST, ss_load_dist)                                                             \
    X(SS_CALL_RUN_DIST, ss_run_dist)                                                               \
    X(SS_CALL_CHECKPOINT, ss_checkpoint)                                                           \
    X(SS_CALL_RESTORE, ss_restore)
/* clang-format on */
TEE_ENCLAVE_DEFINE_WITH(streams, SS_ECALLS, .state_size = sizeof(struct state), .on_stop = ss_stop);

/* ---- the same runner without an enclave ---- */

static void *inproc_open(const uint8_t *key)
{
    return ss_runner_new(key);
}

static int inproc_call(void *r, uint32_t fn, const uint8_t *in, size_t inlen, uint8_t **out,
                       size_t *outlen, struct cloister_err *err)
{
    struct wire_writer o;
    wire_writer_init(&o);
    int rc = ss_runner_call(r, fn, in, inlen, &o, err);
    if (rc == 0 && wire_writer_finish(&o, out, outlen) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a stage's answer");
    if (rc != 0)
        wire_writer_free(&o);
    return rc;
}

static void inproc_close(void *r)
{
    ss_runner_free(r);
}

const struct ss_inproc ss_inproc_worker = {inproc_open, inproc_call, inproc_close};
