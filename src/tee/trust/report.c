/* report.c -- local reports (EREPORT / sgx_verify_report) and cloister-sim-v1 evidence.
 *
 * A report is MAC'd for one target: report key = HKDF-Expand(platform PRK, "cloister-report-v1"
 * || target MRENCLAVE || key id), so only the target (which derives the key for its own
 * MRENCLAVE) can check it, and only an enclave on this platform can make it. Each side caches
 * the last key it derived: reports between two enclaves derive once.
 *
 * Evidence is the same body signed by the platform attestation key, with the platform's
 * certificates as endorsements (RATS: evidence + endorsements). The endorsement part of the
 * envelope is encoded once in tee_self_new, so making evidence is one signature and a copy. */
#include <stdlib.h>
#include <string.h>

#include "tee/common/common.h"
#include "tee/trust/self.h"

static int report_key(const tee_self *s, const uint8_t target[TEE_HASH_LEN],
                      const uint8_t key_id[TEE_KEY_ID_LEN], uint8_t key[32])
{
    const struct self_part parts[] = {{target, TEE_HASH_LEN}, {key_id, TEE_KEY_ID_LEN}};
    return self_derive(s, key, TEE_LABEL_REPORT, parts, 2);
}

static void pack_body(const tee_self *s, const uint8_t report_data[TEE_REPORT_DATA_LEN],
                      uint8_t out[TEE_REPORT_BODY_LEN])
{
    struct tee_report_body b = s->body;
    memcpy(b.report_data, report_data, TEE_REPORT_DATA_LEN);
    tee_report_body_pack(&b, out);
}

int tee_report_create(tee_self *s, const uint8_t target_mrenclave[TEE_HASH_LEN],
                      const uint8_t report_data[TEE_REPORT_DATA_LEN],
                      uint8_t report[TEE_REPORT_LEN], struct cloister_err *err)
{
    pack_body(s, report_data, report);
    memcpy(report + TEE_REPORT_BODY_LEN, s->report_key_id, TEE_KEY_ID_LEN);
    struct self_secrets *sec = s->sec;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (!sec->create_valid || memcmp(sec->create_target, target_mrenclave, TEE_HASH_LEN) != 0) {
        rc = report_key(s, target_mrenclave, s->report_key_id, sec->create_key);
        memcpy(sec->create_target, target_mrenclave, TEE_HASH_LEN);
        sec->create_valid = rc == 0;
    }
    if (rc == 0)
        crypto_hmac_sha256(report + TEE_REPORT_BODY_LEN + TEE_KEY_ID_LEN, sec->create_key, 32,
                           report, TEE_REPORT_BODY_LEN + TEE_KEY_ID_LEN);
    pthread_mutex_unlock(&s->lock);
    return rc == 0 ? CLOISTER_OK
                   : cloister_errf(err, CLOISTER_E_FAILED, "report: cannot derive the report key");
}

int tee_report_verify(tee_self *s, const uint8_t report[TEE_REPORT_LEN],
                      struct tee_report_body *body, struct cloister_err *err)
{
    const uint8_t *key_id = report + TEE_REPORT_BODY_LEN;
    struct self_secrets *sec = s->sec;
    uint8_t mac[32];
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (!sec->verify_valid || memcmp(sec->verify_key_id, key_id, TEE_KEY_ID_LEN) != 0) {
        rc = report_key(s, s->id.mrenclave, key_id, sec->verify_key);
        memcpy(sec->verify_key_id, key_id, TEE_KEY_ID_LEN);
        sec->verify_valid = rc == 0;
    }
    if (rc == 0)
        crypto_hmac_sha256(mac, sec->verify_key, 32, report, TEE_REPORT_BODY_LEN + TEE_KEY_ID_LEN);
    pthread_mutex_unlock(&s->lock);
    if (rc || !crypto_memeq(mac, key_id + TEE_KEY_ID_LEN, sizeof mac))
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "report does not verify: its MAC is wrong (tampered, made on "
                             "another platform, or targeted at another enclave)");
    return tee_report_body_unpack(body, report, err);
}

int tee_evidence_make(tee_self *s, const uint8_t report_data[TEE_REPORT_DATA_LEN],
                      uint8_t **evidence, size_t *len, struct cloister_err *err)
{
    uint8_t msg[sizeof TEE_LABEL_SIM_EVIDENCE + TEE_REPORT_BODY_LEN];
    uint8_t ev[TEE_REPORT_BODY_LEN + TEE_SIG_LEN];
    memcpy(msg, TEE_LABEL_SIM_EVIDENCE, sizeof TEE_LABEL_SIM_EVIDENCE);
    pack_body(s, report_data, msg + sizeof TEE_LABEL_SIM_EVIDENCE);
    memcpy(ev, msg + sizeof TEE_LABEL_SIM_EVIDENCE, TEE_REPORT_BODY_LEN);
    if (crypto_signer_sign(s->attestation, ev + TEE_REPORT_BODY_LEN, msg, sizeof msg))
        return cloister_errf(err, CLOISTER_E_FAILED, "evidence: the attestation key cannot sign");
    struct wire_writer w;
    wire_writer_init(&w);
    tee_evidence_put_head(&w, TEE_EVIDENCE_SIM_V1, ev, sizeof ev);
    wire_put_raw(&w, s->endorsements, s->endorsements_len);
    if (wire_writer_finish(&w, evidence, len) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "evidence: out of memory");
    return CLOISTER_OK;
}
