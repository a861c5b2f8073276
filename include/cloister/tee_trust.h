/* tee_trust.h -- identity and trust on the enclave's side: signed config and measurement, the
 * signature file, the image audit, the simulated platform, sealing, local reports, remote
 * evidence, and the enclave's half of attested provisioning. The enclave runtime (tee.h /
 * tee_enclave.h) and the signing tools call these. Relying parties and provisioners include
 * tee_verify.h instead, which holds the formats both sides share (report body, evidence
 * envelope) and the verifier; this header includes it.
 *
 * The model follows SGX (the SDK's names are given beside ours):
 *   - An enclave's identity is MRENCLAVE = SHA-256(image bytes || wire-encoded config) and
 *     MRSIGNER = SHA-256(signer's Ed25519 public key). A signature file (SIGSTRUCT) vouches
 *     for both; the loader and the enclave itself check it.
 *   - The platform (stand-in for the CPU's fused keys) is a 32-byte root secret, an Ed25519
 *     attestation key and a local CA that certifies it, created on first use under
 *     $CLOISTER_HOME. It is SIMULATED: any process of the same user can read it, and every
 *     piece of evidence says so (attribute TEE_ATTR_SIMULATED, format "cloister-sim-v1").
 *   - tee_self is the trusted side's view of itself (identity + platform secrets): sealing
 *     (sgx_seal_data), local reports (sgx_create_report / sgx_verify_report), evidence
 *     (sgx_get_quote / oe_get_evidence) and the enclave half of provisioning all hang off it.
 *   - What tee_self makes is checked by a relying party with tee_verify.h.
 *
 * Conventions (cloister/error.h): functions return CLOISTER_OK (0) or a negative CLOISTER_E_*
 * code and fill the caller's struct cloister_err (NULL: code only) with one line saying what
 * was wrong; a failed trust check (signature, measurement, MAC, unseal) is CLOISTER_E_DENIED.
 * Buffers returned through `uint8_t **` are malloc'd and owned by the caller (free them; wipe
 * first if secret). Every decoder is bounds-checked and refuses trailing bytes. */
#ifndef CLOISTER_TEE_TRUST_H
#define CLOISTER_TEE_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cloister/error.h>
#include <cloister/tee_verify.h>

#define TEE_SEED_LEN 32                                            /* Ed25519 private key (seed) */
#define TEE_SIG_LEN 64                                             /* Ed25519 signature */
#define TEE_KEY_ID_LEN 32                                          /* sealing and report key ids */
#define TEE_REPORT_LEN (TEE_REPORT_BODY_LEN + TEE_KEY_ID_LEN + 32) /* body, key id, MAC */

/* Where cloister keeps per-user state: $CLOISTER_HOME, else ~/.local/share/cloister. */
CLOISTER_API int tee_home_dir(char *out, size_t cap, struct cloister_err *err);

/* ---------------------------------------------------------------------------------------
 * Signed config: the limits an enclave runs with, part of its measurement.
 *
 * Text form (`cloister enclave sign --config FILE`), one `key = value` per line, '#' starts a
 * comment, every key at most once, missing keys keep their defaults:
 *     heap_size        = 16 MiB        # bytes, or a number with K/KiB, M/MiB, G/GiB (x1024)
 *     epc_budget       = 93.5 MiB      # resident enclave memory, or "unlimited"
 *     threads          = 4             # 1..256 enclave threads (TCS)
 *     product_id       = 0             # ISVPRODID, 0..65535
 *     security_version = 0             # ISVSVN, 0..65535 (alias: svn)
 *     debug            = false         # true: a debug enclave (verifiers refuse by default)
 * Sizes are multiples of 4 KiB. Wire form: header "CLCF" v1, u64 heap_size, u64 epc_budget
 * (UINT64_MAX = unlimited), u16 threads, u16 product_id, u16 security_version, u8 flags
 * (bit 0 = debug): fixed length, one encoding per config, hashed into MRENCLAVE. */
#define TEE_EPC_UNLIMITED UINT64_MAX
#define TEE_EPC_DEFAULT 98041856ull /* 93.5 MiB: usable EPC of SGX1 */
#define TEE_HEAP_DEFAULT (16ull << 20)
#define TEE_THREADS_DEFAULT 4
#define TEE_THREADS_MAX 256
#define TEE_CONFIG_WIRE_LEN 29

