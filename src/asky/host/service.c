/* service.c -- the A-Sky access service's host side (asky_host.h): the store directory and the
 * driver of the `asky` enclave.
 *
 * The host only moves opaque records: the enclave names the files (ids), makes and checks
 * every record. Every operation that changes the store holds flock(DIR/lock) from reading the
 * epoch record to writing the new one, and gives the enclave the epoch record read from disk
 * first, so several processes sharing a store see each other's updates and the enclave can
 * refuse a group record older than the epoch record. Writes are atomic; a membership change
 * (a group record and the epoch record) goes through a journal file first, which the next
 * operation replays if a crash interrupted the change. */
#include <cloister/asky_host.h>
#include <cloister/crypto.h>
#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "asky/common/ecalls.h"
#include "util/fileio.h"
#include "util/hex.h"

#define RECORD_FILE_MAX ((size_t)64 << 20)
#define SERVICE_MESSAGE_MAX ((size_t)160 << 20)
#define ENCLAVE_HEAP ((uint64_t)1 << 30)

struct asky_service {
    char dir[PATH_MAX];
    tee_enclave *e;
    int lock;
};

static int os_error(struct cloister_err *err, const char *what)
{
    int code = errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM;
    return cloister_errf(err, code, "%s: %s", what, strerror(errno));
}

/* DIR/sub/hex(id) (sub NULL: DIR/name). */
static void path_of(const asky_service *s, const char *sub, const uint8_t *id, char *out,
                    size_t cap)
{
    char hex[2 * ASKY_ID_LEN + 1];
    hex_encode(hex, id, ASKY_ID_LEN);
    snprintf(out, cap, "%s/%s/%s", s->dir, sub, hex);
}

/* An ecall with the writer's bytes; the enclave's refusal comes without the runtime's prefix
 * ("enclave 'asky', ecall 0x9: denied: " ...). */
static int call(asky_service *s, uint32_t number, struct wire_writer *in, uint8_t **out,
                size_t *outlen, struct cloister_err *err)
{
    *out = NULL;
    *outlen = 0;
    if (!wire_writer_ok(in)) {
        wire_writer_free(in);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "request too large or out of memory");
    }
    int rc = tee_ecall(s->e, number, in->buf, in->len, out, outlen, err);
    wire_writer_free(in);
    const char *tail = rc != CLOISTER_OK && err ? strrchr(err->msg, ':') : NULL;
    if (tail && strncmp(err->msg, "enclave 'asky'", 14) == 0) {
        const char *msg = strstr(err->msg, ": ");
        msg = msg ? strstr(msg + 2, ": ") : NULL;
        if (msg)
            memmove(err->msg, msg + 2, strlen(msg + 2) + 1);
    }
    return rc;
}

static int read_opt(const char *path, uint8_t **data, size_t *len, struct cloister_err *err)
{
    *data = NULL;
    *len = 0;
    if (file_read_all(path, RECORD_FILE_MAX, data, len) == 0)
        return CLOISTER_OK;
    if (errno == ENOENT)
        return CLOISTER_E_NOT_FOUND;
    return os_error(err, "reading the store");
}

static int write_rec(const char *path, const uint8_t *data, size_t len, struct cloister_err *err)
{
    return file_write_atomic(path, data, len, 0600) == 0 ? CLOISTER_OK
                                                         : os_error(err, "writing the store");
}

/* The development signature: a signer key kept in the store signs the image, so the sealed
 * master secret opens again after the image is rebuilt (MRSIGNER sealing). */
static int sign_image(asky_service *s, const char *image, char *sig, size_t cap,
                      struct cloister_err *err)
{
    char key[PATH_MAX + 16];
    uint8_t seed[TEE_SEED_LEN], pub[TEE_PUBKEY_LEN];
    snprintf(key, sizeof key, "%s/signer.key", s->dir);
    snprintf(sig, cap, "%s/asky.enclave.sig", s->dir);
    int rc = CLOISTER_OK;
    if ((access(key, F_OK) != 0 && tee_signer_keygen(key, pub, err) != 0) ||
        tee_signer_load(key, seed, pub, err) != 0)
        rc = cloister_err_wrap(err, "the store's signer key");
    else
        rc = tee_sign_file_sized(image, ENCLAVE_HEAP, 0, seed, sig, err);
    crypto_wipe(seed, sizeof seed);
    return rc;
}

