/* file.c -- user key records and files sealed for a group (formats in include/cloister/ibbe.h).
 *
 * A sealed file carries its group and epoch in clear so a reader knows which group key to
 * fetch; every header byte is authenticated as AES-GCM associated data, and the file key is
 * derived per file (random salt) so that a leaked file key exposes one file, not the group. */
#include "ibbe/common/internal.h"

#include <cloister/crypto.h>
#include <cloister/wire.h>

#include <stdlib.h>
#include <string.h>

#define FILE_HEADER_MAX (WIRE_HEADER_LEN + 1 + IBBE_NAME_MAX + 8 + IBBE_FILE_SALT_LEN)

int ibbe_usk_encode(const char *id, const struct ibbe_usk *usk, uint8_t **out, size_t *len)
{
    if (!ibbe_id_valid(id))
        return -1;
    uint8_t raw[IBBE_USK_BYTES];
    ibbe_usk_to_bytes(raw, usk);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CIUK", 1);
    wire_put_str(&w, id);
    wire_put_raw(&w, raw, sizeof raw);
    crypto_wipe(raw, sizeof raw);
    return wire_writer_finish(&w, out, len);
}

int ibbe_usk_decode(char id[IBBE_ID_MAX + 1], struct ibbe_usk *usk, const uint8_t *buf, size_t len,
                    struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CIUK", 1);
    wire_get_str(&r, id, IBBE_ID_MAX + 1);
    const uint8_t *raw = wire_get_raw(&r, IBBE_USK_BYTES);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "user key record: %s", wire_reader_error(&r));
    if (!ibbe_id_valid(id))
        return cloister_errf(err, CLOISTER_E_INVALID, "user key record: invalid identity");
    if (ibbe_usk_from_bytes(usk, raw) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "user key record: the key is not a point of G2");
    return 0;
}

int ibbe_members_parse(char *text, size_t len, char ***ids, size_t *count, struct cloister_err *err)
{
    size_t n = 0, cap = 0, line = 0;
    char **v = NULL;
    for (char *p = text, *end = text + len; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        size_t linelen = (size_t)(stop - p);
        if (linelen && p[linelen - 1] == '\r')
            linelen--;
        p[linelen] = '\0';
        *stop = '\0';
        if (linelen > 0 && *p != '#') {
            if (strlen(p) != linelen || !ibbe_id_valid(p)) {
                free(v);
                return cloister_errf(err, CLOISTER_E_INVALID,
                                     "line %zu: an identity is 1-%d bytes without NUL or CR",
                                     line + 1, IBBE_ID_MAX);
            }
            if (n == cap) {
                char **grown = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
                if (!grown) {
                    free(v);
                    return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
                }
                v = grown;
            }
            v[n++] = p;
        }
        p = stop + 1;
    }
    *ids = v;
    *count = n;
    return 0;
}

int ibbe_file_key(uint8_t key[IBBE_KEY_LEN], const uint8_t gk[IBBE_KEY_LEN],
                  const struct ibbe_file_header *h)
{
    struct wire_writer info;
    wire_writer_init(&info);
    wire_put_raw(&info, IBBE_FILE_INFO, strlen(IBBE_FILE_INFO));
    wire_put_str(&info, h->group);
    wire_put_u64(&info, h->epoch);
    int rc = wire_writer_ok(&info) ? crypto_hkdf(key, IBBE_KEY_LEN, h->salt, IBBE_FILE_SALT_LEN, gk,
                                                 IBBE_KEY_LEN, info.buf, info.len)
                                   : -1;
    wire_writer_free(&info);
    return rc;
}

/* Writes the header into w (a fresh nonce after it); its bytes are the AAD. */
static void put_header(struct wire_writer *w, const struct ibbe_file_header *h)
{
    wire_put_header(w, "CIFL", 1);
    wire_put_str(w, h->group);
    wire_put_u64(w, h->epoch);
    wire_put_raw(w, h->salt, IBBE_FILE_SALT_LEN);
}

int ibbe_file_seal(const uint8_t key[IBBE_KEY_LEN], const struct ibbe_file_header *h,
                   const uint8_t *pt, size_t len, uint8_t **out, size_t *outlen)
{
    if (!ibbe_group_name_valid(h->group) || len > SIZE_MAX - FILE_HEADER_MAX - 64)
        return -1;
    struct wire_writer w;
    wire_writer_init(&w);
    put_header(&w, h);
    size_t aad_len = w.len;
    uint8_t *nonce = wire_writer_reserve(&w, CRYPTO_AEAD_NONCE_LEN);
    if (!nonce || crypto_random(nonce, CRYPTO_AEAD_NONCE_LEN) != 0) {
        wire_writer_free(&w);
        return -1;
    }
    wire_writer_commit(&w, CRYPTO_AEAD_NONCE_LEN);
    uint8_t *ct = wire_writer_reserve(&w, len + CRYPTO_AEAD_TAG_LEN);
    if (!ct || crypto_aead_seal(CRYPTO_AES256_GCM, key, w.buf + aad_len, w.buf, aad_len, pt, len,
                                ct) != 0) {
        wire_writer_free(&w);
        return -1;
    }
    wire_writer_commit(&w, len + CRYPTO_AEAD_TAG_LEN);
    return wire_writer_finish(&w, out, outlen);
}

/* Parses the header; *aad_len is where the nonce starts. */
static int parse(struct ibbe_file_header *h, const uint8_t *buf, size_t len, size_t *aad_len,
                 struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CIFL", 1);
    wire_get_str(&r, h->group, sizeof h->group);
    h->epoch = wire_get_u64(&r);
    wire_get_raw_into(&r, h->salt, IBBE_FILE_SALT_LEN);
    *aad_len = len - wire_reader_remaining(&r);
    wire_get_raw(&r, CRYPTO_AEAD_NONCE_LEN + CRYPTO_AEAD_TAG_LEN);
    if (!wire_reader_ok(&r))
        return cloister_errf(err, CLOISTER_E_INVALID, "sealed file: %s", wire_reader_error(&r));
    if (!ibbe_group_name_valid(h->group))
        return cloister_errf(err, CLOISTER_E_INVALID, "sealed file: invalid group name");
    return 0;
}

int ibbe_file_parse(struct ibbe_file_header *h, const uint8_t *buf, size_t len,
                    struct cloister_err *err)
{
    size_t aad_len;
    return parse(h, buf, len, &aad_len, err);
}

int ibbe_file_open(const uint8_t key[IBBE_KEY_LEN], const uint8_t *buf, size_t len, uint8_t **pt,
                   size_t *ptlen, struct cloister_err *err)
{
    struct ibbe_file_header h;
    size_t aad_len;
    int rc = parse(&h, buf, len, &aad_len, err);
    if (rc != CLOISTER_OK)
        return rc;
    const uint8_t *nonce = buf + aad_len, *ct = nonce + CRYPTO_AEAD_NONCE_LEN;
    size_t ctlen = len - aad_len - CRYPTO_AEAD_NONCE_LEN;
    size_t n = ctlen - CRYPTO_AEAD_TAG_LEN;
    uint8_t *out = malloc(n ? n : 1);
    if (!out)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (crypto_aead_open(CRYPTO_AES256_GCM, key, nonce, buf, aad_len, ct, ctlen, out) != 0) {
        free(out);
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "sealed file does not open: wrong group key or altered file");
    }
    *pt = out;
    *ptlen = n;
    return 0;
}
