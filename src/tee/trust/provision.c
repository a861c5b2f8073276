/* provision.c -- the enclave half of attested provisioning, and the provisioned secrets table.
 *
 * An offer is a fresh HPKE key pair whose public key is bound into evidence for the
 * provisioner's nonce; its private key never leaves tee_self and is used once. The table of
 * secrets is what enclave code reads (tee_secret_get); tee_prov_accept returns it sealed so the
 * host can store it, and tee_secrets_restore puts it back after a restart. Values live in
 * tee_secret_alloc memory; every plaintext buffer is wiped before it is freed.
 *
 * Several offers may be pending at once (TEE_PROV_OFFERS, the oldest replaced), so that one
 * stranger's offer does not void the genuine provider's and concurrent clients (an access
 * service's) each have theirs; a package names its offer (tee_package_encode), so only that
 * offer's key is tried. tee_prov_take hands a package's secrets to the caller without keeping or
 * sealing them: per-request secrets (a reply key, a session key) need not be persisted, and
 * sealing the whole table per request would cost more than the request. A provider that signs (tee_prov_request,
 * tee_prov_sign) is pinned by its first package: its public key is kept as the secret
 * TEE_PROVIDER_SECRET, sealed and restored with the others, and from then on only its signed
 * requests get offers and only its signed packages are accepted. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee/common/common.h"
#include "tee/trust/self.h"

#define NONCE_MIN 16
#define NONCE_MAX 64

/* The provider's key this enclave is pinned to (false: none). Lock held. */
static bool pinned(tee_self *s, uint8_t pk[TEE_PUBKEY_LEN]);

/* Reads an offer request: a bare nonce, or a provider's signed "CLPQ" request. When a provider
 * is pinned, only its signed requests with a counter above the last are answered: a stranger
 * (or a replay) gets no offer, so it can neither take an offer slot nor make evidence. */
static int read_request(tee_self *s, const uint8_t *in, size_t len, const uint8_t **nonce,
                        size_t *nonce_len, struct cloister_err *err)
{
    struct tee_prov_request q = {in, len, 0, {0}, {0}};
    bool is_signed = len >= 4 && memcmp(in, "CLPQ", 4) == 0;
    if (is_signed && tee_request_decode(in, len, &q, err) != 0)
        return CLOISTER_E_INVALID;
    uint8_t digest[32], pin[TEE_PUBKEY_LEN];
    if (is_signed) {
        tee_request_digest(digest, q.counter, q.nonce, q.nonce_len);
        if (crypto_ed25519_verify(q.sig, digest, sizeof digest, q.provider) != 0)
            return cloister_errf(err, CLOISTER_E_DENIED,
                                 "the offer request's signature does not verify");
    }
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&s->lock);
    bool has_pin = pinned(s, pin);
    if (has_pin && (!is_signed || !crypto_memeq(pin, q.provider, TEE_PUBKEY_LEN)))
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "this enclave is pinned to its provider: only offer requests signed "
                           "by the provider's key are answered");
    else if (is_signed && q.counter <= s->last_request)
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "the offer request is not newer than the last one (replayed?)");
    else if (is_signed)
        s->last_request = q.counter;
    pthread_mutex_unlock(&s->lock);
    *nonce = q.nonce;
    *nonce_len = q.nonce_len;
    return rc;
}

/* Keeps an offer's key: in a free slot, else in place of the oldest. Lock held. */
static void keep_offer(tee_self *s, const uint8_t sk[32], const uint8_t hash[32])
{
    struct self_secrets *sec = s->sec;
    size_t at = 0;
    for (size_t i = 0; i < TEE_PROV_OFFERS; i++) {
        if (!sec->offers[i].active) {
            at = i;
            break;
        }
        if (sec->offers[i].made < sec->offers[at].made)
            at = i;
    }
    sec->offers[at].active = true;
    sec->offers[at].made = ++s->offers_made;
    memcpy(sec->offers[at].sk, sk, 32);
    memcpy(sec->offers[at].evidence_hash, hash, 32);
}

