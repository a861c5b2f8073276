/* service.c -- the A-Sky access service's host side (asky_host.h): the membership store
 * (store.h: SQLite, or PostgreSQL shared by replicas) and the driver of the `asky` enclave.
 *
 * The host only moves opaque records: the enclave names them (ids), makes and checks every
 * one. Before each operation the host brings the enclave up to date with the store: the users
 * changed since it last looked (another replica's additions and removals) and the epoch
 * record, given only when newer than the one the enclave has (an older one read by a slower
 * thread is read again: the store's counter only grows). A membership change reads the group
 * and epoch records in one snapshot, has the enclave make the new ones, and commits them only
 * if neither moved meanwhile (optimistic concurrency); otherwise it reads again and retries.
 * The new epoch record goes to the enclave only once stored, so a refused change leaves the
 * enclave where the store is. Requests run on several threads at once: the store serialises
 * its own connection, `sync` the updates of the enclave's view, `change` this process's
 * membership changes. Objects are files under DIR/objects, written atomically.
 *
 * Throughput: a crossing into the enclave costs more than the envelope of a small group (a
 * futex wake and a context switch each way), so the calls of a request's hot path (ENVELOPE,
 * SEALED_OPEN, SESSION_REQUEST, SEALED_ENVELOPE) of concurrent requests share crossings
 * (tee_batcher: at most one batch per enclave worker at a time, so the workers stay busy and a
 * batch forms while they are). The ids of names (an HMAC in the
 * enclave) never change for a store, so the host keeps those it asked for in a small table
 * rather than crossing again: they are names its callers gave it in clear. */
#include <cloister/asky_host.h>
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asky/common/ecalls.h"
#include "asky/host/store.h"
#include "util/fileio.h"

#define SERVICE_MESSAGE_MAX ((size_t)160 << 20)
#define ENCLAVE_HEAP ((uint64_t)1 << 30)
#define CHANGE_TRIES 200 /* a change refused as concurrent is tried again, up to this */
#define READ_TRIES 8     /* a read that raced a newer epoch record is read again */
#define BATCH_MAX 64     /* calls per shared crossing */
#define NAME_SLOTS 1024  /* ids of names kept (direct-mapped) */

struct name_slot {
    bool used;
    uint8_t what;
    char name[ASKY_NAME_MAX + 1];
    uint8_t id[ASKY_ID_LEN];
};

struct asky_service {
    char dir[PATH_MAX];
    tee_enclave *e;
    struct astore *db;
    pthread_mutex_t sync, change;
    uint64_t counter;   /* of the newest epoch record the enclave has */
    uint64_t users_seq; /* the last user change the enclave has */
    tee_batcher *batch; /* the hot path's calls */
    pthread_mutex_t names_lock;
    struct name_slot *names; /* NAME_SLOTS */
};

static int os_error(struct cloister_err *err, const char *what)
{
    int code = errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM;
    return cloister_errf(err, code, "%s: %s", what, strerror(errno));
}

/* An ecall on the writer's bytes; a refusal carries the enclave's own message (tee.h). */
static int call(asky_service *s, uint32_t number, struct wire_writer *in, uint8_t **out,
                size_t *outlen, struct cloister_err *err)
{
    return tee_ecall_writer(s->e, number, in, out, outlen, err);
}

/* One ecall of the hot path, sharing a crossing with the calls of other threads (in may be
 * freed once it returns). The enclave's refusal comes without the runtime's prefix, as from
 * call(). */