struct tee_config {
    uint64_t heap_size;
    uint64_t epc_budget;
    uint16_t threads;
    uint16_t product_id;
    uint16_t svn;
    bool debug;
};

CLOISTER_API void tee_config_default(struct tee_config *c);
/* Range checks shared by both forms. */
CLOISTER_API int tee_config_check(const struct tee_config *c, struct cloister_err *err);
/* Starts from the defaults; errors read "line 3: threads must be between 1 and 256". */
CLOISTER_API int tee_config_parse(struct tee_config *c, const char *text, size_t len,
                                  struct cloister_err *err);
/* The text form (parses back to the same config); returns the length snprintf would. */
CLOISTER_API int tee_config_format(const struct tee_config *c, char *out, size_t cap);
CLOISTER_API void tee_config_encode(const struct tee_config *c, uint8_t out[TEE_CONFIG_WIRE_LEN]);
CLOISTER_API int tee_config_decode(struct tee_config *c, const void *buf, size_t len,
                                   struct cloister_err *err);

/* ---------------------------------------------------------------------------------------
 * Identity, measurement and the signature file (SIGSTRUCT).
 *
 * Signature file, wire record "CLSG" v1: bytes config (the 29-byte wire config), bytes
 * mrenclave (32), bytes signer public key (32), bytes signature (64). The signature is Ed25519
 * over "cloister-sigstruct-v1" || NUL || every field before it (header included), so the
 * config, the measurement and the signer cannot be changed without the signer's key. */
struct tee_identity {
    uint8_t mrenclave[TEE_HASH_LEN];
    uint8_t mrsigner[TEE_HASH_LEN];
    uint8_t signer_key[TEE_PUBKEY_LEN];
    struct tee_config config;
};

struct tee_sigstruct {
    struct tee_config config;
    uint8_t mrenclave[TEE_HASH_LEN];
    uint8_t signer_key[TEE_PUBKEY_LEN];
    uint8_t signature[TEE_SIG_LEN];
};

CLOISTER_API void tee_measure(uint8_t mrenclave[TEE_HASH_LEN], const void *image, size_t len,
                              const struct tee_config *c);
/* The same over a file descriptor read with pread from offset 0 (e.g. a sealed memfd or
 * /proc/self/exe); the file offset is left untouched. */
CLOISTER_API int tee_measure_fd(uint8_t mrenclave[TEE_HASH_LEN], int fd, const struct tee_config *c,
                                struct cloister_err *err);
CLOISTER_API void tee_mrsigner(uint8_t mrsigner[TEE_HASH_LEN],
                               const uint8_t signer_key[TEE_PUBKEY_LEN]);

CLOISTER_API int tee_sign(struct tee_sigstruct *s, const void *image, size_t len,
                          const struct tee_config *c, const uint8_t signer_seed[TEE_SEED_LEN],
                          struct cloister_err *err);
CLOISTER_API int tee_sigstruct_encode(const struct tee_sigstruct *s, uint8_t **out, size_t *len,
                                      struct cloister_err *err);
/* Images larger than this are refused by the loader and by tee_sign_file. */
#define TEE_IMAGE_MAX ((size_t)1 << 30)
/* Signs the image file with config c and writes the signature file atomically (0644): what
 * `cloister enclave sign` does after its audit, for tools, tests and demos that sign their own
 * images. Returns 0, or -1 with err saying which file failed. */
CLOISTER_API int tee_sign_file(const char *image_path, const struct tee_config *c,
                               const uint8_t signer_seed[TEE_SEED_LEN], const char *sig_path,
                               struct cloister_err *err);
/* tee_sign_file with the default config but for the heap size and the EPC budget (0: the
 * default): how each system signs its own image for its demo, tests and benchmarks. */
CLOISTER_API int tee_sign_file_sized(const char *image_path, uint64_t heap_size,
                                     uint64_t epc_budget, const uint8_t signer_seed[TEE_SEED_LEN],
                                     const char *sig_path, struct cloister_err *err);
