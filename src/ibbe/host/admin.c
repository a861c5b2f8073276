/* admin.c -- the host side of IBBE-SGX's administrator (include/cloister/ibbe_admin.h): starts
 * the `ibbe` enclave, restores γ from its sealed blob, forwards group operations across the
 * boundary (protocol: src/ibbe/common/ecalls.h) and writes what comes back to the store.
 *
 * The host holds no secret: it sees member lists, public records, sealed γ and, for `seal`,
 * one file key per file. Groups are loaded into the enclave lazily (an operation answered
 * NOT_FOUND is retried after GROUP_LOAD), in batches of partition records that fit a message.
 * Each update is written to the store as one atomic change (ibbe_store_update).
 *
 * Every group operation holds the store's lock from the enclave call to the write, so parallel
 * admins (CLI processes, the daemon) apply their updates one after another. A long-lived admin
 * (the daemon) keeps groups open in its enclave: it remembers the store's stamp of each group it
 * loaded or wrote, and loads a group again when another writer changed it meanwhile. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/ibbe_admin.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLOG_MODULE "ibbe"
#include "ibbe/common/ecalls.h"
#include "util/fileio.h"
#include "util/log.h"

#define ADMIN_MESSAGE_MAX ((size_t)128 << 20) /* a create of ~4M members */
#define LOAD_BATCH_BYTES ((size_t)16 << 20)
#define SEEN_MAX 8 /* as many groups as the enclave keeps open */

/* A group as the enclave last saw it: its store stamp then. */
struct seen {
    char name[IBBE_NAME_MAX + 1];
    uint64_t stamp;
};

struct ibbe_admin {
    ibbe_store *store;
    tee_enclave *e;
    ibbe_pk *pk;
    bool ready;
    struct seen seen[SEEN_MAX];
    size_t seen_next; /* the slot replaced next */
    char image[PATH_MAX], sig[PATH_MAX + 32];
};

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

/* "<path>: <strerror>" for a failed OS call on path. */
static int os_error(struct cloister_err *err, const char *path)
{
    int code = errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM;
    return cloister_errf(err, code, "%s: %s", path, strerror(errno));
}

/* The development signature under home/ibbe/ (see ibbe_admin.h): a signer key created there on
 * first use signs the image again whenever the image no longer matches the signature. */