static int batch_call(asky_service *s, uint32_t number, const struct wire_writer *in, uint8_t **out,
                      size_t *outlen, struct cloister_err *err)
{
    *out = NULL;
    *outlen = 0;
    if (!wire_writer_ok(in))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "request too large or out of memory");
    return tee_batcher_call(s->batch, number, in->buf, in->len, out, outlen, err);
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
    t.workers = o && o->workers ? o->workers : 1;
    t.max_message = SERVICE_MESSAGE_MAX;
    t.wait = TEE_WAIT_BLOCK;
    if ((rc = tee_create(&t, &s->e, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "starting the asky enclave");
    else
        rc = tee_batcher_new(s->e, t.workers, BATCH_MAX, &s->batch, err);
    return rc;
}

/* One output of the enclave: a bytes field copied out (malloc'd). */
static int take_bytes(const uint8_t *out, size_t outlen, uint8_t **data, size_t *len,
                      const char *what, struct cloister_err *err)
{
    struct wire_reader r;
    size_t n;
    wire_reader_init(&r, out, outlen);
    const uint8_t *p = wire_get_bytes(&r, SERVICE_MESSAGE_MAX, &n);
    *data = NULL;
    *len = 0;
    if (wire_reader_finish(&r) != 0 || !(*data = malloc(n ? n : 1)))
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad %s", what);
    memcpy(*data, p, n);
    *len = n;
    return CLOISTER_OK;
}

/* The master secret: LOAD with the sealed one and the epoch record (SETUP on a new store; a
 * replica that lost the race to store its own loads the winner's). */
static int load_master(asky_service *s, struct cloister_err *err)
{
    uint8_t *blob = NULL, *ep = NULL, *out = NULL;
    size_t bloblen = 0, eplen = 0, outlen = 0;
    struct wire_writer w;
    int rc = astore_master_get(s->db, &blob, &bloblen, err);
    if (rc == CLOISTER_E_NOT_FOUND) {
        wire_writer_init(&w);
        if ((rc = call(s, ASKY_ECALL_SETUP, &w, &out, &outlen, err)) == CLOISTER_OK &&
            (rc = take_bytes(out, outlen, &blob, &bloblen, "sealed secret", err)) == CLOISTER_OK)
            rc = astore_master_set(s->db, blob, bloblen, err);
        free(out);
        free(blob);
        if (rc != CLOISTER_E_EXISTS)
            return rc;
        rc = astore_master_get(s->db, &blob, &bloblen, err);
    }
    if (rc == CLOISTER_OK)
        rc = astore_epoch(s->db, &ep, &eplen, err);
    if (rc == CLOISTER_OK) {
        wire_writer_init(&w);
        wire_put_bytes(&w, blob, bloblen);
        wire_put_bytes(&w, ep, eplen);
        if ((rc = call(s, ASKY_ECALL_LOAD, &w, &out, &outlen, err)) == CLOISTER_OK)
            s->counter = astore_be64(ep, eplen, 0);
        free(out);
    }
    free(blob);
    free(ep);
    return rc;
}

/* The user changes read from the store, batched for the enclave. */
struct users_feed {
    asky_service *s;
    struct wire_writer batch;
    size_t n;
    struct cloister_err *err;
};

static int feed_flush(struct users_feed *f)
{
    struct wire_writer w;
    uint8_t *out = NULL;
    size_t outlen;
    if (f->n == 0)
        return CLOISTER_OK;
    wire_writer_init(&w);
    wire_put_varint(&w, f->n);
    wire_put_raw(&w, f->batch.buf, f->batch.len);
    wire_writer_free(&f->batch);
    wire_writer_init(&f->batch);
    f->n = 0;
    int rc = call(f->s, ASKY_ECALL_USERS, &w, &out, &outlen, f->err);
    free(out);
    return rc;
}

static int feed_user(void *arg, const uint8_t *id, const uint8_t *rec, size_t len)
{
    struct users_feed *f = arg;
    if (rec) {
        wire_put_bytes(&f->batch, rec, len);
        return ++f->n == ASKY_USERS_BATCH ? feed_flush(f) : CLOISTER_OK;
    }
    struct wire_writer w; /* a removal: the batch before it first */
    uint8_t *out = NULL;
    size_t outlen;
    int rc = feed_flush(f);
    wire_writer_init(&w);
    wire_put_raw(&w, id, ASKY_ID_LEN);
    if (rc == CLOISTER_OK)
        rc = call(f->s, ASKY_ECALL_USER_FORGET, &w, &out, &outlen, f->err);
    else
        wire_writer_free(&w);
    free(out);
    return rc;
}

/* The users changed in the store since the enclave last looked. */
static int refresh_users(asky_service *s, struct cloister_err *err)
{
    struct users_feed f = {.s = s, .err = err};
    wire_writer_init(&f.batch);
    pthread_mutex_lock(&s->sync);
    uint64_t seq = s->users_seq;
    int rc = astore_users_since(s->db, &seq, feed_user, &f, err);
    if (rc == CLOISTER_OK)
        rc = feed_flush(&f);
    if (rc == CLOISTER_OK)
        s->users_seq = seq;
    pthread_mutex_unlock(&s->sync);
    wire_writer_free(&f.batch);
    return rc;
}

/* Gives the enclave an epoch record newer than the one it has; CLOISTER_E_BUSY when the record
 * is older (another thread gave a newer one: read again). */
static int feed_epoch(asky_service *s, const uint8_t *rec, size_t len, struct cloister_err *err)
{
    uint64_t counter = astore_be64(rec, len, 0);
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&s->sync);
    if (counter < s->counter)
        rc = CLOISTER_E_BUSY;
    else if (counter > s->counter) {
        struct wire_writer w;
        uint8_t *out = NULL;
        size_t outlen;
        wire_writer_init(&w);
        wire_put_raw(&w, rec, len);
        if ((rc = call(s, ASKY_ECALL_EPOCH, &w, &out, &outlen, err)) == CLOISTER_OK)
            s->counter = counter;
        free(out);
    }
    pthread_mutex_unlock(&s->sync);
    return rc;
}

