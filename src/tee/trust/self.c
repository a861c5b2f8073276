/* self.c -- tee_self: an enclave's identity together with the platform secrets it may use
 * (SGX: what EGETKEY and EREPORT know about the running enclave).
 *
 * Everything that needs the platform is computed here, once: the HKDF pseudo-random key of the
 * root secret, the loaded attestation key, the report body template and the encoded
 * endorsements. Later calls (seal, report, evidence, provisioning) touch no file and make no
 * system call except getrandom, as the sandbox requires (docs/tee.md section 4). */
#include "tee/trust/self.h"

#include <cloister/tee_enclave.h>

#include <stdlib.h>
#include <string.h>

#include "tee/common/common.h"
#include "tee/platform/platform.h"

int self_derive(const tee_self *s, uint8_t key[32], const char *label,
                const struct self_part *parts, size_t nparts)
{
    uint8_t info[256];
    size_t n = strlen(label) + 1;
    memcpy(info, label, n);
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].n > sizeof info - n)
            return -1;
        memcpy(info + n, parts[i].p, parts[i].n);
        n += parts[i].n;
    }
    return crypto_hkdf_expand(key, 32, s->sec->prk, info, n);
}

static int encode_endorsements(tee_self *s, const tee_platform *p)
{
    const uint8_t *ders[2];
    size_t lens[2];
    tee_platform_endorsements(p, ders, lens);
    struct wire_writer w;
    wire_writer_init(&w);
    tee_evidence_put_endorsements(&w, ders, lens, 2);
    return wire_writer_finish(&w, &s->endorsements, &s->endorsements_len);
}

static void fill_body(tee_self *s)
{
    struct tee_report_body *b = &s->body;
    memset(b, 0, sizeof *b);
    b->attributes = TEE_ATTR_INIT | TEE_ATTR_MODE64BIT | TEE_ATTR_SIMULATED |
                    (s->id.config.debug ? TEE_ATTR_DEBUG : 0);
    memcpy(b->mrenclave, s->id.mrenclave, TEE_HASH_LEN);
    memcpy(b->mrsigner, s->id.mrsigner, TEE_HASH_LEN);
    b->product_id = s->id.config.product_id;
    b->svn = s->id.config.svn;
}

tee_self *tee_self_new(const struct tee_identity *id, const tee_platform *platform,
                       struct cloister_err *err)
{
    tee_self *s = calloc(1, sizeof *s);
    if (!s || !(s->sec = tee_secret_alloc(sizeof *s->sec))) {
        free(s);
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "enclave identity: out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->id = *id;
    fill_body(s);
    crypto_hkdf_extract(s->sec->prk, TEE_LABEL_PLATFORM_SALT, sizeof TEE_LABEL_PLATFORM_SALT,
                        tee_platform_root_secret(platform), TEE_ROOT_SECRET_LEN);
    s->attestation = crypto_signer_new(tee_platform_attestation_seed(platform));
    if (!s->attestation || encode_endorsements(s, platform) ||
        crypto_random(s->report_key_id, sizeof s->report_key_id)) {
        tee_self_free(s);
        cloister_errf(err, CLOISTER_E_FAILED, "enclave identity: cannot load the platform keys");
        return NULL;
    }
    return s;
}

void self_secrets_clear(tee_self *s)
{
    for (size_t i = 0; i < s->n_secrets; i++)
        tee_secret_free(s->secrets[i].value, s->secrets[i].len ? s->secrets[i].len : 1);
    free(s->secrets);
    s->secrets = NULL;
    s->n_secrets = 0;
}

void tee_self_free(tee_self *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < SEAL_CACHE; i++)
        crypto_aead_free(s->cache[i].aead);
    self_secrets_clear(s);
    crypto_signer_free(s->attestation);
    free(s->endorsements);
    tee_secret_free(s->sec, sizeof *s->sec);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const struct tee_identity *tee_self_identity(const tee_self *s)
{
    return &s->id;
}

void tee_self_target(const tee_self *s, uint8_t target_mrenclave[TEE_HASH_LEN])
{
    memcpy(target_mrenclave, s->id.mrenclave, TEE_HASH_LEN);
}