static int dev_signature(ibbe_admin *a, const char *home, const uint8_t *image, size_t len,
                         struct cloister_err *err)
{
    char dir[PATH_MAX + 8], key[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/ibbe", home);
    snprintf(key, sizeof key, "%s/signer.key", dir);
    snprintf(a->sig, sizeof a->sig, "%s/ibbe.enclave.sig", dir);
    if (signature_fits(image, len, a->sig))
        return CLOISTER_OK;
    uint8_t seed[TEE_SEED_LEN], pub[TEE_PUBKEY_LEN];
    struct tee_config cfg;
    struct cloister_err terr = {0};
    int rc = CLOISTER_OK;
    tee_config_default(&cfg);
    if (file_mkdirs(dir, 0700) != 0)
        rc = os_error(err, dir);
    else if ((access(key, F_OK) != 0 && tee_signer_keygen(key, pub, &terr) != 0) ||
             tee_signer_load(key, seed, pub, &terr) != 0)
        rc = cloister_errf(err, terr.code, "%s: %s", key, terr.msg);
    else if (tee_sign_file(a->image, &cfg, seed, a->sig, &terr) != 0)
        rc = cloister_errf(err, terr.code, "%s", terr.msg);
    crypto_wipe(seed, sizeof seed);
    return rc;
}

/* Picks the signature (see ibbe_admin.h); makes the development one when needed. */
static int choose_signature(ibbe_admin *a, const struct ibbe_admin_options *o,
                            struct cloister_err *err)
{
    if (o->signature) {
        snprintf(a->sig, sizeof a->sig, "%s", o->signature);
        return CLOISTER_OK;
    }
    uint8_t *image;
    size_t len;
    if (file_read_all(a->image, TEE_IMAGE_MAX, &image, &len) != 0)
        return os_error(err, a->image);
    snprintf(a->sig, sizeof a->sig, "%s.sig", a->image);
    char home[PATH_MAX];
    int rc = CLOISTER_OK;
    if (signature_fits(image, len, a->sig))
        ;
    else if (o->home)
        rc = dev_signature(a, o->home, image, len, err);
    else if ((rc = tee_home_dir(home, sizeof home, err)) == CLOISTER_OK)
        rc = dev_signature(a, home, image, len, err);
    free(image);
    return rc;
}

/* ---- calls ------------------------------------------------------------------------------------ */

/* An ecall on the writer's bytes; a refusal carries the enclave's own message (tee.h). */
static int call(ibbe_admin *a, uint32_t number, struct wire_writer *in, uint8_t **out,
                size_t *outlen, struct cloister_err *err)
{
    return tee_ecall_writer(a->e, number, in, out, outlen, err);
}

static int no_msk(struct cloister_err *err)
{
    return cloister_errf(err, CLOISTER_E_STATE,
                         "the store has no master secret (run 'cloister ibbe setup' first)");
}

/* Restores γ into the enclave from the store's sealed blob and public key. */
static int load_msk(ibbe_admin *a, struct cloister_err *err)
{
    uint8_t *blob, *pkrec = NULL, *out;
    size_t bloblen, pklen = 0, outlen;
    ibbe_pk_free(a->pk);
    a->pk = NULL;
    a->ready = false;
    int rc = ibbe_store_load_sealed(a->store, &blob, &bloblen, err);
    if (rc == CLOISTER_E_NOT_FOUND)
        return no_msk(err);
    if (rc != CLOISTER_OK)
        return rc;
    if ((rc = ibbe_store_load_pk(a->store, &a->pk, err)) == CLOISTER_OK &&
        ibbe_pk_encode(a->pk, &pkrec, &pklen) != 0)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc != CLOISTER_OK) {
        free(blob);
        return rc;
    }
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_bytes(&w, blob, bloblen);
    wire_put_bytes(&w, pkrec, pklen);
    free(blob);
    free(pkrec);
    rc = call(a, IBBE_ECALL_LOAD, &w, &out, &outlen, err);
    free(out);
    a->ready = rc == CLOISTER_OK;
    return rc;
}

/* Whether the store holds a sealed master secret. */
static bool has_msk(ibbe_admin *a)
{
    uint8_t *blob;
    size_t len;
    if (ibbe_store_load_sealed(a->store, &blob, &len, NULL) != CLOISTER_OK)
        return false;
    free(blob);
    return true;
}

int ibbe_admin_open(const char *store_dir, const struct ibbe_admin_options *o, ibbe_admin **out,
                    struct cloister_err *err)
{
    ibbe_admin *a = calloc(1, sizeof *a);
    if (!a)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    struct tee_options t;
    tee_options_init(&t);
    int rc = CLOISTER_OK;
    if (o->backend && tee_backend_parse(o->backend, &t.backend, NULL) != 0)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "unknown enclave backend '%s' (proc or sim)",
                           o->backend);
    else if (o->image)
        snprintf(a->image, sizeof a->image, "%s", o->image);
    else if (tee_image_path("ibbe", a->image, sizeof a->image, NULL) != CLOISTER_OK)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND,
                           "cannot find the ibbe enclave image (set CLOISTER_ENCLAVE_DIR)");
    if (rc == CLOISTER_OK)
        rc = ibbe_store_open(store_dir, &a->store, err);
    if (rc == CLOISTER_OK)
        rc = choose_signature(a, o, err);
    if (rc == CLOISTER_OK) {
        t.image = a->image;
        t.signature = a->sig;
        t.enclave = o->enclave;
        t.home = o->home;
        t.max_message = ADMIN_MESSAGE_MAX;
        if ((rc = tee_create(&t, &a->e, err)) != CLOISTER_OK)
            cloister_err_wrap(err, "starting the ibbe enclave");
    }
    if (rc == CLOISTER_OK && has_msk(a))
        rc = load_msk(a, err);
    if (rc != CLOISTER_OK) {
        ibbe_admin_close(a);
        return rc;
    }
    *out = a;
    return CLOISTER_OK;
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