/* The group's record, with the enclave given the epoch record of the same snapshot. */
static int group_read(asky_service *s, const uint8_t gid[ASKY_ID_LEN], uint8_t **rec,
                      size_t *reclen, uint64_t *counter, struct cloister_err *err)
{
    int rc = CLOISTER_E_BUSY;
    for (int i = 0; rc == CLOISTER_E_BUSY && i < READ_TRIES; i++) {
        uint8_t *ep = NULL;
        size_t eplen = 0;
        uint64_t seq = 0;
        rc = astore_group(s->db, gid, &ep, &eplen, rec, reclen, &seq, err);
        if (rc == CLOISTER_OK && seq > s->users_seq) /* users changed: the enclave learns them */
            rc = refresh_users(s, err);
        if (rc == CLOISTER_OK && (rc = feed_epoch(s, ep, eplen, err)) != CLOISTER_OK) {
            free(*rec);
            *rec = NULL;
        }
        if (counter)
            *counter = astore_be64(ep, eplen, 0);
        free(ep);
    }
    if (rc == CLOISTER_E_BUSY)
        rc = cloister_errf(err, rc, "the membership store keeps changing; try again");
    return rc;
}

static int make_dirs(const char *dir, struct cloister_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/objects", dir);
    return file_mkdirs(path, 0700) == 0 ? CLOISTER_OK : os_error(err, "creating the store");
}

int asky_service_open(const char *dir, const struct asky_service_options *o, asky_service **out,
                      struct cloister_err *err)
{
    asky_service *s = calloc(1, sizeof *s);
    if (!s)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    pthread_mutex_init(&s->sync, NULL);
    pthread_mutex_init(&s->change, NULL);
    pthread_mutex_init(&s->names_lock, NULL);
    int rc = (s->names = calloc(NAME_SLOTS, sizeof *s->names))
                 ? CLOISTER_OK
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK && snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
    if (rc == CLOISTER_OK)
        rc = make_dirs(dir, err);
    if (rc == CLOISTER_OK)
        rc = astore_open(dir, o ? o->db : NULL, &s->db, err);
    if (rc == CLOISTER_OK)
        rc = start_enclave(s, o, err);
    if (rc == CLOISTER_OK && (rc = load_master(s, err)) == CLOISTER_OK)
        rc = refresh_users(s, err);
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
    tee_batcher_free(s->batch);
    tee_destroy(s->e);
    astore_close(s->db);
    pthread_mutex_destroy(&s->sync);
    pthread_mutex_destroy(&s->change);
    pthread_mutex_destroy(&s->names_lock);
    free(s->names);
    free(s);
}

