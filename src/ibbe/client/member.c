/* member.c -- the member side of IBBE-SGX (include/cloister/ibbe_client.h): user key files,
 * recovering the group key from the store, opening files sealed for the group.
 *
 * Runs without an enclave and trusts nothing it reads: the store's records are decoded with
 * every bound and point checked (ibbe.h), the group key only comes out of an authenticated
 * unwrap, and a file only opens under the key of its own group and epoch. The key file may be
 * HPKE-sealed to the user, so that the admin can hand it over any channel, and is one line of
 * Bech32 text (cloister-ibbe-user1...) or the binary record. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/ibbe_client.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hpke_wire.h"
#include "util/bech32.h"
#include "util/fileio.h"

#define KEY_FILE_MAX ((size_t)1 << 16)

static int read_key_file(const char *path, uint8_t **data, size_t *len, struct cloister_err *err)
{
    char why[256];
    if (file_read_secret(path, KEY_FILE_MAX, data, len) == 0)
        return CLOISTER_OK;
    return cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM,
                         "cannot read %s: %s", path, file_strerror(errno, path, why, sizeof why));
}

/* A key file in its text form (cloister-ibbe-user1..., what `cloister ibbe extract` writes) is
 * replaced by the bytes it encodes; the text is wiped, as the key itself. */
static int key_from_text(const char *path, uint8_t **data, size_t *len, struct cloister_err *err)
{
    uint8_t *bin = malloc(*len);
    size_t n = 0;
    const char *why = "out of memory";
    int rc = CLOISTER_OK;
    if (!bin || bech32_key_decode(BECH32_HRP_IBBE_USER, *data, *len, bin, *len, &n, &why) != 0) {
        rc = cloister_errf(err, CLOISTER_E_INVALID, "%s: not a user key: %s", path, why);
        free(bin);
        bin = NULL;
    }
    crypto_wipe(*data, *len);
    free(*data);
    *data = bin;
    *len = n;
    return rc;
}

/* Opens the HPKE message m (info IBBE_USK_INFO, AAD the identity) with the secret key file:
 * *rec (malloc'd, *reclen bytes) is the "CIUK" record inside. */
static int open_sealed_key(const struct hpke_message *m, const char *path, const char *secret,
                           const char *id, uint8_t **rec, size_t *reclen, struct cloister_err *err)
{
    uint8_t sk[HPKE_SECRET_LEN], pk[HPKE_PUBLIC_LEN], *sd, *pt;
    size_t sl;
    const char *why;
    if (!secret)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "%s: the key is HPKE-sealed: the user's HPKE secret key opens it",
                             path);
    int rc = read_key_file(secret, &sd, &sl, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (hpke_wire_get_secret(sk, pk, sd, sl, &why) != 0)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "%s: not an HPKE secret key file: %s", secret,
                           why);
    else if (m->ct_len < HPKE_TAG_LEN)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "%s: truncated HPKE message", path);
    else if (!(pt = malloc(m->ct_len)))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    else if (hpke_open(pt, m->aead, m->enc, sk, IBBE_USK_INFO, strlen(IBBE_USK_INFO), id,
                       strlen(id), m->ct, m->ct_len, NULL) != 0) {
        free(pt);
        rc = cloister_errf(err, CLOISTER_E_DENIED, "%s: does not open with %s for user '%s'", path,
                           secret, id);
    } else {
        *rec = pt;
        *reclen = m->ct_len - HPKE_TAG_LEN;
    }
    crypto_wipe(sk, sizeof sk);
    crypto_wipe(sd, sl);
    free(sd);
    return rc;
}

int ibbe_client_load_key(const char *path, const char *secret, const char *id, struct ibbe_usk *usk,
                         struct cloister_err *err)
{
    uint8_t *data, *rec;
    size_t len, reclen;
    const char *why;
    char owner[IBBE_ID_MAX + 1];
    struct hpke_message m;
    int rc = read_key_file(path, &data, &len, err);
    if (rc == CLOISTER_OK && bech32_key_is_text(data, len))
        rc = key_from_text(path, &data, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    rec = data;
    reclen = len;
    if (hpke_wire_get_message(&m, data, len, &why) == 0)
        rc = open_sealed_key(&m, path, secret, id, &rec, &reclen, err);
    if (rc == CLOISTER_OK && (rc = ibbe_usk_decode(owner, usk, rec, reclen, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "%s", path);
    if (rc == CLOISTER_OK && strcmp(owner, id) != 0)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "%s: a key of '%s', not of '%s'", path, owner,
                           id);
    if (rec != data) {
        crypto_wipe(rec, reclen);
        free(rec);
    }
    crypto_wipe(data, len);
    free(data);
    if (rc != CLOISTER_OK)
        crypto_wipe(usk, sizeof *usk);
    return rc;
}

/* The member's group key and the group as loaded (its record, with the key regression links,
 * and the member's partition); *g is the caller's to free. */
static int member_group(const char *store, const char *group, const char *id,
                        const struct ibbe_usk *usk, uint8_t gk[IBBE_KEY_LEN], ibbe_group **g,
                        struct cloister_err *err)
{
    ibbe_store *s;
    ibbe_pk *pk = NULL;
    *g = NULL;
    int rc = ibbe_store_open(store, &s, err);
    if (rc != CLOISTER_OK)
        return rc;
    if ((rc = ibbe_store_load_pk(s, &pk, err)) == CLOISTER_OK &&
        (rc = ibbe_store_load_member(s, group, id, g, err)) == CLOISTER_OK)
        rc = ibbe_group_decrypt(pk, *g, id, usk, gk, NULL, err);
    if (rc != CLOISTER_OK && rc != CLOISTER_E_NOT_FOUND)
        cloister_err_wrap(err, "group %s, user %s", group, id);
    if (rc != CLOISTER_OK) {
        ibbe_group_free(*g);
        *g = NULL;
    }
    ibbe_pk_free(pk);
    ibbe_store_close(s);
    return rc;
}

int ibbe_client_group_key(const char *store, const char *group, const char *id,
                          const struct ibbe_usk *usk, uint8_t gk[IBBE_KEY_LEN], uint64_t *epoch,
                          struct cloister_err *err)
{
    ibbe_group *g;
    int rc = member_group(store, group, id, usk, gk, &g, err);
    if (rc == CLOISTER_OK && epoch)
        *epoch = ibbe_group_epoch(g);
    ibbe_group_free(g);
    return rc;
}

int ibbe_client_open_file(const char *store, const char *group, const char *id,
                          const struct ibbe_usk *usk, const uint8_t *buf, size_t len, uint8_t **pt,
                          size_t *ptlen, struct cloister_err *err)
{
    struct ibbe_file_header h;
    uint8_t gk[IBBE_KEY_LEN], key[IBBE_KEY_LEN];
    ibbe_group *g;
    int rc = ibbe_file_parse(&h, buf, len, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (strcmp(h.group, group) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "the file is sealed for group '%s', not '%s'",
                             h.group, group);
    if ((rc = member_group(store, group, id, usk, gk, &g, err)) != CLOISTER_OK)
        return rc;
    /* the key of the file's epoch: the current one, or an earlier one by key regression */
    if ((rc = ibbe_group_key_regress(g, gk, h.epoch, gk, err)) != CLOISTER_OK)
        ;
    else if (ibbe_file_key(key, gk, &h) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "cannot derive the file key");
    else
        rc = ibbe_file_open(key, buf, len, pt, ptlen, err);
    ibbe_group_free(g);
    crypto_wipe(gk, sizeof gk);
    crypto_wipe(key, sizeof key);
    return rc;
}