static int start_enclave(asky_service *s, const struct asky_service_options *o,
                         struct cloister_err *err)
{
    char image[PATH_MAX], sig[PATH_MAX + 32];
    struct tee_options t;
    tee_options_init(&t);
    if (o && o->backend && tee_backend_parse(o->backend, &t.backend, NULL) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "unknown enclave backend '%s' (proc or sim)",
                             o->backend);
    if (tee_image_path("asky", image, sizeof image, NULL) != CLOISTER_OK)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND,
                             "cannot find the asky enclave image (set CLOISTER_ENCLAVE_DIR)");
    int rc = sign_image(s, image, sig, sizeof sig, err);
    if (rc != CLOISTER_OK)
        return rc;
    t.image = image;
    t.signature = sig;
    t.enclave = o ? o->enclave : NULL;
    t.home = o ? o->home : NULL;
    t.max_message = SERVICE_MESSAGE_MAX;
    t.wait = TEE_WAIT_BLOCK;
    if ((rc = tee_create(&t, &s->e, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "starting the asky enclave");
    return rc;
}

static int replay(asky_service *s, struct cloister_err *err);

/* LOAD with the sealed secret and the epoch record on disk (SETUP on a new store), after
 * finishing a change a crash interrupted. */
static int load(asky_service *s, struct cloister_err *err)
{
    char sealed[PATH_MAX + 16], epochs[PATH_MAX + 16];
    snprintf(sealed, sizeof sealed, "%s/asky.sealed", s->dir);
    snprintf(epochs, sizeof epochs, "%s/epochs", s->dir);
    uint8_t *blob, *ep, *out;
    size_t bloblen, eplen, outlen;
    struct wire_writer w;
    wire_writer_init(&w);
    int rc = replay(s, err);
    if (rc == CLOISTER_OK)
        rc = read_opt(sealed, &blob, &bloblen, err);
    if (rc == CLOISTER_E_NOT_FOUND) {
        if ((rc = call(s, ASKY_ECALL_SETUP, &w, &out, &outlen, err)) != CLOISTER_OK)
            return rc;
        struct wire_reader r;
        size_t len;
        wire_reader_init(&r, out, outlen);
        const uint8_t *b = wire_get_bytes(&r, 4096, &len);
        rc = wire_reader_finish(&r) == 0 ? write_rec(sealed, b, len, err)
                                         : cloister_errf(err, CLOISTER_E_PROTOCOL, "bad setup");
        free(out);
        return rc;
    }
    if (rc != CLOISTER_OK) {
        wire_writer_free(&w);
        return rc;
    }
    if ((rc = read_opt(epochs, &ep, &eplen, err)) == CLOISTER_E_NOT_FOUND)
        rc = CLOISTER_OK;
    wire_put_bytes(&w, blob, bloblen);
    wire_put_bytes(&w, ep, eplen);
    free(blob);
    free(ep);
    if (rc != CLOISTER_OK) {
        wire_writer_free(&w);
        return rc;
    }
    rc = call(s, ASKY_ECALL_LOAD, &w, &out, &outlen, err);
    free(out);
    return rc;
}

/* Sends up to ASKY_USERS_BATCH records. */
static int flush_users(asky_service *s, struct wire_writer *batch, size_t n,
                       struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *out;
    size_t outlen;
    wire_writer_init(&w);
    wire_put_varint(&w, n);
    wire_put_raw(&w, batch->buf, batch->len);
    wire_writer_free(batch);
    wire_writer_init(batch);
    int rc = call(s, ASKY_ECALL_USERS, &w, &out, &outlen, err);
    free(out);
    return rc;
}

static int load_users(asky_service *s, struct cloister_err *err)
{
    char dir[PATH_MAX + 16], path[PATH_MAX + 300];
    snprintf(dir, sizeof dir, "%s/users", s->dir);
    DIR *d = opendir(dir);
    if (!d)
        return os_error(err, "the store's users");
    struct wire_writer batch;
    wire_writer_init(&batch);
    size_t n = 0;
    int rc = CLOISTER_OK;
    struct dirent *de;
    while (rc == CLOISTER_OK && (de = readdir(d)) != NULL) {
        if (strlen(de->d_name) != 2 * ASKY_ID_LEN)
            continue; /* ".", "..", temporary files */
        uint8_t *rec;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if ((rc = read_opt(path, &rec, &len, err)) == CLOISTER_E_NOT_FOUND) {
            rc = CLOISTER_OK; /* removed meanwhile */
            continue;
        }
        if (rc != CLOISTER_OK)
            break;
        wire_put_bytes(&batch, rec, len);
        free(rec);
        if (++n == ASKY_USERS_BATCH) {
            rc = flush_users(s, &batch, n, err);
            n = 0;
        }
    }
    closedir(d);
    if (rc == CLOISTER_OK && n > 0)
        rc = flush_users(s, &batch, n, err);
    wire_writer_free(&batch);
    return rc;
}

static int make_dirs(const char *dir, struct cloister_err *err)
{
    static const char *const subs[] = {"users", "groups", "objects"};
    char path[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
        if (file_mkdirs(path, 0700) != 0)
            return os_error(err, "creating the store");
    }
    return CLOISTER_OK;
}

int asky_service_open(const char *dir, const struct asky_service_options *o, asky_service **out,
                      struct cloister_err *err)
{
    asky_service *s = calloc(1, sizeof *s);
    if (!s)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    s->lock = -1;
    char lock[PATH_MAX + 16];
    int rc = CLOISTER_OK;
    if (snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
    if (rc == CLOISTER_OK)
        rc = make_dirs(dir, err);
    snprintf(lock, sizeof lock, "%s/lock", s->dir);
    if (rc == CLOISTER_OK && (s->lock = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        rc = os_error(err, "the store's lock");
    if (rc == CLOISTER_OK)
        rc = start_enclave(s, o, err);
    if (rc == CLOISTER_OK) {
        flock(s->lock, LOCK_EX);
        if ((rc = load(s, err)) == CLOISTER_OK)
            rc = load_users(s, err);
        flock(s->lock, LOCK_UN);
    }
    if (rc != CLOISTER_OK) {
        asky_service_close(s);
        return rc;
    }
    *out = s;
    return CLOISTER_OK;
}

void asky_service_close(asky_service *s)
{
    if (!s)
        return;
    tee_destroy(s->e);
    if (s->lock >= 0)
        close(s->lock);
    free(s);
}

/* ---- users ------------------------------------------------------------------------------------ */

static int name_id(asky_service *s, uint8_t what, const char *name, uint8_t id[ASKY_ID_LEN],
                   struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *out;
    size_t outlen;
    wire_writer_init(&w);
    wire_put_u8(&w, what);
    wire_put_str(&w, name);
    int rc = call(s, ASKY_ECALL_NAME, &w, &out, &outlen, err);
    if (rc == CLOISTER_OK && outlen != ASKY_ID_LEN)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad id");
    if (rc == CLOISTER_OK)
        memcpy(id, out, ASKY_ID_LEN);
    free(out);
    return rc;
}

int asky_user_add(asky_service *s, const char *user, uint8_t key[ASKY_KEY_LEN],
                  struct cloister_err *err)
{
    uint8_t id[ASKY_ID_LEN], *out = NULL;
    size_t outlen, reclen;
    char path[PATH_MAX + 128];
    flock(s->lock, LOCK_EX);
    int rc = name_id(s, 0, user, id, err);
    path_of(s, "users", id, path, sizeof path);
    if (rc == CLOISTER_OK && access(path, F_OK) == 0)
        rc = cloister_errf(err, CLOISTER_E_EXISTS, "user '%s' exists", user);
    if (rc == CLOISTER_OK) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_str(&w, user);
        rc = call(s, ASKY_ECALL_USER_ADD, &w, &out, &outlen, err);
    }
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        wire_reader_init(&r, out, outlen);
        wire_get_raw(&r, ASKY_ID_LEN);
        const uint8_t *rec = wire_get_bytes(&r, ASKY_USER_RECORD_LEN, &reclen);
        wire_get_raw_into(&r, key, ASKY_KEY_LEN);
        if (wire_reader_finish(&r) != 0)
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad user record");
        else
            rc = write_rec(path, rec, reclen, err);
    }
    flock(s->lock, LOCK_UN);
    if (out)
        crypto_wipe(out, outlen);
    free(out);
    return rc;
}

int asky_user_remove(asky_service *s, const char *user, struct cloister_err *err)
{
    uint8_t id[ASKY_ID_LEN];
    char path[PATH_MAX + 128];
    flock(s->lock, LOCK_EX);
    int rc = name_id(s, 0, user, id, err);
    path_of(s, "users", id, path, sizeof path);
    if (rc == CLOISTER_OK && unlink(path) != 0)
        rc = errno == ENOENT ? cloister_errf(err, CLOISTER_E_NOT_FOUND, "no user '%s'", user)
                             : os_error(err, "removing the user");
    if (rc == CLOISTER_OK) { /* the enclave forgets the key at once */
        struct wire_writer w;
        uint8_t *out;
        size_t outlen;
        wire_writer_init(&w);
        wire_put_str(&w, user);
        rc = call(s, ASKY_ECALL_USER_FORGET, &w, &out, &outlen, err);
        free(out);
    }
    flock(s->lock, LOCK_UN);
    return rc;
}

/* ---- groups ----------------------------------------------------------------------------------- */

/* Under the lock: the enclave refreshed with the epoch record on disk, the group's record read. */
static int group_begin(asky_service *s, const char *group, uint8_t gid[ASKY_ID_LEN], char *path,
                       size_t cap, uint8_t **rec, size_t *reclen, struct cloister_err *err)
{
    int rc = load(s, err);
    if (rc == CLOISTER_OK)
        rc = name_id(s, 1, group, gid, err);
    if (rc != CLOISTER_OK)
        return rc;
    path_of(s, "groups", gid, path, cap);
    rc = read_opt(path, rec, reclen, err);
    if (rc == CLOISTER_E_NOT_FOUND)
        return cloister_errf(err, rc, "no group '%s'", group);
    return rc;
}

/* Applies a CHANGE: the group record, then the epoch record. */
static int apply_change(asky_service *s, const uint8_t *change, size_t len,
                        struct cloister_err *err)
{
    struct wire_reader r;
    size_t glen, elen;
    char path[PATH_MAX + 128], epochs[PATH_MAX + 16];
    wire_reader_init(&r, change, len);
    const uint8_t *gid = wire_get_raw(&r, ASKY_ID_LEN);
    const uint8_t *grec = wire_get_bytes(&r, SERVICE_MESSAGE_MAX, &glen);
    const uint8_t *erec = wire_get_bytes(&r, SERVICE_MESSAGE_MAX, &elen);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "malformed group change");
    path_of(s, "groups", gid, path, sizeof path);
    snprintf(epochs, sizeof epochs, "%s/epochs", s->dir);
    int rc = write_rec(path, grec, glen, err);
    if (rc == CLOISTER_OK)
        rc = write_rec(epochs, erec, elen, err);
    return rc;
}

/* Writes a CHANGE through the journal (DIR/journal, written atomically, applied, removed), so
 * that a crash between the two records' writes is finished by the next operation (replay)
 * instead of leaving a group record the epoch record does not list. */
static int group_commit(asky_service *s, const uint8_t *change, size_t len,
                        struct cloister_err *err)
{
    char journal[PATH_MAX + 16];
    snprintf(journal, sizeof journal, "%s/journal", s->dir);
    int rc = write_rec(journal, change, len, err);
    if (rc == CLOISTER_OK)
        rc = apply_change(s, change, len, err);
    if (rc == CLOISTER_OK && unlink(journal) != 0)
        rc = os_error(err, "the store's journal");
    return rc;
}

/* Finishes a change a crash interrupted (the records it holds are the enclave's: the enclave
 * checks them when they are used). */
static int replay(asky_service *s, struct cloister_err *err)
{
    char journal[PATH_MAX + 16];
    uint8_t *change;
    size_t len;
    snprintf(journal, sizeof journal, "%s/journal", s->dir);
    int rc = read_opt(journal, &change, &len, err);
    if (rc == CLOISTER_E_NOT_FOUND)
        return CLOISTER_OK;
    if (rc == CLOISTER_OK)
        rc = apply_change(s, change, len, err);
    free(change);
    if (rc == CLOISTER_OK && unlink(journal) != 0 && errno != ENOENT)
        rc = os_error(err, "the store's journal");
    return rc;
}

int asky_group_create(asky_service *s, const char *group, const char *creator,
                      struct cloister_err *err)
{
    uint8_t *out = NULL;
    size_t outlen;
    struct wire_writer w;
    flock(s->lock, LOCK_EX);
    int rc = load(s, err);
    if (rc == CLOISTER_OK) {
        wire_writer_init(&w);
        wire_put_str(&w, group);
        wire_put_str(&w, creator);
        rc = call(s, ASKY_ECALL_GROUP_CREATE, &w, &out, &outlen, err);
    }
    if (rc == CLOISTER_OK)
        rc = group_commit(s, out, outlen, err);
    flock(s->lock, LOCK_UN);
    free(out);
    return rc;
}

static int group_change(asky_service *s, uint32_t number, const char *group, const char *user,
                        struct cloister_err *err)
{
    uint8_t gid[ASKY_ID_LEN], *rec = NULL, *out = NULL;
    size_t reclen = 0, outlen;
    char path[PATH_MAX + 128];
    flock(s->lock, LOCK_EX);
    int rc = group_begin(s, group, gid, path, sizeof path, &rec, &reclen, err);
    if (rc == CLOISTER_OK) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_str(&w, group);
        wire_put_str(&w, user);
        wire_put_bytes(&w, rec, reclen);
        rc = call(s, number, &w, &out, &outlen, err);
    }
    if (rc == CLOISTER_OK)
        rc = group_commit(s, out, outlen, err);
    flock(s->lock, LOCK_UN);
    free(rec);
    free(out);
    return rc;
}