const char *asky_service_store_kind(const asky_service *s)
{
    return astore_kind(s->db);
}

/* ---- users ------------------------------------------------------------------------------------ */

/* The slot a name's id is kept in (FNV-1a of what and the name). */
static struct name_slot *name_slot(asky_service *s, uint8_t what, const char *name)
{
    uint32_t h = 2166136261u ^ what;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return &s->names[h % NAME_SLOTS];
}

static int name_id(asky_service *s, uint8_t what, const char *name, uint8_t id[ASKY_ID_LEN],
                   struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *out;
    size_t outlen;
    struct name_slot *slot = name_slot(s, what, name);
    bool kept = strlen(name) <= ASKY_NAME_MAX;
    pthread_mutex_lock(&s->names_lock);
    bool hit = kept && slot->used && slot->what == what && strcmp(slot->name, name) == 0;
    if (hit)
        memcpy(id, slot->id, ASKY_ID_LEN);
    pthread_mutex_unlock(&s->names_lock);
    if (hit)
        return CLOISTER_OK;
    wire_writer_init(&w);
    wire_put_u8(&w, what);
    wire_put_str(&w, name);
    int rc = call(s, ASKY_ECALL_NAME, &w, &out, &outlen, err);
    if (rc == CLOISTER_OK && outlen != ASKY_ID_LEN)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad id");
    if (rc == CLOISTER_OK && kept) {
        memcpy(id, out, ASKY_ID_LEN);
        pthread_mutex_lock(&s->names_lock);
        *slot = (struct name_slot){.used = true, .what = what};
        memcpy(slot->name, name, strlen(name) + 1);
        memcpy(slot->id, id, ASKY_ID_LEN);
        pthread_mutex_unlock(&s->names_lock);
    } else if (rc == CLOISTER_OK) {
        memcpy(id, out, ASKY_ID_LEN);
    }
    free(out);
    return rc;
}

/* USER_ADD or USER_ADD_SEALED (input w): the record stored, the delivery copied out. A user
 * another replica added meanwhile is refused (CLOISTER_E_EXISTS), and the enclave given the
 * stored record back. */
static int user_store(asky_service *s, uint32_t number, struct wire_writer *w,
                      uint8_t delivery[ASKY_USER_DELIVERY_LEN], struct cloister_err *err)
{
    uint8_t *out = NULL;
    size_t outlen = 0, reclen;
    int rc = refresh_users(s, err);
    if (rc == CLOISTER_OK)
        rc = call(s, number, w, &out, &outlen, err);
    else
        wire_writer_free(w);
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        wire_reader_init(&r, out, outlen);
        const uint8_t *id = wire_get_raw(&r, ASKY_ID_LEN);
        const uint8_t *rec = wire_get_bytes(&r, ASKY_USER_RECORD_LEN, &reclen);
        wire_get_raw_into(&r, delivery, ASKY_USER_DELIVERY_LEN);
        if (wire_reader_finish(&r) != 0)
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad user record");
        else if ((rc = astore_user_add(s->db, id, rec, reclen, err)) == CLOISTER_E_EXISTS) {
            refresh_users(s, NULL);
            rc = cloister_errf(err, rc, "the user exists");
        }
    }
    free(out);
    return rc;
}

int asky_user_deliver(asky_service *s, const char *user, const uint8_t pk[ASKY_KEY_LEN],
                      uint8_t delivery[ASKY_USER_DELIVERY_LEN], struct cloister_err *err)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_str(&w, user);
    wire_put_raw(&w, pk, ASKY_KEY_LEN);
    int rc = user_store(s, ASKY_ECALL_USER_ADD, &w, delivery, err);
    if (rc == CLOISTER_E_EXISTS)
        return cloister_errf(err, rc, "user '%s' exists", user);
    return rc;
}

