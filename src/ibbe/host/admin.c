/* admin.c -- the host side of IBBE-SGX's administrator (include/cloister/ibbe_admin.h): starts
 * the `ibbe` enclave, restores γ from its sealed blob, forwards group operations across the
 * boundary (protocol: src/ibbe/common/ecalls.h) and writes what comes back to the store.
 *
 * The host holds no secret: it sees member lists, public records, sealed γ and, for `seal`,
 * one file key per file. Groups are loaded into the enclave lazily (an operation answered
 * NOT_FOUND is retried after GROUP_LOAD), in batches of partition records that fit a message.
 * Changed partitions are written before the group record, so a reader never sees a group
 * record announcing partitions of another epoch without being told (ibbe.h, store). */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/ibbe_admin.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ibbe/common/ecalls.h"
#include "util/fileio.h"

#define ADMIN_MESSAGE_MAX ((size_t)128 << 20) /* a create of ~4M members */
#define LOAD_BATCH_BYTES ((size_t)16 << 20)

struct ibbe_admin {
    ibbe_store *store;
    tee_enclave *e;
    ibbe_pk *pk;
    bool ready;
    char image[PATH_MAX], sig[PATH_MAX + 32];
    char err[PATH_MAX + 512];
};

static const char *fail(ibbe_admin *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    return a->err;
}

/* ---- the image's signature ------------------------------------------------------------------ */

static bool signature_fits(const uint8_t *image, size_t len, const char *sig)
{
    uint8_t *s;
    size_t slen;
    struct tee_identity id;
    struct cloister_err err;
    if (file_read_all(sig, 1 << 20, &s, &slen) != 0)
        return false;
    bool ok = tee_image_verify(&id, image, len, s, slen, &err) == 0;
    free(s);
    return ok;
}

/* Picks the signature (see ibbe_admin.h); makes the development one when needed. */
static int choose_signature(ibbe_admin *a, const struct ibbe_admin_options *o, const char **err)
{
    if (o->signature) {
        snprintf(a->sig, sizeof a->sig, "%s", o->signature);
        return 0;
    }
    uint8_t *image, seed[TEE_SEED_LEN], pub[TEE_PUBKEY_LEN];
    size_t len;
    if (file_read_all(a->image, TEE_IMAGE_MAX, &image, &len) != 0) {
        *err = fail(a, "%s: %s", a->image, strerror(errno));
        return -1;
    }
    snprintf(a->sig, sizeof a->sig, "%s.sig", a->image);
    if (signature_fits(image, len, a->sig)) {
        free(image);
        return 0;
    }
    char home[PATH_MAX], dir[PATH_MAX + 8], key[PATH_MAX + 32];
    int rc = -1;
    struct cloister_err terr = {0};
    if (o->home)
        snprintf(home, sizeof home, "%s", o->home);
    else if (tee_home_dir(home, sizeof home, NULL) != 0) {
        *err = fail(a, "cannot find the cloister home directory");
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/ibbe", home);
    snprintf(key, sizeof key, "%s/signer.key", dir);
    snprintf(a->sig, sizeof a->sig, "%s/ibbe.enclave.sig", dir);
    if (signature_fits(image, len, a->sig)) {
        rc = 0;
        goto out;
    }
    struct tee_config cfg;
    tee_config_default(&cfg);
    if (file_mkdirs(dir, 0700) != 0) {
        *err = fail(a, "%s: %s", dir, strerror(errno));
        goto out;
    }
    if (access(key, F_OK) != 0 && tee_signer_keygen(key, pub, &terr) != 0) {
        *err = fail(a, "%s: %s", key, terr.msg);
        goto out;
    }
    if (tee_signer_load(key, seed, pub, &terr) != 0) {
        *err = fail(a, "%s: %s", key, terr.msg);
        goto out;
    }
    if (tee_sign_file(a->image, &cfg, seed, a->sig, &terr) != 0) {
        *err = fail(a, "%s", terr.msg);
        goto out;
    }
    rc = 0;
out:
    crypto_wipe(seed, sizeof seed);
    free(image);
    return rc;
}

/* ---- calls ------------------------------------------------------------------------------------ */

/* One ecall with the writer's bytes; *out malloc'd. Returns the TEE status (message in a->err). */
static int call(ibbe_admin *a, uint32_t number, struct wire_writer *in, uint8_t **out,
                size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!wire_writer_ok(in)) {
        wire_writer_free(in);
        fail(a, "request too large or out of memory");
        return CLOISTER_E_NO_MEMORY;
    }
    struct cloister_err terr;
    int rc = tee_ecall(a->e, number, in->buf, in->len, out, outlen, &terr);
    wire_writer_free(in);
    if (rc != CLOISTER_OK)
        fail(a, "%s", terr.msg);
    return rc;
}