int asky_group_add(asky_service *s, const char *group, const char *user, struct cloister_err *err)
{
    return group_change(s, ASKY_ECALL_GROUP_ADD, group, user, err);
}

int asky_group_remove(asky_service *s, const char *group, const char *user,
                      struct cloister_err *err)
{
    return group_change(s, ASKY_ECALL_GROUP_REMOVE, group, user, err);
}

int asky_envelope_request(asky_service *s, const char *group, const char *user,
                          const uint8_t nonce[ASKY_REQ_NONCE_LEN], const uint8_t proof[32],
                          enum asky_kind kind, unsigned pad, uint8_t **env, size_t *envlen,
                          struct cloister_err *err)
{
    uint8_t gid[ASKY_ID_LEN], *rec = NULL, *out = NULL;
    size_t reclen = 0, outlen = 0;
    char path[PATH_MAX + 128];
    *env = NULL;
    *envlen = 0;
    flock(s->lock, LOCK_SH);
    int rc = group_begin(s, group, gid, path, sizeof path, &rec, &reclen, err);
    flock(s->lock, LOCK_UN);
    if (rc == CLOISTER_OK) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_str(&w, group);
        wire_put_str(&w, user);
        wire_put_raw(&w, nonce, ASKY_REQ_NONCE_LEN);
        wire_put_raw(&w, proof, 32);
        wire_put_u8(&w, (uint8_t)kind);
        wire_put_varint(&w, pad);
        wire_put_bytes(&w, rec, reclen);
        rc = call(s, ASKY_ECALL_ENVELOPE, &w, &out, &outlen, err);
    }
    free(rec);
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        size_t len;
        wire_reader_init(&r, out, outlen);
        const uint8_t *e = wire_get_bytes(&r, SERVICE_MESSAGE_MAX, &len);
        if (wire_reader_finish(&r) != 0 || !(*env = malloc(len ? len : 1)))
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad envelope");
        else {
            memcpy(*env, e, len);
            *envlen = len;
        }
    }
    free(out);
    return rc;
}