int asky_user_add_sealed(asky_service *s, const uint8_t *package, size_t len,
                         uint8_t delivery[ASKY_USER_DELIVERY_LEN], struct cloister_err *err)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_raw(&w, package, len);
    return user_store(s, ASKY_ECALL_USER_ADD_SEALED, &w, delivery, err);
}

int asky_user_key_open(uint8_t key[ASKY_KEY_LEN], const uint8_t delivery[ASKY_USER_DELIVERY_LEN],
                       const uint8_t sk[ASKY_KEY_LEN], const char *user, struct cloister_err *err)
{
    if (hpke_open(key, HPKE_AEAD_AES256GCM, delivery, sk, ASKY_DELIVERY_INFO,
                  strlen(ASKY_DELIVERY_INFO), user, strlen(user), delivery + HPKE_ENC_LEN,
                  ASKY_USER_DELIVERY_LEN - HPKE_ENC_LEN, NULL) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "the delivered key does not open (not for this key pair or user)");
    return CLOISTER_OK;
}

int asky_user_add(asky_service *s, const char *user, uint8_t key[ASKY_KEY_LEN],
                  struct cloister_err *err)
{
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN], delivery[ASKY_USER_DELIVERY_LEN];
    int rc = hpke_keypair(pk, sk) == 0
                 ? CLOISTER_OK
                 : cloister_errf(err, CLOISTER_E_FAILED, "generating the delivery key failed");
    if (rc == CLOISTER_OK)
        rc = asky_user_deliver(s, user, pk, delivery, err);
    if (rc == CLOISTER_OK)
        rc = asky_user_key_open(key, delivery, sk, user, err);
    crypto_wipe(sk, sizeof sk);
    return rc;
}

int asky_user_remove(asky_service *s, const char *user, struct cloister_err *err)
{
    uint8_t id[ASKY_ID_LEN], *out = NULL;
    size_t outlen;
    int rc = name_id(s, 0, user, id, err);
    if (rc == CLOISTER_OK && (rc = astore_user_remove(s->db, id, err)) == CLOISTER_E_NOT_FOUND)
        rc = cloister_errf(err, rc, "no user '%s'", user);
    if (rc == CLOISTER_OK) { /* the enclave forgets the key at once */
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_raw(&w, id, sizeof id);
        rc = call(s, ASKY_ECALL_USER_FORGET, &w, &out, &outlen, err);
        free(out);
    }
    return rc;
}

/* ---- groups ----------------------------------------------------------------------------------- */

/* One try of a change: the records read, the enclave's CHANGE, the commit (CLOISTER_E_BUSY:
 * another replica changed the store meanwhile). */
static int change_once(asky_service *s, uint32_t number, const char *group, const char *user,
                       const uint8_t *gid, struct cloister_err *err)
{
    uint8_t *rec = NULL, *out = NULL, *ep = NULL;
    size_t reclen = 0, outlen = 0, eplen = 0, glen, elen;
    uint64_t counter = 0;
    int rc = refresh_users(s, err);
    if (rc == CLOISTER_OK && gid)
        rc = group_read(s, gid, &rec, &reclen, &counter, err);
    else if (rc == CLOISTER_OK && (rc = astore_epoch(s->db, &ep, &eplen, err)) == CLOISTER_OK) {
        counter = astore_be64(ep, eplen, 0);
        rc = feed_epoch(s, ep, eplen, err);
    }
    free(ep);
    if (rc == CLOISTER_E_NOT_FOUND)
        rc = cloister_errf(err, rc, "no group '%s'", group);
    if (rc == CLOISTER_OK) {
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_str(&w, group);
        wire_put_str(&w, user);
        if (gid)
            wire_put_bytes(&w, rec, reclen);
        rc = call(s, number, &w, &out, &outlen, err);
    }
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        wire_reader_init(&r, out, outlen);
        const uint8_t *id = wire_get_raw(&r, ASKY_ID_LEN);
        const uint8_t *grec = wire_get_bytes(&r, SERVICE_MESSAGE_MAX, &glen);
        const uint8_t *erec = wire_get_bytes(&r, SERVICE_MESSAGE_MAX, &elen);
        if (wire_reader_finish(&r) != 0)
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "malformed group change");
        else if ((rc = astore_commit(s->db, id, astore_be64(rec, reclen, ASKY_ID_LEN), grec, glen,
                                     counter, erec, elen, err)) == CLOISTER_OK)
            rc = feed_epoch(s, erec, elen, err);
    }
    free(rec);
    free(out);
    return rc;
}

