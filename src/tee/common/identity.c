/* identity.c -- measurement (MRENCLAVE, MRSIGNER), the signature file (SIGSTRUCT) and signer
 * keys.
 *
 * MRENCLAVE = SHA-256(image bytes || 29-byte wire config): the config has a fixed length in
 * every version-1 encoding, so the boundary between the two is unambiguous. The signature
 * covers a label and every byte of the record before it, so a verifier that checks it knows
 * the config, the measurement and the signer key are the signer's. Checking an image is then
 * two separate questions with two separate errors: is the signature file genuine, and are
 * these the bytes it vouches for. */
#include "tee/common/common.h"

#include <cloister/crypto.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"

#define SIGSTRUCT_MAX 512

void tee_measure(uint8_t mrenclave[TEE_HASH_LEN], const void *image, size_t len,
                 const struct tee_config *c)
{
    uint8_t cfg[TEE_CONFIG_WIRE_LEN];
    tee_config_encode(c, cfg);
    crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA256);
    crypto_hash_update(h, image, len);
    crypto_hash_update(h, cfg, sizeof cfg);
    crypto_hash_final(h, mrenclave);
}

int tee_measure_fd(uint8_t mrenclave[TEE_HASH_LEN], int fd, const struct tee_config *c,
                   struct cloister_err *err)
{
    enum { CHUNK = 1 << 16 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "measuring the image: out of memory");
    crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA256);
    off_t off = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, CHUNK, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "measuring the image: read failed: %s",
                               strerror(errno));
            break;
        }
        if (n == 0)
            break;
        crypto_hash_update(h, buf, (size_t)n);
        off += n;
    }
    uint8_t cfg[TEE_CONFIG_WIRE_LEN];
    tee_config_encode(c, cfg);
    crypto_hash_update(h, cfg, sizeof cfg);
    crypto_hash_final(h, mrenclave);
    free(buf);
    return rc;
}

void tee_mrsigner(uint8_t mrsigner[TEE_HASH_LEN], const uint8_t signer_key[TEE_PUBKEY_LEN])
{
    crypto_sha256(mrsigner, signer_key, TEE_PUBKEY_LEN);
}

/* The record up to (not including) the signature. */
static void put_signed_part(struct wire_writer *w, const struct tee_sigstruct *s)
{
    uint8_t cfg[TEE_CONFIG_WIRE_LEN];
    tee_config_encode(&s->config, cfg);
    wire_put_header(w, "CLSG", 1);
    wire_put_bytes(w, cfg, sizeof cfg);
    wire_put_bytes(w, s->mrenclave, TEE_HASH_LEN);
    wire_put_bytes(w, s->signer_key, TEE_PUBKEY_LEN);
}

/* The signed message: label || NUL || the record's signed part. 0 when it does not fit. */
static size_t signed_message(uint8_t msg[SIGSTRUCT_MAX], const uint8_t *part, size_t len)
{
    size_t label = sizeof TEE_LABEL_SIGSTRUCT;
    if (len > SIGSTRUCT_MAX - label)
        return 0;
    memcpy(msg, TEE_LABEL_SIGSTRUCT, label);
    memcpy(msg + label, part, len);
    return label + len;
}

int tee_sign(struct tee_sigstruct *s, const void *image, size_t len, const struct tee_config *c,
             const uint8_t signer_seed[TEE_SEED_LEN], struct cloister_err *err)
{
    if (tee_config_check(c, err))
        return CLOISTER_E_INVALID;
    memset(s, 0, sizeof *s);
    s->config = *c;
    tee_measure(s->mrenclave, image, len, c);
    if (crypto_ed25519_public(s->signer_key, signer_seed))
        return cloister_errf(err, CLOISTER_E_FAILED, "sign: bad signer key");
    uint8_t part[SIGSTRUCT_MAX], msg[SIGSTRUCT_MAX];
    struct wire_writer w;
    wire_writer_init_fixed(&w, part, sizeof part);
    put_signed_part(&w, s);
    size_t n = wire_writer_ok(&w) ? signed_message(msg, w.buf, w.len) : 0;
    if (!n || crypto_ed25519_sign(s->signature, msg, n, signer_seed) != 0)
        return cloister_errf(err, CLOISTER_E_FAILED, "sign: Ed25519 signing failed");
    return CLOISTER_OK;
}

