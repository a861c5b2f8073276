/* verifier.c -- evidence verification for relying parties and provisioners (RATS verifier;
 * oe_verify_evidence). Two questions, in this order, each with its own errors:
 *   1. Is the evidence genuine? Known format, platform certificate chaining to the trusted CA
 *      given by the caller, body signed by the certified attestation key, body well formed.
 *   2. Does it satisfy the policy? Simulated and debug refused unless allowed, identity in the
 *      allowed lists (every non-empty list must match), product id, minimum svn, report data.
 * Claims are returned only when both hold.
 *
 * Chain cache: X.509 path validation costs more than the signature check, and every piece of
 * evidence from one platform carries the same certificates. The attestation key that a given
 * set of endorsements certifies is therefore remembered by SHA-256 of the endorsements, until
 * the leaf certificate's notAfter; a cache hit skips OpenSSL's X.509 code entirely. The cache
 * belongs to one verifier, hence to one trusted CA. */
#include <cloister/crypto.h>

#include <errno.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tee/common/common.h"
#include "tee/common/x509.h"
#include "util/fileio.h"
#include "util/hex.h"

#define CHAIN_CACHE 16
#define CA_MAX (64 * 1024)

struct chain_entry {
    bool used;
    uint8_t digest[TEE_HASH_LEN];
    uint8_t key[TEE_PUBKEY_LEN];
    time_t not_after;
};

struct tee_verifier {
    X509 *ca;
    pthread_mutex_t lock;
    struct chain_entry cache[CHAIN_CACHE];
    unsigned next;
};

void tee_policy_default(struct tee_policy *p)
{
    *p = (struct tee_policy){.product_id = -1};
}

tee_verifier *tee_verifier_new(const void *ca, size_t ca_len, struct cloister_err *err)
{
    struct cloister_err why;
    X509 *x = tee_x509_parse(ca, ca_len, &why);
    if (!x) {
        cloister_errf(err, CLOISTER_E_INVALID, "trusted CA: %s", why.msg);
        return NULL;
    }
    if (X509_check_ca(x) <= 0) {
        X509_free(x);
        cloister_errf(err, CLOISTER_E_INVALID,
                      "trusted CA: the certificate is not a CA certificate");
        return NULL;
    }
    tee_verifier *v = calloc(1, sizeof *v);
    if (!v) {
        X509_free(x);
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "verifier: out of memory");
        return NULL;
    }
    v->ca = x;
    pthread_mutex_init(&v->lock, NULL);
    return v;
}

tee_verifier *tee_verifier_new_file(const char *ca_path, struct cloister_err *err)
{
    uint8_t *data;
    size_t len;
    if (file_read_all(ca_path, CA_MAX, &data, &len)) {
        cloister_errf(err, tee_errno_code(errno), "%s: %s", ca_path, strerror(errno));
        return NULL;
    }
    struct cloister_err why;
    tee_verifier *v = tee_verifier_new(data, len, &why);
    free(data);
    if (!v)
        cloister_errf(err, CLOISTER_E_INVALID, "%s: %s", ca_path, why.msg);
    return v;
}

void tee_verifier_free(tee_verifier *v)
{
    if (!v)
        return;
    X509_free(v->ca);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

static void endorsements_digest(const struct tee_evidence_view *ev, uint8_t out[TEE_HASH_LEN])
{
    crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA256);
    for (size_t i = 0; i < ev->n_endorsements; i++) {
        uint8_t len[8];
        tee_le64(len, ev->endorsement_lens[i]);
        crypto_hash_update(h, len, sizeof len);
        crypto_hash_update(h, ev->endorsements[i], ev->endorsement_lens[i]);
    }
    crypto_hash_final(h, out);
}

/* The attestation key the endorsements certify under our CA, from the cache when possible. */
static int attestation_key(tee_verifier *v, const struct tee_evidence_view *ev,
                           uint8_t key[TEE_PUBKEY_LEN], struct cloister_err *err)
{
    uint8_t digest[TEE_HASH_LEN];
    endorsements_digest(ev, digest);
    time_t now = time(NULL);
    bool hit = false;
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < CHAIN_CACHE && !hit; i++) {
        struct chain_entry *c = &v->cache[i];
        if (c->used && now <= c->not_after && memcmp(c->digest, digest, sizeof digest) == 0) {
            memcpy(key, c->key, TEE_PUBKEY_LEN);
            hit = true;
        }
    }
    pthread_mutex_unlock(&v->lock);
    if (hit)
        return 0;
    time_t not_after;
    int rc = tee_x509_verify_chain(v->ca, ev->endorsements, ev->endorsement_lens,
                                   ev->n_endorsements, key, &not_after, err);
    if (rc != CLOISTER_OK)
        return rc;
    pthread_mutex_lock(&v->lock);
    struct chain_entry *c = &v->cache[v->next++ % CHAIN_CACHE];
    *c = (struct chain_entry){.used = true, .not_after = not_after};
    memcpy(c->digest, digest, sizeof digest);
    memcpy(c->key, key, TEE_PUBKEY_LEN);
    pthread_mutex_unlock(&v->lock);
    return 0;
}

