/* study_enclave.c -- the study enclave (image study.enclave): the memory kernels of study_mem.c
 * run on its EPC heap (tee_malloc), so that with a budget below the working set every access
 * beyond it pages encrypted memory as SGX does. The host times the ecalls; nothing here reads a
 * clock. One working set at a time, kept in the enclave's state between PREPARE and MEM. */
#include <cloister/tee_enclave.h>

#include <string.h>

#include "study_mem.h"

struct study_state {
    uint64_t *buf;
    size_t words;
    struct study_cursor cursor;
};

static int ecall_prepare(struct tee_env *env, const uint8_t *in, size_t inlen,
                         struct wire_writer *out)
{
    (void)out;
    struct study_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint64_t bytes = wire_get_u64(&r);
    if (wire_reader_finish(&r) != 0 || bytes < 64 || bytes > ((uint64_t)1 << 40))
        return tee_fail(env, CLOISTER_E_INVALID, "prepare: expected u64 bytes (64 B .. 1 TiB)");
    tee_free(st->buf);
    st->words = 0;
    if (!(st->buf = tee_malloc((size_t)bytes)))
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "prepare: no enclave memory for %llu bytes",
                        (unsigned long long)bytes);
    memset(st->buf, 0x5a, (size_t)bytes); /* touched: resident, or paged out encrypted */
    st->words = (size_t)bytes / 8;
    study_cursor_init(&st->cursor);
    return CLOISTER_OK;
}

static int ecall_mem(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct study_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint8_t p = wire_get_u8(&r);
    uint64_t n = wire_get_u64(&r);
    if (wire_reader_finish(&r) != 0 || p >= STUDY_PATTERNS)
        return tee_fail(env, CLOISTER_E_INVALID, "mem: expected u8 pattern (0..3), u64 accesses");
    if (!st->buf)
        return tee_fail(env, CLOISTER_E_STATE, "mem: no working set (prepare first)");
    wire_put_u64(out, study_mem_run(st->buf, st->words, (enum study_pattern)p, n, &st->cursor));
    return CLOISTER_OK;
}

static int ecall_echo(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    (void)env;
    (void)in;
    (void)inlen;
    (void)out;
    return CLOISTER_OK;
}

static int ecall_alloc(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    (void)out;
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint32_t bytes = wire_get_u32(&r);
    uint64_t n = wire_get_u64(&r);
    if (wire_reader_finish(&r) != 0 || bytes == 0 || bytes > (1u << 24))
        return tee_fail(env, CLOISTER_E_INVALID, "alloc: expected u32 bytes (1 .. 16 MiB), u64 n");
    for (uint64_t i = 0; i < n; i++) {
        volatile uint8_t *p = tee_malloc(bytes);
        if (!p)
            return tee_fail(env, CLOISTER_E_NO_MEMORY, "alloc: no enclave memory");
        p[0] = (uint8_t)i;
        tee_free((void *)p);
    }
    return CLOISTER_OK;
}

#define STUDY_ECALLS(X)                                                                            \
    X(STUDY_ECALL_PREPARE, prepare)                                                                \
    X(STUDY_ECALL_MEM, mem) X(STUDY_ECALL_ECHO, echo) X(STUDY_ECALL_ALLOC, alloc)
TEE_ENCLAVE_DEFINE_WITH(study, STUDY_ECALLS, .state_size = sizeof(struct study_state));
