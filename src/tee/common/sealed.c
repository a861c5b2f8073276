/* sealed.c -- the sealed blob's header (layout in tee_trust.h), written and parsed in one
 * place; the cryptography is in trust/seal.c. The header is fixed-length so that "header ||
 * caller AAD" is an unambiguous GCM associated data. */
#include "tee/common/common.h"

#include <string.h>

void tee_sealed_put_header(uint8_t out[TEE_SEAL_HEADER_LEN], const struct tee_sealed_view *v)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, out, TEE_SEAL_HEADER_LEN);
    wire_put_header(&w, "CLSL", 1);
    wire_put_u8(&w, (uint8_t)v->policy);
    wire_put_u16(&w, v->product_id);
    wire_put_u16(&w, v->svn);
    wire_put_raw(&w, v->key_id, TEE_KEY_ID_LEN);
    wire_put_raw(&w, v->nonce, sizeof v->nonce);
    wire_put_u32(&w, (uint32_t)v->ciphertext_len);
}

int tee_sealed_parse(struct tee_sealed_view *v, const void *blob, size_t len,
                     struct cloister_err *err)
{
    memset(v, 0, sizeof *v);
    struct wire_reader r;
    wire_reader_init(&r, blob, len);
    wire_get_header(&r, "CLSL", 1);
    uint8_t policy = wire_get_u8(&r);
    v->product_id = wire_get_u16(&r);
    v->svn = wire_get_u16(&r);
    wire_get_raw_into(&r, v->key_id, TEE_KEY_ID_LEN);
    wire_get_raw_into(&r, v->nonce, sizeof v->nonce);
    uint32_t n = wire_get_u32(&r);
    if (wire_reader_ok(&r) && policy != TEE_SEAL_MRENCLAVE && policy != TEE_SEAL_MRSIGNER)
        wire_reader_fail(&r, "unknown sealing policy");
    if (wire_reader_ok(&r) && n < 16)
        wire_reader_fail(&r, "ciphertext shorter than its tag");
    v->ciphertext = wire_get_raw(&r, n);
    if (tee_wire_finish(&r, "sealed blob is malformed", err)) {
        memset(v, 0, sizeof *v);
        return -1;
    }
    v->policy = (enum tee_seal_policy)policy;
    v->ciphertext_len = n;
    return 0;
}