static int verify_sim(tee_verifier *v, const struct tee_evidence_view *ev,
                      struct tee_claims *claims, struct cloister_err *err)
{
    if (ev->evidence_len != TEE_REPORT_BODY_LEN + TEE_SIG_LEN)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "cloister-sim-v1 evidence must be %d bytes, got %zu",
                             TEE_REPORT_BODY_LEN + TEE_SIG_LEN, ev->evidence_len);
    uint8_t key[TEE_PUBKEY_LEN], msg[sizeof TEE_LABEL_SIM_EVIDENCE + TEE_REPORT_BODY_LEN];
    int rc = attestation_key(v, ev, key, err);
    if (rc != CLOISTER_OK)
        return rc;
    memcpy(msg, TEE_LABEL_SIM_EVIDENCE, sizeof TEE_LABEL_SIM_EVIDENCE);
    memcpy(msg + sizeof TEE_LABEL_SIM_EVIDENCE, ev->evidence, TEE_REPORT_BODY_LEN);
    if (crypto_ed25519_verify(ev->evidence + TEE_REPORT_BODY_LEN, msg, sizeof msg, key))
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "evidence signature does not verify under the certified "
                             "attestation key (the evidence was altered)");
    struct tee_report_body b;
    if (tee_report_body_unpack(&b, ev->evidence, err))
        return -1;
    if (!(b.attributes & TEE_ATTR_SIMULATED))
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "cloister-sim-v1 evidence without the simulated attribute");
    *claims = (struct tee_claims){.format = TEE_EVIDENCE_SIM_V1,
                                  .product_id = b.product_id,
                                  .svn = b.svn,
                                  .attributes = b.attributes,
                                  .debug = b.attributes & TEE_ATTR_DEBUG,
                                  .simulated = true};
    memcpy(claims->mrenclave, b.mrenclave, TEE_HASH_LEN);
    memcpy(claims->mrsigner, b.mrsigner, TEE_HASH_LEN);
    memcpy(claims->report_data, b.report_data, TEE_REPORT_DATA_LEN);
    memcpy(claims->platform_key, key, TEE_PUBKEY_LEN);
    return 0;
}

static bool listed(const uint8_t (*list)[TEE_HASH_LEN], size_t n, const uint8_t *h)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(list[i], h, TEE_HASH_LEN) == 0)
            return true;
    return false;
}

static int check_policy(const struct tee_policy *p, const struct tee_claims *c,
                        struct cloister_err *err)
{
    char hex[2 * TEE_HASH_LEN + 1];
    if (c->simulated && !p->allow_simulated)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "evidence is simulated (%s: no hardware protection) and the policy "
                             "does not allow simulated evidence",
                             tee_evidence_format_name(c->format));
    if (c->debug && !p->allow_debug)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "evidence comes from a debug enclave and the policy does not allow "
                             "debug enclaves");
    if (!p->n_mrenclave && !p->n_mrsigner && !p->allow_any_identity)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "the policy allows no MRENCLAVE or MRSIGNER (accepting any enclave "
                             "must be explicit)");
    if (p->n_mrenclave && !listed(p->mrenclave, p->n_mrenclave, c->mrenclave)) {
        hex_encode(hex, c->mrenclave, TEE_HASH_LEN);
        return cloister_errf(err, CLOISTER_E_DENIED, "MRENCLAVE %s is not among the allowed values",
                             hex);
    }
    if (p->n_mrsigner && !listed(p->mrsigner, p->n_mrsigner, c->mrsigner)) {
        hex_encode(hex, c->mrsigner, TEE_HASH_LEN);
        return cloister_errf(err, CLOISTER_E_DENIED, "MRSIGNER %s is not among the allowed values",
                             hex);
    }
    if (p->product_id >= 0 && c->product_id != p->product_id)
        return cloister_errf(err, CLOISTER_E_DENIED, "product id %u, the policy requires %d",
                             c->product_id, (int)p->product_id);
    if (c->svn < p->min_svn)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "security version %u is below the policy's minimum %u", c->svn,
                             p->min_svn);
    if (p->report_data && !crypto_memeq(p->report_data, c->report_data, TEE_REPORT_DATA_LEN))
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "report data does not match the expected value (stale or replayed "
                             "evidence, or a wrong nonce)");
    return 0;
}

int tee_verify_evidence(tee_verifier *v, const void *evidence, size_t len,
                        const struct tee_policy *policy, struct tee_claims *claims,
                        struct cloister_err *err)
{
    struct tee_evidence_view ev;
    struct tee_claims c;
    memset(claims, 0, sizeof *claims);
    if (!policy)
        return cloister_errf(err, CLOISTER_E_INVALID, "no verification policy given");
    int rc = tee_evidence_decode(&ev, evidence, len, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (ev.format != TEE_EVIDENCE_SIM_V1)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "evidence format '%s' is reserved but not supported by this verifier",
                             tee_evidence_format_name(ev.format));
    rc = verify_sim(v, &ev, &c, err);
    if (rc == CLOISTER_OK)
        rc = check_policy(policy, &c, err);
    if (rc != CLOISTER_OK)
        return rc;
    *claims = c;
    return 0;
}
