/* fuzz_ibbe_ecall.c -- the ibbe enclave's ecall handlers on arbitrary input from the (untrusted)
 * host. The trusted code is the real enclave's (enclave_ibbe), run in-process as the sim
 * backend does, on the platform and identity of fuzz/common. Every input gets a fresh
 * instance (γ set up with n = 2, a group "g" of three members open; freed after the input, so
 * the leak checker sees everything: the instance's state lives in its EPC heap, which the leak
 * checker does not scan), and the first byte picks the
 * ecall (LOAD, EXTRACT, GROUP_LOAD, GROUP_CREATE, GROUP_ADD, GROUP_REMOVE, FILE_KEY, EPOCHS; SETUP only
 * at start: its cost grows with n), the rest is its input. Handlers must answer or refuse
 * without crashing, leaking or reading out of bounds; LOAD of anything but the genuine sealed
 * γ must be refused. */
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fuzz_common.h"
#include "ibbe/common/ecalls.h"
#include "tee/enclave/rt.h"

#define LIMIT (1u << 20)
TEE_ENCLAVE_DECLARE(ibbe);

/* Every input creates and frees an instance with its EPC heap: keep ASan's quarantine of freed
 * blocks small, as fuzz_scbr_router does, to stay within fuzz/run.sh's RSS limit. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=32";
}

/* A started instance with γ (n = 2) and the group "g" = {a, b, c} open. */
static struct tee_rt *instance(void)
{
    struct tee_rt *rt = fuzz_instance(&tee_enclave_ibbe, LIMIT);
    struct wire_writer in, out;
    wire_writer_init(&in);
    wire_writer_init(&out);
    wire_put_varint(&in, 2);
    if (fuzz_call(rt, IBBE_ECALL_SETUP, in.buf, in.len, &out) != CLOISTER_OK)
        abort();
    wire_writer_free(&in);
    wire_writer_free(&out);
    wire_writer_init(&in);
    wire_writer_init(&out);
    wire_put_str(&in, "g");
    wire_put_varint(&in, 3);
    wire_put_str(&in, "a@x");
    wire_put_str(&in, "b@x");
    wire_put_str(&in, "c@x");
    if (fuzz_call(rt, IBBE_ECALL_GROUP_CREATE, in.buf, in.len, &out) != CLOISTER_OK)
        abort();
    wire_writer_free(&in);
    wire_writer_free(&out);
    return rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t ecalls[] = {IBBE_ECALL_LOAD,       IBBE_ECALL_EXTRACT,
                                      IBBE_ECALL_GROUP_LOAD, IBBE_ECALL_GROUP_CREATE,
                                      IBBE_ECALL_GROUP_ADD,  IBBE_ECALL_GROUP_REMOVE,
                                      IBBE_ECALL_FILE_KEY,   IBBE_ECALL_EPOCHS};
    if (size < 1)
        return 0;
    struct tee_rt *rt = instance();
    uint32_t number = ecalls[data[0] % (sizeof ecalls / sizeof ecalls[0])];
    struct wire_writer out;
    wire_writer_init(&out);
    int rc = fuzz_call(rt, number, data + 1, size - 1, &out);
    if (number == IBBE_ECALL_LOAD && rc == CLOISTER_OK)
        abort(); /* only the genuine sealed γ with its public key loads */
    wire_writer_free(&out);
    tee_rt_free(rt);
    return 0;
}
