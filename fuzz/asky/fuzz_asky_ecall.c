/* fuzz_asky_ecall.c -- the asky enclave's ecall handlers on arbitrary input from the
 * (untrusted) host. The trusted code is the real enclave's (enclave_asky) run in-process as the
 * sim backend does. Every input gets a fresh instance (set up, one user "u", one group "g" of
 * it), and the first byte picks the ecall (every one but SETUP), the rest is its input.
 * Handlers must answer or refuse without crashing, leaking or reading out of bounds; no
 * envelope may be built for a request whose proof was not made with u's key (impossible for
 * random bytes: abort). */
#include <cloister/hpke.h>
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

/* A call that must succeed; its output left in out (reset first). */
static void call_ok(struct tee_rt *rt, uint32_t number, struct wire_writer *in,
                    struct wire_writer *out)
{
    wire_writer_free(out);
    wire_writer_init(out);
    if (fuzz_call(rt, number, in->buf, in->len, out) != CLOISTER_OK)
        abort();
    wire_writer_free(in);
    wire_writer_init(in);
}

static struct tee_rt *instance(void)
{
    struct tee_rt *rt = fuzz_instance(&tee_enclave_asky, LIMIT);
    struct wire_writer in, out;
    struct wire_reader r;
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN];
    size_t len;
    wire_writer_init(&in);
    wire_writer_init(&out);
    if (hpke_keypair(pk, sk) != 0)
        abort();
    call_ok(rt, ASKY_ECALL_SETUP, &in, &out);
    wire_put_str(&in, "u");
    wire_put_raw(&in, pk, sizeof pk);
    call_ok(rt, ASKY_ECALL_USER_ADD, &in, &out);
    wire_put_str(&in, "g");
    wire_put_str(&in, "u");
    call_ok(rt, ASKY_ECALL_GROUP_CREATE, &in, &out);
    /* the change's epoch record back, as the host does once it is stored */
    wire_reader_init(&r, out.buf, out.len);
    wire_get_raw(&r, ASKY_ID_LEN);
    wire_get_bytes(&r, LIMIT, &len);
    const uint8_t *epoch = wire_get_bytes(&r, LIMIT, &len);
    if (wire_reader_finish(&r) != 0)
        abort();
    wire_put_raw(&in, epoch, len);
    call_ok(rt, ASKY_ECALL_EPOCH, &in, &out);
    wire_writer_free(&in);
    wire_writer_free(&out);
    return rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t numbers[] = {
        ASKY_ECALL_LOAD,           ASKY_ECALL_USERS,           ASKY_ECALL_NAME,
        ASKY_ECALL_USER_ADD,       ASKY_ECALL_GROUP_CREATE,    ASKY_ECALL_GROUP_ADD,
        ASKY_ECALL_GROUP_REMOVE,   ASKY_ECALL_ENVELOPE,        ASKY_ECALL_USER_FORGET,
        ASKY_ECALL_SEALED_OPEN,    ASKY_ECALL_SEALED_ENVELOPE, ASKY_ECALL_TICKET_CHECK,
        ASKY_ECALL_EPOCH,          ASKY_ECALL_USER_ADD_SEALED, ASKY_ECALL_SESSION_OPEN,
        ASKY_ECALL_SESSION_REQUEST};
    if (size < 1)
        return 0;
    uint32_t number = numbers[data[0] % (sizeof numbers / sizeof *numbers)];
    struct tee_rt *rt = instance();
    struct wire_writer out;
    wire_writer_init(&out);
    int rc = fuzz_call(rt, number, data + 1, size - 1, &out);
    /* no envelope, no sealed request and no write ticket without a member's key or a client's
     * package for a real offer (a session too: none is open) */
    if (rc == CLOISTER_OK &&
        (number == ASKY_ECALL_ENVELOPE || number == ASKY_ECALL_SEALED_OPEN ||
         number == ASKY_ECALL_SEALED_ENVELOPE || number == ASKY_ECALL_TICKET_CHECK ||
         number == ASKY_ECALL_USER_ADD_SEALED || number == ASKY_ECALL_SESSION_OPEN ||
         number == ASKY_ECALL_SESSION_REQUEST))
        abort();
    wire_writer_free(&out);
    tee_rt_free(rt);
    return 0;
}