int ibbe_admin_restart(ibbe_admin *a, struct cloister_err *err)
{
    a->ready = false;
    int rc = tee_restart(a->e, err);
    if (rc != CLOISTER_OK) {
        cloister_err_wrap(err, "restarting the ibbe enclave");
        return rc;
    }
    return load_msk(a, err);
}

bool ibbe_admin_ready(const ibbe_admin *a)
{
    return a->ready;
}
tee_enclave *ibbe_admin_enclave(ibbe_admin *a)
{
    return a->e;
}
ibbe_store *ibbe_admin_store(ibbe_admin *a)
{
    return a->store;
}
const ibbe_pk *ibbe_admin_pk(const ibbe_admin *a)
{
    return a->ready ? a->pk : NULL;
}

static int need_ready(ibbe_admin *a, struct cloister_err *err)
{
    return a->ready ? CLOISTER_OK : no_msk(err);
}

/* Setup under the store's lock: a second setup run in parallel finds the first's γ. */
static int setup_locked(ibbe_admin *a, size_t n, struct cloister_err *err)
{
    if (has_msk(a))
        return cloister_errf(err, CLOISTER_E_EXISTS,
                             "the store is already set up (ibbe.msk.sealed exists)");
    uint8_t *out;
    size_t outlen;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, n);
    int rc = call(a, IBBE_ECALL_SETUP, &w, &out, &outlen, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct wire_reader r;
    size_t bloblen, pklen;
    wire_reader_init(&r, out, outlen);
    const uint8_t *sealed = wire_get_bytes(&r, outlen, &bloblen);
    const uint8_t *pkrec = wire_get_bytes(&r, outlen, &pklen);
    ibbe_pk *pk = NULL;
    if (wire_reader_finish(&r) != 0 || ibbe_pk_decode(&pk, pkrec, pklen, NULL) != CLOISTER_OK)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "setup: malformed answer from the enclave");
    else if ((rc = ibbe_store_save_pk(a->store, pk, err)) == CLOISTER_OK)
        rc = ibbe_store_save_sealed(a->store, sealed, bloblen, err);
    /* the public key first: a sealed blob without it would be useless */
    free(out);
    if (rc == CLOISTER_OK) {
        ibbe_pk_free(a->pk);
        a->pk = pk;
        a->ready = true;
    } else {
        ibbe_pk_free(pk);
    }
    return rc;
}

int ibbe_admin_setup(ibbe_admin *a, size_t n, struct cloister_err *err)
{
    int rc = ibbe_store_lock(a->store, err);
    if (rc == CLOISTER_OK) {
        rc = setup_locked(a, n, err);
        ibbe_store_unlock(a->store);
    }
    return rc;
}

int ibbe_admin_extract(ibbe_admin *a, const char *const *ids, const uint8_t *const *to,
                       size_t count, uint8_t **keys, size_t *lens, struct cloister_err *err)
{
    int rc = need_ready(a, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, count);
    for (size_t i = 0; i < count; i++) {
        wire_put_str(&w, ids[i]);
        wire_put_bytes(&w, to && to[i] ? to[i] : NULL, to && to[i] ? HPKE_PUBLIC_LEN : 0);
    }
    uint8_t *out;
    size_t outlen;
    if ((rc = call(a, IBBE_ECALL_EXTRACT, &w, &out, &outlen, err)) != CLOISTER_OK)
        return rc;
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
    if (done != count || wire_reader_finish(&r) != 0) {
        while (done > 0)
            free(keys[--done]);
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "extract: malformed answer from the enclave");
    }
    crypto_wipe(out, outlen);
    free(out);
    return rc;
}

