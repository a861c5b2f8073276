/* objects.c -- A-Sky's objects in an S3 bucket (asky_host.h, docs/asky.md "The S3 object store").
 *
 * S3 has no rename and (before conditional writes) no compare-and-swap, so a store directory's
 * guarantees are rebuilt on two kinds of keys:
 *
 *   objects/<name>/<32 hex>   an object's bytes, immutable: each write makes a new key
 *   manifest/<20 digits>      version N of the manifest: every name -> its current key and
 *                             size, the writer's nonce, HMAC-SHA256 under DIR/s3.key
 *
 * A commit uploads the new objects' bytes first and the manifest version N+1 last, so that a
 * crash before the manifest leaves version N whole (the new bytes are unreferenced garbage,
 * deleted by a later commit): updates of several objects at once (rekey) are atomic. Writers
 * on one host take turns on a lock file (DIR/s3.lock); the manifest is written with
 * If-None-Match: * so that a store honouring conditional writes refuses a second writer of the
 * same version, and read back, so that an overwritten version is reported ("a concurrent
 * writer") rather than taken. A writer (and a reader holding the store directory) keeps the
 * highest version it has seen in DIR/s3.state and refuses an older manifest: a store that
 * drops its latest manifests is "rolled back". A reader with only the bucket's URL checks
 * neither the MAC nor the version (the objects themselves are authenticated, asky.h). */
#include <cloister/asky_host.h>
#include <cloister/crypto.h>
#include <cloister/wire.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "asky/host/s3.h"
#include "util/fileio.h"

#define MANIFEST_MAX (64u << 20)
#define ENTRIES_MAX 1000000u
#define URL_MAX 512

struct entry {
    char name[ASKY_NAME_MAX + 1];
    char key[ASKY_NAME_MAX + 48];
    uint64_t size;
};

struct manifest {
    uint64_t version;
    uint8_t writer[16];
    struct entry *e;
    size_t n;
};

struct asky_objects {
    s3 *s3;
    char dir[PATH_MAX]; /* "" for a reader with only the URL */
    uint8_t mac_key[32];
};

static void manifest_free(struct manifest *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

static int dir_file(char *out, size_t cap, const char *dir, const char *name,
                    struct cloister_err *err)
{
    if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap)
        return cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
    return CLOISTER_OK;
}

static int open_url(const char *url, asky_objects **out, struct cloister_err *err)
{
    struct s3_conf c;
    asky_objects *o = calloc(1, sizeof *o);
    if (!o)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = s3_conf_parse(&c, url, err);
    if (rc == CLOISTER_OK)
        rc = s3_open(&c, &o->s3, err);
    crypto_wipe(&c, sizeof c);
    if (rc != CLOISTER_OK) {
        free(o);
        return rc;
    }
    *out = o;
    return CLOISTER_OK;
}

int asky_objects_open_url(const char *url, asky_objects **out, struct cloister_err *err)
{
    return open_url(url, out, err);
}

int asky_objects_open(const char *dir, asky_objects **out, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *url = NULL, *key = NULL;
    size_t ulen = 0, klen = 0;
    *out = NULL;
    int rc = dir_file(path, sizeof path, dir, "s3.url", err);
    if (rc != CLOISTER_OK)
        return rc;
    if (file_read_all(path, URL_MAX, &url, &ulen) != 0)
        return errno == ENOENT
                   ? asky_objects_recover(dir, err) /* objects in DIR/objects */
                   : cloister_errf(err, CLOISTER_E_SYSTEM, "s3.url: %s", strerror(errno));
    char u[URL_MAX + 1];
    snprintf(u, sizeof u, "%.*s", (int)strcspn((char *)url, "\n"), (char *)url);
    free(url);
    if ((rc = dir_file(path, sizeof path, dir, "s3.key", err)) != CLOISTER_OK)
        return rc;
    if (file_read_secret(path, 64, &key, &klen) != 0 || klen != 32) {
        if (key)
            crypto_wipe(key, klen);
        free(key);
        return cloister_errf(err, CLOISTER_E_INVALID, "s3.key missing or not 32 bytes");
    }
    if ((rc = open_url(u, out, err)) == CLOISTER_OK) {
        snprintf((*out)->dir, sizeof(*out)->dir, "%s", dir);
        memcpy((*out)->mac_key, key, 32);
    }
    crypto_wipe(key, klen);
    free(key);
    return rc;
}

