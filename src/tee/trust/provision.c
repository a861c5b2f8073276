/* provision.c -- the enclave half of attested provisioning, and the provisioned secrets table.
 *
 * An offer is a fresh HPKE key pair whose public key is bound into evidence for the
 * provisioner's nonce; its private key never leaves tee_self and is used once. The table of
 * secrets is what enclave code reads (tee_secret_get); tee_prov_accept returns it sealed so the
 * host can store it, and tee_secrets_restore puts it back after a restart. Values live in
 * tee_secret_alloc memory; every plaintext buffer is wiped before it is freed. */
#include <cloister/hpke.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee/common/common.h"
#include "tee/trust/self.h"

#define NONCE_MIN 16
#define NONCE_MAX 64

int tee_prov_offer(tee_self *s, const uint8_t *nonce, size_t nonce_len, uint8_t **offer,
                   size_t *offer_len, struct cloister_err *err)
{
    if (nonce_len < NONCE_MIN || nonce_len > NONCE_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "provisioning nonce must be %d to %d bytes, got %zu", NONCE_MIN,
                             NONCE_MAX, nonce_len);
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN], rd[TEE_REPORT_DATA_LEN];
    uint8_t hash[TEE_HASH_LEN], *ev = NULL;
    size_t ev_len;
    if (hpke_keypair(pk, sk))
        return cloister_errf(err, CLOISTER_E_FAILED, "provisioning offer: key generation failed");
    tee_bind_report_data(rd, pk, sizeof pk, nonce, nonce_len);
    int rc = tee_evidence_make(s, rd, &ev, &ev_len, err);
    if (rc == 0) {
        crypto_sha256(hash, ev, ev_len);
        if (tee_offer_encode(pk, ev, ev_len, offer, offer_len) != 0)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "provisioning offer: out of memory");
    }
    if (rc == 0) {
        pthread_mutex_lock(&s->lock);
        memcpy(s->sec->offer_sk, sk, sizeof sk);
        memcpy(s->sec->offer_evidence_hash, hash, sizeof hash);
        s->sec->offer_active = true;
        pthread_mutex_unlock(&s->lock);
    }
    crypto_wipe(sk, sizeof sk);
    free(ev);
    return rc;
}

/* ---- the secrets table (lock held) ---- */

static struct secret_entry *find(tee_self *s, const char *name)
{
    for (size_t i = 0; i < s->n_secrets; i++)
        if (strcmp(s->secrets[i].name, name) == 0)
            return &s->secrets[i];
    return NULL;
}

/* Adds or replaces every secret of list; refused as a whole if the table would overflow. */
static int merge(tee_self *s, const struct tee_secret_list *list, struct cloister_err *err)
{
    size_t added = 0;
    for (size_t i = 0; i < list->n; i++)
        added += find(s, list->v[i].name) == NULL;
    if (s->n_secrets + added > TEE_SECRETS_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "the enclave would hold more than %d secrets",
                             TEE_SECRETS_MAX);
    struct secret_entry *grown = realloc(s->secrets, (s->n_secrets + added + 1) * sizeof *grown);
    if (!grown)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "storing the secrets: out of memory");
    s->secrets = grown;
    for (size_t i = 0; i < list->n; i++) {
        const struct tee_secret *in = &list->v[i];
        uint8_t *copy = tee_secret_alloc(in->len ? in->len : 1);
        if (!copy)
            return cloister_errf(err, CLOISTER_E_NO_MEMORY,
                                 "storing the secrets: out of secret memory");
        if (in->len)
            memcpy(copy, in->value, in->len);
        struct secret_entry *e = find(s, in->name);
        if (e) {
            tee_secret_free(e->value, e->len ? e->len : 1);
        } else {
            e = &s->secrets[s->n_secrets++];
            snprintf(e->name, sizeof e->name, "%s", in->name);
        }
        e->value = copy;
        e->len = in->len;
    }
    return 0;
}

/* The whole table as a "CLSC" record in w (wiped when freed). Lock held. */
static int encode_table(tee_self *s, struct wire_writer *w, struct cloister_err *err)
{
    struct tee_secret *v = calloc(s->n_secrets + 1, sizeof *v);
    if (!v)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "encoding the secrets: out of memory");
    for (size_t i = 0; i < s->n_secrets; i++)
        v[i] = (struct tee_secret){s->secrets[i].name, s->secrets[i].value, s->secrets[i].len};
    int rc = tee_secrets_encode(w, v, s->n_secrets, err);
    free(v);
    return rc;
}

