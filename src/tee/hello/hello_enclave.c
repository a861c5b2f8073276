/* hello_enclave.c -- the hello enclave: the smallest useful image, used by `cloister demo`.
 * It greets (showing its own identity) and MACs messages with a key it can only have received
 * by attested provisioning ("demo-key"), which survives restarts sealed to its MRENCLAVE. */
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>

#include "tee/hello/hello.h"
#include "util/hex.h"

static int ecall_greet(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    if (inlen > 64)
        return tee_fail(env, CLOISTER_E_INVALID, "greet: a name has at most 64 bytes");
    char who[8 * 2 + 1], text[160];
    hex_encode(who, tee_self_identity(tee_env_self(env))->mrenclave, 8);
    int n = snprintf(text, sizeof text, "hello, %.*s, from enclave %s", (int)inlen,
                     (const char *)in, who);
    wire_put_raw(out, text, (size_t)n);
    return CLOISTER_OK;
}

static int ecall_mac(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    uint8_t *key = tee_secret_alloc(32), mac[CRYPTO_SHA256_LEN];
    size_t len;
    if (!key)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "mac: no secret memory");
    int rc = tee_secret_get(tee_env_self(env), HELLO_SECRET, key, 32, &len, NULL);
    if (rc == 0)
        crypto_hmac_sha256(mac, key, len, in, inlen);
    tee_secret_free(key, 32);
    if (rc != 0)
        return tee_fail(env, CLOISTER_E_NOT_FOUND,
                        "mac: no 32-byte secret '%s' (provision it first)", HELLO_SECRET);
    wire_put_raw(out, mac, sizeof mac);
    return CLOISTER_OK;
}

#define HELLO_ECALLS(X) X(HELLO_ECALL_GREET, greet) X(HELLO_ECALL_MAC, mac)
TEE_ENCLAVE_DEFINE(hello, HELLO_ECALLS);
