/* tee_verify.h -- what a relying party needs to trust an enclave: the formats an enclave's
 * evidence travels in (report body, evidence envelope, report-data binding), the verifier that
 * checks evidence against a trusted CA and a policy and returns claims (oe_verify_evidence, RATS
 * "attestation result"), and the provisioner half of attested provisioning.
 *
 * A relying party (a client, a provisioner, `cloister enclave verify`) includes this header
 * only: it needs no platform secret and no trusted-side code. The enclave side, which makes
 * what is checked here, is tee_trust.h (which includes this header for the shared formats).
 *
 * Conventions (cloister/error.h): functions return CLOISTER_OK (0) or a negative CLOISTER_E_*
 * code and fill the caller's struct cloister_err (NULL: code only); every failed trust check
 * (signature, chain, policy, freshness) is CLOISTER_E_DENIED, malformed input
 * CLOISTER_E_INVALID. Buffers returned through `uint8_t **` are malloc'd and owned by the
 * caller. Every decoder is bounds-checked and refuses trailing bytes. */
#ifndef CLOISTER_TEE_VERIFY_H
#define CLOISTER_TEE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cloister/error.h>

#define TEE_HASH_LEN 32         /* MRENCLAVE, MRSIGNER */
#define TEE_PUBKEY_LEN 32       /* Ed25519 public key */
#define TEE_REPORT_DATA_LEN 64  /* user data bound into reports and evidence */
#define TEE_REPORT_BODY_LEN 384 /* SGX sgx_report_body_t */

/* ---------------------------------------------------------------------------------------
 * Report body: the 384-byte SGX layout (little-endian integers), shared by local reports and
 * cloister-sim-v1 evidence: cpu_svn @0 (16), misc_select @16, isv_ext_prod_id @32 (16),
 * attributes @48 (flags u64, xfrm u64), mr_enclave @64, mr_signer @128, config_id @192 (64),
 * isv_prod_id @256, isv_svn @258, config_svn @260, isv_family_id @304 (16), report_data @320
 * (64); reserved bytes are zero. The simulated platform leaves the KSS fields zero. */
#define TEE_ATTR_INIT 0x1ull
#define TEE_ATTR_DEBUG 0x2ull
#define TEE_ATTR_MODE64BIT 0x4ull
#define TEE_ATTR_SIMULATED (1ull << 63) /* reserved in SGX: never set by real hardware */

struct tee_report_body {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t ext_product_id[16];
    uint64_t attributes; /* TEE_ATTR_* */
    uint64_t xfrm;
    uint8_t mrenclave[TEE_HASH_LEN];
    uint8_t mrsigner[TEE_HASH_LEN];
    uint8_t config_id[64];
    uint16_t product_id;
    uint16_t svn;
    uint16_t config_svn;
    uint8_t family_id[16];
    uint8_t report_data[TEE_REPORT_DATA_LEN];
};

CLOISTER_API void tee_report_body_pack(const struct tee_report_body *b,
                                       uint8_t out[TEE_REPORT_BODY_LEN]);
/* Refuses nonzero reserved bytes and unknown attribute bits. */
CLOISTER_API CLOISTER_MUST_CHECK int tee_report_body_unpack(struct tee_report_body *b,
                                                            const uint8_t in[TEE_REPORT_BODY_LEN],
                                                            struct cloister_err *err);

/* report_data binding used by quotes and provisioning: SHA-512(data || nonce). */
CLOISTER_API void tee_bind_report_data(uint8_t out[TEE_REPORT_DATA_LEN], const void *data,
                                       size_t data_len, const void *nonce, size_t nonce_len);

/* ---------------------------------------------------------------------------------------
 * Evidence envelope, wire record "CLEV" v1: str format, bytes evidence, count + bytes of each
 * endorsement. Formats: "cloister-sim-v1" (evidence = 384-byte body || Ed25519 signature by
 * the platform attestation key over "cloister-sim-v1" || NUL || body; endorsements = DER
 * certificates, platform (leaf) first, then the CA). "sgx-dcap", "tdx" and "snp" are reserved
 * names that decode but no verifier in this build accepts; any other name is refused. */