/* ---- groups ----------------------------------------------------------------------------------- */

/* Sends a group's records to the enclave, as many partitions per call as fit a batch. */
static int group_load(ibbe_admin *a, const char *group, struct cloister_err *err)
{
    uint8_t *meta, *rec;
    size_t metalen, len;
    ibbe_group *g;
    int rc = ibbe_store_read_raw(a->store, group, -1, &meta, &metalen, err);
    if (rc != CLOISTER_OK)
        return rc;
    if ((rc = ibbe_group_decode_meta(&g, meta, metalen, err)) != CLOISTER_OK) {
        free(meta);
        cloister_err_wrap(err, "group '%s'", group);
        return rc;
    }
    size_t m = ibbe_group_partitions(g), next = 0;
    ibbe_group_free(g);
    while (rc == CLOISTER_OK && next < m) {
        struct wire_writer recs;
        size_t k = 0;
        wire_writer_init(&recs);
        while (rc == CLOISTER_OK && next + k < m && recs.len < LOAD_BATCH_BYTES) {
            rc = ibbe_store_read_raw(a->store, group, (long)(next + k), &rec, &len, err);
            if (rc == CLOISTER_OK) {
                wire_put_bytes(&recs, rec, len);
                free(rec);
                k++;
            }
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
        if (rc == CLOISTER_OK &&
            (rc = call(a, IBBE_ECALL_GROUP_LOAD, &w, &out, &outlen, err)) == CLOISTER_OK)
            free(out);
        else if (rc != CLOISTER_OK)
            wire_writer_free(&w);
        next += k;
    }
    free(meta);
    return rc;
}

static struct seen *seen_find(ibbe_admin *a, const char *group)
{
    for (size_t i = 0; i < SEEN_MAX; i++)
        if (strcmp(a->seen[i].name, group) == 0)
            return &a->seen[i];
    return NULL;
}

/* Notes that the enclave holds group as the store has it now. */
static void seen_now(ibbe_admin *a, const char *group)
{
    struct seen *s = seen_find(a, group);
    if (!s) {
        s = &a->seen[a->seen_next];
        a->seen_next = (a->seen_next + 1) % SEEN_MAX;
        snprintf(s->name, sizeof s->name, "%s", group);
    }
    s->stamp = ibbe_store_stamp(a->store, group);
}

/* Whether the enclave's copy of group (if it has one) may differ from the store's. */
static bool seen_stale(ibbe_admin *a, const char *group)
{
    struct seen *s = seen_find(a, group);
    return !s || s->stamp != ibbe_store_stamp(a->store, group);
}

/* Loads group into the enclave and notes it. */
static int group_reload(ibbe_admin *a, const char *group, struct cloister_err *err)
{
    int rc = group_load(a, group, err);
    if (rc == CLOISTER_OK)
        seen_now(a, group);
    return rc;
}

/* An ecall about a group, under the store's lock: the group is loaded first when another writer
 * may have changed it, and the call is retried once after loading when the enclave answers STATE
 * (the group is not open in it). req (consumed) is sent on each attempt. */
static int group_ecall(ibbe_admin *a, uint32_t number, const char *group, struct wire_writer *req,
                       uint8_t **out, size_t *outlen, struct cloister_err *err)
{
    int rc = CLOISTER_E_STATE;
    bool loaded = false;
    if (!wire_writer_ok(req))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "request too large or out of memory");
    else if (seen_stale(a, group)) {
        loaded = true;
        if ((rc = group_reload(a, group, err)) == CLOISTER_OK)
            rc = CLOISTER_E_STATE;
    }
    for (int attempt = 0; rc == CLOISTER_E_STATE && attempt < 2; attempt++) {
        if (attempt > 0 && (loaded || (rc = group_reload(a, group, err)) != CLOISTER_OK))
            break;
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_raw(&w, req->buf, req->len);
        rc = call(a, number, &w, out, outlen, err);
    }
    wire_writer_free(req);
    return rc;
}