/* ---- sealed requests (the access service: docs/asky.md) ------------------------------------ */

int asky_sealed_offer(asky_service *s, const uint8_t *nonce, size_t len, uint8_t **offer,
                      size_t *offer_len, struct cloister_err *err)
{
    return tee_ecall(s->e, TEE_ECALL_PROV_OFFER, nonce, len, offer, offer_len, err);
}

/* SEALED_OPEN names the group (its id only); its record is read under the lock, with the
 * enclave refreshed with the epoch record, as for a request in clear. */
static int sealed_open(asky_service *s, const uint8_t *package, size_t len, uint8_t **rec,
                       size_t *reclen, struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *gid = NULL;
    size_t gidlen = 0;
    char path[PATH_MAX + 128];
    wire_writer_init(&w);
    wire_put_raw(&w, package, len);
    flock(s->lock, LOCK_SH);
    int rc = load(s, err);
    if (rc == CLOISTER_OK)
        rc = call(s, ASKY_ECALL_SEALED_OPEN, &w, &gid, &gidlen, err);
    else
        wire_writer_free(&w);
    if (rc == CLOISTER_OK && gidlen != ASKY_ID_LEN)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad group id");
    if (rc == CLOISTER_OK) {
        path_of(s, "groups", gid, path, sizeof path);
        if ((rc = read_opt(path, rec, reclen, err)) == CLOISTER_E_NOT_FOUND)
            rc = cloister_errf(err, rc, "no such group");
    }
    flock(s->lock, LOCK_UN);
    free(gid);
    return rc;
}