/* Decodes the record and checks the signature over it (not the image: see below). */
CLOISTER_API CLOISTER_MUST_CHECK int tee_sigstruct_decode(struct tee_sigstruct *s, const void *buf,
                                                          size_t len, struct cloister_err *err);
/* Loader/enclave check: decodes and verifies the signature file, then recomputes MRENCLAVE
 * from the image bytes and the signed config. Fills id on success. */
CLOISTER_API CLOISTER_MUST_CHECK int tee_image_verify(struct tee_identity *id, const void *image,
                                                      size_t len, const void *sig, size_t siglen,
                                                      struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK int tee_image_verify_fd(struct tee_identity *id, int image_fd,
                                                         const void *sig, size_t siglen,
                                                         struct cloister_err *err);

/* Signer key file: wire record "CLSK" v1 holding the 32-byte seed, written 0600. */
CLOISTER_API int tee_signer_keygen(const char *path, uint8_t public_key[TEE_PUBKEY_LEN],
                                   struct cloister_err *err);
CLOISTER_API int tee_signer_load(const char *path, uint8_t seed[TEE_SEED_LEN],
                                 uint8_t public_key[TEE_PUBKEY_LEN], struct cloister_err *err);

/* ---------------------------------------------------------------------------------------
 * Image audit ("take care of what you sign").
 *
 * A bounds-checked ELF64 (little-endian) reader lists what an image needs and imports and the
 * ecalls it declares. Ecalls are declared with TEE_ECALL_MANIFEST (normally through the
 * runtime's ecall registration macro in tee_enclave.h): one 64-byte record per ecall in the
 * ELF section TEE_ECALL_SECTION, holding only data (no pointers, hence no relocations), so the
 * audit reads it from the file as is, stripped or not. Imports on the refusal list (process
 * spawning and code loading) make tee_audit_refused() true; `sign` then needs --force.
 * For an image that needs no shared library (static, static-pie) the defined functions of
 * .symtab are checked instead; such an image stripped cannot be audited and is refused too. */
#define TEE_ECALL_SECTION "cloister_ecalls"
#define TEE_ECALL_MAGIC 0x43454c43u /* the bytes "CLEC" read as little-endian: a valid record */
#define TEE_ECALL_NAME_MAX 56

struct tee_ecall_manifest {
    uint32_t magic;
    uint32_t number;
    char name[TEE_ECALL_NAME_MAX]; /* NUL-terminated */
};

#define TEE_ECALL_MANIFEST(num, ident)                                                             \
    __attribute__((                                                                                \
        used, section(TEE_ECALL_SECTION),                                                          \
        aligned(8))) static const struct tee_ecall_manifest tee_ecall_manifest_##ident = {         \
        TEE_ECALL_MAGIC, (num), #ident}

struct tee_audit_ecall {
    uint32_t number;
    char name[TEE_ECALL_NAME_MAX];
};

struct tee_audit {
    uint16_t machine; /* e_machine (62 = x86-64) */
    bool pie;         /* ET_DYN */
    bool dynamic;     /* has a PT_DYNAMIC segment */
    bool has_symtab;  /* .symtab present (not stripped) */
    char **needed;    /* DT_NEEDED libraries */
    size_t n_needed;
    char **imports; /* undefined dynamic symbols, sorted, unique */
    size_t n_imports;
    struct tee_audit_ecall *ecalls; /* sorted by number */
    size_t n_ecalls;
    char **refused; /* why the image is refused: one line each */
    size_t n_refused;
};

CLOISTER_API CLOISTER_MUST_CHECK int tee_audit_image(struct tee_audit *a, const void *image,
                                                     size_t len, struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK bool tee_audit_refused(const struct tee_audit *a);
CLOISTER_API void tee_audit_free(struct tee_audit *a);
/* True for a symbol on the refusal list (exec*, system, popen, dlopen, fork, clone, ...). */
CLOISTER_API bool tee_audit_is_refused_symbol(const char *name);

/* ---------------------------------------------------------------------------------------
 * The simulated platform: root secret (32 B), Ed25519 attestation key, local CA (self-signed
 * Ed25519 X.509) and the platform certificate for the attestation key. Files under
 * <home>/platform/ (0700): `secrets` (0600, wire "CLPS" v1: root secret, attestation seed),
 * `ca.pem` and `platform.pem` (0600). Created on first use in a temporary directory renamed
 * into place without replacement, so two processes racing on first use end with one platform.
 * The CA's private key is discarded once it has certified the attestation key. */
typedef struct tee_platform tee_platform;

/* home NULL: tee_home_dir(). Refuses a platform directory or secrets file readable by others. */
CLOISTER_API tee_platform *tee_platform_open(const char *home, struct cloister_err *err);
CLOISTER_API void tee_platform_free(tee_platform *p);
/* Path of the CA certificate (PEM) to give verifiers, and the attestation public key. */
CLOISTER_API const char *tee_platform_ca_path(const tee_platform *p);
CLOISTER_API void tee_platform_attestation_key(const tee_platform *p, uint8_t pk[TEE_PUBKEY_LEN]);

/* ---------------------------------------------------------------------------------------
 * The trusted side's view of itself. Thread-safe; secrets live in locked, non-dumpable pages. */
typedef struct tee_self tee_self;

/* Copies what it needs from platform (which may then be freed). */
CLOISTER_API tee_self *tee_self_new(const struct tee_identity *id, const tee_platform *platform,
                                    struct cloister_err *err);
CLOISTER_API void tee_self_free(tee_self *s);
CLOISTER_API const struct tee_identity *tee_self_identity(const tee_self *s);

/* Sealing. Blob, version 1 (byte offsets):
 *   0 "CLSL" u16 version | 6 u8 policy | 7 u16 product id | 9 u16 svn sealed at |
 *   11 key id (32) | 43 nonce (12) | 55 u32 ciphertext length n | 59 ciphertext (n bytes, the
 *   last 16 being the GCM tag).
 * key = HKDF-SHA256(salt "cloister-platform-v1", root secret, info "cloister-seal-v1" || policy
 * || MRENCLAVE or MRSIGNER || product id || svn || debug flag || key id); AES-256-GCM with AAD =
 * the 59 header bytes || caller AAD. Key ids are random and reused for up to 2^24 blobs, which
 * lets the derived key be cached; the nonce is the blob's number under its key id. A blob
 * whose svn is above the enclave's is refused; a lower one is unsealed with the key of that
 * svn (newer enclaves read older blobs). */
enum tee_seal_policy {
    TEE_SEAL_MRENCLAVE = 1, /* this exact enclave */
    TEE_SEAL_MRSIGNER = 2,  /* any enclave of this signer, product id and at least this svn */
};
#define TEE_SEAL_HEADER_LEN 59
#define TEE_SEAL_OVERHEAD (TEE_SEAL_HEADER_LEN + 16)
#define TEE_SEAL_MAX ((size_t)UINT32_MAX - 16)

struct tee_sealed_view { /* tee_sealed_parse: the header fields and the ciphertext */
    enum tee_seal_policy policy;
    uint16_t product_id, svn;
    uint8_t key_id[TEE_KEY_ID_LEN];
    uint8_t nonce[12];
    const uint8_t *ciphertext;
    size_t ciphertext_len;
};

static inline size_t tee_sealed_size(size_t plaintext_len)
{
    return plaintext_len + TEE_SEAL_OVERHEAD;
}
CLOISTER_API int tee_sealed_parse(struct tee_sealed_view *v, const void *blob, size_t len,
                                  struct cloister_err *err);
/* out has room for tee_sealed_size(len) bytes. */
CLOISTER_API CLOISTER_MUST_CHECK int tee_seal(tee_self *s, enum tee_seal_policy policy,
                                              const void *aad, size_t aad_len,
                                              const void *plaintext, size_t len, uint8_t *out,
                                              size_t cap, size_t *out_len,
                                              struct cloister_err *err);
/* pt has room for blob_len - TEE_SEAL_OVERHEAD bytes; on failure it holds no plaintext. Errors
 * say why: malformed or truncated, other product, higher svn, or authentication failed (blob or
 * AAD altered, another identity or platform). */
CLOISTER_API CLOISTER_MUST_CHECK int tee_unseal(tee_self *s, const void *blob, size_t blob_len,
                                                const void *aad, size_t aad_len, uint8_t *pt,
                                                size_t cap, size_t *pt_len,
                                                struct cloister_err *err);

/* Local attestation. A report is body || key id || HMAC-SHA256(report key, body || key id),
 * where the report key = HKDF-Expand of the platform secret with the TARGET's MRENCLAVE and
 * the key id (the target derives the same key for itself: only it, or the platform, can check
 * the MAC). The key id is drawn per tee_self (SGX: per boot). */
CLOISTER_API void tee_self_target(const tee_self *s, uint8_t target_mrenclave[TEE_HASH_LEN]);
CLOISTER_API int tee_report_create(tee_self *s, const uint8_t target_mrenclave[TEE_HASH_LEN],
                                   const uint8_t report_data[TEE_REPORT_DATA_LEN],
                                   uint8_t report[TEE_REPORT_LEN], struct cloister_err *err);
/* Checks a report targeted at this enclave; fills body (the reporter's identity). */
CLOISTER_API CLOISTER_MUST_CHECK int tee_report_verify(tee_self *s,
                                                       const uint8_t report[TEE_REPORT_LEN],
                                                       struct tee_report_body *body,
                                                       struct cloister_err *err);

/* Remote evidence (format cloister-sim-v1) binding report_data. */
CLOISTER_API int tee_evidence_make(tee_self *s, const uint8_t report_data[TEE_REPORT_DATA_LEN],
                                   uint8_t **evidence, size_t *len, struct cloister_err *err);

/* ---------------------------------------------------------------------------------------
 * Attested provisioning, the enclave's half (the records and the provisioner's half are in
 * tee_verify.h):
 *   - tee_prov_offer(request) makes a fresh HPKE (X25519) key pair and evidence binding its
 *     public key and the provisioner's nonce (the request is the bare nonce, or a provider's
 *     signed "CLPQ" request: tee_prov_request); the private key stays in tee_self (secret
 *     memory). Up to TEE_PROV_PENDING offers are pending per tee_self; a new offer replaces
 *     the oldest; a package names its offer, so only that offer's key is tried. Once
 *     a provider is pinned (below), only its signed requests are answered (CLOISTER_E_DENIED).
 *   - tee_prov_accept(package) opens the provisioner's package with a pending key (used
 *     once: a replay finds no pending offer; a failed attempt leaves it pending), merges the
 *     secrets into the table (a name given again replaces its value) and returns the whole
 *     table sealed under the caller's policy for the host to store. A package signed by a
 *     provider (tee_prov_sign) pins that provider's key when none is pinned; once one is,
 *     unsigned packages and those of other keys are refused (CLOISTER_E_DENIED).
 *   - tee_prov_take(package, name) opens and checks it as tee_prov_accept does (the offer used
 *     once) but copies the secret `name` out to the caller instead of keeping the secrets and
 *     sealing the table: for per-request secrets (a reply key, a session key) that must not
 *     outlive the request. A package that would pin its provider is refused (pinning is
 *     persisted: tee_prov_accept).
 *   - After a restart, tee_secrets_restore() loads the stored table back: no provisioner. */
#define TEE_PROV_PENDING 64
CLOISTER_API int tee_prov_offer(tee_self *s, const uint8_t *request, size_t request_len,
                                uint8_t **offer, size_t *offer_len, struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK int tee_prov_accept(tee_self *s, const void *package,
                                                     size_t package_len,
                                                     enum tee_seal_policy policy, uint8_t **sealed,
                                                     size_t *sealed_len, struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK int tee_prov_take(tee_self *s, const void *package,
                                                   size_t package_len, const char *name,
                                                   uint8_t *out, size_t cap, size_t *len,
                                                   struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK int
tee_secrets_restore(tee_self *s, const void *sealed, size_t sealed_len, struct cloister_err *err);
/* Copies a provisioned secret: CLOISTER_E_NOT_FOUND if there is none of that name,
 * CLOISTER_E_TOO_BIG if cap is too small (*len then tells the size). */
CLOISTER_API int tee_secret_get(tee_self *s, const char *name, uint8_t *out, size_t cap,
                                size_t *len, struct cloister_err *err);
CLOISTER_API size_t tee_secret_count(tee_self *s);

#endif