/* Writes CHANGES (ecalls.h) to the store as one atomic update. */
static int apply_changes(ibbe_admin *a, const char *group, const uint8_t *buf, size_t len,
                         struct cloister_err *err)
{
    struct wire_reader r;
    size_t metalen;
    wire_reader_init(&r, buf, len);
    uint64_t m = wire_get_varint(&r);
    const uint8_t *meta = wire_get_bytes(&r, len, &metalen);
    size_t k = wire_get_count(&r, 2, len);
    struct ibbe_store_change *c = calloc(k ? k : 1, sizeof *c);
    if (!c)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < k && wire_reader_ok(&r); i++) {
        c[i].index = (size_t)wire_get_varint(&r);
        c[i].rec = wire_get_bytes(&r, len, &c[i].len);
    }
    size_t beforelen, afterlen;
    const uint8_t *before = wire_get_bytes(&r, len, &beforelen);
    const uint8_t *after = wire_get_bytes(&r, len, &afterlen);
    int rc = CLOISTER_OK;
    /* the epoch table names the new epoch pending before the group moves, committed after */
    if (wire_reader_finish(&r) != 0)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "malformed answer from the enclave: %s",
                           wire_reader_error(&r));
    else if (beforelen)
        rc = ibbe_store_save_epochs(a->store, before, beforelen, err);
    if (rc == CLOISTER_OK)
        rc = ibbe_store_update(a->store, group, meta, metalen, (size_t)m, c, k, err);
    if (rc == CLOISTER_OK && afterlen)
        rc = ibbe_store_save_epochs(a->store, after, afterlen, err);
    free(c);
    if (rc == CLOISTER_OK)
        seen_now(a, group);
    return rc;
}

/* Hands the store's epoch table to the enclave (under the store's lock), so that it knows the
 * epochs other admins wrote. */