/* Restores γ into the enclave from the store's sealed blob and public key. */
static int load_msk(ibbe_admin *a, const char **err)
{
    uint8_t *blob, *pkrec = NULL, *out;
    size_t bloblen, pklen = 0, outlen;
    const char *why;
    ibbe_pk_free(a->pk);
    a->pk = NULL;
    a->ready = false;
    if (ibbe_store_load_sealed(a->store, &blob, &bloblen, &why) != 0) {
        *err = fail(a, "%s (run 'cloister ibbe setup' first)", why);
        return -1;
    }
    if (ibbe_store_load_pk(a->store, &a->pk, &why) != 0 ||
        ibbe_pk_encode(a->pk, &pkrec, &pklen) != 0) {
        free(blob);
        *err = fail(a, "%s", why);
        return -1;
    }
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_bytes(&w, blob, bloblen);
    wire_put_bytes(&w, pkrec, pklen);
    free(blob);
    free(pkrec);
    int rc = call(a, IBBE_ECALL_LOAD, &w, &out, &outlen);
    free(out);
    if (rc != CLOISTER_OK) {
        *err = a->err;
        return -1;
    }
    a->ready = true;
    return 0;
}

int ibbe_admin_open(const char *store_dir, const struct ibbe_admin_options *o, ibbe_admin **out,
                    const char **err)
{
    ibbe_admin *a = calloc(1, sizeof *a);
    if (!a) {
        *err = "out of memory";
        return -1;
    }
    struct tee_options t;
    tee_options_init(&t);
    if (o->backend && tee_backend_parse(o->backend, &t.backend, NULL) != 0) {
        *err = fail(a, "unknown enclave backend '%s' (proc or sim)", o->backend);
        goto fail;
    }
    if (o->image)
        snprintf(a->image, sizeof a->image, "%s", o->image);
    else if (tee_image_path("ibbe", a->image, sizeof a->image, NULL) != CLOISTER_OK) {
        *err = fail(a, "cannot find the ibbe enclave image (set CLOISTER_ENCLAVE_DIR)");
        goto fail;
    }
    if (ibbe_store_open(store_dir, &a->store, err) != 0 || choose_signature(a, o, err) != 0)
        goto fail;
    t.image = a->image;
    t.signature = a->sig;
    t.enclave = o->enclave;
    t.home = o->home;
    t.max_message = ADMIN_MESSAGE_MAX;
    struct cloister_err terr;
    if (tee_create(&t, &a->e, &terr) != CLOISTER_OK) {
        *err = fail(a, "starting the ibbe enclave: %s", terr.msg);
        goto fail;
    }
    uint8_t *blob;
    size_t len;
    const char *why;
    if (ibbe_store_load_sealed(a->store, &blob, &len, &why) == 0) {
        free(blob);
        if (load_msk(a, err) != 0)
            goto fail;
    }
    *out = a;
    return 0;
fail:;
    static _Thread_local char msg[sizeof a->err]; /* *err may point into a, freed below */
    snprintf(msg, sizeof msg, "%s", *err);
    *err = msg;
    ibbe_admin_close(a);
    return -1;
}