void asky_objects_close(asky_objects *o)
{
    if (!o)
        return;
    s3_close(o->s3);
    crypto_wipe(o->mac_key, sizeof o->mac_key);
    free(o);
}

static void manifest_key(char *out, size_t cap, uint64_t version)
{
    snprintf(out, cap, "manifest/%020" PRIu64, version);
}

static uint8_t *manifest_encode(const asky_objects *o, const struct manifest *m, size_t *len)
{
    struct wire_writer w;
    uint8_t mac[32];
    wire_writer_init(&w);
    wire_put_header(&w, "CAMF", 1);
    wire_put_u64(&w, m->version);
    wire_put_raw(&w, m->writer, sizeof m->writer);
    wire_put_varint(&w, m->n);
    for (size_t i = 0; i < m->n; i++) {
        wire_put_str(&w, m->e[i].name);
        wire_put_str(&w, m->e[i].key);
        wire_put_u64(&w, m->e[i].size);
    }
    crypto_hmac_sha256(mac, o->mac_key, sizeof o->mac_key, w.buf, w.len);
    wire_put_raw(&w, mac, sizeof mac);
    if (!wire_writer_ok(&w)) {
        wire_writer_free(&w);
        return NULL;
    }
    return wire_writer_take(&w, len);
}

/* Decodes (after checking its MAC when mac_key is given) a manifest into m. */
static int manifest_parse(const uint8_t *buf, size_t len, const uint8_t *mac_key,
                          struct manifest *m, struct cloister_err *err)
{
    struct wire_reader r;
    uint8_t mac[32];
    memset(m, 0, sizeof *m);
    if (len < 32)
        return cloister_errf(err, CLOISTER_E_INVALID, "S3 manifest truncated");
    if (mac_key) {
        crypto_hmac_sha256(mac, mac_key, 32, buf, len - 32);
        if (!crypto_memeq(mac, buf + len - 32, 32))
            return cloister_errf(err, CLOISTER_E_DENIED,
                                 "S3 manifest fails authentication (tampered, or another "
                                 "store's)");
    }
    wire_reader_init(&r, buf, len - 32);
    wire_get_header(&r, "CAMF", 1);
    m->version = wire_get_u64(&r);
    wire_get_raw_into(&r, m->writer, sizeof m->writer);
    size_t n = wire_get_count(&r, 3, ENTRIES_MAX);
    if (n && wire_reader_ok(&r) && !(m->e = calloc(n, sizeof *m->e)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    for (; m->n < n && wire_reader_ok(&r); m->n++) {
        wire_get_str(&r, m->e[m->n].name, sizeof m->e[m->n].name);
        wire_get_str(&r, m->e[m->n].key, sizeof m->e[m->n].key);
        m->e[m->n].size = wire_get_u64(&r);
    }
    if (wire_reader_finish(&r) != 0) {
        manifest_free(m);
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed S3 manifest: %s",
                             wire_reader_error(&r));
    }
    return CLOISTER_OK;
}

int asky_manifest_decode(const uint8_t *buf, size_t len, const uint8_t *mac_key, uint64_t *version,
                         size_t *entries, struct cloister_err *err)
{
    struct manifest m;
    int rc = manifest_parse(buf, len, mac_key, &m, err);
    if (rc == CLOISTER_OK) {
        *version = m.version;
        *entries = m.n;
        manifest_free(&m);
    }
    return rc;
}

static int state_read(const asky_objects *o, uint64_t *seen, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    *seen = 0;
    if (!o->dir[0])
        return CLOISTER_OK;
    int rc = dir_file(path, sizeof path, o->dir, "s3.state", err);
    if (rc != CLOISTER_OK || file_read_all(path, 64, &data, &len) != 0)
        return rc;
    char text[65];
    snprintf(text, sizeof text, "%.*s", (int)len, (char *)data);
    free(data);
    *seen = strtoull(text, NULL, 10);
    return CLOISTER_OK;
}

static int state_write(const asky_objects *o, uint64_t version, struct cloister_err *err)
{
    char path[PATH_MAX], text[32];
    uint64_t seen = 0;
    if (!o->dir[0])
        return CLOISTER_OK;
    int rc = state_read(o, &seen, err);
    if (rc != CLOISTER_OK || seen >= version)
        return rc;
    if ((rc = dir_file(path, sizeof path, o->dir, "s3.state", err)) != CLOISTER_OK)
        return rc;
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", version);
    if (file_write_atomic(path, text, (size_t)n, 0600) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "s3.state: %s", strerror(errno));
    return CLOISTER_OK;
}

/* The latest manifest (version 0, empty, when the bucket has none), checked against the MAC key
 * and the highest version this store directory has seen. */
static int manifest_load(asky_objects *o, struct manifest *m, struct cloister_err *err)
{
    char **keys = NULL;
    size_t n = 0;
    memset(m, 0, sizeof *m);
    int rc = s3_list(o->s3, "manifest/", &keys, &n, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (n > 0) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        rc = f ? s3_get(o->s3, keys[n - 1], f, err)
               : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        if (f)
            fclose(f);
        if (rc == CLOISTER_OK && len > MANIFEST_MAX)
            rc = cloister_errf(err, CLOISTER_E_TOO_BIG, "S3 manifest too large");
        if (rc == CLOISTER_OK)
            rc = manifest_parse((uint8_t *)buf, len, o->dir[0] ? o->mac_key : NULL, m, err);
        char expect[48];
        manifest_key(expect, sizeof expect, m->version);
        if (rc == CLOISTER_OK && strcmp(expect, keys[n - 1]) != 0)
            rc = cloister_errf(err, CLOISTER_E_DENIED,
                               "S3 manifest stored under another "
                               "version's key");
        free(buf);
    }
    s3_keys_free(keys, n);
    uint64_t seen = 0;
    if (rc == CLOISTER_OK)
        rc = state_read(o, &seen, err);
    if (rc == CLOISTER_OK && m->version < seen)
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "the S3 store was rolled back (manifest version %" PRIu64
                           ", this store has seen %" PRIu64 ")",
                           m->version, seen);
    if (rc == CLOISTER_OK)
        rc = state_write(o, m->version, err);
    if (rc != CLOISTER_OK)
        manifest_free(m);
    return rc;
}

