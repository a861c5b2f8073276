/* report_body.c -- the 384-byte SGX report body (sgx_report_body_t), shared by local reports and
 * cloister-sim-v1 evidence, so that one parser serves the simulated format and, later, the
 * body inside a DCAP quote. Integers are little-endian as in SGX; the reserved ranges must be
 * zero, which keeps the encoding canonical. */
#include "tee/common/common.h"

#include <cloister/crypto.h>

#include <string.h>

enum {
    OFF_CPU_SVN = 0,
    OFF_MISC_SELECT = 16,
    OFF_EXT_PROD_ID = 32,
    OFF_ATTRIBUTES = 48,
    OFF_XFRM = 56,
    OFF_MRENCLAVE = 64,
    OFF_MRSIGNER = 128,
    OFF_CONFIG_ID = 192,
    OFF_PROD_ID = 256,
    OFF_SVN = 258,
    OFF_CONFIG_SVN = 260,
    OFF_FAMILY_ID = 304,
    OFF_REPORT_DATA = 320,
};

static const struct {
    size_t off, len;
} reserved[] = {{20, 12}, {96, 32}, {160, 32}, {262, 42}};

#define KNOWN_ATTRIBUTES (TEE_ATTR_INIT | TEE_ATTR_DEBUG | TEE_ATTR_MODE64BIT | TEE_ATTR_SIMULATED)

void tee_report_body_pack(const struct tee_report_body *b, uint8_t out[TEE_REPORT_BODY_LEN])
{
    memset(out, 0, TEE_REPORT_BODY_LEN);
    memcpy(out + OFF_CPU_SVN, b->cpu_svn, sizeof b->cpu_svn);
    tee_le32(out + OFF_MISC_SELECT, b->misc_select);
    memcpy(out + OFF_EXT_PROD_ID, b->ext_product_id, sizeof b->ext_product_id);
    tee_le64(out + OFF_ATTRIBUTES, b->attributes);
    tee_le64(out + OFF_XFRM, b->xfrm);
    memcpy(out + OFF_MRENCLAVE, b->mrenclave, TEE_HASH_LEN);
    memcpy(out + OFF_MRSIGNER, b->mrsigner, TEE_HASH_LEN);
    memcpy(out + OFF_CONFIG_ID, b->config_id, sizeof b->config_id);
    tee_le16(out + OFF_PROD_ID, b->product_id);
    tee_le16(out + OFF_SVN, b->svn);
    tee_le16(out + OFF_CONFIG_SVN, b->config_svn);
    memcpy(out + OFF_FAMILY_ID, b->family_id, sizeof b->family_id);
    memcpy(out + OFF_REPORT_DATA, b->report_data, TEE_REPORT_DATA_LEN);
}

int tee_report_body_unpack(struct tee_report_body *b, const uint8_t in[TEE_REPORT_BODY_LEN],
                           struct cloister_err *err)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        for (size_t j = 0; j < reserved[i].len; j++)
            if (in[reserved[i].off + j])
                return cloister_errf(err, CLOISTER_E_INVALID,
                                     "report body: reserved byte %zu is not zero",
                                     reserved[i].off + j);
    uint64_t attributes = tee_get_le(in + OFF_ATTRIBUTES, 8);
    if (attributes & ~KNOWN_ATTRIBUTES)
        return cloister_errf(err, CLOISTER_E_INVALID, "report body: unknown attribute bits 0x%llx",
                             (unsigned long long)(attributes & ~KNOWN_ATTRIBUTES));
    memset(b, 0, sizeof *b);
    memcpy(b->cpu_svn, in + OFF_CPU_SVN, sizeof b->cpu_svn);
    b->misc_select = (uint32_t)tee_get_le(in + OFF_MISC_SELECT, 4);
    memcpy(b->ext_product_id, in + OFF_EXT_PROD_ID, sizeof b->ext_product_id);
    b->attributes = attributes;
    b->xfrm = tee_get_le(in + OFF_XFRM, 8);
    memcpy(b->mrenclave, in + OFF_MRENCLAVE, TEE_HASH_LEN);
    memcpy(b->mrsigner, in + OFF_MRSIGNER, TEE_HASH_LEN);
    memcpy(b->config_id, in + OFF_CONFIG_ID, sizeof b->config_id);
    b->product_id = (uint16_t)tee_get_le(in + OFF_PROD_ID, 2);
    b->svn = (uint16_t)tee_get_le(in + OFF_SVN, 2);
    b->config_svn = (uint16_t)tee_get_le(in + OFF_CONFIG_SVN, 2);
    memcpy(b->family_id, in + OFF_FAMILY_ID, sizeof b->family_id);
    memcpy(b->report_data, in + OFF_REPORT_DATA, TEE_REPORT_DATA_LEN);
    return 0;
}

void tee_bind_report_data(uint8_t out[TEE_REPORT_DATA_LEN], const void *data, size_t data_len,
                          const void *nonce, size_t nonce_len)
{
    crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA512);
    crypto_hash_update(h, data, data_len);
    crypto_hash_update(h, nonce, nonce_len);
    crypto_hash_final(h, out);
}