void ibbe_admin_close(ibbe_admin *a)
{
    if (!a)
        return;
    tee_destroy(a->e);
    ibbe_pk_free(a->pk);
    ibbe_store_close(a->store);
    free(a);
}

int ibbe_admin_restart(ibbe_admin *a, const char **err)
{
    a->ready = false;
    struct cloister_err terr;
    if (tee_restart(a->e, &terr) != CLOISTER_OK) {
        *err = fail(a, "restarting the ibbe enclave: %s", terr.msg);
        return -1;
    }
    return load_msk(a, err);
}

bool ibbe_admin_ready(const ibbe_admin *a) { return a->ready; }
tee_enclave *ibbe_admin_enclave(ibbe_admin *a) { return a->e; }
ibbe_store *ibbe_admin_store(ibbe_admin *a) { return a->store; }
const ibbe_pk *ibbe_admin_pk(const ibbe_admin *a) { return a->ready ? a->pk : NULL; }

static int need_ready(ibbe_admin *a, const char **err)
{
    if (a->ready)
        return 0;
    *err = fail(a, "the store has no master secret (run 'cloister ibbe setup' first)");
    return -1;
}

int ibbe_admin_setup(ibbe_admin *a, size_t n, const char **err)
{
    uint8_t *blob;
    size_t len;
    const char *why;
    if (ibbe_store_load_sealed(a->store, &blob, &len, &why) == 0) {
        free(blob);
        *err = fail(a, "the store is already set up (ibbe.msk.sealed exists)");
        return -1;
    }
    uint8_t *out;
    size_t outlen;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, n);
    if (call(a, IBBE_ECALL_SETUP, &w, &out, &outlen) != CLOISTER_OK) {
        *err = a->err;
        return -1;
    }
    struct wire_reader r;
    size_t bloblen, pklen;
    wire_reader_init(&r, out, outlen);
    const uint8_t *sealed = wire_get_bytes(&r, outlen, &bloblen);
    const uint8_t *pkrec = wire_get_bytes(&r, outlen, &pklen);
    int rc = -1;
    ibbe_pk *pk = NULL;
    if (wire_reader_finish(&r) != 0 || ibbe_pk_decode(&pk, pkrec, pklen, &why) != 0)
        *err = fail(a, "setup: malformed answer from the enclave");
    else if (ibbe_store_save_pk(a->store, pk, err) == 0 &&
             ibbe_store_save_sealed(a->store, sealed, bloblen, err) == 0)
        rc = 0; /* the public key first: a sealed blob without it would be useless */
    free(out);
    if (rc == 0) {
        ibbe_pk_free(a->pk);
        a->pk = pk;
        a->ready = true;
    } else {
        ibbe_pk_free(pk);
    }
    return rc;
}

int ibbe_admin_extract(ibbe_admin *a, const char *const *ids, const uint8_t *const *to,
                       size_t count, uint8_t **keys, size_t *lens, const char **err)
{
    if (need_ready(a, err) != 0)
        return -1;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, count);
    for (size_t i = 0; i < count; i++) {
        wire_put_str(&w, ids[i]);
        wire_put_bytes(&w, to && to[i] ? to[i] : NULL, to && to[i] ? HPKE_PUBLIC_LEN : 0);
    }
    uint8_t *out;
    size_t outlen;
    if (call(a, IBBE_ECALL_EXTRACT, &w, &out, &outlen) != CLOISTER_OK) {
        *err = a->err;
        return -1;
    }
    struct wire_reader r;
    wire_reader_init(&r, out, outlen);
    size_t done = 0;
    for (; done < count; done++) {
        size_t len;
        const uint8_t *k = wire_get_bytes(&r, outlen, &len);
        if (!wire_reader_ok(&r) || !(keys[done] = malloc(len)))
            break;
        memcpy(keys[done], k, len);
        lens[done] = len;
    }
    int rc = done == count && wire_reader_finish(&r) == 0 ? 0 : -1;
    if (rc != 0) {
        while (done > 0)
            free(keys[--done]);
        *err = fail(a, "extract: malformed answer from the enclave");
    }
    crypto_wipe(out, outlen);
    free(out);
    return rc;
}