int tee_prov_offer(tee_self *s, const uint8_t *request, size_t request_len, uint8_t **offer,
                   size_t *offer_len, struct cloister_err *err)
{
    const uint8_t *nonce = request;
    size_t nonce_len = request_len;
    int rc = read_request(s, request, request_len, &nonce, &nonce_len, err);
    if (rc != CLOISTER_OK)
        return rc;
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
    rc = tee_evidence_make(s, rd, &ev, &ev_len, err);
    if (rc == 0) {
        crypto_sha256(hash, ev, ev_len);
        if (tee_offer_encode(pk, ev, ev_len, offer, offer_len) != 0)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "provisioning offer: out of memory");
    }
    if (rc == 0) {
        pthread_mutex_lock(&s->lock);
        keep_offer(s, sk, hash);
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

static bool pinned(tee_self *s, uint8_t pk[TEE_PUBKEY_LEN])
{
    struct secret_entry *e = find(s, TEE_PROVIDER_SECRET);
    if (!e || e->len != TEE_PUBKEY_LEN)
        return false;
    memcpy(pk, e->value, TEE_PUBKEY_LEN);
    return true;
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

/* Opens the package's ciphertext into pt with the pending offer it names, *slot its index
 * (only that offer's key is tried, so a bogus package costs one X25519 however many offers
 * are pending). Lock held. */
static int open_package(tee_self *s, const uint8_t id[TEE_OFFER_ID_LEN],
                        const uint8_t enc[HPKE_ENC_LEN], const uint8_t *ct, size_t ct_len,
                        uint8_t *pt, size_t *slot, struct cloister_err *err)
{
    bool any = false;
    uint8_t info[sizeof TEE_LABEL_PROVISION + TEE_HASH_LEN];
    memcpy(info, TEE_LABEL_PROVISION, sizeof TEE_LABEL_PROVISION);
    for (size_t i = 0; i < TEE_PROV_OFFERS; i++) {
        any |= s->sec->offers[i].active;
        if (!s->sec->offers[i].active ||
            memcmp(s->sec->offers[i].evidence_hash, id, TEE_OFFER_ID_LEN) != 0)
            continue;
        memcpy(info + sizeof TEE_LABEL_PROVISION, s->sec->offers[i].evidence_hash, TEE_HASH_LEN);
        if (hpke_open(pt, HPKE_AEAD_AES256GCM, enc, s->sec->offers[i].sk, info, sizeof info, NULL,
                      0, ct, ct_len, NULL) == 0) {
            *slot = i;
            return CLOISTER_OK;
        }
    }
    if (!any)
        return cloister_errf(err, CLOISTER_E_STATE,
                             "no provisioning offer is pending (an offer is used once)");
    return cloister_errf(err, CLOISTER_E_DENIED,
                         "provisioning package does not open: it was not made for a pending "
                         "offer of this enclave (an offer is used once; the oldest of %d is "
                         "replaced), or it was altered",
                         TEE_PROV_OFFERS);
}

/* Checks who provisions against the pinned provider (provider NULL: an unsigned package);
 * *pin_now when this signed package is the first and pins its key. Lock held. */
static int check_provider(tee_self *s, const uint8_t *provider, const uint8_t sig[TEE_SIG_LEN],
                          const uint8_t evidence_hash[32], const void *inner, size_t inner_len,
                          bool *pin_now, struct cloister_err *err)
{
    uint8_t pin[TEE_PUBKEY_LEN], digest[32];
    bool has_pin = pinned(s, pin);
    *pin_now = false;
    if (!provider)
        return has_pin ? cloister_errf(err, CLOISTER_E_DENIED,
                                       "this enclave is pinned to its provider: the package "
                                       "must be signed by the provider's key")
                       : CLOISTER_OK;
    if (has_pin && !crypto_memeq(pin, provider, TEE_PUBKEY_LEN))
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "this enclave is pinned to another provider's key");
    tee_signed_package_digest(digest, evidence_hash, inner, inner_len);
    if (crypto_ed25519_verify(sig, digest, sizeof digest, provider) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED, "the package's signature does not verify");
    *pin_now = !has_pin;
    return CLOISTER_OK;
}

static int reserved_names(const struct tee_secret_list *list, struct cloister_err *err)
{
    for (size_t i = 0; i < list->n; i++)
        if (strncmp(list->v[i].name, "tee:", 4) == 0)
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "secret name '%s': names starting with 'tee:' are the runtime's",
                                 list->v[i].name);
    return CLOISTER_OK;
}

/* An opened package: its plaintext (secret memory, wiped by opened_free), its secrets (pointing
 * into it), the offer it used, and whether a signed package would pin its provider. */
struct opened {
    uint8_t *pt;
    size_t pt_len, slot;
    struct tee_secret_list list;
    bool pin_now;
};

static void opened_free(struct opened *o)
{
    tee_secret_list_free(&o->list);
    if (o->pt)
        tee_secret_free(o->pt, o->pt_len ? o->pt_len : 1);
}