int tee_sign_file(const char *image_path, const struct tee_config *c,
                  const uint8_t signer_seed[TEE_SEED_LEN], const char *sig_path,
                  struct cloister_err *err)
{
    uint8_t *image = NULL, *sig = NULL;
    size_t len, siglen;
    struct tee_sigstruct s;
    int rc;
    if (file_read_all(image_path, TEE_IMAGE_MAX, &image, &len) != 0)
        rc = cloister_errf(err, tee_errno_code(errno), "cannot read %s: %s", image_path,
                           strerror(errno));
    else if ((rc = tee_sign(&s, image, len, c, signer_seed, err)) != CLOISTER_OK ||
             (rc = tee_sigstruct_encode(&s, &sig, &siglen, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "cannot sign %s", image_path);
    else if (file_write_atomic(sig_path, sig, siglen, 0644) != 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write %s: %s", sig_path,
                           strerror(errno));
    free(image);
    free(sig);
    return rc;
}

int tee_sign_file_sized(const char *image_path, uint64_t heap_size, uint64_t epc_budget,
                        const uint8_t signer_seed[TEE_SEED_LEN], const char *sig_path,
                        struct cloister_err *err)
{
    struct tee_config cfg;
    tee_config_default(&cfg);
    if (heap_size)
        cfg.heap_size = heap_size;
    if (epc_budget)
        cfg.epc_budget = epc_budget;
    return tee_sign_file(image_path, &cfg, signer_seed, sig_path, err);
}

int tee_sigstruct_encode(const struct tee_sigstruct *s, uint8_t **out, size_t *len,
                         struct cloister_err *err)
{
    struct wire_writer w;
    wire_writer_init(&w);
    put_signed_part(&w, s);
    wire_put_bytes(&w, s->signature, TEE_SIG_LEN);
    if (wire_writer_finish(&w, out, len) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "signature file: out of memory");
    return CLOISTER_OK;
}

int tee_sigstruct_decode(struct tee_sigstruct *s, const void *buf, size_t len,
                         struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CLSG", 1);
    size_t cfg_len;
    const uint8_t *cfg = wire_get_bytes(&r, TEE_CONFIG_WIRE_LEN, &cfg_len);
    struct tee_sigstruct tmp;
    wire_get_bytes_exact(&r, tmp.mrenclave, TEE_HASH_LEN);
    wire_get_bytes_exact(&r, tmp.signer_key, TEE_PUBKEY_LEN);
    size_t signed_len = r.off;
    wire_get_bytes_exact(&r, tmp.signature, TEE_SIG_LEN);
    if (tee_wire_finish(&r, "signature file is malformed", err))
        return -1;
    struct cloister_err why;
    if (tee_config_decode(&tmp.config, cfg, cfg_len, &why))
        return cloister_errf(err, CLOISTER_E_INVALID, "signature file holds an invalid %s",
                             why.msg);
    uint8_t msg[SIGSTRUCT_MAX];
    size_t n = signed_message(msg, buf, signed_len);
    if (!n || crypto_ed25519_verify(tmp.signature, msg, n, tmp.signer_key))
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "signature file: the signature does not verify (the config, the "
                             "measurement or the signer key was altered, or it was not signed "
                             "by that key)");
    *s = tmp;
    return 0;
}

static int finish_identity(struct tee_identity *id, const struct tee_sigstruct *s,
                           const uint8_t measured[TEE_HASH_LEN], struct cloister_err *err)
{
    if (!crypto_memeq(measured, s->mrenclave, TEE_HASH_LEN))
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "image does not match its signature file: MRENCLAVE of these "
                             "bytes with the signed config differs from the signed MRENCLAVE "
                             "(image modified, or signature file of another image)");
    memcpy(id->mrenclave, s->mrenclave, TEE_HASH_LEN);
    memcpy(id->signer_key, s->signer_key, TEE_PUBKEY_LEN);
    tee_mrsigner(id->mrsigner, s->signer_key);
    id->config = s->config;
    return 0;
}

int tee_image_verify(struct tee_identity *id, const void *image, size_t len, const void *sig,
                     size_t siglen, struct cloister_err *err)
{
    struct tee_sigstruct s;
    int rc = tee_sigstruct_decode(&s, sig, siglen, err);
    if (rc != CLOISTER_OK)
        return rc;
    uint8_t measured[TEE_HASH_LEN];
    tee_measure(measured, image, len, &s.config);
    return finish_identity(id, &s, measured, err);
}

int tee_image_verify_fd(struct tee_identity *id, int image_fd, const void *sig, size_t siglen,
                        struct cloister_err *err)
{
    struct tee_sigstruct s;
    uint8_t measured[TEE_HASH_LEN];
    int rc = tee_sigstruct_decode(&s, sig, siglen, err);
    if (rc == CLOISTER_OK)
        rc = tee_measure_fd(measured, image_fd, &s.config, err);
    return rc == CLOISTER_OK ? finish_identity(id, &s, measured, err) : rc;
}

/* ---- signer keys ---- */

int tee_signer_keygen(const char *path, uint8_t public_key[TEE_PUBKEY_LEN],
                      struct cloister_err *err)
{
    uint8_t seed[TEE_SEED_LEN], rec[WIRE_HEADER_LEN + 1 + TEE_SEED_LEN];
    if (crypto_ed25519_keypair(public_key, seed))
        return cloister_errf(err, CLOISTER_E_FAILED, "key generation failed");
    struct wire_writer w;
    wire_writer_init_fixed(&w, rec, sizeof rec);
    wire_put_header(&w, "CLSK", 1);
    wire_put_bytes(&w, seed, sizeof seed);
    int rc = file_write_atomic(path, rec, sizeof rec, 0600);
    int saved = errno;
    crypto_wipe(seed, sizeof seed);
    crypto_wipe(rec, sizeof rec);
    if (rc)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot write the key: %s", path,
                             strerror(saved));
    return 0;
}

int tee_signer_load(const char *path, uint8_t seed[TEE_SEED_LEN],
                    uint8_t public_key[TEE_PUBKEY_LEN], struct cloister_err *err)
{
    uint8_t *data;
    size_t len;
    char why[256];
    if (file_read_secret(path, 4096, &data, &len))
        return cloister_errf(err, tee_errno_code(errno), "%s: cannot read the signer key: %s", path,
                             file_strerror(errno, path, why, sizeof why));
    struct wire_reader r;
    wire_reader_init(&r, data, len);
    wire_get_header(&r, "CLSK", 1);
    wire_get_bytes_exact(&r, seed, TEE_SEED_LEN);
    int rc = wire_reader_finish(&r);
    if (rc)
        cloister_errf(err, CLOISTER_E_INVALID, "%s: not a signer key (%s)", path,
                      wire_reader_error(&r));
    crypto_wipe(data, len);
    free(data);
    if (!rc && crypto_ed25519_public(public_key, seed))
        rc = cloister_errf(err, CLOISTER_E_INVALID, "%s: bad signer key", path);
    if (rc)
        crypto_wipe(seed, TEE_SEED_LEN);
    return rc;
}