/* ---- groups ----------------------------------------------------------------------------------- */

/* Sends a group's records to the enclave, as many partitions per call as fit a batch. */
static int group_load(ibbe_admin *a, const char *group, const char **err)
{
    uint8_t *meta, *rec;
    size_t metalen, len;
    ibbe_group *g;
    const char *why;
    if (ibbe_store_read_raw(a->store, group, -1, &meta, &metalen, err) != 0)
        return -1;
    if (ibbe_group_decode_meta(&g, meta, metalen, &why) != 0) {
        free(meta);
        *err = fail(a, "group '%s': %s", group, why);
        return -1;
    }
    size_t m = ibbe_group_partitions(g), next = 0;
    ibbe_group_free(g);
    int rc = 0;
    while (rc == 0 && next < m) {
        struct wire_writer recs;
        size_t k = 0;
        wire_writer_init(&recs);
        while (next + k < m && recs.len < LOAD_BATCH_BYTES) {
            if (ibbe_store_read_raw(a->store, group, (long)(next + k), &rec, &len, err) != 0) {
                rc = -1;
                break;
            }
            wire_put_bytes(&recs, rec, len);
            free(rec);
            k++;
        }
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_bytes(&w, meta, metalen);
        wire_put_varint(&w, next);
        wire_put_varint(&w, k);
        wire_put_raw(&w, recs.buf, recs.len);
        wire_writer_free(&recs);
        uint8_t *out;
        size_t outlen;
        if (rc == 0 && call(a, IBBE_ECALL_GROUP_LOAD, &w, &out, &outlen) != CLOISTER_OK) {
            *err = a->err;
            rc = -1;
        } else if (rc != 0) {
            wire_writer_free(&w);
        } else {
            free(out);
        }
        next += k;
    }
    free(meta);
    return rc;
}

/* Writes CHANGES (ecalls.h): partitions, then the group record, then drops extra files. */
static int apply_changes(ibbe_admin *a, const char *group, const uint8_t *buf, size_t len,
                         const char **err)
{
    struct wire_reader r;
    size_t metalen, reclen;
    wire_reader_init(&r, buf, len);
    uint64_t m = wire_get_varint(&r);
    const uint8_t *meta = wire_get_bytes(&r, len, &metalen);
    size_t k = wire_get_count(&r, 2, len);
    for (size_t i = 0; i < k && wire_reader_ok(&r); i++) {
        uint64_t index = wire_get_varint(&r);
        const uint8_t *rec = wire_get_bytes(&r, len, &reclen);
        if (wire_reader_ok(&r) && index < m &&
            ibbe_store_write_raw(a->store, group, (long)index, rec, reclen, err) != 0)
            return -1;
    }
    if (wire_reader_finish(&r) != 0) {
        *err = fail(a, "malformed answer from the enclave: %s", wire_reader_error(&r));
        return -1;
    }
    if (ibbe_store_write_raw(a->store, group, -1, meta, metalen, err) != 0)
        return -1;
    ibbe_store_trim(a->store, group, m);
    return 0;
}

static int group_call(ibbe_admin *a, uint32_t number, const char *group,
                      const char *const *ids, size_t count, const char **err)
{
    if (need_ready(a, err) != 0)
        return -1;
    if (!ibbe_group_name_valid(group)) {
        *err = fail(a, "invalid group name '%s' (1-%d of A-Z a-z 0-9 . _ -)", group,
                    IBBE_NAME_MAX);
        return -1;
    }
    for (int attempt = 0;; attempt++) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_str(&w, group);
        wire_put_varint(&w, count);
        for (size_t i = 0; i < count; i++)
            wire_put_str(&w, ids[i]);
        uint8_t *out;
        size_t outlen;
        int rc = call(a, number, &w, &out, &outlen);
        if (rc == CLOISTER_E_NOT_FOUND && attempt == 0 && number != IBBE_ECALL_GROUP_CREATE) {
            if (group_load(a, group, err) != 0)
                return -1;
            continue;
        }
        if (rc != CLOISTER_OK) {
            *err = a->err;
            return -1;
        }
        rc = apply_changes(a, group, out, outlen, err);
        free(out);
        return rc;
    }
}

