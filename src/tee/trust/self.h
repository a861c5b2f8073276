/* self.h -- the inside of tee_self, shared by the files of src/tee/trust/ (self.c, seal.c,
 * report.c, provision.c). Secrets (the platform PRK, the pending provisioning key, cached MAC
 * keys, provisioned secret values) live in tee_secret_alloc memory and never reach a system call;
 * the rest is ordinary memory. One mutex guards every mutable field. */
#ifndef CLOISTER_TEE_SELF_H
#define CLOISTER_TEE_SELF_H

#include <cloister/crypto.h>
#include <cloister/tee_trust.h>

#include <pthread.h>

#define SEAL_CACHE 8
#define SEAL_KEY_USES (1u << 24) /* blobs per key id before a fresh one is drawn */
#define TEE_PROV_OFFERS TEE_PROV_PENDING

struct seal_slot { /* one derived sealing key, ready to use */
    bool used;
    uint8_t policy;
    uint16_t svn;
    uint8_t key_id[TEE_KEY_ID_LEN];
    crypto_aead *aead;
};

struct seal_current { /* the key id new blobs of one policy are sealed under */
    bool valid;
    uint32_t uses; /* blobs sealed under key_id so far: also their nonce */
    uint8_t key_id[TEE_KEY_ID_LEN];
};

struct self_secrets {
    uint8_t prk[32]; /* HKDF-Extract(salt label, platform root secret) */
    /* The last report key derived for a target, and for checking reports targeted at us. */
    uint8_t create_target[TEE_HASH_LEN], create_key[32];
    bool create_valid;
    uint8_t verify_key_id[TEE_KEY_ID_LEN], verify_key[32];
    bool verify_valid;
    /* The pending provisioning offers: a bounded few, the oldest replaced by a new one. */
    struct {
        bool active;
        uint64_t made; /* order of making, for replacing the oldest */
        uint8_t sk[32], evidence_hash[32];
    } offers[TEE_PROV_OFFERS];
};

struct secret_entry {
    char name[TEE_SECRET_NAME_MAX + 1];
    uint8_t *value; /* tee_secret_alloc */
    size_t len;
};

struct tee_self {
    struct tee_identity id;
    struct tee_report_body body; /* report_data left zero: the template of reports/evidence */
    crypto_signer *attestation;
    uint8_t *endorsements; /* the encoded endorsement part of every evidence envelope */
    size_t endorsements_len;
    uint8_t report_key_id[TEE_KEY_ID_LEN];
    pthread_mutex_t lock;
    struct self_secrets *sec;
    struct seal_current current[2]; /* by policy - 1 */
    struct seal_slot cache[SEAL_CACHE];
    unsigned next_victim;
    struct secret_entry *secrets;
    size_t n_secrets;
    uint64_t offers_made;  /* numbers the pending offers */
    uint64_t last_request; /* the counter of the last signed offer request accepted */
};

/* HKDF-Expand(prk, label NUL || parts...) into a 32-byte key. */
struct self_part {
    const void *p;
    size_t n;
};
int self_derive(const tee_self *s, uint8_t key[32], const char *label,
                const struct self_part *parts, size_t nparts);

/* Drops the provisioned secrets (wiping them): the table belongs to tee_self, which frees it;
 * provision.c fills it. Lock held. */
void self_secrets_clear(tee_self *s);

#endif
