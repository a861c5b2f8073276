/* test_enclave.c -- the test enclave: echo and counters for the transport tests, a sealing
 * round trip, an ocall, and misbehaviours (open, fork, exec, crash, loop, corrupting its own
 * ring slot, exposing a marker in memory) for the sandbox and robustness tests. Its image
 * imports fork and execve on purpose, so signing it needs --force (tee_sign does not audit). */
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tee/ring/ring.h"
#include "test_enclave.h"

struct test_state {
    _Atomic uint64_t count;
    bool started;
};

static int test_on_start(struct tee_env *env)
{
    struct test_state *st = tee_env_state(env);
    st->started = true;
    return CLOISTER_OK;
}

static int ecall_echo(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    wire_put_raw(out, in, inlen);
    return CLOISTER_OK;
}

static int ecall_count(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct test_state *st = tee_env_state(env);
    wire_put_u64(out, atomic_fetch_add(&st->count, 1) + 1);
    return CLOISTER_OK;
}

static int ecall_started(struct tee_env *env, const uint8_t *in, size_t inlen,
                         struct wire_writer *out)
{
    struct test_state *st = tee_env_state(env);
    wire_put_u8(out, st->started);
    return CLOISTER_OK;
}

static int ecall_seal_roundtrip(struct tee_env *env, const uint8_t *in, size_t inlen,
                                struct wire_writer *out)
{
    if (inlen < 1)
        return tee_fail(env, CLOISTER_E_INVALID, "seal_roundtrip: no policy");
    size_t n = inlen - 1, cap = tee_sealed_size(n), blen, plen;
    uint8_t *blob = tee_malloc(cap), *pt = tee_malloc(n ? n : 1);
    struct cloister_err err = {0};
    int rc = CLOISTER_OK;
    if (!blob || !pt)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "seal_roundtrip: out of memory");
    else if (tee_seal(tee_env_self(env), in[0], "aad", 3, in + 1, n, blob, cap, &blen, NULL) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "seal_roundtrip: seal failed");
    else if (tee_unseal(tee_env_self(env), blob, blen, "aad", 3, pt, n, &plen, &err) != 0)
        rc = tee_fail(env, CLOISTER_E_DENIED, "seal_roundtrip: %s", err.msg);
    else
        wire_put_raw(out, pt, plen);
    tee_free(blob);
    tee_free(pt);
    return rc;
}

static int ecall_ocall_echo(struct tee_env *env, const uint8_t *in, size_t inlen,
                            struct wire_writer *out)
{
    uint8_t *answer;
    size_t len;
    int rc = tee_ocall(env, TEST_OCALL_ECHO, in, inlen, &answer, &len);
    if (rc == CLOISTER_OK)
        wire_put_raw(out, answer, len);
    tee_free(answer);
    return rc;
}

static int ecall_big(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    if (inlen != 4)
        return tee_fail(env, CLOISTER_E_INVALID, "big: expected a u32");
    uint32_t n = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    uint8_t *p = wire_writer_reserve(out, n);
    if (!p)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "big: out of memory");
    memset(p, 0xab, n);
    wire_writer_commit(out, n);
    return CLOISTER_OK;
}

static int ecall_fail(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    return tee_fail(env, CLOISTER_E_FAILED, "as asked");
}

static int ecall_try_open(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    int fd = open("/etc/hostname", O_RDONLY);
    if (fd >= 0)
        close(fd);
    wire_put_str(out, fd >= 0 ? "opened" : "refused");
    return CLOISTER_OK;
}

static int ecall_try_fork(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    wire_put_str(out, pid > 0 ? "forked" : "refused");
    return CLOISTER_OK;
}

static int ecall_try_exec(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    char *argv[] = {"true", NULL};
    execve("/bin/true", argv, argv + 1);
    wire_put_str(out, "exec failed");
    return CLOISTER_OK;
}

static char *volatile nowhere;

static int ecall_crash(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    *nowhere = 1;
    return CLOISTER_OK;
}

static void spin_forever(void)
{
    for (;;)
        __asm__ volatile("" ::: "memory");
}

static int ecall_loop(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    spin_forever();
    return CLOISTER_OK;
}

/* A hostile enclave: it maps its own ring (fd 3) and corrupts the slot it serves. */
static int ecall_scribble(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    struct ring ring;
    if (inlen != 1 || ring_attach(&ring, RING_FD) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "scribble: no ring here");
    for (uint32_t i = 0; i < ring.nslots; i++) {
        struct ring_slot *s = ring_slot(&ring, i);
        if (atomic_load(&s->state) != RING_SLOT_BUSY)
            continue;
        if (in[0] == SCRIBBLE_STATE) {
            atomic_store(&s->state, 77);
        } else {
            memset(ring_slot_data(&ring, i), 0xee, 64);
            atomic_store(&s->len, in[0] == SCRIBBLE_LENGTH ? 0xfffffff0u : 64);
            atomic_store(&s->state, RING_SLOT_DONE);
        }
        ring_futex_wake(&s->state, 1);
    }
    spin_forever();
    return CLOISTER_OK;
}

static uint8_t marker[32] = "cloister enclave marker 0123456";

static int ecall_marker(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    wire_put_u64(out, (uint64_t)(uintptr_t)marker);
    wire_put_raw(out, marker, sizeof marker);
    return CLOISTER_OK;
}

#define TEST_ECALLS(X)                                                                             \
    X(TEST_ECALL_ECHO, echo)                                                                       \
    X(TEST_ECALL_COUNT, count)                                                                     \
    X(TEST_ECALL_SEAL_ROUNDTRIP, seal_roundtrip)                                                   \
    X(TEST_ECALL_OCALL_ECHO, ocall_echo)                                                           \
    X(TEST_ECALL_BIG, big)                                                                         \
    X(TEST_ECALL_FAIL, fail)                                                                       \
    X(TEST_ECALL_STARTED, started)                                                                 \
    X(TEST_ECALL_TRY_OPEN, try_open)                                                               \
    X(TEST_ECALL_TRY_FORK, try_fork)                                                               \
    X(TEST_ECALL_TRY_EXEC, try_exec)                                                               \
    X(TEST_ECALL_CRASH, crash)                                                                     \
    X(TEST_ECALL_LOOP, loop)                                                                       \
    X(TEST_ECALL_SCRIBBLE, scribble)                                                               \
    X(TEST_ECALL_MARKER, marker)

TEE_ENCLAVE_DEFINE_WITH(test, TEST_ECALLS, .state_size = sizeof(struct test_state),
                        .on_start = test_on_start);