static int seal_table(tee_self *s, enum tee_seal_policy policy, uint8_t **sealed,
                      size_t *sealed_len, struct cloister_err *err)
{
    struct wire_writer w;
    wire_writer_init(&w);
    pthread_mutex_lock(&s->lock);
    int rc = encode_table(s, &w, err);
    pthread_mutex_unlock(&s->lock);
    uint8_t *out = rc ? NULL : malloc(tee_sealed_size(w.len));
    if (!rc && !out)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "sealing the secrets: out of memory");
    if (!rc)
        rc = tee_seal(s, policy, TEE_LABEL_SECRETS, sizeof TEE_LABEL_SECRETS, w.buf, w.len, out,
                      tee_sealed_size(w.len), sealed_len, err);
    wire_writer_free(&w);
    if (rc)
        free(out);
    else
        *sealed = out;
    return rc;
}

int tee_prov_accept(tee_self *s, const void *package, size_t package_len,
                    enum tee_seal_policy policy, uint8_t **sealed, size_t *sealed_len,
                    struct cloister_err *err)
{
    uint8_t enc[HPKE_ENC_LEN];
    const uint8_t *ct;
    size_t ct_len;
    if (policy != TEE_SEAL_MRENCLAVE && policy != TEE_SEAL_MRSIGNER)
        return cloister_errf(err, CLOISTER_E_INVALID, "unknown sealing policy %d", (int)policy);
    if (tee_package_decode(package, package_len, enc, &ct, &ct_len, err))
        return -1;
    size_t pt_len = ct_len - HPKE_TAG_LEN;
    uint8_t *pt = tee_secret_alloc(pt_len ? pt_len : 1);
    if (!pt)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "provisioning: out of secret memory");
    struct tee_secret_list list = {0};
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    struct self_secrets *sec = s->sec;
    uint8_t info[sizeof TEE_LABEL_PROVISION + TEE_HASH_LEN];
    memcpy(info, TEE_LABEL_PROVISION, sizeof TEE_LABEL_PROVISION);
    memcpy(info + sizeof TEE_LABEL_PROVISION, sec->offer_evidence_hash, TEE_HASH_LEN);
    if (!sec->offer_active)
        rc = cloister_errf(err, CLOISTER_E_STATE,
                           "no provisioning offer is pending (an offer is used once)");
    else if (hpke_open(pt, HPKE_AEAD_AES256GCM, enc, sec->offer_sk, info, sizeof info, NULL, 0, ct,
                       ct_len, NULL))
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "provisioning package does not open: it was not made for this "
                           "enclave's offer, or it was altered");
    else if ((rc = tee_secrets_decode(&list, pt, pt_len, err)) == CLOISTER_OK &&
             (rc = merge(s, &list, err)) == CLOISTER_OK) {
        crypto_wipe(sec->offer_sk, sizeof sec->offer_sk);
        sec->offer_active = false;
    }
    pthread_mutex_unlock(&s->lock);
    tee_secret_list_free(&list);
    tee_secret_free(pt, pt_len ? pt_len : 1);
    return rc ? rc : seal_table(s, policy, sealed, sealed_len, err);
}

int tee_secrets_restore(tee_self *s, const void *sealed, size_t sealed_len,
                        struct cloister_err *err)
{
    size_t cap = sealed_len > TEE_SEAL_OVERHEAD ? sealed_len - TEE_SEAL_OVERHEAD : 1;
    uint8_t *pt = tee_secret_alloc(cap);
    if (!pt)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY,
                             "restoring the secrets: out of secret memory");
    size_t pt_len;
    struct tee_secret_list list = {0};
    int rc = tee_unseal(s, sealed, sealed_len, TEE_LABEL_SECRETS, sizeof TEE_LABEL_SECRETS, pt, cap,
                        &pt_len, err);
    if (rc == 0)
        rc = tee_secrets_decode(&list, pt, pt_len, err);
    if (rc == 0) {
        pthread_mutex_lock(&s->lock);
        self_secrets_clear(s);
        rc = merge(s, &list, err);
        pthread_mutex_unlock(&s->lock);
    }
    tee_secret_list_free(&list);
    tee_secret_free(pt, cap);
    return rc;
}

int tee_secret_get(tee_self *s, const char *name, uint8_t *out, size_t cap, size_t *len,
                   struct cloister_err *err)
{
    pthread_mutex_lock(&s->lock);
    struct secret_entry *e = find(s, name);
    *len = e ? e->len : 0;
    int rc = CLOISTER_OK;
    if (!e)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "no secret '%s' was provisioned", name);
    else if (cap < e->len)
        rc = cloister_errf(err, CLOISTER_E_TOO_BIG, "secret '%s' has %zu bytes, room for %zu", name,
                           e->len, cap);
    else if (e->len)
        memcpy(out, e->value, e->len);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

size_t tee_secret_count(tee_self *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->n_secrets;
    pthread_mutex_unlock(&s->lock);
    return n;
}
