/* epc_enclave.c -- the EPC test enclave: allocation churn through tee_malloc and friends, so
 * that a heap larger than its budget pages through the EPC emulation inside the enclave. */
#include <cloister/epc.h>
#include <cloister/tee_enclave.h>

#include <string.h>

#include "epc_enclave.h"

#define BLOCK ((size_t)64 << 10)

static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* Block i's contents for generation g: a stream keyed by (seed, i, g). */
static void pattern(uint64_t *b, size_t words, uint64_t seed, size_t i, uint32_t g)
{
    uint64_t s = seed ^ (i * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)g << 48) ^ 1;
    for (size_t k = 0; k < words; k++)
        b[k] = next(&s);
}

static bool same(const uint64_t *b, size_t words, uint64_t seed, size_t i, uint32_t g)
{
    uint64_t s = seed ^ (i * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)g << 48) ^ 1;
    for (size_t k = 0; k < words; k++)
        if (b[k] != next(&s))
            return false;
    return true;
}

static int ecall_churn(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint32_t mib = wire_get_u32(&r), rounds = wire_get_u32(&r);
    uint64_t seed = wire_get_u64(&r);
    if (wire_reader_finish(&r) != 0 || mib == 0 || mib > 1024)
        return tee_fail(env, CLOISTER_E_INVALID,
                        "churn: expected u32 MiB (1..1024), u32 rounds, "
                        "u64 seed");
    size_t n = ((size_t)mib << 20) / BLOCK, words = BLOCK / 8;
    uint64_t **blocks = tee_calloc(n, sizeof *blocks);
    uint32_t *gen = tee_calloc(n, sizeof *gen);
    bool ok = blocks && gen;
    for (size_t i = 0; ok && i < n; i++) {
        ok = (blocks[i] = tee_malloc(BLOCK)) != NULL;
        if (ok)
            pattern(blocks[i], words, seed, i, 0);
    }
    uint64_t s = seed | 1;
    for (uint32_t k = 0; ok && k < rounds; k++) {
        size_t i = (size_t)(next(&s) % n);
        ok = same(blocks[i], words, seed, i, gen[i]);
        if (ok && k % 3 == 1) { /* moved: the old contents must come along */
            uint64_t *grown = tee_realloc(blocks[i], BLOCK + 4096);
            ok = grown && same(grown, words, seed, i, gen[i]);
            blocks[i] = grown ? grown : blocks[i];
        } else if (ok && k % 3 == 2) { /* replaced: a zeroed block of the same size */
            tee_free(blocks[i]);
            blocks[i] = tee_calloc(1, BLOCK);
            ok = blocks[i] && blocks[i][0] == 0 && blocks[i][words - 1] == 0;
        }
        if (ok)
            pattern(blocks[i], words, seed, i, ++gen[i]);
    }
    for (size_t i = 0; ok && i < n; i++)
        ok = same(blocks[i], words, seed, i, gen[i]);
    for (size_t i = 0; blocks && i < n; i++)
        tee_free(blocks[i]);
    tee_free(blocks);
    tee_free(gen);
    wire_put_u8(out, ok);
    return CLOISTER_OK;
}

static int ecall_alloc(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint64_t bytes = wire_get_u64(&r);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "alloc: expected u64 bytes");
    void *p = tee_malloc((size_t)bytes);
    wire_put_u8(out, p != NULL);
    tee_free(p);
    return CLOISTER_OK;
}

static int ecall_lua_hook(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    (void)in;
    (void)inlen;
    uint64_t seed = 77;
    uint64_t *p = tee_lua_alloc(NULL, NULL, 0, 64 << 10);
    bool ok = p != NULL && epc_heap_owner(p) != NULL;
    if (ok)
        pattern(p, (64 << 10) / 8, seed, 0, 0);
    uint64_t *q = ok ? tee_lua_alloc(NULL, p, 64 << 10, 1 << 20) : NULL; /* grow */
    ok = q && epc_heap_owner(q) && same(q, (64 << 10) / 8, seed, 0, 0);
    uint64_t *r = ok ? tee_lua_alloc(NULL, q, 1 << 20, 4096) : q; /* shrink */
    ok = ok && r && same(r, 4096 / 8, seed, 0, 0);
    wire_put_u8(out, ok);
    tee_lua_alloc(NULL, r, 4096, 0); /* free */
    return CLOISTER_OK;
}

#define EPCPROBE_ECALLS(X)                                                                         \
    X(EPC_ECALL_CHURN, churn) X(EPC_ECALL_ALLOC, alloc) X(EPC_ECALL_LUA_HOOK, lua_hook)
TEE_ENCLAVE_DEFINE(epcprobe, EPCPROBE_ECALLS);