/* A change, tried again while another replica's change wins the race (with a short random
 * pause, so that two replicas do not keep colliding). */
static int change(asky_service *s, uint32_t number, const char *group, const char *user,
                  struct cloister_err *err)
{
    uint8_t gid[ASKY_ID_LEN];
    int rc = number == ASKY_ECALL_GROUP_CREATE ? CLOISTER_OK : name_id(s, 1, group, gid, err);
    if (rc != CLOISTER_OK)
        return rc;
    pthread_mutex_lock(&s->change);
    rc = CLOISTER_E_BUSY;
    for (int i = 0; rc == CLOISTER_E_BUSY && i < CHANGE_TRIES; i++) {
        if (i > 0) {
            uint8_t r = 0;
            if (crypto_random(&r, 1) != 0)
                r = (uint8_t)i;
            nanosleep(&(struct timespec){0, (long)(r % 64 + 1) * 20000}, NULL);
        }
        rc = change_once(s, number, group, user, number == ASKY_ECALL_GROUP_CREATE ? NULL : gid,
                         err);
    }
    pthread_mutex_unlock(&s->change);
    return rc;
}

int asky_group_create(asky_service *s, const char *group, const char *creator,
                      struct cloister_err *err)
{
    return change(s, ASKY_ECALL_GROUP_CREATE, group, creator, err);
}

int asky_group_add(asky_service *s, const char *group, const char *user, struct cloister_err *err)
{
    return change(s, ASKY_ECALL_GROUP_ADD, group, user, err);
}

int asky_group_remove(asky_service *s, const char *group, const char *user,
                      struct cloister_err *err)
{
    return change(s, ASKY_ECALL_GROUP_REMOVE, group, user, err);
}

/* Whether the enclave has taken an epoch record newer than counter since: a group record read
 * with it may have been refused as stale because a change committed meanwhile, not because the
 * store was rolled back (read again then). */
static bool epoch_moved(asky_service *s, uint64_t counter)
{
    pthread_mutex_lock(&s->sync);
    bool moved = s->counter > counter;
    pthread_mutex_unlock(&s->sync);
    return moved;
}

int asky_envelope_request(asky_service *s, const char *group, const char *user,
                          const uint8_t nonce[ASKY_REQ_NONCE_LEN], const uint8_t proof[32],
                          enum asky_kind kind, unsigned pad, uint8_t **env, size_t *envlen,
                          struct cloister_err *err)
{
    uint8_t gid[ASKY_ID_LEN], *out = NULL;
    size_t outlen = 0;
    uint64_t counter = 0;
    *env = NULL;
    *envlen = 0;
    int rc = name_id(s, 1, group, gid, err);
    for (int i = 0; rc == CLOISTER_OK && i < READ_TRIES; i++) {
        uint8_t *rec = NULL;
        size_t reclen = 0;
        if ((rc = group_read(s, gid, &rec, &reclen, &counter, err)) == CLOISTER_E_NOT_FOUND)
            rc = cloister_errf(err, rc, "no group '%s'", group);
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
            rc = batch_call(s, ASKY_ECALL_ENVELOPE, &w, &out, &outlen, err);
            wire_writer_free(&w);
        }
        free(rec);
        if (rc != CLOISTER_E_DENIED || !epoch_moved(s, counter))
            break;
        rc = CLOISTER_OK; /* a change raced the read: read again */
    }
    if (rc == CLOISTER_OK)
        rc = take_bytes(out, outlen, env, envlen, "envelope", err);
    free(out);
    return rc;
}

/* ---- sealed requests (the access service: docs/asky.md) ------------------------------------ */