enum tee_evidence_format {
    TEE_EVIDENCE_SIM_V1 = 1,
    TEE_EVIDENCE_SGX_DCAP,
    TEE_EVIDENCE_TDX,
    TEE_EVIDENCE_SNP,
};
#define TEE_ENDORSEMENTS_MAX 8
#define TEE_FORMAT_NAME_MAX 32

struct tee_evidence_view { /* pointers into the decoded buffer */
    enum tee_evidence_format format;
    const uint8_t *evidence;
    size_t evidence_len;
    const uint8_t *endorsements[TEE_ENDORSEMENTS_MAX];
    size_t endorsement_lens[TEE_ENDORSEMENTS_MAX];
    size_t n_endorsements;
};

CLOISTER_API const char *tee_evidence_format_name(enum tee_evidence_format f);
CLOISTER_API CLOISTER_MUST_CHECK int tee_evidence_decode(struct tee_evidence_view *v,
                                                         const void *buf, size_t len,
                                                         struct cloister_err *err);

/* ---------------------------------------------------------------------------------------
 * Verifier: signature and certificate chain against a trusted CA, then a policy. The chain is
 * verified with OpenSSL once per distinct endorsement set and the resulting attestation key is
 * cached (by SHA-256 of the endorsements) until the leaf certificate expires, so repeated
 * evidence from one platform costs one Ed25519 verification. */
typedef struct tee_verifier tee_verifier;

struct tee_policy {
    const uint8_t (*mrenclave)[TEE_HASH_LEN]; /* allowed values; n == 0: any */
    size_t n_mrenclave;
    const uint8_t (*mrsigner)[TEE_HASH_LEN];
    size_t n_mrsigner;
    /* Both lists empty is refused unless this is set: accepting any enclave must be explicit. */
    bool allow_any_identity;
    int32_t product_id; /* -1: any */
    uint16_t min_svn;
    bool allow_debug;
    bool allow_simulated; /* off by default: simulated evidence proves nothing about hardware */
    /* Freshness: when set, report data must equal these 64 bytes (tee_bind_report_data). */
    const uint8_t *report_data;
};

/* The claims of accepted evidence (RATS attestation result). */
struct tee_claims {
    enum tee_evidence_format format;
    uint8_t mrenclave[TEE_HASH_LEN];
    uint8_t mrsigner[TEE_HASH_LEN];
    uint16_t product_id, svn;
    uint64_t attributes;
    bool debug, simulated;
    uint8_t report_data[TEE_REPORT_DATA_LEN];
    uint8_t platform_key[TEE_PUBKEY_LEN]; /* the attestation key that signed */
};

CLOISTER_API void tee_policy_default(struct tee_policy *p);
/* ca: the trusted CA certificate, PEM or DER. */
CLOISTER_API tee_verifier *tee_verifier_new(const void *ca, size_t ca_len,
                                            struct cloister_err *err);
CLOISTER_API tee_verifier *tee_verifier_new_file(const char *ca_path, struct cloister_err *err);
CLOISTER_API void tee_verifier_free(tee_verifier *v);
/* 0 and claims filled when the evidence is genuine AND satisfies the policy. */
CLOISTER_API CLOISTER_MUST_CHECK int tee_verify_evidence(tee_verifier *v, const void *evidence,
                                                         size_t len,
                                                         const struct tee_policy *policy,
                                                         struct tee_claims *claims,
                                                         struct cloister_err *err);

