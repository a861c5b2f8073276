/* fuzz_tee_ecall.c -- the decoders on both sides of the enclave boundary, with arbitrary bytes.
 * The first byte picks a side:
 *   0: the enclave decodes a request (tee_rt_handle) and must answer with a well-formed
 *      response, whatever it got;
 *   1: a valid request whose ecall makes an ocall, and the rest of the input is what the host
 *      "answers" to that ocall (the enclave decodes untrusted answers too);
 *   2: the host decodes a response from the enclave (host_get_response) for a batch of up to
 *      four calls, and must either accept it or refuse it without leaking. */
#include <cloister/tee_enclave.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "tee/enclave/rt.h"
#include "tee/host/host.h"
#include "tee/ring/ring.h"

#define LIMIT 65536

static int ecall_echo(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    wire_put_raw(out, in, inlen);
    return CLOISTER_OK;
}

static int ecall_ask(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    uint8_t *answer;
    size_t len;
    int rc = tee_ocall(env, 7, in, inlen, &answer, &len);
    if (rc == CLOISTER_OK)
        wire_put_raw(out, answer, len);
    tee_free(answer);
    return rc;
}

#define FUZZ_ECALLS(X) X(1, echo) X(2, ask)
TEE_ENCLAVE_DEFINE(fuzz, FUZZ_ECALLS);

struct fuzz_port {
    struct tee_port port;
    const uint8_t *answer;
    size_t len;
};

static int fuzz_ocall(struct tee_port *port, const uint8_t *req, size_t len, const uint8_t **answer,
                      size_t *answer_len)
{
    struct fuzz_port *fp = (struct fuzz_port *)port;
    *answer = fp->answer;
    *answer_len = fp->len;
    return CLOISTER_OK;
}

/* The response must decode: a whole-request error, or one result per call. */
static void check_response(const struct wire_writer *resp)
{
    struct wire_reader r;
    wire_reader_init(&r, resp->buf, resp->len);
    wire_get_header(&r, MSG_RESPONSE, MSG_VERSION);
    size_t len;
    if (msg_status_decode(&r) != CLOISTER_OK) {
        wire_get_bytes(&r, LIMIT, &len);
    } else {
        uint64_t count = wire_get_varint(&r);
        for (uint64_t i = 0; i < count && wire_reader_ok(&r); i++) {
            msg_status_decode(&r);
            wire_get_bytes(&r, LIMIT, &len);
        }
    }
    if (wire_reader_finish(&r) != 0 || resp->len > LIMIT)
        abort();
}

static void enclave_side(const uint8_t *msg, size_t len, const uint8_t *answer, size_t answer_len)
{
    struct tee_rt *rt = tee_rt_new(&tee_enclave_fuzz, NULL, LIMIT);
    struct fuzz_port port = {{fuzz_ocall}, answer, answer_len};
    struct wire_writer resp, scratch;
    wire_writer_init(&resp);
    wire_writer_init(&scratch);
    tee_rt_handle(rt, &port.port, msg, len, &resp, &scratch);
    check_response(&resp);
    wire_writer_free(&resp);
    wire_writer_free(&scratch);
    tee_rt_free(rt);
}

static void host_side(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    struct tee_enclave e;
    memset(&e, 0, sizeof e);
    e.opt.max_message = LIMIT;
    memcpy(e.name, "fuzz", 5);
    struct tee_call calls[4] = {{.number = 1}, {.number = 2}, {.number = 3}, {.number = 4}};
    size_t n = data[0] % 4 + 1;
    if (host_get_response(&e, data + 1, size - 1, calls, n, NULL) == CLOISTER_OK)
        tee_calls_free(calls, n);
    for (size_t i = 0; i < n; i++)
        if (calls[i].out)
            abort(); /* a refused response must leave nothing allocated */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] == 0) {
        enclave_side(data + 1, size - 1, NULL, 0);
    } else if (data[0] == 1) {
        static const uint8_t ask[] = {'C', 'L', 'R', 'Q', 0, 1, 1, 2, 2, 'h', 'i'};
        enclave_side(ask, sizeof ask, data + 1, size - 1);
    } else if (data[0] == 2) {
        host_side(data + 1, size - 1);
    }
    return 0;
}