int asky_sealed_offer(asky_service *s, const uint8_t *nonce, size_t len, uint8_t **offer,
                      size_t *offer_len, struct cloister_err *err)
{
    return tee_ecall(s->e, TEE_ECALL_PROV_OFFER, nonce, len, offer, offer_len, err);
}

/* The request opened by `number` (SEALED_OPEN or SESSION_REQUEST) names the group (its id
 * only) and is kept in the enclave; the group's record is read as for a request in clear and
 * handed back with the handle. */
static int sealed_request(asky_service *s, uint32_t number, const uint8_t *msg, size_t len,
                          uint8_t **reply, size_t *reply_len, struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *opened = NULL, *rec = NULL, *out = NULL;
    size_t openlen = 0, reclen = 0, outlen = 0;
    *reply = NULL;
    *reply_len = 0;
    wire_writer_init(&w);
    wire_put_raw(&w, msg, len);
    int rc = batch_call(s, number, &w, &opened, &openlen, err);
    wire_writer_free(&w);
    if (rc == CLOISTER_OK && openlen != ASKY_ID_LEN + ASKY_HANDLE_LEN)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad group id");
    if (rc == CLOISTER_OK &&
        (rc = group_read(s, opened, &rec, &reclen, NULL, err)) == CLOISTER_E_NOT_FOUND)
        rc = cloister_errf(err, rc, "no such group");
    if (rc == CLOISTER_OK) {
        wire_writer_init(&w);
        wire_put_raw(&w, opened + ASKY_ID_LEN, ASKY_HANDLE_LEN);
        wire_put_bytes(&w, rec, reclen);
        rc = batch_call(s, ASKY_ECALL_SEALED_ENVELOPE, &w, &out, &outlen, err);
        wire_writer_free(&w);
    }
    if (rc == CLOISTER_OK)
        rc = take_bytes(out, outlen, reply, reply_len, "reply", err);
    free(opened);
    free(rec);
    free(out);
    return rc;
}

int asky_sealed_envelope(asky_service *s, const uint8_t *package, size_t len, uint8_t **reply,
                         size_t *reply_len, struct cloister_err *err)
{
    return sealed_request(s, ASKY_ECALL_SEALED_OPEN, package, len, reply, reply_len, err);
}

int asky_session_envelope(asky_service *s, const uint8_t *msg, size_t len, uint8_t **reply,
                          size_t *reply_len, struct cloister_err *err)
{
    return sealed_request(s, ASKY_ECALL_SESSION_REQUEST, msg, len, reply, reply_len, err);
}

int asky_session_open(asky_service *s, const uint8_t *package, size_t len,
                      uint8_t id[ASKY_SESSION_ID_LEN], struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *out = NULL;
    size_t outlen = 0;
    wire_writer_init(&w);
    wire_put_raw(&w, package, len);
    int rc = call(s, ASKY_ECALL_SESSION_OPEN, &w, &out, &outlen, err);
    if (rc == CLOISTER_OK && outlen != ASKY_SESSION_ID_LEN)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave sent a bad session id");
    if (rc == CLOISTER_OK)
        memcpy(id, out, ASKY_SESSION_ID_LEN);
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
    asky_objects *o = NULL;
    int lock = -1; /* shared: a rekey of several objects takes it exclusive */
    if (rc == CLOISTER_OK && (lock = asky_objects_lock(s->dir, false, err)) < 0)
        rc = CLOISTER_E_SYSTEM;
    if (rc == CLOISTER_OK)
        rc = asky_objects_open(s->dir, &o, err);
    if (rc == CLOISTER_OK && o) { /* the S3 store, with the service's credentials */
        FILE *f = fmemopen((void *)obj, len, "rb");
        struct asky_object_update u = {name, f, len};
        rc = f ? asky_objects_commit(o, &u, 1, err)
               : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        if (f)
            fclose(f);
    } else if (rc == CLOISTER_OK && file_write_atomic(path, obj, len, 0600) != 0) {
        rc = os_error(err, "writing the object");
    }
    asky_objects_close(o);
    asky_objects_unlock(lock);
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