int ibbe_admin_create(ibbe_admin *a, const char *group, const char *const *ids, size_t count,
                      const char **err)
{
    uint8_t *buf;
    size_t len;
    const char *why;
    if (ibbe_store_read_raw(a->store, group, -1, &buf, &len, &why) == 0) {
        free(buf);
        *err = fail(a, "group '%s' already exists in the store", group);
        return -1;
    }
    return group_call(a, IBBE_ECALL_GROUP_CREATE, group, ids, count, err);
}

int ibbe_admin_add(ibbe_admin *a, const char *group, const char *const *ids, size_t count,
                   const char **err)
{
    return group_call(a, IBBE_ECALL_GROUP_ADD, group, ids, count, err);
}

int ibbe_admin_remove(ibbe_admin *a, const char *group, const char *const *ids, size_t count,
                      const char **err)
{
    return group_call(a, IBBE_ECALL_GROUP_REMOVE, group, ids, count, err);
}

/* ---- files ------------------------------------------------------------------------------------ */

/* The file key for h (fresh: a new salt at the current epoch, filled into h). */
static int file_key(ibbe_admin *a, struct ibbe_file_header *h, bool fresh,
                    uint8_t key[IBBE_KEY_LEN], const char **err)
{
    if (need_ready(a, err) != 0)
        return -1;
    for (int attempt = 0;; attempt++) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_str(&w, h->group);
        wire_put_u8(&w, fresh);
        if (!fresh) {
            wire_put_u64(&w, h->epoch);
            wire_put_raw(&w, h->salt, sizeof h->salt);
        }
        uint8_t *out;
        size_t outlen;
        int rc = call(a, IBBE_ECALL_FILE_KEY, &w, &out, &outlen);
        if (rc == CLOISTER_E_NOT_FOUND && attempt == 0) {
            if (group_load(a, h->group, err) != 0)
                return -1;
            continue;
        }
        if (rc != CLOISTER_OK) {
            *err = a->err;
            return -1;
        }
        struct wire_reader r;
        wire_reader_init(&r, out, outlen);
        h->epoch = wire_get_u64(&r);
        wire_get_raw_into(&r, h->salt, sizeof h->salt);
        wire_get_raw_into(&r, key, IBBE_KEY_LEN);
        rc = wire_reader_finish(&r);
        crypto_wipe(out, outlen);
        free(out);
        if (rc != 0)
            *err = fail(a, "file key: malformed answer from the enclave");
        return rc;
    }
}

int ibbe_admin_seal(ibbe_admin *a, const char *group, const uint8_t *pt, size_t len,
                    uint8_t **out, size_t *outlen, const char **err)
{
    struct ibbe_file_header h = {0};
    uint8_t key[IBBE_KEY_LEN];
    if (!ibbe_group_name_valid(group)) {
        *err = fail(a, "invalid group name '%s'", group);
        return -1;
    }
    snprintf(h.group, sizeof h.group, "%s", group);
    if (file_key(a, &h, true, key, err) != 0)
        return -1;
    int rc = ibbe_file_seal(key, &h, pt, len, out, outlen);
    crypto_wipe(key, sizeof key);
    if (rc != 0)
        *err = fail(a, "sealing failed");
    return rc;
}

int ibbe_admin_open_file(ibbe_admin *a, const uint8_t *buf, size_t len, uint8_t **pt,
                         size_t *ptlen, const char **err)
{
    struct ibbe_file_header h;
    uint8_t key[IBBE_KEY_LEN];
    if (ibbe_file_parse(&h, buf, len, err) != 0 || file_key(a, &h, false, key, err) != 0)
        return -1;
    int rc = ibbe_file_open(key, buf, len, pt, ptlen, err);
    crypto_wipe(key, sizeof key);
    return rc;
}