/* ---------------------------------------------------------------------------------------
 * Attested provisioning, the provisioner's half (the enclave's is in tee_trust.h).
 *   1. provisioner: nonce = tee_prov_nonce()
 *   2. enclave: tee_prov_offer(nonce) -> offer = fresh HPKE (X25519) public key + evidence
 *      whose report data = SHA-512(public key || nonce); the private key stays in the enclave.
 *   3. provisioner: tee_prov_package(offer) verifies the evidence against its policy and
 *      HPKE-seals the named secrets to the key, info = "cloister-provision-v1" || SHA-256(the
 *      evidence envelope).
 *   4. enclave: tee_prov_accept(package) opens it and keeps the secrets.
 * Records: offer "CLPO" v1 (bytes public key, bytes evidence), package "CLPK" v2 (8 raw bytes
 * of the offer's id = SHA-256(evidence) truncated, bytes enc, bytes ciphertext), secrets "CLSC" v1 (count, then str name + bytes value each). Names are
 * 1..TEE_SECRET_NAME_MAX bytes of A-Z a-z 0-9 . _ : / -. */
#define TEE_PROV_NONCE_LEN 32
#define TEE_SECRET_NAME_MAX 64
#define TEE_SECRET_VALUE_MAX 65536
#define TEE_SECRETS_MAX 256

struct tee_secret {
    const char *name;
    const uint8_t *value;
    size_t len;
};

/* A fresh nonce from the system's randomness. */
CLOISTER_API CLOISTER_MUST_CHECK int tee_prov_nonce(uint8_t nonce[TEE_PROV_NONCE_LEN],
                                                    struct cloister_err *err);
/* Verifies the offer's evidence against policy and its binding to the offered key and nonce
 * (policy->report_data is ignored: the binding is checked here), then seals the secrets to the
 * offered key. claims (may be NULL) receives what the evidence says. */
CLOISTER_API CLOISTER_MUST_CHECK int
tee_prov_package(tee_verifier *v, const struct tee_policy *policy, const uint8_t *nonce,
                 size_t nonce_len, const void *offer, size_t offer_len,
                 const struct tee_secret *secrets, size_t n_secrets, uint8_t **package,
                 size_t *package_len, struct tee_claims *claims, struct cloister_err *err);

/* ---------------------------------------------------------------------------------------
 * Pinned provisioning: a provider that holds an Ed25519 key (its 32-byte seed, as made by
 * `cloister enclave keygen`) signs its offer request and its package. The first signed
 * package an enclave accepts pins that key (kept as the secret TEE_PROVIDER_SECRET, sealed with
 * the others); from then on the enclave makes offers only for requests signed by it, with a
 * counter above the last one it saw (the provider's clock in microseconds, so a captured request cannot
 * be replayed to the running enclave), and accepts only packages signed by it for that very
 * offer. An enclave never provisioned by a signed package accepts unsigned ones (nothing pinned).
 * Records: request "CLPQ" v1 (bytes nonce, u64 counter, bytes public key, bytes signature over
 * SHA-256("cloister-provision-request-v1" NUL || u64 counter || nonce)), signed package "CLPS"
 * v1 (bytes package, bytes public key, bytes signature over SHA-256("cloister-provision-signed-
 * v1" NUL || SHA-256(offer evidence) || SHA-256(package))). */
#define TEE_PROVIDER_SECRET "tee:provider" /* names starting "tee:" are the runtime's */

/* The offer request for nonce, signed with the provider's seed. */
CLOISTER_API CLOISTER_MUST_CHECK int tee_prov_request(const uint8_t provider_seed[32],
                                                      const uint8_t *nonce, size_t nonce_len,
                                                      uint8_t **request, size_t *request_len,
                                                      struct cloister_err *err);
/* Wraps a package (from tee_prov_package) for that offer in the provider's signature. */
CLOISTER_API CLOISTER_MUST_CHECK int tee_prov_sign(const uint8_t provider_seed[32],
                                                   const void *offer, size_t offer_len,
                                                   const void *package, size_t package_len,
                                                   uint8_t **signed_package, size_t *len,
                                                   struct cloister_err *err);

#endif
