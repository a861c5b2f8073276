/* pod_enclave.c -- the pod enclave (image pod.enclave): the workload an orchestrated SGX pod
 * runs. It holds enclave memory on demand, as the trace's jobs use memory: grow allocates and
 * touches whole MiB blocks from the enclave's EPC heap, release gives them all back. Its heap
 * asks the host for every chunk it grows by, so a pod in an EPC accounting group that grows past
 * the group's limit gets grow refused (what a lying pod meets), and the enclave stays healthy. */
#include <cloister/tee_enclave.h>

#include <string.h>

#include <cloister/orch.h>

#define BLOCK ((size_t)1 << 20)
#define BLOCKS_MAX 4096 /* 4 GiB held at most */

struct pod_state {
    void *blocks[BLOCKS_MAX];
    size_t n;
};

static void put_held(struct wire_writer *out, const struct pod_state *st)
{
    wire_put_u64(out, (uint64_t)st->n * BLOCK);
}

static int ecall_grow(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct pod_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint64_t bytes = wire_get_u64(&r);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "grow: %s", wire_reader_error(&r));
    uint64_t blocks = (bytes + BLOCK - 1) / BLOCK;
    if (blocks > BLOCKS_MAX - st->n)
        return tee_fail(env, CLOISTER_E_TOO_BIG, "grow: at most %d MiB in all", BLOCKS_MAX);
    for (uint64_t i = 0; i < blocks; i++) {
        void *b = tee_malloc(BLOCK);
        if (!b)
            return tee_fail(env, CLOISTER_E_NO_MEMORY,
                            "grow: no enclave memory for MiB %zu (%zu MiB held)", st->n + 1, st->n);
        memset(b, 0x5a, BLOCK); /* touched: resident, or paged out encrypted */
        st->blocks[st->n++] = b;
    }
    put_held(out, st);
    return CLOISTER_OK;
}

static int ecall_release(struct tee_env *env, const uint8_t *in, size_t inlen,
                         struct wire_writer *out)
{
    (void)in;
    (void)inlen;
    struct pod_state *st = tee_env_state(env);
    while (st->n)
        tee_free(st->blocks[--st->n]);
    put_held(out, st);
    return CLOISTER_OK;
}

#define POD_ECALLS(X) X(ORCH_POD_ECALL_GROW, grow) X(ORCH_POD_ECALL_RELEASE, release)
TEE_ENCLAVE_DEFINE_WITH(pod, POD_ECALLS, .state_size = sizeof(struct pod_state));