/* Opens and checks the package (offer, provider, names) into *o (opened_free it whatever the
 * result). Lock held. */
static int open_secrets(tee_self *s, const void *package, size_t package_len, struct opened *o,
                        uint8_t provider[TEE_PUBKEY_LEN], struct cloister_err *err)
{
    uint8_t id[TEE_OFFER_ID_LEN], enc[HPKE_ENC_LEN], sig[TEE_SIG_LEN];
    const uint8_t *ct, *inner = package;
    size_t ct_len, inner_len = package_len;
    bool is_signed = package_len >= 4 && memcmp(package, "CLPS", 4) == 0;
    *o = (struct opened){0};
    if (is_signed &&
        tee_signed_decode(package, package_len, &inner, &inner_len, provider, sig, err) != 0)
        return CLOISTER_E_INVALID;
    if (tee_package_decode(inner, inner_len, id, enc, &ct, &ct_len, err))
        return CLOISTER_E_INVALID;
    o->pt_len = ct_len - HPKE_TAG_LEN;
    if (!(o->pt = tee_secret_alloc(o->pt_len ? o->pt_len : 1)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "provisioning: out of secret memory");
    int rc = open_package(s, id, enc, ct, ct_len, o->pt, &o->slot, err);
    if (rc == CLOISTER_OK)
        rc = check_provider(s, is_signed ? provider : NULL, sig,
                            s->sec->offers[o->slot].evidence_hash, inner, inner_len, &o->pin_now,
                            err);
    if (rc == CLOISTER_OK &&
        (rc = tee_secrets_decode(&o->list, o->pt, o->pt_len, err)) == CLOISTER_OK)
        rc = reserved_names(&o->list, err);
    return rc;
}

static void offer_used(tee_self *s, size_t slot)
{
    crypto_wipe(s->sec->offers[slot].sk, 32);
    s->sec->offers[slot].active = false;
}

int tee_prov_accept(tee_self *s, const void *package, size_t package_len,
                    enum tee_seal_policy policy, uint8_t **sealed, size_t *sealed_len,
                    struct cloister_err *err)
{
    uint8_t provider[TEE_PUBKEY_LEN];
    if (policy != TEE_SEAL_MRENCLAVE && policy != TEE_SEAL_MRSIGNER)
        return cloister_errf(err, CLOISTER_E_INVALID, "unknown sealing policy %d", (int)policy);
    struct tee_secret pin = {TEE_PROVIDER_SECRET, provider, TEE_PUBKEY_LEN};
    struct tee_secret_list pin_list = {&pin, NULL, 1};
    struct opened o;
    pthread_mutex_lock(&s->lock);
    int rc = open_secrets(s, package, package_len, &o, provider, err);
    if (rc == CLOISTER_OK && (!o.pin_now || (rc = merge(s, &pin_list, err)) == CLOISTER_OK) &&
        (rc = merge(s, &o.list, err)) == CLOISTER_OK)
        offer_used(s, o.slot);
    pthread_mutex_unlock(&s->lock);
    opened_free(&o);
    return rc ? rc : seal_table(s, policy, sealed, sealed_len, err);
}

int tee_prov_take(tee_self *s, const void *package, size_t package_len, const char *name,
                  uint8_t *out, size_t cap, size_t *len, struct cloister_err *err)
{
    uint8_t provider[TEE_PUBKEY_LEN];
    struct opened o;
    *len = 0;
    pthread_mutex_lock(&s->lock);
    int rc = open_secrets(s, package, package_len, &o, provider, err);
    if (rc == CLOISTER_OK && o.pin_now)
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "a package that would pin its provider must be accepted, not taken");
    const struct tee_secret *v = NULL;
    for (size_t i = 0; rc == CLOISTER_OK && !v && i < o.list.n; i++)
        if (strcmp(o.list.v[i].name, name) == 0)
            v = &o.list.v[i];
    if (rc == CLOISTER_OK && !v)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "the package has no secret '%s'", name);
    else if (rc == CLOISTER_OK && v->len > cap)
        rc = cloister_errf(err, CLOISTER_E_TOO_BIG, "secret '%s' has %zu bytes, room for %zu", name,
                           v->len, cap);
    if (rc == CLOISTER_OK) {
        memcpy(out, v->value, v->len);
        *len = v->len;
        offer_used(s, o.slot);
    }
    pthread_mutex_unlock(&s->lock);
    opened_free(&o);
    return rc;
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
