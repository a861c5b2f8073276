/* fuzz_asky_ecall.c -- the asky enclave's ecall handlers on arbitrary input from the
 * (untrusted) host. The trusted code is the real enclave's (enclave_asky) run in-process as the
 * sim backend does. Every input gets a fresh instance (set up, one user "u", one group "g" of
 * it), and the first byte picks the ecall (every one but SETUP), the rest is its input.
 * Handlers must answer or refuse without crashing, leaking or reading out of bounds; no
 * envelope may be built for a request whose proof was not made with u's key (impossible for
 * random bytes: abort). */
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

#include <stdlib.h>
#include <string.h>

#include "asky/common/ecalls.h"
#include "common/fuzz_common.h"
#include "tee/enclave/rt.h"

#define LIMIT (1u << 20)
TEE_ENCLAVE_DECLARE(asky);

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=32";
}

static void call_ok(struct tee_rt *rt, uint32_t number, struct wire_writer *in)
{
    struct wire_writer out;
    wire_writer_init(&out);
    if (fuzz_call(rt, number, in->buf, in->len, &out) != CLOISTER_OK)
        abort();
    wire_writer_free(&out);
    wire_writer_free(in);
    wire_writer_init(in);
}

static struct tee_rt *instance(void)
{
    struct tee_rt *rt = fuzz_instance(&tee_enclave_asky, LIMIT);
    struct wire_writer in;
    wire_writer_init(&in);
    call_ok(rt, ASKY_ECALL_SETUP, &in);
    wire_put_str(&in, "u");
    call_ok(rt, ASKY_ECALL_USER_ADD, &in);
    wire_put_str(&in, "g");
    wire_put_str(&in, "u");
    call_ok(rt, ASKY_ECALL_GROUP_CREATE, &in);
    wire_writer_free(&in);
    return rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t numbers[] = {
        ASKY_ECALL_LOAD,         ASKY_ECALL_USERS,           ASKY_ECALL_NAME,
        ASKY_ECALL_USER_ADD,     ASKY_ECALL_GROUP_CREATE,    ASKY_ECALL_GROUP_ADD,
        ASKY_ECALL_GROUP_REMOVE, ASKY_ECALL_ENVELOPE,        ASKY_ECALL_USER_FORGET,
        ASKY_ECALL_SEALED_OPEN,  ASKY_ECALL_SEALED_ENVELOPE, ASKY_ECALL_TICKET_CHECK};
    if (size < 1)
        return 0;
    uint32_t number = numbers[data[0] % (sizeof numbers / sizeof *numbers)];
    struct tee_rt *rt = instance();
    struct wire_writer out;
    wire_writer_init(&out);
    int rc = fuzz_call(rt, number, data + 1, size - 1, &out);
    /* no envelope, no sealed request and no write ticket without a member's key or a client's
     * package for a real offer */
    if (rc == CLOISTER_OK &&
        (number == ASKY_ECALL_ENVELOPE || number == ASKY_ECALL_SEALED_OPEN ||
         number == ASKY_ECALL_SEALED_ENVELOPE || number == ASKY_ECALL_TICKET_CHECK))
        abort();
    wire_writer_free(&out);
    tee_rt_free(rt);
    return 0;
}
