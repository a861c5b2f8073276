/* hpke_wire.c -- see hpke_wire.h for the formats. A decoder walks its record field by field
 * through the bounds-checked wire reader, remembering the name of the field being read, so the
 * first error becomes "enc at offset 17: truncated input" rather than a bare offset. */
#include <stdio.h>

#include <cloister/crypto.h>

#include "crypto/hpke_wire.h"

#define MAGIC_PUBLIC "CHPK"
#define MAGIC_SECRET "CHSK"
#define MAGIC_MESSAGE "CHPM"
#define FORMAT_VERSION 1

struct decoder {
    struct wire_reader r;
    const char *field;
};

static void decoder_init(struct decoder *d, const uint8_t *buf, size_t len)
{
    wire_reader_init(&d->r, buf, len);
    d->field = "record";
}

/* Names the field about to be read, unless an earlier one already failed. */
static void at(struct decoder *d, const char *field)
{
    if (wire_reader_ok(&d->r))
        d->field = field;
}

/* Refuses a value that was read whole but is not acceptable; start is where it began. */
static void refuse(struct decoder *d, size_t start, const char *why)
{
    if (!wire_reader_ok(&d->r))
        return;
    d->r.off = start;
    wire_reader_fail(&d->r, why);
}

static int decoder_finish(struct decoder *d, const char **error)
{
    static _Thread_local char line[160];
    at(d, "end of record");
    if (wire_reader_finish(&d->r) == 0)
        return 0;
    snprintf(line, sizeof line, "%s at offset %zu: %s", d->field, d->r.error_off, d->r.error);
    *error = line;
    return -1;
}

static void get_header(struct decoder *d, const char *magic, const char *what)
{
    at(d, what);
    wire_get_header(&d->r, magic, FORMAT_VERSION);
}

static void get_id(struct decoder *d, const char *field, uint16_t want, const char *why)
{
    size_t start = d->r.off;
    at(d, field);
    if (wire_get_u16(&d->r) != want)
        refuse(d, start, why);
}

static void get_kem(struct decoder *d)
{
    get_id(d, "kem_id", HPKE_KEM_X25519_HKDF_SHA256,
           "unsupported KEM (only 0x0020, DHKEM(X25519, HKDF-SHA256))");
}

static void put_key_header(struct wire_writer *w, const char *magic)
{
    wire_put_header(w, magic, FORMAT_VERSION);
    wire_put_u16(w, HPKE_KEM_X25519_HKDF_SHA256);
}

void hpke_wire_put_public(struct wire_writer *w, const uint8_t pk[HPKE_PUBLIC_LEN])
{
    put_key_header(w, MAGIC_PUBLIC);
    wire_put_bytes(w, pk, HPKE_PUBLIC_LEN);
}

void hpke_wire_put_secret(struct wire_writer *w, const uint8_t sk[HPKE_SECRET_LEN],
                          const uint8_t pk[HPKE_PUBLIC_LEN])
{
    put_key_header(w, MAGIC_SECRET);
    wire_put_bytes(w, sk, HPKE_SECRET_LEN);
    wire_put_bytes(w, pk, HPKE_PUBLIC_LEN);
}

void hpke_wire_put_message(struct wire_writer *w, const struct hpke_message *m)
{
    wire_put_header(w, MAGIC_MESSAGE, FORMAT_VERSION);
    wire_put_u16(w, HPKE_KEM_X25519_HKDF_SHA256);
    wire_put_u16(w, HPKE_KDF_HKDF_SHA256);
    wire_put_u16(w, (uint16_t)m->aead);
    wire_put_u8(w, (uint8_t)m->mode);
    wire_put_bytes(w, m->enc, HPKE_ENC_LEN);
    wire_put_bytes(w, m->ct, m->ct_len);
}

int hpke_wire_get_public(uint8_t pk[HPKE_PUBLIC_LEN], const uint8_t *buf, size_t len,
                         const char **error)
{
    struct decoder d;
    decoder_init(&d, buf, len);
    get_header(&d, MAGIC_PUBLIC, "header (expected an HPKE public key, CHPK)");
    get_kem(&d);
    at(&d, "public_key");
    wire_get_bytes_exact(&d.r, pk, HPKE_PUBLIC_LEN);
    return decoder_finish(&d, error);
}

int hpke_wire_get_secret(uint8_t sk[HPKE_SECRET_LEN], uint8_t pk[HPKE_PUBLIC_LEN],
                         const uint8_t *buf, size_t len, const char **error)
{
    struct decoder d;
    uint8_t derived[HPKE_PUBLIC_LEN];
    decoder_init(&d, buf, len);
    get_header(&d, MAGIC_SECRET, "header (expected an HPKE secret key, CHSK)");
    get_kem(&d);
    at(&d, "secret_key");
    wire_get_bytes_exact(&d.r, sk, HPKE_SECRET_LEN);
    size_t start = d.r.off;
    at(&d, "public_key");
    wire_get_bytes_exact(&d.r, pk, HPKE_PUBLIC_LEN);
    if (wire_reader_ok(&d.r) &&
        (hpke_public_from_secret(derived, sk) != 0 || !crypto_memeq(derived, pk, sizeof derived)))
        refuse(&d, start, "does not match the secret key (damaged file)");
    int rc = decoder_finish(&d, error);
    if (rc != 0)
        crypto_wipe(sk, HPKE_SECRET_LEN);
    return rc;
}

int hpke_wire_get_message(struct hpke_message *m, const uint8_t *buf, size_t len,
                          const char **error)
{
    struct decoder d;
    decoder_init(&d, buf, len);
    get_header(&d, MAGIC_MESSAGE, "header (expected an HPKE sealed message, CHPM)");
    get_kem(&d);
    get_id(&d, "kdf_id", HPKE_KDF_HKDF_SHA256, "unsupported KDF (only 0x0001, HKDF-SHA256)");

    size_t start = d.r.off;
    at(&d, "aead_id");
    m->aead = (enum hpke_aead)wire_get_u16(&d.r);
    if (m->aead != HPKE_AEAD_AES128GCM && m->aead != HPKE_AEAD_AES256GCM &&
        m->aead != HPKE_AEAD_CHACHA20POLY1305)
        refuse(&d, start, "unsupported AEAD (1 AES-128-GCM, 2 AES-256-GCM, 3 ChaCha20-Poly1305)");

    start = d.r.off;
    at(&d, "mode");
    m->mode = (enum hpke_mode)wire_get_u8(&d.r);
    if (m->mode > HPKE_MODE_AUTH_PSK)
        refuse(&d, start, "unknown mode (0 base, 1 psk, 2 auth, 3 auth_psk)");

    at(&d, "enc");
    wire_get_bytes_exact(&d.r, m->enc, HPKE_ENC_LEN);
    start = d.r.off;
    at(&d, "ciphertext");
    m->ct = wire_get_bytes(&d.r, SIZE_MAX, &m->ct_len);
    if (m->ct_len < HPKE_TAG_LEN)
        refuse(&d, start, "shorter than the 16-byte tag");
    return decoder_finish(&d, error);
}
