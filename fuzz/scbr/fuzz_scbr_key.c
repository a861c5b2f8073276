/* fuzz_scbr_key.c -- the client's decoder of the router's key answer (scbr_client_key_answer),
 * which a data provider reads from an untrusted host before provisioning. Odd first byte: the
 * rest as the answer, which must decode or be refused, never crash, and never count as "same
 * SK" (the fuzzer cannot seal under SK). Even first byte: a genuine answer built from the rest
 * (epoch, provider key or none, the count) and sealed under SK for the nonce, which must
 * decode to exactly what was sealed. */
#include <cloister/crypto.h>
#include <cloister/scbr_client.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "scbr/client/scbr_client_raw.h"
#include "scbr/common/scbr_proto.h"

static const uint8_t sk[SCBR_SK_LEN] = {7, 7, 7};
static const uint8_t nonce[16] = {1, 2, 3, 4};

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* A genuine answer: has key, provider key (when data[16] is odd), count sealed for nonce. */
static void genuine(const uint8_t *data, size_t size)
{
    if (size < 17 + 32)
        return;
    uint8_t key[32], iv[SCBR_NONCE_LEN] = {9};
    crypto_aead *a = scbr_derive_key(key, sk, SCBR_KEY_HEADER) == 0
                         ? crypto_aead_new(CRYPTO_AES256_GCM, key)
                         : NULL;
    struct wire_writer sealed, w;
    wire_writer_init(&sealed);
    wire_writer_init(&w);
    bool pinned = data[16] & 1;
    if (!a || scbr_envelope_seal(a, SCBR_MSG_KEY, nonce, sizeof nonce, be64(data), 0, iv, data + 8,
                                 8, &sealed) != 0)
        abort();
    wire_put_u8(&w, 1);
    wire_put_bytes(&w, data + 17, pinned ? 32 : 0);
    wire_put_bytes(&w, sealed.buf, sealed.len);
    struct scbr_client_key_info info;
    struct cloister_err err;
    if (scbr_client_key_answer(&info, w.buf, w.len, sk, nonce, sizeof nonce, &err) != 0 ||
        !info.has_key || !info.same || info.pinned != pinned ||
        info.subscriptions != be64(data + 8) || (pinned && memcmp(info.provider, data + 17, 32)))
        abort();
    crypto_aead_free(a);
    wire_writer_free(&sealed);
    wire_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    if (!(data[0] & 1)) {
        genuine(data + 1, size - 1);
        return 0;
    }
    struct scbr_client_key_info info;
    struct cloister_err err;
    int rc = scbr_client_key_answer(&info, data + 1, size - 1, sk, nonce, sizeof nonce, &err);
    if ((rc != 0 && rc != CLOISTER_E_PROTOCOL) || (rc == 0 && info.same))
        abort();
    return 0;
}