int asky_sealed_envelope(asky_service *s, const uint8_t *package, size_t len, uint8_t **reply,
                         size_t *reply_len, struct cloister_err *err)
{
    uint8_t *rec = NULL, *out = NULL;
    size_t reclen = 0, outlen = 0, n;
    *reply = NULL;
    *reply_len = 0;
    int rc = sealed_open(s, package, len, &rec, &reclen, err);
    if (rc == CLOISTER_OK) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_bytes(&w, rec, reclen);
        rc = call(s, ASKY_ECALL_SEALED_ENVELOPE, &w, &out, &outlen, err);
    }
    free(rec);
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        wire_reader_init(&r, out, outlen);
        const uint8_t *e = wire_get_bytes(&r, SERVICE_MESSAGE_MAX, &n);
        if (wire_reader_finish(&r) != 0 || !(*reply = malloc(n ? n : 1)))
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad reply");
        else {
            memcpy(*reply, e, n);
            *reply_len = n;
        }
    }
    free(out);
    return rc;
}

int asky_object_store(asky_service *s, const char *name, const uint8_t *obj, size_t len,
                      const uint8_t ticket[ASKY_TICKET_LEN], struct cloister_err *err)
{
    char path[PATH_MAX];
    uint32_t envlen = len >= ASKY_HEADER_LEN ? (uint32_t)obj[10] << 24 | (uint32_t)obj[11] << 16 |
                                                   (uint32_t)obj[12] << 8 | obj[13]
                                             : 0;
    int rc = asky_object_path(s->dir, name, path, sizeof path, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (len < ASKY_HEADER_LEN || memcmp(obj, "CASK", 4) != 0 || envlen > len - ASKY_HEADER_LEN)
        return cloister_errf(err, CLOISTER_E_INVALID, "not an A-Sky object (bad header)");
    struct wire_writer w;
    uint8_t *out = NULL;
    size_t outlen = 0;
    wire_writer_init(&w);
    wire_put_bytes(&w, obj + ASKY_HEADER_LEN, envlen);
    wire_put_raw(&w, ticket, ASKY_TICKET_LEN);
    rc = call(s, ASKY_ECALL_TICKET_CHECK, &w, &out, &outlen, err);
    free(out);
    if (rc == CLOISTER_OK && file_write_atomic(path, obj, len, 0600) != 0)
        rc = os_error(err, "writing the object");
    return rc;
}

tee_enclave *asky_service_enclave(asky_service *s)
{
    return s->e;
}

const char *asky_service_dir(const asky_service *s)
{
    return s->dir;
}

int asky_object_path(const char *dir, const char *name, char *out, size_t cap,
                     struct cloister_err *err)
{
    size_t len = strlen(name);
    bool ok = len > 0 && len <= ASKY_NAME_MAX && name[0] != '.';
    for (size_t i = 0; ok && i < len; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "bad object name (1..%d of A-Z a-z 0-9 . _ -, not starting with '.')",
                             ASKY_NAME_MAX);
    if (snprintf(out, cap, "%s/objects/%s", dir, name) >= (int)cap)
        return cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
    return CLOISTER_OK;
}
