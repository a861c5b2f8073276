/* hpke_wire.h -- how HPKE keys and sealed messages are stored and sent (the `cloister crypto
 * hpke-*` files), in the wire.h codec. Integers are big-endian, "bytes" is a varint length then
 * the bytes, and every record starts with a 4-byte magic and a 16-bit version:
 *
 *     public key    "CHPK" v1   u16 kem_id | bytes public_key (32)
 *     secret key    "CHSK" v1   u16 kem_id | bytes secret_key (32) | bytes public_key (32)
 *     sealed msg    "CHPM" v1   u16 kem_id | u16 kdf_id | u16 aead_id | u8 mode |
 *                               bytes enc (32) | bytes ciphertext (plaintext + 16-byte tag)
 *
 * kem_id is 0x0020 (DHKEM(X25519, HKDF-SHA256)), kdf_id 0x0001 (HKDF-SHA256), aead_id 1, 2 or 3
 * and mode 0-3, all as in RFC 9180. The info and AAD strings are not stored: both sides supply
 * them. A secret key file repeats its public key so a damaged file is detected on load.
 *
 * Decoders accept exactly one record with no trailing bytes, and on failure give one line that
 * names the field and its offset. */
#ifndef CLOISTER_CRYPTO_HPKE_WIRE_H
#define CLOISTER_CRYPTO_HPKE_WIRE_H

#include <cloister/hpke.h>
#include <cloister/wire.h>

struct hpke_message {
    enum hpke_aead aead;
    enum hpke_mode mode;
    uint8_t enc[HPKE_ENC_LEN];
    const uint8_t *ct; /* points into the decoded buffer */
    size_t ct_len;
};

void hpke_wire_put_public(struct wire_writer *w, const uint8_t pk[HPKE_PUBLIC_LEN]);
void hpke_wire_put_secret(struct wire_writer *w, const uint8_t sk[HPKE_SECRET_LEN],
                          const uint8_t pk[HPKE_PUBLIC_LEN]);
void hpke_wire_put_message(struct wire_writer *w, const struct hpke_message *m);

/* 0, or -1 with *error set to a static or thread-local line valid until the next decode. */
int hpke_wire_get_public(uint8_t pk[HPKE_PUBLIC_LEN], const uint8_t *buf, size_t len,
                         const char **error);
int hpke_wire_get_secret(uint8_t sk[HPKE_SECRET_LEN], uint8_t pk[HPKE_PUBLIC_LEN],
                         const uint8_t *buf, size_t len, const char **error);
int hpke_wire_get_message(struct hpke_message *m, const uint8_t *buf, size_t len,
                          const char **error);

#endif