static int epochs_sync(ibbe_admin *a, struct cloister_err *err)
{
    uint8_t *blob, *out;
    size_t len, outlen;
    int rc = ibbe_store_load_epochs(a->store, &blob, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_bytes(&w, blob, len);
    free(blob);
    if ((rc = call(a, IBBE_ECALL_EPOCHS, &w, &out, &outlen, err)) == CLOISTER_OK)
        free(out);
    return rc;
}

/* CREATE refuses a group the store has already. */
static int refuse_existing(ibbe_admin *a, const char *group, struct cloister_err *err)
{
    uint8_t *buf;
    size_t len;
    if (ibbe_store_read_raw(a->store, group, -1, &buf, &len, NULL) != CLOISTER_OK)
        return CLOISTER_OK;
    free(buf);
    return cloister_errf(err, CLOISTER_E_EXISTS, "group '%s' already exists in the store", group);
}

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The operation and its write, under the store's lock. */
static int group_update(ibbe_admin *a, uint32_t number, const char *group, struct wire_writer *w,
                        struct cloister_err *err)
{
    uint8_t *out;
    size_t outlen;
    double t0 = seconds_now(), t1;
    int rc = epochs_sync(a, err);
    if (rc != CLOISTER_OK) {
        wire_writer_free(w);
        return rc;
    }
    if (number == IBBE_ECALL_GROUP_CREATE) { /* a new group is never loaded first */
        if ((rc = refuse_existing(a, group, err)) == CLOISTER_OK)
            rc = call(a, number, w, &out, &outlen, err);
        else
            wire_writer_free(w);
    } else
        rc = group_ecall(a, number, group, w, &out, &outlen, err);
    if (rc != CLOISTER_OK)
        return rc;
    t1 = seconds_now();
    rc = apply_changes(a, group, out, outlen, err);
    free(out);
    clog_debug("group %s: enclave %.3f s, store %.3f s (%zu bytes of records)", group, t1 - t0,
               seconds_now() - t1, outlen);
    return rc;
}

static int group_call(ibbe_admin *a, uint32_t number, const char *group, const char *const *ids,
                      size_t count, struct cloister_err *err)
{
    int rc = need_ready(a, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (!ibbe_group_name_valid(group))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "invalid group name '%s' (1-%d of A-Z a-z 0-9 . _ -)", group,
                             IBBE_NAME_MAX);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_str(&w, group);
    wire_put_varint(&w, count);
    for (size_t i = 0; i < count; i++)
        wire_put_str(&w, ids[i]);
    if ((rc = ibbe_store_lock(a->store, err)) != CLOISTER_OK) {
        wire_writer_free(&w);
        return rc;
    }
    rc = group_update(a, number, group, &w, err);
    ibbe_store_unlock(a->store);
    return rc;
}

int ibbe_admin_create(ibbe_admin *a, const char *group, const char *const *ids, size_t count,
                      struct cloister_err *err)
{
    return group_call(a, IBBE_ECALL_GROUP_CREATE, group, ids, count, err);
}

int ibbe_admin_add(ibbe_admin *a, const char *group, const char *const *ids, size_t count,
                   struct cloister_err *err)
{
    return group_call(a, IBBE_ECALL_GROUP_ADD, group, ids, count, err);
}

int ibbe_admin_remove(ibbe_admin *a, const char *group, const char *const *ids, size_t count,
                      struct cloister_err *err)
{
    return group_call(a, IBBE_ECALL_GROUP_REMOVE, group, ids, count, err);
}

/* ---- files ------------------------------------------------------------------------------------ */

/* The file key for h (fresh: a new salt at the current epoch, filled into h). */
static int file_key(ibbe_admin *a, struct ibbe_file_header *h, bool fresh,
                    uint8_t key[IBBE_KEY_LEN], struct cloister_err *err)
{
    int rc = need_ready(a, err);
    if (rc != CLOISTER_OK)
        return rc;
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
    if ((rc = ibbe_store_lock(a->store, err)) != CLOISTER_OK) {
        wire_writer_free(&w);
        return rc;
    }
    if ((rc = epochs_sync(a, err)) == CLOISTER_OK)
        rc = group_ecall(a, IBBE_ECALL_FILE_KEY, h->group, &w, &out, &outlen, err);
    else
        wire_writer_free(&w);
    ibbe_store_unlock(a->store);
    if (rc != CLOISTER_OK)
        return rc;
    struct wire_reader r;
    wire_reader_init(&r, out, outlen);
    h->epoch = wire_get_u64(&r);
    wire_get_raw_into(&r, h->salt, sizeof h->salt);
    wire_get_raw_into(&r, key, IBBE_KEY_LEN);
    if (wire_reader_finish(&r) != 0)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "file key: malformed answer from the enclave");
    crypto_wipe(out, outlen);
    free(out);
    return rc;
}

int ibbe_admin_seal(ibbe_admin *a, const char *group, const uint8_t *pt, size_t len, uint8_t **out,
                    size_t *outlen, struct cloister_err *err)
{
    struct ibbe_file_header h = {0};
    uint8_t key[IBBE_KEY_LEN];
    if (!ibbe_group_name_valid(group))
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid group name '%s'", group);
    snprintf(h.group, sizeof h.group, "%s", group);
    int rc = file_key(a, &h, true, key, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (ibbe_file_seal(key, &h, pt, len, out, outlen) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "sealing failed");
    crypto_wipe(key, sizeof key);
    return rc;
}

int ibbe_admin_open_file(ibbe_admin *a, const uint8_t *buf, size_t len, uint8_t **pt, size_t *ptlen,
                         struct cloister_err *err)
{
    struct ibbe_file_header h;
    uint8_t key[IBBE_KEY_LEN];
    int rc = ibbe_file_parse(&h, buf, len, err);
    if (rc == CLOISTER_OK)
        rc = file_key(a, &h, false, key, err);
    if (rc != CLOISTER_OK)
        return rc;
    rc = ibbe_file_open(key, buf, len, pt, ptlen, err);
    crypto_wipe(key, sizeof key);
    return rc;
}