static const struct entry *find(const struct manifest *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].name, name) == 0)
            return &m->e[i];
    return NULL;
}

int asky_objects_fetch(asky_objects *o, const char *name, FILE *out, struct cloister_err *err)
{
    struct manifest m;
    int rc = manifest_load(o, &m, err);
    if (rc != CLOISTER_OK)
        return rc;
    const struct entry *e = find(&m, name);
    rc = e ? s3_get(o->s3, e->key, out, err)
           : cloister_errf(err, CLOISTER_E_NOT_FOUND, "object '%s': no such object", name);
    manifest_free(&m);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int asky_objects_list(asky_objects *o, char ***names, size_t *n, struct cloister_err *err)
{
    struct manifest m;
    *names = NULL;
    *n = 0;
    int rc = manifest_load(o, &m, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (m.n && !(*names = calloc(m.n, sizeof **names)))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; rc == CLOISTER_OK && i < m.n; i++, (*n)++)
        if (!((*names)[i] = strdup(m.e[i].name)))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    manifest_free(&m);
    if (rc != CLOISTER_OK) {
        s3_keys_free(*names, *n);
        *names = NULL;
        *n = 0;
        return rc;
    }
    qsort(*names, *n, sizeof **names, name_cmp);
    return CLOISTER_OK;
}

/* Takes the host's writer lock of the store directory (fd, or -1 on failure). */
static int lock_take(const asky_objects *o, struct cloister_err *err)
{
    char path[PATH_MAX];
    if (dir_file(path, sizeof path, o->dir, "s3.lock", err) != CLOISTER_OK)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        cloister_errf(err, CLOISTER_E_SYSTEM, "s3.lock: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Sets (or adds) name -> key in m. */
static int manifest_set(struct manifest *m, const char *name, const char *key, uint64_t size,
                        struct cloister_err *err)
{
    struct entry *e = (struct entry *)find(m, name);
    if (!e) {
        struct entry *grown = realloc(m->e, (m->n + 1) * sizeof *grown);
        if (!grown)
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        m->e = grown;
        e = &m->e[m->n++];
        snprintf(e->name, sizeof e->name, "%s", name);
    }
    snprintf(e->key, sizeof e->key, "%s", key);
    e->size = size;
    return CLOISTER_OK;
}

/* Writes manifest version m->version last, refused when another writer has it. */
static int manifest_publish(asky_objects *o, const struct manifest *m, struct cloister_err *err)
{
    char key[48];
    size_t len = 0;
    uint8_t *buf = manifest_encode(o, m, &len);
    if (!buf)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    manifest_key(key, sizeof key, m->version);
    int rc = s3_put_mem(o->s3, key, buf, len, 1, err);
    char *back = NULL;
    size_t blen = 0;
    FILE *f = rc == CLOISTER_OK ? open_memstream(&back, &blen) : NULL;
    if (f) {
        rc = s3_get(o->s3, key, f, err);
        fclose(f);
    }
    if (rc == CLOISTER_E_EXISTS || (rc == CLOISTER_OK && (blen != len || memcmp(back, buf, len))))
        rc = cloister_errf(err, CLOISTER_E_BUSY,
                           "a concurrent writer changed the S3 store (manifest version %" PRIu64
                           "); try again",
                           m->version);
    free(back);
    free(buf);
    return rc;
}

/* Best effort, after a commit: the bytes no manifest references any more, and manifests older
 * than the previous one. */
static void collect(asky_objects *o, const struct manifest *old, const struct manifest *now)
{
    struct cloister_err err;
    for (size_t i = 0; i < old->n; i++) {
        const struct entry *e = find(now, old->e[i].name);
        if (!e || strcmp(e->key, old->e[i].key) != 0)
            s3_delete(o->s3, old->e[i].key, &err);
    }
    if (now->version >= 3) {
        char key[48];
        manifest_key(key, sizeof key, now->version - 2);
        s3_delete(o->s3, key, &err);
    }
}

int asky_objects_commit(asky_objects *o, const struct asky_object_update *u, size_t n,
                        struct cloister_err *err)
{
    if (!o->dir[0])
        return cloister_errf(err, CLOISTER_E_STATE, "writing needs the store directory");
    int lock = lock_take(o, err);
    if (lock < 0)
        return CLOISTER_E_SYSTEM;
    struct manifest old, now = {0};
    char(*keys)[ASKY_NAME_MAX + 48] = calloc(n ? n : 1, sizeof *keys);
    int rc = keys ? manifest_load(o, &old, err)
                  : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (!keys) {
        close(lock);
        return rc;
    }
    size_t put = 0;
    if (rc == CLOISTER_OK) {
        now.version = old.version + 1;
        if (crypto_random(now.writer, sizeof now.writer) != 0)
            rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
        if (old.n && rc == CLOISTER_OK && !(now.e = malloc(old.n * sizeof *now.e)))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        if (rc == CLOISTER_OK && old.n)
            memcpy(now.e, old.e, old.n * sizeof *now.e);
        now.n = rc == CLOISTER_OK ? old.n : 0;
    }
    for (; rc == CLOISTER_OK && put < n; put++) { /* the bytes first */
        uint8_t id[16];
        char hexid[33];
        if (crypto_random(id, sizeof id) != 0) {
            rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
            break;
        }
        for (size_t i = 0; i < sizeof id; i++)
            snprintf(hexid + 2 * i, 3, "%02x", id[i]);
        snprintf(keys[put], sizeof keys[put], "objects/%s/%s", u[put].name, hexid);
        rc = s3_put(o->s3, keys[put], u[put].body, u[put].len, 0, err);
        if (rc == CLOISTER_OK)
            rc = manifest_set(&now, u[put].name, keys[put], u[put].len, err);
        if (rc != CLOISTER_OK)
            cloister_err_wrap(err, "object '%s'", u[put].name);
    }
    if (rc == CLOISTER_OK) /* the manifest last: the commit point */
        rc = manifest_publish(o, &now, err);
    if (rc == CLOISTER_OK) {
        rc = state_write(o, now.version, err);
        collect(o, &old, &now);
    } else {
        struct cloister_err ignored;
        for (size_t i = 0; i < put && i < n; i++) /* what no manifest will reference */
            s3_delete(o->s3, keys[i], &ignored);
    }
    manifest_free(&now);
    manifest_free(&old);
    free(keys);
    close(lock);
    return rc;
}

int asky_objects_init(const char *dir, const char *url, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t key[32];
    asky_objects *o = NULL;
    int rc = open_url(url, &o, err); /* checks the URL and the credentials first */
    if (rc == CLOISTER_OK)
        rc = s3_bucket_create(o->s3, err);
    asky_objects_close(o);
    if (rc == CLOISTER_OK &&
        (rc = dir_file(path, sizeof path, dir, "s3.key", err)) == CLOISTER_OK &&
        access(path, F_OK) != 0) {
        if (crypto_random(key, sizeof key) != 0)
            rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
        else if (file_write_atomic(path, key, sizeof key, 0600) != 0)
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "s3.key: %s", strerror(errno));
        crypto_wipe(key, sizeof key);
    }
    if (rc == CLOISTER_OK &&
        (rc = dir_file(path, sizeof path, dir, "s3.url", err)) == CLOISTER_OK) {
        char line[URL_MAX + 2];
        int n = snprintf(line, sizeof line, "%s\n", url);
        if (n >= (int)sizeof line)
            rc = cloister_errf(err, CLOISTER_E_INVALID, "S3 URL too long");
        else if (file_write_atomic(path, line, (size_t)n, 0600) != 0)
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "s3.url: %s", strerror(errno));
    }
    return rc;
}

int asky_object_load(const char *dir, const char *name, size_t max, uint8_t **obj, size_t *len,
                     struct cloister_err *err)
{
    char path[PATH_MAX];
    asky_objects *o = NULL;
    int rc = asky_object_path(dir, name, path, sizeof path, err);
    if (rc != CLOISTER_OK || (rc = asky_objects_open(dir, &o, err)) != CLOISTER_OK)
        return rc;
    if (!o) {
        if (file_read_all(path, max, obj, len) != 0)
            rc = cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_TOO_BIG,
                               "object '%s': %s", name,
                               errno == ENOENT ? "no such object" : "unreadable or too large");
        return rc;
    }
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    rc = f ? asky_objects_fetch(o, name, f, err)
           : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (f)
        fclose(f);
    asky_objects_close(o);
    if (rc == CLOISTER_OK && n > max)
        rc = cloister_errf(err, CLOISTER_E_TOO_BIG, "object '%s' too large", name);
    if (rc != CLOISTER_OK) {
        free(buf);
        return rc;
    }
    *obj = (uint8_t *)buf;
    *len = n;
    return CLOISTER_OK;
}
