/* bench_enclave.c -- the benchmark's enclave: one echo ecall, so that what is measured is the
 * boundary (encode, cross, dispatch, copy back) and nothing else. */
#include <cloister/tee_enclave.h>

#include "bench_enclave.h"

static int ecall_echo(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    wire_put_raw(out, in, inlen);
    return CLOISTER_OK;
}

#define BENCH_ECALLS(X) X(BENCH_ECALL_ECHO, echo)
TEE_ENCLAVE_DEFINE(bench, BENCH_ECALLS);
